//! Stage 4 (VM), built-ins.
//! `str.format`: replacement fields `{name.attr[key]!conv:spec}` with nested specs, as CPython.

use std::sync::Arc;

use crate::builtins::args::recv_str;
use crate::builtins::Methods;
use crate::error::{PyErr, PyResult};
use crate::interp::{Args, Interp};
use crate::object::ExcKind;
use crate::value::Value;
use crate::{err, raise};

pub const METHODS: Methods = &[("format", format), ("format_map", format_map)];

fn format(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_str(&args, "format")?;
    let mut st = State {
        pos: args.pos.get(1..).unwrap_or(&[]),
        kw: args.kw,
        mapping: None,
        auto: None,
    };
    let out = st.render(interp, s.as_str(), 2)?;
    Ok(Value::string(out))
}

/// `s.format_map(mapping)`: named fields are looked up with `mapping[name]` (so a dict
/// subclass's `__missing__` answers), positional ones are an error.
fn format_map(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_str(&args, "format_map")?;
    if !args.kw.is_empty() {
        raise!(TypeError, "str.format_map() takes no keyword arguments");
    }
    let [_, mapping] = args.pos else {
        raise!(
            TypeError,
            "str.format_map() takes exactly one argument ({} given)",
            args.pos.len().saturating_sub(1)
        );
    };
    let mut st = State {
        pos: &[],
        kw: &[],
        mapping: Some(mapping),
        auto: None,
    };
    let out = st.render(interp, s.as_str(), 2)?;
    Ok(Value::string(out))
}

struct State<'a> {
    pos: &'a [Value],
    kw: &'a [(Arc<str>, Value)],
    /// `format_map`'s mapping: named fields are its items.
    mapping: Option<&'a Value>,
    /// `Some(next)` once automatic numbering is used, `Some(usize::MAX)`-free: manual is `Some(None)`.
    auto: Option<Option<usize>>,
}

