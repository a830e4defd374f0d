//! `_subprocess`, the native half of `subprocess` (stage 4, the VM's standard library): start a
//! child process with its standard streams redirected, wait for it, signal it, and exchange data
//! with it (`communicate`). `Popen`, `run` and the exceptions are written in the mini language in
//! `vm/lib/subprocess.mini`, as CPython's are Python code (`Lib/subprocess.py`) over a small C
//! module (`_posixsubprocess`).
//!
//! Each child gets a reaper: a small thread that blocks until the child ends, then reaps it and
//! records the exit status at once, so no zombie is left even by a program that never waits, and every
//! wait of the program (`wait`, with or without a timeout) is a condition-variable wait with the
//! GIL released that Ctrl-C ends, as `threading`'s waits are.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::builtins::args::{to_index, Sig};
use crate::builtins::codecs::Encoding;
use crate::heap::fork::{ChildSetup, SETUP_FAILED};
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{type_name, Class, Instance, Module};
use crate::stdlib::os::os_error;
use crate::stdlib::pipe::{self, new_pipe, pipe_data, PipeData, TextMode};
use crate::stdlib::select::poll_fds;
use crate::stdlib::subprocess_fork::ExecPlan;
use crate::stdlib::sync::{block_on, loop_timeout, Wait};
use crate::stdlib::{func, make_module, native_class, this};
use crate::value::Value;
use crate::{err, PyResult};

/// CPython's `subprocess.PIPE`, `STDOUT` and `DEVNULL`.
const PIPE: i64 = -1;
const STDOUT: i64 = -2;
const DEVNULL: i64 = -3;

pub fn module() -> Ref<Module> {
    make_module(
        "_subprocess",
        vec![
            ("spawn", func("spawn", spawn)),
            ("PIPE", Value::Int(PIPE)),
            ("STDOUT", Value::Int(STDOUT)),
            ("DEVNULL", Value::Int(DEVNULL)),
        ],
    )
}

/// The exit status, set once by the reaper thread.
pub(crate) struct Exit {
    /// `Popen.returncode`: the exit code, or minus the signal that killed the child.
    code: Mutex<Option<i64>>,
    done: Condvar,
}

/// What `communicate` has done so far: CPython lets a program call it again after a timeout and
/// goes on where it stopped.
#[derive(Default)]
struct Comm {
    started: bool,
    /// The input being written (`None` until a call gives one) and how much of it has gone.
    input: Option<Vec<u8>>,
    offset: usize,
    /// Output read so far, and whether any chunk came (`TimeoutExpired.output` is `None` if not).
    out: [Vec<u8>; 2],
    got: [bool; 2],
}

/// Rust data of a `_subprocess.Child`.
struct ChildData {
    pid: u32,
    exit: Arc<Exit>,
    comm: Mutex<Comm>,
}

static CHILD_CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();

fn child_class() -> Ref<Class> {
    CHILD_CLASS
        .get_or_init(|| {
            native_class(
                "Child",
                "_subprocess",
                &[
                    ("poll", child_poll),
                    ("wait", child_wait),
                    ("send_signal", child_send_signal),
                    ("communicate", child_communicate),
                ],
            )
        })
        .clone()
}

// ---------------------------------------------------------------------------------------------
// Starting a child

/// Where one of the child's standard streams goes, as the program asked.
enum Target {
    Inherit,
    Null,
    Pipe,
    /// Wherever the child's stdout goes (`stderr=STDOUT`).
    Stdout,
    Fd(OwnedFd),
}

/// The child's end of a stream once the pipes exist.
pub(crate) enum ChildEnd {
    Inherit,
    Null,
    Fd(OwnedFd),
}

impl ChildEnd {
    fn stdio(self) -> Stdio {
        match self {
            ChildEnd::Inherit => Stdio::inherit(),
            ChildEnd::Null => Stdio::null(),
            ChildEnd::Fd(fd) => Stdio::from(fd),
        }
    }
}

/// A copy of one of this process's own descriptors 0, 1, 2.
fn dup_std(fd: i64) -> std::io::Result<OwnedFd> {
    match fd {
        0 => std::io::stdin().as_fd().try_clone_to_owned(),
        1 => std::io::stdout().as_fd().try_clone_to_owned(),
        _ => std::io::stderr().as_fd().try_clone_to_owned(),
    }
}

fn ebadf() -> crate::PyErr {
    os_error(&std::io::Error::from_raw_os_error(libc::EBADF), None)
}

