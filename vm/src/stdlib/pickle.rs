//! `_pickle_accel` (stdlib stage): the fast path of `pickle.dumps` and `pickle.loads` in Rust,
//! as CPython's C module `_pickle` is for `pickle.py`. `vm/lib/pickle.mini` keeps the whole
//! pickler and unpickler in the mini language (instances, `__reduce__`, exceptions, protocols 0
//! and 1, Python 2's names, every error message); this module only speeds up the common case and
//! answers "not mine" (`None`) for everything else, and the mini code then starts over, as
//! `_json` does for `json`:
//!
//! - `dumps(obj, protocol)` (protocol 2 to 5): the pickle of a value made of `None`, bools,
//!   ints of any size, floats, str, bytes (protocol 3 on), bytearray (5), tuples, lists, dicts,
//!   sets and frozensets (4 on), and functions and classes that can be found again by module
//!   and qualified name (3 on), with exactly the bytes of CPython's C pickler: its memo, its
//!   batches of a thousand items (a dict or set of 1000*k items ends with an empty batch, as
//!   CPython's `batch_dict_exact` writes it), its 64 KiB frames (a frame is committed at the
//!   start of an object's pickling once it is that big, a payload that big goes outside the
//!   frames, a frame under 4 bytes gets no FRAME opcode). Instances of the program's classes
//!   too, as the mini pickler writes them (`Pickler::save_instance`: through the class's
//!   `__reduce_ex__` or `__reduce__`, or NEWOBJ and BUILD with `__getstate__()` or the
//!   attributes). `None` for anything else: an instance with other hooks, an exception, a
//!   module not yet imported, a local function, nesting deeper than `MAX_DEPTH`.
//!   Python-visible actions: reading attributes (`__qualname__`, `__module__`, a module's
//!   attribute path) and calling the instances' `__reduce_ex__`/`__reduce__`/`__getstate__`
//!   (protocol 3 on); when a pickle is handed to the mini pickler after such calls (an
//!   object met later is not this module's), `dumps` returns the list of `(object, result)`
//!   of those calls instead of `None`, and the mini pickler uses the results rather than call
//!   the hooks again.
//! - `loads(data)`: `(value,)` for a pickle made of the opcodes of the values above (any
//!   protocol's binary forms; GLOBAL only from protocol 3 on, where no Python 2 names apply)
//!   and of instances (REDUCE, NEWOBJ, BUILD, importing the modules named), `None` for
//!   anything else (text opcodes, NEWOBJ_EX, persistent ids, damaged data). The opcodes are
//!   checked first (`scan`), so it gives up only before Python code has run; damaged data
//!   found after that (a memo index never set) is an `UnpicklingError`.

use std::collections::HashMap;

use crate::builtins::Methods;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::num::BigInt;
use crate::object::class::{types, Class, Instance, Payload};
use crate::object::{Dict, HashKey, KeySet, Module, SetObj};
use crate::value::Value;
use crate::PyResult;
use std::sync::Arc;

const FUNCS: Methods = &[("dumps", dumps), ("loads", loads)];

/// Nesting deeper than this is left to the mini code: the Rust stack stays bounded.
const MAX_DEPTH: usize = 200;
/// Modules whose classes are C types in CPython (written in the mini language here): their
/// qualified names are not interned, so a pickle writes each one out (`save_global`).
const C_TYPE_MODULES: [&str; 1] = ["datetime"];
/// Items per APPENDS / SETITEMS / ADDITEMS, as CPython.
const BATCH: usize = 1000;
/// CPython's frame size target, and the smallest frame worth its header.
const FRAME_TARGET: usize = 64 * 1024;
const FRAME_MIN: usize = 4;
const FRAME_HEADER: usize = 9;

// The opcodes (CPython's names).
const MARK: u8 = b'(';
const STOP: u8 = b'.';
const POP: u8 = b'0';
const POP_MARK: u8 = b'1';
const DUP: u8 = b'2';
const BININT: u8 = b'J';
const BININT1: u8 = b'K';
const BININT2: u8 = b'M';
const NONE: u8 = b'N';
const BINUNICODE: u8 = b'X';
const APPEND: u8 = b'a';
const GLOBAL: u8 = b'c';
const DICT: u8 = b'd';
const EMPTY_DICT: u8 = b'}';
const APPENDS: u8 = b'e';
const BINGET: u8 = b'h';
const LONG_BINGET: u8 = b'j';
const LIST: u8 = b'l';
const EMPTY_LIST: u8 = b']';
const BINPUT: u8 = b'q';
const LONG_BINPUT: u8 = b'r';
const SETITEM: u8 = b's';
const TUPLE: u8 = b't';
const EMPTY_TUPLE: u8 = b')';
const SETITEMS: u8 = b'u';
const BINFLOAT: u8 = b'G';
const BINBYTES: u8 = b'B';
const REDUCE: u8 = b'R';
const BUILD: u8 = b'b';
const NEWOBJ: u8 = 0x81;
const SHORT_BINBYTES: u8 = b'C';
const PROTO: u8 = 0x80;
const TUPLE1: u8 = 0x85;
const TUPLE2: u8 = 0x86;
const TUPLE3: u8 = 0x87;
const NEWTRUE: u8 = 0x88;
const NEWFALSE: u8 = 0x89;
const LONG1: u8 = 0x8a;
const LONG4: u8 = 0x8b;
const SHORT_BINUNICODE: u8 = 0x8c;
const BINUNICODE8: u8 = 0x8d;
const BINBYTES8: u8 = 0x8e;
const EMPTY_SET: u8 = 0x8f;
const ADDITEMS: u8 = 0x90;
const FROZENSET: u8 = 0x91;
const STACK_GLOBAL: u8 = 0x93;
const MEMOIZE: u8 = 0x94;
const FRAME: u8 = 0x95;
const BYTEARRAY8: u8 = 0x96;

pub fn module() -> Ref<Module> {
    super::module_from_fns("_pickle_accel", FUNCS, vec![])
}

/// The value met something only the mini code handles.
struct NotMine;

