//! Stage 4 (VM), the interpreter.
//! "Did you mean: 'x'?": the hint CPython 3.11 adds to an uncaught `NameError` or `AttributeError`
//! (interpreter stage, used when a traceback is printed).
//!
//! The rules follow CPython's `Python/suggestions.c`: candidates are compared with a Levenshtein
//! distance over UTF-8 bytes where inserting, deleting or replacing a byte costs 2 and changing only
//! the ASCII case of a letter costs 1; a candidate may need at most a third of the characters
//! involved to change; the first candidate with the smallest distance wins; lists of 750 names
//! or more, and differences longer than 40 bytes, give no hint.
//!
//! A `NameError` looks in the failing frame's local names, then its globals, then the builtins
//! (the first list with a match wins), computed when the error is raised, since the frame is gone
//! by the time the traceback is printed. An `AttributeError` keeps the object and the name
//! (CPython's `exc.obj` and `exc.name`) and looks in the object's `dir()` only when printed, so
//! `hasattr` and `getattr(x, name, default)` stay cheap.

use std::sync::Arc;

use crate::error::PyErr;
use crate::heap::Ref;
use crate::interp::code::Code;
use crate::interp::Interp;
use crate::object::{class_of, types, Dict, ExcKind, Hint, Payload};
use crate::value::Value;

const MAX_CANDIDATE_ITEMS: usize = 750;
const MAX_STRING_SIZE: usize = 40;
const MOVE_COST: usize = 2;
const CASE_COST: usize = 1;

/// What CPython's `dir()` adds for every object, from `object` itself (and, for instances of
/// Python classes, `__dict__`, `__module__` and `__weakref__`).
const OBJECT_DIR: &[&str] = &[
    "__class__",
    "__delattr__",
    "__dir__",
    "__doc__",
    "__eq__",
    "__format__",
    "__ge__",
    "__getattribute__",
    "__getstate__",
    "__gt__",
    "__hash__",
    "__init__",
    "__init_subclass__",
    "__le__",
    "__lt__",
    "__ne__",
    "__new__",
    "__reduce__",
    "__reduce_ex__",
    "__repr__",
    "__setattr__",
    "__sizeof__",
    "__str__",
    "__subclasshook__",
];
const USER_CLASS_DIR: &[&str] = &["__dict__", "__module__", "__weakref__"];

/// Cost of replacing byte `a` by byte `b`.
fn substitution_cost(a: u8, b: u8) -> usize {
    if a == b {
        0
    } else if a.eq_ignore_ascii_case(&b) {
        CASE_COST
    } else {
        MOVE_COST
    }
}

/// The edit distance from `a` to `b`, or anything above `max_cost` once it is certain to exceed it.
pub fn levenshtein(a: &[u8], b: &[u8], max_cost: usize) -> usize {
    // Common prefixes and suffixes cost nothing.
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a, b) = (&a[..a.len() - suffix], &b[..b.len() - suffix]);
    if a.is_empty() || b.is_empty() {
        return (a.len() + b.len()) * MOVE_COST;
    }
    if a.len() > MAX_STRING_SIZE || b.len() > MAX_STRING_SIZE {
        return max_cost + 1;
    }
    // One row of the matrix, over the shorter string.
    let (a, b) = if b.len() < a.len() { (b, a) } else { (a, b) };
    if (b.len() - a.len()) * MOVE_COST > max_cost {
        return max_cost + 1;
    }
    // row[i]: the cost of turning the part of `b` seen so far into a[..=i].
    let mut row: Vec<usize> = (1..=a.len()).map(|i| i * MOVE_COST).collect();
    let mut result = 0;
    for (bi, &bc) in b.iter().enumerate() {
        // `diagonal` is the cost for b[..bi] -> a[..i]; `result` for b[..=bi] -> a[..i].
        let mut diagonal = bi * MOVE_COST;
        result = diagonal;
        let mut row_min = usize::MAX;
        for (i, &ac) in a.iter().enumerate() {
            let substitute = diagonal + substitution_cost(bc, ac);
            diagonal = row[i];
            result = (result.min(diagonal) + MOVE_COST).min(substitute);
            row[i] = result;
            row_min = row_min.min(result);
        }
        if row_min > max_cost {
            return max_cost + 1;
        }
    }
    result
}

