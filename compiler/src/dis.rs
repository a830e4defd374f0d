//! `minivm dis`: bytecode listings like `python -m dis`. Owned by the compiler work.
//!
//! Layout per instruction (CPython 3.11's): line number when it changes, `>>` on jump targets,
//! the instruction index, the opcode name, the raw operand and its meaning in parentheses.

use std::collections::HashSet;
use std::fmt::{self, Write};

use crate::bytecode::*;

/// How a listing spells scalar constants. The compiler cannot depend on the VM (the VM depends on
/// the compiler), so whoever prints a listing passes the VM's own `repr` functions in: `minivm dis`
/// then shows `9999999999999998.0` and `'a\\u200bb'` exactly as `repr()` does at run time, instead
/// of a second, subtly different repr kept here.
#[derive(Clone, Copy)]
pub struct Spelling {
    /// `repr(float)`.
    pub float: fn(f64) -> String,
    /// `repr(str)`.
    pub str: fn(&str) -> String,
}

/// Disassemble a code object and, after it, every code object nested in its constants.
pub fn disassemble(code: &CodeObject, spelling: &Spelling) -> String {
    let mut out = String::new();
    disassemble_recursive(code, spelling, &mut out, 0);
    out
}

fn disassemble_recursive(code: &CodeObject, spelling: &Spelling, out: &mut String, depth: usize) {
    disassemble_one(code, spelling, out);
    if depth > 200 {
        return;
    }
    for c in &code.consts {
        if let Constant::Code(inner) = c {
            out.push('\n');
            let _ = writeln!(
                out,
                "Disassembly of <code object {} at line {}>:",
                inner.name, inner.first_line
            );
            disassemble_recursive(inner, spelling, out, depth + 1);
        }
    }
}

/// A Python-style repr of a constant, with floats and strings spelled by `Spelling`.
pub struct ConstRepr<'a>(pub &'a Constant, pub &'a Spelling);

impl fmt::Display for ConstRepr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let spelling = self.1;
        match self.0 {
            Constant::None => f.write_str("None"),
            Constant::Bool(true) => f.write_str("True"),
            Constant::Bool(false) => f.write_str("False"),
            Constant::Int(i) => write!(f, "{i}"),
            Constant::BigInt(s) => write!(f, "{s}"),
            Constant::Float(x) => f.write_str(&(spelling.float)(*x)),
            Constant::Str(s) => f.write_str(&(spelling.str)(s)),
            Constant::Bytes(b) => f.write_str(&bytes_repr(b)),
            Constant::Ellipsis => f.write_str("Ellipsis"),
            Constant::Tuple(items) => {
                f.write_str("(")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", ConstRepr(item, spelling))?;
                }
                if items.len() == 1 {
                    f.write_str(",")?;
                }
                f.write_str(")")
            }
            Constant::Code(c) => write!(f, "<code object {} at line {}>", c.name, c.first_line),
        }
    }
}

/// Python's `repr(bytes)`: `b'...'` with the quote rule of `str_repr`, printable ASCII as is and
/// every other byte as `\xNN` (`\t`, `\n`, `\r` by name).
pub fn bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::with_capacity(b.len() + 3);
    out.push('b');
    out.push(quote as char);
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c as char);
            }
            0x20..=0x7e => out.push(c as char),
            c => {
                let _ = write!(out, "\\x{c:02x}");
            }
        }
    }
    out.push(quote as char);
    out
}

impl fmt::Display for MakeFunctionFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.defaults {
            parts.push("defaults");
        }
        if self.kwdefaults {
            parts.push("kwdefaults");
        }
        if self.closure {
            parts.push("closure");
        }
        f.write_str(&parts.join(", "))
    }
}

impl fmt::Display for FormatFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let conv = match self.conversion {
            Some(b's') => "str",
            Some(b'r') => "repr",
            Some(b'a') => "ascii",
            Some(_) => "?",
            None => "",
        };
        match (conv, self.has_spec) {
            ("", false) => Ok(()),
            ("", true) => f.write_str("with format"),
            (c, false) => f.write_str(c),
            (c, true) => write!(f, "{c}, with format"),
        }
    }
}

