//! Stage 4: coroutines (`async def`, `await`, `async for`, `async with`) on top of the generator
//! machinery.
//!
//! A coroutine is a [`Generator`] whose `kind` is `Coroutine`: calling an `async def` makes one
//! with its frame suspended before the first instruction, exactly as a generator function does.
//! `await x` compiles to `GetAwaitable; LoadConst None; YieldFrom` (CPython's `GET_AWAITABLE` and
//! `SEND`): the frame delegates to the awaitable's iterator, every value that iterator yields
//! travels up through all the awaiting frames to whoever drives the outermost coroutine (an event
//! loop calling `send`), and the iterator's return value becomes the value of `await`.
//!
//! This file holds the new instructions, the awaitable protocol and the parts of `send`/`throw`
//! that coroutines need beyond plain generators: a `throw()` (and `close()`) reaches the innermost
//! awaited object first, as CPython's `gen_throw` does, so `finally` blocks run innermost first.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::Arc;

use minivm_compiler::bytecode::Op;

use crate::error::PyErr;
use crate::heap::Ref;
use crate::interp::finalize;
use crate::interp::frame::Frame;
use crate::interp::special::lookup_special_on;
use crate::interp::Interp;
use crate::object::{class_of, type_name, ExcKind, GenKind, GenStatus, Generator};
use crate::value::Value;
use crate::{err, PyResult};

/// Where a warning was printed and for which coroutine: (file, line, qualified name).
type WarnedAt = (Arc<str>, u32, Arc<str>);

thread_local! {
    /// Qualified names of coroutines dropped before their first step, not reported yet.
    static NEVER_AWAITED: RefCell<Vec<Arc<str>>> = const { RefCell::new(Vec::new()) };
    /// Warnings already printed, by (file, line, name): like CPython's default warning filter,
    /// each is printed once per place.
    static REPORTED: RefCell<HashSet<WarnedAt>> = RefCell::new(HashSet::new());
}

/// Called when a coroutine that never ran is freed. The warning is printed by
/// [`Interp::report_never_awaited`] at the next point where the interpreter knows its position
/// (CPython reports the line running when the coroutine is freed).
pub fn never_awaited(qualname: Arc<str>) {
    NEVER_AWAITED.with(|v| v.borrow_mut().push(qualname));
    finalize::set_pending(finalize::WARN, true);
    // The safe points that close generators report it too: a `del`, a global store, a call of
    // a built-in, the next loop back-edge or call (after a local store).
    crate::interp::finalize::announce();
}

/// Whether `g` is a generator of a `types.coroutine` function, which `await` accepts as is.
pub fn iterable_coroutine(g: &Generator) -> bool {
    g.kind == GenKind::Generator
        && g.frame
            .lock()
            .as_deref()
            .is_some_and(|f| f.code.obj.flags.iterable_coroutine)
}

/// Whether a value freed just now left work for the interpreter: a "never awaited" warning to
/// print or a generator to close (`finalize.rs`). Cheap: one thread-local read (the two
/// kinds of work are two bits of one flag word).
#[inline(always)]
pub fn drops_pending() -> bool {
    finalize::pending_bits() != 0
}

/// Whether never-awaited coroutines wait to be reported (cheap: one thread-local read).
#[inline(always)]
pub fn warnings_pending() -> bool {
    finalize::pending_bits() & finalize::WARN != 0
}

/// [`Interp::handled_exc`] from the two fields it reads, borrowed (for callers that hold other
/// fields of the `Interp` at the same time: `gil.rs` lends it while the thread waits).
pub(crate) fn topmost_exc<'a>(
    cur_exc: &'a Option<Value>,
    outer_exc: &'a [Option<Value>],
) -> Option<&'a Value> {
    cur_exc
        .as_ref()
        .or_else(|| outer_exc.iter().rev().find_map(Option::as_ref))
}

impl Interp {
    /// The exception `sys.exc_info()` reports, bare `raise` re-raises and a new exception takes
    /// as `__context__`: the innermost one being handled, looking through generators that handle
    /// none themselves to the code that resumed them (CPython's `_PyErr_GetTopmostException`).
    pub fn handled_exc(&self) -> Option<Value> {
        topmost_exc(&self.cur_exc, &self.outer_exc).cloned()
    }

