//! `_multiprocessing`, the native half of `multiprocessing` (stage 4, the VM's standard library):
//! pipes carrying length-prefixed messages between processes, pipes of tokens that serve as
//! locks and semaphores shared by processes, descriptors handed to a child, and the child's side
//! of the *spawn* start method (running the parent's main script as `__mp_main__`).
//! `Process`, `Queue`, `Pool` and the rest are written in the mini language in
//! `vm/lib/multiprocessing/`, as CPython's are Python code over `_multiprocessing` and `_posixshmem`.
//!
//! Everything here works on plain descriptor numbers, as CPython's `Connection` does with its
//! `_handle`: the mini-language objects own them and close them. Every wait (for a message, for
//! room to write, for a token) is a `poll(2)` with the GIL released, cut into slices so that
//! Ctrl-C in the main thread ends it.

use std::os::fd::{IntoRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};

use crate::builtins::args::{to_index, Sig, Style};
use crate::builtins::bytes_methods::arg_bytes;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{Dict, Module};
use crate::stdlib::os::os_error;
use crate::stdlib::select::poll_fds;
use crate::stdlib::sync::seconds;
use crate::stdlib::{func, make_module};
use crate::value::Value;
use crate::{err, PyErr, PyResult};

/// Bytes read or written per wait: a pipe that polls writable has room for at least `PIPE_BUF`.
const CHUNK: usize = 4096;
/// Messages larger than this are refused (CPython's limit for its 4-byte header is 2 GiB; a
/// teaching VM keeps them in memory several times over).
const MAX_MESSAGE: usize = 1 << 30;

pub fn module() -> Ref<Module> {
    make_module(
        "_multiprocessing",
        vec![
            ("pipe", func("pipe", pipe)),
            ("dup_inheritable", func("dup_inheritable", dup_inheritable)),
            ("close", func("close", close)),
            ("set_cloexec", func("set_cloexec", set_cloexec)),
            ("watch_parent", func("watch_parent", watch_parent)),
            ("send_bytes", func("send_bytes", send_bytes)),
            ("recv_bytes", func("recv_bytes", recv_bytes)),
            ("send_fds", func("send_fds", send_fds)),
            ("recv_fds", func("recv_fds", recv_fds)),
            ("poll", func("poll", poll)),
            ("wait", func("wait", wait)),
            ("tokens", func("tokens", tokens)),
            ("take_token", func("take_token", take_token)),
            ("put_token", func("put_token", put_token)),
            ("has_token", func("has_token", has_token)),
            ("run_main_as", func("run_main_as", run_main_as)),
            ("main_command", func("main_command", main_command)),
            ("alias_module", func("alias_module", alias_module)),
            ("child_flags", func("child_flags", child_flags)),
            (
                "set_process_name",
                func("set_process_name", set_process_name),
            ),
            ("reporting", func("reporting", reporting)),
            ("shm_create", func("shm_create", shm_create)),
            ("shm_read", func("shm_read", shm_read)),
            ("shm_write", func("shm_write", shm_write)),
        ],
    )
}

fn os_err(e: impl Into<std::io::Error>) -> PyErr {
    os_error(&e.into(), None)
}

fn fd_arg(v: Option<&Value>) -> PyResult<RawFd> {
    let n = to_index(v.unwrap_or(&Value::None))?;
    RawFd::try_from(n).map_err(|_| os_err(Errno::EBADF))
}

/// A timeout in seconds: `None` waits forever, zero or less does not block.
fn timeout_of(v: Option<&Value>) -> PyResult<Option<Duration>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(v) => Ok(Some(Duration::from_secs_f64(
            seconds(v)?.secs.clamp(0.0, 1e9),
        ))),
    }
}

/// Take ownership of a new descriptor as a plain number (the mini-language object closes it).
fn raw(fd: impl Into<OwnedFd>) -> Value {
    Value::Int(i64::from(fd.into().into_raw_fd()))
}

/// `pipe(duplex)`: `(a, b)`, two descriptors closed on exec: a one-way pipe (`a` reads, `b`
/// writes), or a connected pair of Unix sockets if `duplex` (both ends read and write), as
/// CPython's `multiprocessing.Pipe`.
fn pipe(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [duplex] = Sig::kw("pipe", &["duplex"], 1).bind::<1>(&args)?;
    let duplex = match duplex {
        Some(v) => interp.truthy(v)?,
        None => false,
    };
    let (a, b) = if duplex {
        let (a, b) = std::os::unix::net::UnixStream::pair().map_err(os_err)?;
        (raw(a), raw(b))
    } else {
        let (r, w) = std::io::pipe().map_err(os_err)?;
        (raw(r), raw(w))
    };
    Ok(Value::tuple(vec![a, b]))
}

