//! Stage 4 (VM), built-ins.
//! Methods of `tuple`, `int`, `float`, `range`, `BaseException` and generators.

use crate::builtins::args::{
    descriptor_error, recv, rest, slice_index, slot_receiver_error, ArgsExt,
};
use crate::builtins::text::adjust_indices;
use crate::builtins::Methods;
use crate::error::{PyErr, PyResult};
use crate::heap::{ObjCell, Ref};
use crate::interp::ops::{as_number, Num};
use crate::interp::{Args, Interp};
use crate::object::{type_name, ExcData, ExcKind, Instance, Payload, Range, Tuple};
use crate::raise;
use crate::value::Value;

pub const TUPLE_METHODS: Methods = &[("index", tuple_index), ("count", tuple_count)];
pub const INT_METHODS: Methods = &[
    ("bit_length", bit_length),
    ("bit_count", bit_count),
    ("as_integer_ratio", int_as_integer_ratio),
    ("conjugate", int_conjugate),
    ("to_bytes", super::num_convert::to_bytes),
    ("from_bytes", super::num_convert::from_bytes),
];
pub const FLOAT_METHODS: Methods = &[
    ("is_integer", is_integer),
    ("as_integer_ratio", as_integer_ratio),
    ("conjugate", float_conjugate),
    ("hex", super::num_convert::float_hex),
    ("fromhex", super::num_convert::float_fromhex),
    ("__getformat__", float_getformat),
];

/// `float.__getformat__(typestr)`: how the machine stores a C `double` or `float` (IEEE,
/// little-endian here, as on every machine minivm runs on).
fn float_getformat(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let arg = match args.pos {
        [v] | [_, v] => v,
        _ => raise!(
            TypeError,
            "__getformat__() takes exactly one argument ({} given)",
            args.pos.len()
        ),
    };
    let Value::Str(s) = arg else {
        // (CPython's argument errors say "None" for None.)
        let what = match arg {
            Value::None => "None".to_string(),
            other => type_name(other),
        };
        raise!(
            TypeError,
            "__getformat__() argument must be str, not {what}"
        )
    };
    match s.as_str() {
        "double" | "float" => Ok(Value::str("IEEE, little-endian")),
        _ => raise!(
            ValueError,
            "__getformat__() argument 1 must be 'double' or 'float'"
        ),
    }
}
pub const RANGE_METHODS: Methods = &[("index", range_index), ("count", range_count)];
pub const SLICE_METHODS: Methods = &[("indices", slice_indices)];
pub const EXC_METHODS: Methods = &[
    ("__init__", exc_init),
    ("with_traceback", with_traceback),
    ("add_note", add_note),
    ("__reduce__", exc_reduce),
    ("__setstate__", exc_setstate),
];
pub const PROPERTY_METHODS: Methods = &[
    ("__init__", prop_init),
    ("getter", prop_getter),
    ("setter", prop_setter),
    ("deleter", prop_deleter),
    ("__get__", prop_get),
    ("__set__", prop_set),
    ("__delete__", prop_delete),
    ("__set_name__", prop_set_name),
];
/// `staticmethod.__get__` and `classmethod.__get__`: what looking the wrapped function up
/// through a class or instance gives (the descriptor protocol called by hand).
pub const STATICMETHOD_METHODS: Methods = &[
    ("__get__", staticmethod_get),
    ("__call__", staticmethod_call),
];
pub const CLASSMETHOD_METHODS: Methods = &[("__get__", classmethod_get)];

/// The function a `staticmethod`/`classmethod` wraps, and `__get__`'s `(obj, type)` arguments
/// checked as CPython checks them.
fn wrapped_get<'a>(args: &Args<'a>, ty: &str) -> PyResult<(Value, &'a Value, Option<&'a Value>)> {
    let w = recv(args, ty, "__get__")?;
    let f = match w {
        Value::Instance(inst) => match &inst.payload {
            Payload::Wrapped(f) => f.clone(),
            _ => return Err(descriptor_error(ty, "__get__", w)),
        },
        _ => return Err(descriptor_error(ty, "__get__", w)),
    };
    let (obj, typ) = get_args(args)?;
    Ok((f, obj, typ))
}

/// The `(obj, type=None)` arguments of a built-in descriptor's `__get__` (after the receiver),
/// checked as CPython checks them; a None `type` is not given.
fn get_args<'a>(args: &Args<'a>) -> PyResult<(&'a Value, Option<&'a Value>)> {
    let a = rest(args);
    a.no_kw("__get__")?;
    match a.pos {
        [] => raise!(TypeError, " expected at least 1 argument, got 0"),
        [_, _, _, ..] => raise!(
            TypeError,
            " expected at most 2 arguments, got {}",
            a.pos.len()
        ),
        [Value::None] | [Value::None, Value::None] => {
            raise!(TypeError, "__get__(None, None) is invalid")
        }
        [obj] => Ok((obj, None)),
        [obj, typ, ..] => Ok((obj, (!typ.is_none()).then_some(typ))),
    }
}

