//! `marshal` (stdlib stage): CPython's internal value format, versions 0 to 4, byte for byte.
//!
//! `dumps(value, version=4)` / `dump(value, file, version=4)` write `None`, bools, `...`,
//! `StopIteration`, ints of any size, floats, complex numbers, str, bytes, bytearray, tuples,
//! lists, dicts, sets and frozensets; anything else is CPython's `ValueError: unmarshallable
//! object`. `loads(bytes)` / `load(file)` read every type code CPython 3.11 writes, except code
//! objects (minivm's bytecode is not CPython's): they are a clear `NotImplementedError`.
//!
//! Version 3 on, CPython flags an object that is referenced more than once (`FLAG_REF`) so that
//! a second meeting writes a back reference; which objects it flags depends on their reference
//! counts. minivm follows the same rule with its own counts for heap values (strs, bytes,
//! tuples, lists, dicts, sets, big ints: a temporary `[1, 2]` is not flagged, a list a variable
//! holds is), and treats what CPython keeps once per process as shared: small ints, the empty
//! and one-character strs, the empty and one-byte bytes, the empty tuple. minivm's ints (of
//! `i64` size) and floats are not heap objects: they count as the constants of the program
//! (CPython's constants are shared by the code object, so flagged), and two equal ones are one
//! object; a str, bytes, big int or tuple inside a tuple counts as shared (the items of a
//! constant tuple are). A str is written as interned (type `Z`/`A`/`t`) when minivm interned it
//! too: the string constants made of name characters (interned when code is loaded, as
//! CPython's compiler does), `sys.intern`'s, and those `marshal.loads` read as interned.

use std::collections::HashMap;

use crate::builtins::args::ArgsExt;
use crate::builtins::complex::{as_complex, new_complex, Complex};
use crate::builtins::Methods;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::num::BigInt;
use crate::object::class::{types, ExcKind};
use crate::object::{type_name, Dict, KeySet, List, Module, SetObj};
use crate::value::Value;
use crate::{err, PyErr, PyResult};

const FUNCS: Methods = &[
    ("dump", dump),
    ("dumps", dumps),
    ("load", load),
    ("loads", loads),
];

/// CPython's `Py_MARSHAL_VERSION`.
const VERSION: i64 = 4;
/// CPython's `MAX_MARSHAL_STACK_DEPTH` (both ways).
const MAX_DEPTH: usize = 2000;
const FLAG_REF: u8 = 0x80;

pub fn module() -> Ref<Module> {
    // Its `__doc__` is CPython's (`module_docs`), set on import.
    super::module_from_fns("marshal", FUNCS, vec![("version", Value::Int(VERSION))])
}

// --- writing -----------------------------------------------------------------------------------

/// Why a dump failed (CPython's `WFERR_*`).
enum WErr {
    Unmarshallable,
    TooDeep,
    Code,
}

/// What the back-reference table knows an object by: its identity, or its value for the
/// objects CPython keeps one of (small ints, one-character strs...) and for minivm's inline
/// ints and floats (see the module comment).
#[derive(Hash, PartialEq, Eq)]
enum RefKey {
    Id(usize),
    Int(i64),
    Float(u64),
    Complex(u64, u64),
    Char(u32),
    Byte(u16),
}

struct Writer {
    out: Vec<u8>,
    version: i64,
    refs: HashMap<RefKey, u32>,
    /// The objects in `refs` by identity, alive until the end so that no identity is reused.
    keep: Vec<Value>,
}

/// How the walk met a value, which says how to read its reference count.
#[derive(Clone, Copy, PartialEq)]
enum Via {
    /// The argument of `dumps`.
    Top,
    /// An item of a list, dict or set: the walk holds one reference of its own to it (a
    /// snapshot of the container's items).
    Snapshot,
    /// An item of a tuple: a str, bytes, big int or tuple there counts as shared, as the
    /// items of CPython's constant tuples are (and those of tuples built of variables).
    Tuple,
}

/// More than one reference to a heap object, leaving out those the walk itself holds.
fn counted<T>(r: &Ref<T>, via: Via) -> bool {
    let extra = usize::from(via == Via::Snapshot);
    Ref::is_immortal(r) || Ref::count(r) > 1 + extra
}

/// `counted`, or an atom (str, bytes, big int, tuple) in a tuple.
fn shared_atom<T>(r: &Ref<T>, via: Via) -> bool {
    via == Via::Tuple || counted(r, via)
}

impl Writer {
    fn byte(&mut self, b: u8) {
        self.out.push(b);
    }

