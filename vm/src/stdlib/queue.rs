//! Stage 4 (VM), standard library.
//! The `queue` module: `Queue`, `LifoQueue`, `SimpleQueue` and the `Empty` / `Full` exceptions,
//! plus Python 3.13's `Queue.shutdown(immediate=False)` and `ShutDown` (minivm runs what CPython
//! 3.11 cannot).
//!
//! A queue is a `VecDeque` behind a parking_lot mutex with three condvars (not empty, not full, all
//! tasks done). `get`/`put` try once with the GIL held and block, if they must, with it released.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use crate::builtins::args::{Sig, Style};
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{Class, ExcKind, Module};
use crate::stdlib::sync::{
    block_on, exception_class, int_value, property, raise_new, seconds, Wait,
};
use crate::stdlib::{make_module, native_class, this};
use crate::value::Value;
use crate::{err, PyResult};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fifo,
    Lifo,
    Simple,
}

struct State {
    items: VecDeque<Value>,
    /// 0 (or less, in Python): unbounded.
    maxsize: usize,
    /// Items put and not yet marked done with `task_done()`.
    unfinished: usize,
    /// `shutdown()` was called: `put` raises `ShutDown`, and `get` too once the queue is empty.
    shut_down: bool,
}

/// What one try of `put` or `get` found.
enum Try<T> {
    Done(T),
    /// Full (put) or empty (get): wait, or raise `Full` / `Empty`.
    NotNow,
    ShutDown,
}

impl State {
    fn full(&self) -> bool {
        self.maxsize > 0 && self.items.len() >= self.maxsize
    }
}

/// Rust data of a queue instance.
pub struct QueueData {
    kind: Kind,
    /// Items move in and out under this mutex, also while a waiting thread has released the
    /// GIL: they are only moved there, never cloned or dropped (which would change their counts
    /// without the GIL), hence the `Shared` hand-off.
    state: Mutex<crate::heap::Shared<State>>,
    not_empty: Condvar,
    not_full: Condvar,
    all_done: Condvar,
}

impl QueueData {
    /// Move `item` in if there is room (with the state locked); it stays in the slot otherwise.
    fn try_put(&self, s: &mut State, item: &mut Option<Value>) -> Try<()> {
        if s.shut_down {
            return Try::ShutDown;
        }
        if s.full() {
            return Try::NotNow;
        }
        if let Some(v) = item.take() {
            s.items.push_back(v);
            s.unfinished += 1;
        }
        Try::Done(())
    }

    fn try_get(&self, s: &mut State) -> Try<Value> {
        let item = match self.kind {
            Kind::Lifo => s.items.pop_back(),
            Kind::Fifo | Kind::Simple => s.items.pop_front(),
        };
        match item {
            Some(v) => Try::Done(v),
            None if s.shut_down => Try::ShutDown,
            None => Try::NotNow,
        }
    }
}

static QUEUE_CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();
static LIFO_CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();
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

const QUEUE_METHODS: &[(&str, crate::object::NativeFn)] = &[
    ("put", queue_put),
    ("get", queue_get),
    ("put_nowait", queue_put_nowait),
    ("get_nowait", queue_get_nowait),
    ("task_done", queue_task_done),
    ("join", queue_join),
    ("empty", queue_empty),
    ("full", queue_full),
    ("qsize", queue_qsize),
    ("shutdown", queue_shutdown),
];

fn queue_like(name: &str, init: crate::object::NativeFn) -> Ref<Class> {
    let mut methods: Vec<(&'static str, crate::object::NativeFn)> = vec![("__init__", init)];
    methods.extend_from_slice(QUEUE_METHODS);
    let cls = native_class(name, "queue", &methods);
    cls.dict.write().insert(
        Arc::from("unfinished_tasks"),
        property(("unfinished_tasks", queue_unfinished)),
    );
    cls.dict.write().insert(
        Arc::from("is_shutdown"),
        property(("is_shutdown", queue_is_shutdown)),
    );
    cls
}

pub fn queue_class() -> Ref<Class> {
    QUEUE_CLASS
        .get_or_init(|| queue_like("Queue", queue_init))
        .clone()
}

pub fn lifo_queue_class() -> Ref<Class> {
    LIFO_CLASS
        .get_or_init(|| queue_like("LifoQueue", lifo_init))
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
                    ("put", queue_put),
                    ("get", queue_get),
                    ("put_nowait", queue_put_nowait),
                    ("get_nowait", queue_get_nowait),
                    ("empty", queue_empty),
                    ("qsize", queue_qsize),
                ],
            )
        })
        .clone()
}

pub fn queue_module() -> Ref<Module> {
    make_module(
        "queue",
        vec![
            ("Queue", Value::Class(queue_class())),
            ("LifoQueue", Value::Class(lifo_queue_class())),
            ("SimpleQueue", Value::Class(simple_queue_class())),
            ("Empty", Value::Class(empty_error())),
            ("Full", Value::Class(full_error())),
            ("ShutDown", Value::Class(shut_down_error())),
        ],
    )
}

