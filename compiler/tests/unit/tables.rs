//! Tests of stages 2-3 (parser, compiler).
//! The constant and name tables of a code object: each distinct constant and name appears once,
//! with Python's notion of "distinct" for constants (0.0 and -0.0, 1 and True and 1.0 differ).

use minivm_compiler::bytecode::Constant;
use minivm_compiler::{compile_source, Mode};

fn module(src: &str) -> minivm_compiler::bytecode::CodeObject {
    match compile_source(src, "t.py", Mode::File) {
        Ok(code) => (*code).clone(),
        Err(e) => panic!("does not compile: {}", e.message),
    }
}

#[test]
fn equal_constants_share_one_slot() {
    let code = module("a = 5\nb = 5\nc = 'x'\nd = 'x'\ne = (1, 2)\nf = (1, 2)\n");
    let count = |want: &Constant| code.consts.iter().filter(|c| *c == want).count();
    assert_eq!(count(&Constant::Int(5)), 1);
    assert_eq!(count(&Constant::Str("x".into())), 1);
    assert_eq!(
        count(&Constant::Tuple(vec![Constant::Int(1), Constant::Int(2)])),
        1
    );
}

#[test]
fn constants_python_tells_apart_stay_apart() {
    let code = module("a = 0.0\nb = -0.0\nc = 1\nd = True\ne = 1.0\n");
    let floats: Vec<u64> = code
        .consts
        .iter()
        .filter_map(|c| match c {
            Constant::Float(f) => Some(f.to_bits()),
            _ => None,
        })
        .collect();
    assert!(floats.contains(&0.0f64.to_bits()) && floats.contains(&(-0.0f64).to_bits()));
    assert!(code.consts.contains(&Constant::Int(1)));
    assert!(code.consts.contains(&Constant::Bool(true)));
    assert!(code.consts.contains(&Constant::Float(1.0)));
}

#[test]
fn each_name_once_in_order_of_first_use() {
    let code = module("x = 1\ny = x\nx = y\nprint(x, y)\n");
    assert_eq!(code.names, vec!["x", "y", "print"]);
}

#[test]
fn many_distinct_constants_and_names() {
    // 20,000 distinct names and constants: each gets its own slot, in order.
    let src: String = (0..20_000).map(|i| format!("v{i} = {i}\n")).collect();
    let code = module(&src);
    assert_eq!(code.names.len(), 20_000);
    assert_eq!(code.names[19_999], "v19999");
    assert!(code.consts.contains(&Constant::Int(19_999)));
}
