//! Tests of the whole pipeline (the `minivm` binary).
//! `multiprocessing` children seen from outside: they appear in the parent's `--stats` and
//! `--timeline` (`vm/src/timeline/children.rs`), and none outlives its parent: Ctrl-C in the
//! parent's wait ends the parent promptly, and its children follow (each watches a pipe only
//! the parent holds open), a manager's server process included. Unix only: it signals with `kill -INT` and looks for pids in /proc.
#![cfg(unix)]

#[path = "common/sigint.rs"]
mod sigint;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MINIVM: &str = env!("CARGO_BIN_EXE_minivm");

/// A program with a pool of two workers and one plain child.
const WORK: &str = "\
import multiprocessing as mp

def square(x):
    return x * x

def hello():
    pass

if __name__ == '__main__':
    with mp.Pool(2) as pool:
        print(pool.map(square, range(8)))
    p = mp.Process(target=hello)
    p.start()
    p.join()
";

/// A program whose children sleep while the parent waits for them; it prints their pids.
const WAIT: &str = "\
import multiprocessing as mp
import time

def sleeper():
    time.sleep(60)

if __name__ == '__main__':
    ps = [mp.Process(target=sleeper) for _ in range(2)]
    for p in ps:
        p.start()
    print(' '.join(str(p.pid) for p in ps), flush=True)
    ps[0].join()
";

/// A program with a manager (a server process holding a shared dict); it prints the server's
/// pid, then sleeps.
const MANAGER: &str = "\
import multiprocessing as mp
import time

if __name__ == '__main__':
    m = mp.Manager()
    d = m.dict(a=1)
    d['b'] = 2
    print(m._process.pid, flush=True)
    time.sleep(60)
";

fn write_program(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("minivm-processes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write program");
    path
}

fn run(args: &[&str]) -> (String, String) {
    let out = Command::new(MINIVM)
        .args(args)
        .output()
        .expect("run minivm");
    assert!(out.status.success(), "minivm {args:?} failed: {out:?}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn children_are_rows_of_the_parents_stats_and_timeline() {
    let prog = write_program("work.mini", WORK);
    let prog = prog.to_str().expect("utf-8 path");
    let (out, err) = run(&["--stats=json", prog]);
    assert_eq!(out, "[0, 1, 4, 9, 16, 25, 36, 49]\n");
    for name in [
        "\"MainThread\"",
        "\"ForkPoolWorker-1: MainThread\"",
        "\"ForkPoolWorker-2: MainThread\"",
        "\"Process-3: MainThread\"",
    ] {
        assert!(err.contains(name), "{name} missing from --stats: {err}");
    }
    // The table: this process's GIL apart from the children's (a GIL each), and the opcode
    // counts of every process's threads adding up to the total of instructions.
    let (_, table) = run(&["--stats=opcodes", prog]);
    assert!(
        table.contains("child processes: 3 (each with a GIL of its own)"),
        "{table}"
    );
    let number = |s: &str| s.replace(',', "").parse::<u64>().unwrap_or(0);
    let total = table
        .lines()
        .find_map(|l| l.strip_prefix("total"))
        .and_then(|l| l.split_whitespace().next())
        .map(number)
        .unwrap_or(0);
    let counted: u64 = table
        .split_once("\nopcode ")
        .map_or("", |(_, t)| t)
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(number)
        .sum();
    assert!(
        total > 0 && counted == total,
        "{total} vs {counted}: {table}"
    );
    let svg = std::env::temp_dir().join(format!("minivm-processes-{}.json", std::process::id()));
    let svg_arg = svg.to_str().expect("utf-8 path");
    run(&["--timeline", svg_arg, prog]);
    let trace = std::fs::read_to_string(&svg).expect("timeline written");
    let _ = std::fs::remove_file(&svg);
    assert!(
        trace.contains("\"ForkPoolWorker-2: MainThread\""),
        "{trace}"
    );
    assert!(trace.contains("\"Process-3: MainThread\""), "{trace}");
    // Each child is a trace process of its own, named after the child.
    let doc: serde_json::Value = serde_json::from_str(&trace).expect("valid JSON");
    let mut processes: Vec<(u64, String)> = doc["traceEvents"]
        .as_array()
        .expect("traceEvents")
        .iter()
        .filter(|e| e["name"] == "process_name")
        .map(|e| {
            (
                e["pid"].as_u64().unwrap_or(0),
                e["args"]["name"].to_string(),
            )
        })
        .collect();
    processes.sort();
    let names: Vec<&str> = processes[1..].iter().map(|(_, n)| n.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "\"ForkPoolWorker-1\"",
            "\"ForkPoolWorker-2\"",
            "\"Process-3\""
        ],
        "{processes:?}"
    );
    let pids: std::collections::BTreeSet<u64> = processes.iter().map(|p| p.0).collect();
    assert_eq!(pids.len(), 4, "{processes:?}");
}

fn alive(pid: &str) -> bool {
    // A zombie waiting for init to reap it has ended too.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.contains(") Z "),
        Err(_) => false,
    }
}

/// Start `WAIT` in a process group of its own; its pid and its children's pids.
fn start_waiting() -> (std::process::Child, Vec<String>) {
    start_printing_pids("wait.mini", WAIT, 2)
}

