//! `_json` (stdlib stage): the fast paths of `json` in Rust, as CPython's C module `_json` is
//! for its `json` package. `vm/lib/json/__init__.mini` keeps the whole encoder and decoder in the mini
//! language (hooks, `default=`, subclasses, every error message); this module only speeds up
//! the common case and says "not mine" (`None`) for everything else, so the answer is always
//! the mini code's:
//!
//! - `encode_basestring(s)`, `encode_basestring_ascii(s)`: a str as a JSON string literal.
//! - `encode(o, ensure_ascii, allow_nan, sort_keys, skipkeys, item_sep, key_sep, indent)`: the
//!   whole document for values made only of `None`, `bool`, `int` (64-bit), `float`, `str`,
//!   `list`, `tuple` and `dict` (exact types); `None` when it meets anything else (an instance
//!   for `default`, a big int, a key to refuse, a cycle, NaN with `allow_nan=False`), and the
//!   mini encoder then starts over. Nothing Python-visible has happened by then: no Python code
//!   runs here.
//! - `decode(s)`: `(value,)` for a well-formed document of the default decoder, `None` for any
//!   error or anything unusual (so the mini decoder reports CPython's message and position).
//!
//! Containers are read through snapshots (CPython's C encoder copies a dict's items too), so a
//! list changed by another thread under `--gil off` is never read while it moves.

use crate::builtins::Methods;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{Dict, Module};
use crate::value::Value;
use crate::PyResult;

const FUNCS: Methods = &[
    ("encode_basestring", encode_basestring),
    ("encode_basestring_ascii", encode_basestring_ascii),
    ("encode", encode),
    ("decode", decode),
];

/// Nesting deeper than this is left to the mini code (which raises `RecursionError` where
/// CPython does): the Rust stack stays bounded whatever the input.
const MAX_DEPTH: usize = 200;

pub fn module() -> Ref<Module> {
    super::module_from_fns("_json", FUNCS, vec![])
}

fn str_arg<'a>(args: &'a Args<'_>, i: usize) -> Option<&'a str> {
    match args.pos.get(i) {
        Some(Value::Str(s)) => Some(s.as_str()),
        _ => None,
    }
}

/// The text of a str or of an instance of a str subclass (the string encoders take both).
fn text_arg<'a>(args: &'a Args<'_>, i: usize) -> Option<&'a str> {
    match args.pos.get(i)? {
        Value::Str(s) => Some(s.as_str()),
        v @ Value::Instance(_) => match crate::object::builtin_base(v) {
            Some(Value::Str(s)) => Some(s.as_str()),
            _ => None,
        },
        _ => None,
    }
}

fn flag(args: &Args<'_>, i: usize) -> bool {
    matches!(args.pos.get(i), Some(Value::Bool(true)))
}

fn encode_basestring(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    string_literal(&args, false)
}

fn encode_basestring_ascii(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    string_literal(&args, true)
}

/// The first argument (a str) as a JSON string literal, ASCII-only if `ascii`.
fn string_literal(args: &Args<'_>, ascii: bool) -> PyResult<Value> {
    let s = text_arg(args, 0).ok_or_else(|| type_error(args))?;
    let mut out = String::with_capacity(s.len() + 2);
    push_string(&mut out, s, ascii);
    Ok(Value::string(out))
}

/// CPython's message for a non-str argument of the string encoders.
fn type_error(args: &Args<'_>) -> crate::PyErr {
    let name = args
        .pos
        .first()
        .map_or_else(|| "NoneType".to_string(), crate::object::type_name);
    crate::err!(TypeError, "first argument must be a string, not {}", name)
}

