//! Stage 4 (VM), built-ins.
//! Data attributes of built-in values (`range.start`, `exc.args`, `f.__name__`, ...).

use crate::error::PyResult;
use crate::heap::Ref;
use crate::interp::Interp;
use std::sync::Arc;

use crate::object::{class_of, Class, Dict, Function};
use crate::value::Value;

/// Whether `inst` is an exception of `kind` or of a subclass of it.
fn is_exc(inst: &crate::object::Instance, kind: crate::object::ExcKind) -> bool {
    inst.class.is_subclass(crate::object::types().exc(kind))
}

/// Whether `name` is one of a Unicode error's two `Py_ssize_t` members (`start`, `end`), which
/// CPython converts when they are set and will not delete.
pub fn is_unicode_position(inst: &crate::object::Instance, name: &str) -> bool {
    use crate::object::ExcKind;
    matches!(name, "start" | "end")
        && (is_exc(inst, ExcKind::UnicodeEncodeError)
            || is_exc(inst, ExcKind::UnicodeDecodeError)
            || is_exc(inst, ExcKind::UnicodeTranslateError))
}

/// A value given to such a member, as CPython's `T_PYSSIZET` member takes it: an int (a bool
/// or an int subclass as its int value; past 64 bits `OverflowError`), anything else
/// `TypeError: an integer is required` (`__index__` is not asked).
pub fn unicode_position(v: &Value) -> PyResult<Value> {
    let int_like = matches!(v, Value::Int(_) | Value::Bool(_) | Value::BigInt(_))
        || crate::object::builtin_base(v)
            .is_some_and(|b| matches!(b, Value::Int(_) | Value::BigInt(_)));
    if !int_like {
        return Err(crate::err!(TypeError, "an integer is required"));
    }
    crate::builtins::args::to_index(v).map(Value::Int)
}

/// Whether `name` is the member CPython gives exceptions of `inst`'s class besides `args`:
/// `StopIteration.value`, `SystemExit.code` (subclasses too).
pub fn member_of(inst: &crate::object::Instance, name: &str) -> bool {
    use crate::object::ExcKind;
    match name {
        "value" => is_exc(inst, ExcKind::StopIteration),
        "code" => is_exc(inst, ExcKind::SystemExit),
        _ => false,
    }
}

/// Whether `name` is a field CPython keeps as a member of `inst`'s exception class, out of its
/// `__dict__` (minivm keeps the value in the instance's table, as it keeps `__slots__` members:
/// `interp/views.rs`): `OSError`'s, `SyntaxError`'s, `NameError.name`, `AttributeError.name`
/// and `.obj`, `ImportError`'s `name`/`path`/`msg`, the Unicode errors' `encoding`/`object`/
/// `start`/`end`/`reason`, an exception group's `message`/`exceptions`.
pub fn exc_field_member(inst: &crate::object::Instance, name: &str) -> bool {
    use crate::object::ExcKind;
    match name {
        "name" | "path" | "msg" if is_exc(inst, ExcKind::ImportError) => true,
        "encoding" | "object" | "start" | "end" | "reason"
            if is_exc(inst, ExcKind::UnicodeEncodeError)
                || is_exc(inst, ExcKind::UnicodeDecodeError)
                || is_exc(inst, ExcKind::UnicodeTranslateError) =>
        {
            true
        }
        "message" | "exceptions" => is_exc(inst, ExcKind::BaseExceptionGroup),
        "msg"
        | "filename"
        | "lineno"
        | "offset"
        | "text"
        | "end_lineno"
        | "end_offset"
        | "print_file_and_line"
            if is_exc(inst, ExcKind::SyntaxError) =>
        {
            true
        }
        "name" if is_exc(inst, ExcKind::NameError) || is_exc(inst, ExcKind::AttributeError) => true,
        "obj" => is_exc(inst, ExcKind::AttributeError),
        _ => crate::stdlib::os::is_os_error_member(inst, name),
    }
}

