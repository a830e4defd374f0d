//! Weak references (stage 4, the heap): a [`Weak<T>`] reaches an object without keeping it
//! alive, as CPython's `PyWeakReference`; [`Weak::upgrade`] gives a counted [`Ref`] while the
//! object lives and `None` once it has died.
//!
//! An object type that can be weakly referenced holds a [`WeakAnchor`] among its fields and
//! says where through [`WeakTarget`]. The anchor is empty (a null pointer) until the first weak
//! reference is made; then it owns a shared [`Slot`] holding the object's address, which every
//! `Weak` to the object shares. When the object is freed, dropping its fields drops the anchor,
//! which clears the slot *before* the memory goes: a `Weak` that finds the address in the slot
//! (under the slot's lock) knows the memory is still there, and takes a count only if the count
//! has not reached zero (the object may be on its way out: freed later, or deferred). So a
//! dead object is never revived and freed memory is never touched.
//!
//! The death of an object someone watches (a weakref with a callback) is reported through
//! [`DEATH_HOOK`], from inside the free: the hook may only queue work (no Python code runs
//! there); the interpreter runs the callbacks at its next safe point.

use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::{Arc, OnceLock};

use super::{free_threaded, HeapBox, Ref, IMMORTAL};

/// What the anchor of a dying object calls when a watched slot dies, with the slot's key
/// ([`Weak::key`]). Set once by the `weakref` machinery.
pub static DEATH_HOOK: OnceLock<fn(usize)> = OnceLock::new();

/// The object's `HeapBox` while it is allocated; null once it has been freed. A pointer, not an
/// address as an integer: it keeps the provenance of the `Ref` it was taken from, so a weak
/// reference reaches the object as a `Ref` does (and Miri, under strict provenance, can check it).
#[derive(Clone, Copy)]
struct TargetPtr(*mut u8);

// SAFETY: the pointer is only followed by `Weak::upgrade`, under the slot's lock, while the
// object's anchor has not yet cleared it (the anchor clears it under the same lock before the
// memory is freed); in the GIL model only the thread holding the GIL does that. Moving the
// pointer between threads gives no other access.
unsafe impl Send for TargetPtr {}

/// The state shared by an object's anchor and its weak references.
pub struct Slot {
    /// The object while it is allocated (see [`TargetPtr`]).
    target: parking_lot::Mutex<TargetPtr>,
    /// A weak reference asked to hear of the death ([`Weak::watch`]).
    watched: AtomicBool,
}

/// A field of a weakly referenceable object: where its weak references find out that it died.
pub struct WeakAnchor {
    /// Null, or a pointer from `Arc::into_raw` that this anchor owns (one count of the `Arc`).
    slot: AtomicPtr<Slot>,
}

impl Default for WeakAnchor {
    fn default() -> WeakAnchor {
        WeakAnchor::new()
    }
}

