//! `_struct` (stdlib stage): packing values into C structs held in `bytes` and back, the core of
//! the `struct` module (`vm/lib/struct.mini` adds `Struct` and `iter_unpack` on top, as CPython's
//! `struct.py` re-exports its C `_struct`).
//!
//! A format is an optional byte order (`@` native with alignment, `=` native order with standard
//! sizes, `<` little, `>` and `!` big endian) then items: an optional repeat count and a code
//! (`x c b B ? h H i I l L q Q n N e f d s p P`), whitespace between items ignored. Native means
//! what CPython does on 64-bit Linux: little endian, `l`/`L`/`n`/`N`/`P` 8 bytes, each item
//! aligned to its size. Errors are `struct.error` with CPython 3.11's messages.

use num_traits::{Signed, ToPrimitive};

use crate::builtins::args::ArgsExt;
use crate::builtins::Methods;
use crate::heap::{Global, Ref};
use crate::interp::{Args, Interp};
use crate::num::bigint::BigInt;
use crate::object::{type_name, Class, ExcKind, Module};
use crate::stdlib::sync::exception_class;
use crate::value::Value;
use crate::{err, PyErr, PyResult};

const FUNCS: Methods = &[
    ("calcsize", calcsize),
    ("pack", pack),
    ("unpack", unpack),
    ("pack_into", pack_into),
    ("unpack_from", unpack_from),
];

static ERROR: Global<Ref<Class>> = Global::new();

/// `struct.error`.
fn error_class() -> Ref<Class> {
    ERROR
        .get_or_init(|| exception_class("error", "struct", ExcKind::Exception))
        .clone()
}

pub fn module() -> Ref<Module> {
    super::module_from_fns(
        "_struct",
        FUNCS,
        vec![("error", Value::Class(error_class()))],
    )
}

/// A `struct.error` with `msg`.
fn error(interp: &mut Interp, msg: String) -> PyErr {
    let cls = error_class();
    match interp.instantiate(&cls, &[Value::str(&msg)], &[]) {
        Ok(v) => PyErr::from_instance(&v).unwrap_or_else(|| err!(SystemError, "struct.error")),
        Err(e) => e,
    }
}

/// Where the bytes of a format go: the byte order, and whether sizes and alignment are native.
#[derive(Clone, Copy, PartialEq)]
enum Order {
    /// `@`: native order, native sizes, aligned.
    Native,
    /// `=`, `<`: little endian, standard sizes.
    Little,
    /// `>`, `!`: big endian, standard sizes.
    Big,
}

/// One item of a parsed format: `count` repeats of `code` (for `s`/`p` one item of `count`
/// bytes), starting at `offset`.
struct Item {
    code: u8,
    count: usize,
    offset: usize,
    size: usize,
}

/// A parsed format.
struct Layout {
    order: Order,
    items: Vec<Item>,
    /// Total bytes.
    size: usize,
    /// How many values `pack` takes and `unpack` returns.
    values: usize,
}

/// The size of one item of `code`, `None` for a code the byte order does not have.
fn item_size(code: u8, order: Order) -> Option<usize> {
    let native = order == Order::Native;
    Some(match code {
        b'x' | b'c' | b'b' | b'B' | b'?' | b's' | b'p' => 1,
        b'h' | b'H' | b'e' => 2,
        b'i' | b'I' | b'f' => 4,
        b'l' | b'L' => {
            if native {
                8
            } else {
                4
            }
        }
        b'q' | b'Q' | b'd' => 8,
        b'n' | b'N' | b'P' if native => 8,
        _ => return None,
    })
}

/// The size of one native item of `code` (`None` for a code that is not one); for
/// `memoryview.cast`, whose formats are the native single-item ones.
pub fn native_size(code: u8) -> Option<usize> {
    if matches!(code, b'x' | b's' | b'p') {
        return None;
    }
    item_size(code, Order::Native)
}

/// The value of one native item of `code` from its bytes (`bytes.len()` is its size).
pub fn unpack_native(code: u8, bytes: &[u8]) -> Value {
    let mut le = [0u8; 8];
    let size = bytes.len().min(8);
    le[..size].copy_from_slice(&bytes[..size]);
    unpack_one(code, size, le)
}

/// The bytes of one native item of `code` holding `v`, with `struct`'s checks (its errors).
pub fn pack_native(interp: &mut Interp, code: u8, v: &Value) -> PyResult<Vec<u8>> {
    let size = native_size(code).unwrap_or(1);
    let le = pack_one(interp, code, size, Order::Native, v)?;
    Ok(le[..size].to_vec())
}

