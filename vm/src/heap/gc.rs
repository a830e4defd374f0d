//! The cycle collector (stage 4, the heap): finds groups of objects that only keep each other
//! alive and breaks them, as CPython's `Modules/gcmodule.c` does.
//!
//! Reference counting frees an object the moment its count reaches zero, but a cycle (`a.b = b;
//! b.a = a`, a list that contains itself) keeps every count above zero forever. CPython's answer,
//! and ours:
//!
//! 1. **Tracking.** Every object that can take part in a cycle (a *container*: list, dict, set,
//!    instance, class, function, cell, generator, iterator, a tuple holding containers) is listed
//!    in a registry when it is made ([`Trace::needs_tracking`]) and leaves it when freed. Strings,
//!    numbers and tuples of them are never listed: they cannot point back at anything.
//! 2. **Generations.** New objects go to generation 0. Each type knows how to *trace* its
//!    references ([`Trace::trace`], CPython's `tp_traverse`) and how to *clear* them
//!    ([`Trace::clear`], `tp_clear`). When more than `threshold[0]` (700) objects have been made
//!    since the last collection (net of those freed), generation 0 is collected; survivors move to
//!    generation 1. Every 10 collections of generation 0 collect generation 1 too, and every 10 of
//!    those generation 2 (when enough has piled up there), as in CPython.
//! 3. **Finding garbage** in the generations being collected, without knowing the roots:
//!    * copy each object's reference count to a scratch counter (`refs`);
//!    * trace every object and subtract one from the scratch counter of each object it points
//!      at *inside the collected set*. What is left is the number of references from outside:
//!      local variables, the stack, older generations, untracked holders (a thread blocked in a
//!      system call, a native object's Rust fields). Anything counted that we cannot see counts
//!      as outside, so the collector errs on the side of keeping objects alive;
//!    * every object with outside references is reachable, and so is everything it reaches
//!      (found by tracing again only the objects whose first trace met a member of the set);
//!    * the rest is garbage: only cycles keep it alive.
//! 4. **Breaking the cycles.** The collector takes a reference to every garbage object (so none is
//!    freed half-way), clears each one (a list drops its items, an instance its attributes), then
//!    lets go: the counts fall to zero and ordinary reference counting frees them. Because garbage
//!    is freed only through counts reaching zero, a wrongly cleared object would be a wrong
//!    answer, never freed memory in use.
//!
//! When it runs: allocation only *requests* a collection (it raises the eval breaker); the
//! interpreter collects at its next check point (`interp/run.rs`), where no object's contents are
//! borrowed. With the GIL, the collecting thread holds it, so the world is stopped for free. With
//! the GIL off, the collector stops the world first (`gil.rs: Gil::stop_the_world`).
//!
//! The registry is a list per generation, in the order objects were listed (CPython's lists are
//! doubly linked and keep that order, which shows: the collector finds, finalizes and reports
//! the objects of a cycle in it). An object's header holds its generation and index; freeing it
//! leaves a hole in its list, and a list compacts itself (keeping the order) once half of it is
//! holes, so a removal costs O(1) amortized (only the objects past the first hole move and have
//! their words rewritten). Under the GIL model it is reached without a lock, guarded by the
//! GIL like everything else in the heap; free-threaded, it has a mutex of its own.

use std::any::TypeId;
use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::lock_api::RawMutex as RawMutexApi;

use super::{free_threaded, Header, HeapBox, Ref};

/// What the collector needs to know about an object type. Every type stored in a [`Ref`]
/// implements it; the defaults describe an object that references nothing the collector tracks.
pub trait Trace: 'static {
    /// Whether this new object must be tracked (it may become part of a cycle).
    fn needs_tracking(&self) -> bool {
        false
    }

    /// Whether this object, left untracked, may still own references to other heap objects
    /// (a tuple or frozenset of strings, a slice): freeing it frees what it holds, and such
    /// objects can nest without limit (`t = (t,)` a million times), so their frees count
    /// towards the nesting limit of `Ref`'s drop like tracked containers' (CPython's
    /// trashcan covers tuples too). False for leaves (strings, ints), freed at once.
    fn holds_references(&self) -> bool {
        false
    }

    /// Visit every counted reference this object owns (CPython's `tp_traverse`). Visiting too few
    /// only keeps objects alive; visiting a reference the object does not own would be a bug.
    fn trace(&self, _visit: &mut Visitor<'_>) {}

    /// Drop the references this object owns, to break a cycle (CPython's `tp_clear`). Runs no
    /// Python code.
    fn clear(&self) {}

    /// Hand over, before anything in its cycle is cleared, what must run Python code as this
    /// unreachable object goes away (CPython's `tp_finalize`, PEP 442: a suspended generator's
    /// frame, closed later by the interpreter). True if it did: that collection then clears
    /// nothing, so the finalizer sees its objects intact; a later one frees what stays garbage.
    fn finalize(&self) -> bool {
        false
    }
}

