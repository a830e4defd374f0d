//! Stage 4 (VM), standard library.
//! The `collections` module's `deque`: a double-ended queue, safe to share between threads.
//!
//! Items live in a `VecDeque` behind a parking_lot mutex, taken only for the length of one Rust
//! operation: comparisons and iteration run over a snapshot, never with the mutex held.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use minivm_compiler::bytecode::{BinOp, CmpOp};

use crate::builtins::args::{slice_index, Sig, Style};
use crate::heap::Ref;
use crate::interp::subscr::seq_index;
use crate::interp::{Args, Interp};
use crate::object::{type_name, Class, Module};
use crate::stdlib::sync::{int_value, property};
use crate::stdlib::{native_class, this};
use crate::value::Value;
use crate::{err, PyResult};

/// Rust data of a `deque` instance.
pub struct DequeData {
    items: Mutex<VecDeque<Value>>,
    maxlen: Option<usize>,
    /// Bumped by every change that adds, removes or moves items (not by `d[i] = v` or `reverse`,
    /// as in CPython): an iterator that sees it change raises "deque mutated during iteration".
    state: Arc<AtomicU64>,
}

impl DequeData {
    fn snapshot(&self) -> Vec<Value> {
        self.items.lock().iter().cloned().collect()
    }

    /// The items, locked for a change that iterators must notice.
    fn lock_mut(&self) -> parking_lot::MutexGuard<'_, VecDeque<Value>> {
        self.state.fetch_add(1, Ordering::Relaxed);
        self.items.lock()
    }

    fn push_back(&self, v: Value) {
        let mut items = self.lock_mut();
        if self.maxlen == Some(0) {
            return;
        }
        items.push_back(v);
        if self.maxlen.is_some_and(|m| items.len() > m) {
            items.pop_front();
        }
    }

    fn push_front(&self, v: Value) {
        let mut items = self.lock_mut();
        if self.maxlen == Some(0) {
            return;
        }
        items.push_front(v);
        if self.maxlen.is_some_and(|m| items.len() > m) {
            items.pop_back();
        }
    }
}

static DEQUE_CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();

pub fn deque_class() -> Ref<Class> {
    DEQUE_CLASS
        .get_or_init(|| {
            let cls = native_class(
                "deque",
                "collections",
                &[
                    ("__init__", deque_init),
                    ("append", deque_append),
                    ("appendleft", deque_appendleft),
                    ("pop", deque_pop),
                    ("popleft", deque_popleft),
                    ("extend", deque_extend),
                    ("extendleft", deque_extendleft),
                    ("clear", deque_clear),
                    ("rotate", deque_rotate),
                    ("reverse", deque_reverse),
                    ("count", deque_count),
                    ("index", deque_index),
                    ("remove", deque_remove),
                    ("insert", deque_insert),
                    ("copy", deque_copy),
                    ("__copy__", deque_copy),
                    ("__len__", deque_len),
                    ("__iter__", deque_iter),
                    ("__reversed__", deque_reversed),
                    ("__repr__", deque_repr),
                    ("__contains__", deque_contains),
                    ("__getitem__", deque_getitem),
                    ("__setitem__", deque_setitem),
                    ("__delitem__", deque_delitem),
                    ("__eq__", deque_eq),
                    ("__lt__", deque_lt),
                    ("__le__", deque_le),
                    ("__gt__", deque_gt),
                    ("__ge__", deque_ge),
                    ("__add__", deque_add),
                    ("__mul__", deque_mul),
                    ("__rmul__", deque_rmul),
                    ("__iadd__", deque_iadd),
                    ("__imul__", deque_imul),
                ],
            );
            cls.dict
                .write()
                .insert(Arc::from("maxlen"), property(("maxlen", deque_maxlen)));
            // CPython's name for the type in messages (`object::type_name`).
            cls.dict
                .write()
                .insert(Arc::from("_tp_name"), Value::str("collections.deque"));
            cls
        })
        .clone()
}

