//! `re` (stdlib stage), the compiler: a parsed pattern ([`Node`]) to a flat program of
//! instructions ([`Inst`]) for the backtracking matcher (`exec.rs`), as sre's `_compiler`
//! turns the parse tree into the code `_sre` runs. A repeat of one character (`a*`, `\d+`,
//! `[^"]*?`) becomes one [`Inst::Single`], which the matcher runs as a tight loop; other repeats
//! use a counter register ([`Inst::RepStart`]/[`Inst::RepCheck`]) with sre's rules (greedy, lazy,
//! possessive; an iteration that matched nothing ends the loop).

use super::chars::{fold, ClassItem, ClassSet};
use super::parse::{width, At, Case, Node, ReError, RepeatKind, MAXREPEAT};

/// A test of one character.
#[derive(Debug, Clone, Copy)]
pub enum One {
    Char(u32),
    /// A character compared after case folding (the folded literal).
    Fold(u32, Case),
    /// `.` without DOTALL.
    Any,
    /// `.` with DOTALL.
    AnyAll,
    Set(usize),
}

#[derive(Debug, Clone, Copy)]
pub enum Inst {
    One(One),
    At(At),
    /// Record the position in a capture slot (2g: start of group g, 2g+1: its end).
    Save(usize),
    /// Continue at `first`; on backtracking, at `second` (same position).
    Split(usize, usize),
    Jmp(usize),
    /// Enter a counted loop: save register `r`, set its count to 0.
    RepStart(usize),
    /// Decide whether to run the body of loop `r` again.
    RepCheck {
        r: usize,
        min: u32,
        max: u32,
        greedy: bool,
        body: usize,
        exit: usize,
    },
    /// Run one more iteration of lazy loop `r` (where its backtracking resumes).
    RepIter {
        r: usize,
        body: usize,
    },
    /// A repeat of one character test.
    Single {
        one: One,
        min: u32,
        max: u32,
        kind: RepeatKind,
    },
    AtomicStart,
    /// End of an atomic group: forget the alternatives its body left.
    AtomicEnd,
    /// Start of a lookaround; `back` is the width a lookbehind steps back; `end` is the
    /// instruction after the matching [`Inst::LookEnd`].
    LookStart {
        back: Option<usize>,
        negate: bool,
        end: usize,
    },
    LookEnd {
        negate: bool,
    },
    Backref(usize, Case),
    /// `(?(g)yes|no)`: go on if group `g` matched, else jump to `no`.
    Cond(usize, usize),
    Match,
}

pub struct Program {
    pub insts: Vec<Inst>,
    pub sets: Vec<ClassSet>,
    /// Number of loop registers.
    pub regs: usize,
    /// Number of groups, group 0 included.
    pub groups: usize,
    /// A test every match must pass at its first character (for `search` to skip positions).
    pub first: Option<One>,
    /// The pattern can only match at the start of the string (`\A`, `^` without MULTILINE).
    pub anchored: bool,
}

struct Compiler {
    insts: Vec<Inst>,
    sets: Vec<ClassSet>,
    regs: usize,
}

pub fn compile(node: Node, groups: usize) -> Result<Program, ReError> {
    let first = first_test(&node);
    let anchored = starts_anchored(&node);
    let mut c = Compiler {
        insts: Vec::new(),
        sets: Vec::new(),
        regs: 0,
    };
    c.emit(Inst::Save(0));
    c.node(node)?;
    c.emit(Inst::Save(1));
    c.emit(Inst::Match);
    let first = match first {
        Some(FirstTest::One(o)) => Some(o),
        Some(FirstTest::Set(set)) => {
            c.sets.push(set);
            Some(One::Set(c.sets.len() - 1))
        }
        None => None,
    };
    Ok(Program {
        insts: c.insts,
        sets: c.sets,
        regs: c.regs,
        groups,
        first,
        anchored,
    })
}

enum FirstTest {
    One(One),
    Set(ClassSet),
}

/// The test of the first character, when the pattern starts with a literal or a class that
/// must match (not optional; anchors and lookarounds in front are passed over).
fn first_test(node: &Node) -> Option<FirstTest> {
    let mut n = node;
    loop {
        match n {
            Node::Lit(c, Case::Exact) => return Some(FirstTest::One(One::Char(*c))),
            Node::Lit(c, case) => return Some(FirstTest::One(One::Fold(fold(*c, *case), *case))),
            Node::Set(s) => {
                return Some(FirstTest::Set(ClassSet::new(
                    s.negate,
                    s.items.clone(),
                    s.case,
                )))
            }
            // Anchors and lookarounds consume nothing: the first character is the next item's.
            Node::Concat(items) => {
                n = items
                    .iter()
                    .find(|i| !matches!(i, Node::At(_) | Node::Look { .. }))?
            }
            Node::Group(_, b) | Node::Atomic(b) => n = b,
            Node::Repeat { min, body, .. } if *min >= 1 => n = body,
            // Alternatives (`agggtaaa|tttaccct`): the union of their first characters, when
            // each branch starts with a case-sensitive literal or class.
            Node::Alt(branches) => {
                let mut items = Vec::new();
                for b in branches {
                    match first_test(b)? {
                        FirstTest::One(One::Char(c)) => items.push(ClassItem::Lit(c)),
                        FirstTest::Set(s) if !s.negate && s.case == Case::Exact => {
                            items.extend(s.items)
                        }
                        _ => return None,
                    }
                }
                return Some(FirstTest::Set(ClassSet::new(false, items, Case::Exact)));
            }
            _ => return None,
        }
    }
}

