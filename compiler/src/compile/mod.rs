//! Stage 3b: AST to bytecode. Owned by the compiler work.
//!
//! One [`Unit`] per code object being built (module, function, class body, lambda, comprehension);
//! the [`Compiler`] keeps the unit being emitted in `cur` and its enclosing ones on a stack.
//! Statements live in `stmt.rs`, expressions in `expr.rs`, exception handling and the unwinding of
//! `break`/`continue`/`return` in `unwind.rs`, label resolution and stack depth in `stack.rs`.

mod async_stmt;
mod except_star;
mod expr;
mod fuse;
mod future;
mod pattern;
mod stack;
mod stmt;
mod unwind;
mod warn;

use std::collections::hash_map::Entry;
// FxHash, as in `symtable.rs`: the compiler's own tables need no flooding-resistant hash.
use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use crate::ast::{Module, Params, Span, Stmt};
use crate::bytecode::*;
use crate::symtable::{ScopeId, ScopeKind, SymScope, SymbolTable};
use crate::{LineIndex, SyntaxError};

pub use stack::{loaded_method_slots, verify_stack};
use unwind::FBlock;
pub(crate) use warn::clear as warn_clear;
pub(crate) use warn::{check_numbers, finish_front_end, record as record_warnings};
pub use warn::{take_warnings, CompileWarning, WarningStage};

/// How a module is compiled: a file, or one REPL entry (expression statements echo their value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    File,
    Interactive,
    /// `exec()`: module-level names go through the namespace the caller gives (`LoadName`).
    Exec,
    /// `eval()`: one expression, whose value the code returns; names as in `Exec`.
    Eval,
    /// `compile(..., 'single')`: as `Exec`, echoing expression statements as the REPL does.
    Single,
}

impl Mode {
    /// Module-level names are read and written in a namespace dict, as in a class body.
    fn namespace(self) -> bool {
        matches!(self, Mode::Exec | Mode::Eval | Mode::Single)
    }

    /// Module-level expression statements print their value.
    pub(crate) fn echoes(self) -> bool {
        matches!(self, Mode::Interactive | Mode::Single)
    }
}

/// Compile a parsed module. `src` is only used to turn spans into line numbers.
pub fn compile_module(
    module: &Module,
    filename: &str,
    src: &str,
    mode: Mode,
) -> Result<Arc<CodeObject>, SyntaxError> {
    let st = SymbolTable::build(module)?;
    let filename: Arc<str> = Arc::from(filename);
    let first_line = 1;
    let cur = Unit::new(&st, 0, "<module>".into(), "<module>".into(), first_line);
    let mut c = Compiler {
        st: &st,
        lines: LineIndex::new(src),
        filename,
        mode,
        cur,
        parents: Vec::new(),
        annotation_src: future::future_annotations(&module.body)?.then(|| src.into()),
    };
    if mode == Mode::Eval {
        c.eval_expression(&module.body)?;
    } else if let Some(second) = second_statement(mode, &module.body, src) {
        return Err(SyntaxError::syntax(
            "multiple statements found while compiling a single statement",
            second.span,
        ));
    } else {
        if let (Mode::File | Mode::Exec, Some(doc)) = (mode, stmt::docstring(&module.body)) {
            // A module's leading string literal is its `__doc__`, stored first as CPython does
            // (not for a REPL entry).
            c.emit_const(Constant::Str(doc.into()));
            c.name_op("__doc__", Ctx::Store, Span::default())?;
        }
        c.setup_annotations(&module.body, Span::default())?;
        c.stmts(&module.body)?;
        c.implicit_return(Constant::None);
    }
    let unit = std::mem::replace(
        &mut c.cur,
        Unit::new(&st, 0, String::new(), String::new(), 1),
    );
    c.finish(unit).map(Arc::new)
}

