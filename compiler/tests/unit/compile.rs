//! Stage 3b unit tests: compile hand-built (including malformed) ASTs; errors, never panics.

use minivm_compiler::ast::*;
use minivm_compiler::bytecode::Op;
use minivm_compiler::compile::{compile_module, Mode};

fn e(kind: ExprKind) -> Expr {
    Expr {
        kind,
        span: Span::default(),
        outer: Span::default(),
    }
}

fn name(n: &str) -> Expr {
    e(ExprKind::Name(n.to_string()))
}

fn stmt(kind: StmtKind) -> Stmt {
    Stmt {
        kind,
        span: Span::default(),
    }
}

fn compile(body: Vec<Stmt>) -> Result<Vec<Op>, String> {
    compile_module(&Module { body }, "t.py", "", Mode::File)
        .map(|c| c.code.clone())
        .map_err(|e| e.message)
}

#[test]
fn malformed_asts_are_errors() {
    let empty_bool = e(ExprKind::BoolOp {
        op: BoolOp::And,
        values: vec![],
    });
    assert!(compile(vec![stmt(StmtKind::Expr(empty_bool))]).is_err());

    let bad_compare = e(ExprKind::Compare {
        left: Box::new(name("a")),
        ops: vec![CmpOp::Lt, CmpOp::Gt],
        comparators: vec![name("b")],
    });
    assert!(compile(vec![stmt(StmtKind::Expr(bad_compare))]).is_err());

    let no_gens = e(ExprKind::ListComp {
        elt: Box::new(name("x")),
        generators: vec![],
    });
    assert!(compile(vec![stmt(StmtKind::Expr(no_gens))]).is_err());

    let starred = e(ExprKind::Starred(Box::new(name("x"))));
    assert!(compile(vec![stmt(StmtKind::Expr(starred))]).is_err());

    let call = e(ExprKind::Call {
        func: Box::new(name("f")),
        args: vec![],
        keywords: vec![],
    });
    let assign = StmtKind::Assign {
        targets: vec![call],
        value: name("x"),
    };
    assert_eq!(
        compile(vec![stmt(assign)]).unwrap_err(),
        "cannot assign to function call"
    );

    let raise_cause_only = StmtKind::Raise {
        exc: None,
        cause: Some(name("x")),
    };
    assert!(compile(vec![stmt(raise_cause_only)]).is_err());
}

#[test]
fn simple_module_ends_with_return() {
    let code = compile(vec![stmt(StmtKind::Assign {
        targets: vec![name("x")],
        value: e(ExprKind::Const(Const::Int(1))),
    })])
    .unwrap();
    assert!(matches!(
        code.as_slice(),
        [Op::LoadConst(_), Op::StoreGlobal(_), Op::ReturnConst(_)]
    ));
}
