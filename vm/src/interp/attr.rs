//! Stage 4 (VM), the interpreter.
//! Attributes: `obj.name` lookup (instance dict, then the class chain, binding methods), assignment,
//! deletion, `super()`, and building classes from a class body.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use minivm_compiler::bytecode::Op;

use crate::builtins::prop_missing_error;
use crate::heap::Ref;
use crate::interp::code::InlineCache;
use crate::interp::frame::{Frame, Resumed};
use crate::interp::subclass::slot_of;
use crate::interp::{Args, Interp};
use crate::object::{
    class_of, descriptor_name_bit, type_name, types, Class, Ctor, Dict, InstDict, Instance, Layout,
    NameRef, NativeFunction, Payload, TypeKind, BUILTIN_TYPE, DICTLESS, HAS_GETATTR,
    HAS_GETATTRIBUTE, HAS_PROPERTY, HAS_SETATTR, PLAIN_SLOTS,
};
use crate::value::Value;
use crate::{err, PyErr, PyResult};

/// What `load_attr_or_getter` found: the attribute's value, or a property getter's frame to run
/// (its return value is the attribute's).
pub(crate) enum AttrRead {
    Value(Value),
    Getter(Box<Frame>),
}

impl Interp {
    /// `obj.name`
    pub fn getattr(&mut self, obj: &Value, name: &str) -> PyResult<Value> {
        let r = self.getattr_inner(obj, name);
        if let Err(e) = &r {
            // As CPython does, for the "Did you mean" hint of the traceback (interp/suggest.rs).
            crate::interp::suggest::attach_attribute_context(e, obj, name);
        }
        r
    }

    fn getattr_inner(&mut self, obj: &Value, name: &str) -> PyResult<Value> {
        match obj {
            Value::Instance(inst) => self.instance_getattr(obj, inst, name),
            Value::Class(cls) => self.class_getattr(cls, name),
            Value::Module(m) => match m.dict.get_str(name) {
                Some(v) => Ok(v),
                None => self.module_missing_attr(m, name),
            },
            Value::Function(f) => match crate::builtins::attrs::function_attr(f, name) {
                Some(v) => Ok(v),
                // The namespace of builtins its code reads: the globals' `__builtins__` (a
                // module's dict, or a dict), else builtins', as CPython's.
                None if name == "__builtins__" => Ok(match f.globals.get_str("__builtins__") {
                    Some(Value::Module(m)) => Value::Dict(m.dict.clone()),
                    Some(d @ Value::Dict(_)) => d,
                    _ => Value::Dict((*self.vm.builtins).clone()),
                }),
                None => self.function_object_method(obj, name),
            },
            Value::Native(n) if name == "__name__" => Ok(Value::str(n.name)),
            // A built-in type's method: `str.upper` (CPython's descriptors' qualified name).
            Value::Native(n) if name == "__qualname__" => Ok(match self.native_owner(n) {
                Some(owner) => Value::str(&format!("{owner}.{}", n.name)),
                None => Value::str(n.name),
            }),
            // A built-in type's method names its type (`str.upper.__objclass__` is str,
            // `list.extend`'s is list), which doctest's finder reads to tell where a method
            // taken from a built-in type came from; a bound one (`[].append`) has none.
            Value::Native(n)
                if name == "__objclass__" && n.kind != crate::object::NativeKind::Function =>
            {
                match self.native_owner_class(n) {
                    Some(c) => Ok(Value::Class(c)),
                    None => Err(no_attr(obj, name)),
                }
            }
            // `dict.fromkeys`, `bytes.fromhex`... are class methods, bound to their type (kept
            // unbound for their fast path).
            Value::Native(n) if name == "__self__" && constructor_owner(n).is_some() => {
                Ok(constructor_owner(n).map_or(Value::None, Value::Class))
            }
            // A module-level function's `__self__` is its module (`len.__self__` is builtins).
            Value::Native(n) if name == "__self__" => self.native_module(n).ok_or_else(|| {
                err!(
                    AttributeError,
                    "'builtin_function_or_method' object has no attribute '__self__' (minivm \
                     finds the module of a built-in function only among the imported modules)"
                )
            }),
            // The functions of `builtins` carry CPython's docstrings (`builtins/docs.rs`).
            Value::Native(n) if name == "__doc__" && self.is_builtins_function(n) => {
                Ok(crate::builtins::docs::doc(n.name).map_or(Value::None, Value::str))
            }
            // Other natives carry no docstring, and none carries a signature text.
            Value::Native(_) if name == "__doc__" || name == "__text_signature__" => Err(err!(
                AttributeError,
                "'builtin_function_or_method' object has no attribute '{name}' (minivm's \
                 built-in functions carry no signature text, and no docstring except those of \
                 builtins)"
            )),
            Value::BoundMethod(m) => match name {
                "__self__" => Ok(m.receiver.clone()),
                // A built-in method is named after the class of its receiver (or the class
                // itself for a class method), as CPython's: `D.fromkeys`, `L().append`.
                "__qualname__" if matches!(m.func, Value::Native(_)) => {
                    let owner = match &m.receiver {
                        Value::Class(c) => c.qualname(),
                        other => crate::object::class_of(other).qualname(),
                    };
                    let fname = match &m.func {
                        Value::Native(n) => n.name,
                        _ => "",
                    };
                    Ok(Value::str(&format!("{owner}.{fname}")))
                }
                "__func__" => Ok(m.func.clone()),
                // A bound built-in method is a `builtin_function_or_method` of its own, not its
                // unbound native's class, and object's hooks bind to it.
                "__class__" if matches!(m.func, Value::Native(_)) => {
                    Ok(Value::Class(crate::object::class_of(obj).clone()))
                }
                "__setattr__" | "__delattr__" | "__getattribute__" | "__init_subclass__"
                | "__subclasshook__"
                    if matches!(m.func, Value::Native(_)) =>
                {
                    let cls = crate::object::class_of(obj).clone();
                    match self.object_inherited(obj, &cls, name) {
                        Some(r) => r,
                        None => Err(no_attr(obj, name)),
                    }
                }
                // A built-in method bound to its object (`[].append`, `dict.fromkeys`).
                "__module__" if matches!(m.func, Value::Native(_)) => Ok(Value::None),
                // A method of a built-in type bound to its object is CPython's
                // `builtin_function_or_method`, whatever the unbound one is. (`__doc__` and
                // `__text_signature__` keep the native's own error, which says why.)
                "__doc__" | "__text_signature__" => self.getattr(&m.func.clone(), name),
                // (A method descriptor's class is not its bound method's: `[].append` has no
                // `__objclass__`; a bound slot wrapper, `(1).__add__`, has its type's.)
                "__objclass__"
                    if matches!(&m.func, Value::Native(n)
                        if n.kind != crate::object::NativeKind::SlotWrapper) =>
                {
                    Err(err!(
                        AttributeError,
                        "'{}' object has no attribute '{name}'",
                        crate::object::type_name(obj)
                    ))
                }
                _ if matches!(m.func, Value::Native(_)) => {
                    self.getattr(&m.func.clone(), name).map_err(|e| {
                        if e.is(crate::object::ExcKind::AttributeError) {
                            err!(
                                AttributeError,
                                "'{}' object has no attribute '{name}'",
                                crate::object::type_name(obj)
                            )
                        } else {
                            e
                        }
                    })
                }
                _ => self.getattr(&m.func.clone(), name),
            },
            Value::Generator(g) if name == "__name__" => Ok(Value::str(&g.name())),
            _ => self
                .type_attr(obj, name)
                .unwrap_or_else(|| Err(no_attr(obj, name))),
        }
    }

    /// What a built-in value's type gives it by `name`: `__class__` and the data attributes of
    /// `builtins::builtin_attr`, a class attribute bound to the value, or a special method.
    pub(crate) fn type_attr(&mut self, obj: &Value, name: &str) -> Option<PyResult<Value>> {
        if let Some(r) = crate::builtins::builtin_attr(self, obj, name) {
            return Some(r);
        }
        let cls = class_of(obj);
        if name == "__new__" {
            // A static method: `(1).__new__` is `int.__new__`, not bound to the value.
            return Some(self.class_getattr(&cls, name));
        }
        match cls.lookup(name) {
            Some(v) => Some(Ok(self.bind_class_attr(obj, &cls, name, v))),
            None => match slot_of(&cls, name) {
                Some(slot) => Some(Ok(self.bind_slot(obj, slot))),
                None => self.object_inherited(obj, &cls, name),
            },
        }
    }

    /// What every value has from `object` although no class of its MRO holds it: the
    /// comparison, pickling and `__dir__` hooks bound to `obj`, the attribute hooks
    /// (`(1).__setattr__`), the class methods `__init_subclass__` and `__subclasshook__`
    /// bound to its class, and the static `__new__`, as CPython's lookup finds them on `object`.
    fn object_inherited(
        &mut self,
        obj: &Value,
        cls: &Ref<Class>,
        name: &str,
    ) -> Option<PyResult<Value>> {
        match name {
            "__setattr__" | "__delattr__" | "__getattribute__" => {
                object_method(name).map(|f| Ok(self.bind(obj.clone(), f)))
            }
            "__init_subclass__" => {
                object_method(name).map(|f| Ok(self.bind(Value::Class(cls.clone()), f)))
            }
            "__subclasshook__" => {
                object_extra(name).map(|f| Ok(self.bind(Value::Class(cls.clone()), f)))
            }
            // Static: an instance of a class without its own `__new__` finds object's, unbound.
            "__new__" => Some(self.class_getattr(cls, name)),
            _ => object_extra_bound(name).map(|f| Ok(self.bind(obj.clone(), f))),
        }
    }

    /// The module that holds native function `n` under its own name: builtins for `len`, the
    /// imported module for `math.sqrt`. Natives carry no module of their own, so the imported
    /// modules are searched (a rare question: `__self__` of a built-in function).
    fn native_module(&self, n: &Ref<NativeFunction>) -> Option<Value> {
        let holds =
            |d: &Dict| matches!(d.get_str(n.name), Some(Value::Native(b)) if Ref::ptr_eq(&b, n));
        let modules = self.vm.sys_modules.items();
        if self.is_builtins_function(n) {
            let registered = modules.iter().find_map(|(k, v)| match (k.as_str(), v) {
                (Some("builtins"), Value::Module(_)) => Some(v.clone()),
                _ => None,
            });
            return Some(registered.unwrap_or_else(|| Value::Module(self.builtins_module())));
        }
        modules.into_iter().find_map(|(_, v)| match &v {
            Value::Module(m) if holds(&m.dict) => Some(v),
            _ => None,
        })
    }

    /// Whether `n` is the function `builtins` holds under its name (`print`, `len`).
    fn is_builtins_function(&self, n: &Ref<NativeFunction>) -> bool {
        matches!(self.vm.builtins.get_str(n.name), Some(Value::Native(b)) if Ref::ptr_eq(&b, n))
    }

    /// `LoadAttr` with its inline cache (`interp/code.rs`). On a plain instance (no property,
    /// slot or `__set__` descriptor by that name in its class chain) an attribute of the instance
    /// is read at the index it had last time, and a method comes from the class's lookup cache at
    /// its hinted index: no hashing, no string comparison. Anything else takes `getattr`.
    #[inline(never)]
    pub(crate) fn load_attr_cached(
        &mut self,
        frame: Option<&Frame>,
        obj: &Value,
        name: &Arc<str>,
        cache: &InlineCache,
    ) -> PyResult<Value> {
        match instance_value_cached(obj, NameOperand::of(name), cache) {
            Some(v) => Ok(v),
            None => self.load_attr_slow(frame, obj, name, cache),
        }
    }

    /// `load_attr_cached` when the cache did not answer: the checks in full (out of line, so
    /// that the hit path inlined in the dispatch loop stays a few instructions). `frame` is the
    /// frame reading, recorded as a waiting caller (`Interp::parked`) where the read may run
    /// Python code or a built-in that asks for its frame (a `__getattr__` calling
    /// `sys._getframe(1)`, a frame object's live `f_lineno`); None when the caller recorded it.
    #[inline(never)]
    pub(crate) fn load_attr_slow(
        &mut self,
        frame: Option<&Frame>,
        obj: &Value,
        name: &Arc<str>,
        cache: &InlineCache,
    ) -> PyResult<Value> {
        // The general path, with `frame` parked.
        let general = |s: &mut Self, obj: &Value| match frame {
            Some(f) => s.parked(f, |s| s.getattr(obj, name)),
            None => s.getattr(obj, name),
        };
        let inst = match obj {
            Value::Instance(inst) => inst,
            Value::Module(m) => {
                if let Some(v) = module_attr_hit(m, name, cache) {
                    return Ok(v);
                }
                return match frame {
                    Some(f) => self.parked(f, |s| s.module_attr(obj, m, name, cache)),
                    None => self.module_attr(obj, m, name, cache),
                };
            }
            _ => return general(self, obj),
        };
        if let Some(v) = class_value_cached(inst, name, cache) {
            return Ok(v);
        }
        let flags = inst.class.attr_flags();
        if !matches!(inst.payload, Payload::None)
            || inst.class.builtin
            || flags & HAS_GETATTRIBUTE != 0
        {
            return general(self, obj);
        }
        if instance_wins(flags, name, cache) {
            // No data descriptor by that name in the class chain: the instance's own attribute
            // wins.
            if let Some(v) = dict_get_hinted(&inst.dict.lock(), name, &cache.word) {
                return Ok(v);
            }
            let class_attr = inst.class.lookup_hinted(name, &cache.class_hint);
            return match self.plain_class_attr(obj, name, class_attr) {
                Some(v) => Ok(v),
                None => general(self, obj),
            };
        }
        // Some class of the chain has a data descriptor: the class's answer comes first. The
        // two common ones are told apart on the class's cached answer without counting it.
        let kind = |a: Option<&Value>| descriptor_kind(a, name, false);
        match inst.class.with_hinted(name, &cache.class_hint, kind) {
            // A property with a getter (`@property`): call it, as `instance_getattr` would
            // (with `__getattr__` answering an `AttributeError` from it).
            DescriptorKind::Property(Some(fget)) => {
                let call = |s: &mut Self| s.call(&fget, std::slice::from_ref(obj));
                let r = match frame {
                    Some(f) => self.parked(f, call),
                    None => call(self),
                };
                let r = match r {
                    Err(e) if flags & HAS_GETATTR != 0 => self.getattr_fallback(obj, inst, name, e),
                    r => r,
                };
                if let Err(e) = &r {
                    crate::interp::suggest::attach_attribute_context(e, obj, name);
                }
                return r;
            }
            // A `__slots__` member: its value from the instance's table at the cached position,
            // as `generic_getattr` reads it. An unset slot takes the general path (its error).
            DescriptorKind::Slot => {
                if let Some(v) = dict_get_hinted(&inst.dict.lock(), name, &cache.word) {
                    return Ok(v);
                }
                return general(self, obj);
            }
            _ => {}
        }
        let class_attr = inst.class.lookup_hinted(name, &cache.class_hint);
        if let Some(Value::Instance(_)) = &class_attr {
            // Any other object on the class may be a descriptor: the general path decides.
            return general(self, obj);
        }
        if let Some(v) = dict_get_hinted(&inst.dict.lock(), name, &cache.word) {
            return Ok(v);
        }
        match self.plain_class_attr(obj, name, class_attr) {
            Some(v) => Ok(v),
            None => general(self, obj),
        }
    }

    /// `m.name` for a module `m` (CPython's `LOAD_ATTR_MODULE`): the value at the position of
    /// the module's dict that the instruction's cache word recorded ([`MODULE_ENTRY`]), if the
    /// key there is still the name; else the lookup by name, remembering the position. A name
    /// the dict lacks takes the general path (a module's `__getattr__`, lazily loaded parts,
    /// the error). Reading `math.pi` cost ~500 machine instructions (hashing the name each
    /// time); a hit is a few comparisons.
    #[inline]
    fn module_attr(
        &mut self,
        obj: &Value,
        m: &crate::object::Module,
        name: &Arc<str>,
        cache: &InlineCache,
    ) -> PyResult<Value> {
        if let Some(v) = module_attr_hit(m, name, cache) {
            return Ok(v);
        }
        match m.dict.get_str_full(name) {
            Some((i, v)) => {
                if let Ok(i) = u32::try_from(i) {
                    cache
                        .word
                        .store(MODULE_ENTRY | u64::from(i), Ordering::Relaxed);
                }
                Ok(v)
            }
            None => self.getattr(obj, name),
        }
    }

