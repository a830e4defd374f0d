//! The `unicodedata` module: the Unicode Character Database of CPython 3.11 (Unicode 14.0.0):
//! `category`, `bidirectional`, `combining`, `east_asian_width`, `mirrored`, `decomposition`,
//! `decimal`/`digit`/`numeric`, `name`/`lookup`, `normalize`/`is_normalized` and
//! `unidata_version`. Not provided: `ucd_3_2_0` (the old database `idna` uses), name aliases and
//! named sequences in `lookup`.
//!
//! The tables are `ucd.bin`, made by `gen.py` from python3.11's own `unicodedata`, so every
//! answer is CPython's. They are zlib-compressed in the binary (300 KB) and unpacked on the
//! module's first use. Layout (little-endian; `cp` is 3 bytes, `text` a length byte and ASCII):
//! - `u16` count, then that many property records `[category, bidi, combining, eaw, mirrored]`
//!   (indexes into [`CATEGORIES`], [`BIDI`], [`EAW`]);
//! - `u32` count of runs `(cp start, u16 record)`: each code point has the record of the last run
//!   starting at or before it;
//! - `u32` count of `(cp, i8 decimal, i8 digit, f64 numeric)` (-1: none);
//! - `u32` count of `(cp, text decomposition)` as `unicodedata.decomposition` gives it;
//! - `u32` count of `cp`: the primary composites, whose two-character canonical decomposition
//!   NFC composes back;
//! - `u32` count of `(cp first, cp last, text prefix)`: names made as prefix + hex code point
//!   (CJK ideographs, Tangut...);
//! - `u32` count of `(cp, text name)`, by code point.

use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

use super::module_from_fns as make_module;
use crate::builtins::args::ArgsExt;
use crate::builtins::Methods;
use crate::error::PyResult;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{type_name, Module};
use crate::value::Value;
use crate::{err, PyErr};

const CATEGORIES: [&str; 30] = [
    "Cn", "Lu", "Ll", "Lt", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs",
    "Co", "Lm", "Lo", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So",
];
const BIDI: [&str; 24] = [
    "", "L", "LRE", "LRO", "R", "AL", "RLE", "RLO", "PDF", "EN", "ES", "ET", "AN", "CS", "NSM",
    "BN", "B", "S", "WS", "ON", "LRI", "RLI", "FSI", "PDI",
];
const EAW: [&str; 6] = ["F", "H", "W", "Na", "A", "N"];

const FUNCS: Methods = &[
    ("lookup", lookup),
    ("name", name),
    ("decimal", decimal),
    ("digit", digit),
    ("numeric", numeric),
    ("category", category),
    ("bidirectional", bidirectional),
    ("combining", combining),
    ("east_asian_width", east_asian_width),
    ("mirrored", mirrored),
    ("decomposition", decomposition),
    ("normalize", normalize),
    ("is_normalized", is_normalized),
];

pub fn module() -> Ref<Module> {
    make_module(
        "unicodedata",
        FUNCS,
        vec![("unidata_version", Value::str("14.0.0"))],
    )
}

/// What `str.isalpha()` and `str.isnumeric()` (CPython's `_PyUnicode_IsAlpha`, `IsNumeric`)
/// say of `c`, and whether it has a digit value (`str.isdigit()`), from the tables of this module;
/// `None` if they cannot be read. For characters outside ASCII (the callers answer ASCII).
pub fn char_class(c: char) -> Option<CharClass> {
    let ucd = ucd().ok()?;
    let cp = c as u32;
    let num = ucd.numeric(cp);
    Some(CharClass {
        alpha: CATEGORIES
            .get(ucd.record(cp)[0] as usize)
            .is_some_and(|c| c.starts_with('L')),
        digit: num.is_some_and(|(_, d, _)| d >= 0),
        numeric: num.is_some(),
    })
}

/// See [`char_class`].
pub struct CharClass {
    /// General category Lu, Ll, Lt, Lm or Lo.
    pub alpha: bool,
    pub digit: bool,
    pub numeric: bool,
}

/// The unpacked tables.
struct Ucd {
    records: Vec<[u8; 5]>,
    runs: Vec<(u32, u16)>,
    numerics: Vec<(u32, i8, i8, f64)>,
    decomps: Vec<(u32, Box<str>)>,
    /// Two code points to the one NFC composes them into.
    compose: HashMap<(u32, u32), u32>,
    ranges: Vec<(u32, u32, Box<str>)>,
    names: Vec<(u32, Box<str>)>,
    /// Upper-case name to code point, made at the first `lookup`.
    by_name: OnceLock<HashMap<Box<str>, u32>>,
}

static DATA: &[u8] = include_bytes!("ucd.bin");

