//! Stage 4 (VM), built-ins.
//! Methods of `list`.

use crate::builtins::args::{descriptor_error, recv, rest, slice_index, to_index, ArgsExt};
use crate::builtins::sort::sort_values;
use crate::builtins::Methods;
use crate::error::PyResult;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::List;
use crate::raise;
use crate::value::Value;

pub const METHODS: Methods = &[
    ("append", append),
    ("extend", extend),
    ("insert", insert),
    ("pop", pop),
    ("remove", remove),
    ("index", index),
    ("count", count),
    ("sort", sort),
    ("reverse", reverse),
    ("copy", copy),
    ("clear", clear),
];

fn recv_list<'a>(args: &Args<'a>, meth: &str) -> PyResult<&'a Ref<List>> {
    match recv(args, "list", meth)? {
        Value::List(l) => Ok(l),
        other => Err(descriptor_error("list", meth, other)),
    }
}

fn append(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let l = recv_list(&args, "append")?;
    let v = rest(&args).one("list.append")?;
    l.items.lock().push(v.clone());
    Ok(Value::None)
}

fn extend(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let l = recv_list(&args, "extend")?;
    let src = rest(&args).one("list.extend")?;
    let items = match src {
        Value::List(o) => o.snapshot(),
        Value::Tuple(t) => t.items.to_vec(),
        other => interp.collect_sized(other)?,
    };
    l.items.lock().extend(items);
    Ok(Value::None)
}

fn insert(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let l = recv_list(&args, "insert")?;
    let a = rest(&args);
    a.range("list.insert", 2, 2)?;
    let i = interp.index_arg(a.get(0).unwrap_or(&Value::None))?;
    let v = a.get(1).cloned().unwrap_or(Value::None);
    let mut items = l.items.lock();
    let n = items.len() as i64;
    let at = if i < 0 { (i + n).max(0) } else { i.min(n) };
    items.insert(at as usize, v);
    Ok(Value::None)
}

fn pop(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let l = recv_list(&args, "pop")?;
    let a = rest(&args);
    a.range("list.pop", 0, 1)?;
    let i = match a.get(0) {
        None => -1,
        Some(Value::Int(i)) => *i,
        Some(v) => interp.index_arg(v)?,
    };
    let mut items = l.items.lock();
    if items.is_empty() {
        raise!(IndexError, "pop from empty list");
    }
    let n = items.len() as i64;
    let at = if i < 0 { i + n } else { i };
    if at < 0 || at >= n {
        raise!(IndexError, "pop index out of range");
    }
    Ok(items.remove(at as usize))
}

/// Equality of two values that needs no Python code, when it is that simple: ints and strs
/// (the usual items searched for), identity, which CPython's list search checks first
/// (`PyObject_RichCompareBool`), and plain objects whose `==` is identity
/// (`identity_decides_eq`). `None` when `==` may run an `__eq__` or needs the general rules.
#[inline]
pub(crate) fn plain_eq(item: &Value, x: &Value) -> Option<bool> {
    match (item, x) {
        (Value::Int(a), Value::Int(b)) => Some(a == b),
        (Value::Str(a), Value::Str(b)) => Some(Ref::ptr_eq(a, b) || a.as_str() == b.as_str()),
        (Value::Int(_), Value::Str(_)) | (Value::Str(_), Value::Int(_)) => Some(false),
        // Bools, None and ints among themselves (a sieve's `flags.count(False)`, a list of
        // `None | bool` marks): without these, each such item was copied out and compared by
        // the general `==` (3x CPython's time counting a 10-million-item list).
        (Value::Bool(a), Value::Bool(b)) => Some(a == b),
        (Value::Bool(a), Value::Int(b)) | (Value::Int(b), Value::Bool(a)) => {
            Some(i64::from(*a) == *b)
        }
        (Value::None, Value::None) => Some(true),
        (Value::None, Value::Bool(_) | Value::Int(_) | Value::Str(_))
        | (Value::Bool(_) | Value::Int(_) | Value::Str(_), Value::None)
        | (Value::Bool(_), Value::Str(_))
        | (Value::Str(_), Value::Bool(_)) => Some(false),
        _ if item.is(x) => Some(true),
        // Plain objects without `__eq__` (deltablue's constraints in a variable's list).
        _ if crate::interp::ops::identity_decides_eq(item, x) => Some(false),
        _ => None,
    }
}