/// `StopIteration.value` / `SystemExit.code`: what was assigned to it, else what `__init__` set
/// from the arguments (none: `None`; `value` is the first, `code` the only one or the tuple of
/// several) -- `None` if a subclass's own `__init__` never called the base one.
pub fn exc_member(d: &crate::object::ExcData, name: &str) -> Value {
    if let Some(v) = &d.member {
        return v.clone();
    }
    match (d.init_pending, d.args.as_slice()) {
        (true, _) | (false, []) => Value::None,
        (false, [one]) => one.clone(),
        (false, [first, ..]) if name == "value" => first.clone(),
        (false, many) => Value::tuple(many.to_vec()),
    }
}

fn class_value(c: &Ref<Class>) -> Value {
    Value::Class(c.clone())
}

/// The docstring of the class of `obj` when that is a class of `builtins` whose values carry
/// no docstring of their own (not a class, whose `__doc__` is its own, nor a property,
/// staticmethod, classmethod or super object, which have or look up their own).
fn value_class_doc(obj: &Value) -> Option<&'static str> {
    if matches!(obj, Value::Class(_)) {
        return None;
    }
    let cls = class_of(obj);
    if matches!(
        &*cls.name(),
        "property" | "staticmethod" | "classmethod" | "super" | "type"
    ) {
        return None;
    }
    crate::interp::attr::builtin_class_doc(&cls)
}

/// A data attribute of a built-in value, or `None` when `name` is not one (the caller then looks
/// the name up as a method or raises `AttributeError`).
pub fn builtin_attr(_interp: &mut Interp, obj: &Value, name: &str) -> Option<PyResult<Value>> {
    let v = match (obj, name) {
        (_, "__class__") => class_value(&class_of(obj)),
        // A value of a class of `builtins` (`(5).__doc__`, `ValueError('v').__doc__`): its
        // class's docstring (a subclass's instances find their own class's entry).
        (_, "__doc__") if value_class_doc(obj).is_some() => {
            Value::str(value_class_doc(obj).unwrap_or_default())
        }
        (Value::Range(r), "start" | "stop" | "step") if r.big().is_some() => {
            let (start, stop, step, _) = r.bounds_big();
            Value::from(match name {
                "start" => start,
                "stop" => stop,
                _ => step,
            })
        }
        (Value::Range(r), "start") => Value::Int(r.start),
        (Value::Range(r), "stop") => Value::Int(r.stop),
        (Value::Range(r), "step") => Value::Int(r.step),
        (Value::Slice(s), "start") => s.start.clone(),
        (Value::Slice(s), "stop") => s.stop.clone(),
        (Value::Slice(s), "step") => s.step.clone(),
        (Value::Int(i), "real" | "numerator") => Value::Int(*i),
        (Value::BigInt(_), "real" | "numerator") => obj.clone(),
        (Value::BigInt(_), "imag") => Value::Int(0),
        (Value::BigInt(_), "denominator") => Value::Int(1),
        (Value::Bool(b), "real" | "numerator") => Value::Int(*b as i64),
        (Value::Int(_) | Value::Bool(_), "imag") => Value::Int(0),
        (Value::Int(_) | Value::Bool(_), "denominator") => Value::Int(1),
        (Value::Float(f), "real") => Value::Float(*f),
        (Value::Float(_), "imag") => Value::Float(0.0),
        (Value::Complex(c), "real") => Value::Float(crate::num::new_float(c.re)),
        (Value::Complex(c), "imag") => Value::Float(crate::num::new_float(c.im)),
        (Value::Instance(i), _) => {
            let data = i.exc()?;
            let d = data.lock();
            match name {
                "args" => Value::tuple(d.args.clone()),
                "__cause__" => d.cause.clone().unwrap_or(Value::None),
                "__context__" => d.context.clone().unwrap_or(Value::None),
                "__suppress_context__" => Value::Bool(d.suppress_context),
                "__traceback__" => {
                    drop(d);
                    crate::interp::exc::traceback_value(i)
                }
                "value" | "code" if member_of(i, name) => exc_member(&d, name),
                // An `OSError`'s member while unset (set, it is in the instance's table).
                "characters_written" if crate::stdlib::os::is_characters_written(i, name) => {
                    return Some(Err(crate::err!(AttributeError, "characters_written")));
                }
                _ => {
                    let v = exc_default_attr(i, &d, name)?;
                    return Some(Ok(v));
                }
            }
        }
        (Value::Function(f), _) => return function_attr(f, name).map(Ok),
        (Value::Cell(c), "cell_contents") => match c.get() {
            Value::Undefined => return Some(Err(crate::err!(ValueError, "Cell is empty"))),
            v => v,
        },
        (Value::Native(n), "__name__" | "__qualname__") => Value::str(n.name),
        (Value::Native(n), "__module__") => match n.kind {
            crate::object::NativeKind::Function => match native_module(_interp, n) {
                Some(m) => Value::str(crate::stdlib::os::cpython_home(&m, n.name)),
                None => Value::None,
            },
            // A method descriptor (`str.join`) has no `__module__` in CPython.
            _ => return None,
        },
        (Value::BoundMethod(m), "__self__") => m.receiver.clone(),
        (Value::BoundMethod(m), "__func__") => m.func.clone(),
        (Value::BoundMethod(m), "__name__" | "__qualname__") => {
            return builtin_attr(_interp, &m.func.clone(), name);
        }
        (Value::Generator(g), "__name__") => {
            Value::Str(Ref::new(crate::object::PyStr::new(&g.name())))
        }
        (Value::Generator(g), "__qualname__") => {
            Value::Str(Ref::new(crate::object::PyStr::new(&g.qualname())))
        }
        (Value::Generator(g), _) if crate::interp::coro::is_state_attr(g, name) => {
            crate::interp::coro::state_attr(_interp, g, name)
        }
        (Value::Module(m), "__name__") => m
            .dict
            .get_str("__name__")
            .unwrap_or_else(|| Value::Str(Ref::new(crate::object::PyStr::new(&m.name)))),
        (Value::Class(c), _) => match name {
            "__name__" => match c.name_value.read().clone() {
                Some(v) => v,
                None => Value::Str(Ref::new(crate::object::PyStr::new(&c.name()))),
            },
            "__qualname__" => match c.qualname_value.read().clone() {
                Some(v) => v,
                None => Value::Str(Ref::new(crate::object::PyStr::new(&c.qualname()))),
            },
            "__module__" => match c.dict.read().get("__module__") {
                Some(v) => v.clone(),
                None => Value::Str(Ref::new(crate::object::PyStr::new(&c.module))),
            },
            "__base__" => c.base.as_ref().map_or(Value::None, class_value),
            "__bases__" => Value::tuple(c.bases.iter().map(class_value).collect()),
            "__mro__" => Value::tuple(Class::mro(c).iter().map(class_value).collect()),
            "__doc__" => match c.dict.read().get("__doc__") {
                Some(v) => v.clone(),
                None => Value::None,
            },
            _ => return None,
        },
        _ => return None,
    };
    Some(Ok(v))
}

