//! `os` functions about the system and positioned I/O (stage: standard library): `_uname` (the
//! fields of `os.uname()`, whose `uname_result` is in `vm/lib/_osinfo.mini`), `sysconf` with
//! `sysconf_names` (the common names; CPython's numbers), `pread`/`pwrite` (read or write at
//! an offset, the descriptor's position unmoved), `truncate` (a path or a descriptor),
//! `closerange`, `sync`, `abort`, and the `EX_*` exit codes. Each call that may wait is made
//! with the GIL released.

use std::os::unix::fs::FileExt;

use nix::unistd::SysconfVar;

use crate::builtins::args::{to_index, Sig, Style};
use crate::interp::{Args, Interp};
use crate::object::Dict;
use crate::stdlib::func;
use crate::stdlib::os::{borrow_fd, clinic_int_arg, os_error, path_arg};
use crate::value::Value;
use crate::{err, PyResult};

/// The `sysconf` names minivm answers, with CPython's numbers for them on Linux.
const SYSCONF: &[(&str, i64, SysconfVar)] = &[
    ("SC_ARG_MAX", 0, SysconfVar::ARG_MAX),
    ("SC_CHILD_MAX", 1, SysconfVar::CHILD_MAX),
    ("SC_CLK_TCK", 2, SysconfVar::CLK_TCK),
    ("SC_NGROUPS_MAX", 3, SysconfVar::NGROUPS_MAX),
    ("SC_OPEN_MAX", 4, SysconfVar::OPEN_MAX),
    ("SC_STREAM_MAX", 5, SysconfVar::STREAM_MAX),
    ("SC_TZNAME_MAX", 6, SysconfVar::TZNAME_MAX),
    ("SC_VERSION", 29, SysconfVar::_POSIX_VERSION),
    ("SC_PAGESIZE", 30, SysconfVar::PAGE_SIZE),
    ("SC_PAGE_SIZE", 30, SysconfVar::PAGE_SIZE),
    ("SC_SEM_NSEMS_MAX", 32, SysconfVar::SEM_NSEMS_MAX),
    ("SC_SEM_VALUE_MAX", 33, SysconfVar::SEM_VALUE_MAX),
    ("SC_LINE_MAX", 43, SysconfVar::LINE_MAX),
    ("SC_RE_DUP_MAX", 44, SysconfVar::RE_DUP_MAX),
    ("SC_IOV_MAX", 60, SysconfVar::IOV_MAX),
    ("SC_GETPW_R_SIZE_MAX", 70, SysconfVar::GETPW_R_SIZE_MAX),
    ("SC_LOGIN_NAME_MAX", 71, SysconfVar::LOGIN_NAME_MAX),
    ("SC_TTY_NAME_MAX", 72, SysconfVar::TTY_NAME_MAX),
    ("SC_NPROCESSORS_CONF", 83, SysconfVar::_NPROCESSORS_CONF),
    ("SC_NPROCESSORS_ONLN", 84, SysconfVar::_NPROCESSORS_ONLN),
    ("SC_PHYS_PAGES", 85, SysconfVar::_PHYS_PAGES),
];

/// The exit codes of `<sysexits.h>`.
const EX_CODES: &[(&str, i64)] = &[
    ("EX_OK", 0),
    ("EX_USAGE", 64),
    ("EX_DATAERR", 65),
    ("EX_NOINPUT", 66),
    ("EX_NOUSER", 67),
    ("EX_NOHOST", 68),
    ("EX_UNAVAILABLE", 69),
    ("EX_SOFTWARE", 70),
    ("EX_OSERR", 71),
    ("EX_OSFILE", 72),
    ("EX_CANTCREAT", 73),
    ("EX_IOERR", 74),
    ("EX_TEMPFAIL", 75),
    ("EX_PROTOCOL", 76),
    ("EX_NOPERM", 77),
    ("EX_CONFIG", 78),
];

pub fn entries() -> Vec<(&'static str, Value)> {
    let names = Dict::new();
    for (name, number, _) in SYSCONF {
        names.set_str(name, Value::Int(*number));
    }
    let mut out = vec![
        // The five fields of `os.uname()`: the same function as `_posix_support.uname`.
        (
            "_uname",
            func("_uname", crate::stdlib::posix_support::uname),
        ),
        ("sysconf", func("sysconf", sysconf)),
        ("sysconf_names", Value::Dict(crate::heap::Ref::new(names))),
        ("pread", func("pread", pread)),
        ("pwrite", func("pwrite", pwrite)),
        ("truncate", func("truncate", truncate)),
        ("closerange", func("closerange", closerange)),
        ("sync", func("sync", sync)),
        ("abort", func("abort", abort)),
    ];
    out.extend(EX_CODES.iter().map(|(n, v)| (*n, Value::Int(*v))));
    out
}

fn io_err(e: rustix::io::Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e.raw_os_error())
}

fn einval() -> crate::PyErr {
    os_error(&std::io::Error::from_raw_os_error(libc::EINVAL), None)
}