/// `s` as a JSON string literal: quotes, the two-character escapes, `\u00XX` for other control
/// characters and, with `ascii`, `\uXXXX` (a surrogate pair above U+FFFF) for non-ASCII.
fn push_string(out: &mut String, s: &str, ascii: bool) {
    out.push('"');
    let mut plain_from = 0;
    for (i, c) in s.char_indices() {
        let keep = match c {
            '"' | '\\' => false,
            ' '..='~' => true,
            c if (c as u32) < 0x20 => false,
            _ => !ascii,
        };
        if keep {
            continue;
        }
        out.push_str(&s[plain_from..i]);
        plain_from = i + c.len_utf8();
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c => {
                let n = c as u32;
                if n < 0x10000 {
                    push_u(out, n);
                } else {
                    let n = n - 0x10000;
                    push_u(out, 0xd800 | ((n >> 10) & 0x3ff));
                    push_u(out, 0xdc00 | (n & 0x3ff));
                }
            }
        }
    }
    out.push_str(&s[plain_from..]);
    out.push('"');
}

fn push_u(out: &mut String, n: u32) {
    use std::fmt::Write;
    let _ = write!(out, "\\u{n:04x}");
}

/// The options of one `encode` call.
struct Encoder<'a> {
    ascii: bool,
    allow_nan: bool,
    sort_keys: bool,
    skipkeys: bool,
    item_sep: &'a str,
    key_sep: &'a str,
    indent: Option<&'a str>,
    /// The containers being encoded, outermost first (a cycle sends the work to the mini code,
    /// which raises "Circular reference detected").
    open: Vec<usize>,
    out: String,
}

/// The encoder met something only the mini code handles.
struct NotMine;

fn encode(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (Some(o), Some(item_sep), Some(key_sep)) =
        (args.pos.first(), str_arg(&args, 5), str_arg(&args, 6))
    else {
        return Ok(Value::None);
    };
    let indent = match args.pos.get(7) {
        Some(Value::Str(s)) => Some(s.as_str()),
        Some(Value::None) | None => None,
        Some(_) => return Ok(Value::None),
    };
    let mut enc = Encoder {
        ascii: flag(&args, 1),
        allow_nan: flag(&args, 2),
        sort_keys: flag(&args, 3),
        skipkeys: flag(&args, 4),
        item_sep,
        key_sep,
        indent,
        open: Vec::new(),
        out: String::new(),
    };
    match enc.value(o, 0) {
        Ok(()) => Ok(Value::string(enc.out)),
        Err(NotMine) => Ok(Value::None),
    }
}