/// What the memo knows an object by: its identity, or, for the objects CPython keeps one copy
/// of (the empty str and the one-character strs below U+0100, the empty and one-byte bytes),
/// its value, so that two equal ones are one memo entry as in CPython's pickles.
#[derive(Hash, PartialEq, Eq, Clone, Copy)]
enum MemoKey {
    Id(usize),
    /// The empty str (`u32::MAX`) or a one-character str's code point.
    Char(u32),
    /// The empty bytes (256) or a one-byte bytes' value.
    Byte(u16),
}

/// Which of the strs CPython keeps one object of `s` is: `u32::MAX` for the empty str, the code
/// point of a one-character str below U+0100 (`marshal` keys them the same way).
pub(crate) fn cached_str(s: &str) -> Option<u32> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (None, _) => Some(u32::MAX),
        (Some(c), None) if (c as u32) < 256 => Some(c as u32),
        _ => None,
    }
}

fn str_key(s: &str) -> Option<MemoKey> {
    cached_str(s).map(MemoKey::Char)
}

fn memo_key(v: &Value) -> MemoKey {
    match v {
        Value::Str(s) => str_key(s.as_str()).unwrap_or(MemoKey::Id(v.id())),
        Value::Bytes(b) => match b.as_bytes() {
            [] => MemoKey::Byte(256),
            [c] => MemoKey::Byte(u16::from(*c)),
            _ => MemoKey::Id(v.id()),
        },
        _ => MemoKey::Id(v.id()),
    }
}

type Done = Result<(), NotMine>;

// --- pickling ----------------------------------------------------------------------------------

fn dumps(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (Some(obj), Some(Value::Int(proto))) = (args.pos.first(), args.pos.get(1)) else {
        return Ok(Value::None);
    };
    let Ok(proto @ 2..=5) = u8::try_from(*proto) else {
        return Ok(Value::None);
    };
    let mut p = Pickler {
        interp,
        proto,
        out: Vec::new(),
        framing: false,
        frame_start: None,
        memo: HashMap::new(),
        names: HashMap::new(),
        keep: Vec::new(),
        error: None,
        hooked: Vec::new(),
    };
    p.write(&[PROTO, proto]);
    p.framing = proto >= 4;
    let done = p.save(obj, 0).map(|()| {
        p.write(&[STOP]);
        p.commit_frame();
    });
    if let Some(e) = p.error.take() {
        return Err(e);
    }
    Ok(match done {
        Ok(()) => Value::bytes(std::mem::take(&mut p.out)),
        // What the hooks run so far returned: the mini pickler uses it rather than run them
        // again.
        Err(NotMine) if !p.hooked.is_empty() => Value::list(std::mem::take(&mut p.hooked)),
        Err(NotMine) => Value::None,
    })
}

struct Pickler<'a> {
    interp: &'a mut Interp,
    proto: u8,
    out: Vec<u8>,
    /// Protocol 4 on: the output goes in frames.
    framing: bool,
    /// Where the open frame's header (9 placeholder bytes) starts.
    frame_start: Option<usize>,
    /// Memo index by object identity (`MemoKey`).
    memo: HashMap<MemoKey, u32>,
    /// Memo index of the module and qualified names written for globals, by text: CPython
    /// interns such names, so two functions of one module name the same str object.
    names: HashMap<String, u32>,
    /// The memoized objects, alive until the end so that no identity is reused.
    keep: Vec<Value>,
    /// What a `__reduce__` or `__getstate__` of the program raised (the pickling's error).
    error: Option<crate::PyErr>,
    /// `(object, what its hook returned)` for each hook run.
    hooked: Vec<Value>,
}

