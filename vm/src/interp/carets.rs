//! Stage 4 (VM), the interpreter.
//! Tracebacks: the marker line under a frame's source line (PEP 657), as CPython 3.11 draws it.
//!
//! Each instruction remembers the source range of the AST node it came from
//! (`CodeObject::spans`). A traceback entry keeps the range of the instruction that was running;
//! when the frame is printed, that range is underlined with `^`, unless it covers the whole
//! (stripped) line. For a binary operation or a subscript, CPython re-parses the underlined text
//! and draws the operands with `~` and the operator or the brackets with `^`:
//!
//! ```text
//!     total = price * count + fee[key]
//!                             ~~~^^^^^
//! ```

use minivm_compiler::ast::{ExprKind, StmtKind};
use minivm_compiler::bytecode::Op;

use crate::error::PyErr;
use crate::interp::frame::Frame;
use crate::object::ExcKind;

/// Which of CPython 3.11's two traceback printers a marker line is drawn for: they differ on a
/// source line with whitespace after its text.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Printer {
    /// The interpreter's own (`traceback.c`: uncaught exceptions, thread and unraisable
    /// hooks): the source line keeps its trailing whitespace, so an expression that spans the
    /// line's text but not those blanks is underlined.
    Interpreter,
    /// The `traceback` module's (`StackSummary.format_frame_summary`, which `print_exc`,
    /// `unittest` and `doctest` use): the line is stripped on both sides, and the markers'
    /// indent counts the characters stripped from the line as `linecache` reads it (its
    /// newline among them), so after trailing blanks they start that many columns to the left.
    Module,
    /// The `traceback` module's, for a line `linecache` holds without its newline (the
    /// `<timeit-src>` lines `timeit.Timer.print_exc` caches): one character fewer is stripped,
    /// so the markers start one column further right than the expression.
    ModuleBareLine,
}

/// The leading characters CPython's interpreter printer takes off a source line (`traceback.c`
/// removes spaces, tabs and form feeds; the `traceback` module strips all whitespace).
pub(crate) fn interpreter_indent(text: &str) -> usize {
    text.chars()
        .take_while(|c| matches!(c, ' ' | '\t' | '\x0c'))
        .count()
}

/// The marker line (without a newline) for the frame at 1-based `line` of `src` whose running
/// instruction came from the byte range `span`, or None when CPython's `printer` would print
/// none.
pub(crate) fn marker_line(
    src: &str,
    line: u32,
    span: (u32, u32),
    printer: Printer,
) -> Option<String> {
    let (start, end) = (span.0 as usize, span.1 as usize);
    if span == (0, 0) || start >= end || end > src.len() {
        return None;
    }
    let line_start = nth_line_start(src, line)?;
    let line_end = src[line_start..]
        .find('\n')
        .map_or(src.len(), |i| line_start + i);
    // The range starts on this line (a frame's line is its instruction's first line).
    if start < line_start || start > line_end {
        return None;
    }
    let text = src.get(line_start..line_end)?;
    let text = text.strip_suffix('\r').unwrap_or(text);
    let chars = |byte: usize| text.get(..byte.min(text.len())).map(|t| t.chars().count());
    let start_col = chars(start - line_start)?;
    let len = text.chars().count();
    // What the printer shows of the line (its length), and where the markers' indent starts.
    let (shown, indent) = match printer {
        Printer::Interpreter => {
            let lead = interpreter_indent(text);
            (len - lead, start_col.checked_sub(lead)?)
        }
        Printer::Module | Printer::ModuleBareLine => {
            // `linecache` gives every line a newline, the last one too: one character more
            // (none for a line it holds bare).
            let stripped = text.trim().chars().count();
            let cut = len - stripped + usize::from(printer == Printer::Module);
            (stripped, (start_col + 1).saturating_sub(cut))
        }
    };
    let (end_col, anchors) = if end <= line_end {
        let segment = src.get(start..end)?;
        (chars(end - line_start)?, anchors(segment))
    } else {
        // Spanning several lines: underline up to the end of the first one's text.
        (text.trim_end().chars().count(), None)
    };
    let width = end_col.checked_sub(start_col)?;
    let partial = width < shown;
    let split = anchors.is_some_and(|(l, r)| r > l);
    if !partial && !split {
        return None;
    }
    let mut out = " ".repeat(4 + indent);
    match anchors {
        Some((left, right)) => {
            out.push_str(&"~".repeat(left));
            out.push_str(&"^".repeat(right.saturating_sub(left)));
            out.push_str(&"~".repeat(width.saturating_sub(right)));
        }
        None => out.push_str(&"^".repeat(width)),
    }
    Some(out)
}

/// Byte offset where 1-based line `line` of `src` begins.
fn nth_line_start(src: &str, line: u32) -> Option<usize> {
    let skip = line.checked_sub(1)? as usize;
    if skip == 0 {
        return Some(0);
    }
    src.match_indices('\n').nth(skip - 1).map(|(i, _)| i + 1)
}

