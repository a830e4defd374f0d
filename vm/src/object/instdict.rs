//! Objects stage: the attribute table of an instance (`Instance::dict`), with keys shared
//! between instances through layouts (CPython's split dicts, V8's hidden classes).
//!
//! Most instances of a class get the same attributes, set by `__init__` in the same order. So
//! the names are not kept in each instance: a [`Layout`] is an immutable, process-wide list of
//! names, and an instance keeps a pointer to its layout and its values, in the layout's order.
//! Layouts form a tree: adding a name to an instance of layout `L` moves it to `L`'s child for
//! that name, made the first time any instance needs it and shared after that. Two instances
//! that were given the same names in the same order therefore share one layout, and a layout's
//! number identifies its names: the inline cache of a `LOAD_ATTR`/`STORE_ATTR` instruction
//! (`interp/attr.rs`) remembers "layout n, position i", and a hit is one comparison of numbers
//! and an index, with no hashing and no string comparison.
//!
//! Layouts are never freed (they are small and shared by every instance that uses them), so
//! their number is capped: past [`MAX_LAYOUTS`] layouts, or [`MAX_LAYOUT_KEYS`] names in one,
//! or once an attribute is deleted, an instance keeps its own names ("dict mode", the table as
//! it was before layouts: insertion order, scanned, with a hash index past [`INDEXED_FROM`]
//! names). Both forms answer the same methods.
//!
//! The methods are those of `indexmap::IndexMap` that the interpreter uses on attribute
//! tables, with the same meaning (positions are insertion order; `shift_remove` keeps the
//! order of the others), so code written for either reads the same.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::heap::{AtomicStatic, ObjCell, Publish, Ref, Shared};
use crate::object::{Dict, HashKey, KeyMap, NameRef};
use crate::value::Value;

/// How many names a table may have before lookups use a hash index instead of a scan.
const INDEXED_FROM: usize = 16;

/// The most names a layout has; an instance given more keeps its own (dict mode).
pub const MAX_LAYOUT_KEYS: usize = 48;

/// The most layouts the process makes (they are never freed); after that, instances that need
/// a new one keep their own names.
pub const MAX_LAYOUTS: u32 = 20_000;

type Index = std::collections::HashMap<Arc<str>, usize, rustc_hash::FxBuildHasher>;

