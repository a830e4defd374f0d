//! The `io` module (stage: standard library): the base classes of every file-like object
//! (`IOBase`, `RawIOBase`, `BufferedIOBase`, `TextIOBase`), the in-memory files `StringIO` and
//! `BytesIO`, `io.open` (the builtin `open`, in `file.rs`) and `UnsupportedOperation`.
//!
//! `IOBase`'s methods are written against the object's own methods (`close` calls `self.flush()`,
//! iteration calls `self.readline()`), so a program's subclass that defines `read`/`write` works
//! as in CPython. One simplification: CPython keeps `io.IOBase` apart from the C classes
//! (`_io._IOBase`) and registers them with it; here the concrete classes simply inherit from
//! `io.IOBase`, so `isinstance(f, io.IOBase)` holds alike but `__mro__` lists fewer classes.

use std::borrow::Cow;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::builtins::args::{to_index, Sig, Style};
use crate::error::PyErr;
use crate::heap::{Global, Ref};
use crate::interp::{Args, Interp};
use crate::object::{type_name, ByteArray, Class, ExcKind, Instance, Module, NativeFn};
use crate::stdlib::os::{exc_of_class, extra_exc_class};
use crate::stdlib::{make_module, native_class, native_subclass, this};
use crate::value::Value;
use crate::{err, raise, PyResult};

// ---------------------------------------------------------------------------------------------
// Newlines (shared with text files)

/// The `newline` argument of `open` and `StringIO`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Newline {
    /// `None`: lines end at `\n`, `\r\n` or `\r`, all read as `\n`.
    Translate,
    /// `''`: lines end at any of the three, returned untranslated.
    Universal,
    /// `'\n'`: lines end at `\n` only.
    Lf,
    /// `'\r'`: lines end at `\r` only; `\n` is written as `\r`.
    Cr,
    /// `'\r\n'`: lines end at `\r\n` only; `\n` is written as `\r\n`.
    CrLf,
}

impl Newline {
    pub fn parse(v: Option<&str>) -> PyResult<Newline> {
        Ok(match v {
            None => Newline::Translate,
            Some("") => Newline::Universal,
            Some("\n") => Newline::Lf,
            Some("\r") => Newline::Cr,
            Some("\r\n") => Newline::CrLf,
            Some(nl) => return Err(err!(ValueError, "illegal newline value: {nl}")),
        })
    }
}

/// Text as written to a file or StringIO with `newline`: `\n` becomes `\r` or `\r\n` for those.
pub fn translate_written(text: &str, newline: Newline) -> Cow<'_, str> {
    match newline {
        Newline::Cr if text.contains('\n') => Cow::Owned(text.replace('\n', "\r")),
        Newline::CrLf if text.contains('\n') => Cow::Owned(text.replace('\n', "\r\n")),
        _ => Cow::Borrowed(text),
    }
}

/// The first `max` characters of `s` (or its first line, if `line`), ending lines as `newline`
/// says: `(bytes of s consumed, text to return)`. `None` when the answer depends on text not
/// there yet (`more`: more may come), such as a `\r` at the end that may start a `\r\n`.
pub fn take_text(
    s: &str,
    max: Option<usize>,
    line: bool,
    newline: Newline,
    more: bool,
) -> Option<(usize, String)> {
    let mut out = String::new();
    let mut count = 0usize;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if max.is_some_and(|m| count >= m) {
            return Some((i, out));
        }
        count += 1;
        let mut end = i + c.len_utf8();
        let mut stop = line
            && c == '\n'
            && matches!(
                newline,
                Newline::Lf | Newline::Translate | Newline::Universal
            );
        if c == '\r' && newline != Newline::Lf {
            let crlf = match chars.peek() {
                Some((_, '\n')) => true,
                Some(_) => false,
                None if more && newline != Newline::Cr => return None,
                None => false,
            };
            match newline {
                Newline::Translate => {
                    out.push('\n');
                    end += crlf as usize;
                    if crlf {
                        chars.next();
                    }
                    if line {
                        return Some((end, out));
                    }
                    continue;
                }
                Newline::Universal if crlf => {
                    chars.next();
                    out.push_str("\r\n");
                    if line {
                        return Some((end + 1, out));
                    }
                    continue;
                }
                Newline::CrLf if crlf => {
                    chars.next();
                    out.push_str("\r\n");
                    if line {
                        return Some((end + 1, out));
                    }
                    continue;
                }
                Newline::CrLf => {}
                _ => stop = line,
            }
        }
        out.push(c);
        if stop {
            return Some((end, out));
        }
    }
    // Out of text: enough if the size was reached or nothing more will come.
    if more && max.is_none_or(|m| count < m) {
        return None;
    }
    Some((s.len(), out))
}

