//! The opcode table (`compiler/src/bytecode.rs`): every opcode is documented, named once, and
//! its name fits the column `dis` and `--trace` give it.

use minivm_compiler::bytecode::{Op, OPCODES, OPNAME_WIDTH};
use minivm_compiler::{compile_source, Mode};

#[test]
fn every_opcode_has_a_doc_line_and_a_name_that_fits() {
    assert!(OPCODES.len() > 90, "only {} opcodes", OPCODES.len());
    for op in OPCODES {
        let doc: String = op.doc.iter().map(|l| l.trim()).collect();
        assert!(doc.len() > 3, "{} has no doc line", op.variant);
        assert!(
            op.name.len() <= OPNAME_WIDTH,
            "{} is wider than dis's {OPNAME_WIDTH}-column name field",
            op.name
        );
        assert!(
            !op.name.is_empty() && op.name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
            "{}: `{}` is not an opcode name",
            op.variant,
            op.name
        );
    }
}

#[test]
fn names_and_variants_are_unique() {
    for (i, a) in OPCODES.iter().enumerate() {
        for b in &OPCODES[i + 1..] {
            assert_ne!(a.name, b.name, "two opcodes named {}", a.name);
            assert_ne!(a.variant, b.variant);
        }
    }
}

#[test]
fn operand_kinds_are_the_known_ones() {
    let kinds = [
        "count",
        "count16",
        "count8",
        "konst",
        "konst16",
        "konst8",
        "local",
        "local16",
        "local8",
        "name",
        "cell",
        "cell16",
        "label",
        "label_back",
        "label16",
        "label16_back",
        "name16",
        "binop",
        "cmpop",
        "fnflags",
        "fmtflags",
        "kwflag",
    ];
    for op in OPCODES {
        for (name, kind) in op.operands {
            assert!(
                kinds.contains(kind),
                "{}.{name}: unknown kind {kind}",
                op.variant
            );
        }
    }
}

/// Every instruction the compiler emits for a program with loops, calls, classes, exceptions,
/// comprehensions and matches finds its own row: name, doc and stack effect come from it.
#[test]
fn compiled_instructions_find_their_rows() {
    let src = "\
def f(n, *a, k=1, **kw):
    t = 0
    for i in range(n):
        if i % 3 == 0:
            t += i
        elif i < n:
            t -= 1
    while t > 100:
        t //= 2
    return [x * 2 for x in a if x], {k: v for k, v in kw.items()}, t
class C:
    def __init__(self, x):
        self.x = x
    def g(self):
        t = self.x - 1
        u = t * self.x
        for y in [1, 2]:
            u += self.x
        v = t - u
        w = v * 2
        self.x += w
        self.x -= 1
        return w
try:
    print(f(10, 1, 2, k=3, z=4), C(1).g())
except (ValueError, TypeError) as e:
    raise RuntimeError('x') from e
finally:
    pass
match [1, 2]:
    case [a, *rest] if a:
        print(a, rest)
    case {'k': v, **others}:
        print(v)
    case C(x=0):
        pass
with open('x') as fh:
    del fh
";
    let code = compile_source(src, "t.py", Mode::File).expect("compiles");
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![code];
    while let Some(code) = stack.pop() {
        for op in &code.code {
            let info = op.info();
            assert_eq!(info.name, op.name());
            assert_eq!(info.hot, op.is_hot());
            assert!(
                format!("{op:?}").starts_with(info.variant),
                "{op:?} found {info:?}"
            );
            seen.insert(op.name());
        }
        for c in &code.consts {
            if let minivm_compiler::bytecode::Constant::Code(inner) = c {
                stack.push(inner.clone());
            }
        }
    }
    for name in [
        "MATCH_SEQUENCE",
        "MATCH_KEYS",
        "MATCH_CLASS",
        "FOR_RANGE_PREP",
        "FOR_RANGE",
        "FOR_NEXT_STORE",
        "BINARY_LOCALS_STORE",
        "BINARY_LOCAL_CONST_STORE",
        "INPLACE_LOCAL_ATTR",
        "INPLACE_ATTR_LOCAL",
        "INPLACE_ATTR_CONST",
        "CALL_KW",
    ] {
        assert!(seen.contains(name), "{name} not emitted: {seen:?}");
    }
}

#[test]
fn jumps_are_found_by_operand_kind() {
    let mut op = Op::ForNextStore(
        minivm_compiler::bytecode::Reg(3),
        minivm_compiler::bytecode::Label(9),
    );
    assert_eq!(op.jump(), Some(9));
    assert!(op.jumps_backward());
    assert!(op.set_jump(2));
    assert_eq!(op.jump(), Some(2));
    assert_eq!(Op::Pop.jump(), None);
    let mut short = Op::CompareLocalsJump(
        minivm_compiler::bytecode::CmpOp::Lt,
        minivm_compiler::bytecode::Reg(0),
        minivm_compiler::bytecode::Reg(1),
        minivm_compiler::bytecode::Reg(5),
    );
    assert!(!short.jumps_backward());
    // A 16-bit jump operand refuses a target it cannot hold.
    assert!(!short.set_jump(70_000));
    assert_eq!(short.jump(), Some(5));
}
