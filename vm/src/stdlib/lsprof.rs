//! `_lsprof` (stdlib stage): the deterministic profiler behind `cProfile` (`vm/lib/cProfile.mini`)
//! and `pstats`. It counts, for each function, how often it was called and how long it ran, in
//! itself and with what it called, and for each caller and callee pair the same: what CPython's
//! `_lsprof.Profiler.getstats()` returns.
//!
//! The events come from the observed instance of the dispatch loop (the one `--trace` and
//! `--stats` use, `interp/trace.rs`), so the ordinary loop pays nothing: before each instruction
//! `on_instruction` compares the depth of the running frame with a stack of open calls. A frame
//! deeper than the top of the stack is a call (a function entered, or a generator resumed); an
//! instruction at a shallower depth closes the calls above it (returns, yields, exceptions). A
//! call instruction whose callee is a built-in function or a method of a built-in type opens a
//! call of its own, closed by the next instruction of the same frame, as CPython's `c_call`
//! and `c_return` events. A nested run of the loop (native code calling Python: `sorted(key=)`)
//! marks its first frame fresh, so two calls one after the other at the same depth count twice.
//!
//! `Profile.runcall` (and `run`/`runctx`, through it) starts a nested loop for the function it
//! calls, which picks the observed instance. `Profile.enable()` switches the loops already
//! running: it raises the eval breaker and keeps it raised while any thread profiles, and a
//! loop running the ordinary instance returns at its next check point (a call of a Python
//! function, a backward jump) to go on in the observed one (`run.rs: switch_loops`); after
//! `disable()` the observed instance switches back at its check points. The frames that were
//! running when profiling began, at depths up to `Active::floor`, are not calls the profiler saw
//! begin: as CPython's, it counts what they call, not them.
//!
//! A second profiler started while one runs in the same thread (a profiled function that
//! profiles another, nested `runcall`s) takes over, as CPython 3.11's does (it replaces the
//! thread's profile function): the first one is set aside with its calls still open, sees
//! nothing more, and when it is disabled (or its `runcall` returns) those calls are closed at
//! that moment, as CPython's `flush_unmatched`. (CPython 3.12 refuses the second one instead.)

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use minivm_compiler::bytecode::Op;
use parking_lot::Mutex;
use rustc_hash::FxHashMap;

use crate::heap::{Global, Ref};
use crate::interp::frame::Frame;
use crate::interp::{Args, Interp};
use crate::object::{class_of, type_name, Module, NativeFunction, NativeKind};
use crate::stdlib::module_from_fns;
use crate::value::Value;
use crate::{err, PyResult};

/// What a row of the statistics is about: a Python function's code (file, first line, name),
/// or a built-in, by the name CPython's profiler gives it (`<built-in method builtins.len>`,
/// which pstats shows as `{built-in method builtins.len}`).
#[derive(Clone, PartialEq, Eq, Hash)]
enum Label {
    Code(Arc<str>, u32, Arc<str>),
    Native(Arc<str>),
}

/// Counts and times (seconds) of a function, or of the calls of one function by another.
#[derive(Default, Clone)]
struct Counts {
    calls: u64,
    /// Calls made while the function was already running (recursive ones).
    rec_calls: u64,
    /// Time from entry to exit, counted for the outermost call only.
    total: f64,
    /// Time in the function itself, without what it called.
    inline: f64,
    /// Calls open now.
    level: u32,
}

impl Counts {
    fn enter(&mut self) {
        self.level += 1;
    }

    fn leave(&mut self, total: f64, inline: f64) {
        self.level = self.level.saturating_sub(1);
        if self.level == 0 {
            self.total += total;
        } else {
            self.rec_calls += 1;
        }
        self.inline += inline;
        self.calls += 1;
    }
}

struct Entry {
    label: Label,
    counts: Counts,
    /// The calls this function made, by callee (an index into `Collector::entries`).
    callees: FxHashMap<usize, Counts>,
}

/// What one `Profile` object collected, across its runs.
#[derive(Default)]
struct Collector {
    entries: Vec<Entry>,
    index: FxHashMap<Label, usize>,
}

