//! Stage 4 (VM), standard library.
//! `threading.Thread`: a real OS thread running bytecode, plus `current_thread()` and friends.
//!
//! Each thread gets its own `Interp` (frames, current exception) sharing the one `Vm`; it takes the
//! GIL before running `run()` and gives it back when it ends, and `join()` waits with the GIL released.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use crate::builtins::args::{Sig, Style};
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{Class, ExcKind, Instance, Module};
use crate::stdlib::sync::{block_on, seconds, Wait};
use crate::stdlib::{func, make_module, native_class, this};
use crate::value::Value;
use crate::{err, PyResult};

/// Rust data of a `Thread` instance.
pub struct ThreadData {
    /// Whether the thread is a daemon (the truth of `daemon`, kept as given in `_daemonic`).
    daemon: std::sync::atomic::AtomicBool,
    /// Whether the thread runs, shared with threads that wait for its end without the GIL.
    end: Arc<ThreadEnd>,
    /// Whether a `join` or `is_alive` has seen the thread ended: later joins return at once,
    /// their timeout unread, as CPython's (whose `_tstate_lock` is gone by then).
    seen_ended: std::sync::atomic::AtomicBool,
}

/// The part of a thread object that joining threads wait on (no heap values: it is reached
/// without the GIL).
#[derive(Default)]
struct ThreadEnd {
    state: Mutex<RunState>,
    done: Condvar,
    /// Whether the thread has set its `_native_id` (which only it can read: `gettid`); until
    /// then, started, it is on its way (`start()` under `--gil off` does not wait for it).
    shown: Mutex<bool>,
    shown_now: Condvar,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum RunState {
    #[default]
    New,
    Running,
    Finished,
}

/// The ends of the threads `start()` has started (those seen finished are dropped at the next
/// `start()`): a forked child marks each one but its own finished (`after_fork_child`). The
/// registry `vm.threads` does not do for that: an ending thread leaves it (holding the GIL) before
/// it counts as finished (detached), and a fork in between left its `Thread` object alive for
/// good in the child. No heap values: reached without the GIL.
static STARTED: Mutex<Vec<Arc<ThreadEnd>>> = Mutex::new(Vec::new());

static THREAD_CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();
static THREAD_COUNTER: AtomicU64 = AtomicU64::new(0);

pub fn thread_class() -> Ref<Class> {
    THREAD_CLASS
        .get_or_init(|| {
            let cls = native_class(
                "Thread",
                "threading",
                &[
                    ("__init__", thread_init),
                    ("start", thread_start),
                    ("run", thread_run),
                    ("join", thread_join),
                    ("is_alive", thread_is_alive),
                    ("__repr__", thread_repr),
                    ("isDaemon", thread_is_daemon_old),
                    ("setDaemon", thread_set_daemon_old),
                    ("getName", thread_get_name_old),
                    ("setName", thread_set_name_old),
                ],
            );
            {
                // `name`, `daemon`, `ident` and `native_id` are properties, as threading.py's:
                // the name is made a string, the daemon flag cannot change once the thread has
                // started, the ids cannot be set. Their values live in the instance as
                // `_name`, `_daemonic`, `_ident` and `_native_id`.
                let mut dict = cls.dict.write();
                dict.insert(
                    Arc::from("name"),
                    crate::stdlib::sync::rw_property(
                        ("name", thread_name_get),
                        ("name", thread_name_set),
                    ),
                );
                dict.insert(
                    Arc::from("ident"),
                    crate::stdlib::sync::property(("ident", thread_ident_get)),
                );
                dict.insert(
                    Arc::from("native_id"),
                    crate::stdlib::sync::property(("native_id", thread_native_id_get)),
                );
                dict.insert(
                    Arc::from("daemon"),
                    crate::stdlib::sync::rw_property(
                        ("daemon", thread_daemon_get),
                        ("daemon", thread_daemon_set),
                    ),
                );
            }
            cls
        })
        .clone()
}

pub fn threading_module() -> Ref<Module> {
    let mut items = vec![
        ("Thread", Value::Class(thread_class())),
        ("current_thread", func("current_thread", current_thread)),
        ("main_thread", func("main_thread", main_thread)),
        ("_DummyThread", Value::Class(dummy_thread_class())),
        ("_MainThread", Value::Class(main_thread_class())),
        ("_start_bare", func("_start_bare", start_bare)),
        ("get_ident", func("get_ident", get_ident)),
        ("get_native_id", func("get_native_id", get_native_id)),
        ("_thread_key", func("_thread_key", thread_key)),
        ("active_count", func("active_count", active_count)),
        ("enumerate", func("enumerate", enumerate)),
        (
            "_register_atexit",
            func("_register_atexit", register_atexit),
        ),
    ];
    // One function under both names, so `threading.__excepthook__` restores the default.
    let hook = func("excepthook", default_excepthook);
    items.push(("__excepthook__", hook.clone()));
    items.push(("excepthook", hook));
    items.extend(crate::stdlib::sync::threading_items());
    make_module("threading", items)
}

/// A call registered with `threading._register_atexit`: function and positional arguments.
type ExitCall = (Value, Vec<Value>);

/// The calls to make when the main module has finished, before its non-daemon threads are
/// joined (CPython's `threading._shutdown`); `None` once they have run.
/// (A `Global`, as the heap values in it are only touched with the GIL held.)
static EXIT_CALLS: crate::heap::Global<Mutex<Option<Vec<ExitCall>>>> = crate::heap::Global::new();

fn exit_calls() -> &'static Mutex<Option<Vec<ExitCall>>> {
    EXIT_CALLS.get_or_init(|| Mutex::new(Some(Vec::new())))
}

