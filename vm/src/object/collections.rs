//! Stage 4 (VM), heap objects.
//! Python's containers: `tuple`, `list`, `dict`, `set`, each mutable one keeping its contents in an object cell.

use std::hash::{Hash, Hasher};

use std::sync::atomic::{AtomicU64, Ordering};

use crate::heap::{Busy, CellMut, CellRef, ObjCell, Ref, ValueArray};
use indexmap::IndexMap;

use crate::value::Value;

/// A tuple's items are one block from the object pool ([`ValueArray`]), not a `Box<[Value]>`
/// from the general allocator.
pub struct Tuple {
    pub items: ValueArray,
}

impl Tuple {
    pub fn new(items: Vec<Value>) -> Tuple {
        Tuple {
            items: ValueArray::from_vec(items),
        }
    }
}

/// A list's items sit in its object cell: with the GIL off, threads appending to one list stay
/// memory safe (they may interleave, as in free-threaded CPython, but never corrupt it).
pub struct List {
    pub items: ObjCell<Vec<Value>>,
}

/// CPython frees a list's or tuple's items from the last to the first; that order shows when
/// the items have `__del__`, so then minivm follows it (otherwise the order is unobservable).
pub fn drop_reversed(items: &mut [Value]) {
    if crate::interp::finalize::ANY_DEL.load(std::sync::atomic::Ordering::Relaxed) {
        for v in items.iter_mut().rev() {
            drop(std::mem::take(v));
        }
    }
}

impl Drop for List {
    fn drop(&mut self) {
        drop_reversed(self.items.get_mut());
    }
}

impl Drop for Tuple {
    fn drop(&mut self) {
        drop_reversed(&mut self.items);
    }
}

impl List {
    pub fn new(items: Vec<Value>) -> List {
        List {
            items: ObjCell::new(items),
        }
    }

    /// A snapshot of the items, so no lock is held while running Python code over them.
    pub fn snapshot(&self) -> Vec<Value> {
        self.items.lock().clone()
    }

    pub fn len(&self) -> usize {
        self.items.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A hashable value with its hash computed once, usable as a dict key or set member.
///
/// Equality is Python's `==` for the built-in immutable types (so `1`, `1.0` and `True` are the same
/// key) and identity for other objects.
#[derive(Clone)]
pub struct HashKey {
    pub hash: u64,
    pub value: Value,
}

/// A set's member. The dummy a removal leaves holds `Value::Undefined`, the empty-slot marker that
/// no program can make a member of.
impl crate::num::settable::SetMember for HashKey {
    #[inline(always)]
    fn set_hash(&self) -> i64 {
        self.hash as i64
    }

    #[inline(always)]
    fn dummy() -> HashKey {
        HashKey {
            hash: 0,
            value: Value::Undefined,
        }
    }

    #[inline(always)]
    fn is_dummy(&self) -> bool {
        matches!(self.value, Value::Undefined)
    }
}

impl Hash for HashKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PartialEq for HashKey {
    #[inline]
    fn eq(&self, other: &HashKey) -> bool {
        self.hash == other.hash && key_eq(&self.value, &other.value)
    }
}

impl Eq for HashKey {}

/// A key to look up, borrowed from the caller: its hash and the value, compared with the
/// stored keys as [`HashKey`]s compare. Finding a key needs no owned copy of it, so `d[k]`,
/// `k in d` and `d.get(k)` change no reference count of a tuple or str key and drop nothing.
pub struct KeyRef<'a> {
    pub hash: u64,
    pub value: &'a Value,
}

impl Hash for KeyRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Must hash exactly as `HashKey` does.
        state.write_u64(self.hash);
    }
}

impl indexmap::Equivalent<HashKey> for KeyRef<'_> {
    #[inline]
    fn equivalent(&self, key: &HashKey) -> bool {
        self.hash == key.hash && key_eq(self.value, &key.value)
    }
}

