//! `os` functions about user and group ids, terminals and devices (stdlib stage), as CPython's
//! posixmodule gives them on Linux: `setuid`, `setgid`, `seteuid`, `setegid`, `setreuid`,
//! `setregid`, `getresuid`, `getresgid`, `setresuid`, `setresgid` (the ids checked as
//! CPython's uid/gid converter checks them: -1 means "unchanged", other negative numbers and
//! numbers past 32 bits are OverflowErrors with its wording); `ttyname`, `ctermid`,
//! `getlogin`; `major`, `minor`, `makedev`; `confstr` with `confstr_names`.

use nix::unistd::{Gid, Uid};
use num_traits::Signed;

use crate::builtins::args::{to_index, Sig, Style};
use crate::interp::{Args, Interp};
use crate::object::{type_name, Dict};
use crate::stdlib::func;
use crate::stdlib::os::{clinic_int_arg, os_error};
use crate::value::Value;
use crate::{err, PyResult};

/// `confstr` names and their numbers in glibc (CPython's `os.confstr_names` there).
const CONFSTR: &[(&str, i64)] = &[
    ("CS_GNU_LIBC_VERSION", 2),
    ("CS_GNU_LIBPTHREAD_VERSION", 3),
    ("CS_LFS64_CFLAGS", 1004),
    ("CS_LFS64_LDFLAGS", 1005),
    ("CS_LFS64_LIBS", 1006),
    ("CS_LFS64_LINTFLAGS", 1007),
    ("CS_LFS_CFLAGS", 1000),
    ("CS_LFS_LDFLAGS", 1001),
    ("CS_LFS_LIBS", 1002),
    ("CS_LFS_LINTFLAGS", 1003),
    ("CS_PATH", 0),
    ("CS_XBS5_ILP32_OFF32_CFLAGS", 1100),
    ("CS_XBS5_ILP32_OFF32_LDFLAGS", 1101),
    ("CS_XBS5_ILP32_OFF32_LIBS", 1102),
    ("CS_XBS5_ILP32_OFF32_LINTFLAGS", 1103),
    ("CS_XBS5_ILP32_OFFBIG_CFLAGS", 1104),
    ("CS_XBS5_ILP32_OFFBIG_LDFLAGS", 1105),
    ("CS_XBS5_ILP32_OFFBIG_LIBS", 1106),
    ("CS_XBS5_ILP32_OFFBIG_LINTFLAGS", 1107),
    ("CS_XBS5_LP64_OFF64_CFLAGS", 1108),
    ("CS_XBS5_LP64_OFF64_LDFLAGS", 1109),
    ("CS_XBS5_LP64_OFF64_LIBS", 1110),
    ("CS_XBS5_LP64_OFF64_LINTFLAGS", 1111),
    ("CS_XBS5_LPBIG_OFFBIG_CFLAGS", 1112),
    ("CS_XBS5_LPBIG_OFFBIG_LDFLAGS", 1113),
    ("CS_XBS5_LPBIG_OFFBIG_LIBS", 1114),
    ("CS_XBS5_LPBIG_OFFBIG_LINTFLAGS", 1115),
];

/// The functions this file adds to `os`.
pub fn entries() -> Vec<(&'static str, Value)> {
    let names = Dict::new();
    for (name, number) in CONFSTR {
        names.set_str(name, Value::Int(*number));
    }
    vec![
        ("setuid", func("setuid", setuid)),
        ("setgid", func("setgid", setgid)),
        ("seteuid", func("seteuid", seteuid)),
        ("setegid", func("setegid", setegid)),
        ("setreuid", func("setreuid", setreuid)),
        ("setregid", func("setregid", setregid)),
        ("getresuid", func("getresuid", getresuid)),
        ("getresgid", func("getresgid", getresgid)),
        ("setresuid", func("setresuid", setresuid)),
        ("setresgid", func("setresgid", setresgid)),
        ("ttyname", func("ttyname", ttyname)),
        ("ctermid", func("ctermid", ctermid)),
        ("getlogin", func("getlogin", getlogin)),
        ("major", func("major", major)),
        ("minor", func("minor", minor)),
        ("makedev", func("makedev", makedev)),
        ("confstr", func("confstr", confstr)),
        ("confstr_names", Value::Dict(crate::heap::Ref::new(names))),
    ]
}

fn done(r: nix::Result<()>) -> PyResult<Value> {
    r.map(|()| Value::None)
        .map_err(|e| os_error(&std::io::Error::from(e), None))
}

