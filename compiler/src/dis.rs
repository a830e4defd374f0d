//! `minivm dis`: bytecode listings like `python -m dis`. Owned by the compiler work.

use crate::bytecode::CodeObject;

/// Disassemble a code object and, after it, every code object nested in its constants.
pub fn disassemble(code: &CodeObject) -> String {
    format!("{code:?}")
}
