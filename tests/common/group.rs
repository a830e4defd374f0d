//! For the harnesses that kill a program at its timeout: the program leads its own process
//! group, so killing the group also ends the processes it started (a forked child stuck in a
//! deadlock outlived its killed parent, holding the harness's inherited file descriptors).

use std::process::{Child, Command, Stdio};

/// Make the program `cmd` starts the leader of a new process group.
pub fn own_group(cmd: &mut Command) {
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(cmd, 0);
}

/// Kill `child` and every process of its group.
pub fn kill_tree(child: &mut Child) {
    #[cfg(unix)]
    {
        // The child leads its own process group: signal the whole group (std-only, via kill(1)).
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
}
