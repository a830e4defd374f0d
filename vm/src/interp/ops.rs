//! Stage 4 (VM), the interpreter.
//! Operators: arithmetic, comparison, truth and equality, with Python's rules for mixing types.
//!
//! Fast paths for two ints sit in the dispatch loop; everything else comes here. Operators on
//! instances of user classes go through their special methods (`__add__`, `__lt__`, ...).

use std::cmp::Ordering;

use minivm_compiler::bytecode::{BinOp, CmpOp};

use crate::arith as num;
use crate::builtins::bytes_methods;
use crate::heap::Ref;
use crate::interp::Interp;
use crate::num::bigint::{self, BigInt};
use crate::object::class::bases_of;
use crate::object::{builtin_base, type_name, KeySet, Payload, PyStr, SetObj};
use crate::value::Value;
use crate::{err, PyErr, PyResult};

/// A number as the arithmetic helpers see it (bools are ints; a big int is borrowed).
#[derive(Clone, Copy, Debug)]
pub enum Num<'a> {
    Int(i64),
    /// An int beyond `i64` (never one that fits: `Value::BigInt` is normalised).
    Big(&'a BigInt),
    Float(f64),
}

pub fn as_number(v: &Value) -> Option<Num<'_>> {
    match v {
        Value::Int(i) => Some(Num::Int(*i)),
        Value::Bool(b) => Some(Num::Int(*b as i64)),
        Value::Float(f) => Some(Num::Float(*f)),
        Value::BigInt(b) => Some(Num::Big(b)),
        _ => None,
    }
}

/// Exact numeric equality (an int equals a float only if the float is exactly that integer).
pub fn num_eq(a: Num, b: Num) -> bool {
    num_cmp(a, b) == Some(Ordering::Equal)
}

/// Exact numeric ordering; `None` when a NaN is involved.
pub fn num_cmp(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(&y),
        (Num::Int(x), Num::Float(y)) => num::cmp_int_float(x, y),
        (Num::Float(x), Num::Int(y)) => num::cmp_int_float(y, x).map(Ordering::reverse),
        (Num::Big(x), Num::Big(y)) => Some(x.cmp(y)),
        (Num::Big(x), Num::Int(y)) => Some((*x).cmp(&BigInt::from(y))),
        (Num::Int(x), Num::Big(y)) => Some(BigInt::from(x).cmp(y)),
        (Num::Big(x), Num::Float(y)) => bigint::cmp_float(x, y),
        (Num::Float(x), Num::Big(y)) => bigint::cmp_float(y, x).map(Ordering::reverse),
    }
}

fn binop_dunder(op: BinOp) -> (&'static str, &'static str, &'static str) {
    match op {
        BinOp::Add => ("__add__", "__radd__", "__iadd__"),
        BinOp::Sub => ("__sub__", "__rsub__", "__isub__"),
        BinOp::Mul => ("__mul__", "__rmul__", "__imul__"),
        BinOp::Div => ("__truediv__", "__rtruediv__", "__itruediv__"),
        BinOp::FloorDiv => ("__floordiv__", "__rfloordiv__", "__ifloordiv__"),
        BinOp::Mod => ("__mod__", "__rmod__", "__imod__"),
        BinOp::Pow => ("__pow__", "__rpow__", "__ipow__"),
        BinOp::LShift => ("__lshift__", "__rlshift__", "__ilshift__"),
        BinOp::RShift => ("__rshift__", "__rrshift__", "__irshift__"),
        BinOp::BitOr => ("__or__", "__ror__", "__ior__"),
        BinOp::BitXor => ("__xor__", "__rxor__", "__ixor__"),
        BinOp::BitAnd => ("__and__", "__rand__", "__iand__"),
        BinOp::MatMul => ("__matmul__", "__rmatmul__", "__imatmul__"),
    }
}

/// A value whose `==` with another such value is decided without running Python code (and as
/// `key_eq` decides it): the operands of the in-place scan of `x in list`.
#[inline]
fn is_scalar(v: &Value) -> bool {
    matches!(
        v,
        Value::Int(_) | Value::Bool(_) | Value::Float(_) | Value::Str(_) | Value::None
    )
}

/// `a op b` for `+ - *` of ints and bools (at least one a bool, or ints the dispatch loop's
/// own paths left) when the result fits in an `i64`; `None` for anything else.
#[inline(always)]
fn int_bool_arith(op: BinOp, a: &Value, b: &Value) -> Option<Value> {
    if let (Value::Int(_) | Value::Bool(_), Value::Int(_) | Value::Bool(_)) = (a, b) {
        let (x, y) = (int_of(a), int_of(b));
        let r = match op {
            BinOp::Add => x.checked_add(y),
            BinOp::Sub => x.checked_sub(y),
            BinOp::Mul => x.checked_mul(y),
            _ => None,
        };
        return r.map(Value::Int);
    }
    None
}

/// The int an int or a bool stands for (0 for anything else; callers pass only those two).
#[inline(always)]
fn int_of(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Bool(b) => i64::from(*b),
        _ => 0,
    }
}

/// Whether `b`'s class is a proper subclass of `a`'s (two instances of user classes): then `b`'s
/// reflected operator is asked first.
fn subclass_on_right(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Instance(x), Value::Instance(y)) => {
            !Ref::ptr_eq(&x.class.get(), &y.class.get()) && y.class.is_subclass(&x.class.get())
        }
        (Value::Complex(_), Value::Instance(y)) => {
            let complex = crate::builtins::complex::complex_class_ref();
            !Ref::ptr_eq(&y.class.get(), complex) && y.class.is_subclass(complex)
        }
        _ => false,
    }
}

