//! `select.epoll` (stage 4, the VM's standard library): Linux's epoll(7) objects, through nix's
//! safe wrappers: `register`, `modify`, `unregister`, `poll(timeout, maxevents)` (waiting with
//! the GIL released; in the main thread a signal's handler runs and the wait goes on, PEP 475),
//! `close`, `closed`, `fileno`, `with`; CPython's errors. The `EPOLL*` constants are here too.

use std::time::{Duration, Instant};

use nix::sys::epoll::{EpollCreateFlags, EpollEvent, EpollFlags, EpollOp};

use crate::builtins::args::{Sig, Style};
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::Class;
use crate::stdlib::os::os_error;
use crate::stdlib::sync::property;
use crate::stdlib::{native_class, this};
use crate::value::Value;
use crate::{err, PyResult};

/// The `EPOLL*` constants, as CPython exports them (Linux values).
pub const EPOLL_BITS: &[(&str, i64)] = &[
    ("EPOLLIN", 0x1),
    ("EPOLLPRI", 0x2),
    ("EPOLLOUT", 0x4),
    ("EPOLLERR", 0x8),
    ("EPOLLHUP", 0x10),
    ("EPOLLRDNORM", 0x40),
    ("EPOLLRDBAND", 0x80),
    ("EPOLLWRNORM", 0x100),
    ("EPOLLWRBAND", 0x200),
    ("EPOLLMSG", 0x400),
    ("EPOLLRDHUP", 0x2000),
    ("EPOLLEXCLUSIVE", 1 << 28),
    ("EPOLLONESHOT", 1 << 30),
    ("EPOLLET", 1 << 31),
    ("EPOLL_CLOEXEC", 0x80000),
];

/// An epoll object's descriptor (None once closed), closed when the object goes.
struct EpollData {
    fd: parking_lot::Mutex<Option<libc::c_int>>,
}

impl Drop for EpollData {
    fn drop(&mut self) {
        if let Some(fd) = self.fd.lock().take() {
            let _ = nix::unistd::close(fd);
        }
    }
}

static EPOLL_CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();

pub fn epoll_class() -> Ref<Class> {
    EPOLL_CLASS
        .get_or_init(|| {
            let cls = native_class(
                "epoll",
                "select",
                &[
                    ("__init__", epoll_init),
                    ("register", epoll_register),
                    ("modify", epoll_modify),
                    ("unregister", epoll_unregister),
                    ("poll", epoll_poll),
                    ("close", epoll_close),
                    ("fileno", epoll_fileno),
                    ("__enter__", epoll_enter),
                    ("__exit__", epoll_exit),
                ],
            );
            cls.dict.write().insert(
                std::sync::Arc::from("closed"),
                property(("closed", epoll_closed)),
            );
            cls
        })
        .clone()
}

/// `select.epoll(sizehint=-1, flags=0)`: the descriptor is always close-on-exec.
fn epoll_init(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let Some(Value::Instance(inst)) = args.pos.first() else {
        return Err(err!(TypeError, "select.epoll() needs an epoll instance"));
    };
    let [sizehint, _flags] = Sig::pos("epoll", Style::Keywords, &["sizehint", "flags"], 0)
        .method()
        .bind(&args)?;
    if let Some(v) = sizehint {
        let n = crate::builtins::args::to_index(v)?;
        if n == 0 || n < -1 {
            return Err(err!(ValueError, "negative sizehint"));
        }
    }
    let fd = nix::sys::epoll::epoll_create1(EpollCreateFlags::EPOLL_CLOEXEC)
        .map_err(|e| os_error(&std::io::Error::from(e), None))?;
    let data = EpollData {
        fd: parking_lot::Mutex::new(Some(fd)),
    };
    if !inst.set_native(Box::new(data)) {
        let _ = nix::unistd::close(fd);
        return Err(err!(RuntimeError, "select.epoll.__init__() called twice"));
    }
    Ok(Value::None)
}

/// The open descriptor of `self`, or CPython's ValueError for a closed epoll object.
fn open_fd(args: &Args<'_>) -> PyResult<libc::c_int> {
    let (_, d) = this::<EpollData>(args, "select.epoll")?;
    let fd = *d.fd.lock();
    fd.ok_or_else(|| err!(ValueError, "I/O operation on closed epoll object"))
}

/// An event mask argument (C `unsigned int`).
fn mask_arg(v: &Value) -> PyResult<EpollFlags> {
    let n = crate::builtins::args::to_index(v)?;
    match u32::try_from(n) {
        Ok(m) => Ok(EpollFlags::from_bits_truncate(m as i32)),
        Err(_) if n < 0 => Err(err!(
            OverflowError,
            "can't convert negative int to unsigned"
        )),
        Err(_) => Err(err!(
            OverflowError,
            "Python int too large to convert to C unsigned long"
        )),
    }
}

fn ctl(op: EpollOp, epfd: libc::c_int, fd: libc::c_int, mask: EpollFlags) -> PyResult<Value> {
    let mut ev = EpollEvent::new(mask, fd as u64);
    let result = if op == EpollOp::EpollCtlDel {
        nix::sys::epoll::epoll_ctl(epfd, op, fd, None)
    } else {
        nix::sys::epoll::epoll_ctl(epfd, op, fd, &mut ev)
    };
    result.map_err(|e| os_error(&std::io::Error::from(e), None))?;
    Ok(Value::None)
}

