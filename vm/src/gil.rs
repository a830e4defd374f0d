//! The global interpreter lock, modelled on CPython's "new GIL" (3.2+, `Python/ceval_gil.c`).
//!
//! * One thread at a time holds the GIL and runs bytecode.
//! * A thread that wants it waits on a condition variable for up to the switch interval (5 ms by
//!   default). If the holder has not let go by then (no switch happened meanwhile), the waiter sets a
//!   *drop request* and raises the eval breaker.
//! * The holder checks the eval breaker at its check points (backward jumps and function entries, in
//!   `interp/run.rs`): one relaxed atomic load, no clock read. On a drop request it releases the GIL
//!   and, with forced switching, waits until another thread has actually taken it before queueing
//!   for it again, so it cannot grab it straight back.
//! * Blocking calls (sleep, I/O, waiting for locks, queues, joins) release it around the system call
//!   (`Interp::allow_threads`), so other threads run meanwhile.
//!
//! With the GIL off (`--gil off`) threads run bytecode in parallel; shared objects stay memory
//! safe through their own locks and atomic counts (see `heap/`). Taking and releasing the GIL
//! then only counts the threads *attached* (running bytecode), so that the cycle collector can
//! stop the world: [`Gil::stop_the_world`] waits until every other thread has detached, at a
//! check point or in a blocking call, and holds new ones back until it is done (PEP 703).
//!
//! `--gil old` is the pre-3.2 GIL, for comparison: no timed drop requests; instead the holder
//! releases the GIL and at once asks for it again every `--check-interval` *ticks*
//! (`Interp::gil_yield_point` in `interp/trace.rs`). A tick is a check point (a backward jump or a
//! function entry), not an instruction. Nothing makes the releasing thread wait for a hand-off,
//! so on several cores it usually wins the GIL straight back while the thread it woke finds the
//! GIL taken again (a futile wake-up, counted in `GilCounters::futile_wakeups`).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// The switching policy: the new GIL, the old pre-3.2 GIL, or none at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GilMode {
    /// CPython 3.2+: timed drop requests and forced hand-off.
    On,
    /// No GIL: threads run bytecode truly in parallel.
    Off,
    /// Before 3.2: release and re-take every N ticks, no drop requests, no forced hand-off.
    Old,
}

/// GIL off: who is running bytecode (see [`Gil::stop_the_world`]).
#[derive(Default)]
struct World {
    attached: usize,
    stopping: bool,
}

#[derive(Default)]
struct State {
    locked: bool,
    /// Id of the thread holding the GIL (0 when free).
    holder: u64,
    /// Id of the thread that took the GIL last (kept after it releases, as CPython's
    /// `last_holder`): a thread waiting for a forced hand-off waits until this is someone else.
    last_holder: u64,
    /// Bumped at every acquisition: lets a waiter tell whether a switch happened while it slept.
    switch_number: u64,
}

/// Counters the GIL keeps about itself (read by `--stats` and the tests).
#[derive(Default)]
pub struct GilCounters {
    pub acquisitions: AtomicU64,
    pub drop_requests: AtomicU64,
    pub forced_switches: AtomicU64,
    /// Threads currently between taking and dropping the GIL (with the GIL on: 0 or 1).
    pub holders_now: AtomicUsize,
    /// The most threads ever seen running bytecode at once.
    pub max_holders: AtomicUsize,
    /// Old GIL: a waiter was woken by a release but found the GIL taken again.
    pub futile_wakeups: AtomicU64,
}

