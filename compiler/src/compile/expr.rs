//! Stage 3b: expressions — operators, displays, calls, comprehensions, f-strings, lambdas, yields.

use std::collections::HashMap;
use std::sync::Arc;

use crate::ast::*;
use crate::bytecode::{Constant, FormatFlags, Op};
use crate::symtable::ScopeKind;
use crate::SyntaxError;

use super::{Compiler, Ctx};

/// The compile-time value of a literal, or of a tuple made only of literals.
fn const_value(e: &Expr) -> Option<Constant> {
    match &e.kind {
        ExprKind::Const(c) => Some(match c {
            Const::None => Constant::None,
            Const::Bool(b) => Constant::Bool(*b),
            Const::Int(i) => Constant::Int(*i),
            Const::BigInt(s) => Constant::BigInt(s.as_str().into()),
            Const::Float(f) => Constant::Float(*f),
            Const::Imag(f) => Constant::Imag(*f),
            Const::Str(s) => Constant::Str(s.as_str().into()),
            Const::Bytes(b) => Constant::Bytes(b.as_slice().into()),
            Const::Ellipsis => Constant::Ellipsis,
        }),
        ExprKind::UnaryOp {
            op: UnaryOp::Neg,
            operand,
        } => match &operand.kind {
            ExprKind::Const(Const::Int(i)) => i.checked_neg().map(Constant::Int),
            ExprKind::Const(Const::Float(f)) => Some(Constant::Float(-f)),
            _ => None,
        },
        ExprKind::Tuple(items) => items
            .iter()
            .map(const_value)
            .collect::<Option<Vec<_>>>()
            .map(Constant::Tuple),
        _ => None,
    }
}

/// What CPython 3.11's AST optimizer folds an item of a set display into, if it folds it into
/// a constant (a set display of constants is built from a frozenset constant, which decides the
/// order it iterates in). The cases covered: literals, tuples of constants, a unary operator on
/// a number (`-1`, `~2`, `+0.5`) or `not` on a constant, and `+ - *` of two small numbers or
/// `+` of two strings or bytes. Anything else is not taken for a constant, which at worst builds
/// the set item by item, as CPython does for what it cannot fold.
#[derive(Clone, Copy, PartialEq)]
enum Folded {
    /// An int that fits i64 (or a bool).
    Int,
    /// A number that is not a small int (a float, a complex, an int made by folding).
    Number,
    Text,
    Other,
}

fn folded(e: &Expr) -> Option<Folded> {
    use Folded::*;
    match &e.kind {
        ExprKind::Const(c) => Some(match c {
            Const::Int(_) | Const::Bool(_) => Int,
            Const::Float(_) | Const::Imag(_) => Number,
            Const::BigInt(_) => Other,
            Const::Str(_) | Const::Bytes(_) => Text,
            Const::None | Const::Ellipsis => Other,
        }),
        ExprKind::Tuple(items) => items.iter().all(|i| folded(i).is_some()).then_some(Other),
        ExprKind::UnaryOp { op, operand } => match (op, folded(operand)?) {
            (UnaryOp::Not, _) => Some(Int),
            (UnaryOp::Neg | UnaryOp::Pos | UnaryOp::Invert, Int) => Some(Number),
            (UnaryOp::Neg | UnaryOp::Pos, Number) => Some(Number),
            _ => None,
        },
        ExprKind::BinOp { op, left, right } => match (op, folded(left)?, folded(right)?) {
            (BinOp::Add | BinOp::Sub | BinOp::Mul, Int | Number, Int | Number) => Some(Number),
            (BinOp::Add, Text, Text) => Some(Text),
            _ => None,
        },
        _ => None,
    }
}

/// Whether every item of a set display folds into a constant ([`folded`]).
fn all_folded(items: &[Expr]) -> bool {
    items.iter().all(|i| folded(i).is_some())
}

/// Truthiness of a literal, for folding `while True:` and `if 0:` tests.
fn const_truth(e: &Expr) -> Option<bool> {
    match &e.kind {
        ExprKind::Const(c) => Some(match c {
            Const::None => false,
            Const::Bool(b) => *b,
            Const::Int(i) => *i != 0,
            Const::BigInt(_) => true,
            Const::Float(f) | Const::Imag(f) => *f != 0.0,
            Const::Str(s) => !s.is_empty(),
            Const::Bytes(b) => !b.is_empty(),
            Const::Ellipsis => true,
        }),
        _ => None,
    }
}