/// Passed to [`Trace::trace`]: receives the references an object owns.
pub struct Visitor<'a> {
    f: &'a mut dyn FnMut(NonNull<Header>),
}

impl Visitor<'_> {
    /// Report one reference owned by the object being traced.
    #[inline]
    pub fn visit<T>(&mut self, r: &Ref<T>) {
        (self.f)(r.ptr.cast());
    }
}

// ---------------------------------------------------------------------------------------------
// The header's collector word.

/// The collector word of an untracked object.
pub(super) const UNTRACKED: usize = usize::MAX;
/// The collector word of an untracked object that owns references ([`Trace::holds_references`]):
/// not listed either, but its free goes through the nesting limit. Listed objects' words are
/// all below this one (an index shifted by [`INDEX_SHIFT`] never reaches it).
pub(super) const UNTRACKED_HOLDER: usize = usize::MAX - 1;

/// Is the object with collector word `w` listed (tracked)?
#[inline(always)]
pub(super) fn listed(w: usize) -> bool {
    w < UNTRACKED_HOLDER
}
/// Low bits: the generation (0..=2, or [`PERMANENT`] after `gc.freeze()`).
const GEN_MASK: usize = 0b11;
/// Set while the object is in the set being collected; the index is then into that set.
const COLLECTING: usize = 0b100;
const INDEX_SHIFT: u32 = 3;
/// `gc.freeze()` moves objects here: never collected.
const PERMANENT: usize = 3;
const GENERATIONS: usize = 3;

fn word(generation: usize, index: usize) -> usize {
    (index << INDEX_SHIFT) | generation
}

// ---------------------------------------------------------------------------------------------
// Type-erased access to tracked objects.

/// What the registry keeps per type: the object's `Trace` methods, callable on a bare header.
struct VTable {
    // SAFETY: callers pass the header of a live object of the type this vtable was made for.
    trace: unsafe fn(NonNull<Header>, &mut Visitor<'_>),
    // SAFETY: as for `trace`.
    clear: unsafe fn(NonNull<Header>),
    // SAFETY: as for `trace`.
    finalize: unsafe fn(NonNull<Header>) -> bool,
    /// Drop one counted reference (freeing the object if it was the last).
    // SAFETY: as for `trace`, and the caller gives up a counted reference it owns.
    release: unsafe fn(NonNull<Header>),
    type_id: fn() -> TypeId,
}

struct VTableOf<T>(PhantomData<T>);

impl<T: Trace> VTableOf<T> {
    const VTABLE: VTable = VTable {
        trace: trace_erased::<T>,
        clear: clear_erased::<T>,
        finalize: finalize_erased::<T>,
        release: release_erased::<T>,
        type_id: TypeId::of::<T>,
    };
}

/// # Safety
/// `h` is the header of a live `HeapBox<T>`.
// SAFETY: contract above; the returned reference lives no longer than the caller's access.
unsafe fn value_of<'a, T>(h: NonNull<Header>) -> &'a T {
    // SAFETY: per the contract, `h` starts a live `HeapBox<T>` (`repr(C)`, header first).
    unsafe { &h.cast::<HeapBox<T>>().as_ref().value }
}

/// # Safety
/// `h` is the header of a live `HeapBox<T>`.
// SAFETY: contract above, forwarded to `value_of`.
unsafe fn trace_erased<T: Trace>(h: NonNull<Header>, visit: &mut Visitor<'_>) {
    // SAFETY: forwarded contract.
    unsafe { value_of::<T>(h) }.trace(visit)
}

/// # Safety
/// `h` is the header of a live `HeapBox<T>`.
// SAFETY: contract above, forwarded to `value_of`.
unsafe fn clear_erased<T: Trace>(h: NonNull<Header>) {
    // SAFETY: forwarded contract.
    unsafe { value_of::<T>(h) }.clear()
}

/// # Safety
/// `h` is the header of a live `HeapBox<T>`.
// SAFETY: contract above, forwarded to `value_of`.
unsafe fn finalize_erased<T: Trace>(h: NonNull<Header>) -> bool {
    // SAFETY: forwarded contract.
    unsafe { value_of::<T>(h) }.finalize()
}

/// # Safety
/// `h` is the header of a live `HeapBox<T>` and the caller owns one of its counted references.
// SAFETY: contract above: rebuilding the `Ref<T>` takes over that counted reference.
unsafe fn release_erased<T: Trace>(h: NonNull<Header>) {
    drop(Ref::<T> {
        ptr: h.cast(),
        _owns: PhantomData,
    });
}

/// A counted reference to a tracked object of unknown type (what `gc.get_objects()` walks).
/// Not `Send`: like [`Ref`], it is used with the GIL held.
pub struct Tracked {
    obj: NonNull<Header>,
    vt: &'static VTable,
}

impl Tracked {
    /// A handle to a listed object, or `None` if its count is already 0: it is being freed and
    /// waits to be unlisted (free-threaded, by a thread blocked on the registry lock; in either
    /// model, a free deferred while frees nest). Raising such a count would free it twice.
    ///
    /// # Safety
    /// `obj` is a listed object whose type's vtable is `vt`, and the registry is locked (or the
    /// GIL held), so it is still allocated: a freed object leaves the registry first.
    // SAFETY: contract above; the handle owns the reference it adds and releases it on drop.
    unsafe fn new(obj: NonNull<Header>, vt: &'static VTable) -> Option<Tracked> {
        // SAFETY: per the contract, `obj` is an allocated object's header.
        let counted = unsafe { obj.as_ref() }.try_incref();
        // Not `counted.then_some(Tracked { .. })`: its argument is made either way, and a
        // handle made for a count it did not raise would, dropped, take one from a count of 0.
        if counted {
            Some(Tracked { obj, vt })
        } else {
            None
        }
    }

