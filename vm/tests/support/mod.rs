//! What the heap's test binaries (`heap.rs`, `heap_swap.rs`) share: the heap's allocator as
//! theirs, and one test at a time in a chosen memory model. A directory module, so that Cargo
//! does not take it for a test binary of its own.

use std::sync::Mutex;

use minivm_vm::heap::{set_model, Model};

// Every allocation of these tests goes through the heap's allocator (`heap/alloc.rs`), as every
// allocation of the `minivm` command does; under Miri, through its stand-ins for mimalloc's C
// functions, so that Miri checks each block `Allocator` hands out.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: minivm_vm::heap::alloc::Allocator = minivm_vm::heap::alloc::Allocator;

/// The model is process-wide: tests that set it run one at a time.
static MODEL_LOCK: Mutex<()> = Mutex::new(());

/// Run `f` in `model`, alone among the tests of its binary; the GIL model is restored after.
pub fn with_model(model: Model, f: impl FnOnce()) {
    let _serial = MODEL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    set_model(model);
    f();
    set_model(Model::Gil);
}
