//! Runtime values: the one `Value` type every stage of execution passes around.
//!
//! A `Value` is 16 bytes: small immutable values (`None`, bools, ints, floats) are stored inline and
//! copied; everything else is a counted reference (`heap::Ref`) to a heap object. Mutable objects
//! (lists, dicts, instances) keep their contents in an object cell (`heap::ObjCell`); see
//! `vm/src/heap/` for how both work under the two memory models.

use crate::heap::Ref;
use crate::num::BigInt;
use crate::object::{
    BoundMethod, ByteArray, CellObj, Class, Dict, Function, Generator, Instance, IterObj, List,
    Module, NativeFunction, PyBytes, PyStr, Range, RangeIter, SetObj, Slice, Tuple,
};

impl Clone for Value {
    /// Inline: one more count on the object a pointer variant refers to, then a copy
    /// (`heap/value_count.rs`), the same few instructions whatever the kind of object.
    #[inline(always)]
    fn clone(&self) -> Value {
        crate::heap::clone_value(self)
    }
}

impl Value {
    /// True for values stored inline (no heap object behind them).
    #[inline(always)]
    pub fn is_inline(&self) -> bool {
        matches!(
            self,
            Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::None | Value::Undefined
        )
    }

    /// Drop a value without the out-of-line drop glue where it is not needed: nothing for an
    /// inline value, and for a value with other references left only its count lowered, inline
    /// (`heap/value_count.rs`); the last reference takes the ordinary drop, which frees. The
    /// dispatch loop uses this for the operands it pops on its fast paths.
    #[inline(always)]
    pub fn discard(self) {
        crate::heap::discard_value(self)
    }
}

/// `repr(C, u64)`: the tag is a whole word and every variant's payload is the second word, so
/// a value is two words with no padding and a move is two 8-byte loads and stores. With the
/// default layout (a one-byte tag, `Bool`'s byte at offset 1, the rest at offset 8; and still
/// with `repr(C, u8)`, whose 7 padding bytes LLVM copies too) the dispatch loop moved a
/// popped value piecewise (a byte, two overlapping 4-byte pieces, 8 bytes) into a stack
/// temporary and read it back later as 16 bytes, a load the CPU cannot forward from the
/// smaller stores (a store-forwarding stall). Still 16 bytes, `Option<Value>` too
/// (asserted below).
#[derive(Default)]
#[repr(C, u64)]
pub enum Value {
    /// An empty local slot or cell (never visible to programs; reading one raises `UnboundLocalError`).
    #[default]
    Undefined,
    None,
    Bool(bool),
    Int(i64),
    /// An int outside `i64`. Always normalised: a value that fits in `i64` is an `Int`, never a
    /// `BigInt`, so small ints have one representation (equality, hashing and `is` rely on it).
    BigInt(Ref<BigInt>),
    Float(f64),
    /// A `complex` number: its two parts in a heap object of their own (16 bytes behind the
    /// header), as CPython's `PyComplexObject`. Instances of subclasses are `Instance`s.
    Complex(Ref<crate::builtins::complex::Complex>),
    Str(Ref<PyStr>),
    Bytes(Ref<PyBytes>),
    ByteArray(Ref<ByteArray>),
    Tuple(Ref<Tuple>),
    List(Ref<List>),
    Dict(Ref<Dict>),
    Set(Ref<SetObj>),
    Range(Ref<Range>),
    Slice(Ref<Slice>),
    Function(Ref<Function>),
    Native(Ref<NativeFunction>),
    BoundMethod(Ref<BoundMethod>),
    Class(Ref<Class>),
    Instance(Ref<Instance>),
    Module(Ref<Module>),
    Iter(Ref<IterObj>),
    /// `iter(range(...))`: kept apart from other iterators so a `for` loop over a range costs
    /// two relaxed atomic operations per step and no lock.
    RangeIter(Ref<RangeIter>),
    Generator(Ref<Generator>),
    Cell(Ref<CellObj>),
    Ellipsis,
    NotImplemented,
}

const _: () = assert!(std::mem::size_of::<Value>() == 16);
const _: () = assert!(std::mem::size_of::<Option<Value>>() == 16);

