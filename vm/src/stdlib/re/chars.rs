//! `re` (stdlib stage), character tests: the categories `\d \w \s` (Unicode for str patterns,
//! ASCII for bytes or with the ASCII flag, as sre), case folding for IGNORECASE, and
//! character classes `[...]`.

use super::parse::Case;

/// A category escape; `true` means its Unicode meaning.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cat {
    Digit(bool),
    NotDigit(bool),
    Space(bool),
    NotSpace(bool),
    Word(bool),
    NotWord(bool),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClassItem {
    Lit(u32),
    Range(u32, u32),
    Cat(Cat),
}

/// A character class: its items, whether it is negated, and its case mode.
#[derive(Debug)]
pub struct ClassSet {
    pub negate: bool,
    pub items: Vec<ClassItem>,
    pub case: Case,
    /// Membership of the 256 Latin-1 characters, precomputed (case folding included).
    low: [u64; 4],
}

impl ClassSet {
    pub fn new(negate: bool, items: Vec<ClassItem>, case: Case) -> ClassSet {
        let mut set = ClassSet {
            negate,
            items,
            case,
            low: [0; 4],
        };
        let mut low = [0u64; 4];
        for c in 0..256u32 {
            if set.slow_contains(c) {
                low[(c >> 6) as usize] |= 1 << (c & 63);
            }
        }
        set.low = low;
        set
    }

    /// Whether `c` is matched by the class (negation included).
    #[inline]
    pub fn matches(&self, c: u32) -> bool {
        if c < 256 {
            return self.low[(c >> 6) as usize] & (1 << (c & 63)) != 0;
        }
        self.slow_contains(c)
    }

    fn slow_contains(&self, c: u32) -> bool {
        let hit = match self.case {
            Case::Exact => self.raw_contains(c),
            Case::Ascii => {
                self.raw_contains(c)
                    || (c < 128 && {
                        let b = c as u8;
                        self.raw_contains(u32::from(b.to_ascii_lowercase()))
                            || self.raw_contains(u32::from(b.to_ascii_uppercase()))
                    })
            }
            Case::Unicode => {
                self.raw_contains(c)
                    || self.raw_contains(lower(c))
                    || self.raw_contains(upper(c))
                    || extra_cases(c).iter().any(|&x| self.raw_contains(x))
            }
        };
        hit != self.negate
    }

    fn raw_contains(&self, c: u32) -> bool {
        self.items.iter().any(|item| match *item {
            ClassItem::Lit(x) => x == c,
            ClassItem::Range(lo, hi) => lo <= c && c <= hi,
            ClassItem::Cat(cat) => in_category(cat, c),
        })
    }
}

pub fn in_category(cat: Cat, c: u32) -> bool {
    match cat {
        Cat::Digit(u) => is_digit(c, u),
        Cat::NotDigit(u) => !is_digit(c, u),
        Cat::Space(u) => is_space(c, u),
        Cat::NotSpace(u) => !is_space(c, u),
        Cat::Word(u) => is_word(c, u),
        Cat::NotWord(u) => !is_word(c, u),
    }
}

fn is_digit(c: u32, unicode: bool) -> bool {
    if c < 128 || !unicode {
        return (0x30..=0x39).contains(&c);
    }
    char::from_u32(c).is_some_and(crate::builtins::text::is_decimal)
}

fn is_space(c: u32, unicode: bool) -> bool {
    if c < 128 || !unicode {
        return matches!(c, 0x09..=0x0d | 0x20) || (unicode && matches!(c, 0x1c..=0x1f));
    }
    char::from_u32(c).is_some_and(crate::builtins::text::is_space)
}

/// `\w`: alphanumeric or underscore (`str.isalnum()` for Unicode).
#[inline]
pub fn is_word(c: u32, unicode: bool) -> bool {
    if c < 128 {
        let b = c as u8;
        return b.is_ascii_alphanumeric() || b == b'_';
    }
    unicode && char::from_u32(c).is_some_and(crate::builtins::text::is_alnum)
}

/// Simple lowercase mapping (one character), as `Py_UNICODE_TOLOWER`.
pub fn lower(c: u32) -> u32 {
    if c < 128 {
        return u32::from((c as u8).to_ascii_lowercase());
    }
    match char::from_u32(c) {
        Some(ch) => {
            let mut it = ch.to_lowercase();
            match (it.next(), it.next()) {
                (Some(l), None) => l as u32,
                (Some(l), Some(_)) if c == 0x130 => l as u32,
                _ => c,
            }
        }
        None => c,
    }
}

/// Simple uppercase mapping (one character).
pub fn upper(c: u32) -> u32 {
    if c < 128 {
        return u32::from((c as u8).to_ascii_uppercase());
    }
    match char::from_u32(c) {
        Some(ch) => {
            let mut it = ch.to_uppercase();
            match (it.next(), it.next()) {
                (Some(u), None) => u as u32,
                _ => c,
            }
        }
        None => c,
    }
}

/// Characters other than `lower(c)` that match `c` ignoring case (sre's `_casefix` table: the
/// lowercase letters sharing an uppercase letter).
fn extra_cases(c: u32) -> &'static [u32] {
    match lower(c) {
        0x69 => &[0x131],
        0x73 => &[0x17f],
        0xb5 => &[0x3bc],
        0x131 => &[0x69],
        0x17f => &[0x73],
        0x345 => &[0x3b9, 0x1fbe],
        0x390 => &[0x1fd3],
        0x3b0 => &[0x1fe3],
        0x3b2 => &[0x3d0],
        0x3b5 => &[0x3f5],
        0x3b8 => &[0x3d1],
        0x3b9 => &[0x345, 0x1fbe],
        0x3ba => &[0x3f0],
        0x3bc => &[0xb5],
        0x3c0 => &[0x3d6],
        0x3c1 => &[0x3f1],
        0x3c2 => &[0x3c3],
        0x3c3 => &[0x3c2],
        0x3c6 => &[0x3d5],
        0x3d0 => &[0x3b2],
        0x3d1 => &[0x3b8],
        0x3d5 => &[0x3c6],
        0x3d6 => &[0x3c0],
        0x3f0 => &[0x3ba],
        0x3f1 => &[0x3c1],
        0x3f5 => &[0x3b5],
        0x1e61 => &[0x1e9b],
        0x1e9b => &[0x1e61],
        0x1fbe => &[0x345, 0x3b9],
        0x1fd3 => &[0x390],
        0x1fe3 => &[0x3b0],
        0xfb05 => &[0xfb06],
        0xfb06 => &[0xfb05],
        _ => &[],
    }
}

/// The key two characters share when they match each other ignoring case.
#[inline]
pub fn fold(c: u32, case: Case) -> u32 {
    match case {
        Case::Exact => c,
        Case::Ascii => {
            if c < 128 {
                u32::from((c as u8).to_ascii_lowercase())
            } else {
                c
            }
        }
        Case::Unicode => {
            if c < 128 {
                return u32::from((c as u8).to_ascii_lowercase());
            }
            let l = lower(c);
            // Characters sharing an uppercase letter fold to the smallest of them.
            extra_cases(c).iter().copied().fold(l, u32::min)
        }
    }
}
