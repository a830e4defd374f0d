//! The dispatch loop: fetch an instruction, run its arm, repeat. Each arm is a few lines; the work
//! is in named helpers (`ops.rs`, `call.rs`, ...).
//!
//! Calls between Python functions do not recurse in Rust: the caller's frame is parked on
//! `Interp::frames` and the loop continues with the callee. Only native code calling back into Python
//! (`sorted(key=...)`, `list(generator)`) starts a nested loop through `run_frame`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use minivm_compiler::bytecode::{BinOp, CmpOp, Op};

use crate::interp::code::Code;
use crate::interp::frame::{Frame, Handler};
use crate::interp::Interp;
use crate::object::{ExcKind, HashKey, TraceEntry};
use crate::value::Value;
use crate::{err, PyErr, PyResult};

/// How a run of frames ended.
pub enum Exit {
    Return(Value),
    /// A generator frame yielded; the frame comes back so the generator can resume it later.
    Yield(Value, Box<Frame>),
}

enum Flow {
    Return(Value),
    Yield(Value),
}

/// Pop the top of the operand stack. The compiler guarantees the stack is deep enough for every
/// instruction; an empty stack here is a compiler bug, reported as `SystemError`, not a crash.
macro_rules! pop {
    ($frame:expr) => {
        match $frame.stack.pop() {
            Some(v) => v,
            None => return Err(stack_underflow()),
        }
    };
}

macro_rules! top {
    ($frame:expr) => {
        match $frame.stack.last() {
            Some(v) => v,
            None => return Err(stack_underflow()),
        }
    };
}

fn stack_underflow() -> PyErr {
    err!(SystemError, "bytecode popped an empty stack")
}

impl Interp {
    /// Run `frame` (and whatever it calls) until it returns or, for a generator, yields.
    pub fn run_frame(&mut self, frame: Box<Frame>) -> PyResult<Exit> {
        self.run_frame_throwing(frame, None)
    }

    /// As `run_frame`, but first raise `throw` at the frame's current instruction (how
    /// `generator.throw()` and `close()` resume a suspended generator).
    pub(crate) fn run_frame_throwing(
        &mut self,
        mut frame: Box<Frame>,
        throw: Option<PyErr>,
    ) -> PyResult<Exit> {
        self.enter_depth()?;
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

    pub(crate) fn enter_depth(&mut self) -> PyResult<()> {
        self.depth += 1;
        if self.depth > self.vm.recursion_limit.load(Ordering::Relaxed) {
            self.depth -= 1;
            return Err(err!(RecursionError, "maximum recursion depth exceeded"));
        }
        Ok(())
    }

    /// Find a handler for `err`: in this frame, else in its callers down to `base`. On success the
    /// frame is positioned at the handler with the exception on the stack.
    fn unwind(&mut self, frame: &mut Box<Frame>, err: PyErr, base: usize) -> PyResult<()> {
        let mut err = err;
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
            let done = std::mem::replace(frame, caller);
            self.cur_exc = done.saved_exc.clone();
            self.recycle(done);
            // The caller's pending call is now the raise point.
            err = self.adjust_for_caller(err);
        }
    }

    fn adjust_for_caller(&mut self, err: PyErr) -> PyErr {
        err
    }

    fn add_traceback(&mut self, frame: &Frame, err: &PyErr) {
        if std::mem::take(&mut self.reraising) {
            return;
        }
        if let Some(data) = err.exc.exc() {
            let fresh = data.lock().traceback.is_empty();
            if fresh {
                // A new exception raised while another is handled remembers it as `__context__`.
                self.chain_context(err, self.cur_exc.clone());
            }
            data.lock().traceback.push(TraceEntry {
                filename: frame.code.obj.filename.clone(),
                line: frame.line(),
                func: frame.code.name.clone(),
            });
        }
    }

    /// Keep a finished frame (emptied, with its vectors' capacity) for the next call.
    pub(crate) fn recycle(&mut self, mut frame: Box<Frame>) {
        if self.frame_pool.len() < 64 {
            frame.locals.clear();
            frame.stack.clear();
            frame.cells.clear();
            frame.handlers.clear();
            frame.namespace = None;
            frame.saved_exc = None;
            self.frame_pool.push(frame);
        }
    }