    fn long(&mut self, x: i32) {
        self.out.extend_from_slice(&x.to_le_bytes());
    }

    fn size(&mut self, n: usize) -> Result<(), WErr> {
        let n = i32::try_from(n).map_err(|_| WErr::Unmarshallable)?;
        self.long(n);
        Ok(())
    }

    fn pstring(&mut self, data: &[u8]) -> Result<(), WErr> {
        self.size(data.len())?;
        self.out.extend_from_slice(data);
        Ok(())
    }

    fn short_pstring(&mut self, data: &[u8]) {
        self.byte(data.len() as u8);
        self.out.extend_from_slice(data);
    }

    /// The key and sharedness of `v` for the back-reference table; `None`: never shared.
    fn ref_key(v: &Value, via: Via) -> Option<RefKey> {
        let id = RefKey::Id(v.id());
        match v {
            Value::Int(i) => Some(RefKey::Int(*i)),
            Value::Float(f) => Some(RefKey::Float(f.to_bits())),
            Value::Str(s) => super::pickle::cached_str(s.as_str())
                .map(RefKey::Char)
                .or_else(|| shared_atom(s, via).then_some(id)),
            Value::Bytes(b) => match b.as_bytes() {
                [] => Some(RefKey::Byte(256)),
                [c] => Some(RefKey::Byte(u16::from(*c))),
                _ => shared_atom(b, via).then_some(id),
            },
            Value::Tuple(t) if t.items.is_empty() => Some(id),
            Value::Tuple(t) => shared_atom(t, via).then_some(id),
            Value::BigInt(r) => shared_atom(r, via).then_some(id),
            Value::List(r) => counted(r, via).then_some(id),
            Value::Dict(r) => counted(r, via).then_some(id),
            Value::Set(r) => counted(r, via).then_some(id),
            Value::ByteArray(r) => counted(r, via).then_some(id),
            Value::Complex(_) | Value::Instance(_) => as_complex(v)
                .map(|c| RefKey::Complex(c.re.to_bits(), c.im.to_bits()))
                .or(Some(id)),
            _ => Some(id),
        }
    }

    /// `w_object`: `v`, met as `via` says.
    fn object(&mut self, v: &Value, via: Via, depth: usize) -> Result<(), WErr> {
        if depth > MAX_DEPTH {
            return Err(WErr::TooDeep);
        }
        let singleton = match v {
            Value::None => Some(b'N'),
            Value::Bool(true) => Some(b'T'),
            Value::Bool(false) => Some(b'F'),
            Value::Ellipsis => Some(b'.'),
            Value::Class(c) if Ref::ptr_eq(c, types().exc(ExcKind::StopIteration)) => Some(b'S'),
            _ => None,
        };
        if let Some(code) = singleton {
            self.byte(code);
            return Ok(());
        }
        let interned = match v {
            Value::Str(s) => s.as_str().is_empty() || crate::object::is_interned(s),
            _ => false,
        };
        let mut flag = 0;
        if self.version >= 3 {
            if let Some(key) = Self::ref_key(v, via) {
                if let Some(&idx) = self.refs.get(&key) {
                    self.byte(b'r');
                    self.long(idx as i32);
                    return Ok(());
                }
                if matches!(key, RefKey::Id(_)) {
                    self.keep.push(v.clone());
                }
                let idx = u32::try_from(self.refs.len()).map_err(|_| WErr::Unmarshallable)?;
                self.refs.insert(key, idx);
                flag = FLAG_REF;
            }
        }
        self.complex_object(v, flag, interned, depth)
    }

