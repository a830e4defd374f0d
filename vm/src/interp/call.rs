//! Stage 4 (VM), the interpreter.
//! Calls: binding arguments to a new frame's parameters, calling any callable, and generators.

use std::sync::Arc;

use minivm_compiler::bytecode::{ConstIdx, MakeFunctionFlags, Op};

use crate::heap::{AnyModel, CellAccess, Ref};
use crate::interp::code::{Code, InlineCache};
use crate::interp::frame::{Frame, Resumed};
use crate::interp::run::Exit;
use crate::interp::{Args, Interp};
use crate::object::{
    type_name, AttrMap, BoundMethod, CellObj, Class, Ctor, Dict, Function, GenStatus, Generator,
    NativeFunction, NativeKind, TypeKind,
};
use crate::value::Value;
use crate::{err, PyErr, PyResult};

pub type Kwargs = Vec<(Arc<str>, Value)>;

/// How many methods a [`MethodCache`] remembers.
const METHOD_CACHE_SLOTS: usize = 64;

/// The native methods of built-in types that `obj.name(...)` found last (`list.append`,
/// `dict.get`), so that the next such call looks nothing up by name: a small table indexed by
/// the addresses of the type and of the instruction's interned name. An entry holds its type
/// and name (so neither address can be reused by another while it is there) and the class
/// epoch it was found in (any class change empties it, as the classes' own lookup caches).
/// One per interpreter, i.e. per thread: no lock.
#[derive(Default)]
pub struct MethodCache(Vec<Option<CachedMethod>>);

struct CachedMethod {
    epoch: u64,
    class: Ref<Class>,
    name: Arc<str>,
    method: Ref<NativeFunction>,
}

impl MethodCache {
    fn slot(class: &Ref<Class>, name: &Arc<str>) -> usize {
        let a = Ref::as_ptr(class) as usize;
        let b = Arc::as_ptr(name) as *const u8 as usize;
        // Fibonacci hashing of the two addresses; the top bits pick the slot.
        ((a ^ b.rotate_left(17)) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) as usize
            >> (usize::BITS - METHOD_CACHE_SLOTS.trailing_zeros())
    }

    fn get(&self, epoch: u64, class: &Ref<Class>, name: &Arc<str>) -> Option<Ref<NativeFunction>> {
        let e = self.0.get(Self::slot(class, name))?.as_ref()?;
        let hit = e.epoch == epoch && Ref::ptr_eq(&e.class, class) && Arc::ptr_eq(&e.name, name);
        hit.then(|| e.method.clone())
    }

    fn put(
        &mut self,
        epoch: u64,
        class: &Ref<Class>,
        name: &Arc<str>,
        method: &Ref<NativeFunction>,
    ) {
        if self.0.is_empty() {
            self.0.resize_with(METHOD_CACHE_SLOTS, || None);
        }
        self.0[Self::slot(class, name)] = Some(CachedMethod {
            epoch,
            class: class.clone(),
            name: name.clone(),
            method: method.clone(),
        });
    }
}

impl Interp {
    /// Call any callable with positional arguments.
    pub fn call(&mut self, f: &Value, args: &[Value]) -> PyResult<Value> {
        self.call_kw(f, args, &[])
    }

    /// Call any callable with positional and keyword arguments.
    pub fn call_kw(
        &mut self,
        f: &Value,
        args: &[Value],
        kw: &[(Arc<str>, Value)],
    ) -> PyResult<Value> {
        match f {
            Value::Function(func) => {
                let frame = self.new_frame(func, args, kw)?;
                if func.code.obj.flags.generator {
                    return Ok(self.new_generator(&func.code.get(), frame, names_of(func)));
                }
                match self.run_frame(frame)? {
                    Exit::Return(v) => Ok(v),
                    Exit::Yield(..) => Err(err!(SystemError, "a plain function yielded")),
                }
            }
            Value::Native(n) if n.owner.is_some() => {
                if let Some(owner) = &n.owner {
                    crate::interp::subclass::check_owner(n, owner, args)?;
                }
                (n.func)(self, Args { pos: args, kw })
            }
            Value::Native(n) => match may_unwrap(n, args)
                .then(|| crate::interp::subclass::unwrapped_args(n, args))
                .flatten()
            {
                Some(pos) => (n.func)(self, Args { pos: &pos, kw }).map_err(|e| {
                    crate::interp::subclass::name_receiver(e, args.first(), pos.first())
                }),
                None => (n.func)(self, Args { pos: args, kw }),
            },
            // The receiver and up to two arguments are staged on the stack, not in a new `Vec`
            // (`map(s.join, xs)`, a `key=` or a callback: an allocation and a free were about
            // 60 of the ~250 machine instructions this arm took per call, callgrind). The
            // method is borrowed from `f`, which the caller holds for the call.
            Value::BoundMethod(m) => match args {
                [] => self.call_kw(&m.func, std::slice::from_ref(&m.receiver), kw),
                [x] => self.call_kw(&m.func, &[m.receiver.clone(), x.clone()], kw),
                [x, y] => self.call_kw(&m.func, &[m.receiver.clone(), x.clone(), y.clone()], kw),
                _ => {
                    let mut full = Vec::with_capacity(args.len() + 1);
                    full.push(m.receiver.clone());
                    full.extend_from_slice(args);
                    self.call_kw(&m.func, &full, kw)
                }
            },
            Value::Class(cls) => self.instantiate(cls, args, kw),
            Value::Instance(_) => match self.lookup_special(f, "__call__") {
                Some(m) => {
                    let mut full = Vec::with_capacity(args.len() + 1);
                    full.push(f.clone());
                    full.extend_from_slice(args);
                    // CPython 3.11 calls an instance through `tp_call`, one recursion level
                    // held while `__call__` runs ("while calling a Python object").
                    self.with_recursion(crate::interp::guard::CALLING, |s| s.call_kw(&m, &full, kw))
                }
                None => Err(not_callable(f)),
            },
            _ => Err(not_callable(f)),
        }
    }

    /// If the callee at `fpos` is a plain Python function, bind its arguments from the stack and return
    /// the new frame for the dispatch loop to run (no Rust recursion).
    pub(crate) fn try_push_call(
        &mut self,
        frame: &mut Frame,
        fpos: usize,
    ) -> PyResult<Option<Box<Frame>>> {
        if unpack_bound(&mut frame.stack, fpos) {
            // Now `func(receiver, args)`: the function's own call, in this loop.
            let n = u32::try_from(frame.stack.len() - fpos - 1).unwrap_or(u32::MAX);
            if let Some(callee) = self.plain_call(frame, fpos, n) {
                return Ok(Some(callee));
            }
        }
        // The function is borrowed in place, beside the arguments it takes (no count to change);
        // it leaves the stack with them.
        let (callee_slot, args) = frame.stack.split_at_mut(fpos + 1);
        let func = match callee_slot.last() {
            Some(Value::Function(f)) if !f.code.obj.flags.generator => f,
            Some(Value::Class(_)) => return Ok(self.try_push_init(&mut frame.stack, fpos)),
            _ => return Ok(None),
        };
        if let Some(callee) = self.defaults_frame(func, args) {
            // The arguments' slots are empty now: only the function has a count to drop.
            pop_moved(&mut frame.stack, fpos + 1);
            if let Some(func) = frame.stack.pop() {
                func.discard();
            }
            return Ok(Some(callee));
        }
        let callee = if binds_simply(&func.code, args.len()) {
            let mut callee = self.blank_frame(func);
            move_args(&mut callee.locals, args);
            self.finish_frame(func, &mut callee);
            callee
        } else {
            self.new_frame(func, args, &[])?
        };
        frame.stack.truncate(fpos);
        Ok(Some(callee))
    }

    /// `f(args)` where `f`, at `fpos`, is a Python function the `n` arguments above it fill
    /// exactly and that runs as a plain frame (`Code::plain_args`), and a finished frame is in
    /// the pool: that frame, set up for the call, the arguments moved into its first slots (no
    /// count changed) and gone from the caller's stack with the function. Inline in the `Call`
    /// arm: the common call pays no function call, no `Result` and no binder. `None`, the
    /// stack untouched, leaves the call to `try_push_call`.
    #[inline(always)]
    pub(crate) fn plain_call(
        &mut self,
        frame: &mut Frame,
        fpos: usize,
        n: u32,
    ) -> Option<Box<Frame>> {
        let Some((Value::Function(func), args)) = frame
            .stack
            .get_mut(fpos..)
            .and_then(|s| s.split_first_mut())
        else {
            return None;
        };
        if func.code.plain_args != n {
            return None;
        }
        let mut callee = self.frame_pool.pop()?;
        self.enter_plain(&mut callee, func, args);
        // The arguments' slots are empty now: only the function has a count to drop.
        pop_moved(&mut frame.stack, fpos + 1);
        // Discarded (the count decremented inline), not dropped as a `Ref<Function>`: that
        // was an out-of-line drop-glue call per call.
        if let Some(func) = frame.stack.pop() {
            func.discard();
        }
        Some(callee)
    }

    /// Set up `callee`, a frame from the pool (`Frame::reset` emptied it), to run `func` with
    /// `args` (taken, leaving empty slots) as its first locals: `plain_call`'s and
    /// `plain_method`'s work. Code and globals are kept when the frame last ran the same
    /// function (recursion, a loop calling one function): no count changes then.
    #[inline(always)]
    fn enter_plain(&mut self, callee: &mut Frame, func: &Ref<Function>, args: &mut [Value]) {
        enter_code::<false, AnyModel>(AnyModel, callee, func, &self.cur_exc);
        take_args(callee, func.code.nlocals, args);
    }

    /// Calling a plain user class whose `__init__` is a Python function taking the arguments
    /// as they are (`instantiate_plain`'s common case): the new instance, and `__init__`'s
    /// frame with it as `self`, to run in the caller's loop (as CPython 3.12 does); its return
    /// gives the caller the instance (`Resumed::Init`). `None` for any other class.
    ///
    /// The class call holds one recursion level while `__init__` runs, as CPython 3.11's
    /// `tp_call` does ("while calling a Python object"): taken here, given back when the frame
    /// returns (`return_inline`) or unwinds. Without room for it and the frame, `None`: the
    /// general path raises the error where CPython does.
    #[inline(never)]
    pub(crate) fn try_push_init(
        &mut self,
        stack: &mut Vec<Value>,
        fpos: usize,
    ) -> Option<Box<Frame>> {
        let limit = self
            .vm
            .recursion_limit
            .load(std::sync::atomic::Ordering::Relaxed);
        if self.depth + 1 >= limit {
            return None;
        }
        let nargs = stack.len().checked_sub(fpos + 1)?;
        let cls = match stack.get(fpos) {
            // A built-in type is never `Ctor::Plain`: no look-up needed to know.
            Some(Value::Class(cls)) if !cls.builtin => cls,
            _ => return None,
        };
        // The plan is read where the class caches it (`Class::with_ctor`). An `__init__` the
        // arguments fill exactly (the usual case, known by `plain_args` without
        // `simple_init`'s call) gets a pooled frame with its code and globals while it is lent:
        // the function is neither cloned nor dropped (a clone, and a call of its drop glue,
        // per instance made, with the plan returned by value from a call of its own).
        let pool = &mut self.frame_pool;
        let cur_exc = &self.cur_exc;
        let found = cls.with_ctor(
            #[inline(always)]
            |ctor| match ctor {
                Ctor::Plain(Some(Value::Function(init))) => {
                    if init.code.plain_args as usize == nargs + 1 {
                        if let Some(mut callee) = pool.pop() {
                            enter_code::<false, AnyModel>(AnyModel, &mut callee, init, cur_exc);
                            return InitFound::Ready(callee, init.code.nlocals);
                        }
                    }
                    if init.code.plain_args as usize == nargs + 1
                        || simple_init(init, nargs)
                        || (defaults_fit(init, nargs + 1) && !pool.is_empty())
                    {
                        InitFound::Other(init.clone())
                    } else {
                        InitFound::No
                    }
                }
                _ => InitFound::No,
            },
        );
        // The class moves from its stack slot into the instance (no count changed); the
        // instance takes the slot, first of `__init__`'s arguments.
        let (ready, init) = match found {
            InitFound::Ready(callee, nlocals) => (Some((callee, nlocals)), None),
            InitFound::Other(init) => (None, Some(init)),
            InitFound::No => return None,
        };
        let slot = stack.get_mut(fpos)?;
        let cls = match std::mem::take(slot) {
            Value::Class(cls) => cls,
            other => {
                *slot = other;
                return None;
            }
        };
        // Counted as a `Value` (`Value::clone`, inline, where `Ref::clone` is a call).
        let obj = Value::Instance(crate::object::Instance::new_plain(cls));
        let made = obj.clone();
        std::mem::replace(slot, obj).discard();
        let mut callee = match (ready, init) {
            (Some((mut callee, nlocals)), _) => {
                if let Some(args) = stack.get_mut(fpos..) {
                    take_args(&mut callee, nlocals, args);
                }
                pop_moved(stack, fpos);
                callee
            }
            (None, Some(init)) => {
                let callee =
                    if init.code.plain_args as usize == nargs + 1 && !self.frame_pool.is_empty() {
                        self.plain_frame(&init, stack, fpos)?
                    } else if defaults_fit(&init, nargs + 1) {
                        // `__init__(self, a, b=0)` called with `a`: the rest its defaults (the
                        // pool was found not empty).
                        let callee = self.defaults_frame(&init, stack.get_mut(fpos..)?)?;
                        pop_moved(stack, fpos);
                        callee
                    } else {
                        let mut callee = self.blank_frame(&init);
                        callee.locals.push(made.clone());
                        if let Some(args) = stack.get_mut(fpos + 1..) {
                            move_args(&mut callee.locals, args);
                        }
                        self.finish_frame(&init, &mut callee);
                        stack.truncate(fpos);
                        callee
                    };
                Value::Function(init).discard();
                callee
            }
            (None, None) => return None,
        };
        callee.resumed = Resumed::Init;
        // A pooled frame's `made` is empty (`Frame::reset`): tested inline rather than dropped
        // by the out-of-line drop glue of an assignment.
        if let Value::Instance(obj) = made {
            callee.set_extras();
            if let Some(old) = callee.made.replace(obj) {
                drop(old);
            }
        }
        self.depth += 1;
        Some(callee)
    }