fn is_starred(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Starred(_))
}

impl<'a> Compiler<'a> {
    pub(crate) fn expr(&mut self, e: &'a Expr) -> Result<(), SyntaxError> {
        let old = self.set_line(e.span);
        let r = self.expr_inner(e);
        self.restore_line(old);
        r
    }

    fn expr_inner(&mut self, e: &'a Expr) -> Result<(), SyntaxError> {
        if let Some(c) = const_value(e) {
            self.emit_const(c);
            return Ok(());
        }
        match &e.kind {
            // `__debug__` is a constant, as CPython's compiler makes it: False under -O.
            ExprKind::Name(n) if n == "__debug__" => {
                self.emit_const(Constant::Bool(crate::optimize() == 0));
                Ok(())
            }
            ExprKind::Name(n) => self.name_op(n, Ctx::Load, e.span),
            ExprKind::Const(_) => Ok(()), // folded above
            ExprKind::FString(parts) => self.fstring(parts),
            ExprKind::Tuple(items) => self.sequence(items, Seq::Tuple),
            ExprKind::List(items) => self.sequence(items, Seq::List),
            ExprKind::Set(items) => self.sequence(items, Seq::Set),
            ExprKind::Dict(pairs) => self.dict(pairs),
            ExprKind::Starred(_) => Err(SyntaxError::syntax(
                "can't use starred expression here",
                e.span,
            )),
            ExprKind::BinOp { op, left, right } => {
                self.expr(left)?;
                self.expr(right)?;
                self.emit(Op::Binary(*op));
                Ok(())
            }
            ExprKind::UnaryOp { op, operand } => {
                self.expr(operand)?;
                self.emit(match op {
                    UnaryOp::Not => Op::UnaryNot,
                    UnaryOp::Neg => Op::UnaryNeg,
                    UnaryOp::Pos => Op::UnaryPos,
                    UnaryOp::Invert => Op::UnaryInvert,
                });
                Ok(())
            }
            ExprKind::BoolOp { op, values } => {
                let end = self.new_label();
                let Some((last, init)) = values.split_last() else {
                    return Err(SyntaxError::syntax("empty boolean operation", e.span));
                };
                for v in init {
                    self.expr(v)?;
                    self.emit(match op {
                        BoolOp::And => Op::JumpIfFalseOrPop(end),
                        BoolOp::Or => Op::JumpIfTrueOrPop(end),
                    });
                }
                self.expr(last)?;
                self.bind(end);
                Ok(())
            }
            ExprKind::Compare {
                left,
                ops,
                comparators,
            } => self.compare(e, left, ops, comparators),
            ExprKind::IfExp { test, body, orelse } => {
                let other = self.new_label();
                let end = self.new_label();
                self.jump_if(test, false, other)?;
                self.expr(body)?;
                self.emit(Op::Jump(end));
                self.bind(other);
                self.expr(orelse)?;
                self.bind(end);
                Ok(())
            }
            ExprKind::Call {
                func,
                args,
                keywords,
            } => {
                super::warn::check_caller(self.line_of(e.span), e.span, func);
                self.call(e, func, args, keywords)
            }
            ExprKind::Attribute { value, attr } => {
                self.expr(value)?;
                let n = self.attr_name(&attr.name);
                self.emit(Op::LoadAttr(n));
                Ok(())
            }
            ExprKind::Subscript { value, index } => {
                super::warn::check_subscript(self.line_of(e.span), e.span, value, index);
                self.expr(value)?;
                self.expr(index)?;
                self.emit(Op::Subscr);
                Ok(())
            }
            ExprKind::Slice { lower, upper, step } => {
                for part in [lower, upper] {
                    match part {
                        Some(p) => self.expr(p)?,
                        None => self.emit_const(Constant::None),
                    }
                }
                match step {
                    Some(s) => {
                        self.expr(s)?;
                        self.emit(Op::BuildSlice(3));
                    }
                    None => self.emit(Op::BuildSlice(2)),
                }
                Ok(())
            }
            ExprKind::Lambda { params, body } => self.lambda(e, params, body),
            ExprKind::ListComp { elt, generators } => {
                self.comprehension(e, generators, CompBody::List(elt))
            }
            ExprKind::SetComp { elt, generators } => {
                self.comprehension(e, generators, CompBody::Set(elt))
            }
            ExprKind::DictComp {
                key,
                value,
                generators,
            } => self.comprehension(e, generators, CompBody::Dict(key, value)),
            ExprKind::GeneratorExp { elt, generators } => {
                self.comprehension(e, generators, CompBody::Gen(elt))
            }
            ExprKind::Yield(v) => {
                self.check_in_function(e.span, "'yield' outside function")?;
                match v {
                    Some(v) => self.expr(v)?,
                    None => self.emit_const(Constant::None),
                }
                self.emit(Op::YieldValue);
                Ok(())
            }
            ExprKind::YieldFrom(v) => {
                self.check_in_function(e.span, "'yield' outside function")?;
                self.expr(v)?;
                self.emit(Op::GetYieldFromIter);
                self.emit_const(Constant::None);
                self.emit(Op::YieldFrom);
                Ok(())
            }
            ExprKind::Await(v) => {
                self.expr(v)?;
                self.emit_await();
                Ok(())
            }
            ExprKind::NamedExpr { target, value } => {
                self.expr(value)?;
                self.emit(Op::Copy(1));
                self.name_op(&target.name, Ctx::Store, target.span)
            }
        }
    }

