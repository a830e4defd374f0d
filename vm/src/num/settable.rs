//! Stage 4 (VM), numeric semantics.
//! `SetTable<T>`: an open-addressing hash table reproducing CPython 3.11 `set` layout,
//! so iteration order matches CPython for the same inserts/removes and hashes.
//!
//! Mirrors `Objects/setobject.c`: table of 8 slots initially, `LINEAR_PROBES = 9`
//! consecutive slots per probe then `perturb >>= 5; i = (i*5 + 1 + perturb) & mask`,
//! dummy slots on removal (the last dummy seen on an insert probe path is reused),
//! and a resize to `used > 50000 ? used*2 : used*4` when `fill*5 >= mask*3`.

const MIN_SIZE: usize = 8;
const LINEAR_PROBES: usize = 9;
const PERTURB_SHIFT: u32 = 5;

/// A slot of the table: `None` is empty, `Some(m)` holds a member or, when `m.is_dummy()`, the
/// dummy a removal leaves. A member carries its own hash ([`SetMember`]), so with `HashKey` (a
/// hash and a 16-byte value) a slot is 24 bytes and an empty one is told by one tag compare:
/// walking the slots (`set(s)` copying them, a set's free dropping them) costs a few machine
/// instructions a slot. (An enum `Empty | Dummy | Active(i64, T)` kept the hash twice, 32 bytes a
/// slot, and took about 13 instructions a slot for each walk, callgrind.)
type Slot<T> = Option<T>;

/// What a set table stores: a member that knows its hash (as the caller computed it), and the
/// dummy value that marks a slot whose member was removed (never equal to a member).
pub trait SetMember {
    fn set_hash(&self) -> i64;
    fn dummy() -> Self;
    fn is_dummy(&self) -> bool;
}

/// The member a slot holds, if it holds one (not empty, not a dummy).
#[inline(always)]
fn member<T: SetMember>(slot: &Slot<T>) -> Option<&T> {
    slot.as_ref().filter(|v| !v.is_dummy())
}

/// A CPython-compatible set table.  The caller supplies hashes (as from
/// [`super::hash`]) and an equality predicate; this type never hashes by itself.
#[derive(Debug, Clone)]
pub struct SetTable<T> {
    table: Vec<Slot<T>>,
    fill: usize,
    used: usize,
    finger: usize,
}

impl<T: SetMember> Default for SetTable<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: SetMember> SetTable<T> {
    /// An empty set: 8 slots, allocated by the first insertion (as if they were there: the
    /// table behaves as an 8-slot one throughout). `set()` made and dropped empty, or before
    /// its first `add` (`previous = previous or set()`), costs no allocation: a malloc and a
    /// free, the 8 slots' stores and their walk at the drop, about 150 machine instructions.
    /// (CPython keeps the first 8 slots inside the set object for the same reason.)
    pub fn new() -> Self {
        SetTable {
            table: Vec::new(),
            fill: 0,
            used: 0,
            finger: 0,
        }
    }

    fn empty_table(n: usize) -> Vec<Slot<T>> {
        // Collected from an iterator of known length: one allocation and a store per slot,
        // where `resize_with` was a call of its own (about 50 machine instructions for the 32
        // slots a set of 5 to 10 members has).
        (0..n).map(|_| None).collect()
    }

    /// The number of slots, counting the 8 of a table not allocated yet ([`SetTable::new`]).
    #[inline]
    fn slots(&self) -> usize {
        self.table.len().max(MIN_SIZE)
    }

    #[inline]
    fn mask(&self) -> usize {
        self.slots() - 1
    }

    /// Allocate the 8 slots of a new table before its first member goes in.
    #[inline]
    fn allocate(&mut self) {
        if self.table.is_empty() {
            self.table = Self::empty_table(MIN_SIZE);
        }
    }

    /// Number of elements.
    #[inline]
    pub fn len(&self) -> usize {
        self.used
    }

