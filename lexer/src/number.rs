//! Stage 1a helper: what is wrong with a malformed numeric literal, worded and placed as CPython's
//! tokenizer words and places it.
//!
//! logos's regular expressions (`token.rs`) match the well-formed part of a number; when the text
//! goes on in a way no literal can (`1_`, `0x`, `0b12`, `1e+`, `3abc`), the literal is scanned
//! again here, from its first character, the way CPython's tokenizer reads it: one character at a
//! time, stopping at the first one that cannot continue. CPython's message depends on where it
//! stopped ("invalid digit '2' in binary literal", "invalid hexadecimal literal", ...), and so
//! does the column it reports: the column of its read position, which is the character just
//! before it (1-based), with `end_offset` equal to `offset`.
//!
//! A number directly followed by a keyword that may follow a number in valid code (`1if x else
//! 2`, `0x1for ...`) is accepted, as CPython accepts it: the literal ends before the keyword.
//! CPython's `SyntaxWarning` for it (`invalid decimal literal`) is the compiler crate's, found
//! on the token list (`compile/warn.rs`, `check_numbers`).

/// A malformed literal: the message, and CPython's read position where it gave up, in bytes from
/// the literal's first character (the error's column is that of the byte just before it).
#[derive(Debug, Clone, PartialEq)]
pub struct NumberError {
    pub message: String,
    pub at: usize,
}

/// Scans the literal at the start of `text` (which runs on to the end of the source). `Ok` when
/// CPython's tokenizer accepts it; the caller's regular expression has matched the same text.
pub fn check(text: &str) -> Result<(), NumberError> {
    let mut sc = Scanner {
        s: text.as_bytes(),
        pos: 0,
    };
    match sc.next() {
        Some(b'0') => sc.after_zero(),
        Some(b'.') => {
            let c = sc.next();
            sc.fraction(c)
        }
        _ => {
            let c = sc.decimal_tail()?;
            sc.after_integer_part(c)
        }
    }
}

/// CPython's read position over the literal's bytes. `next` at the end of the text reads nothing
/// (and `back` of nothing stays put), as the tokenizer's end-of-file does.
struct Scanner<'a> {
    s: &'a [u8],
    pos: usize,
}

fn is_digit(c: Option<u8>) -> bool {
    c.is_some_and(|c| c.is_ascii_digit())
}

/// ASCII letters, digits and `_`. (A non-ASCII character after a number is not an "invalid
/// literal" in CPython 3.11 but whatever that character makes of the rest.)
fn is_name_char(c: Option<u8>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
}

