//! Stage 3b (finishing a code object): fuse common instruction sequences into superinstructions
//! (`LoadLocal; LoadLocal` -> `LoadLocalPair`, `LoadLocal; LoadAttr` -> `LoadAttrLocal`,
//! `Compare; PopJumpIfFalse` -> `CompareJumpIfFalse`, ...), as CPython 3.11 does with
//! `LOAD_FAST__LOAD_FAST`, and into register instructions that read their operands from local
//! slots and constants (`LoadLocal n; LoadLocal i; Binary %` -> `BinaryLocals(%, n, i)`,
//! `LoadLocal i; LoadConst 1; InPlace +; StoreLocal i` -> `InPlaceLocalConst(+, i, 1)`,
//! `LoadLocal a; LoadLocal b; Binary -; StoreLocal d` -> `BinaryLocalsStore(-, a, b, d)`), as
//! Lua's `ADD`/`ADDK`/`LT` do. The fusion happens here, at compile time, so that the code `dis` lists is
//! the code that runs: `--trace` shows and `--stats` counts every fused instruction as one
//! instruction, with no hidden peeking at the next opcode.
//!
//! Two instructions fuse only when the second is not a jump target (nothing may jump into the
//! middle of a superinstruction) and both come from the same source line (so an error in
//! either is reported at the same line as before).

use std::collections::{HashMap, HashSet};

use crate::bytecode::{Label, Op, Reg};

/// Move the hidden slots of `for` loops over ranges (numbered from 0 by the code generator)
/// after the `nvars` named locals, and return how many the code needs. If a slot number would
/// not fit a 16-bit operand, those loops fall back to `GetIter` / `ForNextStore` and need none.
pub(crate) fn place_hidden_slots(code: &mut [Op], nvars: usize, hidden: u32) -> u32 {
    let fits = u16::try_from(nvars + hidden as usize).is_ok();
    let place = |s: Reg| Reg(s.0 + nvars as u16);
    for op in code.iter_mut() {
        *op = match *op {
            Op::ForRangePrep(s) if fits => Op::ForRangePrep(place(s)),
            Op::ForRange(x, s, l) if fits => Op::ForRange(x, place(s), l),
            Op::ForRangePrep(_) => Op::GetIter,
            Op::ForRange(x, _, l) => Op::ForNextStore(x, Label(l.0.into())),
            other => other,
        };
    }
    if fits {
        hidden
    } else {
        0
    }
}