/// `threading._register_atexit(func, *args)`: the hook `concurrent.futures` uses to wake its idle
/// workers at exit, so the program does not wait for them forever.
fn register_atexit(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let Some((f, rest)) = args.pos.split_first() else {
        return Err(err!(
            TypeError,
            "_register_atexit() missing 1 required positional argument: 'func'"
        ));
    };
    if !args.kw.is_empty() {
        return Err(err!(
            TypeError,
            "minivm's threading._register_atexit() takes no keyword arguments"
        ));
    }
    match exit_calls().lock().as_mut() {
        Some(calls) => calls.push((f.clone(), rest.to_vec())),
        None => return Err(err!(RuntimeError, "can't register atexit after shutdown")),
    }
    Ok(Value::None)
}

/// Make the `_register_atexit` calls, last registered first (once).
pub fn run_exit_calls(interp: &mut Interp) -> PyResult<()> {
    let calls = exit_calls().lock().take().unwrap_or_default();
    for (f, args) in calls.into_iter().rev() {
        interp.call(&f, &args)?;
    }
    Ok(())
}

fn data(t: &Value) -> Option<&ThreadData> {
    match t {
        Value::Instance(i) => i.native::<ThreadData>(),
        _ => None,
    }
}

pub fn is_alive(t: &Value) -> bool {
    data(t).is_some_and(|d| *d.end.state.lock() == RunState::Running)
}

pub fn is_daemon(t: &Value) -> bool {
    match t {
        Value::Instance(i) => i
            .native::<ThreadData>()
            .is_some_and(|d| d.daemon.load(Ordering::Relaxed)),
        _ => false,
    }
}

/// Block (with the GIL released) until the thread finishes or the timeout passes. Ctrl-C ends
/// the main thread's wait with `KeyboardInterrupt`.
pub fn wait_done(interp: &mut Interp, t: &Value, w: Wait) -> PyResult<Value> {
    let Some(d) = data(t) else {
        return Ok(Value::None);
    };
    // The run state is reached without the GIL: it holds no heap values.
    let end = d.end.clone();
    block_on(interp, &end.state, &end.done, w, |st| {
        *st != RunState::Running
    })?;
    // A signal the thread sent this process just before it ended has its handler run before
    // join() returns, as when CPython's main thread is woken by it (nothing was taken by the
    // wait, so an exception from the handler loses nothing).
    interp.check_interrupt()?;
    Ok(Value::None)
}

/// The calling thread's identifiers as CPython gives them: `get_ident()` is pthread_self(3) (a
/// large number), `get_native_id()` the kernel's thread id. minivm's own small
/// `Interp::thread_id` (lock owners, the GIL) is not shown. The main thread's bytecode runs on
/// a thread of its own (the `minivm` command's `on_big_stack`), so it shows the process's
/// first thread: the pthread id noted when the VM was made, and the pid as its native id, as
/// CPython's main thread has (after a fork too: the child's pid).
fn shown_ids(interp: &Interp) -> (i64, i64) {
    let ident = shown_ident(interp);
    if interp.is_main {
        return (ident, i64::from(std::process::id()));
    }
    let native = rustix::thread::gettid().as_raw_nonzero().get();
    (ident, i64::from(native))
}

/// `threading.get_ident()` of the thread `interp` runs on (an RLock's repr shows its owner's):
/// no system call.
pub fn shown_ident(interp: &Interp) -> i64 {
    if interp.is_main {
        return MAIN_IDENT.get().copied().unwrap_or(0);
    }
    nix::sys::pthread::pthread_self() as i64
}

/// pthread_self(3) of the thread that made the VM (the process's first thread).
static MAIN_IDENT: std::sync::OnceLock<i64> = std::sync::OnceLock::new();

pub fn note_main_thread() {
    MAIN_IDENT.get_or_init(|| nix::sys::pthread::pthread_self() as i64);
}

/// Sets `ident` and `native_id` of a `Thread` object to those of the calling thread.
/// (Kept, as threading.py keeps them, in `_ident` and `_native_id`, which the read-only
/// properties `ident` and `native_id` show.)
fn set_shown_ids(interp: &Interp, thread: &Value) {
    if let Value::Instance(inst) = thread {
        let (ident, native) = shown_ids(interp);
        set_attr(inst, "_ident", Value::Int(ident));
        set_attr(inst, "_native_id", Value::Int(native));
    }
    if let Some(d) = data(thread) {
        *d.end.shown.lock() = true;
        d.end.shown_now.notify_all();
    }
}

fn set_attr(inst: &Instance, name: &str, v: Value) {
    inst.dict.lock().insert(Arc::from(name), v);
}

