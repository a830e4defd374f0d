//! Stage 2: tokens to AST, a hand-written recursive-descent parser following CPython's grammar.
//!
//! `stmt` parses statements and blocks, `expr` expressions (Python precedence), `strings` string
//! literals and f-strings, `targets` checks assignment/deletion targets. Errors use CPython's wording
//! where it is easy. Recursion is bounded by `MAX_DEPTH`, so hostile nesting gives CPython's
//! `MemoryError` instead of overflowing the Rust stack; chains (`a.b.b...`, `1 + 1 + ...`) are
//! parsed by loops, and the trees they build are dropped without recursion (`ast.rs`).

mod expr;
mod pattern;
mod stmt;
mod strings;
mod targets;

use minivm_lexer::{tokenize, ErrorEnd, SyntaxErrorKind, Tok, Token, TokenizerReport};

use crate::ast::{Module, StmtKind};
use crate::compile::{check_numbers, finish_front_end, CompileWarning};
use crate::{Span, SyntaxError};

/// Maximum nesting of recursive grammar rules (unary operators, `not`, `**`, conditional
/// expressions, lambdas, `elif`, blocks) the parser follows. Past it the parse fails with a bare
/// `MemoryError`, as CPython's parser does when its stack (6000 levels) overflows. CPython spends
/// about 32 of those levels on the rules from a file down to one operand (this parser on one), so
/// the limit here is lower by that much: 5967 unary minuses parse in both, 5968 fail in both
/// (other rules land within a few dozen levels of CPython's). The lexer separately limits open
/// brackets to 200 and indentation to 100 levels, as CPython does.
pub(crate) const MAX_DEPTH: usize = 5968;

/// The deepest nesting of statements and expressions the compiler accepts: CPython's symtable
/// allows 3 levels per unit of the recursion limit (1000). Deeper programs (a chain of 3,000 `+`,
/// a 3,000-long attribute chain) fail with `RecursionError: maximum recursion depth exceeded during
/// compilation`. Chains are parsed by loops, so only the symtable's count (`symtable.rs`) sees
/// their depth; everything after it walks trees no deeper than this.
pub const MAX_COMPILE_DEPTH: usize = 3000;

/// Parse a whole source file.
pub fn parse(src: &str) -> Result<Module, SyntaxError> {
    parse_warned(src).0
}

/// Parse the text of `eval()` or `compile(..., 'eval')` by CPython's `eval` rule, `expressions
/// NEWLINE* ENDMARKER`: one expression or an unstarred tuple of them, so a statement (`x = 1`,
/// `def`) or a starred item (`*a,`) fails at its first token that cannot go on an expression.
/// The module returned holds that expression as its one statement.
pub fn parse_eval(src: &str) -> Result<Module, SyntaxError> {
    parse_eval_warned(src).0
}

/// The result of a parse, with the tokenizer's and parser's warnings found on the way (in
/// source order; see `compile::warn`).
pub type Parsed = (Result<Module, SyntaxError>, Vec<CompileWarning>);

/// [`parse`], with its warnings.
pub fn parse_warned(src: &str) -> Parsed {
    parse_rule(src, |p| p.module())
}

/// [`parse_eval`], with its warnings.
pub fn parse_eval_warned(src: &str) -> Parsed {
    parse_rule(src, |p| p.eval_input())
}

/// Tokenize `src` and parse it by `rule` (a start rule of the grammar). The tokenizer's
/// warnings are those of every token read: CPython's tokenizer reads on to the end after a
/// parser error (to report an error of its own there first), so after one too.
fn parse_rule(src: &str, rule: fn(&mut Parser) -> Result<Module, SyntaxError>) -> Parsed {
    let mut toks = Vec::new();
    let mut warnings = Vec::new();
    for tok in minivm_lexer::IndentLexer::new(src) {
        match tok {
            Ok(t) => toks.push(t),
            Err(e) => {
                check_numbers(src, &toks, None, &mut warnings);
                let e = if e.report == TokenizerReport::Unclosed {
                    unclosed_or_earlier(src, toks, e, rule, &mut warnings)
                } else {
                    earlier_or_lex_error(src, toks, e, rule, &mut warnings)
                };
                finish_front_end(src, &mut warnings);
                return (Err(e), warnings);
            }
        }
    }
    check_numbers(src, &toks, None, &mut warnings);
    let mut p = Parser::new(src, toks);
    let result = rule(&mut p);
    warnings.append(&mut p.warnings);
    finish_front_end(src, &mut warnings);
    (result, warnings)
}

