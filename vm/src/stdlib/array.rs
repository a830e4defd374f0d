//! `array` (stdlib stage): `array.array`, a sequence of numbers of one C type, written in Rust.
//!
//! An array keeps its items as values already checked against the type code (ints in range,
//! floats rounded to a C float for `'f'`), in an object cell as a list does, so `a[i]` and
//! `a[i] = x` cost about what they cost on a list: [`fast_getitem`] and [`fast_setitem`] are
//! called by the subscript paths before any method lookup. The machine representation (little
//! endian, CPython's sizes on 64-bit Linux) only appears in `tobytes`/`frombytes`/`byteswap`.
//! The `'u'` type code keeps one-character strs (4 bytes each, Linux's `wchar_t`).
//! Not provided: `buffer_info` and the buffer protocol (`memoryview`).

use std::sync::Arc;

use num_traits::ToPrimitive;

use crate::builtins::args::{slice_index, to_bigint, ArgsExt, Sig, Style};
use crate::heap::{ObjCell, Ref};
use crate::interp::subscr::seq_index;
use crate::interp::{Args, Interp};
use crate::num::bigint::BigInt;
use crate::object::{builtin_base, type_name, Class, Instance, Module};
use crate::stdlib::sync::property;
use crate::stdlib::{make_module, native_class, this};
use crate::value::Value;
use crate::{err, raise, PyResult};

/// The type codes CPython lists in `array.typecodes`.
const TYPECODES: &str = "bBuhHiIlLqQfd";

/// Rust data of an `array` instance.
pub struct ArrayData {
    /// The type code, one of `bBuhHiIlLqQfd`.
    code: u8,
    items: ObjCell<Vec<Value>>,
    /// How many memoryviews of the array are alive and unreleased: while any is, the array's
    /// length is fixed (CPython's `BufferError`).
    exports: std::sync::atomic::AtomicUsize,
}

impl ArrayData {
    /// The items as values read out of the array: a NaN comes out as a new float each time
    /// (`num::fresh_nan`), as CPython makes a new object per read (`a[0] in [a[0]]` is False).
    fn snapshot(&self) -> Vec<Value> {
        let items = self.items.read();
        if self.is_float() {
            items.iter().map(read_out).collect()
        } else {
            items.clone()
        }
    }

    fn len(&self) -> usize {
        self.items.read().len()
    }

    fn is_float(&self) -> bool {
        matches!(self.code, b'f' | b'd')
    }

    /// CPython's refusal to change the length (`changes`) of an array a memoryview exports.
    fn check_resize(&self, changes: bool) -> PyResult<()> {
        if changes && self.exports.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            raise!(
                BufferError,
                "cannot resize an array that is exporting buffers"
            );
        }
        Ok(())
    }
}

/// The array data of `inst`, if it is an array.
fn array_of(inst: &Instance) -> Option<&ArrayData> {
    inst.native::<ArrayData>()
}

/// For a memoryview of an array (`builtins/memoryview.rs`): the type code, or `None` for
/// another instance.
pub fn buffer_code(inst: &Instance) -> Option<u8> {
    array_of(inst).map(|a| a.code)
}

/// One export more (a memoryview made) or fewer (released).
pub fn set_exported(inst: &Instance, more: bool) {
    if let Some(a) = array_of(inst) {
        if more {
            a.exports.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        } else {
            let _ = a.exports.fetch_update(
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
                |n| n.checked_sub(1),
            );
        }
    }
}

/// The array's items as machine bytes (what a memoryview of it reads).
pub fn buffer_bytes(inst: &Instance) -> Option<PyResult<Vec<u8>>> {
    array_of(inst).map(|a| pack(a.code, &a.snapshot()))
}

/// Change the array's machine bytes in place with `f` (a write through a memoryview; false
/// if it did not fit) and store the items they now hold.
pub fn buffer_store(inst: &Instance, f: impl FnOnce(&mut [u8]) -> bool) -> PyResult<bool> {
    let Some(a) = array_of(inst) else {
        return Ok(false);
    };
    let mut items = a.items.lock();
    let mut raw = pack(a.code, &items)?;
    if !f(&mut raw) {
        return Ok(false);
    }
    let new = unpack(a.code, &raw)?;
    let old = std::mem::replace(&mut *items, new);
    drop(items);
    drop(old);
    Ok(true)
}

/// Bytes per item of a type code.
fn itemsize(code: u8) -> usize {
    match code {
        b'b' | b'B' => 1,
        b'h' | b'H' => 2,
        b'i' | b'I' | b'f' | b'u' => 4,
        _ => 8,
    }
}