/// `Thread(group=None, target=None, name=None, args=(), kwargs=None, *, daemon=None)`
fn thread_init(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let Some(Value::Instance(inst)) = args.pos.first() else {
        return Err(err!(TypeError, "Thread.__init__ needs a Thread instance"));
    };
    let [group, target, name, targs, kwargs_arg, daemon] = Sig::py(
        "Thread.__init__",
        &["group", "target", "name", "args", "kwargs"],
        0,
    )
    .method()
    .kwonly(&["daemon"])
    .bind(&args)?;
    if let Some(g) = group {
        if !g.is_none() {
            return Err(err!(AssertionError, "group argument must be None for now"));
        }
    }
    let target = target.cloned().unwrap_or(Value::None);
    let name = name.cloned().unwrap_or(Value::None);
    // Kept as CPython keeps them, as given (`_args` is not made a tuple), in the attributes
    // `_target`, `_args` and `_kwargs` that `run()` reads (and a subclass's `run` may too).
    let targs = targs.cloned().unwrap_or_else(|| Value::tuple(Vec::new()));
    let kwargs = match kwargs_arg {
        None | Some(Value::None) => Value::Dict(Ref::new(crate::object::Dict::new())),
        Some(v) => v.clone(),
    };
    let name = match name {
        Value::None => {
            let n = THREAD_COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
            match &target {
                Value::None => format!("Thread-{n}"),
                t => match interp.getattr(t, "__name__") {
                    Ok(Value::Str(s)) => format!("Thread-{n} ({})", s.as_str()),
                    _ => format!("Thread-{n}"),
                },
            }
        }
        other => interp.str_of(&other)?,
    };
    // Inherited from the creating thread, as CPython does, asked after the name was chosen (in a
    // `_thread` thread that makes its `_DummyThread`, which takes the next number).
    // (Kept as given, as threading.py keeps it: `Thread(daemon=1).daemon` is 1.)
    let daemon = match daemon {
        None | Some(Value::None) => Value::Bool(is_daemon(&current_thread_obj(interp))),
        Some(v) => v.clone(),
    };
    let fresh = inst.set_native(Box::new(ThreadData {
        daemon: std::sync::atomic::AtomicBool::new(interp.truthy(&daemon)?),
        end: Arc::new(ThreadEnd::default()),
        seen_ended: std::sync::atomic::AtomicBool::new(false),
    }));
    if !fresh {
        return Err(err!(RuntimeError, "Thread.__init__() called twice"));
    }
    set_attr(inst, "_target", target);
    set_attr(inst, "_args", targs);
    set_attr(inst, "_kwargs", kwargs);
    set_attr(inst, "_name", Value::string(name));
    set_attr(inst, "_daemonic", daemon);
    set_attr(inst, "_ident", Value::None);
    set_attr(inst, "_native_id", Value::None);
    Ok(Value::None)
}

/// `start()`: spawn the OS thread, which takes the GIL and calls `self.run()`.
fn thread_start(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    // (threading.py's own words: "thread.__init__() not called".)
    let (inst, d) = this::<ThreadData>(&args, "thread")?;
    Sig::py("Thread.start", &[], 0).method().check(&args)?;
    // The module the new thread runs `_bootstrap_inner` from is imported here, by the starting
    // thread, never by the new one: an import a thread is halfway through when another thread
    // calls `os.fork()` stays claimed in the child for good (as a module lock in CPython), and
    // a thread of the child importing it waits for ever. CPython's threads import nothing to
    // start; importing `_threadinfo` on the first thread's way in made a fork right after the
    // first `start()` hang its child now and then (stress/fork_beside_starts).
    interp.import_module("_threadinfo")?;
    {
        let mut st = d.end.state.lock();
        if *st != RunState::New {
            return Err(err!(RuntimeError, "threads can only be started once"));
        }
        *st = RunState::Running;
    }
    {
        let mut started = STARTED.lock();
        started.retain(|e| *e.state.lock() != RunState::Finished);
        started.push(d.end.clone());
    }
    let me = Value::Instance(inst.clone());
    let name = match inst.dict.lock().get("_name") {
        Some(Value::Str(s)) => s.as_str().to_string(),
        _ => "Thread".to_string(),
    };
    let vm = interp.vm.clone();
    let mut child = Interp::new(vm.clone(), &name);
    child.is_main = false;
    child.thread_obj = Some(me.clone());
    vm.threads.lock().push(me.clone());
    // The new thread's interpreter and its `Thread` object are handed over whole; the new
    // thread touches them only after `attach` has taken the GIL (`run_thread`). The thread has
    // the stack size the recursion guards know (`interp::guard`).
    let handoff = crate::heap::Shared::new((child, me));
    // With a GIL, as CPython's `start()`, wait (GIL released) until the new thread is running:
    // it then holds the GIL and goes on until it blocks or is asked to switch, so a server
    // thread started before a client is listening by the time `start()` returns (Effective
    // Python's item 61). Free-threaded, nothing waits: with every processor busy, the new
    // thread (and then `start()`'s caller) waited for a scheduler tick (4 ms), so four
    // factorize threads started about 0, 4, 8 and 12 ms apart in a 30 ms run (docs/BENCHMARKS.md).
    // What `start()` promises still holds when it returns: the thread is alive and listed, its
    // `ident` is the pthread id the spawn gives, and `native_id` (which only the thread can
    // read) waits for the thread to set it.
    let free = interp.vm.gil.mode() == crate::gil::GilMode::Off;
    let pinned = if free { None } else { pin_for_spawn() };
    let spawned = crate::interp::guard::spawn_detached(name.clone(), move || {
        if let Some(mask) = pinned {
            let _ = rustix::thread::sched_setaffinity(None, &mask);
        }
        let (child, me) = handoff.into_inner();
        run_thread(child, me)
    });
    if let Some(mask) = pinned {
        let _ = rustix::thread::sched_setaffinity(None, &mask);
    }
    // Detached at once, by the thread itself (`join()` waits on `ThreadEnd`), not after the
    // wait below: a daemon thread starting threads when the program ended left, while it
    // waited there for the GIL, a finished thread that nobody had joined or detached
    // (ThreadSanitizer: "thread leak"). Not by this thread: see `heap::fork::spawn_detached`.
    let ident = match spawned {
        Ok(ident) => ident,
        Err(e) => {
            *d.end.state.lock() = RunState::Finished;
            return Err(err!(RuntimeError, "can't start new thread: {e}"));
        }
    };
    set_attr(inst, "_ident", Value::Int(ident as i64));
    if !free {
        wait_shown(interp, &d.end);
    }
    Ok(Value::None)
}

