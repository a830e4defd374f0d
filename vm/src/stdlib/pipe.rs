//! File objects over the pipes to a child process (stage 4, the VM's standard library): what
//! `Popen.stdin`, `.stdout` and `.stderr` are. Binary pipes behave as CPython's
//! `_io.BufferedWriter` / `_io.BufferedReader`, text pipes (`text=True`, `encoding=`) as its
//! `_io.TextIOWrapper` with universal newlines on reading.
//!
//! Every wait (for data to read, for room to write) is a `poll(2)` with the GIL released, cut
//! into slices so Ctrl-C in the main thread ends it; the read-ahead buffer lives under a mutex
//! that is only ever locked with the GIL released when it may be busy. Writes go straight to the
//! OS (no write buffer: `flush()` has nothing to do), so a child sees data a little earlier than
//! with CPython, never later.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use crate::builtins::args::{Sig, Style};
use crate::builtins::codecs::{self, Encoding};
use crate::error::PyErr;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{type_name, Class, ExcKind, Instance, NativeFn};
use crate::stdlib::os::{exc_of_class, extra_exc_class, os_error};
use crate::stdlib::select::poll_fds;
use crate::stdlib::sync::property;
use crate::stdlib::{native_subclass, this};
use crate::value::Value;
use crate::{err, PyResult};

/// Bytes asked of the OS per read (CPython's `communicate` reads 32 KiB at a time too).
pub const READ_CHUNK: usize = 32768;
/// Bytes written per wait: a pipe that polls writable has room for at least `PIPE_BUF`.
pub const WRITE_CHUNK: usize = 4096;

/// How a pipe's bytes become text.
#[derive(Clone)]
pub struct TextMode {
    pub encoding: Encoding,
    /// The name as the program gave it (`encoding` shows it: `'UTF-8'` by default, as CPython's
    /// locale encoding).
    pub name: Arc<str>,
    pub errors: &'static str,
}

/// The state behind a pipe's mutex.
pub struct PipeState {
    /// `None` once closed.
    pub file: Option<File>,
    /// Bytes read ahead and not yet returned.
    pub buf: Vec<u8>,
    /// The writer closed its end and `buf` holds all that is left.
    pub eof: bool,
}

/// Rust data of a pipe file object.
pub struct PipeData {
    pub state: Mutex<PipeState>,
    /// The descriptor number, kept for `repr` and `fileno()` after closing (CPython's `name`).
    fd: i32,
    readable: bool,
    text: Option<TextMode>,
}

/// Which of CPython's three classes a pipe is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Reader,
    Writer,
    Text,
}

static CLASSES: crate::heap::Global<[Ref<Class>; 3]> = crate::heap::Global::new();

const METHODS: &[(&str, NativeFn)] = &[
    ("read", p_read),
    ("readline", p_readline),
    ("readlines", p_readlines),
    ("write", p_write),
    ("flush", p_flush),
    ("close", p_close),
    ("fileno", p_fileno),
    ("readable", p_readable),
    ("writable", p_writable),
    ("__iter__", p_iter),
    ("__next__", p_next),
    ("__enter__", p_enter),
    ("__exit__", p_exit),
    ("__repr__", p_repr),
];

/// `BufferedReader`'s own: what reads with at most one read of the pipe.
const READER_METHODS: [(&str, NativeFn); 2] = [("read1", p_read1), ("peek", p_peek)];

fn class_of(kind: Kind) -> Ref<Class> {
    let all = CLASSES.get_or_init(|| {
        ["BufferedReader", "BufferedWriter", "TextIOWrapper"].map(|name| {
            // Under the io base classes, as CPython's, so `isinstance(p, io.IOBase)` holds.
            let base = match name {
                "TextIOWrapper" => crate::stdlib::io::TEXT_IO_BASE,
                _ => crate::stdlib::io::BUFFERED_IO_BASE,
            };
            let cls = native_subclass(name, "_io", &crate::stdlib::io::base_class(base), METHODS);
            let props: [(&str, NativeFn); 3] = [
                ("closed", p_closed),
                ("name", p_name),
                ("encoding", p_encoding),
            ];
            for (p, f) in props {
                cls.dict.write().insert(Arc::from(p), property((p, f)));
            }
            if name == "BufferedReader" {
                for (m, f) in READER_METHODS {
                    let method = crate::object::NativeFunction::native_method(m, f);
                    cls.dict
                        .write()
                        .insert(Arc::from(m), Value::Native(Ref::new(method)));
                }
            }
            cls
        })
    });
    all[kind as usize].clone()
}

