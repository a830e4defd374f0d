//! `complex` (built-ins stage): complex numbers, a native class whose instances carry two floats.
//!
//! CPython's `Objects/complexobject.c` is the model for every answer: the same formulas for
//! `*`, `/` (Smith's method) and `**` (repeated squaring for small integral exponents, polar form
//! otherwise), the same repr (`(1+2j)`, `1j`, `(-0-0j)`), hash (`hash(x + 0j) == hash(x)`) and
//! errors.
//!
//! A complex number is a value of its own kind, `Value::Complex`: a counted reference to a
//! [`Complex`] (two `f64`s behind the heap header, 32 bytes, as CPython's `PyComplexObject`),
//! so that a list of ten million takes 0.5 GB and not the 1.9 GB a full `Instance` each took.
//! The interpreter answers the common operations on it natively (`interp/ops.rs` calls
//! [`arith`]; `==`, hashing, `repr`, `bool` and negation read the two parts), and everything
//! else reaches the methods of the class built here, as a user class's would (the value's
//! class is [`complex_class_ref`]). An instance of a subclass of `complex` is an `Instance`
//! whose native payload is a [`Complex`]; [`as_complex`] reads either.

use std::sync::Arc;

use minivm_compiler::bytecode::{BinOp, CmpOp};

use crate::builtins::args::slot_receiver_error;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::num::float_repr::double_to_string;
use crate::num::hash::hash_float;
use crate::object::{type_name, Class, Instance};
use crate::stdlib::native_class;
use crate::stdlib::sync::property;
use crate::value::Value;
use crate::{err, raise, PyErr, PyResult};

/// The native data of a `complex` instance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Complex {
    pub re: f64,
    pub im: f64,
}

impl Complex {
    pub fn new(re: f64, im: f64) -> Complex {
        Complex { re, im }
    }

    fn mul(self, b: Complex) -> Complex {
        Complex::new(
            self.re * b.re - self.im * b.im,
            self.re * b.im + self.im * b.re,
        )
    }

    /// `self / b` by Smith's method (divide through by the larger part of `b`); `None` when `b`
    /// is zero.
    pub fn quot(self, b: Complex) -> Option<Complex> {
        let (abs_re, abs_im) = (b.re.abs(), b.im.abs());
        if abs_re >= abs_im {
            if abs_re == 0.0 {
                return None;
            }
            let ratio = b.im / b.re;
            let denom = b.re + b.im * ratio;
            Some(Complex::new(
                (self.re + self.im * ratio) / denom,
                (self.im - self.re * ratio) / denom,
            ))
        } else if abs_im >= abs_re {
            let ratio = b.re / b.im;
            let denom = b.re * ratio + b.im;
            Some(Complex::new(
                (self.re * ratio + self.im) / denom,
                (self.im * ratio - self.re) / denom,
            ))
        } else {
            // One part of `b` is a NaN.
            Some(Complex::new(f64::NAN, f64::NAN))
        }
    }

    /// `self ** n` for an integral `n` by repeated squaring (negative: the reciprocal).
    fn powi(self, n: i64) -> Option<Complex> {
        let mut result = Complex::new(1.0, 0.0);
        let mut p = self;
        let mut k = n.unsigned_abs();
        while k > 0 {
            if k & 1 == 1 {
                result = result.mul(p);
            }
            k >>= 1;
            if k > 0 {
                p = p.mul(p);
            }
        }
        if n >= 0 {
            Some(result)
        } else {
            Complex::new(1.0, 0.0).quot(result)
        }
    }

    /// `self ** b` in polar form; `None` for zero to a negative or complex power.
    fn pow_polar(self, b: Complex) -> Option<Complex> {
        if b.re == 0.0 && b.im == 0.0 {
            return Some(Complex::new(1.0, 0.0));
        }
        if self.re == 0.0 && self.im == 0.0 {
            if b.im != 0.0 || b.re < 0.0 {
                return None;
            }
            return Some(Complex::new(0.0, 0.0));
        }
        let vabs = self.re.hypot(self.im);
        let mut len = vabs.powf(b.re);
        let at = self.im.atan2(self.re);
        let mut phase = at * b.re;
        if b.im != 0.0 {
            len /= (at * b.im).exp();
            phase += b.im * vabs.ln();
        }
        Some(Complex::new(len * phase.cos(), len * phase.sin()))
    }
}