/// Wait (GIL released) until a started thread has set its ids.
fn wait_shown(interp: &mut Interp, end: &ThreadEnd) {
    interp.allow_threads(|| {
        // (Dropped after the guard: see `heap::fork::note_wait`.)
        let _note = crate::heap::fork::note_wait(&end.shown, &end.shown_now);
        let mut up = end.shown.lock();
        while !*up {
            end.shown_now.wait(&mut up);
        }
    });
}

/// Keep the calling thread, for the moment of a spawn, to the processor it runs on, so that the
/// new thread (which inherits the affinity) is queued there and runs as soon as the caller
/// sleeps in `start()`'s wait; the affinity it had is given back to both at once (returned
/// here: the caller's, to the new thread). Otherwise, with every processor busy, Linux could
/// queue the new thread behind another one, where it waited for the scheduler's next tick (4 ms
/// here) to run, and `start()` with it: 1,000 short-lived threads took 0.03 to 5 s on the loaded
/// machine, in every GIL mode (0.05-0.07 s now), and four factorize threads started 0, 4, 8 and
/// 12 ms apart (`perf sched timehist`). `None` (nothing changed) when the affinity cannot be
/// read or set. Three system calls (microseconds) at each thread start, none elsewhere.
fn pin_for_spawn() -> Option<rustix::thread::CpuSet> {
    let mask = rustix::thread::sched_getaffinity(None).ok()?;
    let mut here = rustix::thread::CpuSet::new();
    here.set(crate::heap::posix_calls::current_cpu()?);
    rustix::thread::sched_setaffinity(None, &here).ok()?;
    Some(mask)
}

/// The body of a spawned OS thread; its ids are set (and shown) once it holds the GIL.
fn run_thread(mut interp: Interp, me: Value) {
    interp.attach();
    // Known only here, in the thread; with a GIL, `start()` returns once they are set.
    set_shown_ids(&interp, &me);
    // `self.run()` from threading.py's `_bootstrap_inner` (`_threadinfo`), whose frame a
    // traceback shows first, as CPython's.
    let result = interp
        .import_module("_threadinfo")
        .and_then(|m| interp.getattr(&m, "_bootstrap_inner"))
        .and_then(|boot| interp.call(&boot, std::slice::from_ref(&me)));
    if let Err(e) = result {
        // (`SystemExit` too: the default hook ignores it, a program's may not.)
        report_uncaught(&mut interp, &me, &e);
    }
    end_thread_locals(&mut interp);
    // What died with the thread's frames (weak reference callbacks, `weakref.finalize`,
    // `__del__`, unfinished generators) is finalized here, on this thread, before it counts as
    // finished: CPython runs them the moment the last reference goes, so a `join()` sees their
    // effects. (`detach` frees anything still queued without running it.)
    interp.run_finalizers();
    interp.vm.threads.lock().retain(|t| !t.is(&me));
    let end = data(&me).map(|d| d.end.clone());
    // Every heap value this thread owns goes while it still holds the GIL (`detach` drops the
    // interpreter's own); then detach (which files this thread's statistics) before announcing
    // the end, so whoever joins this thread sees it completely finished.
    drop(me);
    let forker = interp.is_main && crate::stdlib::os_fork::in_forked_child();
    interp.detach();
    if let Some(end) = end {
        *end.state.lock() = RunState::Finished;
        end.done.notify_all();
    }
    if forker {
        end_forked_child(&interp);
    }
}

/// The ending thread's dicts in `threading.local` objects and its current `contextvars`
/// context go now, before a `join()` returns, as CPython drops them with the thread's state:
/// what only they held is freed (its `__del__` and weakref callbacks run) on this thread
/// (`_threadinfo._thread_ended`). They stayed until the `local` itself went (the contexts:
/// for ever), so 300 threads' objects kept in a module-level `local` were never freed. (A
/// failure here has nothing to report to: the thread's work is over.) Nothing to do, and
/// nothing imported, when `_threadinfo` was never loaded (`threading` and `contextvars` load it).
fn end_thread_locals(interp: &mut Interp) {
    let Some(m @ Value::Module(_)) = interp.vm.sys_modules.get_str("_threadinfo") else {
        return;
    };
    let _ = interp
        .getattr(&m, "_thread_ended")
        .and_then(|f| interp.call(&f, &[]));
}

