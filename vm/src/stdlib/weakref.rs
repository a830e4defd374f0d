//! `_weakref` (stdlib stage): the weak reference type behind `weakref` (`vm/lib/weakref.mini`),
//! over the heap's weak references (`heap/weak.rs`). `ref(obj, callback=None)` makes a
//! `weakref.ReferenceType`; calling it gives the object, or None once the object has died (its
//! last reference went, or the cycle collector freed it). A callback is called with the
//! weakref at the interpreter's next safe point after the death (`interp/finalize.rs`), most
//! recently registered first, as CPython calls them; an exception escaping it is printed as
//! CPython prints one ("Exception ignored in: ...").
//!
//! Objects minivm can refer to weakly: instances of classes (user classes, exceptions,
//! subclasses of built-in types), classes and functions written in Python — the kinds programs
//! weakly refer to (caches keyed by class, `WeakSet`s of classes, `WeakMethod`). A bound method
//! object, set, generator, module or built-in function is a `NotImplementedError` (CPython
//! accepts them); an int, str, tuple, list, dict... is CPython's `TypeError`.

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::builtins::args::Sig;
use crate::heap::weak::{Weak, DEATH_HOOK};
use crate::heap::{Global, Ref, Shared};
use crate::interp::{Args, Interp};
use crate::object::{type_name, Class, Function, Instance, Module};
use crate::stdlib::sync::property;
use crate::stdlib::{native_class, this};
use crate::value::Value;
use crate::{err, PyResult};

static REF_CLASS: Global<Ref<Class>> = Global::new();

/// The weakrefs with callbacks, by the key of the slot of the object they watch: each entry a
/// weak reference to the weakref object itself (a weakref that has died calls nothing).
type Watchers = HashMap<usize, Vec<Shared<Weak<Instance>>>>;
static WATCHERS: Mutex<Option<Watchers>> = Mutex::new(None);

/// The plain weakref (no callback, exactly `ReferenceType`) of each object that has one, by the
/// key of the object's slot: `ref(x)` gives it again rather than a new one, as CPython does (so
/// `ref(x) is ref(x)`).
static BASIC: Mutex<Option<HashMap<usize, Shared<Weak<Instance>>>>> = Mutex::new(None);

/// What a weakref refers to: the kinds of object that can be weakly referred to.
enum Target {
    Instance(Weak<Instance>),
    Class(Weak<Class>),
    Function(Weak<Function>),
}

impl Target {
    /// The object, while it lives.
    fn upgrade(&self) -> Option<Value> {
        match self {
            Target::Instance(w) => w.upgrade().map(Value::Instance),
            Target::Class(w) => w.upgrade().map(Value::Class),
            Target::Function(w) => w.upgrade().map(Value::Function),
        }
    }

    /// The key of the object's slot (the same for every weak reference to it).
    fn key(&self) -> usize {
        match self {
            Target::Instance(w) => w.key(),
            Target::Class(w) => w.key(),
            Target::Function(w) => w.key(),
        }
    }

    /// Ask to hear of the object's death (`DEATH_HOOK`).
    fn watch(&self) {
        match self {
            Target::Instance(w) => w.watch(),
            Target::Class(w) => w.watch(),
            Target::Function(w) => w.watch(),
        }
    }

    /// How many share the object's slot (its anchor, this, and one per weak reference).
    fn sharers(&self) -> usize {
        match self {
            Target::Instance(w) => w.sharers(),
            Target::Class(w) => w.sharers(),
            Target::Function(w) => w.sharers(),
        }
    }
}

/// Rust data of a `weakref.ReferenceType` instance.
struct RefData {
    target: Target,
    callback: Value,
    /// The referent's hash, kept once computed (CPython's `wr_hash`): a dead weakref still
    /// hashes as its object did.
    hash: Mutex<Option<i64>>,
    /// This weakref, weakly, when it has a callback or is the object's plain weakref (to leave
    /// `WATCHERS` or `BASIC` as it dies).
    own: Option<Weak<Instance>>,
    /// It is the object's plain weakref (listed in `BASIC`).
    basic: bool,
}

impl Drop for RefData {
    fn drop(&mut self) {
        let Some(own) = &self.own else { return };
        let key = self.target.key();
        if self.basic {
            let mut basic = BASIC.lock();
            if let Some(map) = basic.as_mut() {
                if map.get(&key).is_some_and(|w| w.key() == own.key()) {
                    map.remove(&key);
                }
            }
            return;
        }
        let mut table = WATCHERS.lock();
        if let Some(list) = table.as_mut().and_then(|t| t.get_mut(&key)) {
            list.retain(|w| w.key() != own.key());
            if list.is_empty() {
                table.as_mut().map(|t| t.remove(&key));
            }
        }
    }
}

