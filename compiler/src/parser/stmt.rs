//! Stage 2 (statements): simple statements, compound statements and indented blocks.

use minivm_lexer::{ErrorEnd, SyntaxErrorKind, Token, TokenizerReport};

use super::targets::Ctx;
use super::Parser;
use crate::ast::{
    Alias, BinOp, ClassDef, Const, ExceptHandler, Expr, ExprKind, FunctionDef, Ident, Module, Stmt,
    StmtKind, Try, UnaryOp, WithItem,
};
use crate::{Span, SyntaxError};

type PResult<T> = Result<T, SyntaxError>;

fn st(kind: StmtKind, span: Span) -> Stmt {
    Stmt { kind, span }
}

/// Augmented-assignment operator of a token.
fn aug_op(t: &Token) -> Option<BinOp> {
    Some(match t {
        Token::PlusEqual => BinOp::Add,
        Token::MinusEqual => BinOp::Sub,
        Token::StarEqual => BinOp::Mul,
        Token::SlashEqual => BinOp::Div,
        Token::DoubleSlashEqual => BinOp::FloorDiv,
        Token::PercentEqual => BinOp::Mod,
        Token::DoubleStarEqual => BinOp::Pow,
        Token::LShiftEqual => BinOp::LShift,
        Token::RShiftEqual => BinOp::RShift,
        Token::VbarEqual => BinOp::BitOr,
        Token::CircumflexEqual => BinOp::BitXor,
        Token::AmperEqual => BinOp::BitAnd,
        Token::AtEqual => BinOp::MatMul,
        _ => return None,
    })
}

