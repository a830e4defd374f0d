//! Stage 4 (VM), the heap.
//! `tracemalloc`'s accounting (`stdlib/tracemalloc.rs`): the totals of the process's allocator
//! (`heap::alloc`, which calls [`note`] for every block it hands out or takes back) while a
//! program traces. Without the `mimalloc` feature nothing calls [`note`] and the totals stay 0.

use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

/// While set, the allocator (`heap::alloc`) adds the size of every block it hands out and
/// subtracts that of every block it takes back. Off, the price is one relaxed load and a branch
/// per call. Unlike CPython's tracemalloc no table of blocks
/// is kept, so a block allocated before tracing started and freed during it counts as a
/// decrease too (the current total is never shown below 0).
static TRACING: AtomicBool = AtomicBool::new(false);
/// Bytes allocated minus bytes freed since tracing started (or was cleared).
static TRACED: AtomicIsize = AtomicIsize::new(0);
/// The largest `TRACED` seen since tracing started (or the peak was reset).
static PEAK: AtomicIsize = AtomicIsize::new(0);
/// Blocks allocated minus blocks freed, as `TRACED`.
static BLOCKS: AtomicIsize = AtomicIsize::new(0);

/// A change of `bytes` in `blocks` blocks, counted only while tracing.
#[inline(always)]
#[cfg_attr(not(feature = "mimalloc"), allow(dead_code))]
pub(crate) fn note(bytes: isize, blocks: isize) {
    if TRACING.load(Ordering::Relaxed) {
        record(bytes, blocks);
    }
}

#[cold]
#[inline(never)]
fn record(bytes: isize, blocks: isize) {
    let now = TRACED
        .fetch_add(bytes, Ordering::Relaxed)
        .wrapping_add(bytes);
    BLOCKS.fetch_add(blocks, Ordering::Relaxed);
    if bytes > 0 {
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

/// Start counting from zero (`tracemalloc.start()`; again while tracing: nothing changes).
pub fn start_tracing() {
    if !TRACING.load(Ordering::Relaxed) {
        clear_traced();
        TRACING.store(true, Ordering::Relaxed);
    }
}

/// Stop counting and forget the totals (`tracemalloc.stop()`).
pub fn stop_tracing() {
    TRACING.store(false, Ordering::Relaxed);
    clear_traced();
}

/// Whether allocations are being counted.
pub fn is_tracing() -> bool {
    TRACING.load(Ordering::Relaxed)
}

/// The totals back to zero (`tracemalloc.clear_traces()`).
pub fn clear_traced() {
    TRACED.store(0, Ordering::Relaxed);
    PEAK.store(0, Ordering::Relaxed);
    BLOCKS.store(0, Ordering::Relaxed);
}

/// The peak back to the current total (`tracemalloc.reset_peak()`).
pub fn reset_peak() {
    PEAK.store(TRACED.load(Ordering::Relaxed).max(0), Ordering::Relaxed);
}

/// (current bytes, peak bytes, current blocks), each at least 0; zeros while not tracing.
pub fn traced() -> (usize, usize, usize) {
    if !is_tracing() {
        return (0, 0, 0);
    }
    let get = |a: &AtomicIsize| usize::try_from(a.load(Ordering::Relaxed)).unwrap_or(0);
    (get(&TRACED), get(&PEAK), get(&BLOCKS))
}
