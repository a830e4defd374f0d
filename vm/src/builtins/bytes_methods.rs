//! `bytes` and `bytearray` (stage: built-ins): their methods, their operators (`+`, `*`, `%`,
//! comparisons, `in`), indexing and slicing, and the `bytes(...)`/`bytearray(...)` constructors.
//! The interpreter's generic paths (`interp/ops.rs`, `subscr.rs`, `iter.rs`) hand bytes-like
//! operands over to the functions here.
//!
//! Methods of `bytearray` that build new data return a `bytearray`, as in CPython: every helper
//! takes the receiver and builds its result with [`same_kind`].

use crate::heap::Ref;
use std::borrow::Cow;
use std::cmp::Ordering;

use crate::builtins::args::{check_str_bytes, index_sized, rest, slice_index, to_index, ArgsExt};
use crate::builtins::codecs::{self, encoding_args};
use crate::builtins::text;
use crate::builtins::Methods;
use crate::error::PyResult;
use crate::interp::ops::check_repeat_length;
use crate::interp::subscr::{adjust_slice, seq_index};
use crate::interp::{Args, Interp};
use crate::object::{bytes_like, type_name, ExcKind};
use crate::value::Value;
use crate::{err, raise};

/// Methods shared by `bytes` and `bytearray`.
pub const COMMON_METHODS: Methods = &[
    ("decode", decode),
    ("hex", hex),
    ("fromhex", fromhex),
    ("count", count),
    ("find", find),
    ("rfind", rfind),
    ("index", index),
    ("rindex", rindex),
    ("startswith", startswith),
    ("endswith", endswith),
    ("split", split),
    ("rsplit", rsplit),
    ("splitlines", splitlines),
    ("join", join),
    ("strip", strip),
    ("lstrip", lstrip),
    ("rstrip", rstrip),
    ("replace", replace),
    ("partition", partition),
    ("rpartition", rpartition),
    ("removeprefix", removeprefix),
    ("removesuffix", removesuffix),
    ("upper", upper),
    ("lower", lower),
    ("capitalize", capitalize),
    ("swapcase", swapcase),
    ("isdigit", isdigit),
    ("isalpha", isalpha),
    ("isalnum", isalnum),
    ("isspace", isspace),
    ("isupper", isupper),
    ("islower", islower),
    ("isascii", isascii),
    ("center", center),
    ("ljust", ljust),
    ("rjust", rjust),
    ("zfill", zfill),
    ("title", title),
    ("istitle", istitle),
    ("expandtabs", expandtabs),
    ("translate", translate),
    ("maketrans", maketrans),
];

/// Methods only `bytearray` has (it is mutable).
pub const BYTEARRAY_METHODS: Methods = &[
    ("fromhex", bytearray_fromhex),
    ("append", ba_append),
    ("extend", ba_extend),
    ("pop", ba_pop),
    ("clear", ba_clear),
    ("insert", ba_insert),
    ("remove", ba_remove),
    ("reverse", ba_reverse),
    ("copy", ba_copy),
];

/// ASCII whitespace, the only whitespace `bytes` methods know.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// A new value of the receiver's kind (`bytes` or `bytearray`).
fn same_kind(recv: &Value, data: Vec<u8>) -> Value {
    match recv {
        Value::ByteArray(_) => Value::bytearray(data),
        _ => Value::bytes(data),
    }
}

/// The receiver of a bytes method and its data.
fn recv_bytes<'a>(args: &Args<'a>, meth: &str) -> PyResult<(&'a Value, Cow<'a, [u8]>)> {
    let v = args
        .pos
        .first()
        .ok_or_else(|| err!(TypeError, "unbound method bytes.{meth}() needs an argument"))?;
    match bytes_like(v) {
        Some(b) => Ok((v, b)),
        None => Err(crate::builtins::args::descriptor_error("bytes", meth, v)),
    }
}

/// A bytes-like argument: `a bytes-like object is required, not 'str'` otherwise.
pub fn arg_bytes(v: &Value) -> PyResult<Cow<'_, [u8]>> {
    bytes_like(v).ok_or_else(|| {
        err!(
            TypeError,
            "a bytes-like object is required, not '{}'",
            type_name(v)
        )
    })
}

/// An int that must be a byte value.
fn byte_value(v: &Value) -> PyResult<u8> {
    let i = to_index(v)?;
    u8::try_from(i).map_err(|_| err!(ValueError, "byte must be in range(0, 256)"))
}

/// The `sub` of `find`/`count`/`index`: bytes-like or an int byte.
fn sub_arg(v: Option<&Value>) -> PyResult<Cow<'_, [u8]>> {
    match v {
        Some(v @ (Value::Int(_) | Value::Bool(_))) => Ok(Cow::Owned(vec![byte_value(v)?])),
        Some(v) => bytes_like(v).ok_or_else(|| {
            err!(
                TypeError,
                "argument should be integer or bytes-like object, not '{}'",
                type_name(v)
            )
        }),
        None => Err(err!(
            TypeError,
            "find() takes at least 1 argument (0 given)"
        )),
    }
}

/// The first occurrence of `needle` in `hay` (0 for an empty needle), by the memchr crate's
/// vectorised search: a byte-by-byte window compare was 12% of pyperformance's pyflate.
pub fn find_bytes(hay: &[u8], needle: &[u8]) -> Option<usize> {
    match needle {
        [] => Some(0),
        [b] => memchr::memchr(*b, hay),
        _ => memchr::memmem::find(hay, needle),
    }
}

/// The last occurrence of `needle` in `hay` (`hay.len()` for an empty needle).
fn rfind_bytes(hay: &[u8], needle: &[u8]) -> Option<usize> {
    match needle {
        [] => Some(hay.len()),
        [b] => memchr::memrchr(*b, hay),
        _ => memchr::memmem::rfind(hay, needle),
    }
}

/// Non-overlapping occurrences of `needle` (len + 1 for an empty needle, as in Python).
fn count_bytes(hay: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() {
        return hay.len() + 1;
    }
    let (mut n, mut i) = (0, 0);
    while let Some(p) = hay.get(i..).and_then(|h| find_bytes(h, needle)) {
        n += 1;
        i += p + needle.len();
    }
    n
}

// ---------------------------------------------------------------- construction

