//! Stage 3a: scope analysis, deciding for every name whether it is local, global, cell or free.
//!
//! Two passes, as CPython's `symtable.c`: the first walks the AST recording, per scope, how each name
//! is used (assigned, read, declared `global`/`nonlocal`, a parameter); the second resolves every name
//! to a [`SymScope`] given what the enclosing function scopes bind. Scopes are found again by the
//! code generator through the address of the AST node that opened them.

// FxHash (rustc's hasher) instead of std's SipHash: these maps are keyed by names the compiler
// itself reads from the program, so hash flooding is no concern, and SipHash was a sixth of the
// instructions of compiling a module.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::ast::*;
use crate::SyntaxError;

/// Index into [`SymbolTable::scopes`]; the module is scope 0.
pub type ScopeId = usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    Module,
    Function,
    Lambda,
    Class,
    /// A list/set/dict comprehension or generator expression.
    Comprehension(CompKind),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompKind {
    List,
    Set,
    Dict,
    Gen,
}

impl CompKind {
    pub fn code_name(self) -> &'static str {
        match self {
            CompKind::List => "<listcomp>",
            CompKind::Set => "<setcomp>",
            CompKind::Dict => "<dictcomp>",
            CompKind::Gen => "<genexpr>",
        }
    }
    fn describe(self) -> &'static str {
        match self {
            CompKind::List => "list comprehension",
            CompKind::Set => "set comprehension",
            CompKind::Dict => "dict comprehension",
            CompKind::Gen => "generator expression",
        }
    }
}

impl ScopeKind {
    /// Function, lambda or comprehension: names live in fast slots and cells.
    pub fn is_function_like(self) -> bool {
        matches!(
            self,
            ScopeKind::Function | ScopeKind::Lambda | ScopeKind::Comprehension(_)
        )
    }
}

/// Where a name lives, as seen from one scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymScope {
    /// Bound in this scope (a fast slot in functions, the namespace in classes, a global in the module).
    Local,
    /// Declared `global` here (or, for a walrus in a module-level comprehension, implied).
    GlobalExplicit,
    /// Not bound in any enclosing function: global or builtin.
    GlobalImplicit,
    /// Bound in an enclosing function and captured from there.
    Free,
    /// Bound here and captured by an inner scope.
    Cell,
}

const DEF_GLOBAL: u32 = 1;
const DEF_LOCAL: u32 = 2;
const DEF_PARAM: u32 = 4;
const DEF_NONLOCAL: u32 = 8;
const USE: u32 = 16;
const DEF_COMP_ITER: u32 = 32;
const DEF_BOUND: u32 = DEF_LOCAL | DEF_PARAM;

#[derive(Debug, Clone)]
struct RawSym {
    flags: u32,
    /// Span of the `global`/`nonlocal` declaration, for errors found during analysis.
    decl_span: Span,
}

/// One scope: a module, function, lambda, class body or comprehension.
#[derive(Debug, Clone)]
pub struct Scope {
    pub kind: ScopeKind,
    pub name: String,
    /// Resolved scope of every name mentioned here.
    pub symbols: HashMap<String, SymScope>,
    /// Parameters in slot order (positional, keyword-only, `*args`, `**kwargs`).
    pub params: Vec<String>,
    /// Fast-slot names: parameters then other locals in order of first mention (functions only).
    pub varnames: Vec<String>,
    /// Sorted; for a class body only `__class__` when a method needs it.
    pub cellvars: Vec<String>,
    /// Sorted.
    pub freevars: Vec<String>,
    pub children: Vec<ScopeId>,
    pub generator: bool,
    /// An `async def`, or a comprehension that awaits (`async for` clause or `await` inside).
    pub coroutine: bool,
    /// A class body whose methods use `super` or `__class__`.
    pub needs_class_cell: bool,
    raw: HashMap<String, RawSym>,
    order: Vec<String>,
}

impl Scope {
    fn new(kind: ScopeKind, name: &str) -> Scope {
        Scope {
            kind,
            name: name.to_string(),
            symbols: HashMap::default(),
            params: Vec::new(),
            varnames: Vec::new(),
            cellvars: Vec::new(),
            freevars: Vec::new(),
            children: Vec::new(),
            generator: false,
            coroutine: false,
            needs_class_cell: false,
            raw: HashMap::default(),
            order: Vec::new(),
        }
    }

