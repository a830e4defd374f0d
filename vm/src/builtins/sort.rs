//! Stage 4 (VM), built-ins.
//! `sorted()` and `list.sort()`: CPython 3.11's timsort (`Objects/listobject.c`, described in
//! its `listsort.txt`), step for step, so a program sees the same comparisons in the same order
//! (a `__lt__` that counts or prints them prints what CPython's does) and gets timsort's speed on
//! partly ordered data (a sorted list with one item appended is sorted in about n comparisons).
//!
//! Only `<` is used, as CPython does; `reverse=True` is done by reversing, sorting stably and
//! reversing again, so equal elements keep their original order. The algorithm sorts a
//! permutation of indices (plain `usize`s, cheap to move) and the values are put in that order at
//! the end; the first failing comparison stops it with the permutation intact.
//!
//! The parts, in CPython's names: runs are found by `count_run` (a strictly descending run is
//! reversed in place), a run shorter than `minrun` is extended by binary insertion
//! (`binarysort`), runs wait on a stack merged by the powersort rule (`found_new_run`), and two
//! runs are merged by `merge_lo`/`merge_hi`, which switch to galloping (exponential search) when
//! one run keeps winning; `min_gallop` adapts how soon. `merge_lo`/`merge_hi` and
//! `gallop_left`/`gallop_right` are mirror images kept apart, as in CPython: one routine with a
//! direction flag would be harder to check against the original, line for line.

use crate::error::PyResult;
use crate::interp::Interp;
use crate::value::Value;

/// Galloping starts after this many wins in a row (CPython's `MIN_GALLOP`).
const MIN_GALLOP: usize = 7;

/// A run waiting to be merged: `len` items of the permutation from `base`, and its powersort
/// power (depth in the conceptual merge tree).
#[derive(Clone, Copy)]
struct Run {
    base: usize,
    len: usize,
    power: u32,
}

/// The state of one sort: the comparison of two items (by their original indices), the runs
/// waiting to be merged, the adaptive galloping threshold and the merge buffer.
struct Merge<'f, L> {
    less: &'f mut L,
    pending: Vec<Run>,
    min_gallop: usize,
    tmp: Vec<usize>,
    len: usize,
}

/// How a merge loop ended (CPython's labels `Succeed`/`Fail`, `CopyA`, `CopyB`).
enum Exit<E> {
    Done,
    Failed(E),
    CopyRest,
}

/// `?` for a comparison inside a merge loop: a failure leaves the loop through `Exit::Failed`,
/// whose clean-up puts back the items held in the buffer.
macro_rules! cmp {
    ($e:expr, $label:lifetime) => {
        match $e {
            Ok(b) => b,
            Err(e) => break $label Exit::Failed(e),
        }
    };
}

/// CPython's `merge_compute_minrun`: the run length short runs are extended to, in 32..=64,
/// chosen so that `n / minrun` is a power of two or just under one.
fn compute_minrun(mut n: usize) -> usize {
    let mut r = 0;
    while n >= 64 {
        r |= n & 1;
        n >>= 1;
    }
    n + r
}

/// The powersort "power" of the run `s1..s1+n1` followed by one of `n2` items, in a list of `n`:
/// the first bit position where the midpoints of the two runs, as fractions of `n`, differ.
fn powerloop(s1: usize, n1: usize, n2: usize, n: usize) -> u32 {
    let mut result = 0;
    let mut a = 2 * s1 + n1;
    let mut b = a + n1 + n2;
    loop {
        result += 1;
        if a >= n {
            a -= n;
            b -= n;
        } else if b >= n {
            break;
        }
        a <<= 1;
        b <<= 1;
    }
    result
}