/// Rewrite `code` (labels still unresolved: jump operands are label ids) with superinstructions;
/// `lines` and `spans` shrink with it and `labels` (label id -> instruction index) is moved to the
/// new indices.
pub(crate) fn fuse(
    code: &mut Vec<Op>,
    lines: &mut Vec<u32>,
    spans: &mut Vec<(u32, u32)>,
    labels: &mut Vec<Option<u32>>,
) {
    // A forward jump to a `ReturnValue` is that return (`return a if c else b`): the stack is
    // the same at a jump and its target, and nothing runs between them. Done first, so that a
    // return no longer jumped to can join what computes its value (`ReturnAttrLocal`).
    for k in 0..code.len() {
        if let Op::Jump(l) = code[k] {
            let target = labels.get(l.0 as usize).copied().flatten();
            if let Some(Op::ReturnValue) = target.and_then(|t| code.get(t as usize)) {
                code[k] = Op::ReturnValue;
            }
        }
    }
    // Where instructions jump to (labels are ids here). A label left on a return that nothing
    // jumps to any more is not a target.
    let jumped: HashSet<u32> = code.iter().filter_map(Op::jump).collect();
    let targets: HashSet<u32> = labels
        .iter()
        .enumerate()
        .filter_map(|(id, pos)| {
            let pos = (*pos)?;
            let unused_return = matches!(code.get(pos as usize), Some(Op::ReturnValue))
                && !jumped.contains(&(id as u32));
            (!unused_return).then_some(pos)
        })
        .collect();
    // A register instruction's jump operand is 16 bits: first the label id, then its position.
    let short_jumps = code.len() <= u16::MAX as usize && labels.len() <= u16::MAX as usize;
    let mut out = Vec::with_capacity(code.len());
    let mut out_lines = Vec::with_capacity(code.len());
    let mut out_spans = Vec::with_capacity(code.len());
    // Old instruction index -> new index (a fused-away instruction is never a target).
    let mut new_index = vec![0u32; code.len() + 1];
    // Whether instruction i + k may join instruction i: not jumped to, on i's line.
    let may_join = |i: usize, k: usize| {
        i + k < code.len()
            && !targets.contains(&((i + k) as u32))
            && lines.get(i + k) == lines.get(i)
    };
    // Fusions decided before the walk (both halves of `x[k] op= v`), by first instruction; the
    // walk fuses nothing into them, as if they were jump targets.
    let (planned, guards) =
        subscr_local_const_updates(code, &targets, &may_join, labels, short_jumps);
    let mut i = 0;
    while i < code.len() {
        // How many of the next instructions (after the first) may join it.
        let joinable = (1..7)
            .take_while(|&k| may_join(i, k) && !planned.contains_key(&(i + k)))
            .count();
        let window = &code[i..=i + joinable];
        // Whether instruction i + k may join instruction i (for runs longer than the window).
        let joins = |k: usize| may_join(i, k) && !planned.contains_key(&(i + k));
        let (op, used) = planned
            .get(&i)
            .copied()
            .or_else(|| store_run(&code[i..], &joins))
            .or_else(|| binary_compare_jump(window, short_jumps))
            .or_else(|| register_instruction(window, short_jumps))
            .unwrap_or_else(|| superinstruction(window, short_jumps));
        // A range loop's 16-bit jump needs short jumps too; else the iterator form.
        let op = match op {
            Op::ForRange(x, _, l) if !short_jumps => Op::ForNextStore(x, Label(l.0.into())),
            Op::ForRangePrep(_) if !short_jumps => Op::GetIter,
            op => op,
        };
        // A guard (`InPlaceItemMul`) goes before the instructions it guards, on their line.
        let start = out.len() as u32;
        if let Some(&guard) = guards.get(&i) {
            out.push(guard);
            out_lines.push(lines.get(i).copied().unwrap_or(0));
            out_spans.push(spans.get(i).copied().unwrap_or((0, 0)));
        }
        for k in 0..used {
            new_index[i + k] = start;
        }
        out.push(op);
        out_lines.push(lines.get(i).copied().unwrap_or(0));
        // (`InPlaceSubscrLocalConst` too: its four parts end in the `StoreSubscr`.)
        out_spans.push(fused_span(
            code.get(i..i + used).unwrap_or(&[]),
            spans.get(i..).unwrap_or(&[]),
        ));
        i += used;
    }
    new_index[code.len()] = out.len() as u32;
    for pos in labels.iter_mut().flatten() {
        *pos = new_index
            .get(*pos as usize)
            .copied()
            .unwrap_or(out.len() as u32);
    }
    *code = out;
    *lines = out_lines;
    *spans = out_spans;
}

