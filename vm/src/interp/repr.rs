//! Stage 4 (VM), the interpreter.
//! Turning values into text: `repr()`, `str()`, f-string fields and `%`-formatting, as CPython prints them.

use crate::interp::Interp;
use crate::num::float_repr::write_float_repr;
use crate::num::format_spec;
use crate::num::{BigInt, Int};
use crate::object::{type_name, Instance, Payload};
use crate::value::Value;
use crate::{err, PyResult};

pub use crate::num::parse::str_repr;
pub use minivm_compiler::dis::bytes_repr;

/// The `name` of a `%(name)s` conversion, read after its `%` (parentheses may nest inside it,
/// as CPython allows); `None` for a conversion without one.
fn mapping_key(chars: &mut std::iter::Peekable<std::str::Chars>) -> PyResult<Option<String>> {
    if chars.peek() != Some(&'(') {
        return Ok(None);
    }
    chars.next();
    let mut depth = 1;
    let mut key = String::new();
    for ch in chars.by_ref() {
        match ch {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(Some(key));
                }
            }
            _ => {}
        }
        key.push(ch);
    }
    Err(err!(ValueError, "incomplete format key"))
}

/// `%.Nd`: the digits of a formatted int (after its sign and `0x`/`0o` prefix) zero-padded to `p`.
fn pad_digits(s: &str, p: usize) -> PyResult<String> {
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+' | b'-' | b' ') => s.split_at(1),
        _ => ("", s),
    };
    let (prefix, digits) = match rest.get(..2) {
        Some("0x" | "0X" | "0o") => rest.split_at(2),
        _ => ("", rest),
    };
    if digits.len() >= p {
        return Ok(s.to_string());
    }
    if p > 1 << 28 {
        return Err(err!(MemoryError, "formatted number is too long for minivm"));
    }
    Ok(format!(
        "{sign}{prefix}{}{digits}",
        "0".repeat(p - digits.len())
    ))
}

/// `format(n, spec)` for an int of either size.
fn format_any_int(n: &Int, spec: &str) -> PyResult<String> {
    Ok(match n {
        Int::Small(i) => format_spec::format_int(*i, spec)?,
        Int::Big(b) => format_spec::format_bigint(b, spec)?,
    })
}

impl Interp {
    /// `repr(v)`
    pub fn repr(&mut self, v: &Value) -> PyResult<String> {
        let mut out = String::new();
        self.write_repr(v, &mut out)?;
        Ok(out)
    }

    fn write_repr(&mut self, v: &Value, out: &mut String) -> PyResult<()> {
        // Values whose repr contains other reprs (or runs `__repr__`) may nest without bound: one
        // level of the recursion guard each, as CPython's `PyObject_Repr`.
        if matches!(
            v,
            Value::List(_)
                | Value::Tuple(_)
                | Value::Dict(_)
                | Value::Set(_)
                | Value::Slice(_)
                | Value::BoundMethod(_)
                | Value::Instance(_)
        ) {
            self.enter_recursion(" while getting the repr of an object")?;
            let r = self.write_repr_inner(v, out);
            self.leave_recursion();
            return r;
        }
        // CPython's `PyObject_Repr` enters the guard for every value, an int's too.
        self.check_recursion(" while getting the repr of an object")?;
        self.write_repr_inner(v, out)
    }

