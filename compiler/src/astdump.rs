//! Stage 2 view for `minivm ast`: the AST printed as an indented tree for learners.
//!
//! One node per line: the node kind and its scalar details (names, constants, operators), children
//! indented by two spaces, with a `field:` label where the role is not obvious from the order.

use std::fmt::Write;

use crate::ast::{
    Comprehension, Const, Expr, ExprKind, FStringPart, Ident, Module, Params, Pattern, PatternKind,
    Stmt, StmtKind,
};

/// Renders a module, e.g. `Assign` / `  target: Name x` / `  value: BinOp +` / ...
pub fn dump_module(m: &Module) -> String {
    let mut d = Dumper { out: String::new() };
    d.line(0, "", "Module");
    for s in &m.body {
        d.stmt(1, "", s);
    }
    d.out
}

struct Dumper {
    out: String,
}

fn constant(c: &Const) -> String {
    match c {
        Const::None => "None".into(),
        Const::Bool(b) => if *b { "True" } else { "False" }.into(),
        Const::Int(i) => i.to_string(),
        Const::BigInt(s) => s.clone(),
        Const::Float(f) => format!("{f:?}"),
        Const::Imag(f) => format!("{f:?}j"),
        Const::Str(s) => format!("{s:?}"),
        Const::Bytes(b) => crate::dis::bytes_repr(b),
        Const::Ellipsis => "...".into(),
    }
}

fn params_text(p: &Params) -> String {
    let mut parts: Vec<String> = Vec::new();
    let one = |q: &crate::ast::Param| {
        if q.default.is_some() {
            format!("{}=…", q.name.name)
        } else {
            q.name.name.clone()
        }
    };
    parts.extend(p.posonly.iter().map(one));
    if !p.posonly.is_empty() {
        parts.push("/".into());
    }
    parts.extend(p.args.iter().map(one));
    match &p.vararg {
        Some(v) => parts.push(format!("*{}", v.name.name)),
        None if !p.kwonly.is_empty() => parts.push("*".into()),
        None => {}
    }
    parts.extend(p.kwonly.iter().map(one));
    if let Some(k) = &p.kwarg {
        parts.push(format!("**{}", k.name.name));
    }
    format!("({})", parts.join(", "))
}

impl Dumper {
    fn line(&mut self, depth: usize, label: &str, text: &str) {
        let _ = writeln!(self.out, "{}{}{}", "  ".repeat(depth), label, text);
    }

    fn body(&mut self, depth: usize, label: &str, body: &[Stmt]) {
        if body.is_empty() {
            return;
        }
        self.line(depth, label, "");
        for s in body {
            self.stmt(depth + 1, "", s);
        }
    }

    /// Defaults of a parameter list, labelled by parameter name.
    fn defaults(&mut self, depth: usize, p: &Params) {
        let all = p.posonly.iter().chain(&p.args).chain(&p.kwonly);
        for q in all {
            if let Some(d) = &q.default {
                self.expr(depth, &format!("default {}: ", q.name.name), d);
            }
        }
    }

