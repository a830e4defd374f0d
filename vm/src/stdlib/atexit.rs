//! The `atexit` module (stage: standard library): functions registered to run when the program
//! ends. As in CPython they run after the main module has finished (normally, by `sys.exit` or
//! after an uncaught exception's traceback) and the non-daemon threads have been joined, last
//! registered first. An exception in one (even `SystemExit`) is reported on stderr as
//! "Exception ignored in atexit callback: <repr>" with its traceback, and the others still run.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::builtins::args::{Sig, Style};
use crate::builtins::Methods;
use crate::heap::{Global, Ref};
use crate::interp::{Args, Interp};
use crate::object::Module;
use crate::stdlib::module_from_fns;
use crate::value::Value;
use crate::{err, PyResult};

/// One registered call: the function, its positional and its keyword arguments.
struct Callback {
    func: Value,
    pos: Vec<Value>,
    kw: Vec<(Arc<str>, Value)>,
}

/// The registered calls of this process, in registration order; `None` where one was
/// unregistered (as CPython's array, so that the exit loop's indexes stay valid).
static CALLBACKS: Global<Mutex<Vec<Option<Callback>>>> = Global::new();

fn callbacks() -> &'static Mutex<Vec<Option<Callback>>> {
    CALLBACKS.get_or_init(Default::default)
}

const FUNCS: Methods = &[
    ("register", register),
    ("unregister", unregister),
    ("_run_exitfuncs", run_exitfuncs),
    ("_clear", clear),
    ("_ncallbacks", ncallbacks),
];

pub fn module() -> Ref<Module> {
    module_from_fns("atexit", FUNCS, Vec::new())
}

/// `atexit.register(func, *args, **kwargs)`: returns `func`, so it works as a decorator.
fn register(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let Some((func, rest)) = args.pos.split_first() else {
        return Err(err!(
            TypeError,
            "register() takes at least 1 argument (0 given)"
        ));
    };
    if !crate::builtins::functions::is_callable(interp, func) {
        return Err(err!(TypeError, "the first argument must be callable"));
    }
    callbacks().lock().push(Some(Callback {
        func: func.clone(),
        pos: rest.to_vec(),
        kw: args.kw.to_vec(),
    }));
    Ok(func.clone())
}

/// `atexit.unregister(func)`: forget every registration of `func` (compared with `==`).
fn unregister(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [func] = Sig::pos("atexit.unregister", Style::One, &["func"], 1).bind::<1>(&args)?;
    let func = func.cloned().unwrap_or(Value::None);
    // `==` may run program code, which may register more: compare outside the lock.
    let registered: Vec<Option<Value>> = callbacks()
        .lock()
        .iter()
        .map(|c| c.as_ref().map(|c| c.func.clone()))
        .collect();
    for (i, f) in registered.iter().enumerate() {
        let Some(f) = f else { continue };
        if interp.eq(f, &func)? {
            if let Some(slot) = callbacks().lock().get_mut(i) {
                *slot = None;
            }
        }
    }
    Ok(Value::None)
}

fn run_exitfuncs(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("atexit._run_exitfuncs", Style::NoArgs, &[], 0).check(&args)?;
    run_callbacks(interp);
    Ok(Value::None)
}

fn clear(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("atexit._clear", Style::NoArgs, &[], 0).check(&args)?;
    callbacks().lock().clear();
    Ok(Value::None)
}

fn ncallbacks(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("atexit._ncallbacks", Style::NoArgs, &[], 0).check(&args)?;
    Ok(Value::Int(
        callbacks().lock().iter().flatten().count() as i64
    ))
}

/// Run (and forget) every registered call, last first. Called by `run_main` at exit. As in
/// CPython, a callback may unregister ones not run yet; ones registered meanwhile never run.
pub fn run_callbacks(interp: &mut Interp) {
    let n = callbacks().lock().len();
    for i in (0..n).rev() {
        // One at a time, without the lock: a callback may register or unregister others.
        let Some(cb) = callbacks().lock().get_mut(i).and_then(Option::take) else {
            continue;
        };
        if let Err(e) = interp.call_kw(&cb.func, &cb.pos, &cb.kw) {
            // Through `sys.unraisablehook`, as CPython 3.11's atexit reports it.
            let msg = "Exception ignored in atexit callback";
            interp.report_unraisable_msg(&e, Some(msg), &cb.func);
        }
    }
    callbacks().lock().clear();
}
