//! The command line: help, subcommands, the REPL fed from stdin, and error exits.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const MINIVM: &str = env!("CARGO_BIN_EXE_minivm");

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(MINIVM)
        .current_dir(root())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start minivm");
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes()).expect("write stdin");
    }
    child.wait_with_output().expect("wait for minivm")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn help_lists_subcommands_and_flags() {
    let out = run(&["--help"], "");
    assert!(out.status.success());
    let help = text(&out.stdout);
    for word in [
        "dis",
        "tokens",
        "ast",
        "--trace",
        "--gil",
        "--stats",
        "--switch-interval",
    ] {
        assert!(
            help.contains(word),
            "--help does not mention {word}:\n{help}"
        );
    }
}

#[test]
fn repl_echoes_expression_values_and_keeps_state() {
    let out = run(
        &[],
        "1 + 1\nx = 21\nx * 2\ndef f(a):\n    return a + 1\n\nf(3)\nNone\n'hi'\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<String> = text(&out.stdout)
        .lines()
        .skip(1)
        .map(String::from)
        .collect();
    assert_eq!(lines, ["2", "42", "4", "'hi'"]);
}

#[test]
fn repl_reports_errors_and_goes_on() {
    let out = run(&[], "1/0\nprint('after')\n");
    assert!(out.status.success());
    assert!(text(&out.stderr).contains("ZeroDivisionError: division by zero"));
    assert!(text(&out.stdout).contains("after"));
}

#[test]
fn missing_file_exits_2_with_a_message() {
    let out = run(&["no/such/file.mini"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("can't open file 'no/such/file.mini'"));
}

#[test]
fn dis_tokens_and_ast_show_each_stage() {
    let dis = run(&["dis", "examples/factorize.mini"], "");
    assert!(dis.status.success());
    let d = text(&dis.stdout);
    assert!(d.contains("Disassembly of <code object factorize"), "{d}");
    assert!(d.contains("FOR_ITER") && d.contains("YIELD_VALUE") && d.contains("JUMP_BACKWARD"));

    let tokens = run(&["tokens", "examples/factorize.mini"], "");
    assert!(tokens.status.success());
    let t = text(&tokens.stdout);
    assert!(t.contains("INDENT") && t.contains("DEDENT") && t.contains("factorize"));

    let ast = run(&["ast", "examples/factorize.mini"], "");
    assert!(ast.status.success());
    assert!(text(&ast.stdout).contains("FunctionDef"));
}

#[test]
fn syntax_error_in_dis_points_at_the_source() {
    let dir = std::env::temp_dir().join(format!("minivm-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("bad.mini");
    std::fs::write(&file, "x = (1 +\n").expect("write");
    let out = run(&["dis", file.to_str().expect("utf-8 path")], "");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(":1:5: SyntaxError: '(' was never closed"),
        "{err}"
    );
    assert!(err.contains("    ^"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn trace_prints_instructions_with_the_thread_name() {
    let out = run(&["--trace", "examples/closures.mini"], "");
    assert!(out.status.success());
    assert!(text(&out.stderr).contains("[MainThread]"));
}

#[test]
fn argv_reaches_the_program() {
    let dir = std::env::temp_dir().join(format!("minivm-argv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("argv.mini");
    std::fs::write(&file, "import sys\nprint(sys.argv[1:])\n").expect("write");
    let out = run(
        &[file.to_str().expect("utf-8 path"), "a", "--flag", "3"],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "['a', '--flag', '3']\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ctrl_c_raises_keyboard_interrupt_in_the_main_thread() {
    let dir = std::env::temp_dir().join(format!("minivm-sigint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("sleepy.mini");
    std::fs::write(
        &file,
        "import time\nprint('sleeping', flush=True)\ntry:\n    time.sleep(30)\nfinally:\n    print('finally ran')\n",
    )
    .expect("write");
    let mut child = Command::new(MINIVM)
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start minivm");
    // Wait until the program is inside time.sleep, then send SIGINT as a terminal's Ctrl-C does.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 9];
    std::io::Read::read_exact(&mut stdout, &mut first).expect("program started");
    let started = std::time::Instant::now();
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).expect("read stdout");
    assert!(
        started.elapsed().as_secs() < 10,
        "sleep was not interrupted"
    );
    assert_eq!(out.status.code(), Some(130));
    assert!(rest.contains("finally ran"), "{rest}");
    let err = text(&out.stderr);
    assert!(err.contains("KeyboardInterrupt"), "{err}");
    assert!(err.contains("time.sleep(30)"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A program in a fresh temporary directory (removed by the caller with `remove_dir_all`).
fn temp_program(tag: &str, name: &str, src: &str) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("minivm-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join(name);
    std::fs::write(&file, src).expect("write");
    let path = file.to_str().expect("utf-8 path").to_string();
    (dir, path)
}

#[test]
fn dis_spells_constants_with_the_vms_repr() {
    let (dir, file) = temp_program(
        "dis-repr",
        "consts.mini",
        "x = 9999999999999998.0\ny = 'a\\u200bb'\nz = (1e16, 0.1, '\\x00\\'', \"it's\")\nprint(x, repr(y), z)\n",
    );
    let out = run(&["dis", &file], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let d = text(&out.stdout);
    for want in [
        "(9999999999999998.0)",
        r"('a\u200bb')",
        r#"((1e+16, 0.1, "\x00'", "it's"))"#,
    ] {
        assert!(d.contains(want), "dis lacks {want}:\n{d}");
    }
    // The same spellings as repr() at run time.
    let ran = run(&[&file], "");
    assert_eq!(
        text(&ran.stdout),
        "9999999999999998.0 'a\\u200bb' (1e+16, 0.1, \"\\x00'\", \"it's\")\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn repl_exit_and_quit_behave_as_in_cpython() {
    // A bare name echoes how to leave; exit() leaves with status 0 and runs nothing after it.
    let out = run(&[], "exit\nquit\n1 + 1\nexit()\nprint('not reached')\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<String> = text(&out.stdout)
        .lines()
        .skip(1)
        .map(String::from)
        .collect();
    assert_eq!(
        lines,
        [
            "Use exit() or Ctrl-D (i.e. EOF) to exit",
            "Use quit() or Ctrl-D (i.e. EOF) to exit",
            "2"
        ]
    );
    assert_eq!(text(&out.stderr), "");
    let out = run(&[], "quit(4)\n");
    assert_eq!(out.status.code(), Some(4));
    let out = run(&[], "exit('bye')\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "bye\n");
}
