//! Stage 4 (VM), the interpreter.
//! Type subscripts (PEP 560, PEP 585): `list[int]` makes a `types.GenericAlias`, which prints
//! as written, calls its origin and stands for it as a base class; `C[x]` on a class defining
//! `__class_getitem__` (an implicit class method, as `typing.Generic` uses) calls it.

use std::sync::Arc;

use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{AttrMap, Class, Instance, NativeFn, TypeKind};
use crate::value::Value;
use crate::{err, PyResult};

impl Interp {
    /// `cls[key]`: `__class_getitem__`, or a generic alias of a built-in container type.
    pub(crate) fn class_getitem(&mut self, cls: &Ref<Class>, key: &Value) -> PyResult<Value> {
        if cls.lookup("__class_getitem__").is_some() {
            // Read as `cls.__class_getitem__` (an implicit classmethod, bound to `cls`).
            let f = self.getattr(&Value::Class(cls.clone()), "__class_getitem__")?;
            return self.call(&f, std::slice::from_ref(key));
        }
        if is_generic_type(cls) {
            return Ok(generic_alias(Value::Class(cls.clone()), key));
        }
        Err(err!(
            TypeError,
            "type '{}' is not subscriptable",
            cls.name()
        ))
    }
}

/// The built-in classes that take type parameters (`list[int]`, `dict[str, int]`, `type[C]`,
/// `collections.deque[int]`, `queue.SimpleQueue[int]`), and their subclasses.
fn is_generic_type(cls: &Ref<Class>) -> bool {
    let root = Class::layout_root(cls);
    (root.builtin
        && (matches!(
            root.kind,
            TypeKind::List
                | TypeKind::Dict
                | TypeKind::Tuple
                | TypeKind::Set
                | TypeKind::FrozenSet
                | TypeKind::Type
        ) || root.module.as_ref() == "collections"))
        || Class::mro(cls)
            .iter()
            .any(|c| c.builtin && NATIVE_GENERIC.contains(&(c.module.as_ref(), c.name().as_ref())))
}

/// Other classes minivm writes in Rust whose CPython classes define `__class_getitem__`
/// (PEP 585), by module and name. (Those written in Python define it themselves.)
const NATIVE_GENERIC: &[(&str, &str)] = &[
    ("builtins", "enumerate"),
    ("builtins", "BaseExceptionGroup"),
    ("_queue", "SimpleQueue"),
    ("weakref", "ReferenceType"),
    ("tempfile", "TemporaryDirectory"),
];

/// `types.GenericAlias(origin, args)`: `__origin__` and `__args__` (always a tuple).
pub fn generic_alias(origin: Value, args: &Value) -> Value {
    let inst = Instance::new(alias_class().clone());
    fill_alias(&inst, origin, args);
    Value::Instance(Ref::new(inst))
}

fn fill_alias(inst: &Instance, origin: Value, args: &Value) {
    let args = match args {
        Value::Tuple(_) => args.clone(),
        other => Value::tuple(vec![other.clone()]),
    };
    let params = Value::tuple(alias_parameters(&args));
    let mut d = inst.dict.lock();
    d.insert(Arc::from("__origin__"), origin);
    d.insert(Arc::from("__args__"), args);
    d.insert(Arc::from("__parameters__"), params);
}

/// The type variables among an alias's arguments and inside them (`dict[str, list[T]]` takes
/// `T`), first seen first, as CPython's `_Py_make_parameters`: an object whose class has
/// `__typing_subst__` (typing's `TypeVar`, `ParamSpec`, `TypeVarTuple`) is one, a class is none,
/// any other object brings the tuple in its `__parameters__`.
fn alias_parameters(args: &Value) -> Vec<Value> {
    let mut found: Vec<Value> = Vec::new();
    let Value::Tuple(args) = args else {
        return found;
    };
    for arg in args.items.iter() {
        let Value::Instance(i) = arg else { continue };
        if i.class.lookup("__typing_subst__").is_some() {
            if !found.iter().any(|p| p.is(arg)) {
                found.push(arg.clone());
            }
            continue;
        }
        let sub = i.dict.lock().get("__parameters__").cloned();
        if let Some(Value::Tuple(sub)) = sub.or_else(|| i.class.lookup("__parameters__")) {
            for p in sub.items.iter() {
                if !found.iter().any(|q| q.is(p)) {
                    found.push(p.clone());
                }
            }
        }
    }
    found
}

/// `GenericAlias(origin, args)`, as library code makes them (`__class_getitem__ =
/// classmethod(GenericAlias)` in `collections.abc`).
fn alias_init(_: &mut Interp, args: Args) -> PyResult<Value> {
    let (Some(Value::Instance(inst)), Some(origin), Some(params), 3) = (
        args.pos.first(),
        args.pos.get(1),
        args.pos.get(2),
        args.pos.len(),
    ) else {
        return Err(err!(TypeError, "GenericAlias expected 2 arguments"));
    };
    fill_alias(inst, origin.clone(), params);
    Ok(Value::None)
}