/// The `_collections` module: `deque`, which `collections` (vm/lib/collections/) re-exports,
/// `_tuplegetter` (a named tuple's fields, `stdlib/tuplegetter.rs`),
/// the two steps of `OrderedDict` that reorder its dict (CPython keeps `OrderedDict` in
/// `_collections` too) and `Counter`'s counting loop (`_count_elements`, as CPython's).
pub fn collections_module() -> Ref<Module> {
    crate::stdlib::module_from_fns(
        "_collections",
        &[
            ("_odict_move_to_end", odict_move_to_end),
            ("_odict_popfirst", odict_popfirst),
            ("_odict_iter", odict_iter),
            ("_dict_pairs", dict_pairs),
            ("_count_elements", count_elements),
        ],
        vec![
            ("deque", Value::Class(deque_class())),
            (
                "_tuplegetter",
                Value::Class(crate::stdlib::tuplegetter::tuplegetter_class()),
            ),
            // For `collections.abc` to register without importing `array`, which a program's
            // `array.py` may shadow (CPython's array module registers itself).
            ("_array", Value::Class(crate::stdlib::array::array_class())),
        ],
    )
}

/// The dict of an `OrderedDict` (an instance of a `dict` subclass).
fn odict_of(v: &Value) -> PyResult<Ref<crate::object::Dict>> {
    match crate::object::builtin_base(v).unwrap_or(v) {
        Value::Dict(d) => Ok(d.clone()),
        other => Err(err!(
            TypeError,
            "expected an OrderedDict, not '{}'",
            type_name(other)
        )),
    }
}

/// `_odict_move_to_end(od, key, last)`: `OrderedDict.move_to_end` as one change of the dict
/// under its lock (CPython's is one C call): another thread never sees the key missing, and a
/// move to the front shifts the dict's entries in Rust instead of rebuilding the dict from
/// Python (which made `move_to_end(k, last=False)` cost a pass over the whole dict in bytecode).
fn odict_move_to_end(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [Some(od), Some(key), Some(last)] =
        Sig::py("_odict_move_to_end", &["od", "key", "last"], 3).bind(&args)?
    else {
        return Err(err!(TypeError, "_odict_move_to_end() takes 3 arguments"));
    };
    let d = odict_of(od)?;
    let last = interp.truthy(last)?;
    // An empty one is a KeyError before the key is hashed (CPython's C method looks first):
    // `OrderedDict().move_to_end([])` is KeyError, not unhashable.
    if d.is_empty() {
        return Err(crate::builtins::dict_methods::key_error(key));
    }
    let k = interp.hash_any(key.clone())?;
    let (mut map, k) = interp.lock_resolved(&d, k)?;
    let Some(i) = map.get_index_of(&k) else {
        drop(map);
        return Err(crate::builtins::dict_methods::key_error(key));
    };
    let to = if last { map.len() - 1 } else { 0 };
    // An OrderedDict iterator reports the move ("OrderedDict mutated during iteration"):
    // `move_index` stamps the dict's layout.
    map.move_index(i, to);
    drop(map);
    Ok(Value::None)
}

/// `_odict_iter(od, reversed, kind=0)`: `iter(od)` and `reversed(od)` of an OrderedDict, and
/// of its `keys()`, `values()` (kind 1) and `items()` (kind 2) views, walking its dict as
/// CPython's `odict_iterator` walks its list of keys (`interp/dictwalk.rs`): each step reads the
/// key and its value together, so a key another thread deletes meanwhile is never yielded
/// without its value (a view walked in Python, `yield key, od[key]`, raised KeyError there).
fn odict_iter(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    use crate::interp::dictwalk::WalkKind;
    let [Some(od), Some(reversed), kind] =
        Sig::py("_odict_iter", &["od", "reversed", "kind"], 2).bind(&args)?
    else {
        return Err(err!(TypeError, "_odict_iter() takes 2 or 3 arguments"));
    };
    let d = odict_of(od)?;
    let reversed = interp.truthy(reversed)?;
    let kind = match kind {
        None | Some(Value::Int(0)) => WalkKind::Keys,
        Some(Value::Int(1)) => WalkKind::Values,
        Some(Value::Int(2)) => WalkKind::Items,
        Some(_) => return Err(err!(ValueError, "_odict_iter(): kind must be 0, 1 or 2")),
    };
    Ok(crate::interp::dictwalk::odict_iter(&d, kind, reversed))
}