    /// `f(a, b, k=v)` (`CallKw`, the keyword names tuple `names` popped) where `f` is a Python
    /// function (not a generator) without `*args`/`**kwargs` and every keyword names one of its
    /// parameters not given positionally: the new frame, arguments moved into their slots and
    /// the remaining parameters filled from the defaults, for the dispatch loop to run. `None`,
    /// the stack untouched, for anything else (the general binder then also reports errors).
    /// No allocation: the keyword names are compared with the parameter names in place.
    pub(crate) fn try_push_call_kw(
        &mut self,
        frame: &mut Frame,
        fpos: usize,
        names: &Value,
    ) -> Option<Box<Frame>> {
        /// More keywords than this take the general path.
        const MAX_KW: usize = 8;
        let Value::Tuple(names) = names else {
            return None;
        };
        let Some(Value::Function(func)) = frame.stack.get(fpos) else {
            return None;
        };
        let obj = &func.code.obj;
        if obj.flags.generator || obj.flags.varargs || obj.flags.varkeywords {
            return None;
        }
        let nkw = names.items.len();
        let total = frame.stack.len().checked_sub(fpos + 1)?;
        let npos = total.checked_sub(nkw)?;
        let argcount = obj.argcount as usize;
        let nparams = argcount + obj.kwonlyargcount as usize;
        if npos > argcount || nkw > MAX_KW || nparams > 64 {
            return None;
        }
        // Where each keyword goes; a parameter given twice or not found: general path.
        let mut slots = [0usize; MAX_KW];
        let mut filled: u64 = if npos == 64 {
            u64::MAX
        } else {
            (1u64 << npos) - 1
        };
        for (k, name) in names.items.iter().enumerate() {
            let name = name.as_str()?;
            // A plain loop: `Iterator::position` was left out of line (about 60 machine
            // instructions a keyword, callgrind).
            let mut i = obj.posonlyargcount as usize;
            loop {
                if same_name(obj.varnames.get(i).filter(|_| i < nparams)?, name) {
                    break;
                }
                i += 1;
            }
            if filled & (1 << i) != 0 {
                return None;
            }
            filled |= 1 << i;
            slots[k] = i;
        }
        // Every parameter left must have a default.
        let first_default = argcount.saturating_sub(func.defaults.len());
        for i in 0..nparams {
            if filled & (1 << i) != 0 {
                continue;
            }
            let has_default = if i < argcount {
                i >= first_default
            } else {
                func.defaults
                    .kw
                    .as_ref()
                    .is_some_and(|d| obj.varnames.get(i).and_then(|n| d.get_str(n)).is_some())
            };
            if !has_default {
                return None;
            }
        }
        // The function stays where it is on the caller's stack (no count changed) while the
        // arguments move out from above it.
        let (Value::Function(func), args) = frame.stack.get_mut(fpos..)?.split_first_mut()? else {
            return None;
        };
        let obj = &func.code.obj;
        let mut callee = self.pooled_frame(func);
        // A reused frame's slots are all empty (`Frame::reset`): cut or grow them to the count
        // needed without the drop glue of `resize` (not inlined; 32 machine instructions a call).
        let nlocals = func.code.nlocals.max(nparams);
        if callee.locals.len() != nlocals {
            let keep = nlocals.min(callee.locals.len());
            pop_moved(&mut callee.locals, keep);
            callee.locals.reserve(nlocals - callee.locals.len());
            while callee.locals.len() < nlocals {
                callee.locals.push(Value::Undefined);
            }
        }
        for (slot, v) in callee.locals.iter_mut().zip(args[..npos].iter_mut()) {
            *slot = std::mem::take(v);
        }
        for (k, v) in args[npos..].iter_mut().enumerate() {
            callee.locals[slots[k]] = std::mem::take(v);
        }
        for i in 0..nparams {
            if filled & (1 << i) != 0 {
                continue;
            }
            callee.locals[i] = if i < argcount {
                func.defaults[i - first_default].clone()
            } else {
                func.defaults
                    .kw
                    .as_ref()
                    .and_then(|d| obj.varnames.get(i).and_then(|n| d.get_str(n)))
                    .unwrap_or_default()
            };
        }
        self.finish_frame(func, &mut callee);
        // The arguments' slots are empty now: only the function has a count to drop.
        pop_moved(&mut frame.stack, fpos + 1);
        // Discarded (the count decremented inline), not dropped as a `Ref<Function>`: that
        // was an out-of-line drop-glue call per call.
        if let Some(func) = frame.stack.pop() {
            func.discard();
        }
        Some(callee)
    }

    /// `obj.name(args)` where `obj.name` is a Python function found on the class: a new frame with
    /// `obj` as the first argument, without building a bound method. The class lookup goes
    /// through the instruction's inline cache.
    #[inline(never)]
    pub(crate) fn try_push_method(
        &mut self,
        frame: &mut Frame,
        opos: usize,
        name: &Arc<str>,
        cache: &InlineCache,
    ) -> PyResult<Option<Box<Frame>>> {
        // The model tested once: in the GIL model the instance's table and the class's cache
        // are taken without testing it again each, and their guards' releases are plain
        // stores (callgrind, deltablue: about 7 machine instructions fewer per method call).
        match crate::heap::gil_model() {
            Some(gil) => self.push_method_in(gil, frame, opos, name, cache),
            None => self.push_method_in(AnyModel, frame, opos, name, cache),
        }
    }

    /// `CALL_METHOD_LOCAL` (`self.m()`) on `held`, an instance in a local slot: as
    /// `try_push_method`, with the receiver read where it is, in the caller's slot (lent by the
    /// arm, which has read and tested the slot already). A method whose one parameter
    /// is `self` gets a pooled frame with a clone of the receiver in its first slot: nothing is
    /// pushed on the caller's stack and moved off it again. `None` for anything else (the
    /// instruction then pushes the receiver and goes on as `CALL_METHOD`).
    ///
    /// The usual case, the GIL model with every cache hit, is `method_local_hit`: a path with
    /// no calls, so that this function saves no registers; everything else (a miss, a frame to
    /// fill another way, free-threading) goes to `push_method_local`, which does the whole
    /// work again from the start (the hit path changes nothing before it commits).
    pub(crate) fn try_push_method_local(
        &mut self,
        held: &Value,
        name: &Arc<str>,
        cache: &InlineCache,
    ) -> Option<Box<Frame>> {
        if let Some(gil) = crate::heap::gil_model() {
            if let Some(callee) = self.method_local_hit(gil, held, name, cache) {
                return Some(callee);
            }
        }
        self.push_method_local(held, name, cache)
    }

    /// `try_push_method_local`'s hit path (GIL model), as CPython 3.11's `LOAD_METHOD_WITH_VALUES`
    /// and `CALL_PY_EXACT_ARGS` check their caches: the instance table's layout is the one the
    /// instruction's cache word was taken on and lacks the name, or whose summary of its names
    /// rules the name out (`attr::absent_by_layout_gil`);
    /// the class has no `__getattribute__` and its cache of the current epoch has the name at
    /// the hinted place (`Class::method_hit_gil`), a Python function of one plain parameter
    /// with no closure; no exception is being handled (nothing to save in the frame); the pool
    /// has a frame. Then the frame gets its code and globals and the receiver (counted inline)
    /// in its first slot. `None` before anything is changed when any test fails.
    #[inline(always)]
    fn method_local_hit(
        &mut self,
        gil: crate::heap::GilModel,
        held: &Value,
        name: &Arc<str>,
        cache: &InlineCache,
    ) -> Option<Box<Frame>> {
        let Value::Instance(inst) = held else {
            return None;
        };
        if self.cur_exc.is_some()
            || !crate::interp::attr::absent_by_layout_gil(gil, &inst.dict, name, &cache.word)
        {
            return None;
        }
        let pool = &mut self.frame_pool;
        inst.class.method_hit_gil(
            gil,
            name,
            &cache.class_hint,
            #[inline(always)]
            |v| match v {
                Value::Function(f) if f.code.plain_args == 1 && f.closure.is_empty() => {
                    let mut callee = pool.pop()?;
                    enter_code::<true, crate::heap::GilModel>(gil, &mut callee, f, &None);
                    let receiver = Value::Instance(Ref::clone_in(gil, inst));
                    let nlocals = f.code.nlocals;
                    // `nlocals <= len <= nlocals + SPARE_SLOTS`, one compare.
                    let fits = callee.locals.len().wrapping_sub(nlocals) <= SPARE_SLOTS;
                    match callee.locals.first_mut() {
                        // The slots are there, empty (`Frame::reset`), as `take_args` finds
                        // them.
                        Some(first) if fits => {
                            debug_assert!(matches!(first, Value::Undefined));
                            std::mem::forget(std::mem::replace(first, receiver));
                        }
                        _ => fill_locals(&mut callee.locals, nlocals, &mut [receiver]),
                    }
                    Some(callee)
                }
                _ => None,
            },
        )
    }

    /// `try_push_method_local`'s general path, either model, every case.
    #[inline(never)]
    fn push_method_local(
        &mut self,
        held: &Value,
        name: &Arc<str>,
        cache: &InlineCache,
    ) -> Option<Box<Frame>> {
        match crate::heap::gil_model() {
            Some(gil) => self.push_method_local_in(gil, held, name, cache),
            None => self.push_method_local_in(AnyModel, held, name, cache),
        }
    }

    /// `try_push_method_local`'s work, the cells taken as `access` takes them.
    #[inline(always)]
    fn push_method_local_in<A: CellAccess>(
        &mut self,
        access: A,
        held: &Value,
        name: &Arc<str>,
        cache: &InlineCache,
    ) -> Option<Box<Frame>> {
        let Value::Instance(inst) = held else {
            return None;
        };
        if inst.class.attr_flags() & crate::object::HAS_GETATTRIBUTE != 0
            || crate::interp::attr::method_shadowed_in(access, &inst.dict, name, &cache.word)
        {
            return None;
        }
        let pool = &mut self.frame_pool;
        let cur_exc = &self.cur_exc;
        let (mut callee, nlocals) = inst.class.with_hinted_in::<true, _, _>(
            access,
            name,
            &cache.class_hint,
            #[inline(always)]
            |v| match v {
                Some(Value::Function(f)) if f.code.plain_args == 1 => {
                    let mut callee = pool.pop()?;
                    enter_code::<true, A>(access, &mut callee, f, cur_exc);
                    Some((callee, f.code.nlocals))
                }
                _ => None,
            },
        )?;
        // The slot's value cloned (`Value::clone`, inline: a tag test and the count), not the
        // `Ref<Instance>` wrapped again: `Ref::clone` stayed a call (12 machine instructions);
        // inline, 2 fewer a call in all (callgrind, deltablue: 2.8 million such calls).
        let receiver = held.clone();
        let have = callee.locals.len();
        match callee.locals.first_mut() {
            // The slots are there, empty (`Frame::reset`), as `take_args` finds them.
            Some(first) if have >= nlocals && have <= nlocals + SPARE_SLOTS => {
                debug_assert!(matches!(first, Value::Undefined));
                std::mem::forget(std::mem::replace(first, receiver));
            }
            _ => fill_locals(&mut callee.locals, nlocals, &mut [receiver]),
        }
        Some(callee)
    }

    /// `try_push_method`'s work, the cells taken as `access` takes them.
    #[inline(always)]
    fn push_method_in<A: CellAccess>(
        &mut self,
        access: A,
        frame: &mut Frame,
        opos: usize,
        name: &Arc<str>,
        cache: &InlineCache,
    ) -> PyResult<Option<Box<Frame>>> {
        let Value::Instance(inst) = &frame.stack[opos] else {
            return Ok(None);
        };
        if inst.class.attr_flags() & crate::object::HAS_GETATTRIBUTE != 0
            || crate::interp::attr::method_shadowed_in(access, &inst.dict, name, &cache.word)
        {
            return Ok(None);
        }
        // The method is lent by the class's cache, not cloned out of it: when the arguments
        // fill its parameters exactly and the pool has a frame, that frame gets its code and
        // globals while it is lent (`enter_code` looks nothing up on a class and runs no Python
        // code), and the function's count is never touched (a clone and a drop per call
        // before). The receiver and the arguments move in after, the class's cache no longer
        // borrowed. Anything else clones the function and goes the general way.
        let nargs = frame.stack.len() - opos;
        let pool = &mut self.frame_pool;
        let cur_exc = &self.cur_exc;
        // The closure inlined: as a call of its own, returning the frame through memory, it
        // cost more than the count saves (callgrind: 824 -> 842 machine instructions per
        // `t += o.m()` iteration, against 818 inlined).
        let found = inst.class.with_hinted_in::<true, _, _>(
            access,
            name,
            &cache.class_hint,
            #[inline(always)]
            |v| match v {
                Some(Value::Function(f)) => {
                    // `plain_args` is never a generator's, so the usual case reads no further
                    // into the code object (the generator test first cost 3 dependent loads a
                    // call, callgrind).
                    if f.code.plain_args as usize == nargs {
                        if let Some(mut callee) = pool.pop() {
                            enter_code::<true, A>(access, &mut callee, f, cur_exc);
                            return Lent::Ready(callee, f.code.nlocals);
                        }
                    }
                    if f.code.head.flags.generator {
                        Lent::No
                    } else {
                        Lent::Other(f.clone())
                    }
                }
                _ => Lent::No,
            },
        );
        match found {
            Lent::Ready(mut callee, nlocals) => {
                if let Some(args) = frame.stack.get_mut(opos..) {
                    take_args(&mut callee, nlocals, args);
                }
                pop_moved(&mut frame.stack, opos);
                Ok(Some(callee))
            }
            Lent::Other(func) => self
                .new_frame_from_stack(&func, &mut frame.stack, opos)
                .map(Some),
            Lent::No => Ok(None),
        }
    }

    /// `obj[key]` on an instance whose class's `__getitem__` is a Python function of two plain
    /// parameters, the usual case checked as `method_local_hit` checks a method call's (GIL
    /// model; CPython 3.11's `BINARY_SUBSCR_GETITEM`): the class has no `__getattribute__` (not
    /// that a special method would see it: the hit path only shares `method_hit_gil`'s test)
    /// and its cache of the current epoch has the name at the instruction's hint; the function
    /// has no closure; no exception is being handled; the pool has a frame. Then a frame with
    /// clones of `obj` and `key` in its first two slots, entered by the caller as a call's.
    /// `None` before anything is changed otherwise: the caller goes the general way
    /// (`getitem_method`, `getitem_frame`), which also fills the class's cache and the hint.
    #[inline(never)]
    pub(crate) fn try_push_getitem(
        &mut self,
        obj: &Value,
        key: &Value,
        cache: &InlineCache,
    ) -> Option<Box<Frame>> {
        let gil = crate::heap::gil_model()?;
        let Value::Instance(inst) = obj else {
            return None;
        };
        if self.cur_exc.is_some() {
            return None;
        }
        let pool = &mut self.frame_pool;
        inst.class.method_hit_gil(
            gil,
            getitem_name(),
            &cache.class_hint,
            #[inline(always)]
            |v| match v {
                Value::Function(f) if f.code.plain_args == 2 && f.closure.is_empty() => {
                    let mut callee = pool.pop()?;
                    enter_code::<true, crate::heap::GilModel>(gil, &mut callee, f, &None);
                    let receiver = Value::Instance(Ref::clone_in(gil, inst));
                    let key = key.clone();
                    let nlocals = f.code.nlocals;
                    // `nlocals <= len <= nlocals + SPARE_SLOTS`, one compare; `nlocals` is at
                    // least the two parameters'.
                    let fits = callee.locals.len().wrapping_sub(nlocals) <= SPARE_SLOTS;
                    match callee.locals.get_mut(..2) {
                        // The slots are there, empty (`Frame::reset`), as `take_args` finds
                        // them.
                        Some([first, second]) if fits => {
                            debug_assert!(matches!(first, Value::Undefined));
                            debug_assert!(matches!(second, Value::Undefined));
                            std::mem::forget(std::mem::replace(first, receiver));
                            std::mem::forget(std::mem::replace(second, key));
                        }
                        _ => fill_locals(&mut callee.locals, nlocals, &mut [receiver, key]),
                    }
                    Some(callee)
                }
                _ => None,
            },
        )
    }

