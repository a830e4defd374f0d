//! `Pattern.sub`, `subn`, `findall` and `split` of `_re` (stdlib stage): the loops over the
//! successive matches of a pattern, run natively so that a call costs what sre's does. Only
//! the parsing of a replacement template with backslashes stays in `re.mini`
//! (`Pattern._template`, cached there); its pieces -- literal text and group numbers -- are
//! expanded here for each match.
//!
//! The results are CPython's in every case: an empty match is never adjacent to the previous
//! match (3.7+), `count`/`maxsplit` limit the matches (a negative one means none), a group that
//! did not take part gives `''` in `findall` and `None` in `split`, and a replacement of the
//! wrong type fails as sre's final join does (`sequence item 1: expected str instance, bytes
//! found`, counting the pieces of the result as sre builds them).

use std::borrow::Cow;

use super::{base, compiled, new_match, ssize_arg, with_matcher, Compiled, Mode, NONE};
use crate::interp::{Args, Interp};
use crate::object::type_name;
use crate::value::Value;
use crate::{err, raise, PyResult};

/// The arguments after `self`, by position or keyword, with CPython's messages; `required` of
/// them must be given.
fn params<'a>(
    args: &Args<'a>,
    fname: &str,
    names: &[&str],
    required: usize,
) -> PyResult<Vec<Option<&'a Value>>> {
    let pos = args.pos.get(1..).unwrap_or(&[]);
    if pos.len() > names.len() {
        raise!(
            TypeError,
            "{fname}() takes at most {} arguments ({} given)",
            names.len(),
            pos.len() + args.kw.len()
        );
    }
    let mut out: Vec<Option<&'a Value>> = names.iter().map(|_| None).collect();
    for (slot, v) in out.iter_mut().zip(pos) {
        *slot = Some(v);
    }
    for (k, v) in args.kw {
        let Some(i) = names.iter().position(|n| **n == **k) else {
            raise!(
                TypeError,
                "'{k}' is an invalid keyword argument for {fname}()"
            );
        };
        if out[i].is_some() {
            raise!(
                TypeError,
                "argument for {fname}() given by name ('{k}') and position ({})",
                i + 1
            );
        }
        out[i] = Some(v);
    }
    if let Some(i) = out.iter().take(required).position(Option::is_none) {
        raise!(
            TypeError,
            "{fname}() missing required argument '{}' (pos {})",
            names[i],
            i + 1
        );
    }
    Ok(out)
}

/// A `pos`/`endpos` argument given explicitly: an int (None is refused, as CPython's).
fn index_param(v: Option<&Value>) -> PyResult<Option<&Value>> {
    match v {
        Some(Value::None) => Err(err!(
            TypeError,
            "'NoneType' object cannot be interpreted as an integer"
        )),
        other => Ok(other),
    }
}

/// A `count`/`maxsplit` argument: an int that fits in a C `ssize_t`, as CPython's.
fn count_param(v: Option<&Value>) -> PyResult<i64> {
    ssize_arg(v, 0)
}

/// The successive matches of a scan: for each, the start and end of every group (`NONE` for a
/// group that did not take part), `stride` slots per match.
struct Scan {
    slots: Vec<usize>,
    stride: usize,
    /// The matches as `re.Match` objects, when asked for (a replacement function takes them).
    matches: Vec<Value>,
}

impl Scan {
    fn len(&self) -> usize {
        self.slots.len().checked_div(self.stride).unwrap_or(0)
    }

    /// The slots of the i-th match.
    fn at(&self, i: usize) -> &[usize] {
        &self.slots[i * self.stride..(i + 1) * self.stride]
    }
}

/// The non-overlapping matches of `c` in `string` between `pos` and `endpos`, at most `limit`
/// of them when it is positive (as `Pattern._scan`).
#[allow(clippy::too_many_arguments)]
fn scan(
    interp: &mut Interp,
    c: &Compiled,
    pattern: &Value,
    string: &Value,
    pos: Option<&Value>,
    endpos: Option<&Value>,
    limit: i64,
    as_matches: bool,
) -> PyResult<Scan> {
    let stride = c.prog.groups * 2;
    with_matcher(interp, c, string, pos, endpos, &mut |m, p, e, stop| {
        let mut found = Scan {
            slots: Vec::new(),
            stride,
            matches: Vec::new(),
        };
        let mut at = p;
        let mut must_advance = false;
        while limit <= 0 || (found.len() as i64) < limit {
            if !m.find(at, Mode::Search, must_advance, stop)? {
                break;
            }
            let slots = m.slots();
            let (s, end) = (slots[0], slots[1]);
            found.slots.extend_from_slice(&slots[..stride]);
            if as_matches {
                found.matches.push(new_match(c, pattern, string, p, e, m));
            }
            must_advance = s == end;
            at = end;
        }
        Ok(found)
    })
}

