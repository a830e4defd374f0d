//! The `traceback` module (stage 4, the VM's standard library): an exception's report as text,
//! exactly as the interpreter prints an uncaught one (`interp/exc.rs`), for `logging`'s
//! `exception()` and for programs that print tracebacks themselves; and `sys.exc_info()` /
//! `sys.exception()`, the exception being handled.
//!
//! `format_exception`, `format_exception_only`, `format_exc`, `print_exc`, `print_exception`
//! take CPython's arguments: a traceback `tb` given with the exception is the one shown, `limit`
//! keeps that many frames of each traceback (the outermost; the innermost when negative), and
//! `chain=False` leaves causes and contexts out.
//! The frame summaries and what is built on them (`walk_tb`, `walk_stack`, `extract_tb`,
//! `extract_stack`, `format_tb`, `format_stack`, `format_list`, their `print_*` forms,
//! `FrameSummary`, `StackSummary`, `TracebackException`) are written in the mini language
//! (`vm/lib/_tracebackinfo.mini`), loaded when first used; `_markers` and `_columns` below give
//! them the marker lines and columns of a traceback entry.

use crate::builtins::args::{ArgsExt, Sig};
use crate::builtins::Methods;
use crate::error::PyErr;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{class_of, Module};
use crate::stdlib::make_module;
use crate::value::Value;
use crate::PyResult;

const FUNCS: Methods = &[
    ("format_exception", format_exception),
    ("format_exception_only", format_exception_only),
    ("format_exc", format_exc),
    ("print_exc", print_exc),
    ("print_exception", print_exception),
    ("__getattr__", traceback_getattr),
    ("_markers", markers),
    ("_columns", columns),
];

/// The names written in the mini language (`vm/lib/_tracebackinfo.mini`), loaded on first use
/// and then kept in the module.
const MINI_NAMES: &[&str] = &[
    "walk_tb",
    "walk_stack",
    "extract_tb",
    "extract_stack",
    "format_tb",
    "format_stack",
    "format_list",
    "print_tb",
    "print_stack",
    "print_list",
    "print_last",
    "FrameSummary",
    "StackSummary",
    "TracebackException",
];

/// The module's `__getattr__`: a name of `_tracebackinfo`, loaded the first time it is asked for.
fn traceback_getattr(interp: &mut Interp, args: Args) -> PyResult<Value> {
    let name = match args.pos.first() {
        Some(Value::Str(s)) => s.as_str().to_string(),
        _ => crate::raise!(TypeError, "attribute name must be string"),
    };
    if !MINI_NAMES.contains(&name.as_str()) {
        crate::raise!(
            AttributeError,
            "module 'traceback' has no attribute '{name}'"
        );
    }
    let info = interp.import_module("_tracebackinfo")?;
    let v = interp.getattr(&info, &name)?;
    if let Some(m) = interp.vm.find_module("traceback") {
        m.dict.set_str(&name, v.clone());
    }
    Ok(v)
}

pub fn module() -> Ref<Module> {
    let items = FUNCS
        .iter()
        .map(|(name, f)| (*name, crate::builtins::native(name, *f)))
        .collect();
    make_module("traceback", items)
}

/// The exception an `(exc, value, tb)` call names: CPython 3.10+ takes the exception alone
/// (`format_exception(e)`) or the old triple (`format_exception(type(e), e, tb)`).
fn chosen(exc: Option<&Value>, value: Option<&Value>) -> Value {
    match value {
        Some(v) => v.clone(),
        None => exc.cloned().unwrap_or(Value::None),
    }
}

/// How much of a report to show: `traceback`'s `tb`, `limit` and `chain` arguments.
#[derive(Default)]
struct Shown<'a> {
    tb: Option<&'a Value>,
    limit: Option<i64>,
    no_chain: bool,
    only_last: bool,
}

impl<'a> Shown<'a> {
    fn new(
        interp: &mut Interp,
        tb: Option<&'a Value>,
        limit: Option<&Value>,
        chain: Option<&Value>,
    ) -> PyResult<Self> {
        let limit = match limit {
            None | Some(Value::None) => None,
            Some(Value::Int(n)) => Some(*n),
            Some(Value::Bool(b)) => Some(i64::from(*b)),
            Some(other) => {
                return Err(crate::err!(
                    TypeError,
                    "'{}' object cannot be interpreted as an integer",
                    crate::object::type_name(other)
                ))
            }
        };
        let no_chain = match chain {
            None => false,
            Some(v) => !interp.truthy(v)?,
        };
        Ok(Shown {
            tb,
            limit,
            no_chain,
            only_last: false,
        })
    }
}

