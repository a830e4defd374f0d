//! `_signal` (stdlib stage): the native half of `signal` (`vm/lib/signal.mini`): signal numbers,
//! capturing signals so Python handlers run at the main thread's next safe point, as CPython
//! runs them (a C handler only records the signal; `PyErr_CheckSignals` calls the handler later).
//!
//! How a signal reaches a handler: SIGINT's handler sets [`CTRL_C`], `Vm::interrupted` and the
//! eval breaker itself (as CPython's handler trips its flags), so the main thread's next check
//! point or wait slice sees it at once, and wakes a helper thread ([`catch_sigint`]) that counts
//! it; a wait that ends just after the signal (a child killed by the same Ctrl-C) still raises. As in CPython, a SIGINT the parent process left ignored (`nohup`, a
//! shell's background job) stays ignored until the program sets a handler, and every signal
//! ignored at start-up (SIGPIPE always: Rust's runtime ignores it, as CPython does) is reported
//! by `signal.getsignal` as `SIG_IGN` ([`ignored_at_start`]). Any other signal a program installs a handler for is captured by
//! `signal-hook`: its handler raises the signal's flag ([`FLAGS`]) and `interrupted` itself, and
//! wakes a helper thread that records it in [`PENDING`] (the main thread's check point moves the
//! flagged signals there too), so the main thread notices it wherever it would notice Ctrl-C
//! (every check point, and the blocking waits that Ctrl-C interrupts). At that check point [`on_interrupt`] runs: recorded
//! signals go to `signal._dispatch(signum)` (the handlers live in the Python module), and a
//! Ctrl-C ([`CTRL_C`]) raises `KeyboardInterrupt` unless the program
//! installed its own SIGINT handler; a wake-up that finds neither does nothing. Signals with the default action that are not captured act as usual (a
//! SIGTERM ends the process).
//!
//! Which thread the kernel runs a handler on: the interpreter's main thread, the only one (with
//! the program's own threads) that does not block the signals sent to the process
//! ([`ProcessSignalsBlocked`]), so a handler has run before that thread goes on.
//!
//! `pthread_sigmask` is emulated rather than set in the kernel (the main thread must still
//! receive the signals, to record them): the main thread's mask is [`BLOCKED`]; a captured signal
//! (or Ctrl-C) that arrives while blocked is held in [`HELD`] instead of being dispatched
//! (`sigpending` lists them, `sigwait` takes them), and unblocking gives the held ones back to
//! their handlers, as the kernel delivers pending signals on unblocking.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use crate::builtins::args::{to_index, ArgsExt};
use crate::builtins::Methods;
use crate::heap::Ref;
use crate::interp::{Args, Interp, Vm};
use crate::object::Module;
use crate::value::Value;
use crate::{err, PyResult};

const FUNCS: Methods = &[
    ("_capture", capture),
    ("_set_sigint", set_sigint),
    ("_ignored_at_start", ignored_at_start_fn),
    ("_set_ignored", set_ignored),
    ("_take_pending", take_pending),
    ("_default_action", default_action),
    ("raise_signal", raise_signal),
    ("strsignal", strsignal),
    ("default_int_handler", default_int_handler),
    ("alarm", alarm),
    ("pause", pause),
    ("_setitimer_real", setitimer_real),
    ("_getitimer_real", getitimer_real),
    ("_set_blocked", set_blocked),
    ("_take_held", take_held),
    ("_held", held),
];

/// Linux's signal numbers and names (x86-64).
const SIGNALS: &[(&str, i64)] = &[
    ("SIGHUP", 1),
    ("SIGINT", 2),
    ("SIGQUIT", 3),
    ("SIGILL", 4),
    ("SIGTRAP", 5),
    ("SIGABRT", 6),
    ("SIGIOT", 6),
    ("SIGBUS", 7),
    ("SIGFPE", 8),
    ("SIGKILL", 9),
    ("SIGUSR1", 10),
    ("SIGSEGV", 11),
    ("SIGUSR2", 12),
    ("SIGPIPE", 13),
    ("SIGALRM", 14),
    ("SIGTERM", 15),
    ("SIGSTKFLT", 16),
    ("SIGCHLD", 17),
    ("SIGCLD", 17),
    ("SIGCONT", 18),
    ("SIGSTOP", 19),
    ("SIGTSTP", 20),
    ("SIGTTIN", 21),
    ("SIGTTOU", 22),
    ("SIGURG", 23),
    ("SIGXCPU", 24),
    ("SIGXFSZ", 25),
    ("SIGVTALRM", 26),
    ("SIGPROF", 27),
    ("SIGWINCH", 28),
    ("SIGIO", 29),
    ("SIGPOLL", 29),
    ("SIGPWR", 30),
    ("SIGSYS", 31),
    ("SIGRTMIN", 34),
    ("SIGRTMAX", 64),
];

