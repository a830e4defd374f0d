//! `binascii` (stdlib stage): conversions between binary data and ASCII encodings, as CPython's
//! C module of that name, which `base64` (`vm/lib/base64.mini`) builds on: `hexlify`/`b2a_hex`,
//! `unhexlify`/`a2b_hex`, `b2a_base64`, `a2b_base64` (with `strict_mode`), `crc32`, `crc_hqx`
//! and the exceptions `Error` (a `ValueError`) and `Incomplete`.
//! Not provided: uuencode (`b2a_uu`/`a2b_uu`) and quoted-printable (`b2a_qp`/`a2b_qp`).

use crate::builtins::args::{to_index, ArgsExt, Sig, Style};
use crate::builtins::Methods;
use crate::heap::{Global, Ref};
use crate::interp::{Args, Interp};
use crate::object::{type_name, Class, ExcKind, Module};
use crate::stdlib::sync::exception_class;
use crate::value::Value;
use crate::{err, PyErr, PyResult};

const FUNCS: Methods = &[
    ("hexlify", hexlify),
    ("b2a_hex", b2a_hex),
    ("unhexlify", unhexlify),
    ("a2b_hex", a2b_hex),
    ("b2a_base64", b2a_base64),
    ("a2b_base64", a2b_base64),
    ("crc32", crc32),
    ("crc_hqx", crc_hqx),
];

static ERROR: Global<Ref<Class>> = Global::new();
static INCOMPLETE: Global<Ref<Class>> = Global::new();

/// `binascii.Error`.
fn error_class() -> Ref<Class> {
    ERROR
        .get_or_init(|| exception_class("Error", "binascii", ExcKind::ValueError))
        .clone()
}

fn incomplete_class() -> Ref<Class> {
    INCOMPLETE
        .get_or_init(|| exception_class("Incomplete", "binascii", ExcKind::Exception))
        .clone()
}

pub fn module() -> Ref<Module> {
    super::module_from_fns(
        "binascii",
        FUNCS,
        vec![
            ("Error", Value::Class(error_class())),
            ("Incomplete", Value::Class(incomplete_class())),
        ],
    )
}

/// A `binascii.Error` with `msg`.
fn error(interp: &mut Interp, msg: String) -> PyErr {
    let cls = error_class();
    match interp.instantiate(&cls, &[Value::string(msg)], &[]) {
        Ok(v) => PyErr::from_instance(&v).unwrap_or_else(|| err!(SystemError, "binascii.Error")),
        Err(e) => e,
    }
}

/// The bytes of a binary argument (`bytes` or `bytearray`).
pub(crate) fn binary_arg(v: &Value) -> PyResult<Vec<u8>> {
    match crate::object::bytes_like(v) {
        Some(b) => Ok(b.into_owned()),
        None => Err(err!(
            TypeError,
            "a bytes-like object is required, not '{}'",
            type_name(v)
        )),
    }
}

/// The bytes of an ASCII argument: binary data, or a str of ASCII characters.
fn ascii_arg(v: &Value) -> PyResult<Vec<u8>> {
    match v {
        Value::Str(s) if s.as_str().is_ascii() => Ok(s.as_str().as_bytes().to_vec()),
        Value::Str(_) => Err(err!(
            ValueError,
            "string argument should contain only ASCII characters"
        )),
        Value::Bytes(_) | Value::ByteArray(_) => binary_arg(v),
        other => Err(err!(
            TypeError,
            "argument should be bytes, buffer or ASCII string, not '{}'",
            type_name(other)
        )),
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `hexlify(data, sep=None, bytes_per_sep=1)`: two hex digits per byte, optionally a separator
/// every `bytes_per_sep` bytes (counted from the right, or from the left when negative).
fn hex_common(args: &Args<'_>, name: &str) -> PyResult<Value> {
    let [data, sep, per] = Sig::pos(
        name,
        Style::Positional,
        &["data", "sep", "bytes_per_sep"],
        1,
    )
    .bind::<3>(args)?;
    let data = binary_arg(data.unwrap_or(&Value::None))?;
    let sep = match sep {
        None | Some(Value::None) => None,
        Some(Value::Str(s)) if s.as_str().len() == 1 && s.as_str().is_ascii() => {
            Some(s.as_str().as_bytes()[0])
        }
        Some(Value::Bytes(b)) if b.as_bytes().len() == 1 => Some(b.as_bytes()[0]),
        Some(Value::Str(_) | Value::Bytes(_)) => {
            return Err(err!(ValueError, "sep must be length 1."))
        }
        Some(other) => {
            return Err(err!(
                TypeError,
                "sep must be str or bytes, not {}",
                type_name(other)
            ))
        }
    };
    let per = match per {
        Some(v) => to_index(v)?,
        None => 1,
    };
    let mut out = Vec::with_capacity(data.len() * 3);
    let group = per.unsigned_abs() as usize;
    for (i, b) in data.iter().enumerate() {
        if let Some(s) = sep {
            if i > 0 && group > 0 {
                let boundary = if per > 0 {
                    (data.len() - i) % group == 0
                } else {
                    i % group == 0
                };
                if boundary {
                    out.push(s);
                }
            }
        }
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 15)]);
    }
    Ok(Value::bytes(out))
}

