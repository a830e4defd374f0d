//! Stage 4 (VM), standard library.
//! The `sys` module: `argv`, `exit`, the recursion limit, `maxsize`, `stdout`/`stderr`.

use std::sync::atomic::Ordering;

use super::module_from_fns as make_module;
use crate::builtins::args::{to_index, ArgsExt, Sig, Style};
use crate::builtins::Methods;
use crate::error::{PyErr, PyResult};
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{Dict, ExcKind, Module};
use crate::raise;
use crate::value::Value;

const FUNCS: Methods = &[
    ("addaudithook", addaudithook),
    ("audit", audit),
    ("exit", exit),
    ("getrecursionlimit", getrecursionlimit),
    ("getrefcount", getrefcount),
    ("getsizeof", getsizeof),
    ("intern", intern),
    ("settrace", settrace),
    ("setprofile", setprofile),
    ("gettrace", gettrace),
    ("getprofile", getprofile),
    ("setrecursionlimit", setrecursionlimit),
    (
        "setswitchinterval",
        crate::stdlib::os::sys_setswitchinterval,
    ),
    (
        "getswitchinterval",
        crate::stdlib::os::sys_getswitchinterval,
    ),
    ("_is_gil_enabled", crate::stdlib::os::sys_is_gil_enabled),
    ("get_int_max_str_digits", get_int_max_str_digits),
    (
        "get_coroutine_origin_tracking_depth",
        get_coroutine_origin_tracking_depth,
    ),
    (
        "set_coroutine_origin_tracking_depth",
        set_coroutine_origin_tracking_depth,
    ),
    ("exc_info", crate::stdlib::traceback::sys_exc_info),
    ("_getframe", crate::builtins::getframe_native),
    ("_current_frames", crate::builtins::current_frames),
    ("_current_exceptions", crate::builtins::current_exceptions),
    ("exception", crate::stdlib::traceback::sys_exception),
    ("set_int_max_str_digits", set_int_max_str_digits),
    ("getdefaultencoding", getdefaultencoding),
    ("getfilesystemencoding", getfilesystemencoding),
    ("__getattr__", sys_getattr),
    ("excepthook", excepthook),
    ("unraisablehook", unraisablehook),
    ("displayhook", displayhook),
    ("breakpointhook", breakpointhook),
    (
        "set_asyncgen_hooks",
        crate::interp::finalize::sys_set_asyncgen_hooks,
    ),
    (
        "get_asyncgen_hooks",
        crate::interp::finalize::sys_get_asyncgen_hooks,
    ),
];