/// Whether CPython keeps attribute `name` of a function in the function object itself (these
/// are never in its `__dict__`); every other attribute assigned to a function is a `__dict__`
/// entry.
fn function_own(name: &str) -> bool {
    matches!(
        name,
        "__name__"
            | "__qualname__"
            | "__module__"
            | "__doc__"
            | "__defaults__"
            | "__kwdefaults__"
            | "__code__"
            | "__annotations__"
            | "__globals__"
            | "__closure__"
            | "__builtins__"
            | "__dict__"
    )
}

/// The function's `__dict__`, made on first use from the attributes assigned so far (which move
/// into it: from then on it alone holds them, so changes made through it are the function's).
fn function_dict(f: &Ref<Function>) -> Ref<Dict> {
    let mut attrs = f.attrs.lock();
    if let Some(Value::Dict(d)) = attrs.get("__dict__") {
        return d.clone();
    }
    let d = Ref::new(Dict::new());
    let moved: Vec<Arc<str>> = attrs.keys().filter(|k| !function_own(k)).cloned().collect();
    for k in moved {
        if let Some(v) = attrs.shift_remove(&k) {
            d.set_str(&k, v);
        }
    }
    attrs.insert(Arc::from("__dict__"), Value::Dict(d.clone()));
    d
}

/// The names of the attributes assigned to a function (for `dir`), its `__dict__`'s included.
pub fn function_attr_names(f: &Ref<Function>) -> Vec<Arc<str>> {
    let (mut names, dict): (Vec<Arc<str>>, _) = {
        let attrs = f.attrs.lock();
        let dict = match attrs.get("__dict__") {
            Some(Value::Dict(d)) => Some(d.clone()),
            _ => None,
        };
        (attrs.keys().cloned().collect(), dict)
    };
    if let Some(d) = dict {
        for k in d.keys() {
            if let Value::Str(s) = k {
                names.push(Arc::from(s.as_str()));
            }
        }
    }
    names
}

