//! Script-test harness for the `minivm` binary (a `harness = false` integration test).
//!
//! Three suites, all run in parallel with a per-program timeout:
//!
//! * `tests/scripts/**/*.mini`: run `minivm x.mini`; stdout must equal `x.out` byte for byte, the exit
//!   code must be 0 (or the `exit=` directive) and stderr must be empty (or equal `x.stderr` if that file
//!   exists). When `python3` (>= 3.11) is installed it is run on the same program (as `python3 -S`, see
//!   `python_flags`) and its stdout must equal `x.out` too: CPython is the oracle, and a drifted `.out`
//!   file is caught. `tests/regen.sh` regenerates
//!   every `.out` with python3.
//! * `tests/errors/*.mini`: run `minivm x.mini`; stderr must equal `x.stderr` and the exit code `x.code`.
//!   (A library frame's number may be written `line *` in an expected stderr: `lib_line_wildcards`.)
//!   With the `cpython-same-error` directive, python3's exit code and the last line of its stderr
//!   (`ExceptionType: message`) must match minivm's too.
//! * `examples/*.mini`: minivm must exit 0 with python3's stdout (only the line count for programs
//!   that print timings; `PENDING_EXAMPLES` need later issues).
//!
//! Programs are run from their own directory with the bare file name as argument, so tracebacks say
//! `File "x.mini"`; any remaining absolute path is replaced by the file name as well, and so is the
//! path of a file beside the program (a module it imports).
//!
//! Directives: lines `# minivm-test: DIRECTIVE` in the leading comment block of a program, one per line:
//!
//! | directive              | meaning                                                               |
//! |------------------------|-----------------------------------------------------------------------|
//! | `args=a b c`           | command-line arguments after the file name (split on whitespace)      |
//! | `stdin=text`           | text fed to stdin (`\n`, `\t`, `\\` escapes); otherwise stdin is empty |
//! | `exit=N`               | expected exit code of a script (default 0)                            |
//! | `no-python`            | output depends on minivm-only behaviour: do not run python3 on it     |
//! | `pending`              | feature of a later issue: minivm is not run, reported as pending      |
//! | `cpython-same-error`   | (errors) python3's exit code and last stderr line must match          |
//! | `timeout=S`            | per-program timeout in seconds (default 30, or `MINIVM_TEST_TIMEOUT`) |
//! | `waits`                | the program mostly waits (sleeps, children): run on the waiting threads, under python3 and minivm at once |
//! | `python-site`          | run python3 without `-S` (the program uses `exit`/`quit` from `site`)  |
//!
//! Environment: `UPDATE_GOLDEN=1` rewrites `tests/errors/*.stderr`/`*.code` (and the `.out` of
//! `no-python` scripts) from minivm's actual output; `MINIVM_TEST_JOBS=N` sets the thread count;
//! `MINIVM_TEST_PYTHON=path` picks the oracle interpreter (`MINIVM_TEST_PYTHON=none` disables it).
//! Positional arguments (`cargo test --test scripts -- strings/ lists`) keep only programs whose path
//! relative to `tests/` contains one of them.

mod common;
#[path = "common/group.rs"]
mod group;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const MINIVM: &str = env!("CARGO_BIN_EXE_minivm");
const DEFAULT_TIMEOUT_SECS: u64 = 30;
const MAX_DIFF_LINES: usize = 60;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Suite {
    Script,
    Error,
    Example,
}

/// Folders whose programs run longest (whole benchmark-like programs, deep recursion, child
/// processes): scheduled before the others.
/// Threads for the programs marked `waits`, on top of the `jobs` threads.
const WAIT_THREADS: usize = 2;

const START_FIRST: &[&str] = &[
    "scripts/programs/",
    "scripts/limits/",
    "scripts/multiprocessing/",
    "scripts/subprocess/",
];

/// Examples that need a later issue's features (they cannot carry a directive: they are the
/// seed's programs exactly as written). Reported as pending.
const PENDING_EXAMPLES: &[&str] = &[];

#[derive(Default, Debug)]
struct Directives {
    args: Vec<String>,
    stdin: Vec<u8>,
    exit: Option<i32>,
    no_python: bool,
    pending: bool,
    cpython_same_error: bool,
    timeout: Option<u64>,
    /// The program spends its time waiting (sleeps, children, timeouts), not computing.
    waits: bool,
    /// python3 must import `site` for this program (it uses `exit`/`quit`, which site adds).
    python_site: bool,
}

