//! Tests of the whole pipeline (the `minivm` binary).
//! Ctrl-C during a blocking wait: for every kind of wait the main thread can block in, and in
//! each GIL mode, start `minivm` on a program that prints `ready` and then blocks, send it SIGINT
//! and check that it ends as CPython does: `KeyboardInterrupt` raised in the waiting call (the
//! `finally` block runs), the traceback on stderr, the process killed by SIGINT (CPython's
//! `exit_sigint`: what a shell shows as 130), and promptly.
//!
//! All cases run at once (each process is idle while it waits), so the whole test takes about a
//! second. Unix only: it signals the child with `kill -INT`.
#![cfg(unix)]

#[path = "common/sigint.rs"]
mod sigint;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const MINIVM: &str = env!("CARGO_BIN_EXE_minivm");

/// How long the program is left blocked before the signal (so it is inside the wait, not
/// before it).
const SETTLE: Duration = Duration::from_millis(300);
/// A process still running this long after the signal has ignored it.
const GIVE_UP: Duration = Duration::from_secs(10);
/// The reaction we require. CPython reacts within a few ms; minivm's main thread looks at the
/// flag every 10 ms. The bound is loose because the test machine may be busy.
const PROMPT: Duration = Duration::from_secs(2);

/// (name, setup code, the blocking statement(s)). The statement runs inside `try:` at one level
/// of indentation; helper threads are daemons, so they do not hold the process up at exit.
const CASES: &[(&str, &str, &str)] = &[
    ("lock", "l = threading.Lock()\nl.acquire()", "l.acquire()"),
    (
        "lock_timeout",
        "l = threading.Lock()\nl.acquire()",
        "l.acquire(timeout=60)",
    ),
    ("rlock", HELD_RLOCK, "rl.acquire()"),
    ("rlock_timeout", HELD_RLOCK, "rl.acquire(True, 60)"),
    ("queue_get", "q = queue.Queue()", "q.get()"),
    (
        "queue_get_timeout",
        "q = queue.Queue()",
        "q.get(timeout=60)",
    ),
    ("queue_put", "q = queue.Queue(1)\nq.put(1)", "q.put(2)"),
    ("queue_join", "q = queue.Queue()\nq.put(1)", "q.join()"),
    ("simple_queue_get", "q = queue.SimpleQueue()", "q.get()"),
    ("event", "e = threading.Event()", "e.wait()"),
    ("event_timeout", "e = threading.Event()", "e.wait(60)"),
    (
        "condition",
        "c = threading.Condition()",
        "with c:\n    c.wait()",
    ),
    (
        "condition_timeout",
        "c = threading.Condition(threading.Lock())",
        "with c:\n    c.wait(60)",
    ),
    (
        "condition_wait_for",
        "c = threading.Condition()",
        "with c:\n    c.wait_for(lambda: False)",
    ),
    ("semaphore", "s = threading.Semaphore(0)", "s.acquire()"),
    (
        "semaphore_timeout",
        "s = threading.BoundedSemaphore(1)\ns.acquire()",
        "s.acquire(timeout=60)",
    ),
    ("barrier", "b = threading.Barrier(2)", "b.wait()"),
    ("thread_join", SLEEPER, "t.join()"),
    ("thread_join_timeout", SLEEPER, "t.join(60)"),
    ("sleep", "", "time.sleep(60)"),
    ("select", LISTENER, "select.select([srv], [], [])"),
    ("accept", LISTENER, "srv.accept()"),
    (
        "recv",
        "srv = socket.socket()\nsrv.bind(('127.0.0.1', 0))\nsrv.listen()\n\
         cli = socket.create_connection(srv.getsockname())\nconn, _ = srv.accept()",
        "conn.recv(10)",
    ),
    (
        "poll",
        LISTENER,
        "p = select.poll()\np.register(srv)\np.poll()",
    ),
    ("popen_wait", CHILD, "child.wait()"),
    ("popen_wait_timeout", CHILD, "child.wait(60)"),
    ("popen_communicate", CHILD, "child.communicate(timeout=60)"),
    ("pipe_read", CHILD, "child.stdout.read()"),
    // stdin is a pipe the test keeps open and never writes to.
    ("stdin_input", "import sys", "input()"),
    ("stdin_readline", "import sys", "sys.stdin.readline()"),
    ("stdin_read", "import sys", "sys.stdin.read()"),
    (
        "stdin_buffer_read",
        "import sys",
        "sys.stdin.buffer.read(5)",
    ),
    (
        "stdin_fileio_read",
        "f = open('/dev/stdin', 'rb', buffering=0)",
        "f.read(5)",
    ),
];