/// What strsignal(3) says, for the common signals (glibc's texts).
const DESCRIPTIONS: &[(i64, &str)] = &[
    (1, "Hangup"),
    (2, "Interrupt"),
    (3, "Quit"),
    (4, "Illegal instruction"),
    (5, "Trace/breakpoint trap"),
    (6, "Aborted"),
    (7, "Bus error"),
    (8, "Floating point exception"),
    (9, "Killed"),
    (10, "User defined signal 1"),
    (11, "Segmentation fault"),
    (12, "User defined signal 2"),
    (13, "Broken pipe"),
    (14, "Alarm clock"),
    (15, "Terminated"),
    (16, "Stack fault"),
    (17, "Child exited"),
    (18, "Continued"),
    (19, "Stopped (signal)"),
    (20, "Stopped"),
    (21, "Stopped (tty input)"),
    (22, "Stopped (tty output)"),
    (23, "Urgent I/O condition"),
    (24, "CPU time limit exceeded"),
    (25, "File size limit exceeded"),
    (26, "Virtual timer expired"),
    (27, "Profiling timer expired"),
    (28, "Window changed"),
    (29, "I/O possible"),
    (30, "Power failure"),
    (31, "Bad system call"),
];

pub fn module() -> Ref<Module> {
    let mut consts: Vec<(&str, Value)> =
        SIGNALS.iter().map(|(n, v)| (*n, Value::Int(*v))).collect();
    consts.push(("NSIG", Value::Int(65)));
    super::module_from_fns("_signal", FUNCS, consts)
}

/// Signals captured and not yet handled, in arrival order.
static PENDING: Mutex<Vec<i64>> = Mutex::new(Vec::new());

/// What Ctrl-C does: 0 `default_int_handler` (KeyboardInterrupt), 1 ignore, 2 the default
/// action (the process ends), 3 a Python handler.
static SIGINT_MODE: AtomicI64 = AtomicI64::new(0);

/// The signals whose disposition was "ignore" when the process started, as a bit mask (bit
/// `n - 1` for signal `n`), read once from Linux's `/proc/self/status` (`SigIgn:`); none where
/// that file cannot be read.
pub fn ignored_at_start() -> u64 {
    static MASK: OnceLock<u64> = OnceLock::new();
    *MASK.get_or_init(|| {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("SigIgn:"))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .unwrap_or(0)
    })
}

/// The signals the program's `signal.signal` set to `SIG_IGN` since start-up (bit `n - 1`),
/// and those it set to something else: minivm ignores a signal in the Python module, not in the
/// kernel, so the programs it starts get the kernel's "ignore" from [`exec_dispositions`].
static SET_IGNORED: AtomicU64 = AtomicU64::new(0);
static SET_OTHER: AtomicU64 = AtomicU64::new(0);

/// `_signal._set_ignored(signum, ignored)`: `signal.signal` gave `signum` a handler, `SIG_IGN`
/// when `ignored`.
fn set_ignored(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("_set_ignored", 2, 2)?;
    let n = to_index(&args.pos[0])?;
    if let Some(bit) = (1..=64).contains(&n).then(|| 1u64 << (n - 1)) {
        let (set, clear) = if matches!(args.pos[1], Value::Bool(true)) {
            (&SET_IGNORED, &SET_OTHER)
        } else {
            (&SET_OTHER, &SET_IGNORED)
        };
        set.fetch_or(bit, Ordering::SeqCst);
        clear.fetch_and(!bit, Ordering::SeqCst);
    }
    Ok(Value::None)
}

/// The dispositions a child gets before its exec, as a child of CPython would (whose handlers
/// are the kernel's): `(ignore, default)` masks (bit `n - 1` for signal `n`). Ignored: what
/// `signal.getsignal` says is `SIG_IGN` (set by the program, or ignored at start and not changed
/// since); back to the default: a signal ignored at start that the program gave another
/// handler. SIGPIPE and SIGXFSZ are left out: `restore_signals` gives them their defaults.
pub fn exec_dispositions() -> (u64, u64) {
    let set_ignored = SET_IGNORED.load(Ordering::SeqCst);
    let set_other = SET_OTHER.load(Ordering::SeqCst);
    let at_start = ignored_at_start();
    let restored = (1u64 << (libc::SIGPIPE - 1)) | (1u64 << (libc::SIGXFSZ - 1));
    let ignore = (set_ignored | (at_start & !set_other)) & !restored;
    let default = at_start & set_other & !restored;
    (ignore, default)
}

/// A thread's kernel signal mask while it blocks every signal sent to the whole process, so that
/// the kernel gives those to the interpreter's main thread: the old mask, put back on drop.
///
/// Why: the kernel delivers a signal sent to the process (`kill`, Ctrl-C) to its first thread if
/// that thread does not block it, else to another one. minivm's first thread only waits for the
/// interpreter's main thread (which runs on a thread with a big stack), so the signal's handler
/// ran there, whenever a loaded machine scheduled it, while the main thread went on: a child
/// that sent SIGINT to its parent and exited could be seen to have ended before the handler had
/// set [`CTRL_C`], and `subprocess.run` returned with the KeyboardInterrupt left for a later
/// line. The first thread while it waits, and minivm's helper threads (the signal wake-ups, the
/// subprocess reapers, the interval timer, the parent watcher), block them; the main thread then
/// takes every such signal itself, its handler running before the thread goes on (CPython's
/// main thread is the first one, which the kernel prefers). Python threads keep the main
/// thread's empty mask, as in CPython. The faults the kernel sends to the thread that caused
/// them stay unblocked (blocking those would hide a crash), and the C library keeps the
/// signals it uses itself.
pub struct ProcessSignalsBlocked(Option<nix::sys::signal::SigSet>);