fn make_function_raw(flags: MakeFunctionFlags) -> u32 {
    flags.defaults as u32 | (flags.kwdefaults as u32) << 1 | (flags.closure as u32) << 3
}

fn format_raw(flags: FormatFlags) -> u32 {
    let conv = match flags.conversion {
        None => 0,
        Some(b's') => 1,
        Some(b'r') => 2,
        Some(_) => 3,
    };
    conv | (flags.has_spec as u32) << 2
}

/// Opcode name, raw operand and resolved meaning of one instruction.
fn describe(
    code: &CodeObject,
    spelling: &Spelling,
    op: &Op,
) -> (&'static str, Option<String>, String) {
    let konst = |i: ConstIdx| {
        code.consts
            .get(i.0 as usize)
            .map_or("?".to_string(), |c| ConstRepr(c, spelling).to_string())
    };
    let name = |n: Name| code.names.get(n.0 as usize).cloned().unwrap_or("?".into());
    let local = |l: Local| {
        code.varnames
            .get(l.0 as usize)
            .cloned()
            .unwrap_or("?".into())
    };
    let cell = |c: Cell| code.cell_name(c).to_string();
    let n = |x: u32| Some(x.to_string());
    let jump = |l: Label| (n(l.0), format!("to {}", l.0));
    let reg_local = |r: Reg| local(Local(r.0.into()));
    let reg_const = |r: Reg| konst(ConstIdx(r.0.into()));
    let (opname, raw, arg): (&str, Option<String>, String) = match *op {
        Op::Nop => ("NOP", None, String::new()),
        Op::Pop => ("POP_TOP", None, String::new()),
        Op::Copy(i) => ("COPY", n(i), String::new()),
        Op::Swap(i) => ("SWAP", n(i), String::new()),
        Op::LoadConst(i) => ("LOAD_CONST", n(i.0), konst(i)),
        Op::LoadLocal(l) => ("LOAD_LOCAL", n(l.0), local(l)),
        Op::StoreLocal(l) => ("STORE_LOCAL", n(l.0), local(l)),
        Op::DeleteLocal(l) => ("DELETE_LOCAL", n(l.0), local(l)),
        Op::LoadGlobal(g) => ("LOAD_GLOBAL", n(g.0), name(g)),
        Op::StoreGlobal(g) => ("STORE_GLOBAL", n(g.0), name(g)),
        Op::DeleteGlobal(g) => ("DELETE_GLOBAL", n(g.0), name(g)),
        Op::LoadName(g) => ("LOAD_NAME", n(g.0), name(g)),
        Op::StoreName(g) => ("STORE_NAME", n(g.0), name(g)),
        Op::DeleteName(g) => ("DELETE_NAME", n(g.0), name(g)),
        Op::LoadDeref(c) => ("LOAD_DEREF", n(c.0), cell(c)),
        Op::StoreDeref(c) => ("STORE_DEREF", n(c.0), cell(c)),
        Op::DeleteDeref(c) => ("DELETE_DEREF", n(c.0), cell(c)),
        Op::LoadClosure(c) => ("LOAD_CLOSURE", n(c.0), cell(c)),
        Op::LoadClassDeref(c) => ("LOAD_CLASSDEREF", n(c.0), cell(c)),
        Op::Binary(b) => ("BINARY_OP", None, b.symbol().to_string()),
        Op::InPlace(b) => ("INPLACE_OP", None, format!("{}=", b.symbol())),
        Op::Compare(c) => ("COMPARE_OP", None, c.symbol().to_string()),
        Op::UnaryNot => ("UNARY_NOT", None, String::new()),
        Op::UnaryNeg => ("UNARY_NEGATIVE", None, String::new()),
        Op::UnaryPos => ("UNARY_POSITIVE", None, String::new()),
        Op::UnaryInvert => ("UNARY_INVERT", None, String::new()),
        Op::Subscr => ("BINARY_SUBSCR", None, String::new()),
        Op::StoreSubscr => ("STORE_SUBSCR", None, String::new()),
        Op::DeleteSubscr => ("DELETE_SUBSCR", None, String::new()),
        Op::BuildSlice(k) => ("BUILD_SLICE", n(k), String::new()),
        Op::LoadAttr(g) => ("LOAD_ATTR", n(g.0), name(g)),
        Op::StoreAttr(g) => ("STORE_ATTR", n(g.0), name(g)),
        Op::DeleteAttr(g) => ("DELETE_ATTR", n(g.0), name(g)),
        Op::BuildTuple(k) => ("BUILD_TUPLE", n(k), String::new()),
        Op::BuildList(k) => ("BUILD_LIST", n(k), String::new()),
        Op::BuildSet(k) => ("BUILD_SET", n(k), String::new()),
        Op::BuildMap(k) => ("BUILD_MAP", n(k), String::new()),
        Op::BuildString(k) => ("BUILD_STRING", n(k), String::new()),
        Op::ListAppend(k) => ("LIST_APPEND", n(k), String::new()),
        Op::SetAdd(k) => ("SET_ADD", n(k), String::new()),
        Op::MapAdd(k) => ("MAP_ADD", n(k), String::new()),
        Op::ListExtend(k) => ("LIST_EXTEND", n(k), String::new()),
        Op::SetUpdate(k) => ("SET_UPDATE", n(k), String::new()),
        Op::DictUpdate(k) => ("DICT_UPDATE", n(k), String::new()),
        Op::DictMerge(k) => ("DICT_MERGE", n(k), String::new()),
        Op::ListToTuple => ("LIST_TO_TUPLE", None, String::new()),
        Op::UnpackSequence(k) => ("UNPACK_SEQUENCE", n(k), String::new()),
        Op::UnpackEx { before, after } => (
            "UNPACK_EX",
            n(u32::from(before) | after << 8),
            format!("{before} before, {after} after"),
        ),
        Op::FormatValue(f) => ("FORMAT_VALUE", n(format_raw(f)), f.to_string()),
        Op::Jump(l) => {
            let (r, a) = jump(l);
            ("JUMP_FORWARD", r, a)
        }
        Op::JumpBackward(l) => {
            let (r, a) = jump(l);
            ("JUMP_BACKWARD", r, a)
        }
        Op::PopJumpIfFalse(l) => {
            let (r, a) = jump(l);
            ("POP_JUMP_IF_FALSE", r, a)
        }
        Op::PopJumpIfTrue(l) => {
            let (r, a) = jump(l);
            ("POP_JUMP_IF_TRUE", r, a)
        }
        Op::JumpIfFalseOrPop(l) => {
            let (r, a) = jump(l);
            ("JUMP_IF_FALSE_OR_POP", r, a)
        }
        Op::JumpIfTrueOrPop(l) => {
            let (r, a) = jump(l);
            ("JUMP_IF_TRUE_OR_POP", r, a)
        }
        Op::GetIter => ("GET_ITER", None, String::new()),
        Op::ForIter(l) => {
            let (r, a) = jump(l);
            ("FOR_ITER", r, a)
        }
        Op::ForNext(l) => {
            let (r, a) = jump(l);
            ("FOR_NEXT", r, a)
        }
        Op::ForNextStore(x, l) => (
            "FOR_NEXT_STORE",
            n(l.0),
            format!("{}, to {}", reg_local(x), l.0),
        ),
        Op::MakeFunction { code: c, flags } => {
            let mut s = konst(c);
            if flags != MakeFunctionFlags::default() {
                let _ = write!(s, ", {flags}");
            }
            ("MAKE_FUNCTION", n(make_function_raw(flags)), s)
        }
        Op::Call(k) => ("CALL", n(k), format!("{k} positional")),
        Op::CallKw(k) => ("CALL_KW", n(k), format!("{k} total")),
        Op::CallEx { has_kwargs } => (
            "CALL_FUNCTION_EX",
            n(has_kwargs as u32),
            if has_kwargs { "with kwargs" } else { "" }.to_string(),
        ),
        Op::CallMethod(g, k) => (
            "CALL_METHOD",
            n(k.into()),
            format!("{}, {k} positional", name(g)),
        ),
        Op::CallMethodKw(g, k) => (
            "CALL_METHOD_KW",
            n(k.into()),
            format!("{}, {k} total", name(g)),
        ),
        Op::ReturnValue => ("RETURN_VALUE", None, String::new()),
        Op::YieldValue => ("YIELD_VALUE", None, String::new()),
        Op::GetYieldFromIter => ("GET_YIELD_FROM_ITER", None, String::new()),
        Op::YieldFrom => ("YIELD_FROM", None, String::new()),
        Op::GetAwaitable => ("GET_AWAITABLE", None, String::new()),
        Op::GetAIter => ("GET_AITER", None, String::new()),
        Op::GetANext => ("GET_ANEXT", None, String::new()),
        Op::EndAsyncFor => ("END_ASYNC_FOR", None, String::new()),
        Op::BeforeAsyncWith => ("BEFORE_ASYNC_WITH", None, String::new()),
        Op::CheckEgMatch => ("CHECK_EG_MATCH", None, String::new()),
        Op::PrepReraiseStar => ("PREP_RERAISE_STAR", None, String::new()),
        Op::LoadBuildClass => ("LOAD_BUILD_CLASS", None, String::new()),
        Op::ImportName(g) => ("IMPORT_NAME", n(g.0), name(g)),
        Op::ImportFrom(g) => ("IMPORT_FROM", n(g.0), name(g)),
        Op::SetupExcept(l) => {
            let (r, a) = jump(l);
            ("SETUP_EXCEPT", r, a)
        }
        Op::PopBlock => ("POP_BLOCK", None, String::new()),
        Op::PushExcInfo => ("PUSH_EXC_INFO", None, String::new()),
        Op::PopExcept => ("POP_EXCEPT", None, String::new()),
        Op::CheckExcMatch => ("CHECK_EXC_MATCH", None, String::new()),
        Op::Reraise => ("RERAISE", None, String::new()),
        Op::Raise(k) => ("RAISE_VARARGS", n(k), String::new()),
        Op::LoadAssertionError => ("LOAD_ASSERTION_ERROR", None, String::new()),
        Op::BeforeWith => ("BEFORE_WITH", None, String::new()),
        Op::Match(m) => (m.opname(), m.count().and_then(n), String::new()),
        Op::WithExceptStart => ("WITH_EXCEPT_START", None, String::new()),
        Op::PrintExpr => ("PRINT_EXPR", None, String::new()),
        Op::LoadLocalPair(a, b) => (
            "LOAD_LOCAL_PAIR",
            None,
            format!("{}, {}", reg_local(a), reg_local(b)),
        ),
        Op::LoadAttrLocal(l, g) => (
            "LOAD_ATTR_LOCAL",
            n(g.0),
            format!("{}.{}", reg_local(l), name(g)),
        ),
        Op::StoreAttrLocal(l, g) => (
            "STORE_ATTR_LOCAL",
            n(g.0),
            format!("{}.{}", reg_local(l), name(g)),
        ),
        Op::CompareConst(c, k) => (
            "COMPARE_CONST",
            n(k.0),
            format!("{} {}", c.symbol(), konst(k)),
        ),
        Op::CompareJumpIfFalse(c, l) => (
            "COMPARE_JUMP",
            n(l.0),
            format!("{}, to {}", c.symbol(), l.0),
        ),
        Op::CompareConstJumpIfFalse(c, k, l) => (
            "COMPARE_CONST_JUMP",
            n(l.0.into()),
            format!("{} {}, to {}", c.symbol(), reg_const(k), l.0),
        ),
        Op::ForIterStore(x, l) => (
            "FOR_ITER_STORE",
            n(l.0),
            format!("{}, to {}", reg_local(x), l.0),
        ),
        Op::BinaryLocals(b, x, y) => (
            "BINARY_LOCALS",
            None,
            format!("{} {} {}", reg_local(x), b.symbol(), reg_local(y)),
        ),
        Op::BinaryLocalConst(b, x, c) => (
            "BINARY_LOCAL_CONST",
            None,
            format!("{} {} {}", reg_local(x), b.symbol(), reg_const(c)),
        ),
        Op::InPlaceLocals(b, x, y) => (
            "INPLACE_LOCALS",
            None,
            format!("{} {}= {}", reg_local(x), b.symbol(), reg_local(y)),
        ),
        Op::InPlaceLocalConst(b, x, c) => (
            "INPLACE_LOCAL_CONST",
            None,
            format!("{} {}= {}", reg_local(x), b.symbol(), reg_const(c)),
        ),
        Op::CompareLocalsJump(c, x, y, l) => (
            "COMPARE_LOCALS_JUMP",
            n(l.0.into()),
            format!(
                "{} {} {}, to {}",
                reg_local(x),
                c.symbol(),
                reg_local(y),
                l.0
            ),
        ),
        Op::CompareLocalConstJump(c, x, k, l) => (
            "COMPARE_LOCAL_CONST_JUMP",
            n(l.0.into()),
            format!(
                "{} {} {}, to {}",
                reg_local(x),
                c.symbol(),
                reg_const(k),
                l.0
            ),
        ),
    };
    (opname, raw, arg)
}

