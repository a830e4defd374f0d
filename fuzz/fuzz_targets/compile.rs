//! Fuzz target over the front end (stages 0-3): any bytes, read as a source file (decoding,
//! newlines, NUL bytes), go through the lexer, the parser and the compiler. Every input must end
//! in a value or a `SyntaxError`: a panic, an abort or a stack overflow is a bug (the promise:
//! never a crash, whatever the input).
//!
//! Run it with `cargo +nightly fuzz run compile` in this folder (tests/README.md).

#![no_main]

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use minivm_compiler::{compile_source, Mode};
use minivm_lexer::{decode_source, Origin, SourceError};

/// The front end may need up to about 16 MiB of stack at CPython's nesting limits; the command
/// line runs it on a 256 MiB thread; this target gives it 64 MiB (four times that need;
/// libFuzzer's own thread has 8 MiB), on one long-lived worker thread (a new thread per input
/// would be slow under the sanitizer).
const STACK: usize = 64 << 20;

type Outcome = std::thread::Result<()>;

/// The worker: inputs in, each one's outcome (a panic's payload included) out.
fn worker() -> &'static Mutex<(Sender<Vec<u8>>, Receiver<Outcome>)> {
    static WORKER: OnceLock<Mutex<(Sender<Vec<u8>>, Receiver<Outcome>)>> = OnceLock::new();
    WORKER.get_or_init(|| {
        let (input_tx, input_rx) = channel::<Vec<u8>>();
        let (outcome_tx, outcome_rx) = channel::<Outcome>();
        let spawned = std::thread::Builder::new()
            .stack_size(STACK)
            .spawn(move || {
                for data in input_rx {
                    let outcome = std::panic::catch_unwind(|| front_end(&data));
                    if outcome_tx.send(outcome).is_err() {
                        return;
                    }
                }
            });
        if let Err(e) = spawned {
            panic!("cannot start the fuzz worker: {e}");
        }
        Mutex::new((input_tx, outcome_rx))
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(worker) = worker().lock() else {
        return;
    };
    if worker.0.send(data.to_vec()).is_err() {
        return;
    }
    // A panic in the worker is raised again here, where libFuzzer sees it.
    if let Ok(Err(panic)) = worker.1.recv() {
        std::panic::resume_unwind(panic);
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
