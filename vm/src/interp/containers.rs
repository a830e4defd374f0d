//! Building containers from the stack (`BuildSet`, `BuildMap`, comprehension appends) and hashing keys.

use std::cell::RefCell;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::heap::Ref;
use crate::interp::Interp;
use crate::object::{key_eq, type_name, Dict, DictWrite, HashKey, KeyMap, KeySet, SetObj};
use crate::value::Value;
use crate::{err, PyResult};

/// Does `v` compare by a Python-level `__eq__`? Dict and set lookups of such a key must call it for
/// every stored key with the same hash (the Rust-side `HashKey` equality is identity for instances).
#[inline]
pub(crate) fn needs_py_eq(v: &Value) -> bool {
    match v {
        Value::Instance(i) => i.class.lookup("__eq__").is_some(),
        // A class whose metaclass defines `__eq__`.
        Value::Class(c) => c.metaclass_lookup("__eq__").is_some(),
        _ => false,
    }
}

/// Set (for good) the first time an instance whose class defines `__eq__` is hashed as a key.
/// Until then no stored key can compare by Python code, and a lookup of a built-in key needs no
/// more than the hash table's own (Rust) equality: the common case costs one relaxed load.
static PY_EQ_KEYS: AtomicBool = AtomicBool::new(false);

/// Must a lookup of `k` ask Python `__eq__` methods? Yes if `k` compares by one, or if some key
/// anywhere might (a stored `K()` whose `__eq__` says it equals `7` must be found by `d[7]`).
#[inline]
pub(crate) fn lookup_runs_python(k: &HashKey) -> bool {
    needs_py_eq(&k.value) || PY_EQ_KEYS.load(Ordering::Relaxed)
}

/// The hash of `v` for a lookup that can run no Python code: not an instance or a class (whose
/// `__hash__`/`__eq__` may be Python), and no stored key anywhere compares by a Python `__eq__`
/// (`lookup_runs_python`). `None` also for an unhashable value: the general path raises.
/// With it, a lookup borrows the key (`KeyRef`) instead of cloning it into a `HashKey`.
#[inline]
pub(crate) fn plain_hash(v: &Value) -> Option<u64> {
    if PY_EQ_KEYS.load(Ordering::Relaxed) {
        return None;
    }
    // The two commonest keys hashed here, without the general function's `PyResult` (about 40
    // machine instructions fewer per `d[i]`/`d.get(i)`, callgrind); the same hashes it gives.
    match v {
        Value::Int(i) => Some(crate::object::hash_int(*i)),
        Value::Str(s) => Some(s.hash()),
        Value::Instance(_) | Value::Class(_) => None,
        _ => crate::object::hash_value(v).ok(),
    }
}

/// A lookup probe that records every stored key with its hash and never matches, so one hash-table
/// probe sequence lists the candidates a Python `__eq__` must then be asked about.
struct Probe {
    hash: u64,
    found: RefCell<Vec<Value>>,
}

impl Hash for Probe {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Must hash exactly as `HashKey` does.
        state.write_u64(self.hash);
    }
}

impl indexmap::Equivalent<HashKey> for Probe {
    fn equivalent(&self, key: &HashKey) -> bool {
        if key.hash == self.hash {
            self.found.borrow_mut().push(key.value.clone());
        }
        false
    }
}

/// The keys of `map` whose hash is `hash` (cloned: no lock is held while Python code runs).
pub(crate) fn map_candidates(map: &KeyMap, hash: u64) -> Vec<Value> {
    let probe = Probe {
        hash,
        found: RefCell::new(Vec::new()),
    };
    let _ = map.get_index_of(&probe);
    probe.found.into_inner()
}

/// The members of `set` whose hash is `hash`.
pub(crate) fn set_candidates(set: &KeySet, hash: u64) -> Vec<Value> {
    // Only the probe path of `hash` can hold an equal member (a scan of the whole set made
    // `x in s` linear for instances with their own `__eq__`).
    set.with_hash(hash)
        .into_iter()
        .map(|k| k.value.clone())
        .collect()
}