    /// `w_complex_object`: the type code (with `flag`) and the contents (`interned`: a str's
    /// type code says it is interned).
    fn complex_object(
        &mut self,
        v: &Value,
        flag: u8,
        interned: bool,
        depth: usize,
    ) -> Result<(), WErr> {
        match v {
            Value::Int(i) => match i32::try_from(*i) {
                Ok(x) => {
                    self.byte(b'i' | flag);
                    self.long(x);
                }
                Err(_) => self.long_digits(&BigInt::from(*i), flag)?,
            },
            Value::BigInt(b) => self.long_digits(b, flag)?,
            Value::Float(f) => {
                if self.version > 1 {
                    self.byte(b'g' | flag);
                    self.out.extend_from_slice(&f.to_le_bytes());
                } else {
                    self.byte(b'f' | flag);
                    self.float_str(*f);
                }
            }
            Value::Bytes(b) => {
                self.byte(b's' | flag);
                self.pstring(b.as_bytes())?;
            }
            Value::ByteArray(b) => {
                self.byte(b's' | flag);
                self.pstring(&b.snapshot())?;
            }
            Value::Str(s) => self.text(s.as_str(), flag, interned)?,
            Value::Tuple(t) => {
                let n = t.items.len();
                if self.version >= 4 && n < 256 {
                    self.byte(b')' | flag);
                    self.byte(n as u8);
                } else {
                    self.byte(b'(' | flag);
                    self.size(n)?;
                }
                for item in t.items.iter() {
                    self.object(item, Via::Tuple, depth + 1)?;
                }
            }
            Value::List(l) => {
                self.byte(b'[' | flag);
                let items = l.snapshot();
                self.size(items.len())?;
                for item in &items {
                    self.object(item, Via::Snapshot, depth + 1)?;
                }
            }
            Value::Dict(d) => {
                self.byte(b'{' | flag);
                for (k, val) in d.items() {
                    self.object(&k, Via::Snapshot, depth + 1)?;
                    self.object(&val, Via::Snapshot, depth + 1)?;
                }
                self.byte(b'0');
            }
            Value::Set(s) => {
                self.byte(if s.frozen { b'>' } else { b'<' } | flag);
                let items = s.snapshot();
                self.size(items.len())?;
                for item in &items {
                    self.object(item, Via::Snapshot, depth + 1)?;
                }
            }
            Value::Complex(_) => {
                let c = as_complex(v).unwrap_or(Complex::new(0.0, 0.0));
                if self.version > 1 {
                    self.byte(b'y' | flag);
                    self.out.extend_from_slice(&c.re.to_le_bytes());
                    self.out.extend_from_slice(&c.im.to_le_bytes());
                } else {
                    self.byte(b'x' | flag);
                    self.float_str(c.re);
                    self.float_str(c.im);
                }
            }
            _ if type_name(v) == "code" => return Err(WErr::Code),
            _ => {
                self.byte(b'?' | flag);
                return Err(WErr::Unmarshallable);
            }
        }
        Ok(())
    }

    /// A str: ASCII in one of the version 4 forms, else UTF-8 (`u`, or `t` when interned).
    fn text(&mut self, s: &str, flag: u8, interned: bool) -> Result<(), WErr> {
        if self.version >= 4 && s.is_ascii() {
            if s.len() < 256 {
                self.byte(if interned { b'Z' } else { b'z' } | flag);
                self.short_pstring(s.as_bytes());
            } else {
                self.byte(if interned { b'A' } else { b'a' } | flag);
                self.pstring(s.as_bytes())?;
            }
        } else {
            let t = if self.version >= 3 && interned {
                b't'
            } else {
                b'u'
            };
            self.byte(t | flag);
            self.pstring(s.as_bytes())?;
        }
        Ok(())
    }

    /// `TYPE_LONG`: the signed count of 15-bit digits, then the digits, least significant
    /// first, as 16-bit little-endian numbers.
    fn long_digits(&mut self, b: &BigInt, flag: u8) -> Result<(), WErr> {
        self.byte(b'l' | flag);
        let words = b.magnitude().to_u64_digits();
        let bits = b.bits() as usize;
        let n = bits.div_ceil(15);
        let n32 = i32::try_from(n).map_err(|_| WErr::Unmarshallable)?;
        self.long(if b.sign() == num_bigint::Sign::Minus {
            -n32
        } else {
            n32
        });
        for i in 0..n {
            let (bit, mut d) = (i * 15, 0u64);
            let (w, off) = (bit / 64, bit % 64);
            d |= words[w] >> off;
            if off > 64 - 15 {
                if let Some(next) = words.get(w + 1) {
                    d |= next << (64 - off);
                }
            }
            self.out
                .extend_from_slice(&((d & 0x7fff) as u16).to_le_bytes());
        }
        Ok(())
    }

    /// Versions 0 and 1: a float as text, `'%.17g' % f`.
    fn float_str(&mut self, f: f64) {
        let text = crate::num::format_spec::format_float(f, ".17g").unwrap_or_default();
        self.short_pstring(text.as_bytes());
    }
}

