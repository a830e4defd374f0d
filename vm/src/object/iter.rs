//! Stage 4 (VM), heap objects.
//! Ranges, slices, iterators and generators: the objects a `for` loop walks.

use std::sync::Arc;

use crate::heap::{ObjCell, Ref};
use crate::num::BigInt;

use crate::interp::frame::Frame;
use crate::object::{List, PyStr, SetObj, Tuple};
use crate::value::Value;

/// `range(start, stop, step)`; `step` is never 0. The bounds are `i64` fields, what every `for`
/// loop reads; a range with a bound beyond 64 bits (CPython's take any int) keeps its bounds in
/// `big` instead, and then the three fields hold `0, 0, 1` and must not be read: every
/// operation on a range asks [`Range::big`] first.
pub struct Range {
    pub start: i64,
    pub stop: i64,
    pub step: i64,
    pub big: Option<Box<BigRange>>,
}

/// The bounds of a range beyond 64 bits, and its length (computed once, as CPython's).
pub struct BigRange {
    pub start: BigInt,
    pub stop: BigInt,
    pub step: BigInt,
    pub len: BigInt,
}

impl BigRange {
    /// The i-th member, for `0 <= i < len`.
    pub fn at(&self, i: &BigInt) -> BigInt {
        &self.start + i * &self.step
    }

    /// The index of `x` among the members, if it is one.
    pub fn position(&self, x: &BigInt) -> Option<BigInt> {
        use num_integer::Integer;
        let (k, rem) = (x - &self.start).div_rem(&self.step);
        (rem.is_zero() && !k.is_negative() && k < self.len).then_some(k)
    }
}

use num_traits::{Signed, Zero};

impl Range {
    /// A range of `i64` bounds.
    pub fn small(start: i64, stop: i64, step: i64) -> Range {
        Range {
            start,
            stop,
            step,
            big: None,
        }
    }

    /// A range of any int bounds (`step` not zero): `i64` fields when all three fit.
    pub fn from_big(start: BigInt, stop: BigInt, step: BigInt) -> Range {
        if let (Ok(a), Ok(b), Ok(c)) = (
            i64::try_from(&start),
            i64::try_from(&stop),
            i64::try_from(&step),
        ) {
            return Range::small(a, b, c);
        }
        let (lo, hi, by) = if step.is_positive() {
            (&start, &stop, step.clone())
        } else {
            (&stop, &start, -&step)
        };
        let len = if lo >= hi {
            BigInt::zero()
        } else {
            (hi - lo - 1u8) / by + 1u8
        };
        Range {
            start: 0,
            stop: 0,
            step: 1,
            big: Some(Box::new(BigRange {
                start,
                stop,
                step,
                len,
            })),
        }
    }

    /// The bounds beyond 64 bits, if this range has them.
    #[inline]
    pub fn big(&self) -> Option<&BigRange> {
        self.big.as_deref()
    }

    /// `(start, stop, step, len)` as big ints, whichever kind of range this is.
    pub fn bounds_big(&self) -> (BigInt, BigInt, BigInt, BigInt) {
        match self.big() {
            Some(b) => (
                b.start.clone(),
                b.stop.clone(),
                b.step.clone(),
                b.len.clone(),
            ),
            None => (
                self.start.into(),
                self.stop.into(),
                self.step.into(),
                self.len().into(),
            ),
        }
    }

    /// `==` of two ranges: the same members (CPython compares length, first member, and step
    /// when there are two or more).
    pub fn same_members(&self, other: &Range) -> bool {
        if self.big.is_none() && other.big.is_none() {
            let (lx, ly) = (self.len(), other.len());
            return lx == ly
                && (lx == 0
                    || (self.start == other.start && (lx == 1 || self.step == other.step)));
        }
        use num_traits::One;
        let (xs, _, xstep, lx) = self.bounds_big();
        let (ys, _, ystep, ly) = other.bounds_big();
        lx == ly && (lx.is_zero() || (xs == ys && (lx.is_one() || xstep == ystep)))
    }

