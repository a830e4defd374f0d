//! Stage 4 (VM), the heap.
//! The process's allocator: mimalloc, called the way the system allocator is (`std`'s
//! `System` on Unix): plain `mi_malloc` when the alignment asked for is one `malloc` already
//! gives, the aligned entry points only for the rest. The `mimalloc` crate's own `MiMalloc`
//! calls `mi_malloc_aligned` for every allocation, a longer path (callgrind: ~60 machine
//! instructions per allocation in the containers kernel, against ~20 for `mi_malloc`).
//!
//! Installed by the `minivm` command (`src/main.rs`, `#[global_allocator]`) when the `mimalloc`
//! feature is on (the default); see docs/ARCHITECTURE.md for why minivm does not use glibc's.

use super::traced::note;
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

#[cfg(not(miri))]
use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc,
    mi_zalloc_aligned,
};
#[cfg(miri)]
use miri_stand_ins::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc,
    mi_zalloc_aligned,
};

/// The smallest alignment `mi_malloc` guarantees for any block of at least this many bytes
/// (mimalloc's `MI_MAX_ALIGN_SIZE`; the same as glibc's on x86-64).
const MALLOC_ALIGN: usize = 16;

/// mimalloc as a `GlobalAlloc` (see the module comment).
pub struct Allocator;

/// A block's size as the counters' signed type.
#[inline(always)]
fn signed(size: usize) -> isize {
    isize::try_from(size).unwrap_or(isize::MAX)
}

/// How long (milliseconds) mimalloc keeps freed memory before it gives it back to the system
/// (`mi_option_purge_delay`). mimalloc 3's default is 1,000 ms, and it does not take its
/// freed pages back first: it starts new objects in fresh memory, so a program that builds a
/// structure, drops it and builds the next (float_points: 60,000 points, three times) added
/// about 9 MB of resident memory per round, freed but kept, and its peak depended on
/// whether a purge fell between rounds (31 or 44 MB, one binary). 10 ms is mimalloc 2's
/// default; it costs page faults on re-use (float_points 9,300 -> 14,600) for a peak of 26 MB
/// (CPython 27 MB). docs/BENCHMARKS.md, "Peak memory".
pub const PURGE_DELAY_MS: i64 = 10;

/// mimalloc's number for the purge-delay option (`mi_option_purge_delay` in `mimalloc.h`,
/// the same in mimalloc 2 and 3).
#[cfg(not(miri))]
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

#[cfg(not(miri))]
extern "C" {
    fn mi_option_set_default(option: std::ffi::c_int, value: std::ffi::c_long);
    fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
}

/// Set minivm's defaults of mimalloc's options (see [`PURGE_DELAY_MS`]). Called once by the
/// `minivm` command at start-up; a `MIMALLOC_PURGE_DELAY` in the environment still wins, as
/// `mi_option_set_default` changes only options the environment did not set.
pub fn tune() {
    #[cfg(not(miri))]
    // SAFETY: `mi_option_set_default` takes any option number below mimalloc's count and any
    // value, and only stores the value (no allocation, no callback); 15 is a valid option.
    unsafe {
        mi_option_set_default(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS as std::ffi::c_long)
    };
}

