//! Stage 3b (finishing a code object): resolve label ids to instruction indices and compute the
//! maximum operand stack depth by simulating every opcode's stack effect over all paths.

use crate::bytecode::{Label, Op, Reg};
use crate::{Span, SyntaxError};

/// The jump target of an instruction, if it has one (one list of jumps: `jump_target_mut` and,
/// for register instructions, `short_jump_mut`).
pub(crate) fn jump_target(op: &Op) -> Option<Label> {
    let mut op = *op;
    if let Some(r) = short_jump_mut(&mut op) {
        return Some(Label(r.0 as u32));
    }
    jump_target_mut(&mut op).map(|l| *l)
}

fn short_jump_mut(op: &mut Op) -> Option<&mut Reg> {
    match op {
        Op::CompareConstJumpIfFalse(.., l)
        | Op::CompareLocalsJump(.., l)
        | Op::CompareLocalConstJump(.., l) => Some(l),
        _ => None,
    }
}

fn jump_target_mut(op: &mut Op) -> Option<&mut Label> {
    match op {
        Op::Jump(l)
        | Op::JumpBackward(l)
        | Op::PopJumpIfFalse(l)
        | Op::PopJumpIfTrue(l)
        | Op::JumpIfFalseOrPop(l)
        | Op::JumpIfTrueOrPop(l)
        | Op::ForIter(l)
        | Op::ForNext(l)
        | Op::ForNextStore(_, l)
        | Op::SetupExcept(l)
        | Op::CompareJumpIfFalse(_, l)
        | Op::ForIterStore(_, l) => Some(l),
        _ => None,
    }
}

/// Replace label ids by the instruction index each label was bound to.
pub(crate) fn resolve_labels(code: &mut [Op], labels: &[Option<u32>]) -> Result<(), SyntaxError> {
    let unbound =
        || SyntaxError::syntax("internal error: jump to an unbound label", Span::default());
    let position = |label: u32| {
        labels
            .get(label as usize)
            .copied()
            .flatten()
            .ok_or_else(unbound)
    };
    for op in code.iter_mut() {
        if let Some(r) = short_jump_mut(op) {
            // `fuse` made a short jump only in code of at most `u16::MAX` instructions.
            *r = Reg::fit(position(r.0 as u32)?).ok_or_else(unbound)?;
        } else if let Some(l) = jump_target_mut(op) {
            *l = Label(position(l.0)?);
        }
    }
    Ok(())
}