pub fn module() -> Ref<Module> {
    let consts = vec![
        ("maxsize", Value::Int(i64::MAX)),
        ("version", Value::str("3.11.0 (minivm)")),
        // 3.11.0 final, packed as CPython packs it: major, minor, micro, level (0xF0 final).
        ("hexversion", Value::Int(0x030B_00F0)),
        // The C API version CPython 3.11 reports (`PYTHON_API_VERSION`).
        ("api_version", Value::Int(1013)),
        // The largest code point a str holds.
        ("maxunicode", Value::Int(0x10_FFFF)),
        // CPython 3.11's list (Linux), as a program printing it sees it there: which of
        // minivm's modules are written in Rust is its own affair (`_sre`, `_symtable` and the
        // test module `xxsubtype` are listed though minivm has no such module to import).
        (
            "builtin_module_names",
            Value::tuple(
                crate::stdlib::cpython_names::BUILT_IN
                    .iter()
                    .copied()
                    .chain(std::iter::once("xxsubtype"))
                    .map(Value::str)
                    .collect(),
            ),
        ),
        // The command line as the process received it (minivm's own options included).
        (
            "orig_argv",
            Value::list(
                std::env::args_os()
                    .map(|a| Value::string(a.to_string_lossy().into_owned()))
                    .collect(),
            ),
        ),
        ("platform", Value::str(std::env::consts::OS)),
        // Where an installation keeps its files: minivm is no installation (its library is in
        // the binary), so CPython's compiled-in default, the same for all four, as outside a
        // virtual environment (`sys.prefix != sys.base_prefix` is how programs detect one).
        ("prefix", Value::str("/usr/local")),
        ("base_prefix", Value::str("/usr/local")),
        ("exec_prefix", Value::str("/usr/local")),
        ("base_exec_prefix", Value::str("/usr/local")),
        ("platlibdir", Value::str("lib")),
        // The minivm binary, so `multiprocessing` can start a fresh interpreter as a child.
        ("executable", Value::string(crate::stdlib::mp::executable())),
        (
            "byteorder",
            Value::str(if cfg!(target_endian = "little") {
                "little"
            } else {
                "big"
            }),
        ),
    ];
    let m = make_module("sys", FUNCS, consts);
    // One function under both names, so `sys.excepthook = sys.__excepthook__` restores it.
    for name in [
        "excepthook",
        "unraisablehook",
        "displayhook",
        "breakpointhook",
    ] {
        if let Some(hook) = m.dict.get_str(name) {
            m.dict.set_str(&format!("__{name}__"), hook);
        }
    }
    for (name, stderr) in [("stdout", false), ("stderr", true)] {
        let stream = crate::stdlib::file::std_stream(stderr);
        m.dict.set_str(&format!("__{name}__"), stream.clone());
        m.dict.set_str(name, stream);
    }
    let stdin = crate::stdlib::file::stdin_stream();
    m.dict.set_str("__stdin__", stdin.clone());
    m.dict.set_str("stdin", stdin);
    // The import hooks: minivm's own import stands where CPython's three default finders are;
    // a finder a program puts in the list is consulted (`interp/modules.rs: meta_path_find`).
    let finders = DEFAULT_FINDERS
        .iter()
        .map(|(name, module)| Value::Class(super::native_class(name, module, &[])))
        .collect();
    m.dict.set_str("meta_path", Value::list(finders));
    m.dict.set_str("path_hooks", Value::list(Vec::new()));
    m.dict
        .set_str("path_importer_cache", Value::Dict(Ref::new(Dict::new())));
    m
}

/// CPython's default `sys.meta_path` entries (name, module), which stand for minivm's import.
pub const DEFAULT_FINDERS: [(&str, &str); 3] = [
    ("BuiltinImporter", "_frozen_importlib"),
    ("FrozenImporter", "_frozen_importlib"),
    ("PathFinder", "_frozen_importlib_external"),
];

/// Is `v` one of the default `sys.meta_path` entries (minivm's own import)?
pub fn is_default_finder(v: &Value) -> bool {
    match v {
        Value::Class(c) => DEFAULT_FINDERS
            .iter()
            .any(|(name, module)| &*c.module == *module && &*c.name() == *name),
        _ => false,
    }
}

/// `sys.excepthook(type, value, traceback)` as CPython's default: print the traceback of
/// `value` to stderr, as an uncaught exception is reported. The interpreter calls whatever
/// `sys.excepthook` holds when an exception ends the program (`lib.rs: report_uncaught`).
fn excepthook(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.no_kw("excepthook")?;
    let [_, value, _] = args.pos else {
        raise!(
            TypeError,
            "excepthook expected 3 arguments, got {}",
            args.pos.len()
        );
    };
    let text = match PyErr::from_instance(value) {
        Some(e) => interp.format_exception(&e),
        None => {
            // CPython prints what it was given for a value that is no exception.
            let t = crate::object::type_name(value);
            format!("TypeError: print_exception(): Exception expected for value, {t} found\n")
        }
    };
    crate::stdlib::file::display_exception(interp, &text);
    Ok(Value::None)
}

/// `sys.unraisablehook(unraisable)` as CPython's default: print "err_msg: <repr of object>"
/// and the traceback of `unraisable.exc_value` to stderr. The interpreter calls a hook a program
/// installs for an exception escaping `__del__` or a callback (`finalize.rs: report_unraisable`).
fn unraisablehook(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.no_kw("unraisablehook")?;
    let [unraisable] = args.pos else {
        raise!(
            TypeError,
            "unraisablehook() takes exactly one argument ({} given)",
            args.pos.len()
        );
    };
    let value = interp.getattr(unraisable, "exc_value")?;
    let object = interp.getattr(unraisable, "object")?;
    let err_msg = match interp.getattr(unraisable, "err_msg")? {
        Value::Str(s) => Some(s.as_str().to_string()),
        _ => None,
    };
    match PyErr::from_instance(&value) {
        Some(e) => interp.print_unraisable(&e, err_msg.as_deref(), &object),
        None => {
            let head = interp.unraisable_head(err_msg.as_deref(), &object);
            crate::stdlib::file::write_stderr_unraisable(interp, &head);
        }
    }
    Ok(Value::None)
}

