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
//!
//! # Ghost waiters
//!
//! Holding those locks is not enough with parking_lot, whose waiting threads are not kept by the
//! kernel but in a user-space table of queues (`parking_lot_core`, one queue per hash bucket of
//! the address waited on: the *park key*), whose entries are the waiting threads' own
//! thread-local records. The child gets a copy of that table with the entries of threads that do
//! not exist there: *ghost waiters*. An unlock or notify in the child would wake a ghost instead
//! of a real thread (a lock handed to a ghost is never released), and once the child starts a
//! thread of its own, the C library gives it the stack and thread-local block of a thread gone
//! in the fork, so its record overwrites a ghost's still linked into a queue (the SIGSEGV in the
//! condition variable of commit e43a198). So the child removes every ghost from the queues at
//! once, before anything else runs ([`clear_ghosts`]): `parking_lot_core::unpark_all` on each key
//! a ghost may be parked on. Two kinds of keys:
//! * the VM's own locks, which the caller knows and passes to [`fork`] (the GIL's mutexes and
//!   condition variables, the standard output buffer, the thread list, the import lists, the
//!   interval timer, the `--timeline` recorder...);
//! * the per-object ones (a `threading.Lock`, an `Event`, a `SimpleQueue`...), which only the
//!   waiting thread knows: every blocking wait of `stdlib/sync.rs` (and the other waits made
//!   through it) records its mutex and condition variable in the thread's [`Slot`] for as long
//!   as it runs ([`note_wait`]). A slot's mutex may even be *held* by its ghost at the fork (it
//!   is held around the state checks before and after each sleep): the child unlocks it, since
//!   its holder will never run again. A thread waiting to lock a file object's state records
//!   that mutex alone ([`note_queue`]): emptied of ghosts, never unlocked (its holder may have
//!   been halfway through a read); so does a thread waiting for a subprocess pipe's state.
//!
//! A removed ghost is "woken": its record is written and a futex wake sent to it. Its memory is
//! still mapped in the child and nothing else uses it yet (no thread has been started), so
//! that is harmless.
//!
//! A ghost may also have been caught *inside* a parking_lot_core operation, holding a bucket's
//! own lock (a window of a few instructions in a park or unpark, hit about once in a hundred
//! runs of tests/stress/fork_threads.mini): the child then blocks in [`clear_ghosts`] for good.
//! So the child tells the parent, through a socket pair, once its ghosts are gone, and waits
//! for a "go" before running anything of the program; a parent that hears nothing within
//! [`READY_TIMEOUT`] kills that child and forks again.
//!
//! Could a ghost hold the lock of a bucket that [`clear_ghosts`] never reaches, so that the
//! child passes the handshake and blocks later, at its first park or unpark under a key of that
//! bucket? Not as long as every key is listed, for this reason. A parking_lot lock or condition
//! variable touches the table only on its slow paths: a lock that finds another holder, an
//! unlock or notify that finds waiters (an uncontended lock and unlock, and a notify with no
//! waiter, are one atomic operation on the lock's own word). So a thread inside a bucket at the
//! fork is parking on, or waking the waiters of, a lock that is contended *at that instant*.
//! The forking thread holds the GIL (or has stopped the world), so every other thread running
//! then is outside the interpreter: in a blocking section, or one of the VM's helper threads.
//! Blocking sections park only through [`note_wait`]/[`note_queue`] or on the VM's own locks,
//! and a waker finds waiters only under a key some waiter recorded before parking. Of the
//! helper threads, the timer thread's locks are listed (`signal::TimerForkHold`); the
//! subprocess reaper's mutex and condition variable are contended only by a thread waiting for
//! that child, which recorded them (`block_on` notes its waits); the signal thread's `PENDING`
//! list is taken otherwise only by attached threads, none of which is in the middle of anything
//! at the fork. A bucket a ghost holds is therefore always the bucket of a key the child clears
//! first thing: the child blocks there, before the handshake, and the parent forks again. Each
//! new parking_lot lock that a thread may wait on outside the interpreter must keep this true
//! (be recorded, or be listed). The same holds for parking_lot_core's table growth, which locks
//! every bucket while a new thread first parks: every key cleared then blocks. docs/
//! ARCHITECTURE.md ("fork") weighs these.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::gil::ForkToken;

/// Which side of a fork this process is on.
pub enum Forked {
    /// The new process (`os.fork()` returns 0 there).
    Child,
    /// The calling process, with the child's pid.
    Parent(i32),
}

