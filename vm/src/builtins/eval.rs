//! Builtins stage: `eval`, `exec` and `compile`. Source text goes through the same compiler as
//! a program, in its `Eval`/`Exec` modes, where module-level names are read and written through
//! a namespace (`LoadName`/`StoreName`, as in a class body); the code then runs in a frame whose
//! globals and namespace are the dicts given (or the caller's).

use std::sync::Arc;

use minivm_compiler::bytecode::CodeObject;
use minivm_compiler::Mode;

use crate::builtins::args::{ArgsExt, Sig, Style};
use crate::heap::{Global, Ref};
use crate::interp::frame::Frame;
use crate::interp::run::Exit;
use crate::interp::{Args, Interp};
use crate::object::{type_name, Class, Dict, Instance};
use crate::value::Value;
use crate::{err, raise, PyResult};

/// What `compile()` returns (an instance of the `code` class): compiled code, and whether it
/// is an expression (`eval` returns its value).
struct Compiled {
    code: Arc<CodeObject>,
}

static CODE_CLASS: Global<Ref<Class>> = Global::new();

pub(crate) fn code_class() -> Ref<Class> {
    CODE_CLASS
        .get_or_init(|| {
            crate::stdlib::native_class(
                "code",
                "builtins",
                &[("__repr__", code_repr), ("co_positions", code_positions)],
            )
        })
        .clone()
}

/// The compiled code a `code` object holds, if `v` is one.
pub(crate) fn compiled_code(v: &Value) -> Option<Arc<CodeObject>> {
    compiled(v).map(|c| c.code.clone())
}

fn compiled(v: &Value) -> Option<&Compiled> {
    match v {
        Value::Instance(i) => i.native::<Compiled>(),
        _ => None,
    }
}

/// `<code object <module> at 0x..., file "f", line 1>` (also for the `f_code` of a frame).
fn code_repr(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let this = args.one("code.__repr__")?;
    let Value::Instance(inst) = this else {
        raise!(TypeError, "descriptor '__repr__' requires a 'code' object");
    };
    let attr = |name: &str| match inst.dict.lock().get(name) {
        Some(Value::Str(s)) => s.as_str().to_string(),
        Some(Value::Int(i)) => i.to_string(),
        _ => "?".to_string(),
    };
    Ok(Value::string(format!(
        "<code object {} at {:#x}, file \"{}\", line {}>",
        attr("co_name"),
        this.id(),
        attr("co_filename"),
        attr("co_firstlineno")
    )))
}

/// `code.co_positions()`: an iterator of `(line, end_line, column, end_column)`, one for each of
/// minivm's instructions (not CPython's: the count and order differ), columns in UTF-8 bytes
/// from the start of their line; None where minivm has no source range or source text.
fn code_positions(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let this = args.one("code.co_positions")?;
    let Some(code) = compiled_code(this) else {
        raise!(
            TypeError,
            "descriptor 'co_positions' requires a 'code' object"
        );
    };
    let rows = interp.span_positions(&code.filename, &code.lines, &code.spans);
    let int = |v: Option<u32>| v.map_or(Value::None, |n| Value::Int(n.into()));
    let items = rows
        .into_iter()
        .map(|row| Value::tuple(row.into_iter().map(int).collect()))
        .collect();
    interp.get_iter(&Value::list(items))
}

/// The text of a source argument (str, or UTF-8 bytes), or the code object it already is.
enum Source {
    Text(String),
    Code(Arc<CodeObject>),
}

fn source(v: &Value, fname: &str) -> PyResult<Source> {
    if let Some(c) = compiled(v) {
        return Ok(Source::Code(c.code.clone()));
    }
    let bytes = match v {
        Value::Str(s) => return Ok(Source::Text(s.as_str().to_string())),
        Value::Bytes(b) => b.as_bytes().to_vec(),
        Value::ByteArray(b) => b.data.lock().clone(),
        _ => raise!(
            TypeError,
            "{fname}() arg 1 must be a string, bytes or code object"
        ),
    };
    match String::from_utf8(bytes) {
        Ok(s) => Ok(Source::Text(s)),
        Err(_) => raise!(SyntaxError, "source code is not valid UTF-8"),
    }
}

