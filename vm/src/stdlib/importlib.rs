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
