//! Stage 4 (VM), built-ins.
//! Built-in functions over iterables: `iter`, `next`, `enumerate`, `zip`, `map`, `filter`,
//! `reversed`, `sorted`, `min`, `max`, `sum`, `any`, `all`.

use minivm_compiler::bytecode::{BinOp, CmpOp};

use crate::builtins::args::ArgsExt;
use crate::builtins::functions::calling_level_held;
use crate::builtins::list_methods::reverse_flag;
use crate::builtins::sort::sort_values;
use crate::builtins::Methods;
use crate::error::{PyErr, PyResult};
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{type_name, ExcKind, IterObj, IterState};
use crate::raise;
use crate::value::Value;

/// The iterator types that are built-in names, as CPython's (`isinstance(z, zip)`): classes
/// (`object::iterator_class`) whose construction (`builtins::construct`) calls these.
pub const ITERATOR_TYPES: Methods = &[
    ("enumerate", enumerate),
    ("zip", zip),
    ("map", map),
    ("filter", filter),
    ("reversed", reversed),
];

pub const FUNCTIONS: Methods = &[
    ("iter", iter),
    ("next", next),
    ("sorted", sorted),
    ("min", min),
    ("max", max),
    ("sum", sum),
    ("any", any),
    ("all", all),
];

fn new_iter(kind: &'static str, state: IterState) -> Value {
    Value::Iter(Ref::new(IterObj::new(kind, state)))
}

fn iter(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    // `iter(x)`, the usual call (`next(iter(s))` for a set's one member): straight to
    // `get_iter`, without the arity check's range test and the two-argument match.
    if let ([v], []) = (args.pos, args.kw) {
        return interp.get_iter(v);
    }
    args.range("iter", 1, 2)?;
    if let [func, sentinel] = args.pos {
        if !crate::builtins::functions::is_callable(interp, func) {
            raise!(TypeError, "iter(v, w): v must be callable");
        }
        let state = IterState::Callable {
            func: func.clone(),
            sentinel: sentinel.clone(),
        };
        return Ok(new_iter("callable_iterator", state));
    }
    interp.get_iter(args.get(0).unwrap_or(&Value::None))
}

fn next(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("next", 1, 2)?;
    // Borrowed from the caller's stack, which holds it for the whole call: no count taken
    // and dropped per call (as `len` and `isinstance` read theirs).
    let it = args.get(0).unwrap_or(&Value::None);
    let r = match it {
        Value::Iter(obj) => interp.native_next(obj)?,
        Value::RangeIter(r) => r.next_value().map(Value::Int),
        Value::Generator(g) if g.kind == crate::object::GenKind::Generator => {
            match interp.gen_next(g)? {
                Some(v) => Some(v),
                None => {
                    let stop = interp.gen_stop_iteration();
                    return match args.get(1) {
                        Some(d) => Ok(d.clone()),
                        None => Err(stop),
                    };
                }
            }
        }
        Value::Instance(_) if interp.lookup_special(it, "__next__").is_some() => {
            let m = interp.lookup_special(it, "__next__").unwrap_or(Value::None);
            match interp.call(&m, std::slice::from_ref(it)) {
                Ok(v) => Some(v),
                Err(e) if e.is(ExcKind::StopIteration) && args.get(1).is_some() => None,
                Err(e) => return Err(e),
            }
        }
        other => raise!(
            TypeError,
            "'{}' object is not an iterator",
            type_name(other)
        ),
    };
    match (r, args.get(1)) {
        (Some(v), _) => Ok(v),
        (None, Some(d)) => Ok(d.clone()),
        (None, None) => Err(PyErr::with_args(ExcKind::StopIteration, vec![])),
    }
}

fn enumerate(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.only_kw("enumerate", &["iterable", "start"])?;
    if args.pos.len() > 2 {
        raise!(
            TypeError,
            "enumerate() takes at most 2 arguments ({} given)",
            args.pos.len()
        );
    }
    let Some(src) = args.pos_or_kw("enumerate", 0, "iterable")? else {
        raise!(
            TypeError,
            "enumerate() missing required argument 'iterable'"
        );
    };
    let count = match args.pos_or_kw("enumerate", 1, "start")? {
        None => 0,
        Some(v) => i128::from(interp.index_arg(v)?),
    };
    let inner = interp.get_iter(src)?;
    Ok(new_iter(
        "enumerate",
        IterState::Enumerate {
            inner,
            count,
            spare: None,
        },
    ))
}

fn zip(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.only_kw("zip", &["strict"])?;
    let strict = match args.kwarg("strict") {
        None => false,
        Some(v) => interp.truthy(v)?,
    };
    let mut inners = Vec::with_capacity(args.pos.len());
    for a in args.pos {
        inners.push(interp.get_iter(a)?);
    }
    Ok(new_iter(
        "zip",
        IterState::Zip {
            inners: inners.into(),
            strict,
            spare: None,
        },
    ))
}