/// The subject's text, to cut pieces from by the character (or byte) positions of a scan.
enum Source<'a> {
    /// A `str`; for a non-ASCII one, the byte offset of each character (and of the end).
    Text(&'a str, Option<Vec<usize>>),
    /// A bytes-like object (a `bytearray` gives `bytes` pieces, as sre's).
    Bytes(Cow<'a, [u8]>),
}

impl<'a> Source<'a> {
    fn new(string: &'a Value) -> PyResult<Source<'a>> {
        match base(string) {
            Value::Str(s) => {
                let text = s.as_str();
                let offsets = (!text.is_ascii()).then(|| {
                    let mut v: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
                    v.push(text.len());
                    v
                });
                Ok(Source::Text(text, offsets))
            }
            other => match crate::object::bytes_like(other) {
                Some(b) => Ok(Source::Bytes(b)),
                None => Err(err!(
                    TypeError,
                    "expected string or bytes-like object, got '{}'",
                    type_name(string)
                )),
            },
        }
    }

    fn is_text(&self) -> bool {
        matches!(self, Source::Text(..))
    }

    /// The length in the positions a scan gives.
    fn len(&self) -> usize {
        match self {
            Source::Text(t, None) => t.len(),
            Source::Text(_, Some(offsets)) => offsets.len() - 1,
            Source::Bytes(b) => b.len(),
        }
    }

    fn text(&self, s: usize, e: usize) -> &str {
        match self {
            Source::Text(t, None) => t.get(s..e).unwrap_or(""),
            Source::Text(t, Some(o)) => match (o.get(s), o.get(e)) {
                (Some(&bs), Some(&be)) => t.get(bs..be).unwrap_or(""),
                _ => "",
            },
            Source::Bytes(_) => "",
        }
    }

    fn bytes(&self, s: usize, e: usize) -> &[u8] {
        match self {
            Source::Bytes(b) => b.get(s..e).unwrap_or(&[]),
            Source::Text(..) => &[],
        }
    }

    /// `string[s:e]` as a new value (`None` for a group that did not take part, when `none`).
    fn piece(&self, s: usize, e: usize, none: bool) -> Value {
        if s == NONE && none {
            return Value::None;
        }
        let (s, e) = if s == NONE { (0, 0) } else { (s, e) };
        match self {
            Source::Text(..) => Value::str(self.text(s, e)),
            Source::Bytes(_) => Value::bytes(self.bytes(s, e).to_vec()),
        }
    }

    /// The whole subject as a new value of its base type (`string[:]`; `bytes` for a bytearray).
    fn whole(&self, string: &Value) -> Value {
        match (self, string) {
            (Source::Text(..), Value::Str(_)) | (Source::Bytes(_), Value::Bytes(_)) => {
                string.clone()
            }
            _ => self.piece(0, self.len(), false),
        }
    }
}

/// The result of a substitution as sre builds it: pieces joined, each checked as `join` does.
enum Out {
    Text(String),
    Bytes(Vec<u8>),
}

struct Builder {
    out: Out,
    /// The pieces so far (an error names the piece that has the wrong type).
    pieces: usize,
}

impl Builder {
    fn new(text: bool) -> Builder {
        Builder {
            out: if text {
                Out::Text(String::new())
            } else {
                Out::Bytes(Vec::new())
            },
            pieces: 0,
        }
    }

    /// A piece of the subject (never empty: sre leaves empty ones out).
    fn subject(&mut self, src: &Source, s: usize, e: usize) {
        if s >= e {
            return;
        }
        self.pieces += 1;
        match &mut self.out {
            Out::Text(t) => t.push_str(src.text(s, e)),
            Out::Bytes(b) => b.extend_from_slice(src.bytes(s, e)),
        }
    }

    /// A replacement value, of the subject's type (str, or any bytes-like object).
    fn value(&mut self, v: &Value) -> PyResult<()> {
        let n = self.pieces;
        self.pieces += 1;
        match &mut self.out {
            Out::Text(t) => match base(v) {
                Value::Str(s) => t.push_str(s.as_str()),
                _ => raise!(
                    TypeError,
                    "sequence item {n}: expected str instance, {} found",
                    type_name(v)
                ),
            },
            Out::Bytes(b) => match crate::object::bytes_like(base(v)) {
                Some(data) => b.extend_from_slice(&data),
                None => raise!(
                    TypeError,
                    "sequence item {n}: expected a bytes-like object, {} found",
                    type_name(v)
                ),
            },
        }
        Ok(())
    }

    /// A template expanded for one match: one piece, whatever its parts.
    fn template(&mut self, src: &Source, parts: &[Part], slots: &[usize]) -> PyResult<()> {
        let n = self.pieces;
        self.pieces += 1;
        for part in parts {
            match part {
                Part::Group(g) => {
                    let (s, e) = match (slots.get(2 * g), slots.get(2 * g + 1)) {
                        (Some(&s), Some(&e)) if s != NONE => (s, e),
                        _ => continue,
                    };
                    match &mut self.out {
                        Out::Text(t) => t.push_str(src.text(s, e)),
                        Out::Bytes(b) => b.extend_from_slice(src.bytes(s, e)),
                    }
                }
                Part::Literal(v) => {
                    // A literal of the other type fails the template's own join first.
                    let bad = match (&mut self.out, base(v)) {
                        (Out::Text(t), Value::Str(s)) => {
                            t.push_str(s.as_str());
                            false
                        }
                        (Out::Bytes(b), other) => match crate::object::bytes_like(other) {
                            Some(data) => {
                                b.extend_from_slice(&data);
                                false
                            }
                            None => true,
                        },
                        _ => true,
                    };
                    if bad {
                        let what = if src.is_text() {
                            "str instance"
                        } else {
                            "a bytes-like object"
                        };
                        raise!(
                            TypeError,
                            "sequence item {n}: expected {what}, {} found",
                            type_name(v)
                        );
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Value {
        match self.out {
            Out::Text(t) => Value::string(t),
            Out::Bytes(b) => Value::bytes(b),
        }
    }
}

/// A piece of a parsed replacement template.
enum Part {
    Literal(Value),
    Group(usize),
}

/// What replaces each match.
enum Repl {
    /// A function of the `Match`.
    Func(Value),
    /// Text without group references.
    Literal(Value),
    Template(Vec<Part>),
}

/// Work out the replacement: a callable, text without a backslash as it is, else the template
/// parsed by `re.mini` (`Pattern._template(repl)`: `(literal, None)` or `(None, pieces)`).
fn replacement(interp: &mut Interp, pattern: &Value, repl: &Value) -> PyResult<Repl> {
    match base(repl) {
        Value::Str(s) if !s.as_str().contains('\\') => return Ok(Repl::Literal(repl.clone())),
        Value::Bytes(b) if !b.as_bytes().contains(&b'\\') => {
            return Ok(Repl::Literal(repl.clone()))
        }
        Value::ByteArray(b) if !b.snapshot().contains(&b'\\') => {
            return Ok(Repl::Literal(repl.clone()))
        }
        Value::Str(_) | Value::Bytes(_) | Value::ByteArray(_) => {}
        _ if crate::builtins::functions::is_callable(interp, repl) => {
            return Ok(Repl::Func(repl.clone()))
        }
        _ => {}
    }
    let parse = interp.getattr(pattern, "_template")?;
    let parsed = interp.call(&parse, std::slice::from_ref(repl))?;
    let Value::Tuple(t) = &parsed else {
        raise!(SystemError, "Pattern._template() returned a non-tuple");
    };
    match &t.items[..] {
        [literal, Value::None] => Ok(Repl::Literal(literal.clone())),
        [_, Value::List(pieces)] => {
            let parts = pieces
                .snapshot()
                .into_iter()
                .map(|p| match p {
                    Value::Int(g) => Part::Group(usize::try_from(g).unwrap_or(usize::MAX)),
                    other => Part::Literal(other),
                })
                .collect();
            Ok(Repl::Template(parts))
        }
        _ => Err(err!(
            SystemError,
            "Pattern._template() returned an unexpected value"
        )),
    }
}

/// `sub`/`subn`: the new string and the number of replacements.
fn subx(interp: &mut Interp, args: Args<'_>, fname: &str) -> PyResult<(Value, usize)> {
    let (pattern, c) = compiled(&args)?;
    let p = params(&args, fname, &["repl", "string", "count"], 2)?;
    let (Some(repl), Some(string)) = (p[0], p[1]) else {
        raise!(TypeError, "{fname}() missing required arguments");
    };
    let count = count_param(p[2])?;
    let repl = replacement(interp, pattern, repl)?;
    let src = Source::new(string)?;
    if count < 0 {
        return Ok((src.whole(string), 0));
    }
    let funcs = matches!(repl, Repl::Func(_));
    let found = scan(interp, c, pattern, string, None, None, count, funcs)?;
    let n = found.len();
    if n == 0 {
        return Ok((src.whole(string), 0));
    }
    let mut out = Builder::new(src.is_text());
    let mut last = 0;
    for i in 0..n {
        let slots = found.at(i);
        let (start, end) = (slots[0], slots[1]);
        out.subject(&src, last, start);
        match &repl {
            Repl::Func(f) => {
                let m = found.matches[i].clone();
                let item = interp.call(f, &[m])?;
                if !item.is_none() {
                    out.value(&item)?;
                }
            }
            Repl::Literal(v) => out.value(v)?,
            Repl::Template(parts) => out.template(&src, parts, slots)?,
        }
        last = end;
    }
    out.subject(&src, last, src.len());
    Ok((out.finish(), n))
}

/// `Pattern.sub(repl, string, count=0)`
pub(super) fn pattern_sub(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(subx(interp, args, "sub")?.0)
}

/// `Pattern.subn(repl, string, count=0)`
pub(super) fn pattern_subn(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (s, n) = subx(interp, args, "subn")?;
    Ok(Value::tuple(vec![s, Value::Int(n as i64)]))
}

/// `Pattern.findall(string, pos=0, endpos=sys.maxsize)`: the matched texts if the pattern has
/// no group, the group's if it has one, else tuples of the groups' (`''` for a group that did
/// not take part).
pub(super) fn pattern_findall(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (pattern, c) = compiled(&args)?;
    let p = params(&args, "findall", &["string", "pos", "endpos"], 1)?;
    let Some(string) = p[0] else {
        raise!(
            TypeError,
            "findall() missing required argument 'string' (pos 1)"
        );
    };
    let (pos, endpos) = (index_param(p[1])?, index_param(p[2])?);
    let src = Source::new(string)?;
    let found = scan(interp, c, pattern, string, pos, endpos, 0, false)?;
    let groups = c.prog.groups - 1;
    let out = (0..found.len())
        .map(|i| {
            let slots = found.at(i);
            match groups {
                0 => src.piece(slots[0], slots[1], false),
                1 => src.piece(slots[2], slots[3], false),
                _ => Value::tuple(
                    (1..=groups)
                        .map(|g| src.piece(slots[2 * g], slots[2 * g + 1], false))
                        .collect(),
                ),
            }
        })
        .collect();
    Ok(Value::list(out))
}

/// `Pattern.split(string, maxsplit=0)`: the pieces between the matches, each followed by the
/// texts of the groups (`None` for a group that did not take part).
pub(super) fn pattern_split(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (pattern, c) = compiled(&args)?;
    let p = params(&args, "split", &["string", "maxsplit"], 1)?;
    let Some(string) = p[0] else {
        raise!(
            TypeError,
            "split() missing required argument 'string' (pos 1)"
        );
    };
    let maxsplit = count_param(p[1])?;
    let src = Source::new(string)?;
    if maxsplit < 0 {
        return Ok(Value::list(vec![src.whole(string)]));
    }
    let found = scan(interp, c, pattern, string, None, None, maxsplit, false)?;
    let groups = c.prog.groups - 1;
    let mut out = Vec::with_capacity(found.len() * (groups + 1) + 1);
    let mut last = 0;
    for i in 0..found.len() {
        let slots = found.at(i);
        out.push(src.piece(last, slots[0], false));
        for g in 1..=groups {
            out.push(src.piece(slots[2 * g], slots[2 * g + 1], true));
        }
        last = slots[1];
    }
    out.push(src.piece(last, src.len(), false));
    Ok(Value::list(out))
}