struct Case {
    suite: Suite,
    path: PathBuf,
    /// Path relative to `tests/`, for messages and filtering.
    name: String,
    /// Has the `waits` directive: runs on the waiting threads, not in a CPU job slot.
    waits: bool,
}

enum Outcome {
    Pass,
    Pending,
    Fail(String),
}

struct RunResult {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// `None` when killed by a signal.
    code: Option<i32>,
    /// The signal that killed it (Unix).
    signal: Option<i32>,
    timed_out: bool,
    elapsed: Duration,
}

struct Config {
    python: Option<String>,
    update_golden: bool,
    default_timeout: u64,
}

fn main() -> ExitCode {
    let tests_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests");
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();

    let mut problems: Vec<String> = Vec::new();
    let mut cases = Vec::new();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for (suite, dir) in [
        (Suite::Script, tests_dir.join("scripts")),
        (Suite::Error, tests_dir.join("errors")),
        (Suite::Example, root.join("examples")),
    ] {
        let mut files = Vec::new();
        if let Err(e) = collect_mini(&dir, &mut files) {
            problems.push(format!("cannot read {}: {e}", dir.display()));
        }
        files.sort();
        let count = files.len();
        if count == 0 {
            problems.push(format!("no *.mini programs under {}", dir.display()));
        }
        for path in files {
            let name = path
                .strip_prefix(&tests_dir)
                .or_else(|_| path.strip_prefix(&root))
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let waits = std::fs::read(&path).is_ok_and(|src| {
                parse_directives(&String::from_utf8_lossy(&src)).is_ok_and(|d| d.waits)
            });
            cases.push(Case {
                suite,
                path,
                name,
                waits,
            });
        }
    }
    if !filters.is_empty() {
        cases.retain(|c| filters.iter().any(|f| c.name.contains(f.as_str())));
        if cases.is_empty() {
            problems.push(format!("no program matches the filter {filters:?}"));
        }
    }

    // The long programs start first, so that none of them is left running alone at the end.
    cases.sort_by_key(|c| !START_FIRST.iter().any(|dir| c.name.starts_with(dir)));

    if !Path::new(MINIVM).is_file() {
        problems.push(format!("minivm binary not found at {MINIVM}"));
    }

    let config = Config {
        python: common::python(),
        update_golden: std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v != "0" && !v.is_empty()),
        default_timeout: std::env::var("MINIVM_TEST_TIMEOUT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_TIMEOUT_SECS),
    };
    match &config.python {
        Some(p) => println!("oracle: {p} (stdout of every script is also checked against CPython)"),
        None => println!("oracle: python3 >= 3.11 not found, CPython checks skipped"),
    }
    if config.update_golden {
        println!("UPDATE_GOLDEN is set: error goldens are rewritten from minivm's output");
    }

    const SLOWEST_SHOWN: usize = 12;
    let jobs = std::env::var("MINIVM_TEST_JOBS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| thread::available_parallelism().map_or(2, |n| n.get()));
    println!("running {} programs on {jobs} threads", cases.len());

    let started = Instant::now();
    // Two queues: programs that mostly wait (`waits`: sleeps, child processes, timeouts) run on
    // WAIT_THREADS threads of their own, beside the `jobs` threads that run the CPU-bound rest,
    // so a program sleeping for seconds does not leave one of the cores idle.
    let (waiting, computing): (Vec<usize>, Vec<usize>) =
        (0..cases.len()).partition(|&i| cases[i].waits);
    let results: Mutex<Vec<(usize, Outcome, Duration)>> = Mutex::new(Vec::new());
    // Each queue's next unclaimed position, shared by its threads.
    let positions = [AtomicUsize::new(0), AtomicUsize::new(0)];
    thread::scope(|s| {
        let queues = [(&computing, jobs), (&waiting, WAIT_THREADS)];
        for ((queue, threads), next) in queues.into_iter().zip(&positions) {
            for _ in 0..threads.min(queue.len()) {
                let (cases, config, results) = (&cases, &config, &results);
                s.spawn(move || loop {
                    let slot = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&i) = queue.get(slot) else { break };
                    let case = &cases[i];
                    let began = Instant::now();
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        run_case(case, config)
                    }))
                    .unwrap_or_else(|_| Outcome::Fail("harness panicked on this program".into()));
                    let took = began.elapsed();
                    let mark = match &outcome {
                        Outcome::Pass => "ok",
                        Outcome::Pending => "pending",
                        Outcome::Fail(_) => "FAILED",
                    };
                    println!("test {} ... {mark}", case.name);
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((i, outcome, took));
                });
            }
        }
    });

    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _, _)| *i);
    let (mut passed, mut pending, mut failed) = (0, 0, 0);
    let mut per_folder: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut report = String::new();
    for (i, outcome, _) in &results {
        let case = &cases[*i];
        let folder = case
            .name
            .rsplit_once('/')
            .map_or(String::new(), |(d, _)| d.to_string());
        let entry = per_folder.entry(folder).or_default();
        match outcome {
            Outcome::Pass => {
                passed += 1;
                entry.0 += 1;
            }
            Outcome::Pending => pending += 1,
            Outcome::Fail(msg) => {
                failed += 1;
                entry.1 += 1;
                let _ = writeln!(report, "\n==== FAIL {} ====\n{msg}", case.name);
            }
        }
    }
    for p in &problems {
        let _ = writeln!(report, "\n==== PROBLEM ====\n{p}");
    }
    if !report.is_empty() {
        println!("{report}");
    }
    if failed > 0 {
        println!("failures by folder:");
        for (folder, (ok, bad)) in &per_folder {
            if *bad > 0 {
                println!("  {folder:<24} {bad} failed, {ok} passed");
            }
        }
    }
    // Where the suite's time goes (minivm's run and python3's together, per program): the
    // set-up budget in README counts this suite's wall time.
    let mut by_time: Vec<_> = results.iter().map(|(i, _, took)| (*took, *i)).collect();
    by_time.sort_by_key(|(took, _)| std::cmp::Reverse(*took));
    let slowest: Vec<String> = by_time
        .iter()
        .take(SLOWEST_SHOWN)
        .map(|(took, i)| format!("{} {:.1}s", cases[*i].name, took.as_secs_f64()))
        .collect();
    println!("slowest programs: {}", slowest.join(", "));
    let verdict = if failed == 0 && problems.is_empty() {
        "ok"
    } else {
        "FAILED"
    };
    println!(
        "\nscript tests: {verdict}. {passed} passed; {failed} failed; {pending} pending; {} problems; {:.1}s",
        problems.len(),
        started.elapsed().as_secs_f64()
    );
    if failed == 0 && problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn collect_mini(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_mini(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "mini") {
            out.push(path);
        }
    }
    Ok(())
}