/// `sys.displayhook(value)` as CPython's default: what an expression statement compiled in
/// `'single'` mode shows (the repr to `sys.stdout`, kept in `builtins._`).
fn displayhook(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.no_kw("displayhook")?;
    let [value] = args.pos else {
        raise!(
            TypeError,
            "sys.displayhook() takes exactly one argument ({} given)",
            args.pos.len()
        );
    };
    interp.display_value(value)?;
    Ok(Value::None)
}

/// `sys.breakpointhook(*args, **kws)`, what `breakpoint()` calls unless a program replaces it,
/// as CPython's: `$PYTHONBREAKPOINT` (read at every call, from `os.environ`) names the function
/// to call with the arguments, `module.function` or a built-in's name; `0` skips the
/// breakpoint (None); a module that does not import or a name it lacks is a `RuntimeWarning`
/// and None. Unset or empty it is `pdb.set_trace`, CPython's debugger, which minivm does not
/// provide: a `NotImplementedError` saying how to skip or replace the breakpoint, rather than
/// CPython's warning for an unimportable hook (the program would go on where CPython stops in
/// the debugger). So is any other hook in a standard module minivm lacks.
fn breakpointhook(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let setting = crate::stdlib::os::environ_var(interp, "PYTHONBREAKPOINT")?;
    let target = match setting.as_deref() {
        None | Some("") => "pdb.set_trace",
        Some("0") => return Ok(Value::None),
        Some(name) => name,
    };
    let (module, attr) = target.rsplit_once('.').unwrap_or(("builtins", target));
    let found = interp
        .import_module(module)
        .and_then(|m| interp.getattr(&m, attr));
    match found {
        Ok(hook) => interp.call_kw(&hook, args.pos, args.kw),
        Err(e)
            if e.is(ExcKind::ModuleNotFoundError)
                && crate::stdlib::cpython_names::is_cpython_module(module) =>
        {
            raise!(
                NotImplementedError,
                "breakpoint() would call {target}, but minivm does not provide the standard \
                 module '{module}' (set PYTHONBREAKPOINT=0 to skip breakpoints, or \
                 PYTHONBREAKPOINT=module.function to call that function instead)"
            )
        }
        Err(e) if e.is(ExcKind::ImportError) || e.is(ExcKind::AttributeError) => {
            let warnings = interp.import_module("warnings")?;
            let warn = interp.getattr(&warnings, "warn")?;
            let category = interp
                .vm
                .builtins
                .get_str("RuntimeWarning")
                .unwrap_or(Value::None);
            let message = format!("Ignoring unimportable $PYTHONBREAKPOINT: \"{target}\"");
            interp.call(&warn, &[Value::string(message), category])?;
            Ok(Value::None)
        }
        Err(e) => Err(e),
    }
}

/// `sys.warnoptions`: `PYTHONWARNINGS`'s entries then the `-W` options, as the command line
/// sets them before the VM starts (`warnings` turns them into filters when imported).
static WARNOPTIONS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// Set `sys.warnoptions` (once, before the program runs).
pub fn set_warnoptions(options: Vec<String>) {
    let _ = WARNOPTIONS.set(options);
}

/// The `-W` options and `PYTHONWARNINGS` entries the command line set.
pub fn warnoptions() -> &'static [String] {
    WARNOPTIONS.get().map_or(&[][..], Vec::as_slice)
}

