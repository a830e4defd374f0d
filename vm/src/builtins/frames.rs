//! Builtins stage: `sys._getframe(depth)`, the frame objects `logging` (and programs) use to find
//! their caller. minivm's frames are Rust structures that live only while they run, so a frame
//! object is mostly a snapshot taken at the call: `f_code` (`co_filename`, `co_name`,
//! `co_firstlineno`), `f_globals`, `f_locals` (a copy of the variables then, brought up to date
//! at each read while the frame runs, as CPython 3.11's dict: `live_locals`; a caller waiting on
//! a call run in a nested dispatch loop is read through its `Parked` record) and `f_back`, the
//! same snapshot of its caller. Its `f_lineno` is live: the
//! frame object keeps where its frame lives and reads the line from the frame while this
//! thread can reach it (`own_line`; another thread's frames: `live_line`). A function
//! frame's variables are kept as (position, value) pairs and made into the `f_locals` dict on
//! its first read (`pending_locals`): most frame objects are only walked. A traceback's frame
//! objects (`frame_object`) read `f_locals` from the cell their entry shares with the frame
//! (`TraceEntry::locals`), filled as the frame finishes. A frame object of this thread that a
//! program holds is found again for its frame (`KEPT_FRAMES`, weakly), so a frame has one.

use crate::builtins::args::{to_index, Sig, Style};
use crate::heap::{Global, Ref};
use crate::interp::frame::Frame;
use crate::interp::{Args, Interp};
use crate::object::{Class, Dict, Instance};
use crate::value::Value;
use crate::{raise, PyResult};
use std::sync::Arc;

static FRAME_CLASS: Global<Ref<Class>> = Global::new();

fn frame_class() -> Ref<Class> {
    FRAME_CLASS
        .get_or_init(|| {
            crate::stdlib::native_class(
                "frame",
                "builtins",
                &[("__repr__", frame_repr), ("__getattr__", frame_getattr)],
            )
        })
        .clone()
}

fn attr(v: &Value, name: &str) -> Value {
    match v {
        Value::Instance(i) => i.dict.lock().get(name).cloned().unwrap_or(Value::None),
        _ => Value::None,
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Str(s) => s.as_str().to_string(),
        other => format!("{}", other.id()),
    }
}

/// A missing attribute: `f_locals` of a frame whose variables minivm did not record is a clear
/// error rather than an AttributeError that reads as if frames had no such attribute. A
/// traceback's frame reads its variables from the cell its entry keeps (`TraceEntry::locals`).
/// A frame of another thread (from `sys._current_frames()`) reads its `f_lineno` from the
/// frame itself while it is still on that thread's stack ([`live_line`]).
fn frame_getattr(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let name = args.pos.get(1).and_then(Value::as_str);
    if name == Some("f_lineno") {
        if let Some(line) = args.pos.first().and_then(|f| own_line(interp, f)) {
            return Ok(line);
        }
        if let Some(line) = args.pos.first().and_then(live_line) {
            return Ok(line);
        }
    }
    if name == Some(SPAN) {
        if let Some(span) = args.pos.first().and_then(|f| own_span(interp, f)) {
            return Ok(span);
        }
    }
    if name == Some("f_locals") {
        if let Some(Value::Cell(cell)) = args.pos.first().map(|f| attr(f, TRACED)) {
            return traced_frame_locals(interp, &cell);
        }
        if let Some(locals) = args.pos.first().and_then(|f| live_locals(interp, f)) {
            return Ok(locals);
        }
        if let Some(locals) = args.pos.first().and_then(made_locals) {
            return Ok(locals);
        }
    }
    match name {
        Some("f_locals") => raise!(
            NotImplementedError,
            "minivm does not record the variables of this frame (a traceback's frame whose \
             variables were not kept has no f_locals)"
        ),
        Some(name @ ("f_lineno" | "f_globals")) => raise!(
            NotImplementedError,
            "minivm cannot see this frame while it runs (a generator's own gi_frame, read \
             from inside it), so it has no {name}"
        ),
        Some(name) => raise!(AttributeError, "'frame' object has no attribute '{name}'"),
        None => raise!(TypeError, "attribute name must be string"),
    }
}

/// The attribute of a traceback's frame object holding its entry's cell of variables.
const TRACED: &str = "_minivm_locals";

/// The attribute of a frame object holding its variables until `f_locals` is first read
/// ([`pending_locals`]).
const PENDING: &str = "_minivm_pending_locals";

/// The attribute of a frame object holding its `f_locals` dict once read (not `f_locals`
/// itself, which would be found without asking `frame_getattr` to bring it up to date).
const KEPT_LOCALS: &str = "_minivm_f_locals";

/// The attributes of a frame object of another thread (`sys._current_frames()`): where its
/// frame sits, the tuple (thread id, position among the items that thread lends, address of
/// its code), and the line it was last seen at.
const LIVE: &str = "_minivm_live";
const LAST_LINE: &str = "_minivm_line";

/// The attributes of a frame object of this thread (`sys._getframe()`, `gi_frame`): where its
/// frame lives, the pair (address of the frame, address of its code), by which the frame is
/// found while it runs; and for a generator's frame, the generator, where its frame waits
/// while suspended. A frame's address stays the same while it runs (frames are boxed), but a
/// finished frame's box is reused: a frame object whose frame returned, read while a new call
/// of the same code runs in the same box, shows that call's line.
const OWN: &str = "_minivm_frame";
const GEN: &str = "_minivm_gen";

