//! Argument checking for native functions, with CPython's exact `TypeError` messages.

use crate::err;
use crate::error::PyResult;
use crate::heap::Ref;
use crate::interp::Args;
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
    /// `pop expected at most 1 argument, got 2` style (unpacked-tuple functions).
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

impl<'a> ArgsExt<'a> for Args<'a> {
    fn one(&self, name: &str) -> PyResult<&'a Value> {
        self.no_kw(name)?;
        match self.pos {
            [v] => Ok(v),
            _ => Err(err!(
                TypeError,
                "{name}() takes exactly one argument ({} given)",
                self.pos.len()
            )),
        }
    }

    fn range(&self, name: &str, min: usize, max: usize) -> PyResult<()> {
        self.no_kw(name)?;
        let n = self.pos.len();
        if min == max && n != min {
            return Err(err!(
                TypeError,
                "{name} expected {min} argument{}, got {n}",
                plural(min)
            ));
        }
        if n < min {
            return Err(err!(
                TypeError,
                "{name} expected at least {min} argument{}, got {n}",
                plural(min)
            ));
        }
        if n > max {
            return Err(err!(
                TypeError,
                "{name} expected at most {max} argument{}, got {n}",
                plural(max)
            ));
        }
        Ok(())
    }

    fn clinic(&self, name: &str, min: usize, max: usize) -> PyResult<()> {
        let n = self.pos.len();
        if n < min {
            return Err(err!(
                TypeError,
                "{name}() takes at least {min} argument{} ({n} given)",
                plural(min)
            ));
        }
        if n > max {
            return Err(err!(
                TypeError,
                "{name}() takes at most {max} argument{} ({n} given)",
                plural(max)
            ));
        }
        Ok(())
    }

    fn none(&self, name: &str) -> PyResult<()> {
        self.no_kw(name)?;
        if !self.pos.is_empty() {
            return Err(err!(
                TypeError,
                "{name}() takes no arguments ({} given)",
                self.pos.len()
            ));
        }
        Ok(())
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

/// An int argument (bools count): `'float' object cannot be interpreted as an integer` otherwise.
pub fn to_index(v: &Value) -> PyResult<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Bool(b) => Ok(*b as i64),
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
        Some(_) => Err(err!(
            TypeError,
            "slice indices must be integers or None or have an __index__ method"
        )),
    }
}
