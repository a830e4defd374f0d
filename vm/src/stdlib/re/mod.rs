//! `_re` (stdlib stage): the regular-expression engine behind the `re` library module
//! (`vm/lib/re.mini`), as CPython pairs `re/*.py` with the C module `_sre`. The engine is written
//! by hand: `parse.rs` reads Python's pattern syntax into a tree, `prog.rs` compiles the tree to
//! a small program, `exec.rs` runs it by backtracking with sre's semantics, and `chars.rs` holds
//! the character tests. `Pattern`, `Match`, `sub` templates, `split` and the flag enum are
//! plain logic and live in `re.mini`.
//!
//! The module offers `compile(pattern, flags)`, which returns `(program, groups, groupindex,
//! flags)` or, for a bad pattern, `(message, position)` for `re.mini` to raise `re.error` with;
//! and a program's `match(string, pos, endpos, mode, must_advance)` and
//! `scan(string, pos, endpos, limit)`, whose matches are tuples `(lastindex, start0, end0,
//! start1, end1, ...)` of character positions (-1 for a group that did not match).

pub mod chars;
pub mod exec;
pub mod parse;
pub mod prog;

use std::borrow::Cow;

use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{builtin_base, type_name, Class, Dict, Instance, Module};
use crate::stdlib::{make_module, native_class};
use crate::value::Value;
use crate::{err, raise, PyResult};

use exec::{Interrupted, Matcher, Mode, Text, NONE};
use parse::ReError;
use prog::Program;

/// A compiled pattern as the native data of a `_re.Program` instance.
struct Compiled {
    prog: Program,
    /// Whether the pattern is a `str` (else `bytes`).
    is_text: bool,
}

static PROGRAM_CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();

fn program_class() -> Ref<Class> {
    PROGRAM_CLASS
        .get_or_init(|| {
            native_class(
                "Program",
                "_re",
                &[("match", program_match), ("scan", program_scan)],
            )
        })
        .clone()
}

/// The `_re` module.
pub fn module() -> Ref<Module> {
    make_module(
        "_re",
        vec![
            ("compile", crate::stdlib::func("compile", re_compile)),
            ("Program", Value::Class(program_class())),
            ("MAXREPEAT", Value::Int(i64::from(parse::MAXREPEAT))),
            ("MAXGROUPS", Value::Int(1_073_741_823)),
        ],
    )
}

/// The underlying built-in value of `v` (a `str` subclass instance counts as its `str`).
fn base(v: &Value) -> &Value {
    match v {
        Value::Instance(_) => builtin_base(v).unwrap_or(v),
        _ => v,
    }
}

fn int_arg(v: Option<&Value>, default: i64) -> PyResult<i64> {
    match v.map(base) {
        None | Some(Value::None) => Ok(default),
        Some(Value::Int(i)) => Ok(*i),
        Some(Value::Bool(b)) => Ok(i64::from(*b)),
        Some(Value::BigInt(_)) => Ok(if default < 0 { i64::MIN } else { i64::MAX }),
        Some(other) => Err(err!(
            TypeError,
            "'{}' object cannot be interpreted as an integer",
            type_name(other)
        )),
    }
}

/// `_re.compile(pattern, flags)`.
fn re_compile(_interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let pattern = args.pos.first().map(base).unwrap_or(&Value::None);
    let flags = int_arg(args.pos.get(1), 0)?;
    let flags = u32::try_from(flags & 0xffff_ffff).unwrap_or(0);
    let (code, is_text): (Vec<u32>, bool) = match pattern {
        Value::Str(s) => (s.as_str().chars().map(u32::from).collect(), true),
        Value::Bytes(_) | Value::ByteArray(_) => {
            let b = crate::object::bytes_like(pattern).unwrap_or_default();
            (b.iter().map(|&c| u32::from(c)).collect(), false)
        }
        _ => raise!(
            TypeError,
            "first argument must be string or compiled pattern"
        ),
    };
    if !is_text && flags & parse::FLAG_LOCALE != 0 {
        raise!(
            ValueError,
            "minivm's re does not support the LOCALE flag (re.L)"
        );
    }
    let result = parse::parse(&code, is_text, flags).and_then(|parsed| {
        let prog = prog::compile(parsed.node, parsed.groups)?;
        Ok((prog, parsed.groups, parsed.names, parsed.flags))
    });
    match result {
        Ok((prog, groups, names, flags)) => {
            let inst = Instance::new(program_class());
            inst.set_native(Box::new(Compiled { prog, is_text }));
            let index = Dict::new();
            for (name, g) in names {
                index.set_str(&name, Value::Int(g as i64));
            }
            Ok(Value::tuple(vec![
                Value::Instance(Ref::new(inst)),
                Value::Int(groups as i64 - 1),
                Value::Dict(Ref::new(index)),
                Value::Int(i64::from(flags)),
            ]))
        }
        Err(ReError::Syntax(msg, pos)) => Ok(Value::tuple(vec![
            Value::string(msg),
            pos.map_or(Value::None, |p| Value::Int(p as i64)),
        ])),
        Err(ReError::Overflow(msg)) => Err(err!(OverflowError, "{msg}")),
        Err(ReError::Value(msg)) => Err(err!(ValueError, "{msg}")),
        Err(ReError::Recursion) => Err(err!(RecursionError, "maximum recursion depth exceeded")),
    }
}

/// The subject of a match as code points: borrowed bytes for `bytes` and ASCII `str`, decoded
/// for other text.
enum Subject<'a> {
    Narrow(Cow<'a, [u8]>),
    Wide(Vec<u32>),
}

