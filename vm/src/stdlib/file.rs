//! `open()` and its text file objects (`_io.TextIOWrapper`): UTF-8 text only, universal newlines on
//! reading, every read and write of the disk made with the GIL released.
//!
//! Writes go straight to the OS (no write buffer), so nothing is lost when a program never closes
//! a file; a program that reads a file it is still writing sees the data earlier than CPython would.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use crate::error::PyErr;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{type_name, Class, Instance};
use crate::stdlib::os::{exc_of_class, extra_exc_class, os_error, py_str_repr};
use crate::stdlib::{arg, native_class, this};
use crate::value::Value;
use crate::{err, PyResult};

/// Bytes asked of the OS per read (CPython's `TextIOWrapper` chunk size, which decides where a
/// write lands after reads in `r+` mode).
const CHUNK: usize = 8192;

struct FileState {
    /// `None` once closed.
    file: Option<File>,
    /// Decoded text read ahead and not yet returned (newlines not yet translated).
    pending: String,
    /// Bytes read ahead that do not make a whole UTF-8 character yet.
    raw: Vec<u8>,
    /// The OS reported end of file.
    eof: bool,
    /// Bytes decoded so far (for the position in a `UnicodeDecodeError`).
    decoded: u64,
}

/// Rust data of a file object.
pub struct FileData {
    name: String,
    mode: String,
    readable: bool,
    writable: bool,
    /// How lines end when reading.
    newline: Newline,
    state: Mutex<FileState>,
}

/// The `newline` argument of `open`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Newline {
    /// `None`: lines end at `\n`, `\r\n` or `\r`, all read as `\n`.
    Translate,
    /// `''`: lines end at any of the three, returned untranslated.
    Universal,
    /// `'\n'`: lines end at `\n` only.
    Lf,
}

enum FillError {
    Io(std::io::Error),
    Decode(String),
}

impl FileState {
    /// Read one chunk into the buffers (blocking: call with the GIL released).
    fn fill(&mut self) -> Result<(), FillError> {
        let Some(file) = self.file.as_mut() else {
            self.eof = true;
            return Ok(());
        };
        let mut buf = vec![0u8; CHUNK];
        let n = loop {
            match file.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(FillError::Io(e)),
            }
        };
        if n == 0 {
            self.eof = true;
            if !self.raw.is_empty() {
                return Err(FillError::Decode(decode_message(
                    &self.raw,
                    0,
                    None,
                    self.decoded,
                )));
            }
            return Ok(());
        }
        self.raw.extend_from_slice(&buf[..n]);
        match std::str::from_utf8(&self.raw) {
            Ok(s) => {
                self.pending.push_str(s);
                self.decoded += self.raw.len() as u64;
                self.raw.clear();
            }
            Err(e) => {
                let good = e.valid_up_to();
                if let Some(bad) = e.error_len() {
                    return Err(FillError::Decode(decode_message(
                        &self.raw,
                        good,
                        Some(bad),
                        self.decoded,
                    )));
                }
                // An incomplete character at the end: keep its bytes for the next chunk.
                let text = std::str::from_utf8(&self.raw[..good]).unwrap_or_default();
                self.pending.push_str(text);
                self.decoded += good as u64;
                self.raw.drain(..good);
            }
        }
        Ok(())
    }

    /// Take up to `max` characters (a line, if `line`), ending lines as `newline` says.
    /// `None` when more data must be read first to decide.
    fn extract(&mut self, max: Option<usize>, line: bool, newline: Newline) -> Option<String> {
        let mut out = String::new();
        let mut count = 0usize;
        let mut end = 0usize;
        let mut chars = self.pending.char_indices().peekable();
        let mut complete = false;
        while let Some((i, c)) = chars.next() {
            if max.is_some_and(|m| count >= m) {
                end = i;
                complete = true;
                break;
            }
            count += 1;
            if c == '\r' && newline != Newline::Lf {
                let crlf = match chars.peek() {
                    Some((_, '\n')) => true,
                    Some(_) => false,
                    None if !self.eof => return None,
                    None => false,
                };
                if crlf {
                    chars.next();
                }
                end = i + 1 + crlf as usize;
                match newline {
                    Newline::Translate => out.push('\n'),
                    _ => out.push_str(if crlf { "\r\n" } else { "\r" }),
                }
                if line {
                    complete = true;
                    break;
                }
                continue;
            }
            out.push(c);
            end = i + c.len_utf8();
            if c == '\n' && line {
                complete = true;
                break;
            }
        }
        if !complete {
            // Out of text: enough if the size was reached or nothing more will come.
            if !(max.is_some_and(|m| count >= m) || self.eof) {
                return None;
            }
            end = self.pending.len();
        }
        self.pending.drain(..end);
        Some(out)
    }

    /// Forget read-ahead data, moving the OS position back to what the program has consumed.
    fn unread(&mut self) -> std::io::Result<()> {
        let ahead = (self.pending.len() + self.raw.len()) as i64;
        if ahead > 0 {
            if let Some(f) = self.file.as_mut() {
                f.seek(SeekFrom::Current(-ahead))?;
            }
        }
        self.pending.clear();
        self.raw.clear();
        self.eof = false;
        Ok(())
    }
}