/// `os.sysconf(name)`: a system limit by name (`'SC_PAGESIZE'`) or number; -1 when the
/// system has none.
fn sysconf(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [name] = Sig::pos("posix.sysconf", Style::One, &["name"], 1).bind::<1>(&args)?;
    let var = match name {
        Some(Value::Str(s)) => SYSCONF
            .iter()
            .find(|(n, _, _)| *n == s.as_str())
            .map(|e| e.2)
            .ok_or_else(|| err!(ValueError, "unrecognized configuration name"))?,
        Some(Value::Int(n)) => SYSCONF
            .iter()
            .find(|(_, number, _)| number == n)
            .map(|e| e.2)
            .ok_or_else(einval)?,
        _ => {
            return Err(err!(
                TypeError,
                "configuration names must be strings or integers"
            ))
        }
    };
    match nix::unistd::sysconf(var) {
        Ok(v) => Ok(Value::Int(v.map_or(-1, i64::from))),
        Err(e) => Err(os_error(&std::io::Error::from_raw_os_error(e as i32), None)),
    }
}

/// `os.pread(fd, n, offset)`: up to `n` bytes read at `offset`.
fn pread(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd, n, offset] =
        Sig::pos("pread", Style::Positional, &["fd", "length", "offset"], 3).bind::<3>(&args)?;
    let fd = to_index(fd.unwrap_or(&Value::None))?;
    let n = to_index(n.unwrap_or(&Value::None))?;
    let offset = to_index(offset.unwrap_or(&Value::None))?;
    if n < 0 {
        return Err(err!(ValueError, "negative buffersize in pread"));
    }
    let offset = u64::try_from(offset).map_err(|_| einval())?;
    crate::builtins::args::check_str_bytes(n as usize)?;
    let f = borrow_fd(interp, fd)?;
    let mut buf = vec![0u8; n as usize];
    let got = interp
        .allow_threads(|| f.read_at(&mut buf, offset))
        .map_err(|e| os_error(&e, None))?;
    buf.truncate(got);
    Ok(Value::bytes(buf))
}

/// `os.pwrite(fd, data, offset)`: bytes written at `offset`, how many.
fn pwrite(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd, data, offset] =
        Sig::pos("pwrite", Style::Positional, &["fd", "str", "offset"], 3).bind::<3>(&args)?;
    let fd = to_index(fd.unwrap_or(&Value::None))?;
    let data = crate::builtins::bytes_methods::arg_bytes(data.unwrap_or(&Value::None))?.to_vec();
    let offset = to_index(offset.unwrap_or(&Value::None))?;
    let offset = u64::try_from(offset).map_err(|_| einval())?;
    let f = borrow_fd(interp, fd)?;
    let done = interp
        .allow_threads(|| f.write_at(&data, offset))
        .map_err(|e| os_error(&e, None))?;
    Ok(Value::Int(done as i64))
}

/// `os.truncate(path, length)`: cut or extend a file (a path, or an open descriptor) to
/// `length` bytes.
fn truncate(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [path, length] =
        Sig::pos("truncate", Style::Positional, &["path", "length"], 2).bind::<2>(&args)?;
    let length = to_index(length.unwrap_or(&Value::None))?;
    let length = u64::try_from(length).map_err(|_| einval())?;
    if let Some(Value::Int(fd)) = path {
        let f = borrow_fd(interp, *fd)?;
        return interp
            .allow_threads(|| rustix::fs::ftruncate(&f, length))
            .map(|()| Value::None)
            .map_err(|e| os_error(&io_err(e), None));
    }
    let p = path_arg(path, "truncate")?.to_string();
    let r = interp.allow_threads(|| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .and_then(|f| f.set_len(length))
    });
    r.map(|()| Value::None).map_err(|e| os_error(&e, Some(&p)))
}

/// `os.closerange(fd_low, fd_high)`: close every descriptor from `fd_low` up to (not
/// including) `fd_high` that the program holds; errors are ignored, as in CPython.
fn closerange(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    // (Argument Clinic's positional-only wording: `closerange expected 2 arguments, got 1`,
    // `posix.closerange() takes no keyword arguments`; the bounds are C ints.)
    if !args.kw.is_empty() {
        return Err(err!(
            TypeError,
            "posix.closerange() takes no keyword arguments"
        ));
    }
    let [lo, hi] =
        Sig::pos("closerange", Style::Unpack, &["fd_low", "fd_high"], 2).bind::<2>(&args)?;
    let lo = i64::from(clinic_int_arg(lo.unwrap_or(&Value::None))?).max(0);
    let hi = i64::from(clinic_int_arg(hi.unwrap_or(&Value::None))?);
    for fd in lo..hi.min(lo.saturating_add(1 << 20)) {
        if let Ok(owned) = crate::stdlib::os::take_fd(fd) {
            drop(owned);
        }
    }
    Ok(Value::None)
}

/// `os.sync()`: ask the kernel to write every file system's buffers out.
fn sync(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("posix.sync", Style::NoArgs, &[], 0).check(&args)?;
    interp.allow_threads(rustix::fs::sync);
    Ok(Value::None)
}

/// `os.abort()`: end the process at once with SIGABRT (nothing flushed, no clean-up).
fn abort(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("posix.abort", Style::NoArgs, &[], 0).check(&args)?;
    std::process::abort()
}
