//! Counting a [`Value`] without asking which kind of object it holds.
//!
//! Every pointer variant of `Value` is one [`Ref`], and every `Ref` points at a `HeapBox` whose
//! [`Header`] (the reference count) comes first. So copying or dropping a value only has to find
//! that header, the same way for every kind: one test of the variant's tag and one load. The
//! derived `Clone` and drop glue instead branch to a separate arm per variant (a jump table out
//! of line, a call at each use), which the dispatch loop paid on every `LOAD_LOCAL` of an
//! instance and every `POP_TOP` of one (callgrind: about 20 machine instructions each, of a
//! zero-argument method call's 750).
//!
//! This is the only place that copies a `Value` bit for bit, hence its place in the heap
//! module: the copy is sound because the count of the one object it refers to went up first.

use super::{free_threaded, gil_drop_shared, Header, Ref};
use crate::value::Value;

impl<T> Ref<T> {
    #[inline(always)]
    fn header(&self) -> &Header {
        &self.heap_box().header
    }
}

/// The header of the object `v` refers to; `None` for a value that owns nothing (an int, a
/// float, a bool, `None`, an empty slot, `Ellipsis`, `NotImplemented`). The match names every
/// variant, so a new one must be placed on one side or the other before this compiles.
#[inline(always)]
fn header(v: &Value) -> Option<&Header> {
    match v {
        Value::Undefined
        | Value::None
        | Value::Bool(_)
        | Value::Int(_)
        | Value::Float(_)
        | Value::Ellipsis
        | Value::NotImplemented => None,
        Value::BigInt(r) => Some(r.header()),
        Value::Complex(r) => Some(r.header()),
        Value::Str(r) => Some(r.header()),
        Value::Bytes(r) => Some(r.header()),
        Value::ByteArray(r) => Some(r.header()),
        Value::Tuple(r) => Some(r.header()),
        Value::List(r) => Some(r.header()),
        Value::Dict(r) => Some(r.header()),
        Value::Set(r) => Some(r.header()),
        Value::Range(r) => Some(r.header()),
        Value::Slice(r) => Some(r.header()),
        Value::Function(r) => Some(r.header()),
        Value::Native(r) => Some(r.header()),
        Value::BoundMethod(r) => Some(r.header()),
        Value::Class(r) => Some(r.header()),
        Value::Instance(r) => Some(r.header()),
        Value::Module(r) => Some(r.header()),
        Value::Iter(r) => Some(r.header()),
        Value::RangeIter(r) => Some(r.header()),
        Value::Generator(r) => Some(r.header()),
        Value::Cell(r) => Some(r.header()),
    }
}

/// `v.clone()`: one more reference to its object (if it has one), and a copy of `v`.
#[inline(always)]
pub(crate) fn clone_value(v: &Value) -> Value {
    if let Some(h) = header(v) {
        h.incref();
    }
    // SAFETY: a value without a header owns nothing, so a bitwise copy of it is a plain copy of
    // data; a value with one holds exactly one `Ref` (`header` lists every variant), whose
    // object's count was just raised for the copy: the copy owns that new reference, exactly
    // as a `Ref::clone` would have made it, and `v` keeps its own.
    unsafe { std::ptr::read(v) }
}

/// Drop `v`. GIL model, another reference left: the count goes down inline and nothing else
/// happens. Otherwise (the last reference, which frees the object; the free-threaded model,
/// whose atomic decrement decides that itself) the ordinary drop.
#[inline(always)]
pub(crate) fn discard_value(v: Value) {
    match header(&v) {
        None => std::mem::forget(v),
        Some(h) if !free_threaded() => {
            // GIL model: this thread holds the GIL, a plain decrement (as `Header::decref`).
            if gil_drop_shared(&h.count) {
                // The reference `v` held is the one just counted away.
                std::mem::forget(v);
            } else {
                drop(v);
            }
        }
        Some(_) => drop(v),
    }
}
