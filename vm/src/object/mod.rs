//! Stage 4 (VM), heap objects.
//! The heap objects behind `Value`'s pointer variants.

mod bytes;
pub mod class;
mod collections;
mod func;
mod instdict;
mod iter;
mod module;
mod str;
mod trace;

use std::hash::BuildHasherDefault;
use std::sync::Arc;

pub use bytes::{bytes_like, ByteArray, PyBytes};
pub use class::{
    builtin_base, class_changed, class_epoch, descriptor_name_bit, is_data_descriptor,
    is_data_kind, python_new, types, BuiltinTypes, Class, Ctor, ExcData, ExcKind, Hint, Instance,
    NativeData, Payload, TraceEntry, TypeKind, ViewKind, ABC_HOOK, BUILTIN_TYPE, DICTLESS,
    HAS_BOOL_LEN, HAS_EQ, HAS_GETATTR, HAS_GETATTRIBUTE, HAS_PROPERTY, HAS_SETATTR, PLAIN_SLOTS,
};
pub use collections::{
    drop_reversed, hash_int, hash_value, key_eq, Dict, DictWrite, HashKey, KeyMap, KeyRef, KeySet,
    List, SetObj, Tuple,
};
pub use func::{BoundMethod, CellObj, Defaults, Function, NativeFn, NativeFunction, NativeKind};
pub use instdict::{AttrKey, InstCell, InstDict, Layout, ShownLayout};
pub use iter::{
    BigRange, GenKind, GenNames, GenStatus, Generator, IterObj, IterState, Range, RangeIter, Slice,
};
pub use module::Module;
pub use str::{
    intern, intern_name, is_interned, latin1_single, name_if_interned, one_char, NameRef, PyStr,
};

use crate::heap::Ref;
use crate::value::Value;

/// Attribute dictionaries of classes, instances and functions: keyed by name.
pub type AttrMap = indexmap::IndexMap<Arc<str>, Value, BuildHasherDefault<rustc_hash::FxHasher>>;

/// CPython's `hash()` of a `str` (as the bits of its `Py_hash_t`): SipHash-1-3 of the string's
/// code points stored as CPython stores them, one, two or four little-endian bytes each as
/// its widest character needs (`_Py_HashBytes(PyUnicode_DATA(s), len * kind)`), under the key
/// `PYTHONHASHSEED` gives ([`hash_key`]). So a set of strings iterates in CPython's order when
/// both run with the same `PYTHONHASHSEED`. 0 for the empty string.
pub fn str_hash(s: &str) -> u64 {
    if s.is_ascii() {
        return cpython_hash_bytes(s.as_bytes());
    }
    let widest = s.chars().map(u32::from).max().unwrap_or(0);
    let data: Vec<u8> = if widest < 0x100 {
        s.chars().map(|c| u32::from(c) as u8).collect()
    } else if widest < 0x10000 {
        s.chars()
            .flat_map(|c| (u32::from(c) as u16).to_le_bytes())
            .collect()
    } else {
        s.chars().flat_map(|c| u32::from(c).to_le_bytes()).collect()
    };
    cpython_hash_bytes(&data)
}

/// CPython's `_Py_HashBytes`: the hash of `bytes` (and of a str's stored form), 0 for no
/// bytes, and never -1.
pub fn cpython_hash_bytes(data: &[u8]) -> u64 {
    if data.is_empty() {
        return 0;
    }
    let (k0, k1) = hash_key();
    let h = siphash13(k0, k1, data);
    if h == u64::MAX {
        -2i64 as u64
    } else {
        h
    }
}

/// The SipHash key CPython derives from `PYTHONHASHSEED` (`_Py_HashRandomization_Init`): for a
/// seed n > 0, 24 bytes of the C runtime's linear congruential generator started at n (the
/// first 16 are the key); for 0, zeros. When the variable is not set (or is `random`) CPython
/// picks a random key; minivm then uses the key of seed 0, so its runs repeat.
fn hash_key() -> (u64, u64) {
    static KEY: std::sync::OnceLock<(u64, u64)> = std::sync::OnceLock::new();
    *KEY.get_or_init(|| {
        let seed = std::env::var("PYTHONHASHSEED")
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
            .unwrap_or(0);
        if seed == 0 {
            return (0, 0);
        }
        let mut x = seed;
        let mut bytes = [0u8; 16];
        for b in bytes.iter_mut() {
            x = x.wrapping_mul(214_013).wrapping_add(2_531_011);
            *b = (x >> 16) as u8;
        }
        let (lo, hi) = bytes.split_at(8);
        let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
        (word(lo), word(hi))
    })
}

