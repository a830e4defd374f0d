//! Stage 4 (VM), built-ins.
//! Argument checking for native functions, with CPython's exact `TypeError` messages.

use std::borrow::Cow;

use crate::err;
use crate::error::PyResult;
use std::sync::Arc;

use crate::heap::Ref;
use crate::interp::Args;
use crate::num::BigInt;
use crate::object::{type_name, Class, PyStr};
use crate::value::Value;

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Checks on a native function's arguments (`name` is the function's name as CPython prints it).
pub trait ArgsExt<'a> {
    /// `len() takes exactly one argument (2 given)` style (METH_O functions).
    fn one(&self, name: &str) -> PyResult<&'a Value>;
    /// `pop expected at most 1 argument, got 2` style (unpacked-tuple functions); a method is named
    /// `list.pop`, for CPython's `list.pop() takes no keyword arguments`.
    fn range(&self, name: &str, min: usize, max: usize) -> PyResult<()>;
    /// `split() takes at most 2 arguments (3 given)` style (argument-clinic functions).
    fn clinic(&self, name: &str, min: usize, max: usize) -> PyResult<()>;
    /// `int.bit_length() takes no arguments (1 given)`.
    fn none(&self, name: &str) -> PyResult<()>;
    /// `len() takes no keyword arguments`.
    fn no_kw(&self, name: &str) -> PyResult<()>;
    /// Only the named keywords are accepted: `'x' is an invalid keyword argument for print()`.
    fn only_kw(&self, name: &str, allowed: &[&str]) -> PyResult<()>;
    /// The i-th positional argument, if given.
    fn get(&self, i: usize) -> Option<&'a Value>;
    /// Positional `i`, or keyword `kw`, if given (and not both).
    fn pos_or_kw(&self, fname: &str, i: usize, kw: &str) -> PyResult<Option<&'a Value>>;
}

/// Placeholder parameter names for the positional-only styles (their messages name no parameter).
const ANON: [&str; 8] = [""; 8];

fn anon(n: usize) -> &'static [&'static str] {
    &ANON[..n.min(ANON.len())]
}

impl<'a> ArgsExt<'a> for Args<'a> {
    fn one(&self, name: &str) -> PyResult<&'a Value> {
        // The common case first (`len(x)`, `l.append(x)`: this runs on every call).
        if let ([v], []) = (self.pos, self.kw) {
            return Ok(v);
        }
        let [v] = Sig::pos(name, Style::One, anon(1), 1).bind::<1>(self)?;
        v.ok_or_else(|| err!(SystemError, "{name}(): argument lost"))
    }

    fn range(&self, name: &str, min: usize, max: usize) -> PyResult<()> {
        // The common case first, without taking the name apart (this runs on every call).
        if self.kw.is_empty() && (min..=max).contains(&self.pos.len()) {
            return Ok(());
        }
        // `list.pop`: CPython names the type when refusing keywords, not in the counts.
        let (owner, short) = match name.split_once('.') {
            Some((owner, short)) => (Some(owner), short),
            None => (None, name),
        };
        let sig = Sig {
            owner,
            ..Sig::pos(short, Style::Unpack, anon(max), min)
        };
        sig.check_positional(self.pos, self.kw)
    }

    fn clinic(&self, name: &str, min: usize, max: usize) -> PyResult<()> {
        // Keywords are checked by the caller (`only_kw`), as the functions using this take some.
        Sig::pos(name, Style::Positional, anon(max), min).check_positional(self.pos, &[])
    }

    fn none(&self, name: &str) -> PyResult<()> {
        Sig::pos(name, Style::NoArgs, &[], 0).check(self)
    }

    fn no_kw(&self, name: &str) -> PyResult<()> {
        if !self.kw.is_empty() {
            return Err(err!(TypeError, "{name}() takes no keyword arguments"));
        }
        Ok(())
    }

    fn only_kw(&self, name: &str, allowed: &[&str]) -> PyResult<()> {
        for (k, _) in self.kw {
            if !allowed.contains(&&**k) {
                return Err(err!(
                    TypeError,
                    "'{k}' is an invalid keyword argument for {name}()"
                ));
            }
        }
        Ok(())
    }

    fn get(&self, i: usize) -> Option<&'a Value> {
        self.pos.get(i)
    }

    fn pos_or_kw(&self, fname: &str, i: usize, kw: &str) -> PyResult<Option<&'a Value>> {
        let p = self.pos.get(i);
        let k = self.kwarg(kw);
        match (p, k) {
            (Some(_), Some(_)) => Err(err!(
                TypeError,
                "argument for {fname}() given by name ('{kw}') and position ({})",
                i + 1
            )),
            (Some(v), None) | (None, Some(v)) => Ok(Some(v)),
            (None, None) => Ok(None),
        }
    }
}

