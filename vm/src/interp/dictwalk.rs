//! Stage 4 (VM), the interpreter.
//! A dict's iterators (keys, values, items; forward and reversed; OrderedDict's) walking the
//! live dict as CPython's do, instead of a snapshot of it.
//!
//! CPython's dict iterator keeps a position in the dict's entry array, where a deleted key
//! leaves a hole and a new key is appended at the end; it checks the dict's size at each step
//! ("dictionary changed size during iteration", repeated at every later step) and counts the
//! items it still expects: an entry found when none is expected is "dictionary keys changed
//! during iteration". So a value changed meanwhile is seen, a key deleted ahead is not
//! yielded, a key added (the same size kept by a deletion) is yielded at the end.
//!
//! minivm's dict (`object::collections::Dict`) closes the gap a deletion leaves, so a position
//! alone would shift. The walk remembers the key it yielded last and the one that came after
//! it: if the key last yielded is no longer just before the cursor, keys before it were
//! deleted, and the cursor moves back to just after that key (or to the key that came next,
//! when the last one was itself deleted). This follows CPython's walk exactly while CPython
//! keeps the holes; when an insertion makes CPython rebuild (compact) its table in the middle
//! of a walk that had deleted keys behind it, CPython's walk skips entries and minivm's does
//! not (no program can rely on which). When neither key can be found again the walk stops
//! with CPython's "dictionary keys changed during iteration".

use crate::heap::Ref;
use crate::object::{Dict, HashKey, IterObj, IterState, KeyMap};
use crate::value::Value;
use crate::{err, PyResult};

/// What a dict iterator yields.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum WalkKind {
    Keys,
    Values,
    Items,
}

/// The state of one dict iterator (`IterState::DictWalk`).
pub struct DictWalk {
    pub dict: Ref<Dict>,
    /// Forward: the index of the next entry to read. Reversed: one more than it (0: done).
    pos: usize,
    /// The dict's size when the walk began; `usize::MAX` once a size change was reported
    /// (the error is then raised at every step, as CPython's).
    used: usize,
    /// The items still expected (CPython's `di->len`: the length hint, and the check above).
    pub left: usize,
    /// The key yielded last (`None` before the first step).
    last: Option<KeyMark>,
    /// The key that came after `last` in the walk's direction when it was yielded (before the
    /// first step: the first key); `None` when `last` ended the dict.
    ahead: Option<KeyMark>,
    kind: WalkKind,
    reversed: bool,
    /// An OrderedDict's iterator: the dict's `layout` counter when the walk began. Any key
    /// added, removed or moved since is "OrderedDict mutated during iteration".
    odict: Option<u64>,
}

/// A key the walk remembers by its hash and identity (`Value::id`), holding no reference
/// (a step then changes no reference count). A key that was deleted and freed is at worst
/// confused with a new key of the same hash at the same address: an equal key.
#[derive(Clone, Copy, PartialEq, Eq)]
struct KeyMark {
    hash: u64,
    id: usize,
}

impl KeyMark {
    fn of(k: &HashKey) -> KeyMark {
        KeyMark {
            hash: k.hash,
            id: k.value.id(),
        }
    }
}

impl std::hash::Hash for KeyMark {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // As `HashKey` hashes, so that the dict's table finds it.
        state.write_u64(self.hash);
    }
}

impl indexmap::Equivalent<HashKey> for KeyMark {
    fn equivalent(&self, key: &HashKey) -> bool {
        *self == KeyMark::of(key)
    }
}

/// What a step found.
enum Step {
    Item(Value),
    /// The walk is over (the caller makes the iterator exhausted).
    Done,
}

impl DictWalk {
    fn start(d: &Ref<Dict>, kind: WalkKind, reversed: bool, odict: bool) -> DictWalk {
        // Named (see `Dict::read_named`): an OrderedDict walk notices a moved key by its stamp.
        let (map, layout, _) = d.read_named();
        let n = map.len();
        let first = if reversed { n.checked_sub(1) } else { Some(0) };
        let ahead = first
            .and_then(|i| map.get_index(i))
            .map(|(k, _)| KeyMark::of(k));
        drop(map);
        DictWalk {
            dict: d.clone(),
            pos: if reversed { n } else { 0 },
            used: n,
            left: n,
            last: None,
            ahead,
            kind,
            reversed,
            odict: odict.then_some(layout),
        }
    }