fn map(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.no_kw("map")?;
    let [func, rest @ ..] = args.pos else {
        raise!(TypeError, "map() must have at least two arguments.");
    };
    if rest.is_empty() {
        raise!(TypeError, "map() must have at least two arguments.");
    }
    let mut inners = Vec::with_capacity(rest.len());
    for a in rest {
        inners.push(interp.get_iter(a)?);
    }
    Ok(new_iter(
        "map",
        IterState::Map {
            func: func.clone(),
            inners: inners.into(),
        },
    ))
}

fn filter(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("filter", 2, 2)?;
    let (Some(func), Some(src)) = (args.get(0), args.get(1)) else {
        return Ok(Value::None);
    };
    let inner = interp.get_iter(src)?;
    Ok(new_iter(
        "filter",
        IterState::Filter {
            func: func.clone(),
            inner,
        },
    ))
}

/// `reversed(seq)`. `IterState::Reversed { items }` holds the items in their ORIGINAL order:
/// the iterator yields `items.pop()` until empty.
fn reversed(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let seq = args.one("reversed")?;
    let rev = |kind, items| Ok(new_iter(kind, IterState::Reversed { items }));
    match seq {
        Value::List(l) => Ok(new_iter(
            "list_reverseiterator",
            IterState::RevSeq {
                obj: seq.clone(),
                index: l.len() as i64 - 1,
            },
        )),
        Value::Tuple(t) => rev("reversed", t.items.to_vec()),
        Value::Str(s) => rev("reversed", s.as_str().chars().map(Value::char).collect()),
        Value::Dict(d) => Ok(crate::interp::dictwalk::dict_iter(
            d,
            crate::interp::dictwalk::WalkKind::Keys,
            true,
        )),
        Value::Range(r) if r.big().is_some() => Ok(crate::interp::iter::long_range_iter(r, true)),
        Value::Range(r) => {
            let n = r.len();
            Ok(new_iter(
                "range_iterator",
                IterState::RangeCountdown {
                    next: if n == 0 { r.start } else { r.at(n - 1) },
                    step: r.step,
                    // At most 2**64 - 1 members.
                    left: n as u64,
                },
            ))
        }
        Value::Instance(_) | Value::Class(_) => {
            if let Some(m) = interp.lookup_special(seq, "__reversed__") {
                // `__reversed__ = None` (as collections.abc.Mapping has) says "not reversible".
                if m.is_none() {
                    raise!(TypeError, "'{}' object is not reversible", type_name(seq));
                }
                return interp.call(&m, std::slice::from_ref(seq));
            }
            if let Some(base) = crate::object::builtin_base(seq) {
                let base = base.clone();
                return reversed(
                    interp,
                    Args {
                        pos: &[base],
                        kw: &[],
                    },
                );
            }
            if interp.lookup_special(seq, "__getitem__").is_some()
                && interp.lookup_special(seq, "__len__").is_some()
            {
                let n = crate::builtins::functions::length(interp, seq)?;
                return Ok(new_iter(
                    "reversed",
                    IterState::RevSeq {
                        obj: seq.clone(),
                        index: n - 1,
                    },
                ));
            }
            raise!(TypeError, "'{}' object is not reversible", type_name(seq))
        }
        other => raise!(TypeError, "'{}' object is not reversible", type_name(other)),
    }
}

fn sorted(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    // A recursion level held, as CPython 3.11's `sorted` holds one calling `list.sort`.
    calling_level_held(interp, |interp| sorted_body(interp, args))
}

fn sorted_body(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    if args.pos.len() != 1 {
        raise!(
            TypeError,
            "sorted expected 1 argument, got {}",
            args.pos.len()
        );
    }
    args.only_kw("sort", &["key", "reverse"])?;
    let src = args.get(0).unwrap_or(&Value::None);
    let mut items = match src {
        Value::List(l) => l.snapshot(),
        other => interp.collect_sized(other)?,
    };
    let rev = reverse_flag(args.kwarg("reverse"))?;
    sort_values(interp, &mut items, args.kwarg("key"), rev)?;
    Ok(Value::list(items))
}