    /// A generator's frame is about to run: the exception it was handling when it last
    /// suspended (kept in its frame's `saved_exc`) becomes the current one, and the resumer's
    /// is kept until it suspends again.
    pub(crate) fn enter_generator_exc(&mut self, frame: &mut Frame) {
        let own = frame.saved_exc.take();
        let resumer = std::mem::replace(&mut self.cur_exc, own);
        self.outer_exc.push(resumer);
    }

    /// The generator's frame suspended or finished: give the resumer its exception back and
    /// return the generator's own, for its frame to keep while it is suspended.
    pub(crate) fn leave_generator_exc(&mut self) -> Option<Value> {
        let resumer = self.outer_exc.pop().flatten();
        std::mem::replace(&mut self.cur_exc, resumer)
    }

    /// The work `drops_pending` announced, at `frame`'s current line. (Out of line: the
    /// dispatch loop calls it on rare paths.)
    #[cold]
    #[inline(never)]
    pub(crate) fn after_drops(&mut self, frame: Option<&Frame>) {
        if warnings_pending() {
            self.report_never_awaited(frame);
        }
        self.finalize_if_pending();
    }

    /// Print CPython's `RuntimeWarning: coroutine 'f' was never awaited` for every coroutine freed
    /// since the last report, at `frame`'s current line (`sys:1`, as at shutdown, without one).
    pub(crate) fn report_never_awaited(&mut self, frame: Option<&Frame>) {
        finalize::set_pending(finalize::WARN, false);
        let names = NEVER_AWAITED.with(|v| std::mem::take(&mut *v.borrow_mut()));
        if let Some(warnings) = self.vm.find_module("warnings") {
            // The program imported `warnings`: its filters, registry and `showwarning` decide,
            // as CPython's `warnings._warn_unawaited_coroutine` lets them.
            for name in names {
                self.warn_never_awaited(&warnings, &name, frame);
            }
            return;
        }
        let place = frame.map(|f| (f.code.obj.filename.clone(), f.line()));
        let mut text = String::new();
        for name in names {
            let (file, line) = place.clone().unwrap_or_else(|| (Arc::from("sys"), 1));
            let fresh =
                REPORTED.with(|r| r.borrow_mut().insert((file.clone(), line, name.clone())));
            if !fresh {
                continue;
            }
            text.push_str(&format!(
                "{file}:{line}: RuntimeWarning: coroutine '{name}' was never awaited\n"
            ));
            if place.is_some() {
                if let Some(src) = self.source_line(&file, line) {
                    text.push_str(&format!("  {src}\n"));
                }
                text.push_str(
                    "RuntimeWarning: Enable tracemalloc to get the object allocation traceback\n",
                );
            }
        }
        if !text.is_empty() {
            crate::stdlib::file::write_stderr(self, &text);
        }
    }

    /// `warnings.warn_explicit` for one never-awaited coroutine, at `frame`'s current line in its
    /// module's registry (`sys:1` without a frame). An exception it raises (an "error" filter) is
    /// printed as CPython prints it, "Exception ignored in: <coroutine object ...>".
    fn warn_never_awaited(
        &mut self,
        warnings: &Ref<crate::object::Module>,
        name: &str,
        frame: Option<&Frame>,
    ) {
        let message = Value::string(format!("coroutine '{name}' was never awaited"));
        let category = self
            .vm
            .builtins
            .get_str("RuntimeWarning")
            .unwrap_or(Value::None);
        let (file, line, module, registry) = match frame {
            Some(f) => {
                let registry = match f.globals.get_str("__warningregistry__") {
                    Some(r @ Value::Dict(_)) => r,
                    _ => {
                        let r = Value::Dict(Ref::new(crate::object::Dict::new()));
                        f.globals.set_str("__warningregistry__", r.clone());
                        r
                    }
                };
                let module = f
                    .globals
                    .get_str("__name__")
                    .unwrap_or_else(|| Value::str("<string>"));
                (
                    Value::str(&f.code.obj.filename),
                    Value::Int(f.line() as i64),
                    module,
                    registry,
                )
            }
            None => {
                // The registry `warnings.warn` uses for `sys:1` too (once per message).
                let registry = warnings
                    .dict
                    .get_str("_sys_registry")
                    .unwrap_or(Value::None);
                (
                    Value::str("sys"),
                    Value::Int(1),
                    Value::str("sys"),
                    registry,
                )
            }
        };
        // The coroutine itself is gone; its name stands in as the warning's `source` (which
        // makes the "Enable tracemalloc" line appear, as CPython's coroutine does). At exit
        // (no frame) CPython can no longer import tracemalloc and prints no such line.
        let source = match frame {
            Some(_) => Value::str(name),
            None => Value::None,
        };
        let r = self
            .getattr(&Value::Module(warnings.clone()), "warn_explicit")
            .and_then(|warn| {
                self.call(
                    &warn,
                    &[
                        message,
                        category,
                        file,
                        line,
                        module,
                        registry,
                        Value::None,
                        source,
                    ],
                )
            });
        if let Err(e) = r {
            self.print_unraisable_as(
                &e,
                &format!("Exception ignored in: <coroutine object {name}>"),
            );
        }
    }

