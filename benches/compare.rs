//! Benchmarks of the whole pipeline.
//! `cargo bench --profile release --bench compare [-- FILTER... --runs N]` (benches/run.sh): whole-process wall-clock timings of
//! minivm (release build) against CPython and, when installed, lua5.4 (for programs that have a
//! `.lua` port next to them, e.g. `benches/factorize.lua`).
//!
//! Programs: `examples/factorize.mini` (the seed's program), the micro programs in
//! `benches/programs/` and the kernels in `benches/kernels/` (n-body, richards, fannkuch, ...), and
//! the pyperformance-style whole programs of the test suite (`tests/scripts/programs/pyperf_*`);
//! then two tables of ratios: threads (`threads`) and processes (`processes`), each also alone.
//! Each program runs N times per interpreter (default 5, `--runs N` or `MINIVM_BENCH_RUNS`),
//! interleaved (minivm, python3, lua, minivm, ...) so machine noise hits all of them alike;
//! the table shows the best run and the peak memory (max RSS, one extra run). For
//! programs that do not read the clock, minivm's stdout is checked against python3's and a
//! mismatch is flagged.
//!
//! `--gil-off` adds a column: minivm with `--gil off`, its ratio the free-threaded time over the
//! default's. `--rt` runs every timed process at real-time priority (`become_realtime`), for
//! times close to an idle machine's on a busy one.
//!
//! CPython is the real executable (`sys.executable`, or `MINIVM_BENCH_PYTHON`), not a version
//! manager's shim such as pyenv's, which adds about 0.1 s to every start. Each runtime's start-up
//! time (an empty program) is printed above the table, since every row includes it.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const MINIVM: &str = env!("CARGO_BIN_EXE_minivm");

struct Runner {
    name: &'static str,
    program: String,
    /// File extension of the source this runner takes.
    ext: &'static str,
    /// Flags before the program's path (`PYTHON_FLAGS` for CPython).
    flags: &'static [&'static str],
}

/// CPython runs as `python3 -S`: without the `site` module, whose work (site-packages on
/// `sys.path`, their `.pth` files) no benchmark needs. On this project's machine a `.pth` file
/// imports a certificate package at each start, 75 ms of CPU that a usual installation does not
/// spend (`python3 -c pass` 91 ms of CPU, with `-S` 17 ms): with it, CPython's times would carry
/// a cost that is this machine's, not CPython's. The script tests run the oracle the same way.
const PYTHON_FLAGS: &[&str] = &["-S"];

struct Timing {
    best: Option<Duration>,
    /// Max RSS of one extra run, in KiB (0 when unknown).
    peak_kb: u64,
    stdout: Option<Vec<u8>>,
    error: Option<String>,
}