/// CPython's `UnicodeDecodeError` text for the bytes at `raw[at..]`.
fn decode_message(raw: &[u8], at: usize, bad: Option<usize>, base: u64) -> String {
    let pos = base + at as u64;
    let first = raw.get(at).copied().unwrap_or(0);
    let Some(len) = bad else {
        let end = pos + (raw.len() - at) as u64 - 1;
        return if end > pos {
            format!(
                "'utf-8' codec can't decode bytes in position {pos}-{end}: unexpected end of data"
            )
        } else {
            format!("'utf-8' codec can't decode byte 0x{first:02x} in position {pos}: unexpected end of data")
        };
    };
    let invalid_start = matches!(first, 0x80..=0xc1 | 0xf5..=0xff);
    let why = if invalid_start {
        "invalid start byte"
    } else {
        "invalid continuation byte"
    };
    if len > 1 {
        format!(
            "'utf-8' codec can't decode bytes in position {pos}-{}: {why}",
            pos + len as u64 - 1
        )
    } else {
        format!("'utf-8' codec can't decode byte 0x{first:02x} in position {pos}: {why}")
    }
}

static FILE_CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();

pub fn file_class() -> Ref<Class> {
    FILE_CLASS
        .get_or_init(|| {
            native_class(
                "TextIOWrapper",
                "_io",
                &[
                    ("read", f_read),
                    ("readline", f_readline),
                    ("readlines", f_readlines),
                    ("write", f_write),
                    ("writelines", f_writelines),
                    ("close", f_close),
                    ("flush", f_flush),
                    ("seek", f_seek),
                    ("tell", f_tell),
                    ("fileno", f_fileno),
                    ("readable", f_readable),
                    ("writable", f_writable),
                    ("__iter__", f_iter),
                    ("__next__", f_next),
                    ("__enter__", f_enter),
                    ("__exit__", f_exit),
                    ("__repr__", f_repr),
                ],
            )
        })
        .clone()
}

/// `io.UnsupportedOperation: not readable`
fn unsupported(what: &str) -> PyErr {
    exc_of_class(extra_exc_class("UnsupportedOperation"), what.to_string())
}

fn closed_error() -> PyErr {
    err!(ValueError, "I/O operation on closed file.")
}

/// Lock a file's state without ever blocking while holding the GIL: if another thread has it
/// (it may be blocked in a read with the GIL released), wait for it with the GIL released.
fn lock<'a>(interp: &mut Interp, d: &'a FileData) -> MutexGuard<'a, FileState> {
    loop {
        if let Some(g) = d.state.try_lock() {
            return g;
        }
        // A guard cannot cross threads: wait until the holder is done, then try again.
        interp.allow_threads(|| drop(d.state.lock()));
    }
}

/// The open state, or `ValueError: I/O operation on closed file.`
fn open_state<'a>(interp: &mut Interp, d: &'a FileData) -> PyResult<MutexGuard<'a, FileState>> {
    let st = lock(interp, d);
    if st.file.is_none() {
        return Err(closed_error());
    }
    Ok(st)
}

