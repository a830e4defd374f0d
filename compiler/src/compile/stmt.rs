//! Stage 3b: statements — assignments, control flow, definitions, imports.

use crate::ast::*;
use crate::bytecode::{Constant, Label, MakeFunctionFlags, Op, Reg};
use crate::symtable::ScopeKind;
use crate::{Span, SyntaxError};

use super::unwind::FBlock;
use super::{Compiler, Ctx};

impl<'a> Compiler<'a> {
    pub(crate) fn stmts(&mut self, body: &'a [Stmt]) -> Result<(), SyntaxError> {
        body.iter().try_for_each(|s| self.stmt(s))
    }

    /// `eval()`'s code: the source must be one expression, whose value is returned.
    pub(crate) fn eval_expression(&mut self, body: &'a [Stmt]) -> Result<(), SyntaxError> {
        let [Stmt {
            kind: StmtKind::Expr(e),
            span,
        }] = body
        else {
            let at = body
                .get(1)
                .or(body.first())
                .map_or(Span::default(), |s| s.span);
            return Err(SyntaxError::syntax("invalid syntax", at));
        };
        self.set_line(*span);
        self.expr(e)?;
        self.emit(Op::ReturnValue);
        Ok(())
    }

    fn stmt(&mut self, s: &'a Stmt) -> Result<(), SyntaxError> {
        let old = self.set_line(s.span);
        let r = self.stmt_inner(s);
        self.restore_line(old);
        r
    }

