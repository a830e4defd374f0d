//! Stage 4 (VM), runtime.
//! The global interpreter lock (the runtime, below the dispatch loop): everything about the GIL
//! in one file, as CPython keeps it in `Python/ceval_gil.c`. Read this file to learn the GIL.
//!
//! # What the GIL is for
//!
//! minivm's objects are reference counted (`heap/`). With the GIL on, a count changes with a
//! plain load and store, and an object's contents are reached through a borrow flag, not a lock:
//! both would go wrong if two threads did it at once (a lost update frees a live object or leaks
//! it). The GIL makes that impossible: **only the thread holding the GIL touches objects**. So
//! the GIL is what lets every other operation be cheap — the lesson of CPython's design, and the
//! reason CPU-bound threads do not run faster with it: they take turns.
//!
//! `--gil off` is the other model (CPython 3.13t, PEP 703): no GIL, threads run bytecode in
//! parallel, and each count is an atomic read-modify-write and each object has a lock (see
//! `heap/mod.rs`). Faster with several cores, slower on one: measured in docs/TUTORIAL.md.
//!
//! # The protocol (GIL on: CPython's "new GIL", 3.2+)
//!
//! * **Taking it** ([`Gil::acquire`], from [`Interp::take_gil`]): a thread that wants the GIL waits
//!   on a condition variable for up to the *switch interval* (5 ms, `sys.setswitchinterval`).
//!   If no switch happened meanwhile, it sets a **drop request** and raises the **eval breaker**.
//! * **The eval breaker** is one flag ([`crate::heap::gc::EVAL_BREAKER`]) that the running thread
//!   checks at its *check points* — backward jumps and function entries (`interp/run.rs`): one
//!   relaxed load, no clock read. When it is up, [`Interp::handle_eval_breaker`] looks at what is
//!   pending: Ctrl-C, a drop request, a cycle collection.
//! * **Dropping it on request** ([`Interp::gil_yield_point`]): the holder releases the GIL and
//!   waits until another thread has actually taken it ([`Gil::wait_for_switch`], *forced
//!   switching*) before queueing again, so it cannot grab it straight back.
//! * **Blocking calls** (sleep, file and socket I/O, waiting for a lock, a queue, a join, a child
//!   process) run inside [`Interp::allow_threads`], which releases the GIL around the call, as
//!   CPython's `Py_BEGIN_ALLOW_THREADS`. Its closure must be `Send`, and heap values are not, so
//!   the compiler rejects a blocking section that would touch an object without the GIL.
//! * **Starting and ending** a thread: [`Interp::attach`] takes the GIL; [`Interp::detach`] drops
//!   every value the thread still owns *while holding it*, then releases it for good.
//!
//! # The old GIL (`--gil old`, before 3.2)
//!
//! No timed requests: the holder releases the GIL and at once asks for it again every
//! `--check-interval` ticks (a tick is a check point). Nothing makes it wait for a hand-off, so
//! on several cores it usually wins the GIL straight back while the thread it woke finds it taken
//! again (a *futile wake-up*, counted). This is the convoy effect David Beazley measured.
//!
//! # No GIL (`--gil off`)
//!
//! Taking and releasing the GIL only count the threads *attached* (running bytecode). The cycle
//! collector needs the world stopped: [`Gil::stop_the_world`] asks running threads to detach at
//! their next check point (the same eval breaker), waits until none is attached, runs, and lets
//! them go on; threads returning from blocking calls wait meanwhile. With a GIL, holding it
//! already stops the world.
//!
//! # Seeing it
//!
//! `--stats` prints, per thread, time holding, waiting for and released from the GIL
//! (`stats.rs`); `--timeline` draws it (`timeline/`); `--trace=gil` prints every request and
//! hand-off as it happens.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::interp::Interp;
use crate::value::Value;
use crate::PyResult;

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
    /// Threads inside `acquire` waiting for the GIL (`Interp::yield_gil` hands it to them).
    waiting: u32,
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
    /// The switch interval in nanoseconds (at least a microsecond).
    interval_ns: AtomicU64,
    /// The interval as `sys.getswitchinterval()` reports it: whole microseconds, which is what
    /// CPython keeps (`setswitchinterval(1e-9)` then reads 0.0).
    shown_us: AtomicU64,
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
            shown_us: AtomicU64::new(u64::try_from(interval.as_micros()).unwrap_or(u64::MAX)),
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

    /// Whether another thread is waiting to take the GIL (with the GIL on or old).
    pub fn has_waiters(&self) -> bool {
        self.state.lock().waiting > 0
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

    /// `sys.getswitchinterval()`: the interval's whole microseconds, in seconds, computed as
    /// CPython does.
    pub fn shown_interval(&self) -> f64 {
        1e-6 * self.shown_us.load(Ordering::Relaxed) as f64
    }

    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval_ns.load(Ordering::Relaxed))
    }

    /// `sys.setswitchinterval`
    pub fn set_interval(&self, d: Duration) {
        self.shown_us.store(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
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
        st.waiting += 1;
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
        st.waiting -= 1;
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

    /// Free-threaded: step the calling thread out, wait for any other thread stopping the world
    /// to finish, then ask every attached thread to detach at its next check point and wait
    /// until none is attached. The world mutex stays held by the caller throughout.
    fn stop_others(&self, w: &mut parking_lot::MutexGuard<'_, World>, breaker: &AtomicBool) {
        w.attached = w.attached.saturating_sub(1);
        self.world_cond.notify_all();
        while w.stopping {
            self.world_cond.wait(w);
        }
        w.stopping = true;
        self.stopping.store(true, Ordering::SeqCst);
        breaker.store(true, Ordering::SeqCst);
        while w.attached > 0 {
            self.world_cond.wait(w);
        }
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
        self.stop_others(&mut w, breaker);
        let r = parking_lot::MutexGuard::unlocked(&mut w, f);
        w.stopping = false;
        self.stopping.store(false, Ordering::SeqCst);
        w.attached += 1;
        drop(w);
        self.world_cond.notify_all();
        r
    }
}

impl Gil {
    /// The park keys of the GIL's mutexes and condition variables: threads waiting for the GIL
    /// (or to attach, or for a hand-off) are queued under these, and a forked child removes
    /// those that did not survive the fork (`heap/fork.rs`, "Ghost waiters"). With the
    /// recorder's (`--timeline`), also held across the fork.
    pub fn park_keys(&self) -> Vec<usize> {
        use crate::heap::fork::{condvar_key, mutex_key};
        let mut keys = vec![
            mutex_key(&self.state),
            condvar_key(&self.cond),
            condvar_key(&self.switch_cond),
            mutex_key(&self.world),
            condvar_key(&self.world_cond),
        ];
        if let Some(r) = &self.recorder {
            keys.extend(r.park_keys());
        }
        keys
    }
}

/// Proof, for [`crate::heap::fork::fork`], that the calling thread has the process to itself:
/// made only by [`Gil::around_fork`], while the GIL is held (or the world stopped) and the GIL's
/// and the recorder's locks are held by the caller.
pub struct ForkToken<'a> {
    _gil: std::marker::PhantomData<&'a Gil>,
}