/// An int argument (bools count): `'float' object cannot be interpreted as an integer` otherwise;
/// a big int is `OverflowError`, as CPython's conversion to `Py_ssize_t`.
pub fn to_index(v: &Value) -> PyResult<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Bool(b) => Ok(*b as i64),
        Value::BigInt(_) => Err(ssize_overflow()),
        Value::Instance(_) if crate::object::builtin_base(v).is_some_and(is_int) => {
            to_index(crate::object::builtin_base(v).unwrap_or(v))
        }
        other => Err(err!(
            TypeError,
            "'{}' object cannot be interpreted as an integer",
            type_name(other)
        )),
    }
}

fn is_int(v: &Value) -> bool {
    matches!(v, Value::Int(_) | Value::BigInt(_))
}

/// `OverflowError` for a big int where CPython needs a `Py_ssize_t`.
pub fn ssize_overflow() -> crate::PyErr {
    err!(
        OverflowError,
        "Python int too large to convert to C ssize_t"
    )
}

/// An int used as a count or size (`seq * n`, `bytes(n)`), as CPython's `PyNumber_AsSsize_t`
/// with `OverflowError`: `None` if `v` is not an int; a big int is `cannot fit 'int' into an
/// index-sized integer`.
pub fn index_sized(v: &Value) -> Option<PyResult<i64>> {
    match v {
        Value::Int(i) => Some(Ok(*i)),
        Value::Bool(b) => Some(Ok(*b as i64)),
        Value::BigInt(_) => Some(Err(err!(
            OverflowError,
            "cannot fit 'int' into an index-sized integer"
        ))),
        _ => None,
    }
}

/// An int argument CPython converts to a C `int` (`chr`, `str.expandtabs`): outside 32 bits it is
/// `OverflowError: Python int too large to convert to C int`; not an int, [`to_index`]'s error.
pub fn to_c_int(v: &Value) -> PyResult<i32> {
    let too_large = || err!(OverflowError, "Python int too large to convert to C int");
    match v {
        Value::BigInt(_) => Err(too_large()),
        _ => i32::try_from(to_index(v)?).map_err(|_| too_large()),
    }
}

/// An int argument of any size (bools count), as a big int; the same `TypeError` as [`to_index`]
/// otherwise.
pub fn to_bigint(v: &Value) -> PyResult<Cow<'_, BigInt>> {
    match v {
        Value::Int(i) => Ok(Cow::Owned(BigInt::from(*i))),
        Value::Bool(b) => Ok(Cow::Owned(BigInt::from(*b as i64))),
        Value::BigInt(b) => Ok(Cow::Borrowed(b)),
        other => Err(err!(
            TypeError,
            "'{}' object cannot be interpreted as an integer",
            type_name(other)
        )),
    }
}

/// An optional int argument where `None` means absent.
pub fn opt_index(v: Option<&Value>) -> PyResult<Option<i64>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(v) => to_index(v).map(Some),
    }
}

/// The receiver of a method of a built-in type, checked: `descriptor 'upper' for 'str' objects
/// doesn't apply to a 'int' object`.
pub fn recv<'a>(args: &Args<'a>, ty: &str, meth: &str) -> PyResult<&'a Value> {
    args.pos
        .first()
        .ok_or_else(|| err!(TypeError, "unbound method {ty}.{meth}() needs an argument"))
}

pub fn descriptor_error(ty: &str, meth: &str, got: &Value) -> crate::PyErr {
    err!(
        TypeError,
        "descriptor '{meth}' for '{ty}' objects doesn't apply to a '{}' object",
        type_name(got)
    )
}