/// `f.name = v` on a function (the names a call reads are refused by the caller).
/// `gen.__name__ = v` or `gen.__qualname__ = v` (a generator, coroutine or async generator):
/// any str, as CPython's.
pub fn set_generator_name(
    g: &Ref<crate::object::Generator>,
    name: &str,
    v: &Value,
) -> PyResult<()> {
    let Some(text) = v.as_str() else {
        return Err(crate::err!(
            TypeError,
            "{name} must be set to a string object"
        ));
    };
    g.rename(name == "__qualname__", std::sync::Arc::from(text));
    Ok(())
}

/// `f.__code__ = code`, as CPython's setter: a code object with as many free variables as the
/// function has cells (`__closure__`), else CPython's ValueError. Calls made from then on run
/// the new code (a call running keeps its own); the function keeps its name and qualified
/// name (CPython's are the function's own, minivm reads them from the code unless assigned,
/// so the old ones are assigned first), and `f.__code__` is the object given.
pub(crate) fn set_function_code(interp: &mut Interp, f: &Ref<Function>, v: Value) -> PyResult<()> {
    let Some(obj) = crate::builtins::eval::compiled_code(&v) else {
        return Err(crate::err!(
            TypeError,
            "__code__ must be set to a code object"
        ));
    };
    let (nfree, nclosure) = (obj.freevars.len(), f.closure.len());
    if nfree != nclosure {
        let name = function_attr(f, "__name__").map_or_else(String::new, |n| match n {
            Value::Str(s) => s.as_str().to_string(),
            _ => String::new(),
        });
        return Err(crate::err!(
            ValueError,
            "{name}() requires a code object with {nclosure} free vars, not {nfree}"
        ));
    }
    for key in ["__name__", "__qualname__"] {
        if !f.attrs.read().contains_key(key) {
            if let Some(old) = function_attr(f, key) {
                set_function_attr(f, key, old)?;
            }
        }
    }
    let code = crate::interp::code::Code::load(obj);
    let _ = code.value.set(v.clone());
    interp.stop_the_world_lending(None, || f.code.replace(code));
    let old = f.attrs.lock().insert(Arc::from("__code__"), v);
    drop(old);
    Ok(())
}

/// `f.__defaults__ = v` or `f.__kwdefaults__ = v` (`v` None for `del`), as CPython's setters:
/// a tuple (a dict) or None, else CPython's TypeError. Calls made from then on use the new
/// values (a call binding its arguments already keeps the old ones); reading the attribute gives
/// the object assigned (kept in the function's attributes), `()` and `{}` included, None after
/// `None` or `del`. As in CPython, positional defaults longer than the parameters fill the last
/// ones from the tuple's end.
pub(crate) fn set_function_defaults(
    interp: &mut Interp,
    f: &Ref<Function>,
    name: &str,
    v: Value,
) -> PyResult<()> {
    let cur = f.defaults.get();
    let (pos, kw) = match (name, &v) {
        ("__defaults__", Value::None) => (Box::default(), cur.kw.clone()),
        ("__defaults__", Value::Tuple(t)) => {
            let nparams = f.code.obj.argcount as usize;
            let skip = t.items.len().saturating_sub(nparams);
            (t.items[skip..].to_vec().into_boxed_slice(), cur.kw.clone())
        }
        ("__kwdefaults__", Value::None) => (cur.pos.clone(), None),
        ("__kwdefaults__", Value::Dict(d)) => (cur.pos.clone(), Some(d.clone())),
        _ => {
            let what = if name == "__defaults__" {
                "a tuple"
            } else {
                "a dict"
            };
            return Err(crate::err!(
                TypeError,
                "{name} must be set to {what} object"
            ));
        }
    };
    let new = crate::object::Defaults::new(pos, kw);
    interp.stop_the_world_lending(None, || f.defaults.replace(new));
    let old = f.attrs.lock().insert(Arc::from(name), v);
    drop(old);
    Ok(())
}

