//! `_posixsupport` (stdlib stage): the system calls `shutil` and `platform` (`vm/lib/`) need
//! that the `os` module does not offer: permission bits (`chmod`), file times (`utime`),
//! `access`, symbolic links (`symlink`, `readlink`), file system usage (`statvfs`), the
//! terminal's size and `uname`. All through safe std and rustix calls.

use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, UNIX_EPOCH};

use crate::builtins::args::{to_index, ArgsExt, Sig};
use crate::builtins::Methods;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::Module;
use crate::stdlib::os::{os_error, os_error2, path_arg};
use crate::value::Value;
use crate::{err, PyResult};

const FUNCS: Methods = &[
    ("chmod", chmod),
    ("utime", utime),
    ("access", access),
    ("symlink", symlink),
    ("readlink", readlink),
    ("statvfs", statvfs),
    ("terminal_size", terminal_size),
    ("uname", uname),
];

pub fn module() -> Ref<Module> {
    super::module_from_fns(
        "_posixsupport",
        FUNCS,
        vec![("FsPath", Value::Class(fspath_class()))],
    )
}

/// The path string of a `pathlib` path object: `_posixsupport.FsPath`, the base class of
/// `pathlib.PurePath` (`vm/lib/pathlib.mini`), keeps it in Rust, so that `open`, `os` and
/// `os.path` take path objects wherever they take a str (CPython calls `__fspath__`).
pub struct FsPathData(pub String);

static FSPATH_CLASS: crate::heap::Global<Ref<crate::object::Class>> = crate::heap::Global::new();

fn fspath_class() -> Ref<crate::object::Class> {
    FSPATH_CLASS
        .get_or_init(|| {
            crate::stdlib::native_class("FsPath", "_posixsupport", &[("_set_fspath", set_fspath)])
        })
        .clone()
}

/// `FsPath._set_fspath(self, path)`: record the path string, once (path objects are immutable).
fn set_fspath(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("_set_fspath", 2, 2)?;
    let (Some(Value::Instance(me)), Some(Value::Str(s))) = (args.pos.first(), args.pos.get(1))
    else {
        return Err(err!(TypeError, "_set_fspath(path): path must be str"));
    };
    if !me.set_native(Box::new(FsPathData(s.as_str().to_string()))) {
        return Err(err!(ValueError, "the path of a path object is set once"));
    }
    Ok(Value::None)
}

/// The path string of a path object made by `pathlib`, if `v` is one.
pub fn fspath_str(v: &Value) -> Option<&str> {
    match v {
        Value::Instance(inst) => inst.native::<FsPathData>().map(|d| d.0.as_str()),
        _ => None,
    }
}

/// A name the operating system gave (a file name, a link target, a path given as bytes) as a
/// str, or a clear `NotImplementedError` when its bytes are not UTF-8. CPython decodes such
/// bytes with the surrogateescape handler (`b'x\xff'` becomes `'x\udcff'`), which a minivm str
/// cannot hold; a replacement character instead would be another name, and a program that
/// opened or removed it would touch another file or fail where CPython does not.
pub fn os_name(name: &[u8], what: &str) -> PyResult<String> {
    match std::str::from_utf8(name) {
        Ok(text) => Ok(text.to_string()),
        Err(_) => Err(err!(
            NotImplementedError,
            "{what} {} is not UTF-8: CPython decodes it with surrogate escapes, which a minivm str cannot hold",
            crate::interp::repr::bytes_repr(name)
        )),
    }
}

/// `chmod(path, mode)`: set the permission bits.
pub fn chmod(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("chmod", 2, 2)?;
    let path = path_arg(args.get(0), "chmod")?;
    let mode = to_index(&args.pos[1])?;
    let mode = u32::try_from(mode).map_err(|_| err!(OverflowError, "mode out of range"))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| os_error(&e, Some(path)))?;
    Ok(Value::None)
}

/// A time in nanoseconds since the epoch as a `SystemTime`.
fn system_time(ns: i64) -> std::time::SystemTime {
    if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    }
}

/// `utime(path, atime_ns, mtime_ns)`: set the access and modification times.
pub fn utime(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("utime", 3, 3)?;
    let path = path_arg(args.get(0), "utime")?;
    let atime = to_index(&args.pos[1])?;
    let mtime = to_index(&args.pos[2])?;
    let file = std::fs::File::open(path).map_err(|e| os_error(&e, Some(path)))?;
    let times = std::fs::FileTimes::new()
        .set_accessed(system_time(atime))
        .set_modified(system_time(mtime));
    file.set_times(times)
        .map_err(|e| os_error(&e, Some(path)))?;
    Ok(Value::None)
}