    fn stmt_inner(&mut self, s: &'a Stmt) -> Result<(), SyntaxError> {
        match &s.kind {
            StmtKind::Expr(e) => {
                if self.mode.echoes() && self.cur.kind == ScopeKind::Module {
                    self.expr(e)?;
                    self.emit(Op::PrintExpr);
                } else if !matches!(e.kind, ExprKind::Const(_)) {
                    self.expr(e)?;
                    self.emit(Op::Pop);
                }
                Ok(())
            }
            StmtKind::Assign { targets, value } => {
                self.expr(value)?;
                for (i, t) in targets.iter().enumerate() {
                    if i + 1 < targets.len() {
                        self.emit(Op::Copy(1));
                    }
                    self.store_target(t)?;
                }
                Ok(())
            }
            StmtKind::AugAssign { target, op, value } => self.aug_assign(target, *op, value),
            StmtKind::AnnAssign {
                target,
                value,
                annotation,
            } => {
                self.ann_assign_target(target, value.as_ref())?;
                // CPython's compiler_annassign then refuses a `__debug__` target (a name or an
                // attribute), at the whole statement.
                if let ExprKind::Name(n)
                | ExprKind::Attribute {
                    attr: Ident { name: n, .. },
                    ..
                } = &target.kind
                {
                    if n == "__debug__" {
                        return Err(SyntaxError::syntax("cannot assign to __debug__", s.span));
                    }
                }
                self.store_annotation(target, annotation)
            }
            StmtKind::If { test, body, orelse } => {
                let end = self.new_label();
                if orelse.is_empty() {
                    self.jump_if(test, false, end)?;
                    self.stmts(body)?;
                } else {
                    let other = self.new_label();
                    self.jump_if(test, false, other)?;
                    self.stmts(body)?;
                    self.emit(Op::Jump(end));
                    self.bind(other);
                    self.stmts(orelse)?;
                }
                self.bind(end);
                Ok(())
            }
            StmtKind::While { test, body, orelse } => {
                let head = self.new_label();
                let exit = self.new_label();
                let orelse_label = self.new_label();
                self.bind(head);
                self.jump_if(test, false, orelse_label)?;
                self.in_block(FBlock::WhileLoop { head, exit }, s.span, |c| c.stmts(body))?;
                let old = self.set_line(s.span);
                self.emit(Op::JumpBackward(head));
                self.restore_line(old);
                self.bind(orelse_label);
                self.stmts(orelse)?;
                self.bind(exit);
                Ok(())
            }
            StmtKind::For {
                target,
                iter,
                body,
                orelse,
                is_async,
            } => {
                let exit = self.new_label();
                self.iterable(iter)?;
                if *is_async {
                    self.async_for_loop(s, target, body, exit)?;
                } else {
                    self.for_loop(s, target, body, exit, calls_range(iter))?;
                }
                self.stmts(orelse)?;
                self.bind(exit);
                Ok(())
            }
            StmtKind::Break => self.compile_break(s.span),
            StmtKind::Continue => self.compile_continue(s.span),
            StmtKind::Pass => {
                self.emit(Op::Nop);
                Ok(())
            }
            StmtKind::Return(value) => {
                if !matches!(self.cur.kind, ScopeKind::Function | ScopeKind::Lambda) {
                    return Err(SyntaxError::syntax("'return' outside function", s.span));
                }
                if value.is_some() && self.cur.flags.async_generator {
                    return Err(SyntaxError::syntax(
                        "'return' with value in async generator",
                        s.span,
                    ));
                }
                match value {
                    Some(v) => self.expr(v)?,
                    None => self.emit_const(Constant::None),
                }
                self.compile_return_unwind()
            }
            StmtKind::FunctionDef(def) => self.function_def(def, s.span),
            StmtKind::ClassDef(def) => self.class_def(def, s.span),
            StmtKind::Global(_) | StmtKind::Nonlocal(_) => Ok(()),
            // Under -O an assert is compiled to nothing (its names are still the scope's),
            // after the warning for an always-true test, which CPython issues first.
            StmtKind::Assert { test, .. } if crate::optimize() > 0 => {
                super::warn::check_assert(self.line_of(s.span), s.span, test);
                Ok(())
            }
            StmtKind::Assert { test, msg } => {
                super::warn::check_assert(self.line_of(s.span), s.span, test);
                let end = self.new_label();
                self.jump_if(test, true, end)?;
                // The raise points where CPython 3.11's points, which tracebacks underline:
                // at the last comparison the test's `and`/`or`/`not`/`if-else` reach, else at
                // the whole statement (shown without carets).
                let old = self.set_line(last_compare(test).unwrap_or(s.span));
                self.emit(Op::LoadAssertionError);
                if let Some(m) = msg {
                    self.expr(m)?;
                    self.emit(Op::Call(1));
                }
                self.emit(Op::Raise(1));
                self.restore_line(old);
                self.bind(end);
                Ok(())
            }
            StmtKind::Del(targets) => targets.iter().try_for_each(|t| self.delete(t)),
            StmtKind::Import(aliases) => {
                // Binding `__debug__` is an error at the whole statement, as CPython's.
                let at = |name: &str, span: Span| if name == "__debug__" { s.span } else { span };
                for a in aliases {
                    let n = self.add_name(&a.name);
                    self.emit(Op::ImportName(n));
                    match (&a.asname, a.name.split_once('.')) {
                        (Some(asname), _) => {
                            self.name_op(&asname.name, Ctx::Store, at(&asname.name, asname.span))?
                        }
                        (None, None) => self.name_op(&a.name, Ctx::Store, at(&a.name, a.span))?,
                        // `import a.b` imports `a.b` (and so `a`), then binds the top package
                        // `a`, which now has `b` as an attribute.
                        (None, Some((top, _))) => {
                            self.emit(Op::Pop);
                            let t = self.add_name(top);
                            self.emit(Op::ImportName(t));
                            self.name_op(top, Ctx::Store, a.span)?;
                        }
                    }
                }
                Ok(())
            }
            StmtKind::ImportFrom {
                module,
                names,
                level,
            } => {
                // A relative import's module is named with its leading dots (`..m`, or `.`
                // alone for `from . import x`); the VM resolves them against the importing
                // module's package (`interp/modules.rs`).
                let dots = ".".repeat(*level as usize);
                let module_name = match module {
                    Some(m) => format!("{dots}{}", m.name),
                    None => dots,
                };
                if let Some(star) = names.iter().find(|a| a.name == "*") {
                    // CPython refuses it in functions and class bodies alike.
                    if self.cur.kind != ScopeKind::Module {
                        return Err(SyntaxError::syntax(
                            "import * only allowed at module level",
                            star.span,
                        ));
                    }
                    // `from m import *`: `IMPORT_FROM *` binds the module's public names in the
                    // current namespace itself and pushes None.
                    let m = self.add_name(&module_name);
                    self.emit(Op::ImportName(m));
                    let star = self.add_name("*");
                    self.emit(Op::ImportFrom(star));
                    self.emit(Op::Pop);
                    self.emit(Op::Pop);
                    return Ok(());
                }
                let m = self.add_name(&module_name);
                self.emit(Op::ImportName(m));
                let at = |name: &str, span: Span| if name == "__debug__" { s.span } else { span };
                for a in names {
                    let n = self.add_name(&a.name);
                    self.emit(Op::ImportFrom(n));
                    match &a.asname {
                        Some(asname) => {
                            self.name_op(&asname.name, Ctx::Store, at(&asname.name, asname.span))?
                        }
                        None => self.name_op(&a.name, Ctx::Store, at(&a.name, a.span))?,
                    }
                }
                self.emit(Op::Pop);
                Ok(())
            }
            StmtKind::Raise { exc, cause } => match (exc, cause) {
                (None, None) => {
                    self.emit(Op::Raise(0));
                    Ok(())
                }
                (Some(e), None) => {
                    self.expr(e)?;
                    self.emit(Op::Raise(1));
                    Ok(())
                }
                (Some(e), Some(c)) => {
                    self.expr(e)?;
                    self.expr(c)?;
                    self.emit(Op::Raise(2));
                    Ok(())
                }
                (None, Some(c)) => Err(SyntaxError::syntax("invalid syntax", c.span)),
            },
            StmtKind::Try(t) => self.compile_try(t, s.span),
            StmtKind::With {
                items,
                body,
                is_async,
            } => self.compile_with(items, body, s.span, *is_async),
            StmtKind::Match { subject, cases } => self.compile_match(subject, cases),
        }
    }