impl Interp {
    /// `a op b` for any operands.
    pub fn binary(&mut self, op: BinOp, a: &Value, b: &Value) -> PyResult<Value> {
        // `list + list` (`items[:i] + items[i + 1:]`, `[x] + rest`): straight to the copy, past
        // the number, metaclass and bytes tests below and `binary_builtin`'s dispatch (about
        // 100 of the 450 machine instructions of a short concatenation, callgrind on nqueens).
        if let (BinOp::Add, Value::List(x), Value::List(y)) = (op, a, b) {
            return Ok(concat_lists(x, y));
        }
        // `&`, `|` and `^` of two bools give a bool (`True & False` is False, not 0).
        if let (Value::Bool(x), Value::Bool(y)) = (a, b) {
            match op {
                BinOp::BitAnd => return Ok(Value::Bool(x & y)),
                BinOp::BitOr => return Ok(Value::Bool(x | y)),
                BinOp::BitXor => return Ok(Value::Bool(x ^ y)),
                _ => {}
            }
        }
        // An int with a bool (`acc + (first == w)`), or two bools, under `+ - *`: the dispatch
        // loop's int paths take ints only, and `num::arith` got there through two conversions
        // (callgrind: 167 machine instructions per `int + bool` from the loop, unpack_sequence).
        if let Some(r) = int_bool_arith(op, a, b) {
            return Ok(r);
        }
        // An instance with another or with a number (a user class's `__add__`, Decimal,
        // Fraction) goes straight to the special methods below: the built-in number, complex,
        // metaclass, bytes, str and container cases cannot take these operands (about 180 of
        // the ~1,670 machine instructions of a Decimal operator, callgrind on decimal_pi).
        if !instance_with_number(a, b) {
            if let (Some(x), Some(y)) = (as_number(a), as_number(b)) {
                return num::arith(op, x, y).map_err(PyErr::from);
            }
            if let Some(r) = crate::builtins::complex::arith(op, a, b) {
                return r;
            }
            if has_meta(a) || has_meta(b) {
                // A class whose metaclass defines the operator (`C | D`) is asked before
                // `type`'s own meaning (a union).
                let (name, rname, _) = binop_dunder(op);
                if let Some(r) = self.try_dunder_binary(a, b, name, rname, false)? {
                    return Ok(r);
                }
            }
            if let Some(r) = self.binary_builtin(op, a, b)? {
                return Ok(r);
            }
        }
        // (A complex number with anything but a built-in number: its class's methods, as an
        // instance's, so that a subclass on the right is asked first.)
        if matches!(a, Value::Instance(_) | Value::Complex(_))
            || matches!(b, Value::Instance(_) | Value::Complex(_))
        {
            let (name, rname, _) = binop_dunder(op);
            if let Some(r) = self.try_dunder_binary(a, b, name, rname, false)? {
                return Ok(r);
            }
            if let Some((x, y)) = bases_of(a, b) {
                return self.binary(op, x, y).map_err(|e| {
                    if type_error_starts(&e, "unsupported operand") {
                        self.unsupported_operands(op.symbol(), a, b)
                    } else {
                        e
                    }
                });
            }
        }
        if op == BinOp::BitOr && unionable(a) && unionable(b) {
            // `int | None`, `list[int] | str` (PEP 604): a `types.UnionType` (vm/lib/_union.mini).
            let m = self.import_module("_union")?;
            let make = self.getattr(&m, "make_union")?;
            return self.call(&make, &[a.clone(), b.clone()]);
        }
        if let (BinOp::Add, Value::Str(_) | Value::List(_) | Value::Tuple(_)) = (op, a) {
            let t = type_name(a);
            return Err(err!(
                TypeError,
                "can only concatenate {t} (not \"{}\") to {t}",
                type_name(b)
            ));
        }
        if op == BinOp::Mul {
            // What neither operand's `*` took: a sequence repeated by a non-int.
            let seq = |v: &Value| {
                matches!(
                    v,
                    Value::Str(_)
                        | Value::List(_)
                        | Value::Tuple(_)
                        | Value::Bytes(_)
                        | Value::ByteArray(_)
                )
            };
            let other = if seq(a) { Some(b) } else { seq(b).then_some(a) };
            if let Some(other) = other {
                // A count with `__index__` repeats as the int it stands for (`"ab" * n`).
                if matches!(other, Value::Instance(_)) {
                    if let Some(n) = self.number_index(other)? {
                        return if seq(a) {
                            self.binary(op, a, &n)
                        } else {
                            self.binary(op, &n, b)
                        };
                    }
                }
                return Err(err!(
                    TypeError,
                    "can't multiply sequence by non-int of type '{}'",
                    type_name(other)
                ));
            }
        }
        Err(self.unsupported_operands(op.symbol(), a, b))
    }

    pub fn unsupported_operands(&self, sym: &str, a: &Value, b: &Value) -> PyErr {
        if sym == "**" {
            return err!(
                TypeError,
                "unsupported operand type(s) for ** or pow(): '{}' and '{}'",
                type_name(a),
                type_name(b)
            );
        }
        // `print >> f, x` (Python 2's print statement): CPython's `binary_op` adds a hint when
        // the left operand of a plain `>>` is a built-in function named print.
        if sym == ">>" && matches!(a, Value::Native(f) if f.name == "print") {
            return err!(
                TypeError,
                "unsupported operand type(s) for >>: '{}' and '{}'. Did you mean \"print(<message>, \
                 file=<output_stream>)\"?",
                type_name(a),
                type_name(b)
            );
        }
        err!(
            TypeError,
            "unsupported operand type(s) for {sym}: '{}' and '{}'",
            type_name(a),
            type_name(b)
        )
    }

    /// `a op= b`: lists and sets (and user classes with `__iadd__`...) change in place.
    pub fn inplace(&mut self, op: BinOp, a: &Value, b: &Value) -> PyResult<Value> {
        // `n += flag` (an int with a bool): ints have no in-place methods, so `binary`'s
        // answer, taken before the in-place tests (callgrind: 243 machine instructions per
        // `t += b` above `t += 1` from a loop before, CPython 3.11 73).
        if let Some(r) = int_bool_arith(op, a, b) {
            return Ok(r);
        }
        if let Some(r) = self.inplace_builtin(op, a, b)? {
            return Ok(r);
        }
        if matches!(a, Value::Instance(_)) || has_meta(a) {
            let (_, _, iname) = binop_dunder(op);
            match self.lookup_special(a, iname) {
                Some(m) => {
                    let r = self.call_operand(&m, iname, a, b)?;
                    if !matches!(r, Value::NotImplemented) {
                        return Ok(r);
                    }
                }
                // An instance of a subclass of `list` (`set`, `dict`, `bytearray`) inherits
                // the type's own in-place method, which changes the value inside it and keeps
                // `l` after `l += x`, whatever `__add__` the subclass defines (CPython tries
                // `__iadd__` first); where the type has none, the binary operator follows.
                None => {
                    if let Some(base) = builtin_base(a) {
                        if let Some(r) = self.inplace_builtin(op, base, b)? {
                            return Ok(if r.is(base) { a.clone() } else { r });
                        }
                    }
                }
            }
        }
        // CPython names the augmented operator when neither side supports it: `+=`, `**=`.
        self.binary(op, a, b).map_err(|e| {
            if type_error_starts(&e, "unsupported operand") {
                self.unsupported_operands(&format!("{}=", op.symbol()), a, b)
            } else {
                e
            }
        })
    }

    /// The in-place operators the mutable built-in types define (`list.__iadd__`,
    /// `set.__ior__`, `dict.__ior__`, `bytearray.__imul__`...), applied to `a` itself; `None`
    /// where `a`'s type has none for `op` or refuses `b` (CPython's `NotImplemented`).
    fn inplace_builtin(&mut self, op: BinOp, a: &Value, b: &Value) -> PyResult<Option<Value>> {
        // `l *= n` with an object that has `__index__` (and no `__rmul__`, which CPython asks
        // first): repeated in place as by the int it stands for.
        if op == BinOp::Mul
            && matches!(a, Value::List(_) | Value::ByteArray(_))
            && matches!(b, Value::Instance(_))
            && self.lookup_special(b, "__rmul__").is_none()
        {
            if let Some(n) = self.number_index(b)? {
                return self.inplace_builtin(op, a, &n);
            }
        }
        match (op, a) {
            (BinOp::Add, Value::ByteArray(_)) => {
                if let Some(r) = bytes_methods::inplace_add(a, b)? {
                    return Ok(Some(r));
                }
            }
            (BinOp::Mul, Value::ByteArray(ba))
                if crate::builtins::args::index_sized(b).is_some() =>
            {
                // In place, as CPython: another name for the bytearray sees the repetition.
                let n = match crate::builtins::args::index_sized(b) {
                    Some(n) => n?.max(0) as usize,
                    None => 0,
                };
                let mut data = ba.data.lock();
                let len = data.len();
                let new_len = len
                    .checked_mul(n)
                    .filter(|&c| c <= isize::MAX as usize)
                    .ok_or_else(|| err!(MemoryError, ""))?;
                ba.check_resize(len, new_len)?;
                if n == 0 {
                    data.clear();
                } else if len > 0 {
                    data.reserve(len * (n - 1));
                    for _ in 1..n {
                        data.extend_from_within(..len);
                    }
                }
                return Ok(Some(a.clone()));
            }
            (BinOp::Add, Value::List(l)) => {
                let items = match b {
                    Value::List(bl) if Ref::ptr_eq(l, bl) => l.snapshot(),
                    _ => self.collect_iter(b)?,
                };
                l.items.lock().extend(items);
                return Ok(Some(a.clone()));
            }
            (BinOp::Mul, Value::List(l)) => {
                let Some(n) = crate::builtins::args::index_sized(b) else {
                    if matches!(b, Value::Instance(_)) {
                        // Its `__rmul__` (`l *= x`): the binary operator's turn.
                        return Ok(None);
                    }
                    return Err(err!(
                        TypeError,
                        "can't multiply sequence by non-int of type '{}'",
                        type_name(b)
                    ));
                };
                // The size is checked before growing, so the list's lock is never held while
                // gigabytes are built; an empty list or a count <= 0 costs nothing.
                let n = n?.max(0) as usize;
                let mut items = l.items.lock();
                if n == 0 {
                    items.clear();
                } else if !items.is_empty() {
                    let len = items.len();
                    crate::builtins::args::repeated_items(len, n)?;
                    crate::heap::repeat_in_place(&mut items, n);
                }
                return Ok(Some(a.clone()));
            }
            (BinOp::BitOr | BinOp::BitAnd | BinOp::Sub | BinOp::BitXor, Value::Set(s))
                if !s.frozen && matches!(b, Value::Set(_)) =>
            {
                // The receiver's own table is changed as CPython changes it (its layout, and so
                // its iteration order, is not that of a new set).
                let c = match op {
                    BinOp::BitOr => '|',
                    BinOp::BitAnd => '&',
                    BinOp::Sub => '-',
                    _ => '^',
                };
                crate::builtins::set_methods::inplace_op(self, s, c, b)?;
                return Ok(Some(a.clone()));
            }
            (BinOp::BitOr, Value::Dict(_)) if matches!(b, Value::Dict(_)) => {
                self.dict_update(a, b, false)?;
                return Ok(Some(a.clone()));
            }
            _ => {}
        }
        Ok(None)
    }

