//! Stage 2 tests: parser output shapes (via the `astdump` tree), precedence, every statement kind,
//! f-strings, error messages with positions, deep nesting on a 2 MiB stack, REPL continuation.

use minivm_compiler::ast::{ExprKind, FStringPart, StmtKind};
use minivm_compiler::astdump::dump_module;
use minivm_compiler::parser::{input_is_incomplete, parse};
use minivm_compiler::{LineIndex, SyntaxErrorKind};

/// The AST tree of `src` without the leading `Module` line and with indentation relative to it.
fn tree(src: &str) -> String {
    match parse(src) {
        Ok(m) => dump_module(&m)
            .lines()
            .skip(1)
            .map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l)))
            .collect(),
        Err(e) => panic!("unexpected error {e} for {src:?}"),
    }
}

/// The error for `src` as (kind, message, line, column), columns 1-based in characters.
fn error(src: &str) -> (SyntaxErrorKind, String, u32, u32) {
    match parse(src) {
        Ok(m) => panic!("expected an error for {src:?}, got {m:?}"),
        Err(e) => {
            let (line, col) = LineIndex::new(src).line_col(src, e.span.start);
            (e.kind, e.message, line, col)
        }
    }
}

fn message(src: &str) -> String {
    error(src).1
}

#[test]
fn power_binds_tighter_than_unary_minus_and_is_right_assoc() {
    assert_eq!(
        tree("-2**2"),
        "UnaryOp -\n  BinOp **\n    Const 2\n    Const 2\n"
    );
    assert_eq!(
        tree("2**3**2"),
        "BinOp **\n  Const 2\n  BinOp **\n    Const 3\n    Const 2\n"
    );
    assert_eq!(
        tree("2**-1"),
        "BinOp **\n  Const 2\n  UnaryOp -\n    Const 1\n"
    );
}

#[test]
fn arithmetic_and_bitwise_precedence() {
    assert_eq!(
        tree("a + b * c - d"),
        "BinOp -\n  BinOp +\n    Name a\n    BinOp *\n      Name b\n      Name c\n  Name d\n"
    );
    assert_eq!(
        tree("a | b ^ c & d << e + f"),
        "BinOp |\n  Name a\n  BinOp ^\n    Name b\n    BinOp &\n      Name c\n      BinOp <<\n        Name d\n        BinOp +\n          Name e\n          Name f\n"
    );
    assert_eq!(
        tree("a // b % c @ d / e"),
        "BinOp /\n  BinOp @\n    BinOp %\n      BinOp //\n        Name a\n        Name b\n      Name c\n    Name d\n  Name e\n"
    );
}

#[test]
fn boolean_comparison_and_ternary_precedence() {
    assert_eq!(
        tree("not a == b or c and d"),
        "BoolOp or\n  UnaryOp not\n    Compare ==\n      Name a\n      Name b\n  BoolOp and\n    Name c\n    Name d\n"
    );
    assert_eq!(
        tree("a < b <= c is not d not in e"),
        "Compare < <= is not not in\n  Name a\n  Name b\n  Name c\n  Name d\n  Name e\n"
    );
    assert_eq!(
        tree("x = a if b else c if d else e"),
        "Assign\n  target: Name x\n  value: IfExp\n    test: Name b\n    body: Name a\n    else: IfExp\n      test: Name d\n      body: Name c\n      else: Name e\n"
    );
    assert_eq!(
        tree("f = lambda a, b=1, *c, d, **e: a"),
        "Assign\n  target: Name f\n  value: Lambda (a, b=…, *c, d, **e)\n    default b: Const 1\n    body: Name a\n"
    );
}

#[test]
fn tuples_with_and_without_parens() {
    assert_eq!(
        tree("x = 1,"),
        "Assign\n  target: Name x\n  value: Tuple\n    Const 1\n"
    );
    assert_eq!(tree("()"), "Tuple\n");
    assert_eq!(tree("(1)"), "Const 1\n");
    assert_eq!(
        tree("a, *b = c"),
        "Assign\n  target: Tuple\n    Name a\n    *Name b\n  value: Name c\n"
    );
    assert_eq!(
        tree("def f():\n    return a, b\n"),
        "FunctionDef f()\n  body:\n    Return\n      Tuple\n        Name a\n        Name b\n"
    );
    assert_eq!(
        tree("for k, v in d: pass"),
        "For\n  target: Tuple\n    Name k\n    Name v\n  iter: Name d\n  body:\n    Pass\n"
    );
    assert_eq!(
        tree("x = y = 1"),
        "Assign\n  target: Name x\n  target: Name y\n  value: Const 1\n"
    );
}

