//! Stage 4 (VM), standard library.
//! The `os` module (`cpu_count`, `getpid`, `kill`, `sep`, `environ`, `remove`, `os.path`), the `sys`
//! switch-interval functions, and the mapping from `std::io::Error` to Python's `OSError` family
//! shared by `open()`, `socket` and `select`.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use crate::builtins::args::{to_index, Sig, Style};
use crate::error::PyErr;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{type_name, types, Class, ExcKind, Instance, Module};
use crate::stdlib::{arg, func, make_module};
use crate::value::Value;
use crate::{err, raise, PyResult};

pub fn os_module() -> Ref<Module> {
    let path = make_module(
        "posixpath",
        vec![
            ("exists", func("exists", path_exists)),
            ("isfile", func("isfile", path_isfile)),
            ("isdir", func("isdir", path_isdir)),
            ("join", func("join", bytes_join)),
            ("basename", func("basename", bytes_basename)),
            ("dirname", func("dirname", bytes_dirname)),
            ("getsize", func("getsize", path_getsize)),
            ("abspath", func("abspath", bytes_abspath)),
            ("normpath", func("normpath", bytes_normpath)),
            ("isabs", func("isabs", path_isabs)),
            ("split", func("split", bytes_split)),
            ("splitext", func("splitext", bytes_splitext)),
            ("expanduser", func("expanduser", bytes_expanduser)),
            ("sep", Value::str("/")),
            ("pathsep", Value::str(":")),
            ("defpath", Value::str("/bin:/usr/bin")),
            ("devnull", Value::str("/dev/null")),
            ("extsep", Value::str(".")),
            ("curdir", Value::str(".")),
            ("pardir", Value::str("..")),
            ("altsep", Value::None),
            ("supports_unicode_filenames", Value::Bool(false)),
        ],
    );
    let mut entries = vec![
        ("cpu_count", func("cpu_count", cpu_count)),
        ("getpid", func("getpid", getpid)),
        ("getppid", func("getppid", getppid)),
        (
            "sched_getaffinity",
            func("sched_getaffinity", sched_getaffinity),
        ),
        ("_exit", func("_exit", crate::stdlib::os_fork::os_exit)),
        ("kill", func("kill", kill)),
        ("getcwd", func("getcwd", getcwd)),
        ("getenv", func("getenv", getenv)),
        ("remove", func("remove", remove)),
        ("unlink", func("unlink", unlink)),
        ("listdir", func("listdir", listdir)),
        ("chdir", func("chdir", chdir)),
        ("mkdir", func("mkdir", mkdir)),
        ("mkfifo", func("mkfifo", mkfifo)),
        ("pipe2", func("pipe2", pipe2)),
        ("makedirs", func("makedirs", makedirs)),
        ("rmdir", func("rmdir", rmdir)),
        ("rename", func("rename", rename)),
        ("replace", func("replace", rename)),
        ("urandom", func("urandom", urandom)),
        ("close", func("close", close)),
        ("read", func("read", read)),
        ("write", func("write", write)),
        ("fdopen", func("fdopen", fdopen)),
        ("pipe", func("pipe", pipe)),
        ("fspath", func("fspath", fspath)),
        ("chmod", func("chmod", crate::stdlib::posix_support::chmod)),
        (
            "utime",
            func("utime", crate::stdlib::posix_support::os_utime),
        ),
        (
            "access",
            func("access", crate::stdlib::posix_support::access),
        ),
        (
            "symlink",
            func("symlink", crate::stdlib::posix_support::symlink),
        ),
        (
            "readlink",
            func("readlink", crate::stdlib::posix_support::readlink),
        ),
        ("F_OK", Value::Int(0)),
        ("R_OK", Value::Int(4)),
        ("W_OK", Value::Int(2)),
        ("X_OK", Value::Int(1)),
        ("devnull", Value::str("/dev/null")),
        ("curdir", Value::str(".")),
        ("pardir", Value::str("..")),
        ("sep", Value::str("/")),
        ("pathsep", Value::str(":")),
        ("defpath", Value::str("/bin:/usr/bin")),
        ("extsep", Value::str(".")),
        ("linesep", Value::str("\n")),
        ("fsencode", func("fsencode", fsencode)),
        ("fsdecode", func("fsdecode", fsdecode)),
        ("link", func("link", crate::stdlib::posix_support::link)),
        ("name", Value::str("posix")),
        ("_environ_items", func("_environ_items", environ_items)),
        ("supports_bytes_environ", Value::Bool(true)),
        ("path", Value::Module(path)),
        ("error", Value::Class(types().exc(ExcKind::OSError).clone())),
    ];
    entries.extend(crate::stdlib::os_fd::entries());
    entries.extend(crate::stdlib::os_fork::entries());
    entries.extend(crate::stdlib::os_ids::entries());
    entries.extend(crate::stdlib::os_proc::entries());
    entries.extend(crate::stdlib::os_sys::entries());
    make_module("os", entries)
}

// ---------------------------------------------------------------------------------------------
// OSError and friends

/// An exception class CPython has but `ExcKind` lacks (`io.UnsupportedOperation`,
/// `socket.gaierror`): a subclass of a built-in one, made once.
/// Programs can catch it through its base (`except OSError`), not by its own name.
pub fn extra_exc_class(name: &'static str) -> Ref<Class> {
    static CLASSES: crate::heap::Global<parking_lot::Mutex<Vec<Ref<Class>>>> =
        crate::heap::Global::new();
    let all = CLASSES.get_or_init(Default::default);
    let mut all = all.lock();
    if let Some(c) = all.iter().find(|c| &*c.name() == name) {
        return c.clone();
    }
    let (base, module) = match name {
        "UnicodeDecodeError" => (ExcKind::UnicodeError, "builtins"),
        "UnsupportedOperation" => (ExcKind::OSError, "io"),
        "gaierror" => (ExcKind::OSError, "socket"),
        _ => (ExcKind::OSError, "builtins"),
    };
    let mut cls = Class::new_exception(name, module, base, module == "builtins");
    if name == "UnsupportedOperation" {
        // CPython's is `class UnsupportedOperation(OSError, ValueError)`: `except ValueError`
        // catches it too.
        let bases = vec![
            crate::object::types().exc(ExcKind::OSError).clone(),
            crate::object::types().exc(ExcKind::ValueError).clone(),
        ];
        if let Ok(tail) = crate::object::class::c3_mro_tail(&bases) {
            cls.bases = bases;
            cls.mro_tail = tail;
        }
    }
    let cls = Ref::new(cls);
    Class::register_subclass(&cls);
    all.push(cls.clone());
    cls
}

/// An instance of `cls` with one message argument.
pub fn exc_of_class(cls: Ref<Class>, msg: String) -> PyErr {
    exc_with_args(cls, vec![Value::string(msg)])
}

/// An instance of `cls` with these arguments.
pub fn exc_with_args(cls: Ref<Class>, args: Vec<Value>) -> PyErr {
    let inst = Instance::new(cls);
    if let Some(d) = inst.exc() {
        d.lock().args = args;
    }
    PyErr {
        exc: Ref::new(inst),
    }
}

/// The text of an OS error without std's ` (os error N)` suffix: `Connection refused`.
pub fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// `std::io::Error` as the `OSError` subclass CPython raises, with CPython's `args`
/// (`(errno, strerror)`), the `errno`, `strerror`, `filename` and `filename2` attributes, and so
/// its text: `[Errno 2] No such file or directory: 'x'` (see [`os_error_str`]).
pub fn os_error(e: &std::io::Error, filename: Option<&str>) -> PyErr {
    os_error_with(e, filename, None)
}

