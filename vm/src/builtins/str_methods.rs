//! Stage 4 (VM), built-ins.
//! Methods of `str` (except `format`, in `str_format.rs`). Indices are in characters, as in Python.

use crate::builtins::args::{arg_str, recv_str, rest, slice_index, to_index, ArgsExt};
use crate::builtins::text;
use crate::builtins::Methods;
use crate::error::PyResult;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{type_name, ExcKind, PyStr};
use crate::value::Value;
use crate::{err, raise};

pub const METHODS: Methods = &[
    ("join", join),
    ("split", split),
    ("rsplit", rsplit),
    ("splitlines", splitlines),
    ("strip", strip),
    ("lstrip", lstrip),
    ("rstrip", rstrip),
    ("replace", replace),
    ("startswith", startswith),
    ("endswith", endswith),
    ("find", find),
    ("rfind", rfind),
    ("index", index),
    ("rindex", rindex),
    ("count", count),
    ("upper", upper),
    ("lower", lower),
    ("casefold", casefold),
    ("capitalize", capitalize),
    ("title", title),
    ("swapcase", swapcase),
    ("isdigit", isdigit),
    ("isdecimal", isdecimal),
    ("isnumeric", isnumeric),
    ("isalpha", isalpha),
    ("isalnum", isalnum),
    ("isspace", isspace),
    ("isupper", isupper),
    ("islower", islower),
    ("istitle", istitle),
    ("isascii", isascii),
    ("isprintable", isprintable),
    ("isidentifier", isidentifier),
    ("center", center),
    ("ljust", ljust),
    ("rjust", rjust),
    ("zfill", zfill),
    ("partition", partition),
    ("rpartition", rpartition),
    ("removeprefix", removeprefix),
    ("removesuffix", removesuffix),
    ("expandtabs", expandtabs),
    ("encode", encode),
];

fn strs(parts: Vec<&str>) -> Value {
    Value::list(parts.into_iter().map(Value::str).collect())
}

/// The items of an iterable given to `str.join`.
fn join_items(interp: &mut Interp, it: &Value) -> PyResult<Vec<Value>> {
    // A whole walk: free-threaded, a dict's, set's or deque's items are read in one step, as
    // under CPython's GIL (`Interp::get_iter_whole`).
    let iter = interp.get_iter_whole(it).map_err(|e| {
        if e.is(ExcKind::TypeError) {
            err!(TypeError, "can only join an iterable")
        } else {
            e
        }
    })?;
    let mut v = Vec::new();
    while let Some(x) = interp.next_item(&iter)? {
        v.push(x);
    }
    Ok(v)
}

fn join(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let sep = recv_str(&args, "join")?.as_str();
    let it = rest(&args).one("str.join")?;
    match it {
        // A tuple's or list's items are read where they are, not copied out (a copy is a
        // count change per item, an allocation and the same again to drop it: about 250
        // machine instructions of `"".join(t)` for an 8-tuple). Joining runs no Python code,
        // so the list cannot change meanwhile.
        Value::Tuple(t) => join_strs(sep, &t.items),
        Value::List(l) => join_strs(sep, &l.items.read()),
        // Iterating may run Python code (a generator): a recursion level is held meanwhile,
        // as CPython 3.11's `str.join` (a one-argument method) holds one while it runs.
        other => {
            interp.enter_recursion(crate::interp::guard::CALLING)?;
            let items = join_items(interp, other);
            interp.leave_recursion();
            join_strs(sep, &items?)
        }
    }
}

/// `sep.join(items)` once the items are in hand.
fn join_strs(sep: &str, items: &[Value]) -> PyResult<Value> {
    // The result's size is known before it is built: check it first.
    let total = items.iter().fold(
        sep.len().saturating_mul(items.len().saturating_sub(1)),
        |n, item| match item.as_str() {
            Some(s) => n.saturating_add(s.len()),
            None => n,
        },
    );
    crate::builtins::args::check_str_bytes(total)?;
    let mut out = String::with_capacity(total);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        match item.as_str() {
            Some(s) => out.push_str(s),
            None => raise!(
                TypeError,
                "sequence item {i}: expected str instance, {} found",
                type_name(item)
            ),
        }
    }
    Ok(Value::string(out))
}

