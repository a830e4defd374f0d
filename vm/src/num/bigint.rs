//! Arbitrary-precision int semantics (stage 4, numeric core): the slow path behind `int`.
//!
//! Ints live inline as `i64` while they fit; an operation whose result does not fit computes here
//! on [`BigInt`] (the `num-bigint` crate) and the VM stores the result as a heap big int, or back
//! as an inline int when it fits again (see [`Int::from_big`]). Everything here follows CPython
//! 3.11 exactly: floor division and modulo signs, two's-complement bit operations on negative
//! numbers, correctly rounded true division and float conversion, exact int/float comparison,
//! the modular hash, and the 4,300-digit limit on decimal string conversion.

use std::cmp::Ordering;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

pub use num_bigint::{BigInt, Sign};
use num_integer::Integer;
use num_traits::{One, Signed, ToPrimitive, Zero};

use super::hash::HASH_MODULUS;
use super::{NumError, NumResult};

/// The largest int minivm builds, in bits (2**32 bits = 512 MiB): past it an operation raises
/// `MemoryError` at once instead of exhausting the machine (CPython would try, then fail).
pub const MAX_BITS: u64 = 1 << 32;

/// CPython's default `sys.get_int_max_str_digits()`.
pub const DEFAULT_MAX_STR_DIGITS: usize = 4300;
/// The smallest non-zero limit `sys.set_int_max_str_digits` accepts.
pub const MIN_MAX_STR_DIGITS: usize = 640;

/// The current digit limit for int <-> decimal string conversion (0 = unlimited). Process-wide,
/// as CPython's (which is per interpreter; minivm has one).
static MAX_STR_DIGITS: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_STR_DIGITS);

/// `sys.get_int_max_str_digits()`.
pub fn max_str_digits() -> usize {
    MAX_STR_DIGITS.load(AtomicOrdering::Relaxed)
}

/// `sys.set_int_max_str_digits(n)`.
pub fn set_max_str_digits(n: i64) -> NumResult<()> {
    match usize::try_from(n) {
        Ok(n) if n == 0 || n >= MIN_MAX_STR_DIGITS => {
            MAX_STR_DIGITS.store(n, AtomicOrdering::Relaxed);
            Ok(())
        }
        _ => Err(NumError::Value(
            "maxdigits must be 0 or larger than 640".to_string(),
        )),
    }
}

fn to_str_limit_error() -> NumError {
    NumError::Value(format!(
        "Exceeds the limit ({} digits) for integer string conversion; use sys.set_int_max_str_digits() to increase the limit",
        max_str_digits()
    ))
}

/// The `int(str)` side of the limit: `value has N digits`.
pub fn from_str_limit_error(ndigits: usize) -> NumError {
    NumError::Value(format!(
        "Exceeds the limit ({} digits) for integer string conversion: value has {ndigits} digits; use sys.set_int_max_str_digits() to increase the limit",
        max_str_digits()
    ))
}

/// An int result: inline when it fits in `i64`, else big. Computations that may leave `i64`
/// return this; the VM turns it into `Value::Int` or `Value::BigInt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Int {
    Small(i64),
    Big(BigInt),
}

impl Int {
    /// Normalise: a big value that fits in `i64` becomes `Small`.
    pub fn from_big(b: BigInt) -> Int {
        match b.to_i64() {
            Some(i) => Int::Small(i),
            None => Int::Big(b),
        }
    }
}

impl From<Int> for BigInt {
    fn from(i: Int) -> BigInt {
        match i {
            Int::Small(s) => BigInt::from(s),
            Int::Big(b) => b,
        }
    }
}

impl From<i64> for Int {
    fn from(i: i64) -> Int {
        Int::Small(i)
    }
}

/// `MemoryError` for a result past [`MAX_BITS`].
fn too_big() -> NumError {
    NumError::Memory
}

fn check_bits(bits: u64) -> NumResult<()> {
    if bits > MAX_BITS {
        Err(too_big())
    } else {
        Ok(())
    }
}

/// `a * b`, refusing results past [`MAX_BITS`].
pub fn mul(a: &BigInt, b: &BigInt) -> NumResult<BigInt> {
    check_bits(a.bits() + b.bits())?;
    Ok(a * b)
}

