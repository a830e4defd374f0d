//! Stage 3 (compiler).
//! The bytecode format: every opcode with its stack effect, and the code object that holds them.
//!
//! One table, the `opcodes!` invocation below, declares every opcode once (as Lua's `lopcodes.h`
//! does): its doc line (meaning and stack effect, written `[.., a, b] -> [.., a + b]` with the top of
//! the stack on the right), its operands and their kinds, its `dis` name, hot or cold, how `dis`
//! shows it and its stack effect. `optable.rs` derives the rest from the table: the `Op` enum,
//! names, stack effects, jump targets, `dis` rendering, `OPCODES` (`minivm dis --opcodes`,
//! `docs/OPCODES.md`) and the `hot_ops!()`/`cold_ops!()` patterns with which the VM's dispatch
//! loop and `cold_op` together handle every opcode. Adding an opcode is one row plus its handler.

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

impl FormatFlags {
    /// The number `dis` shows (as CPython's `FORMAT_VALUE` oparg).
    pub fn raw(self) -> u32 {
        let conv = match self.conversion {
            None => 0,
            Some(b's') => 1,
            Some(b'r') => 2,
            Some(_) => 3,
        };
        conv | (self.has_spec as u32) << 2
    }
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

impl MakeFunctionFlags {
    /// The number `dis` shows (as CPython's `MAKE_FUNCTION` oparg).
    pub fn raw(self) -> u32 {
        self.defaults as u32 | (self.kwdefaults as u32) << 1 | (self.closure as u32) << 3
    }