/// CPython's `gallop_left`: where `key` goes in the sorted `a` (before any equal items),
/// searching outwards from `hint` in steps 1, 3, 7, 15... then by bisection.
fn gallop_left<E>(
    less: &mut impl FnMut(usize, usize) -> Result<bool, E>,
    key: usize,
    a: &[usize],
    hint: usize,
) -> Result<usize, E> {
    let n = a.len();
    let mut lastofs: isize = 0;
    let mut ofs: isize = 1;
    if less(a[hint], key)? {
        // a[hint] < key: gallop right until a[hint + lastofs] < key <= a[hint + ofs].
        let maxofs = (n - hint) as isize;
        while ofs < maxofs {
            if less(a[hint + ofs as usize], key)? {
                lastofs = ofs;
                ofs = (ofs << 1) + 1;
            } else {
                break;
            }
        }
        ofs = ofs.min(maxofs);
        lastofs += hint as isize;
        ofs += hint as isize;
    } else {
        // key <= a[hint]: gallop left until a[hint - ofs] < key <= a[hint - lastofs].
        let maxofs = hint as isize + 1;
        while ofs < maxofs {
            if less(a[hint - ofs as usize], key)? {
                break;
            }
            lastofs = ofs;
            ofs = (ofs << 1) + 1;
        }
        ofs = ofs.min(maxofs);
        let k = lastofs;
        lastofs = hint as isize - ofs;
        ofs = hint as isize - k;
    }
    // a[lastofs] < key <= a[ofs]: bisect in between.
    lastofs += 1;
    while lastofs < ofs {
        let m = lastofs + ((ofs - lastofs) >> 1);
        if less(a[m as usize], key)? {
            lastofs = m + 1;
        } else {
            ofs = m;
        }
    }
    Ok(ofs as usize)
}

/// CPython's `gallop_right`: as `gallop_left`, but after any items equal to `key`.
fn gallop_right<E>(
    less: &mut impl FnMut(usize, usize) -> Result<bool, E>,
    key: usize,
    a: &[usize],
    hint: usize,
) -> Result<usize, E> {
    let n = a.len();
    let mut lastofs: isize = 0;
    let mut ofs: isize = 1;
    if less(key, a[hint])? {
        // key < a[hint]: gallop left until a[hint - ofs] <= key < a[hint - lastofs].
        let maxofs = hint as isize + 1;
        while ofs < maxofs {
            if less(key, a[hint - ofs as usize])? {
                lastofs = ofs;
                ofs = (ofs << 1) + 1;
            } else {
                break;
            }
        }
        ofs = ofs.min(maxofs);
        let k = lastofs;
        lastofs = hint as isize - ofs;
        ofs = hint as isize - k;
    } else {
        // a[hint] <= key: gallop right until a[hint + lastofs] <= key < a[hint + ofs].
        let maxofs = (n - hint) as isize;
        while ofs < maxofs {
            if less(key, a[hint + ofs as usize])? {
                break;
            }
            lastofs = ofs;
            ofs = (ofs << 1) + 1;
        }
        ofs = ofs.min(maxofs);
        lastofs += hint as isize;
        ofs += hint as isize;
    }
    // a[lastofs] <= key < a[ofs]: bisect in between.
    lastofs += 1;
    while lastofs < ofs {
        let m = lastofs + ((ofs - lastofs) >> 1);
        if less(key, a[m as usize])? {
            ofs = m;
        } else {
            lastofs = m + 1;
        }
    }
    Ok(ofs as usize)
}

