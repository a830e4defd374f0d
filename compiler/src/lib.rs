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

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

/// CPython's optimization level (`-O`: 1, `-OO`: 2, or `PYTHONOPTIMIZE`), one per process, set
/// before anything is compiled: from 1 on, `assert` statements compile to nothing and
/// `__debug__` is False; from 2 on, docstrings are dropped too.
static OPTIMIZE: AtomicU8 = AtomicU8::new(0);

/// Set the optimization level (`minivm -O`) before the program is compiled.
pub fn set_optimize(level: u8) {
    OPTIMIZE.store(level, Ordering::Relaxed);
}

/// The optimization level [`set_optimize`] chose (0 unless `-O` or `PYTHONOPTIMIZE`).
pub fn optimize() -> u8 {
    OPTIMIZE.load(Ordering::Relaxed)
}

/// How identifiers that are not ASCII are normalized (PEP 3131: NFKC, so `ﬁ` and `fi` are one
/// name). The tables live with `unicodedata` in the VM, which sets this before it compiles
/// anything; unset (the build script compiling the ASCII library), names are kept as written.
static NORMALIZE_NAME: std::sync::OnceLock<fn(&str) -> Option<String>> = std::sync::OnceLock::new();

/// Set the NFKC normalization of identifiers (see [`NORMALIZE_NAME`]); the first setting stays.
pub fn set_name_normalizer(f: fn(&str) -> Option<String>) {
    let _ = NORMALIZE_NAME.set(f);
}

/// An identifier as the program means it: NFKC-normalized when it is not ASCII.
pub(crate) fn normalized_name(text: &str) -> String {
    if !text.is_ascii() {
        if let Some(n) = NORMALIZE_NAME.get().and_then(|f| f(text)) {
            return n;
        }
    }
    text.to_string()
}

pub use compile::{take_warnings, CompileWarning, Mode, WarningStage};
pub use minivm_lexer::{
    decode_source, ErrorEnd, LineIndex, Origin, SourceError, Span, SyntaxError, SyntaxErrorKind,
    CP1252_HIGH,
};

/// Parse and compile source text in one step.
/// Its warnings (`x is 1`, `"\d"`) are kept for [`take_warnings`], also those found before it
/// failed.
pub fn compile_source(
    src: &str,
    filename: &str,
    mode: Mode,
) -> Result<Arc<bytecode::CodeObject>, SyntaxError> {
    compile::warn_clear();
    let (module, warnings) = match mode {
        Mode::Single => parser::parse_single_warned(src),
        Mode::Eval => parser::parse_eval_warned(src),
        _ => parser::parse_warned(src),
    };
    // The tokenizer's and parser's warnings come first, as CPython issues them while it parses.
    compile::record_warnings(warnings);
    compile::compile_module(&module?, filename, src, mode)
}
