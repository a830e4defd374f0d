//! The interpreter: shared VM state (`Vm`) and the per-thread state (`Interp`) that runs frames.
//!
//! `run.rs` holds the dispatch loop; the other files are the named helpers its arms call.

/// Pop the top of the operand stack. The compiler guarantees the stack is deep enough for every
/// instruction; an empty stack here is a compiler bug, reported as `SystemError`, not a crash.
macro_rules! pop {
    ($frame:expr) => {
        match $frame.stack.pop() {
            Some(v) => v,
            None => return Err($crate::interp::run::stack_underflow()),
        }
    };
}

macro_rules! top {
    ($frame:expr) => {
        match $frame.stack.last() {
            Some(v) => v,
            None => return Err($crate::interp::run::stack_underflow()),
        }
    };
}

pub mod agen;
pub mod attr;
pub mod call;
pub mod carets;
pub mod classdef;
pub mod code;
pub mod cold;
pub mod containers;
pub mod coro;
pub mod dictwalk;
pub mod exc;
pub mod excgroup;
pub mod finalize;
pub mod frame;
pub mod generic;
pub mod globals;
pub mod guard;
pub mod iter;
pub mod modules;
pub mod ops;
pub mod pattern;
pub mod repr;
pub mod run;
pub mod special;
pub mod subclass;
pub mod subscr;
pub mod suggest;
pub mod syntaxerr;
pub mod trace;
pub mod traceback_hidden;
pub mod views;

use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::heap::Ref;
use crate::object::{Dict, Module};
use crate::value::Value;

/// Settings chosen on the command line.
#[derive(Clone, Debug)]
pub struct Config {
    /// `--gil on|off`
    pub gil: crate::gil::GilMode,
    /// `--switch-interval` (CPython's `sys.setswitchinterval`, 5 ms by default).
    pub switch_interval: std::time::Duration,
    /// Print every instruction with the stack before running it.
    pub trace: bool,
    /// Count instructions per thread (`--stats`).
    pub count_instructions: bool,
    /// Record GIL events for `--timeline`.
    pub timeline: bool,
    /// Print GIL events as they happen (`--trace=gil`).
    pub trace_gil: bool,
    /// `--gil old`: ticks (check points) between releases (`--check-interval`).
    pub check_interval: u32,
    /// `sys.argv`.
    pub argv: Vec<String>,
    /// Where `import name` looks for `name.mini`: the main script's directory.
    pub script_dir: std::path::PathBuf,
    /// `PYTHONPATH`'s directories, made absolute, in order: `sys.path` after its first entry
    /// (empty with `-E`).
    pub python_path: Vec<String>,
    /// `-P` or `PYTHONSAFEPATH`: `sys.path` starts without the script's directory.
    pub safe_path: bool,
    /// The fields of `sys.flags` options set (`("inspect", 1)` for `-i`...).
    pub flags: Vec<(&'static str, i64)>,
}

/// Imported modules by name, in import order.
pub type ModuleTable = Vec<(Arc<str>, Ref<Module>)>;

/// State shared by every interpreter thread. The fields holding heap values are
/// [`Shared`](crate::heap::Shared): only threads attached to the interpreter read them.
pub struct Vm {
    pub builtins: crate::heap::Shared<Ref<Dict>>,
    pub modules: Mutex<crate::heap::Shared<ModuleTable>>,
    /// `sys.modules`: what `import` finds already imported. Programs may read, add or remove
    /// entries; [`Vm::register_module`] keeps it in step with `modules`.
    pub sys_modules: crate::heap::Shared<Ref<Dict>>,
    pub recursion_limit: AtomicUsize,
    pub config: Config,
    /// The eval breaker: set when a running thread must stop at its next check point
    /// (a backward jump or a function entry) to look at pending requests. Process-wide
    /// (`heap::gc::EVAL_BREAKER`), since the cycle collector raises it too.
    pub eval_breaker: &'static AtomicBool,
    /// A Ctrl-C arrived and the main thread must raise `KeyboardInterrupt`.
    pub interrupted: AtomicBool,
    pub stdout: Mutex<crate::builtins::io::Stdout>,
    /// The global interpreter lock (a no-op with `--gil off`).
    pub gil: crate::gil::Gil,
    /// Threads started by the program and not yet joined at exit (`threading.Thread` objects).
    pub threads: Mutex<crate::heap::Shared<Vec<Value>>>,
    /// The `threading.Thread` object standing for the main thread, once created.
    pub main_thread: crate::heap::Global<Value>,
    pub next_thread_id: std::sync::atomic::AtomicU64,
    /// Statistics of threads that have finished (for `--stats`).
    pub finished_stats: Mutex<Vec<crate::stats::ThreadStats>>,
    pub started: std::time::Instant,
    /// Source text of every file loaded, for the source lines in tracebacks.
    pub sources: Mutex<Vec<(Arc<str>, Arc<str>)>>,
    /// The sources whose lines `linecache` holds without their newlines, as CPython's cache
    /// entry that `timeit.Timer.print_exc` makes (`linecache._add_source(name, text, True)`).
    pub bare_sources: Mutex<Vec<Arc<str>>>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            gil: crate::gil::GilMode::On,
            switch_interval: std::time::Duration::from_millis(5),
            trace: false,
            count_instructions: false,
            timeline: false,
            trace_gil: false,
            check_interval: 100,
            argv: Vec::new(),
            script_dir: std::path::PathBuf::from("."),
            python_path: Vec::new(),
            safe_path: false,
            flags: Vec::new(),
        }
    }
}