/// Equality of hashable values without running Python code.
///
/// The kinds most keys are (ints, interned names, tuples of them) are answered here, inline
/// where a dict probes; the rest by `key_eq_general`. Identity is equality, as for CPython's
/// dict, whose lookup compares `ep->me_key == key` before calling `__eq__`.
#[inline]
pub fn key_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x == y,
        // Equal hashes, so nearly always equal text: compared here, not in the general
        // function (a dict keyed by the constants '0'..'9' probed with the characters of
        // `str(n)`: different objects, as in CPython, where the constants are interned).
        (Value::Str(x), Value::Str(y)) => Ref::ptr_eq(x, y) || x.as_str() == y.as_str(),
        (Value::Tuple(x), Value::Tuple(y)) => Ref::ptr_eq(x, y) || tuple_key_eq(x, y),
        _ => key_eq_general(a, b),
    }
}

/// [`key_eq`] for every kind.
#[inline(never)]
fn key_eq_general(a: &Value, b: &Value) -> bool {
    use Value::*;
    match (a, b) {
        // Names compiled into one module share their string object: compare pointers first.
        (Str(x), Str(y)) => Ref::ptr_eq(x, y) || x.as_str() == y.as_str(),
        (Int(x), Int(y)) => x == y,
        (Bytes(x), Bytes(y)) => x.as_bytes() == y.as_bytes(),
        (Tuple(x), Tuple(y)) => tuple_key_eq(x, y),
        (Range(x), Range(y)) => x.same_members(y),
        // A complex number and a number: equal parts (an int exactly), as `==` says.
        (Complex(_), _) | (_, Complex(_))
            if crate::builtins::complex::builtin_eq(a, b).is_some() =>
        {
            a.is(b) || crate::builtins::complex::builtin_eq(a, b) == Some(true)
        }
        // Bound methods: the same receiver and the same function, as `==` says.
        (BoundMethod(x), BoundMethod(y)) => x.receiver.is(&y.receiver) && key_eq(&x.func, &y.func),
        // Frozensets are equal when they have the same members (`frozenset([1]) == frozenset([1.0])`).
        // One lock at a time: a copy of `x`'s members, then `y` locked while it is searched.
        (Set(x), Set(y)) if x.frozen && y.frozen => {
            Ref::ptr_eq(x, y) || {
                let xs = x.items.lock().clone();
                let ys = y.items.lock();
                xs.len() == ys.len() && xs.iter().all(|k| ys.contains(k))
            }
        }
        _ => match (
            crate::interp::ops::as_number(a),
            crate::interp::ops::as_number(b),
        ) {
            // Identity first, as CPython's dict does: a NaN key finds itself.
            (Some(x), Some(y)) => a.is(b) || crate::interp::ops::num_eq(x, y),
            // An instance of a subclass of a built-in type (without its own `__eq__`) is the
            // same key as its value: `S('a')` finds `'a'`.
            _ if matches!(a, Instance(_)) || matches!(b, Instance(_)) => {
                a.is(b) || crate::object::class::bases_of(a, b).is_some_and(|(x, y)| key_eq(x, y))
            }
            _ => a.is(b),
        },
    }
}

/// `key_eq` of two tuples. Keys of ints (`(x, y)`, the common shape, compared at every dict
/// lookup of one) are answered by one loop here; any other pair of items hands the rest to
/// `nested_tuple_key_eq`.
#[inline]
fn tuple_key_eq(x: &Tuple, y: &Tuple) -> bool {
    if x.items.len() != y.items.len() {
        return false;
    }
    for (i, (p, q)) in x.items.iter().zip(y.items.iter()).enumerate() {
        match (p, q) {
            (Value::Int(a), Value::Int(b)) => {
                if a != b {
                    return false;
                }
            }
            _ => {
                let (xs, ys) = (x.items.get(i..), y.items.get(i..));
                return nested_tuple_key_eq(xs.unwrap_or(&[]), ys.unwrap_or(&[]));
            }
        }
    }
    true
}

/// `key_eq` of the items of two tuples of the same length, without recursion (tuples may nest
/// a million deep): a work list of the pairs of nested tuples still to compare. The list
/// allocates only when a pair of nested tuples turns up.
#[inline(never)]
fn nested_tuple_key_eq(xs: &[Value], ys: &[Value]) -> bool {
    let mut pending: Vec<(&[Value], &[Value])> = Vec::new();
    let (mut xs, mut ys) = (xs, ys);
    loop {
        if xs.len() != ys.len() {
            return false;
        }
        for (p, q) in xs.iter().zip(ys.iter()) {
            match (p, q) {
                (Value::Int(a), Value::Int(b)) => {
                    if a != b {
                        return false;
                    }
                }
                (Value::Tuple(a), Value::Tuple(b)) => {
                    if !Ref::ptr_eq(a, b) {
                        pending.push((&a.items, &b.items));
                    }
                }
                _ => {
                    if !key_eq_general(p, q) {
                        return false;
                    }
                }
            }
        }
        match pending.pop() {
            Some((a, b)) => (xs, ys) = (a, b),
            None => return true,
        }
    }
}

