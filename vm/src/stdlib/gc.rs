//! The `gc` module (stage: standard library): the program's window on the cycle collector in
//! `heap/gc.rs` — collect now, switch automatic collection off and on, read and set the
//! thresholds, list the tracked objects, and `gc.callbacks`, called around every collection
//! (`get_referents`/`get_referrers` are in `gc_refs.rs`).

use crate::builtins::args::{Sig, Style};
use crate::builtins::Methods;
use crate::heap::gc::{self as heap_gc, Tracked};
use crate::heap::{Global, Ref};
use crate::interp::{Args, Interp};
use crate::object::{
    BoundMethod, CellObj, Class, Dict, Function, Generator, Instance, IterObj, List, Module,
    SetObj, Tuple,
};
use crate::stdlib::module_from_fns;
use crate::value::Value;
use crate::{err, PyResult};

const FUNCS: Methods = &[
    ("collect", collect),
    ("enable", enable),
    ("disable", disable),
    ("isenabled", isenabled),
    ("get_count", get_count),
    ("get_threshold", get_threshold),
    ("set_threshold", set_threshold),
    ("get_objects", get_objects),
    ("get_referents", super::gc_refs::get_referents),
    ("get_referrers", super::gc_refs::get_referrers),
    ("get_stats", get_stats),
    ("is_tracked", is_tracked),
    ("is_finalized", is_finalized),
    ("freeze", freeze),
    ("unfreeze", unfreeze),
    ("get_freeze_count", get_freeze_count),
    ("set_debug", set_debug),
    ("get_debug", get_debug),
];

const GENERATIONS: i64 = 3;

/// `gc.callbacks`: the list the module attribute holds. Kept here too, as CPython keeps its own
/// reference: rebinding `gc.callbacks` does not change the list the collector calls from.
static CALLBACKS: Global<Ref<List>> = Global::new();

/// `gc.garbage`, kept as [`CALLBACKS`] is. It holds objects the collector found but did not
/// free: minivm frees every cycle (objects with `__del__` are finalized first, as PEP 442
/// says), so only `DEBUG_SAVEALL` puts anything there.
static GARBAGE: Global<Ref<List>> = Global::new();

/// `gc.set_debug`'s flags (CPython's values).
const DEBUG_STATS: i64 = 1;
const DEBUG_COLLECTABLE: i64 = 2;
const DEBUG_UNCOLLECTABLE: i64 = 4;
const DEBUG_SAVEALL: i64 = 32;
const DEBUG_LEAK: i64 = DEBUG_COLLECTABLE | DEBUG_UNCOLLECTABLE | DEBUG_SAVEALL;
static DEBUG: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

