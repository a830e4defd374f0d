//! Stage 4 (VM), the interpreter.
//! The dispatch loop: fetch an instruction, run its arm, repeat. Each arm is a few lines; the work
//! is in named helpers (`ops.rs`, `call.rs`, ...).
//!
//! Calls between Python functions do not recurse in Rust: the caller's frame is parked on
//! `Interp::frames` and the loop continues with the callee. Only native code calling back into Python
//! (`sorted(key=...)`, `list(generator)`) starts a nested loop through `run_frame`.

use std::sync::atomic::Ordering;

use minivm_compiler::bytecode::{BinOp, CmpOp, Local, Op, Reg};

use crate::builtins::functions::{builtin_len, is_len};
use crate::heap::Ref;
use crate::interp::attr::{
    instance_value_cached, instance_value_with, module_value_cached, push_instance_value_cached,
    store_instance_value_cached, update_instance_value_cached, AttrRead, NameOperand,
};
use crate::interp::call::{getitem_method, hot_method, HOT_METHODS};
use crate::interp::code::{Code, CodeBody};
use crate::interp::frame::{Frame, Handler, Resumed};
use crate::interp::subscr::seq_index;
use crate::interp::Interp;
use crate::object::{GenKind, GenStatus, HashKey, TraceEntry};
use crate::value::Value;
use crate::{err, PyErr, PyResult};

/// How a run of frames ended.
pub enum Exit {
    Return(Value),
    /// A generator frame yielded; the frame comes back so the generator can resume it later.
    Yield(Value, Box<Frame>),
}

pub(crate) enum Flow {
    Return(Value),
    Yield(Value),
    /// From `cold_op`: run this frame (a generator's, `enter_generator`) on top of the
    /// current one. Never leaves the dispatch loop.
    Push(Box<Frame>),
    /// As `Push`, for a frame itself parked on a `YieldFrom` (`Frame::parked`):
    /// `push_yield_from_chain`.
    PushChain(Box<Frame>),
    /// From `cold_op`: call this frame (a function's, its arguments bound), as `Call` does.
    /// Never leaves the dispatch loop.
    Call(Box<Frame>),
}

/// A register instruction's second operand, as its opcode says: a local slot or a constant.
#[derive(Clone, Copy)]
enum Second {
    Local(Reg),
    Const(Reg),
}

#[cold]
#[inline(never)]
fn recursion_error() -> PyErr {
    err!(RecursionError, "maximum recursion depth exceeded")
}

pub(crate) fn stack_underflow() -> PyErr {
    err!(SystemError, "bytecode popped an empty stack")
}

impl Interp {
    /// Run `frame` (and whatever it calls) until it returns or, for a generator, yields.
    pub fn run_frame(&mut self, frame: Box<Frame>) -> PyResult<Exit> {
        self.run_frame_throwing(frame, None)
    }

    /// As `run_frame`, but first raise `throw` at the frame's current instruction (how
    /// `generator.throw()` and `close()` resume a suspended generator). Inlined into its two
    /// callers: a generator resumed by native code (`next(g)`, `sum(g)`: `gen_run`) then
    /// enters the dispatch loop one Rust call shallower.
    #[inline(always)]
    pub(crate) fn run_frame_throwing(
        &mut self,
        mut frame: Box<Frame>,
        throw: Option<PyErr>,
    ) -> PyResult<Exit> {
        // A nested loop recurses in Rust: bounded by the recursion limit and the stack guard.
        self.enter_recursion("")?;
        if self.profiling {
            crate::stdlib::lsprof::fresh_frame(self.depth);
        }
        let base = self.frames.len();
        if let Some(e) = throw {
            if let Err(e) = self.unwind(&mut frame, e, base) {
                self.depth -= 1;
                self.recycle(frame);
                return Err(e);
            }
        }
        loop {
            match self.dispatch(&mut frame, base) {
                Ok(Flow::Return(v)) => {
                    self.depth -= 1;
                    self.recycle(frame);
                    return Ok(Exit::Return(v));
                }
                Ok(Flow::Yield(v)) => {
                    self.depth -= 1;
                    return Ok(Exit::Yield(v, frame));
                }
                Ok(Flow::Push(_) | Flow::PushChain(_) | Flow::Call(_)) => {
                    self.depth -= 1;
                    self.recycle(frame);
                    return Err(err!(SystemError, "a frame pushed out of the dispatch loop"));
                }
                Err(e) => {
                    if let Err(e) = self.unwind(&mut frame, e, base) {
                        self.depth -= 1;
                        self.recycle(frame);
                        return Err(e);
                    }
                }
            }
        }
    }

    /// One more Python frame deep, or `RecursionError` past `sys.getrecursionlimit()`. Inlined:
    /// every call between Python functions takes it.
    #[inline(always)]
    pub(crate) fn enter_depth(&mut self) -> PyResult<()> {
        if self.depth >= self.vm.recursion_limit.load(Ordering::Relaxed) {
            return Err(recursion_error());
        }
        self.depth += 1;
        Ok(())
    }

    /// Find a handler for `err`: in this frame, else in its callers down to `base`. On success the
    /// frame is positioned at the handler with the exception on the stack.
    fn unwind(&mut self, frame: &mut Box<Frame>, mut err: PyErr, base: usize) -> PyResult<()> {
        loop {
            self.add_traceback(frame, &err);
            if let Some(Handler { target, depth }) = frame.handlers.pop() {
                frame.stack.truncate(depth as usize);
                frame.stack.push(err.value());
                frame.ip = target as usize;
                return Ok(());
            }
            if self.frames.len() == base {
                return Err(err);
            }
            self.depth -= 1;
            let Some(caller) = self.frames.pop() else {
                return Err(err);
            };
            let mut done = std::mem::replace(frame, caller);
            if done.resumed.is_generator() {
                // A generator a `for` resumed raised: it is done, and the error goes on in the
                // `for`'s frame (a `StopIteration` as `RuntimeError`, PEP 479), as from `gen_run`.
                if let Some(own) = self.leave_inline(&mut done) {
                    own.discard();
                }
                if let Some(Value::Generator(g)) = frame.stack.last() {
                    *g.status.lock() = GenStatus::Done;
                }
                err = self.stop_escaping(GenKind::Generator, err);
            } else {
                if matches!(done.resumed, Resumed::Property | Resumed::PropertyReturn) {
                    self.getter_raised(frame, &done, &err);
                } else if done.resumed == Resumed::Init {
                    // The class call's level `try_push_init` took.
                    self.leave_recursion();
                }
                self.cur_exc = done.saved_exc.take();
            }
            self.recycle(done);
        }
    }

    /// The generator frame running, resumed in this loop (`Frame::resumed`), yielded `v`: it
    /// goes back into its generator, and the `for` below it receives `v` (`None` returned), or
    /// the generator below, parked on its `YieldFrom` again, yields `v` in turn: in this loop
    /// too if it was resumed in it, else out of the loop (`Some(v)` returned, for `Flow::Yield`).
    #[inline(never)]
    fn yield_inline(&mut self, frame: &mut Box<Frame>, v: Value) -> PyResult<Option<Value>> {
        loop {
            let by = frame.resumed;
            if !by.is_generator() {
                return Ok(Some(v));
            }
            let Some(caller) = self.frames.pop() else {
                return Err(err!(SystemError, "a resumed generator without its resumer"));
            };
            self.depth -= 1;
            let mut gframe = std::mem::replace(frame, caller);
            if by.swapped() {
                gframe.resumed = Resumed::No;
                gframe.saved_exc = self.leave_generator_exc();
                gframe.set_extras();
            } else {
                // `leave_inline` without the swap: the generator's own exception, if it
                // handles one, is kept in its frame (both tested first: usually neither
                // holds one, and a move of nothing stored and tested an empty value).
                gframe.resumed = Resumed::No;
                if self.cur_exc.is_some() || gframe.saved_exc.is_some() {
                    gframe.saved_exc = self.cur_exc.take();
                    gframe.set_extras();
                }
            }
            let Some(Value::Generator(g)) = frame.stack.last() else {
                return Err(err!(
                    SystemError,
                    "a resumed generator not under its resumer"
                ));
            };
            // The model tested once for the two cells.
            match crate::heap::gil_model() {
                Some(gil) => crate::interp::call::suspend_yielded(gil, g, gframe),
                None => crate::interp::call::suspend_yielded(crate::heap::AnyModel, g, gframe),
            }
            if by.by_for() {
                self.finish_for(frame, Some(v))?;
                return Ok(None);
            }
            // Parked on the `YieldFrom` again, which runs once more on resume.
            frame.ip -= 1;
            frame.parked = true;
        }
    }

    /// The frame of the generator `f` is about to resume, to run in this loop, if it can:
    /// for a `for` (`by_for`), the iterator on top of the stack; for `YieldFrom`, the delegate
    /// under the value sent (which goes in). `None` leaves the instruction to its general path.
    #[inline(never)]
    pub(crate) fn enter_generator(&mut self, f: &mut Frame, by_for: bool) -> Option<Box<Frame>> {
        if self.depth >= self.vm.recursion_limit.load(Ordering::Relaxed) {
            return None;
        }
        let gframe = match (by_for, &mut f.stack[..]) {
            (true, [.., Value::Generator(g)]) if g.kind == GenKind::Generator => {
                self.gen_enter_inline(g, None, true)?
            }
            (false, [.., Value::Generator(g), sent]) if g.kind == GenKind::Generator => {
                self.gen_enter_inline(g, Some(sent), false)?
            }
            _ => return None,
        };
        if !by_for {
            // The sent value went in; its slot is empty.
            if let Some(slot) = f.stack.pop() {
                slot.discard();
            }
        }
        Some(gframe)
    }

    /// `Flow::PushChain`: `gframe`, a generator frame just resumed by a `YieldFrom`, runs on
    /// top of `frame`, as for `Flow::Push`. It was parked on a `YieldFrom` in turn
    /// (`Frame::parked`): when that instruction is next and its delegate is a generator, it
    /// runs here, as the loop would run it next, and so on down the chain. Every level of a
    /// recursive `yield from` (the generators kernel's `tree`) runs its `YieldFrom` again at
    /// each item; here that costs no pass through the loop's head, dispatch and `cold_op`.
    /// Not when the loop observes each instruction (`descend` false: tracing, profiling,
    /// counting), which must see those `YieldFrom`s.
    #[inline(never)]
    fn push_yield_from_chain(&mut self, frame: &mut Box<Frame>, gframe: Box<Frame>, descend: bool) {
        self.depth += 1;
        let caller = std::mem::replace(frame, gframe);
        crate::heap::push_inline(&mut self.frames, caller);
        if !descend {
            return;
        }
        loop {
            let f: &mut Frame = frame;
            if !matches!(f.code.ops.get(f.ip), Some(Op::YieldFrom)) {
                return;
            }
            // As the loop: `ip` past the instruction while it runs.
            f.ip += 1;
            let Some(mut gframe) = self.enter_generator(f, false) else {
                // The general path (`cold_op`) runs it.
                f.ip -= 1;
                return;
            };
            let parked = std::mem::take(&mut gframe.parked);
            self.depth += 1;
            let caller = std::mem::replace(frame, gframe);
            crate::heap::push_inline(&mut self.frames, caller);
            if !parked {
                return;
            }
        }
    }

    /// `done`, a generator frame resumed in this loop (`Frame::resumed`), returned `v`: the
    /// generator is finished, and the instruction that resumed it completes in `frame`: a `for`
    /// ends, a `YieldFrom` has `v` for result.
    #[inline(never)]
    fn return_inline(
        &mut self,
        frame: &mut Box<Frame>,
        mut done: Box<Frame>,
        v: Value,
    ) -> PyResult<()> {
        // A getter run for a `RETURN_ATTR_LOCAL` (`return self.prop`): the frame that read the
        // property returns its value in turn, and so on while that frame is itself such a
        // getter (a loop: a chain of them may be long). Such a frame is never the loop's first
        // (`return_attr_or_getter`), so its caller is on `Interp::frames`.
        while done.resumed == Resumed::PropertyReturn {
            self.cur_exc = done.saved_exc.take();
            self.recycle(done);
            self.depth -= 1;
            let Some(caller) = self.frames.pop() else {
                v.discard();
                return Err(err!(
                    SystemError,
                    "a property getter's reader without a caller"
                ));
            };
            done = std::mem::replace(frame, caller);
            if done.resumed == Resumed::No {
                if done.saved_exc.is_some() || self.cur_exc.is_some() {
                    self.cur_exc = done.saved_exc.take();
                }
                self.recycle(done);
                frame.stack.push(v);
                return Ok(());
            }
        }
        if done.resumed == Resumed::Store {
            // A `__setitem__` (`STORE_SUBSCR`): its value goes.
            self.cur_exc = done.saved_exc.take();
            self.recycle(done);
            v.discard();
            return Ok(());
        }
        if done.resumed == Resumed::Len {
            // A `__len__` (`len(obj)`): its value checked as `builtins::functions::length`
            // checks it.
            self.cur_exc = done.saved_exc.take();
            self.recycle(done);
            let n = crate::builtins::functions::len_value(self, v)?;
            frame.stack.push(Value::Int(n));
            return Ok(());
        }
        if done.resumed == Resumed::Property {
            // A property's getter (`LOAD_ATTR`): its value is the attribute's.
            self.cur_exc = done.saved_exc.take();
            self.recycle(done);
            frame.stack.push(v);
            return Ok(());
        }
        if done.resumed == Resumed::Init {
            // A class call's `__init__`: the call's value is the instance; the class call's
            // recursion level (`try_push_init`) is given back.
            self.leave_recursion();
            self.cur_exc = done.saved_exc.take();
            let made = done.made.take();
            self.recycle(done);
            // `None`, the usual answer, tested inline (no call).
            if v.is_none() {
                v.discard();
            } else {
                crate::interp::call::init_returned(v)?;
            }
            let Some(obj) = made else {
                return Err(err!(SystemError, "__init__ frame without its instance"));
            };
            obj.note_attr_count();
            frame.stack.push(Value::Instance(obj));
            return Ok(());
        }
        let by_for = done.resumed.by_for();
        if let Some(own) = self.leave_inline(&mut done) {
            own.discard();
        }
        if let Some(Value::Generator(g)) = frame.stack.last() {
            *g.status.lock() = GenStatus::Done;
        }
        self.recycle(done);
        if by_for {
            v.discard();
            return self.finish_for(frame, None);
        }
        // `frame.ip` is past the `YieldFrom`; its delegate goes.
        if let Some(it) = frame.stack.pop() {
            it.discard();
        }
        frame.stack.push(v);
        Ok(())
    }

    /// Complete the `for` instruction before `frame.ip`, whose generator (run in this loop,
    /// `gen_enter_inline`) produced `item`, or finished (`None`), as `for_iter_next`'s answer
    /// would have.
    #[inline(always)]
    fn finish_for(&mut self, frame: &mut Frame, item: Option<Value>) -> PyResult<()> {
        match item {
            Some(v) => for_item(frame, v),
            None => for_done(frame),
        }
    }

