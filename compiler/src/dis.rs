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
            Constant::Imag(x) => write!(f, "{}j", (spelling.float)(*x)),
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

/// Operands resolved against a code object: local, constant, name and cell indices to text.
struct Names<'a> {
    code: &'a CodeObject,
    spelling: &'a Spelling,
}

impl OperandNames for Names<'_> {
    fn local(&self, i: u32) -> String {
        match self.code.varnames.get(i as usize) {
            Some(name) => name.clone(),
            // A slot after the named ones: a range loop's counter (`CodeObject::hidden_slots`).
            None => format!("<slot {i}>"),
        }
    }

    fn konst(&self, i: u32) -> String {
        let c = self.code.consts.get(i as usize);
        c.map_or("?".to_string(), |c| ConstRepr(c, self.spelling).to_string())
    }

    fn name(&self, i: u32) -> String {
        let name = self.code.names.get(i as usize);
        name.map_or("?", |s| s.as_str()).to_string()
    }

    fn cell(&self, i: u32) -> String {
        self.code.cell_name(Cell(i)).to_string()
    }
}

/// Opcode name, raw operand and resolved meaning of one instruction (from the opcode table).
fn describe(code: &CodeObject, spelling: &Spelling, op: &Op) -> Described {
    op.describe(&Names { code, spelling })
}

/// One instruction as a listing shows it, without line and index: `LOAD_LOCAL 0 (n)`. What
/// `--trace` prints for each instruction it runs.
pub fn instruction(code: &CodeObject, spelling: &Spelling, op: &Op) -> String {
    let Described {
        name: opname,
        raw,
        text: arg,
    } = describe(code, spelling, op);
    match (raw, arg.is_empty()) {
        (Some(raw), true) => format!("{opname} {raw}"),
        (Some(raw), false) => format!("{opname} {raw} ({arg})"),
        (None, true) => opname.to_string(),
        (None, false) => format!("{opname} ({arg})"),
    }
}

fn disassemble_one(code: &CodeObject, spelling: &Spelling, out: &mut String) {
    let targets: HashSet<u32> = code.code.iter().filter_map(Op::jump).collect();
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
        let Described {
            name: opname,
            raw,
            text: arg,
        } = describe(code, spelling, op);
        fields.push(format!("{opname:<OPNAME_WIDTH$}"));
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

/// The opcode table as Markdown: what `minivm dis --opcodes` prints and `docs/OPCODES.md` holds
/// (a test checks the file is current).
pub fn opcode_table() -> String {
    let mut out = String::new();
    out.push_str(
        "# minivm's opcodes\n\n\
         Generated from the opcode table in `compiler/src/bytecode.rs` by `minivm dis --opcodes`\n\
         (`tests/engine.rs` checks that this file is current). Operand kinds: `local`, `konst`,\n\
         `name`, `cell`, `label` (a jump target; `label_back` jumps backward), `count`, `binop`,\n\
         `cmpop` and flags; a `16` (`8`) suffix is a 16-bit (8-bit) operand of a register instruction.\n\
         Stack effect: `fall(e)` always falls through, `branch(fall, jump)` may jump,\n\
         `jump_only(e)` always jumps, `stops()` does neither (return, raise). *Hot* opcodes have\n\
         their own arm in the VM's dispatch loop (`vm/src/interp/run.rs`), *cold* ones run in\n\
         `cold_op` (`vm/src/interp/cold.rs`).\n\n\
         | opcode | operands | stack effect | loop | meaning |\n\
         |---|---|---|---|---|\n",
    );
    for op in crate::bytecode::OPCODES {
        let operands: Vec<String> = op
            .operands
            .iter()
            .map(|(name, kind)| format!("{name}: {kind}"))
            .collect();
        let doc: Vec<&str> = op.doc.iter().map(|l| l.trim()).collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | `{}` | {} | {} |",
            op.name,
            operands.join(", "),
            op.effect.split_whitespace().collect::<Vec<_>>().join(" "),
            if op.hot { "hot" } else { "cold" },
            doc.join(" ").replace('|', "\\|"),
        );
    }
    out
}
