//! Stage 4 (VM), numeric semantics.
//! Int (`i64`) and float (`f64`) arithmetic with Python semantics: the fast paths.
//!
//! Ints never wrap: an int helper whose result leaves `i64` returns the internal
//! [`super::INT_OVERFLOW`] error, and the caller redoes the operation on big ints
//! ([`super::bigint`]); float-to-int conversions return an [`Int`] that may be big.
//! Division, modulo, power, shifts, rounding and conversions follow CPython 3.11,
//! including its exact error messages.  No function here allocates (except `float_round`).

use super::bigint::{self, Int};
use super::decimal::exact_digits;
use super::{NumError, NumResult};
use std::cmp::Ordering;

const INT_DIVMOD_ZERO: &str = "integer division or modulo by zero";
const INT_MOD_ZERO: &str = "integer modulo by zero";
const RANGE_ERR: &str = "(34, 'Numerical result out of range')";
/// 2**63 as an f64 (exact).
const TWO_63: f64 = 9_223_372_036_854_775_808.0;

/// Result of an operation that may produce either an int or a float (`int ** int`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum IntOrFloat {
    /// An `int` result.
    Int(i64),
    /// A `float` result.
    Float(f64),
}

/// `a + b` for ints.
#[inline]
pub fn int_add(a: i64, b: i64) -> NumResult<i64> {
    a.checked_add(b).ok_or_else(NumError::overflow)
}

/// `a - b` for ints.
#[inline]
pub fn int_sub(a: i64, b: i64) -> NumResult<i64> {
    a.checked_sub(b).ok_or_else(NumError::overflow)
}

/// `a * b` for ints.
#[inline]
pub fn int_mul(a: i64, b: i64) -> NumResult<i64> {
    a.checked_mul(b).ok_or_else(NumError::overflow)
}

/// `-a` for ints (`-(-2**63)` overflows).
#[inline]
pub fn int_neg(a: i64) -> NumResult<i64> {
    a.checked_neg().ok_or_else(NumError::overflow)
}

/// `abs(a)` for ints (`abs(-2**63)` overflows).
#[inline]
pub fn int_abs(a: i64) -> NumResult<i64> {
    a.checked_abs().ok_or_else(NumError::overflow)
}

/// `a // b` for ints (floor division).
#[inline]
pub fn int_floordiv(a: i64, b: i64) -> NumResult<i64> {
    if b == 0 {
        return Err(NumError::ZeroDivision(INT_DIVMOD_ZERO));
    }
    let q = a.checked_div(b).ok_or_else(NumError::overflow)?;
    if (a % b != 0) && ((a < 0) != (b < 0)) {
        Ok(q - 1)
    } else {
        Ok(q)
    }
}

/// `a % b` for ints (result has the sign of `b`).
#[inline]
pub fn int_mod(a: i64, b: i64) -> NumResult<i64> {
    if b == 0 {
        return Err(NumError::ZeroDivision(INT_MOD_ZERO));
    }
    let r = a.wrapping_rem(b);
    if r != 0 && ((r < 0) != (b < 0)) {
        Ok(r + b)
    } else {
        Ok(r)
    }
}

/// `divmod(a, b)` for ints.
#[inline]
pub fn int_divmod(a: i64, b: i64) -> NumResult<(i64, i64)> {
    if b == 0 {
        return Err(NumError::ZeroDivision(INT_DIVMOD_ZERO));
    }
    Ok((int_floordiv(a, b)?, int_mod(a, b)?))
}

/// `a / b` for ints: the correctly rounded quotient, like CPython's `long_true_divide`.
#[inline]
pub fn int_truediv(a: i64, b: i64) -> NumResult<f64> {
    if b == 0 {
        return Err(NumError::ZeroDivision("division by zero"));
    }
    const LIM: u64 = 1 << 53;
    let (ua, ub) = (a.unsigned_abs(), b.unsigned_abs());
    if ua <= LIM && ub <= LIM {
        // Both exactly representable: IEEE division is correctly rounded.
        return Ok(a as f64 / b as f64);
    }
    let negative = (a < 0) != (b < 0);
    if ua == 0 {
        return Ok(if negative { -0.0 } else { 0.0 });
    }
    // Scale the numerator to 127 bits so the quotient has >= 63 significant bits,
    // fold the remainder into a sticky bit, and let the u128->f64 conversion round.
    let shift = 127 - (64 - ua.leading_zeros());
    let n = u128::from(ua) << shift;
    let d = u128::from(ub);
    let mut q = n / d;
    if n % d != 0 {
        q |= 1;
    }
    let mag = q as f64 * pow2(-(shift as i32));
    Ok(if negative { -mag } else { mag })
}