    /// The object as a `Ref<T>`, if it is a `T`.
    pub fn downcast<T: Trace>(&self) -> Option<Ref<T>> {
        if (self.vt.type_id)() != TypeId::of::<T>() {
            return None;
        }
        // SAFETY: the type ids match, so `obj` starts a `HeapBox<T>`; it is alive because this
        // handle holds a counted reference.
        unsafe { self.obj.as_ref() }.incref();
        Some(Ref {
            ptr: self.obj.cast(),
            _owns: PhantomData,
        })
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        // SAFETY: this handle owns one counted reference to a live object of the vtable's type.
        unsafe { (self.vt.release)(self.obj) }
    }
}

// ---------------------------------------------------------------------------------------------
// The registry.

struct Entry {
    obj: NonNull<Header>,
    vt: &'static VTable,
}

/// One generation's objects in the order they were listed, with holes where objects left
/// (`None`; `Option<Entry>` is no larger than `Entry`).
struct GenList {
    slots: Vec<Option<Entry>>,
    /// How many of `slots` are holes.
    holes: usize,
    /// No hole is below this index (`slots.len()` or more when there is none): compaction
    /// starts here, so the objects before it, which keep their places, are neither moved nor
    /// have their words rewritten. Long-lived objects listed first (a program's generators,
    /// the lists it builds up) sit there while younger ones come and go behind them.
    first_hole: usize,
}

impl GenList {
    const fn new() -> GenList {
        GenList {
            slots: Vec::new(),
            holes: 0,
            first_hole: usize::MAX,
        }
    }

    /// The number of objects listed.
    fn len(&self) -> usize {
        self.slots.len() - self.holes
    }

    fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.slots.iter().flatten()
    }

    /// Every object, in order, leaving the list empty.
    fn take(&mut self) -> std::iter::Flatten<std::vec::IntoIter<Option<Entry>>> {
        self.holes = 0;
        self.first_hole = usize::MAX;
        std::mem::take(&mut self.slots).into_iter().flatten()
    }

    /// Take the object at `i` off the list, keeping the others' order; `generation` is this
    /// list's, to rewrite the words of the objects that move if the list compacts. False if
    /// `i` does not hold `h`.
    fn remove(&mut self, generation: usize, i: usize, h: NonNull<Header>) -> bool {
        if self.slots.get(i).and_then(|e| e.as_ref()).map(|e| e.obj) != Some(h) {
            return false;
        }
        if i + 1 == self.slots.len() {
            self.slots.pop();
            // Holes at the end go too: nothing after them needs its index kept.
            while let Some(None) = self.slots.last() {
                self.slots.pop();
                self.holes -= 1;
            }
            if self.holes == 0 {
                self.first_hole = usize::MAX;
            }
            return true;
        }
        self.slots[i] = None;
        self.holes += 1;
        self.first_hole = self.first_hole.min(i);
        if self.holes > 16 && self.holes * 2 > self.slots.len() {
            self.compact(generation);
        }
        true
    }

    /// Close the holes, keeping the order: at most O(len) after len/2 removals. Only the
    /// objects from the first hole on move, and only they have their words rewritten. Out of
    /// line, so that a removal (every free of a tracked object) saves no registers for it.
    #[cold]
    #[inline(never)]
    fn compact(&mut self, generation: usize) {
        let start = self.first_hole.min(self.slots.len());
        self.slots.retain(Option::is_some);
        for (j, e) in self.slots.iter().enumerate().skip(start) {
            if let Some(e) = e {
                // SAFETY: listed objects are alive (they leave the registry before they are
                // freed).
                unsafe { e.obj.as_ref() }
                    .gc
                    .store(word(generation, j), Ordering::Relaxed);
            }
        }
        self.holes = 0;
        self.first_hole = usize::MAX;
    }
}

/// What the collector has done, for `gc.get_stats()` and `--stats`.
#[derive(Clone, Copy, Default, Debug)]
pub struct GenStats {
    pub collections: u64,
    pub collected: u64,
    pub uncollectable: u64,
}

