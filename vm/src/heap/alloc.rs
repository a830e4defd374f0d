//! The process's allocator: mimalloc, called the way the system allocator is (`std`'s
//! `System` on Unix): plain `mi_malloc` when the alignment asked for is one `malloc` already
//! gives, the aligned entry points only for the rest. The `mimalloc` crate's own `MiMalloc`
//! calls `mi_malloc_aligned` for every allocation, a longer path (callgrind: ~60 machine
//! instructions per allocation in the containers kernel, against ~20 for `mi_malloc`).
//!
//! Installed by the `minivm` command (`src/main.rs`, `#[global_allocator]`) when the `mimalloc`
//! feature is on (the default); see docs/ARCHITECTURE.md for why minivm does not use glibc's.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc,
    mi_zalloc_aligned,
};

/// The smallest alignment `mi_malloc` guarantees for any block of at least this many bytes
/// (mimalloc's `MI_MAX_ALIGN_SIZE`; the same as glibc's on x86-64).
const MALLOC_ALIGN: usize = 16;

/// mimalloc as a `GlobalAlloc` (see the module comment).
pub struct Allocator;

/// Whether `mi_malloc(size)` is aligned enough for `layout` (as `std`'s `System` decides).
#[inline(always)]
fn plain(align: usize, size: usize) -> bool {
    align <= MALLOC_ALIGN && align <= size
}

// SAFETY: (types only) mimalloc's allocation entry points, `mi_malloc(size)`-shaped and
// `mi_malloc_aligned(size, align)`-shaped; calling one is what `pick`'s contract covers.
type PlainFn = unsafe extern "C" fn(usize) -> *mut c_void;
// SAFETY: as above (types only).
type AlignedFn = unsafe extern "C" fn(usize, usize) -> *mut c_void;

/// `plain(size)` when its alignment is enough for `layout`, else `aligned(size, align)`.
///
/// # Safety
/// As calling the chosen mimalloc function (it accepts any size and power-of-two alignment).
// SAFETY: (declaration) callers uphold the contract above; the body's block says why it holds.
#[inline(always)]
unsafe fn pick(layout: Layout, plain_fn: PlainFn, aligned_fn: AlignedFn) -> *mut u8 {
    // SAFETY: the caller's promise; `layout` gives a valid size and alignment.
    unsafe {
        if plain(layout.align(), layout.size()) {
            plain_fn(layout.size()).cast()
        } else {
            aligned_fn(layout.size(), layout.align()).cast()
        }
    }
}

// SAFETY: each method forwards to the mimalloc function with the same contract (`malloc`,
// `calloc`, `realloc`, `free`, and their aligned forms), choosing the plain form only when its
// alignment is enough for the layout (`plain`); every block is freed by `mi_free`, which takes
// blocks from either form.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: mimalloc's allocation functions take any size and a power-of-two alignment.
        unsafe { pick(layout, mi_malloc, mi_malloc_aligned) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        unsafe { pick(layout, mi_zalloc, mi_zalloc_aligned) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` was returned by this allocator (GlobalAlloc's contract), so by mimalloc.
        unsafe { mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator with `layout` (GlobalAlloc's contract); the
        // plain form keeps `mi_malloc`'s alignment, enough when `plain` says so for the new size.
        unsafe {
            if plain(layout.align(), new_size) {
                mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
            }
        }
    }
}
