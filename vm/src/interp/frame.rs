//! Stage 4 (VM), the interpreter.
//! A frame: one running function's instruction pointer, local slots, operand stack and handlers.

use crate::heap::Ref;
use crate::interp::code::Code;
use crate::object::{CellObj, Dict, Instance};
use crate::value::Value;

/// An active `try` (or `with`): where to jump and how deep the stack was when it was entered.
#[derive(Clone, Copy, Debug)]
pub struct Handler {
    pub target: u32,
    pub depth: u32,
}

pub struct Frame {
    pub code: Ref<Code>,
    pub globals: Ref<Dict>,
    pub ip: usize,
    /// The local slots. In a frame kept for reuse (`Interp::frame_pool`) every slot is empty
    /// (`Undefined`) and there are as many as the last function run in it had, so the next call
    /// of a function with as many slots moves its arguments in without growing the vector.
    pub locals: Vec<Value>,
    pub stack: Vec<Value>,
    /// cellvars then freevars.
    pub cells: Vec<Ref<CellObj>>,
    pub handlers: Vec<Handler>,
    /// The class namespace while a class body runs (or the locals of `exec`/`eval`).
    pub namespace: Option<Ref<Dict>>,
    /// Set (with `namespace`) when that namespace is a mapping other than a plain dict (a
    /// `__prepare__` result with `__setitem__`, a `UserDict` given to `exec`): names are then
    /// stored, read and deleted through its `__setitem__`/`__getitem__`/`__delitem__`, as
    /// CPython's `STORE_NAME` does for a non-dict namespace.
    pub mapping: Option<Value>,
    /// The exception being handled when this frame was entered (restored when it exits); for a
    /// suspended generator's frame, the exception the generator itself is handling.
    pub saved_exc: Option<Value>,
    /// Set while this is a generator's frame resumed by a `for` instruction of the frame below
    /// it on `Interp::frames`, in the same dispatch loop (no nested loop): its yield, return or
    /// uncaught exception hands control straight back to that instruction (`run.rs`), whose
    /// iterator, on top of that frame's stack, is the generator.
    pub resumed: Resumed,
    /// Set when `yield_inline` parks this generator frame on its `YieldFrom` again (a level of
    /// a `yield from` chain that yielded): the next `YieldFrom` that resumes it takes the flag
    /// and runs this frame's `YieldFrom` too (`descend_yield_from`, which checks the
    /// instruction; a flag left over costs that check, nothing else).
    pub parked: bool,
    /// With `Resumed::Init`: the instance the class call made, its value when `__init__` returns.
    /// With `Resumed::Property` (or `PropertyReturn`): the instance whose property the getter
    /// reads.
    pub made: Option<Ref<Instance>>,
    /// Set when an exception's traceback took an entry for this function frame: the cell that
    /// entry shares (`TraceEntry::locals`), which receives the frame's variables (its
    /// `f_locals` dict) when the frame finishes (`reset`).
    pub traced: Option<Ref<CellObj>>,
    /// Set wherever `cells`, `namespace`, `saved_exc`, `made` or `traced` is given something
    /// (cleared by `reset`): when it is false, `reset` skips testing those five one by one,
    /// the usual return of a plain function or method (`set_extras`).
    pub extras: bool,
}

/// Finished frames kept for reuse (`Interp::frame_pool`), emptied by `Frame::reset` but with
/// their vectors' capacity, so that a call allocates nothing. Last in, first out: the frame
/// finished last is often the one the next call wants (a loop calling one function, recursion),
/// with the right code, globals and slots already. That one is kept apart (`last`), so the
/// usual return-then-call takes and gives it back without touching the vector. (One vector
/// alone, with inline pushes, measured worse: callgrind, deltablue +0.5%, richards +0.4%.)
#[derive(Default)]
pub struct FramePool {
    last: Option<Box<Frame>>,
    /// Boxes, as everywhere frames go (`Interp::frames`, a generator): taking one out moves
    /// a pointer, not the frame.
    #[allow(clippy::vec_box)]
    rest: Vec<Box<Frame>>,
}

