//! `_asyncio_support` (stage 4, the VM's standard library): the few facts about functions and
//! coroutines that `vm/lib/asyncio` needs and the mini language cannot see (minivm functions
//! have no `__code__`, coroutines no `cr_code`/`cr_frame`): whether a function is an
//! `async def`, where it was defined, and where a coroutine is suspended. CPython's asyncio reads
//! the same facts from code and frame objects to write `<Task pending name='Task-1'
//! coro=<main() running at x.py:8>>`.

use crate::builtins::args::{Sig, Style};
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{GenKind, GenStatus, Module};
use crate::stdlib::{func, make_module};
use crate::value::Value;
use crate::PyResult;

pub fn module() -> Ref<Module> {
    make_module(
        "_asyncio_support",
        vec![
            (
                "iscoroutinefunction",
                func("iscoroutinefunction", iscoroutinefunction),
            ),
            ("function_source", func("function_source", function_source)),
            (
                "coroutine_location",
                func("coroutine_location", coroutine_location),
            ),
            ("timeline_on", func("timeline_on", timeline_on)),
            ("timeline_mark", func("timeline_mark", timeline_mark)),
        ],
    )
}

/// The one argument, `name`, of these functions.
fn one_arg<'a>(args: &Args<'a>, fname: &'static str) -> PyResult<&'a Value> {
    let [v] = Sig::py(fname, &["obj"], 1).bind(args)?;
    Ok(v.unwrap_or(&Value::None))
}

/// `iscoroutinefunction(f)`: True for a function defined with `async def` (not an async
/// generator function), as `inspect.iscoroutinefunction`.
fn iscoroutinefunction(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let f = one_arg(&args, "iscoroutinefunction")?;
    Ok(Value::Bool(matches!(
        f,
        Value::Function(f) if f.code.obj.flags.coroutine && !f.code.obj.flags.async_generator
    )))
}

/// `(filename, first line)` of a function's code, or None for anything else.
fn function_source(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let f = one_arg(&args, "function_source")?;
    Ok(match f {
        Value::Function(f) => Value::tuple(vec![
            Value::str(&f.code.obj.filename),
            Value::Int(i64::from(f.code.obj.first_line)),
        ]),
        _ => Value::None,
    })
}

/// `(state, filename, first line, current line)` of a coroutine: state is `'created'`,
/// `'suspended'` (current line = where it waits), `'running'` or `'done'` (no frame left, so
/// no file or lines: the caller keeps what it learnt earlier). None for other objects.
fn coroutine_location(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let c = one_arg(&args, "coroutine_location")?;
    let Value::Generator(g) = c else {
        return Ok(Value::None);
    };
    if g.kind != GenKind::Coroutine {
        return Ok(Value::None);
    }
    let state = match *g.status.lock() {
        GenStatus::Created => "created",
        GenStatus::Suspended => "suspended",
        GenStatus::Running => "running",
        GenStatus::Done => "done",
    };
    let frame = g.frame.lock();
    let (file, first, line) = match frame.as_ref() {
        Some(f) => (
            Value::str(&f.code.obj.filename),
            Value::Int(i64::from(f.code.obj.first_line)),
            Value::Int(i64::from(f.line())),
        ),
        None => (Value::None, Value::None, Value::None),
    };
    Ok(Value::tuple(vec![Value::str(state), file, first, line]))
}

/// `timeline_on()`: whether this thread's events are recorded (`--timeline`, `--trace=gil`),
/// so asyncio marks task steps only then.
fn timeline_on(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("timeline_on", Style::NoArgs, &[], 0).check(&args)?;
    Ok(Value::Bool(interp.stats.observed()))
}

/// `timeline_mark(label)`: a tick labelled `label` on this thread's timeline row.
fn timeline_mark(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    if let Value::Str(label) = one_arg(&args, "timeline_mark")? {
        interp.stats.mark(label.as_str());
    }
    Ok(Value::None)
}
