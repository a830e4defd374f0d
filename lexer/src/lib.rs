//! Stage 1 of the minivm pipeline: source text to tokens.
//!
//! `token` is the logos-generated scanner for single tokens; `indent` wraps it with the indent stack and
//! bracket depth that turn line starts into `Newline`/`Indent`/`Dedent`, as Python's tokenizer does.

pub mod error;
pub mod indent;
pub mod render;
pub mod span;
pub mod token;

pub use error::{SyntaxError, SyntaxErrorKind};
pub use span::{LineIndex, Span};
