//! `_re` (stdlib stage): the regular-expression engine behind the `re` library module
//! (`vm/lib/re.mini`), as CPython pairs `re/*.py` with the C module `_sre`. The engine is written
//! by hand: `parse.rs` reads Python's pattern syntax into a tree, `prog.rs` compiles the tree to
//! a small program, `exec.rs` runs it by backtracking with sre's semantics, and `chars.rs` holds
//! the character tests.
//!
//! This file is the module's face: `_re.Pattern` and `_re.Match`, the native bases of
//! `re.Pattern` and `re.Match`, carry what every match needs and what programs call most
//! (`match search fullmatch`, `group groups groupdict start end span`, the attributes; `sub
//! subn findall split` in `subst.rs`), so a match or a substitution in a loop runs no code of
//! the mini language; `re.mini` subclasses them with the rest (`finditer`, parsing templates,
//! reprs, pickling). `compile(pattern_class, match_class,
//! pattern, flags)` returns a pattern or, for a bad pattern, `(message, position)` for
//! `re.mini` to raise `re.error` with. `Pattern._scan(string, pos, endpos, limit, as_matches)`
//! finds the successive matches `findall`, `finditer`, `sub` and `split` use, as `Match`
//! objects or as tuples `(lastindex, start0, end0, start1, end1, ...)` of character
//! positions (-1 for a group that did not match).

pub mod chars;
pub mod exec;
pub mod parse;
pub mod prog;
mod subst;

use std::borrow::Cow;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{builtin_base, type_name, Class, Dict, Instance, Module, PyStr};
use crate::stdlib::sync::property;
use crate::stdlib::{arg, make_module, native_class};
use crate::value::Value;
use crate::{err, raise, PyResult};

use exec::{Interrupted, Matcher, Mode, Text, NONE};
use parse::ReError;
use prog::Program;

/// A compiled pattern: the native data of a `re.Pattern`.
struct Compiled {
    prog: Program,
    /// Whether the pattern is a `str` (else `bytes`).
    is_text: bool,
    /// The pattern as given (`Pattern.pattern`).
    pattern: Value,
    /// The flags after inline flags (`Pattern.flags`).
    flags: i64,
    /// Named groups and their numbers, in the order they appear.
    names: Vec<(String, usize)>,
    /// The class of the matches (`re.Match`, the mini-language subclass of `_re.Match`).
    match_class: Ref<Class>,
    /// The last non-ASCII `str` matched and its code points, so a loop of `p.match(text, pos)`
    /// over one long text decodes it once (CPython indexes a `str` in O(1)).
    wide: Mutex<Option<DecodedText>>,
}

/// A `str` and its code points.
type DecodedText = (Ref<PyStr>, Arc<Vec<u32>>);

/// A successful match: the native data of a `re.Match`.
struct MatchData {
    /// The `re.Pattern` that matched.
    pattern: Value,
    string: Value,
    pos: usize,
    endpos: usize,
    /// The last group closed (0: none).
    lastindex: usize,
    /// Start and end of each group (`NONE` for a group that did not match).
    spans: Vec<usize>,
    /// The code points of a non-ASCII `str` subject, to cut groups from without a scan.
    wide: Option<Arc<Vec<u32>>>,
}

static PATTERN_CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();
static MATCH_CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();

fn pattern_class() -> Ref<Class> {
    PATTERN_CLASS
        .get_or_init(|| {
            let cls = native_class(
                "Pattern",
                "re",
                &[
                    ("match", pattern_match),
                    ("search", pattern_search),
                    ("fullmatch", pattern_fullmatch),
                    ("_scan", pattern_scan),
                    ("sub", subst::pattern_sub),
                    ("subn", subst::pattern_subn),
                    ("findall", subst::pattern_findall),
                    ("split", subst::pattern_split),
                    ("_advance", pattern_advance),
                ],
            );
            {
                let mut dict = cls.dict.write();
                for (name, f) in [
                    ("pattern", pattern_pattern as crate::object::NativeFn),
                    ("flags", pattern_flags),
                    ("groups", pattern_groups),
                    ("groupindex", pattern_groupindex),
                ] {
                    dict.insert(std::sync::Arc::from(name), property((name, f)));
                }
            }
            cls
        })
        .clone()
}

