//! Stages 2 and 3 of the minivm pipeline: tokens to AST (`parser`), AST to bytecode (`compile`).
//!
//! This crate owns the bytecode format (`bytecode`) and its disassembler (`dis`); the VM only consumes it.

pub mod ast;
pub mod bytecode;

pub use minivm_lexer::{LineIndex, Span, SyntaxError, SyntaxErrorKind};