impl Collector {
    fn intern(&mut self, label: Label) -> usize {
        if let Some(&i) = self.index.get(&label) {
            return i;
        }
        let i = self.entries.len();
        self.entries.push(Entry {
            label: label.clone(),
            counts: Counts::default(),
            callees: FxHashMap::default(),
        });
        self.index.insert(label, i);
        i
    }
}

/// A call open now.
struct Open {
    entry: usize,
    caller: Option<usize>,
    start: Instant,
    /// Time spent in the calls it made.
    sub: f64,
    /// The interpreter depth of the frame that runs it (for a built-in: of its caller's frame).
    depth: usize,
    native: bool,
}

/// The profiling going on in this thread.
struct Active {
    handle: u64,
    data: Collector,
    open: Vec<Open>,
    /// The depth of the first frame of a nested run of the loop, until its first instruction.
    fresh: Option<usize>,
    /// The labels of built-ins met, by the native function's address, so a name is found once.
    names: FxHashMap<usize, Option<Arc<str>>>,
    /// The deepest frame that was running when profiling began (lowered as those return): a
    /// frame this deep or shallower is not a call.
    floor: usize,
    /// Started by `Profile.enable()` (counted in `ENABLED`), not `runcall`.
    enabled: bool,
}

impl Active {
    fn enter(&mut self, label: Label, depth: usize, native: bool) {
        let entry = self.data.intern(label);
        let caller = self.open.last().map(|o| o.entry);
        self.data.entries[entry].counts.enter();
        if let Some(c) = caller {
            self.data.entries[c]
                .callees
                .entry(entry)
                .or_default()
                .enter();
        }
        self.open.push(Open {
            entry,
            caller,
            start: Instant::now(),
            sub: 0.0,
            depth,
            native,
        });
    }

    /// Forget the open call on top, as if it never began: the Python wrapper minivm's
    /// `Profile.disable` is (CPython's is the built-in method), and its call of `_lsprof`.
    fn discard(&mut self) {
        let Some(o) = self.open.pop() else { return };
        let counts = &mut self.data.entries[o.entry].counts;
        counts.level = counts.level.saturating_sub(1);
        if let Some(c) = o.caller {
            if let Some(s) = self.data.entries[c].callees.get_mut(&o.entry) {
                s.level = s.level.saturating_sub(1);
            }
        }
    }

    fn leave(&mut self) {
        let Some(o) = self.open.pop() else { return };
        let total = o.start.elapsed().as_secs_f64();
        let inline = (total - o.sub).max(0.0);
        if let Some(prev) = self.open.last_mut() {
            prev.sub += total;
        }
        self.data.entries[o.entry].counts.leave(total, inline);
        if let Some(c) = o.caller {
            if let Some(s) = self.data.entries[c].callees.get_mut(&o.entry) {
                s.leave(total, inline);
            }
        }
    }
}

thread_local! {
    static ACTIVE: RefCell<Option<Active>> = const { RefCell::new(None) };
    /// The profilers of this thread another one took over from (see the module comment).
    static SET_ASIDE: RefCell<Vec<Active>> = const { RefCell::new(Vec::new()) };
}

/// The handle of the profiler running in this thread, if any (None too if its state is in use).
fn running_handle() -> Option<u64> {
    ACTIVE.with(|a| {
        a.try_borrow()
            .ok()
            .and_then(|a| a.as_ref().map(|st| st.handle))
    })
}

/// Another profiler than `h` runs in this thread: set it aside, as CPython 3.11's is when a
/// second one replaces the thread's profile function. Err if the state is in use.
fn take_over(h: u64) -> PyResult<()> {
    let outer = ACTIVE.with(|a| match a.try_borrow_mut() {
        Ok(mut a) if a.as_ref().is_some_and(|st| st.handle != h) => Ok(a.take()),
        Ok(_) => Ok(None),
        Err(_) => Err(err!(ValueError, "Another profiling tool is already active")),
    })?;
    if let Some(st) = outer {
        SET_ASIDE.with(|s| s.borrow_mut().push(st));
    }
    Ok(())
}