fn match_class() -> Ref<Class> {
    MATCH_CLASS
        .get_or_init(|| {
            let cls = native_class(
                "Match",
                "re",
                &[
                    ("group", match_group),
                    ("__getitem__", match_getitem),
                    ("groups", match_groups),
                    ("groupdict", match_groupdict),
                    ("start", match_start),
                    ("end", match_end),
                    ("span", match_span),
                    ("_spans", match_spans),
                    ("__repr__", match_repr),
                ],
            );
            {
                let mut dict = cls.dict.write();
                for (name, f) in [
                    ("string", match_string as crate::object::NativeFn),
                    ("re", match_re),
                    ("pos", match_pos),
                    ("endpos", match_endpos),
                    ("lastindex", match_lastindex),
                    ("lastgroup", match_lastgroup),
                    ("regs", match_regs),
                ] {
                    dict.insert(std::sync::Arc::from(name), property((name, f)));
                }
            }
            cls
        })
        .clone()
}

/// The `_re` module.
pub fn module() -> Ref<Module> {
    make_module(
        "_re",
        vec![
            ("compile", crate::stdlib::func("compile", re_compile)),
            ("Pattern", Value::Class(pattern_class())),
            ("Match", Value::Class(match_class())),
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
        Some(Value::BigInt(b)) => Ok(if b.sign() == crate::num::bigint::Sign::Minus {
            i64::MIN
        } else {
            i64::MAX
        }),
        Some(other) => Err(err!(
            TypeError,
            "'{}' object cannot be interpreted as an integer",
            type_name(other)
        )),
    }
}

/// An argument CPython converts to a C `ssize_t` (`pos`, `endpos`, `count`, `maxsplit`): an int
/// past 64 bits is an OverflowError there, not a clamp.
fn ssize_arg(v: Option<&Value>, default: i64) -> PyResult<i64> {
    match v.map(base) {
        Some(Value::BigInt(_)) => Err(crate::builtins::args::ssize_overflow()),
        _ => int_arg(v, default),
    }
}

fn class_arg(v: Option<&Value>) -> PyResult<Ref<Class>> {
    match v {
        Some(Value::Class(c)) => Ok(c.clone()),
        _ => Err(err!(
            TypeError,
            "_re.compile() needs the Pattern and Match classes"
        )),
    }
}

/// `_re.compile(pattern_class, match_class, pattern, flags)`.
fn re_compile(_interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let pattern_cls = class_arg(args.pos.first())?;
    let match_cls = class_arg(args.pos.get(1))?;
    let given = args.pos.get(2).unwrap_or(&Value::None);
    let pattern = base(given);
    let flags = int_arg(args.pos.get(3), 0)?;
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
    let uflags = u32::try_from(flags & 0xffff_ffff).unwrap_or(0);
    if !is_text && uflags & parse::FLAG_LOCALE != 0 {
        raise!(
            ValueError,
            "minivm's re does not support the LOCALE flag (re.L)"
        );
    }
    if uflags & parse::FLAG_DEBUG != 0 {
        // CPython prints sre's parse tree and code: refuse rather than print something else.
        raise!(
            ValueError,
            "minivm's re does not support the DEBUG flag (re.DEBUG)"
        );
    }
    let result = parse::parse(&code, is_text, uflags).and_then(|parsed| {
        let prog = prog::compile(parsed.node, parsed.groups)?;
        Ok((prog, parsed.names, parsed.flags))
    });
    match result {
        Ok((prog, names, final_flags)) => {
            let inst = Instance::new(pattern_cls);
            inst.set_native(Box::new(Compiled {
                prog,
                is_text,
                pattern: given.clone(),
                flags: i64::from(final_flags) | (flags & !0xffff_ffff),
                names,
                match_class: match_cls,
                wide: Mutex::new(None),
            }));
            Ok(Value::Instance(Ref::new(inst)))
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
    Wide(Arc<Vec<u32>>),
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
            if s.is_ascii() {
                return Ok(Subject::Narrow(Cow::Borrowed(s.as_str().as_bytes())));
            }
            let mut cache = c.wide.lock();
            if let Some((text, points)) = &*cache {
                if Ref::ptr_eq(text, s) {
                    return Ok(Subject::Wide(points.clone()));
                }
            }
            let points = Arc::new(s.as_str().chars().map(u32::from).collect::<Vec<u32>>());
            *cache = Some((s.clone(), points.clone()));
            Ok(Subject::Wide(points))
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
fn bounds(pos: Option<&Value>, endpos: Option<&Value>, len: usize) -> PyResult<(usize, usize)> {
    let clamp = |x: i64| -> usize {
        if x < 0 {
            0
        } else {
            (x as u64).min(len as u64) as usize
        }
    };
    Ok((
        clamp(ssize_arg(pos, 0)?),
        clamp(ssize_arg(endpos, i64::MAX)?),
    ))
}

fn compiled<'a>(args: &Args<'a>) -> PyResult<(&'a Value, &'a Compiled)> {
    let (_, c) = crate::stdlib::this::<Compiled>(args, "re.Pattern")?;
    Ok((&args.pos[0], c))
}

fn interrupted(interp: &mut Interp) -> crate::error::PyErr {
    match interp.check_interrupt() {
        Err(e) => e,
        Ok(()) => {
            crate::error::PyErr::with_args(crate::object::ExcKind::KeyboardInterrupt, Vec::new())
        }
    }
}

/// Work done with a matcher: given it, the clamped `pos` and `endpos`, and the Ctrl-C check.
type MatcherJob<'a, R> = dyn FnMut(&mut dyn Search, usize, usize, &mut dyn FnMut() -> bool) -> Result<R, Interrupted>
    + 'a;

/// Run `f` with a matcher over `string` between the clamped `pos` and `endpos`, and a check
/// for Ctrl-C (main thread only, as CPython's signal handlers run there).
fn with_matcher<R>(
    interp: &mut Interp,
    c: &Compiled,
    string: &Value,
    pos: Option<&Value>,
    endpos: Option<&Value>,
    f: &mut MatcherJob<R>,
) -> PyResult<R> {
    let subj = subject(c, string)?;
    let main = interp.is_main;
    let result = {
        let flag = &interp.vm.interrupted;
        let mut stop = || main && flag.load(std::sync::atomic::Ordering::Relaxed);
        match &subj {
            Subject::Narrow(b) => {
                let (p, e) = bounds(pos, endpos, b.len())?;
                let mut m = Matcher::new(&c.prog, &**b, e);
                f(&mut m, p, e, &mut stop)
            }
            Subject::Wide(w) => {
                let (p, e) = bounds(pos, endpos, w.len())?;
                let mut m = Matcher::new(&c.prog, &w[..], e);
                f(&mut m, p, e, &mut stop)
            }
        }
    };
    result.map_err(|Interrupted| interrupted(interp))
}

/// A matcher over any kind of text, as an object.
trait Search {
    fn find(
        &mut self,
        start: usize,
        mode: Mode,
        must_advance: bool,
        stop: &mut dyn FnMut() -> bool,
    ) -> Result<bool, Interrupted>;
    fn slots(&self) -> &[usize];
    fn lastindex(&self) -> usize;
}

impl<T: Text + ?Sized> Search for Matcher<'_, T> {
    fn find(
        &mut self,
        start: usize,
        mode: Mode,
        must_advance: bool,
        stop: &mut dyn FnMut() -> bool,
    ) -> Result<bool, Interrupted> {
        self.search(start, mode, must_advance, stop)
    }
    fn slots(&self) -> &[usize] {
        &self.slots
    }
    fn lastindex(&self) -> usize {
        self.lastindex
    }
}

fn new_match(
    c: &Compiled,
    pattern: &Value,
    string: &Value,
    pos: usize,
    endpos: usize,
    m: &dyn Search,
) -> Value {
    let wide = match base(string) {
        Value::Str(s) if !s.is_ascii() => c
            .wide
            .lock()
            .as_ref()
            .filter(|(text, _)| Ref::ptr_eq(text, s))
            .map(|(_, points)| points.clone()),
        _ => None,
    };
    let inst = Instance::new(c.match_class.clone());
    inst.set_native(Box::new(MatchData {
        wide,
        pattern: pattern.clone(),
        string: string.clone(),
        pos,
        endpos,
        lastindex: m.lastindex(),
        spans: m.slots().to_vec(),
    }));
    Value::Instance(Ref::new(inst))
}

/// `Pattern.match/search/fullmatch(string, pos=0, endpos=sys.maxsize)`.
fn match_mode(interp: &mut Interp, args: Args<'_>, mode: Mode, name: &str) -> PyResult<Value> {
    let (pattern, c) = compiled(&args)?;
    let Some(string) = arg(&args, 1, "string") else {
        raise!(
            TypeError,
            "{name}() missing required argument 'string' (pos 1)"
        );
    };
    if args.pos.len() > 4 {
        raise!(
            TypeError,
            "{name}() takes at most 3 arguments ({} given)",
            args.pos.len() - 1
        );
    }
    let pos = arg(&args, 2, "pos");
    let endpos = arg(&args, 3, "endpos");
    with_matcher(interp, c, string, pos, endpos, &mut |m, p, e, stop| {
        Ok(if m.find(p, mode, false, stop)? {
            new_match(c, pattern, string, p, e, m)
        } else {
            Value::None
        })
    })
}

fn pattern_match(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    match_mode(interp, args, Mode::Match, "match")
}

fn pattern_search(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    match_mode(interp, args, Mode::Search, "search")
}

fn pattern_fullmatch(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    match_mode(interp, args, Mode::FullMatch, "fullmatch")
}

/// `Pattern._advance(string, pos, endpos, mode, must_advance)`: one step of a
/// `Pattern.scanner` (mode 0 `match`, else `search`).
fn pattern_advance(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (pattern, c) = compiled(&args)?;
    let string = args.pos.get(1).unwrap_or(&Value::None);
    let mode = if int_arg(args.pos.get(4), 0)? == 0 {
        Mode::Match
    } else {
        Mode::Search
    };
    let must_advance = matches!(args.pos.get(5), Some(Value::Bool(true)));
    with_matcher(
        interp,
        c,
        string,
        args.pos.get(2),
        args.pos.get(3),
        &mut |m, p, e, stop| {
            Ok(if m.find(p, mode, must_advance, stop)? {
                new_match(c, pattern, string, p, e, m)
            } else {
                Value::None
            })
        },
    )
}

/// A match as the tuple `re.mini` reads: lastindex, then start and end of each group.
fn match_tuple(lastindex: usize, slots: &[usize]) -> Value {
    let mut items = Vec::with_capacity(slots.len() + 1);
    items.push(if lastindex == 0 {
        Value::None
    } else {
        Value::Int(lastindex as i64)
    });
    for &s in slots {
        items.push(Value::Int(if s == NONE { -1 } else { s as i64 }));
    }
    Value::tuple(items)
}

/// `Pattern._scan(string, pos, endpos, limit, as_matches)`: the successive non-overlapping
/// matches (`limit` of them at most when positive), an empty match never adjacent to the
/// previous match's start, as `findall`, `finditer`, `sub` and `split` take them since 3.7.
fn pattern_scan(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (pattern, c) = compiled(&args)?;
    let string = args.pos.get(1).unwrap_or(&Value::None);
    let limit = int_arg(args.pos.get(4), 0)?;
    let as_matches = matches!(args.pos.get(5), Some(Value::Bool(true)));
    let out = with_matcher(
        interp,
        c,
        string,
        args.pos.get(2),
        args.pos.get(3),
        &mut |m, p, e, stop| {
            let mut out = Vec::new();
            let mut pos = p;
            let mut must_advance = false;
            while limit <= 0 || (out.len() as i64) < limit {
                if !m.find(pos, Mode::Search, must_advance, stop)? {
                    break;
                }
                let (s, end) = (m.slots()[0], m.slots()[1]);
                out.push(if as_matches {
                    new_match(c, pattern, string, p, e, m)
                } else {
                    match_tuple(m.lastindex(), m.slots())
                });
                must_advance = s == end;
                pos = end;
            }
            Ok(out)
        },
    )?;
    Ok(Value::list(out))
}

fn pattern_pattern(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(compiled(&args)?.1.pattern.clone())
}

fn pattern_flags(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::Int(compiled(&args)?.1.flags))
}

fn pattern_groups(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::Int(compiled(&args)?.1.prog.groups as i64 - 1))
}

