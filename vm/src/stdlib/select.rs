//! The `select` module (stage 4, the VM's standard library): `select.select(rlist, wlist, xlist,
//! timeout=None)` and `select.poll()` objects, both on `poll(2)`, waiting with the GIL released,
//! plus the one `poll` wrapper the socket and subprocess modules share; `select.epoll` is in
//! `epoll.rs`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags};

use crate::builtins::args::{Sig, Style};
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{Class, ExcKind, Module};
use crate::stdlib::{func, make_module, native_class, this};
use crate::value::Value;
use crate::{err, PyResult};

/// The event bits of `select.poll`, as CPython exports them (Linux values).
const POLL_BITS: &[(&str, libc::c_short)] = &[
    ("POLLIN", libc::POLLIN),
    ("POLLPRI", libc::POLLPRI),
    ("POLLOUT", libc::POLLOUT),
    ("POLLERR", libc::POLLERR),
    ("POLLHUP", libc::POLLHUP),
    ("POLLNVAL", libc::POLLNVAL),
    ("POLLRDNORM", libc::POLLRDNORM),
    ("POLLRDBAND", libc::POLLRDBAND),
    ("POLLWRNORM", libc::POLLWRNORM),
    ("POLLWRBAND", libc::POLLWRBAND),
    ("POLLMSG", 0x400),
    ("POLLRDHUP", 0x2000),
];

pub fn select_module() -> Ref<Module> {
    let mut items = vec![
        ("select", func("select", select)),
        ("poll", Value::Class(poll_class())),
        (
            "error",
            Value::Class(crate::object::types().exc(ExcKind::OSError).clone()),
        ),
    ];
    for &(name, bit) in POLL_BITS {
        items.push((name, Value::Int(i64::from(bit))));
    }
    items.push(("epoll", Value::Class(crate::stdlib::epoll::epoll_class())));
    for &(name, bit) in crate::stdlib::epoll::EPOLL_BITS {
        items.push((name, Value::Int(bit)));
    }
    make_module("select", items)
}

