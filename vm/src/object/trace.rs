//! Stage 4 (VM), heap objects.
//! What each object type references, for the cycle collector (`heap/gc.rs`): CPython's
//! `tp_traverse` and `tp_clear`, gathered in one file per type.
//!
//! * `needs_tracking`: containers that can take part in a cycle are tracked. A tuple, being
//!   immutable, is tracked only if it holds something that is (CPython untracks such tuples at
//!   its first collection; we decide at creation). Strings, numbers, ranges and code are never.
//! * `trace`: report every counted reference the object owns. The contents are read with
//!   `try_read`: contents in use (impossible at the collector's safe points, but cheap to allow)
//!   are simply not traced, which only keeps objects alive.
//! * `clear`: drop what the object owns, to break a cycle. The contents are moved out under the
//!   cell's guard and dropped after it is released, since dropping them may free other objects.
//!   Immutable parts (a tuple's items, a bound method's function) are left: clearing the mutable
//!   members of a cycle is enough to break it, as in CPython.

use crate::builtins::complex::Complex;
use crate::heap::{Trace, Visitor};
use crate::interp::code::Code;
use crate::interp::frame::Frame;
use crate::num::BigInt;
use crate::object::{
    BoundMethod, ByteArray, CellObj, Class, Dict, ExcData, Function, GenStatus, Generator, Hint,
    Instance, IterObj, IterState, List, Module, NativeFunction, Payload, PyBytes, PyStr, Range,
    RangeIter, SetObj, Slice, Tuple,
};
use crate::value::Value;

impl Value {
    /// Report the heap object behind this value, if it is one the collector may track.
    #[inline]
    pub fn trace(&self, visit: &mut Visitor<'_>) {
        match self {
            Value::Tuple(r) => visit.visit(r),
            Value::List(r) => visit.visit(r),
            Value::Dict(r) => visit.visit(r),
            Value::Set(r) => visit.visit(r),
            Value::Function(r) => visit.visit(r),
            Value::BoundMethod(r) => visit.visit(r),
            Value::Class(r) => visit.visit(r),
            Value::Instance(r) => visit.visit(r),
            Value::Module(r) => visit.visit(r),
            Value::Iter(r) => visit.visit(r),
            Value::Generator(r) => visit.visit(r),
            Value::Cell(r) => visit.visit(r),
            _ => {}
        }
    }

    /// Could this value be part of a cycle (is it, or may it become, a tracked object)?
    pub fn may_be_tracked(&self) -> bool {
        match self {
            Value::Tuple(t) => crate::heap::gc::is_tracked(t),
            Value::Set(s) if s.frozen => crate::heap::gc::is_tracked(s),
            // A plain complex number is not tracked (`Instance::needs_tracking`).
            Value::Instance(i) => crate::heap::gc::is_tracked(i),
            Value::List(_)
            | Value::Dict(_)
            | Value::Set(_)
            | Value::Function(_)
            | Value::BoundMethod(_)
            | Value::Class(_)
            | Value::Module(_)
            | Value::Iter(_)
            | Value::Generator(_)
            | Value::Cell(_) => true,
            _ => false,
        }
    }
}

fn trace_all<'v>(values: impl IntoIterator<Item = &'v Value>, visit: &mut Visitor<'_>) {
    for v in values {
        v.trace(visit);
    }
}

fn trace_opt(v: &Option<Value>, visit: &mut Visitor<'_>) {
    if let Some(v) = v {
        v.trace(visit);
    }
}

/// Types that never reference a tracked object.
macro_rules! untracked {
    ($($t:ty),*) => { $(impl Trace for $t {})* };
}
untracked!(
    PyStr,
    PyBytes,
    ByteArray,
    BigInt,
    Complex,
    Range,
    RangeIter,
    NativeFunction,
    Code
);

/// A slice's bounds are almost always ints; CPython does not track slices either. A slice may
/// hold any object (slices of slices nest), so its free counts towards the nesting limit.
impl Trace for Slice {
    fn holds_references(&self) -> bool {
        true
    }
}