/// `dup_inheritable(fd)`: a copy of `fd` that a child started next inherits (`dup(2)` clears
/// close-on-exec). What CPython's spawn does with `pass_fds`: the pickled object names the copy.
fn dup_inheritable(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd] = Sig::kw("dup_inheritable", &["fd"], 1).bind::<1>(&args)?;
    let copy = nix::unistd::dup(fd_arg(fd)?).map_err(os_err)?;
    Ok(Value::Int(i64::from(copy)))
}

fn close(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd] = Sig::kw("close", &["fd"], 1).bind::<1>(&args)?;
    nix::unistd::close(fd_arg(fd)?).map_err(os_err)?;
    Ok(Value::None)
}

/// `set_cloexec(fd)`: a descriptor a child inherited is not passed on to its own children.
fn set_cloexec(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd] = Sig::kw("set_cloexec", &["fd"], 1).bind::<1>(&args)?;
    fcntl(
        fd_arg(fd)?,
        FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )
    .map_err(os_err)?;
    Ok(Value::None)
}

/// `watch_parent(fd)`: in a child, end this process as soon as `fd` (the read end of a pipe
/// whose write end only the parent holds) reaches its end: the parent has died, and a child
/// must not live on as an orphan. A plain Rust thread, outside the interpreter.
fn watch_parent(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd] = Sig::kw("watch_parent", &["fd"], 1).bind::<1>(&args)?;
    let fd = fd_arg(fd)?;
    let watcher = move || {
        let _main_takes_signals = crate::stdlib::signal::ProcessSignalsBlocked::here();
        loop {
            let mut fds = [libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            }];
            if matches!(poll_fds(&mut fds, None, None), Ok(n) if n > 0) {
                std::process::exit(1);
            }
        }
    };
    let builder = std::thread::Builder::new()
        .name("mp-parent-watch".into())
        .stack_size(64 * 1024);
    crate::heap::fork::spawn_detached(builder, watcher).map_err(os_err)?;
    Ok(Value::None)
}

// ---------------------------------------------------------------------------------------------
// Waiting with the GIL released

/// What one wait for a descriptor ended with.
enum Ready {
    Yes,
    TimedOut,
    Interrupted,
}

/// Wait until `fd` is ready for `events` (or has hung up), `timeout` passes, or Ctrl-C.
fn wait_fd(
    interp: &mut Interp,
    fd: RawFd,
    events: libc::c_short,
    timeout: Option<Duration>,
) -> Ready {
    let vm = interp.vm.clone();
    let main = interp.is_main;
    interp.allow_threads(|| {
        let interrupt = main.then_some(&vm.interrupted);
        let mut fds = [libc::pollfd {
            fd,
            events,
            revents: 0,
        }];
        match poll_fds(&mut fds, timeout, interrupt) {
            Ok(n) if n > 0 => Ready::Yes,
            // A poll error (a closed descriptor) shows up in the read or write that follows.
            Err(_) => Ready::Yes,
            Ok(_) if interrupt.is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed)) => {
                Ready::Interrupted
            }
            Ok(_) => Ready::TimedOut,
        }
    })
}

/// Wait until `fd` is ready, raising `KeyboardInterrupt` on Ctrl-C; false on timeout.
fn ready(
    interp: &mut Interp,
    fd: RawFd,
    events: libc::c_short,
    timeout: Option<Duration>,
) -> PyResult<bool> {
    match wait_fd(interp, fd, events, timeout) {
        Ready::Yes => Ok(true),
        Ready::TimedOut => Ok(false),
        Ready::Interrupted => interp.check_interrupt().map(|()| false),
    }
}

/// Write all of `data`, waiting for room with the GIL released.
fn write_all(interp: &mut Interp, fd: RawFd, data: &[u8]) -> PyResult<()> {
    let mut done = 0;
    while done < data.len() {
        if !ready(interp, fd, libc::POLLOUT, None)? {
            continue;
        }
        let end = data.len().min(done + CHUNK);
        match nix::unistd::write(fd, &data[done..end]) {
            Ok(n) => done += n,
            Err(Errno::EINTR | Errno::EAGAIN) => {}
            Err(e) => return Err(os_err(e)),
        }
    }
    Ok(())
}

