//! Stage 4 (VM), the interpreter.
//! Subclasses of the built-in data types (`class L(list)`, `class D(dict)`, `class S(str)`):
//! making their instances (`__new__`, `__init__`) and the special methods of the built-in types
//! as values (`dict.__getitem__`, `super().__setitem__(k, v)`), which CPython calls slot wrappers.
//!
//! An instance of such a class carries the built-in value it is ([`Payload::Builtin`]). Every
//! built-in operation on an instance first asks the class for a special method the program wrote
//! (`__getitem__`, `__len__`, ...) and otherwise works on that value: see the `builtin_base`
//! fallbacks in `ops.rs`, `subscr.rs`, `iter.rs`, `repr.rs`. The methods of the built-in type
//! itself (`append`, `keys`, ...) receive the value in place of the instance (`call.rs`).

use std::sync::Arc;

use minivm_compiler::bytecode::{BinOp, CmpOp};

use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{
    builtin_base, is_data_kind, type_name, Class, Instance, NativeFn, NativeFunction, Payload,
    TypeKind,
};
use crate::value::Value;
use crate::{err, PyResult};

impl Interp {
    /// `T.__new__(cls, *args, **kw)` for a class laid out as a built-in data type `T`: a mutable
    /// base (list, dict, set, bytearray) starts empty and ignores the arguments, which are
    /// `__init__`'s; an immutable one is built from them, as `T(*args, **kw)` would be.
    pub(crate) fn new_builtin_subclass(
        &mut self,
        cls: &Ref<Class>,
        args: &[Value],
        kw: &[(Arc<str>, Value)],
    ) -> PyResult<Value> {
        let root = Class::layout_root(cls);
        if cls.builtin {
            // `list.__new__(list, [1])` is an empty list, as CPython's: a mutable value's
            // contents come from `__init__`. An immutable one is made from the arguments.
            let args = if is_mutable(cls.kind) { &[][..] } else { args };
            let kw = if is_mutable(cls.kind) { &[][..] } else { kw };
            return crate::builtins::construct(self, cls, Args { pos: args, kw });
        }
        let inst = if is_mutable(cls.kind) {
            Instance::new(cls.clone())
        } else {
            set_arity(cls, args)?;
            let value = crate::builtins::construct(self, &root, Args { pos: args, kw })?;
            Instance::with_payload(cls.clone(), Payload::Builtin { value })
        };
        Ok(Value::Instance(Ref::new(inst)))
    }

    /// `T.__init__(self, *args, **kw)`: a mutable built-in value takes the contents `T(*args,
    /// **kw)` would have (a dict keeps its items and is updated, as CPython's); an immutable one
    /// was made by `__new__` and ignores them.
    fn builtin_init(
        &mut self,
        this: &Value,
        args: &[Value],
        kw: &[(Arc<str>, Value)],
    ) -> PyResult<()> {
        let target = builtin_base(this).unwrap_or(this);
        let root = crate::object::class_of(target);
        if !is_mutable(root.kind) {
            return Ok(());
        }
        let fresh = crate::builtins::construct(self, &root, Args { pos: args, kw })?;
        match (target, &fresh) {
            (Value::List(l), Value::List(f)) => *l.items.lock() = f.snapshot(),
            (Value::Set(s), Value::Set(f)) => {
                let items = f.items.lock().clone();
                *s.items.lock() = items;
            }
            (Value::ByteArray(b), Value::ByteArray(f)) => {
                let data = f.snapshot();
                let mut old = b.data.lock();
                b.check_resize(old.len(), data.len())?;
                *old = data;
            }
            (Value::Dict(_), Value::Dict(_)) => self.dict_update(target, &fresh, false)?,
            _ => {}
        }
        Ok(())
    }

    /// The dict to copy items from when `src` is the source of `dict(src)`, `d.update(src)` or
    /// `{**src}`: the dict inside an instance of a dict subclass that does not override
    /// `__iter__` (CPython copies it directly, without calling `keys()` or `__getitem__`), or
    /// of an `OrderedDict` (whose dict keeps its order): CPython calls its `keys()` and
    /// `__getitem__` there, C functions that read the dict in that order in one step under the
    /// GIL, so unless a subclass replaced them this is the same copy, made in one step
    /// free-threaded too (walking it in Python, another thread's deletion between a key and its
    /// lookup raised KeyError).
    pub(crate) fn plain_dict_of(&self, src: &Value) -> Value {
        let Some(base @ Value::Dict(_)) = builtin_base(src) else {
            return src.clone();
        };
        match self.lookup_special(src, "__iter__") {
            None => base.clone(),
            Some(f)
                if walks_dict_in_order(&f)
                    && self
                        .lookup_special(src, "keys")
                        .is_some_and(|k| walks_dict_in_order(&k))
                    && self.lookup_special(src, "__getitem__").is_none() =>
            {
                base.clone()
            }
            _ => src.clone(),
        }
    }

    /// The dict whose pairs `OrderedDict.update(src)` may copy in one step (`_dict_pairs`):
    /// `src` itself, or the dict inside an instance of a dict subclass whose `keys()` and
    /// `__getitem__` are dict's own or `OrderedDict`'s (CPython's update, C, calls `keys()` and
    /// `__getitem__` of anything but an exact dict; those of dict and OrderedDict are C too,
    /// one step under the GIL). `None` for any other mapping: its methods are called.
    pub(crate) fn dict_to_copy(&self, src: &Value) -> Option<Ref<crate::object::Dict>> {
        let Some(Value::Dict(d)) = builtin_base(src).or(Some(src)) else {
            return None;
        };
        if matches!(src, Value::Dict(_)) {
            return Some(d.clone());
        }
        let keys_own = self
            .lookup_special(src, "keys")
            .is_none_or(|k| walks_dict_in_order(&k));
        (keys_own && self.lookup_special(src, "__getitem__").is_none()).then(|| d.clone())
    }