/// `a // b` and `a % b` together, rounding the quotient toward minus infinity (so the remainder
/// has the sign of `b`), as Python's `divmod`.
pub fn divmod(a: &BigInt, b: &BigInt) -> NumResult<(BigInt, BigInt)> {
    if b.is_zero() {
        return Err(NumError::ZeroDivision("integer division or modulo by zero"));
    }
    Ok(a.div_mod_floor(b))
}

/// `a // b`.
pub fn floordiv(a: &BigInt, b: &BigInt) -> NumResult<BigInt> {
    if b.is_zero() {
        return Err(NumError::ZeroDivision("integer division or modulo by zero"));
    }
    Ok(a.div_floor(b))
}

/// `a % b` (the sign of `b`).
pub fn modulo(a: &BigInt, b: &BigInt) -> NumResult<BigInt> {
    if b.is_zero() {
        return Err(NumError::ZeroDivision("integer modulo by zero"));
    }
    Ok(a.mod_floor(b))
}

/// `x * 2**e`, exact whenever the result is representable (the steps keep every intermediate
/// product exact: each is the final significand at a larger or equal magnitude).
fn ldexp(mut x: f64, mut e: i64) -> f64 {
    let step = |k: i64| f64::from_bits(((k + 1023) as u64) << 52);
    while e > 1000 {
        x *= step(1000);
        e -= 1000;
        if x.is_infinite() {
            return x;
        }
    }
    while e < -1000 {
        x *= step(-1000);
        e += 1000;
        if x == 0.0 {
            return x;
        }
    }
    x * step(e)
}

const DBL_MANT_DIG: i64 = 53;
const DBL_MIN_EXP: i64 = -1021;
const DBL_MAX_EXP: i64 = 1024;

/// `float(a)`: correctly rounded (half to even), `OverflowError` past the float range.
pub fn to_f64(a: &BigInt) -> NumResult<f64> {
    let bits = a.bits();
    let mag = a.magnitude();
    let f = if bits <= 64 {
        mag.to_u64().map_or(f64::INFINITY, |m| m as f64)
    } else {
        // The top 64 bits, with every bit below folded into the lowest one ("sticky"): rounding
        // those 64 bits to 53 then rounds exactly as rounding the whole number would.
        let shift = bits - 64;
        let top = (mag >> shift).to_u64().unwrap_or(u64::MAX);
        let sticky = mag.trailing_zeros().is_some_and(|tz| tz < shift);
        ldexp((top | u64::from(sticky)) as f64, shift as i64)
    };
    if f.is_infinite() {
        return Err(NumError::Overflow("int too large to convert to float"));
    }
    Ok(if a.is_negative() { -f } else { f })
}

/// The integer part of a finite float, exactly (`int(1e300)`); CPython's errors for NaN and
/// infinities.
pub fn from_f64(x: f64) -> NumResult<BigInt> {
    if x.is_nan() {
        return Err(NumError::Value(
            "cannot convert float NaN to integer".to_string(),
        ));
    }
    if x.is_infinite() {
        return Err(NumError::Overflow(
            "cannot convert float infinity to integer",
        ));
    }
    let t = x.trunc();
    if t.abs() < 9.007_199_254_740_992e15 {
        return Ok(BigInt::from(t as i64));
    }
    // |t| >= 2**53: t = mantissa * 2**exp with an integral 53-bit mantissa and exp >= 0.
    let bits = t.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64 - 1075;
    let mant = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
    let m = BigInt::from(mant) << (exp.max(0) as usize);
    Ok(if t < 0.0 { -m } else { m })
}