impl FramePool {
    /// At most this many frames are kept; the others are freed.
    const MAX: usize = 64;

    #[inline(always)]
    pub fn pop(&mut self) -> Option<Box<Frame>> {
        match self.last.take() {
            Some(f) => Some(f),
            None => self.rest.pop(),
        }
    }

    /// Whether `push` would keep another frame.
    #[inline(always)]
    pub fn has_room(&self) -> bool {
        self.last.is_none() || self.rest.len() < Self::MAX
    }

    /// Keep `frame` (reset), the next to be popped. The frame it displaces as `last` goes on
    /// `rest` by an inline push (`heap::push_inline`): as a call of its own (`Vec::push` out of
    /// line) it cost about 22 machine instructions at each return that found `last` taken
    /// (deltablue: a third of its returns, callgrind).
    #[inline(always)]
    pub fn push(&mut self, frame: Box<Frame>) {
        if let Some(older) = self.last.replace(frame) {
            if self.rest.len() < Self::MAX {
                crate::heap::push_inline(&mut self.rest, older);
            } else {
                Self::free(older);
            }
        }
    }

    /// A frame the pool has no room for (the caller checks `has_room` first: rare).
    #[cold]
    #[inline(never)]
    fn free(frame: Box<Frame>) {
        drop(frame);
    }

    pub fn is_empty(&self) -> bool {
        self.last.is_none() && self.rest.is_empty()
    }

    /// Free every frame kept (with the counts they hold on code and globals).
    pub fn clear(&mut self) {
        self.last = None;
        self.rest.clear();
    }
}

/// How a frame was resumed (`Frame::resumed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resumed {
    /// Called, or resumed by a nested loop (`gen_resume`): it ends by returning or yielding
    /// out of its loop.
    No,
    /// A generator's frame resumed by a `for` (`ForIter` and its forms) of the frame below.
    /// Neither side handled an exception, so the exception state was not swapped.
    ByFor,
    /// As `ByFor`, the exception states swapped (`enter_generator_exc`).
    ByForSwapped,
    /// A generator's frame resumed by the `YieldFrom` of the (generator) frame below, which
    /// yields what this one yields; the exception state not swapped.
    ByYieldFrom,
    /// As `ByYieldFrom`, the exception states swapped.
    ByYieldFromSwapped,
    /// The `__init__` of a plain class called by the frame below (`try_push_call`): when it
    /// returns (`None`), the call's value is the new instance (`Frame::made`).
    Init,
    /// A property's getter run for the `LOAD_ATTR` of the frame below (`load_attr_or_getter`):
    /// its value is the attribute's; an `AttributeError` leaving it is given the instance
    /// (`Frame::made`) and the name, as CPython's attribute read does.
    Property,
    /// As `Property`, for the `RETURN_ATTR_LOCAL` (`return self.name`) of the frame below,
    /// which then returns the value in turn (`run.rs: return_inline`). Never given to a getter
    /// read by the frame a dispatch loop started with (that frame's return leaves the loop).
    PropertyReturn,
    /// A class's Python `__setitem__` run for the `STORE_SUBSCR` of the frame below
    /// (`call.rs: try_push_setitem`): its value is dropped, nothing pushed.
    Store,
    /// A class's Python `__len__` run for a `len(obj)` call of the frame below
    /// (`call.rs: try_push_len`): its value, checked as `len` checks it, is the call's.
    Len,
}

impl Resumed {
    /// The resumer's and the generator's exceptions were swapped (`leave_inline` swaps back).
    pub fn swapped(self) -> bool {
        matches!(self, Resumed::ByForSwapped | Resumed::ByYieldFromSwapped)
    }

