//! Stage 4 (errors): `SyntaxError` exceptions raised at run time, by `import`, `eval`, `exec` and
//! `compile()`. As in CPython they carry `msg`, `filename`, `lineno`, `offset`, `text`,
//! `end_lineno` and `end_offset` (also as `args[1]`), `str()` gives `msg (file, line N)`, and a
//! traceback shows the offending line with carets, drawn by the same renderer as a program's own
//! syntax errors (`minivm_lexer::render`).

use std::sync::Arc;

use minivm_compiler::{ErrorEnd, LineIndex, Span, SyntaxError, SyntaxErrorKind as K};

use crate::object::{types, ExcKind, Instance};
use crate::value::Value;
use crate::{PyErr, PyResult};

fn exc_kind(kind: K) -> ExcKind {
    match kind {
        K::SyntaxError => ExcKind::SyntaxError,
        K::IndentationError => ExcKind::IndentationError,
        K::TabError => ExcKind::TabError,
        K::RecursionError => ExcKind::RecursionError,
        K::MemoryError => ExcKind::MemoryError,
    }
}

/// The exception for a compile error in `src` (read from `filename`).
pub fn from_compile(e: &SyntaxError, filename: &str, src: &str) -> PyErr {
    let kind = exc_kind(e.kind);
    if !e.kind.has_location() {
        return PyErr::new(kind, e.message.clone());
    }
    let index = LineIndex::new(src);
    let (lineno, _) = index.line_col(src, e.span.start);
    let (end_lineno, _) = index.line_col(src, e.span.end.max(e.span.start));
    // Text and columns from the text the error was found in: the source, or `(expr)` for an
    // error inside an f-string's field (`SyntaxError::shown`); the line numbers are the source's.
    let (shown, span) = e.shown(src);
    let src: &str = &shown;
    let index = LineIndex::new(src);
    let (text_line, col) = index.line_col(src, span.start);
    let (text_end_line, end_col) = index.line_col(src, span.end.max(span.start));
    // A range ends at least one column after its start, unless it ends on a later line.
    let end_col = if text_end_line == text_line {
        end_col.max(col + 1)
    } else {
        end_col
    };
    let text = index.line_text(src, text_line);
    let int = |n: u32| Value::Int(n as i64);
    // CPython's tokenizer errors show the line without its newline and end where they start.
    // A span with no width, or over a line's end only (the parser's NEWLINE), ends where it
    // starts, as CPython's.
    let spanned = src
        .get(span.start as usize..span.end as usize)
        .unwrap_or("");
    let zero_width = spanned.trim_start_matches('\r') == "\n" || spanned.is_empty();
    let (text, end_offset) = match e.end {
        ErrorEnd::Span if zero_width => (format!("{text}\n"), i64::from(col)),
        ErrorEnd::Span => (format!("{text}\n"), i64::from(end_col)),
        ErrorEnd::SpanPassed if zero_width => (text.to_string(), i64::from(col)),
        ErrorEnd::SpanPassed => (text.to_string(), i64::from(end_col)),
        ErrorEnd::Point => (text.to_string(), i64::from(col)),
        ErrorEnd::TokenizerSpan => (text.to_string(), i64::from(end_col)),
        ErrorEnd::Zero => (format!("{text}\n"), 0),
        ErrorEnd::ZeroPassed => (text.to_string(), 0),
        ErrorEnd::MinusOne | ErrorEnd::EndOfFile | ErrorEnd::LineStart => (format!("{text}\n"), -1),
        ErrorEnd::AtEnd => (format!("{text}\n"), 0),
        ErrorEnd::EvalEnd => (text.to_string(), -1),
    };
    let col = match e.end {
        ErrorEnd::AtEnd | ErrorEnd::LineStart => 0,
        ErrorEnd::EvalEnd => col.saturating_sub(1),
        _ => col,
    };
    let end_lineno = if matches!(e.end, ErrorEnd::Point | ErrorEnd::AtEnd) || zero_width {
        lineno
    } else {
        end_lineno
    };
    located(
        kind,
        &e.message,
        filename,
        (int(lineno), int(col)),
        Value::string(text),
        (int(end_lineno), Value::Int(end_offset)),
    )
}