/// Compile source text as a program's module would be, with `filename` in its tracebacks, and
/// issue its compile-time warnings (also those found before a `SyntaxError`: CPython issues
/// them as it parses).
fn compile_text(
    interp: &mut Interp,
    text: &str,
    filename: &str,
    mode: Mode,
) -> PyResult<Arc<CodeObject>> {
    if text.contains('\0') {
        raise!(SyntaxError, "source code string cannot contain null bytes");
    }
    if mode != Mode::Exec {
        if let Some(e) = nothing_to_run(text, filename) {
            return Err(e);
        }
    }
    let code = minivm_compiler::compile_source(text, filename, mode);
    // A warning turned into an error is located in the text as the compiler's errors are.
    let located = |e: &minivm_compiler::SyntaxError| text_error(e.clone(), text, filename, mode);
    let warnings = minivm_compiler::take_warnings();
    interp.issue_compile_warnings(warnings, filename, text, Some(&located))?;
    code.map_err(|e| text_error(e, text, filename, mode))
}

/// The `SyntaxError` for a compile error `e` in the text of `exec`, `eval` or `compile()`:
/// located as CPython locates it when it reads a string rather than a file.
fn text_error(
    mut e: minivm_compiler::SyntaxError,
    text: &str,
    filename: &str,
    mode: Mode,
) -> crate::PyErr {
    {
        // An error in string literals that end an eval's text with no newline after them.
        let literal_error = ["f-string", "(unicode error)", "cannot mix bytes"]
            .iter()
            .any(|p| e.message.starts_with(p));
        // CPython's tokenizer adds no newline to an eval's text: `text` has none, and at the
        // end of the text its lookahead token has no column (`ErrorEnd::EvalEnd`).
        if mode == Mode::Eval
            && literal_error
            && e.fstring_expr.is_none()
            && e.end == minivm_compiler::ErrorEnd::Span
            && !text.ends_with('\n')
        {
            e.end = if e.span.start as usize >= text.trim_end_matches([' ', '\t']).len() {
                minivm_compiler::ErrorEnd::EvalEnd
            } else {
                minivm_compiler::ErrorEnd::TokenizerSpan
            };
        }
        // "invalid syntax" at the very end of such a text (`eval('1 +')`): CPython's lookahead
        // is the end marker, reported with no column (`offset` and `end_offset` 0).
        let open_end = mode != Mode::Exec && !text.ends_with('\n');
        if open_end
            && e.message == "invalid syntax"
            && e.fstring_expr.is_none()
            && e.end == minivm_compiler::ErrorEnd::Span
            && text.get(e.span.start as usize..).is_some_and(|rest| {
                let rest = rest.trim_start_matches([' ', '\t', '\x0c']);
                rest.is_empty() || rest.starts_with('#')
            })
        {
            e.end = minivm_compiler::ErrorEnd::AtEnd;
        }
        let err = crate::interp::modules::syntax_error(&e, filename, text);
        // Nor has the last line of such a text a newline in `text` (`eval('a b')`).
        if open_end {
            let last_line = text.rsplit('\n').next().unwrap_or(text);
            let shown = err.exc.dict.lock().get("text").cloned();
            if let Some(Value::Str(s)) = shown {
                if s.as_str().strip_suffix('\n') == Some(last_line) {
                    crate::interp::syntaxerr::set_text(&err, Value::str(last_line));
                }
            }
        }
        // CPython takes the line of an error found on a line before the one its tokenizer
        // had reached from the text, without its newline: a bracket never closed (found at the
        // end of the text), an error whose range goes on to a later line.
        let on_file = std::path::Path::new(filename).is_file();
        if !on_file && earlier_than_tokenizer(&err, &e.message, text) {
            let shown = err.exc.dict.lock().get("text").cloned();
            if let Some(Value::Str(s)) = shown {
                if let Some(line) = s.as_str().strip_suffix('\n') {
                    crate::interp::syntaxerr::set_text(&err, Value::str(line));
                }
            }
        }
        // Otherwise the tokenizer was still on the error's line, and CPython's `text` is its
        // whole buffer: from the first line of the logical line (one that a string or a
        // backslash carries on to the error's line) to the error's line. (Not for an error
        // inside an f-string's field, whose text is the field's own `(expr)`.)
        if !on_file && e.fstring_expr.is_none() && !earlier_than_tokenizer(&err, &e.message, text) {
            with_continued_lines(&err, text);
        }
        // An error of the compiler proper (after parsing: `'break' outside loop`, symbol
        // table errors) takes its `text` from the file named, as CPython's: None when there is
        // no such file (`<string>`).
        let parser_kind = ([
            "cannot assign",
            "cannot delete",
            "invalid syntax",
            "f-string",
        ]
        .iter()
        .any(|p| e.message.starts_with(p))
            // (The tokenizer's and parser's warnings turned into errors.)
            || (e.message.starts_with("invalid ")
                && (e.message.ends_with(" literal") || e.message.contains(" escape sequence "))))
            // (Binding `__debug__` is always the compiler's error in CPython.)
            && !e.message.ends_with("__debug__");
        if !parser_kind && !on_file {
            let parsed = match mode {
                Mode::Single => minivm_compiler::parser::parse_single(text).is_ok(),
                Mode::Eval => minivm_compiler::parser::parse_eval(text).is_ok(),
                _ => minivm_compiler::parser::parse(text).is_ok(),
            };
            if parsed {
                crate::interp::syntaxerr::set_text(&err, Value::None);
            }
        }
        err
    }
}