type BuildFx = std::hash::BuildHasherDefault<rustc_hash::FxHasher>;
pub type KeyMap = IndexMap<HashKey, Value, BuildFx>;

/// The members of a set, laid out as CPython lays out its set table so that iteration (and so
/// `print`) shows the same order as `python3`.
#[derive(Clone, Default)]
pub struct KeySet {
    table: crate::num::settable::SetTable<HashKey>,
}

impl KeySet {
    #[inline]
    pub fn insert(&mut self, k: HashKey) -> bool {
        self.table.insert_with(k, |stored, new| stored == new)
    }

    pub fn contains(&self, k: &HashKey) -> bool {
        self.table.contains(k.hash as i64, |e| e == k)
    }

    /// `contains` for a key borrowed from the caller with its hash (as `KeyRef` for dicts):
    /// `x in s` needs no owned `HashKey`, so no reference count changes and nothing drops.
    pub fn contains_ref(&self, k: &KeyRef<'_>) -> bool {
        self.table
            .contains(k.hash as i64, |e| key_eq(&e.value, k.value))
    }

    /// The members stored with this hash (see `SetTable::with_hash`).
    pub fn with_hash(&self, hash: u64) -> Vec<&HashKey> {
        self.table.with_hash(hash as i64)
    }

    /// Remove a member; true if it was there.
    pub fn shift_remove(&mut self, k: &HashKey) -> bool {
        self.table.remove(k.hash as i64, |e| e == k).is_some()
    }

    /// `set.pop()`: the member CPython would pop (the `index` is accepted for API symmetry).
    pub fn shift_remove_index(&mut self, _index: usize) -> Option<HashKey> {
        self.table.pop()
    }

    pub fn iter(&self) -> impl Iterator<Item = &HashKey> + '_ {
        self.table.iter()
    }

    /// The first member at table slot `pos` or after, with its slot (a set iterator's step).
    pub fn next_from(&self, pos: usize) -> Option<(usize, &HashKey)> {
        self.table.next_from(pos)
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    pub fn clear(&mut self) {
        self.table.clear();
    }

    pub fn extend(&mut self, items: impl IntoIterator<Item = HashKey>) {
        for k in items {
            self.insert(k);
        }
    }

    /// `self |= other`, with CPython's merge order.
    pub fn merge(&mut self, other: &KeySet) {
        self.table.merge_from(&other.table, |a, b| a == b);
    }

    /// A copy as `set(s)` or `s.copy()` makes it.
    pub fn copy(&self) -> KeySet {
        KeySet {
            table: crate::num::settable::SetTable::merged_copy(&self.table),
        }
    }

    /// `a | b` as CPython builds it: a copy of `a`, then `b` merged in.
    pub fn union_set(&self, other: &KeySet) -> KeySet {
        let mut out = self.copy();
        out.merge(other);
        out
    }

    /// `a & b`: CPython walks the smaller set and keeps what the larger one has.
    pub fn intersection_set(&self, other: &KeySet) -> KeySet {
        let (small, big) = if other.len() > self.len() {
            (self, other)
        } else {
            (other, self)
        };
        small.iter().filter(|k| big.contains(k)).cloned().collect()
    }

    /// `a - b`
    pub fn difference_set(&self, other: &KeySet) -> KeySet {
        if (self.len() >> 2) > other.len() {
            let mut out = self.copy();
            for k in other.iter() {
                out.shift_remove(k);
            }
            return out;
        }
        self.iter()
            .filter(|k| !other.contains(k))
            .cloned()
            .collect()
    }

    /// `a ^ b` as CPython builds it: a copy of `b`, then each member of `a` toggled in it.
    pub fn symmetric_difference_set(&self, other: &KeySet) -> KeySet {
        let mut out = other.copy();
        out.toggle_all(self);
        out
    }

    /// `self ^= other` in place: each member of `other`, in its table order, removed from
    /// `self` if there, else added.
    pub fn toggle_all(&mut self, other: &KeySet) {
        for k in other.iter() {
            if !self.shift_remove(k) {
                self.insert(k.clone());
            }
        }
    }

    /// Make room for `n` more members about to be added one by one (see `SetTable::reserve_for`).
    pub fn reserve_for(&mut self, n: usize) {
        self.table.reserve_for(n);
    }

    pub fn is_subset(&self, other: &KeySet) -> bool {
        self.len() <= other.len() && self.iter().all(|k| other.contains(k))
    }

    pub fn is_superset(&self, other: &KeySet) -> bool {
        other.is_subset(self)
    }

    pub fn is_disjoint(&self, other: &KeySet) -> bool {
        self.iter().all(|k| !other.contains(k))
    }
}