impl ProcessSignalsBlocked {
    /// Block them in the calling thread (the mask is per thread).
    pub fn here() -> ProcessSignalsBlocked {
        use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow, Signal};
        let mut set = SigSet::all();
        for sig in [
            Signal::SIGSEGV,
            Signal::SIGBUS,
            Signal::SIGFPE,
            Signal::SIGILL,
            Signal::SIGTRAP,
            Signal::SIGSYS,
            Signal::SIGABRT,
        ] {
            set.remove(sig);
        }
        let mut old = SigSet::empty();
        match pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old)) {
            Ok(()) => ProcessSignalsBlocked(Some(old)),
            // (Not expected: the thread then simply takes signals as before.)
            Err(_) => ProcessSignalsBlocked(None),
        }
    }
}

/// Start a helper thread of the VM (a reaper, a signal's wake-up reader, a timer) that never
/// takes the process's signals, so that SIGINT and the others reach the main thread. They are
/// blocked in the calling thread while the thread is made, and a new thread starts with its
/// creator's mask: blocking them in the new thread itself, once it ran, left a window in which
/// the kernel could hand it a Ctrl-C (a child's `kill -INT $PPID` right after its start, its
/// reaper not yet running), whose handler then ran late, after the main thread's wait had
/// returned (`subprocess/ctrl_c_child_exits`: 1 of 60 runs under load). A signal sent while the
/// caller's mask is changed stays pending and reaches the caller when the mask is restored.
/// Nobody joins them: they detach themselves (`heap::fork::spawn_detached`).
pub fn spawn_helper<F>(builder: std::thread::Builder, f: F) -> std::io::Result<()>
where
    F: FnOnce() + Send + 'static,
{
    let _inherited = ProcessSignalsBlocked::here();
    crate::heap::fork::spawn_detached(builder, f).map(|_| ())
}

impl Drop for ProcessSignalsBlocked {
    fn drop(&mut self) {
        if let Some(old) = self.0.take() {
            let how = nix::sys::signal::SigmaskHow::SIG_SETMASK;
            let _ = nix::sys::signal::pthread_sigmask(how, Some(&old), None);
        }
    }
}

/// At start-up (the command line, the REPL): catch Ctrl-C's SIGINT unless the parent process
/// left it ignored, as CPython does (it then stays ignored until a handler is set).
pub fn start(vm: &Arc<Vm>) {
    // CPython ignores SIGXFSZ (a write past the file-size limit fails with EFBIG instead of
    // ending the process); a handler that does nothing acts the same for this process and,
    // unlike SIG_IGN, does not pass on to the programs it starts.
    let _ = signal_hook::flag::register(libc::SIGXFSZ, Arc::new(AtomicBool::new(false)));
    if ignored_at_start() & (1 << (libc::SIGINT - 1)) != 0 {
        SIGINT_MODE.store(1, Ordering::SeqCst);
    } else {
        catch_sigint(vm);
    }
}

/// How SIGINT is caught, once caught: `signal-hook` writes a byte to a socket whose other end a
/// helper thread reads, calling `Vm::request_interrupt` (the main thread notices it at its next
/// check point). The registration's id is kept so a forked child can take it back.
static SIGINT_HOOK: Mutex<Option<Vec<signal_hook::SigId>>> = Mutex::new(None);

/// Catch SIGINT from now on (once).
pub fn catch_sigint(vm: &Arc<Vm>) {
    let mut hook = SIGINT_HOOK.lock();
    if hook.is_none() {
        *hook = sigint_thread(vm);
    }
}

/// A forked child: the parent's registrations came along (they write to the parent's sockets,
/// so a signal sent to the child alone would reach the parent's handlers) but its reading
/// threads did not. Take the registrations back and make the child's own. Signals the parent
/// recorded and had not handled yet are the parent's: the child forgets them, as CPython's
/// child clears its tripped flags.
pub fn after_fork_child(vm: &Arc<Vm>) {
    CTRL_C.store(false, Ordering::SeqCst);
    PENDING.lock().clear();
    let mut hook = SIGINT_HOOK.lock();
    if let Some(ids) = hook.take() {
        for id in ids {
            signal_hook::low_level::unregister(id);
        }
        *hook = sigint_thread(vm);
    }
    drop(hook);
    let mut c = CAPTURED.lock();
    for id in c.ids.drain(..) {
        signal_hook::low_level::unregister(id);
    }
    c.writer = None;
    let sigs = std::mem::take(&mut c.sigs);
    for sig in sigs {
        // (A signal the parent could capture, the child can.)
        let _ = c.add(vm, sig);
    }
}