impl<L: FnMut(usize, usize) -> Result<bool, E>, E> Merge<'_, L> {
    /// CPython's `count_run`: the length of the run starting at `lo` (at most `remaining`), and
    /// whether it is strictly descending (the caller reverses it).
    fn count_run(&mut self, a: &[usize], lo: usize, remaining: usize) -> Result<(usize, bool), E> {
        if remaining == 1 {
            return Ok((1, false));
        }
        let end = lo + remaining;
        let mut n = 2;
        let descending = (self.less)(a[lo + 1], a[lo])?;
        for i in lo + 2..end {
            if (self.less)(a[i], a[i - 1])? != descending {
                break;
            }
            n += 1;
        }
        Ok((n, descending))
    }

    /// CPython's `binarysort`: `a[lo..start]` is sorted; insert each of `a[start..hi]` at its
    /// place, found by bisection (after equal items: stable).
    fn binarysort(&mut self, a: &mut [usize], lo: usize, hi: usize, start: usize) -> Result<(), E> {
        let mut start = if start == lo { start + 1 } else { start };
        while start < hi {
            let pivot = a[start];
            let (mut l, mut r) = (lo, start);
            while l < r {
                let p = l + ((r - l) >> 1);
                if (self.less)(pivot, a[p])? {
                    r = p;
                } else {
                    l = p + 1;
                }
            }
            a.copy_within(l..start, l + 1);
            a[l] = pivot;
            start += 1;
        }
        Ok(())
    }

    /// CPython's `merge_lo`: merge the runs `a[pa..pa+na]` and `a[pb..pb+nb]` (adjacent, with
    /// `na <= nb`), copying the first run out to the buffer and filling from the left.
    fn merge_lo(
        &mut self,
        a: &mut [usize],
        pa: usize,
        mut na: usize,
        mut pb: usize,
        mut nb: usize,
    ) -> Result<(), E> {
        self.tmp.clear();
        self.tmp.extend_from_slice(&a[pa..pa + na]);
        let tmp = std::mem::take(&mut self.tmp);
        let less = &mut *self.less;
        let mut dest = pa;
        let mut ta = 0; // the next item of the first run, in `tmp`
        a[dest] = a[pb];
        dest += 1;
        pb += 1;
        nb -= 1;
        let mut min_gallop = self.min_gallop;
        let exit = 'merge: {
            if nb == 0 {
                break 'merge Exit::Done;
            }
            if na == 1 {
                break 'merge Exit::CopyRest;
            }
            loop {
                let mut acount = 0; // wins of the first run in a row
                let mut bcount = 0; // wins of the second run in a row
                loop {
                    if cmp!(less(a[pb], tmp[ta]), 'merge) {
                        a[dest] = a[pb];
                        dest += 1;
                        pb += 1;
                        bcount += 1;
                        acount = 0;
                        nb -= 1;
                        if nb == 0 {
                            break 'merge Exit::Done;
                        }
                        if bcount >= min_gallop {
                            break;
                        }
                    } else {
                        a[dest] = tmp[ta];
                        dest += 1;
                        ta += 1;
                        acount += 1;
                        bcount = 0;
                        na -= 1;
                        if na == 1 {
                            break 'merge Exit::CopyRest;
                        }
                        if acount >= min_gallop {
                            break;
                        }
                    }
                }
                // One run keeps winning: gallop until neither does.
                min_gallop += 1;
                loop {
                    min_gallop -= usize::from(min_gallop > 1);
                    self.min_gallop = min_gallop;
                    let k = cmp!(gallop_right(less, a[pb], &tmp[ta..ta + na], 0), 'merge);
                    acount = k;
                    if k > 0 {
                        a[dest..dest + k].copy_from_slice(&tmp[ta..ta + k]);
                        dest += k;
                        ta += k;
                        na -= k;
                        if na == 1 {
                            break 'merge Exit::CopyRest;
                        }
                        // Only with an inconsistent comparison.
                        if na == 0 {
                            break 'merge Exit::Done;
                        }
                    }
                    a[dest] = a[pb];
                    dest += 1;
                    pb += 1;
                    nb -= 1;
                    if nb == 0 {
                        break 'merge Exit::Done;
                    }
                    let k = cmp!(gallop_left(less, tmp[ta], &a[pb..pb + nb], 0), 'merge);
                    bcount = k;
                    if k > 0 {
                        a.copy_within(pb..pb + k, dest);
                        dest += k;
                        pb += k;
                        nb -= k;
                        if nb == 0 {
                            break 'merge Exit::Done;
                        }
                    }
                    a[dest] = tmp[ta];
                    dest += 1;
                    ta += 1;
                    na -= 1;
                    if na == 1 {
                        break 'merge Exit::CopyRest;
                    }
                    if acount < MIN_GALLOP && bcount < MIN_GALLOP {
                        break;
                    }
                }
                min_gallop += 1; // penalise leaving galloping mode
                self.min_gallop = min_gallop;
            }
        };
        let result = match exit {
            Exit::CopyRest => {
                // The last item of the first run goes after all of the second.
                a.copy_within(pb..pb + nb, dest);
                a[dest + nb] = tmp[ta];
                Ok(())
            }
            Exit::Done | Exit::Failed(_) => {
                a[dest..dest + na].copy_from_slice(&tmp[ta..ta + na]);
                match exit {
                    Exit::Failed(e) => Err(e),
                    _ => Ok(()),
                }
            }
        };
        self.tmp = tmp;
        result
    }

    /// CPython's `merge_hi`: as `merge_lo` with `na >= nb`, copying the second run out to the
    /// buffer and filling from the right. Positions that step below the start wrap (and are
    /// then never read).
    fn merge_hi(
        &mut self,
        a: &mut [usize],
        base_a: usize,
        mut na: usize,
        pb0: usize,
        mut nb: usize,
    ) -> Result<(), E> {
        self.tmp.clear();
        self.tmp.extend_from_slice(&a[pb0..pb0 + nb]);
        let tmp = std::mem::take(&mut self.tmp);
        let less = &mut *self.less;
        let mut dest = pb0 + nb - 1;
        let mut pa = base_a + na - 1; // the last item of the first run, in `a`
        let mut tb = nb - 1; // the last item of the second run, in `tmp`
        a[dest] = a[pa];
        dest = dest.wrapping_sub(1);
        pa = pa.wrapping_sub(1);
        na -= 1;
        let mut min_gallop = self.min_gallop;
        let exit = 'merge: {
            if na == 0 {
                break 'merge Exit::Done;
            }
            if nb == 1 {
                break 'merge Exit::CopyRest;
            }
            loop {
                let mut acount = 0;
                let mut bcount = 0;
                loop {
                    if cmp!(less(tmp[tb], a[pa]), 'merge) {
                        a[dest] = a[pa];
                        dest = dest.wrapping_sub(1);
                        pa = pa.wrapping_sub(1);
                        acount += 1;
                        bcount = 0;
                        na -= 1;
                        if na == 0 {
                            break 'merge Exit::Done;
                        }
                        if acount >= min_gallop {
                            break;
                        }
                    } else {
                        a[dest] = tmp[tb];
                        dest = dest.wrapping_sub(1);
                        tb = tb.wrapping_sub(1);
                        bcount += 1;
                        acount = 0;
                        nb -= 1;
                        if nb == 1 {
                            break 'merge Exit::CopyRest;
                        }
                        if bcount >= min_gallop {
                            break;
                        }
                    }
                }
                min_gallop += 1;
                loop {
                    min_gallop -= usize::from(min_gallop > 1);
                    self.min_gallop = min_gallop;
                    let k = cmp!(
                        gallop_right(less, tmp[tb], &a[base_a..base_a + na], na - 1),
                        'merge
                    );
                    let k = na - k;
                    acount = k;
                    if k > 0 {
                        dest = dest.wrapping_sub(k);
                        pa = pa.wrapping_sub(k);
                        a.copy_within(
                            pa.wrapping_add(1)..pa.wrapping_add(1) + k,
                            dest.wrapping_add(1),
                        );
                        na -= k;
                        if na == 0 {
                            break 'merge Exit::Done;
                        }
                    }
                    a[dest] = tmp[tb];
                    dest = dest.wrapping_sub(1);
                    tb = tb.wrapping_sub(1);
                    nb -= 1;
                    if nb == 1 {
                        break 'merge Exit::CopyRest;
                    }
                    let k = cmp!(gallop_left(less, a[pa], &tmp[..nb], nb - 1), 'merge);
                    let k = nb - k;
                    bcount = k;
                    if k > 0 {
                        dest = dest.wrapping_sub(k);
                        tb = tb.wrapping_sub(k);
                        let (d, t) = (dest.wrapping_add(1), tb.wrapping_add(1));
                        a[d..d + k].copy_from_slice(&tmp[t..t + k]);
                        nb -= k;
                        if nb == 1 {
                            break 'merge Exit::CopyRest;
                        }
                        // Only with an inconsistent comparison.
                        if nb == 0 {
                            break 'merge Exit::Done;
                        }
                    }
                    a[dest] = a[pa];
                    dest = dest.wrapping_sub(1);
                    pa = pa.wrapping_sub(1);
                    na -= 1;
                    if na == 0 {
                        break 'merge Exit::Done;
                    }
                    if acount < MIN_GALLOP && bcount < MIN_GALLOP {
                        break;
                    }
                }
                min_gallop += 1;
                self.min_gallop = min_gallop;
            }
        };
        let result = match exit {
            Exit::CopyRest => {
                // The first item of the second run goes before all of the first.
                let from = pa + 1 - na;
                a.copy_within(from..from + na, dest + 1 - na);
                a[dest - na] = tmp[tb];
                Ok(())
            }
            Exit::Done | Exit::Failed(_) => {
                if nb > 0 {
                    let d = dest.wrapping_sub(nb - 1);
                    a[d..d + nb].copy_from_slice(&tmp[..nb]);
                }
                match exit {
                    Exit::Failed(e) => Err(e),
                    _ => Ok(()),
                }
            }
        };
        self.tmp = tmp;
        result
    }

    /// CPython's `merge_at`: merge the runs at stack positions `i` and `i + 1`, skipping the
    /// items of either run already in place.
    fn merge_at(&mut self, a: &mut [usize], i: usize) -> Result<(), E> {
        let Run {
            base: pa, len: na, ..
        } = self.pending[i];
        let Run {
            base: pb, len: nb, ..
        } = self.pending[i + 1];
        self.pending[i].len = na + nb;
        if i + 3 == self.pending.len() {
            self.pending[i + 1] = self.pending[i + 2];
        }
        self.pending.pop();
        let k = gallop_right(self.less, a[pb], &a[pa..pa + na], 0)?;
        let (pa, na) = (pa + k, na - k);
        if na == 0 {
            return Ok(());
        }
        let nb = gallop_left(self.less, a[pa + na - 1], &a[pb..pb + nb], nb - 1)?;
        if nb == 0 {
            return Ok(());
        }
        if na <= nb {
            self.merge_lo(a, pa, na, pb, nb)
        } else {
            self.merge_hi(a, pa, na, pb, nb)
        }
    }

    /// CPython's `found_new_run`: before a run of `n2` items is pushed, merge the runs on the
    /// stack whose power is greater than that of the run now on top.
    fn found_new_run(&mut self, a: &mut [usize], n2: usize) -> Result<(), E> {
        if let Some(top) = self.pending.last() {
            let power = powerloop(top.base, top.len, n2, self.len);
            while self.pending.len() > 1 && self.pending[self.pending.len() - 2].power > power {
                self.merge_at(a, self.pending.len() - 2)?;
            }
            if let Some(top) = self.pending.last_mut() {
                top.power = power;
            }
        }
        Ok(())
    }

    /// CPython's `merge_force_collapse`: merge what is left on the stack into one run.
    fn force_collapse(&mut self, a: &mut [usize]) -> Result<(), E> {
        while self.pending.len() > 1 {
            let mut n = self.pending.len() - 2;
            if n > 0 && self.pending[n - 1].len < self.pending[n + 1].len {
                n -= 1;
            }
            self.merge_at(a, n)?;
        }
        Ok(())
    }
}