    /// How a name resolves here; names never mentioned are implicit globals.
    pub fn lookup(&self, name: &str) -> SymScope {
        self.symbols
            .get(name)
            .copied()
            .unwrap_or(SymScope::GlobalImplicit)
    }
}

/// All scopes of a module.
#[derive(Debug, Clone)]
pub struct SymbolTable {
    pub scopes: Vec<Scope>,
    by_node: HashMap<usize, ScopeId>,
}

fn node_key<T>(node: &T) -> usize {
    node as *const T as usize
}

impl SymbolTable {
    /// Analyse a whole module.
    pub fn build(module: &Module) -> Result<SymbolTable, SyntaxError> {
        let mut b = Builder {
            scopes: vec![Scope::new(ScopeKind::Module, "<module>")],
            stack: vec![0],
            by_node: HashMap::default(),
            depth: 0,
            private: None,
        };
        b.stmts(&module.body)?;
        let mut table = SymbolTable {
            scopes: b.scopes,
            by_node: b.by_node,
        };
        table.analyze(0, &HashSet::default())?;
        Ok(table)
    }

    /// The scope opened by an AST node (a `FunctionDef`, `ClassDef`, or a lambda/comprehension `Expr`).
    pub fn scope_of<T>(&self, node: &T) -> Option<ScopeId> {
        self.by_node.get(&node_key(node)).copied()
    }

    pub fn scope(&self, id: ScopeId) -> Option<&Scope> {
        self.scopes.get(id)
    }

    /// Resolve the names of scope `id` and its children; returns the names free in `id`.
    fn analyze(
        &mut self,
        id: ScopeId,
        bound: &HashSet<String>,
    ) -> Result<HashSet<String>, SyntaxError> {
        let Some(scope) = self.scopes.get(id) else {
            return Ok(HashSet::default());
        };
        let kind = scope.kind;
        let mut symbols: HashMap<String, SymScope> = HashMap::default();
        let mut locals: Vec<String> = Vec::new();
        let mut explicit_globals: HashSet<String> = HashSet::default();
        for name in &scope.order {
            let Some(sym) = scope.raw.get(name) else {
                continue;
            };
            let flags = sym.flags;
            let resolved = if flags & DEF_GLOBAL != 0 {
                if flags & DEF_NONLOCAL != 0 {
                    return Err(SyntaxError::syntax(
                        format!("name '{name}' is nonlocal and global"),
                        sym.decl_span,
                    ));
                }
                explicit_globals.insert(name.clone());
                SymScope::GlobalExplicit
            } else if flags & DEF_NONLOCAL != 0 {
                if !bound.contains(name) {
                    return Err(SyntaxError::syntax(
                        format!("no binding for nonlocal '{name}' found"),
                        sym.decl_span,
                    ));
                }
                SymScope::Free
            } else if flags & DEF_BOUND != 0 {
                locals.push(name.clone());
                SymScope::Local
            } else if kind != ScopeKind::Module && bound.contains(name) {
                SymScope::Free
            } else {
                SymScope::GlobalImplicit
            };
            symbols.insert(name.clone(), resolved);
        }

        let mut child_bound: HashSet<String> = match kind {
            ScopeKind::Module => HashSet::default(),
            ScopeKind::Class => {
                let mut b = bound.clone();
                b.insert("__class__".to_string());
                b
            }
            _ => {
                let mut b = bound.clone();
                b.extend(locals.iter().cloned());
                b
            }
        };
        for g in &explicit_globals {
            child_bound.remove(g);
        }

        let children = scope.children.clone();
        let mut child_free: HashSet<String> = HashSet::default();
        for child in children {
            child_free.extend(self.analyze(child, &child_bound)?);
        }

        let mut needs_class_cell = false;
        for name in &child_free {
            let current = symbols.get(name).copied();
            match kind {
                ScopeKind::Class if name == "__class__" => needs_class_cell = true,
                ScopeKind::Class => {
                    // The class body only passes the variable through; its own uses of a
                    // class-local name still go through the namespace.
                    if current != Some(SymScope::Local) {
                        symbols.insert(name.clone(), SymScope::Free);
                    }
                }
                ScopeKind::Module => {}
                _ => match current {
                    Some(SymScope::Local) => {
                        symbols.insert(name.clone(), SymScope::Cell);
                    }
                    Some(SymScope::Cell) | Some(SymScope::Free) => {}
                    _ => {
                        symbols.insert(name.clone(), SymScope::Free);
                    }
                },
            }
        }

        let mut free: Vec<String> = symbols
            .iter()
            .filter(|(_, s)| **s == SymScope::Free)
            .map(|(n, _)| n.clone())
            .collect();
        // A class-local name that an inner function captures from further out.
        if kind == ScopeKind::Class {
            for name in &child_free {
                if name != "__class__" && symbols.get(name) == Some(&SymScope::Local) {
                    free.push(name.clone());
                }
            }
        }
        free.sort();
        free.dedup();
        let mut cells: Vec<String> = symbols
            .iter()
            .filter(|(_, s)| **s == SymScope::Cell)
            .map(|(n, _)| n.clone())
            .collect();
        cells.sort();
        if needs_class_cell {
            cells.push("__class__".to_string());
        }

        let Some(scope) = self.scopes.get_mut(id) else {
            return Ok(HashSet::default());
        };
        if kind.is_function_like() {
            let mut varnames = scope.params.clone();
            let mut seen: HashSet<&String> = scope.params.iter().collect();
            for name in &scope.order {
                if symbols.get(name) == Some(&SymScope::Local) && seen.insert(name) {
                    varnames.push(name.clone());
                }
            }
            scope.varnames = varnames;
        }
        scope.symbols = symbols;
        scope.cellvars = cells;
        scope.freevars = free.clone();
        scope.needs_class_cell = needs_class_cell;
        Ok(free.into_iter().collect())
    }
}