/// The `text` of `err` with the lines before its line that CPython's tokenizer held in the
/// same buffer put back in front (for `'''a` then `b''' 1`: both lines, not `b''' 1`).
fn with_continued_lines(err: &crate::PyErr, text: &str) {
    let (lineno, shown) = {
        let d = err.exc.dict.lock();
        (d.get("lineno").cloned(), d.get("text").cloned())
    };
    let (Some(Value::Int(lineno)), Some(Value::Str(shown))) = (lineno, shown) else {
        return;
    };
    let Ok(lineno) = usize::try_from(lineno) else {
        return;
    };
    let first = buffer_first_line(text, lineno);
    if first >= lineno {
        return;
    }
    let before: String = text
        .split_inclusive('\n')
        .skip(first - 1)
        .take(lineno - first)
        .collect();
    crate::interp::syntaxerr::set_text(err, Value::string(before + shown.as_str()));
}

/// The first line (1-based) of the buffer CPython's tokenizer holds while it reads line `line`
/// of a text: a line carries on the buffer of the line before when that one ends inside a
/// string (triple-quoted, or quoted with a backslash before the newline) or in a backslash
/// continuation; any other line starts a buffer of its own (brackets do not join lines here).
fn buffer_first_line(text: &str, line: usize) -> usize {
    let (mut current, mut first) = (1, 1);
    // The open string: its quote and whether it is triple-quoted.
    let mut open: Option<(char, bool)> = None;
    let mut chars = text.chars().peekable();
    while current < line {
        let Some(c) = chars.next() else { break };
        match (open, c) {
            (_, '\\') => {
                // An escaped character, or (outside a string) a line continuation: the newline
                // after the backslash does not end the buffer.
                chars.next_if_eq(&'\r');
                if chars.next_if_eq(&'\n').is_some() {
                    current += 1;
                } else if open.is_some() {
                    chars.next();
                }
            }
            (_, '\n') => {
                current += 1;
                // (A quoted string unclosed at its line's end is an error of that line.)
                if !matches!(open, Some((_, true))) {
                    open = None;
                    first = current;
                }
            }
            (None, '#') => while chars.next_if(|&n| n != '\n').is_some() {},
            (None, '\'' | '"') => {
                let triple = chars.clone().take(2).filter(|&n| n == c).count() == 2;
                if triple {
                    chars.nth(1);
                }
                open = Some((c, triple));
            }
            (Some((q, triple)), c) if c == q => {
                if !triple {
                    open = None;
                } else if chars.clone().take(2).filter(|&n| n == q).count() == 2 {
                    chars.nth(1);
                    open = None;
                }
            }
            _ => {}
        }
    }
    first
}

