//! `_asyncio_support` (stage 4, the VM's standard library): the few facts about functions and
//! coroutines that `vm/lib/asyncio` needs and the mini language cannot see (minivm functions
//! have no `__code__`, coroutines no `cr_code`/`cr_frame`): whether a function is an
//! `async def`, where it was defined, and where a coroutine is suspended. CPython's asyncio reads
//! the same facts from code and frame objects to write `<Task pending name='Task-1'
//! coro=<main() running at x.py:8>>`.
//!
//! It also does in Rust the few things every sleeping task pays for that cost most in the
//! mini language (as CPython has parts of asyncio in C): the loop's timer heap
//! (`timer_push`/`timer_pop`) and making the loop's Handle, TimerHandle and Future objects
//! without running their `__init__` (`new_handle`, `new_timer`, `new_future`). And it finds
//! the suspended async generators `loop.shutdown_asyncgens()` closes (`suspended_asyncgens`).

use std::cmp::Ordering;
use std::sync::{Arc, OnceLock};

use crate::builtins::args::{Sig, Style};
use crate::heap::Ref;
use crate::interp::ops::{as_number, num_cmp};
use crate::interp::{Args, Interp};
use crate::object::{
    intern_name, Class, Ctor, GenKind, GenStatus, Generator, Instance, List, Module,
};
use crate::stdlib::{func, make_module};
use crate::value::Value;
use crate::{err, PyResult};

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
            ("new_handle", func("new_handle", new_handle)),
            ("new_timer", func("new_timer", new_timer)),
            ("new_future", func("new_future", new_future)),
            ("timer_push", func("timer_push", timer_push)),
            ("timer_pop", func("timer_pop", timer_pop)),
            (
                "suspended_asyncgens",
                func("suspended_asyncgens", suspended_asyncgens),
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
fn coroutine_location(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
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
        // Running: the line it is at, if its frame waits on a call minivm can see (as
        // CPython's `cr_frame.f_lineno`; a task's repr printed from inside its own coroutine).
        None => match crate::builtins::running_line(interp, &g.code) {
            Some(line) if state == "running" => (
                Value::str(&g.code.obj.filename),
                Value::Int(i64::from(g.code.obj.first_line)),
                Value::Int(i64::from(line)),
            ),
            _ => (Value::None, Value::None, Value::None),
        },
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

/// The heap list and the entry of `timer_push(heap, entry)` / `timer_pop(heap)`.
fn heap_args<'a>(
    args: &Args<'a>,
    fname: &str,
    n: usize,
) -> PyResult<(&'a Ref<List>, Option<&'a Value>)> {
    if !args.kw.is_empty() || args.pos.len() != n {
        return Err(err!(
            TypeError,
            "{fname}() takes exactly {n} positional arguments"
        ));
    }
    match &args.pos[0] {
        Value::List(l) => Ok((l, args.pos.get(1))),
        other => Err(err!(
            TypeError,
            "{fname}() argument 1 must be list, not {}",
            crate::object::type_name(other)
        )),
    }
}

/// `a < b` for two entries of the timer heap, `(when, sequence number, handle)` tuples: the
/// numbers compared here, without a call (anything else by the general `<`, as heapq does).
fn entry_lt(interp: &mut Interp, a: &Value, b: &Value) -> PyResult<bool> {
    if let (Value::Tuple(x), Value::Tuple(y)) = (a, b) {
        if let (Some(xw), Some(yw), Some(xs), Some(ys)) = (
            x.items.first().and_then(as_number),
            y.items.first().and_then(as_number),
            x.items.get(1).and_then(as_number),
            y.items.get(1).and_then(as_number),
        ) {
            match num_cmp(xw, yw) {
                Some(Ordering::Less) => return Ok(true),
                Some(Ordering::Greater) => return Ok(false),
                Some(Ordering::Equal) => match num_cmp(xs, ys) {
                    Some(Ordering::Less) => return Ok(true),
                    Some(Ordering::Greater) => return Ok(false),
                    // Equal sequence numbers (not made by the loop): the general comparison.
                    _ => {}
                },
                // A NaN: the general comparison decides, as heapq's `<` would.
                None => {}
            }
        }
    }
    interp.lt(a, b)
}

/// Item `i` of the heap (a clone: the list is not kept locked while entries are compared,
/// as a comparison may run Python code). An index gone because that code shrank the list
/// is an error, not a panic.
fn heap_item(heap: &List, i: usize) -> PyResult<Value> {
    heap.items
        .lock()
        .get(i)
        .cloned()
        .ok_or_else(|| err!(RuntimeError, "timer heap changed size during a comparison"))
}

fn heap_set(heap: &List, i: usize, v: Value) -> PyResult<()> {
    let old = match heap.items.lock().get_mut(i) {
        Some(slot) => std::mem::replace(slot, v),
        None => {
            return Err(err!(
                RuntimeError,
                "timer heap changed size during a comparison"
            ))
        }
    };
    old.discard();
    Ok(())
}

/// heapq's `_siftdown`: move the item at `pos` up towards the root while it is smaller than
/// its parent.
fn sift_down(interp: &mut Interp, heap: &List, pos: usize) -> PyResult<()> {
    let item = heap_item(heap, pos)?;
    let mut pos = pos;
    while pos > 0 {
        let parent_pos = (pos - 1) >> 1;
        let parent = heap_item(heap, parent_pos)?;
        if !entry_lt(interp, &item, &parent)? {
            break;
        }
        heap_set(heap, pos, parent)?;
        pos = parent_pos;
    }
    heap_set(heap, pos, item)
}

/// heapq's `_siftup`: move the smaller child up into the hole at `pos` down to a leaf, then
/// put the item there and sift it down (CPython's way: fewer comparisons).
fn sift_up(interp: &mut Interp, heap: &List, pos: usize) -> PyResult<()> {
    let end = heap.items.lock().len();
    let item = heap_item(heap, pos)?;
    let mut pos = pos;
    let mut child = 2 * pos + 1;
    while child < end {
        let right = child + 1;
        if right < end {
            let (c, r) = (heap_item(heap, child)?, heap_item(heap, right)?);
            if !entry_lt(interp, &c, &r)? {
                child = right;
            }
        }
        let c = heap_item(heap, child)?;
        heap_set(heap, pos, c)?;
        pos = child;
        child = 2 * pos + 1;
    }
    heap_set(heap, pos, item)?;
    sift_down(interp, heap, pos)
}

/// `timer_push(heap, entry)`: `heapq.heappush` for the event loop's timers (base_events), in
/// Rust: each timer is pushed and popped once, and in the mini language the heap's
/// comparisons cost a sixth of a sleeping task.
fn timer_push(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (heap, item) = heap_args(&args, "timer_push", 2)?;
    let pos = {
        let mut items = heap.items.lock();
        items.push(item.cloned().unwrap_or_default());
        items.len() - 1
    };
    sift_down(interp, heap, pos)?;
    Ok(Value::None)
}

/// `timer_pop(heap)`: `heapq.heappop` for the event loop's timers: the smallest entry.
fn timer_pop(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (heap, _) = heap_args(&args, "timer_pop", 1)?;
    let (last, rest) = {
        let mut items = heap.items.lock();
        let Some(last) = items.pop() else {
            return Err(err!(IndexError, "index out of range"));
        };
        (last, !items.is_empty())
    };
    if !rest {
        return Ok(last);
    }
    let first = heap_item(heap, 0)?;
    heap_set(heap, 0, last)?;
    sift_up(interp, heap, 0)?;
    Ok(first)
}

/// The attribute names the constructors below set, interned once (the same `Arc`s as the
/// names in compiled code, so the inline attribute caches hit on them).
fn field_names() -> &'static [Arc<str>; 9] {
    static NAMES: OnceLock<[Arc<str>; 9]> = OnceLock::new();
    NAMES.get_or_init(|| {
        [
            "_loop",
            "_callback",
            "_args",
            "_cancelled",
            "_repr",
            "_context",
            "_when",
            "_scheduled",
            "_callbacks",
        ]
        .map(intern_name)
    })
}

