//! Stage 2 (literals): decoding string escapes, joining adjacent literals, and splitting f-strings
//! into literal text and replacement fields (whose expressions are lexed and parsed in place, so
//! their spans point into the original source).
//!
//! F-strings follow Python 3.11's rules: the expression part may not contain a backslash or `#`,
//! and nested strings must use the other kind of quote (the lexer already scanned the whole literal).

use minivm_lexer::{tokenize_fragment, Token};

use super::expr::mk;
use super::Parser;
use crate::ast::{Const, Expr, ExprKind, FStringPart};
use crate::compile::{check_numbers, CompileWarning, WarningStage};
use crate::{ErrorEnd, Span, SyntaxError};

/// How many brackets a replacement field may leave open at once (CPython 3.11's `MAXLEVEL`).
const FSTRING_MAX_BRACKETS: usize = 200;

type PResult<T> = Result<T, SyntaxError>;

/// Appends literal text, merging with a preceding literal part.
fn push_literal(parts: &mut Vec<FStringPart>, text: String) {
    if text.is_empty() {
        return;
    }
    if let Some(FStringPart::Literal(prev)) = parts.last_mut() {
        prev.push_str(&text);
    } else {
        parts.push(FStringPart::Literal(text));
    }
}

/// The first escape of a literal's body Python does not know, as CPython 3.11 words its
/// `DeprecationWarning`: where it is in the body (bytes), and the message.
pub(crate) type InvalidEscape = Option<(usize, String)>;

/// CPython's message for an unknown escape `\\c` (`escape` is `c`), or an octal one past
/// `\\377` (`escape` is its three digits).
fn invalid_escape_message(escape: &str) -> String {
    if escape.len() == 3 {
        format!("invalid octal escape sequence '\\{escape}'")
    } else {
        format!("invalid escape sequence '\\{escape}'")
    }
}

/// Decodes backslash escapes of a (non-raw) string body; `at` is the body's span, for errors.
/// The first escape that is not one (`\d`; CPython keeps it with a warning) is put in
/// `invalid`, unless an earlier one is there.
pub(crate) fn decode_escapes(
    body: &str,
    raw: bool,
    at: Span,
    invalid: &mut InvalidEscape,
) -> PResult<String> {
    let body = body.replace("\r\n", "\n");
    if raw {
        return Ok(body);
    }
    let mut out = String::with_capacity(body.len());
    let mut chars = body.char_indices().peekable();
    let unicode_err = |pos: usize, len: usize, what: &str| {
        SyntaxError::syntax(
            format!(
                "(unicode error) 'unicodeescape' codec can't decode bytes in position {pos}-{}: {what}",
                pos + len.max(1) - 1
            ),
            at,
        )
    };
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some((_, e)) = chars.next() else {
            out.push('\\');
            break;
        };
        match e {
            '\n' => {}
            '\\' | '\'' | '"' => out.push(e),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek() {
                        Some(&(_, d)) if d.is_digit(8) => {
                            v = v * 8 + d.to_digit(8).unwrap_or(0);
                            chars.next();
                        }
                        _ => break,
                    }
                }
                if v > 0o377 && invalid.is_none() {
                    let digits = body.get(i + 1..i + 4).unwrap_or("");
                    *invalid = Some((i, invalid_escape_message(digits)));
                }
                out.push(char::from_u32(v).unwrap_or('\u{FFFD}'));
            }
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut v = 0u32;
                let mut got = 0;
                while got < n {
                    match chars.peek() {
                        Some(&(_, d)) if d.is_ascii_hexdigit() => {
                            v = v * 16 + d.to_digit(16).unwrap_or(0);
                            chars.next();
                            got += 1;
                        }
                        _ => break,
                    }
                }
                if got < n {
                    let what = match e {
                        'x' => "truncated \\xXX escape",
                        'u' => "truncated \\uXXXX escape",
                        _ => "truncated \\UXXXXXXXX escape",
                    };
                    return Err(unicode_err(i, 2 + got, what));
                }
                match char::from_u32(v) {
                    Some(ch) => out.push(ch),
                    // A lone surrogate (`'\ud800'`): CPython's str holds it; minivm's strings
                    // are UTF-8 and cannot, so it is said plainly rather than as a bad escape.
                    None if (0xD800..=0xDFFF).contains(&v) => {
                        return Err(SyntaxError::syntax(
                            format!(
                                "minivm strings cannot hold surrogate code points \
                                 ('\\{e}{}' is U+{v:04X}, which CPython allows)",
                                body.get(i + 2..i + 2 + n).unwrap_or("")
                            ),
                            at,
                        ))
                    }
                    None => return Err(unicode_err(i, 2 + n, "illegal Unicode character")),
                }
            }
            'N' => {
                // `\N{name}`, with CPython's errors and positions (`unicode_decode_escape`):
                // no `{`, no `}` to the end, an empty name, an unknown one.
                let rest = body.get(i + 2..).unwrap_or("");
                let malformed = "malformed \\N character escape";
                let Some(inner) = rest.strip_prefix('{') else {
                    return Err(unicode_err(i, 2, malformed));
                };
                let Some(len) = inner.find('}') else {
                    return Err(unicode_err(i, body.len() - i, malformed));
                };
                if len == 0 {
                    return Err(unicode_err(i, 3, malformed));
                }
                let Some(ch) = char_named(&inner[..len]) else {
                    return Err(unicode_err(i, len + 4, "unknown Unicode character name"));
                };
                out.push(ch);
                for (_, c) in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                }
            }
            other => {
                // Unknown escapes keep their backslash (CPython only warns; not for a
                // non-ASCII character, which its decoder has turned into an escape already).
                if other.is_ascii() && invalid.is_none() {
                    *invalid = Some((i, invalid_escape_message(&other.to_string())));
                }
                out.push('\\');
                out.push(other);
            }
        }
    }
    Ok(out)
}

