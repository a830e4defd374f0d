//! [`StampedRef`]: a function or class remembered by a cache together with two stamps it is
//! valid for, read back without a lock (the builtins a `LoadGlobal` found, `interp/globals.rs`;
//! free-threaded, a class's methods, read by method calls without the class cache's lock,
//! `object/class.rs: Class::shared_methods`). [`StampedValue`]: a global's value, the same
//! way. Both keep their words in a [`SeqSlot`], the one seqlock they share.
//!
//! # How the remembered reference is owned
//!
//! The slot owns one count of the object it holds, so what it holds is alive for as long as it
//! holds it, whatever the dicts the stamps come from do meanwhile:
//! * GIL model: filling, reading and emptying the slot all happen with the GIL held, never at
//!   once; a refill drops the count of the object it replaces after the new one is in place.
//!   Only objects whose extra count no program can notice are taken (native functions,
//!   built-in types: `word_of`), so dropping that count never frees anything with a
//!   finalizer, and no object outlives its last use in CPython's terms.
//! * Free-threaded: a reader may run beside a refill on another thread. The slot then only
//!   takes *immortal* objects ([`Ref::immortalize`]: the built-in functions and types, a
//!   module's top-level functions and classes), whose counts are never changed and which are
//!   never freed, so a reader that read a pointer just before a refill replaced it still holds
//!   a live object. Anything else is not remembered (its loads take the slow path).
//!
//! The stamps and the pointer are three words: a sequence number (a seqlock) makes a reader
//! see all three from one fill or give up (a miss, never a mixed answer). A slot filled from
//! stamps read when the dicts were at those stamps answers, on a hit, with the value the dicts
//! held then; the dicts are unchanged since (their stamps are the same), so it is the value
//! they hold now, or (free-threaded, a write racing the load) the one they held just before it.

// Under `--cfg loom` the slot's words are loom's atomics, so that `scripts/loom.sh` model-checks
// this very type (`loom_tests.rs`: readers beside a refill).
#[cfg(loom)]
use loom::sync::atomic::{fence, AtomicPtr, AtomicU64};
#[cfg(not(loom))]
use std::sync::atomic::{fence, AtomicPtr, AtomicU64};
use std::sync::atomic::{AtomicU32, Ordering};

use super::{broken, free_threaded, HeapBox, Ref};
use crate::value::Value;

/// A remembered reference and the two stamps it is valid for (see the module comment).
#[derive(Default)]
pub struct StampedRef {
    /// The words, read and written as one ([`SeqSlot`]): the tag of a variant holding a `Ref`
    /// and that `Ref`'s pointer, whose count the slot owns; or the tag of
    /// `NotImplemented`/`Ellipsis` and null; 0 and null when the slot is empty.
    words: SeqSlot,
}

/// The stamps, the sequence number and a `Value`'s two words that both slots keep, read and
/// written under the sequence number (a seqlock): a reader sees all four words from one fill or
/// gives up (a miss, never a mixed answer).
struct SeqSlot {
    /// Even when the slot is stable, odd while a fill writes it.
    seq: AtomicU64,
    stamps: [AtomicU64; 2],
    /// The value's two words (`Value` is `repr(C, u64)`: its tag, then its payload): a `Ref`'s
    /// pointer kept as a pointer, not an integer, so that the `Value` rebuilt from it (`Words`)
    /// carries the object's provenance (an integer turned into a pointer has none: Miri
    /// reports it, and using it is undefined behaviour), or an inline value's bits.
    tag: AtomicU64,
    addr: AtomicPtr<()>,
}

/// A `Value`'s two words as the slot keeps them (`Value` is `repr(C, u64)`: the tag, then the
/// payload, which for the variants the slot holds is one `Ref` or nothing).
#[repr(C)]
struct Words {
    tag: u64,
    addr: *mut (),
}

/// The stamps of an empty slot: no dict shows them (a dict's stamps are 0 until it is named,
/// then below 2^64 - 1, which would take 2^40 - 1 dict names).
const EMPTY: u64 = u64::MAX;

impl Default for SeqSlot {
    fn default() -> SeqSlot {
        SeqSlot {
            seq: AtomicU64::new(0),
            stamps: [AtomicU64::new(EMPTY), AtomicU64::new(EMPTY)],
            tag: AtomicU64::new(0),
            addr: AtomicPtr::new(std::ptr::null_mut()),
        }
    }
}

