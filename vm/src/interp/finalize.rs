//! Stage 4: finalizing unfinished generators, coroutines and async generators.
//!
//! CPython closes a suspended generator when it goes away: `for x in gen(): break` drops the
//! generator, and its `finally` blocks and `with` exits run right there (PEP 342's `close()` on
//! finalization). minivm frees a generator in `Drop`, where no Python code may run: the
//! interpreter is busy elsewhere and the object is half gone. So `Drop` only takes the frame out
//! and queues it here ([`orphaned`]); the interpreter runs the queue at its next safe point
//! ([`Interp::run_finalizers`]): when the dispatch loop pops a value or returns from a frame
//! (where most generators die), at an eval-breaker check point (loop back-edges and calls, which
//! `orphaned` raises), before a call of a built-in (`call.rs: finalize_before_native`, so that
//! `print(C().x)` prints `C.__del__`'s output first, as CPython), when a `del` statement runs,
//! and at exit. The cycle collector queues the
//! frames of the generators it frees the same way (`object/trace.rs`), so a generator caught in a
//! reference cycle is closed too (PEP 442), though after the collector has emptied the other
//! objects of its cycle.
//!
//! Finalizing a frame wraps it in a fresh generator object (the old one is gone) and closes it as
//! `close()` does, throwing `GeneratorExit` at its `yield`. An async generator goes to the
//! finalizer hook of `sys.set_asyncgen_hooks` when one is set (asyncio's loop sets one that
//! schedules `aclose()` as a task on the loop), else it is closed on the spot. An exception
//! escaping a finalizer is printed as CPython prints it ("Exception ignored in: ...").
//!
//! A frame with no active `try`/`with` block has nothing to run when closed: it is freed at once,
//! so the common case costs nothing.
//!
//! Instances of classes with `__del__` take the same road. When the last reference to one goes,
//! `Instance`'s `Drop` moves its class, attributes and payload into a new object (the old one's
//! memory is already being freed) and queues that; the safe point calls `__del__` on it. An
//! unreachable one in a cycle is queued whole by the collector's hook ([`gc_finalize_hook`]),
//! before anything in its cycle is cleared. Either way the object is remembered as finalized, so
//! `__del__` runs once per object, as PEP 442 says, even if `__del__` stores `self` somewhere.
//! Differences from CPython: `__del__` runs at the next safe point rather than inside the
//! statement that dropped the last reference, and `id(self)` inside it is a new one.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::builtins::args::{ArgsExt, Sig};
use crate::heap::{ObjCell, Ref};
use crate::interp::frame::Frame;
use crate::interp::{Args, Interp};
use crate::object::{Class, GenKind, GenStatus, Generator, Instance, Payload};
use crate::value::Value;
use crate::{PyErr, PyResult};

/// The frame of a generator freed while suspended, with what is needed to rebuild the object.
struct Orphan {
    frame: Box<Frame>,
    kind: GenKind,
}

thread_local! {
    /// Orphaned frames waiting for the interpreter of this thread (values are not `Send`: a
    /// generator is freed by a thread that holds it, and that thread closes it).
    static QUEUE: RefCell<Vec<Orphan>> = const { RefCell::new(Vec::new()) };
    /// What values freed on this thread left for its next safe point, one bit each:
    /// [`FINALIZE`] (`QUEUE` and the other queues hold something) and [`WARN`] (`coro.rs`'s
    /// never-awaited coroutines wait to be reported). One word, so that the dispatch loop's
    /// test after a return or a store (`coro::drops_pending`) is one thread-local read.
    static PENDING: Cell<u8> = const { Cell::new(0) };
    /// This thread is finalizing the program's modules at exit: `import` fails from then on.
    static SHUTTING_DOWN: Cell<bool> = const { Cell::new(false) };
    /// A finalizer is running on this thread: a nested safe point leaves the queue to it.
    static RUNNING: Cell<bool> = const { Cell::new(false) };
    /// Instances whose `__del__` is due on this thread.
    static DOOMED: RefCell<Vec<Ref<Instance>>> = const { RefCell::new(Vec::new()) };
    /// Weak reference callbacks due on this thread: (callback, the weakref).
    static CALLS: RefCell<Vec<(Value, Value)>> = const { RefCell::new(Vec::new()) };
}

