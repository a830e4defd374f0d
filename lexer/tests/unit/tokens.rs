//! Stage 1 tests: token kinds and values, layout tokens, every lexer error path with its position,
//! `dump_tokens` and error rendering.

use minivm_lexer::{dump_tokens, tokenize, LineIndex, SyntaxError, SyntaxErrorKind, Token};

fn kinds(src: &str) -> Vec<Token> {
    match tokenize(src) {
        Ok(toks) => toks.into_iter().map(|t| t.kind).collect(),
        Err(e) => panic!("unexpected error {e} for {src:?}"),
    }
}

/// The error for `src` as (kind, message, line, column), columns 1-based in characters.
fn error(src: &str) -> (SyntaxErrorKind, String, u32, u32) {
    match tokenize(src) {
        Ok(t) => panic!("expected an error for {src:?}, got {t:?}"),
        Err(SyntaxError {
            kind,
            message,
            span,
            ..
        }) => {
            let (line, col) = LineIndex::new(src).line_col(src, span.start);
            (kind, message, line, col)
        }
    }
}

use Token::*;

#[test]
fn simple_line() {
    assert_eq!(
        kinds("print('hi')\n"),
        vec![Name, LPar, Str, RPar, Newline, EndOfFile]
    );
}

#[test]
fn missing_final_newline_is_added() {
    assert_eq!(kinds("x"), vec![Name, Newline, EndOfFile]);
    assert_eq!(kinds(""), vec![EndOfFile]);
}

#[test]
fn numbers() {
    assert_eq!(
        kinds("1_000 0xff 0o17 0b101 0 00"),
        vec![
            Int(1000),
            Int(255),
            Int(15),
            Int(5),
            Int(0),
            Int(0),
            Newline,
            EndOfFile
        ]
    );
    assert_eq!(
        kinds("1e-3 .5 1. 2.5E2 1_0.0_1"),
        vec![
            Float(1e-3),
            Float(0.5),
            Float(1.0),
            Float(250.0),
            Float(10.01),
            Newline,
            EndOfFile
        ]
    );
    assert_eq!(
        kinds("9223372036854775807"),
        vec![Int(i64::MAX), Newline, EndOfFile]
    );
}

#[test]
fn number_errors() {
    // Literals beyond i64 are big-int tokens (their text, underscores dropped)...
    assert_eq!(
        kinds("99_999_999_999_999_999_999 0x8000000000000000"),
        vec![
            Token::BigInt("99999999999999999999".into()),
            Token::BigInt("0x8000000000000000".into()),
            Newline,
            EndOfFile
        ]
    );
    // ...up to CPython's 4,300-digit limit for decimal ones (hex has none).
    let src = format!("x = 1\ny = {}\n", "7".repeat(4301));
    let (kind, msg, line, col) = error(&src);
    assert_eq!(kind, SyntaxErrorKind::SyntaxError);
    assert!(msg.starts_with(
        "Exceeds the limit (4300 digits) for integer string conversion: value has 4301 digits"
    ));
    assert_eq!((line, col), (2, 5));
    assert!(tokenize(&format!("0x{}", "f".repeat(5000))).is_ok());
    assert!(error("x = 0123")
        .1
        .starts_with("leading zeros in decimal integer literals"));
    assert_eq!(error("1abc").1, "invalid decimal literal");
    // Imaginary literals carry their imaginary part; one glued to letters is invalid.
    assert_eq!(
        kinds("2j 1.5e3J 0j 1_0j 007j"),
        vec![
            Token::Imaginary(2.0),
            Token::Imaginary(1500.0),
            Token::Imaginary(0.0),
            Token::Imaginary(10.0),
            Token::Imaginary(7.0),
            Newline,
            EndOfFile
        ]
    );
    assert_eq!(error("x = 2jx").1, "invalid imaginary literal");
}

#[test]
fn keywords_and_unicode_names() {
    assert_eq!(
        kinds("if not x is None: 한글 = _a1"),
        vec![If, Not, Name, Is, None, Colon, Name, Equal, Name, Newline, EndOfFile]
    );
}

#[test]
fn operators_longest_match() {
    assert_eq!(
        kinds("a **= b // c ... -> := != <<= >>"),
        vec![
            Name,
            DoubleStarEqual,
            Name,
            DoubleSlash,
            Name,
            Ellipsis,
            Arrow,
            ColonEqual,
            NotEqual,
            LShiftEqual,
            RShift,
            Newline,
            EndOfFile
        ]
    );
}

#[test]
fn python2_not_equal_is_one_token() {
    // `<>` is one token (which the parser refuses), as in CPython; `< >` stays two.
    assert_eq!(
        kinds("a <> b < > c <>= d"),
        vec![
            Name,
            LessGreater,
            Name,
            Less,
            Greater,
            Name,
            LessGreater,
            Equal,
            Name,
            Newline,
            EndOfFile
        ]
    );
}

#[test]
fn strings_of_every_shape() {
    let src = r#"'a' "b" '''c
d''' """e""" r'\'' f'{x}' rf"y" 'it\'s' u'u'"#;
    assert_eq!(
        kinds(src),
        vec![Str, Str, Str, Str, Str, FStr, FStr, Str, Str, Newline, EndOfFile]
    );
}

#[test]
fn string_errors() {
    assert_eq!(
        error("x = 1\ns = 'abc\n"),
        (
            SyntaxErrorKind::SyntaxError,
            "unterminated string literal (detected at line 2)".into(),
            2,
            5
        )
    );
    assert_eq!(
        error("x = '''abc\n\ndef\n"),
        (
            SyntaxErrorKind::SyntaxError,
            "unterminated triple-quoted string literal (detected at line 3)".into(),
            1,
            5
        )
    );
    assert_eq!(
        kinds("b'xy' rb\"z\""),
        vec![Bytes, Bytes, Newline, EndOfFile]
    );
}

