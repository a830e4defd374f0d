//! File objects (stage: standard library): `open()`, the standard streams `sys.stdout`,
//! `sys.stderr` and pipes wrapped for `subprocess` and `socket.makefile`. One Rust type serves
//! CPython's five classes: `_io.TextIOWrapper` (text: str in and out, an encoding, newline
//! handling), `_io.BufferedReader`/`BufferedWriter`/`BufferedRandom` (binary: bytes) and
//! `_io.FileIO` (binary and unbuffered: `buffering=0`).
//! Every read and write of the OS is made with the GIL released.
//!
//! Writes go straight to the OS (no write buffer), so nothing is lost when a program never closes
//! a file; a program that reads a file it is still writing sees the data earlier than CPython would.
//! `sys.stdout` is the exception: it writes into the interpreter's buffered stdout, as `print` does.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};
use rustix::net::sockopt;

use crate::builtins::args::{to_index, Sig, Style};
use crate::builtins::codecs::{self, Encoding};
use crate::error::PyErr;
use crate::heap::{Global, Ref};
use crate::interp::{Args, Interp};
use crate::object::{type_name, Class, ExcKind, Instance};
use crate::stdlib::io::{self as pyio, Newline};
use crate::stdlib::os::{os_error, py_str_repr};
use crate::stdlib::this;
use crate::value::Value;
use crate::{err, PyResult};

/// Bytes asked of the OS per read (CPython's `TextIOWrapper` chunk size, which decides where a
/// write lands after reads in `r+` mode).
const CHUNK: usize = 8192;

/// Where a file object's bytes go.
enum Backend {
    /// A file, pipe or socket descriptor of our own.
    Os(File),
    /// The interpreter's buffered standard output (text only).
    Stdout,
    /// The process's standard error (text only, unbuffered).
    Stderr,
}

struct FileState {
    /// `None` once closed.
    backend: Option<Backend>,
    /// Bytes read ahead: for a binary file, not yet returned; for a text file, not yet decoded
    /// (the start of a character whose other bytes have not arrived).
    raw: Vec<u8>,
    /// Text decoded and not yet returned (newlines not yet translated).
    pending: String,
    /// The OS reported end of file.
    eof: bool,
    /// `detach()` handed the stream's `buffer` to the program: every operation is an error.
    detached: bool,
    /// `sys.stdin` and its buffer: a duplicate of descriptor 0 that `fileno()` reports as 0,
    /// made to name what descriptor 0 names before each read (`follow_stdin`).
    stdin: bool,
    /// Whether the descriptor is a FIFO, pipe or character device (a read of it can wait):
    /// asked of the OS once, at the first read that needs it, since a descriptor's file type
    /// never changes; `sys.stdin`, which follows descriptor 0, asks before each read.
    pollable: Option<bool>,
    /// The encoding the bytes read next are in, once the start of the stream has been seen:
    /// `utf-16`, `utf-32` and `utf-8-sig` files begin with a BOM, which decides it (`None`
    /// until then, and again after `seek(0)`).
    decoder: Option<Encoding>,
    /// The next write starts with the encoding's BOM: a text file whose encoding has one, opened
    /// at position 0 (or sought back there), that has not written it yet.
    write_bom: bool,
    /// The line endings decoded so far (bits `pyio::SEEN_*`) by a text file reading with
    /// universal newlines (`newline` None or `''`): its `newlines` attribute. As CPython's
    /// decoder, it counts what was decoded (a whole chunk read ahead), not what was returned.
    seen_nl: u8,
    /// The text decoded last ended with `\r` before the end of the file: whether it is a `\r`
    /// or the start of a `\r\n` is decided by what comes next.
    cr_tail: bool,
}

/// How a text file turns bytes into str.
struct TextOpts {
    encoding: Encoding,
    errors: String,
    newline: Newline,
}

/// The attributes CPython's file objects compute rather than keep in their `__dict__`
/// (`vars(open(p))` is `{'mode': 'r'}`), served by the classes' properties.
struct Shown {
    name: Value,
    mode: Value,
    /// A text file's `encoding` (as given, or the locale's name).
    encoding: Value,
    line_buffering: bool,
    write_through: bool,
    /// A standard stream's `buffer`; None for other files (they have no separate one).
    buffer: Value,
}

/// Rust data of a file object.
pub struct FileData {
    /// `None` for a binary file.
    text: Option<TextOpts>,
    readable: bool,
    writable: bool,
    state: Mutex<FileState>,
    /// A file to remove when this one is closed (`NamedTemporaryFile(delete=True)`).
    delete_path: Mutex<Option<String>>,
    /// An unbuffered binary file (`FileIO`): no read-ahead, and CPython's `FileIO` messages.
    unbuffered: bool,
    shown: Mutex<Shown>,
    /// `closed`, and the `newlines` bits of `FileState::seen_nl`, readable without the state's
    /// lock (which a thread blocked in a read holds, as CPython reads them without waiting).
    closed: AtomicBool,
    seen_nl: AtomicU8,
}

impl FileData {
    /// Make the line endings `st` has seen what `newlines` reports.
    fn publish_newlines(&self, st: &FileState) {
        self.seen_nl.store(st.seen_nl, Ordering::Relaxed);
    }
}

/// The class of a file object, which follows from its mode, as CPython's `open` picks it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Text,
    /// Binary, read only.
    Reader,
    /// Binary, write or append only.
    Writer,
    /// Binary, reading and writing (`+`).
    Random,
    /// Binary and unbuffered (`open(..., buffering=0)`, `io.FileIO`): every read is one read
    /// of the OS, nothing is read ahead.
    Raw,
}

