//! Text encodings (stage: built-ins): `str.encode` and `bytes.decode` for UTF-8, ASCII, Latin-1,
//! Windows-1252 (`cp1252`, CPython's `charmap` codec over its table), UTF-16 and UTF-32 (with a
//! byte order mark, little-endian as CPython on x86, or `-le`/`-be` without one),
//! with the error handlers `strict`, `ignore`, `replace`, `backslashreplace` and (encoding only)
//! `xmlcharrefreplace`. Errors are CPython's `UnicodeEncodeError`/`UnicodeDecodeError`, whose
//! `args` are `(encoding, object, start, end, reason)` and whose text is built from them.

use std::fmt::Write;
use std::sync::Arc;

use crate::heap::Ref;

use crate::error::{PyErr, PyResult};
use crate::object::{types, ExcKind};
use crate::value::Value;
use crate::{err, raise};

/// The encodings minivm knows, under CPython's canonical names (used in error messages).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Encoding {
    Utf8,
    /// UTF-8 with a byte order mark: written before the text, skipped (if there) when read.
    Utf8Sig,
    Ascii,
    Latin1,
    /// Windows-1252: Latin-1 but for 0x80-0x9F, which hold typographic characters (five of
    /// those bytes are undefined).
    Cp1252,
    /// UTF-16: a BOM, then little-endian; decoding follows the BOM (little-endian without one).
    Utf16,
    Utf16Le,
    Utf16Be,
    /// UTF-32, as UTF-16.
    Utf32,
    Utf32Le,
    Utf32Be,
}

/// What the bytes 0x80-0x9F are in Windows-1252 (kept by the lexer, which reads source files
/// declared `cp1252` with it).
use minivm_compiler::CP1252_HIGH;

impl Encoding {
    /// Look an encoding name up as CPython's codec registry does (case, `-`, `_` and spaces do not
    /// matter): `LookupError: unknown encoding: x` otherwise.
    pub fn lookup(name: &str) -> PyResult<Encoding> {
        // CPython hands the name to C as a string first.
        if name.contains('\0') {
            raise!(ValueError, "embedded null character");
        }
        let norm: String = name
            .trim()
            .chars()
            .map(|c| match c {
                '-' | ' ' => '_',
                c => c.to_ascii_lowercase(),
            })
            .collect();
        Ok(match norm.as_str() {
            "utf_8" | "utf8" | "u8" | "utf" | "cp65001" => Encoding::Utf8,
            "utf_8_sig" => Encoding::Utf8Sig,
            "ascii" | "us_ascii" | "646" => Encoding::Ascii,
            "latin_1" | "latin1" | "latin" | "l1" | "iso_8859_1" | "iso8859_1" | "8859"
            | "cp819" | "iso_ir_100" => Encoding::Latin1,
            "cp1252" | "windows_1252" | "1252" => Encoding::Cp1252,
            "utf_16" | "utf16" | "u16" => Encoding::Utf16,
            "utf_16_le" | "utf_16le" | "unicodelittleunmarked" => Encoding::Utf16Le,
            "utf_16_be" | "utf_16be" | "unicodebigunmarked" => Encoding::Utf16Be,
            "utf_32" | "utf32" | "u32" => Encoding::Utf32,
            "utf_32_le" | "utf_32le" => Encoding::Utf32Le,
            "utf_32_be" | "utf_32be" => Encoding::Utf32Be,
            n if cpython_knows(n) => raise!(
                NotImplementedError,
                "minivm supports only the utf-8, utf-8-sig, ascii, latin-1, cp1252, utf-16 and utf-32 encodings, not '{name}'"
            ),
            _ => raise!(LookupError, "unknown encoding: {name}"),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf8Sig => "utf-8-sig",
            Encoding::Ascii => "ascii",
            Encoding::Latin1 => "latin-1",
            Encoding::Cp1252 => "cp1252",
            Encoding::Utf16 => "utf-16",
            Encoding::Utf16Le => "utf-16-le",
            Encoding::Utf16Be => "utf-16-be",
            Encoding::Utf32 => "utf-32",
            Encoding::Utf32Le => "utf-32-le",
            Encoding::Utf32Be => "utf-32-be",
        }
    }

    /// Whether a character takes several bytes that are not UTF-8 (UTF-16, UTF-32): text files
    /// and pipes, which find line ends in the bytes, do not take these.
    pub fn is_wide(self) -> bool {
        self.unit_width().is_some()
    }

    /// [`Encoding::lookup`] for a pipe's text stream: a UTF-16/UTF-32 or UTF-8-with-BOM one is a
    /// clear NotImplementedError (pipes find line ends in the bytes).
    pub fn lookup_stream(name: &str) -> PyResult<Encoding> {
        let enc = Encoding::lookup(name)?;
        if enc.is_wide() || enc.bom().is_some() {
            raise!(
                NotImplementedError,
                "minivm's pipes do not support the '{}' encoding (files, str.encode and bytes.decode do)",
                enc.name()
            );
        }
        Ok(enc)
    }

    /// The byte order mark a stream in this encoding starts with (`utf-16`, `utf-32` in this
    /// machine's little-endian order, `utf-8-sig`); `None` for the others.
    pub fn bom(self) -> Option<&'static [u8]> {
        match self {
            Encoding::Utf16 => Some(b"\xff\xfe"),
            Encoding::Utf32 => Some(b"\xff\xfe\x00\x00"),
            Encoding::Utf8Sig => Some(b"\xef\xbb\xbf"),
            _ => None,
        }
    }