/// In `'single'` mode, the first statement that starts a second one: CPython's interactive
/// input is one statement, where simple statements joined by `;` on one line (`a = 1; a`)
/// count as one. Statements separated by nothing but `;` and blanks are that line's.
fn second_statement<'m>(mode: Mode, body: &'m [Stmt], src: &str) -> Option<&'m Stmt> {
    if mode != Mode::Single {
        return None;
    }
    body.windows(2).find_map(|pair| {
        let gap = src.get(pair[0].span.end as usize..pair[1].span.start as usize);
        let joined = gap.is_some_and(|g| {
            let g = g.trim_matches([' ', '\t', '\x0c']);
            g == ";"
        });
        (!joined).then_some(&pair[1])
    })
}

/// Where an instruction comes from: its line, and the source range of the AST node that
/// produced it (CPython's instruction positions, which tracebacks underline).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Loc {
    line: u32,
    span: Span,
}

/// The code object under construction.
pub(crate) struct Unit<'a> {
    scope: ScopeId,
    kind: ScopeKind,
    name: String,
    qualname: String,
    first_line: u32,
    code: Vec<Op>,
    lines: Vec<u32>,
    /// The source range of each instruction (see `CodeObject::spans`).
    spans: Vec<(u32, u32)>,
    consts: Vec<Constant>,
    /// Index of each constant in `consts` (code objects are never shared, so not indexed): with
    /// `name_index` and `var_index`, keeps compile time linear in the number of distinct constants
    /// and names (a linear scan made a 40,000-line file take minutes).
    const_index: HashMap<ConstKey, u32>,
    names: Vec<String>,
    name_index: HashMap<String, u32>,
    varnames: Vec<String>,
    var_index: HashMap<String, u32>,
    cellvars: Vec<String>,
    freevars: Vec<String>,
    argcount: u32,
    posonlyargcount: u32,
    kwonlyargcount: u32,
    flags: CodeFlags,
    /// Label id -> instruction index once bound.
    labels: Vec<Option<u32>>,
    fblocks: Vec<FBlock<'a>>,
    /// Where the instructions emitted now come from: set for each statement and expression.
    loc: Loc,
    /// `for` loops over a range being compiled, nested: each keeps counter, stop and step in
    /// three hidden slots (`ForRangePrep`), numbered from 0 here and placed after `varnames`
    /// when the unit is finished.
    range_depth: u32,
    hidden_slots: u32,
}

impl<'a> Unit<'a> {
    fn new(
        st: &SymbolTable,
        scope: ScopeId,
        name: String,
        qualname: String,
        line: u32,
    ) -> Unit<'a> {
        let (kind, varnames, cellvars, freevars, generator, coroutine) = match st.scope(scope) {
            Some(s) => (
                s.kind,
                s.varnames.clone(),
                s.cellvars.clone(),
                s.freevars.clone(),
                s.generator,
                s.coroutine,
            ),
            None => (ScopeKind::Module, vec![], vec![], vec![], false, false),
        };
        let generator =
            generator || kind == ScopeKind::Comprehension(crate::symtable::CompKind::Gen);
        let flags = CodeFlags {
            generator: generator || coroutine,
            coroutine: coroutine && !generator,
            async_generator: coroutine && generator,
            class_body: kind == ScopeKind::Class,
            ..CodeFlags::default()
        };
        Unit {
            scope,
            kind,
            name,
            qualname,
            first_line: line,
            code: Vec::new(),
            lines: Vec::new(),
            spans: Vec::new(),
            consts: Vec::new(),
            const_index: HashMap::default(),
            names: Vec::new(),
            name_index: HashMap::default(),
            var_index: varnames
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), i as u32))
                .collect(),
            varnames,
            cellvars,
            freevars,
            argcount: 0,
            posonlyargcount: 0,
            kwonlyargcount: 0,
            flags,
            labels: Vec::new(),
            fblocks: Vec::new(),
            loc: Loc {
                line,
                span: Span::default(),
            },
            range_depth: 0,
            hidden_slots: 0,
        }
    }
}

/// Whether a name is read, written or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ctx {
    Load,
    Store,
    Del,
}

