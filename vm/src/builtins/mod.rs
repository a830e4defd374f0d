//! Stage 4 (VM), built-ins.
//! The builtins: built-in functions and the methods of the built-in types (modules live in `stdlib/`).
//!
//! The core calls in through [`install_methods`], [`make_builtins`], [`construct`],
//! [`import_builtin_module`] and [`builtin_attr`]; everything else is private to this module.

pub mod args;
pub(crate) mod attrs;
pub mod bytes_methods;
mod case_table;
mod casefold_table;
pub mod codecs;
pub mod complex;
pub(crate) mod construct;
pub(crate) mod dict_methods;
pub mod docs;
pub(crate) mod eval;
mod frames;
pub mod functions;
mod introspect;
pub mod io;
pub(crate) mod iter_functions;
pub(crate) mod list_methods;
pub mod memoryview;
pub(crate) mod misc_methods;
mod num_convert;
pub(crate) mod set_methods;
mod site;
pub mod sort;
mod str_format;
mod str_methods;
pub mod text;
mod translate;

use crate::error::PyErr;
use crate::heap::Ref;
use crate::object::{
    types, BuiltinTypes, Class, Dict, ExcKind, Instance, NativeFn, NativeFunction, Payload,
};
use crate::value::Value;

pub use crate::stdlib::sys::argv_value as sys_argv;
pub use attrs::builtin_attr;
pub(crate) use attrs::native_module;
pub use construct::construct;
pub(crate) use frames::{
    after_fork_child as frames_after_fork_child, current_exceptions, current_frames,
    other_threads_globals,
};
pub(crate) use frames::{
    frame_locals_cell, frame_object, generator_frame, getframe_native, lent_stack, register_thread,
    running_line, unregister_thread, ParkedStack,
};
pub use introspect::{adopt_locals, forget_locals, frame_function};
pub(crate) use introspect::{frame_locals, is_function};
pub(crate) use iter_functions::{iter_length_hint, length_hint, SIZED_ITERATORS};

/// `d.get(k)`, `d.get(k, default)`, `s.add(k)` and `l.pop([i])` on an exact `dict` / `set` /
/// `list` (the built-in types' methods cannot be replaced), answered here without the general
/// method call: no method lookup, no argument parsing, no recording of the caller's frame for
/// the callee (callgrind, on `benches/kernels/containers.mini`: see the commit). Only when no Python code can run: the key is
/// not an instance or a class (whose `__hash__` is Python) and no key anywhere compares by a
/// Python `__eq__`. `None`: not handled, and nothing done; the caller makes the general call,
/// which also raises any error (an unhashable key, a wrong argument count). Out of line: the
/// interpreter loop calls it only for a dict, set or list receiver.
#[inline(never)]
pub fn container_method_fast(args: &[Value], name: &str) -> Option<Value> {
    match args {
        [Value::Dict(d), key, default @ ..] if default.len() <= 1 && name == "get" => {
            let hash = crate::interp::containers::plain_hash(key)?;
            let found = d.get_ref(crate::object::KeyRef { hash, value: key });
            Some(found.unwrap_or_else(|| default.first().cloned().unwrap_or(Value::None)))
        }
        [Value::Set(s), key] if !s.frozen && name == "add" => {
            let k = plain_key(key)?;
            s.items.lock().insert(k);
            Some(Value::None)
        }
        // `l.pop()` and `l.pop(i)` with an int in range: the item moved out (an empty list or
        // an index out of range takes the general call, which raises). The general call cost
        // about 650 machine instructions a pop, CPython's about 150 (callgrind).
        [Value::List(l), at @ ..] if at.len() <= 1 && name == "pop" => {
            let mut items = l.items.try_lock().ok()?;
            let n = items.len();
            let i = match at {
                [] => n.checked_sub(1)?,
                [Value::Int(i)] => {
                    let i = if *i < 0 { i.checked_add(n as i64)? } else { *i };
                    usize::try_from(i).ok().filter(|&i| i < n)?
                }
                _ => return None,
            };
            // The last item (a stack's pop) without `remove`'s shifting call.
            if i + 1 == n {
                items.pop()
            } else {
                Some(items.remove(i))
            }
        }
        _ => None,
    }
}