/// The bytes of `value` in marshal format `version`, or CPython's error.
fn marshal(value: &Value, version: i64) -> PyResult<Value> {
    let mut w = Writer {
        out: Vec::new(),
        version,
        refs: HashMap::new(),
        keep: Vec::new(),
    };
    match w.object(value, Via::Top, 0) {
        Ok(()) => Ok(Value::bytes(w.out)),
        Err(WErr::Unmarshallable) => Err(err!(ValueError, "unmarshallable object")),
        Err(WErr::TooDeep) => Err(err!(ValueError, "object too deeply nested to marshal")),
        Err(WErr::Code) => Err(err!(
            NotImplementedError,
            "minivm cannot marshal code objects: its bytecode is not CPython's"
        )),
    }
}

fn version_arg(v: Option<&Value>) -> PyResult<i64> {
    match v {
        None => Ok(VERSION),
        Some(v) => Ok(i64::from(crate::builtins::args::to_c_int(v)?)),
    }
}

/// `marshal.dumps(value, version=version, /)`.
fn dumps(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.no_kw("dumps")?;
    args.clinic("dumps", 1, 2)?;
    let version = version_arg(args.pos.get(1))?;
    marshal(&args.pos[0], version)
}

/// `marshal.dump(value, file, version=version, /)`: `file.write(dumps(value, version))`.
fn dump(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.no_kw("dump")?;
    args.clinic("dump", 2, 3)?;
    let version = version_arg(args.pos.get(2))?;
    let data = marshal(&args.pos[0], version)?;
    let write = interp.getattr(&args.pos[1], "write")?;
    interp.call(&write, &[data])
}

// --- reading -----------------------------------------------------------------------------------

/// Where the bytes come from: a buffer (`loads`) or a file read as needed (`load`, which leaves
/// the file just after the value, as CPython's).
struct Reader<'i> {
    interp: &'i mut Interp,
    data: Vec<u8>,
    pos: usize,
    /// `file.read`, for `load`.
    read: Option<Value>,
    refs: Vec<Option<Value>>,
}

fn eof_object() -> PyErr {
    err!(EOFError, "EOF read where object expected")
}