fn pattern_groupindex(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let c = compiled(&args)?.1;
    let index = Dict::new();
    for (name, g) in &c.names {
        index.set_str(name, Value::Int(*g as i64));
    }
    Ok(Value::Dict(Ref::new(index)))
}

// --- Match ---------------------------------------------------------------------------------

fn match_data<'a>(args: &Args<'a>) -> PyResult<&'a MatchData> {
    Ok(crate::stdlib::this::<MatchData>(args, "re.Match")?.1)
}

/// The compiled pattern of a match.
fn match_compiled(m: &MatchData) -> Option<&Compiled> {
    match &m.pattern {
        Value::Instance(inst) => inst.native::<Compiled>(),
        _ => None,
    }
}

/// `string[s:e]` in characters (bytes for a bytes-like subject, as sre gives).
fn slice(string: &Value, s: usize, e: usize) -> Value {
    match base(string) {
        Value::Str(ps) => Value::str(ps.char_slice(s, e)),
        other => {
            let b = crate::object::bytes_like(other).unwrap_or_default();
            let n = b.len();
            Value::bytes(b[s.min(n)..e.min(n).max(s.min(n))].to_vec())
        }
    }
}

/// The group number `g` names (an int or a group name), or CPython's IndexError.
fn group_index(m: &MatchData, g: &Value) -> PyResult<usize> {
    let groups = m.spans.len() / 2;
    match base(g) {
        Value::Int(i) if *i >= 0 && (*i as u64) < groups as u64 => return Ok(*i as usize),
        Value::Bool(b) => return Ok(usize::from(*b)),
        Value::Str(name) => {
            if let Some(c) = match_compiled(m) {
                if let Some((_, i)) = c.names.iter().find(|(n, _)| n == name.as_str()) {
                    return Ok(*i);
                }
            }
        }
        _ => {}
    }
    Err(err!(IndexError, "no such group"))
}