/// `a / b`: the correctly rounded quotient, as CPython's `long_true_divide` (which this follows:
/// scale so the integer quotient keeps two bits beyond the float's precision, fold the remainder
/// into a sticky bit, round half to even by hand, then scale back).
pub fn truediv(a: &BigInt, b: &BigInt) -> NumResult<f64> {
    if b.is_zero() {
        return Err(NumError::ZeroDivision("division by zero"));
    }
    let negative = a.is_negative() != b.is_negative();
    let sign = |m: f64| if negative { -m } else { m };
    if a.is_zero() {
        return Ok(sign(0.0));
    }
    let (ma, mb) = (a.magnitude(), b.magnitude());
    // Both exactly representable as floats: one IEEE division is correctly rounded.
    if a.bits() <= 53 && b.bits() <= 53 {
        let (x, y) = (ma.to_u64().unwrap_or(0), mb.to_u64().unwrap_or(1));
        return Ok(sign(x as f64 / y as f64));
    }
    let diff = a.bits() as i64 - b.bits() as i64;
    if diff > DBL_MAX_EXP {
        return Err(NumError::Overflow(
            "integer division result too large for a float",
        ));
    }
    if diff < DBL_MIN_EXP - DBL_MANT_DIG - 1 {
        return Ok(sign(0.0));
    }
    let shift = diff.max(DBL_MIN_EXP) - DBL_MANT_DIG - 2;
    let mut inexact = false;
    let x = if shift <= 0 {
        ma << ((-shift) as usize)
    } else {
        inexact = ma.trailing_zeros().is_some_and(|tz| tz < shift as u64);
        ma >> (shift as usize)
    };
    let (q, r) = x.div_rem(mb);
    inexact |= !r.is_zero();
    // q has at most DBL_MANT_DIG + 3 bits, so it fits in a u64.
    let q_bits = q.bits() as i64;
    let mut q = q.to_u64().unwrap_or(u64::MAX);
    let extra_bits = q_bits.max(DBL_MIN_EXP - shift) - DBL_MANT_DIG;
    let mask = 1u64 << (extra_bits - 1);
    let low = q | u64::from(inexact);
    // Round half to even: up when above half, or at half with an odd kept part.
    if low & mask != 0 && low & (3 * mask - 1) != 0 {
        q += mask;
    }
    q &= !(2 * mask - 1);
    let r = ldexp(q as f64, shift);
    if r.is_infinite() {
        return Err(NumError::Overflow(
            "integer division result too large for a float",
        ));
    }
    Ok(sign(r))
}

/// `a ** b` for `b >= 0`.
pub fn pow(a: &BigInt, b: &BigInt) -> NumResult<BigInt> {
    if b.is_zero() || a.is_one() {
        return Ok(BigInt::one());
    }
    if a.is_zero() {
        return Ok(BigInt::zero());
    }
    if *a == BigInt::from(-1) {
        return Ok(if b.is_even() {
            BigInt::one()
        } else {
            BigInt::from(-1)
        });
    }
    // |a| >= 2, so the result has at least b bits: refuse early what could never fit.
    let e = b.to_u64().filter(|&e| e <= MAX_BITS).ok_or_else(too_big)?;
    check_bits((a.bits() - 1).saturating_mul(e))?;
    let e = u32::try_from(e).map_err(|_| too_big())?;
    Ok(a.pow(e))
}

/// `pow(a, b, m)`, negative `b` through the modular inverse (Python 3.8+); the result has the
/// sign of `m`.
pub fn pow_mod(a: &BigInt, b: &BigInt, m: &BigInt) -> NumResult<BigInt> {
    if m.is_zero() {
        return Err(NumError::Value(
            "pow() 3rd argument cannot be 0".to_string(),
        ));
    }
    let modulus = m.abs();
    let mut base = a.mod_floor(&modulus);
    if b.is_negative() {
        base = base.modinv(&modulus).ok_or_else(|| {
            NumError::Value("base is not invertible for the given modulus".to_string())
        })?;
    }
    let r = if modulus.is_one() {
        BigInt::zero()
    } else {
        base.modpow(&b.abs(), &modulus)
    };
    Ok(if m.is_negative() && !r.is_zero() {
        r - modulus
    } else {
        r
    })
}

/// `a << n`.
pub fn lshift(a: &BigInt, n: &BigInt) -> NumResult<BigInt> {
    if n.is_negative() {
        return Err(NumError::Value("negative shift count".to_string()));
    }
    if a.is_zero() {
        return Ok(BigInt::zero());
    }
    let n = n
        .to_u64()
        .filter(|&n| n <= i64::MAX as u64)
        .ok_or(NumError::Overflow("too many digits in integer"))?;
    check_bits(a.bits().saturating_add(n))?;
    Ok(a << (n as usize))
}

/// `a >> n` (floor division by `2**n`: negative numbers round toward minus infinity).
pub fn rshift(a: &BigInt, n: &BigInt) -> NumResult<BigInt> {
    if n.is_negative() {
        return Err(NumError::Value("negative shift count".to_string()));
    }
    match n.to_u64() {
        Some(n) if n < a.bits() => Ok(a >> (n as usize)),
        _ => Ok(if a.is_negative() {
            BigInt::from(-1)
        } else {
            BigInt::zero()
        }),
    }
}