/// `a ** b` with CPython's errors: zero to a negative or complex power, and any infinite part of
/// the result (an overflow).
pub fn complex_pow(a: Complex, b: Complex) -> PyResult<Complex> {
    let r = if b.im == 0.0 && b.re == b.re.floor() && b.re.abs() <= 100.0 {
        // A small integral exponent: repeated multiplication is faster and more accurate.
        if a.re == 0.0 && a.im == 0.0 && b.re < 0.0 {
            None
        } else {
            a.powi(b.re as i64)
        }
    } else {
        a.pow_polar(b)
    };
    let Some(r) = r else {
        raise!(ZeroDivisionError, "0.0 to a negative or complex power");
    };
    if r.re.is_infinite() || r.im.is_infinite() {
        raise!(OverflowError, "complex exponentiation");
    }
    Ok(r)
}

static COMPLEX_CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();

/// The built-in class `complex`.
pub fn complex_class() -> Ref<Class> {
    complex_class_ref().clone()
}

/// The built-in class `complex`, without touching its count (`object::builtin_class`).
pub fn complex_class_ref() -> &'static Ref<Class> {
    COMPLEX_CLASS.get_or_init(|| {
        let cls = native_class(
            "complex",
            "builtins",
            &[
                ("__new__", cx_new),
                ("__init__", cx_init),
                ("__repr__", cx_repr),
                ("__format__", cx_format),
                ("__hash__", cx_hash),
                ("__eq__", cx_eq),
                ("__ne__", cx_ne),
                ("__bool__", cx_bool),
                ("__neg__", cx_neg),
                ("__pos__", cx_pos),
                ("__abs__", cx_abs),
                ("__add__", cx_add),
                ("__radd__", cx_add),
                ("__sub__", cx_sub),
                ("__rsub__", cx_rsub),
                ("__mul__", cx_mul),
                ("__rmul__", cx_mul),
                ("__truediv__", cx_truediv),
                ("__rtruediv__", cx_rtruediv),
                ("__pow__", cx_pow),
                ("__rpow__", cx_rpow),
                ("__complex__", cx_complex),
                ("__getnewargs__", cx_getnewargs),
                ("__reduce__", cx_reduce),
                ("__reduce_ex__", cx_reduce_ex),
                ("__getstate__", cx_getstate),
                ("__sizeof__", cx_sizeof),
                ("__lt__", cx_order),
                ("__le__", cx_order),
                ("__gt__", cx_order),
                ("__ge__", cx_order),
                ("conjugate", cx_conjugate),
            ],
        );
        {
            let mut dict = cls.dict.write();
            dict.insert(Arc::from("real"), property(("real", cx_real)));
            dict.insert(Arc::from("imag"), property(("imag", cx_imag)));
            dict.insert(
                Arc::from("__doc__"),
                Value::str(
                    "Create a complex number from a real part and an optional imaginary \
                         part.\n\nThis is equivalent to (real + imag*1j) where imag defaults \
                         to 0.",
                ),
            );
        }
        // Shared by every thread, as the other built-in types (free-threaded model).
        Ref::immortalize(&cls);
        cls
    })
}

/// Is `inst` a number of the `complex` class itself (not of a subclass, which may hold
/// attributes)? Such an instance refers to nothing but its class.
pub fn is_plain_complex(inst: &Instance) -> bool {
    inst.native::<Complex>().is_some()
        && COMPLEX_CLASS
            .get()
            .is_some_and(|c| Ref::ptr_eq(c, &inst.class.get()))
}

/// A new `complex` value.
#[inline]
pub fn new_complex(c: Complex) -> Value {
    Value::Complex(Ref::new(c))
}

/// A new number of class `cls`: `complex` itself, or a subclass (an instance, which may take
/// attributes, holding the number as its native payload).
fn new_of(cls: Ref<Class>, c: Complex) -> Value {
    if Ref::ptr_eq(&cls, complex_class_ref()) {
        return new_complex(c);
    }
    let inst = Instance::new(cls);
    inst.set_native(Box::new(c));
    Value::Instance(Ref::new(inst))
}

