//! Stage 4 (VM), the interpreter.
//! Subscripts: `obj[key]`, `obj[key] = v`, `del obj[key]`, including slices with steps.

use crate::builtins::bytes_methods;
use crate::heap::Ref;
use crate::interp::ops::{as_number, Num};
use crate::interp::Interp;
use crate::object::{builtin_base, type_name, ExcKind, Range, Slice};
use crate::value::Value;
use crate::{err, PyErr, PyResult};

/// Resolved slice bounds for a sequence of a given length (CPython's `PySlice_AdjustIndices`).
#[derive(Debug, Clone, Copy)]
pub struct SliceIdx {
    pub start: i64,
    pub stop: i64,
    pub step: i64,
    pub len: usize,
}

impl SliceIdx {
    pub fn indices(&self) -> impl Iterator<Item = usize> {
        let s = *self;
        (0..s.len).map(move |i| (s.start + i as i64 * s.step) as usize)
    }

    /// The selected items of `items` (which the bounds were computed for), in one exact
    /// allocation: a contiguous copy for a step of 1.
    pub fn select<T: Clone>(&self, items: &[T]) -> Vec<T> {
        if self.step == 1 {
            let start = (self.start.max(0) as usize).min(items.len());
            let stop = start.saturating_add(self.len).min(items.len());
            return items.get(start..stop).map_or_else(Vec::new, <[T]>::to_vec);
        }
        if self.step == -1 && self.len > 0 {
            // `a[k::-1]`, `a[::-1]`: the run `start - len + 1 ..= start`, copied backwards
            // (one pass over a slice, no index arithmetic or bounds test per item).
            let hi = self.start as usize;
            if let Some(part) = (hi + 1)
                .checked_sub(self.len)
                .and_then(|lo| items.get(lo..=hi))
            {
                let mut out = Vec::with_capacity(self.len);
                out.extend(part.iter().rev().cloned());
                return out;
            }
        }
        let mut out = Vec::with_capacity(self.len);
        out.extend(self.indices().filter_map(|i| items.get(i).cloned()));
        out
    }
}

/// The bounds of a slice whose start, stop and step are each None or an int (not a bool, a big
/// int or an object with `__index__`), for a sequence of `len` items: `slice_bounds`'s answer
/// without its conversions to `PyResult`s, which cost more than the arithmetic on the common
/// slices (`a[k::-1]`, `a[:k]`). `None` for any other slice, and for a zero step (whose error
/// the general path raises).
#[inline]
fn int_slice(s: &Slice, len: usize) -> Option<SliceIdx> {
    // As `adjust_slice`: a step of i64::MIN selects what -i64::MAX does (at most one item).
    let step = match unit_bound(&s.step)? {
        None => 1,
        Some(0) => return None,
        Some(i) => i.max(-i64::MAX),
    };
    let (a, b) = (unit_bound(&s.start)?, unit_bound(&s.stop)?);
    let len = i64::try_from(len).ok()?;
    // Every bound ends in -1..=len, and `i + len` cannot overflow for i < 0 (`len` fits).
    let clamp = |v: Option<i64>, default: i64| match v {
        None => default,
        Some(i) if i < 0 => {
            let j = i + len;
            if j < 0 {
                if step < 0 {
                    -1
                } else {
                    0
                }
            } else {
                j
            }
        }
        Some(i) if i >= len => {
            if step < 0 {
                len - 1
            } else {
                len
            }
        }
        Some(i) => i,
    };
    let (dstart, dstop) = if step < 0 { (len - 1, -1) } else { (0, len) };
    let (start, stop) = (clamp(a, dstart), clamp(b, dstop));
    // The count, as `slice_bounds` works it out (`start - stop` and `stop - start` lie within
    // -len-1..=len+1).
    let n = if step < 0 {
        if stop < start {
            (start - stop - 1) / -step + 1
        } else {
            0
        }
    } else if start < stop {
        (stop - start - 1) / step + 1
    } else {
        0
    };
    Some(SliceIdx {
        start,
        stop,
        step,
        len: n as usize,
    })
}

