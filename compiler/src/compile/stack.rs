//! Stage 3b (finishing a code object): resolve label ids to instruction indices and compute the
//! maximum operand stack depth by simulating every opcode's stack effect over all paths.

use crate::bytecode::Op;
use crate::{Span, SyntaxError};

/// Replace label ids by the instruction index each label was bound to (which operands are jumps
/// is the opcode table's business: `Op::jump`, `Op::set_jump`).
pub(crate) fn resolve_labels(code: &mut [Op], labels: &[Option<u32>]) -> Result<(), SyntaxError> {
    let unbound =
        || SyntaxError::syntax("internal error: jump to an unbound label", Span::default());
    for op in code.iter_mut() {
        if let Some(label) = op.jump() {
            let position = labels.get(label as usize).copied().flatten();
            // `fuse` made a 16-bit jump only in code of at most `u16::MAX` instructions.
            if !position.is_some_and(|p| op.set_jump(p)) {
                return Err(unbound());
            }
        }
    }
    Ok(())
}

/// Upper bound of the operand stack depth over every path through the code.
pub(crate) fn max_stack_depth(code: &[Op]) -> u32 {
    let mut depth: Vec<Option<i64>> = vec![None; code.len()];
    let mut work: Vec<(usize, i64)> = vec![(0, 0)];
    let mut max = 0i64;
    while let Some((pc, d)) = work.pop() {
        let Some(slot) = depth.get_mut(pc) else {
            continue;
        };
        // A depth that keeps growing around a loop would be a compiler bug; stop rather than spin.
        if d > 1_000_000 || matches!(*slot, Some(seen) if seen >= d) {
            continue;
        }
        *slot = Some(d);
        max = max.max(d);
        let Some(op) = code.get(pc) else {
            continue;
        };
        let (fall, jump) = op.stack_effect();
        if let Some(e) = fall {
            let nd = (d + e).max(0);
            max = max.max(nd);
            work.push((pc + 1, nd));
        }
        if let (Some(e), Some(target)) = (jump, op.jump()) {
            let nd = (d + e).max(0);
            max = max.max(nd);
            work.push((target as usize, nd));
        }
    }
    max.clamp(0, u32::MAX as i64) as u32
}

/// Check that every instruction is reached with one stack depth and that no path pops below zero.
/// Used by tests as a sanity check of the code generator.
pub fn verify_stack(code: &[Op]) -> Result<(), String> {
    let mut depth: Vec<Option<i64>> = vec![None; code.len()];
    let mut work: Vec<(usize, i64, usize)> = vec![(0, 0, 0)];
    while let Some((pc, d, from)) = work.pop() {
        if d < 0 {
            return Err(format!("negative stack depth at {pc} (from {from})"));
        }
        if pc == code.len() {
            return Err(format!("falls off the end (from {from})"));
        }
        let Some(slot) = depth.get_mut(pc) else {
            return Err(format!("jump out of range to {pc} (from {from})"));
        };
        match *slot {
            Some(seen) if seen == d => continue,
            Some(seen) => {
                return Err(format!(
                    "instruction {pc} reached with depth {seen} and {d} (from {from})"
                ))
            }
            None => *slot = Some(d),
        }
        let Some(op) = code.get(pc) else { continue };
        if let Some(target) = op.jump() {
            if op.jumps_backward() != (target as usize <= pc) {
                return Err(format!("jump direction wrong at {pc}: {op:?}"));
            }
        }
        let (fall, jump) = op.stack_effect();
        if let Some(e) = fall {
            work.push((pc + 1, d + e, pc));
        }
        if let (Some(e), Some(target)) = (jump, op.jump()) {
            work.push((target as usize, d + e, pc));
        }
    }
    Ok(())
}