pub fn set_function_attr(f: &Ref<Function>, name: &str, v: Value) -> PyResult<()> {
    // The types CPython's function setters require.
    let wrong_type = match name {
        // (A str subclass's instance passes, and is kept: `f.__qualname__` gives it back.)
        "__name__" | "__qualname__" => v.as_str().is_none().then_some("a string"),
        "__annotations__" => (!matches!(v, Value::Dict(_) | Value::None)).then_some("a dict"),
        _ => None,
    };
    if let Some(what) = wrong_type {
        return Err(crate::err!(
            TypeError,
            "{name} must be set to {what} object"
        ));
    }
    if name == "__dict__" {
        let Value::Dict(new) = &v else {
            return Err(crate::err!(
                TypeError,
                "__dict__ must be set to a dictionary, not a '{}'",
                crate::object::type_name(&v)
            ));
        };
        let mut attrs = f.attrs.lock();
        let moved: Vec<Arc<str>> = attrs.keys().filter(|k| !function_own(k)).cloned().collect();
        let mut old = Vec::with_capacity(moved.len() + 1);
        for k in moved {
            old.extend(attrs.shift_remove(&k));
        }
        old.extend(attrs.insert(Arc::from("__dict__"), Value::Dict(new.clone())));
        drop(attrs);
        drop(old);
        return Ok(());
    }
    let dict = match f.attrs.lock().get("__dict__") {
        Some(Value::Dict(d)) if !function_own(name) => Some(d.clone()),
        _ => None,
    };
    match dict {
        Some(d) => d.set_str(name, v),
        None => {
            let old = f.attrs.lock().insert(Arc::from(name), v);
            drop(old);
        }
    }
    Ok(())
}

/// `del f.name` on a function: whether there was such an assigned attribute.
pub fn del_function_attr(f: &Ref<Function>, name: &str) -> bool {
    let dict = match f.attrs.lock().get("__dict__") {
        Some(Value::Dict(d)) if !function_own(name) => Some(d.clone()),
        _ => None,
    };
    match dict {
        Some(d) => d.remove(&crate::object::HashKey::from_str(name)).is_some(),
        None => {
            let old = f.attrs.lock().shift_remove(name);
            old.is_some()
        }
    }
}

/// A function's attribute: one assigned to it (`f.x = 1`, what `functools.wraps` copies) wins;
/// otherwise what CPython derives from the function and its code. `None` if it has neither.
pub fn function_attr(f: &Ref<Function>, name: &str) -> Option<Value> {
    {
        let attrs = f.attrs.lock();
        // The function's own names, and assigned ones until a `__dict__` was made (then they
        // live in it).
        if let Some(v) = attrs.get(name) {
            return Some(v.clone());
        }
        if !function_own(name) {
            if let Some(Value::Dict(d)) = attrs.get("__dict__") {
                let d = d.clone();
                drop(attrs);
                if let Some(v) = d.get_str(name) {
                    return Some(v);
                }
            }
        }
    }
    computed_function_attr(f, name)
}

/// The attributes CPython derives from a function and its code (none assigned).
fn computed_function_attr(f: &Ref<Function>, name: &str) -> Option<Value> {
    Some(match name {
        "__dict__" => Value::Dict(function_dict(f)),
        "__class__" => class_value(&class_of(&Value::Function(f.clone()))),
        "__name__" => Value::str(&f.code.name),
        "__qualname__" => Value::str(&f.code.qualname),
        "__module__" => f.globals.get_str("__name__").unwrap_or(Value::None),
        "__doc__" => Value::None,
        "__defaults__" if f.defaults.is_empty() => Value::None,
        "__defaults__" => Value::tuple(f.defaults.to_vec()),
        "__kwdefaults__" => f.defaults.kw.clone().map_or(Value::None, Value::Dict),
        "__globals__" => Value::Dict(f.globals.clone()),
        "__closure__" if f.closure.is_empty() => Value::None,
        "__closure__" => Value::tuple(f.closure.iter().cloned().map(Value::Cell).collect()),
        // Made once and kept, so `f.__code__ is f.__code__` as in CPython.
        "__code__" | "__annotations__" => {
            let v = match name {
                "__code__" => crate::builtins::eval::code_value(&f.code),
                // A function without annotations gets an empty dict on first use.
                _ => Value::Dict(Ref::new(crate::object::Dict::new())),
            };
            // The first one kept wins (`--gil off`: another thread may have made one since
            // `function_attr` looked).
            f.attrs
                .lock()
                .entry(std::sync::Arc::from(name))
                .or_insert(v)
                .clone()
        }
        // The descriptor call that makes `obj.f` a bound method, bound to this function.
        "__get__" => Value::BoundMethod(Ref::new(crate::object::BoundMethod {
            receiver: Value::Function(f.clone()),
            func: Value::Native(Ref::new(crate::object::NativeFunction::new(
                "__get__",
                function_get,
            ))),
        })),
        _ => return None,
    })
}