/// Queue `callback(arg)` for this thread's next safe point: a weak reference's callback, after
/// its object died (`stdlib/weakref.rs`; the death is noticed while freeing, where no Python
/// code may run).
pub fn queue_call(callback: Value, arg: Value) {
    let mut call = Some((callback, arg));
    let _ = CALLS.try_with(|q| {
        if let Ok(mut q) = q.try_borrow_mut() {
            q.extend(call.take());
        }
    });
    if call.is_none() {
        announce();
    }
}

/// Whether this thread is finalizing the program's modules at exit ([`Interp::finalize_modules`]):
/// an `import` statement then fails as CPython's does once `sys.modules` is emptied.
pub fn shutting_down() -> bool {
    SHUTTING_DOWN.with(Cell::get)
}

/// Some class with `__del__` exists: only then does freeing an instance look further.
pub static ANY_DEL: AtomicBool = AtomicBool::new(false);
/// A set of addresses, hashed by FxHash: once a class with `__del__` exists (asyncio has some),
/// every instance freed looks its class up here, and SipHash made that ~190 machine
/// instructions a free (callgrind, pyperformance async_generators).
type AddrSet = HashSet<usize, std::hash::BuildHasherDefault<rustc_hash::FxHasher>>;
/// The addresses of the classes that have `__del__` (their own or inherited), recorded when each
/// is made. A freed class's address may linger: an instance of a later class at that address
/// then only costs a lookup that finds no `__del__`.
static DEL_CLASSES: Mutex<Option<AddrSet>> = Mutex::new(None);
/// The addresses of live instances whose `__del__` has been called (or is queued): freed without
/// calling it again.
static FINALIZED: Mutex<Option<AddrSet>> = Mutex::new(None);
/// How many addresses `FINALIZED` holds (changed under its lock): a freed instance looks there
/// only when it holds some. An instance in it was put there before its last reference went, so
/// the thread that frees it sees the count that includes it.
static FINALIZED_LEN: AtomicUsize = AtomicUsize::new(0);

/// Called when a class with `__del__` is made.
pub fn register_del_class(cls: &Ref<Class>) {
    DEL_CLASSES
        .lock()
        .get_or_insert_with(AddrSet::default)
        .insert(Ref::as_ptr(cls) as usize);
    install_gc_hook();
    ANY_DEL.store(true, Ordering::Relaxed);
}

/// Have the cycle collector show this module each unreachable object (once a class with
/// `__del__` exists, or `gc.set_debug` asks to see them).
pub fn install_gc_hook() {
    let _ = crate::heap::gc::FINALIZE_HOOK.set(gc_finalize_hook);
}

fn has_del(cls: &Ref<Class>) -> bool {
    DEL_CLASSES
        .lock()
        .as_ref()
        .is_some_and(|s| s.contains(&(Ref::as_ptr(cls) as usize)))
}

/// Whether `__del__` was already called for the object at `addr` (`gc.is_finalized`).
pub fn is_finalized(addr: usize) -> bool {
    FINALIZED.lock().as_ref().is_some_and(|s| s.contains(&addr))
}

fn mark_finalized(addr: usize) {
    let mut set = FINALIZED.lock();
    if set.get_or_insert_with(AddrSet::default).insert(addr) {
        FINALIZED_LEN.fetch_add(1, Ordering::Relaxed);
    }
}

/// Queue an instance for its `__del__` at this thread's next safe point.
fn doom(inst: Ref<Instance>) {
    let mut inst = Some(inst);
    let _ = DOOMED.try_with(|q| {
        if let Ok(mut q) = q.try_borrow_mut() {
            q.extend(inst.take());
        }
    });
    if inst.is_none() {
        announce();
    }
}