/// Where `f` lives: the pair [`OWN`] holds.
fn frame_place(f: &Frame) -> (i64, i64) {
    (
        f as *const Frame as usize as i64,
        Ref::as_ptr(&f.code) as usize as i64,
    )
}

/// Where the frame a frame object of this thread ([`OWN`]) stands for was made: (the frame's
/// place, its code's). `None` for other frame objects.
fn own_place(frame: &Value) -> Option<(i64, i64)> {
    let Value::Tuple(place) = attr(frame, OWN) else {
        return None;
    };
    match &place.items[..] {
        [Value::Int(at), Value::Int(code)] => Some((*at, *code)),
        _ => None,
    }
}

/// `read` of the frame at `place` where this thread can reach it: among the frames of the
/// dispatch loop and the callers waiting on a call, else suspended in the frame object's
/// generator (`read`'s second argument: true). `None` if it is in neither (it finished).
fn find_own<R>(
    interp: &Interp,
    frame: &Value,
    place: (i64, i64),
    read: impl Fn(&Frame, bool) -> R,
) -> Option<R> {
    let here = |f: &Frame| frame_place(f) == place;
    let running = lent_stack(&interp.frames, &interp.parked, None, None).find_map(|l| match l {
        StackLoan::A(f) if here(f) => Some(read(f, false)),
        StackLoan::B(p) if here(p.frame.get()) => Some(read(p.frame.get(), false)),
        _ => None,
    });
    running.or_else(|| match attr(frame, GEN) {
        Value::Generator(g) => g
            .frame
            .lock()
            .as_deref()
            .and_then(|f| here(f).then(|| read(f, true))),
        _ => None,
    })
}

/// `f_lineno` of a frame object of this thread ([`OWN`]): the line its frame runs now, as
/// CPython's frame objects show, wherever this thread can reach it (among the frames of the
/// dispatch loop, the callers waiting on a call (the frame reading its own `f_lineno` waits on
/// that read), a suspended generator's frame), else the line it was last seen at (a frame that
/// finished: the line of its last call or attribute read, not always of its `return`). `None`
/// for other frame objects.
fn own_line(interp: &Interp, frame: &Value) -> Option<Value> {
    let place = own_place(frame)?;
    let now = find_own(interp, frame, place, |f, suspended| {
        match (suspended, f.ip) {
            (true, 0) => f.code.obj.first_line,
            _ => f.line(),
        }
    });
    match now {
        Some(line) => {
            let line = Value::Int(line.into());
            if let Value::Instance(inst) = frame {
                let old = inst.dict.lock().insert(Arc::from(LAST_LINE), line.clone());
                drop(old);
            }
            Some(line)
        }
        None => Some(attr(frame, LAST_LINE)),
    }
}

/// The attribute by which a frame object (as a traceback, `tb._minivm_span`) gives the source
/// range of the instruction its frame runs: `(start, end, False)`, which `traceback._columns`
/// turns into columns (`inspect`'s `positions`).
const SPAN: &str = "_minivm_span";
const LAST_SPAN: &str = "_minivm_last_span";

/// [`SPAN`] of a frame object of this thread ([`OWN`]): read from its frame, as [`own_line`]
/// reads the line, else the range last seen (None if never read while the frame ran).
fn own_span(interp: &Interp, frame: &Value) -> Option<Value> {
    let place = own_place(frame)?;
    let now = find_own(interp, frame, place, |f, _| f.span());
    match now {
        Some((start, end)) => {
            let span = Value::tuple(vec![
                Value::Int(start.into()),
                Value::Int(end.into()),
                Value::Bool(false),
            ]);
            if let Value::Instance(inst) = frame {
                let old = inst.dict.lock().insert(Arc::from(LAST_SPAN), span.clone());
                drop(old);
            }
            Some(span)
        }
        None => Some(attr(frame, LAST_SPAN)),
    }
}

/// `f_locals` of a frame object of this thread ([`OWN`]) whose frame still runs (or waits,
/// suspended in its generator): as CPython 3.11 reads it, one dict per frame object, brought up
/// to date from the frame's variables at each read (a variable bound since is added, one
/// deleted is removed; other keys a program put in the dict stay, and writing to the dict
/// changes no variable). `None` for other frame objects and a frame that finished (its
/// `f_locals` is then what it was at the last read).
fn live_locals(interp: &Interp, frame: &Value) -> Option<Value> {
    let Value::Instance(inst) = frame else {
        return None;
    };
    let place = own_place(frame)?;
    let fresh = find_own(interp, frame, place, |f, _| {
        super::introspect::frame_locals(f)
    })?;
    let kept = made_locals(frame);
    let (Some(Value::Dict(kept)), Value::Dict(now)) = (&kept, &fresh) else {
        let old = {
            let mut table = inst.dict.lock();
            let old = table.insert(Arc::from(KEPT_LOCALS), fresh.clone());
            (old, table.remove_unmirrored(PENDING))
        };
        drop(old);
        return Some(fresh);
    };
    if !Ref::ptr_eq(kept, now) {
        let code = attr(frame, "f_code");
        for key in ["co_varnames", "co_cellvars", "co_freevars"] {
            if let Value::Tuple(names) = attr(&code, key) {
                for name in names.items.iter().filter_map(Value::as_str) {
                    if now.get_str(name).is_none() {
                        drop(kept.remove(&crate::object::HashKey::from_str(name)));
                    }
                }
            }
        }
        for (k, v) in now.items() {
            if let Some(name) = k.as_str() {
                kept.set_str(name, v);
            }
        }
    }
    Some(Value::Dict(kept.clone()))
}

