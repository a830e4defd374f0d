//! Stage 4 (VM), standard library.
//! The `math` module, with CPython's domain/range errors (`math domain error`, `math range error`).

use std::borrow::Cow;

use num_traits::ToPrimitive;

use minivm_compiler::bytecode::BinOp;

use super::module_from_fns as make_module;
use crate::builtins::args::{to_bigint, to_index, ArgsExt};
use crate::builtins::{num_err, Methods};
use crate::error::PyResult;
use crate::heap::Ref;
use crate::interp::ops::{as_number, Num};
use crate::interp::{Args, Interp};
use crate::num::bigint::{self, BigInt};
use crate::object::{type_name, Module};
use crate::value::Value;
use crate::{err, raise};

const FUNCS: Methods = &[
    ("sqrt", sqrt),
    ("exp", exp),
    ("exp2", exp2),
    ("cbrt", cbrt),
    ("expm1", expm1),
    ("erf", erf),
    ("erfc", erfc),
    ("gamma", gamma),
    ("lgamma", lgamma),
    ("log", log),
    ("log2", log2),
    ("log10", log10),
    ("log1p", log1p),
    ("pow", pow),
    ("sin", sin),
    ("cos", cos),
    ("tan", tan),
    ("asin", asin),
    ("acos", acos),
    ("atan", atan),
    ("sinh", sinh),
    ("cosh", cosh),
    ("tanh", tanh),
    ("asinh", asinh),
    ("acosh", acosh),
    ("atanh", atanh),
    ("atan2", atan2),
    ("hypot", hypot),
    ("dist", dist),
    ("degrees", degrees),
    ("radians", radians),
    ("fabs", fabs),
    ("copysign", copysign),
    ("floor", floor),
    ("ceil", ceil),
    ("trunc", trunc),
    ("modf", modf),
    ("frexp", frexp),
    ("ldexp", ldexp),
    ("fmod", fmod),
    ("isclose", isclose),
    ("isfinite", isfinite),
    ("isinf", isinf),
    ("isnan", isnan),
    ("gcd", gcd),
    ("lcm", lcm),
    ("isqrt", isqrt),
    ("factorial", factorial),
    ("comb", comb),
    ("perm", perm),
    ("fsum", fsum),
    ("nextafter", nextafter),
    ("ulp", ulp),
    ("remainder", remainder),
    ("prod", prod),
];

pub fn module() -> Ref<Module> {
    use std::f64::consts;
    let consts = vec![
        ("pi", Value::Float(consts::PI)),
        ("e", Value::Float(consts::E)),
        ("tau", Value::Float(consts::TAU)),
        ("inf", Value::Float(f64::INFINITY)),
        ("nan", Value::Float(f64::NAN)),
    ];
    make_module("math", FUNCS, consts)
}

/// A real-number argument as a float: `must be real number, not str` otherwise.
fn real(interp: &mut Interp, v: &Value) -> PyResult<f64> {
    match as_number(v) {
        Some(Num::Int(i)) => Ok(i as f64),
        Some(Num::Big(b)) => bigint::to_f64(b).map_err(num_err),
        Some(Num::Float(f)) => Ok(f),
        None => {
            if let Some(m) = interp.lookup_special(v, "__float__") {
                if let Value::Float(f) = interp.call(&m, std::slice::from_ref(v))? {
                    return Ok(f);
                }
            }
            raise!(TypeError, "must be real number, not {}", type_name(v))
        }
    }
}

/// A float result: a NaN gets its own identity, as each result is a new object in CPython
/// (`math.fabs(x) is x` is False; see `num::fresh_nan`).
#[inline]
fn float_value(f: f64) -> Value {
    Value::Float(crate::num::new_float(f))
}

fn domain() -> crate::PyErr {
    err!(ValueError, "math domain error")
}

fn range_err() -> crate::PyErr {
    err!(OverflowError, "math range error")
}

/// CPython's `math_1`: NaN from a non-NaN is a domain error; an infinity from a finite input is a
/// range error (or a domain error when `can_overflow` is false, e.g. a pole).
fn check1(x: f64, r: f64, can_overflow: bool) -> PyResult<Value> {
    if r.is_nan() && !x.is_nan() {
        return Err(domain());
    }
    if r.is_infinite() && x.is_finite() {
        return Err(if can_overflow { range_err() } else { domain() });
    }
    Ok(float_value(r))
}

