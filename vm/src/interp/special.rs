//! Stage 4 (VM), the interpreter.
//! Special methods found on a class, as an operator, a built-in or a statement calls them.
//!
//! CPython's type slots (`len(x)`, `x + y`, `next(it)`, `with x:`) look the special method up on
//! the class and bind it to the instance through the descriptor protocol: a function binds, a
//! `staticmethod` gives its function, a `classmethod` binds the class, an object whose class
//! defines `__get__` gives what that returns, and everything else (a bound method such as
//! `iter(xs).__next__`, a built-in function such as `print`, a `functools.partial`, a callable
//! instance) is called as it is, without the instance. The callers here call what
//! [`special_method`] returns with the instance as first argument, so that the common case (a
//! function) costs no allocation; the other kinds come wrapped so that they take the instance
//! and do what CPython does with it.

use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{class_of, BoundMethod, Class, NativeFunction, NativeKind, Payload, TypeKind};
use crate::value::Value;
use crate::PyResult;

/// The special method `name` of `cls` (the class of the instance it is called for), callable
/// with the instance first.
pub(crate) fn lookup_special_on(cls: &Ref<Class>, name: &str) -> Option<Value> {
    let m = cls.lookup(name)?;
    Some(special_method(cls, name, m))
}

/// `m`, found as `cls.name`, made callable with the instance first (see the module's comment).
/// `None` stays `None` (`__hash__ = None`, `__iter__ = None` say the operation is not supported).
pub(crate) fn special_method(cls: &Ref<Class>, name: &str, m: Value) -> Value {
    match &m {
        Value::Function(_) | Value::None => m,
        // Method and slot descriptors of built-in types bind; so do the methods of classes
        // written in Rust. A built-in function (`print`, `operator.eq`) does not.
        Value::Native(n)
            if n.kind != NativeKind::Function
                || crate::interp::attr::native_binds(cls, name, n) =>
        {
            m
        }
        Value::Instance(d) => match (&d.payload, d.class.kind) {
            (Payload::Wrapped(f), TypeKind::StaticMethod) => without_instance(f.clone()),
            (Payload::Wrapped(f), TypeKind::ClassMethod) => {
                without_instance(Value::BoundMethod(Ref::new(BoundMethod {
                    receiver: Value::Class(cls.clone()),
                    func: f.clone(),
                })))
            }
            _ if d.class.lookup("__get__").is_some() => wrap(m.clone(), through_get),
            _ => without_instance(m.clone()),
        },
        _ => without_instance(m.clone()),
    }
}

fn without_instance(f: Value) -> Value {
    wrap(f, call_without_instance)
}

/// `target` bound to a native that receives `[target, instance, args...]`.
fn wrap(target: Value, f: crate::object::NativeFn) -> Value {
    Value::BoundMethod(Ref::new(BoundMethod {
        receiver: target,
        func: Value::Native(Ref::new(NativeFunction::new("special method", f))),
    }))
}

/// `target(args...)`: the instance is dropped, as CPython's slots do for a callable that is
/// not a descriptor.
fn call_without_instance(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    match args.pos {
        [target, _instance, rest @ ..] => interp.call_kw(target, rest, args.kw),
        _ => Err(crate::err!(
            SystemError,
            "special method called without its instance"
        )),
    }
}

/// `type(d).__get__(d, instance, type(instance))(args...)`.
fn through_get(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [descr, instance, rest @ ..] = args.pos else {
        return Err(crate::err!(
            SystemError,
            "special method called without its instance"
        ));
    };
    let Some(get) = class_of(descr).lookup("__get__") else {
        return interp.call_kw(descr, rest, args.kw);
    };
    let owner = Value::Class(class_of(instance));
    let bound = interp.call(&get, &[descr.clone(), instance.clone(), owner])?;
    interp.call_kw(&bound, rest, args.kw)
}
