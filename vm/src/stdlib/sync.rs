//! Stage 4 (VM), standard library.
//! `threading.Lock`, `RLock`, `Event`, `Condition`, `Semaphore`, `BoundedSemaphore`, `Barrier`.
//!
//! Each primitive keeps its state in a parking_lot `Mutex` with a `Condvar`. The uncontended path
//! never releases the GIL; a wait that must block runs inside `Interp::allow_threads`, and no Rust
//! mutex is ever held while Python code runs or while the GIL is given up or taken back.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::builtins::args::{Sig, Style};
use crate::error::PyErr;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{types, AttrMap, Class, ExcKind, Instance, NativeFn, Payload};
use crate::stdlib::{func, native_class, this};
use crate::value::Value;
use crate::{err, PyResult};

// ---------------------------------------------------------------------------------------------
// Shared helpers (also used by `queue`).

/// How long a blocking call may wait.
#[derive(Clone, Copy, Debug)]
pub enum Wait {
    /// Do not block at all.
    NonBlocking,
    Forever,
    Until(Instant),
}

impl Wait {
    /// Wait `secs` seconds from now (a deadline too far away to represent means forever).
    pub fn after(secs: f64) -> Wait {
        match Duration::try_from_secs_f64(secs.max(0.0)) {
            Ok(d) => Instant::now()
                .checked_add(d)
                .map_or(Wait::Forever, Wait::Until),
            Err(_) => Wait::Forever,
        }
    }

    fn deadline(self) -> Option<Instant> {
        match self {
            Wait::Until(d) => Some(d),
            Wait::NonBlocking => Some(Instant::now()),
            Wait::Forever => None,
        }
    }
}

/// Block on `cv` until `ready` (which may change the state, e.g. take the lock) returns true, or
/// the deadline passes. Call without the GIL. Not interruptible: for waits that must end soon
/// anyway (re-taking a lock after `Condition.wait`) and for threads other than the main one.
pub fn wait_for<T>(m: &Mutex<T>, cv: &Condvar, w: Wait, ready: impl FnMut(&mut T) -> bool) -> bool {
    matches!(wait_until(m, cv, w, None, ready), Waited::Ready)
}

/// How a blocking wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waited {
    /// `ready` returned true (the state change it makes has happened).
    Ready,
    TimedOut,
    /// Ctrl-C: `ready` did not succeed, and the caller must raise `KeyboardInterrupt`.
    Interrupted,
}

/// How often a main-thread wait looks at the Ctrl-C flag (well under CPython's ~50 ms reaction).
pub const INTERRUPT_SLICE: Duration = Duration::from_millis(10);

/// [`wait_for`] that also ends when `interrupt` (the VM's Ctrl-C flag, given for the main thread
/// only) is set: the wait is cut into slices of [`INTERRUPT_SLICE`], after each of which the flag
/// is read. A deadline stays exact: the last slice ends at it. `ready` is always tried first, so
/// a wait that can succeed at once does, even with Ctrl-C pending (`lock.acquire()` and
/// `Event.wait()` then raise it at once through [`after_wait`], as CPython's eval breaker does
/// after the call; other callers at the next check point).
pub fn wait_until<T>(
    m: &Mutex<T>,
    cv: &Condvar,
    w: Wait,
    interrupt: Option<&AtomicBool>,
    mut ready: impl FnMut(&mut T) -> bool,
) -> Waited {
    let deadline = w.deadline();
    // Declared before the guard, so dropped after it: a forked child unlocks `m` for a thread
    // that held it at the fork, and removes it from the queues of `m` and `cv`.
    let _note = crate::heap::fork::note_wait(m, cv);
    let mut g = m.lock();
    loop {
        if ready(&mut g) {
            return Waited::Ready;
        }
        if interrupt.is_some_and(|f| f.load(Ordering::SeqCst)) {
            return Waited::Interrupted;
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| d <= now) {
            return Waited::TimedOut;
        }
        let slice_end = interrupt.map(|_| now + INTERRUPT_SLICE);
        match (deadline, slice_end) {
            (None, None) => cv.wait(&mut g),
            (Some(d), None) | (None, Some(d)) => {
                cv.wait_until(&mut g, d);
            }
            (Some(d), Some(s)) => {
                cv.wait_until(&mut g, d.min(s));
            }
        }
    }
}

/// After a wait that succeeded (at once or not), in the main thread: a Ctrl-C (or captured
/// signal) that came before or during it is acted on now, before the program goes on, as
/// CPython's eval breaker is checked right after the call returns (the lock stays taken, the
/// event's True is dropped). Cheap when nothing is pending: one load of the eval breaker,
/// which the signal handler raises itself.
pub fn after_wait(interp: &mut Interp) -> PyResult<()> {
    if interp.is_main && interp.vm.eval_breaker.load(Ordering::Relaxed) {
        interp.check_signals()?;
    }
    Ok(())
}

/// On entry to a blocking call that CPython writes in Python (`Semaphore.acquire`,
/// `Condition.wait`/`wait_for`, `Barrier.wait`, `Thread.join`), once its arguments are bound: a Ctrl-C (or
/// captured signal) already pending is acted on before the call does anything (no permit
/// taken, no lock released, no party counted), as CPython's eval breaker is checked when the
/// function's frame starts (`RESUME`). [`after_wait`] is the check of calls CPython writes in C
/// (`lock.acquire()`), made when they return.
pub fn before_wait(interp: &mut Interp) -> PyResult<()> {
    after_wait(interp)
}

/// Block (with the GIL released) until `ready` succeeds or `w` runs out: `Ok(true)` / `Ok(false)`.
/// In the main thread Ctrl-C ends the wait with `KeyboardInterrupt`, as in CPython.
///
/// `T` and `ready` are `Send`: they are used without the GIL, so they cannot hold heap values
/// (except through a `heap::Shared` hand-off whose contents are only moved there).
pub fn block_on<T: Send>(
    interp: &mut Interp,
    m: &Mutex<T>,
    cv: &Condvar,
    w: Wait,
    mut ready: impl FnMut(&mut T) -> bool + Send,
) -> PyResult<bool> {
    let vm = interp.vm.clone();
    loop {
        let interrupt = interp.is_main.then_some(&vm.interrupted);
        match interp.allow_threads(|| wait_until(m, cv, w, interrupt, &mut ready)) {
            Waited::Ready => return Ok(true),
            Waited::TimedOut => return Ok(false),
            // Raises KeyboardInterrupt (the flag is only cleared by the main thread itself).
            Waited::Interrupted => interp.check_interrupt()?,
        }
    }
}