/// The character `name` names in a `\N{name}` escape, as CPython's `unicodedata` lookup finds
/// it: the name in any case, or one of its aliases (`LINE FEED`); Hangul syllables and CJK
/// unified ideographs by their computed names. `unicode_names2` also matches loosely (spaces,
/// hyphens and underscores ignored), which CPython does not: a loose match counts only when
/// the name is written as Unicode writes names (words joined by one space or hyphen), and a
/// CJK ideograph's code only in capitals. (Its table is a newer Unicode's than CPython 3.11's
/// 14.0: a character added since is named here and unknown there.)
fn char_named(name: &str) -> Option<char> {
    let upper = name.to_ascii_uppercase();
    let c = unicode_names2::character(&upper)?;
    if let Some(code) = upper.strip_prefix("CJK UNIFIED IDEOGRAPH-") {
        return (name.ends_with(code)).then_some(c);
    }
    let real = unicode_names2::name(c).map(|n| n.to_string());
    if real.as_deref() == Some(upper.as_str()) {
        return Some(c);
    }
    // The character's own name written loosely ("LATINSMALLLETTERA"): not found by CPython.
    let loose = |s: &str| -> String { s.chars().filter(char::is_ascii_alphanumeric).collect() };
    if real.is_some_and(|n| loose(&n) == loose(&upper)) {
        return None;
    }
    // An alias ("LINE FEED", "ZWJ"), written as Unicode writes it.
    let canonical = upper.split([' ', '-']).all(|w| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    });
    canonical.then_some(c)
}

