//! Fuzz target over the front end (stages 1-3): any bytes, taken as source text, go through the
//! lexer, the parser and the compiler. Every input must end in a value or a `SyntaxError`: a
//! panic, an abort or a stack overflow is a bug (the promise: never a crash, whatever the input).
//!
//! Run it with `cargo +nightly fuzz run compile` in this folder (tests/README.md).

#![no_main]

use libfuzzer_sys::fuzz_target;
use minivm_compiler::{compile_source, Mode};

fuzz_target!(|data: &[u8]| {
    // minivm reads source files as UTF-8 (invalid UTF-8 is rejected before the lexer).
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let _ = minivm_lexer::dump_tokens(src);
    let _ = minivm_compiler::parser::parse(src);
    let _ = minivm_compiler::parser::input_is_incomplete(src);
    for mode in [Mode::File, Mode::Interactive] {
        if let Err(e) = compile_source(src, "<fuzz>", mode) {
            // Rendering the error reads the source around the span: it must not panic either.
            let _ = e.render("<fuzz>", src);
        }
    }
});