    /// The loop of `for target in iter: body` (the iterable is on the stack), with its test at
    /// the bottom as Lua's `FORLOOP`: one `FOR_NEXT` per iteration advances the iterator and
    /// jumps back to the body, instead of a `FOR_ITER` at the top and a `JUMP_BACKWARD` at the
    /// bottom. A target that is one local slot is stored by the test itself (`FOR_NEXT_STORE`).
    /// `continue` jumps forward to the test; the loop falls through it when the iterator is done.
    ///
    /// When the iterable is a call of `range` and the target one local slot, the loop counts in
    /// hidden slots instead (`FOR_RANGE_PREP` / `FOR_RANGE`, as Lua's numeric `for`): no
    /// iterator object, no item going through the stack. Whether the call really made a range
    /// (`range` may be rebound) is seen at run time; anything else runs as an iterator.
    fn for_loop(
        &mut self,
        s: &'a Stmt,
        target: &'a Expr,
        body: &'a [Stmt],
        exit: Label,
        over_range: bool,
    ) -> Result<(), SyntaxError> {
        let test = self.new_label();
        let top = self.new_label();
        let prep = self.cur.code.len();
        self.emit(Op::GetIter);
        self.emit(Op::Jump(test));
        self.bind(top);
        let start = self.cur.code.len();
        self.store_target(target)?;
        let slot = match self.cur.code[start..] {
            [Op::StoreLocal(x)] => Reg::fit(x.0),
            _ => None,
        };
        if slot.is_some() {
            self.cur.code.truncate(start);
            self.cur.lines.truncate(start);
            self.cur.spans.truncate(start);
        }
        // Three hidden slots per nesting level of range loops, and a 16-bit jump back.
        let counter = match (slot, over_range) {
            (Some(_), true) => Reg::fit(self.cur.range_depth * 3).zip(Reg::fit(top.0)),
            _ => None,
        };
        if let Some((s, _)) = counter {
            self.cur.code[prep] = Op::ForRangePrep(s);
            self.cur.range_depth += 1;
            self.cur.hidden_slots = self.cur.hidden_slots.max(self.cur.range_depth * 3);
        }
        let compiled = self.in_block(FBlock::ForLoop { head: test, exit }, s.span, |c| {
            c.stmts(body)
        });
        if counter.is_some() {
            self.cur.range_depth -= 1;
        }
        compiled?;
        let old = self.set_line(s.span);
        self.bind(test);
        self.emit(match (slot, counter) {
            (Some(x), Some((s, l))) => Op::ForRange(x, s, l),
            (Some(x), None) => Op::ForNextStore(x, top),
            (None, _) => Op::ForNext(top),
        });
        self.restore_line(old);
        Ok(())
    }

