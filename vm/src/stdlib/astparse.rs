//! `_astparse` (stage 4, the VM's standard library), under `ast.parse` (`vm/lib/ast.mini`):
//! the compiler's own syntax tree (`minivm_compiler::ast`, shaped after CPython's) handed to the
//! program as CPython's `ast` node objects.
//!
//! `parse(source, filename, mode, make)` parses `source` and walks the tree bottom-up, calling
//! `make(kind, fields, position)` for each node: `kind` is CPython's class name (`BinOp`),
//! `fields` the values of its `_fields` in CPython's order (child nodes already made, lists as
//! lists), `position` `(lineno, col_offset, end_lineno, end_col_offset)` (columns in UTF-8
//! bytes, as CPython's) or None for the nodes without one (operators, contexts, `arguments`,
//! `comprehension`...). What the parser does not keep is made up as CPython would have it: the
//! `Load`/`Store`/`Del` context from where an expression stands, `simple` of an annotated
//! assignment from its parentheses. `type_comment`s are None (the parser keeps no `# type:`
//! comment); `Constant.kind` is 'u' for a string written `u'...'`, read from the source.
//!
//! The walk is recursive; the caller compiles the source first, which limits its nesting to
//! `MAX_COMPILE_DEPTH` (CPython's RecursionError), and the depth is checked here again.

use minivm_compiler::ast::{
    fstring_segments, Alias, BinOp, BoolOp, CmpOp, Comprehension, Const, ExceptHandler, Expr,
    ExprKind, FStringPart, FStringSegment, Ident, Keyword, MatchCase, Module as AstModule, Param,
    Params, Pattern, PatternKind, Stmt, StmtKind, UnaryOp, WithItem,
};
use minivm_compiler::Span;

use crate::builtins::args::Sig;
use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::Module;
use crate::stdlib::{func, make_module};
use crate::value::Value;
use crate::{raise, PyResult};

pub fn module() -> Ref<Module> {
    make_module("_astparse", vec![("parse", func("parse", parse))])
}

/// `parse(source, filename, mode, make)`: the tree of `source` ('exec', 'eval' or 'single'),
/// its nodes made by `make`; a syntax error names `filename`.
fn parse(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [source, filename, mode, make] =
        Sig::py("parse", &["source", "filename", "mode", "make"], 4).bind(&args)?;
    let (Some(Value::Str(source)), Some(Value::Str(filename)), Some(Value::Str(mode)), Some(make)) =
        (source, filename, mode, make)
    else {
        raise!(
            TypeError,
            "parse(source, filename, mode, make) takes three strs and a callable"
        );
    };
    let src = source.as_str();
    let (module, warnings) = match mode.as_str() {
        "single" => minivm_compiler::parser::parse_single_warned(src),
        "eval" => minivm_compiler::parser::parse_eval_warned(src),
        _ => minivm_compiler::parser::parse_warned(src),
    };
    // The tokenizer's and parser's warnings (`"\d"`), as CPython's `ast.parse` issues them.
    interp.issue_compile_warnings(warnings, filename.as_str(), src, None)?;
    let module =
        module.map_err(|e| crate::interp::modules::syntax_error(&e, filename.as_str(), src))?;
    let mut b = Builder {
        interp,
        make: make.clone(),
        src,
        lines: line_starts(src),
        depth: 0,
        genexp_span: None,
    };
    b.module(&module, mode.as_str())
}

/// The byte offset where each line of `src` starts.
fn line_starts(src: &str) -> Vec<u32> {
    let mut starts = vec![0];
    starts.extend(
        src.bytes()
            .enumerate()
            .filter(|(_, b)| *b == b'\n')
            .map(|(i, _)| i as u32 + 1),
    );
    starts
}

/// Where an expression stands: CPython's `expr_context`.
#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    Load,
    Store,
    Del,
}

impl Ctx {
    fn name(self) -> &'static str {
        match self {
            Ctx::Load => "Load",
            Ctx::Store => "Store",
            Ctx::Del => "Del",
        }
    }
}

struct Builder<'a> {
    interp: &'a mut Interp,
    make: Value,
    src: &'a str,
    lines: Vec<u32>,
    depth: usize,
    /// The position of the next generator expression, when it is a call's only argument
    /// without parentheses of its own (`f(x for x in y)`): CPython's spans the call's.
    genexp_span: Option<Span>,
}

