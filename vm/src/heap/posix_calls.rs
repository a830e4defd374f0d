//! C library calls `os` needs that neither nix nor rustix wraps safely (the crate's `unsafe`
//! lives under `heap/`): `confstr(3)` of any name, `getlogin(3)`, `setreuid(2)` and
//! `setregid(2)`. Each gives the C library's errno on failure. And `sched_getcpu(3)` for
//! `Thread.start()`, whose rustix wrapper crashes under valgrind, and `close(2)` of the
//! standard descriptors 0, 1, 2, which no owned-descriptor type can close safely. And the
//! Ctrl-C handler that raises the interpreter's flags itself ([`raise_flags_on_signal`]).

use std::sync::atomic::{AtomicU8, Ordering};

/// `confstr(name)`: `Ok(Some(value))` (possibly empty), `Ok(None)` when the name has no
/// value, `Err(errno)` for an unknown name (EINVAL).
pub fn confstr(name: i32) -> Result<Option<String>, i32> {
    let mut buf = vec![0u8; 256];
    nix::errno::Errno::clear();
    // SAFETY: `buf` is writable for `buf.len()` bytes; confstr writes at most that many,
    // NUL-terminated, and returns the length the whole value needs (0: no value or an error,
    // told apart by errno, cleared just before).
    let needed = unsafe { libc::confstr(name, buf.as_mut_ptr().cast(), buf.len()) };
    if needed == 0 {
        return match nix::errno::Errno::last() as i32 {
            0 => Ok(None),
            code => Err(code),
        };
    }
    if needed > buf.len() {
        buf.resize(needed, 0);
        // SAFETY: as above, with the buffer now as long as the value needs.
        let again = unsafe { libc::confstr(name, buf.as_mut_ptr().cast(), buf.len()) };
        if again == 0 || again > buf.len() {
            return Ok(None);
        }
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    buf.truncate(end);
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

/// The login name of the user on the process's controlling terminal (`getlogin(3)`, as
/// CPython calls it), or the errno it failed with (0 if it gave none).
pub fn login_name() -> Result<String, i32> {
    nix::errno::Errno::clear();
    // SAFETY: getlogin returns NULL or a NUL-terminated string in a static buffer, valid until
    // the next call; it is copied out at once.
    let name = unsafe {
        let p = libc::getlogin();
        if p.is_null() {
            None
        } else {
            Some(std::ffi::CStr::from_ptr(p).to_bytes().to_vec())
        }
    };
    match name {
        Some(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        None => Err(nix::errno::Errno::last() as i32),
    }
}

/// `setreuid(real, effective)` (`u32::MAX`: leave unchanged).
pub fn setreuid(real: u32, effective: u32) -> Result<(), i32> {
    // SAFETY: setreuid only reads its two integer arguments.
    let rc = unsafe { libc::setreuid(real, effective) };
    errno_of(rc)
}

/// `setregid(real, effective)` (`u32::MAX`: leave unchanged).
pub fn setregid(real: u32, effective: u32) -> Result<(), i32> {
    // SAFETY: setregid only reads its two integer arguments.
    let rc = unsafe { libc::setregid(real, effective) };
    errno_of(rc)
}

/// The processor the calling thread runs on (`sched_getcpu(3)`), or `None` if the C library
/// cannot tell. Through the C library rather than rustix: rustix finds the vDSO's `getcpu` by
/// reading the vDSO image from the auxiliary vector, which crashes under valgrind (a SIGSEGV
/// in `rustix::backend::param::auxv::check_elf_base`, the fault that moved `clock_gettime` to
/// nix: vm/Cargo.toml), and `Thread.start()` asks with the GIL on: every program starting a
/// thread died under callgrind.
pub fn current_cpu() -> Option<usize> {
    // SAFETY: sched_getcpu takes no argument and only returns an int (-1 on failure).
    let cpu = unsafe { libc::sched_getcpu() };
    usize::try_from(cpu).ok()
}

/// Bit `n`: the program closed standard descriptor `n` ([`close_standard_fd`]).
static STD_CLOSED: AtomicU8 = AtomicU8::new(0);
/// Bit `n`: `os.dup2` put a descriptor at `n` after the program closed it
/// ([`standard_fd_replaced`]).
static STD_REPLACED: AtomicU8 = AtomicU8::new(0);

/// Why [`close_standard_fd`] did not close a descriptor.
pub enum StdCloseError {
    /// Not open (as far as minivm can tell): EBADF, as CPython.
    NotOpen,
    /// Closed once already and opened again by `os.dup2`: what is there now may belong to a
    /// file object, so minivm will not close it by number (a documented limit).
    Replaced,
    /// close(2) failed with this errno.
    Os(i32),
}

/// `os.close(n)` for a standard descriptor (0, 1 or 2) that the program has not closed
/// before: the daemon's `os.close(0)`, or `os.close(1)` so that the next file opened becomes
/// the standard output, as C programs and CPython do.
pub fn close_standard_fd(n: i32) -> Result<(), StdCloseError> {
    let bit = u8::try_from(n)
        .ok()
        .filter(|&b| b <= 2)
        .map(|b| 1u8 << b)
        .ok_or(StdCloseError::NotOpen)?;
    if STD_CLOSED.fetch_or(bit, Ordering::AcqRel) & bit != 0 {
        return Err(if STD_REPLACED.load(Ordering::Acquire) & bit != 0 {
            StdCloseError::Replaced
        } else {
            StdCloseError::NotOpen
        });
    }
    // Why no Rust object owns `n` here: Rust's start-up code makes sure 0, 1 and 2 are open
    // (it opens /dev/null in place of a missing one), `std::io::stdin()`/`stdout()`/
    // `stderr()` use the numbers without owning them (and treat EBADF on them as a closed
    // stream), and minivm never wraps them in an `OwnedFd` or `File`
    // (`heap::fork::adopt_inherited_fd` refuses them; `subprocess` only moves descriptors
    // onto them in a child, after its fork). A descriptor minivm opens gets the lowest free
    // number, so it can be numbered 0-2 only once that number was closed.
    // SAFETY: `n` is 0, 1 or 2, owned by nothing (above) until this close, which happens at
    // most once per number (the bit just set): a later `os.close(n)` never reaches it.
    let rc = unsafe { libc::close(n) };
    if rc == 0 {
        Ok(())
    } else {
        Err(StdCloseError::Os(nix::errno::Errno::last() as i32))
    }
}

/// `os.dup2(fd, n)` put a descriptor at standard descriptor `n`; if the program had closed
/// `n`, a later `os.close(n)` is refused ([`StdCloseError::Replaced`]), since minivm cannot
/// tell whether a file object opened meanwhile owns that number.
pub fn standard_fd_replaced(n: i32) {
    if let Some(bit) = u8::try_from(n).ok().filter(|&b| b <= 2).map(|b| 1u8 << b) {
        if STD_CLOSED.load(Ordering::Acquire) & bit != 0 {
            STD_REPLACED.fetch_or(bit, Ordering::AcqRel);
        }
    }
}

fn errno_of(rc: i32) -> Result<(), i32> {
    if rc == 0 {
        Ok(())
    } else {
        Err(nix::errno::Errno::last() as i32)
    }
}

/// Install a handler for `sig` (besides those already there) that sets `first`, then the VM's
/// `interrupted` flag and the eval breaker, as CPython's handler trips its flags: the main
/// thread's next check point, or a wait's next look at `interrupted`, sees the signal without
/// waiting for a helper thread to be scheduled. The id lets the caller take it back.
pub fn raise_flags_on_signal(
    sig: i32,
    first: std::sync::Arc<std::sync::atomic::AtomicBool>,
    vm: std::sync::Arc<crate::interp::Vm>,
) -> std::io::Result<signal_hook::SigId> {
    let raise = move || {
        first.store(true, Ordering::SeqCst);
        vm.interrupted.store(true, Ordering::SeqCst);
        vm.eval_breaker.store(true, Ordering::SeqCst);
    };
    // SAFETY: the handler only does atomic stores to memory its `Arc`s keep alive for as long
    // as the registration (which owns the closure) exists: no allocation, lock or other call
    // that is not async-signal-safe, and nothing it touches can be freed under it.
    unsafe { signal_hook::low_level::register(sig, raise) }
}
