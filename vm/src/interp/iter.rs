//! Stage 4 (VM), the interpreter.
//! Iteration: `iter()`, `next()`, unpacking, and collecting an iterable into a vector.

use crate::heap::Ref;
use crate::interp::frame::Frame;
use crate::interp::Interp;
use crate::object::{type_name, ExcKind, IterObj, IterState, Tuple};
use crate::value::Value;
use crate::{err, PyResult};

impl Interp {
    /// `iter(v)`. A list's iterator is the thread's spare one when there is one (see
    /// `list_iter_done`), refilled here: a small function, apart from the general one, so that
    /// this path does not pay for the large one's set-up.
    #[inline(never)]
    pub fn get_iter(&mut self, v: &Value) -> PyResult<Value> {
        if let Value::List(l) = v {
            // Still held elsewhere (by the `.0` of a finished generator expression that is
            // not freed yet), it is let go instead, so that a later loop can keep another.
            if let Some(it) = self.spare_list_iter.take().filter(|it| Ref::count(it) == 1) {
                let old = std::mem::replace(
                    &mut *it.state.lock(),
                    IterState::List {
                        list: l.clone(),
                        index: 0,
                    },
                );
                // A spare's state holds nothing: forgotten, not passed to the drop glue (a
                // call of 25 instructions).
                if matches!(old, IterState::Spare) {
                    std::mem::forget(old);
                } else {
                    drop(old);
                }
                return Ok(Value::Iter(it));
            }
        }
        self.get_iter_general(v)
    }

    #[inline(never)]
    fn get_iter_general(&mut self, v: &Value) -> PyResult<Value> {
        let (kind, state) = match v {
            Value::List(l) => (
                "list_iterator",
                IterState::List {
                    list: l.clone(),
                    index: 0,
                },
            ),
            Value::Tuple(t) => (
                "tuple_iterator",
                IterState::Tuple {
                    tuple: t.clone(),
                    index: 0,
                },
            ),
            Value::Str(s) => (
                // CPython 3.11 has a faster iterator type for ASCII-only strings.
                if s.as_str().is_ascii() {
                    "str_ascii_iterator"
                } else {
                    "str_iterator"
                },
                IterState::Str {
                    s: s.clone(),
                    byte: 0,
                },
            ),
            Value::Bytes(_) | Value::ByteArray(_) => {
                let data = crate::object::bytes_like(v).unwrap_or_default();
                let kind = if matches!(v, Value::Bytes(_)) {
                    "bytes_iterator"
                } else {
                    "bytearray_iterator"
                };
                (
                    kind,
                    IterState::Items {
                        items: data.iter().map(|&c| Value::Int(c as i64)).collect(),
                        index: 0,
                        set: None,
                    },
                )
            }
            Value::Range(r) if r.big().is_some() => return Ok(long_range_iter(r, false)),
            Value::Range(r) => {
                return Ok(Value::RangeIter(Ref::new(crate::object::RangeIter {
                    next: std::sync::atomic::AtomicI64::new(r.start),
                    stop: r.stop,
                    step: r.step,
                })))
            }
            Value::Dict(d) => {
                return Ok(crate::interp::dictwalk::dict_iter(
                    d,
                    crate::interp::dictwalk::WalkKind::Keys,
                    false,
                ))
            }
            Value::Set(s) => {
                let n = s.items.lock().len();
                (
                    "set_iterator",
                    IterState::SetWalk {
                        set: s.clone(),
                        pos: 0,
                        used: n,
                        left: n,
                    },
                )
            }
            Value::Iter(_) | Value::RangeIter(_) => return Ok(v.clone()),
            Value::Generator(g) if g.kind == crate::object::GenKind::Generator => {
                return Ok(v.clone())
            }
            // A dict view (`for k, v in d.items()`): its walk made here, without looking up
            // and calling the view's `__iter__` (the view types cannot be subclassed, nor an
            // instance's class changed, so the payload says the class).
            Value::Instance(i) if matches!(i.payload, crate::object::Payload::DictView(..)) => {
                if let crate::object::Payload::DictView(d, kind) = &i.payload {
                    return Ok(crate::interp::views::view_walk(d, *kind, false));
                }
                return Err(not_iterable(v));
            }
            Value::Instance(_) | Value::Class(_) => {
                if let Some(m) = self.lookup_special(v, "__iter__") {
                    // `__iter__ = None` declares the class not iterable.
                    if m.is_none() {
                        return Err(not_iterable(v));
                    }
                    let it = self.call(&m, std::slice::from_ref(v))?;
                    let is_iterator = match &it {
                        Value::Iter(_) | Value::RangeIter(_) | Value::Generator(_) => true,
                        Value::Instance(_) => self.lookup_special(&it, "__next__").is_some(),
                        _ => false,
                    };
                    if !is_iterator {
                        return Err(err!(
                            TypeError,
                            "iter() returned non-iterator of type '{}'",
                            type_name(&it)
                        ));
                    }
                    return Ok(it);
                }
                if let Some(base) = crate::object::builtin_base(v) {
                    return self.get_iter(base);
                }
                if self.lookup_special(v, "__getitem__").is_some() {
                    (
                        "iterator",
                        IterState::SeqIter {
                            obj: v.clone(),
                            index: 0,
                        },
                    )
                } else {
                    return Err(not_iterable(v));
                }
            }
            _ => return Err(not_iterable(v)),
        };
        // Made in place: `Ref::new` would build the iterator on the stack and copy it over
        // with a call to `memcpy` (a `for` over a list makes one each time it starts).
        Ok(Value::Iter(Ref::new_with(|| IterObj::new(kind, state))))
    }