/// `_dict_pairs(m)`: the `(key, value)` pairs of a dict, or of a dict subclass's instance that
/// reads as its dict (`Interp::dict_to_copy`: an `OrderedDict`, or a subclass replacing none
/// of `keys`, `__getitem__`, `__iter__`), taken in one step under the dict's lock; `None` for
/// any other mapping. `OrderedDict.update(m)` (so `OrderedDict(m)` and `od.copy()`) copies
/// through it: CPython's update is C, one step under the GIL for these, where reading `m[key]`
/// key by key in Python raised KeyError free-threaded when another thread deleted the key in
/// between.
fn dict_pairs(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [Some(m)] = Sig::py("_dict_pairs", &["m"], 1).bind(&args)? else {
        return Err(err!(TypeError, "_dict_pairs() takes 1 argument"));
    };
    Ok(match interp.dict_to_copy(m) {
        Some(d) => Value::list(
            d.items()
                .into_iter()
                .map(|(k, v)| Value::tuple(vec![k, v]))
                .collect(),
        ),
        None => Value::None,
    })
}

/// `_odict_popfirst(od)`: remove and return the first (key, value) pair in one step
/// (`OrderedDict.popitem(last=False)`); `None` when the dict is empty.
fn odict_popfirst(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [Some(od)] = Sig::py("_odict_popfirst", &["od"], 1).bind(&args)? else {
        return Err(err!(TypeError, "_odict_popfirst() takes 1 argument"));
    };
    let d = odict_of(od)?;
    let popped = d.write().shift_remove_index(0);
    match popped {
        Some((k, v)) => {
            if d.is_owned() {
                crate::interp::views::owner_del(&d, &k.value);
            }
            Ok(Value::tuple(vec![k.value, v]))
        }
        None => Ok(Value::None),
    }
}

/// Whether `a op b` on these is arithmetic that runs no Python code and cannot fail for `+`
/// and `-` (ints of any size, bools, floats): safe to compute with a dict's lock held.
fn plain_number(v: &Value) -> bool {
    matches!(
        v,
        Value::Int(_) | Value::BigInt(_) | Value::Bool(_) | Value::Float(_)
    )
}

/// `_count_elements(counter, iterable, mode)`: the loop of `Counter.update` and `subtract`
/// for a counter whose `get` and `__setitem__` are dict's (the caller checks; CPython's
/// `_collections._count_elements` takes the same fast path). `mode` bit 0: the iterable gives
/// `(element, count)` pairs (a mapping's items) instead of elements counted 1 each; bit 1:
/// subtract instead of add; bit 2: a missing element takes the count as it is, not `count + 0`
/// (what `dict.update` does for a counter that was empty when `Counter.update` looked, done
/// here so that another thread's counts stored since are added to, not overwritten). Each element's read, add and store is one step under the dict's
/// lock when the counts are numbers, so threads sharing a counter lose no counts with
/// `--gil off` too. (CPython 3.13t's C loop reads and stores under two separate locks and can
/// lose them; with the GIL it cannot, and programs are checked against the GIL build's
/// output.) Other counts go through `+`/`-` with the lock released (they may run Python code),
/// as in CPython's loop. Returns False, having consumed nothing, when the counter is not a
/// plain dict underneath (an instance's `__dict__`, whose changes must be written through),
/// for the caller's own loop.
fn count_elements(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [Some(mapping), Some(iterable), Some(mode)] =
        Sig::py("_count_elements", &["mapping", "iterable", "mode"], 3).bind(&args)?
    else {
        return Err(err!(TypeError, "_count_elements() takes 3 arguments"));
    };
    let d = match crate::object::builtin_base(mapping).unwrap_or(mapping) {
        Value::Dict(d) if !d.is_owned() => d.clone(),
        _ => return Ok(Value::Bool(false)),
    };
    let mode = int_value(mode)?;
    let (pairs, subtract, copy) = (mode & 1 != 0, mode & 2 != 0, mode & 4 != 0);
    // As CPython's C loop (and dict.update for an empty Counter) under the GIL: free-threaded,
    // a dict's, set's or deque's items are taken in one step, so that another thread changing
    // the source meanwhile cannot fail `Counter(c)`, `c.copy()` or `c.update(d)`.
    let it = interp.get_iter_whole(iterable)?;
    while let Some(item) = interp.iter_next(&it)? {
        let (elem, count) = if pairs {
            count_pair(interp, item)?
        } else {
            (item, Value::Int(1))
        };
        let key = interp.hash_any(elem)?;
        // CPython's order of operands: `count + old` for a mapping's counts (Python code in
        // `Counter.update`), `old + 1` for elements, `old - count` to subtract.
        let combine = |interp: &mut Interp, old: &Value| match (old, &count) {
            (Value::Int(o), Value::Int(c)) if !subtract => match o.checked_add(*c) {
                Some(n) => Ok(Value::Int(n)),
                None => interp.binary(BinOp::Add, old, &count),
            },
            _ if subtract => interp.binary(BinOp::Sub, old, &count),
            _ if pairs => interp.binary(BinOp::Add, &count, old),
            _ => interp.binary(BinOp::Add, old, &count),
        };
        // Resolved with the table locked (again if an equal key replaced the one compared
        // against while Python `__eq__`s ran), so two threads counting equal elements of a
        // class with its own `__eq__` add to one key.
        let (mut map, key) = interp.lock_resolved(&d, key)?;
        let (slow, _added) = match map.get_mut(&key) {
            Some(slot) if plain_number(slot) && plain_number(&count) => {
                *slot = combine(interp, slot)?;
                (None, false)
            }
            Some(slot) => (Some(slot.clone()), false),
            None if copy => {
                map.insert(key.clone(), count.clone());
                (None, true)
            }
            None if plain_number(&count) => {
                let new = combine(interp, &Value::Int(0))?;
                map.insert(key.clone(), new);
                (None, true)
            }
            None => (Some(Value::Int(0)), false),
        };
        drop(map);
        if let Some(old) = slow {
            let new = combine(interp, &old)?;
            d.set(key, new);
        }
    }
    Ok(Value::Bool(true))
}