/// `f_lineno` of a frame object of another thread: the line its frame runs now, as CPython's
/// frame objects show, while the frame is still at the position it had on that thread's stack
/// (with the same code; a frame that returned and a new call of the same function in its place
/// cannot be told apart), else the line it was last seen at. `None` for other frame objects.
fn live_line(frame: &Value) -> Option<Value> {
    let Value::Instance(inst) = frame else {
        return None;
    };
    let Value::Tuple(live) = attr(frame, LIVE) else {
        return None;
    };
    let [Value::Int(thread), Value::Int(index), Value::Int(code)] = &live.items[..] else {
        return None;
    };
    let (thread, index, code) = (*thread as u64, *index as usize, *code as usize);
    // The world is not stopped for this: what is read of a lent frame (its code's address, its
    // instruction index, its code's line table) does not change while it is lent, and no count
    // changes. Free-threaded, a thread running bytecode lends nothing: its frame shows the line
    // it was last seen at.
    let lender = THREADS
        .lock()
        .iter()
        .find(|t| t.0 == thread)
        .map(|t| t.2.clone());
    let now = lender.and_then(|lender| {
        lender.read(|loans| match loans.get(index)? {
            StackLoan::A(f) if Ref::as_ptr(&f.code) as usize == code => Some(f.line()),
            StackLoan::B(p) if Ref::as_ptr(&p.frame.get().code) as usize == code => {
                let f = p.frame.get();
                Some(f.code.line_at(f.ip.saturating_sub(1)))
            }
            _ => None,
        })
    });
    if let Some(line) = now {
        inst.dict
            .lock()
            .insert(Arc::from(LAST_LINE), Value::Int(line.into()));
    }
    Some(attr(frame, LAST_LINE))
}

/// `tb_frame.f_locals`: the variables the frame had when it finished, or, still running and
/// waiting on a call of this dispatch loop, its variables now (as CPython reads a running
/// frame's). A running frame minivm cannot reach (the one reading, or one waiting in a nested
/// loop) is a clear error.
fn traced_frame_locals(interp: &Interp, cell: &Ref<crate::object::CellObj>) -> PyResult<Value> {
    let v = cell.get();
    if !matches!(v, Value::Undefined) {
        return Ok(v);
    }
    let traced = |f: &Frame| f.traced.as_ref().is_some_and(|c| Ref::ptr_eq(c, cell));
    let running = lent_stack(&interp.frames, &interp.parked, None, None).find_map(|l| match l {
        StackLoan::A(f) if traced(f) => Some(f),
        StackLoan::B(p) if traced(p.frame.get()) => Some(p.frame.get()),
        _ => None,
    });
    match running {
        Some(f) => Ok(super::introspect::frame_locals(f)),
        None => raise!(
            NotImplementedError,
            "minivm cannot read the variables of a traceback's frame while it still runs \
             (from within it, or from a call it made through a built-in)"
        ),
    }
}

/// `<frame at 0x..., file 'x.py', line 3, code f>`
fn frame_repr(_interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let Some(this) = args.pos.first() else {
        raise!(TypeError, "frame.__repr__ needs a frame");
    };
    let code = attr(this, "f_code");
    let line = match own_line(_interp, this).or_else(|| live_line(this)) {
        Some(line) => line,
        None => attr(this, "f_lineno"),
    };
    Ok(Value::string(format!(
        "<frame at {:#x}, file '{}', line {}, code {}>",
        this.id(),
        text(&attr(&code, "co_filename")),
        text(&line),
        text(&attr(&code, "co_name")),
    )))
}

/// A frame that made a call by the general path (which runs the callee in a nested dispatch
/// loop, where the caller is not among `Interp::frames`): recorded for the call's duration.
pub struct Parked {
    /// `Interp::frames.len()` when the call was made: the caller sits above those frames.
    at: usize,
    /// The caller itself (its code, line, globals and variables), unchanged while it waits.
    frame: crate::heap::lend::Waiting<Frame>,
}

/// The callers waiting on calls by the general path, innermost last: `entries[..len]`.
///
/// Every call of a built-in (`len(s)`, `stack.append(x)`), and every operator, comparison or
/// attribute read that may run a special method, records its caller here, as it may call back
/// into Python code that asks for its frame (`sys._getframe`). To keep that cheap, a record is
/// two words and no reference count, and it is not dropped when its call returns, only `len`
/// goes down (the next call at that depth overwrites it).
#[derive(Default)]
pub struct ParkedStack {
    entries: Vec<Parked>,
    len: usize,
    /// This thread's frames while it runs no bytecode, for `sys._current_frames()` (kept here,
    /// beside the parked callers it lends too).
    lender: Arc<StackLender>,
}

/// What a thread lends while it waits without the GIL: its frames and parked callers, then
/// the exception it is handling, if any.
type StackLender = crate::heap::lend::Lender<Frame, Parked, Value>;
type StackLoan<'a> = crate::heap::lend::Loan<'a, Frame, Parked, Value>;

/// Every attached thread's lender, with its `Interp::thread_id` and the `get_ident()` it
/// shows: registered when it attaches for the first time, dropped when it detaches for good.
/// Taken by attached threads only (a fork stops them all first).
static THREADS: parking_lot::Mutex<Vec<(u64, i64, Arc<StackLender>)>> =
    parking_lot::Mutex::new(Vec::new());