struct Builder {
    scopes: Vec<Scope>,
    stack: Vec<ScopeId>,
    by_node: HashMap<usize, ScopeId>,
    /// Statements and expressions being visited (nesting depth), bounded by `MAX_COMPILE_DEPTH`.
    depth: usize,
    /// The innermost enclosing class's name, for private-name mangling (CPython's `st_private`).
    private: Option<String>,
}

/// CPython's private-name mangling: inside class `private`, an identifier `__x` (not ending in
/// `__`) becomes `_private__x`, so that a subclass's `__x` does not clash with its base's. The
/// class name is stripped of leading underscores; an all-underscore class name mangles nothing.
pub fn mangle(private: &str, name: &str) -> Option<String> {
    if !name.starts_with("__") || name.ends_with("__") || name.contains('.') {
        return None;
    }
    let stripped = private.trim_start_matches('_');
    if stripped.is_empty() {
        return None;
    }
    Some(format!("_{stripped}{name}"))
}

impl Builder {
    fn cur_id(&self) -> ScopeId {
        self.stack.last().copied().unwrap_or(0)
    }

    fn cur(&mut self) -> &mut Scope {
        let id = self.cur_id();
        let len = self.scopes.len();
        // `stack` only ever holds valid ids; fall back to the module if it somehow does not.
        let idx = if id < len { id } else { 0 };
        &mut self.scopes[idx]
    }

    fn cur_kind(&self) -> ScopeKind {
        self.scopes
            .get(self.cur_id())
            .map_or(ScopeKind::Module, |s| s.kind)
    }

