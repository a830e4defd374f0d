//! Stage 4 (VM), the heap.
//! What a thread lends to the others while it runs no bytecode: its frames, for
//! `sys._current_frames()` (`builtins/frames.rs`), and the exception it is handling, for
//! `sys._current_exceptions()`. A frame lives on its thread's Rust stack or
//! in its `Interp`, out of other threads' reach; but while the thread waits without the GIL (a
//! blocking call, a hand-off at a check point, a stopped world), it changes none of them. So
//! before it lets the GIL go it lends shared references to them ([`Lender::lend`]), and takes
//! them back ([`Lender`]'s reclaim, under the same mutex) before it runs again; an attached
//! thread reads them meanwhile ([`Lender::read`]), holding that mutex, so the owner cannot take
//! them back (and go on changing them) halfway through a read.
//!
//! The promise, as [`super::Shared`]'s: `read` is called only by a thread attached to the
//! interpreter (holding the GIL in the GIL model, with the world stopped free-threaded, so every
//! lender is waiting), which is what makes cloning a lent frame's values (a count change) sound.
//! Lending costs the owner two uncontended mutex round trips and one pointer per frame at each
//! release of the GIL.

use std::ptr::NonNull;

use parking_lot::Mutex;

/// One lent item: a reference to an `A`, a `B` or a `C` (a running frame, a caller parked on a
/// call, the exception being handled).
pub enum Loan<'a, A, B, C> {
    A(&'a A),
    B(&'a B),
    C(&'a C),
}

enum Raw<A, B, C> {
    A(NonNull<A>),
    B(NonNull<B>),
    C(NonNull<C>),
}

/// The items one thread lends now (none while it runs).
pub struct Lender<A, B, C> {
    items: Mutex<Vec<Raw<A, B, C>>>,
}

impl<A, B, C> Default for Lender<A, B, C> {
    fn default() -> Self {
        Lender {
            items: Mutex::new(Vec::new()),
        }
    }
}

/// Takes the loans back when `lend` ends (returning or unwinding).
struct Reclaim<'l, A, B, C>(&'l Mutex<Vec<Raw<A, B, C>>>);

impl<A, B, C> Drop for Reclaim<'_, A, B, C> {
    fn drop(&mut self) {
        self.0.lock().clear();
    }
}

impl<A, B, C> Lender<A, B, C> {
    /// Run `f` with `items` lent. They are borrowed for the whole call, so the caller cannot
    /// change them meanwhile; they are taken back before `lend` returns, waiting for a reader
    /// that is reading them.
    pub fn lend<'a, R>(
        &self,
        items: impl IntoIterator<Item = Loan<'a, A, B, C>>,
        f: impl FnOnce() -> R,
    ) -> R
    where
        A: 'a,
        B: 'a,
        C: 'a,
    {
        {
            let mut v = self.items.lock();
            v.clear();
            v.extend(items.into_iter().map(|l| match l {
                Loan::A(a) => Raw::A(NonNull::from(a)),
                Loan::B(b) => Raw::B(NonNull::from(b)),
                Loan::C(c) => Raw::C(NonNull::from(c)),
            }));
        }
        let _back = Reclaim(&self.items);
        f()
    }

    /// Call `f` with the items lent now (none if the owner is running), holding the lender's
    /// mutex, so the owner cannot take them back meanwhile. Only from an attached thread (see
    /// the module's comment).
    pub fn read<R>(&self, f: impl FnOnce(&[Loan<'_, A, B, C>]) -> R) -> R {
        let v = self.items.lock();
        let loans: Vec<Loan<'_, A, B, C>> = v
            .iter()
            .map(|r| match r {
                // SAFETY: the pointers were made by `lend` from references borrowed for the
                // whole of its call, and `lend` empties the vector (under this mutex, which we
                // hold until `loans` is gone: its lifetime is this guard's) before it returns;
                // so each points at a live `A` that its owner does not change meanwhile.
                Raw::A(a) => Loan::A(unsafe { a.as_ref() }),
                // SAFETY: as for `A`.
                Raw::B(b) => Loan::B(unsafe { b.as_ref() }),
                // SAFETY: as for `A`.
                Raw::C(c) => Loan::C(unsafe { c.as_ref() }),
            })
            .collect();
        f(&loans)
    }
}

// SAFETY: the lender holds only pointers, dereferenced by `read` while their owner is between
// `lend` and its reclaim (see there); the values behind them are reached by attached threads
// only (the module's promise, as `Shared`'s), so their counts change under the GIL or
// atomically.
unsafe impl<A, B, C> Send for Lender<A, B, C> {}
// SAFETY: as for `Send`; the vector itself is behind a mutex.
unsafe impl<A, B, C> Sync for Lender<A, B, C> {}

/// A caller waiting on a call it made by the general path (`builtins/frames.rs`: `Parked`),
/// reachable while it waits, so that the callee's `sys._getframe(1).f_locals` reads the
/// caller's variables as CPython's does.
///
/// Making one is a promise, as [`super::Shared`]'s, made where it is built (`Interp::parked`):
/// the reference it is made from stays borrowed for the whole call it records (`parked` takes
/// the caller as `&Frame` and holds it until the call returns), and [`Waiting::get`] is called
/// only on the records of calls that have not returned (`ParkedStack::active`, read by the
/// thread itself or, through a [`Lender`], by another attached thread while the owner waits).
/// A record kept for reuse after its call returned is overwritten before it is active again
/// (and [`Waiting::is`], which compares addresses only, may be asked of any).
pub struct Waiting<T>(NonNull<T>);

impl<T> Waiting<T> {
    /// Record `r` (see the type's documentation for the promise this makes).
    pub fn new(r: &T) -> Waiting<T> {
        Waiting(NonNull::from(r))
    }

    /// Whether this records `r` (a comparison of addresses: nothing is read).
    pub fn is(&self, r: &T) -> bool {
        std::ptr::eq(self.0.as_ptr(), r)
    }

    /// The waiting value.
    pub fn get(&self) -> &T {
        // SAFETY: the promise made at `new`: the reference it came from is still borrowed
        // (shared, so nothing changes the value meanwhile) while its call has not returned,
        // and only the records of such calls are read.
        unsafe { self.0.as_ref() }
    }
}
