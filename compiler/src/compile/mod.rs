//! Stage 3b: AST to bytecode. Owned by the compiler work.

use std::sync::Arc;

use crate::ast::Module;
use crate::bytecode::CodeObject;
use crate::SyntaxError;

/// How a module is compiled: a file, or one REPL entry (expression statements echo their value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    File,
    Interactive,
}

/// Compile a parsed module. `src` is only used to turn spans into line numbers.
pub fn compile_module(
    module: &Module,
    filename: &str,
    src: &str,
    mode: Mode,
) -> Result<Arc<CodeObject>, SyntaxError> {
    let _ = (module, filename, src, mode);
    Err(SyntaxError::syntax("compiler not written yet", crate::Span::default()))
}
