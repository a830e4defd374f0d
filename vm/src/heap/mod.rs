//! The heap (stage 4, below the interpreter): how Python objects are owned and how their
//! contents are reached.
//!
//! Two types carry every object:
//! * [`Ref<T>`] — a counted reference to a heap object (`Value`'s pointer variants, object fields).
//!   Cloning it adds one to the object's reference count, dropping it takes one away, and the
//!   object is freed when the count reaches zero, as with CPython's `Py_INCREF`/`Py_DECREF`.
//! * [`ObjCell<T>`] — the mutable contents of an object (a list's items, a dict's table, an
//!   instance's attributes). `lock()` gives exclusive access for a short, Python-free section;
//!   `read()` gives shared access.
//!
//! Everything that needs `unsafe` to manage objects lives in this module, and nowhere else.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// A counted reference to a heap object.
pub struct Ref<T> {
    inner: Arc<T>,
}

impl<T> Ref<T> {
    /// Move `value` to the heap with a reference count of one.
    #[inline]
    pub fn new(value: T) -> Ref<T> {
        Ref {
            inner: Arc::new(value),
        }
    }

    /// Identity: do both references point at the same object (Python's `is`)?
    #[inline]
    pub fn ptr_eq(a: &Ref<T>, b: &Ref<T>) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    /// The object's address, stable for its lifetime (`id()`, identity hashing).
    #[inline]
    pub fn as_ptr(this: &Ref<T>) -> *const T {
        Arc::as_ptr(&this.inner)
    }
}

impl<T> Clone for Ref<T> {
    #[inline]
    fn clone(&self) -> Ref<T> {
        Ref {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Deref for Ref<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

/// The mutable contents of a heap object.
///
/// `lock()` is exclusive and `read()` shared; neither may be held while Python code runs or the
/// GIL is released (code that must call back into Python takes a snapshot first).
pub struct ObjCell<T> {
    inner: parking_lot::RwLock<T>,
}

/// Exclusive access to an [`ObjCell`]'s contents, released when dropped.
pub struct CellMut<'a, T> {
    guard: parking_lot::RwLockWriteGuard<'a, T>,
}

/// Shared access to an [`ObjCell`]'s contents, released when dropped.
pub struct CellRef<'a, T> {
    guard: parking_lot::RwLockReadGuard<'a, T>,
}

impl<T> ObjCell<T> {
    pub fn new(value: T) -> ObjCell<T> {
        ObjCell {
            inner: parking_lot::RwLock::new(value),
        }
    }

    /// Exclusive access, for reading and changing the contents.
    #[inline]
    pub fn lock(&self) -> CellMut<'_, T> {
        CellMut {
            guard: self.inner.write(),
        }
    }

    /// Exclusive access; the same as [`ObjCell::lock`] (the name reads better where a
    /// `read()` of the same cell sits nearby).
    #[inline]
    pub fn write(&self) -> CellMut<'_, T> {
        self.lock()
    }

    /// Shared access, for reading only.
    #[inline]
    pub fn read(&self) -> CellRef<'_, T> {
        CellRef {
            guard: self.inner.read(),
        }
    }

    /// The contents, when the cell is owned (no other access can exist).
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }

    /// The contents through a unique reference (no other access can exist).
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }
}

impl<T: Default> Default for ObjCell<T> {
    fn default() -> ObjCell<T> {
        ObjCell::new(T::default())
    }
}

impl<T> Deref for CellMut<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for CellMut<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T> Deref for CellRef<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.guard
    }
}