/// The `stdin=`/`stdout=`/`stderr=` argument: `None`, `PIPE`, `DEVNULL`, `STDOUT` (stderr only),
/// a descriptor number, or a file object (a pipe of another child, a file from `open()`, or
/// anything with a `fileno()` method).
fn target(interp: &mut Interp, v: &Value, stderr: bool) -> PyResult<Target> {
    let n = match v {
        Value::None => return Ok(Target::Inherit),
        Value::Int(n) => *n,
        Value::Bool(b) => i64::from(*b),
        other => {
            if let Some(d) = pipe_data(other) {
                return Ok(Target::Fd(pipe::dup(interp, d)?));
            }
            if let Some(fd) = crate::stdlib::file::dup_fd(interp, other) {
                return Ok(Target::Fd(fd?));
            }
            let fileno = interp.getattr(other, "fileno")?;
            let n = interp.call(&fileno, &[])?;
            to_index(&n)?
        }
    };
    match n {
        PIPE => Ok(Target::Pipe),
        STDOUT if stderr => Ok(Target::Stdout),
        DEVNULL => Ok(Target::Null),
        0..=2 => dup_std(n).map(Target::Fd).map_err(|e| os_error(&e, None)),
        n if n < 0 => Err(ebadf()),
        n => Err(err!(
            NotImplementedError,
            "minivm: a child's standard stream can be PIPE, DEVNULL, a file object or descriptor \
             0, 1 or 2, not the bare descriptor {n}"
        )),
    }
}

/// The parent's pipe file objects and the child's ends of its three streams.
struct Streams {
    parent: [Option<File>; 3],
    child: [Option<ChildEnd>; 3],
}

/// Make the pipes the targets ask for. `stderr=STDOUT` shares the child's stdout.
fn make_streams(targets: [Target; 3]) -> std::io::Result<Streams> {
    let mut s = Streams {
        parent: [None, None, None],
        child: [None, None, None],
    };
    for (i, t) in targets.into_iter().enumerate() {
        let end = match t {
            Target::Inherit => ChildEnd::Inherit,
            Target::Null => ChildEnd::Null,
            Target::Fd(fd) => ChildEnd::Fd(fd),
            Target::Pipe => {
                let (r, w) = std::io::pipe()?;
                let (mine, theirs) = if i == 0 {
                    (OwnedFd::from(w), OwnedFd::from(r))
                } else {
                    (OwnedFd::from(r), OwnedFd::from(w))
                };
                s.parent[i] = Some(File::from(mine));
                ChildEnd::Fd(theirs)
            }
            Target::Stdout => match &s.child[1] {
                Some(ChildEnd::Fd(fd)) => ChildEnd::Fd(fd.try_clone()?),
                Some(ChildEnd::Null) => ChildEnd::Null,
                _ => ChildEnd::Fd(dup_std(1)?),
            },
        };
        s.child[i] = Some(end);
    }
    Ok(s)
}

/// A list of strings argument (`args`, the `env` pairs), with CPython's `TypeError`.
fn str_list(interp: &mut Interp, v: &Value) -> PyResult<Vec<String>> {
    let items = interp.collect_iter(v)?;
    items
        .iter()
        .map(|x| match x {
            Value::Str(s) => Ok(s.as_str().to_string()),
            other => Err(err!(
                TypeError,
                "expected str, bytes or os.PathLike object, not {}",
                type_name(other)
            )),
        })
        .collect()
}

fn opt_str(v: Option<&Value>) -> PyResult<Option<String>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.as_str().to_string())),
        Some(other) => Err(err!(
            TypeError,
            "expected str, bytes or os.PathLike object, not {}",
            type_name(other)
        )),
    }
}

/// The `errors=` handler names the codecs know, as `'static` strings.
fn errors_name(name: &str) -> PyResult<&'static str> {
    const KNOWN: [&str; 5] = [
        "strict",
        "ignore",
        "replace",
        "backslashreplace",
        "xmlcharrefreplace",
    ];
    KNOWN
        .into_iter()
        .find(|k| *k == name)
        .ok_or_else(|| err!(LookupError, "unknown error handler name '{name}'"))
}

/// The text mode of the pipes: `None` for bytes.
fn text_mode(encoding: Option<&Value>, errors: Option<&Value>) -> PyResult<Option<TextMode>> {
    let Some(enc) = opt_str(encoding)? else {
        return Ok(None);
    };
    let errors = opt_str(errors)?.unwrap_or_else(|| "strict".into());
    Ok(Some(TextMode {
        encoding: Encoding::lookup_stream(&enc)?,
        name: Arc::from(enc.as_str()),
        errors: errors_name(&errors)?,
    }))
}