impl Parser<'_> {
    pub(crate) fn module(&mut self) -> PResult<Module> {
        let mut body = Vec::new();
        while !self.at(&Token::EndOfFile) {
            if self.eat(&Token::Newline) {
                continue;
            }
            self.statement(&mut body)?;
        }
        Ok(Module { body })
    }

    /// CPython's `eval` rule: `expressions NEWLINE* ENDMARKER`, where `expressions` is one
    /// `expression` or a tuple of them (no starred items, no walrus without parentheses, no
    /// `yield`). The first token that cannot go on is "invalid syntax", as CPython's first pass
    /// reports it (`x = 1` at `=`, `def` at `def`).
    pub(crate) fn eval_input(&mut self) -> PResult<Module> {
        let value = self.comma_list(Self::test)?;
        self.legacy_statement(&value)?;
        while self.eat(&Token::Newline) {}
        if !self.at(&Token::EndOfFile) {
            return Err(self.unexpected());
        }
        let span = value.span;
        Ok(Module {
            body: vec![st(StmtKind::Expr(value), span)],
        })
    }

    /// `compile(src, name, 'single')`: CPython's interactive rule reads one statement and no
    /// further; text after it (blank lines and comments aside) is "multiple statements found
    /// while compiling a single statement" at the NEWLINE ending a simple statement, or
    /// "invalid syntax" at the token after a compound one, and is never parsed. `lex_err` is the
    /// lexer's error where the tokens were cut short: it counts only if reached.
    pub(crate) fn single(&mut self, lex_err: Option<SyntaxError>) -> PResult<Module> {
        let mut body = Vec::new();
        while self.eat(&Token::Newline) {}
        if self.at(&Token::EndOfFile) {
            return match lex_err {
                Some(e) => Err(e),
                None => Ok(Module { body }),
            };
        }
        let first = self.pos;
        let parsed = self.statement(&mut body);
        // The parser asked for a token past those read: the lexer's error is what it met.
        let reached = self.pos >= self.toks.len();
        match (parsed, lex_err) {
            (Err(_), Some(l)) if reached => Err(l),
            (Err(e), Some(l)) if l.report == TokenizerReport::Unclosed => {
                Err(if super::generic_before_unclosed(self.src, &e, &l) {
                    e
                } else {
                    l
                })
            }
            (Err(e), _) => Err(e),
            (Ok(()), lex_err) => {
                // A statement with a block reads one token past it (does the block go on?); a
                // simple one not ended by its NEWLINE read the token the lexer failed on
                // (`(1))`).
                let block = self.toks.get(first..self.pos).unwrap_or_default();
                let block = block.iter().any(|t| t.kind == Token::Indent);
                let newline = self.pos.checked_sub(1).and_then(|i| self.toks.get(i));
                let newline = newline.is_some_and(|t| t.kind == Token::Newline);
                if let (Some(l), true, true) = (&lex_err, block || !newline, reached) {
                    return Err(l.clone());
                }
                self.after_single(block, lex_err.is_some(), body)
            }
        }
    }

    /// What follows the statement `compile(..., 'single')` read (see `single`).
    fn after_single(&mut self, block: bool, cut: bool, body: Vec<Stmt>) -> PResult<Module> {
        let ending = self.pos.checked_sub(1).and_then(|i| self.toks.get(i));
        let ending = ending
            .filter(|t| t.kind == Token::Newline && !block)
            .map(|t| t.span);
        while self.eat(&Token::Newline) || self.eat(&Token::Dedent) {}
        if self.at(&Token::EndOfFile) && !cut {
            return Ok(Module { body });
        }
        Err(match ending {
            Some(span) => SyntaxError::syntax(
                "multiple statements found while compiling a single statement",
                span,
            ),
            None => self.unexpected(),
        })
    }

    fn ident(&mut self) -> PResult<Ident> {
        if !self.at(&Token::Name) {
            return Err(self.unexpected());
        }
        let span = self.bump();
        Ok(Ident {
            name: self.name_text(span),
            span,
        })
    }

    /// One statement line (possibly several `;`-separated simple statements) or a compound statement.
    fn statement(&mut self, out: &mut Vec<Stmt>) -> PResult<()> {
        match self.peek() {
            Token::If => out.push(self.if_stmt()?),
            Token::While => out.push(self.while_stmt()?),
            Token::For => out.push(self.for_stmt()?),
            Token::Try => out.push(self.try_stmt()?),
            Token::With => out.push(self.with_stmt()?),
            Token::Def => out.push(self.funcdef(Vec::new())?),
            Token::Class => out.push(self.classdef(Vec::new())?),
            Token::At => out.push(self.decorated()?),
            Token::Async => out.push(self.async_stmt(Vec::new())?),
            Token::Name if self.text(self.span()) == "match" && self.looks_like_match() => {
                out.push(self.match_stmt()?)
            }
            _ => self.simple_line(out)?,
        }
        Ok(())
    }

    /// `match x:` at statement start: a soft keyword followed by a subject and a `:` at line end.
    fn looks_like_match(&self) -> bool {
        let mut i = 1;
        let mut depth = 0usize;
        loop {
            match self.peek_at(i) {
                Token::Newline | Token::EndOfFile => return false,
                Token::LPar | Token::LSqb | Token::LBrace => depth += 1,
                Token::RPar | Token::RSqb | Token::RBrace => depth = depth.saturating_sub(1),
                Token::Colon if depth == 0 => {
                    return i > 1
                        && matches!(self.peek_at(i + 1), Token::Newline)
                        && !matches!(self.peek_at(1), Token::Equal | Token::Dot)
                }
                Token::Equal if depth == 0 => return false,
                _ => {}
            }
            i += 1;
        }
    }

    fn simple_line(&mut self, out: &mut Vec<Stmt>) -> PResult<()> {
        loop {
            out.push(self.small_stmt()?);
            if !self.eat(&Token::Semi) {
                break;
            }
            if matches!(self.peek(), Token::Newline | Token::EndOfFile) {
                break;
            }
        }
        if !self.eat(&Token::Newline) && !self.at(&Token::EndOfFile) {
            return Err(self.unexpected());
        }
        Ok(())
    }

    fn small_stmt(&mut self) -> PResult<Stmt> {
        let start = self.span();
        let kind = match self.peek() {
            Token::Pass => {
                self.bump();
                StmtKind::Pass
            }
            Token::Break => {
                self.bump();
                StmtKind::Break
            }
            Token::Continue => {
                self.bump();
                StmtKind::Continue
            }
            Token::Return => {
                self.bump();
                StmtKind::Return(if self.starts_expr() {
                    Some(self.star_expressions()?)
                } else {
                    None
                })
            }
            Token::Raise => {
                self.bump();
                if self.starts_expr() {
                    let exc = self.test()?;
                    let cause = if self.eat(&Token::From) {
                        Some(self.test()?)
                    } else {
                        None
                    };
                    StmtKind::Raise {
                        exc: Some(exc),
                        cause,
                    }
                } else {
                    StmtKind::Raise {
                        exc: None,
                        cause: None,
                    }
                }
            }
            Token::Global | Token::Nonlocal => {
                let global = self.at(&Token::Global);
                self.bump();
                let mut names = vec![self.ident()?];
                while self.eat(&Token::Comma) {
                    names.push(self.ident()?);
                }
                if global {
                    StmtKind::Global(names)
                } else {
                    StmtKind::Nonlocal(names)
                }
            }
            Token::Del => {
                self.bump();
                let first = self.span();
                let parenthesized = self.at(&Token::LPar);
                let mut list = self.target_list()?;
                // `del a, b` deletes two targets; `del (a, b)` one tuple target, as in CPython's AST.
                let targets = match list.kind {
                    ExprKind::Tuple(ref mut items)
                        if !(parenthesized && list.span.start == first.start) =>
                    {
                        std::mem::take(items)
                    }
                    _ => vec![list],
                };
                for t in &targets {
                    self.check_target(t, Ctx::Del)?;
                }
                StmtKind::Del(targets)
            }
            Token::Assert => {
                self.bump();
                let test = self.test()?;
                let msg = if self.eat(&Token::Comma) {
                    Some(self.test()?)
                } else {
                    None
                };
                StmtKind::Assert { test, msg }
            }
            Token::Import => self.import()?,
            Token::From => self.import_from()?,
            _ => return self.expr_stmt(),
        };
        Ok(st(kind, start.to(self.prev_span())))
    }

    fn dotted_name(&mut self) -> PResult<(String, Span)> {
        let first = self.ident()?;
        let mut name = first.name;
        let mut span = first.span;
        while self.eat(&Token::Dot) {
            let part = self.ident()?;
            name.push('.');
            name.push_str(&part.name);
            span = span.to(part.span);
        }
        Ok((name, span))
    }

    fn import(&mut self) -> PResult<StmtKind> {
        self.bump();
        let mut names = Vec::new();
        loop {
            let (name, span) = self.dotted_name()?;
            let asname = if self.eat(&Token::As) {
                Some(self.ident()?)
            } else {
                None
            };
            let span = span.to(self.prev_span());
            names.push(Alias { name, asname, span });
            if !self.eat(&Token::Comma) {
                break;
            }
        }
        Ok(StmtKind::Import(names))
    }

    fn import_from(&mut self) -> PResult<StmtKind> {
        self.bump();
        let mut level = 0;
        loop {
            if self.eat(&Token::Dot) {
                level += 1;
            } else if self.eat(&Token::Ellipsis) {
                level += 3;
            } else {
                break;
            }
        }
        let module = if self.at(&Token::Name) {
            let (name, span) = self.dotted_name()?;
            Some(Ident { name, span })
        } else {
            None
        };
        if module.is_none() && level == 0 {
            return Err(self.unexpected());
        }
        self.expect(&Token::Import)?;
        let mut names = Vec::new();
        if self.at(&Token::Star) {
            let span = self.bump();
            names.push(Alias {
                name: "*".into(),
                asname: None,
                span,
            });
            return Ok(StmtKind::ImportFrom {
                module,
                names,
                level,
            });
        }
        let paren = self.eat(&Token::LPar);
        loop {
            let name = self.ident()?;
            let asname = if self.eat(&Token::As) {
                Some(self.ident()?)
            } else {
                None
            };
            let span = name.span.to(self.prev_span());
            names.push(Alias {
                name: name.name,
                asname,
                span,
            });
            if !self.eat(&Token::Comma) {
                break;
            }
            if paren && self.at(&Token::RPar) {
                break;
            }
            if !paren && self.at(&Token::Newline) {
                // CPython's rule needs the end of the line after the comma, and points at it.
                return Err(SyntaxError::syntax(
                    "trailing comma not allowed without surrounding parentheses",
                    self.span(),
                ));
            }
        }
        if paren {
            self.expect(&Token::RPar)?;
        }
        Ok(StmtKind::ImportFrom {
            module,
            names,
            level,
        })
    }

    /// Right-hand side of `=`/`op=`/annotation: a `yield` expression or `star_expressions`.
    fn assign_value(&mut self) -> PResult<Expr> {
        if self.at(&Token::Yield) {
            self.yield_expr()
        } else {
            self.star_expressions()
        }
    }

    /// `print "x"` / `exec code`: Python 2 statements. CPython names the mistake ("Missing
    /// parentheses in call to 'print'. Did you mean print(...)?") instead of `invalid syntax`.
    fn legacy_statement(&mut self, first: &Expr) -> PResult<()> {
        let name = match &first.kind {
            ExprKind::Name(n) if first.span == first.outer && (n == "print" || n == "exec") => {
                n.clone()
            }
            _ => return Ok(()),
        };
        if !self.starts_expr() || self.at(&Token::LPar) {
            return Ok(());
        }
        let save = self.save();
        match self.star_expressions() {
            Ok(arg) => Err(SyntaxError::syntax(
                format!("Missing parentheses in call to '{name}'. Did you mean {name}(...)?"),
                first.span.to(arg.outer),
            )),
            Err(_) => {
                self.restore(save);
                Ok(())
            }
        }
    }

    /// Expression statement, assignment, augmented assignment or annotated assignment.
    fn expr_stmt(&mut self) -> PResult<Stmt> {
        let first = self.assign_value()?;
        let start = first.span;
        self.legacy_statement(&first)?;
        if let Some(op) = aug_op(self.peek()) {
            self.check_target(&first, Ctx::Aug)?;
            self.bump();
            let value = self.assign_value()?;
            let span = start.to(value.outer);
            return Ok(st(
                StmtKind::AugAssign {
                    target: first,
                    op,
                    value,
                },
                span,
            ));
        }
        if self.at(&Token::Colon) {
            self.bump();
            match first.kind {
                ExprKind::Name(_) | ExprKind::Attribute { .. } | ExprKind::Subscript { .. } => {}
                ExprKind::Tuple(_) => {
                    return Err(SyntaxError::syntax(
                        "only single target (not tuple) can be annotated",
                        first.span,
                    ))
                }
                ExprKind::List(_) => {
                    return Err(SyntaxError::syntax(
                        "only single target (not list) can be annotated",
                        first.span,
                    ))
                }
                _ => {
                    return Err(SyntaxError::syntax(
                        "illegal target for annotation",
                        first.span,
                    ))
                }
            }
            let annotation = self.test()?;
            let value = if self.eat(&Token::Equal) {
                Some(self.assign_value()?)
            } else {
                None
            };
            // (From a parenthesized target's `(`, as CPython's statement starts.)
            let span = first.outer.to(self.prev_span());
            return Ok(st(
                StmtKind::AnnAssign {
                    target: first,
                    annotation,
                    value,
                },
                span,
            ));
        }
        if !self.at(&Token::Equal) {
            let span = first.span;
            return Ok(st(StmtKind::Expr(first), span));
        }
        let mut exprs = vec![first];
        while self.eat(&Token::Equal) {
            exprs.push(self.assign_value()?);
        }
        let value = exprs.pop().ok_or_else(|| self.unexpected())?;
        self.check_assign_targets(&exprs, &value)?;
        let span = start.to(value.outer);
        Ok(st(
            StmtKind::Assign {
                targets: exprs,
                value,
            },
            span,
        ))
    }

    /// The body after a header's `:` — an indented block or simple statements on the same line.
    /// `what` names the header for CPython's "expected an indented block after ..." message.
    pub(crate) fn block(&mut self, what: &str, header: Span) -> PResult<Vec<Stmt>> {
        let mut body = Vec::new();
        if !self.eat(&Token::Newline) {
            if matches!(self.peek(), Token::EndOfFile) {
                return Err(self.expected_block(what, header));
            }
            self.simple_line(&mut body)?;
            return Ok(body);
        }
        if !self.eat(&Token::Indent) {
            return Err(self.expected_block(what, header));
        }
        self.nested(1, |p| {
            while !p.at(&Token::Dedent) && !p.at(&Token::EndOfFile) {
                p.statement(&mut body)?;
            }
            Ok(())
        })?;
        self.eat(&Token::Dedent);
        Ok(body)
    }

    pub(crate) fn expected_block(&self, what: &str, header: Span) -> SyntaxError {
        let line = crate::LineIndex::new(self.src).line(header.start);
        let msg = format!("expected an indented block after {what} on line {line}");
        let at = self.span().start as usize;
        if let Some(c) = self.src.get(at..).and_then(|rest| rest.chars().next()) {
            let span = Span::new(at, at + c.len_utf8());
            return SyntaxError::new(SyntaxErrorKind::IndentationError, msg, span);
        }
        // At the end of the file CPython points at the last line's newline, with no end.
        let at = at - usize::from(self.src.ends_with('\n'));
        SyntaxError::new(SyntaxErrorKind::IndentationError, msg, Span::new(at, at))
            .with_end(ErrorEnd::EndOfFile)
    }

    /// The test of `if`/`elif`/`while`. `if x = 1:` is almost always a mistyped `==`; CPython
    /// says so instead of a bare `invalid syntax`, and so do we.
    fn condition(&mut self) -> PResult<Expr> {
        let test = self.namedexpr()?;
        if !self.at(&Token::Equal) {
            return Ok(test);
        }
        Err(self.mistyped_equal(&test))
    }

    /// `test` followed by `=` where a named expression stands (a condition; an element of a
    /// parenthesized group, list, set or subscript): CPython's `invalid_named_expression`.
    /// `name = value` says `==` or `:=` was probably meant (from the name to the value, read as
    /// a `bitwise_or`), another target that it cannot be assigned to there; a plain
    /// `invalid syntax` at the `=` when the value does not read or is followed by another `=`
    /// or `:=`, or for the expressions CPython's rule leaves out. The current token is `=`.
    pub(crate) fn mistyped_equal(&mut self, test: &Expr) -> SyntaxError {
        let eq = self.span();
        let save = self.save();
        self.bump();
        let value = match self.bitor() {
            Ok(v) if !matches!(self.peek(), Token::Equal | Token::ColonEqual) => v,
            _ => {
                self.restore(save);
                return SyntaxError::syntax("invalid syntax", eq);
            }
        };
        let parenthesized = test.span != test.outer;
        // (The value's next token was read: on a later line, CPython's text has no newline.)
        let passed = self.past_line_of(test.span);
        let error = match &test.kind {
            ExprKind::Name(_) if !parenthesized => SyntaxError::syntax(
                "invalid syntax. Maybe you meant '==' or ':=' instead of '='?",
                test.span.to(value.outer),
            ),
            ExprKind::Compare { .. }
            | ExprKind::BoolOp { .. }
            | ExprKind::IfExp { .. }
            | ExprKind::Lambda { .. }
            | ExprKind::NamedExpr { .. }
            | ExprKind::List(_)
            | ExprKind::Tuple(_)
            | ExprKind::GeneratorExp { .. }
            | ExprKind::Const(Const::None | Const::Bool(_))
                if !parenthesized =>
            {
                SyntaxError::syntax("invalid syntax", eq)
            }
            ExprKind::UnaryOp {
                op: UnaryOp::Not, ..
            } if !parenthesized => SyntaxError::syntax("invalid syntax", eq),
            // (`(*a = 1)`: a starred element is no `bitwise_or`.)
            ExprKind::Starred(_) => SyntaxError::syntax("invalid syntax", eq),
            _ => SyntaxError::syntax(
                format!(
                    "cannot assign to {} here. Maybe you meant '==' instead of '='?",
                    super::targets::describe(test)
                ),
                test.span,
            ),
        };
        if passed && error.message.contains("Maybe you meant") {
            error.with_end(ErrorEnd::SpanPassed)
        } else {
            error
        }
    }

    fn if_stmt(&mut self) -> PResult<Stmt> {
        let start = self.bump();
        let test = self.condition()?;
        self.expect_colon()?;
        let body = self.block("'if' statement", start)?;
        let orelse = self.else_chain()?;
        Ok(st(
            StmtKind::If { test, body, orelse },
            start.to(self.prev_span()),
        ))
    }

    /// `elif` (as a nested `If`) or `else` after an `if`.
    fn else_chain(&mut self) -> PResult<Vec<Stmt>> {
        if self.at(&Token::Elif) {
            let start = self.bump();
            let test = self.condition()?;
            self.expect_colon()?;
            let body = self.block("'elif' statement", start)?;
            // Each `elif` nests one `If` deeper (and one Rust call deeper here).
            let orelse = self.nested(1, Self::else_chain)?;
            return Ok(vec![st(
                StmtKind::If { test, body, orelse },
                start.to(self.prev_span()),
            )]);
        }
        self.else_block()
    }

    fn else_block(&mut self) -> PResult<Vec<Stmt>> {
        if self.at(&Token::Else) {
            let start = self.bump();
            self.expect_forced_colon()?;
            return self.block("'else' statement", start);
        }
        Ok(Vec::new())
    }

    fn while_stmt(&mut self) -> PResult<Stmt> {
        let start = self.bump();
        let test = self.condition()?;
        self.expect_colon()?;
        let body = self.block("'while' statement", start)?;
        let orelse = self.else_block()?;
        Ok(st(
            StmtKind::While { test, body, orelse },
            start.to(self.prev_span()),
        ))
    }

    /// `async def`, `async for`, `async with`: the current token is `async`.
    fn async_stmt(&mut self, decorators: Vec<Expr>) -> PResult<Stmt> {
        let start = self.bump();
        let mut s = match self.peek() {
            Token::Def => self.funcdef(decorators)?,
            Token::For if decorators.is_empty() => self.for_stmt()?,
            Token::With if decorators.is_empty() => self.with_stmt()?,
            _ => return Err(self.unexpected()),
        };
        match &mut s.kind {
            StmtKind::FunctionDef(f) => f.is_async = true,
            StmtKind::For { is_async, .. } | StmtKind::With { is_async, .. } => *is_async = true,
            _ => {}
        }
        s.span = start.to(s.span);
        Ok(s)
    }

    fn for_stmt(&mut self) -> PResult<Stmt> {
        let start = self.bump();
        let target = self.for_target()?;
        let iter = self.star_expressions()?;
        self.expect_colon()?;
        let body = self.block("'for' statement", start)?;
        let orelse = self.else_block()?;
        Ok(st(
            StmtKind::For {
                target,
                iter,
                body,
                orelse,
                is_async: false,
            },
            start.to(self.prev_span()),
        ))
    }

    /// `except A, B:` (Python 2's form, and 3.14's without `as`): CPython 3.11 reports
    /// "multiple exception types must be parenthesized" when what follows the first type is
    /// `, expressions ['as' NAME] ':'`, from that type up to the colon. Called at the comma;
    /// returns `None`, with the position unchanged, when the rest does not have that shape
    /// (the caller's `invalid syntax` at the comma stands).
    fn unparenthesized_except_types(&mut self, first: Span) -> Option<SyntaxError> {
        let saved = self.save();
        let mut shaped = || -> Option<Span> {
            self.bump();
            self.test().ok()?;
            while self.eat(&Token::Comma) {
                if self.at(&Token::Colon) || self.at(&Token::As) {
                    break;
                }
                self.test().ok()?;
            }
            if self.eat(&Token::As) {
                self.ident().ok()?;
            }
            self.at(&Token::Colon).then(|| self.span())
        };
        let colon = shaped();
        self.restore(saved);
        let colon = colon?;
        Some(SyntaxError::syntax(
            "multiple exception types must be parenthesized",
            Span::new(first.start as usize, colon.start as usize),
        ))
    }

    fn try_stmt(&mut self) -> PResult<Stmt> {
        let start = self.bump();
        self.expect_forced_colon()?;
        let body = self.block("'try' statement", start)?;
        let mut handlers = Vec::new();
        let mut is_star = false;
        while self.at(&Token::Except) {
            let hstart = self.bump();
            let star = self.eat(&Token::Star);
            if !handlers.is_empty() && star != is_star {
                return Err(SyntaxError::syntax(
                    "cannot have both 'except' and 'except*' on the same 'try'",
                    hstart.to(self.prev_span()),
                ));
            }
            is_star = star;
            if star && self.at(&Token::Colon) {
                return Err(SyntaxError::syntax(
                    "expected one or more exception types",
                    self.span(),
                ));
            }
            let (typ, name) = if self.at(&Token::Colon) {
                (None, None)
            } else {
                let typ = self.test()?;
                if self.at(&Token::Comma) {
                    if let Some(err) = self.unparenthesized_except_types(typ.span) {
                        return Err(err);
                    }
                }
                let name = if self.eat(&Token::As) {
                    Some(self.ident()?)
                } else {
                    None
                };
                (Some(typ), name)
            };
            self.expect_colon()?;
            let hbody = self.block("'except' statement", hstart)?;
            handlers.push(ExceptHandler {
                typ,
                name,
                body: hbody,
                // (To its body's last token: "default 'except:' must be last" spans it.)
                span: hstart.to(self.prev_code_span()),
            });
        }
        let orelse = if handlers.is_empty() {
            Vec::new()
        } else {
            self.else_block()?
        };
        let finalbody = if self.at(&Token::Finally) {
            let fstart = self.bump();
            self.expect_forced_colon()?;
            self.block("'finally' statement", fstart)?
        } else {
            Vec::new()
        };
        if handlers.is_empty() && finalbody.is_empty() {
            return Err(self.error_at_token("expected 'except' or 'finally' block"));
        }
        Ok(st(
            StmtKind::Try(Box::new(Try {
                body,
                handlers,
                orelse,
                finalbody,
                is_star,
            })),
            start.to(self.prev_span()),
        ))
    }

    fn with_item(&mut self) -> PResult<WithItem> {
        let context = self.test()?;
        let target = if self.eat(&Token::As) {
            // (`as *a` parses, as in CPython, for the compiler's error about it.)
            let from = self.save();
            let t = if self.at(&Token::Star) {
                let star = self.bump();
                let inner = self.target_list_single()?;
                let span = star.to(inner.outer);
                Expr {
                    kind: ExprKind::Starred(Box::new(inner)),
                    span,
                    outer: span,
                }
            } else {
                match self.target_list_single() {
                    Ok(t) if matches!(self.peek(), Token::Comma | Token::RPar | Token::Colon) => t,
                    Ok(_) => {
                        return Err(self
                            .invalid_with_target(from)
                            .unwrap_or_else(|| self.unexpected()))
                    }
                    Err(e) => return Err(self.invalid_with_target(from).unwrap_or(e)),
                }
            };
            self.check_target(&t, Ctx::Assign)?;
            Some(t)
        } else {
            None
        };
        Ok(WithItem { context, target })
    }

    /// A `with ... as` target: one star-target (a parenthesized tuple is allowed by `atom`).
    fn target_list_single(&mut self) -> PResult<Expr> {
        self.bitor()
    }

    /// The target of a `for` statement or clause and its `in`, or CPython's error for what
    /// stands there instead (`invalid_for_target` when the target is not followed by `in`).
    pub(crate) fn for_target(&mut self) -> PResult<Expr> {
        let from = self.save();
        let target = match self.target_list() {
            Ok(t) if self.at(&Token::In) => t,
            Ok(_) => {
                let err = self.expect(&Token::In).err();
                return Err(self
                    .invalid_for_target(from)
                    .or(err)
                    .unwrap_or_else(|| self.unexpected()));
            }
            Err(e) => return Err(self.invalid_for_target(from).unwrap_or(e)),
        };
        self.check_target(&target, Ctx::For)?;
        self.bump();
        Ok(target)
    }

    fn with_stmt(&mut self) -> PResult<Stmt> {
        let start = self.bump();
        // Python 3.10's parenthesized form `with (a as b, c as d):`, tried first with backtracking.
        if self.at(&Token::LPar) {
            let saved = self.save();
            self.bump();
            let mut items = Vec::new();
            let mut ok = true;
            while !self.at(&Token::RPar) {
                match self.with_item() {
                    Ok(i) => items.push(i),
                    Err(_) => {
                        ok = false;
                        break;
                    }
                }
                if !self.eat(&Token::Comma) {
                    break;
                }
            }
            if ok && !items.is_empty() && self.eat(&Token::RPar) && self.at(&Token::Colon) {
                self.bump();
                let body = self.block("'with' statement", start)?;
                return Ok(st(
                    StmtKind::With {
                        items,
                        body,
                        is_async: false,
                    },
                    start.to(self.prev_span()),
                ));
            }
            self.restore(saved);
        }
        let mut items = vec![self.with_item()?];
        while self.eat(&Token::Comma) {
            items.push(self.with_item()?);
        }
        self.expect_colon()?;
        let body = self.block("'with' statement", start)?;
        Ok(st(
            StmtKind::With {
                items,
                body,
                is_async: false,
            },
            start.to(self.prev_span()),
        ))
    }

    fn decorated(&mut self) -> PResult<Stmt> {
        let mut decorators = Vec::new();
        while self.eat(&Token::At) {
            decorators.push(self.namedexpr()?);
            self.expect(&Token::Newline)?;
        }
        match self.peek() {
            Token::Def => self.funcdef(decorators),
            Token::Class => self.classdef(decorators),
            Token::Async => self.async_stmt(decorators),
            _ => Err(self.unexpected()),
        }
    }

    fn funcdef(&mut self, decorators: Vec<Expr>) -> PResult<Stmt> {
        let start = self.bump();
        let name = self.ident()?;
        // CPython's grammar forces the `(` after the name (`&&'('`): anything else there,
        // a PEP 695 type parameter list `def f[T]()` of later Pythons among them, is
        // "expected '('" at that token.
        if !self.eat(&Token::LPar) {
            return Err(match self.peek() {
                Token::EndOfFile => self.unexpected(),
                _ => SyntaxError::syntax("expected '('", self.span()),
            });
        }
        let params = self.params(&Token::RPar, true)?;
        self.expect(&Token::RPar)?;
        let returns = if self.eat(&Token::Arrow) {
            Some(self.test()?)
        } else {
            None
        };
        self.expect_forced_colon()?;
        let body = self.block("function definition", start)?;
        Ok(st(
            StmtKind::FunctionDef(Box::new(FunctionDef {
                name,
                params,
                body,
                decorators,
                is_async: false,
                returns,
            })),
            // (To the body's last token, as CPython's end position.)
            start.to(self.prev_code_span()),
        ))
    }

    fn classdef(&mut self, decorators: Vec<Expr>) -> PResult<Stmt> {
        let start = self.bump();
        let name = self.ident()?;
        let open = self.span();
        let (bases, keywords) = if self.eat(&Token::LPar) {
            let r = self.call_args()?;
            // `class C(x for x in y)`: a call's parentheses may be its one generator's, a class
            // header's may not; CPython's plain `invalid syntax` is at the `for`.
            if let [Expr {
                kind: ExprKind::GeneratorExp { elt, .. },
                outer,
                ..
            }] = r.0.as_slice()
            {
                if outer.start == open.start {
                    let at = self
                        .toks
                        .iter()
                        .find(|t| t.span.start >= elt.outer.end)
                        .map_or(open, |t| t.span);
                    return Err(SyntaxError::syntax("invalid syntax", at));
                }
            }
            self.expect(&Token::RPar)?;
            r
        } else {
            (Vec::new(), Vec::new())
        };
        self.expect_colon()?;
        let body = self.block("class definition", start)?;
        Ok(st(
            StmtKind::ClassDef(Box::new(ClassDef {
                name,
                bases,
                keywords,
                body,
                decorators,
            })),
            start.to(self.prev_code_span()),
        ))
    }
}