/// (sep, maxsplit) of `split`/`rsplit`.
fn split_args<'a>(args: &Args<'a>, name: &str) -> PyResult<(Option<&'a str>, i64)> {
    let a = rest(args);
    a.clinic(name, 0, 2)?;
    a.only_kw(name, &["sep", "maxsplit"])?;
    let sep = match a.pos_or_kw(name, 0, "sep")? {
        None | Some(Value::None) => None,
        Some(Value::Str(s)) => Some(s.as_str()),
        Some(other) => raise!(TypeError, "must be str or None, not {}", type_name(other)),
    };
    let maxsplit = match a.pos_or_kw(name, 1, "maxsplit")? {
        None => -1,
        Some(v) => to_index(v)?,
    };
    if sep == Some("") {
        raise!(ValueError, "empty separator");
    }
    Ok((sep, maxsplit))
}

fn split(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_str(&args, "split")?;
    let (sep, max) = split_args(&args, "split")?;
    Ok(strs(match sep {
        None => text::split_whitespace(s.as_str(), max),
        Some(sep) => text::split_sep(s.as_str(), sep, max),
    }))
}

fn rsplit(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_str(&args, "rsplit")?;
    let (sep, max) = split_args(&args, "rsplit")?;
    Ok(strs(match sep {
        None => text::rsplit_whitespace(s.as_str(), max),
        Some(sep) => text::rsplit_sep(s.as_str(), sep, max),
    }))
}

fn splitlines(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_str(&args, "splitlines")?;
    let a = rest(&args);
    a.clinic("splitlines", 0, 1)?;
    a.only_kw("splitlines", &["keepends"])?;
    let keep = match a.pos_or_kw("splitlines", 0, "keepends")? {
        None => false,
        Some(v) => interp.truthy(v)?,
    };
    Ok(strs(text::splitlines(s.as_str(), keep)))
}

fn strip_impl(args: Args<'_>, name: &'static str, left: bool, right: bool) -> PyResult<Value> {
    let s = recv_str(&args, name)?;
    let a = rest(&args);
    a.no_kw(&format!("str.{name}"))?;
    a.clinic(name, 0, 1)?;
    let chars: Option<Vec<char>> = match a.get(0) {
        None | Some(Value::None) => None,
        Some(Value::Str(c)) => Some(c.as_str().chars().collect()),
        Some(_) => raise!(TypeError, "{name} arg must be None or str"),
    };
    let pred = |c: char| match &chars {
        None => text::is_space(c),
        Some(set) => set.contains(&c),
    };
    let mut r = s.as_str();
    if left {
        r = r.trim_start_matches(pred);
    }
    if right {
        r = r.trim_end_matches(pred);
    }
    if r.len() == s.as_str().len() {
        return Ok(Value::Str(s.clone()));
    }
    Ok(Value::str(r))
}

fn strip(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    strip_impl(args, "strip", true, true)
}

fn lstrip(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    strip_impl(args, "lstrip", true, false)
}

fn rstrip(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    strip_impl(args, "rstrip", false, true)
}

fn replace(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_str(&args, "replace")?;
    let a = rest(&args);
    a.range("str.replace", 2, 3)?;
    let old = match a.get(0) {
        Some(Value::Str(x)) => x.as_str(),
        other => raise!(
            TypeError,
            "replace() argument 1 must be str, not {}",
            tn(other)
        ),
    };
    let new = match a.get(1) {
        Some(Value::Str(x)) => x.as_str(),
        other => raise!(
            TypeError,
            "replace() argument 2 must be str, not {}",
            tn(other)
        ),
    };
    let count = match a.get(2) {
        None => -1,
        Some(v) => interp.index_arg(v)?,
    };
    // Nothing to replace: the str itself, as CPython gives it back (no copy made).
    if let Some(me @ Value::Str(_)) = args.pos.first() {
        if count == 0 || (!old.is_empty() && text::find_sub(s.as_str(), old).is_none()) {
            return Ok(me.clone());
        }
    }
    // Size the result before building it (each replacement adds `new.len() - old.len()`).
    if new.len() > old.len() {
        let found = if old.is_empty() {
            s.char_len().saturating_add(1)
        } else {
            text::count_sub(s.as_str(), old)
        };
        let k = usize::try_from(count).map_or(found, |c| c.min(found));
        let grow = k.saturating_mul(new.len() - old.len());
        crate::builtins::args::check_str_bytes(s.as_str().len().saturating_add(grow))?;
    }
    Ok(Value::string(text::replace(s.as_str(), old, new, count)))
}

