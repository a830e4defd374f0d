//! `_tracemalloc` (stdlib stage): the native half of `tracemalloc` (`vm/lib/tracemalloc.mini`),
//! the totals of the process's allocator while tracing (`heap::traced`): bytes and blocks
//! allocated and not yet freed, and the peak. minivm records no traceback per block, so these
//! are all it can tell; its sizes are those of its own objects, not CPython's.

use crate::builtins::args::{Sig, Style};
use crate::builtins::Methods;
use crate::heap::traced as alloc;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::Module;
use crate::stdlib::module_from_fns;
use crate::value::Value;
use crate::PyResult;

const FUNCS: Methods = &[
    ("_start", start),
    ("stop", stop),
    ("is_tracing", is_tracing),
    ("get_traced_memory", get_traced_memory),
    ("reset_peak", reset_peak),
    ("clear_traces", clear_traces),
    ("_traced_blocks", traced_blocks),
];

pub fn module() -> Ref<Module> {
    module_from_fns("_tracemalloc", FUNCS, Vec::new())
}

fn no_args(name: &'static str, args: &Args<'_>) -> PyResult<()> {
    Sig::pos(name, Style::NoArgs, &[], 0).check(args)
}

fn int(n: usize) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

/// `_start()`: count from zero (the `nframe` check is `tracemalloc.start`'s).
fn start(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args("_start", &args)?;
    alloc::start_tracing();
    Ok(Value::None)
}

/// `stop()`: stop counting, forget the totals.
fn stop(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args("stop", &args)?;
    alloc::stop_tracing();
    Ok(Value::None)
}

fn is_tracing(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args("is_tracing", &args)?;
    Ok(Value::Bool(alloc::is_tracing()))
}

/// `get_traced_memory()`: (current, peak) in bytes; (0, 0) while not tracing.
fn get_traced_memory(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args("get_traced_memory", &args)?;
    let (current, peak, _) = alloc::traced();
    Ok(Value::tuple(vec![int(current), int(peak.max(current))]))
}

/// `reset_peak()`: the peak becomes the current total.
fn reset_peak(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args("reset_peak", &args)?;
    if alloc::is_tracing() {
        alloc::reset_peak();
    }
    Ok(Value::None)
}

/// `clear_traces()`: the totals back to zero, tracing goes on.
fn clear_traces(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args("clear_traces", &args)?;
    if alloc::is_tracing() {
        alloc::clear_traced();
    }
    Ok(Value::None)
}

/// `_traced_blocks()`: blocks allocated and not freed while tracing (a snapshot's count).
fn traced_blocks(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args("_traced_blocks", &args)?;
    Ok(int(alloc::traced().2))
}