#[test]
fn indentation_tokens() {
    let src = "if x:\n    y\n    if z:\n        w\nv\n";
    assert_eq!(
        kinds(src),
        vec![
            If, Name, Colon, Newline, Indent, Name, Newline, If, Name, Colon, Newline, Indent,
            Name, Newline, Dedent, Dedent, Name, Newline, EndOfFile
        ]
    );
    // At end of file: Newline, then every open Dedent.
    assert_eq!(
        kinds("if x:\n  if y:\n    z"),
        vec![
            If, Name, Colon, Newline, Indent, If, Name, Colon, Newline, Indent, Name, Newline,
            Dedent, Dedent, EndOfFile
        ]
    );
}

#[test]
fn blank_and_comment_lines_produce_nothing() {
    let src = "x = 1  # one\n\n   # indented comment\n\t\n# c\ny\n";
    assert_eq!(
        kinds(src),
        vec![Name, Equal, Int(1), Newline, Name, Newline, EndOfFile]
    );
}

#[test]
fn implicit_and_explicit_line_joining() {
    assert_eq!(
        kinds("x = (1,\n       2\n  )\ny = 1 + \\\n  2\n"),
        vec![
            Name,
            Equal,
            LPar,
            Int(1),
            Comma,
            Int(2),
            RPar,
            Newline,
            Name,
            Equal,
            Int(1),
            Plus,
            Int(2),
            Newline,
            EndOfFile
        ]
    );
}

#[test]
fn indentation_errors() {
    assert_eq!(
        error("if x:\n    y\n  z\n"),
        (
            SyntaxErrorKind::IndentationError,
            "unindent does not match any outer indentation level".into(),
            // One past the end of the line, CPython's offset.
            3,
            4
        )
    );
    assert_eq!(
        error("if x:\n\ty\n        z\n"),
        (
            SyntaxErrorKind::TabError,
            "inconsistent use of tabs and spaces in indentation".into(),
            // Column 1, inside the indentation (CPython draws no caret).
            3,
            1
        )
    );
    let deep: String = (0..101)
        .map(|i| format!("{}if x:\n", " ".repeat(i)))
        .collect();
    let deep = deep + &" ".repeat(101) + "pass\n";
    assert_eq!(error(&deep).1, "too many levels of indentation");
}

#[test]
fn bracket_errors() {
    assert_eq!(
        error("x = 1\ny = (1 +\n"),
        (
            SyntaxErrorKind::SyntaxError,
            "'(' was never closed".into(),
            2,
            5
        )
    );
    assert_eq!(error("x = )").1, "unmatched ')'");
    assert_eq!((error("x = )").2, error("x = )").3), (1, 5));
    assert_eq!(
        error("x = [1,\n 2)").1,
        "closing parenthesis ')' does not match opening parenthesis '[' on line 1"
    );
    assert_eq!(
        error("x = [1)").1,
        "closing parenthesis ')' does not match opening parenthesis '['"
    );
    let deep = format!("x = {}1{}", "(".repeat(201), ")".repeat(201));
    assert_eq!(error(&deep).1, "too many nested parentheses");
    let ok = format!("x = {}1{}", "(".repeat(200), ")".repeat(200));
    assert!(tokenize(&ok).is_ok());
}

#[test]
fn bad_characters() {
    assert_eq!(error("x = $").1, "invalid syntax");
    assert_eq!(error("x = 1 €").1, "invalid character '€' (U+20AC)");
    assert_eq!(
        error("x = 1\u{a0}").1,
        "invalid non-printable character U+00A0"
    );
    let (_, msg, line, col) = error("a \\ b");
    assert_eq!(
        msg,
        "unexpected character after line continuation character"
    );
    assert_eq!((line, col), (1, 4));
}

#[test]
fn long_tokens_do_not_overflow_a_small_stack() {
    let src = format!(
        "s = '{}'\n# {}\nt = '''{}'''\n",
        "a".repeat(200_000),
        "c".repeat(200_000),
        "b\n".repeat(50_000)
    );
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || tokenize(&src).map(|t| t.len()));
    let n = handle.ok().and_then(|h| h.join().ok());
    // s = STR NEWLINE t = STR NEWLINE ENDMARKER
    assert_eq!(n, Some(Ok(9)));
}

#[test]
fn dump_tokens_format() {
    let out = dump_tokens("print('hi')\n").unwrap_or_default();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some("1:0-1:5      NAME      \"print\"")
    );
    assert_eq!(
        lines.get(2).copied(),
        Some("1:6-1:10     STRING    \"'hi'\"")
    );
    assert_eq!(lines.len(), 6);
    assert!(lines.get(4).is_some_and(|l| l.contains("NEWLINE")));
}

#[test]
fn render_points_at_characters_not_bytes() {
    let src = "x = 1\ns = '총 걸림' + (1 +\n";
    let err = tokenize(src)
        .err()
        .unwrap_or_else(|| SyntaxError::syntax("", Default::default()));
    let out = err.render_gnu("prog.mini", src);
    assert_eq!(
        out,
        "prog.mini:2:14: SyntaxError: '(' was never closed\n  File \"prog.mini\", line 2\n    s = '총 걸림' + (1 +\n                 ^\nSyntaxError: '(' was never closed\n"
    );
}

#[test]
fn render_strips_indentation_and_expands_tabs() {
    let src = "if x:\n\ty = )\n";
    let err = tokenize(src)
        .err()
        .unwrap_or_else(|| SyntaxError::syntax("", Default::default()));
    let out = err.render("t.py", src);
    assert_eq!(
        out,
        "  File \"t.py\", line 2\n    y = )\n        ^\nSyntaxError: unmatched ')'\n"
    );
}
