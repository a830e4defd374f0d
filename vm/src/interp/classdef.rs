//! Building classes: the `class` statement (`__build_class__` runs the body, then makes the
//! class from its namespace) and `type(name, bases, dict)`, with what `type.__new__` does in
//! CPython: bases resolved (`__mro_entries__`), instance layout and MRO checked, `__slots__`,
//! implicit static/class methods, `__set_name__`, `__init_subclass__`.

use std::sync::Arc;

use crate::heap::Ref;
use crate::interp::call::Kwargs;
use crate::interp::run::Exit;
use crate::interp::{Args, Interp};
use crate::object::{type_name, types, AttrMap, CellObj, Class, Dict, Instance, Payload, TypeKind};
use crate::value::Value;
use crate::{err, PyResult};

/// `__build_class__(body, name, *bases, **kw)`: run the class body in a fresh namespace, then
/// make the class.
pub fn build_class(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (Some(Value::Function(body)), Some(Value::Str(name))) = (args.pos.first(), args.pos.get(1))
    else {
        return Err(err!(TypeError, "__build_class__: bad arguments"));
    };
    let name = name.as_str();
    let (given, kw, explicit) = metaclass_bases(name, &args.pos[2..], args.kw)?;
    let resolved = resolve_bases(interp, &given)?;
    // The metaclass: the explicit one or the most derived of the bases' (CPython's rule).
    let meta = calculate_meta(explicit.unwrap_or_else(|| types().type_.clone()), &resolved)?;
    let real_meta = !Ref::ptr_eq(&meta, &types().type_);
    let (ns, prepared, mapping) = if real_meta {
        prepare(interp, &meta, name, &resolved, &kw)?
    } else {
        let ns = Ref::new(Dict::new());
        (ns.clone(), Value::Dict(ns), None)
    };
    let module = body
        .globals
        .get_str("__name__")
        .unwrap_or_else(|| Value::str("__main__"));
    // (CPython's class body stores `__module__` first, through the namespace's `__setitem__`;
    // the body itself then stores `__qualname__`.)
    match &mapping {
        Some(m) => interp.setitem(m, Value::str("__module__"), module)?,
        None => {
            ns.set_str("__module__", module);
            ns.set_str("__qualname__", Value::str(&body.code.qualname));
        }
    }
    let mut frame = interp.new_frame(body, &[], &[])?;
    frame.namespace = Some(ns.clone());
    frame.set_extras();
    frame.mapping = mapping.clone();
    let cell = match interp.run_frame(frame)? {
        Exit::Return(Value::Cell(c)) => Some(c),
        Exit::Return(_) => None,
        Exit::Yield(..) => return Err(err!(SystemError, "class body yielded")),
    };
    // As CPython's class body ends, the `__class__` cell of methods that use `super()` or
    // `__class__` goes into the namespace as `__classcell__` (a metaclass sees it there), and
    // `type.__new__` takes it out and fills it with the new class (`make_class`).
    if let Some(c) = &cell {
        let c = Value::Cell(c.clone());
        match &mapping {
            Some(m) => interp.setitem(m, Value::str("__classcell__"), c)?,
            None => ns.set_str("__classcell__", c),
        }
    }
    if resolved.len() != given.len() || resolved.iter().zip(&given).any(|(r, g)| !r.is(g)) {
        // PEP 560: the bases as written, before `__mro_entries__` replaced them.
        let orig = Value::tuple(given.clone());
        match &mapping {
            Some(m) => interp.setitem(m, Value::str("__orig_bases__"), orig)?,
            None => ns.set_str("__orig_bases__", orig),
        }
    }
    if real_meta {
        // `M(name, bases, namespace, **kw)`: the metaclass's `__new__` and `__init__` (or
        // `type.__new__`, which runs `__init_subclass__`) make the class.
        let margs = [Value::str(name), Value::tuple(resolved), prepared];
        let class_value = interp.call_kw(&Value::Class(meta), &margs, &kw)?;
        if let (Some(c), Value::Class(_)) = (&cell, &class_value) {
            check_class_cell(interp, c, name, &class_value)?;
        }
        return Ok(class_value);
    }
    let class_value = make_class(name, &resolved, &ns, None)?;
    finish_class(interp, &class_value, &kw)?;
    Ok(class_value)
}