#[derive(Clone, Copy, Default, Debug)]
pub struct Stats {
    pub generations: [GenStats; GENERATIONS],
    /// Total time spent collecting.
    pub time: Duration,
}

struct Registry {
    /// Generations 0, 1, 2 and the permanent one (`gc.freeze()`).
    gens: [GenList; 4],
    /// `gc.get_count()`: net allocations since the last collection of generation 0, then the
    /// collections of each generation since the last collection of the next one.
    count: [usize; GENERATIONS],
    /// `gc.set_threshold`'s values, C ints as in CPython: 0 turns a generation's automatic
    /// collection off, and a negative one collects at every chance (`count > threshold`).
    threshold: [i32; GENERATIONS],
    /// `track` requests a collection once `count[0]` is above this: `threshold[0]` folded
    /// together with `enabled` and `collecting` (`usize::MAX`: never), so that the test made at
    /// every container allocation is one comparison. Kept by [`Registry::refresh_trigger`].
    trigger: usize,
    enabled: bool,
    /// A collection is running (no other may start; allocation does not request one).
    collecting: bool,
    /// Objects that survived a collection of generation 1 since the last full collection, and
    /// the size of generation 2 then: a full collection waits until the first is a quarter of
    /// the second, as in CPython, so that it stays linear overall.
    long_lived_pending: usize,
    long_lived_total: usize,
    stats: Stats,
}

impl Registry {
    /// Append `e` to `generation`'s list and record where it is in the object's header.
    fn list(&mut self, generation: usize, e: Entry) {
        let list = &mut self.gens[generation];
        // SAFETY: listed (and being-listed) objects are alive: they leave the registry before
        // they are freed.
        unsafe { e.obj.as_ref() }
            .gc
            .store(word(generation, list.slots.len()), Ordering::Relaxed);
        list.slots.push(Some(e));
    }

    /// Recompute `trigger` after `threshold`, `enabled` or `collecting` changed: the same
    /// answer as `enabled && !collecting && over_threshold(reg, 0)` for any count of at least
    /// one (a negative threshold collects at every chance, 0 never).
    fn refresh_trigger(&mut self) {
        self.trigger = match self.threshold[0] {
            _ if !self.enabled || self.collecting => usize::MAX,
            0 => usize::MAX,
            t => usize::try_from(t).unwrap_or(0),
        };
    }
}

struct GcState {
    /// Free-threaded model only: guards `registry`.
    lock: parking_lot::RawMutex,
    registry: UnsafeCell<Registry>,
}

// SAFETY: the registry is reached only through `with_registry`, which takes `lock` in the
// free-threaded model; in the GIL model every caller holds the GIL (objects are made and freed
// only with the GIL held, see the heap module's comment), which serializes all access.
unsafe impl Sync for GcState {}

static GC: GcState = GcState {
    lock: parking_lot::RawMutex::INIT,
    registry: UnsafeCell::new(Registry {
        gens: [
            GenList::new(),
            GenList::new(),
            GenList::new(),
            GenList::new(),
        ],
        count: [0; GENERATIONS],
        threshold: [700, 10, 10],
        trigger: 700,
        enabled: true,
        collecting: false,
        long_lived_pending: 0,
        long_lived_total: 0,
        stats: Stats {
            generations: [GenStats {
                collections: 0,
                collected: 0,
                uncollectable: 0,
            }; GENERATIONS],
            time: Duration::ZERO,
        },
    }),
};

/// Set when allocation has passed the threshold: the interpreter collects at its next check
/// point (it also raises [`EVAL_BREAKER`]).
static COLLECT_REQUESTED: AtomicBool = AtomicBool::new(false);

/// The interpreter's eval breaker: raised when a running thread must stop at its next check point
/// (a GIL drop request, Ctrl-C, a collection). Process-wide, like the heap it serves.
pub static EVAL_BREAKER: AtomicBool = AtomicBool::new(false);

/// Is [`EVAL_BREAKER`] up? The test of every check point (a backward jump, a `for` step, a
/// function entry). On x86-64 one instruction naming the flag (`movzx reg, [rip + flag]`), as
/// `heap::free_threaded` reads the model flag: the relaxed load goes through the global offset
/// table (the flag's address, then the flag), one machine instruction more per check point.
/// Not `pure`: the flag is raised by other threads, so every check point must read it again
/// (a pure asm could be shared between loop iterations that store nothing).
#[cfg(all(target_arch = "x86_64", not(miri), not(loom)))]
#[inline(always)]
pub(crate) fn eval_breaker_up() -> bool {
    static_flag_byte!(EVAL_BREAKER, readonly, nostack, preserves_flags)
}

/// Elsewhere (and under Miri and loom, which cannot run asm): a relaxed load.
#[cfg(not(all(target_arch = "x86_64", not(miri), not(loom))))]
#[inline(always)]
pub(crate) fn eval_breaker_up() -> bool {
    EVAL_BREAKER.load(Ordering::Relaxed)
}