    /// `obj[key]` on the built-in value inside an instance; for a dict, a missing key goes to the
    /// class's `__missing__` (as `dict.__getitem__` does for subclasses).
    pub(crate) fn base_getitem(
        &mut self,
        obj: &Value,
        base: &Value,
        key: &Value,
    ) -> PyResult<Value> {
        let Value::Dict(d) = base else {
            return self.getitem(base, key);
        };
        if let Some(v) = self.with_resolved_read(d, key, |map, k| map.get(&k).cloned())? {
            return Ok(v);
        }
        match self.lookup_special(obj, "__missing__") {
            Some(m) => {
                // Free-threaded, a `__missing__` may name what the miss runs instead, to fill
                // the key in one step with other threads' stores (`collections.defaultdict`).
                let fill = match crate::heap::model() {
                    crate::heap::Model::FreeThreaded => self.getattr(&m, "_on_subscript").ok(),
                    crate::heap::Model::Gil => None,
                };
                self.call(fill.as_ref().unwrap_or(&m), &[obj.clone(), key.clone()])
            }
            None => Err(crate::PyErr::with_args(
                crate::object::ExcKind::KeyError,
                vec![key.clone()],
            )),
        }
    }
}

/// The arguments a method of a built-in type gets when some are instances of subclasses of
/// built-in types (`None` when none is, the common case): the receiver becomes the value inside
/// it, and so do the text and number arguments of a `str` or `bytes` method, which only read
/// their value (`'ab'.startswith(Name('a'))`). Other arguments stay instances (`l.append(Stack())`
/// appends the instance, `s.format_map(Default())` looks keys up through the subclass).
pub fn unwrapped_args(n: &NativeFunction, args: &[Value]) -> Option<Vec<Value>> {
    if !n.unwraps_receiver || !args.iter().any(|a| matches!(a, Value::Instance(_))) {
        return None;
    }
    let receiver = builtin_base(args.first()?).or(args.first())?;
    let text = matches!(receiver, Value::Str(_) | Value::Bytes(_));
    if !text && builtin_base(&args[0]).is_none() {
        return None;
    }
    let mut pos = args.to_vec();
    for (i, a) in pos.iter_mut().enumerate() {
        if let Some(base) = builtin_base(a) {
            // A container stays an instance: `'{k}'.format_map(Default())` must reach the
            // subclass's `__missing__`.
            let scalar = !matches!(
                base,
                Value::Dict(_) | Value::List(_) | Value::Tuple(_) | Value::Set(_)
            );
            if i == 0 || (text && scalar) {
                *a = base.clone();
            }
        }
    }
    Some(pos)
}

/// A method of a built-in type called with a subclass's instance (unwrapped by
/// [`unwrapped_args`]) that refused the value inside as its receiver
/// (`frozenset.union(S())` for `class S(set)`): CPython's message names the instance's own
/// class ('S'), not the built-in type of the value inside ('set').
pub fn name_receiver(
    e: crate::PyErr,
    given: Option<&Value>,
    inner: Option<&Value>,
) -> crate::PyErr {
    let (Some(given), Some(inner)) = (given, inner) else {
        return e;
    };
    if !e.is(crate::object::ExcKind::TypeError) {
        return e;
    }
    let tail = format!("doesn't apply to a '{}' object", type_name(inner));
    match e.args().as_slice() {
        [Value::Str(m)] if m.as_str().ends_with(&tail) => {
            let head = &m.as_str()[..m.as_str().len() - tail.len()];
            crate::PyErr::new(
                crate::object::ExcKind::TypeError,
                format!("{head}doesn't apply to a '{}' object", type_name(given)),
            )
        }
        _ => e,
    }
}

/// Is a value of this kind changed in place (so `__new__` makes it empty and `__init__` fills it)?
fn is_mutable(kind: TypeKind) -> bool {
    matches!(
        kind,
        TypeKind::List | TypeKind::Dict | TypeKind::Set | TypeKind::ByteArray
    )
}

/// The special method `name` of a built-in type (`list.__len__`, `int.__add__`,
/// `object.__repr__`) as a function value, or `None` if that type has no such method. `cls` may
/// be a subclass: the method is the one of the built-in type whose layout it has. Each is made
/// once per type and kept, so `dict.__repr__ is dict.__repr__`.
pub fn slot_of(cls: &Ref<Class>, name: &str) -> Option<Value> {
    let root = Class::layout_root(cls);
    if name == "__hash__" && unhashable(&root) {
        return Some(Value::None);
    }
    let types = crate::object::types();
    own_slot(&root, name)
        // bool inherits every special method of int (`True.__index__`, `True.__add__`).
        .or_else(|| match root.kind {
            TypeKind::Bool => own_slot(&types.int, name),
            _ => None,
        })
        .or_else(|| own_slot(&types.object, name))
}

/// The special method `name` of built-in type `root` itself (not inherited from `object`).
pub fn own_slot(root: &Ref<Class>, name: &str) -> Option<Value> {
    if !has_slot(root.kind, name)
        || not_iterable_generator(root, name)
        || values_contains(root, name)
    {
        return None;
    }
    if let Some(v) = root.slot_cache.lock().get(name) {
        return Some(v.clone());
    }
    let table = match root.kind {
        k if is_data_kind(k) || k == TypeKind::DictView => find_table(name)?,
        TypeKind::Exception => EXCEPTION_SLOTS,
        TypeKind::Module => MODULE_SLOTS,
        TypeKind::Type if name == "__init__" => TYPE_SLOTS,
        _ => OBJECT_SLOTS,
    };
    let (name, f) = table.iter().find(|(n, _)| *n == name)?;
    // A slot wrapper is a descriptor in CPython: stored in another class's body
    // (`add = int.__add__`), it binds the instance it is looked up on.
    // Every such method checks its receiver against the type (`range.__len__()`,
    // `generator.__next__([])`), but for `object`'s, which take anything, `__new__`, whose first
    // argument is a class, and the exceptions' and modules', which check their own.
    let checked = !matches!(
        root.kind,
        TypeKind::Object | TypeKind::Exception | TypeKind::Module
    ) && *name != "__new__";
    let v = Value::Native(Ref::new(NativeFunction {
        binds: true,
        kind: crate::object::NativeKind::of_method(&root.name(), name),
        owner: checked.then(|| root.clone()),
        ..NativeFunction::new(name, *f)
    }));
    // The first one kept wins: with `--gil off` two threads may both have missed above, and
    // each must answer the object that stays, or `Counter.__setitem__ is dict.__setitem__`
    // is False for one of them (Counter.update then took its slow, lossy path).
    let kept = root
        .slot_cache
        .lock()
        .entry(Arc::from(*name))
        .or_insert(v)
        .clone();
    Some(kept)
}