fn fill(interp: &mut Interp, st: &mut FileState) -> PyResult<()> {
    match interp.allow_threads(|| st.fill()) {
        Ok(()) => Ok(()),
        Err(FillError::Io(e)) => Err(os_error(&e, None)),
        Err(FillError::Decode(msg)) => {
            Err(exc_of_class(extra_exc_class("UnicodeDecodeError"), msg))
        }
    }
}

/// Read `max` characters (or a line), filling as needed.
fn read_text(
    interp: &mut Interp,
    d: &FileData,
    max: Option<usize>,
    line: bool,
) -> PyResult<String> {
    let mut st = open_state(interp, d)?;
    if !d.readable {
        return Err(unsupported("not readable"));
    }
    loop {
        if let Some(s) = st.extract(max, line, d.newline) {
            return Ok(s);
        }
        fill(interp, &mut st)?;
    }
}

/// A size argument: `None` or negative means "all".
fn size_arg(v: Option<&Value>) -> PyResult<Option<usize>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(Value::Int(n)) if *n < 0 => Ok(None),
        Some(Value::Int(n)) => Ok(Some(*n as usize)),
        Some(Value::Bool(b)) => Ok(Some(*b as usize)),
        Some(other) => Err(err!(
            TypeError,
            "argument should be integer or None, not '{}'",
            type_name(other)
        )),
    }
}

fn f_read(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<FileData>(&args, "TextIOWrapper")?;
    let max = size_arg(arg(&args, 1, "size"))?;
    Ok(Value::string(read_text(interp, d, max, false)?))
}

fn f_readline(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<FileData>(&args, "TextIOWrapper")?;
    let max = size_arg(arg(&args, 1, "size"))?;
    Ok(Value::string(read_text(interp, d, max, true)?))
}

fn f_readlines(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<FileData>(&args, "TextIOWrapper")?;
    let mut lines = Vec::new();
    loop {
        let line = read_text(interp, d, None, true)?;
        if line.is_empty() {
            return Ok(Value::list(lines));
        }
        lines.push(Value::string(line));
    }
}

/// Write `text` at the program's position (after any read-ahead), GIL released.
fn write_text(interp: &mut Interp, d: &FileData, text: &str) -> PyResult<()> {
    let mut st = open_state(interp, d)?;
    if !d.writable {
        return Err(unsupported("not writable"));
    }
    // Read-ahead is dropped, not rewound: like CPython, a write after reads in `r+` mode lands
    // at the end of the chunk read last.
    st.pending.clear();
    st.raw.clear();
    st.eof = false;
    let fs: &mut FileState = &mut st;
    let r = interp.allow_threads(|| match fs.file.as_mut() {
        Some(f) => f.write_all(text.as_bytes()),
        None => Ok(()),
    });
    r.map_err(|e| os_error(&e, None))
}

fn f_write(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<FileData>(&args, "TextIOWrapper")?;
    let s = match arg(&args, 1, "text") {
        Some(Value::Str(s)) => s.clone(),
        Some(other) => {
            return Err(err!(
                TypeError,
                "write() argument must be str, not {}",
                type_name(other)
            ))
        }
        None => {
            return Err(err!(
                TypeError,
                "TextIOWrapper.write() takes exactly one argument (0 given)"
            ))
        }
    };
    write_text(interp, d, s.as_str())?;
    Ok(Value::Int(s.char_len() as i64))
}

fn f_writelines(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<FileData>(&args, "TextIOWrapper")?;
    let Some(lines) = arg(&args, 1, "lines") else {
        return Err(err!(
            TypeError,
            "TextIOWrapper.writelines() takes exactly one argument (0 given)"
        ));
    };
    let items = interp.collect_iter(lines)?;
    let mut text = String::new();
    for item in &items {
        match item {
            Value::Str(s) => text.push_str(s.as_str()),
            other => {
                return Err(err!(
                    TypeError,
                    "write() argument must be str, not {}",
                    type_name(other)
                ))
            }
        }
    }
    if items.is_empty() {
        // Still complains about a closed file, as CPython does.
        drop(open_state(interp, d)?);
        return Ok(Value::None);
    }
    write_text(interp, d, &text)?;
    Ok(Value::None)
}

