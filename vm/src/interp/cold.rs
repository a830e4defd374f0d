//! Stage 4, the dispatch loop's rarely-run half: class bodies, exception handling, imports,
//! unusual calls and builders. Kept apart from `run.rs` so the hot loop stays small enough for the
//! compiler to keep its state in registers, and the file one screen shorter for a reader.

use minivm_compiler::bytecode::Op;

use crate::heap::Ref;
use crate::interp::code::Code;
use crate::interp::frame::{Frame, Handler};
use crate::interp::run::Flow;
use crate::interp::Interp;
use crate::object::ExcKind;
use crate::value::Value;
use crate::{err, PyResult};

impl Interp {
    /// `CALL_KW`'s call of the callable at `fpos` with the arguments above it, the last ones
    /// named by the tuple `names`: a bound method's function called with its receiver first;
    /// a Python function whose parameters take the keywords runs in the loop.
    fn call_kw_at(
        &mut self,
        frame: &mut Frame,
        fpos: usize,
        names: &Value,
    ) -> PyResult<Option<Flow>> {
        crate::interp::call::unpack_bound(&mut frame.stack, fpos);
        if let Some(callee) = self.try_push_call_kw(frame, fpos, names) {
            return Ok(Some(Flow::Call(callee)));
        }
        let kw = self.split_keywords(frame, names)?;
        let r = self.call_on_stack(frame, fpos, &kw)?;
        frame.stack.push(r);
        Ok(None)
    }

