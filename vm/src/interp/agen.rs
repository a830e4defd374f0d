//! Stage 4: async generators (`yield` inside `async def`, PEP 525) and the awaitables that drive a
//! generator frame from outside: `agen.__anext__()`/`asend(v)`, `agen.athrow(e)`/`aclose()`, and
//! `coroutine.__await__()`.
//!
//! An async generator is a [`Generator`] of kind `AsyncGenerator`. Its frame suspends for two
//! reasons: its own `yield v` (a value for `async for`), or an `await` inside it (a value for the
//! event loop, passed through). The frame tells them apart: an `await` parks it on `YieldFrom`
//! (see `frame_delegate` in `coro.rs`), a `yield` just after `YieldValue`. CPython wraps the
//! yielded value instead (`ASYNC_GEN_WRAP`); the answer is the same.
//!
//! Each awaitable is an instance of a built-in class (`async_generator_asend`,
//! `async_generator_athrow`, `coroutine_wrapper`) holding a [`GenAwait`]: an iterator with `send`,
//! `throw` and `close`, whose every step resumes the generator frame and then says whether the
//! step yields through (an `await` inside), finishes the `await` of the awaitable
//! (`StopIteration(value)`: the async generator yielded `value`), or ends the iteration
//! (`StopAsyncIteration`: it returned). `await` and `async for` step them directly and take the
//! value without making the `StopIteration` ([`Flow`]).

use crate::builtins::args::{Sig, Style};
use crate::builtins::Methods;
use crate::error::PyErr;
use crate::heap::{ObjCell, Ref};
use crate::interp::{Args, Interp};
use crate::object::{types, ExcKind, GenKind, GenStatus, Generator, Instance};
use crate::value::Value;
use crate::{err, PyResult};

/// The methods of `async_generator` objects.
pub const ASYNC_GEN_METHODS: Methods = &[
    ("__aiter__", agen_aiter),
    ("__anext__", agen_anext),
    ("asend", agen_asend),
    ("athrow", agen_athrow),
    ("aclose", agen_aclose),
];

/// The methods of `coroutine` objects beyond the generator's `send`, `throw` and `close`.
pub const CORO_METHODS: Methods = &[("__await__", coro_await)];

/// The methods of the three awaitable classes: each is its own iterator.
pub const AWAIT_METHODS: Methods = &[
    ("__await__", aw_self::<GenAwait>),
    ("__iter__", aw_self::<GenAwait>),
    ("__next__", aw_next::<GenAwait>),
    ("send", aw_send::<GenAwait>),
    ("throw", aw_throw::<GenAwait>),
    ("close", aw_close::<GenAwait>),
];

/// The built-ins `aiter` and `anext`.
pub const ASYNC_ITER_FUNCTIONS: Methods = &[("aiter", aiter), ("anext", anext)];

/// The methods of `anext_awaitable` (what `anext(it, default)` returns).
pub const ANEXT_METHODS: Methods = &[
    ("__await__", aw_self::<AnextAwait>),
    ("__iter__", aw_self::<AnextAwait>),
    ("__next__", aw_next::<AnextAwait>),
    ("send", aw_send::<AnextAwait>),
    ("throw", aw_throw::<AnextAwait>),
    ("close", aw_close::<AnextAwait>),
];

/// `anext(it, default)`: awaits `it.__anext__()`, turning its `StopAsyncIteration` into `default`.
struct AnextAwait {
    /// The awaitable `__anext__()` returned, until the first step turns it into `iter`.
    awaitable: ObjCell<Option<Value>>,
    iter: ObjCell<Option<Value>>,
    default: Value,
}

/// Which awaitable a [`GenAwait`] is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// `coroutine.__await__()`: steps go straight to the coroutine.
    Wrapper,
    /// `__anext__()` / `asend(v)`: the first step sends `v`.
    Send,
    /// `athrow(e)`: the first step throws `e`.
    Throw,
    /// `aclose()`: the first step throws `GeneratorExit`, which must end the generator.
    Close,
}