impl FileKind {
    fn class_name(self) -> &'static str {
        match self {
            FileKind::Text => "TextIOWrapper",
            FileKind::Reader => "BufferedReader",
            FileKind::Writer => "BufferedWriter",
            FileKind::Random => "BufferedRandom",
            FileKind::Raw => "FileIO",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading and decoding

impl FileState {
    /// Read at most `size` bytes from the OS into `raw` (one read; GIL released). Returns the
    /// number of bytes read (0 at end of file).
    ///
    /// `interrupt` (the main thread's `Vm::interrupted`): a read that could block (stdin, a
    /// pipe, a FIFO, a terminal) first waits for data, and gives up with `ErrorKind::Interrupted`
    /// when a signal is pending or arrives before the read ([`fill_os`] then runs its handler
    /// and reads again), as CPython's read fails with EINTR and runs the handler. minivm's
    /// handlers restart the read system call itself (`SA_RESTART`), so it cannot wait in it.
    fn fill_raw_upto(
        &mut self,
        size: usize,
        interrupt: Option<&AtomicBool>,
    ) -> std::io::Result<usize> {
        self.follow_stdin()?;
        let Some(Backend::Os(file)) = self.backend.as_mut() else {
            self.eof = true;
            return Ok(0);
        };
        let pollable = match self.pollable {
            Some(p) if !self.stdin => p,
            _ => *self.pollable.insert(pollable(file)),
        };
        let waits = || pollable && !nonblocking(file);
        if let Some(flag) = interrupt.filter(|_| waits()) {
            let signalled = || flag.load(Ordering::SeqCst);
            if signalled() {
                return Err(std::io::ErrorKind::Interrupted.into());
            }
            let mut fds = [libc::pollfd {
                fd: file.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            // It returns when there is data or the flag went up (no timeout); an error (a
            // descriptor that cannot be polled) is left to the read. A signal that came with
            // the data has had its handler run when poll(2) returned: it goes first, as
            // CPython's check right after the read would run it before the next line.
            let _ = crate::stdlib::select::poll_fds(&mut fds, None, interrupt);
            if signalled() {
                return Err(std::io::ErrorKind::Interrupted.into());
            }
        }
        let mut buf = vec![0u8; size];
        let n = loop {
            match file.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            self.eof = true;
        }
        self.raw.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    /// Decode what `raw` holds into `pending`, leaving an incomplete last character in `raw`
    /// until more bytes arrive (or decoding it as an error at end of file).
    fn decode(&mut self, opts: &TextOpts) -> PyResult<()> {
        let before = self.pending.len();
        let r = self.decode_raw(opts);
        if matches!(opts.newline, Newline::Translate | Newline::Universal) {
            self.note_newlines(before);
        }
        r
    }

    /// Count the line endings of the text `decode` added to `pending` from byte `from` on.
    fn note_newlines(&mut self, from: usize) {
        let Some(new) = self.pending.get(from..) else {
            return;
        };
        let mut text = String::new();
        if self.cr_tail {
            text.push('\r');
        }
        text.push_str(new);
        self.cr_tail = !self.eof && text.ends_with('\r');
        if self.cr_tail {
            text.pop();
        }
        self.seen_nl |= pyio::newline_kinds(&text);
    }

    fn decode_raw(&mut self, opts: &TextOpts) -> PyResult<()> {
        // The first bytes are decoded with their BOM, by the encoding the file was opened with,
        // so that an error's position counts from the start of the file as in CPython; the
        // rest in the byte order the BOM gave.
        let (enc, codec) = match self.decoder {
            Some(enc) => (enc, enc),
            None => match codecs::detect_bom(&self.raw, opts.encoding, self.eof)? {
                None => return Ok(()),
                Some((enc, _)) => {
                    self.decoder = Some(enc);
                    (enc, opts.encoding)
                }
            },
        };
        let take = match self.eof {
            true => self.raw.len(),
            false => self.raw.len() - codecs::incomplete_tail(&self.raw, enc),
        };
        if take == 0 {
            if codec != enc {
                self.decoder = None;
            }
            return Ok(());
        }
        let text = codecs::decode(&self.raw[..take], codec, &opts.errors)
            .map_err(|e| in_frozen_codecs(e, codec))?;
        self.pending.push_str(&text);
        self.raw.drain(..take);
        Ok(())
    }

    /// Take up to `max` characters (a line, if `line`), ending lines as `newline` says.
    /// `None` when more data must be read first to decide.
    fn extract(&mut self, max: Option<usize>, line: bool, newline: Newline) -> Option<String> {
        let (end, out) = pyio::take_text(&self.pending, max, line, newline, !self.eof)?;
        self.pending.drain(..end);
        Some(out)
    }

    /// Take up to `max` bytes (a line, if `line`). `None` when more data must be read first.
    fn extract_bytes(&mut self, max: Option<usize>, line: bool) -> Option<Vec<u8>> {
        let avail = self.raw.len();
        let limit = max.unwrap_or(usize::MAX);
        let newline = || self.raw.iter().take(limit).position(|&b| b == b'\n');
        let end = match (line, line.then(newline).flatten()) {
            (true, Some(i)) => i + 1,
            _ if avail >= limit => limit,
            _ if self.eof => avail,
            _ => return None,
        };
        Some(self.raw.drain(..end).collect())
    }

    /// Bytes read from the OS and not yet given to the program.
    fn ahead(&self, text: Option<&TextOpts>) -> u64 {
        let decoded = match text {
            Some(t) => self.decoder.unwrap_or(t.encoding).byte_len(&self.pending),
            None => 0,
        };
        (self.raw.len() + decoded) as u64
    }

    /// Forget read-ahead data, moving the OS position back to what the program has consumed.
    fn unread(&mut self, text: Option<&TextOpts>) -> std::io::Result<()> {
        let ahead = self.ahead(text) as i64;
        if ahead > 0 {
            if let Some(Backend::Os(f)) = self.backend.as_mut() {
                f.seek(SeekFrom::Current(-ahead))?;
            }
        }
        self.drop_ahead();
        Ok(())
    }

    fn drop_ahead(&mut self) {
        self.pending.clear();
        self.raw.clear();
        self.eof = false;
    }

    /// `sys.stdin` (and its buffer) reads through a duplicate of descriptor 0: make that name
    /// whatever descriptor 0 names now, as CPython's `sys.stdin` reads descriptor 0 itself. A
    /// program may have moved it since (`os.dup2(r, 0)`, or `os.close(0)` and an `open` that
    /// took 0) to read a pipe or a file through `input()`. Closed: EBADF, as CPython's read.
    fn follow_stdin(&mut self) -> std::io::Result<()> {
        if !self.stdin {
            return Ok(());
        }
        match self.backend.take() {
            Some(Backend::Os(file)) => {
                let mut fd = OwnedFd::from(file);
                let r = rustix::io::dup3(
                    rustix::stdio::stdin(),
                    &mut fd,
                    rustix::io::DupFlags::CLOEXEC,
                );
                self.backend = Some(Backend::Os(File::from(fd)));
                r.map_err(std::io::Error::from)
            }
            other => {
                self.backend = other;
                Ok(())
            }
        }
    }

    fn os_file(&mut self) -> Option<&mut File> {
        match self.backend.as_mut() {
            Some(Backend::Os(f)) => Some(f),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The classes

static CLASSES: Global<Vec<Ref<Class>>> = Global::new();

const METHODS: &[(&str, crate::object::NativeFn)] = &[
    ("read", f_read),
    ("read1", f_read1),
    ("readline", f_readline),
    ("write", f_write),
    ("close", f_close),
    ("detach", f_detach),
    ("flush", f_flush),
    ("seek", f_seek),
    ("tell", f_tell),
    ("truncate", f_truncate),
    ("fileno", f_fileno),
    ("isatty", f_isatty),
    ("readable", f_readable),
    ("writable", f_writable),
    ("seekable", f_seekable),
    ("__iter__", f_iter),
    ("__next__", f_next),
    ("__enter__", f_enter),
    ("__exit__", f_exit),
    ("__repr__", f_repr),
    ("__new__", f_new),
    ("__init__", f_init),
];

/// Methods only text files have (`hasattr(f, 'reconfigure')` is False for a binary one).
const TEXT_METHODS: &[(&str, crate::object::NativeFn)] = &[("reconfigure", f_reconfigure)];

/// Methods only binary files have.
const BINARY_METHODS: &[(&str, crate::object::NativeFn)] =
    &[("readinto", f_readinto), ("readinto1", f_readinto1)];

/// The methods of `FileIO`: `read1`/`readinto1` belong to the buffered classes only.
const RAW_METHODS: &[(&str, crate::object::NativeFn)] =
    &[("readinto", f_readinto), ("readall", f_readall)];

/// The class `_io.<kind>` (made once, with the io base class CPython registers it under).
pub fn file_class(kind: FileKind) -> Ref<Class> {
    let all = CLASSES.get_or_init(|| {
        [
            FileKind::Text,
            FileKind::Reader,
            FileKind::Writer,
            FileKind::Random,
            FileKind::Raw,
        ]
        .iter()
        .map(|k| {
            let (base, own) = match k {
                FileKind::Text => (pyio::TEXT_IO_BASE, TEXT_METHODS),
                FileKind::Raw => (pyio::RAW_IO_BASE, RAW_METHODS),
                _ => (pyio::BUFFERED_IO_BASE, BINARY_METHODS),
            };
            let methods: Vec<_> = METHODS
                .iter()
                .filter(|(name, _)| *k != FileKind::Raw || !matches!(*name, "read1" | "detach"))
                .chain(own)
                .copied()
                .collect();
            let cls = crate::stdlib::native_subclass(
                k.class_name(),
                "_io",
                &pyio::base_class(base),
                &methods,
            );
            let props: &[(&str, crate::object::NativeFn)] = match k {
                FileKind::Text => &[
                    ("name", p_name),
                    ("encoding", p_encoding),
                    ("errors", p_errors),
                    ("line_buffering", p_line_buffering),
                    ("write_through", p_write_through),
                    ("buffer", p_buffer),
                    ("newlines", p_newlines),
                    ("closed", p_closed),
                ],
                FileKind::Raw => &[
                    ("mode", p_mode),
                    ("closefd", p_closefd),
                    ("closed", p_closed),
                ],
                _ => &[("name", p_name), ("mode", p_mode), ("closed", p_closed)],
            };
            {
                let mut dict = cls.dict.write();
                for &(name, get) in props {
                    dict.insert(Arc::from(name), crate::stdlib::sync::property((name, get)));
                }
            }
            cls
        })
        .collect()
    });
    let i = kind as usize;
    all[i].clone()
}

// The computed attributes (properties of the file classes).

fn p_name(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(data(&args)?.1.shown.lock().name.clone())
}

fn p_mode(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(data(&args)?.1.shown.lock().mode.clone())
}

fn p_encoding(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(data(&args)?.1.shown.lock().encoding.clone())
}

fn p_errors(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    Ok(d.text
        .as_ref()
        .map_or(Value::None, |t| Value::str(&t.errors)))
}

fn p_line_buffering(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::Bool(data(&args)?.1.shown.lock().line_buffering))
}

fn p_write_through(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::Bool(data(&args)?.1.shown.lock().write_through))
}

/// `buffer`: only the standard streams have one in minivm (a file `open()` made reads and
/// writes the OS itself), so elsewhere the attribute is missing.
fn p_buffer(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, d) = data(&args)?;
    let buffer = d.shown.lock().buffer.clone();
    if buffer.is_none() {
        return Err(err!(
            AttributeError,
            "'{}.{}' object has no attribute 'buffer'",
            inst.class.module,
            inst.class.name()
        ));
    }
    Ok(buffer)
}

fn p_closefd(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    data(&args)?;
    Ok(Value::Bool(true))
}

fn p_closed(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::Bool(data(&args)?.1.closed.load(Ordering::Relaxed)))
}

/// `newlines`: the line endings read so far with universal newlines, else None.
fn p_newlines(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    Ok(pyio::newlines_value(d.seen_nl.load(Ordering::Relaxed)))
}

fn closed_error() -> PyErr {
    err!(ValueError, "I/O operation on closed file.")
}

/// The receiver's data (any of the four classes).
fn data<'a>(args: &Args<'a>) -> PyResult<(&'a Ref<Instance>, &'a FileData)> {
    this::<FileData>(args, "_io._IOBase")
}

/// Lock a file's state without ever blocking while holding the GIL: if another thread has it
/// (it may be blocked in a read with the GIL released), wait for it with the GIL released. If
/// this thread has it (a signal handler running in the middle of a read of this file, see
/// [`fill_os`]), it is CPython's `RuntimeError: reentrant call inside <_io.BufferedReader ...>`
/// rather than a wait that would never end.
fn lock<'a>(interp: &mut Interp, d: &'a FileData) -> PyResult<MutexGuard<'a, FileState>> {
    loop {
        if let Some(g) = d.state.try_lock() {
            return Ok(g);
        }
        if HeldInHandler::holds(d.state.data_ptr()) {
            return Err(reentrant_call(interp, d));
        }
        // A guard cannot cross threads: wait until the holder is done, then try again.
        // (Noted: a forked child removes this thread from the lock's queue.) Only the state
        // crosses: the rest of the file's data holds values, which stay with the GIL.
        let state = &d.state;
        interp.allow_threads(|| {
            let _note = crate::heap::fork::note_queue(state);
            drop(state.lock());
        });
    }
}

/// The file states whose lock this thread holds while it runs Python signal handlers in the
/// middle of a read (innermost last): a handler that uses the same file finds its state here.
struct HeldInHandler;

thread_local! {
    static HELD_IN_HANDLER: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl HeldInHandler {
    /// Note `st` as held until the returned mark is dropped.
    fn mark(st: &FileState) -> HeldInHandler {
        let at = st as *const FileState as usize;
        HELD_IN_HANDLER.with(|h| h.borrow_mut().push(at));
        HeldInHandler
    }

    fn holds(st: *const FileState) -> bool {
        HELD_IN_HANDLER.with(|h| h.borrow().contains(&(st as usize)))
    }
}

impl Drop for HeldInHandler {
    fn drop(&mut self) {
        HELD_IN_HANDLER.with(|h| h.borrow_mut().pop());
    }
}

/// CPython's error for a buffered file used again by the thread already inside one of its
/// methods: `reentrant call inside <_io.BufferedReader name='<stdin>'>` (a text file names the
/// buffer under it). CPython's unbuffered `FileIO` has no lock and would read; minivm's shares
/// the same state and says this too (docs/LANGUAGE.md).
fn reentrant_call(interp: &mut Interp, d: &FileData) -> PyErr {
    let class = match (d.unbuffered, d.readable, d.writable) {
        (true, ..) => "FileIO",
        (false, true, true) => "BufferedRandom",
        (false, true, false) => "BufferedReader",
        (false, false, _) => "BufferedWriter",
    };
    let name = d.shown.lock().name.clone();
    let name = interp.repr(&name).unwrap_or_else(|_| "?".to_string());
    err!(
        RuntimeError,
        "reentrant call inside <_io.{class} name={name}>"
    )
}

/// The open state, or `ValueError: I/O operation on closed file.`
fn open_state<'a>(interp: &mut Interp, d: &'a FileData) -> PyResult<MutexGuard<'a, FileState>> {
    let st = lock(interp, d)?;
    if st.detached {
        return Err(err!(ValueError, "underlying buffer has been detached"));
    }
    if st.backend.is_none() {
        return Err(match d.unbuffered {
            // CPython's FileIO words it without the final period.
            true => err!(ValueError, "I/O operation on closed file"),
            false => closed_error(),
        });
    }
    Ok(st)
}