fn group_value(m: &MatchData, g: usize, default: &Value) -> Value {
    let (s, e) = (m.spans[2 * g], m.spans[2 * g + 1]);
    if s == NONE || e == NONE {
        return default.clone();
    }
    match &m.wide {
        Some(points) if e <= points.len() && s <= e => Value::string(
            points[s..e]
                .iter()
                .map(|&c| char::from_u32(c).unwrap_or('\u{fffd}'))
                .collect(),
        ),
        _ => slice(&m.string, s, e),
    }
}

fn match_group(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let m = match_data(&args)?;
    match &args.pos[1..] {
        [] => Ok(group_value(m, 0, &Value::None)),
        [g] => Ok(group_value(m, group_index(m, g)?, &Value::None)),
        many => {
            let mut items = Vec::with_capacity(many.len());
            for g in many {
                items.push(group_value(m, group_index(m, g)?, &Value::None));
            }
            Ok(Value::tuple(items))
        }
    }
}

fn match_getitem(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let m = match_data(&args)?;
    let g = args.pos.get(1).unwrap_or(&Value::None);
    Ok(group_value(m, group_index(m, g)?, &Value::None))
}

fn match_groups(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let m = match_data(&args)?;
    let default = arg(&args, 1, "default").unwrap_or(&Value::None);
    let items = (1..m.spans.len() / 2)
        .map(|g| group_value(m, g, default))
        .collect();
    Ok(Value::tuple(items))
}

