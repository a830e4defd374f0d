//! `os.fork`, `os.register_at_fork`, `os.wait`/`os.waitpid` for forked children and `os._exit`
//! (stdlib stage): the process side of CPython's fork, which `multiprocessing`'s default start
//! method on Linux is built on (`vm/lib/multiprocessing/popen_fork.mini`).
//!
//! A fork copies the whole process with only the calling thread in it (POSIX). The call itself
//! is `heap::fork::fork` (the one `unsafe` step); what happens around it, as in CPython's
//! `os_fork_impl` and `PyOS_AfterFork_Child`:
//! 1. the `before` hooks run (last registered first), then the parent's buffered standard output
//!    and the VM's own locks are held across the call (`Gil::around_fork` holds the GIL's), so
//!    no other thread is halfway through them when memory is copied. Nothing is flushed: a
//!    line printed and still buffered comes out of both processes, as in CPython;
//! 2. in the child: the GIL belongs to this thread alone, every other `Thread` object reports
//!    not alive (`thread::after_fork_child`), this thread's statistics start again (a child of
//!    a `--stats`/`--timeline` run reports only what it did), Ctrl-C gets a handler of its own,
//!    then the `after_in_child` hooks run (first registered first);
//! 3. in the parent: the `after_in_parent` hooks run.
//!
//! Exceptions raised by hooks are printed ("Exception ignored in: ...") and do not stop the
//! fork, as in CPython.

use std::sync::atomic::Ordering;
use std::time::Duration;

use parking_lot::Mutex;

use crate::builtins::args::{to_index, Sig, Style};
use crate::heap::fork::Forked;
use crate::interp::{Args, Interp};
use crate::stdlib::func;
use crate::stdlib::os::os_error;
use crate::value::Value;
use crate::{err, PyResult};

/// The functions this file adds to `os` (`waitpid` stays in `os_fd.rs`, which hands forked
/// children to [`wait_forked`]).
pub fn entries() -> Vec<(&'static str, Value)> {
    vec![
        ("fork", func("fork", fork)),
        (
            "register_at_fork",
            func("register_at_fork", register_at_fork),
        ),
        ("wait", func("wait", wait)),
    ]
}

/// The hooks of `os.register_at_fork`: before, after in the parent, after in the child.
/// (A `Global`: the values in it are only touched with the GIL held.)
#[derive(Default)]
struct Hooks {
    before: Vec<Value>,
    parent: Vec<Value>,
    child: Vec<Value>,
}

static HOOKS: crate::heap::Global<Mutex<Hooks>> = crate::heap::Global::new();

fn hooks() -> &'static Mutex<Hooks> {
    HOOKS.get_or_init(|| Mutex::new(Hooks::default()))
}

/// Pids of the children this process forked and has not reaped: `os.waitpid` waits for these
/// itself (children started by `subprocess` are waited for by their reapers).
static FORKED: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Whether `pid` (or any child, for `pid <= 0`) is one of this process's forked children.
pub fn is_forked(pid: i64) -> bool {
    let forked = FORKED.lock();
    if pid <= 0 {
        !forked.is_empty()
    } else {
        forked.iter().any(|p| i64::from(*p) == pid)
    }
}

/// `os.register_at_fork(*, before=None, after_in_child=None, after_in_parent=None)`
fn register_at_fork(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [before, child, parent] = Sig::kw("register_at_fork", &[], 0)
        .kwonly(&["before", "after_in_child", "after_in_parent"])
        .bind::<3>(&args)?;
    let given = |v: Option<&Value>| v.filter(|v| !v.is_none()).cloned();
    let (before, child, parent) = (given(before), given(child), given(parent));
    if before.is_none() && child.is_none() && parent.is_none() {
        return Err(err!(TypeError, "At least one argument is required."));
    }
    for (name, v) in [
        ("before", &before),
        ("after_in_child", &child),
        ("after_in_parent", &parent),
    ] {
        if let Some(v) = v {
            if !crate::builtins::functions::is_callable(interp, v) {
                return Err(err!(
                    TypeError,
                    "'{name}' must be callable, not {}",
                    crate::object::type_name(v)
                ));
            }
        }
    }
    let mut h = hooks().lock();
    h.before.extend(before);
    h.child.extend(child);
    h.parent.extend(parent);
    Ok(Value::None)
}

/// Call each hook, reporting what one raises as CPython's `PyErr_WriteUnraisable` does.
fn run_hooks(interp: &mut Interp, list: Vec<Value>) {
    for f in list {
        if let Err(e) = interp.call(&f, &[]) {
            // Through `sys.unraisablehook`, with the hook as the object.
            interp.report_unraisable(&e, &f);
        }
    }
}

