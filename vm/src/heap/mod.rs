//! The heap (stage 4, below the interpreter): how Python objects are owned, counted and reached,
//! under the two memory models minivm offers.
//!
//! Two types carry every object:
//! * [`Ref<T>`] — a counted reference to a heap object (`Value`'s pointer variants, object fields).
//!   Cloning it adds one to the object's reference count, dropping it takes one away, and the
//!   object is freed when the count reaches zero, as with CPython's `Py_INCREF`/`Py_DECREF`.
//! * [`ObjCell<T>`] — the mutable contents of an object (a list's items, a dict's table, an
//!   instance's attributes). `lock()` gives exclusive access for a short, Python-free section;
//!   `read()` gives shared access.
//!
//! # The two memory models
//!
//! The model is chosen once per process, at start-up, before any interpreter thread exists
//! ([`set_model`], called by `Vm::new` from the `--gil` setting):
//!
//! * **GIL model** (`--gil on`, `--gil old`): only the thread holding the GIL touches objects, and
//!   taking or dropping the GIL (a mutex) orders every memory access between threads. So a
//!   reference count changes with a plain, non-atomic add to memory (no `lock`-prefixed
//!   read-modify-write; `gil_count_add`), and an object cell is a borrow flag, like
//!   `RefCell`'s, changed the same way. This is why
//!   CPython has a GIL: its `ob_refcnt` is a plain integer.
//! * **Free-threaded model** (`--gil off`, as CPython 3.13t / PEP 703): threads run bytecode in
//!   parallel, so counts change with atomic read-modify-writes (with `Arc`'s orderings) and each
//!   object cell is a real reader-writer lock.
//!
//! Both paths are always compiled; each operation reads the model with one load of a global
//! that never changes after start-up (`free_threaded`), a branch the processor predicts
//! perfectly.
//!
//! # What keeps the GIL model sound
//!
//! In the GIL model a count or borrow flag changed by two threads at once would go wrong (a lost
//! update: a leak or a use after free). Nothing here is racy as long as every thread that touches
//! an object holds the GIL. That is arranged, and checked by the compiler where it can be:
//! * [`Ref`] and [`ObjCell`] are neither `Send` nor `Sync`, so `Value` is not either: a value
//!   cannot be moved to, or shared with, another thread by accident.
//! * `Interp::allow_threads` (the blocking sections that run without the GIL) requires its
//!   closure to be `Send`, so the closure cannot capture a value or a reference to one.
//! * The few places that must hand values between threads (the arguments of a new thread, the
//!   shared `Vm`'s module table, the built-in types, queue storage) wrap them in [`Shared`], whose
//!   `unsafe impl Send/Sync` is argued below: every use of it happens with the GIL held.
//! * An interpreter thread drops every value it owns before it lets go of the GIL for good
//!   (`Interp::detach`), so frees happen with the GIL held.
//!
//! One process runs one `Vm` (the CLI and the REPL each create exactly one), so there is one GIL
//! guarding the whole heap, including the process-wide built-in types.
//!
//! # The cycle collector
//!
//! Every object starts with a [`Header`]: its count, and the cycle collector's word (where the
//! object is listed, if it is a container that may take part in a cycle). The collector lives in
//! [`gc`]; each object type says what it references through the [`Trace`] trait
//! (`vm/src/object/trace.rs`).
//!
//! Everything that needs `unsafe` to manage objects lives in this module, and nowhere else.

/// `static_flag_byte!(FLAG, options...)`: the value of the static `AtomicBool` `FLAG`, read by
/// one instruction naming it (`movzx reg, [rip + FLAG]`) with the asm options given, for the
/// flags every count change or check point tests ([`free_threaded`], `gc::eval_breaker_up`).
/// Through a relaxed load the compiler reads such a static by way of the global offset table
/// (see `free_threaded`): two instructions.
#[cfg(all(target_arch = "x86_64", not(miri), not(loom)))]
macro_rules! static_flag_byte {
    ($flag:path, $($option:ident),+) => {{
        let flag: u32;
        // SAFETY: the asm reads one byte, the `AtomicBool`'s (a `u8` of 0 or 1, always
        // initialized: a static), and writes only the output register; it touches no stack and
        // keeps the flags. An aligned one-byte load is atomic on x86-64, the same machine
        // access as the relaxed load it replaces, so it cannot tear or race with the flag's
        // stores.
        unsafe {
            std::arch::asm!(
                "movzx {flag:e}, byte ptr [rip + {static_flag}]",
                static_flag = sym $flag,
                flag = out(reg) flag,
                options($($option),+),
            );
        }
        flag != 0
    }};
}

#[cfg(feature = "mimalloc")]
pub mod alloc;
pub mod confstr;
pub mod fork;
pub mod gc;
pub mod lend;
pub mod mapping;
mod pool;
pub mod posix_calls;
mod push;
mod stamped;
pub mod traced;
mod value_count;
mod values;
pub mod weak;
// The heap's other tests are `vm/tests/heap.rs`, over the public API; only the loom models stay
// here, as they need the crate built with loom's atomics (`scripts/loom.sh`).
#[cfg(all(test, loom))]
mod loom_tests;

pub use gc::{Trace, Visitor};
pub(crate) use push::{forget_tail, push_inline};
pub use stamped::{LentValue, StampedRef, StampedValue};
pub(crate) use value_count::{clone_value, discard_value, may_be_freed};
pub use value_count::{extend_repeated, repeat_in_place};
pub use values::ValueArray;

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
// Under `--cfg loom` (`scripts/loom.sh`) the counts use loom's atomics, so that the model checker
// explores every interleaving of the counting protocol (`loom_tests.rs`).
#[cfg(loom)]
use loom::sync::atomic::AtomicUsize;
#[cfg(not(loom))]
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

#[cfg(not(loom))]
use parking_lot::lock_api::RawRwLock as RawRwLockApi;

/// An object cell's free-threaded lock: parking_lot's reader-writer lock.
#[cfg(not(loom))]
type CellLock = parking_lot::RawRwLock;
#[cfg(not(loom))]
type ExclusiveGuard = <parking_lot::RawRwLock as RawRwLockApi>::ExclusiveGuard;
#[cfg(not(loom))]
type SharedGuard = <parking_lot::RawRwLock as RawRwLockApi>::SharedGuard;
#[cfg(not(loom))]
const fn new_cell_lock() -> CellLock {
    <parking_lot::RawRwLock as RawRwLockApi>::INIT
}

/// Under `--cfg loom`: a lock built on loom's atomics, which loom can switch threads inside (a
/// parking_lot lock would block the one OS thread loom runs its threads on), so that the
/// models run real cells (`loom_tests.rs`: what a cell publishes, `Publish`).
#[cfg(loom)]
use loom_lock::{CellLock, Held as ExclusiveGuard, Held as SharedGuard};
#[cfg(loom)]
fn new_cell_lock() -> CellLock {
    CellLock::new()
}

#[cfg(loom)]
mod loom_lock {
    use loom::sync::atomic::AtomicIsize;
    use std::sync::atomic::Ordering;