/// CPython's `list.sort` on a permutation `a` of item indices, comparing items by `less`; on
/// error `a` is still a permutation.
pub fn timsort<E>(
    a: &mut [usize],
    less: &mut impl FnMut(usize, usize) -> Result<bool, E>,
) -> Result<(), E> {
    let n = a.len();
    if n < 2 {
        return Ok(());
    }
    let mut ms = Merge {
        less,
        pending: Vec::new(),
        min_gallop: MIN_GALLOP,
        tmp: Vec::new(),
        len: n,
    };
    let minrun = compute_minrun(n);
    let mut lo = 0;
    let mut remaining = n;
    while remaining > 0 {
        let (mut run, descending) = ms.count_run(a, lo, remaining)?;
        if descending {
            a[lo..lo + run].reverse();
        }
        if run < minrun {
            let force = remaining.min(minrun);
            ms.binarysort(a, lo, lo + force, lo + run)?;
            run = force;
        }
        ms.found_new_run(a, run)?;
        ms.pending.push(Run {
            base: lo,
            len: run,
            power: 0,
        });
        lo += run;
        remaining -= run;
    }
    ms.force_collapse(a)
}

/// Put `items` in the order `perm` (a permutation of their indices) gives: item `k` becomes
/// the one at `perm[k]`. In place, one cycle of the permutation at a time; `perm` is used up.
fn permute<T>(items: &mut [T], perm: &mut [usize]) {
    const DONE: usize = usize::MAX;
    for start in 0..perm.len() {
        let mut k = start;
        while perm[k] != DONE {
            let src = perm[k];
            perm[k] = DONE;
            if src == start {
                break;
            }
            items.swap(k, src);
            k = src;
        }
    }
}