pub(crate) struct Compiler<'a> {
    st: &'a SymbolTable,
    lines: LineIndex,
    filename: Arc<str>,
    mode: Mode,
    cur: Unit<'a>,
    parents: Vec<Unit<'a>>,
    /// The source, when `from __future__ import annotations` keeps annotations as text.
    annotation_src: Option<Arc<str>>,
}

/// Constants compare by identity of representation (`0.0` and `-0.0`, `1` and `True` stay apart).
/// A constant as a hash-map key: equal when `same_const` says so (floats by bit pattern, so `0.0`
/// and `-0.0` stay apart; `1`, `1.0` and `True` are different constants).
struct ConstKey(Constant);

impl PartialEq for ConstKey {
    fn eq(&self, other: &ConstKey) -> bool {
        same_const(&self.0, &other.0)
    }
}

impl Eq for ConstKey {}

impl std::hash::Hash for ConstKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        hash_const(&self.0, state);
    }
}

fn hash_const<H: std::hash::Hasher>(c: &Constant, state: &mut H) {
    use std::hash::Hash;
    std::mem::discriminant(c).hash(state);
    match c {
        Constant::Bool(b) => b.hash(state),
        Constant::Int(i) => i.hash(state),
        Constant::Float(f) | Constant::Imag(f) => f.to_bits().hash(state),
        Constant::Str(s) => s.hash(state),
        Constant::Tuple(items) => items.iter().for_each(|k| hash_const(k, state)),
        // Variants without payload, and any added later, hash by their debug text: consistent
        // with `same_const` (equal constants print alike), only slower.
        other => format!("{other:?}").hash(state),
    }
}

fn same_const(a: &Constant, b: &Constant) -> bool {
    match (a, b) {
        (Constant::Float(x), Constant::Float(y)) | (Constant::Imag(x), Constant::Imag(y)) => {
            x.to_bits() == y.to_bits()
        }
        (Constant::Tuple(x), Constant::Tuple(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_const(p, q))
        }
        (Constant::Code(_), _) | (_, Constant::Code(_)) => false,
        _ => a == b,
    }
}

impl<'a> Compiler<'a> {
    // ---- emission ----

    /// `LoadConst v; ReturnValue` at the end of a body, unless the end is unreachable.
    pub(crate) fn implicit_return(&mut self, value: Constant) {
        let end = self.cur.code.len() as u32;
        let targeted = self.cur.labels.contains(&Some(end));
        let terminal = matches!(
            self.cur.code.last(),
            Some(Op::ReturnValue | Op::Raise(_) | Op::Reraise | Op::Jump(_) | Op::JumpBackward(_))
        );
        if terminal && !targeted {
            return;
        }
        if let (Some(&line), Some(&(start, end))) = (self.cur.lines.last(), self.cur.spans.last()) {
            self.cur.loc = Loc {
                line,
                span: Span { start, end },
            };
        }
        self.emit_const(value);
        self.emit(Op::ReturnValue);
    }

    pub(crate) fn emit(&mut self, op: Op) {
        self.cur.code.push(op);
        self.cur.lines.push(self.cur.loc.line);
        self.cur
            .spans
            .push((self.cur.loc.span.start, self.cur.loc.span.end));
    }

    pub(crate) fn line_of(&self, span: Span) -> u32 {
        self.lines.line(span.start)
    }

    /// Set the location (line and source range) of the following instructions: the node being
    /// compiled; returns the previous location, for `restore_line` when the node is done.
    pub(crate) fn set_line(&mut self, span: Span) -> Loc {
        let old = self.cur.loc;
        self.cur.loc = Loc {
            line: self.line_of(span),
            span,
        };
        old
    }

    pub(crate) fn restore_line(&mut self, loc: Loc) {
        self.cur.loc = loc;
    }

    pub(crate) fn new_label(&mut self) -> Label {
        self.cur.labels.push(None);
        Label(self.cur.labels.len() as u32 - 1)
    }

