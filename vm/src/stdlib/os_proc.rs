//! `os` process groups and sessions (stdlib stage): `getpgrp`, `setpgrp`, `getpgid`, `setpgid`,
//! `getsid`, `setsid` and `killpg`, as CPython's posixmodule gives them: the calls programs
//! make around `subprocess.Popen(..., start_new_session=True)` or `process_group=0`, to signal
//! a child and everything it started at once (`os.killpg(os.getpgid(p.pid), SIGTERM)`).
//! Scheduling: `nice`, `getpriority`, `setpriority` and `sched_yield`.
//! Also `os._execve`, the system call under the exec family of `_osinfo.mini` (`execv`,
//! `execvp`, `execl`...), which checks the arguments as CPython's `os.py` and posixmodule.

use std::ffi::CString;

use nix::unistd::Pid;

use crate::builtins::args::{Sig, Style};
use crate::interp::{Args, Interp};
use crate::object::type_name;
use crate::stdlib::func;
use crate::stdlib::os::{clinic_int_arg, os_error, pid_arg, send_signal};
use crate::value::Value;
use crate::{err, PyResult};

/// The functions this file adds to `os`.
pub fn entries() -> Vec<(&'static str, Value)> {
    vec![
        ("getpgrp", func("getpgrp", getpgrp)),
        ("setpgrp", func("setpgrp", setpgrp)),
        ("getpgid", func("getpgid", getpgid)),
        ("setpgid", func("setpgid", setpgid)),
        ("getsid", func("getsid", getsid)),
        ("setsid", func("setsid", setsid)),
        ("killpg", func("killpg", killpg)),
        ("_execve", func("_execve", execve)),
        ("nice", func("nice", nice)),
        ("getpriority", func("getpriority", getpriority)),
        ("setpriority", func("setpriority", setpriority)),
        ("sched_yield", func("sched_yield", sched_yield)),
        ("PRIO_PROCESS", Value::Int(0)),
        ("PRIO_PGRP", Value::Int(1)),
        ("PRIO_USER", Value::Int(2)),
    ]
}

fn pid_value(r: nix::Result<Pid>) -> PyResult<Value> {
    match r {
        Ok(p) => Ok(Value::Int(i64::from(p.as_raw()))),
        Err(e) => Err(os_error(&std::io::Error::from(e), None)),
    }
}

fn done(r: nix::Result<()>) -> PyResult<Value> {
    r.map(|()| Value::None)
        .map_err(|e| os_error(&std::io::Error::from(e), None))
}

/// The `N` pid arguments of `name`, parsed in `style` (CPython's posixmodule mixes them; its
/// messages name some functions `posix.name`).
fn pids<const N: usize>(
    args: &Args<'_>,
    name: &str,
    style: Style,
    params: &[&str],
) -> PyResult<[Pid; N]> {
    let bound = Sig::pos(name, style, params, N).bind::<N>(args)?;
    let mut out = [Pid::from_raw(0); N];
    for (o, v) in out.iter_mut().zip(bound) {
        *o = Pid::from_raw(pid_arg(v.unwrap_or(&Value::None))?);
    }
    Ok(out)
}

fn getpgrp(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("posix.getpgrp", Style::NoArgs, &[], 0).check(&args)?;
    pid_value(Ok(nix::unistd::getpgrp()))
}

/// `os.setpgrp()`: this process leads a new process group (setpgid(0, 0)).
fn setpgrp(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("posix.setpgrp", Style::NoArgs, &[], 0).check(&args)?;
    done(nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0)))
}

/// `os.getpgid(pid)`: the process group of `pid` (0: this process).
fn getpgid(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [pid] = pids::<1>(&args, "getpgid", Style::Keywords, &["pid"])?;
    pid_value(nix::unistd::getpgid(Some(pid)))
}

/// `os.setpgid(pid, pgrp)`: move `pid` (0: this process) into group `pgrp` (0: its own).
fn setpgid(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [pid, pgrp] = pids::<2>(&args, "setpgid", Style::Positional, &["pid", "pgrp"])?;
    done(nix::unistd::setpgid(pid, pgrp))
}

/// `os.getsid(pid)`: the session of `pid` (0: this process).
fn getsid(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [pid] = pids::<1>(&args, "posix.getsid", Style::One, &["pid"])?;
    pid_value(nix::unistd::getsid(Some(pid)))
}

/// `os.setsid()`: this process leads a new session (PermissionError when it already leads a
/// process group, as setsid(2)).
fn setsid(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("posix.setsid", Style::NoArgs, &[], 0).check(&args)?;
    nix::unistd::setsid()
        .map(|_| Value::None)
        .map_err(|e| os_error(&std::io::Error::from(e), None))
}