/// `sm.__get__(obj, type=None)`: the function itself.
fn staticmethod_get(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(wrapped_get(&args, "staticmethod")?.0)
}

/// `sm(*args, **kw)`: the wrapped function called (a staticmethod is callable since 3.10, so a
/// class body may call one it has just defined, or keep it in a table).
fn staticmethod_call(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let sm = recv(&args, "staticmethod", "__call__")?;
    let f = match sm {
        Value::Instance(inst) => match &inst.payload {
            Payload::Wrapped(f) => f.clone(),
            _ => return Err(descriptor_error("staticmethod", "__call__", sm)),
        },
        _ => return Err(descriptor_error("staticmethod", "__call__", sm)),
    };
    let a = rest(&args);
    interp.call_kw(&f, a.pos, a.kw)
}

/// `cm.__get__(obj, type=None)`: the function bound to `type` (`type(obj)` when not given).
fn classmethod_get(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (f, obj, typ) = wrapped_get(&args, "classmethod")?;
    let owner = match typ {
        Some(t) => t.clone(),
        None => Value::Class(crate::object::class_of(obj)),
    };
    Ok(interp.bind(owner, f))
}

pub const GEN_METHODS: Methods = &[
    ("send", gen_send),
    ("close", gen_close),
    ("throw", gen_throw),
];

fn recv_tuple<'a>(args: &Args<'a>, meth: &str) -> PyResult<&'a Ref<Tuple>> {
    match recv(args, "tuple", meth)? {
        Value::Tuple(t) => Ok(t),
        other => Err(descriptor_error("tuple", meth, other)),
    }
}

fn tuple_index(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let t = recv_tuple(&args, "index")?;
    let a = rest(&args);
    a.range("tuple.index", 1, 3)?;
    let x = a.get(0).cloned().unwrap_or(Value::None);
    let (lo, hi) = adjust_indices(
        slice_index(a.get(1))?,
        slice_index(a.get(2))?,
        t.items.len(),
    );
    for (i, item) in t.items.iter().enumerate().take(hi).skip(lo) {
        if interp.eq(item, &x)? {
            return Ok(Value::Int(i as i64));
        }
    }
    raise!(ValueError, "tuple.index(x): x not in tuple")
}

fn tuple_count(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let t = recv_tuple(&args, "count")?;
    let x = rest(&args).one("tuple.count")?;
    let mut n = 0;
    for item in t.items.iter() {
        if interp.eq(item, x)? {
            n += 1;
        }
    }
    Ok(Value::Int(n))
}

fn recv_int(args: &Args<'_>, meth: &str) -> PyResult<i64> {
    match recv(args, "int", meth)? {
        Value::Int(i) => Ok(*i),
        Value::Bool(b) => Ok(*b as i64),
        other => Err(descriptor_error("int", meth, other)),
    }
}

/// The receiver of an int method as an exact int (a bool's value is 0 or 1).
fn recv_exact_int(args: &Args<'_>, meth: &str) -> PyResult<Value> {
    match recv(args, "int", meth)? {
        Value::BigInt(b) => Ok(Value::BigInt(b.clone())),
        _ => recv_int(args, meth).map(Value::Int),
    }
}

/// `int.as_integer_ratio()`: the int itself over 1.
fn int_as_integer_ratio(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let i = recv_exact_int(&args, "as_integer_ratio")?;
    rest(&args).none("int.as_integer_ratio")?;
    Ok(Value::tuple(vec![i, Value::Int(1)]))
}

/// `int.conjugate()`: an int is its own conjugate.
fn int_conjugate(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let i = recv_exact_int(&args, "conjugate")?;
    rest(&args).none("int.conjugate")?;
    Ok(i)
}

/// `float.conjugate()`: a float is its own conjugate.
fn float_conjugate(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let f = recv_float(&args, "conjugate")?;
    rest(&args).none("float.conjugate")?;
    Ok(Value::Float(f))
}

fn bit_length(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    if let Some(Value::BigInt(b)) = args.pos.first() {
        rest(&args).none("int.bit_length")?;
        return Ok(Value::Int(crate::num::bigint::bit_length(b) as i64));
    }
    let i = recv_int(&args, "bit_length")?;
    rest(&args).none("int.bit_length")?;
    Ok(Value::Int(64 - i.unsigned_abs().leading_zeros() as i64))
}

fn bit_count(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    if let Some(Value::BigInt(b)) = args.pos.first() {
        rest(&args).none("int.bit_count")?;
        return Ok(Value::Int(crate::num::bigint::bit_count(b) as i64));
    }
    let i = recv_int(&args, "bit_count")?;
    rest(&args).none("int.bit_count")?;
    Ok(Value::Int(i.unsigned_abs().count_ones() as i64))
}