/// Sort values as `sorted(items, key=key, reverse=reverse)` does. When `key` raises, `items` is
/// left as it was; when a comparison raises, in the order the sort had reached (as CPython's).
pub fn sort_values(
    interp: &mut Interp,
    items: &mut [Value],
    key: Option<&Value>,
    reverse: bool,
) -> PyResult<()> {
    let key = key.filter(|k| !k.is_none());
    let keys: Vec<Value> = match key {
        Some(f) => {
            let mut keys = Vec::with_capacity(items.len());
            for v in items.iter() {
                keys.push(interp.call(f, std::slice::from_ref(v))?);
            }
            keys
        }
        None => Vec::new(),
    };
    let keys: &[Value] = if key.is_some() { &keys } else { items };
    let n = keys.len();
    let mut perm: Vec<usize> = (0..n).collect();
    if let Some(order) = total_order(keys) {
        // No program can see these comparisons, and a stable sort by a total order has one
        // answer: Rust's adaptive stable sort gives it (descending for `reverse`, equal keys
        // still in their original order, as CPython's reverse-sort-reverse leaves them).
        perm.sort_by(|&i, &j| {
            let o = order(&keys[i], &keys[j]);
            if reverse {
                o.reverse()
            } else {
                o
            }
        });
    } else {
        // Timsort sees the reversed list for `reverse=True`, and its result is reversed back.
        if reverse {
            perm.reverse();
        }
        let sorted = timsort(&mut perm, &mut |i, j| interp.lt(&keys[i], &keys[j]));
        if reverse {
            perm.reverse();
        }
        // After a failed comparison the items stay as far as the sort had moved them, as
        // CPython leaves a list whose sort raised.
        permute(items, &mut perm);
        return sorted;
    }
    permute(items, &mut perm);
    Ok(())
}

