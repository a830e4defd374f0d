//! Unit tests of `vm::stdlib::cpython_names` (moved out of the crate: see main.rs).

#[test]
fn sorted_and_found() {
    assert!(minivm_vm::stdlib::cpython_names::NAMES
        .windows(2)
        .all(|w| w[0] < w[1]));
    assert!(minivm_vm::stdlib::cpython_names::is_cpython_stdlib("json"));
    assert!(minivm_vm::stdlib::cpython_names::is_cpython_stdlib(
        "_thread"
    ));
    assert!(!minivm_vm::stdlib::cpython_names::is_cpython_stdlib(
        "numpy"
    ));
}