/// Read one more chunk from the OS (GIL released), decoding it for a text file.
fn fill(interp: &mut Interp, d: &FileData, st: &mut FileState) -> PyResult<()> {
    fill_os(interp, st, CHUNK)?;
    match &d.text {
        Some(opts) => {
            let r = st.decode(opts);
            d.publish_newlines(st);
            r
        }
        None => Ok(()),
    }
}

/// Read at most `size` bytes from the OS into `st.raw` with the GIL released: the number read
/// (0 at end of file). In the main thread a signal that comes while the read waits for data
/// runs its handler (Ctrl-C: `KeyboardInterrupt` out of the read, nothing read), then the read
/// goes on, as CPython retries a read after EINTR once the handlers have run (PEP 475).
fn fill_os(interp: &mut Interp, st: &mut FileState, size: usize) -> PyResult<usize> {
    let vm = interp.vm.clone();
    let interrupt = interp.is_main.then_some(&vm.interrupted);
    loop {
        match interp.allow_threads(|| st.fill_raw_upto(size, interrupt)) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                // The handlers run with this file's state locked: one that uses the file gets
                // `reentrant_call`'s error instead of waiting for this read.
                let _held = HeldInHandler::mark(st);
                interp.check_interrupt()?
            }
            r => return r.map_err(|e| read_error(st, &e)),
        }
    }
}

/// Whether `file` is of a kind whose reads can wait for data: a pipe, FIFO, terminal or other
/// character device. Not a regular file (never waits) or a socket (`socket.makefile`: its
/// receive timeout applies to the read, not to a poll).
fn pollable(file: &File) -> bool {
    use rustix::fs::{fstat, FileType};
    fstat(file).is_ok_and(|st| {
        matches!(
            FileType::from_raw_mode(st.st_mode),
            FileType::Fifo | FileType::CharacterDevice
        )
    })
}

/// Whether `file` is in non-blocking mode (its read fails at once with EAGAIN, as the program
/// asked, so it is not polled first). Asked before each read: `os.set_blocking` can change it.
fn nonblocking(file: &File) -> bool {
    use rustix::fs::{fcntl_getfl, OFlags};
    fcntl_getfl(file).map_or(true, |fl| fl.contains(OFlags::NONBLOCK))
}

/// A failed read from the OS as an exception. A socket's file (`socket.makefile`) whose socket
/// has a timeout gets `EAGAIN` when the kernel's receive timeout passes: CPython's socket file
/// raises `TimeoutError: timed out` there, as `recv` does.
fn read_error(st: &mut FileState, e: &std::io::Error) -> PyErr {
    if e.kind() == std::io::ErrorKind::WouldBlock {
        let timeout = st
            .os_file()
            .and_then(|f| sockopt::socket_timeout(&*f, sockopt::Timeout::Recv).ok());
        if timeout.flatten().is_some() {
            return err!(TimeoutError, "timed out");
        }
    }
    os_error(e, None)
}

/// `io.UnsupportedOperation` for a method the file's mode does not allow: text files say
/// `not readable`/`not writable`, binary ones name the method, as CPython's classes do.
fn check_access(d: &FileData, allowed: bool, method: &str) -> PyResult<()> {
    if allowed {
        return Ok(());
    }
    if d.unbuffered {
        let what = match method {
            "write" | "truncate" => "writing",
            _ => "reading",
        };
        return Err(pyio::unsupported(&format!("File not open for {what}")));
    }
    Err(match (&d.text, method) {
        (Some(_), "read") => pyio::unsupported("not readable"),
        (Some(_), "write") => pyio::unsupported("not writable"),
        _ => pyio::unsupported(method),
    })
}

/// Read `max` characters or bytes (or a line), filling as needed: a str or bytes value.
fn read_value(
    interp: &mut Interp,
    d: &FileData,
    max: Option<usize>,
    line: bool,
) -> PyResult<Value> {
    let mut st = open_state(interp, d)?;
    check_access(d, d.readable, "read")?;
    if d.unbuffered {
        return read_unbuffered(interp, &mut st, max, line);
    }
    if let (Some(opts), None, false) = (&d.text, max, line) {
        // `read()` of a text file: the rest of the file decoded in one piece, as CPython's
        // TextIOWrapper.read() does, so a decoding error's position counts from where this read
        // began (`caf\xe9` read whole: `position 3: unexpected end of data`), not from the
        // chunk the OS gave last.
        let fs: &mut FileState = &mut st;
        while !fs.eof {
            fill_os(interp, fs, CHUNK)?;
        }
        let r = fs.decode(opts);
        d.publish_newlines(fs);
        r?;
    }
    loop {
        let got = match &d.text {
            Some(opts) => st.extract(max, line, opts.newline).map(Value::string),
            None => st.extract_bytes(max, line).map(Value::bytes),
        };
        if let Some(v) = got {
            if st.raw.is_empty() && st.pending.is_empty() {
                // All given out: the next read asks the OS again (the file may have grown).
                st.eof = false;
            }
            return Ok(v);
        }
        fill(interp, d, &mut st)?;
    }
}

/// A read of a `FileIO`: `read(n)` is one read of the OS for at most `n` bytes, `read()` reads
/// to the end, `readline` reads a byte at a time (as CPython's `RawIOBase.readline`), so that the
/// descriptor's position is always where the program's reading stopped.
fn read_unbuffered(
    interp: &mut Interp,
    st: &mut FileState,
    max: Option<usize>,
    line: bool,
) -> PyResult<Value> {
    let mut out = Vec::new();
    loop {
        let want = match (line, max) {
            (true, Some(m)) if out.len() >= m => break,
            (true, _) if out.last() == Some(&b'\n') => break,
            (true, _) => 1,
            (false, Some(m)) => m,
            (false, None) => CHUNK,
        };
        if want == 0 {
            break;
        }
        let n = fill_os(interp, st, want)?;
        out.append(&mut st.raw);
        if n == 0 || (!line && max.is_some()) {
            break;
        }
    }
    st.eof = false;
    Ok(Value::bytes(out))
}

/// `readall()` of a `FileIO`: everything up to the end of the file.
fn f_readall(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    Sig::pos("readall", Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    read_value(interp, d, None, false)
}

/// A size argument: `None` or negative means "all".
fn size_arg(v: Option<&Value>) -> PyResult<Option<usize>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(v) => Ok(usize::try_from(to_index(v)?).ok()),
    }
}

/// `read`'s size argument, whose TypeError CPython words differently.
fn read_size_arg(v: Option<&Value>) -> PyResult<Option<usize>> {
    match v {
        Some(v @ (Value::Str(_) | Value::Float(_) | Value::Bytes(_) | Value::List(_))) => {
            Err(err!(
                TypeError,
                "argument should be integer or None, not '{}'",
                type_name(v)
            ))
        }
        v => size_arg(v),
    }
}

fn f_read(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    let [size] = Sig::pos("read", Style::Positional, &["size"], 0)
        .method()
        .bind::<1>(&args)?;
    read_value(interp, d, read_size_arg(size)?, false)
}

/// `read1(size=-1)` of a binary file: at most one read of the OS.
fn f_read1(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    let [size] = Sig::pos("read1", Style::Positional, &["size"], 0)
        .method()
        .bind::<1>(&args)?;
    if d.text.is_some() {
        return Err(err!(
            AttributeError,
            "'_io.TextIOWrapper' object has no attribute 'read1'"
        ));
    }
    let max = size_arg(size)?;
    let mut st = open_state(interp, d)?;
    check_access(d, d.readable, "read1")?;
    if st.raw.is_empty() && max != Some(0) {
        fill(interp, d, &mut st)?;
    }
    let n = max.map_or(st.raw.len(), |m| m.min(st.raw.len()));
    Ok(Value::bytes(st.raw.drain(..n).collect()))
}

/// `readinto(b)` of a binary file: read up to `len(b)` bytes into the writable buffer `b`
/// (a bytearray, a memoryview, an array...) and return how many were read; 0 at the end.
fn f_readinto(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    read_into(interp, args, "readinto")
}

/// `readinto1(b)`: as `readinto`, with at most one read of the OS (as `read1`).
fn f_readinto1(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    read_into(interp, args, "readinto1")
}

fn read_into(interp: &mut Interp, args: Args<'_>, name: &str) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    if d.text.is_some() {
        return Err(err!(
            AttributeError,
            "'_io.TextIOWrapper' object has no attribute '{name}'"
        ));
    }
    // The C class the method belongs to, plainly named: `BufferedReader.readinto()`.
    let owner = args.pos.first().map_or_else(String::new, |f| {
        let cls = crate::object::class_of(f);
        let mro = crate::object::Class::mro(&cls);
        mro.iter()
            .find(|c| c.builtin)
            .map_or_else(|| cls.name().to_string(), |c| c.name().to_string())
    });
    read_into_buffer(interp, &owner, name, &args, &mut |interp, wanted| {
        if name == "readinto1" {
            let one = [args.pos[0].clone(), Value::Int(wanted as i64)];
            f_read1(interp, Args::new(&one))
        } else {
            read_value(interp, d, Some(wanted), false)
        }
    })
}