fn ref_class() -> Ref<Class> {
    REF_CLASS
        .get_or_init(|| {
            let cls = native_class(
                "ReferenceType",
                "weakref",
                &[
                    ("__new__", ref_new),
                    ("__init__", ref_init),
                    ("__call__", ref_call),
                    ("__eq__", ref_eq),
                    ("__ne__", ref_ne),
                    ("__hash__", ref_hash),
                    ("__repr__", ref_repr),
                ],
            );
            cls.dict.write().insert(
                std::sync::Arc::from("__callback__"),
                property(("__callback__", ref_callback)),
            );
            cls
        })
        .clone()
}

pub fn module() -> Ref<Module> {
    let _ = DEATH_HOOK.set(on_death);
    super::make_module(
        "_weakref",
        vec![
            ("ref", Value::Class(ref_class())),
            (
                "getweakrefcount",
                super::func("getweakrefcount", getweakrefcount),
            ),
            ("_flush", super::func("_flush", flush)),
        ],
    )
}

/// The heap's report that a watched object died: queue the callbacks of its live weakrefs,
/// newest first, for the next safe point.
fn on_death(key: usize) {
    let watchers = WATCHERS.lock().as_mut().and_then(|t| t.remove(&key));
    let Some(watchers) = watchers else { return };
    for w in watchers.into_iter().rev() {
        let w = w.into_inner();
        if let Some(r) = w.upgrade() {
            let callback = r.native::<RefData>().map(|d| d.callback.clone());
            if let Some(cb) = callback.filter(|c| !c.is_none()) {
                crate::interp::finalize::queue_call(cb, Value::Instance(r));
            }
        }
    }
}

/// The weak reference to `obj`, or CPython's error for an object that cannot have one.
fn downgrade(obj: &Value) -> PyResult<Target> {
    let out_of_place = || err!(SystemError, "weak reference anchor out of place");
    match obj {
        Value::Instance(inst) if weakrefable(&inst.class.get()) => {
            Ref::downgrade(inst).map(Target::Instance).ok_or_else(out_of_place)
        }
        Value::Class(c) => Ref::downgrade(c).map(Target::Class).ok_or_else(out_of_place),
        Value::Function(f) => Ref::downgrade(f)
            .map(Target::Function)
            .ok_or_else(out_of_place),
        Value::BoundMethod(_)
        | Value::Set(_)
        | Value::Generator(_)
        | Value::Module(_)
        | Value::Native(_) => Err(err!(
            NotImplementedError,
            "minivm cannot make weak references to '{}' objects (only to instances, classes and functions)",
            type_name(obj)
        )),
        _ => Err(err!(
            TypeError,
            "cannot create weak reference to '{}' object",
            type_name(obj)
        )),
    }
}

/// The positional arguments of `ref(obj, callback=None)`, with CPython's messages.
fn ref_args<'a>(what: &str, args: &'a [Value], kw: bool) -> PyResult<(&'a Value, Value)> {
    if kw {
        return Err(err!(TypeError, "ref() takes no keyword arguments"));
    }
    match args {
        [] => Err(err!(
            TypeError,
            "{what} expected at least 1 argument, got 0"
        )),
        [obj] => Ok((obj, Value::None)),
        [obj, cb] => Ok((obj, cb.clone())),
        more => Err(err!(
            TypeError,
            "{what} expected at most 2 arguments, got {}",
            more.len()
        )),
    }
}

/// `ReferenceType.__new__(cls, obj, callback=None)`: the weak reference is made here, as in
/// CPython (so a subclass's `__init__` may take other arguments).
fn ref_new(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let Some(Value::Class(cls)) = args.pos.first() else {
        return Err(err!(
            TypeError,
            "ReferenceType.__new__(X): X is not a type object"
        ));
    };
    let (obj, callback) = ref_args("__new__", &args.pos[1..], !args.kw.is_empty())?;
    let target = downgrade(obj)?;
    let basic = callback.is_none() && Ref::ptr_eq(cls, &ref_class());
    if basic {
        let existing = BASIC
            .lock()
            .as_ref()
            .and_then(|m| m.get(&target.key()).map(|w| (**w).clone()));
        if let Some(r) = existing.and_then(|w| w.upgrade()) {
            return Ok(Value::Instance(r));
        }
    }
    let me = Ref::new(Instance::new(cls.clone()));
    let own = if basic {
        let own = Ref::downgrade(&me)
            .ok_or_else(|| err!(SystemError, "weak reference anchor out of place"))?;
        BASIC
            .lock()
            .get_or_insert_with(HashMap::new)
            .insert(target.key(), Shared::new(own.clone()));
        Some(own)
    } else if callback.is_none() {
        None
    } else {
        let own = Ref::downgrade(&me)
            .ok_or_else(|| err!(SystemError, "weak reference anchor out of place"))?;
        target.watch();
        WATCHERS
            .lock()
            .get_or_insert_with(HashMap::new)
            .entry(target.key())
            .or_default()
            .push(Shared::new(own.clone()));
        Some(own)
    };
    me.set_native(Box::new(RefData {
        target,
        callback,
        hash: Mutex::new(None),
        own,
        basic,
    }));
    Ok(Value::Instance(me))
}