impl ParkedStack {
    /// The callers waiting now, outermost first.
    fn active(&self) -> &[Parked] {
        self.entries.get(..self.len).unwrap_or(&[])
    }

    /// Drop every entry (the thread is finishing: its values go while it holds the GIL).
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.len = 0;
    }

    /// Where this thread lends its frames (`lent_stack`) while it waits without the GIL.
    pub(crate) fn lender(&self) -> &StackLender {
        &self.lender
    }
}

/// This thread's stack as it lends it, outermost first: `frames` (of `Interp::frames`) with the
/// callers parked between them, then `cur`, the frame running at a check point (none in a
/// built-in's blocking call, whose caller is the innermost parked one). The same order as
/// `Interp::stack_snapshots`, without allocating: this runs at every release of the GIL. Last,
/// `handling`: the exception being handled, for `sys._current_exceptions()`.
pub(crate) fn lent_stack<'a>(
    frames: &'a [Box<Frame>],
    parked: &'a ParkedStack,
    cur: Option<&'a Frame>,
    handling: Option<&'a Value>,
) -> impl Iterator<Item = StackLoan<'a>> + 'a {
    use crate::heap::lend::Loan;
    let mut waiting = parked.active().iter().peekable();
    let mut i = 0;
    let mut cur = cur;
    let mut handling = handling;
    std::iter::from_fn(move || {
        if let Some(p) = waiting.next_if(|p| p.at <= i) {
            return Some(Loan::B(p));
        }
        if let Some(f) = frames.get(i) {
            i += 1;
            return Some(Loan::A(&**f));
        }
        if let Some(p) = waiting.next() {
            return Some(Loan::B(p));
        }
        if let Some(f) = cur.take() {
            return Some(Loan::A(f));
        }
        handling.take().map(Loan::C)
    })
}

/// The snapshots of a lent (or this thread's own) stack, outermost first, without the frames
/// of library functions standing in for C code. Each records where it sits among the loans
/// (`Snapshot::lent`), for its `f_lineno` read later.
fn loan_snapshots(loans: &[StackLoan<'_>]) -> Vec<Snapshot> {
    use crate::heap::lend::Loan;
    use crate::interp::traceback_hidden::hidden;
    loans
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let (mut s, code) = match l {
                Loan::A(f) if !hidden(&f.code) => (snapshot(f), Ref::as_ptr(&f.code)),
                Loan::B(p) if !hidden(&p.frame.get().code) => {
                    (parked_snapshot(p), Ref::as_ptr(&p.frame.get().code))
                }
                _ => return None,
            };
            s.lent = Some((i, code as usize));
            Some(s)
        })
        .collect()
}