// ---------------------------------------------------------------------------------------------
// The base classes

/// Index of a base class in [`base_class`].
pub const IO_BASE: usize = 0;
pub const RAW_IO_BASE: usize = 1;
pub const BUFFERED_IO_BASE: usize = 2;
pub const TEXT_IO_BASE: usize = 3;

static BASES: Global<Vec<Ref<Class>>> = Global::new();

const IOBASE_METHODS: &[(&str, NativeFn)] = &[
    ("close", base_close),
    ("flush", base_flush),
    ("__enter__", base_enter),
    ("__exit__", base_exit),
    ("__iter__", base_iter),
    ("__next__", base_next),
    ("readline", base_readline),
    ("readlines", base_readlines),
    ("writelines", base_writelines),
    ("readable", base_false),
    ("writable", base_false),
    ("seekable", base_false),
    ("isatty", base_isatty),
    ("fileno", base_fileno),
    ("seek", base_seek),
    ("tell", base_tell),
    ("truncate", base_truncate),
];

const STREAM_METHODS: &[(&str, NativeFn)] = &[("read", base_read), ("write", base_write)];

/// `io.IOBase` and its three subclasses, by the indexes above.
pub fn base_class(which: usize) -> Ref<Class> {
    let all = BASES.get_or_init(|| {
        let io_base = native_class("IOBase", "io", IOBASE_METHODS);
        io_base
            .dict
            .lock()
            .insert(Arc::from("closed"), Value::Bool(false));
        let mut all = vec![io_base.clone()];
        for name in ["RawIOBase", "BufferedIOBase", "TextIOBase"] {
            all.push(native_subclass(name, "io", &io_base, STREAM_METHODS));
        }
        all
    });
    all[which.min(all.len() - 1)].clone()
}

/// `io.UnsupportedOperation: <what>`
pub fn unsupported(what: &str) -> PyErr {
    exc_of_class(extra_exc_class("UnsupportedOperation"), what.to_string())
}

fn receiver<'a>(args: &Args<'a>) -> PyResult<&'a Value> {
    args.pos
        .first()
        .ok_or_else(|| err!(TypeError, "descriptor needs an argument"))
}

fn call_method(interp: &mut Interp, obj: &Value, name: &str, args: &[Value]) -> PyResult<Value> {
    let m = interp.getattr(obj, name)?;
    interp.call(&m, args)
}

/// `ValueError: I/O operation on closed file.` if `self.closed`.
fn check_open(interp: &mut Interp, obj: &Value) -> PyResult<()> {
    let closed = interp.getattr(obj, "closed")?;
    if interp.truthy(&closed)? {
        return Err(err!(ValueError, "I/O operation on closed file."));
    }
    Ok(())
}

fn base_close(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let obj = receiver(&args)?;
    let closed = interp.getattr(obj, "closed")?;
    if interp.truthy(&closed)? {
        return Ok(Value::None);
    }
    let flushed = call_method(interp, obj, "flush", &[]);
    if let Value::Instance(inst) = obj {
        inst.dict
            .lock()
            .insert(Arc::from("closed"), Value::Bool(true));
    }
    flushed.map(|_| Value::None)
}

fn base_flush(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    check_open(interp, receiver(&args)?)?;
    Ok(Value::None)
}

fn base_enter(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let obj = receiver(&args)?;
    check_open(interp, obj)?;
    Ok(obj.clone())
}

fn base_exit(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    call_method(interp, receiver(&args)?, "close", &[])?;
    Ok(Value::None)
}

fn base_iter(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    base_enter(interp, args)
}

/// An empty str or bytes: what `readline` returns at end of file.
pub fn is_empty(v: &Value) -> bool {
    match v {
        Value::Str(s) => s.as_str().is_empty(),
        Value::Bytes(b) => b.as_bytes().is_empty(),
        _ => false,
    }
}

fn base_next(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let line = call_method(interp, receiver(&args)?, "readline", &[])?;
    if is_empty(&line) {
        return Err(PyErr::with_args(ExcKind::StopIteration, vec![]));
    }
    Ok(line)
}