/// `f.__get__(obj, type=None)`: `f` bound to `obj`, or `f` itself when `obj` is None and a type
/// is given (a read through the class), as CPython's function descriptor.
pub(crate) fn function_get(_: &mut Interp, args: crate::interp::Args<'_>) -> PyResult<Value> {
    if !args.kw.is_empty() {
        return Err(crate::err!(
            TypeError,
            "wrapper __get__() takes no keyword arguments"
        ));
    }
    match args.pos {
        [f, Value::None] | [f, Value::None, Value::None] => {
            let _ = f;
            Err(crate::err!(TypeError, "__get__(None, None) is invalid"))
        }
        [f, Value::None, _] => Ok(f.clone()),
        [f, obj] | [f, obj, _] => Ok(Value::BoundMethod(Ref::new(crate::object::BoundMethod {
            receiver: obj.clone(),
            func: f.clone(),
        }))),
        // (CPython's messages start with a space: the wrapper's name is left empty.)
        [_] | [] => Err(crate::err!(
            TypeError,
            " expected at least 1 argument, got 0"
        )),
        _ => Err(crate::err!(
            TypeError,
            " expected at most 2 arguments, got {}",
            args.pos.len().saturating_sub(1)
        )),
    }
}

/// The keyword arguments the constructor of a built-in exception with extra fields takes
/// (CPython's `AttributeError(msg, name=, obj=)`, `NameError(name=)`, `ImportError(name=,
/// path=)`), and the name CPython's messages give that constructor.
pub fn exc_keywords(cls: &Class) -> (&'static [&'static str], &'static str) {
    use crate::object::{types, ExcKind};
    let t = types();
    if cls.is_subclass(t.exc(ExcKind::AttributeError)) {
        (&["name", "obj"], "AttributeError")
    } else if cls.is_subclass(t.exc(ExcKind::NameError)) {
        (&["name"], "NameError")
    } else if cls.is_subclass(t.exc(ExcKind::ImportError)) {
        (&["name", "path"], "ImportError")
    } else {
        (&[], "")
    }
}

/// An exception field not in the instance's own table: its default (`None`), or for an
/// `AttributeError` raised by a failed attribute read, the object and name it recorded (see
/// `interp::suggest::attach_attribute_context`); `ImportError.msg` is the only argument, as
/// CPython's `__init__` sets it. `None` (Rust's) when `name` is no such field.
fn exc_default_attr(
    inst: &crate::object::Instance,
    d: &crate::object::ExcData,
    name: &str,
) -> Option<Value> {
    use crate::object::Hint;
    if let Some(v) = unicode_error_field(inst, d, name) {
        return Some(v);
    }
    if crate::stdlib::os::is_os_error_field(inst, name) {
        // Set by `__init__` or assigned, it would be in the instance's table.
        return Some(Value::None);
    }
    let (fields, _) = exc_keywords(&inst.class);
    let is_msg = name == "msg" && fields.contains(&"path");
    if !fields.contains(&name) && !is_msg {
        return None;
    }
    Some(match (&d.hint, name) {
        (Some(Hint::Attribute { obj, .. }), "obj") => obj.clone(),
        (Some(Hint::Attribute { name, .. }), "name") => Value::str(name),
        // (Set by `ImportError.__init__`, which a subclass's own may never call.)
        (_, "msg") if d.init_pending => Value::None,
        (_, "msg") => match d.args.as_slice() {
            [one] => one.clone(),
            _ => Value::None,
        },
        _ => Value::None,
    })
}

