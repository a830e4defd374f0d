//! Stage 3 (compiler): the warnings CPython issues while it compiles a source, collected per
//! thread while the source compiles; whoever compiled it takes them ([`take_warnings`]) and
//! issues them through the `warnings` module at the file and line they name, as CPython does.
//!
//! Three stages find them, as in CPython. The tokenizer: a number run into a keyword (`1if x
//! else 2`, `0x1for`: `SyntaxWarning: invalid decimal literal`). The parser, decoding string
//! literals: an escape Python does not know (`"\d"`: `DeprecationWarning: invalid escape
//! sequence '\d'`, once per literal, or `invalid octal escape sequence '\777'` past `\377`).
//! And the compiler proper (this file's checks): code that compiles but is almost surely a
//! mistake: `x is 1` ("is" with a literal), `(1, 2) (3, 4)` (a literal called: a missing
//! comma), `None[0]`, `"abc"["x"]`, `assert (x, "msg")` (always true).

use std::cell::RefCell;

use crate::ast::{CmpOp, Const, Expr, ExprKind, UnaryOp};
use crate::{ErrorEnd, LineIndex, Span, SyntaxError};

/// Which stage found a warning: it decides what happens when a filter turns it into an error
/// (see `Interp::issue_compile_warnings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningStage {
    /// CPython's tokenizer: the error is raised at once; CPython's tokenizer also reads the whole
    /// file after a parser error, so its warnings come from everywhere in the source.
    Tokenizer,
    /// CPython's parser (string literals): the parse fails, but the tokenizer reads on, and an
    /// error of its own replaces this one.
    Parser,
    /// The compiler: the error's line is read from the file named (none for `<string>`).
    Compiler,
}

/// One compile-time warning: its category (`SyntaxWarning` or `DeprecationWarning`), line and
/// message, and the `SyntaxError` that takes its place when a filter turns it into an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileWarning {
    pub category: &'static str,
    pub line: u32,
    pub message: String,
    pub error: SyntaxError,
    pub stage: WarningStage,
    /// Where in the source it was found (the escape's backslash, the number's end): the order
    /// the warnings are issued in, and one warning per place, however often the parser reads it.
    pub at: u32,
}

impl CompileWarning {
    /// A warning of the tokenizer or the parser; its line is set by [`finish_front_end`].
    pub(crate) fn front_end(
        category: &'static str,
        message: String,
        error: SyntaxError,
        stage: WarningStage,
        at: usize,
    ) -> CompileWarning {
        CompileWarning {
            category,
            line: 0,
            message,
            error,
            stage,
            at: at as u32,
        }
    }
}

thread_local! {
    static WARNINGS: RefCell<Vec<CompileWarning>> = const { RefCell::new(Vec::new()) };
}

/// Forget the warnings of an earlier compilation whose compiler did not take them.
pub(crate) fn clear() {
    WARNINGS.with(|w| w.borrow_mut().clear());
}

/// The warnings of the source this thread compiled last, in the order they were found (the
/// tokenizer's and parser's in source order, then the compiler's). A compilation that failed
/// keeps the ones found before it failed: CPython shows them before the error.
pub fn take_warnings() -> Vec<CompileWarning> {
    WARNINGS.with(|w| std::mem::take(&mut *w.borrow_mut()))
}

/// Keep the tokenizer's and the parser's warnings (from [`finish_front_end`]) for
/// [`take_warnings`].
pub(crate) fn record(warnings: Vec<CompileWarning>) {
    WARNINGS.with(|w| w.borrow_mut().extend(warnings));
}

/// The front end's warnings in source order, each place once (the parser may read a literal
/// again after backtracking), with their lines.
pub(crate) fn finish_front_end(src: &str, warnings: &mut Vec<CompileWarning>) {
    if warnings.is_empty() {
        return;
    }
    warnings.sort_by_key(|w| w.at);
    warnings.dedup_by_key(|w| w.at);
    let index = LineIndex::new(src);
    for w in warnings.iter_mut() {
        w.line = index.line(w.error.span.start);
    }
}