    /// The number of members, as a big int for any range (`len_small` is the fast one).
    pub fn len_big(&self) -> BigInt {
        match self.big() {
            Some(b) => b.len.clone(),
            None => self.len().into(),
        }
    }

    /// The number of members of a range of `i64` bounds (not one with [`Range::big`]). It needs
    /// more than 64 bits: `range(-2**63, 2**63-1)` has 2**64 - 1.
    pub fn len(&self) -> i128 {
        let (lo, hi, step) = if self.step > 0 {
            (self.start as i128, self.stop as i128, self.step as i128)
        } else {
            (self.stop as i128, self.start as i128, -(self.step as i128))
        };
        if lo >= hi {
            0
        } else {
            (hi - lo - 1) / step + 1
        }
    }

    pub fn is_empty(&self) -> bool {
        match self.big() {
            Some(b) => b.len.is_zero(),
            None => self.len() == 0,
        }
    }

    /// The i-th member, for `0 <= i < len` (a member always fits in i64).
    pub fn at(&self, i: i128) -> i64 {
        (self.start as i128 + i * self.step as i128) as i64
    }

    /// The index of `x` among the members, if it is one.
    pub fn position(&self, x: i64) -> Option<i128> {
        let off = x as i128 - self.start as i128;
        let step = self.step as i128;
        if off % step != 0 {
            return None;
        }
        let k = off / step;
        (k >= 0 && k < self.len()).then_some(k)
    }
}

/// The iterator of a range. `next` is atomic so threads sharing one (with the GIL off) stay memory
/// safe, and each value goes to one thread only, as under CPython's GIL (`next_value`).
pub struct RangeIter {
    pub next: std::sync::atomic::AtomicI64,
    pub stop: i64,
    pub step: i64,
}

impl RangeIter {
    /// The next value, and the iterator moved past it. With the GIL a load and a store (only
    /// the GIL holder runs this); free-threaded, threads sharing one iterator (`it =
    /// iter(range(n))`, `next(it)` in each) race, so the step is a compare-and-swap: each
    /// value goes to exactly one thread, as under CPython's GIL.
    #[inline]
    pub fn next_value(&self) -> Option<i64> {
        use std::sync::atomic::Ordering::Relaxed;
        let mut cur = self.next.load(Relaxed);
        loop {
            if !((self.step > 0 && cur < self.stop) || (self.step < 0 && cur > self.stop)) {
                return None;
            }
            let after = cur.checked_add(self.step).unwrap_or(self.stop);
            if crate::heap::model() == crate::heap::Model::Gil {
                self.next.store(after, Relaxed);
                return Some(cur);
            }
            match self
                .next
                .compare_exchange_weak(cur, after, Relaxed, Relaxed)
            {
                Ok(_) => return Some(cur),
                Err(now) => cur = now,
            }
        }
    }
}

/// `slice(start, stop, step)` as built by `a[x:y:z]`.
pub struct Slice {
    pub start: Value,
    pub stop: Value,
    pub step: Value,
}