    fn check_in_function(&self, span: Span, msg: &str) -> Result<(), SyntaxError> {
        match self.cur.kind {
            ScopeKind::Function | ScopeKind::Lambda => Ok(()),
            _ => Err(SyntaxError::syntax(msg, span)),
        }
    }

    /// Jump to `label` if `e` is truthy (`cond == true`) or falsy (`cond == false`); else fall through.
    pub(crate) fn jump_if(
        &mut self,
        e: &'a Expr,
        cond: bool,
        label: crate::bytecode::Label,
    ) -> Result<(), SyntaxError> {
        if let Some(t) = const_truth(e) {
            if t == cond {
                self.emit(Op::Jump(label));
            }
            return Ok(());
        }
        match &e.kind {
            ExprKind::UnaryOp {
                op: UnaryOp::Not,
                operand,
            } => self.jump_if(operand, !cond, label),
            ExprKind::BoolOp { op, values } => {
                let is_or = *op == BoolOp::Or;
                let Some((last, init)) = values.split_last() else {
                    return Err(SyntaxError::syntax("empty boolean operation", e.span));
                };
                if is_or == cond {
                    // `a or b` jumping when true / `a and b` jumping when false: any operand decides.
                    for v in init {
                        self.jump_if(v, cond, label)?;
                    }
                    self.jump_if(last, cond, label)
                } else {
                    let skip = self.new_label();
                    for v in init {
                        self.jump_if(v, !cond, skip)?;
                    }
                    self.jump_if(last, cond, label)?;
                    self.bind(skip);
                    Ok(())
                }
            }
            ExprKind::Compare {
                left,
                ops,
                comparators,
            } if ops.len() == comparators.len() && self.middles_are_locals(comparators) => {
                // `if lo <= x < hi:`: each comparison jumps by itself (`x` loaded again, see
                // `middles_are_locals`); all but the last leave the chain when false.
                super::warn::check_compare(self.line_of(e.span), e.span, left, ops, comparators);
                let old = self.set_line(e.span);
                let skip = cond.then(|| self.new_label());
                self.expr(left)?;
                self.local_chain(ops, comparators, Op::PopJumpIfFalse(skip.unwrap_or(label)))?;
                self.restore_line(old);
                self.emit(if cond {
                    Op::PopJumpIfTrue(label)
                } else {
                    Op::PopJumpIfFalse(label)
                });
                if let Some(skip) = skip {
                    self.bind(skip);
                }
                Ok(())
            }
            _ => {
                self.expr(e)?;
                self.emit(if cond {
                    Op::PopJumpIfTrue(label)
                } else {
                    Op::PopJumpIfFalse(label)
                });
                Ok(())
            }
        }
    }