    /// How many values it takes from the stack.
    pub fn count(self) -> u8 {
        self.defaults as u8 + self.kwdefaults as u8 + self.closure as u8
    }
}

// ---------------------------------------------------------------------------------------------
// The opcode table: every opcode, once (see `optable.rs` for what is derived from it). Columns:
// doc line(s); variant and operands (`name: kind`); `dis` name; `hot` (an arm of the VM's
// dispatch loop) or `cold` (`cold_op`); the raw operand `dis` prints; the meaning `dis` prints in
// parentheses; the stack effect (`fall(e)`: always falls through; `branch(fall, jump)`;
// `jump_only(e)`: always jumps; `stops()`: neither). Counts are non-negative, so `i64::from`.
// ---------------------------------------------------------------------------------------------
opcodes! {
    // ---- stack shuffling ----
    /// Does nothing (a jump target, or a line marker).
    Nop = "NOP", hot, raw(), "", fall(0);
    /// `[.., a] -> [..]`
    Pop = "POP_TOP", hot, raw(), "", fall(-1);
    /// Push a copy of the n-th item (1 = top): `[.., a] -> [.., a, a]` for `Copy(1)`.
    Copy(n: count) = "COPY", hot, raw(n), "", fall(1);
    /// Swap the top with the n-th item (2 = the one below it): `[.., a, b] -> [.., b, a]` for `Swap(2)`.
    Swap(n: count) = "SWAP", hot, raw(n), "", fall(0);

    // ---- constants and variables ----
    /// `[..] -> [.., consts[c]]`
    LoadConst(c: konst) = "LOAD_CONST", hot, raw(c.0), "{c}", fall(1);
    /// `[..] -> [.., locals[x]]`; `UnboundLocalError` if the slot is empty.
    LoadLocal(x: local) = "LOAD_LOCAL", hot, raw(x.0), "{x}", fall(1);
    /// `[.., v] -> [..]`, `locals[x] = v`
    StoreLocal(x: local) = "STORE_LOCAL", hot, raw(x.0), "{x}", fall(-1);
    /// Empty the slot (`del x`); `UnboundLocalError` if already empty.
    DeleteLocal(x: local) = "DELETE_LOCAL", cold, raw(x.0), "{x}", fall(0);
    /// `[..] -> [.., v]`: module global `g`, else builtin; `NameError` if neither.
    LoadGlobal(g: name) = "LOAD_GLOBAL", hot, raw(g.0), "{g}", fall(1);
    /// `[.., v] -> [..]`, sets the module global.
    StoreGlobal(g: name) = "STORE_GLOBAL", hot, raw(g.0), "{g}", fall(-1);
    /// Removes the module global; `NameError` if absent.
    DeleteGlobal(g: name) = "DELETE_GLOBAL", cold, raw(g.0), "{g}", fall(0);
    /// `[..] -> [.., v]` in a class body: the class namespace, then globals, then builtins.
    LoadName(g: name) = "LOAD_NAME", cold, raw(g.0), "{g}", fall(1);
    /// `[.., v] -> [..]` into the class namespace.
    StoreName(g: name) = "STORE_NAME", cold, raw(g.0), "{g}", fall(-1);
    /// Removes a name from the class namespace.
    DeleteName(g: name) = "DELETE_NAME", cold, raw(g.0), "{g}", fall(0);
    /// `[..] -> [.., cell contents]`; `NameError`/`UnboundLocalError`-style error if empty.
    LoadDeref(c: cell) = "LOAD_DEREF", hot, raw(c.0), "{c}", fall(1);
    /// `[.., v] -> [..]`, stores into the cell.
    StoreDeref(c: cell) = "STORE_DEREF", hot, raw(c.0), "{c}", fall(-1);
    /// Empties the cell (`del x` of a captured variable).
    DeleteDeref(c: cell) = "DELETE_DEREF", cold, raw(c.0), "{c}", fall(0);
    /// `[..] -> [.., cell]`: the cell object itself, to build a closure tuple for `MakeFunction`.
    LoadClosure(c: cell) = "LOAD_CLOSURE", cold, raw(c.0), "{c}", fall(1);
    /// `[..] -> [.., v]` in a class body for a free variable: class namespace first, then the cell.
    LoadClassDeref(c: cell) = "LOAD_CLASSDEREF", cold, raw(c.0), "{c}", fall(1);

    // ---- operators ----
    /// `[.., a, b] -> [.., a op b]`
    Binary(op: binop) = "BINARY_OP", hot, raw(), "{op}", fall(-1);
    /// `[.., a, b] -> [.., a op= b]` (mutates lists in place for `+=`, as Python does).
    InPlace(op: binop) = "INPLACE_OP", hot, raw(), "{op}=", fall(-1);
    /// `[.., a, b] -> [.., a op b]` for `<`, `==`, `in`, `is`, ... (result of `in`/`is` is a bool).
    Compare(op: cmpop) = "COMPARE_OP", hot, raw(), "{op}", fall(-1);
    /// `[.., a] -> [.., not a]`
    UnaryNot = "UNARY_NOT", hot, raw(), "", fall(0);
    /// `[.., a] -> [.., -a]`
    UnaryNeg = "UNARY_NEGATIVE", hot, raw(), "", fall(0);
    /// `[.., a] -> [.., +a]`
    UnaryPos = "UNARY_POSITIVE", cold, raw(), "", fall(0);
    /// `[.., a] -> [.., ~a]`
    UnaryInvert = "UNARY_INVERT", cold, raw(), "", fall(0);

    // ---- containers, subscripts, attributes ----
    /// `[.., obj, key] -> [.., obj[key]]`
    Subscr = "BINARY_SUBSCR", hot, raw(), "", fall(-1);
    /// `[.., v, obj, key] -> [..]`, `obj[key] = v`
    StoreSubscr = "STORE_SUBSCR", hot, raw(), "", fall(-3);
    /// `[.., obj, key] -> [..]`, `del obj[key]`
    DeleteSubscr = "DELETE_SUBSCR", cold, raw(), "", fall(-2);
    /// `[.., lo, hi] -> [.., slice(lo, hi)]` for 2, `[.., lo, hi, step] -> [.., slice(lo, hi, step)]` for 3.
    BuildSlice(n: count) = "BUILD_SLICE", hot, raw(n), "", fall(1 - i64::from(n));
    /// `[.., obj] -> [.., obj.g]`
    LoadAttr(g: name) = "LOAD_ATTR", hot, raw(g.0), "{g}", fall(0);
    /// `[.., v, obj] -> [..]`, `obj.g = v`
    StoreAttr(g: name) = "STORE_ATTR", hot, raw(g.0), "{g}", fall(-2);
    /// `[.., obj] -> [..]`, `del obj.g`
    DeleteAttr(g: name) = "DELETE_ATTR", cold, raw(g.0), "{g}", fall(-1);
    /// `[.., a1 .. an] -> [.., (a1, .., an)]`
    BuildTuple(n: count) = "BUILD_TUPLE", hot, raw(n), "", fall(1 - i64::from(n));
    /// `[.., a1 .. an] -> [.., [a1, .., an]]`
    BuildList(n: count) = "BUILD_LIST", hot, raw(n), "", fall(1 - i64::from(n));
    /// `[.., a1 .. an] -> [.., {a1, .., an}]`
    BuildSet(n: count) = "BUILD_SET", hot, raw(n), "", fall(1 - i64::from(n));
    /// `[.., k1, v1 .. kn, vn] -> [.., {k1: v1, ..}]`
    BuildMap(n: count) = "BUILD_MAP", hot, raw(n), "", fall(1 - 2 * i64::from(n));
    /// `[.., s1 .. sn] -> [.., s1 + .. + sn]` (strings, for f-strings)
    BuildString(n: count) = "BUILD_STRING", cold, raw(n), "", fall(1 - i64::from(n));
    /// `[.., list, x1 .. x(n-1), v] -> [.., list, x1 .. x(n-1)]`, appends v to the list n below v.
    ListAppend(n: count) = "LIST_APPEND", hot, raw(n), "", fall(-1);
    /// As `ListAppend`, adding to a set.
    SetAdd(n: count) = "SET_ADD", hot, raw(n), "", fall(-1);
    /// `[.., dict, x1 .., k, v] -> [.., dict, x1 ..]`, sets `dict[k] = v` (dict n below k).
    MapAdd(n: count) = "MAP_ADD", hot, raw(n), "", fall(-2);
    /// `[.., list, x1 .., it] -> [.., list, x1 ..]`, extends the list with an iterable (`[*a, *b]`).
    ListExtend(n: count) = "LIST_EXTEND", cold, raw(n), "", fall(-1);
    /// As `ListExtend`, for a set.
    SetUpdate(n: count) = "SET_UPDATE", cold, raw(n), "", fall(-1);
    /// `[.., dict, x1 .., m] -> [.., dict, x1 ..]`, `dict.update(m)` (`{**a}`).
    DictUpdate(n: count) = "DICT_UPDATE", cold, raw(n), "", fall(-1);
    /// As `DictUpdate`, but a repeated key is a `TypeError` (`f(**a, **b)`).
    DictMerge(n: count) = "DICT_MERGE", cold, raw(n), "", fall(-1);
    /// `[.., list] -> [.., tuple(list)]`
    ListToTuple = "LIST_TO_TUPLE", cold, raw(), "", fall(0);
    /// `[.., seq] -> [.., vn .. v1]`: exactly n items, the first ends up on top.
    UnpackSequence(n: count) = "UNPACK_SEQUENCE", hot, raw(n), "", fall(i64::from(n) - 1);
    /// `[.., seq] -> [.., after.., list, before..]` for `a, *b, c = seq` (`before`, `after`
    /// counts); first on top. At most 255 targets before the star, as in CPython
    /// (`Op::unpack_ex` checks).
    UnpackEx(before: count8, after: count) = "UNPACK_EX", cold,
        raw(u32::from(before) | after << 8), "{before} before, {after} after",
        fall(i64::from(before) + i64::from(after));
    /// `[.., v] -> [.., str]` or `[.., v, spec] -> [.., str]`: one f-string field.
    FormatValue(f: fmtflags) = "FORMAT_VALUE", cold, raw(f.raw()), "{f}",
        fall(if f.has_spec { -1 } else { 0 });

    // ---- control flow ----
    /// Jump forward (never a place where a thread yields).
    Jump(l: label) = "JUMP_FORWARD", hot, raw(l.0), "to {l}", jump_only(0);
    /// Jump backward to a loop head: the eval-breaker check point (GIL drop requests, Ctrl-C).
    JumpBackward(l: label_back) = "JUMP_BACKWARD", hot, raw(l.0), "to {l}", jump_only(0);
    /// `[.., c] -> [..]`, jump if c is false
    PopJumpIfFalse(l: label) = "POP_JUMP_IF_FALSE", hot, raw(l.0), "to {l}", branch(-1, -1);
    /// `[.., c] -> [..]`, jump if c is true
    PopJumpIfTrue(l: label) = "POP_JUMP_IF_TRUE", hot, raw(l.0), "to {l}", branch(-1, -1);
    /// `[.., c] -> [.., c]` and jump if c is false, else `[..]` (for `and`)
    JumpIfFalseOrPop(l: label) = "JUMP_IF_FALSE_OR_POP", hot, raw(l.0), "to {l}", branch(-1, 0);
    /// `[.., c] -> [.., c]` and jump if c is true, else `[..]` (for `or`)
    JumpIfTrueOrPop(l: label) = "JUMP_IF_TRUE_OR_POP", hot, raw(l.0), "to {l}", branch(-1, 0);
    /// `[.., obj] -> [.., iter(obj)]`
    GetIter = "GET_ITER", hot, raw(), "", fall(0);
    /// `[.., it] -> [.., it, next(it)]`, or when exhausted `[..]` and jump.
    ForIter(l: label) = "FOR_ITER", hot, raw(l.0), "to {l}", branch(1, -1);
    /// The test at the bottom of a `for` loop, as Lua's `FORLOOP`: `[.., it] -> [.., it, next(it)]`
    /// and jump back to the body, or when exhausted `[..]` and fall through. An eval-breaker
    /// check point, as every backward jump.
    ForNext(l: label_back) = "FOR_NEXT", hot, raw(l.0), "to {l}", branch(-1, 1);
    /// `ForNext` that stores the item straight into `locals[x]`: `[.., it] -> [.., it]` and jump
    /// back, or when exhausted `[..]` and fall through.
    ForNextStore(x: local16, l: label_back) = "FOR_NEXT_STORE", hot, raw(l.0), "{x}, to {l}",
        branch(-1, 0);
    /// `for x in range(..)`'s setup in place of `GetIter`, `x` a local slot: if the iterable is a
    /// `range`, `[.., r] -> [.., r]` with its start, stop and step in the hidden slots `s`, `s+1`,
    /// `s+2` (the loop then counts in slots, with no iterator object); else
    /// `[.., obj] -> [.., iter(obj)]` with slot `s` emptied (the loop then runs as `FOR_NEXT_STORE`).
    ForRangePrep(s: local16) = "FOR_RANGE_PREP", hot, raw(s.0), "{s}", fall(0);
    /// The bottom of a `for` over a range, as Lua's `FORLOOP`: while the counter in slot `s` has
    /// not passed the stop (slot `s+1`, by the step in slot `s+2`), `locals[x] = ` the counter,
    /// the counter advances and it jumps back to the body; when done `[.., r] -> [..]` and falls
    /// through. With slot `s` empty (not a range) it is `FOR_NEXT_STORE x, l`. An eval-breaker
    /// check point, as every backward jump.
    ForRange(x: local16, s: local16, l: label16_back) = "FOR_RANGE", hot, raw(l.0),
        "{x}, to {l}", branch(-1, 0);

    // ---- functions and calls ----
    /// `[.., defaults?, kwdefaults?, closure?] -> [.., function]` from the code constant.
    MakeFunction(code: konst, flags: fnflags) = "MAKE_FUNCTION", cold, raw(flags.raw()),
        "{code}{flags}", fall(1 - i64::from(flags.count()));
    /// `[.., c1 .. cn, it] -> [.., comprehension(it)]`: a comprehension's code (a list, set or
    /// dict comprehension, or a generator expression) called with the iterator `it` as its one
    /// argument and the cells `c1 .. cn` as its closure, without a function object made and
    /// freed (`MAKE_FUNCTION` then `CALL 1`, as CPython 3.11 runs it); a generator
    /// expression's value is the new generator.
    CallComprehension(code: konst, n: count16) = "CALL_COMPREHENSION", cold, raw(n),
        "{code}", fall(-i64::from(n));
    /// `[.., f, a1 .. an] -> [.., f(a1, .., an)]`; the callee's entry is an eval-breaker check point.
    Call(n: count) = "CALL", hot, raw(n), "{n} positional", fall(-i64::from(n));
    /// `[.., f, a1 .. an, names] -> [.., f(..)]`: `names` is a tuple constant naming the last
    /// `len(names)` arguments as keywords.
    CallKw(n: count) = "CALL_KW", cold, raw(n), "{n} total", fall(-i64::from(n) - 1);
    /// `[.., f, args_tuple] -> [.., f(*args)]`, or with `true`:
    /// `[.., f, args_tuple, kwargs_dict] -> [.., f(*args, **kwargs)]`
    CallEx(kwargs: kwflag) = "CALL_FUNCTION_EX", cold, raw(kwargs), "{kwargs}",
        fall(if kwargs { -2 } else { -1 });
    /// `[.., obj] -> [.., obj.g()]` without building a bound method: a call of no arguments,
    /// where looking `g` up at the call is CPython's order (nothing runs between); a call with
    /// arguments is `LoadMethod; ..; CallLoaded`.
    CallMethod(g: name) = "CALL_METHOD", hot, raw(g.0), "{g}()", fall(0);
    /// `[.., obj] -> [.., m, obj]` when `obj.g` is a function its lookup would bind to `obj` (a
    /// Python function of an instance's class, a method written in Rust of its class or of a
    /// built-in type: no bound method made; for the built-in methods `CallLoaded` answers in
    /// place, `l.append`, `l.pop`, `d.get`, `s.add`, `m` is a small int naming it, found
    /// without a look-up), else `[.., NULL, obj.g]` (CPython 3.11's `LOAD_METHOD`): `g` looked
    /// up before the call's arguments run, as CPython does.
    LoadMethod(g: name) = "LOAD_METHOD", hot, raw(g.0), "{g}", fall(1);
    /// `[.., m, obj, a1 .. an] -> [.., m(obj, a1, .., an)]`, or
    /// `[.., NULL, f, a1 .. an] -> [.., f(a1, .., an)]`: the call of what `LoadMethod` left.
    CallLoaded(n: count) = "CALL_LOADED", hot, raw(n), "{n} positional", fall(-i64::from(n) - 1);
    /// `[.., m, obj, a1 .. an, names] -> [.., m(obj, ..)]` (or with NULL, as `CallLoaded`),
    /// keywords as in `CallKw`.
    CallLoadedKw(n: count) = "CALL_LOADED_KW", cold, raw(n), "{n} total",
        fall(-i64::from(n) - 2);
    /// `[.., v] -> return v to the caller`
    ReturnValue = "RETURN_VALUE", hot, raw(), "", stops();
    /// `[.., v] -> suspend the generator yielding v`; on resume `[.., sent]`.
    YieldValue = "YIELD_VALUE", hot, raw(), "", fall(0);
    /// `YieldValue; Pop` (`yield v` as a statement): `[.., v] -> [..]`, suspends yielding `v`;
    /// the value sent in when it resumes is dropped, not pushed (`Interp::gen_resume`).
    YieldPop = "YIELD_POP", hot, raw(), "", fall(-1);
    /// `[.., x] -> [.., iter]` for `yield from x` (a generator stays itself).
    GetYieldFromIter = "GET_YIELD_FROM_ITER", cold, raw(), "", fall(0);
    /// `[.., iter, sent] -> ` send `sent` into iter: if it yields v, suspend yielding v and run this
    /// instruction again on resume (with the new sent value on top); when it finishes, `[.., result]`.
    YieldFrom = "YIELD_FROM", cold, raw(), "", fall(-1);

    // ---- classes, modules ----
    /// `[..] -> [.., __build_class__]`; called as `__build_class__(body_fn, name, *bases)`.
    LoadBuildClass = "LOAD_BUILD_CLASS", cold, raw(), "", fall(1);
    /// `[..] -> [.., module]` for `import g` (the full dotted name; a relative import's name
    /// starts with its dots: `..m`, or `.` for `from . import x`).
    ImportName(g: name) = "IMPORT_NAME", cold, raw(g.0), "{g}", fall(1);
    /// `[.., module] -> [.., module, module.g]` for `from m import g`; `ImportError` if absent.
    /// The name `*` (`from m import *`) binds the module's public names (its `__all__`, else the
    /// names not starting with `_`) in the current namespace and pushes None.
    ImportFrom(g: name) = "IMPORT_FROM", cold, raw(g.0), "{g}", fall(1);

    // ---- exceptions ----
    /// Push a handler: an exception raised before the matching `PopBlock` pops the handler, truncates
    /// the stack to its depth at this point, pushes the exception and jumps to the label.
    SetupExcept(l: label) = "SETUP_EXCEPT", cold, raw(l.0), "to {l}", branch(0, 1);
    /// Pop the innermost handler pushed by `SetupExcept`.
    PopBlock = "POP_BLOCK", cold, raw(), "", fall(0);
    /// `[.., exc] -> [.., prev_exc, exc]`: `exc` becomes the exception being handled (for bare
    /// `raise`, and as `__context__` of new ones); the previous one is saved below.
    PushExcInfo = "PUSH_EXC_INFO", cold, raw(), "", fall(1);
    /// `[.., prev_exc] -> [..]`: leave an `except` block, restoring the exception being handled.
    PopExcept = "POP_EXCEPT", cold, raw(), "", fall(-1);
    /// `[.., exc, typ] -> [.., exc, isinstance(exc, typ)]` (typ a class or a tuple of classes).
    CheckExcMatch = "CHECK_EXC_MATCH", cold, raw(), "", fall(0);
    /// `[.., exc] -> raise exc again` keeping its traceback (end of a `finally`, no handler matched).
    Reraise = "RERAISE", cold, raw(), "", stops();
    /// `Raise(0)`: re-raise the exception being handled; `Raise(1)`: `[.., exc] -> raise exc`;
    /// `Raise(2)`: `[.., exc, cause] -> raise exc from cause`.
    Raise(n: count) = "RAISE_VARARGS", cold, raw(n), "", stops();
    /// `[..] -> [.., AssertionError]` (the builtin, even if a global shadows the name).
    LoadAssertionError = "LOAD_ASSERTION_ERROR", cold, raw(), "", fall(1);
    /// `[.., mgr] -> [.., exit, mgr.__enter__()]` where `exit` is the bound `mgr.__exit__`.
    BeforeWith = "BEFORE_WITH", cold, raw(), "", fall(1);
    /// `[.., exit, prev_exc, exc] -> [.., exit, prev_exc, exc, exit(type(exc), exc, tb)]`
    WithExceptStart = "WITH_EXCEPT_START", cold, raw(), "", fall(1);

    // ---- coroutines (async/await): see compile/async_stmt.rs and vm/src/interp/coro.rs ----
    /// `[.., x] -> [.., awaitable]` for `await x`: a coroutine stays itself, else `x.__await__()`
    /// (which must return an iterator). Followed by `LoadConst None; YieldFrom`.
    GetAwaitable = "GET_AWAITABLE", cold, raw(), "", fall(0);
    /// `[.., x] -> [.., x.__aiter__()]` at the start of `async for`.
    GetAIter = "GET_AITER", cold, raw(), "", fall(0);
    /// `[.., aiter] -> [.., aiter, awaitable]`: the awaitable of `aiter.__anext__()`.
    GetANext = "GET_ANEXT", cold, raw(), "", fall(1);
    /// `[.., aiter, exc] -> [..]` when exc is a `StopAsyncIteration` (the end of `async for`),
    /// else raise exc again.
    EndAsyncFor = "END_ASYNC_FOR", cold, raw(), "", fall(-2);
    /// `[.., mgr] -> [.., aexit, mgr.__aenter__()]` where `aexit` is the bound `mgr.__aexit__`.
    BeforeAsyncWith = "BEFORE_ASYNC_WITH", cold, raw(), "", fall(1);

    // ---- except* (PEP 654): see compile/except_star.rs and vm/src/interp/excgroup.rs ----
    /// `[.., rest, typ] -> [.., rest', match]`: split what is left of the exception by `typ`
    /// (`match` None if nothing matches; a naked exception that matches is wrapped in a group);
    /// `match` becomes the exception being handled.
    CheckEgMatch = "CHECK_EG_MATCH", cold, raw(), "", fall(0);
    /// `[.., orig, raised_list] -> [.., exc]`: the exception a `try ... except*` raises again
    /// (the parts of `orig` raised again in `orig`'s shape, grouped with new ones), or None.
    PrepReraiseStar = "PREP_RERAISE_STAR", cold, raw(), "", fall(-1);

    // ---- superinstructions: common pairs fused at compile time (`compile/fuse.rs`) ----
    // Each does exactly what the instructions it replaces did, in one dispatch; `dis`, `--trace`
    // and `--stats` show and count it as one instruction.
    /// `LoadLocal(a); LoadLocal(b)`: `[..] -> [.., locals[a], locals[b]]`.
    LoadLocalPair(a: local16, b: local16) = "LOAD_LOCAL_PAIR", hot, raw(), "{a}, {b}", fall(2);
    /// `LoadConst(c); Compare(op)`: `[.., a] -> [.., a op consts[c]]`.
    CompareConst(op: cmpop, c: konst) = "COMPARE_CONST", hot, raw(c.0), "{op} {c}", fall(0);
    /// `Compare(op); PopJumpIfFalse(l)`: `[.., a, b] -> [..]`, jump unless `a op b`.
    CompareJumpIfFalse(op: cmpop, l: label) = "COMPARE_JUMP", hot, raw(l.0), "{op}, to {l}",
        branch(-2, -2);
    /// `LoadConst(c); Compare(op); PopJumpIfFalse(l)`: `[.., a] -> [..]`, jump unless
    /// `a op consts[c]` (`if n % i == 0:`).
    CompareConstJumpIfFalse(op: cmpop, c: konst16, l: label16) = "COMPARE_CONST_JUMP", hot,
        raw(l.0), "{op} {c}, to {l}", branch(-1, -1);
    /// `LoadLocal(x); LoadAttr(g)`: `[..] -> [.., locals[x].g]` (`self.y`, without copying
    /// `self` to the stack).
    LoadAttrLocal(x: local16, g: name) = "LOAD_ATTR_LOCAL", hot, raw(g.0), "{x}.{g}", fall(1);
    /// `LoadLocal(x); Call(1)`: `[.., f] -> [.., f(locals[x])]` (`check(left)`, `len(s)`): one
    /// dispatch fewer per such call.
    CallLocal(x: local16) = "CALL_LOCAL", hot, raw(), "{x}", fall(0);
    /// `LoadLocal(x); CallMethod(g)`: `[..] -> [.., locals[x].g()]` (`self.output()`, 87%
    /// of deltablue's method calls): one dispatch fewer per call.
    CallMethodLocal(x: local16, g: name) = "CALL_METHOD_LOCAL", hot, raw(g.0), "{x}.{g}()",
        fall(1);
    /// `LoadLocal(x); LoadMethod(g)`: `[..] -> [.., m, locals[x]]` or `[.., NULL,
    /// locals[x].g]` (`self.m(a)`): one dispatch fewer per method call with arguments.
    LoadMethodLocal(x: local16, g: name) = "LOAD_METHOD_LOCAL", hot, raw(g.0), "{x}.{g}",
        fall(2);
    /// `LoadLocal(x); CallLoaded(1)`: `[.., m, obj] -> [.., m(obj, locals[x])]` (or with NULL,
    /// as `CallLoaded`) (`self.m(a)`, `l.append(x)`, `math.floor(x)`): one dispatch fewer per
    /// method call of one argument that is a local.
    CallLoadedLocal(x: local16) = "CALL_LOADED_LOCAL", hot, raw(), "{x}", fall(-1);
    /// `LoadLocal(x); LoadAttr(g); StoreLocal(d)`: `locals[d] = locals[x].g` (`p = self.y`),
    /// stack unchanged.
    LoadAttrLocalStore(x: local16, g: name16, d: local16) = "LOAD_ATTR_LOCAL_STORE", hot, raw(),
        "{d} = {x}.{g}", fall(0);
    /// `LoadLocal(x); LoadAttr(g); PopJumpIfFalse(l)`: jump unless `locals[x].g` is true
    /// (`if self.y:`), stack unchanged.
    AttrJumpIfFalse(x: local16, g: name16, l: label16) = "ATTR_JUMP_IF_FALSE", hot, raw(l.0),
        "{x}.{g}, to {l}", branch(0, 0);
    /// `LoadLocal(x); LoadAttr(g); PopJumpIfTrue(l)`: jump if `locals[x].g` is true.
    AttrJumpIfTrue(x: local16, g: name16, l: label16) = "ATTR_JUMP_IF_TRUE", hot, raw(l.0),
        "{x}.{g}, to {l}", branch(0, 0);
    /// `LoadLocal(x); StoreAttr(g)`: `[.., v] -> [..]`, `locals[x].g = v` (`self.y = v`).
    StoreAttrLocal(x: local16, g: name) = "STORE_ATTR_LOCAL", hot, raw(g.0), "{x}.{g}", fall(-1);
    /// `BuildTuple(n); UnpackSequence(n)` (`a, b, c, d = b, c, d, a`): `[.., a1 .. an] ->
    /// [.., an .. a1]`, the n items reversed in place, with no tuple built (`Swap` for n <= 3).
    Reverse(n: count) = "REVERSE", hot, raw(n), "", fall(0);
    /// `UnpackSequence(n)` then `StoreLocal` into the n consecutive slots `x`, `x+1`, ..:
    /// `[.., seq] -> [..]` with `locals[x + i] = seq[i]` (`a, b, c = t`; `for k, v in ..`).
    UnpackStore(n: count16, x: local16) = "UNPACK_STORE", hot, raw(n), "{n} slots from {x}",
        fall(-1);
    /// A reversal of the top n items (`Swap(2)`, `Swap(3)` or `BuildTuple(n);
    /// UnpackSequence(n)`) then `StoreLocal` into the n consecutive slots `x`, `x+1`, ..:
    /// `[.., a1 .. an] -> [..]` with `locals[x + i] = a(i+1)` (`a, b = b, a + b`).
    StoreLocals(n: count16, x: local16) = "STORE_LOCALS", hot, raw(n), "{n} slots from {x}",
        fall(-i64::from(n));
    /// `ForIter(l); StoreLocal(x)`: `[.., it] -> [.., it]` with `locals[x] = next(it)`, or when
    /// exhausted `[..]` and jump.
    ForIterStore(x: local16, l: label) = "FOR_ITER_STORE", hot, raw(l.0), "{x}, to {l}",
        branch(0, -1);
    /// `LoadLocal(a); LoadConst(c); Subscr`: `[..] -> [.., locals[a][consts[c]]]` (`p[0]`).
    SubscrLocalConst(a: local16, c: konst16) = "SUBSCR_LOCAL_CONST", hot, raw(), "{a}[{c}]",
        fall(1);
    /// `LoadLocal(a); LoadLocal(b); Subscr`: `[..] -> [.., locals[a][locals[b]]]` (`v[i]`).
    SubscrLocals(a: local16, b: local16) = "SUBSCR_LOCALS", hot, raw(), "{a}[{b}]", fall(1);
    /// `LoadDeref(c); LoadLocal(b); Subscr`: `[..] -> [.., cell c's value[locals[b]]]`
    /// (`{vec[i] + i for i in cols}`, a comprehension reading its function's list); a list or
    /// tuple item by an int in range is read under the cell's borrow, the container's count
    /// not changed.
    SubscrDerefLocal(c: cell16, b: local16) = "SUBSCR_DEREF_LOCAL", hot, raw(), "{c}[{b}]",
        fall(1);
    /// `LoadLocal(b); Binary(op)`: `[.., a] -> [.., a op locals[b]]` (the left operand computed,
    /// the right one a local).
    BinaryTopLocal(op: binop, b: local16) = "BINARY_TOP_LOCAL", hot, raw(), "{op} {b}",
        fall(0);
    /// `LoadConst(c); Binary(op)`: `[.., a] -> [.., a op consts[c]]`.
    BinaryTopConst(op: binop, c: konst16) = "BINARY_TOP_CONST", hot, raw(), "{op} {c}",
        fall(0);
    /// `BuildSlice(2); Subscr` (CPython 3.12's `BINARY_SLICE`): `[.., obj, lo, hi] -> [..,
    /// obj[lo:hi]]`; a list or tuple with int or None bounds is sliced without a slice object
    /// made and freed (`items[:i]`, `row[1:]`).
    BinarySlice = "BINARY_SLICE", hot, raw(), "", fall(-2);
    /// `Copy(2); Copy(2); Subscr`, the read of `x[k] op= v`: `[.., obj, key] -> [.., obj, key,
    /// obj[key]]`.
    SubscrKeep = "SUBSCR_KEEP", hot, raw(), "", fall(1);
    /// `InPlace(op); Swap(3); Swap(2); StoreSubscr`, the write of `x[k] op= v`: `[.., obj, key,
    /// cur, v] -> [..]`, `obj[key] = (cur op= v)`.
    InPlaceStoreSubscr(op: binop) = "INPLACE_STORE_SUBSCR", hot, raw(), "{op}=", fall(-4);
    /// The write of `x[k] op= v` whose `x` is a local and `k` a constant, when its read became
    /// `SubscrLocalConst(a, c)` (`v1[0] -= dx * m`): `[.., cur, v] -> [..]`,
    /// `locals[a][consts[c]] = (cur op= v)`; the container and key are not kept on the stack
    /// (`compile/fuse.rs: subscr_local_const_update` checks nothing between rebinds `a`).
    InPlaceSubscrLocalConst(op: binop, a: local16, c: konst16) = "INPLACE_SUBSCR_LOC_CONST",
        hot, raw(), "{a}[{c}] {op}=", fall(-2);
    /// `Copy(1); LoadAttr(g)`, the read of `x.g op= v`: `[.., obj] -> [.., obj, obj.g]`.
    LoadAttrKeep(g: name) = "LOAD_ATTR_KEEP", hot, raw(g.0), "{g}", fall(1);
    /// `InPlace(op); Swap(2); StoreAttr(g)`, the write of `x.g op= v`: `[.., obj, cur, v] ->
    /// [..]`, `obj.g = (cur op= v)`.
    InPlaceStoreAttr(op: binop, g: name) = "INPLACE_STORE_ATTR", hot, raw(g.0), "{g} {op}=",
        fall(-3);
    /// `InPlace(op); StoreLocal(x)`: `[.., a, b] -> [..]`, `locals[x] = (a op= b)` (`t += f(i)`,
    /// the right operand computed on the stack: the result goes straight to its slot).
    InPlaceStoreLocal(op: binop, x: local16) = "INPLACE_STORE_LOCAL", hot, raw(), "{x} {op}=",
        fall(-2);
    /// `Binary(op); StoreLocal(x)`: `[.., a, b] -> [..]`, `locals[x] = a op b` (`d = p.x - q.x`).
    BinaryStoreLocal(op: binop, x: local16) = "BINARY_STORE_LOCAL", hot, raw(), "{x} = {op}",
        fall(-2);
    /// `UnaryNot; JumpIfFalseOrPop(l)` (`not a and b`): `[.., v] -> [.., False]` and jump if v is
    /// true, else `[..]`.
    NotJumpIfFalseOrPop(l: label) = "NOT_JUMP_IF_FALSE_OR_POP", hot, raw(l.0), "to {l}",
        branch(-1, 0);
    /// `UnaryNot; JumpIfTrueOrPop(l)` (`not a or b`): `[.., v] -> [.., True]` and jump if v is
    /// false, else `[..]`.
    NotJumpIfTrueOrPop(l: label) = "NOT_JUMP_IF_TRUE_OR_POP", hot, raw(l.0), "to {l}",
        branch(-1, 0);
    /// `LoadConst(c); ReturnValue`: return `consts[c]` (`return None`, `return True`, a body's
    /// implicit return; CPython 3.12's `RETURN_CONST`).
    ReturnConst(c: konst) = "RETURN_CONST", hot, raw(c.0), "{c}", stops();
    /// `LoadLocal(x); ReturnValue`: return `locals[x]`, moved out of the finished frame's slot.
    ReturnLocal(x: local) = "RETURN_LOCAL", hot, raw(x.0), "{x}", stops();
    /// `LoadLocal(x); LoadAttr(g); ReturnValue`: return `locals[x].g` (`return self.y`).
    ReturnAttrLocal(x: local16, g: name) = "RETURN_ATTR_LOCAL", hot, raw(g.0), "{x}.{g}",
        stops();

    // ---- register instructions: operands read from local slots and constants (`compile/fuse.rs`) ----
    // They replace the stack instructions named in each doc line (same line, nothing jumping
    // between them), do exactly what those did, in one dispatch and without moving the operands
    // through the stack. `a` and `b` are local slots, `c` a constant, `l` a jump target.
    /// `LoadLocal(a); LoadLocal(b); Binary(op)`: `[..] -> [.., locals[a] op locals[b]]`.
    BinaryLocals(op: binop, a: local16, b: local16) = "BINARY_LOCALS", hot, raw(), "{a} {op} {b}",
        fall(1);
    /// `LoadLocal(a); LoadConst(c); Binary(op)`: `[..] -> [.., locals[a] op consts[c]]`.
    BinaryLocalConst(op: binop, a: local16, c: konst16) = "BINARY_LOCAL_CONST", hot, raw(),
        "{a} {op} {c}", fall(1);
    /// `LoadLocal(a); LoadLocal(b); Binary(op); StoreLocal(d)`: `locals[d] = locals[a] op locals[b]`,
    /// stack unchanged (the result goes straight to its slot, as Lua's `ADD`).
    BinaryLocalsStore(op: binop, a: local16, b: local16, d: local16) = "BINARY_LOCALS_STORE", hot,
        raw(), "{d} = {a} {op} {b}", fall(0);
    /// `LoadLocal(a); LoadConst(c); Binary(op); StoreLocal(d)`: `locals[d] = locals[a] op consts[c]`.
    BinaryLocalConstStore(op: binop, a: local16, c: konst16, d: local16) =
        "BINARY_LOCAL_CONST_STORE", hot, raw(), "{d} = {a} {op} {c}", fall(0);
    /// `LoadLocal(a); LoadLocal(b); InPlace(op); StoreLocal(a)`: `locals[a] op= locals[b]`, stack unchanged.
    InPlaceLocals(op: binop, a: local16, b: local16) = "INPLACE_LOCALS", hot, raw(),
        "{a} {op}= {b}", fall(0);
    /// `LoadLocal(a); LoadConst(c); InPlace(op); StoreLocal(a)`: `locals[a] op= consts[c]` (`i += 1`).
    InPlaceLocalConst(op: binop, a: local16, c: konst16) = "INPLACE_LOCAL_CONST", hot, raw(),
        "{a} {op}= {c}", fall(0);
    /// `LoadLocal(a); LoadLocal(o); LoadAttr(g); InPlace(op); StoreLocal(a)`: `locals[a] op=
    /// locals[o].g` (`t += self.x`), stack unchanged.
    InPlaceLocalAttr(op: binop, a: local16, o: local16, g: name16) = "INPLACE_LOCAL_ATTR", hot,
        raw(), "{a} {op}= {o}.{g}", fall(0);
    /// `LoadLocal(o); LoadAttrKeep(g); LoadLocal(b); InPlaceStoreAttr(op, g)`: `locals[o].g op=
    /// locals[b]` (`self.total += amount`), stack unchanged.
    InPlaceAttrLocal(op: binop, o: local16, g: name16, b: local16) = "INPLACE_ATTR_LOCAL", hot,
        raw(), "{o}.{g} {op}= {b}", fall(0);
    /// `LoadLocal(o); LoadAttrKeep(g); LoadConst(c); InPlaceStoreAttr(op, g)`: `locals[o].g op=
    /// consts[c]` (`self.count += 1`), stack unchanged.
    InPlaceAttrConst(op: binop, o: local16, g: name16, c: konst16) = "INPLACE_ATTR_CONST", hot,
        raw(), "{o}.{g} {op}= {c}", fall(0);
    /// `LoadLocal(a); LoadLocal(b); Compare(op); PopJumpIfFalse(l)`: jump unless `locals[a] op locals[b]`.
    CompareLocalsJump(op: cmpop, a: local16, b: local16, l: label16) = "COMPARE_LOCALS_JUMP", hot,
        raw(l.0), "{a} {op} {b}, to {l}", branch(0, 0);
    /// `LoadLocal(a); LoadConst(c); Compare(op); PopJumpIfFalse(l)`: jump unless `locals[a] op consts[c]`.
    CompareLocalConstJump(op: cmpop, a: local16, c: konst16, l: label16) =
        "COMPARE_LOCAL_CONST_JUMP", hot, raw(l.0), "{a} {op} {c}, to {l}", branch(0, 0);

    /// `LoadLocal(a); LoadLocal(b); Binary(op); LoadConst(c); Compare(cmp); PopJumpIfFalse(l)`:
    /// jump unless `(locals[a] op locals[b]) cmp consts[c]` (`if n % i == 0:`), stack unchanged;
    /// slots and the constant below 256 (else the shorter forms).
    BinaryLocalsCompareJump(op: binop, a: local8, b: local8, cmp: cmpop, c: konst8, l: label16) =
        "BINARY_LOCALS_CMP_JUMP", hot, raw(l.0), "{a} {op} {b} {cmp} {c}, to {l}", branch(0, 0);
    /// `LoadLocal(a); LoadConst(k); Binary(op); LoadConst(c); Compare(cmp); PopJumpIfFalse(l)`:
    /// jump unless `(locals[a] op consts[k]) cmp consts[c]` (`if i % 3 == 0:`), stack unchanged;
    /// the slot and constants below 256 (else the shorter forms).
    BinaryConstCompareJump(op: binop, a: local8, k: konst8, cmp: cmpop, c: konst8, l: label16) =
        "BINARY_CONST_CMP_JUMP", hot, raw(l.0), "{a} {op} {k} {cmp} {c}, to {l}", branch(0, 0);
    /// The guarded fast form of `x[k] op= a * b` (`v1[0] -= dx * m`, a multiply-accumulate):
    /// placed before the `SubscrLocalConst(x, k); BinaryLocals(*, a, b);
    /// InPlaceSubscrLocalConst(op, x, k)` that compute it, it does it all and jumps past them to
    /// `l` when `locals[x]` is a list, `consts[k]` an int index in range, and `locals[a] *
    /// locals[b]` and the item's update ints or floats that `arith_fast` computes (no overflow,
    /// no NaN); else it changes nothing and falls through to them, which do it in order, errors
    /// and special methods included (`compile/fuse.rs: subscr_local_const_updates`). Stack
    /// unchanged; the slots and the constant below 256.
    InPlaceItemMul(op: binop, x: local8, k: konst8, a: local8, b: local8, l: label16) =
        "INPLACE_ITEM_MUL", hot, raw(l.0), "{x}[{k}] {op}= {a} * {b}, to {l}", branch(0, 0);

    // ---- pattern matching (the `match` statement, compiled by compile/pattern.rs; CPython's
    // instructions of the same names, run by vm/src/interp/pattern.rs) ----
    /// `[.., s] -> [.., s, is_sequence]`: list, tuple, range, deque, a `collections.abc.Sequence`
    /// (never str, bytes or bytearray).
    MatchSequence = "MATCH_SEQUENCE", cold, raw(), "", fall(1);
    /// `[.., s] -> [.., s, is_mapping]`: dict, or a `collections.abc.Mapping`.
    MatchMapping = "MATCH_MAPPING", cold, raw(), "", fall(1);
    /// `[.., s] -> [.., s, len(s)]`
    GetLen = "GET_LEN", cold, raw(), "", fall(1);
    /// `[.., s, keys] -> [.., s, keys, values]`: the tuple of `s.get(k)` for each key, or None if
    /// one is missing.
    MatchKeys = "MATCH_KEYS", cold, raw(), "", fall(1);
    /// `[.., s, cls, names] -> [.., attrs]`: if `s` is an instance of `cls`, the tuple of its
    /// attributes for the n positional sub-patterns (named by `cls.__match_args__`) then for the
    /// keyword `names`; None if it is not, or lacks one.
    MatchClass(n: count16) = "MATCH_CLASS", cold, raw(n), "", fall(-2);
    /// `[.., s, keys] -> [.., s, rest]`: a new dict of `s`'s items but `keys` (for `**rest`).
    CopyDictWithoutKeys = "COPY_DICT_WITHOUT_KEYS", cold, raw(), "", fall(0);

    // ---- interactive ----
    /// `[.., v] -> [..]`, prints `repr(v)` unless it is None (the REPL's echo of expression statements).
    PrintExpr = "PRINT_EXPR", cold, raw(), "", fall(-1);
}

/// The widest opcode name `dis` and `--trace` leave room for: listings keep their columns
/// (a test checks every name fits).
pub const OPNAME_WIDTH: usize = 24;

/// An opcode's row of the table, as data.
#[derive(Debug)]
pub struct OpInfo {
    /// The `Op` variant (`LoadConst`).
    pub variant: &'static str,
    /// The `dis` name (`LOAD_CONST`).
    pub name: &'static str,
    /// Each operand's name and kind (`("c", "konst")`).
    pub operands: &'static [(&'static str, &'static str)],
    /// Run in the dispatch loop's own arm (else in `cold_op`).
    pub hot: bool,
    /// The doc lines, as written (each starts with a space).
    pub doc: &'static [&'static str],
    /// The stack effect, as written in the table.
    pub effect: &'static str,
}

