//! `_copyaccel` (stdlib stage): `copy.deepcopy` in Rust for the built-in containers and atoms
//! and for plain instances, as CPython's `copy` module dispatches on the type. `vm/lib/copy.mini`
//! keeps the whole function (`_deepcopy_slow`): once `setup(...)` has been given it and
//! `copyreg.dispatch_table`, `copy.deepcopy` is this module's `deepcopy`, which does here what
//! CPython 3.11's `copy.deepcopy` does, memo entries included, for
//! - the atoms (None, bools, ints, floats, complex numbers, strs, bytes, ranges, `...`,
//!   `NotImplemented`, functions, built-in functions and their bound methods, classes):
//!   themselves;
//! - methods of Python functions: the function bound to a copy of the object
//!   (`_deepcopy_method`);
//! - exact lists, dicts and tuples (`_deepcopy_list`, `_deepcopy_dict`, `_deepcopy_tuple`:
//!   the copy in the memo before its items are copied, a tuple of its own items' copies being
//!   itself, a tuple already copied while its items were being copied found in the memo);
//! - exact sets and frozensets and bytearrays, as their reductions rebuild them (the list of a
//!   set's items copied through the memo, then a new set of the copies);
//! - instances of classes written in the mini language that define none of the copy and pickle
//!   hooks (`__deepcopy__`, `__reduce_ex__`, `__reduce__`, `__getstate__`, `__setstate__`,
//!   `__getnewargs__`, `__getnewargs_ex__`, `__slots__`, `__new__`, `__getattr__`,
//!   `__getattribute__`), with no built-in base but `object`, no metaclass and no reducer in
//!   `copyreg.dispatch_table`: `object.__reduce_ex__(4)`'s rebuild, a new instance of the class
//!   given a deep copy of a dict of the attributes (that dict copied through the memo, as
//!   CPython copies the `__dict__`).
//!
//! Everything else (instances with hooks, subclasses of built-in types, bound methods, a memo
//! that is not an exact dict, other arguments) goes to the mini function with the same memo,
//! whose own recursion comes back here through `copy.deepcopy`. Each level of a container held
//! here is one level of the interpreter's recursion count (`RecursionError` as the mini
//! function's frames would give, and a bounded Rust stack).

use std::sync::Arc;

use crate::builtins::Methods;
use crate::heap::{Global, Ref};
use crate::interp::{Args, Interp};
use crate::object::{
    hash_int, types, BoundMethod, ByteArray, Class, Dict, HashKey, Instance, List, Module, Payload,
    SetObj,
};
use crate::value::Value;
use crate::PyResult;

const FUNCS: Methods = &[("setup", setup), ("deepcopy", deepcopy)];

/// The copy and pickle hooks a class may define: an instance whose class (or a base other than
/// `object`) defines one of them, or that holds one as an attribute, is the mini function's.
const HOOKS: [&str; 11] = [
    "__deepcopy__",
    "__reduce_ex__",
    "__reduce__",
    "__getstate__",
    "__setstate__",
    "__getnewargs__",
    "__getnewargs_ex__",
    "__slots__",
    "__new__",
    "__getattr__",
    "__getattribute__",
];

/// Modules whose classes are written in Rust (their instances carry native state even when
/// their payload slot is empty): left to the mini function, as pickle leaves them to `__reduce_ex__`.
pub(crate) const NATIVE_MODULES: [&str; 9] = [
    "builtins",
    "_thread",
    "threading",
    "_queue",
    "queue",
    "_io",
    "socket",
    "select",
    "_subprocess",
];

struct State {
    /// The mini `deepcopy` (`copy._deepcopy_slow`), for everything not copied here.
    slow: Value,
    /// `copyreg.dispatch_table`: a class with a reducer there is copied through it (mini).
    table: Ref<Dict>,
    /// The mini `_rebuild(x, reduction, memo)`: the copy made from a reduction.
    rebuild: Value,
    /// What `object` itself has under each of `HOOKS` (a class whose lookup finds just that
    /// defines none of them).
    object_hooks: Vec<Option<Value>>,
}

static STATE: Global<State> = Global::new();

pub fn module() -> Ref<Module> {
    super::module_from_fns("_copyaccel", FUNCS, vec![])
}

