//! Stage 1a: the logos scanner, one `Token` per lexeme (no indentation logic here, see `indent`).
//!
//! Literals keep their source text (via the span) rather than a decoded value, except numbers:
//! strings and f-strings are decoded by the parser, which needs the raw text and its offsets anyway.

use logos::{Lexer, Logos};

use crate::number::{self, NumberError};

/// What can go wrong inside one lexeme. Turned into a `SyntaxError` with a span by `indent`.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum LexError {
    /// A character that starts no token.
    #[default]
    Invalid,
    /// An integer literal outside `i64`: the indentation layer turns it into [`Token::BigInt`].
    IntTooLarge,
    /// `0123`: CPython rejects leading zeros in decimal literals.
    LeadingZeros,
    /// A malformed number (`1abc`, `0x`, `0b12`, `1e+`): CPython's message and column.
    Number(NumberError),
    /// A single-quoted string that reaches the end of its line.
    UnterminatedString,
    /// A triple-quoted string that reaches the end of the file.
    UnterminatedTriple,
}

/// One lexeme. `Newline`/`Indent`/`Dedent`/`EndOfFile` come from the indentation layer.
#[derive(Logos, Debug, Clone, PartialEq)]
#[logos(error = LexError)]
#[logos(skip r"[ \t\x0C]+")]
#[logos(skip(r"#[^\r\n]*", allow_greedy = true))]
// A backslash directly before a newline joins the two lines.
#[logos(skip r"\\\r?\n")]
pub enum Token {
    // ---- keywords ----
    #[token("False")]
    False,
    #[token("None")]
    None,
    #[token("True")]
    True,
    #[token("and")]
    And,
    #[token("as")]
    As,
    #[token("assert")]
    Assert,
    #[token("async")]
    Async,
    #[token("await")]
    Await,
    #[token("break")]
    Break,
    #[token("class")]
    Class,
    #[token("continue")]
    Continue,
    #[token("def")]
    Def,
    #[token("del")]
    Del,
    #[token("elif")]
    Elif,
    #[token("else")]
    Else,
    #[token("except")]
    Except,
    #[token("finally")]
    Finally,
    #[token("for")]
    For,
    #[token("from")]
    From,
    #[token("global")]
    Global,
    #[token("if")]
    If,
    #[token("import")]
    Import,
    #[token("in")]
    In,
    #[token("is")]
    Is,
    #[token("lambda")]
    Lambda,
    #[token("nonlocal")]
    Nonlocal,
    #[token("not")]
    Not,
    #[token("or")]
    Or,
    #[token("pass")]
    Pass,
    #[token("raise")]
    Raise,
    #[token("return")]
    Return,
    #[token("try")]
    Try,
    #[token("while")]
    While,
    #[token("with")]
    With,
    #[token("yield")]
    Yield,