/// The work of every `readinto`: its one argument `buffer` taken from the method's `args`,
/// `read(n)` through `read` for the `n` bytes the buffer holds, the bytes stored at the start of
/// `buffer`, how many returned. `owner` names the class in the argument-count message
/// (`BytesIO.readinto() takes exactly one argument (0 given)`, as CPython's C methods say it).
/// The buffer must be writable bytes: a bytearray, a memoryview of one, or an `array.array`
/// (checked before reading, so a wrong argument loses no data).
pub(crate) fn read_into_buffer(
    interp: &mut Interp,
    owner: &str,
    name: &str,
    args: &Args<'_>,
    read: &mut dyn FnMut(&mut Interp, usize) -> PyResult<Value>,
) -> PyResult<Value> {
    if !args.kw.is_empty() {
        return Err(err!(
            TypeError,
            "{owner}.{name}() takes no keyword arguments"
        ));
    }
    let given = args.pos.len().saturating_sub(1);
    let (1, Some(buffer)) = (given, args.pos.get(1)) else {
        return Err(err!(
            TypeError,
            "{owner}.{name}() takes exactly one argument ({given} given)"
        ));
    };
    let not_writable = || {
        err!(
            TypeError,
            "{name}() argument must be read-write bytes-like object, not {}",
            type_name(buffer)
        )
    };
    let array = crate::stdlib::array::array_class();
    let is_array = matches!(buffer, Value::Instance(i) if i.class.is_subclass(&array));
    let mut is_view = false;
    let wanted = match buffer {
        Value::ByteArray(b) => b.data.read().len(),
        Value::Instance(i) if is_array => {
            let bytes = call_method(interp, &Value::Instance(i.clone()), "tobytes", &[])?;
            crate::object::bytes_like(&bytes).map_or(0, |b| b.len())
        }
        Value::Instance(i) => match crate::builtins::memoryview::writable_len(i) {
            Some(n) => {
                is_view = true;
                n
            }
            None => return Err(not_writable()),
        },
        _ => return Err(not_writable()),
    };
    let got = read(interp, wanted)?;
    let n = match &got {
        Value::Bytes(b) => b.as_bytes().len(),
        _ => return Err(err!(TypeError, "{name}(): the stream read no bytes object")),
    };
    if is_array {
        // An array takes whole items: its bytes with the start replaced, made into items again.
        let old = call_method(interp, buffer, "tobytes", &[])?;
        let mut all = crate::object::bytes_like(&old).map_or_else(Vec::new, |b| b.into_owned());
        if let (Some(dst), Some(src)) = (all.get_mut(..n), crate::object::bytes_like(&got)) {
            dst.copy_from_slice(&src);
        }
        let typecode = interp.getattr(buffer, "typecode")?;
        let items = interp.call(&Value::Class(array), &[typecode])?;
        call_method(interp, &items, "frombytes", &[Value::bytes(all)])?;
        let whole = Value::Slice(Ref::new(crate::object::Slice {
            start: Value::None,
            stop: Value::None,
            step: Value::None,
        }));
        interp.setitem(buffer, whole, items)?;
        return Ok(Value::Int(n as i64));
    }
    if is_view {
        // The bytes go in as bytes, whatever the view's item format (`cast('i')`...).
        let data = crate::object::bytes_like(&got).unwrap_or_default();
        crate::builtins::memoryview::write_buffer(buffer, 0, &data)?;
        return Ok(Value::Int(n as i64));
    }
    let slice = Value::Slice(Ref::new(crate::object::Slice {
        start: Value::Int(0),
        stop: Value::Int(n as i64),
        step: Value::None,
    }));
    interp.setitem(buffer, slice, got)?;
    Ok(Value::Int(n as i64))
}

/// `obj.name(*args)`.
fn call_method(interp: &mut Interp, obj: &Value, name: &str, args: &[Value]) -> PyResult<Value> {
    let method = interp.getattr(obj, name)?;
    interp.call(&method, args)
}

fn f_readline(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    let [size] = Sig::pos("readline", Style::Positional, &["size"], 0)
        .method()
        .bind::<1>(&args)?;
    read_value(interp, d, size_arg(size)?, true)
}

/// Write bytes at the program's position (after any read-ahead), GIL released; to the
/// interpreter's stdout buffer for `sys.stdout` (and its `buffer`).
fn write_bytes(interp: &mut Interp, st: &mut FileState, bytes: &[u8]) -> PyResult<()> {
    // Read-ahead is dropped, not rewound: like CPython, a write after reads in `r+` mode lands
    // at the end of the chunk read last. A stream that cannot seek (a socket's `makefile('rwb')`,
    // a pipe) keeps it: reading and writing go separate ways there (CPython's BufferedRWPair),
    // and the lines already received are still to be read.
    let nothing_ahead = st.raw.is_empty() && st.pending.is_empty();
    if nothing_ahead || st.os_file().is_none_or(|f| f.stream_position().is_ok()) {
        st.drop_ahead();
    }
    let r = match st.backend {
        Some(Backend::Stdout) => return interp.write_stdout_bytes(bytes),
        Some(Backend::Stderr) => {
            // Unbuffered, as CPython's stderr: written at once, GIL released (a full pipe).
            interp.flush_before_stderr();
            interp.allow_threads(|| std::io::stderr().write_all(bytes))
        }
        _ => interp.allow_threads(|| match st.os_file() {
            Some(f) => f.write_all(bytes),
            None => Ok(()),
        }),
    };
    r.map_err(|e| os_error(&e, None))
}

/// Write text to a text file: encoded, `\n` translated as `newline` says.
fn write_str(interp: &mut Interp, d: &FileData, opts: &TextOpts, text: &str) -> PyResult<()> {
    let mut st = open_state(interp, d)?;
    check_access(d, d.writable, "write")?;
    let text = pyio::translate_written(text, opts.newline);
    let mut bytes = codecs::encode(&text, opts.encoding.without_bom(), &opts.errors)?;
    if st.write_bom {
        if let Some(bom) = opts.encoding.bom() {
            bytes.splice(0..0, bom.iter().copied());
        }
        st.write_bom = false;
    }
    write_bytes(interp, &mut st, &bytes)
}

/// Write one value (str for text files, a bytes-like object for binary ones); its length.
fn write_value(interp: &mut Interp, d: &FileData, v: &Value) -> PyResult<i64> {
    match (&d.text, v) {
        (Some(opts), Value::Str(s)) => {
            write_str(interp, d, opts, s.as_str())?;
            Ok(s.char_len() as i64)
        }
        (Some(_), other) => Err(err!(
            TypeError,
            "write() argument must be str, not {}",
            type_name(other)
        )),
        (None, v) => {
            let bytes = crate::builtins::bytes_methods::arg_bytes(v)?.to_vec();
            let mut st = open_state(interp, d)?;
            check_access(d, d.writable, "write")?;
            write_bytes(interp, &mut st, &bytes)?;
            Ok(bytes.len() as i64)
        }
    }
}

/// The recursion levels CPython 3.11 enters for a call of a file object's `write`, measured (the
/// frame at which a recursive function that writes gets `RecursionError`): one for a file
/// `open` made, two for `sys.stdout` and `sys.stderr`.
fn write_depth(interp: &mut Interp, std_stream: bool) -> PyResult<()> {
    use crate::interp::guard::CALLING;
    interp.enter_recursion(CALLING)?;
    let r = if std_stream {
        interp.check_recursion(CALLING)
    } else {
        Ok(())
    };
    interp.leave_recursion();
    r
}

/// `print`'s write to the interpreter's own stdout: the levels of `sys.stdout.write`.
pub fn stdout_write_depth(interp: &mut Interp) -> PyResult<()> {
    write_depth(interp, true)
}

fn f_write(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    let std_stream = d
        .state
        .try_lock()
        .is_some_and(|st| matches!(st.backend, Some(Backend::Stdout) | Some(Backend::Stderr)));
    write_depth(interp, std_stream)?;
    let [v] = Sig::pos("write", Style::One, &["b"], 1)
        .method()
        .bind::<1>(&args)?;
    let v = v.ok_or_else(|| err!(SystemError, "write(): argument lost"))?;
    Ok(Value::Int(write_value(interp, d, v)?))
}

/// Close a file object; closing `sys.stdout` flushes the interpreter's buffer first.
fn close_file(interp: &mut Interp, inst: &Instance, d: &FileData) -> PyResult<()> {
    let backend = {
        let mut st = lock(interp, d)?;
        st.drop_ahead();
        st.backend.take()
    };
    d.closed.store(true, Ordering::Relaxed);
    if d.unbuffered {
        // CPython's FileIO keeps its base class's flag in the instance `__dict__`.
        inst.dict
            .lock()
            .insert(Arc::from("__IOBase_closed"), Value::Bool(true));
    }
    let delete = d.delete_path.lock().take();
    if let Some(path) = delete {
        crate::stdlib::tempfile::forget(&path);
        let _ = std::fs::remove_file(&path);
    }
    match backend {
        // Closing may flush to a slow device.
        Some(Backend::Os(f)) => interp.allow_threads(|| drop(f)),
        Some(Backend::Stdout) => interp.flush_stdout()?,
        _ => {}
    }
    Ok(())
}

fn f_close(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, d) = data(&args)?;
    Sig::pos("close", Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    close_file(interp, inst, d)?;
    Ok(Value::None)
}