fn recv_float(args: &Args<'_>, meth: &str) -> PyResult<f64> {
    match recv(args, "float", meth)? {
        Value::Float(f) => Ok(*f),
        other => Err(descriptor_error("float", meth, other)),
    }
}

fn is_integer(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let f = recv_float(&args, "is_integer")?;
    rest(&args).none("float.is_integer")?;
    Ok(Value::Bool(f.is_finite() && f.fract() == 0.0))
}

/// `x.as_integer_ratio()`: exact, in lowest terms (parts past `i64` are big ints).
pub fn integer_ratio(x: f64) -> PyResult<(Value, Value)> {
    use crate::num::BigInt;
    if x.is_nan() {
        raise!(ValueError, "cannot convert NaN to integer ratio");
    }
    if x.is_infinite() {
        raise!(OverflowError, "cannot convert Infinity to integer ratio");
    }
    if x == 0.0 {
        return Ok((Value::Int(0), Value::Int(1)));
    }
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let mut mant = bits & ((1u64 << 52) - 1);
    let mut e = if exp == 0 { -1074 } else { exp - 1075 };
    if exp != 0 {
        mant |= 1 << 52;
    }
    // Lowest terms: the denominator is a power of two, so strip the mantissa's factors of two.
    let tz = mant.trailing_zeros() as i32;
    mant >>= tz;
    e += tz;
    let n = BigInt::from(mant);
    let n = if x < 0.0 { -n } else { n };
    let one = BigInt::from(1);
    Ok(if e >= 0 {
        (Value::from(n << e as usize), Value::Int(1))
    } else {
        (Value::from(n), Value::from(one << (-e) as usize))
    })
}

fn as_integer_ratio(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let f = recv_float(&args, "as_integer_ratio")?;
    rest(&args).none("float.as_integer_ratio")?;
    let (n, d) = integer_ratio(f)?;
    Ok(Value::tuple(vec![n, d]))
}

fn recv_range<'a>(args: &Args<'a>, meth: &str) -> PyResult<&'a Ref<Range>> {
    match recv(args, "range", meth)? {
        Value::Range(r) => Ok(r),
        other => Err(descriptor_error("range", meth, other)),
    }
}

/// The position of `x` in the range, if it is an int (or bool) member.
fn range_pos(r: &Range, x: &Value) -> Option<i128> {
    match (x, as_number(x)) {
        (Value::Int(_) | Value::Bool(_), Some(Num::Int(i))) => r.position(i),
        _ => None,
    }
}

/// Whether `x` is an int, compared by value (CPython's fast path): a big one is never a member,
/// as every member fits in i64.
fn is_int(x: &Value) -> bool {
    matches!(x, Value::Int(_) | Value::Bool(_) | Value::BigInt(_))
}

/// An index or count as a Python int (big past i64::MAX: a range may be longer than that).
fn index_value(k: i128) -> PyResult<Value> {
    Ok(crate::arith::int_value(k))
}

/// The position of `x` in a range beyond 64 bits, if it is an int (or bool) member.
fn big_range_pos(b: &crate::object::BigRange, x: &Value) -> Option<crate::num::BigInt> {
    match x {
        Value::Int(i) => b.position(&(*i).into()),
        Value::Bool(v) => b.position(&(*v as i64).into()),
        Value::BigInt(i) => b.position(i),
        _ => None,
    }
}

/// `index`/`count` of a range beyond 64 bits: by value for ints; another object is compared by
/// == with each member, as CPython's fallback does.
fn big_range_find(
    interp: &mut Interp,
    range: &Value,
    b: &crate::object::BigRange,
    x: &Value,
) -> PyResult<Option<Value>> {
    if is_int(x) {
        return Ok(big_range_pos(b, x).map(Value::from));
    }
    let it = interp.get_iter(range)?;
    let mut k: i128 = 0;
    while let Some(v) = interp.iter_next(&it)? {
        if interp.eq(&v, x)? {
            return Ok(Some(crate::arith::int_value(k)));
        }
        k += 1;
    }
    Ok(None)
}

fn range_index(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let r = recv_range(&args, "index")?;
    let x = rest(&args).one("range.index")?;
    if let Some(b) = r.big() {
        let range = Value::Range(r.clone());
        if let Some(k) = big_range_find(interp, &range, b, x)? {
            return Ok(k);
        }
        return Err(not_in_range(interp, x));
    }
    if let Some(k) = range_pos(r, x) {
        return index_value(k);
    }
    if !is_int(x) {
        // Other values (floats, instances) compare by ==, as CPython's fallback does.
        let mut k = 0;
        while k < r.len() {
            if interp.eq(&Value::Int(r.at(k)), x)? {
                return index_value(k);
            }
            k += 1;
        }
    }
    Err(not_in_range(interp, x))
}

