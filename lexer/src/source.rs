//! Stage 0, before the lexer: the bytes of a source file to the text the lexer reads, as CPython
//! reads a file.
//!
//! * The encoding is UTF-8, unless a PEP 263 declaration (`# -*- coding: latin-1 -*-`) on the
//!   first line, or on the second after a comment or blank first line, names another; minivm
//!   reads `utf-8`, `latin-1` (`iso-8859-1`), `ascii` and `cp1252` (`windows-1252`). A UTF-8
//!   byte-order mark is skipped.
//! * Bytes that are not valid in the encoding are a `SyntaxError` naming the line, with CPython's
//!   wording (`Non-UTF-8 code starting with '\xff' in file x.mini on line 2, ...`).
//! * Line ends are normalised as CPython's universal newlines do: `\r\n` and a lone `\r` both
//!   become `\n`. So a lone CR ends a line (also inside a string literal, which then is
//!   unterminated, as in CPython).
//! * A NUL byte anywhere is `SyntaxError: source code cannot contain null bytes`.
//!
//! An imported module's bytes are read the same way, but CPython words two errors differently
//! there (it compiles the file's bytes as a string): see [`Origin`].

use crate::error::SyntaxError;
use crate::span::Span;

/// Why a file's bytes are not a program.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceError {
    /// CPython prints these as one line, `SyntaxError: <message>`, without a source location.
    Plain(String),
    /// An error at a place in the text (`text` is the decoded source, for rendering it).
    Located { error: SyntaxError, text: String },
    /// An imported module's bytes the declared single-byte codec cannot read: CPython raises
    /// the codec's message as a SyntaxError at line 0 of the file.
    Codec(String),
}

/// Where the bytes come from: the script named on the command line, or a module it imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Script,
    Import,
}

/// Decode a source file's bytes (see the module comment). `filename` is used in messages.
pub fn decode_source(bytes: &[u8], filename: &str, origin: Origin) -> Result<String, SourceError> {
    let (bom, body) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (true, rest),
        None => (false, bytes),
    };
    let declared = coding_declaration(body);
    let encoding = match declared.as_deref().map(normalise_encoding) {
        None => Encoding::Utf8,
        Some(Some(e)) => e,
        Some(None) => {
            let name = declared.unwrap_or_default();
            return Err(SourceError::Plain(format!(
                "encoding problem: {name} (minivm reads utf-8, latin-1, cp1252 and ascii source only)"
            )));
        }
    };
    if bom && encoding != Encoding::Utf8 {
        let name = declared.unwrap_or_default();
        return Err(SourceError::Plain(format!(
            "encoding problem: {name} with BOM"
        )));
    }
    let text = match encoding {
        Encoding::Utf8 => match std::str::from_utf8(body) {
            Ok(s) => s.to_string(),
            Err(e) => {
                let codec_message = declared.is_some() || origin == Origin::Import;
                return Err(not_utf8(body, e.valid_up_to(), filename, codec_message));
            }
        },
        Encoding::Latin1 => body.iter().map(|&b| char::from(b)).collect(),
        Encoding::Ascii => match body.iter().position(|b| !b.is_ascii()) {
            None => body.iter().map(|&b| char::from(b)).collect(),
            Some(at) => {
                let message = format!(
                    "(unicode error) 'ascii' codec can't decode byte {:#04x} in position {}: ordinal not in range(128)",
                    body[at],
                    at - token_start(body, at)
                );
                return Err(codec_error(body, at, message));
            }
        },
        Encoding::Cp1252 => {
            let mut text = String::with_capacity(body.len());
            for (at, &b) in body.iter().enumerate() {
                match b {
                    0x80..=0x9F => match CP1252_HIGH[usize::from(b - 0x80)] {
                        Some(c) => text.push(c),
                        None => return Err(cp1252_error(b, at, &declared, origin)),
                    },
                    _ => text.push(char::from(b)),
                }
            }
            text
        }
    };
    let text = normalise_newlines(text);
    if let Some(at) = text.find('\0') {
        if origin == Origin::Import {
            return Err(SourceError::Plain(
                "source code string cannot contain null bytes".into(),
            ));
        }
        return Err(SourceError::Located {
            error: SyntaxError::syntax("source code cannot contain null bytes", Span::new(at, at)),
            text,
        });
    }
    Ok(text)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Latin1,
    Ascii,
    Cp1252,
}

/// What the bytes 0x80-0x9F are in Windows-1252 (CPython's `encodings/cp1252.py` table).
pub const CP1252_HIGH: [Option<char>; 32] = [
    Some('\u{20AC}'),
    None,
    Some('\u{201A}'),
    Some('\u{0192}'),
    Some('\u{201E}'),
    Some('\u{2026}'),
    Some('\u{2020}'),
    Some('\u{2021}'),
    Some('\u{02C6}'),
    Some('\u{2030}'),
    Some('\u{0160}'),
    Some('\u{2039}'),
    Some('\u{0152}'),
    None,
    Some('\u{017D}'),
    None,
    None,
    Some('\u{2018}'),
    Some('\u{2019}'),
    Some('\u{201C}'),
    Some('\u{201D}'),
    Some('\u{2022}'),
    Some('\u{2013}'),
    Some('\u{2014}'),
    Some('\u{02DC}'),
    Some('\u{2122}'),
    Some('\u{0161}'),
    Some('\u{203A}'),
    Some('\u{0153}'),
    None,
    Some('\u{017E}'),
    Some('\u{0178}'),
];

