//! Stage 4 (VM), the interpreter.
//! Global variables with a per-instruction cache: `LoadGlobal`/`StoreGlobal` remember where the
//! name was found last time, so a loop does not hash the name on every access.
//!
//! * A name found in the module's globals: the instruction's inline cache word
//!   (`Code::cache`, see `interp/code.rs`) has bit 63 set and the entry's index in the low 32
//!   bits; the entry's key is checked on every use, so a stale index just falls back to the
//!   full lookup.
//! * A builtin (CPython's `LOAD_GLOBAL_BUILTIN`): the instruction's [`StampedRef`]
//!   (`CodeBody::builtin_slots`) holds the value with the globals' `layout` stamp (the name
//!   was absent from them) and the builtins' `version` stamp (the value was there). Every
//!   change of a dict stamps it (`Dict::write` hands out no exclusive access without), and
//!   stamps are unique among dicts, so a hit is two comparisons and a clone. How the
//!   remembered value is owned (free-threaded too) is `heap/stamped.rs`'s comment.
//!
//! [`StampedRef`]: crate::heap::StampedRef

use std::sync::atomic::Ordering;

use crate::heap::Ref;
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

impl Interp {
    /// The hit path of `LoadGlobal` at instruction `ip`, inlined into the dispatch loop: the
    /// value where the cache says, if the entry there is still the name (CPython's
    /// `LOAD_GLOBAL_MODULE`), or the builtin the site's slot holds if the globals' keys and the
    /// builtins are as they were when it was filled (`LOAD_GLOBAL_BUILTIN`: no lock, two
    /// stamps compared), pushed onto `stack`. `false`, the stack untouched, sends the loop to
    /// [`Interp::load_global_slow`]. A global is read under a shared borrow (free-threaded:
    /// the dict's read lock, which threads loading globals at once can hold together).
    ///
    /// Takes the running code's body (which the loop holds) rather than its `Code`, whose
    /// every field access checks that a lazily decoded body is there, and answers a `bool`,
    /// not a `PyResult`: the loop's miss path is the only place that deals with errors. The
    /// value is pushed here, from the table's entry, rather than handed back: handed back as an
    /// `Option<Value>` (the hit and the miss path joining before one push), LLVM tested the
    /// option's tag, spilled the value to the stack frame and read it back: about 20 machine
    /// instructions of the 86 a builtin's load cost then (callgrind, `ord`/`len`/`isinstance`
    /// loop; with the stamped slot a builtin's load is 56 after the dispatch).
    #[inline(always)]
    pub(crate) fn push_global_hit(
        &self,
        globals: &Dict,
        code: &CodeBody,
        n: u32,
        ip: usize,
        stack: &mut Vec<Value>,
    ) -> bool {
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
                crate::heap::push_inline(stack, v.clone());
                true
            }
            _ => false,
        }
    }

    /// `LoadGlobal` when the cache did not answer: the full lookup, remembering where the name
    /// was found.
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
        let layout = {
            // Read with the table borrowed: the stamp of a table without the name.
            let (map, layout, _) = globals.read_named();
            if let Some((i, _, v)) = map.get_full(key) {
                if let Some(c) = cache {
                    c.word.store(IN_GLOBALS | i as u64, Ordering::Relaxed);
                }
                return Ok(v.clone());
            }
            layout
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