    fn binary_builtin(&mut self, op: BinOp, a: &Value, b: &Value) -> PyResult<Option<Value>> {
        use Value::*;
        // `str % bytes` is str formatting with one argument (`'%r' % b'x'`), not bytes work.
        let str_format = op == BinOp::Mod && matches!(a, Str(_));
        if !str_format
            && (matches!(a, Bytes(_) | ByteArray(_)) || matches!(b, Bytes(_) | ByteArray(_)))
        {
            return bytes_methods::binary(self, op, a, b);
        }
        Ok(Some(match (op, a, b) {
            (BinOp::Add, Str(x), Str(y)) => Value::Str(Ref::new(PyStr::concat(x, y))),
            (BinOp::Add, List(x), List(y)) => concat_lists(x, y),
            (BinOp::Add, Tuple(x), Tuple(y)) => {
                let mut items = Vec::with_capacity(x.items.len() + y.items.len());
                items.extend_from_slice(&x.items);
                items.extend_from_slice(&y.items);
                Value::tuple(items)
            }
            (BinOp::Mul, Str(_) | List(_) | Tuple(_), Int(_) | Bool(_) | BigInt(_)) => {
                repeat(a, b)?
            }
            (BinOp::Mul, Int(_) | Bool(_) | BigInt(_), Str(_) | List(_) | Tuple(_)) => {
                repeat(b, a)?
            }
            (BinOp::Mod, Str(s), _) => Value::string(self.percent_format(s.as_str(), b)?),
            // Members equal by `__eq__` but not the same object: `s & t` keeps those of the side
            // CPython walks, as `s.intersection(t)` does.
            (BinOp::BitAnd, Set(x), Set(y))
                if [x, y].iter().any(|s| {
                    s.items
                        .lock()
                        .iter()
                        .any(crate::interp::containers::lookup_runs_python)
                }) =>
            {
                let mine = x.items.lock().clone();
                let r = crate::builtins::set_methods::intersection_of(self, &mine, b)?;
                Value::Set(Ref::new(SetObj::new(r, x.frozen)))
            }
            (BinOp::BitOr | BinOp::BitAnd | BinOp::Sub | BinOp::BitXor, Set(x), Set(y)) => {
                let r: KeySet = self.with_two_sets(x, y, |xs, ys| match op {
                    BinOp::BitOr => xs.union_set(ys),
                    BinOp::BitAnd => xs.intersection_set(ys),
                    BinOp::Sub => xs.difference_set(ys),
                    _ => xs.symmetric_difference_set(ys),
                })?;
                Value::Set(Ref::new(SetObj::new(r, x.frozen)))
            }
            (BinOp::BitOr, Dict(x), Dict(y)) => {
                let mut m = x.read().clone();
                let pairs: Vec<_> = y
                    .read()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                for (k, v) in pairs {
                    let k = self.resolve_in_keymap(&m, k)?;
                    m.insert(k, v);
                }
                Value::Dict(Ref::new(crate::object::Dict::from_map(m)))
            }
            _ => return Ok(Option::None),
        }))
    }

    /// `a.name(b)`, then `b.rname(a)`: the first answer that is not NotImplemented. The right
    /// operand goes first when its class is a proper subclass of the left's and, for arithmetic,
    /// gives the reflected method a meaning of its own (CPython's `binary_op1` and `slot_nb_*`:
    /// `A() + B()` with `class B(A)` defining `__radd__` calls B's); for a rich comparison
    /// (`compare`), inherited or not (`do_richcompare`: `A() < C()` with `class C(A)` calls
    /// `C.__gt__`).
    fn try_dunder_binary(
        &mut self,
        a: &Value,
        b: &Value,
        name: &str,
        rname: &str,
        compare: bool,
    ) -> PyResult<Option<Value>> {
        if let Some(r) = self.number_left_of_subclass(a, b, name, rname)? {
            return Ok(r);
        }
        if subclass_on_right(a, b) {
            if let Some(rm) = self.lookup_operand(b, rname) {
                if compare || !self.lookup_operand(a, rname).is_some_and(|m| m.is(&rm)) {
                    return self.try_reflected_first(a, b, name, rname, &rm);
                }
            }
        }
        if let Some(r) = self.ask_operand(a, b, name)? {
            return Ok(Some(r));
        }
        // Two operands of one type: an arithmetic operator does not ask the reflected method
        // (CPython's `binary_op1` and `slot_nb_*`: `N(1) + N(2)` is a TypeError when
        // `N.__add__` says NotImplemented, whatever `N.__radd__` would say); a comparison does.
        if !compare && Ref::ptr_eq(&crate::object::class_of(a), &crate::object::class_of(b)) {
            return Ok(None);
        }
        self.ask_operand(b, a, rname)
    }

    /// A built-in number on the left and an instance of a subclass of a built-in type on the
    /// right whose class is not a subclass of the left's type (`True + I(1)` with `class
    /// I(int)`, `True == J(1)`): CPython's `binary_op1` asks the left type's method first
    /// (`bool.__add__(True, I(1))` is 2), then the right's reflected one. `None` when the rule
    /// does not apply (then `I`'s reflected method goes first when `I` subclasses the left's
    /// type: `1 + I(1)`), `Some(answer)` otherwise, `Some(None)` if neither answered.
    fn number_left_of_subclass(
        &mut self,
        a: &Value,
        b: &Value,
        name: &str,
        rname: &str,
    ) -> PyResult<Option<Option<Value>>> {
        if !matches!(
            a,
            Value::Bool(_) | Value::Int(_) | Value::BigInt(_) | Value::Float(_)
        ) {
            return Ok(None);
        }
        let Value::Instance(right) = b else {
            return Ok(None);
        };
        let left = crate::object::class_of(a);
        if builtin_base(b).is_none() || right.class.is_subclass(&left) {
            return Ok(None);
        }
        if let Ok(m) = self.getattr(&Value::Class(left), name) {
            let r = self.call(&m, &[a.clone(), b.clone()])?;
            if !matches!(r, Value::NotImplemented) {
                return Ok(Some(Some(r)));
            }
        }
        self.ask_operand(b, a, rname).map(Some)
    }

    /// [`Self::try_dunder_binary`] for a rich comparison, one recursion level deeper while the
    /// special methods run, as CPython 3.11's `PyObject_RichCompare` holds one (`__lt__`
    /// recursing through `max` or `sorted` takes a level more a step than a plain call).
    fn compare_dunders(
        &mut self,
        a: &Value,
        b: &Value,
        name: &str,
        rname: &str,
    ) -> PyResult<Option<Value>> {
        self.enter_recursion(" in comparison")?;
        let r = self.try_dunder_binary(a, b, name, rname, true);
        self.leave_recursion();
        r
    }

