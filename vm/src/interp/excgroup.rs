//! Stage 4: exception groups (PEP 654): `BaseExceptionGroup` and `ExceptionGroup`, their
//! `split`, `subgroup` and `derive`, and the two instructions of `except*`.
//!
//! A group is an exception instance whose attribute table holds `message` and `exceptions` (a
//! tuple), with `args == (message, exceptions as given)` as in CPython. `split(cond)` walks the
//! tree of groups: a whole subtree that matches moves to the match side, a leaf that does not to
//! the rest side, and every partly matching group is rebuilt on both sides through its
//! `derive()` with the original's traceback, cause and context (so a re-raised part is still
//! known as part of the original, see `prep_reraise_star`). The tree CPython prints for an
//! uncaught group is drawn in `interp/exc.rs`.

use std::collections::HashSet;

use minivm_compiler::bytecode::Op;

use crate::builtins::args::{Sig, Style};
use crate::builtins::Methods;
use crate::error::PyErr;
use crate::heap::Ref;
use crate::interp::frame::Frame;
use crate::interp::{Args, Interp};
use crate::object::{type_name, types, Class, ExcKind, Instance, TypeKind};
use crate::value::Value;
use crate::{err, PyResult};

/// The methods of `BaseExceptionGroup` (and so of `ExceptionGroup` and user subclasses).
pub const GROUP_METHODS: Methods = &[
    ("__new__", group_new),
    ("__str__", group_str),
    ("split", group_split),
    ("subgroup", group_subgroup),
    ("derive", group_derive),
];

/// How `split`/`subgroup` (and `except*`) decide that an exception matches.
enum Matcher {
    /// An exception class or a tuple of them: `isinstance`.
    Type(Value),
    /// Any other callable: its truth value.
    Predicate(Value),
    /// Exactly these leaf exceptions (by identity): how `except*` finds the re-raised ones.
    Leaves(HashSet<usize>),
}

/// Whether `v` is an exception group.
pub(crate) fn is_group(v: &Value) -> bool {
    match v {
        Value::Instance(i) => i
            .class
            .is_subclass(types().exc(ExcKind::BaseExceptionGroup)),
        _ => false,
    }
}

/// The sub-exceptions of a group (empty for anything else).
pub(crate) fn group_exceptions(v: &Value) -> Vec<Value> {
    let Value::Instance(i) = v else {
        return Vec::new();
    };
    match i.dict.lock().get("exceptions") {
        Some(Value::Tuple(t)) if is_group(v) => t.items.to_vec(),
        _ => Vec::new(),
    }
}

impl Interp {
    /// The `except*` instructions (see their doc lines in `bytecode.rs`).
    pub(crate) fn except_star_op(&mut self, frame: &mut Frame, op: Op) -> PyResult<()> {
        let pop = |frame: &mut Frame| frame.stack.pop().ok_or_else(super::run::stack_underflow);
        match op {
            Op::CheckEgMatch => {
                let typ = pop(frame)?;
                let exc = pop(frame)?;
                let (matched, rest) = self.except_star_match(&exc, &typ)?;
                if !matched.is_none() {
                    // The handler's body sees the matching part as the exception being handled.
                    self.cur_exc = Some(matched.clone());
                }
                frame.stack.push(rest);
                frame.stack.push(matched);
            }
            Op::PrepReraiseStar => {
                let raised = pop(frame)?;
                let orig = pop(frame)?;
                let r = self.prep_reraise_star(&orig, &raised)?;
                frame.stack.push(r);
            }
            other => return Err(err!(SystemError, "{other:?} is not an except* instruction")),
        }
        Ok(())
    }

    /// `except* typ` against what is left of the exception: `(match, rest)`, either None.
    fn except_star_match(&mut self, exc: &Value, typ: &Value) -> PyResult<(Value, Value)> {
        check_except_star_type(typ)?;
        if exc.is_none() {
            return Ok((Value::None, Value::None));
        }
        if self.exception_matches(exc, typ)? {
            if is_group(exc) {
                return Ok((exc.clone(), Value::None));
            }
            // A naked exception is handled as a group of one (with its traceback).
            let wrapped = self.new_group(String::new(), Value::tuple(vec![exc.clone()]))?;
            copy_metadata(exc, &wrapped);
            return Ok((wrapped, Value::None));
        }
        if !is_group(exc) {
            return Ok((Value::None, exc.clone()));
        }
        let (m, r) = self.split_tree(exc, &Matcher::Type(typ.clone()), true)?;
        Ok((m.unwrap_or(Value::None), r.unwrap_or(Value::None)))
    }