/// A file object owning one end of a pipe: the read end if `readable`, else the write end.
pub fn new_pipe(file: File, readable: bool, text: Option<TextMode>) -> Value {
    let kind = match (text.is_some(), readable) {
        (true, _) => Kind::Text,
        (false, true) => Kind::Reader,
        (false, false) => Kind::Writer,
    };
    let inst = Instance::new(class_of(kind));
    let data = PipeData {
        fd: file.as_raw_fd(),
        state: Mutex::new(PipeState {
            file: Some(file),
            buf: Vec::new(),
            eof: false,
        }),
        readable,
        text,
    };
    inst.set_native(Box::new(data));
    Value::Instance(Ref::new(inst))
}

/// The pipe data of `v`, if it is a pipe file object.
pub fn pipe_data(v: &Value) -> Option<&PipeData> {
    match v {
        Value::Instance(inst) => inst.native::<PipeData>(),
        _ => None,
    }
}

/// Lock a pipe's state without blocking while holding the GIL: if another thread has it (it
/// may be waiting for data with the GIL released), wait for it with the GIL released.
pub fn lock<'a>(interp: &mut Interp, d: &'a PipeData) -> MutexGuard<'a, PipeState> {
    loop {
        if let Some(g) = d.state.try_lock() {
            return g;
        }
        // (Noted: a forked child removes this thread from the lock's queue, as file.rs does.)
        interp.allow_threads(|| {
            let _note = crate::heap::fork::note_queue(&d.state);
            drop(d.state.lock());
        });
    }
}

/// A copy of a pipe's descriptor, to hand to another child (`stdin=first.stdout`).
pub fn dup(interp: &mut Interp, d: &PipeData) -> PyResult<OwnedFd> {
    let st = lock(interp, d);
    match st.file.as_ref() {
        Some(f) => f
            .try_clone()
            .map(OwnedFd::from)
            .map_err(|e| os_error(&e, None)),
        None => Err(closed_error(d, "fileno")),
    }
}

/// Wait (with the GIL released) until `fd` is ready for `events`, or Ctrl-C.
/// True when ready; false when `interrupt` was set.
pub fn wait_ready(fd: i32, events: libc::c_short, interrupt: Option<&AtomicBool>) -> bool {
    let mut fds = [libc::pollfd {
        fd,
        events,
        revents: 0,
    }];
    // An error here (a closed descriptor) shows up in the read or write that follows.
    matches!(poll_fds(&mut fds, None, interrupt), Ok(n) if n > 0) || interrupt.is_none()
}

/// Read one chunk into the buffer, waiting for it with the GIL released.
fn fill(interp: &mut Interp, st: &mut PipeState) -> PyResult<()> {
    let Some(file) = st.file.as_mut() else {
        st.eof = true;
        return Ok(());
    };
    let vm = interp.vm.clone();
    let interrupt = interp.is_main.then_some(&vm.interrupted);
    let fd = file.as_raw_fd();
    let got = interp.allow_threads(|| {
        if !wait_ready(fd, libc::POLLIN, interrupt) {
            return None;
        }
        let mut chunk = vec![0u8; READ_CHUNK];
        Some(loop {
            match file.read(&mut chunk) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                r => break r.map(|n| chunk[..n].to_vec()),
            }
        })
    });
    match got {
        None => interp.check_interrupt(),
        Some(Err(e)) => Err(os_error(&e, None)),
        Some(Ok(chunk)) if chunk.is_empty() => {
            st.eof = true;
            Ok(())
        }
        Some(Ok(chunk)) => {
            st.buf.extend_from_slice(&chunk);
            Ok(())
        }
    }
}