/// `range.index(x)` not finding `x`: CPython names an int, and gives the generic sequence
/// search's message for anything else.
fn not_in_range(interp: &mut Interp, x: &Value) -> crate::PyErr {
    if !is_int(x) {
        return crate::err!(ValueError, "sequence.index(x): x not in sequence");
    }
    match interp.repr(x) {
        Ok(s) => crate::err!(ValueError, "{s} is not in range"),
        Err(e) => e,
    }
}

fn range_count(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let r = recv_range(&args, "count")?;
    let x = rest(&args).one("range.count")?;
    if let Some(b) = r.big() {
        if is_int(x) {
            return Ok(Value::Int(big_range_pos(b, x).is_some() as i64));
        }
        // Counting a non-int compares it with every member, as CPython does.
        let range = Value::Range(r.clone());
        let it = interp.get_iter(&range)?;
        let mut n: i128 = 0;
        while let Some(v) = interp.iter_next(&it)? {
            if interp.eq(&v, x)? {
                n += 1;
            }
        }
        return index_value(n);
    }
    if is_int(x) {
        return Ok(Value::Int(range_pos(r, x).is_some() as i64));
    }
    let (mut n, mut k) = (0, 0);
    while k < r.len() {
        if interp.eq(&Value::Int(r.at(k)), x)? {
            n += 1;
        }
        k += 1;
    }
    index_value(n)
}

/// `slice.indices(length)`: the (start, stop, step) the slice selects in a sequence of
/// `length` items, clamped as CPython's `PySlice_AdjustIndices` (a big step comes back as is).
fn slice_indices(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = match recv(&args, "slice", "indices")? {
        Value::Slice(s) => s,
        other => return Err(descriptor_error("slice", "indices", other)),
    };
    let length = match rest(&args).one("slice.indices")? {
        Value::BigInt(b) if b.sign() == crate::num::bigint::Sign::Minus => {
            raise!(ValueError, "length should not be negative")
        }
        Value::BigInt(_) => raise!(
            OverflowError,
            "minivm's slice.indices() takes a length below 2**63"
        ),
        other => interp.index_arg(other)?,
    };
    if length < 0 {
        raise!(ValueError, "length should not be negative");
    }
    let (start, stop, step, _) = crate::interp::subscr::slice_bounds(s, i128::from(length))?;
    let step = match &s.step {
        Value::BigInt(_) => s.step.clone(),
        _ => crate::arith::int_value(step),
    };
    Ok(Value::tuple(vec![
        crate::arith::int_value(start),
        crate::arith::int_value(stop),
        step,
    ]))
}

/// An exception's instance and its exception data, or None when `v` is not an exception.
pub(crate) fn exc_parts(v: &Value) -> Option<(&Ref<Instance>, &ObjCell<ExcData>)> {
    match v {
        Value::Instance(inst) => inst.exc().map(|data| (inst, data)),
        _ => None,
    }
}

/// The receiver of a `BaseException` method (`__reduce__`, `with_traceback`...), checked with
/// CPython's message for a receiver of another type.
fn recv_exc<'a>(
    args: &Args<'a>,
    meth: &str,
) -> PyResult<(&'a Ref<Instance>, &'a ObjCell<ExcData>)> {
    let v = recv(args, "BaseException", meth)?;
    exc_parts(v).ok_or_else(|| descriptor_error("BaseException", meth, v))
}