/// The receiver of a slot wrapper (`BaseException.__str__`, `complex.__add__`) missing or of
/// another type, in the words CPython uses for those (a method's are [`descriptor_error`]'s).
pub fn slot_receiver_error(ty: &str, meth: &str, got: Option<&Value>) -> crate::PyErr {
    match got {
        None => err!(
            TypeError,
            "descriptor '{meth}' of '{ty}' object needs an argument"
        ),
        Some(v) => err!(
            TypeError,
            "descriptor '{meth}' requires a '{ty}' object but received a '{}'",
            type_name(v)
        ),
    }
}

/// A built-in type's special method called through the class with no receiver at all: worded
/// as CPython words it for a slot wrapper (`float.__add__()`) or a method (`float.__round__()`).
pub fn missing_receiver(ty: &str, name: &str) -> crate::PyErr {
    match crate::object::NativeKind::of_method(ty, name) {
        crate::object::NativeKind::SlotWrapper => slot_receiver_error(ty, name, None),
        _ => err!(TypeError, "unbound method {ty}.{name}() needs an argument"),
    }
}

/// A built-in type's method or special method called through the class with a receiver of
/// another type, worded as CPython words it for that kind of descriptor (a property's getter
/// is worded as a method: `descriptor 'nbytes' for 'memoryview' objects doesn't apply...`).
pub fn wrong_receiver(ty: &str, name: &str, got: &Value) -> crate::PyErr {
    match crate::object::NativeKind::of_method(ty, name) {
        crate::object::NativeKind::SlotWrapper => slot_receiver_error(ty, name, Some(got)),
        _ => descriptor_error(ty, name, got),
    }
}

/// The `str` receiver of a `str` method.
pub fn recv_str<'a>(args: &Args<'a>, meth: &str) -> PyResult<&'a Ref<PyStr>> {
    match recv(args, "str", meth)? {
        Value::Str(s) => Ok(s),
        other => Err(descriptor_error("str", meth, other)),
    }
}

/// A `str` argument: `must be str, not int` otherwise (the message most str methods use).
pub fn arg_str<'v>(v: &'v Value, what: &str) -> PyResult<&'v str> {
    match v {
        Value::Str(s) => Ok(s.as_str()),
        Value::Instance(_) if v.as_str().is_some() => Ok(v.as_str().unwrap_or_default()),
        other => Err(err!(
            TypeError,
            "{what}must be str, not {}",
            type_name(other)
        )),
    }
}

/// Arguments after the receiver.
pub fn rest<'a>(args: &Args<'a>) -> Args<'a> {
    Args {
        pos: args.pos.get(1..).unwrap_or(&[]),
        kw: args.kw,
    }
}

/// `Value::Class` as a class, for `isinstance` and friends.
pub fn as_class(v: &Value) -> Option<&Ref<Class>> {
    match v {
        Value::Class(c) => Some(c),
        _ => None,
    }
}

/// A slice-style index argument (`str.find(sub, start, end)`): int or None.
pub fn slice_index(v: Option<&Value>) -> PyResult<Option<i64>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(Value::Int(i)) => Ok(Some(*i)),
        Some(Value::Bool(b)) => Ok(Some(*b as i64)),
        // Slice bounds clamp, as CPython's: past either end of i64 is past any sequence.
        Some(Value::BigInt(b)) => Ok(Some(if b.sign() == crate::num::bigint::Sign::Minus {
            -i64::MAX
        } else {
            i64::MAX
        })),
        Some(_) => Err(err!(
            TypeError,
            "slice indices must be integers or None or have an __index__ method"
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Signatures: one declarative description of a native's parameters, and one binder.

/// How CPython words argument errors for a function, which depends on how it is written there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// A `def` in CPython's Python library (`queue.Queue.get`, `threading.Event.wait`):
    /// `Queue.get() got an unexpected keyword argument 'blok'`, `takes from 1 to 3 positional
    /// arguments but 4 were given` (counts include `self`), `missing 1 required positional argument`.
    Python,
    /// A C function that takes keywords (`PyArg_ParseTupleAndKeywords`, Argument Clinic):
    /// `'blok' is an invalid keyword argument for acquire()`, `acquire() takes at most 2 arguments
    /// (3 given)`, `missing required argument 'x' (pos 1)`.
    Keywords,
    /// A C function taking exactly one positional argument (`METH_O`):
    /// `len() takes exactly one argument (2 given)`, `len() takes no keyword arguments`.
    One,
    /// A C function taking no arguments (`METH_NOARGS`): `lock.release() takes no arguments (1 given)`.
    NoArgs,
    /// A C function unpacking a positional tuple (`PyArg_UnpackTuple`):
    /// `pop expected at most 1 argument, got 2`, `pop() takes no keyword arguments`.
    Unpack,
    /// A positional-only Argument Clinic function: `startswith() takes at least 1 argument (0 given)`.
    Positional,
}

/// A native function's parameters, as CPython declares them.
///
/// `params` are positional-or-keyword (positional-only for the C styles without keywords), the
/// first `required` of them required; `kwonly` are keyword-only and optional. `name` is what
/// CPython prints in its messages (`Queue.get`, `acquire`, `deque.append`). For a method,
/// `method` is true and `args.pos[0]` is the receiver, which is not a parameter here (a Python-style
/// message counts it, as CPython does).
#[derive(Clone, Copy, Debug)]
pub struct Sig<'n> {
    pub name: &'n str,
    pub style: Style,
    pub method: bool,
    pub params: &'n [&'n str],
    pub required: usize,
    pub kwonly: &'n [&'n str],
    /// For a method of a built-in type: the type, which CPython names in some messages
    /// (`deque.index() takes no keyword arguments`, but `index() takes at least 1 argument`).
    pub owner: Option<&'n str>,
}

