//! `subprocess.Popen(..., preexec_fn=f)`: the child that runs Python code between its fork and
//! its exec (part of `_subprocess`, `subprocess.rs`). `std::process::Command` cannot run it (its
//! `pre_exec` closure runs in a forked copy of a multi-threaded process, where only
//! async-signal-safe calls are allowed), so this path forks as `os.fork()` does
//! (`os_fork::fork_with_hooks`: the same handshake, the `register_at_fork` hooks and the child's
//! repairs, as CPython's `_posixsubprocess` runs `PyOS_BeforeFork`/`AfterFork_Child` around a
//! fork with `preexec_fn`), and the child, a one-thread interpreter like any forked child, does
//! what CPython's `child_exec` does, in its order: the standard streams onto 0, 1, 2, `cwd`,
//! SIGPIPE back to its default and an empty signal mask (`restore_signals`), `setsid` /
//! `setpgid`, the umask, groups and ids (`heap::fork::ChildSetup::set_ids`), then
//! `preexec_fn()`, then the program's `SIG_IGN`s made the kernel's (as for every child,
//! `signal::exec_dispositions`), `close_fds`/`pass_fds`, then execve(2) over the `PATH` of the child's
//! environment (computed after `preexec_fn` when the child inherits `os.environ`, which
//! `preexec_fn` may change, as CPython's child inherits the `putenv`s it made).
//!
//! A failure in the child is written to an error pipe (close-on-exec: a successful exec closes
//! it, so the parent reads the end of file) as a tag and an errno; the parent reaps that child
//! and raises what CPython raises: the `OSError` of the exec (named after the program) or of the
//! `chdir` (named after `cwd`), or `SubprocessError("Exception occurred in preexec_fn.")` (the
//! exception itself stays in the child, as in CPython).

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};

use crate::interp::Interp;
use crate::stdlib::os::os_error;
use crate::stdlib::subprocess::ChildEnd;
use crate::value::Value;
use crate::{err, PyResult};

/// What the child is to run, made before the fork.
pub struct ExecPlan {
    /// `executable`, else `args[0]`; searched in `PATH` when it has no `/`.
    pub program: String,
    pub argv: Vec<String>,
    /// The child's environment; `None`: this process's.
    pub env: Option<Vec<(String, String)>>,
    pub cwd: Option<String>,
    pub process_group: Option<i32>,
    /// `start_new_session`, the ids, umask and descriptors (`setup.ignore`/`default` unused:
    /// the dispositions are taken after `preexec_fn`).
    pub setup: crate::heap::fork::ChildSetup,
}

/// What went wrong in the child (the tag of its report).
const FAILED_EXEC: u8 = b'x';
const FAILED_CHDIR: u8 = b'c';
const FAILED_PREEXEC: u8 = b'p';
const FAILED_SETUP: u8 = b'n';

/// Fork, run `preexec` and exec `plan` in the child, with `ends` as its standard streams.
/// `Ok(Some(pid))`: the child runs the program; `Ok(None)`: `preexec` raised in the child.
pub(crate) fn spawn(
    interp: &mut Interp,
    plan: &ExecPlan,
    ends: [Option<ChildEnd>; 3],
    preexec: &Value,
) -> PyResult<Option<u32>> {
    let argv = plan
        .argv
        .iter()
        .map(|a| to_c(a))
        .collect::<PyResult<Vec<_>>>()?;
    let env: Vec<(String, String)> = match &plan.env {
        Some(env) => env.clone(),
        None => std::env::vars().collect(),
    };
    let (envp, candidates) = exec_arrays(&plan.program, &env)?;
    // Opened here: /dev/null for the streams that go nowhere (read and write, as CPython's).
    let null = || {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
            .map(OwnedFd::from)
    };
    let mut fds = Vec::with_capacity(3);
    for end in ends {
        fds.push(match end {
            None | Some(ChildEnd::Inherit) => None,
            Some(ChildEnd::Null) => Some(null().map_err(|e| os_error(&e, None))?),
            Some(ChildEnd::Fd(fd)) => Some(fd),
        });
    }
    let (mut reader, mut writer) = std::io::pipe().map_err(|e| os_error(&e, None))?;

    let Some(pid) = crate::stdlib::os_fork::fork_with_hooks(interp, false)? else {
        drop(reader);
        let (tag, errno) = child_exec(interp, plan, &fds, preexec, &argv, &envp, &candidates);
        let mut report = [tag, 0, 0, 0, 0];
        report[1..].copy_from_slice(&errno.to_le_bytes());
        let _ = writer.write_all(&report);
        crate::stdlib::os_fork::exit_forked(&interp.vm, Some(&interp.stats), 255)
    };
    // The parent: the child's ends close here, and the writer, so the read below ends when the
    // child's exec closes its copy.
    drop((fds, writer));
    let pid = u32::try_from(pid).unwrap_or(0);
    let mut report = Vec::new();
    let read = interp.allow_threads(|| reader.read_to_end(&mut report));
    if let Err(e) = read {
        return Err(os_error(&e, None));
    }
    if report.len() < 5 {
        return Ok(Some(pid));
    }
    // The child failed before its program ran: reap it, then say why.
    interp.allow_threads(|| reap(pid));
    let errno = i32::from_le_bytes([report[1], report[2], report[3], report[4]]);
    let e = std::io::Error::from_raw_os_error(errno);
    match report[0] {
        FAILED_PREEXEC => Ok(None),
        FAILED_EXEC => Err(os_error(&e, Some(&plan.program))),
        FAILED_CHDIR => Err(os_error(&e, plan.cwd.as_deref())),
        _ => Err(os_error(&e, None)),
    }
}