    /// `x.name(y)` when `x`'s class has `name` (see [`Self::lookup_operand`]); `None` if it is
    /// missing or answers NotImplemented.
    fn ask_operand(&mut self, x: &Value, y: &Value, name: &str) -> PyResult<Option<Value>> {
        let Some(m) = self.lookup_operand(x, name) else {
            return Ok(None);
        };
        let r = self.call_operand(&m, name, x, y)?;
        Ok((!matches!(r, Value::NotImplemented)).then_some(r))
    }

    /// `m(x, y)`, special method `name` of operand `x`, for an operator. A sequence's built-in
    /// `__add__`, `__mul__`, `__rmul__` or `__mod__` raises its `TypeError` when called as a
    /// method, but an operator asks it as a number slot: `NotImplemented` lets the other
    /// operand's reflected method answer (`subclass::operator_slot`).
    fn call_operand(&mut self, m: &Value, name: &str, x: &Value, y: &Value) -> PyResult<Value> {
        if let Value::Native(n) = m {
            if n.kind == crate::object::NativeKind::SlotWrapper && n.name == name {
                if let Some(r) = crate::interp::subclass::operator_slot(self, name, x, y) {
                    return r;
                }
                if matches!(name, "__mul__" | "__rmul__" | "__imul__") && repeats_natively(x) {
                    return self.call_repeat(m, name, x, y);
                }
            }
        }
        self.call(m, &[x.clone(), y.clone()])
    }

    /// A deque's or array's own `__mul__`, `__rmul__` or `__imul__` asked by an operator: the
    /// method refuses a count that is no int with `PyNumber_AsSsize_t`'s words, which CPython's
    /// operator (the type's `sq_repeat` slot) says as "can't multiply sequence by non-int"
    /// (`2.0 * d` names the float); the reflected one leaves a built-in sequence on the left
    /// its own error (`'x' * d` names the deque).
    fn call_repeat(&mut self, m: &Value, name: &str, x: &Value, y: &Value) -> PyResult<Value> {
        match self.call(m, &[x.clone(), y.clone()]) {
            Err(e)
                if e.is(crate::object::ExcKind::TypeError)
                    && matches!(e.args().first(), Some(Value::Str(s)) if s.as_str()
                        == format!("'{}' object cannot be interpreted as an integer", type_name(y))) =>
            {
                if name == "__rmul__"
                    && matches!(
                        y,
                        Value::Str(_)
                            | Value::List(_)
                            | Value::Tuple(_)
                            | Value::Bytes(_)
                            | Value::ByteArray(_)
                    )
                {
                    // `'ab' * d`: the left sequence's own repeat refuses the deque.
                    Ok(Value::NotImplemented)
                } else {
                    Err(err!(
                        TypeError,
                        "can't multiply sequence by non-int of type '{}'",
                        type_name(y)
                    ))
                }
            }
            r => r,
        }
    }

    /// `b.rname(a)` first, then `a.name(b)`; `None` if both give NotImplemented (or are missing).
    fn try_reflected_first(
        &mut self,
        a: &Value,
        b: &Value,
        name: &str,
        rname: &str,
        reflected: &Value,
    ) -> PyResult<Option<Value>> {
        let r = self.call_operand(reflected, rname, b, a)?;
        if !matches!(r, Value::NotImplemented) {
            return Ok(Some(r));
        }
        self.ask_operand(a, b, name)
    }

    /// The special method an operator asks of an operand: its class's own (as
    /// [`Self::lookup_special`]), or for an instance of a subclass of a built-in data type that
    /// does not define it, the built-in type's (`int.__add__` for `class I(int)`), which is asked
    /// in its turn as in CPython (`I(1) + I(2)` is 3 even when `I` defines `__radd__`).
    fn lookup_operand(&self, v: &Value, name: &str) -> Option<Value> {
        if let Some(m) = self.lookup_special(v, name) {
            return Some(m);
        }
        match v {
            Value::Instance(i) if builtin_base(v).is_some() => crate::interp::subclass::own_slot(
                &crate::object::Class::layout_root(&i.class.get()),
                name,
            ),
            _ => None,
        }
    }

    /// A special method found on the value's class (never on the instance), for user classes only.
    /// What is found is callable with the instance first, bound as CPython's slots bind it
    /// ([`crate::interp::special::special_method`]).
    pub fn lookup_special(&self, v: &Value, name: &str) -> Option<Value> {
        let (cls, m) = match v {
            Value::Instance(i) => {
                let m = i.class.lookup(name)?;
                // A Python function or a native method (a class written in Rust, Decimal's
                // operators in decimal_fast) is called as found, as `special_method` would
                // answer: no class fetched and counted for it (~50 machine instructions of
                // each Decimal operator, callgrind).
                match &m {
                    Value::Function(_) => return Some(m),
                    Value::Native(n) if n.kind != crate::object::NativeKind::Function => {
                        return Some(m)
                    }
                    _ => {}
                }
                (i.class.get().clone(), m)
            }
            // A complex number is a value of its own kind whose methods are its class's.
            Value::Complex(_) => {
                let cls = crate::builtins::complex::complex_class_ref().clone();
                let m = cls.lookup(name)?;
                (cls, m)
            }
            // A class's special methods are its metaclass's (`len(Color)` for an enum).
            Value::Class(c) => {
                let meta = c.metaclass.as_ref()?;
                (meta.clone(), meta.lookup(name)?)
            }
            _ => return None,
        };
        Some(crate::interp::special::special_method(&cls, name, m))
    }

    /// `a op b` for comparisons, `in`, `is`.
    pub fn compare(&mut self, op: CmpOp, a: &Value, b: &Value) -> PyResult<Value> {
        Ok(Value::Bool(match op {
            CmpOp::Is => a.is(b),
            CmpOp::IsNot => !a.is(b),
            CmpOp::In => self.contains(b, a)?,
            CmpOp::NotIn => !self.contains(b, a)?,
            CmpOp::Eq => return self.rich_eq(a, b, false),
            CmpOp::NotEq => return self.rich_eq(a, b, true),
            CmpOp::Lt | CmpOp::LtE | CmpOp::Gt | CmpOp::GtE => return self.rich_order(op, a, b),
        }))
    }

