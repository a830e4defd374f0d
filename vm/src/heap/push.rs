//! `Vec::push` that is always inlined, for the two pushes of the call path that the compiler
//! left out of line in the dispatch loop (a call to `Vec::push_mut` each, callgrind): the caller's
//! frame onto `Interp::frames` when a Python function is entered, and the return value onto the
//! caller's operand stack when it returns. Growing stays out of line; the usual case is a length
//! check, a store and a length update. And `forget_tail`, which shortens the operand stack over
//! the slots a call just moved its arguments out of.

/// Append `x` to `v`, as `v.push(x)`.
#[inline(always)]
pub(crate) fn push_inline<T>(v: &mut Vec<T>, x: T) {
    let len = v.len();
    if len == v.capacity() {
        grow_one(v);
    }
    // SAFETY: `len < v.capacity()` here (checked above, `grow_one` reserved room otherwise), so
    // the slot at `len` is allocated and unused: writing `x` there initializes it, and the
    // new length covers only initialized elements.
    unsafe {
        v.as_mut_ptr().add(len).write(x);
        v.set_len(len + 1);
    }
}

#[cold]
#[inline(never)]
fn grow_one<T>(v: &mut Vec<T>) {
    v.reserve(1);
}

/// Shorten `v` to `len` elements without dropping the ones cut off, which the caller has
/// already emptied (a call's arguments, moved into the callee's slots, leave `Value::Undefined`
/// behind, which owns nothing). `truncate` runs the drop glue of each (a tag test and a branch
/// per slot, and a loop), this is one store. Were a slot not empty, its value would be leaked,
/// never freed twice: shortening a vector over initialized elements is always sound.
#[inline(always)]
pub(crate) fn forget_tail<T>(v: &mut Vec<T>, len: usize) {
    if len < v.len() {
        // SAFETY: `len < v.len() <= v.capacity()`, and the elements below `len` stay as they
        // were (initialized); those from `len` on are forgotten, which is allowed (as
        // `mem::forget`), and own nothing in the callers' use.
        unsafe { v.set_len(len) }
    }
}