/// How many times a store resolves its key again when the keys of its hash changed while the
/// comparisons ran ([`Interp::with_resolved`]) before it stores with the last answer.
const RESOLVE_TRIES: u32 = 16;

/// Whether two lists of a table's keys of one hash (`map_candidates`, `set_candidates`) hold
/// the same objects.
fn same_candidates(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.is(y))
}

/// Pairs bound for one dict, their keys resolved against its keys, to be stored in one hold of
/// its lock ([`Interp::batch_store`]) as one step for other threads.
#[derive(Default)]
pub(crate) struct PairBatch {
    items: Vec<BatchItem>,
}

/// A pair of a [`PairBatch`].
struct BatchItem {
    /// The key as given (hashed), resolved again if the dict changed.
    given: HashKey,
    /// The key to store: `given`, or the equal key already there or earlier in the batch.
    key: HashKey,
    value: Value,
    /// The dict's keys of its hash that `key` was compared against (`None`: none needed).
    seen: Option<Vec<Value>>,
}

/// Whether `keys` holds the object `v` itself.
fn candidates_hold(keys: &[Value], v: &Value) -> bool {
    keys.iter().any(|c| c.is(v))
}

/// Store `pairs` in `d` under one hold of its lock, as CPython's `dict_merge` does in one C call
/// (under the GIL; in 3.13t inside the dict's critical section): a thread reading `d` meanwhile
/// sees all of them or none. Free-threaded, `d.update(batch)` stored key by key, and another
/// thread's `list(d)` could hold half a batch (`tests/stress/whole_batches`). Only when no
/// comparison can run Python code: no key of `pairs`, nor a key of `d` sharing a hash with one,
/// compares by a Python `__eq__` (those are resolved with the table unlocked, one by one, by
/// the caller: then `pairs` comes back whole). The values replaced are dropped after the unlock.
pub(crate) fn dict_store_all(
    d: &Dict,
    pairs: Vec<(HashKey, Value)>,
) -> Result<(), Vec<(HashKey, Value)>> {
    if pairs.iter().any(|(k, _)| needs_py_eq(&k.value)) {
        return Err(pairs);
    }
    let mut map = d.write();
    // A stored key with a Python `__eq__` may equal a built-in key of its hash (`K() == 7`).
    if PY_EQ_KEYS.load(Ordering::Relaxed)
        && pairs
            .iter()
            .any(|(k, _)| map_candidates(&map, k.hash).iter().any(needs_py_eq))
    {
        drop(map);
        return Err(pairs);
    }
    let replaced: Vec<Value> = pairs
        .into_iter()
        .filter_map(|(k, v)| map.insert_full(k, v).1)
        .collect();
    drop(map);
    drop(replaced);
    Ok(())
}

impl Interp {
    /// Resolve `key` for a store into dict `d` and run `f` on the locked table with it (`f`
    /// gives back what it replaced, to drop after the unlock). A key compared with the stored
    /// ones by a Python `__eq__` (`dict_key`) is compared with the table unlocked, so another
    /// thread (free-threaded; or with the GIL, a switch inside `__eq__`) may store an equal key
    /// meanwhile: `f` then runs only if the table's keys of that hash are still the ones
    /// compared against, else the key is resolved again, as CPython's lookup starts over when
    /// the dict changed during `__eq__`. Otherwise two threads storing equal keys at once
    /// (`d[Point(1, 2)] = v`) kept both.
    pub(crate) fn with_resolved<R>(
        &mut self,
        d: &Dict,
        key: &Value,
        f: impl FnOnce(&mut DictWrite<'_>, HashKey) -> R,
    ) -> PyResult<R> {
        let k = self.hash_any(key.clone())?;
        let (mut map, k) = self.resolve_locked(|| d.write(), k, map_candidates)?;
        Ok(f(&mut map, k))
    }

    /// [`Interp::with_resolved`] for a lookup that changes nothing (`d[k]`, `k in d`,
    /// `d.get(k)`): the table read under a shared borrow, so the dict's version stays.
    pub(crate) fn with_resolved_read<R>(
        &mut self,
        d: &Dict,
        key: &Value,
        f: impl FnOnce(&KeyMap, HashKey) -> R,
    ) -> PyResult<R> {
        let k = self.hash_any(key.clone())?;
        let (map, k) = self.resolve_locked(|| d.read(), k, map_candidates)?;
        Ok(f(&map, k))
    }

    /// Dict `d`, locked, and the hashed key `k` resolved against its keys as in
    /// [`Interp::with_resolved`], for a caller that runs Python code (an `__add__`) while it
    /// holds the table (`Counter`'s `_count_elements`).
    pub(crate) fn lock_resolved<'d>(
        &mut self,
        d: &'d Dict,
        k: HashKey,
    ) -> PyResult<(DictWrite<'d>, HashKey)> {
        self.resolve_locked(|| d.write(), k, map_candidates)
    }

