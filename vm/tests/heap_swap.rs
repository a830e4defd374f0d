//! Tests of `heap::SwapRef`, the field behind `obj.__class__ = Other`: a reader that borrowed the
//! class (`&Class`) keeps a valid object however the field is replaced meanwhile, in the GIL
//! model and in the free-threaded one, where the replacement is made with the world stopped
//! (`Gil::stop_the_world`, as `interp/classdef.rs: set_instance_class` makes it). Small enough
//! for Miri (`scripts/miri.sh` runs this file beside `heap.rs`), which checks the `unsafe` of
//! `SwapRef` for undefined behaviour (the borrow models) and the free-threaded test for data
//! races between the replacing store and the readers' plain loads.
//!
//! A binary of its own, apart from `heap.rs`, for the same reason that one is: the memory model
//! is process-wide.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use minivm_vm::gil::{Gil, GilMode};
use minivm_vm::heap::{Model, Ref, Shared, SwapRef, Trace};

mod support;
use support::with_model;

/// A stand-in for a class: a name, and a count of its drops (a replaced class must never be
/// freed, since readers may still hold it).
struct Class {
    name: usize,
    drops: Arc<AtomicUsize>,
}

impl Trace for Class {}

impl Drop for Class {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn class(name: usize, drops: &Arc<AtomicUsize>) -> Ref<Class> {
    Ref::new(Class {
        name,
        drops: drops.clone(),
    })
}

/// Replaced classes keep the count their field held (`SwapRef::replace` leaks it, as the VM's
/// classes live as long as the process): kept where a static reaches them, which Miri does not
/// count as a leak.
static REPLACED: Mutex<Vec<Shared<Ref<Class>>>> = Mutex::new(Vec::new());

fn keep(c: Ref<Class>) {
    REPLACED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Shared::new(c));
}

/// GIL model (and `--gil old`: the same model): code holding a class borrowed from an instance
/// (`&Class`, as a lookup that runs a descriptor does) across Python code that assigns
/// `__class__` keeps reading the old class, whole; the field then gives the new one. Made
/// through `Gil::stop_the_world`, which with the GIL on only runs the replacement.
#[test]
fn a_borrowed_class_outlives_its_replacement_in_the_gil_model() {
    with_model(Model::Gil, || {
        let drops = Arc::new(AtomicUsize::new(0));
        let gil = Gil::new(GilMode::On, Duration::from_millis(5));
        let breaker = AtomicBool::new(false);
        let (a, b, c) = (class(1, &drops), class(2, &drops), class(3, &drops));
        let field = SwapRef::new(a.clone());
        let borrowed: &Class = &field;
        assert_eq!(borrowed.name, 1);
        gil.stop_the_world(&breaker, || field.replace(b.clone()));
        // The old class, through the earlier borrow; the new one, through the field.
        assert_eq!(borrowed.name, 1);
        assert_eq!(field.name, 2);
        // A `&Ref<Class>` (to clone or pass on) is a copy of the field's pointer (`get`), not a
        // reference into the field, which the store would invalidate: Miri reports a `&Ref`
        // into memory written while it lives, and the more so while a function holds it as an
        // argument, as `across` does here.
        let held = field.get();
        assert_eq!(across(&held, &field, c.clone()), (2, 3));
        assert_eq!((borrowed.name, held.name, field.name), (1, 2, 3));
        assert!(Ref::ptr_eq(&held, &b));
        // Each replaced class keeps the count the field held; the current one's is given
        // back when the field goes.
        assert_eq!((Ref::count(&a), Ref::count(&b), Ref::count(&c)), (2, 2, 2));
        let now: Ref<Class> = field.get().clone();
        assert!(Ref::ptr_eq(&now, &c));
        drop(now);
        drop(field);
        assert_eq!(Ref::count(&c), 1);
        drop(c);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        keep(a);
        keep(b);
    });
}

/// A function given the class as `&Ref` that runs code assigning `__class__` (as
/// `Interp::instantiate(&inst.class.get(), ..)` runs `__init__`): its argument stays the class it
/// was given.
#[inline(never)]
fn across(cls: &Ref<Class>, field: &SwapRef<Class>, new: Ref<Class>) -> (usize, usize) {
    field.replace(new);
    (cls.name, field.name)
}

/// Free-threaded (`--gil off`): reader threads attached to a real `Gil` read the field with
/// plain loads and hold the class they borrowed across their check points, where a thread
/// stopping the world parks them; the writer replaces the field with the world stopped, as
/// `set_instance_class` does. No reader sees a torn or freed class, each sees the names in the
/// order they were stored, and under Miri the world's lock orders every store before the
/// reads that follow it (no data race between the atomic store and the plain loads).
#[test]
fn free_threaded_replacement_with_the_world_stopped() {
    with_model(Model::FreeThreaded, || {
        let drops = Arc::new(AtomicUsize::new(0));
        let gil = Gil::new(GilMode::Off, Duration::from_millis(5));
        let breaker = AtomicBool::new(false);
        let replacements = if cfg!(miri) { 3 } else { 200 };
        let rounds = if cfg!(miri) { 6 } else { 2000 };
        let classes: Vec<Ref<Class>> = (0..=replacements).map(|n| class(n, &drops)).collect();
        let field = Shared::new(SwapRef::new(classes[0].clone()));
        let next = classes[1..].to_vec();
        let readers = 2;
        let seen = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for id in 1..=readers {
                let (gil, breaker, field, seen) = (&gil, &breaker, &field, &seen);
                s.spawn(move || {
                    gil.acquire(id, breaker);
                    let mut names = Vec::new();
                    for _ in 0..rounds {
                        let borrowed: &Class = field;
                        let name = borrowed.name;
                        // A check point: park while another thread stops the world.
                        if gil.drop_requested() {
                            gil.release();
                            gil.acquire(id, breaker);
                        }
                        assert_eq!(borrowed.name, name);
                        names.push(name);
                        std::thread::yield_now();
                    }
                    gil.release();
                    seen.lock().unwrap_or_else(|e| e.into_inner()).push(names);
                });
            }
            let me = readers + 1;
            gil.acquire(me, &breaker);
            for new in next {
                gil.stop_the_world(&breaker, || field.replace(new));
                std::thread::yield_now();
            }
            gil.release();
        });
        assert_eq!(field.name, replacements);
        for names in seen.into_inner().unwrap_or_else(|e| e.into_inner()) {
            assert_eq!(names.len(), rounds);
            assert!(names.windows(2).all(|w| w[0] <= w[1]), "{names:?}");
        }
        // Every replaced class kept the field's count and nothing was freed.
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        let mut classes = classes;
        let last = classes.pop();
        for c in classes {
            assert_eq!(Ref::count(&c), 2);
            keep(c);
        }
        drop(field.into_inner());
        if let Some(last) = last {
            assert_eq!(Ref::count(&last), 1);
            drop(last);
        }
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}
