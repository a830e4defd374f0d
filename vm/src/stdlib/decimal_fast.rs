//! `_decimal_fast` (stdlib stage): the common cases of Decimal's `*`, `+`, `-`, `/`, `//` and
//! `quantize` (and `str()`) in Rust, for `vm/lib/decimal.mini`.
//!
//! Decimal is written in the mini language (a finite Decimal is an instance with the slots
//! `_sign`, `_int` (the coefficient, an int), `_exp` and `_special` (`''`)). Running an operator
//! there costs 80 to 140 bytecodes: the context lookup, the operand checks, `_fix`'s bounds. After
//! the class is made, decimal.mini gives the mini-language methods named in `METHODS` (the
//! operators, their reflected forms, `quantize` and the comparisons) to [`setup`] and puts this
//! module's methods in their place. Each one answers the
//! case money-style programs spend their time in, and hands every other call, with the same
//! arguments, to the method it replaced:
//!
//! - both operands finite Decimals (exactly `Decimal`, or an int on the right) with
//!   coefficients below 10**36 (small or big ints), and the current context found in
//!   contextvars' table;
//! - `*`, `+`, `-`: the result rounded to the context's precision (`_fix`), with far-apart
//!   addends first reduced to a sticky digit as the mini code does; Rounded and Inexact are set
//!   here unless trapped; results that overflow, are subnormal or need clamping are left to the
//!   mini code, and so are sums with a zero operand that would pad past the precision;
//! - `/`: non-zero operands whose quotient, worked out to `prec + 1` digits as the mini code
//!   does, fits 128 bits; the rounded result needs no clamping; Inexact and Rounded, when the
//!   division is inexact, set here unless trapped;
//! - `//`: a non-zero divisor, operands that align within 128 bits and a quotient that fits the
//!   precision (no flag is ever set: the quotient is exact, exponent 0);
//! - `quantize`: the target exponent is in range and the rounded coefficient fits the
//!   precision; the flags it raises (Inexact and Rounded, or Rounded) are set here when neither
//!   is trapped (a trapped one goes to the mini code, which raises it);
//! - `str()`: a finite Decimal written without an exponent (the digits with the point placed).
//!
//! A result made here has the sign, coefficient and exponent the mini code gives, and the
//! same flags are set; anything this module is unsure of is not answered here.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use crate::heap::{Global, Ref};
use crate::interp::{Args, Interp};
use crate::object::{Class, Dict, HashKey, InstDict, Instance, Module, NativeFunction};
use crate::value::Value;
use crate::PyResult;

/// What `setup` was given: decimal.mini's objects that the fast paths read or make.
struct State {
    /// The `Decimal` class: operands must be exactly it, results are made as it.
    decimal: Ref<Class>,
    /// contextvars' table: thread ident -> that thread's current contextvars `Context`.
    contexts: Ref<Dict>,
    /// decimal's `ContextVar`, as a key of a contextvars Context's `_vars` dict.
    var: HashKey,
    /// The signal classes as keys of a SignalDict's `_d` dict.
    inexact: HashKey,
    rounded: HashKey,
    /// The mini-language methods, for every call not answered here.
    slow_mul: Value,
    slow_rmul: Value,
    slow_add: Value,
    slow_radd: Value,
    slow_sub: Value,
    slow_rsub: Value,
    slow_truediv: Value,
    slow_rtruediv: Value,
    slow_floordiv: Value,
    slow_rfloordiv: Value,
    slow_quantize: Value,
    slow_eq: Value,
    slow_ne: Value,
    slow_lt: Value,
    slow_le: Value,
    slow_gt: Value,
    slow_ge: Value,
    slow_str: Value,
    /// Slot names and `''`, made once.
    sign: Arc<str>,
    int: Arc<str>,
    exp: Arc<str>,
    special: Arc<str>,
    empty: Value,
    /// The layout number of Decimals' attribute tables (0: not seen yet).
    layout: AtomicU32,
    /// Where a Context's table keeps [`CTX_FIELDS`] (see [`ctx_positions`]; 0: not seen yet).
    ctx_layout: AtomicU64,
    /// Where the current context was last found: the position of a thread's entry in
    /// `contexts` (checked by its key before use), and of `_vars` in a contextvars Context's
    /// table (the layout number in the low 32 bits, the position above; 0: not seen yet).
    tid_at: AtomicUsize,
    vars_layout: AtomicU64,
    /// Where a SignalDict's table keeps `_d` (as `vars_layout`).
    sd_layout: AtomicU64,
}

static STATE: Global<State> = Global::new();

