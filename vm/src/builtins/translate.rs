//! Stage 4 (VM), built-ins.
//! `str.maketrans` and `str.translate`: character mapping tables, with CPython's rules and messages.
//!
//! A table maps code points (ints) to a code point, a string or `None` (delete). `translate` asks
//! the table with `table[ord(c)]`, so any mapping works, and a `LookupError` keeps the character.

use crate::builtins::args::{recv_str, rest, ArgsExt};
use crate::error::PyResult;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{type_name, Class, Dict, ExcKind, Instance, NativeFunction, Payload};
use crate::raise;
use crate::value::Value;

/// Add `maketrans` (a static method, as in CPython) and `translate` to `str`.
pub fn install(str_class: &Ref<Class>, staticmethod: &Ref<Class>) {
    let maketrans = Value::Native(Ref::new(NativeFunction::new("maketrans", maketrans)));
    let wrapped = Instance::with_payload(staticmethod.clone(), Payload::Wrapped(maketrans));
    let mut d = str_class.dict.write();
    d.insert("maketrans".into(), Value::Instance(Ref::new(wrapped)));
    let translate = NativeFunction::method("translate", translate);
    d.insert("translate".into(), Value::Native(Ref::new(translate)));
}

/// `str.maketrans(x[, y[, z]])`.
fn maketrans(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.no_kw("maketrans")?;
    args.range("maketrans", 1, 3)?;
    let table = Ref::new(Dict::new());
    let out = Value::Dict(table);
    match args.pos {
        [x] => from_mapping(interp, x, &out)?,
        [x, y, rest @ ..] => {
            from_pairs(interp, x, y, &out)?;
            if let Some(z) = rest.first() {
                deleting(interp, z, &out)?;
            }
        }
        [] => raise!(TypeError, "maketrans expected at least 1 argument, got 0"),
    }
    Ok(out)
}

/// One argument: a dict whose keys are code points or one-character strings.
fn from_mapping(interp: &mut Interp, x: &Value, out: &Value) -> PyResult<()> {
    let Value::Dict(d) = x else {
        raise!(
            TypeError,
            "if you give only one argument to maketrans it must be a dict"
        );
    };
    let items: Vec<(Value, Value)> = d
        .read()
        .iter()
        .map(|(k, v)| (k.value.clone(), v.clone()))
        .collect();
    for (k, v) in items {
        let key = match &k {
            Value::Str(s) if s.char_len() == 1 => code_point(s.as_str()),
            Value::Str(_) => raise!(
                ValueError,
                "string keys in translate table must be of length 1"
            ),
            Value::Int(_) | Value::Bool(_) | Value::BigInt(_) => k.clone(),
            _ => raise!(
                TypeError,
                "keys in translate table must be strings or integers"
            ),
        };
        interp.setitem(out, key, v)?;
    }
    Ok(())
}

/// Two strings of equal length: each character of `x` maps to the one of `y` at its place.
fn from_pairs(interp: &mut Interp, x: &Value, y: &Value, out: &Value) -> PyResult<()> {
    let Value::Str(x) = x else {
        raise!(
            TypeError,
            "first maketrans argument must be a string if there is a second argument"
        );
    };
    let Value::Str(y) = y else {
        raise!(
            TypeError,
            "maketrans() argument 2 must be str, not {}",
            type_name(y)
        );
    };
    if x.char_len() != y.char_len() {
        raise!(
            ValueError,
            "the first two maketrans arguments must have equal length"
        );
    }
    for (a, b) in x.as_str().chars().zip(y.as_str().chars()) {
        interp.setitem(out, ord(a), ord(b))?;
    }
    Ok(())
}

/// The third argument: characters mapped to `None`.
fn deleting(interp: &mut Interp, z: &Value, out: &Value) -> PyResult<()> {
    let Value::Str(z) = z else {
        raise!(
            TypeError,
            "maketrans() argument 3 must be str, not {}",
            type_name(z)
        );
    };
    for c in z.as_str().chars() {
        interp.setitem(out, ord(c), Value::None)?;
    }
    Ok(())
}

fn ord(c: char) -> Value {
    Value::Int(u32::from(c).into())
}

fn code_point(s: &str) -> Value {
    Value::Int(s.chars().next().map_or(0, |c| u32::from(c).into()))
}

/// `s.translate(table)`.
fn translate(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_str(&args, "translate")?;
    let table = rest(&args).one("str.translate")?;
    let mut out = String::with_capacity(s.as_str().len());
    for c in s.as_str().chars() {
        match interp.getitem(table, &ord(c)) {
            Ok(v) => push_mapped(&mut out, &v)?,
            Err(e) if e.is(ExcKind::LookupError) => out.push(c),
            Err(e) => return Err(e),
        }
    }
    Ok(Value::string(out))
}

/// Append what the table gave for one character.
fn push_mapped(out: &mut String, v: &Value) -> PyResult<()> {
    match v {
        Value::None => {}
        Value::Str(s) => out.push_str(s.as_str()),
        Value::Int(i) => match u32::try_from(*i).ok().and_then(char::from_u32) {
            Some(c) => out.push(c),
            None if (0..0x110000).contains(i) => raise!(
                NotImplementedError,
                "minivm strings cannot hold surrogate code points ({i:#x})"
            ),
            None => raise!(ValueError, "character mapping must be in range(0x110000)"),
        },
        Value::BigInt(_) => raise!(ValueError, "character mapping must be in range(0x110000)"),
        _ => raise!(
            TypeError,
            "character mapping must return integer, None or str"
        ),
    }
    Ok(())
}
