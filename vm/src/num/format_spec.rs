//! Stage 4 (VM), numeric semantics.
//! The format-spec mini-language (`format(v, spec)`, f-string `{v:spec}`) as CPython 3.11.
//!
//! Grammar: `[[fill]align][sign][z][#][0][width][grouping][.precision][type]`.
//! Entry points: [`format_int`], [`format_bool`], [`format_float`], [`format_str`];
//! all return CPython's exact `ValueError`/`OverflowError` messages on bad specs.

use super::bigint::{self, BigInt};
use super::float_repr::{double_to_string, float_repr};
use super::parse::unicode_decimal_value;
use super::{NumError, NumResult};

/// Largest width/precision minivm will honour: beyond it, `MemoryError` (CPython would try to
/// build the string and run out of memory).
const MAX_WIDTH: i64 = 1 << 28;
/// CPython's own limit on a precision (a C int): beyond it, `ValueError: precision too big`.
const MAX_PRECISION: i64 = i32::MAX as i64;

/// Thousands grouping requested by the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// No grouping.
    None,
    /// `,` (every 3 digits).
    Comma,
    /// `_` (every 3 digits, or every 4 for `b o x X`).
    Underscore,
}

/// A parsed format specification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatSpec {
    /// Fill character (default space).
    pub fill: char,
    /// One of `< > ^ =`.
    pub align: char,
    /// `'+'`, `'-'`, `' '` or `'\0'` (unspecified).
    pub sign: char,
    /// `z` flag (coerce negative zero).
    pub no_neg_0: bool,
    /// `#` flag.
    pub alternate: bool,
    /// Minimum width, if given.
    pub width: Option<usize>,
    /// Thousands separator.
    pub grouping: Grouping,
    /// Precision, if given.
    pub precision: Option<usize>,
    /// Presentation type, `'\0'` if absent.
    pub ty: char,
}

fn type_char_repr(c: char) -> String {
    let v = u32::from(c);
    if v > 32 && v < 128 {
        c.to_string()
    } else {
        format!("\\x{v:x}")
    }
}

fn unknown_code(ty: char, type_name: &str) -> NumError {
    NumError::Value(format!(
        "Unknown format code '{}' for object of type '{}'",
        type_char_repr(ty),
        type_name
    ))
}

#[inline]
fn digit_of(c: char) -> Option<u32> {
    if c.is_ascii_digit() {
        Some(u32::from(c) - u32::from('0'))
    } else if c.is_ascii() {
        None
    } else {
        unicode_decimal_value(c)
    }
}

/// Parse `chars[*pos..]` as a decimal integer; returns digits consumed.
fn get_integer(chars: &[char], pos: &mut usize, out: &mut i64) -> NumResult<usize> {
    let mut n = 0usize;
    let mut acc: i64 = 0;
    while let Some(&c) = chars.get(*pos) {
        let Some(d) = digit_of(c) else { break };
        acc = acc
            .checked_mul(10)
            .and_then(|a| a.checked_add(i64::from(d)))
            .ok_or_else(|| {
                NumError::Value("Too many decimal digits in format string".to_string())
            })?;
        *pos += 1;
        n += 1;
    }
    *out = acc;
    Ok(n)
}