/// The environment argument: `None` (inherit) or a list of `(name, value)` string pairs.
pub(crate) fn env_pairs(
    interp: &mut Interp,
    v: Option<&Value>,
) -> PyResult<Option<Vec<(String, String)>>> {
    let Some(v) = v.filter(|v| !matches!(v, Value::None)) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for pair in interp.collect_iter(v)? {
        let kv = str_list(interp, &pair)?;
        let [k, v] = <[String; 2]>::try_from(kv)
            .map_err(|_| err!(ValueError, "env items must be (name, value) pairs"))?;
        if k.contains('=') || k.is_empty() {
            return Err(err!(ValueError, "illegal environment variable name"));
        }
        if k.contains('\0') || v.contains('\0') {
            return Err(err!(ValueError, "embedded null byte"));
        }
        out.push((k, v));
    }
    Ok(Some(out))
}

/// The children not yet reported by `os.waitpid`, with their exit records. Their reapers own
/// the real wait(2), so `os.waitpid` asks here instead of racing them for the status.
/// Weak: the `Child` object owns the record.
pub(crate) static CHILDREN: Mutex<Vec<(u32, std::sync::Weak<Exit>)>> = Mutex::new(Vec::new());

/// The wait status `os.waitpid` gives for a return code: the exit code in the second byte, or
/// the signal that killed the child in the low bits.
fn wait_status(code: i64) -> i64 {
    if code < 0 {
        -code
    } else {
        (code & 0xff) << 8
    }
}

/// Whether a child `subprocess` started is still there for `os.waitpid(-1, ...)` to report.
pub fn has_children() -> bool {
    CHILDREN.lock().iter().any(|(_, e)| e.strong_count() > 0)
}

/// For `os.waitpid(-1, ...)` (any child): a `subprocess` child that has ended and was not
/// reported yet, with its wait status, now reported. As for the system call, the status is
/// gone afterwards: the child's `Popen` finds return code 0, as CPython's does when someone
/// else reaped its child.
pub fn take_ended() -> Option<(u32, i64)> {
    let recorded = |children: &[(u32, std::sync::Weak<Exit>)]| {
        children
            .iter()
            .position(|(_, e)| e.upgrade().is_some_and(|e| e.code.lock().is_some()))
    };
    let mut children = CHILDREN.lock();
    let i = match recorded(&children) {
        Some(i) => i,
        None => {
            // None recorded, but one may have ended a moment ago (its SIGCHLD is why a watcher
            // asks): wait for its reaper's record rather than say "still running".
            let ended = children
                .iter()
                .find_map(|(pid, e)| e.upgrade().filter(|_| ended_unrecorded(*pid)))?;
            drop(children);
            await_record(&ended);
            children = CHILDREN.lock();
            recorded(&children)?
        }
    };
    let (pid, exit) = children.remove(i);
    let exit = exit.upgrade()?;
    let mut code = exit.code.lock();
    let status = wait_status(code.unwrap_or(0));
    *code = Some(0);
    Some((pid, status))
}

/// `os.waitpid(pid, options)` for a child started by `subprocess`: wait (unless `nohang`) for it
/// to end, then forget it and give its wait status (the exit code in the second byte, or the
/// signal that killed it in the low bits). `Ok(None)`: it still runs (`nohang`). An unknown
/// pid, or one already reported, is `ChildProcessError` (ECHILD), as for the system call.
pub fn wait_child(interp: &mut Interp, pid: u32, nohang: bool) -> PyResult<Option<i64>> {
    let found = CHILDREN
        .lock()
        .iter()
        .find(|(p, _)| *p == pid)
        .and_then(|(_, e)| e.upgrade());
    let Some(exit) = found else {
        return Err(os_error(
            &std::io::Error::from_raw_os_error(libc::ECHILD),
            None,
        ));
    };
    // Not waiting, unless the child has ended and only its record is missing (as above).
    let w = if nohang && (exit.code.lock().is_some() || !ended_unrecorded(pid)) {
        Wait::NonBlocking
    } else {
        Wait::Forever
    };
    if !block_on(interp, &exit.code, &exit.done, w, |code| code.is_some())? {
        return Ok(None);
    }
    // A Ctrl-C that came while we waited is raised even when the child ended meanwhile (see
    // `child_wait`); the child stays unreported for a later wait, as after CPython's EINTR.
    interp.check_signals()?;
    CHILDREN.lock().retain(|(p, _)| *p != pid);
    // Reported: the child's `Popen` finds return code 0 from now on (see `take_ended`).
    let code = exit.code.lock().replace(0).unwrap_or(0);
    Ok(Some(wait_status(code)))
}