    /// `d[k] = v` for an already hashed key, resolved and stored as one step
    /// ([`Interp::with_resolved`]); the value it replaced, to drop by the caller.
    /// (`dict.update`: two threads updating with equal keys whose `__eq__` is Python code must
    /// leave one key, as their `d[k] = v` does.)
    pub(crate) fn dict_insert(
        &mut self,
        d: &Dict,
        k: HashKey,
        v: Value,
    ) -> PyResult<Option<Value>> {
        let (mut map, k) = self.lock_resolved(d, k)?;
        let old = map.insert_full(k, v).1;
        drop(map);
        Ok(old)
    }

    /// Store `pairs` in `d` as one step for other threads, as CPython's `dict_merge` does
    /// inside `d`'s critical section: at once by [`dict_store_all`] when no key compares by a
    /// Python `__eq__`, else through a [`PairBatch`]. An `__eq__` that raises ends the batch:
    /// the pairs before it are stored, then the error is raised, as CPython leaves them.
    pub(crate) fn dict_store_pairs(
        &mut self,
        d: &Dict,
        pairs: Vec<(HashKey, Value)>,
    ) -> PyResult<()> {
        let Err(pairs) = dict_store_all(d, pairs) else {
            return Ok(());
        };
        if !self.batches_pairs() {
            // Under the GIL, pair by pair as CPython: its eval loop may switch threads inside
            // an `__eq__`, and an `__eq__` reading `d` sees the earlier pairs stored. The hashes
            // are the ones given (the source dict's), as CPython's `dict_merge` reuses them.
            for (k, v) in pairs {
                drop(self.dict_insert(d, k, v)?);
            }
            return Ok(());
        }
        let mut batch = PairBatch::default();
        for (k, v) in pairs {
            if let Err(e) = self.batch_add(d, &mut batch, k, v) {
                self.batch_store(d, batch)?;
                return Err(e);
            }
        }
        self.batch_store(d, batch)
    }

    /// Whether pairs whose keys compare by a Python `__eq__` are stored as one batch
    /// ([`PairBatch`]): only free-threaded, where CPython 3.13t stores them inside `d`'s
    /// critical section. Under the GIL (on or old) CPython 3.11 stores them one by one, and an
    /// `__eq__` (or another thread, switched to inside it) sees the earlier ones stored.
    pub(crate) fn batches_pairs(&self) -> bool {
        self.vm.gil.mode() == crate::gil::GilMode::Off
    }

    /// Add a hashed pair to `batch`, bound for `d`: its key resolved now, with the table
    /// unlocked, against `d`'s keys of its hash and the batch's keys before it (what CPython's
    /// store of this pair would compare it with, the earlier ones being stored by then).
    /// Under the GIL a key whose lookup runs Python code is not batched: the batch so far is
    /// stored, then this pair, as CPython's stores one by one (see [`Interp::batches_pairs`]).
    pub(crate) fn batch_add(
        &mut self,
        d: &Dict,
        batch: &mut PairBatch,
        k: HashKey,
        value: Value,
    ) -> PyResult<()> {
        if !self.batches_pairs() && lookup_runs_python(&k) {
            self.batch_store(d, std::mem::take(batch))?;
            drop(self.dict_insert(d, k, value)?);
            return Ok(());
        }
        let (key, seen) = self.batch_resolve(d, &batch.items, k.clone())?;
        batch.items.push(BatchItem {
            given: k,
            key,
            value,
            seen,
        });
        Ok(())
    }