    /// What leaves a `try ... except*` once every clause ran: `raised` lists the exceptions the
    /// clause bodies raised (new ones, or parts of `orig` raised again) and, last, the unmatched
    /// rest (None entries are ignored). Parts of `orig` come back in `orig`'s own shape; new
    /// exceptions are grouped with them in an `ExceptionGroup("", [...])`; None if nothing is left.
    fn prep_reraise_star(&mut self, orig: &Value, raised: &Value) -> PyResult<Value> {
        let items: Vec<Value> = match raised {
            Value::List(l) => l.snapshot().into_iter().filter(|v| !v.is_none()).collect(),
            _ => Vec::new(),
        };
        if !is_group(orig) {
            // A naked exception: the clause that caught it either raised something or not.
            return Ok(items.into_iter().next().unwrap_or(Value::None));
        }
        let (reraised, mut result): (Vec<Value>, Vec<Value>) =
            items.into_iter().partition(|e| same_metadata(e, orig));
        let mut leaves = HashSet::new();
        for e in &reraised {
            collect_leaves(e, &mut leaves, 0);
        }
        if !leaves.is_empty() {
            let (part, _) = self.split_tree(orig, &Matcher::Leaves(leaves), false)?;
            result.extend(part);
        }
        match result.len() {
            0 => Ok(Value::None),
            1 => Ok(result.remove(0)),
            _ => self.new_group(String::new(), Value::list(result)),
        }
    }

    /// `BaseExceptionGroup(message, excs)`: an `ExceptionGroup` when every one is an `Exception`.
    fn new_group(&mut self, message: String, excs: Value) -> PyResult<Value> {
        let cls = Value::Class(types().exc(ExcKind::BaseExceptionGroup).clone());
        self.call(&cls, &[Value::string(message), excs])
    }

    /// Split `exc` by `m` into (match, rest); `rest` is only built when `want_rest`.
    fn split_tree(
        &mut self,
        exc: &Value,
        m: &Matcher,
        want_rest: bool,
    ) -> PyResult<(Option<Value>, Option<Value>)> {
        // Groups may nest as deep as a program makes them: bounded like any recursion.
        self.enter_recursion(" in split()")?;
        let r = self.split_tree_inner(exc, m, want_rest);
        self.leave_recursion();
        r
    }

    fn split_tree_inner(
        &mut self,
        exc: &Value,
        m: &Matcher,
        want_rest: bool,
    ) -> PyResult<(Option<Value>, Option<Value>)> {
        if self.matches(m, exc)? {
            return Ok((Some(exc.clone()), None));
        }
        if !is_group(exc) {
            return Ok((None, want_rest.then(|| exc.clone())));
        }
        let mut matched = Vec::new();
        let mut rest = Vec::new();
        for e in group_exceptions(exc) {
            let (a, b) = self.split_tree(&e, m, want_rest)?;
            matched.extend(a);
            rest.extend(b);
        }
        let matched = self.derive_part(exc, matched)?;
        let rest = self.derive_part(exc, rest)?;
        Ok((matched, rest))
    }

    fn matches(&mut self, m: &Matcher, exc: &Value) -> PyResult<bool> {
        match m {
            Matcher::Type(t) => self.exception_matches(exc, t),
            Matcher::Predicate(f) => {
                let r = self.call(f, std::slice::from_ref(exc))?;
                self.truthy(&r)
            }
            Matcher::Leaves(ids) => Ok(!is_group(exc) && ids.contains(&exc.id())),
        }
    }

    /// `orig.derive(excs)` carrying `orig`'s traceback, cause and context; None for no `excs`.
    fn derive_part(&mut self, orig: &Value, excs: Vec<Value>) -> PyResult<Option<Value>> {
        if excs.is_empty() {
            return Ok(None);
        }
        let derive = self.getattr(orig, "derive")?;
        let eg = self.call(&derive, &[Value::list(excs)])?;
        if !is_group(&eg) {
            return Err(err!(
                TypeError,
                "derive must return an instance of BaseExceptionGroup"
            ));
        }
        copy_metadata(orig, &eg);
        Ok(Some(eg))
    }

