//! `Vec::push` that is always inlined, for the two pushes of the call path that the compiler
//! left out of line in the dispatch loop (a call to `Vec::push_mut` each, callgrind): the caller's
//! frame onto `Interp::frames` when a Python function is entered, and the return value onto the
//! caller's operand stack when it returns. Growing stays out of line; the usual case is a length
//! check, a store and a length update.

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