    /// `k` resolved for a batch after `before`, and `d`'s keys of its hash it was compared
    /// against (`None`: its lookup runs no Python code, there is nothing to compare).
    fn batch_resolve(
        &mut self,
        d: &Dict,
        before: &[BatchItem],
        k: HashKey,
    ) -> PyResult<(HashKey, Option<Vec<Value>>)> {
        if !lookup_runs_python(&k) {
            return Ok((k, None));
        }
        let in_d = map_candidates(&d.read(), k.hash);
        let mut candidates = in_d.clone();
        candidates.extend(
            before
                .iter()
                .filter(|e| e.key.hash == k.hash && !candidates_hold(&in_d, &e.key.value))
                .map(|e| e.key.value.clone()),
        );
        Ok((self.resolve_key(k, candidates)?, Some(in_d)))
    }

    /// Store `batch` in `d` in one hold of its lock if `d`'s keys of each pair's hash are still
    /// the ones its key was compared against; else resolve the keys again (at most
    /// [`RESOLVE_TRIES`] times), then store pair by pair. A reader of `d` in another thread
    /// sees the whole batch or none of it.
    pub(crate) fn batch_store(&mut self, d: &Dict, mut batch: PairBatch) -> PyResult<()> {
        if batch.items.is_empty() {
            return Ok(());
        }
        for _ in 0..RESOLVE_TRIES {
            let mut map = d.write();
            let unchanged = batch.items.iter().all(|e| {
                e.seen
                    .as_ref()
                    .is_none_or(|s| same_candidates(&map_candidates(&map, e.key.hash), s))
            });
            if unchanged {
                let replaced: Vec<Value> = batch
                    .items
                    .into_iter()
                    .filter_map(|e| map.insert_full(e.key, e.value).1)
                    .collect();
                drop(map);
                drop(replaced);
                return Ok(());
            }
            drop(map);
            // Another thread stored or removed a key of one of these hashes meanwhile.
            let items = std::mem::take(&mut batch.items);
            let mut rest = items.into_iter();
            while let Some(e) = rest.next() {
                match self.batch_resolve(d, &batch.items, e.given.clone()) {
                    Ok((key, seen)) => batch.items.push(BatchItem {
                        given: e.given,
                        key,
                        value: e.value,
                        seen,
                    }),
                    Err(err) => {
                        // The pairs before this one are stored, as CPython's would be.
                        for e in batch.items {
                            drop(self.dict_insert(d, e.given, e.value)?);
                        }
                        drop(rest);
                        return Err(err);
                    }
                }
            }
        }
        for e in batch.items {
            drop(self.dict_insert(d, e.given, e.value)?);
        }
        Ok(())
    }

    /// `s.add(v)` on a shared set: as [`Interp::with_resolved`], the member resolved against
    /// the set's members of its hash, again if they changed while Python `__eq__`s ran.
    pub(crate) fn set_add(&mut self, s: &SetObj, v: Value) -> PyResult<()> {
        if let Some(hash) = plain_hash(&v) {
            s.items.lock().insert(HashKey { hash, value: v });
            return Ok(());
        }
        let k = self.hash_any(v)?;
        let (mut items, k) = self.resolve_locked(|| s.items.lock(), k, set_candidates)?;
        items.insert(k);
        Ok(())
    }

