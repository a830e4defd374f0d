//! Stage 4 (VM), heap objects.
//! Classes and instances, including the built-in types (`int`, `list`, ...) and exception classes.
//!
//! Every type is a `Class`. Built-in types have a `TypeKind` naming the Rust representation of their
//! instances; a user class inherits the kind of its base, so `class MyError(ValueError)` builds instances
//! carrying exception data, and (later) `class T(Thread)` instances carry thread data.

use std::sync::Arc;

use crate::heap::{ObjCell, Ref};

use std::sync::atomic::AtomicU32;

use crate::object::{AttrMap, CellObj, NameRef};
use crate::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeKind {
    Object,
    NoneType,
    Bool,
    Int,
    Float,
    Str,
    Bytes,
    ByteArray,
    Tuple,
    List,
    Dict,
    Set,
    FrozenSet,
    Range,
    Slice,
    Function,
    BuiltinFunction,
    Method,
    Type,
    Module,
    Iterator,
    Generator,
    Cell,
    Ellipsis,
    NotImplementedType,
    /// `BaseException` and all its subclasses: instances carry [`ExcData`].
    Exception,
    /// `super()` objects, `property`, `staticmethod`, `classmethod`: wrappers the attribute lookup
    /// in `interp/attr.rs` treats specially.
    Super,
    Property,
    StaticMethod,
    ClassMethod,
    /// `dict.keys()`, `.values()`, `.items()`: live views of a dict.
    DictView,
    /// Classes implemented in Rust whose instances carry Rust data (threads, locks, queues,
    /// files, sockets). User classes may subclass them; the native `__init__` fills the data.
    Native,
}

/// Rust data inside an instance of a native class (see [`Payload::Native`]).
pub type NativeData = Box<dyn std::any::Any>;

/// Which view of a dict a `DictView` instance shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewKind {
    Keys,
    Values,
    Items,
}

pub struct Class {
    /// `__name__` and `__qualname__`: a program may assign them (`C.__name__ = "D"`), and
    /// reprs and messages then show the new name, as in CPython. Read with `name()`/`qualname()`.
    pub name_cell: ObjCell<Arc<str>>,
    pub qualname_cell: ObjCell<Arc<str>>,
    /// The instance of a `str` subclass given as `__qualname__` (in the body or assigned),
    /// which CPython keeps and `C.__qualname__` gives back; `None` for a plain str.
    pub qualname_value: ObjCell<Option<Value>>,
    /// The same for `__name__` (`type(S('C'), (), {})`, `C.__name__ = S('D')`): CPython keeps
    /// the str subclass's instance, `C.__name__` gives it back.
    pub name_value: ObjCell<Option<Value>>,
    pub module: Arc<str>,
    /// The base whose instance layout (`kind`) this class inherits: the first base that is not a
    /// plain `object` subclass, else the first base (`__base__`).
    pub base: Option<Ref<Class>>,
    /// The bases as written in the class statement (`__bases__`).
    pub bases: Vec<Ref<Class>>,
    /// The method resolution order after this class (C3 linearization of the bases): attribute
    /// lookup, `super()` and `issubclass` walk it. `__mro__` is this class followed by these.
    pub mro_tail: Vec<Ref<Class>>,
    pub dict: ObjCell<AttrMap>,
    pub kind: TypeKind,
    /// True for the built-in types, whose attributes cannot be set.
    pub builtin: bool,
    /// A class of minivm's library whose CPython counterpart is a C type with
    /// `Py_TPFLAGS_IMMUTABLETYPE` (`datetime.datetime`): its attributes cannot be set or
    /// deleted once its module has set it up (`_typeflags.immutable`). Not inherited.
    pub immutable: std::sync::atomic::AtomicBool,
    /// Answers of `lookup`, valid while the class epoch they were taken in is current.
    pub cache: ObjCell<(u64, LookupCache)>,
    /// Free-threaded: the immortal functions among the first [`SHARED_METHODS`] answers of
    /// `cache`, each at its index there, readable without the cache's lock
    /// ([`Class::with_hinted_in`]). Made at the first such answer.
    pub shared_methods: std::sync::OnceLock<Box<[crate::heap::StampedRef; SHARED_METHODS]>>,
    /// `attr_flags` with the class epoch it was computed in: `epoch << 2 | bits`.
    pub flags: std::sync::atomic::AtomicU64,
    /// The special methods of a built-in type as values (`dict.__getitem__`), made on first
    /// use and kept so that each is one object, as in CPython (`interp/subclass.rs`).
    pub slot_cache: ObjCell<AttrMap>,
    /// What calling the class does, with the class epoch it was worked out in (`Class::ctor`).
    pub ctor: ObjCell<(u64, Ctor)>,
    /// The most attributes an instance of this class had when its `__init__` returned: a new
    /// instance's table is made that big at once, not grown an attribute at a time (CPython's
    /// shared-key dicts are sized the same way). Only a size hint.
    pub attr_hint: std::sync::atomic::AtomicUsize,
    /// `type(C)` when it is not `type`: a user metaclass (`class M(type)`), chosen when the
    /// class was made (`interp/classdef.rs`). `None` means `type`.
    pub metaclass: Option<Ref<Class>>,
    /// The classes made since with this one among their bases, oldest first, held weakly
    /// (CPython's `tp_subclasses`): `C.__subclasses__()`, [`Class::subclasses`].
    pub subclasses: ObjCell<Vec<crate::heap::weak::Weak<Class>>>,
    /// Where weak references to the class (those of its bases' `subclasses`) find it.
    pub weak: crate::heap::weak::WeakAnchor,
}

impl crate::heap::weak::WeakTarget for Class {
    fn weak_anchor(&self) -> &crate::heap::weak::WeakAnchor {
        &self.weak
    }
}