/// An `(element, count)` pair of `_count_elements`, unpacked as `for elem, count in ...` does.
fn count_pair(interp: &mut Interp, item: Value) -> PyResult<(Value, Value)> {
    let items = match &item {
        Value::Tuple(t) => t.items.to_vec(),
        _ => interp.collect_iter(&item)?,
    };
    match <[Value; 2]>::try_from(items) {
        Ok([elem, count]) => Ok((elem, count)),
        Err(items) if items.len() > 2 => {
            Err(err!(ValueError, "too many values to unpack (expected 2)"))
        }
        Err(items) => Err(err!(
            ValueError,
            "not enough values to unpack (expected 2, got {})",
            items.len()
        )),
    }
}

fn data<'a>(args: &Args<'a>) -> PyResult<&'a DequeData> {
    Ok(this::<DequeData>(args, "deque")?.1)
}

/// The length of `inst` when it is a deque itself, not an instance of a subclass (which may
/// define its own `__len__` or `__bool__`): `while q:` and `len(q)` read it without looking
/// `__bool__` and `__len__` up on the class and calling the method (callgrind: about 800
/// machine instructions a time before).
#[inline]
pub(crate) fn plain_len(inst: &crate::object::Instance) -> Option<usize> {
    let d = inst.native::<DequeData>()?;
    let cls = DEQUE_CLASS.get()?;
    Ref::ptr_eq(&inst.class.get(), cls).then(|| d.items.lock().len())
}

/// The deque of a method taking no arguments (CPython's `METH_NOARGS` messages).
fn no_args<'a>(args: &Args<'a>, method: &str) -> PyResult<&'a DequeData> {
    // The usual call, `q.popleft()`, needs no binding: the receiver alone.
    if let ([Value::Instance(inst)], []) = (args.pos, args.kw) {
        if let Some(d) = inst.native::<DequeData>() {
            return Ok(d);
        }
    }
    Sig::pos(method, Style::NoArgs, &[], 0)
        .of("deque")
        .check(args)?;
    data(args)
}

/// The deque and the argument of a method taking exactly one (`METH_O`).
fn one_arg<'a>(args: &Args<'a>, method: &str) -> PyResult<(&'a DequeData, &'a Value)> {
    // The usual call, `q.append(x)`: receiver and one positional argument, nothing to bind.
    if let ([Value::Instance(inst), x], []) = (args.pos, args.kw) {
        if let Some(d) = inst.native::<DequeData>() {
            return Ok((d, x));
        }
    }
    let [x] = Sig::pos(method, Style::One, &["x"], 1)
        .of("deque")
        .bind::<1>(args)?;
    let x = x.ok_or_else(|| err!(SystemError, "deque.{method}(): argument lost"))?;
    Ok((data(args)?, x))
}

