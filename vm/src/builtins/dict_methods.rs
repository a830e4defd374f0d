//! Stage 4 (VM), built-ins.
//! Methods of `dict`, and `dict_update` (shared with the `dict(...)` constructor).

use std::sync::Arc;

use crate::builtins::args::{descriptor_error, recv, rest, ArgsExt};
use crate::builtins::Methods;
use crate::error::{PyErr, PyResult};
use crate::heap::Ref;
use crate::interp::containers::PairBatch;
use crate::interp::views::new_view;
use crate::interp::{Args, Interp};
use crate::object::{Dict, ExcKind, HashKey, IterState, ViewKind};
use crate::value::Value;
use crate::{err, raise};

pub const METHODS: Methods = &[
    ("get", get),
    ("setdefault", setdefault),
    ("pop", pop),
    ("popitem", popitem),
    ("update", update),
    ("keys", keys),
    ("values", values),
    ("items", items),
    ("copy", copy),
    ("clear", clear),
    ("fromkeys", fromkeys),
];

fn recv_dict<'a>(args: &Args<'a>, meth: &str) -> PyResult<&'a Ref<Dict>> {
    match recv(args, "dict", meth)? {
        Value::Dict(d) => Ok(d),
        other => Err(descriptor_error("dict", meth, other)),
    }
}

pub fn key_error(key: &Value) -> PyErr {
    PyErr::with_args(ExcKind::KeyError, vec![key.clone()])
}

/// `d.update(src)`: from a dict, a mapping with `keys()`, or an iterable of pairs.
pub fn dict_update(interp: &mut Interp, d: &Ref<Dict>, src: &Value) -> PyResult<()> {
    let src = interp.plain_dict_of(src);
    let src = &src;
    match src {
        Value::Dict(s) => {
            let pairs: Vec<_> = s
                .read()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            // All at once, as CPython's one C call (keys comparing by a Python `__eq__` are
            // matched against `d`'s with no lock held, then stored at once if `d`'s keys of
            // their hashes are still those: `dict_store_pairs`).
            return interp.dict_store_pairs(d, pairs);
        }
        Value::Instance(_) if interp.lookup_special(src, "keys").is_some() => {
            let keys_fn = interp.getattr(src, "keys")?;
            let keys = interp.call(&keys_fn, &[])?;
            for k in interp.collect_iter(&keys)? {
                let v = interp.getitem(src, &k)?;
                let hk = interp.hash_any(k)?;
                drop(interp.dict_insert(d, hk, v)?);
            }
            return Ok(());
        }
        Value::List(_) | Value::Tuple(_) | Value::Instance(_) => {
            // Pairs in a list or tuple (`d.update([(k, v), ...])`) or a dict's items view
            // (`d.update(e.items())`): also one step when reading them runs no Python code
            // (CPython 3.13t stores them inside the dict's critical section). Anything else,
            // an error included, takes the loop below.
            if let Some(pairs) = plain_pairs(src) {
                let Err(_) = crate::interp::containers::dict_store_all(d, pairs) else {
                    return Ok(());
                };
            }
        }
        _ => {}
    }
    let it = interp.get_iter(src)?;
    // From an iterator whose steps run no Python code (`zip(keys, values)`, `enumerate(xs)`,
    // `iter(pairs)`), the plain pairs are gathered and stored under one hold of `d`'s lock, as
    // CPython 3.13t's `PyDict_MergeFromSeq2` stores them all inside `d`'s critical section: a
    // thread reading `d` meanwhile sees the whole run or none of it. Nothing can observe the
    // order otherwise: the steps read no state of `d` (a walk of `d` itself is left out) and
    // run no code. A run ends at an item that is not a plain pair or at an error, and is
    // stored before that item is dealt with, so what is stored before an error is the same.
    let batched = steps_run_no_python(&it, d, 0);
    let mut run = PairBatch::default();
    let mut n = 0usize;
    let done = loop {
        let item = match interp.iter_next(&it) {
            Ok(Some(item)) => item,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        };
        if batched {
            // Free-threaded, a key's `__hash__` and `__eq__` (if Python code) run here, in the
            // order CPython's stores one by one would run them. Under the GIL only keys hashed
            // without Python code join the run: a `__hash__` must run after the earlier pairs
            // are stored, as CPython's (`update_one` stores such a pair after the run).
            let pair = if interp.batches_pairs() {
                pair_of(&item).map(|[k, v]| interp.hash_any(k).map(|hk| (hk, v)))
            } else {
                plain_pair(&item).map(Ok)
            };
            if let Some(pair) = pair {
                let added = pair.and_then(|(hk, v)| interp.batch_add(d, &mut run, hk, v));
                if let Err(e) = added {
                    break Err(e);
                }
                n += 1;
                continue;
            }
        }
        interp.batch_store(d, std::mem::take(&mut run))?;
        if let Err(e) = update_one(interp, d, item, n) {
            break Err(e);
        }
        n += 1;
    };
    // A store's error in the run (a Python `__eq__` run again) came before a later item's.
    interp.batch_store(d, run)?;
    done
}