/// Whether the kernel counts child `pid` as ended although its reaper has not recorded the
/// status yet: the child is a zombie the reaper is about to collect, or the reaper has just
/// collected it. A SIGCHLD handler asks `os.waitpid(..., WNOHANG)` as soon as the child ends;
/// told "still running" it would wait for a second signal that never comes (asyncio's child
/// watchers hung so under load). `waitid` with `WNOWAIT` looks without reaping.
fn ended_unrecorded(pid: u32) -> bool {
    use rustix::process::{waitid, Pid, WaitId, WaitIdOptions};
    let Some(p) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return false;
    };
    let peek = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
    match waitid(WaitId::Pid(p), peek) {
        Ok(status) => status.is_some(),
        // ECHILD: reaped, so the status is recorded (the reaper does both under one lock), or
        // someone else reaped the child.
        Err(e) => e == rustix::io::Errno::CHILD,
    }
}

/// Wait until the reaper has recorded `exit` (it has the status or is about to get it: a
/// step of a thread that needs no GIL). Bounded all the same: after a second the caller is
/// answered as if the child still ran.
fn await_record(exit: &Exit) {
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut code = exit.code.lock();
    while code.is_none() && !exit.done.wait_until(&mut code, deadline).timed_out() {}
}

/// The reaper: wait for the child to end and record its status.
fn start_reaper(pid: u32, exit: Arc<Exit>) -> std::io::Result<()> {
    let builder = std::thread::Builder::new()
        .name("subprocess-reaper".into())
        .stack_size(64 * 1024);
    crate::stdlib::signal::spawn_helper(builder, move || {
        reap(pid, &exit);
        exit.done.notify_all();
    })
    .map(|_| ())
}

/// Wait for child `pid` to end, then reap it and record its return code (its exit code, or
/// minus its signal) as one step under the lock of `exit.code`. The first wait leaves the
/// ended child a zombie (`WNOWAIT`), so its pid names it until it is reaped, and it is reaped
/// only while the lock is held: whoever holds the lock and finds no code (`send_signal`) knows
/// the pid is still this child's, not a reused one. (Reaping first and recording after let
/// `send_signal` find no code and signal a pid the kernel had already freed.)
fn reap(pid: u32, exit: &Exit) {
    use rustix::io::Errno;
    use rustix::process::{waitid, waitpid, Pid, WaitId, WaitIdOptions, WaitOptions};
    let Some(p) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        *exit.code.lock() = Some(0);
        return;
    };
    loop {
        // Ended, or reaped by someone else (the waitpid below tells which).
        if let Err(Errno::INTR) = waitid(
            WaitId::Pid(p),
            WaitIdOptions::EXITED | WaitIdOptions::NOWAIT,
        ) {
            continue;
        }
        let mut code = exit.code.lock();
        let status = loop {
            match waitpid(Some(p), WaitOptions::NOHANG) {
                Err(Errno::INTR) => {}
                other => break other,
            }
        };
        *code = Some(match status {
            Ok(Some((_, st))) => st
                .exit_status()
                .map(i64::from)
                .or_else(|| st.terminating_signal().map(|s| -i64::from(s)))
                .unwrap_or(0),
            // Still running: only a stop or continue woke the first wait (it asks for exits
            // alone, so this is not expected); wait again.
            Ok(None) => continue,
            // (Reaped by someone else: CPython's Popen then says 0.)
            Err(_) => 0,
        });
        return;
    }
}

/// The ints of a sequence argument (`pass_fds`, `groups`).
fn id_list(interp: &mut Interp, v: &Value) -> PyResult<Vec<i64>> {
    let items = interp.collect_iter(v)?;
    items.iter().map(to_index).collect()
}

/// A user or group id (checked not negative by subprocess.mini).
fn id_arg(n: i64) -> PyResult<u32> {
    u32::try_from(n).map_err(|_| err!(OverflowError, "uid/gid out of range"))
}

fn opt_id(v: Option<&Value>) -> PyResult<Option<u32>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(v) => id_arg(to_index(v)?).map(Some),
    }
}

