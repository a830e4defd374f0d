//! `linecache` (stdlib stage): lines of source files by number, as CPython's module of that name,
//! for `warnings` (which shows the line a warning points at) and for programs. Sources the VM
//! has compiled (the script, imported modules, the embedded library `<minivm-lib>/...`) are
//! answered from memory; other files are read from disk (and not cached: `checkcache` and
//! `clearcache` have nothing to do).

use crate::builtins::args::{Sig, Style};
use crate::builtins::Methods;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::Module;
use crate::value::Value;
use crate::PyResult;

const FUNCS: Methods = &[
    ("getline", getline),
    ("getlines", getlines),
    ("clearcache", nothing),
    ("checkcache", nothing),
    ("_add_source", add_source),
];

pub fn module() -> Ref<Module> {
    super::module_from_fns("linecache", FUNCS, vec![])
}

/// The text of `filename`: a source the VM compiled, else the file on disk.
fn source(interp: &Interp, filename: &str) -> Option<String> {
    {
        let sources = interp.vm.sources.lock();
        if let Some((_, text)) = sources.iter().find(|(f, _)| f.as_ref() == filename) {
            return Some(text.to_string());
        }
    }
    if filename.starts_with('<') {
        return None;
    }
    std::fs::read(filename)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// The lines of `filename`, each ending in "\n" (as CPython's `getlines`, the last one gets a
/// newline added if it had none); without newlines for a source given as `bare`.
fn lines_of(interp: &Interp, filename: &str) -> Vec<String> {
    let Some(text) = source(interp, filename) else {
        return Vec::new();
    };
    if interp.vm.is_bare_source(filename) {
        return text.split('\n').map(str::to_string).collect();
    }
    text.split_inclusive('\n')
        .map(|l| {
            let mut l = l.to_string();
            if !l.ends_with('\n') {
                l.push('\n');
            }
            l
        })
        .collect()
}

fn filename_arg(v: Option<&Value>) -> String {
    match v {
        Some(Value::Str(s)) => s.as_str().to_string(),
        _ => String::new(),
    }
}

/// `getline(filename, lineno, module_globals=None)`: the line, or `''`.
fn getline(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [f, n, _] = Sig::pos(
        "getline",
        Style::Positional,
        &["filename", "lineno", "module_globals"],
        2,
    )
    .bind::<3>(&args)?;
    let lineno = match n {
        Some(Value::Int(i)) => *i,
        _ => 0,
    };
    let lines = lines_of(interp, &filename_arg(f));
    let text = if lineno >= 1 {
        lines.get(lineno as usize - 1).cloned().unwrap_or_default()
    } else {
        String::new()
    };
    Ok(Value::string(text))
}

/// `getlines(filename, module_globals=None)`: every line, or `[]`.
fn getlines(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [f, _] = Sig::pos(
        "getlines",
        Style::Positional,
        &["filename", "module_globals"],
        1,
    )
    .bind::<2>(&args)?;
    let lines = lines_of(interp, &filename_arg(f));
    Ok(Value::list(lines.into_iter().map(Value::string).collect()))
}

fn nothing(_: &mut Interp, _: Args<'_>) -> PyResult<Value> {
    Ok(Value::None)
}

/// `_add_source(filename, text, bare=False)` (minivm's own): remember `text` as the source of
/// `filename`, so that tracebacks and `getline` show its lines, as CPython's doctest arranges
/// for its `<doctest name[n]>` examples by patching `linecache.getlines`. `bare`: the lines
/// are held without their newlines, as the cache entry `timeit.Timer.print_exc` makes
/// (`text.split("\n")`), which moves the `traceback` module's markers one column right.
fn add_source(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [f, t, bare] = Sig::pos(
        "_add_source",
        Style::Positional,
        &["filename", "text", "bare"],
        2,
    )
    .bind::<3>(&args)?;
    let text = filename_arg(t);
    let filename = filename_arg(f);
    interp.vm.add_source(&filename, &text);
    let bare = match bare {
        Some(v) => interp.truthy(v)?,
        None => false,
    };
    interp.vm.set_bare_source(&filename, bare);
    Ok(Value::None)
}
