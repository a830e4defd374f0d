//! `fork(2)`: the one call that copies the whole process, heap included (for `os.fork` and
//! `multiprocessing`'s fork start method, `stdlib/os_fork.rs`).
//!
//! It is here, with the heap's other `unsafe` code, because what makes it sound is the heap's
//! invariant: the child is a copy of the parent's memory with **one** thread, the caller. Every
//! object, reference count and borrow flag is copied as it was at that instant, so the copy is
//! consistent only if no other thread was halfway through changing one. The caller proves that
//! with a [`crate::gil::ForkToken`], which only `Gil::around_fork` makes: the GIL is held (GIL
//! model: no other thread touches objects) or the world is stopped (free-threaded model: no
//! other thread is attached), and the GIL's own locks, the recorder's and the VM's few global
//! ones are held by the caller across the call, so none is copied locked by a thread that will
//! not exist in the child.

use crate::gil::ForkToken;

/// Which side of a fork this process is on.
pub enum Forked {
    /// The new process (`os.fork()` returns 0 there).
    Child,
    /// The calling process, with the child's pid.
    Parent(i32),
}

/// Fork the process. In the child, SIGINT goes back to its default action at once: the parent's
/// Ctrl-C handler writes to a pipe read by the parent's own handler thread (which the child does
/// not have), so a Ctrl-C meant for the child would interrupt the parent. The child installs its
/// own handler next (`os_fork.rs`).
pub fn fork(_proof: &ForkToken<'_>) -> std::io::Result<Forked> {
    // SAFETY: `fork` itself has no memory-safety preconditions; what it needs is that the child,
    // which has only the calling thread, finds the memory it uses consistent. `ForkToken` says
    // every other interpreter thread is outside the heap (GIL held, or world stopped) and the
    // locks the child will take are held by this thread (see the module's documentation); the
    // other threads' stacks are copied too, so nothing the child reaches points at unmapped
    // memory.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(std::io::Error::last_os_error()),
        0 => {
            // SAFETY: setting a signal's disposition to `SIG_DFL` installs no handler code;
            // `signal` with a valid signal number and `SIG_DFL` cannot fault.
            unsafe {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
            }
            Ok(Forked::Child)
        }
        pid => Ok(Forked::Parent(pid)),
    }
}

/// `_exit(2)`: end the process now, without running `atexit` handlers or flushing anything
/// (`os._exit`, and a forked `multiprocessing` child's end, as CPython's).
pub fn exit_now(status: i32) -> ! {
    // SAFETY: `_exit` has no preconditions: it ends the process and never returns, touching
    // no memory of it.
    unsafe { libc::_exit(status) }
}