/// The module's `__getattr__`: `sys.version_info`, `float_info`, `int_info`, `hash_info`,
/// `thread_info`, `flags`,
/// `warnoptions` and `implementation`, made (by `vm/lib/_sysinfo.mini`) on first use and kept, so that start-up
/// runs none of it (importing `sys`, which `print` does, would otherwise run all of
/// `_sysinfo`: about 0.7 M instructions in every program).
fn sys_getattr(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let name = match args.pos.first() {
        Some(Value::Str(s)) => s.as_str().to_string(),
        _ => raise!(TypeError, "attribute name must be string"),
    };
    let Some(sys) = interp.vm.find_module("sys") else {
        raise!(RuntimeError, "lost sys");
    };
    let info = interp.import_module("_sysinfo")?;
    let v = match name.as_str() {
        "version_info" => {
            let cls = interp.getattr(&info, "version_info")?;
            let args = [
                Value::Int(3),
                Value::Int(11),
                Value::Int(0),
                Value::str("final"),
                Value::Int(0),
            ];
            interp.call(&cls, &args)?
        }
        "float_info" => interp.getattr(&info, "FLOAT_INFO")?,
        "int_info" => interp.getattr(&info, "INT_INFO")?,
        "hash_info" => interp.getattr(&info, "HASH_INFO")?,
        "thread_info" => {
            // What CPython 3.11 built for Linux says: POSIX threads, locks made of semaphores
            // (its `lock` names CPython's own build; programs print and compare it), and the C
            // library's threads version (glibc: "NPTL 2.36"), None where it cannot be read.
            let cls = interp.getattr(&info, "thread_info")?;
            let version =
                crate::heap::confstr::pthread_version().map_or(Value::None, |v| Value::str(&v));
            interp.call(
                &cls,
                &[Value::str("pthread"), Value::str("semaphore"), version],
            )?
        }
        "flags" => {
            // From the command line's options and (unless `-E`) the environment the program
            // started with.
            let options = crate::object::Dict::new();
            for (name, value) in &interp.vm.config.flags {
                options.set_str(name, Value::Int(*value));
            }
            let environ = crate::object::Dict::new();
            if options.get_str("ignore_environment").is_none() {
                for (k, val) in std::env::vars_os() {
                    if let (Some(k), Some(val)) = (k.to_str(), val.to_str()) {
                        environ.set_str(k, Value::str(val));
                    }
                }
            }
            let make = interp.getattr(&info, "make_flags")?;
            let optimize = Value::Int(i64::from(minivm_compiler::optimize()));
            let args = [
                Value::Dict(Ref::new(environ)),
                optimize,
                Value::Dict(Ref::new(options)),
            ];
            interp.call(&make, &args)?
        }
        "warnoptions" => Value::list(warnoptions().iter().map(|o| Value::str(o)).collect()),
        "implementation" => {
            let make = interp.getattr(&info, "make_implementation")?;
            let version = interp.getattr(&Value::Module(sys.clone()), "version_info")?;
            interp.call(&make, &[version])?
        }
        "stdlib_module_names" => {
            // CPython 3.11's list, whether or not minivm provides each module.
            let names = crate::stdlib::cpython_names::NAMES
                .iter()
                .map(|n| Value::str(n))
                .collect();
            let frozenset = Value::Class(crate::object::types().frozenset.clone());
            interp.call(&frozenset, &[Value::list(names)])?
        }
        _ => raise!(AttributeError, "module 'sys' has no attribute '{name}'"),
    };
    sys.dict.set_str(&name, v.clone());
    Ok(v)
}

/// The program's current `sys.stdout` (or `sys.stderr`): what `print` writes to; or another
/// attribute a built-in reads at each call (`breakpoint`'s `sys.breakpointhook`). `sys` is
/// imported (once per VM) if the program has not done it.
pub fn current_stream(interp: &mut Interp, name: &str) -> PyResult<Value> {
    let sys = match interp.vm.find_module("sys") {
        Some(m) => m,
        None => match interp.import_module("sys")? {
            Value::Module(m) => m,
            _ => return Err(crate::err!(SystemError, "sys is not a module")),
        },
    };
    match sys.dict.get_str(name) {
        Some(v) => Ok(v),
        None => raise!(RuntimeError, "lost sys.{name}"),
    }
}

