//! Stage 1-3 diagnostics: rendering a `SyntaxError` for a terminal (location, source line, caret).
//!
//! The default layout is exactly the block CPython 3.11 prints (no colour):
//!
//! ```text
//!   File "prog.mini", line 3
//!     x = (1 +
//!         ^
//! SyntaxError: '(' was never closed
//! ```
//!
//! `render_syntax_error_gnu` puts one more line first, `prog.mini:3:9: SyntaxError: ...` (GNU's
//! `file:line:column: message`, 1-based column in characters), which editors can jump to; the
//! command line prints it with `--error-format=gnu`. The source line is shown with its
//! indentation stripped and tabs expanded; the caret counts characters, not bytes, and covers the
//! span on its first line (at least one `^`). Errors about the program's size (a compile-time
//! `RecursionError` or `MemoryError`) are printed as CPython prints them: the last line only.

use crate::error::{ErrorEnd, SyntaxError};
use crate::span::LineIndex;

/// `prog.mini:3:9: SyntaxError: msg` then the CPython block.
pub fn render_syntax_error_gnu(err: &SyntaxError, filename: &str, src: &str) -> String {
    let index = LineIndex::new(src);
    let (line, col) = index.line_col(src, err.span.start);
    let mut out = format!("{filename}:{line}:{col}: {err}\n");
    out.push_str(&render_syntax_error(err, filename, src));
    out
}

/// The block CPython prints for a `SyntaxError` (see the module comment).
pub fn render_syntax_error(err: &SyntaxError, filename: &str, src: &str) -> String {
    if !err.kind.has_location() {
        return format!("{err}\n");
    }
    let (line, _) = LineIndex::new(src).line_col(src, err.span.start);
    let mut out = format!("  File \"{filename}\", line {line}\n");
    // The line shown and the caret come from the text the error was found in (an f-string's
    // field is shown as `(expr)`, see `SyntaxError::shown`).
    let (src, span) = err.shown(src);
    let src: &str = &src;
    let index = LineIndex::new(src);
    let (line, _) = index.line_col(src, span.start);
    // CPython shows the line as a C string: up to a NUL byte, with no caret for the NUL itself.
    let text = index.line_text(src, line).split('\0').next().unwrap_or("");
    // Text compiled from a string (`-c`, `exec`: `<string>`) has CPython's string tokenizer
    // point at the end of the text with a caret; a file's shows none there.
    let string_end = err.end == ErrorEnd::EndOfFile && filename == "<string>";
    let caret = src.as_bytes().get(span.start as usize) != Some(&0)
        && (string_end
            || !matches!(
                err.end,
                ErrorEnd::EndOfFile | ErrorEnd::AtEnd | ErrorEnd::LineStart
            ));
    if text.trim().is_empty() {
        // A blank line is still shown (as CPython shows it: the indentation, then nothing).
        out.push_str("    \n");
        if string_end {
            out.push_str("    ^\n");
        }
    } else {
        // Characters before the span on this line, and the span's characters on this line.
        let line_start = src
            .get(..span.start as usize)
            .and_then(|s| s.rfind('\n'))
            .map_or(0, |i| i + 1);
        let start = (span.start as usize).min(src.len());
        let end = (span.end as usize).clamp(start, src.len());
        let before = src.get(line_start..start).unwrap_or("");
        let inside = src.get(start..end).unwrap_or("");
        let inside = inside.split('\n').next().unwrap_or("");
        let stripped = text.trim_start();
        let indent_chars = text.chars().count() - stripped.chars().count();
        let shown = expand_tabs(stripped);
        // Caret offset: characters before the span, minus the stripped indentation; tabs expanded.
        // A span inside the indentation (CPython's offset for "unexpected indent" and TabError)
        // gets no caret, as CPython prints it.
        let caret = caret && before.chars().count() >= indent_chars;
        let before_chars: String = before.chars().skip(indent_chars).collect();
        let offset = expand_tabs(&before_chars).chars().count();
        let width = inside.chars().count().max(1);
        out.push_str(&format!("    {shown}\n"));
        if caret {
            out.push_str(&format!(
                "    {}{}\n",
                " ".repeat(offset),
                "^".repeat(width)
            ));
        }
    }
    out.push_str(&format!("{err}\n"));
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
