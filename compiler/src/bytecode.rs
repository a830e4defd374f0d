//! The bytecode format: every opcode with its stack effect, and the code object that holds them.
//!
//! One file defines the whole instruction set (as Lua's `lopcodes.h` does). Each opcode's doc line gives
//! its meaning and stack effect, written `[.., a, b] -> [.., a + b]` with the top of the stack on the right.
//! The VM's dispatch loop and the disassembler are exhaustive matches over [`Op`], so adding an opcode
//! does not compile until both handle it.

use std::fmt;
use std::sync::Arc;

pub use crate::ast::{BinOp, CmpOp};

/// Index into [`CodeObject::consts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConstIdx(pub u32);
/// Index of a fast local slot, into [`CodeObject::varnames`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Local(pub u32);
/// Index into [`CodeObject::names`]: a global, attribute, import or class-namespace name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Name(pub u32);
/// Index of a cell: `cellvars` first, then `freevars` (as CPython numbers them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cell(pub u32);
/// An instruction index inside the same code object, the target of a jump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label(pub u32);

/// A register instruction's operand: a local slot, a constant index or a jump target in 16 bits,
/// so that an operator and three operands fit in an 8-byte [`Op`]. `compile/fuse.rs` chooses a
/// register form only when every operand fits (code objects with more than 65,535 locals,
/// constants or instructions keep the stack forms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reg(pub u16);

impl Reg {
    /// The operand as `u16`, if it fits.
    pub fn fit(i: u32) -> Option<Reg> {
        u16::try_from(i).ok().map(Reg)
    }

    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl From<Reg> for u32 {
    fn from(r: Reg) -> u32 {
        r.0.into()
    }
}

/// `FormatValue`'s conversion (`!s`, `!r`, `!a`) and whether a spec sits on the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatFlags {
    /// `None`, `Some(b's')`, `Some(b'r')` or `Some(b'a')` (a byte keeps `Op` at 8 bytes).
    pub conversion: Option<u8>,
    pub has_spec: bool,
}

/// What `MakeFunction` finds on the stack below it, in this order from bottom to top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MakeFunctionFlags {
    /// A tuple of default values for the last positional parameters.
    pub defaults: bool,
    /// A dict of default values for keyword-only parameters.
    pub kwdefaults: bool,
    /// A tuple of cells, one per entry of the new code's `freevars`.
    pub closure: bool,
}

