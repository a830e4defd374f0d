//! Stage 4 (VM), the interpreter.
//! Global variables with per-instruction and per-name caches: `LoadGlobal`/`StoreGlobal`
//! remember where the name was found last time, and `LoadGlobal` what it found, so a loop does
//! not hash the name on every access.
//!
//! * The value (CPython 3.11 keeps only the entry's index; this is one step further): each
//!   name of a code object has a [`StampedValue`] (`CodeBody::global_slots`) holding the value
//!   its `LoadGlobal`s found last, in the globals or in the builtins, with both dicts'
//!   `version` stamps. Every change of a dict stamps it, values included (`Dict::write` hands
//!   out no exclusive access without), and stamps are unique among dicts, so while both
//!   stamps are as they were the value is still the name's: a hit is two comparisons and a
//!   clone, no lock. The slot owns no count: the dict holding the value keeps it alive (with
//!   the GIL off, only values that cannot be freed are kept; `heap/stamped.rs`).
//! * A name found in the module's globals: the instruction's inline cache word
//!   (`Code::cache`, see `interp/code.rs`) has bit 63 set and the entry's index in the low 32
//!   bits; the entry's key is checked on every use, so a stale index just falls back to the
//!   full lookup. It answers when the value slot does not because some global changed (a
//!   module-level loop's counter), and fills the slot again.
//! * A builtin (CPython's `LOAD_GLOBAL_BUILTIN`): the instruction's [`StampedRef`]
//!   (`CodeBody::builtin_slots`) holds the value with the globals' `layout` stamp (the name
//!   was absent from them) and the builtins' `version` stamp (the value was there): unlike the
//!   value slot's, these stamps stay while the values of the globals change. How the
//!   remembered value is owned (free-threaded too) is `heap/stamped.rs`'s comment.
//!
//! [`StampedRef`]: crate::heap::StampedRef
//! [`StampedValue`]: crate::heap::StampedValue

use std::sync::atomic::Ordering;

use crate::heap::{Ref, StampedValue};
use crate::interp::code::{Code, CodeBody};
use crate::interp::Interp;
use crate::object::{Dict, HashKey};
use crate::value::Value;
use crate::PyResult;

const IN_GLOBALS: u64 = 1 << 63;

#[inline(always)]
fn same_key(k: &HashKey, want: &HashKey) -> bool {
    match (&k.value, &want.value) {
        // Names are interned (`object::intern`), so a hit is usually a pointer comparison.
        (Value::Str(a), Value::Str(b)) if Ref::ptr_eq(a, b) => true,
        _ => k == want,
    }
}

/// The value slot of a name a `LoadGlobal` found where its cache word said, but which was
/// filled before the globals last changed: filled again, with the stamps the globals and the
/// builtins show now (the globals' read with their table borrowed, so it goes with `v`), when
/// the slot's back-off says so (`StampedValue::due`): code whose globals keep changing (a
/// module-level loop stores its counter at every turn) would otherwise pay a fill at every
/// load. Out of line: the dispatch loop's arm stays small.
#[inline(never)]
fn refill(held: &StampedValue, globals: &Dict, builtins: &Dict, v: &Value) {
    if !held.due() {
        return;
    }
    let (a, b) = (globals.version(), builtins.version());
    // 0: a dict never named (a stamp no slot may hold).
    if a != 0 && b != 0 {
        held.fill(a, b, v);
    }
}