/// For keys all ints, all strs, or all floats none of which is a NaN, the order CPython's `<`
/// gives them (a total order), compared without the general protocol; `None` for other keys.
pub(crate) fn total_order(keys: &[Value]) -> Option<fn(&Value, &Value) -> std::cmp::Ordering> {
    fn ints(a: &Value, b: &Value) -> std::cmp::Ordering {
        match (a, b) {
            (Value::Int(x), Value::Int(y)) => x.cmp(y),
            _ => std::cmp::Ordering::Equal,
        }
    }
    fn strs(a: &Value, b: &Value) -> std::cmp::Ordering {
        // UTF-8 byte order is code point order, CPython's order of strs.
        match (a, b) {
            (Value::Str(x), Value::Str(y)) => x.as_str().cmp(y.as_str()),
            _ => std::cmp::Ordering::Equal,
        }
    }
    fn floats(a: &Value, b: &Value) -> std::cmp::Ordering {
        match (a, b) {
            (Value::Float(x), Value::Float(y)) => {
                x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal)
            }
            _ => std::cmp::Ordering::Equal,
        }
    }
    match keys.first()? {
        Value::Int(_) if keys.iter().all(|k| matches!(k, Value::Int(_))) => Some(ints),
        Value::Str(_) if keys.iter().all(|k| matches!(k, Value::Str(_))) => Some(strs),
        Value::Float(_)
            if keys
                .iter()
                .all(|k| matches!(k, Value::Float(f) if !f.is_nan())) =>
        {
            Some(floats)
        }
        _ => None,
    }
}
