//! Stage 1b: the indentation layer over the logos scanner. Emits `Newline`/`Indent`/`Dedent`/`EndOfFile`.
//!
//! Mirrors CPython's tokenizer: newlines inside `()[]{}` are ignored (implicit line joining), blank and
//! comment-only lines produce nothing, and each logical line's indentation is compared with a stack of
//! open levels. Indentation is measured twice, with tabs to multiples of 8 and with tabs as 1 column;
//! if the two measurements disagree about the order of two levels, the file is ambiguous (`TabError`).

use std::collections::VecDeque;

use logos::Logos;

use crate::error::{ErrorEnd, SyntaxError, SyntaxErrorKind, TokenizerReport};
use crate::span::{LineIndex, Span};
use crate::token::{LexError, Token};

/// CPython's default `sys.get_int_max_str_digits()`, which also bounds decimal literals.
const MAX_DECIMAL_LITERAL_DIGITS: usize = 4300;

/// A token with its byte span in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Tok {
    pub kind: Token,
    pub span: Span,
}

/// CPython's limit on open brackets (`MAXLEVEL` in its tokenizer).
pub const MAX_BRACKET_DEPTH: usize = 200;
/// CPython's limit on indentation levels (`MAXINDENT`).
pub const MAX_INDENT_DEPTH: usize = 100;

/// Wraps the logos lexer; yields layout-aware tokens, stops after the first error.
pub struct IndentLexer<'src> {
    src: &'src str,
    inner: logos::Lexer<'src, Token>,
    /// Added to every span: non-zero when lexing a fragment (an f-string expression) of a larger source.
    base: usize,
    /// Fragment mode: no lines, no indentation; just tokens and a final `EndOfFile`.
    fragment: bool,
    /// Open indentation levels as (columns with tabs to 8, columns with tabs as 1).
    indents: Vec<(usize, usize)>,
    /// Open brackets with where they were opened.
    brackets: Vec<(char, Span)>,
    /// True until the first token of the current logical line has been seen.
    at_line_start: bool,
    pending: VecDeque<Tok>,
    done: bool,
    /// The error that stopped the lexer, handed out once the layout tokens queued before it
    /// (the INDENT or DEDENTs of the line whose first token is wrong) have been.
    error: Option<SyntaxError>,
    /// End of the last token scanned (to tell a trailing `\` from one inside a comment).
    last_end: usize,
}

