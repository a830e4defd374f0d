//! Stage 4 (VM), the interpreter.
//! `--trace` output: each instruction with its operand stack, as it runs; the profiler's events
//! (`cProfile`, `stdlib/lsprof.rs`) come from the same observed loop.

use minivm_compiler::bytecode::Op;

use crate::interp::frame::Frame;
use crate::interp::Interp;
use crate::PyResult;

/// `--trace` names instructions as `minivm dis` lists them, constants spelled by `repr`.
const SPELLING: minivm_compiler::dis::Spelling = minivm_compiler::dis::Spelling {
    float: crate::num::float_repr,
    str: crate::num::str_repr,
};

impl Interp {
    /// The observed instance of the dispatch loop calls this before each instruction (which it
    /// has counted for `--stats` already) when tracing or profiling: under `--trace`, print
    /// it. Kept out of line: the loop that does not observe never calls it.
    #[inline(never)]
    pub(crate) fn observe(&mut self, frame: &Frame, op: Op) {
        if self.tracing {
            self.trace_instruction(frame, op);
        }
        if self.profiling {
            crate::stdlib::lsprof::on_instruction(self, frame, op);
        }
    }

    /// Print the instruction about to run and the operand stack, to stderr.
    pub(crate) fn trace_instruction(&mut self, frame: &Frame, op: Op) {
        // A `__repr__` written in Python runs bytecode: that is the tracer's work, not the
        // program's, so it is neither traced nor counted (`--stats` and `--trace` agree).
        // Its counts go to a scratch table, dropped after.
        let counted = std::mem::replace(&mut self.stats.ops, [0; 256]);
        let tracing = std::mem::replace(&mut self.tracing, false);
        let mut stack = String::new();
        for (i, v) in frame.stack.iter().enumerate() {
            if i > 0 {
                stack.push_str(", ");
            }
            let r = self.repr(v).unwrap_or_else(|_| "?".into());
            let short: String = r.chars().take(40).collect();
            stack.push_str(&short);
        }
        (self.tracing, self.stats.ops) = (tracing, counted);
        let _ = self.vm.stdout.lock().flush();
        eprintln!(
            "[{}] {}:{:<4} {:>4} {:<28} stack=[{}]",
            self.thread_name,
            frame.code.name,
            frame.code.line_at(frame.ip),
            frame.ip,
            minivm_compiler::dis::instruction(&frame.code.obj, &SPELLING, &op),
            stack
        );
    }

    /// After a blocking call: raise a pending `KeyboardInterrupt` now (main thread only).
    pub fn check_interrupt(&mut self) -> PyResult<()> {
        self.check_signals()
    }
}