    fn write_repr_inner(&mut self, v: &Value, out: &mut String) -> PyResult<()> {
        match v {
            Value::Undefined => out.push_str("<NULL>"),
            Value::None => out.push_str("None"),
            Value::Bool(true) => out.push_str("True"),
            Value::Bool(false) => out.push_str("False"),
            Value::Int(i) => crate::num::push_int(out, *i),
            Value::BigInt(b) => out.push_str(&crate::num::bigint::to_decimal(b)?),
            Value::Float(f) => write_float_repr(out, *f),
            Value::Complex(c) => out.push_str(&crate::builtins::complex::complex_repr(**c)),
            Value::Str(s) => out.push_str(&str_repr(s.as_str())),
            Value::Bytes(b) => out.push_str(&bytes_repr(b.as_bytes())),
            Value::ByteArray(b) => {
                out.push_str("bytearray(");
                let r = bytes_repr(&b.snapshot());
                match r.strip_prefix("b\"").and_then(|s| s.strip_suffix('"')) {
                    // CPython's bytearray repr escapes `'` even inside double quotes.
                    Some(body) => {
                        out.push_str("b\"");
                        out.push_str(&body.replace('\'', "\\'"));
                        out.push('"');
                    }
                    None => out.push_str(&r),
                }
                out.push(')');
            }
            Value::Ellipsis => out.push_str("Ellipsis"),
            Value::NotImplemented => out.push_str("NotImplemented"),
            Value::List(l) => {
                if !self.repr_enter(v) {
                    out.push_str("[...]");
                    return Ok(());
                }
                let items = l.snapshot();
                let r = self.write_seq(&items, "[", "]", out);
                self.repr_leave(v);
                r?;
            }
            Value::Tuple(t) if t.items.is_empty() => out.push_str("()"),
            Value::Tuple(t) => {
                // A tuple inside itself (through a list or dict) shows as `(...)`, as CPython's
                // `tuplerepr` does with `Py_ReprEnter`.
                if !self.repr_enter(v) {
                    out.push_str("(...)");
                    return Ok(());
                }
                let items = t.items.to_vec();
                let r = if items.len() == 1 {
                    out.push('(');
                    self.write_repr(&items[0], out).map(|()| out.push_str(",)"))
                } else {
                    self.write_seq(&items, "(", ")", out)
                };
                self.repr_leave(v);
                r?;
            }
            Value::Dict(d) => {
                if !self.repr_enter(v) {
                    out.push_str("{...}");
                    return Ok(());
                }
                let r: PyResult<()> = (|| {
                    out.push('{');
                    for (i, (k, val)) in d.items().iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        self.write_repr(k, out)?;
                        out.push_str(": ");
                        self.write_repr(val, out)?;
                    }
                    out.push('}');
                    Ok(())
                })();
                self.repr_leave(v);
                r?;
            }
            Value::Set(s) => {
                let name = if s.frozen { "frozenset" } else { "set" };
                self.write_set(s, name, !s.frozen, out)?;
            }
            Value::Range(r) if r.big().is_some() => {
                let (start, stop, step, _) = r.bounds_big();
                out.push_str("range(");
                self.write_repr(&Value::from(start), out)?;
                out.push_str(", ");
                self.write_repr(&Value::from(stop), out)?;
                if step != 1u8.into() {
                    out.push_str(", ");
                    self.write_repr(&Value::from(step), out)?;
                }
                out.push(')');
            }
            Value::Range(r) => {
                if r.step == 1 {
                    out.push_str(&format!("range({}, {})", r.start, r.stop));
                } else {
                    out.push_str(&format!("range({}, {}, {})", r.start, r.stop, r.step));
                }
            }
            Value::Slice(s) => {
                out.push_str("slice(");
                self.write_repr(&s.start, out)?;
                out.push_str(", ");
                self.write_repr(&s.stop, out)?;
                out.push_str(", ");
                self.write_repr(&s.step, out)?;
                out.push(')');
            }
            Value::Function(f) => out.push_str(&format!(
                "<function {} at {:#x}>",
                function_qualname(f),
                v.id()
            )),
            Value::Native(n) => out.push_str(&self.native_repr(n)),
            // A method of a built-in type bound to its object, as CPython shows it: the type and
            // the address of the object, not its repr.
            Value::BoundMethod(m) if matches!(m.func, Value::Native(_)) => {
                let (what, fname) = match &m.func {
                    Value::Native(n) if n.kind == crate::object::NativeKind::SlotWrapper => {
                        ("method-wrapper", format!("'{}'", n.name))
                    }
                    Value::Native(n) => ("built-in method", n.name.to_string()),
                    _ => ("built-in method", "?".to_string()),
                };
                out.push_str(&format!(
                    "<{what} {fname} of {} object at {:#x}>",
                    crate::object::type_name(&m.receiver),
                    m.receiver.id()
                ));
            }
            Value::BoundMethod(m) => {
                let fname = match &m.func {
                    Value::Function(f) => function_qualname(f),
                    Value::Native(n) => n.name.to_string(),
                    _ => "?".to_string(),
                };
                out.push_str(&format!("<bound method {fname} of "));
                self.write_repr(&m.receiver.clone(), out)?;
                out.push('>');
            }
            Value::Class(c) if c.metaclass_lookup("__repr__").is_some() => {
                let r = self.lookup_special(v, "__repr__");
                let s = self.call(&r.unwrap_or_default(), std::slice::from_ref(v))?;
                match s.as_str() {
                    Some(s) => out.push_str(s),
                    None => {
                        return Err(err!(
                            TypeError,
                            "__repr__ returned non-string (type {})",
                            crate::object::type_name(&s)
                        ))
                    }
                }
            }
            Value::Class(c) => {
                let module = c.module_name();
                if c.builtin && &*c.module == "builtins" {
                    out.push_str(&format!("<class '{}'>", c.name()));
                } else if &*module == "builtins" {
                    // As CPython: a class whose `__module__` is builtins is shown without it.
                    out.push_str(&format!("<class '{}'>", c.qualname()));
                } else {
                    out.push_str(&format!("<class '{module}.{}'>", c.qualname()));
                }
            }
            Value::Module(m) => out.push_str(&module_repr(m)),
            Value::Iter(it) => out.push_str(&format!("<{} object at {:#x}>", it.kind, v.id())),
            Value::RangeIter(_) => {
                out.push_str(&format!("<range_iterator object at {:#x}>", v.id()))
            }
            Value::Generator(g) => out.push_str(&format!(
                "<{} object {} at {:#x}>",
                g.kind.type_name(),
                g.qualname(),
                v.id()
            )),
            // CPython's: what the cell holds, by type and address, or that it is empty.
            Value::Cell(c) => match c.get() {
                Value::Undefined => out.push_str(&format!("<cell at {:#x}: empty>", v.id())),
                held => out.push_str(&format!(
                    "<cell at {:#x}: {} object at {:#x}>",
                    v.id(),
                    type_name(&held),
                    held.id()
                )),
            },
            Value::Instance(inst) => {
                if let Some(m) = self.lookup_special(v, "__repr__") {
                    let r = self.call(&m, std::slice::from_ref(v))?;
                    match r {
                        Value::Str(s) => out.push_str(s.as_str()),
                        other => {
                            return Err(err!(
                                TypeError,
                                "__repr__ returned non-string (type {})",
                                type_name(&other)
                            ))
                        }
                    }
                } else if let Some(base) = crate::object::builtin_base(v) {
                    self.write_base_repr(base, &inst.class.name(), out)?;
                } else if inst.exc().is_some() {
                    self.write_exception_repr(inst, out)?;
                } else if let Payload::Super { start, obj } = &inst.payload {
                    // CPython: `<super: <class 'A'>, <B object>>` (B: obj's class, or obj itself
                    // when it is a class).
                    let of = match obj {
                        Value::Undefined => "NULL".to_string(),
                        Value::Class(c) => format!("<{} object>", c.name()),
                        other => format!("<{} object>", type_name(other)),
                    };
                    out.push_str(&format!("<super: <class '{}'>, {of}>", start.name()));
                } else if let Payload::Member { name, owner } = &inst.payload {
                    out.push_str(&format!("<member '{name}' of '{owner}' objects>"));
                } else if let (Payload::Wrapped(f), crate::object::TypeKind::StaticMethod)
                | (Payload::Wrapped(f), crate::object::TypeKind::ClassMethod) =
                    (&inst.payload, inst.class.kind)
                {
                    // 3.10+: `<staticmethod(<function C.f at 0x...>)>`.
                    out.push_str(&format!("<{}(", inst.class.name()));
                    self.write_repr(f, out)?;
                    out.push_str(")>");
                } else {
                    out.push_str(&self.default_repr(v));
                }
            }
        }
        Ok(())
    }

    /// The repr of the built-in value inside an instance of a subclass of its type: a set's and
    /// a bytearray's name the subclass (`Tags({1})`, `Buffer(b'ab')`), as CPython's reprs use
    /// the object's type name; the others show the value as it is (`[1]` for a list subclass).
    pub(crate) fn write_base_repr(
        &mut self,
        base: &Value,
        class_name: &str,
        out: &mut String,
    ) -> PyResult<()> {
        match base {
            Value::Set(s) => self.write_set(s, class_name, false, out),
            Value::ByteArray(_) => {
                let mut plain = String::new();
                self.write_repr(base, &mut plain)?;
                out.push_str(class_name);
                out.push_str(plain.strip_prefix("bytearray").unwrap_or(&plain));
                Ok(())
            }
            _ => self.write_repr(base, out),
        }
    }

    /// A set as `{1, 2}` (`bare`) or `name({1, 2})`, and empty as `name()`: CPython names
    /// frozensets and instances of set subclasses (`Tags({1})`).
    fn write_set(
        &mut self,
        s: &crate::object::SetObj,
        name: &str,
        bare: bool,
        out: &mut String,
    ) -> PyResult<()> {
        let items = s.snapshot();
        if items.is_empty() {
            out.push_str(name);
            out.push_str("()");
        } else if bare {
            self.write_seq(&items, "{", "}", out)?;
        } else {
            out.push_str(name);
            out.push('(');
            self.write_seq(&items, "{", "}", out)?;
            out.push(')');
        }
        Ok(())
    }

    /// `BaseException.__repr__`: `ValueError('bad')`, `E(1, 2)`.
    pub fn write_exception_repr(&mut self, inst: &Instance, out: &mut String) -> PyResult<()> {
        let args = inst
            .exc()
            .map(|d| d.lock().args.clone())
            .unwrap_or_default();
        out.push_str(&inst.class.name());
        if args.len() == 1 {
            out.push('(');
            self.write_repr(&args[0], out)?;
            out.push(')');
            Ok(())
        } else {
            self.write_seq(&args, "(", ")", out)
        }
    }

    /// `BaseException.__str__`: the one argument's str (a `KeyError`'s repr), the args tuple
    /// for several, empty for none.
    pub fn exception_str(&mut self, inst: &Instance) -> PyResult<String> {
        let (args, pending) = inst
            .exc()
            .map(|d| {
                let d = d.lock();
                (d.args.clone(), d.init_pending)
            })
            .unwrap_or_default();
        if pending && unicode_fields_unset(inst) {
            return Ok(String::new());
        }
        if let Some(s) = crate::builtins::codecs::unicode_error_str(
            &inst.class.get(),
            &unicode_fields(inst, &args),
        ) {
            return Ok(s);
        }
        let mut show = |v: &Value, as_repr: bool| {
            if as_repr {
                self.repr(v)
            } else {
                self.str_of(v)
            }
        };
        if let Some(s) = crate::stdlib::os::os_error_str(inst, &mut show) {
            return s;
        }
        if let Some(s) = crate::interp::syntaxerr::syntax_error_str(inst, &mut show) {
            return s;
        }
        // CPython's ImportError.__str__: its `msg` when that is a str (the one argument, as
        // `__init__` sets it, or what the program assigned later).
        if inst
            .class
            .is_subclass(crate::object::types().exc(crate::object::ExcKind::ImportError))
        {
            if let Some(Value::Str(msg)) = inst.dict.lock().get("msg").cloned() {
                return Ok(msg.as_str().to_string());
            }
        }
        let key_error = inst
            .class
            .is_subclass(crate::object::types().exc(crate::object::ExcKind::KeyError));
        match args.len() {
            0 => Ok(String::new()),
            1 if key_error => self.repr(&args[0]),
            1 => self.str_of(&args[0]),
            _ => self.repr(&Value::tuple(args)),
        }
    }

    /// `object.__repr__`: `<module.Class object at 0x...>` (CPython leaves out the module of a
    /// built-in class: `<object object at 0x...>`).
    pub fn default_repr(&self, v: &Value) -> String {
        let c = crate::object::class_of(v);
        let module = match &*c.module_name() {
            "builtins" => String::new(),
            m => format!("{m}."),
        };
        format!("<{module}{} object at {:#x}>", c.qualname(), v.id())
    }

    fn write_seq(
        &mut self,
        items: &[Value],
        open: &str,
        close: &str,
        out: &mut String,
    ) -> PyResult<()> {
        out.push_str(open);
        for (i, it) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            self.write_repr(it, out)?;
        }
        out.push_str(close);
        Ok(())
    }

    /// Guard against infinite recursion in `repr` of self-containing lists and dicts: false when
    /// `v`'s repr is already in progress (a set of ids, so deep nesting stays linear).
    fn repr_enter(&mut self, v: &Value) -> bool {
        self.repr_stack.insert(v.id())
    }

    fn repr_leave(&mut self, v: &Value) {
        self.repr_stack.remove(&v.id());
    }

    /// `str(v)`
    pub fn str_of(&mut self, v: &Value) -> PyResult<String> {
        if let Value::Instance(_) = v {
            // `__str__` and exception arguments may nest without bound.
            self.enter_recursion(" while getting the str of an object")?;
            let r = self.str_of_inner(v);
            self.leave_recursion();
            return r;
        }
        if !matches!(v, Value::Str(_)) {
            // CPython's `PyObject_Str` returns an exact str as it is, and enters the guard for
            // every other value.
            self.check_recursion(" while getting the str of an object")?;
        }
        self.str_of_inner(v)
    }

    fn str_of_inner(&mut self, v: &Value) -> PyResult<String> {
        match v {
            Value::Str(s) => Ok(s.as_str().to_string()),
            // A metaclass's `__str__` gives the str of its classes.
            Value::Class(c) if c.metaclass_lookup("__str__").is_some() => {
                let m = self.lookup_special(v, "__str__");
                let r = self.call(&m.unwrap_or_default(), std::slice::from_ref(v))?;
                match r {
                    Value::Str(s) => Ok(s.as_str().to_string()),
                    other => Err(err!(
                        TypeError,
                        "__str__ returned non-string (type {})",
                        type_name(&other)
                    )),
                }
            }
            Value::Instance(inst) => {
                if let Some(m) = self.lookup_special(v, "__str__") {
                    let r = self.call(&m, std::slice::from_ref(v))?;
                    return match r {
                        Value::Str(s) => Ok(s.as_str().to_string()),
                        other => Err(err!(
                            TypeError,
                            "__str__ returned non-string (type {})",
                            type_name(&other)
                        )),
                    };
                }
                if let Payload::Builtin {
                    value: base @ Value::Str(_),
                } = &inst.payload
                {
                    // `str.__str__` gives the string itself, even if the class has a `__repr__`.
                    return self.str_of(base);
                }
                if inst.exc().is_some() {
                    return self.exception_str(inst);
                }
                self.repr(v)
            }
            // The digits straight into a string of their length (`repr` would make a growing
            // one): `str(n)`, `print(n)` and f-strings' `{n}` come here.
            Value::Int(i) => Ok(crate::num::int_to_string(*i)),
            _ => self.repr(v),
        }
    }

    /// One f-string field: conversion, then `format(value, spec)`.
    pub fn format_value(
        &mut self,
        v: &Value,
        conversion: Option<char>,
        spec: Option<&Value>,
    ) -> PyResult<Value> {
        let v = match conversion {
            Some('r') => Value::string(self.repr(v)?),
            Some('a') => Value::string(ascii_escape(&self.repr(v)?)),
            Some('s') => Value::string(self.str_of(v)?),
            _ => v.clone(),
        };
        let spec = match spec {
            Some(Value::Str(s)) => s.as_str().to_string(),
            Some(other) => self.str_of(other)?,
            None => String::new(),
        };
        // CPython's `PyObject_Format` answers an exact str or int with an empty spec itself, and
        // calls the value's built-in `__format__` method otherwise: one recursion level while
        // it runs (a float's then takes the str of itself, one more). An instance's
        // `__format__` may be Python code, a frame: not counted here.
        let answered =
            spec.is_empty() && matches!(v, Value::Str(_) | Value::Int(_) | Value::BigInt(_));
        if answered || matches!(v, Value::Instance(_)) {
            return self.format_at_depth(v, &spec);
        }
        self.enter_recursion(crate::interp::guard::CALLING)?;
        let r = self.format_at_depth(v, &spec);
        self.leave_recursion();
        r
    }

    /// `format(v, spec)` once the recursion guard has been passed.
    fn format_at_depth(&mut self, v: Value, spec: &str) -> PyResult<Value> {
        if spec.is_empty() {
            if let Value::Str(_) = v {
                return Ok(v);
            }
            // A user `__format__` is asked even for an empty spec.
            if !matches!(&v, Value::Instance(i) if i.class.lookup("__format__").is_some())
                && meta_format(&v).is_none()
            {
                return Ok(Value::string(self.str_of(&v)?));
            }
        }
        self.format_with_spec(&v, spec).map(Value::string)
    }

    /// The number an instance's first defined conversion hook of `names` gives (`__float__`,
    /// `__int__`, `__index__`), for `%` formatting; `None` if it defines none.
    fn number_hook(&mut self, v: &Value, names: &[&str]) -> PyResult<Option<Value>> {
        for name in names {
            if let Some(m) = self.lookup_special(v, name) {
                let r = self.call(&m, std::slice::from_ref(v))?;
                return match r {
                    Value::Float(_) if *name == "__float__" => Ok(Some(r)),
                    Value::Int(_) | Value::BigInt(_) | Value::Bool(_) if *name != "__float__" => {
                        Ok(Some(r))
                    }
                    other => Err(err!(
                        TypeError,
                        "{}.{name} returned non-{} (type {})",
                        type_name(v),
                        if *name == "__float__" { "float" } else { "int" },
                        type_name(&other)
                    )),
                };
            }
        }
        Ok(None)
    }

    /// `format(v, spec)` for a non-empty spec.
    pub fn format_with_spec(&mut self, v: &Value, spec: &str) -> PyResult<String> {
        // A class's own `__format__` (or, for a class, its metaclass's) decides first.
        let hook = match v {
            Value::Instance(_) | Value::Class(_) => self.lookup_special(v, "__format__"),
            _ => None,
        };
        if let Some(m) = hook {
            return match self.call(&m, &[v.clone(), Value::str(spec)])? {
                Value::Str(s) => Ok(s.as_str().to_string()),
                other => Err(err!(
                    TypeError,
                    "__format__ must return a str, not {}",
                    type_name(&other)
                )),
            };
        }
        Ok(match v {
            Value::Int(i) => format_spec::format_int(*i, spec)?,
            Value::BigInt(b) => format_spec::format_bigint(b, spec)?,
            Value::Bool(b) => format_spec::format_bool(*b, spec)?,
            Value::Float(f) => format_spec::format_float(*f, spec)?,
            Value::Complex(c) if !spec.is_empty() => format_spec::format_complex(c.re, c.im, spec)?,
            Value::Str(s) => format_spec::format_str(s.as_str(), spec)?,
            Value::Instance(_) if crate::object::builtin_base(v).is_some() => {
                let base = crate::object::builtin_base(v).unwrap_or(v);
                self.format_with_spec(base, spec)?
            }
            other => {
                let s = self.str_of(other)?;
                format_spec::format_object(&s, &type_name(other), spec)?
            }
        })
    }

    /// `"..." % args` (printf-style formatting).
    pub fn percent_format(&mut self, fmt: &str, args: &Value) -> PyResult<String> {
        let items: Vec<Value> = match crate::object::builtin_base(args).unwrap_or(args) {
            Value::Tuple(t) => t.items.to_vec(),
            _ => vec![args.clone()],
        };
        let mut next = items.iter();
        let mut out = String::with_capacity(fmt.len() + 8 * items.len());
        let mut chars = fmt.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            let key = mapping_key(&mut chars)?;
            // `%(name)s`: the value under `name` in the mapping on the right, looked up at once
            // (a missing key is a KeyError before any fault later in the spec). As in CPython it
            // then stands in for the arguments: the spec's `*` or its conversion takes it, and a
            // plain `%s` after it finds nothing left ("not enough arguments").
            let keyed_spec = key.is_some();
            let mut keyed = None;
            if let Some(k) = key {
                if matches!(
                    crate::object::builtin_base(args).unwrap_or(args),
                    Value::Tuple(_) | Value::Str(_)
                ) {
                    return Err(err!(TypeError, "format requires a mapping"));
                }
                keyed = Some(self.getitem(args, &Value::string(k))?);
                next = items[..0].iter();
            }
            let mut spec = String::new();
            let conv = loop {
                match chars.next() {
                    Some(ch @ ('-' | '+' | ' ' | '#' | '0'..='9' | '.')) => spec.push(ch),
                    Some('*') => {
                        let star = match keyed.take() {
                            Some(value) => value,
                            None => match next.next() {
                                Some(arg) => arg.clone(),
                                None => {
                                    return Err(err!(
                                        TypeError,
                                        "not enough arguments for format string"
                                    ))
                                }
                            },
                        };
                        star_argument(&mut spec, &star)?;
                    }
                    Some(ch) => break ch,
                    None => return Err(err!(ValueError, "incomplete format")),
                }
            };
            if conv == '%' && !keyed_spec {
                out.push('%');
                continue;
            }
            let looked_up;
            let arg = match keyed.take() {
                Some(value) => {
                    looked_up = value;
                    &looked_up
                }
                None => match next.next() {
                    Some(arg) => arg,
                    None => return Err(err!(TypeError, "not enough arguments for format string")),
                },
            };
            // The common plain forms, written straight into the result: `%d` of an int, `%s`
            // of a str.
            if spec.is_empty() {
                match (conv, arg) {
                    ('d' | 'i' | 'u', Value::Int(i)) => {
                        use std::fmt::Write as _;
                        let _ = write!(out, "{i}");
                        continue;
                    }
                    ('s', Value::Str(text)) => {
                        out.push_str(text.as_str());
                        continue;
                    }
                    _ => {}
                }
            }
            // The number conversions see the int inside an instance of an int subclass, and
            // the number another instance converts to (`'%.2f' % Decimal('1.5')`: its
            // `__float__`; `%d`: its `__index__` or `__int__`).
            let number = crate::object::builtin_base(arg).unwrap_or(arg);
            let converted = match (number, conv) {
                (Value::Instance(_), 'd' | 'i' | 'u') => {
                    self.number_hook(number, &["__index__", "__int__"])?
                }
                (Value::Instance(_), 'f' | 'F' | 'e' | 'E' | 'g' | 'G') => {
                    self.number_hook(number, &["__float__", "__index__"])?
                }
                (Value::Instance(_), 'x' | 'X' | 'o') => {
                    self.number_hook(number, &["__index__"])?
                }
                _ => None,
            };
            let number = converted.as_ref().unwrap_or(number);
            let (flags, rest): (String, String) = {
                let split = spec
                    .find(|ch: char| !"-+ #0".contains(ch))
                    .unwrap_or(spec.len());
                (spec[..split].to_string(), spec[split..].to_string())
            };
            let align = if flags.contains('-') { "<" } else { ">" };
            let zero = if flags.contains('0') && !flags.contains('-') {
                "0"
            } else {
                ""
            };
            let sign = if flags.contains('+') {
                "+"
            } else if flags.contains(' ') {
                " "
            } else {
                ""
            };
            // The precision: characters kept for %s/%r/%a, digits for the integer forms.
            let precision = match rest.split_once('.') {
                None => None,
                Some((_, "")) => Some(0),
                Some((_, p)) => Some(
                    p.parse::<usize>()
                        .ok()
                        .filter(|&p| p <= i32::MAX as usize)
                        .ok_or_else(|| err!(ValueError, "precision too big"))?,
                ),
            };
            let piece = match conv {
                's' | 'r' | 'a' => {
                    let text = match conv {
                        's' => self.str_of(arg)?,
                        'r' => self.repr(arg)?,
                        _ => ascii_escape(&self.repr(arg)?),
                    };
                    match precision {
                        Some(p) => text.chars().take(p).collect(),
                        None => text,
                    }
                }
                'd' | 'i' | 'u' => {
                    let n = match number {
                        Value::Int(i) => Int::Small(*i),
                        Value::BigInt(b) => Int::Big(BigInt::clone(b)),
                        Value::Bool(b) => Int::Small(*b as i64),
                        Value::Float(f) => crate::num::arith::float_to_int(*f)?,
                        other => {
                            return Err(err!(
                                TypeError,
                                "%d format: a real number is required, not {}",
                                type_name(other)
                            ))
                        }
                    };
                    format_any_int(&n, sign)?
                }
                'f' | 'F' | 'e' | 'E' | 'g' | 'G' => {
                    let f = match number {
                        Value::Int(i) => *i as f64,
                        Value::BigInt(b) => crate::num::bigint::to_f64(b)?,
                        Value::Bool(b) => *b as i64 as f64,
                        Value::Float(f) => *f,
                        other => {
                            return Err(err!(
                                TypeError,
                                "must be real number, not {}",
                                type_name(other)
                            ))
                        }
                    };
                    // A `.` without digits is precision 0 (`'%.f' % 2.5`), as in C.
                    let prec = precision.unwrap_or(6);
                    format_spec::format_float(f, &format!("{sign}.{prec}{conv}"))?
                }
                'x' | 'X' | 'o' => {
                    let n = match number {
                        Value::Int(i) => Int::Small(*i),
                        Value::BigInt(b) => Int::Big(BigInt::clone(b)),
                        Value::Bool(b) => Int::Small(*b as i64),
                        other => {
                            return Err(err!(
                                TypeError,
                                "%{conv} format: an integer is required, not {}",
                                type_name(other)
                            ))
                        }
                    };
                    let alt = if flags.contains('#') { "#" } else { "" };
                    format_any_int(&n, &format!("{sign}{alt}{conv}"))?
                }
                'c' => match number {
                    Value::Str(s) if s.char_len() == 1 => s.as_str().to_string(),
                    Value::BigInt(_) => {
                        return Err(err!(OverflowError, "%c arg not in range(0x110000)"))
                    }
                    Value::Int(i) => u32::try_from(*i)
                        .ok()
                        .filter(|&c| c < 0x11_0000)
                        .map(|c| char::from_u32(c).unwrap_or('\u{fffd}').to_string())
                        .ok_or_else(|| err!(OverflowError, "%c arg not in range(0x110000)"))?,
                    _ => return Err(err!(TypeError, "%c requires int or char")),
                },
                other => {
                    // The index (in characters) of the conversion character in the format.
                    let index = fmt.chars().count() - chars.clone().count() - 1;
                    return Err(err!(
                        ValueError,
                        "unsupported format character '{other}' (0x{:x}) at index {index}",
                        other as u32
                    ));
                }
            };
            // `%.3d` pads the digits (after any sign or 0x prefix) with zeros to 3.
            let piece = match precision {
                Some(p) if matches!(conv, 'd' | 'i' | 'u' | 'x' | 'X' | 'o') => {
                    pad_digits(&piece, p)?
                }
                _ => piece,
            };
            let width = rest.split('.').next().unwrap_or("");
            if width.is_empty() {
                out.push_str(&piece);
            } else {
                let w: usize = width
                    .parse()
                    .ok()
                    .filter(|&w| w <= isize::MAX as usize)
                    .ok_or_else(|| err!(ValueError, "width too big"))?;
                if zero == "0" && !matches!(conv, 's' | 'r' | 'a' | 'c') {
                    crate::builtins::args::check_items(w)?;
                    out.push_str(&zero_pad(&piece, w));
                } else {
                    out.push_str(&format_spec::format_str(&piece, &format!("{align}{w}"))?);
                }
            }
        }
        // Arguments left over are an error, as in CPython, unless the single argument is a
        // mapping-like object (anything subscriptable but a tuple or str: `"a" % [1]` and
        // `"a" % {}` are "a", `"a" % 5` and `"a" % "b"` are errors).
        let mapping_like = match crate::object::builtin_base(args).unwrap_or(args) {
            Value::Tuple(_) | Value::Str(_) => false,
            Value::Dict(_)
            | Value::List(_)
            | Value::Bytes(_)
            | Value::ByteArray(_)
            | Value::Range(_) => true,
            Value::Instance(_) => self.lookup_special(args, "__getitem__").is_some(),
            _ => false,
        };
        if next.next().is_some() && !mapping_like {
            return Err(err!(
                TypeError,
                "not all arguments converted during string formatting"
            ));
        }
        Ok(out)
    }

    /// The echo of an expression statement compiled in `'single'` mode (the REPL's,
    /// `compile(..., 'single')`): the value goes to whatever `sys.displayhook` holds now, as
    /// CPython's `PRINT_EXPR` does (doctest swaps in `sys.__displayhook__`, programs their own).
    pub(crate) fn print_expr(&mut self, v: &Value) -> PyResult<()> {
        let hook = crate::stdlib::sys::current_stream(self, "displayhook")?;
        self.call(&hook, std::slice::from_ref(v))?;
        Ok(())
    }

    /// `sys.displayhook(value)`'s default: nothing for None; otherwise the repr and a newline
    /// to the current `sys.stdout`, and `builtins._` set to the value (cleared to None while
    /// the repr runs, as CPython does).
    pub(crate) fn display_value(&mut self, v: &Value) -> PyResult<()> {
        if v.is_none() {
            return Ok(());
        }
        self.vm.builtins.set_str("_", Value::None);
        let text = self.repr(v)?;
        let out = crate::stdlib::sys::current_stream(self, "stdout")?;
        if out.is_none() {
            return Err(crate::err!(RuntimeError, "lost sys.stdout"));
        }
        if crate::stdlib::file::is_buffered_stdout(&out) {
            self.write_stdout(&text)?;
            self.write_stdout("\n")?;
        } else {
            let write = self.getattr(&out, "write")?;
            self.call(&write, &[Value::string(text)])?;
            self.call(&write, &[Value::str("\n")])?;
        }
        self.vm.builtins.set_str("_", v.clone());
        Ok(())
    }

    /// Write to the buffered stdout; a failed write (full disk, closed pipe) raises CPython's
    /// `OSError`/`BrokenPipeError` in the program, as `print` does there.
    ///
    /// The text is queued holding the GIL, which makes no system call; when the buffer is due to
    /// go out, the GIL is released around the write, as CPython's `FileIO.write` releases it:
    /// a thread blocked on a full pipe (`minivm prog | less`, a slow terminal) lets the other
    /// threads run, and a thread printing unbuffered (`PYTHONUNBUFFERED`, `flush=True`) gives
    /// the waiting ones their turn as CPython's does. While another thread is sending, this one
    /// waits for it without the GIL, as CPython's `BufferedWriter` waits for its lock.
    pub fn write_stdout(&mut self, s: &str) -> PyResult<()> {
        self.stdout_write(|out| out.queue(s), |out| out.write(s))
    }

    /// [`Interp::write_stdout`] for bytes (`sys.stdout.buffer.write`, encoded text).
    pub fn write_stdout_bytes(&mut self, b: &[u8]) -> PyResult<()> {
        self.stdout_write(|out| out.queue_bytes(b), |out| out.write_bytes(b))
    }

    /// A write to the stdout buffer: `queue` it holding the GIL if the buffer is free (and send
    /// it released if due), or, while another thread holds the buffer, the `whole` write
    /// released.
    fn stdout_write(
        &mut self,
        queue: impl FnOnce(&mut crate::builtins::io::Stdout) -> bool,
        whole: impl FnOnce(&mut crate::builtins::io::Stdout) -> std::io::Result<()> + Send,
    ) -> PyResult<()> {
        let queued = self.vm.stdout.try_lock().map(|mut out| queue(&mut out));
        match queued {
            Some(false) => Ok(()),
            Some(true) => self.stdout_released(crate::builtins::io::Stdout::send_queued),
            None => self.stdout_released(whole),
        }
    }

    /// `sys.stdout.flush()`: a failure raises, and the unwritten text stays queued. The GIL is
    /// released while anything queued is written ([`Interp::write_stdout`]).
    pub fn flush_stdout(&mut self) -> PyResult<()> {
        if self.vm.stdout.try_lock().is_some_and(|out| out.is_empty()) {
            return Ok(());
        }
        self.stdout_released(crate::builtins::io::Stdout::flush)
    }

    /// Before a write to the process's stderr: what stdout has queued goes out first (GIL
    /// released), to keep the two in order; an error is left for stdout's next write. If another
    /// thread is sending stdout's buffer right now, stderr does not wait for it: that thread may
    /// be blocked on a full pipe that its reader drains only after stderr has spoken, and
    /// CPython's stderr never waits for stdout.
    pub fn flush_before_stderr(&mut self) {
        if self.vm.stdout.try_lock().is_some_and(|out| out.is_empty()) {
            return;
        }
        let vm = self.vm.clone();
        let out = &vm.stdout;
        self.allow_threads(|| {
            if let Some(mut out) = out.try_lock() {
                let _ = out.flush();
            }
        });
    }

    /// Run `f` on the stdout buffer with the GIL released: it writes to the OS, or waits for the
    /// thread that does. The closure reaches only the buffer (`Send`), never a Python object.
    fn stdout_released(
        &mut self,
        f: impl FnOnce(&mut crate::builtins::io::Stdout) -> std::io::Result<()> + Send,
    ) -> PyResult<()> {
        let vm = self.vm.clone();
        let out = &vm.stdout;
        let r = self.allow_threads(|| f(&mut out.lock()));
        r.map_err(|e| crate::stdlib::os::os_error(&e, None))
    }
}