    /// The coroutine instructions (see their doc lines in `bytecode.rs`).
    pub(crate) fn async_op(&mut self, frame: &mut Frame, op: Op) -> PyResult<()> {
        let pop = |frame: &mut Frame| frame.stack.pop().ok_or_else(super::run::stack_underflow);
        match op {
            Op::GetAwaitable => {
                let v = pop(frame)?;
                let it = self.get_awaitable(&v)?;
                frame.stack.push(it);
            }
            Op::GetAIter => {
                let v = pop(frame)?;
                let it = self.get_aiter(&v)?;
                frame.stack.push(it);
            }
            Op::GetANext => {
                let ait = frame
                    .stack
                    .last()
                    .cloned()
                    .ok_or_else(super::run::stack_underflow)?;
                let awaitable = self.get_anext(&ait)?;
                frame.stack.push(awaitable);
            }
            Op::EndAsyncFor => {
                let exc = pop(frame)?;
                let err = self.as_exception(exc)?;
                if !err.is(ExcKind::StopAsyncIteration) {
                    self.reraising = true;
                    return Err(err);
                }
                pop(frame)?;
            }
            Op::BeforeAsyncWith => {
                let mgr = pop(frame)?;
                let (exit, entered) = self.before_async_with(&mgr)?;
                frame.stack.push(exit);
                frame.stack.push(entered);
            }
            other => {
                return Err(err!(
                    SystemError,
                    "{other:?} is not a coroutine instruction"
                ))
            }
        }
        Ok(())
    }

    /// PEP 479: a `StopIteration` escaping a generator or coroutine (or a `StopAsyncIteration`
    /// escaping an async generator) would end its caller's loop; it becomes a `RuntimeError`
    /// raised `from` it.
    pub(crate) fn stop_escaping(&mut self, kind: GenKind, e: PyErr) -> PyErr {
        let what = kind.describe();
        let stop = if e.is(ExcKind::StopIteration) {
            "StopIteration"
        } else if kind == GenKind::AsyncGenerator && e.is(ExcKind::StopAsyncIteration) {
            "StopAsyncIteration"
        } else {
            return e;
        };
        let new = err!(RuntimeError, "{what} raised {stop}");
        self.chain_context(&new, Some(e.value()));
        if let Some(data) = new.exc.exc() {
            let mut d = data.lock();
            d.cause = Some(e.value());
            d.suppress_context = true;
        }
        new
    }

    /// The iterator `await v` drives: a coroutine itself, else what `v.__await__()` returns.
    pub fn get_awaitable(&mut self, v: &Value) -> PyResult<Value> {
        if let Value::Generator(g) = v {
            if g.kind == GenKind::Coroutine {
                if suspended_delegate(g).is_some() {
                    return Err(err!(RuntimeError, "coroutine is being awaited already"));
                }
                return Ok(v.clone());
            }
            if iterable_coroutine(g) {
                return Ok(v.clone());
            }
        }
        if super::agen::is_native_awaitable(v) {
            return Ok(v.clone());
        }
        let Some(method) = lookup_special_on(&class_of(v), "__await__") else {
            return Err(err!(
                TypeError,
                "object {} can't be used in 'await' expression",
                type_name(v)
            ));
        };
        let it = self.call(&method, std::slice::from_ref(v))?;
        match &it {
            Value::Generator(g) if g.kind == GenKind::Coroutine => {
                Err(err!(TypeError, "__await__() returned a coroutine"))
            }
            _ if self.is_iterator(&it) => Ok(it),
            _ => Err(err!(
                TypeError,
                "__await__() returned non-iterator of type '{}'",
                type_name(&it)
            )),
        }
    }