    /// `load_attr_slow` for the `LOAD_ATTR` arms whose result goes on the stack: a property
    /// whose getter is a Python function that is not a generator (calling it runs its body)
    /// comes back as the getter's frame, `obj` its argument, for the dispatch loop to run as a
    /// call (CPython 3.12's `LOAD_ATTR_PROPERTY`): no nested loop, and the getter's return
    /// value lands where the attribute's would. Not when a `__getattr__` may have to answer an
    /// `AttributeError` from the getter (`load_attr_slow` calls it then).
    #[inline(never)]
    pub(crate) fn load_attr_or_getter(
        &mut self,
        frame: Option<&Frame>,
        obj: &Value,
        name: &Arc<str>,
        cache: &InlineCache,
    ) -> PyResult<AttrRead> {
        if let Value::Module(m) = obj {
            if let Some(v) = module_attr_hit(m, name, cache) {
                return Ok(AttrRead::Value(v));
            }
        }
        if let Value::Instance(inst) = obj {
            // The class flags are read once for both hit paths: a name whose instance
            // attribute would win may be a plain class value (`class_value_hit`); one that
            // would not may be a property with a Python getter.
            let plain = matches!(inst.payload, Payload::None) && !inst.class.builtin;
            let flags = inst.class.attr_flags();
            if plain && instance_wins(flags, name, cache) {
                if let Some(v) = class_value_hit(inst, name, cache) {
                    return Ok(AttrRead::Value(v));
                }
            } else if plain && flags & (HAS_GETATTRIBUTE | HAS_GETATTR) == 0 {
                if let Some(fget) = inst
                    .class
                    .with_hinted(name, &cache.class_hint, getter_function)
                {
                    let mut callee = self.frame_with_arg(&fget, obj)?;
                    callee.resumed = Resumed::Property;
                    callee.made = Some(inst.clone());
                    callee.set_extras();
                    return Ok(AttrRead::Getter(callee));
                }
            }
        }
        self.load_attr_slow(frame, obj, name, cache)
            .map(AttrRead::Value)
    }

    /// `load_attr_or_getter` for `RETURN_ATTR_LOCAL` (`return obj.name`): a getter's frame is
    /// marked `Resumed::PropertyReturn`, so that its return makes the reading frame return
    /// too (`run.rs: return_inline`). Not for the frame a dispatch loop started with (`first`),
    /// whose return leaves the loop: the getter is called from Rust then.
    #[inline(never)]
    pub(crate) fn return_attr_or_getter(
        &mut self,
        frame: Option<&Frame>,
        obj: &Value,
        name: &Arc<str>,
        cache: &InlineCache,
        first: bool,
    ) -> PyResult<AttrRead> {
        if first {
            return self
                .load_attr_slow(frame, obj, name, cache)
                .map(AttrRead::Value);
        }
        let mut read = self.load_attr_or_getter(frame, obj, name, cache)?;
        if let AttrRead::Getter(callee) = &mut read {
            callee.resumed = Resumed::PropertyReturn;
        }
        Ok(read)
    }

    /// An exception leaves `done`, a property's getter run for the `LOAD_ATTR` of `caller`
    /// (`Resumed::Property`): an `AttributeError` gets the instance and the attribute's name
    /// for the traceback's hint, as when the getter is called (`attach_attribute_context`).
    pub(crate) fn getter_raised(&self, caller: &Frame, done: &Frame, e: &PyErr) {
        let op = caller
            .ip
            .checked_sub(1)
            .and_then(|i| caller.code.ops.get(i));
        let n = match op {
            Some(Op::LoadAttr(n) | Op::LoadAttrLocal(_, n) | Op::ReturnAttrLocal(_, n)) => {
                n.0 as usize
            }
            _ => return,
        };
        if let (Some(name), Some(obj)) = (caller.code.names.get(n), &done.made) {
            crate::interp::suggest::attach_attribute_context(
                e,
                &Value::Instance(obj.clone()),
                name,
            );
        }
    }

    /// What `obj.name` gives, for a plain instance `obj` without the attribute in its own
    /// table, when the class's answer is `class_attr` and that answer needs no general
    /// treatment: a function (bound to `obj`) or a value that is never a descriptor (an int, a
    /// str, a tuple...: as `bind_class_attr`, it is the attribute itself). `None` sends the
    /// caller to `getattr`: nothing found, dunder names (`__class__`, `__dict__` are answered
    /// by `instance_getattr` itself), built-in functions and objects that may be descriptors.
    #[inline]
    fn plain_class_attr(
        &self,
        obj: &Value,
        name: &str,
        class_attr: Option<Value>,
    ) -> Option<Value> {
        match class_attr? {
            f @ Value::Function(_) => Some(self.bind(obj.clone(), f)),
            v if plain_value(&v, name) => Some(v),
            _ => None,
        }
    }

    /// `StoreAttr` when its inline cache did not answer (`store_instance_value_cached`, inlined
    /// in the dispatch loop's store arms, overwrites the attribute at its index of last time or
    /// adds it keyed by the instruction's interned name): the checks in full, out of line.
    #[inline(never)]
    pub(crate) fn store_attr_slow(
        &mut self,
        obj: &Value,
        name: &Arc<str>,
        v: Value,
        cache: &InlineCache,
    ) -> PyResult<()> {
        // (Refused when the instance has the slot: the general path says so.)
        if &**name == "__weakref__" {
            return self.setattr(obj, name, v);
        }
        let v = match self.store_descriptor_cached(obj, name, v, cache) {
            Ok(r) => return r,
            Err(v) => v,
        };
        let Some(inst) = plain_instance(obj, HAS_SETATTR | DICTLESS, name, &cache.class_hint)
        else {
            return self.setattr(obj, name, v);
        };
        if matches!(&**name, "__class__" | "__dict__") {
            return self.setattr(obj, name, v);
        }
        let mut dict = inst.dict.lock();
        if dict.has_view() {
            // A `__dict__` object mirrors the table: the general path keeps it current.
            drop(dict);
            return self.setattr(obj, name, v);
        }
        // The cache holds "layout n, position i" (see `dict_get_hinted`): with the same layout,
        // position i is the name's, or, at the end of the table, says the name is absent.
        let word = cache.word.load(Ordering::Relaxed);
        let pos = if hint_layout(word) == dict.layout_id() {
            Some(hint_pos(word)).filter(|&i| i < dict.len())
        } else if key_at(&dict, hint_pos(word), name) {
            // Another layout with the name at the same position (see `dict_get_hinted`).
            Some(hint_pos(word))
        } else {
            index_of_unhinted(&dict, name)
        };
        let layout = dict.layout_id();
        let old = match pos.and_then(|i| dict.value_at_mut(i)) {
            Some(slot) => Some(std::mem::replace(slot, v)),
            None => {
                // Not there (just searched, under the same lock): append without searching
                // again; the next instance of this layout appends the same way.
                let i = dict.push_name(name, v);
                remember(&cache.word, layout, i);
                None
            }
        };
        if let Some(i) = pos {
            remember(&cache.word, layout, i);
        }
        drop(dict);
        if let Some(old) = old {
            old.discard();
        }
        Ok(())
    }

    /// `obj.name = v` on a plain instance (no `__setattr__`) whose class chain has, by that
    /// name, a `__slots__` member or a property with a setter, found through the instruction's
    /// class hint: the slot is overwritten at the cached position of the instance's table, or
    /// the setter called, as `generic_setattr` does after its lookup by name. Anything else
    /// gives the value back for the other paths.
    #[inline]
    fn store_descriptor_cached(
        &mut self,
        obj: &Value,
        name: &Arc<str>,
        v: Value,
        cache: &InlineCache,
    ) -> Result<PyResult<()>, Value> {
        let Value::Instance(inst) = obj else {
            return Err(v);
        };
        if !matches!(inst.payload, Payload::None) || inst.class.builtin {
            return Err(v);
        }
        let flags = inst.class.attr_flags();
        // A class whose only descriptors are slots answers loads from the table
        // (`instance_wins`), but adding a slot's value to a table is decided here.
        if flags & HAS_SETATTR != 0
            || (instance_wins(flags, name, cache) && flags & PLAIN_SLOTS == 0)
        {
            return Err(v);
        }
        let kind = |a: Option<&Value>| descriptor_kind(a, name, true);
        match inst.class.with_hinted(name, &cache.class_hint, kind) {
            DescriptorKind::Slot => {
                let old = store_slot_hinted(&mut inst.dict.lock(), name, v, &cache.word);
                if let Some(old) = old {
                    old.discard();
                }
                Ok(Ok(()))
            }
            DescriptorKind::Property(Some(fset)) => {
                Ok(self.call(&fset, &[obj.clone(), v]).map(|_| ()))
            }
            _ => Err(v),
        }
    }

    fn instance_getattr(
        &mut self,
        obj: &Value,
        inst: &Ref<Instance>,
        name: &str,
    ) -> PyResult<Value> {
        if let Payload::Super { start, obj: target } = &inst.payload {
            let found = match (target, name) {
                (Value::Undefined, _) | (_, "__class__") => Err(no_attr(obj, name)),
                _ => self.super_getattr(start, target, name),
            };
            return match found {
                Err(e) if e.is(crate::object::ExcKind::AttributeError) => {
                    crate::builtins::construct::super_member(obj, start, target, name).ok_or(e)
                }
                r => r,
            };
        }
        if inst.class.attr_flags() & HAS_GETATTRIBUTE != 0 {
            // The class's `__getattribute__` answers every lookup; an AttributeError from it
            // falls back to `__getattr__`, as CPython's slot does.
            if let Some(hook) = self.lookup_special(obj, "__getattribute__") {
                let r = self.call(&hook, &[obj.clone(), Value::str(name)]);
                return match (r, self.lookup_special(obj, "__getattr__")) {
                    (Err(e), Some(ga)) if e.is(crate::object::ExcKind::AttributeError) => {
                        self.call(&ga, &[obj.clone(), Value::str(name)])
                    }
                    (r, _) => r,
                };
            }
        }
        self.generic_getattr(obj, inst, name, true)
    }

    /// `object.__getattribute__(obj, name)`: data descriptors of the class, the instance's own
    /// attributes, then the class's (bound), and — if `fallback` — the class's `__getattr__`
    /// when any of that raised `AttributeError` (a property's getter or an unset slot too, as
    /// CPython's `slot_tp_getattr_hook`).
    pub(crate) fn generic_getattr(
        &mut self,
        obj: &Value,
        inst: &Ref<Instance>,
        name: &str,
        fallback: bool,
    ) -> PyResult<Value> {
        let r = self.object_getattribute(obj, inst, name);
        if !fallback {
            return r;
        }
        match r {
            Err(e) => self.getattr_fallback(obj, inst, name, e),
            ok => ok,
        }
    }

    /// After `obj.name` raised `e`: the class's `__getattr__(obj, name)` if `e` is an
    /// `AttributeError` and the class has one, else `e` again.
    pub(crate) fn getattr_fallback(
        &mut self,
        obj: &Value,
        inst: &Ref<Instance>,
        name: &str,
        e: PyErr,
    ) -> PyResult<Value> {
        if !e.is(crate::object::ExcKind::AttributeError) {
            return Err(e);
        }
        let _ = inst;
        match self.lookup_special(obj, "__getattr__") {
            Some(ga) => self.call(&ga, &[obj.clone(), Value::str(name)]),
            None => Err(e),
        }
    }

    /// `generic_getattr` without the `__getattr__` fallback.
    fn object_getattribute(
        &mut self,
        obj: &Value,
        inst: &Ref<Instance>,
        name: &str,
    ) -> PyResult<Value> {
        if let Some(v) = self.wrapper_attr(inst, name)? {
            return Ok(v);
        }
        // No data descriptor anywhere in the class chain: the instance's own attribute wins outright.
        let flags = inst.class.attr_flags();
        if flags & crate::object::HAS_PROPERTY == 0 {
            if let Some(v) = inst.dict.lock().get(name) {
                return Ok(v.clone());
            }
        }
        let class_attr = inst.class.lookup(name);
        if let Some(Value::Instance(d)) = &class_attr {
            match &d.payload {
                // (An instance of a subclass of property is a descriptor like any other: its
                // class may override `__get__`.)
                Payload::Property { fget, .. } if d.class.builtin => {
                    if fget.is_none() {
                        let owner = inst.class.qualname();
                        return Err(prop_missing_error(d, &owner, "getter"));
                    }
                    return self.call(fget, std::slice::from_ref(obj));
                }
                Payload::Member { name: slot, .. } => {
                    let v = inst.dict.lock().get(&**slot).cloned();
                    if v.is_none() && &**slot == "__weakref__" {
                        // `__slots__` naming '__weakref__': the weakref list's head.
                        if let Some(w) = crate::stdlib::weakref::instance_weakref(inst) {
                            return Ok(w);
                        }
                    }
                    return v.ok_or_else(|| no_attr(obj, name));
                }
                _ if crate::object::is_data_descriptor(d) => {
                    if let Some(get) = d.class.lookup("__get__") {
                        let owner = Value::Class(inst.class.get().clone());
                        return self.call(
                            &get,
                            &[class_attr.clone().unwrap_or_default(), obj.clone(), owner],
                        );
                    }
                }
                _ => {}
            }
        }
        if let Some(v) = inst.dict.lock().get(name) {
            return Ok(v.clone());
        }
        match name {
            "__class__" => return Ok(Value::Class(inst.class.get().clone())),
            "__dict__" if flags & crate::object::DICTLESS != 0 => return Err(no_attr(obj, name)),
            // `property` has no `__dict__` (its table holds its `__doc__` and name).
            "__dict__"
                if inst.class.builtin && matches!(inst.payload, Payload::Property { .. }) =>
            {
                return Err(no_attr(obj, name))
            }
            "__dict__" => return Ok(crate::interp::views::instance_dict(inst)),
            "__weakref__" => {
                if let Some(v) = crate::stdlib::weakref::instance_weakref(inst) {
                    return Ok(v);
                }
            }
            _ => {}
        }
        if let Some(v) = class_attr {
            // A non-data descriptor (an object whose class defines only `__get__`).
            if let Value::Instance(d) = &v {
                if !d.class.builtin {
                    if let Some(get) = d.class.lookup("__get__") {
                        let owner = Value::Class(inst.class.get().clone());
                        return self.call(&get, &[v.clone(), obj.clone(), owner]);
                    }
                }
            }
            return Ok(self.bind_class_attr(obj, &inst.class.get(), name, v));
        }
        if let Some(r) = crate::builtins::builtin_attr(self, obj, name) {
            return r;
        }
        if let Some(slot) = slot_of(&inst.class.get(), name) {
            return Ok(self.bind_slot(obj, slot));
        }
        // `self.__setattr__(name, value)`: object's own, bound (as `super().__setattr__`).
        let cls = inst.class.get();
        match self.object_inherited(obj, &cls, name) {
            Some(r) => r,
            None => Err(no_attr(obj, name)),
        }
    }

    /// The attributes of `staticmethod`/`classmethod`/`property` objects that come from the
    /// functions they wrap: `__func__`, `__wrapped__`, and `__isabstractmethod__` (true if a
    /// wrapped function is abstract, which `abc` reads).
    fn wrapper_attr(&mut self, inst: &Instance, name: &str) -> PyResult<Option<Value>> {
        let funcs: Vec<Value> = match (&inst.payload, name) {
            (Payload::Wrapped(f), "__func__" | "__wrapped__") => return Ok(Some(f.clone())),
            (Payload::Property { fget, .. }, "fget") => return Ok(Some(fget.clone())),
            (Payload::Property { fset, .. }, "fset") => return Ok(Some(fset.clone())),
            (Payload::Property { fdel, .. }, "fdel") => return Ok(Some(fdel.clone())),
            (Payload::Wrapped(f), "__isabstractmethod__") => vec![f.clone()],
            (Payload::Property { fget, fset, fdel }, "__isabstractmethod__") => {
                vec![fget.clone(), fset.clone(), fdel.clone()]
            }
            _ => return Ok(None),
        };
        for f in funcs.iter().filter(|f| !f.is_none()) {
            if let Ok(v) = self.getattr(f, "__isabstractmethod__") {
                if self.truthy(&v)? {
                    return Ok(Some(Value::Bool(true)));
                }
            }
        }
        Ok(Some(Value::Bool(false)))
    }