/// Fork the process. (The child's Ctrl-C is mended after this returns: `os_fork.rs` and
/// `signal::after_fork_child`.)
///
/// `held` are the park keys ([`mutex_key`], [`condvar_key`]) of the VM's own locks that other
/// threads may be waiting on; the child removes those threads' entries ([`clear_ghosts`]).
pub fn fork(_proof: &ForkToken<'_>, held: &[usize]) -> std::io::Result<Forked> {
    // No thread is starting or ending (see "Threads starting and ending"); none can begin to
    // until the copy is made. (Before `SLOTS` is locked: an ending thread's slot leaves it.)
    let mut quiet = quiesce();
    // This thread's slot, made before the list is locked (making it takes the lock).
    let mine = MY_SLOT.try_with(|s| Arc::as_ptr(&s.0)).ok();
    // No thread is halfway through adding or removing a slot in the copy.
    let mut slots = SLOTS.lock().unwrap_or_else(|e| e.into_inner());
    let mut attempts = 0;
    loop {
        attempts += 1;
        // The child says through this when its ghosts are gone; the parent answers "go".
        let (mut parent_end, mut child_end) = std::os::unix::net::UnixStream::pair()?;
        // SAFETY: `fork` itself has no memory-safety preconditions; what it needs is that the
        // child, which has only the calling thread, finds the memory it uses consistent.
        // `ForkToken` says every other interpreter thread is outside the heap (GIL held, or
        // world stopped) and the locks the child will take are held by this thread (see the
        // module's documentation); the other threads' stacks are copied too, so nothing the
        // child reaches points at unmapped memory.
        let pid = unsafe { libc::fork() };
        match pid {
            -1 => return Err(std::io::Error::last_os_error()),
            0 => {
                drop(parent_end);
                clear_ghosts(&mut slots, mine, held);
                // (Threads the wait gave up on are not in the child either.)
                quiet.0.starting = 0;
                quiet.0.ending.clear();
                child_ready(&mut child_end);
                return Ok(Forked::Child);
            }
            pid => {
                drop(child_end);
                if parent_go(&mut parent_end) {
                    return Ok(Forked::Parent(pid));
                }
                // The child is stuck on a lock of parking_lot's table that a thread held at
                // the fork (see the module's documentation): it has run nothing of the
                // program yet, so end it and fork again.
                if let Some(p) = rustix::process::Pid::from_raw(pid) {
                    let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
                    let _ =
                        rustix::process::waitpid(Some(p), rustix::process::WaitOptions::empty());
                }
                if attempts >= RETRIES {
                    return Err(std::io::Error::other(
                        "fork: the child process could not start",
                    ));
                }
            }
        }
    }
}

/// How many times [`fork`] tries before giving up on a child that does not start.
const RETRIES: u32 = 8;

/// How long the parent waits for its child to be rid of its ghosts (microseconds when the
/// machine is idle; long enough for a loaded one, where waiting too little costs only a retry).
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The child's side of the start-up handshake: say "ready", then wait for the parent's "go"
/// (the parent may instead kill it if "ready" came too late). Ends the process when the parent
/// is gone.
fn child_ready(end: &mut std::os::unix::net::UnixStream) {
    use std::io::{Read, Write};
    let mut go = [0u8; 1];
    if end.write_all(&[1]).is_err() || end.read_exact(&mut go).is_err() {
        exit_now(1)
    }
}

/// The parent's side: whether "ready" came in time (then "go" is sent).
fn parent_go(end: &mut std::os::unix::net::UnixStream) -> bool {
    use std::io::{Read, Write};
    let mut ready = [0u8; 1];
    end.set_read_timeout(Some(READY_TIMEOUT)).is_ok()
        && end.read_exact(&mut ready).is_ok()
        && end.write_all(&[1]).is_ok()
}

/// `_exit(2)`: end the process now, without running `atexit` handlers or flushing anything
/// (`os._exit`, and a forked `multiprocessing` child's end, as CPython's).
pub fn exit_now(status: i32) -> ! {
    // SAFETY: `_exit` has no preconditions: it ends the process and never returns, touching
    // no memory of it.
    unsafe { libc::_exit(status) }
}

/// In a forked child about to exec: SIGPIPE back to its default action (the Rust runtime
/// ignores it, and an ignored signal stays ignored across exec; `std::process::Command` resets
/// it too, and CPython's `restore_signals`) and no signal blocked.
pub fn default_signals_for_exec() -> nix::Result<()> {
    use nix::sys::signal::{pthread_sigmask, signal, SigHandler, SigSet, SigmaskHow, Signal};
    // SAFETY: SIG_DFL installs no handler: no code of ours runs on the signal.
    unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) }?;
    pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
}