/// A Ctrl-C not yet acted on by the main thread. Kept apart from [`PENDING`] so that a wake-up
/// with nothing recorded is not taken for a Ctrl-C. Set by the signal handler itself (as
/// CPython's handler trips its flag), not only by the helper thread: the handler runs at once,
/// on the main thread when it is the one waiting, so a wait that ends just after (the child
/// killed by the same Ctrl-C, `join()` returning) still finds it, while the helper thread may
/// not have run yet on a loaded machine ([`ctrl_c_pending`]).
static CTRL_C: std::sync::LazyLock<Arc<AtomicBool>> =
    std::sync::LazyLock::new(|| Arc::new(AtomicBool::new(false)));

/// Whether a Ctrl-C arrived that the main thread has not acted on yet (`Interp::check_signals`
/// looks here besides `Vm::interrupted`, which the handler raises too).
pub fn ctrl_c_pending() -> bool {
    CTRL_C.load(Ordering::SeqCst)
}

/// Catch SIGINT: the handler sets [`CTRL_C`] (first), `Vm::interrupted` and the eval breaker
/// (`heap::posix_calls::raise_flags_on_signal`), then wakes a helper thread, which raises them
/// again (`Vm::request_interrupt`, harmless) and counts the signal.
fn sigint_thread(vm: &Arc<Vm>) -> Option<Vec<signal_hook::SigId>> {
    // (The handler set CTRL_C before it wrote: a main thread that already took it finds
    // nothing at this wake-up, as for any other.)
    let writer = wake_thread(vm, "minivm-ctrl-c", |vm| {
        vm.request_interrupt();
        RECORDED[libc::SIGINT as usize].fetch_add(1, Ordering::SeqCst);
    })
    .ok()?;
    let flag = crate::heap::posix_calls::raise_flags_on_signal(
        libc::SIGINT,
        Arc::clone(&CTRL_C),
        vm.clone(),
    )
    .ok()?;
    match signal_hook::low_level::pipe::register(libc::SIGINT, writer) {
        Ok(pipe) => Some(vec![flag, pipe]),
        Err(_) => {
            signal_hook::low_level::unregister(flag);
            None
        }
    }
}

/// A helper thread that calls `on_wake` each time a byte arrives on the socket returned: the
/// signal handlers' (signal-hook's) way to reach the interpreter. The socket's descriptors are
/// high, so the program's first files and pipes get 3, 4... as in CPython (which needs none).
fn wake_thread(
    vm: &Arc<Vm>,
    name: &str,
    on_wake: fn(&Vm),
) -> std::io::Result<std::os::unix::net::UnixStream> {
    use std::io::Read;
    use std::os::unix::net::UnixStream;
    let high = |s: UnixStream| -> std::io::Result<UnixStream> {
        Ok(UnixStream::from(rustix::io::fcntl_dupfd_cloexec(&s, 250)?))
    };
    let (reader, writer) = UnixStream::pair()?;
    let (mut reader, writer) = (high(reader)?, high(writer)?);
    let vm = vm.clone();
    let builder = std::thread::Builder::new()
        .name(name.into())
        .stack_size(64 * 1024);
    spawn_helper(builder, move || {
        let mut buf = [0u8; 16];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => on_wake(&vm),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    })?;
    Ok(writer)
}

/// The signals captured for Python handlers (`_capture`): signal-hook sets the signal's flag in
/// [`FLAGS`], then writes to the wake-up socket, whose thread moves the flagged signals to
/// [`PENDING`] ([`drain_flags`]). The registrations' ids are kept for a forked child.
struct Captured {
    sigs: Vec<i32>,
    ids: Vec<signal_hook::SigId>,
    writer: Option<std::os::unix::net::UnixStream>,
}

static CAPTURED: Mutex<Captured> = Mutex::new(Captured {
    sigs: Vec::new(),
    ids: Vec::new(),
    writer: None,
});

/// One flag per signal number (index 0 unused).
static FLAGS: std::sync::LazyLock<Vec<Arc<AtomicBool>>> =
    std::sync::LazyLock::new(|| (0..65).map(|_| Arc::new(AtomicBool::new(false))).collect());