/// The lexer stopped at an error in the middle of the text. CPython's tokenizer meets it when
/// its parser asks for that token, so what the parser finds first in the tokens before it may
/// stand, by CPython's rules (`_PyPegen_set_syntax_error`): an error the tokenizer raises itself
/// (an unmatched or mismatched bracket, a bad character or literal) replaces any parser error
/// but a generic unexpected indent or unindent, as CPython tokenizes the rest of the source
/// after a syntax error to look for one; an error the tokenizer only signals (an unindent that
/// matches no level, a tab error, too deep an indentation, a bad line continuation) counts
/// only if the parser reached it. So `pass` then a line with an unexpected indent, then an
/// unmatched `]` lines later, is CPython's `IndentationError: unexpected indent`.
fn earlier_or_lex_error(
    src: &str,
    toks: Vec<Tok>,
    lex: SyntaxError,
    rule: fn(&mut Parser) -> Result<Module, SyntaxError>,
    warnings: &mut Vec<CompileWarning>,
) -> SyntaxError {
    let read = toks.len();
    let mut p = Parser::new(src, toks);
    let signalled = lex.report == TokenizerReport::Signalled;
    let parsed = rule(&mut p);
    // The literals it decoded before it stopped warned in CPython's parser too.
    warnings.append(&mut p.warnings);
    match parsed {
        Err(e)
            if p.furthest.get() < read
                && (signalled
                    || (e.kind == SyntaxErrorKind::IndentationError
                        && matches!(
                            e.message.as_str(),
                            "unexpected indent" | "unexpected unindent"
                        ))) =>
        {
            e
        }
        _ => lex,
    }
}

/// Parse the first statement of `src` for `compile(..., 'single')` (see `Parser::single`): the
/// tokens are read up to the first lexer error, which only counts if the statement reaches it.
pub fn parse_single(src: &str) -> Result<Module, SyntaxError> {
    parse_single_warned(src).0
}

/// [`parse_single`], with its warnings.
pub fn parse_single_warned(src: &str) -> Parsed {
    let mut toks = Vec::new();
    let mut lex_err = None;
    for tok in minivm_lexer::IndentLexer::new(src) {
        match tok {
            Ok(t) => toks.push(t),
            Err(e) => {
                lex_err = Some(e);
                break;
            }
        }
    }
    let mut warnings = Vec::new();
    check_numbers(src, &toks, None, &mut warnings);
    let mut p = Parser::new(src, toks);
    let result = p.single(lex_err);
    warnings.append(&mut p.warnings);
    finish_front_end(src, &mut warnings);
    (result, warnings)
}

/// The lexer found a bracket never closed, which it can only know at the end of the file; CPython's
/// parser reads tokens lazily and reports a plain `invalid syntax` met earlier, on the bracket's
/// own line or a line before it, first (`def f(:`, `x = = 1` then `y = (` on the next line):
/// CPython keeps a generic error unless it lies on a later line than the innermost open bracket.
/// Anything else (a specific message, an error on a later line or at the end of the file) gives
/// way to "'(' was never closed", as in CPython, except the messages CPython's second pass
/// raises as soon as it reads a `)` that is there: parenthesized parameters
/// (`def f((a, b):` then a bracket left open on a later line), which never reach the end.
fn unclosed_or_earlier(
    src: &str,
    mut toks: Vec<Tok>,
    unclosed: SyntaxError,
    rule: fn(&mut Parser) -> Result<Module, SyntaxError>,
    warnings: &mut Vec<CompileWarning>,
) -> SyntaxError {
    let end = src.len();
    toks.push(Tok {
        kind: Token::EndOfFile,
        span: Span::new(end, end),
    });
    let mut p = Parser::new(src, toks);
    let parsed = rule(&mut p);
    // The literals it decoded before it stopped warned in CPython's parser too.
    warnings.append(&mut p.warnings);
    match parsed {
        Err(e) if generic_before_unclosed(src, &e, &unclosed) && !reads_to_end(&mut p, &e) => e,
        Err(e) if e.message.ends_with("parameters cannot be parenthesized") => e,
        // An unexpected INDENT or DEDENT (always before the open bracket: no layout tokens come
        // inside one): CPython's parser raises it without tokenizing the rest of the source.
        Err(e)
            if e.kind == SyntaxErrorKind::IndentationError
                && matches!(
                    e.message.as_str(),
                    "unexpected indent" | "unexpected unindent"
                ) =>
        {
            e
        }
        // Errors CPython raises at a token read before the end, on the open bracket's line or
        // before it: a keyword argument's target that is an expression (`f(a.b = [`), a colon
        // its grammar forces (`try x:`), and a mistyped `=` whose value was followed by
        // another token (`(a = 1 2`; `(a = 1` reads on to the end).
        Err(e)
            if e.line(src) <= unclosed.line(src)
                && (e
                    .message
                    .starts_with("expression cannot contain assignment")
                    || e.message == "expected ':'"
                    || (e.message.contains("Maybe you meant '=='")
                        && !p.at(&Token::EndOfFile))) =>
        {
            e
        }
        _ => unclosed,
    }
}

