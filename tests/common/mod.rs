//! Shared by the integration tests that use CPython as the oracle.

use std::process::{Command, Stdio};

/// Flags for every oracle run of CPython: `-S` skips the `site` module. On a machine whose
/// site-packages hold a `.pth` file that imports a package (this project's machine has one that
/// costs 75 ms of CPU per start), `site` dominates the suite's time and changes nothing a test
/// compares. tests/scripts.rs has a `python-site` directive for the programs that need it.
pub const PYTHON_FLAGS: &[&str] = &["-S"];

/// The CPython to compare with: `MINIVM_TEST_PYTHON` (default `python3`) if it is 3.11 or newer;
/// `None` when it is missing, older, or `MINIVM_TEST_PYTHON` is empty or `none`. The answer is the
/// interpreter's own `sys.executable`, so a version manager's shim (pyenv's re-executes the real
/// binary, doubling the start-up cost of every oracle run) is passed over.
pub fn python() -> Option<String> {
    let candidate = std::env::var("MINIVM_TEST_PYTHON").unwrap_or_else(|_| "python3".to_string());
    if candidate.is_empty() || candidate == "none" {
        return None;
    }
    let out = Command::new(&candidate)
        .args([
            "-c",
            "import sys; print(int(sys.version_info >= (3, 11))); print(sys.executable)",
        ])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    if !out.status.success() || lines.next() != Some("1") {
        return None;
    }
    match lines.next() {
        Some(exe) if !exe.is_empty() => Some(exe.to_string()),
        _ => Some(candidate),
    }
}