/// [`os_error`] naming two paths (`os.rename`): `[Errno 2] No such file or directory: 'a' -> 'b'`.
pub fn os_error2(e: &std::io::Error, src: &str, dst: &str) -> PyErr {
    os_error_with(e, Some(src), Some(dst))
}

fn os_error_with(e: &std::io::Error, filename: Option<&str>, filename2: Option<&str>) -> PyErr {
    let Some(code) = e.raw_os_error() else {
        if e.kind() == std::io::ErrorKind::TimedOut {
            return err!(TimeoutError, "timed out");
        }
        return err!(OSError, "{e}");
    };
    let text = strerror(e);
    let args = vec![Value::Int(code as i64), Value::string(text.clone())];
    let cls = errno_class(code as i64).unwrap_or_else(|| types().exc(ExcKind::OSError).clone());
    let e = exc_with_args(cls, args);
    {
        // As CPython's fields: a file name is set only when there is one (an unset one and
        // one set to `None` print differently, see [`os_error_str`]).
        let mut d = e.exc.dict.lock();
        d.insert(Arc::from("errno"), Value::Int(code as i64));
        d.insert(Arc::from("strerror"), Value::string(text));
        if let Some(f) = filename {
            d.insert(Arc::from("filename"), Value::str(f));
            if let Some(f2) = filename2 {
                d.insert(Arc::from("filename2"), Value::str(f2));
            }
        }
    }
    e
}

/// The `OSError` subclass CPython raises for an errno (`ENOENT`: `FileNotFoundError`), if any.
fn errno_class(code: i64) -> Option<Ref<Class>> {
    let kind = match code as i32 {
        libc::ENOENT => ExcKind::FileNotFoundError,
        libc::EEXIST => ExcKind::FileExistsError,
        libc::EACCES | libc::EPERM => ExcKind::PermissionError,
        libc::EISDIR => ExcKind::IsADirectoryError,
        libc::ECONNREFUSED => ExcKind::ConnectionRefusedError,
        libc::ECONNRESET => ExcKind::ConnectionResetError,
        libc::EPIPE | libc::ESHUTDOWN => ExcKind::BrokenPipeError,
        libc::ECONNABORTED => ExcKind::ConnectionAbortedError,
        libc::ETIMEDOUT => ExcKind::TimeoutError,
        libc::EAGAIN | libc::EINPROGRESS | libc::EALREADY => ExcKind::BlockingIOError,
        libc::ENOTDIR => ExcKind::NotADirectoryError,
        libc::EINTR => ExcKind::InterruptedError,
        libc::ECHILD => ExcKind::ChildProcessError,
        libc::ESRCH => ExcKind::ProcessLookupError,
        _ => return None,
    };
    Some(types().exc(kind).clone())
}

/// `OSError(errno, strerror, ...)` called by a program: the subclass CPython makes instead
/// (`OSError(2, 'x')` is a `FileNotFoundError`); `None` to keep `cls`. Only `OSError` itself
/// is redirected, as in CPython.
pub fn os_error_class(cls: &Ref<Class>, args: &[Value]) -> Option<Ref<Class>> {
    if !Ref::ptr_eq(cls, types().exc(ExcKind::OSError)) || !(2..=5).contains(&args.len()) {
        return None;
    }
    match args[0] {
        Value::Int(code) => errno_class(code),
        _ => None,
    }
}

/// The fields CPython's `OSError.__init__` sets from `(errno, strerror[, filename[, winerror[,
/// filename2]]])`: `errno` and `strerror` for two to five arguments, `filename` when it is given
/// and not `None`, `filename2` likewise but only with a `filename`; with a filename, `args` keeps
/// only `(errno, strerror)`. A field left unset reads as `None` (`builtins/attrs.rs`) but is not
/// shown by `str()`, unlike one set to `None` ([`os_error_str`]). Does nothing for other
/// exceptions. A `BlockingIOError` (that class itself, not a subclass, as in CPython) whose
/// third argument is a number takes it as `characters_written` (see [`characters_written`]:
/// a float is a `TypeError`), keeping it in `args`.
pub fn init_os_error(interp: &mut Interp, inst: &Instance, args: &[Value]) -> PyResult<()> {
    if !inst.class.is_subclass(types().exc(ExcKind::OSError)) || !(2..=5).contains(&args.len()) {
        return Ok(());
    }
    let given = |i: usize| args.get(i).filter(|v| !v.is_none()).cloned();
    let written = match given(2) {
        Some(n)
            if Ref::ptr_eq(&inst.class.get(), types().exc(ExcKind::BlockingIOError))
                && is_number(interp, &n) =>
        {
            Some(characters_written(interp, &n)?)
        }
        _ => None,
    };
    // Out of `__dict__`, as slots are (`interp/views.rs`); the old values dropped unlocked.
    let mut old = Vec::new();
    let mut d = inst.dict.lock();
    old.extend(d.insert_slot(Arc::from("errno"), args[0].clone()));
    old.extend(d.insert_slot(Arc::from("strerror"), args[1].clone()));
    if let Some(n) = &written {
        // `n` is how many characters were written, not a file name, and `args` keeps it.
        let name: Arc<str> = Arc::from("characters_written");
        match n {
            Some(n) => old.extend(d.insert_slot(name, n.clone())),
            None => old.extend(d.shift_remove(&*name)),
        }
    } else if let Some(filename) = given(2) {
        old.extend(d.insert_slot(Arc::from("filename"), filename));
        if let Some(filename2) = given(4) {
            old.extend(d.insert_slot(Arc::from("filename2"), filename2));
        }
    }
    drop(d);
    drop(old);
    if written.is_some() || given(2).is_none() {
        return Ok(());
    }
    if let Some(e) = inst.exc() {
        e.lock().args.truncate(2);
    }
    Ok(())
}

/// Whether CPython's `PyNumber_Check` holds for `v`: an int, float or complex, or an object
/// whose type can turn it into one (`__index__`, `__int__`, `__float__`).
fn is_number(interp: &mut Interp, v: &Value) -> bool {
    match v {
        Value::Int(_) | Value::BigInt(_) | Value::Bool(_) | Value::Float(_) | Value::Complex(_) => {
            true
        }
        Value::Instance(_) => {
            crate::object::builtin_base(v).is_some_and(|b| {
                matches!(
                    b,
                    Value::Int(_) | Value::BigInt(_) | Value::Float(_) | Value::Complex(_)
                )
            }) || ["__index__", "__int__", "__float__"]
                .iter()
                .any(|name| interp.lookup_special(v, name).is_some())
        }
        _ => false,
    }
}

/// A value given to an `OSError`'s `characters_written` (assigned, or `BlockingIOError`'s third
/// argument), converted as CPython's member does (`PyNumber_AsSsize_t` with `ValueError`): the
/// int it stands for (`__index__` honoured, a bool as 0 or 1), or `None` for -1, CPython's mark
/// of the member unset; not an int, `TypeError`; beyond 64 bits, `ValueError`.
pub fn characters_written(interp: &mut Interp, v: &Value) -> PyResult<Option<Value>> {
    match interp.number_index(v)? {
        Some(Value::Int(-1)) => Ok(None),
        Some(Value::Int(n)) => Ok(Some(Value::Int(n))),
        Some(Value::Bool(b)) => Ok(Some(Value::Int(b as i64))),
        Some(_) => Err(err!(
            ValueError,
            "cannot fit 'int' into an index-sized integer"
        )),
        None => Err(err!(
            TypeError,
            "'{}' object cannot be interpreted as an integer",
            type_name(v)
        )),
    }
}