std::thread_local! {
    /// What the collection running on this thread found, for the debug flags: the objects to
    /// save in `gc.garbage` and the lines to write to stderr once the world runs again.
    static FOUND: std::cell::RefCell<(Vec<Value>, String)> =
        const { std::cell::RefCell::new((Vec::new(), String::new())) };
    /// Set during [`quietly`].
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

pub fn module() -> Ref<Module> {
    let callbacks = CALLBACKS.get_or_init(|| Ref::new(List::new(Vec::new())));
    let garbage = GARBAGE.get_or_init(|| Ref::new(List::new(Vec::new())));
    let flag = |n: i64| Value::Int(n);
    module_from_fns(
        "gc",
        FUNCS,
        vec![
            ("garbage", Value::List(garbage.clone())),
            ("callbacks", Value::List(callbacks.clone())),
            ("DEBUG_STATS", flag(DEBUG_STATS)),
            ("DEBUG_COLLECTABLE", flag(DEBUG_COLLECTABLE)),
            ("DEBUG_UNCOLLECTABLE", flag(DEBUG_UNCOLLECTABLE)),
            ("DEBUG_SAVEALL", flag(DEBUG_SAVEALL)),
            ("DEBUG_LEAK", flag(DEBUG_LEAK)),
        ],
    )
}

/// `gc.set_debug(flags)`.
fn set_debug(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [flags] = Sig::pos("set_debug", Style::One, &["flags"], 1).bind::<1>(&args)?;
    let flags = i64::from(c_int(flags.unwrap_or(&Value::None), false)?);
    DEBUG.store(flags, std::sync::atomic::Ordering::Relaxed);
    if flags & (DEBUG_COLLECTABLE | DEBUG_SAVEALL) != 0 {
        crate::interp::finalize::install_gc_hook();
    }
    Ok(Value::None)
}

/// `gc.get_debug()`.
fn get_debug(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args("gc.get_debug", &args)?;
    Ok(Value::Int(DEBUG.load(std::sync::atomic::Ordering::Relaxed)))
}

fn debug_flags() -> i64 {
    DEBUG.load(std::sync::atomic::Ordering::Relaxed)
}

/// Called by the collector for each unreachable object it found, with the world stopped
/// (through `interp/finalize.rs`'s hook): under `DEBUG_COLLECTABLE`, note the line CPython
/// writes; under `DEBUG_SAVEALL`, keep the object for `gc.garbage` and answer true, so that
/// its cycle is not broken.
pub(crate) fn observe_garbage(obj: &Tracked) -> bool {
    let flags = debug_flags();
    if flags & (DEBUG_COLLECTABLE | DEBUG_SAVEALL) == 0 {
        return false;
    }
    let Some(v) = as_value(obj) else {
        return false;
    };
    FOUND.with(|found| {
        let mut found = found.borrow_mut();
        if flags & DEBUG_COLLECTABLE != 0 && !QUIET.with(std::cell::Cell::get) {
            let line = format!(
                "gc: collectable <{} {:#x}>\n",
                crate::object::type_name(&v),
                v.id()
            );
            found.1.push_str(&line);
        }
        if flags & DEBUG_SAVEALL != 0 {
            found.0.push(v);
            return true;
        }
        false
    })
}

/// Run a second pass of a collection (after the finalizers it called for): the objects it
/// finds again are not reported again.
pub(crate) fn quietly<R>(f: impl FnOnce() -> R) -> R {
    QUIET.with(|q| q.set(true));
    let r = f();
    QUIET.with(|q| q.set(false));
    r
}

/// Put the objects `DEBUG_SAVEALL` kept in `gc.garbage` now (before a second pass finds them
/// again), leaving the report for [`after_collection`].
pub(crate) fn save_found() {
    let saved = FOUND.with(|f| std::mem::take(&mut f.borrow_mut().0));
    if !saved.is_empty() {
        if let Some(garbage) = GARBAGE.get() {
            garbage.items.lock().extend(saved);
        }
    }
}

/// Under `DEBUG_STATS`, the lines CPython writes before a collection of `generation`: the
/// size of each generation and of the permanent one.
pub(crate) fn stats_before(generation: usize) -> Option<(String, std::time::Instant)> {
    if debug_flags() & DEBUG_STATS == 0 {
        return None;
    }
    let sizes: Vec<usize> = (0..3).map(|g| heap_gc::objects(Some(g)).len()).collect();
    let text = format!(
        "gc: collecting generation {generation}...\n\
         gc: objects in each generation: {} {} {}\n\
         gc: objects in permanent generation: {}\n",
        sizes[0],
        sizes[1],
        sizes[2],
        heap_gc::freeze_count()
    );
    Some((text, std::time::Instant::now()))
}

/// After a collection (the world running again): write what the debug flags asked for to
/// stderr and put the objects `DEBUG_SAVEALL` kept in `gc.garbage`. `stats` is what
/// [`stats_before`] gave; `found` the unreachable objects.
pub(crate) fn after_collection(
    interp: &mut Interp,
    stats: Option<(String, std::time::Instant)>,
    found: usize,
) {
    save_found();
    let mut text = FOUND.with(|f| std::mem::take(&mut f.borrow_mut().1));
    if let Some((before, start)) = stats {
        text = format!(
            "{before}{text}gc: done, {found} unreachable, 0 uncollectable, {:.4}s elapsed\n",
            start.elapsed().as_secs_f64()
        );
    }
    if !text.is_empty() {
        crate::stdlib::file::write_stderr(interp, &text);
    }
}

/// Whether the program put functions in `gc.callbacks`.
pub fn has_callbacks() -> bool {
    CALLBACKS.get().is_some_and(|list| !list.is_empty())
}

/// Call each function in `gc.callbacks` with `phase` ("start" or "stop") and CPython's info
/// dict: `{"generation": g, "collected": n, "uncollectable": 0}` (minivm frees every cycle).
/// An exception a callback raises is reported ("Exception ignored in: <function ...>") and
/// the next callback still runs, as CPython's `PyErr_WriteUnraisable` there.
pub fn run_callbacks(interp: &mut Interp, phase: &str, generation: usize, collected: usize) {
    let Some(list) = CALLBACKS.get() else {
        return;
    };
    let callbacks = list.snapshot();
    let info = Dict::new();
    info.set_str("generation", int(generation));
    info.set_str("collected", int(collected));
    info.set_str("uncollectable", int(0));
    let args = [Value::str(phase), Value::Dict(Ref::new(info))];
    for callback in &callbacks {
        interp.call_reporting(callback, &args);
    }
}

fn int(n: usize) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn triple<N: Copy + TryInto<i64>>(v: [N; 3]) -> Value {
    Value::tuple(
        v.iter()
            .map(|&n| Value::Int(n.try_into().unwrap_or(i64::MAX)))
            .collect(),
    )
}

/// A C `int` argument, refused as CPython refuses it: `collect`'s generation ("too large to
/// convert") or a threshold (`set_threshold` parses with `"i"`: "greater than maximum").
fn c_int(v: &Value, threshold: bool) -> PyResult<i32> {
    let n = match v {
        Value::BigInt(b) => {
            if num_traits::Signed::is_negative(&**b) {
                i64::MIN
            } else {
                i64::MAX
            }
        }
        other => crate::builtins::args::to_index(other)?,
    };
    i32::try_from(n).map_err(|_| match (threshold, n < 0) {
        (false, _) => err!(OverflowError, "Python int too large to convert to C int"),
        (true, true) => err!(OverflowError, "signed integer is less than minimum"),
        (true, false) => err!(OverflowError, "signed integer is greater than maximum"),
    })
}

/// The functions without parameters; CPython names them `gc.enable()` in its messages.
fn no_args(name: &'static str, args: &Args<'_>) -> PyResult<()> {
    Sig::pos(name, Style::NoArgs, &[], 0).check(args)
}

/// A generation number given by the program, checked as CPython checks it.
fn generation_arg(v: &Value) -> PyResult<usize> {
    let g = c_int(v, false)?;
    if !(0..GENERATIONS as i32).contains(&g) {
        return Err(err!(ValueError, "invalid generation"));
    }
    Ok(g as usize)
}

/// `gc.collect(generation=2)`: the number of unreachable objects found.
fn collect(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [generation] = Sig::kw("collect", &["generation"], 0).bind(&args)?;
    let generation = match generation {
        Some(v) => generation_arg(v)?,
        None => 2,
    };
    Ok(int(interp.collect_garbage(Some(generation))))
}

fn enable(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args("gc.enable", &args)?;
    heap_gc::enable(true);
    Ok(Value::None)
}

fn disable(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args("gc.disable", &args)?;
    heap_gc::enable(false);
    Ok(Value::None)
}

fn isenabled(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args("gc.isenabled", &args)?;
    Ok(Value::Bool(heap_gc::is_enabled()))
}

fn get_count(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args("gc.get_count", &args)?;
    Ok(triple(heap_gc::get_count()))
}

fn get_threshold(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args("gc.get_threshold", &args)?;
    Ok(triple(heap_gc::get_threshold()))
}

/// `gc.set_threshold(threshold0[, threshold1[, threshold2]])`; 0 disables automatic collection.
fn set_threshold(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let given =
        Sig::pos("set_threshold", Style::Positional, &["t0", "t1", "t2"], 1).bind::<3>(&args)?;
    let mut values = Vec::new();
    for v in given.into_iter().flatten() {
        // CPython keeps the C int it is given, negative too (then it collects at every chance).
        values.push(c_int(v, true)?);
    }
    heap_gc::set_threshold(&values);
    Ok(Value::None)
}

/// A tracked object as the value a program sees.
pub(super) fn as_value(t: &Tracked) -> Option<Value> {
    macro_rules! try_types {
        ($($ty:ident => $variant:ident),*) => {
            $(if let Some(r) = t.downcast::<$ty>() { return Some(Value::$variant(r)); })*
        };
    }
    // A thread's spare list iterator (`Interp::spare_list_iter`) is no object of the program.
    if let Some(r) = t.downcast::<IterObj>() {
        let spare = r
            .state
            .try_read()
            .is_ok_and(|st| matches!(*st, crate::object::IterState::Spare));
        if spare {
            return None;
        }
        return Some(Value::Iter(r));
    }
    try_types!(Instance => Instance, List => List, Dict => Dict, Tuple => Tuple,
        Function => Function, Class => Class, SetObj => Set, BoundMethod => BoundMethod,
        Module => Module, Generator => Generator, CellObj => Cell);
    None
}

/// `gc.get_objects(generation=None)`: every tracked object (of one generation).
fn get_objects(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [generation] = Sig::kw("get_objects", &["generation"], 0).bind(&args)?;
    let generation = match generation {
        None | Some(Value::None) => None,
        Some(v) => {
            let g = crate::builtins::args::to_index(v).map_err(|_| match v {
                Value::BigInt(_) => {
                    err!(
                        OverflowError,
                        "cannot fit 'int' into an index-sized integer"
                    )
                }
                other => err!(
                    TypeError,
                    "argument should be integer or None, not '{}'",
                    crate::object::type_name(other)
                ),
            })?;
            if g == -1 {
                // CPython reads -1 as "all generations".
                None
            } else if g < 0 {
                return Err(err!(ValueError, "generation parameter cannot be negative"));
            } else if g >= GENERATIONS {
                return Err(err!(
                    ValueError,
                    "generation parameter must be less than the number of available generations ({GENERATIONS})"
                ));
            } else {
                Some(g as usize)
            }
        }
    };
    let objects = interp.tracked_objects(generation);
    Ok(Value::list(objects.iter().filter_map(as_value).collect()))
}

/// `gc.get_stats()`: per generation, collections made and objects collected.
fn get_stats(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args("gc.get_stats", &args)?;
    let stats = heap_gc::stats();
    let gens = stats.generations.iter().map(|g| {
        let d = Dict::new();
        d.set_str("collections", int(g.collections as usize));
        d.set_str("collected", int(g.collected as usize));
        d.set_str("uncollectable", int(g.uncollectable as usize));
        Value::Dict(Ref::new(d))
    });
    Ok(Value::list(gens.collect()))
}

/// `gc.is_tracked(obj)`. Dicts follow CPython's rule (a dict is tracked once it holds a
/// container); minivm itself tracks every dict, which costs only a registry entry.
fn is_tracked(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [obj] = Sig::pos("gc.is_tracked", Style::One, &["obj"], 1).bind(&args)?;
    let obj = obj.unwrap_or(&Value::None);
    let tracked = match obj {
        Value::Dict(d) => d
            .read()
            .iter()
            .any(|(k, v)| super::gc_refs::gc_type(&k.value) || super::gc_refs::gc_type(v)),
        Value::Tuple(t) => heap_gc::is_tracked(t),
        // CPython tracks every set and frozenset (minivm skips frozensets of plain values).
        Value::Set(_) => true,
        other => other.may_be_tracked(),
    };
    Ok(Value::Bool(tracked))
}

/// `gc.is_finalized(obj)`: whether the object's `__del__` has been called (by the collector,
/// for an object it found in a cycle that `__del__` then kept alive).
fn is_finalized(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [obj] = Sig::pos("gc.is_finalized", Style::One, &["obj"], 1).bind::<1>(&args)?;
    Ok(Value::Bool(match obj {
        Some(Value::Instance(i)) => {
            crate::interp::finalize::is_finalized(crate::heap::Ref::as_ptr(i) as usize)
        }
        _ => false,
    }))
}

fn freeze(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args("gc.freeze", &args)?;
    heap_gc::freeze();
    Ok(Value::None)
}

fn unfreeze(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args("gc.unfreeze", &args)?;
    heap_gc::unfreeze();
    Ok(Value::None)
}

fn get_freeze_count(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args("gc.get_freeze_count", &args)?;
    Ok(int(heap_gc::freeze_count()))
}