/// The range of an int type code, with CPython's messages for a value below and above it.
fn int_range(code: u8) -> (i128, i128, &'static str, &'static str) {
    match code {
        b'b' => (
            -128,
            127,
            "signed char is less than minimum",
            "signed char is greater than maximum",
        ),
        b'B' => (
            0,
            255,
            "unsigned byte integer is less than minimum",
            "unsigned byte integer is greater than maximum",
        ),
        b'h' => (
            -(1 << 15),
            (1 << 15) - 1,
            "signed short integer is less than minimum",
            "signed short integer is greater than maximum",
        ),
        b'H' => (
            0,
            (1 << 16) - 1,
            "unsigned short is less than minimum",
            "unsigned short is greater than maximum",
        ),
        b'i' => (
            -(1 << 31),
            (1 << 31) - 1,
            "signed integer is less than minimum",
            "signed integer is greater than maximum",
        ),
        b'I' => (
            0,
            (1 << 32) - 1,
            "can't convert negative value to unsigned int",
            "unsigned int is greater than maximum",
        ),
        b'l' => (
            -(1 << 63),
            (1 << 63) - 1,
            "Python int too large to convert to C long",
            "Python int too large to convert to C long",
        ),
        b'L' => (
            0,
            (1 << 64) - 1,
            "can't convert negative value to unsigned int",
            "Python int too large to convert to C unsigned long",
        ),
        b'q' => (
            -(1 << 63),
            (1 << 63) - 1,
            "int too big to convert",
            "int too big to convert",
        ),
        _ => (
            0,
            (1 << 64) - 1,
            "can't convert negative int to unsigned",
            "int too big to convert",
        ),
    }
}

/// `v` as an array of type `code` stores it, or CPython's `TypeError`/`OverflowError`.
fn check(code: u8, v: &Value) -> PyResult<Value> {
    if code == b'u' {
        return match v {
            Value::Str(s) if s.char_len() == 1 => Ok(Value::Str(s.clone())),
            _ => match builtin_base(v) {
                Some(Value::Str(s)) if s.char_len() == 1 => Ok(Value::Str(s.clone())),
                _ => raise!(TypeError, "array item must be unicode character"),
            },
        };
    }
    // An instance of a subclass of int or float counts as its value.
    let base = match v {
        Value::Instance(_) => builtin_base(v).unwrap_or(v),
        _ => v,
    };
    if matches!(code, b'f' | b'd') {
        let x = match base {
            Value::Float(f) => *f,
            Value::Int(i) => *i as f64,
            Value::Bool(b) => f64::from(u8::from(*b)),
            Value::BigInt(b) => match b.to_f64() {
                Some(f) if f.is_finite() => f,
                _ => raise!(OverflowError, "int too large to convert to float"),
            },
            _ => raise!(TypeError, "must be real number, not {}", type_name(v)),
        };
        return Ok(Value::Float(if code == b'f' { x as f32 as f64 } else { x }));
    }
    let n: i128 = match base {
        Value::Int(i) => i128::from(*i),
        Value::Bool(b) => i128::from(*b),
        Value::BigInt(b) => match b.to_i128() {
            Some(n) => n,
            None => {
                let (_, _, below, above) = int_range(code);
                let negative = b.to_f64().is_some_and(|f| f < 0.0);
                raise!(OverflowError, "{}", if negative { below } else { above })
            }
        },
        _ => raise!(
            TypeError,
            "'{}' object cannot be interpreted as an integer",
            type_name(v)
        ),
    };
    let (low, high, below, above) = int_range(code);
    if n < low {
        raise!(OverflowError, "{below}");
    }
    if n > high {
        raise!(OverflowError, "{above}");
    }
    Ok(match i64::try_from(n) {
        Ok(small) => Value::Int(small),
        Err(_) => Value::from(BigInt::from(n)),
    })
}

fn check_all(code: u8, values: &[Value]) -> PyResult<Vec<Value>> {
    values.iter().map(|v| check(code, v)).collect()
}

static ARRAY_CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();