/// A timeout in seconds as CPython reads one (`_PyTime_FromSecondsObject` in `Python/pytime.c`):
/// an int, float or bool, NaN refused at once. Whether it fits CPython's clock, a signed 64-bit
/// count of nanoseconds, is asked only when a call must wait ([`Secs::wait`]): in CPython that
/// conversion happens in the lock acquire a blocked `Event.wait`, `Queue.get` or `Thread.join`
/// ends in, so `Event.wait(1e308)` on a set event returns True and on an unset one is an
/// `OverflowError`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Secs {
    /// The number as a float (sign tests, deadlines computed in Python terms).
    pub secs: f64,
    /// Nanoseconds (rounded away from zero, as CPython rounds timeouts), or the message of the
    /// `OverflowError` CPython gives for this kind of number.
    ns: Result<i64, &'static str>,
}

impl Secs {
    pub fn of_int(i: i64) -> Secs {
        Secs {
            secs: i as f64,
            ns: i
                .checked_mul(1_000_000_000)
                .ok_or("timestamp too large to convert to C _PyTime_t"),
        }
    }

    pub fn of_float(f: f64) -> Secs {
        let d = f * 1e9;
        let d = if d >= 0.0 { d.ceil() } else { d.floor() };
        // 2^63 as a float: the first value an i64 cannot hold.
        let limit = 9_223_372_036_854_775_808.0_f64;
        Secs {
            secs: f,
            ns: if (-limit..limit).contains(&d) {
                Ok(d as i64)
            } else {
                Err("timestamp out of range for platform time_t")
            },
        }
    }

    /// The timeout in nanoseconds, or CPython's `OverflowError` for it.
    pub fn ns(self) -> PyResult<i64> {
        self.ns.map_err(|m| err!(OverflowError, "{m}"))
    }

    /// The wait of a lock acquire given this timeout: zero or less does not block; one too long
    /// for `Instant` (hundreds of years) waits forever.
    pub fn wait(self) -> PyResult<Wait> {
        let ns = self.ns()?;
        if ns <= 0 {
            return Ok(Wait::NonBlocking);
        }
        Ok(Instant::now()
            .checked_add(Duration::from_nanos(ns.unsigned_abs()))
            .map_or(Wait::Forever, Wait::Until))
    }
}

/// A number of seconds given as an int, float or bool (see [`Secs`]).
pub fn seconds(v: &Value) -> PyResult<Secs> {
    match v {
        Value::Int(i) => Ok(Secs::of_int(*i)),
        Value::Float(f) if f.is_nan() => Err(err!(ValueError, "Invalid value NaN (not a number)")),
        Value::Float(f) => Ok(Secs::of_float(*f)),
        Value::Bool(b) => Ok(Secs::of_int(i64::from(*b))),
        Value::BigInt(b) => Ok(Secs {
            secs: crate::num::bigint::to_f64(b).unwrap_or(
                if b.sign() == crate::num::bigint::Sign::Minus {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                },
            ),
            ns: Err("timestamp too large to convert to C _PyTime_t"),
        }),
        other => Err(err!(
            TypeError,
            "'{}' object cannot be interpreted as an integer",
            crate::object::type_name(other)
        )),
    }
}

/// A Python-level `timeout=None` as in `Condition.wait`: None waits forever, a positive number
/// waits that long, zero or a negative number does not block.
/// (CPython's `Condition.wait` acquires without blocking unless `timeout > 0`, so a NaN does not
/// block either, and only a positive timeout must fit the clock.)
fn cond_timeout(v: Option<&Value>) -> PyResult<Wait> {
    match v {
        None | Some(Value::None) => Ok(Wait::Forever),
        Some(Value::Float(f)) if f.is_nan() => Ok(Wait::NonBlocking),
        Some(v) => {
            let s = seconds(v)?;
            if s.secs > 0.0 {
                s.wait()
            } else {
                Ok(Wait::NonBlocking)
            }
        }
    }
}

/// The `timeout` of a wait CPython writes in Python over `Condition.wait` (`wait_for`,
/// `Semaphore.acquire`, `Barrier.wait`, `Queue.get`/`put`): None, or seconds. A NaN is no
/// deadline at all there (every `remaining <= 0` test is false: the loop polls until it is
/// satisfied), so it is read as waiting forever.
pub fn loop_timeout(v: Option<&Value>) -> PyResult<Option<Secs>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(Value::Float(f)) if f.is_nan() => Ok(None),
        Some(v) => seconds(v).map(Some),
    }
}

/// The first wait of such a loop: a positive timeout must fit the clock (CPython converts it in
/// the lock acquire), zero or less does not block.
pub fn loop_wait(t: Option<Secs>) -> PyResult<Wait> {
    match t {
        None => Ok(Wait::Forever),
        Some(t) if t.secs > 0.0 => t.wait(),
        Some(_) => Ok(Wait::NonBlocking),
    }
}

/// An int argument.
pub fn int_value(v: &Value) -> PyResult<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Bool(b) => Ok(i64::from(*b)),
        other => Err(err!(
            TypeError,
            "'{}' object cannot be interpreted as an integer",
            crate::object::type_name(other)
        )),
    }
}