    /// [`Interp::iter_next`] for a loop of a built-in that consumes an iterable (`sum`, `any`,
    /// `list`, `set`, `str.join`, ...): a generator is resumed straight from the loop, without
    /// the call through `iter_next` and the copy of its answer there (~35 of the ~600 machine
    /// instructions of an item of `sum(x for x in xs)`, callgrind).
    #[inline(always)]
    pub fn next_item(&mut self, it: &Value) -> PyResult<Option<Value>> {
        match it {
            Value::Generator(g) if g.kind == crate::object::GenKind::Generator => self.gen_next(g),
            _ => self.iter_next(it),
        }
    }

    /// `next(it)`: `None` when the iterator is exhausted.
    pub fn iter_next(&mut self, it: &Value) -> PyResult<Option<Value>> {
        match it {
            Value::RangeIter(r) => Ok(r.next_value().map(Value::Int)),
            Value::Iter(obj) => self.native_next(obj),
            Value::Generator(g) if g.kind == crate::object::GenKind::Generator => self.gen_next(g),
            Value::Instance(_) => {
                let Some(m) = self.lookup_special(it, "__next__") else {
                    return Err(err!(
                        TypeError,
                        "'{}' object is not an iterator",
                        type_name(it)
                    ));
                };
                match self.call(&m, std::slice::from_ref(it)) {
                    Ok(v) => Ok(Some(v)),
                    Err(e) if e.is(ExcKind::StopIteration) => Ok(None),
                    Err(e) => Err(e),
                }
            }
            other => Err(err!(
                TypeError,
                "'{}' object is not an iterator",
                type_name(other)
            )),
        }
    }

    /// `next()` of a built-in iterator object (`iter_next`'s `Value::Iter` arm).
    #[inline]
    pub(crate) fn native_next(&mut self, obj: &Ref<IterObj>) -> PyResult<Option<Value>> {
        // Free-threaded, a step that advances other iterators is one step for every thread
        // (`gil.rs: StepLock`), as CPython's GIL makes it.
        if obj.composite && crate::heap::model() == crate::heap::Model::FreeThreaded {
            let _step = obj.step.enter(self);
            return self.native_step(obj);
        }
        self.native_step(obj)
    }