/// Record a compiler warning (each time the node compiles: a `finally` body compiled twice
/// warns twice, as in CPython). `span` is the code it is about, where the `SyntaxError` points
/// when a filter turns it into an error.
fn warn(line: u32, span: Span, message: String) {
    WARNINGS.with(|w| {
        w.borrow_mut().push(CompileWarning {
            category: "SyntaxWarning",
            line,
            error: SyntaxError::syntax(message.clone(), span),
            message,
            stage: WarningStage::Compiler,
            at: span.start,
        })
    });
}

/// A number directly followed by a letter (`1if`, `0x1for`, `1.5else`, `1jor`): the lexer
/// accepts that only before the keywords that may follow a number in valid code, which CPython
/// 3.11's tokenizer warns about ("invalid decimal literal"), naming the kind of literal. As a
/// `SyntaxError` it points at the number's last character, as the tokenizer's errors do. `field`
/// is the f-string replacement field the tokens were read from, if any.
pub(crate) fn check_numbers(
    src: &str,
    toks: &[minivm_lexer::Tok],
    field: Option<Span>,
    out: &mut Vec<CompileWarning>,
) {
    use minivm_lexer::Token;
    for pair in toks.windows(2) {
        let [number, next] = pair else { continue };
        if !matches!(
            number.kind,
            Token::Int(_) | Token::BigInt(_) | Token::Float(_) | Token::Imaginary(_)
        ) || next.span.start != number.span.end
        {
            continue;
        }
        let after = src.get(next.span.start as usize..).unwrap_or("");
        if !after.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        let text = src
            .get(number.span.start as usize..number.span.end as usize)
            .unwrap_or("");
        let prefix = text.get(..2).unwrap_or("").to_ascii_lowercase();
        let kind = match prefix.as_str() {
            "0x" => "hexadecimal",
            "0o" => "octal",
            "0b" => "binary",
            _ if text.ends_with(['j', 'J']) => "imaginary",
            _ => "decimal",
        };
        let message = format!("invalid {kind} literal");
        let last = number.span.end.saturating_sub(1) as usize;
        let mut error = SyntaxError::syntax(message.clone(), Span::new(last, last + 1))
            .with_end(ErrorEnd::Point);
        error.fstring_expr = field;
        out.push(CompileWarning::front_end(
            "SyntaxWarning",
            message,
            error,
            WarningStage::Tokenizer,
            number.span.end as usize,
        ));
    }
}

/// CPython's `check_compare`: the first `is`/`is not` in a comparison chain with a literal
/// (a constant other than None, True, False and Ellipsis, after constant folding: `4 is 2 ** 2`,
/// `x is ()`) on either side warns.
pub(crate) fn check_compare(
    line: u32,
    span: Span,
    left: &Expr,
    ops: &[CmpOp],
    comparators: &[Expr],
) {
    let mut left = left;
    for (op, right) in ops.iter().zip(comparators) {
        let message = match op {
            CmpOp::Is => "\"is\" with a literal. Did you mean \"==\"?",
            CmpOp::IsNot => "\"is not\" with a literal. Did you mean \"!=\"?",
            _ => {
                left = right;
                continue;
            }
        };
        if is_literal(left) || is_literal(right) {
            warn(line, span, message.to_string());
            return;
        }
        left = right;
    }
}

/// Whether `e` folds to a constant that `is` should not compare with.
fn is_literal(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Const(Const::None | Const::Bool(_) | Const::Ellipsis) => false,
        ExprKind::UnaryOp {
            op: UnaryOp::Not, ..
        } => false,
        _ => folds(e),
    }
}

/// Whether CPython's AST optimizer makes `e` a constant: a literal, an operator applied to
/// constants, a tuple of constants.
fn folds(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Const(_) => true,
        ExprKind::UnaryOp { operand, .. } => folds(operand),
        ExprKind::BinOp { left, right, .. } => folds(left) && folds(right),
        ExprKind::Tuple(items) => items.iter().all(folds),
        _ => false,
    }
}

