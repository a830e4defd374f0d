//! Stage 4 of the minivm pipeline: the stack VM that runs compiled bytecode.
//!
//! `value` and `object` define what programs compute with; `interp` runs frames (its `run.rs` is the
//! dispatch loop); `builtins` holds the built-in functions and methods of the built-in types;
//! `stdlib` the modules programs import; `num` is Python's numeric and formatting semantics.

pub mod arith;
pub mod builtins;
pub mod error;
pub mod gil;
pub mod heap;
pub mod interp;
pub mod num;
pub mod object;
pub mod stats;
pub mod stdlib;
pub mod timeline;
pub mod value;

use std::sync::Arc;

use minivm_compiler::bytecode::CodeObject;

pub use error::{PyErr, PyResult};
pub use interp::{Config, Interp, Vm};
pub use value::Value;

use crate::heap::Ref;
use crate::interp::code::Code;
use crate::interp::run::Exit;
use crate::object::{Dict, ExcKind, Function};

/// Run a compiled module as `__main__` on the calling thread; returns the process exit code
/// (0, the `sys.exit` code, 1 after an uncaught exception, 130 after Ctrl-C, which the CLI turns
/// into an end by SIGINT: [`ended_by_interrupt`]).
/// What runs in `__main__` after the program, before its threads are joined: `-i`'s interactive
/// prompt (the CLI's REPL). Its result, not the program's, is the exit status.
pub type Inspect = Box<dyn FnOnce(&mut Interp, &Ref<Dict>) -> PyResult<()> + Send>;

pub fn run_main(vm: &Arc<Vm>, code: Arc<CodeObject>, src: &str, inspect: Option<Inspect>) -> i32 {
    // The source is kept for tracebacks, except for a program read from stdin or given with
    // `-c`, whose lines CPython's tracebacks do not show: a `-c` text is kept under a name no
    // code carries, only for multiprocessing to hand to its children (`mp::main_command`).
    match code.filename.as_ref() {
        "<stdin>" => {}
        "<string>" => vm.add_source(crate::stdlib::mp::MAIN_COMMAND_SOURCE, src),
        name => vm.add_source(name, src),
    }
    // The compiler's warnings for the program (compiled just before, on this thread).
    let warnings = minivm_compiler::take_warnings();
    let text = src.to_string();
    run_as_main(vm, inspect, move |interp, globals| {
        // A script's path, as CPython (3.9+) gives it: absolute. A `-c` string (`<string>`)
        // has no `__file__`; a program read from stdin (`minivm -`) has `'<stdin>'`, as
        // `python3 -`.
        if !code.filename.starts_with('<') || code.filename.as_ref() == "<stdin>" {
            globals.set_str("__file__", Value::str(&code.filename));
            globals.set_str("__cached__", Value::None);
        }
        interp.issue_compile_warnings(warnings, &code.filename, &text, None)?;
        run_code(interp, code, globals.clone())
    })
}

/// A program that did not compile: the warnings its compiler found before the error are issued
/// first, as CPython's tokenizer and parser issue them while they read. The exit status: 0 when
/// they were (the caller then reports the error), 1 when a filter turned one into an error,
/// reported instead of the program's.
pub fn warn_before_syntax_error(vm: &Arc<Vm>, filename: &str, src: &str) -> i32 {
    let warnings = minivm_compiler::take_warnings();
    if warnings.is_empty() {
        return 0;
    }
    run_as_main(vm, None, |interp, _| {
        interp.issue_compile_warnings(warnings, filename, src, None)
    })
}

/// Issue the compiler's warnings for an entry of the interactive prompt (`src`, compiled just
/// before on this thread), as CPython's REPL does: under the name `<stdin>`, before the entry
/// runs or its syntax error is reported. A filter that turns one into an error makes it the
/// entry's `SyntaxError` (`-W error` and `x is 1`).
pub fn issue_prompt_warnings(interp: &mut Interp, src: &str) -> PyResult<()> {
    let warnings = minivm_compiler::take_warnings();
    interp.issue_compile_warnings(warnings, "<stdin>", src, None)
}