/// The special methods a built-in type has, as its `__dict__` lists them: the slot wrappers,
/// and `__hash__ = None` for the mutable types.
pub fn slots_of(cls: &Ref<Class>) -> Vec<(Arc<str>, Value)> {
    let mut out = Vec::new();
    for (name, _) in [
        BINARY_SLOTS,
        INPLACE_SLOTS,
        COMPARE_SLOTS,
        OTHER_SLOTS,
        OBJECT_SLOTS,
        EXCEPTION_SLOTS,
    ]
    .into_iter()
    .flatten()
    {
        if let Some(v) = own_slot(cls, name) {
            out.push((Arc::from(*name), v));
        }
    }
    if unhashable(cls) {
        out.retain(|(n, _)| &**n != "__hash__");
        out.push((Arc::from("__hash__"), Value::None));
    }
    out
}

/// The value [`slots_of`] lists for `name` (a special method `cls` has, as its `__dict__` shows
/// it), without making the whole list.
pub fn listed_slot(cls: &Ref<Class>, name: &str) -> Option<Value> {
    if name == "__hash__" && unhashable(cls) {
        return Some(Value::None);
    }
    own_slot(cls, name)
}

/// The built-in types whose `__hash__` is None: the mutable ones and the set-like dict views.
fn unhashable(root: &Ref<Class>) -> bool {
    let types = crate::object::types();
    is_mutable(root.kind)
        || Ref::ptr_eq(root, &types.dict_keys)
        || Ref::ptr_eq(root, &types.dict_items)
}

/// Coroutines and async generators share the generator's type kind but, as in CPython, are not
/// iterators: they have no `__iter__` or `__next__` (so `isinstance(c, Iterator)` is False).
fn not_iterable_generator(root: &Ref<Class>, name: &str) -> bool {
    let types = crate::object::types();
    matches!(name, "__iter__" | "__next__")
        && (Ref::ptr_eq(root, &types.coroutine) || Ref::ptr_eq(root, &types.async_generator))
}

/// A values view has no `__contains__` in CPython (`x in d.values()` iterates it), unlike the
/// keys and items views that share its type kind.
fn values_contains(root: &Ref<Class>, name: &str) -> bool {
    name == "__contains__" && Ref::ptr_eq(root, &crate::object::types().dict_values)
}

/// Which special methods each built-in type has (the ones every data type has come first).
fn has_slot(kind: TypeKind, name: &str) -> bool {
    use TypeKind::*;
    if !is_data_kind(kind) {
        return match kind {
            Object => matches!(
                name,
                "__init__"
                    | "__repr__"
                    | "__str__"
                    | "__eq__"
                    | "__ne__"
                    | "__hash__"
                    | "__format__"
            ),
            Iterator | Generator => matches!(name, "__iter__" | "__next__"),
            Exception => matches!(name, "__repr__" | "__str__"),
            Module => name == "__repr__",
            DictView => matches!(
                name,
                "__iter__" | "__len__" | "__contains__" | "__reversed__"
            ),
            Function | BuiltinFunction | Method => name == "__call__",
            Type => matches!(name, "__call__" | "__init__"),
            Range => matches!(
                name,
                "__bool__"
                    | "__len__"
                    | "__iter__"
                    | "__contains__"
                    | "__getitem__"
                    | "__reversed__"
            ),
            NoneType => name == "__bool__",
            _ => false,
        };
    }
    let number = matches!(kind, Int | Float);
    let sequence = matches!(kind, Str | Bytes | ByteArray | Tuple | List);
    let set = matches!(kind, Set | FrozenSet);
    match name {
        "__new__" | "__repr__" | "__str__" | "__hash__" | "__eq__" | "__ne__" | "__lt__"
        | "__le__" | "__gt__" | "__ge__" => true,
        // The immutable types are made whole by `__new__` and keep `object.__init__`; only
        // numbers and text have a `__format__` of their own (`list.__format__` is object's).
        "__init__" => is_mutable(kind),
        "__format__" => matches!(kind, Int | Float | Str),
        "__len__" | "__iter__" | "__contains__" => !number,
        "__getitem__" => sequence || kind == Dict,
        "__setitem__" | "__delitem__" => matches!(kind, List | Dict | ByteArray),
        "__reversed__" => matches!(kind, List | Dict),
        "__add__" | "__mul__" | "__rmul__" => number || sequence,
        "__iadd__" | "__imul__" => matches!(kind, List | ByteArray),
        "__mod__" | "__rmod__" => number || matches!(kind, Str | Bytes | ByteArray),
        "__or__" | "__ror__" => kind == Int || set || kind == Dict,
        "__and__" | "__xor__" | "__rand__" | "__rxor__" => kind == Int || set,
        "__sub__" | "__rsub__" => number || set,
        "__ior__" => matches!(kind, Set | Dict),
        "__iand__" | "__ixor__" | "__isub__" => kind == Set,
        "__radd__" | "__truediv__" | "__rtruediv__" | "__floordiv__" | "__rfloordiv__"
        | "__pow__" | "__rpow__" | "__neg__" | "__pos__" | "__abs__" | "__bool__" | "__int__"
        | "__float__" => number,
        "__index__" | "__lshift__" | "__rshift__" | "__rlshift__" | "__rrshift__"
        | "__invert__" => kind == Int,
        "__divmod__" | "__rdivmod__" | "__round__" | "__trunc__" | "__floor__" | "__ceil__" => {
            number
        }
        "__getnewargs__" => matches!(kind, Int | Float | Str | Bytes | Tuple),
        "__bytes__" => kind == Bytes,
        _ => false,
    }
}

