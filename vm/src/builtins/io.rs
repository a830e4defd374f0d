//! The process's buffered standard output (builtins stage): line-buffered on a terminal,
//! block-buffered otherwise, unbuffered when `PYTHONUNBUFFERED` is set or with `minivm -u` (as
//! CPython's `-u`).
//!
//! Write errors (a full disk: `prog > /dev/full`; a closed pipe: `prog | head -1`) are never
//! dropped silently; they follow CPython's `TextIOWrapper` over a `BufferedWriter`:
//! - a write that fills the buffer sends it and, if that fails, raises in the program (`print`
//!   raises `OSError: [Errno 28] ...` or `BrokenPipeError: [Errno 32] ...`); the text is lost;
//! - an explicit flush (`print(..., flush=True)`, `sys.stdout.flush()`) that fails raises and keeps
//!   the text, to be tried again later;
//! - the flush at exit reports a failure as CPython does ("Exception ignored in: <_io.TextIOWrapper
//!   name='<stdout>' ...>", then the error) and the exit status becomes 120 (`lib.rs: run_main`).

use std::io::IsTerminal;

/// Bytes kept before a block-buffered flush.
const BLOCK: usize = 8192;

/// What CPython prints before an error it could not raise in the program (the flush at exit).
pub const EXIT_FLUSH_CONTEXT: &str =
    "Exception ignored in: <_io.TextIOWrapper name='<stdout>' mode='w' encoding='utf-8'>";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Buffering {
    /// Every write goes straight out (`PYTHONUNBUFFERED`).
    None,
    /// Out at every newline (a terminal).
    Line,
    /// Out when `BLOCK` bytes are queued.
    Block,
}

pub struct Stdout {
    /// Text written (`print`, `sys.stdout.write`) and not yet passed on to `buf`: CPython's
    /// `TextIOWrapper` holds up to a chunk of text before its `BufferedWriter` sees it, so bytes
    /// written to `sys.stdout.buffer` meanwhile come out first.
    text: Vec<u8>,
    buf: Vec<u8>,
    mode: Buffering,
}

impl Default for Stdout {
    fn default() -> Self {
        Stdout::new()
    }
}

/// Set by the command line's `-u`: standard output unbuffered, as with `PYTHONUNBUFFERED`.
static UNBUFFERED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `minivm -u`, before the VM starts: the standard streams are made unbuffered.
pub fn set_unbuffered() {
    UNBUFFERED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether the standard streams are unbuffered: `-u` or a non-empty `PYTHONUNBUFFERED`.
pub fn unbuffered() -> bool {
    UNBUFFERED.load(std::sync::atomic::Ordering::Relaxed)
        || std::env::var_os("PYTHONUNBUFFERED").is_some_and(|v| !v.is_empty())
}

impl Stdout {
    pub fn new() -> Stdout {
        let unbuffered = unbuffered();
        let mode = if unbuffered {
            Buffering::None
        } else if std::io::stdout().is_terminal() {
            Buffering::Line
        } else {
            Buffering::Block
        };
        Stdout {
            text: Vec::with_capacity(BLOCK),
            buf: Vec::with_capacity(BLOCK),
            mode,
        }
    }

    /// `sys.stdout.reconfigure(line_buffering=...)`: out at every newline, or back to the
    /// buffering the process started with.
    pub fn set_line_buffering(&mut self, on: bool) {
        self.mode = if on {
            Buffering::Line
        } else {
            Stdout::new().mode
        };
    }

    /// Queue text; it passes on to the byte buffer (at a newline on a terminal, at once when
    /// unbuffered, else once more than a chunk is held), which is sent when full. If sending
    /// fails, the queued output is dropped and the error returned.
    pub fn write(&mut self, s: &str) -> std::io::Result<()> {
        if self.queue(s) {
            self.send_queued()
        } else {
            Ok(())
        }
    }

    /// Queue bytes (`sys.stdout.buffer.write`); sends the buffer when it is full (at a newline on
    /// a terminal, at once when unbuffered).
    pub fn write_bytes(&mut self, b: &[u8]) -> std::io::Result<()> {
        if self.queue_bytes(b) {
            self.send_queued()
        } else {
            Ok(())
        }
    }

    /// The first half of [`Stdout::write`], which makes no system call: queue text, and say
    /// whether the buffer is now due to be sent ([`Stdout::send_queued`]). The interpreter sends
    /// it with the GIL released, as CPython's `FileIO` writes: a write may block (a full pipe).
    pub fn queue(&mut self, s: &str) -> bool {
        self.text.extend_from_slice(s.as_bytes());
        let pass_on = match self.mode {
            Buffering::None => true,
            Buffering::Line => s.contains('\n'),
            Buffering::Block => self.text.len() > BLOCK,
        };
        if !pass_on {
            return false;
        }
        let text = std::mem::take(&mut self.text);
        self.queue_bytes(&text)
    }

    /// The first half of [`Stdout::write_bytes`]: queue bytes; whether a send is due.
    pub fn queue_bytes(&mut self, b: &[u8]) -> bool {
        self.buf.extend_from_slice(b);
        match self.mode {
            Buffering::None => true,
            Buffering::Line => b.contains(&b'\n') || self.buf.len() >= BLOCK,
            Buffering::Block => self.buf.len() >= BLOCK,
        }
    }

    /// The second half of a write: send the byte buffer; if that fails, what was queued is
    /// dropped (CPython's `BufferedWriter` loses it too) and the error returned.
    pub fn send_queued(&mut self) -> std::io::Result<()> {
        let r = self.send();
        if r.is_err() {
            self.buf.clear();
        }
        r
    }

    /// Nothing queued: a flush has nothing to send.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty() && self.buf.is_empty()
    }

    /// Write out everything queued; on failure what was not written stays queued.
    pub fn flush(&mut self) -> std::io::Result<()> {
        let text = std::mem::take(&mut self.text);
        self.buf.extend_from_slice(&text);
        self.send()
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        // Straight to descriptor 1 (this is the one buffer): not through `std::io::stdout()`,
        // which reports success for a descriptor the program closed (`os.close(1)`), where
        // CPython's write fails with EBADF.
        let mut sent = 0;
        let r = loop {
            if sent == self.buf.len() {
                break Ok(());
            }
            match nix::unistd::write(1, &self.buf[sent..]) {
                Ok(0) => break Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => sent += n,
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => break Err(std::io::Error::from_raw_os_error(e as i32)),
            }
        };
        self.buf.drain(..sent);
        r
    }
}

impl Drop for Stdout {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}