impl Captured {
    /// Capture `sig` from now on (once).
    fn add(&mut self, vm: &Arc<Vm>, sig: i32) -> std::io::Result<()> {
        if self.sigs.contains(&sig) {
            return Ok(());
        }
        let writer = match &self.writer {
            Some(w) => w.try_clone()?,
            None => {
                let w = wake_thread(vm, "minivm-signals", drain_flags)?;
                let clone = w.try_clone()?;
                self.writer = Some(w);
                clone
            }
        };
        let flag = FLAGS
            .get(sig as usize)
            .ok_or_else(|| std::io::Error::from_raw_os_error(libc::EINVAL))?;
        // The handler raises the flag and `Vm::interrupted` itself, as SIGINT's does: the main
        // thread's next check point takes the signal (`on_interrupt` moves the flags to
        // `PENDING`) without waiting for the wake-up thread, which a busy machine may leave
        // unscheduled for milliseconds (a SIGALRM sent before `setitimer(..., 0)` reached its
        // handler lines later, after the program had reset what the handler fills).
        let flag_id =
            crate::heap::posix_calls::raise_flags_on_signal(sig, flag.clone(), vm.clone())?;
        match signal_hook::low_level::pipe::register(sig, writer) {
            Ok(wake_id) => self.ids.extend([flag_id, wake_id]),
            Err(e) => {
                signal_hook::low_level::unregister(flag_id);
                return Err(e);
            }
        }
        self.sigs.push(sig);
        Ok(())
    }
}

/// The wake-up thread of captured signals: record each flagged signal and tell the main thread.
fn drain_flags(vm: &Vm) {
    // (Nothing found: an earlier wake-up, or the main thread, took this signal's flag.)
    if take_flagged() {
        vm.request_interrupt();
    }
}

/// Move the flagged signals to [`PENDING`] and count them as recorded ([`RECORDED`]): from the
/// wake-up thread, or from the main thread at a check point. Whether there was any.
fn take_flagged() -> bool {
    let mut found = Vec::new();
    for (n, flag) in FLAGS.iter().enumerate() {
        if flag.swap(false, Ordering::SeqCst) {
            PENDING.lock().push(n as i64);
            found.push(n);
        }
    }
    for &n in &found {
        RECORDED[n].fetch_add(1, Ordering::SeqCst);
    }
    !found.is_empty()
}

/// `_ignored_at_start()`: the numbers of the signals ignored when the process started, and
/// SIGXFSZ (see [`start`]).
fn ignored_at_start_fn(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.none("_ignored_at_start")?;
    let mask = ignored_at_start() | 1 << (libc::SIGXFSZ - 1);
    let sigs = (1..=64).filter(|n| mask & (1 << (n - 1)) != 0);
    Ok(Value::list(sigs.map(Value::Int).collect()))
}

fn signum_arg(v: &Value) -> PyResult<i64> {
    let n = to_index(v)?;
    if !(1..65).contains(&n) {
        return Err(err!(ValueError, "signal number out of range"));
    }
    Ok(n)
}

/// `_capture(signum)`: capture this signal from now on (its Python handler decides).
fn capture(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let sig = signum_arg(args.one("_capture")?)?;
    CAPTURED
        .lock()
        .add(&interp.vm, sig as i32)
        .map_err(|_| err!(OSError, "[Errno 22] Invalid argument"))?;
    Ok(Value::None)
}

/// `_set_sigint(mode)`: see [`SIGINT_MODE`].
fn set_sigint(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let mode = to_index(args.one("_set_sigint")?)?;
    SIGINT_MODE.store(mode, Ordering::SeqCst);
    if mode != 1 {
        catch_sigint(&interp.vm);
    }
    Ok(Value::None)
}

/// The signals the main thread blocks (`signal.pthread_sigmask`), bit `n - 1` for signal `n`.
static BLOCKED: AtomicU64 = AtomicU64::new(0);
/// The blocked signals that arrived and wait to be unblocked or taken by `sigwait` (a standard
/// signal is held once however often it came, as the kernel holds it).
static HELD: AtomicU64 = AtomicU64::new(0);

fn bit(sig: i64) -> u64 {
    if (1..=64).contains(&sig) {
        1 << (sig - 1)
    } else {
        0
    }
}

fn sig_list(mask: u64) -> Value {
    let sigs = (1..=64).filter(|n| mask & bit(*n) != 0);
    Value::list(sigs.map(Value::Int).collect())
}

/// Move the recorded signals that are blocked from [`PENDING`] to [`HELD`] (from `sigwait`,
/// `sigpending`, `pthread_sigmask`, in any thread).
fn hold_blocked() {
    let blocked = BLOCKED.load(Ordering::SeqCst);
    PENDING.lock().retain(|&sig| {
        if blocked & bit(sig) != 0 {
            HELD.fetch_or(bit(sig), Ordering::SeqCst);
            false
        } else {
            true
        }
    });
}

/// `_set_blocked(mask)`: the main thread's new mask; returns the held signals it unblocks, in
/// number order (no longer held: the caller dispatches them).
fn set_blocked(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let mask = to_index(args.one("_set_blocked")?)? as u64;
    hold_blocked();
    BLOCKED.store(mask, Ordering::SeqCst);
    let freed = HELD.fetch_and(mask, Ordering::SeqCst) & !mask;
    Ok(sig_list(freed))
}

/// `_take_held(mask)`: take the lowest held signal of `mask` (0 when none is held).
fn take_held(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let mask = to_index(args.one("_take_held")?)? as u64;
    hold_blocked();
    let found = HELD.load(Ordering::SeqCst) & mask;
    if found == 0 {
        return Ok(Value::Int(0));
    }
    let sig = i64::from(found.trailing_zeros()) + 1;
    HELD.fetch_and(!bit(sig), Ordering::SeqCst);
    Ok(Value::Int(sig))
}