    /// The encoding that goes on after the BOM has been written (this machine's byte order).
    pub fn without_bom(self) -> Encoding {
        match self {
            Encoding::Utf16 => Encoding::Utf16Le,
            Encoding::Utf32 => Encoding::Utf32Le,
            Encoding::Utf8Sig => Encoding::Utf8,
            other => other,
        }
    }

    /// How many bytes the text `s` takes in this encoding (no BOM), assuming it encodes whole
    /// (a file's position behind text read ahead).
    pub fn byte_len(self, s: &str) -> usize {
        match self {
            Encoding::Utf8 | Encoding::Utf8Sig => s.len(),
            Encoding::Utf16 | Encoding::Utf16Le | Encoding::Utf16Be => 2 * s.encode_utf16().count(),
            Encoding::Utf32 | Encoding::Utf32Le | Encoding::Utf32Be => 4 * s.chars().count(),
            Encoding::Ascii | Encoding::Latin1 | Encoding::Cp1252 => s.chars().count(),
        }
    }

    /// The code unit of UTF-16/UTF-32: (bytes, big-endian, starts with a BOM).
    fn unit_width(self) -> Option<(usize, bool, bool)> {
        match self {
            Encoding::Utf16 => Some((2, false, true)),
            Encoding::Utf16Le => Some((2, false, false)),
            Encoding::Utf16Be => Some((2, true, false)),
            Encoding::Utf32 => Some((4, false, true)),
            Encoding::Utf32Le => Some((4, false, false)),
            Encoding::Utf32Be => Some((4, true, false)),
            _ => None,
        }
    }

    /// The codec name a Unicode error carries: CPython's table codecs all say `charmap`.
    fn error_name(self) -> &'static str {
        match self {
            Encoding::Cp1252 => "charmap",
            Encoding::Utf8Sig => "utf-8",
            other => other.name(),
        }
    }

    /// Why a character or byte does not map, as the `reason` of a Unicode error.
    fn reason(self) -> &'static str {
        match self {
            Encoding::Cp1252 => "character maps to <undefined>",
            Encoding::Latin1 => "ordinal not in range(256)",
            _ => "ordinal not in range(128)",
        }
    }

    /// The byte a single-byte encoding writes for `c`, if it has one.
    fn encode_char(self, c: char) -> Option<u8> {
        let n = c as u32;
        match self {
            Encoding::Ascii => u8::try_from(n).ok().filter(|b| *b < 0x80),
            Encoding::Latin1 => u8::try_from(n).ok(),
            Encoding::Cp1252 => match n {
                0..=0x7F | 0xA0..=0xFF => Some(n as u8),
                _ => CP1252_HIGH
                    .iter()
                    .position(|&m| m == Some(c))
                    .map(|i| 0x80 + i as u8),
            },
            _ => None,
        }
    }

    /// The character a single-byte encoding reads for `b`, if it has one.
    fn decode_byte(self, b: u8) -> Option<char> {
        match self {
            Encoding::Ascii if b >= 0x80 => None,
            Encoding::Cp1252 if (0x80..0xA0).contains(&b) => CP1252_HIGH[usize::from(b - 0x80)],
            _ => Some(b as char),
        }
    }
}