fn minmax(interp: &mut Interp, args: Args<'_>, name: &str, is_max: bool) -> PyResult<Value> {
    args.only_kw(name, &["key", "default"])?;
    let key = args.kwarg("key").filter(|k| !k.is_none());
    let default = args.kwarg("default");
    let items = match args.pos {
        [] => raise!(TypeError, "{name} expected at least 1 argument, got 0"),
        [single] => interp.collect_iter(single)?,
        many => {
            if default.is_some() {
                raise!(
                    TypeError,
                    "Cannot specify a default for {name}() with multiple positional arguments"
                );
            }
            many.to_vec()
        }
    };
    let mut best: Option<(Value, Value)> = None;
    for item in items {
        let k = match key {
            Some(f) => interp.call(f, std::slice::from_ref(&item))?,
            None => item.clone(),
        };
        let better = match (&k, &best) {
            (_, None) => true,
            // Two ints or two floats compare here, without a comparison result made and
            // tested per item (as `a > b` and `a < b` compare them: a NaN is never better).
            (Value::Int(a), Some((Value::Int(b), _))) => {
                if is_max {
                    a > b
                } else {
                    a < b
                }
            }
            (Value::Float(a), Some((Value::Float(b), _))) => {
                if is_max {
                    a > b
                } else {
                    a < b
                }
            }
            (_, Some((bk, _))) => {
                if is_max {
                    let r = interp.compare(CmpOp::Gt, &k, bk)?;
                    interp.truthy(&r)?
                } else {
                    interp.lt(&k, bk)?
                }
            }
        };
        if better {
            best = Some((k, item));
        }
    }
    match (best, default) {
        (Some((_, v)), _) => Ok(v),
        (None, Some(d)) => Ok(d.clone()),
        (None, None) => raise!(ValueError, "{name}() arg is an empty sequence"),
    }
}

// `min` and `max` hold a recursion level while they run, as CPython 3.11's (METH_VARARGS
// functions, called through `_PyObject_MakeTpCall`): a key function or `__lt__` recursing
// through them takes two levels a step.
fn min(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    calling_level_held(interp, |interp| minmax(interp, args, "min", false))
}

fn max(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    calling_level_held(interp, |interp| minmax(interp, args, "max", true))
}

fn sum(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.only_kw("sum", &["start"])?;
    if args.pos.is_empty() {
        raise!(
            TypeError,
            "sum() takes at least 1 positional argument (0 given)"
        );
    }
    if args.pos.len() > 2 {
        raise!(
            TypeError,
            "sum() takes at most 2 arguments ({} given)",
            args.pos.len()
        );
    }
    let mut acc = args
        .pos_or_kw("sum", 1, "start")?
        .cloned()
        .unwrap_or(Value::Int(0));
    if let Value::Str(_) = acc {
        raise!(
            TypeError,
            "sum() can't sum strings [use ''.join(seq) instead]"
        );
    }
    let src = args.get(0).unwrap_or(&Value::None);
    if let Value::List(_) | Value::Tuple(_) = src {
        // A list or tuple (exact types: a subclass is an instance) is read by index, as its
        // iterator would read it: item `i` at each step, the end once `i` reaches the length
        // as it is then (an item's `__add__` may change the list). Ints and floats are added
        // where they lie, without an iterator object, a clone or a call per item (spectral
        // norm's `sum([...])`); anything else is cloned out and added by `sum_step`.
        let mut i = 0;
        loop {
            // `Some(item)`: an item `sum_fast` did not add, cloned out for the general `+`
            // (which runs with the list let go).
            let item = match src {
                Value::List(l) => {
                    let items = l.items.lock();
                    let Some(v) = items.get(i) else { break };
                    sum_in_place(&mut acc, v)
                }
                Value::Tuple(t) => {
                    let Some(v) = t.items.get(i) else { break };
                    sum_in_place(&mut acc, v)
                }
                _ => break,
            };
            i += 1;
            if let Some(item) = item {
                acc = sum_step(interp, acc, &item)?;
            }
        }
        return Ok(acc);
    }
    let it = interp.get_iter_whole(src)?;
    while let Some(v) = interp.next_item(&it)? {
        // As `sum_in_place`: two numbers added here drop nothing (the old total and the
        // item are numbers), with no call of the drop glue for either.
        match sum_fast(&acc, &v) {
            Some(r) => {
                std::mem::replace(&mut acc, r).discard();
                v.discard();
            }
            None => acc = interp.binary(BinOp::Add, &acc, &v)?,
        }
    }
    Ok(acc)
}

/// `acc + v` for `sum` when both are ints whose sum fits, or both floats: added as C doubles,
/// as CPython 3.11's `sum` does (no compensation). `None`: the general `+` (`sum_step`).
#[inline(always)]
fn sum_fast(acc: &Value, v: &Value) -> Option<Value> {
    match (acc, v) {
        (Value::Int(a), Value::Int(b)) => a.checked_add(*b).map(Value::Int),
        (Value::Float(a), Value::Float(b)) => Some(Value::Float(crate::num::new_float(a + b))),
        _ => None,
    }
}

/// `sum`'s step for an item read where it lies in a list or tuple: added into `acc` when
/// `sum_fast` can (`None`), else a clone of the item for `sum_step`.
#[inline(always)]
fn sum_in_place(acc: &mut Value, v: &Value) -> Option<Value> {
    match sum_fast(acc, v) {
        Some(r) => {
            // The old total is a number (`sum_fast` saw it): nothing to drop.
            std::mem::replace(acc, r).discard();
            None
        }
        None => Some(v.clone()),
    }
}