/// In a forked child, the thread that forked (its only thread at the fork) has finished:
/// the program is over, as when a CPython child's last thread ends: flush and exit with 0.
fn end_forked_child(interp: &Interp) {
    let status = crate::flush_at_exit(&interp.vm, 0);
    crate::stdlib::os_fork::exit_forked(&interp.vm, None, status)
}

/// The class of `threading.excepthook`'s argument (CPython's `_thread._ExceptHookArgs`).
fn excepthook_args_class() -> Ref<Class> {
    static CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();
    CLASS
        .get_or_init(|| native_class("_ExceptHookArgs", "_thread", &[]))
        .clone()
}

/// An exception escaped a thread's `run()`: hand it to `threading.excepthook` (which a program
/// may replace) with CPython's `ExceptHookArgs(exc_type, exc_value, exc_traceback, thread)`; an
/// exception raised by the hook itself is printed after `Exception in threading.excepthook:`.
fn report_uncaught(interp: &mut Interp, thread: &Value, e: &crate::PyErr) {
    let exc = Value::Instance(e.exc.clone());
    let hook_args = Instance::new(excepthook_args_class());
    {
        let mut d = hook_args.dict.lock();
        let mut set = |k: &str, v: Value| d.insert(Arc::from(k), v);
        set("exc_type", Value::Class(e.exc.class.get().clone()));
        set("exc_traceback", crate::interp::exc::traceback_value(&e.exc));
        set("exc_value", exc);
        set("thread", thread.clone());
    }
    let hook_args = Value::Instance(Ref::new(hook_args));
    let called = interp
        .import_module("threading")
        .and_then(|m| interp.getattr(&m, "excepthook"))
        .and_then(|hook| interp.call(&hook, std::slice::from_ref(&hook_args)));
    if let Err(hook_err) = called {
        let text = interp.format_exception(&hook_err);
        let text = format!("Exception in threading.excepthook:\n{text}");
        crate::stdlib::file::write_stderr(interp, &text);
    }
}

/// `threading.excepthook(args)` as CPython's default: print `Exception in thread NAME:` and the
/// traceback to `sys.stderr`; a `SystemExit` is silently ignored.
fn default_excepthook(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let hook_args = Sig::pos("excepthook", Style::Keywords, &["args"], 1).bind::<1>(&args)?[0]
        .ok_or_else(|| err!(SystemError, "excepthook(): argument lost"))?;
    let exc = interp.getattr(hook_args, "exc_value")?;
    let Value::Instance(exc) = exc else {
        return Ok(Value::None);
    };
    let err = crate::PyErr { exc };
    if err.exc.exc().is_none() || err.is(ExcKind::SystemExit) {
        return Ok(Value::None);
    }
    let thread = interp.getattr(hook_args, "thread")?;
    let name = match thread {
        Value::None => interp.thread_name.to_string(),
        t => {
            let n = interp.getattr(&t, "name")?;
            interp.str_of(&n)?
        }
    };
    let text = interp.format_exception(&err);
    let text = format!("Exception in thread {name}:\n{text}");
    crate::stdlib::file::write_stderr(interp, &text);
    Ok(Value::None)
}

/// The default `run()`: threading.py's, in `_threadinfo.run` (call `self._target` with
/// `self._args` and `self._kwargs`, then delete the three), so a traceback through it shows
/// CPython's frame `in run` and its line.
fn thread_run(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, _) = this::<ThreadData>(&args, "Thread")?;
    Sig::py("Thread.run", &[], 0).method().check(&args)?;
    let m = interp.import_module("_threadinfo")?;
    let run = interp.getattr(&m, "run")?;
    interp.call(&run, &[Value::Instance(inst.clone())])
}

fn thread_join(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, d) = this::<ThreadData>(&args, "Thread")?;
    let [timeout] = Sig::py("Thread.join", &["timeout"], 0)
        .method()
        .bind(&args)?;
    // A pending Ctrl-C is acted on first, even for a thread already joined (CPython's join is
    // Python code, which checks its eval breaker on entry).
    crate::stdlib::sync::before_wait(interp)?;
    if *d.end.state.lock() == RunState::New {
        return Err(err!(
            RuntimeError,
            "cannot join thread before it is started"
        ));
    }
    let me = Value::Instance(inst.clone());
    let current = current_thread_obj(interp);
    if current.is(&me) {
        return Err(err!(RuntimeError, "cannot join current thread"));
    }
    if d.seen_ended.load(Ordering::Relaxed) {
        return Ok(Value::None);
    }
    // CPython's join waits `max(timeout, 0)` in a lock acquire, which converts it to its clock
    // (a timeout too large for it is an OverflowError, a NaN a ValueError).
    let w = match timeout {
        None | Some(Value::None) => Wait::Forever,
        Some(v) => {
            let t = seconds(v)?;
            if t.secs < 0.0 {
                Wait::NonBlocking
            } else {
                t.wait()?
            }
        }
    };
    wait_done(interp, &me, w)?;
    if *d.end.state.lock() == RunState::Finished {
        d.seen_ended.store(true, Ordering::Relaxed);
    }
    Ok(Value::None)
}