    fn group_matcher(&mut self, cond: &Value) -> PyResult<Matcher> {
        let exc_class = |v: &Value| matches!(v, Value::Class(c) if c.kind == TypeKind::Exception);
        match cond {
            v if exc_class(v) => Ok(Matcher::Type(v.clone())),
            Value::Tuple(t) if t.items.iter().all(exc_class) => Ok(Matcher::Type(cond.clone())),
            Value::Class(_) | Value::Tuple(_) => Err(bad_condition()),
            v if crate::builtins::functions::is_callable(self, v) => {
                Ok(Matcher::Predicate(v.clone()))
            }
            _ => Err(bad_condition()),
        }
    }
}

fn bad_condition() -> PyErr {
    err!(
        TypeError,
        "expected a function, exception type or tuple of exception types"
    )
}

/// `except* T`: T must be exception classes, and not exception groups.
fn check_except_star_type(typ: &Value) -> PyResult<()> {
    let items: Vec<Value> = match typ {
        Value::Tuple(t) => t.items.to_vec(),
        other => vec![other.clone()],
    };
    for item in &items {
        let Value::Class(c) = item else {
            return Err(not_exception_class());
        };
        if c.kind != TypeKind::Exception {
            return Err(not_exception_class());
        }
        if c.is_subclass(types().exc(ExcKind::BaseExceptionGroup)) {
            return Err(err!(
                TypeError,
                "catching ExceptionGroup with except* is not allowed. Use except instead."
            ));
        }
    }
    Ok(())
}

fn not_exception_class() -> PyErr {
    err!(
        TypeError,
        "catching classes that do not inherit from BaseException is not allowed"
    )
}

/// Give `to` the traceback, cause and context of `from` (as CPython's split and `except*` do;
/// setting the cause also sets `__suppress_context__`).
fn copy_metadata(from: &Value, to: &Value) {
    let (Value::Instance(f), Value::Instance(t)) = (from, to) else {
        return;
    };
    let (Some(fd), Some(td)) = (f.exc(), t.exc()) else {
        return;
    };
    let (tb, cause, context) = {
        let d = fd.lock();
        (d.traceback.clone(), d.cause.clone(), d.context.clone())
    };
    let mut d = td.lock();
    d.traceback = tb;
    d.tb_object = None;
    d.cause = cause;
    d.context = context;
    d.suppress_context = true;
}

/// Whether `e` is (a part of) `orig` raised again: the same traceback, cause and context.
fn same_metadata(e: &Value, orig: &Value) -> bool {
    let (Value::Instance(a), Value::Instance(b)) = (e, orig) else {
        return false;
    };
    let (Some(a), Some(b)) = (a.exc(), b.exc()) else {
        return false;
    };
    let same = |x: &Option<Value>, y: &Option<Value>| match (x, y) {
        (None, None) => true,
        (Some(x), Some(y)) => x.id() == y.id(),
        _ => false,
    };
    let (a, b) = (a.lock(), b.lock());
    let tb_same = a.traceback.len() == b.traceback.len()
        && a.traceback
            .iter()
            .zip(&b.traceback)
            .all(|(x, y)| x.line == y.line && x.filename == y.filename && x.func == y.func);
    tb_same && same(&a.cause, &b.cause) && same(&a.context, &b.context)
}

/// The identities of the leaf exceptions under `e` (groups nest at most as deep as the
/// recursion limit lets `split` build them; deeper ones are ignored).
fn collect_leaves(e: &Value, out: &mut HashSet<usize>, depth: usize) {
    if !is_group(e) {
        out.insert(e.id());
        return;
    }
    if depth > 10_000 {
        return;
    }
    for sub in group_exceptions(e) {
        collect_leaves(&sub, out, depth + 1);
    }
}

fn group_class<'a>(args: &Args<'a>, meth: &str) -> PyResult<&'a Ref<Class>> {
    match args.pos.first() {
        Some(Value::Class(c)) => Ok(c),
        _ => Err(err!(
            TypeError,
            "BaseExceptionGroup.{meth}(X): X is not a type object"
        )),
    }
}

fn group_self<'a>(args: &Args<'a>, meth: &str) -> PyResult<&'a Value> {
    match args.pos.first() {
        Some(v) if is_group(v) => Ok(v),
        other => Err(err!(
            TypeError,
            "descriptor '{meth}' for 'BaseExceptionGroup' objects doesn't apply to a '{}' object",
            other.map_or("NoneType".to_string(), type_name)
        )),
    }
}