    /// 0 free, n > 0 held by n readers, -1 held exclusively. Waiters yield to loom's other
    /// threads (a spin loop loom can model).
    pub(super) struct CellLock(AtomicIsize);

    /// Proof of a hold, given back to the unlock.
    pub(super) struct Held;

    impl CellLock {
        pub(super) fn new() -> CellLock {
            CellLock(AtomicIsize::new(0))
        }

        pub(super) fn lock_exclusive(&self) -> Held {
            while self
                .0
                .compare_exchange(0, -1, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                loom::thread::yield_now();
            }
            Held
        }

        pub(super) fn lock_shared(&self) -> Held {
            loop {
                let n = self.0.load(Ordering::Relaxed);
                if n >= 0
                    && self
                        .0
                        .compare_exchange(n, n + 1, Ordering::Acquire, Ordering::Relaxed)
                        .is_ok()
                {
                    return Held;
                }
                loom::thread::yield_now();
            }
        }

        /// # Safety
        /// `held` came from this lock's `lock_exclusive` (as parking_lot's contract).
        // SAFETY: nothing in the body is unsafe (a release store of the state word); the
        // function is `unsafe` only to keep parking_lot's signature, so that the cell's callers
        // read the same under `--cfg loom`, where this lock stands in for parking_lot's.
        pub(super) unsafe fn unlock_exclusive(&self, held: Held) {
            let Held = held;
            self.0.store(0, Ordering::Release);
        }

        /// # Safety
        /// `held` came from this lock's `lock_shared` (as parking_lot's contract).
        // SAFETY: as `unlock_exclusive`: a release decrement, `unsafe` only for parking_lot's
        // signature.
        pub(super) unsafe fn unlock_shared(&self, held: Held) {
            let Held = held;
            self.0.fetch_sub(1, Ordering::Release);
        }
    }
}

/// Which memory model the process runs (see the module comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// Plain counts and borrow flags; sound because the GIL serializes all object access.
    Gil,
    /// Atomic counts and per-object locks; threads run in parallel.
    FreeThreaded,
}

/// True in the free-threaded model. Written once at start-up (before any other thread touches
/// an object), read with relaxed loads everywhere else.
static FREE_THREADED: AtomicBool = AtomicBool::new(false);

/// Choose the memory model. Call before any interpreter thread starts (`Vm::new` does).
pub fn set_model(model: Model) {
    FREE_THREADED.store(model == Model::FreeThreaded, Ordering::SeqCst);
}

/// The memory model in force.
#[inline]
pub fn model() -> Model {
    if free_threaded() {
        Model::FreeThreaded
    } else {
        Model::Gil
    }
}

/// Is the free-threaded model in force? Read at every count change and cell access.
///
/// On x86-64 the flag is read by one instruction naming it directly (`movzx reg, [rip + flag]`).
/// Through the relaxed load below, the compiler reads it by way of the global offset table: the
/// VM is a library compiled as position-independent code, so a reference to a static of the
/// crate (from the other codegen unit, or inlined elsewhere) is one load for the static's
/// address and a second for the flag (2,368 such pairs in the binary). The linked `minivm` is an
/// executable, where the flag's address is a fixed distance from the code, so the direct form
/// is valid; `-C relocation-model=static` would give it too, but it cannot build the
/// proc-macro crates (clap's, logos's) that the same flags reach. The asm is `pure` and
/// `readonly`: the compiler may share one read between uses with no store in between, which is
/// sound because the flag is written once, at start-up, before any object is touched.
#[cfg(all(target_arch = "x86_64", not(miri), not(loom)))]
#[inline(always)]
fn free_threaded() -> bool {
    // `pure`: the flag is written once, at start-up (see above), so reads may be shared.
    static_flag_byte!(FREE_THREADED, pure, readonly, nostack, preserves_flags)
}

/// Elsewhere (and under Miri and loom, which cannot run asm): a relaxed load.
#[cfg(not(all(target_arch = "x86_64", not(miri), not(loom))))]
#[inline(always)]
fn free_threaded() -> bool {
    FREE_THREADED.load(Ordering::Relaxed)
}

/// The class epoch (`object::class::CLASS_EPOCH`, bumped whenever any class's attributes
/// change), read by one instruction naming it, as [`free_threaded`] reads the model flag: every
/// attribute instruction's fast path compares it with a class's cached answers, several times
/// per `obj.name`.
///
/// The asm is `pure` and `readonly`: two reads with no store between them may be one, which
/// is the same as both happening at that moment. It stands for the acquire load of the portable
/// version below: on x86-64 every load has acquire ordering in the hardware, and the compiler
/// may only move it later than loads that follow it (not past a store or a lock operation),
/// which reads the same or a newer epoch before the class contents it guards, as a later
/// acquire load would.
#[cfg(all(target_arch = "x86_64", not(miri), not(loom)))]
#[inline(always)]
pub(crate) fn class_epoch() -> u64 {
    let epoch: u64;
    // SAFETY: the asm reads the aligned `AtomicU64` static (always initialized) with one 8-byte
    // load, atomic on x86-64 as the load it replaces, and writes only the output register; it
    // touches no stack and keeps the flags.
    unsafe {
        std::arch::asm!(
            "mov {epoch}, qword ptr [rip + {counter}]",
            counter = sym crate::object::class::CLASS_EPOCH,
            epoch = out(reg) epoch,
            options(pure, readonly, nostack, preserves_flags),
        );
    }
    epoch
}

/// Elsewhere (and under Miri and loom): an acquire load.
#[cfg(not(all(target_arch = "x86_64", not(miri), not(loom))))]
#[inline(always)]
pub(crate) fn class_epoch() -> u64 {
    crate::object::class::CLASS_EPOCH.load(Ordering::Acquire)
}

/// Counts above this mean references were leaked by the billion (`mem::forget` in a loop):
/// stop rather than let the count wrap to zero and free a live object, as `Arc` does.
const MAX_COUNT: usize = isize::MAX as usize;

/// Free-threaded model: the count bit of an *immortal* object ([`Ref::immortalize`], PEP 683).
/// Its count is no longer changed, so threads sharing it (a module's functions, their code and
/// globals, the built-in functions and types) do not fight over one cache line with atomic
/// read-modify-writes on every call: what CPython 3.13t does for the objects PEP 703 gives
/// deferred reference counts. The bit is added to the count (never stored over it), so increments
/// and decrements racing with it are kept, and the count cannot reach zero again.
const IMMORTAL: usize = 1 << 62;

/// The start of every heap object.
pub struct Header {
    /// Number of `Ref`s to the object. An `AtomicUsize` for the free-threaded model's atomic
    /// read-modify-writes; the GIL model changes it with plain, non-atomic ones through its
    /// pointer (`gil_count_add`), and reads it with relaxed loads.
    count: AtomicUsize,
    /// The cycle collector's word: where the object is listed (generation and index), or
    /// `gc::UNTRACKED` (`gc::UNTRACKED_HOLDER` for an untracked object that owns references).
    /// Changed only with the GIL held or the registry locked (`gc.rs`), or before the object
    /// is shared.
    gc: AtomicUsize,
}