#[test]
fn calls_subscripts_and_slices() {
    assert_eq!(
        tree("f(a, *b, k=1, **d)"),
        "Call\n  func: Name f\n  arg: Name a\n  arg: *Name b\n  keyword k: Const 1\n  keyword **: Name d\n"
    );
    assert_eq!(
        tree("sum(x for x in y)"),
        "Call\n  func: Name sum\n  arg: GeneratorExp\n    elt: Name x\n    for\n      target: Name x\n      iter: Name y\n"
    );
    assert_eq!(
        tree("a[1:2, ::3]"),
        "Subscript\n  value: Name a\n  index: Tuple\n    Slice\n      lower: Const 1\n      upper: Const 2\n    Slice\n      step: Const 3\n"
    );
    assert_eq!(
        tree("a.b[c](d)"),
        "Call\n  func: Subscript\n    value: Attribute .b\n      Name a\n    index: Name c\n  arg: Name d\n"
    );
}

#[test]
fn displays_and_comprehensions() {
    assert_eq!(
        tree("{**a, 'k': 1}"),
        "Dict\n  **Name a\n  key: Const \"k\"\n    value: Const 1\n"
    );
    assert_eq!(tree("{}"), "Dict\n");
    assert_eq!(tree("{1, *a}"), "Set\n  Const 1\n  *Name a\n");
    assert_eq!(tree("[*a, 1]"), "List\n  *Name a\n  Const 1\n");
    assert_eq!(
        tree("[y for x in z if x for y in x if y if 1]"),
        "ListComp\n  elt: Name y\n  for\n    target: Name x\n    iter: Name z\n    if: Name x\n  for\n    target: Name y\n    iter: Name x\n    if: Name y\n    if: Const 1\n"
    );
    assert_eq!(
        tree("{k: v for k, v in d}"),
        "DictComp\n  key: Name k\n  value: Name v\n  for\n    target: Tuple\n      Name k\n      Name v\n    iter: Name d\n"
    );
    assert_eq!(
        tree("{x for x in y}"),
        "SetComp\n  elt: Name x\n  for\n    target: Name x\n    iter: Name y\n"
    );
}

#[test]
fn walrus_yield_and_strings() {
    assert_eq!(
        tree("if (n := 10) > 5: pass"),
        "If\n  test: Compare >\n    NamedExpr n :=\n      Const 10\n    Const 5\n  body:\n    Pass\n"
    );
    assert_eq!(
        tree("def g():\n    x = yield 1\n    yield from y\n    yield\n"),
        "FunctionDef g()\n  body:\n    Assign\n      target: Name x\n      value: Yield\n        Const 1\n    YieldFrom\n      Name y\n    Yield\n"
    );
    assert_eq!(tree("'a' \"b\" '''c'''"), "Const \"abc\"\n");
    assert_eq!(
        tree(r"'\n\t\\\'\x41\u00e9\101\0'"),
        "Const \"\\n\\t\\\\'AéA\\0\"\n"
    );
    assert_eq!(tree(r"r'\n'"), "Const \"\\\\n\"\n");
    assert_eq!(tree("'a\\\nb'"), "Const \"ab\"\n");
    assert_eq!(tree("x = 1.5; y = ...; z = None"), "Assign\n  target: Name x\n  value: Const 1.5\nAssign\n  target: Name y\n  value: Const ...\nAssign\n  target: Name z\n  value: Const None\n");
}