/// A read-only property computed by a native function of `self`. The getter's name is the
/// class attribute the property is stored under (its name in error messages, as a property
/// made in a class body learns from `__set_name__`).
pub fn property(f: (&'static str, NativeFn)) -> Value {
    make_property(f.0, func(f.0, f.1), Value::None)
}

/// A property with a getter and a setter, native functions of `self` (and the value set).
pub fn rw_property(get: (&'static str, NativeFn), set: (&'static str, NativeFn)) -> Value {
    make_property(get.0, func(get.0, get.1), func(set.0, set.1))
}

fn make_property(name: &str, fget: Value, fset: Value) -> Value {
    let prop = Instance::with_payload(
        types().property.clone(),
        Payload::Property {
            fget,
            fset,
            fdel: Value::None,
        },
    );
    crate::builtins::name_property(&prop, name);
    Value::Instance(Ref::new(prop))
}

/// A user-visible exception class defined by a module (tracebacks print `module.Name`).
pub fn exception_class(name: &str, module: &str, base: ExcKind) -> Ref<Class> {
    let cls = Ref::new(Class::new_exception(name, module, base, false));
    Class::register_subclass(&cls);
    cls
}

/// Raise an instance of `cls` with no arguments.
pub fn raise_new(interp: &mut Interp, cls: &Ref<Class>) -> PyErr {
    match interp.instantiate(cls, &[], &[]) {
        Ok(v) => PyErr::from_instance(&v)
            .unwrap_or_else(|| err!(SystemError, "{} is not an exception class", cls.name())),
        Err(e) => e,
    }
}

fn receiver(args: &Args<'_>) -> PyResult<Ref<Instance>> {
    match args.pos.first() {
        Some(Value::Instance(i)) => Ok(i.clone()),
        _ => Err(err!(TypeError, "method needs an instance")),
    }
}

/// `lock.acquire(blocking=True, timeout=-1)` (a C function in CPython; also `RLock`'s).
const ACQUIRE: Sig = Sig::kw("acquire", &["blocking", "timeout"], 0).method();

/// A method of a C class that takes no arguments (`lock.release()`).
const fn no_args(name: &'static str) -> Sig<'static> {
    Sig::pos(name, Style::NoArgs, &[], 0).method()
}

/// A method written in Python in CPython's `threading.py` with no parameters but `self`.
const fn py_no_args(name: &'static str) -> Sig<'static> {
    Sig::py(name, &[], 0).method()
}

/// `blocking` and `timeout` of `Lock.acquire` / `RLock.acquire`.
fn lock_wait(interp: &mut Interp, args: &Args<'_>) -> PyResult<Wait> {
    let [blocking, timeout] = ACQUIRE.bind(args)?;
    let blocking = match blocking {
        Some(v) => interp.truthy(v)?,
        None => true,
    };
    // CPython converts the timeout to its clock first (its errors come before the checks below),
    // and -1 second, the default, means "no timeout".
    const UNSET: i64 = -1_000_000_000;
    let (ns, timeout) = match timeout {
        Some(v) => {
            let t = seconds(v)?;
            (t.ns()?, Some(t))
        }
        None => (UNSET, None),
    };
    if !blocking {
        if ns != UNSET {
            return Err(err!(
                ValueError,
                "can't specify a timeout for a non-blocking call"
            ));
        }
        return Ok(Wait::NonBlocking);
    }
    if ns < 0 && ns != UNSET {
        return Err(err!(ValueError, "timeout value must be positive"));
    }
    match timeout {
        Some(t) if ns != UNSET => t.wait(),
        _ => Ok(Wait::Forever),
    }
}

// ---------------------------------------------------------------------------------------------
// Lock

/// A plain lock: a binary semaphore any thread may release.
#[derive(Default)]
pub struct LockData {
    locked: Mutex<bool>,
    cv: Condvar,
}

impl LockData {
    fn try_acquire(&self) -> bool {
        let mut l = self.locked.lock();
        !std::mem::replace(&mut *l, true)
    }

    /// Without the GIL.
    fn acquire_blocking(&self, w: Wait) -> bool {
        wait_for(&self.locked, &self.cv, w, |l| !std::mem::replace(l, true))
    }

    fn acquire(&self, interp: &mut Interp, w: Wait) -> PyResult<bool> {
        if self.try_acquire() {
            return Ok(true);
        }
        match w {
            Wait::NonBlocking => Ok(false),
            w => block_on(interp, &self.locked, &self.cv, w, |l| {
                !std::mem::replace(l, true)
            }),
        }
    }

    fn release(&self) -> PyResult<()> {
        let was = std::mem::replace(&mut *self.locked.lock(), false);
        if !was {
            return Err(err!(RuntimeError, "release unlocked lock"));
        }
        self.cv.notify_one();
        Ok(())
    }

    fn is_locked(&self) -> bool {
        *self.locked.lock()
    }
}

static LOCK_CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();

pub fn lock_class() -> Ref<Class> {
    LOCK_CLASS
        .get_or_init(|| {
            native_class(
                "lock",
                "_thread",
                &[
                    ("__init__", lock_init),
                    ("acquire", lock_acquire_method),
                    ("acquire_lock", lock_acquire),
                    ("release", lock_release),
                    ("release_lock", lock_release),
                    ("locked", lock_locked),
                    ("__enter__", lock_acquire),
                    ("__exit__", lock_exit),
                    ("__repr__", lock_repr),
                ],
            )
        })
        .clone()
}

fn lock_init(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let inst = receiver(&args)?;
    Sig::pos("_thread.allocate_lock", Style::NoArgs, &[], 0)
        .method()
        .check(&args)?;
    if !inst.set_native(Box::new(LockData::default())) {
        return Err(err!(RuntimeError, "lock.__init__() called twice"));
    }
    Ok(Value::None)
}

/// `lock.acquire(...)` called by the program: [`after_wait`] once taken. Not `__enter__`,
/// whose lock a `with` statement would never release if it raised after taking it (CPython
/// does not check its eval breaker between `__enter__` and the block).
fn lock_acquire_method(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let got = lock_acquire(interp, args)?;
    if matches!(got, Value::Bool(true)) {
        after_wait(interp)?;
    }
    Ok(got)
}

/// `RLock.acquire(...)`, as [`lock_acquire_method`].
fn rlock_acquire_method(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let got = rlock_acquire(interp, args)?;
    if !matches!(got, Value::Bool(false)) {
        after_wait(interp)?;
    }
    Ok(got)
}

fn lock_acquire(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<LockData>(&args, "lock")?;
    let w = lock_wait(interp, &args)?;
    Ok(Value::Bool(d.acquire(interp, w)?))
}

fn lock_release(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<LockData>(&args, "lock")?;
    no_args("lock.release").check(&args)?;
    d.release()?;
    Ok(Value::None)
}

fn lock_exit(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<LockData>(&args, "lock")?;
    d.release()?;
    Ok(Value::None)
}

fn lock_locked(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<LockData>(&args, "lock")?;
    no_args("lock.locked").check(&args)?;
    Ok(Value::Bool(d.is_locked()))
}

fn lock_repr(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, d) = this::<LockData>(&args, "lock")?;
    let state = if d.is_locked() { "locked" } else { "unlocked" };
    let addr = Ref::as_ptr(inst) as usize;
    Ok(Value::string(format!(
        "<{state} _thread.lock object at {addr:#x}>"
    )))
}

// ---------------------------------------------------------------------------------------------
// RLock

#[derive(Default)]
struct RState {
    /// Thread id of the owner (0: none; interpreter thread ids start at 1).
    owner: u64,
    /// The owner's `threading.get_ident()`, which the repr shows as CPython does (0: none).
    ident: i64,
    count: usize,
}

/// A re-entrant lock: owned by one thread, which may take it again.
#[derive(Default)]
pub struct RLockData {
    state: Mutex<RState>,
    cv: Condvar,
}

fn rtake(s: &mut RState, me: u64, ident: i64) -> bool {
    if s.owner == me {
        s.count += 1;
        true
    } else if s.count == 0 {
        s.owner = me;
        s.ident = ident;
        s.count = 1;
        true
    } else {
        false
    }
}

impl RLockData {
    fn acquire(&self, interp: &mut Interp, w: Wait) -> PyResult<bool> {
        let me = interp.thread_id;
        let ident = crate::stdlib::thread::shown_ident(interp);
        if rtake(&mut self.state.lock(), me, ident) {
            return Ok(true);
        }
        match w {
            Wait::NonBlocking => Ok(false),
            w => block_on(interp, &self.state, &self.cv, w, |s| rtake(s, me, ident)),
        }
    }

    fn release(&self, me: u64) -> PyResult<()> {
        let mut s = self.state.lock();
        if s.owner != me || s.count == 0 {
            return Err(err!(RuntimeError, "cannot release un-acquired lock"));
        }
        s.count -= 1;
        if s.count == 0 {
            s.owner = 0;
            s.ident = 0;
            drop(s);
            self.cv.notify_one();
        }
        Ok(())
    }

    fn is_owned(&self, me: u64) -> bool {
        let s = self.state.lock();
        s.owner == me && s.count > 0
    }

    /// Release completely, returning the recursion count (for `Condition.wait`).
    fn release_save(&self, me: u64) -> Option<usize> {
        let mut s = self.state.lock();
        if s.owner != me || s.count == 0 {
            return None;
        }
        let n = std::mem::take(&mut s.count);
        s.owner = 0;
        s.ident = 0;
        drop(s);
        self.cv.notify_one();
        Some(n)
    }

    /// Take the lock again with a saved count. Without the GIL.
    fn acquire_restore(&self, me: u64, ident: i64, count: usize) {
        wait_for(&self.state, &self.cv, Wait::Forever, |s| {
            if s.count == 0 {
                s.owner = me;
                s.ident = ident;
                s.count = count;
                true
            } else {
                false
            }
        });
    }
}

static RLOCK_CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();

pub fn rlock_class() -> Ref<Class> {
    RLOCK_CLASS
        .get_or_init(|| {
            native_class(
                "RLock",
                "_thread",
                &[
                    ("__init__", rlock_init),
                    ("acquire", rlock_acquire_method),
                    ("release", rlock_release),
                    ("_is_owned", rlock_is_owned),
                    ("__enter__", rlock_acquire),
                    ("__exit__", rlock_exit),
                    ("__repr__", rlock_repr),
                ],
            )
        })
        .clone()
}

fn rlock_init(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let inst = receiver(&args)?;
    if !inst.set_native(Box::new(RLockData::default())) {
        return Err(err!(RuntimeError, "RLock.__init__() called twice"));
    }
    Ok(Value::None)
}

fn new_rlock() -> Ref<Instance> {
    let inst = Instance::new(rlock_class());
    inst.set_native(Box::new(RLockData::default()));
    Ref::new(inst)
}

fn rlock_acquire(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<RLockData>(&args, "RLock")?;
    let w = lock_wait(interp, &args)?;
    Ok(Value::Bool(d.acquire(interp, w)?))
}

fn rlock_release(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<RLockData>(&args, "RLock")?;
    no_args("RLock.release").check(&args)?;
    d.release(interp.thread_id)?;
    Ok(Value::None)
}

/// `__exit__(*args)`: releases whatever the arguments.
fn rlock_exit(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<RLockData>(&args, "RLock")?;
    d.release(interp.thread_id)?;
    Ok(Value::None)
}

fn rlock_is_owned(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<RLockData>(&args, "RLock")?;
    no_args("RLock._is_owned").check(&args)?;
    Ok(Value::Bool(d.is_owned(interp.thread_id)))
}

fn rlock_repr(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, d) = this::<RLockData>(&args, "RLock")?;
    let (owner, count) = {
        let s = d.state.lock();
        (s.ident, s.count)
    };
    let state = if count > 0 { "locked" } else { "unlocked" };
    let addr = Ref::as_ptr(inst) as usize;
    Ok(Value::string(format!(
        "<{state} _thread.RLock object owner={owner} count={count} at {addr:#x}>"
    )))
}

// ---------------------------------------------------------------------------------------------
// Condition

#[derive(Default)]
struct Waiter {
    signaled: Mutex<bool>,
    cv: Condvar,
}

/// A condition variable over a `Lock` or `RLock`.
pub struct CondData {
    lock: Ref<Instance>,
    waiters: Mutex<VecDeque<Arc<Waiter>>>,
}

enum LockRef<'a> {
    Plain(&'a LockData),
    Re(&'a RLockData),
}

impl CondData {
    fn lock_ref(&self) -> PyResult<LockRef<'_>> {
        if let Some(l) = self.lock.native::<LockData>() {
            return Ok(LockRef::Plain(l));
        }
        if let Some(l) = self.lock.native::<RLockData>() {
            return Ok(LockRef::Re(l));
        }
        Err(err!(RuntimeError, "Condition's lock is not initialised"))
    }

    fn is_owned(&self, me: u64) -> PyResult<bool> {
        Ok(match self.lock_ref()? {
            // CPython's test for a plain lock: it is owned if it cannot be taken now.
            LockRef::Plain(l) => {
                if l.try_acquire() {
                    l.release()?;
                    false
                } else {
                    true
                }
            }
            LockRef::Re(l) => l.is_owned(me),
        })
    }

    fn wait(&self, interp: &mut Interp, w: Wait) -> PyResult<bool> {
        let me = interp.thread_id;
        if !self.is_owned(me)? {
            return Err(err!(RuntimeError, "cannot wait on un-acquired lock"));
        }
        let lock = self.lock_ref()?;
        let waiter = Arc::new(Waiter::default());
        self.waiters.lock().push_back(waiter.clone());
        let saved = match &lock {
            LockRef::Plain(l) => {
                l.release()?;
                0
            }
            LockRef::Re(l) => l.release_save(me).unwrap_or(0),
        };
        let ident = crate::stdlib::thread::shown_ident(interp);
        let vm = interp.vm.clone();
        let interrupt = interp.is_main.then_some(&vm.interrupted);
        let waited = interp.allow_threads(|| {
            let waited = wait_until(&waiter.signaled, &waiter.cv, w, interrupt, |s| *s);
            // The lock is taken back however the wait ended (CPython's `finally`).
            match &lock {
                LockRef::Plain(l) => {
                    l.acquire_blocking(Wait::Forever);
                }
                LockRef::Re(l) => l.acquire_restore(me, ident, saved),
            }
            waited
        });
        if waited == Waited::Ready {
            // Woken with a Ctrl-C pending (it came during the wait or at its end): raised now,
            // the lock taken back and the notification used, as CPython's `Condition.wait`
            // checks its eval breaker on the calls after `waiter.acquire()` returns.
            after_wait(interp)?;
            return Ok(true);
        }
        let mut ws = self.waiters.lock();
        let before = ws.len();
        ws.retain(|x| !Arc::ptr_eq(x, &waiter));
        let removed = ws.len() != before;
        drop(ws);
        if waited == Waited::Interrupted {
            interp.check_interrupt()?;
        }
        // Notified between the timeout and now: the notification is ours.
        Ok(!removed && *waiter.signaled.lock())
    }

    fn notify(&self, me: u64, n: usize) -> PyResult<()> {
        if !self.is_owned(me)? {
            return Err(err!(RuntimeError, "cannot notify on un-acquired lock"));
        }
        let woken: Vec<Arc<Waiter>> = {
            let mut ws = self.waiters.lock();
            let k = n.min(ws.len());
            ws.drain(..k).collect()
        };
        for w in woken {
            *w.signaled.lock() = true;
            w.cv.notify_one();
        }
        Ok(())
    }
}

static CONDITION_CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();

pub fn condition_class() -> Ref<Class> {
    CONDITION_CLASS
        .get_or_init(|| {
            native_class(
                "Condition",
                "threading",
                &[
                    ("__init__", cond_init),
                    ("acquire", cond_acquire),
                    ("release", cond_release),
                    ("__enter__", cond_enter),
                    ("__exit__", cond_exit),
                    ("wait", cond_wait),
                    ("wait_for", cond_wait_for),
                    ("notify", cond_notify),
                    ("notify_all", cond_notify_all),
                    ("notifyAll", cond_notify_all_old),
                    ("_is_owned", cond_is_owned),
                    ("__repr__", cond_repr),
                ],
            )
        })
        .clone()
}

fn cond_init(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let inst = receiver(&args)?;
    let [lock] = Sig::py("Condition.__init__", &["lock"], 0)
        .method()
        .bind(&args)?;
    let lock = match lock {
        None | Some(Value::None) => new_rlock(),
        Some(Value::Instance(l))
            if l.native::<LockData>().is_some() || l.native::<RLockData>().is_some() =>
        {
            l.clone()
        }
        Some(other) => {
            return Err(err!(
                TypeError,
                "minivm: Condition() needs a threading.Lock or threading.RLock, not '{}'",
                crate::object::type_name(other)
            ))
        }
    };
    inst.dict
        .lock()
        .insert(Arc::from("_lock"), Value::Instance(lock.clone()));
    let data = CondData {
        lock,
        waiters: Mutex::new(VecDeque::new()),
    };
    if !inst.set_native(Box::new(data)) {
        return Err(err!(RuntimeError, "Condition.__init__() called twice"));
    }
    Ok(Value::None)
}

fn cond_acquire(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, c) = this::<CondData>(&args, "Condition")?;
    let w = lock_wait(interp, &args)?;
    Ok(Value::Bool(match c.lock_ref()? {
        LockRef::Plain(l) => l.acquire(interp, w)?,
        LockRef::Re(l) => l.acquire(interp, w)?,
    }))
}