/// `obj[start:stop]` (`BinarySlice`) for a list or tuple and int or None bounds, with no slice
/// object made: a new list, or a tuple (the tuple itself when all of it is taken, CPython's
/// `t[:] is t`); `None` for anything else, which takes the general path with a slice object.
#[inline]
pub(crate) fn unit_slice_fast(obj: &Value, start: &Value, stop: &Value) -> Option<Value> {
    match obj {
        Value::List(l) => {
            let items = l.items.read();
            let part = items.get(unit_range(start, stop, items.len())?)?;
            Some(Value::list(part.to_vec()))
        }
        Value::Tuple(t) => {
            let r = unit_range(start, stop, t.items.len())?;
            if r.len() == t.items.len() {
                return Some(obj.clone());
            }
            Some(Value::tuple(t.items.get(r)?.to_vec()))
        }
        _ => None,
    }
}

/// A slice bound that is None or an int: `Some(None)` / `Some(Some(i))`; `None` for any other
/// kind (the general path converts or rejects it).
#[inline(always)]
fn unit_bound(v: &Value) -> Option<Option<i64>> {
    match v {
        Value::None => Some(None),
        Value::Int(i) => Some(Some(*i)),
        _ => None,
    }
}

/// The positions `a..b` that the bounds `start` and `stop` (ints or None) of a slice with no
/// step select from a sequence of `len` items (CPython's clamping for a step of 1); `None`
/// for any other bound.
#[inline(always)]
fn unit_range(start: &Value, stop: &Value, len: usize) -> Option<std::ops::Range<usize>> {
    let (a, b) = (unit_bound(start)?, unit_bound(stop)?);
    let len = i64::try_from(len).ok()?;
    let clamp = |v: Option<i64>, default: i64| match v {
        None => default,
        Some(i) if i < 0 => i.saturating_add(len).max(0),
        Some(i) => i.min(len),
    };
    let start = clamp(a, 0);
    let stop = clamp(b, len).max(start);
    Some(usize::try_from(start).ok()?..usize::try_from(stop).ok()?)
}

fn slice_part(v: &Value) -> PyResult<Option<i128>> {
    match v {
        Value::None => Ok(None),
        Value::Int(i) => Ok(Some(i128::from(*i))),
        Value::Bool(b) => Ok(Some(i128::from(*b))),
        // Exact where it fits (a range may have 2**64 - 1 members); a bigger bound is past either
        // end of any sequence: clamp it.
        Value::BigInt(b) => Ok(Some(big_index(b).unwrap_or(
            if b.sign() == crate::num::bigint::Sign::Minus {
                -BIG_BOUND
            } else {
                BIG_BOUND
            },
        ))),
        _ => Err(err!(
            TypeError,
            "slice indices must be integers or None or have an __index__ method"
        )),
    }
}

/// Past any sequence's end, and far from overflowing i128 arithmetic on it.
const BIG_BOUND: i128 = 1 << 100;

/// A big int as an i128 index, if it is within `BIG_BOUND`.
fn big_index(b: &crate::num::BigInt) -> Option<i128> {
    use num_traits::ToPrimitive;
    b.to_i128().filter(|i| i.abs() < BIG_BOUND)
}

pub fn adjust_slice(s: &Slice, len: usize) -> PyResult<SliceIdx> {
    let (start, stop, step, n) = slice_bounds(s, len as i128)?;
    // Every bound lies in -1..=len, so those casts are exact; a step of i64::MAX or more
    // selects what a step of i64::MAX does (at most the first item).
    let max = i128::from(i64::MAX);
    Ok(SliceIdx {
        start: start as i64,
        stop: stop as i64,
        step: step.clamp(-max, max) as i64,
        len: n as usize,
    })
}

/// `del v[slice]`: remove the items the slice selects, in one pass over `v` (a step of 1 is
/// one `drain`). Removing them one by one would move the tail once per item: `del buf[:n]`
/// on a large bytearray (asyncio's write buffers, a StreamReader) took minutes.
pub fn delete_slice<T>(v: &mut Vec<T>, idx: &SliceIdx) {
    if idx.len == 0 {
        return;
    }
    if idx.step == 1 {
        let start = (idx.start.max(0) as usize).min(v.len());
        let end = start.saturating_add(idx.len).min(v.len());
        v.drain(start..end);
        return;
    }
    let mut doomed = vec![false; v.len()];
    for i in idx.indices() {
        if let Some(flag) = doomed.get_mut(i) {
            *flag = true;
        }
    }
    let mut at = 0;
    v.retain(|_| {
        let keep = !doomed.get(at).copied().unwrap_or(false);
        at += 1;
        keep
    });
}

