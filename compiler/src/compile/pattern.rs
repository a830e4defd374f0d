//! Stage 3b (patterns): the `match` statement, compiled as CPython 3.11 compiles it (PEP 634).
//!
//! The subject stays on the stack while the cases are tried in order. Each case works on a copy:
//! its pattern consumes the copy and, at each test that can fail, jumps out with a known number
//! of values left above the subject (`Fail::on_top`). A chain of `Pop`s at the end of the case
//! (`Fail::pops`, one label per depth) removes them and lands on the next case. As in CPython, a
//! captured value is not stored at once: it is moved down the stack, below the values the
//! pattern is still working on, and the names are stored together once the whole pattern has
//! matched (before the guard). A failed case binds nothing; its pops drop the captured values
//! with the rest.
//! The structural tests (is it a sequence? a mapping? an instance with these attributes?) are the
//! `Op::Match` instructions, run by `vm/src/interp/pattern.rs`.

use std::collections::HashSet;

use crate::ast::{Const, Expr, ExprKind, Ident, MatchCase, Pattern, PatternKind, UnaryOp};
use crate::bytecode::{CmpOp, Constant, Label, Op};
use crate::{Span, SyntaxError};

use super::{Compiler, Ctx};

type CResult = Result<(), SyntaxError>;

/// Where a failing test of the current case jumps, and what it must clean up.
struct Fail {
    /// `pops[k]` pops k values, then falls through to `pops[k - 1]`; `pops[0]` is the case's end.
    pops: Vec<Label>,
    /// How many values the pattern code is working on right now (above the captured ones).
    on_top: usize,
    /// How many captured values wait, below those, to be stored (this case's or alternative's).
    caps: usize,
    /// May the pattern at hand match anything? False for an unguarded case that is not the last,
    /// and for an alternative of `|` that is not the last (CPython's unreachable-pattern errors).
    allow_irrefutable: bool,
    /// Names bound so far by this case's pattern (a name may be bound once), in the order of
    /// their values on the stack (the last on top), with where each is named.
    stores: Vec<(String, Span)>,
    /// The last (sub-)pattern compiled: CPython's position for "bind different names".
    last: Span,
}

impl Fail {
    fn new(on_top: usize, allow_irrefutable: bool, stores: Vec<(String, Span)>) -> Fail {
        Fail {
            pops: Vec::new(),
            on_top,
            caps: 0,
            allow_irrefutable,
            stores,
            last: Span::default(),
        }
    }
}

impl<'a> Compiler<'a> {
    /// `match subject:` with its cases.
    pub(crate) fn compile_match(&mut self, subject: &'a Expr, cases: &'a [MatchCase]) -> CResult {
        self.expr(subject)?;
        let end = self.new_label();
        for (i, case) in cases.iter().enumerate() {
            let last = i + 1 == cases.len();
            let old = self.set_line(case.pattern.span);
            let mut fail = Fail::new(1, last || case.guard.is_some(), Vec::new());
            self.emit(Op::Copy(1));
            self.pattern(&case.pattern, &mut fail)?;
            // Matched: bind the captured names (the last captured is on top).
            for (name, span) in fail.stores.iter().rev() {
                self.name_op(name, Ctx::Store, *span)?;
            }
            if let Some(guard) = &case.guard {
                let no = self.fail_label(&mut fail, 0);
                self.jump_if(guard, false, no)?;
            }
            self.emit(Op::Pop);
            self.restore_line(old);
            self.stmts(&case.body)?;
            self.emit(Op::Jump(end));
            self.emit_fail_pops(&fail);
        }
        self.emit(Op::Pop);
        self.bind(end);
        Ok(())
    }

    /// The label that pops `depth` values and ends the case, created on first use.
    fn fail_label(&mut self, fail: &mut Fail, depth: usize) -> Label {
        while fail.pops.len() <= depth {
            let l = self.new_label();
            fail.pops.push(l);
        }
        fail.pops[depth]
    }

    /// `[.., flag] -> [..]`, leaving the case if the flag is false.
    fn fail_if_false(&mut self, fail: &mut Fail) {
        fail.on_top -= 1;
        let l = self.fail_label(fail, fail.on_top + fail.caps);
        self.emit(Op::PopJumpIfFalse(l));
    }

    /// Move the top `k` values below the `n` values under them: `[.., w1..wn, c1..ck] ->
    /// [.., c1..ck, w1..wn]` (three reversals).
    fn sink(&mut self, k: usize, n: usize) {
        if k == 0 || n == 0 {
            return;
        }
        self.reverse(k);
        self.reverse(k + n);
        self.reverse(n);
    }

    fn reverse(&mut self, n: usize) {
        if n >= 2 {
            self.emit(Op::Reverse(n as u32));
        }
    }

