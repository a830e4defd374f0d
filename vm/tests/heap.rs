//! Tests of the heap (stage 4, `vm/src/heap/`): counting and cells in both memory models,
//! immortal objects, the cycle collector. Small enough to run under Miri (`scripts/miri.sh`),
//! which checks the `unsafe` blocks of `heap/` (`mod.rs`, `pool.rs`, `values.rs`) for undefined
//! behaviour and the threaded tests for data races.
//!
//! An integration test over the crate's public API rather than a `#[cfg(test)]` module, so that
//! `cargo test` does not compile the whole VM crate a second time in test mode (see
//! `vm/tests/unit/main.rs`). A binary of its own, not a module of `vm/tests/unit`: the memory
//! model and the collector's list of tracked objects are process-wide, and these tests change the
//! one and count the other, which tests running beside them in the same process could disturb.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use minivm_vm::heap::weak::{Weak, WeakAnchor, WeakTarget, DEATH_HOOK};
use minivm_vm::heap::{
    gc, model, AtomicStatic, Model, ObjCell, Publish, Ref, Shared, Trace, Visitor,
};

mod support;
use support::with_model;

/// Counts how many times it is dropped.
struct Probe(Arc<AtomicUsize>);

/// A container of references (as a list is). `Trace` is the crate's trait and `ObjCell` its type,
/// so the orphan rule wants a local type to implement it for.
struct Holder(ObjCell<Vec<Ref<Probe>>>);

/// An object with a probe and a mutable field.
struct Counted {
    _probe: Probe,
    cell: ObjCell<usize>,
}

impl Trace for Probe {}
impl Trace for Holder {}
impl Trace for Counted {}

