//! Model checks of the reference-counting protocol with loom, which runs each test under every
//! interleaving of its threads (and every outcome the memory model allows for their atomics).
//! Built only with `--cfg loom`: run `scripts/loom.sh`.
//!
//! * Free-threaded model: counts changed by two threads at once with `fetch_add`/`fetch_sub`;
//!   the object is freed exactly once, and the thread that frees it sees what the other wrote
//!   into it before letting go (the release decrement and acquire load of `Header::decref`).
//! * GIL model: plain load-and-store counts, with a mutex standing for the GIL; exact counts.
//! * Free-threaded immortalization (`Ref::immortalize`) racing with counting: added once, never
//!   freed.
//! * And the reason for the GIL: the same plain counts *without* it lose updates, which loom
//!   finds (a test that expects that failure).
//! * The seqlock of the cached-answer slots (`stamped.rs`), and what an object cell publishes
//!   to readers that take no lock (`Publish`: an instance table's layout, read by method
//!   calls). `MINIVM_LOOM_BREAK` leaves out one step of either protocol (`heap::broken`), so
//!   that the models can be seen to fail.

use loom::cell::UnsafeCell;
use loom::sync::atomic::AtomicUsize;
use loom::sync::{Arc, Mutex};
use loom::thread;
use std::sync::atomic::Ordering;

use super::*;

/// Counts its drops, and carries a field written by one thread and read by the one that frees it.
struct Probe {
    drops: Arc<AtomicUsize>,
    data: UnsafeCell<usize>,
}

impl Trace for Probe {}

