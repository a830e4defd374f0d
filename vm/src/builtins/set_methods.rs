//! Stage 4 (VM), built-ins.
//! Methods of `set` (all) and `frozenset` (the non-mutating ones).

use crate::builtins::args::{descriptor_error, recv, rest, ArgsExt};
use crate::builtins::dict_methods::key_error;
use crate::builtins::Methods;
use crate::error::PyResult;
use crate::heap::Ref;
use crate::interp::containers::lookup_runs_python;
use crate::interp::{Args, Interp};
use crate::object::{HashKey, KeySet, SetObj};
use crate::raise;
use crate::value::Value;

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

/// The methods `set` shares with `frozenset`, as `set`'s (they accept only a `set` receiver).
pub const COMMON_METHODS: Methods = &common_methods::<false>();

/// The same methods as `frozenset`'s (they accept only a `frozenset` receiver).
pub const FROZENSET_METHODS: Methods = &common_methods::<true>();

/// The shared methods, each made for one owner: CPython's `set.union` and `frozenset.union` are
/// two descriptors, each refusing the other type's values as receivers (`set.add(frozenset())`
/// must not change a frozenset) and naming its own type in its messages.
const fn common_methods<const FROZEN: bool>() -> [(&'static str, crate::object::NativeFn); 8] {
    [
        ("copy", copy::<FROZEN>),
        ("union", union::<FROZEN>),
        ("intersection", intersection::<FROZEN>),
        ("difference", difference::<FROZEN>),
        ("symmetric_difference", symmetric_difference::<FROZEN>),
        ("issubset", issubset::<FROZEN>),
        ("issuperset", issuperset::<FROZEN>),
        ("isdisjoint", isdisjoint::<FROZEN>),
    ]
}

/// The name of the type a method of `set` (`frozen` false) or `frozenset` belongs to.
fn owner(frozen: bool) -> &'static str {
    if frozen {
        "frozenset"
    } else {
        "set"
    }
}

/// The receiver of a method of `set`, which must be a `set` (or the set inside an instance of
/// a subclass), never a `frozenset`.
fn recv_set<'a>(args: &Args<'a>, meth: &str) -> PyResult<&'a Ref<SetObj>> {
    recv_kind(args, meth, false)
}

/// The receiver of a method of `set` (`frozen` false) or of `frozenset` (`frozen` true).
fn recv_kind<'a>(args: &Args<'a>, meth: &str, frozen: bool) -> PyResult<&'a Ref<SetObj>> {
    match recv(args, owner(frozen), meth)? {
        Value::Set(s) if s.frozen == frozen => Ok(s),
        other => Err(descriptor_error(owner(frozen), meth, other)),
    }
}

/// The members of any iterable, hashed, in a new set laid out as CPython's `set(v)` lays it
/// out (its iteration order shows the layout): a set's members merged in, anything else added
/// one by one.
pub fn key_set(interp: &mut Interp, v: &Value) -> PyResult<KeySet> {
    if let Value::Set(o) = v {
        // `set(s)`, `frozenset(s)`: `update_from`'s merge into an empty set, as one copy.
        return Ok(o.items.lock().copy());
    }
    let mut out = KeySet::default();
    update_from(interp, &mut out, v)?;
    Ok(out)
}