/// Run `f` with exclusive access to the registry. `f` must not drop or make heap references
/// (that would come back here).
#[inline(always)]
fn with_registry<R>(f: impl FnOnce(&mut Registry) -> R) -> R {
    if !free_threaded() {
        // SAFETY: exclusive access: under the GIL model the caller holds the GIL (see
        // `GcState`'s `Sync`). Callers never re-enter (documented above).
        return f(unsafe { &mut *GC.registry.get() });
    }
    with_registry_locked(f)
}

/// `with_registry` in the free-threaded model: under the registry's lock. Out of line, so that
/// the GIL model's callers (every allocation and free of a tracked object) keep no unlock guard.
#[inline(never)]
fn with_registry_locked<R>(f: impl FnOnce(&mut Registry) -> R) -> R {
    type Guard = <parking_lot::RawMutex as RawMutexApi>::Guard;
    struct Unlock(Option<Guard>);
    impl Drop for Unlock {
        fn drop(&mut self) {
            if let Some(guard) = self.0.take() {
                // SAFETY: the guard came from `GC.lock.lock()` below and is released once.
                unsafe { GC.lock.unlock(guard) }
            }
        }
    }
    let _unlock = Unlock(Some(GC.lock.lock()));
    // SAFETY: exclusive access: the lock is held (the model flag does not change while
    // threads run). Callers never re-enter (documented above).
    f(unsafe { &mut *GC.registry.get() })
}

/// List a new object in generation 0 (called by `Ref::new` for objects that need tracking).
pub(super) fn track<T: Trace>(obj: NonNull<HeapBox<T>>) {
    let h: NonNull<Header> = obj.cast();
    let request = with_registry(|reg| {
        // `obj` was just allocated by `Ref::new` and is alive.
        reg.list(
            0,
            Entry {
                obj: h,
                vt: &VTableOf::<T>::VTABLE,
            },
        );
        reg.count[0] += 1;
        reg.count[0] > reg.trigger
    });
    if request {
        COLLECT_REQUESTED.store(true, Ordering::Relaxed);
        EVAL_BREAKER.store(true, Ordering::Relaxed);
    }
}

/// Take a freed object off the registry (called by `Ref`'s drop before freeing a tracked object).
pub(super) fn untrack(h: NonNull<Header>) {
    with_registry(|reg| {
        // SAFETY: the object is being freed by its last reference, so it is still allocated.
        let w = unsafe { h.as_ref() }.gc.load(Ordering::Relaxed);
        let (g, i) = (w & GEN_MASK, w >> INDEX_SHIFT);
        if w & COLLECTING != 0 || !reg.gens[g].remove(g, i, h) {
            // The registry and the header disagree: continuing could corrupt it further.
            std::process::abort();
        }
        if g == 0 {
            reg.count[0] = reg.count[0].saturating_sub(1);
        }
    });
}

/// Is the object behind `r` tracked?
pub fn is_tracked<T>(r: &Ref<T>) -> bool {
    listed(r.heap_box().header.gc.load(Ordering::Relaxed))
}

// ---------------------------------------------------------------------------------------------
// Collecting.

/// True (once) if allocation asked for a collection: the caller collects.
pub fn take_request() -> bool {
    COLLECT_REQUESTED.load(Ordering::Relaxed) && COLLECT_REQUESTED.swap(false, Ordering::Relaxed)
}

/// Whether a collection has been requested and not yet taken.
pub fn requested() -> bool {
    COLLECT_REQUESTED.load(Ordering::Relaxed)
}

/// The generation an automatic collection should collect now, if any (CPython's
/// `gc_collect_generations`).
pub fn due_generation() -> Option<usize> {
    with_registry(|reg| {
        if !reg.enabled || reg.collecting {
            return None;
        }
        (0..GENERATIONS).rev().find(|&g| {
            over_threshold(reg, g) && (g < 2 || reg.long_lived_pending > reg.long_lived_total / 4)
        })
    })
}

/// Has generation `g` passed its threshold (CPython's test: `count > threshold`, and a threshold
/// of 0 means never)?
fn over_threshold(reg: &Registry, g: usize) -> bool {
    let t = reg.threshold[g];
    t != 0 && i64::try_from(reg.count[g]).unwrap_or(i64::MAX) > i64::from(t)
}

/// A finalizer the interpreter installs for objects it knows above the heap (instances of
/// classes with `__del__`): given an unreachable object, it may keep a reference to finalize it
/// later and answer true, as [`Trace::finalize`] does.
pub static FINALIZE_HOOK: std::sync::OnceLock<fn(&Tracked) -> bool> = std::sync::OnceLock::new();

