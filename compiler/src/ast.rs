//! Stage 2 output: the abstract syntax tree. Every node carries the span of source it came from.
//!
//! The shape follows CPython's `ast` module closely, so `python3 -c "import ast; print(ast.dump(...))"`
//! is a good guide to what the parser produces for a construct.

pub use minivm_lexer::Span;

/// A parsed source file.
#[derive(Debug, Clone, PartialEq)]
pub struct Module {
    pub body: Vec<Stmt>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind {
    /// An expression evaluated for its effect (a call, usually).
    Expr(Expr),
    /// `a = b = value`: one or more targets (Name, Attribute, Subscript, Tuple/List of targets, Starred inside those).
    Assign {
        targets: Vec<Expr>,
        value: Expr,
    },
    /// `target op= value`; target is a Name, Attribute or Subscript.
    AugAssign {
        target: Expr,
        op: BinOp,
        value: Expr,
    },
    /// `target: annotation [= value]`; the annotation is evaluated in module and class bodies only.
    AnnAssign {
        target: Expr,
        annotation: Expr,
        value: Option<Expr>,
    },
    If {
        test: Expr,
        body: Vec<Stmt>,
        orelse: Vec<Stmt>,
    },
    While {
        test: Expr,
        body: Vec<Stmt>,
        orelse: Vec<Stmt>,
    },
    /// `for`, or `async for` when `is_async`.
    For {
        target: Expr,
        iter: Expr,
        body: Vec<Stmt>,
        orelse: Vec<Stmt>,
        is_async: bool,
    },
    Break,
    Continue,
    Pass,
    Return(Option<Expr>),
    FunctionDef(Box<FunctionDef>),
    ClassDef(Box<ClassDef>),
    Global(Vec<Ident>),
    Nonlocal(Vec<Ident>),
    Assert {
        test: Expr,
        msg: Option<Expr>,
    },
    Del(Vec<Expr>),
    /// `import a.b as c, d`
    Import(Vec<Alias>),
    /// `from module import a as b, c` (`level` counts leading dots; 0 for absolute imports).
    ImportFrom {
        module: Option<Ident>,
        names: Vec<Alias>,
        level: u32,
    },
    Raise {
        exc: Option<Expr>,
        cause: Option<Expr>,
    },
    Try(Box<Try>),
    /// `with`, or `async with` when `is_async`.
    With {
        items: Vec<WithItem>,
        body: Vec<Stmt>,
        is_async: bool,
    },
    /// `match subject:` and its `case` blocks (PEP 634), tried in order.
    Match {
        subject: Expr,
        cases: Vec<MatchCase>,
    },
}

/// `case pattern if guard: body`
#[derive(Debug, Clone, PartialEq)]
pub struct MatchCase {
    pub pattern: Pattern,
    pub guard: Option<Expr>,
    pub body: Vec<Stmt>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pub kind: PatternKind,
    pub span: Span,
}

/// A `case` pattern, shaped as CPython's `ast.pattern` nodes. Nesting needs brackets, which the
/// lexer limits to 200 levels, so patterns are walked recursively.
#[derive(Debug, Clone, PartialEq)]
pub enum PatternKind {
    /// A literal or dotted name (`1`, `-2.5`, `'s'`, `Color.RED`), matched with `==`.
    Value(Expr),
    /// `None`, `True`, `False`, matched with `is`.
    Singleton(Const),
    /// `[p, *rest, q]` or `(p, q)` or `p, q`.
    Sequence(Vec<Pattern>),
    /// `*name` (or `*_`, a `None` name) inside a sequence pattern.
    Star(Option<Ident>),
    /// `{key: p, **rest}`; keys are literals or dotted names.
    Mapping {
        keys: Vec<Expr>,
        patterns: Vec<Pattern>,
        rest: Option<Ident>,
    },
    /// `Cls(p, attr=q)`
    Class {
        cls: Expr,
        patterns: Vec<Pattern>,
        kwd_attrs: Vec<Ident>,
        kwd_patterns: Vec<Pattern>,
    },
    /// `p as name`; a bare `name` (capture) has no pattern, `_` (wildcard) has neither.
    As {
        pattern: Option<Box<Pattern>>,
        name: Option<Ident>,
    },
    /// `p | q | ...`
    Or(Vec<Pattern>),
}

/// A name with the span where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FunctionDef {
    pub name: Ident,
    pub params: Params,
    pub body: Vec<Stmt>,
    pub decorators: Vec<Expr>,
    /// `async def`: calling it makes a coroutine (or an async generator if it yields).
    pub is_async: bool,
    /// `-> annotation`, stored with the parameters' annotations in `f.__annotations__`.
    pub returns: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClassDef {
    pub name: Ident,
    pub bases: Vec<Expr>,
    pub keywords: Vec<Keyword>,
    pub body: Vec<Stmt>,
    pub decorators: Vec<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Try {
    pub body: Vec<Stmt>,
    pub handlers: Vec<ExceptHandler>,
    pub orelse: Vec<Stmt>,
    pub finalbody: Vec<Stmt>,
    /// The handlers are `except*` clauses (PEP 654).
    pub is_star: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExceptHandler {
    /// `None` for a bare `except:`.
    pub typ: Option<Expr>,
    pub name: Option<Ident>,
    pub body: Vec<Stmt>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WithItem {
    pub context: Expr,
    pub target: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alias {
    /// Possibly dotted (`os.path`) for `import`; a plain name for `from ... import`.
    pub name: String,
    pub asname: Option<Ident>,
    pub span: Span,
}

/// A function's parameter list: `def f(a, b=1, *args, c, d=2, **kw)`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Params {
    /// Positional-only parameters (before a `/`).
    pub posonly: Vec<Param>,
    /// Positional-or-keyword parameters.
    pub args: Vec<Param>,
    pub vararg: Option<Param>,
    /// Keyword-only parameters (after `*` or `*args`).
    pub kwonly: Vec<Param>,
    pub kwarg: Option<Param>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub default: Option<Expr>,
    /// Parsed and ignored.
    pub annotation: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
    /// `span` widened to the parentheses around the expression, if any: where a node that
    /// contains it starts or ends (`(a + b) * c` starts at the parenthesis, as in CPython's
    /// positions), while the expression's own range stays `span`.
    pub outer: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Name(String),
    /// A literal: `None`, `True`, `42`, `1.5`, `'text'` (adjacent string literals already joined).
    Const(Const),
    /// `f'...{x!r:>8}...'`, possibly joined with adjacent plain strings.
    FString(Vec<FStringPart>),
    Tuple(Vec<Expr>),
    List(Vec<Expr>),
    Set(Vec<Expr>),
    /// `{k: v, **other}`: a `None` key marks a `**other` entry.
    Dict(Vec<(Option<Expr>, Expr)>),
    /// `*x` in a call, a display or an assignment target.
    Starred(Box<Expr>),
    BinOp {
        op: BinOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    UnaryOp {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    /// `a and b and c` / `a or b`; always two or more values.
    BoolOp {
        op: BoolOp,
        values: Vec<Expr>,
    },
    /// `a < b <= c`: `ops.len() == comparators.len() >= 1`.
    Compare {
        left: Box<Expr>,
        ops: Vec<CmpOp>,
        comparators: Vec<Expr>,
    },
    /// `body if test else orelse`
    IfExp {
        test: Box<Expr>,
        body: Box<Expr>,
        orelse: Box<Expr>,
    },
    /// `func(a, *b, k=c, **d)`: `args` may hold `Starred`; a keyword with `name: None` is `**d`.
    Call {
        func: Box<Expr>,
        args: Vec<Expr>,
        keywords: Vec<Keyword>,
    },
    Attribute {
        value: Box<Expr>,
        attr: Ident,
    },
    /// `value[index]`; `index` is a `Slice`, a `Tuple` (for `a[1, 2]`), or any expression.
    Subscript {
        value: Box<Expr>,
        index: Box<Expr>,
    },
    /// `lower:upper:step`, only directly inside a subscript (or a tuple inside one).
    Slice {
        lower: Option<Box<Expr>>,
        upper: Option<Box<Expr>>,
        step: Option<Box<Expr>>,
    },
    Lambda {
        params: Box<Params>,
        body: Box<Expr>,
    },
    ListComp {
        elt: Box<Expr>,
        generators: Vec<Comprehension>,
    },
    SetComp {
        elt: Box<Expr>,
        generators: Vec<Comprehension>,
    },
    DictComp {
        key: Box<Expr>,
        value: Box<Expr>,
        generators: Vec<Comprehension>,
    },
    GeneratorExp {
        elt: Box<Expr>,
        generators: Vec<Comprehension>,
    },
    Yield(Option<Box<Expr>>),
    YieldFrom(Box<Expr>),
    /// `await x`
    Await(Box<Expr>),
    /// `name := value`
    NamedExpr {
        target: Ident,
        value: Box<Expr>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Const {
    None,
    Bool(bool),
    Int(i64),
    /// An integer literal beyond `i64`, as its source text (see `Token::BigInt`).
    BigInt(String),
    Float(f64),
    /// An imaginary literal `2j` (the imaginary part).
    Imag(f64),
    Str(String),
    Bytes(Vec<u8>),
    Ellipsis,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FStringPart {
    Literal(String),
    Value {
        expr: Box<Expr>,
        /// `!r`, `!s` or `!a`.
        conversion: Option<char>,
        /// The format spec after `:`, itself an f-string (it may hold `{width}` fields).
        spec: Option<Vec<FStringPart>>,
        /// For the `{x=}` form: the text `x=` (with surrounding spaces as written) printed before the value.
        debug_text: Option<String>,
    },
}

/// One value of an f-string as CPython's `JoinedStr` holds them (what the compiler formats and
/// `ast.parse` shows): a run of literal text, or a field.
#[derive(Debug, Clone, PartialEq)]
pub enum FStringSegment<'a> {
    /// Adjacent literal pieces and the `x=` of a `{x=}` field before them, joined; never empty.
    Text(String),
    Field {
        expr: &'a Expr,
        /// The conversion applied: as written, or `r` for a `{x=}` field with neither a
        /// conversion nor a format spec (it shows the repr).
        conversion: Option<char>,
        spec: Option<&'a [FStringPart]>,
    },
}

/// The values of an f-string's parts, in order (see [`FStringSegment`]).
pub fn fstring_segments(parts: &[FStringPart]) -> Vec<FStringSegment<'_>> {
    let mut out = Vec::new();
    let mut text = String::new();
    for part in parts {
        match part {
            FStringPart::Literal(t) => text.push_str(t),
            FStringPart::Value {
                expr,
                conversion,
                spec,
                debug_text,
            } => {
                if let Some(d) = debug_text {
                    text.push_str(d);
                }
                if !text.is_empty() {
                    out.push(FStringSegment::Text(std::mem::take(&mut text)));
                }
                let conversion = match (conversion, debug_text, spec) {
                    (Some(c), _, _) => Some(*c),
                    (None, Some(_), None) => Some('r'),
                    _ => None,
                };
                out.push(FStringSegment::Field {
                    expr,
                    conversion,
                    spec: spec.as_deref(),
                });
            }
        }
    }
    if !text.is_empty() {
        out.push(FStringSegment::Text(text));
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
pub struct Keyword {
    /// `None` for `**mapping`.
    pub name: Option<Ident>,
    pub value: Expr,
    pub span: Span,
}

/// `for target in iter if cond1 if cond2`
#[derive(Debug, Clone, PartialEq)]
pub struct Comprehension {
    pub target: Expr,
    pub iter: Expr,
    pub ifs: Vec<Expr>,
    /// `async for` clause.
    pub is_async: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    Pow,
    LShift,
    RShift,
    BitOr,
    BitXor,
    BitAnd,
    MatMul,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Not,
    Neg,
    Pos,
    Invert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BoolOp {
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    NotEq,
    Lt,
    LtE,
    Gt,
    GtE,
    Is,
    IsNot,
    In,
    NotIn,
}

impl BinOp {
    /// The operator as written in source (`+`, `//`, ...), for error messages and `dis`.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::FloorDiv => "//",
            BinOp::Mod => "%",
            BinOp::Pow => "**",
            BinOp::LShift => "<<",
            BinOp::RShift => ">>",
            BinOp::BitOr => "|",
            BinOp::BitXor => "^",
            BinOp::BitAnd => "&",
            BinOp::MatMul => "@",
        }
    }
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::NotEq => "!=",
            CmpOp::Lt => "<",
            CmpOp::LtE => "<=",
            CmpOp::Gt => ">",
            CmpOp::GtE => ">=",
            CmpOp::Is => "is",
            CmpOp::IsNot => "is not",
            CmpOp::In => "in",
            CmpOp::NotIn => "not in",
        }
    }
}

/// Dropping an expression tree without recursion. A chain such as `a.b.b.b...` or `1 + 1 + ...`
/// is parsed by a loop and can be far deeper than recursive drop glue could follow on any stack,
/// so each node hands its children to a work list before it goes.
impl Drop for Expr {
    fn drop(&mut self) {
        let mut work = Vec::new();
        self.kind.take_children(&mut work);
        while let Some(mut e) = work.pop() {
            e.kind.take_children(&mut work);
        }
    }
}

/// A childless expression left in place of one moved out by `take_children`.
fn placeholder() -> Expr {
    Expr {
        kind: ExprKind::Const(Const::None),
        span: Span::default(),
        outer: Span::default(),
    }
}

fn take_box(b: &mut Expr, out: &mut Vec<Expr>) {
    out.push(std::mem::replace(b, placeholder()));
}

fn take_params(p: &mut Params, out: &mut Vec<Expr>) {
    let all = p
        .posonly
        .iter_mut()
        .chain(p.args.iter_mut())
        .chain(p.kwonly.iter_mut())
        .chain(p.vararg.iter_mut())
        .chain(p.kwarg.iter_mut());
    for param in all {
        out.extend(param.default.take());
        out.extend(param.annotation.take());
    }
}

fn take_fstring(parts: &mut Vec<FStringPart>, out: &mut Vec<Expr>) {
    // Format specs nest f-string parts in turn: a work list of part lists, not recursion.
    let mut lists = vec![std::mem::take(parts)];
    while let Some(list) = lists.pop() {
        for part in list {
            if let FStringPart::Value { mut expr, spec, .. } = part {
                take_box(&mut expr, out);
                lists.extend(spec);
            }
        }
    }
}

impl ExprKind {
    /// Move this node's child expressions into `out`, leaving the node childless (so dropping
    /// it recurses no further).
    fn take_children(&mut self, out: &mut Vec<Expr>) {
        match self {
            ExprKind::Name(_) | ExprKind::Const(_) | ExprKind::Yield(None) => {}
            ExprKind::FString(parts) => take_fstring(parts, out),
            ExprKind::Tuple(items) | ExprKind::List(items) | ExprKind::Set(items) => {
                out.append(items)
            }
            ExprKind::Dict(pairs) => {
                for (k, v) in pairs.drain(..) {
                    out.extend(k);
                    out.push(v);
                }
            }
            ExprKind::Starred(e)
            | ExprKind::UnaryOp { operand: e, .. }
            | ExprKind::Attribute { value: e, .. }
            | ExprKind::Yield(Some(e))
            | ExprKind::YieldFrom(e)
            | ExprKind::Await(e)
            | ExprKind::NamedExpr { value: e, .. } => take_box(e, out),
            ExprKind::BinOp { left, right, .. } => {
                take_box(left, out);
                take_box(right, out);
            }
            ExprKind::BoolOp { values, .. } => out.append(values),
            ExprKind::Compare {
                left, comparators, ..
            } => {
                take_box(left, out);
                out.append(comparators);
            }
            ExprKind::IfExp { test, body, orelse } => {
                take_box(test, out);
                take_box(body, out);
                take_box(orelse, out);
            }
            ExprKind::Call {
                func,
                args,
                keywords,
            } => {
                take_box(func, out);
                out.append(args);
                for k in keywords.iter_mut() {
                    take_box(&mut k.value, out);
                }
            }
            ExprKind::Subscript { value, index } => {
                take_box(value, out);
                take_box(index, out);
            }
            ExprKind::Slice { lower, upper, step } => {
                for part in [lower, upper, step] {
                    if let Some(mut e) = part.take() {
                        take_box(&mut e, out);
                    }
                }
            }
            ExprKind::Lambda { params, body } => {
                take_params(params, out);
                take_box(body, out);
            }
            ExprKind::ListComp { elt, generators }
            | ExprKind::SetComp { elt, generators }
            | ExprKind::GeneratorExp { elt, generators } => {
                take_box(elt, out);
                take_generators(generators, out);
            }
            ExprKind::DictComp {
                key,
                value,
                generators,
            } => {
                take_box(key, out);
                take_box(value, out);
                take_generators(generators, out);
            }
        }
    }
}

fn take_generators(generators: &mut [Comprehension], out: &mut Vec<Expr>) {
    for g in generators.iter_mut() {
        take_box(&mut g.target, out);
        take_box(&mut g.iter, out);
        out.append(&mut g.ifs);
    }
}