/// Reads `ucd.bin`'s unpacked bytes in order.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn uint(&mut self, n: usize) -> Option<u32> {
        Some(
            self.take(n)?
                .iter()
                .rev()
                .fold(0u32, |acc, &b| (acc << 8) | u32::from(b)),
        )
    }
    fn cp(&mut self) -> Option<u32> {
        self.uint(3)
    }
    fn text(&mut self) -> Option<Box<str>> {
        let n = self.take(1)?[0] as usize;
        std::str::from_utf8(self.take(n)?).ok().map(Box::from)
    }
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let n = self.uint(4)? as usize;
        (0..n).map(|_| item(self)).collect()
    }
}

fn parse(bytes: &[u8]) -> Option<Ucd> {
    let mut r = Reader(bytes);
    let n = r.uint(2)? as usize;
    let records = (0..n)
        .map(|_| r.take(5).and_then(|b| b.try_into().ok()))
        .collect::<Option<Vec<[u8; 5]>>>()?;
    let runs = r.list(|r| Some((r.cp()?, r.uint(2)? as u16)))?;
    let numerics = r.list(|r| {
        let cp = r.cp()?;
        let dec = r.take(1)?[0] as i8;
        let dig = r.take(1)?[0] as i8;
        let num = f64::from_le_bytes(r.take(8)?.try_into().ok()?);
        Some((cp, dec, dig, num))
    })?;
    let decomps = r.list(|r| Some((r.cp()?, r.text()?)))?;
    let composites = r.list(|r| r.cp())?;
    let ranges = r.list(|r| Some((r.cp()?, r.cp()?, r.text()?)))?;
    let names = r.list(|r| Some((r.cp()?, r.text()?)))?;
    let mut ucd = Ucd {
        records,
        runs,
        numerics,
        decomps,
        compose: HashMap::new(),
        ranges,
        names,
        by_name: OnceLock::new(),
    };
    for cp in composites {
        if let [a, b] = ucd.canonical(cp)?[..] {
            ucd.compose.insert((a, b), cp);
        }
    }
    Some(ucd)
}

fn ucd() -> PyResult<&'static Ucd> {
    static UCD: OnceLock<Option<Ucd>> = OnceLock::new();
    UCD.get_or_init(|| {
        let mut bytes = Vec::new();
        flate2::read::ZlibDecoder::new(DATA)
            .read_to_end(&mut bytes)
            .ok()?;
        parse(&bytes)
    })
    .as_ref()
    .ok_or_else(|| err!(SystemError, "unicodedata: the built-in tables are damaged"))
}

const HANGUL_FIRST: u32 = 0xAC00;
const HANGUL_LAST: u32 = 0xD7A3;
const L_BASE: u32 = 0x1100;
const V_BASE: u32 = 0x1161;
const T_BASE: u32 = 0x11A7;
const V_COUNT: u32 = 21;
const T_COUNT: u32 = 28;

impl Ucd {
    fn record(&self, cp: u32) -> [u8; 5] {
        let i = self.runs.partition_point(|&(start, _)| start <= cp);
        let r = i
            .checked_sub(1)
            .and_then(|i| self.records.get(self.runs[i].1 as usize));
        r.copied().unwrap_or([0, 0, 0, 5, 0])
    }

    fn ccc(&self, cp: u32) -> u8 {
        self.record(cp)[2]
    }

    fn decomposition(&self, cp: u32) -> Option<&str> {
        let i = self.decomps.binary_search_by_key(&cp, |d| d.0).ok()?;
        Some(&self.decomps[i].1)
    }

    /// The code points of `cp`'s decomposition mapping (a tagged one only if `compat`).
    fn mapping(&self, cp: u32, compat: bool) -> Option<Vec<u32>> {
        let d = self.decomposition(cp)?;
        let mut parts = d.split(' ').peekable();
        if parts.peek()?.starts_with('<') {
            if !compat {
                return None;
            }
            parts.next();
        }
        parts.map(|h| u32::from_str_radix(h, 16).ok()).collect()
    }

    fn canonical(&self, cp: u32) -> Option<Vec<u32>> {
        self.mapping(cp, false)
    }

    fn numeric(&self, cp: u32) -> Option<(i8, i8, f64)> {
        let i = self.numerics.binary_search_by_key(&cp, |n| n.0).ok()?;
        let (_, dec, dig, num) = self.numerics[i];
        Some((dec, dig, num))
    }

    fn name(&self, cp: u32) -> Option<String> {
        if let Ok(i) = self.names.binary_search_by_key(&cp, |n| n.0) {
            return Some(self.names[i].1.to_string());
        }
        let i = self.ranges.partition_point(|r| r.0 <= cp).checked_sub(1)?;
        let (first, last, prefix) = &self.ranges[i];
        (*first..=*last)
            .contains(&cp)
            .then(|| format!("{prefix}{cp:04X}"))
    }