    fn add_traceback(&mut self, frame: &mut Frame, err: &PyErr) {
        let whole_statement = std::mem::take(&mut self.whole_statement);
        if std::mem::take(&mut self.reraising) {
            return;
        }
        if let Some(data) = err.exc.exc() {
            let fresh = data.lock().traceback.is_empty();
            if fresh {
                // A new exception raised while another is handled remembers it as `__context__`.
                self.chain_context(err, self.handled_exc());
            }
            // A library function standing in for C code has no frame in CPython's traceback:
            // the entry goes to its caller, as if the error were raised there.
            if crate::interp::traceback_hidden::hidden(&frame.code) {
                return;
            }
            let lookup = crate::interp::carets::method_lookup_failed(frame, err, fresh);
            let span = if whole_statement {
                self.statement_span(frame)
            } else if fresh
                && (err.is(crate::object::ExcKind::UnboundLocalError)
                    || (err.is(crate::object::ExcKind::NameError)
                        && matches!(
                            frame.code.ops.get(frame.ip.wrapping_sub(1)),
                            Some(Op::SubscrDerefLocal(..))
                        )))
            {
                // (An empty cell read by `SubscrDerefLocal`, whose span is the subscript's:
                // CPython's `LOAD_DEREF` underlines the name.)
                self.unbound_local_span(frame, err)
            } else {
                frame.span()
            };
            let locals = Some(crate::interp::exc::traced_locals(frame));
            data.lock().traceback.push(TraceEntry {
                filename: frame.code.obj.filename.clone(),
                line: frame.line(),
                func: frame.code.name.clone(),
                span,
                lookup,
                locals,
            });
        }
    }