/// The state of a native iterator. Iterators that call Python code (`map`, `filter`) keep only
/// their inputs here; the interpreter runs the calls without holding the lock.
pub enum IterState {
    List {
        list: Ref<List>,
        index: usize,
    },
    Tuple {
        tuple: Ref<Tuple>,
        index: usize,
    },
    Str {
        s: Ref<PyStr>,
        byte: usize,
    },
    /// A snapshot of items (bytes, a set's walk made whole); `set` lets us detect size changes.
    Items {
        items: Vec<Value>,
        index: usize,
        set: Option<(Ref<SetObj>, usize)>,
    },
    /// A set's iterator, walking its live table as CPython's does: `pos` is the next slot to
    /// read, `used` the set's size when the walk began (a different size now is the
    /// "Set changed size during iteration" error), `left` the members still to come.
    SetWalk {
        set: Ref<SetObj>,
        pos: usize,
        used: usize,
        left: usize,
    },
    /// A dict's iterator walking the live dict (`interp/dictwalk.rs`).
    DictWalk(Box<crate::interp::dictwalk::DictWalk>),
    /// A snapshot of a container with a mutation counter (a deque): `next` raises
    /// `RuntimeError(error)` once the counter has moved from `start`.
    Guarded {
        items: Vec<Value>,
        index: usize,
        state: Arc<std::sync::atomic::AtomicU64>,
        start: u64,
        error: &'static str,
    },
    Enumerate {
        inner: Value,
        /// The next index; i128 so that passing `i64::MAX` is seen (minivm raises then).
        count: i128,
        /// The last `(index, item)` tuple made, kept to be refilled in place by the next step
        /// when nothing else holds it any more (count 1), as CPython's `enum_next` reuses its
        /// result tuple: `for i, x in enumerate(xs)` unpacks and drops each tuple, so the loop
        /// makes one tuple, not one a step (an allocation of the header and one of the items,
        /// and their frees).
        spare: Option<Ref<crate::object::Tuple>>,
    },
    /// `reversed(range(...))`: counted down, since `start - step` (the natural stop) may not fit
    /// in i64.
    RangeCountdown {
        next: i64,
        step: i64,
        left: u64,
    },
    /// Iterating a range beyond 64 bits (`longrange_iterator`), either way: `left` members
    /// remain, the next one is `next`, then each is `step` further.
    LongRange {
        next: BigInt,
        step: BigInt,
        left: BigInt,
    },
    /// The inner iterators are shared (`Arc`): a step clones the handle, not the list, to step
    /// them with the state's lock released.
    Zip {
        inners: Arc<[Value]>,
        strict: bool,
        /// The last tuple made, refilled in place when nothing else holds it, as CPython's
        /// `zip_next` does (see `Enumerate`'s `spare`).
        spare: Option<Ref<crate::object::Tuple>>,
    },
    Map {
        func: Value,
        inners: Arc<[Value]>,
    },
    Filter {
        func: Value,
        inner: Value,
    },
    /// `reversed(seq)`: the items in their original order; `next` pops from the end.
    Reversed {
        items: Vec<Value>,
    },
    /// `iter(func, sentinel)`: calls `func()` until it returns something equal to `sentinel`.
    Callable {
        func: Value,
        sentinel: Value,
    },
    /// Old-style iteration through `__getitem__` with 0, 1, 2, ...
    SeqIter {
        obj: Value,
        index: i64,
    },
    /// `reversed(x)` of a list or of an object with `__len__` and `__getitem__`: `x[index]` read
    /// when it is asked for, index counting down to -1, as CPython's list reverse iterator and
    /// `reversed` object do (a list changed meanwhile is seen as it is then; stops when out
    /// of range).
    RevSeq {
        obj: Value,
        index: i64,
    },
    /// `itertools.permutations`, `combinations`, `combinations_with_replacement` and `product`,
    /// stepped in Rust (`stdlib/itertools.rs`).
    Combinatoric(Box<crate::stdlib::itertools::Combinatoric>),
    Exhausted,
    /// A finished list iterator kept by its thread's interpreter (`Interp::spare_list_iter`)
    /// to be the next `iter(list)`, so that a `for` over a list does not allocate, list with
    /// the collector, unlist and free an iterator each time. Nothing in the program holds it
    /// (`gc.get_objects()` leaves it out); it acts as `Exhausted`.
    Spare,
}

pub struct IterObj {
    pub state: ObjCell<IterState>,
    /// Free-threaded: makes a step of a composite iterator (zip, map, enumerate...) one step
    /// for every thread (`gil.rs`).
    pub step: crate::gil::StepLock,
    /// The state advances other iterators ([`IterState::advances_others`]), decided when made
    /// (a state never becomes one later), so that `next` need not lock the state to ask.
    pub composite: bool,
    /// `list_iterator`, `range_iterator`, `enumerate`, ... for `type()` and reprs.
    pub kind: &'static str,
}