    /// `[.., v] -> [.., v, len(v)]`, then leave the case unless `len(v) op n`.
    fn fail_unless_len(&mut self, fail: &mut Fail, op: CmpOp, n: usize) {
        self.emit(Op::GetLen);
        self.emit_const(Constant::Int(n as i64));
        self.emit(Op::Compare(op));
        fail.on_top += 1;
        self.fail_if_false(fail);
    }

    /// `[.., v] -> [.., v]`, leaving the case if `v is None` (a failed `MatchKeys`/`MatchClass`).
    fn fail_if_none(&mut self, fail: &mut Fail) {
        self.emit(Op::Copy(1));
        self.emit_const(Constant::None);
        self.emit(Op::Compare(CmpOp::IsNot));
        fail.on_top += 1;
        self.fail_if_false(fail);
    }

    /// The pops of a finished case (or `|` alternative), ending where the next one starts.
    fn emit_fail_pops(&mut self, fail: &Fail) {
        for (depth, &label) in fail.pops.iter().enumerate().rev() {
            self.bind(label);
            if depth > 0 {
                self.emit(Op::Pop);
            }
        }
    }

    /// Match the value on top of the stack against `p`, consuming it.
    fn pattern(&mut self, p: &'a Pattern, fail: &mut Fail) -> CResult {
        let old = self.set_line(p.span);
        fail.last = p.span;
        let r = self.pattern_inner(p, fail);
        self.restore_line(old);
        r
    }

    fn pattern_inner(&mut self, p: &'a Pattern, fail: &mut Fail) -> CResult {
        match &p.kind {
            PatternKind::Value(e) => {
                self.expr(e)?;
                self.emit(Op::Compare(CmpOp::Eq));
                self.fail_if_false(fail);
                Ok(())
            }
            PatternKind::Singleton(c) => {
                self.emit_const(singleton(c));
                self.emit(Op::Compare(CmpOp::Is));
                self.fail_if_false(fail);
                Ok(())
            }
            PatternKind::As {
                pattern: None,
                name,
            } => {
                if !fail.allow_irrefutable {
                    return Err(unreachable_after(name.as_ref(), p.span));
                }
                self.store_capture(name.as_ref(), fail)
            }
            PatternKind::As {
                pattern: Some(inner),
                name,
            } => {
                self.emit(Op::Copy(1));
                fail.on_top += 1;
                self.pattern(inner, fail)?;
                self.store_capture(name.as_ref(), fail)
            }
            PatternKind::Star(_) => Err(SyntaxError::syntax("can't use starred name here", p.span)),
            PatternKind::Sequence(items) => self.sequence_pattern(items, p.span, fail),
            PatternKind::Mapping {
                keys,
                patterns,
                rest,
            } => self.mapping_pattern(keys, patterns, rest.as_ref(), p.span, fail),
            PatternKind::Class {
                cls,
                patterns,
                kwd_attrs,
                kwd_patterns,
            } => self.class_pattern(cls, patterns, kwd_attrs, kwd_patterns, fail),
            PatternKind::Or(alts) => self.or_pattern(alts, fail),
        }
    }

    /// `[.., v] -> [..]`: `v` captured for the name, moved below the values the pattern is still
    /// working on, to be stored once the pattern matched (`_` and `*_` just drop it).
    fn store_capture(&mut self, name: Option<&'a Ident>, fail: &mut Fail) -> CResult {
        fail.on_top -= 1;
        let Some(name) = name else {
            self.emit(Op::Pop);
            return Ok(());
        };
        if fail.stores.iter().any(|(n, _)| *n == name.name) {
            return Err(SyntaxError::syntax(
                format!("multiple assignments to name '{}' in pattern", name.name),
                name.span,
            ));
        }
        fail.stores.push((name.name.clone(), name.span));
        self.sink(1, fail.on_top);
        fail.caps += 1;
        Ok(())
    }

    /// A sub-pattern of a sequence, mapping or class pattern, which may match anything.
    fn subpattern(&mut self, p: &'a Pattern, fail: &mut Fail) -> CResult {
        let outer = std::mem::replace(&mut fail.allow_irrefutable, true);
        let r = self.pattern(p, fail);
        fail.allow_irrefutable = outer;
        r
    }