/// Read exactly `n` bytes, waiting with the GIL released. `Ok(None)` if the writer closed its end
/// before the first byte.
fn read_exact(interp: &mut Interp, fd: RawFd, n: usize) -> PyResult<Option<Vec<u8>>> {
    let mut out = vec![0u8; n];
    let mut done = 0;
    while done < n {
        if !ready(interp, fd, libc::POLLIN, None)? {
            continue;
        }
        let end = n.min(done + 16 * CHUNK);
        match nix::unistd::read(fd, &mut out[done..end]) {
            Ok(0) if done == 0 => return Ok(None),
            Ok(0) => return Err(err!(OSError, "got end of file during message")),
            Ok(k) => done += k,
            Err(Errno::EINTR | Errno::EAGAIN) => {}
            Err(e) => return Err(os_err(e)),
        }
    }
    Ok(Some(out))
}

// ---------------------------------------------------------------------------------------------
// Messages: a 4-byte big-endian length, then the bytes (CPython's `Connection` framing)

/// `send_bytes(fd, data)`: write one message.
fn send_bytes(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd, data] = Sig::kw("send_bytes", &["fd", "data"], 2).bind::<2>(&args)?;
    let fd = fd_arg(fd)?;
    let data = arg_bytes(data.unwrap_or(&Value::None))?;
    if data.len() > MAX_MESSAGE {
        return Err(err!(
            ValueError,
            "message too long for minivm's multiprocessing"
        ));
    }
    let mut msg = Vec::with_capacity(4 + data.len());
    msg.extend_from_slice(&(data.len() as u32).to_be_bytes());
    msg.extend_from_slice(&data);
    write_all(interp, fd, &msg)?;
    Ok(Value::None)
}

/// `recv_bytes(fd)`: the next message; `EOFError` if the other end is closed and nothing is left.
fn recv_bytes(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd] = Sig::kw("recv_bytes", &["fd"], 1).bind::<1>(&args)?;
    let fd = fd_arg(fd)?;
    let Some(header) = read_exact(interp, fd, 4)? else {
        return Err(PyErr::with_args(
            crate::object::ExcKind::EOFError,
            Vec::new(),
        ));
    };
    let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if len > MAX_MESSAGE {
        return Err(err!(OSError, "bad message length"));
    }
    match read_exact(interp, fd, len)? {
        Some(body) => Ok(Value::bytes(body)),
        None if len == 0 => Ok(Value::bytes(Vec::new())),
        None => Err(err!(OSError, "got end of file during message")),
    }
}

// ---------------------------------------------------------------------------------------------
// Descriptors through a Unix socket (SCM_RIGHTS)

/// Descriptors per sendmsg(2): the kernel takes at most 253 in one message (`SCM_MAX_FD`).
const FDS_PER_MESSAGE: usize = 250;
/// Room for the control message of `FDS_PER_MESSAGE` descriptors (`CMSG_SPACE` of 1000 bytes is
/// 1016 on Linux; twice that leaves a margin).
const CMSG_ROOM: usize = 2048;

/// `send_fds(sock, fds)`: hand copies of the descriptors `fds` to the process at the other end
/// of the Unix socket `sock`, which takes them with `recv_fds`. The first message carries their
/// number (4 bytes, little-endian) and the first `FDS_PER_MESSAGE` of them, each further one a
/// byte and the next batch. How a spawned child gets the pipes and locks of the Process object
/// it is sent once it is already running (`multiprocessing.spawn`), as CPython's forkserver
/// passes them.
fn send_fds(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [sock, fds] = Sig::kw("send_fds", &["sock", "fds"], 2).bind::<2>(&args)?;
    let sock = fd_arg(sock)?;
    let mut list = Vec::new();
    for v in interp.collect_iter(fds.unwrap_or(&Value::None))? {
        list.push(fd_arg(Some(&v))?);
    }
    let count = u32::try_from(list.len()).map_err(|_| os_err(Errno::EINVAL))?;
    let sent = interp.allow_threads(move || {
        use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
        let header = count.to_le_bytes();
        let mut batches = list.chunks(FDS_PER_MESSAGE);
        let mut first = true;
        loop {
            let batch = batches.next();
            if batch.is_none() && !first {
                return Ok(());
            }
            let data: &[u8] = if first { &header } else { b"F" };
            let mut done = 0;
            while done < data.len() {
                let iov = [std::io::IoSlice::new(&data[done..])];
                // The descriptors go with the message's first byte only.
                let rights = match batch {
                    Some(fds) if done == 0 => vec![ControlMessage::ScmRights(fds)],
                    _ => Vec::new(),
                };
                match sendmsg::<()>(sock, &iov, &rights, MsgFlags::MSG_NOSIGNAL, None) {
                    Ok(n) => done += n,
                    Err(Errno::EINTR) => {}
                    Err(e) => return Err(e),
                }
            }
            first = false;
        }
    });
    sent.map_err(os_err)?;
    Ok(Value::None)
}