/// Was the SyntaxError `err` (message `msg`) found on a line before the last one CPython's
/// tokenizer read when it was raised? A bracket never closed is found at the end of the text,
/// a range ending on a later line (`f(a` then `b)`: a comma forgotten) was read to its end.
fn earlier_than_tokenizer(err: &crate::PyErr, msg: &str, text: &str) -> bool {
    let line = |name: &str| match err.exc.dict.lock().get(name) {
        Some(Value::Int(n)) => *n,
        _ => 0,
    };
    let lineno = line("lineno");
    let last_line = text.split_inclusive('\n').count() as i64;
    (msg.ends_with("was never closed") && lineno < last_line) || line("end_lineno") > lineno
}

/// The code to run: compiled from text (`eval` strips leading blanks, as CPython does), its
/// compiler warnings issued, or given.
fn code_of(interp: &mut Interp, v: &Value, fname: &str, mode: Mode) -> PyResult<Arc<CodeObject>> {
    let text = match source(v, fname)? {
        Source::Code(c) => return Ok(c),
        Source::Text(t) if mode == Mode::Eval => t.trim_start_matches([' ', '\t']).to_string(),
        Source::Text(t) => t.to_string(),
    };
    compile_text(interp, &text, "<string>", mode)
}

/// The locals of `eval`/`exec` given as a mapping that is not a plain dict: the dict names go
/// to (a dict subclass's own, else an unused one) and, when the names must go through its
/// `__getitem__`/`__setitem__`/`__delitem__`, the mapping itself (see `Frame::mapping`).
fn mapping_locals(interp: &mut Interp, v: &Value) -> Option<(Ref<Dict>, Option<Value>)> {
    if let (Value::Instance(i), Some(Value::Dict(d))) = (v, crate::object::builtin_base(v)) {
        let hooks = ["__setitem__", "__getitem__", "__missing__", "__delitem__"];
        let plain = hooks.iter().all(|h| i.class.lookup(h).is_none());
        return Some((d.clone(), (!plain).then(|| v.clone())));
    }
    // CPython's test (`PyMapping_Check`): the type can be subscripted.
    if !matches!(
        v,
        Value::List(_)
            | Value::Tuple(_)
            | Value::Str(_)
            | Value::Bytes(_)
            | Value::ByteArray(_)
            | Value::Range(_)
    ) && interp.lookup_special(v, "__getitem__").is_none()
    {
        return None;
    }
    Some((Ref::new(Dict::new()), Some(v.clone())))
}

/// The globals and locals dicts of an `eval`/`exec` call: the given ones, or the caller's; and
/// the locals mapping when it is not a plain dict.
fn namespaces(
    interp: &mut Interp,
    frame: Option<&Frame>,
    fname: &str,
    globals: Option<&Value>,
    locals: Option<&Value>,
) -> PyResult<(Ref<Dict>, Ref<Dict>, Option<Value>)> {
    let globals = globals.filter(|g| !g.is_none());
    let locals = locals.filter(|l| !l.is_none());
    let mut mapping = None;
    let locals = match locals {
        None => None,
        Some(Value::Dict(d)) => Some(d.clone()),
        Some(other) => match mapping_locals(interp, other) {
            Some((d, m)) => {
                mapping = m;
                Some(d)
            }
            None if fname == "exec" => raise!(
                TypeError,
                "locals must be a mapping or None, not {}",
                type_name(other)
            ),
            None => raise!(TypeError, "locals must be a mapping"),
        },
    };
    let globals = match globals {
        Some(Value::Dict(d)) => d.clone(),
        Some(other) if fname == "exec" => raise!(
            TypeError,
            "exec() globals must be a dict, not {}",
            type_name(other)
        ),
        Some(_) => raise!(
            TypeError,
            "globals must be a real dict; try eval(expr, {{}}, mapping)"
        ),
        None => {
            let Some(f) = frame else {
                raise!(
                    RuntimeError,
                    "minivm supports {fname}() without globals only when called directly from Python code"
                );
            };
            let locals = match locals {
                Some(l) => l,
                None => match super::introspect::frame_locals(f) {
                    Value::Dict(d) => d,
                    _ => raise!(SystemError, "{fname}(): locals are not a dict"),
                },
            };
            return Ok((f.globals.clone(), locals, mapping));
        }
    };
    if globals.get_str("__builtins__").is_none() {
        globals.set_str("__builtins__", Value::Dict((*interp.vm.builtins).clone()));
    }
    let locals = locals.unwrap_or_else(|| globals.clone());
    Ok((globals, locals, mapping))
}

