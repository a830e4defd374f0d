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

#[test]
fn submodules_sorted_and_found() {
    use minivm_vm::stdlib::cpython_names::{is_cpython_module, SUBMODULES};
    assert!(SUBMODULES.windows(2).all(|w| w[0] < w[1]));
    assert!(is_cpython_module("http.cookies"));
    assert!(is_cpython_module("xml.dom.pulldom"));
    assert!(is_cpython_module("json"));
    assert!(!is_cpython_module("http.nosuchthing"));
    assert!(!is_cpython_module("numpy.linalg"));
}

#[test]
fn built_in_or_frozen_sorted_and_found() {
    use minivm_vm::stdlib::cpython_names::{is_built_in_or_frozen, BUILT_IN_OR_FROZEN};
    assert!(BUILT_IN_OR_FROZEN.windows(2).all(|w| w[0] < w[1]));
    assert!(is_built_in_or_frozen("time"));
    assert!(is_built_in_or_frozen("os"));
    assert!(!is_built_in_or_frozen("math"));
    assert!(!is_built_in_or_frozen("queue"));
}

#[test]
fn built_in_sorted_and_within_built_in_or_frozen() {
    use minivm_vm::stdlib::cpython_names::{is_built_in_or_frozen, is_cpython_built_in, BUILT_IN};
    assert!(BUILT_IN.windows(2).all(|w| w[0] < w[1]));
    assert!(BUILT_IN.iter().all(|n| is_built_in_or_frozen(n)));
    assert!(is_cpython_built_in("itertools"));
    assert!(!is_cpython_built_in("os"));
    assert!(!is_cpython_built_in("math"));
}