    /// Where an `UnboundLocalError` raised by the running instruction of `frame` points: the
    /// local's name (from the message) within the instruction's span (`carets::local_span`),
    /// as CPython's `LOAD_FAST` and `DELETE_FAST` underline the name alone.
    #[cold]
    fn unbound_local_span(&self, frame: &Frame, err: &PyErr) -> (u32, u32) {
        let span = frame.span();
        let Some(data) = err.exc.exc() else {
            return span;
        };
        let name = match data.lock().args.first() {
            Some(Value::Str(m)) => m.as_str().split('\'').nth(1).map(str::to_owned),
            _ => None,
        };
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return span;
        };
        let sources = self.vm.sources.lock();
        match sources.iter().find(|(f, _)| *f == frame.code.obj.filename) {
            Some((_, src)) => crate::interp::carets::local_span(src, span, &name),
            None => span,
        }
    }

    /// The whole statement of the augmented assignment `frame` was running, whose span is its
    /// target's (`carets::statement_span`): where CPython reports an error of the operator.
    #[cold]
    fn statement_span(&self, frame: &Frame) -> (u32, u32) {
        let sources = self.vm.sources.lock();
        match sources.iter().find(|(f, _)| *f == frame.code.obj.filename) {
            Some((_, src)) => crate::interp::carets::statement_span(src, frame.span()),
            None => (0, 0),
        }
    }

    /// Keep a finished frame (emptied, with its vectors' capacity) for the next call.
    pub(crate) fn recycle(&mut self, frame: Box<Frame>) {
        self.recycle_inline(frame)
    }

    /// `recycle`, inlined into the return path of the dispatch loop.
    #[inline(always)]
    fn recycle_inline(&mut self, mut frame: Box<Frame>) {
        if self.frame_pool.has_room() {
            frame.reset();
            self.frame_pool.push(frame);
        } else {
            drop_unkept(frame);
        }
    }

    /// Park the running frame and make `callee` the running one.
    #[inline(always)]
    fn push_frame<const OBSERVED: bool>(
        &mut self,
        frame: &mut Box<Frame>,
        callee: Box<Frame>,
    ) -> PyResult<()> {
        // Function entry is an eval-breaker check point (as in CPython), taken before the switch so
        // an exception here is raised in the caller, where the call is.
        if breaker_up() {
            if let Err(e) = self.handle_eval_breaker(frame) {
                if callee.resumed == Resumed::Init {
                    // The class call's level `try_push_init` took.
                    self.leave_recursion();
                }
                return Err(e);
            }
            if !OBSERVED && self.profiling {
                return self.push_frame_switching(frame, callee);
            }
        }
        if OBSERVED && !self.wants_observed() {
            return self.push_frame_switching(frame, callee);
        }
        self.enter_depth()?;
        let caller = std::mem::replace(frame, callee);
        crate::heap::push_inline(&mut self.frames, caller);
        Ok(())
    }

    /// `push_frame` at a check point that changes the loop's instance (`switch_loops`): the
    /// callee runs from its first instruction in the other one.
    #[cold]
    #[inline(never)]
    fn push_frame_switching(&mut self, frame: &mut Box<Frame>, callee: Box<Frame>) -> PyResult<()> {
        self.enter_depth()?;
        let caller = std::mem::replace(frame, callee);
        self.frames.push(caller);
        Err(self.switch_loops(self.depth - 1))
    }

    /// Whether this thread needs the observed instance of the dispatch loop.
    #[inline(always)]
    pub(crate) fn wants_observed(&self) -> bool {
        self.tracing || self.profiling || self.vm.config.count_instructions
    }

    /// A check point of the dispatch loop found it running the wrong instance: `cProfile`'s
    /// `Profile.enable()` turned profiling on while the ordinary loop ran (it keeps the eval
    /// breaker raised, `stdlib/lsprof.rs`), or `disable()` turned it off while the observed one
    /// ran. The loop returns the error made here, with its frame ready to go on; `dispatch`
    /// runs it again in the instance wanted. `depth`: the running frame that began before the
    /// switch, whose calls the profiler does not see begin.
    #[cold]
    #[inline(never)]
    pub(crate) fn switch_loops(&mut self, depth: usize) -> PyErr {
        self.loop_switch = Some(depth);
        err!(SystemError, "the dispatch loop changes instance")
    }

    /// Run frames until the one at `base` returns or yields. Tracing and `--stats` run a second
    /// instance of the loop (`OBSERVED`), so the ordinary one pays nothing for them.
    /// A check point may change the instance (`switch_loops`).
    #[inline(always)]
    fn dispatch(&mut self, frame: &mut Box<Frame>, base: usize) -> PyResult<Flow> {
        let r = self.dispatch_once(frame, base);
        // Only an error can be a switch: the usual return pays one test of `is_err`.
        if r.is_err() && self.loop_switch.is_some() {
            return self.dispatch_switched(frame, base);
        }
        r
    }

    #[inline(always)]
    fn dispatch_once(&mut self, frame: &mut Box<Frame>, base: usize) -> PyResult<Flow> {
        if self.wants_observed() {
            self.dispatch_loop::<true>(frame, base)
        } else {
            self.dispatch_loop::<false>(frame, base)
        }
    }

    /// `dispatch` after a check point changed the loop's instance: run on in the other one
    /// (and again, as often as the program switches profiling on and off).
    #[cold]
    #[inline(never)]
    fn dispatch_switched(&mut self, frame: &mut Box<Frame>, base: usize) -> PyResult<Flow> {
        while let Some(depth) = self.loop_switch.take() {
            if self.profiling {
                crate::stdlib::lsprof::running_before(depth);
            }
            let r = self.dispatch_once(frame, base);
            if !(r.is_err() && self.loop_switch.is_some()) {
                return r;
            }
        }
        Err(err!(SystemError, "the dispatch loop lost its switch"))
    }

    /// The loop proper. Its state lives in locals, as Lua's `luaV_execute` keeps `pc` and `base`:
    /// `ip`, the instruction slice and the constants. `ip` is written back to the frame (`sync!`)
    /// only where someone may read it there: before a call or anything that may run Python code
    /// or inspect frames, a yield, and an error (its traceback line and handler search use it).
    // The arms pass `&code` to helpers taking the body: `code` is a `&CodeBody` now (it was the
    // `Ref<Code>`), and the extra borrow costs nothing.
    #[allow(clippy::needless_borrow)]
    fn dispatch_loop<const OBSERVED: bool>(
        &mut self,
        frame: &mut Box<Frame>,
        base: usize,
    ) -> PyResult<Flow> {
        // The running frame's code, held apart from the frame so the loop can borrow it while
        // it changes the frame. Kept across a frame switch when the new frame runs the same code
        // (a recursive call, its return, a recursive generator), so no count changes then.
        let mut code_ref = frame.code.clone();
        // The code the loop ran before `code_ref`, kept: a call and its return switch between
        // two codes, and switching back to the kept one swaps the two, with no count changed
        // (a clone and a drop per switch otherwise: callgrind counts 32 fewer machine
        // instructions per method call and return, 32 per function call). It keeps that code
        // alive until the loop moves to a third one or ends; code objects run nothing when
        // freed.
        let mut other_code: Option<Ref<Code>> = None;
        'frames: loop {
            switch_code(&mut code_ref, &mut other_code, &frame.code);
            // The body, reached once per frame switch (each `Deref` of a `Code` checks that its
            // body is decoded): the arms read instructions, constants, names and caches here.
            // Reassigned in place by `enter_frame!` at a call or return.
            let mut code: &CodeBody = &code_ref;
            let mut ops = &code.ops[..];
            let mut consts = &code.consts[..];
            let mut f: &mut Frame = frame;
            let mut ip = f.ip;
            // The running frame changed (`frame` now a called function's frame, or the caller
            // a return went back to): reload the loop's state from it and go on with its next
            // instruction, without going back through the top of `'frames` (as Lua's
            // `luaV_execute` jumps to `startfunc`/`ret`). Only the calls and returns use it:
            // the rarer switches (generators, getters, cold opcodes) through it too measured
            // dearer (docs/BENCHMARKS.md, "Frame switches inside the dispatch loop").
            macro_rules! enter_frame {
                () => {{
                    switch_code(&mut code_ref, &mut other_code, &frame.code);
                    code = &code_ref;
                    ops = &code.ops[..];
                    consts = &code.consts[..];
                    f = frame;
                    ip = f.ip;
                    continue;
                }};
            }
            // `expr?` that saves `ip` first; `pop!`/`top!` likewise.
            macro_rules! sync {
                () => {
                    f.ip = ip
                };
            }
            macro_rules! tri {
                ($e:expr) => {
                    match $e {
                        Ok(v) => v,
                        Err(e) => {
                            std::hint::cold_path();
                            sync!();
                            return Err(e);
                        }
                    }
                };
            }
            // A conditional jump: `ip` moves to `$l` when `$cond` holds. Written so that LLVM
            // emits a branch the processor predicts, not a conditional move (`cmov`): with a
            // `cmov` the next instruction's address waits for the condition (the division of
            // `n % i == 0`), so the next instruction cannot start until it is known and loop
            // iterations run one after another. The seed's factorize loop ran 1.8x Lua's time
            // that way on an Intel Xeon with Lua's instruction count. `cold_path` on the
            // fall-through is what keeps the branch (LLVM turns a branch it thinks unpredictable
            // into a `cmov`); both sides end in a jump to the dispatch, so the hint costs no
            // layout.
            macro_rules! jump_if {
                ($cond:expr, $l:expr) => {
                    if $cond {
                        ip = $l;
                    } else {
                        std::hint::cold_path();
                    }
                };
            }
            // `bool(v)`: the common kinds inline, the rest (`__bool__`, `__len__`) out of line.
            macro_rules! truth {
                ($v:expr) => {
                    match truth_fast($v) {
                        Some(t) => t,
                        None => {
                            sync!();
                            tri!(self.truthy($v))
                        }
                    }
                };
            }
            macro_rules! pop {
                () => {
                    tri!(f.stack.pop().ok_or_else(stack_underflow))
                };
            }
            // A binary operator's work: pop the right and left operands, apply `op` (the fast
            // path for numbers first), giving the result. Otherwise `binary_in_frame`, in place
            // if `$inplace`, with `$next` the instruction that will take the result (`s += t`
            // grows a str held only by the slot `StoreLocal` writes).
            // `$whole`: an error of the operator spans the whole statement (`whole_statement`),
            // for the fused `x[i] op= v` and `o.g op= v`, whose span is the target's.
            macro_rules! binary_operands {
                ($op:expr, $inplace:expr, $next:expr) => {
                    binary_operands!($op, $inplace, $next, false)
                };
                ($op:expr, $inplace:expr, $next:expr, $whole:expr) => {{
                    let b = pop!();
                    let a = pop!();
                    let r = match arith_fast($op, &a, &b) {
                        // Discarded here: left to the end of the block, `a` (moved on the
                        // other path) is dropped through an out-of-line drop-glue call, about
                        // 10 machine instructions per `x + y` (callgrind).
                        Some(r) => {
                            a.discard();
                            r
                        }
                        None => {
                            sync!();
                            match self.binary_in_frame(f, $next, $op, a, &b, $inplace) {
                                Ok(r) => r,
                                Err(e) => {
                                    std::hint::cold_path();
                                    if $whole {
                                        self.whole_statement = true;
                                    }
                                    return Err(e);
                                }
                            }
                        }
                    };
                    b.discard();
                    r
                }};
            }
            // The register instructions' fast path: both operands ints (a local slot, then a
            // slot or constant as `$second` says) and the result exact; the arm's general path
            // runs otherwise.
            macro_rules! int_operands {
                ($a:expr, Local($b:expr)) => {
                    match (f.locals.get($a.index()), f.locals.get($b.index())) {
                        (Some(&Value::Int(x)), Some(&Value::Int(y))) => Some((x, y)),
                        _ => None,
                    }
                };
                ($a:expr, Const($c:expr)) => {
                    match (f.locals.get($a.index()), consts.get($c.index())) {
                        (Some(&Value::Int(x)), Some(&Value::Int(y))) => Some((x, y)),
                        _ => None,
                    }
                };
            }
            // The register instructions' second fast path, taken where `int_operands!` found
            // no pair of ints: both operands floats, or a float and an int (converted to the
            // nearest float, as CPython does). The arm's general path runs otherwise.
            macro_rules! float_operands {
                ($a:expr, Local($b:expr)) => {
                    float_pair(f.locals.get($a.index()), f.locals.get($b.index()))
                };
                ($a:expr, Const($c:expr)) => {
                    float_pair(f.locals.get($a.index()), consts.get($c.index()))
                };
            }
            // The register arithmetic arms, written once over their second operand, a slot
            // (`Local(b)`) or a constant (`Const(c)`): two ints, then two floats (or a float and
            // an int) inline, anything else through `binary_regs`/`inplace_regs`.
            // `binary_push!`: `locals[a] op second` pushed (`BINARY_LOCALS`, `BINARY_LOCAL_CONST`).
            macro_rules! binary_push {
                ($op:expr, $a:expr, $kind:ident($b:expr)) => {{
                    let r = match int_arith_pair($op, int_operands!($a, $kind($b))) {
                        Some(r) => Value::Int(r),
                        None => match float_arith_pair($op, float_operands!($a, $kind($b))) {
                            Some(r) => Value::Float(r),
                            None => {
                                sync!();
                                tri!(self.binary_regs(
                                    f,
                                    &code,
                                    ops.get(ip),
                                    $op,
                                    $a,
                                    Second::$kind($b)
                                ))
                            }
                        },
                    };
                    f.stack.push(r);
                }};
            }
            // `numbers_into!`: the fast path `binary_store!` and `inplace_regs!` share: two ints
            // or two floats, the result written into slot `d` where it is, and on to the next
            // instruction; anything else falls through to the caller's generic path.
            macro_rules! numbers_into {
                ($op:expr, $a:expr, $kind:ident($b:expr), $d:expr) => {
                    if let Some(r) = int_arith_pair($op, int_operands!($a, $kind($b))) {
                        set_int(&mut f.locals[$d.index()], r);
                        continue;
                    }
                    if let Some(r) = float_arith_pair($op, float_operands!($a, $kind($b))) {
                        set_float(&mut f.locals[$d.index()], r);
                        continue;
                    }
                };
            }
            // `binary_store!`: `locals[d] = locals[a] op second` (`BINARY_LOCALS_STORE`,
            // `BINARY_LOCAL_CONST_STORE`); a number is written into the slot where it is.
            macro_rules! binary_store {
                ($op:expr, $a:expr, $kind:ident($b:expr), $d:expr) => {{
                    numbers_into!($op, $a, $kind($b), $d);
                    sync!();
                    let store = Op::StoreLocal(Local($d.into()));
                    let r =
                        tri!(self.binary_regs(f, &code, Some(&store), $op, $a, Second::$kind($b)));
                    std::mem::replace(&mut f.locals[$d.index()], r).discard();
                }};
            }
            // `inplace_regs!`: `locals[a] op= second` (`INPLACE_LOCALS`, `INPLACE_LOCAL_CONST`).
            macro_rules! inplace_regs {
                ($op:expr, $a:expr, $kind:ident($b:expr)) => {{
                    numbers_into!($op, $a, $kind($b), $a);
                    sync!();
                    tri!(self.inplace_regs(f, &code, $op, $a, Second::$kind($b)));
                }};
            }
            // A check point where the loop may change instance (`switch_loops`) if `$cond`:
            // the instruction runs again in the other one.
            macro_rules! switch_point {
                ($cond:expr) => {
                    if $cond {
                        f.ip = ip - 1;
                        return Err(self.switch_loops(self.depth));
                    }
                };
            }
            // A `for` whose iterator is a generator runs the generator's frame in this loop
            // (`enter_generator`); its yield or return comes back to the instruction
            // (`finish_for`). The check inline is one comparison; the work is out of line.
            macro_rules! resume_generator {
                () => {
                    if let Some(Value::Generator(_)) = f.stack.last() {
                        sync!();
                        if let Some(gframe) = self.enter_generator(f, true) {
                            self.depth += 1;
                            let caller = std::mem::replace(frame, gframe);
                            // As a call parks its caller (`push_frame`): `Vec::push` is
                            // left out of line in this function.
                            crate::heap::push_inline(&mut self.frames, caller);
                            continue 'frames;
                        }
                    }
                };
            }
            // `$obj[$key]` past the fast paths (`Subscr`, `BinarySlice`), giving the item: an
            // instance's Python `__getitem__` runs as a frame of this loop, anything else
            // (an index error included) through `getitem`.
            macro_rules! getitem_general {
                ($obj:expr, $key:expr) => {{
                    let (obj, key): (Value, Value) = ($obj, $key);
                    sync!();
                    let cache = &code.cache[ip - 1];
                    if let Some(callee) = self.try_push_getitem(&obj, &key, cache) {
                        obj.discard();
                        key.discard();
                        self.push_frame::<OBSERVED>(frame, callee)?;
                        enter_frame!();
                    }
                    if let Some(func) = getitem_method(&obj, cache) {
                        let callee = tri!(self.getitem_frame(&mut f.stack, &func, obj, key));
                        self.push_frame::<OBSERVED>(frame, callee)?;
                        continue 'frames;
                    }
                    let r = tri!(self.getitem(&obj, &key));
                    obj.discard();
                    r
                }};
            }
            // `obj[key]` of two borrowed values (locals, a constant) that `item_fast` did not
            // answer: an instance's Python `__getitem__` as a frame entered like a call's
            // (`try_push_getitem`, the usual case), else `getitem_general!`'s other two ways.
            macro_rules! getitem_borrowed {
                ($obj:expr, $key:expr) => {{
                    let (obj, key): (&Value, &Value) = ($obj, $key);
                    let cache = &code.cache[ip - 1];
                    if let Some(callee) = self.try_push_getitem(obj, key, cache) {
                        self.push_frame::<OBSERVED>(frame, callee)?;
                        enter_frame!();
                    }
                    match getitem_method(obj, cache) {
                        Some(func) => {
                            let (obj, key) = (obj.clone(), key.clone());
                            let callee = tri!(self.getitem_frame(&mut f.stack, &func, obj, key));
                            self.push_frame::<OBSERVED>(frame, callee)?;
                            continue 'frames;
                        }
                        None => tri!(self.getitem(obj, key)),
                    }
                }};
            }
            // Return `$v` to the caller: the frame below on `Interp::frames`, or out of this
            // loop when the frame it started with is done.
            macro_rules! return_value {
                ($v:expr) => {{
                    let v = $v;
                    if self.frames.len() == base {
                        return Ok(Flow::Return(v));
                    }
                    self.depth -= 1;
                    let Some(caller) = self.frames.pop() else {
                        return Ok(Flow::Return(v));
                    };
                    let mut done = std::mem::replace(frame, caller);
                    if done.resumed != Resumed::No {
                        self.return_inline(frame, done, v)?;
                    } else {
                        // Usually neither the caller nor the callee handles an exception:
                        // then there is nothing to move (tested, not moved and dropped).
                        if done.saved_exc.is_some() || self.cur_exc.is_some() {
                            self.cur_exc = done.saved_exc.take();
                        }
                        self.recycle_inline(done);
                        crate::heap::push_inline(&mut frame.stack, v);
                    }
                    if crate::interp::coro::drops_pending() {
                        self.after_drops(Some(frame));
                    }
                    enter_frame!();
                }};
            }
            // The instruction is matched through a reference (`match *op`), not copied out
            // first: copied, LLVM decoded all of its fields at the top of the loop (four loads
            // and a shift per instruction) into callee-saved registers that stayed live through
            // every arm. Read through the reference, each arm loads only the fields it uses:
            // kernels 0.0-2.5% fewer instructions (callgrind, 341b743). The error exits of
            // `tri!` are marked cold, so LLVM weighs the arms' fast paths above them when it
            // hands out registers. (`ip` itself stays in a stack slot: a register in some
            // builds, which made factorize 957.6M instructions instead of 984.5M; 971.1M with
            // this and the one-instruction eval-breaker read, 143 per loop iteration; 138 at
            // 04c1bb1c, after the CALL_LOCAL and CALL_METHOD_LOCAL fusions moved code around,
            // by benches/callgrind.sh.)
            loop {
                let Some(op) = ops.get(ip) else {
                    std::hint::cold_path();
                    sync!();
                    return Err(err!(SystemError, "instruction pointer ran off the code"));
                };
                if OBSERVED {
                    // `--stats` counts inline; only `--trace` and the profiler call out (a
                    // call per instruction made a `--stats` run of factorize 42% dearer than
                    // a plain one, callgrind).
                    self.stats.ops[usize::from(op.index())] += 1;
                    if self.tracing | self.profiling {
                        sync!();
                        self.observe(f, *op);
                    }
                }
                ip += 1;
                match *op {
                    Op::Nop => {}
                    Op::Pop => {
                        let v = pop!();
                        // With a class with `__del__` about, a method that dropped an instance
                        // (`items.clear()`) returns an inline None: check anyway.
                        let shared = !v.is_inline()
                            || crate::interp::finalize::ANY_DEL.load(Ordering::Relaxed);
                        v.discard();
                        // `f()` as a statement, `f` an async def: "never awaited" (coro.rs);
                        // `for x in gen(): break`: the generator is closed (finalize.rs).
                        if shared && crate::interp::coro::drops_pending() {
                            sync!();
                            self.after_drops(Some(f));
                        }
                    }
                    Op::Copy(n) => {
                        let len = f.stack.len();
                        let v = match len.checked_sub(n as usize) {
                            Some(i) if n > 0 => f.stack[i].clone(),
                            _ => {
                                sync!();
                                return Err(stack_underflow());
                            }
                        };
                        f.stack.push(v);
                    }
                    Op::Swap(n) => {
                        let len = f.stack.len();
                        if n as usize > len || n == 0 {
                            sync!();
                            return Err(stack_underflow());
                        }
                        f.stack.swap(len - 1, len - n as usize);
                    }
                    Op::Reverse(n) => {
                        let len = f.stack.len();
                        match len.checked_sub(n as usize) {
                            Some(i) => f.stack[i..].reverse(),
                            None => {
                                sync!();
                                return Err(stack_underflow());
                            }
                        }
                    }
                    Op::LoadConst(c) => f.stack.push(consts[c.0 as usize].clone()),
                    Op::LoadLocal(l) => {
                        let v = tri!(self.local(f, &code, l.0)).clone();
                        f.stack.push(v);
                    }
                    Op::LoadLocalPair(a, b) => {
                        let x = tri!(self.local(f, &code, a.into())).clone();
                        let y = tri!(self.local(f, &code, b.into())).clone();
                        f.stack.push(x);
                        f.stack.push(y);
                    }
                    Op::StoreLocal(l) => {
                        let v = pop!();
                        std::mem::replace(&mut f.locals[l.0 as usize], v).discard();
                    }
                    Op::LoadGlobal(n) => {
                        if !self.push_global_hit(&f.globals, code, n.0, ip - 1, &mut f.stack) {
                            sync!();
                            let v = tri!(self.load_global_slow(&f.globals, &code_ref, n.0, ip - 1));
                            f.stack.push(v);
                        }
                    }
                    Op::StoreGlobal(n) => {
                        let v = pop!();
                        sync!();
                        self.store_global_cached(&f.globals, code, n.0, ip - 1, v);
                        // `g = None` at module level frees a generator: closed now (finalize.rs);
                        // a coroutine: reported as never awaited (coro.rs).
                        if crate::interp::finalize::pending() {
                            self.after_drops(Some(f));
                        }
                    }
                    Op::LoadDeref(c) => {
                        // A filled cell's value, inline; an empty cell (or a bad index) is
                        // reported by `load_deref`.
                        let v = match f.cells.get(c.0 as usize) {
                            Some(cell) => cell.get(),
                            None => Value::Undefined,
                        };
                        let v = match v {
                            Value::Undefined => tri!(self.load_deref(f, &code, c.0)),
                            v => v,
                        };
                        f.stack.push(v);
                    }
                    Op::StoreDeref(c) => {
                        let v = pop!();
                        tri!(self.cell(f, c.0)).set(v);
                    }
                    instr @ (Op::Binary(op) | Op::InPlace(op)) => {
                        // Two numbers on top (the fast path's only operands): the result
                        // replaces the left one where it is and the right one is popped,
                        // with nothing to drop and no push.
                        if let [.., x, y] = &f.stack[..] {
                            if let Some(r) = arith_fast(op, x, y) {
                                if let Some(y) = f.stack.pop() {
                                    y.discard();
                                }
                                if let Some(top) = f.stack.last_mut() {
                                    std::mem::replace(top, r).discard();
                                }
                                continue;
                            }
                        }
                        let r = binary_operands!(op, matches!(instr, Op::InPlace(_)), ops.get(ip));
                        f.stack.push(r);
                    }
                    // As the arm above then `StoreLocal(x)`: the result goes to its slot.
                    instr @ (Op::BinaryStoreLocal(op, x) | Op::InPlaceStoreLocal(op, x)) => {
                        let r = binary_operands!(
                            op,
                            matches!(instr, Op::InPlaceStoreLocal(..)),
                            Some(&Op::StoreLocal(Local(x.into())))
                        );
                        std::mem::replace(&mut f.locals[x.index()], r).discard();
                    }
                    Op::BinaryTopLocal(op, b) => {
                        let Some(a) = f.stack.last() else {
                            sync!();
                            return Err(stack_underflow());
                        };
                        let y = match &f.locals[b.index()] {
                            Value::Undefined => {
                                sync!();
                                return Err(self.unbound_local(&code, b.into()));
                            }
                            y => y,
                        };
                        if let Some(r) = arith_fast(op, a, y) {
                            // The left operand was an int or a float (the fast path's only
                            // operands): replaced where it is.
                            if let Some(top) = f.stack.last_mut() {
                                std::mem::replace(top, r).discard();
                            }
                            continue;
                        }
                        let y = y.clone();
                        let a = pop!();
                        sync!();
                        let r = tri!(self.binary_in_frame(f, ops.get(ip), op, a, &y, false));
                        y.discard();
                        f.stack.push(r);
                    }
                    Op::BinaryTopConst(op, c) => {
                        let Some(a) = f.stack.last() else {
                            sync!();
                            return Err(stack_underflow());
                        };
                        let y = &consts[c.index()];
                        if let Some(r) = arith_fast(op, a, y) {
                            if let Some(top) = f.stack.last_mut() {
                                std::mem::replace(top, r).discard();
                            }
                            continue;
                        }
                        let a = pop!();
                        sync!();
                        let r = tri!(self.binary_in_frame(f, ops.get(ip), op, a, y, false));
                        f.stack.push(r);
                    }
                    Op::BinaryLocals(op, a, b) => binary_push!(op, a, Local(b)),
                    Op::BinaryLocalConst(op, a, c) => binary_push!(op, a, Const(c)),
                    Op::BinaryLocalsStore(op, a, b, d) => binary_store!(op, a, Local(b), d),
                    Op::BinaryLocalConstStore(op, a, c, d) => binary_store!(op, a, Const(c), d),
                    Op::InPlaceLocalAttr(op, a, o, g) => {
                        sync!();
                        tri!(self.inplace_local_attr(f, &code, op, a, o, g, ip - 1));
                    }
                    Op::InPlaceAttrLocal(op, o, g, b) => {
                        sync!();
                        tri!(self.inplace_attr(f, &code, op, o, g, Second::Local(b), ip - 1));
                    }
                    Op::InPlaceAttrConst(op, o, g, c) => {
                        sync!();
                        tri!(self.inplace_attr(f, &code, op, o, g, Second::Const(c), ip - 1));
                    }
                    Op::InPlaceLocals(op, a, b) => inplace_regs!(op, a, Local(b)),
                    Op::InPlaceLocalConst(op, a, c) => inplace_regs!(op, a, Const(c)),
                    Op::Compare(op) => {
                        let b = pop!();
                        let a = pop!();
                        sync!();
                        let r = tri!(self.compare_fast(f, op, &a, &b));
                        a.discard();
                        b.discard();
                        f.stack.push(r);
                    }
                    Op::CompareConst(op, c) => {
                        let a = pop!();
                        sync!();
                        let r = tri!(self.compare_fast(f, op, &a, &consts[c.0 as usize]));
                        a.discard();
                        f.stack.push(r);
                    }
                    Op::CompareJumpIfFalse(op, l) => {
                        let b = pop!();
                        let a = pop!();
                        sync!();
                        let t = tri!(self.compare_truth(f, op, &a, &b));
                        a.discard();
                        b.discard();
                        jump_if!(!t, l.0 as usize);
                    }
                    Op::CompareConstJumpIfFalse(op, c, l) => {
                        // Two ints: compared where they are, the int popped without a copy.
                        let ints = match (f.stack.last(), consts.get(c.index())) {
                            (Some(&Value::Int(x)), Some(&Value::Int(y))) => int_cmp(op, x, y),
                            _ => None,
                        };
                        if let Some(t) = ints {
                            if let Some(v) = f.stack.pop() {
                                v.discard();
                            }
                            jump_if!(!t, l.index());
                            continue;
                        }
                        let a = pop!();
                        sync!();
                        let t = tri!(self.compare_truth(f, op, &a, &consts[c.index()]));
                        a.discard();
                        jump_if!(!t, l.index());
                    }
                    Op::BinaryLocalsCompareJump(op, a, b, cmp, c, l) => {
                        let ints = match (
                            f.locals.get(usize::from(a)),
                            f.locals.get(usize::from(b)),
                            consts.get(usize::from(c)),
                        ) {
                            (Some(&Value::Int(x)), Some(&Value::Int(y)), Some(&Value::Int(k))) => {
                                int_arith_cmp(op, x, y, cmp, k)
                            }
                            _ => None,
                        };
                        let t = match ints {
                            Some(t) => t,
                            None => {
                                sync!();
                                let b = Second::Local(Reg(b.into()));
                                tri!(self.binary_compare_regs(f, &code, op, a, b, cmp, c))
                            }
                        };
                        jump_if!(!t, l.index());
                    }
                    Op::BinaryConstCompareJump(op, a, k, cmp, c, l) => {
                        let ints = match (
                            f.locals.get(usize::from(a)),
                            consts.get(usize::from(k)),
                            consts.get(usize::from(c)),
                        ) {
                            (Some(&Value::Int(x)), Some(&Value::Int(y)), Some(&Value::Int(k))) => {
                                int_arith_cmp(op, x, y, cmp, k)
                            }
                            _ => None,
                        };
                        let t = match ints {
                            Some(t) => t,
                            None => {
                                sync!();
                                let k = Second::Const(Reg(k.into()));
                                tri!(self.binary_compare_regs(f, &code, op, a, k, cmp, c))
                            }
                        };
                        jump_if!(!t, l.index());
                    }
                    Op::CompareLocalsJump(op, a, b, l) => {
                        if let Some(t) = int_cmp_pair(op, int_operands!(a, Local(b))) {
                            jump_if!(!t, l.index());
                            continue;
                        }
                        if let Some(t) =
                            float_cmp_pair(op, f.locals.get(a.index()), f.locals.get(b.index()))
                        {
                            jump_if!(!t, l.index());
                            continue;
                        }
                        sync!();
                        jump_if!(
                            !tri!(self.compare_regs(f, &code, op, a, Second::Local(b))),
                            l.index()
                        );
                    }
                    Op::CompareLocalConstJump(op, a, c, l) => {
                        if let Some(t) = int_cmp_pair(op, int_operands!(a, Const(c))) {
                            jump_if!(!t, l.index());
                            continue;
                        }
                        if let Some(t) =
                            float_cmp_pair(op, f.locals.get(a.index()), consts.get(c.index()))
                        {
                            jump_if!(!t, l.index());
                            continue;
                        }
                        sync!();
                        jump_if!(
                            !tri!(self.compare_regs(f, &code, op, a, Second::Const(c))),
                            l.index()
                        );
                    }
                    Op::UnaryNot => {
                        let v = pop!();
                        let t = truth!(&v);
                        f.stack.push(Value::Bool(!t));
                    }
                    // `not v`, then kept and jumped on when it is what the jump looks for.
                    Op::NotJumpIfFalseOrPop(l) | Op::NotJumpIfTrueOrPop(l) => {
                        let v = pop!();
                        let t = truth!(&v);
                        v.discard();
                        if !t == matches!(op, Op::NotJumpIfTrueOrPop(_)) {
                            f.stack.push(Value::Bool(!t));
                            ip = l.0 as usize;
                        }
                    }
                    Op::UnaryNeg => {
                        let v = pop!();
                        sync!();
                        let r = tri!(self.unary_neg(&v));
                        f.stack.push(r);
                    }
                    Op::Subscr => {
                        // A list or tuple item by an int in range: read where it is, put where
                        // the container was, the key (an int: nothing to drop) cut off, as the
                        // `Binary` arm answers two numbers (no pops and push: callgrind, the
                        // list read in a `__getitem__`'s body, about 97 machine instructions
                        // before). Anything else, an index error included, takes `getitem`.
                        if let [.., obj, key] = &mut f.stack[..] {
                            if let Some(r) = item_fast(obj, key) {
                                std::mem::replace(obj, r).discard();
                                let len = f.stack.len() - 1;
                                crate::heap::forget_tail(&mut f.stack, len);
                                continue;
                            }
                        }
                        let key = pop!();
                        let obj = pop!();
                        let r = getitem_general!(obj, key);
                        f.stack.push(r);
                    }
                    Op::SubscrDerefLocal(c, b) => {
                        // A list or tuple item by an int in range, read in place.
                        let fast = match (f.cells.get(c.index()), &f.locals[b.index()]) {
                            (Some(cell), key) => cell.with(|obj| item_fast(obj, key)),
                            (None, _) => None,
                        };
                        if let Some(r) = fast {
                            f.stack.push(r);
                            continue;
                        }
                        // Anything else as the three instructions: the cell's value (an empty
                        // cell's error first), the local (unbound: its error), the subscript.
                        sync!();
                        let obj = tri!(self.load_deref(f, &code, c.0.into()));
                        let key = tri!(self.local(f, &code, b.into())).clone();
                        let r = getitem_general!(obj, key);
                        f.stack.push(r);
                    }
                    Op::BinarySlice => {
                        let stop = pop!();
                        let start = pop!();
                        let obj = pop!();
                        // A list or tuple by int or None bounds: no slice object (the bounds
                        // are then plain values, nothing to free).
                        let r = match crate::interp::subscr::unit_slice_fast(&obj, &start, &stop) {
                            Some(r) => {
                                obj.discard();
                                r
                            }
                            None => {
                                let step = Value::None;
                                let key = crate::object::Slice { start, stop, step };
                                getitem_general!(obj, Value::Slice(Ref::new(key)))
                            }
                        };
                        f.stack.push(r);
                    }
                    Op::SubscrLocalConst(a, c) => {
                        sync!();
                        let obj = tri!(self.local(f, &code, a.into()));
                        let key = &consts[c.index()];
                        let r = match item_fast(obj, key) {
                            Some(r) => r,
                            None => getitem_borrowed!(obj, key),
                        };
                        f.stack.push(r);
                    }
                    Op::SubscrLocals(a, b) => {
                        sync!();
                        let obj = tri!(self.local(f, &code, a.into()));
                        let key = tri!(self.local(f, &code, b.into()));
                        let r = match item_fast(obj, key) {
                            Some(r) => r,
                            None => getitem_borrowed!(obj, key),
                        };
                        f.stack.push(r);
                    }
                    Op::SubscrKeep => {
                        let len = f.stack.len();
                        let Some([obj, key]) = len.checked_sub(2).and_then(|i| f.stack.get(i..))
                        else {
                            sync!();
                            return Err(stack_underflow());
                        };
                        let r = match item_fast(obj, key) {
                            Some(r) => r,
                            None => {
                                sync!();
                                tri!(self.getitem(obj, key))
                            }
                        };
                        f.stack.push(r);
                    }
                    // The instruction's span is the target's (`x[i]`), where CPython reports a
                    // failed write; the operator's error spans the whole statement.
                    Op::InPlaceStoreSubscr(op) => {
                        let r = binary_operands!(op, true, None, true);
                        let key = pop!();
                        let obj = pop!();
                        let r = match store_item_fast(&obj, &key, r) {
                            Ok(old) => {
                                old.discard();
                                obj.discard();
                                continue;
                            }
                            Err(r) => r,
                        };
                        sync!();
                        tri!(self.setitem(&obj, key, r));
                    }
                    // As `InPlaceStoreSubscr`, the container read from its slot (nothing since
                    // the read rebinds it: `compile/fuse.rs`) and the key from the constants.
                    // The instruction's span is the target's, where CPython reports a failed
                    // write; the operator's error spans the whole statement, as `BINARY_OP`'s.
                    Op::InPlaceSubscrLocalConst(op, a, c) => {
                        let r = binary_operands!(op, true, None, true);
                        sync!();
                        let obj = tri!(self.local(f, &code, a.into()));
                        let key = &consts[c.index()];
                        if let Err(r) = store_item_fast(obj, key, r).map(Value::discard) {
                            tri!(self.setitem(obj, key.clone(), r));
                        }
                    }
                    // `x[k] op= a * b` on numbers in a list, done here and the three
                    // instructions after it skipped; anything else falls through to them.
                    Op::InPlaceItemMul(op, x, k, a, b, l) => {
                        if let (Some(Value::List(list)), Some(&Value::Int(i))) =
                            (f.locals.get(usize::from(x)), consts.get(usize::from(k)))
                        {
                            let (va, vb) =
                                (f.locals.get(usize::from(a)), f.locals.get(usize::from(b)));
                            let product = match (va, vb) {
                                (Some(va), Some(vb)) => arith_fast(BinOp::Mul, va, vb),
                                _ => None,
                            };
                            if let Some(p) = product {
                                let mut items = list.items.lock();
                                let len = items.len();
                                let slot = seq_index(i, len).and_then(|j| items.get_mut(j));
                                if let Some(slot) = slot {
                                    if let Some(r) = arith_fast(op, slot, &p) {
                                        // A number replaced: dropping it frees nothing.
                                        std::mem::replace(slot, r).discard();
                                        drop(items);
                                        ip = l.index();
                                        continue;
                                    }
                                }
                            }
                        }
                    }
                    Op::LoadAttrKeep(n) => {
                        sync!();
                        let Some(obj) = f.stack.last() else {
                            return Err(stack_underflow());
                        };
                        let cache = &code.cache[ip - 1];
                        let name = NameOperand(&code.names, n.0 as usize);
                        let r = match instance_value_cached(obj, name, cache) {
                            Some(v) => v,
                            None => tri!(self.load_attr_slow(None, obj, name.name(), cache)),
                        };
                        f.stack.push(r);
                    }
                    // As `InPlaceStoreSubscr`: the span is the target's (`o.g`).
                    Op::InPlaceStoreAttr(op, n) => {
                        let r = binary_operands!(op, true, None, true);
                        let obj = pop!();
                        sync!();
                        let cache = &code.cache[ip - 1];
                        let name = NameOperand(&code.names, n.0 as usize);
                        if let Err(r) = store_instance_value_cached(&obj, name, r, cache) {
                            tri!(self.store_attr_slow(&obj, name.name(), r, cache));
                        }
                    }
                    Op::StoreSubscr => {
                        let key = pop!();
                        let obj = pop!();
                        let v = pop!();
                        // A list item by an int in range: replaced in place, the old item
                        // dropped after the list is unlocked.
                        let v = match (&obj, &key) {
                            (Value::List(l), &Value::Int(i)) => {
                                let mut items = l.items.lock();
                                match seq_index(i, items.len()) {
                                    Some(j) => {
                                        let old = std::mem::replace(&mut items[j], v);
                                        drop(items);
                                        old.discard();
                                        obj.discard();
                                        continue;
                                    }
                                    None => v,
                                }
                            }
                            _ => v,
                        };
                        sync!();
                        // An instance's Python `__setitem__`: its frame, entered as a call's,
                        // its value dropped when it returns (`try_push_setitem`).
                        let (mut obj, mut key, mut v) = (obj, key, v);
                        if let Value::Instance(_) = obj {
                            let cache = &code.cache[ip - 1];
                            if let Some(callee) =
                                self.try_push_setitem(&mut obj, &mut key, &mut v, cache)
                            {
                                // Moved into the frame: nothing left to drop.
                                std::mem::forget((obj, key, v));
                                self.push_frame::<OBSERVED>(frame, callee)?;
                                enter_frame!();
                            }
                        }
                        tri!(self.setitem(&obj, key, v));
                    }
                    // The inline cache's hit path (an instance attribute at its cached position)
                    // is inlined here; anything else goes out of line (`interp/attr.rs`).
                    // A property's getter runs as a call from here (`AttrRead::Getter`).
                    // `LOAD_METHOD` shares the arm: the function to bind and the receiver when
                    // it finds one, else NULL and the attribute as `LOAD_ATTR` reads it (a
                    // property's getter runs as a frame whose return pushes its value above
                    // the NULL).
                    Op::LoadAttr(..) | Op::LoadMethod(..) | Op::LoadMethodLocal(..) => {
                        sync!();
                        // `LOAD_ATTR`'s hit replaces the receiver where it is on the stack
                        // (no pop and push); anything else goes on below, without these
                        // checks again.
                        let attr_missed = if let Op::LoadAttr(n) = *op {
                            let name = NameOperand(&code.names, n.0 as usize);
                            let cache = &code.cache[ip - 1];
                            if let Some(top) = f.stack.last_mut() {
                                if let Some(v) = instance_value_cached(top, name, cache) {
                                    std::mem::replace(top, v).discard();
                                    continue;
                                }
                            }
                            true
                        } else {
                            false
                        };
                        let (obj, n) = match *op {
                            Op::LoadAttr(n) | Op::LoadMethod(n) => (pop!(), n),
                            Op::LoadMethodLocal(x, n) => {
                                (tri!(self.local(f, code, x.into())).clone(), n)
                            }
                            _ => continue,
                        };
                        let cache = &code.cache[ip - 1];
                        if !matches!(*op, Op::LoadAttr(_)) {
                            let name = &code.names[n.0 as usize];
                            let m = match (hot_method(&obj, name), &obj) {
                                (Some(k), _) => Some(Value::Int(k)),
                                // A module's function (`math.floor(x)`) or what a class holds
                                // is never bound to it: NULL, without the call that says so.
                                (None, Value::Module(_) | Value::Class(_)) => None,
                                (None, _) => self.method_to_bind(&obj, name, cache),
                            };
                            if let Some(m) = m {
                                f.stack.push(m);
                                f.stack.push(obj);
                                continue;
                            }
                            f.stack.push(Value::Undefined);
                            // A module's function (`math.floor(x)`) from the instruction's
                            // cache word, inline.
                            let key = code.name_keys.get(n.0 as usize);
                            if let Some(v) = module_value_cached(&obj, key, cache) {
                                obj.discard();
                                f.stack.push(v);
                                continue;
                            }
                        }
                        let name = NameOperand(&code.names, n.0 as usize);
                        let cached = match attr_missed {
                            true => None,
                            false => instance_value_cached(&obj, name, cache),
                        };
                        let r = match cached {
                            Some(v) => v,
                            None => {
                                match tri!(self.load_attr_or_getter(
                                    Some(f),
                                    &obj,
                                    name.name(),
                                    cache
                                )) {
                                    AttrRead::Value(v) => v,
                                    AttrRead::Getter(callee) => {
                                        obj.discard();
                                        self.push_frame::<OBSERVED>(frame, callee)?;
                                        continue 'frames;
                                    }
                                }
                            }
                        };
                        // Discarded (the count lowered inline), not left to the end of the
                        // arm: that was a call of the out-of-line drop glue per `o.x`.
                        obj.discard();
                        f.stack.push(r);
                    }
                    Op::LoadAttrLocal(l, n) => {
                        // `ip` written back only past the hit, which can run no code and
                        // raise nothing (`tri!` writes it back for an error).
                        let cache = &code.cache[ip - 1];
                        let name = NameOperand(&code.names, n.0 as usize);
                        // The hit pushes the value itself (`push_instance_value_cached`).
                        if let Some(obj) = f.locals.get(l.index()) {
                            if push_instance_value_cached(obj, name, cache, &mut f.stack) {
                                continue;
                            }
                        }
                        // Anything else (the same checks would miss again): the full read.
                        sync!();
                        let obj = tri!(self.local(f, &code, l.into()));
                        let r = match tri!(self.load_attr_or_getter(
                            Some(f),
                            obj,
                            name.name(),
                            cache
                        )) {
                            AttrRead::Value(v) => v,
                            AttrRead::Getter(callee) => {
                                self.push_frame::<OBSERVED>(frame, callee)?;
                                continue 'frames;
                            }
                        };
                        f.stack.push(r);
                    }
                    Op::LoadAttrLocalStore(x, g, d) => {
                        // `ip` written back past the hit only, as `LoadAttrLocal` does.
                        let obj = tri!(self.local(f, &code, x.into()));
                        let cache = &code.cache[ip - 1];
                        let name = NameOperand(&code.names, g.index());
                        let r = match instance_value_cached(obj, name, cache) {
                            Some(v) => v,
                            None => {
                                sync!();
                                let obj = &f.locals[x.index()];
                                tri!(self.load_attr_slow(Some(f), obj, name.name(), cache))
                            }
                        };
                        std::mem::replace(&mut f.locals[d.index()], r).discard();
                    }
                    Op::AttrJumpIfFalse(x, g, l) | Op::AttrJumpIfTrue(x, g, l) => {
                        sync!();
                        let obj = tri!(self.local(f, &code, x.into()));
                        let cache = &code.cache[ip - 1];
                        let name = NameOperand(&code.names, g.index());
                        // A bool, None, int or float at the cached position: its truth read
                        // there. Anything else: the value read in full, then its truth.
                        // A closure, not `truth_fast` itself: the function item went through
                        // an out-of-line `FnOnce::call_once` shim, 11 machine instructions a
                        // test (callgrind, richards: half a million).
                        let t = match instance_value_with(
                            obj,
                            name,
                            cache,
                            #[inline(always)]
                            #[allow(clippy::redundant_closure)]
                            |v| truth_fast(v),
                        ) {
                            Some(t) => t,
                            None => {
                                let v = tri!(self.load_attr_cached(None, obj, name.name(), cache));
                                let t = truth!(&v);
                                v.discard();
                                t
                            }
                        };
                        jump_if!(t == matches!(op, Op::AttrJumpIfTrue(..)), l.index());
                    }
                    // As the loads: the cache's hit path inlined, the rest out of line.
                    Op::StoreAttrLocal(l, n) => {
                        let v = pop!();
                        sync!();
                        let obj = tri!(self.local(f, &code, l.into()));
                        let cache = &code.cache[ip - 1];
                        let name = NameOperand(&code.names, n.0 as usize);
                        if let Err(v) = store_instance_value_cached(obj, name, v, cache) {
                            tri!(self.store_attr_slow(obj, name.name(), v, cache));
                        }
                    }
                    Op::StoreAttr(n) => {
                        let obj = pop!();
                        let v = pop!();
                        sync!();
                        let cache = &code.cache[ip - 1];
                        let name = NameOperand(&code.names, n.0 as usize);
                        if let Err(v) = store_instance_value_cached(&obj, name, v, cache) {
                            tri!(self.store_attr_slow(&obj, name.name(), v, cache));
                        }
                        // As `LoadAttr`: the receiver's count lowered inline.
                        obj.discard();
                    }
                    Op::BuildTuple(n) => {
                        let t = Value::tuple_from_tail(&mut f.stack, n as usize);
                        let t = tri!(t.ok_or_else(stack_underflow));
                        f.stack.push(t);
                    }
                    Op::BuildList(n) => {
                        let items = tri!(self.pop_n(f, n));
                        f.stack.push(Value::list(items));
                    }
                    // The list or set being built is read in place (no count changed): the
                    // frame's stack is not reached by code a set's hashing may run.
                    Op::ListAppend(n) => {
                        let v = pop!();
                        match tri!(peek_ref(&f.stack, n)) {
                            Value::List(l) => l.items.lock().push(v),
                            target => {
                                sync!();
                                tri!(self.container_add(target, v));
                            }
                        }
                    }
                    Op::SetAdd(n) => {
                        let v = pop!();
                        let target = tri!(peek_ref(&f.stack, n));
                        if let Err(v) = Interp::set_add_plain(target, v) {
                            sync!();
                            tri!(self.container_add(target, v));
                        }
                    }
                    Op::MapAdd(n) => {
                        let v = pop!();
                        let k = pop!();
                        let target = tri!(self.peek(f, n));
                        if let Value::Dict(d) = target {
                            sync!();
                            let k = tri!(self.dict_key(&d, k));
                            d.set(k, v);
                        }
                    }
                    Op::BuildSet(n) => {
                        let items = tri!(self.pop_n(f, n));
                        sync!();
                        let set = tri!(self.new_set(items));
                        f.stack.push(set);
                    }
                    Op::BuildMap(n) => {
                        sync!();
                        let d = tri!(self.new_dict_from_stack(&mut f.stack, n));
                        f.stack.push(d);
                    }
                    Op::BuildSlice(n) => {
                        let step = if n == 3 { pop!() } else { Value::None };
                        let stop = pop!();
                        let start = pop!();
                        let slice = crate::object::Slice { start, stop, step };
                        f.stack.push(Value::Slice(Ref::new(slice)));
                    }
                    Op::UnpackStore(n, x) => {
                        let v = pop!();
                        let n = usize::from(n);
                        let first = x.index();
                        if unpack_into_slots(&v, f.locals.get_mut(first..first + n)) {
                            v.discard();
                            continue;
                        }
                        // Anything else unpacks onto the stack (first item on top), as
                        // `UnpackSequence`, then goes to the slots.
                        sync!();
                        tri!(self.unpack(f, v, n, None));
                        match f.stack.len().checked_sub(n) {
                            Some(start) => f.stack[start..].reverse(),
                            None => return Err(stack_underflow()),
                        }
                        tri!(store_top(f, first, n));
                    }
                    Op::StoreLocals(n, x) => tri!(store_top(f, x.index(), usize::from(n))),
                    Op::UnpackSequence(n) => {
                        let v = pop!();
                        // A tuple or list of the right length: its items go straight onto the
                        // stack, first on top (no intermediate vector).
                        let done = match &v {
                            Value::Tuple(t) if t.items.len() == n as usize => {
                                f.stack.extend(t.items.iter().rev().cloned());
                                true
                            }
                            Value::List(l) => {
                                let items = l.items.lock();
                                let fits = items.len() == n as usize;
                                if fits {
                                    f.stack.extend(items.iter().rev().cloned());
                                }
                                fits
                            }
                            _ => false,
                        };
                        if done {
                            v.discard();
                        } else {
                            sync!();
                            tri!(self.unpack(f, v, n as usize, None));
                        }
                    }
                    Op::Jump(l) => ip = l.0 as usize,
                    Op::JumpBackward(l) => {
                        // Check before jumping, so an exception raised here (Ctrl-C) is reported
                        // at the loop's line, as CPython does.
                        if breaker_up() {
                            sync!();
                            tri!(self.handle_eval_breaker(f));
                            switch_point!(!OBSERVED && self.profiling);
                        }
                        switch_point!(OBSERVED && !self.wants_observed());
                        ip = l.0 as usize;
                    }
                    Op::PopJumpIfFalse(l) | Op::PopJumpIfTrue(l) => {
                        let v = pop!();
                        let t = truth!(&v);
                        v.discard();
                        jump_if!(t == matches!(op, Op::PopJumpIfTrue(_)), l.0 as usize);
                    }
                    Op::JumpIfFalseOrPop(l) | Op::JumpIfTrueOrPop(l) => {
                        let top = tri!(f.stack.last().ok_or_else(stack_underflow));
                        let t = truth!(top);
                        if t == matches!(op, Op::JumpIfTrueOrPop(_)) {
                            ip = l.0 as usize;
                        } else {
                            pop!();
                        }
                    }
                    Op::GetIter => {
                        let v = pop!();
                        sync!();
                        let it = tri!(self.get_iter(&v));
                        f.stack.push(it);
                    }
                    Op::ForIter(l) => {
                        resume_generator!();
                        match tri!(self.for_iter_next(f)) {
                            Some(v) => f.stack.push(v),
                            None => ip = l.0 as usize,
                        }
                    }
                    Op::ForIterStore(x, l) => {
                        resume_generator!();
                        match tri!(self.for_iter_next(f)) {
                            // The loop variable goes straight to its slot.
                            Some(v) => std::mem::replace(&mut f.locals[x.index()], v).discard(),
                            None => ip = l.0 as usize,
                        }
                    }
                    Op::ForNext(l) | Op::ForNextStore(_, l) => {
                        // A backward jump: the eval-breaker check point of a `for` loop.
                        if breaker_up() {
                            sync!();
                            tri!(self.handle_eval_breaker(f));
                            switch_point!(!OBSERVED && self.profiling);
                        }
                        switch_point!(OBSERVED && !self.wants_observed());
                        resume_generator!();
                        if let Some(v) = tri!(self.for_iter_next(f)) {
                            match op {
                                Op::ForNextStore(x, _) => {
                                    std::mem::replace(&mut f.locals[x.index()], v).discard()
                                }
                                _ => f.stack.push(v),
                            }
                            ip = l.0 as usize;
                        }
                    }
                    Op::ForRangePrep(s) => {
                        let base = s.index();
                        let counted = match f.stack.last() {
                            Some(Value::Range(r)) if r.big.is_none() => {
                                Some((r.start, r.stop, r.step))
                            }
                            _ => None,
                        };
                        let Some(slots) = f.locals.get_mut(base..base + 3) else {
                            sync!();
                            return Err(err!(SystemError, "FOR_RANGE_PREP: no slot {base}"));
                        };
                        match counted {
                            // The range stays on the stack in place of an iterator.
                            Some((start, stop, step)) => {
                                for (slot, v) in slots.iter_mut().zip([start, stop, step]) {
                                    std::mem::replace(slot, Value::Int(v)).discard();
                                }
                            }
                            None => {
                                std::mem::take(&mut slots[0]).discard();
                                let v = pop!();
                                sync!();
                                let it = tri!(self.get_iter(&v));
                                f.stack.push(it);
                            }
                        }
                    }
                    Op::ForRange(x, s, l) => {
                        // A backward jump: the eval-breaker check point of a `for` loop.
                        if breaker_up() {
                            sync!();
                            tri!(self.handle_eval_breaker(f));
                            switch_point!(!OBSERVED && self.profiling);
                        }
                        switch_point!(OBSERVED && !self.wants_observed());
                        let base = s.index();
                        // The counter's value for this iteration, or None when it is done: an
                        // `i64` (not a `Value`) so it stays in a register.
                        let counted = match f.locals.get_mut(base..base + 3) {
                            Some([Value::Int(next), Value::Int(stop), Value::Int(step)]) => {
                                let cur = *next;
                                if (*step > 0 && cur < *stop) || (*step < 0 && cur > *stop) {
                                    // Past `i64`, the next value is past the stop too.
                                    *next = cur.checked_add(*step).unwrap_or(*stop);
                                    Some(Some(cur))
                                } else {
                                    Some(None)
                                }
                            }
                            _ => None,
                        };
                        match counted {
                            Some(Some(cur)) => {
                                match &mut f.locals[x.index()] {
                                    Value::Int(held) => *held = cur,
                                    other => std::mem::replace(other, Value::Int(cur)).discard(),
                                }
                                ip = l.index();
                            }
                            // Done: the range that stood for the iterator goes.
                            Some(None) => pop!().discard(),
                            // Not a range: the iterator on the stack, as `ForNextStore`.
                            None => {
                                if let Some(v) = tri!(self.for_iter_next(f)) {
                                    std::mem::replace(&mut f.locals[x.index()], v).discard();
                                    ip = l.index();
                                }
                            }
                        }
                    }
                    Op::Call(..)
                    | Op::CallLocal(..)
                    | Op::CallLoaded(..)
                    | Op::CallLoadedLocal(..) => {
                        sync!();
                        // `CALL_LOCAL` pushes its argument, then runs as `CALL 1`;
                        // `CALL_LOADED_LOCAL` pushes its argument, then runs as `CALL_LOADED 1`.
                        let (loaded, n) = match *op {
                            Op::Call(n) => (false, n),
                            Op::CallLoaded(n) => (true, n),
                            Op::CallLocal(x) | Op::CallLoadedLocal(x) => {
                                let v = tri!(self.local(f, code, x.into())).clone();
                                f.stack.push(v);
                                (matches!(*op, Op::CallLoadedLocal(_)), 1)
                            }
                            _ => continue,
                        };
                        // The count of arguments and the callee's position.
                        let (n, fpos) = match loaded {
                            false => (n, tri!(self.callee_pos(f, n, 0))),
                            // What `LOAD_METHOD` left: NULL below the callable goes and the
                            // call is `CALL n`'s; a method below its receiver is called with
                            // the receiver as its first argument, `CALL n + 1`'s, but for the
                            // built-in methods answered here. Either way the callee is then
                            // at `opos` (found once, not again for the call).
                            true => {
                                let opos = tri!(self.callee_pos(f, n, 1));
                                match f.stack.get(opos) {
                                    Some(Value::Undefined) => {
                                        drop_null(&mut f.stack, opos);
                                        (n, opos)
                                    }
                                    Some(&Value::Int(k)) => {
                                        if let Some(r) = builtin_method_fast(&mut f.stack, opos, k)
                                        {
                                            cut_stack(&mut f.stack, opos);
                                            f.stack.push(r);
                                            continue;
                                        }
                                        self.resolve_hot_method(&mut f.stack, opos);
                                        (n + 1, opos)
                                    }
                                    _ => (n + 1, opos),
                                }
                            }
                        };
                        if let Some(callee) = self.plain_call(f, fpos, n) {
                            self.push_frame::<OBSERVED>(frame, callee)?;
                            enter_frame!();
                        }
                        // A function written in Rust (`ord(c)`, `isinstance(x, C)`): its kind
                        // tested inline, the call out of line (`call_native_fast`); `len(v)` of
                        // a built-in str, bytes or container (CPython's `CALL_NO_KW_LEN`)
                        // answered here, no call made, no frame parked.
                        if let Some(Value::Native(nf)) = f.stack.get(fpos) {
                            let (len, of_instance) = match f.stack.get(fpos + 1) {
                                Some(v) if n == 1 && is_len(nf) => {
                                    (builtin_len(v), matches!(v, Value::Instance(_)))
                                }
                                _ => (None, false),
                            };
                            if let Some(len) = len {
                                answer_in_place(&mut f.stack, fpos, Value::Int(len));
                                continue;
                            }
                            // An instance's Python `__len__`: its frame, entered as a call's
                            // (`try_push_len`; not when observed, where a profiler sees the
                            // call of `len` itself).
                            if of_instance && !OBSERVED {
                                let cache = &code.cache[ip - 1];
                                if let Some(callee) = self.try_push_len(&mut f.stack, fpos, cache) {
                                    self.push_frame::<OBSERVED>(frame, callee)?;
                                    enter_frame!();
                                }
                            }
                            if let Some(r) = self.call_native_fast(f, fpos) {
                                f.stack.push(tri!(r));
                                continue;
                            }
                        }
                        // `int(x)` of the built-in type with a float or an int that fits
                        // (chaos' `int(p.x * size)`): converted here, as CPython 3.12's
                        // `CALL_BUILTIN_CLASS` calls the type's vectorcall without a frame.
                        // Anything else (a subclass, a string, a huge float) makes the call.
                        let int = match (f.stack.get(fpos), f.stack.get(fpos + 1)) {
                            (Some(Value::Class(c)), Some(v))
                                if n == 1 && Ref::ptr_eq(c, &crate::object::types().int) =>
                            {
                                int_of_number(v)
                            }
                            _ => None,
                        };
                        if let Some(i) = int {
                            answer_in_place(&mut f.stack, fpos, Value::Int(i));
                            continue;
                        }
                        // A class: straight to its `__init__`'s frame (what `try_push_call`
                        // does for a class, without its call).
                        let pushed = if let Some(Value::Class(_)) = f.stack.get(fpos) {
                            self.try_push_init(&mut f.stack, fpos)
                        } else {
                            tri!(self.try_push_call(f, fpos))
                        };
                        if let Some(callee) = pushed {
                            self.push_frame::<OBSERVED>(frame, callee)?;
                            enter_frame!();
                        }
                        let r = tri!(self.call_on_stack(f, fpos, &[]));
                        f.stack.push(r);
                    }
                    Op::CallMethod(..) | Op::CallMethodLocal(..) => {
                        sync!();
                        // `CALL_METHOD_LOCAL` pushes its receiver, then runs as `CALL_METHOD`.
                        let name = match *op {
                            Op::CallMethodLocal(x, name) => {
                                // An instance's method of one parameter: its frame takes the
                                // receiver straight from the slot (`try_push_method_local`).
                                let held = tri!(self.local(f, code, x.into()));
                                if let Value::Instance(_) = held {
                                    let name = &code.names[name.0 as usize];
                                    let cache = &code.cache[ip - 1];
                                    let local = self.try_push_method_local(held, name, cache);
                                    if let Some(callee) = local {
                                        self.push_frame::<OBSERVED>(frame, callee)?;
                                        enter_frame!();
                                    }
                                }
                                let v = tri!(self.local(f, code, x.into())).clone();
                                f.stack.push(v);
                                name
                            }
                            Op::CallMethod(name) => name,
                            _ => continue,
                        };
                        // The receiver on top: no arguments.
                        let opos = tri!(self.callee_pos(f, 0, 0));
                        let name = &code.names[name.0 as usize];
                        let cache = &code.cache[ip - 1];
                        // Only an instance's method can be a frame pushed here: a list's or
                        // dict's receiver skips the call (about 25 machine instructions of a
                        // `l.append(x)`, callgrind).
                        if matches!(f.stack.get(opos), Some(Value::Instance(_))) {
                            if let Some(callee) = tri!(self.try_push_method(f, opos, name, cache)) {
                                self.push_frame::<OBSERVED>(frame, callee)?;
                                enter_frame!();
                            }
                            // A method written in Rust (`q.append(x)` on a deque).
                            if let Some(r) = self.call_native_method(f, opos, name, cache) {
                                let r = tri!(r);
                                f.stack.push(r);
                                continue;
                            }
                        }
                        // `l.pop()` on a built-in list (`builtins::container_method_fast`; its
                        // others, `d.get(k)`, `s.add(k)`, take arguments: `CALL_LOADED`'s).
                        if matches!(f.stack.get(opos), Some(Value::List(_))) {
                            if let Some(r) = f
                                .stack
                                .get(opos..)
                                .and_then(|a| crate::builtins::container_method_fast(a, name))
                            {
                                f.stack.truncate(opos);
                                f.stack.push(r);
                                continue;
                            }
                        }
                        // A module's function, a class's, an instance's other callables: found,
                        // then called as `CALL` calls them.
                        let r = if tri!(self.load_method_in_place(f, opos, name, cache)) {
                            if let Some(Value::Native(_)) = f.stack.get(opos) {
                                if let Some(r) = self.call_native_fast(f, opos) {
                                    f.stack.push(tri!(r));
                                    continue;
                                }
                            }
                            if let Some(callee) = tri!(self.try_push_call(f, opos)) {
                                self.push_frame::<OBSERVED>(frame, callee)?;
                                enter_frame!();
                            }
                            tri!(self.call_on_stack(f, opos, &[]))
                        } else {
                            tri!(self.call_method_on_stack(f, opos, name, cache, &[]))
                        };
                        f.stack.push(r);
                    }
                    Op::ReturnValue => {
                        let v = pop!();
                        return_value!(v);
                    }
                    Op::ReturnConst(c) => {
                        let v = consts[c.0 as usize].clone();
                        return_value!(v);
                    }
                    // The slot is moved out: the frame is finished, its slots emptied next.
                    Op::ReturnLocal(l) => {
                        let v = match std::mem::take(&mut f.locals[l.0 as usize]) {
                            Value::Undefined => {
                                sync!();
                                return Err(self.unbound_local(&code, l.0));
                            }
                            v => v,
                        };
                        // A frame a traceback keeps shows the variable in `f_locals` still.
                        if f.traced.is_some() {
                            std::hint::cold_path();
                            f.locals[l.0 as usize] = v.clone();
                        }
                        return_value!(v);
                    }
                    // As `LoadAttrLocal`; a property's getter runs as a frame of this loop, and
                    // its return makes this frame return (`Resumed::PropertyReturn`).
                    Op::ReturnAttrLocal(l, n) => {
                        // `ip` written back past the hit only, as `LoadAttrLocal` does.
                        let obj = tri!(self.local(f, &code, l.into()));
                        let cache = &code.cache[ip - 1];
                        let name = NameOperand(&code.names, n.0 as usize);
                        let v = match instance_value_cached(obj, name, cache) {
                            Some(v) => v,
                            None => {
                                sync!();
                                let obj = &f.locals[l.index()];
                                let nested = self.frames.len() == base;
                                match tri!(self.return_attr_or_getter(
                                    None,
                                    obj,
                                    name.name(),
                                    cache,
                                    nested
                                )) {
                                    AttrRead::Value(v) => v,
                                    AttrRead::Getter(callee) => {
                                        self.push_frame::<OBSERVED>(frame, callee)?;
                                        continue 'frames;
                                    }
                                }
                            }
                        };
                        return_value!(v);
                    }
                    Op::YieldValue | Op::YieldPop => {
                        let v = pop!();
                        sync!();
                        if f.resumed != Resumed::No {
                            match self.yield_inline(frame, v)? {
                                None => continue 'frames,
                                Some(v) => return Ok(Flow::Yield(v)),
                            }
                        }
                        return Ok(Flow::Yield(v));
                    }
                    // Every opcode the table marks cold (`bytecode.rs`).
                    cold @ minivm_compiler::cold_ops!() => {
                        sync!();
                        if let Some(flow) = tri!(self.cold_op(f, &code_ref, cold)) {
                            match flow {
                                // `yield from` a generator: its frame runs in this loop.
                                Flow::Push(gframe) => {
                                    self.depth += 1;
                                    let caller = std::mem::replace(frame, gframe);
                                    self.frames.push(caller);
                                    continue 'frames;
                                }
                                Flow::PushChain(gframe) => {
                                    self.push_yield_from_chain(frame, gframe, !OBSERVED);
                                    continue 'frames;
                                }
                                Flow::Call(callee) => {
                                    self.push_frame::<OBSERVED>(frame, callee)?;
                                    continue 'frames;
                                }
                                // `yield from` in a generator resumed in this loop.
                                Flow::Yield(v) if f.resumed != Resumed::No => {
                                    match self.yield_inline(frame, v)? {
                                        None => continue 'frames,
                                        Some(v) => return Ok(Flow::Yield(v)),
                                    }
                                }
                                flow => return Ok(flow),
                            }
                        }
                        ip = f.ip;
                    }
                }
            }
        }
    }

    /// `Binary`/`InPlace` (`inplace`) past the int fast path: a str appended to in place when
    /// the `next` instruction stores it back into the local that held it (`ops::concat_in_place`),
    /// else the general operator.
    fn binary_in_frame(
        &mut self,
        frame: &mut Frame,
        next: Option<&Op>,
        op: BinOp,
        a: Value,
        b: &Value,
        inplace: bool,
    ) -> PyResult<Value> {
        let a = match op {
            BinOp::Add => match crate::interp::ops::concat_in_place(frame, next, a, b) {
                Ok(r) => return Ok(r),
                Err(a) if inplace => a,
                Err(a) => match crate::interp::ops::extend_unshared_list(a, b) {
                    Ok(r) => return Ok(r),
                    Err(a) => a,
                },
            },
            _ => a,
        };
        // An operand's special method may read its caller's frame (`sys._getframe(1)`).
        let calls_python = matches!(a, Value::Instance(_)) || matches!(b, Value::Instance(_));
        let r = match (inplace, calls_python) {
            (true, false) => self.inplace(op, &a, b),
            (false, false) => self.binary(op, &a, b),
            (true, true) => self.parked(frame, |s| s.inplace(op, &a, b)),
            (false, true) => self.parked(frame, |s| s.binary(op, &a, b)),
        };
        a.discard();
        r
    }

    /// A register instruction's second operand: a local slot or a constant.
    #[inline(always)]
    fn second<'f>(&self, frame: &'f Frame, code: &'f CodeBody, b: Second) -> PyResult<&'f Value> {
        match b {
            Second::Local(r) => self.local(frame, code, r.into()),
            Second::Const(r) => Ok(&code.consts[r.index()]),
        }
    }

    /// `BinaryLocals`/`BinaryLocalConst`: `locals[a] op b`, the `next` instruction as for
    /// `binary_in_frame` (`s = s + t` appends in place too).
    #[inline(always)]
    fn binary_regs(
        &mut self,
        frame: &mut Frame,
        code: &CodeBody,
        next: Option<&Op>,
        op: BinOp,
        a: Reg,
        b: Second,
    ) -> PyResult<Value> {
        let x = self.local(frame, code, a.into())?;
        let y = self.second(frame, code, b)?;
        if let Some(r) = arith_fast(op, x, y) {
            return Ok(r);
        }
        let (x, y) = (x.clone(), y.clone());
        let r = self.binary_in_frame(frame, next, op, x, &y, false);
        y.discard();
        r
    }

    /// `InPlaceLocals`/`InPlaceLocalConst`: `locals[a] op= b`.
    #[inline(always)]
    fn inplace_regs(
        &mut self,
        frame: &mut Frame,
        code: &CodeBody,
        op: BinOp,
        a: Reg,
        b: Second,
    ) -> PyResult<()> {
        let x = self.local(frame, code, a.into())?;
        let y = self.second(frame, code, b)?;
        let r = match arith_fast(op, x, y) {
            Some(r) => r,
            None => {
                let (x, y) = (x.clone(), y.clone());
                // What `StoreLocal(a)` after `InPlace` did: lets a str grow in place.
                let store = Op::StoreLocal(Local(a.into()));
                let r = self.binary_in_frame(frame, Some(&store), op, x, &y, true);
                y.discard();
                r?
            }
        };
        std::mem::replace(&mut frame.locals[a.index()], r).discard();
        Ok(())
    }

    /// `InPlaceLocalAttr`: `locals[a] op= locals[o].g`, in the order of the instructions it
    /// replaces (`locals[a]` read first, then the attribute through instruction `at`'s cache).
    #[allow(clippy::too_many_arguments)]
    fn inplace_local_attr(
        &mut self,
        frame: &mut Frame,
        code: &CodeBody,
        op: BinOp,
        a: Reg,
        o: Reg,
        g: Reg,
        at: usize,
    ) -> PyResult<()> {
        let x = self.local(frame, code, a.into())?.clone();
        let obj = self.local(frame, code, o.into())?;
        let name = code
            .names
            .get(g.index())
            .ok_or_else(|| err!(SystemError, "bad name index {}", g.0))?;
        let y = self.load_attr_cached(None, obj, name, &code.cache[at])?;
        let r = match arith_fast(op, &x, &y) {
            Some(r) => {
                x.discard();
                r
            }
            None => {
                // What `StoreLocal(a)` after `InPlace` did: lets a str grow in place.
                let store = Op::StoreLocal(Local(a.into()));
                self.binary_in_frame(frame, Some(&store), op, x, &y, true)?
            }
        };
        y.discard();
        std::mem::replace(&mut frame.locals[a.index()], r).discard();
        Ok(())
    }

    /// `InPlaceAttrLocal`/`InPlaceAttrConst` (instruction `at`): `locals[o].g op= b`, in the
    /// order of the seven stack instructions they replace: the attribute read, then `b`, the
    /// operator (in place), the attribute written back. One inline cache serves the read and
    /// the write: both look for the same name on the same object.
    #[allow(clippy::too_many_arguments)]
    fn inplace_attr(
        &mut self,
        frame: &mut Frame,
        code: &CodeBody,
        op: BinOp,
        o: Reg,
        g: Reg,
        b: Second,
        at: usize,
    ) -> PyResult<()> {
        let obj = self.local(frame, code, o.into())?;
        let name = code
            .names
            .get(g.index())
            .ok_or_else(|| err!(SystemError, "bad name index {}", g.0))?;
        let cache = &code.cache[at];
        // Two numbers: the attribute is updated in place (`update_instance_value_cached`). `b`
        // is read without its unbound check, which the general path below makes in its order
        // (after the attribute's read): an unbound local is no number.
        let y = match b {
            Second::Local(r) => &frame.locals[r.index()],
            Second::Const(r) => &code.consts[r.index()],
        };
        // The closure inlined: left a call of its own, it returned the sum through memory
        // (about 22 machine instructions a `self.hits += 1`, callgrind, the attributes kernel).
        let updated = update_instance_value_cached(
            obj,
            name,
            cache,
            #[inline(always)]
            |cur| arith_fast(op, cur, y),
        );
        if updated {
            return Ok(());
        }
        // A clone: the operator's general path may run Python code with the frame borrowed.
        let obj = obj.clone();
        // The instruction's span is the target's (`o.g`): where CPython reports an error of
        // the read or the write. An unbound `b` is reported there too, as the other register
        // instructions do (`fuse.rs: fused_span`).
        let cur = self.load_attr_cached(None, &obj, name, cache)?;
        let y = self.second(frame, code, b)?;
        let r = match arith_fast(op, &cur, y) {
            Some(r) => {
                cur.discard();
                r
            }
            None => {
                let y = y.clone();
                let r = self.binary_in_frame(frame, None, op, cur, &y, true);
                y.discard();
                // The operator's error spans the whole statement, as CPython's `BINARY_OP`.
                if r.is_err() {
                    self.whole_statement = true;
                }
                r?
            }
        };
        if let Err(r) = store_instance_value_cached(&obj, NameOperand::of(name), r, cache) {
            self.store_attr_slow(&obj, name, r, cache)?;
        }
        obj.discard();
        Ok(())
    }

    /// `BinaryLocalsCompareJump`/`BinaryConstCompareJump` past the int fast path: the truth of
    /// `(locals[a] op b) cmp consts[c]`, computed as the six instructions they replace did (the
    /// operator's result is dropped after the comparison).
    #[allow(clippy::too_many_arguments)]
    fn binary_compare_regs(
        &mut self,
        frame: &mut Frame,
        code: &CodeBody,
        op: BinOp,
        a: u8,
        b: Second,
        cmp: CmpOp,
        c: u8,
    ) -> PyResult<bool> {
        let r = self.binary_regs(frame, code, None, op, Reg(a.into()), b)?;
        let t = match code.consts.get(usize::from(c)) {
            Some(k) => self.compare_truth(frame, cmp, &r, k),
            None => Err(err!(SystemError, "bad constant index {c}")),
        };
        r.discard();
        t
    }

    /// `CompareLocalsJump`/`CompareLocalConstJump`: the truth of `locals[a] op b`.
    #[inline(always)]
    fn compare_regs(
        &mut self,
        frame: &Frame,
        code: &CodeBody,
        op: CmpOp,
        a: Reg,
        b: Second,
    ) -> PyResult<bool> {
        let x = self.local(frame, code, a.into())?;
        let y = self.second(frame, code, b)?;
        self.compare_truth(frame, op, x, y)
    }

    /// A local slot, borrowed; `UnboundLocalError` if it is empty.
    #[inline(always)]
    fn local<'f>(&self, frame: &'f Frame, code: &CodeBody, slot: u32) -> PyResult<&'f Value> {
        match &frame.locals[slot as usize] {
            Value::Undefined => Err(self.unbound_local(code, slot)),
            v => Ok(v),
        }
    }

    /// `a op b` with ints compared inline (and `is`/`is not` by identity).
    #[inline(always)]
    fn compare_fast(&mut self, frame: &Frame, op: CmpOp, a: &Value, b: &Value) -> PyResult<Value> {
        match (op, a, b) {
            (CmpOp::In | CmpOp::NotIn, _, Value::Instance(_)) => {
                self.compare_parked(frame, op, a, b)
            }
            (CmpOp::In | CmpOp::NotIn, ..) => self.compare(op, a, b),
            (_, Value::Int(x), Value::Int(y)) => Ok(Value::Bool(int_compare(op, *x, *y))),
            (CmpOp::Is, ..) => Ok(Value::Bool(a.is(b))),
            (CmpOp::IsNot, ..) => Ok(Value::Bool(!a.is(b))),
            (_, Value::Float(x), Value::Float(y)) => Ok(Value::Bool(float_compare(op, *x, *y))),
            // An operand's special method may read its caller's frame.
            (_, Value::Instance(_), _) | (_, _, Value::Instance(_)) => {
                self.compare_parked(frame, op, a, b)
            }
            _ => self.compare(op, a, b),
        }
    }

    /// `a op b` with an instance among the operands, run for `frame`, recorded as the caller
    /// waiting on it (`sys._getframe(1)` in `__eq__` is `frame`).
    #[inline(never)]
    fn compare_parked(
        &mut self,
        frame: &Frame,
        op: CmpOp,
        a: &Value,
        b: &Value,
    ) -> PyResult<Value> {
        self.parked(frame, |s| s.compare(op, a, b))
    }

    /// The truth of `a op b`, for the compare-and-jump superinstructions (a rich comparison may
    /// return any object: its truth decides, as in `if a < b:`).
    #[inline(always)]
    fn compare_truth(&mut self, frame: &Frame, op: CmpOp, a: &Value, b: &Value) -> PyResult<bool> {
        if let (Value::Int(x), Value::Int(y)) = (a, b) {
            if !matches!(op, CmpOp::In | CmpOp::NotIn) {
                return Ok(int_compare(op, *x, *y));
            }
        }
        // `x is None`, `x is not None`: identity, no result object to make and test.
        match op {
            CmpOp::Is => return Ok(a.is(b)),
            CmpOp::IsNot => return Ok(!a.is(b)),
            _ => {}
        }
        let r = self.compare_fast(frame, op, a, b)?;
        let t = match &r {
            Value::Bool(t) => *t,
            other => self.truthy(other)?,
        };
        r.discard();
        Ok(t)
    }

    /// `ForIter`: the next item of the iterator on top of the stack, or `None` (the iterator
    /// popped) when it is exhausted.
    #[inline(always)]
    fn for_iter_next(&mut self, frame: &mut Frame) -> PyResult<Option<Value>> {
        let it = top!(frame);
        let next = match it {
            Value::RangeIter(r) => r.next_value().map(Value::Int),
            Value::Iter(obj) => match seq_iter_next(obj, &mut self.spare_list_iter, frame) {
                Some(step) => step,
                None => self.iter_next(it)?,
            },
            _ => self.iter_next(it)?,
        };
        if next.is_none() {
            pop!(frame).discard();
        }
        Ok(next)
    }

    pub(crate) fn peek(&self, frame: &Frame, n: u32) -> PyResult<Value> {
        let len = frame.stack.len();
        if n == 0 || n as usize > len {
            return Err(stack_underflow());
        }
        Ok(frame.stack[len - n as usize].clone())
    }

    /// The top `n` values of the stack, taken off it in order (`BUILD_TUPLE`, `BUILD_LIST`, ...).
    /// Inline: the out-of-line call and its `Result` cost as much as moving one or two values.
    #[inline(always)]
    pub(crate) fn pop_n(&self, frame: &mut Frame, n: u32) -> PyResult<Vec<Value>> {
        let len = frame.stack.len();
        let n = n as usize;
        if n > len {
            return Err(stack_underflow());
        }
        Ok(frame.stack.split_off(len - n))
    }

    pub(crate) fn callee_pos(&self, frame: &Frame, n: u32, extra: usize) -> PyResult<usize> {
        frame
            .stack
            .len()
            .checked_sub(n as usize + 1 + extra)
            .ok_or_else(stack_underflow)
    }

    pub(crate) fn unbound_local(&self, code: &CodeBody, slot: u32) -> PyErr {
        let name = code
            .obj
            .varnames
            .get(slot as usize)
            .map_or("?", |s| s.as_str());
        err!(
            UnboundLocalError,
            "cannot access local variable '{name}' where it is not associated with a value"
        )
    }

    pub(crate) fn load_global(
        &self,
        globals: &crate::object::Dict,
        code: &crate::interp::code::Code,
        n: u32,
    ) -> PyResult<Value> {
        let key: &HashKey = &code.name_keys[n as usize];
        if let Some(v) = globals.get(key) {
            return Ok(v);
        }
        if let Some(v) = self.vm.builtins.get(key) {
            return Ok(v);
        }
        Err(self.name_error(code, globals, n))
    }

    /// `mapping[name]` for a namespace that is not a plain dict (`Frame::mapping`): `None` when
    /// it raises `KeyError` (the name is then looked up in the globals and builtins).
    pub(crate) fn mapping_get(&mut self, m: &Value, name: &str) -> PyResult<Option<Value>> {
        match self.getitem(m, &Value::str(name)) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is(crate::object::ExcKind::KeyError) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(crate) fn load_name(
        &self,
        frame: &Frame,
        code: &crate::interp::code::Code,
        n: u32,
    ) -> PyResult<Value> {
        if let Some(ns) = &frame.namespace {
            if let Some(v) = ns.get(&code.name_keys[n as usize]) {
                return Ok(v);
            }
        }
        self.load_global(&frame.globals, code, n)
    }

    pub(crate) fn cell<'f>(
        &self,
        frame: &'f Frame,
        i: u32,
    ) -> PyResult<&'f Ref<crate::object::CellObj>> {
        frame
            .cells
            .get(i as usize)
            .ok_or_else(|| err!(SystemError, "bad cell index {i}"))
    }

    pub(crate) fn load_deref(&self, frame: &Frame, code: &CodeBody, i: u32) -> PyResult<Value> {
        let v = self.cell(frame, i)?.get();
        if let Value::Undefined = v {
            let name = code.obj.cell_name(minivm_compiler::bytecode::Cell(i));
            if (i as usize) < code.obj.cellvars.len() {
                return Err(err!(
                    UnboundLocalError,
                    "cannot access local variable '{name}' where it is not associated with a value"
                ));
            }
            return Err(err!(
                NameError,
                "cannot access free variable '{name}' where it is not associated with a value in enclosing scope"
            ));
        }
        Ok(v)
    }
}

