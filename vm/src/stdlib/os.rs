//! The `os` module (`cpu_count`, `getpid`, `sep`, `environ`, `remove`, `os.path`), the `sys`
//! switch-interval functions, and the mapping from `std::io::Error` to Python's `OSError` family
//! shared by `open()`, `socket` and `select`.

use std::sync::Arc;
use std::time::Duration;

use crate::error::PyErr;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{type_name, Class, ExcKind, Instance, Module};
use crate::stdlib::{arg, func, make_module};
use crate::value::Value;
use crate::{err, PyResult};

pub fn os_module() -> Ref<Module> {
    let path = make_module(
        "posixpath",
        vec![
            ("exists", func("exists", path_exists)),
            ("isfile", func("isfile", path_isfile)),
            ("isdir", func("isdir", path_isdir)),
            ("join", func("join", path_join)),
            ("basename", func("basename", path_basename)),
            ("dirname", func("dirname", path_dirname)),
            ("sep", Value::str("/")),
        ],
    );
    let environ = crate::object::Dict::new();
    for (k, v) in std::env::vars() {
        environ.set_str(&k, Value::string(v));
    }
    make_module(
        "os",
        vec![
            ("cpu_count", func("cpu_count", cpu_count)),
            ("getpid", func("getpid", getpid)),
            ("getcwd", func("getcwd", getcwd)),
            ("getenv", func("getenv", getenv)),
            ("remove", func("remove", remove)),
            ("unlink", func("unlink", remove)),
            ("listdir", func("listdir", listdir)),
            ("sep", Value::str("/")),
            ("linesep", Value::str("\n")),
            ("name", Value::str("posix")),
            ("environ", Value::Dict(Ref::new(environ))),
            ("path", Value::Module(path)),
        ],
    )
}

// ---------------------------------------------------------------------------------------------
// OSError and friends

/// An exception class CPython has but `ExcKind` lacks (`BlockingIOError`, `UnicodeDecodeError`,
/// `NotADirectoryError`, `io.UnsupportedOperation`): a subclass of a built-in one, made once.
/// Programs can catch it through its base (`except OSError`), not by its own name.
pub fn extra_exc_class(name: &'static str) -> Ref<Class> {
    static CLASSES: crate::heap::Global<parking_lot::Mutex<Vec<Ref<Class>>>> =
        crate::heap::Global::new();
    let all = CLASSES.get_or_init(Default::default);
    let mut all = all.lock();
    if let Some(c) = all.iter().find(|c| &*c.name == name) {
        return c.clone();
    }
    let (base, module) = match name {
        "UnicodeDecodeError" => (ExcKind::UnicodeError, "builtins"),
        "UnsupportedOperation" => (ExcKind::OSError, "io"),
        "gaierror" => (ExcKind::OSError, "socket"),
        _ => (ExcKind::OSError, "builtins"),
    };
    let cls = Ref::new(Class::new_exception(
        name,
        module,
        base,
        module == "builtins",
    ));
    all.push(cls.clone());
    cls
}

/// An instance of `cls` with one message argument.
pub fn exc_of_class(cls: Ref<Class>, msg: String) -> PyErr {
    let inst = Instance::new(cls);
    if let Some(d) = inst.exc() {
        d.lock().args = vec![Value::string(msg)];
    }
    PyErr {
        exc: Ref::new(inst),
    }
}

/// The text of an OS error without std's ` (os error N)` suffix: `Connection refused`.
fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// `std::io::Error` as the `OSError` subclass CPython raises, with CPython's message
/// (`[Errno 2] No such file or directory: 'x'`) and the `errno`, `strerror` and `filename`
/// attributes. (`args` is the one message string, where CPython has `(errno, strerror)`.)
pub fn os_error(e: &std::io::Error, filename: Option<&str>) -> PyErr {
    let Some(code) = e.raw_os_error() else {
        if e.kind() == std::io::ErrorKind::TimedOut {
            return err!(TimeoutError, "timed out");
        }
        return err!(OSError, "{e}");
    };
    let text = strerror(e);
    let mut msg = format!("[Errno {code}] {text}");
    if let Some(f) = filename {
        msg.push_str(&format!(": {}", py_str_repr(f)));
    }
    let kind = match code {
        libc::ENOENT => Some(ExcKind::FileNotFoundError),
        libc::EEXIST => Some(ExcKind::FileExistsError),
        libc::EACCES | libc::EPERM => Some(ExcKind::PermissionError),
        libc::EISDIR => Some(ExcKind::IsADirectoryError),
        libc::ECONNREFUSED => Some(ExcKind::ConnectionRefusedError),
        libc::ECONNRESET => Some(ExcKind::ConnectionResetError),
        libc::EPIPE | libc::ESHUTDOWN => Some(ExcKind::BrokenPipeError),
        libc::ECONNABORTED => Some(ExcKind::ConnectionError),
        libc::ETIMEDOUT => Some(ExcKind::TimeoutError),
        _ => None,
    };
    let e = match kind {
        Some(k) => PyErr::new(k, msg),
        None => {
            let extra = match code {
                libc::EAGAIN | libc::EINPROGRESS | libc::EALREADY => Some("BlockingIOError"),
                libc::ENOTDIR => Some("NotADirectoryError"),
                _ => None,
            };
            match extra {
                Some(name) => exc_of_class(extra_exc_class(name), msg),
                None => PyErr::new(ExcKind::OSError, msg),
            }
        }
    };
    {
        let mut d = e.exc.dict.lock();
        d.insert(Arc::from("errno"), Value::Int(code as i64));
        d.insert(Arc::from("strerror"), Value::string(text));
        d.insert(
            Arc::from("filename"),
            filename.map_or(Value::None, Value::str),
        );
    }
    e
}

