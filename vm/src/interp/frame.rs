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
}