/// `os.fork()`: 0 in the child, the child's pid in the parent.
fn fork(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("posix.fork", Style::NoArgs, &[], 0).check(&args)?;
    let pid = fork_with_hooks(interp, true)?;
    Ok(Value::Int(i64::from(pid.unwrap_or(0))))
}

/// The fork of `os.fork()`, with its hooks and the child's repairs: `Some(pid)` in the parent,
/// `None` in the child. `track`: the parent's `os.waitpid`/`os.wait` wait for this child
/// themselves; `subprocess`'s children (`preexec_fn=`) have a reaper thread instead.
pub fn fork_with_hooks(interp: &mut Interp, track: bool) -> PyResult<Option<i32>> {
    let before: Vec<Value> = hooks().lock().before.iter().rev().cloned().collect();
    run_hooks(interp, before);
    let vm = interp.vm.clone();
    let me = interp.thread_id;
    let forked = vm.gil.around_fork(me, vm.eval_breaker, |token| {
        // The VM's locks another thread may hold without the GIL (its standard output buffer,
        // the finished threads' statistics, the thread list, the standard streams), held across
        // the copy; taken once the other threads are stopped (with the GIL off, a running
        // thread waiting for one of them would never stop).
        let _stdout = vm.stdout.lock();
        let _finished = vm.finished_stats.lock();
        let _threads = vm.threads.lock();
        let _children = crate::stdlib::subprocess::CHILDREN.lock();
        let _std_out = std::io::stdout().lock();
        let _std_err = std::io::stderr().lock();
        // The import lists and the interval timer: threads wait on them without the GIL.
        let imports = crate::interp::modules::ForkHold::take();
        let mut timer = crate::stdlib::signal::TimerForkHold::take();
        // Threads may be queued on any of these (and on the GIL's): the child removes them.
        use crate::heap::fork::mutex_key;
        let mut held = vm.gil.park_keys();
        held.extend([
            mutex_key(&vm.stdout),
            mutex_key(&vm.finished_stats),
            mutex_key(&vm.threads),
            mutex_key(&FORKED),
            mutex_key(&crate::stdlib::subprocess::CHILDREN),
            mutex_key(hooks()),
        ]);
        held.extend(imports.park_keys());
        held.extend(timer.park_keys());
        let r = crate::heap::fork::fork(token, &held);
        if matches!(r, Ok(Forked::Child)) {
            timer.disarm();
        }
        r
    });
    match forked {
        Err(e) => Err(os_error(&e, None)),
        Ok(Forked::Parent(pid)) => {
            if track {
                FORKED.lock().push(pid);
            }
            let after: Vec<Value> = hooks().lock().parent.clone();
            run_hooks(interp, after);
            Ok(Some(pid))
        }
        Ok(Forked::Child) => {
            after_fork_child(interp);
            let after: Vec<Value> = hooks().lock().child.clone();
            run_hooks(interp, after);
            Ok(None)
        }
    }
}

/// Set in a forked child: its end is [`exit_forked`] (the thread that would have ended the
/// process, the parent's first one, is not there).
static IN_CHILD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether this process is a forked child.
pub fn in_forked_child() -> bool {
    IN_CHILD.load(Ordering::Relaxed)
}

/// End a forked child with `status`. Its statistics go to the parent's `--stats` /
/// `--timeline` (as a spawned child's do, `timeline::children`), with `current` (the
/// statistics of a thread that has not finished) among them; then `_exit`, since the process's
/// first thread, whose return would end it, does not exist here.
pub fn exit_forked(
    vm: &crate::interp::Vm,
    current: Option<&crate::stats::ThreadStats>,
    status: i32,
) -> ! {
    if std::env::var_os(crate::timeline::children::ENV).is_some() {
        let timeline = vm.gil.recorder().map(|rec| {
            rec.snapshot(crate::timeline::RunInfo {
                mode: vm.gil.mode(),
                switch_interval: vm.gil.interval(),
                check_interval: vm.gil.check_interval(),
                wall: vm.started.elapsed(),
                command: String::new(),
            })
        });
        let mut report = vm.report();
        if let Some(current) = current {
            let mut current = current.clone();
            current.finish();
            report.threads.push(current);
        }
        let _ = crate::timeline::children::write_report(&report, timeline.as_ref(), vm.started);
    }
    crate::heap::fork::exit_now(status)
}