    pub(crate) fn bind(&mut self, label: Label) {
        let pos = self.cur.code.len() as u32;
        if let Some(slot) = self.cur.labels.get_mut(label.0 as usize) {
            *slot = Some(pos);
        }
    }

    pub(crate) fn add_const(&mut self, c: Constant) -> ConstIdx {
        let index = self.cur.consts.len() as u32;
        if matches!(c, Constant::Code(_)) {
            self.cur.consts.push(c);
            return ConstIdx(index);
        }
        match self.cur.const_index.entry(ConstKey(c)) {
            Entry::Occupied(e) => ConstIdx(*e.get()),
            Entry::Vacant(e) => {
                self.cur.consts.push(e.key().0.clone());
                e.insert(index);
                ConstIdx(index)
            }
        }
    }

    pub(crate) fn emit_const(&mut self, c: Constant) {
        let i = self.add_const(c);
        self.emit(Op::LoadConst(i));
    }

    /// The name operand of an attribute access: `obj.__x` inside a class becomes `obj._Class__x`
    /// (CPython's private-name mangling), so a subclass's `__x` does not clash with its base's.
    pub(crate) fn attr_name(&mut self, attr: &str) -> Name {
        let mangled = self.mangle(attr);
        self.add_name(mangled.as_deref().unwrap_or(attr))
    }

    /// `name` mangled for the innermost enclosing class, if it is a private name there
    /// (`symtable::mangle`; the symbol table stores names the same way).
    fn mangle(&self, name: &str) -> Option<String> {
        let class = std::iter::once(&self.cur)
            .chain(self.parents.iter().rev())
            .find(|u| u.kind == ScopeKind::Class)?;
        crate::symtable::mangle(&class.name, name)
    }

    pub(crate) fn add_name(&mut self, name: &str) -> Name {
        if let Some(&i) = self.cur.name_index.get(name) {
            return Name(i);
        }
        let i = self.cur.names.len() as u32;
        self.cur.names.push(name.to_string());
        self.cur.name_index.insert(name.to_string(), i);
        Name(i)
    }

    fn local_slot(&mut self, name: &str) -> Local {
        if let Some(&i) = self.cur.var_index.get(name) {
            return Local(i);
        }
        let i = self.cur.varnames.len() as u32;
        self.cur.varnames.push(name.to_string());
        self.cur.var_index.insert(name.to_string(), i);
        Local(i)
    }

    /// Cell index of a name in the current unit: cellvars first, then freevars.
    pub(crate) fn cell_index(&self, name: &str) -> Option<Cell> {
        if let Some(i) = self.cur.cellvars.iter().position(|n| n == name) {
            return Some(Cell(i as u32));
        }
        self.cur
            .freevars
            .iter()
            .position(|n| n == name)
            .map(|i| Cell((self.cur.cellvars.len() + i) as u32))
    }

    fn scope_of_name(&self, name: &str) -> SymScope {
        self.st
            .scope(self.cur.scope)
            .map_or(SymScope::GlobalImplicit, |s| s.lookup(name))
    }

    /// Whether `name` is loaded with `LoadLocal` here: a function's own (non-cell) local.
    pub(crate) fn is_plain_local(&self, name: &str) -> bool {
        let mangled = self.mangle(name);
        let name = mangled.as_deref().unwrap_or(name);
        !matches!(self.cur.kind, ScopeKind::Module | ScopeKind::Class)
            && self.scope_of_name(name) == SymScope::Local
    }

    /// CPython's `compiler_check_debug_args`: no parameter of a function or lambda may be
    /// named `__debug__`; the error spans the whole `def` statement or lambda (`span`).
    pub(crate) fn check_debug_params(params: &Params, span: Span) -> Result<(), SyntaxError> {
        let named = params
            .posonly
            .iter()
            .chain(&params.args)
            .chain(&params.vararg)
            .chain(&params.kwonly)
            .chain(&params.kwarg)
            .any(|p| p.name.name == "__debug__");
        if named {
            return Err(SyntaxError::syntax("cannot assign to __debug__", span));
        }
        Ok(())
    }