impl Pickler<'_> {
    /// Append to the output, opening a frame first if framing and none is open.
    fn write(&mut self, data: &[u8]) {
        if self.framing && self.frame_start.is_none() {
            self.frame_start = Some(self.out.len());
            self.out.extend_from_slice(&[0; FRAME_HEADER]);
        }
        self.out.extend_from_slice(data);
    }

    /// Close the open frame: its FRAME header, or no header for a frame under 4 bytes.
    fn commit_frame(&mut self) {
        let Some(start) = self.frame_start.take() else {
            return;
        };
        let len = self.out.len() - start - FRAME_HEADER;
        if len >= FRAME_MIN {
            self.out[start] = FRAME;
            self.out[start + 1..start + FRAME_HEADER].copy_from_slice(&(len as u64).to_le_bytes());
        } else {
            self.out.drain(start..start + FRAME_HEADER);
        }
    }

    /// An opcode's header and a payload: a payload of a frame's size or more goes outside the
    /// frames (the open one is closed first), as CPython's `_Pickler_write_bytes`.
    fn write_payload(&mut self, header: &[u8], payload: &[u8]) {
        if self.framing && payload.len() >= FRAME_TARGET {
            self.commit_frame();
            self.framing = false;
            self.write(header);
            self.write(payload);
            self.framing = true;
        } else {
            self.write(header);
            self.write(payload);
        }
    }

    fn memo_put(&mut self, v: &Value) {
        let idx = self.memo.len() as u32;
        self.memo.insert(memo_key(v), idx);
        self.keep.push(v.clone());
        self.put_opcode(idx);
    }

    fn put_opcode(&mut self, idx: u32) {
        if self.proto >= 4 {
            self.write(&[MEMOIZE]);
        } else if idx < 256 {
            self.write(&[BINPUT, idx as u8]);
        } else {
            let b = idx.to_le_bytes();
            self.write(&[LONG_BINPUT, b[0], b[1], b[2], b[3]]);
        }
    }

    fn memo_get(&mut self, idx: u32) {
        if idx < 256 {
            self.write(&[BINGET, idx as u8]);
        } else {
            let b = idx.to_le_bytes();
            self.write(&[LONG_BINGET, b[0], b[1], b[2], b[3]]);
        }
    }

    fn save(&mut self, v: &Value, depth: usize) -> Done {
        // CPython's `save` starts at an opcode boundary: a big enough frame is closed here.
        if let Some(start) = self.frame_start {
            if self.out.len() - start - FRAME_HEADER >= FRAME_TARGET {
                self.commit_frame();
            }
        }
        if depth > MAX_DEPTH {
            return Err(NotMine);
        }
        match v {
            Value::None => self.write(&[NONE]),
            Value::Bool(b) => self.write(&[if *b { NEWTRUE } else { NEWFALSE }]),
            Value::Int(i) => self.save_int(*i),
            Value::BigInt(b) => self.save_long(b),
            Value::Float(f) => {
                // A NaN's payload is CPython's quiet NaN (minivm's may carry other bits).
                let bits = if f.is_nan() {
                    (f.to_bits() & (1 << 63)) | 0x7ff8_0000_0000_0000
                } else {
                    f.to_bits()
                };
                let mut data = [BINFLOAT; 9];
                data[1..].copy_from_slice(&bits.to_be_bytes());
                self.write(&data);
            }
            _ => {
                if let Some(&idx) = self.memo.get(&memo_key(v)) {
                    self.memo_get(idx);
                    return Ok(());
                }
                self.save_object(v, depth)?;
            }
        }
        Ok(())
    }

    fn save_object(&mut self, v: &Value, depth: usize) -> Done {
        match v {
            Value::Str(s) => {
                self.save_text(s.as_str());
                self.memo_put(v);
            }
            Value::Bytes(b) if self.proto >= 3 => {
                self.sized_payload(Some(SHORT_BINBYTES), BINBYTES, BINBYTES8, b.as_bytes());
                self.memo_put(v);
            }
            Value::ByteArray(b) if self.proto >= 5 => {
                let data = b.snapshot();
                let mut header = vec![BYTEARRAY8];
                header.extend_from_slice(&(data.len() as u64).to_le_bytes());
                self.write_payload(&header, &data);
                self.memo_put(v);
            }
            Value::Tuple(t) => self.save_tuple(v, &t.items, depth)?,
            Value::List(l) => {
                self.write(&[EMPTY_LIST]);
                self.memo_put(v);
                let items = l.snapshot();
                match items.len() {
                    0 => {}
                    1 => {
                        self.save(&items[0], depth + 1)?;
                        self.write(&[APPEND]);
                    }
                    _ => {
                        for batch in items.chunks(BATCH) {
                            self.write(&[MARK]);
                            for item in batch {
                                self.save(item, depth + 1)?;
                            }
                            self.write(&[APPENDS]);
                        }
                    }
                }
            }
            Value::Dict(d) => {
                self.write(&[EMPTY_DICT]);
                self.memo_put(v);
                let items = d.items();
                if items.len() == 1 {
                    self.save(&items[0].0, depth + 1)?;
                    self.save(&items[0].1, depth + 1)?;
                    self.write(&[SETITEM]);
                } else if !items.is_empty() {
                    self.batches(&items, SETITEMS, |p, (k, val)| {
                        p.save(k, depth + 1)?;
                        p.save(val, depth + 1)
                    })?;
                }
            }
            Value::Set(s) if self.proto >= 4 && !s.frozen => {
                self.write(&[EMPTY_SET]);
                self.memo_put(v);
                let items = s.snapshot();
                if !items.is_empty() {
                    self.batches(&items, ADDITEMS, |p, item| p.save(item, depth + 1))?;
                }
            }
            Value::Set(s) if self.proto >= 4 => self.marked(v, &s.snapshot(), FROZENSET, depth)?,
            Value::Function(_) => self.save_global(v)?,
            Value::Class(c) if c.metaclass.is_none() => self.save_global(v)?,
            Value::Instance(inst) if self.proto >= 3 => self.save_instance(v, inst, depth)?,
            _ => return Err(NotMine),
        }
        Ok(())
    }

    /// Run a `__reduce_ex__`, `__reduce__` or `__getstate__` of the program's (the mini
    /// pickler would run it too) with `args` after the object; an exception it raises ends
    /// the pickling.
    fn hook(&mut self, f: &Value, obj: &Value, args: &[Value]) -> Result<Value, NotMine> {
        let mut call_args = Vec::with_capacity(1 + args.len());
        call_args.push(obj.clone());
        call_args.extend_from_slice(args);
        match self.interp.call(f, &call_args) {
            Ok(v) => {
                self.hooked.push(Value::tuple(vec![obj.clone(), v.clone()]));
                Ok(v)
            }
            Err(e) => {
                self.error = Some(e);
                Err(NotMine)
            }
        }
    }

    /// An instance of a class written in the mini language, protocol 2 on, as the mini
    /// pickler's `save_object` writes it: through its class's `__reduce_ex__(protocol)` or
    /// `__reduce__` (a function or class found by name, a tuple of arguments, and a state;
    /// either one decides everything, so `__slots__` or `__getnewargs__` do not matter then,
    /// as for `datetime.date`), or else as NEWOBJ of its class and BUILD with `__getstate__()`
    /// or its attributes (names written once per pickle, as CPython's interned names are).
    /// The mini pickler keeps everything else: `__slots__` and `__getnewargs__` without a
    /// reduce method, `__getattr__`, a metaclass, a reduction registered in `copyreg`,
    /// exceptions and subclasses of built-in types (unless they have a reduce method), classes
    /// of the native modules, and results of a reduce method with more than a state.
    fn save_instance(&mut self, v: &Value, inst: &Ref<Instance>, depth: usize) -> Done {
        const HOOKS: [&str; 8] = [
            "__reduce_ex__",
            "__reduce__",
            "__getstate__",
            "__getattr__",
            "__getattribute__",
            "__slots__",
            "__getnewargs__",
            "__getnewargs_ex__",
        ];
        let cls: &Ref<crate::object::Class> = &inst.class.get();
        let mro = Class::mro(cls);
        // What the program's classes define (the built-in ones define none of these hooks).
        let own = |name: &str| {
            mro.iter()
                .filter(|c| !c.builtin)
                .find_map(|c| c.dict.read().get(name).cloned())
        };
        if cls.metaclass.is_some()
            || &*cls.name() == "method"
            || HOOKS[3..5].iter().any(|n| own(n).is_some())
            || inst.dict.read().keys().any(|k| HOOKS.contains(&&**k))
            || self.copyreg_reduces(cls)
        {
            return Err(NotMine);
        }
        // The pickler asks for `__reduce_ex__` first; `__reduce__` is what `object`'s
        // `__reduce_ex__` calls when a class overrides it.
        let reduce = match own("__reduce_ex__") {
            Some(f) => Some((f, vec![Value::Int(i64::from(self.proto))])),
            None => own("__reduce__").map(|f| (f, Vec::new())),
        };
        if let Some((reduce, args)) = reduce {
            if !matches!(reduce, Value::Function(_)) {
                return Err(NotMine);
            }
            let rv = self.hook(&reduce, v, &args)?;
            return self.save_reduced(v, &rv, depth);
        }
        if HOOKS[5..].iter().any(|n| own(n).is_some()) {
            return Err(NotMine);
        }
        let object = &types().object;
        if !matches!(inst.payload, Payload::None)
            || mro
                .iter()
                .filter(|c| !Ref::ptr_eq(c, object))
                .any(|c| c.builtin || super::copyaccel::NATIVE_MODULES.contains(&&*c.module))
        {
            return Err(NotMine);
        }
        let state = match own("__getstate__") {
            Some(f @ Value::Function(_)) => Some(self.hook(&f, v, &[])?),
            Some(_) => return Err(NotMine),
            None => None,
        };
        self.save(&Value::Class(cls.clone()), depth + 1)?;
        self.write(&[EMPTY_TUPLE, NEWOBJ]);
        self.memo_put(v);
        match state {
            Some(Value::None) => {}
            Some(state) => {
                self.save(&state, depth + 1)?;
                self.write(&[BUILD]);
            }
            None => {
                let items: Vec<(Arc<str>, Value)> = inst
                    .dict
                    .read()
                    .iter()
                    .map(|(k, x)| (k.clone(), x.clone()))
                    .collect();
                if items.is_empty() {
                    return Ok(());
                }
                // The mini pickler's state is a new dict: EMPTY_DICT and its memo entry.
                self.write(&[EMPTY_DICT]);
                self.memo_put(&Value::Dict(Ref::new(Dict::new())));
                let save_item = |p: &mut Self, (k, x): &(Arc<str>, Value)| {
                    p.save_name(k);
                    p.save(x, depth + 2)
                };
                if items.len() == 1 {
                    save_item(self, &items[0])?;
                    self.write(&[SETITEM]);
                } else {
                    self.batches(&items, SETITEMS, save_item)?;
                }
                self.write(&[BUILD]);
            }
        }
        Ok(())
    }

    /// What a `__reduce__` returned: `(func, args)` or `(func, args, state)` (with nothing
    /// after but Nones), `func` a function or class other than `__newobj__`, `args` a tuple;
    /// else the mini pickler's (it runs `__reduce__` again).
    fn save_reduced(&mut self, v: &Value, rv: &Value, depth: usize) -> Done {
        let Value::Tuple(t) = rv else {
            return Err(NotMine);
        };
        let items = &t.items;
        if !(2..=6).contains(&items.len())
            || items.iter().skip(3).any(|x| !matches!(x, Value::None))
        {
            return Err(NotMine);
        }
        let (func, args) = (&items[0], &items[1]);
        let named_newobj = match func {
            Value::Function(_) => matches!(
                self.interp.getattr(func, "__name__"),
                Ok(Value::Str(n)) if n.as_str() == "__newobj__"
            ),
            Value::Class(_) => false,
            _ => return Err(NotMine),
        };
        if named_newobj || !matches!(args, Value::Tuple(_)) {
            return Err(NotMine);
        }
        self.save(func, depth + 1)?;
        self.save(args, depth + 1)?;
        self.write(&[REDUCE]);
        if let Some(&idx) = self.memo.get(&MemoKey::Id(v.id())) {
            self.write(&[POP]);
            self.memo_get(idx);
        } else {
            self.memo_put(v);
        }
        match items.get(2) {
            None | Some(Value::None) => {}
            Some(state) => {
                self.save(state, depth + 1)?;
                self.write(&[BUILD]);
            }
        }
        Ok(())
    }

    /// Whether `copyreg.dispatch_table` has a reduction for `cls` (read, not run).
    fn copyreg_reduces(&mut self, cls: &Ref<Class>) -> bool {
        let Some(copyreg @ Value::Module(_)) = self.interp.vm.sys_modules.get_str("copyreg") else {
            return false;
        };
        match self.interp.getattr(&copyreg, "dispatch_table") {
            Ok(Value::Dict(table)) if !table.is_empty() => {
                match HashKey::from_value(Value::Class(cls.clone())) {
                    Ok(key) => table.get(&key).is_some(),
                    Err(_) => true,
                }
            }
            Ok(Value::Dict(_)) => false,
            _ => true,
        }
    }

    /// A str's opcode and UTF-8 bytes (not memoized here).
    fn save_text(&mut self, s: &str) {
        let short = (self.proto >= 4).then_some(SHORT_BINUNICODE);
        self.sized_payload(short, BINUNICODE, BINUNICODE8, s.as_bytes());
    }

    /// A payload behind the shortest header allowed: a one-byte length (`short`'s opcode),
    /// else a four-byte one (`long`), else an eight-byte one (`huge`).
    fn sized_payload(&mut self, short: Option<u8>, long: u8, huge: u8, data: &[u8]) {
        let n = data.len();
        let mut header = Vec::with_capacity(FRAME_HEADER);
        match (short, u32::try_from(n)) {
            (Some(op), _) if n <= 0xff => header.extend_from_slice(&[op, n as u8]),
            (_, Ok(n)) => {
                header.push(long);
                header.extend_from_slice(&n.to_le_bytes());
            }
            _ => {
                header.push(huge);
                header.extend_from_slice(&(n as u64).to_le_bytes());
            }
        }
        self.write_payload(&header, data);
    }

    /// MARK, up to a thousand items, `close`, again until the items are written; as CPython's
    /// `batch_dict_exact` and `save_set`, a last full batch is followed by an empty one.
    fn batches<T>(
        &mut self,
        items: &[T],
        close: u8,
        mut save: impl FnMut(&mut Self, &T) -> Done,
    ) -> Done {
        let mut rest = items;
        loop {
            let n = rest.len().min(BATCH);
            self.write(&[MARK]);
            for item in &rest[..n] {
                save(self, item)?;
            }
            self.write(&[close]);
            rest = &rest[n..];
            if n < BATCH {
                return Ok(());
            }
        }
    }

    fn save_int(&mut self, i: i64) {
        match i32::try_from(i) {
            Ok(small) => {
                let b = small.to_le_bytes();
                if b[2] == 0 && b[3] == 0 {
                    if b[1] == 0 {
                        self.write(&[BININT1, b[0]]);
                    } else {
                        self.write(&[BININT2, b[0], b[1]]);
                    }
                } else {
                    self.write(&[BININT, b[0], b[1], b[2], b[3]]);
                }
            }
            Err(_) => self.save_long(&BigInt::from(i)),
        }
    }

    /// LONG1 / LONG4: the shortest two's complement little-endian bytes.
    fn save_long(&mut self, b: &BigInt) {
        let data = b.to_signed_bytes_le();
        let n = data.len();
        if n < 256 {
            self.write(&[LONG1, n as u8]);
        } else {
            let mut header = vec![LONG4];
            header.extend_from_slice(&(n as u32).to_le_bytes());
            self.write(&header);
        }
        self.write(&data);
    }

    fn save_tuple(&mut self, v: &Value, items: &[Value], depth: usize) -> Done {
        let n = items.len();
        if n == 0 {
            self.write(&[EMPTY_TUPLE]);
            return Ok(());
        }
        if n <= 3 {
            for item in items {
                self.save(item, depth + 1)?;
            }
            // The tuple may have been pickled while its items were (a cycle through a list).
            if let Some(&idx) = self.memo.get(&MemoKey::Id(v.id())) {
                self.write(&vec![POP; n]);
                self.memo_get(idx);
            } else {
                self.write(&[[TUPLE1, TUPLE2, TUPLE3][n - 1]]);
                self.memo_put(v);
            }
            return Ok(());
        }
        self.marked(v, items, TUPLE, depth)
    }

    /// MARK, the items, then `close` making them the object `v` (a tuple, a frozenset); if
    /// `v` was pickled while its items were (a cycle), the items are dropped for its memo entry.
    fn marked(&mut self, v: &Value, items: &[Value], close: u8, depth: usize) -> Done {
        self.write(&[MARK]);
        for item in items {
            self.save(item, depth + 1)?;
        }
        if let Some(&idx) = self.memo.get(&MemoKey::Id(v.id())) {
            self.write(&[POP_MARK]);
            self.memo_get(idx);
        } else {
            self.write(&[close]);
            self.memo_put(v);
        }
        Ok(())
    }

    /// A function or class by module and qualified name, when that name leads back to it in a
    /// module already imported (the mini pickler imports, and reports what cannot be found).
    fn save_global(&mut self, v: &Value) -> Done {
        if self.proto < 3 {
            return Err(NotMine);
        }
        let text = |r: PyResult<Value>| match r {
            Ok(Value::Str(s)) => Ok(s.as_str().to_string()),
            _ => Err(NotMine),
        };
        let qualname = text(self.interp.getattr(v, "__qualname__"))?;
        let module_name = text(self.interp.getattr(v, "__module__"))?;
        // `pickle`'s own `_codecs_encode` has a name of its own in the mini pickler.
        if module_name == "pickle" || module_name == "_pypickle" {
            return Err(NotMine);
        }
        let Some(module @ Value::Module(_)) = self.interp.vm.sys_modules.get_str(&module_name)
        else {
            return Err(NotMine);
        };
        let mut found = module;
        let parts: Vec<&str> = qualname.split('.').collect();
        for part in &parts {
            if *part == "<locals>" {
                return Err(NotMine);
            }
            found = self.interp.getattr(&found, part).map_err(|_| NotMine)?;
        }
        if !found.is(v) {
            return Err(NotMine);
        }
        if self.proto >= 4 {
            self.save_name(&module_name);
            if C_TYPE_MODULES.contains(&module_name.as_str()) {
                // A new str, as the name of a C type is in CPython: `datetime.datetime`
                // writes "datetime" a second time, not a reference to the module's name.
                self.save(&Value::str(&qualname), 0)?;
            } else {
                self.save_name(&qualname);
            }
            self.write(&[STACK_GLOBAL]);
        } else if parts.len() == 1 {
            let mut data = vec![GLOBAL];
            data.extend_from_slice(module_name.as_bytes());
            data.push(b'\n');
            data.extend_from_slice(qualname.as_bytes());
            data.push(b'\n');
            self.write(&data);
        } else {
            // Protocol 3 writes a nested name as `getattr(parent, name)`: the mini pickler's.
            return Err(NotMine);
        }
        self.memo_put(v);
        Ok(())
    }

    /// A module or qualified name: written once per pickle, then a memo reference.
    fn save_name(&mut self, name: &str) {
        if let Some(start) = self.frame_start {
            if self.out.len() - start - FRAME_HEADER >= FRAME_TARGET {
                self.commit_frame();
            }
        }
        let known = match str_key(name) {
            Some(key) => self.memo.get(&key),
            None => self.names.get(name),
        };
        if let Some(&idx) = known {
            self.memo_get(idx);
            return;
        }
        self.save_text(name);
        let idx = self.memo.len() as u32;
        let s = Value::str(name);
        self.memo.insert(memo_key(&s), idx);
        self.keep.push(s);
        self.names.insert(name.to_string(), idx);
        self.put_opcode(idx);
    }
}