/// One step of `sum` over a list or tuple for an item `sum_in_place` did not add: `acc + v`,
/// inline for ints and floats, else the general `+`.
#[inline(always)]
fn sum_step(interp: &mut Interp, acc: Value, v: &Value) -> PyResult<Value> {
    match sum_fast(&acc, v) {
        Some(r) => Ok(r),
        None => interp.binary(BinOp::Add, &acc, v),
    }
}

fn any(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let it = interp.get_iter_whole(args.one("any")?)?;
    while let Some(v) = interp.next_item(&it)? {
        if interp.truthy(&v)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn all(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let it = interp.get_iter_whole(args.one("all")?)?;
    while let Some(v) = interp.next_item(&it)? {
        if !interp.truthy(&v)? {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(true))
}

/// The iterator kinds that answer `__length_hint__` (CPython's sequence, dict, set, range and
/// reversed iterators; not `enumerate`, `zip`, `map`, `filter` or `iter(f, sentinel)`).
pub const SIZED_ITERATORS: &[&str] = &[
    "list_iterator",
    "list_reverseiterator",
    "tuple_iterator",
    "str_iterator",
    "str_ascii_iterator",
    "bytes_iterator",
    "bytearray_iterator",
    "dict_keyiterator",
    "dict_valueiterator",
    "dict_itemiterator",
    "dict_reversekeyiterator",
    "dict_reversevalueiterator",
    "dict_reverseitemiterator",
    "set_iterator",
    "range_iterator",
    "longrange_iterator",
    "reversed",
    "_deque_iterator",
];

/// `it.__length_hint__()`: how many items a built-in iterator has left (what
/// `operator.length_hint` and CPython's presizing read). A list iterator counts the list as
/// it is now; a dict or set iterator whose container changed size says 0, as CPython's.
pub fn iter_length_hint(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let this = match args.pos {
        [this] if args.kw.is_empty() => this,
        _ => raise!(TypeError, "__length_hint__() takes no arguments"),
    };
    if let Value::Iter(it) = this {
        if let IterState::LongRange { left, .. } = &*it.state.lock() {
            return Ok(Value::from(left.clone()));
        }
    }
    match length_hint(this) {
        Some(left) => Ok(Value::from(crate::num::BigInt::from(left))),
        None => raise!(
            TypeError,
            "descriptor '__length_hint__' requires an iterator, not '{}'",
            type_name(this)
        ),
    }
}

/// How many items the built-in iterator `it` has left (0 for the kinds that do not know, such
/// as `map` or a generator; a count past `usize` as `usize::MAX`); `None` if `it` is not a
/// built-in iterator. What `list(it)` and `bytes(it)` check before they read an item.
pub fn length_hint(it: &Value) -> Option<usize> {
    let left = match it {
        Value::RangeIter(r) => {
            let next = r.next.load(std::sync::atomic::Ordering::Relaxed) as i128;
            let (stop, step) = (r.stop as i128, r.step as i128);
            let n = if step > 0 {
                (stop - next + step - 1) / step
            } else {
                (next - stop - step - 1) / -step
            };
            n.max(0) as usize
        }
        Value::Iter(it) => match &*it.state.lock() {
            IterState::List { list, index } => list.len().saturating_sub(*index),
            IterState::Tuple { tuple, index } => tuple.items.len().saturating_sub(*index),
            IterState::Str { s, byte } => s.as_str().get(*byte..).map_or(0, |t| t.chars().count()),
            IterState::Items { items, index, set } => {
                let changed = set
                    .as_ref()
                    .is_some_and(|(s, n)| s.items.lock().len() != *n);
                if changed {
                    0
                } else {
                    items.len().saturating_sub(*index)
                }
            }
            IterState::SetWalk {
                set, used, left, ..
            } if set.items.lock().len() == *used => *left,
            IterState::DictWalk(w) => w.length_hint(),
            IterState::Guarded { items, index, .. } => items.len().saturating_sub(*index),
            IterState::Reversed { items } => items.len(),
            // CPython's list reverse iterator: `index + 1` while the index is in the list.
            IterState::RevSeq {
                obj: Value::List(l),
                index,
            } if *index >= 0 && (*index as usize) < l.len() => *index as usize + 1,
            IterState::RevSeq {
                obj: Value::List(_),
                ..
            } => 0,
            IterState::RevSeq { index, .. } => (*index + 1).max(0) as usize,
            IterState::RangeCountdown { left, .. } => *left as usize,
            IterState::LongRange { left, .. } => usize::try_from(left).unwrap_or(usize::MAX),
            _ => 0,
        },
        _ => return None,
    };
    Some(left)
}