/// CPython's `PySlice_AdjustIndices` for a sequence of `len` items: the clamped start and stop,
/// the step and the number of selected items. Computed in i128 so that no step or bound a program
/// can write (`x[::-2**63]`, a range with 2**64 - 1 items) overflows.
pub fn slice_bounds(s: &Slice, len: i128) -> PyResult<(i128, i128, i128, i128)> {
    // The common shape, `x[a:b]` with ints or None and no step: CPython's clamping for a
    // step of 1, without the general path's three conversions.
    if let (Value::None, Some(a), Some(b)) = (&s.step, unit_bound(&s.start), unit_bound(&s.stop)) {
        let clamp = |v: Option<i64>, default: i128| match v {
            None => default,
            Some(i) => {
                let i = i128::from(i);
                if i < 0 {
                    (i + len).max(0)
                } else {
                    i.min(len)
                }
            }
        };
        let (start, stop) = (clamp(a, 0), clamp(b, len));
        return Ok((start, stop, 1, (stop - start).max(0)));
    }
    let step = slice_part(&s.step)?.unwrap_or(1);
    if step == 0 {
        return Err(err!(ValueError, "slice step cannot be zero"));
    }
    let clamp = |v: Option<i128>, default: i128| -> i128 {
        match v {
            None => default,
            Some(mut i) => {
                if i < 0 {
                    i += len;
                    if i < 0 {
                        i = if step < 0 { -1 } else { 0 };
                    }
                } else if i >= len {
                    i = if step < 0 { len - 1 } else { len };
                }
                i
            }
        }
    };
    let (dstart, dstop) = if step < 0 { (len - 1, -1) } else { (0, len) };
    let start = clamp(slice_part(&s.start)?, dstart);
    let stop = clamp(slice_part(&s.stop)?, dstop);
    let n = if step == 1 {
        (stop - start).max(0)
    } else if step == -1 {
        (start - stop).max(0)
    } else if step < 0 {
        if stop < start {
            (start - stop - 1) / (-step) + 1
        } else {
            0
        }
    } else if start < stop {
        (stop - start - 1) / step + 1
    } else {
        0
    };
    Ok((start, stop, step, n))
}

/// A normalised index into a sequence of `len` items, or `None` if out of range.
#[inline]
pub fn seq_index(i: i64, len: usize) -> Option<usize> {
    let j = if i < 0 { i.checked_add(len as i64)? } else { i };
    if j >= 0 && (j as usize) < len {
        Some(j as usize)
    } else {
        None
    }
}

fn index_of(key: &Value, what: &str) -> PyResult<i64> {
    match as_number(key) {
        Some(Num::Int(i)) => Ok(i),
        Some(Num::Big(_)) => Err(err!(
            IndexError,
            "cannot fit 'int' into an index-sized integer"
        )),
        // CPython 3.11's str words it without slices, and quotes the type.
        _ if what == "string" => Err(err!(
            TypeError,
            "string indices must be integers, not '{}'",
            type_name(key)
        )),
        _ => Err(err!(
            TypeError,
            "{what} indices must be integers or slices, not {}",
            type_name(key)
        )),
    }
}

impl Interp {
    /// CPython's `operator.index(v)` (`PyNumber_Index`): an int as itself, an int subclass as its
    /// value, an object with `__index__` as what that returns (it must be an int); `None` for
    /// anything else (floats included), so the caller words its own `TypeError`.
    pub fn number_index(&mut self, v: &Value) -> PyResult<Option<Value>> {
        match v {
            Value::Int(_) | Value::BigInt(_) | Value::Bool(_) => return Ok(Some(v.clone())),
            Value::Instance(_) => {}
            _ => return Ok(None),
        }
        if let Some(base) =
            builtin_base(v).filter(|b| matches!(b, Value::Int(_) | Value::BigInt(_)))
        {
            return Ok(Some(base.clone()));
        }
        let Some(f) = self.lookup_special(v, "__index__") else {
            return Ok(None);
        };
        match self.call(&f, std::slice::from_ref(v))? {
            i @ (Value::Int(_) | Value::Bool(_) | Value::BigInt(_)) => Ok(Some(i)),
            other => Err(err!(
                TypeError,
                "__index__ returned non-int (type {})",
                type_name(&other)
            )),
        }
    }

    /// An integer argument of a native function as an `i64`: `to_index`, with an object's
    /// `__index__` honoured first (`bin(x)`, `chr(x)`, `round(f, x)`, `s.center(x)`).
    pub fn index_arg(&mut self, v: &Value) -> PyResult<i64> {
        if let Value::Instance(_) = v {
            if let Some(i) = self.number_index(v)? {
                return crate::builtins::args::to_index(&i);
            }
        }
        crate::builtins::args::to_index(v)
    }