/// The Python function behind a class's `__new__`: the function itself, or the one a
/// `staticmethod` wraps (as a class body's `def __new__` is); `None` for a `__new__` that is
/// not Python code (a built-in's, another callable). A class whose `__new__` is Python code
/// runs it before anything else of `C()` (its plan is `Ctor::New`, and the abstract-method
/// test waits for `object.__new__`).
pub fn python_new(new: &Value) -> Option<Value> {
    match new {
        f @ Value::Function(_) => Some(f.clone()),
        Value::Instance(w) => match (&w.payload, w.class.kind) {
            (Payload::Wrapped(f @ Value::Function(_)), TypeKind::StaticMethod) => Some(f.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// How a call of a class makes its instance, worked out once per class epoch so that `C(...)`
/// looks nothing up by name in the common case (`Interp::instantiate`).
#[derive(Clone, Default)]
pub enum Ctor {
    /// Not worked out in the current epoch.
    #[default]
    Unknown,
    /// A built-in type, an exception or native class, a class with `__new__` or abstract
    /// methods: the general path.
    General,
    /// A plain user class: a fresh `Instance` (no payload) passed to this `__init__`, if any.
    Plain(Option<Value>),
    /// A user class as `Plain` but for its `__new__`, this Python function (unwrapped from
    /// its `staticmethod`): `type.__call__`'s steps (`__new__`, then `__init__` on an
    /// instance of the class) without looking for `__call__`, `__abstractmethods__` and
    /// `__new__` again.
    New(Value),
}

/// A class (or a base) has a data descriptor (a property, a `__slots__` member, or an object
/// whose class defines `__set__` or `__delete__`): instance attribute reads and writes must look
/// at the class first.
pub const HAS_PROPERTY: u64 = 1;
/// A class (or a base) defines `__setattr__`.
pub const HAS_SETATTR: u64 = 2;
/// Instances have no `__dict__`: every class in the chain but `object` defines `__slots__`
/// (without `'__dict__'`), so only the slots can be assigned.
pub const DICTLESS: u64 = 4;
/// A class (or a base) defines `__bool__` or `__len__`: the truth of an instance needs a call.
pub const HAS_BOOL_LEN: u64 = 8;
/// A user class (or a base) defines `__getattribute__`: every `obj.name` of an instance calls it.
pub const HAS_GETATTRIBUTE: u64 = 16;
/// Bits 5 to 20 of `attr_flags`: a 16-bit Bloom filter of the names of the data descriptors
/// counted in `HAS_PROPERTY` ([`descriptor_name_bit`]). A name whose bit is clear has no data
/// descriptor in the class chain, so the instance's own attribute wins for it even in a class
/// with properties: the attribute instructions' fast paths stay open for `self.x` in a class
/// that also has a `@property y`.
pub const DESCRIPTOR_NAMES: u64 = 0xFFFF << 5;
/// Every data descriptor counted in `HAS_PROPERTY` is a plain `__slots__` member: one stored
/// under its own name, and the class chain's first answer for that name. Slot values live in the
/// instance's attribute table under the slot's name, so for such a class the table alone answers
/// `obj.name` for every name (present: its value; absent: the general path, which raises), and
/// the attribute instructions' hit paths serve slots as they serve instance attributes.
pub const PLAIN_SLOTS: u64 = 1 << 21;
/// A class (or a base) defines `__getattr__`: an `AttributeError` from a getter is answered by it,
/// so a property's getter cannot run as a plain frame of the dispatch loop.
pub const HAS_GETATTR: u64 = 1 << 22;
/// A class of the chain other than `object` defines `__eq__` or `__ne__`: without it, `==` and
/// `!=` between an instance (no built-in payload) and another such instance or a built-in
/// value answer by identity, as `object.__eq__` does, with no method looked up or called
/// (`list.remove`, `in`, `==` on plain objects).
pub const HAS_EQ: u64 = 1 << 23;
/// An abstract base class whose `__subclasshook__` is its own or a base's, not `abc.ABC`'s
/// (which always says NotImplemented): CPython asks that hook before the MRO, so a class in the
/// MRO is no answer by itself (`builtins/functions.rs`, `class_matches`).
pub const ABC_HOOK: u64 = 1 << 24;
/// The class is a built-in type (`Class::builtin`): its instances' attributes take the general
/// path. A flag too, so that the attribute instructions' hit paths test it together with
/// `HAS_GETATTRIBUTE` and `HAS_PROPERTY`, one test of the flags word for a plain class.
pub const BUILTIN_TYPE: u64 = 1 << 25;
/// A metaclass whose `__instancecheck__` and `__subclasscheck__` are `abc.ABCMeta`'s own
/// (`ABCMeta` itself, or a metaclass deriving from it that keeps them): `isinstance` and
/// `issubclass` against its classes do their work natively ([`Class::is_abc`]).
pub const ABC_META: u64 = 1 << 26;
/// How many low bits of `Class::flags` hold the flags (the rest is the epoch).
const FLAG_BITS: u32 = 27;

/// The bit of [`DESCRIPTOR_NAMES`] for `name`: from its length and its first and last bytes,
/// so a few instructions and the same for every string with those characters.
#[inline]
pub fn descriptor_name_bit(name: &str) -> u64 {
    let b = name.as_bytes();
    let first = b.first().copied().unwrap_or(0) as usize;
    let last = b.last().copied().unwrap_or(0) as usize;
    let h = b.len().wrapping_mul(5) ^ first ^ last.wrapping_mul(3);
    1 << (5 + (h & 15))
}

/// Where [`Class::lookup`] keeps the hint for `name`: one of 64 slots, picked by the address of
/// the name's bytes (a VM's `&'static str` keeps its address), so no table of names is needed.
#[inline(always)]
fn name_hint(name: &str) -> &'static AtomicU32 {
    static HINTS: [AtomicU32; 64] = [const { AtomicU32::new(0) }; 64];
    let a = name.as_ptr() as u64;
    &HINTS[(a.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize]
}

/// `a == b` for two short names, inline (a `memcmp` call cost about as much as the rest of the
/// hinted look-up): lengths, then words. A name of 4 to 16 bytes is two (overlapping) loads
/// of each string compared, where a byte-by-byte loop took ~40 machine instructions for
/// `__mul__` (callgrind, telco: a third of `Class::lookup`).
#[inline(always)]
fn same_str(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[at..at + 8]);
        u64::from_ne_bytes(w)
    };
    let half = |s: &[u8], at: usize| -> u32 {
        let mut w = [0u8; 4];
        w.copy_from_slice(&s[at..at + 4]);
        u32::from_ne_bytes(w)
    };
    match n {
        0..=3 => a == b,
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

/// How many entries of a class's lookup cache a method call compares by pointer when its hint
/// misses, before it hashes the name (`Class::with_hinted_in`).
const HINT_SCAN: usize = 8;

/// How many of a class's lookup cache's first entries a method call can read without the
/// cache's lock, free-threaded (`Class::shared_methods`).
pub const SHARED_METHODS: usize = 16;

/// A class's answers of `lookup`, in the order they were first asked for (so that an index
/// into it stays valid until the cache is emptied: the hints of `lookup_hinted`).
type LookupCache = indexmap::IndexMap<
    Arc<str>,
    Option<Value>,
    std::hash::BuildHasherDefault<rustc_hash::FxHasher>,
>;

/// A name's stamp in a class's lock-free method slots (`Class::share_method`): the address of
/// its shared string.
#[inline(always)]
fn name_stamp(name: &Arc<str>) -> u64 {
    Arc::as_ptr(name).cast::<u8>().addr() as u64
}

/// Bumped whenever any class's attributes change, invalidating every lookup cache. Read by
/// [`class_epoch`].
pub(crate) static CLASS_EPOCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// The current class epoch (see [`class_changed`]): an answer remembered with an older one
/// may be stale. One instruction on x86-64 (`heap::class_epoch` says how).
#[inline(always)]
pub fn class_epoch() -> u64 {
    crate::heap::class_epoch()
}

/// Call after changing a class's `dict` (setattr/delattr on a class, building a class).
pub fn class_changed() {
    CLASS_EPOCH.fetch_add(1, std::sync::atomic::Ordering::Release);
}

/// Does an object found on a class take over attribute assignment on instances (a property, a
/// slot, or an instance of a class defining `__set__` or `__delete__`)?
pub fn is_data_descriptor(i: &Instance) -> bool {
    match i.payload {
        Payload::Property { .. } | Payload::Member { .. } => true,
        _ => {
            !i.class.builtin
                && (i.class.lookup("__set__").is_some() || i.class.lookup("__delete__").is_some())
        }
    }
}

/// The C3 linearization of `bases` (what follows a new class in its MRO); when the bases admit
/// no consistent order, the classes left at the heads of the merge (which CPython names in
/// "Cannot create a consistent method resolution order").
pub fn c3_mro_tail(bases: &[Ref<Class>]) -> Result<Vec<Ref<Class>>, Vec<Ref<Class>>> {
    // Merge the bases' own MROs and the list of bases: repeatedly take the first head that
    // appears in no other list's tail.
    let mut seqs: Vec<Vec<Ref<Class>>> = bases
        .iter()
        .map(|b| {
            let mut m = vec![b.clone()];
            m.extend(b.mro_tail.iter().cloned());
            m
        })
        .collect();
    seqs.push(bases.to_vec());
    let mut out = Vec::new();
    loop {
        seqs.retain(|s| !s.is_empty());
        if seqs.is_empty() {
            return Ok(out);
        }
        let head = seqs.iter().find_map(|s| {
            let h = &s[0];
            let in_tail = seqs
                .iter()
                .any(|t| t[1..].iter().any(|c| Ref::ptr_eq(c, h)));
            (!in_tail).then(|| h.clone())
        });
        let Some(head) = head else {
            let mut heads: Vec<Ref<Class>> = Vec::new();
            for s in &seqs {
                if !heads.iter().any(|h| Ref::ptr_eq(h, &s[0])) {
                    heads.push(s[0].clone());
                }
            }
            return Err(heads);
        };
        for s in seqs.iter_mut() {
            if Ref::ptr_eq(&s[0], &head) {
                s.remove(0);
            }
        }
        out.push(head);
    }
}

/// The MRO after a class with one base (or none): the base, then the base's own.
fn single_mro_tail(base: &Option<Ref<Class>>) -> Vec<Ref<Class>> {
    match base {
        Some(b) => {
            let mut m = vec![b.clone()];
            m.extend(b.mro_tail.iter().cloned());
            m
        }
        None => Vec::new(),
    }
}

impl Class {
    /// Replace a class's single base (native classes built in Rust that extend another).
    pub fn set_base(&mut self, base: Ref<Class>) {
        self.bases = vec![base.clone()];
        self.base = Some(base);
        self.mro_tail = single_mro_tail(&self.base);
    }

    /// An exception class defined by a module (`socket.gaierror`, `queue.Empty`...): a direct
    /// subclass of the built-in exception `base`. `builtin` makes it immutable and named
    /// without its module in tracebacks, as CPython's own classes.
    /// `__name__`: the name the class was made with, or the one last assigned.
    #[inline]
    pub fn name(&self) -> Arc<str> {
        self.name_cell.read().clone()
    }

    /// `__qualname__`: `Outer.Inner` for a class made in a class body, or the one last assigned.
    #[inline]
    pub fn qualname(&self) -> Arc<str> {
        self.qualname_cell.read().clone()
    }

    pub fn new_exception(name: &str, module: &str, base: ExcKind, builtin: bool) -> Class {
        let base = types().exc(base).clone();
        Class {
            name_cell: ObjCell::new(name.into()),
            qualname_cell: ObjCell::new(name.into()),
            qualname_value: ObjCell::new(None),
            name_value: ObjCell::new(None),
            module: module.into(),
            bases: vec![base.clone()],
            mro_tail: Class::mro(&base),
            base: Some(base),
            dict: ObjCell::new(AttrMap::default()),
            kind: TypeKind::Exception,
            builtin,
            cache: Default::default(),
            shared_methods: Default::default(),
            flags: Default::default(),
            slot_cache: Default::default(),
            ctor: Default::default(),
            attr_hint: Default::default(),
            immutable: Default::default(),
            metaclass: None,
            subclasses: Default::default(),
            weak: Default::default(),
        }
    }

    /// A class implemented in Rust, in module `module`, subclassable by programs.
    pub fn new_native(name: &str, module: &str, methods: AttrMap) -> Class {
        Class {
            name_cell: ObjCell::new(name.into()),
            qualname_cell: ObjCell::new(name.into()),
            qualname_value: ObjCell::new(None),
            name_value: ObjCell::new(None),
            module: module.into(),
            base: Some(types().object.clone()),
            bases: vec![types().object.clone()],
            mro_tail: vec![types().object.clone()],
            dict: ObjCell::new(methods),
            kind: TypeKind::Native,
            builtin: true,
            cache: ObjCell::new((0, LookupCache::default())),
            shared_methods: Default::default(),
            flags: Default::default(),
            slot_cache: Default::default(),
            ctor: Default::default(),
            attr_hint: Default::default(),
            immutable: Default::default(),
            metaclass: None,
            subclasses: Default::default(),
            weak: Default::default(),
        }
    }

    pub fn new_builtin(name: &str, base: Option<Ref<Class>>, kind: TypeKind) -> Class {
        Class {
            name_cell: ObjCell::new(name.into()),
            qualname_cell: ObjCell::new(name.into()),
            qualname_value: ObjCell::new(None),
            name_value: ObjCell::new(None),
            module: "builtins".into(),
            bases: base.iter().cloned().collect(),
            mro_tail: single_mro_tail(&base),
            base,
            dict: ObjCell::new(AttrMap::default()),
            kind,
            builtin: true,
            cache: ObjCell::new((0, LookupCache::default())),
            shared_methods: Default::default(),
            flags: Default::default(),
            slot_cache: Default::default(),
            ctor: Default::default(),
            attr_hint: Default::default(),
            immutable: Default::default(),
            metaclass: None,
            subclasses: Default::default(),
            weak: Default::default(),
        }
    }

    /// `cls.__subclasses__()`: the classes still alive that name this one as a base, in the
    /// order they were made.
    pub fn subclasses(&self) -> Vec<Ref<Class>> {
        self.subclasses
            .read()
            .iter()
            .filter_map(|w| w.upgrade())
            .collect()
    }

    /// Record `cls` among the subclasses of each of its bases (forgetting those since freed).
    pub fn register_subclass(cls: &Ref<Class>) {
        for base in &cls.bases {
            let Some(w) = Ref::downgrade(cls) else {
                return;
            };
            let mut list = base.subclasses.lock();
            // Pruned when the list doubles, not at each class made: `object` gets every class.
            if list.len() >= 16 && list.len().is_power_of_two() {
                list.retain(|w| w.upgrade().is_some());
            }
            list.push(w);
        }
    }

    /// `name` looked up on this class's metaclass (a special method a metaclass gives its
    /// classes: `__repr__`, `__eq__`, `__call__`...); `None` without a metaclass.
    pub fn metaclass_lookup(&self, name: &str) -> Option<Value> {
        self.metaclass.as_ref().and_then(|m| m.lookup(name))
    }

    /// Look an attribute up along the method resolution order, through a
    /// per-class cache of earlier answers (hits and misses). Any change to any class's attributes
    /// calls [`class_changed`], which empties every cache lazily.
    ///
    /// The names the VM asks for by a `&'static str` (`__add__` for `a + b`, `__eq__`,
    /// `__iter__`, ...) have no instruction cache to keep a hint in: the hint is kept in a
    /// small table indexed by the name's address ([`name_hint`]), so a hit compares the key at
    /// the remembered index with the name instead of hashing it and probing the map
    /// (callgrind: 172 machine instructions of the 1,250 of `a + b` on instances went to this
    /// lookup). A hint is only a guess, checked before use: two names sharing a slot, or a
    /// name at another index in another class, cost a hashed look-up as before.
    pub fn lookup(&self, name: &str) -> Option<Value> {
        use std::sync::atomic::Ordering::Relaxed;
        let epoch = class_epoch();
        let hint = name_hint(name);
        {
            let cache = self.cache.read();
            if cache.0 == epoch {
                if let Some((k, v)) = cache.1.get_index(hint.load(Relaxed) as usize) {
                    if same_str(k, name) {
                        return v.clone();
                    }
                }
                if let Some((i, _, v)) = cache.1.get_full(name) {
                    hint.store(i as u32, Relaxed);
                    return v.clone();
                }
            }
        }
        // Keyed by the name code objects share when it is one of theirs: a method call site
        // (`self.randrange(...)` after `getattr(inst, 'randrange')` filled the cache) then
        // finds it by pointer instead of hashing the name at every call (random's randint:
        // three hashed look-ups of ~130 machine instructions per call, callgrind).
        let (i, found) = self.lookup_and_remember(crate::object::name_if_interned(name), epoch);
        hint.store(i as u32, Relaxed);
        found
    }

    /// As [`Class::lookup`], for an interned name held by an instruction (`LoadAttr`,
    /// `CallMethod`) with its inline cache's `hint`: the index of the answer in this class's
    /// lookup cache last time. A hit checks the epoch and the key's pointer, and hashes nothing.
    /// The index is the same for every class that has the answer at that place, and checked
    /// before use, so one hint serves an instruction that sees several classes.
    #[inline]
    pub fn lookup_hinted(&self, name: &Arc<str>, hint: &AtomicU32) -> Option<Value> {
        self.with_hinted(name, hint, |v| v.cloned())
    }

    /// As [`Class::lookup_hinted`] for a method call: the answer if it is a Python function,
    /// counted as a `Ref<Function>` (an inline count change, where cloning the `Value` calls
    /// out to a match over every variant); `None` for anything else or nothing.
    #[inline]
    pub fn function_hinted(
        &self,
        name: &Arc<str>,
        hint: &AtomicU32,
    ) -> Option<Ref<crate::object::Function>> {
        self.with_hinted(name, hint, |v| match v {
            Some(Value::Function(f)) => Some(f.clone()),
            _ => None,
        })
    }

    /// As [`Class::lookup_hinted`], but lends the answer to `f` instead of cloning it: for
    /// callers that only look at it (is it a property? a function?), which then change no
    /// reference count. `f` runs while the lookup cache is borrowed, so it must not look
    /// anything up on a class (it cannot run Python code: it gets no interpreter).
    #[inline]
    pub fn with_hinted<R>(
        &self,
        name: &Arc<str>,
        hint: &AtomicU32,
        f: impl FnOnce(Option<&Value>) -> R,
    ) -> R {
        self.with_hinted_in::<false, _, _>(crate::heap::AnyModel, name, hint, f)
    }

    /// [`Class::with_hinted`], the cache taken as `access` takes cells (`heap::CellAccess`).
    /// `SCAN`: when the hint misses, the first [`HINT_SCAN`] entries are compared by pointer
    /// before the name is hashed (`try_push_method`, below).
    #[inline]
    pub fn with_hinted_in<const SCAN: bool, R, A: crate::heap::CellAccess>(
        &self,
        access: A,
        name: &Arc<str>,
        hint: &AtomicU32,
        f: impl FnOnce(Option<&Value>) -> R,
    ) -> R {
        use std::sync::atomic::Ordering::Relaxed;
        let epoch = class_epoch();
        // Free-threaded method calls (`SCAN`) first read the answer at the hint without the
        // cache's lock (a shared lock and its release were two atomic read-modify-writes a
        // call): a slot filled from the cache while this epoch is current (`share_method`).
        let shared = SCAN && access.gil().is_none() && crate::heap::gil_model().is_none();
        if shared {
            if let Some(slots) = self.shared_methods.get() {
                if let Some(slot) = slots.get(hint.load(Relaxed) as usize) {
                    if let Some(v) = slot.lend_if(epoch, name_stamp(name)) {
                        return f(Some(&*v));
                    }
                }
            }
        }
        {
            let cache = access.read(&self.cache);
            if cache.0 == epoch {
                let i = hint.load(Relaxed) as usize;
                if let Some((k, v)) = cache.1.get_index(i) {
                    if Arc::ptr_eq(k, name) {
                        if shared {
                            self.share_method(i, epoch, name, v);
                        }
                        return f(v.as_ref());
                    }
                }
                // A method call site that sees several classes (richards' `t.run()` over its
                // task classes) finds the name at another place in each class's cache: a few
                // pointer comparisons over the first entries, where the methods asked for
                // first are, instead of hashing the name (callgrind, richards: about 90
                // machine instructions per miss in `get_full`).
                if SCAN {
                    let mut keys = cache.1.keys().take(HINT_SCAN);
                    if let Some(i) = keys.position(|k| Arc::ptr_eq(k, name)) {
                        if let Some((_, v)) = cache.1.get_index(i) {
                            hint.store(i as u32, Relaxed);
                            if shared {
                                self.share_method(i, epoch, name, v);
                            }
                            return f(v.as_ref());
                        }
                    }
                }
                if let Some((i, k, v)) = cache.1.get_full(&NameRef(name)) {
                    hint.store(i as u32, Relaxed);
                    if shared && Arc::ptr_eq(k, name) {
                        self.share_method(i, epoch, name, v);
                    }
                    return f(v.as_ref());
                }
            }
        }
        let (i, found) = self.lookup_and_remember(name.clone(), epoch);
        hint.store(i as u32, Relaxed);
        f(found.as_ref())
    }

    /// The hit path of a method call's look-up in the GIL model (`interp/call.rs:
    /// method_local_hit`), in one function with no calls: the class has no `__getattribute__`
    /// (its flags word of the current epoch says so), and its lookup cache of the current epoch
    /// has `name` at the index `hint` remembers or among its first [`HINT_SCAN`] entries (the
    /// hint then moved there, as `with_hinted_in` moves it), with an answer that is lent to `f`.
    /// `None` for anything else, the cache left as it was: the caller then goes the general way
    /// (`attr_flags`, `with_hinted_in`), which works out and remembers what is missing.
    #[inline(always)]
    pub fn method_hit_gil<R>(
        &self,
        gil: crate::heap::GilModel,
        name: &Arc<str>,
        hint: &AtomicU32,
        f: impl FnOnce(&Value) -> Option<R>,
    ) -> Option<R> {
        use std::sync::atomic::Ordering::Relaxed;
        let epoch = class_epoch();
        let flags = self.flags.load(Relaxed);
        if flags >> FLAG_BITS != epoch || flags & HAS_GETATTRIBUTE != 0 {
            return None;
        }
        let cache = self.cache.try_read_gil(gil).ok()?;
        if cache.0 != epoch {
            return None;
        }
        let i = hint.load(Relaxed) as usize;
        if let Some((k, v)) = cache.1.get_index(i) {
            if Arc::ptr_eq(k, name) {
                return f(v.as_ref()?);
            }
        }
        let i = cache
            .1
            .keys()
            .take(HINT_SCAN)
            .position(|k| Arc::ptr_eq(k, name))?;
        hint.store(i as u32, Relaxed);
        f(cache.1.get_index(i)?.1.as_ref()?)
    }

    /// Free-threaded: copy the cache's answer `v` for `name` at index `i`, read under the
    /// cache's lock in `epoch` (the cache's own), to the lock-free slot `i`, if it is an
    /// immortal function (a function of a top-level class body: never freed, so a reader needs
    /// no count) and the slot does not hold it already. The slot's stamps are the epoch and the
    /// address of the cache's key for `name` (the caller's `name` itself, `Arc::ptr_eq`): that
    /// key stays in the cache, so its address names no other string, for as long as the epoch
    /// is current (`lookup_and_remember` never empties a cache of the current epoch), and a
    /// slot of an older epoch matches nothing.
    #[inline(never)]
    fn share_method(&self, i: usize, epoch: u64, name: &Arc<str>, v: &Option<Value>) {
        let Some(v @ Value::Function(func)) = v else {
            return;
        };
        if i >= SHARED_METHODS || !Ref::is_immortal(func) {
            return;
        }
        let slots = self.shared_methods.get_or_init(Default::default);
        let stamp = name_stamp(name);
        if slots[i].lend_if(epoch, stamp).is_none() {
            slots[i].fill(epoch, stamp, v);
        }
    }

    /// How calling this class makes an instance ([`Ctor`]), from the cache while the class
    /// epoch is current.
    /// Inline, with the work of a new epoch out of line: as one function it saved and restored
    /// a dozen registers at every `C(...)` (about 40 of its 98 machine instructions, callgrind).
    #[inline]
    pub fn ctor(&self) -> Ctor {
        let epoch = class_epoch();
        {
            let cached = self.ctor.read();
            if cached.0 == epoch {
                return cached.1.clone();
            }
        }
        self.ctor_for_epoch(epoch)
    }

    /// `ctor`'s plan lent to `f` where it is cached, not cloned (`interp/call.rs:
    /// try_push_init` sets up `__init__`'s frame while it is lent, as a method call does with a
    /// method the class's cache lends: no count of the function changed). `f` must not run
    /// Python code: the cache is held.
    #[inline(always)]
    pub fn with_ctor<R>(&self, f: impl FnOnce(&Ctor) -> R) -> R {
        let epoch = class_epoch();
        {
            let cached = self.ctor.read();
            if cached.0 == epoch {
                return f(&cached.1);
            }
        }
        f(&self.ctor_for_epoch(epoch))
    }

    /// `ctor` when the cached plan is from an older class epoch: work it out and remember it.
    #[cold]
    #[inline(never)]
    fn ctor_for_epoch(&self, epoch: u64) -> Ctor {
        let plan = self.compute_ctor();
        *self.ctor.lock() = (epoch, plan.clone());
        plan
    }

    fn compute_ctor(&self) -> Ctor {
        let user = !self.builtin
            && self.kind == TypeKind::Object
            && self.lookup("__abstractmethods__").is_none()
            // A metaclass's `__call__` decides what calling the class does.
            && self
                .metaclass
                .as_ref()
                .is_none_or(|m| m.lookup("__call__").is_none());
        if !user {
            return Ctor::General;
        }
        // (An `__init__` that is a staticmethod, a bound method or another callable object
        // is bound as a special method, by the general path.)
        let init = self.lookup("__init__");
        if !matches!(init, None | Some(Value::Function(_) | Value::Native(_))) {
            return Ctor::General;
        }
        match self.lookup("__new__") {
            None => Ctor::Plain(init),
            Some(new) => python_new(&new).map_or(Ctor::General, Ctor::New),
        }
    }

    /// Walk the MRO for `name` and record the answer in the cache of `epoch`: (its index there,
    /// the answer).
    fn lookup_and_remember(&self, name: Arc<str>, epoch: u64) -> (usize, Option<Value>) {
        let found = self.lookup_uncached(&name);
        let mut cache = self.cache.lock();
        if cache.0 != epoch {
            // A lookup that read the epoch before another thread moved it on (free-threaded)
            // leaves the newer cache alone: an entry stays for as long as its epoch is current
            // (`share_method` relies on it). The answer is given, not remembered.
            if cache.0 > epoch {
                return (u32::MAX as usize, found);
            }
            cache.1.clear();
            cache.0 = epoch;
        }
        let (i, _) = cache.1.insert_full(name, found.clone());
        (i, found)
    }

    /// An abstract base class whose metaclass keeps `abc.ABCMeta`'s instance and subclass
    /// checks ([`ABC_META`]): `isinstance`/`issubclass` answer from its MRO, its hook and its
    /// `_abc_subclasscheck` (builtins/functions.rs, `class_matches`) without calling them.
    #[inline]
    pub fn is_abc(&self) -> bool {
        self.metaclass
            .as_ref()
            .is_some_and(|m| m.attr_flags() & ABC_META != 0)
    }

    /// `HAS_PROPERTY | HAS_SETATTR` bits for this class and its bases, from the lookup cache
    /// (so recomputed after any class changes). Lets `obj.x` on a plain class skip the class.
    #[inline]
    pub fn attr_flags(&self) -> u64 {
        use std::sync::atomic::Ordering;
        let epoch = class_epoch();
        let cached = self.flags.load(Ordering::Relaxed);
        if cached >> FLAG_BITS == epoch {
            return cached & ((1 << FLAG_BITS) - 1);
        }
        self.recompute_attr_flags(epoch)
    }

    /// `attr_flags` after a class changed: out of line, so that the check above stays small
    /// where it is inlined (the attribute instructions' fast paths).
    #[cold]
    #[inline(never)]
    fn recompute_attr_flags(&self, epoch: u64) -> u64 {
        use std::sync::atomic::Ordering;
        let bits = self.compute_attr_flags();
        self.flags
            .store((epoch << FLAG_BITS) | bits, Ordering::Relaxed);
        bits
    }

    fn compute_attr_flags(&self) -> u64 {
        let mut bits = 0;
        let mut slotted = true;
        // Each data descriptor found: its name, and whether it is a slot member stored under
        // that name (checked against the chain's first answer once every dict is released).
        let mut descriptors: Vec<(Arc<str>, Option<Value>)> = Vec::new();
        // The first class of the chain defining `__subclasshook__`: a hook of its own (not
        // `object`'s, which says NotImplemented).
        let mut hook: Option<bool> = None;
        let mut check = |c: &Class| {
            let dict = c.dict.read();
            if hook.is_none() && dict.contains_key("__subclasshook__") {
                hook = Some(!c.builtin);
            }
            for (k, v) in dict.iter() {
                match &**k {
                    "__setattr__" => bits |= HAS_SETATTR,
                    "__getattr__" => bits |= HAS_GETATTR,
                    "__bool__" | "__len__" => bits |= HAS_BOOL_LEN,
                    "__eq__" | "__ne__" if !(c.builtin && c.kind == TypeKind::Object) => {
                        bits |= HAS_EQ
                    }
                    "__getattribute__" if !c.builtin => bits |= HAS_GETATTRIBUTE,
                    _ => {}
                }
                if let Value::Instance(i) = v {
                    if is_data_descriptor(i) {
                        bits |= HAS_PROPERTY | descriptor_name_bit(k);
                        let own_slot = matches!(&i.payload,
                            Payload::Member { name, .. } if **name == **k);
                        descriptors.push((k.clone(), own_slot.then(|| v.clone())));
                    }
                }
            }
            if !c.builtin {
                slotted &= match dict.get("__slots__") {
                    Some(Value::Str(s)) => s.as_str() != "__dict__",
                    Some(Value::Tuple(t)) => {
                        !t.items.iter().any(|v| v.as_str() == Some("__dict__"))
                    }
                    _ => false,
                };
            } else if !c.dictless_native()
                && !matches!(
                    c.kind,
                    TypeKind::Object
                        | TypeKind::Tuple
                        | TypeKind::Int
                        | TypeKind::Float
                        | TypeKind::Str
                        | TypeKind::Bytes
                        | TypeKind::FrozenSet
                )
            {
                // (These built-in types' instances have no `__dict__` either, so a subclass
                // with `__slots__` all the way down has none: a namedtuple takes no new
                // attributes.)
                slotted = false;
            }
        };
        check(self);
        for c in &self.mro_tail {
            check(c);
        }
        if hook == Some(true) && self.is_abc() {
            bits |= ABC_HOOK;
        }
        if self.kind == TypeKind::Type && !self.builtin {
            let abc_own = |name: &str| {
                matches!(self.lookup_uncached(name), Some(Value::Function(f))
                    if f.code.head.filename.as_ref() == "<minivm-lib>/abc.mini"
                        && f.code.qualname.strip_prefix("ABCMeta.") == Some(name))
            };
            if abc_own("__instancecheck__") && abc_own("__subclasscheck__") {
                bits |= ABC_META;
            }
        }
        let plain =
            |(name, member): &(Arc<str>, Option<Value>)| match (member, self.lookup_uncached(name))
            {
                (Some(m), Some(first)) => m.is(&first),
                _ => false,
            };
        if bits & HAS_PROPERTY != 0 && descriptors.iter().all(plain) {
            bits |= PLAIN_SLOTS;
        }
        // `object()` itself has no `__dict__` either: `object().x = 1` is an AttributeError.
        if slotted && (!self.builtin || self.kind == TypeKind::Object || self.dictless_native()) {
            bits |= DICTLESS;
        }
        if self.builtin {
            bits |= BUILTIN_TYPE;
        }
        bits
    }

    /// A native class standing for a CPython built-in type (`complex`, `memoryview`, `code`,
    /// `frame`: module `builtins`): like CPython's, its instances take no attributes of their own.
    fn dictless_native(&self) -> bool {
        self.kind == TypeKind::Native && &*self.module == "builtins"
    }

    fn lookup_uncached(&self, name: &str) -> Option<Value> {
        if let Some(v) = self.dict.read().get(name) {
            return Some(v.clone());
        }
        self.mro_tail
            .iter()
            .find_map(|c| c.dict.read().get(name).cloned())
    }

    /// `issubclass(self, other)`.
    /// The class's module as `__module__` says now: a program may assign it (`namedtuple`
    /// does), and reprs and tracebacks show the assigned one, as CPython's.
    pub fn module_name(&self) -> std::sync::Arc<str> {
        match self.dict.read().get("__module__") {
            Some(crate::value::Value::Str(s)) => std::sync::Arc::from(s.as_str()),
            _ => self.module.clone(),
        }
    }

    pub fn is_subclass(&self, other: &Ref<Class>) -> bool {
        if std::ptr::eq(self, Ref::as_ptr(other)) {
            return true;
        }
        self.mro_tail.iter().any(|c| Ref::ptr_eq(c, other))
    }

    /// The built-in class whose instance layout this class has: itself if built in, else the
    /// first built-in class of its MRO (`list` for `class L(list)`, `object` for plain classes).
    pub fn layout_root(this: &Ref<Class>) -> Ref<Class> {
        if this.builtin {
            return this.clone();
        }
        this.mro_tail
            .iter()
            .find(|k| k.builtin)
            .cloned()
            .unwrap_or_else(|| types().object.clone())
    }

    /// The method resolution order: this class, then `mro_tail` (ending at `object`).
    pub fn mro(this: &Ref<Class>) -> Vec<Ref<Class>> {
        let mut out = vec![this.clone()];
        out.extend(this.mro_tail.iter().cloned());
        out
    }
}

/// Data every exception instance carries besides its attribute dict.
#[derive(Default)]
pub struct ExcData {
    pub args: Vec<Value>,
    /// Frames the exception passed through, innermost first: (filename, line, function name).
    pub traceback: Vec<TraceEntry>,
    pub cause: Option<Value>,
    pub context: Option<Value>,
    pub suppress_context: bool,
    /// What the traceback printer needs for CPython's "Did you mean" hint (`interp/suggest.rs`).
    pub hint: Option<Hint>,
    /// The chain of traceback objects `__traceback__` last gave and how many entries of
    /// `traceback` it covers, so that reading it again gives the same objects
    /// (`tb is exc.__traceback__`, as in CPython) and a longer traceback only adds the outer ones.
    /// Boxed: an unboxed pair made every instance too large for the heap's pools (`heap/pool.rs`
    /// serves objects up to 256 bytes), which changed how addresses are reused.
    pub tb_object: Option<Box<(usize, Value)>>,
    /// Made by calling the class, and `BaseException.__init__` has not run yet (a subclass's
    /// own `__init__` may never call it): CPython's `SystemExit.code` and
    /// `StopIteration.value` are then `None`, whatever the arguments were.
    pub init_pending: bool,
    /// A value assigned to `SystemExit.code` or `StopIteration.value` (in CPython a member of
    /// the object, not an entry of its `__dict__`); `__init__` forgets it.
    pub member: Option<Value>,
}

// Instances must stay small enough for the heap's pools, and small: every object of a Python
// class is one, and a plain one is made (a copy of the whole struct) and freed at each `C()`.
// Payloads larger than a few words are boxed (`Payload::Exception`).
const _: () = assert!(crate::heap::pooled::<Instance>());
const _: () = assert!(std::mem::size_of::<Instance>() <= 136);

/// The makings of a "Did you mean: 'x'?" hint, recorded when the VM raises the exception.
#[derive(Clone)]
pub enum Hint {
    /// Found when raised (a `NameError`: the frame is gone by the time it is printed).
    Suggestion(Arc<str>),
    /// An `AttributeError`: the object and the missing name, looked up when printed.
    Attribute { obj: Value, name: Arc<str> },
}

#[derive(Clone)]
pub struct TraceEntry {
    pub filename: Arc<str>,
    pub line: u32,
    pub func: Arc<str>,
    /// The source range of the instruction that was running (`CodeObject::spans`), for the
    /// traceback's marker line; `(0, 0)` when unknown.
    pub span: (u32, u32),
    /// The instruction was a method call (`o.m(...)`) that failed looking the method up: the
    /// marker line underlines `o.m`, not the whole call.
    pub lookup: bool,
    /// The frame's variables (`tb_frame.f_locals`), shared by every entry of that frame: a
    /// cell holding the mapping, which a function frame fills when it finishes
    /// (`Frame::traced`; empty while it runs). None for entries with no frame (`-m`'s runpy).
    pub locals: Option<Ref<CellObj>>,
}

pub enum Payload {
    None,
    /// Boxed: the data of an exception is large (arguments, traceback, cause, context, hint),
    /// and unboxed it made every instance, of any class, that large: 240 bytes, where a plain
    /// instance needs 136 (see the size check below).
    Exception(Box<ObjCell<ExcData>>),
    /// `super()`: look attributes up from the class after `start` in `obj`'s MRO, bound to `obj`.
    Super {
        start: Ref<Class>,
        obj: Value,
    },
    Property {
        fget: Value,
        fset: Value,
        fdel: Value,
    },
    /// `staticmethod(f)` / `classmethod(f)`.
    Wrapped(Value),
    /// A slot of a class with `__slots__` (`C.x` is `<member 'x' of 'C' objects>`): a data
    /// descriptor whose value lives under `name` in the instance's attribute table.
    Member {
        name: Arc<str>,
        owner: Arc<str>,
    },
    DictView(Ref<crate::object::Dict>, ViewKind),
    /// Set once by the native class's `__init__`; read with [`Instance::native`].
    Native(std::sync::OnceLock<NativeData>),
    /// An instance of a subclass of a built-in data type (`class L(list)`, `class S(str)`): the
    /// built-in value it is, which every built-in operation works on (see [`builtin_base`]).
    /// Mutable bases (list, dict, set, bytearray) start empty and are filled in place by
    /// `__init__`; immutable ones are made by `__new__`.
    Builtin {
        value: Value,
    },
}

pub struct Instance {
    /// `obj.__class__ = Other` may change it (`interp/attr.rs: set_instance_class`).
    pub class: crate::heap::SwapRef<Class>,
    pub dict: crate::object::InstCell,
    pub payload: Payload,
    /// Where weak references to the instance learn of its death (`heap/weak.rs`): one null
    /// pointer until the first `weakref.ref` to it.
    pub weak: crate::heap::weak::WeakAnchor,
}

impl crate::heap::weak::WeakTarget for Instance {
    fn weak_anchor(&self) -> &crate::heap::weak::WeakAnchor {
        &self.weak
    }
}

/// An instance of a class with `__del__` is not freed here but handed to the finalizer queue
/// (`interp/finalize.rs`); every other instance costs one relaxed load.
impl Drop for Instance {
    fn drop(&mut self) {
        if crate::interp::finalize::ANY_DEL.load(std::sync::atomic::Ordering::Relaxed) {
            crate::interp::finalize::instance_dropped(self);
        }
    }
}

impl Instance {
    pub fn new(class: Ref<Class>) -> Instance {
        Instance::with_dict(class, crate::object::InstDict::default())
    }

    /// As [`Instance::new`], with its attribute table already made (native code making an
    /// instance shaped as others of its class: `InstDict::with_names_of`). Inlined, so that
    /// `Ref::new_with(|| Instance::with_dict(..))` stores the fields into the new block (out
    /// of line, the instance came back on the stack and was copied over with 16-byte loads of
    /// fields just written in 8-byte halves, loads that wait for those stores to retire).
    #[inline(always)]
    pub fn with_dict(class: Ref<Class>, dict: crate::object::InstDict) -> Instance {
        let payload = match class.kind {
            TypeKind::Exception => Payload::Exception(Box::new(ObjCell::new(ExcData::default()))),
            TypeKind::Native => Payload::Native(std::sync::OnceLock::new()),
            kind => match empty_base(kind) {
                Some(value) => Payload::Builtin { value },
                None => Payload::None,
            },
        };
        Instance {
            class: crate::heap::SwapRef::new(class),
            dict: ObjCell::new_published(dict),
            payload,
            weak: crate::heap::weak::WeakAnchor::new(),
        }
    }

    /// The Rust data of a native-class instance, if it is a `T` and `__init__` has set it.
    pub fn native<T: 'static>(&self) -> Option<&T> {
        match &self.payload {
            Payload::Native(cell) => cell.get()?.downcast_ref::<T>(),
            _ => None,
        }
    }

    /// Set the Rust data of a native-class instance; false if it was already set.
    pub fn set_native(&self, data: NativeData) -> bool {
        match &self.payload {
            Payload::Native(cell) => cell.set(data).is_ok(),
            _ => false,
        }
    }

    /// An instance of a plain user class (no payload), its attribute table sized by the
    /// class's `attr_hint`.
    #[inline]
    pub fn plain(class: Ref<Class>) -> Instance {
        let n = class.attr_hint.load(std::sync::atomic::Ordering::Relaxed);
        Instance {
            class: crate::heap::SwapRef::new(class),
            dict: ObjCell::new_published(crate::object::InstDict::with_capacity(n)),
            payload: Payload::None,
            weak: crate::heap::weak::WeakAnchor::new(),
        }
    }

    /// A new plain instance on the heap, made in its block (`Ref::new_with`: no copy of the
    /// struct), as `C()` makes one before `__init__` runs.
    #[inline]
    pub fn new_plain(class: Ref<Class>) -> Ref<Instance> {
        Ref::new_with(|| Instance::plain(class))
    }

    /// Record, after `__init__`, how many attributes this instance has (`Class::attr_hint`).
    #[inline]
    pub fn note_attr_count(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let n = self.dict.read().len();
        if n > self.class.attr_hint.load(Relaxed) {
            self.class.attr_hint.store(n, Relaxed);
        }
    }

    pub fn with_payload(class: Ref<Class>, payload: Payload) -> Instance {
        Instance {
            class: crate::heap::SwapRef::new(class),
            dict: ObjCell::new_published(crate::object::InstDict::default()),
            payload,
            weak: crate::heap::weak::WeakAnchor::new(),
        }
    }

    pub fn exc(&self) -> Option<&ObjCell<ExcData>> {
        match &self.payload {
            Payload::Exception(d) => Some(d),
            _ => None,
        }
    }
}

/// Is `kind` a built-in data type a user class may subclass, its instances carrying the value
/// ([`Payload::Builtin`])?
pub fn is_data_kind(kind: TypeKind) -> bool {
    empty_base(kind).is_some()
}

/// The value an instance of a subclass of a built-in data type starts with (`list.__new__` gives
/// an empty list); `None` for the kinds that carry no built-in value.
fn empty_base(kind: TypeKind) -> Option<Value> {
    use crate::object::{Dict, KeySet, SetObj};
    Some(match kind {
        TypeKind::Int => Value::Int(0),
        TypeKind::Float => Value::Float(0.0),
        TypeKind::Str => Value::str(""),
        TypeKind::Bytes => Value::bytes(Vec::new()),
        TypeKind::ByteArray => Value::bytearray(Vec::new()),
        TypeKind::Tuple => Value::tuple(Vec::new()),
        TypeKind::List => Value::list(Vec::new()),
        TypeKind::Dict => Value::Dict(Ref::new(Dict::new())),
        TypeKind::Set => Value::Set(Ref::new(SetObj::new(KeySet::default(), false))),
        TypeKind::FrozenSet => Value::Set(Ref::new(SetObj::new(KeySet::default(), true))),
        _ => return None,
    })
}

/// The built-in value inside an instance of a subclass of a built-in data type: what built-in
/// operations (`len`, `[]`, `+`, iteration, the type's own methods) work on when the class does
/// not override them.
#[inline]
pub fn builtin_base(v: &Value) -> Option<&Value> {
    match v {
        Value::Instance(i) => match &i.payload {
            Payload::Builtin { value } => Some(value),
            _ => None,
        },
        _ => None,
    }
}

/// The operands of a binary operation with each instance of a subclass of a built-in data type
/// replaced by its value; `None` if neither is one.
pub fn bases_of<'a>(a: &'a Value, b: &'a Value) -> Option<(&'a Value, &'a Value)> {
    match (builtin_base(a), builtin_base(b)) {
        (None, None) => None,
        (x, y) => Some((x.unwrap_or(a), y.unwrap_or(b))),
    }
}

macro_rules! exception_kinds {
    ($($name:ident : $parent:ident),* $(,)?) => {
        /// The built-in exception classes, in CPython's hierarchy.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(clippy::enum_variant_names)]
        pub enum ExcKind { BaseException, $($name),* }

        impl ExcKind {
            pub const ALL: &'static [ExcKind] = &[ExcKind::BaseException, $(ExcKind::$name),*];

            pub fn name(self) -> &'static str {
                match self { ExcKind::BaseException => "BaseException", $(ExcKind::$name => stringify!($name)),* }
            }

            fn parent(self) -> Option<ExcKind> {
                match self { ExcKind::BaseException => None, $(ExcKind::$name => Some(ExcKind::$parent)),* }
            }
        }
    };
}

exception_kinds! {
    SystemExit: BaseException,
    KeyboardInterrupt: BaseException,
    GeneratorExit: BaseException,
    Exception: BaseException,
    StopIteration: Exception,
    StopAsyncIteration: Exception,
    ArithmeticError: Exception,
    FloatingPointError: ArithmeticError,
    OverflowError: ArithmeticError,
    ZeroDivisionError: ArithmeticError,
    AssertionError: Exception,
    AttributeError: Exception,
    BufferError: Exception,
    EOFError: Exception,
    ImportError: Exception,
    ModuleNotFoundError: ImportError,
    LookupError: Exception,
    IndexError: LookupError,
    KeyError: LookupError,
    MemoryError: Exception,
    NameError: Exception,
    UnboundLocalError: NameError,
    OSError: Exception,
    FileNotFoundError: OSError,
    FileExistsError: OSError,
    PermissionError: OSError,
    IsADirectoryError: OSError,
    ConnectionError: OSError,
    BrokenPipeError: ConnectionError,
    ConnectionRefusedError: ConnectionError,
    ConnectionResetError: ConnectionError,
    ConnectionAbortedError: ConnectionError,
    BlockingIOError: OSError,
    ChildProcessError: OSError,
    InterruptedError: OSError,
    NotADirectoryError: OSError,
    ProcessLookupError: OSError,
    TimeoutError: OSError,
    BaseExceptionGroup: BaseException,
    ExceptionGroup: BaseExceptionGroup,
    ReferenceError: Exception,
    RuntimeError: Exception,
    NotImplementedError: RuntimeError,
    RecursionError: RuntimeError,
    SyntaxError: Exception,
    IndentationError: SyntaxError,
    TabError: IndentationError,
    SystemError: Exception,
    TypeError: Exception,
    ValueError: Exception,
    UnicodeError: ValueError,
    UnicodeDecodeError: UnicodeError,
    UnicodeEncodeError: UnicodeError,
    UnicodeTranslateError: UnicodeError,
    Warning: Exception,
    UserWarning: Warning,
    DeprecationWarning: Warning,
    PendingDeprecationWarning: Warning,
    SyntaxWarning: Warning,
    RuntimeWarning: Warning,
    FutureWarning: Warning,
    ImportWarning: Warning,
    UnicodeWarning: Warning,
    BytesWarning: Warning,
    ResourceWarning: Warning,
    EncodingWarning: Warning,
}

/// The built-in classes, created once per process and shared by every interpreter thread.
pub struct BuiltinTypes {
    pub object: Ref<Class>,
    pub type_: Ref<Class>,
    pub none: Ref<Class>,
    pub bool_: Ref<Class>,
    pub int: Ref<Class>,
    pub float: Ref<Class>,
    pub str_: Ref<Class>,
    pub bytes: Ref<Class>,
    pub bytearray: Ref<Class>,
    pub tuple: Ref<Class>,
    pub list: Ref<Class>,
    pub dict: Ref<Class>,
    pub set: Ref<Class>,
    pub frozenset: Ref<Class>,
    pub range: Ref<Class>,
    pub slice: Ref<Class>,
    pub function: Ref<Class>,
    pub builtin_function: Ref<Class>,
    pub method_descriptor: Ref<Class>,
    pub wrapper_descriptor: Ref<Class>,
    /// A slot wrapper bound to its object (`(1).__add__`): CPython's `method-wrapper`.
    pub method_wrapper: Ref<Class>,
    /// CPython's type of `dict.__dict__['fromkeys']`; minivm makes no values of it (its
    /// class-level methods of built-in types are `builtin_function_or_method`s), so only
    /// `types.ClassMethodDescriptorType` names it.
    pub classmethod_descriptor: Ref<Class>,
    /// The type of `C.__weakref__` and `int.real` read from the class.
    pub getset_descriptor: Ref<Class>,
    pub method: Ref<Class>,
    pub module: Ref<Class>,
    pub iterator: Ref<Class>,
    pub generator: Ref<Class>,
    pub coroutine: Ref<Class>,
    pub async_generator: Ref<Class>,
    /// The awaitables over a generator frame (see `interp/agen.rs`).
    pub coroutine_wrapper: Ref<Class>,
    pub async_gen_asend: Ref<Class>,
    pub async_gen_athrow: Ref<Class>,
    pub anext_awaitable: Ref<Class>,
    /// What a user class's `__dict__` (a `mappingproxy`) wraps: its namespace, read live.
    pub class_namespace: Ref<Class>,
    pub cell: Ref<Class>,
    pub ellipsis: Ref<Class>,
    pub not_implemented: Ref<Class>,
    pub super_: Ref<Class>,
    pub property: Ref<Class>,
    /// The slots of classes with `__slots__`.
    pub member_descriptor: Ref<Class>,
    pub staticmethod: Ref<Class>,
    pub classmethod: Ref<Class>,
    pub dict_keys: Ref<Class>,
    pub dict_values: Ref<Class>,
    pub dict_items: Ref<Class>,
    /// Traceback objects (`exc.__traceback__`, the third argument of `__exit__`).
    pub traceback: Ref<Class>,
    pub exceptions: Vec<Ref<Class>>,
}

impl BuiltinTypes {
    pub fn exc(&self, kind: ExcKind) -> &Ref<Class> {
        &self.exceptions[kind as usize]
    }
}

static TYPES: crate::heap::Global<BuiltinTypes> = crate::heap::Global::new();

/// The process-wide built-in classes (their method tables are filled by `builtins::install_methods`).
pub fn types() -> &'static BuiltinTypes {
    TYPES.get_or_init(|| {
        let object = Ref::new(Class::new_builtin("object", None, TypeKind::Object));
        let sub = |name: &str, kind: TypeKind| {
            Ref::new(Class::new_builtin(name, Some(object.clone()), kind))
        };
        let int = sub("int", TypeKind::Int);
        let bool_ = Ref::new(Class::new_builtin(
            "bool",
            Some(int.clone()),
            TypeKind::Bool,
        ));
        let mut exceptions: Vec<Ref<Class>> = Vec::with_capacity(ExcKind::ALL.len());
        for &k in ExcKind::ALL {
            let base = match k.parent() {
                Some(p) => exceptions[p as usize].clone(),
                None => object.clone(),
            };
            let mut class = Class::new_builtin(k.name(), Some(base.clone()), TypeKind::Exception);
            if k == ExcKind::ExceptionGroup {
                // `class ExceptionGroup(BaseExceptionGroup, Exception)`: `except Exception` catches it.
                let exception = exceptions[ExcKind::Exception as usize].clone();
                class.bases.push(exception.clone());
                class.mro_tail = vec![base, exception.clone()];
                class.mro_tail.extend(exception.mro_tail.iter().cloned());
            }
            exceptions.push(Ref::new(class));
        }
        // `__subclasses__()` lists them in CPython's order of creation: level by level of the
        // hierarchy, each level by name, and `ExceptionGroup` (made apart from the others) last.
        let depth = |mut k: ExcKind| {
            let mut d = 0;
            while let Some(p) = k.parent() {
                d += 1;
                k = p;
            }
            d
        };
        let mut order: Vec<ExcKind> = ExcKind::ALL.to_vec();
        order.sort_by_key(|&k| (k == ExcKind::ExceptionGroup, depth(k), k.name()));
        for k in order {
            Class::register_subclass(&exceptions[k as usize]);
        }
        Class::register_subclass(&bool_);
        let t = BuiltinTypes {
            type_: sub("type", TypeKind::Type),
            none: sub("NoneType", TypeKind::NoneType),
            bool_,
            int,
            float: sub("float", TypeKind::Float),
            str_: sub("str", TypeKind::Str),
            bytes: sub("bytes", TypeKind::Bytes),
            bytearray: sub("bytearray", TypeKind::ByteArray),
            tuple: sub("tuple", TypeKind::Tuple),
            list: sub("list", TypeKind::List),
            dict: sub("dict", TypeKind::Dict),
            set: sub("set", TypeKind::Set),
            frozenset: sub("frozenset", TypeKind::FrozenSet),
            range: sub("range", TypeKind::Range),
            slice: sub("slice", TypeKind::Slice),
            function: sub("function", TypeKind::Function),
            builtin_function: sub("builtin_function_or_method", TypeKind::BuiltinFunction),
            method_descriptor: sub("method_descriptor", TypeKind::BuiltinFunction),
            wrapper_descriptor: sub("wrapper_descriptor", TypeKind::BuiltinFunction),
            method_wrapper: sub("method-wrapper", TypeKind::BuiltinFunction),
            classmethod_descriptor: sub("classmethod_descriptor", TypeKind::BuiltinFunction),
            getset_descriptor: sub("getset_descriptor", TypeKind::Object),
            method: sub("method", TypeKind::Method),
            module: sub("module", TypeKind::Module),
            iterator: sub("iterator", TypeKind::Iterator),
            generator: sub("generator", TypeKind::Generator),
            coroutine: sub("coroutine", TypeKind::Generator),
            async_generator: sub("async_generator", TypeKind::Generator),
            coroutine_wrapper: sub("coroutine_wrapper", TypeKind::Native),
            async_gen_asend: sub("async_generator_asend", TypeKind::Native),
            async_gen_athrow: sub("async_generator_athrow", TypeKind::Native),
            anext_awaitable: sub("anext_awaitable", TypeKind::Native),
            class_namespace: sub("class_namespace", TypeKind::Native),
            cell: sub("cell", TypeKind::Cell),
            ellipsis: sub("ellipsis", TypeKind::Ellipsis),
            not_implemented: sub("NotImplementedType", TypeKind::NotImplementedType),
            super_: sub("super", TypeKind::Super),
            property: sub("property", TypeKind::Property),
            member_descriptor: sub("member_descriptor", TypeKind::Object),
            staticmethod: sub("staticmethod", TypeKind::StaticMethod),
            classmethod: sub("classmethod", TypeKind::ClassMethod),
            dict_keys: sub("dict_keys", TypeKind::DictView),
            dict_values: sub("dict_values", TypeKind::DictView),
            dict_items: sub("dict_items", TypeKind::DictView),
            traceback: sub("traceback", TypeKind::Object),
            exceptions,
            object,
        };
        crate::builtins::install_methods(&t);
        crate::interp::views::install(&t);
        t
    })
}
