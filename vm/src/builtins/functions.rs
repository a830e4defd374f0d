//! Stage 4 (VM), built-ins.
//! Built-in functions that do not walk iterators: `print`, `len`, `repr`, `abs`, `isinstance`, ...

use minivm_compiler::bytecode::BinOp;

use crate::arith::{to_big, to_f64};
use crate::builtins::args::{as_class, to_bigint, ArgsExt};
use crate::builtins::{num_err, Methods};
use crate::error::PyResult;
use crate::heap::Ref;
use crate::interp::ops::{as_number, Num};
use crate::interp::{Args, Interp};
use crate::num::bigint::{self, BigInt};
use crate::num::format_spec::int_to_str_radix;
use crate::object::{class_of, type_name, Class, ExcKind, NativeFn, NativeFunction};
use crate::value::Value;
use crate::{err, raise};
use num_traits::{Signed, ToPrimitive};

pub const FUNCTIONS: Methods = &[
    ("print", print),
    ("len", len),
    ("repr", repr),
    ("ascii", ascii),
    ("abs", abs),
    ("isinstance", isinstance),
    ("issubclass", issubclass),
    ("round", round),
    ("divmod", divmod),
    ("pow", pow),
    ("ord", ord),
    ("chr", chr),
    ("hex", hex),
    ("bin", bin),
    ("oct", oct),
    ("hash", hash),
    ("id", id),
    ("callable", callable),
    ("breakpoint", breakpoint),
    ("getattr", getattr),
    ("setattr", setattr),
    ("delattr", delattr),
    ("hasattr", hasattr),
    ("input", input),
    ("format", format),
];

/// The recursion level CPython 3.11 enters calling these built-ins (measured: the frame at
/// which a recursive function calling one gets `RecursionError ... while calling a Python
/// object`): its `PRECALL_BUILTIN_O` instruction (`abs chr ord hex bin oct hash id callable`)
/// and the call of `__round__` inside `round` check the limit once. Built-ins its other
/// specialized calls reach unchecked (`len isinstance getattr divmod pow print format`...) take
/// no level.
fn calling_level(interp: &mut Interp) -> PyResult<()> {
    interp.check_recursion(crate::interp::guard::CALLING)
}

/// [`calling_level`] held while the built-in runs, for those that may call Python code
/// (`__abs__`, `__round__`, `__index__`, `__hash__`): CPython 3.11 leaves the level only when
/// the C function returns, so a method recursing through `abs(self)` is two levels a step
/// (measured: `RecursionError` after 500 frames of `__abs__` at the default limit, not 999).
pub(crate) fn calling_level_held(
    interp: &mut Interp,
    body: impl FnOnce(&mut Interp) -> PyResult<Value>,
) -> PyResult<Value> {
    interp.with_recursion(crate::interp::guard::CALLING, body)
}

fn sep_arg<'a>(v: Option<&'a Value>, what: &str, default: &'a str) -> PyResult<&'a str> {
    match v {
        None | Some(Value::None) => Ok(default),
        Some(Value::Str(s)) => Ok(s.as_str()),
        Some(other) => raise!(
            TypeError,
            "{what} must be None or a string, not {}",
            type_name(other)
        ),
    }
}

/// `breakpoint(*args, **kws)`: calls the program's current `sys.breakpointhook` with the
/// arguments and returns what it returns (`RuntimeError: lost sys.breakpointhook` if it was
/// deleted), as CPython's. The default hook is `sys.__breakpointhook__` (`stdlib/sys.rs`).
fn breakpoint(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let hook = crate::stdlib::sys::current_stream(interp, "breakpointhook")?;
    interp.call_kw(&hook, args.pos, args.kw)
}

/// `print(*objects, sep=' ', end='\n', file=None, flush=False)`: `file` (by default the
/// current `sys.stdout`) may be any object with a `write` method, which gets each piece in turn
/// as CPython writes them; the interpreter's own stdout takes the whole line at once.
///
/// Recursion depth as CPython 3.11 counts it (measured: the frame at which a recursive function
/// that prints gets `RecursionError`): the call of `print` itself is not a level (its call is
/// specialized, unchecked), a Python `write` is a frame, and a write to the interpreter's stdout
/// is two levels ("... while calling a Python object"), as `sys.stdout.write` called directly
/// (Effective Python's item 61 prints its last line one frame before the frame limit).
fn print(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.only_kw("print", &["sep", "end", "file", "flush"])?;
    let sep = sep_arg(args.kwarg("sep"), "sep", " ")?;
    let end = sep_arg(args.kwarg("end"), "end", "\n")?;
    let file = match args.kwarg("file") {
        None | Some(Value::None) => crate::stdlib::sys::current_stream(interp, "stdout")?,
        Some(f) => f.clone(),
    };
    if file.is_none() {
        // `sys.stdout = None`: print does nothing, as in CPython.
        return Ok(Value::None);
    }
    let flush = match args.kwarg("flush") {
        Some(f) => interp.truthy(f)?,
        None => false,
    };
    if crate::stdlib::file::is_buffered_stdout(&file) {
        let mut out = String::new();
        for (i, v) in args.pos.iter().enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            match v {
                Value::Str(s) => out.push_str(s.as_str()),
                other => out.push_str(&interp.str_of(other)?),
            }
        }
        out.push_str(end);
        crate::stdlib::file::stdout_write_depth(interp)?;
        interp.write_stdout(&out)?;
        if flush {
            interp.flush_stdout()?;
        }
        return Ok(Value::None);
    }
    let write = interp.getattr(&file, "write")?;
    if crate::stdlib::io::is_stringio_write(&write) {
        return print_to_stringio(interp, &args, &write, sep, end, flush, &file);
    }
    for (i, v) in args.pos.iter().enumerate() {
        if i > 0 {
            interp.call(&write, &[Value::str(sep)])?;
        }
        let text = match v {
            Value::Str(_) => v.clone(),
            other => Value::string(interp.str_of(other)?),
        };
        interp.call(&write, &[text])?;
    }
    interp.call(&write, &[Value::str(end)])?;
    if flush {
        let f = interp.getattr(&file, "flush")?;
        interp.call(&f, &[])?;
    }
    Ok(Value::None)
}