    /// `k` resolved against the keys of its hash in `table` (`candidates` lists them), with the
    /// table locked (by `lock`, which gives its shared or exclusive guard) and those keys
    /// still the ones compared against (see [`Interp::with_resolved`]).
    fn resolve_locked<T, G: std::ops::Deref<Target = T>>(
        &mut self,
        lock: impl Fn() -> G,
        k: HashKey,
        candidates: fn(&T, u64) -> Vec<Value>,
    ) -> PyResult<(G, HashKey)> {
        if !lookup_runs_python(&k) {
            return Ok((lock(), k));
        }
        let mut tries = 0;
        loop {
            let seen = candidates(&lock(), k.hash);
            let resolved = self.resolve_key(k.clone(), seen.clone())?;
            let locked = lock();
            tries += 1;
            // Bounded: an `__eq__` that itself stores a key of this hash at every call would
            // otherwise start it over for ever (CPython's lookup goes on past such keys).
            if tries == RESOLVE_TRIES || same_candidates(&candidates(&locked, k.hash), &seen) {
                return Ok((locked, resolved));
            }
        }
    }

    /// A dict/set key where no container is at hand: built-in values hash without running code;
    /// instances use `__hash__` if defined. Instances of a class with its own `__eq__` are refused
    /// here with a clear error: their lookups must go through [`Interp::dict_key`] /
    /// [`Interp::set_key`], which call `__eq__` on colliding keys.
    pub fn hash_key(&mut self, v: Value) -> PyResult<HashKey> {
        let k = self.hash_any(v)?;
        if needs_py_eq(&k.value) {
            return Err(err!(
                TypeError,
                "minivm does not support instances of '{}' (a class defining __eq__) as keys in dict comprehensions or in `in` tests on dict views",
                type_name(&k.value)
            ));
        }
        Ok(k)
    }

    /// Hash any hashable value (calling `__hash__` for instances), without resolving `__eq__`.
    #[inline]
    pub(crate) fn hash_any(&mut self, v: Value) -> PyResult<HashKey> {
        if matches!(v, Value::Instance(_) | Value::Class(_)) {
            return self.hash_by_class(v);
        }
        HashKey::from_value(v)
    }

    /// [`Interp::hash_any`] of an instance or a class: its class, or the class's user
    /// metaclass, may define `__hash__`/`__eq__`.
    #[inline(never)]
    fn hash_by_class(&mut self, v: Value) -> PyResult<HashKey> {
        let owner = match &v {
            Value::Instance(inst) => Some(inst.class.get().clone()),
            Value::Class(c) => c.metaclass.clone(),
            _ => None,
        };
        if let Some(cls) = owner {
            if let Some(h) = cls.lookup("__hash__") {
                if h.is_none() {
                    return Err(err!(TypeError, "unhashable type: '{}'", type_name(&v)));
                }
                let h = crate::interp::special::special_method(&cls, "__hash__", h);
                let r = self.call(&h, std::slice::from_ref(&v))?;
                // As CPython's slot_tp_hash: an int that fits is the hash as it is; a bigger
                // one is reduced as `hash()` of that int.
                let hash = match r {
                    Value::Int(i) => i,
                    Value::Bool(b) => i64::from(b),
                    Value::BigInt(b) => crate::num::bigint::hash(&b),
                    _ => return Err(err!(TypeError, "__hash__ method should return an integer")),
                };
                // CPython's hash() never returns -1 (it means "error" in C).
                let hash = if hash == -1 { -2 } else { hash };
                if cls.lookup("__eq__").is_some() {
                    PY_EQ_KEYS.store(true, Ordering::Relaxed);
                }
                return Ok(HashKey {
                    hash: hash as u64,
                    value: v,
                });
            }
            if cls.lookup("__eq__").is_some() {
                return Err(err!(TypeError, "unhashable type: '{}'", type_name(&v)));
            }
        }
        HashKey::from_value(v)
    }