fn s(text: &str) -> Value {
    Value::str(text)
}

impl Builder<'_> {
    /// (line, column in bytes) of a byte offset.
    fn line_col(&self, offset: u32) -> (i64, i64) {
        let line = match self.lines.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.lines.get(line).copied().unwrap_or(0);
        (line as i64 + 1, i64::from(offset.saturating_sub(start)))
    }

    fn pos(&self, span: Span) -> Value {
        let (l, c) = self.line_col(span.start);
        let (el, ec) = self.line_col(span.end);
        Value::tuple(vec![
            Value::Int(l),
            Value::Int(c),
            Value::Int(el),
            Value::Int(ec),
        ])
    }

    fn node(&mut self, kind: &str, fields: Vec<Value>, pos: Value) -> PyResult<Value> {
        let make = self.make.clone();
        self.interp
            .call(&make, &[s(kind), Value::tuple(fields), pos])
    }

    /// A node without a position (operators, contexts).
    fn bare(&mut self, kind: &str) -> PyResult<Value> {
        self.node(kind, Vec::new(), Value::None)
    }

    fn enter(&mut self) -> PyResult<()> {
        self.depth += 1;
        if self.depth > minivm_compiler::parser::MAX_COMPILE_DEPTH * 2 {
            raise!(
                RecursionError,
                "maximum recursion depth exceeded during ast construction"
            );
        }
        Ok(())
    }

    fn module(&mut self, m: &AstModule, mode: &str) -> PyResult<Value> {
        match mode {
            "eval" => {
                let [Stmt {
                    kind: StmtKind::Expr(e),
                    ..
                }] = m.body.as_slice()
                else {
                    raise!(SyntaxError, "invalid syntax");
                };
                let body = self.expr(e, Ctx::Load)?;
                self.node("Expression", vec![body], Value::None)
            }
            "single" => {
                let body = self.stmts(&m.body)?;
                self.node("Interactive", vec![body], Value::None)
            }
            _ => {
                let body = self.stmts(&m.body)?;
                self.node("Module", vec![body, Value::list(Vec::new())], Value::None)
            }
        }
    }

    fn stmts(&mut self, body: &[Stmt]) -> PyResult<Value> {
        let mut out = Vec::with_capacity(body.len());
        for st in body {
            out.push(self.stmt(st)?);
        }
        Ok(Value::list(out))
    }

    fn exprs(&mut self, items: &[Expr], ctx: Ctx) -> PyResult<Value> {
        let mut out = Vec::with_capacity(items.len());
        for e in items {
            out.push(self.expr(e, ctx)?);
        }
        Ok(Value::list(out))
    }

    fn opt_expr(&mut self, e: Option<&Expr>) -> PyResult<Value> {
        Ok(match e {
            Some(e) => self.expr(e, Ctx::Load)?,
            None => Value::None,
        })
    }

    fn idents(&self, names: &[Ident]) -> Value {
        Value::list(names.iter().map(|n| s(&n.name)).collect())
    }

    fn stmt(&mut self, st: &Stmt) -> PyResult<Value> {
        self.enter()?;
        let r = self.stmt_inner(st);
        self.depth -= 1;
        r
    }

    fn stmt_inner(&mut self, st: &Stmt) -> PyResult<Value> {
        let pos = self.pos(Span {
            start: st.span.start,
            end: stmt_end(st),
        });
        let load = Ctx::Load;
        let (kind, fields) = match &st.kind {
            StmtKind::Expr(e) => ("Expr", vec![self.expr(e, load)?]),
            StmtKind::Assign { targets, value } => (
                "Assign",
                vec![
                    self.exprs(targets, Ctx::Store)?,
                    self.expr(value, load)?,
                    Value::None,
                ],
            ),
            StmtKind::AugAssign { target, op, value } => (
                "AugAssign",
                vec![
                    self.expr(target, Ctx::Store)?,
                    self.bare(binop(*op))?,
                    self.expr(value, load)?,
                ],
            ),
            StmtKind::AnnAssign {
                target,
                annotation,
                value,
            } => {
                // `simple`: a plain name, not in parentheses.
                let simple =
                    matches!(target.kind, ExprKind::Name(_)) && target.outer == target.span;
                (
                    "AnnAssign",
                    vec![
                        self.expr(target, Ctx::Store)?,
                        self.expr(annotation, load)?,
                        self.opt_expr(value.as_ref())?,
                        Value::Int(i64::from(simple)),
                    ],
                )
            }
            StmtKind::If { test, body, orelse } => (
                "If",
                vec![
                    self.expr(test, load)?,
                    self.stmts(body)?,
                    self.stmts(orelse)?,
                ],
            ),
            StmtKind::While { test, body, orelse } => (
                "While",
                vec![
                    self.expr(test, load)?,
                    self.stmts(body)?,
                    self.stmts(orelse)?,
                ],
            ),
            StmtKind::For {
                target,
                iter,
                body,
                orelse,
                is_async,
            } => (
                if *is_async { "AsyncFor" } else { "For" },
                vec![
                    self.expr(target, Ctx::Store)?,
                    self.expr(iter, load)?,
                    self.stmts(body)?,
                    self.stmts(orelse)?,
                    Value::None,
                ],
            ),
            StmtKind::Break => ("Break", Vec::new()),
            StmtKind::Continue => ("Continue", Vec::new()),
            StmtKind::Pass => ("Pass", Vec::new()),
            StmtKind::Return(v) => ("Return", vec![self.opt_expr(v.as_ref())?]),
            StmtKind::FunctionDef(f) => (
                if f.is_async {
                    "AsyncFunctionDef"
                } else {
                    "FunctionDef"
                },
                vec![
                    s(&f.name.name),
                    self.arguments(&f.params)?,
                    self.stmts(&f.body)?,
                    self.exprs(&f.decorators, load)?,
                    self.opt_expr(f.returns.as_ref())?,
                    Value::None,
                ],
            ),
            StmtKind::ClassDef(c) => (
                "ClassDef",
                vec![
                    s(&c.name.name),
                    self.exprs(&c.bases, load)?,
                    self.keywords(&c.keywords)?,
                    self.stmts(&c.body)?,
                    self.exprs(&c.decorators, load)?,
                ],
            ),
            StmtKind::Global(names) => ("Global", vec![self.idents(names)]),
            StmtKind::Nonlocal(names) => ("Nonlocal", vec![self.idents(names)]),
            StmtKind::Assert { test, msg } => (
                "Assert",
                vec![self.expr(test, load)?, self.opt_expr(msg.as_ref())?],
            ),
            StmtKind::Del(targets) => ("Delete", vec![self.exprs(targets, Ctx::Del)?]),
            StmtKind::Import(names) => ("Import", vec![self.aliases(names)?]),
            StmtKind::ImportFrom {
                module,
                names,
                level,
            } => (
                "ImportFrom",
                vec![
                    module.as_ref().map_or(Value::None, |m| s(&m.name)),
                    self.aliases(names)?,
                    Value::Int(i64::from(*level)),
                ],
            ),
            StmtKind::Raise { exc, cause } => (
                "Raise",
                vec![self.opt_expr(exc.as_ref())?, self.opt_expr(cause.as_ref())?],
            ),
            StmtKind::Try(t) => {
                let mut handlers = Vec::with_capacity(t.handlers.len());
                for h in &t.handlers {
                    handlers.push(self.handler(h)?);
                }
                (
                    if t.is_star { "TryStar" } else { "Try" },
                    vec![
                        self.stmts(&t.body)?,
                        Value::list(handlers),
                        self.stmts(&t.orelse)?,
                        self.stmts(&t.finalbody)?,
                    ],
                )
            }
            StmtKind::With {
                items,
                body,
                is_async,
            } => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.withitem(item)?);
                }
                (
                    if *is_async { "AsyncWith" } else { "With" },
                    vec![Value::list(out), self.stmts(body)?, Value::None],
                )
            }
            StmtKind::Match { subject, cases } => {
                let mut out = Vec::with_capacity(cases.len());
                for case in cases {
                    out.push(self.match_case(case)?);
                }
                ("Match", vec![self.expr(subject, load)?, Value::list(out)])
            }
        };
        self.node(kind, fields, pos)
    }

    fn handler(&mut self, h: &ExceptHandler) -> PyResult<Value> {
        let fields = vec![
            self.opt_expr(h.typ.as_ref())?,
            h.name.as_ref().map_or(Value::None, |n| s(&n.name)),
            self.stmts(&h.body)?,
        ];
        let end = h.body.last().map_or(h.span.end, stmt_end);
        let pos = self.pos(Span {
            start: h.span.start,
            end,
        });
        self.node("ExceptHandler", fields, pos)
    }

    fn withitem(&mut self, item: &WithItem) -> PyResult<Value> {
        let fields = vec![
            self.expr(&item.context, Ctx::Load)?,
            match &item.target {
                Some(t) => self.expr(t, Ctx::Store)?,
                None => Value::None,
            },
        ];
        self.node("withitem", fields, Value::None)
    }

    fn aliases(&mut self, names: &[Alias]) -> PyResult<Value> {
        let mut out = Vec::with_capacity(names.len());
        for a in names {
            let fields = vec![
                s(&a.name),
                a.asname.as_ref().map_or(Value::None, |n| s(&n.name)),
            ];
            let pos = self.pos(a.span);
            out.push(self.node("alias", fields, pos)?);
        }
        Ok(Value::list(out))
    }

    fn keywords(&mut self, keywords: &[Keyword]) -> PyResult<Value> {
        let mut out = Vec::with_capacity(keywords.len());
        for k in keywords {
            let fields = vec![
                k.name.as_ref().map_or(Value::None, |n| s(&n.name)),
                self.expr(&k.value, Ctx::Load)?,
            ];
            let pos = self.pos(k.span);
            out.push(self.node("keyword", fields, pos)?);
        }
        Ok(Value::list(out))
    }

    fn arg(&mut self, p: &Param) -> PyResult<Value> {
        let span = match &p.annotation {
            Some(a) => p.name.span.to(a.outer),
            None => p.name.span,
        };
        let fields = vec![
            s(&p.name.name),
            self.opt_expr(p.annotation.as_ref())?,
            Value::None,
        ];
        let pos = self.pos(span);
        self.node("arg", fields, pos)
    }

    fn args(&mut self, params: &[Param]) -> PyResult<Value> {
        let mut out = Vec::with_capacity(params.len());
        for p in params {
            out.push(self.arg(p)?);
        }
        Ok(Value::list(out))
    }

    /// CPython's `arguments`: the defaults of the positional parameters in one list (the last
    /// ones), those of the keyword-only ones each in place (None for none).
    fn arguments(&mut self, p: &Params) -> PyResult<Value> {
        let posonly = self.args(&p.posonly)?;
        let args = self.args(&p.args)?;
        let vararg = match &p.vararg {
            Some(v) => self.arg(v)?,
            None => Value::None,
        };
        let kwonly = self.args(&p.kwonly)?;
        let mut kw_defaults = Vec::with_capacity(p.kwonly.len());
        for k in &p.kwonly {
            kw_defaults.push(self.opt_expr(k.default.as_ref())?);
        }
        let kwarg = match &p.kwarg {
            Some(v) => self.arg(v)?,
            None => Value::None,
        };
        let mut defaults = Vec::new();
        for q in p.posonly.iter().chain(&p.args) {
            if let Some(d) = &q.default {
                defaults.push(self.expr(d, Ctx::Load)?);
            }
        }
        let fields = vec![
            posonly,
            args,
            vararg,
            kwonly,
            Value::list(kw_defaults),
            kwarg,
            Value::list(defaults),
        ];
        self.node("arguments", fields, Value::None)
    }

    fn comprehensions(&mut self, generators: &[Comprehension]) -> PyResult<Value> {
        let mut out = Vec::with_capacity(generators.len());
        for g in generators {
            let fields = vec![
                self.expr(&g.target, Ctx::Store)?,
                self.expr(&g.iter, Ctx::Load)?,
                self.exprs(&g.ifs, Ctx::Load)?,
                Value::Int(i64::from(g.is_async)),
            ];
            out.push(self.node("comprehension", fields, Value::None)?);
        }
        Ok(Value::list(out))
    }

    fn constant(&mut self, c: &Const, pos: Value) -> PyResult<Value> {
        let value = match c {
            Const::None => Value::None,
            Const::Bool(b) => Value::Bool(*b),
            Const::Int(i) => Value::Int(*i),
            Const::BigInt(text) => match crate::num::bigint::parse_literal(text) {
                Some(n) => Value::from(n),
                None => raise!(ValueError, "invalid integer literal {text}"),
            },
            Const::Float(f) => Value::Float(*f),
            Const::Imag(f) => crate::builtins::complex::new_complex(
                crate::builtins::complex::Complex::new(0.0, *f),
            ),
            Const::Str(text) => s(text),
            Const::Bytes(b) => Value::bytes(b.clone()),
            Const::Ellipsis => Value::Ellipsis,
        };
        self.node("Constant", vec![value, Value::None], pos)
    }

    /// The values of a `JoinedStr`: its text runs as `Constant`s, its fields as
    /// `FormattedValue`s (the segments the compiler formats).
    fn fstring_values(&mut self, parts: &[FStringPart], pos: &Value) -> PyResult<Value> {
        let mut out = Vec::new();
        for segment in fstring_segments(parts) {
            match segment {
                FStringSegment::Text(text) => {
                    out.push(self.constant(&Const::Str(text), pos.clone())?)
                }
                FStringSegment::Field {
                    expr,
                    conversion,
                    spec,
                } => {
                    let conversion = conversion.map_or(-1, |c| i64::from(u32::from(c)));
                    let spec = match spec {
                        Some(parts) => {
                            let values = self.fstring_values(parts, pos)?;
                            self.node("JoinedStr", vec![values], pos.clone())?
                        }
                        None => Value::None,
                    };
                    let value = self.expr(expr, Ctx::Load)?;
                    let fields = vec![value, Value::Int(conversion), spec];
                    out.push(self.node("FormattedValue", fields, pos.clone())?);
                }
            }
        }
        Ok(Value::list(out))
    }

    fn expr(&mut self, e: &Expr, ctx: Ctx) -> PyResult<Value> {
        self.enter()?;
        let r = self.expr_inner(e, ctx);
        self.depth -= 1;
        r
    }

    fn expr_inner(&mut self, e: &Expr, ctx: Ctx) -> PyResult<Value> {
        // A generator expression's position takes in its parentheses.
        let span = match &e.kind {
            ExprKind::GeneratorExp { .. } => self.genexp_span.take().unwrap_or(e.outer),
            _ => e.span,
        };
        let pos = self.pos(span);
        let load = Ctx::Load;
        let (kind, fields) = match &e.kind {
            ExprKind::Name(id) => ("Name", vec![s(id), self.bare(ctx.name())?]),
            ExprKind::Const(c) => {
                // `u'...'` (lower case only): CPython's `kind` is 'u'.
                let u = matches!(c, Const::Str(_))
                    && self.src.as_bytes().get(e.span.start as usize) == Some(&b'u');
                let node = self.constant(c, pos)?;
                if u {
                    self.interp.setattr(&node, "kind", s("u"))?;
                }
                return Ok(node);
            }
            ExprKind::FString(parts) => ("JoinedStr", vec![self.fstring_values(parts, &pos)?]),
            ExprKind::Tuple(items) => (
                "Tuple",
                vec![self.exprs(items, ctx)?, self.bare(ctx.name())?],
            ),
            ExprKind::List(items) => (
                "List",
                vec![self.exprs(items, ctx)?, self.bare(ctx.name())?],
            ),
            ExprKind::Set(items) => ("Set", vec![self.exprs(items, load)?]),
            ExprKind::Dict(pairs) => {
                let mut keys = Vec::with_capacity(pairs.len());
                let mut values = Vec::with_capacity(pairs.len());
                for (k, v) in pairs {
                    keys.push(self.opt_expr(k.as_ref())?);
                    values.push(self.expr(v, load)?);
                }
                ("Dict", vec![Value::list(keys), Value::list(values)])
            }
            ExprKind::Starred(v) => ("Starred", vec![self.expr(v, ctx)?, self.bare(ctx.name())?]),
            ExprKind::BinOp { op, left, right } => (
                "BinOp",
                vec![
                    self.expr(left, load)?,
                    self.bare(binop(*op))?,
                    self.expr(right, load)?,
                ],
            ),
            ExprKind::UnaryOp { op, operand } => {
                let name = match op {
                    UnaryOp::Not => "Not",
                    UnaryOp::Neg => "USub",
                    UnaryOp::Pos => "UAdd",
                    UnaryOp::Invert => "Invert",
                };
                ("UnaryOp", vec![self.bare(name)?, self.expr(operand, load)?])
            }
            ExprKind::BoolOp { op, values } => {
                let name = match op {
                    BoolOp::And => "And",
                    BoolOp::Or => "Or",
                };
                ("BoolOp", vec![self.bare(name)?, self.exprs(values, load)?])
            }
            ExprKind::Compare {
                left,
                ops,
                comparators,
            } => {
                let left = self.expr(left, load)?;
                let mut names = Vec::with_capacity(ops.len());
                for op in ops {
                    names.push(self.bare(cmpop(*op))?);
                }
                (
                    "Compare",
                    vec![left, Value::list(names), self.exprs(comparators, load)?],
                )
            }
            ExprKind::IfExp { test, body, orelse } => (
                "IfExp",
                vec![
                    self.expr(test, load)?,
                    self.expr(body, load)?,
                    self.expr(orelse, load)?,
                ],
            ),
            ExprKind::Call {
                func,
                args,
                keywords,
            } => {
                let func = self.expr(func, load)?;
                if let ([arg], []) = (args.as_slice(), keywords.as_slice()) {
                    let own_parens =
                        self.src.as_bytes().get(arg.span.start as usize) == Some(&b'(');
                    if matches!(arg.kind, ExprKind::GeneratorExp { .. }) && !own_parens {
                        // From the call's opening parenthesis to its end.
                        let before = self.src.get(..arg.span.start as usize).unwrap_or("");
                        let open = before.rfind('(').map_or(arg.span.start, |i| i as u32);
                        self.genexp_span = Some(Span {
                            start: open,
                            end: e.span.end,
                        });
                    }
                }
                let args = self.exprs(args, load)?;
                self.genexp_span = None;
                ("Call", vec![func, args, self.keywords(keywords)?])
            }
            ExprKind::Attribute { value, attr } => (
                "Attribute",
                vec![
                    self.expr(value, load)?,
                    s(&attr.name),
                    self.bare(ctx.name())?,
                ],
            ),
            ExprKind::Subscript { value, index } => {
                let value = self.expr(value, load)?;
                let mut index_node = self.expr(index, load)?;
                // `a[*b]`: CPython's index is a one-item tuple.
                if matches!(index.kind, ExprKind::Starred(_)) {
                    let ipos = self.pos(index.span);
                    let items = Value::list(vec![index_node]);
                    let load_ctx = self.bare("Load")?;
                    index_node = self.node("Tuple", vec![items, load_ctx], ipos)?;
                }
                ("Subscript", vec![value, index_node, self.bare(ctx.name())?])
            }
            ExprKind::Slice { lower, upper, step } => (
                "Slice",
                vec![
                    self.opt_expr(lower.as_deref())?,
                    self.opt_expr(upper.as_deref())?,
                    self.opt_expr(step.as_deref())?,
                ],
            ),
            ExprKind::Lambda { params, body } => (
                "Lambda",
                vec![self.arguments(params)?, self.expr(body, load)?],
            ),
            ExprKind::ListComp { elt, generators } => (
                "ListComp",
                vec![self.expr(elt, load)?, self.comprehensions(generators)?],
            ),
            ExprKind::SetComp { elt, generators } => (
                "SetComp",
                vec![self.expr(elt, load)?, self.comprehensions(generators)?],
            ),
            ExprKind::GeneratorExp { elt, generators } => (
                "GeneratorExp",
                vec![self.expr(elt, load)?, self.comprehensions(generators)?],
            ),
            ExprKind::DictComp {
                key,
                value,
                generators,
            } => (
                "DictComp",
                vec![
                    self.expr(key, load)?,
                    self.expr(value, load)?,
                    self.comprehensions(generators)?,
                ],
            ),
            ExprKind::Yield(v) => ("Yield", vec![self.opt_expr(v.as_deref())?]),
            ExprKind::YieldFrom(v) => ("YieldFrom", vec![self.expr(v, load)?]),
            ExprKind::Await(v) => ("Await", vec![self.expr(v, load)?]),
            ExprKind::NamedExpr { target, value } => {
                let store = self.bare("Store")?;
                let tpos = self.pos(target.span);
                let target = self.node("Name", vec![s(&target.name), store], tpos)?;
                ("NamedExpr", vec![target, self.expr(value, load)?])
            }
        };
        self.node(kind, fields, pos)
    }

    fn match_case(&mut self, case: &MatchCase) -> PyResult<Value> {
        let fields = vec![
            self.pattern(&case.pattern)?,
            self.opt_expr(case.guard.as_ref())?,
            self.stmts(&case.body)?,
        ];
        self.node("match_case", fields, Value::None)
    }

    fn patterns(&mut self, items: &[Pattern]) -> PyResult<Value> {
        let mut out = Vec::with_capacity(items.len());
        for p in items {
            out.push(self.pattern(p)?);
        }
        Ok(Value::list(out))
    }

    fn pattern(&mut self, p: &Pattern) -> PyResult<Value> {
        self.enter()?;
        let r = self.pattern_inner(p);
        self.depth -= 1;
        r
    }

    fn pattern_inner(&mut self, p: &Pattern) -> PyResult<Value> {
        let pos = self.pos(p.span);
        let name = |n: &Option<Ident>| n.as_ref().map_or(Value::None, |n| s(&n.name));
        let (kind, fields) = match &p.kind {
            PatternKind::Value(e) => ("MatchValue", vec![self.expr(e, Ctx::Load)?]),
            PatternKind::Singleton(c) => (
                "MatchSingleton",
                vec![match c {
                    Const::Bool(b) => Value::Bool(*b),
                    _ => Value::None,
                }],
            ),
            PatternKind::Sequence(items) => ("MatchSequence", vec![self.patterns(items)?]),
            PatternKind::Star(n) => ("MatchStar", vec![name(n)]),
            PatternKind::Mapping {
                keys,
                patterns,
                rest,
            } => (
                "MatchMapping",
                vec![
                    self.exprs(keys, Ctx::Load)?,
                    self.patterns(patterns)?,
                    name(rest),
                ],
            ),
            PatternKind::Class {
                cls,
                patterns,
                kwd_attrs,
                kwd_patterns,
            } => (
                "MatchClass",
                vec![
                    self.expr(cls, Ctx::Load)?,
                    self.patterns(patterns)?,
                    self.idents(kwd_attrs),
                    self.patterns(kwd_patterns)?,
                ],
            ),
            PatternKind::As { pattern, name: n } => (
                "MatchAs",
                vec![
                    match pattern {
                        Some(q) => self.pattern(q)?,
                        None => Value::None,
                    },
                    name(n),
                ],
            ),
            PatternKind::Or(items) => ("MatchOr", vec![self.patterns(items)?]),
        };
        self.node(kind, fields, pos)
    }
}

