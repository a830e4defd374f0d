//! `_operator`: the functions of `operator` that do one operation of the language (`eq`,
//! `add`, `iadd`, `getitem`, `not_`, ...), written in Rust. CPython's are C functions, which a
//! class body does not bind as methods (`__eq__ = operator.eq` calls `operator.eq(other)`, an
//! argument short, as CPython does); `vm/lib/operator.mini` takes them from here and writes the
//! rest (`attrgetter`, `countOf`, `length_hint`, ...) in the mini language.

use crate::builtins::args::{Sig, Style};
use crate::builtins::Methods;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::Module;
use crate::stdlib::module_from_fns;
use crate::value::Value;
use crate::PyResult;
use minivm_compiler::ast::{BinOp, CmpOp};

/// The `N` positional arguments of the function `name` (CPython's "eq expected 2 arguments,
/// got 1", and "_operator.eq() takes no keyword arguments").
fn operands<'a, const N: usize>(name: &str, args: &Args<'a>) -> PyResult<[&'a Value; N]> {
    let params: &[&str] = &["a", "b", "c"][..N];
    let sig = Sig {
        owner: Some("_operator"),
        ..Sig::pos(name, Style::Unpack, params, N)
    };
    let bound = sig.bind::<N>(args)?;
    Ok(bound.map(|v| v.unwrap_or(&Value::None)))
}

macro_rules! binary {
    ($($fname:ident $name:literal $op:ident $how:ident;)*) => {$(
        fn $fname(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
            let [a, b] = operands::<2>($name, &args)?;
            interp.$how(BinOp::$op, a, b)
        }
    )*};
}

binary! {
    add "add" Add binary; sub "sub" Sub binary; mul "mul" Mul binary;
    matmul "matmul" MatMul binary; truediv "truediv" Div binary;
    floordiv "floordiv" FloorDiv binary; modulo "mod" Mod binary; power "pow" Pow binary;
    lshift "lshift" LShift binary; rshift "rshift" RShift binary; and_ "and_" BitAnd binary;
    or_ "or_" BitOr binary; xor "xor" BitXor binary;
    iadd "iadd" Add inplace; isub "isub" Sub inplace; imul "imul" Mul inplace;
    imatmul "imatmul" MatMul inplace; itruediv "itruediv" Div inplace;
    ifloordiv "ifloordiv" FloorDiv inplace; imod "imod" Mod inplace; ipow "ipow" Pow inplace;
    ilshift "ilshift" LShift inplace; irshift "irshift" RShift inplace;
    iand "iand" BitAnd inplace; ior "ior" BitOr inplace; ixor "ixor" BitXor inplace;
}

macro_rules! compare {
    ($($fname:ident $name:literal $op:ident;)*) => {$(
        fn $fname(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
            let [a, b] = operands::<2>($name, &args)?;
            interp.compare(CmpOp::$op, a, b)
        }
    )*};
}

compare! {
    lt "lt" Lt; le "le" LtE; eq "eq" Eq; ne "ne" NotEq; ge "ge" GtE; gt "gt" Gt;
}

fn is_(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [a, b] = operands::<2>("is_", &args)?;
    Ok(Value::Bool(a.is(b)))
}

fn is_not(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [a, b] = operands::<2>("is_not", &args)?;
    Ok(Value::Bool(!a.is(b)))
}

fn not_(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [a] = operands::<1>("not_", &args)?;
    Ok(Value::Bool(!interp.truthy(a)?))
}

fn truth(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [a] = operands::<1>("truth", &args)?;
    Ok(Value::Bool(interp.truthy(a)?))
}

macro_rules! unary {
    ($($fname:ident $name:literal $how:ident;)*) => {$(
        fn $fname(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
            let [a] = operands::<1>($name, &args)?;
            interp.$how(a)
        }
    )*};
}

unary! {
    neg "neg" unary_neg; pos "pos" unary_pos; inv "inv" unary_invert;
    invert "invert" unary_invert;
}

fn contains(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [a, b] = operands::<2>("contains", &args)?;
    Ok(Value::Bool(interp.contains(a, b)?))
}

fn getitem(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [a, b] = operands::<2>("getitem", &args)?;
    interp.getitem(a, b)
}

fn setitem(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [a, b, c] = operands::<3>("setitem", &args)?;
    interp.setitem(a, b.clone(), c.clone())?;
    Ok(Value::None)
}

fn delitem(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [a, b] = operands::<2>("delitem", &args)?;
    interp.delitem(a, b)?;
    Ok(Value::None)
}

const FUNCS: Methods = &[
    ("lt", lt),
    ("le", le),
    ("eq", eq),
    ("ne", ne),
    ("ge", ge),
    ("gt", gt),
    ("not_", not_),
    ("truth", truth),
    ("is_", is_),
    ("is_not", is_not),
    ("add", add),
    ("sub", sub),
    ("mul", mul),
    ("matmul", matmul),
    ("truediv", truediv),
    ("floordiv", floordiv),
    ("mod", modulo),
    ("pow", power),
    ("neg", neg),
    ("pos", pos),
    ("inv", inv),
    ("invert", invert),
    ("lshift", lshift),
    ("rshift", rshift),
    ("and_", and_),
    ("or_", or_),
    ("xor", xor),
    ("contains", contains),
    ("getitem", getitem),
    ("setitem", setitem),
    ("delitem", delitem),
    ("iadd", iadd),
    ("isub", isub),
    ("imul", imul),
    ("imatmul", imatmul),
    ("itruediv", itruediv),
    ("ifloordiv", ifloordiv),
    ("imod", imod),
    ("ipow", ipow),
    ("ilshift", ilshift),
    ("irshift", irshift),
    ("iand", iand),
    ("ior", ior),
    ("ixor", ixor),
];

/// The module `_operator`.
pub fn module() -> Ref<Module> {
    module_from_fns("_operator", FUNCS, Vec::new())
}