/// `bytes(x)` / `bytearray(x)`: from an int (that many zero bytes), a str with an encoding, a
/// bytes-like object, or an iterable of ints.
pub fn construct(interp: &mut Interp, args: Args<'_>, mutable: bool) -> PyResult<Value> {
    let name = if mutable { "bytearray" } else { "bytes" };
    args.only_kw(name, &["source", "encoding", "errors"])?;
    if args.pos.len() > 3 {
        raise!(
            TypeError,
            "{name}() takes at most 3 arguments ({} given)",
            args.pos.len()
        );
    }
    let source = args.pos_or_kw(name, 0, "source")?;
    let encoding = args.pos_or_kw(name, 1, "encoding")?;
    let errors = args.pos_or_kw(name, 2, "errors")?;
    let data = match source {
        None => {
            if encoding.is_some() || errors.is_some() {
                let which = if encoding.is_some() {
                    "encoding"
                } else {
                    "errors"
                };
                raise!(TypeError, "{which} without a string argument");
            }
            Vec::new()
        }
        Some(Value::Str(s)) => {
            if encoding.is_none() {
                raise!(TypeError, "string argument without an encoding");
            }
            let (enc, errors) = encoding_args(name, encoding, errors)?;
            codecs::encode(s.as_str(), enc, &errors)?
        }
        Some(src) => {
            if encoding.is_some() {
                raise!(TypeError, "encoding without a string argument");
            }
            if errors.is_some() {
                raise!(TypeError, "errors without a string argument");
            }
            from_object(interp, src, mutable)?
        }
    };
    Ok(if mutable {
        Value::bytearray(data)
    } else {
        Value::bytes(data)
    })
}

/// `bytes.find` or `bytearray.find`, as CPython names a method refusing keywords.
fn qualified(args: &Args<'_>, name: &str) -> String {
    let owner = args
        .pos
        .first()
        .map_or_else(|| "bytes".to_string(), type_name);
    format!("{owner}.{name}")
}

/// The bytes of `bytes(src)` for a non-str source (`bytearray(src)`, its `extend` and slice
/// assignment when `for_bytearray`: only an out-of-range item's message differs).
pub fn from_object(interp: &mut Interp, src: &Value, for_bytearray: bool) -> PyResult<Vec<u8>> {
    if let Some(b) = bytes_like(src) {
        return Ok(b.into_owned());
    }
    if let Some(n) = index_sized(src) {
        let n = n?;
        if n < 0 {
            raise!(ValueError, "negative count");
        }
        check_str_bytes(n as usize)?;
        return Ok(vec![0; n as usize]);
    }
    match src {
        Value::Float(_) => raise!(
            TypeError,
            "cannot convert '{}' object to bytes",
            type_name(src)
        ),
        Value::Instance(_) => {
            if let Some(m) = interp.lookup_special(src, "__bytes__") {
                let r = interp.call(&m, std::slice::from_ref(src))?;
                return match r {
                    Value::Bytes(b) => Ok(b.as_bytes().to_vec()),
                    other => raise!(
                        TypeError,
                        "__bytes__ returned non-bytes (type {})",
                        type_name(&other)
                    ),
                };
            }
            // An object with `__index__` is a count of zero bytes, as an int is.
            if interp.lookup_special(src, "__index__").is_some() {
                if let Some(n) = interp.number_index(src)? {
                    return from_object(interp, &n, for_bytearray);
                }
            }
            ints_to_bytes(interp, src, for_bytearray)
        }
        _ => ints_to_bytes(interp, src, for_bytearray),
    }
}

/// Bytes from an iterable of ints in range(256). CPython names an item out of range "bytes" for
/// `bytes(...)` and "byte" for a bytearray.
fn ints_to_bytes(interp: &mut Interp, src: &Value, for_bytearray: bool) -> PyResult<Vec<u8>> {
    let it = interp.get_iter(src).map_err(|e| {
        if e.is(ExcKind::TypeError) {
            err!(
                TypeError,
                "cannot convert '{}' object to bytes",
                type_name(src)
            )
        } else {
            e
        }
    })?;
    // As CPython's `bytes(...)` (not `bytearray(...)`, which reads item by item), the buffer
    // is sized from the iterator's length hint first: one that cannot be had is a MemoryError
    // before any item is read.
    if !for_bytearray {
        // (An object with `__len__` in Python is asked it once its iterator is made.)
        if Interp::len_in_python(src) {
            interp.probe_len(src)?;
        }
        check_str_bytes(crate::builtins::length_hint(&it).unwrap_or(0))?;
    }
    let what = if for_bytearray { "byte" } else { "bytes" };
    let mut out = Vec::new();
    while let Some(v) = interp.iter_next(&it)? {
        let i = interp.index_arg(&v)?;
        out.push(u8::try_from(i).map_err(|_| err!(ValueError, "{what} must be in range(0, 256)"))?);
    }
    Ok(out)
}

// ---------------------------------------------------------------- operators

/// `a op b` when `a` or `b` is bytes-like; `None` when the operation does not apply.
pub fn binary(
    interp: &mut Interp,
    op: minivm_compiler::bytecode::BinOp,
    a: &Value,
    b: &Value,
) -> PyResult<Option<Value>> {
    use minivm_compiler::bytecode::BinOp;
    match op {
        BinOp::Add => {
            let Some(x) = bytes_like(a) else {
                return Ok(None);
            };
            let Some(y) = bytes_like(b) else {
                raise!(
                    TypeError,
                    "can't concat {} to {}",
                    type_name(b),
                    type_name(a)
                );
            };
            let mut out = x.into_owned();
            out.extend_from_slice(&y);
            Ok(Some(same_kind(a, out)))
        }
        BinOp::Mul => {
            let (seq, n) = match (bytes_like(a), bytes_like(b)) {
                (Some(x), None) => ((a, x), b),
                (None, Some(y)) => ((b, y), a),
                _ => return Ok(None),
            };
            let n = match index_sized(n) {
                Some(n) => n?.max(0) as usize,
                None => return Ok(None),
            };
            // As CPython: bytes too long for an index are an OverflowError (a bytearray's a
            // MemoryError); then the size guard.
            if matches!(seq.0, Value::Bytes(_)) {
                check_repeat_length(seq.1.len(), n, "repeated bytes are too long")?;
            }
            check_str_bytes(seq.1.len().saturating_mul(n))?;
            Ok(Some(same_kind(seq.0, seq.1.repeat(n))))
        }
        BinOp::Mod => {
            let Some(fmt) = bytes_like(a) else {
                return Ok(None);
            };
            let out = percent_format(interp, &fmt, b)?;
            Ok(Some(same_kind(a, out)))
        }
        _ => Ok(None),
    }
}

/// `bytearray += x`, in place.
pub fn inplace_add(a: &Value, b: &Value) -> PyResult<Option<Value>> {
    let Value::ByteArray(ba) = a else {
        return Ok(None);
    };
    let Some(y) = bytes_like(b) else {
        raise!(TypeError, "can't concat {} to bytearray", type_name(b));
    };
    let y = y.into_owned();
    let mut data = ba.data.lock();
    ba.check_resize(data.len(), data.len() + y.len())?;
    data.extend_from_slice(&y);
    Ok(Some(a.clone()))
}

/// `a == b` for two values at least one of which is bytes-like: `None` if not both are.
pub fn eq(a: &Value, b: &Value) -> Option<bool> {
    Some(*bytes_like(a)? == *bytes_like(b)?)
}