impl FormatSpec {
    /// Parse `spec` for an object of Python type `type_name` (used in messages), with
    /// the type's default presentation type and alignment (`'>'` numbers, `'<'` str).
    pub fn parse(
        spec: &str,
        type_name: &str,
        default_type: char,
        default_align: char,
    ) -> NumResult<FormatSpec> {
        let chars: Vec<char> = spec.chars().collect();
        let end = chars.len();
        let mut pos = 0usize;
        let mut f = FormatSpec {
            fill: ' ',
            align: default_align,
            sign: '\0',
            no_neg_0: false,
            alternate: false,
            width: None,
            grouping: Grouping::None,
            precision: None,
            ty: default_type,
        };
        let is_align = |c: char| matches!(c, '<' | '>' | '=' | '^');
        let mut fill_specified = false;
        let mut align_specified = false;
        if end >= 2 && is_align(chars[1]) {
            f.align = chars[1];
            f.fill = chars[0];
            fill_specified = true;
            align_specified = true;
            pos = 2;
        } else if end >= 1 && is_align(chars[0]) {
            f.align = chars[0];
            align_specified = true;
            pos = 1;
        }
        if let Some(&c) = chars.get(pos) {
            if matches!(c, '+' | '-' | ' ') {
                f.sign = c;
                pos += 1;
            }
        }
        if chars.get(pos) == Some(&'z') {
            f.no_neg_0 = true;
            pos += 1;
        }
        if chars.get(pos) == Some(&'#') {
            f.alternate = true;
            pos += 1;
        }
        if !fill_specified && chars.get(pos) == Some(&'0') {
            f.fill = '0';
            if !align_specified && default_align == '>' {
                f.align = '=';
            }
            pos += 1;
        }
        let mut width = 0i64;
        if get_integer(&chars, &mut pos, &mut width)? > 0 {
            if width > MAX_WIDTH {
                return Err(NumError::Memory);
            }
            f.width = Some(width as usize);
        }
        let both = || NumError::Value("Cannot specify both ',' and '_'.".to_string());
        if chars.get(pos) == Some(&',') {
            f.grouping = Grouping::Comma;
            pos += 1;
        }
        if chars.get(pos) == Some(&'_') {
            if f.grouping != Grouping::None {
                return Err(both());
            }
            f.grouping = Grouping::Underscore;
            pos += 1;
        }
        if chars.get(pos) == Some(&',') && f.grouping == Grouping::Underscore {
            return Err(both());
        }
        if chars.get(pos) == Some(&'.') {
            pos += 1;
            let mut p = 0i64;
            if get_integer(&chars, &mut pos, &mut p)? == 0 {
                return Err(NumError::Value(
                    "Format specifier missing precision".to_string(),
                ));
            }
            if p > MAX_PRECISION {
                return Err(NumError::Value("precision too big".to_string()));
            }
            if p > MAX_WIDTH {
                return Err(NumError::Memory);
            }
            f.precision = Some(p as usize);
        }
        if end - pos > 1 {
            return Err(NumError::Value(format!(
                "Invalid format specifier '{spec}' for object of type '{type_name}'"
            )));
        }
        if end - pos == 1 {
            f.ty = chars[pos];
        }
        if f.grouping != Grouping::None {
            let ok = match f.ty {
                'd' | 'e' | 'f' | 'g' | 'E' | 'G' | '%' | 'F' | '\0' => true,
                'b' | 'o' | 'x' | 'X' => f.grouping == Grouping::Underscore,
                _ => false,
            };
            if !ok {
                let sep = if f.grouping == Grouping::Comma {
                    ','
                } else {
                    '_'
                };
                return Err(NumError::Value(format!(
                    "Cannot specify '{}' with '{}'.",
                    sep,
                    type_char_repr(f.ty)
                )));
            }
        }
        Ok(f)
    }
}

/// Insert thousands separators into `digits` (ASCII), zero-padding to `min_width`
/// exactly like CPython's `_PyUnicode_InsertThousandsGrouping`.
fn group_digits(digits: &str, group: usize, sep: char, min_width: i64) -> String {
    let d = digits.as_bytes();
    let mut remaining = d.len() as i64;
    let mut min_width = min_width;
    let mut pieces: Vec<u8> = Vec::with_capacity(d.len() * 2);
    let g = group as i64;
    let mut first = true;
    loop {
        let l = g.min(remaining.max(min_width).max(1));
        let n_zeros = (l - remaining).max(0);
        let n_chars = remaining.min(l).max(0);
        if !first {
            pieces.push(sep as u8);
        }
        first = false;
        // pieces are built in reverse order
        let hi = remaining as usize;
        let lo = (remaining - n_chars) as usize;
        for &c in d[lo..hi].iter().rev() {
            pieces.push(c);
        }
        pieces.extend(std::iter::repeat_n(b'0', n_zeros as usize));
        remaining -= n_chars;
        min_width -= l;
        if remaining <= 0 && min_width <= 0 {
            break;
        }
        min_width -= 1;
    }
    pieces.reverse();
    String::from_utf8(pieces).unwrap_or_default()
}

/// Assemble sign, prefix, (grouped) digits and the remainder with fill and alignment.
fn render_number(
    spec: &FormatSpec,
    sign: Option<char>,
    prefix: &str,
    digits: &str,
    rest: &str,
    group_size: usize,
) -> String {
    let n_sign = usize::from(sign.is_some());
    let n_prefix = prefix.len();
    let n_rest = rest.chars().count();
    let width = spec.width.unwrap_or(0);
    let grouped = if spec.grouping != Grouping::None && !digits.is_empty() {
        let sep = if spec.grouping == Grouping::Comma {
            ','
        } else {
            '_'
        };
        let min_width = if spec.fill == '0' && spec.align == '=' {
            width as i64 - (n_sign + n_prefix + n_rest) as i64
        } else {
            0
        };
        group_digits(digits, group_size, sep, min_width)
    } else {
        digits.to_string()
    };
    let n_digits = grouped.chars().count();
    let total = n_sign + n_prefix + n_digits + n_rest;
    let pad = width.saturating_sub(total);
    let (left, mid, right) = match spec.align {
        '<' => (0, 0, pad),
        '^' => (pad / 2, 0, pad - pad / 2),
        '=' => (0, pad, 0),
        _ => (pad, 0, 0),
    };
    let mut out = String::with_capacity(total + pad * spec.fill.len_utf8());
    out.extend(std::iter::repeat_n(spec.fill, left));
    if let Some(s) = sign {
        out.push(s);
    }
    out.push_str(prefix);
    out.extend(std::iter::repeat_n(spec.fill, mid));
    out.push_str(&grouped);
    out.push_str(rest);
    out.extend(std::iter::repeat_n(spec.fill, right));
    out
}