    fn native_step(&mut self, obj: &Ref<IterObj>) -> PyResult<Option<Value>> {
        let mut st = obj.state.lock();
        match &mut *st {
            IterState::LongRange { next, step, left } => {
                use num_traits::Zero;
                if left.is_zero() {
                    return Ok(None);
                }
                *left -= 1u8;
                let cur = if left.is_zero() {
                    std::mem::take(next)
                } else {
                    let after = &*next + &*step;
                    std::mem::replace(next, after)
                };
                Ok(Some(Value::from(cur)))
            }
            IterState::RangeCountdown { next, step, left } => {
                if *left == 0 {
                    return Ok(None);
                }
                let cur = *next;
                *left -= 1;
                if *left > 0 {
                    // Still a member of the range, so it fits.
                    *next = cur.wrapping_sub(*step);
                }
                Ok(Some(Value::Int(cur)))
            }
            IterState::List { list, index } => {
                let v = list.items.lock().get(*index).cloned();
                if v.is_some() {
                    *index += 1;
                } else {
                    *st = IterState::Exhausted;
                }
                Ok(v)
            }
            IterState::Tuple { tuple, index } => {
                let v = tuple.items.get(*index).cloned();
                *index += 1;
                Ok(v)
            }
            IterState::Str { s, byte } => {
                let rest = s.as_str().get(*byte..).unwrap_or("");
                match rest.chars().next() {
                    Some(c) => {
                        *byte += c.len_utf8();
                        Ok(Some(Value::char(c)))
                    }
                    None => Ok(None),
                }
            }
            IterState::Items { items, index, set } => {
                if let Some((s, n)) = set {
                    if s.items.lock().len() != *n {
                        *n = usize::MAX;
                        return Err(err!(RuntimeError, "Set changed size during iteration"));
                    }
                }
                let v = items.get(*index).cloned();
                *index += 1;
                Ok(v)
            }
            IterState::DictWalk(_) => crate::interp::dictwalk::dict_step(&mut st),
            IterState::SetWalk {
                set,
                pos,
                used,
                left,
            } => {
                let members = set.items.lock();
                if members.len() != *used {
                    drop(members);
                    // Sticky, as CPython's: every later `next` raises it again.
                    *used = usize::MAX;
                    return Err(err!(RuntimeError, "Set changed size during iteration"));
                }
                let Some((slot, k)) = members.next_from(*pos) else {
                    drop(members);
                    *st = IterState::Exhausted;
                    return Ok(None);
                };
                let v = k.value.clone();
                drop(members);
                *pos = slot + 1;
                *left = left.saturating_sub(1);
                Ok(Some(v))
            }
            IterState::Guarded {
                items,
                index,
                state,
                start,
                error,
            } => {
                if state.load(std::sync::atomic::Ordering::Relaxed) != *start {
                    let msg = *error;
                    *st = IterState::Exhausted;
                    return Err(err!(RuntimeError, "{msg}"));
                }
                let v = items.get(*index).cloned();
                *index += 1;
                Ok(v)
            }
            IterState::Reversed { items } => Ok(items.pop()),
            IterState::Combinatoric(c) => Ok(c.next_tuple()),
            IterState::Exhausted | IterState::Spare => Ok(None),
            IterState::Enumerate {
                inner,
                count,
                spare,
            } => {
                let (inner, n, spare) = (inner.clone(), *count, spare.take());
                drop(st);
                let Some(v) = self.iter_next(&inner)? else {
                    return Ok(None);
                };
                // Past i64::MAX the count goes on as a big int, as CPython's.
                let index = crate::arith::int_value(n);
                // The items it replaces are dropped here, with no lock held (a finalizer may run).
                let t = match spare {
                    Some(mut t) => match Ref::get_mut(&mut t) {
                        Some(Tuple { items }) if items.len() == 2 => {
                            items[0] = index;
                            items[1] = v;
                            t
                        }
                        _ => Ref::new(Tuple::new(vec![index, v])),
                    },
                    None => Ref::new(Tuple::new(vec![index, v])),
                };
                let mut st = obj.state.lock();
                let old = match &mut *st {
                    IterState::Enumerate { count, spare, .. } => {
                        *count += 1;
                        spare.replace(t.clone())
                    }
                    _ => None,
                };
                drop(st);
                drop(old);
                Ok(Some(Value::Tuple(t)))
            }
            IterState::Zip {
                inners,
                strict,
                spare,
            } => {
                let (inners, strict, spare) = (inners.clone(), *strict, spare.take());
                drop(st);
                let Some(t) = self.zip_next(obj, &inners, strict, spare)? else {
                    return Ok(None);
                };
                let old = match &mut *obj.state.lock() {
                    IterState::Zip { spare, .. } => spare.replace(t.clone()),
                    _ => None,
                };
                drop(old);
                Ok(Some(Value::Tuple(t)))
            }
            IterState::Map { func, inners } => {
                let (func, inners) = (func.clone(), inners.clone());
                drop(st);
                if let [it] = &inners[..] {
                    // One iterable (the usual `map(f, xs)`): its item is the argument, with no
                    // `Vec` made and freed per item.
                    return match self.iter_next(it)? {
                        Some(v) => self.call(&func, std::slice::from_ref(&v)).map(Some),
                        None => Ok(None),
                    };
                }
                let mut args = Vec::with_capacity(inners.len());
                for it in inners.iter() {
                    match self.iter_next(it)? {
                        Some(v) => args.push(v),
                        None => return Ok(None),
                    }
                }
                self.call(&func, &args).map(Some)
            }
            IterState::Filter { func, inner } => {
                let (func, inner) = (func.clone(), inner.clone());
                drop(st);
                while let Some(v) = self.iter_next(&inner)? {
                    let keep = if func.is_none() {
                        self.truthy(&v)?
                    } else {
                        let r = self.call(&func, std::slice::from_ref(&v))?;
                        self.truthy(&r)?
                    };
                    if keep {
                        return Ok(Some(v));
                    }
                }
                Ok(None)
            }
            IterState::Callable { func, sentinel } => {
                let (func, sentinel) = (func.clone(), sentinel.clone());
                drop(st);
                self.callable_iter_next(obj, &func, &sentinel)
            }
            IterState::RevSeq { obj: target, index } => {
                let (target, i) = (target.clone(), *index);
                if i < 0 {
                    *st = IterState::Exhausted;
                    return Ok(None);
                }
                if let Value::List(l) = &target {
                    // The list as it is now: an index past its end ends the walk.
                    let v = l.items.read().get(i as usize).cloned();
                    *st = match v {
                        Some(_) => IterState::RevSeq {
                            obj: target.clone(),
                            index: i - 1,
                        },
                        None => IterState::Exhausted,
                    };
                    return Ok(v);
                }
                drop(st);
                self.getitem_step(obj, &target, i)
            }
            IterState::SeqIter { obj: target, index } => {
                let (target, i) = (target.clone(), *index);
                drop(st);
                self.getitem_step(obj, &target, i)
            }
        }
    }

