//! Python numeric and text-formatting semantics for minivm, as a pure library (std and the
//! `num-bigint` crate; no VM types).
//!
//! Everything here mirrors CPython 3.11 exactly (the `python3` oracle); anything
//! minivm cannot represent (complex numbers) is reported as an error rather
//! than silently producing a different answer.
//!
//! * [`float_repr`] — `repr(float)` / `str(float)` (shortest round-trip digits).
//! * [`format_spec`] — the format-spec mini-language (`format()`, f-strings).
//! * [`arith`] — int/float arithmetic with Python's rules on `i64`/`f64` (the fast paths).
//! * [`bigint`] — the same for ints beyond `i64` (the slow paths, on `num-bigint`).
//! * [`parse`] — `int(str[, base])`, `float(str)`, plus `str` repr used in messages.
//! * [`hash`] — CPython-compatible `hash()` for int/float/bool and tuples.
//! * [`settable`] — an open-addressing table with CPython `set` iteration order.

pub mod arith;
pub mod bigint;
mod decimal;
pub mod float_repr;
pub mod format_spec;
pub mod hash;
pub mod parse;
pub mod settable;
mod unicode_tables;

use std::fmt;

/// A NaN with the same sign as `nan` that no other call has returned: the result of an
/// operation that makes a new float object in CPython.
///
/// Floats are stored inline, so `is` compares their bits. In CPython each float result is a new
/// object: `x in [x]` is True for a NaN (containers check identity before `==`) while
/// `float('nan') in [float('nan')]`, `x + 1 in [x]` or `[x * 0] == [x * 0]` are False. IEEE
/// arithmetic gives every new NaN the same bits or its operand's, so NaN results take a counter
/// in the unused payload bits instead, one identity each (printing and arithmetic ignore the
/// payload; [`plain_nan`] gives the bits CPython's NaN would have, for `struct` and `array`).
pub fn fresh_nan(nan: f64) -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    // Bits 0..51 are the payload (bit 51 is the "quiet" bit, kept set so the NaN stays quiet).
    const PAYLOAD: u64 = (1 << 51) - 1;
    const QUIET: u64 = 1 << 51;
    let n = NEXT.fetch_add(1, Ordering::Relaxed) & PAYLOAD;
    f64::from_bits((nan.to_bits() & !PAYLOAD) | QUIET | n)
}

/// `f` itself, or a [`fresh_nan`] when it is a NaN: a float result with its own identity.
#[inline]
pub fn new_float(f: f64) -> f64 {
    if f.is_nan() {
        fresh_nan(f)
    } else {
        f
    }
}

/// `f` with a NaN's payload cleared (sign and quiet bit kept): the bits CPython stores for the
/// NaN a [`fresh_nan`] stands for, as `struct.pack` and `array` write them.
#[inline]
pub fn plain_nan(f: f64) -> f64 {
    if f.is_nan() {
        f64::from_bits(f.to_bits() & !((1u64 << 51) - 1) | (1 << 51))
    } else {
        f
    }
}

/// The two ASCII digits of each number 0..=99, one after the other ("000102...99"), so that
/// [`push_int`] makes two digits per division.
const DIGIT_PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

/// The decimal digits of `|i|`, made right to left in `buf`, two per division; returns where
/// they start.
fn int_digits(i: i64, buf: &mut [u8; 20]) -> usize {
    // `i64::MIN` has 19 digits.
    let mut pos = buf.len();
    let mut n = i.unsigned_abs();
    while n >= 100 {
        let d = (n % 100) as usize * 2;
        n /= 100;
        pos -= 2;
        buf[pos] = DIGIT_PAIRS[d];
        buf[pos + 1] = DIGIT_PAIRS[d + 1];
    }
    if n >= 10 {
        let d = n as usize * 2;
        pos -= 2;
        buf[pos] = DIGIT_PAIRS[d];
        buf[pos + 1] = DIGIT_PAIRS[d + 1];
    } else {
        pos -= 1;
        buf[pos] = b'0' + n as u8;
    }
    pos
}