/// Ordering of two bytes-like values (`None` if not both are).
pub fn order(a: &Value, b: &Value) -> Option<Ordering> {
    Some(bytes_like(a)?.cmp(&bytes_like(b)?))
}

/// `needle in container` for a bytes-like container.
pub fn contains(container: &[u8], needle: &Value) -> PyResult<bool> {
    match needle {
        Value::Int(_) | Value::Bool(_) => Ok(container.contains(&byte_value(needle)?)),
        other => {
            let n = arg_bytes(other)?;
            Ok(find_bytes(container, &n).is_some())
        }
    }
}

/// `b[key]`
pub fn getitem(obj: &Value, data: &[u8], key: &Value) -> PyResult<Value> {
    let what = if matches!(obj, Value::ByteArray(_)) {
        "bytearray"
    } else {
        "byte"
    };
    match key {
        Value::Slice(s) => {
            let idx = adjust_slice(s, data.len())?;
            if idx.step == 1 {
                // Contiguous: a whole `bytes` is itself (as CPython's `b[:]`), else one copy.
                if idx.len == data.len() && matches!(obj, Value::Bytes(_)) {
                    return Ok(obj.clone());
                }
                let start = usize::try_from(idx.start).unwrap_or(0);
                let part = data.get(start..start + idx.len).unwrap_or_default();
                return Ok(same_kind(obj, part.to_vec()));
            }
            let out = idx.indices().filter_map(|i| data.get(i).copied()).collect();
            Ok(same_kind(obj, out))
        }
        Value::Int(_) | Value::Bool(_) => {
            let i = to_index(key)?;
            match seq_index(i, data.len()).and_then(|j| data.get(j)) {
                Some(&c) => Ok(Value::Int(c as i64)),
                None if what == "byte" => raise!(IndexError, "index out of range"),
                None => raise!(IndexError, "bytearray index out of range"),
            }
        }
        other => raise!(
            TypeError,
            "{what} indices must be integers or slices, not {}",
            type_name(other)
        ),
    }
}

/// `ba[key] = v` on a bytearray.
pub fn setitem(
    interp: &mut Interp,
    ba: &crate::object::ByteArray,
    key: &Value,
    v: &Value,
) -> PyResult<()> {
    match key {
        Value::Slice(s) => {
            let new = match v {
                Value::Int(_) | Value::Bool(_) => raise!(
                    TypeError,
                    "can assign only bytes, buffers, or iterables of ints in range(0, 256)"
                ),
                Value::Str(_) => raise!(
                    TypeError,
                    "can assign only bytes, buffers, or iterables of ints in range(0, 256)"
                ),
                other => from_object(interp, other, true)?,
            };
            let mut data = ba.data.lock();
            let idx = adjust_slice(s, data.len())?;
            if idx.step == 1 {
                let len = data.len();
                let start = (idx.start.max(0) as usize).min(len);
                let stop = (idx.stop.max(idx.start).max(0) as usize).min(len);
                ba.check_resize(len, len - (stop - start) + new.len())?;
                data.splice(start..stop, new);
            } else {
                if new.len() != idx.len {
                    raise!(
                        ValueError,
                        "attempt to assign bytes of size {} to extended slice of size {}",
                        new.len(),
                        idx.len
                    );
                }
                for (i, b) in idx.indices().zip(new) {
                    if let Some(slot) = data.get_mut(i) {
                        *slot = b;
                    }
                }
            }
            Ok(())
        }
        Value::Int(_) | Value::Bool(_) => {
            let i = interp.index_arg(key)?;
            let b = byte_value(v)?;
            let mut data = ba.data.lock();
            let len = data.len();
            match seq_index(i, len).and_then(|j| data.get_mut(j)) {
                Some(slot) => {
                    *slot = b;
                    Ok(())
                }
                None => raise!(IndexError, "bytearray index out of range"),
            }
        }
        other => raise!(
            TypeError,
            "bytearray indices must be integers or slices, not {}",
            type_name(other)
        ),
    }
}

/// `del ba[key]` on a bytearray.
pub fn delitem(ba: &crate::object::ByteArray, key: &Value) -> PyResult<()> {
    let mut data = ba.data.lock();
    match key {
        Value::Slice(s) => {
            let idx = adjust_slice(s, data.len())?;
            ba.check_resize(data.len(), data.len() - idx.len)?;
            crate::interp::subscr::delete_slice(&mut *data, &idx);
            Ok(())
        }
        Value::Int(_) | Value::Bool(_) => {
            let i = to_index(key)?;
            match seq_index(i, data.len()) {
                Some(j) => {
                    ba.check_resize(data.len(), data.len() - 1)?;
                    data.remove(j);
                    Ok(())
                }
                None => raise!(IndexError, "bytearray index out of range"),
            }
        }
        other => raise!(
            TypeError,
            "bytearray indices must be integers or slices, not {}",
            type_name(other)
        ),
    }
}