impl<'src> IndentLexer<'src> {
    /// Lexes a whole file.
    pub fn new(src: &'src str) -> IndentLexer<'src> {
        IndentLexer {
            src,
            inner: Token::lexer(src),
            base: 0,
            fragment: false,
            indents: vec![(0, 0)],
            brackets: Vec::new(),
            at_line_start: true,
            pending: VecDeque::new(),
            done: false,
            error: None,
            last_end: 0,
        }
    }

    /// Lexes `src[start..end]` as one bracketed expression (newlines ignored); spans stay relative to `src`.
    pub fn fragment(src: &'src str, start: usize, end: usize) -> IndentLexer<'src> {
        let text = src.get(start..end).unwrap_or("");
        let mut lx = IndentLexer::new(text);
        lx.base = start;
        lx.fragment = true;
        lx.at_line_start = false;
        lx
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.base + start, self.base + end)
    }

    /// Where a comment starts in the skipped text between two tokens (`from..to`), if one does.
    fn comment_start(&self, from: usize, to: usize) -> Option<usize> {
        let between = self.src.get(from..to).unwrap_or("");
        between.find('#').map(|i| from + i)
    }

    fn finish(&mut self) -> Result<(), SyntaxError> {
        self.done = true;
        let end = self.src.len();
        // A `\` joining the last line to nothing: CPython's "unexpected EOF while parsing".
        if !self.fragment {
            let body = self
                .src
                .strip_suffix('\n')
                .map(|b| b.strip_suffix('\r').unwrap_or(b))
                .unwrap_or(self.src);
            let joined = body.len() < self.src.len() && body.ends_with('\\');
            let after_code = body.len() > self.last_end
                && !self
                    .src
                    .get(self.last_end..body.len())
                    .unwrap_or("")
                    .contains('#');
            if joined && after_code {
                return Err(SyntaxError::syntax(
                    "unexpected EOF while parsing",
                    self.span(body.len(), body.len()),
                )
                .with_report(TokenizerReport::Signalled));
            }
        }
        if let Some(&(c, span)) = self.brackets.last() {
            if !self.fragment {
                let err = SyntaxError::syntax(format!("'{c}' was never closed"), span);
                return Err(err
                    .with_end(ErrorEnd::Zero)
                    .with_report(TokenizerReport::Unclosed));
            }
        }
        if !self.fragment {
            if !self.at_line_start {
                // The NEWLINE made up at the end holds a comment before it, as above.
                let start = self.comment_start(self.last_end, end).unwrap_or(end);
                self.pending.push_back(Tok {
                    kind: Token::Newline,
                    span: self.span(start, end),
                });
            }
            while self.indents.len() > 1 {
                self.indents.pop();
                self.pending.push_back(Tok {
                    kind: Token::Dedent,
                    span: self.span(end, end),
                });
            }
        }
        self.pending.push_back(Tok {
            kind: Token::EndOfFile,
            span: self.span(end, end),
        });
        Ok(())
    }

    /// Called for the first token of a logical line: compares its indentation with the stack.
    fn indentation(&mut self, tok_start: usize) -> Result<(), SyntaxError> {
        let before = self.src.get(..tok_start).unwrap_or("");
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let ws = before.get(line_start..).unwrap_or("");
        let (mut col, mut alt) = (0usize, 0usize);
        for c in ws.chars() {
            match c {
                '\t' => {
                    col = (col / 8 + 1) * 8;
                    alt += 1;
                }
                '\x0C' => {
                    col = 0;
                    alt = 0;
                }
                _ => {
                    col += 1;
                    alt += 1;
                }
            }
        }
        let here = self.span(tok_start, tok_start);
        // CPython reports a TabError at column 1, inside the indentation, so no caret is drawn,
        // and a mismatched unindent one past the end of the line.
        let line_begin = self.span(line_start, line_start);
        let line_end = self
            .src
            .get(tok_start..)
            .and_then(|rest| rest.find('\n'))
            .map_or(self.src.len(), |i| tok_start + i);
        let tab_error = || {
            SyntaxError::new(
                SyntaxErrorKind::TabError,
                "inconsistent use of tabs and spaces in indentation",
                line_begin,
            )
            .with_end(ErrorEnd::Zero)
            .with_report(TokenizerReport::Signalled)
        };
        let (top, top_alt) = self.indents.last().copied().unwrap_or((0, 0));
        if col == top {
            if alt != top_alt {
                return Err(tab_error());
            }
        } else if col > top {
            if alt <= top_alt {
                return Err(tab_error());
            }
            // CPython refuses the 100th level (its check is `indent + 1 >= MAXINDENT`).
            if self.indents.len() >= MAX_INDENT_DEPTH {
                return Err(SyntaxError::new(
                    SyntaxErrorKind::IndentationError,
                    "too many levels of indentation",
                    here,
                )
                .with_report(TokenizerReport::Signalled));
            }
            self.indents.push((col, alt));
            self.pending.push_back(Tok {
                kind: Token::Indent,
                span: self.span(line_start, tok_start),
            });
        } else {
            while self.indents.len() > 1 && self.indents.last().is_some_and(|&(c, _)| col < c) {
                self.indents.pop();
                self.pending.push_back(Tok {
                    kind: Token::Dedent,
                    span: here,
                });
            }
            let (top, top_alt) = self.indents.last().copied().unwrap_or((0, 0));
            if col != top {
                return Err(SyntaxError::new(
                    SyntaxErrorKind::IndentationError,
                    "unindent does not match any outer indentation level",
                    self.span(line_end, line_end),
                )
                .with_end(ErrorEnd::MinusOne)
                .with_report(TokenizerReport::Signalled));
            }
            if alt != top_alt {
                return Err(tab_error());
            }
        }
        Ok(())
    }

    /// Tracks `()[]{}` nesting for implicit line joining and bracket errors.
    fn bracket(&mut self, kind: &Token, span: Span) -> Result<(), SyntaxError> {
        let (open, close) = match kind {
            Token::LPar => (Some('('), None),
            Token::LSqb => (Some('['), None),
            Token::LBrace => (Some('{'), None),
            Token::RPar => (None, Some(')')),
            Token::RSqb => (None, Some(']')),
            Token::RBrace => (None, Some('}')),
            _ => (None, None),
        };
        if let Some(c) = open {
            if self.brackets.len() >= MAX_BRACKET_DEPTH {
                let err = SyntaxError::syntax("too many nested parentheses", span);
                return Err(err.with_end(ErrorEnd::Point));
            }
            self.brackets.push((c, span));
        }
        if let Some(c) = close {
            match self.brackets.pop() {
                None => {
                    let err = SyntaxError::syntax(format!("unmatched '{c}'"), span);
                    return Err(err.with_end(ErrorEnd::Point));
                }
                Some((o, ospan)) => {
                    let expected = match o {
                        '(' => ')',
                        '[' => ']',
                        _ => '}',
                    };
                    if expected != c {
                        let index = LineIndex::new(self.src);
                        let (ol, cl) = (
                            index.line(ospan.start.saturating_sub(self.base as u32)),
                            index.line(span.start.saturating_sub(self.base as u32)),
                        );
                        let msg = if ol == cl || self.fragment {
                            format!("closing parenthesis '{c}' does not match opening parenthesis '{o}'")
                        } else {
                            format!("closing parenthesis '{c}' does not match opening parenthesis '{o}' on line {ol}")
                        };
                        return Err(SyntaxError::syntax(msg, span).with_end(ErrorEnd::Point));
                    }
                }
            }
        }
        Ok(())
    }

    /// Turns a logos error into a CPython-worded `SyntaxError`. Errors of CPython's tokenizer
    /// report a point (`end_offset` equal to `offset`), a few no end at all.
    fn lex_error(&self, err: LexError, start: usize, end: usize) -> SyntaxError {
        let index = LineIndex::new(self.src);
        let point = |msg: String, at: usize| {
            SyntaxError::syntax(msg, self.span(at, at + 1)).with_end(ErrorEnd::Point)
        };
        match err {
            LexError::Invalid => {
                let c = self.src.get(start..).and_then(|s| s.chars().next());
                match c {
                    Some('\\') => {
                        // CPython points just past the backslash, with no end.
                        let past = self.span(start + 1, start + 1);
                        if self.src.get(start + 1..).is_some_and(|r| r.is_empty()) {
                            SyntaxError::syntax("unexpected EOF while parsing", past)
                                .with_end(ErrorEnd::MinusOne)
                                .with_report(TokenizerReport::Signalled)
                        } else {
                            SyntaxError::syntax(
                                "unexpected character after line continuation character",
                                past,
                            )
                            .with_end(ErrorEnd::Zero)
                            .with_report(TokenizerReport::Signalled)
                        }
                    }
                    // `$`, `?`: the parser's error in CPython, over the character.
                    Some(c) if c.is_ascii_graphic() || c == '\0' => {
                        SyntaxError::syntax("invalid syntax", self.span(start, end))
                    }
                    Some(c) if !is_printable(c) => point(
                        format!("invalid non-printable character U+{:04X}", c as u32),
                        start,
                    ),
                    Some(c) => point(
                        format!("invalid character '{c}' (U+{:04X})", c as u32),
                        start,
                    ),
                    None => SyntaxError::syntax("invalid syntax", self.span(start, end)),
                }
            }
            // `0777`: CPython underlines the leading zeros only.
            LexError::LeadingZeros => {
                let zeros = self
                    .src
                    .get(start..end)
                    .map_or(0, |t| t.len() - t.trim_start_matches(['0', '_']).len());
                SyntaxError::syntax(
                    "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers",
                    self.span(start, start + zeros.max(1)),
                )
                .with_end(ErrorEnd::TokenizerSpan)
            }
            LexError::IntTooLarge => {
                SyntaxError::syntax("integer literal too large", self.span(start, end))
            }
            // The column is that of the character before CPython's read position.
            LexError::Number(e) => point(e.message, (start + e.at).saturating_sub(1)),
            LexError::UnterminatedString => point(
                format!(
                    "unterminated string literal (detected at line {})",
                    index.line(start as u32)
                ),
                start,
            ),
            LexError::UnterminatedTriple => point(
                format!(
                    "unterminated triple-quoted string literal (detected at line {})",
                    index.line(self.src.trim_end_matches('\n').len() as u32)
                ),
                start,
            ),
        }
    }

    /// An integer literal too large for `i64`: a `BigInt` token, unless it is a decimal literal
    /// past CPython's 4,300-digit limit on decimal conversion (a `SyntaxError` there too).
    fn big_int(&self, start: usize, end: usize) -> Result<Token, SyntaxError> {
        let text: String = self.inner.slice().chars().filter(|&c| c != '_').collect();
        let decimal = !text.starts_with("0x")
            && !text.starts_with("0X")
            && !text.starts_with("0o")
            && !text.starts_with("0O")
            && !text.starts_with("0b")
            && !text.starts_with("0B");
        if decimal && text.len() > MAX_DECIMAL_LITERAL_DIGITS {
            let msg = format!(
                "Exceeds the limit ({MAX_DECIMAL_LITERAL_DIGITS} digits) for integer string conversion: value has {} digits; use sys.set_int_max_str_digits() to increase the limit - Consider hexadecimal for huge integer literals to avoid decimal conversion limits.",
                text.len()
            );
            return Err(SyntaxError::syntax(msg, self.span(start, end)));
        }
        Ok(Token::BigInt(text))
    }

    fn step(&mut self) -> Result<(), SyntaxError> {
        let Some(next) = self.inner.next() else {
            return self.finish();
        };
        let range = self.inner.span();
        let kind = match next {
            Ok(k) => Ok(k),
            Err(LexError::IntTooLarge) => self.big_int(range.start, range.end),
            Err(e) => Err(self.lex_error(e, range.start, range.end)),
        };
        let span = self.span(range.start, range.end);
        let prev_end = std::mem::replace(&mut self.last_end, range.end);
        if kind == Ok(Token::Newline) {
            if !self.brackets.is_empty() || self.at_line_start || self.fragment {
                return Ok(());
            }
            self.at_line_start = true;
            // As in CPython's tokenizer, a comment before the line break belongs to the NEWLINE
            // token: an error there (`x = 1 +  # add`) underlines the comment.
            let span = match self.comment_start(prev_end, range.start) {
                Some(start) => self.span(start, range.start),
                None => span,
            };
            self.pending.push_back(Tok {
                kind: Token::Newline,
                span,
            });
            return Ok(());
        }
        // CPython's tokenizer measures a line's indentation before it reads the line's first
        // token, and hands out the INDENT or DEDENTs first: an error in that token (`    )`,
        // `    1abc`) comes after them, and a parser that fails at an unexpected INDENT never
        // meets it ("unexpected indent"). An error in the indentation itself comes alone.
        if self.at_line_start && !self.fragment {
            self.at_line_start = false;
            if let Err(e) = self.indentation(range.start) {
                self.pending.clear();
                return Err(e);
            }
        }
        let kind = kind?;
        self.bracket(&kind, span)?;
        self.pending.push_back(Tok { kind, span });
        Ok(())
    }
}

impl Iterator for IndentLexer<'_> {
    type Item = Result<Tok, SyntaxError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(t) = self.pending.pop_front() {
                return Some(Ok(t));
            }
            if self.done {
                return self.error.take().map(Err);
            }
            if let Err(e) = self.step() {
                self.done = true;
                self.error = Some(e);
            }
        }
    }
}

/// Format characters (category Cf, such as U+200B ZERO WIDTH SPACE and U+FEFF, the byte-order
/// mark, pasted into source) and private-use characters (Co), as ranges of Python 3.11's
/// Unicode database (generated with `unicodedata.category`).
const FORMAT_OR_PRIVATE: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xE000, 0xF8FF),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x13438),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
    (0xF0000, 0xFFFFD),
    (0x100000, 0x10FFFD),
];

/// Would CPython print this character in its "invalid character" message (its
/// `Py_UNICODE_ISPRINTABLE`)? Not for controls, separators other than the space, format and
/// private-use characters: those are "invalid non-printable character U+200B". (Unassigned
/// code points, also non-printable in CPython, are not told apart here.)
fn is_printable(c: char) -> bool {
    let cp = c as u32;
    c == ' '
        || !(c.is_control()
            || c.is_whitespace()
            || FORMAT_OR_PRIVATE
                .iter()
                .any(|&(lo, hi)| (lo..=hi).contains(&cp)))
}