/// `repr()` of a str, as CPython writes it (for file names in messages).
pub use crate::num::parse::str_repr as py_str_repr;

/// A path argument: a str (minivm has no bytes or `os.PathLike`).
pub fn path_arg<'a>(v: Option<&'a Value>, func: &str) -> PyResult<&'a str> {
    match v {
        Some(Value::Str(s)) => Ok(s.as_str()),
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
    no_args(&args, "cpu_count")?;
    Ok(match std::thread::available_parallelism() {
        Ok(n) => Value::Int(n.get() as i64),
        Err(_) => Value::None,
    })
}

fn getpid(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args(&args, "getpid")?;
    Ok(Value::Int(std::process::id() as i64))
}

fn getcwd(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args(&args, "getcwd")?;
    match std::env::current_dir() {
        Ok(p) => Ok(Value::string(p.display().to_string())),
        Err(e) => Err(os_error(&e, None)),
    }
}

fn getenv(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let key = match arg(&args, 0, "key") {
        Some(Value::Str(s)) => s.as_str().to_string(),
        Some(other) => return Err(err!(TypeError, "str expected, not {}", type_name(other))),
        None => {
            return Err(err!(
                TypeError,
                "getenv() missing 1 required positional argument: 'key'"
            ))
        }
    };
    let default = arg(&args, 1, "default").cloned().unwrap_or(Value::None);
    Ok(std::env::var(&key).map_or(default, Value::string))
}

/// `os.remove(path)` / `os.unlink(path)`, with the GIL released.
fn remove(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let path = path_arg(arg(&args, 0, "path"), "remove")?.to_string();
    match interp.allow_threads(|| std::fs::remove_file(&path)) {
        Ok(()) => Ok(Value::None),
        Err(e) => Err(os_error(&e, Some(&path))),
    }
}

/// `os.listdir(path='.')`, in the order the OS gives (as CPython: sort it to print it).
fn listdir(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let path = match arg(&args, 0, "path") {
        None | Some(Value::None) => ".".to_string(),
        v => path_arg(v, "listdir")?.to_string(),
    };
    let names = interp.allow_threads(|| -> std::io::Result<Vec<String>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&path)? {
            out.push(entry?.file_name().to_string_lossy().into_owned());
        }
        Ok(out)
    });
    match names {
        Ok(n) => Ok(Value::list(n.into_iter().map(Value::string).collect())),
        Err(e) => Err(os_error(&e, Some(&path))),
    }
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
    let i = p.rfind('/').map_or(0, |i| i + 1);
    let head = &p[..i];
    let trimmed = head.trim_end_matches('/');
    // posixpath keeps a head made only of slashes as it is.
    Ok(Value::str(if trimmed.is_empty() { head } else { trimmed }))
}

// ---------------------------------------------------------------------------------------------
// sys functions (registered in `sys` by the lead)

/// `sys.setswitchinterval(interval)`: seconds between forced GIL switch requests.
pub fn sys_setswitchinterval(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let secs = match arg(&args, 0, "interval") {
        Some(Value::Float(f)) => *f,
        Some(Value::Int(i)) => *i as f64,
        Some(Value::Bool(b)) => *b as i64 as f64,
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
    let d = Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX);
    interp.vm.gil.set_interval(d);
    Ok(Value::None)
}

/// `sys.getswitchinterval()`
pub fn sys_getswitchinterval(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args(&args, "getswitchinterval")?;
    Ok(Value::Float(interp.vm.gil.interval().as_secs_f64()))
}

/// `sys._is_gil_enabled()` (CPython 3.13+; minivm has it in every mode).
pub fn sys_is_gil_enabled(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args(&args, "_is_gil_enabled")?;
    Ok(Value::Bool(interp.vm.gil.enabled()))
}