fn main() -> ExitCode {
    // Timing an unoptimised minivm would be a lie: refuse a build made with a profile at
    // opt-level 0 (`cargo bench --profile dev`, or a `bench` profile someone turned down).
    if env!("MINIVM_OPT_LEVEL") == "0" {
        eprintln!("compare: this build is unoptimised; run benches/run.sh (cargo bench --profile release)");
        return ExitCode::from(2);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut runs: usize = std::env::var("MINIVM_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let mut filters = Vec::new();
    let mut realtime = false;
    let mut gil_off = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--runs" {
            runs = args.next().and_then(|v| v.parse().ok()).unwrap_or(runs);
        } else if a == "--rt" {
            realtime = true;
        } else if a == "--gil-off" {
            gil_off = true;
        } else if !a.starts_with('-') {
            filters.push(a);
        }
    }
    let runs = runs.max(1);
    let realtime = realtime && become_realtime();

    let mut programs = vec![root.join("examples/factorize.mini")];
    programs.extend(mini_files(&root.join("benches/programs")));
    programs.extend(mini_files(&root.join("benches/kernels")));
    // The pyperformance-style whole programs of the test suite, timed as they are tested.
    let real_dir = root.join("tests/scripts/programs");
    programs.extend(mini_files(&real_dir).into_iter().filter(|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("pyperf_"))
    }));
    if !filters.is_empty() {
        programs.retain(|p| {
            filters
                .iter()
                .any(|f| p.to_string_lossy().contains(f.as_str()))
        });
    }

    let mut runners = vec![Runner {
        name: "minivm",
        program: MINIVM.to_string(),
        ext: "mini",
        flags: &[],
    }];
    if gil_off {
        runners.push(Runner {
            name: GIL_OFF,
            program: MINIVM.to_string(),
            ext: "mini",
            flags: &["--gil", "off"],
        });
    }
    let python = real_python();
    if let Some(py) = &python {
        runners.push(Runner {
            name: "python3",
            program: py.clone(),
            ext: "mini",
            flags: PYTHON_FLAGS,
        });
    }
    if version("lua5.4", &["-v"]).is_some() {
        runners.push(Runner {
            name: "lua5.4",
            program: "lua5.4".into(),
            ext: "lua",
            flags: &[],
        });
    }

    print_machine(&runners);
    if realtime {
        println!("--rt: every timed process runs at real-time priority (SCHED_RR 10): other programs on the machine wait while it runs");
    }
    print_startup(&runners, runs);
    println!(
        "best of {runs} runs, wall clock of the whole process (start-up included), interleaved;"
    );
    println!("MB = peak resident memory (max RSS) of one extra run, by /usr/bin/time\n");

    let mut header = format!("{:<24} {:>10} {:>7}", "program", "minivm s", "MB");
    for r in &runners[1..] {
        header += &format!(
            " {:>10} {:>7} {:>9}",
            format!("{} s", r.name),
            "MB",
            ratio_head(r.name)
        );
    }
    println!("{header}");
    println!("{}", "-".repeat(header.len()));

    let mut any_error = false;
    let kernels_dir = root.join("benches/kernels");
    let mut kernel_ratios: Vec<f64> = Vec::new();
    let mut real_ratios: Vec<f64> = Vec::new();
    for prog in &programs {
        // The source each runner takes: the .mini itself, or a port with the runner's extension.
        let sources: Vec<Option<PathBuf>> = runners
            .iter()
            .map(|r| {
                let p = if r.ext == "mini" {
                    prog.clone()
                } else {
                    let port = prog.with_extension(r.ext);
                    if port.exists() {
                        port
                    } else {
                        root.join("benches")
                            .join(port.file_name().unwrap_or_default())
                    }
                };
                p.exists().then_some(p)
            })
            .collect();
        let mut timings: Vec<Timing> = runners
            .iter()
            .map(|_| Timing {
                best: None,
                peak_kb: 0,
                stdout: None,
                error: None,
            })
            .collect();
        for _ in 0..runs {
            for (i, r) in runners.iter().enumerate() {
                let (Some(src), None) = (&sources[i], &timings[i].error) else {
                    continue;
                };
                match time_once(&r.program, r.flags, src) {
                    Ok((d, out)) => {
                        let t = &mut timings[i];
                        t.best = Some(t.best.map_or(d, |b| b.min(d)));
                        t.stdout = Some(out);
                    }
                    Err(e) => timings[i].error = Some(e),
                }
            }
        }
        for (i, r) in runners.iter().enumerate() {
            if let (Some(src), None) = (&sources[i], &timings[i].error) {
                timings[i].peak_kb = peak_memory_kb(&r.program, r.flags, src).unwrap_or(0);
            }
        }
        let name = prog
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let reads_clock = std::fs::read_to_string(prog)
            .map(|s| s.contains("time."))
            .unwrap_or(true);
        let py = runners.iter().position(|r| r.name == "python3");
        let mismatch = !reads_clock
            && py.is_some_and(|k| {
                timings[0].stdout.is_some()
                    && timings[k].stdout.is_some()
                    && timings[0].stdout != timings[k].stdout
            });
        let cell = |t: &Timing| match (t.best, &t.error) {
            (_, Some(_)) => "error".to_string(),
            (Some(d), None) => format!("{:.3}", d.as_secs_f64()),
            (None, None) => "-".to_string(),
        };
        let mem = |t: &Timing| match (t.best, &t.error) {
            (Some(_), None) if t.peak_kb > 0 => format!("{:.1}", t.peak_kb as f64 / 1024.0),
            _ => "-".to_string(),
        };
        let mut line = format!(
            "{:<24} {:>10} {:>7}",
            if mismatch {
                format!("{name} (!)")
            } else {
                name
            },
            cell(&timings[0]),
            mem(&timings[0])
        );
        for (k, t) in timings.iter().enumerate().skip(1) {
            let ratio = match (timings[0].best, t.best, &timings[0].error, &t.error) {
                // The free-threaded column's ratio is the other way round: what `--gil off`
                // costs over the default (issue 8: at most 1.3x).
                (Some(a), Some(b), None, None) if runners[k].name == GIL_OFF => {
                    format!("{:.2}x", b.as_secs_f64() / a.as_secs_f64())
                }
                (Some(a), Some(b), None, None) if b.as_secs_f64() > 0.0 => {
                    let r = a.as_secs_f64() / b.as_secs_f64();
                    if runners[k].name == "python3" && prog.starts_with(&kernels_dir) {
                        kernel_ratios.push(r);
                    }
                    if runners[k].name == "python3" && prog.starts_with(&real_dir) {
                        real_ratios.push(r);
                    }
                    format!("{r:.2}x")
                }
                _ => "-".to_string(),
            };
            line += &format!(" {:>10} {:>7} {:>9}", cell(t), mem(t), ratio);
        }
        println!("{line}");
        for (r, t) in runners.iter().zip(&timings) {
            if let Some(e) = &t.error {
                any_error = true;
                println!("    {}: {}", r.name, e.lines().last().unwrap_or(""));
            }
        }
        if mismatch {
            println!("    (!) minivm's output differs from python3's");
        }
    }
    println!("\nratio = minivm time / other time (lower is better for minivm)");
    if gil_off {
        println!("off/on = minivm --gil off time / minivm time (issue 8: at most 1.3x)");
    }
    for (what, ratios) in [
        ("kernels (benches/kernels", &kernel_ratios),
        (
            "real programs (tests/scripts/programs/pyperf_*",
            &real_ratios,
        ),
    ] {
        if ratios.is_empty() {
            continue;
        }
        let geo = (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp();
        let worst = ratios.iter().cloned().fold(0.0, f64::max);
        println!(
            "{what}, {} programs): geometric mean minivm/python3 = {geo:.2}x, worst {worst:.2}x",
            ratios.len()
        );
    }
    if filters.is_empty() || filters.iter().any(|f| f == "threads") {
        thread_table(&root, runs, realtime);
    }
    if filters.is_empty() || filters.iter().any(|f| f == "processes") {
        process_table(&root, runs);
    }
    if any_error {
        println!("some runs failed (shown as `error`)");
    }
    ExitCode::SUCCESS
}