/// `os.killpg(pgid, signal)`: send `signal` to every process of group `pgid` (0: this
/// process's group), as killpg(3): kill(2) of `-pgid`; a negative `pgid` is EINVAL.
fn killpg(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [pgid, sig] =
        Sig::pos("killpg", Style::Positional, &["pgid", "signal"], 2).bind::<2>(&args)?;
    let pgid = pid_arg(pgid.unwrap_or(&Value::None))?;
    if pgid < 0 {
        return Err(os_error(
            &std::io::Error::from_raw_os_error(libc::EINVAL),
            None,
        ));
    }
    send_signal(interp, -pgid, sig.unwrap_or(&Value::None))
}

/// `os._execve(path, argv, env)`: execve(2) with `argv` and the `NAME=value` strings `env`,
/// all str (the exec functions of `_osinfo.mini` have checked and converted them). Returns
/// only by raising the OSError of the failed call (without a file name, as CPython's).
fn execve(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [path, argv, env] =
        Sig::pos("_execve", Style::Positional, &["path", "argv", "env"], 3).bind::<3>(&args)?;
    let path = c_string(path.unwrap_or(&Value::None))?;
    let argv = c_strings(interp, argv.unwrap_or(&Value::None))?;
    let env = c_strings(interp, env.unwrap_or(&Value::None))?;
    let Err(e) = nix::unistd::execve(&path, &argv, &env);
    Err(os_error(&std::io::Error::from(e), None))
}

fn c_string(v: &Value) -> PyResult<CString> {
    match v {
        Value::Str(s) => {
            CString::new(s.as_str()).map_err(|_| err!(ValueError, "embedded null byte"))
        }
        other => Err(err!(
            TypeError,
            "expected str, bytes or os.PathLike object, not {}",
            type_name(other)
        )),
    }
}

fn c_strings(interp: &mut Interp, v: &Value) -> PyResult<Vec<CString>> {
    interp.collect_iter(v)?.iter().map(c_string).collect()
}

fn io_error(e: rustix::io::Errno) -> crate::error::PyErr {
    os_error(&std::io::Error::from(e), None)
}

/// `os.nice(increment)`: add `increment` to this process's niceness; the new niceness.
fn nice(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [inc] = Sig::pos("posix.nice", Style::One, &["increment"], 1).bind::<1>(&args)?;
    let inc = clinic_int_arg(inc.unwrap_or(&Value::None))?;
    rustix::process::nice(inc)
        .map(|n| Value::Int(i64::from(n)))
        .map_err(io_error)
}

/// The `which, who` pair of getpriority/setpriority: what `who` (0: this one) names.
enum PriorityOf {
    Process(Option<rustix::process::Pid>),
    Group(Option<rustix::process::Pid>),
    User(rustix::process::Uid),
}

fn priority_of(which: Option<&Value>, who: Option<&Value>) -> PyResult<PriorityOf> {
    let which = clinic_int_arg(which.unwrap_or(&Value::None))?;
    let who = clinic_int_arg(who.unwrap_or(&Value::None))?;
    let pid = rustix::process::Pid::from_raw(who);
    match which {
        0 => Ok(PriorityOf::Process(pid)),
        1 => Ok(PriorityOf::Group(pid)),
        2 => Ok(PriorityOf::User(rustix::process::Uid::from_raw(who as u32))),
        _ => Err(io_error(rustix::io::Errno::INVAL)),
    }
}

/// `os.getpriority(which, who)`: the niceness of a process, process group or user
/// (`PRIO_PROCESS`, `PRIO_PGRP`, `PRIO_USER`; `who` 0 is this process, group or user).
fn getpriority(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [which, who] = Sig::kw("getpriority", &["which", "who"], 2).bind::<2>(&args)?;
    let n = match priority_of(which, who)? {
        PriorityOf::Process(pid) => rustix::process::getpriority_process(pid),
        PriorityOf::Group(pid) => rustix::process::getpriority_pgrp(pid),
        PriorityOf::User(uid) => rustix::process::getpriority_user(uid),
    };
    n.map(|n| Value::Int(i64::from(n))).map_err(io_error)
}

/// `os.setpriority(which, who, priority)`: set the niceness `getpriority` reads.
fn setpriority(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [which, who, prio] =
        Sig::kw("setpriority", &["which", "who", "priority"], 3).bind::<3>(&args)?;
    let prio = clinic_int_arg(prio.unwrap_or(&Value::None))?;
    let done = match priority_of(which, who)? {
        PriorityOf::Process(pid) => rustix::process::setpriority_process(pid, prio),
        PriorityOf::Group(pid) => rustix::process::setpriority_pgrp(pid, prio),
        PriorityOf::User(uid) => rustix::process::setpriority_user(uid, prio),
    };
    done.map(|()| Value::None).map_err(io_error)
}

/// `os.sched_yield()`: give the processor to another runnable thread, without the GIL (as
/// CPython's, which releases it around the call).
fn sched_yield(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("posix.sched_yield", Style::NoArgs, &[], 0).check(&args)?;
    interp.allow_threads(rustix::thread::sched_yield);
    Ok(Value::None)
}
