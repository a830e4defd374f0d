//! `import`: built-in modules, and `.mini` files beside the running script.

use std::sync::Arc;

use crate::heap::Ref;
use crate::interp::run::Exit;
use crate::interp::Interp;
use crate::object::{Dict, Function, Module};
use crate::value::Value;
use crate::{err, PyErr, PyResult};

impl Interp {
    /// `import name`: a module already loaded, a built-in one, or `name.mini` next to the main script.
    pub fn import_module(&mut self, name: &str) -> PyResult<Value> {
        if let Some(m) = self.vm.find_module(name) {
            return Ok(Value::Module(m));
        }
        if let Some(m) = crate::stdlib::import_module(name) {
            if name == "sys" {
                m.dict.set_str("argv", crate::builtins::sys_argv(self));
            }
            self.vm.modules.lock().push((Arc::from(name), m.clone()));
            return Ok(Value::Module(m));
        }
        let path = self.vm.config.script_dir.join(format!("{name}.mini"));
        let Ok(src) = std::fs::read_to_string(&path) else {
            return Err(err!(ModuleNotFoundError, "No module named '{name}'"));
        };
        let filename = path.display().to_string();
        let code = minivm_compiler::compile_source(&src, &filename, minivm_compiler::Mode::File)
            .map_err(|e| {
                let msg = e.render(&filename, &src);
                PyErr::new(
                    crate::object::ExcKind::SyntaxError,
                    msg.trim_end().to_string(),
                )
            })?;
        self.vm.add_source(&filename, &src);
        let dict = Ref::new(Dict::new());
        dict.set_str("__name__", Value::str(name));
        let module = Ref::new(Module {
            name: Arc::from(name),
            dict: dict.clone(),
        });
        // Registered before running, as CPython does, so circular imports see the partial module.
        self.vm
            .modules
            .lock()
            .push((Arc::from(name), module.clone()));
        let func = Ref::new(Function {
            code: crate::interp::code::Code::load(code),
            globals: dict,
            defaults: Box::new([]),
            kwdefaults: None,
            closure: Box::new([]),
            attrs: crate::heap::ObjCell::new(Default::default()),
        });
        let frame = self.new_frame(&func, &[], &[])?;
        let r = self.run_frame(frame);
        if let Err(e) = r {
            self.vm.modules.lock().retain(|(n, _)| n.as_ref() != name);
            return Err(e);
        }
        if let Ok(Exit::Yield(..)) = r {
            return Err(err!(SystemError, "module body yielded"));
        }
        Ok(Value::Module(module))
    }

    /// `from module import name`
    pub fn import_from(&mut self, module: &Value, name: &str) -> PyResult<Value> {
        let Value::Module(m) = module else {
            return self.getattr(module, name);
        };
        match m.dict.get_str(name) {
            Some(v) => Ok(v),
            None => Err(err!(
                ImportError,
                "cannot import name '{name}' from '{}'",
                m.name
            )),
        }
    }
}