/// `2^e` for `-1022 <= e <= 1023` (exact).
#[inline]
fn pow2(e: i32) -> f64 {
    f64::from_bits(((e + 1023) as u64) << 52)
}

/// `a ** b` for ints: an int for `b >= 0` (overflow-checked), a float for `b < 0`.
pub fn int_pow(a: i64, b: i64) -> NumResult<IntOrFloat> {
    if b < 0 {
        return float_pow(a as f64, b as f64).map(IntOrFloat::Float);
    }
    let mut result: i64 = 1;
    let mut base = a;
    let mut e = b as u64;
    // Fast exits that also avoid needless overflow of `base * base`.
    match a {
        0 => return Ok(IntOrFloat::Int(if b == 0 { 1 } else { 0 })),
        1 => return Ok(IntOrFloat::Int(1)),
        -1 => return Ok(IntOrFloat::Int(if b % 2 == 0 { 1 } else { -1 })),
        _ => {}
    }
    loop {
        if e & 1 == 1 {
            result = int_mul(result, base)?;
        }
        e >>= 1;
        if e == 0 {
            break;
        }
        base = int_mul(base, base)?;
    }
    Ok(IntOrFloat::Int(result))
}

/// `pow(a, b, m)` for ints (negative `b` uses the modular inverse, as Python 3.8+).
pub fn int_pow_mod(a: i64, b: i64, m: i64) -> NumResult<i64> {
    if m == 0 {
        return Err(NumError::Value(
            "pow() 3rd argument cannot be 0".to_string(),
        ));
    }
    let modulus = i128::from(m).abs();
    let mut base = i128::from(a).rem_euclid(modulus);
    if b < 0 {
        base = mod_inverse(base, modulus).ok_or_else(|| {
            NumError::Value("base is not invertible for the given modulus".to_string())
        })?;
    }
    let mut e = b.unsigned_abs();
    let mut result: i128 = 1 % modulus;
    while e > 0 {
        if e & 1 == 1 {
            result = result * base % modulus;
        }
        base = base * base % modulus;
        e >>= 1;
    }
    if m < 0 && result != 0 {
        result -= modulus;
    }
    // |result| < |m| so it fits.
    i64::try_from(result).map_err(|_| NumError::overflow())
}

fn mod_inverse(a: i128, m: i128) -> Option<i128> {
    let (mut old_r, mut r) = (a, m);
    let (mut old_s, mut s) = (1i128, 0i128);
    while r != 0 {
        let q = old_r / r;
        (old_r, r) = (r, old_r - q * r);
        (old_s, s) = (s, old_s - q * s);
    }
    if old_r != 1 {
        return None;
    }
    Some(old_s.rem_euclid(m))
}

/// `a << b` for ints.
#[inline]
pub fn int_lshift(a: i64, b: i64) -> NumResult<i64> {
    if b < 0 {
        return Err(NumError::Value("negative shift count".to_string()));
    }
    if a == 0 {
        return Ok(0);
    }
    if b >= 64 {
        return Err(NumError::overflow());
    }
    let r = a << b;
    if r >> b != a {
        return Err(NumError::overflow());
    }
    Ok(r)
}

/// `a >> b` for ints (arithmetic, i.e. floor division by `2**b`).
#[inline]
pub fn int_rshift(a: i64, b: i64) -> NumResult<i64> {
    if b < 0 {
        return Err(NumError::Value("negative shift count".to_string()));
    }
    if b >= 64 {
        return Ok(if a < 0 { -1 } else { 0 });
    }
    Ok(a >> b)
}

/// `round(a, ndigits)` for an int: unchanged for `ndigits >= 0`, else rounded
/// half-to-even to a multiple of `10**-ndigits` (`round(1250, -2) == 1200`).
pub fn int_round(a: i64, ndigits: i64) -> NumResult<i64> {
    if ndigits >= 0 {
        return Ok(a);
    }
    let k = ndigits.unsigned_abs();
    if k >= 20 {
        // 10**20 / 2 exceeds every i64, so the result is 0.
        return Ok(0);
    }
    let p = 10i128.pow(k as u32);
    let x = i128::from(a);
    let mut q = x.div_euclid(p);
    let r = x.rem_euclid(p);
    if 2 * r > p || (2 * r == p && q % 2 != 0) {
        q += 1;
    }
    i64::try_from(q * p).map_err(|_| NumError::overflow())
}

/// `a / b` for floats.
#[inline]
pub fn float_truediv(a: f64, b: f64) -> NumResult<f64> {
    if b == 0.0 {
        return Err(NumError::ZeroDivision("float division by zero"));
    }
    Ok(a / b)
}