// The child's stderr goes to /dev/null: SIGINT reaches only minivm, and a `sleep` still holding
// minivm's stderr pipe would keep the reader below waiting for its whole 30 s.
const CHILD: &str = "import subprocess\n\
child = subprocess.Popen(['sleep', '30'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)";

const HELD_RLOCK: &str = "rl = threading.RLock()\nheld = threading.Event()\n\
def hold():\n    rl.acquire()\n    held.set()\n    threading.Event().wait()\n\
threading.Thread(target=hold, daemon=True).start()\nheld.wait()";

const SLEEPER: &str = "t = threading.Thread(target=threading.Event().wait, daemon=True)\nt.start()";

const LISTENER: &str = "srv = socket.socket()\nsrv.bind(('127.0.0.1', 0))\nsrv.listen()";

fn program(setup: &str, wait: &str) -> String {
    let body: String = wait.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        "import queue\nimport select\nimport socket\nimport threading\nimport time\n{setup}\n\
         try:\n    print('ready', flush=True)\n{body}    print('wait returned', flush=True)\n\
         finally:\n    print('finally', flush=True)\n"
    )
}

struct Outcome {
    case: String,
    stdout: String,
    stderr: String,
    code: Option<i32>,
    /// Killed by SIGINT, as CPython ends after an uncaught KeyboardInterrupt.
    by_sigint: bool,
    /// From the signal to the exit.
    reaction: Option<Duration>,
    problem: Option<String>,
}

/// How the signal reaches the program.
#[derive(Clone, Copy)]
enum Send {
    /// While the program is blocked in the wait under test ([`SETTLE`] after `ready`). Its
    /// stdin is a pipe that stays open and empty (the stdin cases wait on it).
    DuringWait,
    /// Right after `ready`, while it reads stdin (see [`PENDING_CASES`]); a line is written
    /// to it once the signal has been sent, and the program goes on.
    BeforeWait,
}

fn run_case(name: &str, mode: &str, path: PathBuf, send: Send) -> Outcome {
    let case = format!("{name} (--gil {mode})");
    let mut out = Outcome {
        case,
        stdout: String::new(),
        stderr: String::new(),
        code: None,
        by_sigint: false,
        reaction: None,
        problem: None,
    };
    let child = sigint::with_default_sigint(MINIVM)
        .args(["--gil", mode])
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child: Child = match child {
        Ok(c) => c,
        Err(e) => {
            out.problem = Some(format!("cannot start minivm: {e}"));
            return out;
        }
    };
    let (Some(stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        out.problem = Some("no pipes".into());
        return out;
    };
    // Read stderr on the side so a chatty child never blocks on a full pipe.
    let err_reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut stdout = BufReader::new(stdout);
    let mut first = String::new();
    let _ = stdout.read_line(&mut first);
    if first != "ready\n" {
        let _ = child.kill();
        let _ = child.wait();
        out.stdout = first;
        out.stderr = err_reader.join().unwrap_or_default();
        out.problem = Some("the program never said ready".into());
        return out;
    }
    out.stdout = first;
    if let Send::DuringWait = send {
        thread::sleep(SETTLE);
    }
    let sent = Instant::now();
    let signalled = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    if !signalled.is_ok_and(|s| s.success()) {
        out.problem = Some("kill -INT failed".into());
    }
    // `kill` has returned: the signal is pending on the process, and its handler runs before
    // the program's read of this line returns.
    if let Send::BeforeWait = send {
        if let Some(mut stdin) = child.stdin.take() {
            if stdin.write_all(b"go\n").is_err() {
                out.problem = Some("cannot write the program's stdin".into());
            }
        }
    }
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                out.reaction = Some(sent.elapsed());
                out.code = status.code();
                out.by_sigint = sigint::killed_by_sigint(&status);
                break;
            }
            Ok(None) if sent.elapsed() < GIVE_UP => thread::sleep(Duration::from_millis(2)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                out.problem = Some(format!("still running {GIVE_UP:?} after SIGINT"));
                break;
            }
        }
    }
    let mut rest = String::new();
    let _ = stdout.read_to_string(&mut rest);
    out.stdout.push_str(&rest);
    out.stderr = err_reader.join().unwrap_or_default();
    out
}