/// `x[k] op= v` with `x` a local and `k` a constant (`v1[0] -= dx * m`): the read `LoadLocal(a);
/// LoadConst(c); Copy(2); Copy(2); Subscr` becomes `SubscrLocalConst(a, c)` and the write
/// `InPlace(op); Swap(3); Swap(2); StoreSubscr` becomes `InPlaceSubscrLocalConst(op, a, c)`,
/// which reads the container from the slot again instead of keeping it and the key on the
/// stack: two fused instructions and no stack traffic for them, where there were five. Only
/// when nothing in between can change what the slot holds: the value's instructions do not
/// jump, are not jumped to and never store into or delete slot `a` (a walrus, `v[0] += (v :=
/// w)[0]`, keeps the unfused form); the constant cannot change. Returns both fusions by their
/// first instruction's index.
///
/// When the value is `a * b` of two locals on the same line (`LoadLocal(a); LoadLocal(b);
/// Binary(*)`, fused here into `BinaryLocals`), the three instructions get a guard before them,
/// `InPlaceItemMul(op, x, k, a, b, l)` with `l` a new label just past them (slots and constant
/// below 256, short jumps): it does the update when its operands are numbers in a list and
/// jumps to `l`, else falls through to the three. Returned in the second map, by the index of
/// the first instruction it goes before.
fn subscr_local_const_updates(
    code: &[Op],
    targets: &HashSet<u32>,
    may_join: &dyn Fn(usize, usize) -> bool,
    labels: &mut Vec<Option<u32>>,
    short_jumps: bool,
) -> (HashMap<usize, (Op, usize)>, HashMap<usize, Op>) {
    use Op::{Binary, Copy, InPlace, LoadConst, LoadLocal, StoreSubscr, Subscr, Swap};
    let mut planned = HashMap::new();
    let mut guards = HashMap::new();
    for i in 0..code.len() {
        let [LoadLocal(a), LoadConst(c), Copy(2), Copy(2), Subscr, ..] = code[i..] else {
            continue;
        };
        let (Some(ra), Some(rc)) = (Reg::fit(a.0), Reg::fit(c.0)) else {
            continue;
        };
        if !(1..5).all(|k| may_join(i, k)) {
            continue;
        }
        // Walk the value's instructions, `depth` the items they left above `cur`.
        let mut depth = 0i64;
        let mut j = i + 5;
        let found = loop {
            let Some(&op) = code.get(j) else { break None };
            if j - i > 64 || targets.contains(&(j as u32)) || op.jump().is_some() {
                break None;
            }
            if let (1, [InPlace(bop), Swap(3), Swap(2), StoreSubscr, ..]) = (depth, &code[j..]) {
                if (1..4).all(|k| may_join(j, k)) {
                    break Some((j, *bop));
                }
                break None;
            }
            let writes_a = match op {
                Op::StoreLocal(x) | Op::DeleteLocal(x) => x == a,
                _ => false,
            };
            match op.stack_effect() {
                (Some(e), _) if !writes_a && depth + e >= 0 => depth += e,
                _ => break None,
            }
            j += 1;
        };
        if let Some((j, bop)) = found {
            planned.insert(i, (Op::SubscrLocalConst(ra, rc), 5));
            planned.insert(j, (Op::InPlaceSubscrLocalConst(bop, ra, rc), 4));
            let m = i + 5;
            let [LoadLocal(x), LoadLocal(y), Binary(crate::bytecode::BinOp::Mul)] = code[m..j]
            else {
                continue;
            };
            let small = |v: u32| u8::try_from(v).ok();
            let (Some(a8), Some(c8), Some(x8), Some(y8)) =
                (small(a.0), small(c.0), small(x.0), small(y.0))
            else {
                continue;
            };
            let (Some(rx), Some(ry)) = (Reg::fit(x.0), Reg::fit(y.0)) else {
                continue;
            };
            // The label id must fit the guard's 16-bit jump operand.
            let Some(l) = Reg::fit(labels.len() as u32).filter(|_| short_jumps) else {
                continue;
            };
            if !(may_join(m, 1) && may_join(m, 2)) {
                continue;
            }
            labels.push(Some((j + 4) as u32));
            planned.insert(
                m,
                (Op::BinaryLocals(crate::bytecode::BinOp::Mul, rx, ry), 3),
            );
            guards.insert(i, Op::InPlaceItemMul(bop, a8, c8, x8, y8, l));
        }
    }
    (planned, guards)
}

/// The source range a fused instruction reports when it raises: that of its first part that
/// can fail for a reason other than an unbound local (the `%` of `if a % b == 0`, the `+` of
/// `x = a + b`, the subscript of `x[a:b]`, whose `BuildSlice` cannot fail), else its first
/// part's. An empty cell's error (`LoadDeref`) is narrowed to the name when it is raised, as an
/// unbound local's is (`run.rs: add_traceback`). The write of an augmented assignment (`InPlace` then
/// the store into `x[i]` or `o.g`) reports its store's span, the target, where CPython reports
/// a failed write; the VM reports an error of its operator on the whole statement
/// (`whole_statement`), as CPython's `BINARY_OP`.
fn fused_span(parts: &[Op], spans: &[(u32, u32)]) -> (u32, u32) {
    if let [Op::InPlace(_), Op::Swap(3), Op::Swap(2), Op::StoreSubscr]
    | [Op::InPlace(_), Op::Swap(2), Op::StoreAttr(_)] = parts
    {
        return spans.get(parts.len() - 1).copied().unwrap_or((0, 0));
    }
    let quiet = |op: &Op| {
        matches!(
            op,
            Op::LoadLocal(_)
                | Op::LoadConst(_)
                | Op::LoadDeref(_)
                | Op::BuildSlice(_)
                | Op::StoreLocal(_)
                | Op::PopJumpIfFalse(_)
                | Op::ReturnValue
        )
    };
    let k = parts.iter().position(|op| !quiet(op)).unwrap_or(0);
    spans.get(k).copied().unwrap_or((0, 0))
}