fn deque_init(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let Some(Value::Instance(inst)) = args.pos.first() else {
        return Err(err!(TypeError, "deque.__init__ needs a deque instance"));
    };
    let [iterable, maxlen] = Sig::kw("deque", &["iterable", "maxlen"], 0)
        .method()
        .bind::<2>(&args)?;
    let maxlen = match maxlen {
        None | Some(Value::None) => None,
        Some(v @ (Value::Int(_) | Value::Bool(_))) => {
            let m = int_value(v)?;
            if m < 0 {
                return Err(err!(ValueError, "maxlen must be non-negative"));
            }
            Some(m as usize)
        }
        Some(other) => {
            return Err(err!(
                TypeError,
                "'{}' object cannot be interpreted as an integer",
                type_name(other)
            ))
        }
    };
    let items = match iterable {
        Some(it) => interp.collect_iter(it)?,
        None => Vec::new(),
    };
    let d = DequeData {
        items: Mutex::new(VecDeque::new()),
        maxlen,
        state: Arc::new(AtomicU64::new(0)),
    };
    for v in items {
        d.push_back(v);
    }
    if !inst.set_native(Box::new(d)) {
        return Err(err!(RuntimeError, "deque.__init__() called twice"));
    }
    Ok(Value::None)
}

fn deque_append(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (d, x) = one_arg(&args, "append")?;
    d.push_back(x.clone());
    Ok(Value::None)
}

fn deque_appendleft(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (d, x) = one_arg(&args, "appendleft")?;
    d.push_front(x.clone());
    Ok(Value::None)
}

fn deque_pop(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let v = no_args(&args, "pop")?.lock_mut().pop_back();
    v.ok_or_else(|| err!(IndexError, "pop from an empty deque"))
}

fn deque_popleft(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let v = no_args(&args, "popleft")?.lock_mut().pop_front();
    v.ok_or_else(|| err!(IndexError, "pop from an empty deque"))
}

fn deque_extend(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (d, x) = one_arg(&args, "extend")?;
    for v in interp.collect_iter(x)? {
        d.push_back(v);
    }
    Ok(Value::None)
}

fn deque_extendleft(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (d, x) = one_arg(&args, "extendleft")?;
    for v in interp.collect_iter(x)? {
        d.push_front(v);
    }
    Ok(Value::None)
}

fn deque_clear(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = no_args(&args, "clear")?;
    let old = std::mem::take(&mut *d.lock_mut());
    drop(old);
    Ok(Value::None)
}

fn deque_rotate(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [n] = Sig::pos("deque.rotate", Style::Unpack, &["n"], 0)
        .of("deque")
        .bind::<1>(&args)?;
    let d = data(&args)?;
    let n = match n {
        Some(v) => int_value(v)?,
        None => 1,
    };
    let mut items = d.lock_mut();
    let len = items.len() as i64;
    if len > 1 {
        let k = n.rem_euclid(len) as usize;
        items.rotate_right(k);
    }
    Ok(Value::None)
}

fn deque_reverse(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = no_args(&args, "reverse")?;
    let mut items = d.items.lock();
    items.make_contiguous().reverse();
    Ok(Value::None)
}

fn deque_count(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (d, x) = one_arg(&args, "count")?;
    let mut n = 0;
    for v in d.snapshot() {
        if interp.eq(&v, x)? {
            n += 1;
        }
    }
    Ok(Value::Int(n))
}

/// Position of the first item equal to `x` in `d[start:stop]` (clamped as slice indices).
fn find(
    interp: &mut Interp,
    d: &DequeData,
    x: &Value,
    start: i64,
    stop: i64,
) -> PyResult<Option<usize>> {
    interp.index_of_equal(&d.snapshot(), x, start, stop)
}

fn not_in_deque(interp: &mut Interp, x: &Value) -> PyResult<crate::error::PyErr> {
    Ok(err!(ValueError, "{} is not in deque", interp.repr(x)?))
}

fn deque_index(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [x, start, stop] = Sig::pos("index", Style::Positional, &["x", "start", "stop"], 1)
        .of("deque")
        .bind::<3>(&args)?;
    let d = data(&args)?;
    let x = x.ok_or_else(|| err!(SystemError, "deque.index(): argument lost"))?;
    let start = slice_index(start)?.unwrap_or(0);
    let stop = slice_index(stop)?.unwrap_or(i64::MAX);
    match find(interp, d, x, start, stop)? {
        Some(i) => Ok(Value::Int(i as i64)),
        None => Err(not_in_deque(interp, x)?),
    }
}

