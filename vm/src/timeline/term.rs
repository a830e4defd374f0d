//! Stage 4 (VM), runtime.
//! `--timeline -`: a compact timeline for the terminal, one row of Unicode blocks per thread.
//!
//! `█` running (holding the GIL), `▒` waiting for it, `░` blocked (I/O, sleep or a wait on a lock,
//! queue, event or thread), blank before a thread starts and after it ends. With colour (only
//! when stderr is a terminal and `NO_COLOR` is unset) the blocks are also green, yellow and blue.

use std::fmt::Write as _;
use std::io::IsTerminal as _;

use super::{fmt_time, svg::tick_step, State, Timeline};

/// The widest name column; longer names end in `…` (the SVG shows them in full).
const MAX_NAME: usize = 40;

/// Terminal cells `s` takes: East Asian wide characters take two.
fn cells(s: &str) -> usize {
    s.chars().map(char_cells).sum()
}

fn char_cells(c: char) -> usize {
    let c = c as u32;
    let wide = (0x1100..=0x115F).contains(&c)
        || (0x2E80..=0xA4CF).contains(&c)
        || (0xAC00..=0xD7A3).contains(&c)
        || (0xF900..=0xFAFF).contains(&c)
        || (0xFE30..=0xFE4F).contains(&c)
        || (0xFF00..=0xFF60).contains(&c)
        || (0xFFE0..=0xFFE6).contains(&c)
        || (0x1F300..=0x1F64F).contains(&c)
        || (0x20000..=0x3FFFD).contains(&c);
    if wide {
        2
    } else {
        1
    }
}

/// `s` cut to at most `width` cells, ending in `…` when cut.
fn fit(s: &str, width: usize) -> String {
    if cells(s) <= width {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        if used + char_cells(c) + 1 > width {
            break;
        }
        used += char_cells(c);
        out.push(c);
    }
    out.push('…');
    out
}

/// Colour when stderr is a terminal and `NO_COLOR` is not set.
pub fn use_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn glyph(s: Option<State>) -> (char, &'static str) {
    match s {
        Some(State::Holding) => ('█', "\x1b[32m"),
        Some(State::Waiting) => ('▒', "\x1b[33m"),
        Some(State::Blocked) => ('░', "\x1b[34m"),
        Some(State::Finished) | None => (' ', ""),
    }
}

/// The text, `width` columns of timeline per thread.
pub fn render(tl: &Timeline, width: usize, color: bool) -> String {
    let width = width.max(10);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "minivm timeline: {} ({}; wall time {})",
        tl.info.command,
        tl.info.mode_text(),
        fmt_time(tl.info.wall)
    );
    let name_w = tl
        .threads
        .iter()
        .map(|t| cells(&t.name))
        .max()
        .unwrap_or(6)
        .clamp(6, MAX_NAME);
    let cols = tl.columns(width);
    for (line, row) in tl.threads.iter().zip(&cols) {
        let name = fit(&line.name, name_w);
        let pad = name_w - cells(&name);
        let _ = write!(out, "{name}{:pad$} │", "");
        let mut current = "";
        for c in row {
            let (g, code) = glyph(c.state);
            if color && code != current {
                out.push_str(if code.is_empty() { "\x1b[0m" } else { code });
                current = code;
            }
            out.push(g);
        }
        if color && !current.is_empty() {
            out.push_str("\x1b[0m");
        }
        out.push('│');
        if tl.info.makes_drop_requests() {
            let _ = write!(out, " {} drop req,", line.drop_requests.len());
        }
        match tl.info.mode {
            crate::gil::GilMode::On => {
                let _ = write!(out, " {} hand-offs", line.hand_offs.len());
            }
            crate::gil::GilMode::Old => {
                let _ = write!(out, " {} switches", line.hand_offs.len());
            }
            crate::gil::GilMode::Off => {}
        }
        if !line.marks.is_empty() {
            let _ = write!(out, ", {} task steps", line.marks.len());
        }
        out.push('\n');
    }
    // Axis: a tick every few columns, labelled at the start and end.
    let wall = tl.info.wall.max(std::time::Duration::from_micros(1));
    let step = tick_step(wall, 5.0);
    let mut axis: Vec<char> = vec!['─'; width];
    let mut labels: Vec<char> = vec![' '; width + 12];
    let mut k = 0u32;
    loop {
        let t = step * f64::from(k);
        if t > wall.as_secs_f64() || k > 100 {
            break;
        }
        let col = ((t / wall.as_secs_f64()) * width as f64) as usize;
        if col < width {
            axis[col] = '┴';
            let label = if wall.as_secs_f64() >= 2.0 {
                format!("{}s", super::trim(t, 3))
            } else {
                format!("{}ms", super::trim(t * 1e3, 2))
            };
            let fits = labels[col..]
                .iter()
                .take(label.len() + 1)
                .all(|c| *c == ' ');
            if fits && col + label.len() <= labels.len() {
                for (j, ch) in label.chars().enumerate() {
                    labels[col + j] = ch;
                }
            }
        }
        k += 1;
    }
    let axis: String = axis.into_iter().collect();
    let labels: String = labels.into_iter().collect();
    let _ = writeln!(out, "{:<name_w$} └{axis}┘", "");
    let _ = writeln!(out, "{:<name_w$}  {}", "", labels.trim_end());
    let legend = if tl.info.mode == crate::gil::GilMode::Off {
        "█ running bytecode   ░ blocked: I/O, sleep, lock/queue/join waits   (blank: not started / finished)"
    } else {
        "█ holding the GIL   ▒ waiting for it   ░ blocked: I/O, sleep, lock/queue/join waits (GIL released)   (blank: not started / finished)"
    };
    let _ = writeln!(out, "{:<name_w$}  {legend}", "");
    out
}