/// Start a program that prints `n` pids on its first line, in a process group of its own.
fn start_printing_pids(name: &str, text: &str, n: usize) -> (std::process::Child, Vec<String>) {
    use std::os::unix::process::CommandExt;
    let prog = write_program(name, text);
    let mut child = sigint::with_default_sigint(MINIVM)
        .arg(&prog)
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start minivm");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the pids");
    let pids: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    assert_eq!(pids.len(), n, "{line:?}");
    std::thread::sleep(Duration::from_millis(200));
    (child, pids)
}

fn assert_all_end(pids: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|p| alive(p)) {
        assert!(
            Instant::now() < deadline,
            "children {pids:?} outlived the parent"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ctrl_c_ends_the_parent_and_its_children() {
    let (mut child, pids) = start_waiting();
    let sent = Instant::now();
    // The terminal sends Ctrl-C's SIGINT to the whole foreground process group.
    Command::new("kill")
        .args(["-INT", "--", &format!("-{}", child.id())])
        .status()
        .expect("kill -INT");
    let status = child.wait().expect("wait for minivm");
    assert!(sent.elapsed() < Duration::from_secs(5), "slow to react");
    assert!(sigint::killed_by_sigint(&status), "{status:?}");
    assert_all_end(&pids);
}

#[test]
fn children_of_a_killed_parent_exit() {
    let (mut child, pids) = start_waiting();
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .expect("kill -KILL");
    child.wait().expect("wait for minivm");
    assert_all_end(&pids);
}

#[test]
fn a_managers_server_ends_with_its_parent() {
    // Killed: the server process notices its parent is gone.
    let (mut child, pids) = start_printing_pids("manager.mini", MANAGER, 1);
    assert!(alive(&pids[0]), "no manager process {pids:?}");
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .expect("kill -KILL");
    child.wait().expect("wait for minivm");
    assert_all_end(&pids);
    // Ctrl-C: the parent ends promptly, shutting the manager down, which ends as well.
    let (mut child, pids) = start_printing_pids("manager.mini", MANAGER, 1);
    let sent = Instant::now();
    Command::new("kill")
        .args(["-INT", "--", &format!("-{}", child.id())])
        .status()
        .expect("kill -INT");
    let status = child.wait().expect("wait for minivm");
    assert!(sent.elapsed() < Duration::from_secs(5), "slow to react");
    assert!(sigint::killed_by_sigint(&status), "{status:?}");
    assert_all_end(&pids);
}

/// With the spawn start method, a pool started at module level, without the `__main__` guard
/// (with fork, the default, the script runs once and this works): each worker, running the
/// script as `__mp_main__`, reaches `Pool(...)` again and stops with CPython's "bootstrapping
/// phase" RuntimeError. CPython's spawn pool would start new workers forever (its `map` never
/// returns); minivm's sees that a worker failed before its first task and ends the map (and
/// the program) with a RuntimeError saying why.
const NO_GUARD: &str = "\
import multiprocessing
from multiprocessing import Pool
multiprocessing.set_start_method('spawn', force=True)

def square(x):
    return x * x

with Pool(2) as pool:
    print(pool.map(square, range(3)))
";

/// A program without the `__main__` guard whose workers start at different times: the first to
/// run the main module fails at once, the second sleeps first. The program calls the pool until
/// a call raises the pool's RuntimeError, then prints which workers still run (none may: a
/// worker still running could print its own error after the program's), and whether every
/// result it got before that ended with the RuntimeError (none may wait forever).
const SLOW_SECOND_WORKER: &str = "\
import multiprocessing
import os
import sys
import time
from multiprocessing import Pool
multiprocessing.set_start_method('spawn', force=True)

def square(x):
    return x * x

if __name__ == '__mp_main__':
    try:
        os.close(os.open(sys.argv[1], os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        time.sleep(2)

pool = Pool(2)
workers = list(pool._pool)
results = []
while True:
    try:
        results.append(pool.apply_async(square, (3,)))
    except RuntimeError:
        break
    time.sleep(0.01)
print('running:', [w.name for w in workers if w.exitcode is None])
failed = 0
for r in results:
    try:
        r.get(20)
    except RuntimeError:
        failed += 1
print('all failed:', failed == len(results))
pool.terminate()
";

#[test]
fn a_pool_raises_that_its_workers_cannot_start_only_once_they_have_all_ended() {
    let path = write_program("slow_second_worker.mini", SLOW_SECOND_WORKER);
    let mark = path.with_file_name("slow_second_worker.mark");
    let _ = std::fs::remove_file(&mark);
    let out = Command::new(MINIVM)
        .arg(&path)
        .arg(&mark)
        .output()
        .expect("run minivm");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout, "running: []\nall failed: True\n", "{stderr}");
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("finished its bootstrapping phase"),
        "{stderr}"
    );
}

#[test]
fn a_pool_whose_workers_cannot_start_fails_instead_of_hanging() {
    let path = write_program("no_guard.mini", NO_GUARD);
    let start = Instant::now();
    let mut child = Command::new(MINIVM)
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run minivm");
    // Fails the test (rather than hanging it) if the pool keeps replacing its workers.
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the pool of a script without the __main__ guard hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "", "{stderr}");
    // Each worker's own error, as CPython words it, then the parent's.
    assert!(
        stderr.contains("finished its bootstrapping phase"),
        "{stderr}"
    );
    let last = stderr.lines().last().unwrap_or("");
    assert!(
        last.starts_with("RuntimeError: a worker of the pool (SpawnPoolWorker-")
            && last.contains("failed to start, exit code 1")
            && last
                .ends_with("code that starts processes belongs under `if __name__ == '__main__':`"),
        "{last}"
    );
}