/// The `NAME=value` strings of `env` and the paths the program is looked for at (in its `PATH`).
fn exec_arrays(program: &str, env: &[(String, String)]) -> PyResult<(Vec<CString>, Vec<CString>)> {
    let envp = env
        .iter()
        .map(|(k, v)| to_c(&format!("{k}={v}")))
        .collect::<PyResult<Vec<_>>>()?;
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map_or("/bin:/usr/bin", |(_, v)| v.as_str());
    let candidates = candidates(program, path)
        .iter()
        .map(|c| to_c(c))
        .collect::<PyResult<Vec<_>>>()?;
    Ok((envp, candidates))
}

/// What preexec_fn's wrapper returned: `None`, or the environment pairs to exec with.
fn child_env(
    interp: &mut Interp,
    plan: &ExecPlan,
    returned: &Value,
) -> PyResult<Option<(Vec<CString>, Vec<CString>)>> {
    if matches!(returned, Value::None) {
        return Ok(None);
    }
    let env = crate::stdlib::subprocess::env_pairs(interp, Some(returned))?.unwrap_or_default();
    exec_arrays(&plan.program, &env).map(Some)
}

fn to_c(s: &str) -> PyResult<CString> {
    CString::new(s).map_err(|_| err!(ValueError, "embedded null byte"))
}

/// The paths execve(2) is tried on, as CPython's `_execute_child`: the program itself when it
/// names a directory, else each directory of `path` joined with it.
fn candidates(program: &str, path: &str) -> Vec<String> {
    if program.contains('/') {
        return vec![program.to_string()];
    }
    path.split(':')
        .map(|dir| {
            let dir = if dir.is_empty() { "." } else { dir };
            format!("{}/{program}", dir.trim_end_matches('/'))
        })
        .collect()
}

/// Where the std `Command` path (no preexec_fn) execs (see [`resolve_program`]).
pub(crate) struct Resolved {
    /// The first executable regular file the search found, then the later ones of the same
    /// name: the child tries them in turn until an exec succeeds (`heap::fork::DirectExec`).
    pub paths: Vec<String>,
    /// The first error other than "not there" that the candidates before `paths[0]` give,
    /// the one reported if every exec fails.
    pub earlier: Option<i32>,
}

/// The files the std `Command` path (no preexec_fn) execs for `program`, chosen in the parent by
/// CPython's rule: a name without `/` is joined with each directory of the child's `PATH`, and
/// execve(2) is tried on each in turn until one succeeds; when none does, the first error other
/// than "not there" (ENOENT, ENOTDIR) is the one raised, else the last. The parent skips what
/// execve would refuse at once (missing, not a regular file, not executable) by looking at the
/// files, keeping the first such error; only the child's exec can tell a file without `#!`
/// (ENOEXEC), so every executable file of that name goes to the child, in `PATH` order: one
/// without `#!` early in `PATH` is then passed over for a later one, as in CPython. Left to
/// execvp(3), a file without `#!` would run under /bin/sh (CPython: `OSError: [Errno 8] Exec
/// format error`) and an empty name would be ENOENT (CPython: EACCES, from exec'ing each `PATH`
/// directory). `cwd` is where relative `PATH` entries are looked for, as the child changes to
/// it first.
pub(crate) fn resolve_program(
    program: &str,
    env: Option<&[(String, String)]>,
    cwd: Option<&str>,
) -> std::io::Result<Resolved> {
    if program.contains('/') {
        return Ok(Resolved {
            paths: vec![program.to_string()],
            earlier: None,
        });
    }
    let path = match env {
        Some(env) => env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.clone()),
        None => std::env::var("PATH").ok(),
    }
    .unwrap_or_else(|| "/bin:/usr/bin".to_string());
    let mut saved = None;
    let mut last = libc::ENOENT;
    let mut paths = Vec::new();
    for c in candidates(program, &path) {
        let at = match cwd {
            Some(dir) if !c.starts_with('/') => format!("{dir}/{c}"),
            _ => c.clone(),
        };
        // What execve(2) would say: a directory or a file without execute permission is EACCES.
        let e = match std::fs::metadata(&at) {
            Err(e) => e.raw_os_error().unwrap_or(libc::ENOENT),
            Ok(m) if !m.is_file() => libc::EACCES,
            Ok(_) => match rustix::fs::access(at.as_str(), rustix::fs::Access::EXEC_OK) {
                Ok(()) => {
                    paths.push(c);
                    continue;
                }
                Err(e) => e.raw_os_error(),
            },
        };
        // (Errors after the first executable file never count: its exec's own error, if it
        // fails, is not "not there", so it comes first.)
        if paths.is_empty() {
            if saved.is_none() && e != libc::ENOENT && e != libc::ENOTDIR {
                saved = Some(e);
            }
            last = e;
        }
    }
    if paths.is_empty() {
        return Err(std::io::Error::from_raw_os_error(saved.unwrap_or(last)));
    }
    Ok(Resolved {
        paths,
        earlier: saved,
    })
}