    /// A slice whose bounds include objects with `__index__`, with those replaced by their ints
    /// (`None` if no bound needs it), so the slice arithmetic below sees only ints.
    fn slice_with_ints(&mut self, key: &Value) -> PyResult<Option<Value>> {
        let Value::Slice(s) = key else {
            return Ok(None);
        };
        let parts = [&s.start, &s.stop, &s.step];
        if !parts.iter().any(|p| matches!(p, Value::Instance(_))) {
            return Ok(None);
        }
        let mut ints = Vec::with_capacity(3);
        for p in parts {
            ints.push(match p {
                Value::Instance(_) => self.number_index(p)?.unwrap_or_else(|| p.clone()),
                other => other.clone(),
            });
        }
        let [start, stop, step]: [Value; 3] = match ints.try_into() {
            Ok(a) => a,
            Err(_) => return Ok(None),
        };
        Ok(Some(Value::Slice(Ref::new(Slice { start, stop, step }))))
    }

    /// An instance with `__index__` used to index a sequence (or in a slice's bounds): the int
    /// (or all-int slice) it stands for.
    fn instance_index(&mut self, obj: &Value, key: &Value) -> PyResult<Option<Value>> {
        if !matches!(
            obj,
            Value::List(_)
                | Value::Tuple(_)
                | Value::Str(_)
                | Value::Range(_)
                | Value::Bytes(_)
                | Value::ByteArray(_)
        ) {
            return Ok(None);
        }
        match key {
            Value::Instance(_) => self.number_index(key),
            Value::Slice(_) => self.slice_with_ints(key),
            _ => Ok(None),
        }
    }