impl Interp {
    /// A built-in function's repr; for a method of a built-in type (found in the dict of a class
    /// of `builtins`), CPython's descriptor forms: `<method 'upper' of 'str' objects>`,
    /// `<slot wrapper '__add__' of 'int' objects>`.
    fn native_repr(&self, n: &crate::heap::Ref<crate::object::NativeFunction>) -> String {
        use crate::object::NativeKind;
        let what = match n.kind {
            NativeKind::Function => None,
            NativeKind::MethodDescriptor => Some("method"),
            NativeKind::SlotWrapper => Some("slot wrapper"),
        };
        if let Some(what) = what {
            if let Some(owner) = self.native_owner(n) {
                return format!("<{what} '{}' of '{owner}' objects>", n.name);
            }
            if crate::interp::attr::is_object_method(n) {
                return format!("<{what} '{}' of 'object' objects>", n.name);
            }
        }
        // A class method of a built-in type (`dict.fromkeys`, `bytes.fromhex`), bound to it.
        if let Some(owner) = crate::interp::attr::constructor_owner(n) {
            return format!(
                "<built-in method {} of type object at {:#x}>",
                n.name,
                Value::Class(owner).id()
            );
        }
        format!("<built-in function {}>", n.name)
    }

    /// The class of `builtins` whose dict (or special methods made on demand) holds the method
    /// `n`: `str` for `str.upper` (its `__qualname__` is `str.upper`). `None` for a function
    /// of a module.
    pub(crate) fn native_owner(
        &self,
        n: &crate::heap::Ref<crate::object::NativeFunction>,
    ) -> Option<std::sync::Arc<str>> {
        self.native_owner_class(n).map(|c| c.name())
    }