fn thread_is_alive(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = initialized(&args, "Thread.__init__() not called")?;
    Sig::py("Thread.is_alive", &[], 0).method().check(&args)?;
    let state = *d.end.state.lock();
    if state == RunState::Finished {
        d.seen_ended.store(true, Ordering::Relaxed);
    }
    Ok(Value::Bool(state == RunState::Running))
}

fn thread_repr(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    initialized(&args, "Thread.__init__() was not called")?;
    let Some(Value::Instance(inst)) = args.pos.first() else {
        return Ok(Value::str("<Thread>"));
    };
    let name = inst
        .dict
        .lock()
        .get("_name")
        .cloned()
        .unwrap_or(Value::None);
    let name = interp.str_of(&name)?;
    // As threading.py's Thread.__repr__: the state, " daemon", then the ident once started
    // (a stopped thread keeps showing it).
    let status = match inst.native::<ThreadData>().map(|d| *d.end.state.lock()) {
        Some(RunState::Running) => "started",
        Some(RunState::Finished) => "stopped",
        Some(RunState::New) | None => "initial",
    };
    let daemon = if is_daemon(&Value::Instance(inst.clone())) {
        " daemon"
    } else {
        ""
    };
    let ident = inst.dict.lock().get("_ident").cloned();
    let ident = match ident {
        Some(Value::None) | None => String::new(),
        Some(v) => format!(" {}", interp.repr(&v)?),
    };
    Ok(Value::string(format!(
        "<{}({name}, {status}{daemon}{ident})>",
        inst.class.name()
    )))
}

/// The thread data of `self`, or threading.py's `assert self._initialized, message`.
fn initialized<'a>(args: &Args<'a>, message: &str) -> PyResult<&'a ThreadData> {
    match args.pos.first() {
        Some(Value::Instance(inst)) => inst
            .native::<ThreadData>()
            .ok_or_else(|| err!(AssertionError, "{message}")),
        _ => Err(err!(TypeError, "descriptor requires a 'Thread' object")),
    }
}

/// The value of `self`'s attribute `key` (`_name`, `_daemonic`), for the properties.
fn stored(args: &Args<'_>, key: &str) -> PyResult<Value> {
    initialized(args, "Thread.__init__() not called")?;
    match args.pos.first() {
        Some(Value::Instance(inst)) => {
            Ok(inst.dict.lock().get(key).cloned().unwrap_or(Value::None))
        }
        _ => Ok(Value::None),
    }
}

/// `Thread.ident`: the pthread id, once started.
fn thread_ident_get(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    stored(&args, "_ident")
}

/// `Thread.native_id`: the kernel's id of the thread, once started. Free-threaded, `start()`
/// returns before the new thread runs: the id is then waited for (it comes in microseconds,
/// or a scheduler tick on a busy machine), so it is known after `start()` as in CPython.
fn thread_native_id_get(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = initialized(&args, "Thread.__init__() not called")?;
    if *d.end.state.lock() == RunState::Running {
        let end = d.end.clone();
        wait_shown(interp, &end);
    }
    stored(&args, "_native_id")
}

/// `Thread.name`.
fn thread_name_get(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    stored(&args, "_name")
}

/// `Thread.name = value`: kept as `str(value)`.
fn thread_name_set(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    initialized(&args, "Thread.__init__() not called")?;
    let (Some(Value::Instance(inst)), Some(v)) = (args.pos.first(), args.pos.get(1)) else {
        return Err(err!(TypeError, "name setter needs a value"));
    };
    let name = interp.str_of(v)?;
    set_attr(inst, "_name", Value::string(name));
    Ok(Value::None)
}

/// `Thread.daemon`.
fn thread_daemon_get(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    stored(&args, "_daemonic")
}

/// `Thread.daemon = value`: refused once the thread has started.
fn thread_daemon_set(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (Some(Value::Instance(inst)), Some(v)) = (args.pos.first(), args.pos.get(1)) else {
        return Err(err!(TypeError, "daemon setter needs a value"));
    };
    let Some(d) = inst.native::<ThreadData>() else {
        return Err(err!(RuntimeError, "Thread.__init__() not called"));
    };
    if *d.end.state.lock() != RunState::New {
        return Err(err!(
            RuntimeError,
            "cannot set daemon status of active thread"
        ));
    }
    d.daemon.store(interp.truthy(v)?, Ordering::Relaxed);
    set_attr(inst, "_daemonic", v.clone());
    Ok(Value::None)
}

/// CPython 3.10's `DeprecationWarning` for the camelCase accessors of `Thread`, pointing at the
/// caller's line (`_threadinfo._deprecated_alias`: this native method has no frame).
fn warn_old_name(interp: &mut Interp, old: &str, how: &str) -> PyResult<()> {
    let m = interp.import_module("_threadinfo")?;
    let f = interp.getattr(&m, "_deprecated_alias")?;
    let msg = format!("{old}() is deprecated, {how} instead");
    interp.call(&f, &[Value::string(msg)])?;
    Ok(())
}