/// After a metaclass made class `name`: the `__class__` cell must hold that class, which
/// `type.__new__` put there if the metaclass passed `__classcell__` on (CPython's errors
/// otherwise).
fn check_class_cell(
    interp: &mut Interp,
    cell: &Ref<CellObj>,
    name: &str,
    class: &Value,
) -> PyResult<()> {
    match cell.get() {
        Value::Undefined => Err(err!(
            RuntimeError,
            "__class__ not set defining '{}' as {}. Was __classcell__ propagated to \
             type.__new__?",
            name,
            interp.repr(class)?
        )),
        v if v.is(class) => Ok(()),
        v => Err(err!(
            TypeError,
            "__class__ set to {} defining '{}' as {}",
            interp.repr(&v)?,
            name,
            interp.repr(class)?
        )),
    }
}

/// The metaclass a class with these bases gets: `meta` (the explicit one, or `type`) unless a
/// base's metaclass is more derived; two unrelated ones are CPython's `TypeError`.
fn calculate_meta(meta: Ref<Class>, bases: &[Value]) -> PyResult<Ref<Class>> {
    let mut winner = meta;
    for b in bases {
        let Value::Class(b) = b else { continue };
        let m = b.metaclass.clone().unwrap_or_else(|| types().type_.clone());
        if winner.is_subclass(&m) {
            continue;
        }
        if m.is_subclass(&winner) {
            winner = m;
            continue;
        }
        return Err(err!(
            TypeError,
            "metaclass conflict: the metaclass of a derived class must be a (non-strict) \
             subclass of the metaclasses of all its bases"
        ));
    }
    Ok(winner)
}

/// The namespace a class body runs in under metaclass `meta`: what `meta.__prepare__(name,
/// bases, **kw)` returns, or a new dict. Returns the dict the body's names go to, the namespace
/// object, and that object again when it is not a plain dict whose writes the body may make
/// directly: a dict subclass with `__setitem__`/`__getitem__`/`__missing__`/`__delitem__`
/// (enum's namespace, which refuses a name defined twice) or any other mapping. The body then
/// goes through its methods (`Frame::mapping`); the dict is its own storage for a dict
/// subclass, or an unused one.
fn prepare(
    interp: &mut Interp,
    meta: &Ref<Class>,
    name: &str,
    bases: &[Value],
    kw: &[(Arc<str>, Value)],
) -> PyResult<(Ref<Dict>, Value, Option<Value>)> {
    if meta.lookup("__prepare__").is_none() {
        let ns = Ref::new(Dict::new());
        return Ok((ns.clone(), Value::Dict(ns), None));
    }
    let f = interp.getattr(&Value::Class(meta.clone()), "__prepare__")?;
    let ns = interp.call_kw(&f, &[Value::str(name), Value::tuple(bases.to_vec())], kw)?;
    if let Value::Dict(d) = &ns {
        return Ok((d.clone(), ns.clone(), None));
    }
    if let (Value::Instance(i), Some(Value::Dict(d))) = (&ns, crate::object::builtin_base(&ns)) {
        let hooks = ["__setitem__", "__getitem__", "__missing__", "__delitem__"];
        let plain = hooks.iter().all(|h| i.class.lookup(h).is_none());
        let mapping = (!plain).then(|| ns.clone());
        return Ok((d.clone(), ns.clone(), mapping));
    }
    if interp.lookup_special(&ns, "__getitem__").is_none() {
        return Err(err!(
            TypeError,
            "{}.__prepare__() must return a mapping, not {}",
            meta.name(),
            type_name(&ns)
        ));
    }
    Ok((Ref::new(Dict::new()), ns.clone(), Some(ns)))
}

/// `M(name, bases, namespace, **kw)` for a user metaclass `M` (a subclass of `type`): its
/// `__new__` (else `type.__new__`), then its `__init__` if the result is an instance of `M`.
pub fn call_metaclass(
    interp: &mut Interp,
    mcs: &Ref<Class>,
    args: &[Value],
    kw: &[(Arc<str>, Value)],
) -> PyResult<Value> {
    let this = Value::Class(mcs.clone());
    let mut full = Vec::with_capacity(args.len() + 1);
    full.push(this.clone());
    full.extend_from_slice(args);
    let result = match mcs.lookup("__new__") {
        Some(_) => {
            let new = interp.getattr(&this, "__new__")?;
            interp.call_kw(&new, &full, kw)?
        }
        None => type_new_meta(interp, Args { pos: &full, kw })?,
    };
    if let Value::Class(_) = &result {
        if crate::object::class_of(&result).is_subclass(mcs) {
            if let Some(init) = mcs.lookup("__init__") {
                full[0] = result.clone();
                interp.call_kw(&init, &full, kw)?;
            }
        }
    }
    Ok(result)
}