    /// `obj.__len__` and the like: the slot wrapper bound to `obj` (`__hash__` may be None).
    fn bind_slot(&self, obj: &Value, slot: Value) -> Value {
        if slot.is_none() {
            return slot;
        }
        self.bind(obj.clone(), slot)
    }

    /// What `instance.attr` gives for an attribute found on the class.
    fn bind_class_attr(&self, obj: &Value, cls: &Ref<Class>, name: &str, v: Value) -> Value {
        match &v {
            Value::Function(_) => self.bind(obj.clone(), v),
            // A classmethod in CPython: read from a dict it stays dict's own (unbound), read
            // from an instance of a subclass it builds that subclass (`bytes.fromhex` too).
            Value::Native(n) if constructor_owner(n).is_some() => {
                if constructor_owner(n).is_some_and(|o| Ref::ptr_eq(&o, cls)) {
                    v
                } else {
                    self.subclass_constructor(cls, n)
                }
            }
            Value::Native(n) if native_binds(cls, name, n) => self.bind(obj.clone(), v),
            Value::Instance(d) => match (&d.payload, d.class.kind) {
                (Payload::Wrapped(f), TypeKind::StaticMethod) => f.clone(),
                (Payload::Wrapped(f), TypeKind::ClassMethod) => {
                    self.bind(Value::Class(cls.clone()), f.clone())
                }
                _ => v,
            },
            _ => v,
        }
    }

    /// `D.fromkeys` for a subclass `D` of dict, `B.fromhex` for one of bytes (and
    /// `bytearray.fromhex`, `float.fromhex`, `int.from_bytes`): a classmethod in CPython, so it
    /// builds a `D` (a `B`). (The base type's own stays the unbound native: the common case
    /// keeps its fast path.)
    fn subclass_constructor(&self, cls: &Ref<Class>, n: &NativeFunction) -> Value {
        let f = match n.name {
            "fromkeys" => crate::builtins::native(
                "fromkeys",
                crate::builtins::dict_methods::subclass_fromkeys,
            ),
            "fromhex" => crate::builtins::native("fromhex", subclass_fromhex),
            _ => crate::builtins::native("from_bytes", subclass_from_bytes),
        };
        self.bind(Value::Class(cls.clone()), f)
    }

    fn class_getattr(&mut self, cls: &Ref<Class>, name: &str) -> PyResult<Value> {
        // These names are `type_answers`' list (a method call on a class skips this function
        // for the others).
        match name {
            "__name__" => {
                if let Some(v) = cls.name_value.read().clone() {
                    return Ok(v);
                }
                return Ok(Value::str(&cls.name()));
            }
            "__qualname__" => {
                if let Some(v) = cls.qualname_value.read().clone() {
                    return Ok(v);
                }
                return Ok(Value::str(&cls.qualname()));
            }
            "__module__" => {
                if let Some(v) = cls.dict.read().get("__module__") {
                    return Ok(v.clone());
                }
                return Ok(Value::str(&cls.module));
            }
            "__base__" => {
                return Ok(cls.base.clone().map_or(Value::None, Value::Class));
            }
            // Not inherited either: a class without annotations gets an empty dict on first use.
            "__annotations__" => {
                return Ok(cls
                    .dict
                    .write()
                    .entry(std::sync::Arc::from("__annotations__"))
                    .or_insert_with(|| Value::Dict(Ref::new(crate::object::Dict::new())))
                    .clone());
            }
            // Not inherited: every class has its own (None without a docstring); the classes of
            // `builtins` carry CPython's text (`builtins/docs.rs`).
            "__doc__" => {
                if let Some(doc) = cls.dict.read().get("__doc__") {
                    return Ok(doc.clone());
                }
                return Ok(builtin_class_doc(cls).map_or(Value::None, Value::str));
            }
            "__mro__" => {
                return Ok(Value::tuple(
                    crate::object::Class::mro(cls)
                        .into_iter()
                        .map(Value::Class)
                        .collect(),
                ));
            }
            "__bases__" => {
                return Ok(Value::tuple(
                    cls.bases.iter().cloned().map(Value::Class).collect(),
                ));
            }
            "__dict__" => return crate::interp::views::class_dict_proxy(self, cls),
            "__class__" => return Ok(Value::Class(class_of(&Value::Class(cls.clone())))),
            _ => {}
        }
        // A data descriptor on the metaclass (a property, an object with `__set__`) answers
        // before the class's own dict, as an instance's class data descriptor does.
        // (The metaclass's flags say which names may have one: most lookups stop there.)
        if let Some(meta) = cls
            .metaclass
            .as_ref()
            .filter(|m| m.attr_flags() & crate::object::descriptor_name_bit(name) != 0)
        {
            if let Some(Value::Instance(d)) = meta.lookup(name) {
                if crate::object::is_data_descriptor(&d) {
                    if let Some(v) = self.metaclass_attr(cls, name)? {
                        return Ok(v);
                    }
                }
            }
        }
        match cls.lookup(name) {
            Some(v) => self.class_value_get(cls, v),
            None if name == "__new__" => Ok(builtin_type_new(cls)),
            None => match object_own_method(cls, name)
                .or_else(|| function_type_attr(cls, name))
                .or_else(|| slot_of(cls, name))
                .or_else(|| object_extra(name))
                .or_else(|| class_data_attr(cls, name))
            {
                Some(f) => Ok(f),
                None => match self.metaclass_attr(cls, name)? {
                    Some(v) => Ok(v),
                    // `type.mro`: the method behind `__mro__`, bound to the class; read from
                    // `type` or a metaclass it is the unbound method (`type.mro(int)`).
                    None if name == "mro" => {
                        let mro = crate::builtins::native("mro", |_, args| {
                            match args.pos {
                            [Value::Class(c)] => Ok(Value::list(
                                crate::object::Class::mro(c)
                                    .into_iter()
                                    .map(Value::Class)
                                    .collect(),
                            )),
                            [] => Err(err!(
                                TypeError,
                                "unbound method type.mro() needs an argument"
                            )),
                            [Value::Class(c), rest @ ..] => Err(err!(
                                TypeError,
                                "{}.mro() takes no arguments ({} given)",
                                c.name(),
                                rest.len()
                            )),
                            [other, ..] => Err(err!(
                                TypeError,
                                "descriptor 'mro' for 'type' objects doesn't apply to a '{}' object",
                                type_name(other)
                            )),
                        }
                        });
                        let metaclass = crate::object::Class::mro(cls)
                            .iter()
                            .any(|c| c.builtin && c.kind == TypeKind::Type);
                        Ok(if metaclass {
                            mro
                        } else {
                            self.bind(Value::Class(cls.clone()), mro)
                        })
                    }
                    None if name == "__subclasses__" => Ok(self.bind(
                        Value::Class(cls.clone()),
                        crate::builtins::native("__subclasses__", |_, args| match args.pos {
                            [Value::Class(c)] => Ok(Value::list(
                                c.subclasses().into_iter().map(Value::Class).collect(),
                            )),
                            _ => Err(err!(TypeError, "__subclasses__() takes no arguments")),
                        }),
                    )),
                    // `type.__prepare__`: the namespace of a class statement, a new dict
                    // whatever the arguments.
                    None if name == "__prepare__" => {
                        Ok(self.bind(Value::Class(cls.clone()), type_prepare()))
                    }
                    // Read from `type` itself, the method unbound (`type.__instancecheck__(C,
                    // x)`); from another class, bound to it (`C.__instancecheck__(x)`).
                    None if name == "__instancecheck__" || name == "__subclasscheck__" => {
                        if Ref::ptr_eq(cls, &types().type_) {
                            Ok(type_check(name))
                        } else {
                            Ok(self.bind(Value::Class(cls.clone()), type_check(name)))
                        }
                    }
                    None => Err(err!(
                        AttributeError,
                        "type object '{}' has no attribute '{name}'",
                        cls.name()
                    )),
                },
            },
        }
    }

    /// `C.name` for the value `v` found by that name along C's MRO: bound as a class's
    /// attribute is (`v.__get__(None, C)`): a static method's function, a class method bound
    /// to `C`, another descriptor's `__get__` result; anything else (a plain function too) as
    /// it is.
    pub(crate) fn class_value_get(&mut self, cls: &Ref<Class>, v: Value) -> PyResult<Value> {
        match v {
            Value::Instance(d) => match (&d.payload, d.class.kind) {
                (Payload::Wrapped(f), TypeKind::StaticMethod) => Ok(f.clone()),
                (Payload::Wrapped(f), TypeKind::ClassMethod) => {
                    Ok(self.bind(Value::Class(cls.clone()), f.clone()))
                }
                _ if !d.class.builtin => match d.class.lookup("__get__") {
                    Some(get) => {
                        let owner = Value::Class(cls.clone());
                        self.call(&get, &[Value::Instance(d), Value::None, owner])
                    }
                    None => Ok(Value::Instance(d)),
                },
                _ => Ok(Value::Instance(d)),
            },
            Value::Native(n) if constructor_owner(&n).is_some_and(|o| !Ref::ptr_eq(&o, cls)) => {
                Ok(self.subclass_constructor(cls, &n))
            }
            v => Ok(v),
        }
    }

    /// `C.name` not found along C's own MRO: on its metaclass (`type(C).__mro__`), as CPython
    /// looks next. Functions bind to the class, properties and other descriptors get it as
    /// their instance; the metaclass's `__getattr__` answers last.
    fn metaclass_attr(&mut self, cls: &Ref<Class>, name: &str) -> PyResult<Option<Value>> {
        let Some(meta) = &cls.metaclass else {
            return Ok(None);
        };
        let this = Value::Class(cls.clone());
        let Some(v) = meta.lookup(name) else {
            return match meta.lookup("__getattr__") {
                Some(ga) => self.call(&ga, &[this, Value::str(name)]).map(Some),
                None => Ok(None),
            };
        };
        let owner = Value::Class(meta.clone());
        Ok(Some(match &v {
            Value::Function(_) => self.bind(this, v),
            Value::Instance(d) => match (&d.payload, d.class.kind) {
                (Payload::Property { fget, .. }, _) if d.class.builtin => {
                    if fget.is_none() {
                        return Err(prop_missing_error(d, &meta.qualname(), "getter"));
                    }
                    self.call(fget, &[this])?
                }
                (Payload::Wrapped(f), TypeKind::StaticMethod) => f.clone(),
                (Payload::Wrapped(f), TypeKind::ClassMethod) => self.bind(owner, f.clone()),
                _ if !d.class.builtin => match d.class.lookup("__get__") {
                    Some(get) => self.call(&get, &[v.clone(), this, owner])?,
                    None => v,
                },
                _ => v,
            },
            _ => v,
        }))
    }

    fn super_getattr(&mut self, start: &Ref<Class>, target: &Value, name: &str) -> PyResult<Value> {
        /// The attributes `type` answers for each class from descriptors of its own.
        const TYPE_DESCRIPTORS: &[&str] = &[
            "__name__",
            "__qualname__",
            "__module__",
            "__base__",
            "__bases__",
            "__mro__",
            "__doc__",
            "__dict__",
            "__annotations__",
        ];
        // Search the MRO of the object's type (or of the class itself, for class methods) from
        // just after `start`: with multiple inheritance the next class need not be a base of
        // `start` (cooperative `super()` in diamonds).
        // A class that is not a subclass of `start` is an instance of it: `super()` in a
        // metaclass's method searches the metaclass's MRO and binds to the class.
        let meta_target = matches!(target, Value::Class(tc) if !tc.is_subclass(start));
        let owner = match target {
            Value::Class(tc) if !meta_target => tc.clone(),
            other => class_of(other),
        };
        let mro = Class::mro(&owner);
        let after = mro
            .iter()
            .position(|c| Ref::ptr_eq(c, start))
            .map_or_else(|| Class::mro(start).split_off(1), |i| mro[i + 1..].to_vec());
        for c in &after {
            // `super().__name__` in a metaclass's method: `type`'s own descriptors (not in
            // minivm's dict of `type`) read the class, as CPython's getsets do.
            if let (true, Value::Class(tc)) = (meta_target, target) {
                if Ref::ptr_eq(c, &types().type_) && TYPE_DESCRIPTORS.contains(&name) {
                    return self.class_getattr(tc, name);
                }
            }
            let mut found = c.dict.read().get(name).cloned();
            if found.is_none() && c.builtin {
                // `super().__setitem__(k, v)` in a subclass of a built-in data type.
                found = crate::interp::subclass::own_slot(c, name);
                if name == "__new__" && found.is_some() {
                    return Ok(found.unwrap_or_default());
                }
            }
            if let Some(v) = found {
                // A descriptor found for an instance: `super().prop` runs the property's
                // getter, `super().d` a descriptor's `__get__(target, type(target))`, as
                // CPython's `super_getattro` does.
                if let (Value::Instance(d), false) = (&v, matches!(target, Value::Class(_))) {
                    match &d.payload {
                        Payload::Property { fget, .. } if d.class.builtin && !fget.is_none() => {
                            return self.call(fget, std::slice::from_ref(target));
                        }
                        Payload::Property { .. } if d.class.builtin => {
                            return Err(prop_missing_error(d, &owner.qualname(), "getter"));
                        }
                        _ if !d.class.builtin => {
                            if let Some(get) = d.class.lookup("__get__") {
                                let args = [v.clone(), target.clone(), Value::Class(owner.clone())];
                                return self.call(&get, &args);
                            }
                        }
                        _ => {}
                    }
                }
                return Ok(match (&v, target) {
                    (Value::Function(_) | Value::Native(_), Value::Class(_)) if meta_target => {
                        self.bind(target.clone(), v)
                    }
                    (Value::Function(_) | Value::Native(_), Value::Class(_)) => v,
                    // A method of the built-in class it was found on (`super().__init__()` in
                    // a `dict` subclass) binds, whatever the subclass defines.
                    (Value::Native(_), _) if c.builtin => self.bind(target.clone(), v),
                    _ => self.bind_class_attr(target, &owner, name, v),
                });
            }
        }
        if let Some(f) = object_method(name).or_else(|| object_extra(name)) {
            // `super().__new__(cls)` is a static method: not bound.
            if name == "__new__" {
                return Ok(f);
            }
            // `super().__setattr__(name, value)` in a class defining its own `__setattr__`.
            return Ok(self.bind(target.clone(), f));
        }
        if name == "__prepare__" && after.iter().any(|c| Ref::ptr_eq(c, &types().type_)) {
            // `super().__prepare__(name, bases, **kw)` in a metaclass's own `__prepare__`.
            return Ok(self.bind(target.clone(), type_prepare()));
        }
        if (name == "__instancecheck__" || name == "__subclasscheck__")
            && after.iter().any(|c| Ref::ptr_eq(c, &types().type_))
        {
            // `super().__instancecheck__(obj)` in a metaclass's own check.
            return Ok(self.bind(target.clone(), type_check(name)));
        }
        if name == "__init__" {
            // object.__init__ (and the built-in bases' constructors) take no extra work here.
            return Ok(Value::Native(Ref::new(NativeFunction::new(
                "__init__",
                |_, _| Ok(Value::None),
            ))));
        }
        Err(err!(
            AttributeError,
            "'super' object has no attribute '{name}'"
        ))
    }