/// The verdict of a test that ran `started` cases on threads: each reported (`finished`), and
/// none with a failure (each failure names its case and what went wrong).
fn all_cases_passed(started: usize, finished: usize, failures: &[String]) {
    assert_eq!(finished, started, "some cases never reported");
    assert!(
        failures.is_empty(),
        "{} of {started} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn ctrl_c_interrupts_every_blocking_wait_in_every_gil_mode() {
    // A directory of its own, made afresh: the programs' directory comes first on their
    // `sys.path`, so a file there named after a module they import (a case called `select`)
    // would be imported instead of it, as in CPython. Hence the `wait_` prefix too.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("interrupt-waits");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (tx, rx) = mpsc::channel();
    let mut started = 0;
    for &(name, setup, wait) in CASES {
        let path = dir.join(format!("wait_{name}.mini"));
        std::fs::write(&path, program(setup, wait)).expect("write program");
        for mode in ["on", "off", "old"] {
            let (tx, path) = (tx.clone(), path.clone());
            thread::spawn(move || {
                let _ = tx.send(run_case(name, mode, path, Send::DuringWait));
            });
            started += 1;
        }
    }
    drop(tx);
    let mut failures = Vec::new();
    let mut slowest = Duration::ZERO;
    let mut finished = 0;
    for o in rx {
        finished += 1;
        let mut why = Vec::new();
        if let Some(p) = &o.problem {
            why.push(p.clone());
        }
        if !o.by_sigint {
            why.push(format!("exit code {:?}, expected an end by SIGINT", o.code));
        }
        if o.stdout != "ready\nfinally\n" {
            why.push(format!("stdout {:?}, expected ready + finally", o.stdout));
        }
        if !o.stderr.starts_with("Traceback (most recent call last):\n")
            || !o.stderr.ends_with("\nKeyboardInterrupt\n")
        {
            why.push(format!(
                "stderr is not a KeyboardInterrupt traceback:\n{}",
                o.stderr
            ));
        }
        if let Some(r) = o.reaction {
            slowest = slowest.max(r);
            if r > PROMPT {
                why.push(format!("took {r:?} to react"));
            }
        }
        if !why.is_empty() {
            failures.push(format!("{}: {}", o.case, why.join("; ")));
        }
    }
    all_cases_passed(started, finished, &failures);
    println!("{started} cases, slowest reaction {slowest:?}");
}

/// A KeyboardInterrupt during the exit-time wait for non-daemon threads ends the process, as
/// in CPython (which reports it as an exception ignored in `threading`, its last line
/// `KeyboardInterrupt: ` as the default unraisable hook writes an empty message), keeping the
/// status.
#[test]
fn ctrl_c_while_waiting_for_threads_at_exit() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("interrupt");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("exit_wait.mini");
    std::fs::write(
        &path,
        "import threading\nthreading.Thread(target=threading.Event().wait).start()\n\
         print('ready', flush=True)\n",
    )
    .expect("write program");
    for mode in ["on", "off", "old"] {
        let o = run_case("exit_wait", mode, path.clone(), Send::DuringWait);
        assert!(o.problem.is_none(), "{}: {:?}", o.case, o.problem);
        assert_eq!(o.code, Some(0), "{}: {}", o.case, o.stderr);
        assert_eq!(o.stdout, "ready\n", "{}", o.case);
        assert!(
            o.stderr
                .starts_with("Exception ignored in: <module 'threading'")
                && o.stderr.ends_with("KeyboardInterrupt: \n"),
            "{}: {}",
            o.case,
            o.stderr
        );
    }
}