/// `qualname` is the name errors show (`math.sqrt`), passed whole: these run on every call, and a
/// `format!` here cost 8% of a float-heavy kernel.
fn one_float(interp: &mut Interp, args: Args<'_>, qualname: &str) -> PyResult<f64> {
    let v = args.one(qualname)?;
    real(interp, v)
}

fn two_floats(interp: &mut Interp, args: Args<'_>, qualname: &str) -> PyResult<(f64, f64)> {
    args.range(qualname, 2, 2)?;
    let a = real(interp, args.get(0).unwrap_or(&Value::None))?;
    let b = real(interp, args.get(1).unwrap_or(&Value::None))?;
    Ok((a, b))
}

macro_rules! unary {
    ($($fname:ident => $f:expr, $overflow:expr;)*) => {$(
        fn $fname(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
            let x = one_float(interp, args, concat!("math.", stringify!($fname)))?;
            let f: fn(f64) -> f64 = $f;
            check1(x, f(x), $overflow)
        }
    )*};
}

unary! {
    exp => f64::exp, true;
    exp2 => f64::exp2, true;
    cbrt => glibc_cbrt, false;
    expm1 => f64::exp_m1, true;
    // The error function and its complement, as the C library's `erf`/`erfc` that CPython calls.
    erf => libm::erf, false;
    erfc => libm::erfc, false;
    sin => f64::sin, false;
    cos => f64::cos, false;
    tan => f64::tan, false;
    asin => f64::asin, false;
    acos => f64::acos, false;
    atan => f64::atan, false;
    sinh => f64::sinh, true;
    cosh => f64::cosh, true;
    tanh => f64::tanh, false;
    asinh => f64::asinh, false;
    acosh => f64::acosh, false;
    atanh => |x| if x.abs() >= 1.0 { f64::NAN } else { x.atanh() }, false;
    fabs => f64::abs, false;
    degrees => f64::to_degrees, true;
    radians => f64::to_radians, false;
}

/// `math.nextafter(x, y)`: the float next to `x` in the direction of `y`.
fn nextafter(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (x, y) = two_floats(interp, args, "math.nextafter")?;
    Ok(float_value(libm::nextafter(x, y)))
}

/// `math.ulp(x)`: the gap between |x| and the next larger float (for the largest finite float,
/// the gap below it); NaN and infinities are returned as they are (infinity as positive).
fn ulp(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let x = one_float(interp, args, "math.ulp")?.abs();
    if !x.is_finite() {
        return Ok(float_value(x));
    }
    let up = libm::nextafter(x, f64::INFINITY);
    Ok(float_value(if up.is_infinite() {
        x - libm::nextafter(x, f64::NEG_INFINITY)
    } else {
        up - x
    }))
}

/// `math.remainder(x, y)`: IEEE 754's remainder, x - n*y with n the integer nearest x/y (ties
/// to even); a domain error for an infinite x or a zero y, NaN for NaN.
fn remainder(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (x, y) = two_floats(interp, args, "math.remainder")?;
    if x.is_nan() || y.is_nan() {
        return Ok(float_value(f64::NAN));
    }
    if x.is_infinite() || y == 0.0 {
        return Err(domain());
    }
    Ok(float_value(libm::remainder(x, y)))
}

/// The cube root as the GNU C library computes it, which CPython 3.11's `math.cbrt` calls: not
/// correctly rounded (`cbrt(27.0)` is 3.0000000000000004), so Rust's `f64::cbrt` (3.0) would
/// print something else. Write |x| = m * 2^e with m in [0.5, 1); a degree-6 polynomial guesses
/// the cube root of m, one step of Halley's iteration (u * (u^3 + 2m) / (2u^3 + m)) refines it,
/// and the cube root of 2^e is 2^(e div 3) times a tabled 2^((e mod 3)/3).
fn glibc_cbrt(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x + x;
    }
    const CBRT2: f64 = 1.259_921_049_894_873_2;
    const SQR_CBRT2: f64 = 1.587_401_051_968_199_5;
    // 2^(r/3) for r = -2..=2, the remainder of e divided by 3 (truncating, so negative for a
    // negative e).
    const FACTOR: [f64; 5] = [1.0 / SQR_CBRT2, 1.0 / CBRT2, 1.0, CBRT2, SQR_CBRT2];
    let (m, e) = libm::frexp(x.abs());
    #[allow(clippy::excessive_precision)]
    let u = 0.354_895_765_043_919_860
        + ((1.508_191_937_815_848_96
            + ((-2.114_994_941_673_712_87
                + ((2.446_931_225_635_344_30
                    + ((-1.834_692_774_836_130_86
                        + (0.784_932_344_976_639_262 - 0.145_263_899_385_486_377 * m) * m)
                        * m))
                    * m))
                * m))
            * m);
    let u3 = u * u * u;
    let root = u * (u3 + 2.0 * m) / (2.0 * u3 + m) * FACTOR[(2 + e % 3) as usize];
    libm::ldexp(if x > 0.0 { root } else { -root }, e / 3)
}

