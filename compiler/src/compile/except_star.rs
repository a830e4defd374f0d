//! Stage 3b: `try ... except* T as e:` (PEP 654).
//!
//! The handler keeps `[.., prev_exc, orig, raised, rest]` on the stack: `orig` is the exception
//! caught, `rest` what no clause has matched yet, `raised` a list of what the clause bodies
//! raised. Each clause splits `rest` with `CheckEgMatch` and runs its body on the matching part;
//! an exception escaping the body is appended to `raised`. At the end `PrepReraiseStar` combines
//! `raised` and the final `rest` into the one exception to raise again, or None.

use crate::ast::{ExceptHandler, Stmt, StmtKind};
use crate::bytecode::{CmpOp, Constant, Label, Op};
use crate::SyntaxError;

use super::unwind::FBlock;
use super::{Compiler, Ctx};

impl<'a> Compiler<'a> {
    /// The `except*` clauses of a `try`, entered as `[.., prev_exc, exc]` with the cleanup
    /// handler active (see `compile_try_except`): they jump to `end` when nothing is left to
    /// raise, else fall through with `[.., prev_exc, exc to raise]`.
    pub(crate) fn compile_star_handlers(
        &mut self,
        handlers: &'a [ExceptHandler],
        end: Label,
    ) -> Result<(), SyntaxError> {
        self.emit(Op::Copy(1));
        self.emit(Op::BuildList(0));
        self.emit(Op::Swap(2));
        // [.., prev_exc, orig, raised, rest]
        for h in handlers {
            self.compile_star_handler(h)?;
        }
        self.emit(Op::ListAppend(1));
        self.emit(Op::PrepReraiseStar);
        // [.., prev_exc, exc or None]
        let reraise = self.new_label();
        self.emit_none_test(reraise, CmpOp::IsNot);
        self.emit(Op::Pop);
        self.emit(Op::PopBlock);
        self.emit(Op::PopExcept);
        self.emit(Op::Jump(end));
        self.bind(reraise);
        Ok(())
    }

    /// `[.., x] -> [.., x]`, jumping to `target` when `x op None` (`is` or `is not`).
    fn emit_none_test(&mut self, target: Label, op: CmpOp) {
        self.emit(Op::Copy(1));
        self.emit_const(Constant::None);
        self.emit(Op::Compare(op));
        self.emit(Op::PopJumpIfTrue(target));
    }

    /// One `except* T as name:` clause, entered and left with `[.., prev, orig, raised, rest]`.
    fn compile_star_handler(&mut self, h: &'a ExceptHandler) -> Result<(), SyntaxError> {
        let old = self.set_line(h.span);
        let Some(typ) = &h.typ else {
            return Err(SyntaxError::syntax(
                "expected one or more exception types",
                h.span,
            ));
        };
        check_no_jumps(&h.body, true)?;
        let no_match = self.new_label();
        let next = self.new_label();
        self.expr(typ)?;
        self.emit(Op::CheckEgMatch);
        self.emit_none_test(no_match, CmpOp::Is);
        let name = h.name.as_ref();
        match name {
            // (`as __debug__`: CPython's error spans the whole handler.)
            Some(n) if n.name == "__debug__" => self.name_op(&n.name, Ctx::Store, h.span)?,
            Some(n) => self.name_op(&n.name, Ctx::Store, n.span)?,
            None => self.emit(Op::Pop),
        }
        let body_raised = self.new_label();
        self.emit(Op::SetupExcept(body_raised));
        self.in_block(FBlock::TryExcept, h.span, |c| c.stmts(&h.body))?;
        self.emit(Op::PopBlock);
        if let Some(n) = name {
            self.clear_name(&n.name, n.span)?;
        }
        self.emit(Op::Jump(next));
        // [.., prev, orig, raised, rest, exc2]: keep exc2 for `PrepReraiseStar`.
        self.bind(body_raised);
        if let Some(n) = name {
            self.clear_name(&n.name, n.span)?;
        }
        self.emit(Op::ListAppend(2));
        self.emit(Op::Jump(next));
        // [.., prev, orig, raised, rest, None]
        self.bind(no_match);
        self.emit(Op::Pop);
        self.bind(next);
        self.restore_line(old);
        Ok(())
    }
}

/// `break`, `continue` and `return` may not leave an `except*` body (CPython's rule: where would
/// the other parts of the group go?). `top` is false inside a nested loop, where `break`
/// and `continue` stay inside the clause. Nested functions and classes are their own scopes.
fn check_no_jumps(body: &[Stmt], top: bool) -> Result<(), SyntaxError> {
    for s in body {
        let span = match &s.kind {
            StmtKind::Break | StmtKind::Continue if top => Some(s.span),
            StmtKind::Return(v) => Some(v.as_ref().map_or(s.span, |v| v.span)),
            _ => None,
        };
        if let Some(span) = span {
            return Err(SyntaxError::syntax(
                "'break', 'continue' and 'return' cannot appear in an except* block",
                span,
            ));
        }
        match &s.kind {
            StmtKind::If { body, orelse, .. } => {
                check_no_jumps(body, top)?;
                check_no_jumps(orelse, top)?;
            }
            StmtKind::While { body, orelse, .. } | StmtKind::For { body, orelse, .. } => {
                check_no_jumps(body, false)?;
                check_no_jumps(orelse, top)?;
            }
            StmtKind::Try(t) => {
                check_no_jumps(&t.body, top)?;
                for h in &t.handlers {
                    check_no_jumps(&h.body, top)?;
                }
                check_no_jumps(&t.orelse, top)?;
                check_no_jumps(&t.finalbody, top)?;
            }
            StmtKind::With { body, .. } => check_no_jumps(body, top)?,
            _ => {}
        }
    }
    Ok(())
}