/// Directives live in the leading block of comment and blank lines.
fn parse_directives(src: &str) -> Result<Directives, String> {
    let mut d = Directives::default();
    let mut in_header = true;
    for (n, line) in src.lines().enumerate() {
        let trimmed = line.trim();
        let is_comment = trimmed.starts_with('#') || trimmed.is_empty();
        if !is_comment {
            in_header = false;
        }
        let Some(pos) = line.find("# minivm-test:") else {
            continue;
        };
        if !in_header || pos != 0 {
            return Err(format!(
                "line {}: `# minivm-test:` directives must start a line in the leading comment block",
                n + 1
            ));
        }
        let body = line["# minivm-test:".len()..].trim();
        let (key, value) = match body.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v)),
            None => (body, None),
        };
        let bad = |what: &str| format!("line {}: {what} in directive `{body}`", n + 1);
        match (key, value) {
            ("args", Some(v)) => d.args = v.split_whitespace().map(str::to_string).collect(),
            ("stdin", Some(v)) => d.stdin = unescape(v).into_bytes(),
            ("exit", Some(v)) => {
                d.exit = Some(v.trim().parse().map_err(|_| bad("bad exit code"))?);
            }
            ("timeout", Some(v)) => {
                d.timeout = Some(v.trim().parse().map_err(|_| bad("bad timeout"))?);
            }
            ("no-python", None) => d.no_python = true,
            ("python-site", None) => d.python_site = true,
            ("pending", None) => d.pending = true,
            ("cpython-same-error", None) => d.cpython_same_error = true,
            ("waits", None) => d.waits = true,
            _ => return Err(bad("unknown directive")),
        }
    }
    Ok(d)
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