fn deque_remove(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (d, x) = one_arg(&args, "remove")?;
    // While the items compare without Python code, the match is found and removed in one hold
    // of the deque: with `--gil off`, another thread's `popleft()` between finding a position
    // and removing at it made the removal fail ("deque mutated during remove()", dozens of
    // times in four threads each doing popleft, append(-1), remove(-1) 1,000 times) or take
    // the wrong item.
    let plain = {
        let mut items = d.items.lock();
        let mut outcome = Some(None);
        for (i, item) in items.iter().enumerate() {
            match crate::builtins::list_methods::plain_eq(item, x) {
                Some(true) => {
                    outcome = Some(Some(i));
                    break;
                }
                Some(false) => {}
                None => {
                    outcome = None;
                    break;
                }
            }
        }
        match outcome {
            Some(Some(i)) => {
                d.state.fetch_add(1, Ordering::Relaxed);
                Some(items.remove(i))
            }
            Some(None) => Some(None),
            None => None,
        }
    };
    match plain {
        Some(Some(removed)) => {
            drop(removed);
            return Ok(Value::None);
        }
        Some(None) => return Err(not_in_deque(interp, x)?),
        None => {}
    }
    // Some item needs Python `==`: compare over a snapshot, and, as CPython, fail if the deque
    // changed meanwhile (an `__eq__` that changes it, or another thread).
    let start_state = d.state.load(Ordering::Relaxed);
    let items = d.snapshot();
    for (i, item) in items.iter().enumerate() {
        let equal = interp.eq(item, x)?;
        let mut live = d.items.lock();
        if d.state.load(Ordering::Relaxed) != start_state {
            return Err(err!(IndexError, "deque mutated during iteration"));
        }
        if equal {
            d.state.fetch_add(1, Ordering::Relaxed);
            let removed = live.remove(i);
            drop(live);
            drop(removed);
            return Ok(Value::None);
        }
    }
    Err(not_in_deque(interp, x)?)
}

fn deque_insert(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [i, x] = Sig::pos("insert", Style::Positional, &["i", "x"], 2)
        .of("deque")
        .bind::<2>(&args)?;
    let d = data(&args)?;
    let (Some(i), Some(x)) = (i, x) else {
        return Err(err!(SystemError, "deque.insert(): argument lost"));
    };
    let i = int_value(i)?;
    let mut items = d.lock_mut();
    let len = items.len();
    if d.maxlen.is_some_and(|m| len >= m) {
        return Err(err!(IndexError, "deque already at its maximum size"));
    }
    // Like list.insert: negative from the end, clamped to the ends.
    let pos = if i < 0 {
        (i + len as i64).max(0)
    } else {
        i.min(len as i64)
    };
    items.insert(pos as usize, x.clone());
    Ok(Value::None)
}

fn deque_copy(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args(&args, "copy")?;
    let (inst, d) = this::<DequeData>(&args, "deque")?;
    let maxlen = d.maxlen.map_or(Value::None, |m| Value::Int(m as i64));
    let items = Value::list(d.snapshot());
    interp.instantiate(&inst.class.get(), &[items, maxlen], &[])
}

fn deque_len(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = data(&args)?;
    Ok(Value::Int(d.items.lock().len() as i64))
}

fn deque_iter(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = data(&args)?;
    let start = d.state.load(Ordering::Relaxed);
    Ok(Value::Iter(crate::heap::Ref::new(
        crate::object::IterObj::new(
            "_deque_iterator",
            crate::object::IterState::Guarded {
                items: d.snapshot(),
                index: 0,
                state: d.state.clone(),
                start,
                error: "deque mutated during iteration",
            },
        ),
    )))
}

fn deque_reversed(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = data(&args)?;
    let mut items = d.snapshot();
    items.reverse();
    interp.get_iter(&Value::list(items))
}

fn deque_repr(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, d) = this::<DequeData>(&args, "deque")?;
    let items = interp.repr(&Value::list(d.snapshot()))?;
    let name = &inst.class.name();
    Ok(Value::string(match d.maxlen {
        Some(m) => format!("{name}({items}, maxlen={m})"),
        None => format!("{name}({items})"),
    }))
}