impl SeqSlot {
    /// The words of the fill made with stamps `a` and `b()`, if that is the fill the slot holds.
    /// The first stamp is tested before anything else is read: a miss (code whose dicts keep
    /// changing) costs little, and `b` is only worked out for a likely hit.
    #[inline(always)]
    fn read(&self, a: u64, b: impl FnOnce() -> u64) -> Option<Words> {
        let s1 = self.seq.load(Ordering::Acquire);
        if self.stamps[0].load(Ordering::Relaxed) != a {
            return None;
        }
        let sb = self.stamps[1].load(Ordering::Relaxed);
        let tag = self.tag.load(Ordering::Relaxed);
        let addr = self.addr.load(Ordering::Relaxed);
        if !broken("read-fence") {
            fence(Ordering::Acquire);
        }
        let s2 = self.seq.load(Ordering::Relaxed);
        // Unequal sequence numbers: a fill ran meanwhile (the first stamp then may not go with
        // the rest). An odd one: a fill is running. (Both tested as one: `s1 == s2` and `s1`
        // even.) An empty slot's stamps (`EMPTY`) match no dict's.
        let torn = !broken("recheck") && ((s1 ^ s2) | (s1 & 1)) != 0;
        if torn || sb != b() {
            return None;
        }
        Some(Words { tag, addr })
    }

    /// Write the words of a fill under the sequence number and give back the ones replaced;
    /// `None`, nothing written, while another thread fills the slot (its answer will do).
    fn write(&self, a: u64, b: u64, words: Words) -> Option<Words> {
        let s = self.seq.load(Ordering::Relaxed);
        if s & 1 != 0
            || self
                .seq
                .compare_exchange(s, s + 1, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            return None;
        }
        if !broken("write-fence") {
            fence(Ordering::Release);
        }
        // The odd sequence number keeps other fills out: loads and stores, not swaps.
        let old = Words {
            tag: self.tag.load(Ordering::Relaxed),
            addr: self.addr.load(Ordering::Relaxed),
        };
        self.store(a, b, words);
        self.seq.store(s + 2, Ordering::Release);
        Some(old)
    }

    /// The stores of a fill, without the sequence number: [`SeqSlot::write`]'s, and the GIL
    /// model's fill of a [`StampedValue`], which no other thread reads or fills meanwhile.
    #[inline]
    fn store(&self, a: u64, b: u64, words: Words) {
        self.tag.store(words.tag, Ordering::Relaxed);
        self.addr.store(words.addr, Ordering::Relaxed);
        self.stamps[0].store(a, Ordering::Relaxed);
        self.stamps[1].store(b, Ordering::Relaxed);
    }

    /// The words, for the slot's drop.
    fn words_mut(&mut self) -> Words {
        #[cfg(not(loom))]
        let (tag, addr) = (*self.tag.get_mut(), *self.addr.get_mut());
        // Loom's atomics have no `get_mut`.
        #[cfg(loom)]
        let (tag, addr) = (self.tag.with_mut(|t| *t), self.addr.with_mut(|a| *a));
        Words { tag, addr }
    }
}

/// The tag (first word) of `v`.
#[inline]
fn tag_of(v: &Value) -> u64 {
    // SAFETY: `Value` is `repr(C, u64)`: its first word is the tag, always initialized.
    unsafe { *(v as *const Value as *const u64) }
}

impl StampedRef {
    /// When the slot holds an answer filled with stamps `a` and `b`: a clone of it pushed onto
    /// `stack`, and `true`. Otherwise `false`, `stack` untouched.
    #[inline(always)]
    pub fn push_if(&self, a: u64, b: u64, stack: &mut Vec<Value>) -> bool {
        let Some(Words { tag, addr }) = self.words.read(a, || b) else {
            return false;
        };
        if !addr.is_null() {
            // SAFETY: `read` saw equal even sequence numbers around its loads, so `tag` and
            // `addr` are the words of one finished fill, still in the slot when the stamps were
            // read (GIL model: nothing runs beside this read at all): the address of a heap
            // object whose count the slot owns (GIL model), or of an immortal one
            // (free-threaded), so alive. Every heap object starts with its `Header` (`HeapBox`
            // is `repr(C)`), whatever its type: one count more, for the clone pushed below.
            unsafe { (*(addr as *const HeapBox<()>)).header.incref() };
        }
        // SAFETY: `tag` and `addr` are the two words of a valid `Value` (`fill` took them from
        // one: a `Ref` variant and its pointer, or a variant without a payload, whose second
        // word is padding), and the count just added is the one this value owns.
        let v = unsafe { std::mem::transmute::<Words, Value>(Words { tag, addr }) };
        super::push_inline(stack, v);
        true
    }