/// The same dict with its string keys replaced by the interned strings compiled code uses, so
/// cached builtin lookups compare keys by pointer.
fn interned_keys(d: Ref<Dict>) -> Ref<Dict> {
    let out = Dict::new();
    for (k, v) in d.items() {
        let key = match &k {
            Value::Str(s) => Value::Str(crate::object::intern(s.as_str())),
            other => other.clone(),
        };
        // Free-threaded model: every thread loads the built-in functions and types; immortal,
        // their counts are not fought over (`heap::Ref::immortalize`).
        match &v {
            Value::Native(f) => Ref::immortalize(f),
            Value::Class(c) => Ref::immortalize(c),
            _ => {}
        }
        if let Ok(key) = crate::object::HashKey::from_value(key) {
            out.set(key, v);
        }
    }
    Ref::new(out)
}

impl Vm {
    pub fn new(config: Config) -> Arc<Vm> {
        let started = std::time::Instant::now();
        crate::stdlib::thread::note_main_thread();
        minivm_compiler::set_name_normalizer(crate::stdlib::unicodedata::nfkc_name);
        // The memory model follows the GIL setting, and is fixed before any object is shared.
        crate::heap::set_model(if config.gil == crate::gil::GilMode::Off {
            crate::heap::Model::FreeThreaded
        } else {
            crate::heap::Model::Gil
        });
        let recorder =
            crate::timeline::Recorder::new(config.timeline, config.trace_gil, config.gil, started);
        Arc::new(Vm {
            gil: crate::gil::Gil::new(config.gil, config.switch_interval)
                .with_recorder(recorder)
                .with_check_interval(config.check_interval),
            next_thread_id: std::sync::atomic::AtomicU64::new(1),
            threads: Mutex::new(crate::heap::Shared::new(Vec::new())),
            main_thread: crate::heap::Global::new(),
            builtins: crate::heap::Shared::new(interned_keys(crate::builtins::make_builtins())),
            modules: Mutex::new(crate::heap::Shared::new(Vec::new())),
            sys_modules: crate::heap::Shared::new(Ref::new(Dict::new())),
            recursion_limit: AtomicUsize::new(1000),
            config,
            eval_breaker: &crate::heap::gc::EVAL_BREAKER,
            interrupted: AtomicBool::new(false),
            stdout: Mutex::new(crate::builtins::io::Stdout::new()),
            sources: Mutex::new(Vec::new()),
            bare_sources: Mutex::new(Vec::new()),
            finished_stats: Mutex::new(Vec::new()),
            started,
        })
    }

