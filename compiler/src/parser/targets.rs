//! Stage 2 (target checks): which expressions may be assigned to, deleted or augmented, with
//! CPython's messages (`cannot assign to function call here. Maybe you meant '==' instead of '='?`).

use minivm_lexer::Token;

use super::Parser;
use crate::ast::{Const, Expr, ExprKind};
use crate::SyntaxError;

/// Where a target appears.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Ctx {
    /// `x = y = ...`, `with ... as x` (see `check_assign_targets`)
    Assign,
    /// `for x in`, comprehension targets
    For,
    /// `del x`
    Del,
    /// `x += ...`
    Aug,
}

/// CPython's name for an expression kind in "cannot assign to ..." messages.
pub(crate) fn describe(e: &Expr) -> &'static str {
    match &e.kind {
        ExprKind::Const(Const::None) => "None",
        ExprKind::Const(Const::Bool(true)) => "True",
        ExprKind::Const(Const::Bool(false)) => "False",
        ExprKind::Const(Const::Ellipsis) => "ellipsis",
        ExprKind::Const(_) => "literal",
        ExprKind::FString(_) => "f-string expression",
        ExprKind::Call { .. } => "function call",
        ExprKind::BinOp { .. } | ExprKind::UnaryOp { .. } | ExprKind::BoolOp { .. } => "expression",
        ExprKind::Compare { .. } => "comparison",
        ExprKind::IfExp { .. } => "conditional expression",
        ExprKind::Lambda { .. } => "lambda",
        ExprKind::ListComp { .. } => "list comprehension",
        ExprKind::SetComp { .. } => "set comprehension",
        ExprKind::DictComp { .. } => "dict comprehension",
        ExprKind::GeneratorExp { .. } => "generator expression",
        ExprKind::Yield(_) | ExprKind::YieldFrom(_) => "yield expression",
        ExprKind::Await(_) => "await expression",
        ExprKind::NamedExpr { .. } => "named expression",
        ExprKind::Dict(_) => "dict literal",
        ExprKind::Set(_) => "set display",
        ExprKind::Tuple(_) => "tuple",
        ExprKind::List(_) => "list",
        ExprKind::Starred(_) => "starred",
        ExprKind::Slice { .. } => "slice",
        ExprKind::Name(_) => "name",
        ExprKind::Attribute { .. } => "attribute",
        ExprKind::Subscript { .. } => "subscript",
    }
}