pub fn module() -> Ref<Module> {
    let d = Dict::new();
    d.set_str("__name__", Value::str("_decimal_fast"));
    d.set_str("setup", super::func("setup", setup));
    d.set_str("new", super::func("new", new));
    d.set_str("setup_new", super::func("setup_new", setup_new));
    d.set_str("decimal_new", super::func("decimal_new", decimal_new));
    let methods: [(&'static str, crate::object::NativeFn); 18] = [
        ("__mul__", mul),
        ("__rmul__", rmul),
        ("__add__", add),
        ("__radd__", radd),
        ("__sub__", sub),
        ("__rsub__", rsub),
        ("__truediv__", truediv),
        ("__rtruediv__", rtruediv),
        ("__floordiv__", floordiv),
        ("__rfloordiv__", rfloordiv),
        ("quantize", quantize),
        ("__eq__", eq),
        ("__ne__", ne),
        ("__lt__", lt),
        ("__le__", le),
        ("__gt__", gt),
        ("__ge__", ge),
        ("__str__", to_str),
    ];
    // (name, method) pairs: found on a Decimal, a method binds it, as the function it replaces.
    let pairs = methods
        .into_iter()
        .map(|(name, f)| {
            let m = Value::Native(Ref::new(NativeFunction::native_method(name, f)));
            Value::tuple(vec![Value::str(name), m])
        })
        .collect();
    d.set_str("METHODS", Value::tuple(pairs));
    Ref::new(Module {
        name: "_decimal_fast".into(),
        dict: Ref::new(d),
    })
}

/// `setup(Decimal, contexts, var, Inexact, Rounded, methods)`: remember decimal.mini's objects
/// (`methods`: the mini-language method of each name in `METHODS`); True the first time, False
/// after (a second decimal module, made by a reload, keeps its mini-language methods).
fn setup(_interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [Value::Class(decimal), Value::Dict(contexts), var, inexact, rounded, Value::Dict(methods)] =
        args.pos
    else {
        return Err(crate::err!(
            TypeError,
            "_decimal_fast.setup: unexpected arguments"
        ));
    };
    let slow = |name: &str| {
        methods
            .get_str(name)
            .ok_or_else(|| crate::err!(TypeError, "_decimal_fast.setup: no method {}", name))
    };
    let state = State {
        decimal: decimal.clone(),
        contexts: contexts.clone(),
        var: HashKey::from_value(var.clone())?,
        inexact: HashKey::from_value(inexact.clone())?,
        rounded: HashKey::from_value(rounded.clone())?,
        slow_mul: slow("__mul__")?,
        slow_rmul: slow("__rmul__")?,
        slow_add: slow("__add__")?,
        slow_radd: slow("__radd__")?,
        slow_sub: slow("__sub__")?,
        slow_rsub: slow("__rsub__")?,
        slow_truediv: slow("__truediv__")?,
        slow_rtruediv: slow("__rtruediv__")?,
        slow_floordiv: slow("__floordiv__")?,
        slow_rfloordiv: slow("__rfloordiv__")?,
        slow_quantize: slow("quantize")?,
        slow_eq: slow("__eq__")?,
        slow_ne: slow("__ne__")?,
        slow_lt: slow("__lt__")?,
        slow_le: slow("__le__")?,
        slow_gt: slow("__gt__")?,
        slow_ge: slow("__ge__")?,
        slow_str: slow("__str__")?,
        // Interned, as attribute layouts keep their names: a new instance's first slot then
        // finds its layout among the root's children by pointer (with a fresh `Arc` it took the
        // root's lock and compared the text of every first attribute name of every class:
        // callgrind, decimal_pi, ~21,000 machine instructions per pair of pi computations).
        sign: crate::object::intern_name("_sign"),
        int: crate::object::intern_name("_int"),
        exp: crate::object::intern_name("_exp"),
        special: crate::object::intern_name("_special"),
        empty: Value::str(""),
        layout: AtomicU32::new(0),
        ctx_layout: AtomicU64::new(0),
        tid_at: AtomicUsize::new(0),
        vars_layout: AtomicU64::new(0),
        sd_layout: AtomicU64::new(0),
    };
    Ok(Value::Bool(STATE.set(state).is_ok()))
}

/// `new(sign, coeff, exp, special='')`: a `Decimal` with these four slots, as decimal.mini's
/// `_new` makes it (which this replaces once `setup` has run): the instance and its four slots
/// made here cost a tenth of the mini function's attribute stores.
fn new(_interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let Some(st) = STATE.get() else {
        return Err(crate::err!(SystemError, "_decimal_fast is not set up"));
    };
    let (sign, coeff, exp, special) = match args.pos {
        [s, c, e] if args.kw.is_empty() => (s, c, e, st.empty.clone()),
        [s, c, e, sp] if args.kw.is_empty() => (s, c, e, sp.clone()),
        _ => {
            return Err(crate::err!(
                TypeError,
                "_decimal_fast.new: expected (sign, coeff, exp[, special])"
            ))
        }
    };
    // The table filled before the instance is made (a cell that publishes its layout has no
    // `get_mut`), as `Instance::new` would make it.
    let mut d = crate::object::InstDict::default();
    for (name, v) in [&st.sign, &st.int, &st.exp, &st.special].into_iter().zip([
        sign.clone(),
        coeff.clone(),
        exp.clone(),
        special,
    ]) {
        d.insert_slot(name.clone(), v);
    }
    Ok(Value::Instance(Ref::new(Instance::with_dict(
        st.decimal.clone(),
        d,
    ))))
}

/// decimal.mini's `Decimal.__new__`, for every construction `decimal_new` does not make.
static SLOW_NEW: Global<Value> = Global::new();

/// `setup_new(Decimal.__new__)`: remember the mini-language `__new__`; True the first time
/// (`decimal_new` may then stand for it), False after.
fn setup_new(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [slow] = args.pos else {
        return Err(crate::err!(
            TypeError,
            "_decimal_fast.setup_new: unexpected arguments"
        ));
    };
    Ok(Value::Bool(
        STATE.get().is_some() && SLOW_NEW.set(slow.clone()).is_ok(),
    ))
}

/// `Decimal.__new__(cls, value='0', context=None)`: `Decimal(n)` for an int `n` (exactly
/// `Decimal`, no context) made here, as the mini `__new__`'s own first test makes it (sign,
/// magnitude, exponent 0) without its frame; every other call goes to the mini `__new__`.
fn decimal_new(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (Some(st), Some(slow)) = (STATE.get(), SLOW_NEW.get()) else {
        return Err(crate::err!(SystemError, "_decimal_fast is not set up"));
    };
    if let ([Value::Class(cls), Value::Int(n)], []) = (args.pos, args.kw) {
        if Ref::ptr_eq(cls, &st.decimal) {
            let coeff = match n.checked_abs() {
                Some(m) => Value::Int(m),
                None => Value::from(crate::num::BigInt::from(n.unsigned_abs())),
            };
            let mut d = crate::object::InstDict::default();
            for (name, v) in [&st.sign, &st.int, &st.exp, &st.special].into_iter().zip([
                Value::Int(i64::from(*n < 0)),
                coeff,
                Value::Int(0),
                st.empty.clone(),
            ]) {
                d.insert_slot(name.clone(), v);
            }
            return Ok(Value::Instance(Ref::new(Instance::with_dict(
                st.decimal.clone(),
                d,
            ))));
        }
    }
    interp.call_kw(slow, args.pos, args.kw)
}

/// A finite operand: (-1)**sign * coeff * 10**exp.
#[derive(Clone, Copy)]
struct Finite {
    sign: bool,
    coeff: u128,
    exp: i64,
}

/// The largest coefficient an operand may have here (36 digits): operands align, add and
/// multiply in 128 bits with checked arithmetic, and a context's precision up to 36 digits
/// (`decimal`'s default is 28) is covered.
const COEFF_LIMIT: u128 = 10u128.pow(36);

/// Powers of ten that fit 128 bits: `POW10[k]` is 10**k.
const POW10: [u128; 39] = {
    let mut t = [1u128; 39];
    let mut k = 1;
    while k < 39 {
        t[k] = t[k - 1] * 10;
        k += 1;
    }
    t
};

/// 10**k when it fits 128 bits.
fn pow10(k: u32) -> Option<u128> {
    POW10.get(k as usize).copied()
}

/// A coefficient slot's value (an int, small or big) below [`COEFF_LIMIT`].
fn coefficient(v: &Value) -> Option<u128> {
    use num_traits::ToPrimitive;
    match v {
        Value::Int(n) => u128::try_from(*n).ok(),
        Value::BigInt(b) => b.to_u128().filter(|c| *c < COEFF_LIMIT),
        _ => None,
    }
}

/// Decimal digits of `n` (1 for 0).
fn digits(n: u128) -> u32 {
    n.checked_ilog10().map_or(1, |d| d + 1)
}

/// `v` as a finite operand: a `Decimal` (exactly) whose slots hold small ints, or (when
/// `ints` is set) an int. `None` for anything else.
fn finite(st: &State, v: &Value, ints: bool) -> Option<Finite> {
    match v {
        Value::Instance(inst) if Ref::ptr_eq(&inst.class.get(), &st.decimal) => {
            let d = inst.dict.read();
            let (sign, coeff, exp, special) = if d.layout_id() == st.layout.load(Relaxed) {
                // The attribute layout of Decimals made by `_new` (and here): slots by position.
                match d.values_slice() {
                    [s, c, e, sp] => (s, c, e, sp),
                    _ => return None,
                }
            } else {
                learn_layout(st, &d);
                (
                    d.get("_sign")?,
                    d.get("_int")?,
                    d.get("_exp")?,
                    d.get("_special")?,
                )
            };
            match special {
                Value::Str(s) if s.as_str().is_empty() => {}
                _ => return None,
            }
            let (Value::Int(sign), Value::Int(exp)) = (sign, exp) else {
                return None;
            };
            if !(*sign == 0 || *sign == 1) {
                return None;
            }
            Some(Finite {
                sign: *sign == 1,
                coeff: coefficient(coeff)?,
                exp: *exp,
            })
        }
        Value::Int(n) if ints => Some(Finite {
            sign: *n < 0,
            coeff: u128::from(n.unsigned_abs()),
            exp: 0,
        }),
        _ => None,
    }
}

/// Remember `d`'s layout if it holds exactly `_sign`, `_int`, `_exp`, `_special` in that order
/// (the order `_new` sets them), so later reads go by position.
fn learn_layout(st: &State, d: &InstDict) {
    let names = [&st.sign, &st.int, &st.exp, &st.special];
    if d.has_layout() && d.len() == names.len() && d.keys().zip(names).all(|(k, n)| **k == **n) {
        st.layout.store(d.layout_id(), Relaxed);
    }
}

/// The eight rounding modes.
#[derive(Clone, Copy, PartialEq)]
enum Rounding {
    Ceiling,
    Floor,
    Up,
    Down,
    HalfUp,
    HalfDown,
    HalfEven,
    ZeroFiveUp,
}

fn rounding_of(v: &Value) -> Option<Rounding> {
    let Value::Str(s) = v else { return None };
    Some(match s.as_str() {
        "ROUND_CEILING" => Rounding::Ceiling,
        "ROUND_FLOOR" => Rounding::Floor,
        "ROUND_UP" => Rounding::Up,
        "ROUND_DOWN" => Rounding::Down,
        "ROUND_HALF_UP" => Rounding::HalfUp,
        "ROUND_HALF_DOWN" => Rounding::HalfDown,
        "ROUND_HALF_EVEN" => Rounding::HalfEven,
        "ROUND_05UP" => Rounding::ZeroFiveUp,
        _ => return None,
    })
}

/// The fields of a decimal `Context` the fast paths read.
struct Ctx {
    prec: i64,
    emin: i64,
    emax: i64,
    rounding: Rounding,
    /// `_fix` returns a coefficient below 10**prec with an exponent in [fast_lo, fast_hi] as it is.
    fast_lo: i64,
    fast_hi: i64,
    /// The Context itself and where its table keeps the SignalDicts (flags, traps) and its
    /// layout number: read only when a result is rounded ([`raise_rounded`]), so an exact
    /// result costs no count changes for them (two clones and drops were ~60 of the ~400
    /// machine instructions of a context look-up, callgrind).
    table: Ref<Instance>,
    signals_at: (usize, usize),
    layout: u32,
}

impl Ctx {
    /// Whether `_fix` would take (sign, coeff, exp) as it is, with no rounding or signal.
    fn fits(&self, coeff: u128, exp: i64) -> bool {
        (self.prec > 38 || coeff < POW10[self.prec as usize])
            && self.fast_lo <= exp
            && exp <= self.fast_hi
    }
}

/// The Context slots read here, in the order of their positions packed in `State::ctx_layout`.
const CTX_FIELDS: [&str; 8] = [
    "_prec",
    "_Emin",
    "_Emax",
    "_fast_lo",
    "_fast_hi",
    "_rounding",
    "_flags",
    "_traps",
];

/// The positions of [`CTX_FIELDS`] in a Context's table: from the cache when its layout is the
/// one cached (the layout number in the low 32 bits, then four bits a position, one atomic so
/// that threads never see a number with another layout's positions), else found by name and
/// cached when every position fits in four bits.
fn ctx_positions(st: &State, d: &InstDict) -> Option<[usize; 8]> {
    let packed = st.ctx_layout.load(Relaxed);
    let unpack = |packed: u64| std::array::from_fn(|i| ((packed >> (32 + 4 * i)) & 15) as usize);
    if packed != 0 && packed as u32 == d.layout_id() {
        return Some(unpack(packed));
    }
    let mut packed = u64::from(d.layout_id());
    for (i, name) in CTX_FIELDS.iter().enumerate() {
        let p = d.get_index_of(*name)?;
        if p > 15 {
            return None;
        }
        packed |= (p as u64) << (32 + 4 * i);
    }
    if d.has_layout() {
        st.ctx_layout.store(packed, Relaxed);
    }
    Some(unpack(packed))
}

/// The thread's contextvars Context: its entry in `contexts` (the table, locked by the caller)
/// looked for first where the last one was found (one thread, or threads taking turns, find
/// theirs there without hashing).
fn thread_context<'m>(st: &State, map: &'m crate::object::KeyMap, tid: i64) -> Option<&'m Value> {
    let at = st.tid_at.load(Relaxed);
    if let Some((k, v)) = map.get_index(at) {
        if matches!(k.value, Value::Int(t) if t == tid) {
            return Some(v);
        }
    }
    let key = HashKey::from_value(Value::Int(tid)).ok()?;
    let (i, _, v) = map.get_full(&key)?;
    st.tid_at.store(i, Relaxed);
    Some(v)
}