/// Descriptor `n` (above 2) as an owned descriptor, if this process inherited it from the
/// program that started it (`subprocess.Popen(..., pass_fds=...)`, `os.set_inheritable`, a
/// shell's `3>file`): open and without close-on-exec. Every descriptor minivm itself opens is
/// close-on-exec (the standard library's and rustix's calls set it), and the ones the program
/// made inheritable are owned already (`stdlib/os.rs`'s table), as are those
/// `multiprocessing` hands to its children (made close-on-exec at once by the child), so such
/// a descriptor belongs to no Rust object: taking ownership of it is sound. The caller keeps
/// it (it is closed once, when dropped).
pub fn adopt_inherited_fd(n: i32) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    if n <= 2 {
        return None;
    }
    let flags = nix::fcntl::fcntl(n, nix::fcntl::FcntlArg::F_GETFD).ok()?;
    if flags & libc::FD_CLOEXEC != 0 {
        return None;
    }
    // SAFETY: `n` is open and not close-on-exec, so (above) nothing else in the process owns
    // it; the returned `OwnedFd` becomes its only owner.
    Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(n) })
}

/// A new descriptor for the open file that descriptor `n` names, whoever owns `n` (a file
/// object, a socket, the interpreter itself): what lets `os.read(f.fileno(), k)`,
/// `os.set_blocking(sock.fileno(), False)` or `os.fstat(sock.fileno())` act on the file as
/// in CPython, where a descriptor is only a number. The duplicate shares the open file (its
/// offset and status flags) and is closed when dropped; `n` itself is never closed or changed
/// here. EBADF if `n` is not open.
pub fn dup_open_fd(n: i64) -> std::io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let n = i32::try_from(n).map_err(|_| std::io::Error::from_raw_os_error(libc::EBADF))?;
    let dup = nix::fcntl::fcntl(n, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(3))
        .map_err(|e| std::io::Error::from_raw_os_error(e as i32))?;
    // SAFETY: `dup` was made by this very call, so nothing else in the process holds it; the
    // returned `OwnedFd` is its only owner and closes it once.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(dup) })
}

/// What a `subprocess` child sets up between its fork and its exec besides its streams,
/// working directory and process group: `Popen`'s `start_new_session`, `umask`,
/// `extra_groups`, `group`, `user`, `close_fds` and `pass_fds`, and the signal dispositions of
/// [`set_dispositions`].
#[derive(Clone, Debug, Default)]
pub struct ChildSetup {
    pub new_session: bool,
    pub ignore: u64,
    pub default: u64,
    pub umask: Option<u32>,
    /// setgroups(2): the supplementary groups.
    pub groups: Option<Vec<u32>>,
    /// setregid(2) of both ids.
    pub gid: Option<u32>,
    /// setreuid(2) of both ids.
    pub uid: Option<u32>,
    /// Close every descriptor above 2 at exec (CPython's `close_fds=True`), but `pass_fds`.
    pub close_fds: bool,
    /// Descriptors the program gets, at their numbers (their close-on-exec flag cleared).
    pub pass_fds: Vec<i32>,
}

/// Added to the errno of a failure of [`child_setup_on_exec`]'s steps, so that the parent
/// tells it from a failed exec (`std::process::Command` reports both as an `io::Error`): CPython
/// names the program only when the exec itself failed.
pub const SETUP_FAILED: i32 = 1 << 20;

