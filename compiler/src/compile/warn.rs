//! Stage 3 (compiler): the `SyntaxWarning`s CPython's compiler issues for code that compiles but
//! is almost surely a mistake: `x is 1` ("is" with a literal). They are collected per thread
//! while a source compiles; whoever compiled it takes them ([`take_warnings`]) and issues them
//! through the `warnings` module at the file and line they name, as CPython does.

use std::cell::RefCell;

use crate::ast::{CmpOp, Const, Expr, ExprKind, UnaryOp};
use crate::Span;

/// One compile-time warning: its line, the code it is about (where the `SyntaxError` points
/// when a filter turns it into an error) and message (its category is `SyntaxWarning`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileWarning {
    pub line: u32,
    pub span: Span,
    pub message: &'static str,
}

thread_local! {
    static WARNINGS: RefCell<Vec<CompileWarning>> = const { RefCell::new(Vec::new()) };
}

/// Forget the warnings of an earlier compilation whose compiler did not take them.
pub(crate) fn clear() {
    WARNINGS.with(|w| w.borrow_mut().clear());
}

/// The warnings of the source this thread compiled last, in the order they were found.
pub fn take_warnings() -> Vec<CompileWarning> {
    WARNINGS.with(|w| std::mem::take(&mut *w.borrow_mut()))
}

/// Record a warning (each time the node compiles: a `finally` body compiled twice warns twice,
/// as in CPython).
fn warn(line: u32, span: Span, message: &'static str) {
    WARNINGS.with(|w| {
        w.borrow_mut().push(CompileWarning {
            line,
            span,
            message,
        })
    });
}

/// CPython's `check_compare`: the first `is`/`is not` in a comparison chain with a literal
/// (a constant other than None, True, False and Ellipsis, after constant folding: `4 is 2 ** 2`,
/// `x is ()`) on either side warns.
pub(crate) fn check_compare(
    line: u32,
    span: Span,
    left: &Expr,
    ops: &[CmpOp],
    comparators: &[Expr],
) {
    let mut left = left;
    for (op, right) in ops.iter().zip(comparators) {
        let message = match op {
            CmpOp::Is => "\"is\" with a literal. Did you mean \"==\"?",
            CmpOp::IsNot => "\"is not\" with a literal. Did you mean \"!=\"?",
            _ => {
                left = right;
                continue;
            }
        };
        if is_literal(left) || is_literal(right) {
            warn(line, span, message);
            return;
        }
        left = right;
    }
}

/// Whether `e` folds to a constant that `is` should not compare with.
fn is_literal(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Const(Const::None | Const::Bool(_) | Const::Ellipsis) => false,
        ExprKind::UnaryOp {
            op: UnaryOp::Not, ..
        } => false,
        _ => folds(e),
    }
}

/// Whether CPython's AST optimizer makes `e` a constant: a literal, an operator applied to
/// constants, a tuple of constants.
fn folds(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Const(_) => true,
        ExprKind::UnaryOp { operand, .. } => folds(operand),
        ExprKind::BinOp { left, right, .. } => folds(left) && folds(right),
        ExprKind::Tuple(items) => items.iter().all(folds),
        _ => false,
    }
}