/// Whether `name` is one of the fields of an `OSError` (see [`init_os_error`]): they read as
/// `None` while unset.
pub fn is_os_error_field(inst: &Instance, name: &str) -> bool {
    matches!(name, "errno" | "strerror" | "filename" | "filename2")
        && inst.class.is_subclass(types().exc(ExcKind::OSError))
}

/// Whether `name` is a member CPython gives `inst`'s exception class, kept out of `__dict__`:
/// an `OSError` field, or `characters_written` (every `OSError` has it, though only
/// `BlockingIOError`'s `__init__` sets it; unlike the fields it has no value until set, and
/// reads as `AttributeError: characters_written` then).
pub fn is_os_error_member(inst: &Instance, name: &str) -> bool {
    is_os_error_field(inst, name) || is_characters_written(inst, name)
}

/// Whether `name` is `characters_written` and `inst` an `OSError`.
pub fn is_characters_written(inst: &Instance, name: &str) -> bool {
    name == "characters_written" && inst.class.is_subclass(types().exc(ExcKind::OSError))
}

/// `str()` of an `OSError` from its fields as they are now (assigned ones included), as CPython
/// writes it: with a file name set (even to `None`) `[Errno E] S: 'f'` (and ` -> 'g'` with a
/// second), unset `errno`/`strerror` shown as `None`; without one, `[Errno E] S` when both are
/// set. `None` otherwise and for other exceptions: then `str()` is the usual one. `show` writes
/// a value, as `repr()` when its flag is set, else as `str()`.
pub fn os_error_str(
    inst: &Instance,
    show: &mut dyn FnMut(&Value, bool) -> PyResult<String>,
) -> Option<PyResult<String>> {
    if !inst.class.is_subclass(types().exc(ExcKind::OSError)) {
        return None;
    }
    let field = |name: &str| inst.dict.lock().get(name).cloned();
    let (errno, strerror) = (field("errno"), field("strerror"));
    let filename = field("filename");
    if filename.is_none() && (errno.is_none() || strerror.is_none()) {
        return None;
    }
    let none = Value::None;
    let mut text = || -> PyResult<String> {
        let mut out = format!(
            "[Errno {}] {}",
            show(errno.as_ref().unwrap_or(&none), false)?,
            show(strerror.as_ref().unwrap_or(&none), false)?
        );
        if let Some(f) = &filename {
            out.push_str(&format!(": {}", show(f, true)?));
            if let Some(f2) = field("filename2") {
                out.push_str(&format!(" -> {}", show(&f2, true)?));
            }
        }
        Ok(out)
    };
    Some(text())
}

/// `repr()` of a str, as CPython writes it (for file names in messages).
pub use crate::num::parse::str_repr as py_str_repr;

/// A path argument: a str, bytes (UTF-8 only: see `posix_support::os_name`), or a `pathlib`
/// path object (minivm takes no other `os.PathLike` objects here).
pub fn path_arg<'a>(v: Option<&'a Value>, func: &str) -> PyResult<&'a str> {
    let path = path_text(v, func)?;
    // CPython's path converter refuses a NUL, which would cut the name short in C.
    if path.contains('\0') {
        return Err(err!(ValueError, "embedded null byte"));
    }
    Ok(path)
}

