//! The `minivm` command line: run a program, show its tokens, AST or bytecode, or start a REPL.

mod repl;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use minivm_compiler::Mode;
use minivm_vm::gil::GilMode;
use minivm_vm::timeline::children;
use minivm_vm::{Config, Vm};

/// The process's allocator. Every heap object, list or dict buffer and instance table is a
/// malloc and a free, and programs make and drop them by the million, as CPython's do (which
/// has its own small-object allocator, `Objects/obmalloc.c`, for that reason). mimalloc's
/// per-thread free lists make a malloc/free pair a few dozen instructions; glibc's took about
/// 200 here (callgrind). Heap objects first go through the heap's own free lists
/// (`vm/src/heap/pool.rs`).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: minivm_vm::heap::alloc::Allocator = minivm_vm::heap::alloc::Allocator;

/// A teaching bytecode interpreter for a subset of Python, with a real GIL.
///
/// `minivm FILE [ARGS...]` runs a program (ARGS become sys.argv[1:]);
/// `minivm` alone starts an interactive prompt.
#[derive(Parser, Debug)]
#[command(name = "minivm", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    run: RunOptions,

    /// Internal (`multiprocessing`'s spawn start method): run as a child process that reads its
    /// `Process` object from descriptor FD; FILE is the parent's main script, run as
    /// `__mp_main__` (see docs/LANGUAGE.md).
    #[arg(long, hide = true, value_name = "FD")]
    mp_child: Option<i32>,

    /// Run the program given as text, as `python3 -c CMD` (sys.argv[0] is '-c'; the arguments
    /// after it are sys.argv[1:]).
    #[arg(short = 'c', value_name = "CMD", allow_hyphen_values = true)]
    code: Option<String>,

    /// Run module MOD as the main program, as `python3 -m MOD`: a module or package of the
    /// current directory (a package runs its `__main__`), or of the library (`-m unittest`);
    /// sys.argv[0] is the module's file, the arguments after MOD are sys.argv[1:].
    #[arg(short = 'm', value_name = "MOD", conflicts_with = "code")]
    module: Option<String>,

    /// The program to run, then the arguments it sees in sys.argv.
    #[arg(
        value_name = "FILE [ARGS]...",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    program: Vec<OsString>,
}