/// One `poll(2)` call over `fds`, waiting at most `timeout_ms` milliseconds (-1: no limit).
/// nix's `poll` takes plain descriptor numbers, as `select` does: a number that is not an open
/// descriptor comes back as `POLLNVAL`, never as undefined behaviour.
fn poll_once(fds: &mut [libc::pollfd], timeout_ms: libc::c_int) -> std::io::Result<usize> {
    let mut polled: Vec<PollFd> = fds
        .iter()
        .map(|p| PollFd::new(p.fd, PollFlags::from_bits_truncate(p.events)))
        .collect();
    let n = nix::poll::poll(&mut polled, timeout_ms).map_err(std::io::Error::from)?;
    for (p, q) in fds.iter_mut().zip(&polled) {
        p.revents = q.revents().map_or(0, |f| f.bits());
    }
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Wait on `fds` until one is ready, `timeout` passes (`None`: forever) or `interrupt` is set
/// (checked every 50 ms). Call it with the GIL released. Returns how many entries have events.
pub fn poll_fds(
    fds: &mut [libc::pollfd],
    timeout: Option<Duration>,
    interrupt: Option<&AtomicBool>,
) -> std::io::Result<usize> {
    const TICK: Duration = Duration::from_millis(50);
    // A deadline too far away to represent is no deadline.
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    loop {
        let mut slice = deadline.map(|dl| dl.saturating_duration_since(Instant::now()));
        if interrupt.is_some() {
            slice = Some(slice.map_or(TICK, |s| s.min(TICK)));
        }
        let ms = match slice {
            None => -1,
            // Rounded up, so a 0.1 s timeout never wakes before 0.1 s.
            Some(d) => d.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int,
        };
        match poll_once(fds, ms) {
            Ok(0) => {}
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        if interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
            return Ok(0);
        }
        if deadline.is_some_and(|dl| Instant::now() >= dl) {
            return Ok(0);
        }
    }
}

/// `poll_fds` with the GIL released, for `select` and `poll`: in the main thread a signal's
/// handler runs (a Ctrl-C or a handler that raises ends the wait with its exception), then the
/// wait goes on for what is left of `timeout`, as CPython retries after EINTR (PEP 475).
fn wait_with_signals(
    interp: &mut Interp,
    fds: &mut [libc::pollfd],
    timeout: Option<Duration>,
) -> PyResult<std::io::Result<usize>> {
    let vm = interp.vm.clone();
    let interrupt = interp.is_main.then_some(&vm.interrupted);
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let mut left = timeout;
    loop {
        let result = interp.allow_threads(|| poll_fds(fds, left, interrupt));
        interp.check_signals()?;
        if !matches!(result, Ok(0)) || left == Some(Duration::ZERO) {
            return Ok(result);
        }
        // Without a deadline (no timeout, or one too long to represent) the wait simply
        // goes on until something is ready.
        if let Some(dl) = deadline {
            let now = Instant::now();
            if now >= dl {
                return Ok(result);
            }
            left = Some(dl - now);
        }
    }
}

/// Which of `rlist`, `wlist`, `xlist` (2) an object was in.
const READ: usize = 0;
const WRITE: usize = 1;

/// An object to wait on and its file descriptor.
struct Entry {
    obj: Value,
    fd: libc::c_int,
}

/// The file descriptor of an object given to `select`: an int, or what its `fileno()` returns.
pub(crate) fn fd_of(interp: &mut Interp, obj: &Value) -> PyResult<libc::c_int> {
    let n = match obj {
        Value::Int(i) => *i,
        Value::Bool(b) => *b as i64,
        _ => {
            let m = match interp.getattr(obj, "fileno") {
                Ok(m) => m,
                Err(e) if e.is(ExcKind::AttributeError) => {
                    return Err(err!(
                        TypeError,
                        "argument must be an int, or have a fileno() method."
                    ))
                }
                Err(e) => return Err(e),
            };
            match interp.call(&m, &[])? {
                Value::Int(i) => i,
                Value::Bool(b) => b as i64,
                _ => return Err(err!(TypeError, "fileno() returned a non-integer")),
            }
        }
    };
    if n < 0 {
        return Err(err!(
            ValueError,
            "file descriptor cannot be a negative integer ({n})"
        ));
    }
    match libc::c_int::try_from(n) {
        Ok(fd) => Ok(fd),
        Err(_) => Err(err!(OverflowError, "fd is greater than maximum")),
    }
}

/// `select.select(rlist, wlist, xlist, timeout=None)`: the three lists of objects ready for
/// reading, writing, and with an exceptional condition.
fn select(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    if !args.kw.is_empty() {
        return Err(err!(TypeError, "select() takes no keyword arguments"));
    }
    let n = args.pos.len();
    if n < 3 {
        return Err(err!(
            TypeError,
            "select expected at least 3 arguments, got {n}"
        ));
    }
    if n > 4 {
        return Err(err!(
            TypeError,
            "select expected at most 4 arguments, got {n}"
        ));
    }
    let timeout = match args.pos.get(3) {
        None | Some(Value::None) => None,
        Some(v) => {
            // Converted to CPython's clock first: its errors come before the sign check.
            let t = match v {
                Value::Int(_) | Value::Bool(_) | Value::Float(_) | Value::BigInt(_) => {
                    crate::stdlib::sync::seconds(v)?
                }
                _ => return Err(err!(TypeError, "timeout must be a float or None")),
            };
            let ns = t.ns()?;
            if ns < 0 {
                return Err(err!(ValueError, "timeout must be non-negative"));
            }
            Some(Duration::from_nanos(ns.unsigned_abs()))
        }
    };
    // Every fileno() call happens here, with the GIL held: only plain ints cross into the wait.
    let mut lists: [Vec<Entry>; 3] = Default::default();
    for (which, list) in lists.iter_mut().enumerate() {
        let items = match interp.collect_iter(&args.pos[which]) {
            Ok(items) => items,
            Err(e) if e.is(ExcKind::TypeError) => {
                return Err(err!(TypeError, "arguments 1-3 must be sequences"))
            }
            Err(e) => return Err(e),
        };
        for obj in items {
            let fd = fd_of(interp, &obj)?;
            list.push(Entry { obj, fd });
        }
    }
    // One pollfd per distinct descriptor, with the events of every list it is in.
    let mut fds: Vec<libc::pollfd> = Vec::new();
    for (which, list) in lists.iter().enumerate() {
        let events = match which {
            READ => libc::POLLIN,
            WRITE => libc::POLLOUT,
            _ => libc::POLLPRI,
        };
        for e in list {
            match fds.iter_mut().find(|p| p.fd == e.fd) {
                Some(p) => p.events |= events,
                None => fds.push(libc::pollfd {
                    fd: e.fd,
                    events,
                    revents: 0,
                }),
            }
        }
    }
    let result = wait_with_signals(interp, &mut fds, timeout)?;
    if let Err(e) = result {
        return Err(crate::stdlib::os::os_error(&e, None));
    }
    if fds.iter().any(|p| p.revents & libc::POLLNVAL != 0) {
        let ebadf = std::io::Error::from_raw_os_error(libc::EBADF);
        return Err(crate::stdlib::os::os_error(&ebadf, None));
    }
    let ready = |which: usize, fd: libc::c_int| -> bool {
        let revents = fds.iter().find(|p| p.fd == fd).map_or(0, |p| p.revents);
        let mask = match which {
            READ => libc::POLLIN | libc::POLLHUP | libc::POLLERR,
            WRITE => libc::POLLOUT | libc::POLLERR,
            _ => libc::POLLPRI,
        };
        revents & mask != 0
    };
    let mut out = Vec::with_capacity(3);
    for (which, list) in lists.iter().enumerate() {
        let hits: Vec<Value> = list
            .iter()
            .filter(|e| ready(which, e.fd))
            .map(|e| e.obj.clone())
            .collect();
        out.push(Value::list(hits));
    }
    Ok(Value::tuple(out))
}

// ---------------------------------------------------------------------------------------------
// select.poll(): a set of (descriptor, event mask) pairs polled together

/// One registered descriptor; `fd` is `None` for a socket with no descriptor yet, which polls
/// as an unconnected TCP socket does on Linux (writable, hung up).
#[derive(Clone, Copy)]
struct Registered {
    key: i64,
    fd: libc::c_int,
    events: libc::c_short,
}

/// Rust data of a `select.poll` object: the registrations in CPython's order (a dict's insertion
/// order), and whether a `poll()` is running (a second one at the same time is an error).
struct PollData {
    fds: parking_lot::Mutex<Vec<Registered>>,
    polling: AtomicBool,
}

static POLL_CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();

fn poll_class() -> Ref<Class> {
    POLL_CLASS
        .get_or_init(|| {
            native_class(
                "poll",
                "select",
                &[
                    ("__init__", poll_init),
                    ("register", poll_register),
                    ("modify", poll_modify),
                    ("unregister", poll_unregister),
                    ("poll", poll_poll),
                ],
            )
        })
        .clone()
}

fn poll_init(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let Some(Value::Instance(inst)) = args.pos.first() else {
        return Err(err!(TypeError, "select.poll() needs a poll instance"));
    };
    let n = args.pos.len() - 1 + args.kw.len();
    if n > 0 {
        return Err(err!(
            TypeError,
            "select.poll() takes no arguments ({n} given)"
        ));
    }
    let data = PollData {
        fds: parking_lot::Mutex::new(Vec::new()),
        polling: AtomicBool::new(false),
    };
    if !inst.set_native(Box::new(data)) {
        return Err(err!(RuntimeError, "select.poll.__init__() called twice"));
    }
    Ok(Value::None)
}

fn poll_data<'a>(args: &Args<'a>) -> PyResult<&'a PollData> {
    Ok(this::<PollData>(args, "select.poll")?.1)
}