/// How `dis` shows one instruction: `LOAD_CONST 0 (1)` is name, raw and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    pub name: &'static str,
    /// The number in `dis`'s operand column, if any.
    pub raw: Option<u32>,
    /// The meaning in parentheses, empty if none.
    pub text: String,
}

/// What an instruction's operands name, resolved against its code object (`dis.rs`).
pub trait OperandNames {
    fn local(&self, i: u32) -> String;
    fn konst(&self, i: u32) -> String;
    fn name(&self, i: u32) -> String;
    fn cell(&self, i: u32) -> String;
}

// The stack-effect column's vocabulary: (on falling through, on jumping).
const fn fall(e: i64) -> (Option<i64>, Option<i64>) {
    (Some(e), None)
}
const fn branch(fall: i64, jump: i64) -> (Option<i64>, Option<i64>) {
    (Some(fall), Some(jump))
}
const fn jump_only(e: i64) -> (Option<i64>, Option<i64>) {
    (None, Some(e))
}
const fn stops() -> (Option<i64>, Option<i64>) {
    (None, None)
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
        Some(Op::UnpackEx(before, after))
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
    /// An imaginary literal `2j`: the VM makes the complex number `0+2j`.
    Imag(f64),
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
    /// The byte range in the source of the expression or statement each instruction comes from
    /// (CPython's `co_positions`; tracebacks underline it): same length as `code` (the frozen
    /// library's code keeps them too), or empty when not recorded. `(0, 0)`: unknown.
    pub spans: Vec<(u32, u32)>,
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
    /// Local slots after `varnames` that only instructions use (a `for` over a range keeps its
    /// counter, stop and step there: `ForRangePrep`); invisible to `locals()`.
    pub hidden_slots: u32,
    /// Frozen library code only (`serialize::decode_code_lazy`): a function whose body (`code`,
    /// `lines`, `consts` and `names`, left empty here) is still in the frozen bytes, decoded the
    /// first time the VM needs it (`serialize::decode_body`). Most library functions are never
    /// called in a given run, so a module's import decodes only what it runs. `None` for
    /// everything else.
    pub lazy_body: Option<LazyBody>,
}

/// Where the body of a lazily decoded function waits: its bytes in the frozen library, and how
/// deeply it is nested in its module (so decoding it keeps `serialize::MAX_DEPTH`).
#[derive(Debug, Clone, PartialEq)]
pub struct LazyBody {
    pub bytes: &'static [u8],
    pub depth: usize,
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