/// `Condition.__enter__()`: the lock's `__enter__`, with no arguments.
fn cond_enter(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    py_no_args("Condition.__enter__").check(&args)?;
    cond_acquire(interp, args)
}

fn cond_release(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, c) = this::<CondData>(&args, "Condition")?;
    match c.lock_ref()? {
        LockRef::Plain(_) => no_args("lock.release").check(&args)?,
        LockRef::Re(_) => no_args("RLock.release").check(&args)?,
    }
    cond_exit(interp, args)
}

/// `Condition.__exit__(*args)`: release the lock.
fn cond_exit(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, c) = this::<CondData>(&args, "Condition")?;
    match c.lock_ref()? {
        LockRef::Plain(l) => l.release()?,
        LockRef::Re(l) => l.release(interp.thread_id)?,
    }
    Ok(Value::None)
}

fn cond_is_owned(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, c) = this::<CondData>(&args, "Condition")?;
    match c.lock_ref()? {
        LockRef::Plain(_) => py_no_args("Condition._is_owned").check(&args)?,
        LockRef::Re(_) => no_args("RLock._is_owned").check(&args)?,
    }
    Ok(Value::Bool(c.is_owned(interp.thread_id)?))
}

fn cond_wait(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, c) = this::<CondData>(&args, "Condition")?;
    let [timeout] = Sig::py("Condition.wait", &["timeout"], 0)
        .method()
        .bind(&args)?;
    before_wait(interp)?;
    let w = cond_timeout(timeout)?;
    Ok(Value::Bool(c.wait(interp, w)?))
}