impl Parser<'_> {
    /// Checks that `e` is a valid target in context `ctx`.
    pub(crate) fn check_target(&self, e: &Expr, ctx: Ctx) -> Result<(), SyntaxError> {
        match &e.kind {
            ExprKind::Name(_) | ExprKind::Attribute { .. } | ExprKind::Subscript { .. } => Ok(()),
            ExprKind::Tuple(_) | ExprKind::List(_) if ctx == Ctx::Aug => Err(SyntaxError::syntax(
                format!(
                    "'{}' is an illegal expression for augmented assignment",
                    describe(e)
                ),
                e.span,
            )),
            ExprKind::Tuple(items) | ExprKind::List(items) => {
                for item in items {
                    self.check_nested(item, ctx)?;
                }
                Ok(())
            }
            // `*a = b`, `for *a in b`: CPython's grammar takes a starred target anywhere; its
            // compiler then says "starred assignment target must be in a list or tuple".
            ExprKind::Starred(inner) if matches!(ctx, Ctx::Assign | Ctx::For) => {
                self.check_target(inner, ctx)
            }
            _ => {
                let what = describe(e);
                let msg = match ctx {
                    Ctx::Aug => {
                        format!("'{what}' is an illegal expression for augmented assignment")
                    }
                    Ctx::Del => format!("cannot delete {what}"),
                    // `x = yield = 1`: an unparenthesized yield in a chain of targets.
                    Ctx::Assign
                        if matches!(e.kind, ExprKind::Yield(_) | ExprKind::YieldFrom(_))
                            && e.span == e.outer =>
                    {
                        "assignment to yield expression not possible".to_string()
                    }
                    Ctx::Assign | Ctx::For => format!("cannot assign to {what}"),
                };
                Err(SyntaxError::syntax(msg, e.span))
            }
        }
    }

    /// The targets of `t0 = t1 = ... = value`. When one is invalid, CPython's second pass
    /// reaches its `invalid_named_expression` rule at the first target (or the last element of
    /// an unparenthesized tuple there) before the plain "cannot assign to ..." of the first
    /// invalid target: if what follows its `=` starts with a `bitwise_or` that is not itself
    /// followed by `=` or `:=`, a name reads as a mistyped `==`/`:=` (`x = a < b = 1`), and any
    /// other `bitwise_or` but a display or `True`/`False`/`None` as a mistyped comparison, even
    /// a valid target (`x[0] = a < b = 1`: "cannot assign to subscript here").
    pub(crate) fn check_assign_targets(
        &self,
        targets: &[Expr],
        value: &Expr,
    ) -> Result<(), SyntaxError> {
        let Some(err) = targets
            .iter()
            .find_map(|t| self.check_target(t, Ctx::Assign).err())
        else {
            return Ok(());
        };
        let (Some(first), Some(next)) = (targets.first(), targets.get(1).or(Some(value))) else {
            return Err(err);
        };
        let cand = match &first.kind {
            ExprKind::Tuple(items) if first.span == first.outer => match items.last() {
                Some(last) if last.outer.end == first.span.end => last,
                _ => first,
            },
            _ => first,
        };
        let Some(lead) = leading_bitor(next) else {
            return Err(err);
        };
        if std::ptr::eq(lead, next) && targets.len() > 1 {
            // The `bitwise_or` is a whole target, followed by the next `=`.
            return Err(err);
        }
        let bare = cand.span == cand.outer;
        if matches!(cand.kind, ExprKind::Name(_)) && bare {
            return Err(SyntaxError::syntax(
                "invalid syntax. Maybe you meant '==' or ':=' instead of '='?",
                cand.span.to(lead.outer),
            ));
        }
        let excluded = matches!(
            cand.kind,
            ExprKind::List(_) | ExprKind::Tuple(_) | ExprKind::GeneratorExp { .. }
        ) || (bare
            && matches!(cand.kind, ExprKind::Const(Const::None | Const::Bool(_))));
        if !excluded && leading_bitor(cand).is_some_and(|l| std::ptr::eq(l, cand)) {
            return Err(SyntaxError::syntax(
                format!(
                    "cannot assign to {} here. Maybe you meant '==' instead of '='?",
                    describe(cand)
                ),
                cand.span,
            ));
        }
        Err(err)
    }

    /// CPython's `invalid_for_target`, tried where `for` is not followed by a target and `in`
    /// (`from` is where the target began): it reads `star_expressions` from there and names
    /// the first invalid target in it ("cannot assign to conditional expression" for `for a if
    /// b else c in d`, the `in` making part of it); None when there is none.
    pub(crate) fn invalid_for_target(&mut self, from: (usize, usize)) -> Option<SyntaxError> {
        let back = self.save();
        self.restore(from);
        let e = self.star_expressions();
        self.restore(back);
        let bad = invalid_target(&e.ok()?, Ctx::For)?.clone();
        Some(SyntaxError::syntax(
            format!("cannot assign to {}", describe(&bad)),
            bad.span,
        ))
    }

    /// CPython's `invalid_with_item`: `with x as <expression>` followed by `,`, `)` or `:`
    /// whose target is invalid (`from` is after the `as`): "cannot assign to ...".
    pub(crate) fn invalid_with_target(&mut self, from: (usize, usize)) -> Option<SyntaxError> {
        let back = self.save();
        self.restore(from);
        let e = self.test();
        let followed = matches!(self.peek(), Token::Comma | Token::RPar | Token::Colon);
        self.restore(back);
        let e = e.ok().filter(|_| followed)?;
        let bad = invalid_target(&e, Ctx::Assign)?.clone();
        Some(SyntaxError::syntax(
            format!("cannot assign to {}", describe(&bad)),
            bad.span,
        ))
    }

    /// An element inside a tuple/list target: starred elements are allowed (except in `del`).
    fn check_nested(&self, e: &Expr, ctx: Ctx) -> Result<(), SyntaxError> {
        match &e.kind {
            ExprKind::Starred(inner) if ctx != Ctx::Del => self.check_nested(inner, ctx),
            ExprKind::Name(_)
            | ExprKind::Attribute { .. }
            | ExprKind::Subscript { .. }
            | ExprKind::Tuple(_)
            | ExprKind::List(_) => self.check_target(e, ctx),
            _ => {
                let what = describe(e);
                let msg = if ctx == Ctx::Del {
                    format!("cannot delete {what}")
                } else {
                    format!("cannot assign to {what}")
                };
                Err(SyntaxError::syntax(msg, e.span))
            }
        }
    }
}

/// The `bitwise_or` an expression starts with (CPython's grammar reads one first): the
/// expression itself for an operand, operator or parenthesized group; the first operand of a
/// comparison, `and`/`or`, conditional expression or unparenthesized tuple; None when it starts
/// with `not`, `lambda`, `yield`, `*` or is a slice.
fn leading_bitor(e: &Expr) -> Option<&Expr> {
    if e.span != e.outer {
        return Some(e);
    }
    match &e.kind {
        ExprKind::Compare { left, .. } => leading_bitor(left),
        ExprKind::BoolOp { values, .. } => values.first().and_then(leading_bitor),
        ExprKind::IfExp { body, .. } => leading_bitor(body),
        ExprKind::Tuple(items) => items.first().and_then(leading_bitor),
        ExprKind::UnaryOp {
            op: crate::ast::UnaryOp::Not,
            ..
        }
        | ExprKind::Lambda { .. }
        | ExprKind::Yield(_)
        | ExprKind::YieldFrom(_)
        | ExprKind::Starred(_)
        | ExprKind::Slice { .. }
        | ExprKind::NamedExpr { .. } => None,
        _ => Some(e),
    }
}

/// CPython's `_PyPegen_get_invalid_target`: the first part of `e` that cannot be a target (in
/// a `for` target, the left side of an `in` comparison stands for the whole).
fn invalid_target(e: &Expr, ctx: Ctx) -> Option<&Expr> {
    match &e.kind {
        ExprKind::List(items) | ExprKind::Tuple(items) => {
            items.iter().find_map(|i| invalid_target(i, ctx))
        }
        ExprKind::Starred(inner) if ctx != Ctx::Del => invalid_target(inner, ctx),
        ExprKind::Compare { left, ops, .. } if ctx == Ctx::For => {
            if ops.first() == Some(&crate::ast::CmpOp::In) {
                invalid_target(left, ctx)
            } else {
                None
            }
        }
        ExprKind::Name(_) | ExprKind::Subscript { .. } | ExprKind::Attribute { .. } => None,
        _ => Some(e),
    }
}