/// A contextvars Context's `_vars`, found at the position cached for its table's layout.
fn context_vars<'d>(st: &State, d: &'d InstDict) -> Option<&'d Value> {
    let packed = st.vars_layout.load(Relaxed);
    if packed != 0 && packed as u32 == d.layout_id() {
        return d.values_slice().get((packed >> 32) as usize);
    }
    let i = d.get_index_of("_vars")?;
    if d.has_layout() {
        st.vars_layout
            .store(u64::from(d.layout_id()) | ((i as u64) << 32), Relaxed);
    }
    d.values_slice().get(i)
}

/// The context argument `v` (None: the current one, read from contextvars' table as decimal's
/// `getcontext` does; a thread that has none yet is left to the mini code, which makes it).
fn context(interp: &Interp, st: &State, v: Option<&Value>) -> Option<Ctx> {
    let inst = match v {
        None | Some(Value::None) => {
            // Walked with each table borrowed in turn and nothing counted but the answer (no
            // Python code runs meanwhile; a clone and a drop per level were ~40 machine
            // instructions each, callgrind).
            let contexts = st.contexts.read();
            let Value::Instance(cv_ctx) = thread_context(st, &contexts, interp.thread_id as i64)?
            else {
                return None;
            };
            let cv_table = cv_ctx.dict.read();
            let Value::Dict(vars) = context_vars(st, &cv_table)? else {
                return None;
            };
            // A context holds a few variables: compare by identity rather than hash and compare
            // instances as dict keys do.
            let map = vars.read();
            let found = if map.len() <= 8 {
                map.iter()
                    .find(|(k, _)| k.value.is(&st.var.value))
                    .map(|(_, v)| v)
            } else {
                map.get(&st.var)
            };
            match found? {
                Value::Instance(i) => i.clone(),
                _ => return None,
            }
        }
        Some(Value::Instance(i)) => i.clone(),
        Some(_) => return None,
    };
    let d = inst.dict.read();
    let pos = ctx_positions(st, &d)?;
    let values = d.values_slice();
    let int = |i: usize| match values.get(pos[i])? {
        Value::Int(n) => Some(*n),
        _ => None,
    };
    let prec = int(0)?;
    let (emin, emax, fast_lo, fast_hi) = (int(1)?, int(2)?, int(3)?, int(4)?);
    let rounding = rounding_of(values.get(pos[5])?)?;
    if prec < 1 || values.len() <= pos[6].max(pos[7]) {
        return None;
    }
    let layout = d.layout_id();
    drop(d);
    Some(Ctx {
        prec,
        emin,
        emax,
        rounding,
        fast_lo,
        fast_hi,
        table: inst,
        signals_at: (pos[6], pos[7]),
        layout,
    })
}

