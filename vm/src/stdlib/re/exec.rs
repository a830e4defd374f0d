//! `re` (stdlib stage), the matcher: runs a compiled [`Program`] on a text by backtracking,
//! with sre's semantics (leftmost match; the first alternative that leads to a match wins;
//! captures hold the last iteration of a repeated group).
//!
//! All backtracking state lives in one heap vector of [`Bt`] entries (places to resume, and the
//! old values of capture slots and loop registers to put back), never on the Rust stack, so a
//! long text or a deeply nested pattern cannot overflow it. Atomic groups and lookarounds cut
//! the entries their body left above a barrier, keeping only the restores. Every 64Ki steps the
//! matcher asks its caller whether to stop (Ctrl-C), so an exponential pattern stays
//! interruptible, as CPython's sre checks signals while it matches.

use std::cell::RefCell;

use super::chars::{fold, is_word};
use super::parse::{At, Case, RepeatKind};
use super::prog::{Inst, One, Program};

/// An unset capture slot.
pub const NONE: usize = usize::MAX;

/// A text to match: code points by index (bytes, ASCII `str`, or a decoded non-ASCII `str`).
pub trait Text {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn at(&self, i: usize) -> u32;
}

impl Text for [u8] {
    #[inline]
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }
    #[inline]
    fn at(&self, i: usize) -> u32 {
        u32::from(self[i])
    }
}

impl Text for [u32] {
    #[inline]
    fn len(&self) -> usize {
        <[u32]>::len(self)
    }
    #[inline]
    fn at(&self, i: usize) -> u32 {
        self[i]
    }
}

/// A backtracking entry.
#[derive(Clone, Copy)]
enum Bt {
    /// Resume at `pc` with `pos`.
    Alt { pc: usize, pos: usize },
    /// Put back a capture slot and the last closed group.
    Slot {
        slot: usize,
        old: usize,
        lastindex: usize,
    },
    /// Put back a loop register.
    Reg { r: usize, count: u32, last: usize },
    /// A greedy one-character repeat that may give back characters down to `min_pos`.
    Greedy {
        pc: usize,
        min_pos: usize,
        pos: usize,
    },
    /// A lazy one-character repeat that may take one more character.
    Lazy {
        pc: usize,
        pos: usize,
        count: u32,
        max: u32,
        one: One,
    },
    /// The start of an atomic group or positive lookaround (`pos`: where a lookaround started).
    Barrier { pos: usize },
    /// The start of a negative lookaround: reached by backtracking, its body failed, so the
    /// assertion holds and matching goes on at `pc` with `pos`.
    NegLook { pc: usize, pos: usize },
}

/// Why a match stopped before it finished.
pub struct Interrupted;

/// How `run` must match: at one position, the whole text, or anywhere.
#[derive(Clone, Copy, PartialEq)]
pub enum Mode {
    Match,
    FullMatch,
    Search,
}

pub struct Matcher<'a, T: Text + ?Sized> {
    prog: &'a Program,
    text: &'a T,
    /// `endpos`: characters from here on are invisible.
    end: usize,
    pub slots: Vec<usize>,
    pub lastindex: usize,
    regs: Vec<(u32, usize)>,
    stack: Vec<Bt>,
    steps: u32,
}

/// A matcher's vectors, kept per thread between matches so that a match in a loop does not
/// allocate them each time.
type Spare = (Vec<usize>, Vec<(u32, usize)>, Vec<Bt>);

thread_local! {
    static SPARE: RefCell<Option<Spare>> = const { RefCell::new(None) };
}

/// A backtrack stack larger than this is freed after its match rather than kept.
const SPARE_STACK_LIMIT: usize = 1 << 12;

impl<T: Text + ?Sized> Drop for Matcher<'_, T> {
    fn drop(&mut self) {
        if self.stack.capacity() > SPARE_STACK_LIMIT {
            return;
        }
        let spare = (
            std::mem::take(&mut self.slots),
            std::mem::take(&mut self.regs),
            std::mem::take(&mut self.stack),
        );
        let _ = SPARE.try_with(|s| {
            if let Ok(mut s) = s.try_borrow_mut() {
                *s = Some(spare);
            }
        });
    }
}