/// `Instance`'s `Drop`: the last reference to an instance went. If its class has `__del__` and
/// it was not finalized yet, its contents move to a new object queued for `__del__`.
pub fn instance_dropped(inst: &mut Instance) {
    let addr = inst as *const Instance as usize;
    if FINALIZED_LEN.load(Ordering::Relaxed) > 0 {
        if let Some(set) = FINALIZED.lock().as_mut() {
            if set.remove(&addr) {
                FINALIZED_LEN.fetch_sub(1, Ordering::Relaxed);
                return;
            }
        }
    }
    if !has_del(&inst.class.get()) {
        return;
    }
    let revived = Ref::new(Instance {
        class: crate::heap::SwapRef::new(inst.class.get().clone()),
        dict: ObjCell::new_published(inst.dict.replace_owned(Default::default())),
        payload: std::mem::replace(&mut inst.payload, Payload::None),
        weak: crate::heap::weak::WeakAnchor::new(),
    });
    mark_finalized(Ref::as_ptr(&revived) as usize);
    doom(revived);
}

/// The collector's hook: an unreachable instance with `__del__` not yet finalized is queued
/// whole (its cycle stays intact for `__del__`); a later collection frees it.
fn gc_finalize_hook(obj: &crate::heap::gc::Tracked) -> bool {
    // `gc.set_debug`: note it, or keep it (and its cycle) for `gc.garbage`.
    let kept = crate::stdlib::gc::observe_garbage(obj);
    let Some(inst) = obj.downcast::<Instance>() else {
        return kept;
    };
    let addr = Ref::as_ptr(&inst) as usize;
    if !has_del(&inst.class.get()) || is_finalized(addr) {
        return kept;
    }
    mark_finalized(addr);
    doom(inst);
    true
}

/// The bit of `PENDING` saying finalizers (orphaned generators, `__del__`s) are queued.
pub(crate) const FINALIZE: u8 = 1;
/// The bit of `PENDING` saying never-awaited coroutines wait to be reported (`coro.rs`).
pub(crate) const WARN: u8 = 2;

/// The bits of this thread's pending work ([`FINALIZE`], [`WARN`]); 0 when there is none.
#[inline(always)]
pub(crate) fn pending_bits() -> u8 {
    PENDING.with(Cell::get)
}

/// Set (`on`) or clear one bit of this thread's pending work. During thread teardown the
/// flag may be gone: nothing is then pending any more.
#[inline(always)]
pub(crate) fn set_pending(bit: u8, on: bool) {
    let _ = PENDING.try_with(|p| {
        let bits = p.get();
        p.set(if on { bits | bit } else { bits & !bit });
    });
}

/// Whether orphaned generators wait to be closed on this thread.
#[inline(always)]
pub fn pending() -> bool {
    pending_bits() & FINALIZE != 0
}

/// Whether closing this suspended frame would run anything: if a `try`, `with` or `finally`
/// block is active, or if it is parked on a `yield from`, whose delegate `close()` closes
/// first (as CPython's `gen_close`), even when something else still holds the delegate.
pub fn needs_closing(frame: &Frame) -> bool {
    !frame.handlers.is_empty()
        || matches!(
            frame.code.ops.get(frame.ip),
            Some(minivm_compiler::bytecode::Op::YieldFrom)
        )
}

/// Called from `Generator`'s `Drop` (and the cycle collector's `clear`) with the frame of a
/// generator that was suspended: queue it to be closed at the next safe point.
pub fn orphaned(frame: Box<Frame>, kind: GenKind) {
    if !needs_closing(&frame) {
        return;
    }
    let mut orphan = Some(Orphan { frame, kind });
    // During thread teardown the queue may be gone: the frame is then simply freed.
    let _ = QUEUE.try_with(|q| {
        if let Ok(mut q) = q.try_borrow_mut() {
            q.extend(orphan.take());
        }
    });
    if orphan.is_none() {
        announce();
    }
}

/// Tell this thread's next safe point that finalizers are queued (or, from `coro.rs`, that a
/// never-awaited coroutine waits to be reported). Loops and calls check the breaker: an object
/// dropped by a plain assignment is finalized at the next one.
pub(crate) fn announce() {
    set_pending(FINALIZE, true);
    crate::heap::gc::EVAL_BREAKER.store(true, Ordering::Relaxed);
}