/// A SyntaxError (or subclass `kind`) with its location: `(lineno, offset)`, the line's
/// `text`, `(end_lineno, end_offset)`.
pub fn located(
    kind: ExcKind,
    msg: &str,
    filename: &str,
    (lineno, offset): (Value, Value),
    text: Value,
    (end_lineno, end_offset): (Value, Value),
) -> PyErr {
    let attrs = [
        ("msg", Value::str(msg)),
        ("filename", Value::str(filename)),
        ("lineno", lineno),
        ("offset", offset),
        ("text", text),
        ("end_lineno", end_lineno),
        ("end_offset", end_offset),
    ];
    let details = Value::tuple(attrs[1..].iter().map(|(_, v)| v.clone()).collect());
    let err = PyErr::with_args(kind, vec![attrs[0].1.clone(), details]);
    {
        let mut dict = err.exc.dict.lock();
        for (name, v) in attrs {
            dict.insert(Arc::from(name), v);
        }
        dict.insert(Arc::from("print_file_and_line"), Value::None);
    }
    err
}

/// Replace the `text` of a SyntaxError made by [`from_compile`] (attribute and `args[1][3]`).
pub fn set_text(err: &PyErr, text: Value) {
    err.exc.dict.lock().insert(Arc::from("text"), text.clone());
    if let Some(d) = err.exc.exc() {
        let mut d = d.lock();
        if let Some(Value::Tuple(t)) = d.args.get(1) {
            let mut items = t.items.to_vec();
            if let Some(slot) = items.get_mut(3) {
                *slot = text;
            }
            d.args[1] = Value::tuple(items);
        }
    }
}

/// `SyntaxError(msg, (filename, lineno, offset, text[, end_lineno, end_offset]))` made by a
/// program: its attributes, as CPython's `SyntaxError.__init__` sets them (each None when not
/// given; the details only with exactly two arguments).
pub fn init_syntax_error(inst: &Instance, args: &[Value]) -> PyResult<()> {
    if !is_syntax_error(inst) {
        return Ok(());
    }
    let mut values = vec![Value::None; 7];
    if let Some(msg) = args.first() {
        values[0] = msg.clone();
    }
    if let [_, info] = args {
        let details: Vec<Value> = match info {
            Value::Tuple(t) => t.items.to_vec(),
            Value::List(l) => l.snapshot(),
            Value::Str(s) => s
                .as_str()
                .chars()
                .map(|c| Value::string(c.to_string()))
                .collect(),
            other => {
                let name = crate::object::class_of(other).name();
                return Err(crate::err!(TypeError, "'{name}' object is not iterable"));
            }
        };
        if !(4..=6).contains(&details.len()) {
            let bound = if details.len() < 4 {
                "at least 4"
            } else {
                "at most 6"
            };
            return Err(crate::err!(
                TypeError,
                "function takes {bound} arguments ({} given)",
                details.len()
            ));
        }
        for (slot, v) in values[1..].iter_mut().zip(details) {
            *slot = v;
        }
    }
    let names = [
        "msg",
        "filename",
        "lineno",
        "offset",
        "text",
        "end_lineno",
        "end_offset",
    ];
    let mut dict = inst.dict.lock();
    for (name, v) in names.into_iter().zip(values) {
        dict.insert(Arc::from(name), v);
    }
    dict.insert(Arc::from("print_file_and_line"), Value::None);
    Ok(())
}

fn is_syntax_error(inst: &Instance) -> bool {
    inst.class.is_subclass(types().exc(ExcKind::SyntaxError))
}

fn attr(inst: &Instance, name: &str) -> Option<Value> {
    inst.dict.lock().get(name).cloned()
}

/// `str()` of a `SyntaxError`: `invalid syntax (file.py, line 3)`, as CPython's: `msg` as
/// `str()` gives it (unset, `None`), then the file's base name when `filename` is a str and the
/// line when `lineno` is an int (not a bool), -1 for one beyond 64 bits as CPython's C long
/// conversion gives. `show` writes a value as `str()` does. `None` for other exceptions.
pub fn syntax_error_str(
    inst: &Instance,
    show: &mut dyn FnMut(&Value, bool) -> PyResult<String>,
) -> Option<PyResult<String>> {
    if !is_syntax_error(inst) {
        return None;
    }
    let msg = match show(&attr(inst, "msg").unwrap_or(Value::None), false) {
        Ok(msg) => msg,
        Err(e) => return Some(Err(e)),
    };
    let file = match attr(inst, "filename") {
        Some(Value::Str(f)) => Some(f.as_str().rsplit('/').next().unwrap_or("").to_string()),
        _ => None,
    };
    let line = match attr(inst, "lineno") {
        Some(Value::Int(n)) => Some(n),
        Some(Value::BigInt(_)) => Some(-1),
        _ => None,
    };
    Some(Ok(match (file, line) {
        (Some(f), Some(n)) => format!("{msg} ({f}, line {n})"),
        (Some(f), None) => format!("{msg} ({f})"),
        (None, Some(n)) => format!("{msg} (line {n})"),
        (None, None) => msg,
    }))
}