static ALIAS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();

/// Is this a `types.GenericAlias` (`list[int]`), or an instance of a subclass of it
/// (`collections.abc.Callable[[int], str]` is one)?
pub(crate) fn is_alias(inst: &Instance) -> bool {
    inst.class.get().is_subclass(alias_class())
}

/// The class `types.GenericAlias`.
fn alias_class() -> &'static Ref<Class> {
    ALIAS.get_or_init(|| {
        let mut methods = AttrMap::default();
        let table: &[(&'static str, NativeFn)] = &[
            ("__init__", alias_init),
            ("__call__", alias_call),
            ("__getitem__", alias_getitem),
            ("__repr__", alias_repr),
            ("__mro_entries__", alias_mro_entries),
            ("__eq__", alias_eq),
            ("__hash__", alias_hash),
        ];
        for (name, f) in table {
            methods.insert(Arc::from(*name), crate::builtins::native(name, *f));
        }
        Ref::new(Class::new_native("GenericAlias", "types", methods))
    })
}

/// (`__origin__`, `__args__`) of a generic alias.
fn parts(args: &Args) -> PyResult<(Value, Value)> {
    let Some(Value::Instance(inst)) = args.pos.first() else {
        return Err(err!(
            TypeError,
            "descriptor requires a 'types.GenericAlias' object"
        ));
    };
    let d = inst.dict.lock();
    Ok((
        d.get("__origin__").cloned().unwrap_or_default(),
        d.get("__args__").cloned().unwrap_or_default(),
    ))
}

fn alias_call(interp: &mut Interp, args: Args) -> PyResult<Value> {
    let (origin, _) = parts(&args)?;
    interp.call_kw(&origin, &args.pos[1..], args.kw)
}

/// `list[T][int]`: the type variables substituted (vm/lib/_union.mini, `alias_getitem`).
fn alias_getitem(interp: &mut Interp, args: Args) -> PyResult<Value> {
    let (Some(alias), Some(params), 2) = (args.pos.first(), args.pos.get(1), args.pos.len()) else {
        return Err(err!(TypeError, "__getitem__ expected 1 argument"));
    };
    let m = interp.import_module("_union")?;
    let f = interp.getattr(&m, "alias_getitem")?;
    interp.call(&f, &[alias.clone(), params.clone()])
}

fn alias_mro_entries(_: &mut Interp, args: Args) -> PyResult<Value> {
    let (origin, _) = parts(&args)?;
    Ok(Value::tuple(vec![origin]))
}

fn alias_eq(interp: &mut Interp, args: Args) -> PyResult<Value> {
    let (origin, items) = parts(&args)?;
    let Some(other @ Value::Instance(o)) = args.pos.get(1) else {
        return Ok(Value::NotImplemented);
    };
    if !Ref::ptr_eq(&o.class.get(), alias_class()) {
        return Ok(Value::NotImplemented);
    }
    let (o_origin, o_items) = parts(&Args {
        pos: std::slice::from_ref(other),
        kw: &[],
    })?;
    Ok(Value::Bool(
        interp.eq(&origin, &o_origin)? && interp.eq(&items, &o_items)?,
    ))
}

fn alias_hash(interp: &mut Interp, args: Args) -> PyResult<Value> {
    let (origin, items) = parts(&args)?;
    let h = crate::builtins::functions::py_hash(interp, &Value::tuple(vec![origin, items]))?;
    Ok(Value::Int(h))
}

/// `list[int]`, `dict[str, list[int]]`, `tuple[()]`, `tuple[int, ...]`.
fn alias_repr(interp: &mut Interp, args: Args) -> PyResult<Value> {
    let (origin, items) = parts(&args)?;
    let mut out = type_repr(interp, &origin)?;
    out.push('[');
    match &items {
        Value::Tuple(t) if t.items.is_empty() => out.push_str("()"),
        Value::Tuple(t) => {
            for (i, item) in t.items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&type_repr(interp, item)?);
            }
        }
        other => out.push_str(&type_repr(interp, other)?),
    }
    out.push(']');
    Ok(Value::string(out))
}

/// How a type parameter prints: a class by its (module-qualified) name, `...` as is, lists of
/// parameters (`Callable[[int], str]`) bracketed, anything else by its repr.
pub fn type_repr(interp: &mut Interp, v: &Value) -> PyResult<String> {
    Ok(match v {
        Value::Class(c) if c.module.as_ref() == "builtins" => c.qualname().to_string(),
        Value::Class(c) => format!("{}.{}", c.module, c.qualname()),
        Value::Ellipsis => "...".to_string(),
        Value::List(l) => {
            let mut parts = Vec::new();
            for item in l.snapshot() {
                parts.push(type_repr(interp, &item)?);
            }
            format!("[{}]", parts.join(", "))
        }
        other => interp.repr(other)?,
    })
}