    /// One `__getitem__` step of a sequence iterator, forward (`iter` of an object with
    /// `__getitem__`) or reversed (`reversed`): the item at `i`, after which the position moves
    /// on by one in the iterator's direction; an IndexError or StopIteration ends the walk.
    /// (The state lock is not held across the call: `__getitem__` may be Python code.)
    fn getitem_step(
        &mut self,
        obj: &Ref<IterObj>,
        target: &Value,
        i: i64,
    ) -> PyResult<Option<Value>> {
        match self.getitem(target, &Value::Int(i)) {
            Ok(v) => {
                match &mut *obj.state.lock() {
                    IterState::SeqIter { index, .. } => *index += 1,
                    IterState::RevSeq { index, .. } => *index -= 1,
                    _ => {}
                }
                Ok(Some(v))
            }
            Err(e) if e.is(ExcKind::IndexError) || e.is(ExcKind::StopIteration) => {
                *obj.state.lock() = IterState::Exhausted;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// One step of `iter(func, sentinel)`: CPython's `callable_iterator` (a `StopIteration`
    /// from `func` ends it too; once ended it stays ended).
    fn callable_iter_next(
        &mut self,
        obj: &Ref<IterObj>,
        func: &Value,
        sentinel: &Value,
    ) -> PyResult<Option<Value>> {
        let v = match self.call(func, &[]) {
            Ok(v) => Some(v),
            Err(e) if e.is(ExcKind::StopIteration) => None,
            Err(e) => return Err(e),
        };
        let ended = match &v {
            Some(v) => self.eq(v, sentinel)?,
            None => true,
        };
        if ended {
            *obj.state.lock() = IterState::Exhausted;
            return Ok(None);
        }
        Ok(v)
    }

    fn zip_next(
        &mut self,
        obj: &Ref<IterObj>,
        inners: &[Value],
        strict: bool,
        spare: Option<Ref<Tuple>>,
    ) -> PyResult<Option<Ref<Tuple>>> {
        if inners.is_empty() {
            return Ok(None);
        }
        // The previous tuple when nothing else holds it: each item is replaced as it comes (an
        // old item's finalizer may run in between, as in CPython; no lock is held).
        let mut reuse = spare.filter(|t| t.items.len() == inners.len());
        if reuse.as_mut().is_some_and(|t| Ref::get_mut(t).is_none()) {
            reuse = None;
        }
        let mut items = Vec::with_capacity(if reuse.is_some() { 0 } else { inners.len() });
        for (i, it) in inners.iter().enumerate() {
            match self.iter_next(it)? {
                Some(v) => match reuse.as_mut().and_then(Ref::get_mut) {
                    Some(t) => t.items[i] = v,
                    None => {
                        // The tuple being refilled was handed out while an iterator ran Python
                        // code (`gc.get_objects()` lists it: a tuple of containers is tracked):
                        // it must not change any more, so this result is a new tuple, starting
                        // with the items already taken (they were lost, and the old ones shown).
                        if let Some(t) = reuse.take() {
                            items.extend(t.items[..i].iter().cloned());
                        }
                        items.push(v)
                    }
                },
                None => {
                    *obj.state.lock() = IterState::Exhausted;
                    if strict && i > 0 {
                        let s = if i == 1 { " " } else { "s 1-" };
                        let which = if i == 1 {
                            "1".to_string()
                        } else {
                            i.to_string()
                        };
                        return Err(err!(
                            ValueError,
                            "zip() argument {} is shorter than argument{}{}",
                            i + 1,
                            s,
                            which
                        ));
                    }
                    if strict {
                        // The first is done: each other one must be done too (CPython tries
                        // them in order, so `[1], [2], [3, 4]` blames argument 3).
                        for (j, extra) in inners.iter().enumerate().skip(1) {
                            if self.iter_next(extra)?.is_some() {
                                let s = if j == 1 { " " } else { "s 1-" };
                                return Err(err!(
                                    ValueError,
                                    "zip() argument {} is longer than argument{}{}",
                                    j + 1,
                                    s,
                                    j
                                ));
                            }
                        }
                    }
                    return Ok(None);
                }
            }
        }
        Ok(Some(match reuse {
            Some(t) => t,
            None => Ref::new(Tuple::new(items)),
        }))
    }

    /// `iter(v)` for a built-in that walks `v` to its end at once (`sum`, `min`, `any`,
    /// `Counter` counting...). Free-threaded, a snapshot iterator of a dict, set or deque made
    /// here forgets its container: the
    /// snapshot was taken under the container's lock, and a change by another thread between
    /// two `next`s must not fail the walk, since under the GIL (which the built-in holds
    /// throughout, unless it calls Python code) no other thread could make one. With the GIL
    /// the check stays (Python code the walk calls may change the container).
    pub fn get_iter_whole(&mut self, v: &Value) -> PyResult<Value> {
        let it = self.get_iter(v)?;
        if crate::heap::model() == crate::heap::Model::FreeThreaded && matches!(v, Value::Iter(_)) {
            freeze_fresh_walks(&it, 0);
        } else if crate::heap::model() == crate::heap::Model::FreeThreaded {
            if let Value::Iter(obj) = &it {
                let mut st = obj.state.lock();
                match &mut *st {
                    IterState::Items { set, .. } => {
                        *set = None;
                    }
                    // A deque's snapshot, without the check of its mutation counter.
                    IterState::Guarded {
                        items, index: 0, ..
                    } => {
                        *st = IterState::Items {
                            items: std::mem::take(items),
                            index: 0,
                            set: None,
                        };
                    }
                    // A set's walk of its live table becomes a snapshot without the check.
                    IterState::DictWalk(w) => {
                        if let Some(items) = w.fresh_items() {
                            *st = IterState::Items {
                                items,
                                index: 0,
                                set: None,
                            };
                        }
                    }
                    IterState::SetWalk { set, pos: 0, .. } => {
                        let items = set.snapshot();
                        *st = IterState::Items {
                            items,
                            index: 0,
                            set: None,
                        };
                    }
                    _ => {}
                }
            }
        }
        Ok(it)
    }

    /// `f` on each item of an iterable in turn: an iterator, a generator or an object of a
    /// class is read one item at a time, so what `f` does (hashing the item, which may fail)
    /// happens before the next item is asked for, as in CPython's `set(it)` and
    /// `dict.fromkeys(it)`. Containers (dict views and deques included) are copied first, as
    /// `collect_iter` copies them.
    pub fn for_each_item(
        &mut self,
        v: &Value,
        mut f: impl FnMut(&mut Interp, Value) -> PyResult<()>,
    ) -> PyResult<()> {
        // Built-in objects written in Rust (dict views, deques) are containers too: their
        // copy is one step, taken whole (free-threaded, a snapshot another thread's change
        // cannot interrupt), as under CPython's GIL.
        let one_by_one = match v {
            Value::Generator(_) | Value::Iter(_) => true,
            Value::Instance(i) => !i.class.builtin,
            _ => false,
        };
        if !one_by_one {
            for x in self.collect_iter(v)? {
                f(self, x)?;
            }
            return Ok(());
        }
        let it = self.get_iter(v)?;
        // As `collect_iter` does for an iterator.
        if matches!(v, Value::Iter(_)) && crate::heap::model() == crate::heap::Model::FreeThreaded {
            freeze_fresh_walks(&it, 0);
        }
        while let Some(x) = self.next_item(&it)? {
            f(self, x)?;
        }
        Ok(())
    }

    /// All items of an iterable.
    pub fn collect_iter(&mut self, v: &Value) -> PyResult<Vec<Value>> {
        match v {
            Value::List(l) => Ok(l.snapshot()),
            Value::Tuple(t) => Ok(t.items.to_vec()),
            Value::Range(r) if r.big().is_some() => {
                // CPython asks the length first: past `sys.maxsize` that is an OverflowError.
                let n = isize::try_from(&r.len_big()).map_err(|_| {
                    err!(
                        OverflowError,
                        "Python int too large to convert to C ssize_t"
                    )
                })?;
                let n = n.unsigned_abs();
                crate::builtins::args::check_items(n)?;
                let it = long_range_iter(r, false);
                let mut out = Vec::with_capacity(n);
                while let Some(x) = self.iter_next(&it)? {
                    out.push(x);
                }
                Ok(out)
            }
            Value::Range(r) => {
                let n = r.len();
                // (A length past `sys.maxsize`, as `range(-2**63, 6)`'s: OverflowError too.)
                if isize::try_from(n).is_err() {
                    return Err(err!(
                        OverflowError,
                        "Python int too large to convert to C ssize_t"
                    ));
                }
                crate::builtins::args::check_items(usize::try_from(n).unwrap_or(usize::MAX))?;
                Ok((0..n).map(|i| Value::Int(r.at(i))).collect())
            }
            _ => {
                let it = self.get_iter(v)?;
                self.drain_iter(v, it)
            }
        }
    }

    /// `list(x)`, `tuple(x)`, `list.extend(x)`, `sorted(x)`: `collect_iter`, except that an
    /// object whose class defines `__len__` in Python is asked its length once its iterator is
    /// made, as CPython sizes the result (`PyObject_LengthHint`): what `__len__` prints shows,
    /// and an error from it other than a `TypeError` ends the call.
    pub fn collect_sized(&mut self, v: &Value) -> PyResult<Vec<Value>> {
        if !Self::len_in_python(v) {
            return self.collect_iter(v);
        }
        let it = self.get_iter(v)?;
        self.probe_len(v)?;
        self.drain_iter(v, it)
    }

    /// Whether `v` is an instance whose class defines `__len__` in Python (which
    /// [`Interp::probe_len`] must call, as it may print or fail).
    pub(crate) fn len_in_python(v: &Value) -> bool {
        matches!(v, Value::Instance(i) if matches!(i.class.lookup("__len__"), Some(Value::Function(_))))
    }

    /// CPython's `PyObject_LengthHint` asking `v.__len__()` to size a result: the answer is
    /// not used, a `TypeError` is ignored, any other error is raised.
    pub(crate) fn probe_len(&mut self, v: &Value) -> PyResult<()> {
        match crate::builtins::functions::length(self, v) {
            Err(e) if !e.is(crate::object::ExcKind::TypeError) => Err(e),
            _ => Ok(()),
        }
    }

    /// The items of `it`, the iterator just made from `v`, for `collect_iter`.
    fn drain_iter(&mut self, v: &Value, it: Value) -> PyResult<Vec<Value>> {
        // A snapshot iterator made just now (a dict, its views, a set, a deque) is
        // taken whole: no Python code runs while collecting it, so with the GIL no
        // other thread can change the container in between either, and free-threaded
        // (where another thread could, between two `next`s) the copy must be as
        // atomic as under the GIL: `list(d)` beside a writer thread never fails.
        if !matches!(v, Value::Iter(_)) {
            if let Some(items) = take_fresh_snapshot(&it) {
                return Ok(items);
            }
        } else if crate::heap::model() == crate::heap::Model::FreeThreaded {
            freeze_fresh_walks(&it, 0);
        }
        // CPython sizes the list from the iterator's length hint first: an iterator of
        // more items than can be had (`iter(range(10**18))`) is a MemoryError at once, and
        // a hint past `Py_ssize_t` (`range(-2**63, 6)`) CPython's OverflowError.
        let hint = crate::builtins::length_hint(&it).unwrap_or(0);
        if isize::try_from(hint).is_err() {
            return Err(err!(
                OverflowError,
                "Python int too large to convert to C ssize_t"
            ));
        }
        crate::builtins::args::check_items(hint)?;
        let mut out = Vec::new();
        while let Some(x) = self.next_item(&it)? {
            // An endless iterator fails once, like CPython running out of memory.
            if out.len() == crate::builtins::args::MAX_ITEMS {
                return Err(err!(MemoryError, ""));
            }
            out.push(x);
        }
        Ok(out)
    }

    /// At most `limit` items from `v`'s iterator.
    fn take_items(&mut self, v: &Value, limit: usize) -> PyResult<Vec<Value>> {
        let it = self.get_iter(v)?;
        let mut out = Vec::with_capacity(limit);
        while out.len() < limit {
            match self.iter_next(&it)? {
                Some(x) => out.push(x),
                None => break,
            }
        }
        Ok(out)
    }

    /// `UnpackSequence`/`UnpackEx`: push the items so that the first ends up on top.
    pub(crate) fn unpack(
        &mut self,
        frame: &mut Frame,
        v: Value,
        before: usize,
        after: Option<usize>,
    ) -> PyResult<()> {
        if let Some(after) = after {
            // `first, *middle, last = row` of a tuple or list long enough: read in place, the
            // middle copied once into its new list (the general path below copied every item,
            // then split the copy twice: three vectors allocated per unpacking).
            let done = match &v {
                Value::Tuple(t) => unpack_ex_from(&mut frame.stack, &t.items, before, after),
                Value::List(l) => unpack_ex_from(&mut frame.stack, &l.items.read(), before, after),
                _ => false,
            };
            if done {
                v.discard();
                return Ok(());
            }
        }
        let items = match &v {
            Value::Tuple(t) => t.items.to_vec(),
            Value::List(l) => l.snapshot(),
            _ => {
                // CPython names the failure "cannot unpack" when the value has no way to be
                // iterated; an iterator (`first, second = iter(...)`) unpacks like any iterable.
                // The built-in containers, whose items are finite and read whole below.
                let finite = matches!(
                    v,
                    Value::Str(_)
                        | Value::Bytes(_)
                        | Value::ByteArray(_)
                        | Value::Dict(_)
                        | Value::Set(_)
                        | Value::Range(_)
                );
                let iterable = finite
                    || match &v {
                        Value::Iter(_) | Value::RangeIter(_) => true,
                        Value::Generator(g) => g.kind == crate::object::GenKind::Generator,
                        Value::Instance(_) | Value::Class(_) => {
                            match self.lookup_special(&v, "__iter__") {
                                // `__iter__ = None` fills the slot: `iter()` itself says "not iterable".
                                Some(_) => true,
                                None => {
                                    crate::object::builtin_base(&v).is_some()
                                        || self.lookup_special(&v, "__getitem__").is_some()
                                }
                            }
                        }
                        _ => false,
                    };
                if !iterable {
                    return Err(err!(
                        TypeError,
                        "cannot unpack non-iterable {} object",
                        type_name(&v)
                    ));
                }
                match after {
                    // Plain unpacking reads one item past its targets and no further, as
                    // CPython's unpack_iterable: an endless iterator gives "too many values"
                    // (it hung here), and a generator is not run to its end.
                    None if !finite => self.take_items(&v, before + 1)?,
                    _ => self.collect_iter(&v)?,
                }
            }
        };
        match after {
            None => {
                if items.len() > before {
                    return Err(err!(
                        ValueError,
                        "too many values to unpack (expected {before})"
                    ));
                }
                if items.len() < before {
                    return Err(err!(
                        ValueError,
                        "not enough values to unpack (expected {before}, got {})",
                        items.len()
                    ));
                }
                frame.stack.extend(items.into_iter().rev());
            }
            Some(after) => {
                if items.len() < before + after {
                    return Err(err!(
                        ValueError,
                        "not enough values to unpack (expected at least {}, got {})",
                        before + after,
                        items.len()
                    ));
                }
                let mut items = items;
                let tail = items.split_off(items.len() - after);
                let middle = items.split_off(before);
                frame.stack.extend(tail.into_iter().rev());
                frame.stack.push(Value::list(middle));
                frame.stack.extend(items.into_iter().rev());
            }
        }
        Ok(())
    }
}

/// `UNPACK_EX` of `items` (a tuple's, or a list's while it is read): the `after` last items
/// pushed last first, then the list of the middle ones, then the `before` first ones, last
/// first, so the first is on top. False (nothing pushed) when there are too few items: the
/// caller's general path reports it.
fn unpack_ex_from(stack: &mut Vec<Value>, items: &[Value], before: usize, after: usize) -> bool {
    let Some(rest) = items.len().checked_sub(before + after) else {
        return false;
    };
    let (head, others) = items.split_at(before);
    let (middle, tail) = others.split_at(rest);
    stack.extend(tail.iter().rev().cloned());
    stack.push(Value::list(middle.to_vec()));
    stack.extend(head.iter().rev().cloned());
    true
}

/// The end of a list iterator stepped by a `for` loop of `frame` (`run.rs: seq_iter_next`),
/// with `st` its locked state. Held only by the loop, which drops it next, it becomes the
/// thread's spare (`Interp::spare_list_iter`) when there is none: its list let go, its state
/// `Spare`, kept listed with the collector, to be refilled by the next `iter(list)` instead of
/// freeing this one and making another (an allocation, listing with the collector, unlisting, a
/// free: about 200 instructions of a `for` over a list). Held by the loop and by the `.0` slot of
/// the comprehension it runs (whose code reads that slot once, before the loop, and only
/// returns after it), it is kept too: the frame lets go of it when it returns, before anything
/// can ask for an iterator again (`get_iter` takes the spare only at count 1). Held by
/// something else, it is marked exhausted so that a later `next` does not see items appended
/// meanwhile.
#[inline(never)]
pub(crate) fn list_iter_done(
    mut st: crate::heap::CellMut<'_, IterState>,
    it: &Ref<IterObj>,
    spare: &mut Option<Ref<IterObj>>,
    frame: &Frame,
) {
    let comprehension_only = || {
        matches!(frame.locals.first(), Some(Value::Iter(slot)) if Ref::ptr_eq(slot, it))
            && frame.code.obj.varnames.first().is_some_and(|n| n == ".0")
    };
    if Ref::count(it) > 2 || (Ref::count(it) == 2 && !comprehension_only()) {
        *st = IterState::Exhausted;
    } else if spare.is_none() {
        // The list let go after the lock (its free may free much more), and alone: not the
        // whole state through the drop glue.
        let old = std::mem::replace(&mut *st, IterState::Spare);
        drop(st);
        if let IterState::List { list, .. } = old {
            drop(list);
        }
        *spare = Some(it.clone());
    }
}

fn not_iterable(v: &Value) -> crate::PyErr {
    err!(TypeError, "'{}' object is not iterable", type_name(v))
}

/// `iter(r)` or `reversed(r)` of a range beyond 64 bits: a `longrange_iterator`, as CPython's.
pub(crate) fn long_range_iter(r: &crate::object::Range, reversed: bool) -> Value {
    let (start, _, step, len) = r.bounds_big();
    let state = if reversed {
        use num_traits::Zero;
        let last = if len.is_zero() {
            start
        } else {
            &start + (&len - 1u8) * &step
        };
        IterState::LongRange {
            next: last,
            step: -step,
            left: len,
        }
    } else {
        IterState::LongRange {
            next: start,
            step,
            left: len,
        }
    };
    Value::Iter(Ref::new(IterObj::new("longrange_iterator", state)))
}

/// Free-threaded: a whole walk (`list(it)`, `sum(it)`, `''.join(it)`...) of an iterator the
/// program made before, such as `list(enumerate(d))`, `list(zip(d, d.values()))`,
/// `','.join(map(str, d))` or `list(reversed(d))`. Under the GIL the walk is one step (no
/// Python code runs while it runs), so each dict, set or deque walk inside `it` (itself, or
/// under `enumerate`, `zip`, and `map` or `filter` of a built-in function) that has not moved
/// yet and whose container is still as when the walk was made is read whole now, under the
/// container's lock: another thread's change can no longer fail it halfway. A change made
/// since the walk began stays the error at its first step, as CPython's; a walk under Python
/// code (`map` of a Python function) is left alone: that code may change the container.
fn freeze_fresh_walks(it: &Value, depth: u32) {
    let Value::Iter(obj) = it else {
        return;
    };
    // Nested iterators are stepped by their own walks; the chain here is short in practice.
    if depth > 8 {
        return;
    }
    let native = |f: &Value| match f {
        Value::None | Value::Native(_) => true,
        Value::Class(c) => c.builtin,
        _ => false,
    };
    let mut st = obj.state.lock();
    let inners: Vec<Value> = match &mut *st {
        IterState::DictWalk(w) => {
            if let Some(items) = w.unchanged_items() {
                *st = IterState::Items {
                    items,
                    index: 0,
                    set: None,
                };
            }
            return;
        }
        IterState::SetWalk {
            set, pos: 0, used, ..
        } => {
            let members = set.items.read();
            let same = members.len() == *used;
            let items: Vec<Value> = if same {
                members.iter().map(|k| k.value.clone()).collect()
            } else {
                Vec::new()
            };
            drop(members);
            if same {
                *st = IterState::Items {
                    items,
                    index: 0,
                    set: None,
                };
            }
            return;
        }
        IterState::Guarded {
            items,
            index: 0,
            state,
            start,
            ..
        } => {
            if state.load(std::sync::atomic::Ordering::Acquire) == *start {
                *st = IterState::Items {
                    items: std::mem::take(items),
                    index: 0,
                    set: None,
                };
            }
            return;
        }
        IterState::Enumerate { inner, .. } => vec![inner.clone()],
        IterState::Zip { inners, .. } => inners.to_vec(),
        IterState::Map { func, inners } if native(func) => inners.to_vec(),
        IterState::Filter { func, inner } if native(func) => vec![inner.clone()],
        _ => return,
    };
    drop(st);
    for inner in &inners {
        freeze_fresh_walks(inner, depth + 1);
    }
}

/// The items of `it`, a snapshot iterator (`IterState::Items` or `Guarded`) not yet advanced,
/// all at once; `None` for any other iterator. `it` is left exhausted.
fn take_fresh_snapshot(it: &Value) -> Option<Vec<Value>> {
    let Value::Iter(obj) = it else {
        return None;
    };
    let mut st = obj.state.lock();
    let items = match &mut *st {
        IterState::Items {
            items, index: 0, ..
        }
        | IterState::Guarded {
            items, index: 0, ..
        } => std::mem::take(items),
        IterState::SetWalk { set, pos: 0, .. } => set.snapshot(),
        IterState::DictWalk(w) => w.fresh_items()?,
        _ => return None,
    };
    *st = IterState::Exhausted;
    Some(items)
}