fn tn(v: Option<&Value>) -> String {
    v.map_or_else(|| "NoneType".to_string(), type_name)
}

/// The substring `s[start:end]` (character indices), or `None` when `start > end`.
fn window<'s>(
    s: &'s PyStr,
    start: Option<&Value>,
    end: Option<&Value>,
) -> PyResult<Option<(&'s str, usize)>> {
    let (st, en) = text::adjust_indices(slice_index(start)?, slice_index(end)?, s.char_len());
    if st > en {
        return Ok(None);
    }
    let (b0, b1) = (s.byte_offset(st), s.byte_offset(en));
    Ok(s.as_str().get(b0..b1).map(|w| (w, st)))
}

fn affix_impl(args: Args<'_>, name: &'static str, end: bool) -> PyResult<Value> {
    let s = recv_str(&args, name)?;
    let a = rest(&args);
    a.no_kw(&format!("str.{name}"))?;
    a.clinic(name, 1, 3)?;
    let Some((w, _)) = window(s, a.get(1), a.get(2))? else {
        return Ok(Value::Bool(false));
    };
    let test = |p: &str| {
        if end {
            w.ends_with(p)
        } else {
            w.starts_with(p)
        }
    };
    match a.get(0) {
        Some(Value::Str(p)) => Ok(Value::Bool(test(p.as_str()))),
        Some(Value::Tuple(t)) => {
            for item in t.items.iter() {
                match item {
                    Value::Str(p) => {
                        if test(p.as_str()) {
                            return Ok(Value::Bool(true));
                        }
                    }
                    other => raise!(
                        TypeError,
                        "tuple for {name} must only contain str, not {}",
                        type_name(other)
                    ),
                }
            }
            Ok(Value::Bool(false))
        }
        other => raise!(
            TypeError,
            "{name} first arg must be str or a tuple of str, not {}",
            tn(other)
        ),
    }
}

fn startswith(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    affix_impl(args, "startswith", false)
}

fn endswith(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    affix_impl(args, "endswith", true)
}

/// The character index of the first (or last) `sub` in `s[start:end]`.
fn find_impl(args: Args<'_>, name: &'static str, rev: bool) -> PyResult<Option<usize>> {
    let s = recv_str(&args, name)?;
    let a = rest(&args);
    a.no_kw(&format!("str.{name}"))?;
    a.clinic(name, 1, 3)?;
    let sub = arg_str(a.get(0).unwrap_or(&Value::None), "")?;
    let Some((w, st)) = window(s, a.get(1), a.get(2))? else {
        return Ok(None);
    };
    let pos = if rev {
        text::rfind_sub(w, sub)
    } else {
        text::find_sub(w, sub)
    };
    Ok(pos.map(|b| st + text::char_index(w, b)))
}

fn found(r: Option<usize>) -> Value {
    Value::Int(r.map_or(-1, |i| i as i64))
}

fn find(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(found(find_impl(args, "find", false)?))
}

fn rfind(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(found(find_impl(args, "rfind", true)?))
}

fn index(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    match find_impl(args, "index", false)? {
        Some(i) => Ok(Value::Int(i as i64)),
        None => raise!(ValueError, "substring not found"),
    }
}

fn rindex(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    match find_impl(args, "rindex", true)? {
        Some(i) => Ok(Value::Int(i as i64)),
        None => raise!(ValueError, "substring not found"),
    }
}