/// CPython's rule for instances: a class statement gives its instances a `__weakref__` slot
/// unless it has `__slots__` without one, and a base's slot is inherited; among the built-in
/// classes, exceptions and weak references themselves have none, the native classes (locks,
/// deques...) have one. Subclasses of `int`, `tuple` and `bytes` (CPython's variable-size
/// types) can have none.
fn weakrefable(cls: &Ref<Class>) -> bool {
    let t = crate::object::types();
    if [&t.int, &t.tuple, &t.bytes]
        .iter()
        .any(|b| cls.mro_tail.iter().any(|c| Ref::ptr_eq(c, b)))
    {
        return false;
    }
    let mut any_user = false;
    for c in std::iter::once(cls).chain(cls.mro_tail.iter()) {
        if c.builtin {
            continue;
        }
        any_user = true;
        match c.dict.read().get("__slots__") {
            None => return true,
            Some(Value::Tuple(t)) => {
                if t.items.iter().any(|n| n.as_str() == Some("__weakref__")) {
                    return true;
                }
            }
            Some(_) => return true,
        }
    }
    !any_user && cls.kind == crate::object::TypeKind::Native && !Ref::ptr_eq(cls, &ref_class())
}

/// The error of `obj.__weakref__ = v` and `del obj.__weakref__` when `inst` has the slot (a
/// read-only attribute in CPython), naming the class whose `__weakref__` descriptor it is: the
/// first class from `object` down that gave its instances the slot. `None` when it has none.
pub fn weakref_store_error(inst: &Ref<Instance>) -> Option<crate::PyErr> {
    instance_weakref(inst)?;
    let cls = inst.class.get();
    let mro = Class::mro(&cls);
    let owner = mro.iter().rev().find(|c| {
        !c.builtin
            && match c.dict.read().get("__slots__") {
                Some(Value::Tuple(t)) => t.items.iter().any(|n| n.as_str() == Some("__weakref__")),
                _ => true,
            }
    })?;
    Some(crate::err!(
        AttributeError,
        "attribute '__weakref__' of '{}' objects is not writable",
        owner.name()
    ))
}

/// `obj.__weakref__` for an instance of a class written in Python whose instances have the slot
/// (see `weakrefable`): the head of CPython's list of the object's weak references, which is
/// its plain weakref when it has one, else the weakref with a callback made last; None when it
/// has none. `None` (Rust's) when the instance has no such attribute. (A weakref of a subclass
/// of `ref` without a callback is not tracked, so it is never the answer.)
pub fn instance_weakref(inst: &Ref<Instance>) -> Option<Value> {
    let cls = inst.class.get();
    let user = !cls.builtin || cls.mro_tail.iter().any(|c| !c.builtin);
    if !user || !weakrefable(&cls) {
        return None;
    }
    if !Ref::has_weak_refs(inst) {
        return Some(Value::None);
    }
    let Some(key) = Ref::downgrade(inst).map(|w| w.key()) else {
        return Some(Value::None);
    };
    let basic = BASIC
        .lock()
        .as_ref()
        .and_then(|m| m.get(&key).map(|w| (**w).clone()));
    if let Some(r) = basic.and_then(|w| w.upgrade()) {
        return Some(Value::Instance(r));
    }
    let watchers: Vec<Weak<Instance>> = WATCHERS
        .lock()
        .as_ref()
        .and_then(|t| t.get(&key))
        .map(|list| list.iter().map(|w| (**w).clone()).collect())
        .unwrap_or_default();
    let last = watchers.iter().rev().find_map(|w| w.upgrade());
    Some(last.map_or(Value::None, Value::Instance))
}

/// `ReferenceType.__init__(self, obj, callback=None)`: only checks the arguments.
fn ref_init(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    ref_args("__init__", args.pos.get(1..).unwrap_or(&[]), false)?;
    Ok(Value::None)
}

fn referent(args: &Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<RefData>(args, "weakref.ReferenceType")?;
    Ok(d.target.upgrade().unwrap_or(Value::None))
}