/// `isDaemon()`: the `daemon` attribute, with a DeprecationWarning.
fn thread_is_daemon_old(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, _) = this::<ThreadData>(&args, "Thread")?;
    Sig::py("Thread.isDaemon", &[], 0).method().check(&args)?;
    warn_old_name(interp, "isDaemon", "get the daemon attribute")?;
    interp.getattr(&Value::Instance(inst.clone()), "daemon")
}

/// `setDaemon(daemonic)`: set the `daemon` attribute (before `start()` only), with a
/// DeprecationWarning.
fn thread_set_daemon_old(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, d) = this::<ThreadData>(&args, "Thread")?;
    let [daemonic] = Sig::py("Thread.setDaemon", &["daemonic"], 1)
        .method()
        .bind(&args)?;
    warn_old_name(interp, "setDaemon", "set the daemon attribute")?;
    if *d.end.state.lock() != RunState::New {
        return Err(err!(
            RuntimeError,
            "cannot set daemon status of active thread"
        ));
    }
    let daemonic = daemonic.cloned().unwrap_or(Value::None);
    d.daemon.store(interp.truthy(&daemonic)?, Ordering::Relaxed);
    set_attr(inst, "_daemonic", daemonic);
    Ok(Value::None)
}

/// `getName()`: the `name` attribute, with a DeprecationWarning.
fn thread_get_name_old(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, _) = this::<ThreadData>(&args, "Thread")?;
    Sig::py("Thread.getName", &[], 0).method().check(&args)?;
    warn_old_name(interp, "getName", "get the name attribute")?;
    interp.getattr(&Value::Instance(inst.clone()), "name")
}

/// `setName(name)`: set the `name` attribute (made a string, as CPython's setter), with a
/// DeprecationWarning.
fn thread_set_name_old(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, _) = this::<ThreadData>(&args, "Thread")?;
    let [name] = Sig::py("Thread.setName", &["name"], 1)
        .method()
        .bind(&args)?;
    warn_old_name(interp, "setName", "set the name attribute")?;
    let name = interp.str_of(name.unwrap_or(&Value::None))?;
    set_attr(inst, "_name", Value::string(name));
    Ok(Value::None)
}

/// In a forked child (`os_fork.rs`), with the GIL held: only the forking thread exists, as
/// POSIX says, so every other `Thread` object reports not alive and is dropped from the
/// registry (`enumerate()`, `active_count()`), and joining one returns at once (CPython's
/// `threading._after_fork`). A fork from a thread other than the main one makes that thread the
/// child's main thread for signals; the main thread's object then reports not alive.
pub fn after_fork_child(interp: &mut Interp) {
    let me = interp.thread_obj.clone();
    let mut gone: Vec<Value> = Vec::new();
    interp.vm.threads.lock().retain(|t| {
        let keep = me.as_ref().is_some_and(|m| m.is(t));
        if !keep {
            gone.push(t.clone());
        }
        keep
    });
    if me.is_some() {
        if let Some(main) = interp.vm.main_thread.get() {
            gone.push(main.clone());
        }
        interp.is_main = true;
    }
    // (The `Thread` object keeps its `native_id`, as CPython 3.11's: `get_native_id()` is
    // the child's pid.)
    let mine = me.as_ref().and_then(data).map(|d| d.end.clone());
    let mut ends: Vec<Arc<ThreadEnd>> = std::mem::take(&mut *STARTED.lock());
    ends.retain(|e| !mine.as_ref().is_some_and(|m| Arc::ptr_eq(m, e)));
    ends.extend(gone.iter().filter_map(data).map(|d| d.end.clone()));
    for end in ends {
        *end.state.lock() = RunState::Finished;
        end.done.notify_all();
    }
    if let Some(m) = mine {
        STARTED.lock().push(m);
    }
    crate::builtins::frames_after_fork_child(interp);
}

/// The data of a `Thread` object for a thread `threading` did not start (the main thread, a
/// `_DummyThread`): no target, already running.
fn running_data(daemon: bool) -> Box<ThreadData> {
    Box::new(ThreadData {
        daemon: std::sync::atomic::AtomicBool::new(daemon),
        end: Arc::new(ThreadEnd {
            state: Mutex::new(RunState::Running),
            done: Condvar::new(),
            shown: Mutex::new(true),
            shown_now: Condvar::new(),
        }),
        seen_ended: std::sync::atomic::AtomicBool::new(false),
    })
}

/// The `Thread` object standing for the main thread.
fn main_thread_obj(interp: &Interp) -> Value {
    interp
        .vm
        .main_thread
        .get_or_init(|| {
            let inst = Instance::new(main_thread_class());
            inst.set_native(running_data(false));
            set_attr(&inst, "_name", Value::str("MainThread"));
            set_attr(&inst, "_daemonic", Value::Bool(false));
            let ident = MAIN_IDENT.get().copied().unwrap_or(0);
            set_attr(&inst, "_ident", Value::Int(ident));
            set_attr(
                &inst,
                "_native_id",
                Value::Int(i64::from(std::process::id())),
            );
            Value::Instance(Ref::new(inst))
        })
        .clone()
}

fn current_thread(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::py("current_thread", &[], 0).check(&args)?;
    Ok(current_thread_obj(interp))
}

