//! The `cmath` module (stdlib stage): functions of complex numbers, with CPython's formulas for
//! finite arguments (`Modules/cmathmodule.c`) and its errors (`math domain error`, `math range
//! error`).
//!
//! CPython answers infinite and NaN arguments of `sqrt`, `exp`, `log` and the trigonometric and
//! hyperbolic functions from tables of C99's special values; minivm does not carry those tables,
//! so such an argument is a clear `NotImplementedError` rather than a different answer. The
//! inverse trigonometric and hyperbolic functions (`asin`, `acosh`...) are not provided.

use super::module_from_fns as make_module;
use crate::builtins::complex::{as_complex, modulus, new_complex, to_complex, Complex};
use crate::builtins::Methods;
use crate::error::PyResult;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{type_name, Module};
use crate::value::Value;
use crate::{err, raise};

const FUNCS: Methods = &[
    ("sqrt", sqrt),
    ("exp", exp),
    ("log", log),
    ("log10", log10),
    ("sin", sin),
    ("cos", cos),
    ("tan", tan),
    ("sinh", sinh),
    ("cosh", cosh),
    ("tanh", tanh),
    ("phase", phase),
    ("polar", polar),
    ("rect", rect),
    ("isfinite", isfinite),
    ("isinf", isinf),
    ("isnan", isnan),
    ("isclose", isclose),
];

pub fn module() -> Ref<Module> {
    use std::f64::consts;
    let consts = vec![
        ("pi", Value::Float(consts::PI)),
        ("e", Value::Float(consts::E)),
        ("tau", Value::Float(consts::TAU)),
        ("inf", Value::Float(f64::INFINITY)),
        ("nan", Value::Float(f64::NAN)),
        ("infj", new_complex(Complex::new(0.0, f64::INFINITY))),
        ("nanj", new_complex(Complex::new(0.0, f64::NAN))),
    ];
    make_module("cmath", FUNCS, consts)
}

/// A quarter of the largest float: beyond it, formulas rescale to avoid spurious overflow.
const LARGE: f64 = f64::MAX / 4.0;
/// Bits to scale subnormal parts up by (and half of it back down) in `sqrt`.
const SCALE_UP: i32 = 53;
const SCALE_DOWN: i32 = -27;

fn domain() -> crate::PyErr {
    err!(ValueError, "math domain error")
}

fn range() -> crate::PyErr {
    err!(OverflowError, "math range error")
}

/// `x * 2**e` (C's `ldexp`), exact for the scalings used here.
fn ldexp(x: f64, e: i32) -> f64 {
    x * 2f64.powi(e)
}

/// An argument as a complex number (`complex::to_complex`: a complex, `__complex__`, or a real
/// number as `float()` reads it).
fn arg(interp: &mut Interp, v: &Value) -> PyResult<Complex> {
    match to_complex(interp, v)? {
        Some((c, _)) => Ok(c),
        None => Err(err!(TypeError, "must be real number, not {}", type_name(v))),
    }
}

/// The one argument of a function `name(z)`.
fn one(interp: &mut Interp, args: &Args<'_>, name: &str) -> PyResult<Complex> {
    if !args.kw.is_empty() {
        raise!(TypeError, "{name}() takes no keyword arguments");
    }
    match args.pos {
        [z] => arg(interp, z),
        _ => Err(err!(
            TypeError,
            "{name}() takes exactly one argument ({} given)",
            args.pos.len()
        )),
    }
}

/// The one argument of a function with special-value tables in CPython: finite parts only.
fn finite_arg(interp: &mut Interp, args: &Args<'_>, name: &str) -> PyResult<Complex> {
    let z = one(interp, args, name)?;
    if !z.re.is_finite() || !z.im.is_finite() {
        raise!(
            NotImplementedError,
            "cmath.{name}() of an infinite or NaN argument is not supported by minivm"
        );
    }
    Ok(z)
}

/// A result: an infinite part from finite arguments is an overflow.
fn result(c: Complex) -> PyResult<Value> {
    if c.re.is_infinite() || c.im.is_infinite() {
        return Err(range());
    }
    Ok(new_complex(c))
}

fn c_sqrt(z: Complex) -> Complex {
    if z.re == 0.0 && z.im == 0.0 {
        return Complex::new(0.0, z.im);
    }
    let (mut ax, ay) = (z.re.abs(), z.im.abs());
    let s = if ax < f64::MIN_POSITIVE && ay < f64::MIN_POSITIVE {
        // hypot(ax, ay) would be subnormal: scale up first.
        ax = ldexp(ax, SCALE_UP);
        ldexp((ax + ax.hypot(ldexp(ay, SCALE_UP))).sqrt(), SCALE_DOWN)
    } else {
        ax /= 8.0;
        2.0 * (ax + ax.hypot(ay / 8.0)).sqrt()
    };
    let d = ay / (2.0 * s);
    if z.re >= 0.0 {
        Complex::new(s, d.copysign(z.im))
    } else {
        Complex::new(d, s.copysign(z.im))
    }
}