// --- unpickling --------------------------------------------------------------------------------

fn loads(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let owned;
    let data: &[u8] = match args.pos.first() {
        Some(Value::Bytes(b)) => b.as_bytes(),
        Some(Value::ByteArray(b)) => {
            owned = b.snapshot();
            &owned
        }
        _ => return Ok(Value::None),
    };
    if !scan(data) {
        return Ok(Value::None);
    }
    let mut u = Unpickler {
        interp,
        data,
        pos: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: Vec::new(),
        memo_len: 0,
        proto: 0,
        committed: false,
    };
    match u.load() {
        Ok(v) => Ok(Value::tuple(vec![v])),
        Err(Fail::NotMine) if !u.committed => Ok(Value::None),
        // Damaged data met after Python code ran: too late to let the mini code start over.
        Err(Fail::NotMine) => Err(unpickling_error(u.interp, u.pos)),
        Err(Fail::Raise(e)) => Err(e),
    }
}

/// `UnpicklingError` (pickle's own class, whichever `pickle` defines) for damaged data.
fn unpickling_error(interp: &mut Interp, pos: usize) -> crate::PyErr {
    let msg = format!("invalid or truncated pickle data near byte {pos}");
    let made = interp
        .import_module("pickle")
        .and_then(|m| interp.getattr(&m, "UnpicklingError"))
        .and_then(|cls| interp.call(&cls, &[Value::string(msg.clone())]));
    match made.map(|v| crate::PyErr::from_instance(&v)) {
        Ok(Some(e)) => e,
        Ok(None) => crate::err!(ValueError, "{msg}"),
        Err(e) => e,
    }
}