/// `type.__new__(mcs, name, bases, namespace, **kw)`: a class whose metaclass is `mcs` (the
/// class keywords go to `__init_subclass__`).
pub fn type_new_meta(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let Some(Value::Class(mcs)) = args.pos.first() else {
        return Err(err!(TypeError, "type.__new__(X): X is not a type object"));
    };
    if !mcs.is_subclass(&types().type_) {
        return Err(err!(
            TypeError,
            "type.__new__({}): {} is not a subtype of type",
            mcs.name(),
            mcs.name()
        ));
    }
    let [_, name, bases, dict] = args.pos else {
        return Err(err!(
            TypeError,
            "type.__new__() takes exactly 3 arguments ({} given)",
            args.pos.len() - 1
        ));
    };
    let mcs = mcs.clone();
    type_new_impl(interp, name, bases, dict, Some(mcs), args.kw)
}

/// `type(name, bases, dict)`: a class made from a namespace, as a class statement would make it.
pub fn type_new(interp: &mut Interp, name: &Value, bases: &Value, dict: &Value) -> PyResult<Value> {
    // As CPython: a base with a user metaclass hands the call to that metaclass.
    if let Value::Tuple(b) = bases {
        let meta = calculate_meta(types().type_.clone(), &b.items)?;
        if !Ref::ptr_eq(&meta, &types().type_) {
            let args = [name.clone(), bases.clone(), dict.clone()];
            return call_metaclass(interp, &meta, &args, &[]);
        }
    }
    type_new_impl(interp, name, bases, dict, None, &[])
}

/// What `type(name, bases, dict)` and `type.__new__(mcs, ...)` share.
fn type_new_impl(
    interp: &mut Interp,
    name: &Value,
    bases: &Value,
    dict: &Value,
    meta: Option<Ref<Class>>,
    kw: &[(Arc<str>, Value)],
) -> PyResult<Value> {
    let name_arg = name;
    let Some(name) = name.as_str() else {
        return Err(err!(
            TypeError,
            "type.__new__() argument 1 must be str, not {}",
            type_name(name)
        ));
    };
    let Value::Tuple(bases) = bases else {
        return Err(err!(
            TypeError,
            "type.__new__() argument 2 must be tuple, not {}",
            type_name(bases)
        ));
    };
    let Value::Dict(dict) = crate::object::builtin_base(dict).unwrap_or(dict) else {
        return Err(err!(
            TypeError,
            "type.__new__() argument 3 must be dict, not {}",
            type_name(dict)
        ));
    };
    let ns = Ref::new(Dict::new());
    // CPython takes `__module__` from the globals of the Python code calling `type()` (the
    // innermost frame waiting on a call); the dict may name another.
    let module = interp
        .caller_globals()
        .and_then(|g| g.get_str("__name__"))
        .unwrap_or_else(|| Value::str("__main__"));
    ns.set_str("__module__", module);
    for (k, v) in dict.items() {
        let key = interp.dict_key(&ns, k)?;
        ns.set(key, v);
    }
    let own_qualname = ns.get_str("__qualname__").is_some();
    let class_value = make_class(name, &bases.items, &ns, meta)?;
    // A str subclass's instance as the name is kept, as CPython keeps it (its `__qualname__`
    // too, unless the namespace gives one).
    if let (Value::Class(c), Value::Instance(_)) = (&class_value, name_arg) {
        *c.name_value.write() = Some(name_arg.clone());
        if !own_qualname {
            *c.qualname_value.write() = Some(name_arg.clone());
        }
    }
    finish_class(interp, &class_value, kw)?;
    Ok(class_value)
}

/// `metaclass=M` in a class statement: a class deriving from `type` (`abc.ABCMeta`, a program's
/// metaclass) is the explicit metaclass; other callables are refused. The other class keywords
/// go to `__init_subclass__` (or the metaclass's `__new__`/`__init__`).
fn metaclass_bases(
    name: &str,
    bases: &[Value],
    kw: &[(Arc<str>, Value)],
) -> PyResult<(Vec<Value>, Kwargs, Option<Ref<Class>>)> {
    let mut rest = Vec::with_capacity(kw.len());
    let mut explicit = None;
    for (k, v) in kw {
        if &**k != "metaclass" {
            rest.push((k.clone(), v.clone()));
            continue;
        }
        match v {
            // `type` or a real metaclass (a subclass of `type`).
            Value::Class(m) if m.kind == TypeKind::Type => explicit = Some(m.clone()),
            _ => {
                return Err(err!(
                    TypeError,
                    "minivm does not support metaclasses that are not classes deriving from \
                     type (metaclass= in class {name})"
                ))
            }
        }
    }
    Ok((bases.to_vec(), rest, explicit))
}

