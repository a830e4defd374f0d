//! Stage 4 (VM), numeric semantics.
//! `repr(float)` exactly as CPython, plus the shared `PyOS_double_to_string` layout engine.
//!
//! Shortest round-trip digits come from Rust's `{:e}` formatting (which produces the
//! shortest, closest digit string); fixed-precision digits come from the exact decimal
//! expansion in [`super::decimal`] rounded half-even, like CPython's `_Py_dg_dtoa`.

use super::decimal::{exact_digits, Digits};
use std::fmt::Write as _;

/// A fixed-size stack buffer implementing `fmt::Write` (no heap allocation).
struct StackBuf {
    buf: [u8; 40],
    len: usize,
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let b = s.as_bytes();
        let end = self.len.checked_add(b.len()).ok_or(std::fmt::Error)?;
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(b);
        self.len = end;
        Ok(())
    }
}

/// Shortest round-trip digits of finite non-zero `|x|`: ASCII digits (no trailing
/// zeros) and `decpt` (value = 0.DIGITS * 10^decpt).
#[inline]
fn shortest_digits(x: f64, out: &mut [u8; 20]) -> (usize, i32) {
    let mut sb = StackBuf {
        buf: [0; 40],
        len: 0,
    };
    if write!(sb, "{:e}", x.abs()).is_err() {
        // Cannot happen (shortest f64 is < 30 chars); fall back to exact digits.
        let d = exact_digits(x);
        let n = d.digits.len().min(17);
        for (o, &v) in out.iter_mut().zip(d.digits.iter().take(n)) {
            *o = b'0' + v;
        }
        return (n, d.point);
    }
    let s = &sb.buf[..sb.len];
    let mut n = 0usize;
    let mut i = 0usize;
    while i < s.len() && s[i] != b'e' {
        if s[i].is_ascii_digit() && n < out.len() {
            out[n] = s[i];
            n += 1;
        }
        i += 1;
    }
    let mut exp: i32 = 0;
    let mut neg = false;
    i += 1;
    if i < s.len() && s[i] == b'-' {
        neg = true;
        i += 1;
    }
    while i < s.len() {
        exp = exp * 10 + i32::from(s[i] - b'0');
        i += 1;
    }
    if neg {
        exp = -exp;
    }
    while n > 1 && out[n - 1] == b'0' {
        n -= 1;
    }
    if n >= 16 {
        // With 16-17 digits several shortest candidates may round-trip; Rust's shortest
        // algorithm does not always pick the closest one, CPython (dtoa mode 0) does.
        // The correctly rounded n-digit value is the closest; use it if it round-trips.
        closest_fixup(x.abs(), out, n, &mut exp);
    }
    (n, exp + 1)
}

/// Replace `out[..n]` (exponent `*exp`) by the correctly rounded n-digit decimal of `x`
/// when that also round-trips to `x`.
fn closest_fixup(x: f64, out: &mut [u8; 20], n: usize, exp: &mut i32) {
    let mut sb = StackBuf {
        buf: [0; 40],
        len: 0,
    };
    if write!(sb, "{:.*e}", n - 1, x).is_err() {
        return;
    }
    let Ok(text) = std::str::from_utf8(&sb.buf[..sb.len]) else {
        return;
    };
    if text.parse::<f64>() != Ok(x) {
        return;
    }
    let Some((mant, e)) = text.split_once('e') else {
        return;
    };
    let Ok(e) = e.parse::<i32>() else {
        return;
    };
    let mut k = 0;
    let mut cand = [0u8; 20];
    for c in mant.bytes().filter(u8::is_ascii_digit) {
        if k < cand.len() {
            cand[k] = c;
            k += 1;
        }
    }
    while k > 1 && cand[k - 1] == b'0' {
        k -= 1;
    }
    if k == n {
        out[..n].copy_from_slice(&cand[..n]);
        *exp = e;
    }
}

/// `repr(x)` / `str(x)` for a Python float, e.g. `0.1`, `1e+16`, `-0.0`, `inf`, `nan`.
pub fn float_repr(x: f64) -> String {
    let mut s = String::with_capacity(24);
    write_float_repr(&mut s, x);
    s
}

/// Append `repr(x)` to `out` (the allocation-free variant of [`float_repr`]).
pub fn write_float_repr(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("nan");
        return;
    }
    if x.is_sign_negative() {
        out.push('-');
    }
    if x.is_infinite() {
        out.push_str("inf");
        return;
    }
    if x == 0.0 {
        out.push_str("0.0");
        return;
    }
    let mut buf = [0u8; 20];
    let (n, decpt) = shortest_digits(x, &mut buf);
    layout(out, &buf[..n], decpt, b'r', 0, false, true, false);
}