/// `IOBase.readline(size=-1)`: `self.read(1)` until a newline (bytes, as CPython's IOBase).
fn base_readline(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let obj = receiver(&args)?;
    let [size] = Sig::pos("readline", Style::Positional, &["size"], 0)
        .method()
        .bind::<1>(&args)?;
    let limit = match size {
        None | Some(Value::None) => None,
        Some(v) => usize::try_from(to_index(v)?).ok(),
    };
    let mut out = Vec::new();
    while limit.is_none_or(|l| out.len() < l) {
        let b = call_method(interp, obj, "read", &[Value::Int(1)])?;
        let Some(bytes) = crate::object::bytes_like(&b) else {
            return Err(err!(
                OSError,
                "read() should have returned a bytes object, not '{}'",
                type_name(&b)
            ));
        };
        if bytes.is_empty() {
            break;
        }
        out.extend_from_slice(&bytes);
        if out.ends_with(b"\n") {
            break;
        }
    }
    Ok(Value::bytes(out))
}

fn base_readlines(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let obj = receiver(&args)?;
    let [hint] = Sig::pos("readlines", Style::Positional, &["hint"], 0)
        .method()
        .bind::<1>(&args)?;
    let hint = match hint {
        None | Some(Value::None) => 0,
        Some(v) => to_index(v)?,
    };
    let mut lines = Vec::new();
    let mut total = 0i64;
    loop {
        let line = call_method(interp, obj, "readline", &[])?;
        if is_empty(&line) {
            break;
        }
        total += crate::builtins::functions::length(interp, &line)?;
        lines.push(line);
        if hint > 0 && total >= hint {
            break;
        }
    }
    Ok(Value::list(lines))
}

fn base_writelines(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let obj = receiver(&args)?;
    let [lines] = Sig::pos("writelines", Style::One, &["lines"], 1)
        .method()
        .bind::<1>(&args)?;
    check_open(interp, obj)?;
    let lines = lines.cloned().unwrap_or(Value::None);
    for item in interp.collect_iter(&lines)? {
        call_method(interp, obj, "write", &[item])?;
    }
    Ok(Value::None)
}

fn base_false(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    check_open(interp, receiver(&args)?)?;
    Ok(Value::Bool(false))
}

fn base_isatty(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    base_false(interp, args)
}

fn base_fileno(_: &mut Interp, _: Args<'_>) -> PyResult<Value> {
    Err(unsupported("fileno"))
}

fn base_seek(_: &mut Interp, _: Args<'_>) -> PyResult<Value> {
    Err(unsupported("seek"))
}

/// `tell()`: `self.seek(0, 1)`.
fn base_tell(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    call_method(
        interp,
        receiver(&args)?,
        "seek",
        &[Value::Int(0), Value::Int(1)],
    )
}

fn base_truncate(_: &mut Interp, _: Args<'_>) -> PyResult<Value> {
    Err(unsupported("truncate"))
}

fn base_read(_: &mut Interp, _: Args<'_>) -> PyResult<Value> {
    Err(unsupported("read"))
}

fn base_write(_: &mut Interp, _: Args<'_>) -> PyResult<Value> {
    Err(unsupported("write"))
}

// ---------------------------------------------------------------------------------------------
// StringIO and BytesIO: one buffer type over chars or bytes

/// An in-memory file's contents and position (`None` once closed).
struct Buffer<T> {
    data: Vec<T>,
    pos: usize,
}

struct MemFile<T> {
    state: Mutex<Option<Buffer<T>>>,
    /// StringIO's `newline` (reading side, after the translation done when writing).
    newline: Newline,
    /// StringIO's `newline` as given (for writing).
    write_newline: Option<Newline>,
    /// BytesIO's `getbuffer()`: the bytearray the memoryview shows while it is not released.
    /// The bytes live there (copied back at each call) and the length may not change.
    export: Mutex<Option<Value>>,
    /// The line endings written so far with `newline=None` or `''` (bits `SEEN_LF`,
    /// `SEEN_CR`, `SEEN_CRLF`), which `newlines` reports as CPython's decoder does.
    seen_nl: std::sync::atomic::AtomicU8,
}

pub(crate) const SEEN_LF: u8 = 1;
pub(crate) const SEEN_CR: u8 = 2;
pub(crate) const SEEN_CRLF: u8 = 4;

/// The kinds of line ending in `text`, as bits, each write taken whole (a `\r` at its end is a
/// `\r`, as CPython's StringIO decodes each write as final).
pub(crate) fn newline_kinds(text: &str) -> u8 {
    let mut seen = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => seen |= SEEN_LF,
            '\r' if chars.peek() == Some(&'\n') => {
                chars.next();
                seen |= SEEN_CRLF;
            }
            '\r' => seen |= SEEN_CR,
            _ => {}
        }
    }
    seen
}

