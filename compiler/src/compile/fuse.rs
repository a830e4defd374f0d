//! Stage 3b (finishing a code object): fuse common instruction pairs into superinstructions
//! (`LoadLocal; LoadLocal` -> `LoadLocalPair`, `LoadLocal; LoadAttr` -> `LoadAttrLocal`,
//! `Compare; PopJumpIfFalse` -> `CompareJumpIfFalse`, ...), as CPython 3.11 does with `LOAD_FAST__LOAD_FAST`. The fusion happens here, at compile
//! time, so that the code `dis` lists is the code that runs: `--trace` shows and `--stats`
//! counts every superinstruction as one instruction, with no hidden peeking at the next opcode.
//!
//! Two instructions fuse only when the second is not a jump target (nothing may jump into the
//! middle of a superinstruction) and both come from the same source line (so an error in
//! either is reported at the same line as before).

use std::collections::HashSet;

use crate::bytecode::Op;

/// Rewrite `code` (labels still unresolved: jump operands are label ids) with superinstructions;
/// `lines` shrinks with it and `labels` (label id -> instruction index) is moved to the new indices.
pub(crate) fn fuse(code: &mut Vec<Op>, lines: &mut Vec<u32>, labels: &mut [Option<u32>]) {
    let targets: HashSet<u32> = labels.iter().flatten().copied().collect();
    let mut out = Vec::with_capacity(code.len());
    let mut out_lines = Vec::with_capacity(code.len());
    // Old instruction index -> new index (a fused-away instruction is never a target).
    let mut new_index = vec![0u32; code.len() + 1];
    let mut i = 0;
    while i < code.len() {
        // How many of the next instructions (after the first) may join it.
        let joinable = (1..3)
            .take_while(|k| {
                i + k < code.len()
                    && !targets.contains(&((i + k) as u32))
                    && lines.get(i + k) == lines.get(i)
            })
            .count();
        let (op, used) = superinstruction(&code[i..=i + joinable]);
        for k in 0..used {
            new_index[i + k] = out.len() as u32;
        }
        out.push(op);
        out_lines.push(lines.get(i).copied().unwrap_or(0));
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
}

/// The instruction that replaces the longest fusable prefix of `ops` (at least one instruction,
/// itself), and how many instructions it replaces.
fn superinstruction(ops: &[Op]) -> (Op, usize) {
    match *ops {
        [Op::LoadConst(c), Op::Compare(cmp), Op::PopJumpIfFalse(l), ..] => {
            (Op::CompareConstJumpIfFalse(cmp, c, l), 3)
        }
        [Op::Compare(cmp), Op::PopJumpIfFalse(l), ..] => (Op::CompareJumpIfFalse(cmp, l), 2),
        [Op::LoadConst(c), Op::Compare(cmp), ..] => (Op::CompareConst(cmp, c), 2),
        [Op::LoadLocal(a), Op::LoadAttr(n), ..] => (Op::LoadAttrLocal(a, n), 2),
        [Op::LoadLocal(a), Op::StoreAttr(n), ..] => (Op::StoreAttrLocal(a, n), 2),
        // `t + self.x`: the second local goes with the attribute, not into a pair.
        [Op::LoadLocal(_), Op::LoadLocal(_), Op::LoadAttr(_) | Op::StoreAttr(_), ..] => (ops[0], 1),
        [Op::LoadLocal(a), Op::LoadLocal(b), ..] => (Op::LoadLocalPair(a, b), 2),
        [Op::ForIter(l), Op::StoreLocal(x), ..] => (Op::ForIterStore(x, l), 2),
        [op, ..] => (op, 1),
        [] => (Op::Nop, 1),
    }
}