impl FromIterator<HashKey> for KeySet {
    fn from_iter<I: IntoIterator<Item = HashKey>>(iter: I) -> KeySet {
        let mut s = KeySet::default();
        s.extend(iter);
        s
    }
}

/// An insertion-ordered dict (CPython's order) in its object cell.
///
/// The table is private: every change goes through [`Dict::write`] (or a method here built on
/// it), whose guard stamps the dict's `version` when it is handed out and its `layout` when
/// a key is added, removed or moved, so that no path can change the dict and leave a cache
/// that trusts the stamps (the builtins cache of `interp/globals.rs`) believing it unchanged.
pub struct Dict {
    map: ObjCell<KeyMap>,
    /// Stamped whenever a key is added, removed or moved (never for a value replaced under an
    /// existing key): lets the global-variable cache trust that a name is still absent (see
    /// `interp/globals.rs`), and an OrderedDict walk notice a moved key. A stamp ([`Stamp`]) is
    /// unique among all dicts of the process, so equal stamps mean the same dict unchanged.
    layout: AtomicU64,
    /// Stamped at every change of the table, values included ([`Dict::write`] hands out no
    /// exclusive access without it): lets a cache keep a value read from the dict for as long
    /// as the stamp is the same (the builtins a `LoadGlobal` found).
    version: AtomicU64,
    /// Set when the dict is an instance's `__dict__` (`interp/views.rs`): the instance whose
    /// attribute table mirrors it, so that a program's changes to the dict are written through
    /// to the table (`views::written_through`). Set once: a dict is one instance's `__dict__`.
    pub owner: std::sync::OnceLock<crate::heap::weak::Weak<crate::object::Instance>>,
}

/// Dict stamps: a 64-bit number whose high 40 bits name one dict (from per-thread blocks, so
/// that naming takes no shared atomic) and whose low 24 bits count its changes; when they run
/// out the dict takes a new name. So no two dicts ever show the same stamp, and a dict never
/// shows one again after a change. A dict is named only when a cache first reads its stamps
/// ([`Dict::read_named`], under its read lock): until then its stamps are 0, which no cache
/// holds, and its changes need not be counted (most dicts are never named: making one and
/// changing it cost no stamp work beyond a test for 0).
mod stamp {
    use std::cell::Cell;
    use std::sync::atomic::{AtomicU64, Ordering};

    const COUNT_BITS: u32 = 24;
    const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
    /// Names a thread takes at once from [`NEXT_NAME`].
    const BLOCK: u64 = 1024;
    /// The first name no thread has taken (name 0 is never given: a stamp of 0 means "none").
    static NEXT_NAME: AtomicU64 = AtomicU64::new(1);

    thread_local! {
        /// This thread's next name and the end of its block.
        static NAMES: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    }

    /// A stamp no dict has shown: a new name, its count 0.
    pub(super) fn fresh() -> u64 {
        let name = NAMES
            .try_with(|names| {
                let (mut next, mut end) = names.get();
                if next == end {
                    next = NEXT_NAME.fetch_add(BLOCK, Ordering::Relaxed);
                    end = next + BLOCK;
                }
                names.set((next + 1, end));
                next
            })
            // A thread's locals being torn down: one shared atomic instead.
            .unwrap_or_else(|_| NEXT_NAME.fetch_add(1, Ordering::Relaxed));
        name << COUNT_BITS
    }

