//! Stage 3b (future statements): `from __future__ import ...` at the top of a file changes how
//! the rest of it compiles. In Python 3.11 only `annotations` (PEP 563) still does: annotations
//! are stored as their source text instead of being evaluated, so they may name classes defined
//! later. The statements are checked as CPython's `future.c` checks them.

use crate::ast::{Const, Expr, ExprKind, Stmt, StmtKind};
use crate::bytecode::{Constant, Op};
use crate::{Span, SyntaxError};

use super::Compiler;

/// Every feature name `__future__` defines (vm/lib/__future__.mini).
const FEATURES: &[&str] = &[
    "nested_scopes",
    "generators",
    "division",
    "absolute_import",
    "with_statement",
    "print_function",
    "unicode_literals",
    "barry_as_FLUFL",
    "generator_stop",
    "annotations",
];

/// Does the module import `annotations` from `__future__`? Future statements may only follow
/// the docstring and other future statements.
pub(crate) fn future_annotations(body: &[Stmt]) -> Result<bool, SyntaxError> {
    let mut annotations = false;
    let mut at_top = true;
    for (i, s) in body.iter().enumerate() {
        match &s.kind {
            StmtKind::ImportFrom {
                module: Some(m),
                names,
                level: 0,
            } if m.name == "__future__" => {
                if !at_top {
                    return Err(SyntaxError::syntax(
                        "from __future__ imports must occur at the beginning of the file",
                        s.span,
                    ));
                }
                // CPython points at the statement's first character for a bad feature.
                let at = Span::new(s.span.start as usize, s.span.start as usize);
                for a in names {
                    match a.name.as_str() {
                        "annotations" => annotations = true,
                        "braces" => return Err(SyntaxError::syntax("not a chance", at)),
                        n if FEATURES.contains(&n) => {}
                        n => {
                            return Err(SyntaxError::syntax(
                                format!("future feature {n} is not defined"),
                                at,
                            ))
                        }
                    }
                }
            }
            StmtKind::Expr(Expr {
                kind: ExprKind::Const(Const::Str(_)),
                ..
            }) if i == 0 => {}
            _ => at_top = false,
        }
    }
    Ok(annotations)
}

impl<'a> Compiler<'a> {
    /// Push an annotation's value: evaluated, or its source text under
    /// `from __future__ import annotations`.
    pub(crate) fn annotation(&mut self, a: &'a Expr) -> Result<(), SyntaxError> {
        let Some(src) = &self.annotation_src else {
            // `*args: *Ts` (PEP 646): the one item `Ts` unpacks to.
            if let ExprKind::Starred(inner) = &a.kind {
                self.expr(inner)?;
                self.emit(Op::UnpackSequence(1));
                return Ok(());
            }
            return self.expr(a);
        };
        let text = src
            .get(a.span.start as usize..a.span.end as usize)
            .unwrap_or("");
        let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        self.emit_const(Constant::Str(text.as_str().into()));
        Ok(())
    }
}
