//! Stage 4 (VM), standard library.
//! `_itertools`: the combinatoric iterators of `itertools` (`permutations`, `combinations`,
//! `combinations_with_replacement`, `product`) written in Rust, as CPython's are in C.
//!
//! Each is a native iterator (`IterState::Combinatoric`): the items are read into a pool when it
//! is made (so errors come at the call, as CPython's), then every `next()` steps an array of
//! indices into the pool and builds one tuple, with no Python code run. Written as generators in
//! `vm/lib/itertools.mini` they cost about 14 times CPython's machine instructions (each tuple
//! built by a generator expression over a slice of the index list). The index steps follow
//! the algorithms in the `itertools` documentation, so the order is CPython's.

use crate::builtins::args::Sig;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{ExcKind, IterObj, IterState, Module};
use crate::value::Value;
use crate::{err, PyResult};

/// Which of the four iterators a [`Combinatoric`] is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Permutations,
    Combinations,
    WithReplacement,
    Product,
}

/// The state of a combinatoric iterator between two `next()` calls.
pub struct Combinatoric {
    kind: Kind,
    /// The items. For `product`, every input's items one after the other (`ranges` says where).
    pool: Vec<Value>,
    /// `product` only: for each position of the result, its input's (start, length) in `pool`.
    ranges: Vec<(usize, usize)>,
    /// Positions in the pool (for `product`, in the position's input) of the next result's items;
    /// for `permutations`, all `n` positions, the first `r` the result's.
    indices: Vec<usize>,
    /// `permutations` only: the countdowns of the documented algorithm.
    cycles: Vec<usize>,
    /// The length of each result.
    r: usize,
    /// No result has been produced yet.
    first: bool,
    /// Where each result's items are gathered before they move into its tuple; kept between
    /// results (empty), so making a tuple allocates only the tuple.
    scratch: Vec<Value>,
}

impl Combinatoric {
    /// The values the iterator holds (for the cycle collector).
    pub fn values(&self) -> &[Value] {
        &self.pool
    }

    /// The tuple the indices name. Its items are gathered in `scratch`, whose buffer stays
    /// for the next result, and moved from there into the tuple's block: a `Vec` of them made
    /// and freed per tuple was a malloc/free pair each (about 100 machine instructions).
    fn current(&mut self) -> Value {
        let mut items = std::mem::take(&mut self.scratch);
        match self.kind {
            Kind::Product => items.extend(
                self.ranges
                    .iter()
                    .zip(&self.indices)
                    .map(|(&(start, _), &i)| self.pool[start + i].clone()),
            ),
            _ => items.extend(self.indices[..self.r].iter().map(|&i| self.pool[i].clone())),
        }
        let n = items.len();
        let t = Value::tuple_from_tail(&mut items, n).unwrap_or_else(Value::empty_tuple);
        self.scratch = items;
        t
    }

    /// The next result, or `None` once every one was produced (and from then on).
    pub fn next_tuple(&mut self) -> Option<Value> {
        if self.first {
            self.first = false;
            return Some(self.current());
        }
        let advanced = match self.kind {
            Kind::Permutations => self.step_permutations(),
            Kind::Combinations => self.step_combinations(),
            Kind::WithReplacement => self.step_with_replacement(),
            Kind::Product => self.step_product(),
        };
        if advanced {
            Some(self.current())
        } else {
            // Once done, stay done (and free the pool early).
            *self = empty();
            None
        }
    }

    fn step_permutations(&mut self) -> bool {
        let n = self.indices.len();
        if n == 0 {
            return false;
        }
        for i in (0..self.r).rev() {
            self.cycles[i] -= 1;
            if self.cycles[i] == 0 {
                // Move indices[i] to the end, shifting the rest left by one.
                self.indices[i..].rotate_left(1);
                self.cycles[i] = n - i;
            } else {
                let j = self.cycles[i];
                self.indices.swap(i, n - j);
                return true;
            }
        }
        false
    }

    fn step_combinations(&mut self) -> bool {
        let (n, r) = (self.pool.len(), self.r);
        // The rightmost index not at its highest value (i + n - r).
        let Some(i) = (0..r).rev().find(|&i| self.indices[i] != i + n - r) else {
            return false;
        };
        self.indices[i] += 1;
        for j in i + 1..r {
            self.indices[j] = self.indices[j - 1] + 1;
        }
        true
    }

    fn step_with_replacement(&mut self) -> bool {
        let n = self.pool.len();
        let Some(i) = (0..self.r).rev().find(|&i| self.indices[i] != n - 1) else {
            return false;
        };
        let v = self.indices[i] + 1;
        for x in &mut self.indices[i..] {
            *x = v;
        }
        true
    }

    fn step_product(&mut self) -> bool {
        // An odometer: the rightmost position advances fastest.
        for k in (0..self.indices.len()).rev() {
            self.indices[k] += 1;
            if self.indices[k] < self.ranges[k].1 {
                return true;
            }
            self.indices[k] = 0;
        }
        false
    }
}

/// The four iterator types, by class name: calling the class (`crate::object::iterator_class`,
/// module `itertools`) runs its maker.
pub const ITERATOR_TYPES: crate::builtins::Methods = &[
    ("permutations", permutations),
    ("combinations", combinations),
    (
        "combinations_with_replacement",
        combinations_with_replacement,
    ),
    ("product", product),
];

/// The `_itertools` module: the four classes (`type(p)`, `isinstance(p, permutations)`).
pub fn module() -> Ref<Module> {
    let classes = ITERATOR_TYPES
        .iter()
        .map(|(name, _)| {
            let class = crate::object::iterator_class(&format!("itertools.{name}"));
            (*name, Value::Class(class))
        })
        .collect();
    super::module_from_fns("_itertools", &[], classes)
}