fn deque_contains(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (d, x) = one_arg(&args, "__contains__")?;
    Ok(Value::Bool(find(interp, d, x, 0, i64::MAX)?.is_some()))
}

fn index_of(d: &DequeData, key: &Value) -> PyResult<usize> {
    let i = match key {
        Value::Int(i) => *i,
        Value::Bool(b) => i64::from(*b),
        other => {
            return Err(err!(
                TypeError,
                "sequence index must be integer, not '{}'",
                type_name(other)
            ))
        }
    };
    let len = d.items.lock().len();
    seq_index(i, len).ok_or_else(|| err!(IndexError, "deque index out of range"))
}

fn deque_getitem(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (d, key) = one_arg(&args, "__getitem__")?;
    let i = index_of(d, key)?;
    let v = d.items.lock().get(i).cloned();
    v.ok_or_else(|| err!(IndexError, "deque index out of range"))
}

fn deque_setitem(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [key, v] = Sig::pos("__setitem__", Style::Unpack, &["key", "value"], 2)
        .of("deque")
        .bind::<2>(&args)?;
    let d = data(&args)?;
    let (Some(key), Some(v)) = (key, v) else {
        return Err(err!(SystemError, "deque.__setitem__(): argument lost"));
    };
    let i = index_of(d, key)?;
    let old = match d.items.lock().get_mut(i) {
        Some(slot) => std::mem::replace(slot, v.clone()),
        None => return Err(err!(IndexError, "deque index out of range")),
    };
    drop(old);
    Ok(Value::None)
}

fn deque_delitem(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (d, key) = one_arg(&args, "__delitem__")?;
    let i = index_of(d, key)?;
    let old = d.lock_mut().remove(i);
    match old {
        Some(_) => Ok(Value::None),
        None => Err(err!(IndexError, "deque index out of range")),
    }
}