    /// The class itself that `native_owner` names (`list.extend.__objclass__` is `list`).
    pub(crate) fn native_owner_class(
        &self,
        n: &crate::heap::Ref<crate::object::NativeFunction>,
    ) -> Option<crate::heap::Ref<crate::object::Class>> {
        let holds = |m: &crate::object::AttrMap| matches!(m.get(n.name), Some(Value::Native(b)) if crate::heap::Ref::ptr_eq(b, n));
        self.vm
            .builtins
            .items()
            .into_iter()
            .find_map(|(_, v)| match v {
                Value::Class(c) if holds(&c.dict.read()) || holds(&c.slot_cache.read()) => Some(c),
                _ => None,
            })
    }
}

/// A module's repr as CPython's: `<module 'm' from 'path'>` when it has a `__file__` (the
/// script, a program's modules, the library's `<minivm-lib>/...`), `(built-in)` for the
/// modules written in Rust, else the bare name (a `types.ModuleType` made by the program).
fn module_repr(m: &crate::object::Module) -> String {
    let name: &str = &m.name;
    let file = m.dict.get_str("__file__");
    // The standard modules CPython 3.11 freezes into its binary (`Python/frozen.c`): loaded
    // from there, they say `(frozen)`, whatever minivm made them from (the library or Rust).
    const FROZEN: &[&str] = &[
        "_collections_abc",
        "_sitebuiltins",
        "abc",
        "codecs",
        "genericpath",
        "io",
        "ntpath",
        "os",
        "posixpath",
        "runpy",
        "site",
        "stat",
        "zipimport",
    ];
    let ours = match &file {
        Some(Value::Str(f)) => f.as_str().starts_with(crate::stdlib::minilib::PREFIX),
        // (`posixpath` is `os.path`, which the Rust `os` module makes. A module a program made,
        // `types.ModuleType("os")`, has a `__loader__`, which minivm's Rust modules lack.)
        _ => {
            m.dict.get_str("__loader__").is_none()
                && (name == "posixpath" || crate::stdlib::MODULES.iter().any(|(n, _)| *n == name))
        }
    };
    if ours && FROZEN.contains(&name) {
        return format!("<module '{name}' (frozen)>");
    }
    // A module CPython builds into its binary (`itertools`, `errno`, `_thread`) that minivm
    // writes in the mini language is `(built-in)` too.
    const FROZEN_ONLY: &[&str] = &[
        "_frozen_importlib",
        "_frozen_importlib_external",
        "encodings",
    ];
    if ours
        && crate::stdlib::cpython_names::is_built_in_or_frozen(name)
        && !FROZEN_ONLY.contains(&name)
    {
        return format!("<module '{name}' (built-in)>");
    }
    if let Some(Value::Str(file)) = file {
        return format!("<module '{}' from '{}'>", m.name, file.as_str());
    }
    let made_by_program = m.dict.get_str("__loader__").is_some();
    if !made_by_program
        && (name == "builtins" || crate::stdlib::MODULES.iter().any(|(n, _)| *n == name))
    {
        return format!("<module '{name}' (built-in)>");
    }
    format!("<module '{name}'>")
}