    /// `a == b` as a Rust bool, as containers compare (CPython's `PyObject_RichCompareBool`): an
    /// object is equal to itself even if its `__eq__` says otherwise, so `nan in [nan]` is True.
    /// Position of the first of `items[start:stop]` (bounds clamped as slice indices) equal to
    /// `x`: the search of `index`, `remove` and `in` of sequences kept outside the value (deque,
    /// array), run over a snapshot so that `__eq__` may run.
    pub fn index_of_equal(
        &mut self,
        items: &[Value],
        x: &Value,
        start: i64,
        stop: i64,
    ) -> PyResult<Option<usize>> {
        let len = items.len() as i64;
        let clamp = |i: i64| (if i < 0 { i + len } else { i }).clamp(0, len) as usize;
        let (start, stop) = (clamp(start), clamp(stop));
        for (i, v) in items.iter().enumerate().take(stop).skip(start) {
            if self.eq(v, x)? {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }

    pub fn eq(&mut self, a: &Value, b: &Value) -> PyResult<bool> {
        if a.is(b) {
            return Ok(true);
        }
        if let Some(e) = scalar_eq(a, b) {
            return Ok(e);
        }
        if let (Value::Tuple(x), Value::Tuple(y)) = (a, b) {
            return self.seq_eq(&x.items, &y.items);
        }
        let r = self.rich_eq(a, b, false)?;
        self.truthy(&r)
    }

    /// `a < b` as a Rust bool (what `sorted`, `min` and `max` use).
    pub fn lt(&mut self, a: &Value, b: &Value) -> PyResult<bool> {
        if let (Value::Int(x), Value::Int(y)) = (a, b) {
            return Ok(x < y);
        }
        let r = self.rich_order(CmpOp::Lt, a, b)?;
        self.truthy(&r)
    }

    fn rich_eq(&mut self, a: &Value, b: &Value, negate: bool) -> PyResult<Value> {
        if let Some(e) = scalar_eq(a, b) {
            return Ok(Value::Bool(e != negate));
        }
        if let (Value::Tuple(x), Value::Tuple(y)) = (a, b) {
            return Ok(Value::Bool(self.seq_eq(&x.items, &y.items)? != negate));
        }
        // A complex number and a built-in number.
        if let Some(e) = crate::builtins::complex::builtin_eq(a, b) {
            return Ok(Value::Bool(e != negate));
        }
        // Instances, and classes of a user metaclass (its `__eq__`/`__ne__` compare them);
        // a complex number with anything else (its class's `__eq__`).
        if matches!(a, Value::Instance(_) | Value::Complex(_))
            || matches!(b, Value::Instance(_) | Value::Complex(_))
            || has_meta(a)
            || has_meta(b)
        {
            if identity_decides_eq(a, b) {
                return Ok(Value::Bool(a.is(b) != negate));
            }
            let (name, rname) = if negate {
                ("__ne__", "__ne__")
            } else {
                ("__eq__", "__eq__")
            };
            if let Some(r) = self.compare_dunders(a, b, name, rname)? {
                return Ok(r);
            }
            if negate {
                // (`object.__ne__` asking `__eq__`: in CPython a call of its slot wrapper, one
                // level more.)
                self.enter_recursion(crate::interp::guard::CALLING)?;
                let r = self.compare_dunders(a, b, "__eq__", "__eq__");
                self.leave_recursion();
                if let Some(r) = r? {
                    let t = self.truthy(&r)?;
                    return Ok(Value::Bool(!t));
                }
            }
            if let Some((x, y)) = bases_of(a, b) {
                return self.rich_eq(x, y, negate);
            }
            return Ok(Value::Bool(a.is(b) != negate));
        }
        let e = self.builtin_eq(a, b)?;
        Ok(Value::Bool(e != negate))
    }

    fn builtin_eq(&mut self, a: &Value, b: &Value) -> PyResult<bool> {
        use Value::*;
        if let (Some(x), Some(y)) = (as_number(a), as_number(b)) {
            return Ok(num_eq(x, y));
        }
        Ok(match (a, b) {
            (Str(x), Str(y)) => x.as_str() == y.as_str(),
            (Bytes(_) | ByteArray(_), _) => bytes_methods::eq(a, b).unwrap_or(false),
            (Tuple(x), Tuple(y)) => self.seq_eq(&x.items, &y.items)?,
            (List(x), List(y)) => {
                if Ref::ptr_eq(x, y) {
                    return Ok(true);
                }
                let (xs, ys) = (x.snapshot(), y.snapshot());
                self.seq_eq(&xs, &ys)?
            }
            (Dict(x), Dict(y)) => {
                // Two statements: one lock at a time (x and y may be the same dict).
                let xs = x.read().clone();
                let ys = y.read().clone();
                if xs.len() != ys.len() {
                    return Ok(false);
                }
                // Values may be containers nested without bound: one level of the recursion guard.
                self.enter_recursion(" in comparison")?;
                let r = (|| -> PyResult<bool> {
                    for (k, v) in xs.iter() {
                        let k = self.resolve_in_keymap(&ys, k.clone())?;
                        match ys.get(&k) {
                            Some(w) => {
                                if !self.eq(v, w)? {
                                    return Ok(false);
                                }
                            }
                            Option::None => return Ok(false),
                        }
                    }
                    Ok(true)
                })();
                self.leave_recursion();
                r?
            }
            (Set(x), Set(y)) => {
                self.with_two_sets(x, y, |xs, ys| xs.len() == ys.len() && xs.is_subset(ys))?
            }
            (Range(x), Range(y)) => x.same_members(y),
            // Slices compare as the tuples (start, stop, step), as in CPython.
            (Slice(x), Slice(y)) => {
                let xs = [x.start.clone(), x.stop.clone(), x.step.clone()];
                let ys = [y.start.clone(), y.stop.clone(), y.step.clone()];
                self.seq_eq(&xs, &ys)?
            }
            // Bound methods: the same object (by identity, as CPython 3.8+) and equal functions.
            (BoundMethod(x), BoundMethod(y)) => {
                x.receiver.is(&y.receiver) && self.eq(&x.func, &y.func)?
            }
            _ => a.is(b),
        })
    }

    /// `x in r` for a range and a non-number: CPython compares `x` with each member by `==`.
    /// Only an instance of a class can equal an int (its `__eq__`); the built-in values that
    /// are not numbers never do, so they are answered at once, with the same result.
    fn range_search(&mut self, range: &Value, needle: &Value) -> PyResult<bool> {
        if !matches!(needle, Value::Instance(_)) {
            return Ok(false);
        }
        let it = self.get_iter(range)?;
        while let Some(v) = self.iter_next(&it)? {
            if self.eq(&v, needle)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Element-wise equality of two lists or tuples: one level of the recursion guard, since
    /// the elements may be containers nested without bound (or the containers themselves).
    fn seq_eq(&mut self, xs: &[Value], ys: &[Value]) -> PyResult<bool> {
        if xs.len() != ys.len() {
            return Ok(false);
        }
        self.enter_recursion(" in comparison")?;
        let r = (|| {
            for (x, y) in xs.iter().zip(ys) {
                if !self.eq(x, y)? {
                    return Ok(false);
                }
            }
            Ok(true)
        })();
        self.leave_recursion();
        r
    }

    fn rich_order(&mut self, op: CmpOp, a: &Value, b: &Value) -> PyResult<Value> {
        if matches!(a, Value::Instance(_) | Value::Class(_) | Value::Complex(_))
            || matches!(b, Value::Instance(_) | Value::Class(_) | Value::Complex(_))
        {
            let (name, rname) = match op {
                CmpOp::Lt => ("__lt__", "__gt__"),
                CmpOp::LtE => ("__le__", "__ge__"),
                CmpOp::Gt => ("__gt__", "__lt__"),
                _ => ("__ge__", "__le__"),
            };
            if let Some(r) = self.compare_dunders(a, b, name, rname)? {
                return Ok(r);
            }
            if let Some((x, y)) = bases_of(a, b) {
                return self.rich_order(op, x, y).map_err(|e| {
                    if type_error_starts(&e, &format!("'{}' not supported", op.symbol())) {
                        self.order_error(op, a, b)
                    } else {
                        e
                    }
                });
            }
            return Err(self.order_error(op, a, b));
        }
        let ord = self.builtin_order(op, a, b)?;
        Ok(Value::Bool(match ord {
            None => false,
            Some(o) => match op {
                CmpOp::Lt => o == Ordering::Less,
                CmpOp::LtE => o != Ordering::Greater,
                CmpOp::Gt => o == Ordering::Greater,
                _ => o != Ordering::Less,
            },
        }))
    }

    fn order_error(&self, op: CmpOp, a: &Value, b: &Value) -> PyErr {
        err!(
            TypeError,
            "'{}' not supported between instances of '{}' and '{}'",
            op.symbol(),
            type_name(a),
            type_name(b)
        )
    }

    /// Ordering of built-in values; `None` for unordered floats (NaN).
    fn builtin_order(&mut self, op: CmpOp, a: &Value, b: &Value) -> PyResult<Option<Ordering>> {
        use Value::*;
        if let (Some(x), Some(y)) = (as_number(a), as_number(b)) {
            return Ok(num_cmp(x, y));
        }
        match (a, b) {
            (Str(x), Str(y)) => Ok(Some(x.as_str().cmp(y.as_str()))),
            (Bytes(_) | ByteArray(_), Bytes(_) | ByteArray(_)) => Ok(bytes_methods::order(a, b)),
            (Tuple(x), Tuple(y)) => self.seq_order(op, &x.items, &y.items),
            (Slice(x), Slice(y)) => {
                let xs = [x.start.clone(), x.stop.clone(), x.step.clone()];
                let ys = [y.start.clone(), y.stop.clone(), y.step.clone()];
                self.seq_order(op, &xs, &ys)
            }
            (List(x), List(y)) => {
                let (xs, ys) = (x.snapshot(), y.snapshot());
                self.seq_order(op, &xs, &ys)
            }
            (Set(x), Set(y)) => {
                let (sub, sup, xlen, ylen) = self.with_two_sets(x, y, |xs, ys| {
                    (xs.is_subset(ys), ys.is_subset(xs), xs.len(), ys.len())
                })?;
                // Subset order is partial: map it so each operator answers as Python's does.
                Ok(match op {
                    CmpOp::Lt => Some(if sub && xlen < ylen {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    }),
                    CmpOp::LtE => Some(if sub {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    }),
                    CmpOp::Gt => Some(if sup && xlen > ylen {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }),
                    _ => Some(if sup {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }),
                })
            }
            _ => Err(self.order_error(op, a, b)),
        }
    }

    fn seq_order(&mut self, op: CmpOp, xs: &[Value], ys: &[Value]) -> PyResult<Option<Ordering>> {
        self.enter_recursion(" in comparison")?;
        let r = self.seq_order_items(op, xs, ys);
        self.leave_recursion();
        r
    }

    fn seq_order_items(
        &mut self,
        op: CmpOp,
        xs: &[Value],
        ys: &[Value],
    ) -> PyResult<Option<Ordering>> {
        for (x, y) in xs.iter().zip(ys) {
            if !self.eq(x, y)? {
                if self.lt(x, y)? {
                    return Ok(Some(Ordering::Less));
                }
                let r = self.rich_order(CmpOp::Gt, x, y)?;
                let gt = self.truthy(&r)?;
                let _ = op;
                return Ok(if gt { Some(Ordering::Greater) } else { None });
            }
        }
        Ok(Some(xs.len().cmp(&ys.len())))
    }

    /// `needle in container`.
    pub fn contains(&mut self, container: &Value, needle: &Value) -> PyResult<bool> {
        use Value::*;
        match container {
            Str(s) => match needle {
                Str(n) => Ok(crate::builtins::text::find_sub(s.as_str(), n.as_str()).is_some()),
                other => Err(err!(
                    TypeError,
                    "'in <string>' requires string as left operand, not {}",
                    type_name(other)
                )),
            },
            Bytes(b) => bytes_methods::contains(b.as_bytes(), needle),
            ByteArray(b) => bytes_methods::contains(&b.snapshot(), needle),
            List(l) => {
                // Scalars (ints, floats, strs, bools, None) compared with a scalar run no Python
                // code: they are compared in place, under the list's lock, as far as the items
                // are scalars. Only from the first other item on is the rest copied (its `==` may
                // run Python, which may change the list) and compared the general way.
                let mut from = 0;
                if is_scalar(needle) {
                    let items = l.items.read();
                    for it in items.iter() {
                        if !is_scalar(it) {
                            break;
                        }
                        if crate::object::key_eq(it, needle) {
                            return Ok(true);
                        }
                        from += 1;
                    }
                    if from == items.len() {
                        return Ok(false);
                    }
                }
                // As CPython's `list_contains`: the list is read again at each position, since
                // an `__eq__` may grow or shrink it.
                // (The item is taken in a statement of its own: the read lock must end before
                // `eq` runs Python code.)
                let mut i = from;
                loop {
                    let item = l.items.read().get(i).cloned();
                    let Some(it) = item else {
                        return Ok(false);
                    };
                    if self.eq(&it, needle)? {
                        return Ok(true);
                    }
                    i += 1;
                }
            }
            Tuple(t) => {
                // As for lists: scalars compared in place (`c in ("+", "-")`), the general
                // comparison from the first other item on.
                let mut from = 0;
                if is_scalar(needle) {
                    for it in t.items.iter() {
                        if !is_scalar(it) {
                            break;
                        }
                        if crate::object::key_eq(it, needle) {
                            return Ok(true);
                        }
                        from += 1;
                    }
                }
                let t = t.clone();
                self.seq_contains(t.items.get(from..).unwrap_or_default(), needle)
            }
            Dict(d) => {
                // A key whose lookup runs no Python code is borrowed, not cloned.
                if let Some(hash) = crate::interp::containers::plain_hash(needle) {
                    let probe = crate::object::KeyRef {
                        hash,
                        value: needle,
                    };
                    return Ok(d.read().contains_key(&probe));
                }
                self.with_resolved_read(d, needle, |map, k| map.contains_key(&k))
            }
            Set(s) => {
                // A key whose lookup runs no Python code is borrowed, as for a dict (callgrind:
                // `7 in cells[i]` cost ~250 machine instructions with the clone into a
                // `HashKey`). Not a frozenset key: comparing it locks its members, and it might
                // be the set searched (`f in f`), already locked here.
                if !matches!(needle, Set(_)) {
                    if let Some(hash) = crate::interp::containers::plain_hash(needle) {
                        let probe = crate::object::KeyRef {
                            hash,
                            value: needle,
                        };
                        return Ok(s.items.lock().contains_ref(&probe));
                    }
                }
                let (items, k) = self.set_lookup_locked(s, needle.clone())?;
                Ok(items.contains(&k))
            }
            Range(r) if r.big().is_some() => {
                let Some(b) = r.big() else { return Ok(false) };
                // Exact for any number (CPython compares a float with each member: the same
                // answer, found at once); other objects as `range_search`.
                let x = match as_number(needle) {
                    Some(Num::Int(i)) => bigint::BigInt::from(i),
                    Some(Num::Big(x)) => x.clone(),
                    Some(Num::Float(f)) if f.is_finite() && f.fract() == 0.0 => {
                        match crate::num::bigint::from_f64(f) {
                            Ok(x) => x,
                            Err(_) => return Ok(false),
                        }
                    }
                    Some(Num::Float(_)) => return Ok(false),
                    Option::None => return self.range_search(container, needle),
                };
                Ok(b.position(&x).is_some())
            }
            Range(r) => Ok(match as_number(needle) {
                Some(Num::Int(i)) => r.position(i).is_some(),
                // Range bounds are i64, so no big int is a member.
                Some(Num::Big(_)) => false,
                Some(Num::Float(f)) => {
                    // Every member is an i64: a float outside -2**63..2**63 (where `as` would
                    // saturate) is not one.
                    f.fract() == 0.0
                        && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f)
                        && {
                            let i = f as i64;
                            self.contains(container, &Int(i))?
                        }
                }
                Option::None => self.range_search(container, needle)?,
            }),
            Instance(_) | Class(_) => {
                if let Some(m) = self.lookup_special(container, "__contains__") {
                    let r = self.call(&m, &[container.clone(), needle.clone()])?;
                    return self.truthy(&r);
                }
                if let Some(base) = builtin_base(container) {
                    return self.contains(base, needle);
                }
                self.iter_contains(container, needle)
            }
            Iter(_) | Generator(_) => self.iter_contains(container, needle),
            other => Err(err!(
                TypeError,
                "argument of type '{}' is not iterable",
                type_name(other)
            )),
        }
    }

    fn seq_contains(&mut self, items: &[Value], needle: &Value) -> PyResult<bool> {
        for it in items {
            if self.eq(it, needle)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn iter_contains(&mut self, container: &Value, needle: &Value) -> PyResult<bool> {
        let it = self.get_iter(container)?;
        while let Some(v) = self.iter_next(&it)? {
            if self.eq(&v, needle)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Python truthiness: `bool(v)`.
    pub fn truthy(&mut self, v: &Value) -> PyResult<bool> {
        use Value::*;
        Ok(match v {
            None | Undefined => false,
            Bool(b) => *b,
            Int(i) => *i != 0,
            // Normalised: a big int is never zero.
            BigInt(_) => true,
            Float(f) => *f != 0.0,
            Complex(c) => c.re != 0.0 || c.im != 0.0,
            Str(s) => !s.as_str().is_empty(),
            Bytes(b) => !b.as_bytes().is_empty(),
            ByteArray(b) => !b.data.lock().is_empty(),
            Tuple(t) => !t.items.is_empty(),
            List(l) => !l.is_empty(),
            Dict(d) => !d.is_empty(),
            Set(s) => !s.items.lock().is_empty(),
            Range(r) => !r.is_empty(),
            // Neither `__bool__` nor `__len__` anywhere in the class chain: true, no lookups.
            Instance(i)
                if i.class.attr_flags() & crate::object::HAS_BOOL_LEN == 0
                    && !matches!(i.payload, crate::object::Payload::Builtin { .. }) =>
            {
                true
            }
            Instance(_) | Class(_) => {
                // `while q:` on a `collections.deque`: its length, with no look-up or call.
                if let Some(n) = crate::builtins::functions::builtin_len(v) {
                    return Ok(n != 0);
                }
                if let Some(m) = self.lookup_special(v, "__bool__") {
                    let r = self.call(&m, std::slice::from_ref(v))?;
                    return match r {
                        Bool(b) => Ok(b),
                        other => Err(err!(
                            TypeError,
                            "__bool__ should return bool, returned {}",
                            type_name(&other)
                        )),
                    };
                }
                if self.lookup_special(v, "__len__").is_some() {
                    // `len()`'s checks too: a negative or non-int length is an error.
                    return Ok(crate::builtins::functions::length(self, v)? != 0);
                }
                match builtin_base(v) {
                    Some(base) => return self.truthy(base),
                    Option::None => true,
                }
            }
            _ => true,
        })
    }

    pub fn unary_neg(&mut self, v: &Value) -> PyResult<Value> {
        match as_number(v) {
            Some(Num::Int(i)) => Ok(match i.checked_neg() {
                Some(n) => Value::Int(n),
                None => Value::from(-BigInt::from(i)),
            }),
            Some(Num::Big(b)) => Ok(Value::from(-b)),
            Some(Num::Float(f)) => Ok(Value::Float(crate::num::new_float(-f))),
            None => match v {
                Value::Complex(c) => Ok(crate::builtins::complex::new_complex(
                    crate::builtins::complex::Complex::new(-c.re, -c.im),
                )),
                _ => self.unary_dunder(v, "__neg__", "-"),
            },
        }
    }

    pub fn unary_pos(&mut self, v: &Value) -> PyResult<Value> {
        match as_number(v) {
            Some(Num::Int(i)) => Ok(Value::Int(i)),
            Some(Num::Big(_)) => Ok(v.clone()),
            Some(Num::Float(f)) => Ok(Value::Float(f)),
            None => self.unary_dunder(v, "__pos__", "+"),
        }
    }

    pub fn unary_invert(&mut self, v: &Value) -> PyResult<Value> {
        match as_number(v) {
            Some(Num::Int(i)) => Ok(Value::Int(!i)),
            // ~x == -x - 1, as in two's complement.
            Some(Num::Big(b)) => Ok(Value::from(-b - 1)),
            _ => self.unary_dunder(v, "__invert__", "~"),
        }
    }

    fn unary_dunder(&mut self, v: &Value, name: &str, sym: &str) -> PyResult<Value> {
        if let Some(m) = self.lookup_special(v, name) {
            return self.call(&m, std::slice::from_ref(v));
        }
        if let Some(base) = builtin_base(v) {
            return match sym {
                "-" => self.unary_neg(base),
                "+" => self.unary_pos(base),
                _ => self.unary_invert(base),
            };
        }
        Err(err!(
            TypeError,
            "bad operand type for unary {sym}: '{}'",
            type_name(v)
        ))
    }
}

/// Can `v` be a member of a `types.UnionType` (`X | Y`)? A class, `None` or a generic alias
/// (`list[int]`); unions themselves answer through their own `__or__`.
fn unionable(v: &Value) -> bool {
    match v {
        Value::Class(_) | Value::None => true,
        Value::Instance(i) => crate::interp::generic::is_alias(i),
        _ => false,
    }
}

/// Is `v` a class made by a user metaclass (whose special methods are its operators)?
/// `a == b` for two values of the same common built-in kind that compare by content alone
/// (ints, strs, bytes, floats, None, bools): the answer `builtin_eq` would give, without its
/// checks for instances, complex numbers and metaclasses, the number conversions and the
/// `bool` round trip. `None` for any other pair. (`(w[i], w[i + 1]) == pair` on bytes went
/// through those layers twice per element: ~480 instructions a comparison of two pairs.)
#[inline]
fn scalar_eq(a: &Value, b: &Value) -> Option<bool> {
    Some(match (a, b) {
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x.as_str() == y.as_str(),
        (Value::Bytes(x), Value::Bytes(y)) => x.as_bytes() == y.as_bytes(),
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::None, Value::None) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        _ => return None,
    })
}

/// An instance with another instance, a built-in number or None, in either order: operands
/// that only their special methods can combine ([`Interp::binary`]'s built-in cases all need
/// a str, bytes, container, complex or class operand, or two numbers).
#[inline]
fn instance_with_number(a: &Value, b: &Value) -> bool {
    let plain = |v: &Value| {
        matches!(
            v,
            Value::Instance(_)
                | Value::Int(_)
                | Value::Bool(_)
                | Value::Float(_)
                | Value::BigInt(_)
                | Value::None
        )
    };
    (matches!(a, Value::Instance(_)) || matches!(b, Value::Instance(_))) && plain(a) && plain(b)
}

fn has_meta(v: &Value) -> bool {
    matches!(v, Value::Class(c) if c.metaclass.is_some())
}

/// Is `e` a `TypeError` whose message starts with `prefix`? (An error about the values inside
/// two instances is reported with the instances' own type names, as CPython does.)
/// Whether `x` is an instance of `collections.deque` or `array.array` (or of a subclass),
/// whose repetition methods are native.
fn repeats_natively(x: &Value) -> bool {
    matches!(x, Value::Instance(i) if i.native::<crate::stdlib::deque::DequeData>().is_some()
        || i.native::<crate::stdlib::array::ArrayData>().is_some())
}

fn type_error_starts(e: &PyErr, prefix: &str) -> bool {
    e.is(crate::object::ExcKind::TypeError)
        && matches!(e.args().first(), Some(Value::Str(m)) if m.as_str().starts_with(prefix))
}

/// `OverflowError` for a big int used as a count or size (`[0] * 2**100`), CPython's message.
pub fn index_overflow() -> PyErr {
    err!(
        OverflowError,
        "cannot fit 'int' into an index-sized integer"
    )
}

/// `len * n` items of a `str` or `bytes` repetition must fit CPython's largest index: an
/// `OverflowError` worded as `too_long` otherwise.
pub fn check_repeat_length(len: usize, n: usize, too_long: &str) -> PyResult<()> {
    if len.checked_mul(n).is_none_or(|c| c > isize::MAX as usize) {
        return Err(PyErr::new(crate::object::ExcKind::OverflowError, too_long));
    }
    Ok(())
}

/// `seq * n`: an empty sequence or a count of 0 or less gives an empty result at once; a result
/// too large to build is an error before anything is built (see `builtins::args::check_items`).
fn repeat(seq: &Value, n: &Value) -> PyResult<Value> {
    use crate::builtins::args::{check_str_bytes, index_sized, repeated_items};
    let n = match index_sized(n) {
        Some(n) => n?.max(0) as usize,
        None => 0,
    };
    Ok(match seq {
        Value::Str(s) => {
            let text = s.as_str();
            if text.is_empty() || n == 0 {
                return Ok(Value::str(""));
            }
            // CPython counts characters against the largest index first (an OverflowError),
            // then fails to allocate (a MemoryError).
            check_repeat_length(s.char_len(), n, "repeated string is too long")?;
            check_str_bytes(text.len().saturating_mul(n))?;
            Value::string(text.repeat(n))
        }
        Value::List(l) => {
            let items = l.snapshot();
            let total = repeated_items(items.len(), n)?;
            let mut out = Vec::with_capacity(total);
            crate::heap::extend_repeated(&mut out, &items, n);
            Value::list(out)
        }
        Value::Tuple(t) => {
            let total = repeated_items(t.items.len(), n)?;
            let mut out = Vec::with_capacity(total);
            crate::heap::extend_repeated(&mut out, &t.items, n);
            Value::tuple(out)
        }
        _ => Value::None,
    })
}

/// `concat_in_place` for a module-level `s += t` (`STORE_GLOBAL` next): with the globals held
/// exclusively, their reference is set aside so that `s` can be extended in place when nothing
/// else holds it, and the entry gets the string back (extended or not) before the globals are
/// let go; the `STORE_GLOBAL` that follows stores the same string again. No other thread can
/// take a reference meanwhile: every read of an entry holds the dict (free-threaded, its lock;
/// the lock-free value slots of `interp/globals.rs` keep only immortal objects there, which
/// are never extended, their count not being 1). So in both models no program sees the
/// entry empty, and a string is changed only while it has no other holder. Free-threaded,
/// without this, each `s += t` at module level copied the whole string
/// (`benches/programs/string_building.mini`: 5,259 M machine instructions, GIL model 252 M).
fn concat_global_in_place(
    frame: &mut crate::interp::frame::Frame,
    name: u32,
    a: Value,
    b: &Value,
) -> Result<Value, Value> {
    let (Value::Str(s), Value::Str(t)) = (&a, b) else {
        return Err(a);
    };
    let Some(key) = frame.code.name_keys.get(name as usize) else {
        return Err(a);
    };
    let Ok(mut map) = frame.globals.try_write() else {
        return Err(a);
    };
    let Some(slot) = map.get_mut(key) else {
        return Err(a);
    };
    if !matches!(&*slot, Value::Str(held) if Ref::ptr_eq(held, s)) {
        return Err(a);
    }
    let held = std::mem::replace(slot, Value::None);
    let t = t.clone();
    // Not the last reference (`a` is another): frees nothing, runs nothing, under the lock.
    drop(held);
    let Value::Str(mut s) = a else {
        return Err(a);
    };
    let extended = match Ref::get_mut(&mut s) {
        Some(text) => {
            text.push_str(&t);
            true
        }
        // Shared after all: the entry gets it back unchanged.
        None => false,
    };
    *slot = Value::Str(s.clone());
    if extended {
        Ok(Value::Str(s))
    } else {
        Err(Value::Str(s))
    }
}

/// `s + t` or `s += t` on two strs when the next instruction stores the result into the local
/// slot that holds `s` (`s += t` in a loop): that slot's reference goes first, and when `s` then
/// has no other reference it is extended in place, as CPython's `unicode_concatenate` does, so
/// building a string piece by piece is linear instead of quadratic. Gives `a` back otherwise.
pub(crate) fn concat_in_place(
    frame: &mut crate::interp::frame::Frame,
    next: Option<&minivm_compiler::bytecode::Op>,
    a: Value,
    b: &Value,
) -> Result<Value, Value> {
    use minivm_compiler::bytecode::Op;
    if let (Value::Str(_), Value::Str(_), Some(&Op::StoreGlobal(n))) = (&a, b, next) {
        return concat_global_in_place(frame, n.0, a, b);
    }
    let (Value::Str(s), Value::Str(t), Some(&Op::StoreLocal(l))) = (&a, b, next) else {
        return Err(a);
    };
    let Some(slot) = frame.locals.get_mut(l.0 as usize) else {
        return Err(a);
    };
    if !matches!(&*slot, Value::Str(held) if Ref::ptr_eq(held, s)) {
        return Err(a);
    }
    let t = t.clone();
    std::mem::take(slot).discard();
    let Value::Str(mut s) = a else {
        return Err(a);
    };
    match Ref::get_mut(&mut s) {
        Some(text) => {
            text.push_str(&t);
            Ok(Value::Str(s))
        }
        None => {
            // Shared after all: put the slot back as it was.
            *slot = Value::Str(s.clone());
            Err(Value::Str(s))
        }
    }
}

/// `x + y` for two lists when `x` is a list nobody else holds (count 1: the operand stack's
/// reference, as for a fresh `[v]` or slice): `y`'s items are appended to `x` itself, which
/// becomes the result, instead of both being copied into a new list and `x` freed. Nothing can
/// tell: no other reference sees `x` change, and lists take no weak references. Saves a list
/// object's allocation, collector listing and free per `[items[i]] + p` or
/// `items[:i] + items[i + 1:]`. Gives `a` back otherwise.
pub(crate) fn extend_unshared_list(a: Value, b: &Value) -> Result<Value, Value> {
    let Value::List(y) = b else {
        return Err(a);
    };
    let mut x = match a {
        Value::List(x) => x,
        other => return Err(other),
    };
    match Ref::get_mut(&mut x) {
        Some(list) => {
            // Count 1 with `b` borrowed from its own reference: `y` is another list.
            let items = list.items.get_mut();
            let more = y.items.read();
            let len = items.len() + more.len();
            if items.capacity() < len {
                // A new buffer of the final size, `x`'s items moved in: cheaper than growing
                // `x`'s in place (`realloc`: about 170 machine instructions a time for
                // nqueens' `[items[i]] + p`).
                let mut all = Vec::with_capacity(len);
                all.append(items);
                *items = all;
            }
            items.extend_from_slice(&more);
            drop(more);
            Ok(Value::List(x))
        }
        None => Err(Value::List(x)),
    }
}

/// `x + y` for two lists: one allocation of the final size (`x` may be `y`: each is locked in
/// turn).
#[inline]
fn concat_lists(x: &Ref<crate::object::List>, y: &Ref<crate::object::List>) -> Value {
    let m = y.len();
    let first = x.items.lock();
    let mut items = Vec::with_capacity(first.len() + m);
    items.extend_from_slice(&first);
    drop(first);
    items.extend_from_slice(&y.items.lock());
    Value::list(items)
}

/// Whether `a == b` (and `a != b`) is decided by identity without looking anything up: one side
/// is an instance and each side is either an instance without a built-in payload whose class
/// chain defines no `__eq__`/`__ne__` but `object`'s (`HAS_EQ` clear), or a built-in value that
/// is not a class. The general path (`rich_eq`) would find `object.__eq__` on each instance,
/// get `NotImplemented` from both, find no built-in base and compare identities: the same
/// answer, about 600 machine instructions a comparison dearer (callgrind, `list.remove` of an
/// instance behind three ints).
#[inline]
pub(crate) fn identity_decides_eq(a: &Value, b: &Value) -> bool {
    fn plain(v: &Value) -> bool {
        match v {
            Value::Instance(i) => {
                matches!(i.payload, Payload::None)
                    && i.class.attr_flags() & crate::object::HAS_EQ == 0
            }
            Value::Class(_) => false,
            _ => true,
        }
    }
    (matches!(a, Value::Instance(_)) || matches!(b, Value::Instance(_))) && plain(a) && plain(b)
}