fn new_queue(args: &Args<'_>, kind: Kind) -> PyResult<Value> {
    let Some(Value::Instance(inst)) = args.pos.first() else {
        return Err(err!(TypeError, "Queue.__init__ needs a Queue instance"));
    };
    let maxsize = match kind {
        Kind::Simple => {
            if !args.kw.is_empty() {
                return Err(err!(TypeError, "SimpleQueue() takes no keyword arguments"));
            }
            if args.len() > 1 {
                return Err(err!(
                    TypeError,
                    "SimpleQueue() takes no positional arguments"
                ));
            }
            0
        }
        _ => match Sig::py("Queue.__init__", &["maxsize"], 0)
            .method()
            .bind(args)?
        {
            [Some(v)] => int_value(v)?,
            [None] => 0,
        },
    };
    let data = QueueData {
        kind,
        state: Mutex::new(crate::heap::Shared::new(State {
            items: VecDeque::new(),
            maxsize: maxsize.max(0) as usize,
            unfinished: 0,
            shut_down: false,
        })),
        not_empty: Condvar::new(),
        not_full: Condvar::new(),
        all_done: Condvar::new(),
    };
    if !inst.set_native(Box::new(data)) {
        return Err(err!(RuntimeError, "Queue.__init__() called twice"));
    }
    if kind != Kind::Simple {
        inst.dict
            .lock()
            .insert(Arc::from("maxsize"), Value::Int(maxsize));
    }
    Ok(Value::None)
}

fn queue_init(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    new_queue(&args, Kind::Fifo)
}

fn lifo_init(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    new_queue(&args, Kind::Lifo)
}

fn simple_init(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    new_queue(&args, Kind::Simple)
}

/// A queue method's signature: `Queue`'s are Python functions in CPython, `SimpleQueue`'s are C.
fn sig<'n>(q: &QueueData, name: &'n str, params: &'n [&'n str], required: usize) -> Sig<'n> {
    match q.kind {
        Kind::Simple if params.is_empty() => match name {
            "empty" => Sig::pos("SimpleQueue.empty", Style::NoArgs, &[], 0),
            "qsize" => Sig::pos("SimpleQueue.qsize", Style::NoArgs, &[], 0),
            _ => Sig::pos(name, Style::NoArgs, &[], 0),
        },
        Kind::Simple => Sig::kw(name, params, required),
        Kind::Fifo | Kind::Lifo => match name {
            "put" => Sig::py("Queue.put", params, required),
            "get" => Sig::py("Queue.get", params, required),
            "put_nowait" => Sig::py("Queue.put_nowait", params, required),
            "get_nowait" => Sig::py("Queue.get_nowait", params, required),
            "task_done" => Sig::py("Queue.task_done", params, required),
            "join" => Sig::py("Queue.join", params, required),
            "empty" => Sig::py("Queue.empty", params, required),
            "full" => Sig::py("Queue.full", params, required),
            "shutdown" => Sig::py("Queue.shutdown", params, required),
            _ => Sig::py("Queue.qsize", params, required),
        },
    }
    .method()
}

/// `block` and `timeout` of `get`/`put`.
fn block_wait(
    interp: &mut Interp,
    block: Option<&Value>,
    timeout: Option<&Value>,
) -> PyResult<Wait> {
    let block = match block {
        Some(v) => interp.truthy(v)?,
        None => true,
    };
    if !block {
        return Ok(Wait::NonBlocking);
    }
    match timeout {
        None | Some(Value::None) => Ok(Wait::Forever),
        Some(v) => {
            let t = seconds(v)?;
            if t < 0.0 {
                return Err(err!(ValueError, "'timeout' must be a non-negative number"));
            }
            Ok(Wait::after(t))
        }
    }
}

fn data<'a>(args: &Args<'a>) -> PyResult<&'a QueueData> {
    Ok(this::<QueueData>(args, "Queue")?.1)
}

fn put(interp: &mut Interp, q: &QueueData, item: &Value, w: Wait) -> PyResult<Value> {
    // The clone is made here, with the GIL; a blocked put only moves it into the queue.
    let mut slot = crate::heap::Shared::new(Some(item.clone()));
    let mut outcome = q.try_put(&mut q.state.lock(), &mut slot);
    if matches!((&outcome, w), (Try::NotNow, Wait::Forever | Wait::Until(_))) {
        block_on(interp, &q.state, &q.not_full, w, |s| {
            outcome = q.try_put(s, &mut slot);
            !matches!(outcome, Try::NotNow)
        })?;
    }
    // An item that found no room is dropped here, with the GIL held again.
    drop(slot.into_inner());
    match outcome {
        Try::Done(()) => {
            q.not_empty.notify_one();
            Ok(Value::None)
        }
        Try::NotNow => Err(raise_new(interp, &full_error())),
        Try::ShutDown => Err(raise_new(interp, &shut_down_error())),
    }
}