/// Append `i` in decimal (`str(i)`, with a `-` when negative) to `out`: the digits are made in
/// a stack buffer and copied once. `out.push_str(&i.to_string())` went through `fmt`'s
/// machinery into a growing `String` of its own, an allocation and about 130 machine
/// instructions for a six-digit number.
pub fn push_int(out: &mut String, i: i64) {
    let mut buf = [0u8; 20];
    let pos = int_digits(i, &mut buf);
    if i < 0 {
        out.push('-');
    }
    // Always ASCII digits: the check cannot fail.
    out.push_str(std::str::from_utf8(&buf[pos..]).unwrap_or_default());
}

/// `i` in decimal as a new string whose capacity is exactly its length, so that a `PyStr`
/// made from it keeps the block as it is (no shrinking reallocation).
pub fn int_to_string(i: i64) -> String {
    let mut buf = [0u8; 20];
    let pos = int_digits(i, &mut buf);
    let digits = &buf[pos..];
    let mut s = Vec::with_capacity(digits.len() + usize::from(i < 0));
    if i < 0 {
        s.push(b'-');
    }
    s.extend_from_slice(digits);
    // Always ASCII digits: the check cannot fail.
    String::from_utf8(s).unwrap_or_default()
}

/// Message for an `i64` overflow inside a helper that only ever sees inline ints; callers catch
/// it and redo the operation on big ints, so programs never see it.
pub const INT_OVERFLOW: &str = "integer overflow: result does not fit in 64 bits";

/// Errors raised by this module.  Each variant names the Python exception class the VM
/// should raise; the payload is the exact CPython message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumError {
    /// `ZeroDivisionError`.
    ZeroDivision(&'static str),
    /// `OverflowError`.
    Overflow(&'static str),
    /// `MemoryError` (no message, as CPython's): an int past [`bigint::MAX_BITS`], or a size
    /// asked for (a format width) beyond what minivm builds.
    Memory,
    /// `ValueError`.
    Value(String),
    /// `TypeError`.
    Type(String),
    /// The operation is valid Python but minivm cannot represent its result (e.g. a
    /// complex number).  The VM should raise a clear error (e.g. `NotImplementedError`).
    Unsupported(&'static str),
}

impl NumError {
    /// The Python exception class name for this error.
    pub fn kind(&self) -> &'static str {
        match self {
            NumError::ZeroDivision(_) => "ZeroDivisionError",
            NumError::Overflow(_) => "OverflowError",
            NumError::Value(_) => "ValueError",
            NumError::Type(_) => "TypeError",
            NumError::Unsupported(_) => "NotImplementedError",
            NumError::Memory => "MemoryError",
        }
    }

    /// The exception message (what `str(exc)` gives in CPython).
    pub fn message(&self) -> &str {
        match self {
            NumError::ZeroDivision(m) | NumError::Overflow(m) | NumError::Unsupported(m) => m,
            NumError::Value(m) | NumError::Type(m) => m,
            NumError::Memory => "",
        }
    }

    #[inline]
    pub fn overflow() -> NumError {
        NumError::Overflow(INT_OVERFLOW)
    }
}

impl fmt::Display for NumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind(), self.message())
    }
}

impl std::error::Error for NumError {}

/// Result alias used throughout the module.
pub type NumResult<T> = Result<T, NumError>;

pub use arith::*;
pub use bigint::{BigInt, Int};
pub use float_repr::{float_repr, write_float_repr};
pub use format_spec::{
    format_bool, format_float, format_int, format_object, format_str, int_to_str_radix, FormatSpec,
};
pub use hash::{hash_bool, hash_float, hash_int, hash_tuple};
pub use parse::{parse_float, parse_int, str_repr};
pub use settable::SetTable;