fn path_text<'a>(v: Option<&'a Value>, func: &str) -> PyResult<&'a str> {
    if let Some(p) = v.and_then(crate::stdlib::posix_support::fspath_str) {
        return Ok(p);
    }
    match v {
        Some(Value::Str(s)) => Ok(s.as_str()),
        Some(Value::Bytes(b)) => std::str::from_utf8(b.as_bytes()).map_err(|_| {
            err!(
                NotImplementedError,
                "path {} is not UTF-8: CPython decodes it with surrogate escapes, which a \
                 minivm str cannot hold",
                crate::interp::repr::bytes_repr(b.as_bytes())
            )
        }),
        Some(other) => Err(err!(
            TypeError,
            "{func}: path should be string, bytes or os.PathLike, not {}",
            type_name(other)
        )),
        None => Err(err!(
            TypeError,
            "{func}() missing required argument 'path' (pos 1)"
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// os functions

/// `os.cpu_count()`: the CPUs this process may use (`available_parallelism`, which honours
/// affinity masks and cgroup quotas, where CPython counts the CPUs online).
fn cpu_count(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args(&args, "posix.cpu_count")?;
    Ok(match std::thread::available_parallelism() {
        Ok(n) => Value::Int(n.get() as i64),
        Err(_) => Value::None,
    })
}

/// `os.sched_getaffinity(pid)`: the set of CPU numbers process `pid` (0: this one) may run on,
/// which programs take the size of to choose a number of workers.
fn sched_getaffinity(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [pid] = Sig::pos("posix.sched_getaffinity", Style::One, &["pid"], 1).bind::<1>(&args)?;
    let pid = to_index(pid.unwrap_or(&Value::None))?;
    let pid = i32::try_from(pid)
        .map_err(|_| err!(OverflowError, "Python int too large to convert to C int"))?;
    let cpus = rustix::thread::sched_getaffinity(rustix::thread::Pid::from_raw(pid))
        .map_err(|e| os_error(&std::io::Error::from(e), None))?;
    let mut set = crate::object::KeySet::default();
    for cpu in (0..rustix::thread::CpuSet::MAX_CPU).filter(|&c| cpus.is_set(c)) {
        set.insert(crate::object::HashKey::from_value(Value::Int(cpu as i64))?);
    }
    Ok(Value::Set(Ref::new(crate::object::SetObj::new(set, false))))
}

fn getpid(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args(&args, "posix.getpid")?;
    Ok(Value::Int(std::process::id() as i64))
}

fn getppid(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args(&args, "posix.getppid")?;
    Ok(Value::Int(i64::from(nix::unistd::getppid().as_raw())))
}

/// `os.kill(pid, sig)`: send signal `sig` to process `pid` (0 checks that it exists; a
/// negative `pid` is a process group, as kill(2)). `ProcessLookupError` for no such process,
/// `OSError` EINVAL for a signal number the system does not have, as CPython.
fn kill(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [pid, sig] = Sig::pos("kill", Style::Positional, &["pid", "signal"], 2).bind::<2>(&args)?;
    let pid = pid_arg(pid.unwrap_or(&Value::None))?;
    send_signal(interp, pid, sig.unwrap_or(&Value::None))
}

/// A process (or group) id argument: a C `pid_t`, with CPython's OverflowError past its range.
pub(crate) fn pid_arg(v: &Value) -> PyResult<i32> {
    c_int_arg(v)
}

/// An Argument Clinic `int` argument (CPython's `_PyLong_AsInt`): out of range either way is
/// "too large" (`os.nice`, `os.pipe2`, `os.getpriority`).
pub(crate) fn clinic_int_arg(v: &Value) -> PyResult<i32> {
    let too_large = || err!(OverflowError, "Python int too large to convert to C int");
    if let Value::BigInt(_) = v {
        return Err(too_large());
    }
    i32::try_from(to_index(v)?).map_err(|_| too_large())
}

/// A C `int` argument, as CPython's "i" format parses it (a pid, a clock id).
pub(crate) fn c_int_arg(v: &Value) -> PyResult<i32> {
    if let Value::BigInt(_) = v {
        return Err(err!(
            OverflowError,
            "Python int too large to convert to C long"
        ));
    }
    let n = to_index(v)?;
    i32::try_from(n).map_err(|_| {
        err!(
            OverflowError,
            "signed integer is {} than {}imum",
            if n < 0 { "less" } else { "greater" },
            if n < 0 { "min" } else { "max" }
        )
    })
}

/// kill(2) of `pid` (as `os.kill` takes it: negative for a process group) with the signal
/// number `sig` (0: only check). A signal that reaches this process runs its handler before
/// returning, as in CPython.
pub(crate) fn send_signal(interp: &mut Interp, pid: i32, sig: &Value) -> PyResult<Value> {
    let sig = to_index(sig)?;
    let einval = || os_error(&std::io::Error::from_raw_os_error(libc::EINVAL), None);
    let signal = match sig {
        0 => None,
        n => Some(
            i32::try_from(n)
                .ok()
                .and_then(|n| nix::sys::signal::Signal::try_from(n).ok())
                .ok_or_else(einval)?,
        ),
    };
    let before = crate::stdlib::signal::recorded(sig);
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal) {
        Ok(()) => {
            // Sent to this process (or its process group): its handler runs as CPython's does.
            let me = nix::unistd::getpid().as_raw();
            let own_group = -nix::unistd::getpgrp().as_raw();
            if let Some(s) = signal.filter(|_| pid == me || pid == 0 || pid == own_group) {
                crate::stdlib::signal::after_own_signal(interp, s as i64, before)?;
            }
            Ok(Value::None)
        }
        Err(e) => Err(os_error(&std::io::Error::from(e), None)),
    }
}

fn getcwd(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args(&args, "posix.getcwd")?;
    match std::env::current_dir() {
        Ok(p) => Ok(Value::string(p.display().to_string())),
        Err(e) => Err(os_error(&e, None)),
    }
}

/// `os.getenv(key, default=None)`: looked up in `os.environ`, so that assignments to it count.
fn getenv(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [key, default] = Sig::py("getenv", &["key", "default"], 1).bind::<2>(&args)?;
    let key = match key {
        Some(k @ Value::Str(_)) => k.clone(),
        Some(other) => return Err(err!(TypeError, "str expected, not {}", type_name(other))),
        None => Value::None,
    };
    let default = default.cloned().unwrap_or(Value::None);
    match interp.vm.find_module("os") {
        Some(os) => {
            let env = interp.getattr(&Value::Module(os), "environ")?;
            let get = interp.getattr(&env, "get")?;
            interp.call(&get, &[key, default])
        }
        None => Ok(default),
    }
}

/// `os._environ_items()`: the process's environment variables as `(name, value)` pairs, which
/// `os.environ` starts from (`_osinfo.mini`). A variable whose name or value is not UTF-8 is
/// left out: minivm's str has no surrogateescape to carry it (docs/LANGUAGE.md).
fn environ_items(_: &mut Interp, _: Args<'_>) -> PyResult<Value> {
    let pairs = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .map(|(k, v)| Value::tuple(vec![Value::string(k), Value::string(v)]))
        .collect();
    Ok(Value::list(pairs))
}

/// `os.remove(path, *, dir_fd=None)`, with the GIL released.
fn remove(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    remove_at(interp, &args, "remove", false)
}

/// `os.unlink(path, *, dir_fd=None)`: `remove` under its other name (which its messages say).
fn unlink(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    remove_at(interp, &args, "unlink", false)
}

/// Remove the file (or with `dir`, the empty directory) `path`, relative to the directory
/// open on `dir_fd` when one is given, as unlinkat(2).
fn remove_at(interp: &mut Interp, args: &Args<'_>, name: &str, dir: bool) -> PyResult<Value> {
    let [path, dir_fd] = Sig::kw(name, &["path"], 1)
        .kwonly(&["dir_fd"])
        .bind::<2>(args)?;
    let path = path_arg(path, name)?.to_string();
    // (An absolute path ignores the directory, as unlinkat(2) does, even a closed one.)
    let at =
        match dir_fd_arg(dir_fd)? {
            Some(_) if path.starts_with('/') => None,
            Some(fd) => Some(borrow_fd(interp, i64::from(fd)).map_err(|_| {
                os_error(&std::io::Error::from_raw_os_error(libc::EBADF), Some(&path))
            })?),
            None => None,
        };
    let flags = if dir {
        rustix::fs::AtFlags::REMOVEDIR
    } else {
        rustix::fs::AtFlags::empty()
    };
    let done = interp.allow_threads(|| match &at {
        Some(d) => rustix::fs::unlinkat(d, path.as_str(), flags),
        None => rustix::fs::unlinkat(rustix::fs::CWD, path.as_str(), flags),
    });
    done.map(|()| Value::None)
        .map_err(|e| os_error(&std::io::Error::from(e), Some(&path)))
}

fn fd_range_error(negative: bool) -> PyErr {
    if negative {
        err!(OverflowError, "fd is less than minimum")
    } else {
        err!(OverflowError, "fd is greater than maximum")
    }
}

/// A `dir_fd=` argument: None or a descriptor (CPython's `dir_fd_converter`).
pub(crate) fn dir_fd_arg(v: Option<&Value>) -> PyResult<Option<i32>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(Value::BigInt(b)) => Err(fd_range_error(num_traits::Signed::is_negative(&**b))),
        Some(v @ (Value::Int(_) | Value::Bool(_))) => {
            let n = to_index(v)?;
            i32::try_from(n)
                .map(Some)
                .map_err(|_| fd_range_error(n < 0))
        }
        Some(other) => Err(err!(
            TypeError,
            "argument should be integer or None, not {}",
            type_name(other)
        )),
    }
}

/// `os.listdir(path='.')`, in the order the OS gives (as CPython: sort it to print it).
fn listdir(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let path = match arg(&args, 0, "path") {
        None | Some(Value::None) => ".".to_string(),
        v => path_arg(v, "listdir")?.to_string(),
    };
    let names = interp.allow_threads(|| -> std::io::Result<Vec<std::ffi::OsString>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&path)? {
            out.push(entry?.file_name());
        }
        Ok(out)
    });
    let names = names.map_err(|e| os_error(&e, Some(&path)))?;
    // A bytes directory lists bytes names, as CPython's.
    let as_bytes = matches!(arg(&args, 0, "path"), Some(Value::Bytes(_)));
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        use std::os::unix::ffi::OsStrExt;
        if as_bytes {
            out.push(Value::bytes(name.as_bytes().to_vec()));
            continue;
        }
        let name = crate::stdlib::posix_support::os_name(name.as_bytes(), "the file name")?;
        out.push(Value::string(name));
    }
    Ok(Value::list(out))
}