    /// The hit test `try_push_setitem` and `try_push_len` share: `name` on `class`, found through
    /// the instruction's hint, if it is a Python function of `params` plain parameters and no
    /// cells, entered in a pooled frame (returned with its number of local slots). A miss, for
    /// any reason, warms the class's cache and the hint for the next time.
    #[inline(always)]
    fn special_method_frame(
        &mut self,
        gil: crate::heap::GilModel,
        class: &crate::object::Class,
        name: &Arc<str>,
        cache: &InlineCache,
        params: u32,
    ) -> Option<(Box<Frame>, usize)> {
        let pool = &mut self.frame_pool;
        let found = class.method_hit_gil(
            gil,
            name,
            &cache.class_hint,
            #[inline(always)]
            |m| match m {
                Value::Function(f) if f.code.plain_args == params && f.closure.is_empty() => {
                    let mut callee = pool.pop()?;
                    enter_code::<true, crate::heap::GilModel>(gil, &mut callee, f, &None);
                    Some((callee, f.code.nlocals))
                }
                _ => None,
            },
        );
        if found.is_none() {
            class.with_hinted(name, &cache.class_hint, |_| ());
        }
        found
    }

    /// `obj[key] = v` (`STORE_SUBSCR`) on an instance whose class's `__setitem__` is a Python
    /// function of three plain parameters: as `try_push_getitem`, the three values moved into
    /// the frame's first slots (left empty where they were), the frame marked to drop its
    /// value (`Resumed::Store`). `None`, nothing moved, otherwise; the general way
    /// (`Interp::setitem`) then makes the call. A miss in the GIL model looks the name up
    /// through the instruction's hint (`Class::with_hinted`), so that the next time hits.
    #[inline(never)]
    pub(crate) fn try_push_setitem(
        &mut self,
        obj: &mut Value,
        key: &mut Value,
        v: &mut Value,
        cache: &InlineCache,
    ) -> Option<Box<Frame>> {
        let gil = crate::heap::gil_model()?;
        let Value::Instance(inst) = &*obj else {
            return None;
        };
        if self.cur_exc.is_some() {
            return None;
        }
        let (mut callee, nlocals) =
            self.special_method_frame(gil, &inst.class, setitem_name(), cache, 3)?;
        callee.resumed = Resumed::Store;
        let mut args = [std::mem::take(obj), std::mem::take(key), std::mem::take(v)];
        take_args(&mut callee, nlocals, &mut args);
        // The values moved into the slots: `args` holds empty ones.
        std::mem::forget(args);
        Some(callee)
    }

    /// `len(obj)` (a call of the built-in `len` at `stack[fpos]`, its one argument an instance
    /// above it) whose class's `__len__` is a Python function of one plain parameter: as
    /// `try_push_setitem`, the receiver moved into the frame's first slot, `len` and its
    /// argument gone from the stack, the frame marked to have its value checked and pushed
    /// when it returns (`Resumed::Len`). `None`, the stack untouched, otherwise; the call
    /// then goes the general way (`builtins::functions::length`).
    #[inline(never)]
    pub(crate) fn try_push_len(
        &mut self,
        stack: &mut Vec<Value>,
        fpos: usize,
        cache: &InlineCache,
    ) -> Option<Box<Frame>> {
        let gil = crate::heap::gil_model()?;
        let Some([_, Value::Instance(inst)]) = stack.get(fpos..) else {
            return None;
        };
        if self.cur_exc.is_some() {
            return None;
        }
        let (mut callee, nlocals) =
            self.special_method_frame(gil, &inst.class, len_name(), cache, 1)?;
        callee.resumed = Resumed::Len;
        if let Some(args) = stack.get_mut(fpos + 1..) {
            take_args(&mut callee, nlocals, args);
        }
        pop_moved(stack, fpos + 1);
        // `len` itself, a built-in function: its count dropped inline.
        if let Some(len) = stack.pop() {
            len.discard();
        }
        Some(callee)
    }

    /// The frame of `func`, `obj`'s class's `__getitem__` (`getitem_method`), called with
    /// `obj` and `key` (pushed on `stack` and moved in from there, as a method's arguments).
    #[inline(never)]
    pub(crate) fn getitem_frame(
        &mut self,
        stack: &mut Vec<Value>,
        func: &Ref<Function>,
        obj: Value,
        key: Value,
    ) -> PyResult<Box<Frame>> {
        stack.push(obj);
        stack.push(key);
        let pos = stack.len() - 2;
        self.method_frame(func, stack, pos)
    }

    /// The frame of `func`, a Python function found on the class of the receiver at
    /// `stack[start]`, called with the receiver and the arguments above it (moved in, gone
    /// from the stack): `plain_frame` when they fill its parameters exactly and the pool has a
    /// frame, else the general binder (defaults, cells, and its errors, raised in the caller).
    #[inline(always)]
    pub(crate) fn method_frame(
        &mut self,
        func: &Ref<Function>,
        stack: &mut Vec<Value>,
        start: usize,
    ) -> PyResult<Box<Frame>> {
        if let Some(callee) = self.plain_frame(func, stack, start) {
            return Ok(callee);
        }
        self.new_frame_from_stack(func, stack, start)
    }

    /// As `plain_call` for a function already found (a method, the receiver first among the
    /// arguments `stack[start..]`): its frame, the arguments moved in and gone from the stack.
    #[inline(always)]
    fn plain_frame(
        &mut self,
        func: &Ref<Function>,
        stack: &mut Vec<Value>,
        start: usize,
    ) -> Option<Box<Frame>> {
        let args = stack.get_mut(start..)?;
        if func.code.plain_args as usize != args.len() {
            return None;
        }
        let mut callee = self.frame_pool.pop()?;
        self.enter_plain(&mut callee, func, args);
        pop_moved(stack, start);
        Some(callee)
    }

    /// A frame running `func` with `arg` as its one argument (a property's getter, see
    /// `attr.rs: load_attr_or_getter`): set up as `plain_frame` does when `func` takes one
    /// plain argument and the pool has a frame, else by `new_frame`.
    pub(crate) fn frame_with_arg(
        &mut self,
        func: &Ref<Function>,
        arg: &Value,
    ) -> PyResult<Box<Frame>> {
        // Inline here, not through `new_frame`'s call (callgrind, the attributes kernel: about
        // 45 machine instructions more per getter).
        if let Some(callee) = self.lent_args_frame::<false>(func, std::slice::from_ref(arg)) {
            return Ok(callee);
        }
        self.new_frame(func, std::slice::from_ref(arg), &[])
    }

    /// A frame from the pool set up to run `func` as `plain_frame` sets one up, with `args`
    /// (lent by a caller in Rust) cloned into its first slots, when they fill its parameters
    /// exactly; `None` otherwise. `INLINE_COUNTS` as for `enter_code`.
    #[inline(always)]
    fn lent_args_frame<const INLINE_COUNTS: bool>(
        &mut self,
        func: &Ref<Function>,
        args: &[Value],
    ) -> Option<Box<Frame>> {
        if func.code.plain_args as usize != args.len() {
            return None;
        }
        let mut callee = self.frame_pool.pop()?;
        enter_code::<INLINE_COUNTS, AnyModel>(AnyModel, &mut callee, func, &self.cur_exc);
        clone_args(&mut callee, func.code.nlocals, args);
        Some(callee)
    }

    /// `f(args)` (`CALL`, `CALL_LOCAL`) where `f`, at `fpos`, is a function written in Rust
    /// that does not read its caller's frame and has no instance argument to unwrap (`ord(c)`,
    /// `isinstance(x, C)`, `math.sqrt(x)`), as CPython 3.11's `PRECALL_BUILTIN_O`/`_FAST`: its
    /// answer, the callee and arguments gone from the stack (their counts dropped inline, not
    /// by `Vec::truncate`'s drop glue). The arguments are lent where they are, no keyword or
    /// tuple work. `None`, the stack untouched, for any other callee. `CALL` and
    /// `CALL_METHOD` (`math.sin(x)`) test the callee's kind inline and call this: with the call
    /// inline too, the dispatch loop's other arms got slower (callgrind: deltablue +0.45%).
    #[inline(never)]
    pub(crate) fn call_native_fast(
        &mut self,
        frame: &mut Frame,
        fpos: usize,
    ) -> Option<PyResult<Value>> {
        let caller: &Frame = frame;
        let (Value::Native(n), args) = caller.stack.get(fpos..)?.split_first()? else {
            return None;
        };
        let r = self.native_lent(caller, n, args)?;
        while frame.stack.len() > fpos {
            if let Some(v) = frame.stack.pop() {
                v.discard();
            }
        }
        Some(r)
    }

    /// `call_native_fast`'s call of `n` with `args`, the caller recorded as waiting (`parked`):
    /// `None` if `n` reads its caller's frame or may unwrap an instance argument.
    #[inline(always)]
    fn native_lent(
        &mut self,
        caller: &Frame,
        n: &NativeFunction,
        args: &[Value],
    ) -> Option<PyResult<Value>> {
        if n.reads_frame || n.owner.is_some() || may_unwrap(n, args) {
            return None;
        }
        self.finalize_before_native(caller);
        Some(self.parked(caller, |s| (n.func)(s, Args { pos: args, kw: &[] })))
    }

    /// A call that runs no new frame of its own is a safe point for finalizers (module comment
    /// of `finalize.rs`): the objects whose last reference went since the last one get their
    /// `__del__` (or generator close) before the call, so `print(id(C()))` or `print(C().x)`
    /// shows `C.__del__`'s output first, as CPython, which runs `__del__` when the count drops
    /// to zero. A Python function's entry is already such a point (the eval breaker).
    #[inline(always)]
    fn finalize_before_native(&mut self, frame: &Frame) {
        if crate::interp::finalize::pending() {
            self.after_drops(Some(frame));
        }
    }

    /// Call the callee at `fpos` with the arguments above it, by the general path.
    pub(crate) fn call_on_stack(
        &mut self,
        frame: &mut Frame,
        fpos: usize,
        kw: &[(Arc<str>, Value)],
    ) -> PyResult<Value> {
        self.finalize_before_native(frame);
        if kw.is_empty() {
            if let Some(g) = self.generator_from_stack(frame, fpos) {
                return Ok(g);
            }
        }
        let zero_args = fpos + 1 == frame.stack.len() && kw.is_empty();
        if let Some(Value::Class(c)) = frame.stack.get(fpos) {
            if zero_args && Ref::ptr_eq(c, &crate::object::types().super_) {
                frame.stack.truncate(fpos);
                return self.zero_arg_super(frame);
            }
            // `C()` of a plain user class without `__init__`: the instance made here, not by
            // `call_kw` and `instantiate` (callgrind: about 1,100 machine instructions a call
            // before, `instantiate_plain`'s `Ctor` found twice).
            if zero_args && !c.builtin {
                if let Ctor::Plain(None) = c.ctor() {
                    let cls = c.clone();
                    frame.stack.truncate(fpos);
                    self.check_recursion(crate::interp::guard::CALLING)?;
                    return Ok(Value::Instance(crate::object::Instance::new_plain(cls)));
                }
            }
            // `range(n)` with int bounds (`for i in range(r)` inside a loop): made here, not by
            // the general class call (callgrind: about 880 machine instructions a call before).
            if c.kind == crate::object::TypeKind::Range
                && kw.is_empty()
                && Ref::ptr_eq(c, &crate::object::types().range)
            {
                if let Some(r) = frame
                    .stack
                    .get(fpos + 1..)
                    .and_then(crate::builtins::construct::range_of_ints)
                {
                    frame.stack.truncate(fpos);
                    return Ok(r);
                }
            }
            // `list(x)` and `tuple(x)` of a built-in list or tuple (`list(items)`, a copy, in a
            // loop): made here from the items, as `construct` makes them, not by the general
            // class call (`call_kw`, `instantiate`, `construct`). callgrind: `y = list(x)` of
            // five items cost 1,242 machine instructions a loop iteration before.
            if kw.is_empty() {
                if let Some(made) = copy_sequence(c, frame.stack.get(fpos + 1..)) {
                    frame.stack.truncate(fpos);
                    return Ok(made);
                }
            }
        }
        // A built-in type (`set()`, `str(n)`, `int(s)`): its constructor at once, as
        // `instantiate` would reach it after `call_kw`'s and its own dispatch on the callee
        // (callgrind: `set()` in a loop cost about 950 machine instructions a call, CPython's
        // about 465).
        if let (Some(Value::Class(c)), Some(args)) =
            (frame.stack.get(fpos), frame.stack.get(fpos + 1..))
        {
            if is_constructed(c) {
                let caller: &Frame = frame;
                let r = self.parked(caller, |s| {
                    crate::builtins::construct(s, c, Args { pos: args, kw })
                });
                frame.stack.truncate(fpos);
                return r;
            }
        }
        // The callee and its arguments are borrowed where they are on the caller's stack (no
        // count to change); the caller's frame is only read until the call returns.
        let caller: &Frame = frame;
        let (Some(f), Some(args)) = (caller.stack.get(fpos), caller.stack.get(fpos + 1..)) else {
            return Err(err!(SystemError, "bytecode popped an empty stack"));
        };
        // `globals()`, `locals()`, `vars()`, `dir()` read the frame calling them.
        let with_frame = match f {
            Value::Native(n) if n.reads_frame => crate::builtins::frame_function(n),
            _ => None,
        };
        let r = self.parked(caller, |s| match with_frame {
            Some(call) => call(s, Some(caller), Args { pos: args, kw }),
            None => s.call_kw(f, args, kw),
        });
        if with_frame.is_some() {
            crate::builtins::adopt_locals(frame);
        }
        frame.stack.truncate(fpos);
        r
    }