    /// Whether `v` has `__next__` (a built-in iterator, a generator, or a class defining it).
    fn is_iterator(&self, v: &Value) -> bool {
        match v {
            Value::Iter(_) | Value::RangeIter(_) => true,
            Value::Generator(g) => g.kind == GenKind::Generator,
            _ => class_of(v).lookup("__next__").is_some(),
        }
    }

    /// `async for`'s `aiter(v)`.
    fn get_aiter(&mut self, v: &Value) -> PyResult<Value> {
        self.aiter_of(
            v,
            |t| format!("'async for' requires an object with __aiter__ method, got {t}"),
            |t| {
                format!(
                "'async for' received an object from __aiter__ that does not implement __anext__: {t}"
            )
            },
        )
    }

    /// `async for`'s next step: the iterator that awaits `ait.__anext__()`.
    fn get_anext(&mut self, ait: &Value) -> PyResult<Value> {
        if let Value::Generator(g) = ait {
            if g.kind == GenKind::AsyncGenerator {
                return self.agen_anext_direct(g, ait);
            }
        }
        let next = self.anext_of(ait, |t| {
            format!("'async for' requires an iterator with __anext__ method, got {t}")
        })?;
        self.get_awaitable(&next).map_err(|e| {
            if e.is(ExcKind::TypeError) {
                err!(
                    TypeError,
                    "'async for' received an invalid object from __anext__: {}",
                    type_name(&next)
                )
            } else {
                e
            }
        })
    }

    /// `type(v).__aiter__(v)`, which must have `__anext__`; the `TypeError`s (given the type
    /// name) are worded by the caller (`async for` and `aiter()` say it differently).
    pub(crate) fn aiter_of(
        &mut self,
        v: &Value,
        no_aiter: impl Fn(&str) -> String,
        not_async_iterator: impl Fn(&str) -> String,
    ) -> PyResult<Value> {
        let Some(method) = lookup_special_on(&class_of(v), "__aiter__") else {
            return Err(err!(TypeError, "{}", no_aiter(&type_name(v))));
        };
        let ait = self.call(&method, std::slice::from_ref(v))?;
        if class_of(&ait).lookup("__anext__").is_none() {
            return Err(err!(TypeError, "{}", not_async_iterator(&type_name(&ait))));
        }
        Ok(ait)
    }

    /// `type(ait).__anext__(ait)`; the `TypeError` when it has none is worded by the caller.
    pub(crate) fn anext_of(
        &mut self,
        ait: &Value,
        no_anext: impl Fn(&str) -> String,
    ) -> PyResult<Value> {
        let Some(method) = lookup_special_on(&class_of(ait), "__anext__") else {
            return Err(err!(TypeError, "{}", no_anext(&type_name(ait))));
        };
        self.call(&method, std::slice::from_ref(ait))
    }

    /// `async with mgr`: the bound `__aexit__` and the (not yet awaited) result of `__aenter__`.
    fn before_async_with(&mut self, mgr: &Value) -> PyResult<(Value, Value)> {
        let cls = class_of(mgr);
        let protocol = |missed: &str| {
            err!(
                TypeError,
                "'{}' object does not support the asynchronous context manager protocol{missed}",
                type_name(mgr)
            )
        };
        let Some(enter) = lookup_special_on(&cls, "__aenter__") else {
            return Err(protocol(""));
        };
        let Some(exit) = lookup_special_on(&cls, "__aexit__") else {
            return Err(protocol(" (missed __aexit__ method)"));
        };
        let exit = self.bind(mgr.clone(), exit);
        let entered = self.call(&enter, std::slice::from_ref(mgr))?;
        Ok((exit, entered))
    }