/// CPython's `_float_div_mod` (requires `wx != 0`).
#[inline]
fn float_div_mod_raw(vx: f64, wx: f64) -> (f64, f64) {
    let mut m = vx % wx;
    let mut div = (vx - m) / wx;
    if m != 0.0 {
        if (wx < 0.0) != (m < 0.0) {
            m += wx;
            div -= 1.0;
        }
    } else {
        m = 0.0f64.copysign(wx);
    }
    let floordiv = if div != 0.0 {
        let mut f = div.floor();
        if div - f > 0.5 {
            f += 1.0;
        }
        f
    } else {
        0.0f64.copysign(vx / wx)
    };
    (floordiv, m)
}

/// `a // b` for floats.
#[inline]
pub fn float_floordiv(a: f64, b: f64) -> NumResult<f64> {
    if b == 0.0 {
        return Err(NumError::ZeroDivision("float floor division by zero"));
    }
    Ok(float_div_mod_raw(a, b).0)
}

/// `a % b` for floats (result has the sign of `b`).
#[inline]
pub fn float_mod(a: f64, b: f64) -> NumResult<f64> {
    if b == 0.0 {
        return Err(NumError::ZeroDivision("float modulo"));
    }
    let mut m = a % b;
    if m != 0.0 {
        if (b < 0.0) != (m < 0.0) {
            m += b;
        }
    } else {
        m = 0.0f64.copysign(b);
    }
    Ok(m)
}

/// `divmod(a, b)` for floats.
#[inline]
pub fn float_divmod(a: f64, b: f64) -> NumResult<(f64, f64)> {
    if b == 0.0 {
        return Err(NumError::ZeroDivision("float divmod()"));
    }
    Ok(float_div_mod_raw(a, b))
}

#[inline]
fn is_odd_integer(x: f64) -> bool {
    x.is_finite() && x.trunc() == x && (x % 2.0).abs() == 1.0
}

/// `a ** b` for floats, following CPython's `float_pow` special cases.  A negative base
/// with a non-integral exponent (a complex result) is [`NumError::Unsupported`].
pub fn float_pow(iv: f64, iw: f64) -> NumResult<f64> {
    if iw == 0.0 {
        return Ok(1.0);
    }
    if iv.is_nan() {
        return Ok(iv);
    }
    if iw.is_nan() {
        return Ok(if iv == 1.0 { 1.0 } else { iw });
    }
    if iw.is_infinite() {
        let av = iv.abs();
        return Ok(if av == 1.0 {
            1.0
        } else if (iw > 0.0) == (av > 1.0) {
            iw.abs()
        } else {
            0.0
        });
    }
    if iv.is_infinite() {
        let odd = is_odd_integer(iw);
        return Ok(if iw > 0.0 {
            if odd {
                iv
            } else {
                iv.abs()
            }
        } else if odd {
            0.0f64.copysign(iv)
        } else {
            0.0
        });
    }
    if iv == 0.0 {
        if iw < 0.0 {
            return Err(NumError::ZeroDivision(
                "0.0 cannot be raised to a negative power",
            ));
        }
        return Ok(if is_odd_integer(iw) { iv } else { 0.0 });
    }
    let mut v = iv;
    let mut negate = false;
    if v < 0.0 {
        if iw != iw.floor() {
            // CPython returns a complex number; it raises OverflowError if that
            // complex result's magnitude overflows.
            if (-v).powf(iw).is_infinite() {
                return Err(NumError::Overflow("complex exponentiation"));
            }
            return Err(NumError::Unsupported("complex numbers are not supported"));
        }
        v = -v;
        negate = is_odd_integer(iw);
    }
    if v == 1.0 {
        return Ok(if negate { -1.0 } else { 1.0 });
    }
    let r = v.powf(iw);
    if r.is_infinite() {
        return Err(NumError::Overflow(RANGE_ERR));
    }
    Ok(if negate { -r } else { r })
}

/// `int(x)` / `math.trunc(x)` for a float.
#[inline]
pub fn float_to_int(x: f64) -> NumResult<Int> {
    float_integral_to_int(x.trunc())
}

/// `math.floor(x)` for a float.
#[inline]
pub fn float_floor(x: f64) -> NumResult<Int> {
    float_integral_to_int(x.floor())
}

/// `math.ceil(x)` for a float.
#[inline]
pub fn float_ceil(x: f64) -> NumResult<Int> {
    float_integral_to_int(x.ceil())
}

/// `round(x)` (no ndigits) for a float: half-to-even, returning an int.
#[inline]
pub fn float_round_to_int(x: f64) -> NumResult<Int> {
    float_integral_to_int(x.round_ties_even())
}