/// `f` applied to the `_d` dict of the SignalDict `sd` (a context's flags or traps), found at
/// the position cached for its table's layout (else by name); nothing counted.
fn with_signal_dict<R>(st: &State, sd: &Value, f: impl FnOnce(&Dict) -> R) -> Option<R> {
    let Value::Instance(sd) = sd else {
        return None;
    };
    let t = sd.dict.read();
    let packed = st.sd_layout.load(Relaxed);
    let d = if packed != 0 && packed as u32 == t.layout_id() {
        t.values_slice().get((packed >> 32) as usize)
    } else {
        let i = t.get_index_of("_d")?;
        if t.has_layout() {
            st.sd_layout
                .store(u64::from(t.layout_id()) | ((i as u64) << 32), Relaxed);
        }
        t.values_slice().get(i)
    };
    match d? {
        Value::Dict(d) => Some(f(d)),
        _ => None,
    }
}

/// Where a SignalDict's `_d` keeps Inexact and Rounded: it is made in the order of decimal.mini's
/// `_SIGNALS` and never loses a key, so these are right unless a program swapped the dict; the
/// key found there is checked by identity at each use.
const INEXACT_AT: usize = 6;
const ROUNDED_AT: usize = 7;

/// The value of signal `key` in the (borrowed) table of a `_d` dict, found at position `at`
/// or by hashing; `None` if the key is absent.
fn signal_at<'m>(map: &'m crate::object::KeyMap, key: &HashKey, at: usize) -> Option<&'m Value> {
    match map.get_index(at) {
        Some((k, v)) if k.value.is(&key.value) => Some(v),
        _ => map.get(key),
    }
}

/// `f` applied to the value of signal `key` in the `_d` dict `d`, found at position `at` or by
/// hashing; `None` if the key is absent.
fn with_signal<R>(
    d: &Dict,
    key: &HashKey,
    at: usize,
    f: impl FnOnce(&mut Value) -> R,
) -> Option<R> {
    let mut map = d.write();
    let i = match map.get_index(at) {
        Some((k, _)) if k.value.is(&key.value) => at,
        _ => map.get_index_of(key)?,
    };
    map.get_index_mut(i).map(|(_, v)| f(v))
}