    /// Load, store or delete a variable, choosing the opcode from its scope.
    pub(crate) fn name_op(&mut self, name: &str, ctx: Ctx, span: Span) -> Result<(), SyntaxError> {
        // `__debug__` is a constant (see `expr_inner`): binding it is CPython's compile error.
        if name == "__debug__" && ctx != Ctx::Load {
            let verb = if ctx == Ctx::Del {
                "delete"
            } else {
                "assign to"
            };
            return Err(SyntaxError::syntax(
                format!("cannot {verb} __debug__"),
                span,
            ));
        }
        let mangled = self.mangle(name);
        let name = mangled.as_deref().unwrap_or(name);
        let scope = self.scope_of_name(name);
        let deref = |c: &mut Self| -> Result<Cell, SyntaxError> {
            c.cell_index(name).ok_or_else(|| {
                SyntaxError::syntax(format!("internal error: no cell for '{name}'"), span)
            })
        };
        let op = match (self.cur.kind, scope) {
            (ScopeKind::Module, SymScope::GlobalImplicit | SymScope::Local)
                if self.mode.namespace() =>
            {
                let n = self.add_name(name);
                match ctx {
                    Ctx::Load => Op::LoadName(n),
                    Ctx::Store => Op::StoreName(n),
                    Ctx::Del => Op::DeleteName(n),
                }
            }
            (ScopeKind::Module, _) | (_, SymScope::GlobalExplicit) => {
                let n = self.add_name(name);
                match ctx {
                    Ctx::Load => Op::LoadGlobal(n),
                    Ctx::Store => Op::StoreGlobal(n),
                    Ctx::Del => Op::DeleteGlobal(n),
                }
            }
            (ScopeKind::Class, SymScope::Local | SymScope::GlobalImplicit) => {
                let n = self.add_name(name);
                match ctx {
                    Ctx::Load => Op::LoadName(n),
                    Ctx::Store => Op::StoreName(n),
                    Ctx::Del => Op::DeleteName(n),
                }
            }
            (ScopeKind::Class, SymScope::Free | SymScope::Cell) => {
                let cell = deref(self)?;
                match ctx {
                    Ctx::Load => Op::LoadClassDeref(cell),
                    Ctx::Store => Op::StoreDeref(cell),
                    Ctx::Del => Op::DeleteDeref(cell),
                }
            }
            (_, SymScope::GlobalImplicit) => {
                let n = self.add_name(name);
                match ctx {
                    Ctx::Load => Op::LoadGlobal(n),
                    Ctx::Store => Op::StoreGlobal(n),
                    Ctx::Del => Op::DeleteGlobal(n),
                }
            }
            (_, SymScope::Local) => {
                let l = self.local_slot(name);
                match ctx {
                    Ctx::Load => Op::LoadLocal(l),
                    Ctx::Store => Op::StoreLocal(l),
                    Ctx::Del => Op::DeleteLocal(l),
                }
            }
            (_, SymScope::Free | SymScope::Cell) => {
                let cell = deref(self)?;
                match ctx {
                    Ctx::Load => Op::LoadDeref(cell),
                    Ctx::Store => Op::StoreDeref(cell),
                    Ctx::Del => Op::DeleteDeref(cell),
                }
            }
        };
        self.emit(op);
        Ok(())
    }

    // ---- nested code objects ----

    /// Qualified name of a function/class named `name` defined in the current unit.
    fn child_qualname(&self, name: &str) -> String {
        match self.cur.kind {
            ScopeKind::Module => name.to_string(),
            _ if self.scope_of_name(name) == SymScope::GlobalExplicit => name.to_string(),
            ScopeKind::Class => format!("{}.{name}", self.cur.qualname),
            _ => format!("{}.<locals>.{name}", self.cur.qualname),
        }
    }