fn run_case(case: &Case, config: &Config) -> Outcome {
    let src = match std::fs::read(&case.path) {
        Ok(b) => b,
        Err(e) => return Outcome::Fail(format!("cannot read program: {e}")),
    };
    // Lossy: a test of source decoding may hold bytes that are not UTF-8 (after its header).
    let src = String::from_utf8_lossy(&src);
    let directives = match parse_directives(&src) {
        Ok(d) => d,
        Err(e) => return Outcome::Fail(format!("malformed test file: {e}")),
    };
    match case.suite {
        Suite::Script => run_script(case, &directives, config),
        Suite::Error => run_error(case, &directives, config),
        Suite::Example => run_example(case, &src, &directives, config),
    }
}

fn sibling(path: &Path, ext: &str) -> PathBuf {
    path.with_extension(ext)
}

fn read_opt(path: &Path) -> Result<Option<Vec<u8>>, String> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn run_script(case: &Case, d: &Directives, config: &Config) -> Outcome {
    let out_path = sibling(&case.path, "out");
    let expected = match read_opt(&out_path) {
        Ok(v) => v,
        Err(e) => return Outcome::Fail(e),
    };
    let timeout = d.timeout.unwrap_or(config.default_timeout);
    // The CPython oracle: checked even for pending programs, so their goldens stay honest.
    let oracle = config.python.as_deref().filter(|_| !d.no_python);
    let python_check = || match oracle {
        Some(python) => python_failures(python, case, d, timeout, &expected, &out_path),
        None => Vec::new(),
    };
    // A program that mostly waits (sleeps, children, timeouts) runs under python3 and minivm at
    // the same time: the two waits overlap instead of adding up, and the waiting queue (see
    // `WAIT_THREADS`) ends sooner. Such programs use temporary directories and port 0, so the
    // two runs do not meet. A CPU-bound program runs the two one after the other: the `jobs`
    // threads already keep every core busy.
    let (mut failures, minivm_run) = if d.waits && !d.pending {
        thread::scope(|s| {
            let python = s.spawn(python_check);
            let minivm = run_program(MINIVM, &[], &case.path, d, timeout);
            let failures = python
                .join()
                .unwrap_or_else(|_| vec!["the python3 run panicked".to_string()]);
            (failures, Some(minivm))
        })
    } else {
        (python_check(), None)
    };

    if d.pending {
        return if failures.is_empty() {
            Outcome::Pending
        } else {
            Outcome::Fail(failures.join("\n"))
        };
    }

    let minivm_run = minivm_run.unwrap_or_else(|| run_program(MINIVM, &[], &case.path, d, timeout));
    let r = match minivm_run {
        Ok(r) => r,
        Err(e) => {
            failures.push(format!("minivm: {e}"));
            return Outcome::Fail(failures.join("\n"));
        }
    };
    if config.update_golden && d.no_python && !r.timed_out {
        if let Err(e) = std::fs::write(&out_path, &r.stdout) {
            failures.push(format!("cannot write {}: {e}", out_path.display()));
        }
        return finish(failures);
    }
    if r.timed_out {
        failures.push(format!(
            "minivm timed out after {timeout}s; stdout so far:\n{}",
            indent(&truncate(&lossy(&r.stdout), 2000))
        ));
        return Outcome::Fail(failures.join("\n"));
    }
    let want_code = d.exit.unwrap_or(0);
    let stderr = normalize_paths(&lossy(&r.stderr), &case.path);
    if r.code != Some(want_code) {
        failures.push(format!(
            "minivm exited with {} (expected {want_code}) after {:.2}s; stderr:\n{}",
            r.shown_code(),
            r.elapsed.as_secs_f64(),
            indent(&truncate(&stderr, 3000))
        ));
    }
    match &expected {
        None => failures.push(format!(
            "missing {} (generate it with tests/regen.sh{})",
            file_name(&out_path),
            if d.no_python {
                ", or UPDATE_GOLDEN=1 for a no-python program"
            } else {
                ""
            }
        )),
        Some(exp) if *exp != r.stdout => failures.push(format!(
            "stdout differs from {} (- expected, + minivm):\n{}",
            file_name(&out_path),
            diff(exp, &r.stdout)
        )),
        Some(_) => {}
    }
    let stderr_path = sibling(&case.path, "stderr");
    match read_opt(&stderr_path) {
        Err(e) => failures.push(e),
        Ok(Some(exp)) => {
            let stderr = lib_line_wildcards(&lossy(&exp), &stderr);
            if exp != stderr.as_bytes() {
                failures.push(format!(
                    "stderr differs from {}:\n{}",
                    file_name(&stderr_path),
                    diff(&exp, stderr.as_bytes())
                ));
            }
        }
        Ok(None) => {
            if !stderr.is_empty() && r.code == Some(want_code) {
                failures.push(format!(
                    "unexpected stderr output:\n{}",
                    indent(&truncate(&stderr, 3000))
                ));
            }
        }
    }
    finish(failures)
}

