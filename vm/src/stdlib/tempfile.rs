//! The `tempfile` module (stage: standard library): `gettempdir`, `mkdtemp`, `mkstemp` and
//! `TemporaryDirectory`. Names are CPython's shape (`tmp` + 8 random characters from
//! `[a-z0-9_]`); directories are made with mode 0o700 and files with 0o600, both created
//! exclusively so that two programs never share one. A `TemporaryDirectory` left without
//! `cleanup()` is removed when the program ends, as CPython's finalizer does.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{Class, Instance, Module};
use crate::stdlib::os::{os_error, path_arg};
use crate::stdlib::{arg, func, make_module, native_class};
use crate::value::Value;
use crate::{err, PyResult};

/// Temporary directories made by `TemporaryDirectory` and not cleaned up yet.
static LIVE_DIRS: Mutex<Vec<String>> = Mutex::new(Vec::new());

pub fn module() -> Ref<Module> {
    make_module(
        "tempfile",
        vec![
            ("gettempdir", func("gettempdir", gettempdir)),
            ("mkdtemp", func("mkdtemp", mkdtemp)),
            ("mkstemp", func("mkstemp", mkstemp)),
            ("TemporaryDirectory", Value::Class(tempdir_class())),
            ("tempdir", Value::None),
            ("template", Value::str("tmp")),
        ],
    )
}

fn tempdir_class() -> Ref<Class> {
    static CLASS: std::sync::OnceLock<Ref<Class>> = std::sync::OnceLock::new();
    CLASS
        .get_or_init(|| {
            native_class(
                "TemporaryDirectory",
                "tempfile",
                &[
                    ("__init__", td_init),
                    ("cleanup", td_cleanup),
                    ("__enter__", td_enter),
                    ("__exit__", td_exit),
                    ("__repr__", td_repr),
                ],
            )
        })
        .clone()
}

/// The directory temporary names go in: `$TMPDIR` (or `$TEMP`, `$TMP`) if it is a directory,
/// else `/tmp`.
fn temp_root() -> String {
    for var in ["TMPDIR", "TEMP", "TMP"] {
        if let Ok(d) = std::env::var(var) {
            if !d.is_empty() && std::path::Path::new(&d).is_dir() {
                return d;
            }
        }
    }
    "/tmp".to_string()
}

fn gettempdir(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    if !args.pos.is_empty() || !args.kw.is_empty() {
        return Err(err!(TypeError, "gettempdir() takes 0 positional arguments"));
    }
    Ok(Value::string(temp_root()))
}

/// Eight random characters from CPython's alphabet for temporary names.
pub fn random_name() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_";
    let mut buf = [0u8; 8];
    crate::stdlib::os::fill_random(&mut buf);
    buf.iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// The (suffix, prefix, dir) arguments shared by `mkdtemp`, `mkstemp` and `TemporaryDirectory`,
/// starting at positional index `first`.
fn name_args(args: &Args<'_>, first: usize, fname: &str) -> PyResult<(String, String, String)> {
    let text = |v: Option<&Value>, default: &str| -> PyResult<String> {
        match v {
            None | Some(Value::None) => Ok(default.to_string()),
            Some(v) => Ok(path_arg(Some(v), fname)?.to_string()),
        }
    };
    let suffix = text(arg(args, first, "suffix"), "")?;
    let prefix = text(arg(args, first + 1, "prefix"), "tmp")?;
    let dir = match arg(args, first + 2, "dir") {
        None | Some(Value::None) => temp_root(),
        v => path_arg(v, fname)?.to_string(),
    };
    Ok((suffix, prefix, dir))
}

/// An absolute form of `path` (relative to the working directory).
fn absolute(path: &str) -> String {
    if path.starts_with('/') {
        return path.to_string();
    }
    match std::env::current_dir() {
        Ok(cwd) => format!("{}/{}", cwd.display(), path),
        Err(_) => path.to_string(),
    }
}

/// Make a new directory with a fresh random name; its absolute path.
fn make_temp_dir(interp: &mut Interp, suffix: &str, prefix: &str, dir: &str) -> PyResult<String> {
    use std::os::unix::fs::DirBuilderExt;
    for _ in 0..100 {
        let path = absolute(&format!("{dir}/{prefix}{}{suffix}", random_name()));
        let made = interp.allow_threads(|| std::fs::DirBuilder::new().mode(0o700).create(&path));
        match made {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(os_error(&e, Some(&path))),
        }
    }
    Err(err!(
        FileExistsError,
        "No usable temporary directory name found"
    ))
}

