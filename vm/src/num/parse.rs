//! Stage 4 (VM), numeric semantics.
//! `int(str)`, `int(str, base)` and `float(str)` parsing, plus Python's `repr(str)`.
//!
//! Like CPython, Unicode decimal digits (e.g. Arabic-Indic `١٢`) are accepted as
//! digits and all `str.isspace()` characters are stripped.  Error messages quote the
//! original argument with Python's `repr`.

use super::bigint::{self, Int};
use super::unicode_tables::{DECIMAL_ZEROS, NON_PRINTABLE, SPACES};
use super::{NumError, NumResult};

/// Value (0..=9) of a Unicode decimal digit (category Nd), `None` otherwise.
#[inline]
pub fn unicode_decimal_value(c: char) -> Option<u32> {
    let v = u32::from(c);
    if c.is_ascii_digit() {
        return Some(v - 0x30);
    }
    if v < 0x660 {
        return None;
    }
    let idx = DECIMAL_ZEROS.partition_point(|&z| z <= v);
    let z = DECIMAL_ZEROS[idx.checked_sub(1)?];
    (v - z < 10).then_some(v - z)
}

/// Python's `str.isspace()` for one character.
#[inline]
pub fn is_py_space(c: char) -> bool {
    let v = u32::from(c);
    if v < 0x80 {
        return matches!(v, 0x09..=0x0d | 0x1c..=0x20);
    }
    SPACES.binary_search(&v).is_ok()
}

/// Python's `str.isprintable()` for one character.
#[inline]
pub fn is_py_printable(c: char) -> bool {
    let v = u32::from(c);
    if (0x20..0x7f).contains(&v) {
        return true;
    }
    let idx = NON_PRINTABLE.partition_point(|&(lo, _)| lo <= v);
    match idx.checked_sub(1) {
        Some(i) => v > NON_PRINTABLE[i].1,
        None => true,
    }
}

/// `repr(s)` for a Python `str` (quote choice and escapes exactly as CPython).
pub fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_py_printable(c) => out.push(c),
            c => {
                let v = u32::from(c);
                if v < 0x100 {
                    out.push_str(&format!("\\x{v:02x}"));
                } else if v < 0x10000 {
                    out.push_str(&format!("\\u{v:04x}"));
                } else {
                    out.push_str(&format!("\\U{v:08x}"));
                }
            }
        }
    }
    out.push(quote);
    out
}

/// CPython's `_PyUnicode_TransformDecimalAndSpaceToASCII`: spaces -> ' ', decimal
/// digits -> ASCII, other ASCII kept, anything else -> '?'.
fn to_ascii(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| {
            if c.is_ascii() {
                if is_py_space(c) {
                    b' '
                } else {
                    c as u8
                }
            } else if is_py_space(c) {
                b' '
            } else if let Some(d) = unicode_decimal_value(c) {
                b'0' + d as u8
            } else {
                b'?'
            }
        })
        .collect()
}

#[inline]
fn is_ascii_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|&c| !is_ascii_space(c))
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|&c| !is_ascii_space(c))
        .map_or(start, |e| e + 1);
    &b[start..end.max(start)]
}

#[inline]
fn digit_value(b: u8) -> u32 {
    match b {
        b'0'..=b'9' => u32::from(b - b'0'),
        b'a'..=b'z' => u32::from(b - b'a') + 10,
        b'A'..=b'Z' => u32::from(b - b'A') + 10,
        _ => 99,
    }
}

/// Truncate a repr to 200 characters, as CPython's `%.200R`.
fn repr200(s: &str) -> String {
    let r = str_repr(s);
    match r.char_indices().nth(200) {
        Some((i, _)) => r[..i].to_string(),
        None => r,
    }
}

