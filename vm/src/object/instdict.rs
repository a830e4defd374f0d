//! Objects stage: the attribute table of an instance (`Instance::dict`).
//!
//! Most instances have a handful of attributes, set by `__init__` under the interned names of
//! its instructions. For them a hash table is more than is needed: `InstDict` keeps the
//! attributes in insertion order in one vector and finds a name by scanning it, comparing
//! pointers first (an interned name) and bytes only for keys of the same length and first byte.
//! A new instance costs one allocation (an `IndexMap` costs two: its entries and its hash
//! index), and freeing it one. Past [`INDEXED_FROM`] attributes (an object used as a namespace,
//! `setattr` in a loop) a name-to-position index is kept beside the vector, so lookups stay
//! constant-time however many attributes there are.
//!
//! The methods are those of `indexmap::IndexMap` that the interpreter uses on attribute
//! tables, with the same meaning (positions are insertion order; `shift_remove` keeps the
//! order of the others), so code written for either reads the same. Positions are what the
//! inline caches of `LOAD_ATTR`/`STORE_ATTR` remember (`interp/attr.rs`).

use std::sync::Arc;

use crate::heap::Ref;
use crate::object::{Dict, HashKey, NameRef};
use crate::value::Value;

/// How many attributes an instance may have before its table keeps a hash index.
const INDEXED_FROM: usize = 16;

type Index = std::collections::HashMap<Arc<str>, usize, rustc_hash::FxBuildHasher>;

/// An instance's attributes, in insertion order (see the module comment).
#[derive(Default)]
pub struct InstDict {
    entries: Vec<(Arc<str>, Value)>,
    /// Name to position, kept only while there are at least [`INDEXED_FROM`] entries.
    index: Option<Box<Index>>,
    /// Once a program has asked for the instance's `__dict__`: the dict inside the objects it
    /// was given (`_attrdict.InstanceDict`, `interp/views.rs`). Every change made here is made
    /// there too, so a `__dict__` taken before sees the attributes set after, as in CPython
    /// (changes made to it come back through `_raw_set`/`_raw_del`).
    view: Option<Ref<Dict>>,
}

impl Clone for InstDict {
    /// A copy of the attributes; the `__dict__` object stays with the original instance.
    fn clone(&self) -> InstDict {
        InstDict {
            entries: self.entries.clone(),
            index: self.index.clone(),
            view: None,
        }
    }
}

/// Something a table can be searched by: a `str`, a shared name, or a [`NameRef`].
pub trait AttrKey {
    fn key_str(&self) -> &str;
    /// The shared string itself, when there is one (an interned name hits by pointer).
    fn key_arc(&self) -> Option<&Arc<str>> {
        None
    }
}

impl AttrKey for str {
    #[inline]
    fn key_str(&self) -> &str {
        self
    }
}

impl AttrKey for String {
    #[inline]
    fn key_str(&self) -> &str {
        self
    }
}

impl AttrKey for Arc<str> {
    #[inline]
    fn key_str(&self) -> &str {
        self
    }
    #[inline]
    fn key_arc(&self) -> Option<&Arc<str>> {
        Some(self)
    }
}

impl AttrKey for NameRef<'_> {
    #[inline]
    fn key_str(&self) -> &str {
        self.0
    }
    #[inline]
    fn key_arc(&self) -> Option<&Arc<str>> {
        Some(self.0)
    }
}

impl<K: AttrKey + ?Sized> AttrKey for &K {
    #[inline]
    fn key_str(&self) -> &str {
        (**self).key_str()
    }
    #[inline]
    fn key_arc(&self) -> Option<&Arc<str>> {
        (**self).key_arc()
    }
}

impl InstDict {
    /// An empty table with room for `n` attributes.
    pub fn with_capacity(n: usize) -> InstDict {
        InstDict {
            entries: Vec::with_capacity(n),
            index: None,
            view: None,
        }
    }

    /// The dict inside the instance's `__dict__` objects, if one was made ([`InstDict::set_view`]).
    pub fn view(&self) -> Option<&Ref<Dict>> {
        self.view.as_ref()
    }

    /// Whether a `__dict__` object mirrors this table: then writes must go through
    /// `insert`/`shift_remove` (which keep it current), not through `get_mut`/`get_index_mut`.
    #[inline]
    pub fn has_view(&self) -> bool {
        self.view.is_some()
    }

    /// Make `dict` (holding exactly these attributes, slots aside) the contents of the
    /// instance's `__dict__`, kept current from now on.
    pub fn set_view(&mut self, dict: Ref<Dict>) {
        self.view = Some(dict);
    }

