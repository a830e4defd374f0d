//! Stage 4, `import`: built-in Rust modules, `.mini`/`.py` files in the directories of
//! `sys.path` (the running script's first), and the embedded library of `.mini` modules
//! (`vm/lib/`, see `stdlib/minilib.rs`); packages, submodules, relative imports, `import *`.
//!
//! The search order follows CPython's: modules built into the binary first (`sys`, `math`,
//! `threading`... are Rust here), then `sys.path` (so a `random.mini` beside the program
//! shadows the library's, as a `random.py` would in CPython), then the library.
//! A package is a directory with an `__init__.mini` (or `__init__.py`); its module gets a
//! `__path__` (a one-element list naming that directory, or `<minivm-lib>/name` inside the
//! library) where its submodules are looked for, as CPython does.

use std::sync::Arc;

use crate::heap::Ref;
use crate::interp::run::Exit;
use crate::interp::Interp;
use crate::object::{Dict, ExcKind, Module};
use crate::stdlib::minilib;
use crate::value::Value;
use crate::{err, PyErr, PyResult};

/// Built-in (Rust) modules with parts written in the mini language: (module, library module
/// under `vm/lib/`, the names copied from it). The part is loaded the first time one of its
/// names is missed (or the module's namespace is listed: `dir`, `__dict__`, `import *`), not
/// at import: `import time` runs none of `_timeinfo` until `time.strftime` is used, so a
/// program (or a `multiprocessing` worker) that only needs `time.time` starts faster. The
/// library module may import the built-in one, which is registered by then.
const MINI_PARTS: &[(&str, &str, &[&str])] = &[
    (
        "time",
        "_timeinfo",
        &[
            "struct_time",
            "gmtime",
            "localtime",
            "mktime",
            "strftime",
            "asctime",
            "ctime",
            "tzset",
            "strptime",
            "timezone",
            "altzone",
            "daylight",
            "tzname",
        ],
    ),
    (
        "threading",
        "_threadinfo",
        &[
            "Timer",
            "local",
            "ThreadError",
            "TIMEOUT_MAX",
            "currentThread",
            "activeCount",
            "stack_size",
            "settrace",
            "setprofile",
            "gettrace",
            "getprofile",
        ],
    ),
    (
        "queue",
        "_queueinfo",
        &["Queue", "LifoQueue", "PriorityQueue"],
    ),
    ("os", "_osinfo", crate::stdlib::os_stat::MINI_NAMES),
    ("posixpath", "_osinfo", crate::stdlib::os_stat::PATH_NAMES),
    ("socket", "_socketinfo", crate::stdlib::socket::MINI_NAMES),
    (
        "tempfile",
        "_tempfileinfo",
        &[
            "SpooledTemporaryFile",
            "NamedTemporaryFile",
            "_TemporaryFileWrapper",
        ],
    ),
];

/// The modules being imported now, each by the thread importing it, and the module each waiting
/// thread waits for (`Interp::import_module`): CPython's per-module import locks. Without them,
/// with `--gil off`, a second thread importing a module another thread is still running found
/// it half run in `sys.modules` (`cannot import name 'dumps' from 'json'`), or ran it again.
#[derive(Default)]
pub struct Imports {
    running: Vec<(Arc<str>, std::thread::ThreadId)>,
    waiting: Vec<(std::thread::ThreadId, Arc<str>)>,
}

static IMPORTS: parking_lot::Mutex<Imports> = parking_lot::Mutex::new(Imports {
    running: Vec::new(),
    waiting: Vec::new(),
});
/// Signalled whenever a module's import ends (well or not).
static IMPORT_DONE: parking_lot::Condvar = parking_lot::Condvar::new();
/// How many imports are running: the common case (none) takes no lock.
static IMPORTS_RUNNING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Imports {
    /// The thread importing `name` now, if any.
    fn owner(&self, name: &str) -> Option<std::thread::ThreadId> {
        self.running
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, t)| *t)
    }

    /// Whether `me` must wait before importing `name`: another thread is importing it, and
    /// waiting for that thread closes no circle.
    fn must_wait(&self, name: &str, me: std::thread::ThreadId) -> bool {
        match self.owner(name) {
            Some(owner) => owner != me && !self.would_deadlock(me, owner),
            None => false,
        }
    }

    /// Whether `me` waiting for `owner` would close a circle of threads waiting for each
    /// other's modules (A imports X, which imports Y, while B imports Y, which imports X):
    /// then `me` takes the partial module instead, as CPython does.
    fn would_deadlock(&self, me: std::thread::ThreadId, owner: std::thread::ThreadId) -> bool {
        let mut t = owner;
        for _ in 0..=self.waiting.len() {
            if t == me {
                return true;
            }
            let Some((_, module)) = self.waiting.iter().find(|(w, _)| *w == t) else {
                return false;
            };
            let Some(next) = self.owner(module) else {
                return false;
            };
            t = next;
        }
        false
    }
}

/// The mini-language parts being loaded now, and by which thread (`load_mini_parts`).
static MINI_LOADING: parking_lot::Mutex<Vec<(&str, std::thread::ThreadId)>> =
    parking_lot::Mutex::new(Vec::new());
/// Signalled when a part has been loaded (or failed to).
static MINI_LOADED: parking_lot::Condvar = parking_lot::Condvar::new();

/// The import bookkeeping's locks, held by `os.fork` across the copy (no thread is then
/// halfway through changing it), with the park keys of those locks and of their condition
/// variables, where threads waiting for another thread's import are queued: a forked child
/// removes them (`heap/fork.rs`, "Ghost waiters"). The child keeps the lists as they were: a
/// module a thread gone in the fork was importing stays claimed by it, so importing it in the
/// child waits for good, as in CPython (whose module lock that thread held stays held).
pub struct ForkHold {
    _imports: parking_lot::MutexGuard<'static, Imports>,
    _loading: parking_lot::MutexGuard<'static, Vec<(&'static str, std::thread::ThreadId)>>,
}

impl ForkHold {
    /// Take the locks (the caller holds the GIL or has stopped the world: none of them is held
    /// for long by a thread that needs either).
    pub fn take() -> ForkHold {
        ForkHold {
            _imports: IMPORTS.lock(),
            _loading: MINI_LOADING.lock(),
        }
    }

    /// The park keys of the import locks and condition variables.
    pub fn park_keys(&self) -> [usize; 4] {
        use crate::heap::fork::{condvar_key, mutex_key};
        [
            mutex_key(&IMPORTS),
            condvar_key(&IMPORT_DONE),
            mutex_key(&MINI_LOADING),
            condvar_key(&MINI_LOADED),
        ]
    }
}

/// Source text found for a module, where it came from, and (for a package) where its
/// submodules live.
struct Found {
    /// The name tracebacks show: a real path, or `<minivm-lib>/a/b.mini`.
    filename: String,
    /// The text, or the `SyntaxError` the file's bytes are (not UTF-8, a NUL byte).
    src: PyResult<String>,
    /// `Some(dir)` for a package (`__init__.mini`): its `__path__` entry.
    package_dir: Option<String>,
    /// For a module of the embedded library, its path under `vm/lib/`: its code may have been
    /// compiled at build time (`minilib::frozen`).
    lib_path: Option<String>,
    /// A namespace package (PEP 420): the directories named as it, without `__init__`, that
    /// the search met (its `__path__`); then there is no source.
    namespace: Option<Vec<String>>,
}

