//! Stage 4 (VM), the heap.
//! Per-thread free lists for heap objects (CPython's `Objects/obmalloc.c` in miniature): the
//! memory of a freed object is kept on a short last-in, first-out list of its size class and
//! handed to the next object of that size, before the general allocator is asked.
//!
//! Two reasons. Speed: programs make and drop small objects by the million (a tuple key per
//! loop iteration, a pair of instances per cycle), and a pop from a thread-local list is a few
//! instructions where a malloc/free pair is dozens to hundreds. Behaviour: CPython reuses the
//! block of the object freed last for the next object of its size, so programs observe that
//! `id(object()) == id(object())` and `hash(C()) == hash(C())` are `True`; an allocator that
//! hands out blocks in another order (mimalloc, the process's allocator, does) would print
//! `False` there.
//!
//! Blocks are classed by size in steps of [`GRAIN`] bytes up to [`MAX_SIZE`], all allocated
//! with the same alignment ([`GRAIN`]), so any two blocks of a class have the same `Layout` and
//! either can serve any object of that class. Each list keeps at most [`MAX_KEPT`] blocks (the
//! rest go back to the allocator), and a thread's lists are emptied into the allocator when the
//! thread ends. A block on a list holds the pointer to the next one in its first word.

use std::alloc::Layout;
use std::cell::Cell;
use std::ptr::NonNull;

/// Size classes are multiples of this (and every pooled block is aligned to it).
const GRAIN: usize = 16;
/// Objects larger than this are not pooled.
const MAX_SIZE: usize = 256;
const CLASSES: usize = MAX_SIZE / GRAIN;
/// Blocks kept per class and thread (at most 2.1 MiB in all for a thread). A collection frees
/// hundreds of objects at once, which the next allocations take back, and so does freeing a
/// data structure built of small objects (a tree of tuples): with 128 kept, binary_trees took
/// half of its tuples' blocks from mimalloc and gave them back (2026-12-04, callgrind: 1,024
/// kept, binary_trees -0.6% machine instructions, cycles -2.0%; peak memory +150 to +230 KiB
/// on binary_trees, cycles and deltablue).
const MAX_KEPT: u32 = 1024;

/// The size class of a `T`, if `T` is pooled: a constant for each `T`.
#[inline(always)]
pub(super) const fn class_of<T>() -> Option<usize> {
    if std::mem::align_of::<T>() > GRAIN {
        None
    } else {
        class_of_size(std::mem::size_of::<T>())
    }
}

/// The layout every block of class `c` is allocated with.
#[inline(always)]
fn class_layout(c: usize) -> Layout {
    // (c + 1) * GRAIN is a non-zero multiple of the alignment GRAIN, a power of two: valid.
    match Layout::from_size_align((c + 1) * GRAIN, GRAIN) {
        Ok(l) => l,
        Err(_) => unreachable_layout(),
    }
}

#[cold]
fn unreachable_layout() -> ! {
    std::process::abort()
}

/// One thread's lists: the head block of each class and how many blocks it holds.
struct Pools {
    heads: [Cell<*mut u8>; CLASSES],
    counts: [Cell<u32>; CLASSES],
}

impl Drop for Pools {
    /// The thread is ending: its kept blocks go back to the allocator.
    fn drop(&mut self) {
        for c in 0..CLASSES {
            let mut p = self.heads[c].replace(std::ptr::null_mut());
            while !p.is_null() {
                // SAFETY: `p` is a block on this list: allocated with `class_layout(c)`, not in
                // use by any object, its first word the next block (written by `free`).
                unsafe {
                    let next = p.cast::<*mut u8>().read();
                    std::alloc::dealloc(p, class_layout(c));
                    p = next;
                }
            }
        }
    }
}

std::thread_local! {
    static POOLS: Pools = const {
        Pools {
            heads: [const { Cell::new(std::ptr::null_mut()) }; CLASSES],
            counts: [const { Cell::new(0) }; CLASSES],
        }
    };
}