impl Trace for Tuple {
    fn needs_tracking(&self) -> bool {
        self.items.iter().any(Value::may_be_tracked)
    }
    fn holds_references(&self) -> bool {
        !self.items.is_empty()
    }
    fn trace(&self, visit: &mut Visitor<'_>) {
        trace_all(self.items.iter(), visit);
    }
}

impl Trace for List {
    fn needs_tracking(&self) -> bool {
        true
    }
    fn trace(&self, visit: &mut Visitor<'_>) {
        if let Ok(items) = self.items.try_read() {
            trace_all(items.iter(), visit);
        }
    }
    fn clear(&self) {
        let items = self.items.try_lock().map(|mut g| std::mem::take(&mut *g));
        drop(items);
    }
}

impl Trace for Dict {
    fn needs_tracking(&self) -> bool {
        true
    }
    fn trace(&self, visit: &mut Visitor<'_>) {
        if let Ok(map) = self.try_read() {
            for (k, v) in map.iter() {
                k.value.trace(visit);
                v.trace(visit);
            }
        }
    }
    fn clear(&self) {
        // Taken through the write guard: the keys went away, so caches that trust a name's
        // absence look again.
        let map = self.try_write().map(|mut g| g.take());
        drop(map);
    }
}

impl Trace for SetObj {
    fn holds_references(&self) -> bool {
        true
    }
    fn needs_tracking(&self) -> bool {
        !self.frozen
            || self
                .items
                .try_read()
                .map_or(true, |items| items.iter().any(|k| k.value.may_be_tracked()))
    }
    fn trace(&self, visit: &mut Visitor<'_>) {
        if let Ok(items) = self.items.try_read() {
            trace_all(items.iter().map(|k| &k.value), visit);
        }
    }
    fn clear(&self) {
        let items = self.items.try_lock().map(|mut g| std::mem::take(&mut *g));
        drop(items);
    }
}

impl Trace for crate::object::Defaults {
    fn needs_tracking(&self) -> bool {
        self.kw.is_some() || self.pos.iter().any(Value::may_be_tracked)
    }
    fn holds_references(&self) -> bool {
        true
    }
    fn trace(&self, visit: &mut Visitor<'_>) {
        trace_all(self.pos.iter(), visit);
        if let Some(kw) = &self.kw {
            visit.visit(kw);
        }
    }
}

impl Trace for Function {
    fn needs_tracking(&self) -> bool {
        true
    }
    fn trace(&self, visit: &mut Visitor<'_>) {
        visit.visit(&self.globals);
        visit.visit(&*self.defaults.get());
        for cell in self.closure.iter() {
            visit.visit(cell);
        }
        if let Ok(attrs) = self.attrs.try_read() {
            trace_all(attrs.values(), visit);
        }
    }
    fn clear(&self) {
        let attrs = self.attrs.try_lock().map(|mut g| std::mem::take(&mut *g));
        drop(attrs);
    }
}

impl Trace for BoundMethod {
    fn needs_tracking(&self) -> bool {
        true
    }
    fn trace(&self, visit: &mut Visitor<'_>) {
        self.receiver.trace(visit);
        self.func.trace(visit);
    }
}

impl Trace for CellObj {
    fn needs_tracking(&self) -> bool {
        true
    }
    fn trace(&self, visit: &mut Visitor<'_>) {
        if let Ok(v) = self.value.try_read() {
            v.trace(visit);
        }
    }
    fn clear(&self) {
        let v = self.value.try_lock().map(|mut g| std::mem::take(&mut *g));
        drop(v);
    }
}