    /// `YieldFrom` into an iterator that is not a generator: `send(v)` (or `__next__()` for
    /// None). `None` when it is finished, its `StopIteration` value left in `yield_from_result`.
    pub(crate) fn send_to_iterator(&mut self, it: &Value, sent: Value) -> PyResult<Option<Value>> {
        let sent = match self.native_await_send(it, sent) {
            Ok(r) => return r,
            Err(sent) => sent,
        };
        let r = if sent.is_none() {
            match it {
                Value::Instance(_) => match lookup_special_on(&class_of(it), "__next__") {
                    Some(next) => self.call(&next, std::slice::from_ref(it)),
                    None => {
                        return Err(err!(
                            TypeError,
                            "'{}' object is not an iterator",
                            type_name(it)
                        ))
                    }
                },
                _ => {
                    let r = self.iter_next(it)?;
                    self.yield_from_result = Value::None;
                    return Ok(r);
                }
            }
        } else {
            let send = self.getattr(it, "send")?;
            self.call(&send, &[sent])
        };
        self.finished_on_stop(r)
    }

    /// A delegate's step result: `StopIteration(value)` means it finished returning `value`.
    fn finished_on_stop(&mut self, r: PyResult<Value>) -> PyResult<Option<Value>> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is(ExcKind::StopIteration) => {
                self.yield_from_result = e.args().into_iter().next().unwrap_or(Value::None);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// `throw(exc)` into a generator or coroutine whose frame is suspended: when it is awaiting
    /// (suspended in `YieldFrom`), the exception goes to the awaited object first; only if that
    /// raises does it surface in this frame (CPython's `gen_throw` with `yf`).
    pub(crate) fn gen_throw_frame(
        &mut self,
        g: &Ref<Generator>,
        frame: Box<Frame>,
        exc: PyErr,
    ) -> PyResult<Option<Value>> {
        let Some(delegate) = frame_delegate(&frame) else {
            return self.gen_run(g, frame, Some(exc));
        };
        let r = if exc.is(ExcKind::GeneratorExit) {
            // close() closes the delegate, then raises GeneratorExit here.
            match self.close_delegate(&delegate) {
                Ok(()) => Err(exc),
                Err(e) => Err(e),
            }
        } else {
            self.throw_into(&delegate, exc)
        };
        self.gen_after_delegate(g, frame, r)
    }

    /// `throw()` given arguments that are no exception to throw (`refused`: CPython's
    /// TypeError): the innermost generator of a `yield from`/`await` chain raises it without
    /// being resumed, and each generator delegating to it gets it raised at its `yield from`,
    /// as CPython's recursive throw does (the caller sees it only if none catches it).
    pub(crate) fn gen_throw_refused(
        &mut self,
        g: &Ref<Generator>,
        refused: PyErr,
    ) -> PyResult<Option<Value>> {
        let suspended = matches!(*g.status.lock(), GenStatus::Suspended);
        let delegate = match g.frame.lock().as_deref() {
            Some(f) if suspended => frame_delegate(f),
            _ => None,
        };
        let Some(Value::Generator(d)) = delegate else {
            return Err(refused);
        };
        let Some(mut frame) = g.frame.lock().take() else {
            return Err(refused);
        };
        *g.status.lock() = GenStatus::Running;
        let r = self.gen_throw_refused(&d, refused);
        if r.is_err() {
            // CPython lets go of the delegate before raising here: one nothing else holds is
            // closed first (its `finally` runs before this frame's handler).
            drop(d);
            frame.stack.pop();
            self.run_finalizers();
        }
        self.gen_after_delegate(g, frame, r)
    }

    /// Where a generator suspended in `YieldFrom` goes on once its delegate was thrown into:
    /// suspended again if the delegate yielded, past the `YieldFrom` with its result if it
    /// returned, and the delegate's error raised in the frame otherwise.
    fn gen_after_delegate(
        &mut self,
        g: &Ref<Generator>,
        mut frame: Box<Frame>,
        r: PyResult<Option<Value>>,
    ) -> PyResult<Option<Value>> {
        match r {
            Ok(Some(v)) => {
                *g.frame.lock() = Some(frame);
                *g.status.lock() = GenStatus::Suspended;
                Ok(Some(v))
            }
            Ok(None) => {
                // The delegate finished: its result is the value of the `YieldFrom`.
                frame.stack.pop();
                frame.ip += 1;
                let result = std::mem::take(&mut self.yield_from_result);
                frame.stack.push(result);
                self.gen_run(g, frame, None)
            }
            Err(e) => self.gen_run(g, frame, Some(e)),
        }
    }

    /// `delegate.throw(exc)`: `Some(v)` if it yields v, `None` if it returns.
    pub(crate) fn throw_into(&mut self, delegate: &Value, exc: PyErr) -> PyResult<Option<Value>> {
        if let Value::Generator(d) = delegate {
            let d = d.clone();
            return self.gen_throw(&d, exc);
        }
        let Some(throw) = class_of(delegate).lookup("throw") else {
            return Err(exc);
        };
        let r = self.call(&throw, &[delegate.clone(), exc.value()]);
        self.finished_on_stop(r)
    }

    /// `delegate.close()`, if it has one.
    pub(crate) fn close_delegate(&mut self, delegate: &Value) -> PyResult<()> {
        if let Value::Generator(d) = delegate {
            let d = d.clone();
            return self.gen_close(&d);
        }
        match class_of(delegate).lookup("close") {
            Some(close) => self.call(&close, std::slice::from_ref(delegate)).map(drop),
            None => Ok(()),
        }
    }
}

/// The attribute prefix of each kind: `gi_running`, `cr_running`, `ag_running`.
fn state_prefix(kind: GenKind) -> &'static str {
    match kind {
        GenKind::Generator => "gi_",
        GenKind::Coroutine => "cr_",
        GenKind::AsyncGenerator => "ag_",
    }
}