/// Memory for one `T`: a block from this thread's list of its class, or a new allocation.
/// The memory is uninitialized; give it back with [`free`] for the same `T`.
#[inline(always)]
pub(super) fn alloc<T>() -> NonNull<T> {
    match class_of::<T>() {
        Some(c) => alloc_class(c).cast(),
        None => alloc_plain(Layout::new::<T>()),
    }
}

/// The size class of a block of `size` bytes (non-zero), if such blocks are pooled.
#[inline(always)]
pub(super) const fn class_of_size(size: usize) -> Option<usize> {
    if size == 0 || size > MAX_SIZE {
        None
    } else {
        Some((size - 1) / GRAIN)
    }
}

/// A block of class `c` (`c < CLASSES`): from this thread's list, or a new allocation. The
/// memory is uninitialized and [`GRAIN`]-aligned; give it back with [`free_class`].
#[inline(always)]
pub(super) fn alloc_class(c: usize) -> NonNull<u8> {
    let reused = POOLS
        .try_with(|p| {
            let head = p.heads[c].get();
            if head.is_null() {
                return head;
            }
            // SAFETY: `head` is a block on this thread's list of class `c` (see `free`): its
            // first word holds the next block; nothing else uses the block.
            p.heads[c].set(unsafe { head.cast::<*mut u8>().read() });
            p.counts[c].set(p.counts[c].get() - 1);
            head
        })
        .unwrap_or(std::ptr::null_mut());
    match NonNull::new(reused) {
        Some(b) => b,
        None => alloc_plain(class_layout(c)),
    }
}

/// A new allocation of `layout` (non-zero size), aborting as `Box` does when memory runs out.
#[inline(never)]
pub(super) fn alloc_plain<T>(layout: Layout) -> NonNull<T> {
    // SAFETY: every `T` made here has a non-zero size (`Ref` never holds zero-sized objects:
    // the header alone is 16 bytes), so `layout` is not zero-sized.
    let p = unsafe { std::alloc::alloc(layout) };
    match NonNull::new(p) {
        Some(p) => p.cast(),
        None => std::alloc::handle_alloc_error(layout),
    }
}

/// Give back the memory of a `T` (already dropped) that [`alloc`] returned.
///
/// # Safety
/// `ptr` came from `alloc::<T>()` (on any thread), the `T` in it has been dropped or moved out,
/// and nothing uses the memory any more.
// SAFETY: (declaration) callers uphold the contract above; each block inside says why it holds.
#[inline(always)]
pub(super) unsafe fn free<T>(ptr: NonNull<T>) {
    let p = ptr.cast::<u8>();
    match class_of::<T>() {
        // SAFETY: a pooled `T`'s block came from `alloc_class(c)` (the caller's promise).
        Some(c) => unsafe { free_class(p, c) },
        // SAFETY: unpooled `T`s were allocated with `Layout::new::<T>()` by `alloc_plain`.
        None => unsafe { std::alloc::dealloc(p.as_ptr(), Layout::new::<T>()) },
    }
}

/// Give back a block of class `c` that [`alloc_class`] returned.
///
/// # Safety
/// `ptr` came from `alloc_class(c)` (on any thread) and nothing uses the memory any more.
// SAFETY: (declaration) callers uphold the contract above; each block inside says why it holds.
#[inline(always)]
pub(super) unsafe fn free_class(ptr: NonNull<u8>, c: usize) {
    let p = ptr.as_ptr();
    let kept = POOLS
        .try_with(|pools| {
            let n = pools.counts[c].get();
            if n >= MAX_KEPT {
                return false;
            }
            // SAFETY: the block is at least GRAIN (16) bytes and GRAIN-aligned (class_layout),
            // so its first word can hold the link; nothing else uses it (the caller's promise).
            unsafe { p.cast::<*mut u8>().write(pools.heads[c].get()) };
            pools.heads[c].set(p);
            pools.counts[c].set(n + 1);
            true
        })
        .unwrap_or(false);
    if !kept {
        // SAFETY: blocks of class `c` are allocated with `class_layout(c)`, from a list or fresh.
        unsafe { std::alloc::dealloc(p, class_layout(c)) };
    }
}
