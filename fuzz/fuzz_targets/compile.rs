//! Fuzz target over the front end (stages 0-3): any bytes, read as a source file (decoding,
//! newlines, NUL bytes), go through the lexer, the parser and the compiler. Every input must end
//! in a value or a `SyntaxError`: a panic, an abort or a stack overflow is a bug (the promise:
//! never a crash, whatever the input).
//!
//! Run it with `cargo +nightly fuzz run compile` in this folder (tests/README.md).

#![no_main]

use libfuzzer_sys::fuzz_target;
use minivm_compiler::{compile_source, Mode};
use minivm_lexer::{decode_source, Origin, SourceError};

/// The front end may need up to about 16 MiB of stack at CPython's nesting limits; the command
/// line runs it on a 256 MiB thread, and so does this target (libFuzzer's thread has 8 MiB).
const STACK: usize = 64 << 20;

fuzz_target!(|data: &[u8]| {
    let data = data.to_vec();
    let run = std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || front_end(&data));
    if let Ok(handle) = run {
        // A panic in the thread is re-raised here, where libFuzzer sees it.
        if let Err(panic) = handle.join() {
            std::panic::resume_unwind(panic);
        }
    }
});

fn front_end(data: &[u8]) {
    for origin in [Origin::Script, Origin::Import] {
        if let Err(SourceError::Located { error, text }) = decode_source(data, "<fuzz>", origin) {
            let _ = error.render("<fuzz>", &text);
        }
    }
    let Ok(src) = decode_source(data, "<fuzz>", Origin::Script) else {
        return;
    };
    let _ = minivm_lexer::dump_tokens(&src);
    let _ = minivm_compiler::parser::parse(&src);
    let _ = minivm_compiler::parser::input_is_incomplete(&src);
    for mode in [Mode::File, Mode::Interactive] {
        if let Err(e) = compile_source(&src, "<fuzz>", mode) {
            // Rendering the error reads the source around the span: it must not panic either.
            let _ = e.render("<fuzz>", &src);
            let _ = e.render_gnu("<fuzz>", &src);
        }
    }
}
