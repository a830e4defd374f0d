//! Stage 4 (VM), runtime.
//! `--timeline FILE.json`: Chrome trace-event format, for Perfetto (ui.perfetto.dev) and
//! chrome://tracing. Every recorded segment becomes a complete event (`"ph": "X"`, times in
//! microseconds); drop requests, hand-offs and asyncio task steps are thread-scoped instant
//! events (`"ph": "i"`); each thread is named by a `thread_name` metadata event. Child processes
//! (multiprocessing, `timeline/children.rs`) get a trace process each, so a viewer shows the
//! parent's threads and every child's as separate groups. Segments are not merged here: the
//! viewers zoom.

use std::fmt::Write as _;

use super::{State, Timeline};
use crate::stats::json_str;

fn us(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The trace process of a lane: 1 for the parent, 2, 3, ... for its children (whose lanes
/// `children.rs` numbers from 1,000,000 times the child's index).
fn pid_of(tid: u64) -> u64 {
    1 + tid / 1_000_000
}

/// A `process_name` metadata event.
fn process_name(pid: u64, name: &str) -> String {
    format!(
        r#"{{"name": "process_name", "ph": "M", "pid": {pid}, "tid": 0, "args": {{"name": {}}}}}"#,
        json_str(name)
    )
}

/// The JSON document.
pub fn render(tl: &Timeline) -> String {
    let mut events: Vec<String> = Vec::new();
    let title = format!("{} ({})", tl.info.command, tl.info.mode_text());
    events.push(process_name(1, &title));
    let mut named = std::collections::BTreeSet::from([1]);
    for (i, line) in tl.threads.iter().enumerate() {
        let pid = pid_of(line.tid);
        if named.insert(pid) {
            // A child's lanes are named "<process name>: <thread name>".
            let process = line
                .name
                .split_once(": ")
                .map_or(line.name.as_str(), |(p, _)| p);
            events.push(process_name(pid, process));
        }
        events.push(format!(
            r#"{{"name": "thread_name", "ph": "M", "pid": {pid}, "tid": {}, "args": {{"name": {}}}}}"#,
            line.tid,
            json_str(&line.name)
        ));
        events.push(format!(
            r#"{{"name": "thread_sort_index", "ph": "M", "pid": {pid}, "tid": {}, "args": {{"sort_index": {i}}}}}"#,
            line.tid
        ));
        for s in &line.segments {
            if s.state == State::Finished {
                continue;
            }
            events.push(format!(
                r#"{{"name": {}, "cat": "gil", "ph": "X", "ts": {:.3}, "dur": {:.3}, "pid": {pid}, "tid": {}}}"#,
                json_str(s.state.label(tl.info.mode)),
                us(s.start),
                us(s.end.saturating_sub(s.start)),
                line.tid
            ));
        }
        for (t, holder) in &line.drop_requests {
            events.push(format!(
                r#"{{"name": "drop request", "cat": "gil", "ph": "i", "s": "t", "ts": {:.3}, "pid": {pid}, "tid": {}, "args": {{"holder": {holder}}}}}"#,
                us(*t),
                line.tid
            ));
        }
        for (t, label) in &line.marks {
            events.push(format!(
                r#"{{"name": {}, "cat": "asyncio", "ph": "i", "s": "t", "ts": {:.3}, "pid": {pid}, "tid": {}}}"#,
                json_str(label),
                us(*t),
                line.tid
            ));
        }
        let switch = tl.info.switch_names().map_or("switch", |(one, _)| one);
        for t in &line.hand_offs {
            events.push(format!(
                r#"{{"name": "{switch}", "cat": "gil", "ph": "i", "s": "t", "ts": {:.3}, "pid": {pid}, "tid": {}}}"#,
                us(*t),
                line.tid
            ));
        }
    }
    let mut out = String::from("{\"traceEvents\": [\n");
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
        }
        out.push_str(e);
    }
    let _ = write!(
        out,
        "\n], \"displayTimeUnit\": \"ms\", \"otherData\": {{\"command\": {}, \"mode\": {}, \"wall_us\": {:.3}, \"dropped_events\": {}}}}}\n",
        json_str(&tl.info.command),
        json_str(&tl.info.mode_text()),
        us(tl.info.wall),
        tl.dropped_events
    );
    out
}