// ---- The gamma function and its logarithm ----
//
// CPython does not call the C library's `tgamma`/`lgamma`: it evaluates the Lanczos approximation
// itself, and the C library's answers differ from its answers in the last bits for most inputs.
// To print what python3 prints we evaluate the same approximation with the same parameters
// (N = 13, g = 6.024680040776729583740234375, taken from the Boost library) and the same order of
// floating-point operations, so every result matches to the bit.

/// The Lanczos parameter g, and g - 1/2 (both exact doubles, written out in full).
#[allow(clippy::excessive_precision)]
const LANCZOS_G: f64 = 6.024_680_040_776_729_583_740_234_375;
#[allow(clippy::excessive_precision)]
const LANCZOS_G_MINUS_HALF: f64 = 5.524_680_040_776_729_583_740_234_375;

/// The Lanczos sum written as a rational function P(x)/Q(x), coefficients lowest degree first.
/// Q(x) is x(x+1)...(x+11), whose expanded coefficients are the integers below.
#[allow(clippy::excessive_precision)]
const LANCZOS_P: [f64; 13] = [
    23_531_376_880.410_759_688_572_007_674_451_636_754_734_846_804_940,
    42_919_803_642.649_098_768_957_899_047_001_988_850_926_355_848_959,
    35_711_959_237.355_668_049_440_185_451_547_166_705_960_488_635_843,
    17_921_034_426.037_209_699_919_755_754_458_931_112_671_403_265_390,
    6_039_542_586.352_028_005_064_291_644_307_297_921_069_938_842_070_8,
    1_439_720_407.311_721_673_663_223_072_794_912_393_971_548_578_677_2,
    248_874_557.862_054_156_511_460_386_413_229_423_216_321_251_278_01,
    31_426_415.585_400_194_380_614_231_628_318_205_362_874_684_987_640,
    2_876_370.628_935_372_441_225_409_051_620_849_613_599_114_537_876_8,
    186_056.265_395_223_495_040_294_989_716_045_699_282_207_842_363_28,
    8_071.672_002_365_816_210_638_002_902_272_250_613_821_851_632_502_4,
    210.824_277_751_579_345_872_509_733_920_713_362_711_669_695_802_91,
    2.506_628_274_631_000_270_164_908_177_133_837_338_626_431_079_340_8,
];
const LANCZOS_Q: [f64; 13] = [
    0.0,
    39_916_800.0,
    120_543_840.0,
    150_917_976.0,
    105_258_076.0,
    45_995_730.0,
    13_339_535.0,
    2_637_558.0,
    357_423.0,
    32_670.0,
    1_925.0,
    66.0,
    1.0,
];

/// P(x)/Q(x) for x > 0. Below 5 both polynomials are evaluated by Horner's rule from the top
/// coefficient; from 5 up, both are divided through by x^12 and evaluated in 1/x instead, which
/// cannot overflow and loses less precision for large x.
fn lanczos_sum(x: f64) -> f64 {
    let (mut p, mut q) = (0.0, 0.0);
    if x < 5.0 {
        for (a, b) in LANCZOS_P.iter().zip(&LANCZOS_Q).rev() {
            p = p * x + a;
            q = q * x + b;
        }
    } else {
        for (a, b) in LANCZOS_P.iter().zip(&LANCZOS_Q) {
            p = p / x + a;
            q = q / x + b;
        }
    }
    p / q
}

/// sin(pi * x) for finite x, exact at integers and half-integers: x is reduced to [0, 2) first
/// and the nearest quarter turn chooses a sine or cosine of a small argument.
fn sin_pi(x: f64) -> f64 {
    use std::f64::consts::PI;
    let y = x.abs() % 2.0;
    let r = match (2.0 * y).round() as i32 {
        0 => (PI * y).sin(),
        1 => (PI * (y - 0.5)).cos(),
        // sin(pi * (1 - y)), not -sin(pi * (y - 1)), so that y == 1 gives +0.0.
        2 => (PI * (1.0 - y)).sin(),
        3 => -(PI * (y - 1.5)).cos(),
        _ => (PI * (y - 2.0)).sin(),
    };
    1f64.copysign(x) * r
}