/// Run module `name` as `__main__`, as `python3 -m NAME` does (`runpy._run_module_as_main`):
/// found as `import` finds it (a package runs its `__main__`; its parent packages are
/// imported first), with `sys.argv[0]` its file and `__package__` its package. The process
/// exit code; a module not found is CPython's `python3: No module named NAME` (status 1).
/// `sys.argv[0]` is `-m` while the module is looked for, as in CPython.
pub fn run_module_main(vm: &Arc<Vm>, name: &str, inspect: Option<Inspect>) -> i32 {
    let name = name.to_string();
    run_as_main(vm, inspect, move |interp, globals| {
        let sys = interp.import_module("sys")?;
        let found = match interp.find_main_module(&name)? {
            Ok(found) => found,
            Err(msg) => {
                let exe = crate::stdlib::mp::executable();
                crate::stdlib::file::write_stderr(interp, &format!("{exe}: {msg}\n"));
                return Err(PyErr::with_args(ExcKind::SystemExit, vec![Value::Int(1)]));
            }
        };
        if let Value::Module(sys) = &sys {
            if let Some(Value::List(argv)) = sys.dict.get_str("argv") {
                if let Some(first) = argv.items.lock().first_mut() {
                    *first = Value::str(&found.argv0());
                }
            }
        }
        globals.set_str("__file__", Value::str(&found.filename));
        globals.set_str("__package__", Value::str(&found.package));
        globals.set_str("__cached__", Value::None);
        // Its spec is the module's own (`runpy` finds it as `import` would): name `mod` or
        // `pkg.__main__`, a source loader.
        let spec = interp.source_spec(&found.name, &found.filename, None)?;
        if !matches!(spec, Value::None) {
            let loader = interp.getattr(&spec, "loader")?;
            globals.set_str("__loader__", loader);
            globals.set_str("__spec__", spec);
        }
        let code = found.compile()?;
        interp.vm.add_source(&found.filename, &found.src);
        run_code(interp, code, globals.clone()).map_err(with_runpy_frames)
    })
}

/// An error leaving a module run by `-m` passed through two frames of CPython's `runpy`
/// (frozen: no source lines), which its traceback shows above the module's.
fn with_runpy_frames(e: PyErr) -> PyErr {
    if let Some(data) = e.exc.exc() {
        let mut data = data.lock();
        for (line, func) in [(88, "_run_code"), (198, "_run_module_as_main")] {
            data.traceback.push(crate::object::TraceEntry {
                filename: Arc::from("<frozen runpy>"),
                line,
                func: Arc::from(func),
                span: (0, 0),
                lookup: false,
                locals: None,
            });
        }
    }
    e
}

/// Run `body` as the main program: in a fresh `__main__` module (registered in `sys.modules`)
/// on a new interpreter for this thread; then wait for the non-daemon threads, run the
/// `atexit` callbacks and finalize, as CPython's end of a program. The process exit code.
/// The interactive prompt as the main program: `repl` reads and runs entries in `__main__` (a
/// `SystemExit` it returns gives the exit status); then the program ends as a script does
/// (threads joined, `atexit` callbacks run).
pub fn run_interactive(vm: &Arc<Vm>, repl: Inspect) -> i32 {
    run_as_main(vm, None, repl)
}