/// The closest of `candidates` to `name` by CPython's rules, if any is close enough.
pub fn best_match<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if candidates.len() >= MAX_CANDIDATE_ITEMS {
        return None;
    }
    let mut best: Option<(&str, usize)> = None;
    for &item in candidates {
        if item == name {
            continue;
        }
        // No more than a third of the characters involved may need to change, and a match must
        // beat the best one so far.
        let mut max = (name.len() + item.len() + 3) * MOVE_COST / 6;
        if let Some((_, d)) = best {
            max = max.min(d.saturating_sub(1));
        }
        let d = levenshtein(name.as_bytes(), item.as_bytes(), max);
        if d <= max && best.is_none_or(|(_, bd)| d < bd) {
            best = Some((item, d));
        }
    }
    best.map(|(s, _)| s)
}

/// The string keys of a namespace dict, in insertion order.
fn dict_names(d: &Dict) -> Vec<Arc<str>> {
    d.keys()
        .into_iter()
        .filter_map(|k| match k {
            Value::Str(s) => Some(Arc::from(s.as_str())),
            _ => None,
        })
        .collect()
}

fn first_match(name: &str, lists: &[Vec<Arc<str>>]) -> Option<Arc<str>> {
    lists.iter().find_map(|list| {
        let refs: Vec<&str> = list.iter().map(|s| &**s).collect();
        best_match(name, &refs).map(Arc::from)
    })
}

impl Interp {
    /// `NameError: name 'x' is not defined`, raised in a frame running `code` with `globals`,
    /// carrying its "Did you mean" hint.
    pub(crate) fn name_error(&self, code: &Code, globals: &Dict, n: u32) -> PyErr {
        let name = code.names.get(n as usize).map_or("?", |s| &**s);
        let e = crate::err!(NameError, "name '{name}' is not defined");
        // CPython's `NameError.name`.
        e.exc
            .dict
            .lock()
            .insert(Arc::from("name"), Value::str(name));
        let locals: Vec<Arc<str>> = code
            .obj
            .varnames
            .iter()
            .map(|s| Arc::from(s.as_str()))
            .collect();
        let lists = [locals, dict_names(globals), dict_names(&self.vm.builtins)];
        if let Some(s) = first_match(name, &lists) {
            set_hint(&e, Hint::Suggestion(s));
        }
        e
    }

    /// The "Did you mean" text CPython would print after this exception's message, if any.
    pub(crate) fn suggestion(&mut self, e: &Value) -> Option<Arc<str>> {
        let Value::Instance(inst) = e else {
            return None;
        };
        let hint = inst.exc()?.lock().hint.clone();
        match hint {
            Some(Hint::Suggestion(s)) => Some(s),
            _ if !Ref::ptr_eq(&inst.class.get(), types().exc(ExcKind::AttributeError)) => None,
            hint => {
                // CPython reads the exception's `name` and `obj`: those a program passed or
                // assigned win over the ones the failed attribute read recorded.
                let (mut obj, mut name) = match hint {
                    Some(Hint::Attribute { obj, name }) => (obj, Value::str(&name)),
                    _ => (Value::None, Value::None),
                };
                {
                    let d = inst.dict.lock();
                    if let Some(v) = d.get("obj") {
                        obj = v.clone();
                    }
                    if let Some(v) = d.get("name") {
                        name = v.clone();
                    }
                }
                let Value::Str(name) = name else {
                    return None;
                };
                if obj.is_none() {
                    return None;
                }
                let name = name.as_str().to_string();
                let dir = self.dir_names(&obj);
                let refs: Vec<&str> = dir.iter().map(|s| &**s).collect();
                best_match(&name, &refs).map(Arc::from)
            }
        }
    }