/// A new finite Decimal. Its slots are set in the order decimal.mini's `_new` sets them, so it
/// shares their attribute layout; when `like` (an operand) has that layout its names are taken
/// as they are, which skips finding the layout name by name.
#[allow(clippy::vec_init_then_push)] // `vec![]` stages the values on the stack
fn new_decimal(st: &State, like: &Value, sign: bool, coeff: u128, exp: i64) -> Value {
    let coeff = match i64::try_from(coeff) {
        Ok(c) => Value::Int(c),
        Err(_) => Value::from(crate::num::BigInt::from(coeff)),
    };
    // Pushed into the table's own block: built on the stack (`vec![...]`), each value was
    // written as two 8-byte words and read back as one 16-byte load to be copied, which the
    // processor cannot forward from the pending stores (perf: a third of the time spent here
    // sat on those loads, decimal_pi).
    let mut values = Vec::with_capacity(4);
    values.push(Value::Int(i64::from(sign)));
    values.push(coeff);
    values.push(Value::Int(exp));
    values.push(st.empty.clone());
    if let Value::Instance(like) = like {
        let d = like.dict.read();
        if d.layout_id() == st.layout.load(Relaxed) {
            match InstDict::with_names_of(&d, values) {
                Ok(table) => {
                    drop(d);
                    // Made in its block with its table (no empty table made and dropped).
                    let class = st.decimal.clone();
                    return Value::Instance(Ref::new_with(|| Instance::with_dict(class, table)));
                }
                Err(back) => values = back,
            }
        }
    }
    // The table filled before the instance is made (a cell that publishes its layout has no
    // `get_mut`), as `Instance::new` would make it.
    let mut d = crate::object::InstDict::default();
    for (name, v) in [&st.sign, &st.int, &st.exp, &st.special]
        .into_iter()
        .zip(values)
    {
        d.insert_slot(name.clone(), v);
    }
    Value::Instance(Ref::new(Instance::with_dict(st.decimal.clone(), d)))
}

/// Positional `args.pos[i]`, or keyword `name` (the caller has checked that no keyword repeats
/// a positional argument).
fn arg<'a>(args: &'a Args<'_>, i: usize, name: &str) -> Option<&'a Value> {
    args.pos
        .get(i)
        .or_else(|| args.kw.iter().find(|(k, _)| &**k == name).map(|(_, v)| v))
}

/// The fast path `fast`, else the mini-language method `slow` with the same arguments.
fn fast_or(
    interp: &mut Interp,
    args: Args<'_>,
    fast: impl FnOnce(&Interp, &'static State, &Args<'_>) -> Option<Value>,
    slow: fn(&'static State) -> &'static Value,
) -> PyResult<Value> {
    let Some(st) = STATE.get() else {
        return Err(crate::err!(SystemError, "_decimal_fast is not set up"));
    };
    if let Some(r) = fast(&*interp, st, &args) {
        return Ok(r);
    }
    interp.call_kw(slow(st), args.pos, args.kw)
}

/// The Decimal methods answered here: each tries its fast path (`try_*`, `None` when the
/// operands or the context are outside what the Rust code handles) and otherwise calls the
/// mini code's method saved at set-up (`State::slow_*`).
macro_rules! fast_methods {
    ($($name:ident => $slow:ident, $fast:expr;)*) => {
        $(fn $name(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
            fast_or(interp, args, $fast, |st| &st.$slow)
        })*
    };
}

fast_methods! {
    mul => slow_mul, |i, st, a| try_mul(i, st, a, false);
    rmul => slow_rmul, |i, st, a| try_mul(i, st, a, true);
    add => slow_add, |i, st, a| try_add(i, st, a, false, false);
    radd => slow_radd, |i, st, a| try_add(i, st, a, true, false);
    sub => slow_sub, |i, st, a| try_add(i, st, a, false, true);
    rsub => slow_rsub, |i, st, a| try_add(i, st, a, true, true);
    truediv => slow_truediv, |i, st, a| try_div(i, st, a, false);
    rtruediv => slow_rtruediv, |i, st, a| try_div(i, st, a, true);
    floordiv => slow_floordiv, |i, st, a| try_floordiv(i, st, a, false);
    rfloordiv => slow_rfloordiv, |i, st, a| try_floordiv(i, st, a, true);
    eq => slow_eq, |_, st, a| try_compare(st, a, |r| r == 0);
    ne => slow_ne, |_, st, a| try_compare(st, a, |r| r != 0);
    lt => slow_lt, |_, st, a| try_compare(st, a, |r| r < 0);
    le => slow_le, |_, st, a| try_compare(st, a, |r| r <= 0);
    gt => slow_gt, |_, st, a| try_compare(st, a, |r| r > 0);
    ge => slow_ge, |_, st, a| try_compare(st, a, |r| r >= 0);
    quantize => slow_quantize, try_quantize;
    to_str => slow_str, |_, st, a| try_str(st, a);
}

/// `str(d)` of a finite Decimal whose string needs no exponent (an exponent <= 0 and fewer
/// than six zeros after the point before the first digit), as decimal.mini's `__str__` writes
/// it: the digits with the point placed, `0.` and zeros in front when it falls before them.
/// Anything else (`eng`, a context argument, an exponent to write, which reads the context's
/// `capitals`) is the mini code's.
fn try_str(st: &State, args: &Args<'_>) -> Option<Value> {
    let [this] = args.pos else { return None };
    if !args.kw.is_empty() {
        return None;
    }
    let f = finite(st, this, false)?;
    let digits = f.coeff.to_string();
    let n = i64::try_from(digits.len()).ok()?;
    let left = f.exp.checked_add(n)?;
    if f.exp > 0 || left <= -6 {
        return None;
    }
    let mut out = String::with_capacity(digits.len() + 10);
    if f.sign {
        out.push('-');
    }
    if left <= 0 {
        out.push_str("0.");
        for _ in 0..-left {
            out.push('0');
        }
        out.push_str(&digits);
    } else if left >= n {
        out.push_str(&digits);
    } else {
        let (int, frac) = digits.split_at(usize::try_from(left).ok()?);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    }
    Some(Value::string(out))
}

/// The operands of a binary method, left to right: `self` (a Decimal) and the other (a Decimal
/// or an int), swapped for a reflected method (`__radd__(self, other)` is `other + self`), and
/// the context argument (the reflected methods take none).
fn operands<'a>(
    st: &State,
    args: &'a Args<'_>,
    reflected: bool,
) -> Option<(Finite, Finite, Option<&'a Value>)> {
    let most = if reflected { 2 } else { 3 };
    if !args.kw.is_empty() || !(2..=most).contains(&args.pos.len()) {
        return None;
    }
    let this = finite(st, &args.pos[0], false)?;
    let other = finite(st, &args.pos[1], true)?;
    Some(if reflected {
        (other, this, None)
    } else {
        (this, other, args.pos.get(2))
    })
}