impl<'a> State<'a> {
    fn render(&mut self, interp: &mut Interp, fmt: &str, depth: u32) -> PyResult<String> {
        if depth == 0 {
            raise!(ValueError, "Max string recursion exceeded");
        }
        let chars: Vec<char> = fmt.chars().collect();
        let mut out = String::with_capacity(fmt.len());
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            i += 1;
            match c {
                '{' if chars.get(i) == Some(&'{') => {
                    out.push('{');
                    i += 1;
                }
                '}' if chars.get(i) == Some(&'}') => {
                    out.push('}');
                    i += 1;
                }
                '}' => raise!(ValueError, "Single '}}' encountered in format string"),
                '{' => {
                    if i >= chars.len() {
                        raise!(ValueError, "Single '{{' encountered in format string");
                    }
                    let (field, next) = scan_field(&chars, i)?;
                    i = next;
                    let piece = self.field(interp, &field, depth)?;
                    out.push_str(&piece);
                }
                c => out.push(c),
            }
        }
        Ok(out)
    }

    /// Render one field (`field` is the text between the braces).
    fn field(&mut self, interp: &mut Interp, field: &[char], depth: u32) -> PyResult<String> {
        // Split off `!conv` and `:spec` (outside of `[...]`).
        let mut k = 0;
        let mut in_bracket = false;
        while let Some(&c) = field.get(k) {
            match c {
                '[' => in_bracket = true,
                ']' => in_bracket = false,
                '!' | ':' if !in_bracket => break,
                _ => {}
            }
            k += 1;
        }
        let name = field.get(..k).unwrap_or(&[]);
        let mut conv = None;
        let mut spec: &[char] = &[];
        match field.get(k) {
            Some('!') => {
                let Some(&c) = field.get(k + 1) else {
                    raise!(ValueError, "unmatched '{{' in format spec");
                };
                if !matches!(c, 'r' | 's' | 'a') {
                    raise!(ValueError, "Unknown conversion specifier {c}");
                }
                conv = Some(c);
                match field.get(k + 2) {
                    None => {}
                    Some(':') => spec = field.get(k + 3..).unwrap_or(&[]),
                    Some(_) => raise!(ValueError, "expected ':' after conversion specifier"),
                }
            }
            Some(':') => spec = field.get(k + 1..).unwrap_or(&[]),
            _ => {}
        }
        let value = self.lookup(interp, name)?;
        let spec: String = spec.iter().collect();
        let spec = if spec.contains('{') {
            self.render(interp, &spec, depth - 1)?
        } else {
            spec
        };
        let r = interp.format_value(&value, conv, Some(&Value::string(spec)))?;
        match r {
            Value::Str(s) => Ok(s.as_str().to_string()),
            other => interp.str_of(&other),
        }
    }

    fn lookup(&mut self, interp: &mut Interp, name: &[char]) -> PyResult<Value> {
        let first_end = name
            .iter()
            .position(|&c| c == '.' || c == '[')
            .unwrap_or(name.len());
        let first: String = name.get(..first_end).unwrap_or(&[]).iter().collect();
        let mut value = if first.is_empty() {
            let n = match self.auto {
                Some(None) => raise!(
                    ValueError,
                    "cannot switch from manual field specification to automatic field numbering"
                ),
                Some(Some(n)) => n,
                None => 0,
            };
            self.auto = Some(Some(n + 1));
            self.positional(n)?
        } else if first.chars().all(|c| c.is_ascii_digit()) {
            if let Some(Some(_)) = self.auto {
                raise!(
                    ValueError,
                    "cannot switch from automatic field numbering to manual field specification"
                );
            }
            self.auto = Some(None);
            let n: usize = first
                .parse()
                .map_err(|_| err!(ValueError, "Too many decimal digits in format string"))?;
            self.positional(n)?
        } else if let Some(mapping) = self.mapping {
            interp.getitem(mapping, &Value::string(first.to_string()))?
        } else {
            match self.kw.iter().find(|(k, _)| **k == *first) {
                Some((_, v)) => v.clone(),
                None => {
                    return Err(PyErr::with_args(
                        ExcKind::KeyError,
                        vec![Value::string(first)],
                    ))
                }
            }
        };
        let mut k = first_end;
        while let Some(&c) = name.get(k) {
            k += 1;
            if c == '.' {
                let end = name
                    .iter()
                    .skip(k)
                    .position(|&c| c == '.' || c == '[')
                    .map_or(name.len(), |p| p + k);
                let attr: String = name.get(k..end).unwrap_or(&[]).iter().collect();
                if attr.is_empty() {
                    raise!(ValueError, "Empty attribute in format string");
                }
                value = interp.getattr(&value, &attr)?;
                k = end;
            } else {
                let Some(close) = name.iter().skip(k).position(|&c| c == ']').map(|p| p + k) else {
                    raise!(ValueError, "Missing ']' in format string");
                };
                let key: String = name.get(k..close).unwrap_or(&[]).iter().collect();
                if key.is_empty() {
                    raise!(ValueError, "Empty attribute in format string");
                }
                let key = match key.parse::<i64>() {
                    Ok(n) if key.chars().all(|c| c.is_ascii_digit()) => Value::Int(n),
                    _ => Value::string(key),
                };
                value = interp.getitem(&value, &key)?;
                k = close + 1;
                if let Some(&c) = name.get(k) {
                    if c != '.' && c != '[' {
                        raise!(
                            ValueError,
                            "Only '.' or '[' may follow ']' in format field specifier"
                        );
                    }
                }
            }
        }
        Ok(value)
    }

    fn positional(&self, n: usize) -> PyResult<Value> {
        if self.mapping.is_some() {
            raise!(ValueError, "Format string contains positional fields");
        }
        self.pos.get(n).cloned().ok_or_else(|| {
            err!(
                IndexError,
                "Replacement index {n} out of range for positional args tuple"
            )
        })
    }
}

/// Find the end of a replacement field starting after its `{`: (field text, index after `}`).
fn scan_field(chars: &[char], start: usize) -> PyResult<(Vec<char>, usize)> {
    let mut i = start;
    let mut in_name = true;
    let mut nesting = 0usize;
    while let Some(&c) = chars.get(i) {
        if in_name {
            match c {
                '[' => {
                    // Skip to the closing bracket; braces inside are part of the key.
                    match chars.iter().skip(i).position(|&c| c == ']') {
                        Some(p) => i += p,
                        None => break,
                    }
                }
                ':' | '!' => in_name = false,
                '}' => return Ok((chars.get(start..i).unwrap_or(&[]).to_vec(), i + 1)),
                _ => {}
            }
        } else {
            match c {
                '{' => nesting += 1,
                '}' if nesting == 0 => {
                    return Ok((chars.get(start..i).unwrap_or(&[]).to_vec(), i + 1))
                }
                '}' => nesting -= 1,
                _ => {}
            }
        }
        i += 1;
    }
    Err(err!(ValueError, "expected '}}' before end of string"))
}