/// Is `norm` (lower case, `_` for `-`) the name of one of CPython's other codecs? Then asking
/// for it is minivm's missing feature (`NotImplementedError`), not an unknown name.
fn cpython_knows(norm: &str) -> bool {
    const NAMES: &[&str] = &[
        "utf_16",
        "utf_16_le",
        "utf_16_be",
        "utf16",
        "u16",
        "utf_32",
        "utf_32_le",
        "utf_32_be",
        "utf32",
        "u32",
        "utf_7",
        "utf7",
        "idna",
        "punycode",
        "hex",
        "hex_codec",
        "base64",
        "base_64",
        "base64_codec",
        "rot13",
        "rot_13",
        "zlib",
        "zlib_codec",
        "bz2",
        "bz2_codec",
        "quopri",
        "uu",
        "unicode_escape",
        "raw_unicode_escape",
        "shift_jis",
        "sjis",
        "big5",
        "gbk",
        "gb2312",
        "gb18030",
        "hz",
        "johab",
        "koi8_r",
        "koi8_u",
        "mac_roman",
        "mac_latin2",
        "mac_cyrillic",
        "mac_greek",
        "euc_jp",
        "euc_kr",
        "euc_jis_2004",
        // The rest of the codecs of CPython's `encodings` package (by their module names).
        "big5hkscs",
        "charmap",
        "euc_jisx0213",
        "hp_roman8",
        "iso2022_jp",
        "iso2022_jp_1",
        "iso2022_jp_2",
        "iso2022_jp_2004",
        "iso2022_jp_3",
        "iso2022_jp_ext",
        "iso2022_kr",
        "koi8_t",
        "kz1048",
        "mac_arabic",
        "mac_croatian",
        "mac_farsi",
        "mac_iceland",
        "mac_romanian",
        "mac_turkish",
        "palmos",
        "ptcp154",
        "quopri_codec",
        "shift_jis_2004",
        "shift_jisx0213",
        "tis_620",
        "uu_codec",
    ];
    // Families with a number: cp1252, ibm437, windows_1252, iso8859_15, iso_8859_2, latin2.
    const NUMBERED: &[&str] = &["cp", "ibm", "windows_", "iso8859_", "iso_8859_", "latin"];
    NAMES.contains(&norm)
        || NUMBERED.iter().any(|p| {
            norm.strip_prefix(p)
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// The `errors=` argument. Unknown names are only an error once a character needs handling,
/// as in CPython.
fn check_handler(errors: &str, decoding: bool) -> PyResult<()> {
    match errors {
        "strict" | "ignore" | "replace" | "backslashreplace" => Ok(()),
        "xmlcharrefreplace" if !decoding => Ok(()),
        "surrogateescape" | "surrogatepass" | "namereplace" => Err(err!(
            NotImplementedError,
            "minivm does not support the '{errors}' error handler"
        )),
        "xmlcharrefreplace" => Err(err!(
            TypeError,
            "don't know how to handle UnicodeDecodeError in error callback"
        )),
        _ => Err(err!(LookupError, "unknown error handler name '{errors}'")),
    }
}

/// `s.encode(encoding, errors)`.
pub fn encode(s: &str, enc: Encoding, errors: &str) -> PyResult<Vec<u8>> {
    // A Rust string is valid UTF-8 already (minivm strings hold no lone surrogates).
    match enc {
        Encoding::Utf8 => return Ok(s.as_bytes().to_vec()),
        Encoding::Utf8Sig => return Ok([b"\xef\xbb\xbf", s.as_bytes()].concat()),
        _ => {}
    }
    if let Some((width, big, bom)) = enc.unit_width() {
        // Every character has a UTF-16/UTF-32 form (a minivm str holds no lone surrogates).
        let mut out = Vec::with_capacity(s.len() * width + 4);
        let mut put = |unit: u32| {
            let bytes = unit.to_le_bytes();
            let unit = &bytes[..width];
            if big {
                out.extend(unit.iter().rev());
            } else {
                out.extend_from_slice(unit);
            }
        };
        if bom {
            put(0xFEFF);
        }
        for c in s.chars() {
            if width == 4 {
                put(c as u32);
            } else {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    put(u32::from(*u));
                }
            }
        }
        return Ok(out);
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if let Some(b) = enc.encode_char(c) {
            out.push(b);
            i += 1;
            continue;
        }
        // A run of characters the encoding cannot write, handled as one error (as CPython does).
        let start = i;
        while chars.get(i).is_some_and(|&c| enc.encode_char(c).is_none()) {
            i += 1;
        }
        check_handler(errors, false)?;
        let bad = chars.get(start..i).unwrap_or(&[]);
        match errors {
            "strict" => {
                return Err(unicode_error(
                    ExcKind::UnicodeEncodeError,
                    enc,
                    Value::str(s),
                    start,
                    i,
                    enc.reason(),
                ))
            }
            "ignore" => {}
            "replace" => out.extend(std::iter::repeat_n(b'?', bad.len())),
            "backslashreplace" => {
                for &c in bad {
                    out.extend(escape_char(c).bytes());
                }
            }
            _ => {
                for &c in bad {
                    out.extend(format!("&#{};", c as u32).bytes());
                }
            }
        }
    }
    Ok(out)
}

/// `\xe9`, `\u20ac`, `\U0001f600`: how `backslashreplace` writes a character.
fn escape_char(c: char) -> String {
    let n = c as u32;
    if n < 0x100 {
        format!("\\x{n:02x}")
    } else if n < 0x10000 {
        format!("\\u{n:04x}")
    } else {
        format!("\\U{n:08x}")
    }
}

/// `b.decode(encoding, errors)`.
pub fn decode(b: &[u8], enc: Encoding, errors: &str) -> PyResult<String> {
    let mut out = String::with_capacity(b.len());
    match enc {
        // The BOM is skipped if there; errors are UTF-8's, in the bytes after it.
        Encoding::Utf8Sig => {
            let rest = b.strip_prefix(b"\xef\xbb\xbf").unwrap_or(b);
            return decode(rest, Encoding::Utf8, errors);
        }
        Encoding::Utf16
        | Encoding::Utf16Le
        | Encoding::Utf16Be
        | Encoding::Utf32
        | Encoding::Utf32Le
        | Encoding::Utf32Be => return decode_wide(b, enc, errors),
        Encoding::Latin1 => out.extend(b.iter().map(|&c| c as char)),
        Encoding::Ascii | Encoding::Cp1252 => {
            for (i, &c) in b.iter().enumerate() {
                if let Some(ch) = enc.decode_byte(c) {
                    out.push(ch);
                    continue;
                }
                undecodable(&mut out, errors, enc, b, i, i + 1, enc.reason())?;
            }
        }
        Encoding::Utf8 => {
            let mut rest = b;
            let mut base = 0usize;
            loop {
                match std::str::from_utf8(rest) {
                    Ok(s) => {
                        out.push_str(s);
                        break;
                    }
                    Err(e) => {
                        let good = e.valid_up_to();
                        out.push_str(std::str::from_utf8(&rest[..good]).unwrap_or_default());
                        let first = rest.get(good).copied().unwrap_or(0);
                        let (len, reason) = match e.error_len() {
                            None => (rest.len() - good, "unexpected end of data"),
                            Some(n) if matches!(first, 0x80..=0xc1 | 0xf5..=0xff) => {
                                (n, "invalid start byte")
                            }
                            Some(n) => (n, "invalid continuation byte"),
                        };
                        let (start, end) = (base + good, base + good + len);
                        undecodable(&mut out, errors, enc, b, start, end, reason)?;
                        base += good + len;
                        rest = &rest[good + len..];
                    }
                }
            }
        }
    }
    Ok(out)
}

/// How many bytes at the end of `b` may be the start of a character in `enc` whose other bytes
/// have not arrived yet (a stream decoder keeps them for the next chunk). For UTF-8 only a
/// prefix that can still become valid counts (`\xe2\x82`, not `\xff` or `\xe0\x80`): decoding
/// reports the others at once, as CPython's incremental decoder does. For UTF-16, a lone high
/// surrogate waits for its partner. A BOM is not looked at (see [`detect_bom`]).
pub fn incomplete_tail(b: &[u8], enc: Encoding) -> usize {
    match enc {
        Encoding::Utf8 | Encoding::Utf8Sig => {
            for back in 1..=b.len().min(3) {
                let start = b.len() - back;
                let lead = b[start];
                if lead & 0xC0 == 0x80 {
                    continue;
                }
                let (need, second) = match lead {
                    0xC2..=0xDF => (2, 0x80..=0xBF),
                    0xE0 => (3, 0xA0..=0xBF),
                    // (0xED: CPython waits for a third byte even after 0xA0-0xBF.)
                    0xE1..=0xEF => (3, 0x80..=0xBF),
                    0xF0 => (4, 0x90..=0xBF),
                    0xF1..=0xF3 => (4, 0x80..=0xBF),
                    0xF4 => (4, 0x80..=0x8F),
                    _ => return 0,
                };
                let valid_second = b.get(start + 1).is_none_or(|c| second.contains(c));
                return if back < need && valid_second { back } else { 0 };
            }
            0
        }
        _ => match enc.unit_width() {
            None => 0,
            Some((width, big, _)) => {
                let odd = b.len() % width;
                if width == 4 || b.len() < odd + 2 {
                    return odd;
                }
                let unit = &b[b.len() - odd - 2..b.len() - odd];
                let hi = if big { unit[0] } else { unit[1] };
                if (0xD8..=0xDB).contains(&hi) {
                    odd + 2
                } else {
                    odd
                }
            }
        },
    }
}

/// Decode what of `b` can be decoded now: all of it if `last`, else all but an incomplete
/// character at the end. The text and the bytes it took.
pub fn decode_partial(
    b: &[u8],
    enc: Encoding,
    errors: &str,
    last: bool,
) -> PyResult<(String, usize)> {
    let take = if last {
        b.len()
    } else {
        b.len() - incomplete_tail(b, enc)
    };
    Ok((decode(&b[..take], enc, errors)?, take))
}

/// The start of a stream in `enc` (`utf-16`, `utf-32`, `utf-8-sig`): `None` if more bytes must
/// come to tell, else the encoding the rest is in and the BOM's length. UTF-16/UTF-32 streams
/// must start with a BOM (CPython's `UnicodeError: UTF-16 stream does not start with BOM`);
/// a `utf-8-sig` one may. Other encodings have no BOM: themselves, 0.
pub fn detect_bom(b: &[u8], enc: Encoding, last: bool) -> PyResult<Option<(Encoding, usize)>> {
    let Some(bom) = enc.bom() else {
        return Ok(Some((enc, 0)));
    };
    let (le, be) = match enc {
        Encoding::Utf16 => (Encoding::Utf16Le, Encoding::Utf16Be),
        Encoding::Utf32 => (Encoding::Utf32Le, Encoding::Utf32Be),
        _ => (Encoding::Utf8, Encoding::Utf8),
    };
    let n = bom.len();
    let be_bom: &[u8] = match enc {
        Encoding::Utf16 => b"\xfe\xff",
        Encoding::Utf32 => b"\x00\x00\xfe\xff",
        _ => bom,
    };
    if b.starts_with(bom) {
        return Ok(Some((le, n)));
    }
    if b.starts_with(be_bom) {
        return Ok(Some((be, n)));
    }
    if b.len() < n && (bom.starts_with(b) || be_bom.starts_with(b)) && !last {
        return Ok(None);
    }
    if enc == Encoding::Utf8Sig || b.len() < n {
        return Ok(Some((le, 0)));
    }
    let what = if enc == Encoding::Utf16 {
        "UTF-16"
    } else {
        "UTF-32"
    };
    Err(err!(UnicodeError, "{what} stream does not start with BOM"))
}

/// Decode UTF-16 or UTF-32 as CPython does: a BOM (for `utf-16`/`utf-32`) picks the byte order
/// and is dropped, errors are reported under the `-le`/`-be` name, with positions in the whole
/// input (BOM included); after an error handled, decoding goes on after the bad unit.
fn decode_wide(b: &[u8], enc: Encoding, errors: &str) -> PyResult<String> {
    let Some((width, mut big, bom)) = enc.unit_width() else {
        return Ok(String::new());
    };
    let mut pos = 0;
    if bom {
        let (le, be): (&[u8], &[u8]) = if width == 2 {
            (b"\xff\xfe", b"\xfe\xff")
        } else {
            (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")
        };
        if b.starts_with(le) {
            pos = width;
        } else if b.starts_with(be) {
            pos = width;
            big = true;
        }
    }
    let name = match (width, big) {
        (2, false) => Encoding::Utf16Le,
        (2, true) => Encoding::Utf16Be,
        (_, false) => Encoding::Utf32Le,
        (_, true) => Encoding::Utf32Be,
    };
    let unit_at = |at: usize| -> Option<u32> {
        let bytes = b.get(at..at + width)?;
        let mut n = 0u32;
        for i in 0..width {
            let byte = if big { bytes[i] } else { bytes[width - 1 - i] };
            n = (n << 8) | u32::from(byte);
        }
        Some(n)
    };
    let mut out = String::with_capacity(b.len() / width);
    while pos < b.len() {
        // (start, end, reason) of a bad stretch, or the character and the bytes it took.
        let bad = match unit_at(pos) {
            None => (pos, b.len(), "truncated data"),
            Some(n) if width == 4 => match char::from_u32(n) {
                Some(c) => {
                    out.push(c);
                    pos += 4;
                    continue;
                }
                None if n < 0x110000 => (
                    pos,
                    pos + 4,
                    "code point in surrogate code point range(0xd800, 0xe000)",
                ),
                None => (pos, pos + 4, "code point not in range(0x110000)"),
            },
            Some(n) => match n {
                0xD800..=0xDBFF => match unit_at(pos + 2) {
                    Some(low @ 0xDC00..=0xDFFF) => {
                        let c = 0x10000 + ((n - 0xD800) << 10) + (low - 0xDC00);
                        out.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
                        pos += 4;
                        continue;
                    }
                    Some(_) => (pos, pos + 2, "illegal UTF-16 surrogate"),
                    None => (pos, b.len(), "unexpected end of data"),
                },
                0xDC00..=0xDFFF => (pos, pos + 2, "illegal encoding"),
                n => {
                    out.push(char::from_u32(n).unwrap_or('\u{FFFD}'));
                    pos += 2;
                    continue;
                }
            },
        };
        let (start, end, reason) = bad;
        undecodable(&mut out, errors, name, b, start, end, reason)?;
        pos = end;
    }
    Ok(out)
}

/// Bytes `b[start..end]` that `enc` cannot decode, handled as `errors` says: strict raises
/// CPython's `UnicodeDecodeError`, ignore drops them, replace writes U+FFFD once,
/// backslashreplace writes `\xNN` for each byte.
fn undecodable(
    out: &mut String,
    errors: &str,
    enc: Encoding,
    b: &[u8],
    start: usize,
    end: usize,
    reason: &str,
) -> PyResult<()> {
    check_handler(errors, true)?;
    match errors {
        "strict" => {
            return Err(unicode_error(
                ExcKind::UnicodeDecodeError,
                enc,
                Value::bytes(b.to_vec()),
                start,
                end,
                reason,
            ))
        }
        "ignore" => {}
        "replace" => out.push('\u{FFFD}'),
        _ => {
            for c in b.get(start..end).unwrap_or_default() {
                let _ = write!(out, "\\x{c:02x}");
            }
        }
    }
    Ok(())
}

/// A `UnicodeEncodeError`/`UnicodeDecodeError` with CPython's five arguments, also stored as the
/// attributes `encoding`, `object`, `start`, `end` and `reason`.
pub fn unicode_error(
    kind: ExcKind,
    enc: Encoding,
    object: Value,
    start: usize,
    end: usize,
    reason: &str,
) -> PyErr {
    let args = vec![
        Value::str(enc.error_name()),
        object,
        Value::Int(start as i64),
        Value::Int(end as i64),
        Value::str(reason),
    ];
    let e = PyErr::with_args(kind, args.clone());
    let mut d = e.exc.dict.lock();
    for (name, v) in ["encoding", "object", "start", "end", "reason"]
        .iter()
        .zip(args)
    {
        d.insert(Arc::from(*name), v);
    }
    drop(d);
    e
}

/// What CPython's `__init__` of `UnicodeEncodeError`/`UnicodeDecodeError` (five arguments:
/// encoding str, object, start and end integers, reason str; the object a str to encode or a
/// bytes-like object to decode) and `UnicodeTranslateError` (four: object str, start, end,
/// reason) checks, with its messages, in its order: the count, then each argument. Other
/// exceptions pass.
pub fn check_unicode_error_args(cls: &Ref<crate::object::Class>, args: &[Value]) -> PyResult<()> {
    let t = types();
    let translate = cls.is_subclass(t.exc(ExcKind::UnicodeTranslateError));
    let encode = cls.is_subclass(t.exc(ExcKind::UnicodeEncodeError));
    let decode = cls.is_subclass(t.exc(ExcKind::UnicodeDecodeError));
    if !(translate || encode || decode) {
        return Ok(());
    }
    // Each argument's kind, in order: a str, an integer, or (decoding) any object.
    let kinds: &[u8] = if translate {
        b"siis"
    } else if encode {
        b"ssiis"
    } else {
        b"soiis"
    };
    if args.len() != kinds.len() {
        raise!(
            TypeError,
            "function takes exactly {} arguments ({} given)",
            kinds.len(),
            args.len()
        );
    }
    for (i, (kind, v)) in kinds.iter().zip(args).enumerate() {
        match kind {
            b's' if !matches!(v, Value::Str(_)) => raise!(
                TypeError,
                "argument {} must be str, not {}",
                i + 1,
                crate::object::type_name(v)
            ),
            b'i' => {
                crate::builtins::args::to_index(v)?;
            }
            _ => {}
        }
    }
    if decode && crate::object::bytes_like(&args[1]).is_none() {
        raise!(
            TypeError,
            "a bytes-like object is required, not '{}'",
            crate::object::type_name(&args[1])
        );
    }
    Ok(())
}

/// `str()` of a Unicode error built from its five arguments (four for `UnicodeTranslateError`),
/// as CPython formats it; `None` when the exception is not one, or its arguments are not those
/// expected.
pub fn unicode_error_str(cls: &Ref<crate::object::Class>, args: &[Value]) -> Option<String> {
    let t = types();
    if cls.is_subclass(t.exc(ExcKind::UnicodeTranslateError)) {
        // `UnicodeTranslateError(object, start, end, reason)`: no codec named.
        let [Value::Str(s), start, end, Value::Str(reason)] = args else {
            return None;
        };
        let (start, end) = (index(start)?, index(end)?);
        return Some(match one_char(s.as_str(), start, end) {
            Some(shown) => format!(
                "can't translate character '{shown}' in position {start}: {}",
                reason.as_str()
            ),
            None => format!(
                "can't translate characters in position {start}-{}: {}",
                end - 1,
                reason.as_str()
            ),
        });
    }
    let encode = cls.is_subclass(t.exc(ExcKind::UnicodeEncodeError));
    let decode = cls.is_subclass(t.exc(ExcKind::UnicodeDecodeError));
    if !encode && !decode {
        return None;
    }
    let [Value::Str(enc), object, start, end, Value::Str(reason)] = args else {
        return None;
    };
    let (start, end) = (index(start)?, index(end)?);
    let (enc, reason) = (enc.as_str(), reason.as_str());
    if encode {
        let Value::Str(s) = object else { return None };
        if let Some(shown) = one_char(s.as_str(), start, end) {
            return Some(format!(
                "'{enc}' codec can't encode character '{shown}' in position {start}: {reason}"
            ));
        }
        return Some(format!(
            "'{enc}' codec can't encode characters in position {start}-{}: {reason}",
            end - 1
        ));
    }
    let b = crate::object::bytes_like(object)?;
    if end == start + 1 {
        let c = *b.get(usize::try_from(start).ok()?)?;
        return Some(format!(
            "'{enc}' codec can't decode byte 0x{c:02x} in position {start}: {reason}"
        ));
    }
    Some(format!(
        "'{enc}' codec can't decode bytes in position {start}-{}: {reason}",
        end - 1
    ))
}

/// A Unicode error's `start` or `end` argument as a number (an int or a bool, as CPython's
/// `__init__` takes any integer).
fn index(v: &Value) -> Option<i64> {
    crate::builtins::args::to_index(v).ok()
}

/// The one character `start..end` covers in `s`, escaped as CPython's Unicode errors show it
/// (as `backslashreplace` writes it); `None` for a range of another length or outside `s`.
fn one_char(s: &str, start: i64, end: i64) -> Option<String> {
    if end != start + 1 {
        return None;
    }
    s.chars().nth(usize::try_from(start).ok()?).map(escape_char)
}

/// The `(encoding, errors)` pair of `encode`/`decode`/`str()`/`bytes()`: each a str if given.
pub fn encoding_args(
    fname: &str,
    encoding: Option<&Value>,
    errors: Option<&Value>,
) -> PyResult<(Encoding, String)> {
    let enc = match encoding {
        None => Encoding::Utf8,
        Some(Value::Str(s)) => Encoding::lookup(s.as_str())?,
        Some(other) => raise!(
            TypeError,
            "{fname}() argument 'encoding' must be str, not {}",
            crate::object::type_name(other)
        ),
    };
    let errors = match errors {
        None => "strict".to_string(),
        Some(Value::Str(s)) => s.as_str().to_string(),
        Some(other) => raise!(
            TypeError,
            "{fname}() argument 'errors' must be str, not {}",
            crate::object::type_name(other)
        ),
    };
    Ok((enc, errors))
}

/// `_codecsupport`, what `codecs`' incremental decoders (vm/lib/codecs.mini) need from Rust:
/// `decode_partial(data, encoding, errors, final)`, the text decodable now and the bytes it took
/// (an incomplete character at the end waits unless `final`).
pub fn support_module() -> Ref<crate::object::Module> {
    fn decode_partial_fn(
        _: &mut crate::interp::Interp,
        args: crate::interp::Args<'_>,
    ) -> PyResult<Value> {
        let [data, Value::Str(enc), Value::Str(errors), last] = args.pos else {
            raise!(
                TypeError,
                "decode_partial() takes (data, encoding, errors, final)"
            );
        };
        let data = crate::builtins::bytes_methods::arg_bytes(data)?;
        let enc = Encoding::lookup(enc.as_str())?;
        let last = !matches!(last, Value::Bool(false) | Value::None | Value::Int(0));
        let (text, used) = decode_partial(&data, enc, errors.as_str(), last)?;
        Ok(Value::tuple(vec![
            Value::string(text),
            Value::Int(used as i64),
        ]))
    }
    crate::stdlib::module_from_fns(
        "_codecsupport",
        &[("decode_partial", decode_partial_fn)],
        Vec::new(),
    )
}