/// Ctrl-C already pending when the main thread comes to a wait that can succeed at once:
/// (name, setup, the wait, an expression printed in `finally`, what it prints). A wait CPython
/// writes in C (`lock.acquire()`) succeeds and the signal is acted on when it returns, as
/// CPython's eval breaker is checked after each call; one CPython writes in Python
/// (`Semaphore.acquire`, `Queue.get`, `Condition.wait`, `Barrier.wait`, `Thread.join`) acts on it
/// on entry (its frame's `RESUME`), so nothing is taken, released or counted. `time.sleep`
/// does not start. Either way the `KeyboardInterrupt` comes from the wait's line.
///
/// The signal is pending, not merely on its way, by construction, with no sleep in the test:
/// the program says `ready`, then reads stdin with `os.read(0, 3)`, which minivm does not
/// interrupt for Ctrl-C (docs/LANGUAGE.md: the system call is restarted after the handler; the
/// Ctrl-C is acted on at the next check point), unlike `sys.stdin`'s reads; the test sends
/// SIGINT, and only once `kill` has returned writes the line. No thread of the program's own
/// runs then, and the VM's helper threads block the signal, so the kernel gives it to the main
/// thread, whose handler runs before its read returns (or, if it had not reached the read yet,
/// before the read starts). Between the read and the wait there is no check point (`try:` and
/// a call of a native method), so the wait is the first to see the signal. CPython cannot be
/// the oracle here: its `os.read` raises `KeyboardInterrupt` itself.
const PENDING_CASES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "lock",
        "l = threading.Lock()",
        "l.acquire()",
        "l.locked()",
        "True",
    ),
    (
        "rlock",
        "rl = threading.RLock()",
        "rl.acquire()",
        "rl._is_owned()",
        "True",
    ),
    (
        "event",
        "e = threading.Event()\ne.set()",
        "e.wait()",
        "e.is_set()",
        "True",
    ),
    (
        "semaphore",
        "s = threading.Semaphore(2)",
        "s.acquire()",
        "s._value",
        "2",
    ),
    (
        "bounded_semaphore_with",
        "s = threading.BoundedSemaphore(1)",
        "with s:\n    print('inside', flush=True)",
        "s._value",
        "1",
    ),
    (
        "queue_get",
        "q = queue.Queue()\nq.put(1)",
        "q.get()",
        "q.qsize()",
        "1",
    ),
    (
        "queue_put",
        "q = queue.Queue(1)",
        "q.put(2)",
        "q.qsize()",
        "0",
    ),
    (
        "condition_wait",
        "c = threading.Condition(threading.Lock())\nc.acquire()",
        "c.wait(0)",
        "c._is_owned()",
        "True",
    ),
    (
        "condition_wait_for",
        "c = threading.Condition()\nc.acquire()\ncalls = []",
        "c.wait_for(lambda: calls.append(1) or True)",
        "len(calls)",
        "0",
    ),
    (
        "barrier",
        "b = threading.Barrier(1)",
        "b.wait()",
        "(b.n_waiting, b.broken)",
        "(0, False)",
    ),
    (
        "thread_join",
        "t = threading.Thread(target=int)\nt.start()\nt.join()",
        "t.join()",
        "t.is_alive()",
        "False",
    ),
    // `_queue.SimpleQueue.get` is C in CPython: the item is taken, and the call raises as it
    // returns.
    (
        "simple_queue_get",
        "q = queue.SimpleQueue()\nq.put(1)",
        "q.get()",
        "q.qsize()",
        "0",
    ),
    (
        "sleep",
        "t0 = time.monotonic()",
        "time.sleep(60)",
        "time.monotonic() - t0 < 5",
        "True",
    ),
];

fn pending_program(setup: &str, wait: &str, state: &str) -> String {
    let body: String = wait.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        "import os\nimport queue\nimport threading\nimport time\n{setup}\n\
         print('ready', flush=True)\nos.read(0, 3)\n\
         try:\n{body}    print('wait returned', flush=True)\n\
         finally:\n    print({state}, flush=True)\n"
    )
}