/// `print(...)` to a StringIO (`write` its own): the pieces CPython writes one by one are
/// joined and written at once, which leaves the same text. Before an argument whose `str()`
/// may run Python code (which could write to the same file, or fail), what is joined so far is
/// written first, so everything lands in the order CPython writes it.
fn print_to_stringio(
    interp: &mut Interp,
    args: &Args<'_>,
    write: &Value,
    sep: &str,
    end: &str,
    flush: bool,
    file: &Value,
) -> PyResult<Value> {
    use crate::stdlib::io::stringio_write;
    let mut out = String::new();
    for (i, v) in args.pos.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        match v {
            Value::Str(s) => out.push_str(s.as_str()),
            Value::Int(n) => {
                use std::fmt::Write as _;
                let _ = write!(out, "{n}");
            }
            // No Python code runs for these; a big int past the digit limit fails, after
            // what comes before it was written.
            Value::Bool(_) | Value::None | Value::Float(_) | Value::BigInt(_) => {
                match interp.str_of(v) {
                    Ok(s) => out.push_str(&s),
                    Err(e) => {
                        if !out.is_empty() {
                            stringio_write(interp, write, Value::string(out))?;
                        }
                        return Err(e);
                    }
                }
            }
            other => {
                if !out.is_empty() {
                    stringio_write(interp, write, Value::string(std::mem::take(&mut out)))?;
                }
                out.push_str(&interp.str_of(other)?);
            }
        }
    }
    out.push_str(end);
    if !out.is_empty() {
        stringio_write(interp, write, Value::string(out))?;
    }
    if flush {
        let f = interp.getattr(file, "flush")?;
        interp.call(&f, &[])?;
    }
    Ok(Value::None)
}

/// The length of a built-in string, bytes or container value, which no Python code can
/// change (`__len__` of the built-in types is not replaceable): `len(v)`'s answer for them,
/// `None` for every other value. The dispatch loop's `CALL` answers `len(v)` with it without
/// making the call (`is_len`).
#[inline(always)]
pub fn builtin_len(v: &Value) -> Option<i64> {
    Some(match v {
        Value::Str(s) => s.char_len() as i64,
        Value::Bytes(b) => b.as_bytes().len() as i64,
        Value::ByteArray(b) => b.data.lock().len() as i64,
        Value::List(l) => l.len() as i64,
        Value::Tuple(t) => t.items.len() as i64,
        Value::Dict(d) => d.len() as i64,
        Value::Set(s) => s.items.lock().len() as i64,
        // A `collections.deque` (not a subclass): its Rust length, no `__len__` call.
        Value::Instance(i) => crate::stdlib::deque::plain_len(i)? as i64,
        _ => return None,
    })
}

/// Whether `f` is the built-in `len` itself (its Rust function, so a rebound `len` or
/// another function named so is not).
#[inline(always)]
pub fn is_len(f: &NativeFunction) -> bool {
    f.func as usize == (len as NativeFn) as usize
}

/// `len(v)` as a Rust integer.
pub fn length(interp: &mut Interp, v: &Value) -> PyResult<i64> {
    if let Some(n) = builtin_len(v) {
        return Ok(n);
    }
    Ok(match v {
        Value::Range(r) => match r.big() {
            Some(b) => i64::try_from(&b.len).ok(),
            None => i64::try_from(r.len()).ok(),
        }
        .ok_or_else(|| {
            err!(
                OverflowError,
                "Python int too large to convert to C ssize_t"
            )
        })?,
        Value::Instance(_) | Value::Class(_) => match interp.lookup_special(v, "__len__") {
            Some(m) => {
                let r = interp.call(&m, std::slice::from_ref(v))?;
                len_value(interp, r)?
            }
            None => match crate::object::builtin_base(v) {
                Some(base) => length(interp, base)?,
                None => raise!(TypeError, "object of type '{}' has no len()", type_name(v)),
            },
        },
        other => raise!(
            TypeError,
            "object of type '{}' has no len()",
            type_name(other)
        ),
    })
}