/// `encoding`/`object`/`start`/`end`/`reason` of a `UnicodeEncodeError`/`UnicodeDecodeError`
/// a program built from its five arguments (`UnicodeEncodeError('charmap', s, 2, 3, why)`), as
/// CPython sets them at construction; those minivm raises itself carry them in their dict. A
/// `UnicodeTranslateError` takes four (`object, start, end, reason`), and its `encoding` is None.
fn unicode_error_field(
    inst: &crate::object::Instance,
    d: &crate::object::ExcData,
    name: &str,
) -> Option<Value> {
    use crate::object::ExcKind;
    let i = ["encoding", "object", "start", "end", "reason"]
        .iter()
        .position(|n| *n == name)?;
    let cls = inst.class.get();
    let t = crate::object::types();
    let kinds = [
        ExcKind::UnicodeEncodeError,
        ExcKind::UnicodeDecodeError,
        ExcKind::UnicodeTranslateError,
    ];
    if d.init_pending && kinds.iter().any(|k| cls.is_subclass(t.exc(*k))) {
        // Set by the base `__init__`, which a subclass's own may never call: CPython's
        // unset members read as None, the positions as 0.
        return Some(if matches!(i, 2 | 3) {
            Value::Int(0)
        } else {
            Value::None
        });
    }
    if cls.is_subclass(t.exc(ExcKind::UnicodeTranslateError)) {
        if d.args.len() != 4 {
            return None;
        }
        return Some(match i {
            0 => Value::None,
            2 | 3 => as_position(d.args.get(i - 1)?),
            _ => d.args.get(i - 1)?.clone(),
        });
    }
    let kinds = [ExcKind::UnicodeEncodeError, ExcKind::UnicodeDecodeError];
    if d.args.len() != 5 || !kinds.iter().any(|k| cls.is_subclass(t.exc(*k))) {
        return None;
    }
    let v = d.args.get(i)?;
    // As CPython's `__init__` stores them: the positions as ints, a decoded object as bytes.
    Some(match (i, v) {
        (2 | 3, _) => as_position(v),
        (1, Value::Str(_) | Value::Bytes(_)) => v.clone(),
        (1, _) if cls.is_subclass(t.exc(ExcKind::UnicodeDecodeError)) => {
            crate::object::bytes_like(v).map_or_else(|| v.clone(), |b| Value::bytes(b.to_vec()))
        }
        _ => v.clone(),
    })
}

/// A Unicode error's `start`/`end` argument as CPython's `__init__` stores it: an int (a bool
/// becomes 0 or 1).
fn as_position(v: &Value) -> Value {
    crate::builtins::args::to_index(v).map_or_else(|_| v.clone(), Value::Int)
}