/// Refuses a call of a built-in type's special method (see `NativeFunction::owner`) whose
/// receiver is missing or not a value of that type, in CPython's words for a slot wrapper
/// (`float.__add__`) or a method (`float.__round__`).
pub fn check_owner(n: &NativeFunction, owner: &Ref<Class>, args: &[Value]) -> PyResult<()> {
    let got = args.first();
    if got.is_some_and(|v| crate::object::class_of(v).is_subclass(owner)) {
        return Ok(());
    }
    let ty = owner.name();
    Err(match (n.kind, got) {
        (_, None) => crate::builtins::args::missing_receiver(&ty, n.name),
        (crate::object::NativeKind::SlotWrapper, _) => {
            crate::builtins::args::slot_receiver_error(&ty, n.name, got)
        }
        (_, Some(v)) => crate::builtins::args::descriptor_error(&ty, n.name, v),
    })
}

/// The receiver of a slot wrapper: an instance of a subclass gives its built-in value; an
/// instance of an unrelated class is refused (its own special method may be calling the slot).
fn receiver<'a>(name: &str, args: &Args<'a>) -> PyResult<&'a Value> {
    let Some(this) = args.pos.first() else {
        return Err(err!(
            TypeError,
            "descriptor '{name}' of built-in type needs an argument"
        ));
    };
    check_arity(name, this, args)?;
    match this {
        Value::Instance(i) if i.class.builtin => Ok(this),
        Value::Instance(_) => builtin_base(this).ok_or_else(|| {
            err!(
                TypeError,
                "descriptor '{name}' of a built-in type doesn't apply to a '{}' object",
                type_name(this)
            )
        }),
        other => Ok(other),
    }
}

/// How many arguments (after the receiver) a special method takes, as CPython checks them
/// before running it: a slot wrapper (`int.__add__`) says "expected 1 argument, got 2", a method
/// (`int.__floor__`) "int.__floor__() takes no arguments (1 given)". `None`: checked by the
/// method itself (`__new__`, `__init__`, `__pow__`, `__round__`, `__call__`).
fn arity(name: &str) -> Option<(usize, bool)> {
    const WRAPPER: bool = false;
    const METHOD: bool = true;
    Some(match name {
        "__new__" | "__init__" | "__pow__" | "__rpow__" | "__round__" | "__call__" => return None,
        "__hash__" | "__bool__" | "__neg__" | "__pos__" | "__invert__" | "__abs__" | "__int__"
        | "__index__" | "__float__" | "__len__" | "__iter__" | "__repr__" | "__str__"
        | "__next__" => (0, WRAPPER),
        "__setitem__" => (2, WRAPPER),
        "__floor__" | "__ceil__" | "__trunc__" | "__getnewargs__" | "__bytes__"
        | "__reversed__" => (0, METHOD),
        "__format__" | "__getitem__" => (1, METHOD),
        // Binary, reflected, in-place and comparison operators, __contains__, __delitem__,
        // __divmod__.
        _ => (1, WRAPPER),
    })
}

/// CPython's argument check of special method `name` called on `this` (see [`arity`]): an
/// assignment such as `__add__ = int.__hash__` in a subclass must fail as CPython's does, not
/// ignore the extra argument.
fn check_arity(name: &str, this: &Value, args: &Args) -> PyResult<()> {
    let Some((wanted, method)) = arity(name) else {
        return Ok(());
    };
    let given = args.pos.len().saturating_sub(1);
    let owner = || {
        let base = builtin_base(this).unwrap_or(this);
        crate::object::builtin_class(base).name()
    };
    if !args.kw.is_empty() {
        return Err(match method {
            true => err!(TypeError, "{}.{name}() takes no keyword arguments", owner()),
            false => err!(TypeError, "wrapper {name}() takes no keyword arguments"),
        });
    }
    if given == wanted {
        return Ok(());
    }
    Err(match (method, wanted) {
        (true, 0) => err!(
            TypeError,
            "{}.{name}() takes no arguments ({given} given)",
            owner()
        ),
        (true, _) => err!(
            TypeError,
            "{}.{name}() takes exactly one argument ({given} given)",
            owner()
        ),
        (false, 0) => err!(TypeError, "expected 0 arguments, got {given}"),
        (false, 1) => err!(TypeError, "expected 1 argument, got {given}"),
        // `__setitem__`: CPython unpacks its arguments under an empty function name, hence
        // the message's leading space.
        (false, _) => err!(TypeError, " expected {wanted} arguments, got {given}"),
    })
}

/// The `i`th argument after the receiver of slot wrapper `name` (`usize::MAX`: the receiver).
fn arg<'a>(name: &str, args: &Args<'a>, i: usize) -> PyResult<&'a Value> {
    if i == usize::MAX {
        // Only `object`'s special methods ask for their receiver here (the data types' are
        // checked by the call, `check_owner`).
        let this = args
            .pos
            .first()
            .ok_or_else(|| crate::builtins::args::missing_receiver("object", name))?;
        check_arity(name, this, args)?;
        return Ok(this);
    }
    args.pos.get(i.wrapping_add(1)).ok_or_else(|| {
        err!(
            TypeError,
            "{name} expected {} argument{}, got {}",
            i + 1,
            if i == 0 { "" } else { "s" },
            args.pos.len().saturating_sub(1)
        )
    })
}

/// `self op other` on the built-in value, `NotImplemented` when the types do not mix (as the
/// slot wrappers return, so `int.__add__(1, 'a')` lets Python try `'a'.__radd__`).
fn binary_slot(interp: &mut Interp, op: BinOp, a: &Value, b: &Value) -> PyResult<Value> {
    match interp.binary(op, a, b) {
        Err(e) if e.is(crate::object::ExcKind::TypeError) => Ok(Value::NotImplemented),
        r => r,
    }
}

/// An int's arithmetic and comparison slots take ints only: `(1).__add__(0.5)` is
/// NotImplemented, so that Python goes on to `float.__radd__`, as in CPython; a float's take
/// ints and floats: `float.__add__(1.0, 1j)` is NotImplemented (then `complex.__radd__`).
fn number_with_other(a: &Value, b: &Value) -> bool {
    let int = |v: &Value| matches!(v, Value::Int(_) | Value::BigInt(_) | Value::Bool(_));
    match a {
        Value::Float(_) => !int(b) && !matches!(b, Value::Float(_)),
        _ => int(a) && !int(b),
    }
}