fn hexlify(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    hex_common(&args, "hexlify")
}

fn b2a_hex(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    hex_common(&args, "b2a_hex")
}

fn unhex_common(interp: &mut Interp, args: &Args<'_>, name: &str) -> PyResult<Value> {
    let [data] = Sig::pos(name, Style::Positional, &["hexstr"], 1).bind::<1>(args)?;
    let data = ascii_arg(data.unwrap_or(&Value::None))?;
    if data.len() % 2 != 0 {
        return Err(error(interp, "Odd-length string".into()));
    }
    let digit = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(data.len() / 2);
    for pair in data.chunks(2) {
        match (digit(pair[0]), digit(pair[1])) {
            (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
            _ => return Err(error(interp, "Non-hexadecimal digit found".into())),
        }
    }
    Ok(Value::bytes(out))
}

fn unhexlify(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    unhex_common(interp, &args, "unhexlify")
}

fn a2b_hex(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    unhex_common(interp, &args, "a2b_hex")
}

/// `f(data, /, *, flag=...)`: the positional data and the keyword-only flag.
fn data_and_flag<'a>(
    args: &Args<'a>,
    name: &str,
    flag: &str,
) -> PyResult<(Option<&'a Value>, Option<&'a Value>)> {
    args.only_kw(name, &[flag])?;
    match args.pos.len() {
        1 => Ok((args.pos.first(), args.kwarg(flag))),
        0 => Err(err!(
            TypeError,
            "{name}() missing required argument 'data' (pos 1)"
        )),
        n => Err(err!(
            TypeError,
            "{name}() takes exactly 1 positional argument ({n} given)"
        )),
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `b2a_base64(data, *, newline=True)`.
fn b2a_base64(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (data, newline) = data_and_flag(&args, "b2a_base64", "newline")?;
    let data = binary_arg(data.unwrap_or(&Value::None))?;
    let newline = match newline {
        Some(v) => interp.truthy(v)?,
        None => true,
    };
    let mut out = Vec::with_capacity(data.len().div_ceil(3) * 4 + 1);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(B64[(n >> 18) as usize & 63]);
        out.push(B64[(n >> 12) as usize & 63]);
        out.push(if chunk.len() > 1 {
            B64[(n >> 6) as usize & 63]
        } else {
            b'='
        });
        out.push(if chunk.len() > 2 {
            B64[n as usize & 63]
        } else {
            b'='
        });
    }
    if newline {
        out.push(b'\n');
    }
    Ok(Value::bytes(out))
}

/// The value of a base64 character, or `None`.
fn b64_value(c: u8) -> Option<u8> {
    let v = B64_VALUES[usize::from(c)];
    (v != 0xff).then_some(v)
}

/// Each byte's value in the Base64 alphabet, 0xff for bytes outside it: one load per character
/// instead of a chain of range tests.
const B64_VALUES: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    t[b'+' as usize] = 62;
    t[b'/' as usize] = 63;
    t
};