/// An unpacking or a reversal of n items followed by n `StoreLocal`s into consecutive slots in
/// ascending order (how fresh names are numbered: `x1, y1, z1 = p`, `a, b = b, a + b`) as one
/// `UnpackStore` or `StoreLocals`; `joins(k)`: whether instruction k may join the first.
fn store_run(ops: &[Op], joins: &dyn Fn(usize) -> bool) -> Option<(Op, usize)> {
    let (n, head, unpack) = match *ops {
        [Op::UnpackSequence(n), ..] => (n, 1, true),
        [Op::Swap(n @ (2 | 3)), ..] => (n, 1, false),
        [Op::BuildTuple(n), Op::UnpackSequence(m), ..] if n == m && joins(1) => (n, 2, false),
        _ => return None,
    };
    let Some(&Op::StoreLocal(first)) = ops.get(head) else {
        return None;
    };
    let count = u16::try_from(n).ok().filter(|&n| n >= 1)?;
    // Every slot of the run fits a 16-bit operand.
    Reg::fit(first.0.checked_add(n)?)?;
    for k in 0..n as usize {
        match ops.get(head + k) {
            Some(&Op::StoreLocal(x)) if joins(head + k) && x.0 == first.0 + k as u32 => {}
            _ => return None,
        }
    }
    let x = Reg::fit(first.0)?;
    let op = if unpack {
        Op::UnpackStore(count, x)
    } else {
        Op::StoreLocals(count, x)
    };
    Some((op, head + n as usize))
}

/// `if a % b == 0:` and `if a % 3 == 0:` (an operator on a local and a local or constant,
/// compared with a constant, then a conditional jump: six instructions) as one register
/// instruction, if the slots and constants fit its 8-bit operands.
fn binary_compare_jump(ops: &[Op], short_jumps: bool) -> Option<(Op, usize)> {
    use Op::{Binary, Compare, LoadConst, LoadLocal, PopJumpIfFalse};
    let byte = |i: u32| u8::try_from(i).ok();
    let jump = |l: Label| Reg::fit(l.0).filter(|_| short_jumps);
    Some(match *ops {
        [LoadLocal(a), LoadLocal(b), Binary(op), LoadConst(c), Compare(cmp), PopJumpIfFalse(l), ..] => {
            (
                Op::BinaryLocalsCompareJump(op, byte(a.0)?, byte(b.0)?, cmp, byte(c.0)?, jump(l)?),
                6,
            )
        }
        [LoadLocal(a), LoadConst(k), Binary(op), LoadConst(c), Compare(cmp), PopJumpIfFalse(l), ..] => {
            (
                Op::BinaryConstCompareJump(op, byte(a.0)?, byte(k.0)?, cmp, byte(c.0)?, jump(l)?),
                6,
            )
        }
        _ => return None,
    })
}

/// The register instruction that replaces a prefix of `ops` (a local and a local or constant
/// operated on, compared or updated in place, `t += self.x`), if one does and its operands fit
/// in 16 bits.
fn register_instruction(ops: &[Op], short_jumps: bool) -> Option<(Op, usize)> {
    use Op::{
        Binary, Compare, Copy, InPlace, LoadAttr, LoadConst, LoadLocal, PopJumpIfFalse, StoreAttr,
        StoreLocal, Swap,
    };
    let reg = Reg::fit;
    let jump = |l: Label| reg(l.0).filter(|_| short_jumps);
    Some(match *ops {
        // `o.g op= b` (compile/stmt.rs: `aug_assign`), seven stack instructions.
        [LoadLocal(o), Copy(1), LoadAttr(g), LoadLocal(b), InPlace(op), Swap(2), StoreAttr(h), ..]
            if g == h =>
        {
            (Op::InPlaceAttrLocal(op, reg(o.0)?, reg(g.0)?, reg(b.0)?), 7)
        }
        [LoadLocal(o), Copy(1), LoadAttr(g), LoadConst(c), InPlace(op), Swap(2), StoreAttr(h), ..]
            if g == h =>
        {
            (Op::InPlaceAttrConst(op, reg(o.0)?, reg(g.0)?, reg(c.0)?), 7)
        }
        [LoadLocal(a), LoadLocal(o), LoadAttr(g), InPlace(op), StoreLocal(x), ..] if x == a => {
            (Op::InPlaceLocalAttr(op, reg(a.0)?, reg(o.0)?, reg(g.0)?), 5)
        }
        [LoadLocal(a), LoadLocal(b), InPlace(op), StoreLocal(x), ..] if x == a => {
            (Op::InPlaceLocals(op, reg(a.0)?, reg(b.0)?), 4)
        }
        [LoadLocal(a), LoadConst(c), InPlace(op), StoreLocal(x), ..] if x == a => {
            (Op::InPlaceLocalConst(op, reg(a.0)?, reg(c.0)?), 4)
        }
        [LoadLocal(a), LoadLocal(b), Binary(op), StoreLocal(d), ..] => (
            Op::BinaryLocalsStore(op, reg(a.0)?, reg(b.0)?, reg(d.0)?),
            4,
        ),
        [LoadLocal(a), LoadConst(c), Binary(op), StoreLocal(d), ..] => (
            Op::BinaryLocalConstStore(op, reg(a.0)?, reg(c.0)?, reg(d.0)?),
            4,
        ),
        [LoadLocal(a), LoadLocal(b), Compare(op), PopJumpIfFalse(l), ..] => {
            (Op::CompareLocalsJump(op, reg(a.0)?, reg(b.0)?, jump(l)?), 4)
        }
        [LoadLocal(a), LoadConst(c), Compare(op), PopJumpIfFalse(l), ..] => (
            Op::CompareLocalConstJump(op, reg(a.0)?, reg(c.0)?, jump(l)?),
            4,
        ),
        [LoadLocal(a), LoadLocal(b), Binary(op), ..] => {
            (Op::BinaryLocals(op, reg(a.0)?, reg(b.0)?), 3)
        }
        [LoadLocal(a), LoadConst(c), Binary(op), ..] => {
            (Op::BinaryLocalConst(op, reg(a.0)?, reg(c.0)?), 3)
        }
        _ => return None,
    })
}