    /// `obj[key]`
    pub fn getitem(&mut self, obj: &Value, key: &Value) -> PyResult<Value> {
        // `l[a:b]` / `t[a:b]`, bounds ints or None and no step (`rows[50:]`, `row[1:]`): the
        // items copied in one go (CPython's `list_slice`), without the general path's
        // conversions and arithmetic (callgrind: ~100 instructions of ~430 a slice). The same
        // path BINARY_SLICE takes when no slice object was made.
        if let Value::Slice(s) = key {
            if matches!(s.step, Value::None) {
                if let Some(part) = unit_slice_fast(obj, &s.start, &s.stop) {
                    return Ok(part);
                }
            }
            // Any other step with int bounds on a list (`perm[k::-1]`, `a[::2]`).
            if let Value::List(l) = obj {
                let items = l.items.read();
                if let Some(idx) = int_slice(s, items.len()) {
                    return Ok(Value::list(idx.select(&items)));
                }
            }
        }
        if let Some(k) = self.instance_index(obj, key)? {
            return self.getitem(obj, &k);
        }
        match obj {
            Value::List(l) => match key {
                Value::Slice(s) => {
                    let items = l.items.read();
                    let idx = adjust_slice(s, items.len())?;
                    Ok(Value::list(idx.select(&items)))
                }
                _ => {
                    let i = index_of(key, "list")?;
                    let items = l.items.lock();
                    seq_index(i, items.len())
                        .and_then(|j| items.get(j).cloned())
                        .ok_or_else(|| err!(IndexError, "list index out of range"))
                }
            },
            Value::Tuple(t) => match key {
                Value::Slice(s) => {
                    let idx = adjust_slice(s, t.items.len())?;
                    // A tuple cannot change: all of it, in order, is itself (CPython's `t[:] is t`).
                    if idx.step == 1 && idx.len == t.items.len() {
                        return Ok(obj.clone());
                    }
                    Ok(Value::tuple(idx.select(&t.items)))
                }
                _ => {
                    let i = index_of(key, "tuple")?;
                    seq_index(i, t.items.len())
                        .and_then(|j| t.items.get(j).cloned())
                        .ok_or_else(|| err!(IndexError, "tuple index out of range"))
                }
            },
            Value::Str(s) => match key {
                Value::Slice(sl) => {
                    let idx = adjust_slice(sl, s.char_len())?;
                    if s.is_ascii() {
                        // ASCII: characters are bytes, and a step-1 slice is one copy.
                        if idx.step == 1 {
                            let lo = idx.start.max(0) as usize;
                            let part = s.as_str().get(lo..lo + idx.len).unwrap_or("");
                            return Ok(Value::str(part));
                        }
                        let b = s.as_str().as_bytes();
                        let out: String = idx
                            .indices()
                            .filter_map(|i| b.get(i).map(|&c| c as char))
                            .collect();
                        return Ok(Value::string(out));
                    }
                    // Only the characters between the slice's ends are decoded.
                    let (lo, hi) = match idx.len {
                        0 => (0, 0),
                        n => {
                            let last = idx.start + (n as i64 - 1) * idx.step;
                            (
                                idx.start.min(last) as usize,
                                idx.start.max(last) as usize + 1,
                            )
                        }
                    };
                    let window = s.char_slice(lo, hi);
                    if idx.step == 1 {
                        return Ok(Value::str(window));
                    }
                    let chars: Vec<char> = window.chars().collect();
                    Ok(Value::string(
                        idx.indices().filter_map(|i| chars.get(i - lo)).collect(),
                    ))
                }
                _ => {
                    let i = index_of(key, "string")?;
                    let c = seq_index(i, s.char_len())
                        .and_then(|j| s.char_at(j))
                        .ok_or_else(|| err!(IndexError, "string index out of range"))?;
                    Ok(Value::char(c))
                }
            },
            Value::Bytes(b) => bytes_methods::getitem(obj, b.as_bytes(), key),
            Value::ByteArray(b) => bytes_methods::getitem(obj, &b.snapshot(), key),
            Value::Range(r) if r.big().is_some() => range_getitem_big(r, key),
            Value::Range(r) => match key {
                Value::Slice(sl) => {
                    // The slice of a range is a range: its bounds are the members at the clamped
                    // indices. They can fall outside i64 even when every member fits
                    // (`range(0, 2**63-1, 2**62)[::1]` stops at 2**63): a range beyond 64 bits.
                    let (start, stop, step, _) = slice_bounds(sl, r.len())?;
                    let step_of = i128::from(r.step);
                    let bounds = [
                        i128::from(r.start) + start * step_of,
                        i128::from(r.start) + stop * step_of,
                        step_of * step,
                    ];
                    let range = match bounds.map(i64::try_from) {
                        [Ok(a), Ok(b), Ok(c)] => Range::small(a, b, c),
                        _ => {
                            let [a, b, c] = bounds.map(crate::num::BigInt::from);
                            Range::from_big(a, b, c)
                        }
                    };
                    Ok(Value::Range(Ref::new(range)))
                }
                _ => {
                    // Exact, as CPython's: a range may have more than 2**63 members.
                    let i = match key {
                        Value::BigInt(b) => big_index(b).unwrap_or(BIG_BOUND),
                        _ => i128::from(index_of(key, "range")?),
                    };
                    let n = r.len();
                    let j = if i < 0 { i + n } else { i };
                    if j < 0 || j >= n {
                        return Err(err!(IndexError, "range object index out of range"));
                    }
                    Ok(Value::Int(r.at(j)))
                }
            },
            Value::Dict(d) => {
                // A key whose lookup runs no Python code is borrowed, not cloned.
                if let Some(hash) = crate::interp::containers::plain_hash(key) {
                    return match d.get_ref(crate::object::KeyRef { hash, value: key }) {
                        Some(v) => Ok(v),
                        None => Err(PyErr::with_args(ExcKind::KeyError, vec![key.clone()])),
                    };
                }
                match self.with_resolved_read(d, key, |map, k| map.get(&k).cloned())? {
                    Some(v) => Ok(v),
                    None => Err(PyErr::with_args(ExcKind::KeyError, vec![key.clone()])),
                }
            }
            Value::Instance(_) => {
                // `array` items are read without a method call.
                if let Some(r) = crate::stdlib::array::fast_getitem(obj, key) {
                    return r;
                }
                match self.lookup_special(obj, "__getitem__") {
                    Some(m) => self.call(&m, &[obj.clone(), key.clone()]),
                    None => match builtin_base(obj) {
                        Some(base) => self.base_getitem(obj, base, key),
                        None => Err(not_subscriptable(obj)),
                    },
                }
            }
            Value::Class(c) => match self.lookup_special(obj, "__getitem__") {
                // The metaclass's `__getitem__` (`Color['RED']`) wins over `__class_getitem__`.
                Some(m) => self.call(&m, &[obj.clone(), key.clone()]),
                None => {
                    let c = c.clone();
                    self.class_getitem(&c, key)
                }
            },
            _ => Err(not_subscriptable(obj)),
        }
    }

