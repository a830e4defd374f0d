//! `exit`, `quit` and `help`: objects CPython's `site` module adds to the builtins (builtins stage).
//!
//! `exit` and `quit` are instances of `_sitebuiltins.Quitter`: its repr tells the user how to
//! leave (that is what a bare `exit` echoes at the prompt), and calling it raises
//! `SystemExit(code)`, which ends a script or the REPL like `sys.exit(code)`. `help` is a
//! `_sitebuiltins._Helper`, whose call prints pydoc's page for a function (`vm/lib/_sitehelp.mini`).

use crate::error::PyErr;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{Class, ExcKind, Instance};
use crate::stdlib::{native_class, this};
use crate::value::Value;
use crate::{raise, PyResult};

/// The Rust data of a Quitter: the name it is bound to in builtins.
struct Quitter {
    name: &'static str,
}

fn quitter_class() -> Ref<Class> {
    static CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();
    CLASS
        .get_or_init(|| {
            native_class(
                "Quitter",
                "_sitebuiltins",
                &[("__repr__", quitter_repr), ("__call__", quitter_call)],
            )
        })
        .clone()
}

/// The `exit` or `quit` object.
pub fn quitter(name: &'static str) -> Value {
    let inst = Instance::new(quitter_class());
    inst.set_native(Box::new(Quitter { name }));
    Value::Instance(Ref::new(inst))
}

fn quitter_repr(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, q) = this::<Quitter>(&args, "Quitter")?;
    Ok(Value::str(&format!(
        "Use {}() or Ctrl-D (i.e. EOF) to exit",
        q.name
    )))
}

/// `exit(code=None)`: CPython's `Quitter.__call__` raises `SystemExit(code)`.
fn quitter_call(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    this::<Quitter>(&args, "Quitter")?;
    // CPython's messages for a Python-level `def __call__(self, code=None)`.
    if let Some((k, _)) = args.kw.iter().find(|(k, _)| &**k != "code") {
        raise!(
            TypeError,
            "Quitter.__call__() got an unexpected keyword argument '{k}'"
        );
    }
    if args.pos.len() > 2 {
        raise!(
            TypeError,
            "Quitter.__call__() takes from 1 to 2 positional arguments but {} were given",
            args.pos.len()
        );
    }
    let code = match (args.pos.get(1), args.kwarg("code")) {
        (Some(_), Some(_)) => raise!(
            TypeError,
            "Quitter.__call__() got multiple values for argument 'code'"
        ),
        (Some(v), None) | (None, Some(v)) => v.clone(),
        (None, None) => Value::None,
    };
    Err(PyErr::with_args(ExcKind::SystemExit, vec![code]))
}

fn helper_class() -> Ref<Class> {
    static CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();
    CLASS
        .get_or_init(|| {
            native_class(
                "_Helper",
                "_sitebuiltins",
                &[("__repr__", helper_repr), ("__call__", helper_call)],
            )
        })
        .clone()
}

/// The `help` object.
pub fn helper() -> Value {
    Value::Instance(Ref::new(Instance::new(helper_class())))
}

fn helper_repr(_: &mut Interp, _: Args<'_>) -> PyResult<Value> {
    Ok(Value::str(
        "Type help() for interactive help, or help(object) for help about object.",
    ))
}

/// `help(object)`: `_sitehelp.help(object)`, loaded at the first call.
fn helper_call(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [_, obj] = args.pos else {
        raise!(
            NotImplementedError,
            "minivm has no interactive help: call help(object)"
        );
    };
    let module = interp.import_module("_sitehelp")?;
    let f = interp.getattr(&module, "help")?;
    interp.call(&f, std::slice::from_ref(obj))?;
    Ok(Value::None)
}
