//! Stage 4 (VM), standard library.
//! The standard library written in Rust: every module a program can `import` (`threading`, `queue`,
//! `_collections`, `select`, `socket`, `os`, `math`, `time`, `sys`, `io`, `traceback`...), and the native-class
//! helpers they share. The interpreter (`interp/`) asks `import_module` by name; modules depend on
//! the interpreter, never the other way round.

pub mod array;
pub mod astparse;
pub mod asyncio_support;
pub mod atexit;
pub mod binascii;
pub mod bisect;
pub mod blake2;
pub mod bz2;
pub mod cmath;
pub mod copyaccel;
pub mod coro_intro;
pub mod cpython_names;
pub mod decimal_fast;
pub mod deque;
pub mod epoll;
pub mod file;
pub mod gc;
mod gc_refs;
pub mod hashlib;
pub mod importlib;
pub mod io;
pub mod itertools;
pub mod json;
pub mod linecache;
pub mod lsprof;
pub mod marshal;
pub mod math;
pub mod minilib;
pub mod mmap;
pub mod module_docs;
pub mod mp;
pub mod operator_native;
pub mod os;
pub mod os_fd;
pub mod os_fork;
pub mod os_ids;
pub mod os_proc;
pub mod os_stat;
pub mod os_sys;
pub mod pickle;
pub mod pipe;
pub mod posix_support;
pub mod queue;
pub mod random;
pub mod re;
pub mod resource;
pub mod scrypt;
pub mod select;
pub mod sha512;
pub mod signal;
pub mod socket;
pub mod structmod;
pub mod subprocess;
pub mod subprocess_fork;
pub mod sync;
pub mod sys;
pub mod tempfile;
pub mod thread;
pub mod time;
pub mod traceback;
pub mod tracemalloc;
pub mod tuplegetter;
pub mod tzfile;
pub mod unicodedata;
pub mod weakref;
pub mod xmlscan;
pub mod zlib;

use std::sync::Arc;

use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{AttrMap, Class, Dict, Instance, Module, NativeFn, NativeFunction};
use crate::value::Value;
use crate::{err, PyResult};

/// A function that makes a built-in module.
pub type MakeModule = fn() -> Ref<Module>;

/// The built-in modules this part of the VM provides: each name with the function that makes
/// the module, sorted by name.
pub const MODULES: &[(&str, MakeModule)] = &[
    ("_astparse", astparse::module),
    ("_asyncio_support", asyncio_support::module),
    ("_bisect", bisect::module),
    ("_bz2", bz2::module),
    ("_codecsupport", crate::builtins::codecs::support_module),
    ("_collections", deque::collections_module),
    ("_copyaccel", copyaccel::module),
    ("_decimal_fast", decimal_fast::module),
    ("_hashlib", hashlib::module),
    ("_importlib", importlib::module),
    ("_itertools", itertools::module),
    ("_json", json::module),
    ("_lsprof", lsprof::module),
    ("_multiprocessing", mp::module),
    ("_operator", operator_native::module),
    ("_pickle_accel", pickle::module),
    ("_posixsupport", posix_support::module),
    ("_random", random::module),
    ("_re", re::module),
    ("_resource", resource::module),
    ("_signal", signal::module),
    ("_struct", structmod::module),
    ("_subprocess", subprocess::module),
    ("_tracemalloc", tracemalloc::module),
    ("_typeflags", typeflags_module),
    ("_weakref", weakref::module),
    ("_xmlscan", xmlscan::module),
    ("array", array::module),
    ("atexit", atexit::module),
    ("binascii", binascii::module),
    ("cmath", cmath::module),
    ("gc", gc::module),
    ("inspect", coro_intro::inspect_module),
    ("io", io::module),
    ("linecache", linecache::module),
    ("marshal", marshal::module),
    ("math", math::module),
    ("mmap", mmap::module),
    ("os", os::os_module),
    ("queue", queue::queue_module),
    ("select", select::select_module),
    ("socket", socket::socket_module),
    ("sys", sys::module),
    ("tempfile", tempfile::module),
    ("threading", thread::threading_module),
    ("time", time::module),
    ("traceback", traceback::module),
    ("types", coro_intro::types_module),
    ("unicodedata", unicodedata::module),
    ("zlib", zlib::module),
];

/// `_typeflags`: `immutable(*classes)` makes classes of minivm's library immutable types, as
/// their CPython counterparts are C types with `Py_TPFLAGS_IMMUTABLETYPE` (`C.attr = v` and
/// `del C.attr` are then CPython's TypeError). A module calls it once it has set its classes up.
fn typeflags_module() -> Ref<Module> {
    fn immutable(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
        for c in args.pos {
            match c {
                Value::Class(c) => c
                    .immutable
                    .store(true, std::sync::atomic::Ordering::Relaxed),
                _ => return Err(err!(TypeError, "immutable() takes classes")),
            }
        }
        Ok(Value::None)
    }
    module_from_fns("_typeflags", &[("immutable", immutable)], Vec::new())
}