impl Trace for Class {
    fn needs_tracking(&self) -> bool {
        true
    }
    fn trace(&self, visit: &mut Visitor<'_>) {
        if let Some(b) = &self.base {
            visit.visit(b);
        }
        for b in self.bases.iter().chain(self.mro_tail.iter()) {
            visit.visit(b);
        }
        if let Some(m) = &self.metaclass {
            visit.visit(m);
        }
        if let Ok(dict) = self.dict.try_read() {
            trace_all(dict.values(), visit);
        }
        if let Ok(cache) = self.cache.try_read() {
            trace_all(cache.1.values().flatten(), visit);
        }
        if let Ok(slots) = self.slot_cache.try_read() {
            trace_all(slots.values(), visit);
        }
        if let Ok(ctor) = self.ctor.try_read() {
            if let crate::object::Ctor::Plain(Some(f)) | crate::object::Ctor::New(f) = &ctor.1 {
                f.trace(visit);
            }
        }
    }
    fn clear(&self) {
        let dict = self.dict.try_lock().map(|mut g| std::mem::take(&mut *g));
        let cache = self.cache.try_lock().map(|mut g| std::mem::take(&mut g.1));
        let slots = self
            .slot_cache
            .try_lock()
            .map(|mut g| std::mem::take(&mut *g));
        let ctor = self.ctor.try_lock().map(|mut g| std::mem::take(&mut g.1));
        drop((dict, cache, slots, ctor));
    }
}

fn trace_exc(data: &ExcData, visit: &mut Visitor<'_>) {
    trace_all(data.args.iter(), visit);
    trace_opt(&data.cause, visit);
    trace_opt(&data.context, visit);
    trace_opt(&data.member, visit);
    if let Some(cached) = &data.tb_object {
        cached.1.trace(visit);
    }
    // The frames' variables a traceback keeps (the exception -> traceback -> frame -> its
    // variables -> exception cycle of `except E as e: err = e`).
    for e in &data.traceback {
        if let Some(cell) = &e.locals {
            visit.visit(cell);
        }
    }
    if let Some(Hint::Attribute { obj, .. }) = &data.hint {
        obj.trace(visit);
    }
}

impl Trace for Instance {
    fn needs_tracking(&self) -> bool {
        // A complex number (of the built-in class itself: it takes no attributes) refers to
        // nothing but its class, which lives for the whole run; CPython does not track it
        // either, so `[1j * i for i in range(10**6)]` gives the collector nothing to walk.
        !crate::builtins::complex::is_plain_complex(self)
    }
    fn trace(&self, visit: &mut Visitor<'_>) {
        visit.visit(&self.class.get());
        if let Ok(dict) = self.dict.try_read() {
            trace_all(dict.values(), visit);
            // The dict of the instance's `__dict__` objects, which the table keeps current.
            if let Some(view) = dict.view() {
                visit.visit(view);
            }
        }
        match &self.payload {
            Payload::Exception(data) => {
                if let Ok(data) = data.try_read() {
                    trace_exc(&data, visit);
                }
            }
            Payload::Super { start, obj } => {
                visit.visit(start);
                obj.trace(visit);
            }
            Payload::Property { fget, fset, fdel } => trace_all([fget, fset, fdel], visit),
            Payload::Wrapped(v) | Payload::Builtin { value: v } => v.trace(visit),
            Payload::DictView(d, _) => visit.visit(d),
            // A class's `__dict__` proxy's view refers to its class.
            Payload::Native(cell) => {
                if let Some(cls) = cell.get().and_then(crate::interp::views::namespace_class) {
                    visit.visit(cls);
                }
            }
            // Other native data (a thread, a queue's storage) is opaque here: what it holds
            // counts as an outside reference and stays alive.
            Payload::None | Payload::Member { .. } => {}
        }
    }
    fn clear(&self) {
        let dict = self.dict.try_lock().map(|mut g| std::mem::take(&mut *g));
        let exc = match &self.payload {
            Payload::Exception(data) => data.try_lock().map(|mut g| std::mem::take(&mut *g)).ok(),
            _ => None,
        };
        drop((dict, exc));
    }
}

impl Trace for Module {
    fn needs_tracking(&self) -> bool {
        true
    }
    fn trace(&self, visit: &mut Visitor<'_>) {
        visit.visit(&self.dict);
    }
}

