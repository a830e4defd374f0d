//! Child processes on the parent's `--stats` and `--timeline` (stage 4, for `multiprocessing`).
//!
//! A parent run with `--stats` or `--timeline` names a fresh directory in the environment
//! variable [`ENV`] before the program starts. Every minivm child started by `multiprocessing`
//! inherits it, records its own threads (as if it had both flags), and when it ends writes one
//! file there: its process name, when it started (wall clock) and each thread's counters and
//! timeline segments. After the run the parent reads the files and adds the children's threads,
//! moved onto its own clock, as rows named `Process-1: MainThread`: one picture shows processes
//! running side by side with threads. A child ended by a signal (`terminate()`, `kill()`) writes
//! nothing and does not appear.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{Segment, ThreadLine, Timeline, STATES};
use crate::stats::{Report, ThreadStats};
use minivm_compiler::bytecode::OPCODES;

/// The environment variable naming the directory children write their reports to.
pub const ENV: &str = "MINIVM_MP_REPORT";

/// The first line of a report file.
const MAGIC: &str = "minivm-child-report 1";

/// This process's `multiprocessing` name, once a child knows it (`Process-1`, `PoolWorker-2`).
static PROCESS_NAME: OnceLock<String> = OnceLock::new();

pub fn set_process_name(name: &str) {
    let _ = PROCESS_NAME.set(name.to_string());
}

/// The wall-clock time (seconds since the Unix epoch) at which `origin` was.
pub fn unix_secs(origin: Instant) -> f64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    now - origin.elapsed().as_secs_f64()
}

fn since(origin: Instant, at: Instant) -> f64 {
    at.saturating_duration_since(origin).as_secs_f64()
}

/// The text of this child's report: one `stats` line per thread (counters, then its start and
/// end in seconds from `origin`), one `line` per timeline row followed by its `seg`ments and
/// `hand`-offs.
pub fn render(report: &Report, timeline: Option<&Timeline>, origin: Instant) -> String {
    let name = PROCESS_NAME.get().map_or("child", String::as_str);
    let mut out = format!(
        "{MAGIC}\nprocess {} {:.6} {name}\n",
        std::process::id(),
        unix_secs(origin)
    );
    for t in &report.threads {
        let end = t
            .ended
            .map_or(report.wall.as_secs_f64(), |e| since(origin, e));
        let _ = writeln!(
            out,
            "stats {} {:.9} {:.9} {:.9} {} {} {:.9} {:.9} {}",
            t.instructions(),
            t.holding.as_secs_f64(),
            t.waiting.as_secs_f64(),
            t.blocked_io.as_secs_f64(),
            t.acquisitions,
            t.forced_switches,
            since(origin, t.started),
            end,
            t.name
        );
        // `--stats=opcodes`: the thread's executions per opcode, by name.
        if t.instructions() > 0 {
            out.push_str("ops");
            for (i, &n) in t.ops.iter().enumerate() {
                if let (true, Some(o)) = (n > 0, OPCODES.get(i)) {
                    let _ = write!(out, " {}={n}", o.name);
                }
            }
            out.push('\n');
        }
    }
    for line in timeline.map_or(&[][..], |tl| &tl.threads) {
        let _ = writeln!(out, "line {} {}", line.tid, line.name);
        for s in &line.segments {
            let state = STATES.iter().position(|x| *x == s.state).unwrap_or(0);
            let (a, b) = (s.start.as_secs_f64(), s.end.as_secs_f64());
            let _ = writeln!(out, "seg {state} {a:.9} {b:.9}");
        }
        for h in &line.hand_offs {
            let _ = writeln!(out, "hand {:.9}", h.as_secs_f64());
        }
    }
    out
}

/// In a child: write the report into the directory [`ENV`] names (nothing if it is unset).
pub fn write_report(
    report: &Report,
    timeline: Option<&Timeline>,
    origin: Instant,
) -> std::io::Result<()> {
    let Some(dir) = std::env::var_os(ENV) else {
        return Ok(());
    };
    let path = Path::new(&dir).join(format!("{}.txt", std::process::id()));
    std::fs::write(path, render(report, timeline, origin))
}

/// One child's threads, on the parent's clock.
pub struct Child {
    offset: Duration,
    pub stats: Vec<ThreadStats>,
    lines: Vec<ThreadLine>,
}

