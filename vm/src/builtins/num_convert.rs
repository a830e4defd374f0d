//! Builtins stage: the conversions of `int` and `float` to and from other representations —
//! `int.to_bytes`/`int.from_bytes` (two's complement when `signed`) and `float.hex`/
//! `float.fromhex` (C99's `%a` notation, `0x1.8000000000000p+0`, read back correctly rounded).

use num_traits::{Signed, ToPrimitive, Zero};

use crate::builtins::args::{to_bigint, ArgsExt, Sig};
use crate::interp::{Args, Interp};
use crate::num::bigint::{BigInt, Sign};
use crate::object::{builtin_base, type_name};
use crate::value::Value;
use crate::{err, raise, PyResult};

/// The receiver of an `int` method called on an instance, or None when called on the class.
fn int_receiver(v: &Value) -> Option<&Value> {
    match v {
        Value::Int(_) | Value::Bool(_) | Value::BigInt(_) => Some(v),
        other => builtin_base(other).filter(|b| matches!(b, Value::Int(_) | Value::BigInt(_))),
    }
}

/// `'big'` or `'little'`.
fn little_endian(v: Option<&Value>) -> PyResult<bool> {
    match v {
        None => Ok(false),
        Some(Value::Str(s)) => match s.as_str() {
            "big" => Ok(false),
            "little" => Ok(true),
            _ => raise!(ValueError, "byteorder must be either 'little' or 'big'"),
        },
        Some(other) => raise!(
            TypeError,
            "to_bytes() argument 'byteorder' must be str, not {}",
            type_name(other)
        ),
    }
}

fn signed_flag(interp: &mut Interp, v: Option<&Value>) -> PyResult<bool> {
    v.map_or(Ok(false), |v| interp.truthy(v))
}

/// `int.to_bytes(length=1, byteorder='big', *, signed=False)`
pub fn to_bytes(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let Some(me) = args.pos.first().and_then(int_receiver) else {
        raise!(TypeError, "descriptor 'to_bytes' requires an 'int' object");
    };
    let [length, order, signed] = Sig::kw("to_bytes", &["length", "byteorder"], 0)
        .kwonly(&["signed"])
        .method()
        .bind::<3>(&args)?;
    let length = match length {
        Some(v) => interp.index_arg(v)?,
        None => 1,
    };
    if length < 0 {
        raise!(ValueError, "length argument must be non-negative");
    }
    let little = little_endian(order)?;
    let signed = signed_flag(interp, signed)?;
    let n = to_bigint(me)?;
    if !signed && n.is_negative() {
        raise!(OverflowError, "can't convert negative int to unsigned");
    }
    // Little-endian bytes, as few as hold the value (none for zero).
    let mut bytes = if n.is_zero() {
        Vec::new()
    } else if signed {
        n.to_signed_bytes_le()
    } else {
        n.to_bytes_le().1
    };
    if bytes.len() > length as usize {
        raise!(OverflowError, "int too big to convert");
    }
    let fill = if n.is_negative() { 0xff } else { 0 };
    bytes.resize(length as usize, fill);
    if !little {
        bytes.reverse();
    }
    Ok(Value::bytes(bytes))
}

/// `int.from_bytes(bytes, byteorder='big', *, signed=False)`, called on `int` or an instance.
pub fn from_bytes(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let skip = usize::from(args.pos.len() > 1 && args.pos.first().and_then(int_receiver).is_some());
    let args = Args {
        pos: &args.pos[skip..],
        kw: args.kw,
    };
    let [data, order, signed] = Sig::kw("from_bytes", &["bytes", "byteorder"], 1)
        .kwonly(&["signed"])
        .bind::<3>(&args)?;
    let data = data.ok_or_else(|| err!(SystemError, "from_bytes(): argument lost"))?;
    let little = little_endian(order)?;
    let signed = signed_flag(interp, signed)?;
    let mut bytes = match data {
        Value::Bytes(b) => b.as_bytes().to_vec(),
        Value::ByteArray(b) => b.data.lock().clone(),
        Value::Str(_) => raise!(TypeError, "cannot convert 'str' object to bytes"),
        other => {
            let bytes_class = Value::Class(crate::object::types().bytes.clone());
            match interp.call(&bytes_class, std::slice::from_ref(other))? {
                Value::Bytes(b) => b.as_bytes().to_vec(),
                _ => raise!(
                    TypeError,
                    "cannot convert '{}' object to bytes",
                    type_name(other)
                ),
            }
        }
    };
    if !little {
        bytes.reverse();
    }
    let n = if signed {
        BigInt::from_signed_bytes_le(&bytes)
    } else {
        BigInt::from_bytes_le(Sign::Plus, &bytes)
    };
    Ok(Value::from(n))
}