/// Decodes the body of a bytes literal: ASCII source text only (a non-ASCII character is an
/// error over the whole literal, `token`); `\\xNN` and octal escapes give any byte, and `\\u`,
/// `\\U`, `\\N` are not escapes in bytes (they stay as written, as in CPython, with the warning
/// of an unknown escape in `invalid`, as `decode_escapes`). A bad escape is reported at `at`.
pub(crate) fn decode_bytes_escapes(
    body: &str,
    raw: bool,
    token: Span,
    at: Span,
    invalid: &mut InvalidEscape,
) -> PResult<Vec<u8>> {
    if !body.is_ascii() {
        return Err(SyntaxError::syntax(
            "bytes can only contain ASCII literal characters",
            token,
        ));
    }
    let body = body.replace("\r\n", "\n");
    let b = body.as_bytes();
    if raw {
        return Ok(b.to_vec());
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = b.get(i) else {
            out.push(b'\\');
            break;
        };
        i += 1;
        match e {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(e),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match b.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                // Octal escapes above 0o377 keep their low byte (CPython 3.11 does the same,
                // with a warning).
                if v > 0o377 && invalid.is_none() {
                    let digits = body.get(i - 3..i).unwrap_or("");
                    *invalid = Some((i - 4, invalid_escape_message(digits)));
                }
                out.push((v & 0xff) as u8);
            }
            b'x' => {
                let hex = |d: Option<&u8>| d.and_then(|d| (*d as char).to_digit(16));
                match (hex(b.get(i)), hex(b.get(i + 1))) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => {
                        return Err(SyntaxError::syntax(
                            format!("(value error) invalid \\x escape at position {}", i - 2),
                            at,
                        ))
                    }
                }
            }
            other => {
                // Unknown escapes (`\u` included) keep their backslash.
                if invalid.is_none() {
                    *invalid = Some((
                        i - 2,
                        invalid_escape_message(&char::from(other).to_string()),
                    ));
                }
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Ok(out)
}

impl Parser<'_> {
    /// CPython 3.11's `DeprecationWarning` for the first unknown escape of a literal's body
    /// (or f-string text) that starts at `body_start`, found by the decoder.
    fn warn_escape(&mut self, invalid: InvalidEscape, body_start: usize) {
        let Some((offset, message)) = invalid else {
            return;
        };
        let (token, passed) = self.literal;
        let end = if passed {
            ErrorEnd::SpanPassed
        } else {
            ErrorEnd::Span
        };
        let error = SyntaxError::syntax(message.clone(), token).with_end(end);
        self.warnings.push(CompileWarning::front_end(
            "DeprecationWarning",
            message,
            error,
            WarningStage::Parser,
            body_start + offset,
        ));
    }

    /// One or more adjacent string literals: a `Const::Str`, a `Const::Bytes` (all parts `b'...'`),
    /// or an `FString` if any part is an f-string.
    pub(crate) fn strings(&mut self) -> PResult<Expr> {
        let start = self.span();
        let mut parts = Vec::new();
        let mut any_f = false;
        // `Some(true)` once a bytes literal was seen, `Some(false)` once a str literal was.
        let mut bytes_mode: Option<bool> = None;
        let mut bytes = Vec::new();
        let mut literals = Vec::new();
        while matches!(self.peek(), Token::Str | Token::FStr | Token::Bytes) {
            let is_bytes = matches!(self.peek(), Token::Bytes);
            literals.push((is_bytes, self.bump()));
        }
        // CPython 3.11 reports an error inside the literals (a bad escape, an f-string's
        // missing `}`) at the token after the last one (its parser's lookahead): `+` in
        // `f"{}" + 1`, the line's end (no width) when the literals end the line.
        let mut at_end = self.span();
        // Before a comment, CPython's NEWLINE token starts at the `#`.
        if matches!(self.peek(), Token::Newline) {
            let last = literals.last().map_or(start.end, |(_, span)| span.end) as usize;
            let gap = self.src.get(last..at_end.start as usize).unwrap_or("");
            if let Some(hash) = gap.find('#') {
                at_end = Span::new(last + hash, at_end.start as usize);
            }
        }
        let mixed = || SyntaxError::syntax("cannot mix bytes and nonbytes literals", at_end);
        for (is_bytes, span) in literals {
            let text = self.text(span);
            let prefix_len = text.find(['\'', '"']).unwrap_or(0);
            let prefix = text.get(..prefix_len).unwrap_or("");
            let raw = prefix.contains(['r', 'R']);
            let is_f = prefix.contains(['f', 'F']);
            // CPython decodes a plain literal (and warns of its escapes) before it finds it
            // mixed with the others; an f-string's text only after that check.
            let mixes = bytes_mode.is_some_and(|b| b != is_bytes);
            if mixes && is_f {
                return Err(mixed());
            }
            bytes_mode = Some(is_bytes);
            let rest = text.get(prefix_len..).unwrap_or("");
            let q = if rest.starts_with("'''") || rest.starts_with("\"\"\"") {
                3
            } else {
                1
            };
            let body_start = span.start as usize + prefix_len + q;
            let body_end = (span.end as usize).saturating_sub(q).max(body_start);
            // Where a warning about an escape points when it becomes an error: the literal,
            // with its line shown without the newline when CPython's parser had read a token
            // on a later line (the literal goes on there, or the next one stands there).
            let after = self.src.get(span.start as usize..at_end.start as usize);
            let passed = after.is_some_and(|t| t.contains('\n'));
            self.literal = (span, passed);
            if is_bytes {
                let body = self.src.get(body_start..body_end).unwrap_or("");
                let mut invalid = None;
                bytes.extend(decode_bytes_escapes(body, raw, span, at_end, &mut invalid)?);
                self.warn_escape(invalid, body_start);
            } else if is_f {
                any_f = true;
                let (fparts, _) =
                    self.fstring_parts(body_start, body_end, raw, false, 0, at_end)?;
                for p in fparts {
                    match p {
                        FStringPart::Literal(s) => push_literal(&mut parts, s),
                        v => parts.push(v),
                    }
                }
            } else {
                let body = self.src.get(body_start..body_end).unwrap_or("");
                let mut invalid = None;
                let s = decode_escapes(body, raw, at_end, &mut invalid)?;
                self.warn_escape(invalid, body_start);
                push_literal(&mut parts, s);
            }
            if mixes {
                return Err(mixed());
            }
        }
        let span = start.to(self.prev_span());
        if bytes_mode == Some(true) {
            return Ok(mk(ExprKind::Const(Const::Bytes(bytes)), span));
        }
        if any_f {
            return Ok(mk(ExprKind::FString(parts), span));
        }
        let mut s = String::new();
        for p in parts {
            if let FStringPart::Literal(t) = p {
                s.push_str(&t);
            }
        }
        Ok(mk(ExprKind::Const(Const::Str(s)), span))
    }

    /// Parses f-string text `src[start..end]` into parts. In a format spec (`in_spec`) it stops at the
    /// closing `}` and returns its position; otherwise it returns `end`.
    fn fstring_parts(
        &mut self,
        start: usize,
        end: usize,
        raw: bool,
        in_spec: bool,
        nest: u32,
        lit: Span,
    ) -> PResult<(Vec<FStringPart>, usize)> {
        let bytes = self.src.as_bytes();
        let mut parts = Vec::new();
        let mut chunk_start = start;
        let mut i = start;
        let flush = |p: &mut Self, parts: &mut Vec<FStringPart>, from: usize, to: usize| {
            let text = p.src.get(from..to).unwrap_or("");
            let mut invalid = None;
            push_literal(parts, decode_escapes(text, raw, lit, &mut invalid)?);
            p.warn_escape(invalid, from);
            PResult::Ok(())
        };
        while i < end {
            match bytes.get(i) {
                Some(b'{') => {
                    flush(self, &mut parts, chunk_start, i)?;
                    if bytes.get(i + 1) == Some(&b'{') && !in_spec {
                        push_literal(&mut parts, "{".into());
                        i += 2;
                    } else {
                        let (part, next) = self.fstring_field(i, end, raw, nest, lit)?;
                        parts.push(part);
                        i = next;
                    }
                    chunk_start = i;
                }
                Some(b'}') => {
                    flush(self, &mut parts, chunk_start, i)?;
                    if in_spec {
                        return Ok((parts, i));
                    }
                    if bytes.get(i + 1) == Some(&b'}') {
                        push_literal(&mut parts, "}".into());
                        i += 2;
                        chunk_start = i;
                    } else {
                        return Err(SyntaxError::syntax(
                            "f-string: single '}' is not allowed",
                            lit,
                        ));
                    }
                }
                // `\N{name}` is literal text, braces and all (CPython's fstring_find_literal):
                // to the first `}`, or to the end.
                Some(b'\\') if !raw && bytes.get(i + 1) == Some(&b'N') => {
                    i += 2;
                    if bytes.get(i) == Some(&b'{') {
                        while i < end && bytes.get(i) != Some(&b'}') {
                            i += 1;
                        }
                        i += 1;
                    }
                }
                // `\{`: the backslash stays, the brace opens a field (CPython warns of the
                // escape first).
                Some(b'\\') if !raw && bytes.get(i + 1) == Some(&b'{') => {
                    self.warn_escape(Some((0, invalid_escape_message("{"))), i);
                    i += 1;
                }
                Some(b'\\') if !matches!(bytes.get(i + 1), Some(b'{') | Some(b'}')) => i += 2,
                _ => i += 1,
            }
        }
        if in_spec {
            return Err(SyntaxError::syntax("f-string: expecting '}'", lit));
        }
        flush(self, &mut parts, chunk_start, end.min(i))?;
        Ok((parts, end))
    }

    /// A replacement field starting at the `{` at `open`; returns the part and the index after `}`.
    fn fstring_field(
        &mut self,
        open: usize,
        end: usize,
        raw: bool,
        nest: u32,
        lit: Span,
    ) -> PResult<(FStringPart, usize)> {
        if nest >= 2 {
            return Err(SyntaxError::syntax(
                "f-string: expressions nested too deeply",
                lit,
            ));
        }
        let bytes = self.src.as_bytes();
        let expecting = || SyntaxError::syntax("f-string: expecting '}'", lit);
        // Find where the expression ends: a top-level `}`, `!`, `:` or a debug `=`. As CPython
        // 3.11's `fstring_find_expr`, brackets are matched here, each closer against the last
        // opener, so `f"{a[}"` is a mismatch (not a field ended early), and what is still open
        // or quoted when the text runs out is named.
        let mut j = open + 1;
        let mut open_brackets: Vec<u8> = Vec::new();
        let mut unterminated = false;
        while j < end {
            let c = bytes.get(j).copied().unwrap_or(b'}');
            let next = bytes.get(j + 1).copied();
            match c {
                b'\\' => {
                    return Err(SyntaxError::syntax(
                        "f-string expression part cannot include a backslash",
                        lit,
                    ))
                }
                b'\'' | b'"' => {
                    // A string in the expression, a triple-quoted one included (which may
                    // hold the other quote, or one or two of its own).
                    let triple = next == Some(c) && bytes.get(j + 2) == Some(&c);
                    j += if triple { 3 } else { 1 };
                    let closes = |k: usize| {
                        bytes.get(k) == Some(&c)
                            && (!triple
                                || (bytes.get(k + 1) == Some(&c) && bytes.get(k + 2) == Some(&c)))
                    };
                    while j < end && !closes(j) {
                        j += 1;
                    }
                    if j >= end {
                        unterminated = true;
                        break;
                    }
                    if triple {
                        j += 2;
                    }
                }
                b'(' | b'[' | b'{' => {
                    if open_brackets.len() >= FSTRING_MAX_BRACKETS {
                        return Err(SyntaxError::syntax(
                            "f-string: too many nested parenthesis",
                            lit,
                        ));
                    }
                    open_brackets.push(c);
                }
                b'#' => {
                    return Err(SyntaxError::syntax(
                        "f-string expression part cannot include '#'",
                        lit,
                    ))
                }
                b'=' | b'!' | b'<' | b'>' if next == Some(b'=') => j += 1,
                b'!' | b':' | b'=' | b'}' if open_brackets.is_empty() => break,
                b')' | b']' | b'}' => match open_brackets.pop() {
                    None => {
                        return Err(SyntaxError::syntax(
                            format!("f-string: unmatched '{}'", c as char),
                            lit,
                        ))
                    }
                    Some(o) if matches!((o, c), (b'(', b')') | (b'[', b']') | (b'{', b'}')) => {}
                    Some(o) => {
                        return Err(SyntaxError::syntax(
                            format!(
                                "f-string: closing parenthesis '{}' does not match opening \
                                 parenthesis '{}'",
                                c as char, o as char
                            ),
                            lit,
                        ))
                    }
                },
                _ => {}
            }
            j += 1;
        }
        if unterminated {
            return Err(SyntaxError::syntax("f-string: unterminated string", lit));
        }
        if let Some(&o) = open_brackets.last() {
            return Err(SyntaxError::syntax(
                format!("f-string: unmatched '{}'", o as char),
                lit,
            ));
        }
        if j >= end {
            return Err(expecting());
        }
        let expr_start = open + 1;
        let expr_end = j;
        if self
            .src
            .get(expr_start..expr_end)
            .is_none_or(|t| t.trim().is_empty())
        {
            // `f"{!r}"`: CPython names the character that came too early.
            let message = match bytes.get(expr_end) {
                Some(&c @ (b'!' | b':' | b'=')) => {
                    format!("f-string: expression required before '{}'", c as char)
                }
                _ => "f-string: empty expression not allowed".to_string(),
            };
            return Err(SyntaxError::syntax(message, lit));
        }
        let expr = self.fstring_expr(expr_start, expr_end)?;
        // `{x=}`: the text up to and including `=` and any following spaces is printed as written.
        let mut debug_text = None;
        if bytes.get(j) == Some(&b'=') {
            j += 1;
            while matches!(bytes.get(j), Some(b' ')) {
                j += 1;
            }
            debug_text = self.src.get(expr_start..j).map(str::to_string);
        }
        let mut conversion = None;
        if bytes.get(j) == Some(&b'!') {
            match bytes.get(j + 1) {
                Some(&c @ (b'r' | b's' | b'a')) => conversion = Some(c as char),
                // `f"{x!"`: the text ends where the conversion should be.
                _ if j + 1 >= end => return Err(expecting()),
                _ => {
                    return Err(SyntaxError::syntax(
                        "f-string: invalid conversion character: expected 's', 'r', or 'a'",
                        lit,
                    ))
                }
            }
            j += 2;
        }
        let mut spec = None;
        if bytes.get(j) == Some(&b':') {
            let (sparts, close) = self.fstring_parts(j + 1, end, raw, true, nest + 1, lit)?;
            spec = Some(sparts);
            j = close;
        }
        if bytes.get(j) != Some(&b'}') || j >= end {
            return Err(expecting());
        }
        // CPython's AST gives `{x=}` without spec or conversion the `!r` conversion.
        if debug_text.is_some() && conversion.is_none() && spec.is_none() {
            conversion = Some('r');
        }
        Ok((
            FStringPart::Value {
                expr: Box::new(expr),
                conversion,
                spec,
                debug_text,
            },
            j + 1,
        ))
    }

    /// Lexes and parses the expression of a replacement field in place (as if parenthesized).
    fn fstring_expr(&mut self, start: usize, end: usize) -> PResult<Expr> {
        // Where the error is shown (see `SyntaxError::shown`): the innermost field's text.
        let field = Span {
            start: start as u32,
            end: end as u32,
        };
        let located = |mut e: SyntaxError| {
            if e.fstring_expr.is_none() {
                e.fstring_expr = Some(field);
                // The end of the field's input (`AtEnd`: the parser's end of a file) is its
                // closing parenthesis, a token there.
                if e.span.start >= field.end || e.end == ErrorEnd::AtEnd {
                    e.span = Span {
                        start: field.end,
                        end: field.end,
                    };
                    e.end = ErrorEnd::Span;
                }
            }
            e
        };
        // CPython 3.11 parses the field as a parenthesized expression and prefixes every
        // message with `f-string: ` (`f-string: invalid syntax. Perhaps you forgot a comma?`).
        let prefixed = |mut e: SyntaxError| {
            if !e.message.starts_with("f-string") {
                e.message = format!("f-string: {}", e.message);
            }
            located(e)
        };
        let toks = tokenize_fragment(self.src, start, end).map_err(prefixed)?;
        check_numbers(self.src, &toks, Some(field), &mut self.warnings);
        let mut sub = Parser::new(self.src, toks);
        sub.depth = self.depth;
        let parsed = if sub.at(&Token::Yield) {
            sub.yield_expr()
        } else {
            sub.star_expressions()
        };
        self.warnings.append(&mut sub.warnings);
        let e = parsed.map_err(prefixed)?;
        // A field is parsed as a parenthesized expression: `(*a)` is CPython's `invalid_group`.
        if matches!(e.kind, ExprKind::Starred(_)) {
            let err = SyntaxError::syntax("cannot use starred expression here", e.span);
            return Err(prefixed(err));
        }
        if !sub.at(&Token::EndOfFile) {
            let err = if sub.starts_expr() {
                sub.forgot_comma(Some(e.span))
            } else {
                SyntaxError::syntax("invalid syntax", sub.span())
            };
            return Err(prefixed(err));
        }
        Ok(e)
    }
}