/// Store one item of an iterable of pairs in `d` (the `n`th: CPython's messages count them).
fn update_one(interp: &mut Interp, d: &Ref<Dict>, item: Value, n: usize) -> PyResult<()> {
    let pair = match &item {
        Value::Tuple(t) => t.items.to_vec(),
        Value::List(l) => l.snapshot(),
        Value::Str(_)
        | Value::Iter(_)
        | Value::Generator(_)
        | Value::Set(_)
        | Value::Dict(_)
        | Value::Range(_)
        | Value::Instance(_) => interp.collect_iter(&item)?,
        _ => raise!(
            TypeError,
            "cannot convert dictionary update sequence element #{n} to a sequence"
        ),
    };
    let [k, v] = <[Value; 2]>::try_from(pair).map_err(|p| {
        err!(
            ValueError,
            "dictionary update sequence element #{n} has length {}; 2 is required",
            p.len()
        )
    })?;
    let hk = interp.hash_any(k)?;
    drop(interp.dict_insert(d, hk, v)?);
    Ok(())
}

/// Whether a step of iterator `it` runs no Python code and reads nothing of `d`: a list,
/// tuple, string, range, snapshot or set iterator, a walk of another dict, and `zip` and
/// `enumerate` of such iterators (`depth` bounds the nesting looked into).
fn steps_run_no_python(it: &Value, d: &Ref<Dict>, depth: u32) -> bool {
    let Value::Iter(obj) = it else {
        return matches!(it, Value::RangeIter(_));
    };
    if depth > 8 {
        return false;
    }
    let inners: Vec<Value> = match &*obj.state.lock() {
        IterState::List { .. }
        | IterState::Tuple { .. }
        | IterState::Str { .. }
        | IterState::Items { .. }
        | IterState::SetWalk { .. }
        | IterState::Guarded { .. }
        | IterState::RangeCountdown { .. }
        | IterState::LongRange { .. }
        | IterState::Reversed { .. }
        | IterState::Combinatoric(_)
        | IterState::Exhausted
        | IterState::Spare => return true,
        // A walk of `d` itself sees the stores of the pairs before it (CPython's raises
        // "dictionary changed size during iteration" after the first new key).
        IterState::DictWalk(w) => return !Ref::ptr_eq(&w.dict, d),
        IterState::RevSeq { obj, .. } => return matches!(obj, Value::List(_)),
        IterState::Enumerate { inner, .. } => vec![inner.clone()],
        IterState::Zip { inners, .. } => inners.to_vec(),
        _ => return false,
    };
    inners.iter().all(|i| steps_run_no_python(i, d, depth + 1))
}

/// The two items of a 2-tuple or 2-list; `None` for anything else (the general path deals with
/// it, errors included).
fn pair_of(item: &Value) -> Option<[Value; 2]> {
    match item {
        Value::Tuple(t) => <[Value; 2]>::try_from(t.items.to_vec()).ok(),
        Value::List(l) => <[Value; 2]>::try_from(l.snapshot()).ok(),
        _ => None,
    }
}

/// A 2-tuple or 2-list whose key hashes without Python code (not an instance or a class) as a
/// hashed pair; `None` for anything else.
fn plain_pair(item: &Value) -> Option<(HashKey, Value)> {
    let [k, v] = pair_of(item)?;
    if matches!(k, Value::Instance(_) | Value::Class(_)) {
        return None;
    }
    Some((HashKey::from_value(k).ok()?, v))
}

/// The items of a list or tuple of pairs, hashed, when each is a 2-tuple or 2-list whose key
/// is hashed without Python code (not an instance or a class); of a dict's items view, its
/// entries as they are now; `None` otherwise.
fn plain_pairs(src: &Value) -> Option<Vec<(HashKey, Value)>> {
    let items = match src {
        Value::List(l) => l.snapshot(),
        Value::Tuple(t) => t.items.to_vec(),
        Value::Instance(i) => {
            let crate::object::Payload::DictView(e, ViewKind::Items) = &i.payload else {
                return None;
            };
            let entries = e.read();
            return Some(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            );
        }
        _ => return None,
    };
    items.iter().map(plain_pair).collect()
}

/// Apply `**kwargs` to a dict: as one step when no stored key compares by a Python `__eq__`
/// (`d.update(**kw)` is one C call in CPython).
pub fn update_kwargs(d: &Dict, kw: &[(Arc<str>, Value)]) {
    if kw.is_empty() {
        return;
    }
    let pairs = kw
        .iter()
        .map(|(k, v)| (HashKey::from_str(k), v.clone()))
        .collect();
    if crate::interp::containers::dict_store_all(d, pairs).is_ok() {
        return;
    }
    for (k, v) in kw {
        d.set_str(k, v.clone());
    }
}