fn secs(word: Option<&str>) -> Option<Duration> {
    let v: f64 = word?.parse().ok()?;
    Duration::try_from_secs_f64(v.max(0.0)).ok()
}

fn int(word: Option<&str>) -> Option<u64> {
    word?.parse().ok()
}

/// Parse one report; `parent_unix` is when the parent's clock started. `None` if malformed.
pub fn parse(text: &str, origin: Instant, parent_unix: f64, index: u64) -> Option<Child> {
    let mut lines = text.lines();
    if lines.next()? != MAGIC {
        return None;
    }
    let mut head = lines.next()?.splitn(4, ' ');
    let (_, _pid) = (head.next()?, head.next()?);
    let child_unix: f64 = head.next()?.parse().ok()?;
    let process = head.next().unwrap_or("child").to_string();
    let offset = Duration::try_from_secs_f64((child_unix - parent_unix).max(0.0)).ok()?;
    let at = |d: Duration| origin + offset + d;
    let mut child = Child {
        offset,
        stats: Vec::new(),
        lines: Vec::new(),
    };
    for l in lines {
        let (kind, rest) = l.split_once(' ')?;
        match kind {
            "stats" => {
                let mut w = rest.splitn(9, ' ');
                let mut t = ThreadStats::new("");
                // (The total: the `ops` line that follows has the counts by opcode.)
                let _instructions = int(w.next())?;
                t.holding = secs(w.next())?;
                t.waiting = secs(w.next())?;
                t.blocked_io = secs(w.next())?;
                t.acquisitions = int(w.next())?;
                t.forced_switches = int(w.next())?;
                t.started = at(secs(w.next())?);
                t.ended = Some(at(secs(w.next())?));
                t.name = format!("{process}: {}", w.next().unwrap_or("?"));
                t.process = Some(process.clone());
                child.stats.push(t);
            }
            "ops" => {
                let t = child.stats.last_mut()?;
                for word in rest.split(' ') {
                    let (name, n) = word.split_once('=')?;
                    let row = OPCODES.iter().position(|o| o.name == name)?;
                    *t.ops.get_mut(row)? += n.parse::<u64>().ok()?;
                }
            }
            "line" => {
                let (tid, name) = rest.split_once(' ')?;
                child.lines.push(ThreadLine {
                    // Thread ids are per process: keep each child's apart from the parent's.
                    tid: (index + 1) * 1_000_000 + tid.parse::<u64>().ok()?,
                    name: format!("{process}: {name}"),
                    segments: Vec::new(),
                    drop_requests: Vec::new(),
                    hand_offs: Vec::new(),
                    marks: Vec::new(),
                });
            }
            "seg" => {
                let mut w = rest.split(' ');
                let state = *STATES.get(w.next()?.parse::<usize>().ok()?)?;
                let (start, end) = (secs(w.next())?, secs(w.next())?);
                child.lines.last_mut()?.segments.push(Segment {
                    start: start + offset,
                    end: end + offset,
                    state,
                });
            }
            "hand" => {
                let t = secs(Some(rest))?;
                child.lines.last_mut()?.hand_offs.push(t + offset);
            }
            _ => return None,
        }
    }
    Some(child)
}

/// In the parent: read the reports the children left in `dir` (then remove it), in the order
/// the children started. `origin` is the parent's `Vm.started`.
pub fn collect(dir: &Path, origin: Instant) -> Vec<Child> {
    let parent_unix = unix_secs(origin);
    let mut texts: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    texts.sort();
    let _ = std::fs::remove_dir_all(dir);
    let mut children: Vec<Child> = texts
        .iter()
        .enumerate()
        .filter_map(|(i, t)| parse(t, origin, parent_unix, i as u64))
        .collect();
    children.sort_by_key(|c| c.offset);
    children
}

/// Add the children's threads to the parent's `--stats` report.
pub fn add_to_report(report: &mut Report, children: &[Child]) {
    for c in children {
        report.threads.extend(c.stats.iter().cloned());
    }
}

/// Add the children's rows to the parent's timeline (a child still running when the parent
/// ended is cut at the parent's end).
pub fn add_to_timeline(tl: &mut Timeline, children: &[Child]) {
    let wall = tl.info.wall;
    for c in children {
        for line in &c.lines {
            let mut line = line.clone();
            line.segments.retain(|s| s.start < wall);
            for s in &mut line.segments {
                s.end = s.end.min(wall);
            }
            tl.threads.push(line);
        }
    }
}