impl ChildSetup {
    /// In a child about to exec (only there): the umask, then the groups and the ids, in
    /// CPython's order (`_posixsubprocess.c: child_exec`). Async-signal-safe: system calls
    /// only, no allocation.
    pub fn set_ids(&self) -> std::io::Result<()> {
        let check = |r: libc::c_int| {
            if r == -1 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(())
            }
        };
        // SAFETY: plain system calls on this (single-threaded, about to exec) process; the
        // groups pointer and length come from a live slice.
        unsafe {
            if let Some(mask) = self.umask {
                libc::umask(mask as libc::mode_t);
            }
            if let Some(groups) = &self.groups {
                check(libc::setgroups(groups.len(), groups.as_ptr()))?;
            }
            if let Some(gid) = self.gid {
                check(libc::setregid(gid, gid))?;
            }
            if let Some(uid) = self.uid {
                check(libc::setreuid(uid, uid))?;
            }
        }
        Ok(())
    }

    /// In a child about to exec (only there), after everything else: with `close_fds`, every
    /// descriptor above 2 closes at exec (close_range(2) with CLOSE_RANGE_CLOEXEC, or each
    /// one's flag set where the kernel lacks it); then the `pass_fds` lose that flag, so the
    /// program has them (EBADF for one not open). Async-signal-safe.
    pub fn set_descriptors(&self) -> std::io::Result<()> {
        // SAFETY: fcntl(2) and close_range(2) only change descriptor flags of this process,
        // which is about to exec; no memory is touched.
        unsafe {
            if self.close_fds
                && libc::syscall(
                    libc::SYS_close_range,
                    3u32,
                    u32::MAX,
                    libc::CLOSE_RANGE_CLOEXEC,
                ) == -1
            {
                let mut limit = std::mem::zeroed::<libc::rlimit>();
                let max = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
                    limit.rlim_cur.min(1 << 20) as libc::c_int
                } else {
                    1024
                };
                for fd in 3..max {
                    libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                }
            }
            for &fd in &self.pass_fds {
                let flags = libc::fcntl(fd, libc::F_GETFD);
                if flags == -1 || libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
        }
        Ok(())
    }

    /// Whether a `Command` child needs any step of its own: without one, no `pre_exec` is added
    /// (which keeps the standard library using posix_spawn).
    fn is_empty(&self) -> bool {
        !self.new_session
            && self.ignore == 0
            && self.default == 0
            && self.umask.is_none()
            && self.groups.is_none()
            && self.gid.is_none()
            && self.uid.is_none()
            && !self.close_fds
            && self.pass_fds.is_empty()
    }
}

/// Makes `cmd`'s child, between its fork and its exec, do what `setup` says: `setsid(2)` when
/// `new_session` (`subprocess.Popen(..., start_new_session=True)`: the child leads a new
/// session and process group of its own, so `os.killpg(child.pid, ...)` reaches it and what it
/// starts, and no terminal signal from the parent's session does), the signal dispositions,
/// then [`ChildSetup::set_ids`] and [`ChildSetup::set_descriptors`]. A failure is reported
/// with its errno plus [`SETUP_FAILED`]. Nothing is added when there is nothing to do (a
/// `pre_exec` keeps the standard library from using posix_spawn).
pub fn child_setup_on_exec(
    cmd: &mut std::process::Command,
    setup: ChildSetup,
    exec: Option<DirectExec>,
) {
    use std::os::unix::process::CommandExt;
    if setup.is_empty() && exec.as_ref().is_none_or(|x| !x.needs_own_exec()) {
        return;
    }
    // SAFETY: the closure runs in the forked child, where only async-signal-safe calls are
    // allowed: `setsid`, `sigaction` (what `set_dispositions` makes), `umask`, `setgroups`,
    // `setregid`, `setreuid`, `fcntl` and `close_range` are, and nothing here allocates or
    // locks (nor does making an `io::Error` from an errno).
    unsafe {
        cmd.pre_exec(move || {
            let steps = || -> std::io::Result<()> {
                if setup.new_session && libc::setsid() == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                set_dispositions(setup.ignore, setup.default).map_err(std::io::Error::from)?;
                setup.set_ids()?;
                setup.set_descriptors()
            };
            steps().map_err(|e| {
                std::io::Error::from_raw_os_error(SETUP_FAILED + e.raw_os_error().unwrap_or(0))
            })?;
            // The exec, here rather than std's execvp(3) (see DirectExec); only its error returns.
            match &exec {
                Some(x) => Err(x.exec()),
                None => Ok(()),
            }
        });
    }
}

/// The exec a child of std's `Command` does itself at the end of its setup steps, with execve(2):
/// std's own execvp(3) would run a file without `#!` under /bin/sh, where CPython's child fails
/// with ENOEXEC (`OSError: [Errno 8] Exec format error`). As CPython's child, it tries each path
/// in turn until one exec succeeds (a file without `#!` early in `PATH` leaves the next one of
/// that name to run), and reports the first error other than "not there" (ENOENT, ENOTDIR),
/// `earlier` if the parent already found one before the first path, else the last error.
/// Everything is built in the parent, as the forked child may not allocate.
pub struct DirectExec {
    paths: Vec<std::ffi::CString>,
    earlier: Option<i32>,
    _argv: Vec<std::ffi::CString>,
    _envp: Option<Vec<std::ffi::CString>>,
    argv_ptrs: Vec<*const libc::c_char>,
    envp_ptrs: Option<Vec<*const libc::c_char>>,
}