/// The complex number a value is, if it is one (of any subclass).
#[inline]
pub fn as_complex(v: &Value) -> Option<Complex> {
    match v {
        Value::Complex(c) => Some(**c),
        Value::Instance(inst) => inst.native::<Complex>().copied(),
        _ => None,
    }
}

/// `a op b` answered natively when one operand is a `complex` value and the other a built-in
/// number (int, bool, float, big int or complex; not an instance, whose class may define the
/// operator): `None` when that is not the case or `op` is not one complex numbers have (the
/// general path then raises the TypeError, or asks the other operand).
pub fn arith(op: BinOp, a: &Value, b: &Value) -> Option<PyResult<Value>> {
    if !matches!(a, Value::Complex(_)) && !matches!(b, Value::Complex(_)) {
        return None;
    }
    let (x, y) = match (builtin_operand(a)?, builtin_operand(b)?) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(e), _) | (_, Err(e)) => return Some(Err(e)),
    };
    Some(match op {
        BinOp::Add => Ok(new_complex(Complex::new(x.re + y.re, x.im + y.im))),
        BinOp::Sub => Ok(new_complex(Complex::new(x.re - y.re, x.im - y.im))),
        BinOp::Mul => Ok(new_complex(x.mul(y))),
        BinOp::Div => quotient(x, y),
        BinOp::Pow => complex_pow(x, y).map(new_complex),
        _ => return None,
    })
}

/// A built-in number as a complex operand (`None`: not one; an error: a big int too large
/// for a float).
fn builtin_operand(v: &Value) -> Option<PyResult<Complex>> {
    match v {
        Value::Instance(_) => None,
        _ => operand(v).transpose(),
    }
}

/// `a == b` answered natively for a `complex` value and a built-in number (as
/// [`equal`]); `None` for anything else.
pub fn builtin_eq(a: &Value, b: &Value) -> Option<bool> {
    let (c, other) = match (a, b) {
        (Value::Complex(c), o) | (o, Value::Complex(c)) => (**c, o),
        _ => return None,
    };
    match other {
        Value::Complex(d) => Some(c.re == d.re && c.im == d.im),
        Value::Float(f) => Some(c.re == *f && c.im == 0.0),
        Value::Int(_) | Value::BigInt(_) | Value::Bool(_) => {
            let n = crate::interp::ops::as_number(other)?;
            Some(c.im == 0.0 && crate::interp::ops::num_eq(crate::interp::ops::Num::Float(c.re), n))
        }
        _ => None,
    }
}

/// `v` as a complex operand of arithmetic: ints, floats and complex numbers; `None` for
/// anything else (the operator then returns `NotImplemented`).
fn operand(v: &Value) -> PyResult<Option<Complex>> {
    Ok(match v {
        Value::Int(i) => Some(Complex::new(*i as f64, 0.0)),
        Value::Bool(b) => Some(Complex::new(f64::from(u8::from(*b)), 0.0)),
        Value::Float(f) => Some(Complex::new(*f, 0.0)),
        Value::BigInt(b) => Some(Complex::new(
            crate::num::bigint::to_f64(b).map_err(PyErr::from)?,
            0.0,
        )),
        Value::Complex(c) => Some(**c),
        Value::Instance(inst) => match inst.native::<Complex>() {
            Some(c) => Some(*c),
            // A subclass of int or float: its built-in value.
            None => match crate::object::builtin_base(v) {
                Some(base) => operand(base)?,
                None => None,
            },
        },
        _ => None,
    })
}

/// The receiver of a method: a complex number (or an instance of a subclass).
fn receiver(args: &Args<'_>, method: &str) -> PyResult<Complex> {
    match args.pos.first() {
        Some(v) => match as_complex(v) {
            Some(c) => Ok(c),
            None => Err(err!(
                TypeError,
                "descriptor '{method}' for 'complex' objects doesn't apply to a '{}' object",
                type_name(v)
            )),
        },
        None => Err(crate::builtins::args::missing_receiver("complex", method)),
    }
}