/// The closed-file error: CPython's StringIO says it without the final period.
fn mem_closed<T: 'static>() -> PyErr {
    if is_text::<T>() {
        err!(ValueError, "I/O operation on closed file")
    } else {
        err!(ValueError, "I/O operation on closed file.")
    }
}

fn is_text<T: 'static>() -> bool {
    std::any::TypeId::of::<T>() == std::any::TypeId::of::<char>()
}

impl<T: Copy + Default + 'static> MemFile<T> {
    fn new(data: Vec<T>, newline: Newline, write_newline: Option<Newline>) -> MemFile<T> {
        MemFile {
            state: Mutex::new(Some(Buffer { data, pos: 0 })),
            newline,
            write_newline,
            export: Mutex::new(None),
            seen_nl: std::sync::atomic::AtomicU8::new(0),
        }
    }

    /// Run `f` on the open buffer, or raise the closed-file ValueError.
    fn with<R>(&self, f: impl FnOnce(&mut Buffer<T>) -> R) -> PyResult<R> {
        let mut state = self.state.lock();
        let b = state.as_mut().ok_or_else(mem_closed::<T>)?;
        self.sync_export(b);
        Ok(f(b))
    }

    /// As [`MemFile::with`] for an operation that may change the length (write, truncate,
    /// close): CPython's `BufferError` while a `getbuffer()` view is not released.
    fn with_resize<R>(&self, f: impl FnOnce(&mut Buffer<T>) -> R) -> PyResult<R> {
        let mut state = self.state.lock();
        let b = state.as_mut().ok_or_else(mem_closed::<T>)?;
        if self.sync_export(b) {
            raise!(
                BufferError,
                "Existing exports of data: object cannot be re-sized"
            );
        }
        Ok(f(b))
    }

    /// Take back the bytes a `getbuffer()` view may have changed; forget the export once the
    /// view is released. Whether a view still shows the bytes.
    fn sync_export(&self, b: &mut Buffer<T>) -> bool {
        let mut export = self.export.lock();
        let Some(Value::ByteArray(ba)) = export.as_ref() else {
            return false;
        };
        let live = ba.is_exported();
        if let Some(data) = (&mut b.data as &mut dyn std::any::Any).downcast_mut::<Vec<u8>>() {
            let shown = ba.data.lock();
            data.clear();
            data.extend_from_slice(&shown);
        }
        if !live {
            *export = None;
        }
        live
    }
}

impl<T: Copy + Default> Buffer<T> {
    /// Write at the position (past the end pads with zeros, as CPython does).
    fn write(&mut self, items: &[T]) {
        if self.pos > self.data.len() {
            self.data.resize(self.pos, T::default());
        }
        let overlap = (self.data.len() - self.pos).min(items.len());
        self.data[self.pos..self.pos + overlap].copy_from_slice(&items[..overlap]);
        self.data.extend_from_slice(&items[overlap..]);
        self.pos += items.len();
    }

    /// The next `max` items (all when `None`).
    fn read(&mut self, max: Option<usize>) -> &[T] {
        let start = self.pos.min(self.data.len());
        let end = max.map_or(self.data.len(), |m| (start + m).min(self.data.len()));
        self.pos = end.max(self.pos);
        &self.data[start..end]
    }

    fn seek(&mut self, offset: i64, whence: i64) -> PyResult<usize> {
        let base = match whence {
            0 => 0,
            1 => self.pos as i64,
            2 => self.data.len() as i64,
            w => {
                return Err(err!(
                    ValueError,
                    "invalid whence ({w}, should be 0, 1 or 2)"
                ))
            }
        };
        let target = base + offset;
        if target < 0 {
            return Err(err!(ValueError, "negative seek value {target}"));
        }
        self.pos = target as usize;
        Ok(self.pos)
    }

    fn truncate(&mut self, size: Option<usize>) -> usize {
        let size = size.unwrap_or(self.pos);
        self.data.truncate(size);
        size
    }
}

static STRINGIO: Global<Ref<Class>> = Global::new();
static BYTESIO: Global<Ref<Class>> = Global::new();

/// The methods StringIO and BytesIO share, over items of type `T`.
fn mem_methods<T: Copy + Default + 'static>() -> [(&'static str, NativeFn); 7] {
    [
        ("tell", mem_tell::<T>),
        ("truncate", mem_truncate::<T>),
        ("close", mem_close::<T>),
        ("flush", mem_flush::<T>),
        ("readable", mem_true::<T>),
        ("writable", mem_true::<T>),
        ("seekable", mem_true::<T>),
    ]
}