fn sqrt(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let z = finite_arg(interp, &args, "sqrt")?;
    result(c_sqrt(z))
}

fn c_exp(z: Complex) -> Complex {
    if z.re > LARGE.ln() {
        let l = (z.re - 1.0).exp();
        Complex::new(
            l * z.im.cos() * std::f64::consts::E,
            l * z.im.sin() * std::f64::consts::E,
        )
    } else {
        let l = z.re.exp();
        Complex::new(l * z.im.cos(), l * z.im.sin())
    }
}

fn exp(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let z = finite_arg(interp, &args, "exp")?;
    result(c_exp(z))
}

/// The natural logarithm; `None` for zero (a domain error).
fn c_log(z: Complex) -> Option<Complex> {
    let (ax, ay) = (z.re.abs(), z.im.abs());
    let re = if ax > LARGE || ay > LARGE {
        (ax / 2.0).hypot(ay / 2.0).ln() + std::f64::consts::LN_2
    } else if ax < f64::MIN_POSITIVE && ay < f64::MIN_POSITIVE {
        if ax > 0.0 || ay > 0.0 {
            // hypot(ax, ay) would be subnormal: scale up by 2**53 and take it back out.
            ldexp(ax, 53).hypot(ldexp(ay, 53)).ln() - 53.0 * std::f64::consts::LN_2
        } else {
            return None;
        }
    } else {
        let h = ax.hypot(ay);
        if (0.71..=1.73).contains(&h) {
            let (am, an) = if ax > ay { (ax, ay) } else { (ay, ax) };
            ((am - 1.0) * (am + 1.0) + an * an).ln_1p() / 2.0
        } else {
            h.ln()
        }
    };
    Some(Complex::new(re, z.im.atan2(z.re)))
}

fn log(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    if !args.kw.is_empty() {
        raise!(TypeError, "log() takes no keyword arguments");
    }
    let (x, base) = match args.pos {
        [x] => (x, None),
        [x, b] => (x, Some(b)),
        _ => raise!(
            TypeError,
            "log expected at most 2 arguments, got {}",
            args.pos.len()
        ),
    };
    let z = arg(interp, x)?;
    if !z.re.is_finite() || !z.im.is_finite() {
        raise!(
            NotImplementedError,
            "cmath.log() of an infinite or NaN argument is not supported by minivm"
        );
    }
    let mut r = c_log(z).ok_or_else(domain)?;
    if let Some(b) = base {
        let b = arg(interp, b)?;
        if !b.re.is_finite() || !b.im.is_finite() {
            raise!(
                NotImplementedError,
                "cmath.log() of an infinite or NaN base is not supported by minivm"
            );
        }
        let lb = c_log(b).ok_or_else(domain)?;
        r = r.quot(lb).ok_or_else(domain)?;
    }
    result(r)
}

fn log10(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let z = finite_arg(interp, &args, "log10")?;
    let r = c_log(z).ok_or_else(domain)?;
    let ln10 = std::f64::consts::LN_10;
    result(Complex::new(r.re / ln10, r.im / ln10))
}

fn c_sinh(z: Complex) -> Complex {
    if z.re.abs() > LARGE.ln() {
        let x_minus_one = z.re - 1f64.copysign(z.re);
        Complex::new(
            z.im.cos() * x_minus_one.sinh() * std::f64::consts::E,
            z.im.sin() * x_minus_one.cosh() * std::f64::consts::E,
        )
    } else {
        Complex::new(z.im.cos() * z.re.sinh(), z.im.sin() * z.re.cosh())
    }
}

fn c_cosh(z: Complex) -> Complex {
    if z.re.abs() > LARGE.ln() {
        let x_minus_one = z.re - 1f64.copysign(z.re);
        Complex::new(
            z.im.cos() * x_minus_one.cosh() * std::f64::consts::E,
            z.im.sin() * x_minus_one.sinh() * std::f64::consts::E,
        )
    } else {
        Complex::new(z.im.cos() * z.re.cosh(), z.im.sin() * z.re.sinh())
    }
}