/// An event mask argument (C `unsigned short`), CPython's errors included.
fn event_mask(v: &Value) -> PyResult<libc::c_short> {
    let n = crate::builtins::args::to_index(v)?;
    if n < 0 {
        return Err(err!(ValueError, "value must be positive"));
    }
    match u16::try_from(n) {
        // The kernel's field is a C `short`: the bit pattern is what counts.
        Ok(m) => Ok(m as libc::c_short),
        Err(_) => Err(err!(
            OverflowError,
            "Python int too large for C unsigned short"
        )),
    }
}

/// The registration key (the descriptor number) and descriptor of an int or `fileno()` object.
fn poll_target(interp: &mut Interp, obj: &Value) -> PyResult<(i64, libc::c_int)> {
    let fd = fd_of(interp, obj)?;
    Ok((i64::from(fd), fd))
}

/// `poll.register(fd, eventmask=POLLIN|POLLPRI|POLLOUT)`: registering again replaces the mask.
fn poll_register(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = poll_data(&args)?;
    let [fd, mask] = Sig::pos("register", Style::Unpack, &["fd", "eventmask"], 1)
        .method()
        .bind(&args)?;
    let events = match mask {
        Some(m) => event_mask(m)?,
        None => libc::POLLIN | libc::POLLPRI | libc::POLLOUT,
    };
    let (key, fd) = poll_target(interp, fd.unwrap_or(&Value::None))?;
    let mut fds = d.fds.lock();
    match fds.iter_mut().find(|r| r.key == key) {
        Some(r) => r.events = events,
        None => fds.push(Registered { key, fd, events }),
    }
    Ok(Value::None)
}

