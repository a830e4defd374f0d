//! Methods of `list`.

use crate::builtins::args::{descriptor_error, recv, rest, slice_index, to_index, ArgsExt};
use crate::builtins::sort::sort_values;
use crate::builtins::text::adjust_indices;
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
        other => interp.collect_iter(other)?,
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

/// Index of the first item equal to `x` in `items[lo..hi]`.
fn position(
    interp: &mut Interp,
    items: &[Value],
    x: &Value,
    lo: usize,
    hi: usize,
) -> PyResult<Option<usize>> {
    for (i, item) in items.iter().enumerate().take(hi).skip(lo) {
        if interp.eq(item, x)? {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

fn remove(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let l = recv_list(&args, "remove")?;
    let x = rest(&args).one("list.remove")?;
    let items = l.snapshot();
    match position(interp, &items, x, 0, items.len())? {
        Some(i) => {
            let mut live = l.items.lock();
            if i < live.len() {
                live.remove(i);
            }
            Ok(Value::None)
        }
        None => raise!(ValueError, "list.remove(x): x not in list"),
    }
}

fn index(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let l = recv_list(&args, "index")?;
    let a = rest(&args);
    a.range("list.index", 1, 3)?;
    let x = a.get(0).cloned().unwrap_or(Value::None);
    let items = l.snapshot();
    let (lo, hi) = adjust_indices(slice_index(a.get(1))?, slice_index(a.get(2))?, items.len());
    match position(interp, &items, &x, lo, hi)? {
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
    let mut n = 0;
    for item in l.snapshot() {
        if interp.eq(&item, x)? {
            n += 1;
        }
    }
    Ok(Value::Int(n))
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
