//! Stage 4 (VM), runtime.
//! `--timeline FILE.svg`: a hand-written SVG picture of the run, one row per thread.
//!
//! Each row is drawn from one column per pixel (`Timeline::columns`), so a 2-second run with 16
//! threads stays a few thousand rectangles however often the GIL changed hands: runs of columns in
//! the same state become one `<rect>`, whose `<title>` tooltip gives the exact times and, when it
//! covers several states, their shares. Drop requests are red ticks above a row (on the thread
//! that asked), hand-offs black ticks below it (on the thread that let go). The label column is
//! as wide as the longest thread name, and the title and legend mention only what the GIL mode
//! can produce (the old GIL makes no drop requests and hands nothing over; with the GIL off there
//! is no waiting).

use std::fmt::Write as _;
use std::time::Duration;

use super::{fmt_time, State, Timeline};
use crate::gil::GilMode;

/// Width of the plot area: one column per pixel.
const PLOT: usize = 1030;
/// The narrowest label column.
const MIN_LEFT: usize = 100;
const RIGHT: usize = 20;
const TOP: usize = 96;
const ROW: usize = 24;
const BAR: usize = 16;

/// Fill colour of a state.
pub fn color(s: State) -> &'static str {
    match s {
        State::Holding => "#2e9d4f",
        State::Waiting => "#f0a030",
        State::Blocked => "#5b8fd6",
        State::Finished => "#e4e4e4",
    }
}

/// Escape text for XML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A tick step of 1, 2 or 5 times a power of ten giving about `target` ticks over `wall`.
pub fn tick_step(wall: Duration, target: f64) -> f64 {
    let raw = (wall.as_secs_f64() / target).max(1e-9);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

/// An axis label: in seconds for long runs, else milliseconds.
fn axis_label(t: f64, wall: Duration) -> String {
    if wall.as_secs_f64() >= 2.0 {
        format!("{} s", super::trim(t, 3))
    } else {
        format!("{} ms", super::trim(t * 1e3, 3))
    }
}

/// The legend's words for a state.
fn state_name(s: State, mode: GilMode) -> &'static str {
    match (s, mode) {
        (State::Holding, GilMode::Off) => "running bytecode (no GIL)",
        (State::Holding, _) => "running, holding the GIL",
        (State::Waiting, _) => "waiting for the GIL",
        (State::Blocked, GilMode::Off) => "blocked: I/O, sleep, lock/queue/join waits",
        (State::Blocked, _) => "blocked: I/O, sleep, lock/queue/join waits (GIL released)",
        (State::Finished, _) => "finished",
    }
}

/// About how many pixels `s` takes at the labels' 12 px sans-serif font: generous, so that a
/// name is never cut off (wide characters, such as CJK, count double).
fn text_width(s: &str) -> usize {
    s.chars()
        .map(|c| if (c as u32) < 0x1100 { 8 } else { 14 })
        .sum()
}

/// The legend's entries: the states this mode can produce, plus any the recording holds anyway.
fn legend_states(tl: &Timeline) -> Vec<State> {
    super::STATES
        .iter()
        .copied()
        .filter(|s| {
            tl.info.possible_states().contains(s)
                || tl
                    .threads
                    .iter()
                    .any(|t| t.segments.iter().any(|seg| seg.state == *s))
        })
        .collect()
}