impl IterState {
    /// Whether a step advances other iterators or calls Python code (`zip`, `map`,
    /// `enumerate`, `filter`, `iter(f, sentinel)`, `__getitem__` iteration): the steps that
    /// free-threaded mode makes one with [`IterObj::step`].
    pub fn advances_others(&self) -> bool {
        matches!(
            self,
            IterState::Enumerate { .. }
                | IterState::Zip { .. }
                | IterState::Map { .. }
                | IterState::Filter { .. }
                | IterState::Callable { .. }
                | IterState::SeqIter { .. }
                | IterState::RevSeq { .. }
        )
    }
}

impl IterObj {
    pub fn new(kind: &'static str, state: IterState) -> IterObj {
        IterObj {
            composite: state.advances_others(),
            state: ObjCell::new(state),
            step: crate::gil::StepLock::new(),
            kind,
        }
    }
}

pub enum GenStatus {
    Created,
    Suspended,
    Running,
    Done,
}

/// Which of the three suspended-frame objects a [`Generator`] is (they share the machinery).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenKind {
    /// A function with `yield`: an iterator.
    Generator,
    /// An `async def` without `yield`: awaitable, not iterable (see `interp/coro.rs`).
    Coroutine,
    /// An `async def` with `yield`: an async iterator (see `interp/coro.rs`).
    AsyncGenerator,
}

impl GenKind {
    /// The type name: `generator`, `coroutine`, `async_generator`.
    pub fn type_name(self) -> &'static str {
        match self {
            GenKind::Generator => "generator",
            GenKind::Coroutine => "coroutine",
            GenKind::AsyncGenerator => "async_generator",
        }
    }

    /// As CPython's messages name it: `generator`, `coroutine`, `async generator`.
    pub fn describe(self) -> &'static str {
        match self {
            GenKind::AsyncGenerator => "async generator",
            other => other.type_name(),
        }
    }
}

/// A generator: a suspended frame. `next()` resumes it until the next `yield` or its return.
/// Coroutines and async generators are the same object with another `kind`.
/// A coroutine dropped before it ever ran is reported ("was never awaited", `interp/coro.rs`);
/// one dropped while suspended is closed at the next safe point (`interp/finalize.rs`).
pub struct Generator {
    pub frame: ObjCell<Option<Box<Frame>>>,
    pub status: ObjCell<GenStatus>,
    /// The code it runs (kept when the frame is gone: `gi_code`, `__name__`, `__qualname__`).
    pub code: crate::heap::Ref<crate::interp::code::Code>,
    pub kind: GenKind,
    /// `__name__` and `__qualname__` once a program assigned them (`gen.__name__ = 'x'`);
    /// until then the code's.
    pub renamed: ObjCell<Option<Box<GenNames>>>,
}

/// A generator's assigned `__name__` and `__qualname__`.
pub type GenNames = (Arc<str>, Arc<str>);

impl Generator {
    /// The name of the function that made it (`__name__`), unless one was assigned.
    pub fn name(&self) -> Arc<str> {
        match &*self.renamed.lock() {
            Some(names) => names.0.clone(),
            None => self.code.name.clone(),
        }
    }

    /// Its qualified name (`__qualname__`, and in its repr), unless one was assigned.
    pub fn qualname(&self) -> Arc<str> {
        match &*self.renamed.lock() {
            Some(names) => names.1.clone(),
            None => self.code.qualname.clone(),
        }
    }

    /// `gen.__name__ = name` (`qualified`: `__qualname__`).
    pub fn rename(&self, qualified: bool, name: Arc<str>) {
        let mut names = self.renamed.lock();
        let (mut n, mut q) = match names.take() {
            Some(b) => *b,
            None => (self.code.name.clone(), self.code.qualname.clone()),
        };
        if qualified {
            q = name;
        } else {
            n = name;
        }
        *names = Some(Box::new((n, q)));
    }
}

impl Drop for Generator {
    fn drop(&mut self) {
        if self.kind == GenKind::Coroutine && matches!(self.status.get_mut(), GenStatus::Created) {
            crate::interp::coro::never_awaited(self.qualname());
        }
        if matches!(self.status.get_mut(), GenStatus::Suspended) {
            if let Some(frame) = self.frame.get_mut().take() {
                crate::interp::finalize::orphaned(frame, self.kind);
            }
        }
    }
}
