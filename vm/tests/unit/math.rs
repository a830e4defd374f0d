//! Unit tests of `vm::stdlib::math` (moved out of the crate: see main.rs).

use minivm_vm::stdlib::math::exact_sum;

#[test]
fn fsum_exact() {
    assert_eq!(exact_sum(vec![0.1; 10]).ok(), Some(1.0));
    assert_eq!(
        exact_sum(vec![1e100, 1.0, -1e100, 1e-100, 1e50, -1.0, -1e50]).ok(),
        Some(1e-100)
    );
    assert!(exact_sum(vec![1e308, 1e308]).is_err());
}
