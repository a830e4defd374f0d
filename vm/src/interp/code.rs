//! Code loaded for execution: a compiler `CodeObject` with its constants turned into runtime values once.

use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::{Arc, OnceLock};

use minivm_compiler::bytecode::{CodeObject, Constant, Op};

use crate::heap::Ref;
use crate::object::{intern_name, HashKey};
use crate::value::Value;

pub struct Code {
    /// The code object's header: name, parameters, flags, cells, what making a function and
    /// binding its arguments need. For a function of the frozen library not run yet, only that
    /// (`lazy_body` says where the rest waits); everything else goes through the body
    /// ([`CodeBody::obj`]), which `Deref` decodes on first use.
    pub head: Arc<CodeObject>,
    pub name: Arc<str>,
    pub qualname: Arc<str>,
    pub nlocals: usize,
    /// How many positional arguments a call binds by moving them into the first local slots
    /// (no keyword-only parameters, no `*args`/`**kwargs`): the parameter count, or `u32::MAX`
    /// when the general binder is needed. One comparison on every call instead of four.
    pub simple_args: u32,
    /// `simple_args` for a function whose call runs as a plain frame: not a generator or
    /// coroutine and without cell variables, so a call only moves its arguments into the first
    /// slots (`Interp::plain_call`, inline in the `Call` arms); `u32::MAX` otherwise.
    pub plain_args: u32,
    /// Operand stack slots a frame of this code reserves (the compiler's maximum depth, and
    /// two to spare), read without reaching into `obj`.
    pub stack_size: usize,
    /// No cell variables (so a frame needs no cells made unless the function has a closure).
    pub no_cellvars: bool,
    /// The instructions and tables, made once: at load for code the compiler just made, at
    /// first use for a frozen function's body. `code.ops`, `code.obj`... reach it through
    /// `Deref`, so no use of a body can see it missing.
    body: OnceLock<CodeBody>,
    /// The `code` object programs see (`f.__code__`, `gen.gi_code`, `frame.f_code`), made on
    /// first use and shared, so that `g.gi_code is f.__code__` (`builtins::eval::code_value`).
    pub value: OnceLock<Value>,
}

/// The part of a [`Code`] that running it needs.
pub struct CodeBody {
    /// The whole code object (with the header's fields too).
    pub obj: Arc<CodeObject>,
    pub ops: Box<[Op]>,
    pub consts: Box<[Value]>,
    /// For constants that are code objects, their loaded form (for `MakeFunction`).
    pub children: Box<[Option<Ref<Code>>]>,
    /// `names` as ready-hashed dict keys (global lookups) and as shared strings (attributes).
    pub name_keys: Box<[HashKey]>,
    pub names: Box<[Arc<str>]>,
    /// One inline cache per instruction (most stay unused): where `LoadGlobal`/`StoreGlobal`,
    /// `LoadAttr`/`StoreAttr` and `CallMethod` found their name last time.
    pub cache: Box<[InlineCache]>,
    /// One per `LoadGlobal` (its inline cache's `class_hint` is the index): the builtin it
    /// found, with the stamps of the globals and builtins it is valid for
    /// (`interp/globals.rs`).
    pub builtin_slots: Box<[crate::heap::StampedRef]>,
    /// One per name (`names`' index), for the `LoadGlobal`s of that name: the value they
    /// found last, in the globals or the builtins, with the two dicts' `version` stamps it is
    /// valid for (`interp/globals.rs`).
    pub global_slots: Box<[crate::heap::StampedValue]>,
}

impl std::ops::Deref for Code {
    type Target = CodeBody;

    #[inline(always)]
    fn deref(&self) -> &CodeBody {
        match self.body.get() {
            Some(body) => body,
            None => self.decode_body(),
        }
    }
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
    /// Attributes: the instruction's name's bit in a class's filter of data-descriptor names
    /// (`object::descriptor_name_bit`), once worked out (0 until then). It sits in what was
    /// the struct's padding.
    pub name_bit: AtomicU32,
}

