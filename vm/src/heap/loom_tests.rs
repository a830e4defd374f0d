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
