//! Programs too long or too deep for a file in tests/errors: generated here, run through the
//! `minivm` binary and checked against CPython 3.11: the same exit code and the same last line of
//! stderr (or the same stdout when both run), never a crash. When python3 >= 3.11 is not installed
//! (or `MINIVM_TEST_PYTHON=none`), the outcome CPython 3.11.7 gave is checked instead.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

const MINIVM: &str = env!("CARGO_BIN_EXE_minivm");

const TOO_DEEP: &str = "RecursionError: maximum recursion depth exceeded during compilation";

/// What a run ended with: exit code, and the last line of stderr (or all of stdout on success).
type Outcome = (Option<i32>, String);

/// Write `src` to a fresh file and run `program` on it.
fn run(program: &str, flags: &[&str], name: &str, src: &str) -> Outcome {
    let dir = std::env::temp_dir().join(format!("minivm-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path: PathBuf = dir.join(format!("{name}.py"));
    std::fs::write(&path, src).expect("write program");
    let out = Command::new(program)
        .args(flags)
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .expect("run the program");
    let _ = std::fs::remove_file(&path);
    let text = if out.status.success() {
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        stderr.lines().last().unwrap_or("").to_string()
    };
    (out.status.code(), text)
}

/// Run every case under minivm; each must end as CPython does (or as `expected` says without it).
fn check(cases: &[(&str, String, Outcome)]) {
    let python = common::python();
    for (name, src, expected) in cases {
        let got = run(MINIVM, &[], name, src);
        let want = match &python {
            Some(py) => run(py, common::PYTHON_FLAGS, name, src),
            None => expected.clone(),
        };
        assert_eq!(got, want, "{name}: minivm vs CPython");
    }
}

fn repeat(term: &str, sep: &str, n: usize) -> String {
    vec![term; n].join(sep)
}

fn failed(last: &str) -> Outcome {
    (Some(1), last.to_string())
}

#[test]
fn long_flat_chains_are_a_recursion_error_not_a_crash() {
    let elif = |n: usize| {
        let mut s = String::from("x = 1\nif x == 0:\n    pass\n");
        for i in 1..n {
            s.push_str(&format!("elif x == {i}:\n    pass\n"));
        }
        s
    };
    let chain = |head: &str, link: &str, n: usize| format!("{head}x = a{}\n", link.repeat(n));
    check(&[
        (
            "sum30k",
            format!("x = {}\nprint(x)\n", repeat("1", " + ", 30_000)),
            failed(TOO_DEEP),
        ),
        (
            "sum200k",
            format!("print({})\n", repeat("1", " + ", 200_000)),
            failed(TOO_DEEP),
        ),
        ("attr50k", chain("a = 1\n", ".b", 50_000), failed(TOO_DEEP)),
        (
            "attr200k",
            chain("a = 1\n", ".b", 200_000),
            failed(TOO_DEEP),
        ),
        (
            "slices100k",
            chain("a = 'abc'\n", "[:]", 100_000),
            failed(TOO_DEEP),
        ),
        (
            "calls100k",
            chain("a = 1\n", "()", 100_000),
            failed(TOO_DEEP),
        ),
        (
            "subscripts100k",
            chain("a = [0]\n", "[0]", 100_000),
            failed(TOO_DEEP),
        ),
        (
            "bor30k",
            format!("x = {}\n", repeat("1", " | ", 30_000)),
            failed(TOO_DEEP),
        ),
        (
            "ifexp4000",
            format!("x = {}1\n", "1 if 1 else ".repeat(4_000)),
            failed(TOO_DEEP),
        ),
        ("elif4000", elif(4_000), failed(TOO_DEEP)),
        (
            "neg3000",
            format!("x = {}1\n", "-".repeat(3_000)),
            failed(TOO_DEEP),
        ),
    ]);
}

#[test]
fn parser_nesting_limit_is_a_memory_error() {
    let m = || failed("MemoryError");
    check(&[
        ("neg5968", format!("x = {}1\n", "-".repeat(5_968)), m()),
        ("neg100k", format!("x = {}1\n", "-".repeat(100_000)), m()),
        ("not100k", format!("x = {}1\n", "not ".repeat(100_000)), m()),
        (
            "lambda10k",
            format!("x = {}1\n", "lambda: ".repeat(10_000)),
            m(),
        ),
        (
            "ifexp100k",
            format!("x = {}1\n", "1 if 1 else ".repeat(100_000)),
            m(),
        ),
        (
            "pow3000",
            format!("x = {}\n", repeat("1", "**", 3_000)),
            m(),
        ),
        (
            "pow100k",
            format!("x = {}\n", repeat("1", "**", 100_000)),
            m(),
        ),
    ]);
}

#[test]
fn what_cpython_compiles_runs() {
    let ok = |out: &str| (Some(0), out.to_string());
    check(&[
        (
            "sum2998",
            format!("print({})\n", repeat("1", " + ", 2_998)),
            ok("2998\n"),
        ),
        (
            "and30k",
            format!("print({})\n", repeat("1", " and ", 30_000)),
            ok("1\n"),
        ),
        (
            "cmp30k",
            format!("print({})\n", repeat("1", " < ", 30_000)),
            ok("False\n"),
        ),
        (
            "neg2997",
            format!("print({}1)\n", "-".repeat(2_997)),
            ok("-1\n"),
        ),
        (
            "lambda2000",
            format!("f = {}1\nprint(1)\n", "lambda: ".repeat(2_000)),
            ok("1\n"),
        ),
        (
            "pow1000",
            format!("print({})\n", repeat("1", "**", 1_000)),
            ok("1\n"),
        ),
        (
            "parens199",
            format!("print({}1{})\n", "(".repeat(199), ")".repeat(199)),
            ok("1\n"),
        ),
    ]);
}

#[test]
fn bracket_nesting_limit_is_cpythons() {
    check(&[
        (
            "parens200",
            format!("x = {}1{}\n", "(".repeat(200), ")".repeat(200)),
            failed("SyntaxError: too many nested parentheses"),
        ),
        (
            "lists300",
            format!("x = {}1{}\n", "[".repeat(300), "]".repeat(300)),
            failed("SyntaxError: too many nested parentheses"),
        ),
    ]);
}