/// Escape the non-ASCII characters of a repr, as `ascii()` and `!a` do.
pub fn ascii_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let n = c as u32;
        if n < 0x80 {
            out.push(c);
        } else if n <= 0xff {
            out.push_str(&format!("\\x{n:02x}"));
        } else if n <= 0xffff {
            out.push_str(&format!("\\u{n:04x}"));
        } else {
            out.push_str(&format!("\\U{n:08x}"));
        }
    }
    out
}

/// `%0Nd`-style padding of a formatted number: zeros go after the sign and any `0x`/`0o` prefix
/// (`'%05d' % -1` is `-0001`, `'%#06x' % 255` is `0x00ff`).
fn zero_pad(piece: &str, width: usize) -> String {
    let len = piece.chars().count();
    if len >= width {
        return piece.to_string();
    }
    let sign_len = usize::from(piece.starts_with(['-', '+', ' ']));
    let (sign, rest) = piece.split_at(sign_len);
    let prefix_len = if ["0x", "0X", "0o", "0b"].iter().any(|p| rest.starts_with(p)) {
        2
    } else {
        0
    };
    let (prefix, digits) = rest.split_at(prefix_len);
    let mut out = String::with_capacity(width);
    out.push_str(sign);
    out.push_str(prefix);
    out.extend(std::iter::repeat_n('0', width - len));
    out.push_str(digits);
    out
}

