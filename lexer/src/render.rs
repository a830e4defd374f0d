//! Stage 1-3 diagnostics: rendering a `SyntaxError` for a terminal (location, source line, caret).
//!
//! Format (no colour; the CLI may add it):
//!
//! ```text
//! prog.mini:3:9: SyntaxError: '(' was never closed
//!   File "prog.mini", line 3
//!     x = (1 +
//!         ^
//! SyntaxError: '(' was never closed
//! ```
//!
//! The first line is the `file:line:col` form editors can jump to (1-based column in characters); the
//! rest is exactly the block CPython prints, so the last line is `Kind: message` as in CPython. The source
//! line is shown with its indentation stripped and tabs expanded; the caret counts characters, not bytes.
//! Carets cover the span on its first line (at least one `^`).

use crate::error::SyntaxError;
use crate::span::LineIndex;

pub fn render_syntax_error(err: &SyntaxError, filename: &str, src: &str) -> String {
    let index = LineIndex::new(src);
    let (line, col) = index.line_col(src, err.span.start);
    let mut out = format!(
        "{filename}:{line}:{col}: {}: {}\n",
        err.kind.name(),
        err.message
    );
    out.push_str(&format!("  File \"{filename}\", line {line}\n"));
    let text = index.line_text(src, line);
    if !text.trim().is_empty() {
        // Characters before the span on this line, and the span's characters on this line.
        let line_start = src
            .get(..err.span.start as usize)
            .and_then(|s| s.rfind('\n'))
            .map_or(0, |i| i + 1);
        let start = (err.span.start as usize).min(src.len());
        let end = (err.span.end as usize).clamp(start, src.len());
        let before = src.get(line_start..start).unwrap_or("");
        let inside = src.get(start..end).unwrap_or("");
        let inside = inside.split('\n').next().unwrap_or("");
        let stripped = text.trim_start();
        let indent_chars = text.chars().count() - stripped.chars().count();
        let shown = expand_tabs(stripped);
        // Caret offset: characters before the span, minus the stripped indentation; tabs expanded.
        let before_chars: String = before.chars().skip(indent_chars).collect();
        let offset = expand_tabs(&before_chars).chars().count();
        let width = inside.chars().count().max(1);
        out.push_str(&format!("    {shown}\n"));
        out.push_str(&format!(
            "    {}{}\n",
            " ".repeat(offset),
            "^".repeat(width)
        ));
    }
    out.push_str(&format!("{}: {}\n", err.kind.name(), err.message));
    out
}

/// Tabs to spaces (to the next multiple of 8), so the caret lines up with what the terminal shows.
fn expand_tabs(s: &str) -> String {
    let mut out = String::new();
    let mut col = 0;
    for c in s.chars() {
        if c == '\t' {
            let n = 8 - col % 8;
            out.push_str(&" ".repeat(n));
            col += n;
        } else {
            out.push(c);
            col += 1;
        }
    }
    out
}