/// `recv_fds(sock)`: the descriptors the other end sent with `send_fds`, as a list of new
/// descriptor numbers of this process, closed on exec; `EOFError` if it closed its end first.
fn recv_fds(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [sock] = Sig::kw("recv_fds", &["sock"], 1).bind::<1>(&args)?;
    let sock = fd_arg(sock)?;
    let got = interp.allow_threads(move || {
        let mut fds = Vec::new();
        let mut header = [0u8; 4];
        let mut have = 0;
        while have < header.len() {
            have += match recv_some(sock, &mut header[have..], &mut fds)? {
                0 => return Ok(None),
                n => n,
            };
        }
        let count = u32::from_le_bytes(header) as usize;
        while fds.len() < count {
            let mut byte = [0u8; 1];
            if recv_some(sock, &mut byte, &mut fds)? == 0 {
                return Err(Errno::EPIPE);
            }
        }
        Ok(Some(fds))
    });
    match got.map_err(os_err)? {
        Some(fds) => Ok(Value::list(
            fds.into_iter()
                .map(|fd| Value::Int(i64::from(fd)))
                .collect(),
        )),
        None => Err(PyErr::with_args(
            crate::object::ExcKind::EOFError,
            Vec::new(),
        )),
    }
}

/// One recvmsg(2) into `buf`, adding the descriptors it carried to `fds`: the bytes read.
fn recv_some(sock: RawFd, buf: &mut [u8], fds: &mut Vec<RawFd>) -> Result<usize, Errno> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut room = Vec::with_capacity(CMSG_ROOM);
    loop {
        let mut iov = [std::io::IoSliceMut::new(buf)];
        let msg = match recvmsg::<()>(sock, &mut iov, Some(&mut room), MsgFlags::MSG_CMSG_CLOEXEC) {
            Err(Errno::EINTR) => continue,
            other => other?,
        };
        for c in msg.cmsgs() {
            if let ControlMessageOwned::ScmRights(got) = c {
                fds.extend(got);
            }
        }
        if msg.flags.contains(MsgFlags::MSG_CTRUNC) {
            return Err(Errno::EMSGSIZE);
        }
        return Ok(msg.bytes);
    }
}

/// `poll(fd, timeout)`: whether a message (or the end of the stream) can be read within
/// `timeout` seconds (`None`: wait as long as it takes).
fn poll(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd, timeout] = Sig::kw("poll", &["fd", "timeout"], 2).bind::<2>(&args)?;
    let fd = fd_arg(fd)?;
    let timeout = timeout_of(timeout)?;
    Ok(Value::Bool(ready(interp, fd, libc::POLLIN, timeout)?))
}

/// `wait(fds, timeout)`: the descriptors of `fds` that are readable or hung up (a process's
/// sentinel when it ends), waiting up to `timeout` seconds for one (CPython's
/// `multiprocessing.connection.wait`, over numbers).
fn wait(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fds, timeout] = Sig::kw("wait", &["fds", "timeout"], 2).bind::<2>(&args)?;
    let mut polled = Vec::new();
    for v in interp.collect_iter(fds.unwrap_or(&Value::None))? {
        polled.push(libc::pollfd {
            fd: fd_arg(Some(&v))?,
            events: libc::POLLIN,
            revents: 0,
        });
    }
    let deadline = timeout_of(timeout)?.and_then(|t| Instant::now().checked_add(t));
    let vm = interp.vm.clone();
    loop {
        let main = interp.is_main;
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let n =
            interp.allow_threads(|| poll_fds(&mut polled, left, main.then_some(&vm.interrupted)));
        let n = n.map_err(os_err)?;
        if n > 0 || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        interp.check_interrupt()?;
    }
    let out = polled
        .iter()
        .filter(|p| p.revents != 0)
        .map(|p| Value::Int(i64::from(p.fd)))
        .collect();
    Ok(Value::list(out))
}