fn f_close(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, d) = this::<FileData>(&args, "TextIOWrapper")?;
    let file = {
        let mut st = lock(interp, d);
        st.pending.clear();
        st.raw.clear();
        st.file.take()
    };
    inst.dict
        .lock()
        .insert(Arc::from("closed"), Value::Bool(true));
    if let Some(f) = file {
        // Closing may flush to a slow device.
        interp.allow_threads(|| drop(f));
    }
    Ok(Value::None)
}

fn f_flush(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<FileData>(&args, "TextIOWrapper")?;
    drop(open_state(interp, d)?);
    Ok(Value::None)
}

/// `seek(offset, whence=0)` with text-mode rules: only `seek(n)`, `seek(0, 1)`, `seek(0, 2)`.
fn f_seek(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<FileData>(&args, "TextIOWrapper")?;
    let int = |v: Option<&Value>, default: i64| -> PyResult<i64> {
        match v {
            None => Ok(default),
            Some(Value::Int(n)) => Ok(*n),
            Some(Value::Bool(b)) => Ok(*b as i64),
            Some(other) => Err(err!(
                TypeError,
                "'{}' object cannot be interpreted as an integer",
                type_name(other)
            )),
        }
    };
    let Some(offset) = arg(&args, 1, "cookie") else {
        return Err(err!(TypeError, "seek expected at least 1 argument, got 0"));
    };
    let offset = int(Some(offset), 0)?;
    let whence = int(arg(&args, 2, "whence"), 0)?;
    let target = match (whence, offset) {
        (0, n) if n < 0 => return Err(err!(ValueError, "negative seek position {n}")),
        (0, n) => SeekFrom::Start(n as u64),
        (1, 0) => SeekFrom::Current(0),
        (2, 0) => SeekFrom::End(0),
        (1, _) => return Err(unsupported("can't do nonzero cur-relative seeks")),
        (2, _) => return Err(unsupported("can't do nonzero end-relative seeks")),
        (w, _) => {
            return Err(err!(
                ValueError,
                "invalid whence ({w}, should be 0, 1 or 2)"
            ))
        }
    };
    let mut st = open_state(interp, d)?;
    let fs: &mut FileState = &mut st;
    let r = interp.allow_threads(|| -> std::io::Result<u64> {
        fs.unread()?;
        match fs.file.as_mut() {
            Some(f) => f.seek(target),
            None => Ok(0),
        }
    });
    let pos = r.map_err(|e| os_error(&e, None))?;
    Ok(Value::Int(pos as i64))
}

/// `tell()`: the byte offset of what the program has consumed.
fn f_tell(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<FileData>(&args, "TextIOWrapper")?;
    let mut st = open_state(interp, d)?;
    let ahead = (st.pending.len() + st.raw.len()) as u64;
    let pos = match st.file.as_mut() {
        Some(f) => f.stream_position().map_err(|e| os_error(&e, None))?,
        None => 0,
    };
    Ok(Value::Int(pos.saturating_sub(ahead) as i64))
}

fn f_fileno(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<FileData>(&args, "TextIOWrapper")?;
    let st = open_state(interp, d)?;
    Ok(Value::Int(
        st.file.as_ref().map_or(-1, |f| f.as_raw_fd()) as i64
    ))
}

fn f_readable(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<FileData>(&args, "TextIOWrapper")?;
    drop(open_state(interp, d)?);
    Ok(Value::Bool(d.readable))
}

fn f_writable(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<FileData>(&args, "TextIOWrapper")?;
    drop(open_state(interp, d)?);
    Ok(Value::Bool(d.writable))
}

fn f_iter(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, d) = this::<FileData>(&args, "TextIOWrapper")?;
    drop(open_state(interp, d)?);
    Ok(Value::Instance(inst.clone()))
}

fn f_next(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<FileData>(&args, "TextIOWrapper")?;
    let line = read_text(interp, d, None, true)?;
    if line.is_empty() {
        return Err(PyErr::with_args(
            crate::object::ExcKind::StopIteration,
            vec![],
        ));
    }
    Ok(Value::string(line))
}