    /// Start compiling the body of a nested scope.
    pub(crate) fn enter_scope(&mut self, scope: ScopeId, name: &str, span: Span) {
        let qualname = self.child_qualname(name);
        let line = self.line_of(span);
        let unit = Unit::new(self.st, scope, name.to_string(), qualname, line);
        let parent = std::mem::replace(&mut self.cur, unit);
        self.parents.push(parent);
    }

    /// Finish the nested scope and return its code object; the enclosing unit becomes current.
    pub(crate) fn leave_scope(&mut self) -> Result<CodeObject, SyntaxError> {
        let Some(parent) = self.parents.pop() else {
            return Err(SyntaxError::syntax(
                "internal error: scope stack underflow",
                Span::default(),
            ));
        };
        let unit = std::mem::replace(&mut self.cur, parent);
        self.finish(unit)
    }

    /// Set the parameter counts of the current unit from the AST parameters.
    pub(crate) fn set_params(&mut self, params: &crate::ast::Params) {
        self.cur.posonlyargcount = params.posonly.len() as u32;
        self.cur.argcount = (params.posonly.len() + params.args.len()) as u32;
        self.cur.kwonlyargcount = params.kwonly.len() as u32;
        self.cur.flags.varargs = params.vararg.is_some();
        self.cur.flags.varkeywords = params.kwarg.is_some();
    }

    /// Push a closure tuple for `code` (if it has free variables) and emit `MakeFunction`.
    pub(crate) fn make_function(
        &mut self,
        code: CodeObject,
        mut flags: MakeFunctionFlags,
        span: Span,
    ) -> Result<(), SyntaxError> {
        if !code.freevars.is_empty() {
            self.push_closure_cells(&code, span)?;
            self.emit(Op::BuildTuple(code.freevars.len() as u32));
            flags.closure = true;
        }
        let idx = self.add_const(Constant::Code(Arc::new(code)));
        self.emit(Op::MakeFunction(idx, flags));
        Ok(())
    }

    /// Push the cells of `code`'s free variables, in `freevars` order (`LOAD_CLOSURE` each).
    pub(crate) fn push_closure_cells(
        &mut self,
        code: &CodeObject,
        span: Span,
    ) -> Result<(), SyntaxError> {
        for name in &code.freevars {
            let cell = self.cell_index(name).ok_or_else(|| {
                SyntaxError::syntax(format!("internal error: no cell for '{name}'"), span)
            })?;
            self.emit(Op::LoadClosure(cell));
        }
        Ok(())
    }

    fn finish(&mut self, unit: Unit<'a>) -> Result<CodeObject, SyntaxError> {
        let mut code = unit.code;
        let mut lines = unit.lines;
        let mut spans = unit.spans;
        let mut labels = unit.labels;
        let hidden_slots =
            fuse::place_hidden_slots(&mut code, unit.varnames.len(), unit.hidden_slots);
        fuse::fuse(&mut code, &mut lines, &mut spans, &mut labels);
        stack::resolve_labels(&mut code, &labels)?;
        let max_stack = stack::max_stack_depth(&code);
        let cell2arg = unit
            .cellvars
            .iter()
            .map(|c| {
                let nparams = (unit.argcount + unit.kwonlyargcount) as usize
                    + unit.flags.varargs as usize
                    + unit.flags.varkeywords as usize;
                unit.varnames
                    .iter()
                    .take(nparams)
                    .position(|v| v == c)
                    .map(|i| i as u32)
            })
            .collect();
        Ok(CodeObject {
            name: unit.name,
            qualname: unit.qualname,
            filename: self.filename.clone(),
            first_line: unit.first_line,
            code,
            lines,
            spans,
            consts: unit.consts,
            names: unit.names,
            varnames: unit.varnames,
            cellvars: unit.cellvars,
            freevars: unit.freevars,
            cell2arg,
            argcount: unit.argcount,
            posonlyargcount: unit.posonlyargcount,
            kwonlyargcount: unit.kwonlyargcount,
            flags: unit.flags,
            max_stack,
            hidden_slots,
            lazy_body: None,
        })
    }
}