/// SipHash-1-3 as CPython's `Python/pyhash.c` computes it (one compression round per 8-byte
/// word, three finalization rounds).
fn siphash13(k0: u64, k1: u64, data: &[u8]) -> u64 {
    let mut v0 = k0 ^ 0x736f_6d65_7073_6575;
    let mut v1 = k1 ^ 0x646f_7261_6e64_6f6d;
    let mut v2 = k0 ^ 0x6c79_6765_6e65_7261;
    let mut v3 = k1 ^ 0x7465_6462_7974_6573;
    let round = |v0: &mut u64, v1: &mut u64, v2: &mut u64, v3: &mut u64| {
        *v0 = v0.wrapping_add(*v1);
        *v2 = v2.wrapping_add(*v3);
        *v1 = v1.rotate_left(13) ^ *v0;
        *v3 = v3.rotate_left(16) ^ *v2;
        *v0 = v0.rotate_left(32);
        *v2 = v2.wrapping_add(*v1);
        *v0 = v0.wrapping_add(*v3);
        *v1 = v1.rotate_left(17) ^ *v2;
        *v3 = v3.rotate_left(21) ^ *v0;
        *v2 = v2.rotate_left(32);
    };
    let mut words = data.chunks_exact(8);
    for w in words.by_ref() {
        let m = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
        v3 ^= m;
        round(&mut v0, &mut v1, &mut v2, &mut v3);
        v0 ^= m;
    }
    let mut last = [0u8; 8];
    let rest = words.remainder();
    last[..rest.len()].copy_from_slice(rest);
    let b = ((data.len() as u64) << 56) | u64::from_le_bytes(last);
    v3 ^= b;
    round(&mut v0, &mut v1, &mut v2, &mut v3);
    v0 ^= b;
    v2 ^= 0xff;
    for _ in 0..3 {
        round(&mut v0, &mut v1, &mut v2, &mut v3);
    }
    (v0 ^ v1) ^ (v2 ^ v3)
}

/// The class of any value, as `type(v)`.
pub fn class_of(v: &Value) -> Ref<Class> {
    let t = types();
    match v {
        Value::Instance(i) => i.class.get().clone(),
        Value::Class(c) => c.metaclass.clone().unwrap_or_else(|| t.type_.clone()),
        Value::Iter(it) => iterator_class(it.kind),
        Value::RangeIter(_) => iterator_class("range_iterator"),
        other => builtin_class(other).clone(),
    }
}

/// The iterator types CPython names, each a class of its own for `type()` (`list_iterator`,
/// `dict_keyiterator`, `enumerate`...). They share the `iterator` class's methods (it is their
/// base), so only `type()` and `__name__` tell them apart.
const ITERATOR_KINDS: &[&str] = &[
    "list_iterator",
    "list_reverseiterator",
    "tuple_iterator",
    "str_iterator",
    "str_ascii_iterator",
    "bytes_iterator",
    "bytearray_iterator",
    "dict_keyiterator",
    "dict_valueiterator",
    "dict_itemiterator",
    "dict_reversekeyiterator",
    "dict_reversevalueiterator",
    "dict_reverseitemiterator",
    "odict_iterator",
    "set_iterator",
    "range_iterator",
    "longrange_iterator",
    "callable_iterator",
    "reversed",
    "enumerate",
    "zip",
    "map",
    "filter",
    "_deque_iterator",
    // `itertools`' native iterators (vm/src/stdlib/itertools.rs): CPython's `tp_name` carries
    // the module, so the class is named `permutations` in module `itertools`.
    "itertools.permutations",
    "itertools.combinations",
    "itertools.combinations_with_replacement",
    "itertools.product",
];

/// The class of an iterator of kind `kind` (one of [`ITERATOR_KINDS`], else `iterator`).
pub fn iterator_class(kind: &str) -> Ref<Class> {
    static CLASSES: crate::heap::Global<Vec<Ref<Class>>> = crate::heap::Global::new();
    let classes = CLASSES.get_or_init(|| {
        ITERATOR_KINDS
            .iter()
            .map(|name| {
                let base = types().iterator.clone();
                let (module, short) = name.rsplit_once('.').unwrap_or(("builtins", name));
                let mut class = Class::new_builtin(short, Some(base), TypeKind::Iterator);
                class.module = module.into();
                let class = Ref::new(class);
                if crate::builtins::SIZED_ITERATORS.contains(name) {
                    let hint = NativeFunction::method(
                        "__length_hint__",
                        crate::builtins::iter_length_hint,
                    );
                    class
                        .dict
                        .write()
                        .insert(Arc::from("__length_hint__"), Value::Native(Ref::new(hint)));
                }
                // Shared by every thread, as the other built-in types (free-threaded model).
                Ref::immortalize(&class);
                class
            })
            .collect()
    });
    match ITERATOR_KINDS.iter().position(|k| *k == kind) {
        Some(i) => classes[i].clone(),
        None => types().iterator.clone(),
    }
}