/// A made iterator; `kind` is CPython's `tp_name` (`itertools.permutations`).
fn new_iter(kind: &'static str, state: Combinatoric) -> Value {
    Value::Iter(Ref::new(IterObj::new(
        kind,
        IterState::Combinatoric(Box::new(state)),
    )))
}

/// CPython allocates `r` indices before looking at the pool: a count no allocation can hold is
/// its `MemoryError` (`PyMem_New`'s overflow test), whatever the pool.
fn check_alloc(r: usize) -> PyResult<()> {
    if r > isize::MAX as usize / std::mem::size_of::<isize>() {
        return Err(crate::error::PyErr::with_args(
            ExcKind::MemoryError,
            Vec::new(),
        ));
    }
    Ok(())
}

/// A made iterator that produces nothing (an `r` larger than the pool): a `product` of no
/// positions that has already produced its one empty tuple.
fn empty() -> Combinatoric {
    Combinatoric {
        kind: Kind::Product,
        pool: Vec::new(),
        ranges: Vec::new(),
        indices: Vec::new(),
        cycles: Vec::new(),
        r: 0,
        first: false,
        scratch: Vec::new(),
    }
}

/// `permutations(iterable, r=None)`.
fn permutations(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [iterable, r] = Sig::kw("permutations", &["iterable", "r"], 1).bind::<2>(&args)?;
    let pool = interp.collect_iter(iterable.unwrap_or(&Value::None))?;
    let n = pool.len();
    let r = match r {
        None | Some(Value::None) => n as i64,
        Some(v) => crate::builtins::args::to_index(v).map_err(|e| {
            if e.is(ExcKind::TypeError) {
                err!(TypeError, "Expected int as r")
            } else {
                e
            }
        })?,
    };
    let Ok(r) = usize::try_from(r) else {
        return Err(err!(ValueError, "r must be non-negative"));
    };
    check_alloc(r)?;
    if r > n {
        return Ok(new_iter("itertools.permutations", empty()));
    }
    let state = Combinatoric {
        kind: Kind::Permutations,
        pool,
        ranges: Vec::new(),
        indices: (0..n).collect(),
        cycles: (n - r + 1..=n).rev().collect(),
        r,
        first: true,
        scratch: Vec::new(),
    };
    Ok(new_iter("itertools.permutations", state))
}

/// The shared part of `combinations(iterable, r)` and `combinations_with_replacement`.
fn combinations_of(interp: &mut Interp, args: Args<'_>, name: &str, kind: Kind) -> PyResult<Value> {
    // Bound as if `r` were optional: CPython says "takes at most 2 arguments" here.
    let [iterable, r] = Sig::kw(name, &["iterable", "r"], 1).bind::<2>(&args)?;
    let Some(r) = r else {
        return Err(err!(
            TypeError,
            "{name}() missing required argument 'r' (pos 2)"
        ));
    };
    // Argument Clinic converts `r` before the body reads the iterable.
    let r = interp.index_arg(r)?;
    let pool = interp.collect_iter(iterable.unwrap_or(&Value::None))?;
    let Ok(r) = usize::try_from(r) else {
        return Err(err!(ValueError, "r must be non-negative"));
    };
    check_alloc(r)?;
    let n = pool.len();
    let kind_name = if kind == Kind::Combinations {
        "itertools.combinations"
    } else {
        "itertools.combinations_with_replacement"
    };
    let none = match kind {
        Kind::Combinations => r > n,
        _ => n == 0 && r > 0,
    };
    if none {
        return Ok(new_iter(kind_name, empty()));
    }
    let indices = match kind {
        Kind::Combinations => (0..r).collect(),
        _ => vec![0; r],
    };
    let state = Combinatoric {
        kind,
        pool,
        ranges: Vec::new(),
        indices,
        cycles: Vec::new(),
        r,
        first: true,
        scratch: Vec::new(),
    };
    Ok(new_iter(kind_name, state))
}

fn combinations(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    combinations_of(interp, args, "combinations", Kind::Combinations)
}

fn combinations_with_replacement(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    combinations_of(
        interp,
        args,
        "combinations_with_replacement",
        Kind::WithReplacement,
    )
}

/// `product(*iterables, repeat=1)`.
fn product(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let mut repeat = 1i64;
    for (k, v) in args.kw {
        if &**k != "repeat" {
            return Err(err!(
                TypeError,
                "'{k}' is an invalid keyword argument for product()"
            ));
        }
        repeat = interp.index_arg(v)?;
    }
    let Ok(repeat) = usize::try_from(repeat) else {
        return Err(err!(ValueError, "repeat argument cannot be negative"));
    };
    let nargs = args.pos.len();
    let Some(npools) = nargs
        .checked_mul(repeat)
        .filter(|&p| p <= isize::MAX as usize)
    else {
        return Err(err!(OverflowError, "repeat argument too large"));
    };
    check_alloc(npools)?;
    let mut pool = Vec::new();
    let mut inputs = Vec::with_capacity(nargs);
    for a in args.pos {
        let items = interp.collect_iter(a)?;
        inputs.push((pool.len(), items.len()));
        pool.extend(items);
    }
    let mut ranges = Vec::with_capacity(npools);
    for _ in 0..repeat {
        ranges.extend_from_slice(&inputs);
    }
    if ranges.iter().any(|&(_, len)| len == 0) {
        return Ok(new_iter("itertools.product", empty()));
    }
    let state = Combinatoric {
        kind: Kind::Product,
        pool,
        indices: vec![0; ranges.len()],
        r: ranges.len(),
        ranges,
        cycles: Vec::new(),
        first: true,
        scratch: Vec::new(),
    };
    Ok(new_iter("itertools.product", state))
}