/// A SyntaxError's `text` of several lines under its `File` line, as CPython 3.11's
/// `print_error_text` writes it: leading blanks dropped, then the lines before the one the
/// offset (counted from the start of the whole text, in bytes) falls in skipped, the rest
/// written as it is, and the carets under it (`end_offset - offset` of them, at least one).
fn several_lines_text(text: &str, offset: i64, end_offset: i64) -> String {
    // (At most one per byte of the text and one more: an `end_offset` set by a program may
    // be anything.)
    let carets = if end_offset > 0 && end_offset > offset {
        (end_offset - offset).min(text.len() as i64 + 1)
    } else {
        1
    };
    let mut rest = text.as_bytes();
    let mut offset = offset - 1;
    while let [b' ' | b'\t' | 0x0c, tail @ ..] = rest {
        rest = tail;
        offset -= 1;
    }
    let mut len = rest.len() as i64;
    if rest.last() == Some(&b'\n') {
        len -= 1;
    }
    offset = offset.min(len);
    while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
        if nl as i64 >= offset {
            break;
        }
        rest = &rest[nl + 1..];
        len -= nl as i64 + 1;
        offset -= nl as i64 + 1;
    }
    let mut out = format!("    {}", String::from_utf8_lossy(rest));
    if usize::try_from(len).ok().and_then(|l| rest.get(l)) != Some(&b'\n') {
        out.push('\n');
    }
    if offset >= 0 {
        out.push_str(&format!(
            "    {}{}\n",
            " ".repeat(offset as usize),
            "^".repeat(carets as usize)
        ));
    }
    out
}

/// The lines a traceback shows above a located `SyntaxError`'s last line (`  File "f", line 1`,
/// the source line, the carets), and the message for that last line; None for other exceptions.
pub fn located_block(inst: &Instance) -> Option<(String, String)> {
    if !is_syntax_error(inst) {
        return None;
    }
    let (Some(Value::Str(filename)), Some(Value::Int(lineno))) =
        (attr(inst, "filename"), attr(inst, "lineno"))
    else {
        return None;
    };
    let msg = match attr(inst, "msg") {
        Some(Value::Str(m)) => m.as_str().to_string(),
        _ => String::new(),
    };
    let mut block = format!("  File \"{}\", line {lineno}\n", filename.as_str());
    let int_attr = |name: &str| match attr(inst, name) {
        Some(Value::Int(n)) => n,
        _ => -1,
    };
    let text = match attr(inst, "text") {
        // A text of several lines (the tokenizer's buffer for a line carried on by a string or
        // a backslash): drawn as CPython's `print_error_text` draws it.
        Some(Value::Str(text)) if text.as_str().trim_end_matches('\n').contains('\n') => {
            block.push_str(&several_lines_text(
                text.as_str(),
                int_attr("offset"),
                int_attr("end_offset"),
            ));
            None
        }
        text => text,
    };
    if let Some(Value::Str(text)) = text {
        let text = text.as_str().trim_end_matches('\n');
        let col = |name: &str| match attr(inst, name) {
            Some(Value::Int(n)) if n >= 1 => Some(n as usize - 1),
            _ => None,
        };
        let byte = |chars: usize| {
            text.char_indices()
                .nth(chars)
                .map_or(text.len(), |(i, _)| i)
        };
        if let Some(start) = col("offset") {
            // A range that goes on to a later line is drawn to the end of this one.
            let later = match attr(inst, "end_lineno") {
                Some(Value::Int(end_line)) => end_line > lineno,
                _ => false,
            };
            let end = if later {
                Some(text.chars().count())
            } else {
                col("end_offset")
            };
            let end = end.filter(|&e| e > start).unwrap_or(start + 1);
            let span = Span::new(byte(start), byte(end));
            let e = SyntaxError::new(K::SyntaxError, "", span);
            // The renderer's first line names line 1 of `text`, its last the kind: keep the middle.
            let rendered = e.render("", text);
            let lines: Vec<&str> = rendered.lines().collect();
            if lines.len() > 2 {
                for l in &lines[1..lines.len() - 1] {
                    block.push_str(l);
                    block.push('\n');
                }
            }
        } else {
            block.push_str(&format!("    {}\n", text.trim()));
        }
    }
    Some((block, msg))
}