/// The built-in module `name`, made afresh, if this part of the VM provides one.
/// Whether `name` is a module built into the binary (written in Rust).
pub fn is_builtin_module(name: &str) -> bool {
    MODULES.binary_search_by(|(n, _)| n.cmp(&name)).is_ok()
}

pub fn import_module(name: &str) -> Option<Ref<Module>> {
    MODULES
        .binary_search_by(|(n, _)| n.cmp(&name))
        .ok()
        .map(|i| (MODULES[i].1)())
}

/// A module from a name, its functions and its constants.
pub fn module_from_fns(
    name: &str,
    funcs: crate::builtins::Methods,
    consts: Vec<(&str, Value)>,
) -> Ref<Module> {
    let d = Dict::new();
    d.set_str("__name__", Value::str(name));
    for (n, f) in funcs {
        set_module_attr(&d, n, crate::builtins::native(n, *f));
    }
    for (n, v) in consts {
        set_module_attr(&d, n, v);
    }
    Ref::new(Module {
        name: name.into(),
        dict: Ref::new(d),
    })
}

/// A native function value.
pub fn func(name: &'static str, f: NativeFn) -> Value {
    Value::Native(Ref::new(NativeFunction::new(name, f)))
}

/// A class implemented in Rust (subclassable by programs) with the given methods.
pub fn native_class(name: &str, module: &str, methods: &[(&'static str, NativeFn)]) -> Ref<Class> {
    Ref::new(Class::new_native(name, module, methods_dict(methods)))
}

/// A class dict of native methods.
fn methods_dict(methods: &[(&'static str, NativeFn)]) -> AttrMap {
    let mut dict = AttrMap::default();
    for &(m, f) in methods {
        let method = NativeFunction::native_method(m, f);
        dict.insert(Arc::from(m), Value::Native(Ref::new(method)));
    }
    dict
}

/// A native class like [`native_class`] whose base is `base` (another native class).
pub fn native_subclass(
    name: &str,
    module: &str,
    base: &Ref<Class>,
    methods: &[(&'static str, NativeFn)],
) -> Ref<Class> {
    let mut cls = Class::new_native(name, module, methods_dict(methods));
    cls.base = Some(base.clone());
    cls.bases = vec![base.clone()];
    cls.mro_tail = Class::mro(base);
    Ref::new(cls)
}

/// `d[name] = v` for a built-in module's attribute, keyed by the name's interned string (as
/// CPython interns a built-in module's names), the object a program's code compiles the name
/// to: `math.floor`'s cached read (`interp::attr::module_value_cached`) then finds the key by
/// pointer. The names are this source's, a fixed set, so the intern table stays bounded.
fn set_module_attr(d: &Dict, name: &str, v: Value) {
    let key = crate::object::HashKey::from_value(Value::Str(crate::object::intern(name)))
        .unwrap_or_else(|_| crate::object::HashKey::from_str(name));
    d.set(key, v);
}

/// A module from (name, value) pairs.
pub fn make_module(name: &str, items: Vec<(&str, Value)>) -> Ref<Module> {
    let dict = Ref::new(Dict::new());
    dict.set_str("__name__", Value::str(name));
    for (k, v) in items {
        set_module_attr(&dict, k, v);
    }
    Ref::new(Module {
        name: Arc::from(name),
        dict,
    })
}

/// The receiver (`self`) of a native method as an instance carrying `T`, or the TypeError /
/// RuntimeError CPython gives when `__init__` was not run.
pub fn this<'a, T: 'static>(args: &Args<'a>, class: &str) -> PyResult<(&'a Ref<Instance>, &'a T)> {
    match args.pos.first() {
        Some(Value::Instance(inst)) => match inst.native::<T>() {
            Some(d) => Ok((inst, d)),
            None => Err(err!(RuntimeError, "{class}.__init__() not called")),
        },
        _ => Err(err!(TypeError, "descriptor requires a '{class}' object")),
    }
}

/// Positional-or-keyword argument `i` named `name` (after `self` for methods, so pass i >= 1).
pub fn arg<'a>(args: &Args<'a>, i: usize, name: &str) -> Option<&'a Value> {
    args.pos.get(i).or_else(|| args.kwarg(name))
}

/// Wait for the program's non-daemon threads before the process exits, as CPython does (after
/// the `threading._register_atexit` calls, which may end some of them). Ctrl-C
/// stops the wait (`Err(KeyboardInterrupt)`): the caller reports it and the process exits anyway.
pub fn join_non_daemon(interp: &mut Interp) -> PyResult<()> {
    thread::run_exit_calls(interp)?;
    loop {
        let pending: Vec<Value> = interp.vm.threads.lock().clone();
        let mut waited = false;
        for t in pending {
            if thread::is_daemon(&t) || !thread::is_alive(&t) {
                continue;
            }
            thread::wait_done(interp, &t, sync::Wait::Forever)?;
            waited = true;
        }
        if !waited {
            return Ok(());
        }
    }
}