pub fn array_class() -> Ref<Class> {
    ARRAY_CLASS
        .get_or_init(|| {
            let cls = native_class(
                "array",
                "array",
                &[
                    ("__init__", array_init),
                    ("__len__", array_len),
                    ("__iter__", array_iter),
                    ("__contains__", array_contains),
                    ("__getitem__", array_getitem),
                    ("__setitem__", array_setitem),
                    ("__delitem__", array_delitem),
                    ("__add__", array_add),
                    ("__iadd__", array_iadd),
                    ("__mul__", array_mul),
                    ("__rmul__", array_mul),
                    ("__imul__", array_imul),
                    ("__eq__", array_eq),
                    ("__ne__", array_ne),
                    ("__lt__", array_lt),
                    ("__le__", array_le),
                    ("__gt__", array_gt),
                    ("__ge__", array_ge),
                    ("__repr__", array_repr),
                    ("__reduce__", array_reduce),
                    ("__reduce_ex__", array_reduce_ex),
                    ("__copy__", array_copy),
                    ("__deepcopy__", array_deepcopy),
                    ("append", array_append),
                    ("extend", array_extend),
                    ("fromlist", array_fromlist),
                    ("insert", array_insert),
                    ("pop", array_pop),
                    ("remove", array_remove),
                    ("index", array_index),
                    ("count", array_count),
                    ("reverse", array_reverse),
                    ("tolist", array_tolist),
                    ("tobytes", array_tobytes),
                    ("frombytes", array_frombytes),
                    ("tofile", array_tofile),
                    ("fromfile", array_fromfile),
                    ("byteswap", array_byteswap),
                    ("tounicode", array_tounicode),
                    ("fromunicode", array_fromunicode),
                ],
            );
            {
                let mut dict = cls.dict.write();
                dict.insert(Arc::from("__hash__"), Value::None);
                dict.insert(Arc::from("typecode"), property(("typecode", typecode)));
                dict.insert(Arc::from("itemsize"), property(("itemsize", item_size)));
                dict.insert(
                    Arc::from("__doc__"),
                    Value::str(
                        "array(typecode [, initializer]) -> array\n\nReturn a new array whose \
                         items are restricted by typecode, and initialized from the optional \
                         initializer value, which must be a list, a bytes-like object, or \
                         iterable over elements of the appropriate type.",
                    ),
                );
            }
            cls
        })
        .clone()
}

/// The `array` module.
pub fn module() -> Ref<Module> {
    let cls = Value::Class(array_class());
    make_module(
        "array",
        vec![
            ("array", cls.clone()),
            ("ArrayType", cls),
            ("typecodes", Value::str(TYPECODES)),
        ],
    )
}

/// A new plain `array` (slices, sums and copies are plain arrays even of a subclass, as in
/// CPython) holding `items`, already checked.
fn new_array(code: u8, items: Vec<Value>) -> Value {
    let inst = Instance::new(array_class());
    inst.set_native(Box::new(ArrayData {
        code,
        items: ObjCell::new(items),
        exports: std::sync::atomic::AtomicUsize::new(0),
    }));
    Value::Instance(Ref::new(inst))
}

fn data<'a>(args: &Args<'a>) -> PyResult<&'a ArrayData> {
    Ok(this::<ArrayData>(args, "array")?.1)
}

/// The array a value is, if it is one (of any subclass).
fn as_array(v: &Value) -> Option<&ArrayData> {
    match v {
        Value::Instance(inst) => inst.native::<ArrayData>(),
        _ => None,
    }
}

/// The array and the one argument of a method taking exactly one.
fn one_arg<'a>(args: &Args<'a>, method: &str) -> PyResult<(&'a ArrayData, &'a Value)> {
    let [x] = Sig::pos(method, Style::One, &["x"], 1)
        .of("array")
        .bind::<1>(args)?;
    let x = x.ok_or_else(|| err!(SystemError, "array.{method}(): argument lost"))?;
    Ok((data(args)?, x))
}

fn no_args<'a>(args: &Args<'a>, method: &str) -> PyResult<&'a ArrayData> {
    Sig::pos(method, Style::NoArgs, &[], 0)
        .of("array")
        .check(args)?;
    data(args)
}

fn bad_type() -> crate::error::PyErr {
    err!(TypeError, "bad argument type for built-in operation")
}

fn array_init(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let Some(Value::Instance(inst)) = args.pos.first() else {
        raise!(TypeError, "array.__init__ needs an array instance");
    };
    args.no_kw("array.array")?;
    let [typecode, init] = Sig::pos("array", Style::Unpack, &["typecode", "initializer"], 1)
        .method()
        .bind::<2>(&args)?;
    let code = match typecode {
        Some(Value::Str(s)) if s.char_len() == 1 => s.as_str().as_bytes().first().copied(),
        Some(other) => raise!(
            TypeError,
            "array() argument 1 must be a unicode character, not {}",
            type_name(other)
        ),
        None => None,
    };
    let code = match code {
        Some(c) if b"bBuhHiIlLqQfd".contains(&c) => c,
        _ => raise!(
            ValueError,
            "bad typecode (must be b, B, u, h, H, i, I, l, L, q, Q, f or d)"
        ),
    };
    let items = match init {
        None | Some(Value::None) => Vec::new(),
        Some(Value::Bytes(b)) => unpack(code, b.as_bytes())?,
        Some(Value::ByteArray(b)) => unpack(code, &b.snapshot())?,
        Some(Value::Str(s)) if code == b'u' => chars(s.as_str()),
        Some(Value::Str(_)) => raise!(
            TypeError,
            "cannot use a str to initialize an array with typecode '{}'",
            code as char
        ),
        Some(v) => match as_array(v) {
            Some(other) if other.code == b'u' && code != b'u' => raise!(
                TypeError,
                "cannot use a unicode array to initialize an array with typecode '{}'",
                code as char
            ),
            Some(other) => {
                if matches!(code, b'f' | b'd') != other.is_float() {
                    return Err(bad_type());
                }
                check_all(code, &other.snapshot())?
            }
            None => check_all(code, &interp.collect_iter(v)?)?,
        },
    };
    if !inst.set_native(Box::new(ArrayData {
        code,
        items: ObjCell::new(items),
        exports: std::sync::atomic::AtomicUsize::new(0),
    })) {
        raise!(RuntimeError, "array.__init__() called twice");
    }
    Ok(Value::None)
}