fn cond_wait_for(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, c) = this::<CondData>(&args, "Condition")?;
    let [pred, timeout] = Sig::py("Condition.wait_for", &["predicate", "timeout"], 1)
        .method()
        .bind(&args)?;
    let Some(pred) = pred else {
        return Err(err!(SystemError, "Condition.wait_for(): predicate lost"));
    };
    before_wait(interp)?;
    let timeout = loop_timeout(timeout)?;
    // The deadline is set at the first wait, where CPython's loop sets its `endtime`.
    let mut end: Option<Wait> = None;
    let mut result = interp.call(pred, &[])?;
    while !interp.truthy(&result)? {
        let w = match end {
            None => {
                let w = loop_wait(timeout)?;
                end = Some(w);
                w
            }
            Some(Wait::Until(d)) => {
                let now = Instant::now();
                if d <= now {
                    break;
                }
                Wait::Until(d)
            }
            Some(Wait::NonBlocking) => break,
            Some(Wait::Forever) => Wait::Forever,
        };
        c.wait(interp, w)?;
        result = interp.call(pred, &[])?;
    }
    Ok(result)
}

fn cond_notify(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, c) = this::<CondData>(&args, "Condition")?;
    let [n] = Sig::py("Condition.notify", &["n"], 0)
        .method()
        .bind(&args)?;
    let n = match n {
        Some(v) => int_value(v)?.max(0) as usize,
        None => 1,
    };
    c.notify(interp.thread_id, n)?;
    Ok(Value::None)
}

