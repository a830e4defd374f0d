//! Stage 4 (VM), the interpreter.
//! Dict views (`d.keys()`, `d.values()`, `d.items()`): live windows onto a dict, as in Python 3.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::heap::{Ref, Shared};
use crate::interp::{Args, Interp};
use crate::object::{
    types, BuiltinTypes, Class, Dict, Instance, NativeFn, NativeFunction, Payload, ViewKind,
};
use crate::value::Value;
use crate::{err, PyResult};
use minivm_compiler::ast::CmpOp;

/// `obj.__dict__` of an instance: a real dict, as CPython's. minivm keeps the attributes in
/// the instance's own table (`object::InstDict`); the first time a program asks for the
/// `__dict__`, a dict of them (slots aside) is made and the table keeps it current from then on
/// (`InstDict::set_view`), so the same dict comes back each time and shows later changes. The
/// dict records its instance (`Dict::owner`), and the code that changes a dict on a program's
/// behalf (`d[k] = v`, `del d[k]`, the mutating methods, `|=`) writes an owned dict's changes
/// through to the table ([`owner_set`], [`owner_del`], [`written_through`]).
pub fn instance_dict(inst: &Ref<Instance>) -> Value {
    let mut table = inst.dict.lock();
    if let Some(d) = table.view() {
        return Value::Dict(d.clone());
    }
    let cls = inst.class.get();
    let d = if slotted(&cls) || inst.exc().is_some() {
        let slotted = slotted(&cls);
        let d = Dict::new();
        for (k, v) in table.iter() {
            if !kept_out(inst, &cls, slotted, k) {
                d.set_str(k, v.clone());
            }
        }
        d
    } else {
        Dict::from_map(table.to_key_map())
    };
    if let Some(w) = Ref::downgrade(inst) {
        // A new dict: nothing else can have set its owner.
        let _ = d.owner.set(w);
    }
    let d = Ref::new(d);
    table.set_view(d.clone());
    Value::Dict(d)
}

/// An exception's `__dict__` if CPython's exception would have one by now: one was read, or an
/// attribute that is no member of the exception was set (it is made then, if not yet); `None`
/// otherwise (`BaseException.__reduce__` then gives no state).
pub fn exc_dict_if_made(inst: &Ref<Instance>) -> Option<Value> {
    let made = {
        let table = inst.dict.lock();
        table.view().is_some() || {
            let cls = inst.class.get();
            let slotted = slotted(&cls);
            table.iter().any(|(k, _)| !kept_out(inst, &cls, slotted, k))
        }
    };
    made.then(|| instance_dict(inst))
}

/// `obj.__dict__ = d`: the instance's attributes become `d`'s (slots stay) and `d` its
/// `__dict__`, as in CPython. A dict that is already another instance's `__dict__` (the Borg
/// idiom, `b.__dict__ = a.__dict__`, or `self.__dict__ = Cls._shared_state` in every
/// `__init__`) is then shared, as in CPython: each instance keeps its own table mirroring the
/// dict, and a change made through one of them is copied to the others' tables
/// ([`SHARERS`], [`shared_attr_changed`]).
pub fn set_instance_dict(inst: &Ref<Instance>, d: &Value) -> PyResult<()> {
    let Value::Dict(d) = d else {
        return Err(err!(
            TypeError,
            "__dict__ must be set to a dictionary, not a '{}'",
            crate::object::type_name(d)
        ));
    };
    let adopted = match d.owner.get() {
        Some(w) => w.upgrade().is_some_and(|o| Ref::ptr_eq(&o, inst)),
        None => Ref::downgrade(inst).is_some_and(|w| d.owner.set(w).is_ok()),
    };
    if !adopted {
        let Some(w) = Ref::downgrade(inst) else {
            return Err(err!(
                NotImplementedError,
                "minivm cannot share this object's __dict__ with another object"
            ));
        };
        let mut sharers = SHARERS.lock();
        let list = sharers
            .get_or_insert_with(Sharers::default)
            .entry(Ref::as_ptr(d) as usize)
            .or_default();
        // Forget instances gone or given another `__dict__` since (the list would otherwise
        // grow by one per instance ever made, in the Borg idiom).
        list.retain(|w| w.upgrade().is_some_and(|o| has_view(&o, d)));
        list.push(Shared::new(w));
        ANY_SHARED.store(true, Ordering::Relaxed);
    }
    inst.dict.lock().set_view(d.clone());
    written_through(d);
    Ok(())
}