/// The value a Python `__len__` returned, checked as CPython's `slot_sq_length` checks it:
/// made an int by the index protocol (an int subclass, an object with `__index__`; a float is
/// a TypeError), then a negative one is a ValueError and one past `sys.maxsize` an
/// OverflowError. Shared by `len(obj)`, truth tests and the dispatch loop's `__len__` frames.
pub(crate) fn len_value(interp: &mut Interp, r: Value) -> PyResult<i64> {
    let i = match interp.number_index(&r)? {
        Some(i) => i,
        None => {
            let e = err!(
                TypeError,
                "'{}' object cannot be interpreted as an integer",
                type_name(&r)
            );
            r.discard();
            return Err(e);
        }
    };
    r.discard();
    match i {
        Value::Int(n) if n >= 0 => Ok(n),
        Value::Bool(b) => Ok(b as i64),
        Value::BigInt(ref b) if !b.is_negative() => Err(err!(
            OverflowError,
            "cannot fit 'int' into an index-sized integer"
        )),
        _ => Err(err!(ValueError, "__len__() should return >= 0")),
    }
}

fn len(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let v = args.one("len")?;
    length(interp, v).map(Value::Int)
}

/// `repr` and `ascii` are `PRECALL_BUILTIN_O` built-ins in CPython 3.11: their call holds a
/// recursion level (`calling_level_held`), under the one the repr itself takes.
fn repr(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let v = args.one("repr")?;
    calling_level_held(interp, |interp| interp.repr(v).map(Value::string))
}

pub use crate::interp::repr::ascii_escape;

fn ascii(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let v = args.one("ascii")?;
    calling_level_held(interp, |interp| {
        let r = interp.repr(v)?;
        Ok(Value::string(ascii_escape(&r)))
    })
}

fn abs(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    calling_level_held(interp, |interp| abs_body(interp, args))
}

fn abs_body(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let v = args.one("abs")?;
    match as_number(v) {
        Some(Num::Int(i)) => Ok(match i.checked_abs() {
            Some(a) => Value::Int(a),
            None => Value::from(BigInt::from(i).abs()),
        }),
        Some(Num::Big(b)) => Ok(Value::from(b.abs())),
        Some(Num::Float(f)) => Ok(Value::Float(crate::num::new_float(f.abs()))),
        None => match interp.lookup_special(v, "__abs__") {
            Some(m) => interp.call(&m, std::slice::from_ref(v)),
            None => match crate::object::builtin_base(v) {
                Some(base) => abs(
                    interp,
                    Args {
                        pos: std::slice::from_ref(base),
                        kw: &[],
                    },
                ),
                None => raise!(TypeError, "bad operand type for abs(): '{}'", type_name(v)),
            },
        },
    }
}

