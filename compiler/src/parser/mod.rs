//! Stage 2: tokens to AST, a recursive-descent parser. Owned by the front-end work.

use crate::ast::Module;
use crate::SyntaxError;

/// Parse a whole source file.
pub fn parse(src: &str) -> Result<Module, SyntaxError> {
    let _ = src;
    Err(SyntaxError::syntax("parser not written yet", crate::Span::default()))
}

/// True when `src` is a prefix of valid input that needs more lines (REPL continuation).
pub fn input_is_incomplete(src: &str) -> bool {
    let _ = src;
    false
}