/// `b'...' % args`: the format is read as Latin-1 text, each `%s`/`%b` argument must be
/// bytes-like (its bytes are spliced in), `%r`/`%a` give `ascii(arg)`, `%c` one byte; the
/// numeric conversions are those of `str %`. The result is encoded back as Latin-1.
/// `%(name)s` looks `b'name'` up in the mapping on the right; the converted values go to
/// `str %` in a new dict under the Latin-1 text of their names.
fn percent_format(interp: &mut Interp, fmt: &[u8], args: &Value) -> PyResult<Vec<u8>> {
    let items: Vec<Value> = match args {
        Value::Tuple(t) => t.items.to_vec(),
        other => vec![other.clone()],
    };
    let mut text_fmt = String::with_capacity(fmt.len());
    let mut converted = Vec::with_capacity(items.len());
    let mut next = items.iter();
    // The values found by `%(name)`, converted, under their names' text.
    let mut keyed: Option<crate::object::Dict> = None;
    let mut i = 0;
    while let Some(&c) = fmt.get(i) {
        i += 1;
        text_fmt.push(c as char);
        if c != b'%' {
            continue;
        }
        let mut key = None;
        if fmt.get(i) == Some(&b'(') {
            let (name, end) = bytes_mapping_key(fmt, i)?;
            if !is_format_mapping(interp, args) {
                raise!(TypeError, "format requires a mapping");
            }
            text_fmt.push('(');
            text_fmt.extend(name.iter().map(|&b| b as char));
            text_fmt.push(')');
            i = end;
            key = Some(name);
        }
        while let Some(&f) = fmt.get(i) {
            if b"-+ #0123456789.".contains(&f) {
                text_fmt.push(f as char);
                i += 1;
            } else {
                break;
            }
        }
        let Some(&conv) = fmt.get(i) else { break };
        i += 1;
        if conv == b'%' {
            text_fmt.push('%');
            continue;
        }
        let looked_up;
        let arg = match &key {
            Some(name) => {
                looked_up = interp.getitem(args, &Value::bytes(name.clone()))?;
                &looked_up
            }
            // As `str %`: once a name was looked up, no argument is left for a spec without one.
            None if keyed.is_some() => {
                raise!(TypeError, "not enough arguments for format string")
            }
            None => match next.next() {
                Some(arg) => arg,
                None => raise!(TypeError, "not enough arguments for format string"),
            },
        };
        let (conv, arg) = match conv {
            b's' | b'b' => match bytes_like(arg) {
                Some(b) => ('s', Value::string(b.iter().map(|&c| c as char).collect())),
                None => raise!(
                    TypeError,
                    "%b requires a bytes-like object, or an object that implements __bytes__, not '{}'",
                    type_name(arg)
                ),
            },
            b'r' | b'a' => {
                let r = interp.repr(arg)?;
                ('s', Value::string(crate::interp::repr::ascii_escape(&r)))
            }
            b'c' => {
                let b = match arg {
                    Value::Int(_) | Value::Bool(_) => interp.index_arg(arg)
                        .ok()
                        .and_then(|i| u8::try_from(i).ok())
                        .ok_or_else(|| err!(OverflowError, "%c arg not in range(256)"))?,
                    other => match bytes_like(other) {
                        Some(b) if b.len() == 1 => b[0],
                        _ => raise!(
                            TypeError,
                            "%c requires an integer in range(256) or a single byte"
                        ),
                    },
                };
                ('s', Value::string((b as char).to_string()))
            }
            other => (other as char, arg.clone()),
        };
        text_fmt.push(conv);
        match key {
            Some(name) => {
                let text: String = name.iter().map(|&b| b as char).collect();
                keyed
                    .get_or_insert_with(crate::object::Dict::new)
                    .set_str(&text, arg);
            }
            None => converted.push(arg),
        }
    }
    if let Some(d) = keyed {
        let out = interp.percent_format(&text_fmt, &Value::Dict(Ref::new(d)))?;
        return Ok(out.chars().map(|c| c as u32 as u8).collect());
    }
    let unused = match args {
        Value::Tuple(_) => next.next().is_some(),
        Value::Dict(_) => false,
        _ => converted.is_empty(),
    };
    if unused {
        raise!(
            TypeError,
            "not all arguments converted during bytes formatting"
        );
    }
    let args = if matches!(args, Value::Tuple(_)) {
        Value::tuple(converted)
    } else {
        converted.pop().unwrap_or_else(|| args.clone())
    };
    let out = interp.percent_format(&text_fmt, &args)?;
    Ok(out.chars().map(|c| c as u32 as u8).collect())
}

/// The name of a `%(name)` spec whose `(` is at `fmt[start]` (nested parentheses count, as in
/// CPython), and the index just after its closing `)`.
fn bytes_mapping_key(fmt: &[u8], start: usize) -> PyResult<(Vec<u8>, usize)> {
    let mut depth = 0;
    for (j, &b) in fmt.iter().enumerate().skip(start) {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Ok((fmt[start + 1..j].to_vec(), j + 1));
                }
            }
            _ => {}
        }
    }
    raise!(ValueError, "incomplete format key")
}

/// Whether `b'%(name)s' % args` may look names up in `args`: anything with `__getitem__` but a
/// tuple, bytes or bytearray (CPython's test).
fn is_format_mapping(interp: &mut Interp, args: &Value) -> bool {
    match crate::object::builtin_base(args).unwrap_or(args) {
        Value::Tuple(_) | Value::Bytes(_) | Value::ByteArray(_) | Value::Str(_) => false,
        Value::Dict(_) => true,
        _ => interp.lookup_special(args, "__getitem__").is_some(),
    }
}

// ---------------------------------------------------------------- methods

fn decode(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, data) = recv_bytes(&args, "decode")?;
    let a = rest(&args);
    a.clinic("decode", 0, 2)?;
    a.only_kw("decode", &["encoding", "errors"])?;
    let (enc, errors) = encoding_args(
        "decode",
        a.pos_or_kw("decode", 0, "encoding")?,
        a.pos_or_kw("decode", 1, "errors")?,
    )?;
    Ok(Value::string(codecs::decode(&data, enc, &errors)?))
}

pub fn hex(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, data) = recv_bytes(&args, "hex")?;
    let a = rest(&args);
    a.clinic("hex", 0, 2)?;
    a.only_kw("hex", &["sep", "bytes_per_sep"])?;
    let sep = match a.pos_or_kw("hex", 0, "sep")? {
        None => None,
        Some(Value::Str(s)) if s.char_len() == 1 && s.is_ascii() => s.as_str().chars().next(),
        Some(Value::Str(_)) => raise!(ValueError, "sep must be ASCII."),
        Some(v) => match bytes_like(v) {
            Some(b) if b.len() == 1 => Some(b[0] as char),
            Some(_) => raise!(ValueError, "sep must be length 1."),
            None => raise!(TypeError, "sep must be str or bytes, not {}", type_name(v)),
        },
    };
    let per = match a.pos_or_kw("hex", 1, "bytes_per_sep")? {
        None => 1,
        Some(v) => interp.index_arg(v)?,
    };
    let mut out = String::with_capacity(data.len() * 3);
    let n = data.len();
    let group = per.unsigned_abs() as usize;
    for (i, c) in data.iter().enumerate() {
        if let Some(sep) = sep {
            // Groups count from the right for a positive bytes_per_sep, from the left otherwise.
            let boundary = if per > 0 {
                i > 0 && (n - i) % group == 0
            } else {
                i > 0 && group > 0 && i % group == 0
            };
            if boundary && group > 0 {
                out.push(sep);
            }
        }
        out.push_str(&format!("{c:02x}"));
    }
    Ok(Value::string(out))
}

/// `bytes.fromhex(s)`, called on the class (or an instance).
fn fromhex(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    fromhex_as(&args, false)
}

/// `bytearray.fromhex(s)`: a bytearray (it was made as bytes when called on the class).
fn bytearray_fromhex(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    fromhex_as(&args, true)
}

