//! Stage 4 (VM), the interpreter.
//! Global variables with a per-instruction cache: `LoadGlobal`/`StoreGlobal` remember where the
//! name was found last time, so a loop at module level does not hash the name on every access.
//!
//! The instruction's inline cache word (`Code::cache`, see `interp/code.rs`), 0 when empty:
//! * bit 63 set: the name is in the module's globals at entry index `low 32 bits`; the entry's key
//!   is checked on every use, so a stale index just falls back to the full lookup;
//! * bit 62 set: the name is a builtin at index `low 32 bits` of the builtins dict, and was absent
//!   from the globals when the globals' layout version was `bits 32..62`; any key added to or
//!   removed from the globals since changes that version and invalidates the entry.

use std::sync::atomic::Ordering;

use crate::heap::Ref;
use crate::interp::code::{Code, CodeBody};
use crate::interp::Interp;
use crate::object::{Dict, HashKey};
use crate::value::Value;
use crate::PyResult;

const IN_GLOBALS: u64 = 1 << 63;
const IN_BUILTINS: u64 = 1 << 62;
const LAYOUT_MASK: u64 = (1 << 30) - 1;

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
    /// `LOAD_GLOBAL_MODULE`/`LOAD_GLOBAL_BUILTIN`), pushed onto `stack`. `false`, the stack
    /// untouched, sends the loop to [`Interp::load_global_slow`]. It reads the globals under a
    /// shared borrow (free-threaded: the dict's read lock, which threads loading globals at
    /// once can hold together).
    ///
    /// Takes the running code's body (which the loop holds) rather than its `Code`, whose
    /// every field access checks that a lazily decoded body is there, and answers a `bool`,
    /// not a `PyResult`: the loop's miss path is the only place that deals with errors. The
    /// value is pushed here, from the table's entry, rather than handed back: handed back as an
    /// `Option<Value>` (the hit and the miss path joining before one push), LLVM tested the
    /// option's tag, spilled the value to the stack frame and read it back: about 20 machine
    /// instructions of the 86 a builtin's load cost (callgrind, `ord`/`len`/`isinstance` loop).
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
        let table = if cached & IN_GLOBALS != 0 {
            globals
        } else if cached & IN_BUILTINS != 0
            && (cached >> 32) & LAYOUT_MASK == globals.layout.load(Ordering::Acquire) & LAYOUT_MASK
        {
            &self.vm.builtins
        } else {
            return false;
        };
        let Some(key) = code.name_keys.get(n as usize) else {
            return false;
        };
        let Ok(map) = table.map.try_read() else {
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
        let slot = code.cache.get(ip).map(|c| &c.word);
        let layout = globals.layout.load(Ordering::Acquire) & LAYOUT_MASK;
        if let Some((i, _, v)) = globals.map.lock().get_full(key) {
            if let Some(s) = slot {
                s.store(IN_GLOBALS | i as u64, Ordering::Relaxed);
            }
            return Ok(v.clone());
        }
        if let Some((i, _, v)) = self.vm.builtins.map.lock().get_full(key) {
            if let Some(s) = slot {
                s.store(IN_BUILTINS | (layout << 32) | i as u64, Ordering::Relaxed);
            }
            return Ok(v.clone());
        }
        Err(self.name_error(code, globals, n))
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
                if let Ok(mut map) = globals.map.try_lock() {
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
        if let (Some(s), Some(i)) = (slot, globals.map.lock().get_index_of(key)) {
            s.store(IN_GLOBALS | i as u64, Ordering::Relaxed);
        }
    }
}