    /// The instructions a hot loop rarely runs (class bodies, exception handling, imports, unusual
    /// calls), kept out of `dispatch` so the hot loop stays small enough to keep its state in registers.
    #[inline(never)]
    pub(crate) fn cold_op(
        &mut self,
        frame: &mut Frame,
        code: &Ref<Code>,
        op: Op,
    ) -> PyResult<Option<Flow>> {
        match op {
            Op::DeleteLocal(l) => {
                let slot = &mut frame.locals[l.0 as usize];
                if let Value::Undefined = std::mem::take(slot) {
                    return Err(self.unbound_local(code, l.0));
                }
                // `del g` frees a generator: it is closed now (finalize.rs), as in CPython.
                self.after_drops(Some(frame));
            }
            Op::DeleteGlobal(n) => {
                let key = &code.name_keys[n.0 as usize];
                if frame.globals.remove(key).is_none() {
                    return Err(self.name_error(code, &frame.globals, n.0));
                }
                self.after_drops(Some(frame));
            }
            Op::LoadName(n) => {
                let v = match frame.mapping.clone() {
                    Some(m) => match self.mapping_get(&m, &code.names[n.0 as usize])? {
                        Some(v) => v,
                        None => self.load_global(&frame.globals, code, n.0)?,
                    },
                    None => self.load_name(frame, code, n.0)?,
                };
                frame.stack.push(v);
            }
            Op::StoreName(n) => {
                let v = pop!(frame);
                if let Some(m) = frame.mapping.clone() {
                    self.setitem(&m, Value::str(&code.names[n.0 as usize]), v)?;
                } else {
                    let ns = frame.namespace.as_ref().unwrap_or(&frame.globals);
                    ns.set(code.name_keys[n.0 as usize].clone(), v);
                }
            }
            Op::DeleteName(n) => {
                if let Some(m) = frame.mapping.clone() {
                    match self.delitem(&m, &Value::str(&code.names[n.0 as usize])) {
                        Err(e) if e.is(crate::object::ExcKind::KeyError) => {
                            return Err(self.name_error(code, &frame.globals, n.0));
                        }
                        r => r?,
                    }
                } else {
                    let key = &code.name_keys[n.0 as usize];
                    let ns = frame.namespace.as_ref().unwrap_or(&frame.globals);
                    if ns.remove(key).is_none() {
                        return Err(self.name_error(code, &frame.globals, n.0));
                    }
                }
                self.after_drops(Some(frame));
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
                let found = match frame.mapping.clone() {
                    Some(m) => self.mapping_get(&m, name)?,
                    None => frame.namespace.as_ref().and_then(|ns| ns.get_str(name)),
                };
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
                // `del items[i]` may free the last reference: finalizers and weakref callbacks
                // run now, as CPython's would inside the statement.
                drop((obj, key));
                self.after_drops(Some(frame));
            }
            Op::DeleteAttr(n) => {
                let obj = pop!(frame);
                self.delattr(&obj, &code.names[n.0 as usize])?;
                drop(obj);
                self.after_drops(Some(frame));
            }
            Op::BuildString(n) => {
                let items = self.pop_n(frame, n)?;
                let mut s = String::new();
                for it in &items {
                    s.push_str(it.as_str().unwrap_or(""));
                }
                frame.stack.push(Value::string(s));
            }
            Op::SetUpdate(n) => {
                // `set.update`'s own path (CPython's `_PySet_Update`): from a set, the table
                // merged as CPython merges it, so the result iterates in CPython's order.
                let it = pop!(frame);
                let target = self.peek(frame, n)?;
                match &target {
                    Value::Set(s) => crate::builtins::set_methods::inplace_op(self, s, '|', &it)?,
                    _ => return Err(err!(SystemError, "set update target is not a set")),
                }
            }
            Op::ListExtend(n) => {
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
            Op::UnpackEx(before, after) => {
                let v = pop!(frame);
                self.unpack(frame, v, before.into(), Some(after as usize))?;
            }
            Op::FormatValue(flags) => {
                let spec = if flags.has_spec {
                    Some(pop!(frame))
                } else {
                    None
                };
                let v = pop!(frame);
                let s = self.format_value(&v, flags.conversion.map(char::from), spec.as_ref())?;
                frame.stack.push(s);
            }
            Op::MakeFunction(c, flags) => {
                let f = self.make_function(frame, code, c, flags)?;
                frame.stack.push(f);
            }
            Op::CallComprehension(c, n) => {
                if let Some(callee) = self.call_comprehension(frame, code, c, n.into())? {
                    return Ok(Some(Flow::Call(callee)));
                }
            }
            Op::CallKw(n) => {
                let names = pop!(frame);
                let fpos = self.callee_pos(frame, n, 0)?;
                return self.call_kw_at(frame, fpos, &names);
            }
            Op::CallEx(has_kwargs) => {
                let kwargs = if has_kwargs { Some(pop!(frame)) } else { None };
                let args = pop!(frame);
                let f = pop!(frame);
                let r = self.parked(frame, |s| s.call_ex(&f, &args, kwargs.as_ref()))?;
                frame.stack.push(r);
            }
            // What `LOAD_METHOD` left, called with keywords: NULL below the callable goes (the
            // call is then `CALL_KW`'s); a method below its receiver is called with the receiver
            // as its first argument, no bound method made (callgrind, 2026-12-04: a
            // `t += o.m2(i, b=i)` loop 2,203 -> 1,391 machine instructions per iteration against
            // a bound method's call, CPython 1,072).
            Op::CallLoadedKw(n) => {
                let names = pop!(frame);
                let opos = self.callee_pos(frame, n, 1)?;
                match frame.stack.get(opos) {
                    Some(Value::Undefined) => {
                        frame.stack.remove(opos);
                    }
                    // A hot built-in method (`l.pop`, `d.get`) has no keyword form answered in
                    // place: the method itself, called as any other.
                    Some(Value::Int(_)) => self.resolve_hot_method(&mut frame.stack, opos),
                    _ => {}
                }
                return self.call_kw_at(frame, opos, &names);
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
                // A generator delegate runs in the dispatch loop, on top of this frame.
                if let Some(mut gframe) = self.enter_generator(frame, false) {
                    // A level of a `yield from` chain, parked on its own `YieldFrom`.
                    if std::mem::take(&mut gframe.parked) {
                        return Ok(Some(Flow::PushChain(gframe)));
                    }
                    return Ok(Some(Flow::Push(gframe)));
                }
                let sent = pop!(frame);
                let it = top!(frame).clone();
                // Parked while the delegate runs in a nested loop (a coroutine `await`ing
                // another): `sys._getframe()` and a task's repr see this frame waiting there.
                match self.parked(frame, |s| s.send_into(&it, sent))? {
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
                // The importing frame is parked while the module runs: its code sees it as its
                // caller (`sys._getframe(1).f_back`), so `warnings.warn(..., stacklevel=2)` at a
                // module's top level names the `import` line, as CPython's does.
                let globals = frame.globals.clone();
                let name = &code.names[n.0 as usize];
                let m = self.parked(frame, |s| s.import_name(name, &globals))?;
                frame.stack.push(m);
            }
            Op::ImportFrom(n) => {
                let m = top!(frame).clone();
                let name = &code.names[n.0 as usize];
                let v = if &**name == "*" {
                    if frame.mapping.is_some() {
                        return Err(err!(
                            NotImplementedError,
                            "minivm cannot run 'from ... import *' in a namespace that is not a dict"
                        ));
                    }
                    let ns = frame.namespace.as_ref().unwrap_or(&frame.globals).clone();
                    self.import_star(&m, &ns)?;
                    Value::None
                } else {
                    self.import_from(&m, name)?
                };
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
                // `with cProfile.Profile():` began profiling in a nested loop: the loop running
                // this frame goes on in the observed instance from the next instruction.
                if self.profiling && crate::stdlib::lsprof::enabled_anywhere() {
                    return Err(self.switch_loops(self.depth));
                }
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
            Op::MatchSequence
            | Op::MatchMapping
            | Op::GetLen
            | Op::MatchKeys
            | Op::MatchClass(..)
            | Op::CopyDictWithoutKeys => self.match_op(frame, op)?,
            Op::GetAwaitable
            | Op::GetAIter
            | Op::GetANext
            | Op::EndAsyncFor
            | Op::BeforeAsyncWith => self.async_op(frame, op)?,
            Op::CheckEgMatch | Op::PrepReraiseStar => self.except_star_op(frame, op)?,
            hot @ minivm_compiler::hot_ops!() => {
                return Err(err!(SystemError, "{hot:?} reached the cold path"));
            }
        }
        Ok(None)
    }
}