/// Whether every opcode of `data` up to a STOP is one `Unpickler::load` handles, with its
/// arguments in bounds: only then does it run, so that it never gives up after calling Python
/// code (REDUCE, NEWOBJ, BUILD, an import) for an opcode it lacks.
fn scan(data: &[u8]) -> bool {
    let mut pos = 0;
    let mut proto = 0;
    let len = |at: usize, size: usize| -> Option<usize> {
        let b = data.get(at..at.checked_add(size)?)?;
        let mut a = [0u8; 8];
        a[..size].copy_from_slice(b);
        usize::try_from(u64::from_le_bytes(a)).ok()
    };
    while let Some(&op) = data.get(pos) {
        pos += 1;
        let arg = match op {
            STOP => return true,
            PROTO => {
                proto = data.get(pos).copied().unwrap_or(0);
                1
            }
            FRAME | BINFLOAT => 8,
            MARK | POP | POP_MARK | DUP | NONE | NEWTRUE | NEWFALSE | EMPTY_TUPLE | TUPLE
            | TUPLE1 | TUPLE2 | TUPLE3 | EMPTY_LIST | LIST | APPEND | APPENDS | EMPTY_DICT
            | DICT | SETITEM | SETITEMS | EMPTY_SET | ADDITEMS | FROZENSET | MEMOIZE
            | STACK_GLOBAL | REDUCE | NEWOBJ | BUILD => 0,
            BININT1 | BINPUT | BINGET => 1,
            BININT2 => 2,
            BININT | LONG_BINPUT | LONG_BINGET => 4,
            LONG1 | SHORT_BINUNICODE | SHORT_BINBYTES => match len(pos, 1) {
                Some(n) => 1 + n,
                None => return false,
            },
            LONG4 | BINUNICODE | BINBYTES => match len(pos, 4) {
                Some(n) => 4 + n,
                None => return false,
            },
            BINUNICODE8 | BINBYTES8 | BYTEARRAY8 => {
                match len(pos, 8).and_then(|n| n.checked_add(8)) {
                    Some(n) => n,
                    None => return false,
                }
            }
            GLOBAL if proto >= 3 => {
                let rest = data.get(pos..).unwrap_or(&[]);
                let mut lines = rest.iter().enumerate().filter(|(_, &c)| c == b'\n');
                match (lines.next(), lines.next()) {
                    (Some(_), Some((end, _))) => end + 1,
                    _ => return false,
                }
            }
            _ => return false,
        };
        pos = match pos.checked_add(arg) {
            Some(p) if p <= data.len() => p,
            _ => return false,
        };
    }
    false
}

