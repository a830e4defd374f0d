//! Stage 4 (VM), built-ins.
//! Pure text helpers with Python's `str` semantics (whitespace, splitting, index adjustment).

/// `str.isspace()` for one character (Python counts \x1c-\x1f as whitespace too).
pub fn is_space(c: char) -> bool {
    crate::num::parse::is_py_space(c)
}

/// `str.isdecimal()` for one character (Unicode category Nd).
pub fn is_decimal(c: char) -> bool {
    crate::num::parse::unicode_decimal_value(c).is_some()
}

/// `str.isdigit()` for one character: those with a digit value in the Unicode database
/// (decimals, super/subscript and circled digits...).
pub fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    if let Some(class) = crate::stdlib::unicodedata::char_class(c) {
        return class.digit;
    }
    is_decimal(c)
        || matches!(c, '\u{b2}' | '\u{b3}' | '\u{b9}' | '\u{2070}' | '\u{2074}'..='\u{2079}'
            | '\u{2080}'..='\u{2089}' | '\u{2460}'..='\u{2468}' | '\u{2474}'..='\u{247c}'
            | '\u{2488}'..='\u{2490}' | '\u{24f5}'..='\u{24fd}' | '\u{2776}'..='\u{277e}'
            | '\u{2780}'..='\u{2788}' | '\u{278a}'..='\u{2792}')
}

/// `str.isalpha()` for one character: Unicode categories Lu, Ll, Lt, Lm and Lo, as CPython
/// (Rust's `char::is_alphabetic` is the wider Alphabetic property, of a newer Unicode).
pub fn is_alpha(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    crate::stdlib::unicodedata::char_class(c).map_or_else(|| c.is_alphabetic(), |k| k.alpha)
}

/// `str.isnumeric()` for one character: those with a numeric value in the Unicode database.
pub fn is_numeric(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    crate::stdlib::unicodedata::char_class(c).map_or_else(|| c.is_numeric(), |k| k.numeric)
}

/// `str.isalnum()` for one character: `isalpha` or `isnumeric` (which covers `isdigit` and
/// `isdecimal`).
pub fn is_alnum(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    crate::stdlib::unicodedata::char_class(c)
        .map_or_else(|| c.is_alphanumeric(), |k| k.alpha || k.numeric)
}

/// A line boundary for `str.splitlines()` (`\r\n` is handled by the caller).
pub fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r'
            | '\x0b'
            | '\x0c'
            | '\x1c'
            | '\x1d'
            | '\x1e'
            | '\u{85}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// `s.split()` / `s.split(None, maxsplit)` (maxsplit < 0: no limit).
pub fn split_whitespace(s: &str, maxsplit: i64) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s.trim_start_matches(is_space);
    let mut splits = 0i64;
    while !rest.is_empty() {
        if maxsplit >= 0 && splits >= maxsplit {
            out.push(rest);
            return out;
        }
        match rest.find(is_space) {
            Some(i) => {
                out.push(&rest[..i]);
                rest = rest[i..].trim_start_matches(is_space);
                splits += 1;
            }
            None => {
                out.push(rest);
                return out;
            }
        }
    }
    out
}

/// `s.rsplit()` / `s.rsplit(None, maxsplit)`.
pub fn rsplit_whitespace(s: &str, maxsplit: i64) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s.trim_end_matches(is_space);
    let mut splits = 0i64;
    while !rest.is_empty() {
        if maxsplit >= 0 && splits >= maxsplit {
            out.push(rest);
            break;
        }
        match rest.rfind(is_space) {
            Some(i) => {
                let ch_len = rest[i..].chars().next().map_or(1, char::len_utf8);
                out.push(&rest[i + ch_len..]);
                rest = rest[..i].trim_end_matches(is_space);
                splits += 1;
            }
            None => {
                out.push(rest);
                break;
            }
        }
    }
    out.reverse();
    out
}

/// `s.split(sep, maxsplit)` with a non-empty separator.
pub fn split_sep<'a>(s: &'a str, sep: &str, maxsplit: i64) -> Vec<&'a str> {
    if maxsplit < 0 {
        s.split(sep).collect()
    } else {
        s.splitn(
            usize::try_from(maxsplit)
                .unwrap_or(usize::MAX)
                .saturating_add(1),
            sep,
        )
        .collect()
    }
}