/// `BaseException.__init__(self, *args)`: sets `self.args` (what `super().__init__(msg)` in a
/// user exception class relies on), and an `OSError`'s `errno`, `strerror`, `filename`...
fn exc_init(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    // (`__init__` is a slot wrapper in CPython: its receiver errors are worded as those.)
    let first = args.get(0);
    let (inst, data) = first
        .and_then(exc_parts)
        .ok_or_else(|| slot_receiver_error("BaseException", "__init__", first))?;
    // (A Unicode error's arguments are checked here, not when it is made: a subclass whose
    // own `__init__` does not call this one takes any, as in CPython.)
    crate::builtins::codecs::check_unicode_error_args(&inst.class.get(), &args.pos[1..])?;
    // CPython's `OSError.__init__` does nothing for a class with its own `__new__`: that
    // `__new__`'s call of `OSError.__new__` already read the arguments (keywords ignored).
    let cls = inst.class.get();
    if cls.is_subclass(crate::object::types().exc(crate::object::ExcKind::OSError))
        && matches!(
            cls.lookup("__new__"),
            Some(Value::Instance(_) | Value::Function(_))
        )
    {
        return Ok(Value::None);
    }
    if !args.kw.is_empty() {
        // Only the exceptions with extra fields take keywords, each naming one field.
        let (fields, base) = crate::builtins::attrs::exc_keywords(&inst.class);
        if fields.is_empty() {
            raise!(
                TypeError,
                "{}() takes no keyword arguments",
                inst.class.name()
            );
        }
        if args.kw.len() > fields.len() {
            let n = fields.len();
            raise!(
                TypeError,
                "{base}() takes at most {n} keyword argument{} ({} given)",
                if n == 1 { "" } else { "s" },
                args.kw.len()
            );
        }
        if let Some((k, _)) = args.kw.iter().find(|(k, _)| !fields.contains(&&**k)) {
            raise!(
                TypeError,
                "'{k}' is an invalid keyword argument for {base}()"
            );
        }
        // Members in CPython (`ImportError.name`...): kept out of `__dict__`.
        let mut d = inst.dict.lock();
        for (k, v) in args.kw {
            drop(d.insert_slot(k.clone(), v.clone()));
        }
    }
    let mut d = data.lock();
    d.args = args.pos[1..].to_vec();
    d.init_pending = false;
    d.member = None;
    drop(d);
    // `OSError(errno, strerror, filename)`: its attributes, and `args` without the filename.
    crate::stdlib::os::init_os_error(interp, inst, &args.pos[1..])?;
    crate::interp::syntaxerr::init_syntax_error(inst, &args.pos[1..])?;
    Ok(Value::None)
}

/// `exc.__reduce__()`: `(class, args)`, or `(class, args, state)` once the exception has a
/// `__dict__` (an attribute was set, or `__dict__` was read), as CPython's
/// `BaseException.__reduce__`; the state is that dict. `OSError`'s puts the file names back into
/// the arguments; `ImportError`'s state also holds the `name` and `path` that were set.
fn exc_reduce(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, data) = recv_exc(&args, "__reduce__")?;
    rest(&args).none("BaseException.__reduce__")?;
    let e = Value::Instance(inst.clone());
    let mut argv = data.lock().args.clone();
    let cls = inst.class.get().clone();
    let t = crate::object::types();
    if cls.is_subclass(t.exc(ExcKind::OSError)) && argv.len() == 2 {
        let filename = interp.getattr(&e, "filename")?;
        if !matches!(filename, Value::None) {
            let filename2 = interp.getattr(&e, "filename2")?;
            argv.push(filename);
            if !matches!(filename2, Value::None) {
                argv.push(Value::None);
                argv.push(filename2);
            }
        }
    }
    let mut state = crate::interp::views::exc_dict_if_made(inst);
    if cls.is_subclass(t.exc(ExcKind::ImportError)) {
        let fields: Vec<(&str, Value)> = {
            let table = inst.dict.lock();
            ["name", "path"]
                .into_iter()
                .filter_map(|k| table.get(k).map(|v| (k, v.clone())))
                .collect()
        };
        if !fields.is_empty() {
            let d = match &state {
                Some(Value::Dict(old)) => crate::object::Dict::from_map(old.read().clone()),
                _ => crate::object::Dict::new(),
            };
            for (k, v) in fields {
                d.set_str(k, v);
            }
            state = Some(Value::Dict(Ref::new(d)));
        }
    }
    let mut parts = vec![Value::Class(cls), Value::tuple(argv)];
    parts.extend(state);
    Ok(Value::tuple(parts))
}

/// `exc.__setstate__(state)`: each item of the dict set as an attribute (None: nothing), as
/// CPython's `BaseException.__setstate__`.
fn exc_setstate(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, _) = recv_exc(&args, "__setstate__")?;
    let e = Value::Instance(inst.clone());
    let state = rest(&args).one("BaseException.__setstate__")?;
    match state {
        Value::None => {}
        Value::Dict(d) => {
            for (k, v) in d.items() {
                let Value::Str(name) = &k else {
                    raise!(
                        TypeError,
                        "attribute name must be string, not '{}'",
                        type_name(&k)
                    );
                };
                interp.setattr(&e, name.as_str(), v)?;
            }
        }
        _ => raise!(TypeError, "state is not a dictionary"),
    }
    Ok(Value::None)
}

fn with_traceback(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, _) = recv_exc(&args, "with_traceback")?;
    let tb = rest(&args).one("BaseException.with_traceback")?;
    crate::interp::exc::set_traceback(inst, tb)?;
    Ok(Value::Instance(inst.clone()))
}