#[test]
fn every_statement_kind() {
    let src = "\
import os.path as p, sys
from ..m import (a as b, c,)
from . import *
@dec
class C(B, metaclass=M):
    x: int = 1
    def f(self, a, /, b, *, c=2) -> int:
        global g
        nonlocal h
        del a, b[0]
        assert a, 'msg'
        a += 1
        return
while x:
    try:
        raise E from e
    except (E, F) as err:
        break
    except:
        continue
    else:
        pass
    finally:
        pass
else:
    pass
with open(a) as f, g() as (x, y):
    pass
with (a as b, c):
    pass
";
    let m = match parse(src) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    let kinds: Vec<&str> = m
        .body
        .iter()
        .map(|s| match &s.kind {
            StmtKind::Import(_) => "import",
            StmtKind::ImportFrom { .. } => "from",
            StmtKind::ClassDef(_) => "class",
            StmtKind::While { .. } => "while",
            StmtKind::With { .. } => "with",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        ["import", "from", "from", "class", "while", "with", "with"]
    );
    let out = dump_module(&m);
    for needle in [
        "ImportFrom ..m import a as b, c",
        "ImportFrom . import *",
        "FunctionDef f(self, a, /, b, *, c=…)",
        "decorator: Name dec",
        "keyword metaclass: Name M",
        "AnnAssign",
        "Global g",
        "Nonlocal h",
        "AugAssign +=",
        "ExceptHandler as err",
        "cause: Name e",
        "finally:",
        "as: Tuple",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
    let StmtKind::ClassDef(c) = &m.body[3].kind else {
        panic!("not a class")
    };
    let StmtKind::FunctionDef(f) = &c.body[1].kind else {
        panic!("not a def")
    };
    assert_eq!(f.params.posonly.len(), 2);
    assert_eq!(f.params.args.len(), 1);
    assert_eq!(f.params.kwonly.len(), 1);
    assert!(f.returns.is_some());
}

#[test]
fn fstrings() {
    assert_eq!(
        tree("f'a{x!r:>{w}}b{{c}}{y=}' 'd'"),
        "FString\n  Literal \"a\"\n  Value !r\n    Name x\n    spec:\n      Literal \">\"\n      Value\n        Name w\n  Literal \"b{c}\"\n  Value debug \"y=\" !r\n    Name y\n  Literal \"d\"\n"
    );
    assert_eq!(
        tree("f\"{d['k']} { x = :.2f}\""),
        "FString\n  Value\n    Subscript\n      value: Name d\n      index: Const \"k\"\n  Literal \" \"\n  Value debug \" x = \"\n    Name x\n    spec:\n      Literal \".2f\"\n"
    );
    assert_eq!(
        tree("f'{a != b}{a if b else c}'"),
        "FString\n  Value\n    Compare !=\n      Name a\n      Name b\n  Value\n    IfExp\n      test: Name b\n      body: Name a\n      else: Name c\n"
    );
    assert_eq!(
        tree("rf'\\n{x}'"),
        "FString\n  Literal \"\\\\n\"\n  Value\n    Name x\n"
    );
}

#[test]
fn fstring_expression_spans_point_into_the_source() {
    let src = "print(f'총 {delta:.3f} 초 걸림')\n";
    let m = match parse(src) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    let StmtKind::Expr(call) = &m.body[0].kind else {
        panic!()
    };
    let ExprKind::Call { args, .. } = &call.kind else {
        panic!()
    };
    let ExprKind::FString(parts) = &args[0].kind else {
        panic!()
    };
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[0], FStringPart::Literal("총 ".into()));
    assert_eq!(parts[2], FStringPart::Literal(" 초 걸림".into()));
    let FStringPart::Value { expr, spec, .. } = &parts[1] else {
        panic!()
    };
    let span = expr.span;
    assert_eq!(&src[span.start as usize..span.end as usize], "delta");
    assert_eq!(
        spec.as_deref(),
        Some(&[FStringPart::Literal(".3f".into())][..])
    );
}

#[test]
fn fstring_errors() {
    assert_eq!(message("f'{}'"), "f-string: empty expression not allowed");
    assert_eq!(
        message("f'{a!x}'"),
        "f-string: invalid conversion character: expected 's', 'r', or 'a'"
    );
    assert_eq!(message("f'a}'"), "f-string: single '}' is not allowed");
    assert_eq!(message("f'{a'"), "f-string: expecting '}'");
    assert_eq!(
        message("f'{a\\n}'"),
        "f-string expression part cannot include a backslash"
    );
    // CPython 3.11 says so for two adjacent expressions in a field, as outside f-strings.
    assert_eq!(
        message("f'{a b}'"),
        "f-string: invalid syntax. Perhaps you forgot a comma?"
    );
    assert_eq!(message("f'{1+}'"), "f-string: invalid syntax");
}

#[test]
fn syntax_error_messages_and_positions() {
    let e = |k, m: &str, l, c| (k, m.to_string(), l, c);
    use SyntaxErrorKind::{IndentationError, SyntaxError};
    assert_eq!(error("x = 1 +\n"), e(SyntaxError, "invalid syntax", 1, 8));
    assert_eq!(error("if x\n  y\n"), e(SyntaxError, "expected ':'", 1, 5));
    assert_eq!(
        error("f() = 1"),
        e(
            SyntaxError,
            "cannot assign to function call here. Maybe you meant '==' instead of '='?",
            1,
            1
        )
    );
    assert_eq!(
        error("x = 1\n1 = x"),
        e(
            SyntaxError,
            "cannot assign to literal here. Maybe you meant '==' instead of '='?",
            2,
            1
        )
    );
    assert_eq!(
        error("for f() in x: pass"),
        e(SyntaxError, "cannot assign to function call", 1, 5)
    );
    assert_eq!(
        error("(a, b + 1) = c"),
        e(SyntaxError, "cannot assign to expression", 1, 5)
    );
    assert_eq!(
        error("del f()"),
        e(SyntaxError, "cannot delete function call", 1, 5)
    );
    assert_eq!(error("None = 1").1, "cannot assign to None");
    assert_eq!(
        error("a, b += 1").1,
        "'tuple' is an illegal expression for augmented assignment"
    );
    assert_eq!(
        error("print(1 2)"),
        e(
            SyntaxError,
            "invalid syntax. Perhaps you forgot a comma?",
            1,
            7
        )
    );
    assert_eq!(
        error("x\n  y\n"),
        e(IndentationError, "unexpected indent", 2, 2)
    );
    assert_eq!(
        error("if x:\ny\n"),
        e(
            IndentationError,
            "expected an indented block after 'if' statement on line 1",
            2,
            1
        )
    );
    assert_eq!(
        error("def f():\n\nx = 1\n"),
        e(
            IndentationError,
            "expected an indented block after function definition on line 1",
            3,
            1
        )
    );
    assert_eq!(
        error("try:\n  pass\nx = 1\n"),
        e(SyntaxError, "expected 'except' or 'finally' block", 3, 1)
    );
    assert_eq!(
        error("f(a=1, b)").1,
        "positional argument follows keyword argument"
    );
    assert_eq!(
        error("f(x for x in y, 1)").1,
        "Generator expression must be parenthesized"
    );
    assert_eq!(
        error("def f(a=1, b): pass").1,
        "non-default argument follows default argument"
    );
    assert_eq!(error("x := 1").1, "invalid syntax");
    assert_eq!(error("x = (1,\n     2\ny = 3\n").1, "'(' was never closed");
}

#[test]
fn async_syntax_parses() {
    assert_eq!(error("async x = 1").1, "invalid syntax");
    assert_eq!(error("await await x").1, "invalid syntax");
    assert_eq!(error("@d\nasync for x in y: pass").1, "invalid syntax");
}

#[test]
fn except_star_clauses() {
    assert!(parse("try:\n  pass\nexcept* E as e:\n  pass\nexcept* (A, B):\n  pass\n").is_ok());
    assert_eq!(
        error("try:\n  pass\nexcept* E:\n  pass\nexcept F:\n  pass\n").1,
        "cannot have both 'except' and 'except*' on the same 'try'"
    );
    assert_eq!(
        error("try:\n  pass\nexcept*:\n  pass\n").1,
        "expected one or more exception types"
    );
}

#[test]
fn soft_keyword_match_and_except_star_parse() {
    assert!(parse("match = 1\nmatch(x)\nmatch.y = 2\nmatch[x]: int = 1\n").is_ok());
    assert!(parse("match (x):\n    case [1, *r] | {'k': r}: pass\n").is_ok());
    assert!(parse("try:\n  pass\nexcept* E:\n  pass\n").is_ok());
}

#[test]
fn utf8_source() {
    assert_eq!(
        tree("이름 = '한국어'\nprint(이름)\n"),
        "Assign\n  target: Name 이름\n  value: Const \"한국어\"\nCall\n  func: Name print\n  arg: Name 이름\n"
    );
}

/// Parse `src` on a thread with `stack` bytes of stack; the error as CPython would print its
/// last line.
fn parse_on_stack(src: String, stack: usize) -> Result<(), String> {
    let handle = std::thread::Builder::new()
        .stack_size(stack)
        .spawn(move || parse(&src).map(|_| ()).map_err(|e| e.to_string()));
    match handle {
        Ok(h) => h.join().unwrap_or_else(|_| Err("thread crashed".into())),
        Err(e) => Err(e.to_string()),
    }
}

/// The stack the front end may need at CPython's limits (about 16 MiB for 5,967 nested
/// conditional expressions, the deepest kind); the command line gives it 256 MiB.
const FRONT_END_STACK: usize = 32 << 20;

#[test]
fn deep_nesting_is_a_clean_error_not_a_stack_overflow() {
    let parens = format!("x = {}1{}\n", "(".repeat(10_000), ")".repeat(10_000));
    assert_eq!(
        parse_on_stack(parens, 2 << 20),
        Err("SyntaxError: too many nested parentheses".into())
    );
    // Past CPython's parser stack (6000 levels): a bare MemoryError, as there.
    for src in [
        format!("x = {}1\n", "-".repeat(100_000)),
        format!("x = {}1\n", "not ".repeat(100_000)),
        format!("x = 2{}\n", "**2".repeat(100_000)),
        format!("x = {}1\n", "lambda: ".repeat(100_000)),
        format!("x = {}1\n", "1 if 2 else ".repeat(100_000)),
        format!("x = {}1\n", "1 if 2 else ".repeat(5_968)),
    ] {
        assert_eq!(
            parse_on_stack(src, FRONT_END_STACK),
            Err("MemoryError".into())
        );
    }
    let ifs: String = (0..5000)
        .map(|i| format!("{}if x:\n", " ".repeat(i)))
        .collect();
    assert_eq!(
        parse_on_stack(ifs + "pass\n", 2 << 20),
        Err("IndentationError: too many levels of indentation".into())
    );
}

#[test]
fn nesting_just_under_the_limits_parses() {
    let small = 2 << 20;
    let mixed = format!("x = {}1{}\n", "[-(".repeat(66), ")]".repeat(66));
    assert_eq!(parse_on_stack(mixed, small), Ok(()));
    let parens = format!("x = {}1{}\n", "(".repeat(199), ")".repeat(199));
    assert_eq!(parse_on_stack(parens, small), Ok(()));
    let fstr = format!("x = f'{{{}1{}}}'\n", "(".repeat(190), ")".repeat(190));
    assert_eq!(parse_on_stack(fstr, small), Ok(()));
    let ifs: String = (0..99)
        .map(|i| format!("{}if x:\n", " ".repeat(i)))
        .collect();
    assert_eq!(
        parse_on_stack(ifs + &" ".repeat(99) + "pass\n", small),
        Ok(())
    );
    let ifexp = format!("x = {}1\n", "1 if 2 else ".repeat(5_967));
    assert_eq!(parse_on_stack(ifexp, FRONT_END_STACK), Ok(()));
}

#[test]
fn repl_continuation() {
    assert!(input_is_incomplete("if x:\n"));
    assert!(input_is_incomplete("def f():\n    return 1\n"));
    assert!(input_is_incomplete("x = (1,\n"));
    assert!(input_is_incomplete("x = 1 + \\\n"));
    assert!(input_is_incomplete("s = '''abc\n"));
    assert!(input_is_incomplete("if x: pass\n"));
    assert!(input_is_incomplete("if x:\n    y\nelse:\n"));
    assert!(!input_is_incomplete("def f():\n    return 1\n\n"));
    assert!(!input_is_incomplete("x = 1\n"));
    assert!(!input_is_incomplete("x = 1 +\n"));
    assert!(!input_is_incomplete("x = )\n"));
    assert!(!input_is_incomplete("'abc\n"));
}