/// `BaseExceptionGroup.__new__(cls, message, exceptions)`, with CPython's checks; the class
/// becomes `ExceptionGroup` when `cls` is `BaseExceptionGroup` and every exception is an
/// `Exception`.
fn group_new(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let cls = group_class(&args, "__new__")?;
    if !args.kw.is_empty() {
        return Err(err!(
            TypeError,
            "{}() takes no keyword arguments",
            cls.name()
        ));
    }
    let given = args.pos.len() - 1;
    if given != 2 {
        return Err(err!(
            TypeError,
            "BaseExceptionGroup.__new__() takes exactly 2 arguments ({given} given)"
        ));
    }
    let (message, excs_arg) = (&args.pos[1], &args.pos[2]);
    if !matches!(message, Value::Str(_)) {
        return Err(err!(
            TypeError,
            "BaseExceptionGroup.__new__() argument 1 must be str, not {}",
            type_name(message)
        ));
    }
    let excs = match excs_arg {
        Value::List(l) => l.snapshot(),
        Value::Tuple(t) => t.items.to_vec(),
        _ => {
            return Err(err!(
                TypeError,
                "second argument (exceptions) must be a sequence"
            ))
        }
    };
    if excs.is_empty() {
        return Err(err!(
            ValueError,
            "second argument (exceptions) must be a non-empty sequence"
        ));
    }
    let t = types();
    let mut nested_base = false;
    for (i, e) in excs.iter().enumerate() {
        match e {
            Value::Instance(inst) if inst.exc().is_some() => {
                nested_base |= !inst.class.is_subclass(t.exc(ExcKind::Exception));
            }
            _ => {
                return Err(err!(
                    ValueError,
                    "Item {i} of second argument (exceptions) is not an exception"
                ))
            }
        }
    }
    let base_group = t.exc(ExcKind::BaseExceptionGroup);
    let group = t.exc(ExcKind::ExceptionGroup);
    let cls = if Ref::ptr_eq(cls, base_group) {
        if nested_base {
            cls.clone()
        } else {
            group.clone()
        }
    } else if nested_base && Ref::ptr_eq(cls, group) {
        return Err(err!(
            TypeError,
            "Cannot nest BaseExceptions in an ExceptionGroup"
        ));
    } else if nested_base && cls.is_subclass(t.exc(ExcKind::Exception)) {
        return Err(err!(
            TypeError,
            "Cannot nest BaseExceptions in '{}'",
            cls.name()
        ));
    } else {
        cls.clone()
    };
    let inst = Instance::new(cls);
    if let Some(d) = inst.exc() {
        d.lock().args = vec![message.clone(), excs_arg.clone()];
    }
    {
        let mut d = inst.dict.lock();
        d.insert("message".into(), message.clone());
        d.insert("exceptions".into(), Value::tuple(excs));
    }
    Ok(Value::Instance(Ref::new(inst)))
}

/// `str(eg)`: `message (n sub-exceptions)`.
fn group_str(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let eg = group_self(&args, "__str__")?;
    Sig::pos("__str__", Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    let message = interp.getattr(eg, "message")?;
    let message = interp.str_of(&message)?;
    let n = group_exceptions(eg).len();
    let s = if n == 1 { "" } else { "s" };
    Ok(Value::string(format!("{message} ({n} sub-exception{s})")))
}

/// `eg.split(condition)`: `(match, rest)`.
fn group_split(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let eg = group_self(&args, "split")?;
    let [cond] = Sig::pos("split", Style::One, &["condition"], 1)
        .method()
        .bind(&args)?;
    let m = interp.group_matcher(cond.unwrap_or(&Value::None))?;
    let (a, b) = interp.split_tree(eg, &m, true)?;
    Ok(Value::tuple(vec![
        a.unwrap_or(Value::None),
        b.unwrap_or(Value::None),
    ]))
}

/// `eg.subgroup(condition)`: the matching part, or None.
fn group_subgroup(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let eg = group_self(&args, "subgroup")?;
    let [cond] = Sig::pos("subgroup", Style::One, &["condition"], 1)
        .method()
        .bind(&args)?;
    let m = interp.group_matcher(cond.unwrap_or(&Value::None))?;
    let (a, _) = interp.split_tree(eg, &m, false)?;
    Ok(a.unwrap_or(Value::None))
}

/// `eg.derive(excs)`: a group with the same message (not the same class: subclasses override it).
fn group_derive(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let eg = group_self(&args, "derive")?;
    let [excs] = Sig::pos("derive", Style::One, &["excs"], 1)
        .method()
        .bind(&args)?;
    let message = interp.getattr(eg, "message")?;
    let cls = Value::Class(types().exc(ExcKind::BaseExceptionGroup).clone());
    interp.call(&cls, &[message, excs.cloned().unwrap_or(Value::None)])
}