/// The instances besides its first owner (`Dict::owner`) whose `__dict__` a dict also is (the
/// Borg idiom), by the dict's address. An entry counts only while the instance's `__dict__` is
/// still that dict, checked by pointer ([`owners_of`]), so entries of dicts since freed (whose
/// address a new dict may get) or of instances given another `__dict__` since answer nothing.
static SHARERS: parking_lot::Mutex<Option<Sharers>> = parking_lot::Mutex::new(None);

type Sharers = rustc_hash::FxHashMap<usize, Vec<Shared<crate::heap::weak::Weak<Instance>>>>;

/// Whether a program has ever shared a `__dict__`: until then an attribute write asks
/// [`SHARERS`] nothing.
static ANY_SHARED: AtomicBool = AtomicBool::new(false);

/// Whether `d` is `inst`'s `__dict__` now.
fn has_view(inst: &Ref<Instance>, d: &Ref<Dict>) -> bool {
    inst.dict.lock().view().is_some_and(|v| Ref::ptr_eq(v, d))
}

/// After `inst.name` was set or deleted through `inst`'s own table (which mirrored the change
/// in its `__dict__`): the same change in the tables of the other instances sharing that
/// `__dict__`. Called with no table locked, so two threads writing two of the instances never
/// wait for each other's table while holding their own.
pub fn shared_attr_changed(inst: &Ref<Instance>, name: &str) {
    if !ANY_SHARED.load(Ordering::Relaxed) {
        return;
    }
    let Some(d) = inst.dict.lock().view().cloned() else {
        return;
    };
    for other in owners_of(&d) {
        if !Ref::ptr_eq(&other, inst) {
            sync_key(&other, &d, name);
        }
    }
}

/// `inst`'s table made to hold what `d` holds under `name` (its value, or nothing). `d` is read
/// with the table locked, the order in which an attribute write (`obj.name = v`, which locks
/// the table and mirrors the value in `d`) takes them: such a write lands wholly before the read
/// or after the table is set, so the table never gets a value of `d` older than the write's.
fn sync_key(inst: &Ref<Instance>, d: &Ref<Dict>, name: &str) {
    let mut table = inst.dict.lock();
    let value = d.get_str(name);
    let old = match value {
        Some(v) => table.insert_slot(Arc::from(name), v),
        None => table.remove_unmirrored(name),
    };
    drop(table);
    drop(old);
}

/// Whether instances of `cls` may have slots (some class of its MRO defines `__slots__`).
fn slotted(cls: &Ref<crate::object::Class>) -> bool {
    crate::object::Class::mro(cls)
        .iter()
        .any(|c| c.dict.read().contains_key("__slots__"))
}

/// Whether `name` is a `__slots__` member of `cls` (its value shares the instance's table but
/// is not part of `__dict__`).
fn is_slot(cls: &Ref<crate::object::Class>, name: &str) -> bool {
    matches!(cls.lookup(name),
        Some(Value::Instance(m)) if matches!(m.payload, Payload::Member { .. }))
}

/// Whether the value `inst`'s table holds under `name` is kept out of its `__dict__`: a
/// `__slots__` member (`slotted`: the class may have some), or a field CPython keeps as a member
/// of an exception (`OSError.errno`, `SyntaxError.lineno`...).
fn kept_out(inst: &Instance, cls: &Ref<crate::object::Class>, slotted: bool, name: &str) -> bool {
    slotted && is_slot(cls, name) || crate::builtins::attrs::exc_field_member(inst, name)
}