/// How many parsed formats each thread keeps ([`cached_layout`]).
const LAYOUT_CACHE: usize = 16;

/// A format's bytes and its layout.
type CachedLayout = (Box<[u8]>, std::rc::Rc<Layout>);

thread_local! {
    /// The formats parsed last, with their layouts, newest last.
    static LAYOUTS: std::cell::RefCell<Vec<CachedLayout>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// [`layout`], remembered for the last few formats, as CPython's `struct` caches the `Struct`
/// objects of the formats it is given: `unpack('>Q', data)` in a loop parsed the format, and
/// copied it and the data, at every call (~950 machine instructions a call, callgrind on
/// pyperformance telco). A format that fails to parse is not remembered.
fn cached_layout(interp: &mut Interp, fmt: &[u8]) -> PyResult<std::rc::Rc<Layout>> {
    let hit = LAYOUTS.with(|c| {
        c.borrow()
            .iter()
            .rev()
            .find(|(f, _)| **f == *fmt)
            .map(|(_, l)| l.clone())
    });
    if let Some(l) = hit {
        return Ok(l);
    }
    let l = std::rc::Rc::new(layout(interp, fmt)?);
    LAYOUTS.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() == LAYOUT_CACHE {
            c.remove(0);
        }
        c.push((fmt.into(), l.clone()));
    });
    Ok(l)
}

/// Parse `fmt` as CPython's `prepare_s` does.
fn layout(interp: &mut Interp, fmt: &[u8]) -> PyResult<Layout> {
    // (CPython converts the format to a C string first.)
    if fmt.contains(&0) {
        return Err(error(interp, "embedded null character".into()));
    }
    let (order, body) = match fmt.first() {
        Some(b'@') => (Order::Native, &fmt[1..]),
        Some(b'=' | b'<') => (Order::Little, &fmt[1..]),
        Some(b'>' | b'!') => (Order::Big, &fmt[1..]),
        _ => (Order::Native, fmt),
    };
    let mut items = Vec::new();
    let mut size = 0usize;
    let mut values = 0usize;
    let mut i = 0;
    while i < body.len() {
        let mut c = body[i];
        i += 1;
        if c.is_ascii_whitespace() {
            continue;
        }
        let mut count = 1usize;
        if c.is_ascii_digit() {
            let mut n = usize::from(c - b'0');
            loop {
                match body.get(i) {
                    Some(d) if d.is_ascii_digit() => {
                        n = match n
                            .checked_mul(10)
                            .and_then(|n| n.checked_add(usize::from(d - b'0')))
                        {
                            Some(n) => n,
                            None => return Err(error(interp, "total struct size too long".into())),
                        };
                        i += 1;
                    }
                    Some(d) => {
                        c = *d;
                        i += 1;
                        break;
                    }
                    None => {
                        return Err(error(
                            interp,
                            "repeat count given without format specifier".into(),
                        ))
                    }
                }
            }
            count = n;
        }
        let Some(width) = item_size(c, order) else {
            return Err(error(interp, "bad char in struct format".into()));
        };
        if order == Order::Native && !matches!(c, b's' | b'p') {
            // Align to the item's own size, as a C compiler lays out a struct on this machine.
            size = size.next_multiple_of(width);
        }
        let total = if matches!(c, b's' | b'p') {
            count
        } else {
            width.saturating_mul(count)
        };
        let offset = size;
        size = match size.checked_add(total) {
            Some(s) if s <= isize::MAX as usize => s,
            _ => return Err(error(interp, "total struct size too long".into())),
        };
        values += match c {
            b'x' => 0,
            b's' | b'p' => 1,
            _ => count,
        };
        items.push(Item {
            code: c,
            count,
            offset,
            size: width,
        });
    }
    Ok(Layout {
        order,
        items,
        size,
        values,
    })
}

/// The format argument: a str or bytes.
fn format_arg(v: &Value) -> PyResult<&[u8]> {
    match v {
        Value::Str(s) => Ok(s.as_str().as_bytes()),
        Value::Bytes(b) => Ok(b.as_bytes()),
        other => Err(err!(
            TypeError,
            "Struct() argument 1 must be a str or bytes object, not {}",
            type_name(other)
        )),
    }
}

