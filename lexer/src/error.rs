//! The error every front-end stage (lexer, parser, compiler) reports: a Python `SyntaxError` kind, a message and a span.

use crate::span::{LineIndex, Span};

/// Which Python exception class the error is reported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyntaxErrorKind {
    SyntaxError,
    IndentationError,
    TabError,
    /// The program nests deeper than the compiler accepts (CPython: "maximum recursion depth
    /// exceeded during compilation"). Reported without a location, as CPython does.
    RecursionError,
    /// The parser's nesting limit (CPython's parser stack overflows into a bare `MemoryError`).
    MemoryError,
}

impl SyntaxErrorKind {
    pub fn name(self) -> &'static str {
        match self {
            SyntaxErrorKind::SyntaxError => "SyntaxError",
            SyntaxErrorKind::IndentationError => "IndentationError",
            SyntaxErrorKind::TabError => "TabError",
            SyntaxErrorKind::RecursionError => "RecursionError",
            SyntaxErrorKind::MemoryError => "MemoryError",
        }
    }

    /// Errors about the program's size rather than a place in it: CPython prints them without
    /// the `File ..., line N` block.
    pub fn has_location(self) -> bool {
        !matches!(
            self,
            SyntaxErrorKind::RecursionError | SyntaxErrorKind::MemoryError
        )
    }
}

/// Where the error's `end_offset` comes from. The parser reports a range (the span's end);
/// CPython's tokenizer reports a point (`end_offset` equal to `offset`, and `text` without the
/// line's newline), or no end at all for a few errors (`end_offset` 0 or -1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorEnd {
    Span,
    /// As `Span`, with `text` without its newline: CPython's tokenizer had already read a token
    /// on a later line (the lookahead after the error's last token).
    SpanPassed,
    Point,
    /// A tokenizer error over a range (`0777`'s leading zeros): the span's end, `text` without
    /// the newline.
    TokenizerSpan,
    Zero,
    /// As `Zero`, with `text` without its newline: CPython's tokenizer had already read past the
    /// error's line (the token after a dictionary key, on a later line).
    ZeroPassed,
    MinusOne,
    /// An error found at the end of the file (a missing block): `end_offset` -1, and no caret
    /// when a program file is shown, since CPython's file reader has passed the last line and
    /// reports no column (compile() of a string does draw one).
    EndOfFile,
    /// "invalid syntax" at the end of the file itself (a decorator with nothing after it):
    /// CPython reports the last line with `offset` and `end_offset` 0, so no caret is drawn.
    AtEnd,
    /// "unexpected unindent" before a statement: CPython reports the statement's line with
    /// `offset` 0 and `end_offset` -1, so no caret is drawn.
    LineStart,
    /// An error in string literals that end the text of `compile(..., 'eval')` (no newline
    /// after them): CPython's lookahead token there has no column, so `offset` is the line's
    /// length, `end_offset` -1, and `text` has no newline.
    EvalEnd,
}

/// How CPython's tokenizer would have reported an error minivm's lexer found, which decides
/// whether it wins over an error the parser finds earlier in the tokens read before it (see
/// `earlier_or_lex_error` in the compiler's parser): CPython's `_PyPegen_set_syntax_error`
/// treats the two kinds differently, and an unclosed bracket can only be known at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenizerReport {
    /// Not a tokenizer error (the parser's or the compiler's), or one the tokenizer raises
    /// itself (a bad character, literal or bracket): it replaces a parser error unless that is
    /// a plain unexpected indent or unindent.
    Raised,
    /// One the tokenizer only signals (an unindent matching no level, a tab error, too deep
    /// an indentation, a bad line continuation): it counts only if the parser reached it.
    Signalled,
    /// A bracket never closed, found at the end of the text.
    Unclosed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub kind: SyntaxErrorKind,
    pub message: String,
    pub span: Span,
    pub end: ErrorEnd,
    /// An error inside an f-string's replacement field: the span of the field's expression.
    /// CPython 3.11 parses that expression apart, as the text `(expr)`, so it shows the line
    /// of that text where the error is, with the column counted there (see [`Self::shown`]).
    pub fstring_expr: Option<Span>,
    /// How the tokenizer reports it, for errors the lexer found ([`TokenizerReport::Raised`]
    /// for every other error).
    pub report: TokenizerReport,
}

impl SyntaxError {
    pub fn new(kind: SyntaxErrorKind, message: impl Into<String>, span: Span) -> SyntaxError {
        SyntaxError {
            kind,
            message: message.into(),
            span,
            end: ErrorEnd::Span,
            fstring_expr: None,
            report: TokenizerReport::Raised,
        }
    }

    /// The text the error's line and columns are shown from, and the error's span in it: the
    /// source itself, or for an error inside an f-string's field, `(expr)` as CPython 3.11
    /// parses it (`f"{b c}"` shows `(b c)` with the caret under `b c`). The line number
    /// reported stays the source's.
    pub fn shown<'a>(&self, src: &'a str) -> (std::borrow::Cow<'a, str>, Span) {
        let Some(field) = self.fstring_expr else {
            return (std::borrow::Cow::Borrowed(src), self.span);
        };
        let Some(expr) = src.get(field.start as usize..field.end as usize) else {
            return (std::borrow::Cow::Borrowed(src), self.span);
        };
        let shift = |o: u32| o.clamp(field.start, field.end) - field.start + 1;
        let span = if self.span.start >= field.end {
            // The end of the expression's input: its closing parenthesis.
            let close = field.end - field.start + 1;
            Span {
                start: close,
                end: close + 1,
            }
        } else {
            Span {
                start: shift(self.span.start),
                end: shift(self.span.end.max(self.span.start)),
            }
        };
        (std::borrow::Cow::Owned(format!("({expr})")), span)
    }

    /// The same error with `end_offset` as CPython's tokenizer reports it (see [`ErrorEnd`]).
    pub fn with_end(mut self, end: ErrorEnd) -> SyntaxError {
        self.end = end;
        self
    }

    pub fn with_report(mut self, report: TokenizerReport) -> SyntaxError {
        self.report = report;
        self
    }

    pub fn syntax(message: impl Into<String>, span: Span) -> SyntaxError {
        SyntaxError::new(SyntaxErrorKind::SyntaxError, message, span)
    }

    /// CPython's compile-time `RecursionError` (a program nested too deeply to compile).
    pub fn too_deep(span: Span) -> SyntaxError {
        SyntaxError::new(
            SyntaxErrorKind::RecursionError,
            "maximum recursion depth exceeded during compilation",
            span,
        )
    }

    /// 1-based line of the error.
    pub fn line(&self, src: &str) -> u32 {
        LineIndex::new(src).line(self.span.start)
    }

    /// Render as CPython does: `File "..", line N`, the source line, a caret under the span and
    /// `Kind: message`.
    pub fn render(&self, filename: &str, src: &str) -> String {
        crate::render::render_syntax_error(self, filename, src)
    }

    /// As `render`, after a `file:line:col: Kind: message` line for editors.
    pub fn render_gnu(&self, filename: &str, src: &str) -> String {
        crate::render::render_syntax_error_gnu(self, filename, src)
    }
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.message.is_empty() {
            write!(f, "{}", self.kind.name())
        } else {
            write!(f, "{}: {}", self.kind.name(), self.message)
        }
    }
}

impl std::error::Error for SyntaxError {}