fn no_args(args: &Args<'_>, name: &str) -> PyResult<()> {
    if args.pos.is_empty() && args.kw.is_empty() {
        Ok(())
    } else {
        Err(err!(
            TypeError,
            "{name}() takes no arguments ({} given)",
            args.pos.len() + args.kw.len()
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// os.path

fn path_exists(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let p = path_arg(arg(&args, 0, "path"), "exists")?.to_string();
    Ok(Value::Bool(
        interp.allow_threads(|| std::fs::metadata(&p).is_ok()),
    ))
}

fn path_isfile(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let p = path_arg(arg(&args, 0, "path"), "isfile")?.to_string();
    Ok(Value::Bool(interp.allow_threads(|| {
        std::fs::metadata(&p).is_ok_and(|m| m.is_file())
    })))
}

fn path_isdir(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let p = path_arg(arg(&args, 0, "path"), "isdir")?.to_string();
    Ok(Value::Bool(interp.allow_threads(|| {
        std::fs::metadata(&p).is_ok_and(|m| m.is_dir())
    })))
}

/// `f` called with its bytes arguments as str, and its str results (alone or in a tuple) as
/// bytes again: the functions of `os.path` that make a path from paths, given bytes, answer in
/// bytes, as CPython's. Mixing str and bytes is CPython's TypeError.
fn with_bytes_paths(
    interp: &mut Interp,
    args: Args<'_>,
    f: fn(&mut Interp, Args<'_>) -> PyResult<Value>,
) -> PyResult<Value> {
    if !args.pos.iter().any(|v| matches!(v, Value::Bytes(_))) {
        return f(interp, args);
    }
    let mut decoded = Vec::with_capacity(args.pos.len());
    for (i, v) in args.pos.iter().enumerate() {
        match v {
            Value::Bytes(_) => decoded.push(Value::str(path_arg(Some(v), "path")?)),
            Value::Str(_) => {
                raise!(TypeError, "Can't mix strings and bytes in path components")
            }
            other => decoded.push(match crate::stdlib::posix_support::fspath_str(other) {
                Some(_) => raise!(TypeError, "Can't mix strings and bytes in path components"),
                None if i == 0 => other.clone(),
                None => raise!(
                    TypeError,
                    "join() argument must be str, bytes, or os.PathLike object, not '{}'",
                    type_name(other)
                ),
            }),
        }
    }
    let encode = |v: Value| match v {
        Value::Str(s) => Value::bytes(s.as_str().as_bytes().to_vec()),
        other => other,
    };
    Ok(
        match f(
            interp,
            Args {
                pos: &decoded,
                kw: args.kw,
            },
        )? {
            Value::Tuple(t) => Value::tuple(t.items.iter().cloned().map(encode).collect()),
            other => encode(other),
        },
    )
}

/// The `os.path` functions of `with_bytes_paths`, by the name of the str-only one.
macro_rules! bytes_paths {
    ($($name:ident => $inner:ident),* $(,)?) => {
        $(fn $name(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
            with_bytes_paths(interp, args, $inner)
        })*
    };
}

bytes_paths!(
    bytes_join => path_join,
    bytes_basename => path_basename,
    bytes_dirname => path_dirname,
    bytes_abspath => path_abspath,
    bytes_normpath => path_normpath,
    bytes_split => path_split,
    bytes_splitext => path_splitext,
    bytes_expanduser => path_expanduser,
);

/// `os.path.join(a, *p)` with posixpath's rules: an absolute part restarts the path.
fn path_join(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    if args.pos.is_empty() {
        return Err(err!(
            TypeError,
            "join() missing 1 required positional argument: 'a'"
        ));
    }
    let mut out = String::new();
    for (i, v) in args.pos.iter().enumerate() {
        let part = match v {
            Value::Str(s) => s.as_str(),
            other if crate::stdlib::posix_support::fspath_str(other).is_some() => {
                crate::stdlib::posix_support::fspath_str(other).unwrap_or_default()
            }
            other if i == 0 => {
                return Err(err!(
                    TypeError,
                    "expected str, bytes or os.PathLike object, not {}",
                    type_name(other)
                ));
            }
            other => {
                return Err(err!(
                    TypeError,
                    "join() argument must be str, bytes, or os.PathLike object, not '{}'",
                    type_name(other)
                ));
            }
        };
        if part.starts_with('/') {
            out = part.to_string();
        } else if out.is_empty() || out.ends_with('/') {
            out.push_str(part);
        } else {
            out.push('/');
            out.push_str(part);
        }
    }
    Ok(Value::string(out))
}

fn path_basename(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let p = path_arg(arg(&args, 0, "p"), "basename")?;
    let i = p.rfind('/').map_or(0, |i| i + 1);
    Ok(Value::str(&p[i..]))
}

fn path_dirname(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let p = path_arg(arg(&args, 0, "p"), "dirname")?;
    Ok(Value::str(split_at_last_slash(p).0))
}

/// One path parameter, by position or keyword, as CPython's `os` functions take it.
fn path_param(args: &Args<'_>, fname: &str, pname: &'static str) -> PyResult<String> {
    let params = [pname];
    let [p] = Sig::kw(fname, &params, 1).bind::<1>(args)?;
    Ok(path_arg(p, fname)?.to_string())
}

/// Run a filesystem call on `path` with the GIL released; its error names the path.
fn fs_call(
    interp: &mut Interp,
    path: &str,
    f: impl FnOnce(&str) -> std::io::Result<()> + Send,
) -> PyResult<Value> {
    match interp.allow_threads(|| f(path)) {
        Ok(()) => Ok(Value::None),
        Err(e) => Err(os_error(&e, Some(path))),
    }
}

/// `os.chdir(path)`: the working directory is the process's, shared by every thread.
fn chdir(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let path = path_param(&args, "chdir", "path")?;
    fs_call(interp, &path, |p| std::env::set_current_dir(p))
}

/// The `mode` argument of `mkdir`/`makedirs` (default 0o777, less the umask).
fn mode_arg(v: Option<&Value>) -> PyResult<u32> {
    match v {
        None => Ok(0o777),
        Some(v) => Ok((to_index(v)? as u32) & 0o7777),
    }
}

/// `os.mkdir(path, mode=0o777)`.
fn mkdir(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    use std::os::unix::fs::DirBuilderExt;
    let [p, mode] = Sig::kw("mkdir", &["path", "mode"], 1).bind::<2>(&args)?;
    let path = path_arg(p, "mkdir")?.to_string();
    let mode = mode_arg(mode)?;
    fs_call(interp, &path, |p| {
        std::fs::DirBuilder::new().mode(mode).create(p)
    })
}

/// `os.makedirs(name, mode=0o777, exist_ok=False)`: the directory and any missing parents,
/// made as CPython's `os.makedirs` makes them (it recurses on the parent): the parents with mode
/// 0o777 (less the umask), only the last with `mode`; a parent that appeared meanwhile is
/// fine; a failure names the directory whose `mkdir` failed (`/proc/x/y` fails at `/proc/x`).
fn makedirs(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [p, mode, exist_ok] =
        Sig::py("makedirs", &["name", "mode", "exist_ok"], 1).bind::<3>(&args)?;
    let path = path_arg(p, "makedirs")?.to_string();
    let mode = mode_arg(mode)?;
    let exist_ok = match exist_ok {
        Some(v) => interp.truthy(v)?,
        None => false,
    };
    match interp.allow_threads(|| make_dirs(&path, mode, exist_ok)) {
        Ok(()) => Ok(Value::None),
        Err((e, dir)) => Err(os_error(&e, Some(&dir))),
    }
}

/// `posixpath.split`: the part before the last `/` (its trailing slashes dropped unless it is
/// all slashes) and the part after.
fn split_path(p: &str) -> (&str, &str) {
    let i = p.rfind('/').map_or(0, |i| i + 1);
    let (head, tail) = p.split_at(i);
    if head.is_empty() || head.bytes().all(|b| b == b'/') {
        (head, tail)
    } else {
        (head.trim_end_matches('/'), tail)
    }
}

/// [`makedirs`]'s work, without recursion: first the chain of directories to make, from `path`
/// up to the first whose parent exists, then `mkdir` of each from the top down. A level whose
/// last part is `.` (`a/b/.`) is not made itself, as CPython returns there. The error names
/// the directory that failed.
fn make_dirs(path: &str, mode: u32, exist_ok: bool) -> Result<(), (std::io::Error, String)> {
    use std::os::unix::fs::DirBuilderExt;
    // (directory, whether its parent is made first and its last part is `.`)
    let mut chain: Vec<(&str, bool)> = Vec::new();
    let mut cur = path;
    loop {
        let (mut head, mut tail) = split_path(cur);
        if tail.is_empty() {
            (head, tail) = split_path(head);
        }
        if head.is_empty() || tail.is_empty() || std::path::Path::new(head).exists() {
            chain.push((cur, false));
            break;
        }
        chain.push((cur, tail == "."));
        cur = head;
    }
    let last = chain.len() - 1;
    for (i, &(dir, dot)) in chain.iter().enumerate().rev() {
        if dot && i != last {
            continue;
        }
        let leaf = i == 0;
        let made = std::fs::DirBuilder::new()
            .mode(if leaf { mode } else { 0o777 })
            .create(dir);
        match made {
            Ok(()) => {}
            Err(_) if exist_ok && std::path::Path::new(dir).is_dir() => {}
            // A parent made meanwhile (CPython's caller ignores FileExistsError).
            Err(e) if !leaf && e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err((e, dir.to_string())),
        }
    }
    Ok(())
}

/// `os.rmdir(path, *, dir_fd=None)`: remove an empty directory.
fn rmdir(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    remove_at(interp, &args, "rmdir", true)
}

/// `os.rename(src, dst)` / `os.replace(src, dst)` (the same on POSIX).
fn rename(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [src, dst] = Sig::kw("rename", &["src", "dst"], 2).bind::<2>(&args)?;
    let src = path_arg(src, "rename")?.to_string();
    let dst = path_arg(dst, "rename")?.to_string();
    match interp.allow_threads(|| std::fs::rename(&src, &dst)) {
        Ok(()) => Ok(Value::None),
        Err(e) => Err(os_error2(&e, &src, &dst)),
    }
}

/// Fill `buf` with random bytes from the kernel (`/dev/urandom`).
pub fn fill_random(buf: &mut [u8]) -> std::io::Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")?.read_exact(buf)
}

/// `os.urandom(size)`: `size` random bytes.
fn urandom(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [n] = Sig::pos("posix.urandom", Style::One, &["size"], 1).bind::<1>(&args)?;
    let n = to_index(n.unwrap_or(&Value::Int(0)))?;
    if n < 0 {
        return Err(err!(ValueError, "negative argument not allowed"));
    }
    crate::builtins::args::check_str_bytes(n as usize)?;
    let mut buf = vec![0u8; n as usize];
    interp
        .allow_threads(|| fill_random(&mut buf))
        .map_err(|e| os_error(&e, None))?;
    Ok(Value::bytes(buf))
}

/// Descriptors handed to the program as ints (`os.pipe`, `tempfile.mkstemp`), kept open here
/// until `os.close(fd)` drops them or `open(fd)` takes one over. Only these (and those the
/// process inherited) can be closed or taken over by number; the other `os` functions also
/// reach a descriptor a file object or socket owns, through a duplicate ([`borrow_fd`]).
static OWNED_FDS: parking_lot::Mutex<Vec<OwnedFd>> = parking_lot::Mutex::new(Vec::new());

/// Keep `fd` open and give the program its number.
pub fn hand_out_fd(fd: OwnedFd) -> i64 {
    let n = fd.as_raw_fd() as i64;
    OWNED_FDS.lock().push(fd);
    n
}

fn bad_fd() -> PyErr {
    os_error(&std::io::Error::from_raw_os_error(libc::EBADF), None)
}

/// Take back descriptor `n` handed out by [`hand_out_fd`] (for `open(fd)`).
pub fn take_fd(n: i64) -> PyResult<OwnedFd> {
    let mut owned = OWNED_FDS.lock();
    match position(&mut owned, n) {
        Some(i) => Ok(owned.remove(i)),
        None => Err(bad_fd()),
    }
}

/// Where descriptor `n` is in the table: one handed out, or one this process inherited from
/// the program that started it (`pass_fds`, a shell's `3>file`), which becomes the program's
/// from its first use (`heap::fork::adopt_inherited_fd`).
fn position(owned: &mut Vec<OwnedFd>, n: i64) -> Option<usize> {
    if let Some(i) = owned.iter().position(|f| f.as_raw_fd() as i64 == n) {
        return Some(i);
    }
    let fd = i32::try_from(n)
        .ok()
        .and_then(crate::heap::fork::adopt_inherited_fd)?;
    crate::stdlib::os_fd::note_inheritable();
    owned.push(fd);
    Some(owned.len() - 1)
}

/// A new descriptor (close-on-exec) for whatever open descriptor `n` names, one minivm handed
/// out or not (a socket object's `fileno()`, a file object's): `os.dup`, `socket.fromfd`.
pub fn dup_any_fd(n: i64) -> PyResult<OwnedFd> {
    crate::heap::fork::dup_open_fd(n).map_err(|e| os_error(&e, None))
}

/// Run `f` on descriptor `n` itself (not a duplicate: `os.dup2` replaces it), if minivm handed
/// it out; `None` if not.
pub fn with_owned_fd<T>(n: i64, f: impl FnOnce(&mut OwnedFd) -> T) -> Option<T> {
    let mut owned = OWNED_FDS.lock();
    let i = position(&mut owned, n)?;
    owned.get_mut(i).map(f)
}

/// A duplicate of descriptor `n` to read or write through: one minivm handed out, or the
/// standard streams 0, 1, 2 (stdout's buffer is flushed first, to keep the output in order).
pub fn borrow_fd(interp: &mut Interp, n: i64) -> PyResult<std::fs::File> {
    use std::os::fd::AsFd;
    let dup = match n {
        0 => std::io::stdin().as_fd().try_clone_to_owned(),
        1 | 2 => {
            interp.flush_stdout()?;
            if n == 1 {
                std::io::stdout().as_fd().try_clone_to_owned()
            } else {
                std::io::stderr().as_fd().try_clone_to_owned()
            }
        }
        // One the program holds as an int, else the descriptor of a file object or socket
        // (`f.fileno()`): a duplicate either way.
        _ => match with_owned_fd(n, |f| f.try_clone()) {
            Some(dup) => dup,
            None => crate::heap::fork::dup_open_fd(n),
        },
    };
    dup.map(std::fs::File::from).map_err(|e| os_error(&e, None))
}

/// `os.write(fd, data)`: the number of bytes written (one OS write, GIL released).
fn write(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    use std::io::Write;
    let [fd, data] = Sig::pos("write", Style::Positional, &["fd", "data"], 2).bind::<2>(&args)?;
    let fd = to_index(fd.unwrap_or(&Value::None))?;
    let data = crate::builtins::bytes_methods::arg_bytes(data.unwrap_or(&Value::None))?.to_vec();
    let mut f = borrow_fd(interp, fd)?;
    let n = interp
        .allow_threads(|| f.write(&data))
        .map_err(|e| os_error(&e, None))?;
    Ok(Value::Int(n as i64))
}

/// `os.read(fd, n)`: at most `n` bytes (one OS read, GIL released; `b''` at end of file).
fn read(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    use std::io::Read;
    let [fd, n] = Sig::pos("read", Style::Positional, &["fd", "length"], 2).bind::<2>(&args)?;
    let fd = to_index(fd.unwrap_or(&Value::None))?;
    let n = to_index(n.unwrap_or(&Value::None))?;
    if n < 0 {
        return Err(os_error(
            &std::io::Error::from_raw_os_error(libc::EINVAL),
            None,
        ));
    }
    crate::builtins::args::check_str_bytes(n as usize)?;
    let mut f = borrow_fd(interp, fd)?;
    let mut buf = vec![0u8; n as usize];
    let got = interp
        .allow_threads(|| f.read(&mut buf))
        .map_err(|e| os_error(&e, None))?;
    buf.truncate(got);
    Ok(Value::bytes(buf))
}

/// `os.close(fd)`: one the program holds as an int (`os.open`, `os.pipe`), or a standard
/// descriptor.
fn close(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [fd] = Sig::kw("close", &["fd"], 1).bind::<1>(&args)?;
    let n = to_index(fd.unwrap_or(&Value::None))?;
    match take_fd(n) {
        Ok(fd) => drop(fd),
        // The standard descriptors. What stdout still holds stays queued, as in CPython,
        // whose next flush then fails (or goes to the file opened next as descriptor 1).
        Err(e) if (0..=2).contains(&n) => {
            use crate::heap::posix_calls::{close_standard_fd, StdCloseError};
            match close_standard_fd(n as i32) {
                Ok(()) => {}
                Err(StdCloseError::NotOpen) => return Err(e),
                Err(StdCloseError::Os(code)) => {
                    return Err(os_error(&std::io::Error::from_raw_os_error(code), None))
                }
                Err(StdCloseError::Replaced) => {
                    return Err(err!(
                        OSError,
                        "os.close: minivm closes standard descriptor {n} only once; it was \
                         closed and os.dup2 put another there, which minivm will not close by \
                         number"
                    ))
                }
            }
        }
        Err(e) => return Err(e),
    }
    Ok(Value::None)
}

/// `os.pipe()`: `(r, w)`, two descriptors to give to `open(fd, 'rb')` / `open(fd, 'wb')`.
fn pipe(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("posix.pipe", Style::NoArgs, &[], 0).check(&args)?;
    let (r, w) = std::io::pipe().map_err(|e| os_error(&e, None))?;
    Ok(Value::tuple(vec![
        Value::Int(hand_out_fd(OwnedFd::from(r))),
        Value::Int(hand_out_fd(OwnedFd::from(w))),
    ]))
}

/// `os.pipe2(flags)`: a pipe made with `O_NONBLOCK` and/or `O_CLOEXEC` (without O_CLOEXEC its
/// descriptors are inherited by programs started, unlike `pipe()`'s).
fn pipe2(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [flags] = Sig::pos("posix.pipe2", Style::One, &["flags"], 1).bind::<1>(&args)?;
    let flags = clinic_int_arg(flags.unwrap_or(&Value::None))?;
    let known = libc::O_NONBLOCK | libc::O_CLOEXEC;
    if flags & !known != 0 {
        return Err(os_error(
            &std::io::Error::from_raw_os_error(libc::EINVAL),
            None,
        ));
    }
    let flags = rustix::pipe::PipeFlags::from_bits_truncate(flags as u32);
    let (r, w) =
        rustix::pipe::pipe_with(flags).map_err(|e| os_error(&std::io::Error::from(e), None))?;
    Ok(Value::tuple(vec![
        Value::Int(hand_out_fd(r)),
        Value::Int(hand_out_fd(w)),
    ]))
}

/// `os.mkfifo(path, mode=0o666)`: make a named pipe (FIFO) at `path`, `mode` less the umask.
fn mkfifo(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [p, mode] = Sig::kw("mkfifo", &["path", "mode"], 1).bind::<2>(&args)?;
    let path = path_arg(p, "mkfifo")?.to_string();
    let mode = match mode {
        Some(m) => clinic_int_arg(m)?,
        None => 0o666,
    };
    let mode = rustix::fs::Mode::from_bits_truncate(mode as u32);
    rustix::fs::mkfifoat(rustix::fs::CWD, path.as_str(), mode)
        .map(|()| Value::None)
        .map_err(|e| os_error(&std::io::Error::from(e), None))
}

fn fspath(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [p] = Sig::kw("fspath", &["path"], 1).bind::<1>(&args)?;
    if let Some(s) = p.and_then(crate::stdlib::posix_support::fspath_str) {
        return Ok(Value::str(s));
    }
    if let Some(v @ Value::Instance(_)) = p {
        if let Some(m) = interp.lookup_special(v, "__fspath__") {
            let r = interp.call(&m, std::slice::from_ref(v))?;
            return match r {
                Value::Str(_) | Value::Bytes(_) => Ok(r),
                other => Err(err!(
                    TypeError,
                    "expected {}.__fspath__() to return str or bytes, not {}",
                    type_name(v),
                    type_name(&other)
                )),
            };
        }
    }
    match p {
        Some(v @ (Value::Str(_) | Value::Bytes(_))) => Ok(v.clone()),
        Some(other) => Err(err!(
            TypeError,
            "expected str, bytes or os.PathLike object, not {}",
            type_name(other)
        )),
        None => Ok(Value::None),
    }
}

/// `os.path.getsize(path)`: the size of a file in bytes.
fn path_getsize(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let p = path_param(&args, "getsize", "filename")?;
    match interp.allow_threads(|| std::fs::metadata(&p)) {
        Ok(m) => Ok(Value::Int(m.len() as i64)),
        Err(e) => Err(os_error(&e, Some(&p))),
    }
}

/// posixpath's `normpath`: collapse `//`, `.` and `x/..` without looking at the disk.
pub fn normpath(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    // POSIX allows exactly two leading slashes to mean something special; posixpath keeps them.
    let lead = if p.starts_with("//") && !p.starts_with("///") {
        "//"
    } else if p.starts_with('/') {
        "/"
    } else {
        ""
    };
    let mut parts: Vec<&str> = Vec::new();
    for comp in p.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if lead.is_empty() {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    let out = format!("{lead}{}", parts.join("/"));
    if out.is_empty() {
        ".".to_string()
    } else {
        out
    }
}

fn path_normpath(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::string(normpath(&path_param(
        &args, "normpath", "path",
    )?)))
}

/// An absolute form of `path`: joined to the working directory, then normalised.
pub fn abspath(path: &str) -> PyResult<String> {
    if path.starts_with('/') {
        return Ok(normpath(path));
    }
    let cwd = std::env::current_dir().map_err(|e| os_error(&e, None))?;
    Ok(normpath(&format!("{}/{path}", cwd.display())))
}

fn path_abspath(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::string(abspath(&path_param(
        &args, "abspath", "path",
    )?)?))
}

fn path_isabs(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::Bool(
        path_param(&args, "isabs", "s")?.starts_with('/'),
    ))
}

/// posixpath's split of a path at its last slash: the head (trailing slashes trimmed unless it
/// is all slashes) and the tail.
fn split_at_last_slash(p: &str) -> (&str, &str) {
    let i = p.rfind('/').map_or(0, |i| i + 1);
    let (head, tail) = p.split_at(i);
    let trimmed = head.trim_end_matches('/');
    (if trimmed.is_empty() { head } else { trimmed }, tail)
}

/// `os.path.split(p)`: `(head, tail)` around the last slash.
fn path_split(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let p = path_param(&args, "split", "p")?;
    let (head, tail) = split_at_last_slash(&p);
    Ok(Value::tuple(vec![Value::str(head), Value::str(tail)]))
}

/// `os.path.splitext(p)`: `(root, ext)`; leading dots of the file name do not start an extension.
fn path_splitext(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let p = path_param(&args, "splitext", "p")?;
    let name_start = p.rfind('/').map_or(0, |i| i + 1);
    let name = &p[name_start..];
    let dots = name.len() - name.trim_start_matches('.').len();
    let split = match name.rfind('.') {
        Some(i) if i >= dots => name_start + i,
        _ => p.len(),
    };
    Ok(Value::tuple(vec![
        Value::str(&p[..split]),
        Value::str(&p[split..]),
    ]))
}

/// The value of the environment variable `key` as the program sees it: from `os.environ` (so
/// that assignments to it count, as in CPython), or the process's if `os` was never imported.
pub fn environ_var(interp: &mut Interp, key: &str) -> PyResult<Option<String>> {
    let Some(os) = interp.vm.find_module("os") else {
        return Ok(std::env::var(key).ok());
    };
    let env = interp.getattr(&Value::Module(os), "environ")?;
    let get = interp.getattr(&env, "get")?;
    Ok(match interp.call(&get, &[Value::str(key)])? {
        Value::Str(s) => Some(s.as_str().to_string()),
        _ => None,
    })
}

/// The home directory the password database gives this process's user (what CPython's
/// `expanduser` falls back to without `$HOME`): its `/etc/passwd` entry. The user is the owner
/// of `/proc/self`.
fn passwd_home() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid().to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        // name:password:uid:gid:gecos:home:shell
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 7 && fields[2] == uid).then(|| fields[5].to_string())
    })
}