#[inline]
fn sign_char(spec: &FormatSpec, negative: bool) -> Option<char> {
    if negative {
        Some('-')
    } else {
        match spec.sign {
            '+' => Some('+'),
            ' ' => Some(' '),
            _ => None,
        }
    }
}

/// `format(v, spec)` for an `int`.
pub fn format_int(v: i64, spec: &str) -> NumResult<String> {
    format_int_named(v, spec, "int")
}

/// `format(b, spec)` for a `bool` (`'True'`/`'False'` for an empty spec, else as int).
pub fn format_bool(b: bool, spec: &str) -> NumResult<String> {
    if spec.is_empty() {
        return Ok(if b { "True" } else { "False" }.to_string());
    }
    format_int_named(i64::from(b), spec, "bool")
}

/// `format(v, spec)` for an int-like value whose Python type is `type_name`.
pub fn format_int_named(v: i64, spec: &str, type_name: &str) -> NumResult<String> {
    if spec.is_empty() {
        return Ok(v.to_string());
    }
    let f = FormatSpec::parse(spec, type_name, 'd', '>')?;
    match f.ty {
        'b' | 'c' | 'd' | 'o' | 'x' | 'X' | 'n' => format_int_spec(v, &f),
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' | '%' => Ok(format_float_spec(v as f64, &f)),
        other => Err(unknown_code(other, type_name)),
    }
}

/// Format an int with an already-parsed spec of an integer presentation type.
pub fn format_int_spec(v: i64, f: &FormatSpec) -> NumResult<String> {
    if f.precision.is_some() {
        return Err(NumError::Value(
            "Precision not allowed in integer format specifier".to_string(),
        ));
    }
    if f.no_neg_0 {
        return Err(NumError::Value(
            "Negative zero coercion (z) not allowed in integer format specifier".to_string(),
        ));
    }
    if f.ty == 'c' {
        if f.sign != '\0' {
            return Err(NumError::Value(
                "Sign not allowed with integer format specifier 'c'".to_string(),
            ));
        }
        if f.alternate {
            return Err(NumError::Value(
                "Alternate form (#) not allowed with integer format specifier 'c'".to_string(),
            ));
        }
        let ch = u32::try_from(v)
            .ok()
            .filter(|&c| c <= 0x10ffff)
            .ok_or(NumError::Overflow("%c arg not in range(0x110000)"))?;
        // Surrogates are valid Python str code points but not Rust chars.
        let ch = char::from_u32(ch).ok_or(NumError::Unsupported(
            "lone surrogate code points are not supported by minivm strings",
        ))?;
        let s = ch.to_string();
        return Ok(render_number(f, None, "", "", &s, 3));
    }
    let mag = v.unsigned_abs();
    let (radix, prefix, group) = match f.ty {
        'b' => (2, "0b", 4),
        'o' => (8, "0o", 4),
        'x' => (16, "0x", 4),
        'X' => (16, "0X", 4),
        _ => (10, "", 3),
    };
    let digits = u64_to_radix(mag, radix, f.ty == 'X');
    let prefix = if f.alternate { prefix } else { "" };
    Ok(render_number(
        f,
        sign_char(f, v < 0),
        prefix,
        &digits,
        "",
        group,
    ))
}

/// `format(v, spec)` for an int beyond `i64`: the same presentation types as [`format_int`],
/// with decimal output under the `sys.set_int_max_str_digits` limit as in CPython.
pub fn format_bigint(v: &BigInt, spec: &str) -> NumResult<String> {
    if spec.is_empty() {
        return bigint::to_decimal(v);
    }
    let f = FormatSpec::parse(spec, "int", 'd', '>')?;
    match f.ty {
        'b' | 'c' | 'd' | 'o' | 'x' | 'X' | 'n' => format_bigint_spec(v, &f),
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' | '%' => Ok(format_float_spec(bigint::to_f64(v)?, &f)),
        other => Err(unknown_code(other, "int")),
    }
}