fn subject<'a>(c: &Compiled, v: &'a Value) -> PyResult<Subject<'a>> {
    match base(v) {
        Value::Str(s) => {
            if !c.is_text {
                raise!(
                    TypeError,
                    "cannot use a bytes pattern on a string-like object"
                );
            }
            Ok(if s.is_ascii() {
                Subject::Narrow(Cow::Borrowed(s.as_str().as_bytes()))
            } else {
                Subject::Wide(s.as_str().chars().map(u32::from).collect())
            })
        }
        other => match crate::object::bytes_like(other) {
            Some(b) => {
                if c.is_text {
                    raise!(
                        TypeError,
                        "cannot use a string pattern on a bytes-like object"
                    );
                }
                Ok(Subject::Narrow(b))
            }
            None => Err(err!(
                TypeError,
                "expected string or bytes-like object, got '{}'",
                type_name(v)
            )),
        },
    }
}

/// `pos`/`endpos` clamped to the text as sre does.
fn bounds(args: &Args<'_>, len: usize) -> PyResult<(usize, usize)> {
    let clamp = |x: i64| -> usize {
        if x < 0 {
            0
        } else {
            (x as u64).min(len as u64) as usize
        }
    };
    let pos = clamp(int_arg(args.pos.get(2), 0)?);
    let end = clamp(int_arg(args.pos.get(3), i64::MAX)?);
    Ok((pos, end))
}

/// A match as the tuple `re.mini` reads: lastindex, then start and end of each group.
fn match_tuple<T: Text + ?Sized>(m: &Matcher<'_, T>) -> Value {
    let mut items = Vec::with_capacity(m.slots.len() + 1);
    items.push(if m.lastindex == 0 {
        Value::None
    } else {
        Value::Int(m.lastindex as i64)
    });
    for &s in &m.slots {
        items.push(Value::Int(if s == NONE { -1 } else { s as i64 }));
    }
    Value::tuple(items)
}

fn compiled<'a>(args: &Args<'a>) -> PyResult<&'a Compiled> {
    Ok(crate::stdlib::this::<Compiled>(args, "Program")?.1)
}

fn interrupted(interp: &mut Interp) -> crate::error::PyErr {
    match interp.check_interrupt() {
        Err(e) => e,
        Ok(()) => err!(KeyboardInterrupt, ""),
    }
}

/// `program.match(string, pos, endpos, mode, must_advance)`: mode 0 `match`, 1 `fullmatch`,
/// 2 `search`.
fn program_match(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let c = compiled(&args)?;
    let string = args.pos.get(1).unwrap_or(&Value::None);
    let mode = match int_arg(args.pos.get(4), 0)? {
        0 => Mode::Match,
        1 => Mode::FullMatch,
        _ => Mode::Search,
    };
    let must_advance = matches!(args.pos.get(5), Some(Value::Bool(true)));
    let subj = subject(c, string)?;
    match &subj {
        Subject::Narrow(b) => run_one(interp, c, &**b, &args, mode, must_advance),
        Subject::Wide(w) => run_one(interp, c, &w[..], &args, mode, must_advance),
    }
}

fn run_one<T: Text + ?Sized>(
    interp: &mut Interp,
    c: &Compiled,
    text: &T,
    args: &Args<'_>,
    mode: Mode,
    must_advance: bool,
) -> PyResult<Value> {
    let (pos, end) = bounds(args, text.len())?;
    let mut m = Matcher::new(&c.prog, text, end);
    let main = interp.is_main;
    let flag = &interp.vm.interrupted;
    let mut stop = || main && flag.load(std::sync::atomic::Ordering::Relaxed);
    match m.search(pos, mode, must_advance, &mut stop) {
        Ok(true) => Ok(match_tuple(&m)),
        Ok(false) => Ok(Value::None),
        Err(Interrupted) => Err(interrupted(interp)),
    }
}

/// `program.scan(string, pos, endpos, limit)`: the successive non-overlapping matches
/// (`limit` of them at most when positive), an empty match never adjacent to the previous
/// match's start, as `findall`, `finditer`, `sub` and `split` take them since Python 3.7.
fn program_scan(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let c = compiled(&args)?;
    let string = args.pos.get(1).unwrap_or(&Value::None);
    let limit = int_arg(args.pos.get(4), 0)?;
    let subj = subject(c, string)?;
    match &subj {
        Subject::Narrow(b) => scan(interp, c, &**b, &args, limit),
        Subject::Wide(w) => scan(interp, c, &w[..], &args, limit),
    }
}

fn scan<T: Text + ?Sized>(
    interp: &mut Interp,
    c: &Compiled,
    text: &T,
    args: &Args<'_>,
    limit: i64,
) -> PyResult<Value> {
    let (mut pos, end) = bounds(args, text.len())?;
    let mut m = Matcher::new(&c.prog, text, end);
    let mut out = Vec::new();
    let mut must_advance = false;
    let main = interp.is_main;
    let flag = &interp.vm.interrupted;
    let mut stop = || main && flag.load(std::sync::atomic::Ordering::Relaxed);
    loop {
        if limit > 0 && out.len() as i64 >= limit {
            break;
        }
        match m.search(pos, Mode::Search, must_advance, &mut stop) {
            Ok(true) => {
                let (s, e) = (m.slots[0], m.slots[1]);
                out.push(match_tuple(&m));
                must_advance = s == e;
                pos = e;
            }
            Ok(false) => break,
            Err(Interrupted) => return Err(interrupted(interp)),
        }
    }
    Ok(Value::list(out))
}