impl Scanner<'_> {
    fn next(&mut self) -> Option<u8> {
        let c = self.s.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn back(&mut self, c: Option<u8>) {
        if c.is_some() {
            self.pos -= 1;
        }
    }

    fn fail<T>(&self, message: impl Into<String>) -> Result<T, NumberError> {
        Err(NumberError {
            message: message.into(),
            at: self.pos,
        })
    }

    /// Digits with single underscores between them; returns the first character after them.
    fn decimal_tail(&mut self) -> Result<Option<u8>, NumberError> {
        loop {
            let mut c = self.next();
            while is_digit(c) {
                c = self.next();
            }
            if c != Some(b'_') {
                return Ok(c);
            }
            let after = self.next();
            if !is_digit(after) {
                self.back(after);
                return self.fail("invalid decimal literal");
            }
        }
    }

    /// The literal ended at `c` (already read): fine unless `c` would continue a name, except
    /// for the keywords that may follow a number (the whole keyword is checked, except for `if`,
    /// `in` and `is`, where CPython looks at one more letter only).
    fn end(&mut self, c: Option<u8>, kind: &str) -> Result<(), NumberError> {
        let rest = self.s.get(self.pos..).unwrap_or(&[]);
        let whole_word =
            |tail: &[u8]| rest.starts_with(tail) && !is_name_char(rest.get(tail.len()).copied());
        let keyword = match c {
            Some(b'a') => whole_word(b"nd"),
            Some(b'e') => whole_word(b"lse"),
            Some(b'f') => whole_word(b"or"),
            Some(b'o') => whole_word(b"r"),
            Some(b'n') => whole_word(b"ot"),
            Some(b'i') => matches!(rest.first(), Some(b'f' | b'n' | b's')),
            _ => false,
        };
        if !keyword && is_name_char(c) {
            self.back(c);
            return self.fail(format!("invalid {kind} literal"));
        }
        Ok(())
    }

    /// After a leading `0`: a prefixed integer, zeros, or a float/imaginary starting with 0.
    fn after_zero(&mut self) -> Result<(), NumberError> {
        let mut c = self.next();
        match c {
            Some(b'x' | b'X') => return self.radix(16, "hexadecimal"),
            Some(b'o' | b'O') => return self.radix(8, "octal"),
            Some(b'b' | b'B') => return self.radix(2, "binary"),
            _ => {}
        }
        loop {
            if c == Some(b'_') {
                c = self.next();
                if !is_digit(c) {
                    self.back(c);
                    return self.fail("invalid decimal literal");
                }
            }
            if c != Some(b'0') {
                break;
            }
            c = self.next();
        }
        let nonzero = is_digit(c);
        if nonzero {
            self.back(c);
            c = self.decimal_tail()?;
        }
        match c {
            Some(b'.' | b'e' | b'E' | b'j' | b'J') => self.after_integer_part(c),
            // `0777`: the caller reports CPython's "leading zeros" error with its own span.
            _ if nonzero => Ok(()),
            _ => self.end(c, "decimal"),
        }
    }

    /// `0x`, `0o`, `0b` and their digits (the prefix has been read).
    fn radix(&mut self, radix: u32, kind: &str) -> Result<(), NumberError> {
        let is_radix_digit = |c: Option<u8>| c.is_some_and(|c| (c as char).is_digit(radix));
        let mut c = self.next();
        loop {
            if c == Some(b'_') {
                c = self.next();
            }
            if !is_radix_digit(c) {
                // A decimal digit beyond the radix is named (CPython does so for 0o and 0b).
                if radix != 16 && is_digit(c) {
                    return self.bad_digit(c, kind);
                }
                self.back(c);
                return self.fail(format!("invalid {kind} literal"));
            }
            while is_radix_digit(c) {
                c = self.next();
            }
            if c != Some(b'_') {
                break;
            }
        }
        if radix != 16 && is_digit(c) {
            return self.bad_digit(c, kind);
        }
        self.end(c, kind)
    }

    fn bad_digit(&self, c: Option<u8>, kind: &str) -> Result<(), NumberError> {
        let digit = c.map_or('?', char::from);
        self.fail(format!("invalid digit '{digit}' in {kind} literal"))
    }

    /// After the digits before any `.`: `c` is the character that followed them.
    fn after_integer_part(&mut self, c: Option<u8>) -> Result<(), NumberError> {
        match c {
            Some(b'.') => {
                let c = self.next();
                self.fraction(c)
            }
            _ => self.exponent_or_end(c),
        }
    }

    /// After the `.`: `c` is its next character.
    fn fraction(&mut self, c: Option<u8>) -> Result<(), NumberError> {
        let c = if is_digit(c) {
            self.back(c);
            self.decimal_tail()?
        } else {
            c
        };
        self.exponent_or_end(c)
    }

    /// An optional exponent and an optional `j`, then the end of the literal.
    fn exponent_or_end(&mut self, mut c: Option<u8>) -> Result<(), NumberError> {
        if let Some(e @ (b'e' | b'E')) = c {
            c = self.next();
            if matches!(c, Some(b'+' | b'-')) {
                c = self.next();
                if !is_digit(c) {
                    self.back(c);
                    return self.fail("invalid decimal literal");
                }
            } else if !is_digit(c) {
                // `1else`, `1e`: the `e` ends the literal (a keyword) or is an error.
                self.back(c);
                return self.end(Some(e), "decimal");
            }
            self.back(c);
            c = self.decimal_tail()?;
        }
        if let Some(b'j' | b'J') = c {
            let after = self.next();
            return self.end(after, "imaginary");
        }
        self.end(c, "decimal")
    }
}
