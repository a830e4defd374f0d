//! `os` calls on file descriptors and on the process (stdlib stage): `os.open` with the `O_*`
//! flags, `dup`/`dup2`, `lseek`, `fsync`, `fstat`, `isatty`, `set_blocking`/`get_blocking`,
//! `get_inheritable`/`set_inheritable`, `ftruncate`, `umask`, the user and group ids, `waitpid` and `strerror`. All through safe rustix calls.
//!
//! minivm names only the descriptors it can hold safely: 0, 1 and 2, and those it handed out
//! (`os.open`, `os.pipe`, `os.dup`, kept in `os.rs`'s table until `os.close`). The calls that
//! only look at a file (`fsync`, `fstat`, `isatty`) also take the number of any other open
//! descriptor (a file object's `fileno()`): they open the same file again through
//! `/proc/self/fd`, which reaches the same inode. A call that would change another descriptor
//! (`dup2` onto it) is a clear error, not a silent different answer.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{Mode, OFlags};
use rustix::io::FdFlags;

use crate::builtins::args::{to_index, Sig, Style};
use crate::interp::{Args, Interp};
use crate::object::type_name;
use crate::stdlib::func;
use crate::stdlib::os::{borrow_fd, hand_out_fd, os_error, path_arg, with_owned_fd};
use crate::value::Value;
use crate::{err, PyResult};

/// The functions and constants this file adds to `os`.
pub fn entries() -> Vec<(&'static str, Value)> {
    let mut out = vec![
        ("open", func("open", open)),
        ("dup", func("dup", dup)),
        ("dup2", func("dup2", dup2)),
        ("lseek", func("lseek", lseek)),
        ("fsync", func("fsync", fsync)),
        ("ftruncate", func("ftruncate", ftruncate)),
        ("isatty", func("isatty", isatty)),
        ("set_blocking", func("set_blocking", set_blocking)),
        ("get_blocking", func("get_blocking", get_blocking)),
        ("get_inheritable", func("get_inheritable", get_inheritable)),
        ("set_inheritable", func("set_inheritable", set_inheritable)),
        ("umask", func("umask", umask)),
        ("getuid", func("getuid", getuid)),
        ("geteuid", func("geteuid", geteuid)),
        ("getgid", func("getgid", getgid)),
        ("getegid", func("getegid", getegid)),
        ("getgroups", func("getgroups", getgroups)),
        ("waitpid", func("waitpid", waitpid)),
        ("strerror", func("strerror", strerror)),
        ("SEEK_SET", Value::Int(0)),
        ("SEEK_CUR", Value::Int(1)),
        ("SEEK_END", Value::Int(2)),
        ("WNOHANG", Value::Int(i64::from(libc::WNOHANG))),
        ("WUNTRACED", Value::Int(i64::from(libc::WUNTRACED))),
        ("WCONTINUED", Value::Int(i64::from(libc::WCONTINUED))),
    ];
    // The flags of `os.open`, with the values of this system's C library.
    let flags: [(&'static str, libc::c_int); 17] = [
        ("O_RDONLY", libc::O_RDONLY),
        ("O_WRONLY", libc::O_WRONLY),
        ("O_RDWR", libc::O_RDWR),
        ("O_ACCMODE", libc::O_ACCMODE),
        ("O_APPEND", libc::O_APPEND),
        ("O_CREAT", libc::O_CREAT),
        ("O_EXCL", libc::O_EXCL),
        ("O_TRUNC", libc::O_TRUNC),
        ("O_NONBLOCK", libc::O_NONBLOCK),
        ("O_NDELAY", libc::O_NDELAY),
        ("O_CLOEXEC", libc::O_CLOEXEC),
        ("O_NOCTTY", libc::O_NOCTTY),
        ("O_SYNC", libc::O_SYNC),
        ("O_DSYNC", libc::O_DSYNC),
        ("O_DIRECTORY", libc::O_DIRECTORY),
        ("O_NOFOLLOW", libc::O_NOFOLLOW),
        ("O_NOATIME", libc::O_NOATIME),
    ];
    out.extend(
        flags
            .into_iter()
            .map(|(n, v)| (n, Value::Int(i64::from(v)))),
    );
    out
}

fn io_err(e: rustix::io::Errno) -> std::io::Error {
    std::io::Error::from(e)
}

/// A descriptor argument: an int, or (where CPython takes one) an object with `fileno()`.
fn fd_arg(interp: &mut Interp, v: Option<&Value>, fileno: bool) -> PyResult<i64> {
    match v {
        Some(v @ Value::Instance(_)) if fileno => {
            let m = interp.getattr(v, "fileno").map_err(|_| {
                err!(
                    TypeError,
                    "argument must be an int, or have a fileno() method."
                )
            })?;
            match interp.call(&m, &[])? {
                r @ (Value::Int(_) | Value::Bool(_)) => to_index(&r),
                _ => Err(err!(TypeError, "fileno() returned a non-integer")),
            }
        }
        Some(v) => to_index(v),
        None => Err(err!(TypeError, "missing file descriptor")),
    }
}

/// The file behind descriptor `n`, to look at: a duplicate of one minivm holds, else the same
/// file opened again through `/proc/self/fd/n` (EBADF when `n` is not open).
fn look_at_fd(interp: &mut Interp, n: i64) -> PyResult<std::fs::File> {
    reopen_fd(interp, n, false)
}

/// The file behind descriptor `n`: a duplicate of one minivm holds, else the same file opened
/// again through `/proc/self/fd/n`, for reading or, if `same_mode`, in the descriptor's own
/// access mode (to change the file: `ftruncate`, a writable `mmap`). EBADF when `n` is not open.
pub fn reopen_fd(interp: &mut Interp, n: i64, same_mode: bool) -> PyResult<std::fs::File> {
    if let Ok(f) = borrow_fd(interp, n) {
        return Ok(f);
    }
    use std::os::unix::fs::OpenOptionsExt;
    let bad = || os_error(&std::io::Error::from_raw_os_error(libc::EBADF), None);
    let raw = libc::c_int::try_from(n).map_err(|_| bad())?;
    if raw < 0 {
        return Err(bad());
    }
    let mode = if same_mode {
        nix::fcntl::fcntl(raw, nix::fcntl::FcntlArg::F_GETFL).map_err(|_| bad())? & libc::O_ACCMODE
    } else {
        libc::O_RDONLY
    };
    std::fs::OpenOptions::new()
        .read(mode != libc::O_WRONLY)
        .write(mode != libc::O_RDONLY)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(format!("/proc/self/fd/{n}"))
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) => bad(),
            _ => os_error(&e, None),
        })
}

