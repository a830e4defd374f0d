//! Stage 4 (VM), the interpreter.
//! `--trace` output: each instruction with its operand stack, as it runs; the profiler's events
//! (`cProfile`, `stdlib/lsprof.rs`) come from the same observed loop.

use minivm_compiler::bytecode::Op;
use minivm_compiler::compile::loaded_method_slots;

use crate::interp::call::hot_method_label;
use crate::interp::frame::Frame;
use crate::interp::Interp;
use crate::{PyResult, Value};

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
        // What `LOAD_METHOD` left below a receiver is no value of the program: NULL, or a hot
        // built-in method named by a small int (`call.rs: HOT_METHODS`), shown as the method
        // it stands for. Where such slots are is known from the code (the instruction's stack
        // depth); looked for only when the stack holds something that could be one.
        let marks = match frame
            .stack
            .iter()
            .any(|v| matches!(v, Value::Int(_) | Value::Undefined))
        {
            true => loaded_method_slots(&frame.code.ops, frame.ip)
                .filter(|(depth, _)| *depth as usize == frame.stack.len())
                .map(|(_, slots)| slots)
                .unwrap_or_default(),
            false => Vec::new(),
        };
        let mut stack = String::new();
        for (i, v) in frame.stack.iter().enumerate() {
            if i > 0 {
                stack.push_str(", ");
            }
            let loaded = marks.contains(&(i as u32));
            let r = match v {
                Value::Undefined if loaded => "NULL".to_string(),
                Value::Int(k) if loaded => frame
                    .stack
                    .get(i + 1)
                    .and_then(|recv| hot_method_label(*k, recv))
                    .unwrap_or_else(|| "?".into()),
                _ => self.repr(v).unwrap_or_else(|_| "?".into()),
            };
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