/// `_subprocess.spawn(args, executable, cwd, env, stdin, stdout, stderr, encoding, errors,
/// process_group, start_new_session=False, preexec_fn=None, close_fds=False, pass_fds=(),
/// umask=-1, uid=None, gid=None, groups=None)`: start the child; returns `(child, stdin,
/// stdout, stderr)`, the last three the parent's pipe file objects or `None`; `None` when
/// `preexec_fn` raised in the child (`subprocess_fork.rs`). `subprocess.mini` checks and
/// converts `Popen`'s `user`, `group`, `extra_groups` and `pass_fds` (ints here).
fn spawn(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    const PARAMS: &[&str] = &[
        "args",
        "executable",
        "cwd",
        "env",
        "stdin",
        "stdout",
        "stderr",
        "encoding",
        "errors",
        "process_group",
        "start_new_session",
        "preexec_fn",
        "close_fds",
        "pass_fds",
        "umask",
        "uid",
        "gid",
        "groups",
    ];
    let [argv, executable, cwd, env, sin, sout, serr, encoding, errors, group, new_session, preexec, close_fds, pass_fds, umask, uid, gid, groups] =
        Sig::py("_subprocess.spawn", PARAMS, 10).bind(&args)?;
    let none = Value::None;
    let argv = str_list(interp, argv.unwrap_or(&none))?;
    let Some(arg0) = argv.first() else {
        return Err(err!(IndexError, "list index out of range"));
    };
    let program = opt_str(executable)?.unwrap_or_else(|| arg0.clone());
    let cwd = opt_str(cwd)?;
    let env = env_pairs(interp, env)?;
    let text = text_mode(encoding, errors)?;
    let group = match group {
        None | Some(Value::None) => None,
        Some(v) => Some(i32::try_from(to_index(v)?).map_err(|_| ebadf())?),
    };
    if argv.iter().chain([&program]).any(|a| a.contains('\0')) {
        return Err(err!(ValueError, "embedded null byte"));
    }
    let targets = [
        target(interp, sin.unwrap_or(&none), false)?,
        target(interp, sout.unwrap_or(&none), false)?,
        target(interp, serr.unwrap_or(&none), true)?,
    ];
    let mut streams = make_streams(targets).map_err(|e| os_error(&e, None))?;

    let (ignore, default) = crate::stdlib::signal::exec_dispositions();
    let setup = ChildSetup {
        new_session: matches!(new_session, Some(Value::Bool(true))),
        ignore,
        default,
        umask: match umask.map(to_index).transpose()? {
            Some(n) if n >= 0 => Some(n as u32),
            _ => None,
        },
        groups: match groups {
            None | Some(Value::None) => None,
            Some(v) => Some(
                id_list(interp, v)?
                    .into_iter()
                    .map(id_arg)
                    .collect::<PyResult<_>>()?,
            ),
        },
        gid: opt_id(gid)?,
        uid: opt_id(uid)?,
        // With close_fds, only descriptors made inheritable need closing (every other one
        // is close-on-exec already): a child skips the step while the program made none.
        close_fds: matches!(close_fds, Some(Value::Bool(true)))
            && crate::stdlib::os_fd::made_inheritable(),
        pass_fds: match pass_fds {
            None | Some(Value::None) => Vec::new(),
            Some(v) => id_list(interp, v)?
                .into_iter()
                .map(|n| i32::try_from(n).map_err(|_| ebadf()))
                .collect::<PyResult<_>>()?,
        },
    };
    let exit = Arc::new(Exit {
        code: Mutex::new(None),
        done: Condvar::new(),
    });
    let pid = match preexec.filter(|f| !matches!(f, Value::None)) {
        Some(f) => {
            let plan = ExecPlan {
                program,
                argv,
                env,
                cwd,
                process_group: group,
                setup,
            };
            let ends = std::mem::take(&mut streams.child);
            // None: preexec_fn raised in the child (subprocess.mini raises SubprocessError).
            let Some(pid) = crate::stdlib::subprocess_fork::spawn(interp, &plan, ends, f)? else {
                return Ok(Value::None);
            };
            start_reaper(pid, exit.clone()).map_err(|e| os_error(&e, None))?;
            pid
        }
        None => {
            // Looked for in PATH here (see resolve_program), unless cwd is bad: CPython's child
            // fails at changing to it first, and spawn's error below says so.
            let resolved = match cwd.as_deref() {
                Some(dir) if !std::path::Path::new(dir).is_dir() => {
                    crate::stdlib::subprocess_fork::Resolved {
                        paths: vec![program.clone()],
                        earlier: None,
                    }
                }
                dir => {
                    crate::stdlib::subprocess_fork::resolve_program(&program, env.as_deref(), dir)
                        .map_err(|e| os_error(&e, Some(&program)))?
                }
            };
            let exec = crate::heap::fork::DirectExec::new(
                &resolved.paths,
                resolved.earlier,
                &argv,
                env.as_deref(),
            );
            let first = resolved.paths.first().unwrap_or(&program);
            let mut cmd = Command::new(first);
            cmd.arg0(arg0).args(&argv[1..]);
            if let Some(dir) = &cwd {
                cmd.current_dir(dir);
            }
            if let Some(env) = env {
                cmd.env_clear().envs(env);
            }
            if let Some(g) = group {
                cmd.process_group(g);
            }
            crate::heap::fork::child_setup_on_exec(&mut cmd, setup, exec);
            let [a, b, c] = std::mem::take(&mut streams.child)
                .map(|e| e.map_or(Stdio::inherit(), ChildEnd::stdio));
            cmd.stdin(a).stdout(b).stderr(c);
            let spawned = interp.allow_threads(|| cmd.spawn());
            // The child's ends of the pipes close here in the parent, so reads see the end of file.
            drop(cmd);
            let child = spawned.map_err(|e| {
                // A step before the exec failed: CPython names no file.
                if let Some(code) = e.raw_os_error().filter(|&c| c >= SETUP_FAILED) {
                    let e = std::io::Error::from_raw_os_error(code - SETUP_FAILED);
                    return os_error(&e, None);
                }
                // CPython names the directory when changing to it failed, else the program.
                let bad_cwd = cwd.as_ref().filter(|d| !std::path::Path::new(d).is_dir());
                os_error(&e, Some(bad_cwd.unwrap_or(&program)))
            })?;
            // The reaper waits by pid; `child` has no handles left to close (each stream was
            // given as a descriptor), so dropping it leaves the child to the reaper.
            let pid = child.id();
            drop(child);
            start_reaper(pid, exit.clone()).map_err(|e| os_error(&e, None))?;
            pid
        }
    };
    {
        let mut children = CHILDREN.lock();
        // A child whose Popen is gone can no longer be waited for by pid here: drop its entry.
        children.retain(|(_, e)| e.strong_count() > 0);
        children.push((pid, Arc::downgrade(&exit)));
    }

    let inst = Instance::new(child_class());
    inst.set_native(Box::new(ChildData {
        pid,
        exit,
        comm: Mutex::new(Comm::default()),
    }));
    inst.dict
        .lock()
        .insert(Arc::from("pid"), Value::Int(i64::from(pid)));
    let mut out = vec![Value::Instance(Ref::new(inst))];
    for (i, f) in streams.parent.into_iter().enumerate() {
        out.push(f.map_or(Value::None, |f| new_pipe(f, i != 0, text.clone())));
    }
    Ok(Value::tuple(out))
}