/// Processes as the way around the GIL: `examples/factorize_processes.mini` factors eight numbers
/// in a row and with `multiprocessing.Pool(2)`; ratio = pool / sequential, whole processes
/// (interpreter and worker start-up included), interleaved, best of `runs`. CPython uses its
/// Linux default start method (fork), minivm the one it has.
fn process_table(root: &Path, runs: usize) {
    let src = root.join("examples/factorize_processes.mini");
    let python = real_python().unwrap_or_else(|| "python3".into());
    let variants: [(&str, &str, &[&str]); 2] = [
        ("minivm", MINIVM, &[]),
        ("python3", python.as_str(), PYTHON_FLAGS),
    ];
    println!("\nprocesses: best of {runs} wall-clock seconds; ratio = Pool(2) / sequential");
    println!(
        "{:<18} {:>11} {:>11} {:>8}",
        "interpreter", "sequential", "Pool(2)", "ratio"
    );
    let mut best = [[None::<Duration>; 2]; 2];
    for _ in 0..runs {
        for (vi, (_, program, flags)) in variants.iter().enumerate() {
            for (k, way) in ["sequential", "processes"].iter().enumerate() {
                if let Ok(d) = time_args(program, flags, &src, &[way]) {
                    best[vi][k] = Some(best[vi][k].map_or(d, |b: Duration| b.min(d)));
                }
            }
        }
    }
    for (vi, (name, _, _)) in variants.iter().enumerate() {
        let cell = |d: Option<Duration>| {
            d.map_or("error".to_string(), |d| format!("{:.3}", d.as_secs_f64()))
        };
        let ratio = match best[vi] {
            [Some(a), Some(b)] => format!("{:.2}", b.as_secs_f64() / a.as_secs_f64()),
            _ => "-".to_string(),
        };
        println!(
            "{:<18} {:>11} {:>11} {:>8}",
            name,
            cell(best[vi][0]),
            cell(best[vi][1]),
            ratio
        );
    }
}