impl Code {
    pub fn load(obj: Arc<CodeObject>) -> Ref<Code> {
        let body = OnceLock::new();
        if obj.lazy_body.is_none() {
            let _ = body.set(CodeBody::new(obj.clone()));
        }
        let head = &obj;
        Ref::new(Code {
            name: Arc::from(head.name.as_str()),
            qualname: Arc::from(head.qualname.as_str()),
            // Hidden slots (a range loop's counter) follow the named locals.
            nlocals: head.varnames.len() + head.hidden_slots as usize,
            simple_args: if head.kwonlyargcount == 0
                && !head.flags.varargs
                && !head.flags.varkeywords
            {
                head.argcount
            } else {
                u32::MAX
            },
            no_cellvars: head.cellvars.is_empty(),
            plain_args: if head.kwonlyargcount == 0
                && !head.flags.varargs
                && !head.flags.varkeywords
                && !head.flags.generator
                && head.cellvars.is_empty()
            {
                head.argcount
            } else {
                u32::MAX
            },
            stack_size: head.max_stack as usize + 2,
            head: obj,
            body,
            value: OnceLock::new(),
        })
    }

    /// A frozen function's body, decoded the first time it is needed (by the first thread to
    /// get here; others wait for it).
    #[cold]
    #[inline(never)]
    fn decode_body(&self) -> &CodeBody {
        self.body.get_or_init(|| {
            let obj = minivm_compiler::serialize::decode_body(&self.head)
                .unwrap_or_else(|| damaged(&self.head));
            CodeBody::new(obj)
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

impl CodeBody {
    fn new(obj: Arc<CodeObject>) -> CodeBody {
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
        CodeBody {
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
            names: obj.names.iter().map(|n| intern_name(n)).collect(),
            cache: obj
                .code
                .iter()
                .scan(0u32, |slots, op| {
                    let c = InlineCache::default();
                    if let Op::LoadGlobal(_) = op {
                        c.class_hint
                            .store(*slots, std::sync::atomic::Ordering::Relaxed);
                        *slots += 1;
                    }
                    Some(c)
                })
                .collect(),
            builtin_slots: obj
                .code
                .iter()
                .filter(|op| matches!(op, Op::LoadGlobal(_)))
                .map(|_| crate::heap::StampedRef::default())
                .collect(),
            // None for a module's own code: every loop at module level stores its counter in
            // the globals at each turn, so the slots would go stale between any two uses
            // (callgrind: a module-level loop making three global loads a turn cost 1,544
            // machine instructions per turn with no slots, 1,696 with them).
            global_slots: if obj.name == "<module>" {
                Box::default()
            } else {
                obj.names
                    .iter()
                    .map(|_| crate::heap::StampedValue::default())
                    .collect()
            },
            obj,
        }
    }
}

/// What runs in place of a frozen function body that does not decode: raising SystemError.
/// `vm/build.rs` decodes every body at build time, so only a damaged binary gets here.
fn damaged(head: &CodeObject) -> Arc<CodeObject> {
    let src = format!(
        "def f(*args, **kwargs):\n    raise SystemError('the frozen code of {} is damaged')\n",
        head.qualname.replace(['\\', '\''], "")
    );
    let module = minivm_compiler::compile_source(&src, &head.filename, minivm_compiler::Mode::File);
    let body = module.ok().and_then(|m| {
        m.consts.iter().find_map(|c| match c {
            Constant::Code(f) => Some(f.clone()),
            _ => None,
        })
    });
    // Compiling these two fixed lines cannot fail; were it to, an empty body ends the call.
    body.unwrap_or_else(|| {
        let mut c = head.clone();
        c.lazy_body = None;
        Arc::new(c)
    })
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
        // CPython's compiler interns the string constants made of name characters
        // (`all_name_chars`): equal ones of different code objects are one object.
        Constant::Str(s) if s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => {
            Value::Str(crate::object::intern(s))
        }
        Constant::Str(s) => Value::str(s),
        Constant::Bytes(b) => Value::bytes(b.to_vec()),
        Constant::Ellipsis => Value::Ellipsis,
        Constant::Tuple(items) => Value::tuple(items.iter().map(constant_value).collect()),
        Constant::Code(_) => Value::None,
    }
}