    fn stmt(&mut self, d: usize, label: &str, s: &Stmt) {
        match &s.kind {
            StmtKind::Expr(e) => self.expr(d, label, e),
            StmtKind::Assign { targets, value } => {
                self.line(d, label, "Assign");
                for t in targets {
                    self.expr(d + 1, "target: ", t);
                }
                self.expr(d + 1, "value: ", value);
            }
            StmtKind::AugAssign { target, op, value } => {
                self.line(d, label, &format!("AugAssign {}=", op.symbol()));
                self.expr(d + 1, "target: ", target);
                self.expr(d + 1, "value: ", value);
            }
            StmtKind::AnnAssign {
                target,
                annotation,
                value,
            } => {
                self.line(d, label, "AnnAssign");
                self.expr(d + 1, "target: ", target);
                self.expr(d + 1, "annotation: ", annotation);
                if let Some(v) = value {
                    self.expr(d + 1, "value: ", v);
                }
            }
            StmtKind::If { test, body, orelse } | StmtKind::While { test, body, orelse } => {
                let kind = if matches!(s.kind, StmtKind::If { .. }) {
                    "If"
                } else {
                    "While"
                };
                self.line(d, label, kind);
                self.expr(d + 1, "test: ", test);
                self.body(d + 1, "body:", body);
                self.body(d + 1, "else:", orelse);
            }
            StmtKind::For {
                target,
                iter,
                body,
                orelse,
                is_async,
            } => {
                self.line(d, label, if *is_async { "AsyncFor" } else { "For" });
                self.expr(d + 1, "target: ", target);
                self.expr(d + 1, "iter: ", iter);
                self.body(d + 1, "body:", body);
                self.body(d + 1, "else:", orelse);
            }
            StmtKind::Break => self.line(d, label, "Break"),
            StmtKind::Continue => self.line(d, label, "Continue"),
            StmtKind::Pass => self.line(d, label, "Pass"),
            StmtKind::Return(v) => {
                self.line(d, label, "Return");
                if let Some(v) = v {
                    self.expr(d + 1, "", v);
                }
            }
            StmtKind::FunctionDef(f) => {
                let kind = if f.is_async {
                    "AsyncFunctionDef"
                } else {
                    "FunctionDef"
                };
                let text = format!("{kind} {}{}", f.name.name, params_text(&f.params));
                self.line(d, label, &text);
                for dec in &f.decorators {
                    self.expr(d + 1, "decorator: ", dec);
                }
                self.defaults(d + 1, &f.params);
                self.body(d + 1, "body:", &f.body);
            }
            StmtKind::ClassDef(c) => {
                self.line(d, label, &format!("ClassDef {}", c.name.name));
                for dec in &c.decorators {
                    self.expr(d + 1, "decorator: ", dec);
                }
                for b in &c.bases {
                    self.expr(d + 1, "base: ", b);
                }
                for k in &c.keywords {
                    let name = k.name.as_ref().map_or("**", |n| n.name.as_str());
                    self.expr(d + 1, &format!("keyword {name}: "), &k.value);
                }
                self.body(d + 1, "body:", &c.body);
            }
            StmtKind::Global(names) | StmtKind::Nonlocal(names) => {
                let kind = if matches!(s.kind, StmtKind::Global(_)) {
                    "Global"
                } else {
                    "Nonlocal"
                };
                let names: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
                self.line(d, label, &format!("{kind} {}", names.join(", ")));
            }
            StmtKind::Assert { test, msg } => {
                self.line(d, label, "Assert");
                self.expr(d + 1, "test: ", test);
                if let Some(m) = msg {
                    self.expr(d + 1, "msg: ", m);
                }
            }
            StmtKind::Del(targets) => {
                self.line(d, label, "Del");
                for t in targets {
                    self.expr(d + 1, "", t);
                }
            }
            StmtKind::Import(names) => {
                let names: Vec<String> = names.iter().map(alias).collect();
                self.line(d, label, &format!("Import {}", names.join(", ")));
            }
            StmtKind::ImportFrom {
                module,
                names,
                level,
            } => {
                let module = format!(
                    "{}{}",
                    ".".repeat(*level as usize),
                    module.as_ref().map_or("", |m| m.name.as_str())
                );
                let names: Vec<String> = names.iter().map(alias).collect();
                self.line(
                    d,
                    label,
                    &format!("ImportFrom {module} import {}", names.join(", ")),
                );
            }
            StmtKind::Raise { exc, cause } => {
                self.line(d, label, "Raise");
                if let Some(e) = exc {
                    self.expr(d + 1, "exc: ", e);
                }
                if let Some(c) = cause {
                    self.expr(d + 1, "cause: ", c);
                }
            }
            StmtKind::Try(t) => {
                self.line(d, label, if t.is_star { "TryStar" } else { "Try" });
                self.body(d + 1, "body:", &t.body);
                for h in &t.handlers {
                    let name = h
                        .name
                        .as_ref()
                        .map_or(String::new(), |n| format!(" as {}", n.name));
                    self.line(d + 1, "", &format!("ExceptHandler{name}"));
                    if let Some(typ) = &h.typ {
                        self.expr(d + 2, "type: ", typ);
                    }
                    self.body(d + 2, "body:", &h.body);
                }
                self.body(d + 1, "else:", &t.orelse);
                self.body(d + 1, "finally:", &t.finalbody);
            }
            StmtKind::With {
                items,
                body,
                is_async,
            } => {
                self.line(d, label, if *is_async { "AsyncWith" } else { "With" });
                for item in items {
                    self.expr(d + 1, "context: ", &item.context);
                    if let Some(t) = &item.target {
                        self.expr(d + 2, "as: ", t);
                    }
                }
                self.body(d + 1, "body:", body);
            }
            StmtKind::Match { subject, cases } => {
                self.line(d, label, "Match");
                self.expr(d + 1, "subject: ", subject);
                for case in cases {
                    self.line(d + 1, "", "case");
                    self.pattern(d + 2, "pattern: ", &case.pattern);
                    if let Some(g) = &case.guard {
                        self.expr(d + 2, "guard: ", g);
                    }
                    self.body(d + 2, "body:", &case.body);
                }
            }
        }
    }