fn typecode(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let a = data(&args)?;
    Ok(Value::string((a.code as char).to_string()))
}

fn item_size(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::Int(itemsize(data(&args)?.code) as i64))
}

fn array_len(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::Int(no_args(&args, "__len__")?.len() as i64))
}

fn array_iter(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let items = no_args(&args, "__iter__")?.snapshot();
    interp.get_iter(&Value::list(items))
}

fn array_contains(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (a, x) = one_arg(&args, "__contains__")?;
    for v in a.snapshot() {
        if interp.eq(&v, x)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

/// An int index of an array, CPython's error for any other key.
fn int_key(key: &Value) -> PyResult<i64> {
    match key {
        Value::Int(i) => Ok(*i),
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::BigInt(_) => Err(err!(
            IndexError,
            "cannot fit 'int' into an index-sized integer"
        )),
        _ => match builtin_base(key) {
            Some(Value::Int(i)) => Ok(*i),
            _ => Err(err!(TypeError, "array indices must be integers")),
        },
    }
}

/// `a[i]` for an exact `array` and an int `i`, without a method call; `None` when the
/// general path must answer (a subclass, a slice, another key).
pub fn fast_getitem(obj: &Value, key: &Value) -> Option<PyResult<Value>> {
    let Value::Instance(inst) = obj else {
        return None;
    };
    let Value::Int(i) = key else { return None };
    if !ARRAY_CLASS
        .get()
        .is_some_and(|c| Ref::ptr_eq(c, &inst.class.get()))
    {
        return None;
    }
    let a = inst.native::<ArrayData>()?;
    Some(item_at(a, *i))
}

/// `a[i] = v` for an exact `array` and an int `i`; `Err(v)` hands the value back when the
/// general path must do it.
pub fn fast_setitem(obj: &Value, key: &Value, v: Value) -> Result<PyResult<()>, Value> {
    let Value::Instance(inst) = obj else {
        return Err(v);
    };
    let Value::Int(i) = key else { return Err(v) };
    if !ARRAY_CLASS
        .get()
        .is_some_and(|c| Ref::ptr_eq(c, &inst.class.get()))
    {
        return Err(v);
    }
    let Some(a) = inst.native::<ArrayData>() else {
        return Err(v);
    };
    Ok(set_index(a, *i, &v))
}

fn set_index(a: &ArrayData, i: i64, v: &Value) -> PyResult<()> {
    let v = check(a.code, v)?;
    let old = {
        let mut items = a.items.lock();
        let len = items.len();
        match seq_index(i, len).and_then(|j| items.get_mut(j)) {
            Some(slot) => std::mem::replace(slot, v),
            None => raise!(IndexError, "array assignment index out of range"),
        }
    };
    drop(old);
    Ok(())
}

fn array_getitem(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (a, key) = one_arg(&args, "__getitem__")?;
    if let Value::Slice(_) = key {
        return match interp.getitem(&Value::list(a.snapshot()), key)? {
            Value::List(l) => Ok(new_array(a.code, l.snapshot())),
            _ => Err(err!(SystemError, "array slice is not a list")),
        };
    }
    item_at(a, int_key(key)?)
}

/// `a[i]` for an int index, negative ones counting from the end.
fn item_at(a: &ArrayData, i: i64) -> PyResult<Value> {
    let items = a.items.read();
    seq_index(i, items.len())
        .and_then(|j| items.get(j).map(read_out))
        .ok_or_else(|| err!(IndexError, "array index out of range"))
}

/// One stored item as a read gives it: a float NaN gets its own identity, as a new CPython
/// float object would have (other values are returned as stored).
fn read_out(v: &Value) -> Value {
    match v {
        Value::Float(f) => Value::Float(crate::num::new_float(*f)),
        _ => v.clone(),
    }
}

/// Replace the items by `f` applied to a list of them (slice assignment and deletion reuse the
/// list's rules): the list is built, changed with no cell held, then stored back.
fn via_list(
    interp: &mut Interp,
    a: &ArrayData,
    f: impl FnOnce(&mut Interp, &Value) -> PyResult<()>,
) -> PyResult<()> {
    let list = Value::list(a.snapshot());
    f(interp, &list)?;
    let Value::List(l) = &list else {
        return Ok(());
    };
    let new = l.snapshot();
    a.check_resize(new.len() != a.len())?;
    let old = std::mem::replace(&mut *a.items.lock(), new);
    drop(old);
    Ok(())
}

fn array_setitem(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [key, v] = Sig::pos("__setitem__", Style::Unpack, &["key", "value"], 2)
        .of("array")
        .bind::<2>(&args)?;
    let a = data(&args)?;
    let (Some(key), Some(v)) = (key, v) else {
        raise!(SystemError, "array.__setitem__(): argument lost");
    };
    if let Value::Slice(_) = key {
        let Some(other) = as_array(v) else {
            raise!(
                TypeError,
                "can only assign array (not \"{}\") to array slice",
                type_name(v)
            );
        };
        if other.code != a.code {
            return Err(bad_type());
        }
        let new = other.snapshot();
        if let Value::Slice(sl) = key {
            let idx = crate::interp::subscr::adjust_slice(sl, a.len())?;
            let size = idx.indices().count();
            // CPython refuses a slice assignment of an exported array that deletes (an empty
            // array) or changes the length, before anything else about it.
            a.check_resize(new.is_empty() || size != new.len())?;
            if !matches!(sl.step, Value::None | Value::Int(1)) && size != new.len() {
                raise!(
                    ValueError,
                    "attempt to assign array of size {} to extended slice of size {size}",
                    new.len()
                );
            }
        }
        let new = Value::list(new);
        via_list(interp, a, |interp, list| {
            interp.setitem(list, key.clone(), new)
        })?;
        return Ok(Value::None);
    }
    set_index(a, int_key(key)?, v)?;
    Ok(Value::None)
}

fn array_delitem(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (a, key) = one_arg(&args, "__delitem__")?;
    if let Value::Slice(_) = key {
        // As CPython: deleting a slice of an exported array is refused, even an empty one.
        a.check_resize(true)?;
        via_list(interp, a, |interp, list| interp.delitem(list, key))?;
        return Ok(Value::None);
    }
    let i = int_key(key)?;
    // The index is checked before the exports, as CPython checks it.
    let Some(j) = seq_index(i, a.len()) else {
        raise!(IndexError, "array assignment index out of range");
    };
    a.check_resize(true)?;
    let old = {
        let mut items = a.items.lock();
        (j < items.len()).then(|| items.remove(j))
    };
    drop(old);
    Ok(Value::None)
}

fn array_add(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (a, other) = one_arg(&args, "__add__")?;
    let Some(b) = as_array(other) else {
        raise!(
            TypeError,
            "can only append array (not \"{}\") to array",
            type_name(other)
        );
    };
    if a.code != b.code {
        return Err(bad_type());
    }
    let mut items = a.snapshot();
    items.extend(b.snapshot());
    Ok(new_array(a.code, items))
}

fn array_iadd(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (a, other) = one_arg(&args, "__iadd__")?;
    let Some(b) = as_array(other) else {
        raise!(
            TypeError,
            "can only extend array with array (not \"{}\")",
            type_name(other)
        );
    };
    if a.code != b.code {
        return Err(bad_type());
    }
    let more = b.snapshot();
    a.check_resize(!more.is_empty())?;
    a.items.lock().extend(more);
    Ok(args.pos[0].clone())
}

/// The items repeated `n` times, with the list's rules and errors for `n`.
fn repeated(interp: &mut Interp, a: &ArrayData, n: &Value) -> PyResult<Option<Vec<Value>>> {
    let list = Value::list(a.snapshot());
    // A count that is no int (nor has `__index__`), asked as a method (`a.__mul__('x')`):
    // CPython's `PyNumber_AsSsize_t` message; an operator (`a * 'x'`) rewords it as the
    // sequence's (`Interp::call_operand`).
    if !matches!(
        n,
        Value::Int(_) | Value::Bool(_) | Value::BigInt(_) | Value::Instance(_)
    ) {
        raise!(
            TypeError,
            "'{}' object cannot be interpreted as an integer",
            type_name(n)
        );
    }
    match interp.binary(minivm_compiler::bytecode::BinOp::Mul, &list, n) {
        Ok(Value::List(l)) => Ok(Some(l.snapshot())),
        Ok(_) => Ok(None),
        Err(e) => Err(e),
    }
}

fn array_mul(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (a, n) = one_arg(&args, "__mul__")?;
    match repeated(interp, a, n)? {
        Some(items) => Ok(new_array(a.code, items)),
        None => Ok(Value::NotImplemented),
    }
}

fn array_imul(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (a, n) = one_arg(&args, "__imul__")?;
    if let Some(items) = repeated(interp, a, n)? {
        a.check_resize(items.len() != a.len())?;
        let old = std::mem::replace(&mut *a.items.lock(), items);
        drop(old);
    }
    Ok(args.pos[0].clone())
}

/// A rich comparison: the items compared as lists, `NotImplemented` against a non-array.
fn compare(
    interp: &mut Interp,
    args: &Args<'_>,
    name: &str,
    op: minivm_compiler::bytecode::CmpOp,
) -> PyResult<Value> {
    let (a, other) = one_arg(args, name)?;
    let Some(b) = as_array(other) else {
        return Ok(Value::NotImplemented);
    };
    let (x, y) = (Value::list(a.snapshot()), Value::list(b.snapshot()));
    interp.compare(op, &x, &y)
}

fn array_eq(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    compare(
        interp,
        &args,
        "__eq__",
        minivm_compiler::bytecode::CmpOp::Eq,
    )
}

fn array_ne(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    compare(
        interp,
        &args,
        "__ne__",
        minivm_compiler::bytecode::CmpOp::NotEq,
    )
}

fn array_lt(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    compare(
        interp,
        &args,
        "__lt__",
        minivm_compiler::bytecode::CmpOp::Lt,
    )
}

fn array_le(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    compare(
        interp,
        &args,
        "__le__",
        minivm_compiler::bytecode::CmpOp::LtE,
    )
}

fn array_gt(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    compare(
        interp,
        &args,
        "__gt__",
        minivm_compiler::bytecode::CmpOp::Gt,
    )
}

fn array_ge(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    compare(
        interp,
        &args,
        "__ge__",
        minivm_compiler::bytecode::CmpOp::GtE,
    )
}

fn array_repr(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, a) = this::<ArrayData>(&args, "array")?;
    let name = &inst.class.name();
    let code = a.code as char;
    let items = a.snapshot();
    if items.is_empty() {
        return Ok(Value::string(format!("{name}('{code}')")));
    }
    // A unicode array shows its text as one str.
    let list = if a.code == b'u' {
        interp.repr(&Value::string(text(&items)))?
    } else {
        interp.repr(&Value::list(items))?
    };
    Ok(Value::string(format!("{name}('{code}', {list})")))
}

/// `pickle`'s recipe: `(type(a), (typecode, items as a list), a.__dict__ or None)`, the form
/// CPython uses for protocols below 3 (its newer form names a private reconstructor).
fn array_reduce(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, a) = this::<ArrayData>(&args, "array")?;
    reduce(inst, a)
}

