//! For the tests that send SIGINT: start a program with SIGINT's default disposition.
//!
//! A process whose parent left SIGINT ignored (a shell's background job, `nohup`, some CI
//! runners) passes that on to what it starts, and minivm, as CPython, then leaves Ctrl-C ignored
//! (`signal.getsignal(SIGINT)` is `SIG_IGN`). These tests are about what a terminal's Ctrl-C
//! does, so they put the default back for the program they start (coreutils' `env`).

use std::process::{Command, ExitStatus};

/// `Command` for `program` with SIGINT reset to its default action.
pub fn with_default_sigint(program: &str) -> Command {
    let mut cmd = Command::new("env");
    cmd.args(["--default-signal=INT", program]);
    cmd
}

/// Did the process end as CPython ends after an uncaught `KeyboardInterrupt`: killed by SIGINT
/// (CPython's `exit_sigint`: a shell sees Ctrl-C, `subprocess` a returncode of -2), not exit 130?
pub fn killed_by_sigint(status: &ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal() == Some(2)
}
