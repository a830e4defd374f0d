//! Stage 3 error tests: every SyntaxError the symbol table and code generator raise, with CPython's
//! message and line, plus the "not supported by minivm" rejections.

use minivm_compiler::{compile_source, Mode};

fn err(src: &str) -> (String, u32) {
    match compile_source(src, "t.py", Mode::File) {
        Ok(_) => panic!("expected a SyntaxError for:\n{src}"),
        Err(e) => (e.message.clone(), e.line(src)),
    }
}

#[track_caller]
fn check(src: &str, msg: &str, line: u32) {
    let (m, l) = err(src);
    assert_eq!((m.as_str(), l), (msg, line), "source:\n{src}");
}

#[test]
fn return_yield_break_continue_outside() {
    check("return 1\n", "'return' outside function", 1);
    check("class C:\n    return 1\n", "'return' outside function", 2);
    check("yield 1\n", "'yield' outside function", 1);
    check("class C:\n    yield 1\n", "'yield' outside function", 2);
    check("x = 1\nbreak\n", "'break' outside loop", 2);
    check("continue\n", "'continue' not properly in loop", 1);
    check(
        "def f():\n    for x in y:\n        pass\n    break\n",
        "'break' outside loop",
        4,
    );
    check(
        "for x in y:\n    def f():\n        break\n",
        "'break' outside loop",
        3,
    );
    check(
        "def f():\n    try:\n        pass\n    finally:\n        continue\n",
        "'continue' not properly in loop",
        5,
    );
}

#[test]
fn global_and_nonlocal_rules() {
    check(
        "nonlocal x\n",
        "nonlocal declaration not allowed at module level",
        1,
    );
    check(
        "def f():\n    nonlocal x\n",
        "no binding for nonlocal 'x' found",
        2,
    );
    check(
        "x = 1\ndef f():\n    nonlocal x\n",
        "no binding for nonlocal 'x' found",
        3,
    );
    check(
        "def f():\n    print(x)\n    global x\n",
        "name 'x' is used prior to global declaration",
        3,
    );
    check(
        "def f():\n    x = 1\n    global x\n",
        "name 'x' is assigned to before global declaration",
        3,
    );
    check(
        "def f(x):\n    global x\n",
        "name 'x' is parameter and global",
        2,
    );
    check(
        "def f(x):\n    nonlocal x\n",
        "name 'x' is parameter and nonlocal",
        2,
    );
    check(
        "def f():\n    x = 1\n    def g():\n        global x\n        nonlocal x\n",
        "name 'x' is nonlocal and global",
        4,
    );
    check(
        "def f():\n    x = 1\n    def g():\n        print(x)\n        nonlocal x\n",
        "name 'x' is used prior to nonlocal declaration",
        5,
    );
    // A class body is not an enclosing scope for nonlocal.
    check(
        "class C:\n    x = 1\n    def f(self):\n        nonlocal x\n",
        "no binding for nonlocal 'x' found",
        4,
    );
}

#[test]
fn comprehension_rules() {
    check(
        "[(yield x) for x in y]\n",
        "'yield' inside list comprehension",
        1,
    );
    check(
        "((yield x) for x in y)\n",
        "'yield' inside generator expression",
        1,
    );
    check(
        "def f():\n    [x := 1 for x in y]\n",
        "assignment expression cannot rebind comprehension iteration variable 'x'",
        2,
    );
    check(
        "class C:\n    [z := 1 for x in y]\n",
        "assignment expression within a comprehension cannot be used in a class body",
        2,
    );
}

#[test]
fn arguments_and_targets() {
    check("f(a=1, a=2)\n", "keyword argument repeated: a", 1);
    check(
        "def f(a, a): pass\n",
        "duplicate argument 'a' in function definition",
        1,
    );
    check(
        "a, *b, *c = d\n",
        "multiple starred expressions in assignment",
        1,
    );
}

#[test]
fn import_star_only_at_module_level() {
    check(
        "def f():\n    from os import *\n",
        "import * only allowed at module level",
        2,
    );
    check(
        "class C:\n    from os import *\n",
        "import * only allowed at module level",
        2,
    );
}

#[test]
fn valid_edge_cases_compile() {
    for src in [
        "x = lambda: (yield)\n",
        "def f():\n    return (yield 1)\n",
        "def f():\n    x = 1\n    return [x := y for y in range(3)], x\n",
        "[n := 1 for y in range(3)]\nprint(n)\n",
        "def f():\n    while True:\n        try:\n            break\n        finally:\n            return 1\n",
        "class C:\n    def m(self):\n        return super().m(), __class__\n",
        "global g\ng = 1\n",
        "from . import y\nfrom ..m import z as w\nfrom os import *\n",
        "def f():\n    for i in x:\n        with a as b:\n            try:\n                continue\n            except E as e:\n                break\n",
    ] {
        if let Err(e) = compile_source(src, "t.py", Mode::File) {
            panic!("{src}\n-> {e}");
        }
    }
}

#[test]
fn interactive_mode_prints_expressions() {
    let code = compile_source("1 + 2\nx = 3\nx\n", "<stdin>", Mode::Interactive).unwrap();
    let n = code
        .code
        .iter()
        .filter(|op| matches!(op, minivm_compiler::bytecode::Op::PrintExpr))
        .count();
    assert_eq!(n, 2);
    let code = compile_source("def f():\n    1 + 2\n", "<stdin>", Mode::Interactive).unwrap();
    let plain = minivm_compiler::dis::Spelling {
        float: |x| format!("{x:?}"),
        str: |s| format!("'{s}'"),
    };
    let text = minivm_compiler::dis::disassemble(&code, &plain);
    assert!(!text.contains("PRINT_EXPR"), "{text}");
}