    fn compare(
        &mut self,
        e: &'a Expr,
        left: &'a Expr,
        ops: &[CmpOp],
        comparators: &'a [Expr],
    ) -> Result<(), SyntaxError> {
        if ops.len() != comparators.len() || ops.is_empty() {
            return Err(SyntaxError::syntax("malformed comparison", e.span));
        }
        super::warn::check_compare(self.line_of(e.span), e.span, left, ops, comparators);
        self.expr(left)?;
        if let ([op], [right]) = (ops, comparators) {
            self.comparand(*op, right)?;
            self.emit(Op::Compare(*op));
            return Ok(());
        }
        if self.middles_are_locals(comparators) {
            // `lo <= x < hi`: `lo <= x`, then (if true) `x < hi` with `x` loaded again.
            let end = self.new_label();
            self.local_chain(ops, comparators, Op::JumpIfFalseOrPop(end))?;
            self.bind(end);
            return Ok(());
        }
        let cleanup = self.new_label();
        let end = self.new_label();
        let n = ops.len();
        for (i, (op, right)) in ops.iter().zip(comparators).enumerate() {
            self.comparand(*op, right)?;
            if i + 1 < n {
                self.emit(Op::Swap(2));
                self.emit(Op::Copy(2));
                self.emit(Op::Compare(*op));
                self.emit(Op::JumpIfFalseOrPop(cleanup));
            } else {
                self.emit(Op::Compare(*op));
            }
        }
        self.emit(Op::Jump(end));
        self.bind(cleanup);
        self.emit(Op::Swap(2));
        self.emit(Op::Pop);
        self.bind(end);
        Ok(())
    }

    /// Whether a chained comparison's operands between the first and the last are all plain
    /// locals (`lo <= x < hi`, `a < b < c` in a function). Loading such an operand again for the
    /// next comparison has no effect (the first load raised if it was unbound) and gives the same
    /// object, so the chain compiles as comparisons joined by jumps, which fuse
    /// (`CompareLocalConstJump`...), instead of keeping the operand on the stack with
    /// `Swap; Copy` and popping it at the end: 4 instructions instead of 9 for
    /// `if 65 <= c <= 90:` when true.
    fn middles_are_locals(&self, comparators: &[Expr]) -> bool {
        comparators.len() >= 2
            && comparators[..comparators.len() - 1]
                .iter()
                .all(|c| matches!(&c.kind, ExprKind::Name(n) if self.is_plain_local(n)))
    }

    /// The comparisons of a chain whose middle operands are plain locals, its first operand
    /// already on the stack: each but the last is followed by `leave` (the jump out of the chain
    /// when false), and each middle operand is loaded again for the comparison after it.
    fn local_chain(
        &mut self,
        ops: &[CmpOp],
        comparators: &'a [Expr],
        leave: Op,
    ) -> Result<(), SyntaxError> {
        let n = ops.len();
        for (i, (op, right)) in ops.iter().zip(comparators).enumerate() {
            if i > 0 {
                self.reload_local(&comparators[i - 1])?;
            }
            self.comparand(*op, right)?;
            self.emit(Op::Compare(*op));
            if i + 1 < n {
                self.emit(leave);
            }
        }
        Ok(())
    }

    /// Load a chain's middle operand (a plain local, [`Self::middles_are_locals`]) for its
    /// second comparison, at the comparison's location, where `Swap; Copy` were: line events
    /// and error lines are as before.
    fn reload_local(&mut self, e: &'a Expr) -> Result<(), SyntaxError> {
        match &e.kind {
            ExprKind::Name(n) => self.name_op(n, Ctx::Load, e.span),
            _ => Err(SyntaxError::syntax(
                "internal error: chained operand",
                e.span,
            )),
        }
    }

    /// The right operand of a comparison: a set display after `in`/`not in` is only searched,
    /// so it is built plainly, whatever its items (no [`Self::constant_set`]).
    fn comparand(&mut self, op: CmpOp, right: &'a Expr) -> Result<(), SyntaxError> {
        match (&right.kind, op) {
            (ExprKind::Set(items), CmpOp::In | CmpOp::NotIn) if !items.iter().any(is_starred) => {
                for i in items {
                    self.expr(i)?;
                }
                self.emit(Op::BuildSet(items.len() as u32));
                Ok(())
            }
            _ => self.expr(right),
        }
    }

