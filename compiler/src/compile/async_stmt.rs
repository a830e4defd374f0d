//! Stage 3b: the code of `await`, `async for` and the awaiting halves of `async with` and async
//! comprehensions.
//!
//! Awaiting reuses the generator machinery, as CPython does: `GetAwaitable` turns the operand into
//! an iterator (a coroutine stays itself, else `__await__()`), then `LoadConst None; YieldFrom`
//! drives it, passing every value it yields out to whoever runs the coroutine (the event loop) and
//! leaving its return value on the stack.

use super::Compiler;
use crate::bytecode::{Constant, Label, Op};

impl<'a> Compiler<'a> {
    /// `[.., x] -> [.., result of await x]`
    pub(crate) fn emit_await(&mut self) {
        self.emit(Op::GetAwaitable);
        self.emit_const(Constant::None);
        self.emit(Op::YieldFrom);
    }

    /// One step of an `async for` loop with `[.., aiter]` on the stack: `[.., aiter, next item]`,
    /// or, once `__anext__` raises `StopAsyncIteration`, a jump to `done` with `[.., aiter, exc]`
    /// (where the caller puts `EndAsyncFor`).
    pub(crate) fn async_for_next(&mut self, done: Label) {
        self.emit(Op::SetupExcept(done));
        self.emit(Op::GetANext);
        self.emit_await();
        self.emit(Op::PopBlock);
    }
}