    /// Make `k` equal (in Rust, by identity) to the stored candidate Python's `==` says it equals.
    ///
    /// The candidates are copies and no lock is held while `__eq__` runs, so an `__eq__` that
    /// mutates the container cannot corrupt it; the lookup then simply uses what it found.
    fn resolve_key(&mut self, k: HashKey, candidates: Vec<Value>) -> PyResult<HashKey> {
        let py_key = needs_py_eq(&k.value);
        if candidates
            .iter()
            .any(|c| c.is(&k.value) || (!py_key && key_eq(c, &k.value)))
        {
            // The table's own equality finds it.
            return Ok(k);
        }
        for c in candidates {
            // Built-in keys are equal only by the table's equality, tried above.
            if !py_key && !needs_py_eq(&c) {
                continue;
            }
            // CPython compares `stored == key`.
            if self.eq(&c, &k.value)? {
                return Ok(HashKey {
                    hash: k.hash,
                    value: c,
                });
            }
        }
        Ok(k)
    }

    /// The key to use for `v` in dict `d` (lookups, stores and deletes).
    #[inline]
    pub fn dict_key(&mut self, d: &Dict, v: Value) -> PyResult<HashKey> {
        let k = self.hash_any(v)?;
        self.resolve_in_map(d, k)
    }

    /// `k` resolved against the keys of a (locked only while copying candidates) map. Inline:
    /// for the usual keys (ints, strs, tuples of them) it is one check and the key handed back,
    /// at every dict lookup and store (callgrind: ~30 instructions a call out of line).
    #[inline]
    pub(crate) fn resolve_in_map(&mut self, map: &Dict, k: HashKey) -> PyResult<HashKey> {
        if !lookup_runs_python(&k) {
            return Ok(k);
        }
        self.resolve_in_map_by_eq(map, k)
    }

    /// [`Interp::resolve_in_map`] for a key that Python `__eq__` methods must be asked about.
    #[inline(never)]
    fn resolve_in_map_by_eq(&mut self, map: &Dict, k: HashKey) -> PyResult<HashKey> {
        let candidates = map_candidates(&map.read(), k.hash);
        self.resolve_key(k, candidates)
    }

    /// The key to use for `v` in set `s`.
    pub fn set_key(&mut self, s: &SetObj, v: Value) -> PyResult<HashKey> {
        // A built-in key while no stored key compares by Python code: hashed inline, as dicts
        // do (`{vec[i] + i for i in cols}`: ~100 machine instructions a member before).
        if let Some(hash) = plain_hash(&v) {
            return Ok(HashKey { hash, value: v });
        }
        let k = self.hash_any(v)?;
        if !lookup_runs_python(&k) {
            return Ok(k);
        }
        let candidates = set_candidates(&s.items.lock(), k.hash);
        self.resolve_key(k, candidates)
    }