    /// A set display of more than two constants (`{"red", "green", "blue"}`), built as
    /// CPython 3.11 builds it, so that it iterates in CPython's order when items collide in
    /// the table: its compiler folds the items into a frozenset constant, which it then makes
    /// again from the first one's order (`merge_consts_recursive`), and the code updates an
    /// empty set from that (`BUILD_SET 0; LOAD_CONST frozenset; SET_UPDATE 1`).
    fn constant_set(&mut self, items: &'a [Expr]) -> Result<(), SyntaxError> {
        self.emit(Op::BuildSet(0));
        self.folded_set(items)?;
        self.emit(Op::SetUpdate(1));
        Ok(())
    }

    /// CPython's frozenset constant of `items` (constants): made from them in order, then made
    /// again in the first one's order. Here: the items into a set, its order into a list, the
    /// list into a second set.
    fn folded_set(&mut self, items: &'a [Expr]) -> Result<(), SyntaxError> {
        self.emit(Op::BuildSet(0));
        self.emit(Op::BuildList(0));
        for i in items {
            self.expr(i)?;
        }
        self.emit(Op::BuildSet(items.len() as u32));
        self.emit(Op::ListExtend(1));
        self.emit(Op::SetUpdate(1));
        Ok(())
    }

    /// The iterable of a `for` or a comprehension: a set display of constants is CPython's
    /// frozenset constant itself (its AST optimizer's `fold_iter`), iterated in that order.
    pub(crate) fn iterable(&mut self, e: &'a Expr) -> Result<(), SyntaxError> {
        match &e.kind {
            ExprKind::Set(items) if !items.is_empty() && all_folded(items) => {
                self.folded_set(items)
            }
            _ => self.expr(e),
        }
    }

    fn sequence(&mut self, items: &'a [Expr], kind: Seq) -> Result<(), SyntaxError> {
        let build = |n: u32| match kind {
            Seq::Tuple => Op::BuildTuple(n),
            Seq::List => Op::BuildList(n),
            Seq::Set => Op::BuildSet(n),
        };
        if kind == Seq::Set && items.len() > 2 && all_folded(items) {
            return self.constant_set(items);
        }
        if !items.iter().any(is_starred) {
            for i in items {
                self.expr(i)?;
            }
            self.emit(build(items.len() as u32));
            return Ok(());
        }
        // With `*x` items: build a list (or set) incrementally.
        let lead = items.iter().take_while(|i| !is_starred(i)).count();
        for i in &items[..lead] {
            self.expr(i)?;
        }
        self.emit(match kind {
            Seq::Set => Op::BuildSet(lead as u32),
            _ => Op::BuildList(lead as u32),
        });
        for i in &items[lead..] {
            match &i.kind {
                ExprKind::Starred(inner) => {
                    self.expr(inner)?;
                    self.emit(match kind {
                        Seq::Set => Op::SetUpdate(1),
                        _ => Op::ListExtend(1),
                    });
                }
                _ => {
                    self.expr(i)?;
                    self.emit(match kind {
                        Seq::Set => Op::SetAdd(1),
                        _ => Op::ListAppend(1),
                    });
                }
            }
        }
        if kind == Seq::Tuple {
            self.emit(Op::ListToTuple);
        }
        Ok(())
    }

    fn dict(&mut self, pairs: &'a [(Option<Expr>, Expr)]) -> Result<(), SyntaxError> {
        let mut pending = 0u32;
        let mut built = false;
        for (k, v) in pairs {
            match k {
                Some(k) => {
                    self.expr(k)?;
                    self.expr(v)?;
                    pending += 1;
                }
                None => {
                    if pending > 0 || !built {
                        self.emit(Op::BuildMap(pending));
                        if built {
                            self.emit(Op::DictUpdate(1));
                        }
                        built = true;
                        pending = 0;
                    }
                    self.expr(v)?;
                    self.emit(Op::DictUpdate(1));
                }
            }
        }
        if pending > 0 || !built {
            self.emit(Op::BuildMap(pending));
            if built {
                self.emit(Op::DictUpdate(1));
            }
        }
        Ok(())
    }

