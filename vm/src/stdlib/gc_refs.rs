//! `gc.get_referents` and `gc.get_referrers` (stage: standard library): the references an
//! object holds, listed in the order CPython 3.11's `tp_traverse` of its type visits them.
//!
//! CPython lists whatever the traversal visits, strings and numbers too (`get_referents([1])`
//! is `[1]`), so this walks the program-visible contents of each type rather than the
//! collector's `Trace` (which reports only what may be tracked). The orders that show:
//! a list's or tuple's items last to first; a dict whose keys are all strings gives its
//! values, any other dict value then key per entry; an instance of a Python class its
//! attributes' values (or its `__dict__` once the program asked for it), then its class; a
//! bound method its function then its receiver (a built-in type's method: the receiver); a
//! module its dict; an iterator over a list,
//! tuple, dict or set that container. Objects CPython does not track (ints, strings, classes
//! of the built-in types) have no referents. What minivm does not keep as an object (a
//! function's defaults tuple, its builtins) is made for the answer, so it is equal to but not
//! the same object as CPython's.
//!
//! `get_referrers(*objs)` walks every tracked object (with the world stopped, free-threaded)
//! and keeps those whose referents include one of `objs` (by identity). As in CPython, a
//! function's local variables are not found (a running frame is no tracked object), and a dict
//! holding no container is left out (CPython does not track it).

use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{Class, Dict, Instance, IterState, Payload};
use crate::value::Value;
use crate::{err, PyResult};

/// `gc.get_referents(*objs)`: the objects each argument refers to, in traversal order.
pub fn get_referents(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let objs = positional(&args, "get_referents")?;
    let mut out = Vec::new();
    for obj in &objs {
        out.extend(referents(interp, obj));
    }
    Ok(Value::list(out))
}

/// `gc.get_referrers(*objs)`: the tracked objects that refer to any of `objs`.
pub fn get_referrers(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let objs = positional(&args, "get_referrers")?;
    if objs.is_empty() {
        return Ok(Value::list(Vec::new()));
    }
    let tracked = interp.tracked_objects(None);
    let mut out = Vec::new();
    for t in &tracked {
        let Some(holder) = super::gc::as_value(t) else {
            continue;
        };
        if !cpython_tracks(&holder) {
            continue;
        }
        let refs = referents(interp, &holder);
        if refs.iter().any(|r| objs.iter().any(|o| o.is(r))) {
            out.push(holder);
        }
    }
    Ok(Value::list(out))
}

/// The positional arguments; CPython's functions take no keywords ("get_referrers() takes no
/// keyword arguments").
fn positional(args: &Args<'_>, name: &str) -> PyResult<Vec<Value>> {
    if !args.kw.is_empty() {
        return Err(err!(TypeError, "{name}() takes no keyword arguments"));
    }
    Ok(args.pos.to_vec())
}

/// Whether CPython keeps `v` tracked: a dict only once it holds an object of a collected type
/// (its `MAINTAIN_TRACKING`; minivm tracks every dict).
fn cpython_tracks(v: &Value) -> bool {
    match v {
        Value::Dict(d) => d.items().iter().any(|(k, v)| gc_type(k) || gc_type(v)),
        _ => true,
    }
}

/// CPython's `_PyObject_GC_MAY_BE_TRACKED`: an object of a type the collector knows (a tuple
/// only while tracked). Built-in functions are; a bare `object()` and the built-in classes
/// (static types) are not.
pub(super) fn gc_type(v: &Value) -> bool {
    match v {
        Value::Tuple(t) => crate::heap::gc::is_tracked(t),
        Value::Class(c) => !c.builtin,
        Value::Instance(i) => !(i.class.get().builtin && matches!(i.payload, Payload::None)),
        Value::List(_)
        | Value::Dict(_)
        | Value::Set(_)
        | Value::Function(_)
        | Value::Native(_)
        | Value::BoundMethod(_)
        | Value::Module(_)
        | Value::Iter(_)
        | Value::Generator(_)
        | Value::Cell(_) => true,
        _ => false,
    }
}

