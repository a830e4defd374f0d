//! Stage 4 (VM), built-ins.
//! Pure text helpers with Python's `str` semantics (whitespace, splitting, index adjustment).

/// `str.isspace()` for one character (Python counts \x1c-\x1f as whitespace too).
pub fn is_space(c: char) -> bool {
    crate::num::parse::is_py_space(c)
}

/// A character of U+0080..U+00FF as its byte: the tests below answer those from what the
/// Unicode database says of them, without unpacking the database (about 44 million machine
/// instructions, paid once, that `re` paid at the first class with `\w`, as ElementTree's
/// name pattern has, when it precomputes the class's first 256 characters).
fn latin1(c: char) -> Option<u8> {
    u8::try_from(u32::from(c)).ok().filter(|b| *b >= 0x80)
}

/// Category L* among U+0080..U+00FF: ª µ º and the letters À-ÿ but × and ÷.
fn latin1_alpha(b: u8) -> bool {
    matches!(b, 0xaa | 0xb5 | 0xba | 0xc0..=0xd6 | 0xd8..=0xf6 | 0xf8..=0xff)
}

/// A numeric value among U+0080..U+00FF: ² ³ ¹ ¼ ½ ¾.
fn latin1_numeric(b: u8) -> bool {
    matches!(b, 0xb2 | 0xb3 | 0xb9 | 0xbc..=0xbe)
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
    if let Some(b) = latin1(c) {
        return matches!(b, 0xb2 | 0xb3 | 0xb9);
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
    if let Some(b) = latin1(c) {
        return latin1_alpha(b);
    }
    crate::stdlib::unicodedata::char_class(c).map_or_else(|| c.is_alphabetic(), |k| k.alpha)
}

/// `str.isnumeric()` for one character: those with a numeric value in the Unicode database.
pub fn is_numeric(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    if let Some(b) = latin1(c) {
        return latin1_numeric(b);
    }
    crate::stdlib::unicodedata::char_class(c).map_or_else(|| c.is_numeric(), |k| k.numeric)
}

/// `str.isalnum()` for one character: `isalpha` or `isnumeric` (which covers `isdigit` and
/// `isdecimal`).
pub fn is_alnum(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    if let Some(b) = latin1(c) {
        return latin1_alpha(b) || latin1_numeric(b);
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

/// The property bits of `c` ([`case_table::FLAGS`](super::case_table::FLAGS)).
fn case_flags(c: char) -> u8 {
    use super::case_table::FLAGS;
    let cp = u32::from(c);
    let i = FLAGS.partition_point(|&run| run >> 8 <= cp);
    // The first run starts at U+0000, so `i` is at least 1.
    FLAGS.get(i.wrapping_sub(1)).map_or(0, |&run| run as u8)
}

/// A character is "cased" (CPython's `_PyUnicode_IsCased`: upper, lower or title case).
pub fn is_cased(c: char) -> bool {
    use super::case_table::{LOWER, TITLE, UPPER};
    case_flags(c) & (LOWER | UPPER | TITLE) != 0
}

/// `c.isupper()` for one character (the Uppercase property of CPython's Unicode data).
pub fn is_upper(c: char) -> bool {
    case_flags(c) & super::case_table::UPPER != 0
}

/// `c.islower()` for one character (the Lowercase property).
pub fn is_lower(c: char) -> bool {
    case_flags(c) & super::case_table::LOWER != 0
}

/// A title-case letter (`ǅ`, category Lt).
pub fn is_titlecase(c: char) -> bool {
    case_flags(c) & super::case_table::TITLE != 0
}

/// Which of a character's case mappings [`case_map`] gives.
#[derive(Clone, Copy)]
enum Case {
    Upper,
    Lower,
    Title,
}

/// Append `c`'s full upper-, lower- or title-case mapping to `out`, from CPython's Unicode data.
fn case_map(c: char, case: Case, out: &mut String) {
    use super::case_table::{MAPS, SPECIAL};
    let cp = u32::from(c);
    if let Ok(i) = SPECIAL.binary_search_by_key(&cp, |r| r.0) {
        let (_, upper, lower, title) = SPECIAL[i];
        out.push_str(match case {
            Case::Upper => upper,
            Case::Lower => lower,
            Case::Title => title,
        });
        return;
    }
    let i = MAPS.partition_point(|r| r.0 <= cp);
    let mapped = match i.checked_sub(1).map(|i| MAPS[i]) {
        Some((first, last, stride, up, low, title)) if cp <= last => {
            let (up, low, title) = match stride {
                0 if (cp - first) % 2 == 1 => (-1, 0, -1),
                0 => (up, low, title),
                _ if (cp - first) % stride != 0 => (0, 0, 0),
                _ => (up, low, title),
            };
            let delta = match case {
                Case::Upper => up,
                Case::Lower => low,
                Case::Title => title,
            };
            char::from_u32(cp.wrapping_add_signed(delta)).unwrap_or(c)
        }
        _ => c,
    };
    out.push(mapped);
}

/// The lower case of the character at `i` of `chars`, as CPython's `lower_ucs4`: a capital
/// sigma is final (`ς`) when a cased character precedes it and none follows, skipping
/// case-ignorable ones (`'ΟΔΟΣ'.lower()` is `'οδος'`).
fn lower_at(chars: &[char], i: usize, out: &mut String) {
    let c = chars[i];
    if c != '\u{3a3}' {
        return case_map(c, Case::Lower, out);
    }
    let ignorable = |c: char| case_flags(c) & super::case_table::IGNORABLE != 0;
    let before = chars[..i].iter().rev().find(|&&c| !ignorable(c));
    let after = chars[i + 1..].iter().find(|&&c| !ignorable(c));
    let is_final = before.is_some_and(|&c| is_cased(c)) && !after.is_some_and(|&c| is_cased(c));
    out.push(if is_final { '\u{3c2}' } else { '\u{3c3}' });
}

/// `str.upper()`.
pub fn upper(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_uppercase();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        case_map(c, Case::Upper, &mut out);
    }
    out
}

/// `str.lower()`.
pub fn lower(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for i in 0..chars.len() {
        lower_at(&chars, i, &mut out);
    }
    out
}

/// `str.title()`: title case after an uncased character, lower case after a cased one.
pub fn title(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut prev_cased = false;
    for (i, &c) in chars.iter().enumerate() {
        if prev_cased {
            lower_at(&chars, i, &mut out);
        } else {
            case_map(c, Case::Title, &mut out);
        }
        prev_cased = is_cased(c);
    }
    out
}

/// `str.capitalize()`: the first character in title case (as CPython 3.8+), the rest lower.
pub fn capitalize(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        if i == 0 {
            case_map(c, Case::Title, &mut out);
        } else {
            lower_at(&chars, i, &mut out);
        }
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
            Err(_) => case_map(c, Case::Lower, &mut out),
        }
    }
    out
}

