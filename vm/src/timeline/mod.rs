//! Stage 4 (VM), runtime.
//! The GIL timeline: who held the lock when (`--timeline`), and the live GIL trace (`--trace=gil`).
//!
//! The [`Recorder`] is only created when one of those flags is on. Threads report to it at their
//! transitions (`stats::ThreadStats::switch_to`: taking, dropping, blocking, finishing) and the GIL
//! reports drop requests (`gil::Gil::acquire`); nothing is recorded per instruction. Each event
//! takes the recorder's lock for one `Vec::push`.
//!
//! After the run, [`Recorder::snapshot`] turns the events into per-thread segments, which the
//! renderers draw: `svg` (a picture), `chrome` (trace-event JSON for Perfetto / chrome://tracing)
//! and `term` (Unicode blocks for a terminal).

pub mod children;
pub mod chrome;
pub mod svg;
pub mod term;

use std::io::Write as _;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::gil::GilMode;
use crate::stats::Activity;

/// The most events kept (about 40 MB); later ones are counted, not stored.
const MAX_EVENTS: usize = 1_000_000;

/// A thread's state on the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Running bytecode (holding the GIL when it is on).
    Holding,
    /// Asking for the GIL, or waiting for a forced hand-off to happen.
    Waiting,
    /// In a blocking call with the GIL released: I/O, `time.sleep`, and waits on a lock, a queue,
    /// an event, a condition or a thread's end (every `Interp::allow_threads` call).
    Blocked,
    /// The thread has ended.
    Finished,
}

impl State {
    fn from_activity(a: Activity) -> State {
        match a {
            Activity::Holding => State::Holding,
            Activity::Waiting => State::Waiting,
            Activity::Blocked => State::Blocked,
        }
    }

    /// Short name used in tooltips and the trace-event JSON.
    pub fn label(self, mode: GilMode) -> &'static str {
        match (self, mode) {
            (State::Holding, GilMode::Off) => "running (no GIL)",
            (State::Holding, _) => "holding GIL",
            (State::Waiting, _) => "waiting for GIL",
            (State::Blocked, _) => "blocked (I/O, sleep or wait)",
            (State::Finished, _) => "finished",
        }
    }
}

/// One recorded event.
#[derive(Clone, Debug)]
enum Event {
    /// Thread `tid` (named `name`) starts `state` at `at`.
    State { tid: u64, at: Instant, state: State },
    /// Thread `by` waited a whole interval and asked `holder` to drop the GIL.
    DropRequest { by: u64, holder: u64, at: Instant },
    /// Thread `tid` let go of the GIL at `at` and another thread ran before it got it back.
    HandOff { tid: u64, at: Instant },
    /// Something the program marked on thread `tid` (an asyncio task's step: `label` is the
    /// task's name).
    Mark {
        tid: u64,
        at: Instant,
        label: String,
    },
}

/// Collects GIL events while the program runs (shared by every thread through the `Vm`).
#[derive(Debug)]
pub struct Recorder {
    /// Time zero: `Vm.started`.
    origin: Instant,
    mode: GilMode,
    /// Keep events for `--timeline`.
    record: bool,
    /// Print GIL events to stderr as they happen (`--trace=gil`).
    trace: bool,
    events: Mutex<Vec<Event>>,
    /// Thread ids and names, in the order the threads started.
    names: Mutex<Vec<(u64, String)>>,
    dropped: std::sync::atomic::AtomicU64,
}

/// The recorder's lists, held across a fork ([`Recorder::hold_for_fork`]).
pub struct ForkHold<'a> {
    events: parking_lot::MutexGuard<'a, Vec<Event>>,
    names: parking_lot::MutexGuard<'a, Vec<(u64, String)>>,
}

impl ForkHold<'_> {
    /// In a forked child: forget the parent's threads and events; the child's timeline (its
    /// report to the parent, `timeline::children`) shows only its own.
    pub fn forget_parent(&mut self) {
        self.events.clear();
        self.names.clear();
    }
}

impl Recorder {
    /// A recorder if `--timeline` or `--trace=gil` asks for one (`None` costs nothing).
    pub fn new(
        record: bool,
        trace: bool,
        mode: GilMode,
        origin: Instant,
    ) -> Option<std::sync::Arc<Recorder>> {
        (record || trace).then(|| {
            std::sync::Arc::new(Recorder {
                origin,
                mode,
                record,
                trace,
                events: Mutex::new(Vec::new()),
                names: Mutex::new(Vec::new()),
                dropped: std::sync::atomic::AtomicU64::new(0),
            })
        })
    }