/// Look for module `leaf` in one directory entry of a search path: `leaf.mini`, or a package
/// `leaf/__init__.mini`. `dir` is either a directory on disk or a `<minivm-lib>` path.
fn find_in(dir: &str, leaf: &str) -> Option<Found> {
    if let Some(rest) = dir.strip_prefix(minilib::PREFIX) {
        // Inside the embedded library: `rest` is "" or "/concurrent".
        let rel = rest.trim_start_matches('/');
        let join = |p: &str| {
            if rel.is_empty() {
                p.to_string()
            } else {
                format!("{rel}/{p}")
            }
        };
        let module_file = join(&format!("{leaf}.mini"));
        if let Some(src) = minilib::source(&module_file) {
            return Some(Found {
                filename: format!("{}/{module_file}", minilib::PREFIX),
                src: Ok(src.to_string()),
                package_dir: None,
                lib_path: Some(module_file),
                namespace: None,
            });
        }
        let init = join(&format!("{leaf}/__init__.mini"));
        let src = minilib::source(&init)?;
        return Some(Found {
            filename: format!("{}/{init}", minilib::PREFIX),
            src: Ok(src.to_string()),
            package_dir: Some(format!("{}/{}", minilib::PREFIX, join(leaf))),
            lib_path: Some(init),
            namespace: None,
        });
    }
    // On disk, as CPython's path finder: a package directory first (`leaf/__init__.mini` or
    // `leaf/__init__.py`), then a module file (`leaf.mini`, then `leaf.py`). Files are named
    // as CPython's FileFinder names them: an empty entry or `.` is the working directory, any
    // other relative entry is joined to it as written (`sys.path.insert(0, '')` then `import m`
    // gives `/cwd/m.py`, as `python3 -m doctest m.py` shows in its reports).
    let cwd = || std::env::current_dir().ok();
    let dir = match dir {
        "" | "." => cwd(),
        d if std::path::Path::new(d).is_relative() => cwd().map(|c| c.join(d)),
        _ => None,
    }
    .unwrap_or_else(|| std::path::PathBuf::from(if dir.is_empty() { "." } else { dir }));
    let shown = |p: &std::path::Path| p.display().to_string();
    let pkg = dir.join(leaf);
    for init in ["__init__.mini", "__init__.py"] {
        let init = pkg.join(init);
        if let Ok(bytes) = std::fs::read(&init) {
            let filename = shown(&init);
            return Some(Found {
                src: decode(&bytes, &filename),
                filename,
                package_dir: Some(shown(&pkg)),
                lib_path: None,
                namespace: None,
            });
        }
    }
    for ext in ["mini", "py"] {
        let file = dir.join(format!("{leaf}.{ext}"));
        if let Ok(bytes) = std::fs::read(&file) {
            let filename = shown(&file);
            return Some(Found {
                src: decode(&bytes, &filename),
                filename,
                package_dir: None,
                lib_path: None,
                namespace: None,
            });
        }
    }
    None
}

/// Look for module `leaf` in the directories `dirs` in order, then (with `lib`) in the
/// embedded library, as CPython's path finder: the first module or regular package wins; if
/// there is none, the directories named `leaf` met on the way (on disk, without `__init__`)
/// make a namespace package (PEP 420).
fn find_on(dirs: &[String], leaf: &str, lib: bool) -> Option<Found> {
    let mut portions = Vec::new();
    for dir in dirs {
        if let Some(found) = find_in(dir, leaf) {
            return Some(found);
        }
        if dir.starts_with(minilib::PREFIX) {
            continue;
        }
        let base = std::path::Path::new(if dir.is_empty() { "." } else { dir });
        let candidate = base.join(leaf);
        if candidate.is_dir() {
            // Named as CPython names it: absolute (the working directory for an empty entry).
            let shown = std::path::absolute(&candidate).unwrap_or(candidate);
            portions.push(shown.display().to_string());
        }
    }
    if lib {
        if let Some(found) = find_in(minilib::PREFIX, leaf) {
            return Some(found);
        }
        // CPython would find its standard module of that name (later on sys.path) before
        // making a namespace package: minivm lacks it, which `module_not_found` says.
        if crate::stdlib::cpython_names::is_cpython_stdlib(leaf) {
            return None;
        }
    }
    (!portions.is_empty()).then(|| Found {
        filename: String::new(),
        src: Ok(String::new()),
        package_dir: None,
        lib_path: None,
        namespace: Some(portions),
    })
}

/// Whether the top-level module `name` is one of minivm's (built in, or in the library).
fn in_library(name: &str) -> bool {
    !name.contains('.')
        && (name == "builtins"
            || crate::stdlib::is_builtin_module(name)
            || find_in(minilib::PREFIX, name).is_some())
}

/// Whether top-level module `name` is found before the directories of `sys.path`: CPython's
/// built-in and frozen modules, however minivm implements them (in Rust or in the library), and
/// minivm's private Rust cores (`_random`, `_json`). The others (`math`, `queue`, `threading`,
/// `json`...) are shadowed by a module of that name on `sys.path`, as a `queue.py` beside the
/// script is imported instead of CPython's.
fn found_before_path(name: &str) -> bool {
    crate::stdlib::cpython_names::is_built_in_or_frozen(name)
        || name.starts_with('_') && crate::stdlib::is_builtin_module(name)
}

/// Where `Interp::locate_module` finds a module.
pub(crate) enum Located {
    /// Built in (origin `built-in`), or source at an origin, with a package's directory.
    Source(String, Option<String>),
    /// A namespace package: its directories.
    Namespace(Vec<String>),
}

/// The text of a module at `origin` as `find_in` names it: a file on disk or a module of the
/// embedded library (`<minivm-lib>/json/__init__.mini`), decoded as `import` decodes it.
pub(crate) fn module_source(origin: &str) -> PyResult<String> {
    if let Some(rel) = origin.strip_prefix(minilib::PREFIX) {
        if let Some(src) = minilib::source(rel.trim_start_matches('/')) {
            return Ok(src.to_string());
        }
    }
    match std::fs::read(origin) {
        Ok(bytes) => decode(&bytes, origin),
        Err(e) => Err(crate::stdlib::os::os_error(&e, Some(origin))),
    }
}

/// A module file's bytes as text (`minivm_lexer::source`), or the `SyntaxError` they are.
fn decode(bytes: &[u8], filename: &str) -> PyResult<String> {
    use minivm_compiler::SourceError;
    minivm_compiler::decode_source(bytes, filename, minivm_compiler::Origin::Import).map_err(|e| {
        match e {
            SourceError::Plain(msg) => {
                let err = PyErr::new(crate::object::ExcKind::SyntaxError, msg.clone());
                let _ = crate::interp::syntaxerr::init_syntax_error(&err.exc, &[Value::str(&msg)]);
                err
            }
            // At line 0 of the file, as CPython raises a codec's error there.
            SourceError::Codec(msg) => {
                let details = vec![
                    Value::str(filename),
                    Value::Int(0),
                    Value::Int(-1),
                    Value::None,
                ];
                let args = vec![Value::str(&msg), Value::tuple(details)];
                let err = PyErr::with_args(crate::object::ExcKind::SyntaxError, args.clone());
                let _ = crate::interp::syntaxerr::init_syntax_error(&err.exc, &args);
                err
            }
            SourceError::Located { error, text } => syntax_error(&error, filename, &text),
        }
    })
}

/// A module's syntax error as the exception `import` raises (`interp/syntaxerr.rs`).
pub(crate) fn syntax_error(e: &minivm_compiler::SyntaxError, filename: &str, src: &str) -> PyErr {
    crate::interp::syntaxerr::from_compile(e, filename, src)
}