/// Collect generations `0..=generation` and return how many unreachable objects were found.
///
/// The caller must have the world stopped: hold the GIL, or (free-threaded) be the only thread
/// attached, and hold no object's contents borrowed.
pub fn collect(generation: usize) -> usize {
    let generation = generation.min(GENERATIONS - 1);
    let start = Instant::now();
    let garbage = with_registry(|reg| {
        if reg.collecting {
            return None;
        }
        reg.collecting = true;
        reg.refresh_trigger();
        Some(find_garbage(reg, generation))
    });
    let Some(garbage) = garbage else { return 0 };
    let found = garbage.len();
    // Finalizers first (PEP 442); if any object handed one over, its cycle stays intact for it.
    let mut finalized = false;
    let hook = FINALIZE_HOOK.get();
    for obj in &garbage {
        // SAFETY: alive (the handle holds a count); `vt` is its type's vtable.
        finalized |= unsafe { (obj.vt.finalize)(obj.obj) };
        if let Some(hook) = hook {
            finalized |= hook(obj);
        }
    }
    // Break the cycles: every garbage object is kept alive by `garbage` until all are cleared.
    for obj in garbage.iter().filter(|_| !finalized) {
        // SAFETY: alive (the handle holds a count); `vt` is its type's vtable.
        unsafe { (obj.vt.clear)(obj.obj) };
    }
    drop(garbage);
    with_registry(|reg| {
        reg.collecting = false;
        reg.refresh_trigger();
        let s = &mut reg.stats;
        s.generations[generation].collections += 1;
        s.generations[generation].collected += found as u64;
        s.time += start.elapsed();
    });
    found
}

/// The heart of the collector (see the module comment): move generations `0..=generation` aside,
/// compute which of their objects are only reachable from each other, put the survivors in the
/// next generation and return handles to the garbage.
fn find_garbage(reg: &mut Registry, generation: usize) -> Vec<Tracked> {
    // The set being collected, with each object's collector word pointing into it.
    let mut set: Vec<Entry> = Vec::new();
    for g in 0..=generation {
        set.extend(reg.gens[g].take());
    }
    let mut refs: Vec<isize> = Vec::with_capacity(set.len());
    for (i, e) in set.iter().enumerate() {
        // SAFETY: listed objects are alive.
        let h = unsafe { e.obj.as_ref() };
        h.gc.store((i << INDEX_SHIFT) | COLLECTING, Ordering::Relaxed);
        refs.push(h.count.load(Ordering::Relaxed).min(isize::MAX as usize) as isize);
    }
    let member = |h: NonNull<Header>| -> Option<usize> {
        // SAFETY: `h` was visited as a reference owned by a live object, so it is alive.
        let w = unsafe { h.as_ref() }.gc.load(Ordering::Relaxed);
        (listed(w) && w & COLLECTING != 0).then_some(w >> INDEX_SHIFT)
    };
    // Subtract the references made from inside the set, noting which objects point at any
    // object of the set (`inner`): only those can make another one reachable.
    let mut inner = vec![false; set.len()];
    for (i, e) in set.iter().enumerate() {
        let mut any = false;
        let mut f = |h: NonNull<Header>| {
            if let Some(j) = member(h) {
                refs[j] -= 1;
                any = true;
            }
        };
        // SAFETY: alive, and `vt` is its type's vtable.
        unsafe { (e.vt.trace)(e.obj, &mut Visitor { f: &mut f }) };
        inner[i] = any;
    }
    // Whatever still has outside references is reachable, with everything it reaches. An
    // object that points at nothing in the set (an instance holding numbers and strings, the
    // usual survivor) is marked without being traced a second time: its trace would find
    // nothing to mark. The first trace already saw every reference it has, and the world is
    // stopped, so it has no others now.
    let mut reachable = vec![false; set.len()];
    let mut work: Vec<usize> = Vec::new();
    for i in 0..set.len() {
        if refs[i] > 0 {
            reachable[i] = true;
            if inner[i] {
                work.push(i);
            }
        }
    }
    while let Some(i) = work.pop() {
        let mut f = |h: NonNull<Header>| {
            if let Some(j) = member(h) {
                if !reachable[j] {
                    reachable[j] = true;
                    if inner[j] {
                        work.push(j);
                    }
                }
            }
        };
        // SAFETY: alive, and `vt` is its type's vtable.
        unsafe { (set[i].vt.trace)(set[i].obj, &mut Visitor { f: &mut f }) };
    }
    // Survivors age by one generation. The garbage is listed there too (it leaves the registry
    // as it is freed), behind a handle that keeps it alive until it has been cleared.
    let target = (generation + 1).min(GENERATIONS - 1);
    let mut garbage = Vec::new();
    let mut survivors = 0;
    for (e, alive) in set.into_iter().zip(reachable) {
        if alive {
            survivors += 1;
        } else {
            // SAFETY: still listed and `vt` is its type's vtable; the world is stopped. An
            // object already being freed (count 0) is left to its free.
            garbage.extend(unsafe { Tracked::new(e.obj, e.vt) });
        }
        reg.list(target, e);
    }
    // CPython's bookkeeping of counts and of the full-collection heuristic.
    for g in 0..=generation {
        reg.count[g] = 0;
    }
    if generation + 1 < GENERATIONS {
        reg.count[generation + 1] += 1;
    }
    match generation {
        1 => reg.long_lived_pending += survivors,
        2 => {
            reg.long_lived_pending = 0;
            reg.long_lived_total = reg.gens[2].len();
        }
        _ => {}
    }
    garbage
}

