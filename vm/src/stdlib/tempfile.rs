//! The `tempfile` module (stage: standard library): `gettempdir`, `mkdtemp`, `mkstemp`,
//! `TemporaryDirectory`, `NamedTemporaryFile` and `TemporaryFile`. Names are CPython's shape
//! (`tmp` + 8 random characters from `[a-z0-9_]`); directories are made with mode 0o700 and
//! files with 0o600, both created exclusively so that two programs never share one.
//!
//! `NamedTemporaryFile` (in `_tempfileinfo.mini`) wraps the file `_named_file` opens in a
//! `_TemporaryFileWrapper`, as CPython's; with `delete=True` the file is removed when it is closed. A
//! temporary directory or file left without cleanup is removed when the program ends, as
//! CPython's finalizers do, but not earlier when the object is dropped.

use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::builtins::args::{Sig, Style};
use crate::heap::{Global, Ref};
use crate::interp::{Args, Interp};
use crate::object::{Class, Instance, Module};
use crate::stdlib::file::{open_fd, TextArgs};
use crate::stdlib::os::{abspath, hand_out_fd, os_error, path_arg};
use crate::stdlib::{func, make_module, native_class};
use crate::value::Value;
use crate::{err, PyResult};

/// Temporary directories and files made here and not cleaned up yet (removed at exit).
static LIVE: Mutex<Vec<String>> = Mutex::new(Vec::new());

pub fn module() -> Ref<Module> {
    make_module(
        "tempfile",
        vec![
            ("gettempdir", func("gettempdir", gettempdir)),
            ("mkdtemp", func("mkdtemp", mkdtemp)),
            ("mkstemp", func("mkstemp", mkstemp)),
            // The file under `NamedTemporaryFile`'s wrapper (`_tempfileinfo.mini`).
            (
                "_named_file",
                func("NamedTemporaryFile", named_temporary_file),
            ),
            ("TemporaryFile", func("TemporaryFile", temporary_file)),
            ("TemporaryDirectory", Value::Class(tempdir_class())),
            ("tempdir", Value::None),
            ("template", Value::str("tmp")),
            ("gettempprefix", func("gettempprefix", gettempprefix)),
            ("gettempprefixb", func("gettempprefixb", gettempprefixb)),
            ("gettempdirb", func("gettempdirb", gettempdirb)),
            ("mktemp", func("mktemp", mktemp)),
            // os.TMP_MAX on Linux, which CPython's tempfile takes.
            ("TMP_MAX", Value::Int(238_328)),
        ],
    )
}

static TEMPDIR_CLASS: Global<Ref<Class>> = Global::new();