/// How far an expression read from a token goes (see `reads_to_end`).
#[derive(PartialEq)]
enum Reach {
    /// Into the end of the text (which, here, lies inside the never-closed bracket).
    End,
    /// It stops before this token.
    Before(usize),
    /// It fails before the end.
    Fails,
}

/// After a plain `invalid syntax` at a token that starts an expression, CPython's second pass
/// reads on: `invalid_expression` reads `2 (` in `1 2 (` as the expression a comma might be
/// missing before, and `invalid_legacy_expression` reads what follows a name as its arguments
/// (`a b c (`: `b c`, then `c (` as above), and `invalid_named_expression` reads the value of
/// `name = value`. When such a read runs into the end of the file, the
/// tokenizer reports the bracket never closed there, and that error replaces the generic one.
/// True when it does (`p` is the parser that failed, reused to read from other tokens).
fn reads_to_end(p: &mut Parser, e: &SyntaxError) -> bool {
    let Some(i) = p.toks.iter().position(|t| t.span.start == e.span.start) else {
        return false;
    };
    if p.expr_from(i) == Reach::End {
        return true;
    }
    // `name = value` inside brackets, where a named expression may stand (`a = (` then
    // `b = [`): the value is read as the one a `==` or `:=` might have been meant for.
    let depth = p.toks[..i].iter().fold(0i64, |d, t| match t.kind {
        Token::LPar | Token::LSqb | Token::LBrace => d + 1,
        Token::RPar | Token::RSqb | Token::RBrace => d - 1,
        _ => d,
    });
    if i > 0
        && depth > 0
        && p.toks[i].kind == Token::Equal
        && p.toks[i - 1].kind == Token::Name
        && p.expr_from(i + 1) == Reach::End
    {
        return true;
    }
    // A name, not called, before an expression start: a legacy statement's arguments, read with
    // the second pass's rules (so again an expression and what follows it, and again after a
    // name).
    let mut j = i;
    while j > 0
        && p.toks[j - 1].kind == Token::Name
        && p.toks.get(j).is_some_and(|t| t.kind != Token::LPar)
    {
        p.pos = j;
        if !p.starts_expr() {
            return false;
        }
        match p.expr_from(j) {
            Reach::End => return true,
            Reach::Before(k) => {
                p.pos = k;
                if p.starts_expr() && p.expr_from(k) == Reach::End {
                    return true;
                }
            }
            Reach::Fails => return false,
        }
        j += 1;
    }
    false
}

impl Parser<'_> {
    /// Read one expression from token `i` (see `reads_to_end`).
    fn expr_from(&mut self, i: usize) -> Reach {
        self.pos = i;
        self.depth = 0;
        if !self.starts_expr() {
            return Reach::Fails;
        }
        let end = self.src.trim_end().len();
        match self.test() {
            Ok(_) if self.at(&Token::EndOfFile) => Reach::End,
            Ok(_) => Reach::Before(self.pos),
            // The parser stopped at the end (some errors there take the last token's span).
            Err(e) if e.span.start as usize >= end || self.at(&Token::EndOfFile) => Reach::End,
            Err(_) => Reach::Fails,
        }
    }
}