/// The bytes of a buffer argument (`bytes` or `bytearray`), borrowed from a `bytes`.
fn buffer_arg(v: &Value) -> PyResult<std::borrow::Cow<'_, [u8]>> {
    match crate::object::bytes_like(v) {
        Some(b) => Ok(b),
        None => Err(err!(
            TypeError,
            "a bytes-like object is required, not '{}'",
            type_name(v)
        )),
    }
}

fn calcsize(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let fmt = format_arg(args.one("calcsize")?)?;
    let l = cached_layout(interp, fmt)?;
    Ok(Value::Int(l.size as i64))
}

fn pack(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.no_kw("pack")?;
    let Some((fmt, vals)) = args.pos.split_first() else {
        return Err(err!(TypeError, "pack expected at least 1 argument, got 0"));
    };
    let l = cached_layout(interp, format_arg(fmt)?)?;
    if vals.len() != l.values {
        let msg = format!(
            "pack expected {} items for packing (got {})",
            l.values,
            vals.len()
        );
        return Err(error(interp, msg));
    }
    let mut out = vec![0u8; l.size];
    pack_values(interp, &l, vals, &mut out)?;
    Ok(Value::bytes(out))
}

fn pack_into(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.no_kw("pack_into")?;
    if args.pos.len() < 3 {
        return Err(err!(
            TypeError,
            "pack_into expected at least 3 arguments, got {}",
            args.pos.len()
        ));
    }
    let l = cached_layout(interp, format_arg(&args.pos[0])?)?;
    let vals = &args.pos[3..];
    if vals.len() != l.values {
        let msg = format!(
            "pack_into expected {} items for packing (got {})",
            l.values,
            vals.len()
        );
        return Err(error(interp, msg));
    }
    let buf = &args.pos[1];
    let Some(len) = crate::builtins::memoryview::writable_buffer_len(buf) else {
        return Err(err!(
            TypeError,
            "argument must be read-write bytes-like object, not {}",
            type_name(buf)
        ));
    };
    let mut offset = crate::builtins::args::to_index(&args.pos[2])?;
    if offset < 0 {
        if offset + (l.size as i64) > 0 {
            let msg = format!("no space to pack {} bytes at offset {offset}", l.size);
            return Err(error(interp, msg));
        }
        if offset + (len as i64) < 0 {
            let msg = format!("offset {offset} out of range for {len}-byte buffer");
            return Err(error(interp, msg));
        }
        offset += len as i64;
    }
    let offset = offset as usize;
    if len < offset || len - offset < l.size {
        let msg = format!(
            "pack_into requires a buffer of at least {} bytes for packing {} bytes at offset {offset} (actual buffer size is {len})",
            l.size + offset,
            l.size
        );
        return Err(error(interp, msg));
    }
    let mut out = vec![0u8; l.size];
    pack_values(interp, &l, vals, &mut out)?;
    // The buffer may have changed size while the values were converted (`__index__` ran).
    if crate::builtins::memoryview::writable_buffer_len(buf).is_some_and(|n| n >= offset + l.size) {
        crate::builtins::memoryview::write_buffer(buf, offset, &out)?;
    }
    Ok(Value::None)
}

fn unpack(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("unpack", 2, 2)?;
    let l = cached_layout(interp, format_arg(&args.pos[0])?)?;
    let data = buffer_arg(&args.pos[1])?;
    if data.len() != l.size {
        let msg = format!("unpack requires a buffer of {} bytes", l.size);
        return Err(error(interp, msg));
    }
    Ok(Value::tuple(unpack_values(interp, &l, &data)?))
}

fn unpack_from(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let fmt = super::arg(&args, 0, "format");
    let buffer = super::arg(&args, 1, "buffer");
    let (Some(fmt), Some(buffer)) = (fmt, buffer) else {
        return Err(err!(
            TypeError,
            "unpack_from() missing required argument 'buffer' (pos 2)"
        ));
    };
    let l = cached_layout(interp, format_arg(fmt)?)?;
    let data = buffer_arg(buffer)?;
    let len = data.len();
    let mut offset = match super::arg(&args, 2, "offset") {
        Some(v) => crate::builtins::args::to_index(v)?,
        None => 0,
    };
    if offset < 0 {
        if offset + (len as i64) < 0 {
            let msg = format!("offset {offset} out of range for {len}-byte buffer");
            return Err(error(interp, msg));
        }
        if offset + (l.size as i64) > 0 {
            let msg = format!(
                "not enough data to unpack {} bytes at offset {offset}",
                l.size
            );
            return Err(error(interp, msg));
        }
        offset += len as i64;
    }
    let offset = offset as usize;
    if len < offset || len - offset < l.size {
        let msg = format!(
            "unpack_from requires a buffer of at least {} bytes for unpacking {} bytes at offset {offset} (actual buffer size is {len})",
            l.size + offset,
            l.size
        );
        return Err(error(interp, msg));
    }
    Ok(Value::tuple(unpack_values(
        interp,
        &l,
        &data[offset..offset + l.size],
    )?))
}