/// The report of `exc` as lines ending in "\n" (`NoneType: None` for no exception).
fn report_lines(interp: &mut Interp, exc: &Value, shown: &Shown) -> PyResult<Vec<Value>> {
    let text = match PyErr::from_instance(exc) {
        Some(err) if shown.only_last => interp.exception_only(&err),
        Some(err) => interp.format_exception_with(&err, shown.tb, shown.limit, !shown.no_chain)?,
        None => format!(
            "{}: {}\n",
            class_of(exc).name(),
            interp.repr(exc).unwrap_or_default()
        ),
    };
    // As CPython's: one string per line, except that a frame's source line goes with its
    // `  File ...` line, and a chain's message with the blank lines around it is one string.
    let mut out: Vec<String> = Vec::new();
    let mut lines = text.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        let chain_message = |l: &&str| {
            l.starts_with("During handling of the above exception")
                || l.starts_with("The above exception was the direct cause")
        };
        if line == "\n" && lines.peek().is_some_and(chain_message) {
            let mut joined = line.to_string();
            joined.extend(lines.next());
            joined.extend(lines.next_if_eq(&"\n"));
            out.push(joined);
            continue;
        }
        match out.last_mut() {
            Some(prev) if line.starts_with("    ") && prev.starts_with("  File ") => {
                prev.push_str(line)
            }
            _ => out.push(line.to_string()),
        }
    }
    Ok(out.into_iter().map(Value::string).collect())
}

static FORMAT_EXCEPTION: Sig = Sig::py(
    "format_exception",
    &["exc", "value", "tb", "limit", "chain"],
    1,
);

fn format_exception(interp: &mut Interp, args: Args) -> PyResult<Value> {
    let [exc, value, tb, limit, chain] = FORMAT_EXCEPTION.bind(&args)?;
    let shown = Shown::new(interp, tb, limit, chain)?;
    let exc = chosen(exc, value);
    Ok(Value::list(report_lines(interp, &exc, &shown)?))
}

static FORMAT_EXCEPTION_ONLY: Sig = Sig::py("format_exception_only", &["exc", "value"], 1);

fn format_exception_only(interp: &mut Interp, args: Args) -> PyResult<Value> {
    let [exc, value] = FORMAT_EXCEPTION_ONLY.bind(&args)?;
    let exc = chosen(exc, value);
    let shown = Shown {
        only_last: true,
        ..Shown::default()
    };
    Ok(Value::list(report_lines(interp, &exc, &shown)?))
}

static FORMAT_EXC: Sig = Sig::py("format_exc", &["limit", "chain"], 0);

/// The report of the exception being handled, as one string.
fn format_exc(interp: &mut Interp, args: Args) -> PyResult<Value> {
    let [limit, chain] = FORMAT_EXC.bind(&args)?;
    let shown = Shown::new(interp, None, limit, chain)?;
    let exc = interp.handled_exc().unwrap_or(Value::None);
    Ok(Value::string(joined(interp, &exc, &shown)?))
}

fn joined(interp: &mut Interp, exc: &Value, shown: &Shown) -> PyResult<String> {
    Ok(report_lines(interp, exc, shown)?
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect())
}

static PRINT_EXC: Sig = Sig::py("print_exc", &["limit", "file", "chain"], 0);

fn print_exc(interp: &mut Interp, args: Args) -> PyResult<Value> {
    let [limit, file, chain] = PRINT_EXC.bind(&args)?;
    let shown = Shown::new(interp, None, limit, chain)?;
    let exc = interp.handled_exc().unwrap_or(Value::None);
    let text = joined(interp, &exc, &shown)?;
    write_to(interp, text, file)
}

static PRINT_EXCEPTION: Sig = Sig::py(
    "print_exception",
    &["exc", "value", "tb", "limit", "file", "chain"],
    1,
);

fn print_exception(interp: &mut Interp, args: Args) -> PyResult<Value> {
    let [exc, value, tb, limit, file, chain] = PRINT_EXCEPTION.bind(&args)?;
    let shown = Shown::new(interp, tb, limit, chain)?;
    let exc = chosen(exc, value);
    let text = joined(interp, &exc, &shown)?;
    write_to(interp, text, file)
}