/// Free the queued frames without running them (a thread that is finishing, with the GIL held).
pub fn discard_pending() {
    let frames = QUEUE.with(|q| std::mem::take(&mut *q.borrow_mut()));
    let doomed = DOOMED.with(|q| std::mem::take(&mut *q.borrow_mut()));
    let calls = CALLS.with(|q| std::mem::take(&mut *q.borrow_mut()));
    set_pending(FINALIZE, false);
    drop(frames);
    drop(doomed);
    drop(calls);
}

impl Interp {
    /// A safe point: close the generators freed since the last one, if any.
    pub fn finalize_if_pending(&mut self) {
        if pending() {
            self.run_finalizers();
        }
    }

    /// Close every queued generator (see the module comment). Nested safe points inside a
    /// finalizer leave the queue to the outer call, which loops until it is empty.
    pub fn run_finalizers(&mut self) {
        if RUNNING.with(|r| r.replace(true)) {
            return;
        }
        loop {
            set_pending(FINALIZE, false);
            let batch = QUEUE.with(|q| std::mem::take(&mut *q.borrow_mut()));
            let doomed = DOOMED.with(|q| std::mem::take(&mut *q.borrow_mut()));
            let calls = CALLS.with(|q| std::mem::take(&mut *q.borrow_mut()));
            if batch.is_empty() && doomed.is_empty() && calls.is_empty() {
                break;
            }
            for orphan in batch {
                self.finalize(orphan);
            }
            for inst in doomed {
                self.call_del(inst);
            }
            for (callback, arg) in calls {
                self.call_reporting(&callback, std::slice::from_ref(&arg));
            }
        }
        RUNNING.with(|r| r.set(false));
    }

    /// Close one orphaned frame, reporting what escapes as an ignored exception.
    fn finalize(&mut self, o: Orphan) {
        let g = Ref::new(Generator {
            code: o.frame.code.clone(),
            frame: ObjCell::new(Some(o.frame)),
            status: ObjCell::new(GenStatus::Suspended),
            kind: o.kind,
            renamed: ObjCell::new(None),
        });
        let hook = match o.kind {
            GenKind::AsyncGenerator => self.asyncgen_hooks[1].clone(),
            _ => Value::None,
        };
        let agen = Value::Generator(g.clone());
        let r = if hook.is_none() {
            self.gen_close(&g)
        } else {
            self.call(&hook, std::slice::from_ref(&agen)).map(drop)
        };
        if let Err(e) = r {
            self.report_unraisable(&e, &agen);
        }
    }

    /// Call `inst.__del__()`, reporting what escapes as CPython does ("Exception ignored in:
    /// <function C.__del__ at 0x...>"), then let the object go.
    fn call_del(&mut self, inst: Ref<Instance>) {
        let Some(del) = inst.class.lookup("__del__") else {
            return;
        };
        let this = Value::Instance(inst);
        if let Err(e) = self.call(&del, std::slice::from_ref(&this)) {
            self.report_unraisable(&e, &del);
        }
    }

    /// Call `f(*args)` from a safe point, reporting what escapes as CPython reports an exception
    /// in a weak reference or `gc.callbacks` callback ("Exception ignored in: <function f at 0x...>").
    pub(crate) fn call_reporting(&mut self, f: &Value, args: &[Value]) {
        if let Err(e) = self.call(f, args) {
            self.report_unraisable(&e, f);
        }
    }

    /// Report an exception nothing can catch (escaping `__del__`, a weak reference callback or a
    /// generator's close), as CPython's `PyErr_WriteUnraisable`: through `sys.unraisablehook`
    /// when a program replaced it (called with one object whose `exc_type`, `exc_value`,
    /// `exc_traceback`, `err_msg` and `object` describe it, as `sys.UnraisableHookArgs`; tests
    /// count finalizer errors that way, threads or not), else printed as the default hook
    /// prints it ("Exception ignored in: <repr of object>" and the traceback). An exception the
    /// hook raises is reported by the default hook instead, as CPython does.
    pub(crate) fn report_unraisable(&mut self, e: &PyErr, object: &Value) {
        self.report_unraisable_msg(e, None, object)
    }

