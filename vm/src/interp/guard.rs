//! Stage 4 (the VM): keeping the Rust stack bounded when recursion follows user data.
//!
//! A call between Python functions does not recurse in Rust (the dispatch loop parks the caller),
//! but comparing, printing or formatting nested containers does, and so does native code calling
//! back into Python (`sorted(key=...)`, `__eq__`, `__repr__`). Two guards keep that bounded:
//!
//! 1. **A depth counter shared with the recursion limit.** `Interp::depth` counts Python frames
//!    *and* levels of native recursion (`Interp::enter_recursion`), as CPython 3.11's
//!    `Py_EnterRecursiveCall` shares one counter with Python calls. Past `sys.getrecursionlimit()`
//!    the program gets CPython's `RecursionError` ("maximum recursion depth exceeded in
//!    comparison", "... while getting the repr of an object").
//! 2. **A stack-space check.** Every interpreter thread is started by [`spawn`] with
//!    [`THREAD_STACK_SIZE`] bytes of stack and records where its stack starts; the same guards
//!    raise `RecursionError` when less than [`RESERVE`] bytes are left. So even after
//!    `sys.setrecursionlimit(10**9)` a program cannot overflow the Rust stack (where CPython 3.11
//!    would crash).
//!
//! The stack position is read as the address of a local variable (safe code: an address is only
//! compared, never dereferenced). The stack is assumed to grow downwards, as it does on every
//! platform minivm is built for (x86-64 and AArch64 on Linux, macOS and Windows).

use std::cell::Cell;
use std::thread::JoinHandle;

/// Stack size of every OS thread that runs bytecode (the main interpreter thread, `threading`
/// threads, the REPL). Only touched pages take memory, so a large reservation is cheap.
pub const THREAD_STACK_SIZE: usize = 256 << 20;

/// Stack kept free below the guard's limit, for the work done after a guard says yes (a native
/// function, formatting a traceback, one more level of comparison).
pub const RESERVE: usize = 4 << 20;

/// Usable stack assumed on a thread not started by [`spawn`] (a test harness thread, typically
/// 2 MiB), counted from the first check made on it.
const UNKNOWN_THREAD_BUDGET: usize = 1 << 20;

thread_local! {
    /// The lowest stack address this thread's guards accept (0: not known yet).
    static STACK_LIMIT: Cell<usize> = const { Cell::new(0) };
}

/// Roughly the current stack pointer: the address of a local.
#[inline(always)]
fn stack_position() -> usize {
    let probe = 0u8;
    std::hint::black_box(&probe) as *const u8 as usize
}

/// Start an OS thread that may run bytecode: a stack of [`THREAD_STACK_SIZE`] bytes, whose extent
/// the guards know.
pub fn spawn<F, T>(name: String, f: F) -> std::io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let builder = std::thread::Builder::new()
        .name(name)
        .stack_size(THREAD_STACK_SIZE);
    crate::heap::fork::spawn(builder, move || {
        let here = stack_position();
        STACK_LIMIT.with(|l| l.set(here.saturating_sub(THREAD_STACK_SIZE - RESERVE)));
        f()
    })
}

/// [`spawn`] for a thread nobody joins (`heap::fork::spawn_detached`): its pthread id.
pub fn spawn_detached<F>(name: String, f: F) -> std::io::Result<u64>
where
    F: FnOnce() + Send + 'static,
{
    let builder = std::thread::Builder::new()
        .name(name)
        .stack_size(THREAD_STACK_SIZE);
    crate::heap::fork::spawn_detached(builder, move || {
        let here = stack_position();
        STACK_LIMIT.with(|l| l.set(here.saturating_sub(THREAD_STACK_SIZE - RESERVE)));
        f()
    })
}

/// True when this thread's stack is too deep to enter one more level of recursion.
#[inline]
pub fn stack_exhausted() -> bool {
    let here = stack_position();
    STACK_LIMIT.with(|l| {
        let mut limit = l.get();
        if limit == 0 {
            limit = here.saturating_sub(UNKNOWN_THREAD_BUDGET).max(1);
            l.set(limit);
        }
        here < limit
    })
}

/// The end of CPython's `RecursionError` message when the limit is reached calling a built-in
/// (`Py_EnterRecursiveCall(" while calling a Python object")` in its C function call paths).
pub(crate) const CALLING: &str = " while calling a Python object";

impl crate::interp::Interp {
    /// Enter one level of Rust recursion that follows user data (a nested dispatch loop, one level
    /// of a container comparison or repr). `what` ends CPython's message: `" in comparison"`,
    /// `" while getting the repr of an object"`, or `""`. Pair with [`Self::leave_recursion`].
    pub(crate) fn enter_recursion(&mut self, what: &str) -> crate::PyResult<()> {
        let limit = self
            .vm
            .recursion_limit
            .load(std::sync::atomic::Ordering::Relaxed);
        if self.depth >= limit || stack_exhausted() {
            return Err(crate::err!(
                RecursionError,
                "maximum recursion depth exceeded{what}"
            ));
        }
        self.depth += 1;
        Ok(())
    }

    /// The check of [`Self::enter_recursion`] for a level that cannot nest further (the repr of
    /// an int, the call of a built-in that calls no Python code): CPython 3.11 enters and leaves
    /// `Py_EnterRecursiveCall` around it, so at the limit it raises there.
    #[inline]
    pub(crate) fn check_recursion(&mut self, what: &str) -> crate::PyResult<()> {
        self.enter_recursion(what)?;
        self.leave_recursion();
        Ok(())
    }

    /// `body` inside one level of [`Self::enter_recursion`], left whatever `body` returns.
    pub(crate) fn with_recursion<T>(
        &mut self,
        what: &str,
        body: impl FnOnce(&mut Self) -> crate::PyResult<T>,
    ) -> crate::PyResult<T> {
        self.enter_recursion(what)?;
        let r = body(self);
        self.leave_recursion();
        r
    }

    pub(crate) fn leave_recursion(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }
}