/// The directories a package module's `__path__` names (empty if it is not a package).
fn package_path(m: &Module) -> Vec<String> {
    let Some(Value::List(l)) = m.dict.get_str("__path__") else {
        return Vec::new();
    };
    let items = l.items.lock().clone();
    items
        .iter()
        .filter_map(|v| match v {
            Value::Str(s) => Some(s.as_str().to_string()),
            _ => None,
        })
        .collect()
}

thread_local! {
    /// Set while `importlib._bootstrap` (which runs the `sys.meta_path` finders) is imported.
    static NO_HOOKS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Set while `importlib._bootstrap` makes a module's spec (`Interp::source_spec`).
    static MAKING_SPEC: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// CPython's `No module named 'x'`, plus a note when `x` is a standard module of CPython's that
/// minivm does not provide, so a learner does not suspect a broken install.
fn module_not_found(name: &str) -> PyErr {
    let e = if crate::stdlib::cpython_names::is_cpython_module(name) {
        err!(
            ModuleNotFoundError,
            "No module named '{name}' (minivm does not provide this standard module)"
        )
    } else {
        err!(ModuleNotFoundError, "No module named '{name}'")
    };
    with_module_name(e, name)
}

/// An `ImportError` carrying CPython's `name` attribute (the module); its `path` is unset
/// (reads as None, and `__reduce__` leaves it out of the state, as CPython's).
fn with_module_name(e: PyErr, name: &str) -> PyErr {
    drop(
        e.exc
            .dict
            .lock()
            .insert_slot(std::sync::Arc::from("name"), Value::str(name)),
    );
    e
}

/// What `sys.modules[name]` says about an import: the module (or whatever a program put there),
/// or, for `None`, CPython's `ModuleNotFoundError: import of x halted; None in sys.modules` (the
/// way programs block a module, e.g. `sys.modules['_pickle'] = None`).
fn registered(vm: &crate::interp::Vm, name: &str) -> Option<PyResult<Value>> {
    match vm.sys_modules.get_str(name)? {
        Value::None => Some(Err(with_module_name(
            err!(
                ModuleNotFoundError,
                "import of {name} halted; None in sys.modules"
            ),
            name,
        ))),
        m => Some(Ok(m)),
    }
}

/// The module `python3 -m NAME` runs, found by [`Interp::find_main_module`].
pub struct MainSource {
    /// The module's own name (`pkg.__main__` for `-m pkg`), its spec's.
    pub name: String,
    /// Its file (`sys.argv[0]`, `__file__`, the traceback's name): a full path, or
    /// `<minivm-lib>/a/b.mini` for a library module.
    pub filename: String,
    pub src: String,
    /// Its `__package__`: the package it is in, `''` at the top level.
    pub package: String,
    /// Its path under `vm/lib/`, for a library module (compiled at build time).
    lib_path: Option<String>,
}

impl MainSource {
    /// Its `sys.argv[0]`: its file, except that a library module's says `.py` as CPython's
    /// does, so a command line that names itself from it (optparse's and argparse's `prog`)
    /// prints `server.py`, not `server.mini`.
    pub fn argv0(&self) -> String {
        match self.filename.strip_suffix(".mini") {
            Some(stem) if self.lib_path.is_some() => format!("{stem}.py"),
            _ => self.filename.clone(),
        }
    }

    /// Its code: the library's build-time compilation of this source, or compiled now.
    pub fn compile(&self) -> PyResult<Arc<minivm_compiler::bytecode::CodeObject>> {
        if let Some(code) = self
            .lib_path
            .as_deref()
            .and_then(|p| minilib::frozen(p, &self.src))
        {
            return Ok(code);
        }
        minivm_compiler::compile_source(&self.src, &self.filename, minivm_compiler::Mode::File)
            .map_err(|e| syntax_error(&e, &self.filename, &self.src))
    }
}

impl Interp {
    /// What `python3 -m NAME` runs, as CPython's `runpy._get_module_details` finds it: the
    /// source of module `name` (its parent packages imported first, their `__init__` run), or
    /// for a package that of `name.__main__`, found where `import` would find it but not run.
    /// `Ok(Err(message))` when there is none: CPython prints `python3: message` and exits
    /// with status 1.
    pub fn find_main_module(&mut self, name: &str) -> PyResult<Result<MainSource, String>> {
        if name.starts_with('.') {
            return Ok(Err("Relative module names not supported".to_string()));
        }
        let found = match name.rsplit_once('.') {
            Some((parent, leaf)) => match self.import_module(parent) {
                Ok(Value::Module(pm)) => {
                    // The package imported the module itself: it will run twice (CPython warns).
                    if let Some(Ok(existing)) = registered(&self.vm, name) {
                        let package = matches!(&existing, Value::Module(m)
                            if m.dict.get_str("__path__").is_some());
                        if !package {
                            self.runpy_found_warning(name, parent)?;
                        }
                    }
                    let path = package_path(&pm);
                    if path.is_empty() {
                        return Ok(Err(format!(
                            "Error while finding module specification for '{name}' \
                             (ModuleNotFoundError: __path__ attribute not found on '{parent}' \
                             while trying to find '{name}')"
                        )));
                    }
                    path.iter().find_map(|d| find_in(d, leaf))
                }
                Ok(_) => None,
                // A missing package (the parent or one above it) is reported, as CPython's
                // `find_spec` error; any other error importing it goes on.
                Err(e) if e.is(crate::object::ExcKind::ModuleNotFoundError) => {
                    let text = self.str_of(&Value::Instance(e.exc.clone()))?;
                    return Ok(Err(format!(
                        "Error while finding module specification for '{name}' \
                         (ModuleNotFoundError: {text})"
                    )));
                }
                Err(e) => return Err(e),
            },
            None if crate::stdlib::is_builtin_module(name) || name == "builtins" => {
                // A module built into the binary has no code to run.
                return Ok(Err(format!("No code object available for {name}")));
            }
            None => self
                .search_path()
                .iter()
                .find_map(|d| find_in(d, name))
                .or_else(|| find_in(minilib::PREFIX, name)),
        };
        let Some(found) = found else {
            return Ok(Err(format!("No module named {name}")));
        };
        if found.package_dir.is_some() {
            if name == "__main__" || name.ends_with(".__main__") {
                return Ok(Err("Cannot use package as __main__ module".to_string()));
            }
            // The package is imported (its `__init__` runs) as its `__main__` is looked for.
            return Ok(match self.find_main_module(&format!("{name}.__main__"))? {
                Ok(m) => Ok(m),
                Err(msg) if registered(&self.vm, name).is_some() => Err(format!(
                    "{msg}; '{name}' is a package and cannot be directly executed"
                )),
                Err(msg) => Err(msg),
            });
        }
        // A package's `__main__` (`-m unittest`) is there to be run.
        if found.lib_path.is_some()
            && !name.ends_with(".__main__")
            && found
                .src
                .as_ref()
                .is_ok_and(|src| !src.lines().any(|l| l.starts_with("if __name__ ==")))
        {
            // CPython's runs its command-line interface (`python3 -m timeit`); minivm's has
            // none, and running its definitions alone would print nothing.
            return Ok(Err(format!(
                "minivm's library module {name} has no command-line interface to run"
            )));
        }
        Ok(Ok(MainSource {
            name: name.to_string(),
            filename: found.filename,
            src: found.src?,
            package: name.rsplit_once('.').map_or("", |(p, _)| p).to_string(),
            lib_path: found.lib_path,
        }))
    }

    /// Issue the compiler's warnings for `filename` (`SyntaxWarning: "is" with a literal`,
    /// `DeprecationWarning: invalid escape sequence '\d'`) through `warnings.warn_explicit`,
    /// as CPython's tokenizer, parser and compiler do: shown with the source line, filtered
    /// and turned into errors as `-W` and the filters say. A warning turned into an error
    /// becomes a `SyntaxError` pointing at the code (`src`), as in CPython; one of the parser's
    /// (an escape) stops the parse, but CPython's tokenizer then reads on to the end of the
    /// source, so its own warnings after it are still issued, and one of them that becomes an
    /// error replaces it. `located` makes that error when the source is not a file's (`exec`
    /// of a string).
    pub(crate) fn issue_compile_warnings(
        &mut self,
        warnings: Vec<minivm_compiler::CompileWarning>,
        filename: &str,
        src: &str,
        located: Option<&dyn Fn(&minivm_compiler::SyntaxError) -> PyErr>,
    ) -> PyResult<()> {
        use minivm_compiler::WarningStage;
        let mut parse_failed: Option<PyErr> = None;
        for w in warnings {
            if parse_failed.is_some() && w.stage != WarningStage::Tokenizer {
                continue;
            }
            let kind = match w.category {
                "DeprecationWarning" => ExcKind::DeprecationWarning,
                _ => ExcKind::SyntaxWarning,
            };
            match self.warn_explicit(w.category, &w.message, filename, w.line) {
                Err(e) if e.is(kind) => {
                    let err = match located {
                        Some(located) => located(&w.error),
                        None => syntax_error(&w.error, filename, src),
                    };
                    // CPython's compiler reads the line from the file on disk: none for a
                    // string given to exec/eval/compile under a name that is not a file.
                    if w.stage == WarningStage::Compiler
                        && std::fs::metadata(filename).map_or(true, |m| !m.is_file())
                    {
                        crate::interp::syntaxerr::set_text(&err, Value::None);
                    }
                    if w.stage == WarningStage::Parser {
                        parse_failed = Some(err);
                    } else {
                        return Err(err);
                    }
                }
                r => r?,
            }
        }
        parse_failed.map_or(Ok(()), Err)
    }

    /// Compile `src` (read from `filename`) and issue its compile-time warnings: also those
    /// found before a `SyntaxError`, which CPython shows before the error (or raises instead of
    /// it, when a filter turns one into an error).
    pub(crate) fn compile_warned(
        &mut self,
        src: &str,
        filename: &str,
        mode: minivm_compiler::Mode,
    ) -> PyResult<Arc<minivm_compiler::bytecode::CodeObject>> {
        let code = minivm_compiler::compile_source(src, filename, mode);
        let warnings = minivm_compiler::take_warnings();
        self.issue_compile_warnings(warnings, filename, src, None)?;
        code.map_err(|e| syntax_error(&e, filename, src))
    }

    /// CPython's `runpy` warning when `-m pkg.mod` finds `pkg.mod` imported by its package
    /// before it runs as `__main__` (from `<frozen runpy>`, line 128).
    fn runpy_found_warning(&mut self, name: &str, parent: &str) -> PyResult<()> {
        let msg = format!(
            "'{name}' found in sys.modules after import of package '{parent}', but prior to \
             execution of '{name}'; this may result in unpredictable behaviour"
        );
        self.warn_explicit("RuntimeWarning", &msg, "<frozen runpy>", 128)
    }

    /// `warnings.warn_explicit(message, category, filename, lineno)`, `category` a built-in
    /// warning class named.
    fn warn_explicit(
        &mut self,
        category: &str,
        message: &str,
        filename: &str,
        line: u32,
    ) -> PyResult<()> {
        let warnings = self.import_module("warnings")?;
        let warn = self.getattr(&warnings, "warn_explicit")?;
        let category = self.vm.builtins.get_str(category).unwrap_or(Value::None);
        let args = [
            Value::str(message),
            category,
            Value::str(filename),
            Value::Int(i64::from(line)),
        ];
        self.call(&warn, &args).map(|_| ())
    }

    /// `import name` (possibly dotted): the module object for the full name, importing its
    /// parent packages first. `import a.b` binds `a`: the compiler imports `a.b`, then `a`.
    pub fn import_module(&mut self, name: &str) -> PyResult<Value> {
        use std::sync::atomic::Ordering;
        // `sys.modules` first: whatever a program put there is what `import` gives (once the
        // thread importing it, if another, is done).
        // A module is in `sys.modules` from the start of its import, so what the look-up
        // finds is whole only if no other thread began importing it before the look-up: the
        // count is read again after it (a thread claims a module, then registers it; it
        // leaves the count when the module has run).
        if IMPORTS_RUNNING.load(Ordering::Acquire) == 0 {
            if let Some(m) = registered(&self.vm, name) {
                if IMPORTS_RUNNING.load(Ordering::Acquire) == 0 {
                    return m;
                }
            }
        }
        let me = std::thread::current().id();
        loop {
            let waited = self.wait_for_import(name, me);
            if let Some(m) = registered(&self.vm, name) {
                // Another thread may have claimed it since `wait_for_import` looked: wait for
                // that thread rather than take its half-run module (`--gil off`: 'module
                // 'fractions' has no attribute 'Fraction'' in about 1 run in 6 of four threads
                // importing textwrap then fractions).
                if !IMPORTS.lock().must_wait(name, me) {
                    return m;
                }
                continue;
            }
            if !waited {
                let mut imports = IMPORTS.lock();
                if imports.owner(name).is_none() {
                    imports.running.push((Arc::from(name), me));
                    IMPORTS_RUNNING.fetch_add(1, Ordering::AcqRel);
                    break;
                }
                if !imports.must_wait(name, me) {
                    // This thread is importing it already (a package's `__init__` importing the
                    // submodule being imported), or waiting would deadlock: import it here.
                    drop(imports);
                    return self.import_module_now(name);
                }
            }
        }
        let r = self.import_module_now(name);
        IMPORTS
            .lock()
            .running
            .retain(|(n, t)| !(&**n == name && *t == me));
        IMPORTS_RUNNING.fetch_sub(1, Ordering::AcqRel);
        IMPORT_DONE.notify_all();
        r
    }

    /// Wait (with the GIL released) while another thread imports `name`, unless this thread is
    /// importing it itself (a circular import gets the partial module) or waiting would be a
    /// deadlock. Whether it waited.
    fn wait_for_import(&mut self, name: &str, me: std::thread::ThreadId) -> bool {
        let mut imports = IMPORTS.lock();
        if !imports.must_wait(name, me) {
            return false;
        }
        let Some(owner) = imports.owner(name) else {
            return false;
        };
        imports.waiting.push((me, Arc::from(name)));
        drop(imports);
        self.allow_threads(|| {
            let mut imports = IMPORTS.lock();
            while imports.owner(name).is_some_and(|o| o == owner) {
                IMPORT_DONE.wait(&mut imports);
            }
            imports.waiting.retain(|(t, _)| *t != me);
        });
        true
    }

    /// `import_module` once this thread has claimed `name`: the finders a program put in
    /// `sys.meta_path` before minivm's own (the default entries) are asked first, those after
    /// it when minivm's import finds no such module.
    fn import_module_now(&mut self, name: &str) -> PyResult<Value> {
        let (before, after) = self.meta_path_finders();
        // A module of the library is found before the entries a program adds to `sys.path`
        // (CPython's standard library directories are entries of it): no hook is asked.
        let hooks = self.path_hooks_active() && !in_library(name);
        if before.is_empty() && after.is_empty() && !hooks {
            return self.import_module_native(name);
        }
        // A finder is told the parent package's `__path__` (None at the top level).
        let (parent, path) = match name.rsplit_once('.') {
            Some((parent, _)) => {
                let pm = self.import_module(parent)?;
                if let Some(m) = registered(&self.vm, name) {
                    return m;
                }
                let path = match &pm {
                    Value::Module(m) => m.dict.get_str("__path__").unwrap_or(Value::None),
                    _ => Value::None,
                };
                (Some(pm), path)
            }
            None => (None, Value::None),
        };
        // The entries of the path a `sys.path_hooks` hook handles are asked before minivm's
        // own import searches the path: the module, or portions of a namespace package.
        let mut portions = Vec::new();
        let found = match self.meta_path_find(name, &path, before)? {
            Some(m) => m,
            None => match self.path_hooks_find(name, &path, hooks, &mut portions)? {
                Some(m) => m,
                None => match self.import_module_native(name) {
                    Err(e) if e.is(ExcKind::ModuleNotFoundError) && !portions.is_empty() => {
                        let args = [Value::str(name), Value::list(portions)];
                        self.call_bootstrap("_load_namespace", &args)?
                    }
                    Err(e) if e.is(ExcKind::ModuleNotFoundError) && !after.is_empty() => {
                        match self.meta_path_find(name, &path, after)? {
                            Some(m) => m,
                            None => return Err(e),
                        }
                    }
                    r => return r,
                },
            },
        };
        // `import a.b` makes `b` an attribute of `a`, as CPython does.
        if let (Some(Value::Module(pm)), Some((_, leaf))) = (parent, name.rsplit_once('.')) {
            pm.dict.set_str(leaf, found.clone());
        }
        Ok(found)
    }

    /// The entries of `sys.meta_path` before minivm's own import (the default finders) and
    /// after it; a list without any default entry is all "before".
    fn meta_path_finders(&self) -> (Vec<Value>, Vec<Value>) {
        if NO_HOOKS.with(std::cell::Cell::get) {
            return (Vec::new(), Vec::new());
        }
        let Some(Value::Module(sys)) = self.vm.sys_modules.get_str("sys") else {
            return (Vec::new(), Vec::new());
        };
        let Some(Value::List(l)) = sys.dict.get_str("meta_path") else {
            return (Vec::new(), Vec::new());
        };
        let items = l.items.lock().clone();
        let is_default = crate::stdlib::sys::is_default_finder;
        if items.iter().all(is_default) {
            return (Vec::new(), Vec::new());
        }
        match items.iter().position(is_default) {
            Some(i) => (
                items[..i].to_vec(),
                items[i..]
                    .iter()
                    .filter(|v| !is_default(v))
                    .cloned()
                    .collect(),
            ),
            None => (items, Vec::new()),
        }
    }

    /// Ask `finders` (through `importlib._bootstrap`) for module `name`: the loaded module, or
    /// None when no finder has a spec for it.
    fn meta_path_find(
        &mut self,
        name: &str,
        path: &Value,
        finders: Vec<Value>,
    ) -> PyResult<Option<Value>> {
        if finders.is_empty() {
            return Ok(None);
        }
        let args = [Value::str(name), path.clone(), Value::list(finders)];
        match self.call_bootstrap("_find_and_load_with", &args)? {
            Value::None => Ok(None),
            m => Ok(Some(m)),
        }
    }

    /// Call the function `func` of `importlib._bootstrap`, importing it first if need be.
    fn call_bootstrap(&mut self, func: &str, args: &[Value]) -> PyResult<Value> {
        // The helper's own import (and `importlib`'s) does not consult the hooks.
        let boot = match registered(&self.vm, "importlib._bootstrap") {
            Some(m) => m?,
            None => {
                NO_HOOKS.with(|c| c.set(true));
                let r = self.import_module("importlib._bootstrap");
                NO_HOOKS.with(|c| c.set(false));
                r?
            }
        };
        let f = self.getattr(&boot, func)?;
        self.call(&f, args)
    }

    /// Whether `sys.path_hooks` or `sys.path_importer_cache` holds anything (minivm's own
    /// import stands for CPython's directory finders, which are not in either).
    fn path_hooks_active(&self) -> bool {
        if NO_HOOKS.with(std::cell::Cell::get) {
            return false;
        }
        let Some(Value::Module(sys)) = self.vm.sys_modules.get_str("sys") else {
            return false;
        };
        let hooks = matches!(sys.dict.get_str("path_hooks"), Some(Value::List(l)) if !l.is_empty());
        hooks
            || matches!(sys.dict.get_str("path_importer_cache"), Some(Value::Dict(d)) if !d.is_empty())
    }

    /// Ask the finders `sys.path_hooks` gives for the entries of `path` (the parent package's
    /// `__path__`, `sys.path` at the top level) for module `name`, as CPython's `PathFinder`
    /// does (through `importlib._bootstrap`): the loaded module, or None, with the portions of
    /// a namespace package the finders offered added to `portions`.
    fn path_hooks_find(
        &mut self,
        name: &str,
        path: &Value,
        active: bool,
        portions: &mut Vec<Value>,
    ) -> PyResult<Option<Value>> {
        if !active {
            return Ok(None);
        }
        let found = self.call_bootstrap("_path_hooks_find", &[Value::str(name), path.clone()])?;
        let Value::Tuple(t) = &found else {
            return Ok(None);
        };
        if let Some(Value::List(l)) = t.items.get(1) {
            portions.extend(l.items.lock().iter().cloned());
        }
        Ok(t.items.first().filter(|m| !m.is_none()).cloned())
    }

    /// minivm's own import of `name` (built-in modules, `sys.path`, the library).
    fn import_module_native(&mut self, name: &str) -> PyResult<Value> {
        let found = match name.rsplit_once('.') {
            Some((parent, leaf)) => {
                let Value::Module(pm) = self.import_module(parent)? else {
                    return Err(err!(
                        SystemError,
                        "parent module '{parent}' is not a module"
                    ));
                };
                // Importing the parent may have imported the child (its `__init__` did).
                if let Some(m) = registered(&self.vm, name) {
                    return m;
                }
                // A Rust module may offer a submodule as an attribute (`os.path`).
                if let Some(Value::Module(sub)) = pm.dict.get_str(leaf) {
                    self.vm.register_module(name, &sub);
                    return Ok(Value::Module(sub));
                }
                let path = package_path(&pm);
                if path.is_empty() {
                    return Err(with_module_name(
                        err!(
                            ModuleNotFoundError,
                            "No module named '{name}'; '{parent}' is not a package"
                        ),
                        name,
                    ));
                }
                let found = find_on(&path, leaf, false);
                let Some(found) = found else {
                    return Err(module_not_found(name));
                };
                let m = self.run_module_source(name, found)?;
                // `import a.b` makes `b` an attribute of `a`, as CPython does.
                pm.dict.set_str(leaf, m.clone());
                return Ok(m);
            }
            None => {
                let first = found_before_path(name);
                // A Rust module CPython keeps as a file (`math`, `queue`) comes after `sys.path`.
                if !first && crate::stdlib::is_builtin_module(name) {
                    if let Some(found) = self.search_path().iter().find_map(|d| find_in(d, name)) {
                        return self.run_module_source(name, found);
                    }
                }
                let native = match name {
                    "builtins" => Some(self.builtins_module()),
                    _ => crate::stdlib::import_module(name),
                };
                if let Some(m) = native {
                    if name != "builtins" && m.dict.get_str("__doc__").is_none() {
                        let doc = crate::stdlib::module_docs::module_doc(name);
                        m.dict
                            .set_str("__doc__", doc.map_or(Value::None, Value::str));
                    }
                    if name == "sys" {
                        m.dict.set_str("argv", crate::builtins::sys_argv(self));
                        let path = self.initial_path().iter().map(|p| Value::str(p)).collect();
                        m.dict.set_str("path", Value::list(path));
                        m.dict
                            .set_str("modules", Value::Dict((*self.vm.sys_modules).clone()));
                    }
                    self.vm.register_module(name, &m);
                    if name == "os" {
                        crate::stdlib::os_stat::add_natives(self, &m);
                    }
                    return Ok(Value::Module(m));
                }
                // A library module CPython has built in (`itertools`, `abc`) comes first.
                if first {
                    if let Some(found) = find_in(minilib::PREFIX, name) {
                        return self.run_module_source(name, found);
                    }
                }
                // `sys.path` in order, then the embedded library (CPython's stdlib directories
                // are entries of `sys.path`; minivm's library is always searched last).
                find_on(&self.search_path(), name, true)
            }
        };
        let Some(found) = found else {
            return Err(module_not_found(name));
        };
        self.run_module_source(name, found)
    }

    /// Where `import` would find module `leaf`: in `dirs` (a package's `__path__`), or as a
    /// top-level module (built into the binary: origin `built-in`; then `sys.path`, then the
    /// library). The origin and, for a package, its directory. Nothing is run.
    pub(crate) fn locate_module(&self, leaf: &str, dirs: Option<Vec<String>>) -> Option<Located> {
        let found = match dirs {
            Some(dirs) => find_on(&dirs, leaf, false),
            None => {
                let path = self.search_path();
                let native = leaf == "builtins" || crate::stdlib::is_builtin_module(leaf);
                let found = if found_before_path(leaf) {
                    if native {
                        return Some(Located::Source("built-in".to_string(), None));
                    }
                    find_in(minilib::PREFIX, leaf)
                } else if native {
                    match path.iter().find_map(|d| find_in(d, leaf)) {
                        None => return Some(Located::Source("built-in".to_string(), None)),
                        found => found,
                    }
                } else {
                    None
                };
                found.or_else(|| find_on(&path, leaf, true))
            }
        };
        found.map(|f| match f.namespace {
            Some(portions) => Located::Namespace(portions),
            None => Located::Source(f.filename, f.package_dir),
        })
    }

    /// CPython's `sys.path[0]`: the main script's directory made absolute (symbolic links
    /// resolved), or `''` (the working directory) for `-c` and the interactive prompt.
    fn path0(&self) -> String {
        let argv0 = self.vm.config.argv.first().map_or("", String::as_str);
        if argv0.is_empty() || argv0 == "-c" || argv0 == "-" {
            return String::new();
        }
        let dir = &self.vm.config.script_dir;
        let dir = if dir.as_os_str().is_empty() {
            std::path::Path::new(".")
        } else {
            dir.as_path()
        };
        match dir.canonicalize() {
            Ok(abs) => abs.display().to_string(),
            Err(_) => dir.display().to_string(),
        }
    }

    /// The directories a top-level `import` searches: the string entries of `sys.path` (a
    /// program may change the list or replace it), or before `sys` is imported the one entry
    /// it will start with.
    fn search_path(&self) -> Vec<String> {
        if let Some(Value::Module(sys)) = self.vm.sys_modules.get_str("sys") {
            if let Some(Value::List(l)) = sys.dict.get_str("path") {
                let items = l.items.lock().clone();
                return items
                    .iter()
                    .filter_map(|v| match v {
                        Value::Str(s) => Some(s.as_str().to_string()),
                        _ => None,
                    })
                    .collect();
            }
        }
        self.initial_path()
    }

    /// `sys.path` as a program starts: [`Self::path0`] (unless `-P`), then `PYTHONPATH`'s
    /// directories.
    fn initial_path(&self) -> Vec<String> {
        let mut path = Vec::new();
        if !self.vm.config.safe_path {
            path.push(self.path0());
        }
        path.extend(self.vm.config.python_path.iter().cloned());
        path
    }

    /// `IMPORT_NAME`: a relative name (`.m`, `..`) is first made absolute against the package of
    /// the importing module (whose globals are `globals`), as CPython's `importlib` resolves it.
    pub(crate) fn import_name(&mut self, name: &str, globals: &Ref<Dict>) -> PyResult<Value> {
        if crate::interp::finalize::shutting_down() {
            // CPython's message once finalization has emptied `sys.modules` and `sys.meta_path`.
            return Err(err!(
                ImportError,
                "sys.meta_path is None, Python is likely shutting down"
            ));
        }
        if !name.starts_with('.') {
            return self.import_module(name);
        }
        let level = name.len() - name.trim_start_matches('.').len();
        let rest = &name[level..];
        // The package: `__package__` if set, else the module's own name for a package (it has
        // a `__path__`), else its parent's name.
        let package = match globals.get_str("__package__") {
            Some(Value::Str(p)) => p.as_str().to_string(),
            Some(Value::None) | None => {
                let own = match globals.get_str("__name__") {
                    Some(Value::Str(n)) => n.as_str().to_string(),
                    _ => String::new(),
                };
                if globals.get_str("__path__").is_some() {
                    own
                } else {
                    own.rsplit_once('.').map_or("", |(p, _)| p).to_string()
                }
            }
            Some(other) => {
                return Err(err!(
                    TypeError,
                    "package must be a string, not {}",
                    crate::object::type_name(&other)
                ))
            }
        };
        if package.is_empty() {
            return Err(err!(
                ImportError,
                "attempted relative import with no known parent package"
            ));
        }
        let parts: Vec<&str> = package.rsplitn(level, '.').collect();
        if parts.len() < level {
            return Err(err!(
                ImportError,
                "attempted relative import beyond top-level package"
            ));
        }
        let base = parts.last().copied().unwrap_or_default();
        let full = if rest.is_empty() {
            base.to_string()
        } else {
            format!("{base}.{rest}")
        };
        self.import_module(&full)
    }

    /// `from module import *`: bind in `ns` the names of the module's `__all__` (each must be a
    /// str and an attribute), or else every name of its namespace not starting with `_`.
    pub(crate) fn import_star(&mut self, module: &Value, ns: &Ref<Dict>) -> PyResult<()> {
        if let Value::Module(m) = module {
            self.load_mini_parts(m)?;
        }
        let all = match self.getattr(module, "__all__") {
            Ok(v) => Some(v),
            Err(e) if e.is(crate::object::ExcKind::AttributeError) => None,
            Err(e) => return Err(e),
        };
        let mod_name = match module {
            Value::Module(m) => m.name.to_string(),
            _ => "module".to_string(),
        };
        let Some(all) = all else {
            let dict = match module {
                Value::Module(m) => m.dict.clone(),
                _ => match self.getattr(module, "__dict__")? {
                    Value::Dict(d) => d,
                    _ => {
                        return Err(err!(
                            ImportError,
                            "from-import-* object has no __dict__ and no __all__"
                        ))
                    }
                },
            };
            for (k, v) in dict.items() {
                if let Value::Str(s) = &k {
                    if !s.as_str().starts_with('_') {
                        ns.set_str(s.as_str(), v);
                    }
                }
            }
            return Ok(());
        };
        for item in self.collect_iter(&all)? {
            let Value::Str(s) = &item else {
                return Err(err!(
                    TypeError,
                    "Item in {mod_name}.__all__ must be str, not {}",
                    crate::object::type_name(&item)
                ));
            };
            let v = self.getattr(module, s.as_str())?;
            ns.set_str(s.as_str(), v);
        }
        Ok(())
    }

    /// The `ModuleSpec` of the source module `name` about to run (`importlib._bootstrap`
    /// makes it), or None while that module and what it imports are themselves being loaded
    /// (the first spec made gives them theirs).
    pub(crate) fn source_spec(
        &mut self,
        name: &str,
        filename: &str,
        package_dir: Option<&str>,
    ) -> PyResult<Value> {
        // A built-in module's mini-language part (`_threadinfo`, which CPython has no module
        // for) gets its spec only if the import system is loaded anyway (the first spec made
        // gives the modules before it theirs): loading `importlib` for it would cost a
        // program's first `Thread.start()` about 1.5 million instructions.
        let part = MINI_PARTS.iter().any(|(_, lib, _)| *lib == name);
        if MAKING_SPEC.with(std::cell::Cell::get) || name == "__main__" || part {
            return Ok(Value::None);
        }
        MAKING_SPEC.with(|c| c.set(true));
        let r = (|| {
            let boot = self.import_module("importlib._bootstrap")?;
            let make = self.getattr(&boot, "_spec_for")?;
            let dir = package_dir.map_or(Value::None, Value::str);
            self.call(&make, &[Value::str(name), Value::str(filename), dir])
        })();
        MAKING_SPEC.with(|c| c.set(false));
        r
    }

    /// `import builtins`: the namespace every module falls back to, as a module.
    pub(super) fn builtins_module(&self) -> Ref<Module> {
        Ref::new(Module {
            name: Arc::from("builtins"),
            dict: (*self.vm.builtins).clone(),
        })
    }

    /// Compile and run a module's source in a fresh namespace; the module is registered before
    /// its body runs (so circular imports see the partial module, as in CPython) and removed
    /// again if the body raises.
    fn run_module_source(&mut self, name: &str, found: Found) -> PyResult<Value> {
        let Found {
            filename,
            src,
            package_dir,
            lib_path,
            namespace,
        } = found;
        if let Some(portions) = namespace {
            return self.make_namespace_package(name, portions);
        }
        let src = src?;
        // A library module compiled at build time from this very source is loaded, not
        // compiled again (CPython's frozen modules); anything else is compiled here.
        let frozen = lib_path.and_then(|p| minilib::frozen(&p, &src));
        let code = match frozen {
            Some(code) => code,
            None => self.compile_warned(&src, &filename, minivm_compiler::Mode::File)?,
        };
        self.vm.add_source(&filename, &src);
        let dict = Ref::new(Dict::new());
        dict.set_str("__name__", Value::str(name));
        // Replaced by the module's docstring, if it has one, when its code runs.
        dict.set_str("__doc__", Value::None);
        // `__package__` (what relative imports resolve against): the package itself, or the
        // package the module is in ('' at the top level), as CPython sets it.
        let package = match &package_dir {
            Some(_) => name,
            None => name.rsplit_once('.').map_or("", |(p, _)| p),
        };
        dict.set_str("__package__", Value::str(package));
        // The rest of what CPython's import puts in a module, so `dir(module)` lists the same
        // names and `vars(module)` in the same order: the module's spec and loader
        // (`importlib.machinery.ModuleSpec`, `SourceFileLoader`, set below), a package's
        // path, the file, no bytecode cache, and the builtins' namespace.
        dict.set_str("__loader__", Value::None);
        dict.set_str("__spec__", Value::None);
        if let Some(dir) = &package_dir {
            dict.set_str("__path__", Value::list(vec![Value::str(dir)]));
        }
        dict.set_str("__file__", Value::str(&filename));
        dict.set_str("__cached__", Value::None);
        dict.set_str("__builtins__", Value::Dict((*self.vm.builtins).clone()));
        let module = Ref::new(Module {
            name: Arc::from(name),
            dict: dict.clone(),
        });
        self.vm.register_module(name, &module);
        // Made once the module is registered: making the first spec imports `importlib`,
        // which may be this very module.
        let spec = self
            .source_spec(name, &filename, package_dir.as_deref())
            .and_then(|spec| match &spec {
                Value::None => Ok((spec, Value::None)),
                s => Ok((spec.clone(), self.getattr(s, "loader")?)),
            });
        self.install_spec(name, &dict, spec)?;
        let func = crate::module_function(code, dict);
        let frame = self.new_frame(&func, &[], &[])?;
        let r = self.run_frame(frame);
        if let Err(e) = r {
            self.vm.unregister_module(name);
            return Err(e);
        }
        if let Ok(Exit::Yield(..)) = r {
            return Err(err!(SystemError, "module body yielded"));
        }
        // As CPython: what `sys.modules` holds now (a module may have replaced itself there).
        Ok(self
            .vm
            .sys_modules
            .get_str(name)
            .unwrap_or(Value::Module(module)))
    }

    /// Put a new module's spec and loader in its namespace; if making them failed, the module
    /// (registered already) is taken out of `sys.modules` again and the error goes on.
    fn install_spec(
        &self,
        name: &str,
        dict: &Ref<Dict>,
        spec: PyResult<(Value, Value)>,
    ) -> PyResult<()> {
        match spec {
            Ok((spec, loader)) => {
                dict.set_str("__loader__", loader);
                dict.set_str("__spec__", spec);
                Ok(())
            }
            Err(e) => {
                self.vm.unregister_module(name);
                Err(e)
            }
        }
    }

    /// A namespace package (PEP 420): a module with no code, `__file__` None, and its
    /// directories as `__path__` (also its spec's `submodule_search_locations`, from
    /// `importlib._bootstrap._namespace_spec`).
    fn make_namespace_package(&mut self, name: &str, portions: Vec<String>) -> PyResult<Value> {
        let dict = Ref::new(Dict::new());
        dict.set_str("__name__", Value::str(name));
        dict.set_str("__doc__", Value::None);
        dict.set_str("__package__", Value::str(name));
        dict.set_str("__loader__", Value::None);
        dict.set_str("__spec__", Value::None);
        dict.set_str("__file__", Value::None);
        let path = Value::list(portions.iter().map(|p| Value::str(p)).collect());
        dict.set_str("__path__", path.clone());
        let module = Ref::new(Module {
            name: Arc::from(name),
            dict: dict.clone(),
        });
        self.vm.register_module(name, &module);
        let spec = (|| {
            let boot = self.import_module("importlib._bootstrap")?;
            let make = self.getattr(&boot, "_namespace_spec")?;
            let spec = self.call(&make, &[Value::str(name), path])?;
            let loader = self.getattr(&spec, "loader")?;
            Ok((spec, loader))
        })();
        self.install_spec(name, &dict, spec)?;
        Ok(Value::Module(module))
    }

    /// Copy into built-in module `m` the names of its part written in the mini language (see
    /// [`MINI_PARTS`]) that it does not have yet: nothing for other modules, or once done. A
    /// name the program assigned meanwhile (`time.strftime = f`) is kept.
    pub(crate) fn load_mini_parts(&mut self, m: &Ref<Module>) -> PyResult<()> {
        let Some((_, lib, names)) = MINI_PARTS.iter().find(|(n, ..)| **n == *m.name) else {
            return Ok(());
        };
        // A module of that name from a file (a program's `queue.py` shadowing the Rust one).
        if m.dict.get_str("__file__").is_some() {
            return Ok(());
        }
        if names.iter().all(|n| m.dict.get_str(n).is_some()) {
            return Ok(());
        }
        // The module registered under the name must be this one (not a stand-in a program
        // put in `sys.modules`).
        let registered = self.vm.sys_modules.get_str(&m.name);
        if !matches!(&registered, Some(Value::Module(r)) if Ref::ptr_eq(r, m)) {
            return Ok(());
        }
        // One thread loads a part; another that misses one of its names meanwhile waits (with
        // the GIL released) instead of finding the library module half run, as CPython's import
        // lock makes a second importer wait. The loading thread itself (the part's own code
        // touching the module) goes on.
        let me = std::thread::current().id();
        {
            let mut loading = MINI_LOADING.lock();
            match loading.iter().find(|(l, _)| l == lib) {
                Some((_, owner)) if *owner == me => return Ok(()),
                Some(_) => {
                    drop(loading);
                    self.allow_threads(|| {
                        let mut loading = MINI_LOADING.lock();
                        while loading.iter().any(|(l, _)| l == lib) {
                            MINI_LOADED.wait(&mut loading);
                        }
                    });
                    return self.load_mini_parts(m);
                }
                None => loading.push((lib, me)),
            }
        }
        let r = self.copy_mini_parts(m, lib, names);
        MINI_LOADING.lock().retain(|(l, _)| l != lib);
        MINI_LOADED.notify_all();
        r
    }

    fn copy_mini_parts(&mut self, m: &Ref<Module>, lib: &str, names: &[&str]) -> PyResult<()> {
        let info = self.import_module(lib)?;
        for n in names {
            if m.dict.get_str(n).is_none() {
                let v = self.getattr(&info, n)?;
                m.dict.set_str(n, v);
            }
        }
        Ok(())
    }

    /// `module.name` for a name not in the module's namespace: its mini-language part's (loaded
    /// now), `__dict__`, or what the module's own `__getattr__(name)` returns (PEP 562), or
    /// `AttributeError`.
    pub(crate) fn module_missing_attr(&mut self, m: &Ref<Module>, name: &str) -> PyResult<Value> {
        // Only a name of the part, or the whole namespace, needs the part: `getattr(queue,
        // '__file__', None)` must not run `_queueinfo`, whose own imports may be half done at
        // that moment (the import system asks every module in `sys.modules` for its file).
        let of_part = |(n, _, names): &&(&str, &str, &[&str])| {
            **n == *m.name && (name == "__dict__" || names.contains(&name))
        };
        if MINI_PARTS.iter().any(|p| of_part(&p)) {
            self.load_mini_parts(m)?;
        }
        if let Some(v) = m.dict.get_str(name) {
            return Ok(v);
        }
        // A module written in Rust has its spec made when first asked for (`BuiltinImporter`'s,
        // as CPython's built-in modules): importing `importlib` at start-up would cost every
        // program. Its `__loader__` is not stored (module reprs tell Rust modules by its absence).
        if matches!(name, "__spec__" | "__loader__") && m.dict.get_str("__file__").is_none() {
            let boot = self.import_module("importlib._bootstrap")?;
            let make = self.getattr(&boot, "_builtin_spec")?;
            let spec = self.call(&make, &[Value::str(&m.name)])?;
            m.dict.set_str("__spec__", spec.clone());
            return if name == "__spec__" {
                Ok(spec)
            } else {
                self.getattr(&spec, "loader")
            };
        }
        if name == "__dict__" {
            return Ok(Value::Dict(m.dict.clone()));
        }
        // What the module type gives every module (`__class__`, `__repr__`, `__eq__`), before
        // the module's own `__getattr__`, as CPython's. (Not the type's `__doc__`: a module's
        // is its own, below.)
        if name != "__doc__" {
            if let Some(r) = self.type_attr(&Value::Module(m.clone()), name) {
                return r;
            }
        }
        if let Some(hook) = m.dict.get_str("__getattr__") {
            return self.call(&hook, &[Value::str(name)]);
        }
        if name == "__doc__" {
            // A module written in the mini language has one (None without a docstring); one
            // written in Rust answers CPython's text for its name (`builtins`, `os.path` too,
            // which keep it out of their dict: `builtins`' dict is every module's fallback).
            return Ok(
                crate::stdlib::module_docs::module_doc(&m.name).map_or(Value::None, Value::str)
            );
        }
        // While the module's code still runs (CPython: its spec is `_initializing`), the name
        // is most likely missing because of a circular import, which CPython's message says.
        if IMPORTS.lock().owner(&m.name).is_some() {
            return Err(err!(
                AttributeError,
                "partially initialized module '{}' has no attribute '{name}' (most likely due \
                 to a circular import)",
                m.name
            ));
        }
        Err(err!(
            AttributeError,
            "module '{}' has no attribute '{name}'",
            m.name
        ))
    }

    /// `from module import name`: an attribute of the module (its `__getattr__` asked too), or
    /// else its submodule `name` (`from concurrent import futures`), as CPython falls back to
    /// importing `module.name`.
    pub fn import_from(&mut self, module: &Value, name: &str) -> PyResult<Value> {
        let Value::Module(m) = module else {
            return self.getattr(module, name);
        };
        if let Some(v) = m.dict.get_str(name) {
            return Ok(v);
        }
        match self.module_missing_attr(m, name) {
            Ok(v) => return Ok(v),
            Err(e) if !e.is(crate::object::ExcKind::AttributeError) => return Err(e),
            Err(_) => {}
        }
        if !package_path(m).is_empty() {
            let full = format!("{}.{name}", m.name);
            match self.import_module(&full) {
                Ok(v) => return Ok(v),
                Err(e) if !e.is(crate::object::ExcKind::ModuleNotFoundError) => return Err(e),
                Err(_) => {}
            }
        }
        let full = format!("{}.{name}", m.name);
        let e = if crate::stdlib::cpython_names::is_cpython_module(&full) {
            // CPython has it as a submodule (`from http import cookies`): say minivm lacks it.
            err!(
                ImportError,
                "cannot import name '{name}' from '{}' (minivm does not provide the standard \
                 module '{full}')",
                m.name
            )
        } else if let Some(Value::Str(file)) = m
            .dict
            .get_str("__file__")
            // A module CPython compiles in (`from itertools import izip`) has no file there,
            // though minivm's may be a library file: CPython's "(unknown location)" below.
            .filter(|_| !crate::stdlib::cpython_names::is_cpython_built_in(&m.name))
        {
            // CPython ends the message with the module's file, and sets the error's `path`.
            let e = if IMPORTS.lock().owner(&m.name).is_some() {
                // The module's code is still running (CPython's spec is `_initializing`):
                // most often a circular import, which CPython's message names.
                err!(
                    ImportError,
                    "cannot import name '{name}' from partially initialized module '{}' (most \
                     likely due to a circular import) ({})",
                    m.name,
                    file.as_str()
                )
            } else {
                err!(
                    ImportError,
                    "cannot import name '{name}' from '{}' ({})",
                    m.name,
                    file.as_str()
                )
            };
            let e = with_module_name(e, &m.name);
            drop(
                e.exc
                    .dict
                    .lock()
                    .insert_slot(std::sync::Arc::from("path"), Value::Str(file)),
            );
            return Err(e);
        } else {
            // A module without a file (written in Rust, or made by a program): CPython says
            // so, and does not tell a partially initialized one apart.
            err!(
                ImportError,
                "cannot import name '{name}' from '{}' (unknown location)",
                m.name
            )
        };
        Err(with_module_name(e, &m.name))
    }
}