fn array_reduce_ex(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, a) = this::<ArrayData>(&args, "array")?;
    reduce(inst, a)
}

fn reduce(inst: &Ref<Instance>, a: &ArrayData) -> PyResult<Value> {
    let code = Value::string((a.code as char).to_string());
    let ctor_args = Value::tuple(vec![code, Value::list(a.snapshot())]);
    let dict: Vec<(std::sync::Arc<str>, Value)> = inst
        .dict
        .read()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let state = if dict.is_empty() {
        Value::None
    } else {
        let d = crate::object::Dict::new();
        for (k, v) in dict {
            d.set_str(&k, v);
        }
        Value::Dict(Ref::new(d))
    };
    Ok(Value::tuple(vec![
        Value::Class(inst.class.get().clone()),
        ctor_args,
        state,
    ]))
}

fn array_copy(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let a = no_args(&args, "__copy__")?;
    Ok(new_array(a.code, a.snapshot()))
}

fn array_deepcopy(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (a, _memo) = one_arg(&args, "__deepcopy__")?;
    Ok(new_array(a.code, a.snapshot()))
}

fn array_append(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (a, x) = one_arg(&args, "append")?;
    let v = check(a.code, x)?;
    a.check_resize(true)?;
    a.items.lock().push(v);
    Ok(Value::None)
}