// ---------------------------------------------------------------------------------------------
// The `gc` module's settings and views.

pub fn enable(on: bool) {
    with_registry(|reg| {
        reg.enabled = on;
        reg.refresh_trigger();
    });
}

pub fn is_enabled() -> bool {
    with_registry(|reg| reg.enabled)
}

pub fn get_count() -> [usize; GENERATIONS] {
    with_registry(|reg| reg.count)
}

pub fn get_threshold() -> [i32; GENERATIONS] {
    with_registry(|reg| reg.threshold)
}

/// `gc.set_threshold`: the given thresholds, the others unchanged.
pub fn set_threshold(values: &[i32]) {
    with_registry(|reg| {
        for (t, v) in reg.threshold.iter_mut().zip(values) {
            *t = *v;
        }
        reg.refresh_trigger();
    });
}

pub fn stats() -> Stats {
    with_registry(|reg| reg.stats)
}

/// Handles to the tracked objects, of one generation or all (`gc.get_objects`). Free-threaded,
/// call it with the world stopped (`Interp::tracked_objects`), as the collector runs.
pub fn objects(generation: Option<usize>) -> Vec<Tracked> {
    with_registry(|reg| {
        let gens: &[GenList] = match generation {
            Some(g) => std::slice::from_ref(&reg.gens[g.min(PERMANENT)]),
            None => &reg.gens[..],
        };
        gens.iter()
            .flat_map(GenList::iter)
            // SAFETY: listed objects are allocated (the registry is locked); one whose count
            // is 0 is being freed by another thread and is left out.
            .filter_map(|e| unsafe { Tracked::new(e.obj, e.vt) })
            .collect()
    })
}

/// `gc.freeze()`: move every tracked object to the permanent generation.
pub fn freeze() {
    with_registry(|reg| {
        for g in 0..GENERATIONS {
            for e in reg.gens[g].take() {
                reg.list(PERMANENT, e);
            }
        }
        reg.count[0] = 0;
    });
}

/// `gc.unfreeze()`: back to the oldest generation.
pub fn unfreeze() {
    with_registry(|reg| {
        for e in reg.gens[PERMANENT].take() {
            reg.list(GENERATIONS - 1, e);
        }
    });
}

pub fn freeze_count() -> usize {
    with_registry(|reg| reg.gens[PERMANENT].len())
}

/// Count the tracked objects (for tests).
pub fn tracked_count() -> usize {
    with_registry(|reg| reg.gens.iter().map(GenList::len).sum())
}

// ---------------------------------------------------------------------------------------------
// Exit.

impl Tracked {
    /// A handle to `r`'s object if it is tracked (`None` for an untracked one).
    pub fn of<T: Trace>(r: &Ref<T>) -> Option<Tracked> {
        if !is_tracked(r) {
            return None;
        }
        let obj: NonNull<Header> = r.ptr.cast();
        // SAFETY: `r` holds a counted reference, so the object is alive; the new one belongs
        // to the handle, which gives it back on drop.
        unsafe { obj.as_ref() }.incref();
        Some(Tracked {
            obj,
            vt: &VTableOf::<T>::VTABLE,
        })
    }
}

