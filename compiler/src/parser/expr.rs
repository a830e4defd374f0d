//! Stage 2 (expressions): Python's precedence levels, from `lambda`/ternary down to atoms.
//!
//! Binary operators `|` .. `*` use precedence climbing (one Rust frame per level actually used);
//! `**` is right-associative and binds tighter than a unary operator on its left (`-2**2 == -4`).

use minivm_lexer::Token;

use super::Parser;
use crate::ast::{
    BinOp, BoolOp, CmpOp, Comprehension, Const, Expr, ExprKind, Keyword, Param, Params, UnaryOp,
};
use crate::{ErrorEnd, Span, SyntaxError};

type PResult<T> = Result<T, SyntaxError>;

pub(crate) fn mk(kind: ExprKind, span: Span) -> Expr {
    Expr {
        kind,
        span,
        outer: span,
    }
}

/// Binary operator of a token with its precedence (higher binds tighter).
fn binop(t: &Token) -> Option<(BinOp, u8)> {
    Some(match t {
        Token::Vbar => (BinOp::BitOr, 1),
        Token::Circumflex => (BinOp::BitXor, 2),
        Token::Amper => (BinOp::BitAnd, 3),
        Token::LShift => (BinOp::LShift, 4),
        Token::RShift => (BinOp::RShift, 4),
        Token::Plus => (BinOp::Add, 5),
        Token::Minus => (BinOp::Sub, 5),
        Token::Star => (BinOp::Mul, 6),
        Token::Slash => (BinOp::Div, 6),
        Token::DoubleSlash => (BinOp::FloorDiv, 6),
        Token::Percent => (BinOp::Mod, 6),
        Token::At => (BinOp::MatMul, 6),
        _ => return None,
    })
}