fn compare_slot(interp: &mut Interp, op: CmpOp, args: Args) -> PyResult<Value> {
    let a = receiver(op_name(op), &args)?;
    let b = arg(op_name(op), &args, 0)?;
    let b = builtin_base(b).unwrap_or(b);
    if number_with_other(a, b) {
        return Ok(Value::NotImplemented);
    }
    match interp.compare(op, a, b) {
        Err(e) if e.is(crate::object::ExcKind::TypeError) => Ok(Value::NotImplemented),
        r => r,
    }
}

fn op_name(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "__eq__",
        CmpOp::NotEq => "__ne__",
        CmpOp::Lt => "__lt__",
        CmpOp::LtE => "__le__",
        CmpOp::Gt => "__gt__",
        _ => "__ge__",
    }
}

/// str, bytes, bytearray, tuple and list: the values whose `__add__`, `__mul__` and `__rmul__`
/// are CPython's sequence slots (and str's and bytes' `__mod__` their formatting).
fn is_sequence(v: &Value) -> bool {
    matches!(
        v,
        Value::Str(_) | Value::Bytes(_) | Value::ByteArray(_) | Value::Tuple(_) | Value::List(_)
    )
}

/// The count of a sequence's `__mul__` or `__rmul__` (`list.__mul__(x, n)`), as
/// CPython's wrapper converts it (`PyNumber_AsSsize_t`): an int or an object with `__index__`;
/// anything else is "'str' object cannot be interpreted as an integer", not `NotImplemented`
/// (the wrapper has no other operand to try), and a big int is `OverflowError`.
fn sequence_count(interp: &mut Interp, n: &Value) -> PyResult<Value> {
    let Some(n) = interp.number_index(n)? else {
        return Err(err!(
            TypeError,
            "'{}' object cannot be interpreted as an integer",
            type_name(n)
        ));
    };
    match crate::builtins::args::index_sized(&n) {
        Some(Err(e)) => Err(e),
        _ => Ok(n),
    }
}

/// A sequence's own `__add__`, `__mul__`, `__rmul__` or `__mod__` called as a method
/// (`str.__add__('a', 1)`, `[1].__mul__('2')`): CPython's wrappers of `sq_concat`,
/// `sq_repeat` and str's and bytes' `%` raise the operation's `TypeError` (they are the last
/// resort of `a + b`, after both operands' number slots), so no `NotImplemented`; and a
/// concatenation never hands the other operand's `__radd__` a turn. `None`: not such a call.
/// An operator asks them leniently instead ([`operator_slot`]).
fn sequence_slot(
    interp: &mut Interp,
    op: BinOp,
    reflected: bool,
    a: &Value,
    b: &Value,
) -> Option<PyResult<Value>> {
    if !is_sequence(a) {
        return None;
    }
    Some(match (op, reflected) {
        (BinOp::Mul, _) => sequence_count(interp, b).and_then(|n| interp.binary(op, a, &n)),
        (BinOp::Add, false) => {
            if matches!(b, Value::Instance(i) if !i.class.builtin) {
                let t = type_name(a);
                Err(match a {
                    Value::Bytes(_) | Value::ByteArray(_) => {
                        err!(TypeError, "can't concat {} to {t}", type_name(b))
                    }
                    _ => err!(
                        TypeError,
                        "can only concatenate {t} (not \"{}\") to {t}",
                        type_name(b)
                    ),
                })
            } else {
                interp.binary(op, a, b)
            }
        }
        (BinOp::Mod, false) if !matches!(a, Value::Tuple(_) | Value::List(_)) => {
            interp.binary(op, a, b)
        }
        _ => return None,
    })
}

/// The built-in `name` (a binary slot wrapper) of the sequence `x` asked by an operator on
/// `x` and `y` (`S('a') + R()` with `class S(str)` asks `str.__add__`): as a number slot,
/// `NotImplemented` when the types do not mix, so that `y`'s reflected method gets its turn
/// (what `binary` does after both is the sequence's error). `None`: `x` is no sequence, or
/// `name` none of these, so the method is called as it is.
pub fn operator_slot(
    interp: &mut Interp,
    name: &str,
    x: &Value,
    y: &Value,
) -> Option<PyResult<Value>> {
    let (op, reflected) = match name {
        "__add__" => (BinOp::Add, false),
        "__mul__" => (BinOp::Mul, false),
        "__rmul__" => (BinOp::Mul, true),
        "__mod__" => (BinOp::Mod, false),
        _ => return None,
    };
    let a = builtin_base(x).unwrap_or(x);
    if !is_sequence(a) {
        return None;
    }
    let b = builtin_base(y).unwrap_or(y);
    Some(if reflected {
        binary_slot(interp, op, b, a)
    } else {
        binary_slot(interp, op, a, b)
    })
}

/// A binary slot wrapper: `$op` applied to (receiver, argument), or reflected.
macro_rules! binary_slots {
    ($($name:literal => $op:ident, $rname:literal),* $(,)?) => {
        &[$(
            ($name, |interp, args| {
                let a = receiver($name, &args)?;
                let b = arg($name, &args, 0)?;
                let b = builtin_base(b).unwrap_or(b);
                if number_with_other(a, b) {
                    return Ok(Value::NotImplemented);
                }
                if let Some(r) = sequence_slot(interp, BinOp::$op, false, a, b) {
                    return r;
                }
                binary_slot(interp, BinOp::$op, a, b)
            }),
            ($rname, |interp, args| {
                let a = receiver($rname, &args)?;
                let b = arg($rname, &args, 0)?;
                let b = builtin_base(b).unwrap_or(b).clone();
                if number_with_other(a, &b) {
                    return Ok(Value::NotImplemented);
                }
                if let Some(r) = sequence_slot(interp, BinOp::$op, true, a, &b) {
                    return r;
                }
                binary_slot(interp, BinOp::$op, &b, a)
            }),
        )*]
    };
}

const BINARY_SLOTS: &[(&str, NativeFn)] = binary_slots! {
    "__add__" => Add, "__radd__",
    "__sub__" => Sub, "__rsub__",
    "__mul__" => Mul, "__rmul__",
    "__truediv__" => Div, "__rtruediv__",
    "__floordiv__" => FloorDiv, "__rfloordiv__",
    "__mod__" => Mod, "__rmod__",
    "__pow__" => Pow, "__rpow__",
    "__lshift__" => LShift, "__rlshift__",
    "__rshift__" => RShift, "__rrshift__",
    "__or__" => BitOr, "__ror__",
    "__and__" => BitAnd, "__rand__",
    "__xor__" => BitXor, "__rxor__",
};