impl Header {
    #[inline(always)]
    fn incref(&self) {
        if free_threaded() {
            // An immortal object's count is left alone: a plain load, no write to its line.
            if self.count.load(Ordering::Relaxed) & IMMORTAL != 0 {
                return;
            }
            // As `Arc::clone`: a new reference is made from an existing one, so no ordering is
            // needed beyond atomicity.
            if self.count.fetch_add(1, Ordering::Relaxed) > MAX_COUNT {
                std::process::abort();
            }
        } else if gil_count_add(&self.count, 1) > MAX_COUNT {
            std::process::abort();
        }
    }

    /// Take one reference away; true if it was the last one (the caller frees the object).
    #[inline(always)]
    fn decref(&self) -> bool {
        if free_threaded() {
            if self.count.load(Ordering::Relaxed) & IMMORTAL != 0 {
                return false;
            }
            // As `Arc::drop`: release our writes to the object, and make the thread that frees
            // it see every other thread's writes: an acquire load of the count, which
            // synchronizes with every release decrement before ours (they form one release
            // sequence ending in our read-modify-write). `Arc` uses an acquire fence here, and
            // a load when built for ThreadSanitizer, which does not model fences: TSan reported
            // a free after another thread's decrement as a race (stress/sync_prims, --gil off).
            // On x86 the load is a plain move, only on the path that frees.
            if self.count.fetch_sub(1, Ordering::Release) != 1 {
                return false;
            }
            self.count.load(Ordering::Acquire);
            true
        } else {
            gil_count_add(&self.count, usize::MAX) == 0
        }
    }
}

/// GIL model: add `delta` (wrapping: `usize::MAX` takes one away) to a reference count and
/// return the new count, as a plain, non-atomic read-modify-write of the count's memory. The
/// GIL orders every access to counts (see the module comment): in this model the few atomic
/// accesses to a count (relaxed loads: `Ref::count`, weak references, the collector) are made
/// by the GIL holder too, and the free-threaded model's atomic read-modify-writes never run in
/// the same process, so nothing races with it (Miri's data-race checker runs the heap's
/// threaded GIL-model test). Relaxed atomic loads and stores compile to the same moves, but
/// LLVM does not combine them: each count change was a load, an add, a store and a test of the
/// old value (with the test of the model, nine machine instructions per `Value` clone); a
/// plain one becomes an add to memory whose flags give the test.
#[cfg(not(loom))]
#[inline(always)]
fn gil_count_add(count: &AtomicUsize, delta: usize) -> usize {
    let p = count.as_ptr();
    // SAFETY: `p` points at the live count (`count` is borrowed). GIL model only: this thread
    // holds the GIL, so no other thread reads or writes the count meanwhile (accesses by
    // different threads, atomic or not, are ordered by the GIL's mutex).
    unsafe {
        let new = (*p).wrapping_add(delta);
        *p = new;
        new
    }
}

/// GIL model: take one away from a reference count that is above 1 and answer true, or leave
/// a count of 1 (the last reference: the caller frees the object by the ordinary drop) and
/// answer false. Plain accesses, as `gil_count_add` argues.
#[cfg(not(loom))]
#[inline(always)]
fn gil_drop_shared(count: &AtomicUsize) -> bool {
    let p = count.as_ptr();
    // SAFETY: as in `gil_count_add`: the count is alive, and only the GIL holder touches it.
    unsafe {
        if *p > 1 {
            *p -= 1;
            true
        } else {
            false
        }
    }
}

/// Loom's atomics have no `as_ptr`: relaxed loads and stores there.
#[cfg(loom)]
fn gil_drop_shared(count: &AtomicUsize) -> bool {
    let c = count.load(Ordering::Relaxed);
    if c > 1 {
        count.store(c - 1, Ordering::Relaxed);
    }
    c > 1
}

/// Loom's atomics have no `as_ptr`: relaxed loads and stores there.
#[cfg(loom)]
fn gil_count_add(count: &AtomicUsize, delta: usize) -> usize {
    let new = count.load(Ordering::Relaxed).wrapping_add(delta);
    count.store(new, Ordering::Relaxed);
    new
}

/// Whether objects of type `T` come from the per-thread pools (`pool.rs`), whose LIFO reuse
/// gives a freed object's address to the next one of its size, as CPython's allocator does.
pub const fn pooled<T>() -> bool {
    pool::class_of::<HeapBox<T>>().is_some()
}

/// A heap object: its header, then its value.
#[repr(C)]
struct HeapBox<T> {
    header: Header,
    value: T,
}

/// A counted reference to a heap object of type `T`.
///
/// Not `Send` or `Sync` (the raw pointer sees to that): see the module comment. One pointer wide
/// (`repr(transparent)`): [`SwapRef`] stores into one as an atomic pointer.
#[repr(transparent)]
pub struct Ref<T> {
    ptr: NonNull<HeapBox<T>>,
    /// A `Ref` owns (a share of) a `HeapBox<T>`: drop checking must know it may drop one.
    _owns: PhantomData<HeapBox<T>>,
}

impl<T: Trace> Ref<T> {
    /// Move `value` to the heap with a reference count of one; list it with the cycle collector
    /// if it may take part in a cycle.
    #[inline]
    pub fn new(value: T) -> Ref<T> {
        let tracked = value.needs_tracking();
        let untracked = if !tracked && value.holds_references() {
            gc::UNTRACKED_HOLDER
        } else {
            gc::UNTRACKED
        };
        let ptr = pool::alloc::<HeapBox<T>>();
        // SAFETY: `ptr` is fresh memory for one `HeapBox<T>` (`pool::alloc`), not yet used by
        // anything: writing the object initializes it.
        unsafe {
            ptr.as_ptr().write(HeapBox {
                header: Header {
                    count: AtomicUsize::new(1),
                    gc: AtomicUsize::new(untracked),
                },
                value,
            })
        };
        if tracked {
            gc::track(ptr);
        }
        Ref {
            ptr,
            _owns: PhantomData,
        }
    }

    /// As `Ref::new(make())`, with the value made where it will live: the block is taken first
    /// and `make`'s result written into it, so for a large `T` (an instance: `Instance::
    /// new_plain`) the compiler stores the fields there instead of building the value on the
    /// stack and copying it over with a call to `memcpy`. Should `make` panic, the block is
    /// leaked (never used uninitialized).
    #[inline(always)]
    pub fn new_with(make: impl FnOnce() -> T) -> Ref<T> {
        let ptr = pool::alloc::<HeapBox<T>>();
        let b = ptr.as_ptr();
        // SAFETY: `ptr` is fresh memory for one `HeapBox<T>` (`pool::alloc`), not yet used by
        // anything: the two writes initialize its two fields (`addr_of_mut!` makes no reference
        // to the uninitialized memory), after which the box is whole.
        let value = unsafe {
            std::ptr::addr_of_mut!((*b).header).write(Header {
                count: AtomicUsize::new(1),
                gc: AtomicUsize::new(gc::UNTRACKED),
            });
            std::ptr::addr_of_mut!((*b).value).write(make());
            &(*b).value
        };
        if value.needs_tracking() {
            gc::track(ptr);
        } else if value.holds_references() {
            // SAFETY: the box was initialized above and is not shared yet: a shared reference
            // to its header, whose word is stored atomically, is all this takes.
            let header = unsafe { &(*b).header };
            header.gc.store(gc::UNTRACKED_HOLDER, Ordering::Relaxed);
        }
        Ref {
            ptr,
            _owns: PhantomData,
        }
    }
}

