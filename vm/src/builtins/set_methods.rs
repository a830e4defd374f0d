//! Stage 4 (VM), built-ins.
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

/// The members of any iterable, hashed, in a new set laid out as CPython's `set(v)` lays it
/// out (its iteration order shows the layout): a set's members merged in, anything else added
/// one by one.
pub fn key_set(interp: &mut Interp, v: &Value) -> PyResult<KeySet> {
    let mut out = KeySet::default();
    update_from(interp, &mut out, v)?;
    Ok(out)
}

/// The items of a non-set iterable in iteration order (a dict's keys, in order).
fn items_of(interp: &mut Interp, v: &Value) -> PyResult<Vec<Value>> {
    Ok(match v {
        Value::List(l) => l.snapshot(),
        Value::Tuple(t) => t.items.to_vec(),
        Value::Dict(d) => d.map.lock().keys().map(|k| k.value.clone()).collect(),
        other => interp.collect_iter(other)?,
    })
}

/// The members of set `o`, each one that compares by `__eq__` replaced by the member of `base`
/// it equals (see `Interp::canonicalize_set`).
fn members_against(interp: &mut Interp, base: &KeySet, o: &SetObj) -> PyResult<KeySet> {
    let members = o.items.lock().clone();
    interp.canonicalize_set(base, members)
}

/// `acc |= other` in place, as CPython's set update: a set is merged (`KeySet::merge`), a dict's
/// keys are added after the table is made room for them, any other iterable's items are added
/// one by one. On an error the items added so far stay, as in CPython.
fn update_from(interp: &mut Interp, acc: &mut KeySet, other: &Value) -> PyResult<()> {
    if let Value::Set(o) = other {
        let o = members_against(interp, acc, o)?;
        acc.merge(&o);
        return Ok(());
    }
    if let Value::Dict(d) = other {
        acc.reserve_for(d.len());
    }
    for v in items_of(interp, other)? {
        let k = interp.keyset_key(acc, v)?;
        acc.insert(k);
    }
    Ok(())
}

/// `acc -= other` in place: each member of `other` (a set in its table order, else in iteration
/// order) discarded from `acc`.
fn discard_from(interp: &mut Interp, acc: &mut KeySet, other: &Value) -> PyResult<()> {
    if let Value::Set(o) = other {
        let o = members_against(interp, acc, o)?;
        for k in o.iter() {
            acc.shift_remove(k);
        }
        return Ok(());
    }
    for v in items_of(interp, other)? {
        let k = interp.keyset_key(acc, v)?;
        acc.shift_remove(&k);
    }
    Ok(())
}

/// `acc ^= other` in place: each member of `other` removed from `acc` if there, else added. A
/// non-set iterable is first made a set, whose table order is the order of the toggles.
fn toggle_from(interp: &mut Interp, acc: &mut KeySet, other: &Value) -> PyResult<()> {
    let o = match other {
        Value::Set(o) => members_against(interp, acc, o)?,
        // A dict's keys are toggled in the dict's order.
        Value::Dict(d) => {
            let keys: Vec<Value> = d.map.lock().keys().map(|k| k.value.clone()).collect();
            for v in keys {
                let k = interp.keyset_key(acc, v)?;
                if !acc.shift_remove(&k) {
                    acc.insert(k);
                }
            }
            return Ok(());
        }
        _ => {
            let o = key_set(interp, other)?;
            interp.canonicalize_set(acc, o)?
        }
    };
    acc.toggle_all(&o);
    Ok(())
}

/// `so & other` as a new set: for two sets, the smaller one walked and what the larger one
/// holds kept; for any other iterable, its items (in order) that `so` holds.
fn intersection_of(interp: &mut Interp, so: &KeySet, other: &Value) -> PyResult<KeySet> {
    if let Value::Set(o) = other {
        let o = members_against(interp, so, o)?;
        return Ok(so.intersection_set(&o));
    }
    let mut out = KeySet::default();
    for v in items_of(interp, other)? {
        let k = interp.keyset_key(so, v)?;
        if so.contains(&k) {
            out.insert(k);
        }
    }
    Ok(out)
}

/// `so - other` as a new set, as CPython chooses: against a set or dict much smaller than
/// `so`, a copy of `so` with `other`'s members discarded; against a set or dict, the members
/// of `so` that `other` lacks, added one by one; against any other iterable, a copy of `so`
/// with its items discarded.
fn difference_of(interp: &mut Interp, so: &KeySet, other: &Value) -> PyResult<KeySet> {
    let members = match other {
        Value::Set(o) => Some(members_against(interp, so, o)?),
        Value::Dict(_) => Some(key_set(interp, other)?),
        _ => None,
    };
    match members {
        Some(m) if (so.len() >> 2) <= m.len() => {
            Ok(so.iter().filter(|k| !m.contains(k)).cloned().collect())
        }
        _ => {
            let mut out = so.copy();
            discard_from(interp, &mut out, other)?;
            Ok(out)
        }
    }
}

/// `so ^ other` as a new set, as CPython builds it: a new set of `other`'s members, then each
/// member of `so` toggled in it.
fn symmetric_difference_of(interp: &mut Interp, so: &KeySet, other: &Value) -> PyResult<KeySet> {
    let o = key_set(interp, other)?;
    let mut out = interp.canonicalize_set(so, o)?;
    out.toggle_all(so);
    Ok(out)
}