    /// What a function has from `object` (`f.__eq__`, `f.__hash__`, `f.__lt__`,
    /// `f.__setattr__`...), bound to it; `__repr__` is the function type's own (`<function f at
    /// 0x...>`), not object's.
    fn function_object_method(&mut self, obj: &Value, name: &str) -> PyResult<Value> {
        if name == "__repr__" {
            let f: crate::object::NativeFn = |interp, args| match args.pos.first() {
                Some(this) => interp.repr(this).map(Value::string),
                None => Err(err!(TypeError, "__repr__() needs an argument")),
            };
            let native = Value::Native(Ref::new(NativeFunction::new("__repr__", f)));
            return Ok(self.bind(obj.clone(), native));
        }
        // Left out: the pickling and size hooks, which minivm does not provide (pickle reads a
        // function by reference without them).
        if matches!(
            name,
            "__reduce__" | "__reduce_ex__" | "__getstate__" | "__sizeof__"
        ) {
            return Err(no_attr(obj, name));
        }
        match slot_of(&class_of(obj), name) {
            Some(slot) => Ok(self.bind_slot(obj, slot)),
            None => match object_extra(name).or_else(|| object_method(name)) {
                Some(m) => Ok(self.bind(obj.clone(), m)),
                None => Err(no_attr(obj, name)),
            },
        }
    }

    /// `obj.name = v`
    pub fn setattr(&mut self, obj: &Value, name: &str, v: Value) -> PyResult<()> {
        match obj {
            Value::Instance(inst) => {
                if inst.class.attr_flags() & crate::object::HAS_SETATTR != 0 {
                    if let Some(sa) = self.lookup_special(obj, "__setattr__") {
                        return self
                            .call(&sa, &[obj.clone(), Value::str(name), v])
                            .map(|_| ());
                    }
                }
                self.generic_setattr(obj, inst, name, v)
            }
            Value::Class(cls) if cls.immutable.load(Ordering::Relaxed) => {
                Err(immutable_type_error(cls, name))
            }
            Value::Class(cls) if !cls.builtin => {
                let hook = self.lookup_special(obj, "__setattr__");
                if let Some(sa) = hook {
                    return self
                        .call(&sa, &[obj.clone(), Value::str(name), v])
                        .map(|_| ());
                }
                // A data descriptor on the metaclass takes the assignment (`type.__setattr__`).
                if let Some(Value::Instance(d)) =
                    cls.metaclass.as_ref().and_then(|m| m.lookup(name))
                {
                    if crate::object::is_data_descriptor(&d) {
                        return self.set_via_descriptor(
                            &d,
                            obj,
                            &class_of(obj).qualname(),
                            name,
                            v,
                        );
                    }
                }
                if matches!(name, "__name__" | "__qualname__") {
                    return set_class_name(cls, name, &v);
                }
                // `C.__mro__ = ...`, `C.__dict__ = ...`: CPython's errors (interp/classdef.rs).
                if name.starts_with("__") {
                    if let Some(e) = crate::interp::classdef::class_store_error(cls, name, &v) {
                        return Err(e);
                    }
                }
                cls.dict.write().insert(Arc::from(name), v);
                crate::object::class_changed();
                Ok(())
            }
            Value::Class(cls) => Err(err!(
                TypeError,
                "cannot set '{name}' attribute of immutable type '{}'",
                cls.name()
            )),
            _ if name == "__class__" => Err(crate::interp::classdef::class_store_refused(obj, &v)),
            // What a call reads from the function itself cannot be replaced: refuse rather
            // than keep a value the next call would ignore.
            Value::Function(_) if matches!(name, "__closure__" | "__globals__") => {
                Err(err!(AttributeError, "readonly attribute"))
            }
            // (minivm's own library may set them for introspection on functions that bind their
            // arguments themselves, as `namedtuple`'s `__new__(cls, *values, **kwargs)`.)
            Value::Function(f) if name == "__code__" => {
                crate::builtins::attrs::set_function_code(self, f, v)
            }
            Value::Function(f)
                if matches!(name, "__defaults__" | "__kwdefaults__")
                    && !f.code.obj.filename.starts_with("<minivm-lib>") =>
            {
                crate::builtins::attrs::set_function_defaults(self, f, name, v)
            }
            Value::Function(f) => crate::builtins::attrs::set_function_attr(f, name, v),
            Value::Generator(g) if matches!(name, "__name__" | "__qualname__") => {
                crate::builtins::attrs::set_generator_name(g, name, &v)
            }
            Value::Module(m) => {
                m.dict.set_str(name, v);
                Ok(())
            }
            _ => Err(self.builtin_store_error(obj, name)),
        }
    }

    /// `obj.name = v` on a value of a built-in type, which has no table of its own attributes:
    /// CPython's message says what the type has by that name: a method is "read-only", a
    /// computed attribute (`int.real`, `float.imag`, `slice.start`) "not writable", and
    /// anything else "has no attribute". CPython keeps `complex`'s parts and the bounds of
    /// `slice` and `range` as read-only members, whose message is shorter.
    #[cold]
    fn builtin_store_error(&mut self, obj: &Value, name: &str) -> PyErr {
        let tname = type_name(obj);
        match self.getattr(obj, name) {
            Ok(Value::Native(_) | Value::BoundMethod(_)) => err!(
                AttributeError,
                "'{tname}' object attribute '{name}' is read-only"
            ),
            // A bound method's members.
            Ok(_)
                if matches!(obj, Value::BoundMethod(_))
                    && matches!(name, "__self__" | "__func__") =>
            {
                err!(AttributeError, "readonly attribute")
            }
            Ok(_) if matches!(tname.as_str(), "complex" | "slice" | "range") => {
                err!(AttributeError, "readonly attribute")
            }
            Ok(_) => err!(
                AttributeError,
                "attribute '{name}' of '{tname}' objects is not writable"
            ),
            Err(_) => no_attr(obj, name),
        }
    }

    /// `object.__setattr__`: a data descriptor on the class (property, slot, `__set__`) takes the
    /// assignment; otherwise it goes to the instance's attributes, unless the instance has no
    /// `__dict__` (`__slots__`).
    pub(crate) fn generic_setattr(
        &mut self,
        obj: &Value,
        inst: &Ref<Instance>,
        name: &str,
        v: Value,
    ) -> PyResult<()> {
        if name == "__class__" {
            return crate::interp::classdef::set_instance_class(self, inst, &v);
        }
        if name == "__weakref__" {
            if let Some(e) = crate::stdlib::weakref::weakref_store_error(inst) {
                return Err(e);
            }
        }
        let flags = inst.class.attr_flags();
        if flags & crate::object::HAS_PROPERTY != 0 {
            if let Some(Value::Instance(d)) = inst.class.lookup(name) {
                if let Payload::Member { name: slot, .. } = &d.payload {
                    // Slot values share the table but are not part of `__dict__`.
                    let old = inst.dict.lock().insert_slot(slot.clone(), v);
                    drop(old);
                    return Ok(());
                }
                if crate::object::is_data_descriptor(&d) {
                    return self.set_via_descriptor(&d, obj, &inst.class.qualname(), name, v);
                }
            }
        }
        if flags & crate::object::DICTLESS != 0 {
            // CPython's generic setattr without a `__dict__`: "read-only" when the class has
            // something by that name (a slot shadowed by a class attribute), else no attribute.
            if inst.class.lookup(name).is_some() {
                return Err(err!(
                    AttributeError,
                    "'{}' object attribute '{name}' is read-only",
                    type_name(obj)
                ));
            }
            return Err(no_attr(obj, name));
        }
        if name == "__dict__" && inst.class.lookup("__dict__").is_none() {
            return crate::interp::views::set_instance_dict(inst, &v);
        }
        if let (Some(data), "args") = (inst.exc(), name) {
            // `BaseException.args` is a data descriptor: assigned args are what str() shows.
            let args = self.collect_iter(&v)?;
            data.lock().args = args;
            return Ok(());
        }
        if crate::builtins::attrs::exc_field_member(inst, name) {
            // A member of the exception in CPython: kept in the table, out of `__dict__`
            // (an exception group's two are read-only).
            if matches!(name, "message" | "exceptions") {
                return Err(err!(AttributeError, "readonly attribute"));
            }
            // (An `OSError`'s `characters_written` is converted to an int; -1 unsets it.)
            let v = if crate::stdlib::os::is_characters_written(inst, name) {
                crate::stdlib::os::characters_written(self, &v)?
            } else if crate::builtins::attrs::is_unicode_position(inst, name) {
                Some(crate::builtins::attrs::unicode_position(&v)?)
            } else {
                Some(v)
            };
            let old = match v {
                Some(v) => inst.dict.lock().insert_slot(Arc::from(name), v),
                None => inst.dict.lock().shift_remove(name),
            };
            drop(old);
            return Ok(());
        }
        if let Some(data) = inst.exc() {
            if crate::builtins::attrs::member_of(inst, name) {
                data.lock().member = Some(v);
                return Ok(());
            }
        }
        if let (Some(_), "__traceback__") = (inst.exc(), name) {
            return crate::interp::exc::set_traceback(inst, &v);
        }
        if let Some(data) = inst.exc() {
            // BaseException's `__cause__`/`__context__`/`__suppress_context__` descriptors: the
            // values live in the exception's data, where tracebacks read them, and assigning a
            // cause also sets `__suppress_context__`, as in CPython (multiprocessing's remote
            // tracebacks are attached this way).
            let link = |what: &str| match &v {
                Value::None => Ok(None),
                Value::Instance(i) if i.exc().is_some() => Ok(Some(v.clone())),
                _ => Err(err!(
                    TypeError,
                    "exception {what} must be None or derive from BaseException"
                )),
            };
            match name {
                "__cause__" => {
                    let cause = link("cause")?;
                    let mut d = data.lock();
                    d.cause = cause;
                    d.suppress_context = true;
                    return Ok(());
                }
                "__context__" => {
                    let context = link("context")?;
                    data.lock().context = context;
                    return Ok(());
                }
                "__suppress_context__" => {
                    let Value::Bool(b) = v else {
                        return Err(err!(TypeError, "attribute value type must be bool"));
                    };
                    data.lock().suppress_context = b;
                    return Ok(());
                }
                _ => {}
            }
        }
        // Read-only attributes kept in the payload or the table (`property().fget`, a file's
        // `closed`, a thread's `ident`): CPython's AttributeError (builtins/attrs.rs).
        if !matches!(inst.payload, Payload::None) {
            if let Some(e) = crate::builtins::attrs::payload_store_error(inst, name) {
                return Err(e);
            }
        }
        // Overwrite in place when the attribute exists: no new key string per assignment.
        let mut dict = inst.dict.lock();
        if dict.has_view() {
            // Through `insert`, which mirrors the change in the `__dict__` object (and from
            // there in the other instances sharing it).
            let old = dict.insert(Arc::from(name), v);
            drop(dict);
            drop(old);
            crate::interp::views::shared_attr_changed(inst, name);
            return Ok(());
        }
        match dict.get_mut(name) {
            Some(slot) => {
                let old = std::mem::replace(slot, v);
                drop(dict);
                old.discard();
            }
            None => {
                dict.insert(Arc::from(name), v);
            }
        }
        Ok(())
    }

    /// `del obj.name`
    pub fn delattr(&mut self, obj: &Value, name: &str) -> PyResult<()> {
        let hook = match obj {
            Value::Instance(inst) if !inst.class.builtin => self.lookup_special(obj, "__delattr__"),
            Value::Class(_) => self.lookup_special(obj, "__delattr__"),
            _ => None,
        };
        if let Some(da) = hook {
            return self.call(&da, &[obj.clone(), Value::str(name)]).map(|_| ());
        }
        self.generic_delattr(obj, name)
    }

    /// `obj.name = v` through the data descriptor `d` found on a type (`owner` names the type
    /// the error message shows): a property's setter (CPython's "has no setter" error when it
    /// has none) or the descriptor's `__set__` (AttributeError `__set__` when it only has
    /// `__delete__`, as CPython: the value is not stored aside).
    fn set_via_descriptor(
        &mut self,
        d: &Ref<Instance>,
        obj: &Value,
        owner: &str,
        name: &str,
        v: Value,
    ) -> PyResult<()> {
        if let (Payload::Property { fset, .. }, true) = (&d.payload, d.class.builtin) {
            if fset.is_none() {
                // A built-in type's member or computed attribute has CPython's own wording.
                if let Some(e) = crate::builtins::attrs::builtin_property_store_error(obj, name) {
                    return Err(e);
                }
                return Err(prop_missing_error(d, owner, "setter"));
            }
            return self.call(fset, &[obj.clone(), v]).map(|_| ());
        }
        let Some(set) = d.class.lookup("__set__") else {
            return Err(err!(AttributeError, "__set__"));
        };
        let desc = Value::Instance(d.clone());
        self.call(&set, &[desc, obj.clone(), v]).map(|_| ())
    }

    /// `del obj.name` through the data descriptor `d` found on a type (`owner` names the type
    /// the error message shows): a property's deleter (CPython's "has no deleter" error when it
    /// has none) or the descriptor's `__delete__`. `None` when `d` is not a data descriptor.
    fn delete_via_descriptor(
        &mut self,
        d: &Ref<Instance>,
        obj: &Value,
        owner: &str,
        name: &str,
    ) -> Option<PyResult<()>> {
        match &d.payload {
            Payload::Property { fdel, .. } if d.class.builtin => Some(if fdel.is_none() {
                Err(
                    crate::builtins::attrs::builtin_property_store_error(obj, name)
                        .unwrap_or_else(|| prop_missing_error(d, owner, "deleter")),
                )
            } else {
                self.call(fdel, std::slice::from_ref(obj)).map(|_| ())
            }),
            _ if crate::object::is_data_descriptor(d) => {
                let Some(del) = d.class.lookup("__delete__") else {
                    return Some(Err(err!(AttributeError, "__delete__")));
                };
                let desc = Value::Instance(d.clone());
                Some(self.call(&del, &[desc, obj.clone()]).map(|_| ()))
            }
            _ => None,
        }
    }

    /// `object.__delattr__`: a data descriptor on the class (property, slot, `__delete__`) takes
    /// the deletion; otherwise the attribute leaves the instance (class, module).
    pub(crate) fn generic_delattr(&mut self, obj: &Value, name: &str) -> PyResult<()> {
        if name == "__class__" {
            return Err(err!(TypeError, "can't delete __class__ attribute"));
        }
        // An exception group's `message`/`exceptions`: read-only members.
        if let (Value::Instance(inst), "message" | "exceptions") = (obj, name) {
            if crate::builtins::attrs::exc_field_member(inst, name) {
                return Err(err!(AttributeError, "readonly attribute"));
            }
        }
        // `del z.real`: a member of the built-in type.
        if let Value::Complex(_) = obj {
            if let Some(e) = crate::builtins::attrs::builtin_property_store_error(obj, name) {
                return Err(e);
            }
        }
        // `del C.name` with a data descriptor by that name on the metaclass: its deleter.
        if let Value::Class(cls) = obj {
            if cls.immutable.load(Ordering::Relaxed) {
                return Err(immutable_type_error(cls, name));
            }
            if let Some(Value::Instance(d)) = cls.metaclass.as_ref().and_then(|m| m.lookup(name)) {
                let owner = class_of(obj);
                if let Some(done) = self.delete_via_descriptor(&d, obj, &owner.qualname(), name) {
                    return done;
                }
            }
        }
        if let (Value::Instance(inst), "__dict__") = (obj, name) {
            // `BaseException`'s `__dict__` can be replaced, never deleted (its setter refuses
            // it, for the built-in exceptions and their subclasses alike).
            if inst.exc().is_some() {
                return Err(err!(TypeError, "cannot delete __dict__"));
            }
            if !inst.class.builtin && inst.class.lookup("__dict__").is_none() {
                // The instance's attributes go (slots stay); a `__dict__` object taken before
                // keeps what it held, as CPython's old dict does.
                let mut dict = inst.dict.lock();
                let names: Vec<Arc<str>> = dict
                    .keys()
                    .filter(|k| {
                        !(matches!(inst.class.lookup(k), Some(Value::Instance(d))
                            if matches!(d.payload, Payload::Member { .. }))
                            || crate::builtins::attrs::exc_field_member(inst, k))
                    })
                    .cloned()
                    .collect();
                dict.drop_view();
                for k in names {
                    drop(dict.shift_remove(&*k));
                }
                return Ok(());
            }
        }
        if let (Value::Instance(inst), "__weakref__") = (obj, name) {
            if let Some(e) = crate::stdlib::weakref::weakref_store_error(inst) {
                return Err(e);
            }
        }
        if let Value::Instance(inst) = obj {
            if inst.class.attr_flags() & crate::object::HAS_PROPERTY != 0 {
                if let Some(Value::Instance(d)) = inst.class.lookup(name) {
                    if let Payload::Member { name: slot, .. } = &d.payload {
                        let removed = inst.dict.lock().shift_remove(&**slot);
                        return match removed {
                            Some(_) => Ok(()),
                            None => Err(err!(AttributeError, "{name}")),
                        };
                    }
                    if let Some(done) =
                        self.delete_via_descriptor(&d, obj, &inst.class.qualname(), name)
                    {
                        return done;
                    }
                }
            }
        }
        let removed = match obj {
            Value::Instance(inst) => {
                if crate::builtins::attrs::is_unicode_position(inst, name) {
                    return Err(err!(TypeError, "can't delete numeric/char attribute"));
                }
                let removed = inst.dict.lock().shift_remove(name);
                let found = removed.is_some();
                drop(removed);
                if found {
                    crate::interp::views::shared_attr_changed(inst, name);
                }
                // An `OSError` field can be deleted even unset (CPython's member then stays
                // unset); its `characters_written` cannot.
                if !found && crate::stdlib::os::is_characters_written(inst, name) {
                    return Err(err!(AttributeError, "characters_written"));
                }
                found || crate::stdlib::os::is_os_error_field(inst, name)
            }
            Value::Class(cls) if !cls.builtin => {
                let removed = cls.dict.write().shift_remove(name).is_some();
                crate::object::class_changed();
                removed
            }
            Value::Module(m) => m
                .dict
                .remove(&crate::object::HashKey::from_str(name))
                .is_some(),
            // (As CPython's: the same as assigning None.)
            Value::Function(f)
                if matches!(name, "__defaults__" | "__kwdefaults__")
                    && !f.code.obj.filename.starts_with("<minivm-lib>") =>
            {
                return crate::builtins::attrs::set_function_defaults(self, f, name, Value::None);
            }
            Value::Function(f) => crate::builtins::attrs::del_function_attr(f, name),
            _ => false,
        };
        if removed {
            Ok(())
        } else {
            Err(no_attr(obj, name))
        }
    }