impl<T> Ref<T> {
    #[inline(always)]
    fn heap_box(&self) -> &HeapBox<T> {
        // SAFETY: `ptr` came from `pool::alloc` in `Ref::new` (initialized there) and the object is alive while this
        // `Ref` exists (it holds one of the counted references, so the count is at least 1).
        unsafe { self.ptr.as_ref() }
    }

    /// Identity: do both references point at the same object (Python's `is`)?
    #[inline]
    pub fn ptr_eq(a: &Ref<T>, b: &Ref<T>) -> bool {
        a.ptr == b.ptr
    }

    /// The object's address, stable for its lifetime (`id()`, identity hashing).
    #[inline]
    pub fn as_ptr(this: &Ref<T>) -> *const T {
        &this.heap_box().value
    }

    /// The object itself, mutable, when this is its only reference (count 1, as `Arc::get_mut`):
    /// a change cannot be seen by anything else. How `s += t` extends a string nobody else holds
    /// in place (CPython's `unicode_concatenate`) instead of copying it.
    pub fn get_mut(this: &mut Ref<T>) -> Option<&mut T> {
        // Acquire pairs with the Release decrement of the other references' drops (free-threaded
        // model), so their last accesses happen before ours.
        if this.heap_box().header.count.load(Ordering::Acquire) != 1 {
            return None;
        }
        // SAFETY: the count is 1, so `this` is the only reference (no other thread can make a new
        // one without having one), and `&mut this` rules out any other borrow through it.
        Some(unsafe { &mut (*this.ptr.as_ptr()).value })
    }

    /// Free-threaded model: make the object immortal (see [`IMMORTAL`]): from now on clones and
    /// drops leave its count alone and it is never freed. For objects that every thread reaches
    /// and that live about as long as the program: CPython 3.13t immortalizes the same kinds
    /// (top-level functions, code objects, module dictionaries, classes), and like it, a program
    /// that makes such objects over and over keeps them all. The GIL model needs no such thing (its
    /// counts are plain adds): there this does nothing.
    pub fn immortalize(this: &Ref<T>) {
        if !free_threaded() {
            return;
        }
        let count = &this.heap_box().header.count;
        let mut c = count.load(Ordering::Relaxed);
        // A compare-and-swap loop, not a store: other threads may be counting meanwhile, and two
        // threads may immortalize the same object at once (the bit must be added only once).
        while c & IMMORTAL == 0 {
            match count.compare_exchange_weak(c, c | IMMORTAL, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(now) => c = now,
            }
        }
    }

    /// Whether the object is immortal ([`Ref::immortalize`]).
    pub fn is_immortal(this: &Ref<T>) -> bool {
        this.heap_box().header.count.load(Ordering::Relaxed) & IMMORTAL != 0
    }

    /// Loom models only (`loom_tests.rs`): free an immortal object once the model knows every
    /// other reference is gone.
    #[cfg(all(test, loom))]
    fn free_immortal(this: Ref<T>) {
        assert!(Ref::is_immortal(&this));
        let ptr = this.ptr;
        std::mem::forget(this);
        // SAFETY: the caller holds the last reference (the test has joined every other thread
        // and dropped their references), and the memory came from `pool::alloc` in `Ref::new`.
        unsafe {
            std::ptr::drop_in_place(ptr.as_ptr());
            pool::free(ptr);
        }
    }

    /// The current reference count (for tests and `sys.getrefcount`-style tools).
    pub fn count(this: &Ref<T>) -> usize {
        this.heap_box().header.count.load(Ordering::Relaxed)
    }
}

impl<T> Ref<T> {
    /// `*dst = src.clone()` with both counts changed inline at the call site (freeing the old
    /// object stays out of line, `drop_slow`). For the method-call path (`interp/call.rs:
    /// try_push_method`), where the compiler left `clone` and the replaced field's drop glue as
    /// two calls, at about 70% of deltablue's method calls (a pooled frame that last ran other
    /// code). Not for code inlined into the dispatch loop: there the extra inline code shifted
    /// LLVM's layout of the loop (the revert of 8197087). The counts change as `access` says:
    /// without testing the model again when it is a [`GilModel`].
    #[inline(always)]
    pub fn assign_inline_in<A: CellAccess>(access: A, dst: &mut Ref<T>, src: &Ref<T>) {
        let header = &src.heap_box().header;
        match access.gil() {
            Some(_) => {
                if gil_count_add(&header.count, 1) > MAX_COUNT {
                    std::process::abort();
                }
            }
            None => header.incref(),
        }
        let old = std::mem::replace(
            dst,
            Ref {
                ptr: src.ptr,
                _owns: PhantomData,
            },
        );
        let mut old = std::mem::ManuallyDrop::new(old);
        let last = match access.gil() {
            Some(_) => gil_count_add(&old.heap_box().header.count, usize::MAX) == 0,
            None => old.heap_box().header.decref(),
        };
        if last {
            old.drop_slow();
        }
    }
}

impl<T> Ref<T> {
    /// A new reference to `this`'s object, the count changed as `access` says: inline and
    /// without testing the model again for a [`GilModel`] (`Clone::clone` tests it). For the
    /// method-call hit path (`interp/call.rs: method_local_hit`), which has proved the model.
    #[inline(always)]
    pub fn clone_in<A: CellAccess>(access: A, this: &Ref<T>) -> Ref<T> {
        let header = &this.heap_box().header;
        match access.gil() {
            Some(_) => {
                if gil_count_add(&header.count, 1) > MAX_COUNT {
                    std::process::abort();
                }
            }
            None => header.incref(),
        }
        Ref {
            ptr: this.ptr,
            _owns: PhantomData,
        }
    }
}