// A value is neither `Send` nor `Sync` (its heap references are not): it stays on threads
// attached to the interpreter, and crosses between them only through `heap::Shared`.

impl Value {
    /// A string value; one of one character below U+0100 is that character's shared object
    /// ([`crate::object::one_char`]), so making it allocates nothing. (CPython shares such
    /// strings where it indexes or iterates text, not everywhere: its `str(5)` and
    /// `'a b'.split()` make new ones; only `is` can tell.)
    pub fn str(s: &str) -> Value {
        match crate::object::latin1_single(s) {
            Some(c) => Value::char(c),
            None => Value::Str(Ref::new(PyStr::new(s))),
        }
    }

    /// A one-character string (shared for code points below 256: [`crate::object::one_char`]).
    #[inline]
    pub fn char(c: char) -> Value {
        Value::Str(crate::object::one_char(c))
    }

    /// [`Value::str`] of an owned string (shared the same way when it is one character).
    pub fn string(s: String) -> Value {
        if let Some(c) = crate::object::latin1_single(&s) {
            return Value::char(c);
        }
        Value::Str(Ref::new(PyStr::from(s)))
    }

    pub fn bytes(data: Vec<u8>) -> Value {
        Value::Bytes(Ref::new(PyBytes::new(data)))
    }

    pub fn bytearray(data: Vec<u8>) -> Value {
        Value::ByteArray(Ref::new(ByteArray::new(data)))
    }

    pub fn tuple(items: Vec<Value>) -> Value {
        if items.is_empty() {
            return Value::empty_tuple();
        }
        Value::Tuple(Ref::new(Tuple::new(items)))
    }

    /// `()`: one object for the whole run, as CPython's empty tuple (`tuple() is ()`).
    pub fn empty_tuple() -> Value {
        static EMPTY: crate::heap::Global<Ref<Tuple>> = crate::heap::Global::new();
        let empty = EMPTY.get_or_init(|| {
            let t = Ref::new(Tuple::new(Vec::new()));
            // Free-threaded: its count is never written, however many threads make `()`.
            Ref::immortalize(&t);
            t
        });
        Value::Tuple(empty.clone())
    }