/// PEP 560: a base that is not a class but has `__mro_entries__` (`Generic[T]`) is replaced
/// by the classes that method returns.
fn resolve_bases(interp: &mut Interp, given: &[Value]) -> PyResult<Vec<Value>> {
    if given.iter().all(|b| matches!(b, Value::Class(_))) {
        return Ok(given.to_vec());
    }
    let original = Value::tuple(given.to_vec());
    let mut out = Vec::with_capacity(given.len());
    for b in given {
        if matches!(b, Value::Class(_)) {
            out.push(b.clone());
            continue;
        }
        // Looked up on the object itself, as CPython does (`typing.NamedTuple` is a function
        // with the attribute).
        match interp.getattr(b, "__mro_entries__") {
            Ok(m) => {
                let entries = interp.call(&m, std::slice::from_ref(&original))?;
                let Value::Tuple(t) = entries else {
                    return Err(err!(TypeError, "__mro_entries__ must return a tuple"));
                };
                out.extend(t.items.iter().cloned());
            }
            Err(e) if e.is(crate::object::ExcKind::AttributeError) => out.push(b.clone()),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The class named `name` with these bases and namespace, before `__set_name__` and
/// `__init_subclass__` run (see [`finish_class`]).
fn make_class(
    name: &str,
    given: &[Value],
    ns: &Ref<Dict>,
    meta: Option<Ref<Class>>,
) -> PyResult<Value> {
    let mut bases: Vec<Ref<Class>> = Vec::with_capacity(given.len());
    for b in given {
        match b {
            Value::Class(c) => {
                if bases.iter().any(|x| Ref::ptr_eq(x, c)) {
                    return Err(err!(TypeError, "duplicate base class {}", c.name()));
                }
                bases.push(c.clone());
            }
            other => {
                return Err(err!(
                    TypeError,
                    "bases must be types, not {}",
                    type_name(other)
                ))
            }
        }
    }
    if bases.is_empty() {
        bases.push(types().object.clone());
    }
    let base = layout_base(&bases)?;
    let meta = calculate_meta(
        meta.unwrap_or_else(|| types().type_.clone()),
        &bases.iter().cloned().map(Value::Class).collect::<Vec<_>>(),
    )?;
    let metaclass = (!Ref::ptr_eq(&meta, &types().type_)).then_some(meta);
    let mro_tail = match crate::object::class::c3_mro_tail(&bases) {
        Ok(m) => m,
        Err(heads) => {
            let names: Vec<Arc<str>> = heads.iter().map(|b| b.name()).collect();
            return Err(err!(
                TypeError,
                "Cannot create a consistent method resolution\norder (MRO) for bases {}",
                names.join(", ")
            ));
        }
    };
    let mut dict = AttrMap::default();
    for (k, v) in ns.items() {
        if let Some(s) = k.as_str() {
            dict.insert(Arc::from(s), v);
        }
    }
    if base.kind == TypeKind::Type {
        check_metaclass_hooks(&dict, name)?;
    }
    let slots = take_slots(&mut dict, name)?;
    // The class body's `__class__` cell (see `build_class`): filled below with the new class.
    let class_cell = match dict.shift_remove("__classcell__") {
        None => None,
        Some(Value::Cell(c)) => Some(c),
        Some(other) => {
            return Err(err!(
                TypeError,
                "__classcell__ must be a nonlocal cell, not <class '{}'>",
                type_name(&other)
            ))
        }
    };
    // As in CPython, `__new__` is a static method and `__init_subclass__` and
    // `__class_getitem__` class methods even without the decorators.
    for (hook, kind) in [
        ("__new__", &types().staticmethod),
        ("__init_subclass__", &types().classmethod),
        ("__class_getitem__", &types().classmethod),
    ] {
        if let Some(f @ Value::Function(_)) = dict.get(hook).cloned() {
            let wrapped = Instance::with_payload(kind.clone(), Payload::Wrapped(f));
            dict.insert(Arc::from(hook), Value::Instance(Ref::new(wrapped)));
        }
    }
    // As in CPython's `type_new`, every class has its own `__doc__` (None without a
    // docstring), so an instance of a subclass reads its class's, not a base's.
    if !dict.contains_key("__doc__") {
        dict.insert(Arc::from("__doc__"), Value::None);
    }
    // As in CPython, a class that defines `__eq__` but not `__hash__` is unhashable.
    if dict.contains_key("__eq__") && !dict.contains_key("__hash__") {
        dict.insert(Arc::from("__hash__"), Value::None);
    }
    // As CPython's `type_new`, the class keeps its qualified name outside its dict (so
    // `vars(C)` does not list `__qualname__`), and one that is not a str (or a subclass's
    // instance) is refused.
    let mut qualname_value = None;
    let qualname = match dict.shift_remove("__qualname__") {
        None => Arc::from(name),
        Some(v) => match v
            .as_str()
            .or_else(|| crate::object::builtin_base(&v).and_then(|b| b.as_str()))
        {
            Some(text) => {
                let text = Arc::from(text);
                if matches!(v, Value::Instance(_)) {
                    qualname_value = Some(v);
                }
                text
            }
            None => {
                return Err(err!(
                    TypeError,
                    "type __qualname__ must be a str, not {}",
                    type_name(&v)
                ))
            }
        },
    };
    let module = dict
        .get("__module__")
        .and_then(|v| v.as_str().map(Arc::from))
        .unwrap_or_else(|| Arc::from("__main__"));
    let cls = Ref::new(Class {
        name_cell: crate::heap::ObjCell::new(Arc::from(name)),
        qualname_cell: crate::heap::ObjCell::new(qualname),
        qualname_value: crate::heap::ObjCell::new(qualname_value),
        name_value: crate::heap::ObjCell::new(None),
        module,
        kind: base.kind,
        base: Some(base),
        bases,
        mro_tail,
        dict: crate::heap::ObjCell::new(dict),
        builtin: false,
        cache: Default::default(),
        shared_methods: Default::default(),
        flags: Default::default(),
        slot_cache: Default::default(),
        ctor: Default::default(),
        attr_hint: Default::default(),
        immutable: Default::default(),
        metaclass,
        subclasses: Default::default(),
        weak: Default::default(),
    });
    Class::register_subclass(&cls);
    if let Some(c) = class_cell {
        c.set(Value::Class(cls.clone()));
    }
    // Free-threaded model: a top-level class is shared by every thread that makes instances or
    // looks up methods; CPython 3.13t makes classes immortal for that reason (see
    // `Function::share_if_top_level`). Classes made inside functions stay counted.
    if !cls.qualname().contains('<') {
        Ref::immortalize(&cls);
    }
    for slot in slots {
        let member = Payload::Member {
            name: slot.clone(),
            owner: cls.name().clone(),
        };
        let member = Instance::with_payload(types().member_descriptor.clone(), member);
        cls.dict
            .write()
            .insert(slot, Value::Instance(Ref::new(member)));
    }
    crate::object::class_changed();
    if cls.lookup("__del__").is_some() {
        crate::interp::finalize::register_del_class(&cls);
    }
    Ok(Value::Class(cls))
}

/// The base whose instance layout a new class takes: bases with different Rust layouts (an
/// exception and a thread, two different native classes, a list and a dict) cannot be
/// combined, as in CPython.
fn layout_base(bases: &[Ref<Class>]) -> PyResult<Ref<Class>> {
    for b in bases {
        check_subclassable(b)?;
    }
    let solid: Vec<&Ref<Class>> = bases
        .iter()
        .filter(|b| b.kind != TypeKind::Object)
        .collect();
    let base = solid
        .first()
        .map_or_else(|| bases[0].clone(), |b| (*b).clone());
    if solid.iter().any(|b| {
        b.kind != base.kind
            || (b.kind == TypeKind::Native
                && !base.is_subclass(b)
                && !b.is_subclass(&base)
                && !Ref::ptr_eq(&Class::layout_root(b), &Class::layout_root(&base)))
    }) {
        return Err(err!(
            TypeError,
            "multiple bases have instance lay-out conflict"
        ));
    }
    Ok(base)
}

/// `obj.__class__ = new` (CPython's `object_set_class`): both classes must be user classes
/// whose instances have the same layout (the same built-in base, the same `__slots__`, both
/// with or both without a `__dict__`); the instance then is one of `new`, keeping its
/// attributes. Free-threaded, the class pointer is replaced with every other thread stopped, as
/// CPython 3.13t's `object_set_class` does: no thread is reading it meanwhile, and each sees the
/// new class once it goes on (the world's lock orders the store before its reads).
pub(crate) fn set_instance_class(
    interp: &mut Interp,
    inst: &Ref<Instance>,
    new: &Value,
) -> PyResult<()> {
    let Value::Class(new) = new else {
        return Err(err!(
            TypeError,
            "__class__ must be set to a class, not '{}' object",
            type_name(new)
        ));
    };
    let old: &Ref<Class> = &inst.class.get();
    let immutable = |c: &Class| c.builtin || c.immutable.load(std::sync::atomic::Ordering::Relaxed);
    if immutable(new) || immutable(old) {
        return Err(err!(
            TypeError,
            "__class__ assignment only supported for mutable types or ModuleType subclasses"
        ));
    }
    let same_native = old.kind != TypeKind::Native
        || Ref::ptr_eq(&Class::layout_root(old), &Class::layout_root(new));
    // The nearest built-in class up the layout bases must be the same one: an exception class
    // takes only a class of the same built-in exception (CPython: `ValueError` and `TypeError`
    // instances differ in layout).
    let builtin_base = |c: &Ref<Class>| {
        let mut c = c.clone();
        while let (false, Some(b)) = (c.builtin, c.base.clone()) {
            c = b;
        }
        c
    };
    let dictless = |c: &Class| c.attr_flags() & crate::object::DICTLESS != 0;
    if old.kind != new.kind
        || !same_native
        || !Ref::ptr_eq(&builtin_base(old), &builtin_base(new))
        || dictless(old) != dictless(new)
        || slot_names(old) != slot_names(new)
    {
        return Err(err!(
            TypeError,
            "__class__ assignment: '{}' object layout differs from '{}'",
            new.name(),
            old.name()
        ));
    }
    let replacement = new.clone();
    interp.stop_the_world_lending(None, || inst.class.replace(replacement));
    if new.lookup("__del__").is_some() {
        crate::interp::finalize::register_del_class(new);
    }
    Ok(())
}

/// `obj.__class__ = new` for an object that is not an instance of a user class: CPython's
/// errors (a module may take a `ModuleType` subclass there, which minivm's modules cannot).
pub(crate) fn class_store_refused(obj: &Value, new: &Value) -> crate::error::PyErr {
    let Value::Class(new) = new else {
        return err!(
            TypeError,
            "__class__ must be set to a class, not '{}' object",
            type_name(new)
        );
    };
    let module_type = |c: &Ref<Class>| c.builtin && &*c.name() == "module";
    if matches!(obj, Value::Module(_)) && Class::mro(new).iter().any(module_type) {
        return err!(
            NotImplementedError,
            "minivm cannot change a module's __class__"
        );
    }
    err!(
        TypeError,
        "__class__ assignment only supported for mutable types or ModuleType subclasses"
    )
}

/// The `__slots__` members of a class and its bases, base first, each class's sorted: the part of an instance's
/// layout that `__class__` assignment must keep.
fn slot_names(cls: &Ref<Class>) -> Vec<Arc<str>> {
    let mut names = Vec::new();
    for c in cls.mro_tail.iter().rev().chain(std::iter::once(cls)) {
        // Each class's own, sorted (CPython keeps `ht_slots` sorted).
        let start = names.len();
        for v in c.dict.read().values() {
            if let Value::Instance(i) = v {
                if let Payload::Member { name, .. } = &i.payload {
                    names.push(name.clone());
                }
            }
        }
        names[start..].sort();
    }
    names
}

/// What `type.__new__` does once the class exists: `__set_name__(owner, name)` on every
/// attribute that defines it, then the base's `__init_subclass__(**class keywords)`.
fn finish_class(
    interp: &mut Interp,
    class_value: &Value,
    kw: &[(Arc<str>, Value)],
) -> PyResult<()> {
    let Value::Class(cls) = class_value else {
        return Ok(());
    };
    let attrs: Vec<(Arc<str>, Value)> = cls
        .dict
        .read()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (attr, v) in attrs {
        if let Value::Instance(d) = &v {
            if d.class.builtin {
                // A property learns its name (for its error messages), as CPython's does.
                if matches!(d.payload, crate::object::Payload::Property { .. }) {
                    crate::builtins::name_property(d, &attr);
                }
                continue;
            }
            if let Some(set_name) =
                crate::interp::special::lookup_special_on(&d.class.get(), "__set_name__")
            {
                let name = Value::str(&attr);
                let r = interp.call(&set_name, &[v.clone(), class_value.clone(), name.clone()]);
                if let Err(e) = r {
                    // Python 3.11 raises a RuntimeError from the error (3.12 adds a note).
                    let new = err!(
                        RuntimeError,
                        "Error calling __set_name__ on '{}' instance {} in '{}'",
                        d.class.get().name(),
                        interp.repr(&name)?,
                        cls.name()
                    );
                    interp.chain_context(&new, Some(e.value()));
                    if let Some(data) = new.exc.exc() {
                        let mut data = data.lock();
                        data.cause = Some(e.value());
                        data.suppress_context = true;
                    }
                    return Err(new);
                }
            }
        }
    }
    let hook = cls
        .mro_tail
        .iter()
        .find_map(|c| c.dict.read().get("__init_subclass__").cloned());
    // CPython calls `super(C, C).__init_subclass__(**kw)`: the value found after C in its MRO,
    // bound as C's attribute (a class method to C; a plain function set on a base after it was
    // made is not bound, so it gets the keywords only).
    match hook {
        // `object.__init_subclass__`, a class method in CPython (its error names the class).
        Some(native @ Value::Native(_)) => {
            interp.call_kw(&native, std::slice::from_ref(class_value), kw)?;
        }
        Some(v) => {
            let f = interp.class_value_get(cls, v)?;
            interp.call_kw(&f, &[], kw)?;
        }
        None if !kw.is_empty() => {
            return Err(err!(
                TypeError,
                "{}.__init_subclass__() takes no keyword arguments",
                cls.name()
            ));
        }
        None => {}
    }
    Ok(())
}

/// May a class statement name `b` as a base? User classes, exceptions, native classes and the
/// built-in data types may be subclassed; the other built-in types either cannot be in CPython
/// either (`bool`, `range`, `function`...) or are not supported as bases by minivm.
fn check_subclassable(b: &Ref<Class>) -> PyResult<()> {
    use TypeKind as K;
    // Classes minivm writes as native (or library) classes that CPython's C types make final:
    // its message names them by `tp_name`, the module before the name unless it is builtins.
    // (Not `re.Pattern`/`re.Match`, final too: the library's own classes subclass the native
    // ones of those names.)
    const FINAL: &[(&str, &str)] = &[
        ("builtins", "memoryview"),
        ("builtins", "mappingproxy"),
        ("builtins", "code"),
        ("builtins", "frame"),
        ("_thread", "lock"),
        ("operator", "itemgetter"),
        ("operator", "attrgetter"),
        ("operator", "methodcaller"),
    ];
    let (module, name) = (&*b.module, b.name());
    if FINAL.contains(&(module, &*name)) {
        let shown = if module == "builtins" {
            name.to_string()
        } else {
            format!("{module}.{name}")
        };
        return Err(err!(
            TypeError,
            "type '{shown}' is not an acceptable base type"
        ));
    }
    match b.kind {
        // `type` too: a metaclass.
        K::Object | K::Exception | K::Native | K::Type | K::Property => Ok(()),
        k if crate::object::is_data_kind(k) => Ok(()),
        K::Iterator
            if crate::builtins::iter_functions::ITERATOR_TYPES
                .iter()
                .any(|(n, _)| **n == *b.name()) =>
        {
            Err(err!(
                TypeError,
                "minivm cannot subclass the built-in type '{}'",
                b.name()
            ))
        }
        K::Super | K::StaticMethod | K::ClassMethod | K::Module => Err(err!(
            TypeError,
            "minivm cannot subclass the built-in type '{}'",
            b.name()
        )),
        _ => Err(err!(
            TypeError,
            "type '{}' is not an acceptable base type",
            b.name()
        )),
    }
}

/// Take `__slots__` out of a class body's namespace: the slot names (a string or an iterable of
/// strings; `'__dict__'` keeps a `__dict__`), stored back as a tuple as CPython does. A slot
/// may not also be a class variable.
fn take_slots(dict: &mut AttrMap, class: &str) -> PyResult<Vec<Arc<str>>> {
    let Some(raw) = dict.get("__slots__").cloned() else {
        return Ok(Vec::new());
    };
    let items: Vec<Value> = match &raw {
        Value::Str(_) => vec![raw.clone()],
        Value::Tuple(t) => t.items.to_vec(),
        Value::List(l) => l.snapshot(),
        Value::Dict(d) => d.items().into_iter().map(|(k, _)| k).collect(),
        other => {
            return Err(err!(
            TypeError,
            "minivm supports __slots__ as a string, tuple, list or dict, not '{}' (class {class})",
            type_name(other)
        ))
        }
    };
    let mut names = Vec::with_capacity(items.len());
    for item in &items {
        let Some(n) = item.as_str() else {
            return Err(err!(
                TypeError,
                "__slots__ items must be strings, not '{}'",
                type_name(item)
            ));
        };
        let valid = n
            .chars()
            .next()
            .is_some_and(|c| c == '_' || c.is_alphabetic())
            && n.chars().all(|c| c == '_' || c.is_alphanumeric());
        if !valid {
            return Err(err!(TypeError, "__slots__ must be identifiers"));
        }
        if n == "__dict__" {
            continue;
        }
        if dict.contains_key(n) {
            return Err(err!(
                ValueError,
                "'{n}' in __slots__ conflicts with class variable"
            ));
        }
        // A private slot name (`__x`) is mangled as the class body's `self.__x` is, as CPython
        // does: the member is `_C__x` (the check above, as CPython's, is on the name as written).
        let mangled = minivm_compiler::symtable::mangle(class, n);
        // Interned, as the names of code objects are: the attribute instructions' fast paths
        // recognise the member's own name by pointer (`interp/attr.rs`).
        names.push(crate::object::intern_name(mangled.as_deref().unwrap_or(n)));
    }
    dict.insert(Arc::from("__slots__"), Value::tuple(items));
    Ok(names)
}

/// A metaclass's special methods that minivm honours on its classes: making them
/// (`__new__ __init__ __call__ __prepare__`), attribute fallback (`__getattr__`), `repr`,
/// `isinstance`/`issubclass` hooks (`__instancecheck__ __subclasscheck__`) and the container
/// protocol (`bool len iter reversed in C[k]`, as `enum` needs), `== != hash() format()`.
/// Any other (`__getattribute__`, `__sizeof__`...) would be silently ignored by the operations
/// on classes, so it is refused when the metaclass is made.
const METACLASS_HOOKS: &[&str] = &[
    // The binary operators, their reflected and in-place forms.
    "__add__",
    "__sub__",
    "__mul__",
    "__matmul__",
    "__truediv__",
    "__floordiv__",
    "__mod__",
    "__pow__",
    "__lshift__",
    "__rshift__",
    "__and__",
    "__or__",
    "__xor__",
    "__radd__",
    "__rsub__",
    "__rmul__",
    "__rmatmul__",
    "__rtruediv__",
    "__rfloordiv__",
    "__rmod__",
    "__rpow__",
    "__rlshift__",
    "__rrshift__",
    "__rand__",
    "__ror__",
    "__rxor__",
    "__iadd__",
    "__isub__",
    "__imul__",
    "__imatmul__",
    "__itruediv__",
    "__ifloordiv__",
    "__imod__",
    "__ipow__",
    "__ilshift__",
    "__irshift__",
    "__iand__",
    "__ior__",
    "__ixor__",
    "__new__",
    "__init__",
    "__call__",
    "__prepare__",
    "__getattr__",
    "__repr__",
    "__str__",
    "__setattr__",
    "__delattr__",
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
    "__neg__",
    "__pos__",
    "__invert__",
    "__abs__",
    "__instancecheck__",
    "__subclasscheck__",
    "__eq__",
    "__ne__",
    "__hash__",
    "__format__",
    "__bool__",
    "__len__",
    "__iter__",
    "__reversed__",
    "__contains__",
    "__getitem__",
    "__module__",
    "__qualname__",
    "__doc__",
    "__slots__",
    "__annotations__",
    "__init_subclass__",
    "__class_getitem__",
    "__orig_bases__",
    "__classcell__",
    "__set_name__",
];

/// Refuse the special methods of a metaclass that minivm would ignore (see [`METACLASS_HOOKS`]).
fn check_metaclass_hooks(dict: &AttrMap, class: &str) -> PyResult<()> {
    for (k, v) in dict {
        // Methods only: a property such as `__members__` is an ordinary attribute.
        let method = matches!(v, Value::Function(_));
        if method && k.starts_with("__") && k.ends_with("__") && !METACLASS_HOOKS.contains(&&**k) {
            return Err(err!(
                TypeError,
                "minivm does not support the special method '{k}' on a metaclass (class {class})"
            ));
        }
    }
    Ok(())
}

/// CPython's error for assigning one of `type`'s own attributes that minivm cannot change on a
/// class: the read-only members (`__mro__`, `__base__`...), the computed `__dict__`, and
/// `__bases__` (CPython recomputes the MRO; minivm refuses, after CPython's type checks).
/// `None`: an ordinary class attribute, stored as usual.
#[cold]
pub(crate) fn class_store_error(cls: &Class, name: &str, v: &Value) -> Option<crate::PyErr> {
    match name {
        "__mro__" | "__base__" | "__basicsize__" | "__itemsize__" | "__flags__"
        | "__weakrefoffset__" | "__dictoffset__" => {
            Some(err!(AttributeError, "readonly attribute"))
        }
        "__dict__" | "__text_signature__" => Some(err!(
            AttributeError,
            "attribute '{name}' of 'type' objects is not writable"
        )),
        "__bases__" => Some(match v {
            Value::Tuple(t) if t.items.is_empty() => err!(
                TypeError,
                "can only assign non-empty tuple to {}.__bases__, not ()",
                cls.name()
            ),
            Value::Tuple(_) => err!(
                NotImplementedError,
                "minivm cannot change the bases of a class ({}.__bases__)",
                cls.name()
            ),
            other => err!(
                TypeError,
                "can only assign tuple to {}.__bases__, not {}",
                cls.name(),
                type_name(other)
            ),
        }),
        _ => None,
    }
}