/// [`format_int_spec`] for a big int.
pub fn format_bigint_spec(v: &BigInt, f: &FormatSpec) -> NumResult<String> {
    if f.ty == 'c' || f.precision.is_some() || f.no_neg_0 {
        // The spec errors come first, as for small ints; a valid `c` spec cannot take a big int.
        format_int_spec(0, f)?;
        return Err(NumError::Overflow(
            "Python int too large to convert to C long",
        ));
    }
    let (radix, prefix, group) = match f.ty {
        'b' => (2, "0b", 4),
        'o' => (8, "0o", 4),
        'x' => (16, "0x", 4),
        'X' => (16, "0X", 4),
        _ => (10, "", 3),
    };
    let digits = bigint::magnitude_digits(v, radix, f.ty == 'X')?;
    let prefix = if f.alternate { prefix } else { "" };
    Ok(render_number(
        f,
        sign_char(f, v.sign() == bigint::Sign::Minus),
        prefix,
        &digits,
        "",
        group,
    ))
}

/// Digits of `v` in `radix` (2..=36), lower-case unless `upper`.
pub fn u64_to_radix(mut v: u64, radix: u32, upper: bool) -> String {
    let radix = u64::from(radix.clamp(2, 36));
    let table: &[u8; 36] = if upper {
        b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    } else {
        b"0123456789abcdefghijklmnopqrstuvwxyz"
    };
    let mut buf = [0u8; 64];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = table[(v % radix) as usize];
        v /= radix;
        if v == 0 || i == 0 {
            break;
        }
    }
    String::from_utf8_lossy(&buf[i..]).into_owned()
}

/// `bin(v)`, `oct(v)`, `hex(v)`: radix 2, 8 or 16 with prefix `0b`/`0o`/`0x` when
/// `prefix` is true, e.g. `int_to_str_radix(-255, 16, true) == "-0xff"`.
pub fn int_to_str_radix(v: i64, radix: u32, prefix: bool) -> String {
    let p = match radix {
        2 => "0b",
        8 => "0o",
        16 => "0x",
        _ => "",
    };
    let mut s = String::with_capacity(68);
    if v < 0 {
        s.push('-');
    }
    if prefix {
        s.push_str(p);
    }
    s.push_str(&u64_to_radix(v.unsigned_abs(), radix, false));
    s
}

/// `format(x, spec)` for a `float`.
pub fn format_float(x: f64, spec: &str) -> NumResult<String> {
    if spec.is_empty() {
        return Ok(float_repr(x));
    }
    let f = FormatSpec::parse(spec, "float", '\0', '>')?;
    match f.ty {
        '\0' | 'e' | 'E' | 'f' | 'F' | 'g' | 'G' | 'n' | '%' => Ok(format_float_spec(x, &f)),
        other => Err(unknown_code(other, "float")),
    }
}

/// Format a float with a parsed spec whose type is a float presentation type.
pub fn format_float_spec(x: f64, f: &FormatSpec) -> String {
    let mut ty = f.ty;
    let mut add_dot_0 = false;
    let mut default_precision = 6usize;
    let mut val = x;
    let mut add_pct = false;
    if ty == '\0' {
        add_dot_0 = true;
        ty = 'r';
        default_precision = 0;
    }
    if ty == 'n' {
        ty = 'g';
    }
    if ty == '%' {
        ty = 'f';
        val *= 100.0;
        add_pct = true;
    }
    let precision = match f.precision {
        None => default_precision,
        Some(p) => {
            if ty == 'r' {
                ty = 'g';
            }
            p
        }
    };
    let precision = i32::try_from(precision).unwrap_or(i32::MAX);
    let r = double_to_string(val, ty as u8, precision, f.alternate, add_dot_0, f.no_neg_0);
    let body = r.body;
    let split = body.bytes().take_while(u8::is_ascii_digit).count();
    let (digits, rest) = body.split_at(split);
    let mut rest = rest.to_string();
    if add_pct {
        rest.push('%');
    }
    render_number(f, sign_char(f, r.negative), "", digits, &rest, 3)
}