/// `sys.argv` needs the VM's configuration, which `import_builtin_module` cannot see: the core
/// sets it after creating the module, `m.dict.set_str("argv", builtins::sys_argv(interp))`.
pub fn argv_value(interp: &Interp) -> Value {
    Value::list(
        interp
            .vm
            .config
            .argv
            .iter()
            .map(|a| Value::str(a))
            .collect(),
    )
}

fn exit(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("exit", 0, 1)?;
    let a = match args.get(0) {
        None => vec![],
        Some(v) => vec![v.clone()],
    };
    Err(PyErr::with_args(ExcKind::SystemExit, a))
}

/// `sys.getdefaultencoding()`: minivm's text is UTF-8.
fn getdefaultencoding(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.none("sys.getdefaultencoding")?;
    Ok(Value::str("utf-8"))
}

/// `sys.getfilesystemencoding()`: file names are UTF-8 too.
fn getfilesystemencoding(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.none("sys.getfilesystemencoding")?;
    Ok(Value::str("utf-8"))
}

fn get_int_max_str_digits(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.none("sys.get_int_max_str_digits")?;
    Ok(Value::Int(crate::num::bigint::max_str_digits() as i64))
}

/// `sys.set_int_max_str_digits(maxdigits)`: the limit on int <-> decimal string conversions.
fn set_int_max_str_digits(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.only_kw("set_int_max_str_digits", &["maxdigits"])?;
    if args.pos.len() > 1 {
        raise!(
            TypeError,
            "set_int_max_str_digits() takes at most 1 argument ({} given)",
            args.pos.len()
        );
    }
    let Some(n) = args.pos_or_kw("set_int_max_str_digits", 0, "maxdigits")? else {
        raise!(
            TypeError,
            "set_int_max_str_digits() missing required argument 'maxdigits' (pos 1)"
        );
    };
    crate::num::bigint::set_max_str_digits(to_index(n)?).map_err(crate::builtins::num_err)?;
    Ok(Value::None)
}

/// `sys.get_coroutine_origin_tracking_depth()`: always 0, as no coroutine's origin is recorded.
fn get_coroutine_origin_tracking_depth(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.none("sys.get_coroutine_origin_tracking_depth")?;
    Ok(Value::Int(0))
}

/// `sys.set_coroutine_origin_tracking_depth(depth)`: 0 (no tracking) is accepted; a depth
/// above it asks coroutines to record where they were made (`cr_origin`), which minivm's do
/// not, so it is a clear error rather than a `cr_origin` that is silently missing.
fn set_coroutine_origin_tracking_depth(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [depth] = Sig::kw("set_coroutine_origin_tracking_depth", &["depth"], 1).bind::<1>(&args)?;
    let depth = to_index(depth.unwrap_or(&Value::Int(0)))?;
    if depth < 0 {
        raise!(ValueError, "depth must be >= 0");
    }
    if depth > 0 {
        raise!(
            NotImplementedError,
            "minivm's coroutines do not record where they were created (cr_origin): \
             sys.set_coroutine_origin_tracking_depth takes 0 only"
        );
    }
    Ok(Value::None)
}

/// `sys.getsizeof(obj[, default])`: CPython's answer is the byte size of its own C structs
/// (24 for a small int, 56 plus 8 per slot for a list...), which says nothing about minivm's
/// values; printing made-up numbers would be a different answer, so it is a clear error.
fn getsizeof(_: &mut Interp, _args: Args<'_>) -> PyResult<Value> {
    raise!(
        NotImplementedError,
        "minivm does not provide sys.getsizeof: object sizes are CPython implementation details"
    )
}

/// `sys.intern(s)`: the one shared str object for `s`'s text (the table that code objects'
/// names use), so interned equal strings are the same object, as CPython's. The table keeps
/// every string interned.
/// `sys.settrace(func)`: minivm has no per-line or per-call hook for Python functions, so only
/// `None` (no tracer, what there already is) is accepted; a function is a NotImplementedError
/// rather than a trace that never comes.
fn settrace(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_hook(args.one("sys.settrace")?, "settrace", "a trace function")
}