/// Run module-level code with `globals`, its names going through `locals`; the value it returns.
fn run(
    interp: &mut Interp,
    code: Arc<CodeObject>,
    globals: Ref<Dict>,
    locals: Ref<Dict>,
    mapping: Option<Value>,
) -> PyResult<Value> {
    let func = crate::module_function(code, globals);
    let mut frame = interp.new_frame(&func, &[], &[])?;
    frame.namespace = Some(locals);
    frame.set_extras();
    frame.mapping = mapping;
    match interp.run_frame(frame)? {
        Exit::Return(v) => Ok(v),
        Exit::Yield(..) => Err(err!(SystemError, "code passed to eval/exec yielded")),
    }
}

/// `compile`; `eval` and `exec` read their caller's frame, so they are listed in `introspect`.
pub const FUNCTIONS: crate::builtins::Methods = &[("compile", compile)];

const EVAL_PARAMS: &[&str] = &["source", "globals", "locals"];

/// `eval(source, globals=None, locals=None)`: the value of an expression.
pub fn eval(interp: &mut Interp, frame: Option<&Frame>, args: Args<'_>) -> PyResult<Value> {
    let [src, g, l] = Sig::pos("eval", Style::Unpack, EVAL_PARAMS, 1).bind::<3>(&args)?;
    let src = src.ok_or_else(|| err!(SystemError, "eval(): argument lost"))?;
    let code = code_of(interp, src, "eval", Mode::Eval)?;
    let (globals, locals, mapping) = namespaces(interp, frame, "eval", g, l)?;
    let caller_locals = caller_locals(frame, g, l, &locals);
    let r = run(interp, code, globals, locals, mapping);
    keep_caller_locals(caller_locals);
    r
}

/// The calling function frame and its `locals()` dict when `eval`/`exec` was given no
/// namespaces and so runs in that dict.
fn caller_locals<'f>(
    frame: Option<&'f Frame>,
    globals: Option<&Value>,
    given_locals: Option<&Value>,
    locals: &Ref<Dict>,
) -> Option<(&'f Frame, Value)> {
    let given = |v: Option<&Value>| v.is_some_and(|v| !v.is_none());
    match frame {
        Some(f) if !given(globals) && !given(given_locals) => {
            Some((f, Value::Dict(locals.clone())))
        }
        _ => None,
    }
}

/// Once the code has run (it may have called `locals()` in frames of its own): the calling
/// function keeps the dict, so that what the code stored stays visible to its `locals()`.
fn keep_caller_locals(caller: Option<(&Frame, Value)>) {
    if let Some((f, d)) = caller {
        super::introspect::keep_locals(f, &d);
    }
}

/// The first two checks of CPython's Argument Clinic parser for a function of `max_pos`
/// positional and `max_all` parameters in all (`exec`, `compile`), in its order and words: too
/// many arguments in all, then too many positional ones. The positional count, if neither.
fn clinic_counts(name: &str, args: &Args<'_>, max_pos: usize, max_all: usize) -> PyResult<usize> {
    let (nargs, nkw) = (args.pos.len(), args.kw.len());
    if nargs + nkw > max_all {
        raise!(
            TypeError,
            "{name}() takes at most {max_all} {}arguments ({} given)",
            if nargs == 0 { "keyword " } else { "" },
            nargs + nkw
        );
    }
    if nargs > max_pos {
        raise!(
            TypeError,
            "{name}() takes at most {max_pos} positional arguments ({nargs} given)"
        );
    }
    Ok(nargs)
}