/// Append every item of `iterable` (an array of the same type code, or any iterable).
fn extend_from(interp: &mut Interp, a: &ArrayData, iterable: &Value) -> PyResult<()> {
    let more = match as_array(iterable) {
        Some(b) => {
            if b.code != a.code {
                return Err(bad_type());
            }
            b.snapshot()
        }
        None => check_all(a.code, &interp.collect_iter(iterable)?)?,
    };
    a.check_resize(!more.is_empty())?;
    a.items.lock().extend(more);
    Ok(())
}

fn array_extend(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (a, x) = one_arg(&args, "extend")?;
    extend_from(interp, a, x)?;
    Ok(Value::None)
}

fn array_fromlist(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (a, x) = one_arg(&args, "fromlist")?;
    if !matches!(x, Value::List(_)) {
        raise!(TypeError, "arg must be list");
    }
    extend_from(interp, a, x)?;
    Ok(Value::None)
}

fn array_insert(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [i, x] = Sig::pos("insert", Style::Unpack, &["i", "v"], 2)
        .of("array")
        .bind::<2>(&args)?;
    let a = data(&args)?;
    let (Some(i), Some(x)) = (i, x) else {
        raise!(SystemError, "array.insert(): argument lost");
    };
    let i = slice_index(Some(i))?.unwrap_or(0);
    let v = check(a.code, x)?;
    a.check_resize(true)?;
    let mut items = a.items.lock();
    let len = items.len() as i64;
    // As list.insert: negative counts from the end, and the position is clamped to the ends.
    let pos = if i < 0 { (i + len).max(0) } else { i.min(len) };
    items.insert(pos as usize, v);
    Ok(Value::None)
}