/// Write `vals` into `out` (`l.size` bytes) as the layout says.
fn pack_values(interp: &mut Interp, l: &Layout, vals: &[Value], out: &mut [u8]) -> PyResult<()> {
    let mut vals = vals.iter();
    for item in &l.items {
        match item.code {
            b'x' => {}
            b's' | b'p' => {
                let v = vals.next().unwrap_or(&Value::None);
                let data = match v {
                    Value::Bytes(b) => b.as_bytes().to_vec(),
                    Value::ByteArray(b) => b.snapshot(),
                    _ => {
                        let msg = format!(
                            "argument for '{}' must be a bytes object",
                            char::from(item.code)
                        );
                        return Err(error(interp, msg));
                    }
                };
                let dst = &mut out[item.offset..item.offset + item.count];
                if item.code == b's' {
                    let n = data.len().min(item.count);
                    dst[..n].copy_from_slice(&data[..n]);
                } else if item.count > 0 {
                    // A Pascal string: a length byte, then the bytes (at most 255 of them).
                    let n = data.len().min(item.count - 1).min(255);
                    dst[0] = n as u8;
                    dst[1..1 + n].copy_from_slice(&data[..n]);
                }
            }
            _ => {
                for k in 0..item.count {
                    let v = vals.next().unwrap_or(&Value::None);
                    let at = item.offset + k * item.size;
                    let raw = match pack_one(interp, item.code, item.size, l.order, v) {
                        Ok(raw) => raw,
                        // CPython turns an OverflowError from packing an int into this.
                        Err(e)
                            if e.is(ExcKind::OverflowError)
                                && matches!(
                                    v,
                                    Value::Int(_) | Value::BigInt(_) | Value::Bool(_)
                                ) =>
                        {
                            return Err(error(interp, "int too large to convert".into()))
                        }
                        Err(e) => return Err(e),
                    };
                    out[at..at + item.size].copy_from_slice(&raw[..item.size]);
                }
            }
        }
    }
    Ok(())
}

/// The bytes of one value of `code` (`size` of them are used), in the layout's byte order.
fn pack_one(
    interp: &mut Interp,
    code: u8,
    size: usize,
    order: Order,
    v: &Value,
) -> PyResult<[u8; 8]> {
    let mut le = [0u8; 8];
    match code {
        b'c' => match v {
            Value::Bytes(b) if b.as_bytes().len() == 1 => le[0] = b.as_bytes()[0],
            _ => {
                return Err(error(
                    interp,
                    "char format requires a bytes object of length 1".into(),
                ))
            }
        },
        b'?' => le[0] = u8::from(interp.truthy(v)?),
        b'e' | b'f' | b'd' => {
            // A NaN's payload is minivm's identity counter (`num::fresh_nan`): CPython's bits.
            let x = crate::num::plain_nan(float_arg(interp, v)?);
            match code {
                b'e' => le[..2].copy_from_slice(&f16_bits(x)?.to_le_bytes()),
                b'f' => {
                    let y = x as f32;
                    if order != Order::Native && y.is_infinite() && x.is_finite() {
                        return Err(err!(OverflowError, "float too large to pack with f format"));
                    }
                    le[..4].copy_from_slice(&y.to_le_bytes());
                }
                _ => le = x.to_le_bytes(),
            }
        }
        _ => {
            let n = int_arg(interp, v)?;
            le = pack_int(interp, code, size, order, &n)?.to_le_bytes();
        }
    }
    if order == Order::Big {
        le[..size].reverse();
    }
    Ok(le)
}