/// Make `code_ref`, the code the dispatch loop runs, `new`'s: kept as it is when the same
/// (a recursive call or its return), swapped with `other`, the code run before, when that is
/// `new` (a call and its return switch between two codes: no count changed), else `new`
/// cloned in and the old one kept as `other`.
#[inline(always)]
fn switch_code(code_ref: &mut Ref<Code>, other: &mut Option<Ref<Code>>, new: &Ref<Code>) {
    if !Ref::ptr_eq(code_ref, new) {
        match other {
            Some(o) if Ref::ptr_eq(o, new) => std::mem::swap(code_ref, o),
            _ => *other = Some(std::mem::replace(code_ref, new.clone())),
        }
    }
}

/// A finished frame the pool has no room for: emptied anyway if a traceback's frame waits for
/// its variables (`Frame::traced`), then freed.
#[cold]
#[inline(never)]
#[allow(clippy::boxed_local)] // the box is what is freed
fn drop_unkept(mut frame: Box<Frame>) {
    if frame.traced.is_some() {
        frame.reset();
    }
}

/// The `n`-th value from the top of `stack` (1 is the top), borrowed in place.
#[inline(always)]
fn peek_ref(stack: &[Value], n: u32) -> PyResult<&Value> {
    match stack.len().checked_sub(n as usize) {
        Some(i) if n > 0 => Ok(&stack[i]),
        _ => Err(stack_underflow()),
    }
}

