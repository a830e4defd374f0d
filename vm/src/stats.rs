//! What the VM measures about its own threads: instructions run, time holding / waiting for the
//! GIL, time blocked in I/O, and hand-offs. Printed by `--stats` (a table, or JSON for tools);
//! `--stats=opcodes` adds how often each opcode ran, as CPython's `--enable-pystats` builds count
//! executions per instruction.
//!
//! Clocks are read only when the GIL changes hands or a blocking call starts or ends, never per
//! instruction; instructions are counted on the dispatch loop's slow path, which only runs when
//! `--stats` or `--trace` is on.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::gil::GilMode;
use minivm_compiler::bytecode::OPCODES;

/// What a thread is doing, for the time accounting: every moment of its life is in exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activity {
    /// Running bytecode (holding the GIL when it is on).
    Holding,
    /// Asking for the GIL, or waiting for a forced hand-off to happen.
    Waiting,
    /// In a blocking call with the GIL released.
    Blocked,
}

/// One thread's counters.
#[derive(Clone, Debug)]
pub struct ThreadStats {
    pub name: String,
    /// Instructions run, per opcode: `ops[i]` counts the opcode in row `i` of `OPCODES`
    /// ([`Op::index`](minivm_compiler::bytecode::Op::index), below 256, so the dispatch loop's
    /// count needs no bounds check). [`ThreadStats::instructions`] is their sum: counting by
    /// opcode costs the loop no more than one total did.
    pub ops: [u64; 256],
    /// The child process the thread ran in (its `multiprocessing` name), for a row a child
    /// reported (`timeline/children.rs`); `None` for this process's threads. Each process has
    /// a GIL of its own, so the table's "GIL busy" counts this process's threads only.
    pub process: Option<String>,
    pub holding: Duration,
    pub waiting: Duration,
    pub blocked_io: Duration,
    pub acquisitions: u64,
    pub forced_switches: u64,
    pub started: Instant,
    pub ended: Option<Instant>,
    /// The current activity and when it began: switching activity charges the elapsed time to
    /// the old one, so the three totals always add up to the thread's lifetime.
    activity: Option<(Activity, Instant)>,
    /// The activity before the current one (for `--trace=gil`'s wording).
    previous: Option<Activity>,
    /// Where transitions are reported for `--timeline` / `--trace=gil` (and this thread's id);
    /// `None` (the default) costs one branch per transition.
    observer: Option<(std::sync::Arc<crate::timeline::Recorder>, u64)>,
}

impl ThreadStats {
    pub fn new(name: &str) -> ThreadStats {
        ThreadStats {
            name: name.to_string(),
            ops: [0; 256],
            process: None,
            holding: Duration::ZERO,
            waiting: Duration::ZERO,
            blocked_io: Duration::ZERO,
            acquisitions: 0,
            forced_switches: 0,
            started: Instant::now(),
            ended: None,
            activity: None,
            previous: None,
            observer: None,
        }
    }

    /// Report this thread's transitions, as thread `tid`, to `recorder` from now on.
    pub fn observe(&mut self, recorder: std::sync::Arc<crate::timeline::Recorder>, tid: u64) {
        if self.observer.is_none() {
            recorder.register(tid, &self.name);
            self.observer = Some((recorder, tid));
        }
    }

    /// Mark a moment on this thread's row of the timeline (an asyncio task step), if recorded.
    pub fn mark(&self, label: &str) {
        if let Some((rec, tid)) = &self.observer {
            rec.mark(*tid, label);
        }
    }

    /// Whether transitions are being reported.
    pub fn observed(&self) -> bool {
        self.observer.is_some()
    }

    /// The thread let go of the GIL at `at` and another thread ran before it got it back.
    pub fn note_hand_off(&self, at: Instant) {
        if let Some((rec, tid)) = &self.observer {
            rec.hand_off(*tid, at);
        }
    }

    /// When the current activity began.
    pub fn activity_since(&self) -> Option<Instant> {
        self.activity.map(|(_, t)| t)
    }

    /// Start a new activity now (the first call starts the thread's life).
    pub fn switch_to(&mut self, next: Activity) {
        let now = self.charge();
        let prev = self.activity.map(|a| a.0);
        if let Some((rec, tid)) = &self.observer {
            rec.transition(*tid, &self.name, [self.previous, prev], Some(next), now);
        }
        self.previous = prev;
        self.activity = Some((next, now));
    }