#[test]
fn ctrl_c_pending_before_a_wait_that_can_succeed_at_once() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("interrupt-pending");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (tx, rx) = mpsc::channel();
    let mut started = 0;
    for &(name, setup, wait, state, shows) in PENDING_CASES {
        let path = dir.join(format!("pending_{name}.mini"));
        std::fs::write(&path, pending_program(setup, wait, state)).expect("write program");
        let first_line = wait.lines().next().unwrap_or_default();
        for mode in ["on", "off", "old"] {
            let (tx, path) = (tx.clone(), path.clone());
            thread::spawn(move || {
                let o = run_case(name, mode, path, Send::BeforeWait);
                let _ = tx.send((o, first_line, shows));
            });
            started += 1;
        }
    }
    drop(tx);
    let mut failures = Vec::new();
    let mut finished = 0;
    for (o, line, shows) in rx {
        finished += 1;
        let mut why = Vec::new();
        if let Some(p) = &o.problem {
            why.push(p.clone());
        }
        if !o.by_sigint {
            why.push(format!("exit code {:?}, expected an end by SIGINT", o.code));
        }
        let expected = format!("ready\n{shows}\n");
        if o.stdout != expected {
            why.push(format!("stdout {:?}, expected {expected:?}", o.stdout));
        }
        // The last frame is the wait's line (a `with` statement's own line).
        let raised_there = format!("\n    {line}\nKeyboardInterrupt\n");
        if !o.stderr.starts_with("Traceback (most recent call last):\n")
            || !o.stderr.ends_with(&raised_there)
        {
            why.push(format!(
                "stderr is not a KeyboardInterrupt traceback ending at `{line}`:\n{}",
                o.stderr
            ));
        }
        if !why.is_empty() {
            failures.push(format!("{}: {}", o.case, why.join("; ")));
        }
    }
    all_cases_passed(started, finished, &failures);
}

/// A SIGINT handler the program installed runs while the main thread waits for stdin, and the
/// read then goes on, as CPython retries a read after EINTR once the handler has returned
/// (PEP 475): the handler's line comes first, then the line read. The test sends the signal
/// right after `ready` and writes the line only once `kill` has returned, so the handler runs
/// before the read has data whether the signal finds the program waiting in the read or just
/// before it. In each GIL mode, for `input()`, `sys.stdin.readline()` and
/// `sys.stdin.buffer.read(3)`.
#[test]
fn a_python_sigint_handler_runs_during_a_stdin_read_that_then_goes_on() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("interrupt-stdin-handler");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let reads = [
        ("input", "input()", "'go'"),
        ("readline", "sys.stdin.readline()", "'go\\n'"),
        ("buffer_read", "sys.stdin.buffer.read(3)", "b'go\\n'"),
    ];
    let (tx, rx) = mpsc::channel();
    let mut started = 0;
    for (name, read, shows) in reads {
        let path = dir.join(format!("handler_{name}.mini"));
        std::fs::write(
            &path,
            format!(
                "import signal\nimport sys\n\
                 def handler(signum, frame):\n    print('handler', signum, flush=True)\n\
                 signal.signal(signal.SIGINT, handler)\n\
                 print('ready', flush=True)\nline = {read}\nprint('read', repr(line))\n"
            ),
        )
        .expect("write program");
        for mode in ["on", "off", "old"] {
            let (tx, path) = (tx.clone(), path.clone());
            thread::spawn(move || {
                let _ = tx.send((run_case(name, mode, path, Send::BeforeWait), shows));
            });
            started += 1;
        }
    }
    drop(tx);
    let mut failures = Vec::new();
    let mut finished = 0;
    for (o, shows) in rx {
        finished += 1;
        let mut why = Vec::new();
        if let Some(p) = &o.problem {
            why.push(p.clone());
        }
        if o.code != Some(0) || !o.stderr.is_empty() {
            why.push(format!("exit code {:?}, stderr {:?}", o.code, o.stderr));
        }
        let expected = format!("ready\nhandler 2\nread {shows}\n");
        if o.stdout != expected {
            why.push(format!("stdout {:?}, expected {expected:?}", o.stdout));
        }
        if !why.is_empty() {
            failures.push(format!("{}: {}", o.case, why.join("; ")));
        }
    }
    all_cases_passed(started, finished, &failures);
}