    /// Calling a generator function (or a coroutine or async generator function) whose
    /// parameters the arguments above it fill exactly, as a generator expression is called:
    /// the new generator, its frame given the arguments moved off the stack (no count
    /// changed), without `call_kw`'s parked caller and copied arguments. `None`, the stack
    /// untouched, for any other callee.
    #[inline]
    fn generator_from_stack(&mut self, frame: &mut Frame, fpos: usize) -> Option<Value> {
        let (callee, args) = frame.stack.get_mut(fpos..)?.split_first_mut()?;
        let Value::Function(func) = callee else {
            return None;
        };
        let flags = func.code.obj.flags;
        if !flags.generator || !binds_simply(&func.code, args.len()) {
            return None;
        }
        let mut gframe = self.blank_frame(func);
        move_args(&mut gframe.locals, args);
        self.finish_frame(func, &mut gframe);
        let g = self.new_generator(&func.code.get(), gframe, names_of(func));
        pop_moved(&mut frame.stack, fpos + 1);
        if let Some(f) = frame.stack.pop() {
            f.discard();
        }
        Some(g)
    }

    /// `obj.name(args)` where `obj` (at `opos`) is a module, a class, or an instance whose
    /// `obj.name` is not a method written in Rust (those take `call_method_on_stack`): the
    /// attribute is looked up (a module's through the instruction's inline cache) and put in
    /// `obj`'s place, so the caller makes the call as `CALL` would with the callable there
    /// (CPython's `LOAD_METHOD` leaving `NULL, callable`): a Python function, or a bound
    /// method of one (`random.choice`, module functions bound to a hidden instance), then runs
    /// as a frame of this loop instead of a nested one. False, the stack untouched, for any
    /// other receiver.
    pub(crate) fn load_method_in_place(
        &mut self,
        frame: &mut Frame,
        opos: usize,
        name: &Arc<str>,
        cache: &InlineCache,
    ) -> PyResult<bool> {
        let obj = &frame.stack[opos];
        let is_module = match obj {
            Value::Module(_) => true,
            Value::Class(cls) => {
                // `Base.__init__(self, x)`, `Class.method(obj)`: a Python function found on a
                // class of the default metaclass is the attribute as it is (functions bind only
                // to instances), so it is read through the instruction's class hint, without
                // `getattr`'s tests for the names `type` answers itself (callgrind: about 200
                // machine instructions of each such call, half of them hashing the name).
                if cls.metaclass.is_none() && !crate::interp::attr::type_answers(name) {
                    if let Some(f) = cls.function_hinted(name, &cache.class_hint) {
                        frame.stack[opos] = Value::Function(f);
                        return Ok(true);
                    }
                }
                false
            }
            Value::Instance(_) if native_method_of(obj, name, cache).is_none() => false,
            _ => return Ok(false),
        };
        let caller: &Frame = frame;
        let r = self.parked(caller, |s| {
            let obj = &caller.stack[opos];
            if is_module {
                s.load_attr_slow(None, obj, name, cache)
            } else {
                s.getattr(obj, name)
            }
        });
        match r {
            Ok(m) => {
                frame.stack[opos] = m;
                Ok(true)
            }
            Err(e) => {
                frame.stack.truncate(opos);
                Err(e)
            }
        }
    }

    /// `obj.name(args)` without keywords where `obj` (at `opos`) is an instance whose class
    /// defines `name` in Rust (`q.append(x)` on a `collections.deque`, `m.group(1)`): called
    /// with the receiver and arguments read from the stack, which is cut back to `opos`.
    /// `None`, the stack untouched, for anything else. For the dispatch loop, after
    /// `try_push_method` found no Python method: the general path (`load_method_in_place`,
    /// then `call_method_on_stack`) looked the name up twice more (callgrind: a deque's
    /// `append` or `popleft` cost about 500 machine instructions more a call).
    #[inline(never)]
    pub(crate) fn call_native_method(
        &mut self,
        frame: &mut Frame,
        opos: usize,
        name: &Arc<str>,
        cache: &InlineCache,
    ) -> Option<PyResult<Value>> {
        let n = native_method_of(frame.stack.get(opos)?, name, cache)?;
        let caller: &Frame = frame;
        let r = self.parked(caller, |s| {
            (n.func)(
                s,
                Args {
                    pos: caller.stack.get(opos..).unwrap_or(&[]),
                    kw: &[],
                },
            )
        });
        frame.stack.truncate(opos);
        Some(r)
    }

    /// `obj.name(args)` by the general path: built-in methods get `obj` as their first argument
    /// straight from the stack.
    pub(crate) fn call_method_on_stack(
        &mut self,
        frame: &mut Frame,
        opos: usize,
        name: &Arc<str>,
        cache: &InlineCache,
        kw: &[(Arc<str>, Value)],
    ) -> PyResult<Value> {
        let caller: &Frame = frame;
        let r = self.parked(caller, |s| s.call_method_in(caller, opos, name, cache, kw));
        frame.stack.truncate(opos);
        r
    }

    /// The call of `call_method_on_stack`, made while `frame` is parked.
    fn call_method_in(
        &mut self,
        frame: &Frame,
        opos: usize,
        name: &Arc<str>,
        cache: &InlineCache,
        kw: &[(Arc<str>, Value)],
    ) -> PyResult<Value> {
        let obj = &frame.stack[opos];
        if let Some(n) = native_method_of(obj, name, cache) {
            // `m.group(1)` on a `re.Match`, `lock.acquire()`: a method written in Rust found on
            // the class gets the receiver from the stack, with no bound method made.
            return (n.func)(
                self,
                Args {
                    pos: &frame.stack[opos..],
                    kw,
                },
            );
        }
        match obj {
            Value::Instance(_) | Value::Class(_) | Value::Module(_) => {
                let m = self.getattr(obj, name)?;
                let args = Args {
                    pos: &frame.stack[opos + 1..],
                    kw,
                };
                // `sys._getframe()` reads the frame calling it, as `globals()` does.
                match &m {
                    Value::Native(n) if n.reads_frame => match crate::builtins::frame_function(n) {
                        Some(call) => {
                            let r = call(self, Some(frame), args);
                            // (The frame is only read here: a `locals()` dict made by
                            // `builtins.locals()` is not kept.)
                            crate::builtins::forget_locals();
                            r
                        }
                        None => self.call_kw(&m, args.pos, kw),
                    },
                    _ => self.call_kw(&m, args.pos, kw),
                }
            }
            _ => match self.builtin_method(obj, name) {
                // `{}.fromkeys(keys)`: a classmethod, so the dict it is called on is not an
                // argument.
                Some(n) if n.name == "fromkeys" && matches!(obj, Value::Dict(_)) => (n.func)(
                    self,
                    Args {
                        pos: &frame.stack[opos + 1..],
                        kw,
                    },
                ),
                Some(n) => {
                    let args = &frame.stack[opos..];
                    let unwrapped = may_unwrap(&n, args)
                        .then(|| crate::interp::subclass::unwrapped_args(&n, args))
                        .flatten();
                    match unwrapped {
                        Some(pos) => (n.func)(self, Args { pos: &pos, kw }).map_err(|e| {
                            crate::interp::subclass::name_receiver(e, args.first(), pos.first())
                        }),
                        None => (n.func)(self, Args { pos: args, kw }),
                    }
                }
                _ => {
                    let m = self.getattr(obj, name)?;
                    self.call_kw(&m, &frame.stack[opos + 1..], kw)
                }
            },
        }
    }

    /// `LOAD_METHOD`'s look-up: the function `obj.name` would bind to `obj`, when it is one and
    /// nothing else comes first, to be called with `obj` as its first argument (no bound method
    /// made): a Python function or a binding method written in Rust found on an instance's class
    /// (no `__getattribute__`, no instance attribute of that name; the class's look-up through
    /// the instruction's inline cache), or a method of a built-in type (`str.join`, through the
    /// method cache; not a class-level one such as `dict.fromkeys`). `None` for anything else,
    /// which the instruction reads as `LOAD_ATTR` would. (The built-in methods `CALL_LOADED`
    /// answers in place are found before this, by `hot_method`.)
    #[inline(never)]
    pub(crate) fn method_to_bind(
        &mut self,
        obj: &Value,
        name: &Arc<str>,
        cache: &InlineCache,
    ) -> Option<Value> {
        match obj {
            // The model tested once, as `try_push_method` does.
            Value::Instance(inst) => match crate::heap::gil_model() {
                Some(gil) => instance_method_in(gil, inst, name, cache),
                None => instance_method_in(AnyModel, inst, name, cache),
            },
            Value::Class(_) | Value::Module(_) => None,
            _ => match self.builtin_method(obj, name) {
                Some(n) if n.kind != NativeKind::Function => Some(Value::Native(n)),
                _ => None,
            },
        }
    }

    /// `CALL_LOADED` of a hot built-in method (`hot_method`) that `builtin_method_fast` did not
    /// answer (an empty list's `pop`, a key whose hash is Python code): the small int at `opos`
    /// is replaced by the method it names, to be called as any other.
    #[cold]
    #[inline(never)]
    pub(crate) fn resolve_hot_method(&mut self, stack: &mut [Value], opos: usize) {
        let (Some(Value::Int(k)), Some(recv)) = (stack.get(opos), stack.get(opos + 1)) else {
            return;
        };
        let name = HOT_METHODS.get(*k as usize).copied().unwrap_or("");
        if let Some(m) = crate::object::builtin_class(recv).lookup(name) {
            stack[opos] = m;
        }
    }

    /// The native method `name` of the built-in type of `obj` (`list.append`), through the
    /// interpreter's [`MethodCache`].
    fn builtin_method(&mut self, obj: &Value, name: &Arc<str>) -> Option<Ref<NativeFunction>> {
        let class = crate::object::builtin_class(obj);
        let epoch = crate::object::class_epoch();
        if let Some(n) = self.method_cache.get(epoch, class, name) {
            return Some(n);
        }
        match class.lookup(name) {
            Some(Value::Native(n)) => {
                self.method_cache.put(epoch, class, name, &n);
                Some(n)
            }
            _ => None,
        }
    }

    /// Pop the values named by a `CallKw` names tuple off the stack, as keyword pairs.
    pub(crate) fn split_keywords(&self, frame: &mut Frame, names: &Value) -> PyResult<Kwargs> {
        let Value::Tuple(t) = names else {
            return Err(err!(SystemError, "keyword names must be a tuple"));
        };
        let n = t.items.len();
        let len = frame.stack.len();
        if n > len {
            return Err(err!(SystemError, "bytecode popped an empty stack"));
        }
        // Drained in place: `split_off` allocated a vector only to be moved out of.
        Ok(t.items
            .iter()
            .zip(frame.stack.drain(len - n..))
            .map(|(k, v)| (Arc::from(k.as_str().unwrap_or("?")), v))
            .collect())
    }

    /// `f(*args, **kwargs)`
    pub(crate) fn call_ex(
        &mut self,
        f: &Value,
        args: &Value,
        kwargs: Option<&Value>,
    ) -> PyResult<Value> {
        let pos = match args {
            Value::Tuple(t) => t.items.to_vec(),
            other => self.collect_iter(other)?,
        };
        let mut kw = Vec::new();
        if let Some(k) = kwargs {
            let Value::Dict(d) = k else {
                return Err(err!(
                    TypeError,
                    "argument after ** must be a mapping, not {}",
                    type_name(k)
                ));
            };
            for (key, v) in d.items() {
                match key.as_str() {
                    Some(s) => kw.push((Arc::from(s), v)),
                    None => return Err(err!(TypeError, "keywords must be strings")),
                }
            }
        }
        self.call_kw(f, &pos, &kw)
    }

    /// A fresh frame for `func` with its parameters bound to the arguments.
    pub fn new_frame(
        &mut self,
        func: &Ref<Function>,
        args: &[Value],
        kw: &[(Arc<str>, Value)],
    ) -> PyResult<Box<Frame>> {
        // Arguments that fill the parameters exactly (a special method called for an
        // operator, a key function, a callback) and a frame in the pool: set up as a call
        // from the dispatch loop is, the arguments cloned in. callgrind, `a + b` on instances
        // (`__add__` called from `ops.rs`): the general set-up below cost 166 machine
        // instructions of each call.
        if kw.is_empty() {
            if let Some(callee) = self.lent_args_frame::<true>(func, args) {
                return Ok(callee);
            }
        }
        let mut frame = self.blank_frame(func);
        let obj = &func.code.obj;
        if kw.is_empty() && binds_simply(&func.code, args.len()) {
            frame.locals.extend_from_slice(args);
        } else {
            frame
                .locals
                .resize(func.code.nlocals.max(obj.total_params()), Value::Undefined);
            if let Err(e) = self.bind_args(func, &mut frame.locals, args, kw) {
                self.recycle(frame);
                return Err(e);
            }
        }
        self.finish_frame(func, &mut frame);
        Ok(frame)
    }

    /// As `new_frame` with the arguments `stack[start..]`, which leave the stack. In the common
    /// case they move into the new frame's slots, without touching their reference counts.
    pub(crate) fn new_frame_from_stack(
        &mut self,
        func: &Ref<Function>,
        stack: &mut Vec<Value>,
        start: usize,
    ) -> PyResult<Box<Frame>> {
        if let Some(args) = stack.get_mut(start..) {
            if let Some(callee) = self.defaults_frame(func, args) {
                pop_moved(stack, start);
                return Ok(callee);
            }
        }
        if !binds_simply(&func.code, stack.len().saturating_sub(start)) {
            let frame = self.new_frame(func, stack.get(start..).unwrap_or(&[]), &[]);
            stack.truncate(start);
            return frame;
        }
        let mut frame = self.blank_frame(func);
        if let Some(args) = stack.get_mut(start..) {
            move_args(&mut frame.locals, args);
        }
        stack.truncate(start);
        self.finish_frame(func, &mut frame);
        Ok(frame)
    }

    /// `f(a)` of a plain function (`Code::plain_args`: positional parameters only, no cells,
    /// not a generator) with fewer arguments than parameters, the missing ones all with
    /// defaults: a pooled frame set up as `plain_call` sets it up (the arguments taken, leaving
    /// empty slots), then the defaults cloned into the slots past the arguments, as CPython's
    /// `_PyEval_MakeFrameVector` fills them. Before, such a call took the general binder
    /// (`new_frame`, `bind_args`: the arguments cloned, then dropped from the stack):
    /// callgrind, a `t += f(i)` loop with `def f(a, b=2, c=3)` 1,317 -> 1,018 machine
    /// instructions per iteration (CPython 3.11: 879). `None`, the arguments untouched, for
    /// any other call.
    #[inline(never)]
    fn defaults_frame(&mut self, func: &Ref<Function>, args: &mut [Value]) -> Option<Box<Frame>> {
        if !defaults_fit(func, args.len()) {
            return None;
        }
        let nparams = func.code.plain_args as usize;
        let n = args.len();
        // The first parameter with a default.
        let first = nparams.checked_sub(func.defaults.len())?;
        let mut callee = self.frame_pool.pop()?;
        self.enter_plain(&mut callee, func, args);
        // `take_args` left at least `nlocals` (so `nparams`) slots, those past `n` empty.
        for (i, slot) in callee.locals.iter_mut().enumerate().take(nparams).skip(n) {
            let v = func
                .defaults
                .pos
                .get(i - first)
                .cloned()
                .unwrap_or_default();
            std::mem::replace(slot, v).discard();
        }
        Some(callee)
    }

