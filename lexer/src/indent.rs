//! Stage 1b: the indentation layer over the logos scanner. Emits `Newline`/`Indent`/`Dedent`/`EndOfFile`.
//!
//! Mirrors CPython's tokenizer: newlines inside `()[]{}` are ignored (implicit line joining), blank and
//! comment-only lines produce nothing, and each logical line's indentation is compared with a stack of
//! open levels. Indentation is measured twice, with tabs to multiples of 8 and with tabs as 1 column;
//! if the two measurements disagree about the order of two levels, the file is ambiguous (`TabError`).

use std::collections::VecDeque;

use logos::Logos;

use crate::error::{SyntaxError, SyntaxErrorKind};
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
                ));
            }
        }
        if let Some(&(c, span)) = self.brackets.last() {
            if !self.fragment {
                return Err(SyntaxError::syntax(format!("'{c}' was never closed"), span));
            }
        }
        if !self.fragment {
            if !self.at_line_start {
                self.pending.push_back(Tok {
                    kind: Token::Newline,
                    span: self.span(end, end),
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
                ));
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
                ));
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
                return Err(SyntaxError::syntax("too many nested parentheses", span));
            }
            self.brackets.push((c, span));
        }
        if let Some(c) = close {
            match self.brackets.pop() {
                None => return Err(SyntaxError::syntax(format!("unmatched '{c}'"), span)),
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
                        return Err(SyntaxError::syntax(msg, span));
                    }
                }
            }
        }
        Ok(())
    }

    /// Turns a logos error into a CPython-worded `SyntaxError`.
    fn lex_error(&self, err: LexError, start: usize, end: usize) -> SyntaxError {
        // A number glued to letters: CPython points at the number's last character.
        let start = match err {
            LexError::InvalidDecimal | LexError::InvalidImaginary if end > start => self.src[..end]
                .char_indices()
                .last()
                .map_or(start, |(i, _)| i),
            _ => start,
        };
        // `0777`: CPython underlines the leading zeros only.
        let end = match err {
            LexError::LeadingZeros => {
                let zeros = self
                    .src
                    .get(start..end)
                    .map_or(0, |t| t.len() - t.trim_start_matches(['0', '_']).len());
                start + zeros.max(1)
            }
            _ => end,
        };
        let span = self.span(start, end);
        let index = LineIndex::new(self.src);
        let msg = match err {
            LexError::Invalid => {
                let c = self.src.get(start..).and_then(|s| s.chars().next());
                match c {
                    Some('\\') => {
                        if self.src.get(start + 1..).is_some_and(|r| r.is_empty()) {
                            "unexpected EOF while parsing".to_string()
                        } else {
                            let span = self.span(start + 1, start + 1);
                            return SyntaxError::syntax(
                                "unexpected character after line continuation character",
                                span,
                            );
                        }
                    }
                    Some(c) if c.is_ascii() => "invalid syntax".to_string(),
                    Some(c) if c.is_control() || c.is_whitespace() => {
                        format!("invalid non-printable character U+{:04X}", c as u32)
                    }
                    Some(c) => format!("invalid character '{c}' (U+{:04X})", c as u32),
                    None => "invalid syntax".to_string(),
                }
            }
            LexError::IntTooLarge => "integer literal too large".into(),
            LexError::LeadingZeros => "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers".into(),
            LexError::InvalidDecimal => "invalid decimal literal".into(),
            LexError::InvalidImaginary => "invalid imaginary literal".into(),
            LexError::UnterminatedString => format!(
                "unterminated string literal (detected at line {})",
                index.line(start as u32)
            ),
            LexError::UnterminatedTriple => format!(
                "unterminated triple-quoted string literal (detected at line {})",
                index.line(self.src.trim_end_matches('\n').len() as u32)
            ),
        };
        SyntaxError::syntax(msg, span)
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
            Ok(k) => k,
            Err(LexError::IntTooLarge) => self.big_int(range.start, range.end)?,
            Err(e) => return Err(self.lex_error(e, range.start, range.end)),
        };
        let span = self.span(range.start, range.end);
        self.last_end = range.end;
        if kind == Token::Newline {
            if !self.brackets.is_empty() || self.at_line_start || self.fragment {
                return Ok(());
            }
            self.at_line_start = true;
            self.pending.push_back(Tok { kind, span });
            return Ok(());
        }
        if self.at_line_start && !self.fragment {
            self.at_line_start = false;
            self.indentation(range.start)?;
        }
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
                return None;
            }
            if let Err(e) = self.step() {
                self.done = true;
                self.pending.clear();
                return Some(Err(e));
            }
        }
    }
}