/// The receiver and the one other operand of a binary method (`None`: not a number).
fn binary(args: &Args<'_>, method: &str) -> PyResult<(Complex, Option<Complex>)> {
    let a = slot_receiver(args, method)?;
    // `__pow__` and `__rpow__` take a modulus too (refused by `no_modulus`).
    let given = match args.pos {
        [_, _, _] if method.ends_with("pow__") => &args.pos[..2],
        all => all,
    };
    let [_, other] = given else {
        raise!(
            TypeError,
            "expected 1 argument, got {}",
            args.pos.len().saturating_sub(1)
        );
    };
    Ok((a, operand(other)?))
}

/// The receiver of a slot wrapper (`complex.__add__`, `complex.__lt__`), refused with the
/// words CPython uses for those (its methods' words are [`receiver`]'s).
fn slot_receiver(args: &Args<'_>, method: &str) -> PyResult<Complex> {
    match args.pos.first() {
        Some(v) => as_complex(v).ok_or_else(|| slot_receiver_error("complex", method, Some(v))),
        None => Err(slot_receiver_error("complex", method, None)),
    }
}

/// `<`, `<=`, `>`, `>=`: complex numbers are not ordered, so each answers `NotImplemented`
/// (and the comparison, with nothing else to try, is a `TypeError`), as CPython's do.
fn cx_order(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    binary(&args, "__lt__")?;
    Ok(Value::NotImplemented)
}

fn cx_add(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(match binary(&args, "__add__")? {
        (a, Some(b)) => new_complex(Complex::new(a.re + b.re, a.im + b.im)),
        _ => Value::NotImplemented,
    })
}

fn cx_sub(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(match binary(&args, "__sub__")? {
        (a, Some(b)) => new_complex(Complex::new(a.re - b.re, a.im - b.im)),
        _ => Value::NotImplemented,
    })
}

fn cx_rsub(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(match binary(&args, "__rsub__")? {
        (a, Some(b)) => new_complex(Complex::new(b.re - a.re, b.im - a.im)),
        _ => Value::NotImplemented,
    })
}

fn cx_mul(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(match binary(&args, "__mul__")? {
        (a, Some(b)) => new_complex(a.mul(b)),
        _ => Value::NotImplemented,
    })
}

fn quotient(a: Complex, b: Complex) -> PyResult<Value> {
    match a.quot(b) {
        Some(q) => Ok(new_complex(q)),
        None => Err(err!(ZeroDivisionError, "complex division by zero")),
    }
}

fn cx_truediv(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    match binary(&args, "__truediv__")? {
        (a, Some(b)) => quotient(a, b),
        _ => Ok(Value::NotImplemented),
    }
}

fn cx_rtruediv(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    match binary(&args, "__rtruediv__")? {
        (a, Some(b)) => quotient(b, a),
        _ => Ok(Value::NotImplemented),
    }
}

/// The optional third argument of `pow()`: a complex power has no modulus.
fn no_modulus(args: &Args<'_>) -> PyResult<()> {
    match args.pos.get(2) {
        None | Some(Value::None) => Ok(()),
        Some(_) => Err(err!(ValueError, "complex modulo")),
    }
}

fn cx_pow(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    match binary(&args, "__pow__")? {
        (a, Some(b)) => {
            no_modulus(&args)?;
            complex_pow(a, b).map(new_complex)
        }
        _ => Ok(Value::NotImplemented),
    }
}

fn cx_rpow(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    match binary(&args, "__rpow__")? {
        (a, Some(b)) => {
            no_modulus(&args)?;
            complex_pow(b, a).map(new_complex)
        }
        _ => Ok(Value::NotImplemented),
    }
}

/// `==` as CPython's `complex_richcompare`: equal to an int or float only when the imaginary
/// part is zero and the real parts compare equal (an int exactly, not through a float).
fn equal(interp: &mut Interp, a: Complex, other: &Value) -> PyResult<Option<bool>> {
    Ok(match other {
        Value::Int(_) | Value::BigInt(_) | Value::Bool(_) => {
            if a.im != 0.0 {
                Some(false)
            } else {
                let r = interp.compare(CmpOp::Eq, &Value::Float(a.re), other)?;
                Some(interp.truthy(&r)?)
            }
        }
        Value::Float(f) => Some(a.re == *f && a.im == 0.0),
        _ => match as_complex(other) {
            Some(b) => Some(a.re == b.re && a.im == b.im),
            None => match crate::object::builtin_base(other) {
                Some(base) => {
                    let base = base.clone();
                    equal(interp, a, &base)?
                }
                None => None,
            },
        },
    })
}