    /// Record an imported module under `name` (replacing an earlier one), in `sys.modules` too.
    pub fn register_module(&self, name: &str, module: &Ref<Module>) {
        let mut modules = self.modules.lock();
        modules.retain(|(n, _)| n.as_ref() != name);
        modules.push((Arc::from(name), module.clone()));
        drop(modules);
        self.sys_modules
            .set_str(name, Value::Module(module.clone()));
    }

    /// Forget the module `name` (its body failed), in `sys.modules` too.
    pub fn unregister_module(&self, name: &str) {
        self.modules.lock().retain(|(n, _)| n.as_ref() != name);
        self.sys_modules
            .remove(&crate::object::HashKey::from_str(name));
    }

    pub fn find_module(&self, name: &str) -> Option<Ref<Module>> {
        self.modules
            .lock()
            .iter()
            .find(|(n, _)| n.as_ref() == name)
            .map(|(_, m)| m.clone())
    }

    /// Called from the Ctrl-C handler: the main thread raises `KeyboardInterrupt` at its next check point.
    pub fn request_interrupt(&self) {
        self.interrupted
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.eval_breaker
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn clear_interrupt(&self) {
        self.interrupted
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// Everything `--stats` prints, once all threads have detached.
    pub fn report(&self) -> crate::stats::Report {
        let c = &self.gil.counters;
        crate::stats::Report {
            mode: self.gil.mode(),
            switch_interval: self.gil.interval(),
            wall: self.started.elapsed(),
            threads: self.finished_stats.lock().clone(),
            drop_requests: c.drop_requests.load(std::sync::atomic::Ordering::Relaxed),
            max_concurrent: c.max_holders.load(std::sync::atomic::Ordering::Relaxed),
            gc: crate::heap::gc::stats(),
        }
    }

    /// Remember the source of `filename`; a second source under the same name replaces the
    /// first (a name compiled again from other text shows the new lines).
    pub fn add_source(&self, filename: &str, src: &str) {
        let mut sources = self.sources.lock();
        match sources.iter_mut().find(|(f, _)| f.as_ref() == filename) {
            Some(entry) => entry.1 = Arc::from(src),
            None => sources.push((Arc::from(filename), Arc::from(src))),
        }
    }

    /// Mark the source of `filename` as held by `linecache` without its lines' newlines (or
    /// not): `getline` gives them so, and the `traceback` module's markers under them stand one
    /// column further right, as CPython's.
    pub fn set_bare_source(&self, filename: &str, bare: bool) {
        let mut bare_sources = self.bare_sources.lock();
        bare_sources.retain(|f| f.as_ref() != filename);
        if bare {
            bare_sources.push(Arc::from(filename));
        }
    }

    /// Whether [`Vm::set_bare_source`] marked `filename`.
    pub fn is_bare_source(&self, filename: &str) -> bool {
        self.bare_sources
            .lock()
            .iter()
            .any(|f| f.as_ref() == filename)
    }
}

/// Arguments passed to a native function: positional values and keyword (name, value) pairs.
#[derive(Clone, Copy)]
pub struct Args<'a> {
    pub pos: &'a [Value],
    pub kw: &'a [(Arc<str>, Value)],
}

impl<'a> Args<'a> {
    pub fn new(pos: &'a [Value]) -> Args<'a> {
        Args { pos, kw: &[] }
    }

    pub fn len(&self) -> usize {
        self.pos.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pos.is_empty()
    }

    /// A keyword argument's value, if given.
    pub fn kwarg(&self, name: &str) -> Option<&'a Value> {
        self.kw.iter().find(|(k, _)| &**k == name).map(|(_, v)| v)
    }
}

/// One OS thread's interpreter: the frames it is running and the exception it is handling.
pub struct Interp {
    pub vm: Arc<Vm>,
    /// Callers of the frame the dispatch loop is running now (which it holds itself).
    pub frames: Vec<Box<frame::Frame>>,
    /// Frames entered and not yet left, across nested runs (for `RecursionError`).
    pub depth: usize,
    /// The exception the running code is handling itself (`None` when it handles none); see
    /// `handled_exc` for the one `sys.exc_info()`, bare `raise` and `__context__` see.
    pub cur_exc: Option<Value>,
    /// CPython's stack of handled exceptions: while a generator or coroutine runs, `cur_exc` is
    /// its own and the states of the code that resumed it wait here (see `interp/coro.rs`).
    pub(crate) outer_exc: Vec<Option<Value>>,
    /// `sys.set_asyncgen_hooks`: (firstiter, finalizer), None when unset (`interp/finalize.rs`).
    pub(crate) asyncgen_hooks: [Value; 2],
    /// Finished frames, emptied and kept for reuse so a call does not allocate.
    pub frame_pool: frame::FramePool,
    /// A finished list iterator that the next `iter(list)` of this thread refills instead of
    /// making one (`iter.rs: list_iter_done`); its state is `IterState::Spare`, its count 1.
    pub(crate) spare_list_iter: Option<Ref<crate::object::IterObj>>,
    /// Native methods of built-in types found by method calls (`interp/call.rs`).
    pub(crate) method_cache: call::MethodCache,
    pub thread_name: Arc<str>,
    /// The main thread receives `KeyboardInterrupt`.
    pub is_main: bool,
    /// This interpreter thread's number (what `threading.get_ident()` returns).
    pub thread_id: u64,
    /// The `threading.Thread` object of this thread, once asked for.
    pub thread_obj: Option<Value>,
    /// Whether this thread holds the GIL now (it must, to run bytecode).
    pub(crate) holds_gil: bool,
    /// This thread's counters, for `--stats`.
    pub stats: crate::stats::ThreadStats,
    /// `--gil old`: check points passed since the last release.
    pub(crate) ticks: u32,
    /// Print each instruction before running it (`--trace`).
    pub tracing: bool,
    /// `cProfile` is profiling this thread (`stdlib/lsprof.rs`): the observed loop runs.
    pub(crate) profiling: bool,
    /// Set with the error a check point of the dispatch loop returns to change instance
    /// (`run.rs: switch_loops`): the depth of the frame that ran before profiling started.
    pub(crate) loop_switch: Option<usize>,
    /// The next traceback entry is skipped: the exception is being re-raised where it was caught.
    pub(crate) reraising: bool,
    /// The next traceback entry underlines the whole statement, not the instruction's span: an
    /// error of the operator of an augmented assignment fused with its write
    /// (`INPLACE_ATTR_LOCAL`, `INPLACE_STORE_SUBSCR`...), whose span is the target's, where
    /// CPython's operator spans the whole statement (`run.rs: statement_span`).
    pub(crate) whole_statement: bool,
    /// The return value of a generator that just finished (the value of `yield from`).
    pub(crate) yield_from_result: Value,
    /// Objects whose `repr` is in progress (to print `[...]` for self-references).
    pub(crate) repr_stack: rustc_hash::FxHashSet<usize>,
    /// Frames waiting on a call made by the general (nested) path, for `sys._getframe`.
    pub(crate) parked: crate::builtins::ParkedStack,
}

impl Interp {
    pub fn new(vm: Arc<Vm>, thread_name: &str) -> Interp {
        Interp {
            frames: Vec::new(),
            depth: 0,
            cur_exc: None,
            outer_exc: Vec::new(),
            asyncgen_hooks: [Value::None, Value::None],
            frame_pool: frame::FramePool::default(),
            spare_list_iter: None,
            method_cache: Default::default(),
            tracing: vm.config.trace,
            profiling: false,
            loop_switch: None,
            thread_name: thread_name.into(),
            is_main: true,
            thread_id: vm
                .next_thread_id
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            thread_obj: None,
            holds_gil: false,
            stats: crate::stats::ThreadStats::new(thread_name),
            ticks: 0,
            reraising: false,
            whole_statement: false,
            yield_from_result: Value::None,
            repr_stack: Default::default(),
            parked: Default::default(),
            vm,
        }
    }
}