/// The class `_io.<name>` over items of type `T`: its own methods and the shared ones.
fn mem_class<T: Copy + Default + 'static>(
    cell: &Global<Ref<Class>>,
    name: &str,
    base: usize,
    own: &[(&'static str, NativeFn)],
) -> Ref<Class> {
    cell.get_or_init(|| {
        let mut methods = own.to_vec();
        methods.extend(mem_methods::<T>());
        let cls = native_subclass(name, "_io", &base_class(base), &methods);
        // `closed` is computed, as CPython's getter: the instance `__dict__` stays empty
        // (`vars(io.StringIO())` is `{}`).
        let closed = crate::stdlib::sync::property(("closed", mem_is_closed::<T>));
        cls.dict.write().insert(Arc::from("closed"), closed);
        cls
    })
    .clone()
}

fn stringio_class() -> Ref<Class> {
    let cls = mem_class::<char>(
        &STRINGIO,
        "StringIO",
        TEXT_IO_BASE,
        &[
            ("__init__", sio_init),
            ("getvalue", mem_getvalue::<char>),
            ("read", mem_read::<char>),
            ("readline", sio_readline),
            ("write", sio_write),
            ("seek", sio_seek),
        ],
    );
    if !cls.dict.read().contains_key("newlines") {
        let prop = crate::stdlib::sync::property(("newlines", sio_newlines));
        cls.dict.write().insert(Arc::from("newlines"), prop);
        let prop = crate::stdlib::sync::property(("line_buffering", sio_line_buffering));
        cls.dict.write().insert(Arc::from("line_buffering"), prop);
    }
    cls
}

/// `StringIO.line_buffering`: False (a closed one raises, as CPython's).
fn sio_line_buffering(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = mem::<char>(&args)?;
    d.with(|_| Value::Bool(false))
}

/// `StringIO.newlines`: None unless `newline` was None or `''`; then the line endings written
/// so far: None, one of them, or a tuple of them (`('\r', '\n', '\r\n')`), as CPython's.
fn sio_newlines(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = mem::<char>(&args)?;
    d.with(|_| ())?;
    Ok(newlines_value(
        d.seen_nl.load(std::sync::atomic::Ordering::Relaxed),
    ))
}

/// The `newlines` attribute for the line endings `seen` (bits `SEEN_*`): None, one of them, or
/// a tuple of them in CPython's order.
pub(crate) fn newlines_value(seen: u8) -> Value {
    let s = |t: &str| Value::str(t);
    match seen {
        0 => Value::None,
        SEEN_LF => s("\n"),
        SEEN_CR => s("\r"),
        SEEN_CRLF => s("\r\n"),
        3 => Value::tuple(vec![s("\r"), s("\n")]),
        5 => Value::tuple(vec![s("\n"), s("\r\n")]),
        6 => Value::tuple(vec![s("\r"), s("\r\n")]),
        _ => Value::tuple(vec![s("\r"), s("\n"), s("\r\n")]),
    }
}

/// Record the line endings of `text` written to `d` when its `newline` is None or `''`.
fn note_newlines(d: &MemFile<char>, text: &str) {
    if matches!(
        d.write_newline,
        Some(Newline::Translate | Newline::Universal)
    ) {
        let kinds = newline_kinds(text);
        if kinds != 0 {
            d.seen_nl
                .fetch_or(kinds, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

fn bytesio_class() -> Ref<Class> {
    mem_class::<u8>(
        &BYTESIO,
        "BytesIO",
        BUFFERED_IO_BASE,
        &[
            ("__init__", bio_init),
            ("getvalue", mem_getvalue::<u8>),
            ("read", mem_read::<u8>),
            ("read1", mem_read::<u8>),
            ("getbuffer", bio_getbuffer),
            ("readinto", bio_readinto),
            ("readinto1", bio_readinto1),
            ("readline", bio_readline),
            ("write", bio_write),
            ("seek", bio_seek),
        ],
    )
}

fn class_label<T: 'static>() -> &'static str {
    if is_text::<T>() {
        "StringIO"
    } else {
        "BytesIO"
    }
}

fn mem<'a, T: 'static>(args: &Args<'a>) -> PyResult<(&'a Ref<Instance>, &'a MemFile<T>)> {
    this::<MemFile<T>>(args, class_label::<T>())
}

/// `StringIO(initial_value='', newline='\n')`
fn sio_init(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [initial, newline] = Sig::kw("StringIO", &["initial_value", "newline"], 0)
        .method()
        .bind::<2>(&args)?;
    let newline_arg = match newline {
        None => Some("\n"),
        Some(Value::None) => None,
        Some(Value::Str(s)) => Some(s.as_str()),
        Some(other) => {
            return Err(err!(
                TypeError,
                "newline must be str or None, not {}",
                type_name(other)
            ))
        }
    };
    let write_nl = Newline::parse(newline_arg).map_err(|_| {
        err!(
            ValueError,
            "illegal newline value: {}",
            crate::num::parse::str_repr(newline_arg.unwrap_or_default())
        )
    })?;
    let text = match initial {
        None | Some(Value::None) => String::new(),
        Some(Value::Str(s)) => s.as_str().to_string(),
        Some(other) => {
            return Err(err!(
                TypeError,
                "initial_value must be str or None, not {}",
                type_name(other)
            ))
        }
    };
    let read_nl = if write_nl == Newline::Translate {
        Newline::Lf
    } else {
        write_nl
    };
    let chars = sio_translate(&text, write_nl).chars().collect();
    let file = MemFile::new(chars, read_nl, Some(write_nl));
    note_newlines(&file, &text);
    init_native(interp, &args, file)
}

/// Set an in-memory file's data on a fresh instance (`__init__` again replaces nothing: CPython
/// resets the buffer, minivm keeps the first).
fn init_native<T: 'static>(_: &mut Interp, args: &Args<'_>, d: T) -> PyResult<Value> {
    match args.pos.first() {
        Some(Value::Instance(inst)) => {
            inst.set_native(Box::new(d));
            Ok(Value::None)
        }
        _ => Err(err!(TypeError, "__init__ needs an instance")),
    }
}

/// What StringIO stores for written text: with `newline=None`, `\r\n` and `\r` become `\n`.
fn sio_translate(text: &str, nl: Newline) -> Cow<'_, str> {
    match nl {
        Newline::Translate if text.contains('\r') => {
            Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
        }
        other => translate_written(text, other),
    }
}

fn opt_size(v: Option<&Value>) -> PyResult<Option<usize>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(v) => Ok(usize::try_from(to_index(v)?).ok()),
    }
}

fn sio_readline(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = mem::<char>(&args)?;
    let [size] = Sig::pos("readline", Style::Unpack, &["size"], 0)
        .method()
        .bind::<1>(&args)?;
    let size = opt_size(size)?;
    d.with(|b| {
        let start = b.pos.min(b.data.len());
        let rest: String = b.data[start..].iter().collect();
        let (_, line) = take_text(&rest, size, true, d.newline, false).unwrap_or_default();
        b.pos = start + line.chars().count();
        Value::string(line)
    })
}

fn sio_write(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = mem::<char>(&args)?;
    let [s] = Sig::pos("write", Style::One, &["s"], 1)
        .method()
        .bind::<1>(&args)?;
    let s = match s {
        Some(Value::Str(s)) => s,
        other => {
            return Err(err!(
                TypeError,
                "string argument expected, got '{}'",
                other.map_or("NoneType".into(), type_name)
            ))
        }
    };
    let nl = d.write_newline.unwrap_or(Newline::Lf);
    note_newlines(d, s.as_str());
    let text = sio_translate(s.as_str(), nl);
    // Sized once: `collect` grew it from a quarter of the length, reallocating a few times
    // for a short line (~450 of the ~700 machine instructions of a write, callgrind).
    let mut chars = Vec::with_capacity(text.len());
    chars.extend(text.chars());
    d.with(|b| b.write(&chars))?;
    Ok(Value::Int(s.char_len() as i64))
}

/// Whether `write` (the `write` attribute `print` found on its file) is a StringIO's own,
/// bound: then `print` joins its pieces and hands them to [`stringio_write`] (the same text
/// results; one call instead of one per piece, each through the interpreter: ~1,500 of the
/// ~4,000 machine instructions of `print(d, file=sio)`, callgrind on pyperformance telco).
pub fn is_stringio_write(write: &Value) -> bool {
    let Value::BoundMethod(m) = write else {
        return false;
    };
    matches!(&m.func, Value::Native(f) if f.func as usize == (sio_write as NativeFn) as usize)
}

/// `write(text)` for a `write` that [`is_stringio_write`], called directly.
pub fn stringio_write(interp: &mut Interp, write: &Value, text: Value) -> PyResult<()> {
    let Value::BoundMethod(m) = write else {
        return interp.call(write, &[text]).map(drop);
    };
    sio_write(interp, Args::new(&[m.receiver.clone(), text])).map(drop)
}

/// StringIO's seek: only `seek(n)`, `seek(0, 1)` and `seek(0, 2)`, as for text files.
fn sio_seek(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = mem::<char>(&args)?;
    let (offset, whence) = seek_args(&args)?;
    if offset < 0 && whence == 0 {
        return Err(err!(ValueError, "Negative seek position {offset}"));
    }
    if offset != 0 && whence != 0 {
        let what = if whence == 1 { "cur" } else { "end" };
        return Err(err!(OSError, "Can't do nonzero {what}-relative seeks"));
    }
    let pos = d.with(|b| b.seek(offset, whence))??;
    Ok(Value::Int(pos as i64))
}

fn seek_args(args: &Args<'_>) -> PyResult<(i64, i64)> {
    let [pos, whence] = Sig::pos("seek", Style::Unpack, &["pos", "whence"], 1)
        .method()
        .bind::<2>(args)?;
    let pos = to_index(pos.unwrap_or(&Value::Int(0)))?;
    let whence = match whence {
        Some(w) => to_index(w)?,
        None => 0,
    };
    Ok((pos, whence))
}

/// What an in-memory file holds: chars (StringIO, read as str) or bytes (BytesIO).
trait Item: Copy + Default + 'static {
    fn value(items: &[Self]) -> Value;
}