impl Gil {
    /// Run `fork` (which calls `fork(2)`) with every other thread kept away from the heap and
    /// from the locks the child will use, then make the child's copy of the GIL consistent:
    /// held by `me`, the only thread there is (CPython's `_PyEval_ReInitThreads`).
    ///
    /// GIL on or old: `me` holds the GIL, so no other thread runs bytecode; the state mutex is
    /// held across the fork, so no waiter is halfway through its bookkeeping, and in the child
    /// no drop request is pending (its requester is gone). GIL off: the world is stopped as for
    /// the cycle collector, but with the world mutex held across the fork, so that no thread
    /// coming back from a blocking call is inside it either. The recorder's event lists
    /// (`--timeline`) are held too, and emptied in the child, which reports only its own
    /// threads.
    pub fn around_fork(
        &self,
        me: u64,
        breaker: &AtomicBool,
        fork: impl FnOnce(&ForkToken<'_>) -> std::io::Result<crate::heap::fork::Forked>,
    ) -> std::io::Result<crate::heap::fork::Forked> {
        use crate::heap::fork::Forked;
        let token = ForkToken {
            _gil: std::marker::PhantomData,
        };
        let mut w = self.world.lock();
        if self.mode == GilMode::Off {
            self.stop_others(&mut w, breaker);
        }
        let mut st = self.state.lock();
        let mut held = self.recorder.as_ref().map(|r| r.hold_for_fork());
        let r = fork(&token);
        let child = matches!(r, Ok(Forked::Child));
        if child {
            if let Some(held) = held.as_mut() {
                held.forget_parent();
            }
            self.drop_request.store(false, Ordering::Relaxed);
            self.counters.holders_now.store(1, Ordering::SeqCst);
            // The threads that were waiting for the GIL are not in the child.
            st.waiting = 0;
            if self.mode != GilMode::Off {
                st.locked = true;
                st.holder = me;
                st.last_holder = me;
            }
        }
        drop(held);
        drop(st);
        if self.mode == GilMode::Off {
            w.stopping = false;
            self.stopping.store(false, Ordering::SeqCst);
            w.attached = if child { 1 } else { w.attached + 1 };
        }
        drop(w);
        self.world_cond.notify_all();
        r
    }
}

// -------------------------------------------------------------------------------------------
// The interpreter's side: taking, dropping and yielding the GIL, and the eval breaker's work.

/// Set while `gc.callbacks` run around a collection (`Interp::collect_garbage`).
static IN_GC_CALLBACKS: AtomicBool = AtomicBool::new(false);

impl Interp {
    /// Take the GIL: from here on this thread may run bytecode.
    pub fn attach(&mut self) {
        if let Some(rec) = self.vm.gil.recorder() {
            self.stats.observe(rec.clone(), self.thread_id);
        }
        if !self.holds_gil {
            self.take_gil();
        }
        crate::builtins::register_thread(self);
    }