/// `fromhex` of bytes (`mutable` false) or bytearray. Called on an instance it gets the
/// instance first; a bytes-like first of two or more arguments is taken as that receiver
/// (the argument itself must be a str). Wrong counts are worded as CPython's, with the class.
fn fromhex_as(args: &Args<'_>, mutable: bool) -> PyResult<Value> {
    let owner = if mutable { "bytearray" } else { "bytes" };
    let pos = match args.pos {
        [Value::Bytes(_) | Value::ByteArray(_), rest @ ..] if !rest.is_empty() => rest,
        all => all,
    };
    if !args.kw.is_empty() {
        raise!(TypeError, "{owner}.fromhex() takes no keyword arguments");
    }
    let s = match pos {
        [Value::Str(s)] => s,
        // Argument Clinic's wording: None is named as itself.
        [Value::None] => raise!(TypeError, "fromhex() argument must be str, not None"),
        [other] => raise!(
            TypeError,
            "fromhex() argument must be str, not {}",
            type_name(other)
        ),
        _ => raise!(
            TypeError,
            "{owner}.fromhex() takes exactly one argument ({} given)",
            pos.len()
        ),
    };
    let text = s.as_str();
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let hi = chars[i].to_digit(16);
        let lo = chars.get(i + 1).and_then(|c| c.to_digit(16));
        match (hi, lo) {
            (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
            (None, _) => raise!(
                ValueError,
                "non-hexadecimal number found in fromhex() arg at position {i}"
            ),
            (Some(_), None) => raise!(
                ValueError,
                "non-hexadecimal number found in fromhex() arg at position {}",
                i + 1
            ),
        }
        i += 2;
    }
    Ok(if mutable {
        Value::bytearray(out)
    } else {
        Value::bytes(out)
    })
}

/// `data[start:end]` of `find`-style methods, and the offset of its start.
fn window<'d>(
    data: &'d [u8],
    start: Option<&Value>,
    end: Option<&Value>,
) -> PyResult<Option<(&'d [u8], usize)>> {
    let (st, en) = text::adjust_indices(slice_index(start)?, slice_index(end)?, data.len());
    if st > en {
        return Ok(None);
    }
    Ok(data.get(st..en).map(|w| (w, st)))
}

fn find_impl(args: &Args<'_>, name: &str, rev: bool) -> PyResult<Option<usize>> {
    let (_, data) = recv_bytes(args, name)?;
    let a = rest(args);
    a.no_kw(&qualified(args, name))?;
    a.clinic(name, 1, 3)?;
    let sub = sub_arg(a.get(0))?;
    let Some((w, st)) = window(&data, a.get(1), a.get(2))? else {
        return Ok(None);
    };
    let pos = if rev {
        rfind_bytes(w, &sub)
    } else {
        find_bytes(w, &sub)
    };
    Ok(pos.map(|p| p + st))
}

fn found(r: Option<usize>) -> Value {
    Value::Int(r.map_or(-1, |i| i as i64))
}

fn find(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(found(find_impl(&args, "find", false)?))
}

fn rfind(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(found(find_impl(&args, "rfind", true)?))
}

fn index(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    match find_impl(&args, "index", false)? {
        Some(i) => Ok(Value::Int(i as i64)),
        None => raise!(ValueError, "subsection not found"),
    }
}

fn rindex(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    match find_impl(&args, "rindex", true)? {
        Some(i) => Ok(Value::Int(i as i64)),
        None => raise!(ValueError, "subsection not found"),
    }
}

fn count(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, data) = recv_bytes(&args, "count")?;
    let a = rest(&args);
    a.no_kw(&qualified(&args, "count"))?;
    a.clinic("count", 1, 3)?;
    let sub = sub_arg(a.get(0))?;
    let Some((w, _)) = window(&data, a.get(1), a.get(2))? else {
        return Ok(Value::Int(0));
    };
    Ok(Value::Int(count_bytes(w, &sub) as i64))
}

fn affix_impl(args: &Args<'_>, name: &str, end: bool) -> PyResult<Value> {
    let (_, data) = recv_bytes(args, name)?;
    let a = rest(args);
    a.no_kw(&qualified(args, name))?;
    a.clinic(name, 1, 3)?;
    let Some((w, _)) = window(&data, a.get(1), a.get(2))? else {
        return Ok(Value::Bool(false));
    };
    let test = |p: &[u8]| {
        if end {
            w.ends_with(p)
        } else {
            w.starts_with(p)
        }
    };
    match a.get(0) {
        Some(Value::Tuple(t)) => {
            for item in t.items.iter() {
                match bytes_like(item) {
                    Some(p) => {
                        if test(&p) {
                            return Ok(Value::Bool(true));
                        }
                    }
                    None => raise!(
                        TypeError,
                        "a bytes-like object is required, not '{}'",
                        type_name(item)
                    ),
                }
            }
            Ok(Value::Bool(false))
        }
        Some(v) => match bytes_like(v) {
            Some(p) => Ok(Value::Bool(test(&p))),
            None => raise!(
                TypeError,
                "{name} first arg must be bytes or a tuple of bytes, not {}",
                type_name(v)
            ),
        },
        None => Ok(Value::Bool(false)),
    }
}

fn startswith(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    affix_impl(&args, "startswith", false)
}

fn endswith(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    affix_impl(&args, "endswith", true)
}

/// (sep, maxsplit) of `split`/`rsplit`.
fn split_args<'a>(args: &Args<'a>, name: &str) -> PyResult<(Option<Cow<'a, [u8]>>, i64)> {
    let a = rest(args);
    a.clinic(name, 0, 2)?;
    a.only_kw(name, &["sep", "maxsplit"])?;
    let sep = match a.pos_or_kw(name, 0, "sep")? {
        None | Some(Value::None) => None,
        Some(v) => Some(arg_bytes(v)?),
    };
    if sep.as_deref().is_some_and(<[u8]>::is_empty) {
        raise!(ValueError, "empty separator");
    }
    let maxsplit = match a.pos_or_kw(name, 1, "maxsplit")? {
        None => -1,
        Some(v) => to_index(v)?,
    };
    Ok((sep, maxsplit))
}

fn pieces(recv: &Value, parts: Vec<&[u8]>) -> Value {
    Value::list(
        parts
            .into_iter()
            .map(|p| same_kind(recv, p.to_vec()))
            .collect(),
    )
}

fn split_ws(data: &[u8], maxsplit: i64) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = data.len();
    while i < n {
        while i < n && is_space(data[i]) {
            i += 1;
        }
        if i >= n {
            break;
        }
        if maxsplit >= 0 && out.len() as i64 >= maxsplit {
            let mut end = n;
            while end > i && is_space(data[end - 1]) {
                end -= 1;
            }
            out.push(&data[i..end]);
            break;
        }
        let start = i;
        while i < n && !is_space(data[i]) {
            i += 1;
        }
        out.push(&data[start..i]);
    }
    out
}

fn rsplit_ws(data: &[u8], maxsplit: i64) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut end = data.len();
    loop {
        while end > 0 && is_space(data[end - 1]) {
            end -= 1;
        }
        if end == 0 {
            break;
        }
        if maxsplit >= 0 && out.len() as i64 >= maxsplit {
            let mut start = 0;
            while start < end && is_space(data[start]) {
                start += 1;
            }
            out.push(&data[start..end]);
            break;
        }
        let stop = end;
        while end > 0 && !is_space(data[end - 1]) {
            end -= 1;
        }
        out.push(&data[end..stop]);
    }
    out.reverse();
    out
}