/// `format(c, spec)` for a `complex` with a non-empty spec, as CPython's
/// `format_complex_internal`: each part formatted as a float (the imaginary one with a sign
/// unless the real part is left out), then `j`, parentheses for the default type, and the
/// whole padded to the width. Zero padding and `=` alignment are refused.
pub fn format_complex(re: f64, im: f64, spec: &str) -> NumResult<String> {
    let f = FormatSpec::parse(spec, "complex", '\0', '>')?;
    if f.fill == '0' {
        return Err(NumError::Value(
            "Zero padding is not allowed in complex format specifier".to_string(),
        ));
    }
    if f.align == '=' {
        return Err(NumError::Value(
            "'=' alignment flag is not allowed in complex format specifier".to_string(),
        ));
    }
    let mut ty = match f.ty {
        '\0' | 'e' | 'E' | 'f' | 'F' | 'g' | 'G' => f.ty,
        'n' => 'g',
        other => return Err(unknown_code(other, "complex")),
    };
    let (mut skip_re, mut parens, mut default_precision) = (false, false, 6usize);
    if ty == '\0' {
        ty = 'r';
        default_precision = 0;
        if re == 0.0 && re.is_sign_positive() {
            skip_re = true;
        } else {
            parens = true;
        }
    }
    let precision = match f.precision {
        None => default_precision,
        Some(p) => {
            if ty == 'r' {
                ty = 'g';
            }
            p
        }
    };
    let precision = i32::try_from(precision).unwrap_or(i32::MAX);
    let part = |x: f64, sign: char| {
        let r = double_to_string(x, ty as u8, precision, f.alternate, false, f.no_neg_0);
        let split = r.body.bytes().take_while(u8::is_ascii_digit).count();
        let (digits, rest) = r.body.split_at(split);
        let sub = FormatSpec {
            width: None,
            sign,
            ..f.clone()
        };
        render_number(&sub, sign_char(&sub, r.negative), "", digits, rest, 3)
    };
    let mut body = String::new();
    if parens {
        body.push('(');
    }
    if !skip_re {
        body.push_str(&part(re, f.sign));
    }
    body.push_str(&part(im, if skip_re { f.sign } else { '+' }));
    body.push('j');
    if parens {
        body.push(')');
    }
    let pad = f.width.unwrap_or(0).saturating_sub(body.chars().count());
    let (left, right) = match f.align {
        '<' => (0, pad),
        '^' => (pad / 2, pad - pad / 2),
        _ => (pad, 0),
    };
    let mut out = String::with_capacity(body.len() + pad);
    out.extend(std::iter::repeat_n(f.fill, left));
    out.push_str(&body);
    out.extend(std::iter::repeat_n(f.fill, right));
    Ok(out)
}

/// `format(s, spec)` for a `str`.
pub fn format_str(s: &str, spec: &str) -> NumResult<String> {
    if spec.is_empty() {
        return Ok(s.to_string());
    }
    let f = FormatSpec::parse(spec, "str", 's', '<')?;
    if f.ty != 's' {
        return Err(unknown_code(f.ty, "str"));
    }
    format_str_spec(s, &f)
}

/// Format a string with a parsed spec of type `s`.
pub fn format_str_spec(s: &str, f: &FormatSpec) -> NumResult<String> {
    if f.sign != '\0' {
        let m = if f.sign == ' ' {
            "Space not allowed in string format specifier"
        } else {
            "Sign not allowed in string format specifier"
        };
        return Err(NumError::Value(m.to_string()));
    }
    if f.no_neg_0 {
        return Err(NumError::Value(
            "Negative zero coercion (z) not allowed in string format specifier".to_string(),
        ));
    }
    if f.alternate {
        return Err(NumError::Value(
            "Alternate form (#) not allowed in string format specifier".to_string(),
        ));
    }
    if f.align == '=' {
        return Err(NumError::Value(
            "'=' alignment not allowed in string format specifier".to_string(),
        ));
    }
    let body: &str = match f.precision {
        Some(p) => match s.char_indices().nth(p) {
            Some((idx, _)) => &s[..idx],
            None => s,
        },
        None => s,
    };
    let len = body.chars().count();
    let width = f.width.unwrap_or(0);
    let pad = width.saturating_sub(len);
    let (left, right) = match f.align {
        '>' => (pad, 0),
        '^' => (pad / 2, pad - pad / 2),
        _ => (0, pad),
    };
    let mut out = String::with_capacity(body.len() + pad * f.fill.len_utf8());
    out.extend(std::iter::repeat_n(f.fill, left));
    out.push_str(body);
    out.extend(std::iter::repeat_n(f.fill, right));
    Ok(out)
}

/// `format(None, spec)` and other objects using `object.__format__`: only the empty
/// spec is allowed (`str_value` is `str(obj)`).
pub fn format_object(str_value: &str, type_name: &str, spec: &str) -> NumResult<String> {
    if spec.is_empty() {
        Ok(str_value.to_string())
    } else {
        Err(NumError::Type(format!(
            "unsupported format string passed to {type_name}.__format__"
        )))
    }
}