impl<'a, T: Text + ?Sized> Matcher<'a, T> {
    pub fn new(prog: &'a Program, text: &'a T, end: usize) -> Matcher<'a, T> {
        let (mut slots, mut regs, mut stack) = SPARE
            .try_with(|s| s.try_borrow_mut().ok().and_then(|mut s| s.take()))
            .ok()
            .flatten()
            .unwrap_or_else(|| (Vec::new(), Vec::new(), Vec::with_capacity(32)));
        slots.clear();
        slots.resize(2 * prog.groups, NONE);
        regs.clear();
        regs.resize(prog.regs, (0, NONE));
        stack.clear();
        Matcher {
            prog,
            text,
            end: end.min(text.len()),
            slots,
            lastindex: 0,
            regs,
            stack,
            steps: 0,
        }
    }

    #[inline]
    fn test(&self, one: One, c: u32) -> bool {
        match one {
            One::Char(x) => c == x,
            One::Fold(x, case) => fold(c, case) == x,
            One::Any => c != u32::from(b'\n'),
            One::AnyAll => true,
            One::Set(i) => self.prog.sets[i].matches(c),
        }
    }

    fn at(&self, a: At, pos: usize) -> bool {
        let nl = u32::from(b'\n');
        match a {
            At::Start => pos == 0,
            At::StartLine => pos == 0 || self.text.at(pos - 1) == nl,
            At::End => pos == self.end || (pos + 1 == self.end && self.text.at(pos) == nl),
            At::EndLine => pos == self.end || self.text.at(pos) == nl,
            At::EndString => pos == self.end,
            At::Boundary(u) | At::NonBoundary(u) => {
                if self.end == 0 {
                    return false;
                }
                let before = pos > 0 && is_word(self.text.at(pos - 1), u);
                let after = pos < self.end && is_word(self.text.at(pos), u);
                (before != after) == matches!(a, At::Boundary(_))
            }
        }
    }

    /// Find a match from `start` as `mode` says; the captures are then in `slots`. With
    /// `must_advance`, a match at `start` must not be empty (the rule `finditer`, `sub` and
    /// `split` follow after an empty match).
    pub fn search(
        &mut self,
        start: usize,
        mode: Mode,
        must_advance: bool,
        interrupt: &mut dyn FnMut() -> bool,
    ) -> Result<bool, Interrupted> {
        if start > self.end {
            return Ok(false);
        }
        if mode != Mode::Search {
            return self.run(start, mode == Mode::FullMatch, must_advance, interrupt);
        }
        if self.prog.anchored {
            return if start == 0 {
                self.run(0, false, must_advance, interrupt)
            } else {
                Ok(false)
            };
        }
        let mut p = start;
        while p <= self.end {
            if let Some(first) = self.prog.first {
                // Skip positions whose character cannot begin a match.
                while p < self.end && !self.test(first, self.text.at(p)) {
                    p += 1;
                }
                if p >= self.end {
                    return Ok(false);
                }
            }
            if self.run(p, false, must_advance && p == start, interrupt)? {
                return Ok(true);
            }
            p += 1;
        }
        Ok(false)
    }

    /// Undo entries down to the nearest barrier (dropping it), keeping the restores below the
    /// body's alternatives; the barrier's position.
    fn cut(&mut self) -> usize {
        let Some(i) = self
            .stack
            .iter()
            .rposition(|e| matches!(e, Bt::Barrier { .. }))
        else {
            return 0;
        };
        let pos = match self.stack[i] {
            Bt::Barrier { pos } => pos,
            _ => 0,
        };
        let mut w = i;
        for r in i + 1..self.stack.len() {
            let e = self.stack[r];
            if matches!(e, Bt::Slot { .. } | Bt::Reg { .. }) {
                self.stack[w] = e;
                w += 1;
            }
        }
        self.stack.truncate(w);
        pos
    }

    /// Backtrack: the next place to resume, or `None` when every alternative failed.
    fn backtrack(&mut self) -> Option<(usize, usize)> {
        loop {
            let e = self.stack.pop()?;
            match e {
                Bt::Alt { pc, pos } => return Some((pc, pos)),
                Bt::Slot {
                    slot,
                    old,
                    lastindex,
                } => {
                    self.slots[slot] = old;
                    self.lastindex = lastindex;
                }
                Bt::Reg { r, count, last } => self.regs[r] = (count, last),
                Bt::Greedy { pc, min_pos, pos } => {
                    let mut np = pos - 1;
                    // A literal must follow: give back characters until it can.
                    if let Some(Inst::One(One::Char(c))) = self.prog.insts.get(pc) {
                        while np > min_pos && (np >= self.end || self.text.at(np) != *c) {
                            np -= 1;
                        }
                    }
                    if np > min_pos {
                        self.stack.push(Bt::Greedy {
                            pc,
                            min_pos,
                            pos: np,
                        });
                    }
                    return Some((pc, np));
                }
                Bt::Lazy {
                    pc,
                    pos,
                    count,
                    max,
                    one,
                } => {
                    if count < max && pos < self.end && self.test(one, self.text.at(pos)) {
                        self.stack.push(Bt::Lazy {
                            pc,
                            pos: pos + 1,
                            count: count + 1,
                            max,
                            one,
                        });
                        return Some((pc, pos + 1));
                    }
                }
                Bt::Barrier { .. } => {}
                Bt::NegLook { pc, pos } => return Some((pc, pos)),
            }
        }
    }

    fn set_slot(&mut self, slot: usize, pos: usize) {
        self.stack.push(Bt::Slot {
            slot,
            old: self.slots[slot],
            lastindex: self.lastindex,
        });
        self.slots[slot] = pos;
        if slot & 1 == 1 && slot > 1 {
            self.lastindex = slot / 2;
        }
    }

    fn save_reg(&mut self, r: usize) {
        let (count, last) = self.regs[r];
        self.stack.push(Bt::Reg { r, count, last });
    }

    /// Match at `start` exactly.
    fn run(
        &mut self,
        start: usize,
        full: bool,
        must_advance: bool,
        interrupt: &mut dyn FnMut() -> bool,
    ) -> Result<bool, Interrupted> {
        self.slots.fill(NONE);
        self.lastindex = 0;
        self.stack.clear();
        let insts = &self.prog.insts;
        let mut pc = 0usize;
        let mut pos = start;
        loop {
            self.steps = self.steps.wrapping_add(1);
            if self.steps & 0xffff == 0 && interrupt() {
                return Err(Interrupted);
            }
            let ok = match insts[pc] {
                Inst::One(one) => {
                    if pos < self.end && self.test(one, self.text.at(pos)) {
                        pos += 1;
                        pc += 1;
                        true
                    } else {
                        false
                    }
                }
                Inst::At(a) => {
                    pc += 1;
                    self.at(a, pos)
                }
                Inst::Save(s) => {
                    self.set_slot(s, pos);
                    pc += 1;
                    true
                }
                Inst::Split(a, b) => {
                    self.stack.push(Bt::Alt { pc: b, pos });
                    pc = a;
                    true
                }
                Inst::Jmp(a) => {
                    pc = a;
                    true
                }
                Inst::RepStart(r) => {
                    self.save_reg(r);
                    self.regs[r] = (0, NONE);
                    pc += 1;
                    true
                }
                Inst::RepCheck {
                    r,
                    min,
                    max,
                    greedy,
                    body,
                    exit,
                } => {
                    let (count, last) = self.regs[r];
                    if count < min {
                        self.save_reg(r);
                        self.regs[r] = (count + 1, pos);
                        pc = body;
                    } else if pos == last || count >= max {
                        // An iteration that matched nothing ends the loop, as in sre.
                        pc = exit;
                    } else if greedy {
                        self.stack.push(Bt::Alt { pc: exit, pos });
                        self.save_reg(r);
                        self.regs[r] = (count + 1, pos);
                        pc = body;
                    } else {
                        self.stack.push(Bt::Alt { pc: pc + 1, pos });
                        pc = exit;
                    }
                    true
                }
                Inst::RepIter { r, body } => {
                    let (count, _) = self.regs[r];
                    self.save_reg(r);
                    self.regs[r] = (count + 1, pos);
                    pc = body;
                    true
                }
                Inst::Single {
                    one,
                    min,
                    max,
                    kind,
                } => {
                    let limit = self.end.min(pos.saturating_add(max as usize));
                    let need = pos.saturating_add(min as usize);
                    if need > self.end {
                        false
                    } else if kind == RepeatKind::Lazy {
                        let mut p = pos;
                        while p < need && self.test(one, self.text.at(p)) {
                            p += 1;
                        }
                        if p < need {
                            false
                        } else {
                            self.stack.push(Bt::Lazy {
                                pc: pc + 1,
                                pos: p,
                                count: min,
                                max,
                                one,
                            });
                            pos = p;
                            pc += 1;
                            true
                        }
                    } else {
                        let mut p = pos;
                        while p < limit && self.test(one, self.text.at(p)) {
                            p += 1;
                        }
                        if p < need {
                            false
                        } else {
                            if kind == RepeatKind::Greedy && p > need {
                                self.stack.push(Bt::Greedy {
                                    pc: pc + 1,
                                    min_pos: need,
                                    pos: p,
                                });
                            }
                            pos = p;
                            pc += 1;
                            true
                        }
                    }
                }
                Inst::AtomicStart => {
                    self.stack.push(Bt::Barrier { pos });
                    pc += 1;
                    true
                }
                Inst::AtomicEnd => {
                    self.cut();
                    pc += 1;
                    true
                }
                Inst::LookStart { back, negate, end } => {
                    let back = back.unwrap_or(0);
                    if pos < back {
                        // A lookbehind reaching before the text cannot match.
                        if negate {
                            pc = end;
                            true
                        } else {
                            false
                        }
                    } else {
                        if negate {
                            self.stack.push(Bt::NegLook { pc: end, pos });
                        } else {
                            self.stack.push(Bt::Barrier { pos });
                        }
                        pos -= back;
                        pc += 1;
                        true
                    }
                }
                Inst::LookEnd { negate: false } => {
                    pos = self.cut();
                    pc += 1;
                    true
                }
                Inst::LookEnd { negate: true } => {
                    // The body matched, so the negative assertion fails: undo everything
                    // back to its start, then backtrack from there.
                    while let Some(e) = self.stack.pop() {
                        match e {
                            Bt::Slot {
                                slot,
                                old,
                                lastindex,
                            } => {
                                self.slots[slot] = old;
                                self.lastindex = lastindex;
                            }
                            Bt::Reg { r, count, last } => self.regs[r] = (count, last),
                            Bt::NegLook { .. } => break,
                            _ => {}
                        }
                    }
                    false
                }
                Inst::Backref(g, case) => {
                    let (s, e) = (
                        self.slots.get(2 * g).copied().unwrap_or(NONE),
                        self.slots.get(2 * g + 1).copied().unwrap_or(NONE),
                    );
                    if s == NONE || e == NONE || e < s {
                        false
                    } else {
                        let len = e - s;
                        if pos + len > self.end {
                            false
                        } else {
                            let same = (0..len).all(|k| {
                                let a = self.text.at(s + k);
                                let b = self.text.at(pos + k);
                                a == b || (case != Case::Exact && fold(a, case) == fold(b, case))
                            });
                            if same {
                                pos += len;
                                pc += 1;
                            }
                            same
                        }
                    }
                }
                Inst::Cond(g, no) => {
                    let set = self.slots.get(2 * g + 1).is_some_and(|&e| e != NONE)
                        && self.slots.get(2 * g).is_some_and(|&s| s != NONE);
                    pc = if set { pc + 1 } else { no };
                    true
                }
                Inst::Match => {
                    if (full && pos != self.end) || (must_advance && pos == start) {
                        false
                    } else {
                        return Ok(true);
                    }
                }
            };
            if !ok {
                match self.backtrack() {
                    Some((p, q)) => {
                        pc = p;
                        pos = q;
                    }
                    None => return Ok(false),
                }
            }
        }
    }
}