    /// A frame for `func` with no locals yet: a finished frame's box and vectors reused, so a
    /// call allocates nothing in the common case.
    #[inline(always)]
    fn blank_frame(&mut self, func: &Ref<Function>) -> Box<Frame> {
        let mut frame = self.pooled_frame(func);
        frame.locals.clear();
        frame
    }

    /// As `blank_frame`, but the local slots a reused frame had are left there, all empty
    /// (`Frame::reset`), for a caller that sizes them itself.
    #[inline(always)]
    fn pooled_frame(&mut self, func: &Ref<Function>) -> Box<Frame> {
        self.code_frame(&func.code.get(), &func.globals)
    }

    /// `pooled_frame` for a code and globals (a comprehension's, called without a function).
    #[inline(always)]
    fn code_frame(&mut self, code: &Ref<Code>, globals: &Ref<Dict>) -> Box<Frame> {
        let mut frame = match self.frame_pool.pop() {
            Some(mut f) => {
                // The pool hands back the frame finished last, often of this very function:
                // then its code and globals are already the ones needed (no count to change).
                if !Ref::ptr_eq(&f.code, code) {
                    f.code = code.clone();
                }
                if !Ref::ptr_eq(&f.globals, globals) {
                    f.globals = globals.clone();
                }
                // `recycle` emptied the rest (`Frame::reset`).
                f.ip = 0;
                if let Some(e) = &self.cur_exc {
                    f.saved_exc = Some(e.clone());
                    f.set_extras();
                }
                f
            }
            None => Box::new(Frame {
                code: code.clone(),
                globals: globals.clone(),
                ip: 0,
                locals: Vec::new(),
                stack: Vec::new(),
                cells: Vec::new(),
                handlers: Vec::new(),
                namespace: None,
                mapping: None,
                saved_exc: self.cur_exc.clone(),
                resumed: Resumed::No,
                parked: false,
                made: None,
                traced: None,
                extras: true,
            }),
        };
        frame.stack.reserve(code.obj.max_stack as usize + 2);
        frame
    }

    /// After the parameters are bound: empty slots for the other locals, and the cells (a
    /// captured parameter's cell starts with the argument).
    #[inline(always)]
    fn finish_frame(&mut self, func: &Ref<Function>, frame: &mut Frame) {
        // A plain loop rather than `Vec::resize`, which is not inlined: usually a few slots.
        let nlocals = func.code.nlocals;
        if frame.locals.len() < nlocals {
            frame.locals.reserve(nlocals - frame.locals.len());
            while frame.locals.len() < nlocals {
                frame.locals.push(Value::Undefined);
            }
        }
        if func.code.no_cellvars && func.closure.is_empty() {
            return;
        }
        frame.set_extras();
        own_cells(&func.code, frame);
        frame.cells.extend(func.closure.iter().cloned());
    }

    /// `CALL_COMPREHENSION`: the comprehension whose code is the constant `c` of `code`,
    /// called with the iterator on top of `frame`'s stack, the `ncells` cells below it its
    /// closure (in `freevars` order), all taken off the stack. Its frame, to run as a call's
    /// (`Flow::Call`), or, for a generator expression (or an async comprehension, a
    /// coroutine), `None` with the new generator pushed. No function object is made: CPython
    /// 3.11 makes one (`MAKE_FUNCTION`) that no program can reach, and making and freeing it
    /// was about a quarter of a small comprehension's cost.
    pub(crate) fn call_comprehension(
        &mut self,
        frame: &mut Frame,
        code: &Code,
        c: ConstIdx,
        ncells: usize,
    ) -> PyResult<Option<Box<Frame>>> {
        let Some(Some(child)) = code.children.get(c.0 as usize) else {
            return Err(err!(SystemError, "CallComprehension needs a code constant"));
        };
        let start = frame.stack.len().checked_sub(ncells + 1);
        let (Some(start), Some(it)) = (start, frame.stack.pop()) else {
            return Err(err!(SystemError, "bytecode popped an empty stack"));
        };
        let mut callee = self.code_frame(child, &frame.globals);
        // The iterator into the first slot: by assignment when the pooled frame has its slots
        // already (it last ran this comprehension, usually), as a plain call's arguments.
        take_args(&mut callee, child.nlocals, &mut [it]);
        if !child.no_cellvars {
            own_cells(child, &mut callee);
        }
        if ncells > 0 {
            callee.set_extras();
            for v in frame.stack.drain(start..) {
                match v {
                    Value::Cell(cell) => callee.cells.push(cell),
                    other => other.discard(),
                }
            }
        }
        if child.obj.flags.generator {
            let g = self.new_generator(child, callee, None);
            frame.stack.push(g);
            return Ok(None);
        }
        Ok(Some(callee))
    }

    /// The general argument binder: positional, keyword, defaults, `*args`, `**kwargs`, with
    /// CPython's error messages.
    fn bind_args(
        &mut self,
        func: &Ref<Function>,
        locals: &mut [Value],
        args: &[Value],
        kw: &[(Arc<str>, Value)],
    ) -> PyResult<()> {
        let obj = &func.code.obj;
        // CPython 3.11 names the function by its qualified name (`A.m() takes ...`), the
        // function's own (assigned, or its code's).
        let fname = FuncName(func);
        let argcount = obj.argcount as usize;
        let kwonly = obj.kwonlyargcount as usize;
        let npos = args.len().min(argcount);
        locals[..npos].clone_from_slice(&args[..npos]);
        let mut slot = argcount + kwonly;
        if obj.flags.varargs {
            locals[slot] = Value::tuple(args[npos..].to_vec());
            slot += 1;
        }
        let kwdict = if obj.flags.varkeywords {
            let d = Ref::new(Dict::new());
            locals[slot] = Value::Dict(d.clone());
            Some(d)
        } else {
            None
        };
        let posonly = obj.posonlyargcount as usize;
        for (name, v) in kw {
            let found = obj.varnames[posonly..argcount + kwonly]
                .iter()
                .position(|n| n.as_str() == &**name)
                .map(|i| i + posonly);
            match found {
                Some(i) => {
                    if !matches!(locals[i], Value::Undefined) {
                        return Err(err!(
                            TypeError,
                            "{fname}() got multiple values for argument '{name}'"
                        ));
                    }
                    locals[i] = v.clone();
                }
                None => {
                    // CPython 3.11 looked for it among the parameters by identity, then again
                    // by `==`: comparisons, one recursion level checked.
                    if argcount + kwonly > posonly {
                        self.check_recursion(" in comparison")?;
                    }
                    match &kwdict {
                        Some(d) => d.set_str(name, v.clone()),
                        None => {
                            // As CPython: positional-only parameters named by keywords are
                            // reported first, all of them.
                            let posonly_names: Vec<&str> = kw
                                .iter()
                                .map(|(k, _)| &**k)
                                .filter(|k| obj.varnames[..posonly].iter().any(|p| p == k))
                                .collect();
                            if !posonly_names.is_empty() {
                                return Err(err!(
                                TypeError,
                                "{fname}() got some positional-only arguments passed as keyword \
                                 arguments: '{}'",
                                posonly_names.join(", ")
                            ));
                            }
                            return Err(err!(
                                TypeError,
                                "{fname}() got an unexpected keyword argument '{name}'"
                            ));
                        }
                    }
                }
            }
        }
        // As CPython, surplus positional arguments are reported after the keywords are bound
        // (an unexpected or repeated keyword is reported first).
        if !obj.flags.varargs && args.len() > argcount {
            let given = args.len();
            let ndef = func.defaults.len();
            let takes = if ndef > 0 {
                format!("from {} to {}", argcount - ndef, argcount)
            } else {
                argcount.to_string()
            };
            let s = if argcount == 1 && ndef == 0 { "" } else { "s" };
            // Keyword-only parameters the keywords filled are counted too, as CPython's
            // `too_many_positional` does.
            let kwonly = obj.kwonlyargcount as usize;
            let kwonly_given = locals.get(argcount..argcount + kwonly).map_or(0, |k| {
                k.iter().filter(|v| !matches!(v, Value::Undefined)).count()
            });
            let kwonly_sig = if kwonly_given > 0 {
                format!(
                    " positional argument{} (and {kwonly_given} keyword-only argument{})",
                    if given == 1 { "" } else { "s" },
                    if kwonly_given == 1 { "" } else { "s" }
                )
            } else {
                String::new()
            };
            let was = if given == 1 && kwonly_given == 0 {
                "was"
            } else {
                "were"
            };
            return Err(err!(
                TypeError,
                "{fname}() takes {takes} positional argument{s} but {given}{kwonly_sig} {was} given"
            ));
        }
        // Defaults for the positional parameters that are still empty.
        let ndef = func.defaults.len();
        let first_default = argcount.saturating_sub(ndef);
        let mut missing = Vec::new();
        for (i, slot) in locals.iter_mut().enumerate().take(argcount) {
            if matches!(slot, Value::Undefined) {
                if i >= first_default {
                    *slot = func.defaults[i - first_default].clone();
                } else {
                    missing.push(obj.varnames[i].clone());
                }
            }
        }
        if !missing.is_empty() {
            return Err(missing_error(&fname.to_string(), "positional", &missing));
        }
        for (i, slot) in locals
            .iter_mut()
            .enumerate()
            .take(argcount + kwonly)
            .skip(argcount)
        {
            if matches!(slot, Value::Undefined) {
                let name = &obj.varnames[i];
                match func.defaults.kw.as_ref().and_then(|d| d.get_str(name)) {
                    Some(v) => *slot = v,
                    None => missing.push(name.clone()),
                }
            }
        }
        if !missing.is_empty() {
            return Err(missing_error(&fname.to_string(), "keyword-only", &missing));
        }
        Ok(())
    }