/// The argument counts and keywords of `exec(source, globals=None, locals=None, /, *,
/// closure=None)` checked in the order and words of CPython's argument parser for it
/// (Argument Clinic: three positional-only parameters and one keyword-only).
fn exec_arg_counts(args: &Args<'_>) -> PyResult<()> {
    let nargs = clinic_counts("exec", args, 3, 4)?;
    if nargs == 0 {
        raise!(
            TypeError,
            "exec() takes at least 1 positional argument (0 given)"
        );
    }
    if let Some((k, _)) = args.kw.iter().find(|(k, _)| &**k != "closure") {
        raise!(TypeError, "'{k}' is an invalid keyword argument for exec()");
    }
    Ok(())
}

/// `exec(source, globals=None, locals=None)`: run statements; returns None.
pub fn exec(interp: &mut Interp, frame: Option<&Frame>, args: Args<'_>) -> PyResult<Value> {
    exec_arg_counts(&args)?;
    // `closure=` (keyword-only): None is the default; cells for a code object's free variables
    // are beyond minivm's code objects.
    let closure = args
        .kw
        .iter()
        .find(|(k, _)| &**k == "closure")
        .map(|(_, v)| v);
    let rest: Vec<(Arc<str>, Value)> = args
        .kw
        .iter()
        .filter(|(k, _)| &**k != "closure")
        .cloned()
        .collect();
    let args = Args {
        pos: args.pos,
        kw: &rest,
    };
    let [src, g, l] = Sig::pos("exec", Style::Unpack, EVAL_PARAMS, 1).bind::<3>(&args)?;
    let src = src.ok_or_else(|| err!(SystemError, "exec(): argument lost"))?;
    if let Some(closure) = closure.filter(|c| !c.is_none()) {
        // CPython's order: the source is read first (a wrong type, or a text holding a NUL,
        // is reported before the closure), then the closure is checked against the code.
        match source(src, "exec")? {
            Source::Text(t) if t.contains('\0') => {
                raise!(SyntaxError, "source code string cannot contain null bytes")
            }
            Source::Text(_) => raise!(
                TypeError,
                "closure can only be used when source is a code object"
            ),
            Source::Code(code) => {
                let n = code.freevars.len();
                if n == 0 {
                    raise!(TypeError, "cannot use a closure with this code object");
                }
                if !matches!(closure, Value::Tuple(t) if t.items.len() == n) {
                    raise!(
                        TypeError,
                        "code object requires a closure of exactly length {n}"
                    );
                }
            }
        }
        raise!(
            NotImplementedError,
            "minivm's exec() cannot run a code object with a closure"
        );
    }
    let code = code_of(interp, src, "exec", Mode::Exec)?;
    let (globals, locals, mapping) = namespaces(interp, frame, "exec", g, l)?;
    let caller_locals = caller_locals(frame, g, l, &locals);
    let r = run(interp, code, globals, locals, mapping);
    keep_caller_locals(caller_locals);
    r.map(|_| Value::None)
}

/// CPython's error for an expression or interactive statement whose text holds no token (only
/// blank lines and comments): "unexpected indent" where the text ends in a line of spaces and
/// tabs (at its end, `end_offset` -1), else "invalid syntax" at column 0 of the last line
/// (line 0 for an empty text). None when the text has something to read.
fn nothing_to_run(text: &str, filename: &str) -> Option<crate::PyErr> {
    let blank = |l: &str| {
        let t = l.trim_start_matches([' ', '\t', '\x0c', '\r']);
        t.is_empty() || t.starts_with('#')
    };
    if text.contains('\\') || !text.split('\n').all(blank) {
        return None;
    }
    let int = |n: usize| Value::Int(n as i64);
    let newlines = text.matches('\n').count();
    let last = text.rsplit('\n').next().unwrap_or("");
    if !last.is_empty() && last.chars().all(|c| c == ' ' || c == '\t') {
        let line = int(newlines + 1);
        return Some(crate::interp::syntaxerr::located(
            crate::object::ExcKind::IndentationError,
            "unexpected indent",
            filename,
            (line.clone(), int(last.chars().count())),
            Value::str(last),
            (line, Value::Int(-1)),
        ));
    }
    let line = newlines + usize::from(!last.is_empty());
    let shown = text
        .split_inclusive('\n')
        .nth(line.saturating_sub(1))
        .unwrap_or("");
    Some(crate::interp::syntaxerr::located(
        crate::object::ExcKind::SyntaxError,
        "invalid syntax",
        filename,
        (int(line), int(0)),
        Value::str(shown),
        (int(line), int(0)),
    ))
}