/// The exception a lent stack's thread is handling (its last loan).
fn loan_exception(loans: &[StackLoan<'_>]) -> Option<Value> {
    match loans.last() {
        Some(crate::heap::lend::Loan::C(e)) => Some((*e).clone()),
        _ => None,
    }
}

/// At exit (`interp/finalize.rs`): the namespaces the frames of the other threads still
/// attached (daemon threads) run in, by address: their modules' objects are still in use.
/// Call with the world stopped, as `current_frames` reads the lent stacks.
pub(crate) fn other_threads_globals(me: u64) -> Vec<usize> {
    use crate::heap::lend::Loan;
    let threads = THREADS.lock();
    threads
        .iter()
        .filter(|t| t.0 != me)
        .flat_map(|(_, _, lender)| {
            lender.read(|loans| {
                loans
                    .iter()
                    .filter_map(|l| match l {
                        Loan::A(f) => Some(Ref::as_ptr(&f.globals) as usize),
                        Loan::B(p) => Some(Ref::as_ptr(&p.frame.get().globals) as usize),
                        Loan::C(_) => None,
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect()
}

/// List the thread `interp` runs on among those `sys._current_frames()` shows (when it
/// attaches).
pub(crate) fn register_thread(interp: &Interp) {
    let ident = crate::stdlib::thread::shown_ident(interp);
    let mut threads = THREADS.lock();
    if !threads.iter().any(|t| t.0 == interp.thread_id) {
        threads.push((interp.thread_id, ident, interp.parked.lender.clone()));
    }
}

/// Take it off that list (it detaches for good).
pub(crate) fn unregister_thread(interp: &Interp) {
    THREADS.lock().retain(|t| t.0 != interp.thread_id);
}

/// In a forked child: only the forking thread is left, with the identifier it has there.
pub(crate) fn after_fork_child(interp: &Interp) {
    let mut threads = THREADS.lock();
    threads.retain(|t| t.0 == interp.thread_id);
    let ident = crate::stdlib::thread::shown_ident(interp);
    for t in threads.iter_mut() {
        t.1 = ident;
    }
}

/// `sys._current_frames()`: for each thread running Python code, its identifier
/// (`threading.get_ident()`) mapped to the frame it runs now, a snapshot as `sys._getframe`
/// gives (`f_back` leads to its callers). The other threads are waiting without the GIL (with
/// the GIL: the caller holds it; free-threaded: the world is stopped meanwhile), lending their
/// frames (`heap/lend.rs`): where a thread waits in a built-in (`lock.acquire()`,
/// `time.sleep`), its innermost frame is the one that called it, with its line; where it was
/// stopped at a check point, the frame running there.
pub(crate) fn current_frames(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("sys._current_frames", Style::NoArgs, &[], 0).check(&args)?;
    let me = interp.thread_id;
    let own: Vec<StackLoan<'_>> = lent_stack(&interp.frames, &interp.parked, None, None).collect();
    let mut own = loan_snapshots(&own);
    // This thread's frames are snapshots: their lines are those of now.
    for s in &mut own {
        s.lent = None;
    }
    let mut stacks = vec![(crate::stdlib::thread::shown_ident(interp), me, own)];
    let others = interp.stop_the_world_lending(None, || {
        let threads = THREADS.lock();
        threads
            .iter()
            .filter(|t| t.0 != me)
            .map(|(id, ident, lender)| (*ident, *id, lender.read(loan_snapshots)))
            .collect::<Vec<_>>()
    });
    stacks.extend(others);
    let out = Dict::new();
    for (ident, thread, stack) in stacks {
        if !stack.is_empty() {
            let key = crate::object::HashKey::from_value(Value::Int(ident))?;
            drop(out.insert(key, frame_objects_of(stack, Some(thread))));
        }
    }
    Ok(Value::Dict(Ref::new(out)))
}

/// `sys._current_exceptions()` (CPython 3.11): for each thread, its identifier mapped to what
/// `sys.exc_info()` gives on it: the exception it is handling, or three Nones. The other
/// threads lend theirs as they lend their frames (see [`current_frames`]).
pub(crate) fn current_exceptions(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("sys._current_exceptions", Style::NoArgs, &[], 0).check(&args)?;
    let me = interp.thread_id;
    let mut handling = vec![(
        crate::stdlib::thread::shown_ident(interp),
        interp.handled_exc(),
    )];
    let others = interp.stop_the_world_lending(None, || {
        let threads = THREADS.lock();
        threads
            .iter()
            .filter(|t| t.0 != me)
            .map(|(_, ident, lender)| (*ident, lender.read(loan_exception)))
            .collect::<Vec<_>>()
    });
    handling.extend(others);
    let out = Dict::new();
    for (ident, exc) in handling {
        let key = crate::object::HashKey::from_value(Value::Int(ident))?;
        let info = crate::stdlib::traceback::exc_info_tuple(interp, exc)?;
        drop(out.insert(key, info));
    }
    Ok(Value::Dict(Ref::new(out)))
}

impl Interp {
    /// The globals of the innermost Python frame waiting on a call: the code that called the
    /// running built-in (CPython's `PyEval_GetGlobals`), if any.
    pub(crate) fn caller_globals(&self) -> Option<Ref<Dict>> {
        self.parked
            .active()
            .last()
            .map(|p| p.frame.get().globals.clone())
    }

    /// Run `call` with `frame` recorded as a waiting caller.
    #[inline]
    pub(crate) fn parked<T>(&mut self, frame: &Frame, call: impl FnOnce(&mut Self) -> T) -> T {
        let depth = self.parked.len;
        let record = Parked {
            at: self.frames.len(),
            frame: crate::heap::lend::Waiting::new(frame),
        };
        match self.parked.entries.get_mut(depth) {
            Some(p) => *p = record,
            None => self.parked.entries.push(record),
        }
        self.parked.len = depth + 1;
        let r = call(self);
        self.parked.len = depth;
        r
    }

    /// Every frame on this thread's stack, outermost first, the calling frame `cur` last, less
    /// the `skip` innermost (`sys._getframe(depth)`), which are not snapshotted; `None` if
    /// that leaves none. Frames of library functions standing in for C code are left out, as
    /// CPython has none for them (`interp/traceback_hidden.rs`).
    fn stack_snapshots(&self, cur: &Frame, skip: usize) -> Option<Vec<Snapshot>> {
        use crate::interp::traceback_hidden::hidden;
        // The frames first (a parked caller as its `Parked` record), so that the `skip`
        // innermost are left out before any snapshot is taken.
        let mut visible: Vec<(&Frame, Option<&Parked>)> = Vec::new();
        let mut parked = self.parked.active().iter().peekable();
        for (i, f) in self.frames.iter().enumerate() {
            while let Some(p) = parked.next_if(|p| p.at <= i) {
                if !hidden(&p.frame.get().code) {
                    visible.push((p.frame.get(), Some(p)));
                }
            }
            if !hidden(&f.code) {
                visible.push((f, None));
            }
        }
        // A built-in that reads its caller's frame (this one) may have parked that frame too.
        visible.extend(
            parked
                .filter(|p| !p.frame.is(cur) && !hidden(&p.frame.get().code))
                .map(|p| (p.frame.get(), Some(p))),
        );
        visible.push((cur, None));
        let keep = visible.len().checked_sub(skip).filter(|n| *n > 0)?;
        let snap = |(f, p): &(&Frame, Option<&Parked>)| match p {
            Some(p) => parked_snapshot(p).own(f),
            None => snapshot(f).own(f),
        };
        Some(visible[..keep].iter().map(snap).collect())
    }
}

fn parked_snapshot(p: &Parked) -> Snapshot {
    let f = p.frame.get();
    Snapshot {
        code: crate::builtins::eval::code_value(&f.code),
        line: f.code.line_at(f.ip.saturating_sub(1)),
        globals: Value::Dict(f.globals.clone()),
        locals: None,
        pending: None,
        lent: None,
        own: None,
    }
    .with_locals_of(f)
}

/// What a frame object shows of one running frame.
struct Snapshot {
    /// The frame's code object (shared with its function's `__code__`).
    code: Value,
    line: u32,
    globals: Value,
    locals: Option<Value>,
    /// A function frame's variables kept for `f_locals` instead of `locals` ([`pending_locals`]).
    pending: Option<Value>,
    /// A frame another thread lends: its position among the loans and its code's address.
    lent: Option<(usize, usize)>,
    /// A frame of this thread: where it lives ([`OWN`]), and the generator whose frame it is,
    /// if it was asked for as one (`gi_frame`).
    own: Option<((i64, i64), Value)>,
}

impl Snapshot {
    /// The snapshot of `f`, a frame of this thread, its frame object following `f` ([`OWN`]).
    fn own(mut self, f: &Frame) -> Snapshot {
        self.own = Some((frame_place(f), Value::None));
        self
    }

    /// The snapshot with the variables of `f`: pending for a function frame, else its dict.
    fn with_locals_of(mut self, f: &Frame) -> Snapshot {
        match pending_locals(f) {
            Some(p) => self.pending = Some(p),
            None => self.locals = Some(super::introspect::frame_locals(f)),
        }
        self
    }
}

fn snapshot(f: &Frame) -> Snapshot {
    Snapshot {
        code: crate::builtins::eval::code_value(&f.code),
        line: f.line(),
        globals: Value::Dict(f.globals.clone()),
        locals: None,
        pending: None,
        lent: None,
        own: None,
    }
    .with_locals_of(f)
}

/// The variables of a function frame as [`PENDING`] keeps them until `f_locals` is read: a
/// tuple of (position, value) pairs for the bound ones, the position in the code object's
/// `co_varnames + co_cellvars + co_freevars`, the values as they are now (as
/// `introspect::frame_locals` would put them in the dict). Most frame objects are only walked
/// (`logging` reads `f_code` and `f_lineno` up the stack), so making each one's dict was the
/// cost of `sys._getframe`. `None` for a frame `frame_locals` answers without copying.
fn pending_locals(f: &Frame) -> Option<Value> {
    if f.mapping.is_some() || f.namespace.is_some() || !super::introspect::is_function(f) {
        return None;
    }
    let code = &f.code.obj;
    let cell = |i: usize| f.cells.get(i).map(|c| c.get());
    let mut pairs = Vec::new();
    let mut put = |at: usize, value: Option<Value>| {
        if let Some(v) = value.filter(|v| !matches!(v, Value::Undefined)) {
            pairs.push(Value::Int(at as i64));
            pairs.push(v);
        }
    };
    for slot in 0..code.varnames.len() {
        let captured = code.cell2arg.iter().position(|a| *a == Some(slot as u32));
        put(
            slot,
            match captured {
                Some(c) => cell(c),
                None => f.locals.get(slot).cloned(),
            },
        );
    }
    let cells_at = code.varnames.len();
    for c in 0..code.cellvars.len() {
        if !matches!(code.cell2arg.get(c), Some(Some(_))) {
            put(cells_at + c, cell(c));
        }
    }
    let free_at = cells_at + code.cellvars.len();
    for j in 0..code.freevars.len() {
        put(free_at + j, cell(code.cellvars.len() + j));
    }
    Some(Value::tuple(pairs))
}

/// `f_locals` of a frame object whose variables [`pending_locals`] kept: their dict, made now
/// and kept as the frame's `f_locals` ([`KEPT_LOCALS`]); or the dict kept already. `None` if
/// the frame has neither.
fn made_locals(frame: &Value) -> Option<Value> {
    let Value::Instance(inst) = frame else {
        return None;
    };
    let pending = {
        let table = inst.dict.lock();
        match table.get(PENDING) {
            Some(p) => p.clone(),
            None => return table.get(KEPT_LOCALS).cloned(),
        }
    };
    let Value::Tuple(pairs) = pending else {
        return None;
    };
    let code = attr(frame, "f_code");
    let mut names: Vec<Value> = Vec::new();
    for key in ["co_varnames", "co_cellvars", "co_freevars"] {
        if let Value::Tuple(t) = attr(&code, key) {
            names.extend(t.items.iter().cloned());
        }
    }
    let d = Dict::new();
    for pair in pairs.items.chunks(2) {
        if let [Value::Int(at), v] = pair {
            let at = *at;
            if let Some(Value::Str(name)) = names.get(at as usize) {
                d.set_str(name.as_str(), v.clone());
            }
        }
    }
    let d = Value::Dict(Ref::new(d));
    let old = {
        let mut table = inst.dict.lock();
        let old = table.insert(Arc::from(KEPT_LOCALS), d.clone());
        (old, table.remove_unmirrored(PENDING))
    };
    drop(old);
    Some(d)
}

fn new_object(class: Ref<Class>, attrs: Vec<(&str, Value)>) -> Value {
    let inst = Instance::new(class);
    {
        let mut d = inst.dict.lock();
        for (k, v) in attrs {
            d.insert(std::sync::Arc::from(k), v);
        }
    }
    Value::Instance(Ref::new(inst))
}

/// `sys._getframe(depth=0)`: the frame `depth` calls above the caller.
pub fn getframe(interp: &mut Interp, frame: Option<&Frame>, args: Args<'_>) -> PyResult<Value> {
    let [depth] = Sig::pos("_getframe", Style::Positional, &["depth"], 0).bind::<1>(&args)?;
    let depth = depth.map(to_index).transpose()?.unwrap_or(0);
    let Some(cur) = frame else {
        raise!(
            RuntimeError,
            "minivm supports sys._getframe() only when called directly from Python code"
        );
    };
    // (A negative depth is taken as 0, as CPython does.)
    let skip = usize::try_from(depth).unwrap_or(0);
    let Some(stack) = interp.stack_snapshots(cur, skip) else {
        raise!(ValueError, "call stack is not deep enough");
    };
    Ok(frame_objects(stack))
}

/// `sys._getframe` as a plain native function (called indirectly, it has no frame to read).
pub fn getframe_native(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    getframe(interp, None, args)
}

/// The frame object of a traceback entry (`tb_frame`): where it ran, the entry's frame object
/// one level out (`back`) and the cell of its variables (`locals`, for `f_locals`), without
/// globals.
pub fn frame_object(
    filename: &str,
    name: &str,
    line: u32,
    back: Value,
    locals: Option<&Ref<crate::object::CellObj>>,
) -> Value {
    let code = new_object(
        crate::builtins::eval::code_class(),
        vec![
            ("co_filename", Value::str(filename)),
            ("co_name", Value::str(name)),
            ("co_firstlineno", Value::Int(0)),
        ],
    );
    let mut attrs = vec![
        ("f_code", code),
        ("f_lineno", Value::Int(line.into())),
        ("f_globals", Value::None),
        ("f_back", back),
    ];
    if let Some(cell) = locals {
        attrs.push((TRACED, Value::Cell(cell.clone())));
    }
    new_object(frame_class(), attrs)
}

/// The cell of variables of a traceback's frame object (`frame_object`), if it has one.
pub(crate) fn frame_locals_cell(frame: &Value) -> Option<Ref<crate::object::CellObj>> {
    match attr(frame, TRACED) {
        Value::Cell(c) => Some(c),
        _ => None,
    }
}

/// `gi_frame` (`cr_frame`, `ag_frame`) of a generator that has not finished: where it is
/// suspended (a new one: its `def` line, as CPython 3.11) and its variables then, with no
/// `f_back`. A generator asking for its own frame while it runs gets its innermost running
/// frame on this thread, else (the frame is out of reach) a frame object with only `f_code`
/// (reading the rest is a NotImplementedError).
pub fn generator_frame(interp: &Interp, g: &Ref<crate::object::Generator>) -> Value {
    let suspended = g.frame.lock().as_deref().map(|f| {
        let mut s = snapshot(f).own(f);
        if f.ip == 0 {
            s.line = f.code.obj.first_line;
        }
        s
    });
    let running = || running_snapshot(interp, &g.code);
    let mut s = suspended.or_else(running);
    if let Some((_, gen)) = s.as_mut().and_then(|s| s.own.as_mut()) {
        *gen = Value::Generator(g.clone());
    }
    // (Line 0 and no globals: `frame_objects` leaves those attributes out.)
    let s = s.unwrap_or_else(|| Snapshot {
        code: crate::builtins::eval::code_value(&g.code),
        line: 0,
        globals: Value::None,
        locals: None,
        pending: None,
        lent: None,
        own: None,
    });
    frame_objects(vec![s])
}

/// The innermost frame of this thread running `code`, among the frames of the dispatch loop and
/// the callers parked on a call (a coroutine that called `print(task)` waits there while the
/// task's repr asks where it runs). Not the frame running now (it is neither).
fn running_snapshot(interp: &Interp, code: &Ref<crate::interp::code::Code>) -> Option<Snapshot> {
    match running_loan(interp, code)? {
        StackLoan::A(f) => Some(snapshot(f).own(f)),
        StackLoan::B(p) => Some(parked_snapshot(p).own(p.frame.get())),
        StackLoan::C(_) => None,
    }
}

/// The innermost of this thread's frames and parked callers running `code` (see
/// [`running_snapshot`]).
fn running_loan<'a>(
    interp: &'a Interp,
    code: &Ref<crate::interp::code::Code>,
) -> Option<StackLoan<'a>> {
    lent_stack(&interp.frames, &interp.parked, None, None)
        .filter(|loan| match loan {
            StackLoan::A(f) => Ref::ptr_eq(&f.code, code),
            StackLoan::B(p) => Ref::ptr_eq(&p.frame.get().code, code),
            StackLoan::C(_) => false,
        })
        .last()
}

/// The line a running generator or coroutine of this thread is at, if minivm can see its
/// frame (read from the frame alone: no snapshot of its variables).
pub(crate) fn running_line(interp: &Interp, code: &Ref<crate::interp::code::Code>) -> Option<u32> {
    match running_loan(interp, code)? {
        StackLoan::A(f) => Some(f.line()),
        StackLoan::B(p) => {
            let f = p.frame.get();
            Some(f.code.line_at(f.ip.saturating_sub(1)))
        }
        StackLoan::C(_) => None,
    }
}

/// The frame objects for `frames` (outermost first): the innermost's, linked by `f_back`.
fn frame_objects(frames: Vec<Snapshot>) -> Value {
    frame_objects_of(frames, None)
}

/// [`frame_objects`] of the frames of another thread (`thread`: its `Interp::thread_id`), whose
/// lent frames read their `f_lineno` later from the frame itself.
fn frame_objects_of(frames: Vec<Snapshot>, thread: Option<u64>) -> Value {
    let mut back = Value::None;
    for s in frames {
        // A frame of this thread that has a frame object still alive, made with the same
        // frame object below it: that one, as CPython has one frame object per frame.
        let place = match (&s.own, thread) {
            (Some((place, _)), None) if s.line != 0 => Some(*place),
            _ => None,
        };
        if let Some(found) = place.and_then(|p| kept_frame_object(p, &back)) {
            back = found;
            continue;
        }
        let below = back.clone();
        let mut attrs = vec![("f_code", s.code), ("f_back", back)];
        match (s.lent, thread, s.own) {
            (Some((index, code)), Some(thread), _) if s.line != 0 => {
                let at = [thread as i64, index as i64, code as i64].map(Value::Int);
                attrs.push((LIVE, Value::tuple(at.to_vec())));
                attrs.push((LAST_LINE, Value::Int(s.line as i64)));
            }
            (_, _, Some(((at, code), gen))) if s.line != 0 => {
                attrs.push((OWN, Value::tuple(vec![Value::Int(at), Value::Int(code)])));
                attrs.push((LAST_LINE, Value::Int(s.line as i64)));
                if !gen.is_none() {
                    attrs.push((GEN, gen));
                }
            }
            _ if s.line != 0 => attrs.push(("f_lineno", Value::Int(s.line as i64))),
            _ => {}
        }
        if !s.globals.is_none() {
            attrs.push(("f_globals", s.globals));
        }
        if let Some(locals) = s.locals {
            attrs.push(("f_locals", locals));
        }
        if let Some(pending) = s.pending {
            attrs.push((PENDING, pending));
        }
        back = shaped_frame_object(attrs);
        if let Some(place) = place {
            keep_frame_object(place, &below, &back);
        }
    }
    back
}

/// A frame object this thread made and a program still holds: where its frame lives
/// ([`OWN`]), the address of its `f_back` (0 for None) and the object itself, weakly (a frame
/// object nobody holds is freed as before, with the variables it shows).
type KeptFrame = ((i64, i64), usize, crate::heap::weak::Weak<Instance>);

thread_local! {
    static KEPT_FRAMES: std::cell::RefCell<Vec<KeptFrame>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The frame object kept for the frame at `place` whose `f_back` is `back`, if it is alive.
/// (A frame that returned, its box then reused by a new call of the same code from the same
/// caller, cannot be told apart from it: that call gets the same object, where CPython makes
/// a new one.)
fn kept_frame_object(place: (i64, i64), back: &Value) -> Option<Value> {
    let below = if back.is_none() { 0 } else { back.id() };
    KEPT_FRAMES.with(|kept| {
        let kept = kept.borrow();
        let (_, at, weak) = kept.iter().find(|(p, _, _)| *p == place)?;
        if *at != below {
            return None;
        }
        weak.upgrade().map(Value::Instance)
    })
}

/// Remember `made`, the frame object of the frame at `place` with `back` below it (in place of
/// an older one there), and forget the frame objects that were freed.
fn keep_frame_object(place: (i64, i64), back: &Value, made: &Value) {
    let Value::Instance(inst) = made else {
        return;
    };
    let Some(weak) = Ref::downgrade(inst) else {
        return;
    };
    let below = if back.is_none() { 0 } else { back.id() };
    KEPT_FRAMES.with(|kept| {
        let mut kept = kept.borrow_mut();
        kept.retain(|(p, _, w)| *p != place && !w.is_dead());
        kept.push((place, below, weak));
    });
}

/// The most attribute-name lists [`FRAME_SHAPES`] keeps (frame objects have a handful: a
/// function's, a module's, another thread's, a generator's).
const MAX_FRAME_SHAPES: usize = 8;

thread_local! {
    /// Attribute tables with the names of the frame objects this thread made (in the order
    /// given) and `None` values: a new frame object with the same names takes the table's
    /// layout in one step (`InstDict::with_names_of`) instead of adding its names one by one
    /// (about 1,000 machine instructions a frame object, a fifth of `sys._getframe`'s cost
    /// per frame in `logging`'s `findCaller`).
    static FRAME_SHAPES: std::cell::RefCell<Vec<(Vec<&'static str>, crate::object::InstDict)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// A frame object with `attrs`, its attribute table made in one step from a table of the same
/// names ([`FRAME_SHAPES`]).
fn shaped_frame_object(attrs: Vec<(&'static str, Value)>) -> Value {
    let made = FRAME_SHAPES.with(|shapes| {
        let mut shapes = shapes.borrow_mut();
        let same = |names: &Vec<&'static str>| names.iter().copied().eq(attrs.iter().map(|a| a.0));
        let at = match shapes.iter().position(|(names, _)| same(names)) {
            Some(at) => at,
            None => {
                let mut table = crate::object::InstDict::default();
                for (k, _) in &attrs {
                    drop(table.insert(Arc::from(*k), Value::None));
                }
                if shapes.len() >= MAX_FRAME_SHAPES {
                    shapes.remove(0);
                }
                shapes.push((attrs.iter().map(|a| a.0).collect(), table));
                shapes.len() - 1
            }
        };
        let (names, like) = &shapes[at];
        let values: Vec<Value> = attrs.into_iter().map(|(_, v)| v).collect();
        crate::object::InstDict::with_names_of(like, values)
            .map_err(|values| names.iter().copied().zip(values).collect::<Vec<_>>())
    });
    let table = match made {
        Ok(table) => table,
        // The template keeps its own names (the process ran out of layouts): name by name.
        Err(attrs) => {
            let mut table = crate::object::InstDict::default();
            for (k, v) in attrs {
                drop(table.insert(Arc::from(k), v));
            }
            table
        }
    };
    Value::Instance(Ref::new(Instance::with_dict(frame_class(), table)))
}