/// `os.fsencode(filename)`: a str path as UTF-8 bytes (bytes are returned as they are). minivm
/// has no surrogateescape: a str path is always valid UTF-8 already.
fn fsencode(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [name] = Sig::py("fsencode", &["filename"], 1).bind::<1>(&args)?;
    let name = fspath_of(interp, name)?;
    Ok(match name {
        Value::Str(s) => Value::bytes(s.as_str().as_bytes().to_vec()),
        other => other,
    })
}

/// `os.fsdecode(filename)`: a bytes path decoded as UTF-8 (a str is returned as it is). Bytes
/// that are not UTF-8 are refused (CPython would keep them as surrogates).
fn fsdecode(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [name] = Sig::py("fsdecode", &["filename"], 1).bind::<1>(&args)?;
    match fspath_of(interp, name)? {
        Value::Bytes(b) => match std::str::from_utf8(b.as_bytes()) {
            Ok(s) => Ok(Value::str(s)),
            Err(_) => Err(err!(
                NotImplementedError,
                "minivm's os.fsdecode takes UTF-8 bytes only (no surrogateescape)"
            )),
        },
        other => Ok(other),
    }
}

/// `os.fspath(name)` as `fsencode`/`fsdecode` take it: a str or bytes, or what `__fspath__` gives.
fn fspath_of(interp: &mut Interp, name: Option<&Value>) -> PyResult<Value> {
    let name = name.cloned().unwrap_or(Value::None);
    fspath(
        interp,
        Args {
            pos: std::slice::from_ref(&name),
            kw: &[],
        },
    )
}