impl Item for char {
    fn value(items: &[char]) -> Value {
        Value::string(items.iter().collect::<String>())
    }
}

impl Item for u8 {
    fn value(items: &[u8]) -> Value {
        Value::bytes(items.to_vec())
    }
}

fn mem_getvalue<T: Item>(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = mem::<T>(&args)?;
    Sig::pos("getvalue", Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    d.with(|b| T::value(&b.data))
}

/// BytesIO's `readinto(b)`: the next `len(b)` bytes stored into `b`.
fn bio_readinto(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    bio_read_into(interp, args, "readinto")
}

/// BytesIO's `readinto1(b)`: as `readinto` (all the bytes are in memory).
fn bio_readinto1(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    bio_read_into(interp, args, "readinto1")
}

fn bio_read_into(interp: &mut Interp, args: Args<'_>, name: &str) -> PyResult<Value> {
    let (_, d) = mem::<u8>(&args)?;
    crate::stdlib::file::read_into_buffer(interp, "BytesIO", name, &args, &mut |_, n| {
        d.with(|b| <u8 as Item>::value(b.read(Some(n))))
    })
}

/// `read(size=-1)` (and BytesIO's `read1`).
fn mem_read<T: Item>(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = mem::<T>(&args)?;
    let [size] = Sig::pos("read", Style::Unpack, &["size"], 0)
        .method()
        .bind::<1>(&args)?;
    let size = opt_size(size)?;
    d.with(|b| T::value(b.read(size)))
}

fn mem_tell<T: Copy + Default + 'static>(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = mem::<T>(&args)?;
    Sig::pos("tell", Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    d.with(|b| Value::Int(b.pos as i64))
}

fn mem_truncate<T: Copy + Default + 'static>(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = mem::<T>(&args)?;
    let [size] = Sig::pos("truncate", Style::Unpack, &["size"], 0)
        .method()
        .bind::<1>(&args)?;
    let size = match size {
        None | Some(Value::None) => None,
        Some(v) => {
            let n = to_index(v)?;
            if n < 0 {
                return Err(err!(ValueError, "Negative size value {n}"));
            }
            Some(n as usize)
        }
    };
    d.with_resize(|b| Value::Int(b.truncate(size) as i64))
}