/// `sys.setprofile(func)`: as `settrace` (`cProfile.Profile().runcall(f)` profiles).
fn setprofile(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_hook(
        args.one("sys.setprofile")?,
        "setprofile",
        "a profile function",
    )
}

/// `sys.audit(event, *args)`: nothing, as in CPython when no audit hook is installed (and none
/// can be: see `addaudithook`). Library code calls it before sensitive operations.
fn audit(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    // CPython checks nothing more when no hook is installed (`sys.audit(1)` is None).
    args.no_kw("sys.audit")?;
    if args.pos.is_empty() {
        raise!(
            TypeError,
            "audit() missing 1 required positional argument: 'event'"
        );
    }
    Ok(Value::None)
}

/// `sys.addaudithook(hook)`: a clear error. CPython raises audit events from its own
/// operations (`open`, `import`, `exec`...); minivm raises none, so a hook would silently see
/// almost nothing.
fn addaudithook(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.one("addaudithook")?;
    raise!(
        NotImplementedError,
        "minivm raises no audit events of its own operations, so sys.addaudithook is not supported"
    )
}

fn no_hook(func: &Value, name: &str, what: &str) -> PyResult<Value> {
    if func.is_none() {
        return Ok(Value::None);
    }
    raise!(
        NotImplementedError,
        "minivm cannot call {what} (sys.{name}): its interpreter loop has no such hook; \
         cProfile.Profile().runcall(f) profiles a call"
    )
}

/// `sys.gettrace()` / `sys.getprofile()`: None, as no hook can be set.
fn gettrace(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("sys.gettrace", Style::NoArgs, &[], 0).check(&args)?;
    Ok(Value::None)
}

fn getprofile(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("sys.getprofile", Style::NoArgs, &[], 0).check(&args)?;
    Ok(Value::None)
}

fn intern(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    match args.one("sys.intern")? {
        Value::Str(s) => Ok(Value::Str(crate::object::intern(s.as_str()))),
        Value::None => raise!(TypeError, "intern() argument must be str, not None"),
        v @ Value::Instance(_)
            if crate::object::builtin_base(v).is_some_and(|b| matches!(b, Value::Str(_))) =>
        {
            raise!(TypeError, "can't intern {}", crate::object::type_name(v))
        }
        v => raise!(
            TypeError,
            "intern() argument must be str, not {}",
            crate::object::type_name(v)
        ),
    }
}

/// `sys.getrefcount(obj)`: the object's reference count, the argument's own reference included
/// (as CPython's is). minivm's ints, floats, bools and None are not counted objects, and a
/// top-level class or function is made immortal (as in CPython 3.12+): those answer 2**32 - 1,
/// the number CPython 3.12 gives its immortal objects. Counts differ from CPython's where the two
/// interpreters hold different temporaries, which is itself worth looking at.
fn getrefcount(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    use crate::heap::Ref;
    const IMMORTAL: i64 = u32::MAX as i64;
    macro_rules! count {
        ($($variant:ident),*) => {
            match args.one("getrefcount")? {
                $(Value::$variant(r) => {
                    if Ref::is_immortal(r) {
                        IMMORTAL
                    } else {
                        i64::try_from(Ref::count(r)).unwrap_or(IMMORTAL)
                    }
                })*
                _ => IMMORTAL,
            }
        };
    }
    Ok(Value::Int(count!(
        BigInt,
        Str,
        Bytes,
        ByteArray,
        Tuple,
        List,
        Dict,
        Set,
        Range,
        Slice,
        Function,
        Native,
        BoundMethod,
        Class,
        Instance,
        Module,
        Iter,
        RangeIter,
        Generator,
        Cell
    )))
}

fn getrecursionlimit(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.none("sys.getrecursionlimit")?;
    Ok(Value::Int(
        interp.vm.recursion_limit.load(Ordering::Relaxed) as i64,
    ))
}

fn setrecursionlimit(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let n = to_index(args.one("setrecursionlimit")?)?;
    if n < 1 {
        raise!(
            ValueError,
            "recursion limit must be greater or equal than 1"
        );
    }
    interp
        .vm
        .recursion_limit
        .store(n as usize, Ordering::Relaxed);
    Ok(Value::None)
}