/// The oracle's verdict on a script: python3 must exit as the program expects and print its
/// `.out` file exactly (a drifted golden is caught here).
fn python_failures(
    python: &str,
    case: &Case,
    d: &Directives,
    timeout: u64,
    expected: &Option<Vec<u8>>,
    out_path: &Path,
) -> Vec<String> {
    let mut failures = Vec::new();
    match run_program(python, python_flags(d), &case.path, d, timeout) {
        Err(e) => failures.push(format!("python3: {e}")),
        Ok(r) => {
            let want = d.exit.unwrap_or(0);
            if r.timed_out {
                failures.push(format!("python3 timed out after {timeout}s"));
            } else if r.code != Some(want) {
                failures.push(format!(
                    "python3 exited with {} (expected {want}); its stderr:\n{}",
                    r.shown_code(),
                    indent(&lossy(&r.stderr))
                ));
            }
            match expected {
                Some(exp) if *exp != r.stdout => failures.push(format!(
                    "python3's stdout differs from {} (stale golden? run tests/regen.sh):\n{}",
                    file_name(out_path),
                    diff(exp, &r.stdout)
                )),
                _ => {}
            }
        }
    }
    failures
}

/// `examples/*.mini`: minivm must exit 0; its stdout must equal python3's, except for programs
/// that read the clock (`time.time()`, `time.perf_counter()`) or say `# minivm-example: varies`
/// (thread interleavings), where only the number of output lines is compared.
fn run_example(case: &Case, src: &str, d: &Directives, config: &Config) -> Outcome {
    if PENDING_EXAMPLES.contains(&file_name(&case.path).as_str()) {
        return Outcome::Pending;
    }
    let timeout = d.timeout.unwrap_or(config.default_timeout);
    let r = match run_program(MINIVM, &[], &case.path, d, timeout) {
        Ok(r) => r,
        Err(e) => return Outcome::Fail(format!("minivm: {e}")),
    };
    let mut failures = Vec::new();
    if r.timed_out {
        return Outcome::Fail(format!("minivm timed out after {timeout}s"));
    }
    if r.code != Some(0) || !r.stderr.is_empty() {
        failures.push(format!(
            "minivm exited with {}; stderr:\n{}",
            r.shown_code(),
            indent(&truncate(&lossy(&r.stderr), 3000))
        ));
    }
    if let Some(python) = &config.python {
        match run_program(python, python_flags(d), &case.path, d, timeout) {
            Err(e) => failures.push(format!("python3: {e}")),
            Ok(p) if p.code != Some(0) => failures.push(format!(
                "python3 exited with {}: {}",
                p.shown_code(),
                last_line(&lossy(&p.stderr))
            )),
            Ok(p) => {
                // Timings and thread interleavings differ from run to run: compare the shape only.
                if src.contains("time.time()")
                    || src.contains("time.perf_counter()")
                    || src.contains("minivm-example: varies")
                {
                    let (a, b) = (
                        p.stdout.split(|&c| c == b'\n').count(),
                        r.stdout.split(|&c| c == b'\n').count(),
                    );
                    if a != b {
                        failures.push(format!(
                            "timed example: python3 printed {a} lines, minivm {b}:\n{}",
                            diff(&p.stdout, &r.stdout)
                        ));
                    }
                } else if p.stdout != r.stdout {
                    failures.push(format!(
                        "stdout differs from python3's (- python3, + minivm):\n{}",
                        diff(&p.stdout, &r.stdout)
                    ));
                }
            }
        }
    }
    finish(failures)
}

fn finish(failures: Vec<String>) -> Outcome {
    if failures.is_empty() {
        Outcome::Pass
    } else {
        Outcome::Fail(failures.join("\n"))
    }
}