/// True for the poles of gamma: zero and the negative integers (every float at least 2^52 in
/// size is an integer, so -1e308 is one too).
fn gamma_pole(x: f64) -> bool {
    x.is_finite() && x <= 0.0 && x == x.floor()
}

/// Gamma(x) for x that is not a pole (NaN, infinities and overflow come back as values; the
/// caller turns them into errors as CPython's `math_1` does).
fn gamma_value(x: f64) -> f64 {
    // Gamma(n) = (n-1)! is exact for small n: take it from a running product.
    if x == x.floor() && (1.0..=23.0).contains(&x) {
        return (1..x as i32).fold(1.0, |acc, k| acc * f64::from(k));
    }
    if !x.is_finite() {
        return if x > 0.0 { x } else { f64::NAN };
    }
    let ax = x.abs();
    if ax < 1e-20 {
        return 1.0 / x; // Gamma(x) ~ 1/x near zero
    }
    if ax > 200.0 {
        // Beyond 200 the true value overflows (x > 0) or underflows to a signed zero.
        return if x > 0.0 {
            f64::INFINITY
        } else {
            0.0 / sin_pi(x)
        };
    }
    // Lanczos: Gamma(x) ~ L(x) * y^(x-1/2) / e^y with y = x + g - 1/2. `err` is the rounding
    // error in computing y, scaled into a relative correction (err * g / y); without it the error
    // in y is magnified by pow and exp for large x.
    let y = ax + LANCZOS_G_MINUS_HALF;
    let err = if ax > LANCZOS_G_MINUS_HALF {
        (y - ax) - LANCZOS_G_MINUS_HALF
    } else {
        (y - LANCZOS_G_MINUS_HALF) - ax
    };
    let corr = err * LANCZOS_G / y;
    // Above 140, y^(x-1/2) alone would overflow: apply it as two square roots.
    let halves = |r: f64, apply: fn(f64, f64) -> f64| {
        if ax < 140.0 {
            apply(r, y.powf(ax - 0.5))
        } else {
            let half = y.powf(ax / 2.0 - 0.25);
            apply(apply(r, half), half)
        }
    };
    if x > 0.0 {
        let r = lanczos_sum(ax) / y.exp();
        halves(r + corr * r, |a, b| a * b)
    } else {
        // Reflection: Gamma(x) = -pi / (sin(pi*|x|) * |x| * Gamma(|x|)).
        let r = -std::f64::consts::PI / sin_pi(ax) / ax * y.exp() / lanczos_sum(ax);
        halves(r - corr * r, |a, b| a / b)
    }
}

/// log|Gamma(x)| for x that is not a pole.
fn lgamma_value(x: f64) -> f64 {
    if !x.is_finite() {
        return x.abs(); // NaN stays NaN, both infinities give +inf
    }
    if x == 1.0 || x == 2.0 {
        return 0.0;
    }
    let ax = x.abs();
    if ax < 1e-20 {
        return -ax.ln();
    }
    // log of the Lanczos form: log L(x) - g + (x - 1/2) * (log(x + g - 1/2) - 1).
    let mut r = lanczos_sum(ax).ln() - LANCZOS_G;
    r += (ax - 0.5) * ((ax + LANCZOS_G - 0.5).ln() - 1.0);
    if x < 0.0 {
        // Reflection, in logs: log pi - log|sin(pi*x)| - log|x| - log|Gamma(|x|)|.
        const LOG_PI: f64 = 1.144_729_885_849_400_174_143_427_351_353_058_711_647;
        r = LOG_PI - sin_pi(ax).abs().ln() - ax.ln() - r;
    }
    r
}

fn gamma(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let x = one_float(interp, args, "math.gamma")?;
    if gamma_pole(x) {
        return Err(domain());
    }
    check1(x, gamma_value(x), true)
}

fn lgamma(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let x = one_float(interp, args, "math.lgamma")?;
    if gamma_pole(x) {
        return Err(domain());
    }
    check1(x, lgamma_value(x), true)
}

fn sqrt(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let x = one_float(interp, args, "math.sqrt")?;
    if x < 0.0 {
        return Err(domain());
    }
    Ok(float_value(x.sqrt()))
}