    /// Give the GIL up for good (the thread is finishing) and file this thread's statistics.
    ///
    /// The heap values this interpreter still owns are dropped first, while the GIL is held:
    /// in the GIL model a reference count may change only under the GIL.
    pub fn detach(&mut self) {
        self.frames.clear();
        self.frame_pool.clear();
        self.spare_list_iter = None;
        self.parked.clear();
        self.method_cache = Default::default();
        self.cur_exc = None;
        self.outer_exc.clear();
        self.asyncgen_hooks = [Value::None, Value::None];
        crate::interp::finalize::discard_pending();
        self.thread_obj = None;
        self.yield_from_result = Value::None;
        // Stop the clock before letting go, so this thread's last holding segment ends before
        // the next holder's begins.
        self.stats.finish();
        crate::builtins::unregister_thread(self);
        if self.holds_gil {
            self.vm.gil.release();
            self.holds_gil = false;
        }
        self.vm.finished_stats.lock().push(self.stats.clone());
    }

    /// Acquire the GIL, charging the wait to `Waiting`.
    pub(crate) fn take_gil(&mut self) {
        use crate::stats::Activity;
        self.stats.switch_to(Activity::Waiting);
        self.vm.gil.acquire(self.thread_id, self.vm.eval_breaker);
        self.stats.switch_to(Activity::Holding);
        self.stats.acquisitions += 1;
        self.holds_gil = true;
    }