    /// Move `stamp` on to a value it never had (an unnamed dict's 0 stays: no cache holds it).
    /// The caller holds the dict exclusively (its write guard), so no other thread changes the
    /// stamp meanwhile (naming needs the read lock): a load and a store, no read-modify-write.
    #[inline(always)]
    pub(super) fn advance(stamp: &AtomicU64) {
        let n = stamp.load(Ordering::Relaxed);
        if n != 0 {
            let n = n.wrapping_add(1);
            let n = if n & COUNT_MASK == 0 { fresh() } else { n };
            stamp.store(n, Ordering::Release);
        }
    }

    /// `stamp`, named first if it is still 0. The caller holds the dict's read lock, so no
    /// writer runs meanwhile; readers naming it at once agree through the exchange.
    pub(super) fn named(stamp: &AtomicU64) -> u64 {
        let n = stamp.load(Ordering::Acquire);
        if n != 0 {
            return n;
        }
        let s = fresh();
        match stamp.compare_exchange(0, s, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => s,
            Err(other) => other,
        }
    }
}

/// Exclusive access to a [`Dict`]'s table ([`Dict::write`]): reads through `Deref`; changes
/// through the methods below, which stamp the dict's `layout` when the keys change. The
/// dict's `version` was stamped when the guard was made.
pub struct DictWrite<'a> {
    map: CellMut<'a, KeyMap>,
    dict: &'a Dict,
}

impl std::ops::Deref for DictWrite<'_> {
    type Target = KeyMap;
    #[inline(always)]
    fn deref(&self) -> &KeyMap {
        &self.map
    }
}

impl DictWrite<'_> {
    #[inline(always)]
    fn keys_changed(&self) {
        stamp::advance(&self.dict.layout);
    }

    /// `IndexMap::insert_full`: the entry's index and the value replaced, if any (for the
    /// caller to drop after the guard: a drop may run `__del__`).
    #[inline]
    pub fn insert_full(&mut self, key: HashKey, value: Value) -> (usize, Option<Value>) {
        let r = self.map.insert_full(key, value);
        if r.1.is_none() {
            self.keys_changed();
        }
        r
    }

    #[inline]
    pub fn insert(&mut self, key: HashKey, value: Value) -> Option<Value> {
        self.insert_full(key, value).1
    }

    pub fn shift_remove<Q: ?Sized + Hash + indexmap::Equivalent<HashKey>>(
        &mut self,
        key: &Q,
    ) -> Option<Value> {
        let r = self.map.shift_remove(key);
        if r.is_some() {
            self.keys_changed();
        }
        r
    }

    pub fn shift_remove_entry<Q: ?Sized + Hash + indexmap::Equivalent<HashKey>>(
        &mut self,
        key: &Q,
    ) -> Option<(HashKey, Value)> {
        let r = self.map.shift_remove_entry(key);
        if r.is_some() {
            self.keys_changed();
        }
        r
    }

    pub fn shift_remove_index(&mut self, index: usize) -> Option<(HashKey, Value)> {
        let r = self.map.shift_remove_index(index);
        if r.is_some() {
            self.keys_changed();
        }
        r
    }

    /// The last entry, removed (`popitem`).
    pub fn pop(&mut self) -> Option<(HashKey, Value)> {
        let r = self.map.pop();
        if r.is_some() {
            self.keys_changed();
        }
        r
    }

    /// Every entry, taken out (`clear`: the caller drops them after the guard).
    pub fn take(&mut self) -> KeyMap {
        self.keys_changed();
        std::mem::take(&mut *self.map)
    }

    /// The whole table replaced by `map`; the old one, for the caller to drop.
    pub fn replace_all(&mut self, map: KeyMap) -> KeyMap {
        self.keys_changed();
        std::mem::replace(&mut *self.map, map)
    }

    /// Move the entry at `from` to `to` (`OrderedDict.move_to_end`): the order of the keys
    /// changes.
    pub fn move_index(&mut self, from: usize, to: usize) {
        self.keys_changed();
        self.map.move_index(from, to);
    }

    /// The value under `key`, to change in place (the keys stay as they are).
    pub fn get_mut<Q: ?Sized + Hash + indexmap::Equivalent<HashKey>>(
        &mut self,
        key: &Q,
    ) -> Option<&mut Value> {
        self.map.get_mut(key)
    }

    /// The entry at `index`, its value to change in place (the keys stay as they are).
    pub fn get_index_mut(&mut self, index: usize) -> Option<(&HashKey, &mut Value)> {
        self.map.get_index_mut(index)
    }

    /// The values, to change in place (the keys stay as they are).
    pub fn values_mut(&mut self) -> indexmap::map::ValuesMut<'_, HashKey, Value> {
        self.map.values_mut()
    }

    /// The table itself, for a change the methods above do not cover: counted as a change of
    /// the keys (the cautious answer: a cache looks again).
    pub fn keys_mut(&mut self) -> &mut KeyMap {
        self.keys_changed();
        &mut self.map
    }
}