impl Reader<'_> {
    /// `r_string`: the next `n` bytes.
    fn take(&mut self, n: usize) -> PyResult<&[u8]> {
        if self.pos + n > self.data.len() {
            let Some(read) = self.read.clone() else {
                return Err(err!(EOFError, "marshal data too short"));
            };
            let want = self.pos + n - self.data.len();
            let got = self.interp.call(&read, &[Value::Int(want as i64)])?;
            let Some(chunk) = crate::object::bytes_like(&got) else {
                return Err(err!(
                    TypeError,
                    "file.read() returned not bytes but {}",
                    type_name(&got)
                ));
            };
            if chunk.len() > want {
                return Err(err!(
                    ValueError,
                    "read() returned too much data: {} bytes requested, {} returned",
                    want,
                    chunk.len()
                ));
            }
            let short = chunk.len() < want;
            self.data.extend_from_slice(&chunk);
            if short {
                return Err(err!(EOFError, "EOF read where not expected"));
            }
        }
        let start = self.pos;
        self.pos += n;
        Ok(&self.data[start..start + n])
    }

    /// `r_byte`: `None` at the end of the data.
    fn byte(&mut self) -> PyResult<Option<u8>> {
        if self.read.is_none() && self.pos >= self.data.len() {
            return Ok(None);
        }
        match self.take(1) {
            Ok(b) => Ok(Some(b[0])),
            Err(e) if e.is(ExcKind::EOFError) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn long(&mut self) -> PyResult<i32> {
        let b = self.take(4)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A size that must be in 0..2**31 (`what`: CPython's name for it in the error).
    fn size(&mut self, what: &str) -> PyResult<usize> {
        let n = self.long()?;
        usize::try_from(n)
            .map_err(|_| err!(ValueError, "bad marshal data ({what} size out of range)"))
    }

    fn f64(&mut self) -> PyResult<f64> {
        let b = self.take(8)?;
        let mut a = [0; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }

    /// A float written as text (versions 0 and 1).
    fn float_str(&mut self) -> PyResult<f64> {
        let n = self.byte()?.ok_or_else(eof_object)?;
        let text = String::from_utf8_lossy(self.take(n as usize)?).into_owned();
        crate::num::parse::parse_float(text.trim())
            .map_err(|_| err!(ValueError, "could not convert string to float: '{text}'"))
    }

    fn text(&mut self, n: usize) -> PyResult<String> {
        let b = self.take(n)?;
        match std::str::from_utf8(b) {
            Ok(s) => Ok(s.to_owned()),
            Err(e) => Err(err!(
                UnicodeDecodeError,
                "'utf-8' codec can't decode byte 0x{:02x} in position {}: invalid start byte",
                b[e.valid_up_to()],
                e.valid_up_to()
            )),
        }
    }

    /// `TYPE_LONG`'s digits.
    fn long_digits(&mut self) -> PyResult<Value> {
        let n = self.long()?;
        if n == 0 {
            return Ok(Value::Int(0));
        }
        if n == i32::MIN {
            return Err(err!(
                ValueError,
                "bad marshal data (long size out of range)"
            ));
        }
        let count = n.unsigned_abs() as usize;
        let mut words = vec![0u64; (count * 15).div_ceil(64)];
        for i in 0..count {
            let b = self.take(2)?;
            let d = i16::from_le_bytes([b[0], b[1]]);
            if !(0..=0x7fff).contains(&d) {
                return Err(err!(
                    ValueError,
                    "bad marshal data (digit out of range in long)"
                ));
            }
            if d == 0 && i == count - 1 {
                return Err(err!(
                    ValueError,
                    "bad marshal data (unnormalized long data)"
                ));
            }
            let (bit, d) = (i * 15, d as u64);
            words[bit / 64] |= d << (bit % 64);
            if bit % 64 > 64 - 15 {
                words[bit / 64 + 1] |= d >> (64 - bit % 64);
            }
        }
        let mag = num_bigint::BigUint::from_slice(
            &words
                .iter()
                .flat_map(|w| [*w as u32, (*w >> 32) as u32])
                .collect::<Vec<u32>>(),
        );
        let sign = if n < 0 {
            num_bigint::Sign::Minus
        } else {
            num_bigint::Sign::Plus
        };
        Ok(Value::from(BigInt::from_biguint(sign, mag)))
    }

    /// Register a finished object under FLAG_REF.
    fn keep(&mut self, flag: bool, v: Value) -> Value {
        if flag {
            self.refs.push(Some(v.clone()));
        }
        v
    }

    /// A slot for an object registered before its items are read (a tuple, a frozenset).
    fn reserve(&mut self, flag: bool) -> usize {
        if flag {
            self.refs.push(None);
        }
        self.refs.len().wrapping_sub(1)
    }

    fn fill(&mut self, flag: bool, idx: usize, v: Value) -> Value {
        if flag {
            self.refs[idx] = Some(v.clone());
        }
        v
    }

    /// An item of a container: NULL (`0`) there is CPython's TypeError.
    fn item(&mut self, depth: usize, what: &str) -> PyResult<Value> {
        self.object(depth + 1)?
            .ok_or_else(|| err!(TypeError, "NULL object in marshal data for {what}"))
    }

    /// `r_object`: `None` for TYPE_NULL (a dict's end).
    fn object(&mut self, depth: usize) -> PyResult<Option<Value>> {
        let code = self.byte()?.ok_or_else(eof_object)?;
        if depth >= MAX_DEPTH {
            return Err(err!(ValueError, "recursion limit exceeded"));
        }
        let flag = code & FLAG_REF != 0;
        let v = match code & !FLAG_REF {
            b'0' => return Ok(None),
            b'N' => Value::None,
            b'S' => Value::Class(types().exc(ExcKind::StopIteration).clone()),
            b'.' => Value::Ellipsis,
            b'F' => Value::Bool(false),
            b'T' => Value::Bool(true),
            b'i' => {
                let n = self.long()?;
                self.keep(flag, Value::Int(i64::from(n)))
            }
            b'I' => {
                let b = self.take(8)?;
                let mut a = [0; 8];
                a.copy_from_slice(b);
                self.keep(flag, Value::Int(i64::from_le_bytes(a)))
            }
            b'l' => {
                let v = self.long_digits()?;
                self.keep(flag, v)
            }
            b'f' => {
                let f = self.float_str()?;
                self.keep(flag, Value::Float(f))
            }
            b'g' => {
                let f = self.f64()?;
                self.keep(flag, Value::Float(f))
            }
            b'x' | b'y' => {
                let binary = code & !FLAG_REF == b'y';
                let re = if binary {
                    self.f64()?
                } else {
                    self.float_str()?
                };
                let im = if binary {
                    self.f64()?
                } else {
                    self.float_str()?
                };
                let c = new_complex(Complex::new(re, im));
                self.keep(flag, c)
            }
            b's' => {
                let n = self.size("bytes object")?;
                let b = self.take(n)?.to_vec();
                self.keep(flag, Value::bytes(b))
            }
            t @ (b'a' | b'A' | b'z' | b'Z' | b'u' | b't') => {
                let n = if matches!(t, b'z' | b'Z') {
                    self.byte()?.ok_or_else(eof_object)? as usize
                } else {
                    self.size("string")?
                };
                let s = if matches!(t, b'a' | b'A' | b'z' | b'Z') {
                    let b = self.take(n)?;
                    // Latin-1, as CPython reads the ASCII forms.
                    b.iter().map(|&c| char::from(c)).collect()
                } else {
                    self.text(n)?
                };
                let v = if matches!(t, b'A' | b'Z' | b't') {
                    Value::Str(crate::object::intern(&s))
                } else {
                    Value::string(s)
                };
                self.keep(flag, v)
            }
            t @ (b'(' | b')') => {
                let n = if t == b')' {
                    self.byte()?.ok_or_else(eof_object)? as usize
                } else {
                    self.size("tuple")?
                };
                let idx = self.reserve(flag);
                let mut items = Vec::with_capacity(n.min(1 << 16));
                for _ in 0..n {
                    items.push(self.item(depth, "tuple")?);
                }
                self.fill(flag, idx, Value::tuple(items))
            }
            b'[' => {
                let n = self.size("list")?;
                let list = Ref::new(List::new(Vec::with_capacity(n.min(1 << 16))));
                let v = self.keep(flag, Value::List(list.clone()));
                for _ in 0..n {
                    let item = self.item(depth, "list")?;
                    list.items.lock().push(item);
                }
                v
            }
            b'{' => {
                let d = Ref::new(Dict::new());
                let v = self.keep(flag, Value::Dict(d.clone()));
                loop {
                    let Some(key) = self.object(depth + 1)? else {
                        break;
                    };
                    let Some(val) = self.object(depth + 1)? else {
                        break;
                    };
                    let k = self.interp.dict_key(&d, key)?;
                    d.set(k, val);
                }
                v
            }
            t @ (b'<' | b'>') => {
                let n = self.size("set")?;
                let frozen = t == b'>';
                let set = Ref::new(SetObj::new(KeySet::default(), frozen));
                let idx = if frozen {
                    self.reserve(flag)
                } else {
                    self.keep(flag, Value::Set(set.clone()));
                    0
                };
                for _ in 0..n {
                    let item = self.item(depth, "set")?;
                    let k = self.interp.set_key(&set, item)?;
                    set.items.lock().insert(k);
                }
                if frozen {
                    self.fill(flag, idx, Value::Set(set))
                } else {
                    Value::Set(set)
                }
            }
            b'r' => {
                let n = self.long()?;
                match usize::try_from(n).ok().and_then(|i| self.refs.get(i)) {
                    Some(Some(v)) => v.clone(),
                    _ => return Err(err!(ValueError, "bad marshal data (invalid reference)")),
                }
            }
            b'c' => {
                return Err(err!(
                NotImplementedError,
                "minivm cannot load code objects from marshal data: they hold CPython's bytecode"
            ))
            }
            _ => return Err(err!(ValueError, "bad marshal data (unknown type code)")),
        };
        Ok(Some(v))
    }

    /// `read_object`: a whole value.
    fn value(&mut self) -> PyResult<Value> {
        self.object(0)?
            .ok_or_else(|| err!(TypeError, "NULL object in marshal data for object"))
    }
}

/// `marshal.loads(bytes, /)`: the value at the start of the data (extra bytes are ignored).
fn loads(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.no_kw("loads")?;
    let v = args.one("loads")?;
    let Some(data) = crate::object::bytes_like(v) else {
        return Err(err!(
            TypeError,
            "a bytes-like object is required, not '{}'",
            type_name(v)
        ));
    };
    let mut r = Reader {
        interp,
        data: data.into_owned(),
        pos: 0,
        read: None,
        refs: Vec::new(),
    };
    r.value()
}

/// `marshal.load(file, /)`: one value read from a binary file, which is left just after it.
fn load(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.no_kw("load")?;
    let file = args.one("load")?;
    let read = interp.getattr(file, "read")?;
    // As CPython: a zero-byte read first checks that the file gives bytes.
    let probe = interp.call(&read, &[Value::Int(0)])?;
    if !matches!(probe, Value::Bytes(_)) {
        return Err(err!(
            TypeError,
            "file.read() returned not bytes but {}",
            type_name(&probe)
        ));
    }
    let mut r = Reader {
        interp,
        data: Vec::new(),
        pos: 0,
        read: Some(read),
        refs: Vec::new(),
    };
    r.value()
}
