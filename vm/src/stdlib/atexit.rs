//! The `atexit` module (stage: standard library): functions registered to run when the program
//! ends. As in CPython they run after the main module has finished (normally, by `sys.exit` or
//! by an uncaught exception) and the non-daemon threads have been joined, last registered first.
//! An exception in one is reported on stderr as "Exception ignored in atexit callback" and the
//! others still run.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::builtins::Methods;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{ExcKind, Module};
use crate::stdlib::module_from_fns;
use crate::value::Value;
use crate::{err, PyResult};

/// One registered call: the function, its positional and its keyword arguments.
type Callback = (Value, Vec<Value>, Vec<(Arc<str>, Value)>);

/// The registered calls of this process, in registration order.
static CALLBACKS: Mutex<Vec<Callback>> = Mutex::new(Vec::new());

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
    let callable = match func {
        Value::Function(_) | Value::Native(_) | Value::BoundMethod(_) | Value::Class(_) => true,
        Value::Instance(_) => interp.lookup_special(func, "__call__").is_some(),
        _ => false,
    };
    if !callable {
        return Err(err!(TypeError, "the first argument must be callable"));
    }
    CALLBACKS
        .lock()
        .push((func.clone(), rest.to_vec(), args.kw.to_vec()));
    Ok(func.clone())
}

/// `atexit.unregister(func)`: forget every registration of `func` (compared with `==`).
fn unregister(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    use crate::builtins::args::ArgsExt;
    let func = args.one("unregister")?;
    let registered: Vec<Value> = CALLBACKS.lock().iter().map(|c| c.0.clone()).collect();
    let mut keep = Vec::with_capacity(registered.len());
    for f in &registered {
        keep.push(!interp.eq(f, func)?);
    }
    let mut callbacks = CALLBACKS.lock();
    let mut i = 0;
    callbacks.retain(|_| {
        let k = keep.get(i).copied().unwrap_or(true);
        i += 1;
        k
    });
    Ok(Value::None)
}

fn run_exitfuncs(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    use crate::builtins::args::ArgsExt;
    args.none("_run_exitfuncs")?;
    run_callbacks(interp);
    Ok(Value::None)
}

fn clear(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    use crate::builtins::args::ArgsExt;
    args.none("_clear")?;
    CALLBACKS.lock().clear();
    Ok(Value::None)
}

fn ncallbacks(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    use crate::builtins::args::ArgsExt;
    args.none("_ncallbacks")?;
    Ok(Value::Int(CALLBACKS.lock().len() as i64))
}

/// Run (and forget) every registered call, last first. Called by `run_main` at exit.
pub fn run_callbacks(interp: &mut Interp) {
    loop {
        // One at a time, so a callback may register or unregister others.
        let Some((func, pos, kw)) = CALLBACKS.lock().pop() else {
            break;
        };
        if let Err(e) = interp.call_kw(&func, &pos, &kw) {
            if e.is(ExcKind::SystemExit) {
                continue;
            }
            let _ = interp.vm.stdout.lock().flush();
            let shown = interp.repr(&func).unwrap_or_else(|_| "<callable>".into());
            let text = interp.format_exception(&e);
            eprint!("Exception ignored in atexit callback: {shown}\n{text}");
        }
    }
}