impl<T> Clone for Ref<T> {
    #[inline]
    fn clone(&self) -> Ref<T> {
        self.heap_box().header.incref();
        Ref {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl<T> Drop for Ref<T> {
    /// Only the count changes inline; freeing is out of line ([`Ref::drop_slow`], as
    /// `Arc::drop_slow`), so the drop of a `Value`, whatever its variant, is a few instructions
    /// at the place it happens instead of a call to a large match over every object type.
    #[inline]
    fn drop(&mut self) {
        if self.heap_box().header.decref() {
            self.drop_slow();
        }
    }
}

impl<T> Ref<T> {
    /// Free the object; only for `drop` and `assign_inline_in`, once the count went from 1 to 0.
    ///
    /// Freeing a container drops what it holds, which may free more containers: a list nested
    /// a million deep is freed by a recursion a million deep. As CPython's "trashcan"
    /// (`Py_TRASHCAN_BEGIN`), past [`FREE_DEPTH`] nested frees of containers the object is put
    /// on this thread's list of deferred frees instead, and the outermost free empties that
    /// list, so the Rust stack stays bounded however deep the nesting.
    #[inline(never)]
    fn drop_slow(&mut self) {
        // A leaf (untracked, owning no references) is freed at once; containers, tracked or
        // not (`gc::UNTRACKED_HOLDER`: a tuple of strings), count towards the nesting limit.
        let leaf = self.heap_box().header.gc.load(Ordering::Relaxed) == gc::UNTRACKED;
        if leaf {
            // SAFETY: called by `drop` and `assign_inline_in` only, right after the count went from
            // 1 to 0: this was the last reference, so nothing else can reach the box (`self` is
            // not used again: `assign_inline_in`'s is in a `ManuallyDrop`).
            unsafe { free_box::<T>(self.ptr.cast()) };
            return;
        }
        // `FREE_NESTING` has no destructor, so it is there even while the thread's locals are
        // being destroyed; `DEFERRED_FREES` may already be gone then (an object held by another
        // thread-local, freed at thread exit): such a free is not deferred.
        let depth = FREE_NESTING.with(|d| d.get());
        if depth >= FREE_DEPTH {
            let deferred = Deferred {
                ptr: self.ptr.cast(),
                free: free_box::<T>,
            };
            if DEFERRED_FREES
                .try_with(|q| q.borrow_mut().push(deferred))
                .is_ok()
            {
                DEFERRED_WAITING.with(|w| w.set(true));
                return;
            }
        }
        FREE_NESTING.with(|d| d.set(depth + 1));
        // SAFETY: as above: the count reached 0, this was the last reference.
        unsafe { free_box::<T>(self.ptr.cast()) };
        // The outermost free runs the deferred ones, each starting a new nesting. Only if
        // there are any: the flag is a plain thread-local, where looking at the list costs a
        // lazily set-up thread-local and a `RefCell` borrow on every free of a container.
        if depth == 0 && DEFERRED_WAITING.with(|w| w.replace(false)) {
            while let Some(d) = DEFERRED_FREES
                .try_with(|q| q.borrow_mut().pop())
                .ok()
                .flatten()
            {
                // SAFETY: each was deferred above by the last reference's drop (count 0), so
                // nothing else reaches it, and it is freed exactly once (popped from the list).
                unsafe { (d.free)(d.ptr) };
            }
        }
        FREE_NESTING.with(|d| d.set(depth));
    }
}

/// How many frees of containers may nest before further ones are deferred (see
/// [`Ref::drop_slow`]); each level takes a few hundred bytes of stack. Small under Miri, so
/// that its run of the heap tests reaches the deferred path with a short chain.
const FREE_DEPTH: usize = if cfg!(miri) { 50 } else { 10_000 };

std::thread_local! {
    /// Frees of containers in progress on this thread (nesting depth).
    static FREE_NESTING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// Some free was deferred to `DEFERRED_FREES` since the outermost free last emptied it.
    static DEFERRED_WAITING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Containers whose count reached 0 while frees were nested too deep, to free later.
    static DEFERRED_FREES: std::cell::RefCell<Vec<Deferred>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// A container whose last reference is gone, waiting to be freed by [`free_box`].
#[derive(Clone, Copy)]
struct Deferred {
    ptr: NonNull<Header>,
    // SAFETY: a type only (no unsafe operation here): `free` is `free_box::<T>` for the `T`
    // that `ptr` was made with, and calling it carries `free_box`'s contract.
    free: unsafe fn(NonNull<Header>),
}

/// Unlist an object from the cycle collector (if listed) and free it.
///
/// # Safety
/// `ptr` is the header of a `HeapBox<T>` made by `Ref::new` whose count has reached 0 (no
/// reference to it remains), and it is freed only once.
// SAFETY: an unsafe fn because freeing relies on the caller's promise above; each unsafe
// operation inside argues its own case.
unsafe fn free_box<T>(ptr: NonNull<Header>) {
    // SAFETY: the caller guarantees the object is still allocated (not yet freed).
    let listed = gc::listed(unsafe { ptr.as_ref() }.gc.load(Ordering::Relaxed));
    if listed {
        gc::untrack(ptr);
    }
    let ptr = ptr.cast::<HeapBox<T>>();
    // Only the value is dropped in place (the header's atomics need no drop): a `&mut` to the
    // whole box would cover the count, which a weak reference's upgrade on another thread may
    // still be reading atomically (to find it 0) until the value's weak anchor, dropped here,
    // takes the slot's lock; Miri reports that retag as a data race (vm/tests/heap.rs,
    // weak_references_across_threads).
    // SAFETY: the header starts the `HeapBox<T>` (`repr(C)`), which `Ref::new` wrote into
    // memory from `pool::alloc`; nothing else reaches its value and it is dropped and freed
    // once (the caller's promise).
    unsafe {
        std::ptr::drop_in_place(std::ptr::addr_of_mut!((*ptr.as_ptr()).value));
        pool::free(ptr);
    }
}

impl<T> Deref for Ref<T> {
    type Target = T;
    #[inline(always)]
    fn deref(&self) -> &T {
        &self.heap_box().value
    }
}

/// A `Ref<T>` field that may be pointed at another object after its holder is made: an
/// instance's class, which `obj.__class__ = Other` changes. Reading it is the plain load of the
/// field's pointer, as for a `Ref` field: `Deref` gives the object (`&T`), [`SwapRef::get`] a
/// `Ref` to clone or pass on (an uncounted copy of the pointer). Neither is a reference to the
/// field's own memory: a `&Ref<T>` into the field, held across Python code that assigns
/// `__class__` (a call, a lookup running a descriptor), would be a shared reference to memory
/// written while it lives, which Rust's aliasing rules forbid (Miri reports it; the tests
/// `vm/tests/heap_swap.rs`). The replaced object keeps the count this field held (it is never
/// freed), so what was read before a replacement stays valid; classes live about as long as the
/// program anyway.
#[repr(transparent)]
pub struct SwapRef<T> {
    cell: UnsafeCell<Ref<T>>,
}

impl<T> SwapRef<T> {
    pub fn new(r: Ref<T>) -> SwapRef<T> {
        SwapRef {
            cell: UnsafeCell::new(r),
        }
    }

    /// Point the field at `new`; the old object's reference is leaked (see the type's comment).
    /// Free-threaded, the caller has stopped every other thread (`Gil::stop_the_world`), so no
    /// plain read of the field runs beside this store, and the world's lock orders the store
    /// before the reads of threads that go on.
    pub fn replace(&self, new: Ref<T>) {
        let new = std::mem::ManuallyDrop::new(new);
        // SAFETY: `Ref<T>` is one `NonNull<HeapBox<T>>` (`repr(transparent)`, the `PhantomData`
        // is zero-sized), which has the layout of `*mut HeapBox<T>` and so of `AtomicPtr`; the
        // cell is aligned for it. No other thread reads the field meanwhile: they are stopped
        // (free-threaded, see above) or wait for the GIL this thread holds; the store is atomic
        // all the same, so even a reader that slipped past would see the old or the new
        // pointer, both alive (the old one's count is never given back). `new`'s count moves into the field (`ManuallyDrop`).
        unsafe {
            let slot = std::sync::atomic::AtomicPtr::<HeapBox<T>>::from_ptr(
                self.cell.get() as *mut *mut HeapBox<T>
            );
            slot.store(new.ptr.as_ptr(), Ordering::Release);
        }
    }
}

impl<T> SwapRef<T> {
    /// The object in the field now, as a `Ref` to pass on or clone: a copy of the field's
    /// pointer, not counted (dropping it leaves the count alone).
    #[inline(always)]
    pub fn get(&self) -> BorrowedRef<'_, T> {
        // SAFETY: a plain read of the pointer the cell holds, through the cell's raw pointer (no
        // reference to the cell's `Ref` is made, which a later `replace` would invalidate).
        let ptr = unsafe { (*self.cell.get()).ptr };
        BorrowedRef {
            r: std::mem::ManuallyDrop::new(Ref {
                ptr,
                _owns: PhantomData,
            }),
            _field: PhantomData,
        }
    }
}

impl<T> Deref for SwapRef<T> {
    type Target = T;
    #[inline(always)]
    fn deref(&self) -> &T {
        // SAFETY: the cell always holds a live `Ref`; the object it points at stays alive at
        // least as long as `self` is borrowed: while it is the field's, by the field's count,
        // and once replaced, for ever (`replace` leaks the count). The `&Ref<T>` made here to
        // the cell's memory lives only for the `Ref::deref` call; the `&T` it gives is derived
        // from the pointer, not from it, so a later `replace` invalidates nothing held.
        unsafe { Ref::deref(&*self.cell.get()) }
    }
}

/// An uncounted copy of a [`SwapRef`]'s `Ref`, valid while the field is borrowed (see
/// [`SwapRef::get`]): a `&Ref<T>` for code that wants one (to clone it, compare identities or
/// pass it on) that points at this copy, not at the field. A `&Ref<T>` into the field itself
/// would be a shared reference to memory `replace` writes, which Rust's aliasing rules forbid
/// while it lives (Miri's test `vm/tests/heap_swap.rs`), and code may hold one across Python code
/// that assigns `__class__`.
pub struct BorrowedRef<'a, T> {
    r: std::mem::ManuallyDrop<Ref<T>>,
    _field: PhantomData<&'a SwapRef<T>>,
}

impl<T> Deref for BorrowedRef<'_, T> {
    type Target = Ref<T>;
    #[inline(always)]
    fn deref(&self) -> &Ref<T> {
        &self.r
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

/// Proof that the GIL model is in force ([`gil_model`]), for code that tests the model once
/// and then takes several cells (`ObjCell::try_lock_gil`, [`CellAccess`]): each access then
/// skips its own test of the model, and its guard's release is one store (the guard is known
/// to hold no lock). The model is chosen at start-up, before any object exists, and never
/// changes, so a proof once made stays true.
#[derive(Clone, Copy)]
pub struct GilModel(());

/// A [`GilModel`] when the GIL model is in force, `None` when free-threaded.
#[inline(always)]
pub fn gil_model() -> Option<GilModel> {
    if free_threaded() {
        None
    } else {
        Some(GilModel(()))
    }
}

/// How a function generic over the model takes cells: [`GilModel`] (the GIL model, proven
/// once), or [`AnyModel`] (tests the model at each access, as `ObjCell::lock`/`read`). A hot
/// path written once over `A: CellAccess` is then compiled for each.
pub trait CellAccess: Copy {
    fn lock<T, P: Publish<T>>(self, cell: &ObjCell<T, P>) -> CellMut<'_, T, P>;
    fn read<T, P: Publish<T>>(self, cell: &ObjCell<T, P>) -> CellRef<'_, T, P>;
    /// The proof, when this access has it (a constant for each implementation).
    fn gil(self) -> Option<GilModel>;
}

/// Either model, tested at each access ([`CellAccess`]).
#[derive(Clone, Copy)]
pub struct AnyModel;

impl CellAccess for GilModel {
    #[inline(always)]
    fn lock<T, P: Publish<T>>(self, cell: &ObjCell<T, P>) -> CellMut<'_, T, P> {
        match cell.try_lock_gil(self) {
            Ok(g) => g,
            Err(Busy) => busy(),
        }
    }
    #[inline(always)]
    fn read<T, P: Publish<T>>(self, cell: &ObjCell<T, P>) -> CellRef<'_, T, P> {
        match cell.try_read_gil(self) {
            Ok(g) => g,
            Err(Busy) => busy(),
        }
    }
    #[inline(always)]
    fn gil(self) -> Option<GilModel> {
        Some(self)
    }
}

impl CellAccess for AnyModel {
    #[inline(always)]
    fn lock<T, P: Publish<T>>(self, cell: &ObjCell<T, P>) -> CellMut<'_, T, P> {
        cell.lock()
    }
    #[inline(always)]
    fn read<T, P: Publish<T>>(self, cell: &ObjCell<T, P>) -> CellRef<'_, T, P> {
        cell.read()
    }
    #[inline(always)]
    fn gil(self) -> Option<GilModel> {
        None
    }
}