impl Drop for Probe {
    fn drop(&mut self) {
        // Reading `data` here races with a write made before another thread's last decrement,
        // unless the decrement/acquire protocol orders them: loom reports such a race.
        self.data.with(|d| {
            // SAFETY: the object is being freed, so this is the only access left.
            let _ = unsafe { *d };
        });
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn probe(drops: &Arc<AtomicUsize>) -> Ref<Probe> {
    Ref::new(Probe {
        drops: drops.clone(),
        data: UnsafeCell::new(0),
    })
}

#[test]
fn free_threaded_counts_free_once_and_publish_writes() {
    loom::model(|| {
        set_model(Model::FreeThreaded);
        let drops = Arc::new(AtomicUsize::new(0));
        let obj = probe(&drops);
        let theirs = Shared::new(obj.clone());
        let t = thread::spawn(move || {
            let r = theirs.into_inner();
            // SAFETY (test): free-threaded objects are written under their own lock in minivm;
            // here this thread is the only writer, and the main thread only reads after both
            // references are gone.
            r.data.with_mut(|d| unsafe { *d = 1 });
            let again = r.clone();
            drop(r);
            drop(again);
        });
        drop(obj);
        t.join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        set_model(Model::Gil);
    });
}

/// Free-threaded model: both threads make the object immortal while counting it: the immortal
/// bit is added exactly once, no count is lost, and it is never freed (the test frees it).
#[test]
fn free_threaded_immortalize_races_with_counting() {
    loom::model(|| {
        set_model(Model::FreeThreaded);
        let drops = Arc::new(AtomicUsize::new(0));
        let obj = probe(&drops);
        let theirs = Shared::new(obj.clone());
        let t = thread::spawn(move || {
            let r = theirs.into_inner();
            let again = r.clone();
            Ref::immortalize(&again);
            drop(r);
            drop(again);
        });
        Ref::immortalize(&obj);
        drop(obj.clone());
        t.join().unwrap();
        assert!(Ref::is_immortal(&obj));
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        Ref::free_immortal(obj);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        set_model(Model::Gil);
    });
}

#[test]
fn gil_model_counts_are_exact_under_the_gil() {
    loom::model(|| {
        set_model(Model::Gil);
        let gil = Arc::new(Mutex::new(()));
        let drops = Arc::new(AtomicUsize::new(0));
        let obj = probe(&drops);
        let theirs = Shared::new(obj.clone());
        let gil2 = gil.clone();
        let t = thread::spawn(move || {
            let _held = gil2.lock().unwrap();
            let r = theirs.into_inner();
            let again = r.clone();
            drop(again);
            drop(r);
        });
        {
            let _held = gil.lock().unwrap();
            let mine = obj.clone();
            drop(mine);
        }
        t.join().unwrap();
        let _held = gil.lock().unwrap();
        assert_eq!(Ref::count(&obj), 1);
        drop(obj);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

/// Plain counts changed by two threads without the GIL: loom finds the interleaving where both
/// read the same count and one increment is lost. (The clones are leaked so the failure is a
/// wrong count, not a double free.)
#[test]
#[should_panic(expected = "lost update")]
fn gil_model_counts_without_the_gil_lose_updates() {
    loom::model(|| {
        set_model(Model::Gil);
        let drops = Arc::new(AtomicUsize::new(0));
        let obj = probe(&drops);
        let theirs = Shared::new(obj.clone());
        let t = thread::spawn(move || {
            let r = theirs.into_inner();
            std::mem::forget(r.clone());
            std::mem::forget(r);
        });
        std::mem::forget(obj.clone());
        t.join().unwrap();
        // One reference here, two leaked by the thread (its own and its clone), one leaked here.
        assert!(
            Ref::count(&obj) == 4,
            "lost update: count is {}",
            Ref::count(&obj)
        );
        std::mem::forget(obj);
    });
}

// ---- A cache's remembered reference (`stamped.rs`: `StampedRef`, the type itself, built on
// loom's atomics under `--cfg loom`) ----

use crate::interp::{Args, Interp};
use crate::object::NativeFunction;
use crate::value::Value;
use crate::PyResult;

// `nothing`, `answer` and `value_answer`, shared with the integration tests of the same slots
// (`vm/tests/heap.rs`).
#[path = "../../tests/support/stamped.rs"]
mod stamped;
use stamped::{answer, nothing, value_answer};

/// A native function, and its address (what a reader checks an answer against).
fn native(name: &'static str) -> (Value, usize) {
    let r = Ref::new(NativeFunction::new(name, nothing));
    let addr = Ref::as_ptr(&r) as usize;
    (Value::Native(r), addr)
}

fn native_ref(v: &Value) -> &Ref<NativeFunction> {
    let Value::Native(r) = v else {
        unreachable!("the models only fill native functions")
    };
    r
}

/// [`answer`] as the address of the native function pushed (`None` for a miss).
fn answer_addr(slot: &StampedRef, a: u64, b: u64) -> Option<usize> {
    answer(slot, a, b).map(|v| Ref::as_ptr(native_ref(&v)) as usize)
}

/// The address of the native function `slot.lend_if(a, b)` lends (`None` for a miss).
fn lent_addr(slot: &StampedRef, a: u64, b: u64) -> Option<usize> {
    slot.lend_if(a, b)
        .map(|v| Ref::as_ptr(native_ref(&v)) as usize)
}

/// Free-threaded: two immortal native functions `f` and `g`, and their addresses.
fn immortal_natives() -> ((Value, usize), (Value, usize)) {
    set_model(Model::FreeThreaded);
    let (f, g) = (native("f"), native("g"));
    Ref::immortalize(native_ref(&f.0));
    Ref::immortalize(native_ref(&g.0));
    (f, g)
}

/// Free the functions of [`immortal_natives`] (the model has dropped every other reference)
/// and go back to the GIL model.
fn free_natives(natives: impl IntoIterator<Item = Value>) {
    for v in natives {
        let Value::Native(r) = v else { unreachable!() };
        Ref::free_immortal(r);
    }
    set_model(Model::Gil);
}

/// The slot models run two to four threads: every interleaving with up to two preemptions
/// (`LOOM_MAX_PREEMPTIONS` sets another bound), so that they end in minutes.
fn bounded() -> loom::model::Builder {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder
}

/// Free-threaded: a reader beside a writer that refills the slot (stamps 1,1 -> `f`, then
/// 2,2 -> `g`, then 1,1 -> `f` again). In every interleaving (and every value loom lets each
/// relaxed load of the three words read), the reader asking for stamps 1,1 gets `f` or a miss
/// and for 2,2 `g` or a miss, never the other function nor a torn word; the slot ends holding
/// `f` for 1,1, and the immortal objects' counts are what they were (hits and refills leave
/// them alone). The reader's first load pushes a clone (`push_if`, a cached builtin) and its
/// second borrows the object (`lend_if`, a class's method slot): both are the one reader of
/// the slot's sequence number (`SeqSlot::read`).
///
/// One reader per run, each order of its two loads (1,1 then 2,2, and the reverse) in a run of
/// its own, the main thread writing: a reader writes nothing shared (its loads are loads, and
/// the count it adds to an immortal object is a load too), so a second reader beside it adds
/// interleavings but no behaviour. Both runs: 506 s (bound 2, load average 13 to 17); two
/// readers and a writer thread in one run had not ended in 7 minutes.
#[test]
fn stamped_ref_a_reader_beside_a_refill_free_threaded() {
    for order in [[1, 2], [2, 1]] {
        bounded().check(move || {
            let ((f, fa), (g, ga)) = immortal_natives();
            let (fc, gc_) = (Ref::count(native_ref(&f)), Ref::count(native_ref(&g)));
            let slot = Arc::new(StampedRef::default());
            slot.fill(1, 1, &f);

            let reader = {
                let slot = slot.clone();
                thread::spawn(move || {
                    for (k, stamp) in order.into_iter().enumerate() {
                        let want = if stamp == 1 { fa } else { ga };
                        let got = if k == 0 {
                            answer_addr(&slot, stamp, stamp)
                        } else {
                            lent_addr(&slot, stamp, stamp)
                        };
                        if let Some(got) = got {
                            assert_eq!(got, want, "stamps {stamp} answered another object");
                        }
                    }
                })
            };
            slot.fill(2, 2, &g);
            slot.fill(1, 1, &f);
            reader.join().unwrap();

            assert_eq!(answer_addr(&slot, 1, 1), Some(fa));
            assert_eq!(answer_addr(&slot, 2, 2), None);
            assert_eq!(Ref::count(native_ref(&f)), fc);
            assert_eq!(Ref::count(native_ref(&g)), gc_);
            drop(slot);
            assert_eq!(Ref::count(native_ref(&f)), fc);
            free_natives([f, g]);
        });
    }
}

/// Free-threaded: two writers fill the slot at once (1,1 -> `f`, 2,2 -> `g`) beside a reader.
/// A fill that finds another running gives up; whichever order they run in, the slot ends
/// answering exactly one of the two fills (its stamps and its object, never one's stamps with
/// the other's object), and the reader only ever got the object of the stamps it asked for.
#[test]
fn stamped_ref_two_fills_at_once_free_threaded() {
    let builder = bounded();
    builder.check(|| {
        let ((f, fa), (g, ga)) = immortal_natives();
        let slot = Arc::new(StampedRef::default());

        let reader = {
            let slot = slot.clone();
            thread::spawn(move || {
                for (stamp, want) in [(1, fa), (2, ga)] {
                    if let Some(got) = answer_addr(&slot, stamp, stamp) {
                        assert_eq!(got, want, "stamps {stamp} answered another object");
                    }
                }
            })
        };
        let theirs = Shared::new(g.clone());
        let writer = {
            let slot = slot.clone();
            thread::spawn(move || slot.fill(2, 2, &theirs.into_inner()))
        };
        slot.fill(1, 1, &f);
        reader.join().unwrap();
        writer.join().unwrap();

        let held = (answer_addr(&slot, 1, 1), answer_addr(&slot, 2, 2));
        assert!(
            held == (Some(fa), None) || held == (None, Some(ga)),
            "the slot answers {held:?}"
        );
        drop(slot);
        free_natives([f, g]);
    });
}

/// GIL model (a mutex standing for the GIL): the slot holds mortal objects and owns one count
/// of the one it holds. Two readers and a refilling writer, each step with the GIL held: every
/// hit is the object of its stamps and one count more until dropped, and once every thread is
/// done and the slot dropped, each object's count is back to 1 (its own reference) in every
/// order the threads take the GIL in.
#[test]
fn stamped_ref_gil_model_counts_balance() {
    loom::model(|| {
        set_model(Model::Gil);
        let gil = Arc::new(Mutex::new(()));
        let (f, fa) = native("f");
        let (g, ga) = native("g");
        let slot = Arc::new(StampedRef::default());
        slot.fill(1, 1, &f);
        // The writer's references, counted before any thread starts: a count changed here
        // after the readers start would be changed without the GIL (loom finds the lost
        // update).
        let theirs = Shared::new((f.clone(), g.clone()));

        let readers: Vec<_> = [(1, fa, f.clone()), (2, ga, g.clone())]
            .into_iter()
            .map(|(stamp, want, obj)| {
                let (slot, gil, obj) = (slot.clone(), gil.clone(), Shared::new(obj));
                thread::spawn(move || {
                    let obj = obj.into_inner();
                    let _held = gil.lock().unwrap();
                    let before = Ref::count(native_ref(&obj));
                    let mut stack = Vec::new();
                    if slot.push_if(stamp, stamp, &mut stack) {
                        let v = stack.pop().expect("a hit pushes its value");
                        assert_eq!(Ref::as_ptr(native_ref(&v)) as usize, want);
                        // The hit's own count, given back when it is dropped.
                        assert_eq!(Ref::count(native_ref(&v)), before + 1);
                        drop(v);
                        assert_eq!(Ref::count(native_ref(&obj)), before);
                    }
                    drop(obj);
                })
            })
            .collect();
        let writer = {
            let (slot, gil) = (slot.clone(), gil.clone());
            thread::spawn(move || {
                let (f, g) = theirs.into_inner();
                {
                    let _held = gil.lock().unwrap();
                    slot.fill(2, 2, &g);
                }
                let _held = gil.lock().unwrap();
                slot.fill(1, 1, &f);
                drop((f, g));
            })
        };
        for t in readers {
            t.join().unwrap();
        }
        writer.join().unwrap();

        let _held = gil.lock().unwrap();
        assert_eq!(Ref::count(native_ref(&f)), 2);
        assert_eq!(Ref::count(native_ref(&g)), 1);
        drop(slot);
        assert_eq!(Ref::count(native_ref(&f)), 1);
        assert_eq!(Ref::count(native_ref(&g)), 1);
    });
}

// ---- A globals value slot (`stamped.rs`: `StampedValue`, also built on loom's atomics) ----

/// A value as the models compare it: a native function by its address, an int by its value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Seen {
    Native(usize),
    Int(i64),
}

fn seen(v: &Value) -> Seen {
    match v {
        Value::Native(r) => Seen::Native(Ref::as_ptr(r) as usize),
        Value::Int(n) => Seen::Int(*n),
        _ => unreachable!("the models only fill native functions and ints"),
    }
}

/// Free-threaded: a reader beside a writer that refills the slot (stamps 1,1 -> an immortal
/// native function `f`, then 2,2 -> the int 42, then 1,1 -> `f` again), the slot's words
/// taking every value loom lets each relaxed load read. A reader asking for 1,1 gets `f` or a
/// miss and one asking for 2,2 gets 42 or a miss, never the other value nor a torn one (`f`'s
/// tag with 42's bits, or the reverse); the slot ends answering `f` for 1,1; `f`'s count is
/// what it was (the slot owns no count, and an immortal object's is never changed). One reader
/// per run, asking for 1,1 in one run and 2,2 in the other, the main thread writing: as in the
/// `StampedRef` model above, a reader writes nothing shared, so a second one beside it adds
/// only interleavings. Both runs: 4.5 s (bound 2, load average 13); two readers and a writer
/// thread in one run took 25 minutes.
#[test]
fn stamped_value_a_reader_beside_a_refill_free_threaded() {
    for stamp in [1, 2] {
        bounded().check(move || {
            let ((f, fa), (g, _)) = immortal_natives();
            let fc = Ref::count(native_ref(&f));
            let (one, two) = (Seen::Native(fa), Seen::Int(42));
            let slot = Arc::new(StampedValue::default());
            slot.fill(1, 1, &f);

            let reader = {
                let slot = slot.clone();
                let want = if stamp == 1 { one } else { two };
                thread::spawn(move || {
                    if let Some(got) = value_answer(&slot, stamp, stamp) {
                        assert_eq!(seen(&got), want, "stamps {stamp} answered another value");
                    }
                })
            };
            slot.fill(2, 2, &Value::Int(42));
            slot.fill(1, 1, &f);
            reader.join().unwrap();

            assert_eq!(value_answer(&slot, 1, 1).map(|v| seen(&v)), Some(one));
            assert!(value_answer(&slot, 2, 2).is_none());
            assert_eq!(Ref::count(native_ref(&f)), fc);
            drop(slot);
            free_natives([f, g]);
        });
    }
}

/// GIL model (a mutex standing for the GIL, guarding a dict's stamp): the slot keeps mortal
/// objects, owns no count of them and is filled without its sequence number. Two readers each
/// load the name twice as `LoadGlobal` does (the slot's answer for the dict's stamp, or on a
/// miss the dict's value, filled into the slot with that stamp) beside a writer that rebinds
/// the name twice (stamp 1 -> `f`, 2 -> `g`, 3 -> `f`), each step with the GIL held: in every
/// order the threads take the GIL in, a hit is the value the dict holds at that moment, with
/// one count more until dropped, and a fill leaves the count alone. Bounded as the
/// free-threaded models (`bounded`): 1.1 s with 2 preemptions, 16 s with 3, 85 s with 4
/// (`LOOM_MAX_PREEMPTIONS`); unbounded it had not ended after 20 minutes (load 19).
#[test]
fn stamped_value_gil_model_readers_beside_a_rebinding() {
    let builder = bounded();
    builder.check(|| {
        set_model(Model::Gil);
        // The dict's stamp; its value is `g` at stamp 2 and `f` otherwise.
        let gil = Arc::new(Mutex::new(1u64));
        let (f, fa) = native("f");
        let (g, ga) = native("g");
        let slot = Arc::new(StampedValue::default());
        slot.fill(1, 1, &f);

        // The readers' references, all counted before the first thread starts: a count
        // changed here once one runs would be changed without the GIL (loom finds the lost
        // update, as it did when each reader's were made just before its spawn).
        let theirs: Vec<_> = (0..2)
            .map(|_| Shared::new((f.clone(), g.clone())))
            .collect();
        let readers: Vec<_> = theirs
            .into_iter()
            .map(|theirs| {
                let (slot, gil) = (slot.clone(), gil.clone());
                thread::spawn(move || {
                    let (f, g) = theirs.into_inner();
                    for _ in 0..2 {
                        let stamp = gil.lock().unwrap();
                        let (held, want) = if *stamp == 2 { (&g, ga) } else { (&f, fa) };
                        let before = Ref::count(native_ref(held));
                        match value_answer(&slot, *stamp, *stamp) {
                            Some(v) => {
                                assert_eq!(seen(&v), Seen::Native(want), "stamp {}", *stamp);
                                assert_eq!(Ref::count(native_ref(&v)), before + 1);
                                drop(v);
                            }
                            None => slot.fill(*stamp, *stamp, held),
                        }
                        assert_eq!(Ref::count(native_ref(held)), before);
                    }
                    let _held = gil.lock().unwrap();
                    drop((f, g));
                })
            })
            .collect();
        let writer = {
            let gil = gil.clone();
            thread::spawn(move || {
                for next in [2, 3] {
                    *gil.lock().unwrap() = next;
                }
            })
        };
        for t in readers {
            t.join().unwrap();
        }
        writer.join().unwrap();

        let stamp = gil.lock().unwrap();
        assert_eq!(*stamp, 3);
        if let Some(v) = value_answer(&slot, 3, 3) {
            assert_eq!(seen(&v), Seen::Native(fa));
        }
        assert_eq!(Ref::count(native_ref(&f)), 1);
        assert_eq!(Ref::count(native_ref(&g)), 1);
        drop(slot);
        assert_eq!(Ref::count(native_ref(&f)), 1);
    });
}

// ---- What a cell publishes (`Publish`; an instance table's layout, `ShownLayout`) ----

/// Free-threaded: two threads each add an attribute to one instance table (`InstCell`, the
/// real cell and table, its lock loom's: `heap::loom_lock`), whose layout method calls read
/// without the lock (`interp/attr.rs: method_shadowed_in`; that the layout read is whole is the
/// next model's). Once both holds have ended, the published layout is the table's own: each hold publishes
/// before its unlock, so the lock orders the two publishes as it orders the changes. With
/// `MINIVM_LOOM_BREAK=late-publish` (a hold publishes after its unlock) loom finds the order
/// where the first writer's publish lands after the second's, leaving the table's earlier
/// layout shown for good: a method call would then miss an attribute that hides the method.
#[test]
fn a_cell_publishes_what_its_last_hold_left_free_threaded() {
    use crate::object::InstCell;
    bounded().check(|| {
        set_model(Model::FreeThreaded);
        let cell = Arc::new(Shared::new(InstCell::new_published(Default::default())));
        let writers: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|name| {
                let cell = cell.clone();
                thread::spawn(move || {
                    let name: std::sync::Arc<str> = crate::object::intern_name(name);
                    drop(cell.lock().insert(name, Value::Int(1)));
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let table = cell.lock();
        assert_eq!(table.len(), 2);
        assert_eq!(
            cell.published().get().id(),
            table.layout_id(),
            "the shown layout is not the table's once every hold has ended"
        );
        drop(table);
        set_model(Model::Gil);
    });
}

/// What an instance table publishes is a reference to a layout another thread may have just
/// made (`AtomicStatic`, a store with release ordering and a load with acquire): a reader that
/// loads it sees the referent as it was made. Here the referent's word is written by the
/// publishing thread just before the store and read by the reader through loom's cell, which
/// reports a read not ordered after the write. With `MINIVM_LOOM_BREAK=publish-order` (both
/// relaxed) loom reports that race.
#[test]
fn a_published_referent_is_seen_whole() {
    struct Node {
        word: UnsafeCell<usize>,
    }
    // SAFETY (test): the word is written once, by the thread that made the node, before the
    // node is published; every other access is a read after the load that found it, which is
    // what loom checks.
    unsafe impl Sync for Node {}

    loom::model(|| {
        let first: &'static Node = Box::leak(Box::new(Node {
            word: UnsafeCell::new(1),
        }));
        let shown = Arc::new(Shared::new(AtomicStatic::new(first)));
        let writer = {
            let shown = shown.clone();
            thread::spawn(move || {
                let node: &'static Node = Box::leak(Box::new(Node {
                    word: UnsafeCell::new(0),
                }));
                // SAFETY (test): the node is not published yet: no other access exists.
                node.word.with_mut(|w| unsafe { *w = 2 });
                shown.store(node);
                node
            })
        };
        let seen = shown.load();
        // SAFETY (test): a read of a published node (see `Node`'s `Sync`).
        let word = seen.word.with(|w| unsafe { *w });
        assert!(word == 1 || word == 2, "a node read half made: {word}");
        let second = writer.join().unwrap();
        drop(shown);
        for node in [first, second] {
            // SAFETY (test): both nodes came from `Box::leak` above, and nothing refers to them
            // any more (the publishing word is dropped, the threads have ended): each is
            // freed once, so that its loom cell does not outlive the model's run.
            drop(unsafe { Box::from_raw(std::ptr::from_ref(node).cast_mut()) });
        }
    });
}
