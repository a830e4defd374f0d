//! A stable merge sort whose comparison may fail (it runs Python `<`): the first error stops the sort.
//!
//! `sorted()` and `list.sort()` use only `<` (as CPython does), with `reverse=True` done by reversing,
//! sorting stably and reversing again so equal elements keep their original order.

use crate::error::PyResult;
use crate::interp::Interp;
use crate::value::Value;

/// Sort `items` stably by `less`; on error the slice holds some permutation of its items.
pub fn merge_sort_by<T: Clone, E>(
    items: &mut Vec<T>,
    less: &mut impl FnMut(&T, &T) -> Result<bool, E>,
) -> Result<(), E> {
    let n = items.len();
    if n < 2 {
        return Ok(());
    }
    // Insertion-sort short runs, then merge runs bottom-up.
    const RUN: usize = 16;
    let mut start = 0;
    while start < n {
        let end = (start + RUN).min(n);
        for i in start + 1..end {
            let mut j = i;
            while j > start {
                if less(&items[j], &items[j - 1])? {
                    items.swap(j, j - 1);
                    j -= 1;
                } else {
                    break;
                }
            }
        }
        start = end;
    }
    let mut width = RUN;
    let mut buf: Vec<T> = Vec::with_capacity(n);
    while width < n {
        buf.clear();
        let mut lo = 0;
        while lo < n {
            let mid = (lo + width).min(n);
            let hi = (lo + 2 * width).min(n);
            let (mut i, mut j) = (lo, mid);
            while i < mid && j < hi {
                // Take from the right run only when strictly less: keeps the sort stable.
                if less(&items[j], &items[i])? {
                    buf.push(items[j].clone());
                    j += 1;
                } else {
                    buf.push(items[i].clone());
                    i += 1;
                }
            }
            buf.extend_from_slice(&items[i..mid]);
            buf.extend_from_slice(&items[j..hi]);
            lo = hi;
        }
        std::mem::swap(items, &mut buf);
        width *= 2;
    }
    Ok(())
}

/// Sort values as `sorted(items, key=key, reverse=reverse)` does.
pub fn sort_values(
    interp: &mut Interp,
    items: Vec<Value>,
    key: Option<&Value>,
    reverse: bool,
) -> PyResult<Vec<Value>> {
    let key = key.filter(|k| !k.is_none());
    let mut pairs: Vec<(Value, Value)> = Vec::with_capacity(items.len());
    for v in items {
        let k = match key {
            Some(f) => interp.call(f, std::slice::from_ref(&v))?,
            None => v.clone(),
        };
        pairs.push((k, v));
    }
    if reverse {
        pairs.reverse();
    }
    merge_sort_by(&mut pairs, &mut |a: &(Value, Value), b: &(Value, Value)| {
        interp.lt(&a.0, &b.0)
    })?;
    if reverse {
        pairs.reverse();
    }
    Ok(pairs.into_iter().map(|(_, v)| v).collect())
}