/// Write all of `data`, a chunk per wait for room, with the GIL released.
fn write_all(interp: &mut Interp, file: &mut File, data: &[u8]) -> PyResult<()> {
    let vm = interp.vm.clone();
    let mut done = 0;
    while done < data.len() {
        let interrupt = interp.is_main.then_some(&vm.interrupted);
        let fd = file.as_raw_fd();
        let rest = &data[done..];
        let r = interp.allow_threads(|| {
            if !wait_ready(fd, libc::POLLOUT, interrupt) {
                return None;
            }
            Some(file.write(&rest[..rest.len().min(WRITE_CHUNK)]))
        });
        match r {
            None => interp.check_interrupt()?,
            Some(Ok(n)) => done += n,
            Some(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Some(Err(e)) => return Err(os_error(&e, None)),
        }
    }
    Ok(())
}

/// Bytes of the character starting with `lead` in `enc` (an invalid lead byte counts as one:
/// decoding reports it).
fn char_len(enc: Encoding, lead: u8) -> usize {
    match enc {
        Encoding::Utf8 => match lead {
            0xF0..=0xF7 => 4,
            0xE0..=0xEF => 3,
            0xC0..=0xDF => 2,
            _ => 1,
        },
        Encoding::Ascii | Encoding::Latin1 | Encoding::Cp1252 => 1,
        // (Refused for pipes: `Encoding::lookup_stream`.)
        _ => 1,
    }
}

/// Where the first `n` characters (`None`: all) of `buf` end, counting `\r\n` as one as text
/// mode reads it, and stopping after a line end if `line`. `None` if more bytes must be read to
/// decide (the buffer ends inside a character, or with a `\r` that may precede a `\n`).
fn text_end(
    t: Option<&TextMode>,
    buf: &[u8],
    eof: bool,
    n: Option<usize>,
    line: bool,
) -> Option<usize> {
    let mut i = 0;
    let mut count = 0;
    while i < buf.len() {
        if n.is_some_and(|n| count >= n) {
            return Some(i);
        }
        let mut len = t.map_or(1, |t| char_len(t.encoding, buf[i]));
        if i + len > buf.len() {
            return eof.then_some(buf.len());
        }
        let newline = match buf[i] {
            b'\n' => true,
            b'\r' if t.is_some() => match buf.get(i + 1) {
                Some(b'\n') => {
                    len = 2;
                    true
                }
                Some(_) => true,
                None if eof => true,
                None => return None,
            },
            _ => false,
        };
        i += len;
        count += 1;
        if line && newline {
            return Some(i);
        }
    }
    if n.is_some_and(|n| count >= n) || eof {
        Some(i)
    } else {
        None
    }
}

/// Bytes taken from a pipe as the value a read returns: `bytes`, or text with `\r\n` and `\r`
/// read as `\n`.
fn to_value(t: Option<&TextMode>, bytes: Vec<u8>) -> PyResult<Value> {
    match t {
        None => Ok(Value::bytes(bytes)),
        Some(t) => Ok(Value::string(translate_newlines(&codecs::decode(
            &bytes, t.encoding, t.errors,
        )?))),
    }
}

/// Universal newlines: `\r\n` and `\r` become `\n` (as CPython's `_translate_newlines`).
pub fn translate_newlines(s: &str) -> String {
    if s.contains('\r') {
        s.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        s.to_string()
    }
}

/// `ValueError` for an operation on a closed pipe: `what` is the binary class's wording
/// (`read`: "read of closed file"; text pipes say "I/O operation on closed file.").
fn closed_error(d: &PipeData, what: &str) -> PyErr {
    match (&d.text, what) {
        (Some(_), _) => err!(ValueError, "I/O operation on closed file."),
        (None, "write") => err!(ValueError, "write to closed file"),
        (None, _) => err!(ValueError, "{what} of closed file"),
    }
}

fn unsupported(what: &str) -> PyErr {
    exc_of_class(extra_exc_class("UnsupportedOperation"), what.to_string())
}

fn readable_state<'a>(
    interp: &mut Interp,
    d: &'a PipeData,
    what: &str,
) -> PyResult<MutexGuard<'a, PipeState>> {
    if !d.readable {
        return Err(unsupported(if d.text.is_some() {
            "not readable"
        } else {
            what
        }));
    }
    let st = lock(interp, d);
    if st.file.is_none() {
        return Err(closed_error(d, what));
    }
    Ok(st)
}