/// `poll.modify(fd, eventmask)`: `FileNotFoundError` (ENOENT) if `fd` is not registered.
fn poll_modify(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = poll_data(&args)?;
    let [fd, mask] = Sig::pos("modify", Style::Unpack, &["fd", "eventmask"], 2)
        .method()
        .bind(&args)?;
    let events = event_mask(mask.unwrap_or(&Value::None))?;
    let (key, _) = poll_target(interp, fd.unwrap_or(&Value::None))?;
    match d.fds.lock().iter_mut().find(|r| r.key == key) {
        Some(r) => r.events = events,
        None => {
            let enoent = std::io::Error::from_raw_os_error(libc::ENOENT);
            return Err(crate::stdlib::os::os_error(&enoent, None));
        }
    }
    Ok(Value::None)
}

/// `poll.unregister(fd)`: `KeyError` if `fd` is not registered.
fn poll_unregister(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = poll_data(&args)?;
    let [fd] = Sig::pos("unregister", Style::One, &["fd"], 1)
        .method()
        .bind(&args)?;
    let (key, _) = poll_target(interp, fd.unwrap_or(&Value::None))?;
    let mut fds = d.fds.lock();
    match fds.iter().position(|r| r.key == key) {
        Some(i) => {
            fds.remove(i);
            Ok(Value::None)
        }
        None => Err(crate::error::PyErr::with_args(
            ExcKind::KeyError,
            vec![Value::Int(key)],
        )),
    }
}

/// The `timeout` of `poll.poll` in milliseconds (`None`: forever; negative: forever).
fn poll_timeout(v: Option<&Value>) -> PyResult<Option<Duration>> {
    // As CPython: milliseconds to its nanosecond clock (an int or float too large for it is
    // that conversion's OverflowError), then to whole milliseconds rounded away from zero,
    // which poll(2) takes as a C int.
    let too_large = "timestamp too large to convert to C _PyTime_t";
    let ns: i64 = match v {
        None | Some(Value::None) => return Ok(None),
        Some(Value::Int(i)) => i
            .checked_mul(1_000_000)
            .ok_or(err!(OverflowError, "{too_large}"))?,
        Some(Value::Bool(b)) => i64::from(*b) * 1_000_000,
        Some(Value::Float(f)) if f.is_nan() => {
            return Err(err!(ValueError, "Invalid value NaN (not a number)"))
        }
        Some(Value::Float(f)) => crate::stdlib::sync::Secs::of_float(f / 1000.0).ns()?,
        Some(Value::BigInt(_)) => return Err(err!(OverflowError, "{too_large}")),
        Some(_) => return Err(err!(TypeError, "timeout must be an integer or None")),
    };
    let ms = ns / 1_000_000 + (ns % 1_000_000).signum();
    if ms > i64::from(i32::MAX) || ms < i64::from(i32::MIN) {
        return Err(err!(OverflowError, "timeout is too large"));
    }
    if ms < 0 {
        return Ok(None);
    }
    Ok(Some(Duration::from_millis(ms.unsigned_abs())))
}

/// `poll.poll(timeout=None)`: the `(fd, events)` pairs with something to report, in registration
/// order, after waiting (with the GIL released) at most `timeout` milliseconds.
fn poll_poll(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = poll_data(&args)?;
    if !args.kw.is_empty() {
        return Err(err!(TypeError, "poll.poll() takes no keyword arguments"));
    }
    let [timeout] = Sig::pos("poll", Style::Unpack, &["timeout"], 0)
        .method()
        .bind(&args)?;
    let timeout = poll_timeout(timeout)?;
    if d.polling.swap(true, Ordering::SeqCst) {
        return Err(err!(RuntimeError, "concurrent poll() invocation"));
    }
    let regs = d.fds.lock().clone();
    let mut fds: Vec<libc::pollfd> = regs
        .iter()
        .map(|r| libc::pollfd {
            fd: r.fd,
            events: r.events,
            revents: 0,
        })
        .collect();
    let result = wait_with_signals(interp, &mut fds, timeout);
    d.polling.store(false, Ordering::SeqCst);
    let result = result?;
    if let Err(e) = result {
        return Err(crate::stdlib::os::os_error(&e, None));
    }
    let mut out = Vec::new();
    for (r, p) in regs.iter().zip(&fds) {
        let revents = p.revents;
        if revents != 0 {
            let bits = i64::from(revents as u16);
            out.push(Value::tuple(vec![Value::Int(r.key), Value::Int(bits)]));
        }
    }
    Ok(Value::list(out))
}