fn mem_close<T: Copy + Default + 'static>(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = mem::<T>(&args)?;
    Sig::pos("close", Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    if d.state.lock().is_some() {
        d.with_resize(|_| ())?;
    }
    *d.state.lock() = None;
    Ok(Value::None)
}

/// `flush()`: nothing to do; a closed BytesIO complains (a closed StringIO does not, in CPython).
fn mem_flush<T: Copy + Default + 'static>(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = mem::<T>(&args)?;
    match d.with(|_| Value::None) {
        Err(_) if is_text::<T>() => Ok(Value::None),
        r => r,
    }
}

/// `closed` of a StringIO or BytesIO.
fn mem_is_closed<T: Copy + Default + 'static>(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = mem::<T>(&args)?;
    Ok(Value::Bool(d.state.lock().is_none()))
}

fn mem_true<T: Copy + Default + 'static>(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = mem::<T>(&args)?;
    d.with(|_| Value::Bool(true))
}

/// `BytesIO(initial_bytes=b'')`
fn bio_init(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [initial] = Sig::kw("BytesIO", &["initial_bytes"], 0)
        .method()
        .bind::<1>(&args)?;
    let data = match initial {
        None | Some(Value::None) => Vec::new(),
        Some(v) => bytes_arg(v)?,
    };
    init_native(interp, &args, MemFile::new(data, Newline::Lf, None))
}

