//! What the stamped slots' tests share: the heap's integration tests (`vm/tests/heap.rs`) and
//! its loom models (`vm/src/heap/loom_tests.rs`, built inside the crate with `--cfg loom`) both
//! include this file with `#[path]`, so it names nothing by crate: `StampedRef`, `StampedValue`,
//! `Value`, `Interp`, `Args` and `PyResult` come from the module that includes it.

use super::{Args, Interp, PyResult, StampedRef, StampedValue, Value};

/// The body of the native functions the tests put into slots: they are never called.
pub fn nothing(_: &mut Interp, _: Args<'_>) -> PyResult<Value> {
    Ok(Value::None)
}

/// `slot.push_if(a, b)` on an empty stack: the value pushed, or `None` for a miss (which must
/// push nothing).
pub fn answer(slot: &StampedRef, a: u64, b: u64) -> Option<Value> {
    let mut stack = Vec::new();
    if slot.push_if(a, b, &mut stack) {
        assert_eq!(stack.len(), 1);
        stack.pop()
    } else {
        assert!(stack.is_empty(), "a miss pushed {stack:?}");
        None
    }
}

/// `slot.push_if(a, || b)` on an empty stack: the value pushed, or `None` for a miss (which
/// must push nothing).
pub fn value_answer(slot: &StampedValue, a: u64, b: u64) -> Option<Value> {
    let mut stack = Vec::new();
    if slot.push_if(a, || b, &mut stack) {
        assert_eq!(stack.len(), 1);
        stack.pop()
    } else {
        assert!(stack.is_empty(), "a miss pushed {stack:?}");
        None
    }
}