fn split_sep<'d>(data: &'d [u8], sep: &[u8], maxsplit: i64) -> Vec<&'d [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while maxsplit < 0 || (out.len() as i64) < maxsplit {
        match find_bytes(rest, sep) {
            Some(p) => {
                out.push(&rest[..p]);
                rest = &rest[p + sep.len()..];
            }
            None => break,
        }
    }
    out.push(rest);
    out
}

fn rsplit_sep<'d>(data: &'d [u8], sep: &[u8], maxsplit: i64) -> Vec<&'d [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while maxsplit < 0 || (out.len() as i64) < maxsplit {
        match rfind_bytes(rest, sep) {
            Some(p) => {
                out.push(&rest[p + sep.len()..]);
                rest = &rest[..p];
            }
            None => break,
        }
    }
    out.push(rest);
    out.reverse();
    out
}

fn split(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (recv, data) = recv_bytes(&args, "split")?;
    let (sep, max) = split_args(&args, "split")?;
    Ok(pieces(
        recv,
        match &sep {
            None => split_ws(&data, max),
            Some(sep) => split_sep(&data, sep, max),
        },
    ))
}

fn rsplit(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (recv, data) = recv_bytes(&args, "rsplit")?;
    let (sep, max) = split_args(&args, "rsplit")?;
    Ok(pieces(
        recv,
        match &sep {
            None => rsplit_ws(&data, max),
            Some(sep) => rsplit_sep(&data, sep, max),
        },
    ))
}

fn splitlines(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (recv, data) = recv_bytes(&args, "splitlines")?;
    let a = rest(&args);
    a.clinic("splitlines", 0, 1)?;
    a.only_kw("splitlines", &["keepends"])?;
    let keep = match a.pos_or_kw("splitlines", 0, "keepends")? {
        None => false,
        Some(v) => interp.truthy(v)?,
    };
    let mut out = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < data.len() {
        let c = data[i];
        if c == b'\n' || c == b'\r' {
            let eol = if c == b'\r' && data.get(i + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
            let end = if keep { i + eol } else { i };
            out.push(&data[start..end]);
            i += eol;
            start = i;
        } else {
            i += 1;
        }
    }
    if start < data.len() {
        out.push(&data[start..]);
    }
    Ok(pieces(recv, out))
}

fn join(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (recv, sep) = recv_bytes(&args, "join")?;
    let it = rest(&args).one(&qualified(&args, "join"))?;
    let items = interp.collect_iter(it)?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(&sep);
        }
        match bytes_like(item) {
            Some(b) => out.extend_from_slice(&b),
            None => raise!(
                TypeError,
                "sequence item {i}: expected a bytes-like object, {} found",
                type_name(item)
            ),
        }
    }
    Ok(same_kind(recv, out))
}

fn strip_impl(args: &Args<'_>, name: &str, left: bool, right: bool) -> PyResult<Value> {
    let (recv, data) = recv_bytes(args, name)?;
    let a = rest(args);
    a.no_kw(&qualified(args, name))?;
    a.clinic(name, 0, 1)?;
    let chars: Option<Cow<[u8]>> = match a.get(0) {
        None | Some(Value::None) => None,
        Some(v) => Some(arg_bytes(v)?),
    };
    let strip = |c: &u8| match &chars {
        None => is_space(*c),
        Some(set) => set.contains(c),
    };
    let mut s: &[u8] = &data;
    if left {
        let n = s.iter().take_while(|c| strip(c)).count();
        s = &s[n..];
    }
    if right {
        let n = s.iter().rev().take_while(|c| strip(c)).count();
        s = &s[..s.len() - n];
    }
    Ok(same_kind(recv, s.to_vec()))
}

fn strip(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    strip_impl(&args, "strip", true, true)
}

fn lstrip(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    strip_impl(&args, "lstrip", true, false)
}

fn rstrip(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    strip_impl(&args, "rstrip", false, true)
}

fn replace(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (recv, data) = recv_bytes(&args, "replace")?;
    let a = rest(&args);
    a.no_kw(&qualified(&args, "replace"))?;
    a.clinic("replace", 2, 3)?;
    let old = arg_bytes(a.get(0).unwrap_or(&Value::None))?;
    let new = arg_bytes(a.get(1).unwrap_or(&Value::None))?;
    let limit = match a.get(2) {
        None => usize::MAX,
        Some(v) => usize::try_from(interp.index_arg(v)?).unwrap_or(usize::MAX),
    };
    let mut out = Vec::with_capacity(data.len());
    let mut done = 0;
    if old.is_empty() {
        // An empty pattern matches before every byte and at the end.
        for (i, &c) in data.iter().enumerate() {
            if done < limit {
                out.extend_from_slice(&new);
                done += 1;
            }
            let _ = i;
            out.push(c);
        }
        if done < limit {
            out.extend_from_slice(&new);
        }
        return Ok(same_kind(recv, out));
    }
    let mut rest: &[u8] = &data;
    while done < limit {
        match find_bytes(rest, &old) {
            Some(p) => {
                out.extend_from_slice(&rest[..p]);
                out.extend_from_slice(&new);
                rest = &rest[p + old.len()..];
                done += 1;
            }
            None => break,
        }
    }
    out.extend_from_slice(rest);
    Ok(same_kind(recv, out))
}

fn partition_impl(args: &Args<'_>, name: &str, rev: bool) -> PyResult<Value> {
    let (recv, data) = recv_bytes(args, name)?;
    let sep = arg_bytes(rest(args).one(&qualified(args, name))?)?;
    if sep.is_empty() {
        raise!(ValueError, "empty separator");
    }
    let pos = if rev {
        rfind_bytes(&data, &sep)
    } else {
        find_bytes(&data, &sep)
    };
    let parts: [&[u8]; 3] = match pos {
        Some(i) => [&data[..i], &sep, &data[i + sep.len()..]],
        None if rev => [b"", b"", &data],
        None => [&data, b"", b""],
    };
    Ok(Value::tuple(
        parts.iter().map(|p| same_kind(recv, p.to_vec())).collect(),
    ))
}

fn partition(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    partition_impl(&args, "partition", false)
}

fn rpartition(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    partition_impl(&args, "rpartition", true)
}

fn affix_remove(args: &Args<'_>, name: &str, suffix: bool) -> PyResult<Value> {
    let (recv, data) = recv_bytes(args, name)?;
    let p = arg_bytes(rest(args).one(&qualified(args, name))?)?;
    let r = if suffix {
        data.strip_suffix(&*p)
    } else {
        data.strip_prefix(&*p)
    };
    Ok(same_kind(recv, r.unwrap_or(&data).to_vec()))
}

fn removeprefix(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    affix_remove(&args, "removeprefix", false)
}

fn removesuffix(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    affix_remove(&args, "removesuffix", true)
}