/// `locals[first + i] = ` the i-th of the top n stack items, deepest first, the slots' old
/// values dropped in slot order (as n `StoreLocal`s of a reversed run would).
#[inline(always)]
fn store_top(f: &mut Frame, first: usize, n: usize) -> PyResult<()> {
    let start = f.stack.len().checked_sub(n).ok_or_else(stack_underflow)?;
    let Some(slots) = f.locals.get_mut(first..first + n) else {
        return Err(err!(SystemError, "no local slot {}", first + n));
    };
    for (slot, v) in slots.iter_mut().zip(&mut f.stack[start..]) {
        std::mem::replace(slot, std::mem::take(v)).discard();
    }
    // Only emptied entries are left to drop.
    f.stack.truncate(start);
    Ok(())
}

/// `UnpackStore`'s fast path: a tuple or list of exactly `slots.len()` items copied into the
/// slots, in order; false (nothing done) for anything else. A list is read under its lock, so
/// only when every slot holds a value that owns nothing (no drop runs while the lock is held).
#[inline(always)]
fn unpack_into_slots(v: &Value, slots: Option<&mut [Value]>) -> bool {
    let Some(slots) = slots else {
        return false;
    };
    match v {
        Value::Tuple(t) if t.items.len() == slots.len() => {
            for (slot, item) in slots.iter_mut().zip(t.items.iter()) {
                std::mem::replace(slot, item.clone()).discard();
            }
            true
        }
        Value::List(l) if slots.iter().all(Value::is_inline) => {
            let items = l.items.lock();
            if items.len() != slots.len() {
                return false;
            }
            for (slot, item) in slots.iter_mut().zip(items.iter()) {
                std::mem::replace(slot, item.clone()).discard();
            }
            true
        }
        _ => false,
    }
}

