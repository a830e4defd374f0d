//! `os.stat`, `os.lstat`, `os.scandir` and `os.walk` (stdlib stage). The system calls are here;
//! the objects they return (`os.stat_result`, `os.DirEntry`) and `walk` are written in the mini
//! language in `vm/lib/_osinfo.mini`, loaded at the first use of one of its names in `os` or
//! `os.path` (`interp/modules.rs`, `MINI_PARTS`), not at `import os`.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;

use crate::builtins::args::Sig;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::Module;
use crate::stdlib::func;
use crate::stdlib::os::{os_error, path_arg};
use crate::stdlib::posix_support::os_name;
use crate::value::Value;
use crate::PyResult;

/// The names `os` takes from `_osinfo.mini`.
pub const MINI_NAMES: &[&str] = &[
    "stat_result",
    "DirEntry",
    "scandir",
    "walk",
    "stat",
    "lstat",
    "system",
    "popen",
    "fstat",
    "terminal_size",
    "get_terminal_size",
    "PathLike",
    "WIFEXITED",
    "WEXITSTATUS",
    "WIFSIGNALED",
    "WTERMSIG",
    "WIFSTOPPED",
    "WSTOPSIG",
    "waitstatus_to_exitcode",
    "removedirs",
    "renames",
    "environ",
    "environb",
    "putenv",
    "unsetenv",
    "execv",
    "execve",
    "execl",
    "execle",
    "execlp",
    "execlpe",
    "execvp",
    "execvpe",
    "get_exec_path",
    "spawnv",
    "spawnve",
    "spawnvp",
    "spawnvpe",
    "spawnl",
    "spawnle",
    "spawnlp",
    "spawnlpe",
    "P_WAIT",
    "P_NOWAIT",
    "P_NOWAITO",
    "times",
    "times_result",
    "uname",
    "uname_result",
    "getloadavg",
    "statvfs_result",
    "statvfs",
    "fstatvfs",
    "wait3",
    "wait4",
    "posix_spawn",
    "posix_spawnp",
    "POSIX_SPAWN_OPEN",
    "POSIX_SPAWN_CLOSE",
    "POSIX_SPAWN_DUP2",
];

/// The names `os.path` takes from `_osinfo.mini`.
pub const PATH_NAMES: &[&str] = &[
    "islink",
    "getmtime",
    "getatime",
    "getctime",
    "lexists",
    "samefile",
    "commonprefix",
    "commonpath",
    "relpath",
    "realpath",
    "samestat",
    "sameopenfile",
    "normcase",
    "splitdrive",
    "ismount",
    "expandvars",
];

/// Called once `os` is imported: the system calls `_osinfo.mini` makes, and `os.path` under
/// its names in `sys.modules` (`posixpath`, `os.path`, as CPython), where its own part of
/// `_osinfo` is found when one of its names is first missed.
pub fn add_natives(interp: &mut Interp, os: &Ref<Module>) {
    os.dict.set_str("_stat", func("_stat", stat_fields));
    os.dict
        .set_str("_scandir", func("_scandir", scandir_entries));
    os.dict
        .set_str("_fstat", func("_fstat", crate::stdlib::os_fd::fstat_fields));
    os.dict
        .set_str("_statvfs", func("_statvfs", statvfs_fields));
    os.dict.set_str(
        "_fstatvfs",
        func("_fstatvfs", crate::stdlib::os_fd::fstatvfs_fields),
    );
    if let Some(Value::Module(path)) = os.dict.get_str("path") {
        interp.vm.register_module("posixpath", &path);
        interp.vm.register_module("os.path", &path);
    }
}