pub struct Gil {
    mode: GilMode,
    state: Mutex<State>,
    /// Signalled when the GIL is released.
    cond: Condvar,
    /// Signalled when the GIL is taken (forced switching waits on it).
    switch_cond: Condvar,
    /// Set by a waiter whose wait timed out: the holder must drop the GIL at its next check point.
    drop_request: AtomicBool,
    /// The switch interval in nanoseconds.
    interval_ns: AtomicU64,
    /// Old GIL: ticks (check points) between releases.
    check_interval: AtomicU32,
    /// GIL off: the threads attached, and whether a thread is stopping the world.
    world: Mutex<World>,
    /// Signalled when a thread detaches or the world restarts.
    world_cond: Condvar,
    /// GIL off: a thread wants the world stopped; running threads detach at their next check
    /// point (read there without the mutex).
    stopping: AtomicBool,
    /// Where drop requests are reported (`--timeline`, `--trace=gil`).
    recorder: Option<Arc<crate::timeline::Recorder>>,
    pub counters: GilCounters,
}

impl Gil {
    pub fn new(mode: GilMode, interval: Duration) -> Gil {
        Gil {
            mode,
            state: Mutex::new(State::default()),
            cond: Condvar::new(),
            switch_cond: Condvar::new(),
            drop_request: AtomicBool::new(false),
            world: Mutex::new(World::default()),
            world_cond: Condvar::new(),
            stopping: AtomicBool::new(false),
            interval_ns: AtomicU64::new(interval.as_nanos().clamp(1_000, u64::MAX as u128) as u64),
            check_interval: AtomicU32::new(100),
            recorder: None,
            counters: GilCounters::default(),
        }
    }

    /// Report drop requests to `recorder` (for `--timeline` and `--trace=gil`).
    pub fn with_recorder(mut self, recorder: Option<Arc<crate::timeline::Recorder>>) -> Gil {
        self.recorder = recorder;
        self
    }

    /// Old GIL: release every `ticks` check points (at least 1).
    pub fn with_check_interval(self, ticks: u32) -> Gil {
        self.check_interval.store(ticks.max(1), Ordering::Relaxed);
        self
    }

    pub fn recorder(&self) -> Option<&Arc<crate::timeline::Recorder>> {
        self.recorder.as_ref()
    }

    /// Old GIL: ticks between releases (`--check-interval`).
    pub fn check_interval(&self) -> u32 {
        self.check_interval.load(Ordering::Relaxed)
    }

    /// How many times the GIL has been taken so far (with the GIL on or old).
    pub fn switch_number(&self) -> u64 {
        self.state.lock().switch_number
    }

    pub fn mode(&self) -> GilMode {
        self.mode
    }