macro_rules! transform {
    ($fname:ident, $name:literal, $f:expr) => {
        fn $fname(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
            let (recv, data) = recv_bytes(&args, $name)?;
            rest(&args).none(&qualified(&args, $name))?;
            let f: fn(&[u8]) -> Vec<u8> = $f;
            Ok(same_kind(recv, f(&data)))
        }
    };
}

transform!(upper, "upper", |d| d.to_ascii_uppercase());
transform!(lower, "lower", |d| d.to_ascii_lowercase());
transform!(capitalize, "capitalize", |d| d
    .iter()
    .enumerate()
    .map(|(i, c)| if i == 0 {
        c.to_ascii_uppercase()
    } else {
        c.to_ascii_lowercase()
    })
    .collect());
transform!(swapcase, "swapcase", |d| d
    .iter()
    .map(|c| if c.is_ascii_uppercase() {
        c.to_ascii_lowercase()
    } else {
        c.to_ascii_uppercase()
    })
    .collect());

transform!(title, "title", |d| {
    // Upper-case a letter after a non-letter, lower-case one after a letter (ASCII only).
    let mut prev_cased = false;
    d.iter()
        .map(|&c| {
            let out = if prev_cased {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            };
            prev_cased = c.is_ascii_alphabetic();
            out
        })
        .collect()
});

/// `istitle()`: some letter, every upper-case letter after a non-letter and every lower-case
/// one after a letter.
fn is_title(d: &[u8]) -> bool {
    super::text::title_shaped(
        d.iter().map(|&b| char::from(b)),
        |c| c.is_ascii_uppercase(),
        |c| c.is_ascii_lowercase(),
    )
}

/// `expandtabs(tabsize=8)`: each tab becomes spaces up to the next multiple of `tabsize`
/// columns; newlines and carriage returns restart the column count.
fn expandtabs(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (recv, data) = recv_bytes(&args, "expandtabs")?;
    let a = rest(&args);
    let name = qualified(&args, "expandtabs");
    if let Some((k, _)) = a.kw.iter().find(|(k, _)| &**k != "tabsize") {
        raise!(
            TypeError,
            "{name}() got an unexpected keyword argument '{k}'"
        );
    }
    let tabsize = match a.pos_or_kw(&name, 0, "tabsize")? {
        None => 8,
        Some(v) => interp.index_arg(v)?,
    };
    let mut out = Vec::with_capacity(data.len());
    let mut col: i64 = 0;
    for &c in data.iter() {
        match c {
            b'\t' => {
                if tabsize > 0 {
                    let n = tabsize - col.rem_euclid(tabsize);
                    out.extend(std::iter::repeat_n(b' ', usize::try_from(n).unwrap_or(0)));
                    col += n;
                }
            }
            b'\n' | b'\r' => {
                out.push(c);
                col = 0;
            }
            _ => {
                out.push(c);
                col += 1;
            }
        }
    }
    Ok(same_kind(recv, out))
}

/// `translate(table, /, delete=b'')`: delete the bytes of `delete`, then map each byte through
/// the 256-byte `table` (None: no mapping).
fn translate(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (recv, data) = recv_bytes(&args, "translate")?;
    let a = rest(&args);
    let name = qualified(&args, "translate");
    if let Some((k, _)) = a.kw.iter().find(|(k, _)| &**k != "delete") {
        raise!(
            TypeError,
            "{name}() got an unexpected keyword argument '{k}'"
        );
    }
    let n = a.pos.len();
    if n == 0 || n > 2 {
        raise!(
            TypeError,
            "{name}() takes from 1 to 2 arguments ({n} given)"
        );
    }
    let table = match a.get(0) {
        None | Some(Value::None) => None,
        Some(v) => match bytes_like(v) {
            Some(t) if t.len() == 256 => Some(t),
            Some(_) => raise!(ValueError, "translation table must be 256 characters long"),
            None => raise!(
                TypeError,
                "a bytes-like object is required, not '{}'",
                type_name(v)
            ),
        },
    };
    let delete = match a.get(1).or_else(|| a.kwarg("delete")) {
        None => Cow::Borrowed(&[][..]),
        Some(v) => bytes_like(v).ok_or_else(|| {
            err!(
                TypeError,
                "a bytes-like object is required, not '{}'",
                type_name(v)
            )
        })?,
    };
    // Without bytes to delete (the common call), one table load per byte: a loop the compiler
    // keeps tight (the general filter-and-map took about 25 machine instructions a byte).
    let out = match (&table, delete.is_empty()) {
        (Some(t), true) => data.iter().map(|&c| t[usize::from(c)]).collect(),
        (None, true) => data.to_vec(),
        _ => data
            .iter()
            .filter(|c| !delete.contains(c))
            .map(|&c| table.as_ref().map_or(c, |t| t[usize::from(c)]))
            .collect(),
    };
    Ok(same_kind(recv, out))
}

/// `bytes.maketrans(frm, to)`: the 256-byte table mapping each byte of `frm` to the byte of
/// `to` at the same place (a static method: called on the class or on an instance).
fn maketrans(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (frm, to) = match args.pos {
        [f, t] | [_, f, t] => (f, t),
        _ => raise!(
            TypeError,
            "maketrans expected 2 arguments, got {}",
            args.pos.len().min(2)
        ),
    };
    fn as_bytes(v: &Value) -> PyResult<Cow<'_, [u8]>> {
        bytes_like(v).ok_or_else(|| {
            err!(
                TypeError,
                "a bytes-like object is required, not '{}'",
                type_name(v)
            )
        })
    }
    let (frm, to) = (as_bytes(frm)?, as_bytes(to)?);
    if frm.len() != to.len() {
        raise!(ValueError, "maketrans arguments must have same length");
    }
    let mut table: Vec<u8> = (0..=255).collect();
    for (&f, &t) in frm.iter().zip(to.iter()) {
        table[usize::from(f)] = t;
    }
    Ok(Value::bytes(table))
}

macro_rules! predicate {
    ($fname:ident, $name:literal, $f:expr) => {
        fn $fname(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
            let (_, data) = recv_bytes(&args, $name)?;
            rest(&args).none(&qualified(&args, $name))?;
            let f: fn(&[u8]) -> bool = $f;
            Ok(Value::Bool(f(&data)))
        }
    };
}

predicate!(isdigit, "isdigit", |d| !d.is_empty()
    && d.iter().all(u8::is_ascii_digit));
predicate!(isalpha, "isalpha", |d| !d.is_empty()
    && d.iter().all(u8::is_ascii_alphabetic));
predicate!(isalnum, "isalnum", |d| !d.is_empty()
    && d.iter().all(u8::is_ascii_alphanumeric));
predicate!(isspace, "isspace", |d| !d.is_empty()
    && d.iter().all(|c| is_space(*c)));