/// Profiler `h`, set aside by another, ends: its open calls are closed now (it saw nothing
/// since), without the `disable` call (it no longer saw calls). Whether `h` was set aside;
/// `enabled` is set to whether `Profile.enable()` had started it.
fn end_set_aside(h: u64, enabled: &mut bool) -> bool {
    let st = SET_ASIDE.with(|s| {
        let mut s = s.borrow_mut();
        let i = s.iter().position(|st| st.handle == h)?;
        Some(s.remove(i))
    });
    let Some(mut st) = st else { return false };
    *enabled = st.enabled;
    while !st.open.is_empty() {
        st.leave();
    }
    store().lock().insert(st.handle, st.data);
    true
}

/// The collections of every `Profile` object not running now, by handle.
static STORE: Global<Mutex<FxHashMap<u64, Collector>>> = Global::new();
static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
/// Threads profiling after `Profile.enable()`: while any does, the eval breaker stays raised
/// (`gil.rs: handle_eval_breaker`), so every loop reaches a check point that switches it.
static ENABLED: AtomicUsize = AtomicUsize::new(0);

/// Whether some thread profiles after `Profile.enable()`.
pub(crate) fn enabled_anywhere() -> bool {
    ENABLED.load(Ordering::Relaxed) > 0
}

/// A running loop switched to the observed instance at a check point of a frame at `depth`,
/// which began before profiling did.
pub(crate) fn running_before(depth: usize) {
    with_active(|st| st.floor = st.floor.min(depth));
}

fn with_active(f: impl FnOnce(&mut Active)) {
    ACTIVE.with(|a| {
        if let Ok(mut a) = a.try_borrow_mut() {
            if let Some(st) = a.as_mut() {
                f(st);
            }
        }
    });
}

fn store() -> &'static Mutex<FxHashMap<u64, Collector>> {
    STORE.get_or_init(Default::default)
}

/// A nested run of the dispatch loop starts (`run_frame`) at `depth`: its first frame is a new
/// call even if the last frame seen ran at the same depth.
pub(crate) fn fresh_frame(depth: usize) {
    with_active(|st| {
        st.fresh = Some(depth);
        st.floor = st.floor.min(depth.saturating_sub(1));
    });
}

/// The observed loop, before each instruction while this thread profiles (see the module
/// comment): close the calls that ended, open the frame's if it is new, and open a built-in's
/// call if the instruction calls one.
pub(crate) fn on_instruction(interp: &Interp, frame: &Frame, op: Op) {
    ACTIVE.with(|a| {
        let Ok(mut a) = a.try_borrow_mut() else {
            return;
        };
        let Some(st) = a.as_mut() else { return };
        let d = interp.depth;
        st.floor = st.floor.min(d);
        let fresh = st.fresh.take() == Some(d);
        while let Some(top) = st.open.last() {
            if top.depth > d || (top.depth == d && (top.native || fresh)) {
                st.leave();
            } else {
                break;
            }
        }
        if d > st.floor && st.open.last().is_none_or(|t| t.depth < d) {
            let code = &frame.code;
            let label = Label::Code(
                code.head.filename.clone(),
                code.head.first_line,
                code.name.clone(),
            );
            st.enter(label, d, false);
        }
        if let Some(label) = native_callee(interp, st, frame, op) {
            st.enter(Label::Native(label), d, true);
        }
    });
}