fn cx_eq(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let a = receiver(&args, "__eq__")?;
    let other = args.pos.get(1).cloned().unwrap_or(Value::None);
    Ok(equal(interp, a, &other)?.map_or(Value::NotImplemented, Value::Bool))
}

fn cx_ne(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let a = receiver(&args, "__ne__")?;
    let other = args.pos.get(1).cloned().unwrap_or(Value::None);
    Ok(equal(interp, a, &other)?.map_or(Value::NotImplemented, |e| Value::Bool(!e)))
}

/// `hash(c)`: the real part's hash plus 1000003 times the imaginary part's, so that a complex
/// number equal to a float or int hashes as it does.
pub fn complex_hash(c: Complex) -> i64 {
    const IMAG: u64 = 1_000_003;
    let combined =
        (hash_float(c.re) as u64).wrapping_add(IMAG.wrapping_mul(hash_float(c.im) as u64));
    match combined as i64 {
        -1 => -2,
        h => h,
    }
}

fn cx_hash(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::Int(complex_hash(receiver(&args, "__hash__")?)))
}

fn cx_bool(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let c = receiver(&args, "__bool__")?;
    Ok(Value::Bool(c.re != 0.0 || c.im != 0.0))
}

fn cx_neg(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let c = receiver(&args, "__neg__")?;
    Ok(new_complex(Complex::new(-c.re, -c.im)))
}

fn cx_pos(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(new_complex(receiver(&args, "__pos__")?))
}

/// `abs(c)`: the modulus; an infinite part gives infinity even beside a NaN (C99's rule).
pub fn modulus(c: Complex) -> PyResult<f64> {
    if c.re.is_infinite() || c.im.is_infinite() {
        return Ok(f64::INFINITY);
    }
    if c.re.is_nan() || c.im.is_nan() {
        return Ok(f64::NAN);
    }
    let r = c.re.hypot(c.im);
    if r.is_infinite() {
        raise!(OverflowError, "absolute value too large");
    }
    Ok(r)
}

fn cx_abs(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    modulus(receiver(&args, "__abs__")?).map(Value::Float)
}

fn cx_conjugate(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let c = receiver(&args, "conjugate")?;
    Ok(new_complex(Complex::new(c.re, -c.im)))
}

fn cx_complex(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(new_complex(receiver(&args, "__complex__")?))
}

fn cx_real(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::Float(crate::num::new_float(
        receiver(&args, "real")?.re,
    )))
}

fn cx_imag(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::Float(crate::num::new_float(
        receiver(&args, "imag")?.im,
    )))
}

fn cx_getnewargs(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let c = receiver(&args, "__getnewargs__")?;
    Ok(Value::tuple(vec![Value::Float(c.re), Value::Float(c.im)]))
}

/// The attributes of an instance of a subclass, if it has any (`__getstate__`): `None` for
/// a number of `complex` itself or an instance without attributes.
fn attributes(this: &Value) -> Value {
    match this {
        Value::Instance(i) if i.dict.lock().iter().next().is_some() => {
            crate::interp::views::instance_dict(i)
        }
        _ => Value::None,
    }
}

/// The class of a complex number (`complex` or a subclass).
fn class_of(this: &Value) -> Value {
    match this {
        Value::Instance(i) => Value::Class(i.class.get().clone()),
        _ => Value::Class(complex_class()),
    }
}

/// A function of `copyreg` (`__newobj__`, `_reconstructor`), which reductions name.
pub(crate) fn copyreg_function(interp: &mut Interp, name: &str) -> PyResult<Value> {
    let module = interp.import_module("copyreg")?;
    interp.getattr(&module, name)
}

