//! Stage 1 of the minivm pipeline: source text to tokens.
//!
//! `token` is the logos-generated scanner for single tokens (`number` words a malformed number as
//! CPython does); `indent` wraps it with the indent stack and
//! bracket depth that turn line starts into `Newline`/`Indent`/`Dedent`, as Python's tokenizer does.

pub mod error;
pub mod indent;
pub mod number;
pub mod render;
pub mod source;
pub mod span;
pub mod token;

pub use error::{ErrorEnd, SyntaxError, SyntaxErrorKind, TokenizerReport};
pub use indent::{IndentLexer, Tok};
pub use render::{render_syntax_error, render_syntax_error_gnu};
pub use source::{decode_source, Origin, SourceError, CP1252_HIGH};
pub use span::{LineIndex, Span};
pub use token::Token;

/// Lexes a whole file into tokens ending with `EndOfFile`; the first error stops lexing.
pub fn tokenize(src: &str) -> Result<Vec<Tok>, SyntaxError> {
    IndentLexer::new(src).collect()
}

/// Lexes `src[start..end]` (an f-string replacement field) with newlines ignored; spans index `src`.
pub fn tokenize_fragment(src: &str, start: usize, end: usize) -> Result<Vec<Tok>, SyntaxError> {
    IndentLexer::fragment(src, start, end).collect()
}

/// `minivm tokens FILE`: one token per line, `line:col-line:col  KIND  'text'` (0-based columns, as in
/// `python -m tokenize`). Stops at the first error.
pub fn dump_tokens(src: &str) -> Result<String, SyntaxError> {
    let index = LineIndex::new(src);
    let mut out = String::new();
    for tok in tokenize(src)? {
        let (l1, c1) = index.line_col(src, tok.span.start);
        let (l2, c2) = index.line_col(src, tok.span.end);
        let pos = format!("{l1}:{}-{l2}:{}", c1 - 1, c2 - 1);
        let text = src
            .get(tok.span.start as usize..tok.span.end as usize)
            .unwrap_or("");
        out.push_str(&format!(
            "{pos:<12} {:<9} {:?}\n",
            tok.kind.kind_name(),
            text
        ));
    }
    Ok(out)
}