    /// Park the running frame and make `callee` the running one.
    fn push_frame(&mut self, frame: &mut Box<Frame>, callee: Box<Frame>) -> PyResult<()> {
        // Function entry is an eval-breaker check point (as in CPython), taken before the switch so
        // an exception here is raised in the caller, where the call is.
        if self.vm.eval_breaker.load(Ordering::Relaxed) {
            self.handle_eval_breaker()?;
        }
        self.enter_depth()?;
        let caller = std::mem::replace(frame, callee);
        self.frames.push(caller);
        Ok(())
    }

    /// The eval-breaker check point: called at backward jumps and function entries when the flag is up.
    fn handle_eval_breaker(&mut self) -> PyResult<()> {
        if !self.vm.interrupted.load(Ordering::Relaxed) && !self.vm.gil.drop_requested() {
            self.vm.eval_breaker.store(false, Ordering::Relaxed);
        }
        self.check_signals()?;
        self.gil_yield_point();
        Ok(())
    }

    fn dispatch(&mut self, frame: &mut Box<Frame>, base: usize) -> PyResult<Flow> {
        'frames: loop {
            let code = frame.code.clone();
            let ops = &code.ops[..];
            let slow_path = self.tracing || self.vm.config.count_instructions;
            loop {
                let Some(&op) = ops.get(frame.ip) else {
                    return Err(err!(SystemError, "instruction pointer ran off the code"));
                };
                if slow_path {
                    self.stats.instructions += 1;
                    if self.tracing {
                        self.trace_instruction(frame, op);
                    }
                }
                frame.ip += 1;
                match op {
                    Op::Nop => {}
                    Op::Pop => pop!(frame).discard(),
                    Op::Copy(n) => {
                        let v = self.peek(frame, n)?;
                        frame.stack.push(v);
                    }
                    Op::Swap(n) => {
                        let len = frame.stack.len();
                        if n as usize > len || n == 0 {
                            return Err(stack_underflow());
                        }
                        frame.stack.swap(len - 1, len - n as usize);
                    }
                    Op::LoadConst(c) => {
                        let k = &code.consts[c.0 as usize];
                        // Fused `LoadConst; Compare` on two ints: compare without pushing the constant.
                        if let (Some(&Op::Compare(cop)), Value::Int(y), Some(Value::Int(x))) =
                            (ops.get(frame.ip), k, frame.stack.last())
                        {
                            if !matches!(cop, CmpOp::In | CmpOp::NotIn) {
                                let t = int_compare(cop, *x, *y);
                                frame.ip += 1;
                                pop!(frame).discard();
                                push_bool_or_jump(frame, ops, t);
                                continue;
                            }
                        }
                        frame.stack.push(k.clone());
                    }
                    Op::LoadLocal(l) => {
                        let v = &frame.locals[l.0 as usize];
                        if let Value::Undefined = v {
                            return Err(self.unbound_local(&code, l.0));
                        }
                        frame.stack.push(v.clone());
                        // Fused `LoadLocal; LoadLocal` (operands of most binary operations).
                        if let Some(&Op::LoadLocal(l2)) = ops.get(frame.ip) {
                            frame.ip += 1;
                            let v = &frame.locals[l2.0 as usize];
                            if let Value::Undefined = v {
                                return Err(self.unbound_local(&code, l2.0));
                            }
                            frame.stack.push(v.clone());
                        }
                    }
                    Op::StoreLocal(l) => {
                        let v = pop!(frame);
                        std::mem::replace(&mut frame.locals[l.0 as usize], v).discard();
                    }
                    Op::LoadGlobal(n) => {
                        let v =
                            self.load_global_cached(&frame.globals, &code, n.0, frame.ip - 1)?;
                        frame.stack.push(v);
                    }
                    Op::StoreGlobal(n) => {
                        let v = pop!(frame);
                        self.store_global_cached(&frame.globals, &code, n.0, frame.ip - 1, v);
                    }
                    Op::LoadDeref(c) => {
                        let v = self.load_deref(frame, &code, c.0)?;
                        frame.stack.push(v);
                    }
                    Op::StoreDeref(c) => {
                        let v = pop!(frame);
                        self.cell(frame, c.0)?.set(v);
                    }
                    Op::Binary(op) => {
                        let b = pop!(frame);
                        let a = pop!(frame);
                        let fast = match (op, &a, &b) {
                            (BinOp::Add, Value::Int(x), Value::Int(y)) => x.checked_add(*y),
                            (BinOp::Sub, Value::Int(x), Value::Int(y)) => x.checked_sub(*y),
                            (BinOp::Mul, Value::Int(x), Value::Int(y)) => x.checked_mul(*y),
                            (BinOp::Mod, Value::Int(x), Value::Int(y)) if *x >= 0 && *y > 0 => {
                                Some(x % y)
                            }
                            (BinOp::FloorDiv, Value::Int(x), Value::Int(y))
                                if *x >= 0 && *y > 0 =>
                            {
                                Some(x / y)
                            }
                            _ => None,
                        };
                        let r = match fast {
                            Some(r) => Value::Int(r),
                            None => self.binary(op, &a, &b)?,
                        };
                        a.discard();
                        b.discard();
                        frame.stack.push(r);
                    }
                    Op::InPlace(op) => {
                        let b = pop!(frame);
                        let a = pop!(frame);
                        let fast = match (op, &a, &b) {
                            (BinOp::Add, Value::Int(x), Value::Int(y)) => x.checked_add(*y),
                            (BinOp::Sub, Value::Int(x), Value::Int(y)) => x.checked_sub(*y),
                            _ => None,
                        };
                        let r = match fast {
                            Some(r) => Value::Int(r),
                            None => self.inplace(op, &a, &b)?,
                        };
                        a.discard();
                        b.discard();
                        frame.stack.push(r);
                    }
                    Op::Compare(op) => {
                        let b = pop!(frame);
                        let a = pop!(frame);
                        let r = match (&a, &b) {
                            (Value::Int(x), Value::Int(y))
                                if !matches!(op, CmpOp::In | CmpOp::NotIn) =>
                            {
                                Value::Bool(int_compare(op, *x, *y))
                            }
                            _ => self.compare(op, &a, &b)?,
                        };
                        a.discard();
                        b.discard();
                        match r {
                            Value::Bool(t) => push_bool_or_jump(frame, ops, t),
                            other => frame.stack.push(other),
                        }
                    }
                    Op::UnaryNot => {
                        let v = pop!(frame);
                        let t = self.truthy(&v)?;
                        frame.stack.push(Value::Bool(!t));
                    }
                    Op::UnaryNeg => {
                        let v = pop!(frame);
                        let r = self.unary_neg(&v)?;
                        frame.stack.push(r);
                    }
                    Op::Subscr => {
                        let key = pop!(frame);
                        let obj = pop!(frame);
                        let r = self.getitem(&obj, &key)?;
                        frame.stack.push(r);
                    }
                    Op::StoreSubscr => {
                        let key = pop!(frame);
                        let obj = pop!(frame);
                        let v = pop!(frame);
                        self.setitem(&obj, key, v)?;
                    }
                    Op::LoadAttr(n) => {
                        let obj = pop!(frame);
                        let r = self.getattr(&obj, &code.names[n.0 as usize])?;
                        frame.stack.push(r);
                    }
                    Op::StoreAttr(n) => {
                        let obj = pop!(frame);
                        let v = pop!(frame);
                        self.setattr(&obj, &code.names[n.0 as usize], v)?;
                    }
                    Op::BuildTuple(n) => {
                        let items = self.pop_n(frame, n)?;
                        frame.stack.push(Value::tuple(items));
                    }
                    Op::BuildList(n) => {
                        let items = self.pop_n(frame, n)?;
                        frame.stack.push(Value::list(items));
                    }
                    Op::ListAppend(n) => {
                        let v = pop!(frame);
                        let target = self.peek(frame, n)?;
                        self.container_add(&target, v)?;
                    }
                    Op::UnpackSequence(n) => {
                        let v = pop!(frame);
                        self.unpack(frame, v, n as usize, None)?;
                    }
                    Op::Jump(l) => frame.ip = l.0 as usize,
                    Op::JumpBackward(l) => {
                        // Check before jumping, so an exception raised here (Ctrl-C) is reported
                        // at the loop's line, as CPython does.
                        if self.vm.eval_breaker.load(Ordering::Relaxed) {
                            self.handle_eval_breaker()?;
                        }
                        frame.ip = l.0 as usize;
                    }
                    Op::PopJumpIfFalse(l) => {
                        let v = pop!(frame);
                        let t = match v {
                            Value::Bool(b) => b,
                            ref other => self.truthy(other)?,
                        };
                        v.discard();
                        if !t {
                            frame.ip = l.0 as usize;
                        }
                    }
                    Op::PopJumpIfTrue(l) => {
                        let v = pop!(frame);
                        let t = match v {
                            Value::Bool(b) => b,
                            ref other => self.truthy(other)?,
                        };
                        v.discard();
                        if t {
                            frame.ip = l.0 as usize;
                        }
                    }
                    Op::JumpIfFalseOrPop(l) => {
                        if !self.truthy(top!(frame))? {
                            frame.ip = l.0 as usize;
                        } else {
                            pop!(frame);
                        }
                    }
                    Op::JumpIfTrueOrPop(l) => {
                        if self.truthy(top!(frame))? {
                            frame.ip = l.0 as usize;
                        } else {
                            pop!(frame);
                        }
                    }
                    Op::GetIter => {
                        let v = pop!(frame);
                        let it = self.get_iter(&v)?;
                        frame.stack.push(it);
                    }
                    Op::ForIter(l) => {
                        let it = top!(frame);
                        let next = match it {
                            Value::RangeIter(r) => r.next_value().map(Value::Int),
                            _ => self.iter_next(it)?,
                        };
                        match next {
                            // Fused `ForIter; StoreLocal`: the loop variable goes straight to its slot.
                            Some(v) => match ops.get(frame.ip) {
                                Some(&Op::StoreLocal(x)) => {
                                    frame.ip += 1;
                                    std::mem::replace(&mut frame.locals[x.0 as usize], v).discard();
                                }
                                _ => frame.stack.push(v),
                            },
                            None => {
                                pop!(frame);
                                frame.ip = l.0 as usize;
                            }
                        }
                    }
                    Op::Call(n) => {
                        let fpos = self.callee_pos(frame, n, 0)?;
                        if let Some(callee) = self.try_push_call(frame, fpos, &[])? {
                            self.push_frame(frame, callee)?;
                            continue 'frames;
                        }
                        let r = self.call_on_stack(frame, fpos, Vec::new())?;
                        frame.stack.push(r);
                    }
                    Op::CallMethod(name, n) => {
                        let opos = self.callee_pos(frame, n, 0)?;
                        let name = &code.names[name.0 as usize];
                        if let Some(callee) = self.try_push_method(frame, opos, name)? {
                            self.push_frame(frame, callee)?;
                            continue 'frames;
                        }
                        let r = self.call_method_on_stack(frame, opos, name, Vec::new())?;
                        frame.stack.push(r);
                    }
                    Op::ReturnValue => {
                        let v = pop!(frame);
                        if self.frames.len() == base {
                            return Ok(Flow::Return(v));
                        }
                        self.depth -= 1;
                        let Some(caller) = self.frames.pop() else {
                            return Ok(Flow::Return(v));
                        };
                        let done = std::mem::replace(frame, caller);
                        self.cur_exc = done.saved_exc.clone();
                        self.recycle(done);
                        frame.stack.push(v);
                        continue 'frames;
                    }
                    Op::YieldValue => {
                        let v = pop!(frame);
                        return Ok(Flow::Yield(v));
                    }
                    cold @ (Op::DeleteLocal(..)
                    | Op::DeleteGlobal(..)
                    | Op::LoadName(..)
                    | Op::StoreName(..)
                    | Op::DeleteName(..)
                    | Op::DeleteDeref(..)
                    | Op::LoadClosure(..)
                    | Op::LoadClassDeref(..)
                    | Op::UnaryPos
                    | Op::UnaryInvert
                    | Op::DeleteSubscr
                    | Op::BuildSlice(..)
                    | Op::DeleteAttr(..)
                    | Op::BuildSet(..)
                    | Op::BuildMap(..)
                    | Op::BuildString(..)
                    | Op::SetAdd(..)
                    | Op::MapAdd(..)
                    | Op::ListExtend(..)
                    | Op::SetUpdate(..)
                    | Op::DictUpdate(..)
                    | Op::DictMerge(..)
                    | Op::ListToTuple
                    | Op::UnpackEx { .. }
                    | Op::FormatValue(..)
                    | Op::MakeFunction { .. }
                    | Op::CallKw(..)
                    | Op::CallEx { .. }
                    | Op::CallMethodKw(..)
                    | Op::GetYieldFromIter
                    | Op::YieldFrom
                    | Op::LoadBuildClass
                    | Op::ImportName(..)
                    | Op::ImportFrom(..)
                    | Op::SetupExcept(..)
                    | Op::PopBlock
                    | Op::PushExcInfo
                    | Op::PopExcept
                    | Op::CheckExcMatch
                    | Op::Reraise
                    | Op::Raise(..)
                    | Op::LoadAssertionError
                    | Op::BeforeWith
                    | Op::WithExceptStart
                    | Op::PrintExpr) => {
                        if let Some(flow) = self.cold_op(frame, &code, cold)? {
                            return Ok(flow);
                        }
                    }
                }
            }
        }
    }

    /// The instructions a hot loop rarely runs (class bodies, exception handling, imports, unusual
    /// calls), kept out of `dispatch` so the hot loop stays small enough to keep its state in registers.
    #[inline(never)]
    fn cold_op(&mut self, frame: &mut Frame, code: &Arc<Code>, op: Op) -> PyResult<Option<Flow>> {
        match op {
            Op::DeleteLocal(l) => {
                let slot = &mut frame.locals[l.0 as usize];
                if let Value::Undefined = std::mem::take(slot) {
                    return Err(self.unbound_local(code, l.0));
                }
            }
            Op::DeleteGlobal(n) => {
                let key = &code.name_keys[n.0 as usize];
                if frame.globals.remove(key).is_none() {
                    return Err(err!(
                        NameError,
                        "name '{}' is not defined",
                        code.names[n.0 as usize]
                    ));
                }
            }
            Op::LoadName(n) => {
                let v = self.load_name(frame, code, n.0)?;
                frame.stack.push(v);
            }
            Op::StoreName(n) => {
                let v = pop!(frame);
                let ns = frame.namespace.as_ref().unwrap_or(&frame.globals);
                ns.set(code.name_keys[n.0 as usize].clone(), v);
            }
            Op::DeleteName(n) => {
                let key = &code.name_keys[n.0 as usize];
                let ns = frame.namespace.as_ref().unwrap_or(&frame.globals);
                if ns.remove(key).is_none() {
                    return Err(err!(
                        NameError,
                        "name '{}' is not defined",
                        code.names[n.0 as usize]
                    ));
                }
            }
            Op::DeleteDeref(c) => {
                self.load_deref(frame, code, c.0)?;
                self.cell(frame, c.0)?.set(Value::Undefined);
            }
            Op::LoadClosure(c) => {
                let cell = self.cell(frame, c.0)?.clone();
                frame.stack.push(Value::Cell(cell));
            }
            Op::LoadClassDeref(c) => {
                let name = code.obj.cell_name(c);
                let found = frame.namespace.as_ref().and_then(|ns| ns.get_str(name));
                let v = match found {
                    Some(v) => v,
                    None => self.load_deref(frame, code, c.0)?,
                };
                frame.stack.push(v);
            }
            Op::UnaryPos => {
                let v = pop!(frame);
                let r = self.unary_pos(&v)?;
                frame.stack.push(r);
            }
            Op::UnaryInvert => {
                let v = pop!(frame);
                let r = self.unary_invert(&v)?;
                frame.stack.push(r);
            }
            Op::DeleteSubscr => {
                let key = pop!(frame);
                let obj = pop!(frame);
                self.delitem(&obj, &key)?;
            }
            Op::BuildSlice(n) => {
                let step = if n == 3 { pop!(frame) } else { Value::None };
                let stop = pop!(frame);
                let start = pop!(frame);
                frame
                    .stack
                    .push(Value::Slice(Arc::new(crate::object::Slice {
                        start,
                        stop,
                        step,
                    })));
            }
            Op::DeleteAttr(n) => {
                let obj = pop!(frame);
                self.delattr(&obj, &code.names[n.0 as usize])?;
            }
            Op::BuildSet(n) => {
                let items = self.pop_n(frame, n)?;
                let set = self.new_set(items)?;
                frame.stack.push(set);
            }
            Op::BuildMap(n) => {
                let items = self.pop_n(frame, n.saturating_mul(2))?;
                let d = self.new_dict_from_pairs(items)?;
                frame.stack.push(d);
            }
            Op::BuildString(n) => {
                let items = self.pop_n(frame, n)?;
                let mut s = String::new();
                for it in &items {
                    s.push_str(it.as_str().unwrap_or(""));
                }
                frame.stack.push(Value::string(s));
            }
            Op::SetAdd(n) => {
                let v = pop!(frame);
                let target = self.peek(frame, n)?;
                self.container_add(&target, v)?;
            }
            Op::MapAdd(n) => {
                let v = pop!(frame);
                let k = pop!(frame);
                let target = self.peek(frame, n)?;
                if let Value::Dict(d) = target {
                    let k = self.dict_key(&d, k)?;
                    d.set(k, v);
                }
            }
            Op::ListExtend(n) | Op::SetUpdate(n) => {
                let it = pop!(frame);
                let target = self.peek(frame, n)?;
                for v in self.collect_iter(&it)? {
                    self.container_add(&target, v)?;
                }
            }
            Op::DictUpdate(n) | Op::DictMerge(n) => {
                let m = pop!(frame);
                let target = self.peek(frame, n)?;
                self.dict_update(&target, &m, matches!(op, Op::DictMerge(_)))?;
            }
            Op::ListToTuple => {
                let v = pop!(frame);
                let items = match &v {
                    Value::List(l) => l.snapshot(),
                    _ => self.collect_iter(&v)?,
                };
                frame.stack.push(Value::tuple(items));
            }
            Op::UnpackEx { before, after } => {
                let v = pop!(frame);
                self.unpack(frame, v, before as usize, Some(after as usize))?;
            }
            Op::FormatValue(flags) => {
                let spec = if flags.has_spec {
                    Some(pop!(frame))
                } else {
                    None
                };
                let v = pop!(frame);
                let s = self.format_value(&v, flags.conversion, spec.as_ref())?;
                frame.stack.push(s);
            }
            Op::MakeFunction { code: c, flags } => {
                let f = self.make_function(frame, code, c, flags)?;
                frame.stack.push(f);
            }
            Op::CallKw(n) => {
                let names = pop!(frame);
                let fpos = self.callee_pos(frame, n, 0)?;
                let kw = self.split_keywords(frame, &names)?;
                let r = self.call_on_stack(frame, fpos, kw)?;
                frame.stack.push(r);
            }
            Op::CallEx { has_kwargs } => {
                let kwargs = if has_kwargs { Some(pop!(frame)) } else { None };
                let args = pop!(frame);
                let f = pop!(frame);
                let r = self.call_ex(&f, &args, kwargs.as_ref())?;
                frame.stack.push(r);
            }
            Op::CallMethodKw(name, n) => {
                let names = pop!(frame);
                let opos = self.callee_pos(frame, n, 0)?;
                let kw = self.split_keywords(frame, &names)?;
                let name = &code.names[name.0 as usize];
                let r = self.call_method_on_stack(frame, opos, name, kw)?;
                frame.stack.push(r);
            }
            Op::GetYieldFromIter => {
                let v = pop!(frame);
                let it = match v {
                    Value::Generator(_) => v,
                    other => self.get_iter(&other)?,
                };
                frame.stack.push(it);
            }
            Op::YieldFrom => {
                let sent = pop!(frame);
                let it = top!(frame).clone();
                match self.send_into(&it, sent)? {
                    Some(v) => {
                        frame.ip -= 1;
                        return Ok(Some(Flow::Yield(v)));
                    }
                    None => {
                        pop!(frame);
                        let r = std::mem::replace(&mut self.yield_from_result, Value::None);
                        frame.stack.push(r);
                    }
                }
            }
            Op::LoadBuildClass => frame.stack.push(self.build_class_fn()),
            Op::ImportName(n) => {
                let m = self.import_module(&code.names[n.0 as usize])?;
                frame.stack.push(m);
            }
            Op::ImportFrom(n) => {
                let m = top!(frame).clone();
                let v = self.import_from(&m, &code.names[n.0 as usize])?;
                frame.stack.push(v);
            }
            Op::SetupExcept(l) => frame.handlers.push(Handler {
                target: l.0,
                depth: frame.stack.len() as u32,
            }),
            Op::PopBlock => {
                frame.handlers.pop();
            }
            Op::PushExcInfo => {
                let exc = pop!(frame);
                let prev = self.cur_exc.replace(exc.clone()).unwrap_or(Value::None);
                frame.stack.push(prev);
                frame.stack.push(exc);
            }
            Op::PopExcept => {
                let prev = pop!(frame);
                self.cur_exc = if prev.is_none() { None } else { Some(prev) };
            }
            Op::CheckExcMatch => {
                let typ = pop!(frame);
                let exc = top!(frame).clone();
                let m = self.exception_matches(&exc, &typ)?;
                frame.stack.push(Value::Bool(m));
            }
            Op::Reraise => {
                let exc = pop!(frame);
                self.reraising = true;
                return Err(self.as_exception(exc)?);
            }
            Op::Raise(n) => {
                let cause = if n == 2 { Some(pop!(frame)) } else { None };
                let exc = if n >= 1 { Some(pop!(frame)) } else { None };
                return Err(self.raise(exc, cause)?);
            }
            Op::LoadAssertionError => frame.stack.push(Value::Class(
                crate::object::types().exc(ExcKind::AssertionError).clone(),
            )),
            Op::BeforeWith => {
                let mgr = pop!(frame);
                let (exit, entered) = self.before_with(&mgr)?;
                frame.stack.push(exit);
                frame.stack.push(entered);
            }
            Op::WithExceptStart => {
                let exc = top!(frame).clone();
                let exit = self.peek(frame, 3)?;
                let r = self.with_exit_exc(&exit, &exc)?;
                frame.stack.push(r);
            }
            Op::PrintExpr => {
                let v = pop!(frame);
                self.print_expr(&v)?;
            }
            hot @ (Op::Nop
            | Op::Pop
            | Op::Copy(..)
            | Op::Swap(..)
            | Op::LoadConst(..)
            | Op::LoadLocal(..)
            | Op::StoreLocal(..)
            | Op::LoadGlobal(..)
            | Op::StoreGlobal(..)
            | Op::LoadDeref(..)
            | Op::StoreDeref(..)
            | Op::Binary(..)
            | Op::InPlace(..)
            | Op::Compare(..)
            | Op::UnaryNot
            | Op::UnaryNeg
            | Op::Subscr
            | Op::StoreSubscr
            | Op::LoadAttr(..)
            | Op::StoreAttr(..)
            | Op::BuildTuple(..)
            | Op::BuildList(..)
            | Op::ListAppend(..)
            | Op::UnpackSequence(..)
            | Op::Jump(..)
            | Op::JumpBackward(..)
            | Op::PopJumpIfFalse(..)
            | Op::PopJumpIfTrue(..)
            | Op::JumpIfFalseOrPop(..)
            | Op::JumpIfTrueOrPop(..)
            | Op::GetIter
            | Op::ForIter(..)
            | Op::Call(..)
            | Op::CallMethod(..)
            | Op::ReturnValue
            | Op::YieldValue) => {
                return Err(err!(SystemError, "{hot:?} reached the cold path"));
            }
        }
        Ok(None)
    }

    fn peek(&self, frame: &Frame, n: u32) -> PyResult<Value> {
        let len = frame.stack.len();
        if n == 0 || n as usize > len {
            return Err(stack_underflow());
        }
        Ok(frame.stack[len - n as usize].clone())
    }

    fn pop_n(&self, frame: &mut Frame, n: u32) -> PyResult<Vec<Value>> {
        let len = frame.stack.len();
        let n = n as usize;
        if n > len {
            return Err(stack_underflow());
        }
        Ok(frame.stack.split_off(len - n))
    }

    fn callee_pos(&self, frame: &Frame, n: u32, extra: usize) -> PyResult<usize> {
        frame
            .stack
            .len()
            .checked_sub(n as usize + 1 + extra)
            .ok_or_else(stack_underflow)
    }

    fn unbound_local(&self, code: &crate::interp::code::Code, slot: u32) -> PyErr {
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

    fn load_global(
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
        Err(err!(
            NameError,
            "name '{}' is not defined",
            code.names[n as usize]
        ))
    }

    fn load_name(
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

    fn cell<'f>(&self, frame: &'f Frame, i: u32) -> PyResult<&'f Arc<crate::object::CellObj>> {
        frame
            .cells
            .get(i as usize)
            .ok_or_else(|| err!(SystemError, "bad cell index {i}"))
    }

    fn load_deref(
        &self,
        frame: &Frame,
        code: &crate::interp::code::Code,
        i: u32,
    ) -> PyResult<Value> {
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

/// After a comparison: when the next instruction is a conditional jump on it, take the jump
/// decision right away (a fused `Compare; PopJumpIf*`), else push the bool.
#[inline(always)]
fn push_bool_or_jump(frame: &mut Frame, ops: &[Op], t: bool) {
    match ops.get(frame.ip) {
        Some(&Op::PopJumpIfFalse(l)) => frame.ip = if t { frame.ip + 1 } else { l.0 as usize },
        Some(&Op::PopJumpIfTrue(l)) => frame.ip = if t { l.0 as usize } else { frame.ip + 1 },
        _ => frame.stack.push(Value::Bool(t)),
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