/// `_stat(path, follow_symlinks)`: the fields of `os.stat_result` in CPython's order, times in
/// nanoseconds: `(mode, ino, dev, nlink, uid, gid, size, atime_ns, mtime_ns, ctime_ns, blksize,
/// blocks, rdev)`.
fn stat_fields(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [path, follow] = Sig::py("_stat", &["path", "follow_symlinks"], 2).bind::<2>(&args)?;
    let path = path_arg(path, "stat")?.to_string();
    let follow = match follow {
        Some(v) => interp.truthy(v)?,
        None => true,
    };
    let meta = interp.allow_threads(|| {
        if follow {
            std::fs::metadata(&path)
        } else {
            std::fs::symlink_metadata(&path)
        }
    });
    let m = meta.map_err(|e| os_error(&e, Some(&path)))?;
    Ok(metadata_fields(&m))
}

/// `_statvfs(path)`: the fields of `os.statvfs_result` in CPython's order, then `f_fsid`.
fn statvfs_fields(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [path] = Sig::py("statvfs", &["path"], 1).bind::<1>(&args)?;
    let path = path_arg(path, "statvfs")?.to_string();
    let st = interp.allow_threads(|| rustix::fs::statvfs(path.as_str()));
    let st = st.map_err(|e| os_error(&std::io::Error::from(e), Some(&path)))?;
    Ok(statvfs_value(&st))
}

/// The fields `_statvfs`/`_fstatvfs` return: `(f_bsize, f_frsize, f_blocks, f_bfree,
/// f_bavail, f_files, f_ffree, f_favail, f_flag, f_namemax, f_fsid)`.
pub fn statvfs_value(st: &rustix::fs::StatVfs) -> Value {
    let int = |v: u64| Value::from(crate::num::bigint::BigInt::from(v));
    Value::tuple(vec![
        int(st.f_bsize),
        int(st.f_frsize),
        int(st.f_blocks),
        int(st.f_bfree),
        int(st.f_bavail),
        int(st.f_files),
        int(st.f_ffree),
        int(st.f_favail),
        // (Without the kernel's ST_VALID bit, 0x20, which glibc's statvfs leaves out too.)
        int(st.f_flag.bits() & !0x20),
        int(st.f_namemax),
        int(st.f_fsid),
    ])
}

/// The fields `_stat` returns, from what the system said about a file (also `os.fstat`'s).
pub fn metadata_fields(m: &std::fs::Metadata) -> Value {
    let ns = |secs: i64, nsec: i64| {
        Value::from(crate::num::bigint::BigInt::from(secs) * 1_000_000_000 + nsec)
    };
    let int = |v: u64| Value::from(crate::num::bigint::BigInt::from(v));
    Value::tuple(vec![
        int(m.mode() as u64),
        int(m.ino()),
        int(m.dev()),
        int(m.nlink()),
        int(m.uid() as u64),
        int(m.gid() as u64),
        int(m.size()),
        ns(m.atime(), m.atime_nsec()),
        ns(m.mtime(), m.mtime_nsec()),
        ns(m.ctime(), m.ctime_nsec()),
        int(m.blksize()),
        int(m.blocks()),
        int(m.rdev()),
    ])
}

/// `_scandir(path)`: `(name, kind)` for each entry, in the directory's order, where kind is
/// `'dir'`, `'file'`, `'link'` or `'other'` (not following symbolic links).
fn scandir_entries(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [path] = Sig::py("_scandir", &["path"], 1).bind::<1>(&args)?;
    let path = path_arg(path, "scandir")?.to_string();
    let entries = interp.allow_threads(|| -> std::io::Result<Vec<(OsString, &'static str)>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&path)? {
            let entry = entry?;
            let t = entry.file_type()?;
            let kind = if t.is_symlink() {
                "link"
            } else if t.is_dir() {
                "dir"
            } else if t.is_file() {
                "file"
            } else {
                "other"
            };
            out.push((entry.file_name(), kind));
        }
        Ok(out)
    });
    let entries = entries.map_err(|e| os_error(&e, Some(&path)))?;
    let mut out = Vec::with_capacity(entries.len());
    for (name, kind) in entries {
        let name = os_name(name.as_bytes(), "the file name")?;
        out.push(Value::tuple(vec![Value::string(name), Value::str(kind)]));
    }
    Ok(Value::list(out))
}