#[derive(clap::Args, Debug, Clone)]
struct RunOptions {
    /// Print, to stderr, every instruction with the operand stack before it runs (`--trace`, or
    /// `--trace=instructions`), or only the GIL's events as they happen (`--trace=gil`: request,
    /// drop request, drop, take, release for I/O), with timestamps and thread names.
    #[arg(
        long,
        value_enum,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "instructions",
        value_name = "WHAT"
    )]
    trace: Option<TraceKind>,

    /// Record who held the GIL when and draw it after the run: FILE.svg (a picture), FILE.json
    /// (Chrome trace events, for Perfetto or chrome://tracing), or `-` (a terminal timeline on
    /// stderr).
    #[arg(long, value_name = "FILE.svg|FILE.json|-")]
    timeline: Option<String>,

    /// With `--gil old`: release and re-take the GIL every N ticks (a tick is an eval-breaker
    /// check point, a backward jump or a function entry; not an instruction). Like Python 2's
    /// sys.setcheckinterval, default 100.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    check_interval: u32,

    /// Run with the new global interpreter lock (on, like CPython 3.2+), the old one (old: release
    /// and re-take every --check-interval ticks with no hand-off, like Python 2), or without it
    /// (off: threads run bytecode in parallel, like free-threaded CPython 3.13t).
    #[arg(
        long,
        value_enum,
        default_value = "on",
        env = "MINIVM_GIL",
        global = true
    )]
    gil: GilFlag,

    /// When the program ends, print per-thread statistics to stderr: instructions, time holding
    /// and waiting for the GIL, time blocked in I/O, hand-offs (`--stats=opcodes` adds how often
    /// each opcode ran; `--stats=json` for tools, with the opcode counts).
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "table")]
    stats: Option<StatsFormat>,

    /// Seconds a thread waiting for the GIL lets the holder run before asking it to switch
    /// (CPython's sys.setswitchinterval; default 0.005).
    #[arg(long, value_name = "SECONDS", default_value_t = 0.005, value_parser = parse_interval)]
    switch_interval: f64,

    /// How syntax errors are printed: as CPython prints them (python, the default), or with a
    /// `FILE:LINE:COLUMN: SyntaxError: ...` line first that editors can jump to (gnu).
    #[arg(
        long,
        value_enum,
        default_value = "python",
        value_name = "LAYOUT",
        global = true
    )]
    error_format: ErrorFormat,

    /// Unbuffered standard output, as `python3 -u` (what PYTHONUNBUFFERED does): programs
    /// start their Python children with `[sys.executable, "-u", ...]` to read them line by line.
    #[arg(short = 'u')]
    unbuffered: bool,

    /// Remove assert statements and make `__debug__` False (`-OO`: also drop docstrings), as
    /// CPython's `-O` (or `PYTHONOPTIMIZE`).
    #[arg(short = 'O', action = clap::ArgAction::Count)]
    optimize: u8,

    /// A warning filter, `action:message:category:module:lineno` (`-W ignore`, `-W error`,
    /// `-W ignore::DeprecationWarning`), as CPython's `-W`; after `PYTHONWARNINGS`'s, in
    /// `sys.warnoptions`.
    #[arg(short = 'W', value_name = "ARG")]
    warnings: Vec<String>,

    /// Accepted, changing nothing in minivm but `sys.flags`: `-B` (write no .pyc files), `-s`
    /// and `-S` (no user site directory, no `site` module: minivm has neither).
    #[arg(short = 'B', hide = true)]
    no_bytecode: bool,
    #[arg(short = 's', hide = true)]
    no_user_site: bool,
    #[arg(short = 'S', hide = true)]
    no_site: bool,
    /// Inspect interactively after the program (`python3 -i`; or `PYTHONINSPECT` set, when
    /// standard input is a terminal): the prompt runs in the program's `__main__`, even after
    /// an uncaught exception.
    #[arg(short = 'i', hide = true)]
    inspect: bool,

    /// Don't put the script's directory (or, for `-c`, `-m` and `-`, the working directory)
    /// first on `sys.path`, as `python3 -P` (what `PYTHONSAFEPATH` does).
    #[arg(short = 'P', hide = true)]
    safe_path: bool,

    /// Also accepted: `-E` (ignore the PYTHON* variables minivm reads: PYTHONPATH,
    /// PYTHONSAFEPATH, PYTHONINSPECT, PYTHONOPTIMIZE, PYTHONWARNINGS...), `-q` (no banner at
    /// the prompt), `-R` (hash randomization, always on), `-d` (parser debugging, a no-op in
    /// CPython's release builds); each shows in `sys.flags`.
    #[arg(short = 'E', hide = true)]
    ignore_environment: bool,
    #[arg(short = 'q', hide = true)]
    quiet: bool,
    #[arg(short = 'R', hide = true)]
    hash_random: bool,
    #[arg(short = 'd', hide = true)]
    parser_debug: bool,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum ErrorFormat {
    Python,
    Gnu,
}