/// An in-place operator on a set (`s |= t`, `s &= t`, `s -= t`, `s ^= t`, `t` a set): the
/// receiver's own table changed as CPython changes it, so its iteration order is CPython's.
pub fn inplace_op(interp: &mut Interp, s: &SetObj, op: char, other: &Value) -> PyResult<()> {
    let same = matches!(other, Value::Set(o) if std::ptr::eq(&**o, s));
    let mut acc = s.items.lock().clone();
    let r = match op {
        // `s |= s` changes nothing; `s &= s` gives `s` a fresh copy of its table (CPython's
        // intersection of a set with itself is a copy).
        '|' if same => Ok(()),
        '|' => update_from(interp, &mut acc, other),
        '&' if same => {
            acc = acc.copy();
            Ok(())
        }
        '&' => intersection_of(interp, &acc, other).map(|r| acc = r),
        '-' | '^' if same => {
            acc.clear();
            Ok(())
        }
        '-' => discard_from(interp, &mut acc, other),
        _ => toggle_from(interp, &mut acc, other),
    };
    *s.items.lock() = acc;
    r
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
    // A new table sized for the members, as CPython's copy (not the receiver's table as it is:
    // after removals that may be larger, and the order would show it).
    let copied = s.items.lock().copy();
    Ok(new_like(s, copied))
}

/// The receiver and the other positional arguments of a set method (no keywords).
fn set_and_others<'a>(args: &Args<'a>, name: &str) -> PyResult<(&'a Ref<SetObj>, &'a [Value])> {
    let s = recv_set(args, name)?;
    let a = rest(args);
    let owner = if s.frozen { "frozenset" } else { "set" };
    a.no_kw(&format!("{owner}.{name}"))?;
    Ok((s, a.pos))
}

fn is_receiver(s: &SetObj, v: &Value) -> bool {
    matches!(v, Value::Set(o) if std::ptr::eq(&**o, s))
}

/// `s.union(*others)`: a copy of `s`, each other merged into it (`s` itself skipped).
fn union_members(interp: &mut Interp, s: &SetObj, others: &[Value]) -> PyResult<KeySet> {
    let mut acc = s.items.lock().copy();
    for o in others.iter().filter(|o| !is_receiver(s, o)) {
        update_from(interp, &mut acc, o)?;
    }
    Ok(acc)
}

/// `s.intersection(*others)`: each other intersected with the result so far (no others: a copy).
fn intersection_members(interp: &mut Interp, s: &SetObj, others: &[Value]) -> PyResult<KeySet> {
    let mut acc: Option<KeySet> = None;
    for o in others {
        acc = Some(match &acc {
            None if is_receiver(s, o) => s.items.lock().copy(),
            None => {
                let mine = s.items.lock().clone();
                intersection_of(interp, &mine, o)?
            }
            Some(a) => intersection_of(interp, a, o)?,
        });
    }
    Ok(acc.unwrap_or_else(|| s.items.lock().copy()))
}

/// `s.difference(*others)`: `s - first`, then the other others discarded from it in place.
fn difference_members(interp: &mut Interp, s: &SetObj, others: &[Value]) -> PyResult<KeySet> {
    let Some((first, more)) = others.split_first() else {
        return Ok(s.items.lock().copy());
    };
    let mine = s.items.lock().clone();
    let mut acc = difference_of(interp, &mine, first)?;
    for o in more {
        discard_from(interp, &mut acc, o)?;
    }
    Ok(acc)
}

fn union(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (s, others) = set_and_others(&args, "union")?;
    let r = union_members(interp, s, others)?;
    Ok(new_like(s, r))
}

fn intersection(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (s, others) = set_and_others(&args, "intersection")?;
    let r = intersection_members(interp, s, others)?;
    Ok(new_like(s, r))
}

fn difference(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (s, others) = set_and_others(&args, "difference")?;
    let r = difference_members(interp, s, others)?;
    Ok(new_like(s, r))
}

fn symmetric_difference(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_set(&args, "symmetric_difference")?;
    let owner = if s.frozen { "frozenset" } else { "set" };
    let o = rest(&args).one(&format!("{owner}.symmetric_difference"))?;
    let mine = s.items.lock().clone();
    let r = symmetric_difference_of(interp, &mine, o)?;
    Ok(new_like(s, r))
}

/// `s.update(*others)`: each merged into `s`'s own table in turn.
fn update(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (s, others) = set_and_others(&args, "update")?;
    for o in others {
        inplace_op(interp, s, '|', o)?;
    }
    Ok(Value::None)
}

/// `s.intersection_update(*others)`: `s` takes the table of `s.intersection(*others)`.
fn intersection_update(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (s, others) = set_and_others(&args, "intersection_update")?;
    let r = intersection_members(interp, s, others)?;
    *s.items.lock() = r;
    Ok(Value::None)
}

fn difference_update(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (s, others) = set_and_others(&args, "difference_update")?;
    for o in others {
        inplace_op(interp, s, '-', o)?;
    }
    Ok(Value::None)
}

fn symmetric_difference_update(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_set(&args, "symmetric_difference_update")?;
    let o = rest(&args).one("set.symmetric_difference_update")?;
    inplace_op(interp, s, '^', o)?;
    Ok(Value::None)
}

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