fn tempdir_class() -> Ref<Class> {
    TEMPDIR_CLASS
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

/// The directory temporary names go in: `tempfile.tempdir` if set (by the program, or by the
/// first call, which chooses it once as CPython does): `$TMPDIR` (or `$TEMP`, `$TMP`; as
/// `os.environ` has them) if it is a directory, else `/tmp`.
fn temp_root(interp: &mut Interp) -> PyResult<String> {
    let module = interp.vm.find_module("tempfile");
    if let Some(Value::Str(s)) = module.as_ref().and_then(|m| m.dict.get_str("tempdir")) {
        return Ok(s.as_str().to_string());
    }
    let mut chosen = "/tmp".to_string();
    for var in ["TMPDIR", "TEMP", "TMP"] {
        if let Some(d) = crate::stdlib::os::environ_var(interp, var)? {
            if !d.is_empty() && std::path::Path::new(&d).is_dir() {
                chosen = abspath(&d).unwrap_or(d);
                break;
            }
        }
    }
    if let Some(m) = module {
        m.dict.set_str("tempdir", Value::str(&chosen));
    }
    Ok(chosen)
}

fn gettempdir(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::py("gettempdir", &[], 0).check(&args)?;
    Ok(Value::string(temp_root(interp)?))
}

/// `tempfile.gettempprefix()`: the prefix of temporary names.
fn gettempprefix(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::py("gettempprefix", &[], 0).check(&args)?;
    Ok(Value::str("tmp"))
}

fn gettempprefixb(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::py("gettempprefixb", &[], 0).check(&args)?;
    Ok(Value::bytes(b"tmp".to_vec()))
}

/// `tempfile.gettempdirb()`: `gettempdir()` as bytes.
fn gettempdirb(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::py("gettempdirb", &[], 0).check(&args)?;
    Ok(Value::bytes(temp_root(interp)?.into_bytes()))
}

/// `tempfile.mktemp(suffix='', prefix='tmp', dir=None)`: a path no file has yet (nothing is
/// created, so another process may take it first, which is why CPython deprecates it).
fn mktemp(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [suffix, prefix, dir] =
        Sig::py("mktemp", &["suffix", "prefix", "dir"], 0).bind::<3>(&args)?;
    let names = Names::parse(interp, "mktemp", suffix, prefix, dir)?;
    for _ in 0..100 {
        let path = names.candidate()?;
        if std::fs::symlink_metadata(&path).is_err() {
            return Ok(Value::string(path));
        }
    }
    Err(err!(FileExistsError, "No usable temporary filename found"))
}

/// Eight random characters from CPython's alphabet for temporary names.
fn random_name() -> PyResult<String> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_";
    let mut buf = [0u8; 8];
    crate::stdlib::os::fill_random(&mut buf).map_err(|e| os_error(&e, None))?;
    Ok(buf
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}

/// The `suffix`, `prefix` and `dir` arguments shared by the functions here.
struct Names {
    suffix: String,
    prefix: String,
    dir: String,
}

impl Names {
    /// A fresh path to try: `dir/prefix` + eight random characters + `suffix`.
    fn candidate(&self) -> PyResult<String> {
        Ok(format!(
            "{}/{}{}{}",
            self.dir,
            self.prefix,
            random_name()?,
            self.suffix
        ))
    }

    fn parse(
        interp: &mut Interp,
        fname: &str,
        suffix: Option<&Value>,
        prefix: Option<&Value>,
        dir: Option<&Value>,
    ) -> PyResult<Names> {
        let text = |v: Option<&Value>, default: &str| -> PyResult<String> {
            match v {
                None | Some(Value::None) => Ok(default.to_string()),
                v => Ok(path_arg(v, fname)?.to_string()),
            }
        };
        Ok(Names {
            suffix: text(suffix, "")?,
            prefix: text(prefix, "tmp")?,
            dir: match dir {
                None | Some(Value::None) => temp_root(interp)?,
                v => abspath(path_arg(v, fname)?)?,
            },
        })
    }

    /// Try fresh names until `make` creates one (it fails with `AlreadyExists` if taken).
    fn create<T: Send>(
        &self,
        interp: &mut Interp,
        make: impl Fn(&str) -> std::io::Result<T> + Send + Sync + Copy,
    ) -> PyResult<(String, T)> {
        for _ in 0..100 {
            let path = self.candidate()?;
            match interp.allow_threads(|| make(&path)) {
                Ok(v) => return Ok((path, v)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(os_error(&e, Some(&path))),
            }
        }
        Err(err!(FileExistsError, "No usable temporary file name found"))
    }

    fn make_dir(&self, interp: &mut Interp) -> PyResult<String> {
        let made = self.create(interp, |p| std::fs::DirBuilder::new().mode(0o700).create(p))?;
        Ok(made.0)
    }

    fn make_file(&self, interp: &mut Interp) -> PyResult<(String, std::fs::File)> {
        self.create(interp, |p| {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(p)
        })
    }
}

/// `tempfile.mkdtemp(suffix=None, prefix=None, dir=None)`.
fn mkdtemp(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [suffix, prefix, dir] =
        Sig::py("mkdtemp", &["suffix", "prefix", "dir"], 0).bind::<3>(&args)?;
    let names = Names::parse(interp, "mkdtemp", suffix, prefix, dir)?;
    Ok(Value::string(names.make_dir(interp)?))
}

/// `tempfile.mkstemp(suffix=None, prefix=None, dir=None, text=False)`: `(fd, path)` of a new
/// file, open for reading and writing (close it with `os.close`, or `open(fd)` it).
fn mkstemp(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [suffix, prefix, dir, _text] =
        Sig::py("mkstemp", &["suffix", "prefix", "dir", "text"], 0).bind::<4>(&args)?;
    let names = Names::parse(interp, "mkstemp", suffix, prefix, dir)?;
    let (path, file) = names.make_file(interp)?;
    Ok(Value::tuple(vec![
        Value::Int(hand_out_fd(OwnedFd::from(file))),
        Value::string(path),
    ]))
}

const FILE_PARAMS: [&str; 9] = [
    "mode",
    "buffering",
    "encoding",
    "newline",
    "suffix",
    "prefix",
    "dir",
    "delete",
    "errors",
];

/// The parsed arguments of `NamedTemporaryFile` / `TemporaryFile`.
struct FileArgs<'a> {
    mode: String,
    text: TextArgs<'a>,
    names: Names,
    delete: bool,
}

fn file_args<'a>(
    interp: &mut Interp,
    fname: &str,
    args: &Args<'a>,
    with_delete: bool,
) -> PyResult<FileArgs<'a>> {
    let params: &[&str] = if with_delete {
        &FILE_PARAMS[..8]
    } else {
        &FILE_PARAMS[..7]
    };
    let [mode, _buffering, encoding, newline, suffix, prefix, dir, delete, errors] =
        bind_file_params(fname, params, args)?;
    let mode = match mode {
        None => "w+b".to_string(),
        Some(Value::Str(s)) => s.as_str().to_string(),
        Some(other) => {
            return Err(err!(
                TypeError,
                "open() argument 'mode' must be str, not {}",
                crate::object::type_name(other)
            ))
        }
    };
    let delete = match delete {
        Some(v) => interp.truthy(v)?,
        None => true,
    };
    Ok(FileArgs {
        mode,
        text: TextArgs {
            encoding,
            errors,
            newline,
        },
        names: Names::parse(interp, fname, suffix, prefix, dir)?,
        delete,
    })
}