    /// `name` as stored: mangled inside a class (see [`mangle`]).
    fn stored<'n>(&self, name: &'n str) -> std::borrow::Cow<'n, str> {
        match self.private.as_deref().and_then(|p| mangle(p, name)) {
            Some(m) => std::borrow::Cow::Owned(m),
            None => std::borrow::Cow::Borrowed(name),
        }
    }

    fn flags_of(&self, id: ScopeId, name: &str) -> u32 {
        let name = self.stored(name);
        let name = name.as_ref();
        self.scopes
            .get(id)
            .and_then(|s| s.raw.get(name))
            .map_or(0, |r| r.flags)
    }

    fn add_to(&mut self, id: ScopeId, name: &str, flag: u32, span: Span) {
        let name = self.stored(name).into_owned();
        let name = name.as_str();
        let Some(scope) = self.scopes.get_mut(id) else {
            return;
        };
        match scope.raw.get_mut(name) {
            Some(sym) => {
                // Keep the span of the first `global`/`nonlocal` declaration (CPython reports there).
                if flag & (DEF_GLOBAL | DEF_NONLOCAL) != 0
                    && sym.flags & (DEF_GLOBAL | DEF_NONLOCAL) == 0
                {
                    sym.decl_span = span;
                }
                sym.flags |= flag;
            }
            None => {
                scope.raw.insert(
                    name.to_string(),
                    RawSym {
                        flags: flag,
                        decl_span: span,
                    },
                );
                scope.order.push(name.to_string());
            }
        }
    }

    fn add(&mut self, name: &str, flag: u32, span: Span) {
        let id = self.cur_id();
        self.add_to(id, name, flag, span);
    }

    fn enter(&mut self, kind: ScopeKind, name: &str, key: usize) {
        let id = self.scopes.len();
        self.scopes.push(Scope::new(kind, name));
        let parent = self.cur_id();
        if let Some(p) = self.scopes.get_mut(parent) {
            p.children.push(id);
        }
        self.by_node.insert(key, id);
        self.stack.push(id);
    }

    fn leave(&mut self) {
        self.stack.pop();
    }

    fn stmts(&mut self, body: &[Stmt]) -> Result<(), SyntaxError> {
        body.iter().try_for_each(|s| self.stmt(s))
    }

    fn param(&mut self, p: &Param) -> Result<(), SyntaxError> {
        let name = &p.name.name;
        if self.flags_of(self.cur_id(), name) & DEF_PARAM != 0 {
            return Err(SyntaxError::syntax(
                format!("duplicate argument '{name}' in function definition"),
                p.name.span,
            ));
        }
        self.add(name, DEF_PARAM, p.name.span);
        let stored = self.stored(name).into_owned();
        self.cur().params.push(stored);
        Ok(())
    }

    /// Defaults are evaluated in the enclosing scope; then the new scope gets its parameters.
    fn param_defaults(&mut self, params: &Params) -> Result<(), SyntaxError> {
        for p in params
            .posonly
            .iter()
            .chain(&params.args)
            .chain(&params.kwonly)
        {
            if let Some(d) = &p.default {
                self.expr(d)?;
            }
        }
        Ok(())
    }

    fn params(&mut self, params: &Params) -> Result<(), SyntaxError> {
        for p in params
            .posonly
            .iter()
            .chain(&params.args)
            .chain(&params.kwonly)
        {
            self.param(p)?;
        }
        if let Some(p) = &params.vararg {
            self.param(p)?;
        }
        if let Some(p) = &params.kwarg {
            self.param(p)?;
        }
        Ok(())
    }

    fn declare(&mut self, names: &[Ident], global: bool, span: Span) -> Result<(), SyntaxError> {
        let word = if global { "global" } else { "nonlocal" };
        if !global && self.cur_kind() == ScopeKind::Module {
            return Err(SyntaxError::syntax(
                "nonlocal declaration not allowed at module level",
                span,
            ));
        }
        for ident in names {
            let name = &ident.name;
            let cur = self.flags_of(self.cur_id(), name);
            let msg = if cur & DEF_PARAM != 0 {
                Some(format!("name '{name}' is parameter and {word}"))
            } else if cur & USE != 0 {
                Some(format!("name '{name}' is used prior to {word} declaration"))
            } else if cur & DEF_LOCAL != 0 {
                Some(format!(
                    "name '{name}' is assigned to before {word} declaration"
                ))
            } else {
                None
            };
            if let Some(msg) = msg {
                return Err(SyntaxError::syntax(msg, span));
            }
            let flag = if global { DEF_GLOBAL } else { DEF_NONLOCAL };
            self.add(name, flag, span);
        }
        Ok(())
    }

    /// One level deeper into the tree; as CPython's symtable, this is where a program nested
    /// too deeply to compile is refused (the parser builds chains like `a.b.b.b...` in a loop).
    fn nest(&mut self, span: Span) -> Result<(), SyntaxError> {
        if self.depth >= crate::parser::MAX_COMPILE_DEPTH {
            return Err(SyntaxError::too_deep(span));
        }
        self.depth += 1;
        Ok(())
    }

    fn stmt(&mut self, s: &Stmt) -> Result<(), SyntaxError> {
        self.nest(s.span)?;
        let r = self.stmt_inner(s);
        self.depth -= 1;
        r
    }

    fn stmt_inner(&mut self, s: &Stmt) -> Result<(), SyntaxError> {
        match &s.kind {
            StmtKind::Expr(e) => self.expr(e),
            StmtKind::Assign { targets, value } => {
                self.expr(value)?;
                targets.iter().try_for_each(|t| self.target(t))
            }
            StmtKind::AugAssign { target, value, .. } => {
                if let ExprKind::Name(n) = &target.kind {
                    self.add(n, DEF_LOCAL | USE, target.span);
                } else {
                    self.expr(target)?;
                }
                self.expr(value)
            }
            StmtKind::AnnAssign {
                target,
                value,
                annotation,
            } => {
                if let Some(v) = value {
                    self.expr(v)?;
                }
                self.expr(annotation)?;
                if value.is_some() || matches!(target.kind, ExprKind::Name(_)) {
                    self.target(target)
                } else {
                    self.expr(target)
                }
            }
            StmtKind::If { test, body, orelse } | StmtKind::While { test, body, orelse } => {
                self.expr(test)?;
                self.stmts(body)?;
                self.stmts(orelse)
            }
            StmtKind::For {
                target,
                iter,
                body,
                orelse,
                is_async,
            } => {
                if *is_async {
                    self.async_statement("'async for'", s.span)?;
                }
                self.expr(iter)?;
                self.target(target)?;
                self.stmts(body)?;
                self.stmts(orelse)
            }
            StmtKind::Break | StmtKind::Continue | StmtKind::Pass => Ok(()),
            StmtKind::Return(v) => v.as_ref().map_or(Ok(()), |v| self.expr(v)),
            StmtKind::FunctionDef(def) => {
                def.decorators.iter().try_for_each(|d| self.expr(d))?;
                self.param_defaults(&def.params)?;
                // Annotations are evaluated where the `def` runs, like defaults.
                for a in annotations(&def.params, def.returns.as_ref()) {
                    self.expr(a.1)?;
                }
                self.add(&def.name.name, DEF_LOCAL, def.name.span);
                self.enter(ScopeKind::Function, &def.name.name, node_key(&**def));
                self.cur().coroutine = def.is_async;
                self.params(&def.params)?;
                self.stmts(&def.body)?;
                self.leave();
                Ok(())
            }
            StmtKind::ClassDef(def) => {
                def.decorators.iter().try_for_each(|d| self.expr(d))?;
                def.bases.iter().try_for_each(|b| self.expr(b))?;
                def.keywords.iter().try_for_each(|k| self.expr(&k.value))?;
                self.add(&def.name.name, DEF_LOCAL, def.name.span);
                self.enter(ScopeKind::Class, &def.name.name, node_key(&**def));
                let outer = self.private.replace(def.name.name.to_string());
                let body = self.stmts(&def.body);
                self.private = outer;
                self.leave();
                body
            }
            StmtKind::Global(names) => self.declare(names, true, s.span),
            StmtKind::Nonlocal(names) => self.declare(names, false, s.span),
            StmtKind::Assert { test, msg } => {
                self.expr(test)?;
                msg.as_ref().map_or(Ok(()), |m| self.expr(m))
            }
            StmtKind::Del(targets) => targets.iter().try_for_each(|t| self.target(t)),
            StmtKind::Import(aliases) => {
                for a in aliases {
                    let bound = match &a.asname {
                        Some(n) => n.name.as_str(),
                        None => a.name.split('.').next().unwrap_or(&a.name),
                    };
                    self.add(bound, DEF_LOCAL, a.span);
                }
                Ok(())
            }
            StmtKind::ImportFrom { names, .. } => {
                for a in names {
                    if a.name == "*" {
                        continue;
                    }
                    let bound = a
                        .asname
                        .as_ref()
                        .map_or(a.name.as_str(), |n| n.name.as_str());
                    self.add(bound, DEF_LOCAL, a.span);
                }
                Ok(())
            }
            StmtKind::Raise { exc, cause } => {
                if let Some(e) = exc {
                    self.expr(e)?;
                }
                cause.as_ref().map_or(Ok(()), |c| self.expr(c))
            }
            StmtKind::Try(t) => {
                self.stmts(&t.body)?;
                for h in &t.handlers {
                    if let Some(typ) = &h.typ {
                        self.expr(typ)?;
                    }
                    if let Some(n) = &h.name {
                        self.add(&n.name, DEF_LOCAL, n.span);
                    }
                    self.stmts(&h.body)?;
                }
                self.stmts(&t.orelse)?;
                self.stmts(&t.finalbody)
            }
            StmtKind::With {
                items,
                body,
                is_async,
            } => {
                if *is_async {
                    self.async_statement("'async with'", s.span)?;
                }
                for item in items {
                    self.expr(&item.context)?;
                    if let Some(t) = &item.target {
                        self.target(t)?;
                    }
                }
                self.stmts(body)
            }
            StmtKind::Match { subject, cases } => {
                self.expr(subject)?;
                for case in cases {
                    self.pattern(&case.pattern)?;
                    case.guard.as_ref().map_or(Ok(()), |g| self.expr(g))?;
                    self.stmts(&case.body)?;
                }
                Ok(())
            }
        }
    }

    /// A `case` pattern: the names it captures are assigned, its values and classes are read.
    fn pattern(&mut self, p: &Pattern) -> Result<(), SyntaxError> {
        self.nest(p.span)?;
        let r = self.pattern_inner(p);
        self.depth -= 1;
        r
    }

    fn pattern_inner(&mut self, p: &Pattern) -> Result<(), SyntaxError> {
        let bind = |s: &mut Self, name: &Option<Ident>| {
            if let Some(n) = name {
                s.add(&n.name, DEF_LOCAL, n.span);
            }
        };
        match &p.kind {
            PatternKind::Value(e) => self.expr(e),
            PatternKind::Singleton(_) => Ok(()),
            PatternKind::Sequence(items) | PatternKind::Or(items) => {
                items.iter().try_for_each(|i| self.pattern(i))
            }
            PatternKind::Star(name) => {
                bind(self, name);
                Ok(())
            }
            PatternKind::Mapping {
                keys,
                patterns,
                rest,
            } => {
                keys.iter().try_for_each(|k| self.expr(k))?;
                patterns.iter().try_for_each(|i| self.pattern(i))?;
                bind(self, rest);
                Ok(())
            }
            PatternKind::Class {
                cls,
                patterns,
                kwd_patterns,
                ..
            } => {
                self.expr(cls)?;
                patterns.iter().try_for_each(|i| self.pattern(i))?;
                kwd_patterns.iter().try_for_each(|i| self.pattern(i))
            }
            PatternKind::As { pattern, name } => {
                if let Some(inner) = pattern {
                    self.pattern(inner)?;
                }
                bind(self, name);
                Ok(())
            }
        }
    }

    /// An assignment (or `del`) target.
    fn target(&mut self, e: &Expr) -> Result<(), SyntaxError> {
        match &e.kind {
            ExprKind::Name(n) => {
                self.add(n, DEF_LOCAL, e.span);
                Ok(())
            }
            ExprKind::Tuple(items) | ExprKind::List(items) => {
                items.iter().try_for_each(|i| self.target(i))
            }
            ExprKind::Starred(inner) => self.target(inner),
            _ => self.expr(e),
        }
    }

    fn comp_target(&mut self, e: &Expr) -> Result<(), SyntaxError> {
        match &e.kind {
            ExprKind::Name(n) => {
                self.add(n, DEF_LOCAL | DEF_COMP_ITER, e.span);
                Ok(())
            }
            ExprKind::Tuple(items) | ExprKind::List(items) => {
                items.iter().try_for_each(|i| self.comp_target(i))
            }
            ExprKind::Starred(inner) => self.comp_target(inner),
            _ => self.expr(e),
        }
    }

    fn comprehension(
        &mut self,
        e: &Expr,
        kind: CompKind,
        generators: &[Comprehension],
        elts: &[&Expr],
    ) -> Result<(), SyntaxError> {
        let Some(first) = generators.first() else {
            return Err(SyntaxError::syntax(
                "comprehension without 'for' clause",
                e.span,
            ));
        };
        self.expr(&first.iter)?;
        self.enter(
            ScopeKind::Comprehension(kind),
            kind.code_name(),
            node_key(e),
        );
        self.add(".0", DEF_PARAM, e.span);
        self.cur().params.push(".0".to_string());
        for (i, g) in generators.iter().enumerate() {
            if g.is_async {
                self.cur().coroutine = true;
            }
            if i > 0 {
                self.expr(&g.iter)?;
            }
            self.comp_target(&g.target)?;
            g.ifs.iter().try_for_each(|c| self.expr(c))?;
        }
        elts.iter().try_for_each(|x| self.expr(x))?;
        let awaits = self.cur().coroutine;
        self.leave();
        if awaits {
            self.async_comprehension(kind, e.span)?;
        }
        Ok(())
    }

    fn named_expr(&mut self, target: &Ident) -> Result<(), SyntaxError> {
        let name = &target.name;
        let ScopeKind::Comprehension(_) = self.cur_kind() else {
            self.add(name, DEF_LOCAL, target.span);
            return Ok(());
        };
        // Walrus inside a comprehension binds in the nearest enclosing non-comprehension scope.
        for &id in self.stack.iter().rev() {
            let Some(scope) = self.scopes.get(id) else {
                continue;
            };
            match scope.kind {
                ScopeKind::Comprehension(_) => {
                    if self.flags_of(id, name) & DEF_COMP_ITER != 0 {
                        return Err(SyntaxError::syntax(
                            format!(
                                "assignment expression cannot rebind comprehension iteration variable '{name}'"
                            ),
                            target.span,
                        ));
                    }
                }
                ScopeKind::Class => {
                    return Err(SyntaxError::syntax(
                        "assignment expression within a comprehension cannot be used in a class body",
                        target.span,
                    ));
                }
                ScopeKind::Module => {
                    self.add_to(id, name, DEF_LOCAL, target.span);
                    self.add(name, DEF_GLOBAL, target.span);
                    return Ok(());
                }
                ScopeKind::Function | ScopeKind::Lambda => {
                    self.add_to(id, name, DEF_LOCAL, target.span);
                    self.add(name, DEF_NONLOCAL, target.span);
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn expr(&mut self, e: &Expr) -> Result<(), SyntaxError> {
        self.nest(e.span)?;
        let r = self.expr_inner(e);
        self.depth -= 1;
        r
    }

    fn expr_inner(&mut self, e: &Expr) -> Result<(), SyntaxError> {
        match &e.kind {
            ExprKind::Name(n) => {
                self.add(n, USE, e.span);
                if n == "super" && self.cur_kind().is_function_like() {
                    self.add("__class__", USE, e.span);
                }
                Ok(())
            }
            ExprKind::Const(_) => Ok(()),
            ExprKind::FString(parts) => self.fstring(parts),
            ExprKind::Tuple(items) | ExprKind::List(items) | ExprKind::Set(items) => {
                items.iter().try_for_each(|i| self.expr(i))
            }
            ExprKind::Dict(pairs) => {
                for (k, v) in pairs {
                    if let Some(k) = k {
                        self.expr(k)?;
                    }
                    self.expr(v)?;
                }
                Ok(())
            }
            ExprKind::Starred(inner) => self.expr(inner),
            ExprKind::BinOp { left, right, .. } => {
                self.expr(left)?;
                self.expr(right)
            }
            ExprKind::UnaryOp { operand, .. } => self.expr(operand),
            ExprKind::BoolOp { values, .. } => values.iter().try_for_each(|v| self.expr(v)),
            ExprKind::Compare {
                left, comparators, ..
            } => {
                self.expr(left)?;
                comparators.iter().try_for_each(|c| self.expr(c))
            }
            ExprKind::IfExp { test, body, orelse } => {
                self.expr(test)?;
                self.expr(body)?;
                self.expr(orelse)
            }
            ExprKind::Call {
                func,
                args,
                keywords,
            } => {
                self.expr(func)?;
                args.iter().try_for_each(|a| self.expr(a))?;
                keywords.iter().try_for_each(|k| self.expr(&k.value))
            }
            ExprKind::Attribute { value, .. } => self.expr(value),
            ExprKind::Subscript { value, index } => {
                self.expr(value)?;
                self.expr(index)
            }
            ExprKind::Slice { lower, upper, step } => {
                for part in [lower, upper, step].into_iter().flatten() {
                    self.expr(part)?;
                }
                Ok(())
            }
            ExprKind::Lambda { params, body } => {
                self.param_defaults(params)?;
                self.enter(ScopeKind::Lambda, "<lambda>", node_key(e));
                self.params(params)?;
                self.expr(body)?;
                self.leave();
                Ok(())
            }
            ExprKind::ListComp { elt, generators } => {
                self.comprehension(e, CompKind::List, generators, &[elt])
            }
            ExprKind::SetComp { elt, generators } => {
                self.comprehension(e, CompKind::Set, generators, &[elt])
            }
            ExprKind::GeneratorExp { elt, generators } => {
                self.comprehension(e, CompKind::Gen, generators, &[elt])
            }
            ExprKind::DictComp {
                key,
                value,
                generators,
            } => self.comprehension(e, CompKind::Dict, generators, &[key, value]),
            ExprKind::Yield(v) => {
                self.yield_here(e.span)?;
                v.as_ref().map_or(Ok(()), |v| self.expr(v))
            }
            ExprKind::YieldFrom(v) => {
                if self.cur_kind() == ScopeKind::Function && self.cur().coroutine {
                    return Err(SyntaxError::syntax(
                        "'yield from' inside async function",
                        e.span,
                    ));
                }
                self.yield_here(e.span)?;
                self.expr(v)
            }
            ExprKind::Await(v) => {
                self.await_here(e.span)?;
                self.expr(v)
            }
            ExprKind::NamedExpr { target, value } => {
                self.expr(value)?;
                self.named_expr(target)
            }
        }
    }

    fn yield_here(&mut self, span: Span) -> Result<(), SyntaxError> {
        match self.cur_kind() {
            ScopeKind::Function | ScopeKind::Lambda => {
                self.cur().generator = true;
                Ok(())
            }
            ScopeKind::Comprehension(k) => Err(SyntaxError::syntax(
                format!("'yield' inside {}", k.describe()),
                span,
            )),
            ScopeKind::Module | ScopeKind::Class => {
                Err(SyntaxError::syntax("'yield' outside function", span))
            }
        }
    }

    /// `await` is allowed in an `async def` and in a comprehension (which then awaits too).
    fn await_here(&mut self, span: Span) -> Result<(), SyntaxError> {
        match self.cur_kind() {
            ScopeKind::Function if self.cur().coroutine => Ok(()),
            ScopeKind::Comprehension(_) => {
                self.cur().coroutine = true;
                Ok(())
            }
            ScopeKind::Function | ScopeKind::Lambda => {
                Err(SyntaxError::syntax("'await' outside async function", span))
            }
            ScopeKind::Module | ScopeKind::Class => {
                Err(SyntaxError::syntax("'await' outside function", span))
            }
        }
    }

    /// `async for` / `async with` statements belong in an `async def`.
    fn async_statement(&mut self, what: &str, span: Span) -> Result<(), SyntaxError> {
        if self.cur_kind() == ScopeKind::Function && self.cur().coroutine {
            return Ok(());
        }
        Err(SyntaxError::syntax(
            format!("{what} outside async function"),
            span,
        ))
    }

    /// A comprehension that awaits (just left): the enclosing comprehension awaits too, and the
    /// enclosing function must be an `async def`. An asynchronous generator expression awaits
    /// nothing where it is written (it makes an async generator), so it may appear anywhere.
    fn async_comprehension(&mut self, kind: CompKind, span: Span) -> Result<(), SyntaxError> {
        if kind == CompKind::Gen {
            return Ok(());
        }
        match self.cur_kind() {
            ScopeKind::Comprehension(_) => {
                self.cur().coroutine = true;
                Ok(())
            }
            ScopeKind::Function if self.cur().coroutine => Ok(()),
            _ => Err(SyntaxError::syntax(
                "asynchronous comprehension outside of an asynchronous function",
                span,
            )),
        }
    }

    fn fstring(&mut self, parts: &[FStringPart]) -> Result<(), SyntaxError> {
        for p in parts {
            if let FStringPart::Value { expr, spec, .. } = p {
                self.expr(expr)?;
                if let Some(spec) = spec {
                    self.fstring(spec)?;
                }
            }
        }
        Ok(())
    }
}

/// The annotations of a `def`, in the order CPython 3.11 stores them in `__annotations__`:
/// positional-or-keyword parameters, positional-only ones, `*args`, keyword-only ones, `**kwargs`,
/// then `"return"`.
pub fn annotations<'a>(params: &'a Params, returns: Option<&'a Expr>) -> Vec<(&'a str, &'a Expr)> {
    params
        .args
        .iter()
        .chain(&params.posonly)
        .chain(&params.vararg)
        .chain(&params.kwonly)
        .chain(&params.kwarg)
        .filter_map(|p| p.annotation.as_ref().map(|a| (p.name.name.as_str(), a)))
        .chain(returns.map(|r| ("return", r)))
        .collect()
}
