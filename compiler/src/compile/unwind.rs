//! Stage 3b: exception handling (`try`, `with`) and the unwinding that `break`, `continue` and
//! `return` need when they leave loops, handlers, `with` blocks and `finally` clauses.
//!
//! Handler protocol (see `SetupExcept` in `bytecode.rs`): an exception raised while a handler is
//! active pops that handler, truncates the stack to the depth recorded at `SetupExcept`, pushes the
//! exception and jumps to the handler. Every handler region below keeps the stack at least that deep.

use crate::ast::{ExceptHandler, Span, Stmt, Try, WithItem};
use crate::bytecode::{Label, Op};
use crate::SyntaxError;

use super::{Compiler, Ctx};

/// A block the compiler is inside of, which `break`/`continue`/`return` must leave properly.
#[derive(Debug, Clone)]
pub(crate) enum FBlock<'a> {
    /// `continue` jumps back to `head`, `break` to `exit`.
    WhileLoop { head: Label, exit: Label },
    /// As `WhileLoop`, with the iterator on the stack (popped by `break` and `return`).
    ForLoop { head: Label, exit: Label },
    /// The body of a `try` with `except` clauses: its handler is active.
    TryExcept,
    /// The body of a `try` with `finally`: leaving runs a copy of the finally body.
    FinallyTry { body: &'a [Stmt] },
    /// The finally body on the exceptional path: `[.., prev_exc, exc]` on the stack.
    FinallyEnd,
    /// The body of a `with`: `[.., exit]` on the stack, its handler active (`async with`
    /// awaits what `exit` returns).
    With { is_async: bool },
    /// The body of an `except` clause: `[.., prev_exc]` on the stack, cleanup handler(s) active.
    HandlerCleanup { name: Option<&'a str>, span: Span },
}

/// CPython's `CO_MAXBLOCKS`: at most 20 blocks open at once in one code object.
const MAX_STATIC_BLOCKS: usize = 20;

impl FBlock<'_> {
    /// How many of CPython's blocks this one stands for: an `except` body sits inside two there
    /// (`EXCEPTION_HANDLER` for the handlers, `HANDLER_CLEANUP` for the clause).
    fn weight(&self) -> usize {
        match self {
            FBlock::HandlerCleanup { .. } => 2,
            _ => 1,
        }
    }
}

impl<'a> Compiler<'a> {
    /// Compile `body` inside `block`; past CPython's 20 open blocks, its `SyntaxError` at `span`.
    pub(crate) fn in_block<T>(
        &mut self,
        block: FBlock<'a>,
        span: Span,
        body: impl FnOnce(&mut Self) -> Result<T, SyntaxError>,
    ) -> Result<T, SyntaxError> {
        let open: usize = self.cur.fblocks.iter().map(FBlock::weight).sum();
        if open + block.weight() > MAX_STATIC_BLOCKS {
            return Err(SyntaxError::syntax(
                "too many statically nested blocks",
                span,
            ));
        }
        self.cur.fblocks.push(block);
        let r = body(self);
        self.cur.fblocks.pop();
        r
    }

    /// Emit the code that leaves one block; `preserve_tos` keeps a return value on top.
    fn unwind_block(
        &mut self,
        block: &FBlock<'a>,
        preserve_tos: bool,
        is_break: bool,
    ) -> Result<(), SyntaxError> {
        match block {
            FBlock::WhileLoop { .. } => {}
            FBlock::ForLoop { .. } => {
                if preserve_tos {
                    self.emit(Op::Swap(2));
                }
                if preserve_tos || is_break {
                    self.emit(Op::Pop);
                }
            }
            FBlock::TryExcept => self.emit(Op::PopBlock),
            FBlock::FinallyTry { body } => {
                self.emit(Op::PopBlock);
                self.stmts(body)?;
            }
            FBlock::FinallyEnd => {
                self.emit(Op::PopBlock);
                if preserve_tos {
                    self.emit(Op::Swap(2));
                }
                self.emit(Op::Pop);
                if preserve_tos {
                    self.emit(Op::Swap(2));
                }
                self.emit(Op::PopExcept);
            }
            FBlock::With { is_async } => {
                self.emit(Op::PopBlock);
                if preserve_tos {
                    self.emit(Op::Swap(2));
                }
                self.call_exit_with_nones(*is_async);
                self.emit(Op::Pop);
            }
            FBlock::HandlerCleanup { name, span } => {
                if name.is_some() {
                    self.emit(Op::PopBlock);
                }
                self.emit(Op::PopBlock);
                if let Some(name) = name {
                    self.clear_name(name, *span)?;
                }
                if preserve_tos {
                    self.emit(Op::Swap(2));
                }
                self.emit(Op::PopExcept);
            }
        }
        Ok(())
    }