/// Does the parser's error `e` stand before the lexer's "'(' was never closed" (`unclosed`):
/// a plain `invalid syntax` inside the text, on the innermost open bracket's line or before it?
pub(crate) fn generic_before_unclosed(src: &str, e: &SyntaxError, unclosed: &SyntaxError) -> bool {
    e.message == "invalid syntax"
        && e.kind == SyntaxErrorKind::SyntaxError
        && e.end != ErrorEnd::AtEnd
        && (e.span.start as usize) < src.trim_end().len()
        && e.line(src) <= unclosed.line(src)
}

/// True when `src` is a prefix of valid input that needs more lines (REPL continuation), as CPython's
/// REPL decides: an open bracket, a trailing `\`, an unterminated triple-quoted string, a block header
/// still waiting for its body, or a compound statement not yet ended by a blank line.
pub fn input_is_incomplete(src: &str) -> bool {
    // A trailing `\` joins the next line, so the statement cannot be finished yet.
    if src.trim_end_matches(['\n', '\r']).ends_with('\\') {
        return true;
    }
    match tokenize(src) {
        Err(e) => {
            let at_end = e.span.end as usize >= src.trim_end().len();
            e.report == TokenizerReport::Unclosed
                || e.message.starts_with("unterminated triple-quoted")
                || (e.message == "unexpected EOF while parsing" && at_end)
        }
        Ok(toks) => {
            let starts_compound = matches!(
                toks.first().map(|t| &t.kind),
                Some(
                    Token::If
                        | Token::While
                        | Token::For
                        | Token::Try
                        | Token::With
                        | Token::Def
                        | Token::Class
                        | Token::At
                        | Token::Async
                )
            );
            let mut p = Parser::new(src, toks);
            match p.module() {
                Err(e) => {
                    e.kind == SyntaxErrorKind::IndentationError
                        && e.message.starts_with("expected an indented block")
                        && e.span.start as usize >= src.trim_end().len()
                }
                Ok(m) => {
                    // A blank last line ends a compound statement, as in CPython's REPL.
                    let ended = src.ends_with("\n\n")
                        || src.rsplit('\n').nth(1).is_some_and(|l| l.trim().is_empty())
                            && src.ends_with('\n');
                    let compound = starts_compound
                        || m.body.iter().any(|s| {
                            !matches!(
                                s.kind,
                                StmtKind::Expr(_)
                                    | StmtKind::Assign { .. }
                                    | StmtKind::AugAssign { .. }
                                    | StmtKind::AnnAssign { .. }
                                    | StmtKind::Pass
                                    | StmtKind::Break
                                    | StmtKind::Continue
                                    | StmtKind::Return(_)
                                    | StmtKind::Global(_)
                                    | StmtKind::Nonlocal(_)
                                    | StmtKind::Assert { .. }
                                    | StmtKind::Del(_)
                                    | StmtKind::Import(_)
                                    | StmtKind::ImportFrom { .. }
                                    | StmtKind::Raise { .. }
                            )
                        });
                    compound && !ended
                }
            }
        }
    }
}

/// Parser state: the token list, a cursor and the current nesting depth.
pub(crate) struct Parser<'s> {
    pub(crate) src: &'s str,
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
    /// The furthest token position looked at (`peek_at`, `rest`): whether a parse of the tokens
    /// before a lexer error needed more of them (`earlier_or_lex_error`).
    furthest: std::cell::Cell<usize>,
    /// The warnings of the literals decoded so far (`"\d"`), and of the tokens of f-string
    /// fields read (`f"{1if x else 2}"`).
    pub(crate) warnings: Vec<CompileWarning>,
    /// The string literal being decoded, and whether CPython's parser had read past its line
    /// (see `Parser::strings`): where its escape warnings point as errors.
    literal: (Span, bool),
}