/// `os.open(path, flags, mode=0o777)`: a new descriptor (not inherited by child processes, as
/// CPython's), to use with `os.read`/`os.write`/`os.close` or `open(fd)`.
fn open(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [path, flags, mode, dir_fd] = Sig::kw("open", &["path", "flags", "mode"], 2)
        .kwonly(&["dir_fd"])
        .bind::<4>(&args)?;
    if dir_fd.is_some_and(|v| !matches!(v, Value::None)) {
        return Err(err!(
            NotImplementedError,
            "os.open: dir_fd is not supported by minivm"
        ));
    }
    let path = path_arg(path, "open")?.to_string();
    let flags = to_index(flags.unwrap_or(&Value::None))?;
    let flags = u32::try_from(flags).map_err(|_| err!(OverflowError, "flags out of range"))?;
    let mode = match mode {
        Some(m) => {
            u32::try_from(to_index(m)?).map_err(|_| err!(OverflowError, "mode out of range"))?
        }
        None => 0o777,
    };
    let flags = OFlags::from_bits_retain(flags) | OFlags::CLOEXEC;
    let fd = interp
        .allow_threads(|| rustix::fs::open(path.as_str(), flags, Mode::from_bits_retain(mode)))
        .map_err(|e| os_error(&io_err(e), Some(&path)))?;
    Ok(Value::Int(hand_out_fd(fd)))
}

/// `os.dup(fd)`: a new descriptor for the same open file.
fn dup(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd] = Sig::pos("posix.dup", Style::One, &["fd"], 1).bind::<1>(&args)?;
    let n = fd_arg(interp, fd, false)?;
    // (A descriptor minivm did not hand out by number, a socket's or a file object's, too.)
    let copy = OwnedFd::from(borrow_fd(interp, n)?);
    Ok(Value::Int(hand_out_fd(copy)))
}