    /// Mirror a set in the `__dict__` object, if there is one.
    #[inline]
    fn view_set(&self, key: &str, value: &Value) {
        if let Some(d) = &self.view {
            d.set_str(key, value.clone());
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The position of `key`, if present.
    #[inline]
    pub fn get_index_of<Q: AttrKey + ?Sized>(&self, key: &Q) -> Option<usize> {
        if let Some(index) = &self.index {
            return indexed_position(index, key.key_str());
        }
        let s = key.key_str();
        match key.key_arc() {
            Some(a) => self.entries.iter().position(|(k, _)| {
                Arc::ptr_eq(k, a)
                    || (k.len() == s.len()
                        && k.as_bytes().first() == s.as_bytes().first()
                        && **k == *s)
            }),
            None => self.entries.iter().position(|(k, _)| **k == *s),
        }
    }

    #[inline]
    pub fn contains_key<Q: AttrKey + ?Sized>(&self, key: &Q) -> bool {
        self.get_index_of(key).is_some()
    }

    #[inline]
    pub fn get<Q: AttrKey + ?Sized>(&self, key: &Q) -> Option<&Value> {
        let i = self.get_index_of(key)?;
        self.entries.get(i).map(|(_, v)| v)
    }

    /// The value of `key`, to change in place. A change made through it is not mirrored in
    /// the `__dict__` object: callers check [`InstDict::has_view`] first.
    #[inline]
    pub fn get_mut<Q: AttrKey + ?Sized>(&mut self, key: &Q) -> Option<&mut Value> {
        let i = self.get_index_of(key)?;
        self.entries.get_mut(i).map(|(_, v)| v)
    }

    /// Position, key and value of `key`, if present.
    #[inline]
    pub fn get_full<Q: AttrKey + ?Sized>(&self, key: &Q) -> Option<(usize, &Arc<str>, &Value)> {
        let i = self.get_index_of(key)?;
        self.entries.get(i).map(|(k, v)| (i, k, v))
    }

    /// The entry at position `i`.
    #[inline]
    pub fn get_index(&self, i: usize) -> Option<(&Arc<str>, &Value)> {
        self.entries.get(i).map(|(k, v)| (k, v))
    }

    /// The entry at position `i`, its value mutable (not mirrored: see [`InstDict::get_mut`]).
    #[inline]
    pub fn get_index_mut(&mut self, i: usize) -> Option<(&Arc<str>, &mut Value)> {
        self.entries.get_mut(i).map(|(k, v)| (&*k, v))
    }

    /// Set `key` to `value`: a new key goes last. Gives the position and the old value.
    pub fn insert_full(&mut self, key: Arc<str>, value: Value) -> (usize, Option<Value>) {
        if let Some(i) = self.get_index_of(&key) {
            self.view_set(&key, &value);
            if let Some((_, slot)) = self.entries.get_mut(i) {
                return (i, Some(std::mem::replace(slot, value)));
            }
        }
        (self.push_new(key, value), None)
    }

    /// Add `key`, which the caller has just found absent (under the same borrow), at the end;
    /// gives its position. A key already there would be listed twice: callers search first.
    #[inline]
    pub fn push_new(&mut self, key: Arc<str>, value: Value) -> usize {
        debug_assert!(!self.contains_key(&key));
        self.view_set(&key, &value);
        let i = self.entries.len();
        if let Some(index) = &mut self.index {
            index.insert(key.clone(), i);
        }
        self.entries.push((key, value));
        if self.index.is_none() && self.entries.len() >= INDEXED_FROM {
            self.index = Some(Box::new(self.build_index()));
        }
        i
    }

    /// Set the `__slots__` member `key` to `value`: kept in this table but not part of the
    /// instance's `__dict__`, so not mirrored there. Gives the old value.
    pub fn insert_slot(&mut self, key: Arc<str>, value: Value) -> Option<Value> {
        let view = self.view.take();
        let old = self.insert(key, value);
        self.view = view;
        old
    }

    /// Set `key` to `value`; gives the old value.
    #[inline]
    pub fn insert(&mut self, key: Arc<str>, value: Value) -> Option<Value> {
        self.insert_full(key, value).1
    }

    /// Remove `key`, keeping the order of the others; gives its value.
    pub fn shift_remove<Q: AttrKey + ?Sized>(&mut self, key: &Q) -> Option<Value> {
        let i = self.get_index_of(key)?;
        if i >= self.entries.len() {
            return None;
        }
        let (k, v) = self.entries.remove(i);
        if let Some(view) = &self.view {
            drop(view.remove(&HashKey::from_str(&k)));
        }
        if self.entries.len() < INDEXED_FROM / 2 {
            self.index = None;
        } else if self.index.is_some() {
            self.index = Some(Box::new(self.build_index()));
        }
        Some(v)
    }

    fn build_index(&self) -> Index {
        let mut index = Index::with_capacity_and_hasher(self.entries.len(), Default::default());
        for (i, (k, _)) in self.entries.iter().enumerate() {
            index.insert(k.clone(), i);
        }
        index
    }

    /// Remove every attribute.
    pub fn clear(&mut self) {
        if let Some(view) = &self.view {
            for (k, _) in &self.entries {
                drop(view.remove(&HashKey::from_str(k)));
            }
        }
        self.entries.clear();
        self.index = None;
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&Arc<str>, &Value)> + ExactSizeIterator {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &Arc<str>> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Value> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }
}

/// A lookup in a large table's index (out of line: most tables have none).
#[inline(never)]
fn indexed_position(index: &Index, key: &str) -> Option<usize> {
    index.get(key).copied()
}

impl IntoIterator for InstDict {
    type Item = (Arc<str>, Value);
    type IntoIter = std::vec::IntoIter<(Arc<str>, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a> IntoIterator for &'a InstDict {
    type Item = (&'a Arc<str>, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Arc<str>, Value)>,
        fn(&'a (Arc<str>, Value)) -> (&'a Arc<str>, &'a Value),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl FromIterator<(Arc<str>, Value)> for InstDict {
    fn from_iter<I: IntoIterator<Item = (Arc<str>, Value)>>(iter: I) -> InstDict {
        let mut d = InstDict::default();
        d.extend(iter);
        d
    }
}

impl Extend<(Arc<str>, Value)> for InstDict {
    fn extend<I: IntoIterator<Item = (Arc<str>, Value)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}