/// `isinstance`'s class test, with tuples of classes (nested) allowed. Each tuple level is one
/// level of the recursion guard (CPython: "maximum recursion depth exceeded in __instancecheck__").
///
/// `subject` is what is being tested (the instance for `isinstance`, the class for
/// `issubclass`): a metaclass's `__instancecheck__`/`__subclasscheck__`, or those of the class
/// of an instance given as `spec`, decide for it, as `type(spec).__instancecheck__` does in
/// CPython (after `isinstance`'s exact-type shortcut). `None` asks the classes only.
pub(crate) fn class_matches(
    interp: &mut Interp,
    subject: Option<&Value>,
    cls: &Ref<Class>,
    spec: &Value,
    fname: &str,
    what: &str,
) -> PyResult<bool> {
    // The common case first: a built-in class as `spec` (`int`, `dict`, `Exception`). Its type
    // is `type` and it cannot gain attributes, so no hook answers: its MRO does, and for
    // `isinstance` a `__class__` the object claims (below) when the MRO says no.
    if let Value::Class(c) = spec {
        if c.builtin && c.metaclass.is_none() {
            if cls.is_subclass(c) {
                return Ok(true);
            }
            if fname != "isinstance" {
                return Ok(false);
            }
        }
    }
    let hook_name = if fname == "isinstance" {
        "__instancecheck__"
    } else {
        "__subclasscheck__"
    };
    if let Some(subject) = subject {
        let hook = match spec {
            Value::Class(c) if fname == "isinstance" && Ref::ptr_eq(c, cls) => None,
            // ABCMeta's own checks: done below without calling them.
            Value::Class(c) if c.is_abc() => None,
            Value::Class(_) => interp.lookup_special(spec, hook_name),
            Value::Instance(i) if !i.class.builtin => interp.lookup_special(spec, hook_name),
            _ => None,
        };
        if let Some(hook) = hook {
            let what = if fname == "isinstance" {
                " in __instancecheck__"
            } else {
                " in __subclasscheck__"
            };
            interp.enter_recursion(what)?;
            let r = match &hook {
                Value::Function(_) => interp.call(&hook, &[spec.clone(), subject.clone()]),
                _ => interp
                    .getattr(spec, hook_name)
                    .and_then(|m| interp.call(&m, std::slice::from_ref(subject))),
            };
            interp.leave_recursion();
            return interp.truthy(&r?);
        }
    }
    // isinstance reads `obj.__class__` when the type does not answer (CPython's
    // `object_isinstance`; ABCMeta's `__instancecheck__` reads it first): a class it claims
    // other than its type counts too.
    let instance_of = match subject {
        Some(v) if fname == "isinstance" => Some(v),
        _ => None,
    };
    match spec {
        Value::Class(c) if fname == "isinstance" && Ref::ptr_eq(c, cls) => Ok(true),
        Value::Class(c) if !c.is_abc() => {
            if cls.is_subclass(c) {
                return Ok(true);
            }
            match instance_of
                .map(|v| claimed_class(interp, v, cls))
                .transpose()?
            {
                Some(Some(Value::Class(k))) => Ok(k.is_subclass(c)),
                Some(Some(k)) => abstract_issubclass(interp, &k, spec),
                _ => Ok(false),
            }
        }
        Value::Class(c) => {
            // An abstract base class (`collections.abc.Mapping`) may count classes that do not
            // derive from it: its `_abc_subclasscheck` plays ABCMeta.__subclasscheck__
            // (vm/lib/abc.mini), for the claimed class and then the type.
            let claimed = match instance_of
                .map(|v| claimed_class(interp, v, cls))
                .transpose()?
            {
                Some(Some(Value::Class(k))) => Some(k),
                _ => None,
            };
            // A class in the MRO answers yes at once unless the ABC has a hook of its own,
            // which CPython asks first (and which may say no).
            let hooked = c.attr_flags() & crate::object::ABC_HOOK != 0;
            for k in claimed.iter().chain(std::iter::once(cls)) {
                if (!hooked && k.is_subclass(c)) || abc_subclasscheck(interp, k, c, spec)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        // typing's aliases (`List`, `Optional[int]`, `Any`) answer for themselves (vm/lib/typing.mini).
        Value::Instance(i) if i.class.lookup("_typing_subclasscheck").is_some() => {
            let hook = interp.getattr(spec, "_typing_subclasscheck")?;
            let r = interp.call(&hook, &[Value::Class(cls.clone()), Value::str(fname)])?;
            interp.truthy(&r)
        }
        Value::Tuple(t) => {
            let hook = if fname == "isinstance" {
                " in __instancecheck__"
            } else {
                " in __subclasscheck__"
            };
            any_guarded(interp, hook, &t.items, |interp, item| {
                class_matches(interp, subject, cls, item, fname, what)
            })
        }
        // CPython accepts as a class anything with a `__bases__` tuple, searched by identity.
        _ if has_bases(interp, spec)? => match instance_of {
            Some(v) => match claimed_class(interp, v, cls)? {
                Some(k) => abstract_issubclass(interp, &k, spec),
                None => abstract_issubclass(interp, &Value::Class(cls.clone()), spec),
            },
            None => abstract_issubclass(interp, &Value::Class(cls.clone()), spec),
        },
        _ => raise!(TypeError, "{fname}() arg 2 must be {what}, or a union"),
    }
}

/// Whether `test` holds for any of `items` (stopping at the first true or error), one level
/// of the recursion guard deeper (`what` ends its message), as CPython's checks of nested tuples
/// and bases.
fn any_guarded(
    interp: &mut Interp,
    what: &str,
    items: &[Value],
    mut test: impl FnMut(&mut Interp, &Value) -> PyResult<bool>,
) -> PyResult<bool> {
    interp.enter_recursion(what)?;
    let mut r = Ok(false);
    for item in items {
        match test(interp, item) {
            Ok(false) => {}
            other => {
                r = other;
                break;
            }
        }
    }
    interp.leave_recursion();
    r
}

/// `ABC.__subclasscheck__(k)` for an abstract base class `c` (`spec`), answered from its
/// `_abc_minivm_cache` dict when it can (as CPython's ABCMeta caches them; `register` empties
/// every cache): a hit makes no call.
fn abc_subclasscheck(
    interp: &mut Interp,
    k: &Ref<Class>,
    c: &Ref<Class>,
    spec: &Value,
) -> PyResult<bool> {
    let cache = c.dict.lock().get("_abc_minivm_cache").cloned();
    if let Some(Value::Dict(cache)) = cache {
        let key = crate::object::HashKey::from_value(Value::Class(k.clone()))?;
        if let Some(Value::Bool(b)) = cache.get(&key) {
            return Ok(b);
        }
    }
    let hook = interp.getattr(spec, "_abc_subclasscheck")?;
    interp.enter_recursion(" in __subclasscheck__")?;
    let r = interp.call(&hook, &[Value::Class(k.clone())]);
    interp.leave_recursion();
    interp.truthy(&r?)
}

/// What `obj.__class__` claims, when it may differ from the type `cls` (a class that overrides
/// `__getattribute__` or has a `__class__` descriptor, as `unittest.mock`'s `spec=` objects):
/// `None` for the type itself or an AttributeError (other errors propagate, as CPython's).
fn claimed_class(interp: &mut Interp, v: &Value, cls: &Ref<Class>) -> PyResult<Option<Value>> {
    let Value::Instance(i) = v else {
        return Ok(None);
    };
    let flags = i.class.attr_flags();
    let may_differ = flags & crate::object::HAS_GETATTRIBUTE != 0
        || (flags & crate::object::descriptor_name_bit("__class__") != 0
            && i.class.lookup("__class__").is_some());
    if !may_differ {
        return Ok(None);
    }
    match interp.getattr(v, "__class__") {
        Ok(Value::Class(k)) if Ref::ptr_eq(&k, cls) => Ok(None),
        Ok(Value::Class(k)) => Ok(Some(Value::Class(k))),
        // Not a class: counted only if it has `__bases__` (CPython's abstract classes).
        Ok(k) if has_bases(interp, &k)? => Ok(Some(k)),
        Ok(_) => Ok(None),
        Err(e) if e.is(ExcKind::AttributeError) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `x.__bases__` when it is a tuple (CPython's test of an "abstract class", for `isinstance`
/// and `issubclass` given objects that are not classes); an AttributeError is `None`.
fn bases_of(interp: &mut Interp, x: &Value) -> PyResult<Option<Vec<Value>>> {
    if let Value::Class(c) = x {
        return Ok(Some(c.bases.iter().cloned().map(Value::Class).collect()));
    }
    if !matches!(x, Value::Instance(_)) {
        return Ok(None);
    }
    match interp.getattr(x, "__bases__") {
        Ok(Value::Tuple(t)) => Ok(Some(t.items.to_vec())),
        Ok(_) => Ok(None),
        Err(e) if e.is(ExcKind::AttributeError) => Ok(None),
        Err(e) => Err(e),
    }
}

fn has_bases(interp: &mut Interp, x: &Value) -> PyResult<bool> {
    Ok(bases_of(interp, x)?.is_some())
}

/// CPython's `abstract_issubclass`: whether `spec` is `derived` or found (by identity) along
/// the `__bases__` of `derived`, depth first (single bases followed without recursion).
fn abstract_issubclass(interp: &mut Interp, derived: &Value, spec: &Value) -> PyResult<bool> {
    let mut derived = derived.clone();
    loop {
        if derived.is(spec) {
            return Ok(true);
        }
        let bases = bases_of(interp, &derived)?.unwrap_or_default();
        match bases.as_slice() {
            [] => return Ok(false),
            [one] => derived = one.clone(),
            many => {
                return any_guarded(interp, " in __subclasscheck__", many, |interp, b| {
                    abstract_issubclass(interp, b, spec)
                })
            }
        }
    }
}

fn isinstance(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("isinstance", 2, 2)?;
    let (Some(v), Some(spec)) = (args.get(0), args.get(1)) else {
        return Ok(Value::None);
    };
    if let Value::Class(c) = spec {
        if let Some(t) = isinstance_by_mro(v, c) {
            return Ok(Value::Bool(t));
        }
    }
    let cls = class_of(v);
    let what = "a type, a tuple of types";
    class_matches(interp, Some(v), &cls, spec, "isinstance", what).map(Value::Bool)
}

/// `isinstance(v, c)` when the answer is `v`'s class being `c` or having it in its MRO, which
/// `class_matches` would find with no hook asked: `c`'s metaclass is `type` (no
/// `__instancecheck__`), and `v` is an instance whose class cannot claim another `__class__` (no
/// `__getattribute__`, no `__class__` descriptor). A class found in the MRO answers yes before
/// any ABC hook there too. `None` (ask `class_matches`) otherwise, a "no" included: an ABC's
/// registry or a claimed `__class__` may still say yes. Saves the class copy, a lookup of
/// `_abc_subclasscheck` by name and the name tests (callgrind: about 215 of the 296 machine
/// instructions of `isinstance(o, Base)` for an instance of a subclass).
///
/// A built-in value (an int, a str, a list...) and a built-in `c` without a metaclass get
/// their answer here too, a "no" included: such a value claims no other `__class__` and a
/// built-in class has no hook and no `_abc_subclasscheck` (built-in types take no new
/// attributes), so `class_matches` would answer from the MRO as well (`isinstance(x, int)`
/// for a str: about 110 machine instructions of lookup by name saved).
#[inline]
fn isinstance_by_mro(v: &Value, c: &Ref<Class>) -> Option<bool> {
    let i = match v {
        Value::Instance(i) => i,
        // Their class is not `builtin_class`'s answer (a metaclass, an iterator kind).
        Value::Class(_) | Value::Iter(_) | Value::RangeIter(_) => return None,
        other => {
            let k = crate::object::builtin_class(other);
            return (c.builtin && c.metaclass.is_none()).then(|| k.is_subclass(c));
        }
    };
    // The exact type first, as CPython's `PyObject_IsInstance`: no hook is asked.
    if Ref::ptr_eq(&i.class.get(), c) {
        return Some(true);
    }
    if (c.metaclass.is_some() && !c.is_abc())
        || !i.class.is_subclass(c)
        || c.attr_flags() & crate::object::ABC_HOOK != 0
    {
        return None;
    }
    let flags = i.class.attr_flags();
    let may_claim = flags & crate::object::HAS_GETATTRIBUTE != 0
        || flags & crate::object::descriptor_name_bit("__class__") != 0;
    (!may_claim).then_some(true)
}

fn issubclass(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("issubclass", 2, 2)?;
    let (Some(c), Some(spec)) = (args.get(0), args.get(1)) else {
        return Ok(Value::None);
    };
    let Some(cls) = as_class(c) else {
        return abstract_subclass_test(interp, c, spec).map(Value::Bool);
    };
    class_matches(
        interp,
        Some(c),
        cls,
        spec,
        "issubclass",
        "a class, a tuple of classes",
    )
    .map(Value::Bool)
}

/// `issubclass(derived, spec)` for a `derived` that is not a class: `spec`'s
/// `__subclasscheck__` when its type has one, else CPython's abstract classes (both must have
/// a `__bases__` tuple).
fn abstract_subclass_test(interp: &mut Interp, derived: &Value, spec: &Value) -> PyResult<bool> {
    if let Value::Tuple(t) = spec {
        return any_guarded(interp, " in __subclasscheck__", &t.items, |interp, item| {
            abstract_subclass_test(interp, derived, item)
        });
    }
    let hook = match spec {
        Value::Class(_) => interp.lookup_special(spec, "__subclasscheck__"),
        Value::Instance(i) if !i.class.builtin => interp.lookup_special(spec, "__subclasscheck__"),
        _ => None,
    };
    if hook.is_some() {
        interp.enter_recursion(" in __subclasscheck__")?;
        let r = interp
            .getattr(spec, "__subclasscheck__")
            .and_then(|m| interp.call(&m, std::slice::from_ref(derived)));
        interp.leave_recursion();
        return interp.truthy(&r?);
    }
    if !has_bases(interp, derived)? {
        raise!(TypeError, "issubclass() arg 1 must be a class");
    }
    if !has_bases(interp, spec)? {
        raise!(
            TypeError,
            "issubclass() arg 2 must be a class, a tuple of classes, or a union"
        );
    }
    abstract_issubclass(interp, derived, spec)
}

fn round(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.only_kw("round", &["number", "ndigits"])?;
    if args.pos.len() > 2 {
        raise!(
            TypeError,
            "round() takes at most 2 arguments ({} given)",
            args.pos.len()
        );
    }
    let Some(x) = args.pos_or_kw("round", 0, "number")? else {
        raise!(
            TypeError,
            "round() missing required argument 'number' (pos 1)"
        );
    };
    let nd = match args.pos_or_kw("round", 1, "ndigits")? {
        // `ndigits` with `__index__` counts as the int it stands for.
        Some(n @ Value::Instance(_)) => Some(interp.number_index(n)?.unwrap_or_else(|| n.clone())),
        n => n.cloned(),
    };
    let nd = nd.as_ref();
    // An instance of a subclass of int or float rounds as its value (unless it says otherwise).
    let x = match crate::object::builtin_base(x) {
        Some(base) if interp.lookup_special(x, "__round__").is_none() => base,
        _ => x,
    };
    // CPython 3.11's `round` (specialized, unchecked) calls the `__round__` it finds: a
    // built-in number's is a method descriptor whose call checks one recursion level; a
    // Python `__round__` is a plain frame (measured: `round(self)` in `__round__` recurses one
    // level a step, the message the frame's).
    if !matches!(x, Value::Instance(_)) {
        calling_level(interp)?;
    }
    match x {
        Value::Int(_) | Value::Bool(_) | Value::BigInt(_) => match nd {
            None | Some(Value::None) => Ok(match x {
                Value::Bool(b) => Value::Int(*b as i64),
                _ => x.clone(),
            }),
            Some(n) => {
                let n = to_bigint(n)?;
                if let (Value::Int(i), Some(k)) = (x, n.to_i64()) {
                    if let Ok(r) = crate::num::int_round(*i, k) {
                        return Ok(Value::Int(r));
                    }
                }
                bigint::round(&*to_bigint(x)?, &n)
                    .map(Value::from)
                    .map_err(num_err)
            }
        },
        Value::Float(f) => match nd {
            None | Some(Value::None) => crate::num::float_round_to_int(*f)
                .map(Value::from)
                .map_err(num_err),
            Some(n) => {
                // ndigits past i64 rounds as the extreme it is beyond (all digits, or none).
                let n = match to_bigint(n)?.to_i64() {
                    Some(k) => k,
                    None if matches!(n, Value::BigInt(b) if b.sign() == bigint::Sign::Minus) => {
                        i64::MIN
                    }
                    None => i64::MAX,
                };
                crate::num::float_round(*f, n)
                    .map(|r| Value::Float(crate::num::new_float(r)))
                    .map_err(num_err)
            }
        },
        _ => match interp.lookup_special(x, "__round__") {
            Some(m) => {
                let mut a = vec![x.clone()];
                a.extend(nd.cloned());
                interp.call(&m, &a)
            }
            None => raise!(
                TypeError,
                "type {} doesn't define __round__ method",
                type_name(x)
            ),
        },
    }
}

fn divmod(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("divmod", 2, 2)?;
    let (Some(a), Some(b)) = (args.get(0), args.get(1)) else {
        return Ok(Value::None);
    };
    let pair = |x: Value, y: Value| Value::tuple(vec![x, y]);
    match (as_number(a), as_number(b)) {
        (Some(Num::Int(x)), Some(Num::Int(y))) if !(x == i64::MIN && y == -1) => {
            let (q, r) = crate::num::int_divmod(x, y).map_err(num_err)?;
            Ok(pair(Value::Int(q), Value::Int(r)))
        }
        (Some(x), Some(y)) => {
            if let (Some(i), Some(j)) = (to_big(x), to_big(y)) {
                let (q, r) = bigint::divmod(&i, &j).map_err(num_err)?;
                return Ok(pair(Value::from(q), Value::from(r)));
            }
            let (f, g) = (to_f64(x).map_err(num_err)?, to_f64(y).map_err(num_err)?);
            let (q, r) = crate::num::float_divmod(f, g).map_err(num_err)?;
            use crate::num::new_float;
            Ok(pair(Value::Float(new_float(q)), Value::Float(new_float(r))))
        }
        _ => {
            if let Some(m) = interp.lookup_special(a, "__divmod__") {
                let r = interp.call(&m, &[a.clone(), b.clone()])?;
                if !matches!(r, Value::NotImplemented) {
                    return Ok(r);
                }
            }
            if let Some(m) = interp.lookup_special(b, "__rdivmod__") {
                let r = interp.call(&m, &[b.clone(), a.clone()])?;
                if !matches!(r, Value::NotImplemented) {
                    return Ok(r);
                }
            }
            if let Some((x, y)) = crate::object::class::bases_of(a, b) {
                let pos = [x.clone(), y.clone()];
                return divmod(interp, Args { pos: &pos, kw: &[] });
            }
            raise!(
                TypeError,
                "unsupported operand type(s) for divmod(): '{}' and '{}'",
                type_name(a),
                type_name(b)
            )
        }
    }
}

fn pow(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.only_kw("pow", &["base", "exp", "mod"])?;
    if args.pos.len() > 3 {
        raise!(
            TypeError,
            "pow() takes at most 3 arguments ({} given)",
            args.pos.len()
        );
    }
    let Some(base) = args.pos_or_kw("pow", 0, "base")? else {
        raise!(TypeError, "pow() missing required argument 'base' (pos 1)");
    };
    let Some(exp) = args.pos_or_kw("pow", 1, "exp")? else {
        raise!(TypeError, "pow() missing required argument 'exp' (pos 2)");
    };
    match args.pos_or_kw("pow", 2, "mod")? {
        None | Some(Value::None) => interp.binary(BinOp::Pow, base, exp),
        Some(m) => match (base, exp, m) {
            (
                Value::Int(_) | Value::Bool(_),
                Value::Int(_) | Value::Bool(_),
                Value::Int(_) | Value::Bool(_),
            ) => crate::num::int_pow_mod(
                interp.index_arg(base)?,
                interp.index_arg(exp)?,
                interp.index_arg(m)?,
            )
            .map(Value::Int)
            .map_err(num_err),
            (
                Value::Int(_) | Value::Bool(_) | Value::BigInt(_),
                Value::Int(_) | Value::Bool(_) | Value::BigInt(_),
                Value::Int(_) | Value::Bool(_) | Value::BigInt(_),
            ) => bigint::pow_mod(&*to_bigint(base)?, &*to_bigint(exp)?, &*to_bigint(m)?)
                .map(Value::from)
                .map_err(num_err),
            _ => {
                // An object's own three-argument `__pow__` (complex's refuses the modulus).
                if let Some(f) = interp.lookup_special(base, "__pow__") {
                    let r = interp.call(&f, &[base.clone(), exp.clone(), m.clone()])?;
                    if !matches!(r, Value::NotImplemented) {
                        return Ok(r);
                    }
                }
                raise!(
                    TypeError,
                    "pow() 3rd argument not allowed unless all arguments are integers"
                )
            }
        },
    }
}

fn ord(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    calling_level(interp)?;
    match args.one("ord")? {
        Value::Str(s) => {
            let mut cs = s.as_str().chars();
            match (cs.next(), cs.next()) {
                (Some(c), None) => Ok(Value::Int(c as i64)),
                _ => raise!(
                    TypeError,
                    "ord() expected a character, but string of length {} found",
                    s.char_len()
                ),
            }
        }
        // A bytes or bytearray of one byte gives that byte's value.
        Value::Bytes(b) => one_byte(b.as_bytes()),
        Value::ByteArray(b) => one_byte(&b.data.lock()),
        other => raise!(
            TypeError,
            "ord() expected string of length 1, but {} found",
            type_name(other)
        ),
    }
}

/// `ord()` of a bytes-like value: its only byte, or CPython's TypeError naming the length.
fn one_byte(bytes: &[u8]) -> PyResult<Value> {
    match bytes {
        [b] => Ok(Value::Int(i64::from(*b))),
        _ => raise!(
            TypeError,
            "ord() expected a character, but string of length {} found",
            bytes.len()
        ),
    }
}

fn chr(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    calling_level_held(interp, |interp| chr_body(interp, args))
}

fn chr_body(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let arg = args.one("chr")?;
    let i =
        crate::builtins::args::to_c_int(&interp.number_index(arg)?.unwrap_or_else(|| arg.clone()))?;
    if !(0..0x110000).contains(&i) {
        raise!(ValueError, "chr() arg not in range(0x110000)");
    }
    match char::from_u32(i as u32) {
        Some(c) => Ok(Value::char(c)),
        None => raise!(
            NotImplementedError,
            "minivm strings cannot hold surrogate code points (chr({i:#x}))"
        ),
    }
}

fn radix(interp: &mut Interp, args: Args<'_>, name: &str, r: u32) -> PyResult<Value> {
    let arg = args.one(name)?;
    // An object with `__index__` prints as the int it stands for (CPython's `PyNumber_Index`).
    let v = &interp.number_index(arg)?.unwrap_or_else(|| arg.clone());
    if let Value::BigInt(b) = v {
        let prefix = match r {
            2 => "0b",
            8 => "0o",
            _ => "0x",
        };
        let sign = if b.sign() == bigint::Sign::Minus {
            "-"
        } else {
            ""
        };
        let digits = bigint::magnitude_radix(b, r, false);
        return Ok(Value::string(format!("{sign}{prefix}{digits}")));
    }
    let i = interp.index_arg(v)?;
    Ok(Value::string(int_to_str_radix(i, r, true)))
}

fn hex(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    calling_level_held(interp, |interp| radix(interp, args, "hex", 16))
}

fn bin(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    calling_level_held(interp, |interp| radix(interp, args, "bin", 2))
}

fn oct(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    calling_level_held(interp, |interp| radix(interp, args, "oct", 8))
}

/// Python's `hash(v)`: CPython's values for numbers and tuples of them.
pub fn py_hash(interp: &mut Interp, v: &Value) -> PyResult<i64> {
    Ok(match v {
        Value::Int(i) => crate::num::hash_int(*i),
        Value::BigInt(b) => bigint::hash(b),
        Value::Bool(b) => crate::num::hash_bool(*b),
        Value::Float(f) => crate::num::hash_float(*f),
        // CPython randomises the hashes of str and bytes, except the empty ones': always 0.
        Value::Str(s) if s.as_str().is_empty() => 0,
        Value::Bytes(b) if b.as_bytes().is_empty() => 0,
        Value::Tuple(t) => {
            let mut hs = Vec::with_capacity(t.items.len());
            for item in t.items.iter() {
                hs.push(py_hash(interp, item)?);
            }
            crate::num::hash_tuple(hs)
        }
        other => {
            let h = interp.hash_any(other.clone())?.hash as i64;
            if h == -1 {
                -2
            } else {
                h
            }
        }
    })
}

fn hash(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    calling_level_held(interp, |interp| {
        let v = args.one("hash")?;
        py_hash(interp, v).map(Value::Int)
    })
}

fn id(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    calling_level(interp)?;
    Ok(Value::Int(args.one("id")?.id() as i64))
}

fn callable(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    calling_level(interp)?;
    Ok(Value::Bool(is_callable(interp, args.one("callable")?)))
}

/// `callable(v)`: a function, a class, or an instance whose class defines `__call__`.
pub fn is_callable(interp: &Interp, v: &Value) -> bool {
    match v {
        Value::Function(_) | Value::Native(_) | Value::BoundMethod(_) | Value::Class(_) => true,
        Value::Instance(_) => interp.lookup_special(v, "__call__").is_some(),
        _ => false,
    }
}

fn attr_name(v: Option<&Value>) -> PyResult<&str> {
    match v {
        Some(Value::Str(s)) => Ok(s.as_str()),
        other => raise!(
            TypeError,
            "attribute name must be string, not '{}'",
            other.map_or_else(|| "NoneType".to_string(), type_name)
        ),
    }
}

fn getattr(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("getattr", 2, 3)?;
    let obj = args.get(0).cloned().unwrap_or(Value::None);
    let name = attr_name(args.get(1))?;
    match interp.getattr(&obj, name) {
        Err(e) if e.is(ExcKind::AttributeError) => match args.get(2) {
            Some(d) => Ok(d.clone()),
            None => Err(e),
        },
        r => r,
    }
}

fn setattr(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("setattr", 3, 3)?;
    let obj = args.get(0).cloned().unwrap_or(Value::None);
    let name = attr_name(args.get(1))?;
    interp.setattr(&obj, name, args.get(2).cloned().unwrap_or(Value::None))?;
    Ok(Value::None)
}

fn delattr(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("delattr", 2, 2)?;
    let obj = args.get(0).cloned().unwrap_or(Value::None);
    let name = attr_name(args.get(1))?;
    interp.delattr(&obj, name)?;
    Ok(Value::None)
}

fn hasattr(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("hasattr", 2, 2)?;
    let obj = args.get(0).cloned().unwrap_or(Value::None);
    let name = attr_name(args.get(1))?;
    match interp.getattr(&obj, name) {
        Ok(_) => Ok(Value::Bool(true)),
        Err(e) if e.is(ExcKind::AttributeError) => Ok(Value::Bool(false)),
        Err(e) => Err(e),
    }
}

/// `input(prompt='')`: the prompt goes to `sys.stdout` (flushed), the line comes from
/// `sys.stdin.readline()` without its newline; `EOFError` at end of input.
fn input(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("input", 0, 1)?;
    let stdout = crate::stdlib::sys::current_stream(interp, "stdout")?;
    if let Some(p) = args.get(0) {
        let s = Value::string(interp.str_of(p)?);
        let write = interp.getattr(&stdout, "write")?;
        interp.call(&write, &[s])?;
    }
    let flush = interp.getattr(&stdout, "flush")?;
    interp.call(&flush, &[])?;
    let stdin = crate::stdlib::sys::current_stream(interp, "stdin")?;
    if stdin.is_none() {
        raise!(RuntimeError, "input(): lost sys.stdin");
    }
    let readline = interp.getattr(&stdin, "readline")?;
    let line = match interp.call(&readline, &[])? {
        Value::Str(s) => s.as_str().to_string(),
        other => raise!(
            TypeError,
            "object.readline() returned non-string (type {})",
            type_name(&other)
        ),
    };
    match line.strip_suffix('\n') {
        Some(l) => Ok(Value::str(l)),
        None if line.is_empty() => Err(eof_error()),
        None => Ok(Value::string(line)),
    }
}

/// `EOFError: EOF when reading a line` (minivm has no `EOFError` class yet: see the report).
fn eof_error() -> crate::PyErr {
    err!(EOFError, "EOF when reading a line")
}

fn format(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("format", 1, 2)?;
    let v = args.get(0).cloned().unwrap_or(Value::None);
    let spec = match args.get(1) {
        None => Value::str(""),
        Some(s @ Value::Str(_)) => s.clone(),
        Some(other) => raise!(
            TypeError,
            "format() argument 2 must be str, not {}",
            type_name(other)
        ),
    };
    interp.format_value(&v, None, Some(&spec))
}
