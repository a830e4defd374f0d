//! Stage 4 (VM), heap objects.
//! Callables: Python functions (code + globals + defaults + closure), native functions, bound methods, cells.

use crate::heap::{ObjCell, Ref};

use crate::interp::code::Code;
use crate::interp::{Args, Interp};
use crate::object::collections::Dict;
use crate::value::Value;
use crate::PyResult;

/// A function defined in Python: `def` or `lambda`.
pub struct Function {
    pub code: Ref<Code>,
    pub globals: Ref<Dict>,
    /// Defaults of the last positional parameters.
    pub defaults: Box<[Value]>,
    /// Defaults of keyword-only parameters, by name.
    pub kwdefaults: Option<Ref<Dict>>,
    /// One cell per entry of the code's `freevars`.
    pub closure: Box<[Ref<CellObj>]>,
    /// `__name__`, `__doc__` and other attributes set on the function.
    pub attrs: ObjCell<crate::object::AttrMap>,
}

impl Function {
    /// Free-threaded model (`--gil off`): a function defined at the top of a module or of a
    /// top-level class body is shared by every thread that calls it, and each call would add to
    /// and take from the counts of the function, its code and its globals: atomic operations on
    /// the same cache lines from every core. As CPython 3.13t does for such functions, make the
    /// three immortal (`heap::Ref::immortalize`; nothing in the GIL model). Nested functions,
    /// lambdas and comprehensions (`<` in the qualified name: `f.<locals>.g`) stay counted:
    /// they are made again and again and must be freed.
    pub fn share_if_top_level(f: &Ref<Function>) {
        if crate::heap::model() == crate::heap::Model::FreeThreaded
            && !f.code.qualname.contains('<')
        {
            Ref::immortalize(f);
            Ref::immortalize(&f.code);
            Ref::immortalize(&f.globals);
        }
    }
}

/// The signature of every function written in Rust: builtins, methods of built-in types, modules.
pub type NativeFn = fn(&mut Interp, Args<'_>) -> PyResult<Value>;

pub struct NativeFunction {
    pub name: &'static str,
    pub func: NativeFn,
    /// A method of a built-in data type (`list.append`): called with an instance of a subclass
    /// (`class L(list)`) as its receiver, it works on the built-in value inside the instance.
    pub unwraps_receiver: bool,
    /// Named as one of the built-ins that read the frame calling them (`globals`, `locals`,
    /// `vars`, `dir`, `eval`, `exec`, `sys._getframe`; `builtins::frame_function` gives their
    /// frame-reading versions). Worked out once here, so that every other native call skips
    /// comparing its name with those.
    pub reads_frame: bool,
    /// Defined in the body of a class written in Rust (`re.Match.group`): like CPython's method
    /// descriptors it binds its receiver wherever it is found, so an attribute lookup through a
    /// subclass need not find which class of the MRO holds it.
    pub binds: bool,
}

impl NativeFunction {
    pub fn new(name: &'static str, func: NativeFn) -> NativeFunction {
        NativeFunction {
            name,
            func,
            unwraps_receiver: false,
            reads_frame: matches!(
                name,
                "_getframe" | "globals" | "locals" | "vars" | "dir" | "eval" | "exec"
            ),
            binds: false,
        }
    }

    /// A method in the body of a class written in Rust (see `binds`).
    pub fn native_method(name: &'static str, func: NativeFn) -> NativeFunction {
        NativeFunction {
            binds: true,
            ..NativeFunction::new(name, func)
        }
    }

    /// A method of a built-in data type (see `unwraps_receiver`).
    pub fn method(name: &'static str, func: NativeFn) -> NativeFunction {
        NativeFunction {
            unwraps_receiver: true,
            binds: true,
            ..NativeFunction::new(name, func)
        }
    }
}

/// `obj.method` taken as a value: the function with its `self`.
pub struct BoundMethod {
    pub receiver: Value,
    pub func: Value,
}

/// A variable shared between a function and the closures defined in it.
pub struct CellObj {
    pub value: ObjCell<Value>,
}

impl CellObj {
    pub fn new(v: Value) -> CellObj {
        CellObj {
            value: ObjCell::new(v),
        }
    }

    pub fn get(&self) -> Value {
        self.value.lock().clone()
    }

    pub fn set(&self, v: Value) {
        *self.value.lock() = v;
    }
}