impl Encoder<'_> {
    fn value(&mut self, o: &Value, level: usize) -> Result<(), NotMine> {
        match o {
            Value::Str(s) => push_string(&mut self.out, s.as_str(), self.ascii),
            Value::None => self.out.push_str("null"),
            Value::Bool(true) => self.out.push_str("true"),
            Value::Bool(false) => self.out.push_str("false"),
            Value::Int(i) => self.out.push_str(&i.to_string()),
            Value::Float(f) => {
                let text = self.float(*f)?;
                self.out.push_str(&text);
            }
            Value::List(l) => {
                let items = l.snapshot();
                self.array(Ref::as_ptr(l) as usize, &items, level)?;
            }
            Value::Tuple(t) => self.array(Ref::as_ptr(t) as usize, &t.items, level)?,
            Value::Dict(d) => self.object(d, level)?,
            _ => return Err(NotMine),
        }
        Ok(())
    }

    /// A float as JSON text: its repr, or the JavaScript names of the special values.
    fn float(&self, f: f64) -> Result<String, NotMine> {
        if f.is_finite() {
            return Ok(crate::num::float_repr::float_repr(f));
        }
        if !self.allow_nan {
            return Err(NotMine);
        }
        Ok(if f.is_nan() {
            "NaN"
        } else if f > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        }
        .to_string())
    }

    fn enter(&mut self, id: usize, level: usize) -> Result<(), NotMine> {
        if level >= MAX_DEPTH || self.open.contains(&id) {
            return Err(NotMine);
        }
        self.open.push(id);
        Ok(())
    }

    fn newline(&mut self, level: usize) {
        if let Some(indent) = self.indent {
            self.out.push('\n');
            for _ in 0..level {
                self.out.push_str(indent);
            }
        }
    }

    /// Before each item: a newline and indentation for the first, else the item separator too.
    fn separator(&mut self, first: bool, level: usize) {
        if !first {
            self.out.push_str(self.item_sep);
        }
        self.newline(level);
    }

    fn array(&mut self, id: usize, items: &[Value], level: usize) -> Result<(), NotMine> {
        if items.is_empty() {
            self.out.push_str("[]");
            return Ok(());
        }
        self.enter(id, level)?;
        self.out.push('[');
        for (i, v) in items.iter().enumerate() {
            self.separator(i == 0, level + 1);
            self.value(v, level + 1)?;
        }
        self.newline(level);
        self.out.push(']');
        self.open.pop();
        Ok(())
    }

    fn object(&mut self, d: &Ref<Dict>, level: usize) -> Result<(), NotMine> {
        let mut items = d.items();
        if items.is_empty() {
            self.out.push_str("{}");
            return Ok(());
        }
        if self.sort_keys {
            // `sorted(dct.items())`: only str keys are compared here (code point order is the
            // byte order of UTF-8); mixed keys may raise TypeError, which the mini code reports.
            if !items.iter().all(|(k, _)| matches!(k, Value::Str(_))) {
                return Err(NotMine);
            }
            items.sort_by(|(a, _), (b, _)| match (a, b) {
                (Value::Str(a), Value::Str(b)) => a.as_str().cmp(b.as_str()),
                _ => std::cmp::Ordering::Equal,
            });
        }
        self.enter(Ref::as_ptr(d) as usize, level)?;
        self.out.push('{');
        let mut first = true;
        for (k, v) in &items {
            let key: std::borrow::Cow<'_, str> = match k {
                Value::Str(s) => s.as_str().into(),
                Value::Float(f) => self.float(*f)?.into(),
                Value::Bool(true) => "true".into(),
                Value::Bool(false) => "false".into(),
                Value::None => "null".into(),
                Value::Int(i) => i.to_string().into(),
                _ if self.skipkeys && !matches!(k, Value::BigInt(_) | Value::Instance(_)) => {
                    continue
                }
                _ => return Err(NotMine),
            };
            self.separator(first, level + 1);
            first = false;
            push_string(&mut self.out, &key, self.ascii);
            self.out.push_str(self.key_sep);
            self.value(v, level + 1)?;
        }
        if first {
            // Every key was skipped: CPython still writes the (empty) indented line.
            self.newline(level + 1);
        }
        self.newline(level);
        self.out.push('}');
        self.open.pop();
        Ok(())
    }
}

// --- decoding --------------------------------------------------------------------------------