impl Dict {
    pub fn new() -> Dict {
        Dict::from_map(KeyMap::default())
    }

    pub fn from_map(map: KeyMap) -> Dict {
        Dict {
            map: ObjCell::new(map),
            // Unnamed (see `stamp`).
            layout: AtomicU64::new(0),
            version: AtomicU64::new(0),
            owner: std::sync::OnceLock::new(),
        }
    }

    /// Whether the dict is an instance's `__dict__`, whose changes are written through to the
    /// instance's table by the caller (see `owner`).
    #[inline]
    pub fn is_owned(&self) -> bool {
        self.owner.get().is_some()
    }

    /// The stamp of the dict's keys (see the field): equal to an earlier reading of
    /// [`Dict::read_named`] only if no key was added, removed or moved since, and only for the
    /// same dict. 0 (equal to no such reading) while the dict is unnamed.
    #[inline(always)]
    pub fn layout(&self) -> u64 {
        self.layout.load(Ordering::Acquire)
    }

    /// The stamp of the dict's contents (see the field): equal to an earlier reading of
    /// [`Dict::read_named`] only if the table was not changed at all since, and only for the
    /// same dict. 0 (equal to no such reading) while the dict is unnamed.
    #[inline(always)]
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Shared access to the table with its stamps `(layout, version)`, as they are while the
    /// guard is held; the dict is named first if it was not (see `stamp`), so the stamps are
    /// never 0 and later changes move them on.
    pub fn read_named(&self) -> (CellRef<'_, KeyMap>, u64, u64) {
        let map = self.map.read();
        let layout = stamp::named(&self.layout);
        let version = stamp::named(&self.version);
        (map, layout, version)
    }

    /// Shared access to the table, for reading.
    #[inline(always)]
    pub fn read(&self) -> CellRef<'_, KeyMap> {
        self.map.read()
    }

    /// [`Dict::read`], or `Busy` if the table is held exclusively (GIL model).
    #[inline(always)]
    pub fn try_read(&self) -> Result<CellRef<'_, KeyMap>, Busy> {
        self.map.try_read()
    }

    /// Exclusive access to the table, for changing it: the one way to change a dict. Stamps
    /// `version` before anything can change.
    #[inline(always)]
    pub fn write(&self) -> DictWrite<'_> {
        let map = self.map.lock();
        stamp::advance(&self.version);
        DictWrite { map, dict: self }
    }

    /// [`Dict::write`], or `Busy` if the table is in use (GIL model).
    #[inline(always)]
    pub fn try_write(&self) -> Result<DictWrite<'_>, Busy> {
        let map = self.map.try_lock()?;
        stamp::advance(&self.version);
        Ok(DictWrite { map, dict: self })
    }

    /// Insert under `key`; the value replaced, if any, for the caller to drop (after the
    /// table is unlocked: a drop may run `__del__`).
    pub fn insert(&self, key: HashKey, value: Value) -> Option<Value> {
        self.write().insert_full(key, value).1
    }

    /// Remove a key; its value if it was there.
    pub fn remove(&self, key: &HashKey) -> Option<Value> {
        self.write().shift_remove(key)
    }

    /// The value under a string key, looked up without making a `str` object for the key (a
    /// module's attributes, `m.name`, are read this way at every use).
    pub fn get_str(&self, key: &str) -> Option<Value> {
        self.read().get(&StrProbe::new(key)).cloned()
    }

    /// As [`Dict::get_str`], with the entry's position (for the module-attribute cache).
    pub fn get_str_full(&self, key: &str) -> Option<(usize, Value)> {
        self.read()
            .get_full(&StrProbe::new(key))
            .map(|(i, _, v)| (i, v.clone()))
    }

    pub fn get(&self, key: &HashKey) -> Option<Value> {
        self.read().get(key).cloned()
    }

    /// [`Dict::get`] with a borrowed key (always inline: `d[k]`'s path, and LLVM's choice
    /// otherwise changes with unrelated edits in the same codegen unit).
    #[inline(always)]
    pub fn get_ref(&self, key: KeyRef<'_>) -> Option<Value> {
        self.read().get(&key).cloned()
    }

    pub fn set(&self, key: HashKey, value: Value) {
        let old = self.write().insert_full(key, value).1;
        drop(old);
    }

    pub fn set_str(&self, key: &str, value: Value) {
        self.set(HashKey::from_str(key), value);
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn items(&self) -> Vec<(Value, Value)> {
        self.read()
            .iter()
            .map(|(k, v)| (k.value.clone(), v.clone()))
            .collect()
    }

    pub fn keys(&self) -> Vec<Value> {
        self.read().keys().map(|k| k.value.clone()).collect()
    }
}