/// `a // b`: the quotient truncated toward zero, with exponent 0 and the sign of the product,
/// as decimal.mini's `_divmod` gives it (no rounding, no flag). A zero divisor and a quotient
/// longer than the precision (DivisionImpossible) are left to the mini code, as are operands
/// that do not align within 128 bits.
fn try_floordiv(interp: &Interp, st: &State, args: &Args<'_>, reflected: bool) -> Option<Value> {
    let (a, b, ctx) = operands(st, args, reflected)?;
    if b.coeff == 0 {
        return None;
    }
    let ctx = context(interp, st, ctx)?;
    let sign = a.sign ^ b.sign;
    let adjusted = |f: &Finite| f.exp + i64::from(digits(f.coeff)) - 1;
    let q = if a.coeff == 0 || adjusted(&a) - adjusted(&b) <= -2 {
        // |a| < |b|: the quotient is 0.
        0
    } else {
        let e = a.exp.min(b.exp);
        let scale = |f: &Finite| {
            let k = u32::try_from(f.exp - e).ok()?;
            f.coeff.checked_mul(pow10(k)?)
        };
        let q = scale(&a)? / scale(&b)?;
        if i64::from(digits(q)) > ctx.prec {
            return None;
        }
        q
    };
    Some(new_decimal(st, &args.pos[0], sign, q, 0))
}

fn try_mul(interp: &Interp, st: &State, args: &Args<'_>, reflected: bool) -> Option<Value> {
    let (a, b, ctx) = operands(st, args, reflected)?;
    let ctx = context(interp, st, ctx)?;
    let coeff = a.coeff.checked_mul(b.coeff)?;
    let exp = a.exp.checked_add(b.exp)?;
    let sign = a.sign ^ b.sign;
    let (coeff, exp) = fix(st, &ctx, sign, coeff, exp)?;
    Some(new_decimal(st, &args.pos[0], sign, coeff, exp))
}

/// `_fix` of a finite result: (coeff, exp) rounded to the precision by the context's rounding
/// mode, with Rounded (and Inexact when non-zero digits were dropped) raised in its flags.
/// `None`, with no flag touched, when the mini code must decide: a signal is trapped, or the
/// result is a zero to clamp, overflows, is subnormal or needs clamping.
fn fix(st: &State, ctx: &Ctx, sign: bool, coeff: u128, exp: i64) -> Option<(u128, i64)> {
    if ctx.fits(coeff, exp) {
        return Some((coeff, exp));
    }
    let prec = u32::try_from(ctx.prec).ok()?;
    let nd = digits(coeff);
    if coeff == 0 || nd <= prec {
        return None;
    }
    let drop = nd - prec;
    let p = pow10(drop)?;
    let (q, r) = (coeff / p, coeff % p);
    let mut q = if r == 0 {
        q
    } else {
        round_quotient(q, r, p, ctx.rounding, sign)
    };
    let mut exp = exp.checked_add(i64::from(drop))?;
    if Some(q) == pow10(prec) {
        // 999.. rounded up to 1000..: one digit too many.
        q /= 10;
        exp = exp.checked_add(1)?;
    }
    if !ctx.fits(q, exp) {
        return None;
    }
    raise_rounded(st, ctx, r != 0)?;
    Some((q, exp))
}

/// `a + b` (`a - b` when `negate`): exact at the smaller exponent, as decimal.mini's `_add`
/// computes it when the sum fits the precision (its shortcut for far-apart exponents applies
/// only to sums that need rounding, which are left to it).
fn try_add(
    interp: &Interp,
    st: &State,
    args: &Args<'_>,
    reflected: bool,
    negate: bool,
) -> Option<Value> {
    let (a, b, ctx) = operands(st, args, reflected)?;
    let ctx = context(interp, st, ctx)?;
    let bsign = b.sign ^ negate;
    if a.coeff == 0 || b.coeff == 0 {
        return add_zero(st, &ctx, &args.pos[0], a, b, bsign);
    }
    let (mut ca, mut cb) = (a.coeff, b.coeff);
    // Align at the smaller exponent; an operand far below the other's last digit is first
    // replaced by a sticky digit, as the mini code does (it only decides the rounding).
    let exp = match a.exp.cmp(&b.exp) {
        std::cmp::Ordering::Greater => align(&mut ca, a.exp, &mut cb, b.exp, ctx.prec)?,
        std::cmp::Ordering::Less => align(&mut cb, b.exp, &mut ca, a.exp, ctx.prec)?,
        std::cmp::Ordering::Equal => a.exp,
    };
    let (mut ca, mut cb) = (i128::try_from(ca).ok()?, i128::try_from(cb).ok()?);
    if a.sign {
        ca = -ca;
    }
    if bsign {
        cb = -cb;
    }
    let s = ca.checked_add(cb)?;
    let (sign, coeff) = match s.cmp(&0) {
        std::cmp::Ordering::Less => (true, s.unsigned_abs()),
        // An exact zero is negative only when rounding toward -infinity.
        std::cmp::Ordering::Equal => (ctx.rounding == Rounding::Floor, 0),
        std::cmp::Ordering::Greater => (false, s.unsigned_abs()),
    };
    let (coeff, exp) = fix(st, &ctx, sign, coeff, exp)?;
    Some(new_decimal(st, &args.pos[0], sign, coeff, exp))
}