fn match_groupdict(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let m = match_data(&args)?;
    let default = arg(&args, 1, "default").unwrap_or(&Value::None);
    let d = Dict::new();
    if let Some(c) = match_compiled(m) {
        for (name, g) in &c.names {
            d.set_str(name, group_value(m, *g, default));
        }
    }
    Ok(Value::Dict(Ref::new(d)))
}

fn span_of(m: &MatchData, args: &Args<'_>) -> PyResult<(i64, i64)> {
    let g = match args.pos.get(1) {
        Some(g) => group_index(m, g)?,
        None => 0,
    };
    let pos = |x: usize| if x == NONE { -1 } else { x as i64 };
    Ok((pos(m.spans[2 * g]), pos(m.spans[2 * g + 1])))
}

fn match_start(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::Int(span_of(match_data(&args)?, &args)?.0))
}

fn match_end(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::Int(span_of(match_data(&args)?, &args)?.1))
}

fn match_span(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (s, e) = span_of(match_data(&args)?, &args)?;
    Ok(Value::tuple(vec![Value::Int(s), Value::Int(e)]))
}

/// `m._spans()`: the tuple form of the match, for templates expanded in `re.mini`.
fn match_spans(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let m = match_data(&args)?;
    Ok(match_tuple(m.lastindex, &m.spans))
}

fn match_repr(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let m = match_data(&args)?;
    let text = interp.repr(&group_value(m, 0, &Value::None))?;
    let text: String = text.chars().take(50).collect();
    Ok(Value::string(format!(
        "<re.Match object; span=({}, {}), match={}>",
        m.spans[0], m.spans[1], text
    )))
}

fn match_string(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(match_data(&args)?.string.clone())
}

fn match_re(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(match_data(&args)?.pattern.clone())
}

fn match_pos(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::Int(match_data(&args)?.pos as i64))
}

fn match_endpos(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::Int(match_data(&args)?.endpos as i64))
}

fn match_lastindex(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let m = match_data(&args)?;
    Ok(if m.lastindex == 0 {
        Value::None
    } else {
        Value::Int(m.lastindex as i64)
    })
}

fn match_lastgroup(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let m = match_data(&args)?;
    if m.lastindex == 0 {
        return Ok(Value::None);
    }
    Ok(match_compiled(m)
        .and_then(|c| c.names.iter().find(|(_, g)| *g == m.lastindex))
        .map_or(Value::None, |(n, _)| Value::str(n)))
}

fn match_regs(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let m = match_data(&args)?;
    let pos = |x: usize| Value::Int(if x == NONE { -1 } else { x as i64 });
    let items = m
        .spans
        .chunks(2)
        .map(|p| Value::tuple(vec![pos(p[0]), pos(p[1])]))
        .collect();
    Ok(Value::tuple(items))
}
