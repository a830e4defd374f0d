//! Stage 4 (VM), heap objects.
//! Python `bytes` (immutable, hash cached) and `bytearray` (mutable, behind its own lock): the
//! objects behind `Value::Bytes` and `Value::ByteArray`. Their operations live in
//! `builtins/bytes_methods.rs`; encoding and decoding text in `builtins/codecs.rs`.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::heap::ObjCell;

use crate::value::Value;
use crate::{raise, PyResult};

pub struct PyBytes {
    data: Box<[u8]>,
    /// 0 until first computed.
    hash: AtomicU64,
}

impl PyBytes {
    pub fn new(data: Vec<u8>) -> PyBytes {
        PyBytes {
            data: data.into_boxed_slice(),
            hash: AtomicU64::new(0),
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    pub fn hash(&self) -> u64 {
        let h = self.hash.load(Ordering::Relaxed);
        if h != 0 {
            return h;
        }
        // CPython's (as `str`'s, over the bytes); 0, "not computed yet", only for no bytes.
        let h = crate::object::cpython_hash_bytes(&self.data);
        self.hash.store(h, Ordering::Relaxed);
        h
    }
}

/// A bytearray's bytes sit behind its own lock, as a list's items do.
pub struct ByteArray {
    pub data: ObjCell<Vec<u8>>,
    /// How many unreleased memoryviews show these bytes. While there is one, the length may
    /// not change (CPython's `BufferError`), so a view never finds its bytes cut off.
    exports: AtomicUsize,
}

impl ByteArray {
    pub fn new(data: Vec<u8>) -> ByteArray {
        ByteArray {
            data: ObjCell::new(data),
            exports: AtomicUsize::new(0),
        }
    }

    /// A memoryview starts showing these bytes.
    pub fn export(&self) {
        self.exports.fetch_add(1, Ordering::Relaxed);
    }

    /// A memoryview of these bytes was released (or freed).
    pub fn unexport(&self) {
        self.exports.fetch_sub(1, Ordering::Relaxed);
    }

    /// Whether an unreleased memoryview shows these bytes.
    pub fn is_exported(&self) -> bool {
        self.exports.load(Ordering::Relaxed) > 0
    }

    /// CPython's `BufferError` when an operation would change the length from `old` to `new`
    /// while a memoryview shows the bytes; operations that keep the length are allowed.
    pub fn check_resize(&self, old: usize, new: usize) -> PyResult<()> {
        if old != new && self.exports.load(Ordering::Relaxed) > 0 {
            raise!(
                BufferError,
                "Existing exports of data: object cannot be re-sized"
            );
        }
        Ok(())
    }

    /// A copy of the bytes, so no lock is held while running Python code over them.
    pub fn snapshot(&self) -> Vec<u8> {
        self.data.lock().clone()
    }
}

/// The bytes of a `bytes` or `bytearray` value (borrowed, or a snapshot of a bytearray); `None`
/// for every other value. This is the "bytes-like object" of CPython's messages.
pub fn bytes_like(v: &Value) -> Option<Cow<'_, [u8]>> {
    match v {
        Value::Bytes(b) => Some(Cow::Borrowed(b.as_bytes())),
        Value::ByteArray(b) => Some(Cow::Owned(b.snapshot())),
        // A memoryview shows (a copy of) the bytes it views, an mmap all its bytes, an array
        // its items as machine bytes.
        Value::Instance(i) => crate::builtins::memoryview::view_bytes(i)
            .or_else(|| crate::stdlib::mmap::contents(i))
            .or_else(|| crate::stdlib::array::buffer_bytes(i).and_then(Result::ok))
            .map(Cow::Owned),
        _ => None,
    }
}
