//! Stage 4 (VM), heap objects.
//! Python `str`: immutable Unicode text with a cached hash, O(1) indexing for ASCII text and
//! near-O(1) indexing for other text (a sampled index of character positions).

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Non-ASCII text keeps the byte offset of every `INDEX_STEP`-th character once it is indexed,
/// so `s[i]` and slices walk at most that many characters (CPython stores fixed-width code
/// points instead: O(1) indexing, more memory for mostly-ASCII text).
const INDEX_STEP: usize = 64;

use crate::heap::Ref;

pub struct PyStr {
    /// A `String` (not a `Box<str>`) so that `push_str` can grow it in place with spare capacity.
    s: String,
    /// Number of characters (code points); equal to the byte length for ASCII text.
    char_len: usize,
    /// 0 until first computed.
    hash: AtomicU64,
    /// For non-ASCII text longer than `INDEX_STEP` characters, once it is first indexed: the
    /// byte offset of characters 0, `INDEX_STEP`, 2 * `INDEX_STEP`, ...
    index: OnceLock<Box<[usize]>>,
}

impl PyStr {
    pub fn new(s: &str) -> PyStr {
        PyStr::from(s.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.s
    }

    pub fn char_len(&self) -> usize {
        self.char_len
    }

    pub fn is_ascii(&self) -> bool {
        self.char_len == self.s.len()
    }

    /// The character at a (non-negative, in range) character index.
    pub fn char_at(&self, i: usize) -> Option<char> {
        if self.is_ascii() {
            self.s.as_bytes().get(i).map(|&b| b as char)
        } else if i >= self.char_len {
            None
        } else {
            self.s.get(self.byte_offset(i)..)?.chars().next()
        }
    }

    /// Byte offset of a character index (clamped to the end).
    pub fn byte_offset(&self, char_idx: usize) -> usize {
        if self.is_ascii() {
            return char_idx.min(self.s.len());
        }
        if char_idx >= self.char_len {
            return self.s.len();
        }
        let (from, skip) = if self.char_len > INDEX_STEP {
            let index = self.index.get_or_init(|| {
                self.s
                    .char_indices()
                    .step_by(INDEX_STEP)
                    .map(|(b, _)| b)
                    .collect()
            });
            let k = char_idx / INDEX_STEP;
            (
                index.get(k).copied().unwrap_or(0),
                char_idx - k * INDEX_STEP,
            )
        } else {
            (0, char_idx)
        };
        self.s
            .get(from..)
            .and_then(|t| t.char_indices().nth(skip))
            .map_or(self.s.len(), |(b, _)| from + b)
    }

    /// The text of characters `start..stop` (clamped), found through the index.
    pub fn char_slice(&self, start: usize, stop: usize) -> &str {
        let b0 = self.byte_offset(start);
        let b1 = self.byte_offset(stop.max(start));
        self.s.get(b0..b1).unwrap_or("")
    }

    /// `s + t`: the character count is the sum of the operands' (no pass over the text to
    /// count it again), as CPython's `PyUnicode_Concat` takes the result's kind from its operands.
    pub fn concat(s: &PyStr, t: &PyStr) -> PyStr {
        let mut text = String::with_capacity(s.s.len() + t.s.len());
        text.push_str(&s.s);
        text.push_str(&t.s);
        PyStr {
            s: text,
            char_len: s.char_len + t.char_len,
            hash: AtomicU64::new(0),
            index: OnceLock::new(),
        }
    }

    /// Append `t` (a string nobody else can see: `Ref::get_mut`), forgetting the cached hash.
    pub fn push_str(&mut self, t: &PyStr) {
        self.s.push_str(&t.s);
        self.char_len += t.char_len;
        *self.hash.get_mut() = 0;
        self.index = OnceLock::new();
    }

    pub fn hash(&self) -> u64 {
        let h = self.hash.load(Ordering::Relaxed);
        if h != 0 {
            return h;
        }
        // (0, "not computed yet", is only the empty string's: computed again each time.)
        let h = crate::object::str_hash(&self.s);
        self.hash.store(h, Ordering::Relaxed);
        h
    }
}

impl From<String> for PyStr {
    fn from(s: String) -> PyStr {
        let char_len = if s.is_ascii() {
            s.len()
        } else {
            s.chars().count()
        };
        PyStr {
            s: {
                let mut s = s;
                s.shrink_to_fit();
                s
            },
            char_len,
            hash: AtomicU64::new(0),
            index: OnceLock::new(),
        }
    }
}

/// The string of one character: for code points below 256 a shared object made once (CPython
/// keeps the same cache), so iterating over text or indexing it allocates nothing for those
/// characters, and `'abc'[0] is 'a'` as in CPython. Immortal in the free-threaded model: every
/// thread uses these, and their counts would otherwise be contended atomics.
pub fn one_char(c: char) -> Ref<PyStr> {
    static LATIN1: crate::heap::Global<Vec<Ref<PyStr>>> = crate::heap::Global::new();
    let table = LATIN1.get_or_init(|| {
        (0..=255u8)
            .map(|b| {
                let s = Ref::new(PyStr::from(char::from(b).to_string()));
                Ref::immortalize(&s);
                s
            })
            .collect()
    });
    match table.get(c as usize) {
        Some(s) => s.clone(),
        None => Ref::new(PyStr::from(c.to_string())),
    }
}

/// The character of a string of one character below U+0100 (whose object [`one_char`] shares),
/// if `s` is one. Cheap enough for every string made: one length test for longer ones.
#[inline]
pub fn latin1_single(s: &str) -> Option<char> {
    if s.len() > 2 {
        return None;
    }
    let mut cs = s.chars();
    match (cs.next(), cs.next()) {
        (Some(c), None) if (c as u32) < 256 => Some(c),
        _ => None,
    }
}

// FxHash: names are short and come from code, and every name of every loaded code object
// passes here (a worker process loads thousands at start).
type InternTable = std::collections::HashMap<Box<str>, Ref<PyStr>, rustc_hash::FxBuildHasher>;
static INTERNED: crate::heap::Global<std::sync::Mutex<InternTable>> = crate::heap::Global::new();

/// One shared string object per distinct name (globals, attributes) and per string constant
/// made of name characters (as CPython's compiler interns them), so that lookups of a name
/// compiled into different code objects compare by pointer first. Used when code is loaded,
/// and by `sys.intern`.
pub fn intern(name: &str) -> Ref<PyStr> {
    let table = INTERNED.get_or_init(|| std::sync::Mutex::new(InternTable::default()));
    let Ok(mut t) = table.lock() else {
        return Ref::new(PyStr::new(name));
    };
    // Found without allocating a key first (most names are already there).
    if let Some(s) = t.get(name) {
        return s.clone();
    }
    t.entry(name.into())
        .or_insert_with(|| Ref::new(PyStr::new(name)))
        .clone()
}

/// Is `s` the interned string of its text (CPython's `PyUnicode_CHECK_INTERNED`)?
pub fn is_interned(s: &Ref<PyStr>) -> bool {
    let Some(table) = INTERNED.get() else {
        return false;
    };
    let Ok(t) = table.lock() else {
        return false;
    };
    t.get(s.as_str()).is_some_and(|i| Ref::ptr_eq(i, s))
}

/// One shared `Arc<str>` per distinct attribute name. Code objects intern their names when loaded
/// and `StoreAttr` inserts that same `Arc` as the key of a new attribute, so a later lookup of the
/// name finds the key by pointer ([`NameRef`]) and adding an attribute allocates no key string.
pub fn intern_name(name: &str) -> Arc<str> {
    let Ok(mut t) = name_table().lock() else {
        return Arc::from(name);
    };
    if let Some(a) = t.get(name) {
        return a.clone();
    }
    let a: Arc<str> = Arc::from(name);
    t.insert(a.clone());
    a
}

/// The shared `Arc<str>` of `name` if some code object (or [`intern_name`]) has interned it,
/// else a new one, which is not added to the table: for names that come from a program's
/// data (`getattr(obj, name)`), which a lasting table would collect without bound. A class's
/// lookup cache keyed by the shared one is then found by pointer from a method call site.
pub fn name_if_interned(name: &str) -> Arc<str> {
    if let Ok(t) = name_table().lock() {
        if let Some(a) = t.get(name) {
            return a.clone();
        }
    }
    Arc::from(name)
}

type NameTable = std::collections::HashSet<Arc<str>, rustc_hash::FxBuildHasher>;

fn name_table() -> &'static std::sync::Mutex<NameTable> {
    static TABLE: std::sync::OnceLock<std::sync::Mutex<NameTable>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| std::sync::Mutex::new(NameTable::default()))
}

/// A name to look up in an attribute table (`AttrMap`, a class's lookup cache): it hashes as the
/// string does, and compares equal to a key by pointer first, so an interned name skips the
/// byte comparison.
pub struct NameRef<'a>(pub &'a Arc<str>);

impl Hash for NameRef<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        (**self.0).hash(h)
    }
}

impl indexmap::Equivalent<Arc<str>> for NameRef<'_> {
    #[inline]
    fn equivalent(&self, key: &Arc<str>) -> bool {
        Arc::ptr_eq(self.0, key) || **self.0 == **key
    }
}