    /// Unwind blocks from the top until a loop (for break/continue) or all of them (for return).
    /// Returns the loop block reached, if any. Each block is popped while its exit code is emitted,
    /// so a `break` inside an inlined finally body does not run it again.
    fn unwind_until_loop(
        &mut self,
        for_return: bool,
        is_break: bool,
    ) -> Result<Option<FBlock<'a>>, SyntaxError> {
        let Some(top) = self.cur.fblocks.pop() else {
            return Ok(None);
        };
        let result =
            if !for_return && matches!(top, FBlock::WhileLoop { .. } | FBlock::ForLoop { .. }) {
                if is_break {
                    self.unwind_block(&top, false, true)?;
                }
                Ok(Some(top.clone()))
            } else {
                self.unwind_block(&top, for_return, is_break)?;
                self.unwind_until_loop(for_return, is_break)
            };
        self.cur.fblocks.push(top);
        result
    }

    pub(crate) fn compile_break(&mut self, span: Span) -> Result<(), SyntaxError> {
        match self.unwind_until_loop(false, true)? {
            Some(FBlock::WhileLoop { exit, .. } | FBlock::ForLoop { exit, .. }) => {
                self.emit(Op::Jump(exit));
                Ok(())
            }
            _ => Err(SyntaxError::syntax("'break' outside loop", span)),
        }
    }

    pub(crate) fn compile_continue(&mut self, span: Span) -> Result<(), SyntaxError> {
        match self.unwind_until_loop(false, false)? {
            Some(FBlock::WhileLoop { head, .. } | FBlock::ForLoop { head, .. }) => {
                // A `while` loop's head is behind; a `for` loop's test is ahead, at the bottom.
                let bound = self
                    .cur
                    .labels
                    .get(head.0 as usize)
                    .is_some_and(Option::is_some);
                self.emit(if bound {
                    Op::JumpBackward(head)
                } else {
                    Op::Jump(head)
                });
                Ok(())
            }
            _ => Err(SyntaxError::syntax("'continue' not properly in loop", span)),
        }
    }

    /// The value to return is on the stack.
    pub(crate) fn compile_return_unwind(&mut self) -> Result<(), SyntaxError> {
        self.unwind_until_loop(true, false)?;
        self.emit(Op::ReturnValue);
        Ok(())
    }

    /// `[.., exit] -> [.., exit(None, None, None)]`
    fn call_exit_with_nones(&mut self, is_async: bool) {
        for _ in 0..3 {
            self.emit_const(crate::bytecode::Constant::None);
        }
        self.emit(Op::Call(3));
        if is_async {
            self.emit_await();
        }
    }

    /// `name = None; del name` (end of `except E as name`).
    pub(crate) fn clear_name(&mut self, name: &str, span: Span) -> Result<(), SyntaxError> {
        self.emit_const(crate::bytecode::Constant::None);
        self.name_op(name, Ctx::Store, span)?;
        self.name_op(name, Ctx::Del, span)
    }

    /// Handler epilogue for an exception raised while `[.., prev_exc]` is on top: restore the
    /// previously handled exception and re-raise. Entered as `[.., prev_exc, exc]`.
    fn emit_pop_except_and_reraise(&mut self) {
        self.emit(Op::Swap(2));
        self.emit(Op::PopExcept);
        self.emit(Op::Reraise);
    }

    pub(crate) fn compile_try(&mut self, t: &'a Try, span: Span) -> Result<(), SyntaxError> {
        if t.finalbody.is_empty() {
            return self.compile_try_except(t, span);
        }
        let handler = self.new_label();
        let end = self.new_label();
        self.emit(Op::SetupExcept(handler));
        let finally = FBlock::FinallyTry { body: &t.finalbody };
        self.in_block(finally, span, |c| {
            if t.handlers.is_empty() {
                c.stmts(&t.body)
            } else {
                c.compile_try_except(t, span)
            }
        })?;
        self.emit(Op::PopBlock);
        self.stmts(&t.finalbody)?;
        self.emit(Op::Jump(end));

        // Exceptional path: [.., exc]
        self.bind(handler);
        let cleanup = self.new_label();
        self.emit(Op::SetupExcept(cleanup));
        self.emit(Op::PushExcInfo);
        self.in_block(FBlock::FinallyEnd, span, |c| c.stmts(&t.finalbody))?;
        self.emit(Op::Reraise);
        self.bind(cleanup);
        self.emit_pop_except_and_reraise();
        self.bind(end);
        Ok(())
    }

    fn compile_try_except(&mut self, t: &'a Try, span: Span) -> Result<(), SyntaxError> {
        let handler = self.new_label();
        let end = self.new_label();
        self.emit(Op::SetupExcept(handler));
        self.in_block(FBlock::TryExcept, span, |c| c.stmts(&t.body))?;
        self.emit(Op::PopBlock);
        self.stmts(&t.orelse)?;
        self.emit(Op::Jump(end));

        // [.., exc]
        self.bind(handler);
        let cleanup = self.new_label();
        self.emit(Op::SetupExcept(cleanup));
        self.emit(Op::PushExcInfo);
        if t.is_star {
            self.compile_star_handlers(&t.handlers, end)?;
        } else {
            for (i, h) in t.handlers.iter().enumerate() {
                if h.typ.is_none() && i + 1 != t.handlers.len() {
                    return Err(SyntaxError::syntax(
                        "default 'except:' must be last",
                        h.span,
                    ));
                }
                self.compile_handler(h, end)?;
            }
        }
        // No clause matched (or, for `except*`, something is left to raise): [.., prev_exc, exc]
        // -> re-raise through the cleanup handler.
        self.emit(Op::Reraise);
        self.bind(cleanup);
        self.emit_pop_except_and_reraise();
        self.bind(end);
        Ok(())
    }

    /// One `except` clause, entered with `[.., prev_exc, exc]` and the cleanup handler active.
    fn compile_handler(&mut self, h: &'a ExceptHandler, end: Label) -> Result<(), SyntaxError> {
        let old = self.set_line(h.span);
        let next = self.new_label();
        if let Some(typ) = &h.typ {
            self.expr(typ)?;
            self.emit(Op::CheckExcMatch);
            self.emit(Op::PopJumpIfFalse(next));
        }
        let name = h.name.as_ref();
        match name {
            // (`as __debug__`: CPython's error spans the whole handler.)
            Some(n) if n.name == "__debug__" => self.name_op(&n.name, Ctx::Store, h.span)?,
            Some(n) => self.name_op(&n.name, Ctx::Store, n.span)?,
            None => self.emit(Op::Pop),
        }
        // [.., prev_exc]
        let named_cleanup = self.new_label();
        if name.is_some() {
            self.emit(Op::SetupExcept(named_cleanup));
        }
        let cleanup = FBlock::HandlerCleanup {
            name: name.map(|n| n.name.as_str()),
            span: h.span,
        };
        self.in_block(cleanup, h.span, |c| c.stmts(&h.body))?;
        if name.is_some() {
            self.emit(Op::PopBlock);
        }
        self.emit(Op::PopBlock);
        self.emit(Op::PopExcept);
        if let Some(n) = name {
            self.clear_name(&n.name, n.span)?;
        }
        self.emit(Op::Jump(end));
        if let Some(n) = name {
            // An exception inside a named handler: [.., prev_exc, exc2]; unbind the name and let the
            // outer cleanup handler restore prev_exc.
            self.bind(named_cleanup);
            self.clear_name(&n.name, n.span)?;
            self.emit(Op::Reraise);
        }
        self.bind(next);
        self.restore_line(old);
        Ok(())
    }

    /// `with a as x, b as y: body` is `with a as x: with b as y: body`; `async with` awaits
    /// what `__aenter__` and `__aexit__` return.
    pub(crate) fn compile_with(
        &mut self,
        items: &'a [WithItem],
        body: &'a [Stmt],
        span: Span,
        is_async: bool,
    ) -> Result<(), SyntaxError> {
        let Some((item, rest)) = items.split_first() else {
            return self.stmts(body);
        };
        let handler = self.new_label();
        let end = self.new_label();
        self.expr(&item.context)?;
        if is_async {
            self.emit(Op::BeforeAsyncWith);
            self.emit_await();
        } else {
            self.emit(Op::BeforeWith);
        }
        match &item.target {
            Some(t) => self.store_target(t)?,
            None => self.emit(Op::Pop),
        }
        // [.., exit]
        self.emit(Op::SetupExcept(handler));
        self.in_block(FBlock::With { is_async }, span, |c| {
            if rest.is_empty() {
                c.stmts(body)
            } else {
                c.compile_with(rest, body, span, is_async)
            }
        })?;
        let old = self.set_line(span);
        self.emit(Op::PopBlock);
        self.call_exit_with_nones(is_async);
        self.emit(Op::Pop);
        self.emit(Op::Jump(end));

        // [.., exit, exc]
        self.bind(handler);
        let cleanup = self.new_label();
        let suppress = self.new_label();
        self.emit(Op::SetupExcept(cleanup));
        self.emit(Op::PushExcInfo);
        self.emit(Op::WithExceptStart);
        if is_async {
            self.emit_await();
        }
        self.emit(Op::PopJumpIfTrue(suppress));
        self.emit(Op::Reraise);
        // [.., exit, prev_exc, exc2]
        self.bind(cleanup);
        self.emit_pop_except_and_reraise();
        // [.., exit, prev_exc, exc]
        self.bind(suppress);
        self.emit(Op::PopBlock);
        self.emit(Op::Pop);
        self.emit(Op::PopExcept);
        self.emit(Op::Pop);
        self.bind(end);
        self.restore_line(old);
        Ok(())
    }
}