fn bytes_arg(v: &Value) -> PyResult<Vec<u8>> {
    Ok(crate::builtins::bytes_methods::arg_bytes(v)?.to_vec())
}

fn bio_readline(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = mem::<u8>(&args)?;
    let [size] = Sig::pos("readline", Style::Unpack, &["size"], 0)
        .method()
        .bind::<1>(&args)?;
    let size = opt_size(size)?;
    d.with(|b| {
        let start = b.pos.min(b.data.len());
        let rest = &b.data[start..];
        let mut n = rest
            .iter()
            .position(|&c| c == b'\n')
            .map_or(rest.len(), |i| i + 1);
        if let Some(m) = size {
            n = n.min(m);
        }
        Value::bytes(b.read(Some(n)).to_vec())
    })
}

fn bio_write(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = mem::<u8>(&args)?;
    let [v] = Sig::pos("write", Style::One, &["b"], 1)
        .method()
        .bind::<1>(&args)?;
    let bytes = bytes_arg(v.unwrap_or(&Value::None))?;
    d.with_resize(|b| b.write(&bytes))?;
    Ok(Value::Int(bytes.len() as i64))
}

/// `getbuffer()`: a writable memoryview of the contents, without copying them; while it is
/// not released the length may not change (writes, truncate and close are a `BufferError`).
fn bio_getbuffer(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = mem::<u8>(&args)?;
    Sig::pos("getbuffer", Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    let ba = d.with(|b| {
        let mut export = d.export.lock();
        export
            .get_or_insert_with(|| Value::ByteArray(Ref::new(ByteArray::new(b.data.clone()))))
            .clone()
    })?;
    Ok(crate::builtins::memoryview::view_of(ba))
}

fn bio_seek(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = mem::<u8>(&args)?;
    let (offset, whence) = seek_args(&args)?;
    if offset < 0 && whence == 0 {
        return Err(err!(ValueError, "negative seek value {offset}"));
    }
    let pos = d.with(|b| b.seek(offset, whence))??;
    Ok(Value::Int(pos as i64))
}

// ---------------------------------------------------------------------------------------------
// The module

pub fn module() -> Ref<Module> {
    let text_wrapper = crate::stdlib::file::file_class(crate::stdlib::file::FileKind::Text);
    let kinds = [
        ("BufferedReader", crate::stdlib::file::FileKind::Reader),
        ("BufferedWriter", crate::stdlib::file::FileKind::Writer),
        ("BufferedRandom", crate::stdlib::file::FileKind::Random),
        ("FileIO", crate::stdlib::file::FileKind::Raw),
    ];
    let mut items = vec![
        ("IOBase", Value::Class(base_class(IO_BASE))),
        ("RawIOBase", Value::Class(base_class(RAW_IO_BASE))),
        ("BufferedIOBase", Value::Class(base_class(BUFFERED_IO_BASE))),
        ("TextIOBase", Value::Class(base_class(TEXT_IO_BASE))),
        ("StringIO", Value::Class(stringio_class())),
        ("BytesIO", Value::Class(bytesio_class())),
        ("TextIOWrapper", Value::Class(text_wrapper)),
        (
            "UnsupportedOperation",
            Value::Class(extra_exc_class("UnsupportedOperation")),
        ),
        ("open", crate::stdlib::file::open_function()),
        (
            "BlockingIOError",
            Value::Class(
                crate::object::types()
                    .exc(crate::object::ExcKind::BlockingIOError)
                    .clone(),
            ),
        ),
        (
            "text_encoding",
            crate::stdlib::func("text_encoding", text_encoding),
        ),
        ("DEFAULT_BUFFER_SIZE", Value::Int(8192)),
        ("SEEK_SET", Value::Int(0)),
        ("SEEK_CUR", Value::Int(1)),
        ("SEEK_END", Value::Int(2)),
    ];
    for (name, kind) in kinds {
        items.push((name, Value::Class(crate::stdlib::file::file_class(kind))));
    }
    make_module("io", items)
}

/// `io.text_encoding(encoding, stacklevel=2)`: the encoding an `open()` wrapper should pass on:
/// `encoding` itself, or `"locale"` for None (minivm has no UTF-8 mode or EncodingWarning).
fn text_encoding(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [encoding, _stacklevel] =
        crate::builtins::args::Sig::py("text_encoding", &["encoding", "stacklevel"], 1)
            .bind::<2>(&args)?;
    Ok(match encoding {
        None | Some(Value::None) => Value::str("locale"),
        Some(v) => v.clone(),
    })
}