/// The encoding a declared name stands for (`None`: one minivm does not read).
fn normalise_encoding(name: &str) -> Option<Encoding> {
    let n = name.to_ascii_lowercase().replace('_', "-");
    match n.as_str() {
        "utf-8" | "utf8" => Some(Encoding::Utf8),
        _ if n.starts_with("utf-8-") => Some(Encoding::Utf8),
        "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "iso-latin-1" | "l1" => {
            Some(Encoding::Latin1)
        }
        _ if n.starts_with("latin-1-") || n.starts_with("iso-8859-1-") => Some(Encoding::Latin1),
        "ascii" | "us-ascii" => Some(Encoding::Ascii),
        "cp1252" | "windows-1252" => Some(Encoding::Cp1252),
        _ => None,
    }
}

/// A byte Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) at offset `at`: CPython
/// words it as the encoding problem for a script, and as the codec's error for a module.
fn cp1252_error(byte: u8, at: usize, declared: &Option<String>, origin: Origin) -> SourceError {
    match origin {
        Origin::Script => SourceError::Plain(format!(
            "encoding problem: {}",
            declared.as_deref().unwrap_or("cp1252")
        )),
        Origin::Import => SourceError::Codec(format!(
            "'charmap' codec can't decode byte {byte:#04x} in position {at}: character maps to <undefined>"
        )),
    }
}

/// A PEP 263 declaration (`coding[:=]\s*name` in a comment) on line 1, or on line 2 when line 1
/// is blank or a comment.
fn coding_declaration(body: &[u8]) -> Option<String> {
    let mut lines = body.split(|&b| b == b'\n' || b == b'\r');
    let first = lines.next()?;
    if let Some(name) = declaration_in(first) {
        return Some(name);
    }
    let first_is_comment_or_blank = {
        let t = trim_start(first);
        t.is_empty() || t.first() == Some(&b'#')
    };
    if first_is_comment_or_blank {
        return lines.next().and_then(declaration_in);
    }
    None
}

fn trim_start(line: &[u8]) -> &[u8] {
    let start = line
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\x0C'))
        .unwrap_or(line.len());
    &line[start..]
}

fn declaration_in(line: &[u8]) -> Option<String> {
    let line = trim_start(line);
    if line.first() != Some(&b'#') {
        return None;
    }
    let at = line.windows(6).position(|w| w == b"coding")?;
    let rest = line.get(at + 6..)?;
    if !matches!(rest.first(), Some(b':' | b'=')) {
        return None;
    }
    let name: Vec<u8> = trim_start(&rest[1..])
        .iter()
        .copied()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        .collect();
    if name.is_empty() {
        return None;
    }
    Some(String::from_utf8_lossy(&name).into_owned())
}

fn line_of(body: &[u8], at: usize) -> usize {
    let before = &body[..at.min(body.len())];
    1 + before.iter().filter(|&&b| b == b'\n').count()
}

fn line_start(body: &[u8], at: usize) -> usize {
    body[..at.min(body.len())]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1)
}

/// CPython's messages for bytes that are not UTF-8: for a script without a declaration, the
/// tokenizer's `Non-UTF-8 code` line; otherwise (`coding: utf-8` declared, or an imported module)
/// the codec's message, whose position counts from the start of the token (a string literal's
/// text after its quote).
fn not_utf8(body: &[u8], at: usize, filename: &str, codec_message: bool) -> SourceError {
    let byte = body.get(at).copied().unwrap_or(0);
    let line = line_of(body, at);
    if !codec_message {
        return SourceError::Plain(format!(
            "Non-UTF-8 code starting with '\\x{byte:02x}' in file {filename} on line {line}, but no encoding declared; see https://peps.python.org/pep-0263/ for details"
        ));
    }
    let reason = if (0x80..0xC2).contains(&byte) || byte > 0xF4 {
        "invalid start byte"
    } else if body.len() - at < 4 && std::str::from_utf8(&body[at..]).is_err() {
        "unexpected end of data"
    } else {
        "invalid continuation byte"
    };
    let message = format!(
        "(unicode error) 'utf-8' codec can't decode byte {byte:#04x} in position {}: {reason}",
        at - token_start(body, at)
    );
    codec_error(body, at, message)
}

/// A codec's error at byte `at`, shown (as CPython does) on its line of the text decoded with
/// replacement characters; every byte before `at` decoded, so `at` is the same offset there.
fn codec_error(body: &[u8], at: usize, message: String) -> SourceError {
    SourceError::Located {
        error: SyntaxError::syntax(message, Span::new(at, at + 1)),
        text: String::from_utf8_lossy(body).into_owned(),
    }
}

/// Where the token holding byte `at` starts, roughly as CPython's tokenizer sees it: after the
/// opening quote if `at` is inside a string literal on its line, else `at` itself.
fn token_start(body: &[u8], at: usize) -> usize {
    let start = line_start(body, at);
    let quotes: Vec<usize> = (start..at)
        .filter(|&i| matches!(body[i], b'"' | b'\''))
        .collect();
    match quotes.last() {
        Some(&q) if quotes.len() % 2 == 1 => q + 1,
        _ => at,
    }
}

/// `\r\n` and lone `\r` to `\n`.
fn normalise_newlines(text: String) -> String {
    if !text.contains('\r') {
        return text;
    }
    text.replace("\r\n", "\n").replace('\r', "\n")
}