/// What an awaitable does on its next step.
enum Step {
    Send(Value),
    Throw(PyErr),
}

/// How one step of an awaitable ends: it yields a value through (an `await` inside), or it
/// finishes with a result (`Done(None)` when it has none, as `aclose()`). A Python-level
/// `__next__`/`send`/`throw` raises the result as `StopIteration(result)`; `await` and
/// `async for` take it without making that exception (see [`Interp::native_await_send`]).
enum Flow {
    Yield(Value),
    Done(Option<Value>),
}

impl Flow {
    /// The Python-level result: the yielded value, or the `StopIteration` that ends the await.
    fn into_result(self) -> PyResult<Value> {
        match self {
            Flow::Yield(v) => Ok(v),
            // CPython's result None is a bare StopIteration (no args), as a generator's return.
            Flow::Done(r) => Err(PyErr::with_args(
                ExcKind::StopIteration,
                r.filter(|v| !v.is_none()).into_iter().collect(),
            )),
        }
    }
}

/// The state of one awaitable over a generator frame.
struct GenAwait {
    gen: Ref<Generator>,
    role: Role,
    /// The first step's action (the value for `asend`, the exception for `athrow`), until taken.
    first: ObjCell<Option<Step>>,
    /// Finished: a further step is an error (`cannot reuse already awaited ...`).
    done: ObjCell<bool>,
}

impl Interp {
    /// Wrap `gen` in a new awaitable of class `class`.
    fn new_gen_await(&mut self, gen: &Ref<Generator>, role: Role, first: Option<Step>) -> Value {
        let t = types();
        let class = match role {
            Role::Wrapper => &t.coroutine_wrapper,
            Role::Send => &t.async_gen_asend,
            Role::Throw | Role::Close => &t.async_gen_athrow,
        };
        let inst = Instance::new(class.clone());
        inst.set_native(Box::new(GenAwait {
            gen: gen.clone(),
            role,
            first: ObjCell::new(first),
            done: ObjCell::new(false),
        }));
        Value::Instance(Ref::new(inst))
    }

    /// One step of an awaitable: it yields through, finishes with a result, or raises.
    fn gen_await_step(&mut self, a: &GenAwait, step: Step) -> PyResult<Flow> {
        if *a.done.lock() {
            return Err(match a.role {
                Role::Wrapper => err!(RuntimeError, "cannot reuse already awaited coroutine"),
                Role::Send => err!(
                    RuntimeError,
                    "cannot reuse already awaited __anext__()/asend()"
                ),
                Role::Throw | Role::Close => {
                    err!(
                        RuntimeError,
                        "cannot reuse already awaited aclose()/athrow()"
                    )
                }
            });
        }
        // The first `send(None)` performs the awaitable's own action instead.
        let step = match (a.first.lock().take(), step) {
            (Some(first), Step::Send(v)) if v.is_none() => first,
            (_, step) => step,
        };
        if a.role == Role::Close && !matches!(*a.gen.status.lock(), GenStatus::Suspended) {
            // aclose() of a generator not started or already finished: nothing to run.
            *a.gen.status.lock() = GenStatus::Done;
            a.gen.frame.lock().take();
            *a.done.lock() = true;
            return Ok(Flow::Done(None));
        }
        let r = match step {
            Step::Send(v) => self.gen_resume(&a.gen, v),
            Step::Throw(e) => self.gen_throw(&a.gen, e),
        };
        let r = self.gen_await_outcome(a, r);
        if !matches!(r, Ok(Flow::Yield(_))) {
            *a.done.lock() = true;
        }
        r
    }