/// A `*` in a `%` conversion: the width (a `Py_ssize_t`; negative means left-aligned) or, after
/// the `.`, the precision (a C `int`; negative means 0) taken from the next argument, spelled
/// into `spec` as if it had been written there.
fn star_argument(spec: &mut String, arg: &Value) -> PyResult<()> {
    use crate::builtins::args::{to_c_int, to_index};
    if !matches!(arg, Value::Int(_) | Value::Bool(_) | Value::BigInt(_)) {
        return Err(err!(TypeError, "* wants int"));
    }
    if spec.contains('.') {
        let precision = to_c_int(arg)?.max(0);
        spec.push_str(&precision.to_string());
        return Ok(());
    }
    let width = to_index(arg)?;
    if width < 0 {
        spec.insert(0, '-');
    }
    spec.push_str(&width.unsigned_abs().to_string());
    Ok(())
}

/// The `__format__` of a class's user metaclass, if it defines one.
fn meta_format(v: &Value) -> Option<Value> {
    match v {
        Value::Class(c) => c.metaclass_lookup("__format__"),
        _ => None,
    }
}

/// A function's qualified name as its repr shows it: an assigned `__qualname__` (what
/// `functools.wraps` copies, or a library setting the name of a function it made) wins over
/// the one compiled into its code, as in CPython.
fn function_qualname(f: &crate::heap::Ref<crate::object::Function>) -> String {
    crate::builtins::attrs::function_attr(f, "__qualname__")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| f.code.qualname.to_string())
}