    /// `async for`: the loop with an awaited `__anext__()` as its `ForIter`, tested at the top.
    fn async_for_loop(
        &mut self,
        s: &'a Stmt,
        target: &'a Expr,
        body: &'a [Stmt],
        exit: Label,
    ) -> Result<(), SyntaxError> {
        let head = self.new_label();
        let done = self.new_label();
        self.emit(Op::GetAIter);
        self.bind(head);
        self.async_for_next(done);
        self.store_target(target)?;
        self.in_block(FBlock::ForLoop { head, exit }, s.span, |c| c.stmts(body))?;
        let old = self.set_line(s.span);
        self.emit(Op::JumpBackward(head));
        self.bind(done);
        self.emit(Op::EndAsyncFor);
        self.restore_line(old);
        Ok(())
    }

    /// Store the value on top of the stack into target `t`; the stores point at `t` (what a
    /// traceback underlines when `o.x = v` or `a, b = v` fails).
    pub(crate) fn store_target(&mut self, t: &'a Expr) -> Result<(), SyntaxError> {
        let old = self.set_line(t.span);
        let r = self.store_target_inner(t);
        self.restore_line(old);
        r
    }

    fn store_target_inner(&mut self, t: &'a Expr) -> Result<(), SyntaxError> {
        match &t.kind {
            ExprKind::Name(n) => self.name_op(n, Ctx::Store, t.span),
            ExprKind::Attribute { value, attr } => {
                if attr.name == "__debug__" {
                    // `x.__debug__ = 1`: CPython's compiler refuses to store it, too.
                    return Err(SyntaxError::syntax("cannot assign to __debug__", t.span));
                }
                self.expr(value)?;
                let n = self.attr_name(&attr.name);
                self.emit(Op::StoreAttr(n));
                Ok(())
            }
            ExprKind::Subscript { value, index } => {
                self.expr(value)?;
                self.expr(index)?;
                self.emit(Op::StoreSubscr);
                Ok(())
            }
            ExprKind::Tuple(items) | ExprKind::List(items) => {
                let stars: Vec<usize> = items
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| matches!(e.kind, ExprKind::Starred(_)))
                    .map(|(i, _)| i)
                    .collect();
                match stars.as_slice() {
                    [] => self.emit(Op::UnpackSequence(items.len() as u32)),
                    [i] => match Op::unpack_ex(*i, items.len() - i - 1) {
                        Some(op) => self.emit(op),
                        None => {
                            return Err(SyntaxError::syntax(
                                "too many expressions in star-unpacking assignment",
                                t.span,
                            ))
                        }
                    },
                    _ => {
                        return Err(SyntaxError::syntax(
                            "multiple starred expressions in assignment",
                            t.span,
                        ))
                    }
                }
                for item in items {
                    match &item.kind {
                        ExprKind::Starred(inner) => self.store_target(inner)?,
                        _ => self.store_target(item)?,
                    }
                }
                Ok(())
            }
            ExprKind::Starred(_) => Err(SyntaxError::syntax(
                "starred assignment target must be in a list or tuple",
                t.span,
            )),
            _ => Err(SyntaxError::syntax(
                format!("cannot assign to {}", describe_expr(t)),
                t.span,
            )),
        }
    }

    /// `del t`: its instructions located at the target (a traceback's carets under `y` in
    /// `del x, y`), as CPython's.
    fn delete(&mut self, t: &'a Expr) -> Result<(), SyntaxError> {
        let old = self.set_line(t.span);
        let r = self.delete_target(t);
        self.restore_line(old);
        r
    }

    fn delete_target(&mut self, t: &'a Expr) -> Result<(), SyntaxError> {
        match &t.kind {
            ExprKind::Name(n) => self.name_op(n, Ctx::Del, t.span),
            ExprKind::Attribute { value, attr } => {
                self.expr(value)?;
                let n = self.attr_name(&attr.name);
                self.emit(Op::DeleteAttr(n));
                Ok(())
            }
            ExprKind::Subscript { value, index } => {
                self.expr(value)?;
                self.expr(index)?;
                self.emit(Op::DeleteSubscr);
                Ok(())
            }
            ExprKind::Tuple(items) | ExprKind::List(items) => {
                items.iter().try_for_each(|i| self.delete(i))
            }
            _ => Err(SyntaxError::syntax(
                format!("cannot delete {}", describe_expr(t)),
                t.span,
            )),
        }
    }

    fn aug_assign(
        &mut self,
        target: &'a Expr,
        op: BinOp,
        value: &'a Expr,
    ) -> Result<(), SyntaxError> {
        match &target.kind {
            ExprKind::Name(n) => {
                self.name_op(n, Ctx::Load, target.span)?;
                self.expr(value)?;
                self.emit(Op::InPlace(op));
                self.name_op(n, Ctx::Store, target.span)
            }
            ExprKind::Attribute { value: obj, attr } => {
                let n = self.attr_name(&attr.name);
                self.expr(obj)?;
                // Reading and writing the attribute point at the target, the operation at the
                // whole statement, as in CPython's tracebacks.
                let old = self.set_line(target.span);
                self.emit(Op::Copy(1));
                self.emit(Op::LoadAttr(n));
                self.restore_line(old);
                self.expr(value)?;
                self.emit(Op::InPlace(op));
                let old = self.set_line(target.span);
                self.emit(Op::Swap(2));
                self.emit(Op::StoreAttr(n));
                self.restore_line(old);
                Ok(())
            }
            ExprKind::Subscript { value: obj, index } => {
                self.expr(obj)?;
                self.expr(index)?;
                let old = self.set_line(target.span);
                self.emit(Op::Copy(2));
                self.emit(Op::Copy(2));
                self.emit(Op::Subscr);
                self.restore_line(old);
                self.expr(value)?;
                self.emit(Op::InPlace(op));
                let old = self.set_line(target.span);
                self.emit(Op::Swap(3));
                self.emit(Op::Swap(2));
                self.emit(Op::StoreSubscr);
                self.restore_line(old);
                Ok(())
            }
            _ => Err(SyntaxError::syntax(
                format!(
                    "'{}' is an illegal expression for augmented assignment",
                    describe_expr(target)
                ),
                target.span,
            )),
        }
    }

    /// Positional defaults tuple and keyword-only defaults dict, pushed before `MakeFunction`.
    pub(crate) fn push_defaults(
        &mut self,
        params: &'a Params,
    ) -> Result<MakeFunctionFlags, SyntaxError> {
        let mut flags = MakeFunctionFlags::default();
        let positional: Vec<&Expr> = params
            .posonly
            .iter()
            .chain(&params.args)
            .filter_map(|p| p.default.as_ref())
            .collect();
        if !positional.is_empty() {
            for d in &positional {
                self.expr(d)?;
            }
            self.emit(Op::BuildTuple(positional.len() as u32));
            flags.defaults = true;
        }
        let mut nkw = 0;
        for p in &params.kwonly {
            if let Some(d) = &p.default {
                self.emit_const(Constant::Str(p.name.name.as_str().into()));
                self.expr(d)?;
                nkw += 1;
            }
        }
        if nkw > 0 {
            self.emit(Op::BuildMap(nkw));
            flags.kwdefaults = true;
        }
        Ok(flags)
    }

    /// The assignment part of `target: annotation [= value]`.
    fn ann_assign_target(
        &mut self,
        target: &'a Expr,
        value: Option<&'a Expr>,
    ) -> Result<(), SyntaxError> {
        match value {
            Some(v) => {
                self.expr(v)?;
                self.store_target(target)
            }
            None => match &target.kind {
                ExprKind::Name(_) => Ok(()),
                ExprKind::Attribute { value, .. } => {
                    self.expr(value)?;
                    self.emit(Op::Pop);
                    Ok(())
                }
                ExprKind::Subscript { value, index } => {
                    self.expr(value)?;
                    self.emit(Op::Pop);
                    self.expr(index)?;
                    self.emit(Op::Pop);
                    Ok(())
                }
                _ => Err(SyntaxError::syntax(
                    "illegal target for annotation",
                    target.span,
                )),
            },
        }
    }

    /// The annotation part of `target: annotation [= value]`, as CPython 3.11 does it: evaluated
    /// (after the assignment) only in a module or class body, and stored in `__annotations__`
    /// when the target is a plain name. Local annotations in functions are never evaluated.
    fn store_annotation(
        &mut self,
        target: &'a Expr,
        annotation: &'a Expr,
    ) -> Result<(), SyntaxError> {
        if !matches!(self.cur.kind, ScopeKind::Module | ScopeKind::Class) {
            return Ok(());
        }
        self.annotation(annotation)?;
        match &target.kind {
            ExprKind::Name(name) => {
                self.name_op("__annotations__", Ctx::Load, target.span)?;
                self.emit_const(Constant::Str(name.as_str().into()));
                self.emit(Op::StoreSubscr);
            }
            _ => self.emit(Op::Pop),
        }
        Ok(())
    }

    /// `__annotations__ = {}` at the start of a module or class body that has annotated names.
    pub(crate) fn setup_annotations(
        &mut self,
        body: &[Stmt],
        span: Span,
    ) -> Result<(), SyntaxError> {
        if has_annotations(body) {
            self.emit(Op::BuildMap(0));
            self.name_op("__annotations__", Ctx::Store, span)?;
        }
        Ok(())
    }

    fn function_def(&mut self, def: &'a FunctionDef, span: Span) -> Result<(), SyntaxError> {
        Self::check_debug_params(&def.params, span)?;
        for d in &def.decorators {
            self.expr(d)?;
        }
        let flags = self.push_defaults(&def.params)?;
        let scope = self
            .st
            .scope_of(def)
            .ok_or_else(|| SyntaxError::syntax("internal error: function without a scope", span))?;
        self.enter_scope(scope, &def.name.name, span);
        // As CPython, a decorated function's code starts at its first decorator
        // (`co_firstlineno`, which `inspect.getsource` reads from).
        if let Some(first) = def.decorators.first() {
            self.cur.first_line = self.line_of(first.span);
        }
        self.set_params(&def.params);
        let r = self.stmts(&def.body);
        if r.is_ok() {
            self.implicit_return(Constant::None);
        }
        let code = self.leave_scope();
        r?;
        self.make_function(code?, flags, span)?;
        if let Some(doc) = docstring(&def.body) {
            // `f.__doc__ = "..."` on the new function (CPython keeps it in the code object).
            self.emit(Op::Copy(1));
            self.emit_const(Constant::Str(doc.into()));
            self.emit(Op::Swap(2));
            let n = self.add_name("__doc__");
            self.emit(Op::StoreAttr(n));
        }
        let annotations = crate::symtable::annotations(&def.params, def.returns.as_ref());
        if !annotations.is_empty() {
            // `f.__annotations__ = {name: annotation, ...}`, evaluated in the enclosing scope.
            self.emit(Op::Copy(1));
            for (name, a) in &annotations {
                self.emit_const(Constant::Str((*name).into()));
                self.annotation(a)?;
            }
            self.emit(Op::BuildMap(annotations.len() as u32));
            self.emit(Op::Swap(2));
            let n = self.add_name("__annotations__");
            self.emit(Op::StoreAttr(n));
        }
        self.apply_decorators(&def.decorators);
        // (`def __debug__`/`class __debug__`: CPython's error spans the statement.)
        let at = if def.name.name == "__debug__" {
            span
        } else {
            def.name.span
        };
        self.name_op(&def.name.name, Ctx::Store, at)
    }

    fn class_def(&mut self, def: &'a ClassDef, span: Span) -> Result<(), SyntaxError> {
        for d in &def.decorators {
            self.expr(d)?;
        }
        self.emit(Op::LoadBuildClass);
        let scope = self
            .st
            .scope_of(def)
            .ok_or_else(|| SyntaxError::syntax("internal error: class without a scope", span))?;
        self.enter_scope(scope, &def.name.name, span);
        if let Some(first) = def.decorators.first() {
            self.cur.first_line = self.line_of(first.span);
        }
        let qualname = self.cur.qualname.clone();
        self.emit_const(Constant::Str(qualname.as_str().into()));
        let n = self.add_name("__qualname__");
        self.emit(Op::StoreName(n));
        // A leading string literal is the class's docstring: `__doc__`, as CPython stores it.
        if let Some(doc) = docstring(&def.body) {
            self.emit_const(Constant::Str(doc.into()));
            let d = self.add_name("__doc__");
            self.emit(Op::StoreName(d));
        }
        self.setup_annotations(&def.body, span)?;
        let r = self.stmts(&def.body);
        if r.is_ok() {
            match self.cell_index("__class__") {
                Some(cell) if self.st.scope(scope).is_some_and(|s| s.needs_class_cell) => {
                    self.emit(Op::LoadClosure(cell));
                }
                _ => self.emit_const(Constant::None),
            }
            self.emit(Op::ReturnValue);
        }
        let code = self.leave_scope();
        r?;
        self.make_function(code?, MakeFunctionFlags::default(), span)?;
        self.emit_const(Constant::Str(def.name.name.as_str().into()));
        self.call_with_prefix(2, &def.bases, &def.keywords, span)?;
        self.apply_decorators(&def.decorators);
        // (`def __debug__`/`class __debug__`: CPython's error spans the statement.)
        let at = if def.name.name == "__debug__" {
            span
        } else {
            def.name.span
        };
        self.name_op(&def.name.name, Ctx::Store, at)
    }
}