    /// `[a, *rest, b]`: a sequence of the right length, then each item against its pattern.
    fn sequence_pattern(&mut self, items: &'a [Pattern], span: Span, fail: &mut Fail) -> CResult {
        let stars: Vec<usize> = (0..items.len())
            .filter(|&i| matches!(items[i].kind, PatternKind::Star(_)))
            .collect();
        if stars.len() > 1 {
            return Err(SyntaxError::syntax(
                "multiple starred names in sequence pattern",
                span,
            ));
        }
        self.emit(Op::MatchSequence);
        fail.on_top += 1;
        self.fail_if_false(fail);
        match stars.first() {
            Some(_) => self.fail_unless_len(fail, CmpOp::GtE, items.len() - 1),
            None => self.fail_unless_len(fail, CmpOp::Eq, items.len()),
        }
        if items.iter().all(is_wildcard) {
            fail.on_top -= 1;
            self.emit(Op::Pop);
            return Ok(());
        }
        match stars.first() {
            Some(&i) => match Op::unpack_ex(i, items.len() - i - 1) {
                Some(op) => self.emit(op),
                None => {
                    return Err(SyntaxError::syntax(
                        "too many expressions in star-unpacking sequence pattern",
                        span,
                    ))
                }
            },
            None => self.emit(Op::UnpackSequence(items.len() as u32)),
        }
        fail.on_top = fail.on_top - 1 + items.len();
        for item in items {
            match &item.kind {
                PatternKind::Star(name) => self.store_capture(name.as_ref(), fail)?,
                _ => self.subpattern(item, fail)?,
            }
        }
        Ok(())
    }

    /// `{k: p, **rest}`: a mapping holding every key, each value against its pattern.
    fn mapping_pattern(
        &mut self,
        keys: &'a [Expr],
        patterns: &'a [Pattern],
        rest: Option<&'a Ident>,
        span: Span,
        fail: &mut Fail,
    ) -> CResult {
        check_duplicate_keys(keys, span)?;
        self.emit(Op::MatchMapping);
        fail.on_top += 1;
        self.fail_if_false(fail);
        if keys.is_empty() && rest.is_none() {
            fail.on_top -= 1;
            self.emit(Op::Pop);
            return Ok(());
        }
        if !keys.is_empty() {
            self.fail_unless_len(fail, CmpOp::GtE, keys.len());
        }
        for k in keys {
            self.expr(k)?;
        }
        self.emit(Op::BuildTuple(keys.len() as u32));
        fail.on_top += 1;
        if !keys.is_empty() {
            self.emit(Op::MatchKeys);
            fail.on_top += 1;
            self.fail_if_none(fail);
            self.emit(Op::UnpackSequence(keys.len() as u32));
            fail.on_top = fail.on_top - 1 + keys.len();
            for p in patterns {
                self.subpattern(p, fail)?;
            }
        }
        // [.., subject, keys]
        match rest {
            Some(name) => {
                self.emit(Op::CopyDictWithoutKeys);
                self.store_capture(Some(name), fail)?;
            }
            None => {
                fail.on_top -= 1;
                self.emit(Op::Pop);
            }
        }
        fail.on_top -= 1;
        self.emit(Op::Pop);
        Ok(())
    }

    /// `Cls(p, attr=q)`: an instance of `Cls` whose attributes match.
    fn class_pattern(
        &mut self,
        cls: &'a Expr,
        patterns: &'a [Pattern],
        kwd_attrs: &'a [Ident],
        kwd_patterns: &'a [Pattern],
        fail: &mut Fail,
    ) -> CResult {
        self.expr(cls)?;
        let names = kwd_attrs
            .iter()
            .map(|a| Constant::Str(a.name.as_str().into()))
            .collect();
        self.emit_const(Constant::Tuple(names));
        // The count is 16 bits so that an `Op` stays 8 bytes (CPython's limit is `INT_MAX`).
        let Ok(npos) = u16::try_from(patterns.len()) else {
            return Err(SyntaxError::syntax(
                "too many sub-patterns in class pattern",
                cls.span,
            ));
        };
        self.emit(Op::MatchClass(npos));
        // The subject, class and names became one value: the attributes (or None).
        self.fail_if_none(fail);
        let all = patterns.iter().chain(kwd_patterns);
        let n = patterns.len() + kwd_patterns.len();
        if all.clone().all(is_wildcard) {
            fail.on_top -= 1;
            self.emit(Op::Pop);
            return Ok(());
        }
        self.emit(Op::UnpackSequence(n as u32));
        fail.on_top = fail.on_top - 1 + n;
        for p in all {
            self.subpattern(p, fail)?;
        }
        Ok(())
    }