    /// An approximation of `dir(obj)`, sorted: the names CPython would look a typo up in.
    pub(crate) fn dir_names(&mut self, obj: &Value) -> Vec<Arc<str>> {
        let mut names: Vec<Arc<str>> = Vec::new();
        let add_class = |names: &mut Vec<Arc<str>>, cls: &Ref<crate::object::Class>| {
            for c in crate::object::Class::mro(cls) {
                names.extend(c.dict.read().keys().cloned());
                if c.builtin {
                    // The special methods kept outside the class's dict (`int.__add__`), and
                    // the data attributes its values answer (`(5).real`).
                    let slots = crate::interp::subclass::slots_of(&c);
                    names.extend(slots.into_iter().map(|(n, _)| n));
                    names.extend(builtin_data_attrs(c.kind).iter().map(|s| Arc::from(*s)));
                    names.extend(value_attrs(&c.name()).iter().map(|s| Arc::from(*s)));
                } else {
                    names.extend(USER_CLASS_DIR.iter().map(|s| Arc::from(*s)));
                }
            }
            names.extend(OBJECT_DIR.iter().map(|s| Arc::from(*s)));
        };
        match obj {
            Value::Module(m) => names = dict_names(&m.dict),
            Value::Class(cls) => add_class(&mut names, cls),
            Value::Instance(inst) => {
                if !matches!(inst.payload, Payload::Super { .. }) {
                    names.extend(inst.dict.lock().keys().cloned());
                }
                add_class(&mut names, &inst.class.get());
            }
            Value::Function(f) => {
                names.extend(crate::builtins::attrs::function_attr_names(f));
                add_class(&mut names, &class_of(obj));
            }
            _ => add_class(&mut names, &class_of(obj)),
        }
        // A library class's CPython type name (`object::type_name`) is not one of its attributes
        // there, nor are the VM's hidden slots (`"\0prop_name"`).
        names.retain(|n| &**n != "_tp_name" && !n.starts_with('\0'));
        // A library class standing in for a C type (`_tp_name` in its own body) keeps its state
        // and helpers under `_names` (`Element._children`, `timedelta._days`) that CPython's
        // type does not have, so neither `dir()` nor a "Did you mean" offers them; those its
        // C type does have are listed in the class's `_tp_public` (`decimal.Context._apply`).
        match obj {
            Value::Instance(inst) => drop_c_type_private(&inst.class.get(), &mut names),
            Value::Class(cls) => drop_c_type_private(cls, &mut names),
            _ => {}
        }
        names.sort();
        names.dedup();
        names
    }
}

/// A library class standing in for a C type (`_tp_name` in its own body) keeps its state and
/// helpers under `_names` (`Element._children`, `timedelta._days`) that CPython's type does not
/// have: they leave `names`, so neither `dir()` nor a "Did you mean" offers them. Those its C
/// type does have are listed in the class's `_tp_public` (`decimal.Context._apply`).
fn drop_c_type_private(cls: &crate::object::Class, names: &mut Vec<Arc<str>>) {
    let dict = cls.dict.read();
    if dict.get("_tp_name").is_none() {
        return;
    }
    let public = match dict.get("_tp_public") {
        Some(Value::Tuple(t)) => &t.items[..],
        _ => &[],
    };
    let listed = |n: &str| {
        public
            .iter()
            .any(|p| matches!(p, Value::Str(s) if s.as_str() == n))
    };
    names.retain(|n| !n.starts_with('_') || n.starts_with("__") || listed(n));
}

/// The data attributes (CPython's getset descriptors) of a built-in type's values that `dir()`
/// lists: those minivm answers for them.
fn builtin_data_attrs(kind: crate::object::TypeKind) -> &'static [&'static str] {
    use crate::object::TypeKind;
    match kind {
        TypeKind::Int => &["real", "imag", "numerator", "denominator"],
        TypeKind::Float => &["real", "imag"],
        TypeKind::Range => &["start", "stop", "step"],
        TypeKind::Property => &["fget", "fset", "fdel", "__isabstractmethod__"],
        _ => &[],
    }
}