/// An ordered list of attribute names shared by the instances that have exactly these names in
/// this order (see the module comment). Immutable once made, except for its list of children.
pub struct Layout {
    /// Unique and never reused (layouts are never freed): `ROOT` is 1, `DICT_MODE` `u32::MAX`,
    /// so an inline cache's initial 0 matches nothing.
    id: u32,
    keys: Vec<Arc<str>>,
    /// A summary of `keys`: the [`name_bits`] of each. A name whose bit is not in it is not in
    /// the layout, found without a scan (`InstDict::surely_lacks`). All ones for `DICT_MODE`,
    /// whose tables keep their names apart.
    names: u64,
    /// Name to position, for layouts of at least [`INDEXED_FROM`] names.
    index: Option<Index>,
    /// The first child made (most layouts have one): read without a lock.
    first: OnceLock<(Arc<str>, &'static Layout)>,
    /// The next children made, also read without the lock (each set once, in order, under
    /// it). The root has a child per first attribute of every class: chaos' `Point.__init__`
    /// found its `x` past `first` and took the lock and a scan of `others` for every new
    /// point (about 110 machine instructions a store, callgrind).
    more: [OnceLock<(Arc<str>, &'static Layout)>; MORE_CHILDREN],
    /// Any further children.
    others: Mutex<Vec<(Arc<str>, &'static Layout)>>,
    /// The table of a dict with these names as keys (interned strings, their hashes computed)
    /// and `None` values, made the first time an instance of this layout is asked for its
    /// `__dict__` ([`InstDict::to_key_map`]): each later `__dict__` copies it and fills in the
    /// values, rather than hashing and inserting every name again (`logging` takes a new
    /// record's `__dict__` for every message it formats).
    dict_keys: OnceLock<Shared<KeyMap>>,
}

/// The most values a table's first allocation makes room for ([`InstDict::reserve_for_shape`]):
/// `Vec`'s own first capacity for 16-byte items.
const FIRST_ROOM: usize = 4;

/// How many children after the first a layout finds without its lock.
const MORE_CHILDREN: usize = 7;

/// An unset child slot (a `const` so that arrays of them can be written in `const fn`s).
#[allow(clippy::declare_interior_mutable_const)]
const NO_CHILD: OnceLock<(Arc<str>, &'static Layout)> = OnceLock::new();

/// The layout of an instance without attributes.
static ROOT: Layout = Layout::empty(1, 0);
/// More children of `ROOT`, one per first attribute name of any class: an open-addressed
/// table read without a lock, a name's probes starting at [`root_slot`] of its text. Slots are
/// set once each, under `ROOT`'s lock, and never cleared. The root's eight lock-free children
/// were not enough: every class adds one, the library's too, and chaos' `Point.__init__`
/// found its `x` past them, taking the lock and comparing the text of every child for every
/// new point.
static ROOT_CHILDREN: [OnceLock<(Arc<str>, &'static Layout)>; ROOT_SLOTS] = [NO_CHILD; ROOT_SLOTS];
/// The size of `ROOT_CHILDREN` (a power of two).
const ROOT_SLOTS: usize = 256;
/// How many slots of `ROOT_CHILDREN` a name probes (past them, it goes to the locked list).
const ROOT_PROBES: usize = 8;
/// Stands for "no shared layout" in a table in dict mode: no names, and a number no cache holds.
/// Its summary has every bit, so it never says a table in dict mode lacks a name.
static DICT_MODE: Layout = Layout::empty(u32::MAX, u64::MAX);
/// The number of the next layout made (and how many there are).
static NEXT_ID: AtomicU32 = AtomicU32::new(2);

impl Layout {
    /// The layout's number ([`InstDict::layout_id`]).
    #[inline]
    pub fn id(&self) -> u32 {
        self.id
    }

    /// How many names the layout has (0 for `DICT_MODE`, whose tables keep their own).
    #[inline]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether `name` is surely not among the layout's names, by their summary (never for
    /// `DICT_MODE`, whose summary is all ones).
    #[inline]
    pub fn surely_lacks(&self, name: &str) -> bool {
        let bits = name_bits(name);
        self.names & bits != bits
    }

    const fn empty(id: u32, names: u64) -> Layout {
        Layout {
            id,
            keys: Vec::new(),
            names,
            index: None,
            first: OnceLock::new(),
            more: [NO_CHILD; MORE_CHILDREN],
            others: Mutex::new(Vec::new()),
            dict_keys: OnceLock::new(),
        }
    }

    /// The layout for these names followed by `key`, made if needed; `None` when the caps say
    /// the instance should keep its own names.
    fn child(&'static self, key: &Arc<str>) -> Option<&'static Layout> {
        if let Some((k, next)) = self.first.get() {
            if Arc::ptr_eq(k, key) || **k == **key {
                return Some(next);
            }
        }
        self.child_more(key)
    }

    /// `child` past the first child, out of line so that the first one's test stays inlined
    /// where names are added (with this loop inline, `child` was called instead: about 10
    /// machine instructions more per added attribute, callgrind on the cycles kernel).
    #[inline(never)]
    fn child_more(&'static self, key: &Arc<str>) -> Option<&'static Layout> {
        // By pointer only: the names are interned, and a differently allocated equal name
        // takes the slow path, which compares the text.
        if std::ptr::eq(self, &ROOT) {
            let start = root_slot(key);
            for i in 0..ROOT_PROBES {
                match ROOT_CHILDREN[(start + i) % ROOT_SLOTS].get() {
                    Some((k, next)) if Arc::ptr_eq(k, key) => return Some(next),
                    Some(_) => {}
                    None => break,
                }
            }
        }
        for slot in &self.more {
            match slot.get() {
                Some((k, next)) if Arc::ptr_eq(k, key) => return Some(next),
                Some(_) => {}
                None => break,
            }
        }
        self.child_slow(key)
    }

    #[inline(never)]
    fn child_slow(&'static self, key: &Arc<str>) -> Option<&'static Layout> {
        if self.id == DICT_MODE.id || self.keys.len() >= MAX_LAYOUT_KEYS {
            return None;
        }
        // A poisoned lock only means a thread panicked while holding it; the list is still valid.
        let mut others = self.others.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((k, next)) = self.first.get() {
            if **k == **key {
                return Some(next);
            }
        }
        let root = std::ptr::eq(self, &ROOT);
        let table: &[OnceLock<_>] = if root { &ROOT_CHILDREN } else { &[] };
        if let Some((_, next)) = self
            .more
            .iter()
            .chain(table)
            .filter_map(OnceLock::get)
            .chain(others.iter())
            .find(|(k, _)| **k == **key)
        {
            return Some(next);
        }
        // Layouts under other parents may be made at the same moment (`--gil off`).
        let id = NEXT_ID
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < MAX_LAYOUTS).then_some(n + 1)
            })
            .ok()?;
        // The name as code objects spell it, so lookups by an instruction's name hit by pointer.
        let key = crate::object::intern_name(key);
        let mut keys = Vec::with_capacity(self.keys.len() + 1);
        keys.extend(self.keys.iter().cloned());
        keys.push(key.clone());
        let index = (keys.len() >= INDEXED_FROM).then(|| build_index(&keys));
        let next: &'static Layout = Box::leak(Box::new(Layout {
            id,
            names: self.names | name_bits(&key),
            keys,
            index,
            first: OnceLock::new(),
            more: [NO_CHILD; MORE_CHILDREN],
            others: Mutex::new(Vec::new()),
            dict_keys: OnceLock::new(),
        }));
        // Made under the lock, so each of `first` and `more` is set at most once here and
        // never raced: the first free one takes the child, else `others` does.
        let mut child = (key, next);
        let start = if root { root_slot(&child.0) } else { 0 };
        let probes = (0..if root { ROOT_PROBES } else { 0 })
            .map(|i| &ROOT_CHILDREN[(start + i) % ROOT_SLOTS]);
        for slot in std::iter::once(&self.first).chain(probes).chain(&self.more) {
            match slot.set(child) {
                Ok(()) => return Some(next),
                Err(back) => child = back,
            }
        }
        others.push(child);
        Some(next)
    }
}

/// The bits of `name` in a layout's summary of its names (`Layout::names`): two (or one, when
/// they coincide), each from its length and a few of its bytes, a few machine instructions. A
/// name is surely absent when one of its bits is clear. With one bit a name, a layout of 13
/// names (richards' tasks) said "maybe" for a fifth of the names absent from it (`run` shared
/// its bit with an attribute: 142,000 scans of the names in richards, callgrind); with two,
/// about one in nine.
#[inline]
fn name_bits(name: &str) -> u64 {
    let b = name.as_bytes();
    let first = u64::from(b.first().copied().unwrap_or(0));
    let last = u64::from(b.last().copied().unwrap_or(0));
    let middle = u64::from(b.get(b.len() / 2).copied().unwrap_or(0));
    let len = b.len() as u64;
    let h1 = len.wrapping_mul(11) ^ first ^ last.wrapping_mul(5);
    let h2 = len.wrapping_mul(7) ^ middle.wrapping_mul(3) ^ first.wrapping_mul(13) ^ last;
    (1 << (h1 & 63)) | (1 << (h2 & 63))
}

/// Where a name's probes of `ROOT_CHILDREN` start: from its text (equal names, however
/// allocated, probe the same slots), a few machine instructions.
#[inline]
fn root_slot(name: &str) -> usize {
    let b = name.as_bytes();
    let first = usize::from(b.first().copied().unwrap_or(0));
    let last = usize::from(b.last().copied().unwrap_or(0));
    let middle = usize::from(b.get(b.len() / 2).copied().unwrap_or(0));
    (b.len().wrapping_mul(37) ^ first.wrapping_mul(11) ^ last.wrapping_mul(5) ^ middle) % ROOT_SLOTS
}

fn build_index(keys: &[Arc<str>]) -> Index {
    let mut index = Index::with_capacity_and_hasher(keys.len(), Default::default());
    for (i, k) in keys.iter().enumerate() {
        index.insert(k.clone(), i);
    }
    index
}

/// The names of a table in dict mode.
#[derive(Clone, Default)]
struct OwnKeys {
    keys: Vec<Arc<str>>,
    /// Name to position, kept only while there are at least [`INDEXED_FROM`] names.
    index: Option<Box<Index>>,
}

/// An instance's attributes, in insertion order (see the module comment).
pub struct InstDict {
    /// The shared names, or `DICT_MODE` when `own` holds them.
    layout: &'static Layout,
    /// The values, in the order of the names.
    values: Vec<Value>,
    /// Dict mode: the instance's own names.
    own: Option<Box<OwnKeys>>,
    /// Once a program has asked for the instance's `__dict__`: that dict (`interp/views.rs`).
    /// Every change made here is made there too, so a `__dict__` taken before sees the
    /// attributes set after, as in CPython (a program's changes to the dict come back through
    /// `views::written_through`).
    view: Option<Ref<Dict>>,
}

impl Default for InstDict {
    fn default() -> InstDict {
        InstDict::with_capacity(0)
    }
}

impl Clone for InstDict {
    /// A copy of the attributes; the `__dict__` object stays with the original instance.
    fn clone(&self) -> InstDict {
        InstDict {
            layout: self.layout,
            values: self.values.clone(),
            own: self.own.clone(),
            view: None,
        }
    }
}

/// An instance's attribute table in its cell, which shows its layout to readers that take no
/// lock (`ShownLayout`).
pub type InstCell = ObjCell<InstDict, ShownLayout>;

/// What an instance's table publishes for readers that take no lock, free-threaded
/// (`heap::Publish`): its layout, `DICT_MODE` once it keeps its own names. In a shared layout
/// the table holds one value per name of the layout, so the layout alone says which names the
/// instance has: a method call (`interp/attr.rs: method_shadowed_in`) sees that none hides the
/// method without taking the table's lock (two atomic read-modify-writes per call).
pub struct ShownLayout(AtomicStatic<Layout>);

impl ShownLayout {
    /// The layout the table had when its last exclusive hold ended.
    #[inline(always)]
    pub fn get(&self) -> &'static Layout {
        self.0.load()
    }
}

impl Publish<InstDict> for ShownLayout {
    fn of(dict: &InstDict) -> ShownLayout {
        ShownLayout(AtomicStatic::new(dict.layout))
    }
    #[inline(always)]
    fn publish(&self, dict: &InstDict) {
        self.0.store(dict.layout);
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
            layout: &ROOT,
            values: Vec::with_capacity(n),
            own: None,
            view: None,
        }
    }

    /// A table with `like`'s names and `values` in their order, for native code making an
    /// instance shaped as others of its class (`_decimal_fast`'s results) without going through
    /// the layout tree name by name. The values come back when `like` has no shared layout,
    /// mirrors a `__dict__`, or holds another number of names.
    #[inline(always)]
    pub fn with_names_of(like: &InstDict, values: Vec<Value>) -> Result<InstDict, Vec<Value>> {
        if like.own.is_some() || like.view.is_some() || like.values.len() != values.len() {
            return Err(values);
        }
        Ok(InstDict {
            layout: like.layout,
            values,
            own: None,
            view: None,
        })
    }

    /// The number of the table's layout: equal numbers mean the same names at the same
    /// positions, for as long as the process runs. A table in dict mode gives `u32::MAX`, a
    /// number the caches never record.
    #[inline]
    pub fn layout_id(&self) -> u32 {
        self.layout.id
    }

    /// The table's layout (`DICT_MODE` once it keeps its own names).
    #[inline]
    pub fn layout(&self) -> &'static Layout {
        self.layout
    }

    /// Whether the names are a shared layout's (not dict mode).
    #[inline]
    pub fn has_layout(&self) -> bool {
        self.own.is_none()
    }

    /// The values, in the order of the names (`get_index`'s positions).
    #[inline]
    pub fn values_slice(&self) -> &[Value] {
        &self.values
    }

    /// The attributes as the table of a new dict, in order (`obj.__dict__`,
    /// `interp/views.rs`). A table with a shared layout copies the layout's key table
    /// (`Layout::dict_keys`, made once) and fills in the values: about a tenth of the machine
    /// instructions of hashing and inserting each name (callgrind, a 22-attribute `LogRecord`).
    pub fn to_key_map(&self) -> KeyMap {
        if self.own.is_some() {
            let mut map = KeyMap::with_capacity_and_hasher(self.values.len(), Default::default());
            for (k, v) in self.iter() {
                map.insert(HashKey::from_str(k), v.clone());
            }
            return map;
        }
        let keys = self.layout.dict_keys.get_or_init(|| {
            let mut map =
                KeyMap::with_capacity_and_hasher(self.layout.keys.len(), Default::default());
            for k in &self.layout.keys {
                let key = crate::object::intern(k);
                let hash = key.hash();
                map.insert(
                    HashKey {
                        hash,
                        value: Value::Str(key),
                    },
                    Value::None,
                );
            }
            Shared::new(map)
        });
        let mut map = KeyMap::clone(keys);
        for (slot, v) in map.values_mut().zip(&self.values) {
            *slot = v.clone();
        }
        map
    }

    /// The names, in order.
    #[inline]
    fn key_slice(&self) -> &[Arc<str>] {
        match &self.own {
            Some(own) => &own.keys,
            None => &self.layout.keys,
        }
    }

    /// The instance's `__dict__`, if one was made ([`InstDict::set_view`]).
    pub fn view(&self) -> Option<&Ref<Dict>> {
        self.view.as_ref()
    }

    /// Whether a `__dict__` object mirrors this table: then writes must go through
    /// `insert`/`shift_remove` (which keep it current), not through `get_mut`/`get_index_mut`.
    #[inline]
    pub fn has_view(&self) -> bool {
        self.view.is_some()
    }

    /// Make `dict` (holding exactly these attributes, slots aside) the instance's `__dict__`,
    /// kept current from now on.
    pub fn set_view(&mut self, dict: Ref<Dict>) {
        self.view = Some(dict);
    }

    /// Forget the `__dict__` object (`del obj.__dict__`): it keeps what it holds, and the next
    /// `obj.__dict__` makes a new one.
    pub fn drop_view(&mut self) {
        self.view = None;
    }

    /// Mirror a set in the `__dict__` object, if there is one.
    #[inline]
    fn view_set(&self, key: &str, value: &Value) {
        if let Some(d) = self.view.as_deref() {
            d.set_str(key, value.clone());
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.values.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The position of `key`, if present.
    #[inline]
    pub fn get_index_of<Q: AttrKey + ?Sized>(&self, key: &Q) -> Option<usize> {
        let index = match &self.own {
            Some(own) => own.index.as_deref(),
            None => self.layout.index.as_ref(),
        };
        if let Some(index) = index {
            return indexed_position(index, key.key_str());
        }
        let keys = self.key_slice();
        let s = key.key_str();
        match key.key_arc() {
            Some(a) => keys.iter().position(|k| {
                Arc::ptr_eq(k, a)
                    || (k.len() == s.len()
                        && k.as_bytes().first() == s.as_bytes().first()
                        && **k == *s)
            }),
            None => keys.iter().position(|k| **k == *s),
        }
    }

    /// Whether `name` is surely not among the names, told by the layout's summary without a
    /// scan (`Layout::names`). False when unsure: the name may be there (its bit is another
    /// name's too, or the table is in dict mode). For look-ups that usually miss: whether an
    /// instance attribute hides a method (`interp/attr.rs: has_name_unhinted`).
    #[inline]
    pub fn surely_lacks(&self, name: &str) -> bool {
        self.layout.surely_lacks(name)
    }

    #[inline]
    pub fn contains_key<Q: AttrKey + ?Sized>(&self, key: &Q) -> bool {
        self.get_index_of(key).is_some()
    }

    #[inline]
    pub fn get<Q: AttrKey + ?Sized>(&self, key: &Q) -> Option<&Value> {
        let i = self.get_index_of(key)?;
        self.values.get(i)
    }

    /// The value of `key`, to change in place. A change made through it is not mirrored in
    /// the `__dict__` object: callers check [`InstDict::has_view`] first.
    #[inline]
    pub fn get_mut<Q: AttrKey + ?Sized>(&mut self, key: &Q) -> Option<&mut Value> {
        let i = self.get_index_of(key)?;
        self.values.get_mut(i)
    }

    /// Position, key and value of `key`, if present.
    #[inline]
    pub fn get_full<Q: AttrKey + ?Sized>(&self, key: &Q) -> Option<(usize, &Arc<str>, &Value)> {
        let i = self.get_index_of(key)?;
        self.get_index(i).map(|(k, v)| (i, k, v))
    }

    /// The entry at position `i`.
    #[inline]
    pub fn get_index(&self, i: usize) -> Option<(&Arc<str>, &Value)> {
        Some((self.key_slice().get(i)?, self.values.get(i)?))
    }

    /// The entry at position `i`, its value mutable (not mirrored: see [`InstDict::get_mut`]).
    #[inline]
    pub fn get_index_mut(&mut self, i: usize) -> Option<(&Arc<str>, &mut Value)> {
        let keys = match &self.own {
            Some(own) => &own.keys,
            None => &self.layout.keys,
        };
        Some((keys.get(i)?, self.values.get_mut(i)?))
    }

    /// The value at position `i`, mutable (not mirrored: see [`InstDict::get_mut`]).
    #[inline]
    pub fn value_at_mut(&mut self, i: usize) -> Option<&mut Value> {
        self.values.get_mut(i)
    }

    /// Set `key` to `value`: a new key goes last. Gives the position and the old value.
    pub fn insert_full(&mut self, key: Arc<str>, value: Value) -> (usize, Option<Value>) {
        if let Some(i) = self.get_index_of(&key) {
            self.view_set(&key, &value);
            if let Some(slot) = self.values.get_mut(i) {
                return (i, Some(std::mem::replace(slot, value)));
            }
        }
        (self.push_new(key, value), None)
    }

    /// Add `key`, which the caller has just found absent (under the same borrow), at the end;
    /// gives its position. A key already there would be listed twice: callers search first.
    #[inline]
    pub fn push_new(&mut self, key: Arc<str>, value: Value) -> usize {
        self.push_name(&key, value)
    }

    /// As [`InstDict::push_new`], borrowing the name: on a shared layout the name is the
    /// layout's, so none is cloned (no count to change).
    #[inline]
    pub fn push_name(&mut self, key: &Arc<str>, value: Value) -> usize {
        debug_assert!(!self.contains_key(key));
        self.view_set(key, &value);
        let i = self.values.len();
        if self.own.is_none() {
            match self.layout.child(key) {
                Some(next) => self.layout = next,
                None => self.enter_dict_mode(),
            }
        }
        if let Some(own) = &mut self.own {
            if let Some(index) = &mut own.index {
                index.insert(key.clone(), i);
            }
            own.keys.push(key.clone());
            if own.index.is_none() && own.keys.len() >= INDEXED_FROM {
                own.index = Some(Box::new(build_index(&own.keys)));
            }
        }
        if self.values.capacity() == 0 && self.own.is_none() {
            self.reserve_for_shape();
        }
        self.values.push(value);
        i
    }

    /// The first value of a table with a shared layout: room for as many values as the
    /// layouts after this one (their first children) say instances of this shape went on to
    /// get, up to [`FIRST_ROOM`], instead of `Vec`'s 4. A point with three attributes takes a
    /// 48-byte block where it took 64 (mimalloc has both sizes); a shape no instance has
    /// grown past gets 1, and the next value grows the vector to 4 as before. Never more than
    /// `Vec` would give, so a wrong guess (another class that starts with the same names)
    /// costs at most the reallocations `Vec` would have made anyway.
    #[cold]
    #[inline(never)]
    fn reserve_for_shape(&mut self) {
        let mut l: &Layout = self.layout;
        while l.len() < FIRST_ROOM {
            match l.first.get() {
                Some((_, next)) => l = next,
                None => break,
            }
        }
        self.values.reserve_exact(l.len().clamp(1, FIRST_ROOM));
    }

    /// Leave the shared layout: the table keeps its own copy of its names from now on.
    #[cold]
    fn enter_dict_mode(&mut self) {
        if self.own.is_none() {
            let keys = self.layout.keys.clone();
            let index = (keys.len() >= INDEXED_FROM).then(|| Box::new(build_index(&keys)));
            self.own = Some(Box::new(OwnKeys { keys, index }));
            self.layout = &DICT_MODE;
        }
    }

    /// Set the `__slots__` member `key` to `value`: kept in this table but not part of the
    /// instance's `__dict__`, so not mirrored there. Gives the old value.
    pub fn insert_slot(&mut self, key: Arc<str>, value: Value) -> Option<Value> {
        let view = self.view.take();
        let old = self.insert(key, value);
        self.view = view;
        old
    }

    /// Remove `key` without mirroring the removal in the `__dict__` object (a slot's value, or
    /// a key the program has already removed from the dict); gives its value.
    pub fn remove_unmirrored<Q: AttrKey + ?Sized>(&mut self, key: &Q) -> Option<Value> {
        let view = self.view.take();
        let old = self.shift_remove(key);
        self.view = view;
        old
    }

    /// Set `key` to `value`; gives the old value.
    #[inline]
    pub fn insert(&mut self, key: Arc<str>, value: Value) -> Option<Value> {
        self.insert_full(key, value).1
    }

    /// Remove `key`, keeping the order of the others; gives its value. The table leaves its
    /// shared layout (as CPython's split dicts become combined on deletion).
    pub fn shift_remove<Q: AttrKey + ?Sized>(&mut self, key: &Q) -> Option<Value> {
        let i = self.get_index_of(key)?;
        if i >= self.values.len() {
            return None;
        }
        self.enter_dict_mode();
        let own = self.own.as_mut()?;
        let k = own.keys.remove(i);
        let v = self.values.remove(i);
        if own.keys.len() < INDEXED_FROM / 2 {
            own.index = None;
        } else if own.index.is_some() {
            own.index = Some(Box::new(build_index(&own.keys)));
        }
        if let Some(view) = self.view() {
            drop(view.remove(&HashKey::from_str(&k)));
        }
        Some(v)
    }

    /// Remove every attribute (the table is back at the empty layout).
    pub fn clear(&mut self) {
        if let Some(view) = self.view() {
            for k in self.key_slice() {
                drop(view.remove(&HashKey::from_str(k)));
            }
        }
        self.values.clear();
        self.own = None;
        self.layout = &ROOT;
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&Arc<str>, &Value)> + ExactSizeIterator {
        self.key_slice().iter().zip(self.values.iter())
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &Arc<str>> + ExactSizeIterator {
        self.key_slice().iter()
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Value> + ExactSizeIterator {
        self.values.iter()
    }
}

/// A lookup in a large table's index (out of line: most tables have none).
#[inline(never)]
fn indexed_position(index: &Index, key: &str) -> Option<usize> {
    index.get(key).copied()
}

impl IntoIterator for InstDict {
    type Item = (Arc<str>, Value);
    type IntoIter = std::iter::Zip<std::vec::IntoIter<Arc<str>>, std::vec::IntoIter<Value>>;
    fn into_iter(mut self) -> Self::IntoIter {
        let keys = match self.own.take() {
            Some(own) => own.keys,
            None => self.layout.keys.clone(),
        };
        let values = std::mem::take(&mut self.values);
        keys.into_iter().zip(values)
    }
}

impl<'a> IntoIterator for &'a InstDict {
    type Item = (&'a Arc<str>, &'a Value);
    type IntoIter = std::iter::Zip<std::slice::Iter<'a, Arc<str>>, std::slice::Iter<'a, Value>>;
    fn into_iter(self) -> Self::IntoIter {
        self.key_slice().iter().zip(self.values.iter())
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