/// A uid or gid argument, as CPython's `_Py_Uid_Converter` / `_Py_Gid_Converter` take it
/// (`what` is "uid" or "gid"): -1 is the id `(uid_t)-1` ("leave unchanged" for the set*id
/// calls that take several); any other negative number, or one that does not fit 32 bits,
/// is an OverflowError with CPython's words (which say "less than minimum" for numbers
/// between 2**32 and 2**63).
fn id_arg(v: &Value, what: &str) -> PyResult<u32> {
    let less = || err!(OverflowError, "{what} is less than minimum");
    let greater = || err!(OverflowError, "{what} is greater than maximum");
    let n = match v {
        Value::BigInt(b) if b.is_negative() => return Err(less()),
        Value::BigInt(_) => return Err(greater()),
        Value::Int(_) | Value::Bool(_) => to_index(v)?,
        Value::Instance(_) => match crate::object::builtin_base(v) {
            Some(base @ (Value::Int(_) | Value::BigInt(_))) => return id_arg(base, what),
            _ => return Err(id_type_error(v, what)),
        },
        _ => return Err(id_type_error(v, what)),
    };
    match n {
        -1 => Ok(u32::MAX),
        n if n < 0 => Err(less()),
        n => u32::try_from(n).map_err(|_| less()),
    }
}

fn id_type_error(v: &Value, what: &str) -> crate::PyErr {
    err!(TypeError, "{what} should be integer, not {}", type_name(v))
}

/// The `N` ids of a `posix.NAME(...)` function taking exactly `N` positional ones:
/// `setreuid expected 2 arguments, got 1`, `posix.setreuid() takes no keyword arguments`.
fn ids<const N: usize>(args: &Args<'_>, name: &str, what: &str) -> PyResult<[u32; N]> {
    if !args.kw.is_empty() {
        return Err(err!(TypeError, "posix.{name}() takes no keyword arguments"));
    }
    let params = ["a", "b", "c"];
    let bound = Sig::pos(name, Style::Unpack, &params[..N], N).bind::<N>(args)?;
    let mut out = [0; N];
    for (o, v) in out.iter_mut().zip(bound) {
        *o = id_arg(v.unwrap_or(&Value::None), what)?;
    }
    Ok(out)
}

/// The one id of `posix.NAME(id)` (a METH_O function).
fn one_id(args: &Args<'_>, name: &str, what: &str) -> PyResult<u32> {
    let [v] = Sig::pos(name, Style::One, &[what], 1).bind::<1>(args)?;
    id_arg(v.unwrap_or(&Value::None), what)
}

fn setuid(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let uid = one_id(&args, "posix.setuid", "uid")?;
    done(nix::unistd::setuid(Uid::from_raw(uid)))
}

fn setgid(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let gid = one_id(&args, "posix.setgid", "gid")?;
    done(nix::unistd::setgid(Gid::from_raw(gid)))
}

fn seteuid(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let uid = one_id(&args, "posix.seteuid", "uid")?;
    done(nix::unistd::seteuid(Uid::from_raw(uid)))
}

fn setegid(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let gid = one_id(&args, "posix.setegid", "gid")?;
    done(nix::unistd::setegid(Gid::from_raw(gid)))
}

/// `os.setreuid(ruid, euid)` (-1: leave that one unchanged).
fn setreuid(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [r, e] = ids::<2>(&args, "setreuid", "uid")?;
    errno_done(crate::heap::posix_calls::setreuid(r, e))
}

/// `os.setregid(rgid, egid)` (-1: leave that one unchanged).
fn setregid(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [r, e] = ids::<2>(&args, "setregid", "gid")?;
    errno_done(crate::heap::posix_calls::setregid(r, e))
}

fn errno_done(r: Result<(), i32>) -> PyResult<Value> {
    r.map(|()| Value::None)
        .map_err(|code| os_error(&std::io::Error::from_raw_os_error(code), None))
}

fn getresuid(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("posix.getresuid", Style::NoArgs, &[], 0).check(&args)?;
    let r = nix::unistd::getresuid().map_err(|e| os_error(&std::io::Error::from(e), None))?;
    Ok(id_triple(
        [r.real, r.effective, r.saved].map(|u| u.as_raw()),
    ))
}

fn getresgid(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("posix.getresgid", Style::NoArgs, &[], 0).check(&args)?;
    let r = nix::unistd::getresgid().map_err(|e| os_error(&std::io::Error::from(e), None))?;
    Ok(id_triple(
        [r.real, r.effective, r.saved].map(|g| g.as_raw()),
    ))
}

/// The (real, effective, saved) ids `getresuid`/`getresgid` return, as ints.
fn id_triple(ids: [u32; 3]) -> Value {
    Value::tuple(ids.iter().map(|&i| Value::Int(i64::from(i))).collect())
}

fn setresuid(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [r, e, s] = ids::<3>(&args, "setresuid", "uid")?;
    done(nix::unistd::setresuid(
        Uid::from_raw(r),
        Uid::from_raw(e),
        Uid::from_raw(s),
    ))
}

fn setresgid(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [r, e, s] = ids::<3>(&args, "setresgid", "gid")?;
    done(nix::unistd::setresgid(
        Gid::from_raw(r),
        Gid::from_raw(e),
        Gid::from_raw(s),
    ))
}