/// `str.swapcase()`.
pub fn swapcase(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        if is_upper(c) {
            lower_at(&chars, i, &mut out);
        } else if is_lower(c) {
            case_map(c, Case::Upper, &mut out);
        } else {
            out.push(c);
        }
    }
    out
}

/// `str.isupper()`: some upper-case character and no lower- or title-case one.
pub fn is_upper_str(s: &str) -> bool {
    one_case(s, is_upper, is_lower)
}

/// `str.islower()`: some lower-case character and no upper- or title-case one.
pub fn is_lower_str(s: &str) -> bool {
    one_case(s, is_lower, is_upper)
}

/// Some character is `this` case, none is `other` case or title case.
fn one_case(s: &str, this: fn(char) -> bool, other: fn(char) -> bool) -> bool {
    let mut cased = false;
    for c in s.chars() {
        if other(c) || is_titlecase(c) {
            return false;
        }
        cased |= this(c);
    }
    cased
}

/// `str.istitle()`: upper- and title-case characters only after uncased ones, lower-case ones
/// only after cased ones, and at least one cased character.
pub fn is_title_str(s: &str) -> bool {
    title_shaped(s.chars(), |c| is_upper(c) || is_titlecase(c), is_lower)
}

/// The test of `istitle()` (of `str` and of `bytes`, with their notions of case): every
/// `upper` character follows an uncased one, every `lower` one a cased one, and there is one.
pub fn title_shaped(
    chars: impl Iterator<Item = char>,
    upper: impl Fn(char) -> bool,
    lower: impl Fn(char) -> bool,
) -> bool {
    let (mut cased, mut prev_cased) = (false, false);
    for c in chars {
        if upper(c) {
            if prev_cased {
                return false;
            }
            prev_cased = true;
            cased = true;
        } else if lower(c) {
            if !prev_cased {
                return false;
            }
            prev_cased = true;
            cased = true;
        } else {
            prev_cased = false;
        }
    }
    cased
}

/// `str.isidentifier()`: XID_Start or `_`, then XID_Continue characters (CPython's Unicode data).
pub fn is_identifier(s: &str) -> bool {
    use super::case_table::{XID_CONTINUE, XID_START};
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if case_flags(c) & XID_START != 0 => {}
        _ => return false,
    }
    chars.all(|c| case_flags(c) & XID_CONTINUE != 0)
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
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for at in find_all(s, old).take(limit) {
        out.push_str(&s[last..at]);
        out.push_str(new);
        last = at + old.len();
    }
    out.push_str(&s[last..]);
    out
}

// Substring search over the UTF-8 bytes with memchr's searchers (`str`'s own searcher walks a
// character at a time): a match of a whole UTF-8 needle starts and ends on character
// boundaries, so the byte offsets found are those `str::find` gives. A one-byte needle (`d in
// s`, `s.replace(d, '')` with an ASCII character: most searches real programs make) goes to
// `memchr` itself: `memmem` builds a searcher for every call, which for a short string costs
// more than the search (Norvig's sudoku solver: about 80 machine instructions per `in`).

/// The byte offsets of the non-overlapping `needle`s (not empty) in `hay`, left to right.
fn find_all<'a>(hay: &'a str, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let (one, many) = match n {
        [b] => (Some(memchr::memchr_iter(*b, h)), None),
        _ => (None, Some(memchr::memmem::find_iter(h, n))),
    };
    one.into_iter().flatten().chain(many.into_iter().flatten())
}

/// The byte offset of the first `needle` in `hay`.
#[inline]
pub fn find_sub(hay: &str, needle: &str) -> Option<usize> {
    match needle.as_bytes() {
        // A byte at a time over a short string: a few instructions a byte, where `memchr`'s
        // vector search first spends about twenty setting up.
        [b] if hay.len() <= 16 => hay.bytes().position(|c| c == *b),
        [b] => memchr::memchr(*b, hay.as_bytes()),
        n => memchr::memmem::find(hay.as_bytes(), n),
    }
}

/// The byte offset of the last `needle` in `hay`.
#[inline]
pub fn rfind_sub(hay: &str, needle: &str) -> Option<usize> {
    match needle.as_bytes() {
        [b] => memchr::memrchr(*b, hay.as_bytes()),
        n => memchr::memmem::rfind(hay.as_bytes(), n),
    }
}

/// How many non-overlapping `needle`s (not empty) `hay` holds, as `str.count`.
pub fn count_sub(hay: &str, needle: &str) -> usize {
    find_all(hay, needle).count()
}
