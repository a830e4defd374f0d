//! Methods of `set` (all) and `frozenset` (the non-mutating ones).

use crate::builtins::args::{recv, rest, ArgsExt};
use crate::builtins::dict_methods::key_error;
use crate::builtins::Methods;
use crate::error::PyResult;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{type_name, KeySet, SetObj};
use crate::value::Value;
use crate::{err, raise};

/// Mutating methods: `set` only.
pub const SET_METHODS: Methods = &[
    ("add", add),
    ("discard", discard),
    ("remove", remove),
    ("pop", pop),
    ("clear", clear),
    ("update", update),
    ("intersection_update", intersection_update),
    ("difference_update", difference_update),
    ("symmetric_difference_update", symmetric_difference_update),
];

/// Methods of both `set` and `frozenset`.
pub const COMMON_METHODS: Methods = &[
    ("copy", copy),
    ("union", union),
    ("intersection", intersection),
    ("difference", difference),
    ("symmetric_difference", symmetric_difference),
    ("issubset", issubset),
    ("issuperset", issuperset),
    ("isdisjoint", isdisjoint),
];

fn recv_set<'a>(args: &Args<'a>, meth: &str) -> PyResult<&'a Ref<SetObj>> {
    match recv(args, "set", meth)? {
        Value::Set(s) => Ok(s),
        other => Err(err!(
            TypeError,
            "descriptor '{meth}' for 'set' objects doesn't apply to a '{}' object",
            type_name(other)
        )),
    }
}

/// The members of any iterable, hashed.
pub fn key_set(interp: &mut Interp, v: &Value) -> PyResult<KeySet> {
    if let Value::Set(s) = v {
        return Ok(s.items.lock().clone());
    }
    let items = match v {
        Value::List(l) => l.snapshot(),
        Value::Tuple(t) => t.items.to_vec(),
        other => interp.collect_iter(other)?,
    };
    let mut out = KeySet::default();
    for item in items {
        let k = interp.keyset_key(&out, item)?;
        out.insert(k);
    }
    Ok(out)
}

fn new_like(s: &SetObj, items: KeySet) -> Value {
    Value::Set(Ref::new(SetObj::new(items, s.frozen)))
}

fn add(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_set(&args, "add")?;
    let k = interp.set_key(s, rest(&args).one("set.add")?.clone())?;
    s.items.lock().insert(k);
    Ok(Value::None)
}

fn discard(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_set(&args, "discard")?;
    let k = interp.set_key(s, rest(&args).one("set.discard")?.clone())?;
    s.items.lock().shift_remove(&k);
    Ok(Value::None)
}

fn remove(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_set(&args, "remove")?;
    let v = rest(&args).one("set.remove")?;
    let k = interp.set_key(s, v.clone())?;
    if !s.items.lock().shift_remove(&k) {
        return Err(key_error(v));
    }
    Ok(Value::None)
}

fn pop(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_set(&args, "pop")?;
    rest(&args).none("set.pop")?;
    match s.items.lock().shift_remove_index(0) {
        Some(k) => Ok(k.value),
        None => raise!(KeyError, "pop from an empty set"),
    }
}

fn clear(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_set(&args, "clear")?;
    rest(&args).none("set.clear")?;
    s.items.lock().clear();
    Ok(Value::None)
}

fn copy(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_set(&args, "copy")?;
    rest(&args).none(if s.frozen {
        "frozenset.copy"
    } else {
        "set.copy"
    })?;
    if s.frozen {
        return Ok(Value::Set(s.clone()));
    }
    Ok(new_like(s, s.items.lock().clone()))
}

/// Fold the other arguments into a copy of the receiver's members.
fn fold(
    interp: &mut Interp,
    args: &Args<'_>,
    name: &str,
    f: fn(&KeySet, &KeySet) -> KeySet,
) -> PyResult<(Ref<SetObj>, KeySet)> {
    let s = recv_set(args, name)?;
    let a = rest(args);
    let owner = if s.frozen { "frozenset" } else { "set" };
    a.no_kw(&format!("{owner}.{name}"))?;
    let mut acc = s.items.lock().clone();
    for other in a.pos {
        let o = key_set(interp, other)?;
        let o = interp.canonicalize_set(&acc, o)?;
        acc = f(&acc, &o);
    }
    Ok((s.clone(), acc))
}

fn f_union(a: &KeySet, b: &KeySet) -> KeySet {
    a.union(b).cloned().collect()
}
fn f_inter(a: &KeySet, b: &KeySet) -> KeySet {
    a.intersection(b).cloned().collect()
}
fn f_diff(a: &KeySet, b: &KeySet) -> KeySet {
    a.difference(b).cloned().collect()
}
fn f_sym(a: &KeySet, b: &KeySet) -> KeySet {
    a.symmetric_difference(b).cloned().collect()
}

macro_rules! set_op {
    ($name:ident, $f:ident, $upd:ident) => {
        fn $name(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
            let (s, acc) = fold(interp, &args, stringify!($name), $f)?;
            Ok(new_like(&s, acc))
        }
        fn $upd(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
            let (s, acc) = fold(interp, &args, stringify!($upd), $f)?;
            *s.items.lock() = acc;
            Ok(Value::None)
        }
    };
}

set_op!(union, f_union, update);
set_op!(intersection, f_inter, intersection_update);
set_op!(difference, f_diff, difference_update);
set_op!(symmetric_difference, f_sym, symmetric_difference_update);

fn relation(interp: &mut Interp, args: Args<'_>, name: &str) -> PyResult<(KeySet, KeySet)> {
    let s = recv_set(&args, name)?;
    let o = rest(&args).one(&format!(
        "{}.{name}",
        if s.frozen { "frozenset" } else { "set" }
    ))?;
    let mine = s.items.lock().clone();
    let theirs = key_set(interp, o)?;
    let theirs = interp.canonicalize_set(&mine, theirs)?;
    Ok((mine, theirs))
}

fn issubset(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (a, b) = relation(interp, args, "issubset")?;
    Ok(Value::Bool(a.is_subset(&b)))
}

fn issuperset(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (a, b) = relation(interp, args, "issuperset")?;
    Ok(Value::Bool(a.is_superset(&b)))
}

fn isdisjoint(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (a, b) = relation(interp, args, "isdisjoint")?;
    Ok(Value::Bool(a.is_disjoint(&b)))
}