fn cond_notify_all(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, c) = this::<CondData>(&args, "Condition")?;
    py_no_args("Condition.notify_all").check(&args)?;
    c.notify(interp.thread_id, usize::MAX)?;
    Ok(Value::None)
}

/// The old camelCase spelling (its own function in CPython, hence its own name in messages).
fn cond_notify_all_old(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, c) = this::<CondData>(&args, "Condition")?;
    py_no_args("Condition.notifyAll").check(&args)?;
    c.notify(interp.thread_id, usize::MAX)?;
    Ok(Value::None)
}

fn cond_repr(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, c) = this::<CondData>(&args, "Condition")?;
    let lock = interp.repr(&Value::Instance(c.lock.clone()))?;
    let n = c.waiters.lock().len();
    Ok(Value::string(format!("<Condition({lock}, {n})>")))
}

// ---------------------------------------------------------------------------------------------
// Event

#[derive(Default)]
pub struct EventData {
    flag: Mutex<bool>,
    cv: Condvar,
}

static EVENT_CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();

pub fn event_class() -> Ref<Class> {
    EVENT_CLASS
        .get_or_init(|| {
            native_class(
                "Event",
                "threading",
                &[
                    ("__init__", event_init),
                    ("set", event_set),
                    ("clear", event_clear),
                    ("is_set", event_is_set),
                    ("isSet", event_is_set_old),
                    ("wait", event_wait),
                    ("__repr__", event_repr),
                ],
            )
        })
        .clone()
}

fn event_init(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let inst = receiver(&args)?;
    py_no_args("Event.__init__").check(&args)?;
    if !inst.set_native(Box::new(EventData::default())) {
        return Err(err!(RuntimeError, "Event.__init__() called twice"));
    }
    Ok(Value::None)
}

fn event_set(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<EventData>(&args, "Event")?;
    py_no_args("Event.set").check(&args)?;
    *d.flag.lock() = true;
    d.cv.notify_all();
    Ok(Value::None)
}

fn event_clear(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<EventData>(&args, "Event")?;
    py_no_args("Event.clear").check(&args)?;
    *d.flag.lock() = false;
    Ok(Value::None)
}

fn event_is_set(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<EventData>(&args, "Event")?;
    py_no_args("Event.is_set").check(&args)?;
    Ok(Value::Bool(*d.flag.lock()))
}

fn event_is_set_old(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<EventData>(&args, "Event")?;
    py_no_args("Event.isSet").check(&args)?;
    Ok(Value::Bool(*d.flag.lock()))
}

fn event_wait(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<EventData>(&args, "Event")?;
    let [timeout] = Sig::py("Event.wait", &["timeout"], 0)
        .method()
        .bind(&args)?;
    if *d.flag.lock() {
        after_wait(interp)?;
        return Ok(Value::Bool(true));
    }
    let w = cond_timeout(timeout)?;
    let got = match w {
        Wait::NonBlocking => false,
        w => block_on(interp, &d.flag, &d.cv, w, |f| *f)?,
    };
    if got {
        after_wait(interp)?;
    }
    Ok(Value::Bool(got))
}

fn event_repr(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, d) = this::<EventData>(&args, "Event")?;
    let state = if *d.flag.lock() { "set" } else { "unset" };
    let addr = Ref::as_ptr(inst) as usize;
    Ok(Value::string(format!(
        "<{}.{} at {addr:#x}: {state}>",
        inst.class.module,
        inst.class.name()
    )))
}

// ---------------------------------------------------------------------------------------------
// Semaphore, BoundedSemaphore

pub struct SemData {
    value: Mutex<u64>,
    cv: Condvar,
    /// The initial value, for `BoundedSemaphore`.
    bound: Option<u64>,
}

fn sem_take(v: &mut u64) -> bool {
    if *v > 0 {
        *v -= 1;
        true
    } else {
        false
    }
}

static SEMAPHORE_CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();
static BOUNDED_SEMAPHORE_CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();

pub fn semaphore_class() -> Ref<Class> {
    SEMAPHORE_CLASS
        .get_or_init(|| {
            let cls = native_class(
                "Semaphore",
                "threading",
                &[
                    ("__init__", sem_init),
                    ("acquire", sem_acquire),
                    ("release", sem_release),
                    ("__enter__", sem_enter),
                    ("__exit__", sem_exit),
                    ("__repr__", sem_repr),
                ],
            );
            // CPython's semaphores are Python objects whose counter `_value` programs (and
            // tutorials) read to show the count; here it is read-only.
            cls.dict
                .write()
                .insert(Arc::from("_value"), property(("_value", sem_value)));
            cls
        })
        .clone()
}

pub fn bounded_semaphore_class() -> Ref<Class> {
    BOUNDED_SEMAPHORE_CLASS
        .get_or_init(|| {
            let mut dict = AttrMap::default();
            dict.insert(Arc::from("__init__"), func("__init__", bsem_init));
            let mut cls = Class::new_native("BoundedSemaphore", "threading", dict);
            cls.set_base(semaphore_class());
            Ref::new(cls)
        })
        .clone()
}

fn sem_new(args: &Args<'_>, bounded: bool) -> PyResult<Value> {
    let inst = receiver(args)?;
    let name = if bounded {
        "BoundedSemaphore.__init__"
    } else {
        "Semaphore.__init__"
    };
    let [value] = Sig::py(name, &["value"], 0).method().bind(args)?;
    let value = match value {
        Some(v) => int_value(v)?,
        None => 1,
    };
    if value < 0 {
        return Err(err!(ValueError, "semaphore initial value must be >= 0"));
    }
    let value = value as u64;
    let data = SemData {
        value: Mutex::new(value),
        cv: Condvar::new(),
        bound: bounded.then_some(value),
    };
    if !inst.set_native(Box::new(data)) {
        return Err(err!(RuntimeError, "Semaphore.__init__() called twice"));
    }
    Ok(Value::None)
}

