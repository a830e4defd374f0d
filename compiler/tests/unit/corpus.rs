//! Stage 3b sanity: every `.mini` program in the repository that parses must compile, and every
//! code object must have a consistent stack depth on all paths.

use std::path::{Path, PathBuf};

use minivm_compiler::bytecode::{CodeObject, Constant};
use minivm_compiler::compile::verify_stack;
use minivm_compiler::{compile_source, parser, Mode};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "mini" || e == "py") {
            out.push(p);
        }
    }
}

fn check(code: &CodeObject, file: &str, errors: &mut Vec<String>) {
    if let Err(e) = verify_stack(&code.code) {
        errors.push(format!("{file}: {}: {e}", code.qualname));
    }
    if code.lines.len() != code.code.len() {
        errors.push(format!(
            "{file}: {}: lines/code length mismatch",
            code.qualname
        ));
    }
    for c in &code.consts {
        if let Constant::Code(inner) = c {
            check(inner, file, errors);
        }
    }
}

#[test]
fn corpus_compiles_with_consistent_stacks() {
    // The front end may need up to about 16 MiB of stack at CPython's nesting limits (the tests
    // of those limits are in the corpus); the command line gives it 256 MiB.
    let run = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(compile_corpus)
        .expect("spawn");
    run.join().expect("the corpus check crashed");
}

fn compile_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for sub in ["tests", "examples", "benches", "compiler/tests"] {
        collect(&root.join(sub), &mut files);
    }
    let mut errors = Vec::new();
    for f in files {
        let Ok(src) = std::fs::read_to_string(&f) else {
            continue;
        };
        let name = f.display().to_string();
        if parser::parse(&src).is_err() {
            continue;
        }
        match compile_source(&src, &name, Mode::File) {
            Ok(code) => check(&code, &name, &mut errors),
            Err(e) => {
                // Programs under tests/errors may be compile errors on purpose.
                if !name.contains("errors") && !name.contains("golden") {
                    errors.push(format!("{name}: {e}"));
                }
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
