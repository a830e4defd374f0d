//! Introspection built-ins (builtins stage): `globals()`, `locals()`, `vars()` and `dir()`, which
//! read the namespaces of the calling frame. The dispatch loop holds the running frame itself (a
//! native call pushes none), so it hands that frame to these functions (see [`frame_function`]).

use crate::builtins::args::ArgsExt;
use crate::builtins::Methods;
use crate::error::PyResult;
use crate::heap::Ref;
use crate::interp::frame::Frame;
use crate::interp::{Args, Interp};
use crate::object::{class_of, Dict, ExcKind, NativeFunction};
use crate::value::Value;
use crate::{err, raise};

/// A built-in that reads its caller's frame, which the dispatch loop passes when the call is in the
/// program's code (`call_on_stack`); called any other way (`map(locals, ...)`) it gets `None`.
pub type FrameFn = fn(&mut Interp, Option<&Frame>, Args<'_>) -> PyResult<Value>;

const FRAME_FUNCTIONS: [(&str, FrameFn); 6] = [
    ("globals", globals),
    ("locals", locals),
    ("vars", vars),
    ("dir", dir),
    ("eval", super::eval::eval),
    ("exec", super::eval::exec),
];

/// The same functions as values (`print(globals)`, `f = vars`), without a frame.
pub const FUNCTIONS: Methods = &[
    ("globals", frameless::<0>),
    ("locals", frameless::<1>),
    ("vars", frameless::<2>),
    ("dir", frameless::<3>),
    ("eval", frameless::<4>),
    ("exec", frameless::<5>),
];

fn frameless<const K: usize>(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    (FRAME_FUNCTIONS[K].1)(interp, None, args)
}

/// The frame-reading version of a native function, if it is one of these built-ins.
pub fn frame_function(n: &NativeFunction) -> Option<FrameFn> {
    match n.name {
        "_getframe" => Some(super::frames::getframe),
        "globals" | "locals" | "vars" | "dir" | "eval" | "exec" => {
            let found = FRAME_FUNCTIONS.iter().find(|(name, _)| *name == n.name);
            found.map(|(_, f)| *f)
        }
        _ => None,
    }
}

/// The frame that called the built-in, or a clear error when it was called indirectly.
fn caller<'f>(frame: Option<&'f Frame>, name: &str) -> PyResult<&'f Frame> {
    match frame {
        Some(f) => Ok(f),
        None => raise!(
            RuntimeError,
            "minivm supports {name}() only when called directly from Python code"
        ),
    }
}

/// `globals()`: the calling module's namespace itself (writes to it define globals).
fn globals(_: &mut Interp, frame: Option<&Frame>, args: Args<'_>) -> PyResult<Value> {
    args.none("globals")?;
    Ok(Value::Dict(caller(frame, "globals")?.globals.clone()))
}

/// `locals()`: the namespace at module level and in a class body; in a function, the frame's
/// dict of its bound local variables, then the captured ones: one dict per call of the function,
/// brought up to date at each `locals()` (CPython 3.11's `f_locals`), so that what `exec` stored
/// in it stays there.
fn locals(_: &mut Interp, frame: Option<&Frame>, args: Args<'_>) -> PyResult<Value> {
    args.none("locals")?;
    let f = caller(frame, "locals")?;
    let d = frame_locals(f);
    keep_locals(f, &d);
    Ok(d)
}

/// A function's code (not a module's or a class body's): its variables are slots, and
/// `frame.namespace`, if any, is only its `locals()` dict.
pub(crate) fn is_function(f: &Frame) -> bool {
    let code = &f.code.obj;
    !code.flags.class_body && code.name != "<module>"
}

thread_local! {
    /// A function frame's new `locals()` dict, with the frame's address, until the call that
    /// made it returns to the dispatch loop, which stores it in the frame ([`adopt_locals`]):
    /// these built-ins only read their caller's frame.
    static KEPT: std::cell::Cell<Option<(usize, Ref<Dict>)>> = const { std::cell::Cell::new(None) };
}

/// Have the calling function frame `f` keep `d`, the `locals()` dict made for it, so that the
/// next `locals()`, `exec` or `eval` in it sees the same dict.
pub(crate) fn keep_locals(f: &Frame, d: &Value) {
    if let (None, Value::Dict(d)) = (&f.namespace, d) {
        if is_function(f) {
            let addr = f as *const Frame as usize;
            KEPT.with(|k| k.set(Some((addr, d.clone()))));
        }
    }
}

