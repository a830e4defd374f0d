//! Stages 2 and 3 of the minivm pipeline: tokens to AST (`parser`), AST to bytecode (`compile`).
//!
//! This crate owns the bytecode format (`bytecode`) and its disassembler (`dis`); the VM only consumes it.

// The opcode table's `partition!` sorts ~100 opcodes one per expansion step.
#![recursion_limit = "256"]

#[macro_use]
mod optable;

pub mod ast;
pub mod astdump;
pub mod bytecode;
pub mod compile;
pub mod dis;
pub mod parser;
pub mod serialize;
pub mod symtable;

use std::sync::Arc;

pub use compile::Mode;
pub use minivm_lexer::{
    decode_source, ErrorEnd, LineIndex, Origin, SourceError, Span, SyntaxError, SyntaxErrorKind,
};

/// Parse and compile source text in one step.
pub fn compile_source(
    src: &str,
    filename: &str,
    mode: Mode,
) -> Result<Arc<bytecode::CodeObject>, SyntaxError> {
    let module = if mode == Mode::Single {
        parser::parse_single(src)?
    } else {
        parser::parse(src)?
    };
    compile::compile_module(&module, filename, src, mode)
}