fn run_as_main(
    vm: &Arc<Vm>,
    inspect: Option<Inspect>,
    body: impl FnOnce(&mut Interp, &Ref<Dict>) -> PyResult<()>,
) -> i32 {
    let globals = new_globals("__main__");
    // A script's, `-c`'s or standard input's `__main__` is in no package and has no module
    // spec nor loader (`-m` gives it its module's: `run_module_main`). As in CPython's
    // `__main__`, an empty `__annotations__` is there from the start, whether or not the
    // program annotates a name. The keys go in CPython's order (`globals()` lists them):
    // these, then `__builtins__`, then what the body adds (`__file__`, `__cached__`).
    globals.set_str("__package__", Value::None);
    globals.set_str("__loader__", Value::None);
    globals.set_str("__spec__", Value::None);
    globals.set_str("__annotations__", Value::Dict(Ref::new(Dict::new())));
    // Registered as a module, so `import __main__` (and pickle finding `__main__.f`) works.
    vm.register_module(
        "__main__",
        &Ref::new(crate::object::Module {
            name: Arc::from("__main__"),
            dict: globals.clone(),
        }),
    );
    let mut interp = Interp::new(vm.clone(), "MainThread");
    interp.attach();
    // `__builtins__`: the `builtins` module, in `__main__` as in CPython.
    if let Ok(builtins) = interp.import_module("builtins") {
        globals.set_str("__builtins__", builtins);
    }
    let result = body(&mut interp, &globals);
    let mut status = match (result, &inspect) {
        (Ok(()), _) => 0,
        (Err(e), None) => {
            if is_exactly_interrupt(&e) {
                ENDED_BY_INTERRUPT.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            report_uncaught(&mut interp, &e)
        }
        (Err(e), Some(_)) => {
            let _ = interp.vm.stdout.lock().flush();
            show_uncaught(&mut interp, &e)
        }
    };
    // `-i`: whatever the program did (even `sys.exit()`, whose `SystemExit` is shown as any
    // uncaught exception, as CPython shows it), the prompt runs next, and its end decides the
    // status.
    if let Some(inspect) = inspect {
        status = match inspect(&mut interp, &globals) {
            Ok(()) => 0,
            Err(e) => report_uncaught(&mut interp, &e),
        };
    }
    // Like CPython, the program ends once its non-daemon threads have finished. Ctrl-C during
    // that wait is reported as CPython does (an "ignored" exception) and the process ends with
    // the program's status, leaving the threads behind.
    if let Err(e) = crate::stdlib::join_non_daemon(&mut interp) {
        let head = "Exception ignored in: <module 'threading' (built-in)>";
        interp.print_unraisable_as(&e, head);
    }
    // Then the `atexit` callbacks, and the temporary directories nobody cleaned up.
    crate::stdlib::atexit::run_callbacks(&mut interp);
    // CPython flushes `sys.stdout` and `sys.stderr` next; a failure is exit status 120.
    if !crate::stdlib::file::flush_std_files(&mut interp) {
        status = 120;
    }
    // CPython's finalization then collects once (`PyGC_Collect`: gc.callbacks see it) if the
    // collector is enabled, before the main module's names go.
    if crate::heap::gc::is_enabled() {
        interp.collect_garbage(Some(2));
    }
    interp.finalize_modules(&globals);
    if crate::interp::coro::warnings_pending() {
        interp.report_never_awaited(None);
    }
    crate::stdlib::tempfile::remove_leftovers();
    // `__main__`'s globals go while this thread still holds the GIL: daemon threads may still
    // run (and reach the same dict), and in the GIL model a count changes only under the GIL
    // (ThreadSanitizer, stress/alive_and_daemons --gil on: this drop, after `detach`, raced
    // with a daemon thread's collection reading the dict's count).
    drop(globals);
    interp.detach();
    let status = flush_at_exit(vm, status);
    if crate::stdlib::os_fork::in_forked_child() {
        // A forked child's program ended (the process's first thread is not there to end it).
        crate::stdlib::os_fork::exit_forked(vm, None, status)
    }
    status
}

/// The last flush of stdout, as CPython's finalization does it: a failure (full disk, closed
/// pipe) cannot be raised any more, so it is reported on stderr and the exit status becomes 120.
pub fn flush_at_exit(vm: &Vm, status: i32) -> i32 {
    let r = vm.stdout.lock().flush();
    match r {
        Ok(()) => status,
        Err(e) => {
            let err = crate::stdlib::os::os_error(&e, None);
            // Only an int errno and a str strerror can be here: their str() is their text.
            let mut show = |v: &crate::value::Value, _: bool| {
                Ok(match v {
                    crate::value::Value::Str(s) => s.as_str().to_string(),
                    crate::value::Value::Int(n) => n.to_string(),
                    _ => String::new(),
                })
            };
            let msg = match crate::stdlib::os::os_error_str(&err.exc, &mut show) {
                Some(Ok(s)) => s,
                _ => String::new(),
            };
            eprintln!(
                "{}\n{}: {msg}",
                crate::builtins::io::EXIT_FLUSH_CONTEXT,
                err.exc.class.name()
            );
            120
        }
    }
}

/// A fresh module namespace.
pub fn new_globals(name: &str) -> Ref<Dict> {
    let g = Ref::new(Dict::new());
    g.set_str("__name__", Value::str(name));
    // Replaced by the module's docstring, if it has one, when its code runs.
    g.set_str("__doc__", Value::None);
    g
}

/// A module-level code object as a function of no arguments over `globals`, to run in a frame.
pub fn module_function(code: Arc<CodeObject>, globals: Ref<Dict>) -> Ref<Function> {
    Ref::new(Function {
        code: crate::heap::SwapRef::new(Code::load(code)),
        globals,
        defaults: crate::heap::SwapRef::new(crate::object::Defaults::none()),
        closure: Box::new([]),
        attrs: crate::heap::ObjCell::new(Default::default()),
        weak: crate::heap::weak::WeakAnchor::new(),
    })
}

/// Run a module-level code object in `globals` (also used by the REPL for each entry).
pub fn run_code(interp: &mut Interp, code: Arc<CodeObject>, globals: Ref<Dict>) -> PyResult<()> {
    let func = module_function(code, globals);
    let frame = interp.new_frame(&func, &[], &[])?;
    match interp.run_frame(frame)? {
        Exit::Return(_) => Ok(()),
        Exit::Yield(..) => Err(err!(SystemError, "module yielded")),
    }
}

/// Set when the program ended with an uncaught `KeyboardInterrupt`: the CLI then ends the
/// process by SIGINT ([`stdlib::signal::exit_by_sigint`]) once everything else is done, as
/// CPython does (`exit_sigint` in its `Modules/main.c`), so that a shell or a parent process sees
/// a process killed by Ctrl-C (`subprocess` returncode -2; a shell script stops), not exit 130.
static ENDED_BY_INTERRUPT: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Did the program end with an uncaught `KeyboardInterrupt` (see [`ENDED_BY_INTERRUPT`])?
pub fn ended_by_interrupt() -> bool {
    ENDED_BY_INTERRUPT.load(std::sync::atomic::Ordering::SeqCst)
}

/// Print an uncaught exception as CPython does and pick the exit code.
pub fn report_uncaught(interp: &mut Interp, e: &PyErr) -> i32 {
    let _ = interp.vm.stdout.lock().flush();
    if e.is(ExcKind::SystemExit) {
        // Its `code` (a subclass may have set or assigned another than its arguments).
        let code = match e.exc.exc() {
            Some(d) => crate::builtins::attrs::exc_member(&d.lock(), "code"),
            None => Value::None,
        };
        return match &code {
            Value::None => 0,
            Value::Int(n) => *n as i32,
            Value::Bool(b) => *b as i32,
            other => {
                // As CPython's `handle_system_exit`: the message to `sys.stderr` (to
                // descriptor 2 when that is None or missing; lost if writing fails), then the
                // newline, which falls back to descriptor 2 whenever it cannot go there.
                use crate::stdlib::file::{try_write_stderr, write_fd2, StderrWrite};
                let msg = interp.str_of(other).unwrap_or_default();
                let stream = crate::stdlib::sys::current_stream(interp, "stderr");
                if matches!(stream, Ok(Value::None) | Err(_)) {
                    write_fd2(interp, &msg);
                } else {
                    try_write_stderr(interp, &msg);
                }
                if try_write_stderr(interp, "\n") != StderrWrite::Written {
                    write_fd2(interp, "\n");
                }
                1
            }
        };
    }
    show_uncaught(interp, e)
}

/// Print an uncaught exception's traceback through `sys.excepthook` (even a `SystemExit`: `-i`
/// shows the one that ended the program); the exit status it stands for.
fn show_uncaught(interp: &mut Interp, e: &PyErr) -> i32 {
    // The report goes through `sys.excepthook`, which a program may have replaced; if the hook
    // itself fails, both tracebacks are printed, as CPython prints them.
    let hook = match interp.vm.find_module("sys") {
        // A program that never imported `sys` has the default hook.
        None => Some(None),
        Some(sys) => sys.dict.get_str("excepthook").map(Some),
    };
    let exc = Value::Instance(e.exc.clone());
    let called = match hook {
        Some(None) => {
            let text = interp.format_exception(e);
            crate::stdlib::file::display_exception(interp, &text);
            Ok(())
        }
        Some(Some(hook)) => {
            let triple = [
                Value::Class(e.exc.class.get().clone()),
                exc,
                crate::interp::exc::traceback_value(&e.exc),
            ];
            interp.call(&hook, &triple).map(|_| ())
        }
        None => {
            crate::stdlib::file::write_stderr(interp, "sys.excepthook is missing\n");
            let text = interp.format_exception(e);
            crate::stdlib::file::write_stderr(interp, &text);
            Ok(())
        }
    };
    if let Err(hook_err) = called {
        let hook_text = interp.format_exception(&hook_err);
        let text = interp.format_exception(e);
        let report =
            format!("Error in sys.excepthook:\n{hook_text}\nOriginal exception was:\n{text}");
        crate::stdlib::file::write_stderr(interp, &report);
    }
    if is_exactly_interrupt(e) {
        130
    } else {
        1
    }
}

/// Is `e` a `KeyboardInterrupt` itself? CPython compares the class: a subclass ends the program
/// as any other exception does (status 1).
fn is_exactly_interrupt(e: &PyErr) -> bool {
    let class = e.exc.class.get();
    Ref::ptr_eq(
        &class,
        crate::object::types().exc(ExcKind::KeyboardInterrupt),
    )
}
