//! Stage 2 (target checks): which expressions may be assigned to, deleted or augmented, with
//! CPython's messages (`cannot assign to function call here. Maybe you meant '==' instead of '='?`).

use super::Parser;
use crate::ast::{Const, Expr, ExprKind};
use crate::SyntaxError;

/// Where a target appears.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Ctx {
    /// `x = y = ...`, `with ... as x` (a single `x = ...` goes through `check_sole_target`)
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

    /// The single target of `target = value`. CPython reads `1 = x` (and the last element of
    /// an unparenthesized tuple, `a, 1 = x`) as a mistyped comparison and says so; everywhere
    /// else (chains, `with ... as`, `for`, nested elements) the message is the plain one.
    pub(crate) fn check_sole_target(&self, e: &Expr) -> Result<(), SyntaxError> {
        let cand = match &e.kind {
            ExprKind::Tuple(items) => match items.last() {
                Some(last) if last.outer.end == e.span.end => last,
                _ => e,
            },
            _ => e,
        };
        let plain = matches!(
            cand.kind,
            ExprKind::Name(_)
                | ExprKind::Attribute { .. }
                | ExprKind::Subscript { .. }
                | ExprKind::Tuple(_)
                | ExprKind::List(_)
                | ExprKind::Starred(_)
        );
        let bare_yield = matches!(cand.kind, ExprKind::Yield(_) | ExprKind::YieldFrom(_))
            && cand.span == cand.outer;
        // CPython's mistyped-comparison rule leaves out the keywords `True`, `False` and `None`
        // (unparenthesized): `True = 1` is a plain "cannot assign to True".
        let keyword = matches!(cand.kind, ExprKind::Const(Const::None | Const::Bool(_)))
            && cand.span == cand.outer;
        if !plain && !bare_yield && !keyword {
            return Err(SyntaxError::syntax(
                format!(
                    "cannot assign to {} here. Maybe you meant '==' instead of '='?",
                    describe(cand)
                ),
                cand.span,
            ));
        }
        self.check_target(e, Ctx::Assign)
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