fn f_enter(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, d) = this::<FileData>(&args, "TextIOWrapper")?;
    drop(open_state(interp, d)?);
    Ok(Value::Instance(inst.clone()))
}

fn f_exit(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, _) = this::<FileData>(&args, "TextIOWrapper")?;
    f_close(interp, Args::new(&args.pos[..1]))?;
    Ok(Value::None)
}

/// `<_io.TextIOWrapper name='x.txt' mode='r' encoding='UTF-8'>`
fn f_repr(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, d) = this::<FileData>(&args, "TextIOWrapper")?;
    Ok(Value::string(format!(
        "<{}.{} name={} mode={} encoding='UTF-8'>",
        inst.class.module,
        inst.class.qualname,
        py_str_repr(&d.name),
        py_str_repr(&d.mode)
    )))
}

/// The parsed `mode` argument of `open`.
struct Mode {
    read: bool,
    write: bool,
    append: bool,
    create_new: bool,
    truncate: bool,
}

fn parse_mode(mode: &str) -> PyResult<Mode> {
    let invalid = || err!(ValueError, "invalid mode: {}", py_str_repr(mode));
    let mut seen = String::new();
    for c in mode.chars() {
        if !"rwxabt+".contains(c) || seen.contains(c) {
            return Err(invalid());
        }
        seen.push(c);
    }
    let has = |c: char| seen.contains(c);
    let kinds = ['r', 'w', 'x', 'a'].iter().filter(|c| has(**c)).count();
    if has('t') && has('b') {
        return Err(err!(ValueError, "can't have text and binary mode at once"));
    }
    if kinds != 1 {
        return Err(err!(
            ValueError,
            "must have exactly one of create/read/write/append mode"
        ));
    }
    if has('b') {
        return Err(err!(
            NotImplementedError,
            "binary files are not supported by minivm (mode={})",
            py_str_repr(mode)
        ));
    }
    Ok(Mode {
        read: has('r') || has('+'),
        write: !has('r') || has('+'),
        append: has('a'),
        create_new: has('x'),
        truncate: has('w'),
    })
}

/// An optional str argument of `open` (`encoding`, `errors`, `newline`).
fn opt_str<'a>(v: Option<&'a Value>, name: &str) -> PyResult<Option<&'a str>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(err!(
            TypeError,
            "open() argument '{name}' must be str or None, not {}",
            type_name(other)
        )),
    }
}

