//! Stage 1, reading a file: `decode_source` (encodings, declarations, NUL bytes, newlines).

use minivm_lexer::{decode_source, Origin, SourceError};

fn message(bytes: &[u8], origin: Origin) -> String {
    match decode_source(bytes, "m.py", origin) {
        Ok(text) => format!("ok: {text:?}"),
        Err(SourceError::Plain(m)) => m,
        Err(SourceError::Codec(m)) => format!("codec: {m}"),
        Err(SourceError::Located { error, .. }) => error.message,
    }
}

#[test]
fn undecodable_bytes_are_worded_as_cpython_words_them() {
    // (CPython 3.11.7's messages for the same bytes.)
    let in_string = b"# hello\nx = \"ab\xffcd\"\n";
    assert_eq!(
        message(in_string, Origin::Script),
        "Non-UTF-8 code starting with '\\xff' in file m.py on line 2, but no encoding declared; see https://peps.python.org/pep-0263/ for details"
    );
    let codec =
        "(unicode error) 'utf-8' codec can't decode byte 0xff in position 2: invalid start byte";
    assert_eq!(message(in_string, Origin::Import), codec);
    let declared = b"# -*- coding: utf-8 -*-\nx = \"ab\xffcd\"\n";
    assert_eq!(message(declared, Origin::Script), codec);
    assert_eq!(
        message(b"x = 1 \xff\n", Origin::Import),
        "(unicode error) 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"
    );
}

#[test]
fn nul_bytes_newlines_and_declarations() {
    assert_eq!(
        message(b"x = 1\0\n", Origin::Script),
        "source code cannot contain null bytes"
    );
    assert_eq!(
        message(b"x = 1\0\n", Origin::Import),
        "source code string cannot contain null bytes"
    );
    assert_eq!(
        message(b"a\rb\r\nc\n", Origin::Script),
        "ok: \"a\\nb\\nc\\n\""
    );
    assert_eq!(
        message(b"# coding: latin-1\nx = '\xe9'\n", Origin::Script),
        "ok: \"# coding: latin-1\\nx = '\u{e9}'\\n\""
    );
    assert_eq!(message(b"\xEF\xBB\xBFx\n", Origin::Script), "ok: \"x\\n\"");
}

#[test]
fn cp1252_sources_are_read_with_windows_1252s_table() {
    let text = b"# -*- coding: cp1252 -*-\nx = \"\x80\x93\xe9\x85\x94\"\n";
    assert_eq!(
        message(text, Origin::Script),
        "ok: \"# -*- coding: cp1252 -*-\\nx = \\\"\u{20ac}\u{201c}\u{e9}\u{2026}\u{201d}\\\"\\n\""
    );
    // A byte the table leaves undefined: CPython's two wordings (script, imported module).
    let undefined = b"# coding=windows-1252\nx = 1\ny = \"ab\x81\"\n";
    assert_eq!(
        message(undefined, Origin::Script),
        "encoding problem: windows-1252"
    );
    assert_eq!(
        message(undefined, Origin::Import),
        "codec: 'charmap' codec can't decode byte 0x81 in position 35: character maps to <undefined>"
    );
}