    /// Held across `fork(2)` (`Gil::around_fork`): no other thread is then halfway through
    /// recording, so the child's copy of the lists is consistent.
    pub fn hold_for_fork(&self) -> ForkHold<'_> {
        ForkHold {
            events: self.events.lock(),
            names: self.names.lock(),
        }
    }

    /// The park keys of the recorder's locks (threads recording a transition queue on them):
    /// a forked child removes the waiters gone in the fork (`Gil::park_keys`).
    pub fn park_keys(&self) -> [usize; 2] {
        use crate::heap::fork::mutex_key;
        [mutex_key(&self.events), mutex_key(&self.names)]
    }

    /// A new thread appears (before its first transition).
    pub fn register(&self, tid: u64, name: &str) {
        self.names.lock().push((tid, name.to_string()));
    }

    fn name_of(&self, tid: u64) -> String {
        self.names
            .lock()
            .iter()
            .find(|(t, _)| *t == tid)
            .map_or_else(|| format!("thread {tid}"), |(_, n)| n.clone())
    }

    fn push(&self, e: Event) {
        if !self.record {
            return;
        }
        let mut ev = self.events.lock();
        if ev.len() < MAX_EVENTS {
            ev.push(e);
        } else {
            self.dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn trace_line(&self, at: Instant, name: &str, what: &str) {
        let ms = at.saturating_duration_since(self.origin).as_secs_f64() * 1000.0;
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "[gil {ms:>10.3} ms] {name:<12} {what}");
    }

    /// A thread changes activity (called from `ThreadStats::switch_to` with its timestamp);
    /// `prev` is the activity it leaves (`None` when the thread is just starting) and `before`
    /// the one before that; `next` is `None` when the thread ends.
    pub fn transition(
        &self,
        tid: u64,
        name: &str,
        [before, prev]: [Option<Activity>; 2],
        next: Option<Activity>,
        at: Instant,
    ) {
        use Activity::{Blocked, Holding, Waiting};
        let mut state = next.map_or(State::Finished, State::from_activity);
        if self.mode == GilMode::Off && state == State::Waiting {
            // With no GIL, "waiting" is only the bookkeeping instant before running again.
            state = State::Holding;
        }
        self.push(Event::State { tid, at, state });
        if self.trace {
            let what = match (before, prev, next) {
                (_, None, Some(Waiting)) => "request (thread starts)",
                (_, Some(Holding), Some(Waiting)) if self.mode == GilMode::Old => {
                    "drop (check interval: release, then ask again at once)"
                }
                (_, Some(Holding), Some(Waiting)) => "drop (drop request: hand-off)",
                (_, Some(Blocked), Some(Waiting)) => "request (back from I/O)",
                (_, _, Some(Waiting)) => "request",
                (Some(Blocked), Some(Waiting), Some(Holding)) => "re-take (after I/O)",
                (_, _, Some(Holding)) => "take",
                (_, _, Some(Blocked)) => "release for I/O",
                (_, Some(Holding), None) => "release (thread ends)",
                (_, _, None) => "thread ends",
            };
            self.trace_line(at, name, what);
        }
    }

    /// Thread `by` asked `holder` to drop the GIL (called from `Gil::acquire`).
    pub fn drop_request(&self, by: u64, holder: u64) {
        let at = Instant::now();
        self.push(Event::DropRequest { by, holder, at });
        if self.trace {
            let holder = self.name_of(holder);
            self.trace_line(
                at,
                &self.name_of(by),
                &format!("drop request (to {holder}, after a whole interval)"),
            );
        }
    }

    /// Thread `tid` let go of the GIL at `at` and another thread took it (a hand-off).
    pub fn hand_off(&self, tid: u64, at: Instant) {
        self.push(Event::HandOff { tid, at });
    }

    /// Thread `tid` marks a moment (`vm/lib/asyncio`: a task starts a step).
    pub fn mark(&self, tid: u64, label: &str) {
        let at = Instant::now();
        self.push(Event::Mark {
            tid,
            at,
            label: label.to_string(),
        });
        if self.trace {
            self.trace_line(at, &self.name_of(tid), &format!("runs {label}"));
        }
    }

    /// The recorded run, as segments per thread; `end` is when the run ended.
    pub fn snapshot(&self, info: RunInfo) -> Timeline {
        let events = self.events.lock().clone();
        let mut names = self.names.lock().clone();
        // Rows in the order the threads were created (main thread first).
        names.sort_by_key(|(tid, _)| *tid);
        let t = |at: Instant| at.saturating_duration_since(self.origin);
        let end = info.wall;
        let mut threads: Vec<ThreadLine> = names
            .iter()
            .map(|(tid, name)| ThreadLine {
                tid: *tid,
                name: name.clone(),
                segments: Vec::new(),
                drop_requests: Vec::new(),
                hand_offs: Vec::new(),
                marks: Vec::new(),
            })
            .collect();
        let mut open: Vec<Option<(State, Duration)>> = vec![None; threads.len()];
        let index: std::collections::HashMap<u64, usize> = names
            .iter()
            .enumerate()
            .map(|(i, (tid, _))| (*tid, i))
            .collect();
        for e in &events {
            let tid = match e {
                Event::State { tid, .. } | Event::HandOff { tid, .. } | Event::Mark { tid, .. } => {
                    *tid
                }
                Event::DropRequest { by, .. } => *by,
            };
            let Some(&i) = index.get(&tid) else {
                continue;
            };
            match e {
                Event::State { at, state, .. } => {
                    let now = t(*at);
                    if let Some((s, since)) = open[i].take() {
                        if now > since {
                            threads[i].segments.push(Segment {
                                start: since,
                                end: now,
                                state: s,
                            });
                        }
                    }
                    open[i] = Some((*state, now));
                }
                Event::DropRequest { holder, at, .. } => {
                    threads[i].drop_requests.push((t(*at), *holder));
                }
                Event::HandOff { at, .. } => threads[i].hand_offs.push(t(*at)),
                Event::Mark { at, label, .. } => threads[i].marks.push((t(*at), label.clone())),
            }
        }
        for (i, o) in open.into_iter().enumerate() {
            if let Some((s, since)) = o {
                if end > since {
                    threads[i].segments.push(Segment {
                        start: since,
                        end,
                        state: s,
                    });
                }
            }
        }
        Timeline {
            info,
            threads,
            dropped_events: self.dropped.load(std::sync::atomic::Ordering::Relaxed),
        }
    }
}