/// One instruction. Operands are typed so the disassembler can resolve them to names and constants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    // ---- stack shuffling ----
    /// Does nothing (a jump target, or a line marker).
    Nop,
    /// `[.., a] -> [..]`
    Pop,
    /// Push a copy of the n-th item (1 = top): `[.., a] -> [.., a, a]` for `Copy(1)`.
    Copy(u32),
    /// Swap the top with the n-th item (2 = the one below it): `[.., a, b] -> [.., b, a]` for `Swap(2)`.
    Swap(u32),

    // ---- constants and variables ----
    /// `[..] -> [.., consts[i]]`
    LoadConst(ConstIdx),
    /// `[..] -> [.., locals[i]]`; `UnboundLocalError` if the slot is empty.
    LoadLocal(Local),
    /// `[.., v] -> [..]`, `locals[i] = v`
    StoreLocal(Local),
    /// Empty the slot (`del x`); `UnboundLocalError` if already empty.
    DeleteLocal(Local),
    /// `[..] -> [.., v]`: module global, else builtin; `NameError` if neither.
    LoadGlobal(Name),
    /// `[.., v] -> [..]`, sets the module global.
    StoreGlobal(Name),
    /// Removes the module global; `NameError` if absent.
    DeleteGlobal(Name),
    /// `[..] -> [.., v]` in a class body: the class namespace, then globals, then builtins.
    LoadName(Name),
    /// `[.., v] -> [..]` into the class namespace.
    StoreName(Name),
    /// Removes a name from the class namespace.
    DeleteName(Name),
    /// `[..] -> [.., cell contents]`; `NameError`/`UnboundLocalError`-style error if empty.
    LoadDeref(Cell),
    /// `[.., v] -> [..]`, stores into the cell.
    StoreDeref(Cell),
    /// Empties the cell (`del x` of a captured variable).
    DeleteDeref(Cell),
    /// `[..] -> [.., cell]`: the cell object itself, to build a closure tuple for `MakeFunction`.
    LoadClosure(Cell),
    /// `[..] -> [.., v]` in a class body for a free variable: class namespace first, then the cell.
    LoadClassDeref(Cell),

    // ---- operators ----
    /// `[.., a, b] -> [.., a op b]`
    Binary(BinOp),
    /// `[.., a, b] -> [.., a op= b]` (mutates lists in place for `+=`, as Python does).
    InPlace(BinOp),
    /// `[.., a, b] -> [.., a op b]` for `<`, `==`, `in`, `is`, ... (result of `in`/`is` is a bool).
    Compare(CmpOp),
    /// `[.., a] -> [.., not a]`
    UnaryNot,
    /// `[.., a] -> [.., -a]`
    UnaryNeg,
    /// `[.., a] -> [.., +a]`
    UnaryPos,
    /// `[.., a] -> [.., ~a]`
    UnaryInvert,

    // ---- containers, subscripts, attributes ----
    /// `[.., obj, key] -> [.., obj[key]]`
    Subscr,
    /// `[.., v, obj, key] -> [..]`, `obj[key] = v`
    StoreSubscr,
    /// `[.., obj, key] -> [..]`, `del obj[key]`
    DeleteSubscr,
    /// `[.., lo, hi] -> [.., slice(lo, hi)]` for 2, `[.., lo, hi, step] -> [.., slice(lo, hi, step)]` for 3.
    BuildSlice(u32),
    /// `[.., obj] -> [.., obj.name]`
    LoadAttr(Name),
    /// `[.., v, obj] -> [..]`, `obj.name = v`
    StoreAttr(Name),
    /// `[.., obj] -> [..]`, `del obj.name`
    DeleteAttr(Name),
    /// `[.., a1 .. an] -> [.., (a1, .., an)]`
    BuildTuple(u32),
    /// `[.., a1 .. an] -> [.., [a1, .., an]]`
    BuildList(u32),
    /// `[.., a1 .. an] -> [.., {a1, .., an}]`
    BuildSet(u32),
    /// `[.., k1, v1 .. kn, vn] -> [.., {k1: v1, ..}]`
    BuildMap(u32),
    /// `[.., s1 .. sn] -> [.., s1 + .. + sn]` (strings, for f-strings)
    BuildString(u32),
    /// `[.., list, x1 .. x(n-1), v] -> [.., list, x1 .. x(n-1)]`, appends v to the list n below v.
    ListAppend(u32),
    /// As `ListAppend`, adding to a set.
    SetAdd(u32),
    /// `[.., dict, x1 .., k, v] -> [.., dict, x1 ..]`, sets `dict[k] = v` (dict n below k).
    MapAdd(u32),
    /// `[.., list, x1 .., it] -> [.., list, x1 ..]`, extends the list with an iterable (`[*a, *b]`).
    ListExtend(u32),
    /// As `ListExtend`, for a set.
    SetUpdate(u32),
    /// `[.., dict, x1 .., m] -> [.., dict, x1 ..]`, `dict.update(m)` (`{**a}`).
    DictUpdate(u32),
    /// As `DictUpdate`, but a repeated key is a `TypeError` (`f(**a, **b)`).
    DictMerge(u32),
    /// `[.., list] -> [.., tuple(list)]`
    ListToTuple,
    /// `[.., seq] -> [.., vn .. v1]`: exactly n items, the first ends up on top.
    UnpackSequence(u32),
    /// `[.., seq] -> [.., after.., list, before..]` for `a, *b, c = seq` (`before`, `after` counts); first on top.
    /// At most 255 targets before the star, as in CPython.
    UnpackEx { before: u8, after: u32 },
    /// `[.., v] -> [.., str]` or `[.., v, spec] -> [.., str]`: one f-string field.
    FormatValue(FormatFlags),

    // ---- control flow ----
    /// Jump forward (never a place where a thread yields).
    Jump(Label),
    /// Jump backward to a loop head: the eval-breaker check point (GIL drop requests, Ctrl-C).
    JumpBackward(Label),
    /// `[.., c] -> [..]`, jump if c is false
    PopJumpIfFalse(Label),
    /// `[.., c] -> [..]`, jump if c is true
    PopJumpIfTrue(Label),
    /// `[.., c] -> [.., c]` and jump if c is false, else `[..]` (for `and`)
    JumpIfFalseOrPop(Label),
    /// `[.., c] -> [.., c]` and jump if c is true, else `[..]` (for `or`)
    JumpIfTrueOrPop(Label),
    /// `[.., obj] -> [.., iter(obj)]`
    GetIter,
    /// `[.., it] -> [.., it, next(it)]`, or when exhausted `[..]` and jump.
    ForIter(Label),
    /// The test at the bottom of a `for` loop, as Lua's `FORLOOP`: `[.., it] -> [.., it, next(it)]`
    /// and jump back to the body, or when exhausted `[..]` and fall through. An eval-breaker
    /// check point, as every backward jump.
    ForNext(Label),
    /// `ForNext` that stores the item straight into `locals[x]`: `[.., it] -> [.., it]` and jump
    /// back, or when exhausted `[..]` and fall through.
    ForNextStore(Reg, Label),

    // ---- functions and calls ----
    /// `[.., defaults?, kwdefaults?, closure?] -> [.., function]` from the code constant.
    MakeFunction {
        code: ConstIdx,
        flags: MakeFunctionFlags,
    },
    /// `[.., f, a1 .. an] -> [.., f(a1, .., an)]`; the callee's entry is an eval-breaker check point.
    Call(u32),
    /// `[.., f, a1 .. an, names] -> [.., f(..)]`: `names` is a tuple constant naming the last
    /// `len(names)` arguments as keywords.
    CallKw(u32),
    /// `[.., f, args_tuple] -> [.., f(*args)]`, or with `true`: `[.., f, args_tuple, kwargs_dict] -> [.., f(*args, **kwargs)]`
    CallEx { has_kwargs: bool },
    /// `[.., obj, a1 .. an] -> [.., obj.name(a1, .., an)]` without building a bound method
    /// (at most 65,535 arguments: a longer call is `LoadAttr; Call`).
    CallMethod(Name, u16),
    /// `[.., obj, a1 .. an, names] -> [.., obj.name(..)]`, keywords as in `CallKw`.
    CallMethodKw(Name, u16),
    /// `[.., v] -> return v to the caller`
    ReturnValue,
    /// `[.., v] -> suspend the generator yielding v`; on resume `[.., sent]`.
    YieldValue,
    /// `[.., x] -> [.., iter]` for `yield from x` (a generator stays itself).
    GetYieldFromIter,
    /// `[.., iter, sent] -> ` send `sent` into iter: if it yields v, suspend yielding v and run this
    /// instruction again on resume (with the new sent value on top); when it finishes, `[.., result]`.
    YieldFrom,

    // ---- classes, modules ----
    /// `[..] -> [.., __build_class__]`; called as `__build_class__(body_fn, name, *bases)`.
    LoadBuildClass,
    /// `[..] -> [.., module]` for `import name` (the full dotted name).
    ImportName(Name),
    /// `[.., module] -> [.., module, module.name]` for `from m import name`; `ImportError` if absent.
    ImportFrom(Name),

    // ---- exceptions ----
    /// Push a handler: an exception raised before the matching `PopBlock` pops the handler, truncates
    /// the stack to its depth at this point, pushes the exception and jumps to the label.
    SetupExcept(Label),
    /// Pop the innermost handler pushed by `SetupExcept`.
    PopBlock,
    /// `[.., exc] -> [.., prev_exc, exc]`: `exc` becomes the exception being handled (for bare
    /// `raise`, and as `__context__` of new ones); the previous one is saved below.
    PushExcInfo,
    /// `[.., prev_exc] -> [..]`: leave an `except` block, restoring the exception being handled.
    PopExcept,
    /// `[.., exc, typ] -> [.., exc, isinstance(exc, typ)]` (typ a class or a tuple of classes).
    CheckExcMatch,
    /// `[.., exc] -> raise exc again` keeping its traceback (end of a `finally`, no handler matched).
    Reraise,
    /// `Raise(0)`: re-raise the exception being handled; `Raise(1)`: `[.., exc] -> raise exc`;
    /// `Raise(2)`: `[.., exc, cause] -> raise exc from cause`.
    Raise(u32),
    /// `[..] -> [.., AssertionError]` (the builtin, even if a global shadows the name).
    LoadAssertionError,
    /// `[.., mgr] -> [.., exit, mgr.__enter__()]` where `exit` is the bound `mgr.__exit__`.
    BeforeWith,
    /// `[.., exit, prev_exc, exc] -> [.., exit, prev_exc, exc, exit(type(exc), exc, tb)]`
    WithExceptStart,

    // ---- coroutines (async/await): see compile/async_stmt.rs and vm/src/interp/coro.rs ----
    /// `[.., x] -> [.., awaitable]` for `await x`: a coroutine stays itself, else `x.__await__()`
    /// (which must return an iterator). Followed by `LoadConst None; YieldFrom`.
    GetAwaitable,
    /// `[.., x] -> [.., x.__aiter__()]` at the start of `async for`.
    GetAIter,
    /// `[.., aiter] -> [.., aiter, awaitable]`: the awaitable of `aiter.__anext__()`.
    GetANext,
    /// `[.., aiter, exc] -> [..]` when exc is a `StopAsyncIteration` (the end of `async for`),
    /// else raise exc again.
    EndAsyncFor,
    /// `[.., mgr] -> [.., aexit, mgr.__aenter__()]` where `aexit` is the bound `mgr.__aexit__`.
    BeforeAsyncWith,

    // ---- except* (PEP 654): see compile/except_star.rs and vm/src/interp/excgroup.rs ----
    /// `[.., rest, typ] -> [.., rest', match]`: split what is left of the exception by `typ`
    /// (`match` None if nothing matches; a naked exception that matches is wrapped in a group);
    /// `match` becomes the exception being handled.
    CheckEgMatch,
    /// `[.., orig, raised_list] -> [.., exc]`: the exception a `try ... except*` raises again
    /// (the parts of `orig` raised again in `orig`'s shape, grouped with new ones), or None.
    PrepReraiseStar,

    // ---- superinstructions: common pairs fused at compile time (`compile/fuse.rs`) ----
    // Each does exactly what the instructions it replaces did, in one dispatch; `dis`, `--trace`
    // and `--stats` show and count it as one instruction.
    /// `LoadLocal(a); LoadLocal(b)`: `[..] -> [.., locals[a], locals[b]]`.
    LoadLocalPair(Reg, Reg),
    /// `LoadConst(c); Compare(op)`: `[.., a] -> [.., a op consts[c]]`.
    CompareConst(CmpOp, ConstIdx),
    /// `Compare(op); PopJumpIfFalse(l)`: `[.., a, b] -> [..]`, jump unless `a op b`.
    CompareJumpIfFalse(CmpOp, Label),
    /// `LoadConst(c); Compare(op); PopJumpIfFalse(l)`: `[.., a] -> [..]`, jump unless
    /// `a op consts[c]` (`if n % i == 0:`).
    CompareConstJumpIfFalse(CmpOp, Reg, Reg),
    /// `LoadLocal(a); LoadAttr(n)`: `[..] -> [.., locals[a].name]` (`self.x`, without copying
    /// `self` to the stack).
    LoadAttrLocal(Reg, Name),
    /// `LoadLocal(a); StoreAttr(n)`: `[.., v] -> [..]`, `locals[a].name = v` (`self.x = v`).
    StoreAttrLocal(Reg, Name),
    /// `ForIter(l); StoreLocal(x)`: `[.., it] -> [.., it]` with `locals[x] = next(it)`, or when
    /// exhausted `[..]` and jump.
    ForIterStore(Reg, Label),

    // ---- register instructions: operands read from local slots and constants (`compile/fuse.rs`) ----
    // They replace the stack instructions named in each doc line (same line, nothing jumping
    // between them), do exactly what those did, in one dispatch and without moving the operands
    // through the stack. `a` and `b` are local slots, `c` a constant, `l` a jump target.
    /// `LoadLocal(a); LoadLocal(b); Binary(op)`: `[..] -> [.., locals[a] op locals[b]]`.
    BinaryLocals(BinOp, Reg, Reg),
    /// `LoadLocal(a); LoadConst(c); Binary(op)`: `[..] -> [.., locals[a] op consts[c]]`.
    BinaryLocalConst(BinOp, Reg, Reg),
    /// `LoadLocal(a); LoadLocal(b); InPlace(op); StoreLocal(a)`: `locals[a] op= locals[b]`, stack unchanged.
    InPlaceLocals(BinOp, Reg, Reg),
    /// `LoadLocal(a); LoadConst(c); InPlace(op); StoreLocal(a)`: `locals[a] op= consts[c]` (`i += 1`).
    InPlaceLocalConst(BinOp, Reg, Reg),
    /// `LoadLocal(a); LoadLocal(b); Compare(op); PopJumpIfFalse(l)`: jump unless `locals[a] op locals[b]`.
    CompareLocalsJump(CmpOp, Reg, Reg, Reg),
    /// `LoadLocal(a); LoadConst(c); Compare(op); PopJumpIfFalse(l)`: jump unless `locals[a] op consts[c]`.
    CompareLocalConstJump(CmpOp, Reg, Reg, Reg),

    // ---- pattern matching (the `match` statement, compiled by compile/pattern.rs) ----
    /// One structural test of a `case` pattern; [`MatchOp`] gives each one's stack effect.
    Match(MatchOp),

    // ---- interactive ----
    /// `[.., v] -> [..]`, prints `repr(v)` unless it is None (the REPL's echo of expression statements).
    PrintExpr,
}

