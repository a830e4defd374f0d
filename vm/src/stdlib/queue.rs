//! Stage 4 (VM), standard library.
//! The native part of the `queue` module: `SimpleQueue` and the `Empty` / `Full` / `ShutDown`
//! exceptions (Python 3.13's `ShutDown`: minivm runs what CPython 3.11 cannot).
//!
//! `Queue`, `LifoQueue` and `PriorityQueue` are written in the mini language
//! (`vm/lib/_queueinfo.mini`), as they are Python code in CPython: programs subclass them and
//! override their storage hooks, or reach `q.queue` and `q.mutex`. `SimpleQueue` is C in
//! CPython and Rust here (the thread pool's work queue): a `VecDeque` behind a parking_lot
//! mutex and a condvar; `get` tries once with the GIL held and blocks, if it must, with it
//! released.

use std::collections::VecDeque;

use parking_lot::{Condvar, Mutex};

use crate::builtins::args::{Sig, Style};
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{Class, ExcKind, Module};
use crate::stdlib::sync::{block_on, exception_class, raise_new, seconds, Wait};
use crate::stdlib::{make_module, native_class, this};
use crate::value::Value;
use crate::{err, PyResult};

/// Rust data of a `SimpleQueue` instance.
pub struct QueueData {
    /// Items move in and out under this mutex, also while a waiting thread has released the
    /// GIL: they are only moved there, never cloned or dropped (which would change their counts
    /// without the GIL), hence the `Shared` hand-off.
    items: Mutex<crate::heap::Shared<VecDeque<Value>>>,
    not_empty: Condvar,
}

static SIMPLE_CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();
static EMPTY: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();
static FULL: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();
static SHUT_DOWN: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();

/// `queue.Empty` (CPython defines it in `_queue`, so tracebacks say `_queue.Empty`).
pub fn empty_error() -> Ref<Class> {
    EMPTY
        .get_or_init(|| exception_class("Empty", "_queue", ExcKind::Exception))
        .clone()
}

/// `queue.Full`.
pub fn full_error() -> Ref<Class> {
    FULL.get_or_init(|| exception_class("Full", "queue", ExcKind::Exception))
        .clone()
}

/// `queue.ShutDown` (Python 3.13): `put` or `get` on a queue that has been shut down.
pub fn shut_down_error() -> Ref<Class> {
    SHUT_DOWN
        .get_or_init(|| exception_class("ShutDown", "queue", ExcKind::Exception))
        .clone()
}

pub fn simple_queue_class() -> Ref<Class> {
    SIMPLE_CLASS
        .get_or_init(|| {
            native_class(
                "SimpleQueue",
                "_queue",
                &[
                    ("__init__", simple_init),
                    ("put", simple_put),
                    ("get", simple_get),
                    ("put_nowait", simple_put_nowait),
                    ("get_nowait", simple_get_nowait),
                    ("empty", simple_empty),
                    ("qsize", simple_qsize),
                ],
            )
        })
        .clone()
}

pub fn queue_module() -> Ref<Module> {
    make_module(
        "queue",
        vec![
            ("SimpleQueue", Value::Class(simple_queue_class())),
            ("Empty", Value::Class(empty_error())),
            ("Full", Value::Class(full_error())),
            ("ShutDown", Value::Class(shut_down_error())),
        ],
    )
}

fn simple_init(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let Some(Value::Instance(inst)) = args.pos.first() else {
        return Err(err!(
            TypeError,
            "SimpleQueue.__init__ needs a SimpleQueue instance"
        ));
    };
    if !args.kw.is_empty() {
        return Err(err!(TypeError, "SimpleQueue() takes no keyword arguments"));
    }
    if args.len() > 1 {
        return Err(err!(
            TypeError,
            "SimpleQueue() takes no positional arguments"
        ));
    }
    let data = QueueData {
        items: Mutex::new(crate::heap::Shared::new(VecDeque::new())),
        not_empty: Condvar::new(),
    };
    if !inst.set_native(Box::new(data)) {
        return Err(err!(RuntimeError, "SimpleQueue.__init__() called twice"));
    }
    Ok(Value::None)
}