/// The instances whose `__dict__` `d` still is (`del obj.__dict__` and `obj.__dict__ = other`
/// end it): its owner, and those sharing it ([`SHARERS`]).
fn owners_of(d: &Ref<Dict>) -> Vec<Ref<Instance>> {
    let Some(first) = d.owner.get() else {
        return Vec::new();
    };
    let mut all: Vec<Ref<Instance>> = first.upgrade().into_iter().collect();
    if ANY_SHARED.load(Ordering::Relaxed) {
        let sharers = SHARERS.lock();
        if let Some(list) = sharers
            .as_ref()
            .and_then(|m| m.get(&(Ref::as_ptr(d) as usize)))
        {
            all.extend(list.iter().filter_map(|w| w.upgrade()));
        }
    }
    all.retain(|inst| has_view(inst, d));
    all
}

/// After a program's `d[key] = value` on an instance's `__dict__` (once it is stored in `d`):
/// the attribute in the instance's table. A key other than a `str` stays in the dict only (no
/// attribute can be named by it), as in CPython. The table is given what `d` holds under the
/// key when it is locked ([`sync_key`]), not `value`: another thread's `obj.key = w` between
/// the store and now has put `w` in both, and `value` would leave the two disagreeing.
pub fn owner_set(d: &Ref<Dict>, key: &Value) {
    let Value::Str(name) = key else { return };
    for inst in owners_of(d) {
        sync_key(&inst, d, name.as_str());
    }
}

/// After a program removed `key` from an instance's `__dict__` (`del d[key]`, `d.pop(key)`,
/// `d.popitem()`): the attribute out of the instance's table, unless another thread has
/// stored it again meanwhile ([`sync_key`]).
pub fn owner_del(d: &Ref<Dict>, key: &Value) {
    let Value::Str(name) = key else { return };
    for inst in owners_of(d) {
        sync_key(&inst, d, name.as_str());
    }
}

/// After a change of any extent to an instance's `__dict__` (`update`, `clear`, `|=`...): the
/// instance's table made to hold what the dict holds (slots aside).
pub fn written_through(d: &Ref<Dict>) {
    for inst in owners_of(d) {
        table_from_dict(&inst, d);
    }
}

/// `inst`'s table made to hold what its `__dict__` `d` holds (slots aside). `d` is read with
/// the table locked (as in [`sync_key`]): read before, an attribute another thread set or
/// deleted in between (in the table and in `d`) was put back to its old state in the table
/// only, and the two disagreed (`tests/stress/attr_dict_views`, 1 run in about 1,500).
fn table_from_dict(inst: &Ref<Instance>, d: &Ref<Dict>) {
    let slotted = slotted(&inst.class.get());
    let mut table = inst.dict.lock();
    let items: Vec<(Arc<str>, Value)> = d
        .read()
        .iter()
        .filter_map(|(k, v)| match &k.value {
            Value::Str(s) => Some((Arc::from(s.as_str()), v.clone())),
            _ => None,
        })
        .collect();
    let names: std::collections::HashSet<&str> = items.iter().map(|(k, _)| &**k).collect();
    let mut old = Vec::new();
    let gone: Vec<Arc<str>> = table
        .keys()
        .filter(|k| !(names.contains(&***k) || kept_out(inst, &inst.class.get(), slotted, k)))
        .cloned()
        .collect();
    for k in gone {
        old.extend(table.remove_unmirrored(&*k));
    }
    for (k, v) in items {
        old.extend(table.insert_slot(k, v));
    }
    drop(table);
    drop(old);
}

/// `cls.__dict__`: a read-only `mappingproxy` (`vm/lib/_attrdict.mini`), as in CPython, wrapping
/// a [`ClassNamespace`]: a live view of the namespace, made without copying it (the
/// mappingproxy's `__init__` is not run: its checks are for a program's argument).
pub fn class_dict_proxy(interp: &mut Interp, cls: &Ref<Class>) -> PyResult<Value> {
    let proxy_class = attrdict_class(interp, "mappingproxy")?;
    let ns = Instance::new(types().class_namespace.clone());
    ns.set_native(Box::new(ClassNamespace(cls.clone())));
    let mapping = Value::Instance(Ref::new(ns));
    let Value::Class(proxy_class) = proxy_class else {
        return interp.call(&proxy_class, &[mapping]);
    };
    let proxy = Value::Instance(Ref::new(Instance::new(proxy_class)));
    interp.setattr(&proxy, "_mapping", mapping)?;
    Ok(proxy)
}