    /// `MakeFunction`: pop the closure, keyword defaults and defaults the flags announce.
    pub(crate) fn make_function(
        &mut self,
        frame: &mut Frame,
        code: &Code,
        c: ConstIdx,
        flags: MakeFunctionFlags,
    ) -> PyResult<Value> {
        let Some(Some(child)) = code.children.get(c.0 as usize) else {
            return Err(err!(SystemError, "MakeFunction needs a code constant"));
        };
        let mut pop = || {
            frame
                .stack
                .pop()
                .ok_or_else(|| err!(SystemError, "bytecode popped an empty stack"))
        };
        let closure = if flags.closure {
            match pop()? {
                Value::Tuple(t) => t
                    .items
                    .iter()
                    .filter_map(|v| match v {
                        Value::Cell(c) => Some(c.clone()),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            }
        } else {
            Vec::new()
        };
        let kwdefaults = if flags.kwdefaults {
            match pop()? {
                Value::Dict(d) => Some(d),
                _ => None,
            }
        } else {
            None
        };
        let defaults = if flags.defaults {
            match pop()? {
                Value::Tuple(t) => t.items.to_vec(),
                _ => Vec::new(),
            }
        } else {
            Vec::new()
        };
        let f = Ref::new(Function {
            code: crate::heap::SwapRef::new(child.clone()),
            globals: frame.globals.clone(),
            defaults: crate::heap::SwapRef::new(crate::object::Defaults::new(
                defaults.into_boxed_slice(),
                kwdefaults,
            )),
            closure: closure.into_boxed_slice(),
            attrs: crate::heap::ObjCell::new(AttrMap::default()),
            weak: crate::heap::weak::WeakAnchor::new(),
        });
        Function::share_if_top_level(&f);
        Ok(Value::Function(f))
    }

    fn new_generator(
        &mut self,
        code: &Ref<Code>,
        mut frame: Box<Frame>,
        names: Option<Box<crate::object::GenNames>>,
    ) -> Value {
        // A generator's frame keeps the exception the generator itself handles (none yet).
        frame.saved_exc = None;
        Value::Generator(Ref::new(Generator {
            frame: crate::heap::ObjCell::new(Some(frame)),
            status: crate::heap::ObjCell::new(GenStatus::Created),
            code: code.clone(),
            kind: match code.obj.flags {
                f if f.coroutine => crate::object::GenKind::Coroutine,
                f if f.async_generator => crate::object::GenKind::AsyncGenerator,
                _ => crate::object::GenKind::Generator,
            },
            renamed: crate::heap::ObjCell::new(names),
        }))
    }

    /// Resume a generator with `sent`: `Some(v)` when it yields v, `None` when it finishes (its return
    /// value is left in `yield_from_result`).
    pub fn gen_resume(&mut self, g: &Ref<Generator>, sent: Value) -> PyResult<Option<Value>> {
        // The model tested once for the generator's cells (as `gen_enter_inline` does).
        let begun = match crate::heap::gil_model() {
            Some(gil) => begin_resume(gil, g, sent.is_none()),
            None => begin_resume(AnyModel, g, sent.is_none()),
        };
        let mut frame = match begun {
            Begun::Frame(frame) => frame,
            Begun::Running => {
                return Err(err!(ValueError, "{} already executing", g.kind.describe()))
            }
            Begun::Reused => {
                return Err(err!(RuntimeError, "cannot reuse already awaited coroutine"))
            }
            Begun::Finished => {
                self.yield_from_result = Value::None;
                return Ok(None);
            }
            Begun::SentToNew => {
                return Err(err!(
                    TypeError,
                    "can't send non-None value to a just-started {}",
                    g.kind.describe()
                ))
            }
            Begun::NoFrame => return Ok(None),
        };
        self.accept_sent(&mut frame, sent);
        // Inlined here (no `throw`): `send` and `yield from` through native code resume a
        // generator through this function (`next(g)`, `sum(g)`, `list(g)` through `gen_next`),
        // and a call less is ~25 machine instructions (callgrind).
        self.gen_run_inline(g, frame, None)
    }

    /// `gen_resume(g, None)`, the resume of a generator by `next(g)` and by the built-ins that
    /// consume one (`sum`, `any`, `list`, `str.join`: `next_item`), with less to do: no value
    /// sent to drop (`accept_none`), no exception to throw in, and in the usual case, no
    /// exception handled by the resumer or by the generator, no swap either, and nothing
    /// stored in the frame when it yields again unless the generator is handling one then.
    /// Any other state (exhausted, running, a handled exception) takes the general path.
    pub(crate) fn gen_next(&mut self, g: &Ref<Generator>) -> PyResult<Option<Value>> {
        let taken = match crate::heap::gil_model() {
            Some(gil) => take_for_resume(gil, g, None),
            None => take_for_resume(AnyModel, g, None),
        };
        // Not created nor suspended (or suspended without its frame, now marked done):
        // `gen_resume` answers ("already executing", or exhausted).
        let Some(mut frame) = taken else {
            return self.gen_resume(g, Value::None);
        };
        self.accept_none(&mut frame);
        if frame.saved_exc.is_some() || self.cur_exc.is_some() {
            return self.gen_run_inline(g, frame, None);
        }
        match self.run_frame_throwing(frame, None) {
            Ok(Exit::Yield(v, mut frame)) => {
                // The exception the generator handles where it stopped, if any, is its own
                // to keep while suspended (as `gen_run_inline` keeps it).
                if let Some(own) = self.cur_exc.take() {
                    frame.saved_exc = Some(own);
                    frame.set_extras();
                }
                match crate::heap::gil_model() {
                    Some(gil) => suspend_taken(gil, g, frame),
                    None => suspend_taken(AnyModel, g, frame),
                }
                Ok(Some(v))
            }
            // What the generator handled when it ended is dropped last, as `gen_run_inline`
            // drops it.
            Ok(Exit::Return(v)) => {
                let own = self.cur_exc.take();
                *g.status.lock() = GenStatus::Done;
                self.yield_from_result = v;
                drop(own);
                Ok(None)
            }
            Err(e) => {
                let own = self.cur_exc.take();
                *g.status.lock() = GenStatus::Done;
                let e = self.stop_escaping(g.kind, e);
                drop(own);
                Err(e)
            }
        }
    }

    /// A suspended generator's frame receives the value sent in (`None` for `next()`): the
    /// result of the `yield` it stopped at.
    #[inline(always)]
    fn accept_sent(&mut self, frame: &mut Frame, sent: Value) {
        if frame.ip > 0 {
            if let Some(Op::YieldPop) = frame.code.ops.get(frame.ip - 1) {
                // `yield v` as a statement: the sent value is dropped here, as the `POP_TOP`
                // it stands for did (closing what it held last, as there).
                let shared = !sent.is_inline()
                    || crate::interp::finalize::ANY_DEL.load(std::sync::atomic::Ordering::Relaxed);
                sent.discard();
                if shared && crate::interp::coro::drops_pending() {
                    self.after_drops(Some(frame));
                }
            } else {
                // Inline: `Vec::push` was left out of line here, a call per level of a
                // `yield from` chain resumed (callgrind).
                crate::heap::push_inline(&mut frame.stack, sent);
            }
        }
    }

    /// `accept_sent` of `None` (a `for` resuming the generator).
    #[inline(always)]
    fn accept_none(&mut self, frame: &mut Frame) {
        if frame.ip > 0 {
            if let Some(Op::YieldPop) = frame.code.ops.get(frame.ip - 1) {
                if crate::interp::finalize::ANY_DEL.load(std::sync::atomic::Ordering::Relaxed)
                    && crate::interp::coro::drops_pending()
                {
                    self.after_drops(Some(frame));
                }
            } else {
                crate::heap::push_inline(&mut frame.stack, Value::None);
            }
        }
    }

    /// `for` over a generator (`by_for`), or `yield from` a generator, resumed in the running
    /// dispatch loop rather than a nested one (as CPython 3.11's `FOR_ITER` and `SEND`): the
    /// generator's frame, marked running and given `sent` (taken; a `for` sends none, which
    /// is `None` sent, with no temporary to drop), for the loop to push on top
    /// of the resuming frame. `None`, `sent` left alone, when the generator is not created or
    /// suspended, or just created and sent something: the general path (`gen_resume`) then
    /// answers (exhausted, "already executing", "can't send non-None value").
    #[inline(always)]
    pub(crate) fn gen_enter_inline(
        &mut self,
        g: &Generator,
        sent: Option<&mut Value>,
        by_for: bool,
    ) -> Option<Box<Frame>> {
        // The model tested once for the two cells (as `try_push_method` does).
        let taken = match crate::heap::gil_model() {
            Some(gil) => take_for_resume(gil, g, sent.as_deref()),
            None => take_for_resume(AnyModel, g, sent.as_deref()),
        };
        let mut frame = taken?;
        match sent {
            Some(v) => {
                let v = std::mem::take(v);
                self.accept_sent(&mut frame, v);
            }
            // A `for` sends `None`, which frees nothing when dropped: only `ANY_DEL` is left
            // to test (`accept_sent` tested the value's kind, then discarded it).
            None => self.accept_none(&mut frame),
        }
        // The usual case, no exception handled on either side, needs no swap (`leave_inline`).
        let swapped = frame.saved_exc.is_some() || self.cur_exc.is_some();
        if swapped {
            self.enter_generator_exc(&mut frame);
        }
        frame.resumed = match (by_for, swapped) {
            (true, false) => Resumed::ByFor,
            (true, true) => Resumed::ByForSwapped,
            (false, false) => Resumed::ByYieldFrom,
            (false, true) => Resumed::ByYieldFromSwapped,
        };
        Some(frame)
    }

    /// A generator frame resumed by `gen_enter_inline` stops: the exception it handles (its
    /// own, to keep while suspended), the resumer's put back.
    #[inline]
    pub(crate) fn leave_inline(&mut self, frame: &mut Frame) -> Option<Value> {
        if std::mem::replace(&mut frame.resumed, Resumed::No).swapped() {
            self.leave_generator_exc()
        } else {
            // The resumer handled none.
            self.cur_exc.take()
        }
    }

    /// Run a generator's frame (raising `throw` in it first, if given) and record how it stopped.
    /// A `StopIteration` escaping the generator becomes a `RuntimeError` (PEP 479).
    pub(crate) fn gen_run(
        &mut self,
        g: &Ref<Generator>,
        frame: Box<Frame>,
        throw: Option<PyErr>,
    ) -> PyResult<Option<Value>> {
        self.gen_run_inline(g, frame, throw)
    }

    /// `gen_run`, inlined into `gen_resume`.
    #[inline(always)]
    fn gen_run_inline(
        &mut self,
        g: &Ref<Generator>,
        mut frame: Box<Frame>,
        throw: Option<PyErr>,
    ) -> PyResult<Option<Value>> {
        // The usual case, no exception handled by the resumer or by the generator when it
        // last stopped, needs no swap (as `gen_enter_inline`): the generator's own, if it is
        // handling one when it stops again, is then simply the current one, and the resumer's
        // is none. `handled_exc` answers the same either way (it skips empty entries).
        let swapped = frame.saved_exc.is_some() || self.cur_exc.is_some();
        if swapped {
            self.enter_generator_exc(&mut frame);
        }
        let ran = self.run_frame_throwing(frame, throw);
        let own_exc = if swapped {
            self.leave_generator_exc()
        } else {
            self.cur_exc.take()
        };
        match ran {
            Ok(Exit::Yield(v, mut frame)) => {
                frame.saved_exc = own_exc;
                frame.set_extras();
                match crate::heap::gil_model() {
                    Some(gil) => suspend_yielded(gil, g, frame),
                    None => suspend_yielded(AnyModel, g, frame),
                }
                Ok(Some(v))
            }
            Ok(Exit::Return(v)) => {
                *g.status.lock() = GenStatus::Done;
                self.yield_from_result = v;
                Ok(None)
            }
            Err(e) => {
                *g.status.lock() = GenStatus::Done;
                Err(self.stop_escaping(g.kind, e))
            }
        }
    }

    /// `generator.throw(exc)`: raise `exc` where the generator is suspended. Like `gen_resume`,
    /// `Some(v)` if it yields again, `None` if it returns; the error if it does not catch it.
    pub fn gen_throw(&mut self, g: &Ref<Generator>, exc: PyErr) -> PyResult<Option<Value>> {
        {
            let mut st = g.status.lock();
            match *st {
                GenStatus::Running => {
                    return Err(err!(ValueError, "{} already executing", g.kind.describe()))
                }
                GenStatus::Created | GenStatus::Done => {
                    *st = GenStatus::Done;
                    drop(st);
                    g.frame.lock().take();
                    return Err(exc);
                }
                GenStatus::Suspended => *st = GenStatus::Running,
            }
        }
        let Some(frame) = g.frame.lock().take() else {
            *g.status.lock() = GenStatus::Done;
            return Err(exc);
        };
        self.gen_throw_frame(g, frame, exc)
    }

    /// The `StopIteration` that `next()`/`send()`/`throw()` raise when a generator has just
    /// finished: it carries the generator's return value (none for `return None`).
    pub fn gen_stop_iteration(&mut self) -> PyErr {
        let r = std::mem::take(&mut self.yield_from_result);
        let args = if r.is_none() || matches!(r, Value::Undefined) {
            vec![]
        } else {
            vec![r]
        };
        PyErr::with_args(crate::object::ExcKind::StopIteration, args)
    }

    /// `generator.close()`: throw `GeneratorExit` in, so its `finally` blocks run.
    pub fn gen_close(&mut self, g: &Ref<Generator>) -> PyResult<()> {
        let exit = PyErr::with_args(crate::object::ExcKind::GeneratorExit, Vec::new());
        match self.gen_throw(g, exit) {
            Ok(Some(_)) => Err(err!(
                RuntimeError,
                "{} ignored GeneratorExit",
                g.kind.describe()
            )),
            Ok(None) => Ok(()),
            Err(e)
                if e.is(crate::object::ExcKind::GeneratorExit)
                    || e.is(crate::object::ExcKind::StopIteration) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// `YieldFrom`: send into the delegate; `None` when it is finished.
    pub(crate) fn send_into(&mut self, it: &Value, sent: Value) -> PyResult<Option<Value>> {
        match it {
            Value::Generator(g) => {
                let g = g.clone();
                self.gen_resume(&g, sent)
            }
            other => self.send_to_iterator(other, sent),
        }
    }

    /// Calling a class: a built-in type's constructor, or a new instance passed to `__init__`.
    pub fn instantiate(
        &mut self,
        cls: &Ref<crate::object::Class>,
        args: &[Value],
        kw: &[(Arc<str>, Value)],
    ) -> PyResult<Value> {
        // A built-in type (`int(x)`, `range(n)`, `list(it)`): its constructor, where the steps
        // below would reach it after two `ctor` look-ups (a built-in type is never
        // `Ctor::Plain` and has no user metaclass whose `__call__` could decide).
        if is_constructed(cls) {
            return crate::builtins::construct(self, cls, Args { pos: args, kw });
        }
        match cls.ctor() {
            Ctor::Plain(init) => return self.instantiate_plain(cls, init, args, kw),
            Ctor::New(new) => return self.instantiate_new_held(cls, new, args, kw),
            _ => {}
        }
        // `C(...)` where C's metaclass defines `__call__`: that decides (`super().__call__`
        // reaches `type.__call__`, [`Interp::instantiate_type`]).
        if let Some(call) = self.lookup_special(&Value::Class(cls.clone()), "__call__") {
            let mut full = Vec::with_capacity(args.len() + 1);
            full.push(Value::Class(cls.clone()));
            full.extend_from_slice(args);
            return self.call_kw(&call, &full, kw);
        }
        self.instantiate_type(cls, args, kw)
    }

    /// What `type.__call__(cls, *args, **kw)` does: a new instance made by `__new__` and
    /// `__init__`, whatever the metaclass's `__call__` says.
    pub(crate) fn instantiate_type(
        &mut self,
        cls: &Ref<crate::object::Class>,
        args: &[Value],
        kw: &[(Arc<str>, Value)],
    ) -> PyResult<Value> {
        match cls.ctor() {
            Ctor::Plain(init) => return self.instantiate_plain(cls, init, args, kw),
            Ctor::New(new) => return self.instantiate_new_held(cls, new, args, kw),
            _ => {}
        }
        if cls.builtin && !matches!(cls.kind, TypeKind::Exception | TypeKind::Native) {
            return crate::builtins::construct(self, cls, Args { pos: args, kw });
        }
        if cls.kind == TypeKind::Type {
            // A user metaclass: its instances are classes.
            return crate::interp::classdef::call_metaclass(self, cls, args, kw);
        }
        let data_kind = crate::object::is_data_kind(cls.kind);
        // (A subclass of property: a plain instance, which `property.__init__` gives its
        // accessors, builtins/misc_methods.rs.)
        if !data_kind
            && !matches!(
                cls.kind,
                TypeKind::Object | TypeKind::Exception | TypeKind::Native | TypeKind::Property
            )
        {
            return Err(err!(
                TypeError,
                "minivm cannot create instances of '{}'",
                cls.name()
            ));
        }
        // CPython tests for abstract methods in `object.__new__`: a class's own Python
        // `__new__` runs first, and the test comes only if it calls `object.__new__`
        // (`super().__new__(cls)`, attr.rs `object_new`); one that returns something else
        // makes no instance and raises nothing.
        let new = cls.lookup("__new__");
        if new.as_ref().and_then(crate::object::python_new).is_none() {
            check_abstract(cls)?;
        }
        if let Some(new) = new {
            return self.instantiate_new_held(cls, new, args, kw);
        }
        let inst = if data_kind {
            self.new_builtin_subclass(cls, args, kw)?
        } else {
            // `OSError(2, 'x')` makes a `FileNotFoundError`, as in CPython.
            let cls = crate::stdlib::os::os_error_class(cls, args).unwrap_or_else(|| cls.clone());
            Value::Instance(Ref::new(crate::object::Instance::new(cls)))
        };
        let init = crate::interp::special::lookup_special_on(cls, "__init__").or_else(|| {
            data_kind
                .then(|| crate::interp::subclass::slot_of(cls, "__init__"))
                .flatten()
        });
        if let Value::Instance(i) = &inst {
            if let Some(d) = i.exc() {
                let own_init = matches!(init, Some(Value::Function(_)));
                // CPython's `OSError.__new__` leaves the arguments to `__init__` when a subclass
                // overrides that (and not `__new__`): one that never calls the base keeps
                // `args == ()` and `errno`, `strerror`... None (`str(e)` is '').
                let os_error = own_init
                    && i.class
                        .get()
                        .is_subclass(crate::object::types().exc(crate::object::ExcKind::OSError));
                let mut data = d.lock();
                data.args = if os_error { Vec::new() } else { args.to_vec() };
                data.init_pending = true;
                drop(data);
                if !os_error {
                    crate::stdlib::os::init_os_error(self, i, args)?;
                }
                // CPython's `SyntaxError.__init__` sets `msg`, `lineno`...: a subclass whose own
                // `__init__` never calls it keeps them all None (`str(e)` is 'None').
                crate::interp::syntaxerr::init_syntax_error(i, if own_init { &[] } else { args })?;
            }
        }
        if let Some(init) = init {
            let mut full = Vec::with_capacity(args.len() + 1);
            full.push(inst.clone());
            full.extend_from_slice(args);
            self.call_init_held(&init, &full, kw)?;
        } else if (!args.is_empty() || !kw.is_empty()) && cls.kind == TypeKind::Object {
            return Err(err!(TypeError, "{}() takes no arguments", cls.name()));
        }
        Ok(inst)
    }

    /// `instantiate_with_new` inside one recursion level held for `__new__` and `__init__`,
    /// as `call_init_held`.
    fn instantiate_new_held(
        &mut self,
        cls: &Ref<crate::object::Class>,
        new: Value,
        args: &[Value],
        kw: &[(Arc<str>, Value)],
    ) -> PyResult<Value> {
        self.with_recursion(crate::interp::guard::CALLING, |s| {
            s.instantiate_with_new(cls, new, args, kw)
        })
    }

    /// Calling a plain user class (`Ctor::Plain`): a new instance, passed to `init`.
    fn instantiate_plain(
        &mut self,
        cls: &Ref<crate::object::Class>,
        init: Option<Value>,
        args: &[Value],
        kw: &[(Arc<str>, Value)],
    ) -> PyResult<Value> {
        let obj = crate::object::Instance::new_plain(cls.clone());
        let inst = Value::Instance(obj.clone());
        match init {
            Some(Value::Function(f)) if kw.is_empty() && simple_init(&f, args.len()) => self
                .with_recursion(crate::interp::guard::CALLING, |s| {
                    s.run_simple_init(&f, &inst, args)
                })?,
            Some(init) => {
                let mut full = Vec::with_capacity(args.len() + 1);
                full.push(inst.clone());
                full.extend_from_slice(args);
                self.call_init_held(&init, &full, kw)?;
            }
            None if !args.is_empty() || !kw.is_empty() => {
                return Err(err!(TypeError, "{}() takes no arguments", cls.name()));
            }
            // CPython 3.11 calls a class through `tp_call`, one recursion level ("while
            // calling a Python object"); without `__init__` nothing else marks it.
            None => self.check_recursion(crate::interp::guard::CALLING)?,
        }
        obj.note_attr_count();
        Ok(inst)
    }

    /// `__init__(inst, *args)` for a plain function taking exactly those: the frame is filled
    /// straight from `args` (no argument vector built).
    fn run_simple_init(
        &mut self,
        init: &Ref<Function>,
        inst: &Value,
        args: &[Value],
    ) -> PyResult<()> {
        let mut frame = self.blank_frame(init);
        frame.locals.push(inst.clone());
        frame.locals.extend_from_slice(args);
        self.finish_frame(init, &mut frame);
        let r = match self.run_frame(frame)? {
            Exit::Return(v) => v,
            Exit::Yield(..) => return Err(err!(SystemError, "a plain function yielded")),
        };
        init_returned(r)
    }

    /// [`Self::call_init`] inside the recursion level CPython 3.11's `tp_call` holds while a
    /// class call runs `__init__` (each step of an `__init__` that makes its own class's
    /// instance is two levels: `RecursionError` after about 500 of them at the default limit).
    fn call_init_held(
        &mut self,
        init: &Value,
        full: &[Value],
        kw: &[(Arc<str>, Value)],
    ) -> PyResult<()> {
        self.with_recursion(crate::interp::guard::CALLING, |s| {
            s.call_init(init, full, kw)
        })
    }

    /// Call `__init__` with `full` (the new object first); it must return `None`.
    fn call_init(
        &mut self,
        init: &Value,
        full: &[Value],
        kw: &[(Arc<str>, Value)],
    ) -> PyResult<()> {
        let r = self.call_kw(init, full, kw)?;
        init_returned(r)
    }

    /// A class defining `__new__`: `cls.__new__(cls, *args, **kw)` makes the object, and
    /// `__init__` runs on it only if it is an instance of `cls` (as `type.__call__` does).
    fn instantiate_with_new(
        &mut self,
        cls: &Ref<crate::object::Class>,
        new: Value,
        args: &[Value],
        kw: &[(Arc<str>, Value)],
    ) -> PyResult<Value> {
        let new = match &new {
            Value::Instance(w) => match (&w.payload, w.class.kind) {
                (crate::object::Payload::Wrapped(f), TypeKind::StaticMethod) => f.clone(),
                _ => new.clone(),
            },
            _ => new,
        };
        let mut full = Vec::with_capacity(args.len() + 1);
        full.push(Value::Class(cls.clone()));
        full.extend_from_slice(args);
        let obj = self.call_kw(&new, &full, kw)?;
        let is_instance = match &obj {
            Value::Instance(i) => i.class.is_subclass(cls),
            _ => false,
        };
        if is_instance {
            let init = crate::interp::special::lookup_special_on(cls, "__init__")
                .or_else(|| crate::interp::subclass::slot_of(cls, "__init__"));
            if let Some(init) = init {
                full[0] = obj.clone();
                self.call_init(&init, &full, kw)?;
            }
            if let Value::Instance(i) = &obj {
                i.note_attr_count();
            }
        }
        Ok(obj)
    }

    /// A bound method value for `obj.name` when the class attribute is a function.
    pub fn bind(&self, receiver: Value, func: Value) -> Value {
        Value::BoundMethod(Ref::new(BoundMethod { receiver, func }))
    }
}

/// A built-in type whose instances `builtins::construct` makes (every one but the exceptions
/// and the native classes of modules), called as a class without a metaclass of its own.
#[inline]
fn is_constructed(cls: &crate::object::Class) -> bool {
    cls.builtin
        && cls.metaclass.is_none()
        && !matches!(cls.kind, TypeKind::Exception | TypeKind::Native)
}

/// An abstract class (one whose `__abstractmethods__`, computed by `abc.ABC`, is not empty)
/// cannot be instantiated.
pub(crate) fn check_abstract(cls: &crate::object::Class) -> PyResult<()> {
    let Some(Value::Set(methods)) = cls.lookup("__abstractmethods__") else {
        return Ok(());
    };
    let mut names: Vec<String> = methods
        .snapshot()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    names.sort();
    let s = if names.len() == 1 { "" } else { "s" };
    Err(err!(
        TypeError,
        "Can't instantiate abstract class {} with abstract method{s} {}",
        cls.name(),
        names.join(", ")
    ))
}

fn not_callable(f: &Value) -> PyErr {
    err!(TypeError, "'{}' object is not callable", type_name(f))
}

/// A function's qualified name in an error message: the one assigned to it
/// (`f.__qualname__ = ...`, or kept when its `__code__` was replaced), else its code's; read
/// only when the message is made.
struct FuncName<'a>(&'a Function);

impl std::fmt::Display for FuncName<'_> {
    fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self
            .0
            .attrs
            .read()
            .get("__qualname__")
            .and_then(|v| v.as_str())
        {
            Some(s) => out.write_str(s),
            None => out.write_str(&self.0.code.qualname),
        }
    }
}

fn missing_error(fname: &str, what: &str, missing: &[String]) -> PyErr {
    let quoted: Vec<String> = missing.iter().map(|m| format!("'{m}'")).collect();
    let list = match quoted.len() {
        1 => quoted[0].clone(),
        2 => format!("{} and {}", quoted[0], quoted[1]),
        _ => {
            let (last, rest) = quoted
                .split_last()
                .map_or((String::new(), &[][..]), |(l, r)| (l.clone(), r));
            format!("{}, and {}", rest.join(", "), last)
        }
    };
    let s = if missing.len() == 1 { "" } else { "s" };
    err!(
        TypeError,
        "{fname}() missing {} required {what} argument{s}: {list}",
        missing.len()
    )
}

/// What `__init__` returned: anything but `None` is a `TypeError`.
pub(crate) fn init_returned(r: Value) -> PyResult<()> {
    if !r.is_none() {
        return Err(err!(
            TypeError,
            "__init__() should return None, not '{}'",
            type_name(&r)
        ));
    }
    Ok(())
}

/// What `try_push_method` found on the receiver's class while the class lent it.
enum Lent {
    /// A pooled frame set up for the method (code, globals, closure), its arguments still to
    /// move in, and how many local slots it has.
    Ready(Box<Frame>, usize),
    /// A method that needs the general binder (or no frame was pooled).
    Other(Ref<Function>),
    /// Not a Python function (or a generator function): the call goes another way.
    No,
}

/// Can `init(self, *args)` with `nargs` arguments run by `run_simple_init` (a plain function,
/// not a generator, whose positional parameters the receiver and arguments fill exactly)?
/// `nargs` positional arguments leave parameters of `func`, a plain function
/// (`Code::plain_args`), unfilled, and all of those have defaults (`Interp::defaults_frame`).
#[inline(always)]
fn defaults_fit(func: &Function, nargs: usize) -> bool {
    let params = func.code.plain_args;
    params != u32::MAX && nargs < params as usize && nargs + func.defaults.len() >= params as usize
}

fn simple_init(init: &Function, nargs: usize) -> bool {
    !init.code.obj.flags.generator && binds_simply(&init.code, nargs + 1)
}

/// The half of `enter_plain` that needs only the function: `callee` (from the pool) gets its
/// code, globals and closure, and the exception being handled as the one to restore. Code and
/// globals are kept when the frame last ran the same function: no count changes then.
///
/// `INLINE_COUNTS`: a changed code or globals has its counts changed inline
/// (`Ref::assign_inline_in`) rather than by the out-of-line `clone` and drop glue. Only
/// `try_push_method` and `new_frame` ask for it: they are functions of their own, while
/// `enter_plain` is inlined into the dispatch loop, whose layout the extra code disturbed (the
/// revert of 8197087).
#[inline(always)]
fn enter_code<const INLINE_COUNTS: bool, A: CellAccess>(
    access: A,
    callee: &mut Frame,
    func: &Function,
    cur_exc: &Option<Value>,
) {
    let code = &*func.code.get();
    if !Ref::ptr_eq(&callee.code, code) {
        if INLINE_COUNTS {
            // No room reserved for the code's stack: room is only a hint (pushes grow a full
            // stack), and a pooled frame's stack keeps the capacity the deepest code it ran
            // needed, so the reserve nearly never grew one, while it cost about 6 machine
            // instructions at the 3 method calls in 4 that take a frame that last ran
            // another code (callgrind, deltablue and richards).
            Ref::assign_inline_in(access, &mut callee.code, code);
        } else {
            callee.code = code.clone();
        }
    }
    if !Ref::ptr_eq(&callee.globals, &func.globals) {
        if INLINE_COUNTS {
            Ref::assign_inline_in(access, &mut callee.globals, &func.globals);
        } else {
            callee.globals = func.globals.clone();
        }
    }
    callee.ip = 0;
    if let Some(e) = cur_exc {
        callee.saved_exc = Some(e.clone());
        callee.set_extras();
    }
    if !INLINE_COUNTS {
        callee.stack.reserve(code.stack_size);
    }
    if !func.closure.is_empty() {
        callee.set_extras();
        callee.cells.extend(func.closure.iter().cloned());
    }
}

/// `gen_enter_inline`'s cells: a created or suspended generator (a created one only when
/// `sent` is `None` or absent) marked running and its frame taken out; `None` otherwise
/// (marked done if its frame is gone).
#[inline(always)]
fn take_for_resume<A: CellAccess>(
    access: A,
    g: &Generator,
    sent: Option<&Value>,
) -> Option<Box<Frame>> {
    {
        let mut st = access.lock(&g.status);
        match *st {
            GenStatus::Suspended => {}
            GenStatus::Created if sent.is_none_or(Value::is_none) => {}
            _ => return None,
        }
        *st = GenStatus::Running;
    }
    let frame = access.lock(&g.frame).take();
    if frame.is_none() {
        *access.lock(&g.status) = GenStatus::Done;
    }
    frame
}

/// How `gen_resume` found a generator (`begin_resume`).
enum Begun {
    /// Created or suspended: marked running, its frame taken out.
    Frame(Box<Frame>),
    /// Already running ("already executing").
    Running,
    /// A coroutine already finished ("cannot reuse already awaited coroutine").
    Reused,
    /// A generator already finished: it returns nothing more.
    Finished,
    /// Just created and sent a value other than `None`.
    SentToNew,
    /// Marked running but without a frame: marked done.
    NoFrame,
}

/// `gen_resume`'s cells, taken as `access` takes them.
#[inline(always)]
fn begin_resume<A: CellAccess>(access: A, g: &Generator, sent_none: bool) -> Begun {
    {
        let mut st = access.lock(&g.status);
        match *st {
            GenStatus::Running => return Begun::Running,
            GenStatus::Done if g.kind == crate::object::GenKind::Coroutine => return Begun::Reused,
            GenStatus::Done => return Begun::Finished,
            GenStatus::Created if !sent_none => return Begun::SentToNew,
            GenStatus::Created | GenStatus::Suspended => {}
        }
        *st = GenStatus::Running;
    }
    let frame = access.lock(&g.frame).take();
    match frame {
        Some(frame) => Begun::Frame(frame),
        None => {
            *access.lock(&g.status) = GenStatus::Done;
            Begun::NoFrame
        }
    }
}

/// A generator frame resumed in the dispatch loop yielded (`run.rs: yield_inline`): back
/// into its generator, which is suspended again.
#[inline(always)]
pub(crate) fn suspend_yielded<A: CellAccess>(access: A, g: &Generator, gframe: Box<Frame>) {
    *access.lock(&g.frame) = Some(gframe);
    *access.lock(&g.status) = GenStatus::Suspended;
}

/// `suspend_yielded` for `gen_next`, whose `take_for_resume` emptied the frame cell (and
/// nothing puts a frame there while the generator runs): the empty value the frame replaces
/// is tested inline, not passed to the drop glue of `Option<Box<Frame>>` (a call per item
/// in callgrind).
#[inline(always)]
fn suspend_taken<A: CellAccess>(access: A, g: &Generator, gframe: Box<Frame>) {
    let old = access.lock(&g.frame).replace(gframe);
    if old.is_some() {
        drop_frame_slot(old);
    }
    *access.lock(&g.status) = GenStatus::Suspended;
}

/// The frame `suspend_taken` found in the cell (not expected): dropped out of line.
#[cold]
#[inline(never)]
fn drop_frame_slot(old: Option<Box<Frame>>) {
    drop(old);
}

/// A new frame's own cells (`cellvars`), each starting with its parameter's argument when it
/// captures a parameter (`cell2arg`), else empty.
fn own_cells(code: &Code, frame: &mut Frame) {
    let obj = &code.obj;
    for i in 0..obj.cellvars.len() {
        let init = match obj.cell2arg.get(i).copied().flatten() {
            Some(slot) => frame.locals.get(slot as usize).cloned().unwrap_or_default(),
            None => Value::Undefined,
        };
        frame.set_extras();
        frame.cells.push(Ref::new(CellObj::new(init)));
    }
}

/// The other half: the arguments (taken, leaving empty slots) become the first of the
/// frame's `nlocals` slots.
#[inline(always)]
fn take_args(callee: &mut Frame, nlocals: usize, args: &mut [Value]) {
    let have = callee.locals.len();
    if have >= nlocals && have <= nlocals + SPARE_SLOTS {
        // The frame last ran a function with as many slots (usually this one) or a few more:
        // they are there, empty (`Frame::reset`); the arguments go into the first ones, and
        // the others past `nlocals` stay empty, unused.
        move_into_empty(&mut callee.locals, args);
    } else {
        fill_locals(&mut callee.locals, nlocals, args);
    }
}

/// A keyword's name against a parameter's: compared inline (names are short; a call of
/// `memcmp` per parameter tried was most of `f(a, c=v)`'s keyword matching).
#[inline(always)]
fn same_name(param: &str, name: &str) -> bool {
    param.len() == name.len() && param.bytes().zip(name.bytes()).all(|(x, y)| x == y)
}

/// How many empty local slots past its own a plain call's frame may keep (`enter_plain`):
/// reused as they are instead of cut (`fill_locals`). They cost nothing on return
/// (`Frame::reset` empties the code's own slots only); 16 rather than 4 spared richards
/// 0.23% of its machine instructions in `fill_locals` (callgrind), the other kernels none.
const SPARE_SLOTS: usize = 16;

/// Cut the stack down to `len`, the slots above it emptied (their values moved into a frame):
/// one length store (`heap::forget_tail`), where a pop and a tag test each (as this did before,
/// about 12 machine instructions a slot) or `truncate`'s drop glue would only find nothing to
/// free. A value left there by mistake would leak, not be freed twice; debug builds check.
#[inline(always)]
fn pop_moved(stack: &mut Vec<Value>, len: usize) {
    debug_assert!(stack
        .get(len..)
        .is_none_or(|s| s.iter().all(|v| matches!(v, Value::Undefined))));
    crate::heap::forget_tail(stack, len);
}

/// As `take_args` for arguments lent by a caller in Rust (`new_frame`): each is cloned into
/// its slot.
#[inline(always)]
fn clone_args(callee: &mut Frame, nlocals: usize, args: &[Value]) {
    let have = callee.locals.len();
    if have >= nlocals && have <= nlocals + SPARE_SLOTS {
        for (slot, v) in callee.locals.iter_mut().zip(args) {
            debug_assert!(matches!(slot, Value::Undefined));
            std::mem::forget(std::mem::replace(slot, v.clone()));
        }
    } else {
        let mut owned = args.to_vec();
        fill_locals(&mut callee.locals, nlocals, &mut owned);
    }
}

/// `nlocals` slots, the first ones `args` (taken), the rest empty, in place of what `locals`
/// held (empty slots of another function's frame): `enter_plain` when the slot count differs.
#[inline(never)]
fn fill_locals(locals: &mut Vec<Value>, nlocals: usize, args: &mut [Value]) {
    // Every slot is empty (`Frame::reset`): cut or grow to `nlocals` (plain loops: `resize`
    // and `truncate` call the drop glue of each slot), then move the arguments in.
    pop_moved(locals, nlocals);
    locals.reserve(nlocals - locals.len());
    while locals.len() < nlocals {
        locals.push(Value::Undefined);
    }
    move_into_empty(locals, args);
}

/// Move `args` (taken, leaving empty slots) into the first slots of `locals`, which are empty
/// (`Frame::reset`, or just pushed): what each slot held is forgotten, not dropped, as
/// `pop_moved` forgets the slots it cuts. Dropping it tested the kind of a value known to be
/// `Undefined`, about 9 machine instructions an argument (callgrind). A value left there by
/// mistake would leak, not be freed twice; debug builds check.
#[inline(always)]
fn move_into_empty(locals: &mut [Value], args: &mut [Value]) {
    for (slot, v) in locals.iter_mut().zip(args) {
        debug_assert!(matches!(slot, Value::Undefined));
        std::mem::forget(std::mem::replace(slot, std::mem::take(v)));
    }
}

/// Move call arguments into a new frame's (empty) local slots, in order, leaving `Undefined`
/// behind: no reference count changes, and the caller's truncate of the emptied slots drops
/// nothing. A plain loop: `Vec::extend(drain)` costs about a hundred instructions per call.
#[inline(always)]
fn move_args(locals: &mut Vec<Value>, args: &mut [Value]) {
    locals.reserve(args.len());
    for v in args {
        locals.push(std::mem::take(v));
    }
}

/// What `f` makes of `name` on the class of `obj`, when `obj` is an instance that nothing
/// shadows it in: no `__getattribute__`, no instance attribute of that name. Both look-ups go
/// through the instruction's inline cache (`cache.word` for the instance's table, `class_hint`
/// for the class's). `None` for anything else. Shared by the method-call fast paths below.
#[inline(always)]
fn unshadowed_class_attr<R>(
    obj: &Value,
    name: &Arc<str>,
    cache: &InlineCache,
    f: impl FnOnce(Option<&Value>) -> Option<R>,
) -> Option<R> {
    let Value::Instance(inst) = obj else {
        return None;
    };
    if inst.class.attr_flags() & crate::object::HAS_GETATTRIBUTE != 0
        || crate::interp::attr::has_name(&inst.dict.lock(), name, &cache.word)
    {
        return None;
    }
    inst.class.with_hinted(name, &cache.class_hint, f)
}

/// The built-in methods `CALL_LOADED` answers in place (`run.rs: builtin_method_fast`), by the
/// small int `LOAD_METHOD` leaves below the receiver for them: a list's `append` and `pop`, a
/// dict's `get`, a set's `add`. The built-in types' methods cannot be replaced, so knowing the
/// receiver's type and the name is knowing the method: no look-up, no count changed.
pub(crate) const HOT_METHODS: [&str; 4] = ["append", "pop", "get", "add"];

/// The index in `HOT_METHODS` of `obj.name` when `obj` is a built-in list, dict or set and
/// `name` one of its hot methods.
#[inline(always)]
pub(crate) fn hot_method(obj: &Value, name: &str) -> Option<i64> {
    match (obj, name) {
        (Value::List(_), "append") => Some(0),
        (Value::List(_), "pop") => Some(1),
        (Value::Dict(_), "get") => Some(2),
        (Value::Set(s), "add") if !s.frozen => Some(3),
        _ => None,
    }
}

/// What the small int `k` that `LOAD_METHOD` left below `recv` stands for, as CPython writes
/// the method (`<method 'append' of 'list' objects>`): the profiler's name for the callee
/// and `--trace`'s for the stack slot.
pub(crate) fn hot_method_label(k: i64, recv: &Value) -> Option<String> {
    let name = HOT_METHODS.get(usize::try_from(k).ok()?)?;
    let class = crate::object::type_name(recv);
    Some(format!("<method '{name}' of '{class}' objects>"))
}

/// `method_to_bind` for an instance, the cells taken as `access` takes them: the function its
/// class has for `name` (cloned), unless `__getattribute__` or an instance attribute comes
/// first or it is not a function that binds.
#[inline(always)]
fn instance_method_in<A: CellAccess>(
    access: A,
    inst: &crate::object::Instance,
    name: &Arc<str>,
    cache: &InlineCache,
) -> Option<Value> {
    if inst.class.attr_flags() & crate::object::HAS_GETATTRIBUTE != 0
        || crate::interp::attr::method_shadowed_in(access, &inst.dict, name, &cache.word)
    {
        return None;
    }
    inst.class.with_hinted_in::<true, _, _>(
        access,
        name,
        &cache.class_hint,
        #[inline(always)]
        |v| match v {
            Some(f @ Value::Function(_)) => Some(f.clone()),
            Some(m @ Value::Native(n)) if n.binds && !n.unwraps_receiver && !n.reads_frame => {
                Some(m.clone())
            }
            _ => None,
        },
    )
}

/// `obj[key]`'s `__getitem__` when `obj` is an instance whose class defines it as a Python
/// function (not a generator): the subscript instructions then call it as `obj.__getitem__(key)`
/// in the dispatch loop, as a method call (CPython 3.11's `BINARY_SUBSCR_GETITEM`), where the
/// general path (`getitem`) looked the name up by hashing it and ran it in a nested loop. Special
/// methods are looked up on the class only, so the instance's own attributes do not matter; the
/// instruction's inline cache remembers where the class's lookup cache keeps the name.
pub(crate) fn getitem_method(obj: &Value, cache: &InlineCache) -> Option<Ref<Function>> {
    let Value::Instance(inst) = obj else {
        return None;
    };
    let name = getitem_name();
    // `with_hinted` rather than `function_hinted`: the clone is made here, in the closure.
    inst.class
        .with_hinted(name, &cache.class_hint, |v| match v {
            Some(Value::Function(f)) if !f.code.head.flags.generator => Some(f.clone()),
            _ => None,
        })
}

/// The name `__getitem__`, one string for the process: the class caches compare their keys
/// by address on the hit path (`Class::method_hit_gil`), so the general look-up
/// (`getitem_method`) and the hit (`Interp::try_push_getitem`) must ask with the same one.
#[inline(always)]
fn getitem_name() -> &'static Arc<str> {
    static NAME: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
    NAME.get_or_init(|| Arc::from("__getitem__"))
}