/// `os.dup2(fd, fd2)`: make `fd2` name the file `fd` names; `fd2` is 0, 1, 2 (the usual
/// redirection of a standard stream) or a descriptor minivm handed out.
fn dup2(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd, fd2, _inheritable] =
        Sig::kw("dup2", &["fd", "fd2", "inheritable"], 2).bind::<3>(&args)?;
    let n = fd_arg(interp, fd, false)?;
    let n2 = fd_arg(interp, fd2, false)?;
    let src = borrow_fd(interp, n)?;
    // Output still buffered for the old stdout belongs there.
    interp.flush_stdout()?;
    let done = match n2 {
        0 => rustix::stdio::dup2_stdin(&src),
        1 => rustix::stdio::dup2_stdout(&src),
        2 => rustix::stdio::dup2_stderr(&src),
        _ => match with_owned_fd(n2, |target| rustix::io::dup2(&src, target)) {
            Some(r) => r,
            None => {
                return Err(err!(
                    OSError,
                    "os.dup2: minivm can only replace descriptors 0, 1, 2 or ones os.open, \
                     os.pipe or os.dup returned, not {n2}"
                ))
            }
        },
    };
    done.map_err(|e| os_error(&io_err(e), None))?;
    crate::heap::posix_calls::standard_fd_replaced(n2 as i32);
    if n2 > 2 {
        // dup2(2) gives a descriptor without close-on-exec.
        MADE_INHERITABLE.store(true, Ordering::Relaxed);
    }
    Ok(Value::Int(n2))
}

/// Whether the program made a descriptor above 2 inheritable (`os.set_inheritable`,
/// `os.dup2`); every other descriptor minivm opens is close-on-exec, so until then a child of
/// `subprocess` with `close_fds=True` has nothing to close.
static MADE_INHERITABLE: AtomicBool = AtomicBool::new(false);

pub fn made_inheritable() -> bool {
    MADE_INHERITABLE.load(Ordering::Relaxed)
}

/// An inheritable descriptor became the program's (one this process inherited).
pub fn note_inheritable() {
    MADE_INHERITABLE.store(true, Ordering::Relaxed);
}

/// `os.lseek(fd, pos, how)`: move the file position; the new position from the start.
fn lseek(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd, pos, how] =
        Sig::pos("lseek", Style::Positional, &["fd", "position", "whence"], 3).bind::<3>(&args)?;
    let n = fd_arg(interp, fd, false)?;
    let pos = to_index(pos.unwrap_or(&Value::None))?;
    let how = to_index(how.unwrap_or(&Value::None))?;
    let einval = || os_error(&std::io::Error::from_raw_os_error(libc::EINVAL), None);
    let target = match how {
        0 => rustix::fs::SeekFrom::Start(u64::try_from(pos).map_err(|_| einval())?),
        1 => rustix::fs::SeekFrom::Current(pos),
        2 => rustix::fs::SeekFrom::End(pos),
        _ => return Err(einval()),
    };
    let f = borrow_fd(interp, n)?;
    let at = rustix::fs::seek(&f, target).map_err(|e| os_error(&io_err(e), None))?;
    Ok(Value::Int(at as i64))
}

/// `os.fsync(fd)`: wait until the file's data is on the disk (GIL released). Takes a file
/// object too, as CPython.
fn fsync(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd] = Sig::kw("fsync", &["fd"], 1).bind::<1>(&args)?;
    let n = fd_arg(interp, fd, true)?;
    let f = look_at_fd(interp, n)?;
    interp
        .allow_threads(|| rustix::fs::fsync(&f))
        .map_err(|e| os_error(&io_err(e), None))?;
    Ok(Value::None)
}

/// `os.ftruncate(fd, length)`: cut or extend the file to `length` bytes.
fn ftruncate(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd, length] =
        Sig::pos("ftruncate", Style::Positional, &["fd", "length"], 2).bind::<2>(&args)?;
    let n = fd_arg(interp, fd, false)?;
    let length = to_index(length.unwrap_or(&Value::None))?;
    let f = reopen_fd(interp, n, true)?;
    let length = u64::try_from(length)
        .map_err(|_| os_error(&std::io::Error::from_raw_os_error(libc::EINVAL), None))?;
    interp
        .allow_threads(|| rustix::fs::ftruncate(&f, length))
        .map_err(|e| os_error(&io_err(e), None))?;
    Ok(Value::None)
}

/// `_fstat(fd)`: the fields of `os.stat_result` for an open descriptor (`os.fstat`, in
/// `_osinfo.mini`).
pub fn fstat_fields(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd] = Sig::kw("fstat", &["fd"], 1).bind::<1>(&args)?;
    let n = fd_arg(interp, fd, false)?;
    let f = look_at_fd(interp, n)?;
    let m = f.metadata().map_err(|e| os_error(&e, None))?;
    Ok(crate::stdlib::os_stat::metadata_fields(&m))
}

