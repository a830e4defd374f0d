//! Stage 4 (VM), standard library.
//! The `time` module: wall clock, monotonic clocks, `sleep` (which releases the GIL), and
//! `gmtime`/`localtime`, which break a timestamp down into a `struct_time` (the class and the
//! rest of the calendar functions are written in the mini language, `vm/lib/_timeinfo.mini`).
//! Those two are here because they run for every log line (`logging`'s asctime) and every
//! `datetime.now()`: in the mini language, building the struct_time attribute by attribute
//! cost some 45 µs a call, against about 1 µs in CPython.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::time::ClockId;

use super::module_from_fns as make_module;
use crate::builtins::args::ArgsExt;
use crate::builtins::args::{Sig, Style};
use crate::builtins::Methods;
use crate::error::PyResult;
use crate::heap::Ref;
use crate::interp::ops::{as_number, Num};
use crate::interp::{Args, Interp};
use crate::object::{type_name, Instance, Module, Payload};
use crate::raise;
use crate::stdlib::sync::Secs;
use crate::value::Value;

const FUNCS: Methods = &[
    ("time", time),
    ("time_ns", time_ns),
    ("perf_counter", perf_counter),
    ("perf_counter_ns", perf_counter_ns),
    ("monotonic", monotonic),
    ("monotonic_ns", monotonic_ns),
    ("process_time", process_time),
    ("process_time_ns", process_time_ns),
    ("thread_time", thread_time),
    ("thread_time_ns", thread_time_ns),
    ("sleep", sleep),
    ("get_clock_info", get_clock_info),
    ("clock_gettime", clock_gettime),
    ("clock_gettime_ns", clock_gettime_ns),
    ("clock_getres", clock_getres),
    ("_zone", zone),
    ("_tzset", tzset),
    ("_zoneinfo", zoneinfo),
];

/// The breaking-down functions, under the names `_timeinfo` takes them by (`time.gmtime` and
/// `time.localtime` once it is loaded), named as CPython's.
fn broken_down_functions() -> Vec<(&'static str, Value)> {
    vec![
        ("_gmtime", crate::stdlib::func("gmtime", gmtime)),
        ("_localtime", crate::stdlib::func("localtime", localtime)),
        ("_strftime", crate::stdlib::func("strftime", strftime)),
    ]
}

pub fn module() -> Ref<Module> {
    let mut extras = broken_down_functions();
    extras.extend(
        CLOCKS
            .iter()
            .map(|&(name, id)| (name, Value::Int(i64::from(id)))),
    );
    make_module("time", FUNCS, extras)
}

/// The clock ids of `clock_gettime`, Linux's numbers, as CPython's `time` names them.
const CLOCKS: &[(&str, i32)] = &[
    ("CLOCK_REALTIME", libc::CLOCK_REALTIME),
    ("CLOCK_MONOTONIC", libc::CLOCK_MONOTONIC),
    ("CLOCK_PROCESS_CPUTIME_ID", libc::CLOCK_PROCESS_CPUTIME_ID),
    ("CLOCK_THREAD_CPUTIME_ID", libc::CLOCK_THREAD_CPUTIME_ID),
    ("CLOCK_MONOTONIC_RAW", libc::CLOCK_MONOTONIC_RAW),
    ("CLOCK_BOOTTIME", libc::CLOCK_BOOTTIME),
    ("CLOCK_TAI", libc::CLOCK_TAI),
];

/// The clock id argument of `clock_gettime(clk_id, /)` and friends: a C int, as CPython parses it.
fn clock_arg(args: &Args<'_>, name: &str) -> PyResult<ClockId> {
    let [id] = Sig::pos(name, Style::Positional, &["clk_id"], 1).bind::<1>(args)?;
    let id = crate::stdlib::os::c_int_arg(id.unwrap_or(&Value::None))?;
    Ok(ClockId::from_raw(id))
}

/// Nanoseconds on `clock`, or the OSError of clock_gettime(2) (an unknown clock: EINVAL).
fn checked_nanos(clock: ClockId) -> PyResult<i64> {
    nix::time::clock_gettime(clock)
        .map(|t| {
            t.tv_sec()
                .saturating_mul(1_000_000_000)
                .saturating_add(t.tv_nsec())
        })
        .map_err(|e| crate::stdlib::os::os_error(&std::io::Error::from(e), None))
}