/// Whether `name` is one of the state attributes minivm gives a generator of this kind:
/// `gi_running`/`gi_suspended`/`gi_yieldfrom`, `cr_running`/`cr_suspended`/`cr_await`,
/// `ag_running`/`ag_await`, and each kind's `_code` and `_frame`.
pub(crate) fn is_state_attr(g: &Generator, name: &str) -> bool {
    let Some(field) = name.strip_prefix(state_prefix(g.kind)) else {
        return false;
    };
    if matches!(field, "code" | "frame") {
        return true;
    }
    match g.kind {
        GenKind::Generator => matches!(field, "running" | "suspended" | "yieldfrom"),
        GenKind::Coroutine => matches!(field, "running" | "suspended" | "await"),
        GenKind::AsyncGenerator => matches!(field, "running" | "await"),
    }
}

/// The value of a state attribute (see [`is_state_attr`]): whether the frame runs or is
/// suspended, the object it awaits (`yield from`s) while suspended, else None; its code object
/// and, until it finishes, a frame object (`builtins/frames.rs`; None once it is done, which is
/// how `inspect.getgeneratorstate` tells a closed generator from a new one).
pub(crate) fn state_attr(interp: &Interp, g: &Ref<Generator>, name: &str) -> Value {
    let field = name.strip_prefix(state_prefix(g.kind)).unwrap_or(name);
    match field {
        "code" => crate::builtins::eval::code_value(&g.code),
        "frame" if matches!(*g.status.lock(), GenStatus::Done) => Value::None,
        "frame" => crate::builtins::generator_frame(interp, g),
        "running" => Value::Bool(matches!(*g.status.lock(), GenStatus::Running)),
        "suspended" => Value::Bool(matches!(*g.status.lock(), GenStatus::Suspended)),
        _ => suspended_delegate(g).unwrap_or(Value::None),
    }
}

/// The object a suspended generator or coroutine is delegating to (`yield from` / `await`), if any.
fn suspended_delegate(g: &Generator) -> Option<Value> {
    if !matches!(*g.status.lock(), GenStatus::Suspended) {
        return None;
    }
    g.frame.lock().as_deref().and_then(frame_delegate)
}

/// A frame parked on `YieldFrom` (which runs again on resume) has its delegate on top of the stack.
pub(crate) fn frame_delegate(frame: &Frame) -> Option<Value> {
    match frame.code.ops.get(frame.ip) {
        Some(Op::YieldFrom) => frame.stack.last().cloned(),
        _ => None,
    }
}