impl<'s> Parser<'s> {
    pub(crate) fn new(src: &'s str, toks: Vec<Tok>) -> Parser<'s> {
        Parser {
            src,
            toks,
            pos: 0,
            depth: 0,
            furthest: std::cell::Cell::new(0),
            warnings: Vec::new(),
            literal: (Span::default(), false),
        }
    }

    /// The tokens from the current one to the end (all of them looked at).
    fn rest(&self) -> &[Tok] {
        self.furthest.set(self.toks.len());
        self.toks.get(self.pos..).unwrap_or_default()
    }

    /// The current token kind (`EndOfFile` past the end).
    pub(crate) fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    pub(crate) fn peek_at(&self, n: usize) -> &Token {
        let at = self.pos + n;
        if at > self.furthest.get() {
            self.furthest.set(at);
        }
        self.toks.get(at).map_or(&Token::EndOfFile, |t| &t.kind)
    }

    /// Span of the current token.
    pub(crate) fn span(&self) -> Span {
        self.toks
            .get(self.pos)
            .or_else(|| self.toks.last())
            .map_or(Span::default(), |t| t.span)
    }

    /// The token `n` places ahead, if read (looked at, as `peek_at`).
    pub(crate) fn toks_at(&self, n: usize) -> Option<&Tok> {
        self.peek_at(n);
        self.toks.get(self.pos + n)
    }

    /// Span of the previously consumed token.
    pub(crate) fn prev_span(&self) -> Span {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.toks.get(i))
            .map_or(Span::default(), |t| t.span)
    }

    /// The span of the last token read that is code: not the NEWLINE, INDENT or DEDENT that
    /// end a block (a DEDENT stands at the next statement). Where a block ends in CPython's
    /// positions: its last statement's last token.
    pub(crate) fn prev_code_span(&self) -> Span {
        self.toks
            .get(..self.pos)
            .unwrap_or_default()
            .iter()
            .rev()
            .find(|t| !matches!(t.kind, Token::Newline | Token::Indent | Token::Dedent))
            .map_or(Span::default(), |t| t.span)
    }

    pub(crate) fn at(&self, t: &Token) -> bool {
        self.peek() == t
    }

    /// Consumes the current token and returns its span.
    pub(crate) fn bump(&mut self) -> Span {
        let s = self.span();
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
        s
    }

    pub(crate) fn eat(&mut self, t: &Token) -> bool {
        if self.at(t) {
            self.bump();
            true
        } else {
            false
        }
    }

    /// Source text of a span.
    pub(crate) fn text(&self, span: Span) -> &'s str {
        self.src
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    /// The identifier at `span` (a `Name` token), normalized as PEP 3131 says.
    pub(crate) fn name_text(&self, span: Span) -> String {
        crate::normalized_name(self.text(span))
    }

    pub(crate) fn save(&self) -> (usize, usize) {
        (self.pos, self.depth)
    }

    pub(crate) fn restore(&mut self, state: (usize, usize)) {
        self.pos = state.0;
        self.depth = state.1;
    }

    /// `invalid syntax` at the current token (or the right special message for layout tokens).
    pub(crate) fn unexpected(&self) -> SyntaxError {
        match self.peek() {
            Token::Indent => SyntaxError::new(
                SyntaxErrorKind::IndentationError,
                "unexpected indent",
                // The last character of the indentation, as CPython: its offset lies inside
                // the indentation, so no caret is drawn under the line. The INDENT token spans
                // the indentation: the token after it is not looked at, as CPython's parser
                // stops at the INDENT and never meets an error in that token (`    )`, see
                // `earlier_or_lex_error`).
                {
                    let at = (self.span().end as usize).saturating_sub(1);
                    Span::new(at, at)
                },
            )
            .with_end(ErrorEnd::MinusOne),
            // A block ended where a statement must go on (a decorator as a block's last line):
            // CPython's generic error at a DEDENT token. Before a statement it names that
            // statement's line, without a caret; at the end of the file the last line, past
            // its end (the last newline).
            Token::Dedent => {
                let at = self.span().start as usize;
                let rest = self.rest();
                if rest
                    .iter()
                    .all(|t| matches!(t.kind, Token::Dedent | Token::EndOfFile))
                {
                    let end = self.src.len();
                    let at = end - usize::from(self.src.ends_with('\n'));
                    SyntaxError::new(
                        SyntaxErrorKind::IndentationError,
                        "unexpected unindent",
                        Span::new(at, at),
                    )
                    .with_end(ErrorEnd::EndOfFile)
                } else {
                    SyntaxError::new(
                        SyntaxErrorKind::IndentationError,
                        "unexpected unindent",
                        Span::new(at, at),
                    )
                    .with_end(ErrorEnd::LineStart)
                }
            }
            Token::Exclamation => SyntaxError::syntax("invalid syntax", self.span()),
            // The end of the file where a statement must go on (`@dec` as the last line):
            // CPython names the last line, without a column.
            Token::EndOfFile => {
                let at = (self.span().start as usize).saturating_sub(1);
                SyntaxError::syntax("invalid syntax", Span::new(at, at)).with_end(ErrorEnd::AtEnd)
            }
            _ => SyntaxError::syntax("invalid syntax", self.span()),
        }
    }