    /// `super()` with no arguments: the class from the function's `__class__` cell and its first argument.
    pub(crate) fn zero_arg_super(&mut self, frame: &Frame) -> PyResult<Value> {
        let obj = &frame.code.obj;
        // CPython's order of checks: arguments, the first one, then the `__class__` cell.
        if obj.argcount == 0 {
            return Err(err!(RuntimeError, "super(): no arguments"));
        }
        let class_cell = obj
            .freevars
            .iter()
            .position(|n| n == "__class__")
            .map(|i| i + obj.cellvars.len())
            .and_then(|i| frame.cells.get(i));
        let Some(cell) = class_cell else {
            return Err(err!(RuntimeError, "super(): __class__ cell not found"));
        };
        let Value::Class(start) = cell.get() else {
            return Err(err!(RuntimeError, "super(): empty __class__ cell"));
        };
        let first = match obj.cell2arg.iter().position(|a| *a == Some(0)) {
            Some(ci) => frame.cells.get(ci).map(|c| c.get()).unwrap_or_default(),
            None => frame.locals.first().cloned().unwrap_or_default(),
        };
        if matches!(first, Value::Undefined) {
            return Err(err!(RuntimeError, "super(): arg[0] deleted"));
        }
        Ok(Value::Instance(Ref::new(Instance::with_payload(
            types().super_.clone(),
            Payload::Super { start, obj: first },
        ))))
    }

    /// The value `LoadBuildClass` pushes.
    pub(crate) fn build_class_fn(&self) -> Value {
        Value::Native(Ref::new(NativeFunction::new(
            "__build_class__",
            crate::interp::classdef::build_class,
        )))
    }
}

/// `object.__setattr__` / `object.__delattr__`: plain instance-dict updates, for classes that
/// override `__setattr__` or `__delattr__` and delegate to the default.
/// The object and `N` arguments of a call of object's `__reduce_ex__` (one: the protocol),
/// `__reduce__` or `__getstate__` (none), or CPython's `TypeError`.
fn object_hook_args<'a, const N: usize>(
    args: &Args<'a>,
    name: &str,
    takes: usize,
) -> PyResult<&'a [Value; N]> {
    if !args.kw.is_empty() {
        return Err(err!(
            TypeError,
            "object.{name}() takes no keyword arguments"
        ));
    }
    match <&[Value; N]>::try_from(args.pos) {
        Ok(all) => Ok(all),
        Err(_) if args.pos.is_empty() => Err(err!(
            TypeError,
            "unbound method object.{name}() needs an argument"
        )),
        Err(_) if takes == 0 => Err(err!(
            TypeError,
            "object.{name}() takes no arguments ({} given)",
            args.pos.len() - 1
        )),
        Err(_) => Err(err!(
            TypeError,
            "object.{name}() takes exactly one argument ({} given)",
            args.pos.len() - 1
        )),
    }
}

/// What every object has from `object` although no class of its MRO holds it (see
/// `object_extra`): read from an instance or a built-in value, bound to it. (`__subclasshook__`
/// is a class method, and functions have their own list: `function_object_method`.)
fn object_extra_bound(name: &str) -> Option<Value> {
    match name {
        "__reduce__" | "__reduce_ex__" | "__getstate__" | "__sizeof__" | "__dir__" | "__lt__"
        | "__le__" | "__gt__" | "__ge__" => object_extra(name),
        _ => None,
    }
}

/// `object_method(name)` as an attribute of class `cls`; `object.__new__` itself is
/// [`object_new_checked`] (reached through `tuple.__new__` or `super().__new__`, the same
/// native makes instances of the built-in bases).
fn object_own_method(cls: &Ref<Class>, name: &str) -> Option<Value> {
    if name == "__new__" && Ref::ptr_eq(cls, &types().object) {
        return Some(Value::Native(Ref::new(NativeFunction {
            kind: crate::object::NativeKind::of_method("object", "__new__"),
            ..NativeFunction::new("__new__", object_new_checked)
        })));
    }
    object_method(name)
}

/// The key under which a built-in type's `slot_cache` keeps its `__new__` (no attribute name
/// has a space, and `own_slot` keeps the plain `__new__` slot under its own name).
const NEW_KEY: &str = " __new__";

/// `C.__new__` for a class that defines none: the `__new__` of the first built-in class of its
/// MRO (`A.__new__ is object.__new__` for a plain class), which is, as CPython's, a built-in
/// method bound to that type (`<built-in method __new__ of type object at 0x...>`, `__self__`
/// the type) and one object per type (`int.__new__ is int.__new__`), called with the class to
/// instantiate first (`int.__new__(int, '12')`).
fn builtin_type_new(cls: &Ref<Class>) -> Value {
    let owner = Class::mro(cls)
        .into_iter()
        .find(|c| c.builtin)
        .unwrap_or_else(|| types().object.clone());
    if let Some(v) = owner.slot_cache.lock().get(NEW_KEY) {
        return v.clone();
    }
    let func = Ref::new(NativeFunction::new("__new__", type_new_call));
    // Shared by every thread, as the built-in classes that keep it are.
    Ref::immortalize(&func);
    let method = Ref::new(crate::object::BoundMethod {
        receiver: Value::Class(owner.clone()),
        func: Value::Native(func),
    });
    Ref::immortalize(&method);
    let kept = owner
        .slot_cache
        .lock()
        .entry(Arc::from(NEW_KEY))
        .or_insert(Value::BoundMethod(method))
        .clone();
    kept
}

/// A call of a built-in type's `T.__new__(C, *args)` ([`builtin_type_new`]; its first argument
/// is T): CPython's checks of C (given, a class, a subtype of T), then the instance. The
/// singletons' types and `bool` answer as their call does (`type(None).__new__(type(None))` is
/// None); the others are `object.__new__`'s work, which makes instances of the built-in bases.
fn type_new_call(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [Value::Class(owner), rest @ ..] = args.pos else {
        return Err(err!(TypeError, "__new__() needs its type"));
    };
    let Some(first) = rest.first() else {
        return Err(err!(
            TypeError,
            "{}.__new__(): not enough arguments",
            owner.name()
        ));
    };
    let Value::Class(sub) = first else {
        return Err(err!(
            TypeError,
            "{}.__new__(X): X is not a type object ({})",
            owner.name(),
            type_name(first)
        ));
    };
    if !sub.is_subclass(owner) {
        return Err(err!(
            TypeError,
            "{}.__new__({}): {} is not a subtype of {}",
            owner.name(),
            sub.name(),
            sub.name(),
            owner.name()
        ));
    }
    let rest_args = Args {
        pos: rest,
        kw: args.kw,
    };
    let t = types();
    if owner.builtin && matches!(owner.kind, TypeKind::NoneType | TypeKind::Bool)
        || Ref::ptr_eq(owner, &class_of(&Value::Ellipsis))
        || Ref::ptr_eq(owner, &class_of(&Value::NotImplemented))
    {
        return interp.call_kw(&Value::Class(owner.clone()), &rest[1..], args.kw);
    }
    if Ref::ptr_eq(owner, &t.object) {
        return object_new_checked(interp, rest_args);
    }
    // `OSError.__new__(OSError, 2, 'x')` makes the errno's subclass, as `OSError(2, 'x')`.
    if let Some(mapped) = crate::stdlib::os::os_error_class(sub, &rest[1..]) {
        let mut pos = rest.to_vec();
        if let Some(slot) = pos.first_mut() {
            *slot = Value::Class(mapped);
        }
        return object_new(
            interp,
            Args {
                pos: &pos,
                kw: args.kw,
            },
        );
    }
    object_new(interp, rest_args)
}

/// `types.FunctionType.__get__`: the descriptor call of functions, unbound (`f.__get__` is
/// answered by the function itself, `builtins/attrs.rs`).
fn function_type_attr(cls: &Ref<Class>, name: &str) -> Option<Value> {
    (name == "__get__" && Ref::ptr_eq(cls, &types().function)).then(|| {
        Value::Native(Ref::new(NativeFunction {
            kind: crate::object::NativeKind::of_method("function", "__get__"),
            ..NativeFunction::new("__get__", crate::builtins::attrs::function_get)
        }))
    })
}

/// `object.__new__(C)`: CPython's TypeError when C is a subclass of a built-in type whose own
/// `__new__` makes its instances (a list, int or exception subclass), naming the nearest class
/// up C's `__base__` chain without a `__new__` of its own to use instead.
fn object_new_checked(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    if let Some(Value::Class(sub)) = args.pos.first() {
        if crate::object::is_data_kind(sub.kind) || sub.kind == TypeKind::Exception {
            let mut base = sub.clone();
            while !base.builtin && base.dict.read().contains_key("__new__") {
                match base.base.clone() {
                    Some(b) => base = b,
                    None => break,
                }
            }
            return Err(err!(
                TypeError,
                "object.__new__({}) is not safe, use {}.__new__()",
                sub.name(),
                base.name()
            ));
        }
    }
    object_new(interp, args)
}

fn object_method(name: &str) -> Option<Value> {
    let f: crate::object::NativeFn = match name {
        "__setattr__" => |interp, args| {
            // `type.__setattr__(cls, name, value)` / `super().__setattr__(...)` in a metaclass.
            if let (Some(Value::Class(cls)), Some(Value::Str(n)), Some(v)) =
                (args.pos.first(), args.pos.get(1), args.pos.get(2))
            {
                if cls.builtin {
                    return Err(err!(
                        TypeError,
                        "cannot set '{}' attribute of immutable type '{}'",
                        n.as_str(),
                        cls.name()
                    ));
                }
                if matches!(n.as_str(), "__name__" | "__qualname__") {
                    return set_class_name(cls, n.as_str(), v).map(|_| Value::None);
                }
                cls.dict.write().insert(Arc::from(n.as_str()), v.clone());
                crate::object::class_changed();
                return Ok(Value::None);
            }
            let (Some(Value::Instance(inst)), Some(Value::Str(n)), Some(v)) =
                (args.pos.first(), args.pos.get(1), args.pos.get(2))
            else {
                // Any other object (a function's attributes): its own attribute store.
                if let (Some(obj), Some(Value::Str(n)), Some(v)) =
                    (args.pos.first(), args.pos.get(1), args.pos.get(2))
                {
                    let obj = obj.clone();
                    return interp
                        .setattr(&obj, n.as_str(), v.clone())
                        .map(|_| Value::None);
                }
                return Err(err!(
                    TypeError,
                    "object.__setattr__() expects an instance, a name and a value"
                ));
            };
            let (obj, inst) = (args.pos[0].clone(), inst.clone());
            interp
                .generic_setattr(&obj, &inst, n.as_str(), v.clone())
                .map(|_| Value::None)
        },
        "__delattr__" => |interp, args| {
            let (Some(obj @ (Value::Instance(_) | Value::Class(_))), Some(Value::Str(n))) =
                (args.pos.first(), args.pos.get(1))
            else {
                // Any other value (a function's attribute, a built-in value's error).
                if let (Some(obj), Some(Value::Str(n))) = (args.pos.first(), args.pos.get(1)) {
                    let obj = obj.clone();
                    return interp.delattr(&obj, n.as_str()).map(|_| Value::None);
                }
                return Err(err!(
                    TypeError,
                    "object.__delattr__() expects an instance and a name"
                ));
            };
            let obj = obj.clone();
            interp
                .generic_delattr(&obj, n.as_str())
                .map(|_| Value::None)
        },
        "__getattribute__" => |interp, args| {
            let (Some(obj), Some(Value::Str(n))) = (args.pos.first(), args.pos.get(1)) else {
                return Err(err!(
                    TypeError,
                    "object.__getattribute__() expects an object and a name"
                ));
            };
            match obj {
                Value::Instance(inst) if !matches!(inst.payload, Payload::Super { .. }) => {
                    let (obj, inst) = (obj.clone(), inst.clone());
                    interp.generic_getattr(&obj, &inst, n.as_str(), false)
                }
                other => {
                    let other = other.clone();
                    interp.getattr(&other, n.as_str())
                }
            }
        },
        "__new__" => object_new,
        "__init_subclass__" => |_, args| {
            if !args.kw.is_empty() {
                let name = match args.pos.first() {
                    Some(Value::Class(c)) => c.name().to_string(),
                    _ => "object".to_string(),
                };
                return Err(err!(
                    TypeError,
                    "{name}.__init_subclass__() takes no keyword arguments"
                ));
            }
            Ok(Value::None)
        },
        _ => return None,
    };
    let name = match name {
        "__getattribute__" => "__getattribute__",
        "__setattr__" => "__setattr__",
        "__delattr__" => "__delattr__",
        "__new__" => "__new__",
        _ => "__init_subclass__",
    };
    Some(Value::Native(Ref::new(NativeFunction {
        kind: crate::object::NativeKind::of_method("object", name),
        ..NativeFunction::new(name, f)
    })))
}

/// CPython's error for setting or deleting attribute `name` of an immutable type: named as its
/// `tp_name` is, with the module unless it is `builtins`.
fn immutable_type_error(cls: &Class, name: &str) -> crate::error::PyErr {
    let tp_name = match &*cls.module {
        "builtins" => cls.name().to_string(),
        module => format!("{module}.{}", cls.qualname()),
    };
    err!(
        TypeError,
        "cannot set '{name}' attribute of immutable type '{tp_name}'"
    )
}

/// `type.__prepare__` (a class method): the namespace of a class statement, a new dict
/// whatever the arguments.
fn type_prepare() -> Value {
    crate::builtins::native("__prepare__", |_, _| {
        Ok(Value::Dict(Ref::new(crate::object::Dict::new())))
    })
}