    /// A `case` pattern, named as CPython's `ast` module names the node kinds.
    fn pattern(&mut self, d: usize, label: &str, p: &Pattern) {
        let name = |n: &Option<Ident>| n.as_ref().map_or("_".to_string(), |n| n.name.clone());
        match &p.kind {
            PatternKind::Value(e) => self.expr(d, label, e),
            PatternKind::Singleton(c) => {
                self.line(d, label, &format!("MatchSingleton {}", constant(c)))
            }
            PatternKind::Star(n) => self.line(d, label, &format!("MatchStar {}", name(n))),
            PatternKind::As { pattern, name: n } => {
                self.line(d, label, &format!("MatchAs {}", name(n)));
                if let Some(inner) = pattern {
                    self.pattern(d + 1, "", inner);
                }
            }
            PatternKind::Sequence(items) | PatternKind::Or(items) => {
                let kind = if matches!(p.kind, PatternKind::Or(_)) {
                    "MatchOr"
                } else {
                    "MatchSequence"
                };
                self.line(d, label, kind);
                items.iter().for_each(|i| self.pattern(d + 1, "", i));
            }
            PatternKind::Mapping {
                keys,
                patterns,
                rest,
            } => {
                let rest = rest
                    .as_ref()
                    .map_or(String::new(), |r| format!(" **{}", r.name));
                self.line(d, label, &format!("MatchMapping{rest}"));
                for (k, v) in keys.iter().zip(patterns) {
                    self.expr(d + 1, "key: ", k);
                    self.pattern(d + 2, "", v);
                }
            }
            PatternKind::Class {
                cls,
                patterns,
                kwd_attrs,
                kwd_patterns,
            } => {
                self.line(d, label, "MatchClass");
                self.expr(d + 1, "cls: ", cls);
                patterns.iter().for_each(|i| self.pattern(d + 1, "", i));
                for (a, v) in kwd_attrs.iter().zip(kwd_patterns) {
                    self.pattern(d + 1, &format!("{}=", a.name), v);
                }
            }
        }
    }

    fn comprehensions(&mut self, d: usize, gens: &[Comprehension]) {
        for g in gens {
            self.line(d, "", if g.is_async { "async for" } else { "for" });
            self.expr(d + 1, "target: ", &g.target);
            self.expr(d + 1, "iter: ", &g.iter);
            for cond in &g.ifs {
                self.expr(d + 1, "if: ", cond);
            }
        }
    }

    fn fstring_parts(&mut self, d: usize, parts: &[FStringPart]) {
        for p in parts {
            match p {
                FStringPart::Literal(s) => self.line(d, "", &format!("Literal {s:?}")),
                FStringPart::Value {
                    expr,
                    conversion,
                    spec,
                    debug_text,
                } => {
                    let mut text = "Value".to_string();
                    if let Some(t) = debug_text {
                        let _ = write!(text, " debug {t:?}");
                    }
                    if let Some(c) = conversion {
                        let _ = write!(text, " !{c}");
                    }
                    self.line(d, "", &text);
                    self.expr(d + 1, "", expr);
                    if let Some(spec) = spec {
                        self.line(d + 1, "", "spec:");
                        self.fstring_parts(d + 2, spec);
                    }
                }
            }
        }
    }

