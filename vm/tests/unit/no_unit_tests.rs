//! The crates say `test = false` (their Cargo.toml): `cargo test` runs no `#[cfg(test)]` module
//! inside `src/`. A test written there would compile in no test command and silently never run,
//! so this checks that none exists (apart from the loom models, which `scripts/loom.sh` runs).

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_test_hides_inside_a_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["lexer/src", "compiler/src", "vm/src", "src"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 50, "found only {} source files", files.len());
    let mut offenders = Vec::new();
    for file in &files {
        if file.ends_with("heap/loom_tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with("#[test]") || line.starts_with("#[cfg(test)]") {
                offenders.push(format!("{}:{}", file.display(), i + 1));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "tests inside a crate never run (test = false): move them to its tests/ folder:\n{}",
        offenders.join("\n")
    );
}