/// `type.__instancecheck__` / `type.__subclasscheck__` (`name`): the plain checks no hook takes
/// part in, for a metaclass's own `__instancecheck__` to fall back on
/// (`super().__instancecheck__(obj)`): `obj`'s class, or the `__class__` it claims, has the
/// class in its MRO; for `__subclasscheck__`, the class given does.
fn type_check(name: &str) -> Value {
    if name == "__instancecheck__" {
        crate::builtins::native("__instancecheck__", |interp, args| {
            let [Value::Class(c), obj] = args.pos else {
                return Err(err!(
                    TypeError,
                    "type.__instancecheck__() takes a class and exactly one argument"
                ));
            };
            if class_of(obj).is_subclass(c) {
                return Ok(Value::Bool(true));
            }
            Ok(Value::Bool(match interp.getattr(obj, "__class__") {
                Ok(Value::Class(k)) => k.is_subclass(c),
                _ => false,
            }))
        })
    } else {
        crate::builtins::native("__subclasscheck__", |_, args| match args.pos {
            [Value::Class(c), Value::Class(k)] => Ok(Value::Bool(k.is_subclass(c))),
            [Value::Class(_), _] => Err(err!(TypeError, "issubclass() arg 1 must be a class")),
            _ => Err(err!(
                TypeError,
                "type.__subclasscheck__() takes a class and exactly one argument"
            )),
        })
    }
}

/// The rest of the methods `dir()` lists for every object (`OBJECT_DIR`), so that what `dir(C)`
/// names `getattr(C, name)` finds, as class decorators that walk `dir()` expect: read from a
/// class, or through `super()`. Each is made once, so `getattr(C, '__lt__') is
/// getattr(object, '__lt__')` holds as in CPython (`functools.total_ordering` relies on it).
/// The comparisons answer `NotImplemented` and `__subclasshook__` too, as object's do;
/// `__dir__` lists the names `dir()` would; the pickling and size hooks are CPython's
/// implementation, which minivm does its own way: calling one is a `NotImplementedError`.
fn object_extra(name: &str) -> Option<Value> {
    use crate::object::NativeKind;
    static EXTRAS: crate::heap::Global<Vec<(&'static str, Value)>> = crate::heap::Global::new();
    let extras = EXTRAS.get_or_init(|| {
        let not_implemented: crate::object::NativeFn = |_, _| Ok(Value::NotImplemented);
        let dir: crate::object::NativeFn = |interp, args| {
            let Some(obj) = args.pos.first() else {
                return Err(err!(TypeError, "object.__dir__() needs an argument"));
            };
            let names = interp.dir_names(obj);
            Ok(Value::list(names.iter().map(|n| Value::str(n)).collect()))
        };
        let unprovided: crate::object::NativeFn = |_, _| {
            Err(err!(
                NotImplementedError,
                "minivm does not provide object's __sizeof__ method"
            ))
        };
        // The pickling hooks are `copyreg`'s functions (vm/lib/copyreg.mini), as CPython's
        // `object.__reduce_ex__` calls `copyreg` for protocols 0 and 1.
        let reduce_ex: crate::object::NativeFn = |interp, args| {
            let [this, protocol] = object_hook_args(&args, "__reduce_ex__", 1)?;
            let protocol = crate::builtins::args::to_index(protocol)?;
            let f = crate::builtins::complex::copyreg_function(interp, "_object_reduce_ex")?;
            interp.call(&f, &[this.clone(), Value::Int(protocol)])
        };
        let reduce: crate::object::NativeFn = |interp, args| {
            let [this] = object_hook_args(&args, "__reduce__", 0)?;
            let f = crate::builtins::complex::copyreg_function(interp, "_object_reduce")?;
            interp.call(&f, std::slice::from_ref(this))
        };
        let getstate: crate::object::NativeFn = |interp, args| {
            let [this] = object_hook_args(&args, "__getstate__", 0)?;
            let f = crate::builtins::complex::copyreg_function(interp, "_object_getstate")?;
            interp.call(&f, std::slice::from_ref(this))
        };
        let table: [(&'static str, crate::object::NativeFn, NativeKind); 10] = [
            ("__lt__", not_implemented, NativeKind::SlotWrapper),
            ("__le__", not_implemented, NativeKind::SlotWrapper),
            ("__gt__", not_implemented, NativeKind::SlotWrapper),
            ("__ge__", not_implemented, NativeKind::SlotWrapper),
            ("__subclasshook__", not_implemented, NativeKind::Function),
            ("__dir__", dir, NativeKind::MethodDescriptor),
            ("__reduce__", reduce, NativeKind::MethodDescriptor),
            ("__reduce_ex__", reduce_ex, NativeKind::MethodDescriptor),
            ("__getstate__", getstate, NativeKind::MethodDescriptor),
            ("__sizeof__", unprovided, NativeKind::MethodDescriptor),
        ];
        table
            .into_iter()
            .map(|(n, f, kind)| {
                let func = Ref::new(NativeFunction {
                    kind,
                    binds: true,
                    ..NativeFunction::new(n, f)
                });
                // Shared by every thread, as the built-in classes are.
                Ref::immortalize(&func);
                (n, Value::Native(func))
            })
            .collect()
    });
    extras
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.clone())
}

/// Whether the built-in method `n` is one of `object`'s made outside its class dict
/// (`object_method`'s attribute hooks, `object_extra`'s), for its repr (`<slot wrapper
/// '__delattr__' of 'object' objects>`).
pub(crate) fn is_object_method(n: &Ref<NativeFunction>) -> bool {
    matches!(n.name, "__getattribute__" | "__setattr__" | "__delattr__")
        || matches!(object_extra(n.name), Some(Value::Native(o)) if Ref::ptr_eq(&o, n))
}

/// The data attributes `dir(C)` lists that live outside class dicts, read from the class:
/// `__weakref__` of a class written in Python, `real`/`imag` (`numerator`/`denominator`) of
/// `int` and `float` and their subclasses, `start`/`stop`/`step` of `range`, `fget`/`fset`/
/// `fdel`/`__isabstractmethod__` of `property`. CPython's are
/// `getset_descriptor`s; so are these (`types.GetSetDescriptorType`), though only as names:
/// minivm reads those attributes without them, so they have no `__get__`.
fn class_data_attr(cls: &Ref<Class>, name: &str) -> Option<Value> {
    static DESCRIPTOR: crate::heap::Global<Value> = crate::heap::Global::new();
    let mro = Class::mro(cls);
    let has_kind = |kinds: &[TypeKind]| mro.iter().any(|c| c.builtin && kinds.contains(&c.kind));
    let wanted = match name {
        "__weakref__" => mro.iter().any(|c| !c.builtin),
        "real" | "imag" => has_kind(&[TypeKind::Int, TypeKind::Float, TypeKind::Bool]),
        "numerator" | "denominator" => has_kind(&[TypeKind::Int, TypeKind::Bool]),
        "start" | "stop" | "step" => has_kind(&[TypeKind::Range]),
        "fget" | "fset" | "fdel" | "__isabstractmethod__" => has_kind(&[TypeKind::Property]),
        _ => false,
    };
    wanted.then(|| {
        DESCRIPTOR
            .get_or_init(|| {
                let d = Ref::new(Instance::new(types().getset_descriptor.clone()));
                // Shared by every thread, as the built-in classes are.
                Ref::immortalize(&d);
                Value::Instance(d)
            })
            .clone()
    })
}

/// `object.__new__(cls, *args)`: a new, uninitialised instance of a user class. Extra arguments
/// are an error unless the class overrides `__init__` (which will take them) and not `__new__`.
/// A call of it is one recursion level checked, as CPython 3.11's call of the built-in
/// (`_PyObject_MakeTpCall`, "while calling a Python object").
fn object_new(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    interp.check_recursion(crate::interp::guard::CALLING)?;
    let Some(Value::Class(cls)) = args.pos.first() else {
        return Err(err!(TypeError, "object.__new__(X): X is not a type object"));
    };
    if cls.kind == TypeKind::Type {
        // `type.__new__(mcs, name, bases, ns)` (found here, as minivm's `type` has no own
        // `__new__` entry) or `super().__new__(...)` in a metaclass.
        return crate::interp::classdef::type_new_meta(interp, args);
    }
    // A user class whose call plan is known (`Ctor`) has no abstract methods and no payload:
    // `__new__`'s `object.__new__(cls)` skips the look-up of `__abstractmethods__` and makes
    // the instance as `C()` does, its table sized for the attributes `__init__` gives.
    let known = matches!(cls.ctor(), Ctor::Plain(_) | Ctor::New(_));
    if !known {
        crate::interp::call::check_abstract(cls)?;
    }
    if crate::object::is_data_kind(cls.kind) {
        // `tuple.__new__(cls, items)`, as namedtuple classes call it.
        let cls = cls.clone();
        return interp.new_builtin_subclass(&cls, &args.pos[1..], args.kw);
    }
    // (A built-in exception class is made here too: `ValueError.__new__(ValueError, 1)`.)
    if cls.builtin && cls.kind != TypeKind::Exception
        || !matches!(
            cls.kind,
            TypeKind::Object | TypeKind::Exception | TypeKind::Native
        )
    {
        return Err(err!(
            TypeError,
            "minivm cannot create instances of '{}' with object.__new__",
            cls.name()
        ));
    }
    let own_new = matches!(
        cls.lookup("__new__"),
        Some(Value::Instance(_) | Value::Function(_))
    );
    // `BaseException.__new__` takes any arguments (kept as `args`): `super().__new__(cls, *a)`
    // in an exception class with its own `__new__` is CPython's usual spelling.
    if (args.pos.len() > 1 || !args.kw.is_empty()) && cls.kind != TypeKind::Exception {
        if own_new {
            return Err(err!(
                TypeError,
                "object.__new__() takes exactly one argument (the type to instantiate)"
            ));
        }
        if cls.lookup("__init__").is_none() {
            return Err(err!(TypeError, "{}() takes no arguments", cls.name()));
        }
    }
    if known {
        return Ok(Value::Instance(Instance::new_plain(cls.clone())));
    }
    let inst = Instance::new(cls.clone());
    if let Some(d) = inst.exc() {
        let mut data = d.lock();
        data.args = args.pos[1..].to_vec();
        data.init_pending = true;
    }
    let inst = Ref::new(inst);
    // CPython's `OSError.__new__` reads `(errno, strerror, filename...)` itself unless the
    // class overrides `__init__` but not `__new__`: then `OSError.__init__` does it, and the
    // new exception's `args` is `()` until then.
    if cls.is_subclass(crate::object::types().exc(crate::object::ExcKind::OSError)) {
        let own_init = matches!(cls.lookup("__init__"), Some(Value::Function(_)));
        if own_new || !own_init {
            if !args.kw.is_empty() {
                return Err(err!(
                    TypeError,
                    "{}() takes no keyword arguments",
                    cls.name()
                ));
            }
            crate::stdlib::os::init_os_error(interp, &inst, &args.pos[1..])?;
        } else if let Some(d) = inst.exc() {
            let old = std::mem::take(&mut d.lock().args);
            drop(old);
        }
    }
    Ok(Value::Instance(inst))
}

/// `C.__dict__`: a copy of the class's own attributes (CPython's is a read-only view), with the
/// special methods of a built-in type listed as its slot wrappers.
pub(crate) fn class_dict(cls: &Ref<Class>) -> Value {
    let d = crate::object::Dict::new();
    for (k, v) in cls.dict.read().iter() {
        d.set_str(k, v.clone());
    }
    if cls.builtin {
        for (k, v) in crate::interp::subclass::slots_of(cls) {
            if d.get_str(&k).is_none() {
                d.set_str(&k, v);
            }
        }
        if let Some(doc) = builtin_class_doc(cls) {
            if d.get_str("__doc__").is_none() {
                d.set_str("__doc__", Value::str(doc));
            }
        }
    }
    Value::Dict(Ref::new(d))
}

fn no_attr(obj: &Value, name: &str) -> PyErr {
    err!(
        AttributeError,
        "'{}' object has no attribute '{name}'",
        type_name(obj)
    )
}

/// `obj` as an instance of a user class with no payload (not an exception, `super()`,
/// property, native or built-in-subclass object) whose class chain has none of the
/// `attr_flags` in `excluded`, and whose attribute `name` the instance's own table decides:
/// when some class of the chain has a data descriptor (`HAS_PROPERTY`), the class's answer for
/// `name` (through the lookup cache at `hint`) must not be an object that could be one.
pub(crate) fn plain_instance<'v>(
    obj: &'v Value,
    excluded: u64,
    name: &Arc<str>,
    hint: &AtomicU32,
) -> Option<&'v Ref<Instance>> {
    let Value::Instance(inst) = obj else {
        return None;
    };
    if !matches!(inst.payload, Payload::None) || inst.class.builtin {
        return None;
    }
    let flags = inst.class.attr_flags();
    if flags & excluded != 0 {
        return None;
    }
    if flags & HAS_PROPERTY != 0
        && inst
            .class
            .with_hinted(name, hint, |v| matches!(v, Some(Value::Instance(_))))
    {
        return None;
    }
    Some(inst)
}

/// Whether the instance's table `dict` has the key `name` (an interned name), trying the
/// instruction's cache `hint` first (as [`dict_get_hinted`]): `obj.method()` asks this on every
/// call, to see that no instance attribute hides the method. The hit is inlined into its two
/// callers (`try_push_method`, `native_method_of`); with two callers LLVM had made the whole of
/// it a call, about 8 machine instructions more per method call (deltablue, callgrind).
#[inline(always)]
pub(crate) fn has_name(dict: &InstDict, name: &Arc<str>, hint: &AtomicU64) -> bool {
    let word = hint.load(Ordering::Relaxed);
    if hint_layout(word) == dict.layout_id() {
        return hint_pos(word) < dict.len();
    }
    has_name_unhinted(dict, name, hint, word)
}

/// `has_name` for `try_push_method`, the layout's summary of its names tested inline when the
/// hint is another layout's: a call site that sees instances of several layouts (richards'
/// `t.run()` over its task classes: a third of its method calls) then usually knows the method
/// is not hidden without the out-of-line call. Only there: `try_push_method` is a function of
/// its own, where the same test inlined into `has_name` reached the dispatch loop (through
/// `native_method_of`) and moved its layout (callgrind: nqueens +1.55%, cycles +1.06%).
#[inline(always)]
pub(crate) fn method_shadowed(dict: &InstDict, name: &Arc<str>, hint: &AtomicU64) -> bool {
    let word = hint.load(Ordering::Relaxed);
    match shadowed_by_layout(dict.layout(), || dict.len(), name, hint, word) {
        Some(shadowed) => shadowed,
        None => has_name_unhinted(dict, name, hint, word),
    }
}

/// Whether a table of `layout` holding `len()` values has the key `name`, as far as the layout
/// tells without the table: by the cache `hint` (its `word`) when it was taken on that layout,
/// or by the layout's summary of its names (remembered in the hint as absent). `None` when
/// neither tells. `DICT_MODE`'s number is never in a hint and its summary rules nothing out, so
/// a table keeping its own names always gets `None`. The one test of both `method_shadowed`
/// (the table borrowed) and `method_shadowed_in` (free-threaded: the layout the table
/// publishes, no lock). `len` and the name's text are only worked out where they are used:
/// given as values, they were computed before the hint's test and `self.m()` took about 5
/// machine instructions more per call in the GIL model (callgrind, deltablue).
#[inline(always)]
fn shadowed_by_layout(
    layout: &Layout,
    len: impl FnOnce() -> usize,
    name: &Arc<str>,
    hint: &AtomicU64,
    word: u64,
) -> Option<bool> {
    if hint_layout(word) == layout.id() {
        return Some(hint_pos(word) < len());
    }
    if layout.surely_lacks(name) {
        remember(hint, layout.id(), ABSENT);
        return Some(false);
    }
    None
}

/// `method_shadowed` for an instance's table in its cell, the table taken as `access` takes it.
/// Free-threaded, the layout the table publishes (`object/instdict.rs: ShownLayout`) answers
/// first, without the table's lock: the hint taken on that layout, or the layout's summary
/// of its names; only a table in dict mode, or a name the summary cannot rule out, takes the
/// lock. A table being changed meanwhile is answered as it was before that change (the
/// change is published as its hold ends), as if this call had come just before it.
#[inline(always)]
pub(crate) fn method_shadowed_in<A: crate::heap::CellAccess>(
    access: A,
    cell: &crate::object::InstCell,
    name: &Arc<str>,
    hint: &AtomicU64,
) -> bool {
    if access.gil().is_none() && crate::heap::gil_model().is_none() {
        let layout = cell.published().get();
        let word = hint.load(Ordering::Relaxed);
        // In a shared layout the table holds one value per name.
        if let Some(shadowed) = shadowed_by_layout(layout, || layout.len(), name, hint, word) {
            return shadowed;
        }
    }
    method_shadowed(&access.lock(cell), name, hint)
}