/// `os.utime(path, times=None, *, ns=None)`: set the access and modification times, from
/// `times` (seconds, int or float), `ns` (nanoseconds) or, with neither, the current time.
pub fn os_utime(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [path, times, ns, _dir_fd, follow] =
        crate::builtins::args::Sig::py("utime", &["path", "times"], 1)
            .kwonly(&["ns", "dir_fd", "follow_symlinks"])
            .bind::<5>(&args)?;
    if follow.is_some_and(|f| matches!(f, Value::Bool(false))) {
        return Err(err!(
            NotImplementedError,
            "minivm's os.utime() has no follow_symlinks=False"
        ));
    }
    let path = path_arg(path, "utime")?.to_string();
    let pair = |v: &Value, what: &str| -> PyResult<(Value, Value)> {
        match v {
            Value::Tuple(t) if t.items.len() == 2 => Ok((t.items[0].clone(), t.items[1].clone())),
            _ => Err(err!(
                TypeError,
                "utime: '{what}' must be a tuple of two ints"
            )),
        }
    };
    let (atime, mtime) = match (times.filter(|t| !t.is_none()), ns) {
        (Some(_), Some(_)) => {
            return Err(err!(
                ValueError,
                "utime: you may specify either 'times' or 'ns' but not both"
            ))
        }
        (Some(t), None) => {
            let (a, m) = match t {
                Value::Tuple(t) if t.items.len() == 2 => (t.items[0].clone(), t.items[1].clone()),
                _ => {
                    return Err(err!(
                        TypeError,
                        "utime: 'times' must be either a tuple of two ints or None"
                    ))
                }
            };
            let secs = |v: &Value| -> PyResult<i64> {
                match v {
                    Value::Float(f) => Ok((f * 1e9).round() as i64),
                    other => Ok(to_index(other)?.saturating_mul(1_000_000_000)),
                }
            };
            (secs(&a)?, secs(&m)?)
        }
        (None, Some(n)) => {
            let (a, m) = pair(n, "ns")?;
            (to_index(&a)?, to_index(&m)?)
        }
        (None, None) => {
            let now = std::time::SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as i64);
            (now, now)
        }
    };
    let r = interp.allow_threads(|| -> std::io::Result<()> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .open(&path)
            .or_else(|_| std::fs::OpenOptions::new().write(true).open(&path))?;
        let times = std::fs::FileTimes::new()
            .set_accessed(system_time(atime))
            .set_modified(system_time(mtime));
        file.set_times(times)
    });
    r.map_err(|e| os_error(&e, Some(&path)))?;
    Ok(Value::None)
}

/// `access(path, mode)`: may this process read (4), write (2), execute (1) or see (0) it?
pub fn access(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("access", 2, 2)?;
    let path = path_arg(args.get(0), "access")?;
    let mode = to_index(&args.pos[1])?;
    let mut access = rustix::fs::Access::EXISTS;
    if mode & 4 != 0 {
        access |= rustix::fs::Access::READ_OK;
    }
    if mode & 2 != 0 {
        access |= rustix::fs::Access::WRITE_OK;
    }
    if mode & 1 != 0 {
        access |= rustix::fs::Access::EXEC_OK;
    }
    Ok(Value::Bool(rustix::fs::access(path, access).is_ok()))
}

/// `symlink(src, dst)`: make `dst` a symbolic link to `src`.
pub fn symlink(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("symlink", 2, 2)?;
    let src = path_arg(args.get(0), "symlink")?;
    let dst = path_arg(args.get(1), "symlink")?;
    std::os::unix::fs::symlink(src, dst).map_err(|e| os_error2(&e, src, dst))?;
    Ok(Value::None)
}

/// `link(src, dst)`: a hard link `dst` to the file `src`.
pub fn link(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("link", 2, 2)?;
    let src = path_arg(args.get(0), "link")?;
    let dst = path_arg(args.get(1), "link")?;
    std::fs::hard_link(src, dst).map_err(|e| os_error2(&e, src, dst))?;
    Ok(Value::None)
}

/// `readlink(path)`: where a symbolic link points.
pub fn readlink(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [path] = Sig::kw("readlink", &["path"], 1).bind::<1>(&args)?;
    let path = path_arg(path, "readlink")?;
    let target = std::fs::read_link(path).map_err(|e| os_error(&e, Some(path)))?;
    let target = os_name(target.as_os_str().as_bytes(), "the link target")?;
    Ok(Value::string(target))
}

/// `statvfs(path)`: `(f_frsize, f_blocks, f_bfree, f_bavail)` of the file system holding it.
fn statvfs(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let path = path_arg(Some(args.one("statvfs")?), "statvfs")?;
    let st =
        rustix::fs::statvfs(path).map_err(|e| os_error(&std::io::Error::from(e), Some(path)))?;
    let int = |n: u64| Value::from(crate::num::bigint::BigInt::from(n));
    Ok(Value::tuple(vec![
        int(st.f_frsize),
        int(st.f_blocks),
        int(st.f_bfree),
        int(st.f_bavail),
    ]))
}

/// `terminal_size(fd)`: `(columns, lines)` of the terminal on descriptor 0, 1 or 2.
fn terminal_size(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let fd = to_index(args.one("terminal_size")?)?;
    let size = match fd {
        0 => rustix::termios::tcgetwinsize(std::io::stdin().as_fd()),
        1 => rustix::termios::tcgetwinsize(std::io::stdout().as_fd()),
        2 => rustix::termios::tcgetwinsize(std::io::stderr().as_fd()),
        _ => {
            return Err(err!(
                ValueError,
                "terminal_size: only descriptors 0, 1 and 2"
            ))
        }
    };
    let size = size.map_err(|e| os_error(&std::io::Error::from(e), None))?;
    Ok(Value::tuple(vec![
        Value::Int(i64::from(size.ws_col)),
        Value::Int(i64::from(size.ws_row)),
    ]))
}

/// `uname()`: `(sysname, nodename, release, version, machine)` of uname(2) (also `os.uname`'s
/// fields).
pub(crate) fn uname(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.none("uname")?;
    let u = rustix::system::uname();
    let text = |c: &std::ffi::CStr| Value::string(c.to_string_lossy().into_owned());
    Ok(Value::tuple(vec![
        text(u.sysname()),
        text(u.nodename()),
        text(u.release()),
        text(u.version()),
        text(u.machine()),
    ]))
}