// ---------------------------------------------------------------------------------------------
// Tokens: a semaphore shared by processes is a pipe holding one byte per free unit

/// `tokens(n)`: `(r, w)`, a pipe holding `n` tokens whose read end does not block.
fn tokens(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [n] = Sig::kw("tokens", &["n"], 1).bind::<1>(&args)?;
    let n = to_index(n.unwrap_or(&Value::None))?;
    let (r, w) = std::io::pipe().map_err(os_err)?;
    let (r, w) = (
        OwnedFd::from(r).into_raw_fd(),
        OwnedFd::from(w).into_raw_fd(),
    );
    let setup = || -> nix::Result<()> {
        fcntl(r, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
        fcntl(w, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
        for _ in 0..n.max(0) {
            nix::unistd::write(w, b"t")?;
        }
        Ok(())
    };
    if let Err(e) = setup() {
        let _ = nix::unistd::close(r);
        let _ = nix::unistd::close(w);
        return Err(match e {
            Errno::EAGAIN => err!(
                ValueError,
                "minivm: at most 65536 units in a semaphore shared by processes"
            ),
            e => os_err(e),
        });
    }
    Ok(Value::tuple(vec![
        Value::Int(i64::from(r)),
        Value::Int(i64::from(w)),
    ]))
}

/// `take_token(fd, block, timeout)`: take one token, waiting for it if `block` (up to
/// `timeout` seconds, `None` forever). False if none came.
fn take_token(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd, block, timeout] =
        Sig::kw("take_token", &["fd", "block", "timeout"], 3).bind::<3>(&args)?;
    let fd = fd_arg(fd)?;
    let block = match block {
        Some(v) => interp.truthy(v)?,
        None => false,
    };
    let deadline = match timeout_of(timeout)? {
        Some(t) if block => Some(Instant::now().checked_add(t).unwrap_or_else(Instant::now)),
        Some(_) => Some(Instant::now()),
        None if block => None,
        None => Some(Instant::now()),
    };
    loop {
        let mut byte = [0u8];
        match nix::unistd::read(fd, &mut byte) {
            Ok(1) => return Ok(Value::Bool(true)),
            Ok(_) => return Err(err!(OSError, "minivm: the semaphore's pipe was closed")),
            Err(Errno::EAGAIN | Errno::EINTR) => {}
            Err(e) => return Err(os_err(e)),
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left == Some(Duration::ZERO) {
            return Ok(Value::Bool(false));
        }
        // Another process may take the token between the poll and the read: then wait again.
        ready(interp, fd, libc::POLLIN, left)?;
    }
}

/// `put_token(fd)`: give one token back; `ValueError` if the pipe is full.
fn put_token(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd] = Sig::kw("put_token", &["fd"], 1).bind::<1>(&args)?;
    match nix::unistd::write(fd_arg(fd)?, b"t") {
        Ok(_) => Ok(Value::None),
        Err(Errno::EAGAIN) => Err(err!(
            ValueError,
            "semaphore or lock released too many times"
        )),
        Err(e) => Err(os_err(e)),
    }
}

/// `has_token(fd)`: whether a token is free right now (without taking it).
fn has_token(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd] = Sig::kw("has_token", &["fd"], 1).bind::<1>(&args)?;
    let fd = fd_arg(fd)?;
    Ok(Value::Bool(ready(
        interp,
        fd,
        libc::POLLIN,
        Some(Duration::ZERO),
    )?))
}

// ---------------------------------------------------------------------------------------------
// Shared memory for `Value` and `Array`: an unlinked temporary file that every process reads
// and writes in place (`pread`/`pwrite`), shared with a child as a descriptor

/// The open shared files, by the descriptor number the program knows them by. A child knows
/// the number it inherited; it opens the same file again through `/proc/self/fd/N`.
static SHARED: parking_lot::Mutex<Vec<(RawFd, std::fs::File)>> =
    parking_lot::Mutex::new(Vec::new());

