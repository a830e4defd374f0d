//! The CLI (after stage 4).
//! The interactive prompt: read a statement (more lines while it is incomplete), run it, echo values.

use std::process::ExitCode;

use minivm_compiler::Mode;
use minivm_vm::{Config, Interp, Vm};
use rustyline::error::ReadlineError;

pub fn run(config: Config) -> ExitCode {
    let vm = Vm::new(config);
    crate::install_ctrl_c(&vm);
    let mut interp = Interp::new(vm.clone(), "MainThread");
    let globals = minivm_vm::new_globals("__main__");
    let Ok(mut editor) = rustyline::DefaultEditor::new() else {
        eprintln!("minivm: cannot open the terminal for the REPL");
        return ExitCode::from(1);
    };
    println!(
        "minivm {} (a Python subset; Ctrl-D to exit)",
        env!("CARGO_PKG_VERSION")
    );
    let mut entry = 0;
    loop {
        let mut src = String::new();
        let mut prompt = ">>> ";
        loop {
            match editor.readline(prompt) {
                Ok(line) => {
                    src.push_str(&line);
                    src.push('\n');
                }
                Err(ReadlineError::Interrupted) => {
                    println!("KeyboardInterrupt");
                    src.clear();
                    break;
                }
                Err(_) => return ExitCode::SUCCESS,
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
        let code = match minivm_compiler::compile_source(&src, &name, Mode::Interactive) {
            Ok(c) => c,
            Err(e) => {
                eprint!("{}", e.render("<stdin>", &src));
                continue;
            }
        };
        vm.add_source(&name, &src);
        vm.clear_interrupt();
        if let Err(e) = minivm_vm::run_code(&mut interp, code, globals.clone()) {
            let status = minivm_vm::report_uncaught(&mut interp, &e);
            if e.is(minivm_vm::object::ExcKind::SystemExit) {
                return ExitCode::from(status.clamp(0, 255) as u8);
            }
        }
        let _ = vm.stdout.lock().flush();
    }
}