    /// Charge the current activity's time up to now (or start the thread's life); returns now.
    fn charge(&mut self) -> Instant {
        let now = Instant::now();
        match self.activity {
            None => self.started = now,
            Some((prev, since)) => {
                let d = now - since;
                match prev {
                    Activity::Holding => self.holding += d,
                    Activity::Waiting => self.waiting += d,
                    Activity::Blocked => self.blocked_io += d,
                }
            }
        }
        now
    }

    /// The thread is done: charge the last activity and stop the clock.
    pub fn finish(&mut self) {
        let prev = self.activity.map(|a| a.0);
        let now = if prev.is_some() {
            self.charge()
        } else {
            Instant::now()
        };
        if let Some((rec, tid)) = &self.observer {
            rec.transition(*tid, &self.name, [self.previous, prev], None, now);
        }
        self.ended = Some(now);
        self.activity = None;
    }

    /// Instructions run (all opcodes).
    pub fn instructions(&self) -> u64 {
        self.ops.iter().sum()
    }

    /// The thread's lifetime so far.
    pub fn lifetime(&self) -> Duration {
        self.ended.unwrap_or_else(Instant::now) - self.started
    }
}

/// The run as a whole: every thread's counters plus the GIL's own.
pub struct Report {
    pub mode: GilMode,
    pub switch_interval: Duration,
    pub wall: Duration,
    pub threads: Vec<ThreadStats>,
    pub drop_requests: u64,
    pub max_concurrent: usize,
    /// What the cycle collector did (`heap/gc.rs`).
    pub gc: crate::heap::gc::Stats,
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn pct(part: Duration, whole: Duration) -> f64 {
    if whole.is_zero() {
        0.0
    } else {
        100.0 * part.as_secs_f64() / whole.as_secs_f64()
    }
}

fn mode_name(mode: GilMode) -> &'static str {
    match mode {
        GilMode::On => "on",
        GilMode::Off => "off",
        GilMode::Old => "old",
    }
}

impl Report {
    fn total(&self) -> ThreadStats {
        let mut t = ThreadStats::new("total");
        for s in &self.threads {
            t.holding += s.holding;
            t.waiting += s.waiting;
            t.blocked_io += s.blocked_io;
            t.acquisitions += s.acquisitions;
            t.forced_switches += s.forced_switches;
            for (sum, n) in t.ops.iter_mut().zip(s.ops.iter()) {
                *sum += n;
            }
        }
        t
    }