// An instruction is 8 bytes: the dispatch loop copies one per step, and a code object's
// instructions share cache lines. Operands that could be wider are 16-bit `Reg`s where the
// compiler can fall back to an unfused form.
const _: () = assert!(std::mem::size_of::<Op>() <= 8);

impl Op {
    /// `UnpackEx` for `before` targets before the star and `after` after it; `None` past
    /// CPython's limits (255 before, 2**24 - 1 after).
    pub fn unpack_ex(before: usize, after: usize) -> Option<Op> {
        let before = u8::try_from(before).ok()?;
        let after = u32::try_from(after).ok().filter(|&a| a < 1 << 24)?;
        Some(Op::UnpackEx { before, after })
    }
}

/// The tests `Op::Match` performs for `case` patterns (CPython's `MATCH_*` instructions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    /// `[.., s] -> [.., s, is_sequence]`: list, tuple, range, deque, a `collections.abc.Sequence`
    /// (never str, bytes or bytearray).
    Sequence,
    /// `[.., s] -> [.., s, is_mapping]`: dict, or a `collections.abc.Mapping`.
    Mapping,
    /// `[.., s] -> [.., s, len(s)]`
    Len,
    /// `[.., s, keys] -> [.., s, keys, values]`: the tuple of `s.get(k)` for each key, or None if
    /// one is missing.
    Keys,
    /// `[.., s, cls, names] -> [.., attrs]`: if `s` is an instance of `cls`, the tuple of its
    /// attributes for the n positional sub-patterns (named by `cls.__match_args__`) then for the
    /// keyword `names`; None if it is not, or lacks one.
    Class(u16),
    /// `[.., s, keys] -> [.., s, rest]`: a new dict of `s`'s items but `keys` (for `**rest`).
    CopyDictWithoutKeys,
}

