//! The `importlib` module (stage 4, the VM's standard library): `import_module(name)`, the
//! import statement as a function, for library code that learns module names at run time
//! (`pickle` finding a class by its module and qualified name).

use crate::builtins::args::Sig;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{type_name, Module};
use crate::stdlib::{func, make_module};
use crate::value::Value;
use crate::{err, PyResult};

pub fn module() -> Ref<Module> {
    make_module(
        "importlib",
        vec![("import_module", func("import_module", import_module))],
    )
}

/// `importlib.import_module(name, package=None)`: the module `name` (dotted names import
/// their packages first), imported if it was not yet. Relative names are not supported.
fn import_module(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [name, package] = Sig::py("import_module", &["name", "package"], 1).bind(&args)?;
    let name = match name {
        Some(Value::Str(s)) => s.as_str().to_string(),
        Some(other) => {
            return Err(err!(
                AttributeError,
                "'{}' object has no attribute 'startswith'",
                type_name(other)
            ))
        }
        None => return Err(err!(SystemError, "import_module(): name lost")),
    };
    if name.starts_with('.') {
        let _ = package;
        return Err(err!(
            NotImplementedError,
            "minivm's importlib.import_module() does not support relative names"
        ));
    }
    interp.import_module(&name)
}

/// The built-in `__import__(name, globals=None, locals=None, fromlist=(), level=0)`: what the
/// import statement does. Without a `fromlist` the top-level package comes back (`__import__(
/// 'os.path')` is `os`); with one, the module itself, its listed submodules imported.
pub fn dunder_import(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [name, _globals, _locals, fromlist, level] = Sig::py(
        "__import__",
        &["name", "globals", "locals", "fromlist", "level"],
        1,
    )
    .bind(&args)?;
    let name = match name {
        Some(Value::Str(s)) => s.as_str().to_string(),
        Some(other) => {
            return Err(err!(
                TypeError,
                "module name must be str, not {}",
                type_name(other)
            ))
        }
        None => return Err(err!(SystemError, "__import__(): name lost")),
    };
    match level {
        None | Some(Value::Int(0)) => {}
        Some(Value::Int(n)) if *n < 0 => {
            return Err(err!(ValueError, "level must be >= 0"));
        }
        Some(_) => {
            return Err(err!(
                NotImplementedError,
                "minivm's __import__() does not support relative imports (level > 0)"
            ))
        }
    }
    if name.is_empty() {
        return Err(err!(ValueError, "Empty module name"));
    }
    let module = interp.import_module(&name)?;
    let wanted = match fromlist {
        None | Some(Value::None) => Vec::new(),
        Some(v) => interp.collect_iter(v)?,
    };
    if wanted.is_empty() {
        let top = name.split('.').next().unwrap_or(&name);
        return interp.import_module(top);
    }
    if let Value::Module(m) = &module {
        for item in &wanted {
            if let Value::Str(s) = item {
                let s = s.as_str();
                if s != "*" && m.dict.get_str(s).is_none() {
                    // A submodule named in the list is imported; a missing name is not an error.
                    match interp.import_module(&format!("{name}.{s}")) {
                        Ok(_) => {}
                        Err(e) if e.is(crate::object::ExcKind::ModuleNotFoundError) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }
    Ok(module)
}