/// `os.path.expanduser(path)`: a leading `~` becomes `$HOME` (`~user` is left alone).
fn path_expanduser(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let p = path_param(&args, "expanduser", "path")?;
    let Some(rest) = p.strip_prefix('~') else {
        return Ok(Value::string(p));
    };
    if !(rest.is_empty() || rest.starts_with('/')) {
        return Ok(Value::string(p));
    }
    let home = match environ_var(interp, "HOME")? {
        Some(home) => Some(home),
        None => passwd_home(),
    };
    match home {
        Some(home) => {
            let home = home.trim_end_matches('/');
            let home = if home.is_empty() { "/" } else { home };
            Ok(Value::string(if rest.is_empty() {
                home.to_string()
            } else if home == "/" {
                rest.to_string()
            } else {
                format!("{home}{rest}")
            }))
        }
        None => Ok(Value::string(p)),
    }
}

// ---------------------------------------------------------------------------------------------
// sys functions (registered in `sys` by the lead)

/// `sys.setswitchinterval(interval)`: seconds between forced GIL switch requests.
pub fn sys_setswitchinterval(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let secs = match arg(&args, 0, "interval") {
        Some(Value::Float(f)) => *f,
        Some(Value::Int(i)) => *i as f64,
        Some(Value::Bool(b)) => *b as i64 as f64,
        Some(Value::BigInt(b)) => crate::num::bigint::to_f64(b)
            .map_err(|_| err!(OverflowError, "int too large to convert to float"))?,
        Some(other) => {
            return Err(err!(
                TypeError,
                "must be real number, not {}",
                type_name(other)
            ))
        }
        None => {
            return Err(err!(
                TypeError,
                "setswitchinterval() missing required argument 'interval' (pos 1)"
            ))
        }
    };
    if secs.is_nan() || secs <= 0.0 {
        return Err(err!(
            ValueError,
            "switch interval must be strictly positive"
        ));
    }
    // CPython keeps whole microseconds, truncated (a float too large saturates here).
    interp
        .vm
        .gil
        .set_interval(Duration::from_micros((1e6 * secs) as u64));
    Ok(Value::None)
}