/// Align the operand with the larger exponent (`big`, at `big_exp`) to the other (`small`, at
/// `small_exp`) by appending zeros; first, a `small` that lies entirely below the digits the
/// rounded sum can keep becomes a sticky 1 just below them (decimal.mini's `_add`). Returns the
/// common exponent; `None` when the aligned coefficient would not fit 128 bits. (When the
/// exact alignment fits, it is used as it is: the sticky digit rounds the same way.)
fn align(big: &mut u128, big_exp: i64, small: &mut u128, small_exp: i64, prec: i64) -> Option<i64> {
    if let Some(c) = u32::try_from(big_exp.abs_diff(small_exp))
        .ok()
        .and_then(pow10)
        .and_then(|p| big.checked_mul(p))
        .filter(|c| *c <= i128::MAX as u128)
    {
        *big = c;
        return Some(small_exp);
    }
    let big_adj = big_exp.checked_add(i64::from(digits(*big)) - 1)?;
    let low = big_adj.checked_sub(prec)?.checked_sub(2)?;
    let floor = big_exp.min(low).checked_sub(1)?;
    let mut exp = small_exp;
    if small_exp.checked_add(i64::from(digits(*small)) - 1)? < floor {
        *small = 1;
        exp = floor;
    }
    let shift = u32::try_from(big_exp.checked_sub(exp)?).ok()?;
    *big = big.checked_mul(pow10(shift)?)?;
    Some(exp)
}

/// `a + b` (b's sign taken as `bsign`) when either is zero, by decimal.mini's rules: 0 + 0 has
/// the smaller exponent (and a negative sign when both are, or when rounding toward -infinity
/// with the signs apart); x + 0 is x, padded with zeros down to the zero's exponent when that is
/// smaller, as far as the precision allows (padding cut short raises Rounded: left to the mini
/// code).
fn add_zero(
    st: &State,
    ctx: &Ctx,
    like: &Value,
    a: Finite,
    b: Finite,
    bsign: bool,
) -> Option<Value> {
    if a.coeff == 0 && b.coeff == 0 {
        let sign = if a.sign == bsign {
            bsign
        } else {
            ctx.rounding == Rounding::Floor
        };
        let exp = a.exp.min(b.exp);
        return ctx
            .fits(0, exp)
            .then(|| new_decimal(st, like, sign, 0, exp));
    }
    let (sign, c, mut e, ez) = if a.coeff == 0 {
        (bsign, b.coeff, b.exp, a.exp)
    } else {
        (a.sign, a.coeff, a.exp, b.exp)
    };
    let mut c = c;
    if ez < e {
        let shift = e.abs_diff(ez);
        if shift > 36 || shift as i64 > ctx.prec - i64::from(digits(c)) {
            return None;
        }
        c = c.checked_mul(pow10(shift as u32)?)?;
        e = ez;
    }
    let (c, e) = fix(st, ctx, sign, c, e)?;
    Some(new_decimal(st, like, sign, c, e))
}

/// `a / b`, as decimal.mini's `_div` computes it: the quotient to `prec + 1` digits or more,
/// with a sticky last digit when the division is inexact, then rounded to the precision (`_fix`);
/// an exact quotient loses its trailing zeros down to the ideal exponent. Answered here when both
/// operands are non-zero, the work fits 128 bits, the result needs no clamping, and a rounding
/// signal it raises (Inexact, Rounded) is not trapped; all else is the mini code's.
fn try_div(interp: &Interp, st: &State, args: &Args<'_>, reflected: bool) -> Option<Value> {
    let (a, b, ctx) = operands(st, args, reflected)?;
    let ctx = context(interp, st, ctx)?;
    if a.coeff == 0 || b.coeff == 0 || ctx.prec > 36 {
        return None;
    }
    let (ca, cb) = (a.coeff, b.coeff);
    let prec = ctx.prec as u32;
    let ideal = a.exp.checked_sub(b.exp)?;
    let shift = i64::from(digits(cb)) - i64::from(digits(ca)) + i64::from(prec) + 1;
    let (q, r) = if shift >= 0 {
        let n = ca.checked_mul(pow10(shift as u32)?)?;
        (n / cb, n % cb)
    } else {
        let d = cb.checked_mul(pow10(u32::try_from(shift.unsigned_abs()).ok()?)?)?;
        (ca / d, ca % d)
    };
    let sign = a.sign ^ b.sign;
    let mut exp = ideal.checked_sub(shift)?;
    let (coeff, inexact) = if r != 0 {
        // The sticky digit: q*10 + 1 at exp - 1 has more than `prec` digits, so it is rounded.
        let c = q.checked_mul(10)? + 1;
        exp -= 1;
        let drop = digits(c).checked_sub(prec).filter(|&d| d > 0)?;
        let p = pow10(drop)?;
        let mut q = round_quotient(c / p, c % p, p, ctx.rounding, sign);
        exp += i64::from(drop);
        if Some(q) == pow10(prec) {
            q /= 10;
            exp += 1;
        }
        (q, true)
    } else {
        let mut q = q;
        while exp < ideal && q.is_multiple_of(10) {
            q /= 10;
            exp += 1;
        }
        (q, false)
    };
    if !ctx.fits(coeff, exp) {
        return None;
    }
    if inexact {
        raise_rounded(st, &ctx, true)?;
    }
    Some(new_decimal(st, &args.pos[0], sign, coeff, exp))
}