fn deque_eq(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = data(&args)?;
    let other = match args.pos.get(1) {
        Some(Value::Instance(o)) => match o.native::<DequeData>() {
            Some(o) => o,
            None => return Ok(Value::NotImplemented),
        },
        _ => return Ok(Value::NotImplemented),
    };
    let (a, b) = (d.snapshot(), other.snapshot());
    if a.len() != b.len() {
        return Ok(Value::Bool(false));
    }
    for (x, y) in a.iter().zip(b.iter()) {
        if !interp.eq(x, y)? {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(true))
}

fn deque_maxlen(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = data(&args)?;
    Ok(d.maxlen.map_or(Value::None, |m| Value::Int(m as i64)))
}

/// `a < b` and the other orderings of two deques: their items compared as two lists are
/// (the first unequal pair decides, else the lengths), as CPython's `deque_richcompare`; any
/// other operand is `NotImplemented`.
fn deque_order(interp: &mut Interp, args: &Args<'_>, op: CmpOp) -> PyResult<Value> {
    let d = data(args)?;
    let other = match args.pos.get(1) {
        Some(Value::Instance(o)) => match o.native::<DequeData>() {
            Some(o) => o,
            None => return Ok(Value::NotImplemented),
        },
        _ => return Ok(Value::NotImplemented),
    };
    let (a, b) = (Value::list(d.snapshot()), Value::list(other.snapshot()));
    interp.compare(op, &a, &b)
}

fn deque_lt(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    deque_order(interp, &args, CmpOp::Lt)
}

fn deque_le(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    deque_order(interp, &args, CmpOp::LtE)
}

fn deque_gt(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    deque_order(interp, &args, CmpOp::Gt)
}

fn deque_ge(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    deque_order(interp, &args, CmpOp::GtE)
}

/// A new deque of the receiver's class and `maxlen` holding `items` (what `d + e` and `d * n`
/// return, as CPython's `deque_copy` makes them: a subclass's result is of the subclass).
fn deque_like(interp: &mut Interp, args: &Args<'_>, items: Vec<Value>) -> PyResult<Value> {
    let (inst, d) = this::<DequeData>(args, "deque")?;
    let maxlen = d.maxlen.map_or(Value::None, |m| Value::Int(m as i64));
    interp.instantiate(&inst.class.get(), &[Value::list(items), maxlen], &[])
}

/// `d + e`: a new deque of `d`'s items then `e`'s (`e` must be a deque).
fn deque_add(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = data(&args)?;
    let other = match args.pos.get(1) {
        Some(Value::Instance(o)) if o.native::<DequeData>().is_some() => o.native::<DequeData>(),
        Some(other) => {
            return Err(err!(
                TypeError,
                "can only concatenate deque (not \"{}\") to deque",
                type_name(other)
            ))
        }
        None => None,
    };
    let mut items = d.snapshot();
    items.extend(other.map(DequeData::snapshot).unwrap_or_default());
    deque_like(interp, &args, items)
}

/// The count of `d * n`: an int, or what its `__index__` gives; `None` (NotImplemented) for
/// another object, whose class may define the reflected operation; anything else is the
/// TypeError of a count that is no integer.
fn repeat_count(interp: &mut Interp, args: &Args<'_>) -> PyResult<Option<i64>> {
    let n = match args.pos.get(1) {
        Some(n @ (Value::Int(_) | Value::Bool(_) | Value::BigInt(_))) => n.clone(),
        Some(n @ Value::Instance(_)) => match interp.number_index(n)? {
            Some(i) => i,
            None => return Ok(None),
        },
        // Called as a method (`d.__mul__('x')`, `d.__imul__(1.5)`): CPython's
        // `PyNumber_AsSsize_t` message; an operator (`d * 'x'`) rewords it as the sequence's
        // (`Interp::call_operand`).
        other => {
            return Err(err!(
                TypeError,
                "'{}' object cannot be interpreted as an integer",
                other.map_or_else(|| "NoneType".to_string(), type_name)
            ))
        }
    };
    match n {
        Value::BigInt(_) => Err(err!(
            OverflowError,
            "cannot fit 'int' into an index-sized integer"
        )),
        n => Ok(Some(int_value(&n)?)),
    }
}

/// The items of `items` repeated `n` times, of which a deque bounded by `maxlen` keeps the
/// last `maxlen`.
fn repeated(items: &[Value], n: i64, maxlen: Option<usize>) -> PyResult<Vec<Value>> {
    if n <= 0 || items.is_empty() {
        return Ok(Vec::new());
    }
    // CPython refuses a count past its largest size (`PY_SSIZE_T_MAX`) even for a bounded
    // deque, and one that fits a machine word but not memory (`deque("ab") * (2**63 - 1)`)
    // fails to allocate: MemoryError either way (collecting it here panicked on the capacity).
    let total = items
        .len()
        .checked_mul(n as usize)
        .filter(|&t| t <= isize::MAX as usize)
        .ok_or_else(|| err!(MemoryError, ""))?;
    let keep = maxlen.map_or(total, |m| total.min(m));
    crate::builtins::args::check_items(keep)?;
    // The last `keep` items of the repetition: start where they start within one copy.
    let first = (total - keep) % items.len();
    Ok(items
        .iter()
        .cycle()
        .skip(first)
        .take(keep)
        .cloned()
        .collect())
}

/// `d * n`: a new deque of `d`'s items `n` times over.
fn deque_mul(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    deque_repeat(interp, &args)
}

/// `n * d`
fn deque_rmul(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    deque_repeat(interp, &args)
}

fn deque_repeat(interp: &mut Interp, args: &Args<'_>) -> PyResult<Value> {
    let d = data(args)?;
    let Some(n) = repeat_count(interp, args)? else {
        return Ok(Value::NotImplemented);
    };
    let items = repeated(&d.snapshot(), n, d.maxlen)?;
    deque_like(interp, args, items)
}

/// `d += iterable`: `d.extend(iterable)`, then `d` itself.
fn deque_iadd(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (d, x) = one_arg(&args, "__iadd__")?;
    // `d += d` extends by the items it had.
    for v in interp.collect_iter(x)? {
        d.push_back(v);
    }
    Ok(args.pos.first().cloned().unwrap_or_default())
}

/// `d *= n`: `d`'s items `n` times over, in place.
fn deque_imul(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let d = data(&args)?;
    let Some(n) = repeat_count(interp, &args)? else {
        return Ok(Value::NotImplemented);
    };
    let items = repeated(&d.snapshot(), n, d.maxlen)?;
    let mut guard = d.lock_mut();
    guard.clear();
    guard.extend(items);
    drop(guard);
    Ok(args.pos.first().cloned().unwrap_or_default())
}