fn c_tanh(z: Complex) -> Complex {
    if z.re.abs() > LARGE.sqrt() {
        Complex::new(
            1f64.copysign(z.re),
            4.0 * z.im.sin() * z.im.cos() * (-2.0 * z.re.abs()).exp(),
        )
    } else {
        let tx = z.re.tanh();
        let ty = z.im.tan();
        let cx = 1.0 / z.re.cosh();
        let txty = tx * ty;
        let denom = 1.0 + txty * txty;
        Complex::new(tx * (1.0 + ty * ty) / denom, ((ty / denom) * cx) * cx)
    }
}

fn sinh(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let z = finite_arg(interp, &args, "sinh")?;
    result(c_sinh(z))
}

fn cosh(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let z = finite_arg(interp, &args, "cosh")?;
    result(c_cosh(z))
}

fn tanh(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let z = finite_arg(interp, &args, "tanh")?;
    result(c_tanh(z))
}

/// `sin(z) = -i sinh(iz)`.
fn sin(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let z = finite_arg(interp, &args, "sin")?;
    let s = c_sinh(Complex::new(-z.im, z.re));
    result(Complex::new(s.im, -s.re))
}

/// `cos(z) = cosh(iz)`.
fn cos(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let z = finite_arg(interp, &args, "cos")?;
    result(c_cosh(Complex::new(-z.im, z.re)))
}

/// `tan(z) = -i tanh(iz)`.
fn tan(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let z = finite_arg(interp, &args, "tan")?;
    let s = c_tanh(Complex::new(-z.im, z.re));
    result(Complex::new(s.im, -s.re))
}

fn phase(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let z = one(interp, &args, "phase")?;
    Ok(Value::Float(z.im.atan2(z.re)))
}

fn polar(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let z = one(interp, &args, "polar")?;
    let r = modulus(z).map_err(|_| range())?;
    Ok(Value::tuple(vec![
        Value::Float(r),
        Value::Float(z.im.atan2(z.re)),
    ]))
}

fn rect(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    if !args.kw.is_empty() {
        raise!(TypeError, "rect() takes no keyword arguments");
    }
    let [r, phi] = args.pos else {
        raise!(
            TypeError,
            "rect expected 2 arguments, got {}",
            args.pos.len()
        );
    };
    let (r, phi) = (real(interp, r)?, real(interp, phi)?);
    if !r.is_finite() || !phi.is_finite() {
        raise!(
            NotImplementedError,
            "cmath.rect() of an infinite or NaN argument is not supported by minivm"
        );
    }
    if phi == 0.0 {
        return Ok(new_complex(Complex::new(r, r * phi)));
    }
    Ok(new_complex(Complex::new(r * phi.cos(), r * phi.sin())))
}

/// A real argument (`rect`): a complex one is refused as CPython's `d` format does.
fn real(interp: &mut Interp, v: &Value) -> PyResult<f64> {
    if as_complex(v).is_some() {
        raise!(TypeError, "must be real number, not complex");
    }
    Ok(arg(interp, v)?.re)
}

fn isfinite(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let z = one(interp, &args, "isfinite")?;
    Ok(Value::Bool(z.re.is_finite() && z.im.is_finite()))
}

fn isinf(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let z = one(interp, &args, "isinf")?;
    Ok(Value::Bool(z.re.is_infinite() || z.im.is_infinite()))
}

fn isnan(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let z = one(interp, &args, "isnan")?;
    Ok(Value::Bool(z.re.is_nan() || z.im.is_nan()))
}

fn isclose(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [a, b] = args.pos else {
        raise!(
            TypeError,
            "isclose() takes exactly 2 positional arguments ({} given)",
            args.pos.len()
        );
    };
    let (mut rel_tol, mut abs_tol) = (1e-9, 0.0);
    for (k, v) in args.kw {
        let x = real(interp, v)?;
        match &**k {
            "rel_tol" => rel_tol = x,
            "abs_tol" => abs_tol = x,
            _ => raise!(
                TypeError,
                "isclose() got an unexpected keyword argument '{k}'"
            ),
        }
    }
    let (a, b) = (arg(interp, a)?, arg(interp, b)?);
    if rel_tol < 0.0 || abs_tol < 0.0 {
        raise!(ValueError, "tolerances must be non-negative");
    }
    if a.re == b.re && a.im == b.im {
        return Ok(Value::Bool(true));
    }
    if a.re.is_infinite() || a.im.is_infinite() || b.re.is_infinite() || b.im.is_infinite() {
        return Ok(Value::Bool(false));
    }
    let diff = modulus(Complex::new(b.re - a.re, b.im - a.im)).unwrap_or(f64::INFINITY);
    let (ma, mb) = (
        modulus(a).unwrap_or(f64::INFINITY),
        modulus(b).unwrap_or(f64::INFINITY),
    );
    Ok(Value::Bool(
        diff <= rel_tol * mb || diff <= rel_tol * ma || diff <= abs_tol,
    ))
}
