//! The `select` module: `select.select(rlist, wlist, xlist, timeout=None)` on `poll(2)`, waiting
//! with the GIL released, plus the one `poll` wrapper the socket module shares.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{ExcKind, Module};
use crate::stdlib::{func, make_module};
use crate::value::Value;
use crate::{err, PyResult};

pub fn select_module() -> Ref<Module> {
    make_module(
        "select",
        vec![
            ("select", func("select", select)),
            (
                "error",
                Value::Class(crate::object::types().exc(ExcKind::OSError).clone()),
            ),
        ],
    )
}

/// One `poll(2)` call over `fds`, waiting at most `timeout_ms` milliseconds (-1: no limit).
fn poll_once(fds: &mut [libc::pollfd], timeout_ms: libc::c_int) -> std::io::Result<usize> {
    // SAFETY: `fds` is a live, exclusively borrowed slice of `pollfd` for the whole call and
    // `fds.len()` is its exact length, so the kernel reads and writes only inside it; `poll`
    // keeps no pointer after it returns. The descriptors themselves need not be valid: a bad
    // one comes back as `POLLNVAL`, not as undefined behaviour.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if n < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
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

/// Which of `rlist`, `wlist`, `xlist` an object was in.
const READ: usize = 0;
const WRITE: usize = 1;
const EXCEPT: usize = 2;

/// An object to wait on: its file descriptor, or `None` for a socket that has none yet
/// (see `socket::is_unbound`): ready at once for reading and writing.
struct Entry {
    obj: Value,
    fd: Option<libc::c_int>,
}

/// The file descriptor of an object given to `select`: an int, or what its `fileno()` returns.
fn fd_of(interp: &mut Interp, obj: &Value) -> PyResult<Option<libc::c_int>> {
    if crate::stdlib::socket::is_unbound(obj) {
        return Ok(None);
    }
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
        Ok(fd) => Ok(Some(fd)),
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
            let secs = match v {
                Value::Int(i) => *i as f64,
                Value::Bool(b) => *b as i64 as f64,
                Value::Float(f) => *f,
                _ => return Err(err!(TypeError, "timeout must be a float or None")),
            };
            if secs.is_nan() {
                return Err(err!(ValueError, "Invalid value NaN (not a number)"));
            }
            if secs < 0.0 {
                return Err(err!(ValueError, "timeout must be non-negative"));
            }
            Some(
                Duration::try_from_secs_f64(secs)
                    .map_err(|_| err!(OverflowError, "timeout doesn't fit into C timeval"))?,
            )
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
    let mut always_ready = false;
    for (which, list) in lists.iter().enumerate() {
        let events = match which {
            READ => libc::POLLIN,
            WRITE => libc::POLLOUT,
            _ => libc::POLLPRI,
        };
        for e in list {
            match e.fd {
                None => always_ready |= which != EXCEPT,
                Some(fd) => match fds.iter_mut().find(|p| p.fd == fd) {
                    Some(p) => p.events |= events,
                    None => fds.push(libc::pollfd {
                        fd,
                        events,
                        revents: 0,
                    }),
                },
            }
        }
    }
    let wait = if always_ready {
        Some(Duration::ZERO)
    } else {
        timeout
    };
    let vm = interp.vm.clone();
    let interrupt = interp.is_main.then_some(&vm.interrupted);
    let result = interp.allow_threads(|| poll_fds(&mut fds, wait, interrupt));
    interp.check_signals()?;
    if let Err(e) = result {
        return Err(crate::stdlib::os::os_error(&e, None));
    }
    if fds.iter().any(|p| p.revents & libc::POLLNVAL != 0) {
        let ebadf = std::io::Error::from_raw_os_error(libc::EBADF);
        return Err(crate::stdlib::os::os_error(&ebadf, None));
    }
    let ready = |which: usize, fd: Option<libc::c_int>| -> bool {
        let Some(fd) = fd else {
            return which != EXCEPT;
        };
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