fn count(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_str(&args, "count")?;
    let a = rest(&args);
    a.no_kw("str.count")?;
    a.clinic("count", 1, 3)?;
    let sub = arg_str(a.get(0).unwrap_or(&Value::None), "")?;
    let Some((w, _)) = window(s, a.get(1), a.get(2))? else {
        return Ok(Value::Int(0));
    };
    let n = if sub.is_empty() {
        w.chars().count() + 1
    } else {
        text::count_sub(w, sub)
    };
    Ok(Value::Int(n as i64))
}

macro_rules! transform {
    ($fname:ident, $name:literal, $f:expr) => {
        fn $fname(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
            let s = recv_str(&args, $name)?;
            rest(&args).none(concat!("str.", $name))?;
            let f: fn(&str) -> String = $f;
            Ok(Value::string(f(s.as_str())))
        }
    };
}

transform!(upper, "upper", text::upper);
transform!(lower, "lower", text::lower);
transform!(casefold, "casefold", text::casefold);
transform!(capitalize, "capitalize", text::capitalize);
transform!(title, "title", text::title);
transform!(swapcase, "swapcase", text::swapcase);

macro_rules! predicate {
    ($fname:ident, $name:literal, $f:expr) => {
        fn $fname(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
            let s = recv_str(&args, $name)?;
            rest(&args).none(concat!("str.", $name))?;
            let f: fn(&str) -> bool = $f;
            Ok(Value::Bool(f(s.as_str())))
        }
    };
}

fn all_chars(s: &str, f: impl Fn(char) -> bool) -> bool {
    !s.is_empty() && s.chars().all(f)
}

predicate!(isdigit, "isdigit", |s| all_chars(s, text::is_digit));
predicate!(isdecimal, "isdecimal", |s| all_chars(s, text::is_decimal));
predicate!(isprintable, "isprintable", |s| s
    .chars()
    .all(crate::num::parse::is_py_printable));
predicate!(isnumeric, "isnumeric", |s| all_chars(s, text::is_numeric));
predicate!(isalpha, "isalpha", |s| all_chars(s, text::is_alpha));
predicate!(isalnum, "isalnum", |s| all_chars(s, text::is_alnum));
predicate!(isspace, "isspace", |s| all_chars(s, text::is_space));
predicate!(isascii, "isascii", |s| s.is_ascii());
predicate!(isidentifier, "isidentifier", text::is_identifier);
predicate!(isupper, "isupper", text::is_upper_str);
predicate!(islower, "islower", text::is_lower_str);
predicate!(istitle, "istitle", text::is_title_str);

/// (width, fill) of `center`/`ljust`/`rjust`.
fn pad_args(interp: &mut Interp, args: &Args<'_>, name: &str) -> PyResult<(usize, char)> {
    let a = rest(args);
    a.range(&format!("str.{name}"), 1, 2)?;
    let width = interp.index_arg(a.get(0).unwrap_or(&Value::None))?;
    let fill = match a.get(1) {
        None => ' ',
        Some(Value::Str(f)) => {
            let mut cs = f.as_str().chars();
            match (cs.next(), cs.next()) {
                (Some(c), None) => c,
                _ => raise!(
                    TypeError,
                    "The fill character must be exactly one character long"
                ),
            }
        }
        Some(other) => raise!(
            TypeError,
            "The fill character must be a unicode character, not {}",
            type_name(other)
        ),
    };
    let width = width.max(0) as usize;
    crate::builtins::args::check_str_bytes(width.saturating_mul(fill.len_utf8()))?;
    Ok((width, fill))
}

fn pad(s: &Ref<PyStr>, left: usize, right: usize, fill: char) -> Value {
    if left == 0 && right == 0 {
        return Value::Str(s.clone());
    }
    let mut out = String::with_capacity(s.as_str().len() + left + right);
    out.extend(std::iter::repeat_n(fill, left));
    out.push_str(s.as_str());
    out.extend(std::iter::repeat_n(fill, right));
    Value::string(out)
}

fn center(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_str(&args, "center")?;
    let (w, fill) = pad_args(interp, &args, "center")?;
    let (l, r) = text::center_pad(s.char_len(), w);
    Ok(pad(s, l, r, fill))
}