/// A class's own namespace, read live (what its `__dict__` proxy wraps): a built-in type's
/// special methods included, as `attr::class_dict` lists them. Lookups, `in` and `get` read the
/// class's table; `len`, iteration and the other dict methods work on that dict of the
/// namespace, made at the call. The cycle collector sees its reference to the class
/// ([`namespace_class`], from `Instance`'s trace): a proxy kept in a cycle with its class
/// (`C.d = C.__dict__`) is collected with it once both are unreachable.
struct ClassNamespace(Ref<Class>);

/// The class a `class_namespace` object's native data refers to (for the collector's trace).
pub fn namespace_class(data: &crate::object::NativeData) -> Option<&Ref<Class>> {
    data.downcast_ref::<ClassNamespace>().map(|ns| &ns.0)
}

/// The methods of `class_namespace` objects.
pub const CLASS_NAMESPACE_METHODS: crate::builtins::Methods = &[
    ("__getitem__", ns_getitem),
    ("__contains__", ns_contains),
    ("__len__", ns_len),
    ("get", ns_get),
    ("__iter__", |i, a| ns_forward(i, a, "__iter__")),
    ("__reversed__", |i, a| ns_forward(i, a, "__reversed__")),
    ("__eq__", |i, a| ns_forward(i, a, "__eq__")),
    ("__ne__", |i, a| ns_forward(i, a, "__ne__")),
    ("__or__", |i, a| ns_forward(i, a, "__or__")),
    ("__ror__", |i, a| ns_forward(i, a, "__ror__")),
    ("__repr__", |i, a| ns_forward(i, a, "__repr__")),
    ("keys", |i, a| ns_forward(i, a, "keys")),
    ("values", |i, a| ns_forward(i, a, "values")),
    ("items", |i, a| ns_forward(i, a, "items")),
    ("copy", |i, a| ns_forward(i, a, "copy")),
];

fn ns_of<'a>(args: &Args<'a>) -> PyResult<&'a Ref<Class>> {
    match args.pos.first() {
        Some(Value::Instance(i)) => i.native::<ClassNamespace>().map(|ns| &ns.0),
        _ => None,
    }
    .ok_or_else(|| err!(TypeError, "descriptor requires a 'class_namespace' object"))
}

/// The namespace's value for `key` (only string keys can be there).
fn ns_lookup(cls: &Ref<Class>, key: &Value) -> Option<Value> {
    let Value::Str(name) = key else {
        return None;
    };
    let own = cls.dict.read().get(name.as_str()).cloned();
    match own {
        None if cls.builtin => {
            crate::interp::subclass::listed_slot(cls, name.as_str()).or_else(|| {
                match name.as_str() {
                    // (A class of `builtins` has its docstring listed, as `attr::class_dict` does.)
                    "__doc__" => crate::interp::attr::builtin_class_doc(cls).map(Value::str),
                    _ => None,
                }
            })
        }
        own => own,
    }
}

fn ns_getitem(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let cls = ns_of(&args)?;
    let key = args.pos.get(1).cloned().unwrap_or(Value::None);
    match ns_lookup(cls, &key) {
        Some(v) => Ok(v),
        None => Err(crate::error::PyErr::with_args(
            crate::object::ExcKind::KeyError,
            vec![key],
        )),
    }
}

fn ns_contains(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let cls = ns_of(&args)?;
    let key = args.pos.get(1).cloned().unwrap_or(Value::None);
    check_hashable(interp, &key)?;
    Ok(Value::Bool(ns_lookup(cls, &key).is_some()))
}

fn ns_len(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let cls = ns_of(&args)?;
    if cls.builtin {
        return ns_forward(interp, args, "__len__");
    }
    Ok(Value::Int(cls.dict.read().len() as i64))
}

fn ns_get(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let cls = ns_of(&args)?;
    let key = args.pos.get(1).cloned().unwrap_or(Value::None);
    check_hashable(interp, &key)?;
    let default = args.pos.get(2).cloned().unwrap_or(Value::None);
    Ok(ns_lookup(cls, &key).unwrap_or(default))
}