fn starts_anchored(node: &Node) -> bool {
    match node {
        Node::At(At::Start) => true,
        Node::Concat(items) => items.first().is_some_and(starts_anchored),
        Node::Group(_, b) | Node::Atomic(b) => starts_anchored(b),
        _ => false,
    }
}

impl Compiler {
    fn emit(&mut self, i: Inst) -> usize {
        self.insts.push(i);
        self.insts.len() - 1
    }

    fn pc(&self) -> usize {
        self.insts.len()
    }

    fn one(&mut self, node: Node) -> Result<One, Node> {
        Ok(match node {
            Node::Lit(c, Case::Exact) => One::Char(c),
            Node::Lit(c, case) => One::Fold(fold(c, case), case),
            Node::Any(false) => One::Any,
            Node::Any(true) => One::AnyAll,
            Node::Set(s) => {
                self.sets.push(*s);
                One::Set(self.sets.len() - 1)
            }
            other => return Err(other),
        })
    }

    fn node(&mut self, node: Node) -> Result<(), ReError> {
        let node = match self.one(node) {
            Ok(one) => {
                self.emit(Inst::One(one));
                return Ok(());
            }
            Err(node) => node,
        };
        match node {
            Node::Empty => {}
            Node::At(a) => {
                self.emit(Inst::At(a));
            }
            Node::Group(g, body) => {
                self.emit(Inst::Save(2 * g));
                self.node(*body)?;
                self.emit(Inst::Save(2 * g + 1));
            }
            Node::Concat(items) => {
                for n in items {
                    self.node(n)?;
                }
            }
            Node::Alt(items) => {
                let mut jumps = Vec::new();
                let count = items.len();
                for (i, n) in items.into_iter().enumerate() {
                    if i + 1 < count {
                        let split = self.emit(Inst::Split(0, 0));
                        self.node(n)?;
                        jumps.push(self.emit(Inst::Jmp(0)));
                        let next = self.pc();
                        self.insts[split] = Inst::Split(split + 1, next);
                    } else {
                        self.node(n)?;
                    }
                }
                let end = self.pc();
                for j in jumps {
                    self.insts[j] = Inst::Jmp(end);
                }
            }
            Node::Repeat {
                min,
                max,
                kind,
                body,
            } => self.repeat(min, max, kind, *body)?,
            Node::Atomic(body) => {
                self.emit(Inst::AtomicStart);
                self.node(*body)?;
                self.emit(Inst::AtomicEnd);
            }
            Node::Backref(g, case) => {
                self.emit(Inst::Backref(g, case));
            }
            Node::Look {
                behind,
                negate,
                body,
            } => {
                let back = if behind {
                    let (lo, hi) = width(&body);
                    if hi != Some(lo) {
                        return Err(ReError::Syntax(
                            "look-behind requires fixed-width pattern".into(),
                            None,
                        ));
                    }
                    Some(
                        usize::try_from(lo)
                            .map_err(|_| ReError::Syntax("looks too much behind".into(), None))?,
                    )
                } else {
                    None
                };
                let start = self.emit(Inst::LookStart {
                    back,
                    negate,
                    end: 0,
                });
                self.node(*body)?;
                self.emit(Inst::LookEnd { negate });
                let end = self.pc();
                self.insts[start] = Inst::LookStart { back, negate, end };
            }
            Node::Cond { group, yes, no } => {
                let cond = self.emit(Inst::Cond(group, 0));
                self.node(*yes)?;
                let jmp = self.emit(Inst::Jmp(0));
                let no_pc = self.pc();
                self.node(*no)?;
                let end = self.pc();
                self.insts[cond] = Inst::Cond(group, no_pc);
                self.insts[jmp] = Inst::Jmp(end);
            }
            Node::Lit(..) | Node::Any(_) | Node::Set(_) => {}
        }
        Ok(())
    }

    fn repeat(&mut self, min: u32, max: u32, kind: RepeatKind, body: Node) -> Result<(), ReError> {
        let body = match self.one(body) {
            Ok(one) => {
                self.emit(Inst::Single {
                    one,
                    min,
                    max,
                    kind,
                });
                return Ok(());
            }
            Err(body) => body,
        };
        if kind == RepeatKind::Possessive {
            self.emit(Inst::AtomicStart);
            self.repeat(min, max, RepeatKind::Greedy, body)?;
            self.emit(Inst::AtomicEnd);
            return Ok(());
        }
        if min == 1 && max == 1 {
            return self.node(body);
        }
        let greedy = kind == RepeatKind::Greedy;
        if min == 0 && max == 1 {
            // `x?` / `x??`: a plain choice.
            let split = self.emit(Inst::Split(0, 0));
            self.node(body)?;
            let end = self.pc();
            self.insts[split] = if greedy {
                Inst::Split(split + 1, end)
            } else {
                Inst::Split(end, split + 1)
            };
            return Ok(());
        }
        let r = self.regs;
        self.regs += 1;
        self.emit(Inst::RepStart(r));
        let check = self.emit(Inst::Jmp(0));
        let iter = self.emit(Inst::RepIter { r, body: 0 });
        let body_pc = self.pc();
        self.node(body)?;
        self.emit(Inst::Jmp(check));
        let exit = self.pc();
        self.insts[check] = Inst::RepCheck {
            r,
            min,
            max,
            greedy,
            body: body_pc,
            exit,
        };
        self.insts[iter] = Inst::RepIter { r, body: body_pc };
        debug_assert!(max == MAXREPEAT || max >= min);
        Ok(())
    }
}