/// `v` as a dict key or set member when hashing and comparing it runs no Python code.
#[inline]
fn plain_key(v: &Value) -> Option<crate::object::HashKey> {
    if matches!(v, Value::Instance(_) | Value::Class(_)) {
        return None;
    }
    let k = crate::object::HashKey::from_value(v.clone()).ok()?;
    (!crate::interp::containers::lookup_runs_python(&k)).then_some(k)
}

/// A native function as a value.
pub fn native(name: &'static str, f: NativeFn) -> Value {
    Value::Native(Ref::new(NativeFunction::new(name, f)))
}

/// A method table: (name, function) pairs.
pub(crate) use misc_methods::{name_property, prop_missing_error, throw_exception};

pub type Methods = &'static [(&'static str, NativeFn)];

fn install(cls: &Ref<Class>, methods: Methods) {
    let mut d = cls.dict.write();
    for (name, f) in methods {
        let method = NativeFunction {
            kind: crate::object::NativeKind::of_method(&cls.name(), name),
            ..NativeFunction::method(name, *f)
        };
        d.insert((*name).into(), Value::Native(Ref::new(method)));
    }
}

/// Fill the method tables of every built-in class.
pub fn install_methods(t: &BuiltinTypes) {
    install(&t.str_, str_methods::METHODS);
    install(&t.str_, str_format::METHODS);
    translate::install(&t.str_, &t.staticmethod);
    install(&t.bytes, bytes_methods::COMMON_METHODS);
    install(&t.bytearray, bytes_methods::COMMON_METHODS);
    install(&t.bytearray, bytes_methods::BYTEARRAY_METHODS);
    install(&t.list, list_methods::METHODS);
    install(&t.dict, dict_methods::METHODS);
    install(&t.set, set_methods::SET_METHODS);
    install(&t.set, set_methods::COMMON_METHODS);
    install(&t.frozenset, set_methods::FROZENSET_METHODS);
    install(&t.tuple, misc_methods::TUPLE_METHODS);
    install(&t.int, misc_methods::INT_METHODS);
    install(&t.float, misc_methods::FLOAT_METHODS);
    install(&t.range, misc_methods::RANGE_METHODS);
    install(&t.slice, misc_methods::SLICE_METHODS);
    install(t.exc(ExcKind::BaseException), misc_methods::EXC_METHODS);
    install(&t.generator, misc_methods::GEN_METHODS);
    install(
        t.exc(ExcKind::BaseExceptionGroup),
        crate::interp::excgroup::GROUP_METHODS,
    );
    install(&t.coroutine, misc_methods::GEN_METHODS);
    install(&t.coroutine, crate::interp::agen::CORO_METHODS);
    install(&t.async_generator, crate::interp::agen::ASYNC_GEN_METHODS);
    for awaitable in [
        &t.coroutine_wrapper,
        &t.async_gen_asend,
        &t.async_gen_athrow,
    ] {
        install(awaitable, crate::interp::agen::AWAIT_METHODS);
    }
    install(&t.anext_awaitable, crate::interp::agen::ANEXT_METHODS);
    install(
        &t.class_namespace,
        crate::interp::views::CLASS_NAMESPACE_METHODS,
    );
    install(&t.property, misc_methods::PROPERTY_METHODS);
    install(&t.staticmethod, misc_methods::STATICMETHOD_METHODS);
    install(&t.classmethod, misc_methods::CLASSMETHOD_METHODS);
    // `list[int]` and the like (PEP 585): a class method of the container types.
    for cls in [&t.list, &t.dict, &t.tuple, &t.set, &t.frozenset] {
        let f = Value::Native(Ref::new(NativeFunction::new(
            "__class_getitem__",
            class_getitem,
        )));
        let wrapped = Instance::with_payload(t.classmethod.clone(), Payload::Wrapped(f));
        cls.dict.write().insert(
            "__class_getitem__".into(),
            Value::Instance(Ref::new(wrapped)),
        );
    }
}

