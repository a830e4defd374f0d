//! The `types` and `inspect` modules (stage: standard library), reduced to what coroutine code
//! asks: the names of the built-in types (`types.CoroutineType`, ...) and the predicates that
//! tell coroutine functions, coroutines, awaitables and async generators apart
//! (`inspect.iscoroutinefunction`, ...). Other names of CPython's modules are missing (an
//! `AttributeError`), not approximated. `types.coroutine` marks a generator function so that
//! its generators may be awaited.

use crate::builtins::args::Sig;
use crate::builtins::Methods;
use crate::heap::{ObjCell, Ref};
use crate::interp::code::Code;
use crate::interp::{Args, Interp};
use crate::object::{class_of, types, Function, GenKind, Module};
use crate::stdlib::module_from_fns;
use crate::value::Value;
use crate::PyResult;

const INSPECT_FUNCS: Methods = &[
    ("iscoroutinefunction", iscoroutinefunction),
    ("isasyncgenfunction", isasyncgenfunction),
    ("isgeneratorfunction", isgeneratorfunction),
    ("iscoroutine", iscoroutine),
    ("isasyncgen", isasyncgen),
    ("isgenerator", isgenerator),
    ("isawaitable", isawaitable),
    ("isfunction", isfunction),
    ("isclass", isclass),
    ("ismethod", ismethod),
    ("__getattr__", inspect_getattr),
];

/// The names of `inspect` written in the mini language (`vm/lib/_inspectinfo.mini`), loaded on
/// first use and then kept in the module.
const INSPECT_MINI_NAMES: &[&str] = &[
    "signature",
    "Signature",
    "Parameter",
    "BoundArguments",
    "getfullargspec",
    "FullArgSpec",
    "getmembers",
    "getdoc",
    "cleandoc",
    "isabstract",
    "getmodule",
    "currentframe",
    "getcomments",
    "indentsize",
    "getmro",
    "getclasstree",
    "getframeinfo",
    "getouterframes",
    "getinnerframes",
    "stack",
    "trace",
    "Traceback",
    "FrameInfo",
    "getgeneratorstate",
    "getcoroutinestate",
    "getgeneratorlocals",
    "GEN_CREATED",
    "GEN_RUNNING",
    "GEN_SUSPENDED",
    "GEN_CLOSED",
    "CORO_CREATED",
    "CORO_RUNNING",
    "CORO_SUSPENDED",
    "CORO_CLOSED",
    "formatannotation",
    "ismodule",
    "isbuiltin",
    "isroutine",
    "ismethoddescriptor",
    "ismethodwrapper",
    "isdatadescriptor",
    "iscode",
    "isframe",
    "istraceback",
    "unwrap",
    "getfile",
    "getsourcefile",
    "findsource",
    "getsourcelines",
    "getsource",
    "CO_OPTIMIZED",
    "CO_NEWLOCALS",
    "CO_VARARGS",
    "CO_VARKEYWORDS",
    "CO_NESTED",
    "CO_GENERATOR",
    "CO_NOFREE",
    "CO_COROUTINE",
    "CO_ITERABLE_COROUTINE",
    "CO_ASYNC_GENERATOR",
];

/// The module's `__getattr__`: a name of `_inspectinfo`, loaded the first time it is asked for.
fn inspect_getattr(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let name = match args.pos.first() {
        Some(Value::Str(s)) => s.as_str().to_string(),
        _ => return Err(crate::err!(TypeError, "attribute name must be string")),
    };
    if !INSPECT_MINI_NAMES.contains(&name.as_str()) {
        return Err(crate::err!(
            AttributeError,
            "module 'inspect' has no attribute '{name}'"
        ));
    }
    let info = interp.import_module("_inspectinfo")?;
    let v = interp.getattr(&info, &name)?;
    if let Some(m) = interp.vm.find_module("inspect") {
        m.dict.set_str(&name, v.clone());
    }
    Ok(v)
}

/// `types`: the classes of built-in objects, by CPython's names.
pub fn types_module() -> Ref<Module> {
    let t = types();
    let class = |c: &Ref<crate::object::Class>| Value::Class(c.clone());
    module_from_fns(
        "types",
        &[("coroutine", coroutine), ("__getattr__", types_getattr)],
        vec![
            ("FunctionType", class(&t.function)),
            ("LambdaType", class(&t.function)),
            ("GeneratorType", class(&t.generator)),
            ("CoroutineType", class(&t.coroutine)),
            ("AsyncGeneratorType", class(&t.async_generator)),
            ("MethodType", class(&t.method)),
            ("BuiltinFunctionType", class(&t.builtin_function)),
            ("BuiltinMethodType", class(&t.builtin_function)),
            ("MethodDescriptorType", class(&t.method_descriptor)),
            ("WrapperDescriptorType", class(&t.wrapper_descriptor)),
            ("MethodWrapperType", class(&t.method_wrapper)),
            (
                "ClassMethodDescriptorType",
                class(&t.classmethod_descriptor),
            ),
            ("GetSetDescriptorType", class(&t.getset_descriptor)),
            ("ModuleType", class(&t.module)),
        ],
    )
}