    /// As [`Interp::report_unraisable`], with the hook's `err_msg` (None: the default
    /// "Exception ignored in"): `"Exception ignored in atexit callback"` for an atexit callback.
    pub(crate) fn report_unraisable_msg(
        &mut self,
        e: &PyErr,
        err_msg: Option<&str>,
        object: &Value,
    ) {
        let hook = self.vm.find_module("sys").and_then(|sys| {
            let hook = sys.dict.get_str("unraisablehook")?;
            match sys.dict.get_str("__unraisablehook__") {
                Some(default) if default.is(&hook) => None,
                _ => Some(hook),
            }
        });
        if let Some(hook) = hook {
            let called = self
                .unraisable_args(e, err_msg, object)
                .and_then(|args| self.call(&hook, &[args]));
            match called {
                Ok(_) => return,
                Err(hook_err) => {
                    let msg = "Exception ignored in sys.unraisablehook";
                    return self.print_unraisable(&hook_err, Some(msg), &hook);
                }
            }
        }
        self.print_unraisable(e, err_msg, object);
    }

    /// The argument of `sys.unraisablehook`: a `types.SimpleNamespace` with CPython's
    /// `UnraisableHookArgs` fields (`err_msg` None: the default message).
    fn unraisable_args(
        &mut self,
        e: &PyErr,
        err_msg: Option<&str>,
        object: &Value,
    ) -> PyResult<Value> {
        let types = self.import_module("types")?;
        let namespace = self.getattr(&types, "SimpleNamespace")?;
        let kw: Vec<(std::sync::Arc<str>, Value)> = vec![
            ("exc_type".into(), Value::Class(e.exc.class.get().clone())),
            ("exc_value".into(), Value::Instance(e.exc.clone())),
            (
                "exc_traceback".into(),
                crate::interp::exc::traceback_value(&e.exc),
            ),
            ("err_msg".into(), err_msg.map_or(Value::None, Value::str)),
            ("object".into(), object.clone()),
        ];
        self.call_kw(&namespace, &[], &kw)
    }

    /// What the default `sys.unraisablehook` prints (CPython's `write_unraisable_exc_file`):
    /// the head line ([`Interp::unraisable_head`]), then the traceback of `e` without its cause,
    /// context or notes, and `Type: message` (the colon even when the message is empty).
    pub(crate) fn print_unraisable(&mut self, e: &PyErr, err_msg: Option<&str>, object: &Value) {
        let head = self.unraisable_head(err_msg, object);
        let text = self.format_unraisable(e);
        crate::stdlib::file::write_stderr_unraisable(self, &format!("{head}{text}"));
    }

    /// Report `e` as the default hook does under a head line of the caller's making
    /// ("Exception ignored in atexit callback: <function f at 0x...>").
    pub(crate) fn print_unraisable_as(&mut self, e: &PyErr, head: &str) {
        let text = self.format_unraisable(e);
        crate::stdlib::file::write_stderr_unraisable(self, &format!("{head}\n{text}"));
    }

    /// The default hook's first line: "`err_msg`: <repr of object>" (`err_msg` None: "Exception
    /// ignored in"); with `object` None, "`err_msg`:" alone, or nothing without `err_msg`.
    pub(crate) fn unraisable_head(&mut self, err_msg: Option<&str>, object: &Value) -> String {
        if object.is_none() {
            return err_msg.map(|m| format!("{m}:\n")).unwrap_or_default();
        }
        let shown = self
            .repr(object)
            .unwrap_or_else(|_| "<object repr() failed>".to_string());
        format!("{}: {shown}\n", err_msg.unwrap_or("Exception ignored in"))
    }