/// The SVG document.
pub fn render(tl: &Timeline) -> String {
    let plot = PLOT;
    let longest = tl.threads.iter().map(|t| text_width(&t.name)).max();
    let left = (longest.unwrap_or(0) + 20).max(MIN_LEFT);
    let width = left + plot + RIGHT;
    let wall = tl.info.wall.max(Duration::from_micros(1));
    let n = tl.threads.len();
    let height = TOP + n * ROW + 48;
    let x_of = |t: Duration| left as f64 + plot as f64 * (t.as_secs_f64() / wall.as_secs_f64());
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">
<style>.lbl {{ fill: #222; }} .axis {{ fill: #555; font-size: 11px; }} .grid {{ stroke: #ccc; stroke-width: 0.5; }} .req {{ stroke: #d62728; stroke-width: 1; }} .hand {{ stroke: #111; stroke-width: 1; }} .step {{ stroke: #9467bd; stroke-width: 1; }}</style>
<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>"#
    );
    // Title and subtitle.
    let drops: usize = tl.threads.iter().map(|t| t.drop_requests.len()).sum();
    let hands: usize = tl.threads.iter().map(|t| t.hand_offs.len()).sum();
    let _ = writeln!(
        out,
        r#"<text x="12" y="22" font-size="15" font-weight="bold" class="lbl">minivm timeline: {}</text>"#,
        esc(&tl.info.command)
    );
    let mut sub = format!(
        "{}; wall time {}; {} thread{}",
        tl.info.mode_text(),
        fmt_time(tl.info.wall),
        n,
        if n == 1 { "" } else { "s" },
    );
    if tl.info.makes_drop_requests() {
        let s = if drops == 1 { "" } else { "s" };
        let _ = write!(sub, "; {drops} drop request{s}");
    }
    if let Some((one, many)) = tl.info.switch_names() {
        let _ = write!(sub, "; {hands} {}", if hands == 1 { one } else { many });
    }
    let steps: usize = tl.threads.iter().map(|t| t.marks.len()).sum();
    if steps > 0 {
        let _ = write!(sub, "; {steps} asyncio task steps (purple ticks)");
    }
    if tl.dropped_events > 0 {
        let _ = write!(
            sub,
            " ({} events not recorded: recorder full)",
            tl.dropped_events
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="12" y="42" class="lbl">{}</text>"#,
        esc(&sub)
    );
    // Legend.
    let mut lx = 12;
    let _ = writeln!(out, r#"<g class="legend">"#);
    for s in legend_states(tl) {
        let name = state_name(s, tl.info.mode);
        let _ = writeln!(
            out,
            r#"<rect x="{lx}" y="56" width="14" height="12" fill="{}"/><text x="{}" y="66" class="lbl">{}</text>"#,
            color(s),
            lx + 18,
            esc(name)
        );
        lx += 26 + name.chars().count() * 7;
    }
    if tl.info.makes_drop_requests() {
        let _ = writeln!(
            out,
            r#"<line x1="{lx}" y1="55" x2="{lx}" y2="63" class="req"/><text x="{}" y="66" class="lbl">drop request (asker's row)</text>"#,
            lx + 6
        );
        lx += 190;
    }
    if let Some((one, _)) = tl.info.switch_names() {
        let _ = writeln!(
            out,
            r#"<line x1="{lx}" y1="61" x2="{lx}" y2="69" class="hand"/><text x="{}" y="66" class="lbl">{one} (row of the thread that let go)</text>"#,
            lx + 6,
        );
    }
    let _ = writeln!(out, "</g>");
    // Grid and axis.
    let step = tick_step(wall, 10.0);
    let axis_y = TOP + n * ROW + 4;
    let _ = writeln!(out, r#"<g class="axis-ticks">"#);
    let mut k = 0u32;
    loop {
        let t = step * f64::from(k);
        if t > wall.as_secs_f64() * 1.000_001 {
            break;
        }
        let x = x_of(Duration::from_secs_f64(t));
        let _ = writeln!(
            out,
            r#"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}" class="grid"/><text x="{x:.1}" y="{}" text-anchor="middle" class="axis">{}</text>"#,
            TOP - 4,
            axis_y + 4,
            axis_y + 16,
            axis_label(t, wall)
        );
        k += 1;
        if k > 1000 {
            break;
        }
    }
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle" class="axis">time since the VM started (wall time {})</text>"#,
        left + plot / 2,
        axis_y + 34,
        fmt_time(tl.info.wall)
    );
    let _ = writeln!(out, "</g>");
    // One row per thread.
    let cols = tl.columns(plot);
    let px = wall.as_secs_f64() / plot as f64;
    for (i, (line, row)) in tl.threads.iter().zip(&cols).enumerate() {
        let y = TOP + i * ROW;
        let _ = writeln!(
            out,
            r#"<g class="thread" data-tid="{}"><title>{} (thread id {})</title>"#,
            line.tid,
            esc(&line.name),
            line.tid
        );
        let _ = writeln!(
            out,
            r##"<rect x="{left}" y="{y}" width="{plot}" height="{BAR}" fill="#f7f7f7"/><text x="{}" y="{}" text-anchor="end" class="lbl">{}</text>"##,
            left - 8,
            y + BAR - 4,
            esc(&line.name)
        );
        let mut c = 0;
        while c < row.len() {
            let Some(state) = row[c].state else {
                c += 1;
                continue;
            };
            let start = c;
            let mut shares = [Duration::ZERO; 4];
            while c < row.len() && row[c].state == Some(state) {
                for (a, b) in shares.iter_mut().zip(row[c].shares) {
                    *a += b;
                }
                c += 1;
            }
            let t0 = Duration::from_secs_f64(px * start as f64);
            let t1 = Duration::from_secs_f64(px * c as f64);
            let mut tip = format!(
                "{}: {} from {} to {} ({})",
                line.name,
                state.label(tl.info.mode),
                fmt_time(t0),
                fmt_time(t1),
                fmt_time(t1.saturating_sub(t0))
            );
            let total: Duration = shares.iter().sum();
            let main = shares[super::state_index(state)];
            if !total.is_zero() && main < total.mul_f64(0.99) {
                tip.push_str("; mixed:");
                for (s, d) in super::STATES.iter().zip(shares) {
                    if !d.is_zero() {
                        let _ = write!(
                            tip,
                            " {} {:.0}%",
                            s.label(tl.info.mode),
                            100.0 * d.as_secs_f64() / total.as_secs_f64()
                        );
                    }
                }
            }
            let _ = writeln!(
                out,
                r#"<rect x="{}" y="{y}" width="{}" height="{BAR}" fill="{}"><title>{}</title></rect>"#,
                left + start,
                c - start,
                color(state),
                esc(&tip)
            );
        }
        // Drop requests (top) and hand-offs (bottom), one tick per pixel column.
        let mut last = usize::MAX;
        let mut k = 0;
        while k < line.drop_requests.len() {
            let (t, holder) = line.drop_requests[k];
            let x = (x_of(t) as usize).min(left + plot);
            let mut count = 1;
            while k + count < line.drop_requests.len()
                && (x_of(line.drop_requests[k + count].0) as usize).min(left + plot) == x
            {
                count += 1;
            }
            if x != last {
                let to = tl
                    .threads
                    .iter()
                    .find(|l| l.tid == holder)
                    .map_or("?", |l| l.name.as_str());
                let tip = if count == 1 {
                    format!(
                        "{} asked {} to drop the GIL at {}",
                        line.name,
                        to,
                        fmt_time(t)
                    )
                } else {
                    format!(
                        "{} drop requests by {} around {}",
                        count,
                        line.name,
                        fmt_time(t)
                    )
                };
                let _ = writeln!(
                    out,
                    r#"<line x1="{x}.5" y1="{}" x2="{x}.5" y2="{}" class="req"><title>{}</title></line>"#,
                    y - 3,
                    y + 5,
                    esc(&tip)
                );
                last = x;
            }
            k += count;
        }
        let mut last = usize::MAX;
        let mut k = 0;
        while k < line.hand_offs.len() {
            let t = line.hand_offs[k];
            let x = (x_of(t) as usize).min(left + plot);
            let mut count = 1;
            while k + count < line.hand_offs.len()
                && (x_of(line.hand_offs[k + count]) as usize).min(left + plot) == x
            {
                count += 1;
            }
            if x != last {
                let (one, many) = tl.info.switch_names().unwrap_or(("switch", "switches"));
                let tip = if count == 1 {
                    format!("{}: {one} at {}", line.name, fmt_time(t))
                } else {
                    format!("{count} {many} by {} around {}", line.name, fmt_time(t))
                };
                let _ = writeln!(
                    out,
                    r#"<line x1="{x}.5" y1="{}" x2="{x}.5" y2="{}" class="hand"><title>{}</title></line>"#,
                    y + BAR - 5,
                    y + BAR + 3,
                    esc(&tip)
                );
                last = x;
            }
            k += count;
        }
        step_ticks(&mut out, line, |t| (x_of(t) as usize).min(left + plot), y);
        let _ = writeln!(out, "</g>");
    }
    out.push_str("</svg>\n");
    out
}

/// A thread's asyncio task steps (`ThreadLine::marks`): a purple tick across the middle of its
/// row, one per pixel column (`column` maps a time to it), whose tooltip names the task(s).
fn step_ticks(
    out: &mut String,
    line: &super::ThreadLine,
    column: impl Fn(Duration) -> usize,
    y: usize,
) {
    let marks = &line.marks;
    let mut k = 0;
    while k < marks.len() {
        let x = column(marks[k].0);
        let mut count = 1;
        while k + count < marks.len() && column(marks[k + count].0) == x {
            count += 1;
        }
        let (t, first) = &marks[k];
        let tip = if count == 1 {
            format!("{}: {first} runs a step at {}", line.name, fmt_time(*t))
        } else {
            let last = &marks[k + count - 1].1;
            format!(
                "{count} task steps ({first} ... {last}) around {}",
                fmt_time(*t)
            )
        };
        let _ = writeln!(
            out,
            r#"<line x1="{x}.5" y1="{}" x2="{x}.5" y2="{}" class="step"><title>{}</title></line>"#,
            y + 3,
            y + BAR - 3,
            esc(&tip)
        );
        k += count;
    }
}
