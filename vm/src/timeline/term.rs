//! `--timeline -`: a compact timeline for the terminal, one row of Unicode blocks per thread.
//!
//! `█` running (holding the GIL), `▒` waiting for it, `░` blocked in I/O, blank before a thread
//! starts and after it ends. With colour (only when stderr is a terminal and `NO_COLOR` is unset)
//! the blocks are also green, yellow and blue.

use std::fmt::Write as _;
use std::io::IsTerminal as _;

use super::{fmt_time, svg::tick_step, State, Timeline};

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
        .map(|t| t.name.chars().count())
        .max()
        .unwrap_or(6)
        .clamp(6, 20);
    let cols = tl.columns(width);
    for (line, row) in tl.threads.iter().zip(&cols) {
        let name: String = line.name.chars().take(name_w).collect();
        let _ = write!(out, "{name:<name_w$} │");
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
        let _ = writeln!(
            out,
            "│ {} drop req, {} hand-offs",
            line.drop_requests.len(),
            line.hand_offs.len()
        );
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
        "█ running bytecode   ▒ waiting   ░ blocked in I/O   (blank: not started / finished)"
    } else {
        "█ holding the GIL   ▒ waiting for it   ░ blocked in I/O (GIL released)   (blank: not started / finished)"
    };
    let _ = writeln!(out, "{:<name_w$}  {legend}", "");
    out
}