    /// True if the set has no elements.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    /// Walk the probe sequence of `hash` up to its first empty slot, calling `visit` with each
    /// slot holding an element of this hash; the first slot `visit` accepts is the answer.
    fn probe<'a>(&'a self, hash: i64, mut visit: impl FnMut(&'a T) -> bool) -> Option<usize> {
        if self.table.is_empty() {
            return None;
        }
        let mask = self.mask();
        let mut perturb = hash as u64;
        let mut i = (hash as u64 as usize) & mask;
        loop {
            let probes = if i + LINEAR_PROBES <= mask {
                LINEAR_PROBES
            } else {
                0
            };
            // A half-open range: `..=` keeps an exhaustion flag, a test more per step.
            for j in i..i + probes + 1 {
                match &self.table[j] {
                    None => return None,
                    Some(v) if v.set_hash() == hash && !v.is_dummy() && visit(v) => return Some(j),
                    _ => {}
                }
            }
            perturb >>= PERTURB_SHIFT;
            i = (i
                .wrapping_mul(5)
                .wrapping_add(1)
                .wrapping_add(perturb as usize))
                & mask;
        }
    }

    /// Find the slot index holding an element equal to the key, or `None`.
    fn lookup(&self, hash: i64, eq: &mut impl FnMut(&T) -> bool) -> Option<usize> {
        self.probe(hash, eq)
    }

    /// Every element stored with this hash, in the order a lookup meets them. Those are the
    /// only elements a lookup of a key with this hash compares with, so a caller that must run
    /// Python's `__eq__` on each looks at a few elements, not the whole set. (A slot can be
    /// visited twice when the probe sequence comes back to it; it is listed once.)
    pub fn with_hash(&self, hash: i64) -> Vec<&T> {
        let mut found: Vec<&T> = Vec::new();
        self.probe(hash, |v| {
            if !found.iter().any(|seen| std::ptr::eq(*seen, v)) {
                found.push(v);
            }
            false
        });
        found
    }

    /// The element equal to the key (`x in s`), if present.
    pub fn find(&self, hash: i64, mut eq: impl FnMut(&T) -> bool) -> Option<&T> {
        match self.lookup(hash, &mut eq).map(|j| &self.table[j]) {
            Some(Some(v)) => Some(v),
            _ => None,
        }
    }

    /// True if an element equal to the key is present.
    pub fn contains(&self, hash: i64, eq: impl FnMut(&T) -> bool) -> bool {
        self.find(hash, eq).is_some()
    }

    /// `s.add(value)`: returns true if inserted, false if an equal element existed
    /// (the existing element is kept, as in CPython).
    pub fn insert(&mut self, value: T, mut eq: impl FnMut(&T) -> bool) -> bool {
        self.insert_with(value, |stored, _| eq(stored))
    }

    /// [`SetTable::insert`] where `eq(stored, new)` compares a stored element with the one
    /// being inserted (so the caller needs no copy of it to compare with).
    pub fn insert_with(&mut self, value: T, mut eq: impl FnMut(&T, &T) -> bool) -> bool {
        let hash = value.set_hash();
        self.allocate();
        let mask = self.mask();
        let i = (hash as u64 as usize) & mask;
        let mut freeslot: Option<usize> = None;
        // The first slot probed is free (the common case while a set is being built): the
        // slot the probe would choose, found without setting it up.
        let empty_at = if let Some(None) = self.table.get(i) {
            i
        } else {
            match self.probe_for_insert(hash, &value, &mut freeslot, &mut eq) {
                Some(j) => j,
                None => return false,
            }
        };
        if let Some(f) = freeslot {
            self.used += 1;
            self.table[f] = Some(value);
            return true;
        }
        self.fill += 1;
        self.used += 1;
        self.table[empty_at] = Some(value);
        if self.fill * 5 >= mask * 3 {
            let minused = if self.used > 50000 {
                self.used * 2
            } else {
                self.used * 4
            };
            self.resize(minused);
        }
        true
    }

    /// `insert_with`'s probe: `Some(j)`, the first empty slot (the last dummy met before it
    /// left in `freeslot`), or `None` when an equal element is stored.
    fn probe_for_insert(
        &self,
        hash: i64,
        value: &T,
        freeslot: &mut Option<usize>,
        eq: &mut impl FnMut(&T, &T) -> bool,
    ) -> Option<usize> {
        let mask = self.mask();
        let mut perturb = hash as u64;
        let mut i = (hash as u64 as usize) & mask;
        loop {
            let probes = if i + LINEAR_PROBES <= mask {
                LINEAR_PROBES
            } else {
                0
            };
            for j in i..i + probes + 1 {
                match &self.table[j] {
                    None => return Some(j),
                    Some(v) if v.is_dummy() => *freeslot = Some(j),
                    Some(v) => {
                        if v.set_hash() == hash && eq(v, value) {
                            return None;
                        }
                    }
                }
            }
            perturb >>= PERTURB_SHIFT;
            i = (i
                .wrapping_mul(5)
                .wrapping_add(1)
                .wrapping_add(perturb as usize))
                & mask;
        }
    }