/// Where the operator of a binary operation, or the bracketed part of a subscript, begins and
/// ends in `segment` (character offsets), if `segment` parses as exactly one such expression.
fn anchors(segment: &str) -> Option<(usize, usize)> {
    let module = minivm_compiler::parser::parse(segment).ok()?;
    let [stmt] = module.body.as_slice() else {
        return None;
    };
    let StmtKind::Expr(expr) = &stmt.kind else {
        return None;
    };
    let bytes = segment.as_bytes();
    let at = |i: usize| bytes.get(i).copied();
    let chars = |byte: usize| segment.get(..byte).map(|t| t.chars().count());
    match &expr.kind {
        ExprKind::BinOp { left, right, .. } => {
            let (from, to) = (left.span.end as usize, right.span.start as usize);
            let between = segment.get(from..to)?;
            let offset = between.len() - between.trim_start().len();
            let mut l = from + offset;
            // A two-character operator (`//`, `**`, `<<`, `@`= is one) is underlined whole.
            let mut r = l + 1;
            if offset + 1 < between.len() && !between.as_bytes()[offset + 1].is_ascii_whitespace() {
                r += 1;
            }
            // Skip a closing parenthesis of the left operand (and comments) as CPython does.
            while let Some(c) = at(l) {
                if !(c.is_ascii_whitespace() || c == b')' || c == b'#') {
                    break;
                }
                l += 1;
                r += 1;
            }
            Some((chars(l)?, chars(r.min(segment.len()))?))
        }
        ExprKind::Subscript { value, index } => {
            let mut l = value.span.end as usize;
            let mut r = index.span.end as usize + 1;
            while at(l).is_some_and(|c| c != b'[') {
                l += 1;
            }
            while at(r).is_some_and(|c| c != b']') {
                r += 1;
            }
            if r < segment.len() {
                r += 1;
            }
            Some((chars(l)?, chars(r.min(segment.len()))?))
        }
        _ => None,
    }
}

/// Whether `err`, raised by the instruction `frame` was running (`fresh`: by the instruction
/// itself, not in a frame it called), is a method call's failure to find the method (CPython
/// underlines `o.m` then, and the whole call when the call itself fails): an `AttributeError`
/// naming the method the `CALL_METHOD` or `LOAD_METHOD` looks up, or any error from the class's `__getattr__` or
/// `__getattribute__` that the lookup ran (a delegating wrapper's, say).
pub(crate) fn method_lookup_failed(frame: &Frame, err: &PyErr, fresh: bool) -> bool {
    let Some(op) = frame.code.ops.get(frame.ip.wrapping_sub(1)) else {
        return false;
    };
    let (Op::CallMethod(g)
    | Op::LoadMethod(g)
    | Op::LoadMethodLocal(_, g)
    | Op::CallMethodLocal(_, g)) = *op
    else {
        return false;
    };
    let Some(name) = frame.code.names.get(g.0 as usize) else {
        return false;
    };
    let Some(data) = err.exc.exc() else {
        return false;
    };
    let data = data.lock();
    if !fresh {
        // The last entry is the frame this instruction called (entries are added unwinding).
        return data.traceback.last().is_some_and(|e| {
            matches!(&*e.func, "__getattr__" | "__getattribute__") && **name != *e.func
        });
    }
    if !err.is(ExcKind::AttributeError) {
        return false;
    }
    // (A partially initialized module's message goes on: "... (most likely due to a circular
    // import)".)
    let tail = format!("attribute '{name}'");
    matches!(data.args.first(), Some(crate::value::Value::Str(m))
        if m.as_str().ends_with(&tail)
            || m.as_str().contains(&format!("{tail} (most likely due to a circular import)")))
}

/// The local `name` read by the instruction at `span` that found it unbound: its first
/// occurrence there as a name of its own (not an attribute, not part of a longer name). A
/// register instruction (`x + y`, `x.m`, `t += x`) has the span of the whole operation, where
/// CPython's `LOAD_FAST` underlines the name alone. `span` unchanged when it is not there.
pub(crate) fn local_span(src: &str, span: (u32, u32), name: &str) -> (u32, u32) {
    let Some(text) = src.get(span.0 as usize..span.1 as usize) else {
        return span;
    };
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    for (i, _) in text.match_indices(name) {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        if !before.is_some_and(|c| ident(c) || c == '.') && !after.is_some_and(ident) {
            let start = span.0 + i as u32;
            return (start, start + name.len() as u32);
        }
    }
    span
}

/// The range of the augmented assignment that begins where `span` (its target, `x[i]` or `o.g`)
/// begins, for an error of its operator, which CPython reports on the whole statement: the
/// first statement parsed from the text there to the end of its line, or of a later line while
/// the statement is incomplete (open brackets, a backslash). `(0, 0)` (no marker line) when no
/// augmented assignment parses there within 50 lines.
pub(crate) fn statement_span(src: &str, span: (u32, u32)) -> (u32, u32) {
    let Some(rest) = src.get(span.0 as usize..) else {
        return (0, 0);
    };
    let line_ends = rest.match_indices('\n').map(|(i, _)| i);
    for end in line_ends.chain(std::iter::once(rest.len())).take(50) {
        let Ok(module) = minivm_compiler::parser::parse(&rest[..end]) else {
            continue;
        };
        return match module.body.first() {
            Some(stmt) if matches!(stmt.kind, StmtKind::AugAssign { .. }) => {
                (span.0 + stmt.span.start, span.0 + stmt.span.end)
            }
            _ => (0, 0),
        };
    }
    (0, 0)
}

/// The callee part `o.m` of the call `o.m(args)` at `span`: up to the last opening parenthesis
/// outside brackets and string literals, without the blanks before it.
pub(crate) fn callee_span(src: &str, span: (u32, u32)) -> (u32, u32) {
    let Some(text) = src.get(span.0 as usize..span.1 as usize) else {
        return span;
    };
    let bytes = text.as_bytes();
    let (mut depth, mut last_open, mut i) = (0i32, None, 0);
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'\'' | b'"') => {
                // Skip the literal (one line; a backslash escapes the next byte).
                i += 1;
                while i < bytes.len() && bytes[i] != q && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' => {
                if depth == 0 {
                    last_open = Some(i);
                }
                depth += 1;
            }
            b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    match last_open {
        Some(p) => {
            let end = text[..p].trim_end().len();
            (span.0, span.0 + end as u32)
        }
        None => span,
    }
}