/// Wait for the child `pid` to end (it failed before its exec).
fn reap(pid: u32) -> i64 {
    let Some(p) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return 0;
    };
    loop {
        match rustix::process::waitpid(Some(p), rustix::process::WaitOptions::empty()) {
            Ok(Some((_, st))) => {
                return st
                    .exit_status()
                    .map(i64::from)
                    .or_else(|| st.terminating_signal().map(|s| -i64::from(s)))
                    .unwrap_or(0)
            }
            Err(rustix::io::Errno::INTR) => {}
            // (Reaped by someone else: CPython's Popen then says 0.)
            _ => return 0,
        }
    }
}

/// The child's side, CPython's `child_exec`: returns only on failure, with the report's tag
/// and errno.
fn child_exec(
    interp: &mut Interp,
    plan: &ExecPlan,
    fds: &[Option<OwnedFd>],
    preexec: &Value,
    argv: &[CString],
    envp: &[CString],
    candidates: &[CString],
) -> (u8, i32) {
    let errno = |e: nix::Error| (FAILED_SETUP, e as i32);
    // A stream's descriptor may itself be 0, 1 or 2 (when the parent had closed one), which an
    // earlier dup2 would overwrite: each moves above 2 first.
    let mut high = Vec::with_capacity(3);
    for fd in fds {
        match fd {
            None => high.push(None),
            Some(fd) => {
                match nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(3)) {
                    Ok(n) => high.push(Some(n)),
                    Err(e) => return errno(e),
                }
            }
        }
    }
    for (target, fd) in (0..).zip(&high) {
        if let Some(fd) = fd {
            if let Err(e) = nix::unistd::dup2(*fd, target) {
                return errno(e);
            }
        }
    }
    if let Some(dir) = &plan.cwd {
        if let Err(e) = std::env::set_current_dir(dir) {
            return (FAILED_CHDIR, e.raw_os_error().unwrap_or(0));
        }
    }
    if let Err(e) = crate::heap::fork::default_signals_for_exec() {
        return errno(e);
    }
    if plan.setup.new_session {
        if let Err(e) = nix::unistd::setsid() {
            return errno(e);
        }
    }
    if let Some(g) = plan.process_group {
        let g = nix::unistd::Pid::from_raw(g);
        if let Err(e) = nix::unistd::setpgid(nix::unistd::Pid::from_raw(0), g) {
            return errno(e);
        }
    }
    if let Err(e) = plan.setup.set_ids() {
        return (FAILED_SETUP, e.raw_os_error().unwrap_or(0));
    }
    let env = match interp.call(preexec, &[]) {
        Err(_) => return (FAILED_PREEXEC, 0),
        Ok(env) => env,
    };
    // The environment subprocess.mini computes after preexec_fn when the child inherits ours
    // (a preexec_fn may change os.environ, which CPython's child then has).
    let computed;
    let (envp, candidates) = match child_env(interp, plan, &env) {
        Err(_) => return (FAILED_PREEXEC, 0),
        Ok(Some(c)) => {
            computed = c;
            (&computed.0[..], &computed.1[..])
        }
        Ok(None) => (envp, candidates),
    };
    // The program's SIG_IGN handlers become the kernel's (as a CPython parent's are), after
    // preexec_fn, which may have set some.
    let (ignore, default) = crate::stdlib::signal::exec_dispositions();
    if let Err(e) = crate::heap::fork::set_dispositions(ignore, default) {
        return errno(e);
    }
    // close_fds and pass_fds, last (as CPython's child: after preexec_fn).
    if let Err(e) = plan.setup.set_descriptors() {
        return (FAILED_SETUP, e.raw_os_error().unwrap_or(0));
    }
    // As CPython: the first error other than "not there" is the one reported, else the last.
    let mut saved = None;
    let mut last = libc::ENOENT;
    for c in candidates {
        let e = match nix::unistd::execve(c, argv, envp) {
            Err(e) => e as i32,
            Ok(never) => match never {},
        };
        if saved.is_none() && e != libc::ENOENT && e != libc::ENOTDIR {
            saved = Some(e);
        }
        last = e;
    }
    (FAILED_EXEC, saved.unwrap_or(last))
}