/// `__reduce_ex__(protocol)`, as the one complex numbers inherit from `object` in CPython:
/// protocol 2 on, `copyreg.__newobj__` of the class with the two parts (`__getnewargs__`)
/// and the attributes as state; protocols 0 and 1 rebuild a subclass's instance from its
/// complex value (`copyreg._reconstructor`), and refuse `complex` itself, which pickle and
/// copy reduce through `copyreg.dispatch_table` instead.
fn cx_reduce_ex(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let c = receiver(&args, "__reduce_ex__")?;
    let [this, protocol] = args.pos else {
        raise!(
            TypeError,
            "object.__reduce_ex__() takes exactly one argument ({} given)",
            args.pos.len().saturating_sub(1)
        );
    };
    let protocol = crate::builtins::args::to_index(protocol)?;
    reduce(interp, this, c, protocol)
}

/// `__reduce__()`: `__reduce_ex__(0)`, as CPython's `object.__reduce__`.
fn cx_reduce(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let c = receiver(&args, "__reduce__")?;
    let [this] = args.pos else {
        raise!(
            TypeError,
            "object.__reduce__() takes no arguments ({} given)",
            args.pos.len().saturating_sub(1)
        );
    };
    reduce(interp, this, c, 0)
}

fn reduce(interp: &mut Interp, this: &Value, c: Complex, protocol: i64) -> PyResult<Value> {
    if protocol >= 2 {
        let newobj = copyreg_function(interp, "__newobj__")?;
        let args = vec![class_of(this), Value::Float(c.re), Value::Float(c.im)];
        return Ok(Value::tuple(vec![
            newobj,
            Value::tuple(args),
            attributes(this),
            Value::None,
            Value::None,
        ]));
    }
    if !matches!(this, Value::Instance(_)) {
        raise!(TypeError, "cannot pickle 'complex' object");
    }
    let rebuild = copyreg_function(interp, "_reconstructor")?;
    let args = Value::tuple(vec![
        class_of(this),
        Value::Class(complex_class()),
        new_complex(c),
    ]);
    let mut out = vec![rebuild, args];
    let state = attributes(this);
    if !matches!(state, Value::None) {
        out.push(state);
    }
    Ok(Value::tuple(out))
}

/// `__getstate__()`: the attributes of an instance of a subclass, else `None`.
fn cx_getstate(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    receiver(&args, "__getstate__")?;
    let [this] = args.pos else {
        raise!(
            TypeError,
            "object.__getstate__() takes no arguments ({} given)",
            args.pos.len().saturating_sub(1)
        );
    };
    Ok(attributes(this))
}

/// `__sizeof__()`: the bytes CPython 3.11's object takes (on 64 bits): 32 for a complex
/// number (a header and two doubles, as minivm's `Value::Complex` too), 40 for an instance
/// of a subclass (and its weak-reference slot).
fn cx_sizeof(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    receiver(&args, "__sizeof__")?;
    let [this] = args.pos else {
        raise!(
            TypeError,
            "object.__sizeof__() takes no arguments ({} given)",
            args.pos.len().saturating_sub(1)
        );
    };
    Ok(Value::Int(match this {
        Value::Instance(_) => 40,
        _ => 32,
    }))
}

/// One part of a repr: CPython's `repr` of a float without the `.0` (`2`, `1.5`, `1e+16`,
/// `inf`, `nan`), with a `+` in front when `sign` asks and the part is not negative.
fn write_part(out: &mut String, x: f64, sign: bool) {
    let f = double_to_string(x, b'r', 0, false, false, false);
    if f.negative {
        out.push('-');
    } else if sign {
        out.push('+');
    }
    out.push_str(&f.body);
}

/// `repr(c)` (and `str(c)`): `1j` when the real part is +0, else `(re+imj)`.
pub fn complex_repr(c: Complex) -> String {
    let mut out = String::new();
    if c.re == 0.0 && c.re.is_sign_positive() {
        write_part(&mut out, c.im, false);
        out.push('j');
    } else {
        out.push('(');
        write_part(&mut out, c.re, false);
        write_part(&mut out, c.im, true);
        out.push_str("j)");
    }
    out
}

fn cx_repr(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Ok(Value::str(&complex_repr(receiver(&args, "__repr__")?)))
}