/// One instruction as a listing shows it, without line and index: `LOAD_LOCAL 0 (n)`. What
/// `--trace` prints for each instruction it runs.
pub fn instruction(code: &CodeObject, spelling: &Spelling, op: &Op) -> String {
    let (opname, raw, arg) = describe(code, spelling, op);
    match (raw, arg.is_empty()) {
        (Some(raw), true) => format!("{opname} {raw}"),
        (Some(raw), false) => format!("{opname} {raw} ({arg})"),
        (None, true) => opname.to_string(),
        (None, false) => format!("{opname} ({arg})"),
    }
}

fn disassemble_one(code: &CodeObject, spelling: &Spelling, out: &mut String) {
    let targets: HashSet<u32> = code
        .code
        .iter()
        .filter_map(crate::compile::jump_target)
        .map(|l| l.0)
        .collect();
    let max_line = code.lines.iter().copied().max().unwrap_or(0);
    let line_width = max_line.to_string().len().max(3);
    let offset_width = code.code.len().saturating_sub(1).to_string().len().max(4);
    let mut last_line: Option<u32> = None;
    for (i, op) in code.code.iter().enumerate() {
        let line = code.lines.get(i).copied().unwrap_or(0);
        let mut fields: Vec<String> = Vec::new();
        if last_line != Some(line) {
            if last_line.is_some() {
                out.push('\n');
            }
            fields.push(format!("{line:>line_width$}"));
            last_line = Some(line);
        } else {
            fields.push(" ".repeat(line_width));
        }
        fields.push("   ".into());
        fields.push(
            if targets.contains(&(i as u32)) {
                ">>"
            } else {
                "  "
            }
            .into(),
        );
        fields.push(format!("{i:>offset_width$}"));
        let (opname, raw, arg) = describe(code, spelling, op);
        fields.push(format!("{opname:<20}"));
        match raw {
            Some(raw) => {
                fields.push(format!("{raw:>5}"));
                if !arg.is_empty() {
                    fields.push(format!("({arg})"));
                }
            }
            None => {
                if !arg.is_empty() {
                    fields.push(format!("      ({arg})"));
                }
            }
        }
        let _ = writeln!(out, "{}", fields.join(" ").trim_end());
    }
}