fn array_pop(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [i] = Sig::pos("pop", Style::Unpack, &["i"], 0)
        .of("array")
        .bind::<1>(&args)?;
    let a = data(&args)?;
    let i = match i {
        Some(v) => int_key(v).map_err(|_| {
            err!(
                TypeError,
                "'{}' object cannot be interpreted as an integer",
                type_name(v)
            )
        })?,
        None => -1,
    };
    // CPython's order: an empty array, then the index, then the exports.
    let mut items = a.items.lock();
    if items.is_empty() {
        raise!(IndexError, "pop from empty array");
    }
    let Some(j) = seq_index(i, items.len()) else {
        raise!(IndexError, "pop index out of range");
    };
    a.check_resize(true)?;
    Ok(items.remove(j))
}

/// Position of the first item equal to `x` among `a[start:stop]` (clamped as slice bounds).
fn find(
    interp: &mut Interp,
    a: &ArrayData,
    x: &Value,
    start: i64,
    stop: i64,
) -> PyResult<Option<usize>> {
    interp.index_of_equal(&a.snapshot(), x, start, stop)
}

fn array_remove(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (a, x) = one_arg(&args, "remove")?;
    let Some(i) = find(interp, a, x, 0, i64::MAX)? else {
        raise!(ValueError, "array.remove(x): x not in array");
    };
    a.check_resize(true)?;
    let old = {
        let mut items = a.items.lock();
        (i < items.len()).then(|| items.remove(i))
    };
    drop(old);
    Ok(Value::None)
}

fn array_index(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [x, start, stop] = Sig::pos("index", Style::Positional, &["v", "start", "stop"], 1)
        .of("array")
        .bind::<3>(&args)?;
    let a = data(&args)?;
    let x = x.ok_or_else(|| err!(SystemError, "array.index(): argument lost"))?;
    let start = slice_index(start)?.unwrap_or(0);
    let stop = slice_index(stop)?.unwrap_or(i64::MAX);
    match find(interp, a, x, start, stop)? {
        Some(i) => Ok(Value::Int(i as i64)),
        None => raise!(ValueError, "array.index(x): x not in array"),
    }
}

fn array_count(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (a, x) = one_arg(&args, "count")?;
    let mut n = 0;
    for v in a.snapshot() {
        if interp.eq(&v, x)? {
            n += 1;
        }
    }
    Ok(Value::Int(n))
}

fn array_reverse(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args(&args, "reverse")?.items.lock().reverse();
    Ok(Value::None)
}

fn array_tolist(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::list(no_args(&args, "tolist")?.snapshot()))
}

fn array_tobytes(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let a = no_args(&args, "tobytes")?;
    Ok(Value::bytes(pack(a.code, &a.snapshot())?))
}

fn array_frombytes(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (a, x) = one_arg(&args, "frombytes")?;
    let more = match crate::object::bytes_like(x) {
        Some(b) => unpack(a.code, &b)?,
        None => raise!(
            TypeError,
            "a bytes-like object is required, not '{}'",
            type_name(x)
        ),
    };
    a.check_resize(!more.is_empty())?;
    a.items.lock().extend(more);
    Ok(Value::None)
}

/// `tofile(f)`: the items' machine bytes, given to `f.write` (any object with one).
fn array_tofile(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (a, f) = one_arg(&args, "tofile")?;
    let data = Value::bytes(pack(a.code, &a.snapshot())?);
    let write = interp.getattr(f, "write")?;
    interp.call(&write, &[data])?;
    Ok(Value::None)
}

/// `fromfile(f, n)`: `n` items read with `f.read`; fewer bytes than that append the whole
/// items read, then raise `EOFError`, as CPython.
fn array_fromfile(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [f, n] = Sig::pos("fromfile", Style::Unpack, &["f", "n"], 2)
        .of("array")
        .bind::<2>(&args)?;
    let a = data(&args)?;
    let (Some(f), Some(n)) = (f, n) else {
        raise!(SystemError, "array.fromfile(): argument lost");
    };
    let n = match n {
        Value::Int(n) => *n,
        Value::Bool(b) => i64::from(*b),
        other => raise!(
            TypeError,
            "'{}' object cannot be interpreted as an integer",
            type_name(other)
        ),
    };
    if n < 0 {
        raise!(ValueError, "negative count");
    }
    let size = itemsize(a.code) as i64;
    let wanted = n.checked_mul(size).ok_or_else(|| err!(MemoryError, ""))?;
    let read = interp.getattr(f, "read")?;
    let got = interp.call(&read, &[Value::Int(wanted)])?;
    let raw = match &got {
        Value::Bytes(b) => b.as_bytes().to_vec(),
        _ => raise!(TypeError, "read() didn't return bytes"),
    };
    let whole = raw.len() - raw.len() % size as usize;
    let more = unpack(a.code, &raw[..whole])?;
    a.check_resize(!more.is_empty())?;
    a.items.lock().extend(more);
    if (raw.len() as i64) < wanted {
        raise!(EOFError, "read() didn't return enough bytes");
    }
    Ok(Value::None)
}