/// `int(v)` when `v` is a bool, an int or a finite float whose integral part fits in an
/// `i64` (truncated toward zero, as `int()` does); `None` for anything else.
#[inline]
fn int_of_number(v: &Value) -> Option<i64> {
    /// 2**63 as a float: the floats in `[-2**63, 2**63)` convert to `i64` exactly.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    match v {
        Value::Int(i) => Some(*i),
        Value::Bool(b) => Some(i64::from(*b)),
        Value::Float(x) => {
            let t = x.trunc();
            (-LIMIT..LIMIT).contains(&t).then_some(t as i64)
        }
        _ => None,
    }
}

/// `CALL_LOADED` of the hot built-in method `k` (`call.rs: HOT_METHODS`) that `LOAD_METHOD`
/// left below its receiver at `opos + 1`, answered without the call: `l.append(v)` (CPython's
/// `CALL_NO_KW_LIST_APPEND`; the item moved in) and `builtins::container_method_fast`'s
/// (`d.get(k)`, `s.add(k)`, `l.pop()`). The answer, the stack from `opos` left for the caller
/// to cut; `None`, the stack untouched, when the general call must run (and raise, if it does).
#[inline(always)]
fn builtin_method_fast(stack: &mut Vec<Value>, opos: usize, k: i64) -> Option<Value> {
    let args = stack.get(opos + 1..)?;
    match (k, args) {
        (0, [Value::List(_), _]) => {
            let v = stack.pop()?;
            if let Some(Value::List(l)) = stack.last() {
                l.items.lock().push(v);
            }
            Some(Value::None)
        }
        (_, [Value::Dict(_) | Value::Set(_) | Value::List(_), ..]) => {
            crate::builtins::container_method_fast(args, HOT_METHODS.get(k as usize)?)
        }
        _ => None,
    }
}