/// The `open(file, mode='r', buffering=-1, encoding=None, errors=None, newline=None)` builtin.
/// (The lead registers it in the builtins dict.)
pub fn open_builtin(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    const NAMES: [&str; 8] = [
        "file",
        "mode",
        "buffering",
        "encoding",
        "errors",
        "newline",
        "closefd",
        "opener",
    ];
    if args.pos.len() > NAMES.len() {
        return Err(err!(
            TypeError,
            "open() takes at most 8 arguments ({} given)",
            args.pos.len()
        ));
    }
    for (k, _) in args.kw {
        match NAMES.iter().position(|n| *n == &**k) {
            None => {
                return Err(err!(
                    TypeError,
                    "'{k}' is an invalid keyword argument for open()"
                ))
            }
            Some(i) if i < args.pos.len() => {
                return Err(err!(
                    TypeError,
                    "argument for open() given by name ('{k}') and position ({})",
                    i + 1
                ))
            }
            Some(_) => {}
        }
    }
    let path = match arg(&args, 0, "file") {
        Some(Value::Str(s)) => s.as_str().to_string(),
        Some(Value::Int(_)) => {
            return Err(err!(
                NotImplementedError,
                "minivm cannot open a file descriptor (open(int))"
            ))
        }
        Some(other) => {
            return Err(err!(
                TypeError,
                "expected str, bytes or os.PathLike object, not {}",
                type_name(other)
            ))
        }
        None => {
            return Err(err!(
                TypeError,
                "open() missing required argument 'file' (pos 1)"
            ))
        }
    };
    let mode_str = match arg(&args, 1, "mode") {
        None => "r".to_string(),
        Some(Value::Str(s)) => s.as_str().to_string(),
        Some(other) => {
            return Err(err!(
                TypeError,
                "open() argument 'mode' must be str, not {}",
                type_name(other)
            ))
        }
    };
    let mode = parse_mode(&mode_str)?;
    match arg(&args, 2, "buffering") {
        None | Some(Value::Int(_)) | Some(Value::Bool(_)) => {}
        Some(other) => {
            return Err(err!(
                TypeError,
                "'{}' object cannot be interpreted as an integer",
                type_name(other)
            ))
        }
    }
    if let Some(enc) = opt_str(arg(&args, 3, "encoding"), "encoding")? {
        let norm = enc.to_ascii_lowercase().replace('_', "-");
        if !matches!(norm.as_str(), "utf-8" | "utf8" | "u8" | "utf" | "locale") {
            return Err(err!(
                NotImplementedError,
                "minivm text files are UTF-8 only (encoding={})",
                py_str_repr(enc)
            ));
        }
    }
    if let Some(errors) = opt_str(arg(&args, 4, "errors"), "errors")? {
        if errors != "strict" {
            return Err(err!(
                NotImplementedError,
                "minivm text files support only errors='strict', not {}",
                py_str_repr(errors)
            ));
        }
    }
    let newline = match opt_str(arg(&args, 5, "newline"), "newline")? {
        None => Newline::Translate,
        Some("") => Newline::Universal,
        Some("\n") => Newline::Lf,
        Some(nl @ ("\r" | "\r\n")) => {
            return Err(err!(
                NotImplementedError,
                "minivm text files do not support newline={}",
                py_str_repr(nl)
            ))
        }
        Some(nl) => return Err(err!(ValueError, "illegal newline value: {nl}")),
    };
    if let Some(op) = arg(&args, 7, "opener") {
        if !op.is_none() {
            return Err(err!(NotImplementedError, "minivm's open() has no opener="));
        }
    }
    let mut opts = OpenOptions::new();
    opts.read(mode.read)
        .write(mode.write && !mode.append)
        .append(mode.append)
        .truncate(mode.truncate);
    if mode.create_new {
        opts.create_new(true);
    } else if mode.truncate || mode.append {
        // 'w', 'a' and their '+' forms create the file; 'r+' does not.
        opts.create(true);
    }
    let opened = interp.allow_threads(|| -> std::io::Result<File> {
        let f = opts.open(&path)?;
        if f.metadata()?.is_dir() {
            return Err(std::io::Error::from_raw_os_error(libc::EISDIR));
        }
        Ok(f)
    });
    let file = opened.map_err(|e| os_error(&e, Some(&path)))?;
    let inst = Instance::new(file_class());
    inst.set_native(Box::new(FileData {
        name: path.clone(),
        mode: mode_str.clone(),
        readable: mode.read,
        writable: mode.write,
        newline,
        state: Mutex::new(FileState {
            file: Some(file),
            pending: String::new(),
            raw: Vec::new(),
            eof: false,
            decoded: 0,
        }),
    }));
    {
        let mut dict = inst.dict.lock();
        dict.insert(Arc::from("name"), Value::string(path));
        dict.insert(Arc::from("mode"), Value::string(mode_str));
        dict.insert(Arc::from("encoding"), Value::str("UTF-8"));
        dict.insert(Arc::from("closed"), Value::Bool(false));
    }
    Ok(Value::Instance(Ref::new(inst)))
}

/// A copy of the descriptor of a file object from `open()` (a child process's `stdout=f`), or
/// `None` if `v` is not one; `ValueError` if it is closed.
pub fn dup_fd(interp: &mut Interp, v: &Value) -> Option<PyResult<std::os::fd::OwnedFd>> {
    let Value::Instance(inst) = v else {
        return None;
    };
    let d = inst.native::<FileData>()?;
    let st = lock(interp, d);
    Some(match st.file.as_ref() {
        Some(f) => f
            .try_clone()
            .map(std::os::fd::OwnedFd::from)
            .map_err(|e| os_error(&e, None)),
        None => Err(closed_error()),
    })
}