/// The built-in class of a value that is not an instance, without touching its reference count.
pub fn builtin_class(v: &Value) -> &'static Ref<Class> {
    let t = types();
    match v {
        Value::Undefined | Value::None => &t.none,
        Value::Bool(_) => &t.bool_,
        Value::Int(_) | Value::BigInt(_) => &t.int,
        Value::Float(_) => &t.float,
        Value::Complex(_) => crate::builtins::complex::complex_class_ref(),
        Value::Str(_) => &t.str_,
        Value::Bytes(_) => &t.bytes,
        Value::ByteArray(_) => &t.bytearray,
        Value::Tuple(_) => &t.tuple,
        Value::List(_) => &t.list,
        Value::Dict(_) => &t.dict,
        Value::Set(s) if s.frozen => &t.frozenset,
        Value::Set(_) => &t.set,
        Value::Range(_) => &t.range,
        Value::Slice(_) => &t.slice,
        Value::Function(_) => &t.function,
        Value::Native(f) => match f.kind {
            NativeKind::Function => &t.builtin_function,
            NativeKind::MethodDescriptor => &t.method_descriptor,
            NativeKind::SlotWrapper => &t.wrapper_descriptor,
        },
        // A built-in type's method bound to its object (`[].append`) is CPython's
        // `builtin_function_or_method`, as module functions are; a bound slot wrapper
        // (`(1).__add__`) is a `method-wrapper`.
        Value::BoundMethod(m) => match &m.func {
            Value::Native(n) if n.kind == NativeKind::SlotWrapper => &t.method_wrapper,
            Value::Native(_) => &t.builtin_function,
            _ => &t.method,
        },
        Value::Class(_) => &t.type_,
        Value::Module(_) => &t.module,
        Value::Iter(_) | Value::RangeIter(_) => &t.iterator,
        Value::Generator(g) => match g.kind {
            GenKind::Generator => &t.generator,
            GenKind::Coroutine => &t.coroutine,
            GenKind::AsyncGenerator => &t.async_generator,
        },
        Value::Cell(_) => &t.cell,
        Value::Ellipsis => &t.ellipsis,
        Value::NotImplemented => &t.not_implemented,
        Value::Instance(_) => &t.object,
    }
}

/// The modules of minivm's Rust classes whose CPython counterparts are C types named with
/// their module (the Rust classes of `threading`, `socket` or `tempfile` are Python classes in
/// CPython: named plainly).
const C_TYPE_MODULES: &[&str] = &[
    "_io", "_thread", "re", "array", "select", "_queue", "_random", "_hashlib", "zlib", "weakref",
    "mmap",
];

/// The name CPython's error messages give the type of `v` (its `tp_name`): `type(v).__name__`,
/// except for the library classes CPython writes in C, whose `tp_name` carries their module
/// (`'datetime.timedelta'`, `'collections.deque'`). Those say so with a `_tp_name` string in
/// their own class body; a subclass a program writes is named plainly, as CPython names
/// classes written in Python. The classes minivm writes in Rust for a module whose CPython
/// classes are all C types (`_io.BytesIO`, `_thread.lock`, `re.Pattern`, `array.array`) carry
/// their module the same way.
pub fn type_name(v: &Value) -> String {
    match v {
        Value::Instance(i) => match i.class.dict.read().get("_tp_name") {
            Some(Value::Str(s)) => s.as_str().to_string(),
            _ if i.class.builtin && C_TYPE_MODULES.contains(&&*i.class.module) => {
                format!("{}.{}", i.class.module, i.class.name())
            }
            _ => i.class.name().to_string(),
        },
        // A class made by a user metaclass is an instance of it.
        Value::Class(c) if c.metaclass.is_some() => c
            .metaclass
            .as_ref()
            .map(|m| m.name().to_string())
            .unwrap_or_default(),
        Value::Iter(it) => it.kind.to_string(),
        Value::RangeIter(_) => "range_iterator".to_string(),
        other => builtin_class(other).name().to_string(),
    }
}
