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
    pub code: crate::heap::SwapRef<Code>,
    pub globals: Ref<Dict>,
    /// Defaults of the last positional parameters (`defaults[i]`, `defaults.len()`) and of the
    /// keyword-only ones (`defaults.kw`): replaced as a whole by `f.__defaults__ = ...` and
    /// `f.__kwdefaults__ = ...` (`builtins::attrs::set_function_defaults`).
    pub defaults: crate::heap::SwapRef<Defaults>,
    /// One cell per entry of the code's `freevars`.
    pub closure: Box<[Ref<CellObj>]>,
    /// `__name__`, `__doc__` and other attributes set on the function.
    pub attrs: ObjCell<crate::object::AttrMap>,
    /// Where weak references to the function find it (`weakref.ref(f)`).
    pub weak: crate::heap::weak::WeakAnchor,
}

/// A function's default values. Reading them is the plain load of [`Function::defaults`]'s
/// pointer, as for its code; assigning `__defaults__` or `__kwdefaults__` points the field at a
/// new `Defaults` (the old one is kept alive, with the values it holds: `SwapRef::replace`).
pub struct Defaults {
    /// Defaults of the last positional parameters (at most as many as the code has).
    pub pos: Box<[Value]>,
    /// Defaults of keyword-only parameters, by name (`None`: CPython's `__kwdefaults__` is None).
    pub kw: Option<Ref<Dict>>,
}

impl Defaults {
    /// The defaults of a function that has neither kind: one object per thread, shared (so
    /// making such a function allocates nothing for them). Kept for the thread's life.
    pub fn none() -> Ref<Defaults> {
        thread_local! {
            static NONE: std::mem::ManuallyDrop<Ref<Defaults>> = {
                let d = Ref::new(Defaults { pos: Box::new([]), kw: None });
                Ref::immortalize(&d);
                std::mem::ManuallyDrop::new(d)
            };
        }
        NONE.with(|d| Ref::clone(d))
    }

    /// Defaults as given, the shared empty ones when there are none.
    pub fn new(pos: Box<[Value]>, kw: Option<Ref<Dict>>) -> Ref<Defaults> {
        if pos.is_empty() && kw.is_none() {
            return Defaults::none();
        }
        Ref::new(Defaults { pos, kw })
    }
}

impl std::ops::Deref for Defaults {
    type Target = [Value];
    #[inline(always)]
    fn deref(&self) -> &[Value] {
        &self.pos
    }
}

impl crate::heap::weak::WeakTarget for Function {
    fn weak_anchor(&self) -> &crate::heap::weak::WeakAnchor {
        &self.weak
    }
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
            Ref::immortalize(&f.code.get());
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
    /// What `type()` says it is when found on a built-in class (CPython's `types.*Type`).
    pub kind: NativeKind,
    /// The built-in type a special method of a data type belongs to (`float.__add__`): the
    /// special methods are shared by every type that has them, so the call checks here that the
    /// receiver is one of this type's values (`float.__repr__('x')` is a TypeError, not `'x'`).
    pub owner: Option<Ref<super::Class>>,
}

/// The kinds of function CPython's built-in types hold, which `type()` and `isinstance` tell
/// apart (class decorators that wrap "every method" test `types.MethodDescriptorType` and
/// leave slot wrappers alone).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NativeKind {
    /// `builtin_function_or_method`: module functions, and the class-level methods of
    /// built-in types (`dict.fromkeys`, `int.from_bytes`, `__new__`).
    Function,
    /// `method_descriptor`: a named method of a built-in type (`dict.get`, `list.append`).
    MethodDescriptor,
    /// `wrapper_descriptor`: a special method that fills a type slot (`dict.__setitem__`,
    /// `int.__add__`, `object.__init__`).
    SlotWrapper,
}

