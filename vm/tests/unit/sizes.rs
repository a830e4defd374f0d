//! Tests of stage 4 (VM).
//! The size of a `Value` (moved out of the crate: see main.rs): two machine words, so that the
//! operand stack and containers stay compact. A variant that grows it shows here first.

#[test]
fn value_is_two_words() {
    assert_eq!(std::mem::size_of::<minivm_vm::Value>(), 16);
    // For whoever changes the instruction set or the error type: the sizes that go with it.
    eprintln!(
        "Op = {}",
        std::mem::size_of::<minivm_compiler::bytecode::Op>()
    );
    eprintln!(
        "Result<Value> = {}",
        std::mem::size_of::<minivm_vm::PyResult<minivm_vm::Value>>()
    );
}