    // ---- names and literals ----
    /// An identifier (Unicode letters allowed, as in Python 3).
    #[regex(r"[\p{XID_Start}_][\p{XID_Continue}]*")]
    Name,
    /// Decimal, hex, octal or binary integer, with `_` separators.
    #[regex(r"[0-9](_?[0-9])*", lex_decimal)]
    #[regex(r"0[xX](_?[0-9a-fA-F])+", |lex| lex_radix(lex, 16))]
    #[regex(r"0[oO](_?[0-7])+", |lex| lex_radix(lex, 8))]
    #[regex(r"0[bB](_?[01])+", |lex| lex_radix(lex, 2))]
    Int(i64),
    /// An integer literal beyond `i64`, as its source text without underscores (`0x` prefix
    /// kept); the VM converts it to a big int when it loads the code. Made by `indent` from
    /// `LexError::IntTooLarge`.
    BigInt(String),
    /// `1.5`, `.5`, `1.`, `1e-3`.
    #[regex(
        r"[0-9](_?[0-9])*\.([0-9](_?[0-9])*)?([eE][+-]?[0-9](_?[0-9])*)?",
        lex_float
    )]
    #[regex(r"\.[0-9](_?[0-9])*([eE][+-]?[0-9](_?[0-9])*)?", lex_float)]
    #[regex(r"[0-9](_?[0-9])*[eE][+-]?[0-9](_?[0-9])*", lex_float)]
    Float(f64),
    /// An imaginary literal, a number followed by `j` (`2j`, `1.5e3J`): its value is the
    /// imaginary part.
    #[regex(r"([0-9](_?[0-9])*|[0-9](_?[0-9])*\.([0-9](_?[0-9])*)?|\.[0-9](_?[0-9])*)([eE][+-]?[0-9](_?[0-9])*)?[jJ]", lex_imaginary)]
    Imaginary(f64),
    /// A string literal (any quotes, prefixes `r`, `u`); the parser decodes it from the source text.
    #[regex(r#"([rRuU])?['"]"#, lex_string)]
    Str,
    /// An f-string literal (`f`, `F`, `rf`, `fr`, ...); the parser splits it into parts.
    #[regex(r#"([fF][rR]?|[rR][fF])['"]"#, lex_string)]
    FStr,
    /// A bytes literal (`b`, `rb`, `br`, any case); the parser decodes it (ASCII text only).
    #[regex(r#"([bB][rR]?|[rR][bB])['"]"#, lex_string)]
    Bytes,

    // ---- operators ----
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("**")]
    DoubleStar,
    #[token("/")]
    Slash,
    #[token("//")]
    DoubleSlash,
    #[token("%")]
    Percent,
    #[token("@")]
    At,
    #[token("<<")]
    LShift,
    #[token(">>")]
    RShift,
    #[token("&")]
    Amper,
    #[token("|")]
    Vbar,
    #[token("^")]
    Circumflex,
    #[token("~")]
    Tilde,
    #[token(":=")]
    ColonEqual,
    #[token("<")]
    Less,
    #[token(">")]
    Greater,
    #[token("<=")]
    LessEqual,
    #[token(">=")]
    GreaterEqual,
    #[token("==")]
    EqEqual,
    #[token("!=")]
    NotEqual,
    /// `<>`, Python 2's not-equal: one token, as CPython's tokenizer makes it, which no rule of
    /// the grammar accepts (CPython takes it only under `from __future__ import
    /// barry_as_FLUFL`), so `1 <> 2` is "invalid syntax" at the whole `<>`, not at its `>`.
    #[token("<>")]
    LessGreater,
    #[token("!")]
    Exclamation,

    // ---- delimiters ----
    #[token("(")]
    LPar,
    #[token(")")]
    RPar,
    #[token("[")]
    LSqb,
    #[token("]")]
    RSqb,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token(",")]
    Comma,
    #[token(":")]
    Colon,
    #[token(";")]
    Semi,
    #[token(".")]
    Dot,
    #[token("...")]
    Ellipsis,
    #[token("->")]
    Arrow,
    #[token("=")]
    Equal,
    #[token("+=")]
    PlusEqual,
    #[token("-=")]
    MinusEqual,
    #[token("*=")]
    StarEqual,
    #[token("/=")]
    SlashEqual,
    #[token("//=")]
    DoubleSlashEqual,
    #[token("%=")]
    PercentEqual,
    #[token("@=")]
    AtEqual,
    #[token("&=")]
    AmperEqual,
    #[token("|=")]
    VbarEqual,
    #[token("^=")]
    CircumflexEqual,
    #[token(">>=")]
    RShiftEqual,
    #[token("<<=")]
    LShiftEqual,
    #[token("**=")]
    DoubleStarEqual,

    // ---- layout (produced by `indent`, never by logos) ----
    /// A logical line ends. Carries nothing: the indentation layer measures the next line itself.
    #[regex(r"\r?\n")]
    Newline,
    Indent,
    Dedent,
    EndOfFile,
}

/// `2j`: the digits before the `j`, read as a float (leading zeros are allowed, as for floats).
fn lex_imaginary(lex: &mut Lexer<Token>) -> Result<f64, LexError> {
    check_literal(lex)?;
    let slice = lex.slice();
    parse_float(&slice[..slice.len() - 1])
}