/// `s.rsplit(sep, maxsplit)` with a non-empty separator.
pub fn rsplit_sep<'a>(s: &'a str, sep: &str, maxsplit: i64) -> Vec<&'a str> {
    let mut out: Vec<&str> = if maxsplit < 0 {
        s.rsplit(sep).collect()
    } else {
        s.rsplitn(
            usize::try_from(maxsplit)
                .unwrap_or(usize::MAX)
                .saturating_add(1),
            sep,
        )
        .collect()
    };
    out.reverse();
    out
}

/// `s.splitlines(keepends)`.
pub fn splitlines(s: &str, keepends: bool) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if !is_line_break(c) {
            continue;
        }
        let mut end = i + c.len_utf8();
        if c == '\r' {
            if let Some(&(_, '\n')) = it.peek() {
                it.next();
                end += 1;
            }
        }
        out.push(if keepends {
            &s[start..end]
        } else {
            &s[start..i]
        });
        start = end;
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// Python `start`/`end` (already defaulted) as CPython's ADJUST_INDICES: negatives count from the end
/// (floored at 0), `end` is capped at `len`; `start` may exceed `end` (then nothing matches).
pub fn adjust_indices(start: Option<i64>, end: Option<i64>, len: usize) -> (usize, usize) {
    let len = len as i64;
    let neg = |v: i64| if v < 0 { (v + len).max(0) } else { v };
    let s = start.map_or(0, neg);
    let e = end.map_or(len, neg).min(len);
    (s as usize, e as usize)
}

/// Number of characters in `s[..byte]`.
pub fn char_index(s: &str, byte: usize) -> usize {
    s.get(..byte).map_or(0, |p| p.chars().count())
}

/// `s.expandtabs(tabsize)`.
pub fn expandtabs(s: &str, tabsize: i64) -> String {
    let mut out = String::with_capacity(s.len());
    let mut col: i64 = 0;
    for c in s.chars() {
        match c {
            '\t' => {
                if tabsize > 0 {
                    let n = tabsize - col % tabsize;
                    out.extend(std::iter::repeat_n(' ', n as usize));
                    col += n;
                }
            }
            '\n' | '\r' => {
                out.push(c);
                col = 0;
            }
            _ => {
                out.push(c);
                col += 1;
            }
        }
    }
    out
}

/// Padding for `str.center(width)`: (left, right), as CPython splits an odd amount.
pub fn center_pad(len: usize, width: usize) -> (usize, usize) {
    if width <= len {
        return (0, 0);
    }
    let pad = width - len;
    let left = pad / 2 + (pad & width & 1);
    (left, pad - left)
}

/// A character is "cased" (it has an upper- or lower-case form).
pub fn is_cased(c: char) -> bool {
    c.is_uppercase() || c.is_lowercase()
}

/// `str.title()`.
pub fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_cased = false;
    for c in s.chars() {
        if prev_cased {
            out.extend(c.to_lowercase());
        } else {
            out.extend(c.to_uppercase());
        }
        prev_cased = is_cased(c);
    }
    out
}

/// `str.capitalize()`.
pub fn capitalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    if let Some(c) = chars.next() {
        out.extend(c.to_uppercase());
    }
    for c in chars {
        out.extend(c.to_lowercase());
    }
    out
}

/// `str.casefold()`: full Unicode case folding, i.e. the lower-case form except for the
/// characters of [`CASEFOLD`](super::casefold_table::CASEFOLD) (`ß` folds to `ss`, `ς` to `σ`).
pub fn casefold(s: &str) -> String {
    use super::casefold_table::CASEFOLD;
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match CASEFOLD.binary_search_by_key(&u32::from(c), |&(cp, _)| cp) {
            Ok(i) => out.push_str(CASEFOLD[i].1),
            Err(_) => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// `str.swapcase()`.
pub fn swapcase(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_uppercase() {
            out.extend(c.to_lowercase());
        } else if c.is_lowercase() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `str.isidentifier()` (approximating XID_Start/XID_Continue by alphabetic/alphanumeric).
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c == '_' || c.is_alphabetic() => {}
        _ => return false,
    }
    chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// `str.replace(old, new, count)` (count < 0: all), including the empty-`old` case.
pub fn replace(s: &str, old: &str, new: &str, count: i64) -> String {
    let limit = if count < 0 {
        usize::MAX
    } else {
        count as usize
    };
    if old.is_empty() {
        let mut out = String::with_capacity(s.len());
        let mut n = 0;
        for c in s.chars() {
            if n < limit {
                out.push_str(new);
                n += 1;
            }
            out.push(c);
        }
        if n < limit {
            out.push_str(new);
        }
        return out;
    }
    if count < 0 {
        s.replace(old, new)
    } else {
        s.replacen(old, new, limit)
    }
}