    fn expr(&mut self, d: usize, label: &str, e: &Expr) {
        // A chain like `a.b.b.b...` may nest deeper than any compiled program can: stop showing it
        // where the compiler would refuse it (this walk recurses).
        if d > crate::parser::MAX_COMPILE_DEPTH {
            self.line(d, label, "... (nested deeper than the compiler accepts)");
            return;
        }
        match &e.kind {
            ExprKind::Name(n) => self.line(d, label, &format!("Name {n}")),
            ExprKind::Const(c) => self.line(d, label, &format!("Const {}", constant(c))),
            ExprKind::FString(parts) => {
                self.line(d, label, "FString");
                self.fstring_parts(d + 1, parts);
            }
            ExprKind::Tuple(items) | ExprKind::List(items) | ExprKind::Set(items) => {
                let kind = match e.kind {
                    ExprKind::Tuple(_) => "Tuple",
                    ExprKind::List(_) => "List",
                    _ => "Set",
                };
                self.line(d, label, kind);
                for i in items {
                    self.expr(d + 1, "", i);
                }
            }
            ExprKind::Dict(entries) => {
                self.line(d, label, "Dict");
                for (k, v) in entries {
                    match k {
                        Some(k) => {
                            self.expr(d + 1, "key: ", k);
                            self.expr(d + 2, "value: ", v);
                        }
                        None => self.expr(d + 1, "**", v),
                    }
                }
            }
            ExprKind::Starred(v) => self.expr(d, &format!("{label}*"), v),
            ExprKind::BinOp { op, left, right } => {
                self.line(d, label, &format!("BinOp {}", op.symbol()));
                self.expr(d + 1, "", left);
                self.expr(d + 1, "", right);
            }
            ExprKind::UnaryOp { op, operand } => {
                let sym = match op {
                    crate::ast::UnaryOp::Not => "not",
                    crate::ast::UnaryOp::Neg => "-",
                    crate::ast::UnaryOp::Pos => "+",
                    crate::ast::UnaryOp::Invert => "~",
                };
                self.line(d, label, &format!("UnaryOp {sym}"));
                self.expr(d + 1, "", operand);
            }
            ExprKind::BoolOp { op, values } => {
                let sym = match op {
                    crate::ast::BoolOp::And => "and",
                    crate::ast::BoolOp::Or => "or",
                };
                self.line(d, label, &format!("BoolOp {sym}"));
                for v in values {
                    self.expr(d + 1, "", v);
                }
            }
            ExprKind::Compare {
                left,
                ops,
                comparators,
            } => {
                let syms: Vec<&str> = ops.iter().map(|o| o.symbol()).collect();
                self.line(d, label, &format!("Compare {}", syms.join(" ")));
                self.expr(d + 1, "", left);
                for c in comparators {
                    self.expr(d + 1, "", c);
                }
            }
            ExprKind::IfExp { test, body, orelse } => {
                self.line(d, label, "IfExp");
                self.expr(d + 1, "test: ", test);
                self.expr(d + 1, "body: ", body);
                self.expr(d + 1, "else: ", orelse);
            }
            ExprKind::Call {
                func,
                args,
                keywords,
            } => {
                self.line(d, label, "Call");
                self.expr(d + 1, "func: ", func);
                for a in args {
                    self.expr(d + 1, "arg: ", a);
                }
                for k in keywords {
                    let name = k.name.as_ref().map_or("**", |n| n.name.as_str());
                    self.expr(d + 1, &format!("keyword {name}: "), &k.value);
                }
            }
            ExprKind::Attribute { value, attr } => {
                self.line(d, label, &format!("Attribute .{}", attr.name));
                self.expr(d + 1, "", value);
            }
            ExprKind::Subscript { value, index } => {
                self.line(d, label, "Subscript");
                self.expr(d + 1, "value: ", value);
                self.expr(d + 1, "index: ", index);
            }
            ExprKind::Slice { lower, upper, step } => {
                self.line(d, label, "Slice");
                for (name, part) in [("lower: ", lower), ("upper: ", upper), ("step: ", step)] {
                    if let Some(p) = part {
                        self.expr(d + 1, name, p);
                    }
                }
            }
            ExprKind::Lambda { params, body } => {
                self.line(d, label, &format!("Lambda {}", params_text(params)));
                self.defaults(d + 1, params);
                self.expr(d + 1, "body: ", body);
            }
            ExprKind::ListComp { elt, generators }
            | ExprKind::SetComp { elt, generators }
            | ExprKind::GeneratorExp { elt, generators } => {
                let kind = match e.kind {
                    ExprKind::ListComp { .. } => "ListComp",
                    ExprKind::SetComp { .. } => "SetComp",
                    _ => "GeneratorExp",
                };
                self.line(d, label, kind);
                self.expr(d + 1, "elt: ", elt);
                self.comprehensions(d + 1, generators);
            }
            ExprKind::DictComp {
                key,
                value,
                generators,
            } => {
                self.line(d, label, "DictComp");
                self.expr(d + 1, "key: ", key);
                self.expr(d + 1, "value: ", value);
                self.comprehensions(d + 1, generators);
            }
            ExprKind::Yield(v) => {
                self.line(d, label, "Yield");
                if let Some(v) = v {
                    self.expr(d + 1, "", v);
                }
            }
            ExprKind::YieldFrom(v) => {
                self.line(d, label, "YieldFrom");
                self.expr(d + 1, "", v);
            }
            ExprKind::Await(v) => {
                self.line(d, label, "Await");
                self.expr(d + 1, "", v);
            }
            ExprKind::NamedExpr { target, value } => {
                self.line(d, label, &format!("NamedExpr {} :=", target.name));
                self.expr(d + 1, "", value);
            }
        }
    }
}

fn alias(a: &crate::ast::Alias) -> String {
    match &a.asname {
        Some(n) => format!("{} as {}", a.name, n.name),
        None => a.name.clone(),
    }
}