fn ljust(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_str(&args, "ljust")?;
    let (w, fill) = pad_args(interp, &args, "ljust")?;
    Ok(pad(s, 0, w.saturating_sub(s.char_len()), fill))
}

fn rjust(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_str(&args, "rjust")?;
    let (w, fill) = pad_args(interp, &args, "rjust")?;
    Ok(pad(s, w.saturating_sub(s.char_len()), 0, fill))
}

fn zfill(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_str(&args, "zfill")?;
    let w = interp.index_arg(rest(&args).one("str.zfill")?)?;
    crate::builtins::args::check_str_bytes(w.max(0) as usize)?;
    let n = (w.max(0) as usize).saturating_sub(s.char_len());
    if n == 0 {
        return Ok(Value::Str(s.clone()));
    }
    let body = s.as_str();
    let (sign, digits) = match body.chars().next() {
        Some(c @ ('+' | '-')) => (Some(c), &body[1..]),
        _ => (None, body),
    };
    let mut out = String::with_capacity(body.len() + n);
    out.extend(sign);
    out.extend(std::iter::repeat_n('0', n));
    out.push_str(digits);
    Ok(Value::string(out))
}

fn partition_impl(args: Args<'_>, name: &'static str, rev: bool) -> PyResult<Value> {
    let s = recv_str(&args, name)?;
    let sep = arg_str(rest(&args).one(&format!("str.{name}"))?, "")?;
    if sep.is_empty() {
        raise!(ValueError, "empty separator");
    }
    let st = s.as_str();
    let pos = if rev { st.rfind(sep) } else { st.find(sep) };
    let parts = match pos {
        Some(i) => [&st[..i], sep, &st[i + sep.len()..]],
        None if rev => ["", "", st],
        None => [st, "", ""],
    };
    Ok(Value::tuple(parts.iter().map(|p| Value::str(p)).collect()))
}

fn partition(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    partition_impl(args, "partition", false)
}

fn rpartition(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    partition_impl(args, "rpartition", true)
}

fn affix_remove(args: Args<'_>, name: &'static str, suffix: bool) -> PyResult<Value> {
    let s = recv_str(&args, name)?;
    let a = rest(&args).one(&format!("str.{name}"))?;
    let p = match a {
        Value::Str(p) => p.as_str(),
        other => raise!(
            TypeError,
            "{name}() argument must be str, not {}",
            type_name(other)
        ),
    };
    let st = s.as_str();
    let r = if suffix {
        st.strip_suffix(p).filter(|_| !p.is_empty())
    } else {
        st.strip_prefix(p).filter(|_| !p.is_empty())
    };
    Ok(r.map_or_else(|| Value::Str(s.clone()), Value::str))
}

fn removeprefix(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    affix_remove(args, "removeprefix", false)
}

fn removesuffix(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    affix_remove(args, "removesuffix", true)
}

fn expandtabs(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_str(&args, "expandtabs")?;
    let a = rest(&args);
    a.clinic("expandtabs", 0, 1)?;
    a.only_kw("expandtabs", &["tabsize"])?;
    let size = match a.pos_or_kw("expandtabs", 0, "tabsize")? {
        None => 8,
        Some(v) => crate::builtins::args::to_c_int(v)?,
    };
    if size > (1 << 20) {
        raise!(MemoryError, "");
    }
    Ok(Value::string(text::expandtabs(s.as_str(), size.into())))
}

/// `s.encode(encoding='utf-8', errors='strict')`.
fn encode(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let s = recv_str(&args, "encode")?;
    let a = rest(&args);
    a.clinic("encode", 0, 2)?;
    a.only_kw("encode", &["encoding", "errors"])?;
    let (enc, errors) = crate::builtins::codecs::encoding_args(
        "encode",
        a.pos_or_kw("encode", 0, "encoding")?,
        a.pos_or_kw("encode", 1, "errors")?,
    )?;
    Ok(Value::bytes(crate::builtins::codecs::encode(
        s.as_str(),
        enc,
        &errors,
    )?))
}
