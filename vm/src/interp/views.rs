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
    let methods: [(&'static str, NativeFn); 4] = [
        ("__len__", view_len),
        ("__iter__", view_iter),
        ("__contains__", view_contains),
        ("__repr__", view_repr),
    ];
    for class in [&t.dict_keys, &t.dict_values, &t.dict_items] {
        let mut d = class.dict.write();
        for (name, f) in methods {
            d.insert(
                Arc::from(name),
                Value::Native(Ref::new(NativeFunction::new(name, f))),
            );
        }
    }
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