/// Read up to `n` characters or bytes (`None`: to the end), or a line if `line`.
fn read_some(
    interp: &mut Interp,
    d: &PipeData,
    n: Option<usize>,
    line: bool,
    what: &str,
) -> PyResult<Value> {
    let mut st = readable_state(interp, d, what)?;
    loop {
        let end = match (d.text.as_ref(), n, line) {
            // `BufferedReader.read(n)` waits for all n bytes or the end.
            (None, Some(n), false) => (st.buf.len() >= n || st.eof).then(|| n.min(st.buf.len())),
            _ => text_end(d.text.as_ref(), &st.buf, st.eof, n, line),
        };
        if let Some(end) = end {
            let end = end.min(st.buf.len());
            let taken: Vec<u8> = st.buf.drain(..end).collect();
            drop(st);
            return to_value(d.text.as_ref(), taken);
        }
        fill(interp, &mut st)?;
    }
}

/// A size argument: `None` or negative means "all".
fn size_arg(v: Option<&Value>) -> PyResult<Option<usize>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(v) => {
            let n = crate::builtins::args::to_index(v).map_err(|_| {
                err!(
                    TypeError,
                    "argument should be integer or None, not '{}'",
                    type_name(v)
                )
            })?;
            Ok(usize::try_from(n).ok())
        }
    }
}

fn data<'a>(args: &Args<'a>) -> PyResult<(&'a Ref<Instance>, &'a PipeData)> {
    this::<PipeData>(args, "_io._IOBase")
}

/// `read(size=-1)` and `readline(size=-1)`.
fn read_method(interp: &mut Interp, args: Args<'_>, name: &str) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    let [size] = Sig::pos(name, Style::Unpack, &["size"], 0)
        .method()
        .bind(&args)?;
    read_some(interp, d, size_arg(size)?, name == "readline", name)
}

fn p_read(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    read_method(interp, args, "read")
}

/// `read1(size=-1)`: what the buffer holds, up to `size` bytes; if it is empty, one read of
/// the pipe first (waiting for some data, b"" at the end), as CPython's `BufferedReader.read1`.
fn p_read1(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    let [size] = Sig::pos("read1", Style::Unpack, &["size"], 0)
        .method()
        .bind(&args)?;
    let n = size_arg(size)?;
    // CPython names `read` in the closed-file error.
    let mut st = readable_state(interp, d, "read")?;
    if n == Some(0) {
        return Ok(Value::bytes(Vec::new()));
    }
    if st.buf.is_empty() && !st.eof {
        fill(interp, &mut st)?;
    }
    let end = n.unwrap_or(usize::MAX).min(st.buf.len());
    let taken: Vec<u8> = st.buf.drain(..end).collect();
    Ok(Value::bytes(taken))
}

/// `peek(size=0)`: the bytes buffered, without taking them; one read of the pipe first if none
/// are (b"" at the end).
fn p_peek(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    Sig::pos("peek", Style::Unpack, &["size"], 0)
        .method()
        .bind::<1>(&args)?;
    let mut st = readable_state(interp, d, "peek")?;
    if st.buf.is_empty() && !st.eof {
        fill(interp, &mut st)?;
    }
    Ok(Value::bytes(st.buf.clone()))
}

fn p_readline(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    read_method(interp, args, "readline")
}

fn p_readlines(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    Sig::pos("readlines", Style::Unpack, &["hint"], 0)
        .method()
        .bind::<1>(&args)?;
    let mut lines = Vec::new();
    loop {
        let line = read_some(interp, d, None, true, "readline")?;
        if is_empty(&line) {
            return Ok(Value::list(lines));
        }
        lines.push(line);
    }
}