fn run_error(case: &Case, d: &Directives, config: &Config) -> Outcome {
    let timeout = d.timeout.unwrap_or(config.default_timeout);
    if d.pending {
        return Outcome::Pending;
    }
    let stderr_path = sibling(&case.path, "stderr");
    let code_path = sibling(&case.path, "code");
    let mut failures = Vec::new();

    let r = match run_program(MINIVM, &[], &case.path, d, timeout) {
        Ok(r) => r,
        Err(e) => return Outcome::Fail(format!("minivm: {e}")),
    };
    if r.timed_out {
        return Outcome::Fail(format!("minivm timed out after {timeout}s"));
    }
    let stderr = normalize_paths(&lossy(&r.stderr), &case.path);
    // (The golden's `line *` wildcards are kept by an update as long as they still hold.)
    let stderr = match read_opt(&stderr_path) {
        Ok(Some(exp)) => lib_line_wildcards(&lossy(&exp), &stderr),
        _ => stderr,
    };

    if config.update_golden {
        let code = r.code.map_or("signal".to_string(), |c| c.to_string());
        for (path, data) in [
            (&stderr_path, stderr.as_bytes().to_vec()),
            (&code_path, format!("{code}\n").into_bytes()),
        ] {
            if let Err(e) = std::fs::write(path, data) {
                failures.push(format!("cannot write {}: {e}", path.display()));
            }
        }
    } else {
        match read_opt(&stderr_path) {
            Err(e) => failures.push(e),
            Ok(None) => failures.push(format!(
                "missing {} (write it by hand, or UPDATE_GOLDEN=1 and review); minivm's stderr was:\n{}",
                file_name(&stderr_path),
                indent(&truncate(&stderr, 3000))
            )),
            Ok(Some(exp)) => {
                if exp != stderr.as_bytes() {
                    failures.push(format!(
                        "stderr differs from {} (- expected, + minivm):\n{}",
                        file_name(&stderr_path),
                        diff(&exp, stderr.as_bytes())
                    ));
                }
            }
        }
        match read_opt(&code_path) {
            Err(e) => failures.push(e),
            Ok(None) => failures.push(format!("missing {}", file_name(&code_path))),
            Ok(Some(exp)) => match String::from_utf8_lossy(&exp).trim().parse::<i32>() {
                Err(_) => failures.push(format!(
                    "malformed {}: expected an integer",
                    file_name(&code_path)
                )),
                Ok(want) => {
                    if r.code != Some(want) {
                        failures.push(format!(
                            "minivm exited with {} (expected {want})",
                            r.shown_code()
                        ));
                    }
                    if want == 0 {
                        failures.push("an error test must expect a non-zero exit code".into());
                    }
                }
            },
        }
        // Error programs may print before failing; then their stdout must be pinned by an `.out` file.
        match read_opt(&sibling(&case.path, "out")) {
            Err(e) => failures.push(e),
            Ok(None) if !r.stdout.is_empty() => failures.push(format!(
                "unexpected stdout (add an .out file if it is intended):\n{}",
                indent(&truncate(&lossy(&r.stdout), 2000))
            )),
            Ok(Some(exp)) if exp != r.stdout => failures.push(format!(
                "stdout differs from .out (- expected, + minivm):\n{}",
                diff(&exp, &r.stdout)
            )),
            _ => {}
        }
    }

    if d.cpython_same_error {
        match &config.python {
            None => {}
            Some(python) => match run_program(python, python_flags(d), &case.path, d, timeout) {
                Err(e) => failures.push(format!("python3: {e}")),
                Ok(p) => {
                    let py_err = lossy(&p.stderr);
                    let py_last = last_line(&py_err);
                    let vm_last = last_line(&stderr);
                    if p.code != r.code {
                        failures.push(format!(
                            "exit code: python3 {} vs minivm {}",
                            p.shown_code(),
                            r.shown_code()
                        ));
                    }
                    if py_last != vm_last {
                        failures.push(format!(
                            "last stderr line differs from CPython's:\n  python3: {py_last}\n  minivm:  {vm_last}"
                        ));
                    }
                    // The expected file must agree with CPython as well (catches a wrong golden).
                    if let Ok(Some(exp)) = read_opt(&stderr_path) {
                        let exp = lossy(&exp);
                        if last_line(&exp) != py_last {
                            failures.push(format!(
                                "last line of {} differs from CPython's:\n  golden:  {}\n  python3: {py_last}",
                                file_name(&stderr_path),
                                last_line(&exp)
                            ));
                        }
                    }
                }
            },
        }
    }
    finish(failures)
}

fn last_line(s: &str) -> &str {
    s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("")
}