/// How control leaves an instruction: stack effect on fall-through (None if it never falls through),
/// and on the jump (None if it has no jump).
fn effects(op: &Op) -> (Option<i64>, Option<i64>) {
    let n = |x: u32| x as i64;
    let fall = |e: i64| (Some(e), None);
    match *op {
        Op::Nop => fall(0),
        Op::Pop => fall(-1),
        Op::Copy(_) => fall(1),
        Op::Swap(_) => fall(0),
        Op::LoadConst(_)
        | Op::LoadLocal(_)
        | Op::LoadGlobal(_)
        | Op::LoadName(_)
        | Op::LoadDeref(_)
        | Op::LoadClosure(_)
        | Op::LoadClassDeref(_) => fall(1),
        Op::StoreLocal(_) | Op::StoreGlobal(_) | Op::StoreName(_) | Op::StoreDeref(_) => fall(-1),
        Op::DeleteLocal(_) | Op::DeleteGlobal(_) | Op::DeleteName(_) | Op::DeleteDeref(_) => {
            fall(0)
        }
        Op::Binary(_) | Op::InPlace(_) | Op::Compare(_) => fall(-1),
        Op::UnaryNot | Op::UnaryNeg | Op::UnaryPos | Op::UnaryInvert => fall(0),
        Op::Subscr => fall(-1),
        Op::StoreSubscr => fall(-3),
        Op::DeleteSubscr => fall(-2),
        Op::BuildSlice(k) => fall(1 - n(k)),
        Op::LoadAttr(_) => fall(0),
        Op::StoreAttr(_) => fall(-2),
        Op::DeleteAttr(_) => fall(-1),
        Op::BuildTuple(k) | Op::BuildList(k) | Op::BuildSet(k) | Op::BuildString(k) => {
            fall(1 - n(k))
        }
        Op::BuildMap(k) => fall(1 - 2 * n(k)),
        Op::ListAppend(_) | Op::SetAdd(_) => fall(-1),
        Op::MapAdd(_) => fall(-2),
        Op::ListExtend(_) | Op::SetUpdate(_) | Op::DictUpdate(_) | Op::DictMerge(_) => fall(-1),
        Op::ListToTuple => fall(0),
        Op::UnpackSequence(k) => fall(n(k) - 1),
        Op::UnpackEx { before, after } => fall(n(before.into()) + n(after)),
        Op::FormatValue(f) => fall(if f.has_spec { -1 } else { 0 }),
        Op::Jump(_) | Op::JumpBackward(_) => (None, Some(0)),
        Op::PopJumpIfFalse(_) | Op::PopJumpIfTrue(_) => (Some(-1), Some(-1)),
        Op::JumpIfFalseOrPop(_) | Op::JumpIfTrueOrPop(_) => (Some(-1), Some(0)),
        Op::GetIter => fall(0),
        Op::ForIter(_) => (Some(1), Some(-1)),
        Op::ForNext(_) => (Some(-1), Some(1)),
        Op::ForNextStore(..) => (Some(-1), Some(0)),
        Op::MakeFunction { flags, .. } => {
            fall(1 - flags.defaults as i64 - flags.kwdefaults as i64 - flags.closure as i64)
        }
        Op::Call(k) => fall(-n(k)),
        Op::CallKw(k) => fall(-n(k) - 1),
        Op::CallEx { has_kwargs } => fall(if has_kwargs { -2 } else { -1 }),
        Op::CallMethod(_, k) => fall(-n(k.into())),
        Op::CallMethodKw(_, k) => fall(-n(k.into()) - 1),
        Op::ReturnValue => (None, None),
        Op::YieldValue => fall(0),
        Op::GetYieldFromIter => fall(0),
        Op::YieldFrom => fall(-1),
        Op::LoadBuildClass => fall(1),
        Op::ImportName(_) | Op::ImportFrom(_) => fall(1),
        // The handler is entered with the depth at setup plus the exception.
        Op::SetupExcept(_) => (Some(0), Some(1)),
        Op::PopBlock => fall(0),
        Op::PushExcInfo => fall(1),
        Op::PopExcept => fall(-1),
        Op::CheckExcMatch => fall(0),
        Op::Reraise | Op::Raise(_) => (None, None),
        Op::LoadAssertionError => fall(1),
        Op::BeforeWith => fall(1),
        Op::WithExceptStart => fall(1),
        Op::PrintExpr => fall(-1),
        Op::GetAwaitable | Op::GetAIter => fall(0),
        Op::GetANext | Op::BeforeAsyncWith => fall(1),
        Op::EndAsyncFor => fall(-2),
        Op::CheckEgMatch => fall(0),
        Op::PrepReraiseStar => fall(-1),
        Op::LoadLocalPair(..) => fall(2),
        Op::LoadAttrLocal(..) => fall(1),
        Op::StoreAttrLocal(..) => fall(-1),
        Op::CompareConst(..) => fall(0),
        Op::CompareJumpIfFalse(..) => (Some(-2), Some(-2)),
        Op::CompareConstJumpIfFalse(..) => (Some(-1), Some(-1)),
        Op::ForIterStore(..) => (Some(0), Some(-1)),
        Op::BinaryLocals(..) | Op::BinaryLocalConst(..) => fall(1),
        Op::InPlaceLocals(..) | Op::InPlaceLocalConst(..) => fall(0),
        Op::CompareLocalsJump(..) | Op::CompareLocalConstJump(..) => (Some(0), Some(0)),
        Op::Match(m) => fall(m.stack_effect()),
    }
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
        let (fall, jump) = effects(op);
        if let Some(e) = fall {
            let nd = (d + e).max(0);
            max = max.max(nd);
            work.push((pc + 1, nd));
        }
        if let (Some(e), Some(target)) = (jump, jump_target(op)) {
            let nd = (d + e).max(0);
            max = max.max(nd);
            work.push((target.0 as usize, nd));
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
        if let Some(target) = jump_target(op) {
            let backward = matches!(
                op,
                Op::JumpBackward(_) | Op::ForNext(_) | Op::ForNextStore(..)
            );
            if backward != (target.0 as usize <= pc) {
                return Err(format!("jump direction wrong at {pc}: {op:?}"));
            }
        }
        let (fall, jump) = effects(op);
        if let Some(e) = fall {
            work.push((pc + 1, d + e, pc));
        }
        if let (Some(e), Some(target)) = (jump, jump_target(op)) {
            work.push((target.0 as usize, d + e, pc));
        }
    }
    Ok(())
}