/// `epoll.register(fd, eventmask=EPOLLIN|EPOLLPRI|EPOLLOUT)`: FileExistsError if registered.
fn epoll_register(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd, mask] = Sig::pos("register", Style::Keywords, &["fd", "eventmask"], 1)
        .method()
        .bind(&args)?;
    let fd = crate::stdlib::select::fd_of(interp, fd.unwrap_or(&Value::None))?;
    let mask = match mask {
        Some(m) => mask_arg(m)?,
        None => EpollFlags::EPOLLIN | EpollFlags::EPOLLPRI | EpollFlags::EPOLLOUT,
    };
    ctl(EpollOp::EpollCtlAdd, open_fd(&args)?, fd, mask)
}

/// `epoll.modify(fd, eventmask)`: FileNotFoundError if `fd` is not registered.
fn epoll_modify(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd, mask] = Sig::pos("modify", Style::Keywords, &["fd", "eventmask"], 2)
        .method()
        .bind(&args)?;
    let fd = crate::stdlib::select::fd_of(interp, fd.unwrap_or(&Value::None))?;
    let mask = mask_arg(mask.unwrap_or(&Value::None))?;
    ctl(EpollOp::EpollCtlMod, open_fd(&args)?, fd, mask)
}

/// `epoll.unregister(fd)`: FileNotFoundError if `fd` is not registered.
fn epoll_unregister(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd] = Sig::pos("unregister", Style::Keywords, &["fd"], 1)
        .method()
        .bind(&args)?;
    let fd = crate::stdlib::select::fd_of(interp, fd.unwrap_or(&Value::None))?;
    ctl(
        EpollOp::EpollCtlDel,
        open_fd(&args)?,
        fd,
        EpollFlags::empty(),
    )
}

/// The `timeout` of `epoll.poll` in seconds (None or negative: forever).
fn timeout_arg(v: Option<&Value>) -> PyResult<Option<Duration>> {
    let ns = match v {
        None | Some(Value::None) => return Ok(None),
        Some(v) => crate::stdlib::sync::seconds(v)?.ns()?,
    };
    // CPython rounds up to whole milliseconds, which epoll_wait takes as a C int.
    let ms = ns.div_euclid(1_000_000) + i64::from(ns.rem_euclid(1_000_000) != 0);
    if ms > i64::from(i32::MAX) || ms < i64::from(i32::MIN) {
        return Err(crate::err!(OverflowError, "timeout is too large"));
    }
    if ms < 0 {
        return Ok(None);
    }
    Ok(Some(Duration::from_millis(ms.unsigned_abs())))
}

/// `epoll.poll(timeout=None, maxevents=-1)`: `(fd, events)` pairs, after waiting (with the GIL
/// released) until something is ready or `timeout` seconds pass.
fn epoll_poll(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [timeout, maxevents] = Sig::pos("poll", Style::Keywords, &["timeout", "maxevents"], 0)
        .method()
        .bind(&args)?;
    let epfd = open_fd(&args)?;
    let timeout = timeout_arg(timeout)?;
    let max = match maxevents {
        None => -1,
        Some(v) => crate::builtins::args::to_index(v)?,
    };
    let max = match max {
        -1 => 1023,
        n if n <= 0 => {
            return Err(err!(
                ValueError,
                "maxevents must be greater than 0, got {n}"
            ))
        }
        n => usize::try_from(n).unwrap_or(1023).min(1 << 16),
    };
    let mut events = vec![EpollEvent::empty(); max];
    let vm = interp.vm.clone();
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let n = loop {
        let interrupt = interp.is_main.then_some(&vm.interrupted);
        // Slices of at most 50 ms in the main thread, so a signal is noticed.
        let result = interp.allow_threads(|| {
            let mut slice = deadline.map(|dl| dl.saturating_duration_since(Instant::now()));
            if interrupt.is_some() {
                slice = Some(slice.map_or(Duration::from_millis(50), |s| {
                    s.min(Duration::from_millis(50))
                }));
            }
            let ms = slice.map_or(-1, |d| {
                d.as_micros().div_ceil(1000).min(i32::MAX as u128) as isize
            });
            nix::sys::epoll::epoll_wait(epfd, &mut events, ms)
        });
        interp.check_signals()?;
        match result {
            Ok(0) | Err(nix::errno::Errno::EINTR) => {}
            Ok(n) => break n,
            Err(e) => return Err(os_error(&std::io::Error::from(e), None)),
        }
        if deadline.is_some_and(|dl| Instant::now() >= dl) {
            break 0;
        }
    };
    let out = events[..n]
        .iter()
        .map(|e| {
            Value::tuple(vec![
                Value::Int(e.data() as i64),
                Value::Int(i64::from(e.events().bits() as u32)),
            ])
        })
        .collect();
    Ok(Value::list(out))
}

fn epoll_close(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("close", Style::Unpack, &[], 0)
        .method()
        .check(&args)?;
    let (_, d) = this::<EpollData>(&args, "select.epoll")?;
    if let Some(fd) = d.fd.lock().take() {
        nix::unistd::close(fd).map_err(|e| os_error(&std::io::Error::from(e), None))?;
    }
    Ok(Value::None)
}

fn epoll_closed(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<EpollData>(&args, "select.epoll")?;
    let closed = d.fd.lock().is_none();
    Ok(Value::Bool(closed))
}

fn epoll_fileno(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("fileno", Style::Unpack, &[], 0)
        .method()
        .check(&args)?;
    Ok(Value::Int(i64::from(open_fd(&args)?)))
}

fn epoll_enter(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    open_fd(&args)?;
    Ok(args.pos[0].clone())
}

fn epoll_exit(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let me = Args {
        pos: &args.pos[..1],
        kw: &[],
    };
    epoll_close(interp, me)
}