    fn lookup(&self, name: &str) -> Option<u32> {
        let upper = name.to_ascii_uppercase();
        for (first, last, prefix) in &self.ranges {
            // As CPython: CJK unified ideographs' names are made from the code point, and match
            // in upper case only, with 4 or 5 hex digits; the other made names are in its table
            // of names, matched in any case.
            let unified = &**prefix == "CJK UNIFIED IDEOGRAPH-";
            let Some(hex) = (if unified { name } else { &upper }).strip_prefix(&**prefix) else {
                continue;
            };
            let ok = (4..=5).contains(&hex.len())
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
            match u32::from_str_radix(hex, 16) {
                Ok(cp)
                    if ok
                        && (*first..=*last).contains(&cp)
                        && (unified || format!("{cp:04X}") == hex) =>
                {
                    return Some(cp)
                }
                _ => {}
            }
        }
        let by_name = self
            .by_name
            .get_or_init(|| self.names.iter().map(|(cp, n)| (n.clone(), *cp)).collect());
        let cp = *by_name.get(upper.as_str())?;
        // Hangul syllables' names are made too, and match in upper case only.
        if (HANGUL_FIRST..=HANGUL_LAST).contains(&cp) && !name.starts_with("HANGUL SYLLABLE ") {
            return None;
        }
        Some(cp)
    }

    /// Full decomposition (canonical, or compatibility if `compat`) in canonical order.
    fn decompose(&self, s: &str, compat: bool) -> Vec<u32> {
        let mut out = Vec::with_capacity(s.len());
        let mut stack = Vec::new();
        for c in s.chars() {
            stack.push(c as u32);
            while let Some(cp) = stack.pop() {
                if (HANGUL_FIRST..=HANGUL_LAST).contains(&cp) {
                    let s = cp - HANGUL_FIRST;
                    out.push(L_BASE + s / (V_COUNT * T_COUNT));
                    out.push(V_BASE + (s % (V_COUNT * T_COUNT)) / T_COUNT);
                    if !s.is_multiple_of(T_COUNT) {
                        out.push(T_BASE + s % T_COUNT);
                    }
                } else if let Some(m) = self.mapping(cp, compat) {
                    stack.extend(m.into_iter().rev());
                } else {
                    out.push(cp);
                }
            }
        }
        // Canonical ordering: each run of non-starters sorted (stably) by combining class.
        let mut i = 0;
        while i < out.len() {
            if self.ccc(out[i]) == 0 {
                i += 1;
                continue;
            }
            let start = i;
            while i < out.len() && self.ccc(out[i]) != 0 {
                i += 1;
            }
            out[start..i].sort_by_key(|&cp| self.ccc(cp));
        }
        out
    }

    fn compose_pair(&self, a: u32, b: u32) -> Option<u32> {
        if (L_BASE..L_BASE + 19).contains(&a) && (V_BASE..V_BASE + V_COUNT).contains(&b) {
            return Some(HANGUL_FIRST + ((a - L_BASE) * V_COUNT + (b - V_BASE)) * T_COUNT);
        }
        if (HANGUL_FIRST..=HANGUL_LAST).contains(&a)
            && (a - HANGUL_FIRST).is_multiple_of(T_COUNT)
            && (T_BASE + 1..T_BASE + T_COUNT).contains(&b)
        {
            return Some(a + (b - T_BASE));
        }
        self.compose.get(&(a, b)).copied()
    }

    /// The canonical composition of a decomposed, canonically ordered string.
    fn compose(&self, cps: Vec<u32>) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::with_capacity(cps.len());
        let mut starter: Option<usize> = None;
        let mut last_ccc = 0u8;
        for cp in cps {
            let ccc = self.ccc(cp);
            if let Some(si) = starter {
                let adjacent = out.len() == si + 1;
                if adjacent || (last_ccc != 0 && last_ccc < ccc) {
                    if let Some(c) = self.compose_pair(out[si], cp) {
                        out[si] = c;
                        continue;
                    }
                }
            }
            if ccc == 0 {
                starter = Some(out.len());
            }
            last_ccc = ccc;
            out.push(cp);
        }
        out
    }

    fn normalize(&self, form: &str, s: &str) -> PyResult<String> {
        let cps = match form {
            "NFC" => self.compose(self.decompose(s, false)),
            "NFKC" => self.compose(self.decompose(s, true)),
            "NFD" => self.decompose(s, false),
            "NFKD" => self.decompose(s, true),
            _ => return Err(err!(ValueError, "invalid normalization form")),
        };
        Ok(cps.into_iter().filter_map(char::from_u32).collect())
    }
}

/// The NFKC form of an identifier, for the compiler (PEP 3131; set up by `Vm::new` through
/// `minivm_compiler::set_name_normalizer`).
pub(crate) fn nfkc_name(s: &str) -> Option<String> {
    ucd().ok()?.normalize("NFKC", s).ok()
}

