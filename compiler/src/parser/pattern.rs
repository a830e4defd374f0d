//! Stage 2 (patterns): the `match` statement and its `case` patterns, following the grammar of
//! PEP 634 as CPython 3.11 parses it. `match` and `case` are soft keywords: ordinary names
//! everywhere else, so `statement` only comes here after `looks_like_match`.

use minivm_lexer::Token;

use super::expr::mk;
use super::Parser;
use crate::ast::{
    BinOp, Const, Expr, ExprKind, Ident, MatchCase, Pattern, PatternKind, Stmt, StmtKind,
};
use crate::{Span, SyntaxError};

type PResult<T> = Result<T, SyntaxError>;

fn pat(kind: PatternKind, span: Span) -> Pattern {
    Pattern { kind, span }
}

impl Parser<'_> {
    /// `match subject:` NEWLINE INDENT `case ...:` blocks DEDENT; the current token is `match`.
    pub(crate) fn match_stmt(&mut self) -> PResult<Stmt> {
        let start = self.bump();
        let subject = self.match_subject()?;
        self.expect_colon()?;
        if !self.eat(&Token::Newline) {
            return Err(self.unexpected());
        }
        if !self.eat(&Token::Indent) {
            return Err(self.expected_block("'match' statement", start));
        }
        let mut cases = Vec::new();
        self.nested(1, |p| {
            while !p.at(&Token::Dedent) && !p.at(&Token::EndOfFile) {
                if !p.at_soft_keyword("case") {
                    return Err(p.unexpected());
                }
                cases.push(p.case_block()?);
            }
            Ok(())
        })?;
        self.eat(&Token::Dedent);
        let span = start.to(self.prev_span());
        Ok(Stmt {
            kind: StmtKind::Match { subject, cases },
            span,
        })
    }

    pub(crate) fn at_soft_keyword(&self, word: &str) -> bool {
        self.at(&Token::Name) && self.text(self.span()) == word
    }

    /// `x`, `x, *y` (a tuple) or `(x := f())`.
    fn match_subject(&mut self) -> PResult<Expr> {
        let first = self.star_or_named()?;
        if !self.at(&Token::Comma) {
            if matches!(first.kind, ExprKind::Starred(_)) {
                return Err(SyntaxError::syntax("invalid syntax", self.span()));
            }
            return Ok(first);
        }
        let start = first.span;
        let mut items = vec![first];
        while self.eat(&Token::Comma) {
            if self.at(&Token::Colon) {
                break;
            }
            items.push(self.star_or_named()?);
        }
        Ok(mk(ExprKind::Tuple(items), start.to(self.prev_span())))
    }

    fn case_block(&mut self) -> PResult<MatchCase> {
        let start = self.bump();
        let pattern = self.top_patterns()?;
        let guard = if self.eat(&Token::If) {
            Some(self.namedexpr()?)
        } else {
            None
        };
        self.expect_colon()?;
        let body = self.block("'case' statement", start)?;
        Ok(MatchCase {
            pattern,
            guard,
            body,
        })
    }

    /// `case a, *b:`: an open sequence pattern, or one pattern.
    fn top_patterns(&mut self) -> PResult<Pattern> {
        let first = self.maybe_star_pattern()?;
        if !self.at(&Token::Comma) {
            if matches!(first.kind, PatternKind::Star(_)) {
                return Err(SyntaxError::syntax("invalid syntax", self.span()));
            }
            return Ok(first);
        }
        let start = first.span;
        let mut items = vec![first];
        while self.eat(&Token::Comma) {
            if matches!(self.peek(), Token::Colon | Token::If) {
                break;
            }
            items.push(self.maybe_star_pattern()?);
        }
        Ok(pat(
            PatternKind::Sequence(items),
            start.to(self.prev_span()),
        ))
    }

    /// `p as name` or an OR pattern.
    fn pattern(&mut self) -> PResult<Pattern> {
        let p = self.or_pattern()?;
        if !self.eat(&Token::As) {
            return Ok(p);
        }
        let name = self.capture_target()?;
        let span = p.span.to(name.span);
        Ok(pat(
            PatternKind::As {
                pattern: Some(Box::new(p)),
                name: Some(name),
            },
            span,
        ))
    }

    /// The name after `as` or `**`: any name but `_`, not followed by `.`, `(` or `=`.
    fn capture_target(&mut self) -> PResult<Ident> {
        if !self.at(&Token::Name) || matches!(self.peek_at(1), Token::Dot | Token::LPar) {
            let at = if self.at(&Token::Name) {
                self.toks_span_at(1)
            } else {
                self.span()
            };
            return Err(SyntaxError::syntax("invalid syntax", at));
        }
        let span = self.bump();
        let name = self.name_text(span);
        if name == "_" {
            return Err(SyntaxError::syntax("cannot use '_' as a target", span));
        }
        Ok(Ident { name, span })
    }

    fn toks_span_at(&mut self, n: usize) -> Span {
        let saved = self.save();
        for _ in 0..n {
            self.bump();
        }
        let s = self.span();
        self.restore(saved);
        s
    }

    fn or_pattern(&mut self) -> PResult<Pattern> {
        let first = self.closed_pattern()?;
        if !self.at(&Token::Vbar) {
            return Ok(first);
        }
        let start = first.span;
        let mut alts = vec![first];
        while self.eat(&Token::Vbar) {
            alts.push(self.closed_pattern()?);
        }
        Ok(pat(PatternKind::Or(alts), start.to(self.prev_span())))
    }

    /// `*name` / `*_` inside a sequence, else a pattern.
    fn maybe_star_pattern(&mut self) -> PResult<Pattern> {
        if !self.at(&Token::Star) {
            return self.pattern();
        }
        let start = self.bump();
        if !self.at(&Token::Name) || matches!(self.peek_at(1), Token::Dot | Token::LPar) {
            return Err(self.unexpected());
        }
        let span = self.bump();
        let name = self.name_text(span);
        let name = (name != "_").then_some(Ident { name, span });
        Ok(pat(PatternKind::Star(name), start.to(span)))
    }

    /// One pattern without `|` or `as` at its top: literals, names, groups, sequences, mappings
    /// and class patterns. Nesting counts against the parser's depth limit.
    fn closed_pattern(&mut self) -> PResult<Pattern> {
        self.nested(1, Self::closed_pattern_inner)
    }

    fn closed_pattern_inner(&mut self) -> PResult<Pattern> {
        let span = self.span();
        match self.peek().clone() {
            Token::None => self.singleton(Const::None),
            Token::True => self.singleton(Const::Bool(true)),
            Token::False => self.singleton(Const::Bool(false)),
            Token::Minus
            | Token::Int(_)
            | Token::BigInt(_)
            | Token::Float(_)
            | Token::Imaginary(_) => {
                let e = self.signed_number()?;
                Ok(pat(PatternKind::Value(e), span))
            }
            Token::Str | Token::Bytes | Token::FStr => {
                let e = self.literal_string()?;
                Ok(pat(PatternKind::Value(e), span))
            }
            Token::Name => self.name_pattern(),
            Token::LPar => self.paren_pattern(),
            Token::LSqb => {
                self.bump();
                let items = self.sequence_items(&Token::RSqb)?;
                let end = self.expect(&Token::RSqb)?;
                Ok(pat(PatternKind::Sequence(items), span.to(end)))
            }
            Token::LBrace => self.mapping_pattern(),
            _ => Err(self.unexpected()),
        }
    }

    fn singleton(&mut self, c: Const) -> PResult<Pattern> {
        let span = self.bump();
        Ok(pat(PatternKind::Singleton(c), span))
    }

    /// `1`, `-2.5`, `3j`, `-1+2j`: a number with an optional minus, or a complex literal
    /// (a real number, `+` or `-`, an imaginary number), as CPython's `complex_number` rule.
    fn signed_number(&mut self) -> PResult<Expr> {
        let start = self.span();
        let neg = self.eat(&Token::Minus);
        let value = match self.peek().clone() {
            Token::Int(v) => Const::Int(v),
            Token::BigInt(s) => Const::BigInt(s),
            Token::Float(f) => Const::Float(f),
            Token::Imaginary(f) => Const::Imag(f),
            _ => return Err(self.unexpected()),
        };
        let span = start.to(self.bump());
        let imaginary = matches!(value, Const::Imag(_));
        let mut number = mk(ExprKind::Const(value), span);
        if neg {
            number = mk(
                ExprKind::UnaryOp {
                    op: crate::ast::UnaryOp::Neg,
                    operand: Box::new(number),
                },
                span,
            );
        }
        let op = match self.peek() {
            Token::Plus => BinOp::Add,
            Token::Minus => BinOp::Sub,
            _ => return Ok(number),
        };
        if imaginary {
            return Err(SyntaxError::syntax(
                "real number required in complex literal",
                span,
            ));
        }
        let &Token::Imaginary(imag) = self.peek_at(1) else {
            return Err(SyntaxError::syntax(
                "imaginary number required in complex literal",
                self.toks_span_at(1),
            ));
        };
        self.bump();
        let imag_span = self.bump();
        let right = mk(ExprKind::Const(Const::Imag(imag)), imag_span);
        Ok(mk(
            ExprKind::BinOp {
                op,
                left: Box::new(number),
                right: Box::new(right),
            },
            span.to(imag_span),
        ))
    }

    fn literal_string(&mut self) -> PResult<Expr> {
        let e = self.strings()?;
        if matches!(e.kind, ExprKind::FString(_)) {
            return Err(SyntaxError::syntax(
                "patterns may only match literals and attribute lookups",
                e.span,
            ));
        }
        Ok(e)
    }

    /// `_`, a capture `x`, a value `a.b.c`, or a class pattern `a.b(...)`.
    fn name_pattern(&mut self) -> PResult<Pattern> {
        let span = self.span();
        let dotted = self.dotted_pattern_name()?;
        if self.at(&Token::LPar) {
            return self.class_pattern(dotted);
        }
        match dotted.kind {
            ExprKind::Name(ref n) if n == "_" => Ok(pat(
                PatternKind::As {
                    pattern: None,
                    name: None,
                },
                span,
            )),
            ExprKind::Name(ref n) => {
                let name = Ident {
                    name: n.clone(),
                    span,
                };
                Ok(pat(
                    PatternKind::As {
                        pattern: None,
                        name: Some(name),
                    },
                    span,
                ))
            }
            _ => {
                let span = dotted.span;
                Ok(pat(PatternKind::Value(dotted), span))
            }
        }
    }

    /// `name(.name)*` as a `Name` or `Attribute` expression.
    fn dotted_pattern_name(&mut self) -> PResult<Expr> {
        let span = self.bump();
        let mut e = mk(ExprKind::Name(self.name_text(span)), span);
        while self.eat(&Token::Dot) {
            e = self.attribute_of(e)?;
        }
        Ok(e)
    }

    /// `Cls(p, q, attr=r)`; the current token is `(`.
    fn class_pattern(&mut self, cls: Expr) -> PResult<Pattern> {
        self.bump();
        let mut patterns = Vec::new();
        let mut kwd_attrs: Vec<Ident> = Vec::new();
        let mut kwd_patterns = Vec::new();
        while !self.at(&Token::RPar) {
            if self.at(&Token::Name) && self.peek_at(1) == &Token::Equal {
                let span = self.bump();
                let name = self.name_text(span);
                self.bump();
                let value = self.pattern()?;
                if kwd_attrs.iter().any(|a| a.name == name) {
                    return Err(SyntaxError::syntax(
                        format!("attribute name repeated in class pattern: {name}"),
                        value.span,
                    ));
                }
                kwd_attrs.push(Ident { name, span });
                kwd_patterns.push(value);
            } else {
                let p = self.pattern()?;
                if !kwd_attrs.is_empty() {
                    return Err(SyntaxError::syntax(
                        "positional patterns follow keyword patterns",
                        p.span,
                    ));
                }
                patterns.push(p);
            }
            if !self.eat(&Token::Comma) {
                break;
            }
        }
        let end = self.expect(&Token::RPar)?;
        let span = cls.span.to(end);
        Ok(pat(
            PatternKind::Class {
                cls,
                patterns,
                kwd_attrs,
                kwd_patterns,
            },
            span,
        ))
    }

    /// `(p)` (a group), `()` or `(p,)` / `(p, q)` (sequences).
    fn paren_pattern(&mut self) -> PResult<Pattern> {
        let start = self.bump();
        if let Some(end) = self.eat_span(&Token::RPar) {
            return Ok(pat(PatternKind::Sequence(Vec::new()), start.to(end)));
        }
        let first = self.maybe_star_pattern()?;
        if !matches!(first.kind, PatternKind::Star(_)) && !self.at(&Token::Comma) {
            self.expect(&Token::RPar)?;
            return Ok(first);
        }
        let mut items = vec![first];
        if self.eat(&Token::Comma) {
            items.extend(self.sequence_items(&Token::RPar)?);
        }
        let end = self.expect(&Token::RPar)?;
        Ok(pat(PatternKind::Sequence(items), start.to(end)))
    }

    fn eat_span(&mut self, t: &Token) -> Option<Span> {
        self.at(t).then(|| self.bump())
    }

    /// Comma-separated (maybe starred) patterns up to `close`, a trailing comma allowed.
    fn sequence_items(&mut self, close: &Token) -> PResult<Vec<Pattern>> {
        let mut items = Vec::new();
        while !self.at(close) {
            items.push(self.maybe_star_pattern()?);
            if !self.eat(&Token::Comma) {
                break;
            }
        }
        Ok(items)
    }

    /// `{key: p, ..., **rest}`; keys are literals or dotted names (`a.b`, not a bare name).
    fn mapping_pattern(&mut self) -> PResult<Pattern> {
        let start = self.bump();
        let mut keys = Vec::new();
        let mut patterns = Vec::new();
        let mut rest = None;
        while !self.at(&Token::RBrace) {
            if self.eat(&Token::DoubleStar) {
                if self.at_soft_keyword("_") {
                    return Err(SyntaxError::syntax("invalid syntax", self.span()));
                }
                rest = Some(self.capture_target()?);
                self.eat(&Token::Comma);
                break;
            }
            keys.push(self.mapping_key()?);
            self.expect(&Token::Colon)?;
            patterns.push(self.pattern()?);
            if !self.eat(&Token::Comma) {
                break;
            }
        }
        let end = self.expect(&Token::RBrace)?;
        Ok(pat(
            PatternKind::Mapping {
                keys,
                patterns,
                rest,
            },
            start.to(end),
        ))
    }

    fn mapping_key(&mut self) -> PResult<Expr> {
        let span = self.span();
        match self.peek() {
            Token::None => Ok(self.const_key(Const::None)),
            Token::True => Ok(self.const_key(Const::Bool(true))),
            Token::False => Ok(self.const_key(Const::Bool(false))),
            Token::Minus
            | Token::Int(_)
            | Token::BigInt(_)
            | Token::Float(_)
            | Token::Imaginary(_) => self.signed_number(),
            Token::Str | Token::Bytes | Token::FStr => self.literal_string(),
            Token::Name if self.peek_at(1) == &Token::Dot => self.dotted_pattern_name(),
            Token::Name => Err(SyntaxError::syntax("invalid syntax", self.toks_span_at(1))),
            _ => Err(SyntaxError::syntax("invalid syntax", span)),
        }
    }

    fn const_key(&mut self, c: Const) -> Expr {
        let span = self.bump();
        mk(ExprKind::Const(c), span)
    }
}