/// An in-place slot wrapper (`list.__iadd__`): changes the value, returns the receiver itself.
macro_rules! inplace_slots {
    ($($name:literal => $op:ident),* $(,)?) => {
        &[$(
            ($name, |interp, args| {
                let a = receiver($name, &args)?;
                let b = arg($name, &args, 0)?;
                // (`list.__imul__(l, n)` reads `n` as an index, as `sequence_slot` does.)
                if matches!(BinOp::$op, BinOp::Mul) && is_sequence(a) {
                    let n = sequence_count(interp, b)?;
                    interp.inplace(BinOp::$op, a, &n)?;
                    return Ok(args.pos[0].clone());
                }
                interp.inplace(BinOp::$op, a, b)?;
                Ok(args.pos[0].clone())
            }),
        )*]
    };
}

const INPLACE_SLOTS: &[(&str, NativeFn)] = inplace_slots! {
    "__iadd__" => Add, "__imul__" => Mul, "__ior__" => BitOr, "__iand__" => BitAnd,
    "__ixor__" => BitXor, "__isub__" => Sub,
};

/// A comparison slot wrapper.
macro_rules! compare_slots {
    ($($name:literal => $op:ident),* $(,)?) => {
        &[$(($name, |interp, args| compare_slot(interp, CmpOp::$op, args)),)*]
    };
}

const COMPARE_SLOTS: &[(&str, NativeFn)] = compare_slots! {
    "__eq__" => Eq, "__ne__" => NotEq, "__lt__" => Lt, "__le__" => LtE, "__gt__" => Gt,
    "__ge__" => GtE,
};

/// The other special methods, each the operation the VM runs for it, on the built-in value.
const OTHER_SLOTS: &[(&str, NativeFn)] = &[
    ("__new__", |interp, args| {
        let Some(Value::Class(cls)) = args.pos.first() else {
            return Err(err!(TypeError, "__new__(X): X is not a type object"));
        };
        let cls = cls.clone();
        interp.new_builtin_subclass(&cls, &args.pos[1..], args.kw)
    }),
    ("__init__", |interp, args| {
        let this = receiver("__init__", &args)?;
        if let Some(Value::Instance(i)) = args.pos.first() {
            set_arity(&i.class.get(), &args.pos[1..])?;
        }
        interp.builtin_init(this, &args.pos[1..], args.kw)?;
        Ok(Value::None)
    }),
    ("__getitem__", |interp, args| {
        let base = receiver("__getitem__", &args)?;
        let key = arg("__getitem__", &args, 0)?;
        interp.base_getitem(&args.pos[0], base, key)
    }),
    ("__setitem__", |interp, args| {
        let base = receiver("__setitem__", &args)?;
        let key = arg("__setitem__", &args, 0)?;
        let v = arg("__setitem__", &args, 1)?;
        interp.setitem(base, key.clone(), v.clone())?;
        Ok(Value::None)
    }),
    ("__delitem__", |interp, args| {
        let base = receiver("__delitem__", &args)?;
        let key = arg("__delitem__", &args, 0)?;
        interp.delitem(base, key)?;
        Ok(Value::None)
    }),
    ("__len__", |interp, args| {
        let base = receiver("__len__", &args)?;
        crate::builtins::functions::length(interp, base).map(Value::Int)
    }),
    ("__contains__", |interp, args| {
        let base = receiver("__contains__", &args)?;
        let x = arg("__contains__", &args, 0)?;
        interp.contains(base, x).map(Value::Bool)
    }),
    ("__iter__", |interp, args| {
        let base = receiver("__iter__", &args)?;
        interp.get_iter(base)
    }),
    ("__repr__", |interp, args| {
        let base = receiver("__repr__", &args)?;
        match args.pos.first() {
            // `set.__repr__(tags)` names the subclass as `repr(tags)` does.
            Some(Value::Instance(inst)) if !inst.class.builtin => {
                let mut out = String::new();
                interp.write_base_repr(base, &inst.class.name(), &mut out)?;
                Ok(Value::string(out))
            }
            _ => interp.repr(base).map(Value::string),
        }
    }),
    ("__str__", |interp, args| {
        let base = receiver("__str__", &args)?;
        interp.str_of(base).map(Value::string)
    }),
    ("__format__", |interp, args| {
        let base = receiver("__format__", &args)?;
        let spec = arg("__format__", &args, 0)?;
        interp.format_value(base, None, Some(spec))
    }),
    ("__hash__", |interp, args| {
        let base = receiver("__hash__", &args)?;
        crate::builtins::functions::py_hash(interp, base).map(Value::Int)
    }),
    ("__bool__", |interp, args| {
        let base = receiver("__bool__", &args)?;
        interp.truthy(base).map(Value::Bool)
    }),
    ("__neg__", |interp, args| {
        let base = receiver("__neg__", &args)?;
        interp.unary_neg(base)
    }),
    ("__pos__", |interp, args| {
        let base = receiver("__pos__", &args)?;
        interp.unary_pos(base)
    }),
    ("__invert__", |interp, args| {
        let base = receiver("__invert__", &args)?;
        interp.unary_invert(base)
    }),
    ("__abs__", |interp, args| {
        builtin_of_base(interp, "__abs__", "abs", args)
    }),
    ("__reversed__", |interp, args| {
        builtin_of_base(interp, "__reversed__", "reversed", args)
    }),
    ("__int__", |interp, args| {
        builtin_of_base(interp, "__int__", "int", args)
    }),
    ("__index__", |interp, args| {
        builtin_of_base(interp, "__index__", "int", args)
    }),
    ("__float__", |interp, args| {
        builtin_of_base(interp, "__float__", "float", args)
    }),
    ("__round__", |interp, args| {
        builtin_of_base(interp, "__round__", "round", args)
    }),
    ("__divmod__", |interp, args| {
        divmod_slot(interp, "__divmod__", args, false)
    }),
    ("__rdivmod__", |interp, args| {
        divmod_slot(interp, "__rdivmod__", args, true)
    }),
    // An int is its own floor, ceiling and truncation; a float's is an int (math's functions,
    // which CPython's float methods are).
    ("__trunc__", |interp, args| {
        builtin_of_base(interp, "__trunc__", "int", args)
    }),
    ("__floor__", |interp, args| {
        rounded_by(interp, "__floor__", "floor", args)
    }),
    ("__ceil__", |interp, args| {
        rounded_by(interp, "__ceil__", "ceil", args)
    }),
    ("__getnewargs__", |interp, args| {
        // The plain built-in value, as `copy` and `pickle` rebuild a subclass instance from.
        let base = receiver("__getnewargs__", &args)?.clone();
        let plain = match base {
            // `int.__getnewargs__` of a bool: the plain int, as CPython's (`(1,)` for True).
            Value::Bool(b) => Value::Int(i64::from(b)),
            base => {
                let f = Value::Class(crate::object::class_of(&base));
                interp.call(&f, &[base])?
            }
        };
        Ok(Value::tuple(vec![plain]))
    }),
    ("__bytes__", |interp, args| {
        builtin_of_base(interp, "__bytes__", "bytes", args)
    }),
];