/// Why `Unpickler::load` stopped: an opcode or value it leaves to the mini code, or an
/// exception raised by the Python code it called.
enum Fail {
    NotMine,
    Raise(crate::PyErr),
}

impl From<NotMine> for Fail {
    fn from(_: NotMine) -> Fail {
        Fail::NotMine
    }
}

struct Unpickler<'a, 'd> {
    interp: &'a mut Interp,
    data: &'d [u8],
    pos: usize,
    stack: Vec<Value>,
    /// Where each open MARK's items start on the stack.
    marks: Vec<usize>,
    memo: Vec<Option<Value>>,
    /// How many memo slots are filled: where MEMOIZE puts the next value (CPython's
    /// `memo_len`).
    memo_len: usize,
    proto: u8,
    /// Python code has run (a call, an import): from here on `NotMine` is an error.
    committed: bool,
}

impl<'d> Unpickler<'_, 'd> {
    fn read(&mut self, n: usize) -> Result<&'d [u8], NotMine> {
        let end = self.pos.checked_add(n).ok_or(NotMine)?;
        let s = self.data.get(self.pos..end).ok_or(NotMine)?;
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, NotMine> {
        Ok(self.read(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, NotMine> {
        let b = self.read(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<usize, NotMine> {
        let b = self.read(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        usize::try_from(u64::from_le_bytes(a)).map_err(|_| NotMine)
    }

    fn line(&mut self) -> Result<&'d str, NotMine> {
        let rest = self.data.get(self.pos..).ok_or(NotMine)?;
        let n = rest.iter().position(|&c| c == b'\n').ok_or(NotMine)?;
        self.pos += n + 1;
        std::str::from_utf8(&rest[..n]).map_err(|_| NotMine)
    }

    fn pop(&mut self) -> Result<Value, NotMine> {
        if self.stack.len() <= self.fence() {
            return Err(NotMine);
        }
        self.stack.pop().ok_or(NotMine)
    }

    fn top(&self) -> Result<&Value, NotMine> {
        if self.stack.len() <= self.fence() {
            return Err(NotMine);
        }
        self.stack.last().ok_or(NotMine)
    }

    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, NotMine> {
        let start = self.marks.pop().ok_or(NotMine)?;
        Ok(self.stack.split_off(start))
    }

    fn text(&mut self, n: usize) -> Result<Value, NotMine> {
        let s = std::str::from_utf8(self.read(n)?).map_err(|_| NotMine)?;
        Ok(Value::str(s))
    }

    /// A key hashed without Python code: not an instance or a class with a metaclass (their
    /// `__hash__`/`__eq__` are Python code: `py_key` says whether a key needs them).
    fn key(v: Value) -> Result<HashKey, NotMine> {
        if Self::py_key(&v) {
            return Err(NotMine);
        }
        HashKey::from_value(v).map_err(|_| NotMine)
    }

    fn py_key(v: &Value) -> bool {
        match v {
            Value::Instance(_) => true,
            Value::Class(c) => c.metaclass.is_some(),
            _ => false,
        }
    }

    /// SETITEM(S): into a dict directly; a key that needs Python code, or a target that is not
    /// a plain dict (a subclass made by NEWOBJ), through `target[key] = value`.
    fn set_items(&mut self, items: Vec<Value>) -> Result<(), Fail> {
        let target = self.top()?.clone();
        if !items.len().is_multiple_of(2) {
            return Err(Fail::NotMine);
        }
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            match &target {
                Value::Dict(d) if !Self::py_key(&k) => d.set(Self::key(k)?, v),
                Value::Dict(_) | Value::Instance(_) => {
                    self.committed = true;
                    self.interp.setitem(&target, k, v).map_err(Fail::Raise)?;
                }
                _ => return Err(Fail::NotMine),
            }
        }
        Ok(())
    }

    /// APPEND(S) and ADDITEMS on an object that is not a plain list or set (an instance made
    /// by NEWOBJ): its `append` / `add` method called for each item, as the mini unpickler.
    fn call_each(&mut self, target: &Value, method: &str, items: Vec<Value>) -> Result<(), Fail> {
        if !matches!(target, Value::Instance(_)) {
            return Err(Fail::NotMine);
        }
        self.committed = true;
        let m = self.interp.getattr(target, method).map_err(Fail::Raise)?;
        for item in items {
            self.interp.call(&m, &[item]).map_err(Fail::Raise)?;
        }
        Ok(())
    }

    /// A memo index: one byte (`short`), else four.
    fn memo_index(&mut self, short: bool) -> Result<usize, NotMine> {
        Ok(if short {
            usize::from(self.byte()?)
        } else {
            self.u32()? as usize
        })
    }

    /// Store the top of the stack in memo slot `idx`.
    fn memo_put(&mut self, idx: usize) -> Done {
        let v = self.top()?.clone();
        if idx >= self.memo.len() {
            // A huge index (damaged data) is left to the mini unpickler's dict.
            if idx > self.data.len() {
                return Err(NotMine);
            }
            self.memo.resize(idx + 1, None);
        }
        if self.memo[idx].replace(v).is_none() {
            self.memo_len += 1;
        }
        Ok(())
    }

    fn find_class(&mut self, module: &str, name: &str) -> Result<Value, Fail> {
        let mut found = match self.interp.vm.sys_modules.get_str(module) {
            Some(m @ Value::Module(_)) => m,
            _ => {
                self.committed = true;
                self.interp.import_module(module).map_err(Fail::Raise)?
            }
        };
        let parts: Vec<&str> = if self.proto >= 4 {
            name.split('.').collect()
        } else {
            vec![name]
        };
        for part in parts {
            if part == "<locals>" {
                return Err(Fail::NotMine);
            }
            found = match self.interp.getattr(&found, part) {
                Ok(v) => v,
                Err(e) if self.committed => return Err(Fail::Raise(e)),
                Err(_) => return Err(Fail::NotMine),
            };
        }
        Ok(found)
    }

    /// Call `f(*args)`, Python code: the load is committed from here.
    fn call(&mut self, f: &Value, args: &[Value]) -> Result<Value, Fail> {
        self.committed = true;
        self.interp.call(f, args).map_err(Fail::Raise)
    }

    /// BUILD: `inst.__setstate__(state)`, else the state's items stored in the instance's
    /// `__dict__` and a slot state's (from a `(state, slotstate)` pair) set as attributes, as
    /// the mini unpickler does.
    fn build(&mut self, inst: &Value, state: Value) -> Result<(), Fail> {
        self.committed = true;
        match self.interp.getattr(inst, "__setstate__") {
            Ok(setstate) => {
                self.interp.call(&setstate, &[state]).map_err(Fail::Raise)?;
                return Ok(());
            }
            Err(e) if !e.is(crate::object::ExcKind::AttributeError) => return Err(Fail::Raise(e)),
            Err(_) => {}
        }
        let (state, slots) = match state {
            Value::Tuple(t) if t.items.len() == 2 => (t.items[0].clone(), t.items[1].clone()),
            other => (other, Value::None),
        };
        // The dict state goes straight into the instance's `__dict__` (as CPython's
        // `load_build` does), so a class whose `__setattr__` refuses assignment (a frozen
        // dataclass) still unpickles; the slot state is set attribute by attribute.
        for (part, is_slots) in [(state, false), (slots, true)] {
            let items = match &part {
                Value::None => continue,
                Value::Dict(d) => d.items(),
                _ => return Err(Fail::NotMine),
            };
            let target = if is_slots || items.is_empty() {
                None
            } else {
                Some(self.interp.getattr(inst, "__dict__").map_err(Fail::Raise)?)
            };
            for (k, v) in items {
                let Value::Str(name) = &k else {
                    return Err(Fail::NotMine);
                };
                match &target {
                    Some(d) => self.interp.setitem(d, k.clone(), v).map_err(Fail::Raise)?,
                    None => self
                        .interp
                        .setattr(inst, name.as_str(), v)
                        .map_err(Fail::Raise)?,
                }
            }
        }
        Ok(())
    }

    fn load(&mut self) -> Result<Value, Fail> {
        loop {
            let op = self.byte()?;
            let v = match op {
                PROTO => {
                    self.proto = self.byte()?;
                    if self.proto > 5 {
                        return Err(Fail::NotMine);
                    }
                    continue;
                }
                FRAME => {
                    let n = self.u64()?;
                    if n > self.data.len() - self.pos {
                        return Err(Fail::NotMine);
                    }
                    continue;
                }
                STOP => {
                    // (Items left over are ignored, as CPython's `load_stop` does.)
                    return Ok(self.pop()?);
                }
                MARK => {
                    self.marks.push(self.stack.len());
                    continue;
                }
                POP => {
                    if self.stack.len() > self.fence() {
                        self.stack.pop();
                    } else {
                        self.pop_mark()?;
                    }
                    continue;
                }
                POP_MARK => {
                    self.pop_mark()?;
                    continue;
                }
                DUP => self.top()?.clone(),
                NONE => Value::None,
                NEWTRUE => Value::Bool(true),
                NEWFALSE => Value::Bool(false),
                BININT => Value::Int(i64::from(self.u32()? as i32)),
                BININT1 => Value::Int(i64::from(self.byte()?)),
                BININT2 => {
                    let b = self.read(2)?;
                    Value::Int(i64::from(u16::from_le_bytes([b[0], b[1]])))
                }
                LONG1 | LONG4 => {
                    let n = if op == LONG1 {
                        usize::from(self.byte()?)
                    } else {
                        let n = self.u32()?;
                        if n > i32::MAX as u32 {
                            return Err(Fail::NotMine);
                        }
                        n as usize
                    };
                    Value::from(BigInt::from_signed_bytes_le(self.read(n)?))
                }
                BINFLOAT => {
                    let b = self.read(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    Value::Float(f64::from_be_bytes(a))
                }
                SHORT_BINUNICODE => {
                    let n = usize::from(self.byte()?);
                    self.text(n)?
                }
                BINUNICODE => {
                    let n = self.u32()? as usize;
                    self.text(n)?
                }
                BINUNICODE8 => {
                    let n = self.u64()?;
                    self.text(n)?
                }
                SHORT_BINBYTES => {
                    let n = usize::from(self.byte()?);
                    Value::bytes(self.read(n)?.to_vec())
                }
                BINBYTES => {
                    let n = self.u32()? as usize;
                    Value::bytes(self.read(n)?.to_vec())
                }
                BINBYTES8 => {
                    let n = self.u64()?;
                    Value::bytes(self.read(n)?.to_vec())
                }
                BYTEARRAY8 => {
                    let n = self.u64()?;
                    Value::bytearray(self.read(n)?.to_vec())
                }
                EMPTY_TUPLE => Value::tuple(Vec::new()),
                TUPLE => Value::tuple(self.pop_mark()?),
                TUPLE1 | TUPLE2 | TUPLE3 => {
                    let n = usize::from(op - TUPLE1 + 1);
                    if self.stack.len() < self.fence() + n {
                        return Err(Fail::NotMine);
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    Value::tuple(items)
                }
                EMPTY_LIST => Value::list(Vec::new()),
                LIST => Value::list(self.pop_mark()?),
                APPEND | APPENDS => {
                    let items = if op == APPEND {
                        vec![self.pop()?]
                    } else {
                        self.pop_mark()?
                    };
                    match self.top()?.clone() {
                        Value::List(l) => l.items.lock().extend(items),
                        other => self.call_each(&other, "append", items)?,
                    }
                    continue;
                }
                EMPTY_DICT => Value::Dict(Ref::new(Dict::new())),
                DICT => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Dict(Ref::new(Dict::new())));
                    self.set_items(items)?;
                    continue;
                }
                SETITEM => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.set_items(vec![k, v])?;
                    continue;
                }
                SETITEMS => {
                    let items = self.pop_mark()?;
                    self.set_items(items)?;
                    continue;
                }
                EMPTY_SET => Value::Set(Ref::new(SetObj::new(KeySet::default(), false))),
                ADDITEMS => {
                    let items = self.pop_mark()?;
                    match self.top()?.clone() {
                        Value::Set(s) if !s.frozen => {
                            for item in items {
                                let k = if Self::py_key(&item) {
                                    self.committed = true;
                                    self.interp.set_key(&s, item).map_err(Fail::Raise)?
                                } else {
                                    Self::key(item)?
                                };
                                s.items.lock().insert(k);
                            }
                        }
                        other => self.call_each(&other, "add", items)?,
                    }
                    continue;
                }
                FROZENSET => {
                    let mut set = KeySet::default();
                    for item in self.pop_mark()? {
                        set.insert(Self::key(item)?);
                    }
                    Value::Set(Ref::new(SetObj::new(set, true)))
                }
                MEMOIZE => {
                    self.memo_put(self.memo_len)?;
                    continue;
                }
                BINPUT | LONG_BINPUT => {
                    let idx = self.memo_index(op == BINPUT)?;
                    self.memo_put(idx)?;
                    continue;
                }
                BINGET | LONG_BINGET => {
                    let idx = self.memo_index(op == BINGET)?;
                    match self.memo.get(idx) {
                        Some(Some(v)) => v.clone(),
                        _ => return Err(Fail::NotMine),
                    }
                }
                STACK_GLOBAL => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Value::Str(module), Value::Str(name)) = (module, name) else {
                        return Err(Fail::NotMine);
                    };
                    self.find_class(module.as_str(), name.as_str())?
                }
                GLOBAL if self.proto >= 3 => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.find_class(module, name)?
                }
                REDUCE => {
                    let args = self.pop()?;
                    let func = self.pop()?;
                    let Value::Tuple(args) = args else {
                        return Err(Fail::NotMine);
                    };
                    self.call(&func, &args.items)?
                }
                NEWOBJ => {
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let (Value::Tuple(args), Value::Class(_)) = (&args, &cls) else {
                        return Err(Fail::NotMine);
                    };
                    self.committed = true;
                    let new = self.interp.getattr(&cls, "__new__").map_err(Fail::Raise)?;
                    let mut all = vec![cls.clone()];
                    all.extend(args.items.iter().cloned());
                    self.call(&new, &all)?
                }
                BUILD => {
                    let state = self.pop()?;
                    let inst = self.top()?.clone();
                    self.build(&inst, state)?;
                    continue;
                }
                _ => return Err(Fail::NotMine),
            };
            self.stack.push(v);
        }
    }
}