    /// `p | q | r`: each alternative in turn on a copy of the value; all must bind the same names.
    /// An alternative that matched leaves its captured values on top, put in the first
    /// alternative's order; they then join the case's captured values below the working ones.
    fn or_pattern(&mut self, alts: &'a [Pattern], fail: &mut Fail) -> CResult {
        let matched = self.new_label();
        let outer = fail.stores.len();
        let mut first: Option<Vec<(String, Span)>> = None;
        for (i, alt) in alts.iter().enumerate() {
            let last = i + 1 == alts.len();
            let mut sub = Fail::new(1, last && fail.allow_irrefutable, fail.stores.clone());
            self.emit(Op::Copy(1));
            self.pattern(alt, &mut sub)?;
            let mut names: Vec<String> =
                sub.stores[outer..].iter().map(|(n, _)| n.clone()).collect();
            match &first {
                Some(order) => {
                    let wanted: Vec<String> = order.iter().map(|(n, _)| n.clone()).collect();
                    let same: HashSet<&String> = names.iter().collect();
                    if same != wanted.iter().collect() {
                        return Err(SyntaxError::syntax(
                            "alternative patterns bind different names",
                            sub.last,
                        ));
                    }
                    self.reorder(&mut names, &wanted);
                }
                None => first = Some(sub.stores[outer..].to_vec()),
            }
            // [.., v, c1..ck] -> [.., c1..ck, v], then drop the value this pattern consumed.
            self.sink(names.len(), 1);
            self.emit(Op::Pop);
            self.emit(Op::Jump(matched));
            self.emit_fail_pops(&sub);
        }
        // No alternative matched: the value is still there, counted in `on_top`.
        let l = self.fail_label(fail, fail.on_top + fail.caps);
        self.emit(Op::Jump(l));
        self.bind(matched);
        fail.on_top -= 1;
        // The alternative's captured values go below the values still worked on.
        let bound = first.unwrap_or_default();
        self.sink(bound.len(), fail.on_top);
        fail.caps += bound.len();
        fail.stores.extend(bound);
        Ok(())
    }

    /// Put the top `names.len()` values (the values of `names`, the last on top) in the order of
    /// `wanted` (the same names), by swaps.
    fn reorder(&mut self, names: &mut [String], wanted: &[String]) {
        let k = names.len();
        // Depth from the top (1 = top) of position i (0 = the lowest of the k).
        let depth = |i: usize| (k - i) as u32;
        for (pos, want) in wanted.iter().enumerate().take(k) {
            let Some(j) = names.iter().position(|n| n == want) else {
                continue;
            };
            if j == pos {
                continue;
            }
            let (a, b) = (depth(pos), depth(j));
            if a == 1 {
                self.emit(Op::Swap(b));
            } else if b == 1 {
                self.emit(Op::Swap(a));
            } else {
                self.emit(Op::Swap(a));
                self.emit(Op::Swap(b));
                self.emit(Op::Swap(a));
            }
            names.swap(pos, j);
        }
    }
}

fn is_wildcard(p: &Pattern) -> bool {
    matches!(
        p.kind,
        PatternKind::As {
            pattern: None,
            name: None
        } | PatternKind::Star(None)
    )
}

fn singleton(c: &Const) -> Constant {
    match c {
        Const::Bool(b) => Constant::Bool(*b),
        _ => Constant::None,
    }
}

/// CPython's error for an irrefutable pattern before other cases or alternatives.
fn unreachable_after(name: Option<&Ident>, span: Span) -> SyntaxError {
    let msg = match name {
        Some(n) => format!(
            "name capture '{}' makes remaining patterns unreachable",
            n.name
        ),
        None => "wildcard makes remaining patterns unreachable".to_string(),
    };
    SyntaxError::syntax(msg, span)
}

/// A literal key as CPython compares them for duplicates (`1`, `1.0` and `True` are one key),
/// with its repr for the message; None for dotted names, which are checked at run time.
fn literal_key(e: &Expr) -> Option<(String, String)> {
    let (c, neg) = match &e.kind {
        ExprKind::Const(c) => (c, false),
        ExprKind::UnaryOp {
            op: UnaryOp::Neg,
            operand,
        } => match &operand.kind {
            ExprKind::Const(c) => (c, true),
            _ => return None,
        },
        _ => return None,
    };
    let sign = if neg { "-" } else { "" };
    Some(match c {
        Const::None => ("None".into(), "None".into()),
        Const::Bool(b) => (
            format!("n{}", *b as i64),
            if *b { "True" } else { "False" }.into(),
        ),
        Const::Int(i) => (format!("n{sign}{i}"), format!("{sign}{i}")),
        Const::BigInt(s) => (format!("b{sign}{s}"), format!("{sign}{s}")),
        Const::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
            (format!("n{sign}{}", *f as i64), format!("{sign}{f:?}"))
        }
        Const::Float(f) => (format!("f{sign}{f:?}"), format!("{sign}{f:?}")),
        Const::Str(s) => (format!("s{s}"), str_repr(s)),
        Const::Bytes(b) => (format!("y{b:?}"), crate::dis::bytes_repr(b)),
        // An imaginary key is compared at run time, as a dotted name is.
        Const::Ellipsis | Const::Imag(_) => return None,
    })
}

fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::from(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

fn check_duplicate_keys(keys: &[Expr], span: Span) -> CResult {
    let mut seen = HashSet::new();
    for (key, repr) in keys.iter().filter_map(literal_key) {
        if !seen.insert(key) {
            return Err(SyntaxError::syntax(
                format!("mapping pattern checks duplicate key ({repr})"),
                span,
            ));
        }
    }
    Ok(())
}