fn cx_format(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let c = receiver(&args, "__format__")?;
    let spec = match args.pos.get(1) {
        Some(Value::Str(s)) => s.as_str().to_string(),
        Some(other) => raise!(
            TypeError,
            "__format__() argument must be str, not {}",
            type_name(other)
        ),
        None => raise!(
            TypeError,
            "__format__() takes exactly one argument (0 given)"
        ),
    };
    if spec.is_empty() {
        return Ok(Value::str(&complex_repr(c)));
    }
    crate::num::format_spec::format_complex(c.re, c.im, &spec)
        .map(|s| Value::str(&s))
        .map_err(PyErr::from)
}

/// Nothing to do: `__new__` made the number (defined so that arguments are not refused by
/// `object.__init__`).
fn cx_init(_: &mut Interp, _: Args<'_>) -> PyResult<Value> {
    Ok(Value::None)
}

/// `complex.__new__(cls, real=0, imag=0)`: CPython's rules for strings, numbers, complex parts
/// and `__complex__`.
fn cx_new(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let cls = match args.pos.first() {
        Some(Value::Class(c)) => c.clone(),
        _ => raise!(TypeError, "complex.__new__(X): X is not a type object"),
    };
    let rest = &args.pos[1..];
    if rest.len() > 2 {
        raise!(
            TypeError,
            "complex() takes at most 2 arguments ({} given)",
            rest.len() + args.kw.len()
        );
    }
    let mut real = rest.first();
    let mut imag = rest.get(1);
    for (k, v) in args.kw {
        match &**k {
            "real" if real.is_none() => real = Some(v),
            "imag" if imag.is_none() => imag = Some(v),
            "real" | "imag" => raise!(
                TypeError,
                "argument for complex() given by name ('{k}') and position ({})",
                if &**k == "real" { 1 } else { 2 }
            ),
            _ => raise!(
                TypeError,
                "'{k}' is an invalid keyword argument for complex()"
            ),
        }
    }
    let c = construct(interp, real, imag)?;
    Ok(new_of(cls, c))
}

fn construct(interp: &mut Interp, real: Option<&Value>, imag: Option<&Value>) -> PyResult<Complex> {
    let zero = Value::Int(0);
    let real = real.unwrap_or(&zero);
    if let Value::Str(s) = real {
        if imag.is_some() {
            raise!(
                TypeError,
                "complex() can't take second arg if first is a string"
            );
        }
        return parse_complex(s.as_str())
            .ok_or_else(|| err!(ValueError, "complex() arg is a malformed string"));
    }
    if let Some(Value::Str(_)) = imag {
        raise!(TypeError, "complex() second arg can't be a string");
    }
    let (cr, cr_complex) = part(interp, real, "first argument must be a string or a number")?;
    let (ci, ci_complex) = match imag {
        None => (Complex::new(cr.im, 0.0), false),
        Some(v) => part(interp, v, "second argument must be a number")?,
    };
    let (mut re, mut im) = (cr.re, ci.re);
    if ci_complex {
        re -= ci.im;
    }
    if cr_complex && imag.is_some() {
        im += cr.im;
    }
    Ok(Complex::new(re, im))
}

/// One argument of `complex()`; `what` completes the TypeError for a value that is no number.
fn part(interp: &mut Interp, v: &Value, what: &str) -> PyResult<(Complex, bool)> {
    to_complex(interp, v)?
        .ok_or_else(|| err!(TypeError, "complex() {what}, not '{}'", type_name(v)))
}

/// A value as a complex number, as CPython's `PyComplex_AsCComplex` reads one: a complex (its
/// own, or what `__complex__` returns), else a real number through `float()` (ints, floats,
/// objects with `__float__` or `__index__`, subclasses of int and float). The flag says whether
/// it was complex; `None` when the value is no number (the caller words the TypeError).
pub(crate) fn to_complex(interp: &mut Interp, v: &Value) -> PyResult<Option<(Complex, bool)>> {
    if let Some(c) = as_complex(v) {
        return Ok(Some((c, true)));
    }
    if let Some(m) = interp.lookup_special(v, "__complex__") {
        let r = interp.call(&m, std::slice::from_ref(v))?;
        return match as_complex(&r) {
            Some(c) => Ok(Some((c, true))),
            None => Err(err!(
                TypeError,
                "__complex__ returned non-complex (type {})",
                type_name(&r)
            )),
        };
    }
    let numeric = match v {
        Value::Int(_) | Value::BigInt(_) | Value::Bool(_) | Value::Float(_) => true,
        Value::Instance(_) => {
            interp.lookup_special(v, "__float__").is_some()
                || interp.lookup_special(v, "__index__").is_some()
                || crate::object::builtin_base(v).is_some_and(|b| {
                    matches!(b, Value::Int(_) | Value::BigInt(_) | Value::Float(_))
                })
        }
        _ => false,
    };
    if !numeric {
        return Ok(None);
    }
    match crate::builtins::construct::to_float(interp, v)? {
        Value::Float(f) => Ok(Some((Complex::new(f, 0.0), false))),
        _ => Ok(None),
    }
}