/// Index of the first item of `l[lo..hi]` equal to `x`, searched as CPython searches a list:
/// in place, with the length read again at every step, since an item's `__eq__` may change the
/// list (the search then goes on over what the list holds now). Items `plain_eq` can answer
/// are compared with the list held; any other item is copied out, the list released, and
/// compared by `==`.
fn position(
    interp: &mut Interp,
    l: &List,
    x: &Value,
    lo: usize,
    hi: usize,
) -> PyResult<Option<usize>> {
    let mut i = lo;
    loop {
        let item = {
            let items = l.items.lock();
            let end = hi.min(items.len());
            loop {
                let Some(item) = items.get(i).filter(|_| i < end) else {
                    return Ok(None);
                };
                match plain_eq(item, x) {
                    Some(true) => return Ok(Some(i)),
                    Some(false) => i += 1,
                    None => break item.clone(),
                }
            }
        };
        if interp.eq(&item, x)? {
            return Ok(Some(i));
        }
        i += 1;
    }
}

/// What `list.remove` found in one hold of the list.
enum Removal {
    /// Removed (an item `plain_eq` could compare): dropped once the list is released.
    Done(Value),
    /// Not in the list.
    Missing,
    /// The item at this position needs a Python `==`, made with the list released.
    Ask(usize, Value),
}

fn remove(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let l = recv_list(&args, "remove")?;
    let x = rest(&args).one("list.remove")?;
    // Items `plain_eq` can answer are compared and the match removed in one hold of the list:
    // with `--gil off`, another thread's `del l[0]` between finding a position and removing at
    // it would remove the wrong item or none (four threads each doing `del l[0]`,
    // `l.append(-1)`, `l.remove(-1)` kept one or two extra -1s in every run).
    let mut start = 0;
    loop {
        let found = {
            let mut items = l.items.lock();
            let mut i = start;
            loop {
                let Some(item) = items.get(i) else {
                    break Removal::Missing;
                };
                match plain_eq(item, x) {
                    Some(true) => break Removal::Done(items.remove(i)),
                    Some(false) => i += 1,
                    None => break Removal::Ask(i, item.clone()),
                }
            }
        };
        match found {
            Removal::Done(removed) => {
                drop(removed);
                return Ok(Value::None);
            }
            Removal::Missing => raise!(ValueError, "list.remove(x): x not in list"),
            Removal::Ask(i, item) => {
                if !interp.eq(&item, x)? {
                    start = i + 1;
                    continue;
                }
                // As CPython: the item at the position found is removed, even if an `__eq__`
                // changed the list meanwhile (also free-threaded: looking again when the item
                // had moved never ended when the `__eq__` itself moved it each time,
                // tests/scripts/lists/search_while_mutating under MINIVM_GIL=0). The removed
                // item is dropped with the list released.
                let removed = {
                    let mut live = l.items.lock();
                    (i < live.len()).then(|| live.remove(i))
                };
                drop(removed);
                return Ok(Value::None);
            }
        }
    }
}

