//! The `_importlib` module (stage 4, the VM's standard library) under the `importlib` package
//! (`vm/lib/importlib/`): `import_module(name)`, the import statement as a function, for library
//! code that learns module names at run time (`pickle` finding a class by its module and
//! qualified name); `_find` and `_source`, the import system's search and reading of a module
//! without running it, for `importlib.util.find_spec` and `importlib.reload`.

use crate::builtins::args::Sig;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{type_name, Module};
use crate::stdlib::{func, make_module};
use crate::value::Value;
use crate::{err, PyResult};

pub fn module() -> Ref<Module> {
    make_module(
        "_importlib",
        vec![
            ("import_module", func("import_module", import_module)),
            ("_find", func("_find", find)),
            ("_source", func("_source", source)),
        ],
    )
}

/// `_find(leaf, dirs)`: where the import system would find module `leaf` in the directories
/// `dirs` (a package's `__path__`), or with `dirs` None as a top-level module (built in, then
/// `sys.path`, then the library): `(origin, package directory or None)`, `('built-in', None)`,
/// `(None, [directories])` for a namespace package, or None when there is no such module.
fn find(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [leaf, dirs] = Sig::py("_find", &["leaf", "dirs"], 2).bind(&args)?;
    let Some(Value::Str(leaf)) = leaf else {
        return Err(err!(TypeError, "_find() takes a module name"));
    };
    let dirs = match dirs {
        None | Some(Value::None) => None,
        Some(v) => {
            let items = interp.collect_iter(v)?;
            Some(
                items
                    .iter()
                    .filter_map(|d| d.as_str().map(str::to_string))
                    .collect(),
            )
        }
    };
    use crate::interp::modules::Located;
    Ok(match interp.locate_module(leaf.as_str(), dirs) {
        None => Value::None,
        Some(Located::Source(origin, dir)) => Value::tuple(vec![
            Value::str(&origin),
            dir.map_or(Value::None, |d| Value::str(&d)),
        ]),
        Some(Located::Namespace(portions)) => Value::tuple(vec![
            Value::None,
            Value::list(portions.iter().map(|p| Value::str(p)).collect()),
        ]),
    })
}

/// `_source(origin)`: the text of the module found at `origin` (a file, or a module of the
/// embedded library), decoded as `import` decodes it.
fn source(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [origin] = Sig::py("_source", &["origin"], 1).bind(&args)?;
    let Some(Value::Str(origin)) = origin else {
        return Err(err!(TypeError, "_source() takes a path"));
    };
    crate::interp::modules::module_source(origin.as_str()).map(|s| Value::str(&s))
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