/// `compile(source, filename, mode)`: a code object for `exec` (`'exec'`, `'single'`) or
/// `eval` (`'eval'`). With `ast.PyCF_ONLY_AST` in `flags`, the tree `ast.parse` gives; a tree
/// as `source` is compiled from the text `ast._compile_source` writes for it. The other flags,
/// `dont_inherit` and `optimize` are accepted and have no effect.
pub fn compile(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    const PYCF_ONLY_AST: i64 = 0x400;
    if let Some(Value::Int(flags)) = args.pos.get(3).or_else(|| {
        args.kw
            .iter()
            .find(|(k, _)| &**k == "flags")
            .map(|(_, v)| v)
    }) {
        if flags & PYCF_ONLY_AST != 0 {
            let ast = interp.import_module("ast")?;
            let parse = interp.getattr(&ast, "parse")?;
            let pos: Vec<Value> = args.pos.iter().take(3).cloned().collect();
            let kw: Vec<_> = args
                .kw
                .iter()
                .filter(|(k, _)| matches!(&**k, "source" | "filename" | "mode"))
                .cloned()
                .collect();
            return interp.call_kw(&parse, &pos, &kw);
        }
    }
    let mut tree_text = None;
    if let Some(Value::Instance(inst)) = args.pos.first() {
        let cls = inst.class.get();
        let is_ast =
            |c: &crate::heap::Ref<crate::object::Class>| &*c.name() == "AST" && &*c.module == "ast";
        if is_ast(&cls) || cls.mro_tail.iter().any(is_ast) {
            // A tree: checked and written back as text by `ast._compile_source`, each
            // statement on its own line number, then compiled as any text.
            let mode = args
                .pos
                .get(2)
                .or_else(|| args.kw.iter().find(|(k, _)| &**k == "mode").map(|(_, v)| v));
            if let Some(mode) = mode {
                let ast = interp.import_module("ast")?;
                let to_source = interp.getattr(&ast, "_compile_source")?;
                let text =
                    interp.call(&to_source, &[Value::Instance(inst.clone()), mode.clone()])?;
                tree_text = Some(text);
            }
        }
    }
    // CPython's argument parser counts the keyword-only `_feature_version` (accepted, and of
    // no effect here: minivm parses one version of the language) before anything else.
    clinic_counts("compile", &args, 6, 7)?;
    let kw: Vec<(Arc<str>, Value)> = args
        .kw
        .iter()
        .filter(|(k, _)| &**k != "_feature_version")
        .cloned()
        .collect();
    let args = Args {
        pos: args.pos,
        kw: &kw,
    };
    let [src, filename, mode, _flags, _inherit, _optimize] = Sig::kw(
        "compile",
        &[
            "source",
            "filename",
            "mode",
            "flags",
            "dont_inherit",
            "optimize",
        ],
        3,
    )
    .bind::<6>(&args)?;
    let (Some(src), Some(filename), Some(mode)) = (src, filename, mode) else {
        raise!(SystemError, "compile(): argument lost");
    };
    let mode = match mode {
        Value::Str(m) if m.as_str() == "exec" => Mode::Exec,
        Value::Str(m) if m.as_str() == "eval" => Mode::Eval,
        Value::Str(m) if m.as_str() == "single" => Mode::Single,
        Value::Str(_) => raise!(
            ValueError,
            "compile() mode must be 'exec', 'eval' or 'single'"
        ),
        other => raise!(
            TypeError,
            "compile() argument 'mode' must be str, not {}",
            type_name(other)
        ),
    };
    let filename = match filename {
        Value::Str(f) => f.as_str().to_string(),
        other => raise!(
            TypeError,
            "compile() argument 'filename' must be str, not {}",
            type_name(other)
        ),
    };
    let src = tree_text.as_ref().unwrap_or(src);
    let code = match source(src, "compile")? {
        Source::Code(c) => c,
        Source::Text(t) => compile_text(interp, &t, &filename, mode)?,
    };
    // Compiled from a tree's text: its columns are that text's, not the file's, so tracebacks
    // draw no carets under the file's lines (the line numbers are the tree's).
    let code = if tree_text.is_some() {
        without_columns(code)
    } else {
        code
    };
    Ok(code_object(code))
}