    /// Release the GIL, run `between` without it (given this thread's counters and the GIL),
    /// and take the GIL back, with this thread's frames lent to `sys._current_frames()` the
    /// whole time (`heap/lend.rs`), so that another thread sees them wherever this one waits:
    /// `cur` is the frame running at a check point (none in a built-in's blocking call, whose
    /// caller is parked). `next` is what the thread does meanwhile.
    fn without_gil<R>(
        &mut self,
        cur: Option<&crate::interp::frame::Frame>,
        next: crate::stats::Activity,
        between: impl FnOnce(&mut crate::stats::ThreadStats, &Gil) -> R,
    ) -> R {
        use crate::stats::Activity;
        let id = self.thread_id;
        let Interp {
            frames,
            parked,
            stats,
            vm,
            cur_exc,
            outer_exc,
            ..
        } = self;
        // The exception being handled (as `Interp::handled_exc`), for `sys._current_exceptions()`.
        let handling = crate::interp::coro::topmost_exc(cur_exc, outer_exc);
        let stack = crate::builtins::lent_stack(frames, parked, cur, handling);
        parked.lender().lend(stack, || {
            stats.switch_to(next);
            vm.gil.release();
            let r = between(stats, &vm.gil);
            stats.switch_to(Activity::Waiting);
            vm.gil.acquire(id, vm.eval_breaker);
            stats.switch_to(Activity::Holding);
            stats.acquisitions += 1;
            r
        })
    }

    /// [`Gil::stop_the_world`] with this thread's frames (and the exception it handles) lent
    /// meanwhile, for `sys._current_frames()`: free-threaded, the caller steps out while another
    /// thread's stop runs, and that thread's `sys._current_frames()` must list it (three
    /// watcher threads calling it in a loop were missing from each other's now and then). `cur`
    /// is the frame running at a check point (none in a built-in, whose caller is parked).
    /// Every stop the interpreter makes goes through here: a collection started by allocation
    /// at a check point once stepped out lending nothing, and a watcher thread went missing
    /// from `sys._current_frames()` about 1 run in 12 (stress/current_frames_churn, GIL off).
    pub(crate) fn stop_the_world_lending<R>(
        &mut self,
        cur: Option<&crate::interp::frame::Frame>,
        f: impl FnOnce() -> R,
    ) -> R {
        let Interp {
            frames,
            parked,
            vm,
            cur_exc,
            outer_exc,
            ..
        } = self;
        let handling = crate::interp::coro::topmost_exc(cur_exc, outer_exc);
        let stack = crate::builtins::lent_stack(frames, parked, cur, handling);
        parked
            .lender()
            .lend(stack, || vm.gil.stop_the_world(vm.eval_breaker, f))
    }

    /// The eval-breaker check point: called at backward jumps and function entries when the flag
    /// is up, in `frame` (the caller, at a function entry).
    pub(crate) fn handle_eval_breaker(
        &mut self,
        frame: &crate::interp::frame::Frame,
    ) -> PyResult<()> {
        let running: &crate::interp::code::Code = &frame.code;
        // Lower the flag first, then look at what is pending and raise it again if anything
        // is. Looking first could lose a request made in between (seen as not pending, its
        // raised flag then lowered): free-threaded, a thread stopping the world would wait
        // for a spinning thread that no longer checks (the GIL's timed drop request is made
        // again after an interval; the stop had no second chance).
        self.vm.eval_breaker.store(false, Ordering::SeqCst);
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.vm.interrupted.load(Ordering::Relaxed)
            || self.vm.gil.drop_requested()
            || crate::heap::gc::requested()
            || crate::stdlib::lsprof::enabled_anywhere()
        {
            self.vm.eval_breaker.store(true, Ordering::Relaxed);
        }
        self.check_signals()?;
        // Code of a library module CPython writes in C keeps the GIL: the drop request stays
        // and is served at the first check point outside it (see `stands_in_for_c`).
        if self.vm.gil.mode() == GilMode::Off || !stands_in_for_c(running) {
            self.gil_yield_point(frame);
        }
        if crate::heap::gc::take_request() {
            self.collect_garbage_at(Some(frame), None);
        }
        // Generators to close, `__del__`s to run, never-awaited coroutines to report.
        self.after_drops(Some(frame));
        Ok(())
    }