// SAFETY: the pointers point into the heap buffers of the CStrings the struct owns, which do not
// move when the struct does and live as long as it; they are only read (by execve in the child).
unsafe impl Send for DirectExec {}
// SAFETY: as for Send: nothing is ever written through the pointers.
unsafe impl Sync for DirectExec {}

impl DirectExec {
    /// `paths` (each with a `/`: no PATH search; at least one), `earlier` (the error to report
    /// if every path fails, when the parent's search met one first), `argv`, and the
    /// environment (None: the current). None when a string holds a NUL byte (the caller has
    /// rejected those already) or there is no path.
    pub fn new(
        paths: &[String],
        earlier: Option<i32>,
        argv: &[String],
        env: Option<&[(String, String)]>,
    ) -> Option<DirectExec> {
        use std::ffi::CString;
        let paths = paths
            .iter()
            .map(|p| CString::new(p.as_str()).ok())
            .collect::<Option<Vec<_>>>()?;
        if paths.is_empty() {
            return None;
        }
        let argv = argv
            .iter()
            .map(|a| CString::new(a.as_str()).ok())
            .collect::<Option<Vec<_>>>()?;
        let envp = match env {
            None => None,
            Some(env) => Some(
                env.iter()
                    .map(|(k, v)| CString::new(format!("{k}={v}")).ok())
                    .collect::<Option<Vec<_>>>()?,
            ),
        };
        let ptrs = |v: &[CString]| {
            v.iter()
                .map(|c| c.as_ptr())
                .chain([std::ptr::null()])
                .collect::<Vec<_>>()
        };
        let argv_ptrs = ptrs(&argv);
        let envp_ptrs = envp.as_deref().map(ptrs);
        Some(DirectExec {
            paths,
            earlier,
            _argv: argv,
            _envp: envp,
            argv_ptrs,
            envp_ptrs,
        })
    }

    /// Whether the child must exec by itself even with no set-up step: std's exec (posix_spawn)
    /// tries one path and reports its own error.
    fn needs_own_exec(&self) -> bool {
        self.paths.len() > 1 || self.earlier.is_some()
    }

    /// In the child: execve(2) on each path; returns only the error to report.
    fn exec(&self) -> std::io::Error {
        let mut saved = self.earlier;
        let mut last = libc::ENOENT;
        for path in &self.paths {
            // SAFETY: NUL-terminated strings and null-terminated pointer arrays that self owns.
            unsafe {
                match &self.envp_ptrs {
                    Some(envp) => {
                        libc::execve(path.as_ptr(), self.argv_ptrs.as_ptr(), envp.as_ptr())
                    }
                    None => libc::execv(path.as_ptr(), self.argv_ptrs.as_ptr()),
                };
            }
            let e = std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::ENOENT);
            if saved.is_none() && e != libc::ENOENT && e != libc::ENOTDIR {
                saved = Some(e);
            }
            last = e;
        }
        std::io::Error::from_raw_os_error(saved.unwrap_or(last))
    }
}

/// In a child about to exec: the signals of mask `ignore` (bit `n - 1` for signal `n`) are
/// ignored, those of `default` get their default action (what the program sees in
/// `signal.getsignal`, which minivm keeps in the Python module, becomes the kernel's: see
/// `stdlib::signal::exec_dispositions`).
pub fn set_dispositions(ignore: u64, default: u64) -> nix::Result<()> {
    use nix::sys::signal::{signal, SigHandler, Signal};
    for n in 1..=64 {
        let bit = 1u64 << (n - 1);
        let handler = if ignore & bit != 0 {
            SigHandler::SigIgn
        } else if default & bit != 0 {
            SigHandler::SigDfl
        } else {
            continue;
        };
        // (Real-time signals, SIGKILL and SIGSTOP are not `Signal`s: left as they are.)
        let Ok(sig) = Signal::try_from(n) else {
            continue;
        };
        if matches!(sig, Signal::SIGKILL | Signal::SIGSTOP) {
            continue;
        }
        // SAFETY: SIG_IGN and SIG_DFL install no handler: no code of ours runs on the signal.
        unsafe { signal(sig, handler) }?;
    }
    Ok(())
}