/// The GIL's lesson as numbers: threaded / sequential for CPU-bound and blocking work, under
/// minivm with the GIL on and off and under python3, all measured in this run, interleaved.
fn thread_table(root: &Path, runs: usize, realtime: bool) {
    let pairs = [
        (
            "factorize",
            "examples/factorize.mini",
            "examples/factorize_threads.mini",
        ),
        (
            "4 equal parts",
            "benches/threads/equal_serial.mini",
            "benches/threads/equal_threads.mini",
        ),
        (
            "blocking I/O",
            "benches/threads/io_serial.mini",
            "benches/threads/io_threads.mini",
        ),
    ];
    let variants: [(&str, &str, &[&str]); 3] = [
        ("minivm --gil on", MINIVM, &["--gil", "on"]),
        ("minivm --gil off", MINIVM, &["--gil", "off"]),
        ("python3", "", PYTHON_FLAGS),
    ];
    let python = real_python().unwrap_or_else(|| "python3".into());
    println!("\nthreads: best of {runs} wall-clock seconds; ratio = threaded / sequential");
    // A threaded program needs both processors free at once, a sequential one only one: on a
    // machine running other work the ratio measures that work (docs/BENCHMARKS.md, "Four
    // factorize threads"), so the load is shown beside it.
    let load_before = load_average();
    println!(
        "{:<14} {:<18} {:>11} {:>11} {:>8}",
        "work", "interpreter", "sequential", "threaded", "ratio"
    );
    let mut seq_on_off = [None, None];
    for (label, seq, thr) in pairs {
        for (vi, (name, program, flags)) in variants.iter().enumerate() {
            let program = if *name == "python3" {
                python.as_str()
            } else {
                program
            };
            let mut best = [None::<Duration>, None];
            for _ in 0..runs {
                for (k, file) in [seq, thr].iter().enumerate() {
                    if let Ok(d) = time_with(program, flags, &root.join(file)) {
                        best[k] = Some(best[k].map_or(d, |b: Duration| b.min(d)));
                    }
                }
            }
            let cell = |d: Option<Duration>| {
                d.map_or("error".to_string(), |d| format!("{:.3}", d.as_secs_f64()))
            };
            let ratio = match best {
                [Some(a), Some(b)] => format!("{:.2}", b.as_secs_f64() / a.as_secs_f64()),
                _ => "-".to_string(),
            };
            println!(
                "{:<14} {:<18} {:>11} {:>11} {:>8}",
                label,
                name,
                cell(best[0]),
                cell(best[1]),
                ratio
            );
            if label == "factorize" && vi < 2 {
                seq_on_off[vi] = best[0];
            }
        }
    }
    // Processor time, which the other load hardly changes: threads that slowed each other
    // down (two vCPUs that are one core's hyperthreads, cache lines written by both) would
    // use more of it than the sequential run.
    let mut cpu_parts = Vec::new();
    for (label, seq, thr) in pairs.iter().take(2) {
        let flags: &[&str] = &["--gil", "off"];
        let [Some(a), Some(b)] =
            [seq, thr].map(|f| children_cpu(MINIVM, flags, &root.join(f), runs))
        else {
            continue;
        };
        cpu_parts.push(format!("{label} {:.2} ({:.3} s / {:.3} s)", b / a, b, a));
    }
    if !cpu_parts.is_empty() {
        println!(
            "processor time with the GIL off, threaded / sequential, {} runs of each: {}",
            runs.max(3),
            cpu_parts.join(", ")
        );
    }
    if let [Some(on), Some(off)] = seq_on_off {
        println!(
            "cost of the GIL on single-threaded factorize: {:+.1}% (GIL on {:.3} s vs off {:.3} s)",
            100.0 * (on.as_secs_f64() / off.as_secs_f64() - 1.0),
            on.as_secs_f64(),
            off.as_secs_f64()
        );
    }
    println!("targets (issue 4): GIL on ratio >= 0.95; GIL off ratio <= 0.6; blocking I/O ratio <= 0.25; GIL cost <= 3%");
    println!("issue 8: four factorize threads with the GIL off <= 0.55 of the sequential time");
    println!(
        "floors on two idle cores (start-up aside): factorize 0.521 with the threads shared fairly, 0.589 run first-in first-out (--rt); 4 equal parts 0.5 either way"
    );
    println!(
        "load average (1 min) {} before this table, {} after{}",
        load_before,
        load_average(),
        if realtime {
            "; --rt: the timed processes ran ahead of that load"
        } else {
            ": above 0 the other load takes processors from the threaded runs"
        }
    );
    recorder_table(root, runs);
}