/// Where a statement ends, as CPython counts it: a compound statement at the end of the last
/// statement of its last block (the parser's span runs on to the next statement).
fn stmt_end(st: &Stmt) -> u32 {
    let mut st = st;
    loop {
        let last = match &st.kind {
            StmtKind::If { body, orelse, .. }
            | StmtKind::While { body, orelse, .. }
            | StmtKind::For { body, orelse, .. } => orelse.last().or(body.last()),
            StmtKind::With { body, .. } => body.last(),
            StmtKind::FunctionDef(f) => f.body.last(),
            StmtKind::ClassDef(c) => c.body.last(),
            StmtKind::Try(t) => t
                .finalbody
                .last()
                .or(t.orelse.last())
                .or(t.handlers.last().and_then(|h| h.body.last()))
                .or(t.body.last()),
            StmtKind::Match { cases, .. } => cases.last().and_then(|c| c.body.last()),
            _ => None,
        };
        match last {
            Some(inner) => st = inner,
            None => return st.span.end,
        }
    }
}

fn binop(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "Add",
        BinOp::Sub => "Sub",
        BinOp::Mul => "Mult",
        BinOp::Div => "Div",
        BinOp::FloorDiv => "FloorDiv",
        BinOp::Mod => "Mod",
        BinOp::Pow => "Pow",
        BinOp::LShift => "LShift",
        BinOp::RShift => "RShift",
        BinOp::BitOr => "BitOr",
        BinOp::BitXor => "BitXor",
        BinOp::BitAnd => "BitAnd",
        BinOp::MatMul => "MatMult",
    }
}

fn cmpop(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "Eq",
        CmpOp::NotEq => "NotEq",
        CmpOp::Lt => "Lt",
        CmpOp::LtE => "LtE",
        CmpOp::Gt => "Gt",
        CmpOp::GtE => "GtE",
        CmpOp::Is => "Is",
        CmpOp::IsNot => "IsNot",
        CmpOp::In => "In",
        CmpOp::NotIn => "NotIn",
    }
}