    /// `obj[key] = v`
    pub fn setitem(&mut self, obj: &Value, key: Value, v: Value) -> PyResult<()> {
        if let Some(k) = self.instance_index(obj, &key)? {
            return self.setitem(obj, k, v);
        }
        match obj {
            Value::List(l) => match &key {
                Value::Slice(s) => {
                    let mut new = match &v {
                        // A list nobody else holds (`a[:k] = a[k::-1]`'s temporary) gives up
                        // its items instead of copying them.
                        Value::List(vl) if Ref::count(vl) == 1 && !Ref::ptr_eq(vl, l) => {
                            std::mem::take(&mut *vl.items.lock())
                        }
                        Value::List(vl) => vl.snapshot(),
                        Value::Tuple(t) => t.items.to_vec(),
                        _ => self
                            .collect_iter(&v)
                            .map_err(|_| err!(TypeError, "can only assign an iterable"))?,
                    };
                    let mut items = l.items.lock();
                    let idx = match int_slice(s, items.len()) {
                        Some(idx) => idx,
                        None => adjust_slice(s, items.len())?,
                    };
                    if idx.step == 1 {
                        let start = idx.start.max(0) as usize;
                        let stop = (idx.stop.max(idx.start).max(0) as usize).min(items.len());
                        let start = start.min(items.len());
                        if let Some(dst) = items
                            .get_mut(start..stop)
                            .filter(|dst| dst.len() == new.len())
                        {
                            // Same length (`perm[:k + 1] = perm[k::-1]`): the new items swapped
                            // in, nothing moves; the old ones, now in `new`, are dropped once the
                            // list is released (dropping one may run a `__del__`).
                            dst.swap_with_slice(&mut new);
                            drop(items);
                            drop(new);
                        } else {
                            items.splice(start..stop, new);
                        }
                    } else {
                        if new.len() != idx.len {
                            return Err(err!(
                                ValueError,
                                "attempt to assign sequence of size {} to extended slice of size {}",
                                new.len(),
                                idx.len
                            ));
                        }
                        for (i, val) in idx.indices().zip(new) {
                            if let Some(slot) = items.get_mut(i) {
                                *slot = val;
                            }
                        }
                    }
                    Ok(())
                }
                _ => {
                    let i = index_of(&key, "list")?;
                    let mut items = l.items.lock();
                    let len = items.len();
                    match seq_index(i, len).and_then(|j| items.get_mut(j)) {
                        Some(slot) => {
                            *slot = v;
                            Ok(())
                        }
                        None => Err(err!(IndexError, "list assignment index out of range")),
                    }
                }
            },
            Value::Dict(d) => {
                // An instance's `__dict__`: the attribute follows once the key is stored.
                let owned = d.is_owned().then(|| key.clone());
                // A key whose lookup runs no Python code is stored with its hash, without the
                // resolution against keys that compare by a Python `__eq__` (`dict_key`).
                if let Some(hash) = crate::interp::containers::plain_hash(&key) {
                    d.set(crate::object::HashKey { hash, value: key }, v);
                } else {
                    let old = self.with_resolved(d, &key, |map, k| map.insert_full(k, v).1)?;
                    if let Some(old) = old {
                        old.discard();
                    }
                }
                if let Some(key) = owned {
                    crate::interp::views::owner_set(d, &key);
                }
                Ok(())
            }
            Value::ByteArray(b) => bytes_methods::setitem(self, b, &key, &v),
            Value::Instance(_) => {
                // `array` items are written without a method call.
                let v = match crate::stdlib::array::fast_setitem(obj, &key, v) {
                    Ok(done) => return done,
                    Err(v) => v,
                };
                match self.lookup_special(obj, "__setitem__") {
                    Some(m) => self.call(&m, &[obj.clone(), key, v]).map(|_| ()),
                    None => match builtin_base(obj) {
                        Some(base) => self.setitem(base, key, v),
                        None => Err(no_item_assignment(obj)),
                    },
                }
            }
            _ => Err(no_item_assignment(obj)),
        }
    }