fn data<'a>(args: &Args<'a>) -> PyResult<&'a QueueData> {
    Ok(this::<QueueData>(args, "SimpleQueue")?.1)
}

/// The signature of a method taking no arguments (`empty`, `qsize`, `get_nowait`).
fn no_args(name: &str) -> Sig<'_> {
    Sig::pos(name, Style::NoArgs, &[], 0).method()
}

/// The required `item` argument, once the signature has checked it is there.
fn item(v: Option<&Value>) -> PyResult<&Value> {
    v.ok_or_else(|| err!(SystemError, "queue: item argument lost"))
}

/// Put never waits: a `SimpleQueue` has no bound (`block` and `timeout` are accepted, as in
/// CPython, and ignored).
fn put(q: &QueueData, item: &Value) -> Value {
    q.items.lock().push_back(item.clone());
    q.not_empty.notify_one();
    Value::None
}

fn simple_put(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let q = data(&args)?;
    let [it, _block, _timeout] = Sig::kw("put", &["item", "block", "timeout"], 1)
        .method()
        .bind(&args)?;
    Ok(put(q, item(it)?))
}

fn simple_put_nowait(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let q = data(&args)?;
    let [it] = Sig::kw("put_nowait", &["item"], 1).method().bind(&args)?;
    Ok(put(q, item(it)?))
}

/// Take the oldest item, waiting (with the GIL released) as `w` allows; `queue.Empty` if none.
/// A blocking get is a wait CPython writes in C (`_queue.SimpleQueue.get`): a Ctrl-C already
/// pending when it takes an item at once is acted on as it returns (the item is taken, and
/// `KeyboardInterrupt` comes from the call), as `lock.acquire()` does (`sync::after_wait`).
fn get(interp: &mut Interp, q: &QueueData, w: Wait) -> PyResult<Value> {
    let mut got = q.items.lock().pop_front();
    if got.is_some() && !matches!(w, Wait::NonBlocking) {
        crate::stdlib::sync::after_wait(interp)?;
    }
    if got.is_none() && !matches!(w, Wait::NonBlocking) {
        // Moved out without the GIL, into a hand-off opened once the GIL is back.
        let mut out = crate::heap::Shared::new(None);
        block_on(interp, &q.items, &q.not_empty, w, |items| {
            *out = items.pop_front();
            out.is_some()
        })?;
        got = out.into_inner();
    }
    got.ok_or_else(|| raise_new(interp, &empty_error()))
}

fn simple_get(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let q = data(&args)?;
    let [block, timeout] = Sig::kw("get", &["block", "timeout"], 0)
        .method()
        .bind(&args)?;
    let block = match block {
        Some(v) => interp.truthy(v)?,
        None => true,
    };
    let w = match timeout {
        _ if !block => Wait::NonBlocking,
        None | Some(Value::None) => Wait::Forever,
        Some(v) => {
            // _queue.SimpleQueue converts at once (its errors come before any wait).
            let t = seconds(v)?;
            if t.ns()? < 0 {
                return Err(err!(ValueError, "'timeout' must be a non-negative number"));
            }
            t.wait()?
        }
    };
    get(interp, q, w)
}

fn simple_get_nowait(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let q = data(&args)?;
    no_args("get_nowait").check(&args)?;
    get(interp, q, Wait::NonBlocking)
}

fn simple_empty(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let q = data(&args)?;
    no_args("SimpleQueue.empty").check(&args)?;
    Ok(Value::Bool(q.items.lock().is_empty()))
}

fn simple_qsize(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let q = data(&args)?;
    no_args("SimpleQueue.qsize").check(&args)?;
    Ok(Value::Int(q.items.lock().len() as i64))
}