/// `setup(deepcopy_slow, copyreg_dispatch_table, rebuild)`: True the first time (`copy.deepcopy` may
/// then be this module's), False after.
fn setup(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [slow, Value::Dict(table), rebuild] = args.pos else {
        return Err(crate::err!(
            TypeError,
            "_copyaccel.setup: unexpected arguments"
        ));
    };
    let object = &types().object;
    let object_hooks = HOOKS.iter().map(|name| object.lookup(name)).collect();
    let state = State {
        slow: slow.clone(),
        table: table.clone(),
        rebuild: rebuild.clone(),
        object_hooks,
    };
    Ok(Value::Bool(STATE.set(state).is_ok()))
}

/// `deepcopy(x, memo=None, _nil=[])`.
fn deepcopy(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let Some(st) = STATE.get() else {
        return Err(crate::err!(SystemError, "_copyaccel is not set up"));
    };
    let (x, memo) = match (args.pos, args.kw) {
        ([x], []) => (x, None),
        ([x, memo], []) => (x, Some(memo)),
        ([x], [(k, memo)]) if &**k == "memo" => (x, Some(memo)),
        _ => return interp.call_kw(&st.slow, args.pos, args.kw),
    };
    match memo {
        None | Some(Value::None) => {
            let memo = Ref::new(Dict::new());
            deep(interp, st, x, &memo)
        }
        Some(Value::Dict(memo)) => deep(interp, st, x, memo),
        Some(memo) => interp.call(&st.slow, &[x.clone(), memo.clone()]),
    }
}

/// The memo's key for `x`: `id(x)`.
fn memo_key(x: &Value) -> HashKey {
    let id = x.id() as i64;
    HashKey {
        hash: hash_int(id),
        value: Value::Int(id),
    }
}

/// `x is y`.
fn same(x: &Value, y: &Value) -> bool {
    std::mem::discriminant(x) == std::mem::discriminant(y) && x.id() == y.id()
}

fn deep(interp: &mut Interp, st: &State, x: &Value, memo: &Ref<Dict>) -> PyResult<Value> {
    match x {
        // Atoms whose id is their value (not an address): no copy of anything is filed under
        // it, so the memo is not asked.
        Value::None
        | Value::Bool(_)
        | Value::Int(_)
        | Value::Float(_)
        | Value::Ellipsis
        | Value::NotImplemented => return Ok(x.clone()),
        _ => {}
    }
    let key = memo_key(x);
    if let Some(y) = memo.get(&key) {
        return Ok(y);
    }
    match x {
        // A method of a Python function: the function bound to a copy of its object
        // (`_deepcopy_method`); a built-in's bound method is an atom.
        Value::BoundMethod(m) if matches!(m.func, Value::Function(_)) => {
            let receiver = deep(interp, st, &m.receiver, memo)?;
            let y = Value::BoundMethod(Ref::new(BoundMethod {
                receiver,
                func: m.func.clone(),
            }));
            drop(memo.insert(key, y.clone()));
            keep_alive(interp, x, memo)?;
            Ok(y)
        }
        Value::BoundMethod(_)
        | Value::BigInt(_)
        | Value::Complex(_)
        | Value::Str(_)
        | Value::Bytes(_)
        | Value::Range(_)
        | Value::Function(_)
        | Value::Native(_)
        | Value::Class(_) => Ok(x.clone()),
        Value::List(_)
        | Value::Tuple(_)
        | Value::Dict(_)
        | Value::Set(_)
        | Value::ByteArray(_)
        | Value::Instance(_) => {
            interp.enter_recursion("")?;
            let r = deep_container(interp, st, x, key, memo);
            interp.leave_recursion();
            r
        }
        _ => interp.call(&st.slow, &[x.clone(), Value::Dict(memo.clone())]),
    }
}