impl<'a> Compiler<'a> {
    /// Call the decorators (already on the stack below the function or class), the last one
    /// first; each call is at its decorator's location, as in CPython 3.11, so an error in a
    /// decorator points at `@deco`, not at the `def` line.
    fn apply_decorators(&mut self, decorators: &[Expr]) {
        for d in decorators.iter().rev() {
            let old = self.set_line(d.span);
            self.emit(Op::Call(1));
            self.restore_line(old);
        }
    }
}

/// The docstring of a function or class body: a string literal as its first statement (none
/// under -OO, which leaves `__doc__` None).
pub(crate) fn docstring(body: &[Stmt]) -> Option<&str> {
    if crate::optimize() >= 2 {
        return None;
    }
    match body.first() {
        Some(Stmt {
            kind:
                StmtKind::Expr(Expr {
                    kind: ExprKind::Const(Const::Str(doc)),
                    ..
                }),
            ..
        }) => Some(doc.as_str()),
        _ => None,
    }
}

/// CPython's wording for an expression that cannot be assigned to or deleted.
pub(crate) fn describe_expr(e: &Expr) -> &'static str {
    match &e.kind {
        ExprKind::Call { .. } => "function call",
        ExprKind::Const(Const::None) => "None",
        ExprKind::Const(Const::Bool(true)) => "True",
        ExprKind::Const(Const::Bool(false)) => "False",
        ExprKind::Const(Const::Ellipsis) => "ellipsis",
        ExprKind::Const(_) => "literal",
        ExprKind::FString(_) => "f-string expression",
        ExprKind::BinOp { .. } | ExprKind::UnaryOp { .. } => "expression",
        ExprKind::BoolOp { .. } => "expression",
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
        ExprKind::Name(_) => "name",
        ExprKind::Attribute { .. } => "attribute",
        ExprKind::Subscript { .. } => "subscript",
        ExprKind::Slice { .. } => "slice",
    }
}