impl MatchOp {
    /// The change in stack depth.
    pub fn stack_effect(self) -> i64 {
        match self {
            MatchOp::Sequence | MatchOp::Mapping | MatchOp::Len | MatchOp::Keys => 1,
            MatchOp::Class(_) => -2,
            MatchOp::CopyDictWithoutKeys => 0,
        }
    }

    /// CPython's name of the instruction, for `dis`.
    pub fn opname(self) -> &'static str {
        match self {
            MatchOp::Sequence => "MATCH_SEQUENCE",
            MatchOp::Mapping => "MATCH_MAPPING",
            MatchOp::Len => "GET_LEN",
            MatchOp::Keys => "MATCH_KEYS",
            MatchOp::Class(_) => "MATCH_CLASS",
            MatchOp::CopyDictWithoutKeys => "COPY_DICT_WITHOUT_KEYS",
        }
    }

    /// The operand, for `MatchOp::Class`.
    pub fn count(self) -> Option<u32> {
        match self {
            MatchOp::Class(n) => Some(n.into()),
            _ => None,
        }
    }
}

/// A compile-time constant. The VM turns these into runtime values once, when it loads the code.
#[derive(Debug, Clone, PartialEq)]
pub enum Constant {
    None,
    Bool(bool),
    Int(i64),
    /// An int literal beyond `i64`, as its source text (`123...`, `0xff...`): the VM parses it.
    BigInt(Arc<str>),
    Float(f64),
    Str(Arc<str>),
    Bytes(Arc<[u8]>),
    Ellipsis,
    Tuple(Vec<Constant>),
    Code(Arc<CodeObject>),
}