fn deep_container(
    interp: &mut Interp,
    st: &State,
    x: &Value,
    key: HashKey,
    memo: &Ref<Dict>,
) -> PyResult<Value> {
    let y = match x {
        Value::List(l) => {
            let y = Ref::new(List::new(Vec::with_capacity(l.len())));
            drop(memo.insert(key.clone(), Value::List(y.clone())));
            // Read item by item, as CPython's `for a in x` does (an item's copy may change x).
            let mut i = 0;
            loop {
                let item = l.items.read().get(i).cloned();
                let Some(item) = item else { break };
                let c = deep(interp, st, &item, memo)?;
                y.items.write().push(c);
                i += 1;
            }
            Value::List(y)
        }
        Value::Tuple(t) => {
            let mut copies = Vec::with_capacity(t.items.len());
            for a in t.items.iter() {
                copies.push(deep(interp, st, a, memo)?);
            }
            if let Some(y) = memo.get(&key) {
                // Copied meanwhile (a tuple reached again through its own items): that copy,
                // filed and kept alive once more, as CPython's `deepcopy` does after
                // `_deepcopy_tuple` finds it.
                y
            } else if t.items.iter().zip(&copies).all(|(a, b)| same(a, b)) {
                return Ok(x.clone());
            } else {
                Value::tuple(copies)
            }
        }
        Value::Dict(d) => {
            let y = Ref::new(Dict::new());
            drop(memo.insert(key.clone(), Value::Dict(y.clone())));
            let yv = Value::Dict(y.clone());
            for (k, v) in d.items() {
                let k = deep(interp, st, &k, memo)?;
                let v = deep(interp, st, &v, memo)?;
                store(interp, &y, &yv, k, v)?;
            }
            yv
        }
        Value::Set(s) => {
            // The reduction `(set, (list(x),))`: its argument copied (a list, through the memo),
            // then a new set (or frozenset) of the copies.
            let items = deep(interp, st, &Value::list(s.snapshot()), memo)?;
            let y = Ref::new(SetObj::new(Default::default(), s.frozen));
            let items = match &items {
                Value::List(l) => l.snapshot(),
                other => interp.collect_iter(other)?,
            };
            for item in items {
                interp.set_add(&y, item)?;
            }
            drop(memo.insert(key.clone(), Value::Set(y.clone())));
            Value::Set(y)
        }
        Value::ByteArray(b) => {
            let data = b.data.read().clone();
            Value::ByteArray(Ref::new(ByteArray::new(data)))
        }
        Value::Instance(inst) => match instance_kind(st, inst) {
            Kind::Plain => deep_instance(interp, st, inst, &key, memo)?,
            Kind::Reduce(reduce) => {
                // `object.__reduce_ex__(4)` calls the class's `__reduce__`; the copy is rebuilt
                // from what it gives by the mini `_rebuild`, as CPython's `_reconstruct` does.
                let rv = interp.call(&reduce, std::slice::from_ref(x))?;
                let y = interp.call(&st.rebuild, &[x.clone(), rv, Value::Dict(memo.clone())])?;
                if same(&y, x) {
                    // A reduction naming a global: x is its own copy, not filed.
                    return Ok(y);
                }
                y
            }
            Kind::Other => {
                return interp.call(&st.slow, &[x.clone(), Value::Dict(memo.clone())]);
            }
        },
        _ => return interp.call(&st.slow, &[x.clone(), Value::Dict(memo.clone())]),
    };
    drop(memo.insert(key, y.clone()));
    keep_alive(interp, x, memo)?;
    Ok(y)
}

/// `y[k] = v` for a new dict `y`.
fn store(interp: &mut Interp, y: &Ref<Dict>, yv: &Value, k: Value, v: Value) -> PyResult<()> {
    match k {
        Value::Str(_) | Value::Int(_) | Value::None | Value::Bool(_) | Value::Bytes(_) => {
            drop(y.insert(HashKey::from_value(k)?, v));
            Ok(())
        }
        k => interp.setitem(yv, k, v),
    }
}

/// CPython's `_keep_alive`: `x` appended to the list under `id(memo)`, so that no other object
/// takes its id while the memo is in use.
fn keep_alive(interp: &mut Interp, x: &Value, memo: &Ref<Dict>) -> PyResult<()> {
    let key = memo_key(&Value::Dict(memo.clone()));
    match memo.get(&key) {
        Some(Value::List(l)) => {
            l.items.write().push(x.clone());
            Ok(())
        }
        Some(other) => {
            let append = interp.getattr(&other, "append")?;
            interp.call(&append, std::slice::from_ref(x)).map(drop)
        }
        None => {
            drop(memo.insert(key, Value::list(vec![x.clone()])));
            Ok(())
        }
    }
}

/// How an instance is copied here.
enum Kind {
    /// As `object.__reduce_ex__(4)` rebuilds it, with nothing of the program's to ask (see the
    /// module's comment).
    Plain,
    /// Through this `__reduce__` of its class (a Python function; no other hook).
    Reduce(Value),
    /// By the mini function.
    Other,
}