/// Exact ordering of an int against a float (`None` when the float is NaN): the float's
/// integer part is compared as an int, then its fraction breaks the tie.
pub fn cmp_float(a: &BigInt, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    if f.is_infinite() {
        return Some(if f > 0.0 {
            Ordering::Less
        } else {
            Ordering::Greater
        });
    }
    let t = f.trunc();
    let ti = from_f64(t).ok()?;
    Some(match a.cmp(&ti) {
        Ordering::Equal => {
            let frac = f - t;
            if frac > 0.0 {
                Ordering::Less
            } else if frac < 0.0 {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        }
        o => o,
    })
}

/// `hash(a)`: the magnitude modulo `2**61 - 1`, with the sign of `a` (`-1` becomes `-2`), so it
/// agrees with the hashes of equal floats and of small ints.
pub fn hash(a: &BigInt) -> i64 {
    let mut acc: u128 = 0;
    for d in a.magnitude().iter_u64_digits().rev() {
        acc = ((acc << 64) | u128::from(d)) % u128::from(HASH_MODULUS);
    }
    let h = acc as i64;
    let h = if a.is_negative() { -h } else { h };
    if h == -1 {
        -2
    } else {
        h
    }
}

/// `str(a)`: decimal digits, refused past `sys.get_int_max_str_digits()` digits (the estimate
/// from the bit length rejects a huge number before spending time converting it).
pub fn to_decimal(a: &BigInt) -> NumResult<String> {
    let limit = max_str_digits();
    if limit > 0 {
        // a >= 2**(bits-1), so it has at least floor((bits-1) * log10(2)) + 1 digits.
        let min_digits =
            ((a.bits().saturating_sub(1)) as f64 * std::f64::consts::LOG10_2) as u64 + 1;
        if min_digits > limit as u64 {
            return Err(to_str_limit_error());
        }
    }
    let s = a.to_str_radix(10);
    let ndigits = s.len() - usize::from(a.is_negative());
    if limit > 0 && ndigits > limit {
        return Err(to_str_limit_error());
    }
    Ok(s)
}

/// Digits of `|a|` in a power-of-two radix (no limit applies to those, as in CPython).
pub fn magnitude_radix(a: &BigInt, radix: u32, upper: bool) -> String {
    let s = a.magnitude().to_str_radix(radix);
    if upper {
        s.to_ascii_uppercase()
    } else {
        s
    }
}

/// Digits of `|a|` in any radix for format specs: decimal goes through the digit limit.
pub fn magnitude_digits(a: &BigInt, radix: u32, upper: bool) -> NumResult<String> {
    if radix == 10 {
        let s = to_decimal(&a.abs())?;
        return Ok(s);
    }
    Ok(magnitude_radix(a, radix, upper))
}

/// `round(a, ndigits)` for `ndigits < 0`: to a multiple of `10**-ndigits`, ties to even.
pub fn round(a: &BigInt, ndigits: &BigInt) -> NumResult<BigInt> {
    if !ndigits.is_negative() {
        return Ok(a.clone());
    }
    // 10**k > |a| * 2 makes every result 0; that also bounds the power computed below.
    let k = match ndigits.abs().to_u64() {
        Some(k) if (k as f64) * std::f64::consts::LOG2_10 <= (a.bits() + 2) as f64 => k,
        _ => return Ok(BigInt::zero()),
    };
    let p = BigInt::from(10).pow(k as u32);
    let (mut q, r) = a.div_mod_floor(&p);
    let twice = &r * 2;
    if twice > p || (twice == p && q.is_odd()) {
        q += 1;
    }
    Ok(q * p)
}

/// `n.bit_length()`.
pub fn bit_length(a: &BigInt) -> u64 {
    a.bits()
}

/// `n.bit_count()`: the number of ones in `|n|`.
pub fn bit_count(a: &BigInt) -> u64 {
    a.magnitude().count_ones()
}

/// The value of an ASCII digit string (already validated) in `radix`, or the `int(str)` digit
/// limit error for a long decimal-like string.
pub fn parse_digits(digits: &[u8], radix: u32, negative: bool) -> NumResult<BigInt> {
    let limit = max_str_digits();
    if !radix.is_power_of_two() && limit > 0 && digits.len() > limit {
        return Err(from_str_limit_error(digits.len()));
    }
    let values: Vec<u8> = digits
        .iter()
        .map(|&c| match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'z' => c - b'a' + 10,
            _ => c.wrapping_sub(b'A').wrapping_add(10),
        })
        .collect();
    let sign = if negative { Sign::Minus } else { Sign::Plus };
    BigInt::from_radix_be(sign, &values, radix)
        .ok_or_else(|| NumError::Value("invalid literal for int()".to_string()))
}