/// `os.ttyname(fd)`: the terminal device open on `fd` (ENOTTY for a pipe or file).
fn ttyname(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd] = Sig::pos("posix.ttyname", Style::One, &["fd"], 1).bind::<1>(&args)?;
    let fd = clinic_int_arg(fd.unwrap_or(&Value::None))?;
    // (Asked of a duplicate: the same terminal, whichever descriptor names it.)
    let file = crate::stdlib::os::borrow_fd(interp, i64::from(fd))?;
    match rustix::termios::ttyname(&file, Vec::new()) {
        Ok(path) => Ok(Value::str(&path.to_string_lossy())),
        Err(e) => Err(os_error(&std::io::Error::from(e), None)),
    }
}

/// `os.ctermid()`: the name of the controlling terminal, '/dev/tty' on Linux (ctermid(3) with
/// glibc names it without looking).
fn ctermid(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("posix.ctermid", Style::NoArgs, &[], 0).check(&args)?;
    Ok(Value::str("/dev/tty"))
}

/// `os.getlogin()`: the user logged in on this process's controlling terminal (an OSError,
/// ENXIO or ENOTTY, when there is none, as under a service or in a container).
fn getlogin(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("posix.getlogin", Style::NoArgs, &[], 0).check(&args)?;
    match crate::heap::posix_calls::login_name() {
        Ok(name) => Ok(Value::str(&name)),
        Err(0) => Err(err!(OSError, "unable to determine login name")),
        Err(code) => Err(os_error(&std::io::Error::from_raw_os_error(code), None)),
    }
}

/// A device number (CPython's `dev_t` converter): an int from 0 to 2**64-1.
fn dev_arg(v: &Value) -> PyResult<u64> {
    let v = match v {
        Value::Instance(_) => crate::object::builtin_base(v).unwrap_or(v),
        other => other,
    };
    match v {
        Value::Bool(b) => Ok(u64::from(*b)),
        Value::Int(n) => u64::try_from(*n)
            .map_err(|_| err!(OverflowError, "can't convert negative int to unsigned")),
        Value::BigInt(b) if b.is_negative() => Err(err!(
            OverflowError,
            "can't convert negative int to unsigned"
        )),
        Value::BigInt(b) => num_traits::ToPrimitive::to_u64(&**b)
            .ok_or_else(|| err!(OverflowError, "int too big to convert")),
        _ => Err(err!(TypeError, "an integer is required")),
    }
}

/// `os.major(device)`: the major number of a device number (`os.stat(path).st_rdev`).
fn major(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [dev] = Sig::pos("posix.major", Style::One, &["device"], 1).bind::<1>(&args)?;
    let dev = dev_arg(dev.unwrap_or(&Value::None))?;
    Ok(Value::Int(i64::from(rustix::fs::major(dev))))
}

/// `os.minor(device)`: the minor number of a device number.
fn minor(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [dev] = Sig::pos("posix.minor", Style::One, &["device"], 1).bind::<1>(&args)?;
    let dev = dev_arg(dev.unwrap_or(&Value::None))?;
    Ok(Value::Int(i64::from(rustix::fs::minor(dev))))
}

/// `os.makedev(major, minor)`: the device number of the two (C ints, as CPython takes them;
/// a negative one wraps as in C, and the result is shown as C's signed 64 bits).
fn makedev(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    if !args.kw.is_empty() {
        return Err(err!(
            TypeError,
            "posix.makedev() takes no keyword arguments"
        ));
    }
    let [maj, min] = Sig::pos("makedev", Style::Unpack, &["major", "minor"], 2).bind::<2>(&args)?;
    let maj = clinic_int_arg(maj.unwrap_or(&Value::None))? as u32;
    let min = clinic_int_arg(min.unwrap_or(&Value::None))? as u32;
    Ok(Value::Int(rustix::fs::makedev(maj, min) as i64))
}

/// `os.confstr(name)`: a configuration string of the C library by name (`'CS_PATH'`, see
/// `confstr_names`) or number; None when it has no value.
fn confstr(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [name] = Sig::pos("posix.confstr", Style::One, &["name"], 1).bind::<1>(&args)?;
    let number = match name {
        Some(Value::Str(s)) => CONFSTR
            .iter()
            .find(|(n, _)| *n == s.as_str())
            .map(|e| e.1 as i32)
            .ok_or_else(|| err!(ValueError, "unrecognized configuration name"))?,
        Some(v @ (Value::Int(_) | Value::Bool(_) | Value::BigInt(_))) => clinic_int_arg(v)?,
        _ => {
            return Err(err!(
                TypeError,
                "configuration names must be strings or integers"
            ))
        }
    };
    match crate::heap::posix_calls::confstr(number) {
        Ok(Some(s)) => Ok(Value::str(&s)),
        Ok(None) => Ok(Value::None),
        Err(code) => Err(os_error(&std::io::Error::from_raw_os_error(code), None)),
    }
}