/// `_fstatvfs(fd)`: `os.fstatvfs`'s fields (as `_statvfs`'s) for the file system of the file
/// open on `fd`.
pub fn fstatvfs_fields(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd] = Sig::pos("posix.fstatvfs", Style::One, &["fd"], 1).bind::<1>(&args)?;
    let n = fd_arg(interp, fd, false)?;
    let f = look_at_fd(interp, n)?;
    let st = rustix::fs::fstatvfs(&f).map_err(|e| os_error(&io_err(e), None))?;
    Ok(crate::stdlib::os_stat::statvfs_value(&st))
}

/// `os.isatty(fd)`: whether `fd` is a terminal (False for a descriptor that is not open).
fn isatty(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd] = Sig::pos("posix.isatty", Style::One, &["fd"], 1).bind::<1>(&args)?;
    let n = fd_arg(interp, fd, false)?;
    Ok(Value::Bool(match look_at_fd(interp, n) {
        Ok(f) => rustix::termios::isatty(f.as_fd()),
        Err(_) => false,
    }))
}

/// `os.get_blocking(fd)`: False when the descriptor's file is in non-blocking mode.
fn get_blocking(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd] = Sig::pos("posix.get_blocking", Style::One, &["fd"], 1).bind::<1>(&args)?;
    let n = fd_arg(interp, fd, false)?;
    let f = borrow_fd(interp, n)?;
    let flags = rustix::fs::fcntl_getfl(&f).map_err(|e| os_error(&io_err(e), None))?;
    Ok(Value::Bool(!flags.contains(OFlags::NONBLOCK)))
}

/// `os.set_blocking(fd, blocking)`: switch non-blocking mode off or on (a duplicate shares the
/// open file, so the change reaches `fd`).
fn set_blocking(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd, blocking] =
        Sig::pos("set_blocking", Style::Positional, &["fd", "blocking"], 2).bind::<2>(&args)?;
    let n = fd_arg(interp, fd, false)?;
    let blocking = match blocking {
        Some(v) => interp.truthy(v)?,
        None => true,
    };
    let f = borrow_fd(interp, n)?;
    let flags = rustix::fs::fcntl_getfl(&f).map_err(|e| os_error(&io_err(e), None))?;
    let flags = if blocking {
        flags - OFlags::NONBLOCK
    } else {
        flags | OFlags::NONBLOCK
    };
    rustix::fs::fcntl_setfl(&f, flags).map_err(|e| os_error(&io_err(e), None))?;
    Ok(Value::None)
}

/// Run `f` on descriptor `n` itself (the close-on-exec flag belongs to the descriptor, not to
/// the open file a duplicate shares): the standard streams, or one minivm handed out.
fn on_fd_itself<T>(n: i64, f: impl FnOnce(BorrowedFd<'_>) -> T) -> PyResult<T> {
    match n {
        0 => Ok(f(std::io::stdin().as_fd())),
        1 => Ok(f(std::io::stdout().as_fd())),
        2 => Ok(f(std::io::stderr().as_fd())),
        _ => with_owned_fd(n, |fd| f(fd.as_fd()))
            .ok_or_else(|| os_error(&std::io::Error::from_raw_os_error(libc::EBADF), None)),
    }
}

/// `os.get_inheritable(fd)`: whether a program `exec`ed from here keeps the descriptor (it has
/// no close-on-exec flag). `os.pipe`, `os.open` and `os.dup` give non-inheritable ones.
fn get_inheritable(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd] = Sig::pos("posix.get_inheritable", Style::One, &["fd"], 1).bind::<1>(&args)?;
    let n = fd_arg(interp, fd, false)?;
    let flags = on_fd_itself(n, |fd| rustix::io::fcntl_getfd(fd))?
        .map_err(|e| os_error(&io_err(e), None))?;
    Ok(Value::Bool(!flags.contains(FdFlags::CLOEXEC)))
}

/// `os.set_inheritable(fd, inheritable)`: clear or set the descriptor's close-on-exec flag.
fn set_inheritable(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd, inheritable] = Sig::pos(
        "set_inheritable",
        Style::Positional,
        &["fd", "inheritable"],
        2,
    )
    .bind::<2>(&args)?;
    let n = fd_arg(interp, fd, false)?;
    let inheritable = interp.truthy(inheritable.unwrap_or(&Value::None))?;
    if inheritable && n > 2 {
        MADE_INHERITABLE.store(true, Ordering::Relaxed);
    }
    on_fd_itself(n, |fd| {
        let flags = rustix::io::fcntl_getfd(fd)?;
        let flags = if inheritable {
            flags - FdFlags::CLOEXEC
        } else {
            flags | FdFlags::CLOEXEC
        };
        rustix::io::fcntl_setfd(fd, flags)
    })?
    .map_err(|e| os_error(&io_err(e), None))?;
    Ok(Value::None)
}