impl WeakAnchor {
    pub const fn new() -> WeakAnchor {
        WeakAnchor {
            slot: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// Whether a weak reference to the object was ever made.
    pub fn is_used(&self) -> bool {
        !self.slot.load(Ordering::Acquire).is_null()
    }

    /// The slot, made on first use with the object `target`.
    fn slot(&self, target: *mut u8) -> Arc<Slot> {
        let mut p = self.slot.load(Ordering::Acquire);
        if p.is_null() {
            let fresh = Arc::into_raw(Arc::new(Slot {
                target: parking_lot::Mutex::new(TargetPtr(target)),
                watched: AtomicBool::new(false),
            })) as *mut Slot;
            match self.slot.compare_exchange(
                std::ptr::null_mut(),
                fresh,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => p = fresh,
                Err(other) => {
                    // Another thread made it first (free-threaded model): keep theirs.
                    // SAFETY: `fresh` came from `Arc::into_raw` above and was never shared.
                    drop(unsafe { Arc::from_raw(fresh) });
                    p = other;
                }
            }
        }
        // SAFETY: `p` came from `Arc::into_raw` and the anchor still owns that count (it is
        // given up only in `drop`, which cannot run while `&self` is borrowed), so the `Slot`
        // is alive; a new count is taken for the caller.
        unsafe {
            Arc::increment_strong_count(p);
            Arc::from_raw(p)
        }
    }
}

impl Drop for WeakAnchor {
    fn drop(&mut self) {
        let p = *self.slot.get_mut();
        if p.is_null() {
            return;
        }
        // SAFETY: `p` came from `Arc::into_raw` (see `slot`), and this is the anchor's one
        // release of the count it owned.
        let slot = unsafe { Arc::from_raw(p) };
        *slot.target.lock() = TargetPtr(std::ptr::null_mut());
        if slot.watched.load(Ordering::Relaxed) {
            if let Some(hook) = DEATH_HOOK.get() {
                hook(Arc::as_ptr(&slot) as usize);
            }
        }
    }
}

/// An object type with a [`WeakAnchor`] among its fields.
pub trait WeakTarget {
    fn weak_anchor(&self) -> &WeakAnchor;
}

/// A weak reference to an object of type `T`. Not `Send` or `Sync`, like [`Ref`].
pub struct Weak<T> {
    slot: Arc<Slot>,
    _t: PhantomData<*const T>,
}

impl<T> Clone for Weak<T> {
    fn clone(&self) -> Weak<T> {
        Weak {
            slot: self.slot.clone(),
            _t: PhantomData,
        }
    }
}

impl<T: WeakTarget> Ref<T> {
    /// A weak reference to this object. `None` if the type's anchor is not inside the object
    /// (a mistake in its `WeakTarget`, which would let a weak reference outlive the memory).
    pub fn downgrade(this: &Ref<T>) -> Option<Weak<T>> {
        let start = this.ptr.as_ptr() as usize;
        let end = start + std::mem::size_of::<HeapBox<T>>();
        let anchor = this.weak_anchor();
        let at = anchor as *const WeakAnchor as usize;
        if at < start || at + std::mem::size_of::<WeakAnchor>() > end {
            return None;
        }
        Some(Weak {
            slot: anchor.slot(this.ptr.as_ptr().cast()),
            _t: PhantomData,
        })
    }

    /// Whether some weak reference to this object was ever made.
    pub fn has_weak_refs(this: &Ref<T>) -> bool {
        this.weak_anchor().is_used()
    }
}

impl<T> Weak<T> {
    /// The object, if it is still alive.
    pub fn upgrade(&self) -> Option<Ref<T>> {
        let target = self.slot.target.lock();
        let ptr = NonNull::new(target.0.cast::<HeapBox<T>>())?;
        // SAFETY: the slot holds the address only while the object's memory is allocated: the
        // anchor inside the object sets it to null, under this lock (held here), before the memory
        // is freed. The header is only read and changed atomically. Reached through a raw
        // pointer, not a `&HeapBox<T>`: a reference to the whole box would cover the value, which
        // the thread freeing the object may be dropping meanwhile (Miri: a data race).
        let header = unsafe { &*std::ptr::addr_of!((*ptr.as_ptr()).header) };
        if !header.try_incref() {
            return None;
        }
        Some(Ref {
            ptr,
            _owns: PhantomData,
        })
    }

    /// Whether the object is gone (or going: its count reached zero).
    pub fn is_dead(&self) -> bool {
        self.upgrade().is_none()
    }

    /// Ask for [`DEATH_HOOK`] to be called when the object dies.
    pub fn watch(&self) {
        self.slot.watched.store(true, Ordering::Relaxed);
    }

    /// A number naming the object's slot, the same for every weak reference to the object
    /// and unique among live slots (what [`DEATH_HOOK`] is given).
    pub fn key(&self) -> usize {
        Arc::as_ptr(&self.slot) as usize
    }

    /// How many weak references (and anchors) share the slot.
    pub fn sharers(&self) -> usize {
        Arc::strong_count(&self.slot)
    }
}

impl super::Header {
    /// Add a reference unless the count already reached zero (the object is being freed).
    /// Also used by the collector (`gc.rs: Tracked::new`) for objects it reaches through its
    /// registry, where a dying object waits to be unlisted. CPython 3.13t's `_Py_TryIncref`.
    pub(super) fn try_incref(&self) -> bool {
        if free_threaded() {
            let mut c = self.count.load(Ordering::Relaxed);
            loop {
                if c & IMMORTAL != 0 {
                    return true;
                }
                if c == 0 {
                    return false;
                }
                match self.count.compare_exchange_weak(
                    c,
                    c + 1,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return true,
                    Err(now) => c = now,
                }
            }
        }
        let c = self.count.load(Ordering::Relaxed);
        if c == 0 {
            return false;
        }
        self.count.store(c + 1, Ordering::Relaxed);
        true
    }
}
