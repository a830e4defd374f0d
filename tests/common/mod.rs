//! Shared by the integration tests that use CPython as the oracle.

use std::process::{Command, Stdio};

/// The CPython to compare with: `MINIVM_TEST_PYTHON` (default `python3`) if it is 3.11 or newer;
/// `None` when it is missing, older, or `MINIVM_TEST_PYTHON` is empty or `none`.
pub fn python() -> Option<String> {
    let candidate = std::env::var("MINIVM_TEST_PYTHON").unwrap_or_else(|_| "python3".to_string());
    if candidate.is_empty() || candidate == "none" {
        return None;
    }
    let out = Command::new(&candidate)
        .args(["-c", "import sys; print(int(sys.version_info >= (3, 11)))"])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    (out.status.success() && out.stdout.starts_with(b"1")).then_some(candidate)
}