/// Decimal integers: reject leading zeros like CPython, and values beyond i64.
fn lex_decimal(lex: &mut Lexer<Token>) -> Result<i64, LexError> {
    check_literal(lex)?;
    let digits: String = lex.slice().chars().filter(|&c| c != '_').collect();
    if digits.len() > 1 && digits.starts_with('0') && digits.chars().any(|c| c != '0') {
        return Err(LexError::LeadingZeros);
    }
    digits.parse::<i64>().map_err(|_| LexError::IntTooLarge)
}

/// `0x..`, `0o..`, `0b..` integers.
fn lex_radix(lex: &mut Lexer<Token>, radix: u32) -> Result<i64, LexError> {
    check_literal(lex)?;
    let digits: String = lex
        .slice()
        .get(2..)
        .unwrap_or("")
        .chars()
        .filter(|&c| c != '_')
        .collect();
    i64::from_str_radix(&digits, radix).map_err(|_| LexError::IntTooLarge)
}

fn lex_float(lex: &mut Lexer<Token>) -> Result<f64, LexError> {
    check_literal(lex)?;
    parse_float(lex.slice())
}

/// A float's digits (the regular expression has checked their form).
fn parse_float(text: &str) -> Result<f64, LexError> {
    let digits: String = text.chars().filter(|&c| c != '_').collect();
    digits.parse::<f64>().map_err(|_| {
        LexError::Number(NumberError {
            message: "invalid decimal literal".into(),
            at: text.len(),
        })
    })
}

/// What follows the matched number may make it malformed (`1_`, `0x`, `1abc`; `1if x else 2` is
/// fine): `number::check` reads the literal again as CPython does, for its message and column.
fn check_literal(lex: &mut Lexer<Token>) -> Result<(), LexError> {
    let text = lex.source().get(lex.span().start..).unwrap_or("");
    number::check(text).map_err(LexError::Number)
}

/// Scans the body of a string literal after its prefix and opening quote (already matched).
/// Triple-quoted strings may span lines; single-quoted ones end at the first unescaped newline.
fn lex_string(lex: &mut Lexer<Token>) -> Result<(), LexError> {
    let quote = lex.slice().chars().last().unwrap_or('\'');
    let rest = lex.remainder();
    let triple_open: String = std::iter::repeat_n(quote, 2).collect();
    let triple = rest.starts_with(&triple_open);
    if triple {
        lex.bump(2);
    }
    let body = lex.remainder();
    let mut chars = body.char_indices();
    let mut consumed = None;
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                // A backslash always protects the next character (even in raw strings).
                chars.next();
            }
            '\n' if !triple => break,
            c if c == quote => {
                if !triple {
                    consumed = Some(i + 1);
                    break;
                }
                let closing: String = std::iter::repeat_n(quote, 3).collect();
                if body.get(i..).is_some_and(|s| s.starts_with(&closing)) {
                    consumed = Some(i + 3);
                    break;
                }
            }
            _ => {}
        }
    }
    match consumed {
        Some(n) => {
            lex.bump(n);
            Ok(())
        }
        None if triple => Err(LexError::UnterminatedTriple),
        None => Err(LexError::UnterminatedString),
    }
}

impl Token {
    /// A short kind name for `minivm tokens`, close to `python -m tokenize` (`NAME`, `NUMBER`, `OP`...).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Token::Name => "NAME",
            Token::Int(_) | Token::Float(_) | Token::Imaginary(_) => "NUMBER",
            Token::Str | Token::Bytes => "STRING",
            Token::FStr => "FSTRING",
            Token::Newline => "NEWLINE",
            Token::Indent => "INDENT",
            Token::Dedent => "DEDENT",
            Token::EndOfFile => "ENDMARKER",
            t if t.is_keyword() => "KEYWORD",
            _ => "OP",
        }
    }

    pub fn is_keyword(&self) -> bool {
        use Token::*;
        matches!(
            self,
            False
                | None
                | True
                | And
                | As
                | Assert
                | Async
                | Await
                | Break
                | Class
                | Continue
                | Def
                | Del
                | Elif
                | Else
                | Except
                | Finally
                | For
                | From
                | Global
                | If
                | Import
                | In
                | Is
                | Lambda
                | Nonlocal
                | Not
                | Or
                | Pass
                | Raise
                | Return
                | Try
                | While
                | With
                | Yield
        )
    }
}