impl RunResult {
    /// The exit code, or the signal that killed the process (`signal 11`: a crash, which a
    /// landing run has to tell from a hang).
    fn shown_code(&self) -> String {
        match (self.code, self.signal) {
            (Some(c), _) => c.to_string(),
            (None, Some(sig)) => format!("signal {sig}"),
            (None, None) => "a signal".to_string(),
        }
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn indent(s: &str) -> String {
    if s.is_empty() {
        return "    <empty>".to_string();
    }
    s.lines()
        .map(|l| format!("    {}\n", clip(l)))
        .collect::<String>()
        .trim_end()
        .to_string()
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n... ({} more bytes)", &s[..end], s.len() - end)
}

fn normalize_paths(s: &str, path: &Path) -> String {
    let name = file_name(path);
    let mut out = s.to_string();
    for full in [path.canonicalize().ok(), Some(path.to_path_buf())]
        .into_iter()
        .flatten()
    {
        let full = full.to_string_lossy().into_owned();
        if !full.is_empty() && full != name {
            out = out.replace(&full, &name);
        }
    }
    // A module beside the program (a helper it imports) is named by its file name too.
    if let Some(dir) = path
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
    {
        out = out.replace(&format!("{}/", dir.to_string_lossy()), "");
    }
    out
}

/// A traceback frame in a library module (`File "<minivm-lib>/collections/__init__.mini", line
/// 557, in __init__`) may be written `line *` in an expected stderr, since the number moves with
/// every edit above it in the library file. The frame still has to show the right file and
/// function, and the source line printed under it must be line N of `vm/lib/PATH` (the file
/// minivm embeds): where the golden says `line *` and that holds, minivm's `line N` is written
/// `line *` before the comparison; otherwise the number stays and the comparison fails.
fn lib_line_wildcards(expected: &str, actual: &str) -> String {
    const PREFIX: &str = "  File \"<minivm-lib>/";
    let wild: Vec<bool> = expected
        .split('\n')
        .map(|l| l.starts_with(PREFIX) && l.contains("\", line *, in "))
        .collect();
    if !wild.contains(&true) {
        return actual.to_string();
    }
    let lib = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vm/lib");
    let lines: Vec<&str> = actual.split('\n').collect();
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let frame = line
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once("\", line "))
            .and_then(|(path, rest)| Some((path, rest.split_once(", in ")?)));
        let replaced = match (wild.get(i), frame, lines.get(i + 1)) {
            (Some(true), Some((path, (n, func))), Some(shown)) => {
                let source = std::fs::read_to_string(lib.join(path)).unwrap_or_default();
                let at = n
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| source.lines().nth(n.checked_sub(1)?));
                (at.map(str::trim) == Some(shown.trim()) && !shown.trim().is_empty())
                    .then(|| format!("{PREFIX}{path}\", line *, in {func}"))
            }
            _ => None,
        };
        out.push(replaced.unwrap_or_else(|| line.to_string()));
    }
    out.join("\n")
}

/// Run `program FILE ARGS...` from the file's directory, with a timeout.
/// python3's command-line flags for a program: `-S` (no `site` import) unless the program says
/// `python-site`. `site` only adds site-packages to `sys.path`, runs their `.pth` files and puts
/// `exit`/`quit`/`help` in builtins; none of it is part of the language minivm implements, and on
/// this project's machine the `.pth` files of its site-packages cost 75 ms of CPU per start (a
/// start without them, 17 ms): two thirds of the suite's CPU time went to them. Child
/// processes CPython spawns (multiprocessing) inherit the flag.
fn python_flags(d: &Directives) -> &'static [&'static str] {
    if d.python_site {
        &[]
    } else {
        common::PYTHON_FLAGS
    }
}

fn run_program(
    program: &str,
    flags: &[&str],
    path: &Path,
    d: &Directives,
    timeout: u64,
) -> Result<RunResult, String> {
    let dir = path.parent().ok_or("program has no parent directory")?;
    let start = Instant::now();
    let mut cmd = Command::new(program);
    cmd.args(flags)
        .arg(file_name(path))
        .args(&d.args)
        .current_dir(dir)
        .env("PYTHONIOENCODING", "utf-8")
        .env("PYTHONHASHSEED", "0")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Own process group, so a timeout kills the program's children too.
    group::own_group(&mut cmd);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;

    let stdin_data = d.stdin.clone();
    let stdin = child.stdin.take();
    thread::spawn(move || {
        if let Some(mut s) = stdin {
            let _ = s.write_all(&stdin_data);
        }
    });
    let out_rx = spawn_reader(child.stdout.take().ok_or("no stdout pipe")?);
    let err_rx = spawn_reader(child.stderr.take().ok_or("no stderr pipe")?);

    let deadline = start + Duration::from_secs(timeout);
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {
                if Instant::now() >= deadline {
                    timed_out = true;
                    group::kill_tree(&mut child);
                    break child.wait().ok();
                }
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(format!("waiting for {program}: {e}")),
        }
    };
    let elapsed = start.elapsed();
    // A leftover grandchild may still hold the pipes: do not wait for it forever.
    let grace = Duration::from_secs(5);
    let stdout = out_rx.recv_timeout(grace).unwrap_or_default();
    let stderr = err_rx.recv_timeout(grace).unwrap_or_default();
    Ok(RunResult {
        stdout,
        stderr,
        code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| exit_signal(&s)),
        timed_out,
        elapsed,
    })
}