/// The built-in a call instruction is about to call, by CPython's profiler's name for it; None
/// when it calls Python code (whose frame will say so) or a class.
fn native_callee(interp: &Interp, st: &mut Active, frame: &Frame, op: Op) -> Option<Arc<str>> {
    let stack = &frame.stack;
    let at = |back: usize| stack.len().checked_sub(back + 1).and_then(|i| stack.get(i));
    match op {
        Op::Call(n) => {
            let first = (n > 0).then(|| at(n as usize - 1)).flatten();
            callable_label(interp, st, at(n as usize)?, first)
        }
        // The argument is still in its slot: the instruction pushes it as it runs.
        Op::CallLocal(x) => callable_label(interp, st, at(0)?, frame.locals.get(x.index())),
        Op::CallKw(n) => callable_label(interp, st, at(n as usize + 1)?, None),
        Op::CallEx(kw) => callable_label(interp, st, at(1 + usize::from(kw))?, None),
        Op::CallMethod(g) => {
            let obj = at(0)?;
            let name = frame.code.names.get(g.0 as usize)?;
            method_label(interp, st, obj, name)
        }
        // What `LOAD_METHOD` left: NULL and the callable, or a method and its receiver.
        Op::CallLoaded(..) | Op::CallLoadedKw(..) | Op::CallLoadedLocal(..) => {
            // `CALL_LOADED_LOCAL`'s one argument is still in its slot: it pushes it as it runs.
            let (on_stack, extra) = match op {
                Op::CallLoaded(n) => (n as usize, 0),
                Op::CallLoadedKw(n) => (n as usize, 1),
                _ => (0, 0),
            };
            let (below, f) = (at(on_stack + extra + 1)?, at(on_stack + extra)?);
            match below {
                // A hot built-in method (`call.rs: HOT_METHODS`), named by a small int.
                Value::Int(k) => crate::interp::call::hot_method_label(*k, f).map(Into::into),
                Value::Undefined => {
                    let first = match op {
                        Op::CallLoadedLocal(x) => frame.locals.get(x.index()),
                        _ => (on_stack > 0 && extra == 0)
                            .then(|| at(on_stack - 1))
                            .flatten(),
                    };
                    callable_label(interp, st, f, first)
                }
                m => callable_label(interp, st, m, Some(f)),
            }
        }
        // The receiver is still in its slot: the instruction pushes it as it runs.
        Op::CallMethodLocal(x, g) => {
            let obj = frame.locals.get(x.index())?;
            let name = frame.code.names.get(g.0 as usize)?;
            method_label(interp, st, obj, name)
        }
        _ => None,
    }
}

/// `obj.name(...)`: a method of a built-in type, or a module's built-in function.
fn method_label(interp: &Interp, st: &mut Active, obj: &Value, name: &str) -> Option<Arc<str>> {
    match obj {
        Value::Module(m) => match m.dict.get_str(name)? {
            Value::Native(f) => native_label(interp, st, &f, None),
            _ => None,
        },
        Value::Instance(i) => match i.class.lookup(name)? {
            Value::Native(f) if f.kind == NativeKind::MethodDescriptor => {
                Some(format!("<method '{}' of '{}' objects>", f.name, type_name(obj)).into())
            }
            _ => None,
        },
        Value::Class(c) => match c.lookup(name)? {
            Value::Native(f) => native_label(interp, st, &f, None),
            _ => None,
        },
        _ => match class_of(obj).lookup(name)? {
            Value::Native(f) if f.kind != NativeKind::SlotWrapper => {
                Some(format!("<method '{}' of '{}' objects>", f.name, type_name(obj)).into())
            }
            _ => None,
        },
    }
}

/// `f(...)` with `f` any value: a built-in function, or a method of a built-in bound to its
/// receiver.
fn callable_label(
    interp: &Interp,
    st: &mut Active,
    f: &Value,
    first: Option<&Value>,
) -> Option<Arc<str>> {
    match f {
        Value::Native(n) => native_label(interp, st, n, first),
        Value::BoundMethod(b) => match &b.func {
            Value::Native(n) if n.kind != NativeKind::SlotWrapper => Some(
                format!(
                    "<method '{}' of '{}' objects>",
                    n.name,
                    type_name(&b.receiver)
                )
                .into(),
            ),
            _ => None,
        },
        _ => None,
    }
}

/// A native function called as it is: `<built-in method MODULE.NAME>` for a module's function,
/// `<method 'NAME' of 'TYPE' objects>` for a built-in type's method given its receiver.
fn native_label(
    interp: &Interp,
    st: &mut Active,
    n: &Ref<NativeFunction>,
    first: Option<&Value>,
) -> Option<Arc<str>> {
    match n.kind {
        NativeKind::SlotWrapper => None,
        NativeKind::MethodDescriptor => {
            let recv = first?;
            Some(format!("<method '{}' of '{}' objects>", n.name, type_name(recv)).into())
        }
        NativeKind::Function => {
            let key = Ref::as_ptr(n) as usize;
            if let Some(l) = st.names.get(&key) {
                return l.clone();
            }
            let module = native_module(interp, n);
            let label: Arc<str> = match module {
                Some(m) => format!("<built-in method {m}.{}>", n.name).into(),
                None => format!("<built-in method {}>", n.name).into(),
            };
            st.names.insert(key, Some(label.clone()));
            Some(label)
        }
    }
}