// ---------------------------------------------------------------------------------------------
// Waiting and signals

fn child<'a>(args: &Args<'a>) -> PyResult<&'a ChildData> {
    Ok(this::<ChildData>(args, "Child")?.1)
}

fn code_value(code: Option<i64>) -> Value {
    code.map_or(Value::None, Value::Int)
}

/// `child.poll()`: the return code, or `None` while the child runs.
fn child_poll(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let c = child(&args)?;
    let code = *c.exit.code.lock();
    reported(c.pid, code);
    Ok(code_value(code))
}

/// Once `poll` or `wait` has given the exit code, the child is reaped as far as the program can
/// tell: `os.waitpid` on it is then ChildProcessError, as in CPython.
fn reported(pid: u32, code: Option<i64>) {
    if code.is_some() {
        CHILDREN.lock().retain(|(p, _)| *p != pid);
    }
}

/// `child.wait(timeout)`: the return code, or `None` if `timeout` seconds passed first.
fn child_wait(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let c = child(&args)?;
    let [timeout] = Sig::py("Child.wait", &["timeout"], 0)
        .method()
        .bind(&args)?;
    let w = match timeout {
        None | Some(Value::None) => Wait::Forever,
        // CPython's Popen.wait polls in short sleeps until its deadline: a NaN deadline never
        // comes, and one too far away for the clock is no error there.
        Some(v) => match loop_timeout(Some(v))? {
            Some(t) => Wait::after(t.secs),
            None => Wait::Forever,
        },
    };
    block_on(interp, &c.exit.code, &c.exit.done, w, |code| code.is_some())?;
    // A Ctrl-C that came while we waited is raised, not left for a later check point, even
    // when the child ended meanwhile: the wait takes a recorded exit before it looks at the
    // Ctrl-C flag, and the helper thread raises that flag a moment after the signal's handler
    // ran (`signal::ctrl_c_pending`). A child that sends SIGINT to its parent and exits, or
    // one killed by the same Ctrl-C, made `subprocess.run` return and the KeyboardInterrupt
    // come a few lines later; CPython's waitpid is interrupted by the signal first. The child
    // stays unreported (its `Popen` has no return code yet), as after CPython's EINTR.
    interp.check_signals()?;
    let code = *c.exit.code.lock();
    reported(c.pid, code);
    Ok(code_value(code))
}