/// `os.umask(mask)`: set the process's file mode creation mask; the previous one.
fn umask(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [mask] = Sig::pos("posix.umask", Style::One, &["mask"], 1).bind::<1>(&args)?;
    let mask = to_index(mask.unwrap_or(&Value::None))?;
    let mask = u32::try_from(mask).map_err(|_| err!(OverflowError, "mask out of range"))?;
    let old = rustix::process::umask(Mode::from_bits_retain(mask));
    Ok(Value::Int(i64::from(old.bits())))
}

fn getuid(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("posix.getuid", Style::NoArgs, &[], 0).check(&args)?;
    Ok(Value::Int(i64::from(rustix::process::getuid().as_raw())))
}

fn geteuid(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("posix.geteuid", Style::NoArgs, &[], 0).check(&args)?;
    Ok(Value::Int(i64::from(rustix::process::geteuid().as_raw())))
}

fn getgid(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("posix.getgid", Style::NoArgs, &[], 0).check(&args)?;
    Ok(Value::Int(i64::from(rustix::process::getgid().as_raw())))
}

fn getegid(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("posix.getegid", Style::NoArgs, &[], 0).check(&args)?;
    Ok(Value::Int(i64::from(rustix::process::getegid().as_raw())))
}

/// `os.getgroups()`: the supplementary group ids of the process, in the kernel's order.
fn getgroups(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("posix.getgroups", Style::NoArgs, &[], 0).check(&args)?;
    let groups =
        rustix::process::getgroups().map_err(|e| os_error(&std::io::Error::from(e), None))?;
    let items = groups
        .iter()
        .map(|g| Value::Int(i64::from(g.as_raw())))
        .collect();
    Ok(Value::list(items))
}

/// `os.waitpid(pid, options)`: wait (GIL released) for the child `pid` started by `subprocess`
/// or forked by `os.fork` (any child for `pid <= 0`) to end; `(pid, status)`, or `(0, 0)` under
/// `WNOHANG` while it runs (`ChildProcessError` when there is no child to wait for).
/// A forked child is waited for here (`os_fork.rs`); a `subprocess` child's reaper holds the
/// real wait, so its status comes from there (`subprocess.rs`, `wait_child`).
fn waitpid(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [pid, options] =
        Sig::pos("waitpid", Style::Positional, &["pid", "options"], 2).bind::<2>(&args)?;
    let pid = to_index(pid.unwrap_or(&Value::None))?;
    let options = to_index(options.unwrap_or(&Value::None))?;
    let nohang = options & i64::from(libc::WNOHANG) != 0;
    if options & !i64::from(libc::WNOHANG) != 0 {
        return Err(err!(
            NotImplementedError,
            "os.waitpid: of the options minivm supports only WNOHANG"
        ));
    }
    // Any child (-1, or 0 and below for a process group, which minivm does not tell apart):
    // as os.wait(), it may also reap a `subprocess` child, as in CPython.
    if pid <= 0 || crate::stdlib::os_fork::is_forked(pid) {
        let (pid, status) = crate::stdlib::os_fork::wait_forked(interp, pid, nohang)?;
        return Ok(Value::tuple(vec![
            Value::Int(i64::from(pid)),
            Value::Int(i64::from(status)),
        ]));
    }
    let Ok(pid) = u32::try_from(pid) else {
        return Err(err!(
            NotImplementedError,
            "os.waitpid({pid}, ...): minivm waits for one child, named by its pid"
        ));
    };
    Ok(
        match crate::stdlib::subprocess::wait_child(interp, pid, nohang)? {
            Some(status) => Value::tuple(vec![Value::Int(i64::from(pid)), Value::Int(status)]),
            None => Value::tuple(vec![Value::Int(0), Value::Int(0)]),
        },
    )
}

/// `os.strerror(code)`: the system's text for an error number.
fn strerror(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [code] = Sig::pos("posix.strerror", Style::One, &["code"], 1).bind::<1>(&args)?;
    let code = match code {
        Some(v @ (Value::Int(_) | Value::Bool(_))) => to_index(v)?,
        Some(other) => {
            return Err(err!(
                TypeError,
                "'{}' object cannot be interpreted as an integer",
                type_name(other)
            ))
        }
        None => 0,
    };
    let code = i32::try_from(code)
        .map_err(|_| err!(OverflowError, "signed integer is greater than maximum"))?;
    Ok(Value::string(crate::stdlib::os::strerror(
        &std::io::Error::from_raw_os_error(code),
    )))
}