/// What `v` refers to, in CPython's traversal order (see the module comment).
fn referents(interp: &mut Interp, v: &Value) -> Vec<Value> {
    match v {
        Value::Tuple(t) => t.items.iter().rev().cloned().collect(),
        Value::List(l) => {
            let mut items = l.snapshot();
            items.reverse();
            items
        }
        Value::Dict(d) => dict_referents(d),
        Value::Set(s) => s.snapshot(),
        Value::Module(m) => vec![Value::Dict(m.dict.clone())],
        // (`try_read`, as the collector's trace: contents in use by this thread right now are
        // left out rather than waited for.)
        Value::Cell(c) => match c.value.try_read().as_deref() {
            Ok(Value::Undefined) | Err(_) => Vec::new(),
            Ok(v) => vec![v.clone()],
        },
        // A method of a built-in type is CPython's `builtin_function_or_method`: its receiver.
        Value::BoundMethod(m) if matches!(m.func, Value::Native(_)) => vec![m.receiver.clone()],
        Value::BoundMethod(m) => vec![m.func.clone(), m.receiver.clone()],
        // `meth_traverse`: the module (or object) it is bound to, then the module's name.
        Value::Native(_) => attrs(interp, v, &["__self__", "__module__"])
            .into_iter()
            .filter(|v| !matches!(v, Value::None))
            .collect(),
        Value::Instance(i) => instance_referents(interp, i),
        Value::Class(c) => class_referents(interp, c),
        Value::Function(_) => function_referents(interp, v),
        Value::Generator(g) => {
            let mut out = attrs(interp, v, &["gi_code", "__name__", "__qualname__"]);
            if let Ok(frame) = g.frame.try_read() {
                if let Some(frame) = frame.as_deref() {
                    out.extend(
                        frame
                            .locals
                            .iter()
                            .filter(|v| !matches!(v, Value::Undefined))
                            .cloned(),
                    );
                }
            }
            out
        }
        Value::Iter(it) => match it.state.try_read().as_deref() {
            Ok(IterState::List { list, .. }) => vec![Value::List(list.clone())],
            Ok(IterState::Tuple { tuple, .. }) => vec![Value::Tuple(tuple.clone())],
            Ok(IterState::DictWalk(w)) => vec![Value::Dict(w.dict.clone())],
            Ok(IterState::SetWalk { set, .. }) => vec![Value::Set(set.clone())],
            Ok(IterState::Enumerate { inner, .. }) => vec![inner.clone()],
            Ok(IterState::Map { func, inners }) => {
                let mut out = vec![Value::tuple(inners.to_vec())];
                out.push(func.clone());
                out
            }
            Ok(IterState::Zip { inners, .. }) => vec![Value::tuple(inners.to_vec())],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// `dict_traverse`: a table of string keys (CPython's "unicode" keys) visits only the values;
/// any other visits each entry's value, then its key.
fn dict_referents(d: &Ref<Dict>) -> Vec<Value> {
    let items = d.items();
    if items.iter().all(|(k, _)| matches!(k, Value::Str(_))) {
        items.into_iter().map(|(_, v)| v).collect()
    } else {
        items.into_iter().flat_map(|(k, v)| [v, k]).collect()
    }
}

/// `subtype_traverse` of a Python class's instance: its attributes' values (CPython 3.11 keeps
/// them in the object until `__dict__` is asked for; then that dict), then its class; then
/// what the built-in base holds (an exception's args, a list subclass's items).
fn instance_referents(interp: &mut Interp, inst: &Ref<Instance>) -> Vec<Value> {
    let class = inst.class.get();
    let user_class = (!class.builtin).then(|| Value::Class(class.clone()));
    let mut out = Vec::new();
    match &inst.payload {
        // A plain instance: 3.11 keeps the attributes' values in the object until `__dict__`
        // is asked for, then that dict; then the class.
        Payload::None => {
            let table = inst.dict.read();
            match table.view() {
                Some(view) => out.push(Value::Dict(view.clone())),
                None => out.extend(table.values().cloned()),
            }
            drop(table);
            out.extend(user_class);
        }
        // `BaseException_traverse` after the class: its dict (made by the first attribute),
        // args, traceback, cause, context.
        Payload::Exception(data) => {
            out.extend(user_class);
            out.extend(attr_dict(inst));
            let data = data.read();
            out.push(Value::tuple(data.args.clone()));
            if let Some(tb) = &data.tb_object {
                out.push(tb.1.clone());
            }
            out.extend(data.cause.iter().chain(data.context.iter()).cloned());
            out.extend(data.member.iter().cloned());
        }
        // A subclass of another built-in type: the instance dict (made by the first
        // attribute), the class, then what the built-in value holds.
        payload => {
            out.extend(attr_dict(inst));
            out.extend(user_class);
            match payload {
                // (A built-in value, never another instance: the recursion is one level.)
                Payload::Wrapped(v) | Payload::Builtin { value: v } => match v {
                    Value::Instance(_) => out.push(v.clone()),
                    v => out.extend(referents(interp, v)),
                },
                Payload::Property { fget, fset, fdel } => out.extend(
                    [fget, fset, fdel]
                        .into_iter()
                        .filter(|v| !matches!(v, Value::None))
                        .cloned(),
                ),
                Payload::Super { start, obj } => {
                    out.push(Value::Class(start.clone()));
                    out.push(obj.clone());
                }
                Payload::DictView(d, _) => out.push(Value::Dict(d.clone())),
                _ => {}
            }
        }
    }
    out
}

/// The instance's `__dict__`, if it has attributes (CPython makes the dict of such an object
/// with its first attribute).
fn attr_dict(inst: &Ref<Instance>) -> Option<Value> {
    let has_attrs = {
        let table = inst.dict.read();
        table.view().is_some() || !table.is_empty()
    };
    has_attrs.then(|| crate::interp::views::instance_dict(inst))
}

/// `type_traverse` of a Python class: its namespace dict, `__mro__`, `__bases__`, `__base__`.
/// Built-in classes are static types in CPython, not tracked: none.
fn class_referents(interp: &mut Interp, cls: &Ref<Class>) -> Vec<Value> {
    if cls.builtin {
        return Vec::new();
    }
    let mut out = vec![crate::interp::attr::class_dict(cls)];
    out.extend(attrs(
        interp,
        &Value::Class(cls.clone()),
        &["__mro__", "__bases__", "__base__"],
    ));
    out
}

/// `func_traverse`: code, globals, builtins, module, defaults, keyword defaults, doc, name, the
/// attribute dict, closure, qualname (the ones CPython leaves NULL when absent are skipped).
fn function_referents(interp: &mut Interp, f: &Value) -> Vec<Value> {
    let Value::Function(func) = f else {
        return Vec::new();
    };
    let mut out = attrs(interp, f, &["__code__", "__globals__"]);
    if let Ok(Value::Dict(b)) = interp
        .import_module("builtins")
        .and_then(|m| interp.getattr(&m, "__dict__"))
    {
        out.push(Value::Dict(b));
    }
    out.extend(attrs(interp, f, &["__module__"]));
    if !func.defaults.is_empty() {
        out.push(Value::tuple(func.defaults.to_vec()));
    }
    if let Some(kw) = &func.defaults.kw {
        out.push(Value::Dict(kw.clone()));
    }
    out.extend(attrs(interp, f, &["__doc__", "__name__"]));
    // (Attributes minivm keeps for itself are not in `__dict__`.)
    if let Ok(Value::Dict(d)) = interp.getattr(f, "__dict__") {
        if !d.is_empty() {
            out.push(Value::Dict(d));
        }
    }
    if !func.closure.is_empty() {
        out.extend(attrs(interp, f, &["__closure__"]));
    }
    out.extend(attrs(interp, f, &["__qualname__"]));
    out
}

/// The attributes of `v` that it has, in the order named.
fn attrs(interp: &mut Interp, v: &Value, names: &[&str]) -> Vec<Value> {
    names
        .iter()
        .filter_map(|n| interp.getattr(v, n).ok())
        .collect()
}