/// `detach()` of a standard stream (`sys.stdin = sys.stdin.detach()`): its `buffer` is returned
/// and the text stream is unusable from then on. Text read ahead and not yet returned is dropped,
/// as CPython's `TextIOWrapper` drops the chunk it took from its buffer. Files made by `open()`
/// have no separate buffer object here: a clear error.
fn f_detach(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    Sig::pos("detach", Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    let buffer = d.shown.lock().buffer.clone();
    let Some(buffer) = Some(buffer).filter(|b| d.text.is_some() && !b.is_none()) else {
        return Err(pyio::unsupported(
            "detach() is supported by minivm only on sys.stdin, sys.stdout and sys.stderr",
        ));
    };
    let backend = {
        let mut st = open_state(interp, d)?;
        st.drop_ahead();
        st.detached = true;
        st.backend.take()
    };
    d.closed.store(true, Ordering::Relaxed);
    match backend {
        Some(Backend::Os(f)) => drop(f),
        Some(Backend::Stdout) => interp.flush_stdout()?,
        _ => {}
    }
    Ok(buffer)
}

fn f_flush(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    Sig::pos("flush", Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    let st = open_state(interp, d)?;
    if matches!(st.backend, Some(Backend::Stdout)) {
        drop(st);
        interp.flush_stdout()?;
    }
    Ok(Value::None)
}

/// `reconfigure(*, encoding, errors, newline, line_buffering, write_through)` of a text file:
/// flushes, then sets `line_buffering` (for `sys.stdout`, its buffering: out at every newline)
/// and `write_through`. The encoding, errors and newline handling a file was opened with stay:
/// asking for the ones it has is accepted (`sys.stdout.reconfigure(encoding='utf-8')`), others
/// are a NotImplementedError.
fn f_reconfigure(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    let Some(text) = &d.text else {
        return Err(err!(
            AttributeError,
            "'{}' object has no attribute 'reconfigure'",
            type_name(&args.pos[0])
        ));
    };
    let [encoding, errors, newline, line_buffering, write_through] = Sig::py("reconfigure", &[], 0)
        .method()
        .kwonly(&[
            "encoding",
            "errors",
            "newline",
            "line_buffering",
            "write_through",
        ])
        .bind::<5>(&args)?;
    let norm = |s: &str| s.to_ascii_lowercase().replace(['-', '_'], "");
    let current = match &d.shown.lock().encoding {
        Value::Str(s) => s.as_str().to_string(),
        _ => String::new(),
    };
    let same_encoding =
        opt_str_for("reconfigure", encoding, "encoding")?.is_none_or(|s| norm(s) == norm(&current));
    let same_errors =
        opt_str_for("reconfigure", errors, "errors")?.is_none_or(|s| s == text.errors);
    if !same_encoding || !same_errors || newline.is_some() {
        return Err(err!(
            NotImplementedError,
            "minivm cannot change the encoding, errors or newline of an open text file \
             (reconfigure)"
        ));
    }
    let mut flag = |v: Option<&Value>| -> PyResult<Option<bool>> {
        match v {
            None | Some(Value::None) => Ok(None),
            Some(v) => Ok(Some(interp.truthy(v)?)),
        }
    };
    let (line, through) = (flag(line_buffering)?, flag(write_through)?);
    f_flush(interp, Args::new(std::slice::from_ref(&args.pos[0])))?;
    if let Some(line) = line {
        if is_buffered_stdout(&args.pos[0]) {
            interp.vm.stdout.lock().set_line_buffering(line);
        }
        d.shown.lock().line_buffering = line;
    }
    if let Some(through) = through {
        d.shown.lock().write_through = through;
    }
    Ok(Value::None)
}

/// Where `seek(offset, whence)` goes; text files allow only `seek(n)`, `seek(0, 1)`, `seek(0, 2)`.
fn seek_target(text: bool, offset: i64, whence: i64) -> PyResult<SeekFrom> {
    Ok(match (whence, offset) {
        (0, n) if n < 0 && text => return Err(err!(ValueError, "negative seek position {n}")),
        (0, n) if n < 0 => {
            return Err(os_error(
                &std::io::Error::from_raw_os_error(libc::EINVAL),
                None,
            ))
        }
        (0, n) => SeekFrom::Start(n as u64),
        (1, n) if !text || n == 0 => SeekFrom::Current(n),
        (2, n) if !text || n == 0 => SeekFrom::End(n),
        (1, _) => return Err(pyio::unsupported("can't do nonzero cur-relative seeks")),
        (2, _) => return Err(pyio::unsupported("can't do nonzero end-relative seeks")),
        (w, _) if text => {
            return Err(err!(
                ValueError,
                "invalid whence ({w}, should be 0, 1 or 2)"
            ))
        }
        (w, _) => return Err(err!(ValueError, "whence value {w} unsupported")),
    })
}

fn f_seek(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    let [offset, whence] = Sig::pos("seek", Style::Positional, &["cookie", "whence"], 1)
        .method()
        .bind::<2>(&args)?;
    let offset = to_index(offset.unwrap_or(&Value::Int(0)))?;
    let whence = match whence {
        Some(w) => to_index(w)?,
        None => 0,
    };
    let target = match seek_target(d.text.is_some(), offset, whence) {
        // FileIO hands any whence to lseek, which refuses it.
        Err(_) if d.unbuffered => {
            return Err(os_error(
                &std::io::Error::from_raw_os_error(libc::EINVAL),
                None,
            ))
        }
        t => t?,
    };
    let mut st = open_state(interp, d)?;
    st.follow_stdin().map_err(|e| os_error(&e, None))?;
    if st.os_file().is_none() {
        return Err(pyio::unsupported("underlying stream is not seekable"));
    }
    let text = d.text.as_ref();
    let fs: &mut FileState = &mut st;
    let r = interp.allow_threads(|| -> std::io::Result<u64> {
        fs.unread(text)?;
        match fs.os_file() {
            Some(f) => f.seek(target),
            None => Ok(0),
        }
    });
    let pos = r.map_err(|e| os_error(&e, None))?;
    st.cr_tail = false;
    if pos == 0 || whence == 2 {
        // CPython resets its decoder there, and with it the line endings seen.
        st.seen_nl = 0;
        d.publish_newlines(&st);
    }
    if let Some(opts) = text {
        // As CPython's TextIOWrapper: back at the start, a BOM is read and written again;
        // elsewhere, neither (the byte order read so far stays).
        st.write_bom = pos == 0 && opts.encoding.bom().is_some() && d.writable;
        st.decoder = match st.decoder {
            _ if pos == 0 => None,
            Some(enc) => Some(enc),
            None => Some(opts.encoding.without_bom()),
        };
    }
    Ok(Value::Int(pos as i64))
}

/// `tell()`: the byte offset of what the program has consumed.
fn f_tell(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    Sig::pos("tell", Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    let mut st = open_state(interp, d)?;
    st.follow_stdin().map_err(|e| os_error(&e, None))?;
    let ahead = st.ahead(d.text.as_ref());
    let pos = match st.os_file() {
        Some(f) => f.stream_position().map_err(|e| os_error(&e, None))?,
        None => return Err(pyio::unsupported("underlying stream is not seekable")),
    };
    Ok(Value::Int(pos.saturating_sub(ahead) as i64))
}

/// `truncate(size=None)`: cut (or extend) the file to `size` bytes, by default the position.
fn f_truncate(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    let [size] = Sig::pos("truncate", Style::Positional, &["pos"], 0)
        .method()
        .bind::<1>(&args)?;
    let size = match size {
        None | Some(Value::None) => None,
        Some(v) => Some(to_index(v)?),
    };
    let mut st = open_state(interp, d)?;
    check_access(d, d.writable, "truncate")?;
    let text = d.text.as_ref();
    let fs: &mut FileState = &mut st;
    let r = interp.allow_threads(|| -> std::io::Result<u64> {
        fs.unread(text)?;
        let Some(f) = fs.os_file() else {
            return Ok(0);
        };
        let n = match size {
            Some(n) => {
                u64::try_from(n).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?
            }
            None => f.stream_position()?,
        };
        f.set_len(n)?;
        Ok(n)
    });
    let n = r.map_err(|e| os_error(&e, None))?;
    Ok(Value::Int(n as i64))
}

fn f_fileno(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    Sig::pos("fileno", Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    // CPython's message comes from the raw file here, without the final period.
    let st = open_state(interp, d).map_err(|_| err!(ValueError, "I/O operation on closed file"))?;
    Ok(Value::Int(match &st.backend {
        Some(Backend::Os(_)) if st.stdin => 0,
        Some(Backend::Os(f)) => f.as_raw_fd() as i64,
        Some(Backend::Stdout) => 1,
        _ => 2,
    }))
}

fn f_isatty(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    use std::io::IsTerminal;
    let (_, d) = data(&args)?;
    Sig::pos("isatty", Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    let st = open_state(interp, d)?;
    Ok(Value::Bool(match &st.backend {
        Some(Backend::Os(f)) => f.is_terminal(),
        Some(Backend::Stdout) => std::io::stdout().is_terminal(),
        _ => std::io::stderr().is_terminal(),
    }))
}

/// `readable()`, `writable()`, `seekable()`: what the file allows (closed: ValueError).
fn ability(interp: &mut Interp, args: Args<'_>, name: &str) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    Sig::pos(name, Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    let mut st = open_state(interp, d)?;
    Ok(Value::Bool(match name {
        "readable" => d.readable,
        "writable" => d.writable,
        _ => st.os_file().is_some_and(|f| f.stream_position().is_ok()),
    }))
}

fn f_readable(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    ability(interp, args, "readable")
}

fn f_writable(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    ability(interp, args, "writable")
}

fn f_seekable(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    ability(interp, args, "seekable")
}

fn f_iter(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, d) = data(&args)?;
    drop(open_state(interp, d)?);
    Ok(Value::Instance(inst.clone()))
}

fn f_next(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = data(&args)?;
    let line = read_value(interp, d, None, true)?;
    if pyio::is_empty(&line) {
        return Err(PyErr::with_args(ExcKind::StopIteration, vec![]));
    }
    Ok(line)
}

fn f_enter(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, d) = data(&args)?;
    drop(open_state(interp, d)?);
    Ok(Value::Instance(inst.clone()))
}

fn f_exit(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, _) = data(&args)?;
    let close = interp.getattr(&Value::Instance(inst.clone()), "close")?;
    interp.call(&close, &[])?;
    Ok(Value::None)
}

/// `io.TextIOWrapper(buffer, ...)`: a text stream over a program's binary stream, written in
/// the mini language (`vm/lib/_textwrapper.mini`, a subclass of this class, made and set up
/// there). A subclass (that one included) gets a plain instance for its own `__init__`.
fn f_new(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let Some(Value::Class(cls)) = args.pos.first() else {
        return Err(err!(
            TypeError,
            "_io.TextIOWrapper.__new__(X): X is not a type object"
        ));
    };
    if Ref::ptr_eq(cls, &file_class(FileKind::Raw)) {
        let rest = Args {
            pos: &args.pos[1..],
            kw: args.kw,
        };
        return new_file_io(interp, rest);
    }
    if Ref::ptr_eq(cls, &file_class(FileKind::Text)) {
        let module = interp.import_module("_textwrapper")?;
        let make = interp.getattr(&module, "TextIOWrapper")?;
        return interp.call_kw(&make, &args.pos[1..], args.kw);
    }
    // `io.BufferedReader(raw)`, `io.BufferedWriter(raw)`: vm/lib/_bufferedio.mini.
    for (kind, name) in [
        (FileKind::Reader, "BufferedReader"),
        (FileKind::Writer, "BufferedWriter"),
    ] {
        if Ref::ptr_eq(cls, &file_class(kind)) {
            let module = interp.import_module("_bufferedio")?;
            let make = interp.getattr(&module, name)?;
            return interp.call_kw(&make, &args.pos[1..], args.kw);
        }
    }
    Ok(Value::Instance(Ref::new(Instance::new(cls.clone()))))
}

/// `io.BufferedRandom(raw)`: minivm makes such file objects only through `open()` (and `sys`,
/// `subprocess`, `socket.makefile`, `tempfile`). A `TextIOWrapper`, `BufferedReader` or
/// `BufferedWriter` made over a stream (`f_new`) is set up already.
fn f_init(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    if let Some(Value::Instance(inst)) = args.pos.first() {
        if inst.class.lookup("_wraps_buffer").is_some() || inst.native::<FileData>().is_some() {
            // Set up already (`io.FileIO(...)`, made by `f_new`).
            return Ok(Value::None);
        }
    }
    let Some(Value::Instance(inst)) = args.pos.first() else {
        return Err(err!(
            NotImplementedError,
            "minivm cannot make io.TextIOWrapper objects from a program: use open()"
        ));
    };
    if !inst.class.builtin {
        // A program's subclass: its instance would have no stream behind it.
        let native = crate::object::Class::mro(&inst.class.get())
            .into_iter()
            .find(|c| c.builtin)
            .map_or_else(|| "TextIOWrapper".to_string(), |c| c.name().to_string());
        return Err(err!(
            NotImplementedError,
            "minivm does not support subclasses of io.{native} (class '{}'): make an \
             io.{native} (or open() a file) and delegate to it",
            inst.class.name()
        ));
    }
    Err(err!(
        NotImplementedError,
        "minivm cannot make io.{} objects from a program: use open()",
        inst.class.name()
    ))
}

/// `<_io.TextIOWrapper name='x.txt' mode='r' encoding='UTF-8'>`, `<_io.BufferedReader name='x'>`
fn f_repr(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, d) = data(&args)?;
    // What the repr shows: the attributes of the instance `__dict__` (a text file's `mode`, a
    // FileIO's `name`), which a program may change, else the computed ones.
    let field = |k: &str| {
        let own = inst.dict.lock().get(k).cloned();
        own.or_else(|| {
            let shown = d.shown.lock();
            match k {
                "name" => Some(shown.name.clone()),
                "mode" => Some(shown.mode.clone()),
                "encoding" => Some(shown.encoding.clone()),
                "closefd" => Some(Value::Bool(true)),
                _ => None,
            }
        })
    };
    let mut out = format!("<{}.{}", inst.class.module, inst.class.qualname());
    if d.unbuffered {
        // `<_io.FileIO name='x' mode='rb' closefd=True>`, `<_io.FileIO [closed]>`.
        if lock(interp, d).is_ok_and(|st| st.backend.is_none()) {
            return Ok(Value::string(format!("{out} [closed]>")));
        }
        for k in ["name", "mode", "closefd"] {
            if let Some(v) = field(k) {
                out.push_str(&format!(" {k}={}", interp.repr(&v)?));
            }
        }
        out.push('>');
        return Ok(Value::string(out));
    }
    if let Some(name) = field("name") {
        out.push_str(&format!(" name={}", interp.repr(&name)?));
    }
    if d.text.is_some() {
        for k in ["mode", "encoding"] {
            if let Some(v) = field(k) {
                out.push_str(&format!(" {k}={}", interp.repr(&v)?));
            }
        }
    }
    out.push('>');
    Ok(Value::string(out))
}

// ---------------------------------------------------------------------------------------------
// Making file objects

/// A new file object over `backend`, with the attributes CPython's has.
fn new_file(
    kind: FileKind,
    backend: Backend,
    text: Option<TextOpts>,
    (readable, writable): (bool, bool),
    shown: Shown,
) -> Value {
    let inst = Instance::new(file_class(kind));
    let (name, mode) = (shown.name.clone(), shown.mode.clone());
    // A BOM starts what is written unless the file is opened elsewhere than at its start
    // (appending to a file with text in it, as CPython decides once when opening). An
    // unseekable one (a pipe) in UTF-16/UTF-32 gets none either: CPython's TextIOWrapper
    // then writes this machine's byte order bare; UTF-8 with BOM still writes its BOM.
    let mut backend = backend;
    let write_bom = writable
        && text.as_ref().is_some_and(|t| t.encoding.bom().is_some())
        && match &mut backend {
            Backend::Os(f) => match f.stream_position() {
                Ok(p) => p == 0,
                Err(_) => text
                    .as_ref()
                    .is_some_and(|t| t.encoding == Encoding::Utf8Sig),
            },
            _ => true,
        };
    inst.set_native(Box::new(FileData {
        text,
        readable,
        writable,
        state: Mutex::new(FileState {
            backend: Some(backend),
            raw: Vec::new(),
            pending: String::new(),
            eof: false,
            detached: false,
            stdin: false,
            pollable: None,
            decoder: None,
            write_bom,
            seen_nl: 0,
            cr_tail: false,
        }),
        delete_path: Mutex::new(None),
        unbuffered: kind == FileKind::Raw,
        shown: Mutex::new(shown),
        closed: AtomicBool::new(false),
        seen_nl: AtomicU8::new(0),
    }));
    // What CPython's `open` leaves in the instance `__dict__`: a text file's `mode`, a
    // FileIO's `name`; the other attributes are the classes' properties.
    {
        let mut dict = inst.dict.lock();
        match kind {
            FileKind::Text => drop(dict.insert(Arc::from("mode"), mode)),
            FileKind::Raw => drop(dict.insert(Arc::from("name"), name)),
            _ => {}
        }
    }
    Value::Instance(Ref::new(inst))
}

/// The parsed `mode` argument of `open`.
struct Mode {
    read: bool,
    write: bool,
    append: bool,
    create_new: bool,
    truncate: bool,
    binary: bool,
    plus: bool,
}

impl Mode {
    fn kind(&self) -> FileKind {
        match (self.binary, self.plus, self.read) {
            (false, _, _) => FileKind::Text,
            (true, true, _) => FileKind::Random,
            (true, false, true) => FileKind::Reader,
            (true, false, false) => FileKind::Writer,
        }
    }

    /// The `mode` attribute of a binary file, as CPython's `FileIO` spells it (`'rb+'`).
    fn raw_name(&self) -> String {
        let first = if self.create_new {
            'x'
        } else if self.append {
            'a'
        } else if self.truncate {
            'w'
        } else {
            'r'
        };
        let first = if self.plus && !self.append && !self.create_new {
            // CPython's FileIO names every "+" mode but a/x as read-write: 'rb+'.
            'r'
        } else {
            first
        };
        format!("{first}b{}", if self.plus { "+" } else { "" })
    }
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
    Ok(Mode {
        read: has('r') || has('+'),
        write: !has('r') || has('+'),
        append: has('a'),
        create_new: has('x'),
        truncate: has('w'),
        binary: has('b'),
        plus: has('+'),
    })
}

/// An optional str argument of `open` (`encoding`, `errors`, `newline`).
fn opt_str<'a>(v: Option<&'a Value>, name: &str) -> PyResult<Option<&'a str>> {
    opt_str_for("open", v, name)
}