fn index(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let l = recv_list(&args, "index")?;
    let a = rest(&args);
    a.range("list.index", 1, 3)?;
    let x = a.get(0).cloned().unwrap_or(Value::None);
    // As CPython: negative bounds count from the end of the list as it is now; the stop is
    // not clamped to that length (an `__eq__` that grows the list lets the search go on).
    let len = l.len() as i64;
    let bound = |v: Option<i64>, default: usize| match v {
        None => default,
        Some(v) if v < 0 => (v + len).max(0) as usize,
        Some(v) => v as usize,
    };
    if a.pos.iter().skip(1).any(|v| matches!(v, Value::None)) {
        raise!(
            TypeError,
            "slice indices must be integers or have an __index__ method"
        );
    }
    let lo = bound(slice_index(a.get(1))?, 0);
    let hi = bound(slice_index(a.get(2))?, usize::MAX);
    match position(interp, l, &x, lo, hi)? {
        Some(i) => Ok(Value::Int(i as i64)),
        None => {
            let r = interp.repr(&x)?;
            raise!(ValueError, "{r} is not in list")
        }
    }
}

fn count(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let l = recv_list(&args, "count")?;
    let x = rest(&args).one("list.count")?;
    // As `position`: no copy of the list; the length is read again at each step.
    let mut n = 0;
    let mut i = 0;
    loop {
        let item = {
            let items = l.items.lock();
            loop {
                let Some(item) = items.get(i) else {
                    return Ok(Value::Int(n));
                };
                match plain_eq(item, x) {
                    Some(eq) => {
                        n += i64::from(eq);
                        i += 1;
                    }
                    None => break item.clone(),
                }
            }
        };
        if interp.eq(&item, x)? {
            n += 1;
        }
        i += 1;
    }
}

/// The `reverse=` flag of `sort`/`sorted`: an int-like value.
pub fn reverse_flag(v: Option<&Value>) -> PyResult<bool> {
    match v {
        None => Ok(false),
        Some(v) => Ok(to_index(v)? != 0),
    }
}

fn sort(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let l = recv_list(&args, "sort")?;
    let a = rest(&args);
    if !a.pos.is_empty() {
        raise!(TypeError, "sort() takes no positional arguments");
    }
    a.only_kw("sort", &["key", "reverse"])?;
    let rev = reverse_flag(a.kwarg("reverse"))?;
    // Items all ints, all strs or all floats (no NaN), no key: no program can see the
    // comparisons, so the list is sorted in place under its lock, one step for other threads
    // as under CPython's GIL. Free-threaded, an `append` by another thread meanwhile was lost
    // (overwritten by the sorted items) and the sorting thread got "list modified during sort".
    let no_key = a.kwarg("key").is_none_or(Value::is_none);
    {
        let mut live = l.items.lock();
        // Nothing to compare and no key to call (an empty list; one item without a key): no
        // Python code runs, so nothing is done. Taken the slow way below, another thread's
        // append meanwhile made it "list modified during sort" (free-threaded).
        if live.is_empty() || (no_key && live.len() == 1) {
            return Ok(Value::None);
        }
        let order = if no_key {
            crate::builtins::sort::total_order(&live)
        } else {
            None
        };
        if let Some(order) = order {
            live.sort_by(|x, y| {
                let o = order(x, y);
                if rev {
                    o.reverse()
                } else {
                    o
                }
            });
            return Ok(Value::None);
        }
    }
    // As CPython: the list looks empty while it is being sorted.
    let mut items = std::mem::take(&mut *l.items.lock());
    let r = sort_values(interp, &mut items, a.kwarg("key"), rev);
    let mut live = l.items.lock();
    let modified = !live.is_empty();
    *live = items;
    r?;
    if modified {
        raise!(ValueError, "list modified during sort");
    }
    Ok(Value::None)
}

fn reverse(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let l = recv_list(&args, "reverse")?;
    rest(&args).none("list.reverse")?;
    l.items.lock().reverse();
    Ok(Value::None)
}

fn copy(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let l = recv_list(&args, "copy")?;
    rest(&args).none("list.copy")?;
    Ok(Value::list(l.snapshot()))
}

fn clear(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let l = recv_list(&args, "clear")?;
    rest(&args).none("list.clear")?;
    // The items are freed after the list is unlocked, last first as CPython does.
    let mut old = std::mem::take(&mut *l.items.lock());
    crate::object::drop_reversed(&mut old);
    Ok(Value::None)
}