    /// In the main thread, after Ctrl-C or a signal the `signal` module captures: run its
    /// Python handler, or raise `KeyboardInterrupt` (`stdlib/signal.rs: on_interrupt`).
    pub(crate) fn check_signals(&mut self) -> PyResult<()> {
        // A Ctrl-C counts while its handler's own flag is up, `interrupted` raised or not
        // (see `signal::ctrl_c_pending`).
        if !self.is_main {
            return Ok(());
        }
        let woken = self.vm.interrupted.swap(false, Ordering::Relaxed);
        if woken || crate::stdlib::signal::ctrl_c_pending() {
            return crate::stdlib::signal::on_interrupt(self);
        }
        Ok(())
    }

    /// Reached from a check point when the eval breaker is up (`run.rs: handle_eval_breaker`).
    ///
    /// New GIL (`gil.rs: Gil::acquire` set a drop request): hand the GIL over and wait until
    /// another thread has taken it (forced switching). Old GIL (the breaker stays raised, so every
    /// check point comes here and counts as a tick): every `--check-interval` ticks, release and
    /// at once re-take it, with no hand-off.
    pub(crate) fn gil_yield_point(&mut self, frame: &crate::interp::frame::Frame) {
        if !self.holds_gil || !self.vm.gil.drop_requested() {
            return;
        }
        if self.vm.gil.mode() == crate::gil::GilMode::Off {
            // Another thread is stopping the world (the cycle collector): step out until it
            // is done.
            self.without_gil(Some(frame), crate::stats::Activity::Waiting, |_, _| ());
            return;
        }
        if self.vm.gil.mode() == crate::gil::GilMode::Old {
            self.ticks += 1;
            if self.ticks < self.vm.gil.check_interval() {
                return;
            }
            self.ticks = 0;
            let before = self.vm.gil.switch_number();
            let dropped_at =
                self.without_gil(Some(frame), crate::stats::Activity::Waiting, |stats, _| {
                    stats.activity_since()
                });
            // Someone else held it in between: that was a real switch.
            if self.vm.gil.switch_number() != before.wrapping_add(1) {
                self.stats.forced_switches += 1;
                if let Some(at) = dropped_at {
                    self.stats.note_hand_off(at);
                }
            }
            return;
        }
        // Waiting for the hand-off to happen counts as waiting for the GIL.
        let me = self.thread_id;
        let dropped_at = self.without_gil(
            Some(frame),
            crate::stats::Activity::Waiting,
            |stats, gil| {
                let at = stats.activity_since();
                gil.wait_for_switch(me);
                at
            },
        );
        self.stats.forced_switches += 1;
        if let Some(at) = dropped_at {
            self.stats.note_hand_off(at);
        }
    }

    /// Run the cycle collector (`heap/gc.rs`) on `generation`, or on the generation that is due
    /// when `None` (an automatic collection requested by allocation). Returns the number of
    /// unreachable objects found. Called at check points and by `gc.collect()`, where this
    /// thread borrows no object's contents; every other thread is stopped meanwhile.
    ///
    /// The functions in `gc.callbacks` are called before ("start") and after ("stop") it, as
    /// CPython's `gc_collect_with_callback` calls them; a collection asked for while they run
    /// (`gc.collect()` in a callback, an allocation-triggered one) does nothing and returns 0,
    /// as CPython's `collecting` flag makes it.
    pub fn collect_garbage(&mut self, generation: Option<usize>) -> usize {
        self.collect_garbage_at(None, generation)
    }

