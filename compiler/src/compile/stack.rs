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

/// Where the stack holds what `LoadMethod` left below its receiver (a method, or NULL), at
/// instruction `at`: the stack depth every path reaches `at` with, and the positions (from
/// the bottom of the frame's operand stack) of those slots still waiting for their
/// `CallLoaded`. `--trace` uses it to tell these slots from the program's values; `None` when
/// no path reaches `at`.
pub fn loaded_method_slots(code: &[Op], at: usize) -> Option<(u32, Vec<u32>)> {
    let mut seen = vec![false; code.len()];
    let mut work: Vec<(usize, i64, Vec<u32>)> = vec![(0, 0, Vec::new())];
    while let Some((pc, d, mut slots)) = work.pop() {
        match seen.get_mut(pc) {
            Some(s) if !*s => *s = true,
            _ => continue,
        }
        if pc == at {
            return Some((u32::try_from(d).ok()?, slots));
        }
        let op = code.get(pc)?;
        match op {
            // `[.., obj] -> [.., m, obj]`: `m` takes the receiver's place.
            Op::LoadMethod(_) => slots.push(u32::try_from(d - 1).ok()?),
            Op::LoadMethodLocal(..) => slots.push(u32::try_from(d).ok()?),
            _ => {}
        }
        let (fall, jump) = op.stack_effect();
        // A slot is taken by the call that consumes it (the stack falls to it and the call's
        // result lands there), and by nothing else: the arguments above it run in between.
        let live = |nd: i64| -> Vec<u32> {
            slots
                .iter()
                .copied()
                .filter(|&p| i64::from(p) < nd - 1)
                .collect()
        };
        if let (Some(e), Some(target)) = (jump, op.jump()) {
            work.push((target as usize, d + e, live(d + e)));
        }
        if let Some(e) = fall {
            work.push((pc + 1, d + e, live(d + e)));
        }
    }
    None
}