fn decode(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let Some(s) = str_arg(&args, 0) else {
        return Ok(Value::None);
    };
    let mut p = Parser {
        s: s.as_bytes(),
        text: s,
        i: 0,
    };
    p.skip_ws();
    let parsed = p.value(0).and_then(|v| {
        p.skip_ws();
        if p.i == p.s.len() {
            Ok(v)
        } else {
            Err(NotMine)
        }
    });
    Ok(match parsed {
        Ok(v) => Value::tuple(vec![v]),
        Err(NotMine) => Value::None,
    })
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, word: &[u8]) -> bool {
        if self.s.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, NotMine> {
        if depth >= MAX_DEPTH {
            return Err(NotMine);
        }
        match self.s.get(self.i) {
            Some(b'"') => {
                self.i += 1;
                Ok(Value::string(self.string()?))
            }
            Some(b'{') => {
                self.i += 1;
                self.object(depth)
            }
            Some(b'[') => {
                self.i += 1;
                self.array(depth)
            }
            Some(b'n') if self.eat(b"null") => Ok(Value::None),
            Some(b't') if self.eat(b"true") => Ok(Value::Bool(true)),
            Some(b'f') if self.eat(b"false") => Ok(Value::Bool(false)),
            Some(b'N') if self.eat(b"NaN") => Ok(Value::Float(f64::NAN)),
            Some(b'I') if self.eat(b"Infinity") => Ok(Value::Float(f64::INFINITY)),
            Some(b'-') if self.s.get(self.i + 1) == Some(&b'I') => {
                if self.eat(b"-Infinity") {
                    Ok(Value::Float(f64::NEG_INFINITY))
                } else {
                    Err(NotMine)
                }
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(NotMine),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    /// `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`, as the mini scanner reads it.
    fn number(&mut self) -> Result<Value, NotMine> {
        let start = self.i;
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.s.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(NotMine),
        }
        let mut is_float = false;
        if self.s.get(self.i) == Some(&b'.') && matches!(self.s.get(self.i + 1), Some(b'0'..=b'9'))
        {
            self.i += 1;
            self.digits();
            is_float = true;
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            let save = self.i;
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                self.i = save;
            } else {
                is_float = true;
            }
        }
        let text = self.text.get(start..self.i).ok_or(NotMine)?;
        if is_float {
            text.parse::<f64>().map(Value::Float).map_err(|_| NotMine)
        } else {
            // Beyond 64 bits the mini code makes the big int (with CPython's digit limit).
            text.parse::<i64>().map(Value::Int).map_err(|_| NotMine)
        }
    }

    /// The body of a string after its opening quote; `self.i` ends after the closing quote.
    fn string(&mut self) -> Result<String, NotMine> {
        let mut out = String::new();
        let mut from = self.i;
        loop {
            match self.s.get(self.i) {
                None => return Err(NotMine),
                Some(b'"') => {
                    out.push_str(self.text.get(from..self.i).ok_or(NotMine)?);
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    out.push_str(self.text.get(from..self.i).ok_or(NotMine)?);
                    self.i += 1;
                    let c = match self.s.get(self.i) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => self.unicode_escape()?,
                        _ => return Err(NotMine),
                    };
                    out.push(c);
                    self.i += 1;
                    from = self.i;
                }
                // A control character is an error for the strict default decoder.
                Some(&b) if b < 0x20 => return Err(NotMine),
                Some(_) => self.i += 1,
            }
        }
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.text.get(at..at + 4)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(digits, 16).ok()
    }

    /// `\uXXXX` with `self.i` on the `u`; leaves `self.i` on the escape's last digit. A
    /// surrogate pair becomes one character; a lone surrogate is left to the mini code.
    fn unicode_escape(&mut self) -> Result<char, NotMine> {
        let first = self.hex4(self.i + 1).ok_or(NotMine)?;
        self.i += 4;
        if (0xd800..=0xdbff).contains(&first)
            && self.s.get(self.i + 1..self.i + 3) == Some(b"\\u".as_slice())
        {
            if let Some(second) = self.hex4(self.i + 3) {
                if (0xdc00..=0xdfff).contains(&second) {
                    self.i += 6;
                    let c = 0x10000 + (((first - 0xd800) << 10) | (second - 0xdc00));
                    return char::from_u32(c).ok_or(NotMine);
                }
            }
        }
        char::from_u32(first).ok_or(NotMine)
    }

    fn object(&mut self, depth: usize) -> Result<Value, NotMine> {
        let dict = Dict::new();
        self.skip_ws();
        if self.s.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Value::Dict(Ref::new(dict)));
        }
        loop {
            if self.s.get(self.i) != Some(&b'"') {
                return Err(NotMine);
            }
            self.i += 1;
            let key = self.string()?;
            self.skip_ws();
            if self.s.get(self.i) != Some(&b':') {
                return Err(NotMine);
            }
            self.i += 1;
            self.skip_ws();
            let value = self.value(depth + 1)?;
            dict.set_str(&key, value);
            self.skip_ws();
            match self.s.get(self.i) {
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::Dict(Ref::new(dict)));
                }
                Some(b',') => {
                    self.i += 1;
                    self.skip_ws();
                }
                _ => return Err(NotMine),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, NotMine> {
        let mut items = Vec::new();
        self.skip_ws();
        if self.s.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Value::list(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.s.get(self.i) {
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::list(items));
                }
                Some(b',') => {
                    self.i += 1;
                    self.skip_ws();
                }
                _ => return Err(NotMine),
            }
        }
    }
}