/// Write `text` to `file`, or to `sys.stderr` when it is absent or None, as `print` does.
fn write_to(interp: &mut Interp, text: String, file: Option<&Value>) -> PyResult<Value> {
    let print = interp.vm.builtins.get_str("print").unwrap_or(Value::None);
    let file = match file {
        Some(f) if !f.is_none() => f.clone(),
        _ => {
            let sys = interp.import_module("sys")?;
            interp.getattr(&sys, "stderr")?
        }
    };
    let kw = [
        (std::sync::Arc::from("end"), Value::str("")),
        (std::sync::Arc::from("file"), file),
    ];
    interp.call_kw(&print, &[Value::string(text)], &kw)?;
    Ok(Value::None)
}

/// The `(start, end, lookup)` range a traceback object keeps of its instruction
/// (`interp::exc::traceback_value`), if `v` is one.
fn span_arg(v: Option<&Value>) -> Option<((u32, u32), bool)> {
    let Some(Value::Tuple(t)) = v else {
        return None;
    };
    match &t.items[..] {
        [Value::Int(a), Value::Int(b), lookup] => Some((
            (u32::try_from(*a).ok()?, u32::try_from(*b).ok()?),
            matches!(lookup, Value::Bool(true)),
        )),
        _ => None,
    }
}

fn str_arg<'a>(v: Option<&'a Value>, name: &str) -> PyResult<&'a str> {
    match v {
        Some(Value::Str(s)) => Ok(s.as_str()),
        _ => Err(crate::err!(TypeError, "{name} must be a str")),
    }
}

/// `_markers(filename, lineno, span)`: the `~~^^` line the interpreter draws under that line of
/// a traceback for the range `span`, or None.
fn markers(interp: &mut Interp, args: Args) -> PyResult<Value> {
    args.range("_markers", 3, 3)?;
    let filename = str_arg(args.get(0), "filename")?;
    let line = match args.get(1) {
        Some(Value::Int(n)) => u32::try_from(*n).unwrap_or(0),
        _ => return Ok(Value::None),
    };
    let Some((span, lookup)) = span_arg(args.get(2)) else {
        return Ok(Value::None);
    };
    Ok(interp
        .markers_at(filename, line, span, lookup)
        .map_or(Value::None, Value::string))
}

/// `_columns(filename, span)`: `(end_lineno, colno, end_colno)` of the range `span`, or None.
fn columns(interp: &mut Interp, args: Args) -> PyResult<Value> {
    args.range("_columns", 2, 2)?;
    let filename = str_arg(args.get(0), "filename")?;
    let Some((span, lookup)) = span_arg(args.get(1)) else {
        return Ok(Value::None);
    };
    Ok(match interp.span_columns(filename, span, lookup) {
        Some((end_line, col, end_col)) => Value::tuple(vec![
            Value::Int(end_line.into()),
            Value::Int(col.into()),
            Value::Int(end_col.into()),
        ]),
        None => Value::None,
    })
}

/// `sys.exc_info()`: (type, value, traceback) of the exception being handled, or three Nones.
pub fn sys_exc_info(interp: &mut Interp, args: Args) -> PyResult<Value> {
    args.none("sys.exc_info")?;
    let exc = interp.handled_exc();
    exc_info_tuple(interp, exc)
}

/// What `sys.exc_info()` gives for `exc`, an exception being handled (or none).
pub(crate) fn exc_info_tuple(interp: &mut Interp, exc: Option<Value>) -> PyResult<Value> {
    Ok(match exc {
        Some(exc @ Value::Instance(_)) => {
            let tb = crate::builtins::builtin_attr(interp, &exc, "__traceback__")
                .transpose()?
                .unwrap_or(Value::None);
            Value::tuple(vec![Value::Class(class_of(&exc)), exc, tb])
        }
        _ => Value::tuple(vec![Value::None, Value::None, Value::None]),
    })
}

/// `sys.exception()` (Python 3.11): the exception being handled, or None.
pub fn sys_exception(interp: &mut Interp, args: Args) -> PyResult<Value> {
    args.none("sys.exception")?;
    Ok(interp.handled_exc().unwrap_or(Value::None))
}