    /// Insert into a table known to contain no dummies and no equal element.
    fn insert_clean(table: &mut [Slot<T>], hash: i64, value: T) {
        let mask = table.len() - 1;
        let mut perturb = hash as u64;
        let mut i = (hash as u64 as usize) & mask;
        // The first slot probed is free: the one the search below would find.
        if let Some(slot @ None) = table.get_mut(i) {
            *slot = Some(value);
            return;
        }
        loop {
            let probes = if i + LINEAR_PROBES <= mask {
                LINEAR_PROBES
            } else {
                0
            };
            if let Some(slot) = table[i..i + probes + 1].iter_mut().find(|s| s.is_none()) {
                *slot = Some(value);
                return;
            }
            perturb >>= PERTURB_SHIFT;
            i = (i
                .wrapping_mul(5)
                .wrapping_add(1)
                .wrapping_add(perturb as usize))
                & mask;
        }
    }

    /// CPython's `set_table_resize`: smallest power of two > `minused` (at least 8).
    /// The table length a resize for `minused` elements makes (CPython's doubling from 8).
    fn size_for(minused: usize) -> usize {
        let mut newsize = MIN_SIZE;
        while newsize <= minused {
            newsize <<= 1;
        }
        newsize
    }

    fn resize(&mut self, minused: usize) {
        let newsize = Self::size_for(minused);
        let old = std::mem::replace(&mut self.table, Self::empty_table(newsize));
        self.fill = self.used;
        for slot in old {
            if let Some(v) = slot.filter(|v| !v.is_dummy()) {
                Self::insert_clean(&mut self.table, v.set_hash(), v);
            }
        }
    }

    /// `s.discard(x)`: removes and returns the equal element, leaving a dummy slot.
    pub fn remove(&mut self, hash: i64, mut eq: impl FnMut(&T) -> bool) -> Option<T> {
        let j = self.lookup(hash, &mut eq)?;
        self.used -= 1;
        self.table[j].replace(T::dummy())
    }

    /// `s.pop()`: removes an arbitrary element exactly as CPython (search finger).
    pub fn pop(&mut self) -> Option<T> {
        if self.used == 0 {
            return None;
        }
        let mask = self.mask();
        let mut j = self.finger & mask;
        while member(&self.table[j]).is_none() {
            j = if j >= mask { 0 } else { j + 1 };
        }
        self.used -= 1;
        self.finger = j + 1;
        self.table[j].replace(T::dummy())
    }

    /// `s.clear()`: back to an empty 8-slot table (allocated again by the next insertion).
    pub fn clear(&mut self) {
        self.table = Vec::new();
        self.fill = 0;
        self.used = 0;
    }

    /// The first element at slot `pos` or after, with its slot: what CPython's set iterator
    /// reads at each step (it walks the live table, so members added or removed during the
    /// walk are seen or skipped as there).
    pub fn next_from(&self, pos: usize) -> Option<(usize, &T)> {
        let rest = self.table.get(pos..)?;
        rest.iter()
            .enumerate()
            .find_map(|(i, s)| member(s).map(|v| (pos + i, v)))
    }

    /// Iterate elements in table order (CPython's iteration order).
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.table.iter().filter_map(member)
    }

    /// Current number of slots (for tests and `sys.getsizeof`-like introspection).
    pub fn capacity(&self) -> usize {
        self.slots()
    }
}

impl<T: Clone + SetMember> SetTable<T> {
    /// Build the set CPython produces for a set display whose elements are all
    /// constants and which has at least 3 of them (`{8, 16, 24}`): the compiler folds it
    /// into a frozenset (built by insertion, then rebuilt from its own iteration order
    /// when constants are merged) and the code does `BUILD_SET 0; SET_UPDATE`.  Displays
    /// with fewer than 3 or non-constant elements are plain insertions in order.
    pub fn from_constant_literal(
        items: impl IntoIterator<Item = T>,
        mut eq: impl FnMut(&T, &T) -> bool,
    ) -> SetTable<T> {
        let mut first = SetTable::new();
        for v in items {
            let probe = v.clone();
            first.insert(v, |x| eq(x, &probe));
        }
        if first.len() < 3 {
            return first;
        }
        let mut second = SetTable::new();
        for v in first.iter() {
            second.insert(v.clone(), |x| eq(x, v));
        }
        let mut out = SetTable::new();
        out.merge_from(&second, eq);
        out
    }