    /// How the generator's step ends the awaitable's step (see the module comment).
    fn gen_await_outcome(&mut self, a: &GenAwait, r: PyResult<Option<Value>>) -> PyResult<Flow> {
        match r {
            Ok(Some(v)) if a.role == Role::Wrapper || awaiting(&a.gen) => Ok(Flow::Yield(v)),
            Ok(Some(_)) if a.role == Role::Close => {
                Err(err!(RuntimeError, "async generator ignored GeneratorExit"))
            }
            Ok(Some(v)) => Ok(Flow::Done(Some(v))),
            Ok(None) => match a.role {
                Role::Wrapper => {
                    let r = std::mem::take(&mut self.yield_from_result);
                    let none = r.is_none() || matches!(r, Value::Undefined);
                    Ok(Flow::Done((!none).then_some(r)))
                }
                Role::Close => Ok(Flow::Done(None)),
                Role::Send | Role::Throw => {
                    Err(PyErr::with_args(ExcKind::StopAsyncIteration, Vec::new()))
                }
            },
            Err(e)
                if a.role == Role::Close
                    && (e.is(ExcKind::GeneratorExit) || e.is(ExcKind::StopAsyncIteration)) =>
            {
                Ok(Flow::Done(None))
            }
            Err(e) => Err(e),
        }
    }
}

impl Interp {
    /// `await` (and `async for`) sending `sent` into one of the built-in awaitables: its step run
    /// directly, a result left in `yield_from_result` as a returning delegate's (so no
    /// `StopIteration` is made per item). `Err(sent)` when `it` is not a built-in awaitable.
    pub(crate) fn native_await_send(
        &mut self,
        it: &Value,
        sent: Value,
    ) -> Result<PyResult<Option<Value>>, Value> {
        let Value::Instance(i) = it else {
            return Err(sent);
        };
        let flow = if let Some(a) = i.native::<GenAwait>() {
            self.gen_await_step(a, Step::Send(sent))
        } else if let Some(a) = i.native::<AnextAwait>() {
            self.anext_step(a, Step::Send(sent))
        } else {
            return Err(sent);
        };
        Ok(flow.map(|f| match f {
            Flow::Yield(v) => Some(v),
            Flow::Done(r) => {
                self.yield_from_result = r.unwrap_or(Value::None);
                None
            }
        }))
    }
}

/// Whether `v` is one of the built-in awaitables (its `__await__` returns itself).
pub(crate) fn is_native_awaitable(v: &Value) -> bool {
    match v {
        Value::Instance(i) => {
            i.native::<GenAwait>().is_some() || i.native::<AnextAwait>().is_some()
        }
        _ => false,
    }
}

impl Interp {
    /// `agen.__anext__()` of an async generator `agen` (which cannot be subclassed nor its
    /// methods replaced), for `async for` without the method look-up and call.
    pub(crate) fn agen_anext_direct(
        &mut self,
        g: &Ref<Generator>,
        agen: &Value,
    ) -> PyResult<Value> {
        init_hooks(self, g, agen)?;
        Ok(self.new_gen_await(g, Role::Send, Some(Step::Send(Value::None))))
    }
}

/// Whether a suspended generator is parked inside an `await` (rather than after its own `yield`).
fn awaiting(g: &Generator) -> bool {
    g.frame
        .lock()
        .as_deref()
        .is_some_and(|f| crate::interp::coro::frame_delegate(f).is_some())
}

fn agen_recv<'a>(args: &Args<'a>, meth: &str) -> PyResult<&'a Ref<Generator>> {
    match args.pos.first() {
        Some(Value::Generator(g)) if g.kind == GenKind::AsyncGenerator => Ok(g),
        other => Err(err!(
            TypeError,
            "descriptor '{meth}' for 'async_generator' objects doesn't apply to a '{}' object",
            other.map_or("NoneType".to_string(), crate::object::type_name)
        )),
    }
}