/// What the run was: for titles and legends.
#[derive(Clone, Debug)]
pub struct RunInfo {
    pub mode: GilMode,
    pub switch_interval: Duration,
    pub check_interval: u32,
    pub wall: Duration,
    /// The command line, for the title.
    pub command: String,
}

impl RunInfo {
    /// "GIL on, switch interval 5 ms" and so on.
    pub fn mode_text(&self) -> String {
        match self.mode {
            GilMode::On => format!(
                "GIL on (new GIL), switch interval {}",
                fmt_time(self.switch_interval)
            ),
            GilMode::Old => format!(
                "old GIL (pre-3.2), check interval {} ticks",
                self.check_interval
            ),
            GilMode::Off => "GIL off".to_string(),
        }
    }

    /// The states a thread can be in under this mode, for legends: with the GIL off nobody waits
    /// for it.
    pub fn possible_states(&self) -> &'static [State] {
        match self.mode {
            GilMode::Off => &[State::Holding, State::Blocked, State::Finished],
            GilMode::On | GilMode::Old => &STATES,
        }
    }

    /// Does this mode make drop requests? Only the new GIL does (the old one releases on a tick
    /// count, the free-threaded mode has nothing to drop).
    pub fn makes_drop_requests(&self) -> bool {
        self.mode == GilMode::On
    }

    /// What the recorded "another thread took the GIL after this one let go" events are in this
    /// mode, (singular, plural): the new GIL's forced hand-offs, or the old GIL's switches at a
    /// check-interval release (it hands nothing over: whoever wakes first wins). `None` when the
    /// mode has no GIL to pass.
    pub fn switch_names(&self) -> Option<(&'static str, &'static str)> {
        match self.mode {
            GilMode::On => Some(("hand-off", "hand-offs")),
            GilMode::Old => Some((
                "switch at a check-interval release",
                "switches at check-interval releases",
            )),
            GilMode::Off => None,
        }
    }
}