/// An unhashable key is a TypeError, as for a dict (a string key needs no check).
fn check_hashable(interp: &mut Interp, key: &Value) -> PyResult<()> {
    if !matches!(key, Value::Str(_)) {
        crate::builtins::functions::py_hash(interp, key)?;
    }
    Ok(())
}

/// The dict method `name` of a dict of the namespace now, with the call's other arguments.
fn ns_forward(interp: &mut Interp, args: Args<'_>, name: &str) -> PyResult<Value> {
    let cls = ns_of(&args)?;
    let d = crate::interp::attr::class_dict(cls);
    let method = interp.getattr(&d, name)?;
    interp.call(&method, &args.pos[1..])
}

/// A class of `vm/lib/_attrdict.mini`.
fn attrdict_class(interp: &mut Interp, name: &str) -> PyResult<Value> {
    let module = interp.import_module("_attrdict")?;
    interp.getattr(&module, name)
}

/// A new view of `dict`.
pub fn new_view(dict: Ref<Dict>, kind: ViewKind) -> Value {
    let t = types();
    let class = match kind {
        ViewKind::Keys => &t.dict_keys,
        ViewKind::Values => &t.dict_values,
        ViewKind::Items => &t.dict_items,
    };
    Value::Instance(Ref::new(Instance::with_payload(
        class.clone(),
        Payload::DictView(dict, kind),
    )))
}

pub(crate) fn install(t: &BuiltinTypes) {
    install_view::<KEYS>(&t.dict_keys);
    install_view::<VALUES>(&t.dict_values);
    install_view::<ITEMS>(&t.dict_items);
}