/// Run `f` on the shared file known as `fd`.
fn with_shared<T>(fd: RawFd, f: impl FnOnce(&std::fs::File) -> std::io::Result<T>) -> PyResult<T> {
    let mut files = SHARED.lock();
    if !files.iter().any(|(n, _)| *n == fd) {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(format!("/proc/self/fd/{fd}"))
            .map_err(os_err)?;
        files.push((fd, file));
    }
    let file = files.iter().find(|(n, _)| *n == fd).map(|(_, f)| f);
    match file {
        Some(file) => f(file).map_err(os_err),
        None => Err(os_err(Errno::EBADF)),
    }
}

/// `shm_create(size)`: a descriptor of `size` zero bytes of storage shared with children.
fn shm_create(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    use std::os::fd::AsRawFd;
    let [size] = Sig::kw("shm_create", &["size"], 1).bind::<1>(&args)?;
    let size = u64::try_from(to_index(size.unwrap_or(&Value::None))?)
        .map_err(|_| err!(ValueError, "negative size"))?;
    let dir = std::env::temp_dir();
    let path = dir.join(format!(
        "minivm-shm-{}-{}",
        std::process::id(),
        SHARED.lock().len()
    ));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(os_err)?;
    // Unlinked at once: the storage lives as long as a process holds the descriptor.
    let _ = std::fs::remove_file(&path);
    file.set_len(size).map_err(os_err)?;
    let fd = file.as_raw_fd();
    SHARED.lock().push((fd, file));
    Ok(Value::Int(i64::from(fd)))
}

/// `shm_read(fd, offset, n)`: `n` bytes at `offset`.
fn shm_read(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    use std::os::unix::fs::FileExt;
    let [fd, offset, n] = Sig::kw("shm_read", &["fd", "offset", "n"], 3).bind::<3>(&args)?;
    let fd = fd_arg(fd)?;
    let offset = to_index(offset.unwrap_or(&Value::None))?.max(0) as u64;
    let n = to_index(n.unwrap_or(&Value::None))?.clamp(0, 1 << 30) as usize;
    let mut buf = vec![0u8; n];
    with_shared(fd, |f| f.read_exact_at(&mut buf, offset))?;
    Ok(Value::bytes(buf))
}

/// `shm_write(fd, offset, data)`.
fn shm_write(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    use std::os::unix::fs::FileExt;
    let [fd, offset, data] = Sig::kw("shm_write", &["fd", "offset", "data"], 3).bind::<3>(&args)?;
    let fd = fd_arg(fd)?;
    let offset = to_index(offset.unwrap_or(&Value::None))?.max(0) as u64;
    let data = arg_bytes(data.unwrap_or(&Value::None))?;
    with_shared(fd, |f| f.write_all_at(&data, offset))?;
    Ok(Value::None)
}

// ---------------------------------------------------------------------------------------------
// The child's side of spawn

/// Register `module` under `name` too (replacing what `name` was).
fn register(interp: &Interp, name: &str, module: &Ref<Module>) {
    interp.vm.register_module(name, module);
}

/// `run_main_as(path, source=None)`: in a spawned child, run the parent's main script as the
/// module `__mp_main__`, also known as `__main__` (as CPython's `spawn.prepare` does), so that
/// its `if __name__ == "__main__":` block is skipped and its functions and classes can be
/// unpickled. With `source` (a `minivm -c CMD` parent: `path` is None), run that text as
/// `<string>`, without `__file__`, as the parent ran it.
fn run_main_as(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [path, source] = Sig::kw("run_main_as", &["path", "source"], 1).bind::<2>(&args)?;
    let (path, src) = match (path, source) {
        (_, Some(Value::Str(src))) => (None, src.as_str().to_string()),
        (Some(Value::Str(path)), _) => {
            let path = path.as_str().to_string();
            // A library module run by `-m` (`minivm -m doctest prog.py`): its text is in the
            // binary, under the name its `__file__` gives.
            let lib = path
                .strip_prefix(crate::stdlib::minilib::PREFIX)
                .and_then(|rel| rel.strip_prefix('/'))
                .and_then(crate::stdlib::minilib::source);
            if let Some(src) = lib {
                return run_as_mp_main(interp, Some(path), src.to_string());
            }
            let bytes = std::fs::read(&path).map_err(|e| os_error(&e, Some(&path)))?;
            let src =
                minivm_compiler::decode_source(&bytes, &path, minivm_compiler::Origin::Import)
                    .map_err(|_| {
                        err!(SyntaxError, "minivm: can't decode the main script '{path}'")
                    })?;
            (Some(path), src)
        }
        _ => return Err(err!(TypeError, "run_main_as() needs a path or a source")),
    };
    run_as_mp_main(interp, path, src)
}