impl Default for Dict {
    fn default() -> Self {
        Dict::new()
    }
}

/// A `set` (or `frozenset` when `frozen`) in its object cell.
pub struct SetObj {
    pub items: ObjCell<KeySet>,
    pub frozen: bool,
}

impl SetObj {
    pub fn new(items: KeySet, frozen: bool) -> SetObj {
        SetObj {
            items: ObjCell::new(items),
            frozen,
        }
    }

    pub fn snapshot(&self) -> Vec<Value> {
        // One allocation of the exact size (the table's filtered walk gives no size hint).
        let items = self.items.lock();
        let mut out = Vec::with_capacity(items.len());
        out.extend(items.iter().map(|k| k.value.clone()));
        out
    }
}

/// A borrowed string standing for the `HashKey` of a `str` with that text: same hash (as
/// `PyStr::hash`), equal to the same keys.
struct StrProbe<'a> {
    hash: u64,
    s: &'a str,
}

impl<'a> StrProbe<'a> {
    fn new(s: &'a str) -> StrProbe<'a> {
        StrProbe {
            hash: crate::object::str_hash(s),
            s,
        }
    }
}

impl Hash for StrProbe<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl indexmap::Equivalent<HashKey> for StrProbe<'_> {
    fn equivalent(&self, key: &HashKey) -> bool {
        key.hash == self.hash
            && match &key.value {
                Value::Str(k) => k.as_str() == self.s,
                // A key of a str subclass: compared as `key_eq` compares (rare; allocates).
                other => key_eq(&Value::str(self.s), other),
            }
    }
}

impl HashKey {
    /// The key for a string, e.g. a global's name. (Infallible, unlike `FromStr::from_str`.)
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(s: &str) -> HashKey {
        HashKey::from_value(Value::str(s)).unwrap_or(HashKey {
            hash: 0,
            value: Value::None,
        })
    }

    /// Hash a value without running Python code: `TypeError` for unhashable built-ins.
    pub fn from_value(value: Value) -> crate::PyResult<HashKey> {
        let hash = hash_value(&value)?;
        Ok(HashKey { hash, value })
    }
}

/// Python's `hash()` for the built-in hashable types (ints, floats and bools that are equal hash equal).
pub fn hash_value(v: &Value) -> crate::PyResult<u64> {
    match v {
        Value::Tuple(t) => match hash_flat_tuple(t) {
            Some(h) => h,
            None => hash_nested_tuple(t),
        },
        other => hash_scalar(other),
    }
}

/// The hash of a tuple with no tuple inside (most tuple keys: `(x, y)`), each item's hash
/// mixed in as it is computed, ints inline. `None`: a nested tuple, for `hash_nested_tuple`.
#[inline]
fn hash_flat_tuple(t: &Tuple) -> Option<crate::PyResult<u64>> {
    let mut acc = crate::num::hash::TupleHash::new();
    for v in t.items.iter() {
        let h = match v {
            Value::Int(i) => crate::num::hash::hash_int(*i),
            Value::Tuple(_) => return None,
            other => match hash_scalar(other) {
                Ok(h) => h as i64,
                Err(e) => return Some(Err(e)),
            },
        };
        acc.add(h);
    }
    Some(Ok(acc.finish() as u64))
}