fn get(interp: &mut Interp, q: &QueueData, w: Wait) -> PyResult<Value> {
    let got = q.try_get(&mut q.state.lock());
    let got = match (got, w) {
        (Try::NotNow, Wait::Forever | Wait::Until(_)) => {
            // Moved out without the GIL, into a hand-off opened once the GIL is back.
            let mut out = crate::heap::Shared::new(Try::NotNow);
            block_on(interp, &q.state, &q.not_empty, w, |s| {
                *out = q.try_get(s);
                !matches!(*out, Try::NotNow)
            })?;
            out.into_inner()
        }
        (got, _) => got,
    };
    match got {
        Try::Done(v) => {
            q.not_full.notify_one();
            Ok(v)
        }
        Try::NotNow => Err(raise_new(interp, &empty_error())),
        Try::ShutDown => Err(raise_new(interp, &shut_down_error())),
    }
}

/// The required `item` argument, once the signature has checked it is there.
fn item(v: Option<&Value>) -> PyResult<&Value> {
    v.ok_or_else(|| err!(SystemError, "queue: item argument lost"))
}

fn queue_put(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let q = data(&args)?;
    let [it, block, timeout] = sig(q, "put", &["item", "block", "timeout"], 1).bind(&args)?;
    let w = block_wait(interp, block, timeout)?;
    put(interp, q, item(it)?, w)
}

fn queue_put_nowait(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let q = data(&args)?;
    let [it] = sig(q, "put_nowait", &["item"], 1).bind(&args)?;
    put(interp, q, item(it)?, Wait::NonBlocking)
}

fn queue_get(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let q = data(&args)?;
    let [block, timeout] = sig(q, "get", &["block", "timeout"], 0).bind(&args)?;
    let w = block_wait(interp, block, timeout)?;
    get(interp, q, w)
}

fn queue_get_nowait(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let q = data(&args)?;
    sig(q, "get_nowait", &[], 0).check(&args)?;
    get(interp, q, Wait::NonBlocking)
}

fn queue_task_done(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let q = data(&args)?;
    sig(q, "task_done", &[], 0).check(&args)?;
    let mut s = q.state.lock();
    if s.unfinished == 0 {
        return Err(err!(ValueError, "task_done() called too many times"));
    }
    s.unfinished -= 1;
    if s.unfinished == 0 {
        drop(s);
        q.all_done.notify_all();
    }
    Ok(Value::None)
}

fn queue_join(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let q = data(&args)?;
    sig(q, "join", &[], 0).check(&args)?;
    if q.state.lock().unfinished == 0 {
        return Ok(Value::None);
    }
    block_on(interp, &q.state, &q.all_done, Wait::Forever, |s| {
        s.unfinished == 0
    })?;
    Ok(Value::None)
}

fn queue_empty(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let q = data(&args)?;
    sig(q, "empty", &[], 0).check(&args)?;
    Ok(Value::Bool(q.state.lock().items.is_empty()))
}

fn queue_full(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let q = data(&args)?;
    sig(q, "full", &[], 0).check(&args)?;
    Ok(Value::Bool(q.state.lock().full()))
}

fn queue_qsize(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let q = data(&args)?;
    sig(q, "qsize", &[], 0).check(&args)?;
    Ok(Value::Int(q.state.lock().items.len() as i64))
}

fn queue_unfinished(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let q = data(&args)?;
    Ok(Value::Int(q.state.lock().unfinished as i64))
}

/// `Queue.shutdown(immediate=False)` (Python 3.13): `put` raises `ShutDown` from now on, and
/// `get` once the queue is empty; blocked callers wake up to see it. `immediate` also drops the
/// queued items (counting each as done, which may release `join()`).
fn queue_shutdown(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let q = data(&args)?;
    let [immediate] = sig(q, "shutdown", &["immediate"], 0).bind(&args)?;
    let immediate = match immediate {
        Some(v) => interp.truthy(v)?,
        None => false,
    };
    // Dropped items leave the mutex first: their counts change with the GIL held, here.
    let dropped: Vec<Value> = {
        let mut s = q.state.lock();
        s.shut_down = true;
        if immediate {
            let n = s.items.len();
            s.unfinished = s.unfinished.saturating_sub(n);
            s.items.drain(..).collect()
        } else {
            Vec::new()
        }
    };
    drop(dropped);
    if immediate {
        q.all_done.notify_all();
    }
    q.not_empty.notify_all();
    q.not_full.notify_all();
    Ok(Value::None)
}

fn queue_is_shutdown(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let q = data(&args)?;
    Ok(Value::Bool(q.state.lock().shut_down))
}