/// `exc.add_note(note)` (PEP 678): `note` joins the list `exc.__notes__` (made on the first
/// note), which tracebacks print after the exception's line.
fn add_note(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, _) = recv_exc(&args, "add_note")?;
    let e = Value::Instance(inst.clone());
    let note = rest(&args).one("BaseException.add_note")?;
    if !matches!(note, Value::Str(_)) {
        raise!(
            TypeError,
            "note must be a str, not '{}'",
            crate::object::type_name(note)
        );
    }
    let notes = match interp.getattr(&e, "__notes__") {
        Ok(v) => v,
        Err(err) if err.is(ExcKind::AttributeError) => {
            let fresh = Value::list(Vec::new());
            interp.setattr(&e, "__notes__", fresh.clone())?;
            fresh
        }
        Err(err) => return Err(err),
    };
    match &notes {
        Value::List(l) => l.items.lock().push(note.clone()),
        _ => raise!(TypeError, "Cannot add note: __notes__ is not a list"),
    }
    Ok(Value::None)
}

/// The generator a `generator` method was called on, checked with CPython's words.
fn recv_generator<'a>(args: &Args<'a>, meth: &str) -> PyResult<&'a Ref<crate::object::Generator>> {
    match args.get(0) {
        Some(Value::Generator(g)) => Ok(g),
        Some(other) => Err(descriptor_error("generator", meth, other)),
        None => Err(crate::builtins::args::missing_receiver("generator", meth)),
    }
}

fn gen_send(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let g = recv_generator(&args, "send")?;
    let v = rest(&args).one("generator.send")?;
    let g = g.clone();
    match interp.gen_resume(&g, v.clone())? {
        Some(y) => Ok(y),
        None => Err(interp.gen_stop_iteration()),
    }
}

fn gen_close(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let g = recv_generator(&args, "close")?;
    rest(&args).none("generator.close")?;
    let g = g.clone();
    interp.gen_close(&g)?;
    Ok(Value::None)
}

/// `gen.throw(exc)`: an exception class or instance raised where the generator is suspended.
fn gen_throw(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let g = recv_generator(&args, "throw")?;
    let g = g.clone();
    let r = match throw_exception(interp, &args, "throw")? {
        Ok(exc) => interp.gen_throw(&g, exc)?,
        Err(refused) => interp.gen_throw_refused(&g, refused)?,
    };
    match r {
        Some(v) => Ok(v),
        None => Err(interp.gen_stop_iteration()),
    }
}

/// The exception `gen.throw(...)` (and `athrow`, and the awaitables' `throw`) raises:
/// `throw(exc)` or the old `throw(type[, value[, traceback]])`, where a value that is not an
/// instance of the type is its constructor's argument (a tuple: its arguments). The outer
/// error is a wrong argument count; the inner one, arguments that are no exception to throw
/// (which CPython finds where it would raise it: `Interp::gen_throw_refused`).
pub(crate) fn throw_exception(
    interp: &mut Interp,
    args: &Args<'_>,
    name: &str,
) -> PyResult<PyResult<PyErr>> {
    let extra = rest(args);
    extra.no_kw(name)?;
    if extra.pos.is_empty() || extra.pos.len() > 3 {
        raise!(
            TypeError,
            "{name} expected at least 1 argument, got {}",
            extra.pos.len()
        );
    }
    Ok(exception_to_throw(interp, extra.pos))
}

fn exception_to_throw(interp: &mut Interp, pos: &[Value]) -> PyResult<PyErr> {
    // CPython's checks, in its order: a traceback that is not one, then an instance thrown
    // with a value besides (nothing reaches the generator).
    match pos.get(2) {
        None | Some(Value::None) => {}
        Some(Value::Instance(t))
            if Ref::ptr_eq(&t.class.get(), &crate::object::types().traceback) => {}
        Some(_) => raise!(
            TypeError,
            "throw() third argument must be a traceback object"
        ),
    }
    if let (Value::Instance(_), Some(v)) = (&pos[0], pos.get(1)) {
        if !matches!(v, Value::None) && PyErr::from_instance(&pos[0]).is_some() {
            raise!(
                TypeError,
                "instance exception may not have a separate value"
            );
        }
    }
    let exc = match (&pos[0], pos.get(1)) {
        // Only exception classes are instantiated (`throw(int)` is "... not type").
        (Value::Class(c), _) if c.kind != crate::object::TypeKind::Exception => pos[0].clone(),
        (Value::Class(c), Some(v @ Value::Instance(i))) if i.class.is_subclass(c) => v.clone(),
        (Value::Class(c), None | Some(Value::None)) => interp.instantiate(c, &[], &[])?,
        (Value::Class(c), Some(Value::Tuple(t))) => interp.instantiate(c, &t.items, &[])?,
        (Value::Class(c), Some(v)) => interp.instantiate(c, std::slice::from_ref(v), &[])?,
        (other, _) => other.clone(),
    };
    match PyErr::from_instance(&exc) {
        Some(e) => Ok(e),
        None => Err(crate::err!(
            TypeError,
            "exceptions must be classes or instances deriving from BaseException, not {}",
            crate::object::type_name(&exc)
        )),
    }
}