/// `tempfile.mkdtemp(suffix=None, prefix=None, dir=None)`.
fn mkdtemp(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (suffix, prefix, dir) = name_args(&args, 0, "mkdtemp")?;
    Ok(Value::string(make_temp_dir(interp, &suffix, &prefix, &dir)?))
}

/// `tempfile.mkstemp(suffix=None, prefix=None, dir=None, text=False)`: `(fd, path)` of a new
/// file, open for reading and writing (close it with `os.close`).
fn mkstemp(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    use std::os::unix::fs::OpenOptionsExt;
    let (suffix, prefix, dir) = name_args(&args, 0, "mkstemp")?;
    for _ in 0..100 {
        let path = absolute(&format!("{dir}/{prefix}{}{suffix}", random_name()));
        let made = interp.allow_threads(|| {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
        });
        match made {
            Ok(f) => {
                let fd = crate::stdlib::os::hand_out_fd(f);
                return Ok(Value::tuple(vec![
                    Value::Int(fd),
                    Value::string(path),
                ]));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(os_error(&e, Some(&path))),
        }
    }
    Err(err!(FileExistsError, "No usable temporary file name found"))
}

fn receiver<'a>(args: &Args<'a>, meth: &str) -> PyResult<&'a Ref<Instance>> {
    match args.pos.first() {
        Some(Value::Instance(i)) => Ok(i),
        _ => Err(err!(
            TypeError,
            "descriptor '{meth}' requires a 'TemporaryDirectory' object"
        )),
    }
}

fn name_of(inst: &Instance) -> PyResult<String> {
    match inst.dict.lock().get("name") {
        Some(Value::Str(s)) => Ok(s.as_str().to_string()),
        _ => Err(err!(
            AttributeError,
            "'TemporaryDirectory' object has no attribute 'name'"
        )),
    }
}

/// `TemporaryDirectory(suffix=None, prefix=None, dir=None, ignore_cleanup_errors=False)`.
fn td_init(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let inst = receiver(&args, "__init__")?;
    let (suffix, prefix, dir) = name_args(&args, 1, "TemporaryDirectory")?;
    let ignore = match arg(&args, 4, "ignore_cleanup_errors") {
        Some(v) => interp.truthy(v)?,
        None => false,
    };
    let path = make_temp_dir(interp, &suffix, &prefix, &dir)?;
    LIVE_DIRS.lock().push(path.clone());
    let mut d = inst.dict.lock();
    d.insert(Arc::from("name"), Value::string(path));
    d.insert(Arc::from("_ignore_cleanup_errors"), Value::Bool(ignore));
    Ok(Value::None)
}

/// `cleanup()`: remove the directory and everything in it (once; later calls do nothing).
fn td_cleanup(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let inst = receiver(&args, "cleanup")?;
    let name = name_of(inst)?;
    let ignore = matches!(
        inst.dict.lock().get("_ignore_cleanup_errors"),
        Some(Value::Bool(true))
    );
    let was_live = {
        let mut live = LIVE_DIRS.lock();
        let before = live.len();
        live.retain(|d| d != &name);
        live.len() != before
    };
    if !was_live {
        return Ok(Value::None);
    }
    match interp.allow_threads(|| std::fs::remove_dir_all(&name)) {
        Ok(()) => Ok(Value::None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound || ignore => Ok(Value::None),
        Err(e) => Err(os_error(&e, Some(&name))),
    }
}

fn td_enter(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let inst = receiver(&args, "__enter__")?;
    Ok(Value::string(name_of(inst)?))
}

fn td_exit(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let recv = args.pos.first().cloned().unwrap_or(Value::None);
    td_cleanup(interp, Args::new(std::slice::from_ref(&recv)))?;
    Ok(Value::None)
}

fn td_repr(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let inst = receiver(&args, "__repr__")?;
    let name = name_of(inst)?;
    Ok(Value::string(format!(
        "<TemporaryDirectory {}>",
        crate::num::parse::str_repr(&name)
    )))
}

/// Remove the temporary directories still alive (at exit, after the atexit callbacks).
pub fn remove_leftovers() {
    let dirs = std::mem::take(&mut *LIVE_DIRS.lock());
    for d in dirs {
        let _ = std::fs::remove_dir_all(&d);
    }
}
