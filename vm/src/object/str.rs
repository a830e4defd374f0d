//! Python `str`: immutable Unicode text with a cached hash and O(1) indexing for ASCII text.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::heap::Ref;

pub struct PyStr {
    s: Box<str>,
    /// Number of characters (code points); equal to the byte length for ASCII text.
    char_len: usize,
    /// 0 until first computed.
    hash: AtomicU64,
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
        } else {
            self.s.chars().nth(i)
        }
    }

    /// Byte offset of a character index (clamped to the end).
    pub fn byte_offset(&self, char_idx: usize) -> usize {
        if self.is_ascii() {
            char_idx.min(self.s.len())
        } else {
            self.s
                .char_indices()
                .nth(char_idx)
                .map_or(self.s.len(), |(b, _)| b)
        }
    }

    pub fn hash(&self) -> u64 {
        let h = self.hash.load(Ordering::Relaxed);
        if h != 0 {
            return h;
        }
        let h = crate::object::hash_bytes(self.s.as_bytes()) | 1;
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
            s: s.into_boxed_str(),
            char_len,
            hash: AtomicU64::new(0),
        }
    }
}

/// One shared string object per distinct name (globals, attributes), so that lookups of a name
/// compiled into different code objects compare by pointer first. Used only when code is loaded.
pub fn intern(name: &str) -> Ref<PyStr> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static TABLE: crate::heap::Global<Mutex<HashMap<Box<str>, Ref<PyStr>>>> =
        crate::heap::Global::new();
    let table = TABLE.get_or_init(|| Mutex::new(HashMap::new()));
    let Ok(mut t) = table.lock() else {
        return Ref::new(PyStr::new(name));
    };
    t.entry(name.into())
        .or_insert_with(|| Ref::new(PyStr::new(name)))
        .clone()
}