    /// [`Interp::collect_garbage`] from a check point in `cur` (lent while the world stops).
    fn collect_garbage_at(
        &mut self,
        cur: Option<&crate::interp::frame::Frame>,
        generation: Option<usize>,
    ) -> usize {
        let Some(generation) = generation.or_else(crate::heap::gc::due_generation) else {
            return 0;
        };
        if !crate::stdlib::gc::has_callbacks() {
            return self.collect_stopped(cur, generation);
        }
        if IN_GC_CALLBACKS.swap(true, Ordering::AcqRel) {
            return 0;
        }
        crate::stdlib::gc::run_callbacks(self, "start", generation, 0);
        let found = self.collect_stopped(cur, generation);
        crate::stdlib::gc::run_callbacks(self, "stop", generation, found);
        IN_GC_CALLBACKS.store(false, Ordering::Release);
        found
    }

    /// One collection of `generation` and the finalizers it calls for, without `gc.callbacks`
    /// (also the last collection at exit, as CPython's `_PyGC_CollectNoFail`).
    pub fn collect_without_callbacks(&mut self, generation: usize) -> usize {
        self.collect_stopped(None, generation)
    }

    /// [`Interp::collect_without_callbacks`], with `cur` lent while the world is stopped.
    fn collect_stopped(
        &mut self,
        cur: Option<&crate::interp::frame::Frame>,
        generation: usize,
    ) -> usize {
        // `gc.set_debug`'s reports and `gc.garbage` are made after each stop.
        let (stats, found) = self.stop_the_world_lending(cur, || {
            let stats = crate::stdlib::gc::stats_before(generation);
            (stats, crate::heap::gc::collect(generation))
        });
        if !crate::interp::finalize::pending() {
            crate::stdlib::gc::after_collection(self, stats, found);
            return found;
        }
        crate::stdlib::gc::save_found();
        // Unreachable generators handed their frames over (PEP 442): close them, then free what
        // is still garbage, as CPython does in the same collection.
        self.run_finalizers();
        self.stop_the_world_lending(cur, || {
            crate::stdlib::gc::quietly(|| crate::heap::gc::collect(generation))
        });
        crate::stdlib::gc::after_collection(self, stats, found);
        found
    }

    /// Every object the cycle collector tracks (of one generation), each with a counted
    /// reference: `gc.get_objects()` and asyncio's search for suspended async generators.
    /// Free-threaded, with the world stopped, as CPython 3.13t's `gc.get_objects` does: while
    /// other threads ran, a thread looping on `gc.get_objects()` beside three threads filling
    /// and popping lists crashed (use after free) in 5 of 10 runs; stopped, 0 of 10.
    pub fn tracked_objects(&mut self, generation: Option<usize>) -> Vec<crate::heap::gc::Tracked> {
        self.stop_the_world_lending(None, || crate::heap::gc::objects(generation))
    }

    /// `time.sleep(0)`: let other threads run, as CPython's does: it releases the GIL around a
    /// zero-length system sleep (which the kernel rounds up to its timer slack, some tens of
    /// microseconds), and a thread waiting for the GIL takes it. Here, with the new GIL and a
    /// thread waiting, the GIL is handed over and this thread queues again once the other has
    /// taken it (as at a drop request); otherwise the thread sleeps the shortest time the
    /// system gives, without the GIL. Before, `sleep(0)` returned at once, holding the GIL, so
    /// threads polling with it (`while q.empty(): time.sleep(0)`) kept the GIL for whole switch
    /// intervals and the processor from the threads they waited for.
    pub fn yield_gil(&mut self) {
        if self.holds_gil && self.vm.gil.mode() == GilMode::On && self.vm.gil.has_waiters() {
            let me = self.thread_id;
            self.without_gil(None, crate::stats::Activity::Waiting, |_, gil| {
                gil.wait_for_switch(me)
            });
        } else {
            self.allow_threads(|| std::thread::sleep(Duration::from_nanos(1)));
        }
    }