/// GIL model: whether the instance table in `cell` surely has no value for `name`, as far as
/// its layout tells without looking at its names (`shadowed_by_layout`: the cache word `hint`
/// taken on that layout, or the layout's summary of its names, then remembered in the hint as
/// `method_shadowed` remembers it). `false` when that does not tell, or the table is held:
/// the caller then asks `method_shadowed_in`. The method-call hit path's test
/// (`interp/call.rs: method_local_hit`), with no call.
#[inline(always)]
pub(crate) fn absent_by_layout_gil(
    gil: crate::heap::GilModel,
    cell: &crate::object::InstCell,
    name: &Arc<str>,
    hint: &AtomicU64,
) -> bool {
    let Ok(dict) = cell.try_read_gil(gil) else {
        return false;
    };
    let word = hint.load(Ordering::Relaxed);
    shadowed_by_layout(dict.layout(), || dict.len(), name, hint, word) == Some(false)
}

/// `has_name` when the layout is not the one the hint was taken on (out of line).
#[inline(never)]
fn has_name_unhinted(dict: &InstDict, name: &Arc<str>, hint: &AtomicU64, word: u64) -> bool {
    // A call site that sees instances of several layouts (richards' tasks: a third of its
    // method calls) misses the hint each time the layout changes; the method's name is then
    // usually absent, which the layout's summary of its names tells without a scan of them
    // (callgrind, richards: about 150 machine instructions per miss before).
    if dict.surely_lacks(name) {
        remember(hint, dict.layout_id(), ABSENT);
        return false;
    }
    if key_at(dict, hint_pos(word), name) {
        return true;
    }
    let i = dict.get_index_of(&NameRef(name));
    remember(hint, dict.layout_id(), i.unwrap_or(ABSENT));
    i.is_some()
}

/// An attribute inline cache's word: the layout number of the instance table it was taken on
/// (high half) and the position of the name in that layout (low half), or [`ABSENT`]. One
/// atomic word, so that threads writing it at once (`--gil off`) never leave a layout paired
/// with another layout's position. Layouts are immutable and never freed (`object/instdict.rs`),
/// so a word whose layout matches the table's is the truth about that table.
#[inline]
fn hint_layout(word: u64) -> u32 {
    (word >> 32) as u32
}

#[inline]
fn hint_pos(word: u64) -> usize {
    (word & 0xFFFF_FFFF) as usize
}

/// The position recorded for a name the layout does not have.
const ABSENT: usize = 0xFFFF_FFFF;

/// The hit path of `module_attr`: the value at the recorded position of the module's dict, if
/// the key there is still `name`.
#[inline(always)]
fn module_attr_hit(m: &crate::object::Module, name: &str, cache: &InlineCache) -> Option<Value> {
    module_entry_at(
        m,
        cache,
        |k| matches!(&k.value, Value::Str(s) if s.as_str() == name),
    )
}

/// The value at the position of `m`'s dict that `cache`'s word records, if the word records
/// one and `is_name` accepts the key there.
#[inline(always)]
fn module_entry_at(
    m: &crate::object::Module,
    cache: &InlineCache,
    is_name: impl Fn(&crate::object::HashKey) -> bool,
) -> Option<Value> {
    let word = cache.word.load(Ordering::Relaxed);
    if word & MODULE_ENTRY == 0 {
        return None;
    }
    let map = m.dict.try_read().ok()?;
    match map.get_index((word & 0xFFFF_FFFF) as usize) {
        Some((k, v)) if is_name(k) => Some(v.clone()),
        _ => None,
    }
}

/// The hit path of `LOAD_METHOD` on a module (`math.floor(x)`, CPython's
/// `LOAD_ATTR_MODULE`), inlined into the dispatch loop (in `LOAD_ATTR`'s arm it cost
/// richards, which reads no module there, about 0.4% of its instructions): `module_attr_hit` with the name's
/// key (`CodeBody::name_keys`), compared by pointer first (names are interned) and by hash
/// and text otherwise, where `module_attr_hit` compared the text (a `memcmp` call). The key
/// at the recorded position is checked on every use, so an attribute reassigned is read
/// afresh and one deleted or moved only misses (then `module_attr` looks it up and records
/// its new position, or `__getattr__` answers).
#[inline(always)]
pub(crate) fn module_value_cached(
    obj: &Value,
    key: Option<&crate::object::HashKey>,
    cache: &InlineCache,
) -> Option<Value> {
    let (Value::Module(m), Some(key)) = (obj, key) else {
        return None;
    };
    module_entry_at(m, cache, |k| match (&k.value, &key.value) {
        (Value::Str(a), Value::Str(b)) if Ref::ptr_eq(a, b) => true,
        _ => k == key,
    })
}

/// A cache word recording a position in a module's dict (`module_attr`) rather than a layout
/// and position: its layout half (`0x8000_0000` and up) is no layout's number (they stay far
/// below, `u32::MAX` aside, which is never recorded), so instance paths never take it for one
/// of theirs, and an instruction that sees modules and instances only misses.
const MODULE_ENTRY: u64 = 1 << 63;

/// Record where `name` is in tables of layout `layout` (nothing for a table in dict mode,
/// whose number `u32::MAX` is never recorded, as its names are its own).
#[inline]
fn remember(hint: &AtomicU64, layout: u32, pos: usize) {
    if layout != u32::MAX && pos <= ABSENT {
        hint.store(((layout as u64) << 32) | pos as u64, Ordering::Relaxed);
    }
}

/// Whether, by a class's `attr_flags`, no `__getattribute__` is defined and no data descriptor
/// in the class chain can be called `name` (none at all, none whose name has `name`'s bit, or
/// only plain `__slots__` members, whose values are in the instance's table under their names):
/// then the instance's own table is the answer to `obj.name`, and `obj.name = v` sets it.
#[inline(always)]
fn instance_wins(flags: u64, name: &str, cache: &InlineCache) -> bool {
    flags & HAS_GETATTRIBUTE == 0
        && (flags & (HAS_PROPERTY | PLAIN_SLOTS) != HAS_PROPERTY
            || flags & name_bit(name, cache) == 0)
}

/// `instance_wins` for an instance with no built-in payload, whose class is not a built-in type
/// either (`BUILTIN_TYPE`): the test of the attribute instructions' hit paths. A class with
/// none of `excluded`, `HAS_GETATTRIBUTE`, `HAS_PROPERTY` and `BUILTIN_TYPE`, the usual one,
/// passes with one test of its flags; the others are told apart after (the separate tests cost
/// about 6 machine instructions more per `obj.x`, callgrind).
#[inline(always)]
fn table_wins(flags: u64, excluded: u64, name: &str, cache: &InlineCache) -> bool {
    if flags & (excluded | HAS_GETATTRIBUTE | HAS_PROPERTY | BUILTIN_TYPE) == 0 {
        return true;
    }
    flags & (excluded | BUILTIN_TYPE) == 0 && instance_wins(flags, name, cache)
}

/// An instruction's name operand: the code's names and the index into them, read only on the
/// paths that need the name. A hit of `obj.x` on a plain class does not, and the bounds-checked
/// `names[i]` the dispatch loop made before every attribute instruction cost about 5 machine
/// instructions each (callgrind).
#[derive(Clone, Copy)]
pub(crate) struct NameOperand<'a>(pub &'a [Arc<str>], pub usize);

impl<'a> NameOperand<'a> {
    /// The operand of an instruction whose name is already at hand.
    pub(crate) fn of(name: &'a Arc<str>) -> NameOperand<'a> {
        NameOperand(std::slice::from_ref(name), 0)
    }

    #[inline(always)]
    fn get(self) -> Option<&'a Arc<str>> {
        self.0.get(self.1)
    }

    /// The name, for a path that needs it (the general one after a miss).
    #[inline(always)]
    pub(crate) fn name(self) -> &'a Arc<str> {
        &self.0[self.1]
    }
}

/// `table_wins` with the name read only when neither the flags nor the name's bit, once the
/// cache holds it, decide (a name out of range, which the compiler never makes, does not win).
#[inline(always)]
fn table_wins_at(flags: u64, excluded: u64, name: NameOperand, cache: &InlineCache) -> bool {
    if flags & (excluded | HAS_GETATTRIBUTE | HAS_PROPERTY | BUILTIN_TYPE) == 0 {
        return true;
    }
    if flags & (excluded | HAS_GETATTRIBUTE | BUILTIN_TYPE) != 0 {
        return false;
    }
    // A class with a data descriptor (`HAS_PROPERTY`), as `instance_wins` decides.
    if flags & PLAIN_SLOTS != 0 {
        return true;
    }
    let bit = match cache.name_bit.load(Ordering::Relaxed) {
        0 => match name.get() {
            Some(name) => first_name_bit(name, cache),
            None => return false,
        },
        bit => u64::from(bit),
    };
    flags & bit == 0
}

/// `descriptor_name_bit(name)` for the instruction whose cache is `cache` (its name never
/// changes): worked out once, then read from the cache. Every attribute access on an instance
/// of a class with a property asks for it; computing it from the name's length and bytes
/// each time cost about 10 machine instructions.
#[inline(always)]
fn name_bit(name: &str, cache: &InlineCache) -> u64 {
    let bit = cache.name_bit.load(Ordering::Relaxed);
    if bit != 0 {
        return u64::from(bit);
    }
    first_name_bit(name, cache)
}

#[cold]
#[inline(never)]
fn first_name_bit(name: &str, cache: &InlineCache) -> u64 {
    let bit = descriptor_name_bit(name);
    // The bit is one of bits 5 to 20, so it fits (a value that did not would not be kept).
    if let Ok(b) = u32::try_from(bit) {
        cache.name_bit.store(b, Ordering::Relaxed);
    }
    bit
}

/// The names whose value on a class `type` gives itself, whatever the class's dict holds (the
/// first arms of `Interp::class_getattr`, which this list must follow): `C.__name__` is the
/// class's name even if its body defines a function `__name__`.
pub(crate) fn type_answers(name: &str) -> bool {
    matches!(
        name,
        "__name__"
            | "__qualname__"
            | "__module__"
            | "__base__"
            | "__annotations__"
            | "__doc__"
            | "__mro__"
            | "__bases__"
            | "__dict__"
            | "__class__"
    )
}

/// The hit path of `LOAD_ATTR` (CPython's `LOAD_ATTR_INSTANCE_VALUE`): `obj` is a plain instance
/// whose class chain has no data descriptor (so its own attribute wins), and its table has the
/// layout the cache recorded, with the name present: the value at the recorded position. `None`
/// for anything else (the caller takes the full path).
#[inline(always)]
pub(crate) fn instance_value_cached(
    obj: &Value,
    name: NameOperand,
    cache: &InlineCache,
) -> Option<Value> {
    instance_value_with(
        obj,
        name,
        cache,
        #[inline(always)]
        |v| Some(v.clone()),
    )
}

/// `instance_value_cached` for `LOAD_ATTR_LOCAL`, the value pushed onto `stack` here, while
/// the instance's table is read, rather than handed back: handed back as an `Option<Value>`,
/// the value was stored to the stack frame, the table let go, the option's tag tested and the
/// value read back before the push (as `globals.rs: push_global_hit` found for globals). `true`
/// on a hit; `false`, `stack` untouched, for anything `instance_value_cached` does not answer.
#[inline(always)]
pub(crate) fn push_instance_value_cached(
    obj: &Value,
    name: NameOperand,
    cache: &InlineCache,
    stack: &mut Vec<Value>,
) -> bool {
    instance_value_with(
        obj,
        name,
        cache,
        // Inlined: left to LLVM, the two answers (this and `instance_value_cached`'s) stayed
        // calls of their own, about 30 machine instructions per `self.x` read (callgrind,
        // richards: 4.6 million).
        #[inline(always)]
        |v| {
            crate::heap::push_inline(stack, v.clone());
            Some(())
        },
    )
    .is_some()
}

/// The instance-table hit that `instance_value_cached` and `push_instance_value_cached` are
/// made of: `answer` applied to the value where it is in the instance's table, while the table
/// is read. `ATTR_JUMP_IF_FALSE`/`ATTR_JUMP_IF_TRUE` (`if t.waiting:`) call it directly for the
/// truth of a bool, None, int or float: no clone made and dropped, no call out of line (the
/// hit went through `load_attr_cached`, about 78 machine instructions, callgrind, richards).
/// `None` for a miss or a value `answer` leaves to the caller.
#[inline(always)]
pub(crate) fn instance_value_with<R>(
    obj: &Value,
    name: NameOperand,
    cache: &InlineCache,
    answer: impl FnOnce(&Value) -> Option<R>,
) -> Option<R> {
    let Value::Instance(inst) = obj else {
        return None;
    };
    if !matches!(inst.payload, Payload::None)
        || !table_wins_at(inst.class.attr_flags(), 0, name, cache)
    {
        return None;
    }
    // The model named once: in the GIL model the table's guard is known to hold no lock, so
    // its release is the borrow flag's decrement alone (through `try_read` the model was
    // tested again when the guard went, its flag kept on the stack in between: callgrind,
    // the `self.a` loop). Free-threaded reads take the lock out of line.
    match crate::heap::gil_model() {
        Some(gil) => {
            let dict = inst.dict.try_read_gil(gil).ok()?;
            value_at_hint(&dict, name, cache, answer)
        }
        None => instance_value_locked(inst, name, cache, answer),
    }
}

/// `instance_value_with` free-threaded: the table read under its lock.
#[inline(never)]
fn instance_value_locked<R>(
    inst: &Instance,
    name: NameOperand,
    cache: &InlineCache,
    answer: impl FnOnce(&Value) -> Option<R>,
) -> Option<R> {
    let dict = inst.dict.try_read().ok()?;
    value_at_hint(&dict, name, cache, answer)
}

/// `instance_value_with`'s read of the table: `answer` applied to the value at the cache
/// word's position when the word was taken on this table's layout, or when the name is at
/// that position anyway (the word then moved to this layout).
#[inline(always)]
fn value_at_hint<R>(
    dict: &InstDict,
    name: NameOperand,
    cache: &InlineCache,
    answer: impl FnOnce(&Value) -> Option<R>,
) -> Option<R> {
    let word = cache.word.load(Ordering::Relaxed);
    if hint_layout(word) == dict.layout_id() {
        return answer(dict.values_slice().get(hint_pos(word))?);
    }
    // A site that sees instances of several layouts (subclasses adding different attributes
    // after the base's `__init__`) records one of them; in the others the name is usually at
    // the same position.
    match dict.get_index(hint_pos(word)) {
        Some((k, v)) if name.get().is_some_and(|name| Arc::ptr_eq(k, name)) => {
            // Recorded, so that the next read of this layout takes the check above. (A new
            // cache word, 0, names position 0 of no layout: the first attribute of every
            // object, `self.x`, came here at every read, about 12 machine instructions more.)
            remember(&cache.word, dict.layout_id(), hint_pos(word));
            answer(v)
        }
        _ => None,
    }
}

/// The hit path of `LOAD_ATTR` for a class attribute read through an instance (`self.scale`,
/// a class-level constant; CPython 3.12's `LOAD_ATTR_NONDESCRIPTOR_WITH_VALUES`): the instance's
/// own table would win (no data descriptor by that name, no `__getattribute__`), the cache word
/// says tables of the instance's layout lack the name (recorded by `dict_get_unhinted`), and
/// the class's answer, found through the instruction's class hint, is a value that is never a
/// descriptor (`plain_value`): that value. `None` for anything else, functions included (they
/// bind).
/// Each check is the one the full path (`load_attr_slow`) makes, in the same order of
/// precedence, so a hit gives its answer: a stale word or hint only misses.
#[inline]
fn class_value_cached(
    inst: &crate::object::Instance,
    name: &Arc<str>,
    cache: &InlineCache,
) -> Option<Value> {
    if !matches!(inst.payload, Payload::None)
        || !table_wins(inst.class.attr_flags(), 0, name, cache)
    {
        return None;
    }
    class_value_hit(inst, name, cache)
}