/// `time.clock_gettime(clk_id)`: seconds on the clock `clk_id` (a `CLOCK_*` constant).
fn clock_gettime(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let clock = clock_arg(&args, "clock_gettime")?;
    Ok(Value::Float(checked_nanos(clock)? as f64 / 1e9))
}

/// `time.clock_gettime_ns(clk_id)`: nanoseconds on the clock `clk_id`.
fn clock_gettime_ns(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let clock = clock_arg(&args, "clock_gettime_ns")?;
    Ok(Value::Int(checked_nanos(clock)?))
}

/// `time.clock_getres(clk_id)`: the clock's resolution in seconds (clock_getres(2)).
fn clock_getres(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let clock = clock_arg(&args, "clock_getres")?;
    let t = nix::time::clock_getres(clock)
        .map_err(|e| crate::stdlib::os::os_error(&std::io::Error::from(e), None))?;
    Ok(Value::Float(t.tv_sec() as f64 + t.tv_nsec() as f64 * 1e-9))
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

/// `_zoneinfo(key, t)`: for `zoneinfo`, the zone `key` of the tz database at the instant `t`:
/// `(utc offset, daylight saving part of it, abbreviation)` in seconds, or None when the
/// database has no such zone.
fn zoneinfo(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (Some(Value::Str(key)), Some(Value::Int(t))) = (args.pos.first(), args.pos.get(1)) else {
        raise!(TypeError, "_zoneinfo() needs a str key and an int time");
    };
    let Some(zone) = super::tzfile::named(key.as_str()) else {
        return Ok(Value::None);
    };
    let ty = zone.at(*t);
    Ok(Value::tuple(vec![
        Value::Int(ty.utoff),
        Value::Int(zone.dst_at(*t)),
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

/// Nanoseconds on one of the system's clocks (clock_gettime(2)). `CLOCK_MONOTONIC` is the clock
/// CPython's `monotonic` and `perf_counter` read: the time since boot, so that values taken in
/// different processes compare (a process started by `multiprocessing` checks a deadline its
/// parent set). The CPU-time clocks count only CPU time, not sleeping or waiting.
/// Read through libc (nix), not rustix: see vm/Cargo.toml. The call cannot fail for these
/// three clocks on Linux; if it ever did, the answer would be 0.
fn clock_nanos(clock: ClockId) -> i64 {
    checked_nanos(clock).unwrap_or(0)
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

/// Seconds on `clock`, for `name` (which takes no arguments).
fn seconds(args: &Args<'_>, name: &str, clock: ClockId) -> PyResult<Value> {
    args.none(name)?;
    // As CPython: whole nanoseconds to float seconds in one division.
    Ok(Value::Float(clock_nanos(clock) as f64 / 1e9))
}

/// Nanoseconds on `clock`, for `name` (which takes no arguments).
fn nanoseconds(args: &Args<'_>, name: &str, clock: ClockId) -> PyResult<Value> {
    args.none(name)?;
    Ok(Value::Int(clock_nanos(clock)))
}

/// `get_clock_info(name)`: a `types.SimpleNamespace` describing a clock, as CPython's on Linux
/// (every clock is a `clock_gettime` of nanosecond resolution; minivm's read the same ones).
fn get_clock_info(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let name = match args.one("get_clock_info")? {
        Value::Str(s) => s.as_str().to_string(),
        other => raise!(
            TypeError,
            "get_clock_info() argument 1 must be str, not {}",
            type_name(other)
        ),
    };
    let (clock, monotonic) = match name.as_str() {
        "monotonic" | "perf_counter" => ("CLOCK_MONOTONIC", true),
        "process_time" => ("CLOCK_PROCESS_CPUTIME_ID", true),
        "thread_time" => ("CLOCK_THREAD_CPUTIME_ID", true),
        "time" => ("CLOCK_REALTIME", false),
        _ => raise!(ValueError, "unknown clock"),
    };
    let types = interp.import_module("types")?;
    let namespace = interp.getattr(&types, "SimpleNamespace")?;
    let kw: Vec<(std::sync::Arc<str>, Value)> = vec![
        (
            "implementation".into(),
            Value::string(format!("clock_gettime({clock})")),
        ),
        ("monotonic".into(), Value::Bool(monotonic)),
        ("adjustable".into(), Value::Bool(!monotonic)),
        ("resolution".into(), Value::Float(1e-9)),
    ];
    interp.call_kw(&namespace, &[], &kw)
}

fn perf_counter(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    seconds(&args, "time.perf_counter", ClockId::CLOCK_MONOTONIC)
}

fn perf_counter_ns(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    nanoseconds(&args, "time.perf_counter_ns", ClockId::CLOCK_MONOTONIC)
}

fn monotonic(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    seconds(&args, "time.monotonic", ClockId::CLOCK_MONOTONIC)
}

fn monotonic_ns(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    nanoseconds(&args, "time.monotonic_ns", ClockId::CLOCK_MONOTONIC)
}

/// `time.process_time()`: the CPU time (user + system) of the whole process, in seconds.
fn process_time(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    seconds(
        &args,
        "time.process_time",
        ClockId::CLOCK_PROCESS_CPUTIME_ID,
    )
}

fn process_time_ns(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    nanoseconds(
        &args,
        "time.process_time_ns",
        ClockId::CLOCK_PROCESS_CPUTIME_ID,
    )
}

/// `time.thread_time()`: the CPU time of the calling thread alone, in seconds.
fn thread_time(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    seconds(&args, "time.thread_time", ClockId::CLOCK_THREAD_CPUTIME_ID)
}

fn thread_time_ns(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    nanoseconds(
        &args,
        "time.thread_time_ns",
        ClockId::CLOCK_THREAD_CPUTIME_ID,
    )
}

fn sleep(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let v = args.one("time.sleep")?;
    // Converted to CPython's clock first: its errors come before the sign check.
    let t = match as_number(v) {
        Some(Num::Int(i)) => Secs::of_int(i),
        Some(Num::Float(f)) if f.is_nan() => raise!(ValueError, "Invalid value NaN (not a number)"),
        Some(Num::Float(f)) => Secs::of_float(f),
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
    let ns = t.ns()?;
    if ns < 0 {
        raise!(ValueError, "sleep length must be non-negative");
    }
    let d = Duration::from_nanos(ns.unsigned_abs());
    if d.is_zero() {
        // A yield: other threads run first (`Interp::yield_gil`).
        interp.yield_gil();
        interp.check_interrupt()?;
        return Ok(Value::None);
    }
    // The main thread sleeps so that Ctrl-C interrupts it at once, as CPython's sleep ends on
    // EINTR: each slice is a nanosleep(2) that a signal handler run on this thread cuts short
    // (std's sleep would go on), and a slice is at most `INTERRUPT_SLICE` long, for a signal
    // the kernel gave to another thread. A signal whose handler returns normally does not end
    // the sleep: it goes on for the time left (PEP 475), so only a handler that raises cuts it
    // short. Other threads sleep in one piece.
    let vm = interp.vm.clone();
    let interruptible = interp.is_main;
    let end = std::time::Instant::now().checked_add(d);
    loop {
        interp.allow_threads(|| loop {
            let now = std::time::Instant::now();
            if end.is_some_and(|end| now >= end)
                || (interruptible && vm.interrupted.load(std::sync::atomic::Ordering::SeqCst))
            {
                break;
            }
            // (No end: a sleep too long for `Instant`, hundreds of years.)
            let left = end.map_or(Duration::MAX, |end| end - now);
            if !interruptible {
                std::thread::sleep(left.min(Duration::from_secs(1 << 20)));
                continue;
            }
            let slice = left.min(crate::stdlib::sync::INTERRUPT_SLICE);
            let ts = rustix::time::Timespec {
                tv_sec: slice.as_secs() as i64,
                tv_nsec: slice.subsec_nanos().into(),
            };
            // Interrupted: look at the flag again; an error (none is possible for a valid
            // time) ends the slice too.
            let _ = rustix::thread::nanosleep(&ts);
        });
        interp.check_interrupt()?;
        if end.is_some_and(|end| std::time::Instant::now() >= end) {
            return Ok(Value::None);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// gmtime / localtime

/// The range of timestamps whose year fits the C library's 32-bit `tm_year`.
const MAX_SECONDS: i64 = 67_768_036_191_676_799;
const MIN_SECONDS: i64 = -67_768_040_609_740_800;

/// A timestamp argument as whole seconds, rounded toward minus infinity (None: now), with
/// CPython's errors.
fn whole_seconds(v: Option<&Value>, name: &str) -> PyResult<i64> {
    let v = match v {
        None | Some(Value::None) => return Ok(since_unix().as_secs() as i64),
        Some(v) => crate::object::builtin_base(v).unwrap_or(v),
    };
    let out_of_range = || crate::err!(OverflowError, "timestamp out of range for platform time_t");
    let secs = match v {
        Value::Int(i) => *i,
        Value::Bool(b) => i64::from(*b),
        Value::BigInt(_) => return Err(out_of_range()),
        Value::Float(f) => {
            if f.is_nan() {
                raise!(ValueError, "Invalid value NaN (not a number)");
            }
            if !(-9.3e18 < *f && *f < 9.3e18) {
                return Err(out_of_range());
            }
            f.floor() as i64
        }
        other => raise!(
            TypeError,
            "'{}' object cannot be interpreted as an integer",
            type_name(other)
        ),
    };
    if !(MIN_SECONDS..=MAX_SECONDS).contains(&secs) {
        raise!(OverflowError, "{name}: timestamp out of range");
    }
    Ok(secs)
}

/// Days since 1970-01-01 of a date of the proleptic Gregorian calendar (Howard Hinnant's
/// algorithm, as `_timeinfo._days_from_civil`).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day count since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// The `struct_time` of `t` seconds since the epoch, already shifted into the zone wanted.
fn struct_time(
    interp: &mut Interp,
    t: i64,
    isdst: i64,
    zone: Value,
    gmtoff: i64,
) -> PyResult<Value> {
    let info = interp.import_module("_timeinfo")?;
    let Value::Class(cls) = interp.getattr(&info, "struct_time")? else {
        raise!(SystemError, "_timeinfo.struct_time is not a class");
    };
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let yday = days - days_from_civil(year, 1, 1) + 1;
    let wday = (days + 3).rem_euclid(7);
    let fields = [
        ("tm_year", year),
        ("tm_mon", month),
        ("tm_mday", day),
        ("tm_hour", secs / 3600),
        ("tm_min", secs / 60 % 60),
        ("tm_sec", secs % 60),
        ("tm_wday", wday),
        ("tm_yday", yday),
        ("tm_isdst", isdst),
    ];
    let tuple = Value::tuple(fields.iter().map(|(_, v)| Value::Int(*v)).collect());
    let inst = Instance::with_payload(cls, Payload::Builtin { value: tuple });
    {
        let mut d = inst.dict.lock();
        for (name, v) in fields {
            d.insert(crate::object::intern_name(name), Value::Int(v));
        }
        d.insert(crate::object::intern_name("tm_zone"), zone);
        d.insert(crate::object::intern_name("tm_gmtoff"), Value::Int(gmtoff));
    }
    Ok(Value::Instance(Ref::new(inst)))
}

/// `time.gmtime(seconds=None)`.
fn gmtime(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [secs] = Sig::pos("gmtime", Style::Positional, &["seconds"], 0).bind::<1>(&args)?;
    let t = whole_seconds(secs, "gmtime")?;
    struct_time(interp, t, 0, Value::str("GMT"), 0)
}

/// `time.localtime(seconds=None)`: in the local zone (`TZ`, else `/etc/localtime`).
fn localtime(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [secs] = Sig::pos("localtime", Style::Positional, &["seconds"], 0).bind::<1>(&args)?;
    let t = whole_seconds(secs, "localtime")?;
    let zone = super::tzfile::local().map_err(|msg| crate::err!(NotImplementedError, "{msg}"))?;
    let ty = zone.at(t);
    struct_time(
        interp,
        t + ty.utoff,
        i64::from(ty.isdst),
        Value::str(&ty.abbrev),
        ty.utoff,
    )
}

// ---------------------------------------------------------------------------------------------
// strftime

/// `time.strftime(format, t=None)`. The common case (a str format in ASCII, and `t` absent, a
/// struct_time or a 9-tuple of ints that passes CPython's checks) is formatted here, as glibc
/// does; anything else goes to the mini-language version (`_timeinfo._strftime`), which has
/// every check and error. Both follow the same rules: the directives, glibc's flags (`-`,
/// `_`, `0`, `^`, `#`) and widths, unknown directives copied as they stand.
fn strftime(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [format, t] =
        Sig::pos("strftime", Style::Positional, &["format", "t"], 1).bind::<2>(&args)?;
    if let Some(text) = fast_strftime(interp, format, t)? {
        return Ok(Value::string(text));
    }
    let info = interp.import_module("_timeinfo")?;
    let slow = interp.getattr(&info, "_strftime")?;
    let mut call_args: Vec<Value> = format.into_iter().cloned().collect();
    call_args.extend(t.cloned());
    interp.call(&slow, &call_args)
}

fn fast_strftime(
    interp: &mut Interp,
    format: Option<&Value>,
    t: Option<&Value>,
) -> PyResult<Option<String>> {
    let Some(Value::Str(format)) = format else {
        return Ok(None);
    };
    let format = format.as_str();
    if !format.is_ascii() {
        return Ok(None);
    }
    let t = match t {
        None | Some(Value::None) => localtime(interp, Args { pos: &[], kw: &[] })?,
        Some(t) => t.clone(),
    };
    let Some(f) = time_fields(&t).and_then(checked_fields) else {
        return Ok(None);
    };
    let mut out = String::new();
    if !format_time(interp, format, &f, &t, &mut out)? {
        return Ok(None);
    }
    Ok(Some(out))
}

/// The nine fields of a struct_time or 9-tuple, if each is a (small) int.
fn time_fields(t: &Value) -> Option<[i64; 9]> {
    let Value::Tuple(tuple) = crate::object::builtin_base(t).unwrap_or(t) else {
        return None;
    };
    let mut f = [0i64; 9];
    if tuple.items.len() != 9 {
        return None;
    }
    for (slot, v) in f.iter_mut().zip(tuple.items.iter()) {
        // A field beyond a C int is the slow path's OverflowError, as CPython's.
        *slot = match v {
            Value::Int(i) if i32::try_from(*i).is_ok() => *i,
            Value::Bool(b) => i64::from(*b),
            _ => return None,
        };
    }
    Some(f)
}

/// CPython's checks and adjustments of strftime's fields (`_timeinfo._checked`): 0 stands for
/// the first month, day of month or day of year; None when a field is out of range.
fn checked_fields(mut f: [i64; 9]) -> Option<[i64; 9]> {
    let fix_zero = |v: i64, hi: i64| match v {
        0 => Some(1),
        v if (1..=hi).contains(&v) => Some(v),
        _ => None,
    };
    f[1] = fix_zero(f[1], 12)?;
    f[2] = fix_zero(f[2], 31)?;
    if !(0..=23).contains(&f[3]) || !(0..=59).contains(&f[4]) || !(0..=61).contains(&f[5]) {
        return None;
    }
    if f[6] < -1 {
        return None;
    }
    f[6] = ((f[6] + 1).rem_euclid(7) + 6).rem_euclid(7);
    f[7] = fix_zero(f[7], 366)?;
    f[8] = f[8].clamp(-1, 1);
    Some(f)
}

const DAY_NAMES: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Whether `y` is a leap year of the proleptic Gregorian calendar.
pub(crate) fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// The ISO 8601 (year, week) of 0-based day `yday` of `year`, `wday` 0 a Monday.
fn iso_week(year: i64, yday: i64, wday: i64) -> (i64, i64) {
    let week = (yday - wday + 10).div_euclid(7);
    if week < 1 {
        let days = if is_leap(year - 1) { 366 } else { 365 };
        return (year - 1, (yday + days - wday + 10).div_euclid(7));
    }
    let days = if is_leap(year) { 366 } else { 365 };
    if yday - wday + 3 >= days {
        return (year + 1, 1);
    }
    (year, week)
}

/// Format `format` for the checked fields `f` of `t` into `out`; false when something needs the
/// mini-language version (an unusual `tm_zone` or `tm_gmtoff`, `%s` of a strange time).
fn format_time(
    interp: &mut Interp,
    format: &str,
    f: &[i64; 9],
    t: &Value,
    out: &mut String,
) -> PyResult<bool> {
    let b = format.as_bytes();
    let n = b.len();
    let mut i = 0;
    while i < n {
        if b[i] != b'%' || i + 1 >= n {
            out.push(b[i] as char);
            i += 1;
            continue;
        }
        let mut j = i + 1;
        let mut flag = None;
        if b"-_0^#".contains(&b[j]) {
            flag = Some(b[j]);
            j += 1;
        }
        let digits_start = j;
        while j < n && b[j].is_ascii_digit() {
            j += 1;
        }
        let explicit: usize = match format[digits_start..j].parse() {
            Ok(w) => w,
            Err(_) if j == digits_start => 0,
            Err(_) => return Ok(false),
        };
        if j < n && (b[j] == b'E' || b[j] == b'O') {
            j += 1;
        }
        let end = (j + 1).min(n);
        if j >= n {
            out.push_str(&format[i..end]);
            i = j + 1;
            continue;
        }
        let c = b[j];
        match directive(interp, c, f, t)? {
            Directive::Unknown => out.push_str(&format[i..end]),
            Directive::Bail => return Ok(false),
            Directive::Text(text, pad, width) => {
                out.push_str(&padded(c, text, pad, width, flag, explicit))
            }
        }
        i = j + 1;
    }
    Ok(true)
}

enum Directive {
    /// The text, its default padding character (None: none) and width.
    Text(String, Option<char>, usize),
    /// Not a conversion glibc knows: copied as it stands.
    Unknown,
    /// Left to the mini-language version.
    Bail,
}

fn directive(interp: &mut Interp, c: u8, f: &[i64; 9], t: &Value) -> PyResult<Directive> {
    use Directive::{Bail, Text, Unknown};
    let [year, mon, mday, hour, minute, sec, wday, yday, _] = *f;
    let num = |v: i64, pad: char, width: usize| Text(v.to_string(), Some(pad), width);
    let plain = |s: String| Text(s, None, 0);
    let nested = |interp: &mut Interp, fmt: &str| -> PyResult<Directive> {
        let mut s = String::new();
        Ok(if format_time(interp, fmt, f, t, &mut s)? {
            plain(s)
        } else {
            Bail
        })
    };
    let hour12 = (hour + 11).rem_euclid(12) + 1;
    Ok(match c {
        b'a' => plain(DAY_NAMES[wday as usize][..3].to_string()),
        b'A' => plain(DAY_NAMES[wday as usize].to_string()),
        b'b' | b'h' => plain(MONTH_NAMES[(mon - 1) as usize][..3].to_string()),
        b'B' => plain(MONTH_NAMES[(mon - 1) as usize].to_string()),
        b'c' => nested(interp, "%a %b %e %H:%M:%S %Y")?,
        b'C' => num(year.div_euclid(100), '0', if year >= 1000 { 2 } else { 0 }),
        b'd' => num(mday, '0', 2),
        b'D' | b'x' => nested(interp, "%m/%d/%y")?,
        b'e' => num(mday, ' ', 2),
        b'F' => nested(interp, "%Y-%m-%d")?,
        b'G' => num(iso_week(year, yday - 1, wday).0, '0', 0),
        b'g' => num(iso_week(year, yday - 1, wday).0.rem_euclid(100), '0', 2),
        b'H' => num(hour, '0', 2),
        b'I' => num(hour12, '0', 2),
        b'j' => num(yday, '0', 3),
        b'k' => num(hour, ' ', 2),
        b'l' => num(hour12, ' ', 2),
        b'm' => num(mon, '0', 2),
        b'M' => num(minute, '0', 2),
        b'n' => plain("\n".to_string()),
        b'p' => plain(if hour < 12 { "AM" } else { "PM" }.to_string()),
        b'P' => plain(if hour < 12 { "am" } else { "pm" }.to_string()),
        b'r' => nested(interp, "%I:%M:%S %p")?,
        b'R' => nested(interp, "%H:%M")?,
        b's' => {
            let info = interp.import_module("_timeinfo")?;
            let mktime = interp.getattr(&info, "mktime")?;
            let fields = Value::tuple(f.iter().map(|v| Value::Int(*v)).collect());
            match interp.call(&mktime, &[fields])? {
                Value::Float(x) if x.is_finite() && x.abs() < 9.0e18 => {
                    plain((x as i64).to_string())
                }
                _ => Bail,
            }
        }
        b'S' => num(sec, '0', 2),
        b't' => plain("\t".to_string()),
        b'T' | b'X' => nested(interp, "%H:%M:%S")?,
        b'u' => num(wday + 1, '0', 1),
        b'U' => num((yday - 1 + 7 - (wday + 1) % 7).div_euclid(7), '0', 2),
        b'V' => num(iso_week(year, yday - 1, wday).1, '0', 2),
        b'w' => num((wday + 1) % 7, '0', 1),
        b'W' => num((yday - 1 + 7 - wday).div_euclid(7), '0', 2),
        b'y' => num(year.rem_euclid(100), '0', 2),
        b'Y' => num(year, '0', 0),
        b'z' | b'Z' => match zone_of(interp, t, f[8])? {
            None => Bail,
            Some((name, _)) if c == b'Z' => plain(name),
            Some((_, offset)) => {
                let sign = if offset < 0 { '-' } else { '+' };
                let a = offset.unsigned_abs();
                plain(format!("{sign}{:02}{:02}", a / 3600, a / 60 % 60))
            }
        },
        b'%' => plain("%".to_string()),
        _ => Unknown,
    })
}

/// The zone name and UTC offset `%Z` and `%z` print: the struct_time's own `tm_zone` and
/// `tm_gmtoff`, or for a plain tuple the local zone's names (`time.tzname`, `timezone`,
/// `altzone`). None when they are not a str and an int.
fn zone_of(interp: &mut Interp, t: &Value, isdst: i64) -> PyResult<Option<(String, i64)>> {
    let attr = |interp: &mut Interp, name: &str| -> PyResult<Value> {
        match interp.getattr(t, name) {
            Ok(v) => Ok(v),
            Err(e) if e.is(crate::object::ExcKind::AttributeError) => Ok(Value::None),
            Err(e) => Err(e),
        }
    };
    let zone = attr(interp, "tm_zone")?;
    if !zone.is_none() {
        let offset = match attr(interp, "tm_gmtoff")? {
            Value::None => 0,
            Value::Int(i) => i,
            Value::Bool(b) => i64::from(b),
            _ => return Ok(None),
        };
        return Ok(match zone {
            Value::Str(s) => Some((s.as_str().to_string(), offset)),
            _ => None,
        });
    }
    let info = interp.import_module("_timeinfo")?;
    let names = interp.getattr(&info, "tzname")?;
    let dst = isdst > 0;
    let shift = interp.getattr(&info, if dst { "altzone" } else { "timezone" })?;
    let name = match &names {
        Value::Tuple(n) => n.items.get(usize::from(dst)).cloned(),
        _ => None,
    };
    Ok(match (name, shift) {
        (Some(Value::Str(s)), Value::Int(shift)) => Some((s.as_str().to_string(), -shift)),
        _ => None,
    })
}

/// glibc's flags and widths on a conversion's text (`_timeinfo._pad`): `-` no padding (but
/// spaces up to an explicit width), `_` spaces, `0` zeros, `^` upper case, `#` the other case
/// (lower for %p and %Z, upper for names; %c keeps its case).
fn padded(
    c: u8,
    text: String,
    pad: Option<char>,
    width: usize,
    flag: Option<u8>,
    explicit: usize,
) -> String {
    let text = match flag {
        Some(b'^') => text.to_uppercase(),
        Some(b'#') if c == b'p' || c == b'Z' => text.to_lowercase(),
        Some(b'#') if c != b'c' => text.to_uppercase(),
        _ => text,
    };
    if flag == Some(b'-') && explicit == 0 {
        return text;
    }
    let pad = match flag {
        Some(b'-' | b'_') => Some(' '),
        Some(b'0') => Some('0'),
        _ => pad,
    };
    let width = if explicit > 0 { explicit } else { width };
    let pad = match pad {
        None if explicit > 0 => Some(' '),
        p => p,
    };
    let Some(pad) = pad else {
        return text;
    };
    let len = text.chars().count();
    let negative = pad == '0' && text.starts_with('-');
    let body = if negative { &text[1..] } else { &text[..] };
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if len < width {
        out.extend(std::iter::repeat_n(pad, width - len));
    }
    out.push_str(body);
    out
}