    fn call(
        &mut self,
        e: &'a Expr,
        func: &'a Expr,
        args: &'a [Expr],
        keywords: &'a [Keyword],
    ) -> Result<(), SyntaxError> {
        check_keywords(keywords, e.span)?;
        let simple = !args.iter().any(is_starred) && keywords.iter().all(|k| k.name.is_some());
        if let (true, ExprKind::Attribute { value, attr }) = (simple, &func.kind) {
            self.expr(value)?;
            let n = self.attr_name(&attr.name);
            let old = self.set_line(e.span);
            // `obj.m()`: nothing runs between the look-up and the call, so the one instruction
            // doing both keeps CPython's order.
            if args.is_empty() && keywords.is_empty() {
                self.emit(Op::CallMethod(n));
                self.restore_line(old);
                return Ok(());
            }
            // Otherwise `m` is looked up first, then the arguments run (CPython's order: a
            // property or `__getattr__` that prints, or a missing method, shows before them).
            self.emit(Op::LoadMethod(n));
            self.restore_line(old);
            for a in args {
                self.expr(a)?;
            }
            let total = (args.len() + keywords.len()) as u32;
            let old = self.set_line(e.span);
            if keywords.is_empty() {
                self.emit(Op::CallLoaded(total));
            } else {
                self.keyword_values(keywords)?;
                self.emit(Op::CallLoadedKw(total));
            }
            self.restore_line(old);
            return Ok(());
        }
        self.expr(func)?;
        self.call_with_prefix(0, args, keywords, e.span)
    }

    /// Push keyword argument values and the tuple constant of their names.
    fn keyword_values(&mut self, keywords: &'a [Keyword]) -> Result<(), SyntaxError> {
        let mut names = Vec::new();
        for k in keywords {
            self.expr(&k.value)?;
            if let Some(n) = &k.name {
                names.push(Constant::Str(n.name.as_str().into()));
            }
        }
        self.emit_const(Constant::Tuple(names));
        Ok(())
    }

    /// The callee and `prefix` positional arguments are already on the stack; push the rest and call.
    pub(crate) fn call_with_prefix(
        &mut self,
        prefix: u32,
        args: &'a [Expr],
        keywords: &'a [Keyword],
        span: Span,
    ) -> Result<(), SyntaxError> {
        check_keywords(keywords, span)?;
        let simple = !args.iter().any(is_starred) && keywords.iter().all(|k| k.name.is_some());
        if simple {
            for a in args {
                self.expr(a)?;
            }
            let total = prefix + (args.len() + keywords.len()) as u32;
            if keywords.is_empty() {
                self.emit(Op::Call(total));
            } else {
                self.keyword_values(keywords)?;
                self.emit(Op::CallKw(total));
            }
            return Ok(());
        }
        // General form: positional tuple (and keyword dict), then CallEx.
        let lead = args.iter().take_while(|a| !is_starred(a)).count();
        for a in &args[..lead] {
            self.expr(a)?;
        }
        self.emit(Op::BuildList(prefix + lead as u32));
        for a in &args[lead..] {
            match &a.kind {
                ExprKind::Starred(inner) => {
                    self.expr(inner)?;
                    self.emit(Op::ListExtend(1));
                }
                _ => {
                    self.expr(a)?;
                    self.emit(Op::ListAppend(1));
                }
            }
        }
        self.emit(Op::ListToTuple);
        if keywords.is_empty() {
            self.emit(Op::CallEx(false));
            return Ok(());
        }
        self.emit(Op::BuildMap(0));
        let mut pending = 0u32;
        for k in keywords {
            match &k.name {
                Some(n) => {
                    self.emit_const(Constant::Str(n.name.as_str().into()));
                    self.expr(&k.value)?;
                    pending += 1;
                }
                None => {
                    if pending > 0 {
                        self.emit(Op::BuildMap(pending));
                        self.emit(Op::DictMerge(1));
                        pending = 0;
                    }
                    self.expr(&k.value)?;
                    self.emit(Op::DictMerge(1));
                }
            }
        }
        if pending > 0 {
            self.emit(Op::BuildMap(pending));
            self.emit(Op::DictMerge(1));
        }
        let old = self.set_line(span);
        self.emit(Op::CallEx(true));
        self.restore_line(old);
        Ok(())
    }

    fn lambda(
        &mut self,
        e: &'a Expr,
        params: &'a Params,
        body: &'a Expr,
    ) -> Result<(), SyntaxError> {
        Self::check_debug_params(params, e.span)?;
        let flags = self.push_defaults(params)?;
        let scope = self
            .st
            .scope_of(e)
            .ok_or_else(|| SyntaxError::syntax("internal error: lambda without a scope", e.span))?;
        self.enter_scope(scope, "<lambda>", e.span);
        self.set_params(params);
        let r = self.expr(body);
        if r.is_ok() {
            self.emit(Op::ReturnValue);
        }
        let code = self.leave_scope();
        r?;
        self.make_function(code?, flags, e.span)
    }