/// `class_value_cached` past the checks of the instance and its class flags (for a caller that
/// has made them): the cache word's "absent from this layout", then the class's answer.
#[inline]
fn class_value_hit(
    inst: &crate::object::Instance,
    name: &Arc<str>,
    cache: &InlineCache,
) -> Option<Value> {
    let word = cache.word.load(Ordering::Relaxed);
    if hint_pos(word) != ABSENT || hint_layout(word) != inst.dict.try_read().ok()?.layout_id() {
        return None;
    }
    inst.class.with_hinted(name, &cache.class_hint, |v| {
        v.filter(|v| plain_value(v, name)).cloned()
    })
}

/// Whether a class attribute `v` called `name` is, read through an instance, the attribute
/// itself: a value that is never a descriptor (an int, a str, a tuple, a class...: as
/// `bind_class_attr`), under a name that is not a dunder (`__class__`, `__dict__` are answered
/// by `instance_getattr` itself).
#[inline]
fn plain_value(v: &Value, name: &str) -> bool {
    matches!(
        v,
        Value::None
            | Value::Bool(_)
            | Value::Int(_)
            | Value::BigInt(_)
            | Value::Float(_)
            | Value::Str(_)
            | Value::Bytes(_)
            | Value::Tuple(_)
            | Value::Class(_)
    ) && !name.starts_with("__")
}

/// Whether `name` may be added to the table of an instance without `__dict__` of class `cls`
/// (`flags` its `attr_flags`): only if it is one of its `__slots__`. The class's own answer for
/// the name, from its lookup cache at the site's class hint (a per-class fact found through the
/// store site; a site seeing another class finds that class's), must be a `__slots__` member
/// stored under the name, and `PLAIN_SLOTS` says every data descriptor of the chain is such a
/// member, so no other descriptor intervenes. Out of line: the dispatch loop inlines the store's
/// hit path. Before it the full path took every slot store of an `__init__` (callgrind: about
/// 240 machine instructions a store).
#[inline(never)]
fn slot_may_be_added(flags: u64, cls: &Class, name: &Arc<str>, cache: &InlineCache) -> bool {
    flags & PLAIN_SLOTS != 0
        && matches!(
            cls.with_hinted(name, &cache.class_hint, |a| descriptor_kind(a, name, true)),
            DescriptorKind::Slot
        )
}

/// The hit path of `STORE_ATTR`: `obj` is a plain instance of a class without `__setattr__`
/// or any data descriptor by that name other than a plain slot, without a `__dict__` object to
/// keep current, whose table has the recorded layout: overwrite the value in place, or add the
/// name if the layout lacks it (in an instance without `__dict__`, only one of its slots:
/// `slot_may_be_added`). Otherwise the value comes back for the full path.
#[inline(always)]
pub(crate) fn store_instance_value_cached(
    obj: &Value,
    name: NameOperand,
    v: Value,
    cache: &InlineCache,
) -> Result<(), Value> {
    let Value::Instance(inst) = obj else {
        return Err(v);
    };
    if !matches!(inst.payload, Payload::None) {
        return Err(v);
    }
    let flags = inst.class.attr_flags();
    if !table_wins_at(flags, HAS_SETATTR, name, cache) {
        return Err(v);
    }
    let Ok(mut dict) = inst.dict.try_lock() else {
        return Err(v);
    };
    let word = cache.word.load(Ordering::Relaxed);
    if hint_layout(word) != dict.layout_id() {
        if !name
            .get()
            .is_some_and(|name| key_at(&dict, hint_pos(word), name))
        {
            return Err(v);
        }
        // The name at the recorded position of another layout: recorded for this one, so
        // that the next store here takes the check above (see `instance_value_cached`).
        remember(&cache.word, dict.layout_id(), hint_pos(word));
    }
    if dict.has_view() {
        return Err(v);
    }
    let pos = hint_pos(word);
    if pos >= dict.len() {
        if hint_layout(word) != dict.layout_id() {
            return Err(v);
        }
        // The recorded layout lacks the name (`__init__` adding it to one new instance after
        // another): it goes last, moving the table to the layout's child for it.
        let Some(name) = name.get() else {
            return Err(v);
        };
        // In an instance without `__dict__` only a slot may be added (overwriting is fine:
        // such a table holds slot values only).
        if flags & DICTLESS != 0 && !slot_may_be_added(flags, &inst.class, name, cache) {
            return Err(v);
        }
        dict.push_name(name, v);
        return Ok(());
    }
    let old = match dict.value_at_mut(pos) {
        Some(slot) => std::mem::replace(slot, v),
        None => return Err(v),
    };
    drop(dict);
    // Dropped with the table released: freeing the old value may run Python code (`__del__`).
    old.discard();
    Ok(())
}

/// The hit path of `o.name op= b` (`InPlaceAttrLocal`/`InPlaceAttrConst`): the instance's own
/// attribute at the cached position is replaced by `f(value)` in one hold of its table, where
/// the general path reads it (`load_attr_cached`), computes, then writes it back
/// (`store_instance_value_cached`), checking the instance twice and cloning the value. The
/// checks are those two paths' together: a plain instance of a class without `__setattr__` or
/// a data descriptor by that name (other than a plain slot), whose table has the name at the
/// recorded position and no `__dict__` object to keep current. `f` must not run Python code
/// (the table is held): the caller passes the number fast path, which gives `None` for
/// anything it does not do. `false` (nothing changed) sends the caller to the general path.
#[inline(always)]
pub(crate) fn update_instance_value_cached(
    obj: &Value,
    name: &Arc<str>,
    cache: &InlineCache,
    f: impl FnOnce(&Value) -> Option<Value>,
) -> bool {
    let Value::Instance(inst) = obj else {
        return false;
    };
    if !matches!(inst.payload, Payload::None)
        || !table_wins(inst.class.attr_flags(), HAS_SETATTR, name, cache)
    {
        return false;
    }
    let Ok(mut dict) = inst.dict.try_lock() else {
        return false;
    };
    let word = cache.word.load(Ordering::Relaxed);
    let pos = hint_pos(word);
    if hint_layout(word) != dict.layout_id() {
        if !key_at(&dict, pos, name) {
            return false;
        }
        // Recorded for this layout, as in `store_instance_value_cached`.
        remember(&cache.word, dict.layout_id(), pos);
    }
    if dict.has_view() {
        return false;
    }
    let Some(slot) = dict.value_at_mut(pos) else {
        return false;
    };
    let Some(new) = f(slot) else {
        return false;
    };
    let old = std::mem::replace(slot, new);
    drop(dict);
    // Dropped with the table released, as in `store_instance_value_cached`.
    old.discard();
    true
}

/// `dict[name]`, the position taken from the cache `hint` when it was recorded on the same
/// layout; otherwise a full lookup that records the position found (or that it is absent).
#[inline]
pub(crate) fn dict_get_hinted(dict: &InstDict, name: &Arc<str>, hint: &AtomicU64) -> Option<Value> {
    let word = hint.load(Ordering::Relaxed);
    if hint_layout(word) == dict.layout_id() {
        return dict.values_slice().get(hint_pos(word)).cloned();
    }
    // A site that sees instances of several layouts (subclasses setting different attributes)
    // records one of them; the others often have the name at the same position.
    if let Some((k, v)) = dict.get_index(hint_pos(word)) {
        if Arc::ptr_eq(k, name) {
            remember(hint, dict.layout_id(), hint_pos(word));
            return Some(v.clone());
        }
    }
    dict_get_unhinted(dict, name, hint)
}

/// What a class's attribute is, for the attribute instructions' descriptor paths.
enum DescriptorKind {
    /// A `__slots__` member stored under the looked-up name itself. (An alias such as
    /// `y = P.__dict__['x']` stores elsewhere, and the cache word records positions of the
    /// instruction's name: it is `Other`.)
    Slot,
    /// A property: its getter (or setter, as asked), if set.
    Property(Option<Value>),
    /// Anything else, or nothing.
    Other,
}

/// The getter of a property, if `attr` is one whose getter is a Python function that is not a
/// generator (lent by `Class::with_hinted`: only the function is counted).
#[inline]
fn getter_function(attr: Option<&Value>) -> Option<Ref<crate::object::Function>> {
    match attr {
        Some(Value::Instance(d)) => match &d.payload {
            Payload::Property {
                fget: Value::Function(f),
                ..
            } if d.class.builtin && !f.code.obj.flags.generator => Some(f.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// Classify the class's answer `attr` for `name` (lent by `Class::with_hinted`: only a
/// property's getter, or its setter if `setter`, is counted).
#[inline]
fn descriptor_kind(attr: Option<&Value>, name: &Arc<str>, setter: bool) -> DescriptorKind {
    let Some(Value::Instance(d)) = attr else {
        return DescriptorKind::Other;
    };
    match &d.payload {
        Payload::Member { name: slot, .. } if Arc::ptr_eq(slot, name) || **slot == **name => {
            DescriptorKind::Slot
        }
        Payload::Property { fget, fset, .. } if d.class.builtin => {
            let f = if setter { fset } else { fget };
            DescriptorKind::Property((!f.is_none()).then(|| f.clone()))
        }
        _ => DescriptorKind::Other,
    }
}

/// Set the `__slots__` member `name` of an instance's table to `v` (not mirrored in a
/// `__dict__` object, as `InstDict::insert_slot`), at the position the cache `hint` recorded for
/// the table's layout, else by a full insert that records where the name is now. Gives the old
/// value, for the caller to drop once the table is released.
#[inline]
fn store_slot_hinted(
    dict: &mut InstDict,
    name: &Arc<str>,
    v: Value,
    hint: &AtomicU64,
) -> Option<Value> {
    let word = hint.load(Ordering::Relaxed);
    let layout = dict.layout_id();
    if hint_layout(word) == layout {
        let i = hint_pos(word);
        if let Some(slot) = dict.value_at_mut(i) {
            return Some(std::mem::replace(slot, v));
        }
        // Past the end: tables of this layout lack the name, and it goes last (recorded
        // below). The store of `__init__` into a new instance: appended without hashing the
        // name (chaos' `Point.__init__` took the insert below every time, about 200 machine
        // instructions per store). A `__dict__` object would mirror the append: not here.
        if i == dict.len() && !dict.has_view() {
            dict.push_name(name, v);
            return None;
        }
    }
    let len = dict.len();
    let old = dict.insert_slot(name.clone(), v);
    let i = dict.get_index_of(&NameRef(name));
    if old.is_none() && i == Some(len) {
        // Appended: tables of the layout it had get the name at the same place.
        remember(hint, layout, len);
    } else {
        remember(hint, dict.layout_id(), i.unwrap_or(ABSENT));
    }
    old
}

/// Whether the name at position `pos` of `dict` is `name` (the same interned string).
#[inline]
fn key_at(dict: &InstDict, pos: usize, name: &Arc<str>) -> bool {
    matches!(dict.get_index(pos), Some((k, _)) if Arc::ptr_eq(k, name))
}

/// `dict_get_hinted` when the hint missed: kept out of line, so the hit path stays small.
#[inline(never)]
fn dict_get_unhinted(dict: &InstDict, name: &Arc<str>, hint: &AtomicU64) -> Option<Value> {
    let i = dict.get_index_of(&NameRef(name));
    remember(hint, dict.layout_id(), i.unwrap_or(ABSENT));
    dict.values_slice().get(i?).cloned()
}

/// Where `name` is in `dict`, for `store_attr_slow` when its hint missed (out of line).
#[inline(never)]
fn index_of_unhinted(dict: &InstDict, name: &Arc<str>) -> Option<usize> {
    dict.get_index_of(&NameRef(name))
}

/// Does a built-in function found as an attribute of `cls` bind as a method of its instances?
/// The methods of built-in and native classes (`list.append`, `Thread.start`) do, as CPython's
/// method descriptors; a built-in *function* a class body stored (`t = time.time`, `f = len`)
/// does not: CPython's `builtin_function_or_method` is not a descriptor.
pub(crate) fn native_binds(
    cls: &Ref<Class>,
    name: &str,
    n: &crate::object::NativeFunction,
) -> bool {
    if n.binds || cls.builtin {
        return true;
    }
    // Walk the MRO in place: this runs for every method looked up on an instance of a native
    // class (a `re.Match`'s `group`), so it must not allocate.
    std::iter::once(cls)
        .chain(cls.mro_tail.iter())
        .find(|c| c.dict.read().contains_key(name))
        .is_none_or(|c| c.builtin)
}

/// Whether `n` is dict's `fromkeys`.
/// The docstring of a class of `builtins` (`int`, `ValueError`), as CPython's.
pub(crate) fn builtin_class_doc(cls: &Class) -> Option<&'static str> {
    if !cls.builtin || &*cls.module != "builtins" {
        return None;
    }
    crate::builtins::docs::type_doc(&cls.name())
}

/// The built-in type whose class-level constructor `n` is: `dict.fromkeys`, `bytes.fromhex`,
/// `bytearray.fromhex`, `float.fromhex`, `int.from_bytes` (class methods in CPython).
pub(crate) fn constructor_owner(n: &Ref<NativeFunction>) -> Option<Ref<Class>> {
    let t = types();
    let owners: &[&Ref<Class>] = match n.name {
        "fromkeys" => &[&t.dict],
        "fromhex" => &[&t.bytes, &t.bytearray, &t.float],
        "from_bytes" => &[&t.int],
        _ => return None,
    };
    owners
        .iter()
        .find(|c| matches!(c.dict.read().get(n.name), Some(Value::Native(d)) if Ref::ptr_eq(d, n)))
        .map(|c| (*c).clone())
}

/// `B.fromhex(s)` for a subclass `B` of bytes, bytearray or float: as CPython, the base type's
/// value, then `B(value)`.
fn subclass_fromhex(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    made_by_subclass(interp, args, "fromhex")
}

/// `I.from_bytes(b, ...)` for a subclass `I` of int (bool too): `I(int.from_bytes(b, ...))`.
fn subclass_from_bytes(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    made_by_subclass(interp, args, "from_bytes")
}

/// The base type's constructor `name` called with the arguments after the class (the first,
/// bound by attribute lookup), its value then passed to that class.
fn made_by_subclass(interp: &mut Interp, args: Args<'_>, name: &str) -> PyResult<Value> {
    let Some((cls @ Value::Class(c), rest)) = args.pos.split_first() else {
        return Err(err!(SystemError, "{name}(): class lost"));
    };
    let Some(base) = c.lookup(name) else {
        return Err(err!(SystemError, "{name}(): constructor lost"));
    };
    let made = interp.call_kw(&base, rest, args.kw)?;
    interp.call(cls, &[made])
}

/// `C.__name__ = v` / `C.__qualname__ = v`: the class's own name changes (reprs and messages
/// show it from then on, as CPython's `tp_name`); it does not go into the class's `__dict__`.
fn set_class_name(cls: &Ref<Class>, which: &str, v: &Value) -> PyResult<()> {
    // (A str subclass's instance is a str to CPython's check.)
    let Some(s) = v.as_str() else {
        return Err(err!(
            TypeError,
            "can only assign string to {}.{which}, not '{}'",
            cls.name(),
            crate::object::type_name(v)
        ));
    };
    if which == "__name__" && s.contains('\0') {
        return Err(err!(
            ValueError,
            "type name must not contain null characters"
        ));
    }
    let cell = if which == "__name__" {
        &cls.name_cell
    } else {
        &cls.qualname_cell
    };
    *cell.write() = Arc::from(s);
    // A str subclass's instance is kept, as CPython keeps it: `C.__name__` gives it back.
    let kept = matches!(v, Value::Instance(_)).then(|| v.clone());
    let value_cell = if which == "__name__" {
        &cls.name_value
    } else {
        &cls.qualname_value
    };
    let old = std::mem::replace(&mut *value_cell.write(), kept);
    drop(old);
    Ok(())
}
