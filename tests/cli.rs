//! Tests of the whole pipeline (the `minivm` binary).
//! The command line: help, subcommands, the REPL fed from stdin, and error exits.

mod common;
#[path = "common/sigint.rs"]
mod sigint;

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
    feed(&mut child, stdin);
    child.wait_with_output().expect("wait for minivm")
}

/// Write `stdin` to the child's input and close it. A program that ends without reading its
/// input (PYTHONINSPECT with a pipe for stdin: no prompt) may have exited before the write on
/// a loaded machine, which then fails with a broken pipe (cli.rs failed so once at load 22): not
/// an error of the program, which the caller judges by its output and status.
fn feed(child: &mut std::process::Child, stdin: &str) {
    if let Some(mut input) = child.stdin.take() {
        if let Err(e) = input.write_all(stdin.as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
        }
    }
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

/// The prompt issues each entry's compile-time warnings as CPython's REPL does (`<stdin>:1:`,
/// each time the entry is given), and `-W error` makes one the entry's `SyntaxError`: the entry
/// does not run and the prompt goes on. (The prompt once dropped them.)
#[test]
fn repl_issues_compile_warnings() {
    let src = "x = 1\nx is 1\ny = 2if x else 3\nx is 1\nprint('after', y)\n";
    let out = run(&["-q"], src);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let is_literal = "<stdin>:1: SyntaxWarning: \"is\" with a literal. Did you mean \"==\"?\n";
    let decimal = "<stdin>:1: SyntaxWarning: invalid decimal literal\n";
    assert_eq!(
        text(&out.stderr),
        format!("{is_literal}{decimal}{is_literal}")
    );
    assert_eq!(text(&out.stdout), "True\nTrue\nafter 2\n");

    let out = run(&["-q", "-W", "error"], src);
    let err = text(&out.stderr);
    assert_eq!(
        err.matches("SyntaxError: \"is\" with a literal").count(),
        2,
        "{err}"
    );
    assert!(
        err.contains("SyntaxError: invalid decimal literal"),
        "{err}"
    );
    assert!(!err.contains("Warning"), "{err}");
    // Neither `x is 1` ran (no `True`); `y` was never assigned.
    assert!(text(&out.stdout).is_empty(), "{}", text(&out.stdout));
    assert!(err.contains("NameError: name 'y' is not defined"), "{err}");
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
    assert!(d.contains("FOR_NEXT") && d.contains("YIELD_POP") && d.contains("JUMP_FORWARD"));

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
    let path = file.to_str().expect("utf-8 path");
    // By default once, as CPython prints it.
    let out = run(&["dis", path], "");
    assert_eq!(out.status.code(), Some(1));
    let want = format!(
        "  File \"{path}\", line 1\n    x = (1 +\n        ^\nSyntaxError: '(' was never closed\n"
    );
    assert_eq!(text(&out.stderr), want);
    // With a `file:line:column:` line first for editors.
    let out = run(&["dis", "--error-format=gnu", path], "");
    assert_eq!(out.status.code(), Some(1));
    let gnu = format!("{path}:1:5: SyntaxError: '(' was never closed\n{want}");
    assert_eq!(text(&out.stderr), gnu);
    let out = run(&["--error-format=gnu", path], "");
    assert_eq!(text(&out.stderr), gnu);
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

/// Bytes that are not UTF-8 where CPython would make a str with surrogate escapes (an argument,
/// a file name, a link target): minivm's str cannot hold them, so each is a clear error naming
/// the bytes, never a str with a replacement character (which would name another file).
#[test]
fn non_utf8_arguments_and_file_names_are_clear_errors() {
    use std::os::unix::ffi::OsStrExt;
    let dir = std::env::temp_dir().join(format!("minivm-nonutf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let odd = std::ffi::OsStr::from_bytes(b"x\xff");
    std::fs::write(dir.join(odd), "").expect("odd file");
    std::os::unix::fs::symlink(odd, dir.join("link")).expect("symlink");
    let run_in = |args: &[&std::ffi::OsStr]| {
        Command::new(MINIVM)
            .current_dir(&dir)
            .args(args)
            .output()
            .expect("run minivm")
    };
    let out = run_in(&["-c".as_ref(), "print(1)".as_ref(), odd]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(out.stdout, b"");
    assert_eq!(
        text(&out.stderr),
        "minivm: the argument b'x\\xff' is not UTF-8: CPython decodes it with surrogate \
         escapes, which a minivm str cannot hold\n"
    );
    for (code, what) in [
        ("import os; os.listdir('.')", "the file name"),
        ("import os; list(os.scandir('.'))", "the file name"),
        ("import os; os.readlink('link')", "the link target"),
        ("open(b'x\\xff')", "the path"),
    ] {
        let out = run_in(&["-c".as_ref(), code.as_ref()]);
        assert_eq!(out.status.code(), Some(1), "{code}");
        let err = text(&out.stderr);
        let want = format!(
            "NotImplementedError: {what} b'x\\xff' is not UTF-8: CPython decodes it with \
             surrogate escapes, which a minivm str cannot hold\n"
        );
        assert!(err.ends_with(&want), "{code}: {err}");
    }
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
    let mut child = sigint::with_default_sigint(MINIVM)
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
    assert!(sigint::killed_by_sigint(&out.status), "{:?}", out.status);
    assert!(rest.contains("finally ran"), "{rest}");
    let err = text(&out.stderr);
    assert!(err.contains("KeyboardInterrupt"), "{err}");
    assert!(err.contains("time.sleep(30)"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// As CPython: a SIGINT the parent process left ignored (`trap '' INT`, a background job) stays
/// ignored, and `getsignal` says so, until the program sets a handler; the program then gets
/// its KeyboardInterrupt. (Output checked against python3 3.11 by hand: same four lines.)
#[test]
fn sigint_ignored_by_the_parent_stays_ignored_until_a_handler_is_set() {
    const SRC: &str = "import os, signal, time
print(signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGHUP))
os.kill(os.getpid(), signal.SIGINT)
time.sleep(0.2)
print('survived')
signal.signal(signal.SIGINT, signal.default_int_handler)
try:
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(5)
except KeyboardInterrupt:
    print('KeyboardInterrupt')
";
    let (dir, file) = temp_program("sigign", "ignored.mini", SRC);
    let out = Command::new("sh")
        .args(["-c", "trap '' INT HUP; exec \"$0\" \"$1\"", MINIVM, &file])
        .output()
        .expect("run sh");
    assert_eq!(text(&out.stdout), "1 1\nsurvived\nKeyboardInterrupt\n");
    assert_eq!(text(&out.stderr), "");
    assert_eq!(out.status.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A program in a fresh temporary directory (removed by the caller with `remove_dir_all`).
fn temp_program(tag: &str, name: &str, src: &str) -> (std::path::PathBuf, String) {
    // Unique per call: tests run in parallel and each removes its own directory.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("minivm-{tag}-{}-{n}", std::process::id()));
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

/// Run a program with stdout sent to `/dev/full` (a disk that is always full), as CPython's
/// default (buffered) stdout or, with `unbuffered`, as `PYTHONUNBUFFERED=1`.
fn run_to_dev_full(src: &str, unbuffered: bool) -> Option<Output> {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .ok()?;
    let (dir, file) = temp_program("full", "full.mini", src);
    let mut cmd = Command::new(MINIVM);
    cmd.arg(&file)
        .stdout(full)
        .stderr(Stdio::piped())
        .env_remove("PYTHONUNBUFFERED");
    if unbuffered {
        cmd.env("PYTHONUNBUFFERED", "1");
    }
    let out = cmd.output().expect("run minivm");
    let _ = std::fs::remove_dir_all(&dir);
    Some(out)
}

const EXIT_FLUSH: &str = "Exception ignored in: <_io.TextIOWrapper name='<stdout>' mode='w' encoding='utf-8'>\nOSError: [Errno 28] No space left on device\n";

#[test]
fn full_disk_at_exit_is_reported_as_cpython_does() {
    // Buffered output fails only in the flush at exit: CPython reports it and exits 120.
    let Some(out) = run_to_dev_full("print('hello')\nprint('world')\n", false) else {
        return; // no /dev/full here
    };
    assert_eq!(text(&out.stderr), EXIT_FLUSH);
    assert_eq!(out.status.code(), Some(120));
    // Even after sys.exit(3): the failed flush decides the status.
    let out = run_to_dev_full("import sys\nprint('a')\nsys.exit(3)\n", false).expect("dev/full");
    assert_eq!(text(&out.stderr), EXIT_FLUSH);
    assert_eq!(out.status.code(), Some(120));
}

#[test]
fn full_disk_during_the_run_raises_in_the_program() {
    // More than a buffer's worth: print itself raises OSError (a traceback, exit 1); the text that
    // failed is gone, so the flush at exit has nothing left to report.
    let Some(out) = run_to_dev_full("for i in range(10000):\n    print(i)\n", false) else {
        return;
    };
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("Traceback (most recent call last):\n"),
        "{err}"
    );
    assert!(
        err.ends_with("    print(i)\nOSError: [Errno 28] No space left on device\n"),
        "{err}"
    );
    // The program can catch it; later output fails again at exit.
    let src = "import sys\ntry:\n    for i in range(10000):\n        print(i)\nexcept OSError as e:\n    print('caught', e.errno, file=sys.stderr)\nprint('again')\n";
    let out = run_to_dev_full(src, false).expect("dev/full");
    assert_eq!(text(&out.stderr), format!("caught 28\n{EXIT_FLUSH}"));
    assert_eq!(out.status.code(), Some(120));
    // flush=True raises at once, and the text stays queued for the flush at exit.
    let out = run_to_dev_full("print('x', flush=True)\n", false).expect("dev/full");
    let err = text(&out.stderr);
    assert!(
        err.ends_with(&format!(
            "OSError: [Errno 28] No space left on device\n{EXIT_FLUSH}"
        )),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(120));
}

#[test]
fn pythonunbuffered_makes_the_first_print_fail() {
    let Some(out) = run_to_dev_full("print('hello')\nprint('world')\n", true) else {
        return;
    };
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("line 1, in <module>\n    print('hello')\nOSError: [Errno 28]"),
        "{err}"
    );
    assert!(!err.contains("Exception ignored"), "{err}");
}

#[test]
fn closed_pipe_raises_broken_pipe_error_as_cpython() {
    // `minivm prog | head -1`: the reader goes away after one line.
    let (dir, file) = temp_program(
        "pipe",
        "pipe.mini",
        "for i in range(1000000):\n    print(i)\n",
    );
    let mut child = Command::new(MINIVM)
        .arg(&file)
        .env_remove("PYTHONUNBUFFERED")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start minivm");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 2];
    std::io::Read::read_exact(&mut stdout, &mut first).expect("first line");
    drop(stdout);
    let out = child.wait_with_output().expect("wait");
    let _ = std::fs::remove_dir_all(&dir);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.ends_with("    print(i)\nBrokenPipeError: [Errno 32] Broken pipe\n"),
        "{err}"
    );
    assert!(!err.contains("Exception ignored"), "{err}");
}

#[test]
fn gil_mode_comes_from_minivm_gil_and_empty_means_unset() {
    let program = std::env::temp_dir().join(format!("minivm-gil-env-{}.mini", std::process::id()));
    std::fs::write(&program, "import sys\nprint(sys._is_gil_enabled())\n").expect("write program");
    let with = |value: &str| {
        let out = Command::new(MINIVM)
            .current_dir(root())
            .arg(&program)
            .env("MINIVM_GIL", value)
            .output()
            .expect("start minivm");
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    assert_eq!(with(""), (Some(0), "True\n".to_string(), String::new()));
    assert_eq!(with("0"), (Some(0), "False\n".to_string(), String::new()));
    let (code, _, err) = with("sideways");
    let _ = std::fs::remove_file(&program);
    assert_eq!(code, Some(2));
    assert!(err.contains("sideways"), "{err}");
}

#[test]
fn lib_dir_override_reads_library_files_from_disk() {
    // MINIVM_LIB_DIR replaces a listed library file's embedded text with the file on disk.
    let (dir, path) = temp_program(
        "libdir",
        "main.mini",
        "import keyword\nprint(keyword.kwlist)\n",
    );
    std::fs::write(dir.join("keyword.mini"), "kwlist = 'from disk'\n").expect("write");
    let run_with = |lib_dir: Option<&std::path::Path>| {
        let mut cmd = Command::new(MINIVM);
        cmd.arg(&path).env_remove("MINIVM_LIB_DIR");
        if let Some(d) = lib_dir {
            cmd.env("MINIVM_LIB_DIR", d);
        }
        text(&cmd.output().expect("run minivm").stdout)
    };
    // The program's own directory comes first on sys.path, so point the override elsewhere.
    let lib = dir.join("lib");
    std::fs::create_dir_all(&lib).expect("lib dir");
    std::fs::rename(dir.join("keyword.mini"), lib.join("keyword.mini")).expect("move");
    assert_eq!(run_with(Some(&lib)), "from disk\n");
    assert!(run_with(None).starts_with("['False', 'None'"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cpythons_options_minivm_lacks_are_named_not_taken_for_files() {
    for (opt, named) in [("-X", "-X"), ("-I", "-I"), ("-b", "-b")] {
        let out = run(&[opt, "x", "prog.py"], "");
        assert_eq!(out.status.code(), Some(2), "{opt}");
        let err = text(&out.stderr);
        assert!(
            err.starts_with(&format!("minivm: the option {named} "))
                && err.contains("not supported"),
            "{opt}: {err}"
        );
    }
    // Accepted and ignored, as they change nothing minivm does.
    let out = run(&["-E", "-q", "-R", "-d", "-c", "print(7)"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "7\n");
}

/// An environment variable whose value is not UTF-8 does not stop `import os` (it once panicked
/// in the start-up copy of the environment): it is left out of `os.environ`, the others are there.
#[test]
fn undecodable_environment_variable_is_left_out_of_os_environ() {
    use std::os::unix::ffi::OsStrExt;
    let out = Command::new(MINIVM)
        .current_dir(root())
        .env(
            std::ffi::OsStr::from_bytes(b"MINIVM_T_BAD"),
            std::ffi::OsStr::from_bytes(b"\xff"),
        )
        .env("MINIVM_T_GOOD", "yes")
        .args([
            "-c",
            "import os; print('MINIVM_T_BAD' in os.environ, os.environ['MINIVM_T_GOOD'])",
        ])
        .output()
        .expect("run minivm");
    assert_eq!(text(&out.stderr), "");
    assert_eq!(text(&out.stdout), "False yes\n");
    assert!(out.status.success());
}

/// `PYTHONPATH` puts its directories into `sys.path` after the first entry, as CPython does:
/// each made absolute against the working directory and normalised (an empty entry is the working
/// directory), so `import` finds modules there; `-E` ignores it. python3 gives the same entries.
#[test]
fn pythonpath_directories_follow_the_first_sys_path_entry() {
    let dir = std::env::temp_dir().join(format!("minivm-pythonpath-{}", std::process::id()));
    let lib = dir.join("rel");
    std::fs::create_dir_all(&lib).expect("temp dir");
    std::fs::write(lib.join("pp_found.py"), "WHERE = 'rel'\n").expect("module");
    let dir = dir.canonicalize().expect("canonical temp dir");
    let program = "import sys; print(sys.path[1:5]); import pp_found; print(pp_found.WHERE)";
    let value = "rel:/x/y/::/z/../w";
    let shown = format!("['{0}/rel', '/x/y', '{0}', '/w']\nrel\n", dir.display());
    let out = Command::new(MINIVM)
        .current_dir(&dir)
        .env("PYTHONPATH", value)
        .args(["-c", program])
        .output()
        .expect("run minivm");
    assert_eq!(text(&out.stderr), "");
    assert_eq!(text(&out.stdout), shown);
    if let Some(python) = common::python() {
        let out = Command::new(python)
            .current_dir(&dir)
            .env("PYTHONPATH", value)
            .args(common::PYTHON_FLAGS)
            .args(["-c", program])
            .output()
            .expect("run python3");
        assert_eq!(text(&out.stdout), shown, "python3 disagrees");
    }
    let out = Command::new(MINIVM)
        .current_dir(&dir)
        .env("PYTHONPATH", value)
        .args(["-E", "-c", "import sys; print(sys.path)"])
        .output()
        .expect("run minivm");
    assert_eq!(text(&out.stdout), "['']\n");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `-P` and `PYTHONSAFEPATH` leave the script's directory out of `sys.path` (so a module beside
/// the script is not found), as in CPython 3.11; `-E` ignores `PYTHONSAFEPATH`.
#[test]
fn safe_path_leaves_the_script_directory_out() {
    let dir = std::env::temp_dir().join(format!("minivm-safepath-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("beside.py"), "print('imported')\n").expect("module");
    let script = dir.join("main.py");
    std::fs::write(
        &script,
        "import sys\nprint(len(sys.path))\ntry:\n    import beside\nexcept ImportError as e:\n    print(type(e).__name__, e)\n",
    )
    .expect("script");
    let run = |args: &[&str], safe: Option<&str>| {
        let mut cmd = Command::new(MINIVM);
        cmd.current_dir(root())
            .env_remove("PYTHONPATH")
            .args(args)
            .arg(&script);
        match safe {
            Some(v) => cmd.env("PYTHONSAFEPATH", v),
            None => cmd.env_remove("PYTHONSAFEPATH"),
        };
        text(&cmd.output().expect("run minivm").stdout)
    };
    let missing = "0\nModuleNotFoundError No module named 'beside'\n";
    assert_eq!(run(&["-P"], None), missing);
    assert_eq!(run(&[], Some("1")), missing);
    assert_eq!(run(&[], Some("")), "1\nimported\n");
    assert_eq!(run(&["-E"], Some("1")), "1\nimported\n");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The prompt holds the GIL while an entry runs and lets other threads run while it waits for a
/// line: a thread appending to a shared list while the prompt's own loop appends to it ends
/// with every item there, in each GIL mode (the prompt once ran entries without taking the GIL,
/// and the list's contents were reached by two threads at once: an internal error).
#[test]
fn repl_entries_hold_the_gil_beside_other_threads() {
    let program = "import threading\nL = []\ndef w():\n    for i in range(200000): L.append(i)\n\n\
                   t = threading.Thread(target=w); t.start()\n\
                   for i in range(200000): L.append(i)\n\nt.join(); print(len(L))\n";
    for mode in ["on", "old", "off"] {
        let out = run(&["--gil", mode], program);
        assert_eq!(text(&out.stderr), "", "--gil {mode}");
        assert!(
            text(&out.stdout).ends_with("\n400000\n"),
            "--gil {mode}: {}",
            text(&out.stdout)
        );
        assert!(out.status.success(), "--gil {mode}");
    }
}

/// `-i` (or `PYTHONINSPECT`) runs the prompt after the program in its `__main__`: after an
/// uncaught exception (its traceback first), after `sys.exit()` (shown as an uncaught
/// `SystemExit`), after `-c`, after a syntax error (in an empty `__main__`); the prompt's end
/// decides the exit status. (`PYTHONINSPECT` does so only when stdin is a terminal.) python3 prints the same lines and status (its prompts go to stderr).
#[test]
fn inspect_runs_the_prompt_after_the_program() {
    let dir = std::env::temp_dir().join(format!("minivm-inspect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let failing = dir.join("failing.py");
    std::fs::write(&failing, "x = 5\nraise ValueError('boom')\n").expect("script");
    let exiting = dir.join("exiting.py");
    std::fs::write(&exiting, "import sys\ny = 3\nsys.exit(4)\n").expect("script");
    let (failing, exiting) = (failing.display().to_string(), exiting.display().to_string());
    // (arguments, PYTHONINSPECT, stdin, stdout, exit status, end of stderr)
    type Case<'a> = (
        &'a [&'a str],
        Option<&'a str>,
        &'a str,
        &'a str,
        i32,
        &'a str,
    );
    let cases: &[Case] = &[
        (
            &["-i", &failing],
            None,
            "print(x + 1)\n",
            "6\n",
            0,
            "ValueError: boom\n",
        ),
        (
            &["-i", &exiting],
            None,
            "print(y)\n",
            "3\n",
            0,
            "SystemExit: 4\n",
        ),
        (
            &["-i", "-c", "y = 2"],
            None,
            "print(y)\nraise SystemExit(7)\n",
            "2\n",
            7,
            "",
        ),
        (
            &["-i", "-c", "x ="],
            None,
            "print(5)\n",
            "5\n",
            0,
            "SyntaxError: invalid syntax\n",
        ),
        // PYTHONINSPECT asks for the prompt only when stdin is a terminal; here it is a pipe.
        (
            &[&failing],
            Some("1"),
            "print(x * 2)\n",
            "",
            1,
            "ValueError: boom\n",
        ),
        (
            &["-E", &failing],
            Some("1"),
            "print(x * 2)\n",
            "",
            1,
            "ValueError: boom\n",
        ),
    ];
    let python = common::python();
    for (args, inspect_env, stdin, stdout, code, stderr_end) in cases {
        let mut runners = vec![MINIVM.to_string()];
        runners.extend(python.clone());
        for exe in runners {
            let mut cmd = Command::new(&exe);
            if exe != MINIVM {
                cmd.args(common::PYTHON_FLAGS);
            }
            match inspect_env {
                Some(v) => cmd.env("PYTHONINSPECT", v),
                None => cmd.env_remove("PYTHONINSPECT"),
            };
            let mut child = cmd
                .args(*args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start");
            feed(&mut child, stdin);
            let out = child.wait_with_output().expect("wait");
            let err = text(&out.stderr).replace(">>> ", "").replace("... ", "");
            assert_eq!(text(&out.stdout), *stdout, "{exe} {args:?}");
            assert_eq!(out.status.code(), Some(*code), "{exe} {args:?}: {err}");
            assert!(
                err.trim_end().ends_with(stderr_end.trim_end()),
                "{exe} {args:?}: {err}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `sys.flags` shows the options CPython's shows (`-B -s -S -E -q -d -P -i`) and, unless `-E`,
/// the variables that set flags (`PYTHONSAFEPATH`, `PYTHONINSPECT`, `PYTHONDONTWRITEBYTECODE`):
/// python3 prints the same tuple.
#[test]
fn sys_flags_show_options_and_environment() {
    let program = "import sys; print(sys.flags)";
    // (options, environment variables)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: [Case; 3] = [
        (
            &["-S", "-B", "-s", "-E", "-q", "-d", "-P"],
            &[("PYTHONINSPECT", "1")],
        ),
        (
            &["-S"],
            &[
                ("PYTHONSAFEPATH", "1"),
                ("PYTHONINSPECT", "1"),
                ("PYTHONDONTWRITEBYTECODE", "x"),
            ],
        ),
        (&["-S", "-i"], &[]),
    ];
    let Some(python) = common::python() else {
        return;
    };
    for (args, env) in cases {
        let outputs: Vec<String> = [MINIVM, &python]
            .iter()
            .map(|exe| {
                let mut cmd = Command::new(exe);
                for var in ["PYTHONSAFEPATH", "PYTHONINSPECT", "PYTHONDONTWRITEBYTECODE"] {
                    cmd.env_remove(var);
                }
                cmd.envs(env.iter().copied())
                    .args(args)
                    .args(["-c", program])
                    .stdin(Stdio::null());
                text(&cmd.output().expect("run").stdout)
            })
            .collect();
        assert!(
            outputs[0].starts_with("sys.flags(debug="),
            "{args:?}: {}",
            outputs[0]
        );
        assert_eq!(outputs[0], outputs[1], "{args:?} {env:?}");
    }
}

/// `-c` text is compiled with a newline added, as CPython does, and a block missing at its end
/// is shown with the caret CPython's string tokenizer gives (a file's shows none).
#[test]
fn dash_c_indentation_error_at_end() {
    for (code, want) in [
        (
            "if 1:",
            "  File \"<string>\", line 1\n    if 1:\n         ^\nIndentationError: expected an \
             indented block after 'if' statement on line 1\n",
        ),
        (
            "for i in range(3):\n",
            "  File \"<string>\", line 2\n    \n    ^\nIndentationError: expected an indented \
             block after 'for' statement on line 1\n",
        ),
    ] {
        let out = run(&["-c", code], "");
        assert_eq!(out.status.code(), Some(1), "{code}");
        assert_eq!(text(&out.stderr), want, "{code}");
    }
}