/// `r()`: the object, or None once it has died.
fn ref_call(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("weakref", crate::builtins::args::Style::Positional, &[], 0)
        .method()
        .check(&args)?;
    referent(&args)
}

fn ref_callback(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<RefData>(&args, "weakref.ReferenceType")?;
    Ok(d.callback.clone())
}

/// Two weakrefs are equal if both objects live and are equal, else if they are the same
/// weakref (CPython's rule).
fn ref_eq(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (Some(a), Some(b)) = (args.pos.first(), args.pos.get(1)) else {
        return Err(err!(TypeError, "expected 1 argument"));
    };
    let (Value::Instance(ia), Value::Instance(ib)) = (a, b) else {
        return Ok(Value::NotImplemented);
    };
    let (Some(da), Some(db)) = (ia.native::<RefData>(), ib.native::<RefData>()) else {
        return Ok(Value::NotImplemented);
    };
    match (da.target.upgrade(), db.target.upgrade()) {
        (Some(x), Some(y)) => {
            let eq = interp.eq(&x, &y)?;
            Ok(Value::Bool(eq))
        }
        _ => Ok(Value::Bool(Ref::ptr_eq(ia, ib))),
    }
}

fn ref_ne(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    match ref_eq(interp, args)? {
        Value::Bool(b) => Ok(Value::Bool(!b)),
        other => Ok(other),
    }
}

/// The referent's hash, remembered; a weakref whose object died before it was hashed has none.
fn ref_hash(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<RefData>(&args, "weakref.ReferenceType")?;
    if let Some(h) = *d.hash.lock() {
        return Ok(Value::Int(h));
    }
    let Some(obj) = d.target.upgrade() else {
        return Err(err!(TypeError, "weak object has gone away"));
    };
    let h = crate::builtins::functions::py_hash(interp, &obj)?;
    *d.hash.lock() = Some(h);
    Ok(Value::Int(h))
}

/// CPython 3.11's `<weakref at 0x...; to 'Class' at 0x...>` (or `; dead>`), with the
/// object's name after it when it has one (a class, a function: `(name)`).
fn ref_repr(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (me, d) = this::<RefData>(&args, "weakref.ReferenceType")?;
    let at = Ref::as_ptr(me) as usize;
    let Some(obj) = d.target.upgrade() else {
        return Ok(Value::string(format!("<weakref at {at:#x}; dead>")));
    };
    let addr = match &obj {
        Value::Instance(i) => Ref::as_ptr(i) as usize,
        Value::Class(c) => Ref::as_ptr(c) as usize,
        Value::Function(f) => Ref::as_ptr(f) as usize,
        _ => 0,
    };
    // (CPython's lookup: an object without `__name__` is shown without one.)
    let name = match interp.getattr(&obj, "__name__") {
        Ok(Value::Str(s)) => Some(s.as_str().to_string()),
        Ok(_) => None,
        Err(e) if e.is(crate::object::ExcKind::AttributeError) => None,
        Err(e) => return Err(e),
    };
    let what = type_name(&obj);
    Ok(Value::string(match name {
        Some(n) => format!("<weakref at {at:#x}; to '{what}' at {addr:#x} ({n})>"),
        None => format!("<weakref at {at:#x}; to '{what}' at {addr:#x}>"),
    }))
}

/// `getweakrefcount(obj)`: how many weak references to `obj` exist.
fn getweakrefcount(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [obj] = Sig::pos(
        "getweakrefcount",
        crate::builtins::args::Style::Positional,
        &["object"],
        1,
    )
    .bind::<1>(&args)?;
    let used = match obj {
        Some(Value::Instance(inst)) => Ref::has_weak_refs(inst),
        Some(Value::Class(c)) => Ref::has_weak_refs(c),
        Some(Value::Function(f)) => Ref::has_weak_refs(f),
        _ => false,
    };
    match obj {
        Some(obj) if used => {
            let w = downgrade(obj)?;
            // Sharers of the slot: the anchor, `w` itself, and one per weak reference; a
            // class also has one in each base's list of subclasses (`__subclasses__`).
            let internal = match obj {
                Value::Class(c) => c.bases.len(),
                _ => 0,
            };
            Ok(Value::Int(w.sharers().saturating_sub(2 + internal) as i64))
        }
        _ => Ok(Value::Int(0)),
    }
}

/// `_flush()`: run the weakref callbacks (and other finalizers) due on this thread now, not at
/// the next safe point: the weak containers call it first, so that what they report counts the
/// deaths that already happened, as CPython's (whose callbacks run at once) do.
fn flush(interp: &mut Interp, _: Args<'_>) -> PyResult<Value> {
    interp.finalize_if_pending();
    Ok(Value::None)
}