/// `int(s, base)` (use base 10 for plain `int(s)`; base 0 means "from the prefix").
pub fn parse_int(s: &str, base: i64) -> NumResult<Int> {
    if base != 0 && !(2..=36).contains(&base) {
        return Err(NumError::Value(
            "int() base must be >= 2 and <= 36, or 0".to_string(),
        ));
    }
    let invalid = || {
        NumError::Value(format!(
            "invalid literal for int() with base {}: {}",
            base,
            repr200(s)
        ))
    };
    let ascii = to_ascii(s);
    let mut b = trim_ascii(&ascii);
    let mut negative = false;
    if let Some(&c) = b.first() {
        if c == b'+' || c == b'-' {
            negative = c == b'-';
            b = &b[1..];
        }
    }
    let mut base = base as u32;
    let mut after_prefix = false;
    if b.len() >= 2 && b[0] == b'0' {
        let p = b[1].to_ascii_lowercase();
        let pbase = match p {
            b'x' => 16,
            b'o' => 8,
            b'b' => 2,
            _ => 0,
        };
        if pbase != 0 && (base == 0 || base == pbase) {
            base = pbase;
            b = &b[2..];
            after_prefix = true;
        }
    }
    let mut leading_zero_literal = false;
    if base == 0 {
        // No prefix: decimal, and a leading zero means the literal must be all zeros.
        base = 10;
        leading_zero_literal = b.first() == Some(&b'0');
    }
    // Validate digits and underscores.
    if b.is_empty() {
        return Err(invalid());
    }
    let mut prev_digit = after_prefix; // an underscore may follow the base prefix
    let mut ndigits: usize = 0;
    let mut acc: u64 = 0;
    let mut overflow = false;
    for &c in b {
        if c == b'_' {
            if !prev_digit {
                return Err(invalid());
            }
            prev_digit = false;
            continue;
        }
        let d = digit_value(c);
        if d >= base {
            return Err(invalid());
        }
        if leading_zero_literal && d != 0 {
            return Err(invalid());
        }
        prev_digit = true;
        ndigits += 1;
        match acc
            .checked_mul(u64::from(base))
            .and_then(|a| a.checked_add(u64::from(d)))
        {
            Some(a) => acc = a,
            None => overflow = true,
        }
    }
    if !prev_digit || ndigits == 0 {
        return Err(invalid());
    }
    // CPython's limit on decimal-like conversions counts every digit, leading zeros included.
    let limit = bigint::max_str_digits();
    if !base.is_power_of_two() && limit > 0 && ndigits > limit {
        return Err(bigint::from_str_limit_error(ndigits));
    }
    if overflow || acc > (1u64 << 63) || (acc == (1u64 << 63) && !negative) {
        let digits: Vec<u8> = b.iter().copied().filter(|&c| c != b'_').collect();
        return bigint::parse_digits(&digits, base, negative).map(Int::from_big);
    }
    Ok(Int::Small(if negative {
        0i64.wrapping_sub_unsigned(acc)
    } else {
        acc as i64
    }))
}

/// `float(s)`: accepts surrounding whitespace, `_` between digits, `inf`, `infinity`,
/// `nan` (any case, optional sign) and the usual decimal/exponent forms.
pub fn parse_float(s: &str) -> NumResult<f64> {
    let invalid = || {
        NumError::Value(format!(
            "could not convert string to float: {}",
            str_repr(s)
        ))
    };
    let ascii = to_ascii(s);
    let b = trim_ascii(&ascii);
    // Remove underscores, each of which must sit between two digits.
    let mut clean: Vec<u8> = Vec::with_capacity(b.len());
    for (i, &c) in b.iter().enumerate() {
        if c == b'_' {
            let before = i > 0 && b[i - 1].is_ascii_digit();
            let after = b.get(i + 1).is_some_and(u8::is_ascii_digit);
            if !(before && after) {
                return Err(invalid());
            }
        } else {
            clean.push(c);
        }
    }
    let mut body: &[u8] = &clean;
    let mut negative = false;
    if let Some(&c) = body.first() {
        if c == b'+' || c == b'-' {
            negative = c == b'-';
            body = &body[1..];
        }
    }
    let lower: Vec<u8> = body.iter().map(u8::to_ascii_lowercase).collect();
    let special = match lower.as_slice() {
        b"inf" | b"infinity" => Some(f64::INFINITY),
        b"nan" => Some(f64::NAN),
        _ => None,
    };
    if let Some(v) = special {
        return Ok(if negative { -v } else { v });
    }
    // Grammar: digits [. digits*] | . digits, then optional e[sign]digits.
    let mut i = 0;
    let int_digits = body.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if body.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = body[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac_digits;
    }
    if int_digits + frac_digits == 0 {
        return Err(invalid());
    }
    if matches!(body.get(i), Some(b'e') | Some(b'E')) {
        i += 1;
        if matches!(body.get(i), Some(b'+') | Some(b'-')) {
            i += 1;
        }
        let exp_digits = body[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp_digits == 0 {
            return Err(invalid());
        }
        i += exp_digits;
    }
    if i != body.len() {
        return Err(invalid());
    }
    let text = std::str::from_utf8(body).map_err(|_| invalid())?;
    let v: f64 = text.parse().map_err(|_| invalid())?;
    Ok(if negative { -v } else { v })
}