fn recv_float(args: &Args<'_>, meth: &str) -> PyResult<f64> {
    match args.pos.first() {
        Some(Value::Float(f)) => Ok(*f),
        Some(other) => match builtin_base(other) {
            Some(Value::Float(f)) => Ok(*f),
            _ => raise!(
                TypeError,
                "descriptor '{meth}' for 'float' objects doesn't apply to a '{}' object",
                type_name(other)
            ),
        },
        None => Err(crate::builtins::args::missing_receiver("float", meth)),
    }
}

/// `float.hex()`: `0x1.8000000000000p+0`, 13 hex digits of mantissa always.
pub fn float_hex(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let x = recv_float(&args, "hex")?;
    crate::builtins::args::rest(&args).none("float.hex")?;
    if x.is_nan() {
        return Ok(Value::str("nan"));
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if x.is_infinite() {
        return Ok(Value::string(format!("{sign}inf")));
    }
    if x == 0.0 {
        return Ok(Value::string(format!("{sign}0x0.0p+0")));
    }
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let mantissa = bits & ((1 << 52) - 1);
    // A subnormal has no implicit leading 1 and the smallest exponent.
    let (lead, exp) = if biased == 0 {
        (0, -1022)
    } else {
        (1, biased - 1023)
    };
    Ok(Value::string(format!(
        "{sign}0x{lead}.{mantissa:013x}p{exp:+}"
    )))
}

/// `float.fromhex(s)`, called on `float` or an instance.
pub fn float_fromhex(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = match args.pos {
        [Value::Str(s)] | [_, Value::Str(s)] => s,
        [.., other] => raise!(
            TypeError,
            "bad argument type for built-in operation ({})",
            type_name(other)
        ),
        [] => raise!(
            TypeError,
            "float.fromhex() takes exactly one argument (0 given)"
        ),
    };
    let invalid = || err!(ValueError, "invalid hexadecimal floating-point string");
    let text = s.as_str().trim();
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let value = match body.to_ascii_lowercase().as_str() {
        "inf" | "infinity" => f64::INFINITY,
        "nan" => f64::NAN,
        lower => parse_hex(lower).ok_or_else(invalid)??,
    };
    Ok(Value::Float(if negative { -value } else { value }))
}

/// `[0x]digits[.digits][p[+-]exp]` (lowercase): None if malformed; an error if too large.
fn parse_hex(s: &str) -> Option<PyResult<f64>> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    let (mantissa, exp) = match s.split_once('p') {
        Some((m, e)) => (m, e),
        None => (s, "0"),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let digits = || int_part.chars().chain(frac_part.chars());
    if !digits().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let exp_digits = exp.trim_start_matches(['+', '-']);
    if exp_digits.is_empty()
        || !exp_digits.chars().all(|c| c.is_ascii_digit())
        || exp.len() - exp_digits.len() > 1
    {
        return None;
    }
    // A huge exponent only matters by its sign: clamp it far past any float's range.
    let exp: i64 = exp.parse::<i64>().unwrap_or(if exp.starts_with('-') {
        i64::MIN / 4
    } else {
        i64::MAX / 4
    });
    let exp = exp.clamp(-(1 << 40), 1 << 40);
    let mut m = BigInt::zero();
    for c in digits() {
        m = m * 16 + c.to_digit(16).unwrap_or(0);
    }
    let e = exp - 4 * frac_part.len() as i64;
    Some(scaled_to_f64(&m, e))
}

/// `m * 2**e` correctly rounded (half to even) to a float, subnormals included.
fn scaled_to_f64(m: &BigInt, e: i64) -> PyResult<f64> {
    let too_large = || {
        err!(
            OverflowError,
            "hexadecimal value too large to represent as a float"
        )
    };
    if m.is_zero() {
        return Ok(0.0);
    }
    let nbits = m.bits() as i64;
    let top = nbits - 1 + e;
    if top > 1023 {
        return Err(too_large());
    }
    // Bits of precision this magnitude gets: 53, fewer among the subnormals.
    let prec = if top >= -1022 { 53 } else { 53 - (-1022 - top) };
    if prec < 0 {
        return Ok(0.0);
    }
    let shift = nbits - prec;
    let (q, mut k) = if shift > 0 {
        let q = m >> shift as usize;
        let rem = m - (&q << shift as usize);
        let half = BigInt::from(1) << (shift - 1) as usize;
        let odd = (&q % 2u32) == BigInt::from(1);
        let q = if rem > half || (rem == half && odd) {
            q + 1
        } else {
            q
        };
        (q, e + shift)
    } else {
        (m.clone(), e)
    };
    // `q` has at most 54 bits: exact as a float, then scaled by exact powers of two.
    let mut f = q.to_f64().unwrap_or(f64::INFINITY);
    while k > 1000 {
        f *= pow2(1000);
        k -= 1000;
    }
    while k < -1000 {
        f *= pow2(-1000);
        k += 1000;
    }
    f *= pow2(k as i32);
    if f.is_infinite() {
        return Err(too_large());
    }
    Ok(f)
}

/// 2**k for -1022 <= k <= 1023, exactly.
fn pow2(k: i32) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}