/// What watching costs: single-threaded factorize plain, with `--stats`, and with a timeline being
/// recorded (issue 5: the recorder costs nothing when it is off; these rows show what it costs on).
fn recorder_table(root: &Path, runs: usize) {
    let file = root.join("examples/factorize.mini");
    let timeline = std::env::temp_dir().join(format!("minivm-bench-{}.json", std::process::id()));
    let timeline_arg = timeline.to_string_lossy().into_owned();
    let variants: [(&str, Vec<&str>); 3] = [
        ("plain", vec![]),
        ("--stats", vec!["--stats=json"]),
        ("--timeline", vec!["--timeline", timeline_arg.as_str()]),
    ];
    let mut best: Vec<Option<Duration>> = vec![None; variants.len()];
    for _ in 0..runs {
        for (i, (_, flags)) in variants.iter().enumerate() {
            if let Ok(d) = time_with(MINIVM, flags, &file) {
                best[i] = Some(best[i].map_or(d, |b: Duration| b.min(d)));
            }
        }
    }
    let _ = std::fs::remove_file(&timeline);
    println!("\nrecording: single-threaded factorize, best of {runs}");
    for ((name, _), b) in variants.iter().zip(&best) {
        match (b, best[0]) {
            (Some(d), Some(base)) => println!(
                "{:<14} {:>8.3} s  {:+.1}% vs plain",
                name,
                d.as_secs_f64(),
                100.0 * (d.as_secs_f64() / base.as_secs_f64() - 1.0)
            ),
            _ => println!("{name:<14}    error"),
        }
    }
}

fn time_with(program: &str, flags: &[&str], src: &Path) -> Result<Duration, String> {
    time_args(program, flags, src, &[])
}

/// [`time_with`] with arguments after the program's path (`sys.argv[1:]`).
fn time_args(program: &str, flags: &[&str], src: &Path, args: &[&str]) -> Result<Duration, String> {
    let start = Instant::now();
    let out = Command::new(program)
        .args(flags)
        .arg(src)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(start.elapsed())
}

/// The runner `--gil-off` adds: minivm again, free-threaded.
const GIL_OFF: &str = "gil-off";

/// The head of a runner's ratio column: `vm/py`, `vm/lua`; `off/on` for `--gil-off`'s.
fn ratio_head(name: &str) -> String {
    match name {
        GIL_OFF => "off/on".to_string(),
        other => format!("vm/{}", short(other)),
    }
}

fn short(name: &str) -> &str {
    match name {
        "python3" => "py",
        "lua5.4" => "lua",
        other => other,
    }
}