/// The stack cut back to `len` (a call's callee and arguments gone), each count dropped inline
/// rather than by `Vec::truncate`'s out-of-line drop glue.
#[inline(always)]
fn cut_stack(stack: &mut Vec<Value>, len: usize) {
    while stack.len() > len {
        if let Some(v) = stack.pop() {
            v.discard();
        }
    }
}

/// `CALL_LOADED`'s NULL at `opos` (`LOAD_METHOD` found no method to bind) taken out, the
/// callable and arguments above it moved down a slot: swaps, not `Vec::remove`'s call of
/// `memmove`, for a call's few arguments.
#[inline(always)]
fn drop_null(stack: &mut Vec<Value>, opos: usize) {
    for i in opos..stack.len().saturating_sub(1) {
        stack.swap(i, i + 1);
    }
    if let Some(v) = stack.pop() {
        v.discard();
    }
}

/// A call of one argument answered inline (`len(v)`, `int(x)`): the argument above `fpos`
/// goes, then `r` takes the callee's slot. Inline, without a loop or a push: popping both in
/// an out-of-line loop and pushing the answer (`Vec::push` out of line) cost about 85 machine
/// instructions a call (callgrind, a loop of `len(s)`).
#[inline(always)]
fn answer_in_place(stack: &mut Vec<Value>, fpos: usize, r: Value) {
    debug_assert_eq!(stack.len(), fpos + 2);
    if let Some(arg) = stack.pop() {
        arg.discard();
    }
    match stack.get_mut(fpos) {
        Some(slot) => std::mem::replace(slot, r).discard(),
        None => stack.push(r),
    }
}