/// The hash of a tuple from its items' hashes, computed without recursion (tuples may nest a
/// million deep): a stack of the tuples being hashed, each with the hashes of its first items.
fn hash_nested_tuple(root: &Tuple) -> crate::PyResult<u64> {
    let mut stack: Vec<(&Tuple, Vec<i64>)> = vec![(root, Vec::with_capacity(root.items.len()))];
    while let Some((tuple, done)) = stack.last_mut() {
        let tuple = *tuple;
        match tuple.items.get(done.len()) {
            Some(Value::Tuple(inner)) => {
                let inner: &Tuple = inner;
                stack.push((inner, Vec::with_capacity(inner.items.len())));
            }
            Some(item) => {
                let h = hash_scalar(item)?;
                done.push(h as i64);
            }
            None => {
                let h = crate::num::hash::hash_tuple(std::mem::take(done)) as u64;
                stack.pop();
                match stack.last_mut() {
                    Some((_, parent)) => parent.push(h as i64),
                    None => return Ok(h),
                }
            }
        }
    }
    Ok(0)
}

/// `hash(None)` (CPython's is its address: any constant will do).
const NONE_HASH: i64 = 0xFC_FCFC;

/// `hash_value` of anything but a tuple.
fn hash_scalar(v: &Value) -> crate::PyResult<u64> {
    Ok(match v {
        Value::Int(i) => hash_int(*i),
        Value::BigInt(b) => crate::num::bigint::hash(b) as u64,
        Value::Bool(b) => *b as u64,
        Value::Float(f) => crate::num::hash::hash_float(*f) as u64,
        Value::Complex(c) => crate::builtins::complex::complex_hash(**c) as u64,
        Value::Str(s) => s.hash(),
        Value::Bytes(b) => b.hash(),
        Value::None => NONE_HASH as u64,
        Value::Tuple(t) => return hash_nested_tuple(t),
        Value::List(_) | Value::Dict(_) | Value::ByteArray(_) | Value::Slice(_) => {
            return Err(unhashable(v))
        }
        Value::Set(s) if !s.frozen => return Err(crate::err!(TypeError, "unhashable type: 'set'")),
        Value::Set(s) => {
            let items = s.items.lock();
            crate::num::hash::hash_frozenset(items.iter().map(|k| k.hash), items.len())
        }
        Value::Range(r) => {
            // CPython's: the tuple (len, start, step), with None for what equality ignores
            // (the step of a range of one member, both of an empty one), so equal ranges hash
            // alike (`range(0, 3, 2) == range(0, 4, 2)`).
            use num_traits::{One, Zero};
            let (start, _, step, len) = r.bounds_big();
            let h = |b: &crate::num::BigInt| crate::num::bigint::hash(b);
            let none = NONE_HASH;
            let items = if len.is_zero() {
                [0, none, none]
            } else if len.is_one() {
                [1, h(&start), none]
            } else {
                [h(&len), h(&start), h(&step)]
            };
            crate::num::hash_tuple(items) as u64
        }
        // As CPython: the receiver's identity and the function's hash (two `obj.f` are one key).
        Value::BoundMethod(m) => (m.receiver.id() as u64).rotate_right(4) ^ hash_scalar(&m.func)?,
        Value::Instance(_) => match crate::object::builtin_base(v) {
            Some(Value::List(_) | Value::Dict(_) | Value::ByteArray(_)) => {
                return Err(unhashable(v))
            }
            Some(Value::Set(s)) if !s.frozen => return Err(unhashable(v)),
            Some(base) => return hash_value(base),
            None => (v.id() as u64).rotate_right(4),
        },
        other => (other.id() as u64).rotate_right(4),
    })
}

fn unhashable(v: &Value) -> crate::PyErr {
    crate::err!(
        TypeError,
        "unhashable type: '{}'",
        crate::object::type_name(v)
    )
}

/// CPython's int hash (the value modulo 2**61 - 1, with -1 mapped to -2).
pub fn hash_int(i: i64) -> u64 {
    crate::num::hash::hash_int(i) as u64
}
