//! A frame: one running function's instruction pointer, local slots, operand stack and handlers.

use crate::heap::Ref;
use crate::interp::code::Code;
use crate::object::{CellObj, Dict};
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
    pub locals: Vec<Value>,
    pub stack: Vec<Value>,
    /// cellvars then freevars.
    pub cells: Vec<Ref<CellObj>>,
    pub handlers: Vec<Handler>,
    /// The class namespace while a class body runs.
    pub namespace: Option<Ref<Dict>>,
    /// The exception being handled when this frame was entered (restored when it exits); for a
    /// suspended generator's frame, the exception the generator itself is handling.
    pub saved_exc: Option<Value>,
}

impl Frame {
    pub fn line(&self) -> u32 {
        self.code.line_at(self.ip.saturating_sub(1))
    }

    /// The source range of the instruction running (or last run).
    pub fn span(&self) -> (u32, u32) {
        self.code.span_at(self.ip.saturating_sub(1))
    }

    /// Empty a finished frame for reuse (`Interp::recycle`), keeping its vectors' capacity. Runs
    /// on every return, so empty vectors and fields are left alone.
    #[inline]
    pub(crate) fn reset(&mut self) {
        // In slot order, as CPython clears a frame (a freed generator is closed in that order).
        self.locals.clear();
        if !self.stack.is_empty() {
            self.stack.clear();
        }
        if !self.cells.is_empty() {
            self.cells.clear();
        }
        self.handlers.clear();
        if self.namespace.is_some() {
            self.namespace = None;
        }
        if let Some(v) = self.saved_exc.take() {
            v.discard();
        }
    }
}
