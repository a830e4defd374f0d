//! Python's containers: `tuple`, `list`, `dict`, `set`, each `Send + Sync` with a per-object lock.

use std::hash::{Hash, Hasher};

use indexmap::{IndexMap, IndexSet};
use parking_lot::Mutex;

use crate::value::Value;

pub struct Tuple {
    pub items: Box<[Value]>,
}

impl Tuple {
    pub fn new(items: Vec<Value>) -> Tuple {
        Tuple {
            items: items.into_boxed_slice(),
        }
    }
}

/// A list's items sit behind its own lock: with the GIL off, threads appending to one list stay
/// memory safe (they may interleave, as in free-threaded CPython, but never corrupt it).
pub struct List {
    pub items: Mutex<Vec<Value>>,
}

impl List {
    pub fn new(items: Vec<Value>) -> List {
        List {
            items: Mutex::new(items),
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

impl Hash for HashKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PartialEq for HashKey {
    fn eq(&self, other: &HashKey) -> bool {
        self.hash == other.hash && key_eq(&self.value, &other.value)
    }
}

impl Eq for HashKey {}

/// Equality of hashable values without running Python code.
pub fn key_eq(a: &Value, b: &Value) -> bool {
    use Value::*;
    match (a, b) {
        (Str(x), Str(y)) => x.as_str() == y.as_str(),
        (Int(x), Int(y)) => x == y,
        (Tuple(x), Tuple(y)) => {
            x.items.len() == y.items.len()
                && x.items.iter().zip(y.items.iter()).all(|(p, q)| key_eq(p, q))
        }
        _ => match (crate::interp::ops::as_number(a), crate::interp::ops::as_number(b)) {
            (Some(x), Some(y)) => crate::interp::ops::num_eq(x, y),
            _ => a.is(b),
        },
    }
}

type BuildFx = std::hash::BuildHasherDefault<rustc_hash::FxHasher>;
pub type KeyMap = IndexMap<HashKey, Value, BuildFx>;
pub type KeySet = IndexSet<HashKey, BuildFx>;

/// An insertion-ordered dict (CPython's order) behind its own lock.
pub struct Dict {
    pub map: Mutex<KeyMap>,
}

impl Dict {
    pub fn new() -> Dict {
        Dict {
            map: Mutex::new(KeyMap::default()),
        }
    }

    pub fn from_map(map: KeyMap) -> Dict {
        Dict {
            map: Mutex::new(map),
        }
    }

    pub fn get_str(&self, key: &str) -> Option<Value> {
        let k = HashKey::from_str(key);
        self.map.lock().get(&k).cloned()
    }

    pub fn get(&self, key: &HashKey) -> Option<Value> {
        self.map.lock().get(key).cloned()
    }

    pub fn set(&self, key: HashKey, value: Value) {
        self.map.lock().insert(key, value);
    }

    pub fn set_str(&self, key: &str, value: Value) {
        self.set(HashKey::from_str(key), value);
    }

    pub fn len(&self) -> usize {
        self.map.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn items(&self) -> Vec<(Value, Value)> {
        self.map
            .lock()
            .iter()
            .map(|(k, v)| (k.value.clone(), v.clone()))
            .collect()
    }

    pub fn keys(&self) -> Vec<Value> {
        self.map.lock().keys().map(|k| k.value.clone()).collect()
    }
}

impl Default for Dict {
    fn default() -> Self {
        Dict::new()
    }
}

/// A `set` (or `frozenset` when `frozen`) behind its own lock.
pub struct SetObj {
    pub items: Mutex<KeySet>,
    pub frozen: bool,
}

impl SetObj {
    pub fn new(items: KeySet, frozen: bool) -> SetObj {
        SetObj {
            items: Mutex::new(items),
            frozen,
        }
    }

    pub fn snapshot(&self) -> Vec<Value> {
        self.items.lock().iter().map(|k| k.value.clone()).collect()
    }
}

impl HashKey {
    /// The key for a string, e.g. a global's name.
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
    Ok(match v {
        Value::Int(i) => hash_int(*i),
        Value::Bool(b) => *b as u64,
        Value::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 9.2e18 {
                hash_int(*f as i64)
            } else {
                f.to_bits().wrapping_mul(0x9E37_79B9_7F4A_7C15)
            }
        }
        Value::Str(s) => s.hash(),
        Value::None => 0xFC_FCFC,
        Value::Tuple(t) => {
            let mut acc: u64 = 0x27D4_EB2F_1656_67C5;
            for item in t.items.iter() {
                let h = hash_value(item)?;
                acc = (acc ^ h).wrapping_mul(0x100_0000_01B3).rotate_left(31);
            }
            acc
        }
        Value::List(_) | Value::Dict(_) => {
            return Err(crate::err!(
                TypeError,
                "unhashable type: '{}'",
                crate::object::type_name(v)
            ))
        }
        Value::Set(s) if !s.frozen => {
            return Err(crate::err!(TypeError, "unhashable type: 'set'"))
        }
        Value::Set(s) => {
            let mut acc: u64 = 0;
            for k in s.items.lock().iter() {
                acc ^= k.hash.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            }
            acc
        }
        Value::Range(r) => hash_int(r.start) ^ hash_int(r.stop).rotate_left(7) ^ hash_int(r.step),
        other => (other.id() as u64).rotate_right(4),
    })
}

/// CPython's int hash: the value modulo 2**61 - 1 (with -1 mapped to -2).
pub fn hash_int(i: i64) -> u64 {
    const MODULUS: i128 = (1 << 61) - 1;
    let m = (i as i128).rem_euclid(MODULUS);
    let h = if i < 0 { -(((-(i as i128)) % MODULUS)) } else { m };
    let h = if h == -1 { -2 } else { h };
    h as i64 as u64
}
