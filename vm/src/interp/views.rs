//! Stage 4 (VM), the interpreter.
//! Dict views (`d.keys()`, `d.values()`, `d.items()`): live windows onto a dict, as in Python 3.

use std::sync::Arc;

use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{
    types, BuiltinTypes, Dict, Instance, IterObj, IterState, NativeFn, NativeFunction, Payload,
    ViewKind,
};
use crate::value::Value;
use crate::{err, PyResult};
use minivm_compiler::ast::CmpOp;

/// `obj.__dict__` of an instance whose attributes `attrs` mirrors: minivm keeps them in the
/// instance's own table (`object::InstDict`), which keeps `attrs` current as they change, so
/// this is a dict (`_attrdict.InstanceDict`, written in the mini language) whose contents are
/// `attrs` itself (shared, not copied: a live view) and whose changes are written through to
/// the instance. The instance remembers the wrapper weakly (it refers back to the instance, so a
/// strong reference would make every such instance a cycle): while the wrapper lives, the next
/// `obj.__dict__` gives the same object, and after it is freed a new one around the same `attrs`.
pub fn instance_dict(interp: &mut Interp, obj: &Value, attrs: Ref<Dict>) -> PyResult<Value> {
    let Value::Class(cls) = attrdict_class(interp, "InstanceDict")? else {
        return Err(err!(SystemError, "_attrdict.InstanceDict is not a class"));
    };
    let view = Instance::with_payload(
        cls,
        Payload::Builtin {
            value: Value::Dict(attrs),
        },
    );
    view.dict
        .lock()
        .insert(crate::object::intern_name("_owner"), obj.clone());
    Ok(Value::Instance(Ref::new(view)))
}

/// `cls.__dict__`: a read-only `mappingproxy` of the namespace `snapshot`, as in CPython.
pub fn class_dict_proxy(interp: &mut Interp, snapshot: Value) -> PyResult<Value> {
    let cls = attrdict_class(interp, "mappingproxy")?;
    interp.call(&cls, &[snapshot])
}

/// A class of `vm/lib/_attrdict.mini`, whose natives `_raw_set`/`_raw_del` are added on import.
fn attrdict_class(interp: &mut Interp, name: &str) -> PyResult<Value> {
    let module = interp.import_module("_attrdict")?;
    if let Value::Module(m) = &module {
        if m.dict.get_str("_raw_set").is_none() {
            m.dict
                .set_str("_raw_set", crate::stdlib::func("_raw_set", raw_set));
            m.dict
                .set_str("_raw_del", crate::stdlib::func("_raw_del", raw_del));
        }
    }
    interp.getattr(&module, name)
}

/// The instance and attribute name of `_raw_set`/`_raw_del`.
fn raw_target<'a>(args: &Args<'a>, n: usize) -> PyResult<(&'a Ref<Instance>, Arc<str>)> {
    let (Some(Value::Instance(inst)), Some(key), true) =
        (args.pos.first(), args.pos.get(1), args.pos.len() == n)
    else {
        return Err(err!(
            TypeError,
            "_attrdict natives need an instance and a name"
        ));
    };
    match key {
        Value::Str(s) => Ok((inst, Arc::from(s.as_str()))),
        other => Err(err!(
            TypeError,
            "minivm's instance attributes are strings: cannot store a {} key in __dict__",
            crate::object::type_name(other)
        )),
    }
}

/// `_raw_set(obj, name, value)`: the attribute in the instance's table (no `__setattr__`).
fn raw_set(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, name) = raw_target(&args, 3)?;
    let value = args.pos.get(2).cloned().unwrap_or(Value::None);
    let old = inst.dict.lock().insert(name, value);
    drop(old);
    Ok(Value::None)
}

/// `_raw_del(obj, name)`: the attribute out of the instance's table.
fn raw_del(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, name) = raw_target(&args, 2)?;
    let old = inst.dict.lock().shift_remove(&*name);
    drop(old);
    Ok(Value::None)
}

