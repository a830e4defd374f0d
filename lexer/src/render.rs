//! Rendering a `SyntaxError` for a terminal: location, source line and caret.

use crate::error::SyntaxError;

pub fn render_syntax_error(err: &SyntaxError, filename: &str, src: &str) -> String {
    todo!("owned by the front-end: {err} {filename} {}", src.len())
}