/// The accessors of an instance of a subclass of property (made as other instances are,
/// `interp/call.rs`), which `property.__init__` keeps as its attributes `fget`, `fset` and
/// `fdel`; `None` for any other object.
fn subclass_prop_parts(p: &Value) -> Option<[Value; 3]> {
    let Value::Instance(inst) = p else {
        return None;
    };
    if inst.class.builtin || inst.class.kind != crate::object::TypeKind::Property {
        return None;
    }
    let table = inst.dict.lock();
    let get = |k: &str| table.get(k).cloned().unwrap_or(Value::None);
    Some([get("fget"), get("fset"), get("fdel")])
}

/// `property.__init__(self, fget=None, fset=None, fdel=None, doc=None)`: what an instance of a
/// subclass of property gets from `super().__init__(...)` (its accessors and `__doc__`, as
/// attributes of its own). A property made by `property(...)` has them from its constructor
/// already: nothing changes there.
fn prop_init(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let p = recv(&args, "property", "__init__")?;
    let parts = crate::builtins::construct::property_args(interp, &rest(&args))?;
    let Value::Instance(inst) = p else {
        return Err(descriptor_error("property", "__init__", p));
    };
    if subclass_prop_parts(p).is_some() {
        let mut table = inst.dict.lock();
        let mut old = Vec::new();
        for (k, v) in ["fget", "fset", "fdel", "__doc__"].into_iter().zip(parts) {
            old.extend(table.insert(std::sync::Arc::from(k), v));
        }
        drop(table);
        drop(old);
    }
    Ok(Value::None)
}

/// `prop.setter(f)` and friends: a copy of the property with one accessor replaced. For a
/// subclass of property, as CPython's `property_copy`: `type(prop)(fget, fset, fdel, doc)`.
fn prop_replace(interp: &mut Interp, args: Args<'_>, name: &str, which: usize) -> PyResult<Value> {
    let p = recv(&args, "property", name)?;
    let f = rest(&args).one(&format!("property.{name}"))?.clone();
    let Value::Instance(inst) = p else {
        return Err(descriptor_error("property", name, p));
    };
    let mut parts = match (&inst.payload, subclass_prop_parts(p)) {
        (Payload::Property { fget, fset, fdel }, _) => [fget.clone(), fset.clone(), fdel.clone()],
        (_, Some(parts)) => parts,
        _ => return Err(descriptor_error("property", name, p)),
    };
    let old_fget = parts[0].clone();
    if let Some(slot) = parts.get_mut(which) {
        *slot = f;
    }
    if !matches!(inst.payload, Payload::Property { .. }) {
        // The docstring goes along unless it was the old getter's (then the new getter's).
        let doc = inst
            .dict
            .lock()
            .get("__doc__")
            .cloned()
            .unwrap_or(Value::None);
        let from_getter = !old_fget.is_none()
            && interp
                .getattr(&old_fget, "__doc__")
                .is_ok_and(|g| g.is(&doc));
        let doc = if from_getter && !parts[0].is_none() {
            Value::None
        } else {
            doc
        };
        let [fget, fset, fdel] = parts;
        let copy = interp.call(
            &Value::Class(inst.class.get().clone()),
            &[fget, fset, fdel, doc],
        )?;
        keep_prop_name(inst, &copy);
        return Ok(copy);
    }
    let [fget, fset, fdel] = parts;
    let payload = Payload::Property { fget, fset, fdel };
    // The copy keeps the property's `__doc__`, and its name.
    let doc = inst.dict.lock().get("__doc__").cloned();
    let copy = crate::builtins::construct::property_instance(&inst.class.get(), payload, doc);
    keep_prop_name(inst, &copy);
    Ok(copy)
}

/// A property's copy (`prop.setter(f)`...) has the name `__set_name__` gave the original.
fn keep_prop_name(prop: &crate::object::Instance, copy: &Value) {
    let name = prop_name(prop);
    if let (Value::Instance(c), false) = (copy, name.is_none()) {
        if crate::object::class_of(copy).kind == crate::object::TypeKind::Property {
            let old = c
                .dict
                .lock()
                .insert(std::sync::Arc::from(PROP_NAME_KEY), name);
            drop(old);
        }
    }
}

fn prop_getter(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    prop_replace(interp, args, "getter", 0)
}

fn prop_setter(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    prop_replace(interp, args, "setter", 1)
}

fn prop_deleter(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    prop_replace(interp, args, "deleter", 2)
}

/// The property receiving a `__get__`/`__set__`/`__delete__` call, with its accessors.
fn prop_parts<'a>(args: &Args<'a>, meth: &str) -> PyResult<(&'a Value, [Value; 3])> {
    let p = recv(args, "property", meth)?;
    if let Value::Instance(inst) = p {
        if let Payload::Property { fget, fset, fdel } = &inst.payload {
            return Ok((p, [fget.clone(), fset.clone(), fdel.clone()]));
        }
    }
    if let Some(parts) = subclass_prop_parts(p) {
        return Ok((p, parts));
    }
    // (CPython's wording for a slot wrapper given the wrong object)
    Err(slot_receiver_error("property", meth, Some(p)))
}

