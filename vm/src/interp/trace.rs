//! `--trace` output, the eval-breaker's pending work, and releasing the interpreter around blocking calls.

use std::sync::atomic::Ordering;

use minivm_compiler::bytecode::Op;

use crate::interp::frame::Frame;
use crate::interp::Interp;
use crate::{err, PyResult};

impl Interp {
    /// Print the instruction about to run and the operand stack, to stderr.
    pub(crate) fn trace_instruction(&mut self, frame: &Frame, op: Op) {
        let mut stack = String::new();
        for (i, v) in frame.stack.iter().enumerate() {
            if i > 0 {
                stack.push_str(", ");
            }
            let r = self.repr(v).unwrap_or_else(|_| "?".into());
            let short: String = r.chars().take(40).collect();
            stack.push_str(&short);
        }
        let _ = self.vm.stdout.lock().flush();
        eprintln!(
            "[{}] {}:{:<4} {:>4} {:<28} stack=[{}]",
            self.thread_name,
            frame.code.name,
            frame.code.line_at(frame.ip),
            frame.ip,
            format!("{op:?}"),
            stack
        );
    }

    /// After a blocking call: raise a pending `KeyboardInterrupt` now (main thread only).
    pub fn check_interrupt(&mut self) -> PyResult<()> {
        self.check_signals()
    }

    /// Raise `KeyboardInterrupt` in the main thread if Ctrl-C was pressed.
    pub(crate) fn check_signals(&mut self) -> PyResult<()> {
        if self.is_main && self.vm.interrupted.swap(false, Ordering::Relaxed) {
            return Err(err!(KeyboardInterrupt, ""));
        }
        Ok(())
    }

    /// Reached from a check point when the eval breaker is up (`run.rs: handle_eval_breaker`).
    ///
    /// New GIL (`gil.rs: Gil::acquire` set a drop request): hand the GIL over and wait until
    /// another thread has taken it (forced switching). Old GIL (the breaker stays raised, so every
    /// check point comes here and counts as a tick): every `--check-interval` ticks, release and
    /// at once re-take it, with no hand-off.
    pub(crate) fn gil_yield_point(&mut self) {
        if !self.holds_gil || !self.vm.gil.drop_requested() {
            return;
        }
        if self.vm.gil.mode() == crate::gil::GilMode::Off {
            // Another thread is stopping the world (the cycle collector): step out until it
            // is done.
            self.drop_gil(crate::stats::Activity::Waiting);
            self.take_gil();
            return;
        }
        if self.vm.gil.mode() == crate::gil::GilMode::Old {
            self.ticks += 1;
            if self.ticks < self.vm.gil.check_interval() {
                return;
            }
            self.ticks = 0;
            let before = self.vm.gil.switch_number();
            self.drop_gil(crate::stats::Activity::Waiting);
            let dropped_at = self.stats.activity_since();
            self.take_gil();
            // Someone else held it in between: that was a real switch.
            if self.vm.gil.switch_number() != before.wrapping_add(1) {
                self.stats.forced_switches += 1;
                if let Some(at) = dropped_at {
                    self.stats.note_hand_off(at);
                }
            }
            return;
        }
        // Waiting for the hand-off to happen counts as waiting for the GIL.
        self.drop_gil(crate::stats::Activity::Waiting);
        let dropped_at = self.stats.activity_since();
        self.vm.gil.wait_for_switch(self.thread_id);
        self.take_gil();
        self.stats.forced_switches += 1;
        if let Some(at) = dropped_at {
            self.stats.note_hand_off(at);
        }
    }

    /// Run the cycle collector (`heap/gc.rs`) on `generation`, or on the generation that is due
    /// when `None` (an automatic collection requested by allocation). Returns the number of
    /// unreachable objects found. Called at check points and by `gc.collect()`, where this
    /// thread borrows no object's contents; every other thread is stopped meanwhile.
    pub fn collect_garbage(&mut self, generation: Option<usize>) -> usize {
        let Some(generation) = generation.or_else(crate::heap::gc::due_generation) else {
            return 0;
        };
        let gil = &self.vm.gil;
        gil.stop_the_world(self.vm.eval_breaker, || {
            crate::heap::gc::collect(generation)
        })
    }

    /// Run a blocking call (sleep, I/O, waiting) with the GIL released, as CPython's
    /// `Py_BEGIN_ALLOW_THREADS` does. The closure cannot reach the interpreter: `self` is borrowed
    /// for the duration, so nothing inside can run bytecode or touch frames without the GIL.
    ///
    /// The closure (and what it returns) must be `Send`: heap values are not, so the compiler
    /// rejects a closure that would clone, drop or read a Python object without the GIL.
    pub fn allow_threads<R: Send>(&mut self, f: impl FnOnce() -> R + Send) -> R {
        let held = self.holds_gil;
        if held {
            self.drop_gil(crate::stats::Activity::Blocked);
        }
        let r = f();
        if held {
            self.take_gil();
        }
        r
    }
}