/// The instruction that replaces the longest fusable prefix of `ops` (at least one instruction,
/// itself), and how many instructions it replaces.
fn superinstruction(ops: &[Op], short_jumps: bool) -> (Op, usize) {
    fused(ops, short_jumps).unwrap_or((ops.first().copied().unwrap_or(Op::Nop), 1))
}

/// The superinstruction for a prefix of `ops` of two or three instructions, if one applies and
/// its operands fit.
fn fused(ops: &[Op], short_jumps: bool) -> Option<(Op, usize)> {
    let reg = Reg::fit;
    let jump = |l: Label| reg(l.0).filter(|_| short_jumps);
    Some(match *ops {
        // A return of a constant, a local or `self.y` (CPython 3.12's `RETURN_CONST`).
        [Op::UnaryNot, Op::JumpIfFalseOrPop(l), ..] => (Op::NotJumpIfFalseOrPop(l), 2),
        [Op::UnaryNot, Op::JumpIfTrueOrPop(l), ..] => (Op::NotJumpIfTrueOrPop(l), 2),
        [Op::LoadConst(c), Op::ReturnValue, ..] => (Op::ReturnConst(c), 2),
        [Op::LoadLocal(a), Op::ReturnValue, ..] => (Op::ReturnLocal(a), 2),
        [Op::LoadLocal(a), Op::LoadAttr(n), Op::ReturnValue, ..] => {
            (Op::ReturnAttrLocal(reg(a.0)?, n), 3)
        }
        [Op::LoadConst(c), Op::Compare(cmp), Op::PopJumpIfFalse(l), ..] => {
            (Op::CompareConstJumpIfFalse(cmp, reg(c.0)?, jump(l)?), 3)
        }
        [Op::Compare(cmp), Op::PopJumpIfFalse(l), ..] => (Op::CompareJumpIfFalse(cmp, l), 2),
        [Op::LoadConst(c), Op::Compare(cmp), ..] => (Op::CompareConst(cmp, c), 2),
        [Op::LoadLocal(a), Op::LoadAttr(n), Op::StoreLocal(d), ..] => {
            (Op::LoadAttrLocalStore(reg(a.0)?, reg(n.0)?, reg(d.0)?), 3)
        }
        [Op::LoadLocal(a), Op::LoadAttr(n), Op::PopJumpIfFalse(l), ..] => {
            (Op::AttrJumpIfFalse(reg(a.0)?, reg(n.0)?, jump(l)?), 3)
        }
        [Op::LoadLocal(a), Op::LoadAttr(n), Op::PopJumpIfTrue(l), ..] => {
            (Op::AttrJumpIfTrue(reg(a.0)?, reg(n.0)?, jump(l)?), 3)
        }
        [Op::LoadLocal(a), Op::LoadAttr(n), ..] => (Op::LoadAttrLocal(reg(a.0)?, n), 2),
        [Op::LoadLocal(a), Op::StoreAttr(n), ..] => (Op::StoreAttrLocal(reg(a.0)?, n), 2),
        // `f(x)`: the argument pushed and the function called in one dispatch.
        [Op::LoadLocal(a), Op::Call(1), ..] => (Op::CallLocal(reg(a.0)?), 2),
        // `self.m(a)`: the receiver's method found and the receiver pushed in one dispatch.
        [Op::LoadLocal(a), Op::LoadMethod(g), ..] => (Op::LoadMethodLocal(reg(a.0)?, g), 2),
        // `o.m(x)`: the one argument pushed and the loaded method called in one dispatch.
        [Op::LoadLocal(a), Op::CallLoaded(1), ..] => (Op::CallLoadedLocal(reg(a.0)?), 2),
        // `self.m()`: the receiver pushed and the method called in one dispatch.
        [Op::LoadLocal(a), Op::CallMethod(g), ..] => (Op::CallMethodLocal(reg(a.0)?, g), 2),
        // `t + self.x`, `t += o.m(i)`: the second local goes with the attribute or method, not
        // into a pair.
        [Op::LoadLocal(_), Op::LoadLocal(_), Op::LoadAttr(_) | Op::StoreAttr(_) | Op::LoadMethod(_), ..] => {
            return None
        }
        [Op::LoadLocal(a), Op::LoadLocal(b), Op::Subscr, ..] => {
            (Op::SubscrLocals(reg(a.0)?, reg(b.0)?), 3)
        }
        [Op::LoadDeref(c), Op::LoadLocal(b), Op::Subscr, ..] => {
            (Op::SubscrDerefLocal(reg(c.0)?, reg(b.0)?), 3)
        }
        [Op::LoadLocal(a), Op::LoadLocal(b), ..] => (Op::LoadLocalPair(reg(a.0)?, reg(b.0)?), 2),
        [Op::LoadLocal(b), Op::Binary(op), ..] => (Op::BinaryTopLocal(op, reg(b.0)?), 2),
        [Op::LoadConst(c), Op::Binary(op), ..] => (Op::BinaryTopConst(op, reg(c.0)?), 2),
        [Op::ForIter(l), Op::StoreLocal(x), ..] => (Op::ForIterStore(reg(x.0)?, l), 2),
        [Op::LoadLocal(a), Op::LoadConst(c), Op::Subscr, ..] => {
            (Op::SubscrLocalConst(reg(a.0)?, reg(c.0)?), 3)
        }
        // `x[k] op= v` and `x.g op= v` (compile/stmt.rs: `aug_assign`): the read keeping the
        // container and key, then the operator with the write.
        [Op::YieldValue, Op::Pop, ..] => (Op::YieldPop, 2),
        [Op::Copy(2), Op::Copy(2), Op::Subscr, ..] => (Op::SubscrKeep, 3),
        // `x[a:b]` read: no slice object for a list or tuple.
        [Op::BuildSlice(2), Op::Subscr, ..] => (Op::BinarySlice, 2),
        [Op::InPlace(op), Op::Swap(3), Op::Swap(2), Op::StoreSubscr, ..] => {
            (Op::InPlaceStoreSubscr(op), 4)
        }
        [Op::Copy(1), Op::LoadAttr(g), ..] => (Op::LoadAttrKeep(g), 2),
        [Op::InPlace(op), Op::Swap(2), Op::StoreAttr(g), ..] => (Op::InPlaceStoreAttr(op, g), 3),
        // An operator whose result is stored in a local (`t += f(i)`, `d = p.x - q.x`): one
        // dispatch and one push and pop fewer.
        [Op::InPlace(op), Op::StoreLocal(x), ..] => (Op::InPlaceStoreLocal(op, reg(x.0)?), 2),
        [Op::Binary(op), Op::StoreLocal(x), ..] => (Op::BinaryStoreLocal(op, reg(x.0)?), 2),
        // `a, b = b, a`: the tuple is built only to be taken apart again.
        [Op::BuildTuple(n), Op::UnpackSequence(m), ..] if n == m => (
            match n {
                0 | 1 => Op::Nop,
                2 | 3 => Op::Swap(n),
                n => Op::Reverse(n),
            },
            2,
        ),
        _ => return None,
    })
}