/// Where a property keeps the name `__set_name__` gave it, in its attribute table (a key no
/// attribute name can be: the table holds the property's `__doc__`, and a subclass's accessors).
const PROP_NAME_KEY: &str = "\0prop_name";

/// `prop.__set_name__(owner, name)`: the property learns the name it is stored under, for its
/// error messages (CPython's `prop_name`; `type.__new__` calls it for each class attribute, so a
/// property put on a class later with `setattr` has none).
fn prop_set_name(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let p = recv(&args, "property", "__set_name__")?;
    let a = rest(&args);
    a.no_kw("__set_name__")?;
    let [_, name] = a.pos else {
        raise!(
            TypeError,
            "__set_name__() takes 2 positional arguments but {} were given",
            a.pos.len()
        );
    };
    let Value::Instance(inst) = p else {
        return Err(descriptor_error("property", "__set_name__", p));
    };
    // Kept as the message shows it (its repr).
    let shown = match name.as_str() {
        Some(s) => crate::num::parse::str_repr(s),
        None => interp.repr(name)?,
    };
    keep_name(inst, shown);
    Ok(Value::None)
}

/// What `type.__new__` does for a property among the class's attributes: `name` becomes the
/// property's name.
pub(crate) fn name_property(prop: &crate::object::Instance, name: &str) {
    keep_name(prop, crate::num::parse::str_repr(name));
}

fn keep_name(prop: &crate::object::Instance, shown: String) {
    let old = prop
        .dict
        .lock()
        .insert(std::sync::Arc::from(PROP_NAME_KEY), Value::str(&shown));
    drop(old);
}

/// The repr of the name a property was given by `__set_name__` (None when it has none).
fn prop_name(prop: &crate::object::Instance) -> Value {
    let name = prop.dict.lock().get(PROP_NAME_KEY).cloned();
    name.unwrap_or(Value::None)
}

/// "property 'x' of 'C' object has no setter" (`what`: getter, setter, deleter), CPython's
/// wording: the name is the property's own (`__set_name__`, shown with its repr), and without
/// one the message is "property of 'C' object has no setter". `owner` names the object's type.
#[cold]
pub(crate) fn prop_missing_error(prop: &crate::object::Instance, owner: &str, what: &str) -> PyErr {
    let name = match prop_name(prop) {
        Value::None => String::new(),
        name => format!(" {}", name.as_str().unwrap_or_default()),
    };
    crate::err!(
        AttributeError,
        "property{name} of '{owner}' object has no {what}"
    )
}

/// The same error for `prop.__get__`/`__set__`/`__delete__` called by hand.
fn prop_missing(prop: &Value, obj: &Value, what: &str) -> PyErr {
    let owner = crate::object::class_of(obj).qualname();
    match prop {
        Value::Instance(inst) => prop_missing_error(inst, &owner, what),
        _ => crate::err!(AttributeError, "property of '{owner}' object has no {what}"),
    }
}

/// `prop.__get__(obj, type=None)`: the getter's result; the property itself when `obj` is None
/// (looked up on the class).
fn prop_get(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (p, [fget, _, _]) = prop_parts(&args, "__get__")?;
    match get_args(&args)?.0 {
        Value::None => Ok(p.clone()),
        obj if fget.is_none() => Err(prop_missing(p, obj, "getter")),
        obj => interp.call(&fget, std::slice::from_ref(obj)),
    }
}

/// `prop.__set__(obj, value)`: the setter, as `obj.x = value` would call it.
fn prop_set(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (p, [_, fset, _]) = prop_parts(&args, "__set__")?;
    let a = rest(&args);
    a.no_kw("__set__")?;
    let [obj, value] = a.pos else {
        raise!(TypeError, " expected 2 arguments, got {}", a.pos.len());
    };
    if fset.is_none() {
        return Err(prop_missing(p, obj, "setter"));
    }
    interp.call(&fset, &[obj.clone(), value.clone()])?;
    Ok(Value::None)
}

/// `prop.__delete__(obj)`: the deleter, as `del obj.x` would call it.
fn prop_delete(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (p, [_, _, fdel]) = prop_parts(&args, "__delete__")?;
    let a = rest(&args);
    a.no_kw("__delete__")?;
    let [obj] = a.pos else {
        raise!(TypeError, "expected 1 argument, got {}", a.pos.len());
    };
    if fdel.is_none() {
        return Err(prop_missing(p, obj, "deleter"));
    }
    interp.call(&fdel, std::slice::from_ref(obj))?;
    Ok(Value::None)
}