    /// A tuple of the last `n` values of `stack`, moved out of it (`None` if it holds fewer):
    /// `BUILD_TUPLE`, with no vector in between.
    #[inline(always)]
    pub fn tuple_from_tail(stack: &mut Vec<Value>, n: usize) -> Option<Value> {
        if n > stack.len() {
            return None;
        }
        if n == 0 {
            return Some(Value::empty_tuple());
        }
        let items = crate::heap::ValueArray::from_tail(stack, n);
        Some(Value::Tuple(Ref::new(Tuple { items })))
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Ref::new(List::new(items)))
    }

    pub fn is_none(&self) -> bool {
        matches!(self, Value::None)
    }

    /// Identity, as Python's `is`: same inline value or same object. `x is None` and
    /// `x is not None`, the commonest by far, are answered inline at the call site (the
    /// compare-and-jump instructions: binary_trees' `if left is None`); the rest by
    /// [`Value::is_general`].
    #[inline(always)]
    pub fn is(&self, other: &Value) -> bool {
        match other {
            Value::None => matches!(self, Value::None),
            _ => self.is_general(other),
        }
    }

    /// [`Value::is`] for every pair of kinds.
    fn is_general(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (None, None) | (Ellipsis, Ellipsis) | (NotImplemented, NotImplemented) => true,
            (Undefined, Undefined) => true,
            (Bool(a), Bool(b)) => a == b,
            // CPython caches small ints, and programs compare `x is 0`-style only by mistake;
            // treating equal ints as identical matches what CPython prints for them.
            (Int(a), Int(b)) => a == b,
            (Float(a), Float(b)) => a.to_bits() == b.to_bits(),
            (BigInt(a), BigInt(b)) => Ref::ptr_eq(a, b),
            (Complex(a), Complex(b)) => Ref::ptr_eq(a, b),
            (Str(a), Str(b)) => Ref::ptr_eq(a, b),
            (Bytes(a), Bytes(b)) => Ref::ptr_eq(a, b),
            (ByteArray(a), ByteArray(b)) => Ref::ptr_eq(a, b),
            (Tuple(a), Tuple(b)) => Ref::ptr_eq(a, b),
            (List(a), List(b)) => Ref::ptr_eq(a, b),
            (Dict(a), Dict(b)) => Ref::ptr_eq(a, b),
            (Set(a), Set(b)) => Ref::ptr_eq(a, b),
            (Range(a), Range(b)) => Ref::ptr_eq(a, b),
            (Slice(a), Slice(b)) => Ref::ptr_eq(a, b),
            (Function(a), Function(b)) => Ref::ptr_eq(a, b),
            (Native(a), Native(b)) => Ref::ptr_eq(a, b),
            (BoundMethod(a), BoundMethod(b)) => Ref::ptr_eq(a, b),
            (Class(a), Class(b)) => Ref::ptr_eq(a, b),
            (Instance(a), Instance(b)) => Ref::ptr_eq(a, b),
            (Module(a), Module(b)) => Ref::ptr_eq(a, b),
            (Iter(a), Iter(b)) => Ref::ptr_eq(a, b),
            (RangeIter(a), RangeIter(b)) => Ref::ptr_eq(a, b),
            (Generator(a), Generator(b)) => Ref::ptr_eq(a, b),
            (Cell(a), Cell(b)) => Ref::ptr_eq(a, b),
            _ => false,
        }
    }

    /// A stable address for `id()` and identity hashing.
    pub fn id(&self) -> usize {
        use Value::*;
        match self {
            Undefined => 0,
            None => 1,
            Ellipsis => 2,
            NotImplemented => 3,
            Bool(b) => 4 + *b as usize,
            Int(i) => *i as usize,
            Float(f) => f.to_bits() as usize,
            BigInt(a) => Ref::as_ptr(a) as usize,
            Complex(a) => Ref::as_ptr(a) as usize,
            Str(a) => Ref::as_ptr(a) as usize,
            Bytes(a) => Ref::as_ptr(a) as usize,
            ByteArray(a) => Ref::as_ptr(a) as usize,
            Tuple(a) => Ref::as_ptr(a) as usize,
            List(a) => Ref::as_ptr(a) as usize,
            Dict(a) => Ref::as_ptr(a) as usize,
            Set(a) => Ref::as_ptr(a) as usize,
            Range(a) => Ref::as_ptr(a) as usize,
            Slice(a) => Ref::as_ptr(a) as usize,
            Function(a) => Ref::as_ptr(a) as usize,
            Native(a) => Ref::as_ptr(a) as usize,
            BoundMethod(a) => Ref::as_ptr(a) as usize,
            Class(a) => Ref::as_ptr(a) as usize,
            Instance(a) => Ref::as_ptr(a) as usize,
            Module(a) => Ref::as_ptr(a) as usize,
            Iter(a) => Ref::as_ptr(a) as usize,
            RangeIter(a) => Ref::as_ptr(a) as usize,
            Generator(a) => Ref::as_ptr(a) as usize,
            Cell(a) => Ref::as_ptr(a) as usize,
        }
    }

    /// The text of a `str`, or of an instance of a subclass of `str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s.as_str()),
            Value::Instance(_) => crate::object::builtin_base(self)?.as_str(),
            _ => None,
        }
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<BigInt> for Value {
    /// A computed int, normalised: `Int` when it fits in `i64`, else a heap `BigInt`.
    fn from(i: BigInt) -> Value {
        match i64::try_from(&i) {
            Ok(small) => Value::Int(small),
            Err(_) => Value::BigInt(Ref::new(i)),
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::str(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::string(s)
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Undefined => write!(f, "<undefined>"),
            Value::None => write!(f, "None"),
            Value::Bool(b) => write!(f, "{}", if *b { "True" } else { "False" }),
            Value::Int(i) => write!(f, "{i}"),
            Value::BigInt(i) => write!(f, "{}", **i),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Str(s) => write!(f, "{:?}", s.as_str()),
            other => write!(f, "<{}>", crate::object::type_name(other)),
        }
    }
}