    /// `del obj[key]`
    pub fn delitem(&mut self, obj: &Value, key: &Value) -> PyResult<()> {
        if let Some(k) = self.instance_index(obj, key)? {
            return self.delitem(obj, &k);
        }
        match obj {
            Value::List(l) => match key {
                Value::Slice(s) => {
                    let mut items = l.items.lock();
                    let idx = adjust_slice(s, items.len())?;
                    delete_slice(&mut *items, &idx);
                    Ok(())
                }
                _ => {
                    let i = index_of(key, "list")?;
                    let mut items = l.items.lock();
                    match seq_index(i, items.len()) {
                        Some(j) => {
                            items.remove(j);
                            Ok(())
                        }
                        None => Err(err!(IndexError, "list assignment index out of range")),
                    }
                }
            },
            Value::ByteArray(b) => bytes_methods::delitem(b, key),
            Value::Dict(d) => {
                let removed = self.with_resolved(d, key, |map, k| map.shift_remove(&k))?;
                match removed {
                    Some(old) => {
                        if d.is_owned() {
                            crate::interp::views::owner_del(d, key);
                        }
                        drop(old);
                        Ok(())
                    }
                    None => Err(PyErr::with_args(ExcKind::KeyError, vec![key.clone()])),
                }
            }
            Value::Instance(_) => match self.lookup_special(obj, "__delitem__") {
                Some(m) => self.call(&m, &[obj.clone(), key.clone()]).map(|_| ()),
                None if builtin_base(obj).is_some() => {
                    self.delitem(builtin_base(obj).unwrap_or(obj), key)
                }
                None => Err(err!(
                    TypeError,
                    "'{}' object doesn't support item deletion",
                    type_name(obj)
                )),
            },
            _ => Err(err!(
                TypeError,
                "'{}' object doesn't support item deletion",
                type_name(obj)
            )),
        }
    }
}

fn not_subscriptable(obj: &Value) -> PyErr {
    err!(
        TypeError,
        "'{}' object is not subscriptable",
        type_name(obj)
    )
}

fn no_item_assignment(obj: &Value) -> PyErr {
    err!(
        TypeError,
        "'{}' object does not support item assignment",
        type_name(obj)
    )
}

/// `r[key]` for a range beyond 64 bits (`Range::big`): a member, or for a slice the range of the
/// members it selects, computed on big ints as CPython's `range_subscript`.
fn range_getitem_big(r: &Range, key: &Value) -> PyResult<Value> {
    use crate::num::BigInt;
    use num_traits::{Signed, Zero};
    let Some(b) = r.big() else {
        return Err(err!(SystemError, "range_getitem_big: not a big range"));
    };
    let part = |v: &Value| -> PyResult<Option<BigInt>> {
        Ok(match v {
            Value::None => None,
            Value::Int(i) => Some(BigInt::from(*i)),
            Value::Bool(x) => Some(BigInt::from(*x as i64)),
            Value::BigInt(x) => Some((**x).clone()),
            _ => {
                return Err(err!(
                    TypeError,
                    "slice indices must be integers or None or have an __index__ method"
                ))
            }
        })
    };
    match key {
        Value::Slice(sl) => {
            // CPython's `_PySlice_GetLongIndices`: indices clamped to the length.
            let step = part(&sl.step)?.unwrap_or_else(|| BigInt::from(1));
            if step.is_zero() {
                return Err(err!(ValueError, "slice step cannot be zero"));
            }
            let len = &b.len;
            let (lower, upper) = if step.is_negative() {
                (BigInt::from(-1), len - 1u8)
            } else {
                (BigInt::zero(), len.clone())
            };
            let clamp = |v: Option<BigInt>, default: &BigInt| match v {
                None => default.clone(),
                Some(i) if i.is_negative() => (i + len).max(lower.clone()),
                Some(i) => i.min(upper.clone()),
            };
            let (dstart, dstop) = if step.is_negative() {
                (&upper, &lower)
            } else {
                (&lower, &upper)
            };
            let start = clamp(part(&sl.start)?, dstart);
            let stop = clamp(part(&sl.stop)?, dstop);
            Ok(Value::Range(Ref::new(Range::from_big(
                b.at(&start),
                b.at(&stop),
                &b.step * step,
            ))))
        }
        _ => {
            let i = match key {
                Value::BigInt(x) => (**x).clone(),
                _ => BigInt::from(index_of(key, "range")?),
            };
            let j = if i.is_negative() { i + &b.len } else { i };
            if j.is_negative() || j >= b.len {
                return Err(err!(IndexError, "range object index out of range"));
            }
            Ok(Value::from(b.at(&j)))
        }
    }
}