/// The child's repairs, before any hook runs (see the module's documentation).
fn after_fork_child(interp: &mut Interp) {
    IN_CHILD.store(true, Ordering::Relaxed);
    FORKED.lock().clear();
    // (The parent's `subprocess` children are not this process's; their reapers stayed behind.)
    crate::stdlib::subprocess::CHILDREN.lock().clear();
    crate::stdlib::thread::after_fork_child(interp);
    interp.vm.finished_stats.lock().clear();
    interp
        .vm
        .gil
        .counters
        .max_holders
        .store(1, Ordering::SeqCst);
    // This thread's statistics start now, as the child's main thread.
    let mut stats = crate::stats::ThreadStats::new("MainThread");
    if let Some(rec) = interp.vm.gil.recorder() {
        stats.observe(rec.clone(), interp.thread_id);
    }
    stats.switch_to(crate::stats::Activity::Holding);
    interp.stats = stats;
    // Ctrl-C: the parent's SIGINT thread is not here; the child needs its own.
    crate::stdlib::signal::after_fork_child(&interp.vm);
}

/// `os.wait()`: wait for any forked child; `(pid, status)`.
fn wait(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("posix.wait", Style::NoArgs, &[], 0).check(&args)?;
    let (pid, status) = wait_forked(interp, -1, false)?;
    Ok(Value::tuple(vec![
        Value::Int(i64::from(pid)),
        Value::Int(i64::from(status)),
    ]))
}

/// Wait for the forked child `pid` (any child when `pid <= 0`) with the GIL released, polling
/// so that Ctrl-C in the main thread ends the wait with `KeyboardInterrupt`; `(0, 0)` under
/// `nohang` while it runs. Any child means a forked one or one `subprocess` started: those are
/// reaped by their reaper threads (`subprocess.rs`), so this asks each forked child by its pid
/// rather than calling waitpid(-1), which would take a `subprocess` child's status from its
/// reaper; `ChildProcessError` when there is neither.
pub fn wait_forked(interp: &mut Interp, pid: i64, nohang: bool) -> PyResult<(i32, i32)> {
    let target = match i32::try_from(pid) {
        Ok(p) if p > 0 => rustix::process::Pid::from_raw(p),
        Ok(_) => None,
        Err(_) => {
            return Err(err!(
                OverflowError,
                "signed integer is greater than maximum"
            ))
        }
    };
    let mut pause = Duration::from_micros(50);
    loop {
        let pids: Vec<rustix::process::Pid> = match target {
            Some(p) => vec![p],
            None => {
                if let Some((p, status)) = crate::stdlib::subprocess::take_ended() {
                    let p = i32::try_from(p).unwrap_or(i32::MAX);
                    let status = i32::try_from(status).unwrap_or(0);
                    return Ok((p, status));
                }
                let forked = FORKED.lock().clone();
                if forked.is_empty() && !crate::stdlib::subprocess::has_children() {
                    let e = std::io::Error::from_raw_os_error(libc::ECHILD);
                    return Err(os_error(&e, None));
                }
                forked
                    .into_iter()
                    .filter_map(rustix::process::Pid::from_raw)
                    .collect()
            }
        };
        let (r, gone) = interp.allow_threads(move || {
            let mut gone = Vec::new();
            for p in pids {
                match rustix::process::waitpid(Some(p), rustix::process::WaitOptions::NOHANG) {
                    Ok(None) => {}
                    Ok(Some((p, st))) => {
                        return (Ok(Some((p.as_raw_nonzero().get(), st.as_raw()))), gone)
                    }
                    // (A forked child reaped elsewhere: forgotten, when any child will do.)
                    Err(rustix::io::Errno::CHILD) if target.is_none() => {
                        gone.push(p.as_raw_nonzero().get());
                    }
                    Err(e) => return (Err(e), gone),
                }
            }
            if !nohang {
                std::thread::sleep(pause);
            }
            (Ok(None), gone)
        });
        if !gone.is_empty() {
            FORKED.lock().retain(|x| !gone.contains(x));
        }
        match r {
            Ok(Some((p, status))) => {
                FORKED.lock().retain(|x| *x != p);
                // A Ctrl-C that came while we waited is raised, not lost, even when the
                // child ended meanwhile (killed by the same Ctrl-C, sent to the whole
                // process group): CPython's waitpid is interrupted by the signal first.
                interp.check_signals()?;
                return Ok((p, status));
            }
            Ok(None) if nohang => return Ok((0, 0)),
            Ok(None) => {}
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(os_error(&std::io::Error::from(e), None)),
        }
        interp.check_signals()?;
        pause = (pause * 2).min(Duration::from_millis(5));
    }
}

/// `os._exit(n)`: end the process at once with status `n`: no `finally` blocks, `atexit`
/// functions or flushing of buffered output (what a forked `multiprocessing` child ends with).
pub fn os_exit(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [status] = Sig::pos("_exit", Style::Positional, &["status"], 1).bind::<1>(&args)?;
    let status = to_index(status.unwrap_or(&Value::None))?;
    let status = i32::try_from(status)
        .map_err(|_| err!(OverflowError, "Python int too large to convert to C int"))?;
    if in_forked_child() {
        exit_forked(&interp.vm, Some(&interp.stats), status)
    }
    crate::heap::fork::exit_now(status)
}