/// A stretch of time a thread spent in one state (times from the start of the run).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Segment {
    pub start: Duration,
    pub end: Duration,
    pub state: State,
}

/// One thread's row.
#[derive(Clone, Debug)]
pub struct ThreadLine {
    pub tid: u64,
    pub name: String,
    pub segments: Vec<Segment>,
    /// Drop requests this thread made: when, and to whom (thread id).
    pub drop_requests: Vec<(Duration, u64)>,
    /// Times this thread gave the GIL to another thread.
    pub hand_offs: Vec<Duration>,
    /// Moments the program marked on this thread, with their labels (asyncio task steps).
    pub marks: Vec<(Duration, String)>,
}

/// The whole recorded run.
#[derive(Clone, Debug)]
pub struct Timeline {
    pub info: RunInfo,
    pub threads: Vec<ThreadLine>,
    /// Events not stored because the recorder was full.
    pub dropped_events: u64,
}

impl Timeline {
    /// Time spent in each state by one thread within `[from, to)`: holding, waiting, blocked,
    /// finished (the segments are sorted, so `first` is where to start looking).
    fn shares(line: &ThreadLine, from: Duration, to: Duration, first: &mut usize) -> [Duration; 4] {
        let mut acc = [Duration::ZERO; 4];
        let mut i = *first;
        while i < line.segments.len() && line.segments[i].end <= from {
            i += 1;
        }
        *first = i;
        while i < line.segments.len() && line.segments[i].start < to {
            let s = line.segments[i];
            let lo = s.start.max(from);
            let hi = s.end.min(to);
            if hi > lo {
                acc[state_index(s.state)] += hi - lo;
            }
            i += 1;
        }
        acc
    }

    /// Split the run into `columns` equal slices and give, for each thread and slice, the state
    /// drawn there (`None` before the thread started or after it ended) and the time shares.
    /// Holding counts four times when choosing, so short runs of bytecode stay visible.
    pub fn columns(&self, columns: usize) -> Vec<Vec<Column>> {
        let wall = self.info.wall.max(Duration::from_nanos(1));
        self.threads
            .iter()
            .map(|line| {
                let mut first = 0;
                (0..columns)
                    .map(|c| {
                        let from = wall.mul_f64(c as f64 / columns as f64);
                        let to = wall.mul_f64((c + 1) as f64 / columns as f64);
                        let shares = Self::shares(line, from, to, &mut first);
                        let weight = |i: usize| {
                            if i == 0 {
                                shares[i] * 4
                            } else {
                                shares[i]
                            }
                        };
                        let best = (0..4).max_by_key(|&i| (weight(i), 4 - i)).unwrap_or(0);
                        let state = if shares[best].is_zero() {
                            None
                        } else {
                            Some(STATES[best])
                        };
                        Column { state, shares }
                    })
                    .collect()
            })
            .collect()
    }
}

/// One slice of a thread's row, as drawn.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub state: Option<State>,
    /// Time holding, waiting, blocked, finished within the slice.
    pub shares: [Duration; 4],
}

pub(crate) const STATES: [State; 4] = [
    State::Holding,
    State::Waiting,
    State::Blocked,
    State::Finished,
];

fn state_index(s: State) -> usize {
    match s {
        State::Holding => 0,
        State::Waiting => 1,
        State::Blocked => 2,
        State::Finished => 3,
    }
}

/// `0.0042 s` -> `4.2 ms`, `1.5 s`, `250 µs`.
pub fn fmt_time(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{} s", trim(s, 3))
    } else if s >= 0.001 {
        format!("{} ms", trim(s * 1e3, 3))
    } else {
        format!("{} µs", trim(s * 1e6, 1))
    }
}

fn trim(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Write the timeline where `--timeline` asked: `-` (terminal), `*.json` (trace events), else SVG.
pub fn write(timeline: &Timeline, target: &str) -> std::io::Result<()> {
    if target == "-" {
        let color = term::use_color();
        let text = term::render(timeline, 100, color);
        let mut err = std::io::stderr().lock();
        return err.write_all(text.as_bytes());
    }
    let lower = target.to_ascii_lowercase();
    let text = if lower.ends_with(".json") {
        chrome::render(timeline)
    } else {
        svg::render(timeline)
    };
    std::fs::write(target, text)
}
