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

use super::{free_threaded, gil_count_add, gil_drop_shared, Header, Ref, IMMORTAL, MAX_COUNT};
use crate::value::Value;
use std::sync::atomic::Ordering;

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

impl Header {
    /// `n` more references at once (`incref` `n` times): one read-modify-write of the count.
    #[inline]
    fn incref_by(&self, n: usize) {
        if n > MAX_COUNT {
            std::process::abort();
        }
        if free_threaded() {
            if self.count.load(Ordering::Relaxed) & IMMORTAL != 0 {
                return;
            }
            if self.count.fetch_add(n, Ordering::Relaxed) > MAX_COUNT - n {
                std::process::abort();
            }
        } else if gil_count_add(&self.count, n) > MAX_COUNT {
            std::process::abort();
        }
    }
}

/// Append `items` to `out` `n` times over, as `seq * n` builds its result: each item's object
/// (if it has one) counted up by `n` at once, then bitwise copies. An int, `None` or other
/// immediate item costs one 16-byte store per copy, a heap object one count change in all,
/// where `clone` per element paid a tag test and a count change each time. The caller checked
/// that `items.len() * n` is an allowed size. Public for the heap's Miri tests (`vm/tests/heap.rs`).
pub fn extend_repeated(out: &mut Vec<Value>, items: &[Value], n: usize) {
    let Some(total) = items.len().checked_mul(n) else {
        std::process::abort();
    };
    // Nothing to copy: `[] * 10**18` must not spin 10**18 times over an empty run (the
    // optimiser removes that loop in release builds, not at the dev profile's opt-level).
    if total == 0 {
        return;
    }
    // Room first: no reallocation (and no capacity panic) once the counts are raised.
    out.reserve(total);
    for v in items {
        if let Some(h) = header(v) {
            h.incref_by(n);
        }
    }
    // SAFETY (both loops): each item's object was counted up by `n` above, once for each of
    // the `n` copies made of it here, so every copy owns a reference of its own, as a clone
    // would; an item without a header owns nothing and its copy is a plain copy of data.
    if let [v] = items {
        out.extend((0..n).map(|_| unsafe { std::ptr::read(v) }));
    } else {
        for _ in 0..n {
            // SAFETY: as above: each item's count went up by `n`, one for each of these runs.
            out.extend(items.iter().map(|v| unsafe { std::ptr::read(v) }));
        }
    }
}

/// `list *= n` for `n >= 1`: `v`'s items repeated in place until there are `n` runs of them,
/// the counts raised by `n - 1` once per item (as [`extend_repeated`]); `n` of 0 or 1 leaves `v`
/// as it is (the caller clears it for 0). The caller checked the size. Public for the heap's
/// Miri tests.
pub fn repeat_in_place(v: &mut Vec<Value>, n: usize) {
    let len = v.len();
    if n <= 1 || len == 0 {
        return;
    }
    let Some(total) = len.checked_mul(n) else {
        std::process::abort();
    };
    v.reserve(total - len);
    for item in v.iter() {
        if let Some(h) = header(item) {
            h.incref_by(n - 1);
        }
    }
    for _ in 1..n {
        for i in 0..len {
            // SAFETY: as in `extend_repeated`: the item's count was raised by `n - 1`, once for
            // each copy; `i < len <= v.len()`, and the room was reserved above, so the push
            // does not move the buffer the read came from before it is done.
            let copy = unsafe { std::ptr::read(&v[i]) };
            v.push(copy);
        }
    }
}

/// Whether another thread could free what `v` refers to while this one holds no count of it:
/// `false` for a value that owns nothing (an int, `None`...) and for an immortal object
/// ([`Ref::immortalize`]), which is never freed. What a cache that keeps a value without a
/// count of its own may keep with the GIL off (`stamped.rs: StampedValue`).
#[inline]
pub(crate) fn may_be_freed(v: &Value) -> bool {
    header(v).is_some_and(|h| h.count.load(Ordering::Relaxed) & IMMORTAL == 0)
}

/// Whether `v` holds a reference to a heap object (one `Ref`, its second word).
#[inline]
pub(crate) fn refers(v: &Value) -> bool {
    header(v).is_some()
}