/// `_held()`: the held signals (`sigpending`).
fn held(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.none("_held")?;
    hold_blocked();
    Ok(sig_list(HELD.load(Ordering::SeqCst)))
}

/// `_take_pending()`: the captured signals not handled yet (and forget them).
fn take_pending(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.none("_take_pending")?;
    let sigs = std::mem::take(&mut *PENDING.lock());
    Ok(Value::list(sigs.into_iter().map(Value::Int).collect()))
}

/// `_default_action(signum)`: do what the system does for the signal by default (for SIGTERM
/// or SIGINT: end the process, killed by that signal).
fn default_action(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let sig = signum_arg(args.one("_default_action")?)?;
    signal_hook::low_level::emulate_default_handler(sig as i32)
        .map_err(|e| crate::stdlib::os::os_error(&e, None))?;
    Ok(Value::None)
}

/// End the process by SIGINT with its default action, as CPython ends after an uncaught
/// `KeyboardInterrupt` (see `minivm_vm::ended_by_interrupt`); returns only if that failed.
pub fn exit_by_sigint() {
    let _ = signal_hook::low_level::emulate_default_handler(libc::SIGINT);
}

/// `raise_signal(signum)`: send the signal to this process; a captured one (and Ctrl-C's
/// SIGINT) is handled before this returns, as in CPython.
fn raise_signal(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let sig = signum_arg(args.one("raise_signal")?)?;
    let before = recorded(sig);
    signal_hook::low_level::raise(sig as i32).map_err(|e| crate::stdlib::os::os_error(&e, None))?;
    after_own_signal(interp, sig, before)?;
    Ok(Value::None)
}

/// How many times the wake-up threads have recorded each signal (in [`PENDING`], or Ctrl-C's
/// [`CTRL_C`]), by number: a thread that signalled its own process waits for its signal's
/// count to move. Per signal, so that another signal recorded meanwhile (from another thread,
/// a child, the interval timer) is not taken for this one.
static RECORDED: [AtomicU64; 65] = [const { AtomicU64::new(0) }; 65];

/// The count of `sig` [`after_own_signal`] compares with; read it before sending the signal.
pub fn recorded(sig: i64) -> u64 {
    usize::try_from(sig)
        .ok()
        .and_then(|n| RECORDED.get(n))
        .map_or(0, |c| c.load(Ordering::SeqCst))
}

/// After this process sent itself `sig` (`raise_signal`, `os.kill(os.getpid(), sig)`, a kill of
/// its own process group): in CPython the kernel hands the signal to the main thread at once,
/// so a Python handler has run before the main thread's next statement (in the main thread:
/// before the call returns; in another thread: before a `join()` the main thread is blocked in
/// returns). Here a helper thread records it a moment later, so wait for that when the signal
/// is one that reaches a handler, then run the handler if this is the main thread. The signal
/// handler always wakes that thread; on a loaded machine it may wait long for a core (the
/// 200 ms this once waited ran out at load 15-20), so the bound is only against a signal that
/// never comes.
pub fn after_own_signal(interp: &mut Interp, sig: i64, before: u64) -> PyResult<()> {
    let hooked = if sig == i64::from(libc::SIGINT) {
        SIGINT_HOOK.lock().is_some()
    } else {
        CAPTURED.lock().sigs.contains(&(sig as i32))
    };
    if hooked {
        let start = std::time::Instant::now();
        let mut pause = std::time::Duration::from_micros(20);
        while recorded(sig) == before && start.elapsed() < std::time::Duration::from_secs(10) {
            std::thread::sleep(pause);
            pause = (pause * 2).min(std::time::Duration::from_millis(1));
        }
    }
    interp.check_interrupt()
}

/// `alarm(seconds)`: have the system send SIGALRM to the process after `seconds` (0 cancels
/// the alarm); returns the seconds left of the alarm set before, or 0. The signal then reaches
/// the program's handler as any captured signal does (or, with none, ends the process).
fn alarm(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let v = args.one("alarm")?;
    let Some(n) = interp.number_index(v)? else {
        return Err(err!(
            TypeError,
            "'{}' object cannot be interpreted as an integer",
            crate::object::type_name(v)
        ));
    };
    let secs = match n {
        Value::Bool(b) => i32::from(b),
        Value::Int(i) => i32::try_from(i)
            .map_err(|_| err!(OverflowError, "Python int too large to convert to C int"))?,
        _ => {
            return Err(err!(
                OverflowError,
                "Python int too large to convert to C int"
            ))
        }
    };
    // As C's alarm() takes an unsigned int, a negative count is a very long alarm.
    let left = match secs as u32 {
        0 => nix::unistd::alarm::cancel(),
        s => nix::unistd::alarm::set(s),
    };
    Ok(Value::Int(i64::from(left.unwrap_or(0))))
}