/// The `AttributeError` CPython raises for `obj.name = v` when `name` is a read-only attribute
/// that minivm keeps in the object's payload or attribute table (so that, unchecked, the
/// assignment would be kept or ignored): a `property`'s `fget`/`fset`/`fdel`, a
/// `staticmethod`/`classmethod`'s `__func__`, a file object's `closed`/`name`/`buffer`..., a
/// thread's `ident`. CPython's wording says what the attribute is there: a member ("readonly
/// attribute"), a computed attribute of a C type ("attribute 'closed' of '_io.TextIOWrapper'
/// objects is not writable", naming the type that defines it) or a Python property
/// (`threading.Thread.ident`: "property 'ident' of 'T' object has no setter"). `None`: the
/// assignment goes ahead. Only instances with a payload come here (a cold path).
#[cold]
pub(crate) fn payload_store_error(
    inst: &crate::object::Instance,
    name: &str,
) -> Option<crate::PyErr> {
    use crate::err;
    use crate::object::Payload;
    let member = || Some(err!(AttributeError, "readonly attribute"));
    match &inst.payload {
        Payload::Wrapped(_) if name == "__func__" => member(),
        Payload::Property { .. } => match name {
            "fget" | "fset" | "fdel" => member(),
            "__isabstractmethod__" => Some(err!(
                AttributeError,
                "attribute '__isabstractmethod__' of 'property' objects is not writable"
            )),
            // A writable member of CPython's property.
            "__doc__" => None,
            // `property` itself has no `__dict__` (a subclass has one).
            _ if inst.class.builtin => Some(err!(
                AttributeError,
                "'property' object has no attribute '{name}'"
            )),
            _ => None,
        },
        Payload::Native(_) => {
            // The native class the object is made from (a subclass's instance too).
            let own = inst.class.get();
            let cls = std::iter::once(&*own)
                .chain(inst.class.mro_tail.iter())
                .find(|c| c.builtin)?;
            let cname = cls.name();
            let computed = || {
                Some(err!(
                    AttributeError,
                    "attribute '{name}' of '{}.{cname}' objects is not writable",
                    cls.module
                ))
            };
            match (&*cls.module, &*cname, name) {
                ("_io", "TextIOWrapper", "closed" | "name" | "errors" | "newlines") => computed(),
                ("_io", "TextIOWrapper", "encoding" | "buffer" | "line_buffering")
                | ("_io", "TextIOWrapper", "write_through") => member(),
                ("_io", "FileIO", "closed" | "mode" | "closefd") => computed(),
                ("_io", "BufferedReader" | "BufferedWriter" | "BufferedRandom", n) => match n {
                    "closed" | "name" | "mode" => computed(),
                    "raw" => member(),
                    _ => None,
                },
                ("_io", "StringIO", "closed" | "newlines" | "line_buffering")
                | ("_io", "BytesIO", "closed") => computed(),
                _ => None,
            }
        }
        _ => None,
    }
}

/// CPython's message for assigning an attribute that a built-in type (not a Python class)
/// computes and minivm implements as a property without a setter: a member's
/// "readonly attribute" (`complex.real`, the fields of `sys.flags` and the other struct
/// sequences) or a C getter's "attribute 'x' of 'T' objects is not writable" (`memoryview`).
/// `None`: keep the property's own message (a class written in Python in CPython too).
#[cold]
pub(crate) fn builtin_property_store_error(obj: &Value, name: &str) -> Option<crate::PyErr> {
    use crate::err;
    // The class whose dict holds the property.
    let cls = class_of(obj);
    let owner = std::iter::once(&cls)
        .chain(cls.mro_tail.iter())
        .find(|c| c.dict.read().contains_key(name))?;
    if !owner.builtin {
        return None;
    }
    let cname = owner.name();
    match (&*owner.module, &*cname) {
        ("builtins", "complex") => Some(err!(AttributeError, "readonly attribute")),
        ("builtins", "memoryview") => Some(err!(
            AttributeError,
            "attribute '{name}' of 'memoryview' objects is not writable"
        )),
        // File objects' computed attributes: the messages `payload_store_error` knows.
        ("_io", _) => match obj {
            Value::Instance(inst) => payload_store_error(inst, name),
            _ => None,
        },
        _ => None,
    }
}

/// The name of the module holding native `n` under its name: `builtins` for `len`, the
/// imported module for `math.sqrt`. Modules built in Rust (no `__file__`) are searched first,
/// and `__main__` last: `from math import sqrt` leaves `sqrt` in `math`'s.
pub(crate) fn native_module(
    interp: &Interp,
    n: &Ref<crate::object::NativeFunction>,
) -> Option<Arc<str>> {
    let same = |v: Option<Value>| matches!(v, Some(Value::Native(b)) if Ref::ptr_eq(&b, n));
    if same(interp.vm.builtins.get_str(n.name)) {
        return Some("builtins".into());
    }
    let modules = interp.vm.sys_modules.items();
    let holding = |native: bool| {
        modules.iter().find_map(|(_, v)| match v {
            Value::Module(m)
                if m.dict.get_str("__file__").is_none() == native
                    && &*m.name != "__main__"
                    && same(m.dict.get_str(n.name)) =>
            {
                Some(m.name.clone())
            }
            _ => None,
        })
    };
    holding(true).or_else(|| holding(false)).or_else(|| {
        modules.iter().find_map(|(_, v)| match v {
            Value::Module(m) if same(m.dict.get_str(n.name)) => Some(m.name.clone()),
            _ => None,
        })
    })
}
