//! Code loaded for execution: a compiler `CodeObject` with its constants turned into runtime values once.

use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::Arc;

use minivm_compiler::bytecode::{CodeObject, Constant, Op};

use crate::heap::Ref;
use crate::object::{intern_name, HashKey};
use crate::value::Value;

pub struct Code {
    pub obj: Arc<CodeObject>,
    pub ops: Box<[Op]>,
    pub consts: Box<[Value]>,
    /// For constants that are code objects, their loaded form (for `MakeFunction`).
    pub children: Box<[Option<Ref<Code>>]>,
    /// `names` as ready-hashed dict keys (global lookups) and as shared strings (attributes).
    pub name_keys: Box<[HashKey]>,
    pub names: Box<[Arc<str>]>,
    pub name: Arc<str>,
    pub qualname: Arc<str>,
    pub nlocals: usize,
    /// How many positional arguments a call binds by moving them into the first local slots
    /// (no keyword-only parameters, no `*args`/`**kwargs`): the parameter count, or `u32::MAX`
    /// when the general binder is needed. One comparison on every call instead of four.
    pub simple_args: u32,
    /// No cell variables (so a frame needs no cells made unless the function has a closure).
    pub no_cellvars: bool,
    /// One inline cache per instruction (most stay unused): where `LoadGlobal`/`StoreGlobal`,
    /// `LoadAttr`/`StoreAttr` and `CallMethod` found their name last time.
    pub cache: Box<[InlineCache]>,
}

/// An instruction's inline cache (as CPython 3.11's, PEP 659): hints about where the
/// instruction's name was found last time, so that the next run of the instruction can go
/// straight there instead of hashing the name. A hint is only ever an index, and the entry
/// it points at is checked (its key is the name, its table is current) before it is used: a
/// stale hint, or one written by another thread at the same moment (`--gil off`), costs a
/// full lookup, never a wrong answer. Hence relaxed atomics and no lock.
#[derive(Default)]
pub struct InlineCache {
    /// Globals (`interp/globals.rs`): where and in which dict. Attributes (`interp/attr.rs`):
    /// the index of the attribute in the instance's attribute table.
    pub word: AtomicU64,
    /// Attributes and methods: the index of the answer in the class's lookup cache
    /// (`Class::lookup_hinted`).
    pub class_hint: AtomicU32,
}

impl Code {
    pub fn load(obj: Arc<CodeObject>) -> Ref<Code> {
        let mut consts = Vec::with_capacity(obj.consts.len());
        let mut children = Vec::with_capacity(obj.consts.len());
        for c in &obj.consts {
            match c {
                Constant::Code(child) => {
                    consts.push(Value::None);
                    children.push(Some(Code::load(child.clone())));
                }
                other => {
                    consts.push(constant_value(other));
                    children.push(None);
                }
            }
        }
        let names: Vec<Arc<str>> = obj.names.iter().map(|n| intern_name(n)).collect();
        Ref::new(Code {
            ops: obj.code.clone().into_boxed_slice(),
            consts: consts.into_boxed_slice(),
            children: children.into_boxed_slice(),
            name_keys: obj
                .names
                .iter()
                .map(|n| {
                    let v = Value::Str(crate::object::intern(n));
                    HashKey::from_value(v).unwrap_or_else(|_| HashKey::from_str(n))
                })
                .collect(),
            names: names.into_boxed_slice(),
            name: Arc::from(obj.name.as_str()),
            qualname: Arc::from(obj.qualname.as_str()),
            // Hidden slots (a range loop's counter) follow the named locals.
            nlocals: obj.varnames.len() + obj.hidden_slots as usize,
            cache: obj.code.iter().map(|_| InlineCache::default()).collect(),
            simple_args: if obj.kwonlyargcount == 0 && !obj.flags.varargs && !obj.flags.varkeywords
            {
                obj.argcount
            } else {
                u32::MAX
            },
            no_cellvars: obj.cellvars.is_empty(),
            obj,
        })
    }

    /// The source range of instruction `ip` (`(0, 0)` when not recorded).
    pub fn span_at(&self, ip: usize) -> (u32, u32) {
        self.obj.spans.get(ip).copied().unwrap_or((0, 0))
    }

    pub fn line_at(&self, ip: usize) -> u32 {
        self.obj
            .lines
            .get(ip)
            .copied()
            .unwrap_or(self.obj.first_line)
    }
}

fn constant_value(c: &Constant) -> Value {
    match c {
        Constant::None => Value::None,
        Constant::Bool(b) => Value::Bool(*b),
        Constant::Int(i) => Value::Int(*i),
        // The lexer checked the digits (and CPython's digit limit) already.
        Constant::BigInt(s) => {
            crate::num::bigint::parse_literal(s).map_or(Value::None, Value::from)
        }
        Constant::Float(f) => Value::Float(*f),
        Constant::Imag(f) => {
            crate::builtins::complex::new_complex(crate::builtins::complex::Complex::new(0.0, *f))
        }
        Constant::Str(s) => Value::str(s),
        Constant::Bytes(b) => Value::bytes(b.to_vec()),
        Constant::Ellipsis => Value::Ellipsis,
        Constant::Tuple(items) => Value::tuple(items.iter().map(constant_value).collect()),
        Constant::Code(_) => Value::None,
    }
}