/// The name `__setitem__`, as `getitem_name`.
#[inline(always)]
fn setitem_name() -> &'static Arc<str> {
    static NAME: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
    NAME.get_or_init(|| Arc::from("__setitem__"))
}

/// The name `__len__`, as `getitem_name`.
#[inline(always)]
fn len_name() -> &'static Arc<str> {
    static NAME: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
    NAME.get_or_init(|| Arc::from("__len__"))
}

/// Do `nargs` positional arguments fill exactly the positional parameters of `code`, with no
/// keyword-only parameters and no `*args`/`**kwargs` (so they are the first local slots as is)?
#[inline(always)]
fn binds_simply(code: &Code, nargs: usize) -> bool {
    nargs == code.simple_args as usize
}

/// A bound method at `stack[fpos]` of a Python function, or of a Rust function that does not
/// read its caller's frame, replaced by the function with the receiver inserted as its first
/// argument (CPython's `PRECALL_BOUND_METHOD`): the call then takes the function's own path
/// (a frame of the dispatch loop, or the arguments as a slice of the stack) instead of
/// `call_kw`'s argument vector and nested loop. Any keyword values stay last. False, the stack
/// untouched, for anything else. The test is inline, so other calls pay a comparison only.
#[inline(always)]
pub(crate) fn unpack_bound(stack: &mut Vec<Value>, fpos: usize) -> bool {
    matches!(stack.get(fpos), Some(Value::BoundMethod(_))) && unpack_bound_slow(stack, fpos)
}