/// CPython's `loghelper`: `f` of a real argument, where an int too large for a float is taken
/// as `x * 2**e` and its log computed as `f(x) + f(2) * e`.
fn log_of(interp: &mut Interp, v: &Value, f: fn(f64) -> f64) -> PyResult<f64> {
    if let Value::BigInt(b) = v {
        if b.sign() == bigint::Sign::Minus {
            return Err(domain());
        }
        if let Ok(x) = bigint::to_f64(b) {
            return Ok(f(x));
        }
        let (x, e) = bigint::frexp(b);
        return Ok(f(x) + f(2.0) * e as f64);
    }
    let x = real(interp, v)?;
    if x.is_nan() {
        return Ok(x);
    }
    if x <= 0.0 {
        return Err(domain());
    }
    Ok(f(x))
}

fn log(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("log", 1, 2)?;
    let num = log_of(interp, args.get(0).unwrap_or(&Value::None), f64::ln)?;
    match args.get(1) {
        None => Ok(float_value(num)),
        Some(b) => {
            let den = log_of(interp, b, f64::ln)?;
            if den == 0.0 {
                raise!(ZeroDivisionError, "float division by zero");
            }
            Ok(float_value(num / den))
        }
    }
}

fn log_with(
    interp: &mut Interp,
    args: Args<'_>,
    qualname: &str,
    f: fn(f64) -> f64,
) -> PyResult<Value> {
    let v = args.one(qualname)?;
    log_of(interp, v, f).map(Value::Float)
}

fn log2(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    log_with(interp, args, "math.log2", f64::log2)
}

fn log10(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    log_with(interp, args, "math.log10", f64::log10)
}

fn log1p(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let x = one_float(interp, args, "math.log1p")?;
    if x <= -1.0 {
        return Err(domain());
    }
    Ok(float_value(x.ln_1p()))
}

fn pow(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (x, y) = two_floats(interp, args, "math.pow")?;
    let r = x.powf(y);
    if x.is_finite() && y.is_finite() {
        if r.is_nan() {
            return Err(domain());
        }
        if r.is_infinite() {
            return Err(if x == 0.0 { domain() } else { range_err() });
        }
    }
    Ok(float_value(r))
}

fn atan2(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (y, x) = two_floats(interp, args, "math.atan2")?;
    Ok(float_value(y.atan2(x)))
}

fn copysign(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (x, y) = two_floats(interp, args, "math.copysign")?;
    Ok(float_value(x.copysign(y)))
}

fn fmod(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (x, y) = two_floats(interp, args, "math.fmod")?;
    if y == 0.0 && !x.is_nan() || x.is_infinite() && !y.is_nan() {
        return Err(domain());
    }
    Ok(float_value(x % y))
}

fn ldexp(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("math.ldexp", 2, 2)?;
    let x = real(interp, args.get(0).unwrap_or(&Value::None))?;
    let e = interp.index_arg(args.get(1).unwrap_or(&Value::None))?;
    if x == 0.0 || !x.is_finite() {
        return Ok(float_value(x));
    }
    let e = e.clamp(-2200, 2200) as i32;
    // Scale in steps so intermediate powers of two stay representable.
    let mut r = x;
    let mut left = e;
    while left != 0 {
        let step = left.clamp(-1000, 1000);
        r *= 2f64.powi(step);
        left -= step;
    }
    if r.is_infinite() {
        return Err(range_err());
    }
    Ok(float_value(r))
}

fn floats_of(interp: &mut Interp, v: &Value) -> PyResult<Vec<f64>> {
    let items = interp.collect_iter(v)?;
    items.iter().map(|x| real(interp, x)).collect()
}

/// `hypot` of already-converted coordinates: CPython's `vector_norm` (scaled, with exact squares
/// and a final differential correction), so results match to the last bit.
fn norm(xs: &[f64]) -> f64 {
    let mut max = 0.0f64;
    let mut found_nan = false;
    for x in xs {
        let a = x.abs();
        found_nan |= a.is_nan();
        if a > max {
            max = a;
        }
    }
    vector_norm(xs.iter().map(|x| x.abs()).collect(), max, found_nan)
}