/// The calling thread's `Thread` object. The main thread has no `thread_obj`: its object is the
/// one `main_thread()` returns. A thread started by `_thread.start_new_thread` has none either
/// until it asks: then, as CPython 3.11, it gets a `_DummyThread` named `Dummy-N` (N from the
/// counter `Thread-N` names use), daemonic, alive and listed by `enumerate()` for good.
fn current_thread_obj(interp: &mut Interp) -> Value {
    if let Some(t) = &interp.thread_obj {
        return t.clone();
    }
    if interp.is_main {
        return main_thread_obj(interp);
    }
    let inst = Instance::new(dummy_thread_class());
    inst.set_native(running_data(true));
    let n = THREAD_COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
    set_attr(&inst, "_name", Value::string(format!("Dummy-{n}")));
    set_attr(&inst, "_daemonic", Value::Bool(true));
    let me = Value::Instance(Ref::new(inst));
    set_shown_ids(interp, &me);
    interp.vm.threads.lock().push(me.clone());
    interp.thread_obj = Some(me.clone());
    me
}

/// `threading._DummyThread`: the `Thread` of a thread `threading` did not start.
fn dummy_thread_class() -> Ref<Class> {
    static CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();
    CLASS
        .get_or_init(|| {
            crate::stdlib::native_subclass(
                "_DummyThread",
                "threading",
                &thread_class(),
                &[("join", dummy_join)],
            )
        })
        .clone()
}

/// `threading._MainThread`: the class of the main thread's `Thread` (its repr names it, as
/// CPython's `<_MainThread(MainThread, started ...)>`).
fn main_thread_class() -> Ref<Class> {
    static CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();
    CLASS
        .get_or_init(|| {
            crate::stdlib::native_subclass("_MainThread", "threading", &thread_class(), &[])
        })
        .clone()
}

/// `_DummyThread.join()`: CPython 3.11's `assert False, "cannot join a dummy thread"`.
fn dummy_join(_: &mut Interp, _: Args<'_>) -> PyResult<Value> {
    Err(err!(AssertionError, "cannot join a dummy thread"))
}

/// `threading._start_bare(function, args)`: what `_thread.start_new_thread` stands on. Runs
/// `function(*args)` in a new OS thread that has no `Thread` object (none is listed or named
/// until the thread calls `current_thread()`), without waiting for it to begin, as CPython's
/// `_thread`; its identifier. The program does not wait for it at exit.
fn start_bare(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [function, fargs] =
        Sig::pos("_start_bare", Style::Positional, &["function", "args"], 2).bind::<2>(&args)?;
    let (Some(function), Some(fargs)) = (function, fargs) else {
        return Err(err!(SystemError, "_start_bare(): argument lost"));
    };
    let fargs = interp.collect_iter(fargs)?;
    let mut child = Interp::new(interp.vm.clone(), "_thread");
    child.is_main = false;
    // Handed over whole, as in `thread_start`: touched by the new thread only once it holds
    // the GIL.
    let handoff = crate::heap::Shared::new((child, function.clone(), fargs));
    let spawned = crate::interp::guard::spawn_detached("_thread".to_string(), move || {
        let (mut child, function, fargs) = handoff.into_inner();
        child.attach();
        // (The function given is `_thread._bootstrap`, which reports what escapes it.)
        let _ = child.call(&function, &fargs);
        drop((function, fargs));
        end_thread_locals(&mut child);
        child.run_finalizers();
        child.detach();
    });
    match spawned {
        Ok(ident) => Ok(Value::Int(ident as i64)),
        Err(e) => Err(err!(RuntimeError, "can't start new thread: {e}")),
    }
}

fn main_thread(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::py("main_thread", &[], 0).check(&args)?;
    Ok(main_thread_obj(interp))
}

fn get_ident(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("_thread.get_ident", Style::NoArgs, &[], 0).check(&args)?;
    Ok(Value::Int(shown_ids(interp).0))
}

/// `threading._thread_key()`: a number no other thread of this process has had or will have
/// (minivm's `Interp::thread_id`), the key of per-thread state (`threading.local`,
/// `contextvars`, asyncio's loops): pthread ids, which `get_ident()` shows, are reused once a
/// thread ends, and CPython drops such state when its thread ends, which these dicts do not.
fn thread_key(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("_thread_key", Style::NoArgs, &[], 0).check(&args)?;
    Ok(Value::Int(interp.thread_id as i64))
}

fn get_native_id(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("_thread.get_native_id", Style::NoArgs, &[], 0).check(&args)?;
    Ok(Value::Int(shown_ids(interp).1))
}

fn active_count(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::py("active_count", &[], 0).check(&args)?;
    let live = interp
        .vm
        .threads
        .lock()
        .iter()
        .filter(|t| is_alive(t))
        .count();
    let main = usize::from(is_alive(&main_thread_obj(interp)));
    Ok(Value::Int((live + main) as i64))
}

fn enumerate(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::py("enumerate", &[], 0).check(&args)?;
    let main = main_thread_obj(interp);
    let mut out = if is_alive(&main) {
        vec![main]
    } else {
        Vec::new()
    };
    out.extend(
        interp
            .vm
            .threads
            .lock()
            .iter()
            .filter(|t| is_alive(t))
            .cloned(),
    );
    Ok(Value::list(out))
}