impl Interp {
    /// The hit path of `LoadGlobal` at instruction `ip`, inlined into the dispatch loop, the
    /// value pushed onto `stack`, tried three ways:
    /// * the name's value slot (`CodeBody::global_slots`): the value the name had, in the
    ///   globals or the builtins, if neither dict changed since (their `version` stamps): two
    ///   comparisons and a clone, no lock, nothing hashed;
    /// * otherwise, a name of the globals: the entry where the cache word says, if it is still
    ///   the name (CPython's `LOAD_GLOBAL_MODULE`), read under a shared borrow (free-threaded:
    ///   the dict's read lock), the value slot filled again;
    /// * or a builtin: the one the site's `StampedRef` holds if the globals' keys and the
    ///   builtins are as they were when it was filled (`LOAD_GLOBAL_BUILTIN`), which stays
    ///   true while a global's value changes.
    ///
    /// `false`, the stack untouched, sends the loop to [`Interp::load_global_slow`].
    ///
    /// Takes the running code's body (which the loop holds) rather than its `Code`, whose
    /// every field access checks that a lazily decoded body is there, and answers a `bool`,
    /// not a `PyResult`: the loop's miss path is the only place that deals with errors. The
    /// value is pushed here rather than handed back: handed back as an `Option<Value>` (the hit
    /// and the miss path joining before one push), LLVM tested the option's tag, spilled the
    /// value to the stack frame and read it back: about 20 machine instructions of the 86 a
    /// builtin's load cost then (callgrind, `ord`/`len`/`isinstance` loop).
    #[inline(always)]
    pub(crate) fn push_global_hit(
        &self,
        globals: &Dict,
        code: &CodeBody,
        n: u32,
        ip: usize,
        stack: &mut Vec<Value>,
    ) -> bool {
        let held = code.global_slots.get(n as usize);
        if let Some(held) = held {
            if held.push_if(globals.version(), || self.vm.builtins.version(), stack) {
                return true;
            }
        }
        let Some(c) = code.cache.get(ip) else {
            return false;
        };
        let cached = c.word.load(Ordering::Relaxed);
        if cached & IN_GLOBALS == 0 {
            // A builtin, or nothing known yet.
            return match code
                .builtin_slots
                .get(c.class_hint.load(Ordering::Relaxed) as usize)
            {
                Some(slot) => slot.push_if(globals.layout(), self.vm.builtins.version(), stack),
                None => false,
            };
        }
        let Some(key) = code.name_keys.get(n as usize) else {
            return false;
        };
        let Ok(map) = globals.try_read() else {
            return false;
        };
        match map.get_index((cached & 0xFFFF_FFFF) as usize) {
            // Not `bool::then` with a closure: the compiler kept that closure (the clone's
            // match on the value's kind) out of line, a call per load (callgrind).
            Some((k, v)) if same_key(k, key) => {
                if let Some(held) = held {
                    refill(held, globals, &self.vm.builtins, v);
                }
                crate::heap::push_inline(stack, v.clone());
                true
            }
            _ => false,
        }
    }

    /// `LoadGlobal` when the cache did not answer: the full lookup, remembering where the name
    /// was found (the cache word, the site's builtin slot) and what it found (the name's value
    /// slot, with both dicts' stamps: the builtins' read after the globals' table is let go,
    /// so that a program running with the builtins' dict as its globals takes no lock twice).
    #[inline(never)]
    pub(crate) fn load_global_slow(
        &self,
        globals: &Dict,
        code: &Code,
        n: u32,
        ip: usize,
    ) -> PyResult<Value> {
        let key = &code.name_keys[n as usize];
        let cache = code.cache.get(ip);
        let held = code.global_slots.get(n as usize);
        let (layout, gversion) = {
            // Read with the table borrowed: the stamps of a table without the name.
            let (map, layout, version) = globals.read_named();
            if let Some((i, _, v)) = map.get_full(key) {
                if let Some(c) = cache {
                    c.word.store(IN_GLOBALS | i as u64, Ordering::Relaxed);
                }
                let v = v.clone();
                drop(map);
                if let Some(held) = held {
                    let (_, _, bversion) = self.vm.builtins.read_named();
                    held.fill(version, bversion, &v);
                }
                return Ok(v);
            }
            (layout, version)
        };
        let found = {
            let (map, _, version) = self.vm.builtins.read_named();
            map.get(key).map(|v| (v.clone(), version))
        };
        match found {
            Some((v, version)) => {
                if let Some(c) = cache {
                    c.word.store(0, Ordering::Relaxed);
                    if let Some(slot) = code
                        .builtin_slots
                        .get(c.class_hint.load(Ordering::Relaxed) as usize)
                    {
                        slot.fill(layout, version, &v);
                    }
                }
                if let Some(held) = held {
                    held.fill(gversion, version, &v);
                }
                Ok(v)
            }
            None => Err(self.name_error(code, globals, n)),
        }
    }

    /// `StoreGlobal` at instruction `ip`.
    #[inline(always)]
    pub(crate) fn store_global_cached(
        &self,
        globals: &Dict,
        code: &CodeBody,
        n: u32,
        ip: usize,
        v: Value,
    ) {
        if let (Some(key), Some(c)) = (code.name_keys.get(n as usize), code.cache.get(ip)) {
            let cached = c.word.load(Ordering::Relaxed);
            if cached & IN_GLOBALS != 0 {
                if let Ok(mut map) = globals.try_write() {
                    if let Some((k, old)) = map.get_index_mut((cached & 0xFFFF_FFFF) as usize) {
                        if same_key(k, key) {
                            let old = std::mem::replace(old, v);
                            drop(map);
                            old.discard();
                            return;
                        }
                    }
                }
            }
        }
        self.store_global_slow(globals, code, n, ip, v)
    }

    /// `StoreGlobal` when the cache did not answer.
    #[inline(never)]
    fn store_global_slow(&self, globals: &Dict, code: &CodeBody, n: u32, ip: usize, v: Value) {
        let key = &code.name_keys[n as usize];
        let slot = code.cache.get(ip).map(|c| &c.word);
        globals.set(key.clone(), v);
        let i = globals.read().get_index_of(key);
        if let (Some(s), Some(i)) = (slot, i) {
            s.store(IN_GLOBALS | i as u64, Ordering::Relaxed);
        }
    }
}