/// An integer code's value as the low bytes of a `u64`, with CPython 3.11's range checks and
/// messages on x86-64, which depend on the C function that packs the code in each byte order:
/// `b B` (and `h H` in native and little-endian order) name their C type (`ubyte format
/// requires 0 <= number <= 255`), other sizes below 8 bytes name the code, and a value that does
/// not fit the C `long`/`unsigned long` first read is `argument out of range` (big-endian `q Q`
/// say `int too large to convert`).
fn pack_int(interp: &mut Interp, code: u8, size: usize, order: Order, n: &BigInt) -> PyResult<u64> {
    let big_wide = order == Order::Big && size == 8;
    let out_of_range = |interp: &mut Interp| {
        let msg = if big_wide {
            "int too large to convert"
        } else {
            "argument out of range"
        };
        error(interp, msg.into())
    };
    let named = matches!(code, b'b' | b'B') || (matches!(code, b'h' | b'H') && order != Order::Big);
    // `b B` and the named `h H` are read as a signed C long; other unsigned codes as unsigned.
    let signed = code.is_ascii_lowercase() || named;
    let wide = if signed {
        match n.to_i64() {
            Some(x) => x as u64,
            None => return Err(out_of_range(interp)),
        }
    } else if n.is_negative() {
        return Err(out_of_range(interp));
    } else {
        match n.to_u64() {
            Some(x) => x,
            None => return Err(out_of_range(interp)),
        }
    };
    let range = |interp: &mut Interp, msg: String| Err(error(interp, msg));
    if named {
        let x = wide as i64;
        let (lo, hi, name) = match code {
            b'b' => (-128, 127, "byte"),
            b'B' => (0, 255, "ubyte"),
            b'h' => (-32768, 32767, "short"),
            _ => (0, 65535, "ushort"),
        };
        if x < lo || x > hi {
            return range(
                interp,
                format!("{name} format requires {lo} <= number <= {hi}"),
            );
        }
    } else if size < 8 {
        let bits = 8 * size as u32;
        let c = char::from(code);
        if code.is_ascii_lowercase() {
            let x = wide as i64;
            let hi = (1i64 << (bits - 1)) - 1;
            if x < -hi - 1 || x > hi {
                return range(
                    interp,
                    format!("'{c}' format requires {} <= number <= {hi}", -hi - 1),
                );
            }
        } else {
            let hi = (1u64 << bits) - 1;
            if wide > hi {
                return range(interp, format!("'{c}' format requires 0 <= number <= {hi}"));
            }
        }
    }
    Ok(wide)
}

/// An integer argument: an int, or an object with `__index__` (not a float).
fn int_arg(interp: &mut Interp, v: &Value) -> PyResult<BigInt> {
    match v {
        Value::Int(i) => return Ok(BigInt::from(*i)),
        Value::Bool(b) => return Ok(BigInt::from(i64::from(*b))),
        Value::BigInt(b) => return Ok((**b).clone()),
        _ => {}
    }
    if let Some(i) = interp.number_index(v)? {
        return int_arg(interp, &i);
    }
    Err(error(interp, "required argument is not an integer".into()))
}

/// A float argument: a float, an int, or an object with `__float__` or `__index__`.
fn float_arg(interp: &mut Interp, v: &Value) -> PyResult<f64> {
    match v {
        Value::Float(f) => return Ok(*f),
        Value::Int(i) => return Ok(*i as f64),
        Value::Bool(b) => return Ok(f64::from(u8::from(*b))),
        Value::BigInt(b) => {
            return match crate::num::bigint::to_f64(b) {
                Ok(f) => Ok(f),
                // CPython's conversion fails, and struct reports it as not a float.
                Err(_) => Err(error(interp, "required argument is not a float".into())),
            };
        }
        _ => {}
    }
    if let Some(base) = crate::object::builtin_base(v) {
        if matches!(
            base,
            Value::Int(_) | Value::BigInt(_) | Value::Bool(_) | Value::Float(_)
        ) {
            return float_arg(interp, base);
        }
    }
    for name in ["__float__", "__index__"] {
        if let Some(f) = interp.lookup_special(v, name) {
            let r = interp.call(&f, std::slice::from_ref(v))?;
            return match r {
                Value::Float(_) | Value::Int(_) | Value::BigInt(_) => float_arg(interp, &r),
                other => Err(err!(
                    TypeError,
                    "{name} returned non-float (type {})",
                    type_name(&other)
                )),
            };
        }
    }
    Err(error(interp, "required argument is not a float".into()))
}