    /// At exit, as CPython 3.11's `finalize_modules` as far as a program can see it. Once some
    /// class has `__del__`: the program's modules (`__main__` and those imported from files,
    /// in `sys.modules` order) leave `sys.modules` (CPython empties it; the library's modules
    /// stay here, minivm's own code looks there); what only they reach is then garbage, and CPython's collection finalizes it
    /// before clearing any of it: `__del__` runs and suspended generators close while every
    /// global is still bound, module after module, each namespace's values in the order they
    /// were bound and each list or object's contents after it ([`crate::heap::gc::garbage_beyond`]
    /// gives that order; CPython's comes from its collector's lists, which a full collection
    /// leaves close to it). Then the namespaces that are left are cleared, modules imported
    /// later first, `_name`s before the other names (each set to None, `__builtins__` kept),
    /// each object finalized before the next name goes; the cycles left are collected and
    /// finalized. A namespace a daemon thread still runs code in is left alone, as its objects
    /// are in CPython, and the modules it imported are not garbage but cleared. Without `__del__`, only the suspended generators bound in `__main__` close.
    /// Either way `sys.argv`, `sys.path` and the like are None by then, the standard streams
    /// are `sys.__stdout__` and the others again, and `import` fails ([`shutting_down`]).
    pub fn finalize_modules(&mut self, globals: &Ref<crate::object::Dict>) {
        SHUTTING_DOWN.with(|s| s.set(true));
        // CPython first sets the `sys` attributes where programs leave their values to None,
        // and puts back the standard streams a program replaced.
        if let Some(Value::Module(sys)) = self.vm.sys_modules.get_str("sys") {
            for name in [
                "path",
                "argv",
                "ps1",
                "ps2",
                "last_type",
                "last_value",
                "last_traceback",
                "path_hooks",
                "path_importer_cache",
                "meta_path",
                "__interactivehook__",
            ] {
                sys.dict.set_str(name, Value::None);
            }
            for (name, original) in [
                ("stdin", "__stdin__"),
                ("stdout", "__stdout__"),
                ("stderr", "__stderr__"),
            ] {
                let v = sys.dict.get_str(original).unwrap_or(Value::None);
                sys.dict.set_str(name, v);
            }
        }
        if !ANY_DEL.load(Ordering::Relaxed) {
            for (_, v) in globals.items() {
                if let Value::Generator(g) = v {
                    self.close_at_exit(&g);
                    never_awaited_at_exit(&g);
                }
            }
            self.run_finalizers();
            return;
        }
        use crate::heap::gc::{garbage_beyond, Tracked};
        use crate::object::{Dict, List, Module, SetObj, Tuple};
        use std::any::TypeId;
        let sys_modules = self.vm.sys_modules.clone();
        // A namespace a daemon thread still runs code in stays in use (CPython: its frames
        // hold it after its module is gone, and it is neither collected nor cleared).
        let me = self.thread_id;
        let busy = self.stop_the_world_lending(None, || crate::builtins::other_threads_globals(me));
        let in_use = |d: &Ref<Dict>| busy.contains(&(Ref::as_ptr(d) as usize));
        let mut modules: Vec<Ref<Dict>> = Vec::new();
        let mut roots: Vec<Tracked> = Vec::new();
        let mut used: Vec<Tracked> = Vec::new();
        for (k, v) in sys_modules.items() {
            let (Some(name), Value::Module(m)) = (k.as_str(), v) else {
                continue;
            };
            let from_file = matches!(m.dict.get_str("__file__"), Some(Value::Str(f))
                if !f.as_str().starts_with(crate::stdlib::minilib::PREFIX));
            if name != "__main__" && !from_file {
                continue;
            }
            sys_modules.remove(&crate::object::HashKey::from_str(name));
            roots.extend(Tracked::of(&m));
            if in_use(&m.dict) {
                used.extend(Tracked::of(&m.dict));
                continue;
            }
            roots.extend(Tracked::of(&m.dict));
            modules.push(m.dict.clone());
        }
        if in_use(globals) {
            used.extend(Tracked::of(globals));
        } else if !modules.iter().any(|d| Ref::ptr_eq(d, globals)) {
            roots.extend(Tracked::of(globals));
            modules.insert(0, globals.clone());
        }
        let stop = [TypeId::of::<Module>()];
        let descend = [
            TypeId::of::<Dict>(),
            TypeId::of::<List>(),
            TypeId::of::<Tuple>(),
            TypeId::of::<SetObj>(),
            TypeId::of::<Instance>(),
        ];
        let garbage =
            self.stop_the_world_lending(None, || garbage_beyond(&roots, &used, &stop, &descend));
        drop((roots, used));
        for obj in &garbage {
            if let Some(g) = obj.downcast::<Generator>() {
                self.close_at_exit(&g);
            } else if let Some(inst) = obj.downcast::<Instance>() {
                let addr = Ref::as_ptr(&inst) as usize;
                if has_del(&inst.class.get()) && !is_finalized(addr) {
                    mark_finalized(addr);
                    doom(inst);
                }
            }
            // One at a time, each finalized before the next (most garbage queues nothing).
            self.finalize_if_pending();
        }
        drop(garbage);
        // The namespaces, modules imported later first.
        for dict in modules.iter().rev() {
            let names: Vec<String> = dict
                .items()
                .into_iter()
                .filter_map(|(k, _)| k.as_str().map(str::to_string))
                .collect();
            let private = |n: &str| n.starts_with('_') && !n[1..].starts_with('_');
            for pass in [true, false] {
                for name in &names {
                    if (pass && !private(name)) || name == "__builtins__" {
                        continue;
                    }
                    match dict.get_str(name) {
                        None | Some(Value::None) => continue,
                        Some(Value::Generator(g)) => self.close_at_exit(&g),
                        Some(_) => {}
                    }
                    dict.set_str(name, Value::None);
                    self.run_finalizers();
                }
            }
        }
        drop(modules);
        self.collect_without_callbacks(2);
        self.run_finalizers();
        // CPython empties the other modules next; of theirs, what `weakref.finalize` keeps
        // (the finalizers not run at exit, their objects and arguments) is let go.
        let weakref = self.vm.sys_modules.get_str("weakref");
        if let Some(Value::Module(m)) = weakref {
            if let Some(f) = m.dict.get_str("_at_teardown") {
                self.call_reporting(&f, &[]);
                self.run_finalizers();
            }
        }
    }