/// A new instance of `cls`, a plain class (no `__new__`, `__slots__` or `__setattr__`), with
/// these attributes and without calling its `__init__`: the constructors below do what the
/// `__init__` of asyncio's Handle, TimerHandle and Future do, for the loop's own objects (one
/// mini-language frame less for each of the five or so a task makes).
fn plain_instance_with(cls: &Value, fields: &[(usize, Value)]) -> PyResult<Value> {
    let Value::Class(cls) = cls else {
        return Err(err!(TypeError, "a class was expected"));
    };
    if !matches!(cls.ctor(), Ctor::Plain(_)) || cls.attr_flags() & crate::object::DICTLESS != 0 {
        return Err(err!(TypeError, "'{}' is not a plain class", cls.name()));
    }
    let names = field_names();
    let obj = Instance::plain(Ref::<Class>::clone(cls));
    {
        let mut dict = obj.dict.lock();
        for (i, v) in fields {
            if let Some(name) = names.get(*i) {
                dict.insert(name.clone(), v.clone());
            }
        }
    }
    let obj = Ref::new(obj);
    obj.note_attr_count();
    Ok(Value::Instance(obj))
}

/// Exactly `N` positional arguments.
fn exact<'a, const N: usize>(args: &Args<'a>, fname: &str) -> PyResult<&'a [Value; N]> {
    if !args.kw.is_empty() {
        return Err(err!(TypeError, "{fname}() takes no keyword arguments"));
    }
    args.pos.try_into().map_err(|_| {
        err!(
            TypeError,
            "{fname}() takes exactly {N} arguments ({} given)",
            args.pos.len()
        )
    })
}

