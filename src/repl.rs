//! The CLI (after stage 4).
//! The interactive prompt: read a statement (more lines while it is incomplete), run it, echo values.
//!
//! The prompt runs as the main program (`minivm_vm::run_interactive`), or after it with `-i`
//! (`minivm_vm::run_main`'s `inspect`): either way in `__main__`, holding the GIL while an entry
//! runs and letting other threads run while it waits for a line.

use std::process::ExitCode;
use std::sync::Arc;

use minivm_compiler::Mode;
use minivm_vm::heap::Ref;
use minivm_vm::object::Dict;
use minivm_vm::{Config, Interp, PyResult, Vm};
use rustyline::error::ReadlineError;

/// `minivm` with no program: the banner (unless `-q`), then the prompt until end of input or
/// `exit()`.
pub fn run(config: Config, banner: bool) -> ExitCode {
    let vm = Vm::new(config);
    crate::install_ctrl_c(&vm);
    let Ok(editor) = rustyline::DefaultEditor::new() else {
        eprintln!("minivm: cannot open the terminal for the REPL");
        return ExitCode::from(1);
    };
    if banner {
        println!(
            "minivm {} (a Python subset; Ctrl-D to exit)",
            env!("CARGO_PKG_VERSION")
        );
    }
    let status = minivm_vm::run_interactive(
        &vm,
        Box::new(move |interp, globals| interact(editor, interp, globals)),
    );
    ExitCode::from(status.rem_euclid(256) as u8)
}

/// `-i`'s prompt, run after the program in its `__main__`.
pub fn inspect() -> Option<minivm_vm::Inspect> {
    let editor = rustyline::DefaultEditor::new().ok()?;
    Some(Box::new(move |interp, globals| {
        interact(editor, interp, globals)
    }))
}

/// Read entries and run them in `globals` until end of input (`Ok`) or a `SystemExit` (`Err`).
/// Any other exception is reported and the prompt goes on.
fn interact(
    mut editor: rustyline::DefaultEditor,
    interp: &mut Interp,
    globals: &Ref<Dict>,
) -> PyResult<()> {
    let vm: Arc<Vm> = interp.vm.clone();
    let mut entry = 0;
    loop {
        let mut src = String::new();
        let mut prompt = ">>> ";
        loop {
            // Waiting for a line is a blocking call: other threads run meanwhile.
            let _ = vm.stdout.lock().flush();
            match interp.allow_threads(|| editor.readline(prompt)) {
                Ok(line) => {
                    src.push_str(&line);
                    src.push('\n');
                }
                Err(ReadlineError::Interrupted) => {
                    println!("KeyboardInterrupt");
                    src.clear();
                    break;
                }
                Err(_) => return Ok(()),
            }
            if !minivm_compiler::parser::input_is_incomplete(&src) {
                break;
            }
            prompt = "... ";
        }
        if src.trim().is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(src.trim_end());
        entry += 1;
        let name = format!("<stdin-{entry}>");
        let compiled = minivm_compiler::compile_source(&src, &name, Mode::Interactive);
        if let Err(e) = minivm_vm::issue_prompt_warnings(interp, &src) {
            if e.is(minivm_vm::object::ExcKind::SystemExit) {
                return Err(e);
            }
            minivm_vm::report_uncaught(interp, &e);
            continue;
        }
        let code = match compiled {
            Ok(c) => c,
            Err(e) => {
                eprint!("{}", e.render("<stdin>", &src));
                continue;
            }
        };
        vm.add_source(&name, &src);
        vm.clear_interrupt();
        if let Err(e) = minivm_vm::run_code(interp, code, globals.clone()) {
            if e.is(minivm_vm::object::ExcKind::SystemExit) {
                return Err(e);
            }
            minivm_vm::report_uncaught(interp, &e);
        }
    }
}