/// The mutable contents of a heap object.
///
/// `lock()`/`write()` are exclusive and `read()` shared; none may be held while Python code runs
/// or the GIL is released (code that must call back into Python takes a snapshot first). In the
/// GIL model a conflicting access can only come from re-entrance on the same thread (an
/// interpreter bug): `lock`/`read` then stop with a message, as `RefCell` does, while
/// `try_lock`/`try_read` report it so that a caller can raise a Python exception.
///
/// `P` is what the cell shows of its contents to readers that take no lock ([`Publish`]):
/// nothing (`()`, every cell but one kind), or an instance attribute table's layout.
pub struct ObjCell<T, P = ()> {
    /// GIL model: 0 free, n > 0 shared by n readers, -1 held exclusively.
    borrow: AtomicIsize,
    /// Free-threaded model: the object's lock.
    lock: CellLock,
    /// What the contents showed when the last exclusive hold ended (free-threaded).
    published: P,
    value: UnsafeCell<T>,
}

/// What an [`ObjCell`] shows of its contents to readers that take no lock, free-threaded:
/// atomic words kept beside the contents (not in them, which a holder may be changing), brought
/// up to date at the end of each exclusive hold, before the lock is let go. A reader of them
/// sees the contents as of the end of some hold: the last one, or (one racing) the one before,
/// as if it had run just before that hold. How an instance's method call learns, without its
/// table's lock, whether an attribute of the instance hides the method (`InstDict`'s layout,
/// `object/instdict.rs`), as CPython 3.13t reads a dict's keys object optimistically.
///
/// Every change of the contents is made under an exclusive hold, except through
/// [`ObjCell::get_mut`] and [`ObjCell::into_inner`], which exist only for cells that publish
/// nothing (`()`), so no change can leave the published words behind.
pub trait Publish<T> {
    /// The words for a new cell holding `value`.
    fn of(value: &T) -> Self;
    /// Bring the words up to date with `value`, at the end of an exclusive hold
    /// (free-threaded; the GIL model's readers take the borrow flag and read the contents).
    fn publish(&self, value: &T);
}