/// The error of a `for` whose store names no local slot of its frame (a compiler bug).
#[cold]
#[inline(never)]
fn no_local_slot(x: usize) -> PyErr {
    err!(SystemError, "no local slot {x}")
}

/// `obj[key]` for a list or tuple and an int index in range, read in place; `None` for anything
/// else (an index error included), which `Interp::getitem` handles.
#[inline(always)]
fn item_fast(obj: &Value, key: &Value) -> Option<Value> {
    match (obj, key) {
        // A `match`, not `Option::map` with a closure: the closure was compiled out of line,
        // a call per item read (callgrind: 1,500,022 calls in nbody, 800,000 in nqueens).
        (Value::List(l), &Value::Int(i)) => {
            let items = l.items.lock();
            match seq_index(i, items.len()) {
                Some(j) => items.get(j).cloned(),
                None => None,
            }
        }
        (Value::Tuple(t), &Value::Int(i)) => match seq_index(i, t.items.len()) {
            Some(j) => t.items.get(j).cloned(),
            None => None,
        },
        _ => None,
    }
}

/// `obj[key] = v` for a list and an int index in range: `v` moved into the item and the old
/// item returned, for the caller to drop once the list is unlocked; `Err(v)` (nothing done) for
/// anything else, which `Interp::setitem` handles.
#[inline(always)]
fn store_item_fast(obj: &Value, key: &Value, v: Value) -> Result<Value, Value> {
    match (obj, key) {
        (Value::List(l), &Value::Int(i)) => {
            let mut items = l.items.lock();
            match seq_index(i, items.len()) {
                Some(j) => Ok(std::mem::replace(&mut items[j], v)),
                None => Err(v),
            }
        }
        _ => Err(v),
    }
}

/// The truth of a bool, None, int or float without a call; None: ask `Interp::truthy`.
#[inline(always)]
fn truth_fast(v: &Value) -> Option<bool> {
    match *v {
        Value::Bool(b) => Some(b),
        Value::None => Some(false),
        Value::Int(i) => Some(i != 0),
        Value::Float(x) => Some(x != 0.0),
        _ => None,
    }
}

/// A step of a list or tuple iterator, read in place (a `for` over a list): `Some(Some(item))`,
/// or `Some(None)` at the end (a list iterator then lets go of its list, as `native_step` does,
/// so that items appended later are not seen, or becomes the spare: `iter.rs: list_iter_done`);
/// `None` for other iterators, which
/// `Interp::iter_next` steps.
#[inline(always)]
fn seq_iter_next(
    obj_ref: &Ref<crate::object::IterObj>,
    spare: &mut Option<Ref<crate::object::IterObj>>,
    frame: &Frame,
) -> Option<Option<Value>> {
    use crate::object::IterState;
    let mut st = obj_ref.state.lock();
    match &mut *st {
        IterState::List { list, index } => {
            let v = list.items.lock().get(*index).cloned();
            match v {
                Some(v) => {
                    *index += 1;
                    Some(Some(v))
                }
                None => {
                    // Held by more than the loop and a comprehension's `.0`: nothing to keep.
                    if Ref::count(obj_ref) > 2 {
                        *st = IterState::Exhausted;
                    } else {
                        crate::interp::iter::list_iter_done(st, obj_ref, spare, frame);
                    }
                    Some(None)
                }
            }
        }
        IterState::Tuple { tuple, index } => {
            let v = tuple.items.get(*index).cloned();
            *index += 1;
            Some(v)
        }
        _ => None,
    }
}

/// Whether the eval breaker is up (a check point's test). `Vm::eval_breaker` always points at
/// this one static, read here directly: one load, where going through `self.vm` took three.
#[inline(always)]
fn breaker_up() -> bool {
    crate::heap::gc::eval_breaker_up()
}

/// `x op y` on two ints when it is exact in `i64` and needs no sign rules (`%` and `//` of a
/// non-negative by a positive, shifts by a count in range); `None`: take the general path. Returns the bare `i64` so the
/// register instructions' fast paths keep it in a register.
#[inline(always)]
fn int_arith(op: BinOp, x: i64, y: i64) -> Option<i64> {
    match op {
        BinOp::Add => x.checked_add(y),
        BinOp::Sub => x.checked_sub(y),
        BinOp::Mul => x.checked_mul(y),
        BinOp::Mod if x >= 0 && y > 0 => Some(x % y),
        BinOp::FloorDiv if x >= 0 && y > 0 => Some(x / y),
        BinOp::BitAnd => Some(x & y),
        BinOp::BitOr => Some(x | y),
        BinOp::BitXor => Some(x ^ y),
        // Python's shifts never wrap: a negative count is a `ValueError` and bits shifted out
        // past `i64` make a big int (both the general path's); a right shift of 63 or more
        // leaves the sign.
        BinOp::RShift if y >= 0 => Some(x >> y.min(63)),
        BinOp::LShift if (0..64).contains(&y) && (x << y) >> y == x => Some(x << y),
        _ => None,
    }
}

/// `(x op y) cmp k` on ints for the fused compare-and-jumps, `None` where `int_arith` or
/// `int_cmp` has none. `%` and `==`, the commonest pair (`if n % i == 0:`), are tested first
/// with plain branches, before the jump tables on the operators.
#[inline(always)]
fn int_arith_cmp(op: BinOp, x: i64, y: i64, cmp: CmpOp, k: i64) -> Option<bool> {
    let r = if op == BinOp::Mod {
        if x >= 0 && y > 0 {
            x % y
        } else {
            return None;
        }
    } else {
        int_arith(op, x, y)?
    };
    if cmp == CmpOp::Eq {
        Some(r == k)
    } else {
        int_cmp(cmp, r, k)
    }
}

/// `int_arith` on the operands `int_operands!` found, if both were ints. A plain function, not
/// a closure passed to `and_then`: that closure was compiled once, out of line, with a jump
/// table on `op` (a call and ~25 machine instructions per register instruction).
#[inline(always)]
fn int_arith_pair(op: BinOp, pair: Option<(i64, i64)>) -> Option<i64> {
    match pair {
        Some((x, y)) => int_arith(op, x, y),
        None => None,
    }
}

/// Two operands as floats when both are floats or one is a float and the other an int, which
/// converts to the nearest float, as in CPython (exact up to 2**53; `as` rounds to nearest,
/// ties to even, beyond). `None` otherwise (two ints included: `int_arith`'s, or the general
/// path's when it declined them).
#[inline(always)]
fn float_pair(a: Option<&Value>, b: Option<&Value>) -> Option<(f64, f64)> {
    match (a, b) {
        (Some(&Value::Float(x)), Some(&Value::Float(y))) => Some((x, y)),
        (Some(&Value::Float(x)), Some(&Value::Int(y))) => Some((x, y as f64)),
        (Some(&Value::Int(x)), Some(&Value::Float(y))) => Some((x as f64, y)),
        _ => None,
    }
}

/// `x op y` on two floats where CPython's float operators give a number with no special case:
/// `+ - *`, `/` by a non-zero, `**` of a finite positive base to a finite power with a finite
/// result (C's `pow`, as `num::arith::float_pow` computes it after its special cases: a zero,
/// negative, infinite or NaN operand, or an overflow, takes the general path). A NaN result
/// takes the general path too, which gives it its own identity (`num::fresh_nan`): `x + 1 in
/// [x]` is False for a NaN `x`, as in CPython. A plain function over the pair `float_pair`
/// found (no closure: see `int_arith_pair`).
#[inline(always)]
fn float_arith_pair(op: BinOp, pair: Option<(f64, f64)>) -> Option<f64> {
    let (x, y) = pair?;
    let r = match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div if y != 0.0 => x / y,
        BinOp::Pow if x > 0.0 && x < f64::INFINITY && y.is_finite() => {
            let r = x.powf(y);
            if !r.is_finite() {
                return None;
            }
            r
        }
        _ => return None,
    };
    if r.is_nan() {
        None
    } else {
        Some(r)
    }
}

/// The ordering and equality operators on two floats, or a float and an int exact as a float
/// (IEEE: NaN is unequal to everything, as in Python); `None` for identity and membership, and
/// for an int beyond 2**53, which CPython compares exactly (`2**53 + 1 > 2.0**53` is True, the
/// int rounded to a float would make it False): the general path takes those.
#[inline(always)]
fn float_cmp_pair(op: CmpOp, a: Option<&Value>, b: Option<&Value>) -> Option<bool> {
    let (x, y) = match (a, b) {
        (Some(&Value::Float(x)), Some(&Value::Float(y))) => (x, y),
        (Some(&Value::Float(x)), Some(&Value::Int(y))) if exact_float(y) => (x, y as f64),
        (Some(&Value::Int(x)), Some(&Value::Float(y))) if exact_float(x) => (x as f64, y),
        _ => return None,
    };
    match op {
        CmpOp::Is | CmpOp::IsNot | CmpOp::In | CmpOp::NotIn => None,
        op => Some(float_compare(op, x, y)),
    }
}

/// `int_cmp` on the operands `int_operands!` found, if both were ints.
#[inline(always)]
fn int_cmp_pair(op: CmpOp, pair: Option<(i64, i64)>) -> Option<bool> {
    match pair {
        Some((x, y)) => int_cmp(op, x, y),
        None => None,
    }
}

/// `x op y` on two ints for the ordering and equality operators; `None` for `in`/`not in`
/// (a `TypeError` the general path raises).
#[inline(always)]
fn int_cmp(op: CmpOp, x: i64, y: i64) -> Option<bool> {
    match op {
        CmpOp::In | CmpOp::NotIn => None,
        op => Some(int_compare(op, x, y)),
    }
}

/// Store a float into a local slot, as `set_int` an int.
#[inline(always)]
fn set_float(slot: &mut Value, v: f64) {
    match slot {
        Value::Float(held) => *held = v,
        other => std::mem::replace(other, Value::Float(v)).discard(),
    }
}

/// Store an int into a local slot: in place when the slot already holds an int (nothing to
/// drop), else replacing what it held.
#[inline(always)]
fn set_int(slot: &mut Value, v: i64) {
    match slot {
        Value::Int(held) => *held = v,
        other => std::mem::replace(other, Value::Int(v)).discard(),
    }
}

/// `a op b` computed inline when both are ints (no overflow, no negative `%`/`//` operand, `/`
/// of ints exact as floats) or floats, or an int and a float (`+ - *`, `/` by a non-zero): the common case of arithmetic, without a call. `None`:
/// take `Interp::binary`.
#[inline(always)]
fn arith_fast(op: BinOp, a: &Value, b: &Value) -> Option<Value> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => match op {
            // True division of two ints that are exact as floats: the quotient of the two
            // floats is the correctly rounded result, as CPython's `long_true_divide` computes it.
            BinOp::Div if *y != 0 && exact_float(*x) && exact_float(*y) => {
                Some(Value::Float(*x as f64 / *y as f64))
            }
            _ => int_arith(op, *x, *y).map(Value::Int),
        },
        _ => float_arith_pair(op, float_pair(Some(a), Some(b))).map(Value::Float),
    }
}

/// Whether an int converts to a float exactly (|i| <= 2**53).
#[inline(always)]
fn exact_float(i: i64) -> bool {
    i.unsigned_abs() <= 1 << 53
}

/// `x op y` on two floats for the ordering and equality operators (IEEE: NaN is unequal to
/// everything, as in Python).
#[inline(always)]
fn float_compare(op: CmpOp, x: f64, y: f64) -> bool {
    use minivm_compiler::bytecode::CmpOp::*;
    match op {
        Eq => x == y,
        NotEq => x != y,
        Lt => x < y,
        LtE => x <= y,
        Gt => x > y,
        GtE => x >= y,
        // Never reached: `compare_fast` takes identity and membership first.
        Is | IsNot | In | NotIn => false,
    }
}

#[inline]
fn int_compare(op: minivm_compiler::bytecode::CmpOp, x: i64, y: i64) -> bool {
    use minivm_compiler::bytecode::CmpOp::*;
    match op {
        Eq | Is => x == y,
        NotEq | IsNot => x != y,
        Lt => x < y,
        LtE => x <= y,
        Gt => x > y,
        GtE => x >= y,
        // Never reached: the dispatch loop sends `in` to `compare`, which raises the TypeError.
        In | NotIn => false,
    }
}

/// The `for` instruction before `frame.ip` (its generator, run in this loop, yielded `v`)
/// takes `v`: pushed (`FOR_ITER`, `FOR_NEXT`) or stored in its slot (the `_STORE` forms),
/// and the bottom-of-loop forms jump back. The instruction is matched where it lies, by
/// reference: copied out first (`Option<Op>`) and matched as a pair with the item, as this
/// did before, its fields were shuffled through the Rust stack byte by byte (callgrind, a
/// generator consumed by a `for`: about 20 machine instructions per item).
#[inline(always)]
fn for_item(frame: &mut Frame, v: Value) -> PyResult<()> {
    let (slot, back) = match frame.ip.checked_sub(1).and_then(|i| frame.code.ops.get(i)) {
        Some(&Op::ForIter(_)) => (None, None),
        Some(&Op::ForIterStore(x, _)) => (Some(x.index()), None),
        Some(&Op::ForNext(l)) => (None, Some(l.0 as usize)),
        Some(&Op::ForNextStore(x, l)) => (Some(x.index()), Some(l.0 as usize)),
        _ => {
            v.discard();
            return Err(err!(SystemError, "a generator resumed by no for"));
        }
    };
    match slot {
        Some(x) => match frame.locals.get_mut(x) {
            Some(slot) => std::mem::replace(slot, v).discard(),
            None => {
                v.discard();
                return Err(no_local_slot(x));
            }
        },
        None => crate::heap::push_inline(&mut frame.stack, v),
    }
    if let Some(l) = back {
        frame.ip = l;
    }
    Ok(())
}

/// The `for` instruction before `frame.ip` sees its generator finished: the iterator goes
/// and the loop ends (`FOR_ITER` forms jump past it; the bottom-of-loop forms fall through).
#[inline(always)]
fn for_done(frame: &mut Frame) -> PyResult<()> {
    let end = match frame.ip.checked_sub(1).and_then(|i| frame.code.ops.get(i)) {
        Some(&(Op::ForIter(l) | Op::ForIterStore(_, l))) => Some(l.0 as usize),
        Some(&(Op::ForNext(_) | Op::ForNextStore(..))) => None,
        _ => return Err(err!(SystemError, "a generator resumed by no for")),
    };
    pop!(frame).discard();
    if let Some(l) = end {
        frame.ip = l;
    }
    Ok(())
}