fn instance_kind(st: &State, inst: &Ref<Instance>) -> Kind {
    if plain_instance(st, inst, &[]) {
        return Kind::Plain;
    }
    let cls: Ref<Class> = inst.class.get().clone();
    match cls.lookup("__reduce__") {
        Some(f @ Value::Function(_)) if plain_instance(st, inst, REDUCE_ALLOWS) => Kind::Reduce(f),
        _ => Kind::Other,
    }
}

/// The hooks a class copied through its `__reduce__` may define: the reduction does not ask
/// them (`_rebuild` calls the new object's `__setstate__`).
const REDUCE_ALLOWS: &[&str] = &[
    "__reduce__",
    "__setstate__",
    "__getstate__",
    "__getnewargs__",
    "__getnewargs_ex__",
    "__slots__",
    "__new__",
];

/// Whether `inst`'s class defines none of `HOOKS` (but `allowed`), has no built-in base but
/// `object`, no metaclass, no reducer in `copyreg`, and `inst` holds no hook as an attribute.
fn plain_instance(st: &State, inst: &Ref<Instance>, allowed: &[&str]) -> bool {
    if !matches!(inst.payload, Payload::None) {
        return false;
    }
    let cls: Ref<Class> = inst.class.get().clone();
    if cls.metaclass.is_some() {
        return false;
    }
    let object = &types().object;
    let bases_plain = cls
        .mro_tail
        .iter()
        .chain(std::iter::once(&cls))
        .filter(|c| !Ref::ptr_eq(c, object))
        .all(|c| !c.builtin && !NATIVE_MODULES.contains(&&*c.module));
    if !bases_plain {
        return false;
    }
    let hooks_plain =
        HOOKS
            .iter()
            .zip(&st.object_hooks)
            .all(|(name, base)| match (cls.lookup(name), base) {
                _ if allowed.contains(name) => true,
                (None, _) => true,
                (Some(found), Some(base)) => same(&found, base),
                (Some(_), None) => false,
            });
    if !hooks_plain {
        return false;
    }
    {
        let table = inst.dict.read();
        // (The plain copy reads the table itself: not one mirrored by a `__dict__` object,
        // which a program may have shared or changed.)
        if (allowed.is_empty() && table.has_view()) || table.keys().any(|k| HOOKS.contains(&&**k)) {
            return false;
        }
    }
    if !st.table.is_empty() {
        match HashKey::from_value(Value::Class(cls)) {
            Ok(k) if st.table.get(&k).is_none() => {}
            _ => return false,
        }
    }
    true
}

/// The copy of a plain instance: a new instance of its class (in the memo at once), given a
/// deep copy of a dict of `inst`'s attributes when it has any.
fn deep_instance(
    interp: &mut Interp,
    st: &State,
    inst: &Ref<Instance>,
    key: &HashKey,
    memo: &Ref<Dict>,
) -> PyResult<Value> {
    let cls = inst.class.get().clone();
    let y = Ref::new_with(|| Instance::new(cls));
    let yv = Value::Instance(y.clone());
    drop(memo.insert(key.clone(), yv.clone()));
    let names: Vec<Arc<str>> = inst.dict.read().keys().cloned().collect();
    if names.is_empty() {
        return Ok(yv);
    }
    let state = Dict::new();
    {
        let table = inst.dict.read();
        for (k, v) in table.iter() {
            state.set_str(k, v.clone());
        }
    }
    let copied = deep(interp, st, &Value::Dict(Ref::new(state)), memo)?;
    let Value::Dict(copied) = copied else {
        return Err(crate::err!(
            TypeError,
            "a deep copy of an instance's attributes is not a dict"
        ));
    };
    let mut rest = Vec::new();
    {
        let mut table = y.dict.write();
        for (i, (k, v)) in copied.items().into_iter().enumerate() {
            match &k {
                Value::Str(s) if !table.contains_key(s.as_str()) => {
                    // The same names in the same order, unless the memo said otherwise.
                    let name = names
                        .get(i)
                        .filter(|n| ***n == *s.as_str())
                        .or_else(|| names.iter().find(|n| ***n == *s.as_str()))
                        .cloned()
                        .unwrap_or_else(|| Arc::from(s.as_str()));
                    table.push_name(&name, v);
                }
                _ => rest.push((k, v)),
            }
        }
    }
    if !rest.is_empty() {
        // Keys the memo swapped for others: `y.__dict__.update(state)` for them.
        let d = crate::interp::views::instance_dict(&y);
        for (k, v) in rest {
            interp.setitem(&d, k, v)?;
        }
    }
    Ok(yv)
}