fn sem_init(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    sem_new(&args, false)
}

fn bsem_init(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    sem_new(&args, true)
}

fn sem_acquire(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SemData>(&args, "Semaphore")?;
    let [blocking, timeout] = Sig::py("Semaphore.acquire", &["blocking", "timeout"], 0)
        .method()
        .bind(&args)?;
    before_wait(interp)?;
    let blocking = match blocking {
        Some(v) => interp.truthy(v)?,
        None => true,
    };
    let given = !matches!(timeout, None | Some(Value::None));
    let timeout = loop_timeout(timeout)?;
    if !blocking && given {
        return Err(err!(
            ValueError,
            "can't specify timeout for non-blocking acquire"
        ));
    }
    if sem_take(&mut d.value.lock()) {
        return Ok(Value::Bool(true));
    }
    let w = match (blocking, timeout) {
        (false, _) => return Ok(Value::Bool(false)),
        (true, Some(t)) if t.secs <= 0.0 => return Ok(Value::Bool(false)),
        (true, t) => loop_wait(t)?,
    };
    let got = block_on(interp, &d.value, &d.cv, w, sem_take)?;
    Ok(Value::Bool(got))
}

fn sem_add(d: &SemData, n: u64) -> PyResult<()> {
    {
        let mut v = d.value.lock();
        if let Some(b) = d.bound {
            if v.saturating_add(n) > b {
                return Err(err!(ValueError, "Semaphore released too many times"));
            }
        }
        *v = v.saturating_add(n);
    }
    for _ in 0..n.min(1 << 16) {
        if !d.cv.notify_one() {
            break;
        }
    }
    Ok(())
}

/// `Semaphore.__enter__()`: `acquire()` with no arguments.
fn sem_enter(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    py_no_args("Semaphore.__enter__").check(&args)?;
    sem_acquire(interp, args)
}

fn sem_release(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SemData>(&args, "Semaphore")?;
    let name = if d.bound.is_some() {
        "BoundedSemaphore.release"
    } else {
        "Semaphore.release"
    };
    let [n] = Sig::py(name, &["n"], 0).method().bind(&args)?;
    let n = match n {
        Some(v) => int_value(v)?,
        None => 1,
    };
    if n < 1 {
        return Err(err!(ValueError, "n must be one or more"));
    }
    sem_add(d, n as u64)?;
    Ok(Value::None)
}

fn sem_exit(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SemData>(&args, "Semaphore")?;
    Sig::py("Semaphore.__exit__", &["t", "v", "tb"], 3)
        .method()
        .bind::<3>(&args)?;
    sem_add(d, 1)?;
    Ok(Value::None)
}

/// `sem._value`: the current count.
fn sem_value(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<SemData>(&args, "Semaphore")?;
    let v = *d.value.lock();
    Ok(Value::Int(i64::try_from(v).unwrap_or(i64::MAX)))
}

fn sem_repr(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, d) = this::<SemData>(&args, "Semaphore")?;
    let v = *d.value.lock();
    let addr = Ref::as_ptr(inst) as usize;
    let extra = match d.bound {
        Some(b) => format!("value={v}/{b}"),
        None => format!("value={v}"),
    };
    Ok(Value::string(format!(
        "<{}.{} at {addr:#x}: {extra}>",
        inst.class.module,
        inst.class.name()
    )))
}

// ---------------------------------------------------------------------------------------------
// Barrier

#[derive(Default)]
struct BState {
    /// Threads that arrived in this round (still waiting, or leaving a broken barrier).
    count: usize,
    /// Bumped each time a round completes.
    generation: u64,
    /// The last thread of a round is running the action: new arrivals wait.
    releasing: bool,
    /// Waiters must leave with `BrokenBarrierError` (broken, or being reset).
    broken: bool,
    /// `reset()` found waiters: they leave broken, new arrivals wait, and the last one out
    /// makes the barrier fresh again (CPython's state -1).
    resetting: bool,
}

impl BState {
    /// New arrivals wait while a round's action runs or a reset drains the waiters.
    fn closed(&self) -> bool {
        self.releasing || self.resetting
    }

    /// A waiter leaves a broken (or resetting) barrier; the last one out of a reset makes the
    /// barrier fresh again.
    fn leave_broken(&mut self) {
        self.broken = true;
        self.count = self.count.saturating_sub(1);
        if self.resetting && self.count == 0 {
            self.resetting = false;
            self.broken = false;
        }
    }
}

pub struct BarrierData {
    parties: usize,
    /// Called by the last arrival once it holds the GIL again; waits (without the GIL) see the
    /// rest of this struct only.
    action: crate::heap::Shared<Value>,
    timeout: Option<Secs>,
    state: Mutex<BState>,
    cv: Condvar,
}

static BARRIER_CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();
static BROKEN_BARRIER_ERROR: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();

pub fn broken_barrier_error() -> Ref<Class> {
    BROKEN_BARRIER_ERROR
        .get_or_init(|| exception_class("BrokenBarrierError", "threading", ExcKind::RuntimeError))
        .clone()
}

pub fn barrier_class() -> Ref<Class> {
    BARRIER_CLASS
        .get_or_init(|| {
            let cls = native_class(
                "Barrier",
                "threading",
                &[
                    ("__init__", barrier_init),
                    ("wait", barrier_wait),
                    ("abort", barrier_abort),
                    ("reset", barrier_reset),
                    ("__repr__", barrier_repr),
                ],
            );
            {
                let mut dict = cls.dict.write();
                dict.insert(Arc::from("parties"), property(("parties", barrier_parties)));
                dict.insert(
                    Arc::from("n_waiting"),
                    property(("n_waiting", barrier_n_waiting)),
                );
                dict.insert(Arc::from("broken"), property(("broken", barrier_broken)));
            }
            cls
        })
        .clone()
}

fn barrier_init(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let inst = receiver(&args)?;
    let [parties, action, timeout] =
        Sig::py("Barrier.__init__", &["parties", "action", "timeout"], 1)
            .method()
            .bind(&args)?;
    let Some(parties) = parties else {
        return Err(err!(SystemError, "Barrier.__init__(): parties lost"));
    };
    let parties = int_value(parties)?;
    if parties < 1 {
        return Err(err!(ValueError, "parties must be > 0"));
    }
    let action = action.cloned().unwrap_or(Value::None);
    let timeout = loop_timeout(timeout)?;
    let data = BarrierData {
        parties: parties as usize,
        action: crate::heap::Shared::new(action),
        timeout,
        state: Mutex::new(BState::default()),
        cv: Condvar::new(),
    };
    if !inst.set_native(Box::new(data)) {
        return Err(err!(RuntimeError, "Barrier.__init__() called twice"));
    }
    Ok(Value::None)
}