/// Properties of a code object that change how the VM calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CodeFlags {
    /// Takes `*args` (its tuple sits in the slot after the keyword-only parameters).
    pub varargs: bool,
    /// Takes `**kwargs` (its dict sits in the slot after `*args`, if any).
    pub varkeywords: bool,
    /// Calling it returns a suspended frame: a generator (it contains `yield`), or a coroutine /
    /// async generator when `coroutine` / `async_generator` is also set.
    pub generator: bool,
    /// An `async def` without `yield` (CPython's `CO_COROUTINE`); `generator` is set too.
    pub coroutine: bool,
    /// An `async def` with `yield` (CPython's `CO_ASYNC_GENERATOR`); `generator` is set too.
    pub async_generator: bool,
    /// A class body: names go through a namespace dict (`LoadName`/`StoreName`).
    pub class_body: bool,
    /// A generator function marked by `types.coroutine` (CPython's `CO_ITERABLE_COROUTINE`): its
    /// generators may be awaited. Set only at run time, on a copy of the code.
    pub iterable_coroutine: bool,
}

/// A compiled function body (or module, class body, lambda, comprehension).
///
/// Local slots: positional parameters (`argcount`, the first `posonlyargcount` of them positional-only),
/// then `kwonlyargcount` keyword-only ones, then `*args` and `**kwargs` if the flags say so, then
/// the other locals. A parameter that is captured by an inner function lives in a cell: `cell2arg`
/// tells the VM to copy the argument into that cell when the frame starts.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeObject {
    /// `f`, `<module>`, `<lambda>`, `<listcomp>`, `<genexpr>`, ...
    pub name: String,
    /// Dotted path for nested functions and methods, as CPython's `__qualname__` (`C.method`, `f.<locals>.g`).
    pub qualname: String,
    pub filename: Arc<str>,
    pub first_line: u32,
    pub code: Vec<Op>,
    /// The source line of each instruction (same length as `code`).
    pub lines: Vec<u32>,
    pub consts: Vec<Constant>,
    pub names: Vec<String>,
    pub varnames: Vec<String>,
    pub cellvars: Vec<String>,
    pub freevars: Vec<String>,
    /// For each cellvar, the local slot of the parameter it is initialised from, if any.
    pub cell2arg: Vec<Option<u32>>,
    pub argcount: u32,
    pub posonlyargcount: u32,
    pub kwonlyargcount: u32,
    pub flags: CodeFlags,
    /// Upper bound on the operand stack depth, so a frame can reserve it once.
    pub max_stack: u32,
}

impl CodeObject {
    /// Total number of parameter slots, including `*args` and `**kwargs`.
    pub fn total_params(&self) -> usize {
        (self.argcount + self.kwonlyargcount) as usize
            + self.flags.varargs as usize
            + self.flags.varkeywords as usize
    }

    /// Number of cells (cellvars then freevars).
    pub fn ncells(&self) -> usize {
        self.cellvars.len() + self.freevars.len()
    }

    /// Name of cell `i`, looking through cellvars then freevars.
    pub fn cell_name(&self, i: Cell) -> &str {
        let i = i.0 as usize;
        if i < self.cellvars.len() {
            &self.cellvars[i]
        } else {
            self.freevars
                .get(i - self.cellvars.len())
                .map_or("?", |s| s.as_str())
        }
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "L{}", self.0)
    }
}