/// `code` and the code objects nested in it with no source ranges (`(0, 0)`: no carets).
fn without_columns(code: Arc<CodeObject>) -> Arc<CodeObject> {
    let mut code = Arc::unwrap_or_clone(code);
    for span in &mut code.spans {
        *span = (0, 0);
    }
    for c in &mut code.consts {
        if let minivm_compiler::bytecode::Constant::Code(inner) = c {
            *inner = without_columns(inner.clone());
        }
    }
    Arc::new(code)
}

/// CPython's `co_flags` bits for what minivm's code records: `CO_OPTIMIZED | CO_NEWLOCALS` for
/// a function (0 for module and class bodies), `CO_VARARGS`, `CO_VARKEYWORDS`, `CO_NESTED` for
/// a function defined inside another (its qualified name has `<locals>`), and one of
/// `CO_GENERATOR`, `CO_COROUTINE`, `CO_ASYNC_GENERATOR` (`CO_ITERABLE_COROUTINE` too for a
/// `types.coroutine` generator). `inspect.signature` reads the `*args`/`**kwargs` bits.
fn co_flags(code: &CodeObject) -> i64 {
    let f = &code.flags;
    if f.class_body || code.name == "<module>" {
        return 0;
    }
    let mut bits = 0x1 | 0x2;
    if f.varargs {
        bits |= 0x4;
    }
    if f.varkeywords {
        bits |= 0x8;
    }
    if code.qualname.contains("<locals>") {
        bits |= 0x10;
    }
    if f.coroutine {
        bits |= 0x80;
    } else if f.async_generator {
        bits |= 0x200;
    } else if f.generator {
        bits |= 0x20;
    }
    if f.iterable_coroutine {
        bits |= 0x100;
    }
    bits
}

/// The `code` object of loaded code, one per code (`f.__code__`, `gen.gi_code`, `f_code`).
pub fn code_value(code: &crate::interp::code::Code) -> Value {
    code.value
        .get_or_init(|| code_object(code.obj.clone()))
        .clone()
}

/// A `code` object for compiled code (what `compile()` returns, and a function's `__code__`):
/// its CPython attributes that minivm's code has the same facts for.
pub fn code_object(code: Arc<CodeObject>) -> Value {
    let names = |v: &[String]| Value::tuple(v.iter().map(|s| Value::str(s)).collect());
    let inst = Instance::new(code_class());
    {
        let mut d = inst.dict.lock();
        let mut set = |k: &str, v: Value| d.insert(Arc::from(k), v);
        set("co_name", Value::str(&code.name));
        set("co_qualname", Value::str(&code.qualname));
        set("co_filename", Value::str(&code.filename));
        set("co_firstlineno", Value::Int(code.first_line as i64));
        set("co_argcount", Value::Int(code.argcount as i64));
        set(
            "co_posonlyargcount",
            Value::Int(code.posonlyargcount as i64),
        );
        set("co_kwonlyargcount", Value::Int(code.kwonlyargcount as i64));
        set("co_flags", Value::Int(co_flags(&code)));
        set("co_nlocals", Value::Int(code.varnames.len() as i64));
        set("co_varnames", names(&code.varnames));
        set("co_cellvars", names(&code.cellvars));
        set("co_freevars", names(&code.freevars));
        set("co_names", names(&code.names));
    }
    inst.set_native(Box::new(Compiled { code }));
    Value::Instance(Ref::new(inst))
}
