//! Arithmetic operators on numbers: the glue between the VM's `Binary` opcode and the `num` library.

use minivm_compiler::bytecode::BinOp;

use crate::interp::ops::Num;
use crate::num::arith as a;
pub use crate::num::arith::cmp_int_float;
pub use crate::num::NumError;
use crate::num::NumResult;
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

pub fn overflow() -> PyErr {
    PyErr::new(ExcKind::OverflowError, crate::num::INT_OVERFLOW)
}

pub fn to_f64(n: Num) -> f64 {
    match n {
        Num::Int(i) => i as f64,
        Num::Float(f) => f,
    }
}

/// `x op y` for two numbers, with Python's result type and errors.
pub fn arith(op: BinOp, x: Num, y: Num) -> NumResult<Value> {
    if let (Num::Int(i), Num::Int(j)) = (x, y) {
        return int_arith(op, i, j);
    }
    let (f, g) = (to_f64(x), to_f64(y));
    Ok(Value::Float(match op {
        BinOp::Add => f + g,
        BinOp::Sub => f - g,
        BinOp::Mul => f * g,
        BinOp::Div => a::float_truediv(f, g)?,
        BinOp::FloorDiv => a::float_floordiv(f, g)?,
        BinOp::Mod => a::float_mod(f, g)?,
        BinOp::Pow => a::float_pow(f, g)?,
        _ => {
            let tn = |n: Num| match n {
                Num::Int(_) => "int",
                Num::Float(_) => "float",
            };
            return Err(NumError::Type(format!(
                "unsupported operand type(s) for {}: '{}' and '{}'",
                op.symbol(),
                tn(x),
                tn(y)
            )));
        }
    }))
}

fn int_arith(op: BinOp, x: i64, y: i64) -> NumResult<Value> {
    Ok(Value::Int(match op {
        BinOp::Add => a::int_add(x, y)?,
        BinOp::Sub => a::int_sub(x, y)?,
        BinOp::Mul => a::int_mul(x, y)?,
        BinOp::Div => return a::int_truediv(x, y).map(Value::Float),
        BinOp::FloorDiv => a::int_floordiv(x, y)?,
        BinOp::Mod => a::int_mod(x, y)?,
        BinOp::Pow => {
            return Ok(match a::int_pow(x, y)? {
                a::IntOrFloat::Int(i) => Value::Int(i),
                a::IntOrFloat::Float(f) => Value::Float(f),
            })
        }
        BinOp::LShift => a::int_lshift(x, y)?,
        BinOp::RShift => a::int_rshift(x, y)?,
        BinOp::BitOr => x | y,
        BinOp::BitXor => x ^ y,
        BinOp::BitAnd => x & y,
        BinOp::MatMul => {
            return Err(NumError::Type(
                "unsupported operand type(s) for @: 'int' and 'int'".into(),
            ))
        }
    }))
}