/// The attributes CPython's built-in type `name` gives its values through getset and member
/// descriptors (`f.__name__`, `e.args`, `g.gi_frame`): `dir()` lists them, as CPython's does.
/// Only those minivm answers are here (`tests/scripts/introspect/dir_builtin_values.mini`
/// checks that `hasattr` holds for every name `dir()` gives).
fn value_attrs(name: &str) -> &'static [&'static str] {
    match name {
        "function" => &[
            "__annotations__",
            "__builtins__",
            "__closure__",
            "__code__",
            "__defaults__",
            "__dict__",
            "__get__",
            "__globals__",
            "__kwdefaults__",
            "__module__",
            "__name__",
            "__qualname__",
        ],
        "method" => &["__func__", "__self__"],
        "builtin_function_or_method" => &["__module__", "__name__", "__qualname__", "__self__"],
        "method_descriptor" | "wrapper_descriptor" | "classmethod_descriptor" => {
            &["__name__", "__objclass__", "__qualname__"]
        }
        "method-wrapper" => &["__name__", "__objclass__", "__qualname__", "__self__"],
        "generator" => &[
            "__name__",
            "__qualname__",
            "gi_code",
            "gi_frame",
            "gi_running",
            "gi_suspended",
            "gi_yieldfrom",
        ],
        "coroutine" => &[
            "__name__",
            "__qualname__",
            "cr_await",
            "cr_code",
            "cr_frame",
            "cr_running",
            "cr_suspended",
        ],
        "async_generator" => &[
            "__name__",
            "__qualname__",
            "ag_await",
            "ag_code",
            "ag_frame",
            "ag_running",
        ],
        "property" => &["__isabstractmethod__", "fdel", "fget", "fset"],
        "staticmethod" | "classmethod" => &[
            "__dict__",
            "__func__",
            "__isabstractmethod__",
            "__wrapped__",
        ],
        "slice" => &["start", "step", "stop"],
        "cell" => &["cell_contents"],
        "super" => &["__self__", "__self_class__", "__thisclass__"],
        "BaseException" => &[
            "__cause__",
            "__context__",
            "__dict__",
            "__suppress_context__",
            "__traceback__",
            "args",
        ],
        "OSError" => &["errno", "filename", "filename2", "strerror"],
        "StopIteration" => &["value"],
        "SystemExit" => &["code"],
        "ImportError" => &["msg", "name", "path"],
        "NameError" => &["name"],
        "AttributeError" => &["name", "obj"],
        "UnicodeError" => &["encoding", "end", "object", "reason", "start"],
        _ => &[],
    }
}

/// Remember what a hint needs, unless the exception already carries a hint.
fn set_hint(e: &PyErr, hint: Hint) {
    if let Some(d) = e.exc.exc() {
        let mut d = d.lock();
        if d.hint.is_none() {
            d.hint = Some(hint);
        }
    }
}

/// CPython augments an `AttributeError` (or a subclass) coming out of an attribute read with the
/// object and the name (its `obj` and `name` attributes, read through
/// `builtins::attrs::exc_default_attr`), unless the exception already names them; the traceback printer
/// uses them for its hint (for exactly `AttributeError` only).
pub(crate) fn attach_attribute_context(e: &PyErr, obj: &Value, name: &str) {
    if e.exc
        .class
        .is_subclass(types().exc(ExcKind::AttributeError))
    {
        {
            let d = e.exc.dict.lock();
            let set = |k: &str| d.get(k).is_some_and(|v| !v.is_none());
            if set("name") || set("obj") {
                return;
            }
        }
        set_hint(
            e,
            Hint::Attribute {
                obj: obj.clone(),
                name: Arc::from(name),
            },
        );
    }
}