fn array_byteswap(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let a = no_args(&args, "byteswap")?;
    let size = itemsize(a.code);
    let mut raw = pack(a.code, &a.snapshot())?;
    for chunk in raw.chunks_mut(size) {
        chunk.reverse();
    }
    let items = unpack(a.code, &raw)?;
    let old = std::mem::replace(&mut *a.items.lock(), items);
    drop(old);
    Ok(Value::None)
}

/// The one-character strs of a unicode array holding `s`.
fn chars(s: &str) -> Vec<Value> {
    s.chars().map(Value::char).collect()
}

/// The text the one-character strs of a unicode array spell.
fn text(items: &[Value]) -> String {
    items
        .iter()
        .filter_map(|v| match v {
            Value::Str(s) => Some(s.as_str()),
            _ => None,
        })
        .collect()
}

fn array_tounicode(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let a = no_args(&args, "tounicode")?;
    if a.code != b'u' {
        raise!(
            ValueError,
            "tounicode() may only be called on unicode type arrays"
        );
    }
    Ok(Value::string(text(&a.snapshot())))
}

fn array_fromunicode(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (a, x) = one_arg(&args, "fromunicode")?;
    let Value::Str(s) = x else {
        raise!(
            TypeError,
            "fromunicode() argument must be str, not {}",
            type_name(x)
        );
    };
    if a.code != b'u' {
        raise!(
            ValueError,
            "fromunicode() may only be called on unicode type arrays"
        );
    }
    let more = chars(s.as_str());
    a.check_resize(!more.is_empty())?;
    a.items.lock().extend(more);
    Ok(Value::None)
}

/// The items as the machine stores them: little-endian, `itemsize` bytes each.
fn pack(code: u8, items: &[Value]) -> PyResult<Vec<u8>> {
    let size = itemsize(code);
    let mut out = Vec::with_capacity(items.len() * size);
    for v in items {
        match v {
            // A NaN with CPython's bits, not minivm's identity counter (`num::fresh_nan`).
            Value::Float(f) if code == b'f' => {
                out.extend((crate::num::plain_nan(*f) as f32).to_le_bytes())
            }
            Value::Float(f) => out.extend(crate::num::plain_nan(*f).to_le_bytes()),
            Value::Str(s) => {
                let c = s.as_str().chars().next().map_or(0, u32::from);
                out.extend(c.to_le_bytes());
            }
            _ => {
                let n = to_bigint(v)?
                    .to_i128()
                    .ok_or_else(|| err!(OverflowError, "int too big to convert"))?;
                out.extend(n.to_le_bytes().iter().take(size));
            }
        }
    }
    Ok(out)
}

/// The items that machine bytes hold.
fn unpack(code: u8, data: &[u8]) -> PyResult<Vec<Value>> {
    let size = itemsize(code);
    if !data.len().is_multiple_of(size) {
        raise!(ValueError, "bytes length not a multiple of item size");
    }
    let unsigned = code.is_ascii_uppercase();
    if code == b'u' {
        return data
            .chunks(size)
            .map(|c| {
                let n = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                match char::from_u32(n) {
                    Some(ch) => Ok(Value::char(ch)),
                    None => raise!(
                        ValueError,
                        "character U+{n:x} is not in range [U+0000; U+10ffff]"
                    ),
                }
            })
            .collect();
    }
    Ok(data
        .chunks(size)
        .map(|c| {
            let mut buf = [0u8; 16];
            buf[..size].copy_from_slice(c);
            match code {
                b'f' => Value::Float(f64::from(f32::from_le_bytes([
                    buf[0], buf[1], buf[2], buf[3],
                ]))),
                b'd' => Value::Float(f64::from_le_bytes([
                    buf[0], buf[1], buf[2], buf[3], buf[4], buf[5], buf[6], buf[7],
                ])),
                _ if unsigned => Value::from(BigInt::from(u128::from_le_bytes(buf))),
                _ => {
                    // Sign-extend from the item's width.
                    let shift = 128 - 8 * size as u32;
                    let n = (u128::from_le_bytes(buf) << shift) as i128 >> shift;
                    Value::from(BigInt::from(n))
                }
            }
        })
        .collect())
}