impl Parser<'_> {
    /// Can this token begin an expression? (Used for optional operands and "forgot a comma?".)
    pub(crate) fn starts_expr(&self) -> bool {
        matches!(
            self.peek(),
            Token::Name
                | Token::Int(_)
                | Token::BigInt(_)
                | Token::Float(_)
                | Token::Imaginary(_)
                | Token::Str
                | Token::FStr
                | Token::Bytes
                | Token::None
                | Token::True
                | Token::False
                | Token::Ellipsis
                | Token::LPar
                | Token::LSqb
                | Token::LBrace
                | Token::Minus
                | Token::Plus
                | Token::Tilde
                | Token::Not
                | Token::Lambda
                | Token::Star
                | Token::Await
        )
    }

    /// `named_expression`: `NAME := test` or `test`.
    pub(crate) fn namedexpr(&mut self) -> PResult<Expr> {
        if self.at(&Token::Name) && self.peek_at(1) == &Token::ColonEqual {
            let name_span = self.bump();
            self.bump();
            let value = self.nested(1, Self::test)?;
            let span = name_span.to(value.outer);
            let target = crate::ast::Ident {
                name: self.name_text(name_span),
                span: name_span,
            };
            return Ok(mk(
                ExprKind::NamedExpr {
                    target,
                    value: Box::new(value),
                },
                span,
            ));
        }
        self.test()
    }

    /// `test`: lambda, or a disjunction with an optional `if ... else ...`.
    pub(crate) fn test(&mut self) -> PResult<Expr> {
        self.nested(1, Self::test_inner)
    }

    fn test_inner(&mut self) -> PResult<Expr> {
        if self.at(&Token::Lambda) {
            return self.lambda();
        }
        let body = self.or_test()?;
        if self.at(&Token::If) {
            self.bump();
            let test = self.or_test()?;
            if !self.eat(&Token::Else) {
                // CPython underlines the expression so far: the body (inside its parentheses)
                // to the end of the condition.
                return Err(SyntaxError::syntax(
                    "expected 'else' after 'if' expression",
                    body.span.to(test.outer),
                ));
            }
            let orelse = self.test()?;
            let span = body.outer.to(orelse.outer);
            return Ok(mk(
                ExprKind::IfExp {
                    test: Box::new(test),
                    body: Box::new(body),
                    orelse: Box::new(orelse),
                },
                span,
            ));
        }
        Ok(body)
    }

    fn lambda(&mut self) -> PResult<Expr> {
        let start = self.bump();
        let params = self.params(&Token::Colon, false)?;
        // CPython 3.11 has no "expected ':'" for a lambda: a missing colon is invalid syntax.
        if !self.eat(&Token::Colon) {
            return Err(self.unexpected());
        }
        // Two levels per lambda (with `test`'s), as in CPython's grammar.
        let body = self.nested(1, Self::test)?;
        let span = start.to(body.outer);
        Ok(mk(
            ExprKind::Lambda {
                params: Box::new(params),
                body: Box::new(body),
            },
            span,
        ))
    }

    /// Parameter list of `def` (annotations allowed) or `lambda`, up to (not including) `close`.
    pub(crate) fn params(&mut self, close: &Token, annotations: bool) -> PResult<Params> {
        let mut ps = Params::default();
        let mut seen_star = false;
        let mut seen_default = false;
        while !self.at(close) {
            if self.at(&Token::Slash) {
                // CPython's `invalid_parameters` names a misplaced `/`, at the `/`.
                let slash = self.bump();
                let msg = if seen_star {
                    "/ must be ahead of *"
                } else if !ps.posonly.is_empty() {
                    "/ may appear only once"
                } else if ps.args.is_empty() && self.at(&Token::Comma) {
                    "at least one argument must precede /"
                } else if ps.args.is_empty() {
                    "invalid syntax"
                } else {
                    ""
                };
                if !msg.is_empty() {
                    return Err(SyntaxError::syntax(msg, slash));
                }
                if self.at(&Token::Star) {
                    return Err(SyntaxError::syntax(
                        "expected comma between / and *",
                        self.span(),
                    ));
                }
                ps.posonly = std::mem::take(&mut ps.args);
            } else if self.eat(&Token::DoubleStar) {
                let (p, eq) = self.param_eq(annotations, false)?;
                if let Some(eq) = eq {
                    return Err(SyntaxError::syntax(
                        "var-keyword argument cannot have default value",
                        eq,
                    ));
                }
                ps.kwarg = Some(p);
                if !self.at(close) {
                    self.eat(&Token::Comma);
                }
                if !self.at(close) {
                    // At the parameter after it (its name and annotation), or a `*`, `**` or
                    // `/` there; anything else is plain invalid syntax.
                    let at = self.span();
                    let span = match self.peek() {
                        Token::Name => {
                            let save = self.save();
                            let p = self.param_eq(annotations, false);
                            self.restore(save);
                            match p {
                                Ok((p, _)) => p
                                    .annotation
                                    .as_ref()
                                    .map_or(p.name.span, |a| p.name.span.to(a.outer)),
                                Err(_) => at,
                            }
                        }
                        Token::Star | Token::DoubleStar | Token::Slash => at,
                        _ => return Err(self.unexpected()),
                    };
                    return Err(SyntaxError::syntax(
                        "arguments cannot follow var-keyword argument",
                        span,
                    ));
                }
                break;
            } else if self.at(&Token::Star) {
                let star = self.bump();
                if seen_star {
                    // CPython names the repetition only before a name or a comma.
                    let msg = if matches!(self.peek(), Token::Name | Token::Comma) {
                        "* argument may appear only once"
                    } else {
                        "invalid syntax"
                    };
                    return Err(SyntaxError::syntax(msg, star));
                }
                seen_star = true;
                if self.at(&Token::Name) {
                    ps.vararg = Some(self.star_param(annotations)?);
                } else if self.at(close)
                    || (self.at(&Token::Comma)
                        && matches!(self.peek_at(1), t if t == close || t == &Token::DoubleStar))
                {
                    // A lambda's rule raises it at the last token read: the `:` or `**` after
                    // the `*` (and its comma).
                    let at = if annotations {
                        star
                    } else {
                        let ahead = usize::from(self.at(&Token::Comma));
                        self.toks_at(ahead).map_or(star, |t| t.span)
                    };
                    return Err(SyntaxError::syntax(
                        "named arguments must follow bare *",
                        at,
                    ));
                }
            } else {
                if self.at(&Token::LPar) && !seen_star && !seen_default && ps.posonly.is_empty() {
                    if let Some(e) = self.parenthesized_params(annotations) {
                        return Err(e);
                    }
                }
                let p = self.param(annotations)?;
                if seen_star {
                    ps.kwonly.push(p);
                } else {
                    if p.default.is_some() {
                        seen_default = true;
                    } else if seen_default {
                        return Err(SyntaxError::syntax(
                            "non-default argument follows default argument",
                            p.name.span,
                        ));
                    }
                    ps.args.push(p);
                }
            }
            if !self.eat(&Token::Comma) {
                break;
            }
        }
        Ok(ps)
    }

    /// Python 2's tuple parameters (`def f(a, (b, c)):`), reached at the `(` after plain
    /// parameters only: CPython 3.11's `invalid_parameters` (`invalid_lambda_parameters`) says
    /// "Function parameters cannot be parenthesized" ("Lambda expression parameters ...") from
    /// the `(` to the `)` when they hold one or more names without defaults (a def's may have
    /// annotations), with an optional trailing comma. Anything else inside gives `None`, the
    /// position restored, and the caller's plain "invalid syntax" at the `(` stands.
    fn parenthesized_params(&mut self, annotations: bool) -> Option<SyntaxError> {
        let state = self.save();
        let open = self.bump();
        let close = loop {
            match self.param(annotations) {
                Ok(p) if p.default.is_none() => {}
                _ => break None,
            }
            let comma = self.eat(&Token::Comma);
            if self.at(&Token::RPar) {
                break Some(self.span());
            }
            if !comma {
                break None;
            }
        };
        self.restore(state);
        let what = if annotations {
            "Function parameters"
        } else {
            "Lambda expression parameters"
        };
        close.map(|close| {
            SyntaxError::syntax(format!("{what} cannot be parenthesized"), open.to(close))
        })
    }

    /// `*args`, whose annotation may be starred (`*args: *Ts`, PEP 646).
    fn star_param(&mut self, annotations: bool) -> PResult<Param> {
        let starred =
            annotations && self.peek_at(1) == &Token::Colon && self.peek_at(2) == &Token::Star;
        if !starred {
            return Ok(self.param_eq(annotations, true)?.0);
        }
        let span = self.bump();
        let name = crate::ast::Ident {
            name: self.name_text(span),
            span,
        };
        self.bump();
        let star = self.bump();
        let value = self.bitor()?;
        let span = Span {
            start: star.start,
            end: value.span.end,
        };
        let annotation = Expr {
            kind: ExprKind::Starred(Box::new(value)),
            span,
            outer: span,
        };
        Ok(Param {
            name,
            default: None,
            annotation: Some(annotation),
        })
    }

    fn param(&mut self, annotations: bool) -> PResult<Param> {
        Ok(self.param_eq(annotations, false)?.0)
    }

    /// A parameter, and the span of its `=` if it has a default. `name=` with no value before a
    /// `,` or `)` is CPython's "expected default value expression", at the `=`.
    /// A `vararg` (`*name`) cannot have a default: CPython says so at the `=`.
    fn param_eq(&mut self, annotations: bool, vararg: bool) -> PResult<(Param, Option<Span>)> {
        if !self.at(&Token::Name) {
            return Err(self.unexpected());
        }
        let span = self.bump();
        let name = crate::ast::Ident {
            name: self.name_text(span),
            span,
        };
        let annotation = if annotations && self.eat(&Token::Colon) {
            Some(self.test()?)
        } else {
            None
        };
        let eq = self.at(&Token::Equal).then(|| self.bump());
        let default = match eq {
            Some(eq) if vararg => {
                return Err(SyntaxError::syntax(
                    "var-positional argument cannot have default value",
                    eq,
                ))
            }
            Some(eq) if matches!(self.peek(), Token::RPar | Token::Comma) => {
                return Err(SyntaxError::syntax("expected default value expression", eq))
            }
            Some(_) => Some(self.test()?),
            None => None,
        };
        Ok((
            Param {
                name,
                default,
                annotation,
            },
            eq,
        ))
    }

    pub(crate) fn or_test(&mut self) -> PResult<Expr> {
        self.bool_chain(Token::Or, BoolOp::Or)
    }

    fn bool_chain(&mut self, tok: Token, op: BoolOp) -> PResult<Expr> {
        let first = if op == BoolOp::Or {
            self.bool_chain(Token::And, BoolOp::And)?
        } else {
            self.not_test()?
        };
        if !self.at(&tok) {
            return Ok(first);
        }
        let mut values = vec![first];
        while self.eat(&tok) {
            values.push(if op == BoolOp::Or {
                self.bool_chain(Token::And, BoolOp::And)?
            } else {
                self.not_test()?
            });
        }
        let span = values
            .first()
            .map(|f| f.outer)
            .unwrap_or_default()
            .to(values.last().map(|l| l.outer).unwrap_or_default());
        Ok(mk(ExprKind::BoolOp { op, values }, span))
    }

    fn not_test(&mut self) -> PResult<Expr> {
        if self.at(&Token::Not) {
            let start = self.bump();
            let operand = self.nested(1, Self::not_test)?;
            let span = start.to(operand.outer);
            return Ok(mk(
                ExprKind::UnaryOp {
                    op: UnaryOp::Not,
                    operand: Box::new(operand),
                },
                span,
            ));
        }
        self.comparison()
    }

    fn cmp_op(&self) -> Option<(CmpOp, usize)> {
        Some(match self.peek() {
            Token::EqEqual => (CmpOp::Eq, 1),
            Token::NotEqual => (CmpOp::NotEq, 1),
            Token::Less => (CmpOp::Lt, 1),
            Token::LessEqual => (CmpOp::LtE, 1),
            Token::Greater => (CmpOp::Gt, 1),
            Token::GreaterEqual => (CmpOp::GtE, 1),
            Token::In => (CmpOp::In, 1),
            Token::Not if self.peek_at(1) == &Token::In => (CmpOp::NotIn, 2),
            Token::Is if self.peek_at(1) == &Token::Not => (CmpOp::IsNot, 2),
            Token::Is => (CmpOp::Is, 1),
            _ => return None,
        })
    }

    fn comparison(&mut self) -> PResult<Expr> {
        let left = self.bitor()?;
        let mut ops = Vec::new();
        let mut comparators = Vec::new();
        while let Some((op, n)) = self.cmp_op() {
            for _ in 0..n {
                self.bump();
            }
            ops.push(op);
            comparators.push(self.bitor()?);
        }
        if ops.is_empty() {
            return Ok(left);
        }
        let span = left
            .outer
            .to(comparators.last().map_or(left.outer, |c| c.outer));
        Ok(mk(
            ExprKind::Compare {
                left: Box::new(left),
                ops,
                comparators,
            },
            span,
        ))
    }

    /// `bitwise_or` and everything tighter down to `factor`.
    pub(crate) fn bitor(&mut self) -> PResult<Expr> {
        self.binary(1)
    }

    fn binary(&mut self, min_prec: u8) -> PResult<Expr> {
        let mut left = self.factor()?;
        while let Some((op, prec)) = binop(self.peek()) {
            if prec < min_prec {
                break;
            }
            self.bump();
            let right = self.binary(prec + 1)?;
            let span = left.outer.to(right.outer);
            left = mk(
                ExprKind::BinOp {
                    op,
                    left: Box::new(left),
                    right: Box::new(right),
                },
                span,
            );
        }
        Ok(left)
    }

    fn factor(&mut self) -> PResult<Expr> {
        let op = match self.peek() {
            Token::Minus => UnaryOp::Neg,
            Token::Plus => UnaryOp::Pos,
            Token::Tilde => UnaryOp::Invert,
            _ => return self.power(),
        };
        let start = self.bump();
        let operand = self.nested(1, Self::factor)?;
        let span = start.to(operand.outer);
        Ok(mk(
            ExprKind::UnaryOp {
                op,
                operand: Box::new(operand),
            },
            span,
        ))
    }

    fn power(&mut self) -> PResult<Expr> {
        let base = if self.at(&Token::Await) {
            // `await` binds tighter than `**` but looser than calls and subscripts.
            let start = self.bump();
            let value = self.atom_expr()?;
            let span = start.to(value.outer);
            mk(ExprKind::Await(Box::new(value)), span)
        } else {
            self.atom_expr()?
        };
        if !self.eat(&Token::DoubleStar) {
            return Ok(base);
        }
        // Two levels per `**` (power, then factor), as in CPython's grammar.
        let exp = self.nested(2, Self::factor)?;
        let span = base.outer.to(exp.outer);
        Ok(mk(
            ExprKind::BinOp {
                op: BinOp::Pow,
                left: Box::new(base),
                right: Box::new(exp),
            },
            span,
        ))
    }

    /// An atom followed by calls, subscripts and attribute accesses.
    fn atom_expr(&mut self) -> PResult<Expr> {
        let mut e = self.atom()?;
        loop {
            match self.peek() {
                Token::LPar => {
                    self.bump();
                    let (args, keywords) = self.call_args()?;
                    let end = self.expect(&Token::RPar)?;
                    let span = e.outer.to(end);
                    e = mk(
                        ExprKind::Call {
                            func: Box::new(e),
                            args,
                            keywords,
                        },
                        span,
                    );
                }
                Token::LSqb => {
                    self.bump();
                    let index = self.slices()?;
                    let end = self.expect(&Token::RSqb)?;
                    let span = e.outer.to(end);
                    e = mk(
                        ExprKind::Subscript {
                            value: Box::new(e),
                            index: Box::new(index),
                        },
                        span,
                    );
                }
                Token::Dot => {
                    self.bump();
                    e = self.attribute_of(e)?;
                }
                _ => return Ok(e),
            }
        }
    }

    /// `value.name`, after the dot.
    pub(crate) fn attribute_of(&mut self, value: Expr) -> PResult<Expr> {
        if !self.at(&Token::Name) {
            return Err(self.unexpected());
        }
        let s = self.bump();
        let attr = crate::ast::Ident {
            name: self.name_text(s),
            span: s,
        };
        let span = value.outer.to(s);
        Ok(mk(
            ExprKind::Attribute {
                value: Box::new(value),
                attr,
            },
            span,
        ))
    }

    /// Arguments of a call or a class header, up to (not including) `)`.
    pub(crate) fn call_args(&mut self) -> PResult<(Vec<Expr>, Vec<Keyword>)> {
        let mut args: Vec<Expr> = Vec::new();
        let mut keywords: Vec<Keyword> = Vec::new();
        let open = self.prev_span();
        // A positional argument after a keyword one: CPython's rule (`args ',' args`) reads the
        // arguments after it before it fails, and points at the first token they do not take
        // (the `)`, mostly), so the error waits for the end of the list.
        let mut misplaced: Option<&'static str> = None;
        while !self.at(&Token::RPar) {
            // The value of the argument read (without its `*`, `**` or `name=`): where
            // CPython's "Perhaps you forgot a comma?" range starts.
            let last_value: Span;
            if self.at(&Token::Star) {
                let start = self.bump();
                let value = self.test()?;
                last_value = value.span;
                let span = start.to(value.outer);
                if keywords.iter().any(|k| k.name.is_none()) {
                    // CPython points at the `*` alone.
                    return Err(SyntaxError::syntax(
                        "iterable argument unpacking follows keyword argument unpacking",
                        start,
                    ));
                }
                let starred = mk(ExprKind::Starred(Box::new(value)), span);
                if args.is_empty() && keywords.is_empty() {
                    // `f(*a for a in b)`: the comprehension rule's error.
                    self.no_starred_comprehension(&starred)?;
                } else if keywords.is_empty() && self.at(&Token::For) {
                    // `f(x, *a for a in b)`: a generator among other arguments, from the `*`
                    // to the end of its clauses, as CPython 3.11 (after a keyword argument it
                    // is plain invalid syntax at the `for`, as there).
                    self.comprehension_clauses()?;
                    return Err(SyntaxError::syntax(
                        "Generator expression must be parenthesized",
                        span.to(self.prev_span()),
                    ));
                }
                args.push(starred);
            } else if self.at(&Token::DoubleStar) {
                let start = self.bump();
                let value = self.test()?;
                last_value = value.span;
                let span = start.to(value.outer);
                keywords.push(Keyword {
                    name: None,
                    value,
                    span,
                });
            } else if self.at(&Token::Name) && self.peek_at(1) == &Token::Equal {
                let s = self.bump();
                self.bump();
                let eq = self.prev_span();
                let value = self.test()?;
                if self.at(&Token::For) {
                    // `f(x=1 for x in y)`: CPython's rule for a keyword followed by
                    // comprehension clauses, from the name to the `=`.
                    return Err(SyntaxError::syntax(
                        "invalid syntax. Maybe you meant '==' or ':=' instead of '='?",
                        s.to(eq),
                    ));
                }
                last_value = value.span;
                let span = s.to(value.outer);
                keywords.push(Keyword {
                    name: Some(crate::ast::Ident {
                        name: self.name_text(s),
                        span: s,
                    }),
                    value,
                    span,
                });
            } else {
                let e = self.namedexpr()?;
                if self.at(&Token::For) {
                    if let Some(msg) = misplaced {
                        // `f(a=1, 2, x for ...)`: the misplaced argument's error, at the `for`.
                        return Err(SyntaxError::syntax(msg, self.span()));
                    }
                    // `f(x for x in y)`: only as the sole argument.
                    let generators = self.comprehension_clauses()?;
                    let span = e.outer.to(self.prev_span());
                    if !args.is_empty() || !keywords.is_empty() || self.at(&Token::Comma) {
                        return Err(SyntaxError::syntax(
                            "Generator expression must be parenthesized",
                            span,
                        ));
                    }
                    if !self.at(&Token::RPar) {
                        // `f(x for x in y = 2)`: not a rule CPython names, its generic error
                        // at the token after the clauses.
                        return Err(self.unexpected());
                    }
                    // The call's parentheses are the generator's own (CPython's position of
                    // it, which its traceback entries underline).
                    args.push(mk(
                        ExprKind::GeneratorExp {
                            elt: Box::new(e),
                            generators,
                        },
                        open.to(self.span()),
                    ));
                    break;
                }
                if self.at(&Token::Equal) {
                    // `f(True=1)`: CPython names the keyword, from it to the `=`.
                    let msg = match e.kind {
                        ExprKind::Const(Const::None | Const::Bool(_)) if e.span == e.outer => {
                            format!("cannot assign to {}", super::targets::describe(&e))
                        }
                        _ => "expression cannot contain assignment, perhaps you meant \"==\"?"
                            .to_string(),
                    };
                    // (From the expression itself: `f((a)=1)` starts at `a`.)
                    return Err(SyntaxError::syntax(msg, e.span.to(self.span())));
                }
                if !keywords.is_empty() && misplaced.is_none() {
                    // (CPython names the unpacking if any keyword before it is a `**`.)
                    misplaced = Some(if keywords.iter().all(|k| k.name.is_some()) {
                        "positional argument follows keyword argument"
                    } else {
                        "positional argument follows keyword argument unpacking"
                    });
                }
                last_value = e.span;
                args.push(e);
            }
            if !self.eat(&Token::Comma) {
                if self.starts_expr() {
                    return Err(self.forgot_comma(Some(last_value)));
                }
                break;
            }
        }
        if let Some(msg) = misplaced {
            return Err(SyntaxError::syntax(msg, self.span()));
        }
        Ok((args, keywords))
    }

    /// `invalid syntax. Perhaps you forgot a comma?` spanning the previous element and the next token.
    pub(crate) fn forgot_comma(&self, prev: Option<Span>) -> SyntaxError {
        let here = self.span();
        SyntaxError::syntax(
            "invalid syntax. Perhaps you forgot a comma?",
            prev.map_or(here, |p| p.to(here)),
        )
    }

    /// The inside of `[...]` after a value: one index, a slice, or a tuple of them.
    fn slices(&mut self) -> PResult<Expr> {
        let start = self.span();
        let first = self.slice_item()?;
        if !self.at(&Token::Comma) {
            if matches!(first.kind, ExprKind::Starred(_)) {
                // `a[*b]` (PEP 646) is `a[(*b,)]`: a tuple of one starred item, as in CPython.
                let span = first.outer;
                return Ok(mk(ExprKind::Tuple(vec![first]), span));
            }
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat(&Token::Comma) {
            if self.at(&Token::RSqb) {
                break;
            }
            items.push(self.slice_item()?);
        }
        let span = start.to(self.prev_span());
        Ok(mk(ExprKind::Tuple(items), span))
    }

    fn slice_item(&mut self) -> PResult<Expr> {
        let start = self.span();
        if self.at(&Token::Star) {
            return self.star_or_named();
        }
        let lower = if self.at(&Token::Colon) {
            None
        } else {
            let e = self.namedexpr()?;
            if self.at(&Token::Equal) {
                return Err(self.mistyped_equal(&e));
            }
            if !self.at(&Token::Colon) {
                return Ok(e);
            }
            Some(Box::new(e))
        };
        self.expect(&Token::Colon)?;
        let opt = |p: &mut Self| -> PResult<Option<Box<Expr>>> {
            if matches!(p.peek(), Token::Colon | Token::Comma | Token::RSqb) {
                Ok(None)
            } else {
                Ok(Some(Box::new(p.test()?)))
            }
        };
        let upper = opt(self)?;
        let step = if self.eat(&Token::Colon) {
            opt(self)?
        } else {
            None
        };
        let span = start.to(self.prev_span());
        Ok(mk(ExprKind::Slice { lower, upper, step }, span))
    }

    /// `*expr` (a starred element) or a named expression: an element of a display or a call.
    pub(crate) fn star_or_named(&mut self) -> PResult<Expr> {
        if self.at(&Token::Star) {
            let start = self.bump();
            let value = self.bitor()?;
            let span = start.to(value.outer);
            return Ok(mk(ExprKind::Starred(Box::new(value)), span));
        }
        self.namedexpr()
    }

    /// An element of a parenthesized group, list, set or subscript: [`Self::star_or_named`],
    /// where a following `=` is CPython's `invalid_named_expression` error
    /// ([`Self::mistyped_equal`]).
    fn element(&mut self) -> PResult<Expr> {
        let e = self.star_or_named()?;
        if self.at(&Token::Equal) {
            return Err(self.mistyped_equal(&e));
        }
        Ok(e)
    }

    /// `*expr` or a plain `test` (statement level: no unparenthesized walrus).
    pub(crate) fn star_or_test(&mut self) -> PResult<Expr> {
        if self.at(&Token::Star) {
            let start = self.bump();
            let value = self.bitor()?;
            let span = start.to(value.outer);
            return Ok(mk(ExprKind::Starred(Box::new(value)), span));
        }
        self.test()
    }

    /// `a, *b, c` at statement level (expression statements, `return`, assignment values):
    /// a single element without a comma is returned as is, otherwise a `Tuple`.
    pub(crate) fn star_expressions(&mut self) -> PResult<Expr> {
        self.comma_list(Self::star_or_test)
    }

    /// `item (',' item)* [',']`: a single item without a comma as is, otherwise a `Tuple`.
    pub(crate) fn comma_list(&mut self, item: fn(&mut Self) -> PResult<Expr>) -> PResult<Expr> {
        let first = item(self)?;
        if !self.at(&Token::Comma) {
            return Ok(first);
        }
        let start = first.span;
        let mut items = vec![first];
        while self.eat(&Token::Comma) {
            if !self.starts_expr() {
                break;
            }
            items.push(item(self)?);
        }
        let span = start.to(self.prev_span());
        Ok(mk(ExprKind::Tuple(items), span))
    }

    /// Assignment/`for`/`del` targets: `a, *b` with elements at `bitwise_or` level (so `in` stops them).
    pub(crate) fn target_list(&mut self) -> PResult<Expr> {
        let one = |p: &mut Self| -> PResult<Expr> {
            if p.at(&Token::Star) {
                let start = p.bump();
                let value = p.bitor()?;
                let span = start.to(value.outer);
                Ok(mk(ExprKind::Starred(Box::new(value)), span))
            } else {
                p.bitor()
            }
        };
        let first = one(self)?;
        if !self.at(&Token::Comma) {
            return Ok(first);
        }
        let start = first.span;
        let mut items = vec![first];
        while self.eat(&Token::Comma) {
            if !self.starts_expr() {
                break;
            }
            items.push(one(self)?);
        }
        let span = start.to(self.prev_span());
        Ok(mk(ExprKind::Tuple(items), span))
    }

    /// `yield`, `yield x, y`, `yield from x`; the current token is `yield`.
    pub(crate) fn yield_expr(&mut self) -> PResult<Expr> {
        let start = self.bump();
        if self.eat(&Token::From) {
            let value = self.test()?;
            let span = start.to(value.outer);
            return Ok(mk(ExprKind::YieldFrom(Box::new(value)), span));
        }
        if self.starts_expr() {
            let value = self.star_expressions()?;
            let span = start.to(value.outer);
            return Ok(mk(ExprKind::Yield(Some(Box::new(value))), span));
        }
        Ok(mk(ExprKind::Yield(None), start))
    }

    /// One or more `for ... in ... if ...` clauses.
    pub(crate) fn comprehension_clauses(&mut self) -> PResult<Vec<Comprehension>> {
        let mut gens = Vec::new();
        while self.at(&Token::For) || self.at(&Token::Async) {
            let is_async = self.eat(&Token::Async);
            self.expect(&Token::For)?;
            let target = self.for_target()?;
            let iter = self.or_test()?;
            let mut ifs = Vec::new();
            while self.eat(&Token::If) {
                ifs.push(self.or_test()?);
            }
            gens.push(Comprehension {
                target,
                iter,
                ifs,
                is_async,
            });
        }
        Ok(gens)
    }

    fn atom(&mut self) -> PResult<Expr> {
        let span = self.span();
        let constant = |c: Const| mk(ExprKind::Const(c), span);
        match self.peek().clone() {
            Token::Name => {
                self.bump();
                Ok(mk(ExprKind::Name(self.name_text(span)), span))
            }
            Token::Int(v) => {
                self.bump();
                Ok(constant(Const::Int(v)))
            }
            Token::BigInt(s) => {
                self.bump();
                Ok(constant(Const::BigInt(s)))
            }
            Token::Float(v) => {
                self.bump();
                Ok(constant(Const::Float(v)))
            }
            Token::Imaginary(v) => {
                self.bump();
                Ok(constant(Const::Imag(v)))
            }
            Token::None => {
                self.bump();
                Ok(constant(Const::None))
            }
            Token::True => {
                self.bump();
                Ok(constant(Const::Bool(true)))
            }
            Token::False => {
                self.bump();
                Ok(constant(Const::Bool(false)))
            }
            Token::Ellipsis => {
                self.bump();
                Ok(constant(Const::Ellipsis))
            }
            Token::Str | Token::FStr | Token::Bytes => self.strings(),
            Token::LPar => self.paren(),
            Token::LSqb => self.list_display(),
            Token::LBrace => self.brace_display(),
            _ => Err(self.unexpected()),
        }
    }

    /// `( ... )`: empty tuple, parenthesized expression, tuple, generator expression or `(yield)`.
    fn paren(&mut self) -> PResult<Expr> {
        let start = self.bump();
        if self.at(&Token::RPar) {
            let end = self.bump();
            return Ok(mk(ExprKind::Tuple(Vec::new()), start.to(end)));
        }
        if self.at(&Token::Yield) {
            let mut e = self.yield_expr()?;
            let end = self.expect(&Token::RPar)?;
            e.outer = start.to(end);
            return Ok(e);
        }
        if self.at(&Token::DoubleStar) {
            // `(**a)`: CPython's `invalid_group` names it, at the `**` (with anything else
            // after the value, `(**a, b)`, the generic error at the `**` below stands).
            let save = self.save();
            let stars = self.bump();
            let whole = self.test().is_ok() && self.at(&Token::RPar);
            self.restore(save);
            if whole {
                return Err(SyntaxError::syntax(
                    "cannot use double starred expression here",
                    stars,
                ));
            }
        }
        let first = self.element()?;
        if self.at(&Token::For) || self.at(&Token::Async) {
            self.no_starred_comprehension(&first)?;
            let generators = self.comprehension_clauses()?;
            let end = self.expect(&Token::RPar)?;
            return Ok(mk(
                ExprKind::GeneratorExp {
                    elt: Box::new(first),
                    generators,
                },
                start.to(end),
            ));
        }
        if self.at(&Token::RPar) {
            let end = self.bump();
            if matches!(first.kind, ExprKind::Starred(_)) {
                return Err(SyntaxError::syntax(
                    "cannot use starred expression here",
                    first.span,
                ));
            }
            let mut first = first;
            first.outer = start.to(end);
            return Ok(first);
        }
        let items = self.display_rest(first, &Token::RPar)?;
        let end = self.expect(&Token::RPar)?;
        Ok(mk(ExprKind::Tuple(items), start.to(end)))
    }

    /// Remaining comma-separated elements after `first`, up to (not including) `close`.
    fn display_rest(&mut self, first: Expr, close: &Token) -> PResult<Vec<Expr>> {
        let mut items = vec![first];
        loop {
            if !self.eat(&Token::Comma) {
                if self.starts_expr() {
                    return Err(self.forgot_comma(items.last().map(|i| i.span)));
                }
                break;
            }
            if self.at(close) {
                break;
            }
            items.push(self.element()?);
        }
        Ok(items)
    }

    /// `[*a for a in b]`, `(*a for ...)`, `{*a for ...}`, `f(*a for ...)`: the element of a
    /// comprehension cannot be starred; CPython 3.11's `invalid_comprehension` rule names it.
    fn no_starred_comprehension(&self, elt: &Expr) -> PResult<()> {
        if matches!(elt.kind, ExprKind::Starred(_))
            && (self.at(&Token::For) || self.at(&Token::Async))
        {
            return Err(SyntaxError::syntax(
                "iterable unpacking cannot be used in comprehension",
                elt.outer,
            ));
        }
        Ok(())
    }

    fn list_display(&mut self) -> PResult<Expr> {
        let start = self.bump();
        if self.at(&Token::RSqb) {
            let end = self.bump();
            return Ok(mk(ExprKind::List(Vec::new()), start.to(end)));
        }
        let first = self.element()?;
        if self.at(&Token::For) || self.at(&Token::Async) {
            self.no_starred_comprehension(&first)?;
            let generators = self.comprehension_clauses()?;
            let end = self.expect(&Token::RSqb)?;
            return Ok(mk(
                ExprKind::ListComp {
                    elt: Box::new(first),
                    generators,
                },
                start.to(end),
            ));
        }
        let items = self.display_rest(first, &Token::RSqb)?;
        let end = self.expect(&Token::RSqb)?;
        Ok(mk(ExprKind::List(items), start.to(end)))
    }

    /// `{}`, `{k: v, **d}`, `{a, *b}` and dict/set comprehensions.
    fn brace_display(&mut self) -> PResult<Expr> {
        let start = self.bump();
        if self.at(&Token::RBrace) {
            let end = self.bump();
            return Ok(mk(ExprKind::Dict(Vec::new()), start.to(end)));
        }
        // First entry decides between dict and set.
        let first_stars = self.span();
        let first_key = if self.eat(&Token::DoubleStar) {
            None
        } else {
            Some(self.element()?)
        };
        let is_dict = first_key.is_none() || self.at(&Token::Colon);
        if !is_dict {
            let first = first_key.ok_or_else(|| self.unexpected())?;
            if self.at(&Token::For) || self.at(&Token::Async) {
                self.no_starred_comprehension(&first)?;
                let generators = self.comprehension_clauses()?;
                let end = self.expect(&Token::RBrace)?;
                return Ok(mk(
                    ExprKind::SetComp {
                        elt: Box::new(first),
                        generators,
                    },
                    start.to(end),
                ));
            }
            let items = self.display_rest(first, &Token::RBrace)?;
            let end = self.expect(&Token::RBrace)?;
            return Ok(mk(ExprKind::Set(items), start.to(end)));
        }
        let mut entries = Vec::new();
        let mut key = first_key;
        loop {
            match key {
                Some(k) => {
                    let colon = self.expect(&Token::Colon)?;
                    let v = self.dict_value(colon)?;
                    if entries.is_empty() && (self.at(&Token::For) || self.at(&Token::Async)) {
                        let generators = self.comprehension_clauses()?;
                        let end = self.expect(&Token::RBrace)?;
                        return Ok(mk(
                            ExprKind::DictComp {
                                key: Box::new(k),
                                value: Box::new(v),
                                generators,
                            },
                            start.to(end),
                        ));
                    }
                    entries.push((Some(k), v));
                }
                None => {
                    let v = self.bitor()?;
                    if entries.is_empty() && (self.at(&Token::For) || self.at(&Token::Async)) {
                        // `{**a for a in b}`: CPython 3.11 names the `**`.
                        return Err(SyntaxError::syntax(
                            "dict unpacking cannot be used in dict comprehension",
                            first_stars,
                        ));
                    }
                    entries.push((None, v));
                }
            }
            if !self.eat(&Token::Comma) {
                if self.starts_expr() {
                    return Err(self.forgot_comma(entries.last().map(|e| e.1.span)));
                }
                break;
            }
            if self.at(&Token::RBrace) {
                break;
            }
            key = if self.eat(&Token::DoubleStar) {
                None
            } else {
                let k = self.test()?;
                if !self.at(&Token::Colon) {
                    return Err(self.key_without_colon(&k));
                }
                Some(k)
            };
        }
        let end = self.expect(&Token::RBrace)?;
        Ok(mk(ExprKind::Dict(entries), start.to(end)))
    }

    /// CPython's `invalid_kvpair` error for `key` (a key after the first, with no `:`): on the
    /// key's first line, at the column before the key's end on its last line (CPython takes
    /// the line from the start and the column from the end; past the first line's end, at its
    /// end), with no end column (`end_offset` 0). The `text` lacks its newline when the token
    /// read after the key is on a later line, as CPython's tokenizer has left the line then.
    fn key_without_colon(&self, key: &Expr) -> SyntaxError {
        let src = self.src.as_bytes();
        let (start, end) = (key.span.start as usize, key.span.end as usize);
        let line_of = |at: usize| src[..at.min(src.len())].iter().rposition(|&b| b == b'\n');
        let first_line = line_of(start).map_or(0, |i| i + 1);
        let last_line = line_of(end.saturating_sub(1)).map_or(0, |i| i + 1);
        let column = end.saturating_sub(1).max(start).saturating_sub(last_line);
        let first_end = src[first_line..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(src.len(), |i| first_line + i);
        let mut at = (first_line + column).min(first_end);
        while !self.src.is_char_boundary(at) {
            at -= 1;
        }
        SyntaxError::syntax(
            "':' expected after dictionary key",
            Span::new(at, end.max(at)),
        )
        .with_end(if self.past_line_of(key.span) {
            ErrorEnd::ZeroPassed
        } else {
            ErrorEnd::Zero
        })
    }

    /// Whether the current token (the lookahead CPython's tokenizer has read) starts on a
    /// later line than `span`: CPython's `text` of an error at `span` then lacks its newline.
    pub(crate) fn past_line_of(&self, span: Span) -> bool {
        let next = self.span().start as usize;
        self.src
            .as_bytes()
            .get(span.start as usize..next.max(span.start as usize))
            .is_some_and(|between| between.contains(&b'\n'))
    }

    /// The value after `key:` in a dict display, with CPython 3.11's messages for a missing
    /// value (`{1: }`, at the `:`) and a starred one (`{1: *a}`). CPython ends the starred
    /// error one column before the end of the token after the value (`{1: *a b}` underlines
    /// `*a `), which the span copies.
    fn dict_value(&mut self, colon: Span) -> PResult<Expr> {
        if matches!(self.peek(), Token::RBrace | Token::Comma) {
            return Err(SyntaxError::syntax(
                "expression expected after dictionary key and ':'",
                colon,
            ));
        }
        if self.at(&Token::Star) {
            let star = self.bump();
            self.bitor()?;
            let end = self.span().end.saturating_sub(1).max(star.end);
            return Err(SyntaxError::syntax(
                "cannot use a starred expression in a dictionary value",
                Span {
                    start: star.start,
                    end,
                },
            ));
        }
        self.test()
    }
}