    /// The items still to come, as `__length_hint__` reports them (0 after a size change).
    pub fn length_hint(&self) -> usize {
        if self.dict.len() == self.used {
            self.left
        } else {
            0
        }
    }

    /// The items a walk not yet advanced would yield, all at once (`list(d.items())`,
    /// `list(reversed(d))`, `list(od.items())`, for a walk made by the consumer itself).
    /// Under a GIL a size changed (or an OrderedDict's key moved) since the iterator was made
    /// is the error at its first step. Free-threaded, `list(d.items())` makes the iterator and
    /// copies through it in two steps another thread may come between, where CPython's GIL
    /// makes them one: the copy is then of the dict as it is now.
    pub fn fresh_items(&self) -> Option<Vec<Value>> {
        self.items_at_once(crate::heap::model() == crate::heap::Model::FreeThreaded)
    }

    /// As [`DictWalk::fresh_items`], but `None` after any change since the walk was made, in
    /// either model: for a walk made earlier by the program (`list(it)`), where that change is
    /// the error at its first step, as CPython's.
    pub fn unchanged_items(&self) -> Option<Vec<Value>> {
        self.items_at_once(false)
    }

    fn items_at_once(&self, changed_ok: bool) -> Option<Vec<Value>> {
        if self.last.is_some() {
            return None;
        }
        let map = self.dict.read();
        if !changed_ok {
            let moved = self
                .odict
                .is_some_and(|layout| self.dict.layout() != layout);
            if map.len() != self.used || moved {
                return None;
            }
        }
        let items = map.iter().map(|(k, v)| self.item(k, v));
        Some(if self.reversed {
            items.rev().collect()
        } else {
            items.collect()
        })
    }

    fn item(&self, k: &HashKey, v: &Value) -> Value {
        match self.kind {
            WalkKind::Keys => k.value.clone(),
            WalkKind::Values => v.clone(),
            WalkKind::Items => Value::tuple(vec![k.value.clone(), v.clone()]),
        }
    }

    /// Whether `key` is the key at `index`.
    fn key_at(map: &KeyMap, index: usize, key: &KeyMark) -> bool {
        map.get_index(index)
            .is_some_and(|(k, _)| KeyMark::of(k) == *key)
    }

    /// Where a forward walk's cursor is now, after keys may have been deleted and added (the
    /// size being the same); `None` when it cannot be told.
    fn cursor_forward(&self, map: &KeyMap) -> Option<usize> {
        let Some(last) = &self.last else {
            return Some(self.pos);
        };
        if self.pos > 0 && Self::key_at(map, self.pos - 1, last) {
            return Some(self.pos);
        }
        // Keys before the cursor were deleted: `last` moved back, unless it went too.
        if let Some(j) = map.get_index_of(last) {
            if j < self.pos {
                return Some(j + 1);
            }
        }
        let ahead = self.ahead.as_ref()?;
        match map.get_index_of(ahead) {
            Some(j) if j <= self.pos => Some(j),
            _ => None,
        }
    }

    /// As `cursor_forward` for a reversed walk (`pos` is one past the next entry to read).
    fn cursor_reversed(&self, map: &KeyMap) -> Option<usize> {
        if let Some(last) = &self.last {
            if Self::key_at(map, self.pos, last) {
                return Some(self.pos);
            }
            if let Some(j) = map.get_index_of(last) {
                if j < self.pos {
                    return Some(j);
                }
            }
        }
        let Some(ahead) = &self.ahead else {
            // The walk had reached the first entry.
            return Some(0);
        };
        if self.pos > 0 && Self::key_at(map, self.pos - 1, ahead) {
            return Some(self.pos);
        }
        match map.get_index_of(ahead) {
            Some(j) if j < self.pos => Some(j + 1),
            _ => None,
        }
    }