    /// An error CPython's grammar raises at the last token it read (`RAISE_SYNTAX_ERROR`), when
    /// that token is the one the parser stands on. A DEDENT or the end of the file has no
    /// column of its own there: at the end (only DEDENTs left) CPython names the last line, past
    /// its end, with `end_offset` -1; before a statement, that statement's line at its
    /// indentation (the tokenizer's position), with `end_offset` -1.
    pub(crate) fn error_at_token(&self, msg: &str) -> SyntaxError {
        let rest = self.rest();
        let next = rest
            .iter()
            .find(|t| !matches!(t.kind, Token::Dedent))
            .filter(|t| t.kind != Token::EndOfFile);
        match (self.peek(), next) {
            (Token::Dedent | Token::EndOfFile, None) => {
                let end = self.src.len();
                let at = end - usize::from(self.src.ends_with('\n'));
                SyntaxError::syntax(msg, Span::new(at, at)).with_end(ErrorEnd::EndOfFile)
            }
            (Token::Dedent, Some(t)) => {
                let at = t.span.start as usize;
                let line_start = self
                    .src
                    .get(..at)
                    .and_then(|s| s.rfind('\n'))
                    .map_or(0, |i| i + 1);
                if at == line_start {
                    SyntaxError::syntax(msg, Span::new(at, at)).with_end(ErrorEnd::LineStart)
                } else {
                    // (The offset is the indentation's width: the span's 1-based column is
                    // its last character's.)
                    SyntaxError::syntax(msg, Span::new(at - 1, at - 1)).with_end(ErrorEnd::MinusOne)
                }
            }
            _ => SyntaxError::syntax(msg, self.span()),
        }
    }

    pub(crate) fn expect(&mut self, t: &Token) -> Result<Span, SyntaxError> {
        if self.at(t) {
            Ok(self.bump())
        } else {
            Err(self.unexpected())
        }
    }

    /// Expects `:` where CPython's grammar forces it (`&&':'`: after `else`, `try`, `finally`
    /// and a function's header): `expected ':'` at whatever token stands there.
    pub(crate) fn expect_forced_colon(&mut self) -> Result<Span, SyntaxError> {
        if self.at(&Token::Colon) {
            Ok(self.bump())
        } else {
            Err(SyntaxError::syntax("expected ':'", self.span()))
        }
    }

    /// Expects `:` ending a header, with CPython's `expected ':'` message.
    pub(crate) fn expect_colon(&mut self) -> Result<Span, SyntaxError> {
        if self.at(&Token::Colon) {
            Ok(self.bump())
        } else if matches!(self.peek(), Token::Newline | Token::EndOfFile) {
            Err(SyntaxError::syntax("expected ':'", self.span()))
        } else {
            Err(self.unexpected())
        }
    }

    /// Enters one nesting level; fails cleanly past `MAX_DEPTH` (see `nested`).
    fn enter(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(SyntaxError::new(
                SyntaxErrorKind::MemoryError,
                "",
                self.span(),
            ));
        }
        Ok(())
    }

    /// Run `parse` `levels` nesting levels deeper (CPython's grammar spends two levels on some
    /// rules, `**` and `lambda`; counting the same keeps the limit where CPython's is).
    pub(crate) fn nested<T>(
        &mut self,
        levels: usize,
        parse: impl FnOnce(&mut Self) -> Result<T, SyntaxError>,
    ) -> Result<T, SyntaxError> {
        for _ in 0..levels {
            self.enter()?;
        }
        let r = parse(self);
        self.depth = self.depth.saturating_sub(levels);
        r
    }
}