/// The values `data` (`l.size` bytes) holds, as the layout says.
fn unpack_values(interp: &mut Interp, l: &Layout, data: &[u8]) -> PyResult<Vec<Value>> {
    let _ = interp;
    let mut out = Vec::with_capacity(l.values);
    for item in &l.items {
        match item.code {
            b'x' => {}
            b's' => out.push(Value::bytes(
                data[item.offset..item.offset + item.count].to_vec(),
            )),
            b'p' => {
                if item.count == 0 {
                    out.push(Value::bytes(Vec::new()));
                } else {
                    let n = usize::from(data[item.offset]).min(item.count - 1);
                    out.push(Value::bytes(
                        data[item.offset + 1..item.offset + 1 + n].to_vec(),
                    ));
                }
            }
            _ => {
                for k in 0..item.count {
                    let at = item.offset + k * item.size;
                    let mut le = [0u8; 8];
                    le[..item.size].copy_from_slice(&data[at..at + item.size]);
                    if l.order == Order::Big {
                        le[..item.size].reverse();
                    }
                    out.push(unpack_one(item.code, item.size, le));
                }
            }
        }
    }
    Ok(out)
}

/// One value of `code` from its little-endian bytes.
fn unpack_one(code: u8, size: usize, le: [u8; 8]) -> Value {
    let raw = u64::from_le_bytes(le);
    match code {
        b'c' => Value::bytes(vec![le[0]]),
        b'?' => Value::Bool(le[0] != 0),
        // A NaN read is a new float each time (`num::fresh_nan`), as CPython's new object:
        // two unpacks of the same bytes are not `is` each other, so `a in [b]` is False.
        b'e' => Value::Float(crate::num::new_float(f16_value(raw as u16))),
        b'f' => Value::Float(crate::num::new_float(f64::from(f32::from_bits(raw as u32)))),
        b'd' => Value::Float(crate::num::new_float(f64::from_bits(raw))),
        _ if code.is_ascii_lowercase() => {
            // Sign-extend from the item's width.
            let shift = 64 - 8 * size as u32;
            Value::Int(((raw << shift) as i64) >> shift)
        }
        _ => match i64::try_from(raw) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::from(BigInt::from(raw)),
        },
    }
}

/// IEEE 754 half precision bits of `x`, rounded to nearest even, as CPython's `PyFloat_Pack2`;
/// a finite value too large is `OverflowError`.
fn f16_bits(x: f64) -> PyResult<u16> {
    let sign: u16 = if x.is_sign_negative() { 0x8000 } else { 0 };
    if x.is_nan() {
        return Ok(sign | 0x7e00);
    }
    if x.is_infinite() {
        return Ok(sign | 0x7c00);
    }
    let a = x.abs();
    if a == 0.0 {
        return Ok(sign);
    }
    let too_large = || err!(OverflowError, "float too large to pack with e format");
    // Scale to units of the smallest subnormal (2^-24) or of the value's own ulp, then round.
    let (exp, _) = frexp(a); // a = m * 2^exp, 0.5 <= m < 1
    let e = exp - 1; // a = 1.f * 2^e
    if e < -14 {
        // Subnormal: a / 2^-24 rounded to an integer (which may carry into the normal range).
        let q = round_half_even(a * 2f64.powi(24));
        return Ok(sign | q as u16);
    }
    // Normal: 10 fraction bits.
    let scaled = a / 2f64.powi(e) * 1024.0; // in [1024, 2048)
    let mut q = round_half_even(scaled) as u32;
    let mut e = e;
    if q == 2048 {
        q = 1024;
        e += 1;
    }
    if e > 15 {
        return Err(too_large());
    }
    Ok(sign | (((e + 15) as u16) << 10) | (q as u16 & 0x3ff))
}

/// `(exponent)` of `a` (> 0, finite) as C's `frexp`: `a = m * 2^exp` with `0.5 <= m < 1`.
fn frexp(a: f64) -> (i32, f64) {
    let bits = a.to_bits();
    let raw_exp = ((bits >> 52) & 0x7ff) as i32;
    if raw_exp == 0 {
        // Subnormal double: scale it up first.
        let (e, m) = frexp(a * 2f64.powi(64));
        return (e - 64, m);
    }
    let e = raw_exp - 1022;
    (e, a / 2f64.powi(e))
}

fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    }
}

/// The value of IEEE 754 half precision `bits`.
fn f16_value(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let e = i32::from((bits >> 10) & 0x1f);
    let f = f64::from(bits & 0x3ff);
    match e {
        0 => sign * f * 2f64.powi(-24),
        31 if f == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN.copysign(sign),
        _ => sign * (1.0 + f / 1024.0) * 2f64.powi(e - 15),
    }
}