    fn comprehension(
        &mut self,
        e: &'a Expr,
        generators: &'a [Comprehension],
        body: CompBody<'a>,
    ) -> Result<(), SyntaxError> {
        let Some(first) = generators.first() else {
            return Err(SyntaxError::syntax("comprehension without 'for'", e.span));
        };
        let scope = self.st.scope_of(e).ok_or_else(|| {
            SyntaxError::syntax("internal error: comprehension without a scope", e.span)
        })?;
        let name = match body {
            CompBody::List(_) => "<listcomp>",
            CompBody::Set(_) => "<setcomp>",
            CompBody::Dict(..) => "<dictcomp>",
            CompBody::Gen(_) => "<genexpr>",
        };
        self.enter_scope(scope, name, e.span);
        // What has no node of its own in the body (the loops' `FOR_ITER`, the appends, the
        // yields) is located at the whole comprehension, as in CPython: an error raised by the
        // iterator underlines the comprehension in its frame's traceback entry.
        self.set_line(e.span);
        self.cur.argcount = 1;
        let r = self.comprehension_body(generators, body);
        let code = self.leave_scope();
        r?;
        let awaits = self.st.scope(scope).is_some_and(|s| s.coroutine);
        let code = code?;
        // The cells of its closure, then its iterator, then the call of its code, with no
        // function object made (`CALL_COMPREHENSION`); past 65,535 free variables, a function
        // called as any other.
        let call = match u16::try_from(code.freevars.len()) {
            Ok(n) => {
                self.push_closure_cells(&code, e.span)?;
                Op::CallComprehension(self.add_const(Constant::Code(Arc::new(code))), n)
            }
            Err(_) => {
                self.make_function(code, Default::default(), e.span)?;
                Op::Call(1)
            }
        };
        self.iterable(&first.iter)?;
        self.emit(if first.is_async {
            Op::GetAIter
        } else {
            Op::GetIter
        });
        self.emit(call);
        if awaits && !matches!(body, CompBody::Gen(_)) {
            // An async comprehension is a coroutine function, called and awaited at once (an
            // async generator expression is an async generator function, only called).
            self.emit_await();
        }
        Ok(())
    }

    fn comprehension_body(
        &mut self,
        generators: &'a [Comprehension],
        body: CompBody<'a>,
    ) -> Result<(), SyntaxError> {
        match body {
            CompBody::List(_) => self.emit(Op::BuildList(0)),
            CompBody::Set(_) => self.emit(Op::BuildSet(0)),
            CompBody::Dict(..) => self.emit(Op::BuildMap(0)),
            CompBody::Gen(_) => {}
        }
        self.comp_generator(generators, 0, body)?;
        if let CompBody::Gen(_) = body {
            self.emit_const(Constant::None);
        }
        self.emit(Op::ReturnValue);
        Ok(())
    }