    /// `--stats=opcodes`: the table, then every opcode that ran (all threads together), most
    /// executed first, with its share of all instructions and a running total.
    pub fn opcodes_table(&self) -> String {
        let mut out = self.table();
        let total = self.total();
        let mut rows: Vec<(usize, u64)> = total
            .ops
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(i, &n)| (i, n))
            .collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let counted: u64 = rows.iter().map(|r| r.1).sum();
        let hot = rows
            .iter()
            .filter(|r| OPCODES.get(r.0).is_some_and(|o| o.hot))
            .count();
        let _ = writeln!(
            out,
            "opcodes: {} distinct ran, {} executions ({hot} opcodes have their own arm in the dispatch loop, {} run in cold_op)",
            rows.len(),
            group(counted),
            rows.len() - hot
        );
        let width = rows
            .iter()
            .filter_map(|r| OPCODES.get(r.0))
            .map(|o| o.name.len())
            .max()
            .unwrap_or(6)
            .max(6);
        let _ = writeln!(
            out,
            "{:<width$}  {:>13}  {:>6}  {:>6}",
            "opcode", "executed", "share", "cumul."
        );
        let mut running = 0u64;
        for (i, n) in rows {
            running += n;
            let name = OPCODES.get(i).map_or("?", |o| o.name);
            let _ = writeln!(
                out,
                "{:<width$}  {:>13}  {:>5.1}%  {:>5.1}%",
                name,
                group(n),
                100.0 * n as f64 / counted.max(1) as f64,
                100.0 * running as f64 / counted.max(1) as f64
            );
        }
        out
    }

    /// The terminal table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let policy = match self.mode {
            GilMode::Old => {
                "old (release and re-take every --check-interval ticks, no hand-off)".to_string()
            }
            m => format!(
                "{}, switch interval {:.1} ms",
                mode_name(m),
                self.switch_interval.as_secs_f64() * 1000.0
            ),
        };
        let _ = writeln!(
            out,
            "minivm --stats: GIL {policy}, wall time {:.3} s",
            secs(self.wall)
        );
        let width = self
            .threads
            .iter()
            .map(|t| t.name.chars().count())
            .max()
            .unwrap_or(6)
            .max(6);
        let _ = writeln!(
            out,
            "{:<width$}  {:>13}  {:>11}  {:>11}  {:>11}  {:>8}  {:>7}",
            "thread",
            "instructions",
            "holding GIL",
            "waiting GIL",
            "blocked I/O",
            "acquired",
            "forced"
        );
        let total = self.total();
        for s in self.threads.iter().chain(std::iter::once(&total)) {
            let _ = writeln!(
                out,
                "{:<width$}  {:>13}  {:>9.3} s  {:>9.3} s  {:>9.3} s  {:>8}  {:>7}",
                s.name,
                group(s.instructions()),
                secs(s.holding),
                secs(s.waiting),
                secs(s.blocked_io),
                s.acquisitions,
                s.forced_switches
            );
        }
        // This process's GIL: its own threads only (a child's threads hold the child's GIL).
        let own = || self.threads.iter().filter(|t| t.process.is_none());
        let thread_time: Duration = own().map(|t| t.lifetime()).sum();
        let holding: Duration = own().map(|t| t.holding).sum();
        let waiting: Duration = own().map(|t| t.waiting).sum();
        let _ = writeln!(
            out,
            "GIL busy {:.1}% of wall time; contention {:.1}% (share of thread time spent waiting for the GIL); \
             {} drop requests; at most {} thread(s) ran bytecode at once",
            pct(holding, self.wall),
            pct(waiting, thread_time),
            self.drop_requests,
            self.max_concurrent
        );
        let mut children: Vec<&str> = self
            .threads
            .iter()
            .filter_map(|t| t.process.as_deref())
            .collect();
        children.dedup();
        if !children.is_empty() {
            let held: Duration = self
                .threads
                .iter()
                .filter(|t| t.process.is_some())
                .map(|t| t.holding)
                .sum();
            let _ = writeln!(
                out,
                "child processes: {} (each with a GIL of its own), their threads ran bytecode {:.1}% of wall time together",
                children.len(),
                pct(held, self.wall)
            );
        }
        let g = &self.gc.generations;
        let _ = writeln!(
            out,
            "cycle collector: {} collections (generation 0: {}, 1: {}, 2: {}), {} unreachable objects freed, {:.3} s",
            g.iter().map(|s| s.collections).sum::<u64>(),
            g[0].collections,
            g[1].collections,
            g[2].collections,
            g.iter().map(|s| s.collected).sum::<u64>(),
            secs(self.gc.time)
        );
        out
    }

    /// `--stats=json`
    pub fn json(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "{{\"gil\": \"{}\", \"switch_interval\": {}, \"wall\": {}, \"drop_requests\": {}, \"max_concurrent\": {}, \"threads\": [",
            mode_name(self.mode),
            secs(self.switch_interval),
            secs(self.wall),
            self.drop_requests,
            self.max_concurrent
        );
        for (i, s) in self.threads.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(
                out,
                "{{\"name\": {}, \"instructions\": {}, \"holding\": {}, \"waiting\": {}, \"blocked_io\": {}, \
                 \"lifetime\": {}, \"acquisitions\": {}, \"forced_switches\": {}}}",
                json_str(&s.name),
                s.instructions(),
                secs(s.holding),
                secs(s.waiting),
                secs(s.blocked_io),
                secs(s.lifetime()),
                s.acquisitions,
                s.forced_switches
            );
        }
        out.push_str("], \"opcodes\": {");
        let mut first = true;
        for (i, &n) in self.total().ops.iter().enumerate() {
            if let (true, Some(o)) = (n > 0, OPCODES.get(i)) {
                let sep = if first { "" } else { ", " };
                let _ = write!(out, "{sep}{}: {n}", json_str(o.name));
                first = false;
            }
        }
        out.push('}');
        let g = &self.gc.generations;
        let _ = writeln!(
            out,
            ", \"gc\": {{\"collections\": [{}, {}, {}], \"collected\": [{}, {}, {}], \"time\": {}}}}}",
            g[0].collections,
            g[1].collections,
            g[2].collections,
            g[0].collected,
            g[1].collected,
            g[2].collected,
            secs(self.gc.time)
        );
        out
    }
}

/// `1234567` -> `1,234,567`
fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