/// Whether `inst` is a `UnicodeEncodeError`, `UnicodeDecodeError` or `UnicodeTranslateError`
/// (made, its base `__init__` not run: the caller checks) whose `object` was never set: CPython's
/// str of one is then ''.
fn unicode_fields_unset(inst: &Instance) -> bool {
    use crate::object::{types, ExcKind};
    let t = types();
    let cls = inst.class.get();
    let kinds = [
        ExcKind::UnicodeEncodeError,
        ExcKind::UnicodeDecodeError,
        ExcKind::UnicodeTranslateError,
    ];
    kinds.iter().any(|k| cls.is_subclass(t.exc(*k))) && inst.dict.lock().get("object").is_none()
}

/// A Unicode error's fields in the order of its arguments, as its str() reads them: what the
/// program assigned since (`e.start = 1`, `e.reason = '...'`: they are in the instance's
/// table) over what `__init__` set from the arguments, as CPython's str reads the fields.
fn unicode_fields(inst: &Instance, args: &[Value]) -> Vec<Value> {
    use crate::object::{types, ExcKind};
    let t = types();
    let cls = inst.class.get();
    let names: &[&str] = if cls.is_subclass(t.exc(ExcKind::UnicodeTranslateError)) {
        &["object", "start", "end", "reason"]
    } else if cls.is_subclass(t.exc(ExcKind::UnicodeError)) {
        &["encoding", "object", "start", "end", "reason"]
    } else {
        return args.to_vec();
    };
    let mut fields = args.to_vec();
    if fields.len() == names.len() {
        let dict = inst.dict.lock();
        for (field, name) in fields.iter_mut().zip(names) {
            if let Some(v) = dict.get(*name) {
                *field = v.clone();
            }
        }
    }
    fields
}