/// A str-or-None argument `name` of `func` (CPython's TypeError for anything else).
fn opt_str_for<'a>(func: &str, v: Option<&'a Value>, name: &str) -> PyResult<Option<&'a str>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(err!(
            TypeError,
            "{func}() argument '{name}' must be str or None, not {}",
            type_name(other)
        )),
    }
}

/// The text options of `open` (checked even for binary files, where giving them is an error),
/// and the encoding's name as given (`encoding` attribute, repr).
fn text_opts(binary: bool, args: &TextArgs<'_>) -> PyResult<Option<(TextOpts, String)>> {
    let encoding = opt_str(args.encoding, "encoding")?;
    let errors = opt_str(args.errors, "errors")?;
    let newline_arg = opt_str(args.newline, "newline")?;
    let newline = Newline::parse(newline_arg)?;
    if binary {
        for (what, given) in [
            ("encoding", encoding.is_some()),
            ("errors", errors.is_some()),
            ("newline", newline_arg.is_some()),
        ] {
            if given {
                return Err(err!(
                    ValueError,
                    "binary mode doesn't take an {what} argument"
                ));
            }
        }
        return Ok(None);
    }
    let (enc, shown) = match encoding {
        None | Some("locale") => (Encoding::Utf8, "UTF-8".to_string()),
        Some(name) => (Encoding::lookup(name)?, name.to_string()),
    };
    let opts = TextOpts {
        encoding: enc,
        errors: errors.unwrap_or("strict").to_string(),
        newline,
    };
    Ok(Some((opts, shown)))
}

/// A file argument of `open`: a path, or a descriptor minivm handed out (`os.pipe`, `mkstemp`).
enum Target {
    Path(String),
    Fd(i64),
}

fn target_arg(v: Option<&Value>) -> PyResult<Target> {
    if let Some(p) = v.and_then(crate::stdlib::posix_support::fspath_str) {
        return Ok(Target::Path(p.to_string()));
    }
    match v {
        Some(Value::Str(s)) => Ok(Target::Path(s.as_str().to_string())),
        Some(Value::Bytes(b)) => Ok(Target::Path(crate::stdlib::posix_support::os_name(
            b.as_bytes(),
            "the path",
        )?)),
        Some(Value::Int(fd)) => Ok(Target::Fd(*fd)),
        Some(other) => Err(err!(
            TypeError,
            "expected str, bytes or os.PathLike object, not {}",
            type_name(other)
        )),
        None => Err(err!(
            TypeError,
            "open() missing required argument 'file' (pos 1)"
        )),
    }
}