impl Trace for IterObj {
    fn needs_tracking(&self) -> bool {
        true
    }
    fn trace(&self, visit: &mut Visitor<'_>) {
        let Ok(state) = self.state.try_read() else {
            return;
        };
        match &*state {
            IterState::List { list, .. } => visit.visit(list),
            IterState::Tuple { tuple, .. } => visit.visit(tuple),
            IterState::Items { items, set, .. } => {
                trace_all(items.iter(), visit);
                if let Some((s, _)) = set {
                    visit.visit(s);
                }
            }
            IterState::SetWalk { set, .. } => visit.visit(set),
            IterState::DictWalk(w) => visit.visit(&w.dict),
            IterState::Guarded { items, .. } | IterState::Reversed { items } => {
                trace_all(items.iter(), visit)
            }
            IterState::Enumerate { inner, spare, .. } => {
                inner.trace(visit);
                if let Some(t) = spare {
                    visit.visit(t);
                }
            }
            IterState::SeqIter { obj: inner, .. } | IterState::RevSeq { obj: inner, .. } => {
                inner.trace(visit)
            }
            IterState::Zip { inners, spare, .. } => {
                trace_all(inners.iter(), visit);
                if let Some(t) = spare {
                    visit.visit(t);
                }
            }
            IterState::Combinatoric(c) => trace_all(c.values(), visit),
            IterState::Map { func, inners } => {
                func.trace(visit);
                trace_all(inners.iter(), visit);
            }
            IterState::Filter { func, inner }
            | IterState::Callable {
                func,
                sentinel: inner,
            } => {
                func.trace(visit);
                inner.trace(visit);
            }
            IterState::Str { .. }
            | IterState::RangeCountdown { .. }
            | IterState::LongRange { .. }
            | IterState::Exhausted
            | IterState::Spare => {}
        }
    }
    fn clear(&self) {
        let old = self
            .state
            .try_lock()
            .map(|mut g| std::mem::replace(&mut *g, IterState::Exhausted));
        drop(old);
    }
}

fn trace_frame(frame: &Frame, visit: &mut Visitor<'_>) {
    visit.visit(&frame.globals);
    trace_all(frame.locals.iter().chain(frame.stack.iter()), visit);
    for cell in &frame.cells {
        visit.visit(cell);
    }
    if let Some(ns) = &frame.namespace {
        visit.visit(ns);
    }
    trace_opt(&frame.mapping, visit);
    trace_opt(&frame.saved_exc, visit);
    if let Some(cell) = &frame.traced {
        visit.visit(cell);
    }
}

impl Trace for Generator {
    fn needs_tracking(&self) -> bool {
        true
    }
    fn trace(&self, visit: &mut Visitor<'_>) {
        // A running generator's frame is out of its cell (or the cell is borrowed): its values
        // are the running thread's, outside references.
        if let Ok(frame) = self.frame.try_read() {
            if let Some(frame) = frame.as_deref() {
                trace_frame(frame, visit);
            }
        }
    }
    fn clear(&self) {
        let frame = self.frame.try_lock().map(|mut g| g.take());
        drop(frame);
    }
    fn finalize(&self) -> bool {
        // A suspended generator in a cycle is closed all the same (`interp/finalize.rs`).
        if !self
            .status
            .try_lock()
            .is_ok_and(|s| matches!(*s, GenStatus::Suspended))
        {
            return false;
        }
        let Ok(mut slot) = self.frame.try_lock() else {
            return false;
        };
        if !slot
            .as_ref()
            .is_some_and(|f| crate::interp::finalize::needs_closing(f))
        {
            return false;
        }
        let Some(frame) = slot.take() else {
            return false;
        };
        drop(slot);
        if let Ok(mut status) = self.status.try_lock() {
            *status = GenStatus::Done;
        }
        crate::interp::finalize::orphaned(frame, self.kind);
        true
    }
}
