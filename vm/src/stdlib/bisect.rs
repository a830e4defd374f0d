//! `_bisect` (stdlib stage): `bisect_right`, `bisect_left`, `insort_right` and `insort_left` in
//! Rust for the common call, as CPython's C module `_bisect` is for `bisect`.
//! `vm/lib/bisect.mini` keeps the whole functions (keys, `__index__` bounds, items of any class,
//! sequences other than lists); once `setup(...)` has been given them, the module's four names
//! are this module's functions, which check their arguments as CPython's C functions do (its
//! messages), search an exact `list` between int bounds here when `x` and the items compare as
//! plain ints, floats or strs, and otherwise call the mini function with the same arguments
//! (nothing Python-visible has happened by then: no Python code runs in the search).

use crate::builtins::Methods;
use crate::heap::{Global, Ref};
use crate::interp::{Args, Interp};
use crate::object::Module;
use crate::value::Value;
use crate::PyResult;

const FUNCS: Methods = &[
    ("setup", setup),
    ("bisect_right", bisect_right),
    ("bisect_left", bisect_left),
    ("insort_right", insort_right),
    ("insort_left", insort_left),
];

/// The mini-language functions, for every call not answered here.
struct State {
    bisect_right: Value,
    bisect_left: Value,
    insort_right: Value,
    insort_left: Value,
}

static STATE: Global<State> = Global::new();

pub fn module() -> Ref<Module> {
    super::module_from_fns("_bisect", FUNCS, vec![])
}

/// `setup(bisect_right, bisect_left, insort_right, insort_left)`: True the first time (the
/// module's functions may then stand for them), False after.
fn setup(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [br, bl, ir, il] = args.pos else {
        return Err(crate::err!(
            TypeError,
            "_bisect.setup: unexpected arguments"
        ));
    };
    let state = State {
        bisect_right: br.clone(),
        bisect_left: bl.clone(),
        insort_right: ir.clone(),
        insort_left: il.clone(),
    };
    Ok(Value::Bool(STATE.set(state).is_ok()))
}

/// The largest magnitude an int may have to be compared with a float as that float (every int
/// up to 2**53 is exactly a float).
const EXACT_IN_FLOAT: u64 = 1 << 53;

/// `a < b` for the values compared here, `None` for any other pair.
fn less(a: &Value, b: &Value) -> Option<bool> {
    Some(match (a, b) {
        (Value::Int(x), Value::Int(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Int(x), Value::Float(y)) if x.unsigned_abs() <= EXACT_IN_FLOAT => (*x as f64) < *y,
        (Value::Float(x), Value::Int(y)) if y.unsigned_abs() <= EXACT_IN_FLOAT => *x < (*y as f64),
        (Value::Str(x), Value::Str(y)) => x.as_str() < y.as_str(),
        _ => return None,
    })
}

/// The parameters of the four functions, in order (`key` is keyword-only).
const PARAMS: [&str; 5] = ["a", "x", "lo", "hi", "key"];

/// The arguments bound to [`PARAMS`], or CPython's TypeError for a call its C function
/// refuses (argument clinic's checks, in its order).
fn parse<'a>(args: &Args<'a>, fname: &str) -> PyResult<[Option<&'a Value>; 5]> {
    let (nargs, nkw) = (args.pos.len(), args.kw.len());
    if nargs + nkw > PARAMS.len() {
        return Err(crate::err!(
            TypeError,
            "{fname}() takes at most 5 {}arguments ({} given)",
            if nargs == 0 { "keyword " } else { "" },
            nargs + nkw
        ));
    }
    if nargs > 4 {
        return Err(crate::err!(
            TypeError,
            "{fname}() takes at most 4 positional arguments ({nargs} given)"
        ));
    }
    let mut bound: [Option<&Value>; 5] = [None; 5];
    let mut unused = nkw;
    for (i, slot) in bound.iter_mut().enumerate() {
        if let Some(v) = args.pos.get(i) {
            *slot = Some(v);
            continue;
        }
        if let Some((_, v)) = args.kw.iter().find(|(k, _)| &**k == PARAMS[i]) {
            *slot = Some(v);
            unused -= 1;
        } else if i < 2 {
            return Err(crate::err!(
                TypeError,
                "{fname}() missing required argument '{}' (pos {})",
                PARAMS[i],
                i + 1
            ));
        }
    }
    if unused > 0 {
        for (i, name) in PARAMS.iter().enumerate().take(nargs) {
            if args.kw.iter().any(|(k, _)| &**k == *name) {
                return Err(crate::err!(
                    TypeError,
                    "argument for {fname}() given by name ('{name}') and position ({})",
                    i + 1
                ));
            }
        }
        if let Some((k, _)) = args.kw.iter().find(|(k, _)| !PARAMS.contains(&&**k)) {
            return Err(crate::err!(
                TypeError,
                "'{k}' is an invalid keyword argument for {fname}()"
            ));
        }
    }
    Ok(bound)
}

/// Where `x` goes in `items[lo:hi]` (after equal items if `right`), if the bounds and the
/// values are ones searched here.
fn search(
    items: &[Value],
    x: &Value,
    lo: Option<&Value>,
    hi: Option<&Value>,
    right: bool,
) -> Option<usize> {
    let mut lo = match lo {
        None => 0,
        Some(Value::Int(n)) if *n >= 0 => usize::try_from(*n).ok()?,
        Some(_) => return None,
    };
    let mut hi = match hi {
        None | Some(Value::None) => items.len(),
        Some(Value::Int(n)) if *n >= 0 => usize::try_from(*n).ok()?,
        Some(_) => return None,
    };
    if hi > items.len() {
        return None;
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let here = items.get(mid)?;
        let go_left = if right {
            less(x, here)?
        } else {
            !less(here, x)?
        };
        if go_left {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(lo)
}

/// The four functions: `insort` inserts, `right` says which side of equal items.
fn run(interp: &mut Interp, args: Args<'_>, insort: bool, right: bool) -> PyResult<Value> {
    let fname = match (insort, right) {
        (false, true) => "bisect_right",
        (false, false) => "bisect_left",
        (true, true) => "insort_right",
        (true, false) => "insort_left",
    };
    let [a, x, lo, hi, key] = parse(&args, fname)?;
    if let (Some(Value::List(list)), Some(x), None | Some(Value::None)) = (a, x, key) {
        if insort {
            // Found and inserted under one lock: one step, as under CPython's GIL.
            let mut items = list.items.lock();
            if let Some(i) = search(&items, x, lo, hi, right) {
                items.insert(i, x.clone());
                return Ok(Value::None);
            }
        } else {
            let items = list.items.read();
            if let Some(i) = search(&items, x, lo, hi, right) {
                return Ok(Value::Int(i64::try_from(i).unwrap_or(i64::MAX)));
            }
        }
    }
    let Some(st) = STATE.get() else {
        return Err(crate::err!(SystemError, "_bisect is not set up"));
    };
    let slow = match (insort, right) {
        (false, true) => &st.bisect_right,
        (false, false) => &st.bisect_left,
        (true, true) => &st.insort_right,
        (true, false) => &st.insort_left,
    };
    interp.call_kw(slow, args.pos, args.kw)
}

fn bisect_right(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    run(interp, args, false, true)
}

fn bisect_left(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    run(interp, args, false, false)
}

fn insort_right(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    run(interp, args, true, true)
}

fn insort_left(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    run(interp, args, true, false)
}
