//! The process's buffered standard output: line-buffered on a terminal, block-buffered otherwise.
//!
//! Write errors (a closed pipe: `python3 prog.py | head -1`) are remembered, never panicked on:
//! `write` and `flush` return them and later output is dropped.

use std::io::{IsTerminal, Write};

/// Bytes kept before a block-buffered flush.
const BLOCK: usize = 8192;

pub struct Stdout {
    buf: Vec<u8>,
    line_buffered: bool,
    /// Set after a write failed (e.g. EPIPE); further output is discarded.
    broken: bool,
}

impl Default for Stdout {
    fn default() -> Self {
        Stdout::new()
    }
}

impl Stdout {
    pub fn new() -> Stdout {
        Stdout {
            buf: Vec::with_capacity(BLOCK),
            line_buffered: std::io::stdout().is_terminal(),
            broken: false,
        }
    }

    /// Queue text; flushes when the buffer is full (or at a newline on a terminal).
    pub fn write(&mut self, s: &str) -> std::io::Result<()> {
        if self.broken {
            return Ok(());
        }
        self.buf.extend_from_slice(s.as_bytes());
        let must_flush = self.buf.len() >= BLOCK || (self.line_buffered && s.contains('\n'));
        if must_flush {
            self.flush()
        } else {
            Ok(())
        }
    }

    /// Write out everything queued.
    pub fn flush(&mut self) -> std::io::Result<()> {
        if self.broken {
            self.buf.clear();
            return Ok(());
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        let out = std::io::stdout();
        let mut lock = out.lock();
        let r = lock.write_all(&self.buf).and_then(|()| lock.flush());
        self.buf.clear();
        if r.is_err() {
            self.broken = true;
        }
        r
    }

    /// True once a write has failed.
    pub fn is_broken(&self) -> bool {
        self.broken
    }
}

impl Drop for Stdout {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}