/// The items of a non-set iterable in iteration order (a dict's keys, in order).
fn items_of(interp: &mut Interp, v: &Value) -> PyResult<Vec<Value>> {
    Ok(match v {
        Value::List(l) => l.snapshot(),
        Value::Tuple(t) => t.items.to_vec(),
        Value::Dict(d) => d.read().keys().map(|k| k.value.clone()).collect(),
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
        if acc.is_empty() {
            // Nothing in `acc` to compare a member with (`set(s)`, `frozenset(s)`): the members go
            // in as they are, copied once from the locked table. Canonicalizing first cloned the
            // whole table only to find no match (pyperf_hexiom: 942M of its 12.6G machine
            // instructions went to `key_set`, callgrind).
            acc.merge(&o.items.lock());
            return Ok(());
        }
        let o = members_against(interp, acc, o)?;
        acc.merge(&o);
        return Ok(());
    }
    if let Value::Dict(d) = other {
        // Its keys with the hashes they were stored with, as CPython's update takes them.
        let keys: Vec<HashKey> = d.read().keys().cloned().collect();
        acc.reserve_for(keys.len());
        for k in keys {
            let k = interp.resolve_in_set(acc, k)?;
            acc.insert(k);
        }
        return Ok(());
    }
    interp.for_each_item(other, |interp, v| {
        let k = interp.keyset_key(acc, v)?;
        acc.insert(k);
        Ok(())
    })
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

/// `so & other` as a new set: for two sets, the smaller one walked and what the larger one
/// holds kept; for any other iterable, its items (in order) that `so` holds.
pub(crate) fn intersection_of(interp: &mut Interp, so: &KeySet, other: &Value) -> PyResult<KeySet> {
    if let Value::Set(o) = other {
        let theirs = o.items.lock().clone();
        if !theirs.iter().any(lookup_runs_python) {
            return Ok(so.intersection_set(&theirs));
        }
    }
    Ok(intersection_pairs(interp, so, other)?
        .into_iter()
        .map(|(kept, _)| kept)
        .collect())
}

/// The members of `so & other` as CPython picks them, each with the member of `so` it matched:
/// the object kept is the one of the side walked (the smaller set, `other` when the sizes are
/// equal; any other iterable's items, the first of equal ones), so when two members are equal
/// by `__eq__` but not the same object, CPython's is the one kept. As CPython, an iterable's
/// walk stops once every member of `so` was found (later items are not even hashed:
/// `{1}.intersection([1, []])` is no error).
fn intersection_pairs(
    interp: &mut Interp,
    so: &KeySet,
    other: &Value,
) -> PyResult<Vec<(HashKey, HashKey)>> {
    let mut out = Vec::new();
    if let Value::Set(o) = other {
        let theirs = o.items.lock().clone();
        if theirs.len() > so.len() {
            for k in so.iter() {
                let found = interp.resolve_in_set(&theirs, k.clone())?;
                if theirs.contains(&found) {
                    out.push((k.clone(), k.clone()));
                }
            }
        } else {
            for k in theirs.iter() {
                let mine = interp.resolve_in_set(so, k.clone())?;
                if so.contains(&mine) {
                    out.push((k.clone(), mine));
                }
            }
        }
        return Ok(out);
    }
    let mut seen = KeySet::default();
    for v in items_of(interp, other)? {
        let own = v.clone();
        let mine = interp.keyset_key(so, v)?;
        if so.contains(&mine) && !seen.contains(&mine) {
            seen.insert(mine.clone());
            out.push((
                HashKey {
                    hash: mine.hash,
                    value: own,
                },
                mine,
            ));
            if seen.len() >= so.len() {
                break;
            }
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

/// An in-place operator on a set (`s |= t`, `s &= t`, `s -= t`, `s ^= t`; `t` a set, or any
/// iterable for the `update` methods): the receiver's own table changed as CPython changes it,
/// so its iteration order is CPython's.
///
/// The operand is prepared first, without the receiver's lock (hashing may call `__hash__`,
/// resolving a key may call `__eq__`, and no lock is held while Python code runs); then the
/// receiver is changed in place under its lock. So with the GIL off a member another thread
/// adds or removes meanwhile is kept: changing a copy and writing it back would lose it.
pub fn inplace_op(interp: &mut Interp, s: &SetObj, op: char, other: &Value) -> PyResult<()> {
    if is_receiver(s, other) {
        let mut acc = s.items.lock();
        match op {
            // `s |= s` changes nothing; `s &= s` gives `s` a fresh copy of its table (CPython's
            // intersection of a set with itself is a copy).
            '|' => {}
            '&' => {
                let copy = acc.copy();
                *acc = copy;
            }
            _ => acc.clear(),
        }
        return Ok(());
    }
    match (op, other) {
        // `&=` with a set whose members compare by `__eq__`: below, with the other iterables
        // (the members kept are those of the side walked).
        (_, Value::Set(o)) if op != '&' || !o.items.lock().iter().any(lookup_runs_python) => {
            // GIL model: when no member of `o` compares by `__eq__`, no Python code can run, so
            // `o` is read in place (another object than `s`, so the two borrows cannot
            // conflict) instead of copied. Free-threaded, one object lock at a time: a copy.
            if matches!(crate::heap::model(), crate::heap::Model::Gil) {
                let theirs = o.items.read();
                if !theirs.iter().any(lookup_runs_python) {
                    apply_set(&mut s.items.lock(), op, &theirs);
                    return Ok(());
                }
            }
            let theirs = set_operand(interp, s, o)?;
            apply_set(&mut s.items.lock(), op, &theirs);
            Ok(())
        }
        // `^=` with another iterable: a set of its items first (an error changes nothing),
        // toggled in that set's table order.
        ('^', other) if !matches!(other, Value::Dict(_)) => {
            let theirs = key_set(interp, other)?;
            let theirs = resolved_against(interp, s, theirs)?;
            s.items.lock().toggle_all(&theirs);
            Ok(())
        }
        // `intersection_update` with another iterable (or `&=` with a set whose members
        // compare by `__eq__`): the members CPython keeps (`intersection_pairs`) make the new
        // table (an error changes nothing). They are found in a copy of
        // `s`; a member another thread removes meanwhile stays removed, but one it adds
        // meanwhile is not kept (as in CPython 3.13t, whose intersection is built aside too).
        ('&', other) => {
            let mine = s.items.lock().clone();
            let found = intersection_pairs(interp, &mine, other)?;
            let mut acc = s.items.lock();
            let kept = found
                .into_iter()
                .filter(|(_, matched)| acc.contains(matched))
                .map(|(kept, _)| kept)
                .collect();
            *acc = kept;
            Ok(())
        }
        // `|=`, `-=` (and `^=` with a dict's keys): each item applied in turn; on an error the
        // items before it stay applied, as in CPython.
        (op, other) => {
            let (reserve, applied) = match other {
                // A dict's keys keep the hashes they were stored with (CPython's update and
                // symmetric difference do not hash them again) and, for `|`, are added after
                // the table is made room for them (CPython's order).
                Value::Dict(d) if op != '-' => {
                    let keys: Vec<HashKey> = d.read().keys().cloned().collect();
                    let reserve = (op == '|').then_some(keys.len());
                    (
                        reserve,
                        item_keys_in_turn(interp, s, op, keys, |_, k| Ok(k)),
                    )
                }
                _ => {
                    let items = items_of(interp, other)?;
                    (
                        None,
                        item_keys_in_turn(interp, s, op, items, Interp::hash_any),
                    )
                }
            };
            let (keys, error) = match applied {
                Ok(keys) => (keys, None),
                Err((keys, e)) => (keys, Some(e)),
            };
            let mut acc = s.items.lock();
            if let Some(n) = reserve {
                acc.reserve_for(n);
            }
            for k in keys {
                apply_one(&mut acc, op, k);
            }
            drop(acc);
            error.map_or(Ok(()), Err)
        }
    }
}

/// The members of set `o` as an operand for `s`: copied (one object lock at a time), and those
/// that compare by `__eq__` resolved against a copy of `s`'s members.
fn set_operand(interp: &mut Interp, s: &SetObj, o: &SetObj) -> PyResult<KeySet> {
    let theirs = o.items.lock().clone();
    resolved_against(interp, s, theirs)
}

/// `theirs` with each member that compares by `__eq__` replaced by the member of `s` it equals
/// (`s` copied only when there is such a member).
fn resolved_against(interp: &mut Interp, s: &SetObj, theirs: KeySet) -> PyResult<KeySet> {
    if !theirs.iter().any(lookup_runs_python) {
        return Ok(theirs);
    }
    let mine = s.items.lock().clone();
    interp.canonicalize_set(&mine, theirs)
}

/// Change `acc` by a whole set of members: `|` merges (CPython's merge order), `&` keeps what
/// both hold (a new table), `-` discards each, `^` toggles each.
fn apply_set(acc: &mut KeySet, op: char, theirs: &KeySet) {
    match op {
        '|' => acc.merge(theirs),
        '&' => {
            let kept = acc.intersection_set(theirs);
            *acc = kept;
        }
        '-' => {
            for k in theirs.iter() {
                acc.shift_remove(k);
            }
        }
        _ => acc.toggle_all(theirs),
    }
}

/// Change `acc` by one member: `|` adds it, `-` discards it, `^` toggles it.
fn apply_one(acc: &mut KeySet, op: char, k: HashKey) {
    match op {
        '|' => {
            acc.insert(k);
        }
        '-' => {
            acc.shift_remove(&k);
        }
        _ => {
            if !acc.shift_remove(&k) {
                acc.insert(k);
            }
        }
    }
}

/// `items` made members (by `hash`) to apply to `s` one by one with `op`. A key that compares
/// by `__eq__` is resolved against a private copy of `s` to which the keys before it were
/// applied, so the result is that of applying them to `s` in turn. On an error, the keys before
/// it.
fn item_keys_in_turn<T>(
    interp: &mut Interp,
    s: &SetObj,
    op: char,
    items: Vec<T>,
    mut hash: impl FnMut(&mut Interp, T) -> PyResult<HashKey>,
) -> Result<Vec<HashKey>, (Vec<HashKey>, crate::PyErr)> {
    let mut model: Option<KeySet> = None;
    let mut keys: Vec<HashKey> = Vec::with_capacity(items.len());
    for v in items {
        let k = match hash(interp, v) {
            Ok(k) => k,
            Err(e) => return Err((keys, e)),
        };
        let k = if lookup_runs_python(&k) {
            let base = model.get_or_insert_with(|| {
                let mut m = s.items.lock().clone();
                for k in &keys {
                    apply_one(&mut m, op, k.clone());
                }
                m
            });
            match interp.resolve_in_set(base, k) {
                Ok(k) => k,
                Err(e) => return Err((keys, e)),
            }
        } else {
            k
        };
        if let Some(m) = model.as_mut() {
            apply_one(m, op, k.clone());
        }
        keys.push(k);
    }
    Ok(keys)
}

fn new_like(s: &SetObj, items: KeySet) -> Value {
    Value::Set(Ref::new(SetObj::new(items, s.frozen)))
}

fn add(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_set(&args, "add")?;
    interp.set_add(s, rest(&args).one("set.add")?.clone())?;
    Ok(Value::None)
}

fn discard(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_set(&args, "discard")?;
    let (mut items, k) = interp.set_lookup_locked(s, rest(&args).one("set.discard")?.clone())?;
    items.shift_remove(&k);
    Ok(Value::None)
}

fn remove(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_set(&args, "remove")?;
    let v = rest(&args).one("set.remove")?;
    let (mut items, k) = interp.set_lookup_locked(s, v.clone())?;
    let removed = items.shift_remove(&k);
    drop(items);
    if !removed {
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

fn copy<const FROZEN: bool>(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_kind(&args, "copy", FROZEN)?;
    rest(&args).none(&format!("{}.copy", owner(FROZEN)))?;
    if s.frozen {
        return Ok(Value::Set(s.clone()));
    }
    // A new table sized for the members, as CPython's copy (not the receiver's table as it is:
    // after removals that may be larger, and the order would show it).
    let copied = s.items.lock().copy();
    Ok(new_like(s, copied))
}

/// The receiver and the other positional arguments of a method of `set` or (`frozen`)
/// `frozenset` (no keywords).
fn set_and_others<'a>(
    args: &Args<'a>,
    name: &str,
    frozen: bool,
) -> PyResult<(&'a Ref<SetObj>, &'a [Value])> {
    let s = recv_kind(args, name, frozen)?;
    let a = rest(args);
    a.no_kw(&format!("{}.{name}", owner(frozen)))?;
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

fn union<const FROZEN: bool>(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (s, others) = set_and_others(&args, "union", FROZEN)?;
    let r = union_members(interp, s, others)?;
    Ok(new_like(s, r))
}

fn intersection<const FROZEN: bool>(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (s, others) = set_and_others(&args, "intersection", FROZEN)?;
    let r = intersection_members(interp, s, others)?;
    Ok(new_like(s, r))
}

fn difference<const FROZEN: bool>(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (s, others) = set_and_others(&args, "difference", FROZEN)?;
    let r = difference_members(interp, s, others)?;
    Ok(new_like(s, r))
}

fn symmetric_difference<const FROZEN: bool>(
    interp: &mut Interp,
    args: Args<'_>,
) -> PyResult<Value> {
    let s = recv_kind(&args, "symmetric_difference", FROZEN)?;
    let o = rest(&args).one(&format!("{}.symmetric_difference", owner(FROZEN)))?;
    let mine = s.items.lock().clone();
    let r = symmetric_difference_of(interp, &mine, o)?;
    Ok(new_like(s, r))
}

/// `s.update(*others)`: each merged into `s`'s own table in turn.
fn update(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (s, others) = set_and_others(&args, "update", false)?;
    for o in others {
        inplace_op(interp, s, '|', o)?;
    }
    Ok(Value::None)
}

/// `s.intersection_update(*others)`: `s` takes the table of `s.intersection(*others)`. With one
/// other, that is `s &= other`, done in place (no concurrent change lost). With several, as in
/// CPython, the whole intersection is computed first (an error in any other changes nothing).
fn intersection_update(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (s, others) = set_and_others(&args, "intersection_update", false)?;
    if let [other] = others {
        inplace_op(interp, s, '&', other)?;
        return Ok(Value::None);
    }
    let r = intersection_members(interp, s, others)?;
    *s.items.lock() = r;
    Ok(Value::None)
}

fn difference_update(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (s, others) = set_and_others(&args, "difference_update", false)?;
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

/// The receiver's members and the other argument's, for a comparison of `set` or (`frozen`)
/// `frozenset`.
fn relation(
    interp: &mut Interp,
    args: Args<'_>,
    name: &str,
    frozen: bool,
) -> PyResult<(KeySet, KeySet)> {
    let s = recv_kind(&args, name, frozen)?;
    let o = rest(&args).one(&format!("{}.{name}", owner(frozen)))?;
    let mine = s.items.lock().clone();
    let theirs = key_set(interp, o)?;
    let theirs = interp.canonicalize_set(&mine, theirs)?;
    Ok((mine, theirs))
}

fn issubset<const FROZEN: bool>(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (a, b) = relation(interp, args, "issubset", FROZEN)?;
    Ok(Value::Bool(a.is_subset(&b)))
}

fn issuperset<const FROZEN: bool>(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (a, b) = relation(interp, args, "issuperset", FROZEN)?;
    Ok(Value::Bool(a.is_superset(&b)))
}

fn isdisjoint<const FROZEN: bool>(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (a, b) = relation(interp, args, "isdisjoint", FROZEN)?;
    Ok(Value::Bool(a.is_disjoint(&b)))
}