    /// A generator's frame resumed in the loop of the frame below it.
    pub fn is_generator(self) -> bool {
        !matches!(
            self,
            Resumed::No
                | Resumed::Init
                | Resumed::Property
                | Resumed::PropertyReturn
                | Resumed::Store
                | Resumed::Len
        )
    }

    /// Resumed by a `for` (else by `YieldFrom`, or not at all).
    pub fn by_for(self) -> bool {
        matches!(self, Resumed::ByFor | Resumed::ByForSwapped)
    }
}

impl Frame {
    pub fn line(&self) -> u32 {
        self.code.line_at(self.ip.saturating_sub(1))
    }

    /// The source range of the instruction running (or last run).
    pub fn span(&self) -> (u32, u32) {
        self.code.span_at(self.ip.saturating_sub(1))
    }

    /// Note that `cells`, `namespace`, `saved_exc`, `made` or `traced` holds something (or is
    /// about to): `reset` then empties them.
    #[inline(always)]
    pub fn set_extras(&mut self) {
        self.extras = true;
    }

    /// Empty a finished frame for reuse (`Interp::recycle`), keeping its vectors' capacity. Runs
    /// on every return, so empty vectors and fields are left alone.
    #[inline(always)]
    pub(crate) fn reset(&mut self) {
        // In slot order, as CPython clears a frame (a freed generator is closed in that order).
        // The slots stay, empty, for the next call (`Interp::enter_plain`). Only the code's own
        // slots can hold values: those past them are the spare empty ones a pooled frame keeps
        // from a function with more (`call.rs: take_args`, up to `SPARE_SLOTS`), which the
        // loop walked at every return (callgrind, deltablue: about 4 empty slots per return of
        // its one-line methods, 9 machine instructions each).
        debug_assert!(
            self.extras
                || (self.cells.is_empty()
                    && self.namespace.is_none()
                    && self.saved_exc.is_none()
                    && self.made.is_none()
                    && self.traced.is_none())
        );
        // Before the slots are emptied: a traceback's cell takes the variables.
        if self.extras && self.traced.is_some() {
            self.leave_traced();
        }
        let n = self.code.nlocals.min(self.locals.len());
        debug_assert!(self.locals[n..]
            .iter()
            .all(|v| matches!(v, Value::Undefined)));
        for v in self.locals[..n].iter_mut() {
            std::mem::take(v).discard();
        }
        if !self.stack.is_empty() {
            self.stack.clear();
        }
        self.handlers.clear();
        self.resumed = Resumed::No;
        if self.extras {
            self.reset_extras();
        }
    }

    /// `reset`'s part for a frame that had cells, a namespace, a saved exception, an instance
    /// made or a traceback's cell (`extras`).
    #[inline(always)]
    fn reset_extras(&mut self) {
        self.extras = false;
        if !self.cells.is_empty() {
            self.cells.clear();
        }
        if self.namespace.is_some() {
            self.namespace = None;
            self.mapping = None;
        }
        // Tested before it is taken: a return has usually taken it already (`run.rs`), and a
        // plain test is 2 machine instructions where `take` stores an empty value and then
        // tests what it took out (about 9, callgrind).
        if self.saved_exc.is_some() {
            if let Some(v) = self.saved_exc.take() {
                v.discard();
            }
        }
        if self.made.is_some() {
            self.made = None;
        }
        if self.traced.is_some() {
            self.traced = None;
        }
    }

    /// A finished function frame a traceback took an entry of: the cell that entry keeps
    /// gets the frame's variables (`tb_frame.f_locals`), unless no traceback holds the cell
    /// any more (the exception is gone: the usual `except KeyError: pass`).
    #[cold]
    #[inline(never)]
    fn leave_traced(&mut self) {
        if let Some(cell) = self.traced.take() {
            if Ref::count(&cell) > 1 {
                cell.set(crate::builtins::frame_locals(self));
            }
        }
    }
}