/// `child.send_signal(sig)`: nothing once the child has ended (as CPython, which polls first).
fn child_send_signal(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let c = child(&args)?;
    let [sig] = Sig::py("Child.send_signal", &["sig"], 1)
        .method()
        .bind(&args)?;
    let sig = to_index(sig.unwrap_or(&Value::None))?;
    let signal = match sig {
        0 => None,
        n => Some(
            i32::try_from(n)
                .ok()
                .and_then(|n| nix::sys::signal::Signal::try_from(n).ok())
                .ok_or_else(|| os_error(&std::io::Error::from_raw_os_error(libc::EINVAL), None))?,
        ),
    };
    // Under the lock the reaper reaps under (see `reap`): while no code is recorded, the pid is
    // still the child's, running or a zombie, never a process that got the pid after it.
    let code = c.exit.code.lock();
    if code.is_some() {
        return Ok(Value::None);
    }
    let pid = nix::unistd::Pid::from_raw(c.pid as i32);
    match nix::sys::signal::kill(pid, signal) {
        // (Not expected while the child is unreaped; as CPython, nothing to do.)
        Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(Value::None),
        Err(e) => Err(os_error(&std::io::Error::from(e), None)),
    }
}

// ---------------------------------------------------------------------------------------------
// communicate

/// How an exchange ended.
enum Outcome {
    Done,
    TimedOut,
    Interrupted,
    Failed(std::io::Error),
}

/// The descriptor of a pipe if it is still open.
fn open_fd(p: Option<&PipeData>) -> Option<i32> {
    p.and_then(|p| p.state.lock().file.as_ref().map(|f| f.as_raw_fd()))
}

/// Write the next chunk of the input; the pipe closes when all of it has gone or the child
/// closed its end (`BrokenPipeError` is ignored, as CPython does).
fn send_chunk(p: &PipeData, comm: &mut Comm) -> std::io::Result<()> {
    let mut st = p.state.lock();
    let input = comm.input.as_deref().unwrap_or(&[]);
    let Some(file) = st.file.as_mut() else {
        return Ok(());
    };
    let end = input.len().min(comm.offset + pipe::WRITE_CHUNK);
    match file.write(&input[comm.offset..end]) {
        Ok(n) => comm.offset += n,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => comm.offset = input.len(),
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
        Err(e) => return Err(e),
    }
    if comm.offset >= input.len() {
        st.file = None;
    }
    Ok(())
}

/// Read one chunk of stdout (`i` = 0) or stderr (1); the pipe closes at its end.
fn receive_chunk(p: &PipeData, comm: &mut Comm, i: usize) -> std::io::Result<()> {
    let mut st = p.state.lock();
    let Some(file) = st.file.as_mut() else {
        return Ok(());
    };
    let mut chunk = vec![0u8; pipe::READ_CHUNK];
    match file.read(&mut chunk) {
        Ok(0) => st.file = None,
        Ok(n) => {
            comm.out[i].extend_from_slice(&chunk[..n]);
            comm.got[i] = true;
        }
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
        Err(e) => return Err(e),
    }
    Ok(())
}

/// The first time: close stdin if there is no input, and take what the program's own reads
/// left buffered in the output pipes.
fn begin(comm: &mut Comm, pipes: [Option<&PipeData>; 3], input: Option<&[u8]>) {
    comm.started = true;
    if let Some(p) = pipes[0] {
        if input.is_none_or(|i| i.is_empty()) {
            p.state.lock().file = None;
        }
    }
    for i in 0..2 {
        if let Some(p) = pipes[i + 1] {
            let buffered = std::mem::take(&mut p.state.lock().buf);
            comm.got[i] |= !buffered.is_empty();
            comm.out[i].extend(buffered);
        }
    }
}