fn get(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = recv_dict(&args, "get")?;
    let a = rest(&args);
    a.range("dict.get", 1, 2)?;
    let key = a.get(0).cloned().unwrap_or(Value::None);
    let found = interp.with_resolved_read(d, &key, |map, k| map.get(&k).cloned())?;
    Ok(found.unwrap_or_else(|| a.get(1).cloned().unwrap_or(Value::None)))
}

fn setdefault(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = recv_dict(&args, "setdefault")?;
    let a = rest(&args);
    a.range("dict.setdefault", 1, 2)?;
    let key = a.get(0).cloned().unwrap_or(Value::None);
    let default = a.get(1).cloned().unwrap_or(Value::None);
    let found = interp.with_resolved(d, &key, |map, k| match map.get(&k) {
        Some(v) => Some(v.clone()),
        None => {
            map.insert(k, default.clone());
            None
        }
    })?;
    if let Some(v) = found {
        return Ok(v);
    }
    if d.is_owned() {
        crate::interp::views::written_through(d);
    }
    Ok(default)
}

fn pop(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = recv_dict(&args, "pop")?;
    let a = rest(&args);
    a.range("dict.pop", 1, 2)?;
    let key = a.get(0).cloned().unwrap_or(Value::None);
    // Resolved and removed as one step, again if the keys of its hash changed while Python
    // `__eq__`s ran (another thread replacing the key by an equal one).
    let removed = interp.with_resolved(d, &key, |map, k| map.shift_remove(&k))?;
    if removed.is_some() && d.is_owned() {
        crate::interp::views::owner_del(d, &key);
    }
    match (removed, a.get(1)) {
        (Some(v), _) => Ok(v),
        (None, Some(default)) => Ok(default.clone()),
        (None, None) => Err(key_error(&key)),
    }
}

fn popitem(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = recv_dict(&args, "popitem")?;
    rest(&args).none("dict.popitem")?;
    let popped = d.write().pop();
    match popped {
        Some((k, v)) => {
            if d.is_owned() {
                crate::interp::views::owner_del(d, &k.value);
            }
            Ok(Value::tuple(vec![k.value, v]))
        }
        None => raise!(KeyError, "popitem(): dictionary is empty"),
    }
}

fn update(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = recv_dict(&args, "update")?;
    let a = rest(&args);
    if a.pos.len() > 1 {
        raise!(
            TypeError,
            "update expected at most 1 argument, got {}",
            a.pos.len()
        );
    }
    let done = match a.get(0) {
        Some(src) => dict_update(interp, d, src),
        None => Ok(()),
    };
    if done.is_ok() {
        update_kwargs(d, a.kw);
    }
    if d.is_owned() {
        // Also after an error part way: the keys already added are attributes.
        crate::interp::views::written_through(d);
    }
    done.map(|()| Value::None)
}

fn keys(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = recv_dict(&args, "keys")?;
    rest(&args).none("dict.keys")?;
    Ok(new_view(d.clone(), ViewKind::Keys))
}

fn values(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = recv_dict(&args, "values")?;
    rest(&args).none("dict.values")?;
    Ok(new_view(d.clone(), ViewKind::Values))
}

fn items(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = recv_dict(&args, "items")?;
    rest(&args).none("dict.items")?;
    Ok(new_view(d.clone(), ViewKind::Items))
}

fn copy(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = recv_dict(&args, "copy")?;
    rest(&args).none("dict.copy")?;
    let m = d.read().clone();
    Ok(Value::Dict(Ref::new(Dict::from_map(m))))
}

fn clear(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = recv_dict(&args, "clear")?;
    rest(&args).none("dict.clear")?;
    let old = d.write().take();
    if d.is_owned() {
        crate::interp::views::written_through(d);
    }
    drop(old);
    Ok(Value::None)
}

/// `dict.fromkeys(iterable, value=None)` (called on the class: no receiver).
/// `D.fromkeys(iterable, value=None)` for a subclass `D` of dict (bound to `D` by attribute
/// lookup): as CPython, an instance made by calling `D()`, filled through `d[key] = value` so an
/// overriding `__setitem__` sees every key.
pub fn subclass_fromkeys(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let cls = args.get(0).cloned().unwrap_or(Value::None);
    let rest = crate::builtins::args::rest(&args);
    rest.no_kw("fromkeys")?;
    rest.range("fromkeys", 1, 2)?;
    let src = rest.get(0).cloned().unwrap_or(Value::None);
    let value = rest.get(1).cloned().unwrap_or(Value::None);
    let d = interp.call(&cls, &[])?;
    interp.for_each_item(&src, |interp, k| interp.setitem(&d, k, value.clone()))?;
    Ok(d)
}

fn fromkeys(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("dict.fromkeys", 1, 2)?;
    let src = args.get(0).cloned().unwrap_or(Value::None);
    let value = args.get(1).cloned().unwrap_or(Value::None);
    let d = Ref::new(Dict::new());
    interp.for_each_item(&src, |interp, k| {
        let hk = interp.dict_key(&d, k)?;
        let old = d.write().insert(hk, value.clone());
        drop(old);
        Ok(())
    })?;
    Ok(Value::Dict(d))
}