/// Raise Rounded (and Inexact when `inexact`) in the context's flags, as `ctx._inexact()` /
/// `ctx._raise(Rounded)` do when neither is trapped; `None` (nothing set) when one is trapped,
/// so the caller leaves the operation to the mini code, which raises it.
fn raise_rounded(st: &State, ctx: &Ctx, inexact: bool) -> Option<()> {
    // Everything is read in place, each table borrowed in turn and nothing counted (the clones
    // and drops of the two SignalDicts and their `_d` dicts, and finding `_d` by name, were
    // about a third of this function, callgrind on decimal_pi). The values the flags replace
    // are dropped once every table is let go.
    let (old_inexact, old_rounded) = {
        // Read where `context` found them, unless the table changed shape since (free-threaded,
        // another thread may add an attribute): then the mini code answers.
        let d = ctx.table.dict.read();
        if d.layout_id() != ctx.layout || !d.has_layout() {
            return None;
        }
        let values = d.values_slice();
        let (flags, traps) = (values.get(ctx.signals_at.0)?, values.get(ctx.signals_at.1)?);
        // Traps are only read: a read takes no write lock and moves no version stamp.
        let trapped = with_signal_dict(st, traps, |traps| {
            let map = traps.read();
            let on = |k: &HashKey, at: usize| {
                signal_at(&map, k, at).is_none_or(|v| !matches!(v, Value::Bool(false)))
            };
            on(&st.rounded, ROUNDED_AT) || (inexact && on(&st.inexact, INEXACT_AT))
        })?;
        if trapped {
            return None;
        }
        with_signal_dict(st, flags, |flags| {
            // Every rounded result after the first finds its flags raised already: setting
            // True over True changes nothing a program can see, so the table is only read
            // (telco: 473 -> ~250 machine instructions a call, callgrind).
            {
                let map = flags.read();
                let raised = |k: &HashKey, at: usize| {
                    matches!(signal_at(&map, k, at), Some(Value::Bool(true)))
                };
                if raised(&st.rounded, ROUNDED_AT) && (!inexact || raised(&st.inexact, INEXACT_AT))
                {
                    return (None, None);
                }
            }
            let raise = |k: &HashKey, at: usize| {
                let old = with_signal(flags, k, at, |v| std::mem::replace(v, Value::Bool(true)));
                if old.is_none() {
                    flags.set(k.clone(), Value::Bool(true));
                }
                old
            };
            let old_inexact = if inexact {
                raise(&st.inexact, INEXACT_AT)
            } else {
                None
            };
            (old_inexact, raise(&st.rounded, ROUNDED_AT))
        })?
    };
    drop((old_inexact, old_rounded));
    Some(())
}

/// -1, 0 or 1 comparing two finite values, as decimal.mini's `Decimal._cmp`.
fn compare_finite(a: Finite, b: Finite) -> i32 {
    if a.coeff == 0 && b.coeff == 0 {
        return 0;
    }
    if a.coeff == 0 {
        return if b.sign { 1 } else { -1 };
    }
    if b.coeff == 0 || a.sign != b.sign {
        return if a.sign { -1 } else { 1 };
    }
    // Same sign, both non-zero: the larger adjusted exponent has the larger magnitude; equal
    // ones leave both coefficients (below 10**36) fewer than 36 digits apart, so the one
    // aligned to the other has as many digits as it: exact in 128 bits.
    let adjusted = |f: Finite| i128::from(f.exp) + i128::from(digits(f.coeff));
    let (xa, xb) = (adjusted(a), adjusted(b));
    let magnitude = if xa != xb {
        if xa > xb {
            1
        } else {
            -1
        }
    } else {
        let shift = a.exp.abs_diff(b.exp).min(36) as u32;
        let (mut ca, mut cb) = (a.coeff, b.coeff);
        if a.exp > b.exp {
            ca = ca.saturating_mul(POW10[shift as usize]);
        } else {
            cb = cb.saturating_mul(POW10[shift as usize]);
        }
        ca.cmp(&cb) as i32
    };
    if a.sign {
        -magnitude
    } else {
        magnitude
    }
}

/// A comparison of `self` with a finite Decimal or an int; `None` (the mini code) for anything
/// else: floats and Fractions, NaNs and infinities, or arguments it rejects.
fn try_compare(st: &State, args: &Args<'_>, test: fn(i32) -> bool) -> Option<Value> {
    let (a, b, ctx) = operands(st, args, false)?;
    if ctx.is_some() {
        return None;
    }
    Some(Value::Bool(test(compare_finite(a, b))))
}

/// `q` (the quotient of a coefficient by `p` = 10**drop, remainder `r` > 0) rounded by `mode`
/// (`r` is compared with `p - r`, which is `2r` against `p` without overflow).
fn round_quotient(q: u128, r: u128, p: u128, mode: Rounding, negative: bool) -> u128 {
    let half = p - r;
    let up = match mode {
        Rounding::HalfEven => r > half || (r == half && q & 1 == 1),
        Rounding::HalfUp => r >= half,
        Rounding::HalfDown => r > half,
        Rounding::Down => false,
        Rounding::Up => true,
        Rounding::Ceiling => !negative,
        Rounding::Floor => negative,
        // Away from zero only when the kept last digit is 0 or 5.
        Rounding::ZeroFiveUp => q.is_multiple_of(5),
    };
    if up {
        q + 1
    } else {
        q
    }
}

fn try_quantize(interp: &Interp, st: &State, args: &Args<'_>) -> Option<Value> {
    // Unknown keywords, or a keyword repeating a positional argument: the mini code's TypeError.
    let n = args.pos.len();
    if n > 4
        || args.kw.iter().any(|(k, _)| match &**k {
            "exp" => n > 1,
            "rounding" => n > 2,
            "context" => n > 3,
            _ => true,
        })
    {
        return None;
    }
    let a = finite(st, args.pos.first()?, false)?;
    let target = finite(st, arg(args, 1, "exp")?, true)?.exp;
    let ctx = context(interp, st, arg(args, 3, "context"))?;
    let rounding = match arg(args, 2, "rounding") {
        None | Some(Value::None) => ctx.rounding,
        Some(v) => rounding_of(v)?,
    };
    if target > ctx.emax || target < ctx.emin.checked_sub(ctx.prec - 1)? {
        return None;
    }
    // (coefficient, whether non-zero digits were dropped, whether any digit was dropped)
    let (coeff, inexact, rounded) = if target <= a.exp {
        let shift = u32::try_from(a.exp - target).ok()?;
        let c = a.coeff.checked_mul(pow10(shift)?)?;
        (c, false, false)
    } else {
        let drop = u32::try_from(a.exp.abs_diff(target)).ok()?;
        let p = pow10(drop)?;
        let c = a.coeff;
        let (q, r) = (c / p, c % p);
        let q = if r == 0 {
            q
        } else {
            round_quotient(q, r, p, rounding, a.sign)
        };
        // As the mini code: a zero coefficient raises nothing.
        (q, a.coeff != 0 && r != 0, a.coeff != 0)
    };
    if (ctx.prec <= 38 && coeff >= POW10[ctx.prec as usize]) || (target > ctx.fast_hi && coeff != 0)
    {
        return None;
    }
    if rounded {
        raise_rounded(st, &ctx, inexact)?;
    }
    Some(new_decimal(st, &args.pos[0], a.sign, coeff, target))
}