/// A new view of `dict`.
pub fn new_view(dict: Ref<Dict>, kind: ViewKind) -> Value {
    let t = types();
    let class = match kind {
        ViewKind::Keys => &t.dict_keys,
        ViewKind::Values => &t.dict_values,
        ViewKind::Items => &t.dict_items,
    };
    Value::Instance(Ref::new(Instance::with_payload(
        class.clone(),
        Payload::DictView(dict, kind),
    )))
}

pub(crate) fn install(t: &BuiltinTypes) {
    let methods: [(&'static str, NativeFn); 5] = [
        ("__len__", view_len),
        ("__iter__", view_iter),
        ("__reversed__", view_reversed),
        ("__contains__", view_contains),
        ("__repr__", view_repr),
    ];
    // Keys and items views are set-like (`collections.abc.Set`): set operators with any
    // iterable, comparisons with sets, `isdisjoint`.
    let set_like: [(&'static str, NativeFn); 15] = [
        ("__and__", |i, a| {
            view_set_op(i, a, "intersection_update", false)
        }),
        ("__rand__", |i, a| {
            view_set_op(i, a, "intersection_update", true)
        }),
        ("__or__", |i, a| view_set_op(i, a, "update", false)),
        ("__ror__", |i, a| view_set_op(i, a, "update", true)),
        ("__xor__", |i, a| {
            view_set_op(i, a, "symmetric_difference_update", false)
        }),
        ("__rxor__", |i, a| {
            view_set_op(i, a, "symmetric_difference_update", true)
        }),
        ("__sub__", |i, a| {
            view_set_op(i, a, "difference_update", false)
        }),
        ("__rsub__", |i, a| {
            view_set_op(i, a, "difference_update", true)
        }),
        ("__eq__", |i, a| view_compare(i, a, CmpOp::Eq)),
        ("__ne__", |i, a| view_compare(i, a, CmpOp::NotEq)),
        ("__lt__", |i, a| view_compare(i, a, CmpOp::Lt)),
        ("__le__", |i, a| view_compare(i, a, CmpOp::LtE)),
        ("__gt__", |i, a| view_compare(i, a, CmpOp::Gt)),
        ("__ge__", |i, a| view_compare(i, a, CmpOp::GtE)),
        ("isdisjoint", view_isdisjoint),
    ];
    for class in [&t.dict_keys, &t.dict_values, &t.dict_items] {
        let mut d = class.dict.write();
        let set_ops = if Ref::ptr_eq(class, &t.dict_values) {
            &[][..]
        } else {
            &set_like[..]
        };
        for &(name, f) in methods.iter().chain(set_ops) {
            d.insert(
                Arc::from(name),
                Value::Native(Ref::new(NativeFunction::new(name, f))),
            );
        }
    }
}

/// The view and the other operand of a binary special method.
fn view_and_other(args: &Args<'_>) -> PyResult<(Ref<Dict>, ViewKind, Value)> {
    let (d, kind) = view_of(args)?;
    let other = args.pos.get(1).cloned().unwrap_or(Value::None);
    Ok((d, kind, other))
}

fn set_of(interp: &mut Interp, v: Value) -> PyResult<Value> {
    let set_class = Value::Class(types().set.clone());
    interp.call(&set_class, &[v])
}

/// `view & other` (and `|`, `^`, `-`), as CPython: a new set of the left operand's items,
/// updated in place by the right one, which may be any iterable (`reflected`: the view is the
/// right operand).
fn view_set_op(
    interp: &mut Interp,
    args: Args<'_>,
    update: &str,
    reflected: bool,
) -> PyResult<Value> {
    let (d, kind, other) = view_and_other(&args)?;
    let view = Value::list(view_items(&d, kind));
    let (left, right) = if reflected {
        (other, view)
    } else {
        (view, other)
    };
    let result = set_of(interp, left)?;
    let method = interp.getattr(&result, update)?;
    interp.call(&method, &[right])?;
    Ok(result)
}

/// `view == other` and the order comparisons: as sets, with a set, frozenset or another
/// keys/items view; `NotImplemented` otherwise (so `d.keys() == [...]` is False).
fn view_compare(interp: &mut Interp, args: Args<'_>, op: CmpOp) -> PyResult<Value> {
    let (d, kind, other) = view_and_other(&args)?;
    let other_is_set_like = match &other {
        Value::Set(_) => true,
        Value::Instance(i) => matches!(i.payload, Payload::DictView(_, k) if k != ViewKind::Values),
        _ => false,
    };
    if !other_is_set_like {
        return Ok(Value::NotImplemented);
    }
    let mine = set_of(interp, Value::list(view_items(&d, kind)))?;
    let theirs = match other {
        Value::Set(_) => other,
        _ => set_of(interp, other)?,
    };
    interp.compare(op, &mine, &theirs)
}

/// `view.isdisjoint(iterable)`.
fn view_isdisjoint(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (d, kind, other) = view_and_other(&args)?;
    let mine = set_of(interp, Value::list(view_items(&d, kind)))?;
    let method = interp.getattr(&mine, "isdisjoint")?;
    interp.call(&method, &[other])
}

fn view_of(args: &Args<'_>) -> PyResult<(Ref<Dict>, ViewKind)> {
    if let Some(Value::Instance(i)) = args.pos.first() {
        if let Payload::DictView(d, k) = &i.payload {
            return Ok((d.clone(), *k));
        }
    }
    Err(err!(TypeError, "descriptor requires a dict view"))
}

/// The view's current items (keys, values or (key, value) tuples).
fn view_items(d: &Dict, kind: ViewKind) -> Vec<Value> {
    let map = d.map.lock();
    match kind {
        ViewKind::Keys => map.keys().map(|k| k.value.clone()).collect(),
        ViewKind::Values => map.values().cloned().collect(),
        ViewKind::Items => map
            .iter()
            .map(|(k, v)| Value::tuple(vec![k.value.clone(), v.clone()]))
            .collect(),
    }
}

fn view_len(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (d, _) = view_of(&args)?;
    Ok(Value::Int(d.len() as i64))
}

fn view_iter(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (d, kind) = view_of(&args)?;
    let items = view_items(&d, kind);
    let n = d.len();
    let name = match kind {
        ViewKind::Keys => "dict_keyiterator",
        ViewKind::Values => "dict_valueiterator",
        ViewKind::Items => "dict_itemiterator",
    };
    Ok(Value::Iter(Ref::new(IterObj::new(
        name,
        IterState::Items {
            items,
            index: 0,
            dict: Some((d.clone(), n, d.key_fingerprint())),
            set: None,
        },
    ))))
}

/// `reversed(view)`: the items last first (a snapshot, as the view's own iterator takes).
fn view_reversed(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (d, kind) = view_of(&args)?;
    let mut items = view_items(&d, kind);
    items.reverse();
    let name = match kind {
        ViewKind::Keys => "dict_reversekeyiterator",
        ViewKind::Values => "dict_reversevalueiterator",
        ViewKind::Items => "dict_reverseitemiterator",
    };
    Ok(Value::Iter(Ref::new(IterObj::new(
        name,
        IterState::Items {
            items,
            index: 0,
            dict: None,
            set: None,
        },
    ))))
}

fn view_contains(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (d, kind) = view_of(&args)?;
    let needle = args.pos.get(1).cloned().unwrap_or(Value::None);
    let found = match kind {
        ViewKind::Keys => {
            let k = interp.dict_key(&d, needle)?;
            d.map.lock().contains_key(&k)
        }
        _ => {
            let mut found = false;
            for v in view_items(&d, kind) {
                if interp.eq(&v, &needle)? {
                    found = true;
                    break;
                }
            }
            found
        }
    };
    Ok(Value::Bool(found))
}

fn view_repr(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (d, kind) = view_of(&args)?;
    let name = match kind {
        ViewKind::Keys => "dict_keys",
        ViewKind::Values => "dict_values",
        ViewKind::Items => "dict_items",
    };
    let inner = interp.repr(&Value::list(view_items(&d, kind)))?;
    Ok(Value::string(format!("{name}({inner})")))
}