/// Run `src` (the main script's text, from `path` if it has one) as `__mp_main__`, also
/// registered as `__main__`.
fn run_as_mp_main(interp: &mut Interp, path: Option<String>, src: String) -> PyResult<Value> {
    let filename = path.as_deref().unwrap_or("<string>");
    let code = minivm_compiler::compile_source(&src, filename, minivm_compiler::Mode::File)
        .map_err(|e| err!(SyntaxError, "{}", e.render(filename, &src).trim_end()))?;
    let globals = Ref::new(Dict::new());
    globals.set_str("__name__", Value::str("__mp_main__"));
    // A `-c` command's text is not registered: the child's own bootstrap is `<string>` too,
    // and its lines must not be shown for the command's.
    if let Some(path) = &path {
        interp.vm.add_source(path, &src);
        globals.set_str("__file__", Value::str(path));
    }
    let module = Ref::new(Module {
        name: Arc::from("__mp_main__"),
        dict: globals.clone(),
    });
    register(interp, "__mp_main__", &module);
    register(interp, "__main__", &module);
    crate::run_code(interp, code, globals)?;
    Ok(Value::Module(module))
}

/// The name the text of a `minivm -c CMD` program is kept under among the VM's sources (not
/// `<string>`, so that tracebacks show no lines of it, as CPython's do not).
pub const MAIN_COMMAND_SOURCE: &str = "<minivm -c command>";

/// `main_command()`: the text of a `minivm -c CMD` program (the first source this process ran),
/// for the parent to hand its command to a spawned child; None otherwise.
fn main_command(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("main_command", Style::NoArgs, &[], 0).check(&args)?;
    let sources = interp.vm.sources.lock();
    Ok(match sources.first() {
        Some((name, src)) if &**name == MAIN_COMMAND_SOURCE => Value::str(src),
        _ => Value::None,
    })
}

/// `alias_module(name, module)`: make `import name` find `module` (the parent's `__mp_main__`
/// is its `__main__`, so objects a child pickles from its main module unpickle here).
fn alias_module(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [name, module] = Sig::kw("alias_module", &["name", "module"], 2).bind::<2>(&args)?;
    match (name, module) {
        (Some(Value::Str(name)), Some(Value::Module(m))) => {
            register(interp, name.as_str(), m);
            Ok(Value::None)
        }
        _ => Err(err!(TypeError, "alias_module() needs a name and a module")),
    }
}

/// `child_flags()`: the command-line options that give a child this interpreter's settings
/// (GIL mode, switch and check intervals, optimization level, warning options).
fn child_flags(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("child_flags", Style::NoArgs, &[], 0).check(&args)?;
    let gil = &interp.vm.gil;
    let mode = match gil.mode() {
        crate::gil::GilMode::On => "on",
        crate::gil::GilMode::Off => "off",
        crate::gil::GilMode::Old => "old",
    };
    let mut flags = vec![
        format!("--gil={mode}"),
        format!("--switch-interval={}", gil.interval().as_secs_f64()),
        format!("--check-interval={}", gil.check_interval()),
    ];
    // `-O` and `-W`, as CPython's `_args_from_interpreter_flags` passes them on.
    for _ in 0..minivm_compiler::optimize() {
        flags.push("-O".to_string());
    }
    for option in crate::stdlib::sys::warnoptions() {
        flags.push(format!("-W{option}"));
    }
    Ok(Value::list(flags.iter().map(|f| Value::str(f)).collect()))
}

/// `set_process_name(name)`: the name this child's threads carry on the parent's `--stats` and
/// `--timeline` (`timeline::children`).
fn set_process_name(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [name] = Sig::kw("set_process_name", &["name"], 1).bind::<1>(&args)?;
    if let Some(Value::Str(name)) = name {
        crate::timeline::children::set_process_name(name.as_str());
    }
    Ok(Value::None)
}

/// `reporting()`: whether children report to a parent's `--stats` / `--timeline` (so a pool
/// lets idle workers exit by themselves, and write their report, before terminating them).
fn reporting(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("reporting", Style::NoArgs, &[], 0).check(&args)?;
    Ok(Value::Bool(
        std::env::var_os(crate::timeline::children::ENV).is_some(),
    ))
}

/// `sys.executable`: the path of the running minivm binary (`''` if the OS cannot tell, as
/// CPython).
pub fn executable() -> String {
    std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}