/// Lay out digit string `digits` (ASCII, no trailing zeros except a lone "0") with
/// decimal point position `decpt`, following CPython's `format_float_short`.
/// `code` is one of `e f g r` (already lower-case); `precision` as passed to dtoa
/// (for `e` it is the number of significant digits, i.e. precision + 1).
#[allow(clippy::too_many_arguments)]
pub(crate) fn layout(
    out: &mut String,
    digits: &[u8],
    mut decpt: i32,
    code: u8,
    precision: i32,
    alt: bool,
    add_dot_0: bool,
    upper: bool,
) {
    let digits_len = digits.len() as i64;
    let mut use_exp = false;
    let mut vdigits_end = digits_len;
    let precision = i64::from(precision);
    match code {
        b'e' => {
            use_exp = true;
            vdigits_end = precision;
        }
        b'f' => vdigits_end = i64::from(decpt) + precision,
        b'g' => {
            let lim = if add_dot_0 { precision - 1 } else { precision };
            if decpt <= -4 || i64::from(decpt) > lim {
                use_exp = true;
            }
            if alt {
                vdigits_end = precision;
            }
        }
        _ => {
            if !(-4 < decpt && decpt <= 16) {
                use_exp = true;
            }
        }
    }
    let mut exp = 0i32;
    if use_exp {
        exp = decpt - 1;
        decpt = 1;
    }
    let decpt = i64::from(decpt);
    let vdigits_start = if decpt <= 0 { decpt - 1 } else { 0 };
    if !use_exp && add_dot_0 {
        vdigits_end = vdigits_end.max(decpt + 1);
    } else {
        vdigits_end = vdigits_end.max(decpt);
    }
    let push_zeros = |out: &mut String, n: i64| {
        for _ in 0..n.max(0) {
            out.push('0');
        }
    };
    let push_digits = |out: &mut String, d: &[u8]| {
        for &c in d {
            out.push(char::from(c));
        }
    };
    let start_len = out.len();
    if decpt <= 0 {
        push_zeros(out, decpt - vdigits_start);
        out.push('.');
        push_zeros(out, -decpt);
    } else {
        push_zeros(out, -vdigits_start);
    }
    if 0 < decpt && decpt <= digits_len {
        let dp = decpt as usize;
        push_digits(out, &digits[..dp]);
        out.push('.');
        push_digits(out, &digits[dp..]);
    } else {
        push_digits(out, digits);
    }
    if digits_len < decpt {
        push_zeros(out, decpt - digits_len);
        out.push('.');
        push_zeros(out, vdigits_end - decpt);
    } else {
        push_zeros(out, vdigits_end - digits_len);
    }
    if !alt && out.len() > start_len && out.ends_with('.') {
        out.pop();
    }
    if use_exp {
        out.push(if upper { 'E' } else { 'e' });
        if exp < 0 {
            out.push('-');
        } else {
            out.push('+');
        }
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push('0');
        }
        let _ = write!(out, "{a}");
    }
}

/// Result of [`double_to_string`]: sign flag and the unsigned body (`"1.5e+10"`, `"inf"`).
pub(crate) struct Formatted {
    pub negative: bool,
    pub body: String,
}

/// CPython's `PyOS_double_to_string(x, code, precision, flags)`, with the sign split off.
/// `code` is one of `e E f F g G r`.  `no_neg_0` implements the `z` flag.
pub(crate) fn double_to_string(
    x: f64,
    code: u8,
    precision: i32,
    alt: bool,
    add_dot_0: bool,
    no_neg_0: bool,
) -> Formatted {
    let upper = code.is_ascii_uppercase();
    let lc = code.to_ascii_lowercase();
    if x.is_nan() {
        let body = if upper { "NAN" } else { "nan" };
        return Formatted {
            negative: false,
            body: body.to_string(),
        };
    }
    let mut negative = x.is_sign_negative();
    if x.is_infinite() {
        let body = if upper { "INF" } else { "inf" };
        return Formatted {
            negative,
            body: body.to_string(),
        };
    }
    let mut body = String::new();
    let (mode_digits, decpt, prec) = match lc {
        b'r' => {
            if x == 0.0 {
                (vec![b'0'], 1, 17)
            } else {
                let mut buf = [0u8; 20];
                let (n, decpt) = shortest_digits(x, &mut buf);
                (buf[..n].to_vec(), decpt, 17)
            }
        }
        _ => {
            let prec = match lc {
                b'g' => precision.max(1),
                b'e' => precision.saturating_add(1),
                _ => precision,
            };
            let mut d: Digits = exact_digits(x);
            let keep = if lc == b'f' {
                i64::from(d.point) + i64::from(prec)
            } else {
                i64::from(prec)
            };
            d.round_keep(keep);
            if d.digits.is_empty() {
                // Zero: dtoa gives "0" with decpt 1.
                (vec![b'0'], 1, prec)
            } else {
                let ascii: Vec<u8> = d.digits.iter().map(|&v| b'0' + v).collect();
                (ascii, d.point, prec)
            }
        }
    };
    if no_neg_0 && negative && mode_digits.iter().all(|&c| c == b'0') {
        negative = false;
    }
    layout(
        &mut body,
        &mode_digits,
        decpt,
        lc,
        prec,
        alt,
        add_dot_0,
        upper,
    );
    Formatted { negative, body }
}