/// Open `path` as `mode` says, GIL released.
fn open_path(interp: &mut Interp, path: &str, mode: &Mode) -> PyResult<File> {
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
    let append = mode.append;
    let opened = interp.allow_threads(|| -> std::io::Result<File> {
        let mut f = opts.open(path)?;
        if f.metadata()?.is_dir() {
            return Err(std::io::Error::from_raw_os_error(libc::EISDIR));
        }
        if append {
            // As CPython: an appending file starts at the end (`tell()` says so).
            f.seek(SeekFrom::End(0))?;
        }
        Ok(f)
    });
    opened.map_err(|e| os_error(&e, Some(path)))
}

/// The builtin `open` (one function object, so that `io.open is open`).
pub fn open_function() -> Value {
    static OPEN: Global<Value> = Global::new();
    OPEN.get_or_init(|| crate::stdlib::func("open", open_builtin))
        .clone()
}

/// The `open(file, mode='r', buffering=-1, encoding=None, errors=None, newline=None,
/// closefd=True, opener=None)` builtin (also `io.open`).
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
    let [file, mode, buffering, encoding, errors, newline, closefd, opener] =
        Sig::kw("open", &NAMES, 1).bind::<8>(&args)?;
    let target = target_arg(file)?;
    let mode_str = match mode {
        None => "r",
        Some(Value::Str(s)) => s.as_str(),
        Some(other) => {
            return Err(err!(
                TypeError,
                "open() argument 'mode' must be str, not {}",
                type_name(other)
            ))
        }
    };
    let m = parse_mode(mode_str)?;
    let buffering = match buffering {
        None => -1,
        Some(v) => to_index(v)?,
    };
    if buffering == 0 && !m.binary {
        return Err(err!(ValueError, "can't have unbuffered text I/O"));
    }
    let text = TextArgs {
        encoding,
        errors,
        newline,
    };
    // Checked before the file is opened, as CPython does.
    text_opts(m.binary, &text)?;
    if closefd.is_some_and(|c| matches!(c, Value::Bool(false) | Value::Int(0))) {
        return Err(err!(
            NotImplementedError,
            "minivm's open() has no closefd=False"
        ));
    }
    if opener.is_some_and(|o| !o.is_none()) {
        return Err(err!(NotImplementedError, "minivm's open() has no opener="));
    }
    let (fd, name) = match target {
        Target::Path(path) => (
            OwnedFd::from(open_path(interp, &path, &m)?),
            Value::string(path),
        ),
        Target::Fd(fd) => (crate::stdlib::os::take_fd(fd)?, Value::Int(fd)),
    };
    open_fd_as(fd, name, mode_str, &text, buffering == 0)
}

/// `io.FileIO(file, mode='r', closefd=True, opener=None)`: an unbuffered binary file, as
/// `open(file, mode + 'b', buffering=0)` makes it (the mode may leave out the `b`).
fn new_file_io(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    const NAMES: [&str; 4] = ["file", "mode", "closefd", "opener"];
    let [file, mode, closefd, opener] = Sig::kw("FileIO", &NAMES, 1).bind::<4>(&args)?;
    let mode = match mode {
        None => "r".to_string(),
        Some(Value::Str(s)) => s.as_str().to_string(),
        Some(other) => {
            return Err(err!(
                TypeError,
                "FileIO() argument 'mode' must be str, not {}",
                type_name(other)
            ))
        }
    };
    let kinds = mode.chars().filter(|c| "rwxa".contains(*c)).count();
    let bad = mode.chars().any(|c| !"rwxab+".contains(c));
    let repeated = |c: char| mode.chars().filter(|m| *m == c).count() > 1;
    if bad || repeated('b') {
        return Err(err!(ValueError, "invalid mode: {mode}"));
    }
    if kinds != 1 || repeated('+') {
        return Err(err!(
            ValueError,
            "Must have exactly one of create/read/write/append mode and at most one plus"
        ));
    }
    let binary_mode = if mode.contains('b') {
        mode
    } else {
        format!("{mode}b")
    };
    let mut pos = vec![
        file.cloned().unwrap_or(Value::None),
        Value::string(binary_mode),
    ];
    pos.push(Value::Int(0));
    let mut kws: Vec<(Arc<str>, Value)> = Vec::new();
    if let Some(c) = closefd {
        kws.push((Arc::from("closefd"), c.clone()));
    }
    if let Some(o) = opener {
        kws.push((Arc::from("opener"), o.clone()));
    }
    open_builtin(
        interp,
        Args {
            pos: &pos,
            kw: &kws,
        },
    )
}

/// The text arguments of `open` (`encoding`, `errors`, `newline`), as given.
#[derive(Default)]
pub struct TextArgs<'a> {
    pub encoding: Option<&'a Value>,
    pub errors: Option<&'a Value>,
    pub newline: Option<&'a Value>,
}

/// A file object over an open descriptor, as `open(fd, mode, encoding=..., errors=...,
/// newline=...)` makes it; `name` is its `name` attribute (a path, or the descriptor number).
pub fn open_fd(fd: OwnedFd, name: Value, mode: &str, text: &TextArgs<'_>) -> PyResult<Value> {
    open_fd_as(fd, name, mode, text, false)
}

/// As [`open_fd`]; `unbuffered` (a binary mode) makes a `FileIO`, as `buffering=0` does.
fn open_fd_as(
    fd: OwnedFd,
    name: Value,
    mode: &str,
    text: &TextArgs<'_>,
    unbuffered: bool,
) -> PyResult<Value> {
    let m = parse_mode(mode)?;
    let text = text_opts(m.binary, text)?;
    let mode_attr = if m.binary {
        m.raw_name()
    } else {
        mode.to_string()
    };
    let kind = if unbuffered && m.binary {
        FileKind::Raw
    } else {
        m.kind()
    };
    Ok(wrap(
        kind,
        Backend::Os(File::from(fd)),
        text,
        (m.read, m.write),
        name,
        mode_attr,
    ))
}

/// A file object over an OS descriptor (a pipe's end, a socket): `mode` is one of `"r"`, `"w"`,
/// `"rb"`, `"wb"` (UTF-8 text, or bytes), `name` its `name` attribute (CPython shows the
/// descriptor number). Reads and writes release the GIL. Used by `subprocess` for `Popen`'s
/// `stdin`/`stdout`/`stderr` and by `socket.makefile`; stable for them.
pub fn file_from_fd(fd: OwnedFd, mode: &str, name: Value) -> PyResult<Value> {
    open_fd(fd, name, mode, &TextArgs::default())
}

/// A file object with its `name`, `mode` (and for text, `encoding`/`errors`) attributes.
fn wrap(
    kind: FileKind,
    backend: Backend,
    text: Option<(TextOpts, String)>,
    access: (bool, bool),
    name: Value,
    mode: String,
) -> Value {
    let mut shown = Shown {
        name,
        mode: Value::string(mode),
        encoding: Value::None,
        line_buffering: false,
        write_through: false,
        buffer: Value::None,
    };
    let text = text.map(|(opts, encoding)| {
        shown.encoding = Value::string(encoding);
        opts
    });
    new_file(kind, backend, text, access, shown)
}

/// `sys.stdout` or `sys.stderr` (`<_io.TextIOWrapper name='<stdout>' mode='w' encoding='utf-8'>`),
/// with a `buffer` attribute (`<_io.BufferedWriter name='<stdout>'>`) for writing bytes.
pub fn std_stream(stderr: bool) -> Value {
    let (name, errors) = if stderr {
        ("<stderr>", "backslashreplace")
    } else {
        ("<stdout>", "strict")
    };
    let backend = || {
        if stderr {
            Backend::Stderr
        } else {
            Backend::Stdout
        }
    };
    let text = std_text(backend(), name, (false, true), errors);
    let buffer = wrap(
        FileKind::Writer,
        backend(),
        None,
        (false, true),
        Value::str(name),
        "wb".to_string(),
    );
    // CPython's start-up names the raw stream of stdout and stderr through their buffer,
    // which leaves `name` in the buffer's `__dict__` (`vars(sys.stdout.buffer)`).
    if let Value::Instance(inst) = &buffer {
        inst.dict.lock().insert(Arc::from("name"), Value::str(name));
    }
    set_buffer(&text, buffer);
    // As CPython sets them up: with PYTHONUNBUFFERED (or -u), text goes straight to the buffer
    // (write_through); otherwise stderr, and stdout on a terminal, are line-buffered.
    if let Some(d) = file_data(&text) {
        use std::io::IsTerminal;
        let unbuffered = crate::builtins::io::unbuffered();
        let tty = stderr || std::io::stdout().is_terminal();
        let mut shown = d.shown.lock();
        shown.write_through = unbuffered;
        shown.line_buffering = tty && !unbuffered;
    }
    text
}

/// The lowest descriptor `sys.stdin`'s duplicates of descriptor 0 take: high, so the program's
/// own files, pipes and sockets get the numbers CPython gives them (3, 4...), as CPython's
/// `sys.stdin`, which holds descriptor 0 itself, leaves them free. Below 256: the signal
/// module's sockets (250 and up, made at start-up) already grew the process's descriptor table
/// to 256 entries, and growing it again once threads run makes Linux wait for an RCU grace
/// period: with 256 here the first `print` of every program (which makes `sys`'s streams)
/// waited 8-17 ms in that `fcntl`.
const STDIN_DUP_MIN: i32 = 200;

/// `sys.stdin`: a text file over (a duplicate of) descriptor 0, whose `fileno()` is 0; `None`
/// if there is none.
pub fn stdin_stream() -> Value {
    use std::os::fd::AsFd;
    let dup = || {
        rustix::io::fcntl_dupfd_cloexec(rustix::stdio::stdin(), STDIN_DUP_MIN)
            .or_else(|_| std::io::stdin().as_fd().try_clone_to_owned())
    };
    let (Ok(text_fd), Ok(bytes_fd)) = (dup(), dup()) else {
        return Value::None;
    };
    let text = std_text(
        Backend::Os(File::from(text_fd)),
        "<stdin>",
        (true, false),
        "strict",
    );
    // `sys.stdin.buffer` (bytes), with its own read-ahead: a program reads one or the other.
    let buffer = wrap(
        FileKind::Reader,
        Backend::Os(File::from(bytes_fd)),
        None,
        (true, false),
        Value::str("<stdin>"),
        "rb".to_string(),
    );
    mark_stdin(&buffer);
    mark_stdin(&text);
    set_buffer(&text, buffer);
    text
}