// -------------------------------------------------------------------------------------------
// Threads starting and ending.
//
// A new thread runs code of the runtime before its closure: Rust's standard library records
// the thread's stack guard in a table under a mutex, and mimalloc, at the thread's first
// allocation, links a heap for it into a list under another; a thread past its closure
// unlinks both again. Neither library has fork handlers (glibc's malloc has), so a fork while
// another thread holds one of those mutexes copies it locked, and the child's first new thread
// blocks on it for good. That was Ctrl-C never reaching a forked grandchild (1-3% of the runs
// of tests/scripts/signal/fork_ctrl_c.mini under load): the middle child forked while the
// signal thread it had just started was still starting, and the grandchild's own signal thread
// then never ran (gdb: blocked in `set_current_info`, and in mimalloc's `_mi_theap_init`).
// So every thread the VM starts goes through [`spawn`], which counts it as *starting* until
// its closure begins and lists it as *ending* from the end of its closure until the kernel has
// let it go; [`fork`] waits until there are none ([`quiesce`]) and keeps new ones from
// beginning until the copy is made.

/// The threads in their start or end (see above). A `std` mutex (a futex word: no user-space
/// queue whose entries a fork would copy): [`fork`] holds it across the copy.
struct Transitions {
    /// Threads created whose closure has not begun.
    starting: usize,
    /// Kernel thread ids of threads whose closure has ended (some may have exited since).
    ending: Vec<i32>,
    /// The length of `ending` at which the threads gone are next taken off it (twice what
    /// was left the last time: each ending thread costs a bounded number of looks).
    prune_at: usize,
}

static TRANSITIONS: std::sync::Mutex<Transitions> = std::sync::Mutex::new(Transitions {
    starting: 0,
    ending: Vec::new(),
    prune_at: 16,
});
static TRANSITIONS_CHANGED: std::sync::Condvar = std::sync::Condvar::new();

/// How long [`fork`] waits for starting and ending threads (microseconds when nothing is
/// wrong; past it, the fork goes ahead as it did before this wait existed).
const QUIET_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

fn transitions() -> std::sync::MutexGuard<'static, Transitions> {
    TRANSITIONS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether the thread `tid` of this process still exists (until the kernel has released it,
/// its directory stays under /proc).
pub fn thread_exists(tid: i32) -> bool {
    std::fs::metadata(format!("/proc/self/task/{tid}")).is_ok()
}

/// Start a thread with `builder` running `f`, counted as starting and ending (see above). Every
/// thread of the VM is started through this.
pub fn spawn<F, T>(
    builder: std::thread::Builder,
    f: F,
) -> std::io::Result<std::thread::JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    /// Dropped when the closure ends (returning or unwinding): the thread is ending.
    struct Ending;
    impl Drop for Ending {
        fn drop(&mut self) {
            let tid = rustix::thread::gettid().as_raw_nonzero().get();
            let mut t = transitions();
            if t.ending.len() >= t.prune_at {
                t.ending.retain(|&tid| thread_exists(tid));
                t.prune_at = (2 * t.ending.len()).max(16);
            }
            t.ending.push(tid);
        }
    }
    fn started() {
        let mut t = transitions();
        t.starting = t.starting.saturating_sub(1);
        drop(t);
        TRANSITIONS_CHANGED.notify_all();
    }
    transitions().starting += 1;
    let spawned = builder.spawn(move || {
        started();
        let _ending = Ending;
        f()
    });
    if spawned.is_err() {
        started();
    }
    spawned
}

/// [`spawn`] for a thread nobody joins (a Python thread, a helper of the VM's): the thread
/// detaches itself as its first step, and its handle is given up without detaching it; the
/// result is its pthread id (`threading`'s `ident`).
///
/// Why not drop the handle (`pthread_detach` from this thread): glibc's `pthread_detach` marks
/// the thread detached and then reads its control block, which lives at the top of the thread's
/// stack; a thread already ending at that moment sees itself detached, frees that block and
/// exits, and the next thread start or exit may unmap its stack (256 MiB stacks are never kept
/// in glibc's 40 MiB stack cache). A detaching thread preempted between the two steps then read
/// unmapped memory: SIGSEGV in `pthread_detach` in the main thread (seen once, in
/// `stress/dict_writes_beside_setattr` free-threaded at load 20, whose short threads end while
/// `start()` returns). A thread detaching itself is running, so it is not ending.
pub fn spawn_detached<F>(builder: std::thread::Builder, f: F) -> std::io::Result<u64>
where
    F: FnOnce() + Send + 'static,
{
    use std::os::unix::thread::JoinHandleExt;
    let handle = spawn(builder, move || {
        detach_self();
        f()
    })?;
    // Gives up the handle without `pthread_detach` (nor a join).
    Ok(handle.into_pthread_t() as u64)
}