    /// Whether there is a GIL at all (`sys._is_gil_enabled()`): true for the new and the old one.
    pub fn enabled(&self) -> bool {
        self.mode != GilMode::Off
    }

    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval_ns.load(Ordering::Relaxed))
    }

    /// `sys.setswitchinterval`
    pub fn set_interval(&self, d: Duration) {
        self.interval_ns.store(
            d.as_nanos().clamp(1_000, u64::MAX as u128) as u64,
            Ordering::Relaxed,
        );
    }

    /// Whether the holder must come to `Interp::gil_yield_point`. The old GIL always answers yes,
    /// which keeps the eval breaker raised so that every check point is a tick.
    pub fn drop_requested(&self) -> bool {
        self.mode == GilMode::Old
            || self.drop_request.load(Ordering::Relaxed)
            || self.stopping.load(Ordering::Relaxed)
    }

    /// Take the GIL for thread `me`, waiting as long as needed. `breaker` is raised when a drop
    /// request is made, so the holder notices it at its next check point.
    pub fn acquire(&self, me: u64, breaker: &AtomicBool) {
        if self.mode == GilMode::Off {
            let mut w = self.world.lock();
            while w.stopping {
                self.world_cond.wait(&mut w);
            }
            w.attached += 1;
            drop(w);
            self.note_running();
            return;
        }
        let mut st = self.state.lock();
        if self.mode == GilMode::Old {
            // No timeout, no drop request: wait until the holder releases at its next tick, and
            // hope to get there before it takes the GIL again.
            while st.locked {
                self.cond.wait(&mut st);
                if st.locked {
                    self.counters.futile_wakeups.fetch_add(1, Ordering::Relaxed);
                }
            }
            breaker.store(true, Ordering::Relaxed);
        }
        while st.locked {
            let seen = st.switch_number;
            let timed_out = self.cond.wait_for(&mut st, self.interval()).timed_out();
            if timed_out && st.locked && st.switch_number == seen {
                // The holder kept it for a whole interval: ask it to let go.
                self.drop_request.store(true, Ordering::Relaxed);
                breaker.store(true, Ordering::Relaxed);
                self.counters.drop_requests.fetch_add(1, Ordering::Relaxed);
                if let Some(rec) = &self.recorder {
                    let holder = st.holder;
                    parking_lot::MutexGuard::unlocked(&mut st, || rec.drop_request(me, holder));
                }
            }
        }
        st.locked = true;
        st.holder = me;
        st.last_holder = me;
        st.switch_number = st.switch_number.wrapping_add(1);
        // Whoever asked for the switch has it now (or another waiter will ask again).
        self.drop_request.store(false, Ordering::Relaxed);
        drop(st);
        self.switch_cond.notify_all();
        self.counters.acquisitions.fetch_add(1, Ordering::Relaxed);
        self.note_running();
    }

    fn note_running(&self) {
        let now = self.counters.holders_now.fetch_add(1, Ordering::SeqCst) + 1;
        self.counters.max_holders.fetch_max(now, Ordering::SeqCst);
    }

    /// Release the GIL (before a blocking call, or when the thread ends).
    pub fn release(&self) {
        self.counters.holders_now.fetch_sub(1, Ordering::SeqCst);
        if self.mode == GilMode::Off {
            let mut w = self.world.lock();
            w.attached = w.attached.saturating_sub(1);
            drop(w);
            self.world_cond.notify_all();
            return;
        }
        let mut st = self.state.lock();
        st.locked = false;
        st.holder = 0;
        drop(st);
        self.cond.notify_one();
    }

    /// After dropping the GIL on a drop request (forced switching): wait until another thread has
    /// actually taken it, so the dropping thread cannot win it straight back. Gives up after a few
    /// intervals in case the waiter went away.
    ///
    /// `me` is the thread that dropped it: the wait ends as soon as any other thread has taken the
    /// GIL since, even if that thread has already released it again (an I/O-bound thread takes it
    /// for microseconds). Comparing switch numbers read *after* the drop would miss that case and
    /// wait for the next switch, letting the waiter skip its turn.
    pub fn wait_for_switch(&self, me: u64) {
        if self.mode == GilMode::Off {
            return;
        }
        let mut st = self.state.lock();
        let deadline = Instant::now() + self.interval() * 4;
        while st.last_holder == me {
            if self.switch_cond.wait_until(&mut st, deadline).timed_out() {
                break;
            }
        }
        self.counters
            .forced_switches
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Run `f` with every other thread stopped, for the cycle collector. The caller is attached
    /// (holds the GIL). With the GIL on or old, holding the GIL already stops everyone else.
    /// With the GIL off: ask running threads to detach at their next check point (`stopping`
    /// and the eval breaker), wait until none is attached, run `f`, then let them go on.
    pub fn stop_the_world<R>(&self, breaker: &AtomicBool, f: impl FnOnce() -> R) -> R {
        if self.mode != GilMode::Off {
            return f();
        }
        let mut w = self.world.lock();
        // Step out ourselves, and wait for any other thread stopping the world to finish.
        w.attached = w.attached.saturating_sub(1);
        self.world_cond.notify_all();
        while w.stopping {
            self.world_cond.wait(&mut w);
        }
        w.stopping = true;
        self.stopping.store(true, Ordering::SeqCst);
        breaker.store(true, Ordering::SeqCst);
        while w.attached > 0 {
            self.world_cond.wait(&mut w);
        }
        let r = parking_lot::MutexGuard::unlocked(&mut w, f);
        w.stopping = false;
        self.stopping.store(false, Ordering::SeqCst);
        w.attached += 1;
        drop(w);
        self.world_cond.notify_all();
        r
    }
}