fn native_module(interp: &Interp, n: &Ref<NativeFunction>) -> Option<Arc<str>> {
    crate::builtins::native_module(interp, n)
}

const FUNCS: crate::builtins::Methods = &[
    ("new", new),
    ("runcall", runcall),
    ("getstats", getstats),
    ("clear", clear),
    ("active", active),
    ("enable", enable),
    ("disable", disable),
];

pub fn module() -> Ref<Module> {
    module_from_fns("_lsprof", FUNCS, Vec::new())
}

fn handle_arg(args: &Args<'_>, what: &str) -> PyResult<u64> {
    match args.pos.first() {
        Some(Value::Int(h)) if *h > 0 => Ok(*h as u64),
        _ => Err(err!(
            TypeError,
            "_lsprof.{}() takes a profiler handle",
            what
        )),
    }
}

/// `_lsprof.new()`: a handle for a new, empty collection.
fn new(_: &mut Interp, _: Args<'_>) -> PyResult<Value> {
    let h = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    store().lock().insert(h, Collector::default());
    Ok(Value::Int(h as i64))
}

/// `_lsprof.active()`: whether this thread is profiling now.
fn active(_: &mut Interp, _: Args<'_>) -> PyResult<Value> {
    Ok(Value::Bool(ACTIVE.with(|a| {
        a.try_borrow().map(|a| a.is_some()).unwrap_or(true)
    })))
}

/// `_lsprof.runcall(handle, func, *args, **kwargs)`: call `func` with the profiler on, then
/// count the `disable` call CPython's `runcall` ends with (its profile shows it), and return
/// what `func` returned (or raise what it raised).
fn runcall(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let h = handle_arg(&args, "runcall")?;
    let Some(func) = args.pos.get(1) else {
        return Err(err!(TypeError, "runcall() missing the function to call"));
    };
    if running_handle() == Some(h) {
        // Enabled already: CPython's runcall enables it again (nothing changes), calls, and
        // disables it.
        let result = interp.call_kw(func, &args.pos[2..], args.kw);
        disable(interp, Args::new(&args.pos[..1]))?;
        return result;
    }
    take_over(h)?;
    let depth = interp.depth;
    start(h, depth, false);
    // A built-in called directly is a call of its own, as CPython's `c_call` event.
    ACTIVE.with(|a| {
        if let Some(st) = a.borrow_mut().as_mut() {
            if let Some(label) = callable_label(interp, st, func, args.pos.get(2)) {
                st.enter(Label::Native(label), depth, true);
            }
        }
    });
    let was = interp.profiling;
    interp.profiling = true;
    let result = interp.call_kw(func, &args.pos[2..], args.kw);
    interp.profiling = was;
    // Still this profiler's run, unless another took over meanwhile.
    let st = ACTIVE.with(|a| {
        let mut a = a.borrow_mut();
        match a.as_ref() {
            Some(st) if st.handle == h => a.take(),
            _ => None,
        }
    });
    if st.is_none() {
        end_set_aside(h, &mut false);
    }
    if let Some(mut st) = st {
        // What `func` called has returned (or raised) before the `disable` call.
        while !st.open.is_empty() {
            st.leave();
        }
        finish(st, depth);
    }
    result
}

/// Profiling with collection `h` begins in this thread, the running frame at `floor`.
fn start(h: u64, floor: usize, enabled: bool) {
    let data = store().lock().remove(&h).unwrap_or_default();
    ACTIVE.with(|a| {
        *a.borrow_mut() = Some(Active {
            handle: h,
            data,
            open: Vec::new(),
            fresh: None,
            names: FxHashMap::default(),
            floor,
            enabled,
        })
    });
}

/// Profiling ends: the calls still open are closed now, the `disable` call that ends it is
/// counted (made at `depth`), and the collection is kept for `getstats`.
fn finish(mut st: Active, depth: usize) {
    st.enter(Label::Native(DISABLE.into()), depth, true);
    st.leave();
    while !st.open.is_empty() {
        st.leave();
    }
    store().lock().insert(st.handle, st.data);
}