fn quoted_list(names: &[&str]) -> String {
    let q: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    match q.as_slice() {
        [] => String::new(),
        [a] => a.clone(),
        [a, b] => format!("{a} and {b}"),
        [rest @ .., last] => format!("{}, and {last}", rest.join(", ")),
    }
}

impl<'n> Sig<'n> {
    /// A function defined in Python in CPython (`def name(params)`), `required` of them required.
    pub const fn py(name: &'n str, params: &'n [&'n str], required: usize) -> Sig<'n> {
        Sig {
            name,
            style: Style::Python,
            method: false,
            params,
            required,
            kwonly: &[],
            owner: None,
        }
    }

    /// A C function that accepts its parameters by keyword too.
    pub const fn kw(name: &'n str, params: &'n [&'n str], required: usize) -> Sig<'n> {
        Sig {
            name,
            style: Style::Keywords,
            method: false,
            params,
            required,
            kwonly: &[],
            owner: None,
        }
    }

    /// A C function with positional-only parameters, worded as `style` says.
    pub const fn pos(
        name: &'n str,
        style: Style,
        params: &'n [&'n str],
        required: usize,
    ) -> Sig<'n> {
        Sig {
            name,
            style,
            method: false,
            params,
            required,
            kwonly: &[],
            owner: None,
        }
    }

    /// The same signature for a method (`args.pos[0]` is `self`).
    pub const fn method(self) -> Sig<'n> {
        Sig {
            method: true,
            ..self
        }
    }

    /// The same signature for a method of the built-in type `owner` (see [`Sig::owner`]).
    pub const fn of(self, owner: &'n str) -> Sig<'n> {
        Sig {
            method: true,
            owner: Some(owner),
            ..self
        }
    }

    /// The name as CPython's method descriptors print it: `deque.append` (once qualified).
    fn qualified(&self) -> String {
        match self.owner {
            Some(owner) if !self.name.contains('.') => format!("{owner}.{}", self.name),
            _ => self.name.to_string(),
        }
    }

    /// The same signature with keyword-only parameters.
    pub const fn kwonly(self, kwonly: &'n [&'n str]) -> Sig<'n> {
        Sig { kwonly, ..self }
    }