/// `cls.__class_getitem__(item)`: the generic alias `cls[item]` (`types.GenericAlias`).
fn class_getitem(
    _: &mut crate::interp::Interp,
    args: crate::interp::Args<'_>,
) -> crate::PyResult<Value> {
    match args.pos {
        [cls @ Value::Class(_), item] if args.kw.is_empty() => {
            Ok(crate::interp::generic::generic_alias(cls.clone(), item))
        }
        _ => Err(crate::err!(
            TypeError,
            "__class_getitem__() takes exactly one argument ({} given)",
            args.pos.len().saturating_sub(1)
        )),
    }
}

/// The `builtins` namespace every module's globals fall back to.
pub fn make_builtins() -> Ref<Dict> {
    let d = Dict::new();
    for (name, f) in functions::FUNCTIONS
        .iter()
        .chain(iter_functions::FUNCTIONS)
        .chain(crate::interp::agen::ASYNC_ITER_FUNCTIONS)
        .chain(introspect::FUNCTIONS)
        .chain(eval::FUNCTIONS)
    {
        d.set_str(name, native(name, *f));
    }
    for (name, _) in iter_functions::ITERATOR_TYPES {
        d.set_str(name, Value::Class(crate::object::iterator_class(name)));
    }
    d.set_str("open", crate::stdlib::file::open_function());
    d.set_str("complex", Value::Class(complex::complex_class()));
    d.set_str("memoryview", memoryview::memoryview_class());
    d.set_str(
        "__import__",
        native("__import__", crate::stdlib::importlib::dunder_import),
    );
    let t = types();
    for cls in [
        &t.object,
        &t.type_,
        &t.bool_,
        &t.int,
        &t.float,
        &t.str_,
        &t.bytes,
        &t.bytearray,
        &t.tuple,
        &t.list,
        &t.dict,
        &t.set,
        &t.frozenset,
        &t.range,
        &t.slice,
        &t.property,
        &t.staticmethod,
        &t.classmethod,
        &t.super_,
    ] {
        d.set_str(&cls.name(), Value::Class(cls.clone()));
    }
    for cls in &t.exceptions {
        d.set_str(&cls.name(), Value::Class(cls.clone()));
    }
    // The old names of OSError, the same class (`except IOError:` catches every OSError).
    let os_error = Value::Class(t.exc(ExcKind::OSError).clone());
    d.set_str("IOError", os_error.clone());
    d.set_str("EnvironmentError", os_error);
    d.set_str("exit", site::quitter("exit"));
    d.set_str("quit", site::quitter("quit"));
    d.set_str("help", site::helper());
    d.set_str("Ellipsis", Value::Ellipsis);
    d.set_str("NotImplemented", Value::NotImplemented);
    // True, as in CPython, unless -O compiled the asserts away.
    d.set_str("__debug__", Value::Bool(minivm_compiler::optimize() == 0));
    d.set_str("__name__", Value::str("builtins"));
    Ref::new(d)
}

/// A `num` library error as the matching Python exception.
pub fn num_err(e: crate::num::NumError) -> PyErr {
    use crate::num::NumError as N;
    let kind = match &e {
        N::ZeroDivision(_) => ExcKind::ZeroDivisionError,
        N::Overflow(_) => ExcKind::OverflowError,
        N::Value(_) => ExcKind::ValueError,
        N::Type(_) => ExcKind::TypeError,
        N::Unsupported(_) => ExcKind::NotImplementedError,
        N::Memory => ExcKind::MemoryError,
    };
    PyErr::new(kind, e.message().to_string())
}