    fn step(&mut self) -> PyResult<Step> {
        let map = self.dict.read();
        if let Some(stamp) = self.odict {
            // CPython's OrderedDict iterator: done once it has passed the last key; before
            // that any change of the keys is reported, and the walk ends.
            if self.ahead.is_none() {
                return Ok(Step::Done);
            }
            let at_cursor = match &self.last {
                Some(last) if self.reversed => Self::key_at(&map, self.pos, last),
                Some(last) => self.pos > 0 && Self::key_at(&map, self.pos - 1, last),
                None => true,
            };
            let stamp_now = self.dict.layout();
            if map.len() != self.used || stamp_now != stamp || !at_cursor {
                return Err(err!(RuntimeError, "OrderedDict mutated during iteration"));
            }
        }
        if map.len() != self.used {
            drop(map);
            self.used = usize::MAX;
            return Err(err!(
                RuntimeError,
                "dictionary changed size during iteration"
            ));
        }
        let cursor = if self.reversed {
            self.cursor_reversed(&map)
        } else {
            self.cursor_forward(&map)
        };
        let Some(pos) = cursor else {
            drop(map);
            return Err(keys_changed());
        };
        let index = if self.reversed {
            let Some(i) = pos.checked_sub(1) else {
                return Ok(Step::Done);
            };
            i
        } else {
            pos
        };
        let Some((k, v)) = map.get_index(index) else {
            return Ok(Step::Done);
        };
        if self.left == 0 && !self.reversed {
            drop(map);
            return Err(keys_changed());
        }
        let out = self.item(k, v);
        self.last = Some(KeyMark::of(k));
        let next = if self.reversed {
            index.checked_sub(1)
        } else {
            Some(index + 1)
        };
        self.ahead = next
            .and_then(|i| map.get_index(i))
            .map(|(k, _)| KeyMark::of(k));
        drop(map);
        self.pos = if self.reversed { index } else { index + 1 };
        self.left = self.left.saturating_sub(1);
        Ok(Step::Item(out))
    }
}

fn keys_changed() -> crate::error::PyErr {
    err!(RuntimeError, "dictionary keys changed during iteration")
}

/// A new iterator over `d`: `iter(d)`, `iter(d.values())`, `reversed(d.items())`...
pub fn dict_iter(d: &Ref<Dict>, kind: WalkKind, reversed: bool) -> Value {
    let name = match (kind, reversed) {
        (WalkKind::Keys, false) => "dict_keyiterator",
        (WalkKind::Values, false) => "dict_valueiterator",
        (WalkKind::Items, false) => "dict_itemiterator",
        (WalkKind::Keys, true) => "dict_reversekeyiterator",
        (WalkKind::Values, true) => "dict_reversevalueiterator",
        (WalkKind::Items, true) => "dict_reverseitemiterator",
    };
    let walk = DictWalk::start(d, kind, reversed, false);
    Value::Iter(Ref::new(IterObj::new(
        name,
        IterState::DictWalk(Box::new(walk)),
    )))
}

/// `iter(od)` or `reversed(od)` of an OrderedDict or of one of its views (`odict_iterator`,
/// CPython's name for all six).
pub fn odict_iter(d: &Ref<Dict>, kind: WalkKind, reversed: bool) -> Value {
    let walk = DictWalk::start(d, kind, reversed, true);
    Value::Iter(Ref::new(IterObj::new(
        "odict_iterator",
        IterState::DictWalk(Box::new(walk)),
    )))
}

/// One step of a dict iterator whose state is `st`.
pub fn dict_step(st: &mut IterState) -> PyResult<Option<Value>> {
    let IterState::DictWalk(walk) = st else {
        return Ok(None);
    };
    match walk.step() {
        Ok(Step::Item(v)) => Ok(Some(v)),
        Ok(Step::Done) => {
            // The walk lets go of the dict, as CPython's: keys added later are not seen.
            *st = IterState::Exhausted;
            Ok(None)
        }
        Err(e) => {
            // A size change is reported again at every step; anything else ends the walk.
            if walk.used != usize::MAX {
                *st = IterState::Exhausted;
            }
            Err(e)
        }
    }
}