/// Detach the calling thread (see [`spawn_detached`]).
fn detach_self() {
    // SAFETY: `pthread_self()` names the calling thread, which exists while it runs this, and
    // nothing else detaches or joins it: `spawn_detached` gave its handle up with
    // `into_pthread_t`, which does neither. Its resources are freed when it exits.
    let _ = unsafe { libc::pthread_detach(libc::pthread_self()) };
}

/// The end of [`quiesce`]'s wait: while it is held, no thread can begin starting or ending.
pub struct Quiet(std::sync::MutexGuard<'static, Transitions>);

impl Quiet {
    /// Threads created whose closure has not begun (0 unless the wait gave up).
    pub fn starting(&self) -> usize {
        self.0.starting
    }

    /// Threads past their closure that have not exited (none unless the wait gave up).
    pub fn ending(&self) -> &[i32] {
        &self.0.ending
    }
}

/// The kernel ids of the threads listed as ending (for tests).
pub fn ending_threads() -> Vec<i32> {
    transitions().ending.clone()
}

/// Wait (up to [`QUIET_TIMEOUT`]) until no thread is starting or ending; the guard keeps new
/// ones from beginning while it is held.
pub fn quiesce() -> Quiet {
    let deadline = std::time::Instant::now() + QUIET_TIMEOUT;
    let mut t = transitions();
    loop {
        t.ending.retain(|&tid| thread_exists(tid));
        if (t.starting == 0 && t.ending.is_empty()) || std::time::Instant::now() >= deadline {
            return Quiet(t);
        }
        // (Starting threads notify; an ending one's exit is seen only by looking again.)
        t = TRANSITIONS_CHANGED
            .wait_timeout(t, std::time::Duration::from_micros(100))
            .map(|(t, _)| t)
            .unwrap_or_else(|e| e.into_inner().0);
    }
}

// -------------------------------------------------------------------------------------------
// Ghost waiters (see the module's documentation).

/// What one thread is waiting on in a blocking wait of `stdlib/sync.rs`: the park keys of the
/// mutex and of the condition variable (0: none). Written by the thread itself, read only in a
/// forked child, where the thread no longer exists.
struct Slot {
    mutex: AtomicUsize,
    condvar: AtomicUsize,
    /// A mutex the thread is queued on but that may be held by another (ghost) thread whose
    /// data it guards is halfway changed: its queue is emptied, the mutex left as it is
    /// ([`note_queue`]).
    queued: AtomicUsize,
}

/// Every thread's slot that has made a noted wait (a thread's slot leaves when it ends).
/// A `std` mutex (a futex word, no user-space queue): [`fork`] holds it across the copy.
static SLOTS: std::sync::Mutex<Vec<Arc<Slot>>> = std::sync::Mutex::new(Vec::new());

/// A thread's own slot, listed in [`SLOTS`] from its first noted wait to its end.
struct MySlot(Arc<Slot>);

impl MySlot {
    fn new() -> MySlot {
        let slot = Arc::new(Slot {
            mutex: AtomicUsize::new(0),
            condvar: AtomicUsize::new(0),
            queued: AtomicUsize::new(0),
        });
        SLOTS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(slot.clone());
        MySlot(slot)
    }
}

impl Drop for MySlot {
    fn drop(&mut self) {
        SLOTS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|s| !Arc::ptr_eq(s, &self.0));
    }
}

thread_local! {
    static MY_SLOT: MySlot = MySlot::new();
}

/// The park key of a parking_lot mutex: the address its waiters queue under.
pub fn mutex_key<T: ?Sized>(m: &parking_lot::Mutex<T>) -> usize {
    // SAFETY: `raw` is unsafe because the raw mutex could be unlocked behind a guard's back;
    // here only its address is taken.
    let raw: &parking_lot::RawMutex = unsafe { m.raw() };
    std::ptr::from_ref(raw) as usize
}

/// The park key of a parking_lot condition variable.
pub fn condvar_key(cv: &parking_lot::Condvar) -> usize {
    std::ptr::from_ref(cv.raw()) as usize
}

/// Recorded while a thread runs a blocking wait on `m` and `cv`; cleared when dropped.
pub struct WaitNote {
    _not_send: std::marker::PhantomData<*const ()>,
}