#[inline(never)]
fn unpack_bound_slow(stack: &mut Vec<Value>, fpos: usize) -> bool {
    let Some(Value::BoundMethod(m)) = stack.get(fpos) else {
        return false;
    };
    match &m.func {
        Value::Function(_) => {}
        Value::Native(n) if !n.reads_frame => {}
        _ => return false,
    }
    let (receiver, func) = (m.receiver.clone(), m.func.clone());
    stack[fpos] = func;
    stack.insert(fpos + 1, receiver);
    true
}

/// Whether `subclass::unwrapped_args` could find something to unwrap for this call: a method of
/// a built-in type with an instance among its arguments. Checked inline, so the usual call
/// (`stack.append(i)`, `len(s)`) does not pay a function call to learn there is nothing to do.
#[inline(always)]
fn may_unwrap(n: &NativeFunction, args: &[Value]) -> bool {
    n.unwraps_receiver && args.iter().any(|a| matches!(a, Value::Instance(_)))
}

/// The Rust method `name` that `obj.name` would bind, when `obj` is an instance whose class
/// (or a base) defines it in Rust (`re.Match.group`, a lock's `acquire`) and nothing comes
/// first: no `__getattribute__`, no instance attribute of that name.
///
/// Both look-ups go through the instruction's inline cache, as `try_push_method`'s do (the
/// same words, for the same name): `self.getrandbits(k)` in `random.mini` asked this twice per
/// call, each time hashing the name into the instance's table and the class's cache
/// (chaos: about 250 machine instructions a time).
fn native_method_of(
    obj: &Value,
    name: &Arc<str>,
    cache: &InlineCache,
) -> Option<Ref<NativeFunction>> {
    unshadowed_class_attr(obj, name, cache, |v| match v {
        Some(Value::Native(n)) if n.binds && !n.unwraps_receiver && !n.reads_frame => {
            Some(n.clone())
        }
        _ => None,
    })
}

/// `list(x)` or `tuple(x)` with `c` the built-in class itself (not a subclass) and `args` one
/// built-in list or tuple: the new value, the items copied (`tuple(t)` is `t` itself, as
/// CPython and `construct` answer). `None` for any other call, left to the general path.
fn copy_sequence(c: &Ref<Class>, args: Option<&[Value]>) -> Option<Value> {
    let types = crate::object::types();
    let [arg] = args? else {
        return None;
    };
    if Ref::ptr_eq(c, &types.list) {
        match arg {
            Value::List(l) => Some(Value::list(l.snapshot())),
            Value::Tuple(t) => Some(Value::list(t.items.to_vec())),
            _ => None,
        }
    } else if Ref::ptr_eq(c, &types.tuple) {
        match arg {
            Value::Tuple(_) => Some(arg.clone()),
            Value::List(l) => Some(Value::tuple(l.snapshot())),
            _ => None,
        }
    } else {
        None
    }
}

/// The names a generator made by calling `func` takes when the function was renamed (what
/// `functools.wraps` does to a wrapper): CPython names a generator or coroutine after the
/// function object, not its code, so a decorated coroutine's repr (and its task's) shows the
/// wrapped function's name. `None` (the code's names) for a function never renamed.
#[inline(always)]
fn names_of(func: &Ref<crate::object::Function>) -> Option<Box<crate::object::GenNames>> {
    // (Most functions have no assigned attribute: one read of the map's length, inline.)
    if func.attrs.read().is_empty() {
        return None;
    }
    assigned_names(func)
}

#[cold]
#[inline(never)]
fn assigned_names(func: &Ref<crate::object::Function>) -> Option<Box<crate::object::GenNames>> {
    let attrs = func.attrs.read();
    let assigned = |key: &str| attrs.get(key).and_then(|v| v.as_str()).map(Arc::from);
    let (name, qualname) = (assigned("__name__"), assigned("__qualname__"));
    if name.is_none() && qualname.is_none() {
        return None;
    }
    Some(Box::new((
        name.unwrap_or_else(|| func.code.name.clone()),
        qualname.unwrap_or_else(|| func.code.qualname.clone()),
    )))
}

/// `try_push_init`'s answer from inside the class's cached plan.
enum InitFound {
    /// A pooled frame running `__init__`, its slot count: the arguments to move in.
    Ready(Box<Frame>, usize),
    /// An `__init__` taking the general frame set-up (defaults, a blank frame).
    Other(Ref<Function>),
    No,
}