fn agen_aiter(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    agen_recv(&args, "__aiter__")?;
    Sig::pos("__aiter__", Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    Ok(args.pos[0].clone())
}

/// PEP 525's first-iteration hook: the first `__anext__()`, `asend()`, `athrow()` or `aclose()`
/// of an async generator calls the `firstiter` hook of `sys.set_asyncgen_hooks` with it
/// (asyncio's loop remembers it, to close it in `shutdown_asyncgens()` if it is still suspended
/// then). CPython keeps a flag per generator; minivm takes "not started yet" for it, so a second
/// awaitable made before the first is awaited calls the hook again.
fn init_hooks(interp: &mut Interp, g: &Ref<Generator>, agen: &Value) -> PyResult<()> {
    if !matches!(*g.status.lock(), GenStatus::Created) {
        return Ok(());
    }
    let hook = interp.asyncgen_hooks[0].clone();
    if hook.is_none() {
        return Ok(());
    }
    interp.call(&hook, std::slice::from_ref(agen)).map(drop)
}

fn agen_anext(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let g = agen_recv(&args, "__anext__")?;
    Sig::pos("__anext__", Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    init_hooks(interp, g, &args.pos[0])?;
    Ok(interp.new_gen_await(g, Role::Send, Some(Step::Send(Value::None))))
}

fn agen_asend(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let g = agen_recv(&args, "asend")?;
    let [v] = Sig::pos("asend", Style::One, &["value"], 1)
        .method()
        .bind(&args)?;
    let v = v.cloned().unwrap_or(Value::None);
    init_hooks(interp, g, &args.pos[0])?;
    Ok(interp.new_gen_await(g, Role::Send, Some(Step::Send(v))))
}

fn agen_athrow(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let g = agen_recv(&args, "athrow")?;
    let exc = crate::builtins::throw_exception(interp, &args, "athrow")??;
    init_hooks(interp, g, &args.pos[0])?;
    Ok(interp.new_gen_await(g, Role::Throw, Some(Step::Throw(exc))))
}

fn agen_aclose(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let g = agen_recv(&args, "aclose")?;
    Sig::pos("aclose", Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    init_hooks(interp, g, &args.pos[0])?;
    let exit = PyErr::with_args(ExcKind::GeneratorExit, Vec::new());
    Ok(interp.new_gen_await(g, Role::Close, Some(Step::Throw(exit))))
}

fn coro_await(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let g = match args.pos.first() {
        Some(Value::Generator(g)) if g.kind == GenKind::Coroutine => g,
        _ => {
            return Err(err!(
                TypeError,
                "descriptor '__await__' requires a 'coroutine' object"
            ))
        }
    };
    Sig::pos("__await__", Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    Ok(interp.new_gen_await(g, Role::Wrapper, None))
}

/// `aiter(obj)`: `obj.__aiter__()`, which must be an async iterator.
fn aiter(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [obj] = Sig::pos("aiter", Style::One, &["async_iterable"], 1).bind(&args)?;
    interp.aiter_of(
        obj.unwrap_or(&Value::None),
        |t| format!("'{t}' object is not an async iterable"),
        |t| format!("aiter() returned not an async iterator of type '{t}'"),
    )
}

/// `anext(it[, default])`: the awaitable of `it.__anext__()`.
fn anext(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [it, default] =
        Sig::pos("anext", Style::Unpack, &["aiterator", "default"], 1).bind(&args)?;
    let awaitable = interp.anext_of(it.unwrap_or(&Value::None), |t| {
        format!("'{t}' object is not an async iterator")
    })?;
    let Some(default) = default else {
        return Ok(awaitable);
    };
    let inst = Instance::new(types().anext_awaitable.clone());
    inst.set_native(Box::new(AnextAwait {
        awaitable: ObjCell::new(Some(awaitable)),
        iter: ObjCell::new(None),
        default: default.clone(),
    }));
    Ok(Value::Instance(Ref::new(inst)))
}

impl Interp {
    /// One step of `anext(it, default)`'s awaitable: the inner awaitable's, with its
    /// `StopAsyncIteration` turned into `StopIteration(default)`.
    fn anext_step(&mut self, a: &AnextAwait, step: Step) -> PyResult<Flow> {
        let started = a.iter.lock().clone();
        let it = match started {
            Some(it) => it,
            None => {
                let awaitable = a.awaitable.lock().take().unwrap_or(Value::None);
                let it = self.get_awaitable(&awaitable)?;
                *a.iter.lock() = Some(it.clone());
                it
            }
        };
        let r = match step {
            Step::Send(v) => self.send_into(&it, v),
            Step::Throw(e) => self.throw_into(&it, e),
        };
        match r {
            Ok(Some(v)) => Ok(Flow::Yield(v)),
            Ok(None) => {
                let r = std::mem::take(&mut self.yield_from_result);
                let none = r.is_none() || matches!(r, Value::Undefined);
                Ok(Flow::Done((!none).then_some(r)))
            }
            Err(e) if e.is(ExcKind::StopAsyncIteration) => Ok(Flow::Done(Some(a.default.clone()))),
            Err(e) => Err(e),
        }
    }
}

/// What the awaitable classes have in common: each step of the iterator, and `close()`.
trait Stepper: 'static {
    /// The class name, for the error when a method gets the wrong receiver.
    const NAME: &'static str;
    fn step(&self, interp: &mut Interp, step: Step) -> PyResult<Flow>;
    fn close(&self, interp: &mut Interp) -> PyResult<()>;
}

impl Stepper for GenAwait {
    const NAME: &'static str = "async_generator_asend";
    fn step(&self, interp: &mut Interp, step: Step) -> PyResult<Flow> {
        interp.gen_await_step(self, step)
    }
    fn close(&self, interp: &mut Interp) -> PyResult<()> {
        *self.done.lock() = true;
        if self.role == Role::Wrapper {
            let g = self.gen.clone();
            interp.gen_close(&g)?;
        }
        Ok(())
    }
}

impl Stepper for AnextAwait {
    const NAME: &'static str = "anext_awaitable";
    fn step(&self, interp: &mut Interp, step: Step) -> PyResult<Flow> {
        interp.anext_step(self, step)
    }
    fn close(&self, interp: &mut Interp) -> PyResult<()> {
        let started = self.iter.lock().take();
        match started {
            Some(it) => interp.close_delegate(&it),
            None => Ok(()),
        }
    }
}

/// The receiver of an awaitable's method, with its Rust state.
fn this<'a, T: Stepper>(args: &Args<'a>) -> PyResult<&'a T> {
    match args.pos.first() {
        Some(Value::Instance(i)) => i.native::<T>(),
        _ => None,
    }
    .ok_or_else(|| err!(TypeError, "descriptor requires a '{}' object", T::NAME))
}

/// `__await__` and `__iter__`: the awaitable is its own iterator.
fn aw_self<T: Stepper>(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    this::<T>(&args)?;
    Ok(args.pos[0].clone())
}

fn aw_next<T: Stepper>(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let a = this::<T>(&args)?;
    Sig::pos("__next__", Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    a.step(interp, Step::Send(Value::None))?.into_result()
}

fn aw_send<T: Stepper>(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let a = this::<T>(&args)?;
    let [v] = Sig::pos("send", Style::One, &["value"], 1)
        .method()
        .bind(&args)?;
    a.step(interp, Step::Send(v.cloned().unwrap_or(Value::None)))?
        .into_result()
}

fn aw_throw<T: Stepper>(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let a = this::<T>(&args)?;
    let exc = crate::builtins::throw_exception(interp, &args, "throw")??;
    a.step(interp, Step::Throw(exc))?.into_result()
}

fn aw_close<T: Stepper>(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let a = this::<T>(&args)?;
    Sig::pos("close", Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    a.close(interp)?;
    Ok(Value::None)
}