fn vector_norm(mut vec: Vec<f64>, max: f64, found_nan: bool) -> f64 {
    if max.is_infinite() {
        return max;
    }
    if found_nan {
        return f64::NAN;
    }
    if max == 0.0 || vec.len() <= 1 {
        return max;
    }
    let max_e = frexp_parts(max).1;
    if max_e < -1023 {
        for x in vec.iter_mut() {
            *x /= f64::MIN_POSITIVE;
        }
        return f64::MIN_POSITIVE * vector_norm(vec, max / f64::MIN_POSITIVE, found_nan);
    }
    let scale = pow2(-max_e);
    let (mut csum, mut frac1, mut frac2) = (1.0f64, 0.0f64, 0.0f64);
    for x in vec {
        let x = x * scale;
        let (phi, plo) = dl_mul(x, x);
        let (shi, slo) = dl_fast_sum(csum, phi);
        csum = shi;
        frac1 += plo;
        frac2 += slo;
    }
    let mut h = (csum - 1.0 + (frac1 + frac2)).sqrt();
    let (phi, plo) = dl_mul(-h, h);
    let (shi, slo) = dl_fast_sum(csum, phi);
    csum = shi;
    frac1 += plo;
    frac2 += slo;
    let x = csum - 1.0 + (frac1 + frac2);
    h += x / (2.0 * h);
    h / scale
}

/// `2**k` exactly, for `-1074 <= k <= 1023`, subnormal powers included. (`2f64.powi(-1024)` is
/// computed as `1 / 2**1024` = `1 / inf` = 0: `hypot(1e308, 1e308)` came out NaN from it.)
fn pow2(k: i64) -> f64 {
    if k >= -1022 {
        f64::from_bits(((k + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (k + 1074).max(0))
    }
}

fn dl_mul(x: f64, y: f64) -> (f64, f64) {
    let hi = x * y;
    (hi, x.mul_add(y, -hi))
}

fn dl_fast_sum(a: f64, b: f64) -> (f64, f64) {
    let hi = a + b;
    (hi, (a - hi) + b)
}

/// C's `frexp`: `x == m * 2**e` with `0.5 <= |m| < 1` (m = x, e = 0 for 0, inf and nan).
fn frexp_parts(x: f64) -> (f64, i64) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let (mut y, mut e) = (x, 0i64);
    if y.abs() < f64::MIN_POSITIVE {
        y *= 2f64.powi(64);
        e -= 64;
    }
    let bits = y.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64;
    e += exp - 1022;
    (
        f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52)),
        e,
    )
}

fn hypot(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.no_kw("math.hypot")?;
    let mut xs = Vec::with_capacity(args.pos.len());
    for v in args.pos {
        xs.push(real(interp, v)?);
    }
    Ok(float_value(norm(&xs)))
}

fn dist(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("math.dist", 2, 2)?;
    let p = floats_of(interp, args.get(0).unwrap_or(&Value::None))?;
    let q = floats_of(interp, args.get(1).unwrap_or(&Value::None))?;
    if p.len() != q.len() {
        raise!(
            ValueError,
            "both points must have the same number of dimensions"
        );
    }
    let d: Vec<f64> = p.iter().zip(&q).map(|(a, b)| a - b).collect();
    Ok(float_value(norm(&d)))
}

fn rounding(
    interp: &mut Interp,
    args: Args<'_>,
    qualname: &str,
    dunder: &str,
    f: fn(f64) -> crate::num::NumResult<crate::num::Int>,
) -> PyResult<Value> {
    let v = args.one(qualname)?;
    match v {
        Value::Int(_) | Value::BigInt(_) => Ok(v.clone()),
        Value::Bool(b) => Ok(Value::Int(*b as i64)),
        Value::Float(x) => f(*x).map(Value::from).map_err(num_err),
        _ => {
            if let Some(m) = interp.lookup_special(v, dunder) {
                return interp.call(&m, std::slice::from_ref(v));
            }
            if qualname == "math.trunc" {
                raise!(
                    TypeError,
                    "type {} doesn't define __trunc__ method",
                    type_name(v)
                );
            }
            let x = real(interp, v)?;
            f(x).map(Value::from).map_err(num_err)
        }
    }
}

fn floor(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    rounding(
        interp,
        args,
        "math.floor",
        "__floor__",
        crate::num::float_floor,
    )
}

fn ceil(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    rounding(
        interp,
        args,
        "math.ceil",
        "__ceil__",
        crate::num::float_ceil,
    )
}

fn trunc(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    rounding(
        interp,
        args,
        "math.trunc",
        "__trunc__",
        crate::num::float_to_int,
    )
}

fn modf(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let x = one_float(interp, args, "math.modf")?;
    let (frac, int) = if x.is_infinite() {
        (0.0f64.copysign(x), x)
    } else {
        (x - x.trunc(), x.trunc())
    };
    // Keep the sign of zero fractions, as C's modf does.
    let frac = if frac == 0.0 {
        0.0f64.copysign(x)
    } else {
        frac
    };
    Ok(Value::tuple(vec![Value::Float(frac), Value::Float(int)]))
}