/// The one character argument of `fname` (its `argument 1` when the function takes more).
fn char_arg(args: &Args<'_>, fname: &str, min: usize, max: usize) -> PyResult<u32> {
    args.range(fname, min, max)?;
    let v = &args.pos[0];
    let mut chars = v.as_str().map(|s| s.chars());
    match chars.as_mut().map(|c| (c.next(), c.next())) {
        Some((Some(c), None)) => Ok(c as u32),
        _ => {
            let which = if max > 1 { " 1" } else { "" };
            Err(err!(
                TypeError,
                "{fname}() argument{which} must be a unicode character, not {}",
                type_name(v)
            ))
        }
    }
}

/// `default` if given, else the ValueError `msg`.
fn or_default(args: &Args<'_>, msg: &str) -> PyResult<Value> {
    args.pos
        .get(1)
        .cloned()
        .ok_or_else(|| err!(ValueError, "{msg}"))
}

fn lookup(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let v = args.one("lookup")?;
    let Some(name) = v.as_str() else {
        return Err(err!(
            TypeError,
            "a bytes-like object is required, not '{}'",
            type_name(v)
        ));
    };
    if name.len() > 256 {
        return Err(err!(KeyError, "name too long"));
    }
    match ucd()?.lookup(name).and_then(char::from_u32) {
        Some(c) => Ok(Value::str(c.encode_utf8(&mut [0; 4]))),
        None => Err(err!(KeyError, "undefined character name '{name}'")),
    }
}

fn name(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let cp = char_arg(&args, "name", 1, 2)?;
    match ucd()?.name(cp) {
        Some(n) => Ok(Value::str(&n)),
        None => or_default(&args, "no such name"),
    }
}

fn decimal(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let cp = char_arg(&args, "decimal", 1, 2)?;
    match ucd()?.numeric(cp) {
        Some((d, _, _)) if d >= 0 => Ok(Value::Int(d.into())),
        _ => or_default(&args, "not a decimal"),
    }
}

fn digit(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let cp = char_arg(&args, "digit", 1, 2)?;
    match ucd()?.numeric(cp) {
        Some((_, d, _)) if d >= 0 => Ok(Value::Int(d.into())),
        _ => or_default(&args, "not a digit"),
    }
}

fn numeric(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let cp = char_arg(&args, "numeric", 1, 2)?;
    match ucd()?.numeric(cp) {
        Some((_, _, n)) => Ok(Value::Float(n)),
        None => or_default(&args, "not a numeric character"),
    }
}

/// One field of a code point's property record, as a string from `table`.
fn field(args: &Args<'_>, fname: &str, i: usize, table: &[&str]) -> PyResult<Value> {
    let cp = char_arg(args, fname, 1, 1)?;
    let r = ucd()?.record(cp);
    Ok(Value::str(table.get(r[i] as usize).copied().unwrap_or("")))
}

fn category(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    field(&args, "category", 0, &CATEGORIES)
}

fn bidirectional(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    field(&args, "bidirectional", 1, &BIDI)
}

fn east_asian_width(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    field(&args, "east_asian_width", 3, &EAW)
}

fn combining(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let cp = char_arg(&args, "combining", 1, 1)?;
    Ok(Value::Int(ucd()?.ccc(cp).into()))
}

fn mirrored(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let cp = char_arg(&args, "mirrored", 1, 1)?;
    Ok(Value::Int(ucd()?.record(cp)[4].into()))
}

fn decomposition(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let cp = char_arg(&args, "decomposition", 1, 1)?;
    Ok(Value::str(ucd()?.decomposition(cp).unwrap_or("")))
}

/// `normalize`'s and `is_normalized`'s arguments: the form and the string.
fn form_and_text<'a>(args: &'a Args<'_>, fname: &str) -> PyResult<(&'a str, &'a str)> {
    args.range(fname, 2, 2)?;
    let text = |i: usize| {
        let v = &args.pos[i];
        v.as_str().ok_or_else(|| -> PyErr {
            err!(
                TypeError,
                "{fname}() argument {} must be str, not {}",
                i + 1,
                type_name(v)
            )
        })
    };
    Ok((text(0)?, text(1)?))
}

fn normalize(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (form, s) = form_and_text(&args, "normalize")?;
    let ucd = ucd()?;
    let out = ucd.normalize(form, s)?;
    // As CPython: an already normal string comes back as itself.
    if out == s {
        return Ok(args.pos[1].clone());
    }
    Ok(Value::str(&out))
}

fn is_normalized(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (form, s) = form_and_text(&args, "is_normalized")?;
    Ok(Value::Bool(ucd()?.normalize(form, s)? == s))
}