/// `sys.getswitchinterval()`
pub fn sys_getswitchinterval(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args(&args, "sys.getswitchinterval")?;
    Ok(Value::Float(interp.vm.gil.shown_interval()))
}

/// `sys._is_gil_enabled()` (CPython 3.13+; minivm has it in every mode).
pub fn sys_is_gil_enabled(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args(&args, "sys._is_gil_enabled")?;
    Ok(Value::Bool(interp.vm.gil.enabled()))
}

/// `os.fdopen(fd, mode='r', buffering=-1, encoding=None, ...)`: `open` of a descriptor (an int).
fn fdopen(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    match args.pos.first() {
        Some(Value::Int(_) | Value::Bool(_)) | None => {}
        Some(other) => {
            return Err(err!(
                TypeError,
                "invalid fd type (<class '{}'>, expected integer)",
                crate::object::type_name(other)
            ))
        }
    }
    crate::stdlib::file::open_builtin(interp, args)
}

/// The module CPython defines `os`/`os.path` function `name` in, as its `__module__` says, for
/// minivm's Rust functions found in module `module`: `os` holds the C module's functions
/// (`posix`) and a few written in Python (`makedirs`...); `os.path` some of `genericpath`'s.
pub fn cpython_home<'a>(module: &'a str, name: &str) -> &'a str {
    const OS_PY: &[&str] = &[
        "makedirs",
        "removedirs",
        "renames",
        "walk",
        "fwalk",
        "fsencode",
        "fsdecode",
        "getenv",
        "getenvb",
        "popen",
        "fdopen",
        "get_exec_path",
    ];
    const GENERIC: &[&str] = &[
        "exists",
        "isfile",
        "isdir",
        "getsize",
        "getmtime",
        "getatime",
        "getctime",
        "commonprefix",
        "samefile",
        "sameopenfile",
        "samestat",
    ];
    match module {
        "os" if !OS_PY.contains(&name) => "posix",
        "posixpath" if GENERIC.contains(&name) => "genericpath",
        _ => module,
    }
}