    /// One `for ... in ... if ...` level; `depth` counts the iterators already on the stack.
    fn comp_generator(
        &mut self,
        generators: &'a [Comprehension],
        depth: u32,
        body: CompBody<'a>,
    ) -> Result<(), SyntaxError> {
        let Some((gen, rest)) = generators.split_first() else {
            return Ok(());
        };
        if depth == 0 {
            self.emit(Op::LoadLocal(crate::bytecode::Local(0)));
        } else {
            self.iterable(&gen.iter)?;
            self.emit(if gen.is_async {
                Op::GetAIter
            } else {
                Op::GetIter
            });
        }
        let head = self.new_label();
        let next = self.new_label();
        let done = self.new_label();
        // A plain `for` level is tested at the bottom, as a `for` statement (stmt.rs:
        // `for_loop`): `JUMP_FORWARD` to one `FOR_NEXT_STORE`/`FOR_NEXT` per item, at the line
        // its `FOR_ITER` would have had.
        let bottom = !gen.is_async;
        let loop_loc = self.cur.loc;
        if bottom {
            self.emit(Op::Jump(next));
        }
        self.bind(head);
        if gen.is_async {
            self.async_for_next(done);
        } else if !bottom {
            self.emit(Op::ForIter(done));
        }
        let start = self.cur.code.len();
        self.store_target(&gen.target)?;
        let slot = match self.cur.code[start..] {
            [Op::StoreLocal(x)] if bottom => crate::bytecode::Reg::fit(x.0),
            _ => None,
        };
        if slot.is_some() {
            self.cur.code.truncate(start);
            self.cur.lines.truncate(start);
            self.cur.spans.truncate(start);
        }
        for cond in &gen.ifs {
            self.jump_if(cond, false, next)?;
        }
        if rest.is_empty() {
            let below = depth + 1;
            match body {
                CompBody::List(elt) => {
                    self.expr(elt)?;
                    self.emit(Op::ListAppend(below + 1));
                }
                CompBody::Set(elt) => {
                    self.expr(elt)?;
                    self.emit(Op::SetAdd(below + 1));
                }
                CompBody::Dict(k, v) => {
                    self.expr(k)?;
                    self.expr(v)?;
                    self.emit(Op::MapAdd(below + 1));
                }
                CompBody::Gen(elt) => {
                    self.expr(elt)?;
                    self.emit(Op::YieldValue);
                    self.emit(Op::Pop);
                }
            }
        } else {
            self.comp_generator(rest, depth + 1, body)?;
        }
        self.bind(next);
        if bottom {
            let old = self.cur.loc;
            self.cur.loc = loop_loc;
            self.emit(match slot {
                Some(x) => Op::ForNextStore(x, head),
                None => Op::ForNext(head),
            });
            self.cur.loc = old;
        } else {
            self.emit(Op::JumpBackward(head));
        }
        self.bind(done);
        if gen.is_async {
            self.emit(Op::EndAsyncFor);
        }
        Ok(())
    }

    fn fstring(&mut self, parts: &'a [FStringPart]) -> Result<(), SyntaxError> {
        let mut count = 0u32;
        for segment in fstring_segments(parts) {
            match segment {
                FStringSegment::Text(text) => self.emit_const(Constant::Str(text.into())),
                FStringSegment::Field {
                    expr,
                    conversion,
                    spec,
                } => {
                    self.expr(expr)?;
                    if let Some(c) = conversion {
                        if !matches!(c, 's' | 'r' | 'a') {
                            return Err(SyntaxError::syntax(
                                format!("f-string: invalid conversion character '{c}': expected 's', 'r', or 'a'"),
                                expr.span,
                            ));
                        }
                    }
                    if let Some(spec) = spec {
                        self.fstring(spec)?;
                    }
                    self.emit(Op::FormatValue(FormatFlags {
                        // Checked above: an ASCII letter.
                        conversion: conversion.map(|c| c as u8),
                        has_spec: spec.is_some(),
                    }));
                }
            }
            count += 1;
        }
        if count == 0 {
            self.emit_const(Constant::Str(String::new().into()));
            count = 1;
        }
        if count > 1 {
            self.emit(Op::BuildString(count));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seq {
    Tuple,
    List,
    Set,
}

#[derive(Clone, Copy)]
enum CompBody<'a> {
    List(&'a Expr),
    Set(&'a Expr),
    Dict(&'a Expr, &'a Expr),
    Gen(&'a Expr),
}

/// CPython's `validate_keywords`, in its order: for each keyword, `__debug__` cannot be one (the
/// whole call, `span`, is the location), then a later keyword of the same name is repeated.
fn check_keywords(keywords: &[Keyword], span: Span) -> Result<(), SyntaxError> {
    let mut at: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, k) in keywords.iter().enumerate() {
        if let Some(n) = &k.name {
            at.entry(n.name.as_str()).or_default().push(i);
        }
    }
    for (i, k) in keywords.iter().enumerate() {
        let Some(n) = &k.name else { continue };
        if n.name == "__debug__" {
            return Err(SyntaxError::syntax("cannot assign to __debug__", span));
        }
        let later = at
            .get(n.name.as_str())
            .and_then(|v| v.iter().find(|&&j| j > i));
        if let Some(other) = later.and_then(|&j| keywords.get(j)) {
            return Err(SyntaxError::syntax(
                format!("keyword argument repeated: {}", n.name),
                other.span,
            ));
        }
    }
    Ok(())
}