/// `pause()`: wait (with the GIL released) until a signal arrives; its handler has run when
/// this returns, or its exception comes out of here. In a thread other than the main one it
/// never returns, as in CPython, where the kernel hands a process's signals to its main thread
/// (the handlers run there) and the thread's pause(2) goes on waiting.
fn pause(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.none("_signal.pause")?;
    let vm = interp.vm.clone();
    let main = interp.is_main;
    interp.allow_threads(|| {
        while !main || !vm.interrupted.load(Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    });
    interp.check_interrupt()?;
    Ok(Value::None)
}

/// `strsignal(signum)`: the system's description of a signal, or None.
/// `default_int_handler(signalnum, frame)`: SIGINT's default handler, raising
/// KeyboardInterrupt (a built-in function, as CPython's).
fn default_int_handler(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    if args.pos.len() != 2 || !args.kw.is_empty() {
        return Err(err!(
            TypeError,
            "default_int_handler expected 2 arguments, got {}",
            args.pos.len() + args.kw.len()
        ));
    }
    Err(crate::error::PyErr::with_args(
        crate::object::ExcKind::KeyboardInterrupt,
        Vec::new(),
    ))
}

fn strsignal(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let sig = signum_arg(args.one("strsignal")?)?;
    Ok(DESCRIPTIONS
        .iter()
        .find(|(n, _)| *n == sig)
        .map(|(_, d)| Value::str(d))
        .unwrap_or_else(|| {
            if (34..=64).contains(&sig) {
                Value::string(format!("Real-time signal {}", sig - 34))
            } else {
                Value::None
            }
        }))
}

/// The main thread saw `Vm::interrupted` at a check point (`gil.rs: check_signals`): act on a
/// Ctrl-C ([`CTRL_C`]) and run the handlers of the captured signals, lowest number first as
/// CPython does (SIGINT is 2). A wake-up that finds neither does nothing: the helper threads
/// may wake the main thread for a signal an earlier check point already took. When a handler
/// raises, the signals not handled yet stay pending for the next check point (as CPython leaves
/// them tripped).
pub fn on_interrupt(interp: &mut Interp) -> PyResult<()> {
    // Signals whose handler ran and which the wake-up thread has not recorded yet.
    take_flagged();
    // Blocked signals are held; the others go to their handlers.
    hold_blocked();
    let pending = std::mem::take(&mut *PENDING.lock());
    if CTRL_C.swap(false, Ordering::SeqCst) {
        if let Err(e) = on_ctrl_c(interp) {
            requeue(interp, pending);
            return Err(e);
        }
    }
    let mut rest = pending.into_iter();
    while let Some(sig) = rest.next() {
        if let Err(e) = dispatch(interp, sig) {
            requeue(interp, rest.collect());
            return Err(e);
        }
    }
    Ok(())
}

/// What a Ctrl-C does at a check point, as [`SIGINT_MODE`] says.
fn on_ctrl_c(interp: &mut Interp) -> PyResult<()> {
    let mode = SIGINT_MODE.load(Ordering::SeqCst);
    if mode != 1 && BLOCKED.load(Ordering::SeqCst) & bit(2) != 0 {
        // Ctrl-C while SIGINT is blocked: held for later.
        HELD.fetch_or(bit(2), Ordering::SeqCst);
        return Ok(());
    }
    match mode {
        0 => Err(crate::error::PyErr::with_args(
            crate::object::ExcKind::KeyboardInterrupt,
            Vec::new(),
        )),
        1 => Ok(()),
        _ => dispatch(interp, 2),
    }
}

/// Put signals a raising handler left unhandled back in front of [`PENDING`], and have the
/// main thread's next check point come back for them.
fn requeue(interp: &Interp, sigs: Vec<i64>) {
    if sigs.is_empty() {
        return;
    }
    let mut pending = PENDING.lock();
    let later = std::mem::replace(&mut *pending, sigs);
    pending.extend(later);
    drop(pending);
    interp.vm.request_interrupt();
}

/// `signal._dispatch(signum)`: the Python side calls the handler.
fn dispatch(interp: &mut Interp, sig: i64) -> PyResult<()> {
    let module = interp.import_module("signal")?;
    let f = interp.getattr(&module, "_dispatch")?;
    interp.call(&f, &[Value::Int(sig)])?;
    Ok(())
}

/// The real-time interval timer (`setitimer(ITIMER_REAL, ...)`), kept here rather than by the
/// kernel (the system call needs `unsafe`): a thread of its own waits for the deadline and
/// sends SIGALRM to the process, which then reaches the program as any signal does. Each
/// setting gets a new generation, so the thread of a replaced setting stops.
pub struct RealTimer {
    generation: u64,
    /// When SIGALRM is due next; None: disarmed.
    deadline: Option<std::time::Instant>,
    /// The period after the first expiry (zero: once).
    interval: std::time::Duration,
}

static REAL_TIMER: Mutex<RealTimer> = Mutex::new(RealTimer {
    generation: 0,
    deadline: None,
    interval: std::time::Duration::ZERO,
});
static REAL_TIMER_CHANGED: parking_lot::Condvar = parking_lot::Condvar::new();

/// The interval timer's lock, held by `os.fork` across the copy, with the park keys of it and
/// of the condition variable its thread waits on (a forked child removes that thread's queue
/// entries: `heap/fork.rs`, "Ghost waiters").
pub struct TimerForkHold(parking_lot::MutexGuard<'static, RealTimer>);

impl TimerForkHold {
    pub fn take() -> TimerForkHold {
        TimerForkHold(REAL_TIMER.lock())
    }

    pub fn park_keys(&self) -> [usize; 2] {
        use crate::heap::fork::{condvar_key, mutex_key};
        [mutex_key(&REAL_TIMER), condvar_key(&REAL_TIMER_CHANGED)]
    }

    /// In the child: disarmed, as `fork(2)` leaves a child no interval timer (its thread is
    /// gone too; a new generation keeps any copy of it from counting).
    pub fn disarm(&mut self) {
        self.0.generation += 1;
        self.0.deadline = None;
        self.0.interval = std::time::Duration::ZERO;
    }
}

/// (seconds left, interval) of the timer, as floats. A periodic timer whose deadline has
/// passed before its thread got to run (a busy machine) reports the time to its next expiry,
/// as the kernel's timer, reloaded at each expiry, does; an expired one-shot, 0.
fn real_timer_state(t: &RealTimer) -> Value {
    let now = std::time::Instant::now();
    let left = t.deadline.map_or(0.0, |d| {
        let mut next = d;
        if next <= now && !t.interval.is_zero() {
            let behind = (now - next).as_nanos() / t.interval.as_nanos() + 1;
            let periods = u32::try_from(behind).unwrap_or(u32::MAX);
            next = next
                .checked_add(t.interval.saturating_mul(periods))
                .unwrap_or(next);
        }
        next.saturating_duration_since(now).as_secs_f64()
    });
    Value::tuple(vec![
        Value::Float(left),
        Value::Float(t.interval.as_secs_f64()),
    ])
}

/// A non-negative number of seconds as a duration, rounded up to the microsecond as the
/// system's `timeval` is (1e-7 still arms the timer).
fn timer_duration(secs: f64) -> std::time::Duration {
    let micros = (secs * 1e6).ceil().min(1e15);
    std::time::Duration::from_micros(micros as u64)
}

/// `_setitimer_real(seconds, interval)`, arguments checked by signal.mini: arm (or with 0
/// seconds disarm) the timer; returns the previous (seconds left, interval).
fn setitimer_real(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("_setitimer_real", 2, 2)?;
    let number = |i: usize| match args.get(i) {
        Some(Value::Float(f)) => Ok(*f),
        Some(Value::Int(n)) => Ok(*n as f64),
        _ => Err(err!(TypeError, "_setitimer_real takes two numbers")),
    };
    let (secs, interval) = (number(0)?, number(1)?);
    let mut t = REAL_TIMER.lock();
    let old = real_timer_state(&t);
    t.generation += 1;
    t.interval = timer_duration(interval);
    t.deadline = None;
    if secs > 0.0 {
        t.deadline = Some(std::time::Instant::now() + timer_duration(secs));
        let generation = t.generation;
        let builder = std::thread::Builder::new().name("minivm-itimer".into());
        spawn_helper(builder, move || run_real_timer(generation))
            .map_err(|e| crate::stdlib::os::os_error(&e, None))?;
    }
    drop(t);
    REAL_TIMER_CHANGED.notify_all();
    // A SIGALRM the old setting sent before this one took over reaches its handler now, as
    // CPython's check after the call runs it: before the next line, not at a later check point
    // (`itimer.mini`: one sent just before `setitimer(ITIMER_REAL, 0)` was counted after the
    // program had cleared its record, on a busy machine).
    interp.check_interrupt()?;
    Ok(old)
}

/// The timer thread of one setting: wait for each deadline (or a newer setting, which ends
/// it), send SIGALRM, and go on for as long as there is an interval.
fn run_real_timer(generation: u64) {
    let mut t = REAL_TIMER.lock();
    loop {
        if t.generation != generation {
            return;
        }
        let Some(deadline) = t.deadline else {
            return;
        };
        if std::time::Instant::now() < deadline {
            REAL_TIMER_CHANGED.wait_until(&mut t, deadline);
            continue;
        }
        t.deadline = if t.interval.is_zero() {
            None
        } else {
            Some(deadline + t.interval)
        };
        // To the process, as the kernel's ITIMER_REAL sends it (this thread blocks it: see
        // `ProcessSignalsBlocked`; raise(3) would leave it pending here for good).
        let _ = nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::SIGALRM);
    }
}

/// `_getitimer_real()`: (seconds left, interval) of the timer.
fn getitimer_real(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.none("_getitimer_real")?;
    Ok(real_timer_state(&REAL_TIMER.lock()))
}