    /// Free-threaded: the value the slot holds for stamps `a` and `b`, lent without a count
    /// (the slot then holds only immortal objects, which are never freed); `None` for a miss,
    /// and always in the GIL model, where a refill may free what the slot held.
    #[inline(always)]
    pub fn lend_if(&self, a: u64, b: u64) -> Option<LentValue<'_>> {
        if !free_threaded() {
            return None;
        }
        let words = self.words.read(a, || b)?;
        // SAFETY: the words of one finished fill (see `push_if`), made from a valid `Value`:
        // free-threaded, an immortal object or none (`allowed`), alive for good, so the
        // uncounted copy is valid for as long as it is lent. `ManuallyDrop`: it owns no count.
        let v = unsafe { std::mem::transmute::<Words, Value>(words) };
        Some(LentValue {
            v: std::mem::ManuallyDrop::new(v),
            _slot: std::marker::PhantomData,
        })
    }

    /// Remember `v` as the answer for stamps `a` and `b` (for a builtin, both read from named
    /// dicts, so not 0: an unnamed dict's 0 must match nothing), if it is a kind the
    /// slot holds (a native function, a class, a function: see `allowed`; `NotImplemented`,
    /// `Ellipsis`); otherwise, or while another thread fills the slot, leave it as it is.
    pub fn fill(&self, a: u64, b: u64, v: &Value) {
        let addr = match v {
            Value::Native(r) if allowed(r, true) => address(r),
            Value::Class(r) if allowed(r, r.builtin) => address(r),
            Value::Function(r) if allowed(r, false) => address(r),
            Value::NotImplemented | Value::Ellipsis => std::ptr::null_mut(),
            _ => return,
        };
        // The slot's count of the new object: taken here, given back when it is replaced (or
        // at once, should another thread be filling the slot).
        let counted = std::mem::ManuallyDrop::new(v.clone());
        let words = Words {
            tag: tag_of(v),
            addr,
        };
        match self.words.write(a, b, words) {
            // SAFETY: the words a fill stored (or the empty slot's 0 and null), no longer in
            // the slot: the count they owned is given back once.
            Some(old) => unsafe { release(old.tag, old.addr) },
            None => drop(std::mem::ManuallyDrop::into_inner(counted)),
        }
    }
}

/// A value lent by a [`StampedRef`] ([`StampedRef::lend_if`]) without a count of its own.
pub struct LentValue<'a> {
    v: std::mem::ManuallyDrop<Value>,
    _slot: std::marker::PhantomData<&'a StampedRef>,
}

impl std::ops::Deref for LentValue<'_> {
    type Target = Value;
    #[inline(always)]
    fn deref(&self) -> &Value {
        &self.v
    }
}

impl Drop for StampedRef {
    fn drop(&mut self) {
        let Words { tag, addr } = self.words.words_mut();
        // SAFETY: as in `fill`: the words the slot holds, whose count it owns, given back once.
        unsafe { release(tag, addr) };
    }
}

/// Whether the slot may hold `r`. Free-threaded: only an immortal object (see the module
/// comment). GIL model: only one whose extra count nothing can observe (`unnoticed`): a native
/// function (it holds no references) or a built-in type, which live as long as the program
/// anyway; a function or class of the program in `builtins` kept alive by a cache would
/// outlive its last use in CPython (a weak reference's callback, `gc.collect()`), so it is not
/// remembered.
fn allowed<T: super::Trace>(r: &Ref<T>, unnoticed: bool) -> bool {
    if free_threaded() {
        Ref::is_immortal(r)
    } else {
        unnoticed
    }
}

fn address<T>(r: &Ref<T>) -> *mut () {
    r.ptr.as_ptr().cast()
}

/// Give back the count a slot's words owned (nothing for an empty slot).
///
/// # Safety
/// `tag` and `addr` are 0 and null, or the words `fill` stored, no longer in any slot, whose
/// count is given back once.
// SAFETY: an `unsafe fn` for its contract above; each call states why that contract holds.
unsafe fn release(tag: u64, addr: *mut ()) {
    if tag == 0 && addr.is_null() {
        return;
    }
    // SAFETY: the caller's contract: the words of a valid value whose count the slot owned;
    // dropping the value made of them gives that count back.
    drop(unsafe { std::mem::transmute::<Words, Value>(Words { tag, addr }) });
}

/// A value a cache read from a dict, with two dicts' `version` stamps at that moment: the value
/// a global name had when a `LoadGlobal` last looked it up, in the module's globals or in
/// `builtins`, with the stamps of both (`interp/globals.rs`). Unlike [`StampedRef`] the slot
/// owns **no** count of what it holds; it relies on the stamps:
/// * GIL model: a dict's `version` moves on at every change of its table, values included
///   (`Dict::write`), and stamps are unique among dicts, so while the dict the value was read
///   from shows the stamp the slot was filled with, that dict still holds the value, and its
///   count keeps the object alive. Filling, reading and every change of a dict happen with the GIL held, never at
///   once. Any value is kept: a module's constants, functions, classes, modules.
/// * Free-threaded: a reader may run beside a thread that rebinds the name and drops the old
///   value's last count. The slot then only keeps values that cannot be freed: those that own
///   nothing (ints, floats, bools, `None`) and immortal objects (a module's top-level functions
///   and classes, [`Ref::immortalize`]). A reader gets the value the dict held when it showed
///   the stamps: the current one, or, a rebinding racing the load, the one just before it.
///
/// The stamps and the value's two words are read under a sequence number (a seqlock), as in
/// [`StampedRef`]: all four words from one fill, or a miss.
pub struct StampedValue {
    /// The stamps and the value's two words ([`SeqSlot`]; with the GIL no reader runs beside a
    /// fill, which leaves the sequence number alone): its tag, and its payload as a pointer: a
    /// `Ref`'s pointer (with its provenance), or an inline value's bits.
    words: SeqSlot,
    /// [`StampedValue::due`]'s count-down (above 8 bits) and its last wait's exponent.
    wait: AtomicU32,
}