/// At exit (`interp/finalize.rs`): the objects that become garbage once `roots` go, as CPython's
/// finalization takes the program's modules out of `sys.modules` and then collects. The roots
/// count as gone whatever else holds them (the module list, the main program's own reference to
/// its namespace); an object reachable from them is garbage unless something outside what they
/// reach holds it, or holds something that reaches it. `in_use` are held whatever their counts
/// (the namespaces daemon threads still run in). Objects of the types in `stop` (modules) that
/// are not roots are taken as held from outside and not looked into. Being held passes into a
/// root only from a stopped object or into a stopped one (a module a namespace in use imported,
/// and that module's namespace): a held function does not keep its module's namespace.
///
/// The garbage comes in the order a depth-first walk from the roots, in their order, first meets
/// it, the walk going on only into objects of the types in `descend` (so a module's namespace
/// gives its values in order, a list its items, before any class or function leads elsewhere);
/// the garbage the walk does not meet follows in the order the search found it. The roots
/// themselves are not in it. The world must be stopped, as for [`collect`]. The search marks
/// the objects it meets in their collector words, as a collection does, and puts the words back
/// before it lets the registry go; each object is traced once.
pub fn garbage_beyond(
    roots: &[Tracked],
    in_use: &[Tracked],
    stop: &[TypeId],
    descend: &[TypeId],
) -> Vec<Tracked> {
    with_registry(|reg| {
        if reg.collecting {
            return Vec::new();
        }
        // The objects met, each marked as a member by its collector word (`COLLECTING` and its
        // index here, as `find_garbage` marks the set it collects), the old word kept to be put
        // back before the registry is let go; and, for each, the members it refers to.
        let mut set: Vec<(NonNull<Header>, &'static VTable)> = Vec::new();
        let mut words: Vec<usize> = Vec::new();
        let mut stopped: Vec<bool> = Vec::new();
        let mut start: Vec<usize> = Vec::new();
        let mut edges: Vec<usize> = Vec::new();
        // A listed object's member index, making it a member if it is not one yet.
        let member = |h: NonNull<Header>,
                      reg: &Registry,
                      set: &mut Vec<(NonNull<Header>, &'static VTable)>,
                      words: &mut Vec<usize>|
         -> Option<usize> {
            // SAFETY: `h` is a root or in-use object (a handle holds it) or was visited as a
            // reference owned by a live member: alive.
            let header = unsafe { h.as_ref() };
            let w = header.gc.load(Ordering::Relaxed);
            if !listed(w) {
                return None;
            }
            if w & COLLECTING != 0 {
                return Some(w >> INDEX_SHIFT);
            }
            let e = reg.gens[w & GEN_MASK]
                .slots
                .get(w >> INDEX_SHIFT)?
                .as_ref()?;
            if e.obj != h {
                return None;
            }
            let i = set.len();
            set.push((h, e.vt));
            words.push(w);
            header
                .gc
                .store((i << INDEX_SHIFT) | COLLECTING, Ordering::Relaxed);
            Some(i)
        };
        let mut nroots = 0;
        for r in roots {
            member(r.obj, reg, &mut set, &mut words);
            nroots = set.len();
        }
        let mut used = Vec::new();
        for r in in_use {
            used.extend(member(r.obj, reg, &mut set, &mut words));
        }
        // Everything the roots reach (through objects not stopped at), breadth first.
        let mut buf: Vec<NonNull<Header>> = Vec::new();
        let mut next = 0;
        while next < set.len() {
            let (h, vt) = set[next];
            let stop_here = stop.contains(&(vt.type_id)());
            stopped.push(stop_here);
            start.push(edges.len());
            next += 1;
            if stop_here && next > nroots {
                continue;
            }
            buf.clear();
            let mut f = |c: NonNull<Header>| buf.push(c);
            // SAFETY: `h` is alive (see `member`) and `vt` is its type's vtable.
            unsafe { (vt.trace)(h, &mut Visitor { f: &mut f }) };
            for &c in &buf {
                if let Some(j) = member(c, reg, &mut set, &mut words) {
                    edges.push(j);
                }
            }
        }
        start.push(edges.len());
        // Every member gets its old word back: the registry is as it was.
        for (&(h, _), &w) in set.iter().zip(&words) {
            // SAFETY: alive (see `member`).
            unsafe { h.as_ref() }.gc.store(w, Ordering::Relaxed);
        }
        let out = |i: usize| &edges[start[i]..start[i + 1]];
        // References from inside the set; what has more is held from outside (stopped objects
        // and immortal ones always are), and so is all it reaches.
        let mut inside = vec![0usize; set.len()];
        for &j in &edges {
            inside[j] += 1;
        }
        let mut held = vec![false; set.len()];
        let mut work: Vec<usize> = Vec::new();
        for i in used {
            if !held[i] {
                held[i] = true;
                work.push(i);
            }
        }
        for (i, &(h, _)) in set.iter().enumerate().skip(nroots) {
            // SAFETY: alive (see `member`).
            let count = unsafe { h.as_ref() }.count.load(Ordering::Relaxed);
            if !held[i] && (count > inside[i] || stopped[i]) {
                held[i] = true;
                work.push(i);
            }
        }
        while let Some(i) = work.pop() {
            for &j in out(i) {
                let passes = j >= nroots || stopped[i] || stopped[j];
                if passes && !held[j] {
                    held[j] = true;
                    work.push(j);
                }
            }
        }
        // The order: depth first from the roots, children in the order they are traced.
        let mut order: Vec<usize> = Vec::new();
        let mut met = vec![false; set.len()];
        let mut stack: Vec<usize> = (0..nroots).rev().collect();
        while let Some(i) = stack.pop() {
            if met[i] {
                continue;
            }
            met[i] = true;
            if i >= nroots {
                order.push(i);
                if !descend.contains(&(set[i].1.type_id)()) {
                    continue;
                }
            }
            for &j in out(i).iter().rev() {
                if j >= nroots && !held[j] && !met[j] {
                    stack.push(j);
                }
            }
        }
        order.extend((nroots..set.len()).filter(|&i| !met[i] && !held[i]));
        order
            .into_iter()
            .filter(|&i| !held[i])
            // SAFETY: listed and alive (the registry is locked, the world stopped); one whose
            // count is 0 is being freed and is left out.
            .filter_map(|i| unsafe { Tracked::new(set[i].0, set[i].1) })
            .collect()
    })
}