/// The module's `__getattr__`: the names written in the mini language, imported when first
/// asked for: `types.UnionType` (the class of `int | str`, `vm/lib/_union.mini`) and
/// `SimpleNamespace`, `NoneType`, `EllipsisType`, `NotImplementedType`, `GenericAlias`,
/// `MappingProxyType`, `CodeType`, `CellType`, `FrameType`, `TracebackType`,
/// `MemberDescriptorType`, `new_class`, `prepare_class`, `resolve_bases` (`vm/lib/_types.mini`).
fn types_getattr(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [name] = Sig::py("__getattr__", &["name"], 1).bind(&args)?;
    let lib = match name.and_then(|n| n.as_str()) {
        Some("UnionType") => "_union",
        Some(
            "SimpleNamespace"
            | "NoneType"
            | "EllipsisType"
            | "NotImplementedType"
            | "GenericAlias"
            | "MappingProxyType"
            | "CodeType"
            | "CellType"
            | "FrameType"
            | "TracebackType"
            | "MemberDescriptorType"
            | "new_class"
            | "prepare_class"
            | "resolve_bases",
        ) => "_types",
        Some(other) => {
            return Err(crate::err!(
                AttributeError,
                "module 'types' has no attribute '{other}'"
            ))
        }
        None => return Err(crate::err!(TypeError, "attribute name must be string")),
    };
    let m = interp.import_module(lib)?;
    interp.getattr(&m, name.and_then(|n| n.as_str()).unwrap_or_default())
}

/// `types.coroutine(func)`: a generator function comes back as a copy whose code carries the
/// iterable-coroutine flag (CPython sets it on the function itself), so `await gen()` works; any
/// other callable comes back unchanged (CPython wraps a plain function that returns a generator:
/// minivm does not, and awaiting that generator is a `TypeError`).
fn coroutine(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [func] = Sig::py("coroutine", &["func"], 1).bind(&args)?;
    let func = func.unwrap_or(&Value::None);
    match func {
        Value::Function(f)
            if code_flags(func).is_some_and(|c| plain_generator(c) && !c.iterable_coroutine) =>
        {
            let mut code = (*f.code.obj).clone();
            code.flags.iterable_coroutine = true;
            let attrs = f.attrs.lock().clone();
            Ok(Value::Function(Ref::new(Function {
                code: crate::heap::SwapRef::new(Code::load(std::sync::Arc::new(code))),
                globals: f.globals.clone(),
                defaults: crate::heap::SwapRef::new(f.defaults.get().clone()),
                closure: f.closure.clone(),
                attrs: ObjCell::new(attrs),
                weak: crate::heap::weak::WeakAnchor::new(),
            })))
        }
        v if crate::builtins::functions::is_callable(interp, v) => Ok(v.clone()),
        _ => Err(crate::err!(
            TypeError,
            "types.coroutine() expects a callable"
        )),
    }
}

/// A `def` with `yield` (not an `async def`).
fn plain_generator(f: minivm_compiler::bytecode::CodeFlags) -> bool {
    f.generator && !f.coroutine && !f.async_generator
}

/// `inspect`: the predicates about functions and coroutines.
pub fn inspect_module() -> Ref<Module> {
    module_from_fns("inspect", INSPECT_FUNCS, Vec::new())
}

/// The one argument of a predicate.
fn object<'a>(args: &Args<'a>, name: &str) -> PyResult<&'a Value> {
    let [obj] = Sig::py(name, &["object"], 1).bind(args)?;
    Ok(obj.unwrap_or(&Value::None))
}

/// The code flags of a function, seen through bound methods (as `inspect` unwraps them).
fn code_flags(v: &Value) -> Option<minivm_compiler::bytecode::CodeFlags> {
    match v {
        Value::Function(f) => Some(f.code.obj.flags),
        Value::BoundMethod(m) => code_flags(&m.func),
        _ => None,
    }
}

fn gen_kind(v: &Value) -> Option<GenKind> {
    match v {
        Value::Generator(g) => Some(g.kind),
        _ => None,
    }
}

fn iscoroutinefunction(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let f = code_flags(object(&args, "iscoroutinefunction")?);
    Ok(Value::Bool(f.is_some_and(|f| f.coroutine)))
}

fn isasyncgenfunction(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let f = code_flags(object(&args, "isasyncgenfunction")?);
    Ok(Value::Bool(f.is_some_and(|f| f.async_generator)))
}

fn isgeneratorfunction(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let f = code_flags(object(&args, "isgeneratorfunction")?);
    Ok(Value::Bool(f.is_some_and(plain_generator)))
}

fn iscoroutine(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let k = gen_kind(object(&args, "iscoroutine")?);
    Ok(Value::Bool(k == Some(GenKind::Coroutine)))
}

fn isasyncgen(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let k = gen_kind(object(&args, "isasyncgen")?);
    Ok(Value::Bool(k == Some(GenKind::AsyncGenerator)))
}

fn isgenerator(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let k = gen_kind(object(&args, "isgenerator")?);
    Ok(Value::Bool(k == Some(GenKind::Generator)))
}

/// A coroutine, or an object whose class defines `__await__`.
fn isawaitable(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let v = object(&args, "isawaitable")?;
    let awaitable = match v {
        Value::Generator(g) => {
            g.kind == GenKind::Coroutine || crate::interp::coro::iterable_coroutine(g)
        }
        other => class_of(other).lookup("__await__").is_some(),
    };
    Ok(Value::Bool(awaitable))
}

fn isfunction(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let v = object(&args, "isfunction")?;
    Ok(Value::Bool(matches!(v, Value::Function(_))))
}

fn isclass(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let v = object(&args, "isclass")?;
    Ok(Value::Bool(matches!(v, Value::Class(_))))
}

/// A method of Python code bound to an object (CPython's `types.MethodType`); a built-in's
/// bound method (`[].append`, `obj.__eq__` of `object`) is not one.
fn ismethod(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let v = object(&args, "ismethod")?;
    Ok(Value::Bool(
        matches!(v, Value::BoundMethod(m) if matches!(m.func, Value::Function(_))),
    ))
}