/// `new_handle(cls, callback, args, loop, context)`: `events.Handle(callback, args, loop,
/// context)` with the context already decided by the caller.
fn new_handle(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [cls, callback, cargs, lp, ctx] = exact::<5>(&args, "new_handle")?;
    plain_instance_with(
        cls,
        &[
            (0, lp.clone()),
            (1, callback.clone()),
            (2, cargs.clone()),
            (3, Value::Bool(false)),
            (4, Value::None),
            (5, ctx.clone()),
        ],
    )
}

/// `new_timer(cls, when, callback, args, loop, context)`: `events.TimerHandle(...)`.
fn new_timer(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [cls, when, callback, cargs, lp, ctx] = exact::<6>(&args, "new_timer")?;
    plain_instance_with(
        cls,
        &[
            (0, lp.clone()),
            (1, callback.clone()),
            (2, cargs.clone()),
            (3, Value::Bool(false)),
            (4, Value::None),
            (5, ctx.clone()),
            (6, when.clone()),
            (7, Value::Bool(false)),
        ],
    )
}

/// `new_future(cls, loop)`: `futures.Future(loop=loop)`.
fn new_future(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [cls, lp] = exact::<2>(&args, "new_future")?;
    plain_instance_with(cls, &[(0, lp.clone()), (8, Value::list(Vec::new()))])
}

/// `suspended_asyncgens()`: every async generator that is alive and suspended (started, not
/// finished), found among the objects the cycle collector tracks. asyncio's
/// `loop.shutdown_asyncgens()` closes those its first-iteration hook saw (CPython keeps a weak
/// set of them; minivm has no weak references, and a strong set would keep a dropped
/// generator from being finalized at once). Called once per loop, and only if the loop saw an
/// async generator start.
fn suspended_asyncgens(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("suspended_asyncgens", Style::NoArgs, &[], 0).check(&args)?;
    let gens = interp
        .tracked_objects(None)
        .iter()
        .filter_map(|t| t.downcast::<Generator>())
        .filter(|g| {
            g.kind == GenKind::AsyncGenerator && matches!(*g.status.lock(), GenStatus::Suspended)
        })
        .map(Value::Generator)
        .collect();
    Ok(Value::list(gens))
}