/// Write the input and read both outputs until every pipe is closed, `deadline` passes or
/// Ctrl-C (CPython's `_communicate` loop). Runs with the GIL released.
fn exchange(
    c: &ChildData,
    pipes: [Option<&PipeData>; 3],
    input: Option<&[u8]>,
    deadline: Option<Instant>,
    interrupt: Option<&AtomicBool>,
) -> Outcome {
    let mut comm = c.comm.lock();
    if !comm.started {
        begin(&mut comm, pipes, input);
    }
    if comm.input.is_none() && pipes[0].is_some() {
        comm.input = input.map(<[u8]>::to_vec);
        comm.offset = 0;
    }
    // As CPython: stdin is written only by a call given input (a later call goes on reading).
    let writing = input.is_some_and(|i| !i.is_empty());
    loop {
        let mut fds = Vec::new();
        let mut who = Vec::new();
        for (i, p) in pipes.iter().enumerate() {
            if i == 0 && !writing {
                continue;
            }
            if let Some(fd) = open_fd(*p) {
                let events = if i == 0 { libc::POLLOUT } else { libc::POLLIN };
                fds.push(libc::pollfd {
                    fd,
                    events,
                    revents: 0,
                });
                who.push(i);
            }
        }
        if fds.is_empty() {
            return Outcome::Done;
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let r = poll_fds(&mut fds, left, interrupt);
        if interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
            return Outcome::Interrupted;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Outcome::TimedOut;
        }
        if let Err(e) = r {
            return Outcome::Failed(e);
        }
        for (p, &i) in fds.iter().zip(&who) {
            if p.revents == 0 {
                continue;
            }
            let Some(pd) = pipes[i] else { continue };
            let r = match i {
                0 => send_chunk(pd, &mut comm),
                _ => receive_chunk(pd, &mut comm, i - 1),
            };
            if let Err(e) = r {
                return Outcome::Failed(e);
            }
        }
    }
}

/// `child.communicate(stdin, stdout, stderr, input, timeout)`: `(finished, out, err)`; when
/// not finished (the timeout passed) `out`/`err` are what came so far, `None` if nothing did.
fn child_communicate(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let c = child(&args)?;
    let [sin, sout, serr, input, timeout] = Sig::py(
        "Child.communicate",
        &["stdin", "stdout", "stderr", "input", "timeout"],
        5,
    )
    .method()
    .bind(&args)?;
    let pipes = [sin, sout, serr].map(|p| p.and_then(pipe_data));
    let input: Option<Vec<u8>> = match input {
        None | Some(Value::None) => None,
        Some(Value::Bytes(b)) => Some(b.as_bytes().to_vec()),
        Some(Value::ByteArray(b)) => Some(b.snapshot()),
        Some(other) => {
            return Err(err!(
                TypeError,
                "memoryview: a bytes-like object is required, not '{}'",
                type_name(other)
            ))
        }
    };
    // A deadline too far away to represent is no deadline, nor is a NaN one (CPython's
    // `remaining <= 0` tests are never true for it).
    let deadline = match loop_timeout(timeout)? {
        None => None,
        Some(t) => {
            let s = t.secs;
            Duration::try_from_secs_f64(s.max(0.0))
                .ok()
                .and_then(|d| Instant::now().checked_add(d))
        }
    };
    let vm = interp.vm.clone();
    let interrupt = interp.is_main.then_some(&vm.interrupted);
    let outcome =
        interp.allow_threads(|| exchange(c, pipes, input.as_deref(), deadline, interrupt));
    let finished = match outcome {
        Outcome::Done => true,
        Outcome::TimedOut => false,
        Outcome::Interrupted => {
            interp.check_interrupt()?;
            false
        }
        Outcome::Failed(e) => return Err(os_error(&e, None)),
    };
    let comm = c.comm.lock();
    let mut out = vec![Value::Bool(finished)];
    for i in 0..2 {
        let shown = pipes[i + 1].is_some() && (finished || comm.got[i]);
        out.push(if shown {
            Value::bytes(comm.out[i].clone())
        } else {
            Value::None
        });
    }
    Ok(Value::tuple(out))
}