/// Make file object `v` report descriptor 0 as its `fileno()` (`sys.stdin`).
fn mark_stdin(v: &Value) {
    if let Value::Instance(inst) = v {
        if let Some(d) = inst.native::<FileData>() {
            d.state.lock().stdin = true;
        }
    }
}

/// Give a standard stream its `buffer` attribute.
fn set_buffer(text: &Value, buffer: Value) {
    if let Some(d) = file_data(text) {
        d.shown.lock().buffer = buffer;
    }
}

/// The Rust data of file object `v`.
fn file_data(v: &Value) -> Option<&FileData> {
    match v {
        Value::Instance(inst) => inst.native::<FileData>(),
        _ => None,
    }
}

/// A standard stream's text layer. Its newline is `'\n'`, as CPython sets up the three on
/// POSIX: `sys.stdin` splits lines at `\n` only and keeps a `\r` before it (a CRLF file piped
/// in reads as `'a\r\n'`), and what is written is not translated.
fn std_text(backend: Backend, name: &str, access: (bool, bool), errors: &str) -> Value {
    let opts = TextOpts {
        encoding: Encoding::Utf8,
        errors: errors.to_string(),
        newline: Newline::Lf,
    };
    let mode = if access.0 { "r" } else { "w" };
    wrap(
        FileKind::Text,
        backend,
        Some((opts, "utf-8".to_string())),
        access,
        Value::str(name),
        mode.to_string(),
    )
}

/// Is `v` the interpreter's own `sys.stdout` object (so `print` may write to its buffer directly)?
pub fn is_buffered_stdout(v: &Value) -> bool {
    has_backend(v, |b| matches!(b, Backend::Stdout))
}

/// Is `v` an open file object whose backend passes `test`?
fn has_backend(v: &Value, test: impl Fn(&Backend) -> bool) -> bool {
    let Value::Instance(inst) = v else {
        return false;
    };
    inst.native::<FileData>().is_some_and(|d| {
        d.state
            .try_lock()
            .is_some_and(|st| st.backend.as_ref().is_some_and(&test))
    })
}

/// Remove `path` when file object `f` is closed (`NamedTemporaryFile`).
pub fn delete_on_close(f: &Value, path: &str) {
    if let Value::Instance(inst) = f {
        if let Some(d) = inst.native::<FileData>() {
            *d.delete_path.lock() = Some(path.to_string());
        }
    }
}

/// A text file's decoding error as CPython's traceback shows it: its `TextIOWrapper` (C) calls
/// the incremental decoder's `decode`, which for UTF-8 and the fixed-order UTF-16/32 codecs is
/// `codecs.BufferedIncrementalDecoder.decode`, Python frozen into the binary: one frame
/// `File "<frozen codecs>", line 322, in decode` (no source line) below the program's line.
fn in_frozen_codecs(e: PyErr, codec: Encoding) -> PyErr {
    use Encoding::{Utf16Be, Utf16Le, Utf32Be, Utf32Le, Utf8};
    let buffered = matches!(codec, Utf8 | Utf16Le | Utf16Be | Utf32Le | Utf32Be);
    if buffered && e.is(ExcKind::UnicodeDecodeError) {
        if let Some(data) = e.exc.exc() {
            data.lock().traceback.push(crate::object::TraceEntry {
                filename: Arc::from("<frozen codecs>"),
                line: 322,
                func: Arc::from("decode"),
                span: (0, 0),
                lookup: false,
                locals: None,
            });
        }
    }
    e
}

/// Write text where CPython writes tracebacks and "Exception ignored" reports: the current
/// `sys.stderr` (a program may have replaced it, as `contextlib.redirect_stderr` does; `None`
/// drops the text), else the process's stderr. stdout is flushed first to keep the two in order.
pub fn write_stderr(interp: &mut Interp, text: &str) {
    interp.flush_before_stderr();
    let target = crate::stdlib::sys::current_stream(interp, "stderr");
    match target {
        Ok(Value::None) => {}
        Ok(obj) if !is_real_stderr(&obj) => {
            let written = interp
                .getattr(&obj, "write")
                .and_then(|w| interp.call(&w, &[Value::str(text)]));
            if written.is_err() {
                let _ = interp.allow_threads(|| std::io::stderr().write_all(text.as_bytes()));
            }
        }
        _ => {
            let _ = interp.allow_threads(|| std::io::stderr().write_all(text.as_bytes()));
        }
    }
}

/// Where [`try_write_stderr`] put its text.
#[derive(PartialEq, Eq)]
pub enum StderrWrite {
    Written,
    /// `sys.stderr` is None: nothing was written.
    IsNone,
    /// `sys.stderr` is missing (`del sys.stderr`), or writing to it raised (closed, or a
    /// replacement whose `write` fails): nothing was written.
    Lost,
}

/// Write `text` to the current `sys.stderr` as CPython's C code does (`PyFile_WriteString`),
/// with no fallback: the caller decides what a failure means.
pub fn try_write_stderr(interp: &mut Interp, text: &str) -> StderrWrite {
    interp.flush_before_stderr();
    match crate::stdlib::sys::current_stream(interp, "stderr") {
        Err(_) => StderrWrite::Lost,
        Ok(Value::None) => StderrWrite::IsNone,
        Ok(obj) if is_real_stderr(&obj) => {
            write_fd2(interp, text);
            StderrWrite::Written
        }
        Ok(obj) => {
            let written = interp
                .getattr(&obj, "write")
                .and_then(|w| interp.call(&w, &[Value::str(text)]));
            match written {
                Ok(_) => StderrWrite::Written,
                Err(_) => StderrWrite::Lost,
            }
        }
    }
}

/// Write `text` to the process's standard error (descriptor 2) itself.
pub fn write_fd2(interp: &mut Interp, text: &str) {
    let _ = interp.allow_threads(|| std::io::stderr().write_all(text.as_bytes()));
}

/// Print an exception's report (`text`) as CPython's default `sys.excepthook` does: to
/// `sys.stderr`, then its `flush()` (errors ignored); nothing when `sys.stderr` is None; and
/// when it is missing or writing fails, `lost sys.stderr` on descriptor 2. (CPython also dumps
/// the exception object there, with its address and reference count: minivm does not.)
pub fn display_exception(interp: &mut Interp, text: &str) {
    match try_write_stderr(interp, text) {
        StderrWrite::Lost => write_fd2(interp, "lost sys.stderr\n"),
        StderrWrite::IsNone => {}
        StderrWrite::Written => {
            if let Ok(obj) = crate::stdlib::sys::current_stream(interp, "stderr") {
                if !is_real_stderr(&obj) {
                    let _ = interp
                        .getattr(&obj, "flush")
                        .and_then(|f| interp.call(&f, &[]));
                }
            }
        }
    }
}

/// At exit, as CPython's `flush_std_files`: `flush()` `sys.stdout` and `sys.stderr` unless
/// missing, None or closed (the interpreter's own stdout buffer is flushed later,
/// `flush_at_exit`). A failure makes the exit status 120: reported through the unraisable
/// hook for stdout, silently for stderr. Whether both went well.
pub fn flush_std_files(interp: &mut Interp) -> bool {
    let mut ok = true;
    for name in ["stdout", "stderr"] {
        let Ok(f) = crate::stdlib::sys::current_stream(interp, name) else {
            continue;
        };
        if f.is_none() || is_buffered_stdout(&f) {
            continue;
        }
        // A `closed` that cannot be read or judged counts as open, as in CPython.
        let closed = match interp.getattr(&f, "closed") {
            Ok(v) => interp.truthy(&v).unwrap_or(false),
            Err(_) => false,
        };
        if closed {
            continue;
        }
        let flushed = interp
            .getattr(&f, "flush")
            .and_then(|m| interp.call(&m, &[]));
        if let Err(e) = flushed {
            ok = false;
            if name == "stdout" {
                interp.report_unraisable(&e, &f);
            }
        }
    }
    ok
}

/// Write text as CPython's default `sys.unraisablehook` writes an "Exception ignored" report
/// (`__del__`, a generator closed by the collector, weak reference, atexit and fork callbacks):
/// to the current `sys.stderr`, and nowhere else. Unlike [`write_stderr`] there is no fallback
/// to the process's stderr: CPython drops the report when `sys.stderr` is None or missing, or
/// when writing to it fails (a closed file, as after Effective Python's set-up block closes every
/// `io.IOBase` object at exit; a replacement whose `write` raises).
pub fn write_stderr_unraisable(interp: &mut Interp, text: &str) {
    interp.flush_before_stderr();
    match crate::stdlib::sys::current_stream(interp, "stderr") {
        Ok(Value::None) | Err(_) => {}
        Ok(obj) if is_real_stderr(&obj) => {
            let _ = interp.allow_threads(|| std::io::stderr().write_all(text.as_bytes()));
        }
        Ok(obj) => {
            let _ = interp
                .getattr(&obj, "write")
                .and_then(|w| interp.call(&w, &[Value::str(text)]));
        }
    }
}

/// Is `v` a file object over the process's stderr?
fn is_real_stderr(v: &Value) -> bool {
    has_backend(v, |b| matches!(b, Backend::Stderr))
}

/// A copy of the descriptor of a file object from `open()` (a child process's `stdout=f`), or
/// `None` if `v` is not one; `ValueError` if it is closed.
pub fn dup_fd(interp: &mut Interp, v: &Value) -> Option<PyResult<OwnedFd>> {
    let Value::Instance(inst) = v else {
        return None;
    };
    let d = inst.native::<FileData>()?;
    use std::os::fd::AsFd;
    let st = match lock(interp, d) {
        Ok(st) => st,
        Err(e) => return Some(Err(e)),
    };
    let dup = match st.backend.as_ref() {
        Some(Backend::Os(f)) => f.try_clone().map(OwnedFd::from),
        Some(Backend::Stdout) => std::io::stdout().as_fd().try_clone_to_owned(),
        Some(Backend::Stderr) => std::io::stderr().as_fd().try_clone_to_owned(),
        None => return Some(Err(closed_error())),
    };
    Some(dup.map_err(|e| os_error(&e, None)))
}