/// The bytes a `write` sends: `bytes`/`bytearray` to a binary pipe, `str` (encoded) to a text one.
fn write_bytes(d: &PipeData, v: &Value) -> PyResult<(Vec<u8>, usize)> {
    match (d.text.as_ref(), v) {
        (Some(t), Value::Str(s)) => Ok((
            codecs::encode(s.as_str(), t.encoding, t.errors)?,
            s.as_str().chars().count(),
        )),
        (Some(_), other) => Err(err!(
            TypeError,
            "write() argument must be str, not {}",
            type_name(other)
        )),
        (None, Value::Bytes(b)) => Ok((b.as_bytes().to_vec(), b.as_bytes().len())),
        (None, Value::ByteArray(b)) => {
            let data = b.snapshot();
            let n = data.len();
            Ok((data, n))
        }
        (None, other) => Err(err!(
            TypeError,
            "a bytes-like object is required, not '{}'",
            type_name(other)
        )),
    }
}

fn p_write(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    let [v] = Sig::pos("write", Style::One, &["b"], 1)
        .method()
        .bind(&args)?;
    let (bytes, count) = write_bytes(d, v.unwrap_or(&Value::None))?;
    if d.readable {
        return Err(unsupported(if d.text.is_some() {
            "not writable"
        } else {
            "write"
        }));
    }
    let mut st = lock(interp, d);
    let Some(file) = st.file.as_mut() else {
        return Err(closed_error(d, "write"));
    };
    write_all(interp, file, &bytes)?;
    Ok(Value::Int(count as i64))
}

fn p_flush(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    Sig::pos("flush", Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    if lock(interp, d).file.is_none() {
        return Err(closed_error(d, "flush"));
    }
    Ok(Value::None)
}

fn p_close(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    Sig::pos("close", Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    let mut st = lock(interp, d);
    st.file = None;
    st.buf.clear();
    Ok(Value::None)
}

fn p_closed(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    Ok(Value::Bool(lock(interp, d).file.is_none()))
}

fn p_fileno(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    Sig::pos("fileno", Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    if lock(interp, d).file.is_none() {
        return Err(closed_error(d, "fileno"));
    }
    Ok(Value::Int(i64::from(d.fd)))
}

/// `name`: the descriptor number, also after closing.
fn p_name(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    Ok(Value::Int(i64::from(d.fd)))
}

fn p_encoding(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, d) = data(&args)?;
    match &d.text {
        Some(t) => Ok(Value::str(&t.name)),
        None => Err(err!(
            AttributeError,
            "'_io.{}' object has no attribute 'encoding'",
            inst.class.qualname()
        )),
    }
}

fn p_readable(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    if lock(interp, d).file.is_none() {
        return Err(closed_error(d, "readable"));
    }
    Ok(Value::Bool(d.readable))
}

fn p_writable(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    if lock(interp, d).file.is_none() {
        return Err(closed_error(d, "writable"));
    }
    Ok(Value::Bool(!d.readable))
}

fn p_iter(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, d) = data(&args)?;
    if lock(interp, d).file.is_none() {
        return Err(closed_error(d, "iter"));
    }
    Ok(Value::Instance(inst.clone()))
}

fn p_next(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    let line = read_some(interp, d, None, true, "readline")?;
    if is_empty(&line) {
        return Err(PyErr::with_args(ExcKind::StopIteration, vec![]));
    }
    Ok(line)
}

fn p_enter(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    p_iter(interp, args)
}

fn p_exit(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    p_close(interp, Args::new(&args.pos[..1]))
}

/// `<_io.BufferedReader name=5>`, `<_io.TextIOWrapper name=5 encoding='utf-8'>`
fn p_repr(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, d) = data(&args)?;
    let enc = d
        .text
        .as_ref()
        .map_or(String::new(), |t| format!(" encoding='{}'", t.name));
    Ok(Value::string(format!(
        "<_io.{} name={}{enc}>",
        inst.class.qualname(),
        d.fd
    )))
}

/// An empty `bytes` or `str`: what a read returns at the end.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Bytes(b) => b.as_bytes().is_empty(),
        Value::Str(s) => s.as_str().is_empty(),
        _ => false,
    }
}