    /// Run a blocking call (sleep, I/O, waiting) with the GIL released, as CPython's
    /// `Py_BEGIN_ALLOW_THREADS` does. The closure cannot reach the interpreter: `self` is borrowed
    /// for the duration, so nothing inside can run bytecode or touch frames without the GIL.
    ///
    /// The closure (and what it returns) must be `Send`: heap values are not, so the compiler
    /// rejects a closure that would clone, drop or read a Python object without the GIL.
    pub fn allow_threads<R: Send>(&mut self, f: impl FnOnce() -> R + Send) -> R {
        if !self.holds_gil {
            return f();
        }
        self.without_gil(None, crate::stats::Activity::Blocked, |_, _| f())
    }
}

/// The library modules of `vm/lib/` that stand in for modules CPython writes in C (`_heapq`,
/// `_bisect`, `itertools`, `_collections`' `OrderedDict`, `_functools`, `_operator`). A C
/// function runs start to end holding the GIL (unless it calls Python code or blocks), so
/// programs rely on `heapq.heappush(shared, x)`, `bisect.insort(shared, x)` or
/// `od.move_to_end(k)` from several threads without a lock, and on one `islice` being shared
/// as an iterator. Their Python stand-ins here would be switched out halfway (a heap out of
/// order, a key missing, "generator already executing"), so a check point in their frames does
/// not drop the GIL: the request waits for the next check point in other code, such as a
/// function of the program the library calls (where CPython would switch too). Only the GIL
/// modes: free-threaded there is no GIL to keep. Read only when a drop is requested.
fn stands_in_for_c(code: &crate::interp::code::Code) -> bool {
    const MODULES: &[&str] = &[
        "heapq.mini",
        "bisect.mini",
        "itertools.mini",
        "collections/__init__.mini",
        "functools.mini",
        "operator.mini",
    ];
    code.head
        .filename
        .strip_prefix(crate::stdlib::minilib::PREFIX)
        .and_then(|f| f.strip_prefix('/'))
        .is_some_and(|f| MODULES.contains(&f))
}

// -------------------------------------------------------------------------------------------
// One step of a composite iterator, free-threaded.

/// Free-threaded: makes one step of a built-in iterator that advances other iterators (`zip`,
/// `map`, `enumerate`, `filter`, `iter(f, sentinel)`, old-style `__getitem__` iteration) one
/// step for every thread, as CPython's GIL makes a C iterator's `__next__` one step: two threads
/// sharing `zip(it, it)` each get whole pairs, and a shared `enumerate` never hands out one
/// index twice. A re-entrant lock (the step may run Python code that advances the same
/// iterator) whose waiting happens detached ([`Interp::allow_threads`]), so a thread waiting
/// for it never keeps the world from stopping for the collector. The GIL models leave it alone.
#[derive(Default)]
pub struct StepLock {
    /// The thread stepping (0: none) and how many times it entered.
    state: Mutex<(u64, u32)>,
    /// Signalled when the lock is let go.
    freed: Condvar,
}

/// Holds a [`StepLock`] until dropped.
pub struct StepGuard<'a>(&'a StepLock);

impl StepLock {
    pub fn new() -> StepLock {
        StepLock::default()
    }

    /// Take the lock for the calling interpreter's thread (again, if it holds it already).
    pub fn enter<'a>(&'a self, interp: &mut Interp) -> StepGuard<'a> {
        let me = interp.thread_id;
        {
            let mut s = self.state.lock();
            if s.0 == 0 || s.0 == me {
                *s = (me, s.1 + 1);
                return StepGuard(self);
            }
        }
        interp.allow_threads(|| {
            let mut s = self.state.lock();
            while s.0 != 0 {
                self.freed.wait(&mut s);
            }
            *s = (me, 1);
        });
        StepGuard(self)
    }
}

impl Drop for StepGuard<'_> {
    fn drop(&mut self) {
        let mut s = self.0.state.lock();
        s.1 = s.1.saturating_sub(1);
        if s.1 == 0 {
            s.0 = 0;
            drop(s);
            self.0.freed.notify_one();
        }
    }
}
