//! Stage 3b golden tests: `golden/*.mini` compiled and disassembled must match `golden/*.dis`.
//! Regenerate with `UPDATE_GOLDEN=1 cargo test -p minivm-compiler`.

use std::path::Path;

use minivm_compiler::{compile_source, dis, Mode};

/// A plain spelling of constants for these listings: the real one is the VM's `repr`, which the
/// CLI passes in (tests/cli.rs checks the edge cases there); the golden programs only use
/// constants every repr spells alike.
const PLAIN: dis::Spelling = dis::Spelling {
    float: |x| format!("{x:?}"),
    str: |s| format!("'{s}'"),
};

#[test]
fn golden_disassembly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("golden dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "mini"))
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "no golden files");
    let mut failures = Vec::new();
    for path in entries {
        let src = std::fs::read_to_string(&path).expect("read source");
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let actual = match compile_source(&src, name, Mode::File) {
            Ok(code) => dis::disassemble(&code, &PLAIN),
            Err(e) => format!("{}\n", e.render(name, &src)),
        };
        let expected_path = path.with_extension("dis");
        if update {
            std::fs::write(&expected_path, &actual).expect("write golden");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            failures.push(format!("--- {name} ---\n{actual}"));
        }
    }
    assert!(
        failures.is_empty(),
        "golden mismatches:\n{}",
        failures.join("\n")
    );
}