/// CPython's `infer_type`: the type of the object a literal or display makes (after constant
/// folding of unary operators on numbers), if the expression is one.
fn infer_type(e: &Expr) -> Option<&'static str> {
    Some(match &e.kind {
        ExprKind::Tuple(_) => "tuple",
        ExprKind::List(_) | ExprKind::ListComp { .. } => "list",
        ExprKind::Dict(_) | ExprKind::DictComp { .. } => "dict",
        ExprKind::Set(_) | ExprKind::SetComp { .. } => "set",
        ExprKind::GeneratorExp { .. } => "generator",
        ExprKind::Lambda { .. } => "function",
        ExprKind::FString(_) => "str",
        _ => return const_type(e),
    })
}

/// The type of the constant `e` folds to: a literal, or a unary operator applied to one.
fn const_type(e: &Expr) -> Option<&'static str> {
    match &e.kind {
        ExprKind::Const(c) => Some(match c {
            Const::None => "NoneType",
            Const::Bool(_) => "bool",
            Const::Int(_) | Const::BigInt(_) => "int",
            Const::Float(_) => "float",
            Const::Imag(_) => "complex",
            Const::Str(_) => "str",
            Const::Bytes(_) => "bytes",
            Const::Ellipsis => "ellipsis",
        }),
        ExprKind::UnaryOp { op, operand } => {
            let t = const_type(operand)?;
            match (op, t) {
                (UnaryOp::Not, _) => Some("bool"),
                // `-True` and `~True` are ints; `-"x"` does not fold.
                (_, "bool") => Some("int"),
                (UnaryOp::Invert, "int") => Some("int"),
                (UnaryOp::Invert, _) => None,
                (_, "int" | "float" | "complex") => Some(t),
                _ => None,
            }
        }
        _ => None,
    }
}

/// CPython's `compiler_assert`: `assert (x, "message")` tests a non-empty tuple, which is always
/// true (the parentheses made the message part of the test). It warns even under `-O`, where
/// the assert itself compiles to nothing; the warning points at the whole statement.
pub(crate) fn check_assert(line: u32, span: Span, test: &Expr) {
    if matches!(&test.kind, ExprKind::Tuple(items) if !items.is_empty()) {
        warn(
            line,
            span,
            "assertion is always true, perhaps remove parentheses?".to_string(),
        );
    }
}

/// CPython's `check_caller`: calling a literal or a display (`[(1, 2) (3, 4)]`).
pub(crate) fn check_caller(line: u32, span: Span, func: &Expr) {
    // (A lambda is callable: its type is the only one inferred here that is.)
    if let Some(t) = infer_type(func).filter(|t| *t != "function") {
        warn(
            line,
            span,
            format!("'{t}' object is not callable; perhaps you missed a comma?"),
        );
    }
}

/// CPython's `check_subscripter` and `check_index`, for `value[index]` read: subscripting a
/// literal that cannot be (`None[0]`, `{1}[0]`), or indexing a str, bytes, tuple or list
/// display with an index of the wrong type (`"abc"["x"]`, `[1, 2][1.5]`).
pub(crate) fn check_subscript(line: u32, span: Span, value: &Expr, index: &Expr) {
    let value_type = infer_type(value);
    let unsubscriptable = match &value.kind {
        ExprKind::Set(_)
        | ExprKind::SetComp { .. }
        | ExprKind::GeneratorExp { .. }
        | ExprKind::Lambda { .. } => true,
        _ => matches!(
            const_type(value),
            Some("NoneType" | "ellipsis" | "int" | "bool" | "float" | "complex")
        ),
    };
    if let (true, Some(t)) = (unsubscriptable, value_type) {
        warn(
            line,
            span,
            format!("'{t}' object is not subscriptable; perhaps you missed a comma?"),
        );
        return;
    }
    let Some(index_type) = infer_type(index) else {
        return;
    };
    if matches!(index_type, "int" | "bool") {
        return;
    }
    let indexable = match &value.kind {
        ExprKind::Tuple(_)
        | ExprKind::List(_)
        | ExprKind::ListComp { .. }
        | ExprKind::FString(_) => true,
        _ => matches!(const_type(value), Some("str" | "bytes")),
    };
    if let (true, Some(t)) = (indexable, value_type) {
        warn(
            line,
            span,
            format!(
                "{t} indices must be integers or slices, not {index_type}; perhaps you missed a comma?"
            ),
        );
    }
}