fn counted(drops: &Arc<AtomicUsize>) -> Ref<Counted> {
    Ref::new(Counted {
        _probe: Probe(drops.clone()),
        cell: ObjCell::new(0),
    })
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn counts_and_frees_once_in_both_models() {
    for model in [Model::Gil, Model::FreeThreaded] {
        with_model(model, || {
            let drops = Arc::new(AtomicUsize::new(0));
            let a = Ref::new(Probe(drops.clone()));
            assert_eq!(Ref::count(&a), 1);
            let b = a.clone();
            let c = b.clone();
            assert_eq!(Ref::count(&a), 3);
            assert!(Ref::ptr_eq(&a, &c));
            assert_eq!(Ref::as_ptr(&a), Ref::as_ptr(&b));
            drop(a);
            drop(c);
            assert_eq!(drops.load(Ordering::SeqCst), 0);
            assert_eq!(Ref::count(&b), 1);
            drop(b);
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        });
    }
}

#[test]
fn nested_objects_are_freed() {
    with_model(Model::Gil, || {
        let drops = Arc::new(AtomicUsize::new(0));
        let inner = Ref::new(Probe(drops.clone()));
        // Made in place (`Ref::new_with`), as the interpreter makes instances.
        let outer = Ref::new_with(|| Holder(ObjCell::new(vec![inner.clone(), inner])));
        outer.0.lock().push(Ref::new(Probe(drops.clone())));
        assert_eq!(outer.0.read().len(), 3);
        drop(outer);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    });
}

#[test]
fn cell_borrows_in_the_gil_model() {
    with_model(Model::Gil, || {
        let cell = ObjCell::new(vec![1, 2, 3]);
        {
            let r1 = cell.read();
            let r2 = cell.read();
            assert_eq!(r1.len() + r2.len(), 6);
            // A writer while readers exist is re-entrance: reported, not granted.
            assert!(cell.try_lock().is_err());
        }
        {
            let mut w = cell.lock();
            w.push(4);
            assert!(cell.try_read().is_err());
            assert!(cell.try_lock().is_err());
        }
        assert_eq!(*cell.read(), vec![1, 2, 3, 4]);
        assert!(cell.try_lock().is_ok());
    });
}

#[test]
fn cell_locks_in_the_free_threaded_model() {
    with_model(Model::FreeThreaded, || {
        let cell = ObjCell::new(0u32);
        {
            let r1 = cell.read();
            let r2 = cell.try_read().ok();
            assert_eq!(*r1, 0);
            assert!(r2.is_some());
        }
        *cell.lock() += 5;
        assert_eq!(*cell.read(), 5);
    });
}

/// What a cell shows of its contents without its lock (`heap::Publish`): here the length of
/// a list of names, kept in an `AtomicStatic` as an instance's table keeps its layout.
struct ShownLen(AtomicStatic<&'static str>);

/// The lengths a `ShownLen` can show: a static for each.
static LENS: [&str; 5] = ["0", "1", "2", "3", "4"];

impl Publish<Vec<u32>> for ShownLen {
    fn of(v: &Vec<u32>) -> ShownLen {
        ShownLen(AtomicStatic::new(&LENS[v.len()]))
    }
    fn publish(&self, v: &Vec<u32>) {
        self.0.store(&LENS[v.len()]);
    }
}

/// Free-threaded: each exclusive hold's change is published as the hold ends, so a reader that
/// takes no lock beside two writers sees lengths that only grow, each one the contents had at
/// the end of some hold; a shared hold publishes nothing; `replace_owned` publishes the new
/// contents. Under Miri this also checks that the publishing store races with nothing.
#[test]
fn a_cell_publishes_its_changes_as_each_hold_ends() {
    with_model(Model::FreeThreaded, || {
        let cell: ObjCell<Vec<u32>, ShownLen> = ObjCell::new_published(Vec::new());
        assert_eq!(*cell.published().0.load(), "0");
        // Shared with the writers as an object is (free-threaded: its lock guards it).
        let cell = Shared::new(cell);
        std::thread::scope(|s| {
            for t in 0..2 {
                let cell = &cell;
                s.spawn(move || {
                    for i in 0..2 {
                        cell.lock().push(t * 2 + i);
                    }
                });
            }
            let mut last = 0;
            for _ in 0..20 {
                let seen: usize = cell.published().0.load().parse().expect("a length");
                assert!(seen >= last && seen <= 4, "saw {seen} after {last}");
                last = seen;
            }
        });
        assert_eq!(*cell.published().0.load(), "4");
        {
            let mut held = cell.lock();
            held.clear();
            // Not published while held.
            assert_eq!(*cell.published().0.load(), "4");
        }
        assert_eq!(*cell.published().0.load(), "0");
        let mut cell = cell.into_inner();
        assert!(cell.replace_owned(vec![7]).is_empty());
        assert_eq!(*cell.published().0.load(), "1");
        assert_eq!(*cell.read(), vec![7]);
    });
}

#[test]
#[should_panic(expected = "re-entrantly")]
fn reentrant_lock_is_reported_not_granted() {
    // No model lock here: the panic would poison it. The default model is the GIL model, and
    // `set_model` is only ever called with the lock held, which this test does not touch.
    let cell = ObjCell::new(1);
    if model() == Model::Gil {
        let _held = cell.lock();
        let _again = cell.lock();
    } else {
        panic!("re-entrantly (skipped: another test set the free-threaded model)");
    }
}

/// Free-threaded: threads clone and drop references to one object and update its cell at once;
/// the object is freed exactly once and no update is lost. Under Miri this also checks the
/// orderings for data races.
#[test]
fn free_threaded_counts_and_cells_across_threads() {
    with_model(Model::FreeThreaded, || {
        let drops = Arc::new(AtomicUsize::new(0));
        let obj = counted(&drops);
        let threads = 4;
        let rounds = if cfg!(miri) { 10 } else { 1000 };
        std::thread::scope(|s| {
            for _ in 0..threads {
                let mine = Shared::new(obj.clone());
                s.spawn(move || {
                    let mine = mine.into_inner();
                    for _ in 0..rounds {
                        let extra = mine.clone();
                        *extra.cell.lock() += 1;
                        drop(extra);
                    }
                });
            }
        });
        assert_eq!(*obj.cell.read(), threads * rounds);
        assert_eq!(Ref::count(&obj), 1);
        drop(obj);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

/// GIL model: threads take turns through a mutex standing in for the GIL; plain counts and
/// borrow flags stay exact because every access happens while holding it.
#[test]
fn gil_model_counts_across_threads_under_a_lock() {
    with_model(Model::Gil, || {
        let drops = Arc::new(AtomicUsize::new(0));
        let gil = Mutex::new(());
        let obj = counted(&drops);
        let threads = 3;
        let rounds = if cfg!(miri) { 10 } else { 1000 };
        std::thread::scope(|s| {
            for _ in 0..threads {
                let guard = gil.lock().unwrap_or_else(|e| e.into_inner());
                let mine = Shared::new(obj.clone());
                drop(guard);
                let gil = &gil;
                s.spawn(move || {
                    let _held = gil.lock().unwrap_or_else(|e| e.into_inner());
                    let mine = mine.into_inner();
                    for _ in 0..rounds {
                        let extra = mine.clone();
                        *extra.cell.lock() += 1;
                    }
                    drop(mine);
                });
            }
        });
        let _held = gil.lock().unwrap_or_else(|e| e.into_inner());
        assert_eq!(*obj.cell.read(), threads * rounds);
        assert_eq!(Ref::count(&obj), 1);
        drop(obj);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

/// Objects made immortal by the tests, kept for the rest of the process.
static IMMORTALS: Mutex<Vec<Shared<Ref<Probe>>>> = Mutex::new(Vec::new());

/// Free-threaded model: clones and drops from several threads, one of which makes the object
/// immortal half-way: none is lost or counted twice (the bit is added once, by compare-and-swap),
/// the count stops changing and the object is never freed. The GIL model ignores immortality.
#[test]
fn immortal_objects_keep_their_count_and_are_never_freed() {
    with_model(Model::FreeThreaded, || {
        let drops = Arc::new(AtomicUsize::new(0));
        let obj = Ref::new(Probe(drops.clone()));
        let rounds = if cfg!(miri) { 10 } else { 1000 };
        std::thread::scope(|s| {
            for _ in 0..3 {
                let mine = Shared::new(obj.clone());
                s.spawn(move || {
                    let mine = mine.into_inner();
                    for i in 0..rounds {
                        let extra = mine.clone();
                        if i == rounds / 2 {
                            Ref::immortalize(&extra);
                        }
                        drop(extra);
                    }
                });
            }
        });
        assert!(Ref::is_immortal(&obj));
        let count = Ref::count(&obj);
        drop(obj.clone());
        assert_eq!(Ref::count(&obj), count);
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        // An immortal object lives as long as the process, as the VM's do: keep it where a
        // static reaches it (which Miri does not count as a leak) instead of freeing it.
        IMMORTALS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Shared::new(obj));
    });
    with_model(Model::Gil, || {
        let drops = Arc::new(AtomicUsize::new(0));
        let obj = Ref::new(Probe(drops.clone()));
        Ref::immortalize(&obj);
        assert!(!Ref::is_immortal(&obj));
        drop(obj);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

/// A tracked test object: an optional reference to another node. While `pending` is above
/// 0 its finalizer asks the collector to keep its cycle for one collection (PEP 442, as a
/// suspended generator's frame does).
struct Node {
    next: ObjCell<Option<Ref<Node>>>,
    pending: AtomicUsize,
    _probe: Probe,
}

impl Trace for Node {
    fn needs_tracking(&self) -> bool {
        true
    }
    fn trace(&self, visit: &mut Visitor<'_>) {
        if let Ok(next) = self.next.try_read() {
            if let Some(n) = &*next {
                visit.visit(n);
            }
        }
    }
    fn clear(&self) {
        let next = self.next.try_lock().map(|mut g| g.take());
        drop(next);
    }
    fn finalize(&self) -> bool {
        self.pending.swap(0, Ordering::SeqCst) > 0
    }
}

fn node(drops: &Arc<AtomicUsize>) -> Ref<Node> {
    finalized_node(drops, 0)
}

/// A node whose finalizer keeps its cycle for `pending` collections (at most one).
fn finalized_node(drops: &Arc<AtomicUsize>, pending: usize) -> Ref<Node> {
    Ref::new(Node {
        next: ObjCell::new(None),
        pending: AtomicUsize::new(pending),
        _probe: Probe(drops.clone()),
    })
}

/// Freeing a chain of containers nested far deeper than the stack allows recursion: frees past
/// the heap's nesting limit are deferred and run by the outermost one (as CPython's trashcan),
/// so the whole chain is freed on a thread whose stack a recursive free would overflow.
#[test]
fn freeing_a_deep_chain_keeps_the_stack_bounded() {
    with_model(Model::Gil, || {
        // Under Miri the heap defers past 50 nested frees instead of 10,000.
        let depth = if cfg!(miri) { 300 } else { 400_000 };
        let drops = Arc::new(AtomicUsize::new(0));
        let counter = drops.clone();
        let freer = std::thread::Builder::new()
            .stack_size(16 << 20)
            .spawn(move || {
                let mut head = node(&counter);
                for _ in 1..depth {
                    let n = node(&counter);
                    *n.next.lock() = Some(head);
                    head = n;
                }
                drop(head);
                counter.load(Ordering::SeqCst)
            })
            .expect("spawn");
        assert_eq!(freer.join().expect("the free overflowed"), depth);
        assert_eq!(drops.load(Ordering::SeqCst), depth);
    });
}

#[test]
fn the_collector_frees_cycles_and_keeps_what_is_reachable() {
    for model in [Model::Gil, Model::FreeThreaded] {
        with_model(model, || {
            let before = gc::tracked_count();
            let drops = Arc::new(AtomicUsize::new(0));
            // A two-node cycle nothing else points at, and a self-loop kept by a local.
            let (a, b) = (node(&drops), node(&drops));
            *a.next.lock() = Some(b.clone());
            *b.next.lock() = Some(a.clone());
            // Made in place (`Ref::new_with`): listed with the collector all the same.
            let kept = Ref::new_with(|| Node {
                next: ObjCell::new(None),
                pending: AtomicUsize::new(0),
                _probe: Probe(drops.clone()),
            });
            *kept.next.lock() = Some(kept.clone());
            drop((a, b));
            assert_eq!(gc::tracked_count(), before + 3);
            assert_eq!(drops.load(Ordering::SeqCst), 0);
            assert_eq!(gc::collect(2), 2);
            assert_eq!(drops.load(Ordering::SeqCst), 2);
            assert_eq!(gc::tracked_count(), before + 1);
            assert!(kept.next.lock().is_some());
            kept.clear();
            drop(kept);
            assert_eq!(drops.load(Ordering::SeqCst), 3);
            assert_eq!(gc::tracked_count(), before);
        });
    }
}

/// A generation's list compacts itself once half of it is holes, starting at its first hole
/// (`heap/gc.rs: GenList::remove`): objects listed before that hole keep their places, those
/// after it move down with their collector words rewritten. After many frees behind long-lived
/// objects, every object is still listed once, in the order it was made, each can still be
/// unlisted when freed, and a cycle made among them is collected.
#[test]
fn the_registry_compacts_behind_long_lived_objects() {
    for model in [Model::Gil, Model::FreeThreaded] {
        with_model(model, || {
            let before = gc::tracked_count();
            let drops = Arc::new(AtomicUsize::new(0));
            let old = gc::get_threshold();
            // No automatic collection may age the objects half-way.
            gc::set_threshold(&[0]);
            let long_lived: Vec<_> = (0..20).map(|_| node(&drops)).collect();
            let mut kept = Vec::new();
            let rounds = if cfg!(miri) { 4 } else { 40 };
            for round in 0..rounds {
                // Short-lived objects freed out of order (holes, some at the end), with one
                // kept every round: it moves down at each compaction.
                let young: Vec<_> = (0..30).map(|_| node(&drops)).collect();
                for (i, n) in young.into_iter().enumerate() {
                    if i == 7 + round % 5 {
                        kept.push(n);
                    }
                }
            }
            let (a, b) = (node(&drops), node(&drops));
            *a.next.lock() = Some(b.clone());
            *b.next.lock() = Some(a.clone());
            drop((a, b));
            let mine: Vec<Ref<Node>> = gc::objects(Some(0))
                .iter()
                .filter_map(|t| t.downcast::<Node>())
                .collect();
            let expect: Vec<&Ref<Node>> = long_lived.iter().chain(kept.iter()).collect();
            let listed: Vec<&Ref<Node>> = mine
                .iter()
                .filter(|n| expect.iter().any(|k| Ref::ptr_eq(k, n)))
                .collect();
            assert_eq!(listed.len(), expect.len());
            assert!(listed.iter().zip(&expect).all(|(x, y)| Ref::ptr_eq(x, y)));
            drop(mine);
            assert_eq!(gc::tracked_count(), before + expect.len() + 2);
            // The cycle made last is found; the others are reachable.
            assert_eq!(gc::collect(0), 2);
            gc::set_threshold(&old);
            drop(kept);
            drop(long_lived);
            assert_eq!(gc::tracked_count(), before);
            let made = 20 + rounds * 30 + 2;
            assert_eq!(drops.load(Ordering::SeqCst), made);
        });
    }
}

/// The heap's free lists (`heap/pool.rs`): the memory of the object freed last is the next
/// object's of its size, as in CPython (`id(object()) == id(object())`); objects freed past a
/// list's cap, on another thread, or of sizes that are not pooled are still freed exactly once.
#[test]
fn freed_memory_is_reused_last_in_first_out() {
    for model in [Model::Gil, Model::FreeThreaded] {
        with_model(model, || {
            let drops = Arc::new(AtomicUsize::new(0));
            let a = counted(&drops);
            let at = Ref::as_ptr(&a);
            drop(a);
            let b = counted(&drops);
            assert_eq!(Ref::as_ptr(&b), at, "the freed block is handed out again");
            // More objects than a list keeps (128), freed at once, then made again.
            let n = if cfg!(miri) { 140 } else { 1000 };
            let many: Vec<_> = (0..n).map(|_| counted(&drops)).collect();
            drop(many);
            let again: Vec<_> = (0..n).map(|_| counted(&drops)).collect();
            // Made on this thread, freed on others (free-threaded: as threads do there).
            let moved = Shared::new(again);
            std::thread::spawn(move || drop(moved.into_inner()))
                .join()
                .unwrap();
            // A size no list serves.
            let big = Ref::new(Big([0; 64]));
            drop(big);
            drop(b);
            assert_eq!(drops.load(Ordering::SeqCst), 2 * n + 2);
        });
    }
}

/// An object too large for the heap's free lists.
struct Big(#[allow(dead_code)] [u64; 64]);
impl Trace for Big {}

/// An object with an alignment no free list serves (they align to 16).
#[repr(align(64))]
struct OverAligned {
    _probe: Probe,
}
impl Trace for OverAligned {}

std::thread_local! {
    /// Objects a thread still holds when it ends, freed as its thread-locals are destroyed
    /// (before or after the heap's own thread-locals: the order is not specified).
    static LEFT_AT_EXIT: std::cell::RefCell<Vec<Ref<Counted>>> =
        const { std::cell::RefCell::new(Vec::new()) };
    /// The same for tracked objects (whose free goes through more of the heap's thread-locals).
    static NODES_LEFT_AT_EXIT: std::cell::RefCell<Vec<Ref<Node>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The free lists' other paths (`heap/pool.rs`): an over-aligned type bypasses them; objects a
/// thread frees while its thread-locals are being destroyed are freed exactly once whether the
/// thread's lists are still there or already gone; a thread's lists are emptied when it ends.
#[test]
fn free_lists_at_thread_exit_and_for_unpooled_types() {
    for model in [Model::Gil, Model::FreeThreaded] {
        with_model(model, || {
            let drops = Arc::new(AtomicUsize::new(0));
            let o = Ref::new(OverAligned {
                _probe: Probe(drops.clone()),
            });
            assert_eq!(Ref::as_ptr(&o) as usize % 64, 0);
            drop(o);
            let counter = drops.clone();
            std::thread::spawn(move || {
                // Some blocks on this thread's lists when it ends, and objects freed by the
                // destructor of another thread-local.
                let kept: Vec<_> = (0..5).map(|_| counted(&counter)).collect();
                drop(kept);
                // Registered first, so destroyed after the heap's own thread-locals below.
                NODES_LEFT_AT_EXIT.with(|l| l.borrow_mut().push(node(&counter)));
                let left: Vec<_> = (0..5).map(|_| counted(&counter)).collect();
                LEFT_AT_EXIT.with(|l| l.borrow_mut().extend(left));
                drop(node(&counter));
            })
            .join()
            .unwrap();
            assert_eq!(drops.load(Ordering::SeqCst), 13);
        });
    }
}

/// `heap::alloc::tune` gives mimalloc minivm's purge delay (10 ms, where mimalloc 3 waits
/// 1,000 ms and float_points' peak grew by half: docs/BENCHMARKS.md, "Peak memory"), unless the
/// environment set one, which wins.
#[cfg(feature = "mimalloc")]
#[test]
fn tune_sets_the_purge_delay_unless_the_environment_did() {
    use minivm_vm::heap::alloc;
    alloc::tune();
    match std::env::var("MIMALLOC_PURGE_DELAY") {
        Ok(v) => assert_eq!(Some(alloc::purge_delay()), v.trim().parse().ok()),
        Err(_) => assert_eq!(alloc::purge_delay(), alloc::PURGE_DELAY_MS),
    }
}

/// The process's allocator (`heap/alloc.rs`) called directly, on the paths the global
/// allocator's users may not reach: each alignment form of `alloc`, `alloc_zeroed` and
/// `realloc` (growing and shrinking, plain and aligned), contents kept and blocks aligned.
#[cfg(feature = "mimalloc")]
#[test]
fn the_allocator_serves_every_layout() {
    use std::alloc::{GlobalAlloc, Layout};
    let a = minivm_vm::heap::alloc::Allocator;
    // (size, align): plain `malloc` ones, an alignment above malloc's, a size below its alignment.
    for (size, align) in [(24, 8), (16, 16), (100, 64), (4, 8), (1, 1), (4096, 4096)] {
        let layout = Layout::from_size_align(size, align).unwrap();
        // SAFETY: layouts of non-zero size; every block is written within its size and freed
        // once with the layout it has at that point (GlobalAlloc's contract).
        unsafe {
            let p = a.alloc(layout);
            assert!(!p.is_null());
            assert_eq!(p as usize % align, 0);
            for i in 0..size {
                p.add(i).write(i as u8);
            }
            // Grow (to a size that keeps the plain form and to one that needs the aligned
            // form's rules), then shrink below the alignment.
            let grown = a.realloc(p, layout, size * 3);
            assert_eq!(grown as usize % align, 0);
            for i in 0..size {
                assert_eq!(grown.add(i).read(), i as u8);
            }
            let grown_layout = Layout::from_size_align(size * 3, align).unwrap();
            let small = a.realloc(grown, grown_layout, 1);
            assert_eq!(small as usize % align, 0);
            assert_eq!(small.read(), 0);
            a.dealloc(small, Layout::from_size_align(1, align).unwrap());

            let z = a.alloc_zeroed(layout);
            assert_eq!(z as usize % align, 0);
            assert!((0..size).all(|i| z.add(i).read() == 0));
            a.dealloc(z, layout);
        }
    }
}

/// A weakly referenceable object.
struct Target {
    anchor: WeakAnchor,
    _probe: Probe,
}
impl Trace for Target {}
impl WeakTarget for Target {
    fn weak_anchor(&self) -> &WeakAnchor {
        &self.anchor
    }
}

fn target(drops: &Arc<AtomicUsize>) -> Ref<Target> {
    Ref::new(Target {
        anchor: WeakAnchor::new(),
        _probe: Probe(drops.clone()),
    })
}

/// An anchor outside the object (a broken `WeakTarget`): `downgrade` must refuse it.
struct Misplaced;
static OUTSIDE: WeakAnchor = WeakAnchor::new();
impl Trace for Misplaced {}
impl WeakTarget for Misplaced {
    fn weak_anchor(&self) -> &WeakAnchor {
        &OUTSIDE
    }
}

/// The slots whose death `DEATH_HOOK` reported.
static DEATHS: Mutex<Vec<usize>> = Mutex::new(Vec::new());

fn record_death(key: usize) {
    DEATHS.lock().unwrap_or_else(|e| e.into_inner()).push(key);
}

/// Weak references (`heap/weak.rs`) in both models: the slot is made once and shared, `upgrade`
/// gives a counted reference while the object lives and `None` after, a watched death is
/// reported once with the slot's key, and an anchor outside its object is refused.
#[test]
fn weak_references_see_the_object_die() {
    let _ = DEATH_HOOK.set(record_death);
    for model in [Model::Gil, Model::FreeThreaded] {
        with_model(model, || {
            let drops = Arc::new(AtomicUsize::new(0));
            let t = target(&drops);
            assert!(!Ref::has_weak_refs(&t));
            let w: Weak<Target> = Ref::downgrade(&t).expect("the anchor is inside");
            let w2 = Ref::downgrade(&t).expect("the anchor is inside");
            assert!(Ref::has_weak_refs(&t));
            assert_eq!(w.key(), w2.key());
            assert_eq!(w.sharers(), 3, "two weak references and the anchor");
            let strong = w.upgrade().expect("alive");
            assert!(Ref::ptr_eq(&strong, &t));
            assert_eq!(Ref::count(&t), 2);
            drop(strong);
            w.watch();
            let key = w.key();
            let reported = DEATHS.lock().unwrap_or_else(|e| e.into_inner()).len();
            drop(t);
            assert_eq!(drops.load(Ordering::SeqCst), 1);
            assert!(w.upgrade().is_none());
            assert!(w2.clone().is_dead());
            let deaths = DEATHS.lock().unwrap_or_else(|e| e.into_inner());
            assert_eq!(deaths[reported..], [key]);
            drop(deaths);
            drop((w, w2));

            assert!(Ref::downgrade(&Ref::new(Misplaced)).is_none());
        });
    }
}

/// Free-threaded: threads make the first weak reference to one object at once (one slot wins,
/// the others' are freed) and upgrade while the owner drops the last strong reference: each
/// upgrade either gets the live object or `None`, the object is freed once, never revived.
#[test]
fn weak_references_across_threads() {
    with_model(Model::FreeThreaded, || {
        let drops = Arc::new(AtomicUsize::new(0));
        let t = target(&drops);
        let rounds = if cfg!(miri) { 5 } else { 500 };
        let weaks: Vec<usize> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..3)
                .map(|_| {
                    let mine = Shared::new(t.clone());
                    s.spawn(move || {
                        let mine = mine.into_inner();
                        let w = Ref::downgrade(&mine).expect("the anchor is inside");
                        let key = w.key();
                        drop(mine);
                        let w = Shared::new(w);
                        (key, w)
                    })
                })
                .collect();
            let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            let keys: Vec<usize> = results.iter().map(|(k, _)| *k).collect();
            // Upgraders racing with the last drop.
            let ws: Vec<_> = results.into_iter().map(|(_, w)| w).collect();
            let last = Shared::new(t);
            for w in ws {
                s.spawn(move || {
                    let w = w.into_inner();
                    for _ in 0..rounds {
                        if let Some(strong) = w.upgrade() {
                            assert!(Ref::count(&strong) >= 1);
                        }
                    }
                });
            }
            s.spawn(move || drop(last.into_inner()));
            keys
        });
        assert!(weaks.windows(2).all(|k| k[0] == k[1]), "one slot for all");
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

/// The collector's other paths (`heap/gc.rs`): a finalizer that keeps its cycle for one
/// collection; survivors moving up a generation; handles from `objects` (downcast, released on
/// drop); objects freed from the middle of a generation (the moved entry's word updated);
/// `freeze`/`unfreeze`; a collection requested once allocation passes the threshold.
#[test]
fn the_collector_finalizes_ages_and_lists() {
    for model in [Model::Gil, Model::FreeThreaded] {
        with_model(model, || {
            let before = gc::tracked_count();
            let drops = Arc::new(AtomicUsize::new(0));
            let (a, b) = (finalized_node(&drops, 1), finalized_node(&drops, 1));
            *a.next.lock() = Some(b.clone());
            *b.next.lock() = Some(a.clone());
            drop((a, b));
            // First collection: both finalizers run and keep the cycle; the second frees it.
            assert_eq!(gc::collect(0), 2);
            assert_eq!(drops.load(Ordering::SeqCst), 0);
            assert_eq!(gc::collect(2), 2);
            assert_eq!(drops.load(Ordering::SeqCst), 2);

            // Survivors age; handles find them by type.
            let kept: Vec<_> = (0..4).map(|_| node(&drops)).collect();
            assert_eq!(gc::collect(0), 0);
            assert_eq!(gc::collect(1), 0);
            let listed = gc::objects(Some(2));
            let mine = listed
                .iter()
                .filter_map(|t| t.downcast::<Node>())
                .filter(|n| kept.iter().any(|k| Ref::ptr_eq(k, n)))
                .count();
            assert_eq!(mine, 4);
            assert!(listed.iter().all(|t| t.downcast::<Probe>().is_none()));
            drop(listed);
            assert!(kept.iter().all(|k| Ref::count(k) == 1));
            assert!(gc::is_tracked(&kept[0]));
            // Freed from the middle of their generation.
            let mut kept = kept;
            drop(kept.remove(1));
            drop(kept.remove(0));
            assert_eq!(gc::tracked_count(), before + 2);

            gc::freeze();
            assert!(gc::freeze_count() >= 2);
            assert_eq!(gc::collect(2), 0);
            gc::unfreeze();
            assert_eq!(gc::freeze_count(), 0);
            drop(kept);
            assert_eq!(gc::tracked_count(), before);

            // Passing the threshold raises the request; a collection takes it.
            let old = gc::get_threshold();
            gc::set_threshold(&[3]);
            let burst: Vec<_> = (0..5).map(|_| node(&drops)).collect();
            assert!(gc::requested());
            assert!(gc::take_request());
            assert_eq!(gc::due_generation(), Some(0));
            assert_eq!(gc::collect(0), 0);
            gc::set_threshold(&old);
            drop(burst);
            assert_eq!(drops.load(Ordering::SeqCst), 2 + 4 + 5);
        });
    }
}

// ---- Pooled value arrays (`heap/values.rs`: a tuple's items) ----

use minivm_vm::heap::ValueArray;
use minivm_vm::Value;

/// How many references to the string `s` there are besides `s`.
fn refs_to(s: &Value) -> usize {
    let Value::Str(r) = s else { unreachable!() };
    Ref::count(r) - 1
}

/// `len` values: ints 0.., every third a reference to `s`, the first a tuple holding `s` (a
/// heap object whose drop frees a `ValueArray` of its own).
fn items(len: usize, s: &Value) -> Vec<Value> {
    (0..len)
        .map(|i| match i {
            0 => Value::tuple(vec![s.clone(), Value::Int(-1)]),
            i if i % 3 == 0 => s.clone(),
            i => Value::Int(i as i64),
        })
        .collect()
}

/// How many references to `s` `items(len)` holds (the nested tuple's included).
fn refs_in(len: usize) -> usize {
    (0..len).filter(|&i| i == 0 || i % 3 == 0).count()
}

/// The values are `items(len, s)`: same ints in the same places, the same string.
fn check_items(a: &[Value], len: usize, s: &Value) {
    assert_eq!(a.len(), len);
    for (i, v) in a.iter().enumerate() {
        match (i, v) {
            (0, Value::Tuple(t)) => assert_eq!(t.items.len(), 2),
            (i, Value::Str(r)) if i % 3 == 0 => {
                let Value::Str(sr) = s else { unreachable!() };
                assert!(Ref::ptr_eq(r, sr));
            }
            (i, Value::Int(n)) => assert_eq!(*n, i as i64),
            (i, v) => panic!("item {i} is {v:?}"),
        }
    }
}

/// Every way to make, copy, change and take apart a `ValueArray`, for every length from empty
/// through each pooled size class (1 to 16 values: 16 to 256 bytes) to two lengths past the pool
/// (general allocator): each value is owned once (the shared string's count comes back to 1, the
/// nested tuples are freed), in both memory models.
#[test]
fn value_arrays_of_every_size_own_their_items_once() {
    for model in [Model::Gil, Model::FreeThreaded] {
        with_model(model, || {
            let s = Value::str("item");
            for len in 0..=18 {
                let refs = refs_in(len);
                let a = ValueArray::from_vec(items(len, &s));
                check_items(&a, len, &s);
                assert_eq!(refs_to(&s), refs);

                // A copy: new references to the same values.
                let b = a.clone();
                check_items(&b, len, &s);
                assert_eq!(refs_to(&s), 2 * refs - usize::from(len > 0));
                drop(b);
                assert_eq!(refs_to(&s), refs);

                // Back into a vector (the block freed, the values moved), and again.
                let v = a.into_vec();
                check_items(&v, len, &s);
                assert_eq!(refs_to(&s), refs);
                let mut a: ValueArray = v.into_iter().collect();
                check_items(&a, len, &s);

                // Overwriting an item drops the old one.
                if len > 0 {
                    a[len - 1] = Value::None;
                    let expect = refs - usize::from((len - 1) % 3 == 0);
                    assert_eq!(refs_to(&s), expect);
                }
                drop(a);
                assert_eq!(refs_to(&s), 0);

                // The top `len` values of an operand stack, moved out in order; the rest stay.
                let mut stack = vec![s.clone(), Value::Int(7)];
                stack.extend(items(len, &s));
                let a = ValueArray::from_tail(&mut stack, len);
                check_items(&a, len, &s);
                assert_eq!(stack.len(), 2);
                assert_eq!(refs_to(&s), 1 + refs);
                // More than the stack holds: nothing is taken.
                let none = ValueArray::from_tail(&mut stack, 3);
                assert_eq!((none.len(), stack.len()), (0, 2));
                assert!(Value::tuple_from_tail(&mut stack, 3).is_none());
                // As BUILD_TUPLE makes a tuple.
                let t = Value::tuple_from_tail(&mut stack, 2).unwrap();
                assert!(stack.is_empty());
                let Value::Tuple(tr) = &t else { unreachable!() };
                assert!(matches!(tr.items[1], Value::Int(7)));
                drop((a, t));
                assert_eq!(refs_to(&s), 0);
            }
            assert!(ValueArray::default().is_empty());
            assert_eq!(
                format!("{:?}", ValueArray::from_vec(vec![Value::Int(3)])),
                "[3]"
            );
        });
    }
}

/// Arrays take their blocks from the heap's free lists (`heap/pool.rs`) by size class: the block
/// of the array freed last is the next one's of its class, for every pooled length. More arrays
/// than a list keeps (1,024), freed at once, go partly back to the allocator; arrays freed on
/// another thread go to that thread's lists. Every item is dropped once throughout.
#[test]
fn value_arrays_reuse_pool_blocks() {
    for model in [Model::Gil, Model::FreeThreaded] {
        with_model(model, || {
            let s = Value::str("item");
            for len in 1..=16 {
                // Ints and the string only: `items`' nested tuple would take the block first
                // (its own items are a 2-value block).
                let flat = || vec![s.clone(); len];
                let a = ValueArray::from_vec(flat());
                let at = a.as_ptr();
                drop(a);
                let b = ValueArray::from_vec(flat());
                assert_eq!(b.as_ptr(), at, "a {len}-value block is handed out again");
                drop(b);
            }
            // Past a list's cap (one class: pairs).
            let n = 1030;
            let many: Vec<_> = (0..n)
                .map(|_| ValueArray::from_vec(vec![s.clone(), Value::Int(1)]))
                .collect();
            assert_eq!(refs_to(&s), n);
            drop(many);
            assert_eq!(refs_to(&s), 0);
            let again: Vec<_> = (0..n)
                .map(|i| ValueArray::from_vec(vec![s.clone(); 1 + i % 17]))
                .collect();
            let moved = Shared::new(again);
            std::thread::spawn(move || drop(moved.into_inner()))
                .join()
                .unwrap();
            assert_eq!(refs_to(&s), 0);
        });
    }
}

/// Drops a `ValueArray` it makes when the thread's thread-locals are destroyed.
struct MakesArrayAtExit(Value);
impl Drop for MakesArrayAtExit {
    fn drop(&mut self) {
        let a = ValueArray::from_vec(vec![self.0.clone(), self.0.clone(), Value::Int(2)]);
        assert_eq!(a.len(), 3);
    }
}

std::thread_local! {
    /// Arrays a thread still holds when it ends, dropped as its thread-locals are destroyed:
    /// registered before the heap's free lists, so destroyed after them (the arrays' blocks go
    /// straight to the allocator, and new ones come from it).
    static ARRAYS_LEFT_AT_EXIT: std::cell::RefCell<(Vec<ValueArray>, Option<MakesArrayAtExit>)> =
        const { std::cell::RefCell::new((Vec::new(), None)) };
}

/// Arrays freed, and made, while a thread ends: after its free lists are gone (blocks to and
/// from the allocator) and before (kept blocks emptied into the allocator with the lists).
#[test]
fn value_arrays_at_thread_exit() {
    for model in [Model::Gil, Model::FreeThreaded] {
        with_model(model, || {
            let s = Value::str("item");
            let mine = Shared::new(s.clone());
            std::thread::spawn(move || {
                let s = mine.into_inner();
                // First use of the thread-local: registered before the free lists.
                ARRAYS_LEFT_AT_EXIT.with(|l| l.borrow_mut().1 = Some(MakesArrayAtExit(s.clone())));
                let kept: Vec<_> = (1..=17)
                    .map(|n| ValueArray::from_vec(items(n, &s)))
                    .collect();
                drop(kept);
                let left: Vec<_> = (1..=17)
                    .map(|n| ValueArray::from_vec(items(n, &s)))
                    .collect();
                ARRAYS_LEFT_AT_EXIT.with(|l| l.borrow_mut().0.extend(left));
            })
            .join()
            .unwrap();
            assert_eq!(refs_to(&s), 0);
        });
    }
}

/// `heap/lend.rs`: what a thread lends is readable by another until `lend` returns, and gone
/// after; a reader holding the loans makes the owner's reclaim wait (no use of a loan after the
/// owner went on, which Miri would report).
#[test]
fn lender_lends_until_taken_back() {
    use minivm_vm::heap::lend::{Lender, Loan};
    use std::sync::Barrier;
    let lender: Arc<Lender<String, u32, char>> = Arc::new(Lender::default());
    let lent = Arc::new(Barrier::new(2));
    let owner = {
        let (lender, lent) = (lender.clone(), lent.clone());
        std::thread::spawn(move || {
            let mut frame = String::from("frame");
            let parked = 7u32;
            let handling = 'e';
            lender.lend(
                [Loan::A(&frame), Loan::B(&parked), Loan::C(&handling)],
                || {
                    lent.wait();
                    lent.wait();
                },
            );
            // Taken back: the owner changes its frame again.
            frame.push_str(" changed");
            frame
        })
    };
    lent.wait();
    let seen = lender.read(|loans| {
        // The owner goes on meanwhile, and must wait for this read to end before it changes
        // the frame.
        lent.wait();
        loans
            .iter()
            .map(|l| match l {
                Loan::A(s) => s.to_string(),
                Loan::B(n) => n.to_string(),
                Loan::C(c) => c.to_string(),
            })
            .collect::<Vec<_>>()
    });
    assert_eq!(seen, ["frame", "7", "e"]);
    assert_eq!(owner.join().unwrap(), "frame changed");
    assert!(lender.read(|loans| loans.is_empty()));
}

// ---- Repeating a sequence (`heap/value_count.rs`: `seq * n`, `list *= n`) ----

use minivm_vm::heap::{extend_repeated, repeat_in_place};

/// Items to repeat: heap objects (the string `s` twice, a tuple holding `s`, a list) and
/// immediates (ints, `None`, a float), `len` of them.
fn mixed(len: usize, s: &Value) -> Vec<Value> {
    (0..len)
        .map(|i| match i % 6 {
            0 => s.clone(),
            1 => Value::Int(i as i64),
            2 => Value::tuple(vec![s.clone(), Value::None]),
            3 => Value::None,
            4 => Value::list(vec![Value::Float(0.5)]),
            _ => s.clone(),
        })
        .collect()
}

/// The count of the object `v` refers to, or 0 for an immediate.
fn count_of(v: &Value) -> usize {
    match v {
        Value::Str(r) => Ref::count(r),
        Value::Tuple(r) => Ref::count(r),
        Value::List(r) => Ref::count(r),
        _ => 0,
    }
}

/// `out` is `items` repeated (each copy the same object or the same immediate), after `before`
/// values that are left alone.
fn check_repeated(out: &[Value], before: usize, items: &[Value], n: usize) {
    assert_eq!(out.len(), before + items.len() * n);
    for (k, v) in out[before..].iter().enumerate() {
        let want = &items[k % items.len()];
        assert!(v.is(want), "copy {k}: {v:?} is not {want:?}");
        if let (Value::Int(a), Value::Int(b)) = (v, want) {
            assert_eq!(a, b);
        }
    }
}

/// `seq * n` (`extend_repeated`) into a vector that already holds values, for n = 0, 1, many,
/// one item (heap object or immediate: its own loop) and several, in both memory models: every
/// copy is the item, every object's count goes up by exactly `n`, and comes back down when the
/// copies are dropped (the tuple's and list's objects freed with the items at the end).
#[test]
fn repeated_items_are_counted_once_per_copy() {
    for model in [Model::Gil, Model::FreeThreaded] {
        with_model(model, || {
            let s = Value::str("item");
            for len in [0, 1, 2, 6, 7] {
                for n in [0, 1, 2, 5] {
                    let items = mixed(len, &s);
                    let refs = refs_to(&s);
                    let counts: Vec<usize> = items.iter().map(count_of).collect();
                    let mut out = vec![Value::Int(-7), s.clone()];
                    extend_repeated(&mut out, &items, n);
                    check_repeated(&out, 2, &items, n);
                    assert!(matches!(out[0], Value::Int(-7)) && out[1].is(&s));
                    for (v, c) in items.iter().zip(&counts) {
                        if *c != 0 && !v.is(&s) {
                            assert_eq!(count_of(v), c + n, "{v:?} after * {n}");
                        }
                    }
                    let in_items = items.iter().filter(|v| v.is(&s)).count();
                    assert_eq!(refs_to(&s), refs + 1 + n * in_items);
                    drop(out);
                    assert_eq!(refs_to(&s), refs);
                    for (v, c) in items.iter().zip(&counts) {
                        assert_eq!(count_of(v), *c);
                    }
                }
            }
            // One item alone (the single-item loop): a heap object, then an immediate.
            for n in [0, 1, 3] {
                let mut out = Vec::new();
                extend_repeated(&mut out, std::slice::from_ref(&s), n);
                assert_eq!(out.len(), n);
                assert!(out.iter().all(|v| v.is(&s)));
                assert_eq!(refs_to(&s), n);
                drop(out);
                assert_eq!(refs_to(&s), 0);
                let mut out = Vec::new();
                extend_repeated(&mut out, &[Value::Int(42)], n);
                assert_eq!(out.len(), n);
                assert!(out.iter().all(|v| matches!(v, Value::Int(42))));
            }
            assert_eq!(refs_to(&s), 0);
        });
    }
}

/// `list *= n` (`repeat_in_place`), including growing past the vector's capacity (the items
/// are read from the buffer being pushed to): n = 0 and 1 leave the list alone, more makes `n`
/// runs; each object's count goes up by `n - 1`; an empty list stays empty.
#[test]
fn list_repeated_in_place_counts_each_copy() {
    for model in [Model::Gil, Model::FreeThreaded] {
        with_model(model, || {
            let s = Value::str("item");
            for len in [0, 1, 3, 6] {
                for n in [0, 1, 2, 4] {
                    let items = mixed(len, &s);
                    let counts: Vec<usize> = items.iter().map(count_of).collect();
                    let mut v = items.clone();
                    v.shrink_to_fit();
                    repeat_in_place(&mut v, n);
                    let runs = n.max(1);
                    check_repeated(&v, 0, &items, runs);
                    for (it, c) in items.iter().zip(&counts) {
                        if *c != 0 && !it.is(&s) {
                            assert_eq!(count_of(it), c + runs, "{it:?} after *= {n}");
                        }
                    }
                    let in_items = items.iter().filter(|v| v.is(&s)).count();
                    assert_eq!(refs_to(&s), in_items * (1 + runs) + usize::from(len > 2));
                    drop(v);
                    for (it, c) in items.iter().zip(&counts) {
                        assert_eq!(count_of(it), *c);
                    }
                }
            }
            assert_eq!(refs_to(&s), 0);
        });
    }
}

/// `a *= 3` where `a` holds itself: the list's own count goes up by two (one for each new copy
/// of the item that is the list), as the string's does, while its items are locked; clearing
/// the items (the cycle broken) brings every count back and frees the list.
#[test]
fn list_holding_itself_repeated_in_place() {
    for model in [Model::Gil, Model::FreeThreaded] {
        with_model(model, || {
            let s = Value::str("item");
            let a = Value::list(vec![Value::Int(1), s.clone()]);
            let Value::List(l) = &a else { unreachable!() };
            l.items.lock().push(a.clone());
            assert_eq!(Ref::count(l), 2);
            {
                let mut items = l.items.lock();
                repeat_in_place(&mut items, 3);
                assert_eq!(items.len(), 9);
                for run in items.chunks(3) {
                    assert!(matches!(run[0], Value::Int(1)));
                    assert!(run[1].is(&s) && run[2].is(&a));
                }
            }
            assert_eq!(Ref::count(l), 4);
            assert_eq!(refs_to(&s), 3);
            // `a * 2` of the same list: a new vector of its items, the list counted twice more.
            let snapshot = l.items.lock().clone();
            let mut out = Vec::new();
            extend_repeated(&mut out, &snapshot, 2);
            assert_eq!(Ref::count(l), 4 + 3 + 6);
            drop((out, snapshot));
            assert_eq!(Ref::count(l), 4);
            let taken = std::mem::take(&mut *l.items.lock());
            drop(taken);
            assert_eq!(Ref::count(l), 1);
            assert_eq!(refs_to(&s), 0);
        });
    }
}

/// Free-threaded model: threads repeating the same items at once (`extend_repeated`'s one
/// atomic add of `n` per item) lose no count and free each object once; an immortal item's
/// count is left alone.
#[test]
fn repeated_items_counted_across_threads() {
    with_model(Model::FreeThreaded, || {
        let s = Value::str("shared");
        let rounds = if cfg!(miri) { 4 } else { 200 };
        std::thread::scope(|sc| {
            for t in 0..3 {
                let mine = Shared::new(vec![s.clone(), Value::Int(t), s.clone()]);
                sc.spawn(move || {
                    let items = mine.into_inner();
                    for i in 0..rounds {
                        let mut out = Vec::new();
                        extend_repeated(&mut out, &items, 1 + i % 4);
                        repeat_in_place(&mut out, 2);
                        assert_eq!(out.len(), 3 * 2 * (1 + i % 4));
                    }
                });
            }
        });
        assert_eq!(refs_to(&s), 0);
        let s2 = Value::str("immortal");
        let Value::Str(r) = &s2 else { unreachable!() };
        Ref::immortalize(r);
        let before = Ref::count(r);
        let mut out = Vec::new();
        extend_repeated(&mut out, std::slice::from_ref(&s2), 5);
        repeat_in_place(&mut out, 3);
        assert_eq!(out.len(), 15);
        assert_eq!(Ref::count(r), before);
        drop(out);
        assert_eq!(Ref::count(r), before);
        IMMORTAL_VALUES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Shared::new(s2));
    });
}

/// Immortal values made by the tests, kept for the rest of the process (as `IMMORTALS`).
static IMMORTAL_VALUES: Mutex<Vec<Shared<Value>>> = Mutex::new(Vec::new());

// ---- What the program's modules leave behind at exit (`gc::garbage_beyond`) ----

/// A tracked object holding references to others, in order.
struct Multi {
    tag: u8,
    items: ObjCell<Vec<Ref<Multi>>>,
}

impl Trace for Multi {
    fn needs_tracking(&self) -> bool {
        true
    }
    fn trace(&self, visit: &mut Visitor<'_>) {
        if let Ok(items) = self.items.try_read() {
            for r in items.iter() {
                visit.visit(r);
            }
        }
    }
    fn clear(&self) {
        let items = self.items.try_lock().map(|mut g| std::mem::take(&mut *g));
        drop(items);
    }
}

fn multi(tag: u8, items: Vec<Ref<Multi>>) -> Ref<Multi> {
    Ref::new(Multi {
        tag,
        items: ObjCell::new(items),
    })
}

/// `root -> [x, y]`, `x -> [z]`, `z -> [root]` (a cycle through the root), `y -> [w]` with `y`
/// also held by the test: garbage is what only the root reaches (x, z); y and w (held from
/// outside) are not, nor is the root. Walking into everything gives x then z (depth first);
/// walking into nothing past the root gives x, then z in the order the search found it; with
/// `y` let go, y and w follow x's branch; with `x` in use, only y and w are garbage. Stopping
/// at the objects' type leaves nothing as garbage. Both memory models; everything is freed after.
#[test]
fn garbage_beyond_roots_in_walk_order() {
    use minivm_vm::heap::gc::{garbage_beyond, Tracked};
    use std::any::TypeId;
    for model in [Model::Gil, Model::FreeThreaded] {
        with_model(model, || {
            let w = multi(b'w', vec![]);
            let y = multi(b'y', vec![w]);
            let z = multi(b'z', vec![]);
            let x = multi(b'x', vec![z.clone()]);
            let root = multi(b'r', vec![x, y.clone()]);
            z.items.lock().push(root.clone());
            drop(z);
            let tags = |g: &[Tracked]| -> Vec<u8> {
                g.iter()
                    .map(|t| t.downcast::<Multi>().map_or(b'?', |m| m.tag))
                    .collect()
            };
            let roots: Vec<Tracked> = Tracked::of(&root).into_iter().collect();
            assert_eq!(roots.len(), 1);
            let all = [TypeId::of::<Multi>()];
            let g = garbage_beyond(&roots, &[], &[], &all);
            assert_eq!(tags(&g), b"xz");
            drop(g);
            let g = garbage_beyond(&roots, &[], &[], &[]);
            assert_eq!(tags(&g), b"xz");
            drop(g);
            assert!(garbage_beyond(&roots, &[], &all, &all).is_empty());
            drop(y);
            let g = garbage_beyond(&roots, &[], &[], &all);
            assert_eq!(tags(&g), b"xzyw");
            drop(g);
            // `x` in use (as a namespace a daemon thread runs in): it and `z` are held.
            let x = root.items.lock()[0].clone();
            let used: Vec<Tracked> = Tracked::of(&x).into_iter().collect();
            drop(x);
            let g = garbage_beyond(&roots, &used, &[], &all);
            assert_eq!(tags(&g), b"yw");
            drop((g, used, roots));
            // Break the cycle through the root and free it all.
            let items = std::mem::take(&mut *root.items.lock());
            drop(items);
            assert_eq!(Ref::count(&root), 1);
            drop(root);
        });
    }
}

// ---- A cache's remembered reference (`heap/stamped.rs`: `StampedRef`) ----

use minivm_vm::heap::StampedRef;
use minivm_vm::interp::{Args, Interp};
use minivm_vm::object::NativeFunction;
use minivm_vm::PyResult;

// `nothing`, `answer` and `value_answer`, shared with the loom models of the same slots.
#[path = "support/stamped.rs"]
mod stamped;
use stamped::{answer, nothing, value_answer};

/// A native function (the kind the slot holds in both models when it may).
fn native(name: &'static str) -> Value {
    Value::Native(Ref::new(NativeFunction::new(name, nothing)))
}

fn native_count(v: &Value) -> usize {
    let Value::Native(r) = v else { unreachable!() };
    Ref::count(r)
}

fn native_addr(v: &Value) -> usize {
    let Value::Native(r) = v else { unreachable!() };
    Ref::as_ptr(r) as usize
}

/// What a slot does in the GIL model: an empty slot answers no stamps; a fill answers exactly
/// its two stamps with a new reference (one count more each time) and owns one count itself; a
/// refill gives the old object's count back; a value of a kind it does not hold (a string, an
/// int) leaves it as it was; `NotImplemented` and `Ellipsis` (no payload) are answered too; the
/// slot's drop gives its count back. Each object's count is checked at every step.
#[test]
fn stamped_ref_answers_its_stamps_and_owns_one_count() {
    with_model(Model::Gil, || {
        let f = native("f");
        let g = native("g");
        let slot = StampedRef::default();
        for (a, b) in [(1, 1), (1, 2), (u64::MAX, 7)] {
            assert!(answer(&slot, a, b).is_none());
        }

        slot.fill(1, 2, &f);
        assert_eq!(native_count(&f), 2);
        for (a, b) in [(2, 1), (1, 3), (2, 2), (0, 0), (0, 2), (1, 0)] {
            assert!(answer(&slot, a, b).is_none(), "stamps {a} {b}");
        }
        let got = answer(&slot, 1, 2).expect("a hit");
        assert!(got.is(&f));
        assert_eq!(native_count(&f), 3);
        let again = answer(&slot, 1, 2).expect("a hit");
        assert_eq!(native_count(&f), 4);
        drop((got, again));
        assert_eq!(native_count(&f), 2);

        // A refill with other stamps: the old object's count given back, the old stamps miss.
        slot.fill(3, 4, &g);
        assert_eq!(native_count(&f), 1);
        assert_eq!(native_count(&g), 2);
        assert!(answer(&slot, 1, 2).is_none());
        assert!(answer(&slot, 3, 4).expect("a hit").is(&g));
        assert_eq!(native_count(&g), 2);
        // The same object again with new stamps: its count stays one for the slot.
        slot.fill(5, 6, &g);
        assert_eq!(native_count(&g), 2);
        assert!(answer(&slot, 3, 4).is_none());
        assert!(answer(&slot, 5, 6).expect("a hit").is(&g));

        // Kinds the slot does not hold leave it as it is.
        let s = Value::str("not held");
        for v in [
            s.clone(),
            Value::Int(5),
            Value::None,
            Value::list(vec![s.clone()]),
        ] {
            slot.fill(7, 8, &v);
            assert!(answer(&slot, 7, 8).is_none());
            assert!(answer(&slot, 5, 6).expect("a hit").is(&g));
        }
        assert_eq!(refs_to(&s), 0);
        assert_eq!(native_count(&g), 2);

        // The values without a payload (address 0).
        slot.fill(9, 10, &Value::NotImplemented);
        assert_eq!(native_count(&g), 1);
        assert!(matches!(answer(&slot, 9, 10), Some(Value::NotImplemented)));
        assert!(answer(&slot, 5, 6).is_none());
        slot.fill(9, 11, &Value::Ellipsis);
        assert!(answer(&slot, 9, 10).is_none());
        assert!(matches!(answer(&slot, 9, 11), Some(Value::Ellipsis)));
        slot.fill(12, 13, &f);
        assert_eq!(native_count(&f), 2);
        assert!(answer(&slot, 12, 13).expect("a hit").is(&f));

        // Dropping the slot gives its count back; an empty slot's drop gives nothing.
        drop(slot);
        assert_eq!(native_count(&f), 1);
        assert_eq!(native_count(&g), 1);
        drop(StampedRef::default());
        let empty_after_payloadless = StampedRef::default();
        empty_after_payloadless.fill(1, 1, &Value::Ellipsis);
        drop(empty_after_payloadless);
    });
}

/// Free-threaded, the slot holds only immortal objects (counts never changed) and readers may
/// run beside a refill: a mortal function is not remembered; an immortal one is, its count left
/// alone by fills, hits and drops; two threads reading while a third refills the slot with two
/// immortal functions in turn each get, on a hit, the function filled with the stamps they
/// asked for, never the other one.
#[test]
fn stamped_ref_read_while_refilled_free_threaded() {
    with_model(Model::FreeThreaded, || {
        let mortal = native("mortal");
        let slot = StampedRef::default();
        slot.fill(1, 1, &mortal);
        assert!(answer(&slot, 1, 1).is_none());
        assert_eq!(native_count(&mortal), 1);

        let f = native("f");
        let g = native("g");
        for v in [&f, &g] {
            let Value::Native(r) = v else { unreachable!() };
            Ref::immortalize(r);
        }
        let (fc, gc_) = (native_count(&f), native_count(&g));
        let (fa, ga) = (native_addr(&f), native_addr(&g));
        slot.fill(1, 1, &f);
        assert!(answer(&slot, 1, 1).expect("a hit").is(&f));
        assert_eq!(native_count(&f), fc);

        let rounds = if cfg!(miri) { 6 } else { 2000 };
        let f_shared = Shared::new(f.clone());
        let g_shared = Shared::new(g.clone());
        std::thread::scope(|sc| {
            let slot = &slot;
            for _ in 0..2 {
                sc.spawn(move || {
                    let mut hits = 0;
                    for i in 0..rounds * 2 {
                        let (stamp, want) = if i % 2 == 0 { (1, fa) } else { (2, ga) };
                        if let Some(v) = answer(slot, stamp, stamp) {
                            assert_eq!(native_addr(&v), want, "stamps {stamp} answered another");
                            hits += 1;
                        }
                    }
                    hits
                });
            }
            sc.spawn(move || {
                let (f, g) = (f_shared.into_inner(), g_shared.into_inner());
                for _ in 0..rounds {
                    slot.fill(2, 2, &g);
                    slot.fill(1, 1, &f);
                }
            });
        });
        assert_eq!(native_count(&f), fc);
        assert_eq!(native_count(&g), gc_);
        drop(slot);
        assert_eq!(native_count(&f), fc);
        let mut kept = IMMORTAL_VALUES.lock().unwrap_or_else(|e| e.into_inner());
        kept.push(Shared::new(f));
        kept.push(Shared::new(g));
    });
}

// ---- A globals value slot (`heap/stamped.rs`: `StampedValue`) ----

use minivm_vm::heap::StampedValue;

/// GIL model: the slot answers exactly the stamps of its last fill with the value filled, its
/// words rebuilt whole (ints, floats with their bits, bools, None, Ellipsis, NotImplemented,
/// heap objects of any kind); it owns no count (a fill leaves the object's count alone, a hit
/// adds the clone's one, dropping the slot gives nothing back); `Undefined` leaves it as it was.
#[test]
fn stamped_value_answers_its_stamps_and_owns_no_count() {
    with_model(Model::Gil, || {
        let slot = StampedValue::default();
        for (a, b) in [(1, 1), (1, 2), (u64::MAX, 7)] {
            assert!(value_answer(&slot, a, b).is_none());
        }
        let inline = [
            Value::Int(5),
            Value::Int(-1),
            Value::Int(i64::MIN),
            Value::Float(-0.5),
            Value::Float(f64::NAN),
            Value::Bool(true),
            Value::Bool(false),
            Value::None,
            Value::Ellipsis,
            Value::NotImplemented,
        ];
        for (i, v) in inline.iter().enumerate() {
            let a = 2 * i as u64 + 1;
            slot.fill(a, a + 1, v);
            for (x, y) in [(a + 1, a), (a, a + 2), (a, 0), (0, a + 1)] {
                assert!(value_answer(&slot, x, y).is_none(), "stamps {x} {y}");
            }
            let got = value_answer(&slot, a, a + 1).expect("a hit");
            let same = match (v, &got) {
                (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
                (Value::Int(x), Value::Int(y)) => x == y,
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::None, Value::None)
                | (Value::Ellipsis, Value::Ellipsis)
                | (Value::NotImplemented, Value::NotImplemented) => true,
                _ => false,
            };
            assert!(same, "{v:?} came back as {got:?}");
        }

        let f = native("f");
        slot.fill(100, 101, &f);
        assert_eq!(native_count(&f), 1);
        let got = value_answer(&slot, 100, 101).expect("a hit");
        assert!(got.is(&f));
        assert_eq!(native_count(&f), 2);
        drop(got);
        assert_eq!(native_count(&f), 1);

        let s = Value::str("kept");
        let l = Value::list(vec![s.clone()]);
        slot.fill(102, 103, &l);
        assert!(value_answer(&slot, 102, 103).expect("a hit").is(&l));
        assert!(value_answer(&slot, 100, 101).is_none());
        slot.fill(104, 105, &Value::Undefined);
        assert!(value_answer(&slot, 104, 105).is_none());
        assert!(value_answer(&slot, 102, 103).expect("a hit").is(&l));
        // (The slot has no `Drop`: it owns nothing to give back.)
        assert_eq!(native_count(&f), 1);
        drop(l);
        assert_eq!(refs_to(&s), 0);
    });
}

/// `due`: a slot is refilled at its first miss, then after 1, 3, 7... and at most 63 misses
/// skipped.
#[test]
fn stamped_value_due_backs_off() {
    let slot = StampedValue::default();
    let mut skipped = Vec::new();
    for _ in 0..8 {
        let mut n = 0;
        while !slot.due() {
            n += 1;
        }
        skipped.push(n);
    }
    assert_eq!(skipped, [0, 1, 3, 7, 15, 31, 63, 63]);
}

/// Free-threaded: a mortal object is not kept (it could be freed beside a reader); an immortal
/// one and inline values are, counts untouched; two readers beside a thread refilling the slot
/// with an immortal function and an int in turn only ever get the value of the stamps they
/// asked for.
#[test]
fn stamped_value_read_while_refilled_free_threaded() {
    with_model(Model::FreeThreaded, || {
        let mortal = native("mortal");
        let slot = StampedValue::default();
        slot.fill(1, 1, &mortal);
        assert!(value_answer(&slot, 1, 1).is_none());
        assert_eq!(native_count(&mortal), 1);

        let f = native("f");
        let Value::Native(r) = &f else { unreachable!() };
        Ref::immortalize(r);
        let fc = native_count(&f);
        let fa = native_addr(&f);
        slot.fill(1, 1, &f);
        assert!(value_answer(&slot, 1, 1).expect("a hit").is(&f));
        assert_eq!(native_count(&f), fc);

        let rounds = if cfg!(miri) { 6 } else { 2000 };
        let f_shared = Shared::new(f.clone());
        std::thread::scope(|sc| {
            let slot = &slot;
            for _ in 0..2 {
                sc.spawn(move || {
                    for i in 0..rounds * 2 {
                        let stamp = 1 + (i % 2) as u64;
                        match value_answer(slot, stamp, stamp) {
                            None => {}
                            Some(Value::Int(n)) => assert_eq!((stamp, n), (2, 42)),
                            Some(v) => assert_eq!((stamp, native_addr(&v)), (1, fa)),
                        }
                    }
                });
            }
            sc.spawn(move || {
                let f = f_shared.into_inner();
                for _ in 0..rounds {
                    slot.fill(2, 2, &Value::Int(42));
                    slot.fill(1, 1, &f);
                }
            });
        });
        assert_eq!(native_count(&f), fc);
        let mut kept = IMMORTAL_VALUES.lock().unwrap_or_else(|e| e.into_inner());
        kept.push(Shared::new(f));
    });
}