/// Record, in the calling thread's slot, that it waits on `m` and `cv` until the returned note
/// is dropped: a forked child removes the thread's queue entries under those keys and unlocks
/// `m` if the thread held it at the fork. Keep the note alive longer than any guard of `m`, and
/// `m` and `cv` alive longer than the note (a forked child reads them through the slot).
pub fn note_wait<T: ?Sized>(m: &parking_lot::Mutex<T>, cv: &parking_lot::Condvar) -> WaitNote {
    let (mk, ck) = (mutex_key(m), condvar_key(cv));
    // (Only fails while the thread's own thread-locals are being torn down: nothing recorded.)
    let _ = MY_SLOT.try_with(|s| {
        s.0.condvar.store(ck, Ordering::SeqCst);
        s.0.mutex.store(mk, Ordering::SeqCst);
    });
    WaitNote {
        _not_send: std::marker::PhantomData,
    }
}

impl Drop for WaitNote {
    fn drop(&mut self) {
        let _ = MY_SLOT.try_with(|s| {
            s.0.mutex.store(0, Ordering::SeqCst);
            s.0.condvar.store(0, Ordering::SeqCst);
        });
    }
}

/// Recorded while a thread waits to lock a mutex ([`note_queue`]); cleared when dropped.
pub struct QueueNote {
    _not_send: std::marker::PhantomData<*const ()>,
}

/// Record, in the calling thread's slot, that it waits to lock `m` until the returned note is
/// dropped: a forked child removes the thread's queue entry under `m`'s key, but (unlike
/// [`note_wait`]) never unlocks `m`, whose holder may have been halfway through changing what
/// it guards (a file object's buffer during a read): a lock another thread held at the fork
/// stays held in the child, as in CPython. Keep `m` alive longer than the note.
pub fn note_queue<T: ?Sized>(m: &parking_lot::Mutex<T>) -> QueueNote {
    let key = mutex_key(m);
    let _ = MY_SLOT.try_with(|s| s.0.queued.store(key, Ordering::SeqCst));
    QueueNote {
        _not_send: std::marker::PhantomData,
    }
}

impl Drop for QueueNote {
    fn drop(&mut self) {
        let _ = MY_SLOT.try_with(|s| s.0.queued.store(0, Ordering::SeqCst));
    }
}

/// In a forked child, first thing: remove the ghost waiters (threads gone in the fork) from
/// parking_lot's queues under the keys `held` and those of the other threads' slots, drop
/// those slots, and unlock the slot mutexes a ghost still held. `mine` is this thread's slot.
fn clear_ghosts(slots: &mut Vec<Arc<Slot>>, mine: Option<*const Slot>, held: &[usize]) {
    let mut keys: Vec<usize> = held.to_vec();
    let mut mutexes = Vec::new();
    for slot in slots.iter() {
        if Some(Arc::as_ptr(slot)) == mine {
            continue;
        }
        let (m, c) = (
            slot.mutex.load(Ordering::SeqCst),
            slot.condvar.load(Ordering::SeqCst),
        );
        if c != 0 {
            keys.push(c);
        }
        let q = slot.queued.load(Ordering::SeqCst);
        if q != 0 {
            keys.push(q);
        }
        if m != 0 {
            keys.push(m);
            mutexes.push(m);
        }
    }
    slots.retain(|s| Some(Arc::as_ptr(s)) == mine);
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        // SAFETY: `unpark_all` is unsafe because it must not be called from a signal handler
        // (parking_lot_core is not reentrant); this is ordinary code of the only thread. The
        // threads it wakes are ghosts: their records are still mapped (their stacks and
        // thread-local blocks are copied) and not reused before any thread is started.
        unsafe {
            parking_lot_core::unpark_all(key, parking_lot_core::DEFAULT_UNPARK_TOKEN);
        }
    }
    mutexes.sort_unstable();
    mutexes.dedup();
    for m in mutexes {
        // Why the unlock below is sound: `m` is the address of the raw mutex of a
        // `parking_lot::Mutex` that a ghost recorded with `note_wait`, which keeps the mutex alive while the note exists: the
        // ghost's note is never dropped in the child (the ghost never runs again), and neither
        // are the references by which it reached the mutex, so it stays allocated. In the child
        // only this thread runs, and it holds no mutex of a noted wait while forking (they are
        // held only inside waits and short sections that do not fork): if the mutex is locked,
        // a ghost holds it and its guard will never unlock it, so unlocking it here is the
        // unlock that guard would have made. The queues under its key were emptied above, so
        // the unlock hands it to nobody.
        // SAFETY: as argued above: `m` is a live raw mutex only a ghost can hold, its queues
        // are empty, and this unlock is the one that ghost's guard would have made.
        unsafe {
            use parking_lot::lock_api::RawMutex as _;
            let raw = &*(m as *const parking_lot::RawMutex);
            if raw.is_locked() {
                raw.unlock(parking_lot::lock_api::GuardNoSend::new());
            }
        }
    }
}