/// Bind `params` (then the keyword-only `errors`) into the nine slots of [`FILE_PARAMS`].
fn bind_file_params<'a>(
    fname: &str,
    params: &[&str],
    args: &Args<'a>,
) -> PyResult<[Option<&'a Value>; 9]> {
    let sig = Sig::py(fname, params, 0).kwonly(&["errors"]);
    if params.len() == 8 {
        return sig.bind::<9>(args);
    }
    let got = sig.bind::<8>(args)?;
    let mut out = [None; 9];
    out[..7].copy_from_slice(&got[..7]);
    out[8] = got[7];
    Ok(out)
}

/// `NamedTemporaryFile(mode='w+b', buffering=-1, encoding=None, newline=None, suffix=None,
/// prefix=None, dir=None, delete=True, *, errors=None)`: an open file with a visible name.
fn named_temporary_file(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let fa = file_args(interp, "NamedTemporaryFile", &args, true)?;
    let (path, file) = fa.names.make_file(interp)?;
    let f = open_fd(
        OwnedFd::from(file),
        Value::string(path.clone()),
        &fa.mode,
        &fa.text,
    );
    let f = match f {
        Ok(f) => f,
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
    };
    if fa.delete {
        crate::stdlib::file::delete_on_close(&f, &path);
        LIVE.lock().push(path);
    }
    Ok(f)
}

/// `TemporaryFile(mode='w+b', ...)`: an open file with no name on disk (its `name` is its
/// descriptor, as on Linux).
fn temporary_file(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    use std::os::fd::AsRawFd;
    let fa = file_args(interp, "TemporaryFile", &args, false)?;
    let (path, file) = fa.names.make_file(interp)?;
    let _ = std::fs::remove_file(&path);
    let fd = file.as_raw_fd() as i64;
    open_fd(OwnedFd::from(file), Value::Int(fd), &fa.mode, &fa.text)
}

// ---------------------------------------------------------------------------------------------
// TemporaryDirectory

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
    let [suffix, prefix, dir, ignore] = Sig::py(
        "TemporaryDirectory.__init__",
        &["suffix", "prefix", "dir", "ignore_cleanup_errors"],
        0,
    )
    .method()
    .bind::<4>(&args)?;
    let names = Names::parse(interp, "TemporaryDirectory", suffix, prefix, dir)?;
    let ignore = match ignore {
        Some(v) => interp.truthy(v)?,
        None => false,
    };
    let path = names.make_dir(interp)?;
    LIVE.lock().push(path.clone());
    let mut d = inst.dict.lock();
    d.insert(Arc::from("name"), Value::string(path));
    d.insert(Arc::from("_ignore_cleanup_errors"), Value::Bool(ignore));
    Ok(Value::None)
}

/// `cleanup()`: remove the directory and everything in it (once; later calls do nothing).
fn td_cleanup(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let inst = receiver(&args, "cleanup")?;
    Sig::py("TemporaryDirectory.cleanup", &[], 0)
        .method()
        .check(&args)?;
    let name = name_of(inst)?;
    let ignore = matches!(
        inst.dict.lock().get("_ignore_cleanup_errors"),
        Some(Value::Bool(true))
    );
    if !forget(&name) && !std::path::Path::new(&name).exists() {
        return Ok(Value::None);
    }
    match interp.allow_threads(|| std::fs::remove_dir_all(&name)) {
        Ok(()) => Ok(Value::None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound || ignore => Ok(Value::None),
        Err(e) => Err(os_error(&e, Some(&name))),
    }
}

/// Take `path` off the list of leftovers; whether it was there.
pub fn forget(path: &str) -> bool {
    let mut live = LIVE.lock();
    let before = live.len();
    live.retain(|d| d != path);
    live.len() != before
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
    Sig::pos("__repr__", Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    Ok(Value::string(format!(
        "<TemporaryDirectory {}>",
        crate::num::parse::str_repr(&name_of(inst)?)
    )))
}

/// Remove the temporary directories and files still alive (at exit, after the atexit callbacks).
pub fn remove_leftovers() {
    let paths = std::mem::take(&mut *LIVE.lock());
    for p in paths {
        let path = std::path::Path::new(&p);
        let _ = if path.is_dir() {
            std::fs::remove_dir_all(path)
        } else {
            std::fs::remove_file(path)
        };
    }
}