/// After a call of one of these built-ins from `frame`: store the `locals()` dict it made.
pub fn adopt_locals(frame: &mut Frame) {
    if let Some((addr, d)) = KEPT.with(|k| k.take()) {
        if addr == frame as *const Frame as usize {
            frame.namespace = Some(d);
            frame.set_extras();
        }
    }
}

/// After a call of one of these built-ins where the frame cannot be changed: drop the dict.
pub fn forget_locals() {
    KEPT.with(|k| k.take());
}

pub(crate) fn frame_locals(f: &Frame) -> Value {
    if let Some(m) = &f.mapping {
        return m.clone();
    }
    let function = is_function(f);
    if let Some(ns) = &f.namespace {
        if !function {
            return Value::Dict(ns.clone());
        }
    }
    let code = &f.code.obj;
    if !function {
        return Value::Dict(f.globals.clone());
    }
    let d = match &f.namespace {
        Some(d) => d.clone(),
        None => Ref::new(Dict::new()),
    };
    let cell = |i: usize| f.cells.get(i).map(|c| c.get());
    // CPython's order: the local slots (a captured parameter in its slot), the other cell
    // variables, then the free variables.
    for (slot, name) in code.varnames.iter().enumerate() {
        let captured = code.cell2arg.iter().position(|a| *a == Some(slot as u32));
        let value = match captured {
            Some(c) => cell(c),
            None => f.locals.get(slot).cloned(),
        };
        put_bound(&d, name, value);
    }
    for (c, name) in code.cellvars.iter().enumerate() {
        if !matches!(code.cell2arg.get(c), Some(Some(_))) {
            put_bound(&d, name, cell(c));
        }
    }
    for (j, name) in code.freevars.iter().enumerate() {
        put_bound(&d, name, cell(code.cellvars.len() + j));
    }
    Value::Dict(d)
}

/// Set `name` to the variable's value, or remove it when the variable is unbound (as CPython's
/// `PyFrame_FastToLocals` does).
fn put_bound(d: &Dict, name: &str, value: Option<Value>) {
    match value {
        None | Some(Value::Undefined) => {
            if d.get_str(name).is_some() {
                d.remove(&crate::object::HashKey::from_str(name));
            }
        }
        Some(v) => d.set_str(name, v),
    }
}

/// `vars()` is `locals()`; `vars(obj)` is `obj.__dict__` (for an instance, minivm's `__dict__` is
/// a copy: see docs/LANGUAGE.md).
fn vars(interp: &mut Interp, frame: Option<&Frame>, args: Args<'_>) -> PyResult<Value> {
    args.range("vars", 0, 1)?;
    let Some(obj) = args.get(0) else {
        let f = caller(frame, "vars")?;
        let d = frame_locals(f);
        keep_locals(f, &d);
        return Ok(d);
    };
    match interp.getattr(obj, "__dict__") {
        Err(e) if e.is(ExcKind::AttributeError) => {
            raise!(TypeError, "vars() argument must have __dict__ attribute")
        }
        other => other,
    }
}

/// `dir()`: the sorted names of the local scope; `dir(obj)`: `type(obj).__dir__(obj)` sorted when
/// a class defines `__dir__`, else the object's names, its class's and their bases'.
fn dir(interp: &mut Interp, frame: Option<&Frame>, args: Args<'_>) -> PyResult<Value> {
    args.range("dir", 0, 1)?;
    let Some(obj) = args.get(0) else {
        let Value::Dict(d) = frame_locals(caller(frame, "dir")?) else {
            raise!(SystemError, "dir(): locals are not a dict");
        };
        return sorted(interp, Value::list(d.keys()));
    };
    // A module's own `__dir__()` (PEP 562) gives its names. A built-in module lists its
    // mini-language part too (loaded on first use, `interp/modules.rs`).
    if let Value::Module(m) = obj {
        interp.load_mini_parts(m)?;
        if let Some(method) = m.dict.get_str("__dir__") {
            let names = interp.call(&method, &[])?;
            return sorted(interp, names);
        }
    }
    let cls = class_of(obj);
    if !cls.builtin {
        if let Some(method) = crate::interp::special::lookup_special_on(&cls, "__dir__") {
            let names = interp.call(&method, std::slice::from_ref(obj))?;
            return sorted(interp, names);
        }
    }
    let names = interp.dir_names(obj);
    Ok(Value::list(names.iter().map(|n| Value::str(n)).collect()))
}

/// The built-in `sorted(items)` (Python's ordering and its errors for mixed types).
fn sorted(interp: &mut Interp, items: Value) -> PyResult<Value> {
    let f = interp.vm.builtins.get_str("sorted");
    let f = f.ok_or_else(|| err!(SystemError, "builtins.sorted is missing"))?;
    interp.call(&f, &[items])
}