/// `_lsprof.enable(handle)`: profile this thread from now on (`Profile.enable`, a method
/// written in Python that calls this: its frame and its caller's began before). Enabling the
/// profiler already on does nothing.
fn enable(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let h = handle_arg(&args, "enable")?;
    if running_handle() == Some(h) {
        return Ok(Value::None);
    }
    take_over(h)?;
    start(h, interp.depth, true);
    interp.profiling = true;
    ENABLED.fetch_add(1, Ordering::Relaxed);
    interp.vm.eval_breaker.store(true, Ordering::Relaxed);
    Ok(Value::None)
}

/// `_lsprof.disable(handle)`: stop profiling this thread, closing the calls still open as
/// CPython's does, and count the `disable` call itself as CPython's profile shows it. Does
/// nothing if `handle` is not enabled here.
fn disable(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let h = handle_arg(&args, "disable")?;
    let st = ACTIVE.with(|a| {
        let Ok(mut a) = a.try_borrow_mut() else {
            return None;
        };
        match a.as_ref() {
            Some(st) if st.handle == h && st.enabled => a.take(),
            _ => None,
        }
    });
    let Some(mut st) = st else {
        let mut enabled = false;
        if end_set_aside(h, &mut enabled) && enabled {
            ENABLED.fetch_sub(1, Ordering::Relaxed);
        }
        return Ok(Value::None);
    };
    interp.profiling = false;
    ENABLED.fetch_sub(1, Ordering::Relaxed);
    // The call of this function, then the frame of minivm's `Profile.disable` that made it.
    if st.open.last().is_some_and(|o| o.native) {
        st.discard();
    }
    if st.open.last().is_some_and(|o| {
        matches!(&st.data.entries[o.entry].label,
            Label::Code(file, _, name) if &**name == "disable" && file.ends_with("cProfile.mini"))
    }) {
        st.discard();
    }
    let depth = st.open.last().map_or(interp.depth, |o| o.depth);
    finish(st, depth);
    Ok(Value::None)
}

/// How CPython's profile names the call that ends a profile.
const DISABLE: &str = "<method 'disable' of '_lsprof.Profiler' objects>";

/// `_lsprof.getstats(handle)`: a list of `(label, callcount, reccallcount, totaltime,
/// inlinetime, calls)`, `label` a `(filename, firstlineno, name)` tuple or a built-in's name,
/// `calls` a list of the same five fields for each callee.
fn getstats(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let h = handle_arg(&args, "getstats")?;
    let store = store().lock();
    let Some(c) = store.get(&h) else {
        return Ok(Value::list(Vec::new()));
    };
    let label = |l: &Label| match l {
        Label::Code(file, line, name) => Value::tuple(vec![
            Value::Str(Ref::new(crate::object::PyStr::new(file))),
            Value::Int(i64::from(*line)),
            Value::Str(Ref::new(crate::object::PyStr::new(name))),
        ]),
        Label::Native(s) => Value::str(s),
    };
    let row = |l: &Label, k: &Counts, calls: Option<Value>| {
        let mut v = vec![
            label(l),
            Value::Int(k.calls as i64),
            Value::Int(k.rec_calls as i64),
            Value::Float(k.total),
            Value::Float(k.inline),
        ];
        v.extend(calls);
        Value::tuple(v)
    };
    let mut out = Vec::new();
    // A function whose only call was forgotten (`Active::discard`) has no row.
    for e in c.entries.iter().filter(|e| e.counts.calls > 0) {
        let mut callees: Vec<(&usize, &Counts)> =
            e.callees.iter().filter(|(_, k)| k.calls > 0).collect();
        callees.sort_by_key(|(i, _)| **i);
        let calls = callees
            .into_iter()
            .filter_map(|(i, k)| c.entries.get(*i).map(|ce| row(&ce.label, k, None)))
            .collect();
        out.push(row(&e.label, &e.counts, Some(Value::list(calls))));
    }
    Ok(Value::list(out))
}

/// `_lsprof.clear(handle)`: forget what was collected.
fn clear(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let h = handle_arg(&args, "clear")?;
    store().lock().insert(h, Collector::default());
    Ok(Value::None)
}
