//! The `time` module: wall clock, monotonic clocks and `sleep` (which releases the GIL).

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::module_from_fns as make_module;
use crate::builtins::args::ArgsExt;
use crate::builtins::Methods;
use crate::error::PyResult;
use crate::heap::Ref;
use crate::interp::ops::{as_number, Num};
use crate::interp::{Args, Interp};
use crate::object::{type_name, Module};
use crate::raise;
use crate::value::Value;

const FUNCS: Methods = &[
    ("time", time),
    ("time_ns", time_ns),
    ("perf_counter", perf_counter),
    ("perf_counter_ns", perf_counter_ns),
    ("monotonic", monotonic),
    ("monotonic_ns", monotonic_ns),
    ("process_time", process_time),
    ("sleep", sleep),
    ("_zone", zone),
    ("_tzset", tzset),
];

pub fn module() -> Ref<Module> {
    let _ = epoch();
    make_module("time", FUNCS, vec![])
}

/// `_zone(t)`: the local zone's `(utc offset in seconds, is dst, abbreviation)` at the instant `t`.
fn zone(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let t = match args.one("_zone")? {
        Value::Int(t) => *t,
        other => raise!(TypeError, "_zone() needs an int, not {}", type_name(other)),
    };
    let zone = super::tzfile::local().map_err(|msg| crate::err!(NotImplementedError, "{msg}"))?;
    let ty = zone.at(t);
    Ok(Value::tuple(vec![
        Value::Int(ty.utoff),
        Value::Bool(ty.isdst),
        Value::str(&ty.abbrev),
    ]))
}

/// `_tzset(tz)`: use the zone `tz` (the value of `TZ` in `os.environ`, or `None`) names.
fn tzset(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let tz = match args.one("_tzset")? {
        Value::Str(s) => Some(s.as_str()),
        _ => None,
    };
    super::tzfile::reset(tz).map_err(|msg| crate::err!(NotImplementedError, "{msg}"))?;
    Ok(Value::None)
}

/// The process's reference instant for the monotonic clocks.
fn epoch() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

fn since_unix() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

fn time(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.none("time.time")?;
    Ok(Value::Float(since_unix().as_secs_f64()))
}

fn time_ns(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.none("time.time_ns")?;
    Ok(Value::Int(since_unix().as_nanos() as i64))
}

/// Seconds on the monotonic clock, for `name` (which takes no arguments).
fn seconds(args: &Args<'_>, name: &str) -> PyResult<Value> {
    args.none(name)?;
    Ok(Value::Float(epoch().elapsed().as_secs_f64()))
}

/// Nanoseconds on the monotonic clock, for `name` (which takes no arguments).
fn nanoseconds(args: &Args<'_>, name: &str) -> PyResult<Value> {
    args.none(name)?;
    Ok(Value::Int(epoch().elapsed().as_nanos() as i64))
}

fn perf_counter(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    seconds(&args, "time.perf_counter")
}

fn perf_counter_ns(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    nanoseconds(&args, "time.perf_counter_ns")
}

fn monotonic(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    seconds(&args, "time.monotonic")
}

fn monotonic_ns(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    nanoseconds(&args, "time.monotonic_ns")
}

/// (The process's CPU time is not measured: the monotonic clock stands in for it.)
fn process_time(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    seconds(&args, "time.process_time")
}

fn sleep(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let v = args.one("time.sleep")?;
    let secs = match as_number(v) {
        Some(Num::Int(i)) => i as f64,
        Some(Num::Float(f)) => f,
        Some(Num::Big(_)) => raise!(
            OverflowError,
            "timestamp too large to convert to C _PyTime_t"
        ),
        None => raise!(
            TypeError,
            "'{}' object cannot be interpreted as an integer",
            type_name(v)
        ),
    };
    if secs.is_nan() {
        raise!(ValueError, "Invalid value NaN (not a number)");
    }
    if secs < 0.0 {
        raise!(ValueError, "sleep length must be non-negative");
    }
    let Ok(d) = Duration::try_from_secs_f64(secs) else {
        raise!(OverflowError, "sleep length is too large");
    };
    // The main thread sleeps in short slices so Ctrl-C interrupts it, as in CPython.
    let vm = interp.vm.clone();
    let interruptible = interp.is_main;
    interp.allow_threads(|| {
        let end = std::time::Instant::now() + d;
        loop {
            let now = std::time::Instant::now();
            if now >= end
                || (interruptible && vm.interrupted.load(std::sync::atomic::Ordering::Relaxed))
            {
                break;
            }
            std::thread::sleep((end - now).min(Duration::from_millis(50)));
        }
    });
    interp.check_interrupt()?;
    Ok(Value::None)
}
