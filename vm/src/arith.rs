//! Arithmetic operators on numbers: the glue between the VM's `Binary` opcode and the `num` library.
//!
//! Two inline ints go through the `i64` helpers first; when one of those overflows, the same
//! operation is redone on big ints (the promotion path), and results are normalised back to
//! `Value::Int` whenever they fit.

use std::borrow::Cow;

use minivm_compiler::bytecode::BinOp;

use crate::interp::ops::Num;
use crate::num::arith as a;
pub use crate::num::arith::cmp_int_float;
use crate::num::bigint::{self, BigInt};
pub use crate::num::NumError;
use crate::num::{Int, NumResult, INT_OVERFLOW};
use crate::object::ExcKind;
use crate::value::Value;
use crate::PyErr;

impl From<NumError> for PyErr {
    fn from(e: NumError) -> PyErr {
        let kind = match &e {
            NumError::ZeroDivision(_) => ExcKind::ZeroDivisionError,
            NumError::Overflow(_) => ExcKind::OverflowError,
            NumError::Value(_) => ExcKind::ValueError,
            NumError::Type(_) => ExcKind::TypeError,
            NumError::Unsupported(_) => ExcKind::NotImplementedError,
            NumError::Memory => ExcKind::MemoryError,
        };
        PyErr::new(kind, e.message())
    }
}

impl From<Int> for Value {
    fn from(i: Int) -> Value {
        match i {
            Int::Small(i) => Value::Int(i),
            Int::Big(b) => Value::from(b),
        }
    }
}

/// An `i128` (range arithmetic, counters) as a Python int: inline when it fits, else big.
pub fn int_value(n: i128) -> Value {
    match i64::try_from(n) {
        Ok(i) => Value::Int(i),
        Err(_) => Value::from(BigInt::from(n)),
    }
}

/// A number as a float: `OverflowError` for an int too large for one.
pub fn to_f64(n: Num) -> NumResult<f64> {
    Ok(match n {
        Num::Int(i) => i as f64,
        Num::Big(b) => bigint::to_f64(b)?,
        Num::Float(f) => f,
    })
}

/// An int operand as a big int (`None` for a float), borrowed when it already is one.
pub fn to_big(n: Num<'_>) -> Option<Cow<'_, BigInt>> {
    match n {
        Num::Int(i) => Some(Cow::Owned(BigInt::from(i))),
        Num::Big(b) => Some(Cow::Borrowed(b)),
        Num::Float(_) => None,
    }
}

/// `x op y` for two numbers, with Python's result type and errors.
pub fn arith(op: BinOp, x: Num, y: Num) -> NumResult<Value> {
    if let (Num::Int(i), Num::Int(j)) = (x, y) {
        return int_arith(op, i, j);
    }
    if let (Some(i), Some(j)) = (to_big(x), to_big(y)) {
        return big_arith(op, &i, &j);
    }
    let (f, g) = (to_f64(x)?, to_f64(y)?);
    if op == BinOp::Pow && f < 0.0 && f.is_finite() && g.is_finite() && g != g.floor() {
        // A negative finite base to a fractional power: a complex result, as CPython's
        // `float_pow` (which takes an infinite base first: `(-inf) ** 1.5` is `inf`,
        // `(-inf) ** -2.25` is `0.0`, both `a::float_pow`'s).
        use crate::builtins::complex::{complex_pow, new_complex, Complex};
        return match complex_pow(Complex::new(f, 0.0), Complex::new(g, 0.0)) {
            Ok(c) => Ok(new_complex(c)),
            Err(_) => Err(NumError::Overflow("complex exponentiation")),
        };
    }
    // A NaN result is a new object (`num::new_float`), as every float result is in CPython.
    Ok(Value::Float(crate::num::new_float(match op {
        BinOp::Add => f + g,
        BinOp::Sub => f - g,
        BinOp::Mul => f * g,
        BinOp::Div => a::float_truediv(f, g)?,
        BinOp::FloorDiv => a::float_floordiv(f, g)?,
        BinOp::Mod => a::float_mod(f, g)?,
        BinOp::Pow => a::float_pow(f, g)?,
        _ => {
            let tn = |n: Num| match n {
                Num::Int(_) | Num::Big(_) => "int",
                Num::Float(_) => "float",
            };
            return Err(NumError::Type(format!(
                "unsupported operand type(s) for {}: '{}' and '{}'",
                op.symbol(),
                tn(x),
                tn(y)
            )));
        }
    })))
}

/// Two inline ints: the `i64` helpers, promoting to big ints when a result does not fit.
fn int_arith(op: BinOp, x: i64, y: i64) -> NumResult<Value> {
    let r = match op {
        BinOp::Add => a::int_add(x, y),
        BinOp::Sub => a::int_sub(x, y),
        BinOp::Mul => a::int_mul(x, y),
        BinOp::Div => return a::int_truediv(x, y).map(Value::Float),
        BinOp::FloorDiv => a::int_floordiv(x, y),
        BinOp::Mod => a::int_mod(x, y),
        BinOp::Pow => match a::int_pow(x, y) {
            Ok(a::IntOrFloat::Int(i)) => Ok(i),
            Ok(a::IntOrFloat::Float(f)) => return Ok(Value::Float(f)),
            Err(e) => Err(e),
        },
        BinOp::LShift => a::int_lshift(x, y),
        BinOp::RShift => a::int_rshift(x, y),
        BinOp::BitOr => Ok(x | y),
        BinOp::BitXor => Ok(x ^ y),
        BinOp::BitAnd => Ok(x & y),
        BinOp::MatMul => {
            return Err(NumError::Type(
                "unsupported operand type(s) for @: 'int' and 'int'".into(),
            ))
        }
    };
    match r {
        Ok(i) => Ok(Value::Int(i)),
        Err(NumError::Overflow(m)) if m == INT_OVERFLOW => {
            big_arith(op, &BigInt::from(x), &BigInt::from(y))
        }
        Err(e) => Err(e),
    }
}

/// Two ints at least one of which is big (or whose `i64` result overflowed).
pub fn big_arith(op: BinOp, x: &BigInt, y: &BigInt) -> NumResult<Value> {
    let r = match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => bigint::mul(x, y)?,
        BinOp::Div => return bigint::truediv(x, y).map(Value::Float),
        BinOp::FloorDiv => bigint::floordiv(x, y)?,
        BinOp::Mod => bigint::modulo(x, y)?,
        BinOp::Pow => {
            if y.sign() == bigint::Sign::Minus {
                // A negative exponent gives a float, from both operands as floats (as CPython).
                let (f, g) = (bigint::to_f64(x)?, bigint::to_f64(y)?);
                return a::float_pow(f, g).map(Value::Float);
            }
            bigint::pow(x, y)?
        }
        BinOp::LShift => bigint::lshift(x, y)?,
        BinOp::RShift => bigint::rshift(x, y)?,
        BinOp::BitOr => x | y,
        BinOp::BitXor => x ^ y,
        BinOp::BitAnd => x & y,
        BinOp::MatMul => {
            return Err(NumError::Type(
                "unsupported operand type(s) for @: 'int' and 'int'".into(),
            ))
        }
    };
    Ok(Value::from(r))
}