/// Publishes nothing (zero-sized): every cell but an instance's attribute table.
impl<T> Publish<T> for () {
    #[inline(always)]
    fn of(_: &T) {}
    #[inline(always)]
    fn publish(&self, _: &T) {}
}

/// The contents are in use (re-entrant access in the GIL model).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// Exclusive access to an [`ObjCell`]'s contents, released when dropped.
pub struct CellMut<'a, T, P: Publish<T> = ()> {
    cell: &'a ObjCell<T, P>,
    /// Free-threaded: the lock's guard. `None`: the GIL model's borrow flag was taken.
    locked: Option<ExclusiveGuard>,
}

/// Shared access to an [`ObjCell`]'s contents, released when dropped.
pub struct CellRef<'a, T, P: Publish<T> = ()> {
    cell: &'a ObjCell<T, P>,
    /// Free-threaded: the lock's guard. `None`: the GIL model's borrow flag was taken.
    locked: Option<SharedGuard>,
}

impl<T> ObjCell<T> {
    pub fn new(value: T) -> ObjCell<T> {
        ObjCell::new_published(value)
    }

    /// The contents, when the cell is owned (no other access can exist).
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }

    /// The contents through a unique reference (no other access can exist). Only for cells
    /// that publish nothing: a change made here would not reach their published words.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

impl<T, P: Publish<T>> ObjCell<T, P> {
    /// A cell holding `value`, its published words made from it ([`Publish::of`]).
    pub fn new_published(value: T) -> ObjCell<T, P> {
        ObjCell {
            borrow: AtomicIsize::new(0),
            lock: new_cell_lock(),
            published: P::of(&value),
            value: UnsafeCell::new(value),
        }
    }

    /// Put `value` in the cell and give back the contents it held, when the cell is owned (no
    /// other access can exist: a dying object's contents moved to another); the published words
    /// follow.
    pub fn replace_owned(&mut self, value: T) -> T {
        let old = std::mem::replace(self.value.get_mut(), value);
        self.published.publish(self.value.get_mut());
        old
    }

    /// What the contents showed when the last exclusive hold ended ([`Publish`]), read
    /// without the lock. Free-threaded only: the GIL model does not keep it up to date.
    #[inline(always)]
    pub fn published(&self) -> &P {
        &self.published
    }

    /// Exclusive access, for reading and changing the contents.
    ///
    /// This and the other three accessors are always inlined: in the GIL model each is a load,
    /// a compare and a store, fewer instructions than the call they would otherwise cost at
    /// every list, dict and attribute access (callgrind showed them left out of line).
    #[inline(always)]
    pub fn lock(&self) -> CellMut<'_, T, P> {
        match self.try_lock() {
            Ok(g) => g,
            Err(Busy) => busy(),
        }
    }

    /// Exclusive access; the same as [`ObjCell::lock`] (the name reads better where a
    /// `read()` of the same cell sits nearby).
    #[inline]
    pub fn write(&self) -> CellMut<'_, T, P> {
        self.lock()
    }

    /// Shared access, for reading only.
    #[inline(always)]
    pub fn read(&self) -> CellRef<'_, T, P> {
        match self.try_read() {
            Ok(g) => g,
            Err(Busy) => busy(),
        }
    }

    /// Exclusive access, or `Busy` if the contents are in use (GIL model). Free-threaded, this
    /// waits for the lock.
    #[inline(always)]
    pub fn try_lock(&self) -> Result<CellMut<'_, T, P>, Busy> {
        match gil_model() {
            Some(gil) => self.try_lock_gil(gil),
            None => Ok(CellMut {
                cell: self,
                locked: Some(self.lock.lock_exclusive()),
            }),
        }
    }

    /// `try_lock` in the GIL model, which `gil` proves: the borrow flag only, the model not
    /// tested again, and the guard's release a store.
    #[inline(always)]
    pub fn try_lock_gil(&self, gil: GilModel) -> Result<CellMut<'_, T, P>, Busy> {
        let GilModel(()) = gil;
        if self.borrow.load(Ordering::Relaxed) != 0 {
            return Err(Busy);
        }
        self.borrow.store(-1, Ordering::Relaxed);
        Ok(CellMut {
            cell: self,
            locked: None,
        })
    }

    /// Shared access, or `Busy` if the contents are held exclusively (GIL model).
    #[inline(always)]
    pub fn try_read(&self) -> Result<CellRef<'_, T, P>, Busy> {
        match gil_model() {
            Some(gil) => self.try_read_gil(gil),
            None => Ok(CellRef {
                cell: self,
                locked: Some(self.lock.lock_shared()),
            }),
        }
    }

    /// `try_read` in the GIL model, which `gil` proves (as `try_lock_gil`).
    #[inline(always)]
    pub fn try_read_gil(&self, gil: GilModel) -> Result<CellRef<'_, T, P>, Busy> {
        let GilModel(()) = gil;
        let p = self.borrow.as_ptr();
        // SAFETY: `p` points at this cell's live flag. GIL model: only the GIL holder touches
        // it (as `gil_count_add` argues for counts), so these plain accesses and `try_lock`'s
        // relaxed ones are ordered by the GIL and never race.
        let b = unsafe { *p };
        // Held exclusively (-1): busy. A count of readers cannot reach `isize::MAX` (each is a
        // live guard, and fewer than that fit in memory), so the increment cannot wrap: one
        // sign test, where testing the incremented flag against the wrap cost two machine
        // instructions more at every shared access (callgrind).
        if b < 0 {
            return Err(Busy);
        }
        // SAFETY: as above.
        unsafe { *p = b.wrapping_add(1) };
        Ok(CellRef {
            cell: self,
            locked: None,
        })
    }
}

/// A conflicting access in the GIL model: the interpreter touched an object's contents while it
/// was already using them (a bug in minivm, the equivalent of a self-deadlock on a mutex).
#[cold]
#[inline(never)]
fn busy() -> ! {
    panic!("internal error: an object's contents were accessed re-entrantly")
}

impl<T: Default> Default for ObjCell<T> {
    fn default() -> ObjCell<T> {
        ObjCell::new(T::default())
    }
}

impl<T, P: Publish<T>> Deref for CellMut<'_, T, P> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: this guard holds the cell exclusively (borrow flag -1, or the write lock), so
        // no other reference to the contents exists until it is dropped.
        unsafe { &*self.cell.value.get() }
    }
}

impl<T, P: Publish<T>> DerefMut for CellMut<'_, T, P> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes the returned reference unique.
        unsafe { &mut *self.cell.value.get() }
    }
}