/// `divmod(self, other)` (`divmod(other, self)` reflected), NotImplemented when the types do
/// not mix, as the binary slots.
fn divmod_slot(interp: &mut Interp, name: &str, args: Args, reflected: bool) -> PyResult<Value> {
    let a = receiver(name, &args)?.clone();
    let b = arg(name, &args, 0)?;
    let b = builtin_base(b).unwrap_or(b).clone();
    if number_with_other(&a, &b) {
        return Ok(Value::NotImplemented);
    }
    let pair = if reflected { [b, a] } else { [a, b] };
    match call_builtin(interp, "divmod", pair.to_vec()) {
        Err(e) if e.is(crate::object::ExcKind::TypeError) => Ok(Value::NotImplemented),
        r => r,
    }
}

/// The built-in function `f` called with `args`.
fn call_builtin(interp: &mut Interp, f: &str, args: Vec<Value>) -> PyResult<Value> {
    let f = interp.vm.builtins.get_str(f).unwrap_or(Value::None);
    interp.call(&f, &args)
}

/// `math.floor(base)` / `math.ceil(base)` of a number's receiver.
fn rounded_by(interp: &mut Interp, slot: &str, f: &str, args: Args) -> PyResult<Value> {
    let base = receiver(slot, &args)?.clone();
    let math = interp.import_module("math")?;
    let f = interp.getattr(&math, f)?;
    interp.call(&f, &[base])
}

/// `f(base, *rest)` for the built-in function or type `f` (`abs`, `int`, `round`), where
/// `rest` are the slot wrapper's other arguments (`x.__round__(2)`).
fn builtin_of_base(interp: &mut Interp, slot: &str, f: &str, args: Args) -> PyResult<Value> {
    let base = receiver(slot, &args)?.clone();
    let f = interp.vm.builtins.get_str(f).unwrap_or(Value::None);
    let mut all = vec![base];
    all.extend(args.pos.iter().skip(1).cloned());
    interp.call_kw(&f, &all, args.kw)
}

/// The table of the slot wrapper named `name`.
fn find_table(name: &str) -> Option<&'static [(&'static str, NativeFn)]> {
    [BINARY_SLOTS, INPLACE_SLOTS, COMPARE_SLOTS, OTHER_SLOTS]
        .into_iter()
        .find(|t| t.iter().any(|(n, _)| *n == name))
}

/// `object.__init__(self, *args, **kwargs)`: does nothing, but refuses arguments as CPython's
/// does when they cannot have been meant for it: the class (or a base before `object`) has an
/// `__init__` of its own, so they came from a `super().__init__(x)` that reached `object`; or it
/// has no `__new__` of its own either, so nothing took them.
fn object_init(args: Args<'_>) -> PyResult<Value> {
    let Some(this) = args.pos.first() else {
        return Err(crate::builtins::args::slot_receiver_error(
            "object", "__init__", None,
        ));
    };
    if args.pos.len() > 1 || !args.kw.is_empty() {
        let cls = crate::object::class_of(this);
        if defined_before_object(&cls, "__init__") {
            return Err(err!(
                TypeError,
                "object.__init__() takes exactly one argument (the instance to initialize)"
            ));
        }
        if !defined_before_object(&cls, "__new__") {
            return Err(err!(
                TypeError,
                "{}.__init__() takes exactly one argument (the instance to initialize)",
                cls.name()
            ));
        }
    }
    Ok(Value::None)
}

/// Does a class of `cls`'s MRO before `object` define `name`, in its body or as a built-in
/// type's own special method (every built-in type but `object` has its own `__new__`)?
fn defined_before_object(cls: &Ref<Class>, name: &str) -> bool {
    let object = &crate::object::types().object;
    std::iter::once(cls)
        .chain(cls.mro_tail.iter())
        .take_while(|c| !Ref::ptr_eq(c, object))
        .any(|c| {
            c.dict.read().get(name).is_some()
                || (c.builtin && (name == "__new__" || own_slot(c, name).is_some()))
        })
}

/// `type.__init__(cls, name, bases, dict)`: the class is already made by `type.__new__`; this
/// only checks the arguments as CPython's does (a metaclass's `super().__init__(...)` reaches it).
const TYPE_SLOTS: &[(&str, NativeFn)] = &[("__init__", |_, args| {
    match args.pos.first() {
        Some(Value::Class(_)) => {}
        got => {
            return Err(crate::builtins::args::slot_receiver_error(
                "type", "__init__", got,
            ))
        }
    }
    let n = args.pos.len() - 1;
    if n == 1 && !args.kw.is_empty() {
        return Err(err!(
            TypeError,
            "type.__init__() takes no keyword arguments"
        ));
    }
    if n != 1 && n != 3 {
        return Err(err!(TypeError, "type.__init__() takes 1 or 3 arguments"));
    }
    Ok(Value::None)
})];

