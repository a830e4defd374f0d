//! `_array` (stdlib stage): the machine representation of `array.array` items — packing values
//! to little-endian bytes, unpacking them, and rounding to a C float. The `array` class itself
//! is written in the mini language (`vm/lib/array.mini`), which checks the values first.

use num_traits::ToPrimitive;

use crate::builtins::args::{to_bigint, ArgsExt};
use crate::builtins::Methods;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::Module;
use crate::value::Value;
use crate::{err, raise, PyResult};

const FUNCS: Methods = &[
    ("pack", pack),
    ("unpack", unpack),
    ("to_float32", to_float32),
];

pub fn module() -> Ref<Module> {
    crate::stdlib::module_from_fns("_array", FUNCS, vec![])
}

/// Bytes per item, and whether the items are signed ints, unsigned ints or floats.
#[derive(Clone, Copy)]
enum Kind {
    Signed,
    Unsigned,
    Float,
}

fn layout(tc: &Value) -> PyResult<(usize, Kind)> {
    let Value::Str(s) = tc else {
        raise!(TypeError, "typecode must be a str");
    };
    Ok(match s.as_str() {
        "b" => (1, Kind::Signed),
        "B" => (1, Kind::Unsigned),
        "h" => (2, Kind::Signed),
        "H" => (2, Kind::Unsigned),
        "i" => (4, Kind::Signed),
        "I" => (4, Kind::Unsigned),
        "l" | "q" => (8, Kind::Signed),
        "L" | "Q" => (8, Kind::Unsigned),
        "f" => (4, Kind::Float),
        "d" => (8, Kind::Float),
        other => raise!(ValueError, "bad typecode {other}"),
    })
}

fn float_of(v: &Value) -> PyResult<f64> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        Value::Bool(b) => Ok(*b as i64 as f64),
        _ => raise!(TypeError, "must be real number"),
    }
}

/// `pack(typecode, values)`: the items as bytes, little-endian (values already range-checked).
fn pack(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("pack", 2, 2)?;
    let (size, kind) = layout(&args.pos[0])?;
    let Value::List(items) = &args.pos[1] else {
        raise!(TypeError, "pack() needs a list");
    };
    let items = items.items.lock().clone();
    let mut out = Vec::with_capacity(items.len() * size);
    for v in &items {
        match (kind, size) {
            (Kind::Float, 4) => out.extend((float_of(v)? as f32).to_le_bytes()),
            (Kind::Float, _) => out.extend(float_of(v)?.to_le_bytes()),
            _ => {
                let n = to_bigint(v)?
                    .to_i128()
                    .ok_or_else(|| err!(OverflowError, "int too big to convert"))?;
                out.extend(&n.to_le_bytes()[..size]);
            }
        }
    }
    Ok(Value::bytes(out))
}

/// `unpack(typecode, data)`: the items the bytes hold.
fn unpack(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("unpack", 2, 2)?;
    let (size, kind) = layout(&args.pos[0])?;
    let data = match &args.pos[1] {
        Value::Bytes(b) => b.as_bytes().to_vec(),
        Value::ByteArray(b) => b.data.lock().clone(),
        _ => raise!(TypeError, "a bytes-like object is required"),
    };
    if data.len() % size != 0 {
        raise!(ValueError, "bytes length not a multiple of item size");
    }
    let items = data
        .chunks(size)
        .map(|c| {
            let mut buf = [0u8; 16];
            buf[..size].copy_from_slice(c);
            match kind {
                Kind::Float if size == 4 => {
                    Value::Float(f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
                }
                Kind::Float => {
                    Value::Float(f64::from_le_bytes(buf[..8].try_into().unwrap_or([0; 8])))
                }
                Kind::Unsigned => {
                    Value::from(crate::num::bigint::BigInt::from(u128::from_le_bytes(buf)))
                }
                Kind::Signed => {
                    // Sign-extend from the item's width.
                    let shift = 128 - 8 * size as u32;
                    let n = (u128::from_le_bytes(buf) << shift) as i128 >> shift;
                    Value::from(crate::num::bigint::BigInt::from(n))
                }
            }
        })
        .collect();
    Ok(Value::list(items))
}

/// `to_float32(x)`: x rounded to the nearest C float, as an `array('f')` stores it.
fn to_float32(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let x = args.one("to_float32")?;
    Ok(Value::Float(float_of(x)? as f32 as f64))
}