/// One run: wall time and stdout (the peak memory is measured apart, in `peak_memory_kb`).
fn time_once(program: &str, flags: &[&str], src: &Path) -> Result<(Duration, Vec<u8>), String> {
    let start = Instant::now();
    let out = Command::new(program)
        .args(flags)
        .arg(src)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    let elapsed = start.elapsed();
    if !out.status.success() {
        return Err(format!(
            "exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok((elapsed, out.stdout))
}

/// Peak resident memory (KiB) of one extra, untimed run, read by GNU time (`/usr/bin/time -f %M`,
/// Debian's `time` package); None when it is not installed. Kept out of the timed runs so that
/// the wrapper's own start-up does not count in the times.
fn peak_memory_kb(program: &str, flags: &[&str], src: &Path) -> Option<u64> {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M", "--"])
        .arg(program)
        .args(flags)
        .arg(src)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stderr);
    text.lines().last()?.trim().parse().ok()
}

/// The `.mini` files of a folder, sorted.
fn mini_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "mini"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The real CPython executable: `MINIVM_BENCH_PYTHON`, else what `python3` reports as
/// `sys.executable` (a pyenv shim re-executes the real binary and adds ~0.1 s per start).
fn real_python() -> Option<String> {
    if let Ok(p) = std::env::var("MINIVM_BENCH_PYTHON") {
        return Some(p);
    }
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !path.is_empty()).then_some(path)
}

/// Each runtime's start-up time: best of `runs` runs of an empty program.
fn print_startup(runners: &[Runner], runs: usize) {
    let dir = std::env::temp_dir();
    let mut parts = Vec::new();
    for r in runners {
        let empty = dir.join(format!(
            "minivm-bench-empty-{}.{}",
            std::process::id(),
            r.ext
        ));
        if std::fs::write(&empty, "").is_err() {
            continue;
        }
        let best = (0..runs.max(3))
            .filter_map(|_| time_once(&r.program, r.flags, &empty).ok().map(|(d, _)| d))
            .min();
        let _ = std::fs::remove_file(&empty);
        if let Some(d) = best {
            parts.push(format!("{} {:.1} ms", r.name, d.as_secs_f64() * 1000.0));
        }
    }
    println!("start-up (empty program): {}", parts.join(", "));
}

fn version(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    let s = String::from_utf8_lossy(&text)
        .lines()
        .next()?
        .trim()
        .to_string();
    (out.status.success() && !s.is_empty()).then_some(s)
}

fn print_machine(runners: &[Runner]) {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    println!("machine: {cpus} CPUs (nproc), {model}{}", topology());
    println!(
        "minivm:  {} ({})",
        version(MINIVM, &["--version"]).unwrap_or_else(|| "version unknown".into()),
        MINIVM
    );
    if let Some(v) = version("rustc", &["--version"]) {
        println!("rustc:   {v}");
    }
    for r in runners[1..].iter().filter(|r| r.name != GIL_OFF) {
        let v = if r.name == "lua5.4" {
            version(&r.program, &["-v"])
        } else {
            version(&r.program, &["--version"])
        };
        println!(
            "{:<8} {} ({})",
            format!("{}:", r.name),
            v.unwrap_or_default(),
            r.program
        );
    }
}

/// The 1-minute load average (`/proc/loadavg`), as text; "unknown" elsewhere.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

/// `--rt`: put this process under the real-time policy SCHED_RR (priority 10) with `chrt`, so
/// that every program it starts inherits it and runs ahead of the machine's other work, as on
/// an idle machine (it needs root or CAP_SYS_NICE; the kernel still leaves other work 5% of each
/// second). Two differences from an idle machine remain: the programs' own threads of one
/// priority run first-in first-out on each processor instead of sharing it (their slice is
/// 100 ms, longer than these programs), and caches are shared with whatever runs on the other
/// processor. False, with a message, when the policy could not be set.
fn become_realtime() -> bool {
    let ok = Command::new("chrt")
        .args(["-r", "-p", "10", &std::process::id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("compare: --rt: `chrt -r -p 10` failed (root or CAP_SYS_NICE needed); timing at normal priority");
    }
    ok
}

/// The processor time (user and system, seconds) that `runs` runs of `program` take together,
/// from this process's children's times in `/proc/self/stat` (in ticks of 10 ms, so the error
/// is at most one tick over all the runs); `None` off Linux or if a run fails.
fn children_cpu(program: &str, flags: &[&str], src: &Path, runs: usize) -> Option<f64> {
    let ticks = || -> Option<u64> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name (which may hold spaces), counted from its ')':
        // cutime and cstime are the 16th and 17th fields of the line, the 14th and 15th here.
        let rest = stat.rsplit_once(')')?.1;
        let f: Vec<&str> = rest.split_whitespace().collect();
        Some(f.get(13)?.parse::<u64>().ok()? + f.get(14)?.parse::<u64>().ok()?)
    };
    let before = ticks()?;
    for _ in 0..runs.max(3) {
        time_with(program, flags, src).ok()?;
    }
    Some((ticks()? - before) as f64 / 100.0)
}

/// How the processors are made (Linux): ", N cores, M thread(s) each", from each CPU's core
/// and package ids. Two vCPUs that are one core's two hyperthreads run two threads each slower
/// than one alone, which the threads table's ratios then show; empty when unknown.
fn topology() -> String {
    let mut cores = std::collections::BTreeSet::new();
    let mut n = 0;
    for cpu in 0.. {
        let dir = format!("/sys/devices/system/cpu/cpu{cpu}/topology");
        let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}")).ok();
        let (Some(core), Some(package)) = (read("core_id"), read("physical_package_id")) else {
            break;
        };
        cores.insert((package.trim().to_string(), core.trim().to_string()));
        n += 1;
    }
    if cores.is_empty() {
        return String::new();
    }
    format!(
        "; {} cores, {:.0} thread(s) each",
        cores.len(),
        n as f64 / cores.len() as f64
    )
}
