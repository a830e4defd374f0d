//! The error every front-end stage (lexer, parser, compiler) reports: a Python `SyntaxError` kind, a message and a span.

use crate::span::{LineIndex, Span};

/// Which Python exception class the error is reported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyntaxErrorKind {
    SyntaxError,
    IndentationError,
    TabError,
}

impl SyntaxErrorKind {
    pub fn name(self) -> &'static str {
        match self {
            SyntaxErrorKind::SyntaxError => "SyntaxError",
            SyntaxErrorKind::IndentationError => "IndentationError",
            SyntaxErrorKind::TabError => "TabError",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub kind: SyntaxErrorKind,
    pub message: String,
    pub span: Span,
}

impl SyntaxError {
    pub fn new(kind: SyntaxErrorKind, message: impl Into<String>, span: Span) -> SyntaxError {
        SyntaxError {
            kind,
            message: message.into(),
            span,
        }
    }

    pub fn syntax(message: impl Into<String>, span: Span) -> SyntaxError {
        SyntaxError::new(SyntaxErrorKind::SyntaxError, message, span)
    }

    /// 1-based line of the error.
    pub fn line(&self, src: &str) -> u32 {
        LineIndex::new(src).line(self.span.start)
    }

    /// Render rustc/CPython-style: `file:line:col`, the source line and a caret under the span.
    pub fn render(&self, filename: &str, src: &str) -> String {
        crate::render::render_syntax_error(self, filename, src)
    }
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.message)
    }
}

impl std::error::Error for SyntaxError {}