    /// Queue a still-suspended generator's frame, as if it had been freed.
    fn close_at_exit(&mut self, g: &Ref<Generator>) {
        if !matches!(*g.status.lock(), GenStatus::Suspended) {
            return;
        }
        *g.status.lock() = GenStatus::Done;
        if let Some(frame) = g.frame.lock().take() {
            orphaned(frame, g.kind);
        }
    }
}

/// A coroutine a global still holds at exit that never ran: reported as never awaited now (at
/// `sys:1`, as CPython reports it when it clears the module), and marked done so that freeing
/// it later reports nothing more.
fn never_awaited_at_exit(g: &Ref<Generator>) {
    if g.kind != GenKind::Coroutine {
        return;
    }
    let mut status = g.status.lock();
    if matches!(*status, GenStatus::Created) {
        *status = GenStatus::Done;
        drop(status);
        crate::interp::coro::never_awaited(g.qualname());
    }
}

static SET_HOOKS: Sig = Sig::py("set_asyncgen_hooks", &["firstiter", "finalizer"], 0);

/// `sys.set_asyncgen_hooks(firstiter=..., finalizer=...)`: the finalizer is called with an
/// async generator freed while suspended, instead of closing it synchronously; `firstiter` with
/// an async generator at its first `__anext__()`/`asend()`/`athrow()`/`aclose()` (`agen.rs`).
pub fn sys_set_asyncgen_hooks(interp: &mut Interp, args: Args) -> PyResult<Value> {
    let given: [Option<&Value>; 2] = SET_HOOKS.bind(&args)?;
    for (slot, v) in given.into_iter().enumerate() {
        let Some(v) = v else { continue };
        if !v.is_none() && !crate::builtins::functions::is_callable(interp, v) {
            let what = ["firstiter", "finalizer"][slot];
            return Err(crate::err!(
                TypeError,
                "callable {what} expected, got {}",
                crate::object::type_name(v)
            ));
        }
        interp.asyncgen_hooks[slot] = v.clone();
    }
    Ok(Value::None)
}

/// `sys.get_asyncgen_hooks()`: `(firstiter, finalizer)` (CPython returns a named tuple).
pub fn sys_get_asyncgen_hooks(interp: &mut Interp, args: Args) -> PyResult<Value> {
    args.none("sys.get_asyncgen_hooks")?;
    Ok(Value::tuple(interp.asyncgen_hooks.to_vec()))
}
