//! Stage 4 (VM), built-ins.
//! Calling a built-in type: `int(x)`, `str(x)`, `list(it)`, `dict(...)`, `range(...)`, `type(x)`, ...

use crate::builtins::args::ArgsExt;
use crate::builtins::dict_methods::{dict_update, update_kwargs};
use crate::builtins::num_err;
use crate::builtins::set_methods::key_set;
use crate::error::PyResult;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{
    class_of, type_name, types, Class, Dict, Instance, Payload, Range, SetObj, Slice, TypeKind,
};
use crate::raise;
use crate::value::Value;

/// `cls(*args, **kw)` for a built-in class other than the exceptions.
pub fn construct(interp: &mut Interp, cls: &Ref<Class>, args: Args) -> PyResult<Value> {
    // The class's name (an `Arc<str>`: a clone is an atomic add, its drop another) only where
    // a branch needs it: `set(s)` and `list(x)` are called in loops.
    let name = || cls.name();
    match cls.kind {
        TypeKind::Object => {
            interp.check_recursion(crate::interp::guard::CALLING)?;
            if !args.pos.is_empty() || !args.kw.is_empty() {
                raise!(TypeError, "object() takes no arguments");
            }
            Ok(Value::Instance(Ref::new(Instance::new(
                types().object.clone(),
            ))))
        }
        // `object` and `int` have no vectorcall in CPython 3.11: their call goes through
        // `tp_call`, one recursion level ("while calling a Python object"); the types that
        // have one (`list`, `float`, `str`, `range`...) take none.
        // The level is held while `int()` runs (`__int__`, `__index__`, `__trunc__` may recurse).
        TypeKind::Int => {
            interp.enter_recursion(crate::interp::guard::CALLING)?;
            let r = make_int(interp, args);
            interp.leave_recursion();
            r
        }
        TypeKind::Float => make_float(interp, args),
        TypeKind::Bool => {
            args.range("bool", 0, 1)?;
            match args.get(0) {
                None => Ok(Value::Bool(false)),
                Some(v) => interp.truthy(v).map(Value::Bool),
            }
        }
        TypeKind::Str => {
            // `str(x)`, the usual call, without the keyword parsing below (about 100 machine
            // instructions a call): the same as the general path with only `object` given.
            if let ([v], []) = (args.pos, args.kw) {
                return match v {
                    Value::Str(_) => Ok(v.clone()),
                    _ => interp.str_of(v).map(Value::string),
                };
            }
            args.only_kw("str", &["object", "encoding", "errors"])?;
            if args.pos.len() > 3 {
                raise!(
                    TypeError,
                    "str() takes at most 3 arguments ({} given)",
                    args.pos.len()
                );
            }
            let encoding = args.pos_or_kw("str", 1, "encoding")?;
            let errors = args.pos_or_kw("str", 2, "errors")?;
            if encoding.is_some() || errors.is_some() {
                // `str(b, encoding, errors)` decodes.
                let obj = args.pos_or_kw("str", 0, "object")?;
                if let Some(Value::Str(_)) = obj {
                    raise!(TypeError, "decoding str is not supported");
                }
                let Some(data) = obj.and_then(crate::object::bytes_like) else {
                    raise!(
                        TypeError,
                        "decoding to str: need a bytes-like object, {} found",
                        obj.map_or_else(|| "str".to_string(), type_name)
                    );
                };
                let (enc, errors) =
                    crate::builtins::codecs::encoding_args("str", encoding, errors)?;
                return Ok(Value::string(crate::builtins::codecs::decode(
                    &data, enc, &errors,
                )?));
            }
            match args.pos_or_kw("str", 0, "object")? {
                None => Ok(Value::str("")),
                Some(s @ Value::Str(_)) => Ok(s.clone()),
                Some(v) => interp.str_of(v).map(Value::string),
            }
        }
        TypeKind::Bytes => crate::builtins::bytes_methods::construct(interp, args, false),
        TypeKind::ByteArray => crate::builtins::bytes_methods::construct(interp, args, true),
        TypeKind::List => {
            args.no_kw("list")?;
            args.range("list", 0, 1)?;
            match args.get(0) {
                None => Ok(Value::list(Vec::new())),
                Some(Value::List(l)) => Ok(Value::list(l.snapshot())),
                Some(v) => interp.collect_sized(v).map(Value::list),
            }
        }
        TypeKind::Tuple => {
            args.no_kw("tuple")?;
            args.range("tuple", 0, 1)?;
            match args.get(0) {
                None => Ok(Value::tuple(Vec::new())),
                Some(t @ Value::Tuple(_)) => Ok(t.clone()),
                Some(v) => interp.collect_sized(v).map(Value::tuple),
            }
        }
        TypeKind::Dict => {
            if args.pos.len() > 1 {
                raise!(
                    TypeError,
                    "dict expected at most 1 argument, got {}",
                    args.pos.len()
                );
            }
            let d = Ref::new(Dict::new());
            if let Some(src) = args.get(0) {
                dict_update(interp, &d, src)?;
            }
            update_kwargs(&d, args.kw);
            Ok(Value::Dict(d))
        }
        TypeKind::Set | TypeKind::FrozenSet => {
            let frozen = cls.kind == TypeKind::FrozenSet;
            if !args.kw.is_empty() || args.pos.len() > 1 {
                let name = &*name();
                args.no_kw(name)?;
                args.range(name, 0, 1)?;
            }
            let items = match args.get(0) {
                None => Default::default(),
                Some(Value::Set(s)) if frozen && s.frozen => return Ok(Value::Set(s.clone())),
                Some(v) => key_set(interp, v)?,
            };
            Ok(Value::Set(Ref::new(SetObj::new(items, frozen))))
        }
        TypeKind::Range => {
            if args.kw.is_empty() {
                if let Some(r) = range_of_ints(args.pos) {
                    return Ok(r);
                }
            }
            args.no_kw("range")?;
            args.range("range", 1, 3)?;
            // Bounds are any ints (a range beyond 64 bits keeps big ones, `Range::big`).
            // An object with `__index__` stands for the int it returns (CPython's
            // `PyNumber_Index`), so `range(n)` works for any integer-like object.
            let mut vals = Vec::with_capacity(args.pos.len());
            for v in args.pos {
                vals.push(match v {
                    Value::Instance(_) => interp.number_index(v)?.unwrap_or_else(|| v.clone()),
                    _ => v.clone(),
                });
            }
            let ints: Vec<crate::num::Int> = vals
                .iter()
                .map(|v| match v {
                    Value::BigInt(b) => Ok(crate::num::Int::Big((**b).clone())),
                    v => interp.index_arg(v).map(crate::num::Int::Small),
                })
                .collect::<PyResult<_>>()?;
            use crate::num::Int::Small;
            let (start, stop, step) = match ints.as_slice() {
                [stop] => (Small(0), stop.clone(), Small(1)),
                [start, stop] => (start.clone(), stop.clone(), Small(1)),
                [start, stop, step] => (start.clone(), stop.clone(), step.clone()),
                _ => (Small(0), Small(0), Small(1)),
            };
            if step == Small(0) {
                raise!(ValueError, "range() arg 3 must not be zero");
            }
            let range = match (start, stop, step) {
                (Small(start), Small(stop), Small(step)) => Range::small(start, stop, step),
                (start, stop, step) => Range::from_big(start.into(), stop.into(), step.into()),
            };
            Ok(Value::Range(Ref::new(range)))
        }
        TypeKind::Slice => {
            args.no_kw("slice")?;
            args.range("slice", 1, 3)?;
            let get = |i: usize| args.get(i).cloned().unwrap_or(Value::None);
            let (start, stop, step) = match args.pos.len() {
                1 => (Value::None, get(0), Value::None),
                _ => (get(0), get(1), get(2)),
            };
            Ok(Value::Slice(Ref::new(Slice { start, stop, step })))
        }
        TypeKind::Type => {
            args.no_kw("type")?;
            match args.pos {
                [v] => Ok(Value::Class(class_of(v))),
                [name, bases, dict] => crate::interp::classdef::type_new(interp, name, bases, dict),
                _ => raise!(TypeError, "type() takes 1 or 3 arguments"),
            }
        }
        TypeKind::NoneType => {
            if !args.pos.is_empty() || !args.kw.is_empty() {
                raise!(TypeError, "NoneType takes no arguments");
            }
            Ok(Value::None)
        }
        TypeKind::Property => {
            let [fget, fset, fdel, doc] = property_args(interp, &args)?;
            let payload = Payload::Property { fget, fset, fdel };
            Ok(property_instance(cls, payload, Some(doc)))
        }
        TypeKind::StaticMethod | TypeKind::ClassMethod => {
            let name = &*name();
            args.no_kw(name)?;
            args.range(name, 1, 1)?;
            let f = args.get(0).cloned().unwrap_or(Value::None);
            let inst = Instance::with_payload(cls.clone(), Payload::Wrapped(f.clone()));
            // 3.10+ copies the wrapped callable's names, as `functools.wraps` does (those it
            // has: a built-in function has no `__annotations__`).
            for attr in [
                "__module__",
                "__name__",
                "__qualname__",
                "__doc__",
                "__annotations__",
            ] {
                match interp.getattr(&f, attr) {
                    Ok(v) => {
                        inst.dict.lock().insert(std::sync::Arc::from(attr), v);
                    }
                    Err(e) if e.is(crate::object::ExcKind::AttributeError) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(Value::Instance(Ref::new(inst)))
        }
        TypeKind::Super => {
            args.no_kw("super")?;
            // (`super()` inside a method is answered before this, by `Interp::zero_arg_super`.)
            match args.pos {
                [Value::Class(start), obj] => make_super(cls, start, obj),
                // `super(C)`: unbound until its `__get__(obj)` binds it.
                [Value::Class(start)] => Ok(Value::Instance(Ref::new(Instance::with_payload(
                    cls.clone(),
                    Payload::Super {
                        start: start.clone(),
                        obj: Value::Undefined,
                    },
                )))),
                [] => raise!(RuntimeError, "super(): no arguments"),
                [other] | [other, _] => raise!(
                    TypeError,
                    "super() argument 1 must be a type, not {}",
                    type_name(other)
                ),
                _ => raise!(
                    TypeError,
                    "super() expected at most 2 arguments, got {}",
                    args.pos.len()
                ),
            }
        }
        TypeKind::Method => {
            // `types.MethodType(func, obj)`: `func` bound to `obj`.
            args.no_kw("method")?;
            match args.pos {
                [func, obj] => {
                    if !crate::builtins::functions::is_callable(interp, func) {
                        raise!(TypeError, "first argument must be callable");
                    }
                    if obj.is_none() {
                        raise!(TypeError, "instance must not be None");
                    }
                    Ok(interp.bind(obj.clone(), func.clone()))
                }
                _ => raise!(
                    TypeError,
                    "method expected 2 arguments, got {}",
                    args.pos.len()
                ),
            }
        }
        // `zip(a, b)`, `enumerate(x)`...: the iterator types that are built-in names, and
        // `itertools.permutations(x)`... (module `itertools`).
        TypeKind::Iterator => {
            let name = &*name();
            let table = if &*cls.module == "itertools" {
                crate::stdlib::itertools::ITERATOR_TYPES
            } else {
                crate::builtins::iter_functions::ITERATOR_TYPES
            };
            match table.iter().find(|(n, _)| *n == name) {
                Some((_, make)) => make(interp, args),
                None => raise!(TypeError, "cannot create '{name}' instances"),
            }
        }
        // `types.ModuleType(name, doc=None)`: a new, empty module (CPython's five attributes).
        TypeKind::Module => {
            args.only_kw("module", &["name", "doc"])?;
            if args.pos.len() > 2 {
                raise!(
                    TypeError,
                    "module() takes at most 2 arguments ({} given)",
                    args.pos.len()
                );
            }
            let Some(module_name) = args.pos_or_kw("module", 0, "name")? else {
                raise!(
                    TypeError,
                    "module() missing required argument 'name' (pos 1)"
                );
            };
            let Value::Str(module_name) = module_name else {
                raise!(
                    TypeError,
                    "module() argument 'name' must be str, not {}",
                    crate::object::type_name(module_name)
                );
            };
            let doc = args.pos_or_kw("module", 1, "doc")?.cloned();
            let m = crate::stdlib::make_module(
                module_name.as_str(),
                vec![
                    ("__doc__", doc.unwrap_or(Value::None)),
                    ("__package__", Value::None),
                    ("__loader__", Value::None),
                    ("__spec__", Value::None),
                ],
            );
            Ok(Value::Module(m))
        }
        // `type(...)()` and `type(NotImplemented)()`: the singletons, as CPython 3.11's.
        _ if Ref::ptr_eq(cls, &class_of(&Value::Ellipsis))
            || Ref::ptr_eq(cls, &class_of(&Value::NotImplemented)) =>
        {
            let (v, what) = match Ref::ptr_eq(cls, &class_of(&Value::Ellipsis)) {
                true => (Value::Ellipsis, "EllipsisType"),
                false => (Value::NotImplemented, "NotImplementedType"),
            };
            if !args.pos.is_empty() || !args.kw.is_empty() {
                raise!(TypeError, "{what} takes no arguments");
            }
            Ok(v)
        }
        _ => raise!(TypeError, "cannot create '{}' instances", name()),
    }
}

/// `super(start, obj)` of class `cls`, once `obj` is checked to be an instance or subclass of
/// `start`.
fn make_super(cls: &Ref<Class>, start: &Ref<Class>, obj: &Value) -> PyResult<Value> {
    // (A class is also an instance of its metaclass: `super(Meta, C)`.)
    let ok = match obj {
        Value::Class(c) => c.is_subclass(start) || class_of(obj).is_subclass(start),
        other => class_of(other).is_subclass(start),
    };
    if !ok {
        raise!(
            TypeError,
            "super(type, obj): obj must be an instance or subtype of type"
        );
    }
    let payload = Payload::Super {
        start: start.clone(),
        obj: obj.clone(),
    };
    Ok(Value::Instance(Ref::new(Instance::with_payload(
        cls.clone(),
        payload,
    ))))
}

/// The attributes of a super object itself, which CPython finds when the classes after
/// `start` have none of that name: `__thisclass__` (`start`), `__self__` (the object or class
/// it is bound to), `__self_class__` (that object's class, or that class), `__get__` (binding an
/// unbound `super(C)` to an object) and `__class__`. `None` for any other name.
pub(crate) fn super_member(
    this: &Value,
    start: &Ref<Class>,
    obj: &Value,
    name: &str,
) -> Option<Value> {
    let bound = !matches!(obj, Value::Undefined);
    Some(match name {
        "__thisclass__" => Value::Class(start.clone()),
        "__self__" if bound => obj.clone(),
        "__self_class__" if bound => match obj {
            Value::Class(c) if c.is_subclass(start) => obj.clone(),
            other => Value::Class(class_of(other)),
        },
        "__self__" | "__self_class__" => Value::None,
        "__class__" => Value::Class(class_of(this)),
        "__get__" => {
            let get: crate::object::NativeFn = |_, args| {
                let (this, obj) = match args.pos {
                    [_, obj] | [_, obj, Value::None] if obj.is_none() => {
                        raise!(TypeError, "__get__(None, None) is invalid")
                    }
                    [this, obj] | [this, obj, _] => (this, obj),
                    _ => raise!(TypeError, "expected 1 or 2 arguments"),
                };
                match this {
                    Value::Instance(inst) => match &inst.payload {
                        Payload::Super {
                            start,
                            obj: Value::Undefined,
                        } if !obj.is_none() => make_super(&inst.class.get(), start, obj),
                        _ => Ok(this.clone()),
                    },
                    _ => Ok(this.clone()),
                }
            };
            let f = Value::Native(Ref::new(crate::object::NativeFunction::new("__get__", get)));
            return Some(Value::BoundMethod(Ref::new(crate::object::BoundMethod {
                receiver: this.clone(),
                func: f,
            })));
        }
        _ => return None,
    })
}

/// `range(stop)`, `range(start, stop)` or `range(start, stop, step)` when every argument is a
/// plain int and the step is not zero: the range, made without the general path's checks and
/// conversions (two vectors of bounds). `None` for anything else, which that path handles
/// (errors included). The dispatch loop's call of the built-in `range` comes here first
/// (`call.rs: call_on_stack`), as `for i in range(n)` in a loop calls it again and again.
#[inline]
pub fn range_of_ints(pos: &[Value]) -> Option<Value> {
    let (start, stop, step) = match *pos {
        [Value::Int(stop)] => (0, stop, 1),
        [Value::Int(start), Value::Int(stop)] => (start, stop, 1),
        [Value::Int(start), Value::Int(stop), Value::Int(step)] if step != 0 => (start, stop, step),
        _ => return None,
    };
    Some(Value::Range(Ref::new(Range::small(start, stop, step))))
}

fn make_int(interp: &mut Interp, args: Args) -> PyResult<Value> {
    args.only_kw("int", &["base"])?;
    if args.pos.len() > 2 {
        raise!(
            TypeError,
            "int() takes at most 2 arguments ({} given)",
            args.pos.len()
        );
    }
    let base = args.pos_or_kw("int", 1, "base")?;
    let Some(x) = args.get(0) else {
        if base.is_some() {
            raise!(TypeError, "int() missing string argument");
        }
        return Ok(Value::Int(0));
    };
    if let Some(b) = base {
        let b = interp.index_arg(b)?;
        return match x {
            Value::Str(s) => crate::num::parse_int(s.as_str(), b)
                .map(Value::from)
                .map_err(num_err),
            Value::Bytes(_) | Value::ByteArray(_) => int_from_bytes(interp, x, b),
            _ => raise!(
                TypeError,
                "int() can't convert non-string with explicit base"
            ),
        };
    }
    match x {
        Value::Bytes(_) | Value::ByteArray(_) => int_from_bytes(interp, x, 10),
        Value::Int(i) => Ok(Value::Int(*i)),
        Value::BigInt(_) => Ok(x.clone()),
        Value::Bool(b) => Ok(Value::Int(*b as i64)),
        Value::Float(f) => crate::num::float_to_int(*f)
            .map(Value::from)
            .map_err(num_err),
        Value::Str(s) => crate::num::parse_int(s.as_str(), 10)
            .map(Value::from)
            .map_err(num_err),
        Value::Instance(i) if crate::builtins::memoryview::view_bytes(i).is_some() => {
            int_from_bytes(interp, x, 10)
        }
        Value::Instance(_) => {
            for name in ["__int__", "__index__", "__trunc__"] {
                if let Some(m) = interp.lookup_special(x, name) {
                    let r = interp.call(&m, std::slice::from_ref(x))?;
                    return match r {
                        Value::Int(_) | Value::BigInt(_) => Ok(r),
                        Value::Bool(b) => Ok(Value::Int(b as i64)),
                        other => raise!(
                            TypeError,
                            "{name} returned non-int (type {})",
                            type_name(&other)
                        ),
                    };
                }
            }
            if let Some(base) = crate::object::builtin_base(x) {
                return make_int(
                    interp,
                    Args {
                        pos: std::slice::from_ref(base),
                        kw: &[],
                    },
                );
            }
            raise!(
                TypeError,
                "int() argument must be a string, a bytes-like object or a real number, not '{}'",
                type_name(x)
            )
        }
        other => raise!(
            TypeError,
            "int() argument must be a string, a bytes-like object or a real number, not '{}'",
            type_name(other)
        ),
    }
}

/// The text of a bytes-like argument of `int()`/`float()`, which CPython parses byte by byte as
/// ASCII: `None` if a byte could not be part of a number in any base (non-ASCII, or the
/// separators \x1c-\x1f that str's whitespace includes but bytes' does not).
fn ascii_number_text(x: &Value) -> Option<String> {
    let bytes = crate::object::bytes_like(x)?;
    if bytes
        .iter()
        .any(|&c| !c.is_ascii() || (0x1c..=0x1f).contains(&c))
    {
        return None;
    }
    Some(bytes.iter().map(|&c| char::from(c)).collect())
}

/// `int(b'42')`, `int(bytearray(b'ff'), 16)`, `int(memoryview(...))`: parsed as the same
/// ASCII text would be, but an invalid literal is reported with the bytes object's repr, as
/// CPython does (`invalid literal for int() with base 10: b'x'`).
fn int_from_bytes(interp: &mut Interp, x: &Value, base: i64) -> PyResult<Value> {
    let text = ascii_number_text(x);
    let parsed = crate::num::parse_int(text.as_deref().unwrap_or("?"), base);
    match parsed {
        Ok(n) => Ok(Value::from(n)),
        Err(crate::num::NumError::Value(m)) if m.starts_with("invalid literal") => {
            // CPython's `%.200R` of a bytes copy (a bytearray or a view shows as `b'...'`
            // too), cut to 200 characters.
            let copy =
                Value::bytes(crate::object::bytes_like(x).map_or(Vec::new(), |b| b.to_vec()));
            let r: String = interp.repr(&copy)?.chars().take(200).collect();
            raise!(
                ValueError,
                "invalid literal for int() with base {base}: {r}"
            )
        }
        Err(e) => Err(num_err(e)),
    }
}

/// `float(b'1.5')`, `float(bytearray(...))`, `float(memoryview(...))`, as `int_from_bytes`.
fn float_from_bytes(interp: &mut Interp, x: &Value) -> PyResult<Value> {
    let parsed = ascii_number_text(x).map(|t| crate::num::parse_float(&t));
    match parsed {
        Some(Ok(f)) => Ok(Value::Float(crate::num::new_float(f))),
        Some(Err(crate::num::NumError::Value(_))) | None => {
            let r = interp.repr(x)?;
            raise!(ValueError, "could not convert string to float: {r}")
        }
        Some(Err(e)) => Err(num_err(e)),
    }
}

/// `float(v)`: what the built-in gives for one argument.
pub(crate) fn to_float(interp: &mut Interp, v: &Value) -> PyResult<Value> {
    make_float(
        interp,
        Args {
            pos: std::slice::from_ref(v),
            kw: &[],
        },
    )
}

fn make_float(interp: &mut Interp, args: Args) -> PyResult<Value> {
    args.no_kw("float")?;
    args.range("float", 0, 1)?;
    let Some(x) = args.get(0) else {
        return Ok(Value::Float(0.0));
    };
    match x {
        Value::Float(f) => Ok(Value::Float(*f)),
        Value::Int(i) => Ok(Value::Float(*i as f64)),
        Value::BigInt(b) => crate::num::bigint::to_f64(b)
            .map(Value::Float)
            .map_err(num_err),
        Value::Bool(b) => Ok(Value::Float(*b as i64 as f64)),
        Value::Str(s) => crate::num::parse_float(s.as_str())
            .map(|f| Value::Float(crate::num::new_float(f)))
            .map_err(num_err),
        Value::Bytes(_) | Value::ByteArray(_) => float_from_bytes(interp, x),
        Value::Instance(i) if crate::builtins::memoryview::view_bytes(i).is_some() => {
            float_from_bytes(interp, x)
        }
        Value::Instance(_) => {
            for name in ["__float__", "__index__"] {
                if let Some(m) = interp.lookup_special(x, name) {
                    let r = interp.call(&m, std::slice::from_ref(x))?;
                    return match r {
                        Value::Float(_) => Ok(r),
                        Value::Int(i) if name == "__index__" => Ok(Value::Float(i as f64)),
                        Value::BigInt(b) if name == "__index__" => crate::num::bigint::to_f64(&b)
                            .map(Value::Float)
                            .map_err(num_err),
                        other => raise!(
                            TypeError,
                            "{}.{name} returned non-float (type {})",
                            type_name(x),
                            type_name(&other)
                        ),
                    };
                }
            }
            if let Some(base) = crate::object::builtin_base(x) {
                return make_float(
                    interp,
                    Args {
                        pos: std::slice::from_ref(base),
                        kw: &[],
                    },
                );
            }
            raise!(
                TypeError,
                "float() argument must be a string or a real number, not '{}'",
                type_name(x)
            )
        }
        other => raise!(
            TypeError,
            "float() argument must be a string or a real number, not '{}'",
            type_name(other)
        ),
    }
}

/// A property object of class `cls` with the accessors of `payload`, its `__doc__` (if given)
/// kept in its own dict as CPython keeps it: made by `property(...)` and by
/// `prop.setter/getter/deleter`, which copy the doc.
/// The arguments of `property(fget=None, fset=None, fdel=None, doc=None)` (and of
/// `property.__init__`): the three accessors, and the `__doc__`: `doc`, else the getter's
/// docstring (None without one).
pub(crate) fn property_args(interp: &mut Interp, args: &Args<'_>) -> PyResult<[Value; 4]> {
    args.only_kw("property", &["fget", "fset", "fdel", "doc"])?;
    if args.pos.len() > 4 {
        raise!(
            TypeError,
            "property() takes at most 4 arguments ({} given)",
            args.pos.len()
        );
    }
    let get = |i: usize, k: &str| -> PyResult<Value> {
        Ok(args
            .pos_or_kw("property", i, k)?
            .cloned()
            .unwrap_or(Value::None))
    };
    let fget = get(0, "fget")?;
    let doc = match get(3, "doc")? {
        Value::None if !fget.is_none() => interp.getattr(&fget, "__doc__").unwrap_or(Value::None),
        doc => doc,
    };
    Ok([fget, get(1, "fset")?, get(2, "fdel")?, doc])
}

pub(crate) fn property_instance(cls: &Ref<Class>, payload: Payload, doc: Option<Value>) -> Value {
    let inst = Instance::with_payload(cls.clone(), payload);
    if let Some(doc) = doc {
        let old = inst
            .dict
            .lock()
            .insert(std::sync::Arc::from("__doc__"), doc);
        drop(old);
    }
    Value::Instance(Ref::new(inst))
}