/// Outcome of a wait on a barrier, decided without the GIL.
enum Arrival {
    /// Our arrival index, and the generation to wait out (None: we are the last).
    Entered(usize, Option<u64>),
    Broken,
    TimedOut,
}

fn barrier_enter(b: &BarrierData, s: &mut BState) -> Arrival {
    if s.broken {
        return Arrival::Broken;
    }
    let index = s.count;
    s.count += 1;
    if s.count == b.parties {
        s.releasing = true;
        Arrival::Entered(index, None)
    } else {
        Arrival::Entered(index, Some(s.generation))
    }
}

/// End a round: wake everyone waiting for it.
fn barrier_release(b: &BarrierData, broken: bool) {
    {
        let mut s = b.state.lock();
        s.releasing = false;
        if broken {
            s.leave_broken();
        } else {
            s.count = 0;
            s.generation = s.generation.wrapping_add(1);
        }
    }
    b.cv.notify_all();
}

fn barrier_wait(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, b) = this::<BarrierData>(&args, "Barrier")?;
    let [timeout] = Sig::py("Barrier.wait", &["timeout"], 0)
        .method()
        .bind(&args)?;
    before_wait(interp)?;
    let timeout = match timeout {
        None | Some(Value::None) => b.timeout,
        v => loop_timeout(v)?,
    };
    // The timeout must fit the clock only when this thread has to wait.
    let w = || loop_wait(timeout);
    // Enter (waiting while the previous round's action runs).
    let arrival = {
        let mut s = b.state.lock();
        if s.closed() {
            None
        } else {
            Some(barrier_enter(b, &mut s))
        }
    };
    let arrival = match arrival {
        Some(a) => a,
        None => {
            let mut out = Arrival::TimedOut;
            block_on(interp, &b.state, &b.cv, w()?, |s| {
                if s.closed() {
                    return false;
                }
                out = barrier_enter(b, s);
                true
            })?;
            out
        }
    };
    match arrival {
        Arrival::Broken | Arrival::TimedOut => {
            if matches!(arrival, Arrival::TimedOut) {
                let mut s = b.state.lock();
                s.broken = true;
                drop(s);
                b.cv.notify_all();
            }
            Err(raise_new(interp, &broken_barrier_error()))
        }
        Arrival::Entered(index, None) => {
            if !b.action.is_none() {
                if let Err(e) = interp.call(&b.action, &[]) {
                    barrier_release(b, true);
                    return Err(e);
                }
            }
            barrier_release(b, false);
            Ok(Value::Int(index as i64))
        }
        Arrival::Entered(index, Some(gen)) => {
            let passed = {
                let s = b.state.lock();
                s.generation != gen
            };
            let passed = passed || {
                let outcome = w().and_then(|w| {
                    block_on(interp, &b.state, &b.cv, w, |s| {
                        s.generation != gen || s.broken
                    })
                });
                if let Err(e) = outcome {
                    // Interrupted: like a timeout, this breaks the barrier for the others.
                    b.state.lock().leave_broken();
                    b.cv.notify_all();
                    return Err(e);
                }
                b.state.lock().generation != gen
            };
            if passed {
                return Ok(Value::Int(index as i64));
            }
            b.state.lock().leave_broken();
            b.cv.notify_all();
            Err(raise_new(interp, &broken_barrier_error()))
        }
    }
}

/// `Barrier.abort()` and `reset()`: change the state under its lock, then wake every waiter
/// to look at it again.
fn barrier_change(
    args: &Args<'_>,
    method: &'static str,
    change: impl FnOnce(&mut BState),
) -> PyResult<Value> {
    let (_, b) = this::<BarrierData>(args, "Barrier")?;
    py_no_args(method).check(args)?;
    change(&mut b.state.lock());
    b.cv.notify_all();
    Ok(Value::None)
}

fn barrier_abort(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    barrier_change(&args, "Barrier.abort", |s| {
        s.broken = true;
        s.resetting = false;
    })
}

/// `Barrier.reset()`: back to the empty, unbroken state. Threads waiting now leave with
/// `BrokenBarrierError`; until the last of them is out, new arrivals wait (as CPython's).
fn barrier_reset(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    barrier_change(&args, "Barrier.reset", |s| {
        if s.count > 0 && !s.releasing {
            s.broken = true;
            s.resetting = true;
        } else if s.count == 0 {
            s.broken = false;
            s.resetting = false;
        }
    })
}

fn barrier_parties(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, b) = this::<BarrierData>(&args, "Barrier")?;
    Ok(Value::Int(b.parties as i64))
}

fn barrier_n_waiting(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, b) = this::<BarrierData>(&args, "Barrier")?;
    let s = b.state.lock();
    Ok(Value::Int(if s.releasing || s.broken {
        0
    } else {
        s.count as i64
    }))
}

fn barrier_broken(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, b) = this::<BarrierData>(&args, "Barrier")?;
    let s = b.state.lock();
    Ok(Value::Bool(s.broken && !s.resetting))
}

fn barrier_repr(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, b) = this::<BarrierData>(&args, "Barrier")?;
    let addr = Ref::as_ptr(inst) as usize;
    let s = b.state.lock();
    if s.broken && !s.resetting {
        return Ok(Value::string(format!(
            "<threading.Barrier at {addr:#x}: broken>"
        )));
    }
    Ok(Value::string(format!(
        "<threading.Barrier at {addr:#x}: waiters={}/{}>",
        s.count, b.parties
    )))
}

// ---------------------------------------------------------------------------------------------

/// The synchronisation classes, for the `threading` module.
pub fn threading_items() -> Vec<(&'static str, Value)> {
    vec![
        ("Lock", Value::Class(lock_class())),
        ("RLock", Value::Class(rlock_class())),
        ("Condition", Value::Class(condition_class())),
        ("Event", Value::Class(event_class())),
        ("Semaphore", Value::Class(semaphore_class())),
        ("BoundedSemaphore", Value::Class(bounded_semaphore_class())),
        ("Barrier", Value::Class(barrier_class())),
        ("BrokenBarrierError", Value::Class(broken_barrier_error())),
    ]
}