/// mimalloc's purge delay now, in milliseconds (for tests and `--stats`-like reports).
pub fn purge_delay() -> i64 {
    #[cfg(not(miri))]
    // SAFETY: `mi_option_get` takes any valid option number (15 is one) and only reads it.
    let ms = unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) } as i64;
    #[cfg(miri)]
    let ms = PURGE_DELAY_MS;
    ms
}

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
        note(signed(layout.size()), 1);
        // SAFETY: mimalloc's allocation functions take any size and a power-of-two alignment.
        unsafe { pick(layout, mi_malloc, mi_malloc_aligned) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(signed(layout.size()), 1);
        // SAFETY: as in `alloc`.
        unsafe { pick(layout, mi_zalloc, mi_zalloc_aligned) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(-signed(layout.size()), -1);
        // SAFETY: `ptr` was returned by this allocator (GlobalAlloc's contract), so by mimalloc.
        unsafe { mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(signed(new_size).wrapping_sub(signed(layout.size())), 0);
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

/// mimalloc's entry points as Miri can run them (it cannot run C code): the same signatures,
/// over the system allocator. `mi_free` and `mi_realloc` are given only the block, so each live
/// block's layout is kept in a table keyed by the block's address (not in a header in front of
/// the block: Miri's borrow rules forbid reading outside the block through a pointer a `Box` or
/// `Vec` has narrowed to its contents), and the block is freed through the caller's pointer. With these, the heap's tests (`vm/tests/heap.rs`, which
/// install [`Allocator`] as their global allocator) run every path of `Allocator` under Miri,
/// and Miri checks each block it hands out: bounds, alignment, use after free, double free, leaks.
#[cfg(miri)]
mod miri_stand_ins {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::ffi::c_void;
    use std::sync::Mutex;

    /// The alignment `mi_malloc` gives.
    const MALLOC_ALIGN: usize = 16;
    /// Live blocks the table can hold (open addressing; the tests keep a few thousand).
    const SLOTS: usize = 1 << 16;

    /// One live block: its address (0: a free slot, 1: a removed one) and layout.
    #[derive(Clone, Copy)]
    struct Entry {
        addr: usize,
        layout: Layout,
    }

    const FREE: Entry = Entry {
        addr: 0,
        layout: Layout::new::<u8>(),
    };

    struct Table([Entry; SLOTS]);

    static TABLE: Mutex<Table> = Mutex::new(Table([FREE; SLOTS]));

    fn start(addr: usize) -> usize {
        (addr >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (usize::BITS - 16)
    }

    fn remember(block: *mut u8, layout: Layout) {
        let mut t = TABLE.lock().unwrap_or_else(|e| e.into_inner());
        let mut i = start(block.addr());
        for _ in 0..SLOTS {
            if t.0[i].addr <= 1 {
                t.0[i] = Entry {
                    addr: block.addr(),
                    layout,
                };
                return;
            }
            i = (i + 1) % SLOTS;
        }
        std::process::abort(); // more live blocks than the table holds
    }

    /// The slot of the live block at `addr`.
    fn slot_of(t: &Table, addr: usize) -> Option<usize> {
        let mut i = start(addr);
        for _ in 0..SLOTS {
            match t.0[i].addr {
                0 => return None,
                a if a == addr => return Some(i),
                _ => i = (i + 1) % SLOTS,
            }
        }
        None
    }

    /// The entry of the live block at `addr`.
    fn find(addr: usize) -> Option<Entry> {
        let t = TABLE.lock().unwrap_or_else(|e| e.into_inner());
        slot_of(&t, addr).map(|i| t.0[i])
    }

    /// Take the entry of the live block at `addr` out of the table.
    fn forget(addr: usize) -> Option<Entry> {
        let mut t = TABLE.lock().unwrap_or_else(|e| e.into_inner());
        let i = slot_of(&t, addr)?;
        let e = t.0[i];
        t.0[i].addr = 1;
        Some(e)
    }

    /// A block of `size` bytes aligned to `align`, zeroed if asked; null if it cannot be made.
    fn make(size: usize, align: usize, zeroed: bool) -> *mut c_void {
        // mimalloc hands out a distinct block for size 0 too.
        let Ok(layout) = Layout::from_size_align(size.max(1), align) else {
            return std::ptr::null_mut();
        };
        // SAFETY: `layout` has a non-zero size.
        let block = unsafe {
            if zeroed {
                System.alloc_zeroed(layout)
            } else {
                System.alloc(layout)
            }
        };
        if !block.is_null() {
            remember(block, layout);
        }
        block.cast()
    }

    /// # Safety
    /// `block` is null or came from one of these functions and has not been freed.
    // SAFETY: (declaration) callers uphold the contract above.
    pub unsafe extern "C" fn mi_free(block: *mut c_void) {
        if block.is_null() {
            return;
        }
        match forget(block.addr()) {
            // SAFETY: `block` is a live block (the caller's promise) that `System.alloc` returned
            // for the entry's layout; it is freed once (its entry is gone now).
            Some(e) => unsafe { System.dealloc(block.cast(), e.layout) },
            None => std::process::abort(), // not a live block: a double or foreign free
        }
    }

    // SAFETY: (declaration) safe to call with any size; `unsafe` to match mimalloc's signature.
    pub unsafe extern "C" fn mi_malloc(size: usize) -> *mut c_void {
        make(size, MALLOC_ALIGN, false)
    }

    // SAFETY: (declaration) as `mi_malloc`.
    pub unsafe extern "C" fn mi_zalloc(size: usize) -> *mut c_void {
        make(size, MALLOC_ALIGN, true)
    }

    // SAFETY: (declaration) as `mi_malloc`; `align` is a power of two (GlobalAlloc's layouts).
    pub unsafe extern "C" fn mi_malloc_aligned(size: usize, align: usize) -> *mut c_void {
        make(size, align, false)
    }

    // SAFETY: (declaration) as `mi_malloc_aligned`.
    pub unsafe extern "C" fn mi_zalloc_aligned(size: usize, align: usize) -> *mut c_void {
        make(size, align, true)
    }

    /// # Safety
    /// As [`mi_free`] for `block`.
    // SAFETY: (declaration) callers uphold the contract above.
    pub unsafe extern "C" fn mi_realloc_aligned(
        block: *mut c_void,
        size: usize,
        align: usize,
    ) -> *mut c_void {
        let fresh = make(size, align, false);
        if fresh.is_null() || block.is_null() {
            return fresh;
        }
        let Some(old) = find(block.addr()).map(|e| e.layout.size()) else {
            std::process::abort(); // not a live block
        };
        // SAFETY: `block` is live (the caller's promise) with `old` bytes, readable through the
        // caller's pointer; `fresh` has at least `size`; distinct allocations do not overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(block.cast::<u8>(), fresh.cast::<u8>(), old.min(size));
            mi_free(block);
        }
        fresh
    }

    /// # Safety
    /// As [`mi_free`] for `block`.
    // SAFETY: (declaration) callers uphold the contract above.
    pub unsafe extern "C" fn mi_realloc(block: *mut c_void, size: usize) -> *mut c_void {
        // SAFETY: the caller's promise, passed on.
        unsafe { mi_realloc_aligned(block, size, MALLOC_ALIGN) }
    }
}