impl Default for StampedValue {
    fn default() -> StampedValue {
        StampedValue {
            words: SeqSlot::default(),
            wait: AtomicU32::new(0),
        }
    }
}

/// The longest wait of [`StampedValue::due`]: 2^6 - 1 misses.
const MAX_WAIT_EXP: u32 = 6;

impl StampedValue {
    /// When the slot holds a value filled with stamps `a` and `b`: a clone of it pushed onto
    /// `stack`, and `true`. Otherwise `false`, `stack` untouched.
    #[inline(always)]
    pub fn push_if(&self, a: u64, b: impl FnOnce() -> u64, stack: &mut Vec<Value>) -> bool {
        let Some(words) = self.words.read(a, b) else {
            return false;
        };
        let held = std::mem::ManuallyDrop::new(
            // SAFETY: `read` saw equal even sequence numbers around its loads, so these are the words
            // of one finished fill (`fill` took them from a valid `Value`), made with the stamps the
            // caller read from its dicts now. The value is alive (see the type's comment): GIL model, the
            // dict still holds it, its count keeping the object; free-threaded, it owns nothing or
            // is immortal. `ManuallyDrop`: the slot owns no count, so the rebuilt value is only
            // cloned (which counts the clone's reference), never dropped.
            unsafe { std::mem::transmute::<Words, Value>(words) },
        );
        super::push_inline(stack, super::clone_value(&held));
        true
    }

    /// Whether a miss should fill the slot again: a slot whose stamps keep going stale
    /// (its dict changes between uses) is filled at the first miss, then after 1, 3, 7...
    /// 63 misses skipped (an exponential back-off, as CPython's adaptive instructions wait
    /// before they specialize again), so code that keeps changing its globals pays a
    /// count-down, not a fill, at most loads; code whose globals settle is answered from
    /// the slot again after at most 63 misses. A heuristic: threads racing on it (relaxed,
    /// not atomic as a whole) only change when the fill happens.
    #[inline]
    pub fn due(&self) -> bool {
        let w = self.wait.load(Ordering::Relaxed);
        let (count, exp) = (w >> 8, w & 0xFF);
        if count > 0 {
            self.wait.store(((count - 1) << 8) | exp, Ordering::Relaxed);
            return false;
        }
        let exp = (exp + 1).min(MAX_WAIT_EXP);
        self.wait
            .store((((1 << exp) - 1) << 8) | exp, Ordering::Relaxed);
        true
    }

    /// Remember `v` as the answer for stamps `a` and `b`, if the slot may keep it (see the
    /// type's comment); otherwise, or while another thread fills the slot, leave it as it is.
    /// `v` was read from a dict whose `version` was `a` or `b` (read with the dict's table
    /// borrowed), and both stamps are of named dicts (not 0: an unnamed dict's 0 must match
    /// nothing).
    pub fn fill(&self, a: u64, b: u64, v: &Value) {
        let addr = match v {
            Value::Int(i) => std::ptr::without_provenance_mut(*i as usize),
            Value::Float(x) => std::ptr::without_provenance_mut(x.to_bits() as usize),
            // The bool's byte is the payload's first: `to_le` puts it there on any byte order.
            Value::Bool(b) => std::ptr::without_provenance_mut(usize::from(*b).to_le()),
            Value::None | Value::Ellipsis | Value::NotImplemented => std::ptr::null_mut(),
            Value::Undefined => return,
            _ if super::value_count::refers(v) => {
                if free_threaded() && super::may_be_freed(v) {
                    return;
                }
                // SAFETY: `v` holds one `Ref` (`refers`), its second word: read as the pointer
                // it is, with its provenance.
                unsafe { (*(v as *const Value as *const Words)).addr }
            }
            // A kind of value the cases above do not know: not kept.
            _ => return,
        };
        let words = Words {
            tag: tag_of(v),
            addr,
        };
        if free_threaded() {
            // Another thread filling the slot at once gives up (`None`): its answer will do.
            let _ = self.words.write(a, b, words);
        } else {
            // GIL model: no other thread reads or fills the slot while this one holds the GIL.
            self.words.store(a, b, words);
        }
    }
}