impl<T, P: Publish<T>> Drop for CellMut<'_, T, P> {
    #[inline]
    fn drop(&mut self) {
        if let Some(guard) = self.locked.take() {
            // SAFETY: this guard still holds the cell exclusively (the write lock): no other
            // reference to the contents exists, and this shared one ends before the unlock.
            let value = unsafe { &*self.cell.value.get() };
            // Published before the unlock, so that the next holder's publish comes after this
            // one (the lock orders them) and the words end up showing the last hold's contents.
            // (`late-publish`: a loom model, `loom_tests.rs`, shown to fail when it is after.)
            if !broken("late-publish") {
                self.cell.published.publish(value);
            }
            // SAFETY: this guard took the exclusive lock in `try_lock` and releases it once.
            unsafe { self.cell.lock.unlock_exclusive(guard) };
            if broken("late-publish") {
                // SAFETY: loom models only (`broken` is a constant false otherwise), where loom
                // runs every thread on one OS thread, one step at a time: the read cannot tear.
                // It races with the next holder's changes, which is the broken protocol's
                // fault the models are to find.
                let value = unsafe { &*self.cell.value.get() };
                self.cell.published.publish(value);
            }
        } else {
            self.cell.borrow.store(0, Ordering::Relaxed);
        }
    }
}

impl<T, P: Publish<T>> Deref for CellRef<'_, T, P> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: this guard holds a shared borrow (flag > 0, or the read lock): nobody holds
        // the contents exclusively until it is dropped.
        unsafe { &*self.cell.value.get() }
    }
}

impl<T, P: Publish<T>> Drop for CellRef<'_, T, P> {
    #[inline]
    fn drop(&mut self) {
        if let Some(guard) = self.locked.take() {
            // SAFETY: this guard took a shared lock in `try_read` and releases it once.
            unsafe { self.cell.lock.unlock_shared(guard) };
        } else {
            // SAFETY: the flag is alive (the cell is borrowed); GIL model, plain accesses, as in
            // `try_read`. This guard's reader is counted in it, so it is at least 1.
            unsafe { *self.cell.borrow.as_ptr() -= 1 };
        }
    }
}

/// The one hand-off for heap values that several threads reach: the arguments of a starting
/// thread, the shared `Vm`'s tables, the process-wide built-in types, the contents of queues and
/// other native objects threads wait on.
///
/// Wrapping a value in `Shared` is a promise, made where the wrapper is built and checked by
/// review: the contents are touched only by a thread attached to the interpreter (holding the GIL
/// in the GIL model). Blocking sections cannot reach a `Shared`'s contents by mistake:
/// `allow_threads` closures must be `Send`, and a reference into the contents (a `Value`, a
/// guard) is not.
pub struct Shared<T>(T);

impl<T> Shared<T> {
    /// Wrap `value` for hand-off; see the type's documentation for the promise this makes.
    pub const fn new(value: T) -> Shared<T> {
        Shared(value)
    }

    /// The value, on the thread that now owns it.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;
    #[inline(always)]
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Shared<T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

// SAFETY: moving a `Shared` to another thread moves heap references there. In the free-threaded
// model counts are atomic and cells are locks, so that is as safe as moving an `Arc`. In the GIL
// model the receiving thread touches the contents (clones, drops, cell access) only while holding
// the GIL, per the promise documented on the type; the GIL's mutex orders those accesses after
// the sending thread's, so no count or flag is ever changed by two threads at once.
unsafe impl<T> Send for Shared<T> {}
// SAFETY: as for `Send`: threads reach the contents through `&Shared` only while attached to the
// interpreter (holding the GIL in the GIL model), where counts and cells are either serialized by
// the GIL or atomic/locked.
unsafe impl<T> Sync for Shared<T> {}

/// A process-wide heap value created on first use (a built-in class, an exception type of a
/// module): a `OnceLock` whose contents are [`Shared`], with the same promise — only threads
/// attached to the interpreter reach it.
pub struct Global<T>(std::sync::OnceLock<Shared<T>>);

impl<T> Global<T> {
    pub const fn new() -> Global<T> {
        Global(std::sync::OnceLock::new())
    }

    /// The value, created by `init` the first time.
    pub fn get_or_init(&self, init: impl FnOnce() -> T) -> &T {
        self.0.get_or_init(|| Shared::new(init()))
    }

    /// The value, if it was created.
    pub fn get(&self) -> Option<&T> {
        self.0.get().map(|s| &s.0)
    }

    /// Create the value; gives it back if it was already there.
    pub fn set(&self, value: T) -> Result<(), T> {
        self.0.set(Shared::new(value)).map_err(|s| s.0)
    }
}

impl<T> Default for Global<T> {
    fn default() -> Global<T> {
        Global::new()
    }
}

/// An atomic `&'static T`: a reference to something that lives for the whole process, which
/// threads may replace and read without a lock (an instance table's published layout,
/// `object/instdict.rs`: layouts are never freed). Stores release and loads acquire, so a
/// reader sees the referent as it was made.
/// (Loom's atomic pointer under `--cfg loom`, so that the models of `loom_tests.rs` check these
/// orderings.)
pub struct AtomicStatic<T: 'static>(StaticPtr<T>);

#[cfg(not(loom))]
type StaticPtr<T> = std::sync::atomic::AtomicPtr<T>;
#[cfg(loom)]
type StaticPtr<T> = loom::sync::atomic::AtomicPtr<T>;

impl<T: Sync> AtomicStatic<T> {
    pub fn new(r: &'static T) -> AtomicStatic<T> {
        AtomicStatic(StaticPtr::new(std::ptr::from_ref(r).cast_mut()))
    }

    #[inline(always)]
    pub fn load(&self) -> &'static T {
        // `publish-order` (loom models only): relaxed, which the models show to be wrong.
        let order = if broken("publish-order") {
            Ordering::Relaxed
        } else {
            Ordering::Acquire
        };
        // SAFETY: every pointer stored here came from a `&'static T` (`new`, `store`), so it is
        // valid and its referent is never freed; it is only ever read through (never written:
        // the `cast_mut` is for `AtomicPtr`'s type only), and `T: Sync` lets any thread share it.
        unsafe { &*self.0.load(order) }
    }

    #[inline(always)]
    pub fn store(&self, r: &'static T) {
        let order = if broken("publish-order") {
            Ordering::Relaxed
        } else {
            Ordering::Release
        };
        self.0.store(std::ptr::from_ref(r).cast_mut(), order);
    }
}

/// Loom models only: whether `MINIVM_LOOM_BREAK` names `step` of a protocol, which is then left
/// out, so that the models can be seen to fail when the protocol is broken (`scripts/loom.sh`).
/// The steps: the seqlock of `stamped.rs`'s slots (`recheck`: a reader does not compare the
/// sequence numbers; `read-fence`: a reader leaves out its acquire fence; `write-fence`: a
/// fill leaves out its release fence); what a cell publishes ([`Publish`]: `late-publish`, an
/// exclusive hold publishes after its unlock; `publish-order`, [`AtomicStatic`] stores and
/// loads relaxed, without release and acquire).
#[cfg(loom)]
fn broken(step: &str) -> bool {
    std::env::var("MINIVM_LOOM_BREAK").is_ok_and(|v| v == step)
}

/// Outside loom nothing is ever left out.
#[cfg(not(loom))]
#[inline(always)]
fn broken(_: &str) -> bool {
    false
}