    /// Set `s`, locked, and the key to look `v` up with in it (`v in s`, `s.discard(v)`,
    /// `s.remove(v)`), resolved against its members of that hash as [`Interp::with_resolved`]
    /// resolves a dict key: again if another thread changed them while Python `__eq__`s ran,
    /// so a member replaced by an equal one meanwhile is still found. A set stands for the
    /// frozenset of its members, as in CPython's `set_contains` (`{1} in {frozenset({1})}` is
    /// True; only adding a set is a TypeError).
    pub fn set_lookup_locked<'s>(
        &mut self,
        s: &'s SetObj,
        v: Value,
    ) -> PyResult<(crate::heap::CellMut<'s, KeySet>, HashKey)> {
        let v = match &v {
            Value::Set(x) if !x.frozen => {
                let members = x.items.lock().clone();
                Value::Set(Ref::new(SetObj::new(members, true)))
            }
            _ => v,
        };
        if let Some(hash) = plain_hash(&v) {
            return Ok((s.items.lock(), HashKey { hash, value: v }));
        }
        let k = self.hash_any(v)?;
        self.resolve_locked(|| s.items.lock(), k, set_candidates)
    }

    /// The key to use for `v` in a set being built (not shared yet).
    pub(crate) fn keyset_key(&mut self, set: &KeySet, v: Value) -> PyResult<HashKey> {
        if let Some(hash) = plain_hash(&v) {
            return Ok(HashKey { hash, value: v });
        }
        let k = self.hash_any(v)?;
        self.resolve_in_set(set, k)
    }

    /// `k`, already hashed, resolved against the members of `set` (which no other thread
    /// reaches: a set being built, or a private copy).
    pub(crate) fn resolve_in_set(&mut self, set: &KeySet, k: HashKey) -> PyResult<HashKey> {
        if !lookup_runs_python(&k) {
            return Ok(k);
        }
        let candidates = set_candidates(set, k.hash);
        self.resolve_key(k, candidates)
    }

    /// `f` applied to the members of two sets (`x` and `y` may be the same set). In the GIL
    /// model, when no member of `y` compares by `__eq__`, no Python code can run: `f` reads both
    /// sets in place, under two shared borrows that cannot conflict. Otherwise (free-threaded: one
    /// object lock at a time, never two) each set is copied, and `y`'s members canonicalized.
    pub(crate) fn with_two_sets<R>(
        &mut self,
        x: &SetObj,
        y: &SetObj,
        f: impl Fn(&KeySet, &KeySet) -> R,
    ) -> PyResult<R> {
        if matches!(crate::heap::model(), crate::heap::Model::Gil) {
            let xs = x.items.read();
            let ys = y.items.read();
            if !ys.iter().any(lookup_runs_python) {
                return Ok(f(&xs, &ys));
            }
        }
        let xs = x.items.lock().clone();
        let ys = y.items.lock().clone();
        let ys = self.canonicalize_set(&xs, ys)?;
        Ok(f(&xs, &ys))
    }

    /// `other` with each member that compares by `__eq__` replaced by the member of `base` it
    /// equals, so the identity-based set algebra of `KeySet` gives Python's answers.
    pub(crate) fn canonicalize_set(&mut self, base: &KeySet, other: KeySet) -> PyResult<KeySet> {
        if !other.iter().any(lookup_runs_python) {
            return Ok(other);
        }
        let mut out = KeySet::default();
        for k in other.iter() {
            let k = if lookup_runs_python(k) {
                let candidates = set_candidates(base, k.hash);
                self.resolve_key(k.clone(), candidates)?
            } else {
                k.clone()
            };
            out.insert(k);
        }
        Ok(out)
    }

    /// A key of one map looked up in another (`{**a, **b}`, `a | b`, `dict == dict`, `update`).
    pub(crate) fn resolve_in_keymap(&mut self, map: &KeyMap, k: HashKey) -> PyResult<HashKey> {
        if !lookup_runs_python(&k) {
            return Ok(k);
        }
        let candidates = map_candidates(map, k.hash);
        self.resolve_key(k, candidates)
    }

    pub(crate) fn new_set(&mut self, items: Vec<Value>) -> PyResult<Value> {
        let mut set = KeySet::default();
        for v in items {
            let k = self.keyset_key(&set, v)?;
            set.insert(k);
        }
        Ok(Value::Set(Ref::new(SetObj::new(set, false))))
    }

    /// `BuildMap`: the dict of the `pairs` key/value pairs on top of `stack` (taken off it, in
    /// order), read in place rather than first moved into a vector of their own (an allocation
    /// and a free per dict display).
    pub(crate) fn new_dict_from_stack(
        &mut self,
        stack: &mut Vec<Value>,
        pairs: u32,
    ) -> PyResult<Value> {
        let n = (pairs as usize).saturating_mul(2);
        let Some(start) = stack.len().checked_sub(n) else {
            return Err(crate::interp::run::stack_underflow());
        };
        if n == 0 {
            // `{}`: no pairs to walk.
            return Ok(Value::Dict(Ref::new(Dict::new())));
        }
        // Room for every pair at once: `{'a': i}` grew its empty table on the first insert
        // (a rehash and two allocations, about 400 of its 1,150 machine instructions).
        let d = Dict::from_map(KeyMap::with_capacity_and_hasher(
            pairs as usize,
            Default::default(),
        ));
        let mut it = stack.drain(start..);
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            let k = match self.dict_key(&d, k) {
                Ok(k) => k,
                Err(e) => {
                    // A key's `__hash__` raised: what is freed goes in CPython's order (a
                    // `__del__` can tell): the pairs still on the stack, top down, then this
                    // pair's value, then the dict with the pairs before it.
                    while let Some(rest) = it.next_back() {
                        drop(rest);
                    }
                    drop(v);
                    return Err(e);
                }
            };
            d.set(k, v);
        }
        Ok(Value::Dict(Ref::new(d)))
    }

    /// `SetAdd` (a set comprehension's step) of an int or a str while no stored key anywhere
    /// compares by Python code: hashed and inserted here, in the dispatch loop's arm, where
    /// `container_add` took three calls (`set_key`, `plain_hash`) to reach the same insert
    /// (`{vec[i] + i for i in cols}`). `Err(v)` for anything else: the general path.
    #[inline(always)]
    pub(crate) fn set_add_plain(target: &Value, v: Value) -> Result<(), Value> {
        let Value::Set(s) = target else {
            return Err(v);
        };
        let hash = match &v {
            Value::Int(i) => crate::object::hash_int(*i),
            Value::Str(x) => x.hash(),
            _ => return Err(v),
        };
        if PY_EQ_KEYS.load(Ordering::Relaxed) {
            return Err(v);
        }
        s.items.lock().insert(HashKey { hash, value: v });
        Ok(())
    }

    /// `ListAppend`/`SetAdd`/`ListExtend`/`SetUpdate`: add one value to a list or set under construction.
    pub(crate) fn container_add(&mut self, target: &Value, v: Value) -> PyResult<()> {
        match target {
            Value::List(l) => l.items.lock().push(v),
            Value::Set(s) => {
                let k = self.set_key(s, v)?;
                s.items.lock().insert(k);
            }
            other => return Err(err!(SystemError, "cannot add to {}", type_name(other))),
        }
        Ok(())
    }

    /// `dict.update(m)` for `{**m}` and `f(**m)` (`merge` rejects repeated keys).
    pub fn dict_update(&mut self, target: &Value, m: &Value, merge: bool) -> PyResult<()> {
        let Value::Dict(d) = target else {
            return Err(err!(SystemError, "dict update target is not a dict"));
        };
        if d.is_owned() {
            // An instance's `__dict__` (`d |= m`): its new keys are attributes.
            let done = self.dict_update_pairs(d, m, merge);
            crate::interp::views::written_through(d);
            return done;
        }
        self.dict_update_pairs(d, m, merge)
    }

    fn dict_update_pairs(&mut self, d: &Ref<Dict>, m: &Value, merge: bool) -> PyResult<()> {
        let pairs = match &self.plain_dict_of(m) {
            // `d |= src`, `{**a, **src}`: all of `src` at once when nothing compares by Python
            // code (`dict_store_all`). `merge` (`f(**a, **src)`, into the call's own fresh
            // dict) checks every key for a repeat and stores one by one.
            Value::Dict(src) if !merge => {
                let snapshot: Vec<(HashKey, Value)> = src
                    .read()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                return self.dict_store_pairs(d, snapshot);
            }
            Value::Dict(src) => src.items(),
            other => {
                let Some(keys) = crate::object::class_of(other).lookup("keys") else {
                    return Err(err!(
                        TypeError,
                        "'{}' object is not a mapping",
                        type_name(other)
                    ));
                };
                let ks = self.call(&keys, std::slice::from_ref(other))?;
                let mut out = Vec::new();
                for k in self.collect_iter(&ks)? {
                    let v = self.getitem(other, &k)?;
                    out.push((k, v));
                }
                out
            }
        };
        for (k, v) in pairs {
            let stored = self.with_resolved(d, &k, |map, key| {
                if merge && map.contains_key(&key) {
                    None
                } else {
                    Some(map.insert_full(key, v).1)
                }
            })?;
            match stored {
                None => {
                    let name = self.repr(&k)?;
                    return Err(err!(
                        TypeError,
                        "got multiple values for keyword argument {name}"
                    ));
                }
                Some(Some(old)) => old.discard(),
                Some(None) => {}
            }
        }
        Ok(())
    }
}