/// The special methods CPython's types implement through slots (their `wrapper_descriptor`s).
const SLOT_NAMES: &[&str] = &[
    "__abs__",
    "__add__",
    "__aiter__",
    "__and__",
    "__anext__",
    "__await__",
    "__bool__",
    "__call__",
    "__contains__",
    "__del__",
    "__delattr__",
    "__delete__",
    "__delitem__",
    "__divmod__",
    "__eq__",
    "__float__",
    "__floordiv__",
    "__ge__",
    "__get__",
    "__getattribute__",
    "__getitem__",
    "__gt__",
    "__hash__",
    "__iadd__",
    "__iand__",
    "__ifloordiv__",
    "__ilshift__",
    "__imatmul__",
    "__imod__",
    "__imul__",
    "__index__",
    "__init__",
    "__int__",
    "__invert__",
    "__ior__",
    "__ipow__",
    "__irshift__",
    "__isub__",
    "__iter__",
    "__itruediv__",
    "__ixor__",
    "__le__",
    "__len__",
    "__lshift__",
    "__lt__",
    "__matmul__",
    "__mod__",
    "__mul__",
    "__ne__",
    "__neg__",
    "__next__",
    "__or__",
    "__pos__",
    "__pow__",
    "__radd__",
    "__rand__",
    "__rdivmod__",
    "__repr__",
    "__rfloordiv__",
    "__rlshift__",
    "__rmatmul__",
    "__rmod__",
    "__rmul__",
    "__ror__",
    "__rpow__",
    "__rrshift__",
    "__rshift__",
    "__rsub__",
    "__rtruediv__",
    "__rxor__",
    "__set__",
    "__setattr__",
    "__setitem__",
    "__str__",
    "__sub__",
    "__truediv__",
    "__xor__",
];

/// Methods of built-in types that CPython defines at class level (class and static methods):
/// read from the class they are `builtin_function_or_method`s.
const CLASS_LEVEL: &[&str] = &[
    "__new__",
    "__class_getitem__",
    "__init_subclass__",
    "__subclasshook__",
    "__getformat__",
    "fromkeys",
    "fromhex",
    "from_bytes",
    "maketrans",
    "fromtimestamp",
];

impl NativeKind {
    /// The kind of the method `name` of the built-in class `owner`. A few types define a
    /// slot method as an ordinary method too (CPython's METH_COEXIST, for speed), which makes
    /// it a method descriptor: `dict.__getitem__`, `list.__getitem__`, `dict.__contains__`,
    /// `set.__contains__`, `frozenset.__contains__`.
    pub fn of_method(owner: &str, name: &str) -> NativeKind {
        if CLASS_LEVEL.contains(&name) {
            return NativeKind::Function;
        }
        let coexists = matches!(
            (owner, name),
            ("dict" | "list", "__getitem__") | ("dict" | "set" | "frozenset", "__contains__")
        );
        if SLOT_NAMES.contains(&name) && !coexists {
            NativeKind::SlotWrapper
        } else {
            NativeKind::MethodDescriptor
        }
    }
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
            kind: NativeKind::Function,
            owner: None,
        }
    }

    /// A method in the body of a class written in Rust (see `binds`).
    pub fn native_method(name: &'static str, func: NativeFn) -> NativeFunction {
        NativeFunction {
            binds: true,
            kind: NativeKind::of_method("", name),
            ..NativeFunction::new(name, func)
        }
    }

    /// A method of a built-in data type (see `unwraps_receiver`).
    pub fn method(name: &'static str, func: NativeFn) -> NativeFunction {
        NativeFunction {
            unwraps_receiver: true,
            binds: true,
            kind: NativeKind::of_method("", name),
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

    /// The value (`LOAD_DEREF`): a shared read, and inline, so the dispatch loop's
    /// `LOAD_DEREF` makes no call for it (`#[inline]` alone left it a call, about 29 machine
    /// instructions a read: callgrind, spectral_norm).
    #[inline(always)]
    pub fn get(&self) -> Value {
        self.value.read().clone()
    }

    pub fn set(&self, v: Value) {
        *self.value.lock() = v;
    }

    /// `f` of the value, borrowed in place (no count changed): `f` must not run Python code,
    /// which could store into the cell while it is borrowed.
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(&Value) -> R) -> R {
        f(&self.value.read())
    }
}
