//! Stage 4 (VM), standard library.
//! `_collections._tuplegetter`: the descriptor a named tuple's field is (`P.x`), as CPython's.
//!
//! It is no `property` (`isinstance(P.x, property)` is False, so `doctest` and `inspect` do not
//! list the fields as members of the class), but its instances carry a property's payload: the
//! attribute paths of `interp/attr.rs` read and refuse to set it as they do a built-in
//! property, with no Python code run. Its getter is a bound native function that takes item
//! `index` of the tuple.

use std::sync::Arc;

use crate::builtins::args::ArgsExt;
use crate::heap::{Global, Ref};
use crate::interp::{Args, Interp};
use crate::object::{type_name, Class, Instance, NativeFunction, Payload};
use crate::stdlib::native_class;
use crate::value::Value;
use crate::{err, PyResult};

static TUPLEGETTER_CLASS: Global<Ref<Class>> = Global::new();

/// The `_tuplegetter` class.
pub fn tuplegetter_class() -> Ref<Class> {
    TUPLEGETTER_CLASS
        .get_or_init(|| {
            native_class(
                "_tuplegetter",
                "_collections",
                &[
                    ("__new__", tuplegetter_new),
                    ("__init__", tuplegetter_init),
                    ("__get__", tuplegetter_get),
                    ("__set__", tuplegetter_set),
                    ("__delete__", tuplegetter_delete),
                    ("__repr__", tuplegetter_repr),
                    ("__reduce__", tuplegetter_reduce),
                ],
            )
        })
        .clone()
}

/// `_tuplegetter(index, doc)`.
fn tuplegetter_new(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.no_kw("_tuplegetter")?;
    let [_, index, doc] = args.pos else {
        return Err(err!(
            TypeError,
            "_tuplegetter expected 2 arguments, got {}",
            args.pos.len().saturating_sub(1)
        ));
    };
    let Value::Int(i) = index else {
        return Err(err!(
            TypeError,
            "'{}' object cannot be interpreted as an integer",
            type_name(index)
        ));
    };
    let item = Value::Native(Ref::new(NativeFunction::new("_tuplegetter_item", item_at)));
    let fget = Value::BoundMethod(Ref::new(crate::object::BoundMethod {
        receiver: Value::Int(*i),
        func: item,
    }));
    let payload = Payload::Property {
        fget,
        fset: crate::builtins::native("_tuplegetter_set", refuse_set),
        fdel: crate::builtins::native("_tuplegetter_delete", refuse_delete),
    };
    let inst = Instance::with_payload(tuplegetter_class(), payload);
    let old = inst.dict.lock().insert(Arc::from("__doc__"), doc.clone());
    drop(old);
    Ok(Value::Instance(Ref::new(inst)))
}

fn tuplegetter_init(_: &mut Interp, _: Args<'_>) -> PyResult<Value> {
    Ok(Value::None)
}

/// The getter's index and the `_tuplegetter` itself.
fn this(args: &Args<'_>) -> PyResult<(Ref<Instance>, i64)> {
    if let Some(Value::Instance(inst)) = args.pos.first() {
        if let Payload::Property {
            fget: Value::BoundMethod(m),
            ..
        } = &inst.payload
        {
            if let Value::Int(i) = m.receiver {
                return Ok((inst.clone(), i));
            }
        }
    }
    Err(err!(TypeError, "descriptor needs a '_tuplegetter' object"))
}

/// Item `index` of `obj`, a tuple or an instance of a subclass of tuple.
fn item(index: i64, obj: &Value) -> PyResult<Value> {
    match crate::object::builtin_base(obj).unwrap_or(obj) {
        Value::Tuple(t) => usize::try_from(index)
            .ok()
            .and_then(|i| t.items.get(i).cloned())
            .ok_or_else(|| err!(IndexError, "tuple index out of range")),
        _ => Err(err!(
            TypeError,
            "descriptor for index '{index}' for tuple subclasses doesn't apply to '{}' object",
            type_name(obj)
        )),
    }
}

/// The getter: `item_at(index, obj)`.
fn item_at(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    match args.pos {
        [Value::Int(i), obj] => item(*i, obj),
        _ => Err(err!(TypeError, "_tuplegetter_item expected 2 arguments")),
    }
}

fn refuse_set(_: &mut Interp, _: Args<'_>) -> PyResult<Value> {
    Err(err!(AttributeError, "can't set attribute"))
}

fn refuse_delete(_: &mut Interp, _: Args<'_>) -> PyResult<Value> {
    Err(err!(AttributeError, "can't delete attribute"))
}

/// `getter.__get__(obj, type=None)`: the item, or the getter itself for `obj` None.
fn tuplegetter_get(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, index) = this(&args)?;
    match args.pos.get(1) {
        None | Some(Value::None) => Ok(Value::Instance(inst)),
        Some(obj) => item(index, obj),
    }
}

fn tuplegetter_set(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    this(&args)?;
    Err(err!(AttributeError, "can't set attribute"))
}

fn tuplegetter_delete(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    this(&args)?;
    Err(err!(AttributeError, "can't delete attribute"))
}

fn doc_of(inst: &Instance) -> Value {
    inst.dict.lock().get("__doc__").cloned().unwrap_or_default()
}

/// `_tuplegetter(0, 'Alias for field number 0')`.
fn tuplegetter_repr(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, index) = this(&args)?;
    let doc = interp.repr(&doc_of(&inst))?;
    Ok(Value::string(format!("_tuplegetter({index}, {doc})")))
}

/// `(_tuplegetter, (index, doc))`, for copy and pickle.
fn tuplegetter_reduce(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, index) = this(&args)?;
    let made = Value::tuple(vec![Value::Int(index), doc_of(&inst)]);
    Ok(Value::tuple(vec![Value::Class(tuplegetter_class()), made]))
}