/// Parse `complex("1+2j")` as CPython: optional spaces and parentheses around `<float>`,
/// `<float>j`, `<float><signed float>j`, `<float><sign>j`, `<sign>j` or `j`; underscores only
/// between digits.
pub fn parse_complex(text: &str) -> Option<Complex> {
    let cleaned = strip_underscores(text.trim_matches(char::is_whitespace))?;
    let mut s = cleaned.as_str();
    if let Some(inner) = s.strip_prefix('(') {
        s = inner.strip_suffix(')')?.trim_matches(char::is_whitespace);
    }
    let b = s.as_bytes();
    let (first, n) = float_prefix(s);
    let (re, im);
    let mut pos;
    if n > 0 {
        pos = n;
        match b.get(pos) {
            Some(b'+') | Some(b'-') => {
                re = first;
                let (second, m) = float_prefix(&s[pos..]);
                if m > 0 {
                    im = second;
                    pos += m;
                } else {
                    im = if b[pos] == b'+' { 1.0 } else { -1.0 };
                    pos += 1;
                }
                if !matches!(b.get(pos), Some(b'j') | Some(b'J')) {
                    return None;
                }
                pos += 1;
            }
            Some(b'j') | Some(b'J') => {
                re = 0.0;
                im = first;
                pos += 1;
            }
            _ => {
                re = first;
                im = 0.0;
            }
        }
    } else {
        pos = 0;
        im = match b.first() {
            Some(b'+') => {
                pos = 1;
                1.0
            }
            Some(b'-') => {
                pos = 1;
                -1.0
            }
            _ => 1.0,
        };
        re = 0.0;
        if !matches!(b.get(pos), Some(b'j') | Some(b'J')) {
            return None;
        }
        pos += 1;
    }
    (pos == b.len()).then_some(Complex::new(re, im))
}

/// The text without underscores, if each one stands between two digits.
fn strip_underscores(s: &str) -> Option<String> {
    let b = s.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'_' {
            let before = i > 0 && b[i - 1].is_ascii_digit();
            let after = b.get(i + 1).is_some_and(u8::is_ascii_digit);
            if !before || !after {
                return None;
            }
        }
    }
    Some(s.replace('_', ""))
}

/// The longest prefix of `s` that is a float as `float()` reads one (sign, digits with an
/// optional point and exponent, or `inf`/`infinity`/`nan`): its value and length, or length 0.
fn float_prefix(s: &str) -> (f64, usize) {
    let b = s.as_bytes();
    let mut i = 0;
    let negative = match b.first() {
        Some(b'+') => {
            i = 1;
            false
        }
        Some(b'-') => {
            i = 1;
            true
        }
        _ => false,
    };
    let lower = s[i..].to_ascii_lowercase();
    for (word, value) in [
        ("infinity", f64::INFINITY),
        ("inf", f64::INFINITY),
        ("nan", f64::NAN),
    ] {
        if lower.starts_with(word) {
            let v = if negative { -value } else { value };
            return (v, i + word.len());
        }
    }
    let start = i;
    let mut digits = 0;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
        digits += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return (0.0, 0);
    }
    if matches!(b.get(i), Some(b'e') | Some(b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+') | Some(b'-')) {
            j += 1;
        }
        if b.get(j).is_some_and(u8::is_ascii_digit) {
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            i = j;
        }
    }
    match s[start..i].parse::<f64>() {
        Ok(v) => (if negative { -v } else { v }, i),
        Err(_) => (0.0, 0),
    }
}