/// The methods of one view class. Each is instantiated for its class (`K`), so a call through
/// the class checks its receiver is a view of that kind (`dict_keys.__len__(d.values())` is
/// TypeError, as in CPython).
fn install_view<const K: u8>(class: &Ref<Class>) {
    let methods: [(&'static str, NativeFn); 5] = [
        ("__len__", view_len::<K>),
        ("__iter__", view_iter::<K>),
        ("__reversed__", view_reversed::<K>),
        ("__contains__", view_contains::<K>),
        ("__repr__", view_repr::<K>),
    ];
    // Keys and items views are set-like (`collections.abc.Set`): set operators with any
    // iterable, comparisons with sets, `isdisjoint`.
    let set_like: [(&'static str, NativeFn); 15] = [
        ("__and__", |i, a| {
            view_set_op::<K>(i, a, "__and__", "intersection_update", false)
        }),
        ("__rand__", |i, a| {
            view_set_op::<K>(i, a, "__rand__", "intersection_update", true)
        }),
        ("__or__", |i, a| {
            view_set_op::<K>(i, a, "__or__", "update", false)
        }),
        ("__ror__", |i, a| {
            view_set_op::<K>(i, a, "__ror__", "update", true)
        }),
        ("__xor__", |i, a| {
            view_set_op::<K>(i, a, "__xor__", "symmetric_difference_update", false)
        }),
        ("__rxor__", |i, a| {
            view_set_op::<K>(i, a, "__rxor__", "symmetric_difference_update", true)
        }),
        ("__sub__", |i, a| {
            view_set_op::<K>(i, a, "__sub__", "difference_update", false)
        }),
        ("__rsub__", |i, a| {
            view_set_op::<K>(i, a, "__rsub__", "difference_update", true)
        }),
        ("__eq__", |i, a| {
            view_compare::<K>(i, a, "__eq__", CmpOp::Eq)
        }),
        ("__ne__", |i, a| {
            view_compare::<K>(i, a, "__ne__", CmpOp::NotEq)
        }),
        ("__lt__", |i, a| {
            view_compare::<K>(i, a, "__lt__", CmpOp::Lt)
        }),
        ("__le__", |i, a| {
            view_compare::<K>(i, a, "__le__", CmpOp::LtE)
        }),
        ("__gt__", |i, a| {
            view_compare::<K>(i, a, "__gt__", CmpOp::Gt)
        }),
        ("__ge__", |i, a| {
            view_compare::<K>(i, a, "__ge__", CmpOp::GtE)
        }),
        ("isdisjoint", view_isdisjoint::<K>),
    ];
    // A values view is neither set-like nor has `__contains__` (CPython's `x in d.values()`
    // falls back to iterating it).
    let values = kind::<K>() == ViewKind::Values;
    let set_ops = if values { &[][..] } else { &set_like[..] };
    let mut d = class.dict.write();
    for &(name, f) in methods.iter().chain(set_ops) {
        if values && name == "__contains__" {
            continue;
        }
        d.insert(
            Arc::from(name),
            Value::Native(Ref::new(NativeFunction::new(name, f))),
        );
    }
}

/// The view and the other operand of a binary special method.
fn view_and_other<const K: u8>(
    args: &Args<'_>,
    method: &str,
) -> PyResult<(Ref<Dict>, ViewKind, Value)> {
    let (d, kind) = view_of::<K>(args, method, 1)?;
    let other = args.pos.get(1).cloned().unwrap_or(Value::None);
    Ok((d, kind, other))
}

fn set_of(interp: &mut Interp, v: Value) -> PyResult<Value> {
    let set_class = Value::Class(types().set.clone());
    interp.call(&set_class, &[v])
}

/// `view & other` (and `|`, `^`, `-`), as CPython: a new set of the left operand's items,
/// updated in place by the right one, which may be any iterable (`reflected`: the view is the
/// right operand).
fn view_set_op<const K: u8>(
    interp: &mut Interp,
    args: Args<'_>,
    method: &str,
    update: &str,
    reflected: bool,
) -> PyResult<Value> {
    let (d, kind, other) = view_and_other::<K>(&args, method)?;
    let view = Value::list(view_items(&d, kind));
    let (left, right) = if reflected {
        (other, view)
    } else {
        (view, other)
    };
    let result = set_of(interp, left)?;
    let method = interp.getattr(&result, update)?;
    interp.call(&method, &[right])?;
    Ok(result)
}

/// `view == other` and the order comparisons: as sets, with a set, frozenset or another
/// keys/items view; `NotImplemented` otherwise (so `d.keys() == [...]` is False).
fn view_compare<const K: u8>(
    interp: &mut Interp,
    args: Args<'_>,
    method: &str,
    op: CmpOp,
) -> PyResult<Value> {
    let (d, kind, other) = view_and_other::<K>(&args, method)?;
    let other_is_set_like = match &other {
        Value::Set(_) => true,
        Value::Instance(i) => matches!(i.payload, Payload::DictView(_, k) if k != ViewKind::Values),
        _ => false,
    };
    if !other_is_set_like {
        return Ok(Value::NotImplemented);
    }
    let mine = set_of(interp, Value::list(view_items(&d, kind)))?;
    let theirs = match other {
        Value::Set(_) => other,
        _ => set_of(interp, other)?,
    };
    interp.compare(op, &mine, &theirs)
}

/// `view.isdisjoint(iterable)`.
fn view_isdisjoint<const K: u8>(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (d, kind, other) = view_and_other::<K>(&args, "isdisjoint")?;
    let mine = set_of(interp, Value::list(view_items(&d, kind)))?;
    let method = interp.getattr(&mine, "isdisjoint")?;
    interp.call(&method, &[other])
}

/// The view kinds, as the const parameter of the view classes' methods.
const KEYS: u8 = 0;
const VALUES: u8 = 1;
const ITEMS: u8 = 2;

const fn kind<const K: u8>() -> ViewKind {
    match K {
        KEYS => ViewKind::Keys,
        VALUES => ViewKind::Values,
        _ => ViewKind::Items,
    }
}

fn view_class_name(kind: ViewKind) -> &'static str {
    match kind {
        ViewKind::Keys => "dict_keys",
        ViewKind::Values => "dict_values",
        ViewKind::Items => "dict_items",
    }
}

/// The dict behind the receiver of `method` of the view class `K`; CPython's TypeError when
/// it is missing or not such a view (a call through the class: `type(d.keys()).__len__([])`).
/// Special methods are slot wrappers there, `__reversed__` and `isdisjoint` plain methods, and
/// the two word it differently. `arity`: how many arguments follow the receiver (0 or 1),
/// checked after it as CPython does.
fn view_of<const K: u8>(
    args: &Args<'_>,
    method: &str,
    arity: usize,
) -> PyResult<(Ref<Dict>, ViewKind)> {
    let want = kind::<K>();
    let class = view_class_name(want);
    // Worded as CPython words a slot wrapper (`__len__`) or a method (`__reversed__`).
    let slot = crate::object::NativeKind::of_method(class, method)
        == crate::object::NativeKind::SlotWrapper;
    let receiver = args.pos.first();
    if let Some(Value::Instance(i)) = receiver {
        if let Payload::DictView(d, k) = &i.payload {
            if *k == want {
                let given = args.pos.len() - 1;
                if given == arity {
                    return Ok((d.clone(), want));
                }
                let s = if arity == 1 { "" } else { "s" };
                return Err(match (slot, arity) {
                    (true, _) => err!(TypeError, "expected {arity} argument{s}, got {given}"),
                    (false, 0) => err!(
                        TypeError,
                        "{class}.{method}() takes no arguments ({given} given)"
                    ),
                    (false, _) => err!(
                        TypeError,
                        "{class}.{method}() takes exactly one argument ({given} given)"
                    ),
                });
            }
        }
    }
    Err(match (receiver, slot) {
        (None, _) => crate::builtins::args::missing_receiver(class, method),
        (Some(v), true) => crate::builtins::args::slot_receiver_error(class, method, Some(v)),
        (Some(v), false) => crate::builtins::args::descriptor_error(class, method, v),
    })
}

/// The view's current items (keys, values or (key, value) tuples).
fn view_items(d: &Dict, kind: ViewKind) -> Vec<Value> {
    let map = d.read();
    match kind {
        ViewKind::Keys => map.keys().map(|k| k.value.clone()).collect(),
        ViewKind::Values => map.values().cloned().collect(),
        ViewKind::Items => map
            .iter()
            .map(|(k, v)| Value::tuple(vec![k.value.clone(), v.clone()]))
            .collect(),
    }
}

fn view_len<const K: u8>(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (d, _) = view_of::<K>(&args, "__len__", 0)?;
    Ok(Value::Int(d.len() as i64))
}

fn view_iter<const K: u8>(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (d, kind) = view_of::<K>(&args, "__iter__", 0)?;
    Ok(view_walk(&d, kind, false))
}

/// `reversed(view)`: the dict walked from its last entry back (`interp/dictwalk.rs`).
fn view_reversed<const K: u8>(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (d, kind) = view_of::<K>(&args, "__reversed__", 0)?;
    Ok(view_walk(&d, kind, true))
}

/// An iterator over a view of `d` (`iter(view)`, `reversed(view)`; `get_iter`'s direct path).
pub(crate) fn view_walk(d: &Ref<Dict>, kind: ViewKind, reversed: bool) -> Value {
    crate::interp::dictwalk::dict_iter(d, walk_kind(kind), reversed)
}

fn walk_kind(kind: ViewKind) -> crate::interp::dictwalk::WalkKind {
    use crate::interp::dictwalk::WalkKind;
    match kind {
        ViewKind::Keys => WalkKind::Keys,
        ViewKind::Values => WalkKind::Values,
        ViewKind::Items => WalkKind::Items,
    }
}

fn view_contains<const K: u8>(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (d, kind) = view_of::<K>(&args, "__contains__", 1)?;
    let needle = args.pos.get(1).cloned().unwrap_or(Value::None);
    let found = match kind {
        ViewKind::Keys => {
            // Resolved and looked up as one step, as `k in d` is (`Interp::with_resolved`).
            interp.with_resolved_read(&d, &needle, |map, k| map.contains_key(&k))?
        }
        _ => {
            let mut found = false;
            for v in view_items(&d, kind) {
                if interp.eq(&v, &needle)? {
                    found = true;
                    break;
                }
            }
            found
        }
    };
    Ok(Value::Bool(found))
}

fn view_repr<const K: u8>(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (d, kind) = view_of::<K>(&args, "__repr__", 0)?;
    let name = view_class_name(kind);
    let inner = interp.repr(&Value::list(view_items(&d, kind)))?;
    Ok(Value::string(format!("{name}({inner})")))
}