fn frexp(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let x = one_float(interp, args, "math.frexp")?;
    let (m, e) = frexp_parts(x);
    Ok(Value::tuple(vec![Value::Float(m), Value::Int(e)]))
}

fn isclose(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.only_kw("isclose", &["rel_tol", "abs_tol"])?;
    if args.pos.len() != 2 {
        raise!(
            TypeError,
            "isclose() takes exactly 2 positional arguments ({} given)",
            args.pos.len()
        );
    }
    let a = real(interp, args.get(0).unwrap_or(&Value::None))?;
    let b = real(interp, args.get(1).unwrap_or(&Value::None))?;
    let rel = match args.kwarg("rel_tol") {
        Some(v) => real(interp, v)?,
        None => 1e-9,
    };
    let abs_tol = match args.kwarg("abs_tol") {
        Some(v) => real(interp, v)?,
        None => 0.0,
    };
    if rel < 0.0 || abs_tol < 0.0 {
        raise!(ValueError, "tolerances must be non-negative");
    }
    if a == b {
        return Ok(Value::Bool(true));
    }
    if a.is_infinite() || b.is_infinite() {
        return Ok(Value::Bool(false));
    }
    let diff = (b - a).abs();
    Ok(Value::Bool(
        diff <= (rel * b).abs() || diff <= (rel * a).abs() || diff <= abs_tol,
    ))
}

fn isfinite(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::Bool(
        one_float(interp, args, "math.isfinite")?.is_finite(),
    ))
}

fn isinf(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::Bool(
        one_float(interp, args, "math.isinf")?.is_infinite(),
    ))
}

fn isnan(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::Bool(one_float(interp, args, "math.isnan")?.is_nan()))
}

fn ints<'a>(args: &Args<'a>, name: &str) -> PyResult<Vec<Cow<'a, BigInt>>> {
    args.no_kw(&format!("math.{name}"))?;
    args.pos.iter().map(to_bigint).collect()
}

fn gcd(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    // Small ints stay on i64 (gcd(-2**63, 0) = 2**63 is the one result that leaves it).
    if let Ok(small) = args
        .pos
        .iter()
        .map(to_index)
        .collect::<PyResult<Vec<i64>>>()
    {
        let mut acc = Some(0i64);
        for n in small {
            acc = acc.and_then(|a| crate::num::gcd(a, n).ok());
        }
        if let Some(a) = acc {
            args.no_kw("math.gcd")?;
            return Ok(Value::Int(a));
        }
    }
    let mut acc = BigInt::from(0);
    for n in ints(&args, "gcd")? {
        acc = bigint::gcd(&acc, &n);
    }
    Ok(Value::from(acc))
}

fn lcm(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let mut acc = BigInt::from(1);
    for n in ints(&args, "lcm")? {
        acc = bigint::lcm(&acc, &n).map_err(num_err)?;
    }
    Ok(Value::from(acc))
}

fn isqrt(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let v = args.one("math.isqrt")?;
    if let Value::BigInt(b) = v {
        return bigint::isqrt(b).map(Value::from).map_err(num_err);
    }
    let n = interp.index_arg(v)?;
    crate::num::isqrt(n).map(Value::Int).map_err(num_err)
}

/// CPython's error for an argument past `i64` where it needs a C `long`.
fn too_big_for(what: &str) -> crate::PyErr {
    err!(OverflowError, "{what} must not exceed {}", i64::MAX)
}

fn factorial(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let v = args.one("math.factorial")?;
    let n = match v {
        Value::BigInt(b) if b.sign() == bigint::Sign::Minus => {
            raise!(ValueError, "factorial() not defined for negative values")
        }
        Value::BigInt(_) => {
            raise!(
                OverflowError,
                "factorial() argument should not exceed {}",
                i64::MAX
            )
        }
        _ => interp.index_arg(v)?,
    };
    if n <= 20 {
        return crate::num::factorial(n).map(Value::Int).map_err(num_err);
    }
    bigint::factorial(n as u64)
        .map(Value::from)
        .map_err(num_err)
}