/// Does a module or class body annotate a name (directly or inside `if`/`for`/`while`/`with`/`try`
/// blocks, not inside nested functions or classes)? Then it gets an `__annotations__` dict.
fn has_annotations(body: &[Stmt]) -> bool {
    body.iter().any(|s| match &s.kind {
        StmtKind::AnnAssign { target, .. } => matches!(target.kind, ExprKind::Name(_)),
        StmtKind::If { body, orelse, .. }
        | StmtKind::While { body, orelse, .. }
        | StmtKind::For { body, orelse, .. } => has_annotations(body) || has_annotations(orelse),
        StmtKind::With { body, .. } => has_annotations(body),
        StmtKind::Try(t) => {
            has_annotations(&t.body)
                || t.handlers.iter().any(|h| has_annotations(&h.body))
                || has_annotations(&t.orelse)
                || has_annotations(&t.finalbody)
        }
        _ => false,
    })
}

/// Whether a `for` loop's iterable is a call of the name `range` (`for i in range(n)`): such a
/// loop is compiled to count in slots when the call returns a range at run time.
fn calls_range(iter: &Expr) -> bool {
    matches!(&iter.kind, ExprKind::Call { func, .. } if matches!(&func.kind, ExprKind::Name(n) if n == "range"))
}

/// The span of the last comparison CPython's conditional jump visits in an `assert` test
/// (through `not`, `and`/`or` and conditional expressions, in evaluation order): where its
/// compiler leaves the position of the raise. None when there is none.
fn last_compare(e: &Expr) -> Option<Span> {
    match &e.kind {
        ExprKind::Compare { .. } => Some(e.span),
        ExprKind::UnaryOp {
            op: UnaryOp::Not,
            operand,
        } => last_compare(operand),
        ExprKind::BoolOp { values, .. } => values.iter().rev().find_map(last_compare),
        ExprKind::IfExp { test, body, orelse } => [orelse, body, test]
            .into_iter()
            .find_map(|x| last_compare(x)),
        _ => None,
    }
}
