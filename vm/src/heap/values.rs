//! A fixed-length array of values whose memory comes from the object pool ([`pool`]): a tuple's
//! items.
//!
//! A `Box<[Value]>` takes its block from the general allocator (mimalloc): a malloc and a free
//! per tuple, about 50 instructions of the 450 a two-item tuple cost to build and drop
//! (callgrind, 2026-12-05), and building one from the operand stack went through a `Vec`
//! (`split_off`, then `into_boxed_slice`). A `ValueArray` of up to 16 items takes a block of its
//! size class from this thread's free list instead, the same lists objects come from, and can
//! be filled by moving the top of the operand stack into it directly ([`ValueArray::from_tail`]).
//! Longer arrays use the general allocator. The empty array owns no memory.

use std::alloc::Layout;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use super::pool;
use crate::value::Value;

/// `len` values in one block: a pool block of class `class(len)` when that is `Some`,
/// otherwise a general allocation of `Layout::array::<Value>(len)`; no memory when `len` is 0.
pub struct ValueArray {
    ptr: NonNull<Value>,
    len: usize,
}

// Pool blocks are aligned to 16 bytes.
const _: () = assert!(std::mem::align_of::<Value>() <= 16);

/// The pool class of an array of `len` values (`len > 0`), if pooled.
#[inline(always)]
fn class(len: usize) -> Option<usize> {
    pool::class_of_size(len.saturating_mul(std::mem::size_of::<Value>()))
}

/// The layout of an unpooled array of `len` values.
fn big_layout(len: usize) -> Layout {
    match Layout::array::<Value>(len) {
        Ok(l) => l,
        // More values than the address space holds: the caller's `Vec` could not exist.
        Err(_) => std::process::abort(),
    }
}

impl ValueArray {
    /// The empty array.
    #[inline]
    pub const fn new() -> ValueArray {
        ValueArray {
            ptr: NonNull::dangling(),
            len: 0,
        }
    }

    /// Uninitialized memory for `len > 0` values.
    #[inline(always)]
    fn block(len: usize) -> NonNull<Value> {
        match class(len) {
            // Pool blocks are 16-byte aligned, enough for `Value` (checked below).
            Some(c) => pool::alloc_class(c).cast(),
            None => pool::alloc_plain(big_layout(len)),
        }
    }

    /// The values of `items`, moved (the vector's buffer is given back).
    #[inline]
    pub fn from_vec(mut items: Vec<Value>) -> ValueArray {
        let len = items.len();
        if len == 0 {
            return ValueArray::new();
        }
        let ptr = ValueArray::block(len);
        // SAFETY: `ptr` is fresh memory for `len` values, not overlapping the vector's buffer;
        // the values are moved (bitwise) and the vector forgets them (`set_len(0)`), so each
        // has exactly one owner, the array.
        unsafe {
            std::ptr::copy_nonoverlapping(items.as_ptr(), ptr.as_ptr(), len);
            items.set_len(0);
        }
        ValueArray { ptr, len }
    }

    /// The last `n` values of `stack` (`n <= stack.len()`), moved out of it in order.
    #[inline(always)]
    pub fn from_tail(stack: &mut Vec<Value>, n: usize) -> ValueArray {
        let total = stack.len();
        if n == 0 || n > total {
            return ValueArray::new();
        }
        let ptr = ValueArray::block(n);
        let start = total - n;
        // SAFETY: elements `start..total` of the stack are initialized; they are moved
        // (bitwise) into the fresh block and the stack is shortened over them without dropping
        // them, so each value has exactly one owner, the array. Pairs (the most common tuple)
        // are two moves, not a call to `memcpy`.
        unsafe {
            let src = stack.as_ptr().add(start);
            if n == 2 {
                ptr.as_ptr().write(src.read());
                ptr.as_ptr().add(1).write(src.add(1).read());
            } else {
                std::ptr::copy_nonoverlapping(src, ptr.as_ptr(), n);
            }
            stack.set_len(start);
        }
        ValueArray { ptr, len: n }
    }

    /// Copies (new references) of the values of `items`.
    pub fn from_slice(items: &[Value]) -> ValueArray {
        let len = items.len();
        if len == 0 {
            return ValueArray::new();
        }
        let ptr = ValueArray::block(len);
        for (i, v) in items.iter().enumerate() {
            // SAFETY: `i < len`: a slot of the fresh block, written once. Should `clone` panic
            // (it does not: a count change), the block and the clones so far would leak.
            unsafe { ptr.as_ptr().add(i).write(v.clone()) };
        }
        ValueArray { ptr, len }
    }

    /// The values, moved into a vector.
    pub fn into_vec(self) -> Vec<Value> {
        let this = std::mem::ManuallyDrop::new(self);
        let mut out = Vec::with_capacity(this.len);
        // SAFETY: the array's values are moved (bitwise) into the vector's fresh buffer, and
        // the array is not dropped (`ManuallyDrop`): only its block is freed, below.
        unsafe {
            std::ptr::copy_nonoverlapping(this.ptr.as_ptr(), out.as_mut_ptr(), this.len);
            out.set_len(this.len);
            free_block(this.ptr, this.len);
        }
        out
    }
}

/// Give back the block of an array of `len` values whose values are dropped or moved out.
///
/// # Safety
/// `ptr` and `len` are those of a `ValueArray` (made by `ValueArray::block(len)` when `len > 0`),
/// and nothing uses the block any more.
// SAFETY: (declaration) callers uphold the contract above.
#[inline(always)]
unsafe fn free_block(ptr: NonNull<Value>, len: usize) {
    if len == 0 {
        return;
    }
    match class(len) {
        // SAFETY: the block came from `pool::alloc_class(c)` (`ValueArray::block`).
        Some(c) => unsafe { pool::free_class(ptr.cast(), c) },
        // SAFETY: the block came from `alloc_plain(big_layout(len))`.
        None => unsafe { std::alloc::dealloc(ptr.as_ptr().cast(), big_layout(len)) },
    }
}

impl Drop for ValueArray {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the array owns its `len` initialized values (dropped once, here) and its
        // block, freed once after them. (The drop glue of each value, not `discard_value`:
        // a tuple's items are often the last reference to their objects, binary_trees' are,
        // where `discard_value` counts twice.)
        unsafe {
            std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(
                self.ptr.as_ptr(),
                self.len,
            ));
            free_block(self.ptr, self.len);
        }
    }
}

impl Deref for ValueArray {
    type Target = [Value];
    #[inline(always)]
    fn deref(&self) -> &[Value] {
        // SAFETY: `ptr` holds `len` initialized values owned by the array (or is dangling and
        // well aligned with `len` 0), borrowed for as long as `self` is.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for ValueArray {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [Value] {
        // SAFETY: as in `deref`, with `&mut self` making the borrow exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Clone for ValueArray {
    fn clone(&self) -> ValueArray {
        ValueArray::from_slice(self)
    }
}

impl Default for ValueArray {
    fn default() -> ValueArray {
        ValueArray::new()
    }
}

impl From<Vec<Value>> for ValueArray {
    fn from(items: Vec<Value>) -> ValueArray {
        ValueArray::from_vec(items)
    }
}

impl FromIterator<Value> for ValueArray {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> ValueArray {
        ValueArray::from_vec(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a ValueArray {
    type Item = &'a Value;
    type IntoIter = std::slice::Iter<'a, Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl fmt::Debug for ValueArray {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}