/// The signal that ended a process (None elsewhere than Unix).
fn exit_signal(status: &std::process::ExitStatus) -> Option<i32> {
    #[cfg(unix)]
    {
        std::os::unix::process::ExitStatusExt::signal(status)
    }
    #[cfg(not(unix))]
    {
        let _ = status;
        None
    }
}

fn spawn_reader(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut v = Vec::new();
        let _ = pipe.read_to_end(&mut v);
        let _ = tx.send(v);
    });
    rx
}

/// A line diff (`-` expected, `+` actual) from a longest-common-subsequence table, with context.
fn diff(expected: &[u8], actual: &[u8]) -> String {
    let exp = lossy(expected);
    let act = lossy(actual);
    let a: Vec<&str> = exp.split_inclusive('\n').collect();
    let b: Vec<&str> = act.split_inclusive('\n').collect();
    let mut out = String::new();
    if a.len() * b.len() > 4_000_000 {
        // Too big for the table: show the first differing line.
        let i = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
        let _ = writeln!(
            out,
            "    first difference at line {}:\n    - {}\n    + {}",
            i + 1,
            a.get(i)
                .map_or("<end of output>", |l| l.trim_end_matches('\n')),
            b.get(i)
                .map_or("<end of output>", |l| l.trim_end_matches('\n'))
        );
        return out;
    }
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // Edit script: (tag, line number in expected, text).
    let mut ops: Vec<(char, usize, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((' ', i, a[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            ops.push(('+', i, b[j]));
            j += 1;
        } else {
            ops.push(('-', i, a[i]));
            i += 1;
        }
    }
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    let show = |k: usize| changed.iter().any(|&c| c.abs_diff(k) <= 2);
    let mut printed = 0;
    let mut last_shown: Option<usize> = None;
    for (k, (tag, line, text)) in ops.iter().enumerate() {
        if !show(k) {
            continue;
        }
        if printed >= MAX_DIFF_LINES {
            let _ = writeln!(
                out,
                "    ... ({} more changed lines)",
                changed.iter().filter(|&&c| c >= k).count()
            );
            break;
        }
        if last_shown.is_none_or(|l| l + 1 != k) {
            let _ = writeln!(out, "    @@ expected line {} @@", line + 1);
        }
        let shown = text.strip_suffix('\n');
        let body = shown.unwrap_or(text);
        let note = if shown.is_none() {
            "  (no newline at end)"
        } else {
            ""
        };
        let _ = writeln!(out, "    {tag} {}{note}", clip(&escape_invisible(body)));
        printed += 1;
        last_shown = Some(k);
    }
    if changed.is_empty() {
        out.push_str("    (outputs differ only in invalid UTF-8 bytes)\n");
    }
    out.trim_end().to_string()
}

/// Make trailing spaces, tabs and carriage returns visible in a diff line.
fn escape_invisible(s: &str) -> String {
    let trimmed = s.trim_end_matches([' ', '\t', '\r']);
    let tail: String = s[trimmed.len()..]
        .chars()
        .map(|c| match c {
            ' ' => "·".to_string(),
            '\t' => "\\t".to_string(),
            _ => "\\r".to_string(),
        })
        .collect();
    format!("{}{tail}", trimmed.replace('\t', "\\t"))
}

/// Shorten very long lines (e.g. 1000 nested brackets) in failure reports.
fn clip(line: &str) -> String {
    const MAX: usize = 200;
    if line.chars().count() <= MAX {
        return line.to_string();
    }
    let head: String = line.chars().take(MAX).collect();
    format!("{head}... ({} chars)", line.chars().count())
}