/// The exception a `BaseException` slot wrapper was called on, checked.
fn exception_slot_receiver<'a>(args: &Args<'a>, meth: &str) -> PyResult<&'a Ref<Instance>> {
    let first = args.pos.first();
    first
        .and_then(crate::builtins::misc_methods::exc_parts)
        .map(|(inst, _)| inst)
        .ok_or_else(|| crate::builtins::args::slot_receiver_error("BaseException", meth, first))
}

/// `BaseException.__repr__` and `__str__`.
const EXCEPTION_SLOTS: &[(&str, NativeFn)] = &[
    ("__repr__", |interp, args| {
        let inst = exception_slot_receiver(&args, "__repr__")?;
        let mut out = String::new();
        interp.write_exception_repr(inst, &mut out)?;
        Ok(Value::string(out))
    }),
    ("__str__", |interp, args| {
        let inst = exception_slot_receiver(&args, "__str__")?;
        interp.exception_str(inst).map(Value::string)
    }),
];

/// The special method of the module type: `<module 'os' (frozen)>`, what `repr()` says.
/// (An instance of a program's subclass of it is shown as `object` shows it.)
const MODULE_SLOTS: &[(&str, NativeFn)] = &[("__repr__", |interp, args| {
    match arg("__repr__", &args, usize::MAX)? {
        m @ Value::Module(_) => interp.repr(m).map(Value::string),
        other => Ok(Value::string(interp.default_repr(other))),
    }
})];

/// The special methods of `object` (and of iterators and callables, which need no receiver
/// check): defaults every class inherits.
const OBJECT_SLOTS: &[(&str, NativeFn)] = &[
    ("__init__", |_, args| object_init(args)),
    ("__repr__", |interp, args| {
        let this = arg("__repr__", &args, usize::MAX)?;
        Ok(Value::string(interp.default_repr(this)))
    }),
    ("__str__", |interp, args| {
        let this = arg("__str__", &args, usize::MAX)?;
        interp.repr(this).map(Value::string)
    }),
    ("__eq__", |_, args| {
        let this = arg("__eq__", &args, usize::MAX)?;
        let other = arg("__eq__", &args, 0)?;
        Ok(if this.is(other) {
            Value::Bool(true)
        } else {
            Value::NotImplemented
        })
    }),
    // `object.__ne__`: the inverse of the receiver's own `__eq__`, one-sided: when that says
    // `NotImplemented`, so does this (the `!=` operator then tries the other operand).
    ("__ne__", |interp, args| {
        let this = arg("__ne__", &args, usize::MAX)?;
        let other = arg("__ne__", &args, 0)?;
        let eq = interp.getattr(this, "__eq__")?;
        match interp.call(&eq, std::slice::from_ref(other))? {
            Value::NotImplemented => Ok(Value::NotImplemented),
            r => Ok(Value::Bool(!interp.truthy(&r)?)),
        }
    }),
    ("__hash__", |_, args| {
        // By identity (a class's own `__hash__` may be what calls this).
        let this = arg("__hash__", &args, usize::MAX)?;
        let h = crate::object::HashKey::from_value(this.clone())?.hash as i64;
        Ok(Value::Int(if h == -1 { -2 } else { h }))
    }),
    ("__format__", |interp, args| {
        let this = arg("__format__", &args, usize::MAX)?;
        let spec = arg("__format__", &args, 0)?;
        if spec.as_str().is_some_and(|s| !s.is_empty()) {
            return Err(err!(
                TypeError,
                "unsupported format string passed to {}.__format__",
                type_name(this)
            ));
        }
        interp.str_of(this).map(Value::string)
    }),
    ("__iter__", |interp, args| {
        let this = arg("__iter__", &args, usize::MAX)?;
        interp.get_iter(this)
    }),
    ("__next__", |interp, args| {
        let this = arg("__next__", &args, usize::MAX)?;
        match interp.iter_next(this)? {
            Some(v) => Ok(v),
            None => Err(interp.gen_stop_iteration()),
        }
    }),
    // `range` and `None` (whose classes carry no slot table of their own).
    ("__bool__", |interp, args| {
        let this = arg("__bool__", &args, usize::MAX)?;
        interp.truthy(this).map(Value::Bool)
    }),
    ("__len__", |interp, args| {
        let this = arg("__len__", &args, usize::MAX)?.clone();
        call_builtin(interp, "len", vec![this])
    }),
    ("__reversed__", |interp, args| {
        let this = arg("__reversed__", &args, usize::MAX)?.clone();
        call_builtin(interp, "reversed", vec![this])
    }),
    ("__contains__", |interp, args| {
        let this = arg("__contains__", &args, usize::MAX)?;
        let item = arg("__contains__", &args, 0)?;
        interp.contains(this, item).map(Value::Bool)
    }),
    ("__getitem__", |interp, args| {
        let this = arg("__getitem__", &args, usize::MAX)?;
        let key = arg("__getitem__", &args, 0)?;
        interp.getitem(this, key)
    }),
    ("__call__", |interp, args| {
        let this = arg("__call__", &args, usize::MAX)?;
        match this {
            // `type.__call__(cls, ...)` (`super().__call__(...)` in a metaclass): a new
            // instance, without going through the metaclass's own `__call__` again.
            Value::Class(c) => interp.instantiate_type(&c.clone(), &args.pos[1..], args.kw),
            _ => interp.call_kw(this, &args.pos[1..], args.kw),
        }
    }),
];

/// Is `f` one of `OrderedDict`'s walks of its dict in the dict's own order (`__iter__`, `keys`:
/// marked `_walks_dict` in `vm/lib/collections/`)?
fn walks_dict_in_order(f: &Value) -> bool {
    matches!(f, Value::Function(f) if f.attrs.read().contains_key("_walks_dict"))
}

/// A set or frozenset subclass given more than one positional argument: CPython names the
/// subclass ("S expected at most 1 argument, got 2"), where the built-in names itself.
fn set_arity(cls: &Ref<Class>, args: &[Value]) -> PyResult<()> {
    let root = Class::layout_root(cls);
    if matches!(root.kind, TypeKind::Set | TypeKind::FrozenSet) && args.len() > 1 {
        return Err(crate::err!(
            TypeError,
            "{} expected at most 1 argument, got {}",
            cls.name(),
            args.len()
        ));
    }
    Ok(())
}