    /// Match `args` against the signature: `N` slots, `params` then `kwonly`, each the value given
    /// (by position or keyword) or `None`. Every mistake is CPython's `TypeError`.
    pub fn bind<'a, const N: usize>(&self, args: &Args<'a>) -> PyResult<[Option<&'a Value>; N]> {
        let mut out: [Option<&'a Value>; N] = [None; N];
        if N != self.params.len() + self.kwonly.len() {
            return Err(err!(
                SystemError,
                "{}(): native signature has {} parameters, not {N}",
                self.name,
                self.params.len() + self.kwonly.len()
            ));
        }
        let skip = usize::from(self.method);
        let pos = args.pos.get(skip..).unwrap_or(&[]);
        match self.style {
            Style::Python => self.check_python(pos, args.kw)?,
            Style::Keywords => self.check_keywords(pos, args.kw)?,
            _ => self.check_positional(pos, args.kw)?,
        }
        for (slot, v) in out.iter_mut().zip(pos) {
            *slot = Some(v);
        }
        for (k, v) in args.kw {
            if let Some(i) = self.slot_of(k) {
                out[i] = Some(v);
            }
        }
        Ok(out)
    }

    /// Like [`Sig::bind`] for a function with no parameters: only checks.
    pub fn check(&self, args: &Args<'_>) -> PyResult<()> {
        self.bind::<0>(args).map(|_| ())
    }

    fn slot_of(&self, k: &str) -> Option<usize> {
        if let Some(i) = self.params.iter().position(|p| *p == k) {
            return Some(i);
        }
        self.kwonly
            .iter()
            .position(|p| *p == k)
            .map(|i| i + self.params.len())
    }

    /// CPython's order for a Python function: keywords first (unknown, or already given by
    /// position), then too many positionals, then missing ones.
    fn check_python(&self, pos: &[Value], kw: &[(Arc<str>, Value)]) -> PyResult<()> {
        let name = self.name;
        let this = usize::from(self.method);
        for (k, _) in kw {
            match self.slot_of(k) {
                None => {
                    return Err(err!(
                        TypeError,
                        "{name}() got an unexpected keyword argument '{k}'"
                    ))
                }
                Some(i) if i < pos.len().min(self.params.len()) => {
                    return Err(err!(
                        TypeError,
                        "{name}() got multiple values for argument '{k}'"
                    ))
                }
                Some(_) => {}
            }
        }
        let max = self.params.len();
        if pos.len() > max {
            let given = pos.len() + this;
            let takes = if self.required == max {
                format!("{} positional argument{}", max + this, plural(max + this))
            } else {
                format!(
                    "from {} to {} positional arguments",
                    self.required + this,
                    max + this
                )
            };
            let kwonly_given = kw
                .iter()
                .filter(|(k, _)| self.kwonly.contains(&&**k))
                .count();
            let given = if kwonly_given > 0 {
                format!(
                    "{given} positional argument{} (and {kwonly_given} keyword-only argument{}) were",
                    plural(given),
                    plural(kwonly_given)
                )
            } else if given == 1 {
                "1 was".to_string()
            } else {
                format!("{given} were")
            };
            return Err(err!(TypeError, "{name}() takes {takes} but {given} given"));
        }
        let missing: Vec<&str> = self.params[..self.required]
            .iter()
            .enumerate()
            .filter(|(i, p)| *i >= pos.len() && !kw.iter().any(|(k, _)| &**k == **p))
            .map(|(_, p)| *p)
            .collect();
        if !missing.is_empty() {
            return Err(err!(
                TypeError,
                "{name}() missing {} required positional argument{}: {}",
                missing.len(),
                plural(missing.len()),
                quoted_list(&missing)
            ));
        }
        Ok(())
    }

    /// CPython's order for a C function with keywords: the total count, a parameter given twice,
    /// a missing one, then an unknown keyword.
    fn check_keywords(&self, pos: &[Value], kw: &[(Arc<str>, Value)]) -> PyResult<()> {
        let name = self.name;
        let max = self.params.len() + self.kwonly.len();
        let total = pos.len() + kw.len();
        if self.params.is_empty() && !pos.is_empty() && !self.kwonly.is_empty() {
            return Err(err!(TypeError, "{name}() takes no positional arguments"));
        }
        if pos.len() > self.params.len() && !self.kwonly.is_empty() {
            // ("exactly" when every positional parameter is required, as getargs.c words it.)
            let at = if self.required == self.params.len() {
                "exactly"
            } else {
                "at most"
            };
            return Err(err!(
                TypeError,
                "{name}() takes {at} {} positional argument{} ({} given)",
                self.params.len(),
                plural(self.params.len()),
                pos.len()
            ));
        }
        if total > max {
            let at = if self.required == max {
                "exactly"
            } else {
                "at most"
            };
            let what = if pos.is_empty() { "keyword " } else { "" };
            return Err(err!(
                TypeError,
                "{name}() takes {at} {max} {what}argument{} ({total} given)",
                plural(max)
            ));
        }
        for (i, p) in self.params.iter().enumerate() {
            let by_name = kw.iter().any(|(k, _)| &**k == *p);
            if by_name && i < pos.len() {
                return Err(err!(
                    TypeError,
                    "argument for {name}() given by name ('{p}') and position ({})",
                    i + 1
                ));
            }
            if i < self.required && i >= pos.len() && !by_name {
                return Err(err!(
                    TypeError,
                    "{name}() missing required argument '{p}' (pos {})",
                    i + 1
                ));
            }
        }
        for (k, _) in kw {
            if self.slot_of(k).is_none() {
                return Err(err!(
                    TypeError,
                    "'{k}' is an invalid keyword argument for {name}()"
                ));
            }
        }
        Ok(())
    }

    /// The positional-only C styles. Runs on every call of most natives: the check is two
    /// comparisons, and the message (which formats the name) is built only on a mistake.
    #[inline]
    fn check_positional(&self, pos: &[Value], kw: &[(Arc<str>, Value)]) -> PyResult<()> {
        if kw.is_empty() && (self.required..=self.params.len()).contains(&pos.len()) {
            return Ok(());
        }
        Err(self.positional_error(pos.len(), !kw.is_empty()))
    }

    /// The `TypeError` for `n` positional arguments (or any keyword) the positional-only
    /// signature refuses.
    #[cold]
    fn positional_error(&self, n: usize, keywords: bool) -> crate::PyErr {
        let name = self.name;
        // The messages CPython's method descriptors give name the type too.
        let qualified = self.qualified();
        if keywords {
            return err!(TypeError, "{qualified}() takes no keyword arguments");
        }
        let (min, max) = (self.required, self.params.len());
        match self.style {
            Style::One => err!(
                TypeError,
                "{qualified}() takes exactly one argument ({n} given)"
            ),
            Style::NoArgs => err!(TypeError, "{qualified}() takes no arguments ({n} given)"),
            Style::Unpack if min == max => err!(
                TypeError,
                "{name} expected {min} argument{}, got {n}",
                plural(min)
            ),
            Style::Unpack if n < min => err!(
                TypeError,
                "{name} expected at least {min} argument{}, got {n}",
                plural(min)
            ),
            Style::Unpack => err!(
                TypeError,
                "{name} expected at most {max} argument{}, got {n}",
                plural(max)
            ),
            // (getargs.c's order: "exactly" whenever min == max.)
            _ if min == max => err!(
                TypeError,
                "{name}() takes exactly {max} argument{} ({n} given)",
                plural(max)
            ),
            _ if n < min => err!(
                TypeError,
                "{name}() takes at least {min} argument{} ({n} given)",
                plural(min)
            ),
            _ => err!(
                TypeError,
                "{name}() takes at most {max} argument{} ({n} given)",
                plural(max)
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sizes a program asks for (`[0] * n`, `s.ljust(n)`, `f"{x:>{n}}"`, `list(range(n))`...).
//
// CPython tries to allocate and raises `MemoryError` when malloc fails. minivm checks the size
// before building anything instead, so a huge request fails at once rather than spinning
// through the count or growing to gigabytes (with an object lock held) before the OS says no.

/// Most items minivm puts in one list, tuple, set or dict built on request (2^28: 4 GiB of values).
pub const MAX_ITEMS: usize = 1 << 28;
/// Most bytes of UTF-8 in one string built on request (4 GiB).
pub const MAX_STR_BYTES: usize = 1 << 32;

/// `count` items are about to be built: `MemoryError` (no message, as CPython's) beyond [`MAX_ITEMS`].
pub fn check_items(count: usize) -> PyResult<()> {
    if count > MAX_ITEMS {
        return Err(err!(MemoryError, ""));
    }
    Ok(())
}

/// A string of `bytes` bytes is about to be built: `MemoryError` beyond [`MAX_STR_BYTES`].
pub fn check_str_bytes(bytes: usize) -> PyResult<()> {
    if bytes > MAX_STR_BYTES {
        return Err(err!(MemoryError, ""));
    }
    Ok(())
}

/// `len * n` items (a repetition): `MemoryError` when too many, including when the product
/// does not even fit a machine word.
pub fn repeated_items(len: usize, n: usize) -> PyResult<usize> {
    let total = len.checked_mul(n).ok_or_else(|| err!(MemoryError, ""))?;
    check_items(total)?;
    Ok(total)
}