/// Convert an integral-valued float to an int with CPython's errors (big past `i64`).
#[inline]
fn float_integral_to_int(r: f64) -> NumResult<Int> {
    if r.is_nan() {
        return Err(NumError::Value(
            "cannot convert float NaN to integer".to_string(),
        ));
    }
    if r.is_infinite() {
        return Err(NumError::Overflow(
            "cannot convert float infinity to integer",
        ));
    }
    if (-TWO_63..TWO_63).contains(&r) {
        Ok(Int::Small(r as i64))
    } else {
        bigint::from_f64(r).map(Int::Big)
    }
}

/// `round(x, ndigits)` for a float: correctly rounded (half-even on the exact binary
/// value) like CPython, e.g. `round(2.675, 2) == 2.67`.
pub fn float_round(x: f64, ndigits: i64) -> NumResult<f64> {
    const NDIGITS_MAX: i64 = 323;
    const NDIGITS_MIN: i64 = -308;
    if !x.is_finite() || ndigits > NDIGITS_MAX {
        return Ok(x);
    }
    if ndigits < NDIGITS_MIN {
        return Ok(0.0 * x);
    }
    let mut d = exact_digits(x);
    d.round_keep(i64::from(d.point) + ndigits);
    if d.digits.is_empty() {
        return Ok(0.0f64.copysign(x));
    }
    // Build "<digits>e<exp>" and let the correctly rounded parser convert it back.
    let mut s = String::with_capacity(d.digits.len() + 8);
    for &v in &d.digits {
        s.push(char::from(b'0' + v));
    }
    let exp = i64::from(d.point) - d.digits.len() as i64;
    s.push('e');
    s.push_str(&exp.to_string());
    let mag: f64 = s.parse().unwrap_or(f64::INFINITY);
    if mag.is_infinite() {
        return Err(NumError::Overflow("rounded value too large to represent"));
    }
    Ok(mag.copysign(x))
}

/// Exact comparison of an int with a float (`None` if `f` is NaN), so that
/// `2**53 + 1 == float(2**53)` is false.
#[inline]
pub fn cmp_int_float(i: i64, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    if f >= TWO_63 {
        return Some(Ordering::Less);
    }
    if f < -TWO_63 {
        return Some(Ordering::Greater);
    }
    let t = f.trunc();
    let ti = t as i64; // exact: |t| < 2**63 (or == -2**63)
    match i.cmp(&ti) {
        Ordering::Equal => {
            let frac = f - t;
            if frac > 0.0 {
                Some(Ordering::Less)
            } else if frac < 0.0 {
                Some(Ordering::Greater)
            } else {
                Some(Ordering::Equal)
            }
        }
        o => Some(o),
    }
}

/// Exact `i == f`.
#[inline]
pub fn int_float_eq(i: i64, f: f64) -> bool {
    cmp_int_float(i, f) == Some(Ordering::Equal)
}

/// `math.isqrt(n)`.
pub fn isqrt(n: i64) -> NumResult<i64> {
    if n < 0 {
        return Err(NumError::Value(
            "isqrt() argument must be nonnegative".to_string(),
        ));
    }
    let n = n as u64;
    let mut r = (n as f64).sqrt() as u64;
    while r.checked_mul(r).is_none_or(|sq| sq > n) {
        r -= 1;
    }
    while (r + 1).checked_mul(r + 1).is_some_and(|sq| sq <= n) {
        r += 1;
    }
    Ok(r as i64)
}

/// `math.gcd(a, b)` (always non-negative; `gcd(-2**63, 0)` overflows i64).
pub fn gcd(a: i64, b: i64) -> NumResult<i64> {
    let (mut x, mut y) = (a.unsigned_abs(), b.unsigned_abs());
    while y != 0 {
        (x, y) = (y, x % y);
    }
    i64::try_from(x).map_err(|_| NumError::overflow())
}

/// `math.lcm(a, b)` (always non-negative).
pub fn lcm(a: i64, b: i64) -> NumResult<i64> {
    if a == 0 || b == 0 {
        return Ok(0);
    }
    let (x, y) = (a.unsigned_abs(), b.unsigned_abs());
    let (mut p, mut q) = (x, y);
    while q != 0 {
        (p, q) = (q, p % q);
    }
    let l = (x / p).checked_mul(y).ok_or_else(NumError::overflow)?;
    i64::try_from(l).map_err(|_| NumError::overflow())
}

/// `math.factorial(n)` (20! is the largest that fits in i64).
pub fn factorial(n: i64) -> NumResult<i64> {
    if n < 0 {
        return Err(NumError::Value(
            "factorial() not defined for negative values".to_string(),
        ));
    }
    let mut r: i64 = 1;
    for k in 2..=n {
        r = int_mul(r, k)?;
    }
    Ok(r)
}