predicate!(isascii, "isascii", |d| d.is_ascii());
predicate!(istitle, "istitle", is_title);
predicate!(isupper, "isupper", |d| d.iter().any(u8::is_ascii_uppercase)
    && !d.iter().any(u8::is_ascii_lowercase));
predicate!(islower, "islower", |d| d.iter().any(u8::is_ascii_lowercase)
    && !d.iter().any(u8::is_ascii_uppercase));

/// (width, fill byte) of `center`/`ljust`/`rjust`.
fn pad_args(interp: &mut Interp, args: &Args<'_>, name: &str) -> PyResult<(usize, u8)> {
    let a = rest(args);
    a.range(&qualified(args, name), 1, 2)?;
    let width = interp.index_arg(a.get(0).unwrap_or(&Value::None))?;
    let fill = match a.get(1) {
        None => b' ',
        Some(v) => match bytes_like(v) {
            Some(b) if b.len() == 1 => b[0],
            _ => raise!(
                TypeError,
                "{name}() argument 2 must be a byte string of length 1, not {}",
                type_name(v)
            ),
        },
    };
    if width > (1 << 30) {
        raise!(MemoryError, "");
    }
    Ok((width.max(0) as usize, fill))
}

fn padded(recv: &Value, data: &[u8], left: usize, right: usize, fill: u8) -> Value {
    let mut out = vec![fill; left];
    out.extend_from_slice(data);
    out.extend(std::iter::repeat_n(fill, right));
    same_kind(recv, out)
}

fn center(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (recv, data) = recv_bytes(&args, "center")?;
    let (w, fill) = pad_args(interp, &args, "center")?;
    let (l, r) = text::center_pad(data.len(), w);
    Ok(padded(recv, &data, l, r, fill))
}

fn ljust(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (recv, data) = recv_bytes(&args, "ljust")?;
    let (w, fill) = pad_args(interp, &args, "ljust")?;
    Ok(padded(recv, &data, 0, w.saturating_sub(data.len()), fill))
}

fn rjust(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (recv, data) = recv_bytes(&args, "rjust")?;
    let (w, fill) = pad_args(interp, &args, "rjust")?;
    Ok(padded(recv, &data, w.saturating_sub(data.len()), 0, fill))
}

fn zfill(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (recv, data) = recv_bytes(&args, "zfill")?;
    let w = interp.index_arg(rest(&args).one(&qualified(&args, "zfill"))?)?;
    if w > (1 << 30) {
        raise!(MemoryError, "");
    }
    let n = (w.max(0) as usize).saturating_sub(data.len());
    let (sign, digits) = match data.first() {
        Some(c @ (b'+' | b'-')) => (Some(*c), &data[1..]),
        _ => (None, &data[..]),
    };
    let mut out = Vec::with_capacity(data.len() + n);
    out.extend(sign);
    out.extend(std::iter::repeat_n(b'0', n));
    out.extend_from_slice(digits);
    Ok(same_kind(recv, out))
}

// ---------------------------------------------------------------- bytearray mutation

fn recv_ba<'a>(args: &Args<'a>, meth: &str) -> PyResult<&'a Ref<crate::object::ByteArray>> {
    match args.pos.first() {
        Some(Value::ByteArray(b)) => Ok(b),
        Some(other) => Err(crate::builtins::args::descriptor_error(
            "bytearray",
            meth,
            other,
        )),
        None => raise!(
            TypeError,
            "unbound method bytearray.{meth}() needs an argument"
        ),
    }
}

fn ba_append(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let ba = recv_ba(&args, "append")?;
    let b = byte_value(rest(&args).one("bytearray.append")?)?;
    let mut data = ba.data.lock();
    ba.check_resize(data.len(), data.len() + 1)?;
    data.push(b);
    Ok(Value::None)
}

fn ba_extend(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let ba = recv_ba(&args, "extend")?;
    let src = rest(&args).one("bytearray.extend")?;
    if let Value::Str(_) = src {
        raise!(TypeError, "expected iterable of integers; got: 'str'");
    }
    let data = from_object(interp, src, true).map_err(|e| {
        if e.is(ExcKind::TypeError) && matches!(src, Value::Int(_) | Value::Float(_)) {
            err!(TypeError, "can't extend bytearray with {}", type_name(src))
        } else {
            e
        }
    })?;
    let mut bytes = ba.data.lock();
    ba.check_resize(bytes.len(), bytes.len() + data.len())?;
    bytes.extend(data);
    Ok(Value::None)
}

fn ba_pop(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let ba = recv_ba(&args, "pop")?;
    let a = rest(&args);
    a.clinic("pop", 0, 1)?;
    a.no_kw("bytearray.pop")?;
    let mut data = ba.data.lock();
    if data.is_empty() {
        raise!(IndexError, "pop from empty bytearray");
    }
    let i = match a.get(0) {
        None => -1,
        Some(v) => interp.index_arg(v)?,
    };
    match seq_index(i, data.len()) {
        Some(j) => {
            ba.check_resize(data.len(), data.len() - 1)?;
            Ok(Value::Int(data.remove(j) as i64))
        }
        None => raise!(IndexError, "pop index out of range"),
    }
}

fn ba_clear(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let ba = recv_ba(&args, "clear")?;
    rest(&args).none("bytearray.clear")?;
    let mut data = ba.data.lock();
    ba.check_resize(data.len(), 0)?;
    data.clear();
    Ok(Value::None)
}

fn ba_insert(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let ba = recv_ba(&args, "insert")?;
    let a = rest(&args);
    a.no_kw("bytearray.insert")?;
    if a.pos.len() != 2 {
        raise!(
            TypeError,
            "insert expected 2 arguments, got {}",
            a.pos.len()
        );
    }
    let i = interp.index_arg(&a.pos[0])?;
    let b = byte_value(&a.pos[1])?;
    let mut data = ba.data.lock();
    let n = data.len() as i64;
    let at = if i < 0 { (i + n).max(0) } else { i.min(n) };
    ba.check_resize(data.len(), data.len() + 1)?;
    data.insert(at as usize, b);
    Ok(Value::None)
}

fn ba_remove(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let ba = recv_ba(&args, "remove")?;
    let b = byte_value(rest(&args).one("bytearray.remove")?)?;
    let mut data = ba.data.lock();
    match data.iter().position(|&c| c == b) {
        Some(i) => {
            ba.check_resize(data.len(), data.len() - 1)?;
            data.remove(i);
            Ok(Value::None)
        }
        None => raise!(ValueError, "value not found in bytearray"),
    }
}

fn ba_reverse(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let ba = recv_ba(&args, "reverse")?;
    rest(&args).none("bytearray.reverse")?;
    ba.data.lock().reverse();
    Ok(Value::None)
}

fn ba_copy(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let ba = recv_ba(&args, "copy")?;
    rest(&args).none("bytearray.copy")?;
    Ok(Value::bytearray(ba.snapshot()))
}