/// The `n` and `k` of `comb` and `perm`, checked non-negative (`k` absent for `perm(n)`).
fn nk<'a>(
    interp: &mut Interp,
    args: &Args<'a>,
    name: &str,
) -> PyResult<(Cow<'a, BigInt>, Option<Cow<'a, BigInt>>)> {
    args.range(
        &format!("math.{name}"),
        if name == "comb" { 2 } else { 1 },
        2,
    )?;
    // Objects with `__index__` count as the ints they stand for.
    let mut int_arg = |v: &'a Value| -> PyResult<Cow<'a, BigInt>> {
        match v {
            Value::Instance(_) => match interp.number_index(v)? {
                Some(i) => Ok(Cow::Owned(to_bigint(&i)?.into_owned())),
                None => to_bigint(v),
            },
            _ => to_bigint(v),
        }
    };
    let n = int_arg(args.get(0).unwrap_or(&Value::None))?;
    let k = match args.get(1) {
        None | Some(Value::None) => None,
        Some(v) => Some(int_arg(v)?),
    };
    if n.sign() == bigint::Sign::Minus {
        raise!(ValueError, "n must be a non-negative integer");
    }
    if matches!(&k, Some(k) if k.sign() == bigint::Sign::Minus) {
        raise!(ValueError, "k must be a non-negative integer");
    }
    Ok((n, k))
}

fn comb(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (n, k) = nk(interp, &args, "comb")?;
    let k = k.map(Cow::into_owned).unwrap_or_default();
    if k > *n {
        return Ok(Value::Int(0));
    }
    let rest = n.as_ref() - &k;
    let k = k.min(rest);
    let k = k.to_u64().ok_or_else(|| too_big_for("min(n - k, k)"))?;
    bigint::comb(&n, k).map(Value::from).map_err(num_err)
}

fn perm(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (n, k) = nk(interp, &args, "perm")?;
    let k = k.unwrap_or_else(|| n.clone());
    if *k > *n {
        return Ok(Value::Int(0));
    }
    let k = k.to_u64().ok_or_else(|| too_big_for("k"))?;
    bigint::perm(&n, k).map(Value::from).map_err(num_err)
}

/// Exact sum of floats (Shewchuk's algorithm, as CPython's `math.fsum`).
pub fn exact_sum(xs: impl IntoIterator<Item = f64>) -> PyResult<f64> {
    let mut partials: Vec<f64> = Vec::new();
    let mut special = 0.0f64;
    let mut inf_sum = 0.0f64;
    for xsave in xs {
        let mut x = xsave;
        let mut i = 0;
        for j in 0..partials.len() {
            let mut y = partials.get(j).copied().unwrap_or(0.0);
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                if let Some(p) = partials.get_mut(i) {
                    *p = lo;
                }
                i += 1;
            }
            x = hi;
        }
        partials.truncate(i);
        if x != 0.0 {
            if !x.is_finite() {
                if xsave.is_finite() {
                    raise!(OverflowError, "intermediate overflow in fsum");
                }
                if xsave.is_infinite() {
                    inf_sum += xsave;
                }
                special += xsave;
                partials.clear();
            } else {
                partials.push(x);
            }
        }
    }
    if special != 0.0 {
        if inf_sum.is_nan() {
            raise!(ValueError, "-inf + inf in fsum");
        }
        return Ok(special);
    }
    let mut n = partials.len();
    let mut hi = 0.0f64;
    if n > 0 {
        n -= 1;
        hi = partials.get(n).copied().unwrap_or(0.0);
        let mut lo = 0.0f64;
        while n > 0 {
            let x = hi;
            n -= 1;
            let y = partials.get(n).copied().unwrap_or(0.0);
            hi = x + y;
            let yr = hi - x;
            lo = y - yr;
            if lo != 0.0 {
                break;
            }
        }
        if n > 0 {
            let prev = partials.get(n - 1).copied().unwrap_or(0.0);
            if (lo < 0.0 && prev < 0.0) || (lo > 0.0 && prev > 0.0) {
                let y = lo * 2.0;
                let x = hi + y;
                let yr = x - hi;
                if y == yr {
                    hi = x;
                }
            }
        }
    }
    Ok(hi)
}

fn fsum(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let v = args.one("math.fsum")?;
    let xs = floats_of(interp, v)?;
    exact_sum(xs).map(Value::Float)
}

fn prod(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.only_kw("prod", &["start"])?;
    if args.pos.len() != 1 {
        raise!(
            TypeError,
            "prod() takes exactly 1 positional argument ({} given)",
            args.pos.len()
        );
    }
    let mut acc = args.kwarg("start").cloned().unwrap_or(Value::Int(1));
    let items = interp.collect_iter(args.get(0).unwrap_or(&Value::None))?;
    for v in items {
        acc = interp.binary(BinOp::Mul, &acc, &v)?;
    }
    Ok(acc)
}