/// `(x, e)` with `a = x * 2**e` approximately, `0.5 <= x < 1` correctly rounded: CPython's
/// `_PyLong_Frexp`, which `math.log` uses for ints too large for a float. `a` must be positive.
pub fn frexp(a: &BigInt) -> (f64, u64) {
    let bits = a.bits();
    let mag = a.magnitude();
    // The top 64 bits with a sticky bit, rounded once to 53 bits by the conversion.
    let shift = bits.saturating_sub(64);
    let top = (mag >> shift).to_u64().unwrap_or(u64::MAX);
    let sticky = shift > 0 && mag.trailing_zeros().is_some_and(|tz| tz < shift);
    let top_bits = bits - shift;
    let x = ldexp((top | u64::from(sticky)) as f64, -(top_bits as i64));
    if x >= 1.0 {
        (0.5, bits + 1)
    } else {
        (x, bits)
    }
}

/// The product `lo * (lo + 1) * ... * (lo + count - 1)`, split in halves so that the big
/// multiplications happen between numbers of similar size (much faster than a running product;
/// the recursion depth is log2(count)).
pub fn product_run(lo: &BigInt, count: u64) -> BigInt {
    match count {
        0 => BigInt::one(),
        1 => lo.clone(),
        2 => lo * (lo + 1u32),
        _ => {
            let half = count / 2;
            let upper = lo + half;
            product_run(lo, half) * product_run(&upper, count - half)
        }
    }
}

/// `math.factorial(n)` for `n >= 0`.
pub fn factorial(n: u64) -> NumResult<BigInt> {
    // n! has about n * log2(n / e) bits.
    let nf = n as f64;
    if nf * (nf / std::f64::consts::E).log2().max(1.0) > MAX_BITS as f64 {
        return Err(too_big());
    }
    Ok(product_run(&BigInt::one(), n))
}

/// `math.perm(n, k)` for `0 <= k <= n`.
pub fn perm(n: &BigInt, k: u64) -> NumResult<BigInt> {
    check_bits(n.bits().saturating_mul(k))?;
    let lo = n - k + 1u32;
    Ok(product_run(&lo, k))
}

/// `math.comb(n, k)` for `0 <= k <= n/2` (callers pass `min(k, n - k)`).
pub fn comb(n: &BigInt, k: u64) -> NumResult<BigInt> {
    let p = perm(n, k)?;
    Ok(p / factorial(k)?)
}

/// `math.isqrt(n)`.
pub fn isqrt(n: &BigInt) -> NumResult<BigInt> {
    if n.is_negative() {
        return Err(NumError::Value(
            "isqrt() argument must be nonnegative".to_string(),
        ));
    }
    Ok(n.sqrt())
}

/// `math.gcd(a, b)` (non-negative).
pub fn gcd(a: &BigInt, b: &BigInt) -> BigInt {
    a.gcd(b)
}

/// `math.lcm(a, b)` (non-negative).
pub fn lcm(a: &BigInt, b: &BigInt) -> NumResult<BigInt> {
    if a.is_zero() || b.is_zero() {
        return Ok(BigInt::zero());
    }
    let g = a.gcd(b);
    mul(&(a.abs() / g), &b.abs())
}

/// The value of an int literal's text as the lexer hands it over (underscores removed, `0x`/`0o`/
/// `0b` prefix kept; already validated, with no digit limit applied here).
pub fn parse_literal(text: &str) -> Option<BigInt> {
    let lower = text.get(..2).map(str::to_ascii_lowercase);
    let (radix, digits) = match lower.as_deref() {
        Some("0x") => (16, &text[2..]),
        Some("0o") => (8, &text[2..]),
        Some("0b") => (2, &text[2..]),
        _ => (10, text),
    };
    BigInt::parse_bytes(digits.as_bytes(), radix)
}