/// `a2b_base64(data, *, strict_mode=False)`, as CPython decodes: characters outside the
/// alphabet are skipped (an error in strict mode), a complete padding ends the data.
fn a2b_base64(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (data, strict) = data_and_flag(&args, "a2b_base64", "strict_mode")?;
    let data = ascii_arg(data.unwrap_or(&Value::None))?;
    let strict = match strict {
        Some(v) => interp.truthy(v)?,
        None => false,
    };
    if strict && data.first() == Some(&b'=') {
        return Err(error(interp, "Leading padding not allowed".into()));
    }
    let mut out = Vec::with_capacity(data.len() / 4 * 3);
    let mut quad_pos = 0;
    let mut left: u32 = 0;
    let mut pads = 0;
    let mut padding_started = false;
    let mut finished = false;
    // The body first, four characters at a time while all four are in the alphabet: what the
    // loop below makes of them from a quad's start, without its per-character state.
    let mut start = 0;
    for quad in data.chunks_exact(4) {
        let [a, b, c, d] = [quad[0], quad[1], quad[2], quad[3]].map(|c| B64_VALUES[usize::from(c)]);
        // (Values are six bits; a byte outside the alphabet is 0xff.)
        if (a | b | c | d) > 63 {
            break;
        }
        let n = (u32::from(a) << 18) | (u32::from(b) << 12) | (u32::from(c) << 6) | u32::from(d);
        out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
        start += 4;
    }
    for (i, &c) in data.iter().enumerate().skip(start) {
        if c == b'=' {
            padding_started = true;
            if quad_pos >= 2 {
                pads += 1;
                if quad_pos + pads >= 4 {
                    if strict && i + 1 < data.len() {
                        return Err(error(interp, "Excess data after padding".into()));
                    }
                    finished = true;
                    break;
                }
            }
            continue;
        }
        let Some(v) = b64_value(c) else {
            if strict {
                return Err(error(interp, "Only base64 data is allowed".into()));
            }
            continue;
        };
        if strict && padding_started {
            return Err(error(interp, "Discontinuous padding not allowed".into()));
        }
        pads = 0;
        let v = u32::from(v);
        match quad_pos {
            0 => {
                left = v;
                quad_pos = 1;
            }
            1 => {
                out.push(((left << 2) | (v >> 4)) as u8);
                left = v & 0x0f;
                quad_pos = 2;
            }
            2 => {
                out.push(((left << 4) | (v >> 2)) as u8);
                left = v & 0x03;
                quad_pos = 3;
            }
            _ => {
                out.push(((left << 6) | v) as u8);
                left = 0;
                quad_pos = 0;
            }
        }
    }
    if !finished && quad_pos != 0 {
        let msg = if quad_pos == 1 {
            format!(
                "Invalid base64-encoded string: number of data characters ({}) cannot be 1 more than a multiple of 4",
                out.len() / 3 * 4 + 1
            )
        } else {
            "Incorrect padding".to_string()
        };
        return Err(error(interp, msg));
    }
    Ok(Value::bytes(out))
}

/// An unsigned 32-bit starting value (ints of any sign or size are taken modulo 2**32).
pub(crate) fn start_value(v: Option<&Value>) -> PyResult<u32> {
    match v {
        None => Ok(0),
        Some(v) => {
            let n = crate::builtins::args::to_bigint(v)?;
            let m = n.as_ref() & crate::num::bigint::BigInt::from(0xffff_ffffu32);
            Ok(num_traits::ToPrimitive::to_u32(&m).unwrap_or(0))
        }
    }
}

/// `crc32(data, value=0)`: the CRC-32 of zlib and PNG (reflected polynomial 0xEDB88320).
fn crc32(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [data, value] =
        Sig::pos("crc32", Style::Positional, &["data", "crc"], 1).bind::<2>(&args)?;
    let data = binary_arg(data.unwrap_or(&Value::None))?;
    Ok(Value::Int(i64::from(crc32_update(
        start_value(value)?,
        &data,
    ))))
}

/// Continue the CRC-32 `crc` over `data` (ISO-HDLC, zlib's and CPython's).
pub fn crc32_update(crc: u32, data: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new_with_initial(crc);
    hasher.update(data);
    hasher.finalize()
}

/// `crc_hqx(data, value)`: the CRC-CCITT of binhex4 (polynomial 0x1021, not reflected).
fn crc_hqx(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [data, value] =
        Sig::pos("crc_hqx", Style::Positional, &["data", "crc"], 2).bind::<2>(&args)?;
    let data = binary_arg(data.unwrap_or(&Value::None))?;
    let mut c = start_value(value)? & 0xffff;
    for &b in &data {
        c ^= u32::from(b) << 8;
        for _ in 0..8 {
            c = if c & 0x8000 != 0 {
                ((c << 1) ^ 0x1021) & 0xffff
            } else {
                (c << 1) & 0xffff
            };
        }
    }
    Ok(Value::Int(i64::from(c)))
}