    /// `s.update(other)` / `s | other` where `other` is a set: CPython's `set_merge`,
    /// which differs from element-by-element insertion (one up-front resize, and a
    /// verbatim slot copy when `self` is empty and the sizes match).  This is also how
    /// `set(s)`, `s.copy()` and CPython's constant set literals (`{1, 2, 3}` compiles to
    /// `BUILD_SET` + `SET_UPDATE frozenset(...)`) are built.  `eq(a, b)` compares elements.
    /// Make room for `n` more elements the way CPython's set does before it adds a known
    /// number of them (a merge, or a dict's keys): resize when the table would be too full.
    pub fn reserve_for(&mut self, n: usize) {
        self.allocate();
        if self.grows_for(n) {
            self.resize((self.used + n) * 2);
        }
    }

    /// Whether `reserve_for(n)` resizes the table.
    fn grows_for(&self, n: usize) -> bool {
        (self.fill + n) * 5 >= self.mask() * 3
    }

    /// A copy of a table, slot for slot, in one pass over the source into a buffer of its
    /// exact length (an empty table written first and the members then stored over it was two
    /// passes: set(s) of a one-member set, 8 slots, 212 machine instructions). `iter().cloned()`
    /// and not `to_vec()`, whose loop keeps a count for unwinding: about 11 instructions a
    /// slot against 9 (callgrind, set(s) of an 8-member set).
    #[allow(clippy::iter_cloned_collect)] // measured: `to_vec()` costs more here (above)
    fn clone_table(src: &[Slot<T>]) -> Vec<Slot<T>> {
        src.iter().cloned().collect()
    }

    /// What `merge_from` makes of a new empty table and `other` (`set(s)`, `s.copy()`): the
    /// same slots, built without first allocating the empty table's 8 slots and dropping them.
    pub fn merged_copy(other: &SetTable<T>) -> SetTable<T> {
        let n = other.used;
        if n == 0 {
            return SetTable::new();
        }
        // The size `merge_from` gives a fresh 8-slot table: `reserve_for(n)` grows it when
        // `n * 5 >= 7 * 3`, to `size_for(n * 2)`.
        let len = if n > 0 && n * 5 >= (MIN_SIZE - 1) * 3 {
            Self::size_for(n * 2)
        } else {
            MIN_SIZE
        };
        if n > 0 && len == other.table.len() && other.fill == other.used {
            return SetTable {
                table: Self::clone_table(&other.table),
                fill: other.fill,
                used: other.used,
                finger: 0,
            };
        }
        let mut table = Self::empty_table(len);
        for slot in &other.table {
            if let Some(v) = member(slot) {
                Self::insert_clean(&mut table, v.set_hash(), v.clone());
            }
        }
        SetTable {
            table,
            fill: n,
            used: n,
            finger: 0,
        }
    }

    pub fn merge_from(&mut self, other: &SetTable<T>, mut eq: impl FnMut(&T, &T) -> bool) {
        if other.used == 0 {
            return;
        }
        // Into an empty table that `reserve_for` would make as large as `other`'s, a table
        // without dummies is copied whole (CPython's set_merge), with no resize before (its
        // table was allocated, zeroed and dropped for nothing: `set(s)` of a small set).
        let len = if self.grows_for(other.used) {
            Self::size_for((self.used + other.used) * 2)
        } else {
            self.slots()
        };
        if self.fill == 0 && len == other.table.len() && other.fill == other.used {
            self.table = Self::clone_table(&other.table);
            self.fill = other.fill;
            self.used = other.used;
            return;
        }
        self.reserve_for(other.used);
        if self.fill == 0 {
            self.fill = other.used;
            self.used = other.used;
            for slot in &other.table {
                if let Some(v) = member(slot) {
                    Self::insert_clean(&mut self.table, v.set_hash(), v.clone());
                }
            }
            return;
        }
        for slot in &other.table {
            if let Some(v) = member(slot) {
                self.insert(v.clone(), |x| eq(x, v));
            }
        }
    }
}