impl ErrorFormat {
    fn render(self, e: &minivm_lexer::SyntaxError, file: &str, src: &str) -> String {
        match self {
            ErrorFormat::Python => e.render(file, src),
            ErrorFormat::Gnu => e.render_gnu(file, src),
        }
    }
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum StatsFormat {
    /// The per-thread table.
    Table,
    /// The table, then every opcode that ran with how often, most executed first.
    Opcodes,
    /// Everything as one JSON object (the opcode counts included).
    Json,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum GilFlag {
    #[value(alias = "1")]
    On,
    #[value(alias = "0")]
    Off,
    Old,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum TraceKind {
    Instructions,
    Gil,
}

fn parse_interval(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() && v <= 3600.0 => Ok(v),
        _ => Err(format!(
            "'{s}' is not a positive number of seconds (at most 3600)"
        )),
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the bytecode of every code object in FILE, like `python -m dis`.
    Dis {
        /// Source file to compile.
        #[arg(required_unless_present = "opcodes")]
        file: Option<PathBuf>,
        /// Print the table of every opcode instead (as docs/OPCODES.md holds it).
        #[arg(long, conflicts_with = "file")]
        opcodes: bool,
    },
    /// Print the tokens the lexer produces for FILE (with INDENT/DEDENT/NEWLINE).
    Tokens {
        /// Source file to scan.
        file: PathBuf,
    },
    /// Print the abstract syntax tree the parser builds for FILE.
    Ast {
        /// Source file to parse.
        file: PathBuf,
    },
}

/// `minivm dis` spells constants with the VM's own `repr`, so a listing shows what `repr()` prints.
const VM_SPELLING: minivm_compiler::dis::Spelling = minivm_compiler::dis::Spelling {
    float: minivm_vm::num::float_repr,
    str: minivm_vm::num::str_repr,
};

fn main() -> ExitCode {
    // mimalloc's options, before the program allocates much (heap/alloc.rs: `tune`).
    #[cfg(feature = "mimalloc")]
    minivm_vm::heap::alloc::tune();
    // An empty MINIVM_GIL means "not set", as CPython reads an empty PYTHON_GIL (clap would reject
    // "" as a mode). Done before any thread starts; children see the same meaning.
    if std::env::var_os("MINIVM_GIL").is_some_and(|v| v.is_empty()) {
        std::env::remove_var("MINIVM_GIL");
    }
    let (head, rest) = match split_args(std::env::args_os().collect()) {
        Ok(split) => split,
        Err(msg) => {
            eprintln!("minivm: {msg}");
            return ExitCode::from(2);
        }
    };
    let mut cli = Cli::parse_from(head);
    cli.program.extend(rest);
    if cli.run.unbuffered {
        minivm_vm::builtins::io::set_unbuffered();
    }
    set_optimize_and_warnings(&cli.run);
    let format = cli.run.error_format;
    match &cli.command {
        Some(Command::Dis { opcodes: true, .. }) => {
            print!("{}", minivm_compiler::dis::opcode_table());
            ExitCode::SUCCESS
        }
        Some(Command::Dis {
            file: Some(file), ..
        }) => show(file, format, |src, name| {
            minivm_compiler::compile_source(src, name, Mode::File)
                .map(|code| minivm_compiler::dis::disassemble(&code, &VM_SPELLING))
        }),
        // clap requires FILE unless --opcodes is given.
        Some(Command::Dis { file: None, .. }) => ExitCode::from(2),
        Some(Command::Tokens { file }) => {
            show(file, format, |src, _| minivm_lexer::dump_tokens(src))
        }
        Some(Command::Ast { file }) => show(file, format, |src, _| {
            minivm_compiler::parser::parse(src).map(|m| minivm_compiler::astdump::dump_module(&m))
        }),
        None if cli.module.is_some() && cli.mp_child.is_none() => run_module(
            cli.module.as_deref().unwrap_or_default(),
            &cli.program,
            &cli.run,
        ),
        None if cli.code.is_some() => {
            let code = cli.code.clone().unwrap_or_default();
            match cli.mp_child {
                None => run_command(code, &cli.program, &cli.run),
                // A `multiprocessing` child of a `-c` program gets the parent's `sys.argv`
                // (`-c ARGS...`): what clap took for CMD is the first argument.
                Some(fd) => {
                    let mut args = vec![OsString::from(code)];
                    args.extend(cli.program.iter().cloned());
                    run_file(Path::new("-c"), &args, &cli.run, Some(fd))
                }
            }
        }
        None => match cli.program.split_first() {
            Some((file, args)) if file == "-" && cli.mp_child.is_none() => {
                run_stdin(args, &cli.run)
            }
            Some((file, args)) => run_file(Path::new(file), args, &cli.run, cli.mp_child),
            None => {
                let config = config(&cli.run, vec![String::new()], PathBuf::from("."));
                let banner = !cli.run.quiet;
                on_big_stack(move || repl::run(config, banner)).unwrap_or(ExitCode::from(70))
            }
        },
    }
}

/// `-O` and `-W` with what `PYTHONOPTIMIZE` and `PYTHONWARNINGS` add (unless `-E`): CPython's
/// level is the larger of the option count and the variable's number (any other non-empty value
/// is 1); the variable's comma-separated filters come before the options'.
fn set_optimize_and_warnings(opts: &RunOptions) {
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !opts.ignore_environment && !v.is_empty())
    };
    let from_env = env("PYTHONOPTIMIZE").map_or(0, |v| v.parse::<u8>().unwrap_or(1));
    minivm_compiler::set_optimize(opts.optimize.max(from_env));
    let mut options: Vec<String> = env("PYTHONWARNINGS")
        .map(|v| {
            v.split(',')
                .filter(|o| !o.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    options.extend(opts.warnings.iter().cloned());
    minivm_vm::stdlib::sys::set_warnoptions(options);
}

/// Long options whose value may be the next argument.
const VALUED_LONG: &[&str] = &[
    "--mp-child",
    "--timeline",
    "--check-interval",
    "--switch-interval",
    "--gil",
    "--error-format",
];

/// CPython's options minivm does not have, with what they would do.
const UNSUPPORTED: &[(char, &str)] = &[
    ('X', "-X (implementation-specific options)"),
    ('I', "-I (isolated mode)"),
    ('b', "-b (warnings about bytes compared with str)"),
    ('v', "-v (trace imports)"),
    ('x', "-x (skip the first line of the source)"),
];

/// Split the command line as CPython's: the options up to `-c CMD` or `-m MOD` (inclusive),
/// then the program's arguments, which are the program's even when they look like options
/// (`minivm -m json.tool --help`, `minivm -c CODE -u`). With a FILE, clap already gives the
/// program everything after it. An option of CPython's that minivm does not have is an error
/// naming it (it was taken for a file name).
fn split_args(mut args: Vec<OsString>) -> Result<(Vec<OsString>, Vec<OsString>), String> {
    let mut i = 1;
    while let Some(arg) = args.get(i) {
        let arg = arg.to_string_lossy().into_owned();
        if arg == "-" || arg == "--" || !arg.starts_with('-') {
            break;
        }
        if arg.starts_with("--") {
            i += if VALUED_LONG.contains(&&*arg) { 2 } else { 1 };
            continue;
        }
        // A cluster of short options (`-u`, `-uB`, `-c CMD`, `-cCMD`, `-mMOD`).
        for (k, ch) in arg.char_indices().skip(1) {
            if ch == 'c' || ch == 'm' {
                let mut head = args[..i].to_vec();
                if k > 1 {
                    // The options before it in the cluster (`-u` of `-um`).
                    head.push(OsString::from(&arg[..k]));
                }
                head.push(OsString::from(format!("-{ch}")));
                // Its value: the rest of the cluster (`-mjson.tool`), else the next argument.
                let mut next = i + 1;
                if k + 1 < arg.len() {
                    head.push(OsString::from(&arg[k + 1..]));
                } else if let Some(value) = args.get(next) {
                    head.push(value.clone());
                    next += 1;
                }
                return Ok((head, args[next.min(args.len())..].to_vec()));
            }
            if ch == 'W' {
                // Its value: the rest of the cluster (`-Werror`, given to clap as `-W error`:
                // it would take `-Werror` for the program's name), else the next argument.
                if k + 1 < arg.len() {
                    let value = OsString::from(&arg[k + 1..]);
                    args[i] = OsString::from(&arg[..=k]);
                    args.insert(i + 1, value);
                }
                i += 1;
                break;
            }
            if let Some((_, what)) = UNSUPPORTED.iter().find(|(c, _)| *c == ch) {
                return Err(format!(
                    "the option {what} is not supported; see minivm --help"
                ));
            }
        }
        i += 1;
    }
    Ok((args, Vec::new()))
}

fn config(opts: &RunOptions, argv: Vec<String>, script_dir: PathBuf) -> Config {
    Config {
        trace: opts.trace == Some(TraceKind::Instructions),
        trace_gil: opts.trace == Some(TraceKind::Gil),
        timeline: opts.timeline.is_some(),
        check_interval: opts.check_interval,
        count_instructions: opts.stats.is_some(),
        argv,
        script_dir,
        python_path: python_path(opts),
        safe_path: opts.safe_path || env_flag(opts, "PYTHONSAFEPATH"),
        flags: sys_flags(opts),
        gil: match opts.gil {
            GilFlag::On => GilMode::On,
            GilFlag::Off => GilMode::Off,
            GilFlag::Old => GilMode::Old,
        },
        switch_interval: std::time::Duration::from_secs_f64(opts.switch_interval),
    }
}

/// The fields of `sys.flags` the command line sets (the environment's part is read by `sys`).
fn sys_flags(opts: &RunOptions) -> Vec<(&'static str, i64)> {
    [
        ("debug", opts.parser_debug),
        ("inspect", opts.inspect || env_flag(opts, "PYTHONINSPECT")),
        ("interactive", opts.inspect),
        ("dont_write_bytecode", opts.no_bytecode),
        ("no_user_site", opts.no_user_site),
        ("no_site", opts.no_site),
        ("ignore_environment", opts.ignore_environment),
        ("quiet", opts.quiet),
        (
            "safe_path",
            opts.safe_path || env_flag(opts, "PYTHONSAFEPATH"),
        ),
    ]
    .into_iter()
    .filter(|(_, on)| *on)
    .map(|(name, _)| (name, 1))
    .collect()
}

/// Whether the environment variable `name` is set and not empty (and `-E` was not given): how
/// CPython reads its flag variables (`PYTHONSAFEPATH`, `PYTHONINSPECT`).
fn env_flag(opts: &RunOptions, name: &str) -> bool {
    !opts.ignore_environment && std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

/// `PYTHONPATH` (unless `-E`) as CPython's `sys.path` holds it: split at `:`, each entry made
/// absolute against the working directory and normalised (an empty entry is the working
/// directory itself).
fn python_path(opts: &RunOptions) -> Vec<String> {
    let Some(value) = std::env::var_os("PYTHONPATH").filter(|_| !opts.ignore_environment) else {
        return Vec::new();
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    std::env::split_paths(&value)
        .filter(|_| !value.is_empty())
        .map(|entry| normalise(&cwd.join(entry)).display().to_string())
        .collect()
}

/// `os.path.normpath` of an absolute path: `.` components and trailing slashes dropped, `..`
/// removing the component before it (never above the root).
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Read and decode a source file (`minivm_lexer::source`: encoding, newlines, NUL bytes), or
/// explain why not: exit code 2 for a file that cannot be opened (as CPython), 1 for bytes that
/// are not a program (a `SyntaxError`).
fn read_source(file: &Path, format: ErrorFormat) -> Result<String, ExitCode> {
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("minivm: can't open file '{}': {e}", file.display());
            return Err(ExitCode::from(2));
        }
    };
    let name = file.display().to_string();
    match minivm_lexer::decode_source(&bytes, &name, minivm_lexer::Origin::Script) {
        Ok(text) => Ok(text),
        Err(minivm_lexer::SourceError::Plain(msg) | minivm_lexer::SourceError::Codec(msg)) => {
            eprintln!("SyntaxError: {msg}");
            Err(ExitCode::from(1))
        }
        Err(minivm_lexer::SourceError::Located { error, text }) => {
            eprint!("{}", format.render(&error, &name, &text));
            Err(ExitCode::from(1))
        }
    }
}

/// `minivm dis|tokens|ast FILE`: print one stage's view of the file.
fn show(
    file: &Path,
    format: ErrorFormat,
    stage: impl FnOnce(&str, &str) -> Result<String, minivm_lexer::SyntaxError> + Send + 'static,
) -> ExitCode {
    let src = match read_source(file, format) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let name = file.display().to_string();
    // The parser and compiler recurse over the program's nesting: give them the big stack too.
    let result = {
        let (src, name) = (src.clone(), name.clone());
        match on_big_stack(move || stage(&src, &name)) {
            Some(r) => r,
            None => return ExitCode::from(70),
        }
    };
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprint!("{}", format.render(&e, &name, &src));
            ExitCode::from(1)
        }
    }
}

/// Run `file` as `__main__`; or, as a `multiprocessing` child (`--mp-child FD`), run the
/// bootstrap that reads the process object from FD and imports `file` as `__mp_main__`.
/// The name a script's code carries (tracebacks, `__file__`, `co_filename`): its path made
/// absolute against the working directory without normalising it (`./a/../b.mini` stays as is
/// after the directory), as CPython 3.9+ does for the script named on its command line.
fn script_path(file: &Path) -> String {
    match std::env::current_dir() {
        Ok(cwd) if file.is_relative() => cwd.join(file).display().to_string(),
        _ => file.display().to_string(),
    }
}

fn run_file(file: &Path, args: &[OsString], opts: &RunOptions, mp_child: Option<i32>) -> ExitCode {
    let (src, name) = match mp_child {
        Some(fd) => (
            format!("from multiprocessing.spawn import _child_main\n_child_main({fd})\n"),
            "<string>".to_string(),
        ),
        None => match read_source(file, opts.error_format) {
            Ok(s) => (s, script_path(file)),
            Err(code) => return code,
        },
    };
    let argv = match program_argv(file.as_os_str(), args) {
        Ok(argv) => argv,
        Err(code) => return code,
    };
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    run_program(Program::Source { src, name }, argv, dir, opts, mp_child)
}

/// The program's `sys.argv`: `argv0` then its arguments, each of which must be UTF-8. CPython
/// decodes other bytes with surrogate escapes (`b'\xff'` is `'\udcff'`), which a minivm str
/// cannot hold; rather than hand the program a different string (a replacement character
/// names another file), minivm refuses to start, naming the argument (exit status 2).
fn program_argv(argv0: &std::ffi::OsStr, args: &[OsString]) -> Result<Vec<String>, ExitCode> {
    std::iter::once(argv0)
        .chain(args.iter().map(OsString::as_os_str))
        .map(|arg| {
            arg.to_str().map(str::to_string).ok_or_else(|| {
                use std::os::unix::ffi::OsStrExt;
                eprintln!(
                    "minivm: the argument {} is not UTF-8: CPython decodes it with surrogate \
                     escapes, which a minivm str cannot hold",
                    minivm_compiler::dis::bytes_repr(arg.as_bytes())
                );
                ExitCode::from(2)
            })
        })
        .collect()
}

/// `minivm -m MOD [ARGS]...`: module MOD run as the main program, as `python3 -m MOD`: found
/// as `import` finds it (the working directory first, then the library; a package runs its
/// `__main__`), `sys.argv[0]` its file (`-m` while it is looked for), the working directory
/// first on `sys.path` (`minivm_vm::run_module_main`).
fn run_module(name: &str, args: &[OsString], opts: &RunOptions) -> ExitCode {
    let argv = match program_argv("-m".as_ref(), args) {
        Ok(argv) => argv,
        Err(code) => return code,
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    run_program(Program::Module(name.to_string()), argv, cwd, opts, None)
}

/// `minivm - [ARGS]...`: the program is read from standard input to its end, then run as the
/// main module named `<stdin>`, with `sys.argv == ['-', ARGS...]` and the working directory first
/// on `sys.path`, as `python3 -` does.
fn run_stdin(args: &[OsString], opts: &RunOptions) -> ExitCode {
    use std::io::Read;
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin().lock().read_to_end(&mut bytes) {
        eprintln!("minivm: can't read the program from standard input: {e}");
        return ExitCode::from(2);
    }
    let name = "<stdin>".to_string();
    let src = match minivm_lexer::decode_source(&bytes, &name, minivm_lexer::Origin::Script) {
        Ok(text) => text,
        Err(minivm_lexer::SourceError::Plain(msg) | minivm_lexer::SourceError::Codec(msg)) => {
            eprintln!("SyntaxError: {msg}");
            return ExitCode::from(1);
        }
        Err(minivm_lexer::SourceError::Located { error, text }) => {
            eprint!("{}", opts.error_format.render(&error, &name, &text));
            return ExitCode::from(1);
        }
    };
    run_text("-", src, name, args, opts)
}

/// `minivm -c CMD [ARGS]...`: run CMD as the main module, named `<string>` in tracebacks, with
/// `sys.argv == ['-c', ARGS...]` and the working directory first on `sys.path`, as CPython.
fn run_command(mut src: String, args: &[OsString], opts: &RunOptions) -> ExitCode {
    // CPython runs the command with a newline added (`-c 'for x in y:'` then reports a missing
    // block on line 2).
    src.push('\n');
    run_text("-c", src, "<string>".to_string(), args, opts)
}

/// Run program text that has no file (`-c`, standard input) with `sys.argv == [argv0,
/// ARGS...]` and the working directory first on `sys.path`.
fn run_text(
    argv0: &str,
    src: String,
    name: String,
    args: &[OsString],
    opts: &RunOptions,
) -> ExitCode {
    let argv = match program_argv(argv0.as_ref(), args) {
        Ok(argv) => argv,
        Err(code) => return code,
    };
    run_program(
        Program::Source { src, name },
        argv,
        PathBuf::new(),
        opts,
        None,
    )
}

/// What runs as the main program.
enum Program {
    /// Source text (a file's, `-c`'s, standard input's), named `name` in tracebacks.
    Source { src: String, name: String },
    /// The module `-m` names.
    Module(String),
}

/// Run `program` as `__main__` with these `sys.argv` and script directory, then write the
/// reports `--stats` and `--timeline` asked for; the process's exit status.
fn run_program(
    program: Program,
    argv: Vec<String>,
    dir: PathBuf,
    opts: &RunOptions,
    mp_child: Option<i32>,
) -> ExitCode {
    let mut config = config(opts, argv, dir);
    let reports = Reports::start(opts, mp_child.is_some(), &mut config);
    let vm = Vm::new(config);
    install_ctrl_c(&vm);
    let runner = vm.clone();
    let format = opts.error_format;
    // `PYTHONINSPECT` asks for the prompt only when standard input is a terminal, as in CPython
    // (`-i` makes it interactive either way).
    let from_env = env_flag(opts, "PYTHONINSPECT") && std::io::stdin().is_terminal();
    let inspect = (opts.inspect || from_env).then(repl::inspect).flatten();
    // Compile and run on one thread with the big stack (see `on_big_stack`).
    let status = on_big_stack(move || match program {
        Program::Module(name) => Some(minivm_vm::run_module_main(&runner, &name, inspect)),
        Program::Source { src, name } => {
            match minivm_compiler::compile_source(&src, &name, Mode::File) {
                Ok(code) => Some(minivm_vm::run_main(&runner, code, &src, inspect)),
                Err(e) => {
                    // Its warnings first; one turned into an error is reported instead.
                    if minivm_vm::warn_before_syntax_error(&runner, &name, &src) == 0 {
                        eprint!("{}", format.render(&e, &name, &src));
                    }
                    // `-i` still gives the prompt, in an empty `__main__`.
                    inspect.map(|inspect| minivm_vm::run_interactive(&runner, inspect))
                }
            }
        }
    });
    let status = match status {
        Some(Some(status)) => status,
        // A syntax error: the program never ran (no statistics, no timeline).
        Some(None) => return ExitCode::from(1),
        None => return ExitCode::from(70),
    };
    let children = match reports {
        Reports::Child => {
            let timeline = timeline_of(&vm);
            let report = vm.report();
            let _ = children::write_report(&report, timeline.as_ref(), vm.started);
            Vec::new()
        }
        Reports::Parent(dir) => children::collect(&dir, vm.started),
        Reports::None => Vec::new(),
    };
    if let Some(format) = opts.stats {
        let mut report = vm.report();
        children::add_to_report(&mut report, &children);
        match format {
            StatsFormat::Table => eprint!("{}", report.table()),
            StatsFormat::Opcodes => eprint!("{}", report.opcodes_table()),
            StatsFormat::Json => eprint!("{}", report.json()),
        }
    }
    if let Some(target) = &opts.timeline {
        if let Some(mut timeline) = timeline_of(&vm) {
            children::add_to_timeline(&mut timeline, &children);
            if let Err(e) = minivm_vm::timeline::write(&timeline, target) {
                eprintln!("minivm: can't write the timeline to '{target}': {e}");
                return ExitCode::from(1);
            }
        }
    }
    // An uncaught KeyboardInterrupt ends the process by SIGINT, as CPython's does (even after a
    // failed last flush; 130 if the signal could not be raised).
    if minivm_vm::ended_by_interrupt() {
        minivm_vm::stdlib::signal::exit_by_sigint();
    }
    // As the OS does for CPython's exit status: only the low 8 bits (`sys.exit(-1)` is 255).
    ExitCode::from(status.rem_euclid(256) as u8)
}

/// Where `multiprocessing` children report their threads (`minivm_vm::timeline::children`).
enum Reports {
    /// Nobody asked.
    None,
    /// This run has `--stats` or `--timeline`: its children write into this directory.
    Parent(PathBuf),
    /// This is a child of such a run: record everything, and write a report at the end.
    Child,
}

impl Reports {
    /// Set up the reporting for this run (adjusting what the child records).
    fn start(opts: &RunOptions, is_child: bool, config: &mut Config) -> Reports {
        if is_child {
            if std::env::var_os(children::ENV).is_none() {
                return Reports::None;
            }
            config.timeline = true;
            config.count_instructions = true;
            return Reports::Child;
        }
        if opts.stats.is_none() && opts.timeline.is_none() {
            return Reports::None;
        }
        let dir = std::env::temp_dir().join(format!("minivm-children-{}", std::process::id()));
        if std::fs::create_dir_all(&dir).is_err() {
            return Reports::None;
        }
        // Set before the program (and any thread) starts; every child inherits it.
        std::env::set_var(children::ENV, &dir);
        Reports::Parent(dir)
    }
}

/// What the `--timeline` recorder saw, as a timeline (`None` without a recorder).
fn timeline_of(vm: &Vm) -> Option<minivm_vm::timeline::Timeline> {
    let rec = vm.gil.recorder()?;
    let command = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .map(|a| if a.contains(' ') { format!("'{a}'") } else { a })
        .collect::<Vec<_>>()
        .join(" ");
    let command = match command.split_once(' ') {
        Some((exe, rest)) if exe.ends_with("minivm") => format!("minivm {rest}"),
        _ => command,
    };
    let info = minivm_vm::timeline::RunInfo {
        mode: vm.gil.mode(),
        switch_interval: vm.gil.interval(),
        check_interval: vm.gil.check_interval(),
        wall: vm.started.elapsed(),
        command,
    };
    Some(rec.snapshot(info))
}

/// Ctrl-C sets a flag the main thread checks at its next eval-breaker point (unless the parent
/// process left SIGINT ignored: then, as in CPython, it stays ignored until the program sets a
/// handler).
pub(crate) fn install_ctrl_c(vm: &Arc<Vm>) {
    minivm_vm::stdlib::signal::start(vm);
}

/// Run `f` on a thread whose stack the VM's recursion guards know (`minivm_vm::interp::guard`):
/// the parser and compiler recurse over the program's nesting, and native code that calls back
/// into Python (sorted with key=, __eq__, __repr__) nests Rust calls. The guards turn running out
/// of that stack into `RecursionError`, never a crash. `None` (after a message) if the thread
/// could not be started or died.
/// While it waits, this thread blocks the signals sent to the process, so that the kernel gives
/// them to the interpreter's thread (see `ProcessSignalsBlocked`).
fn on_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let joined = minivm_vm::interp::guard::spawn("MainThread".into(), f).map(|h| {
        let _main_takes_signals = minivm_vm::stdlib::signal::ProcessSignalsBlocked::here();
        h.join()
    });
    match joined {
        Ok(Ok(v)) => Some(v),
        _ => {
            eprintln!("minivm: internal error: the interpreter thread failed");
            None
        }
    }
}
