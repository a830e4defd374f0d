//! Unit tests of `vm::stdlib::random` (moved out of the crate: see main.rs).

use minivm_vm::stdlib::random::*;

#[test]
fn first_outputs_match_cpython() {
    // python3: r = random.Random(5489 ...); checked values of random.Random(n).random()
    let mut mt = Mt::from_key(&key_of_u64(0));
    assert_eq!(mt.next_f64(), 0.8444218515250481);
    let mut mt = Mt::from_key(&key_of_u64(42));
    assert_eq!(mt.next_f64(), 0.6394267984578837);
}

#[test]
fn byte_keys() {
    assert_eq!(
        key_of_be_bytes(&[0, 0, 1, 2, 3, 4, 5]),
        vec![0x02030405, 0x01]
    );
    assert_eq!(key_of_be_bytes(&[0, 0, 0, 0, 0]), vec![0]);
}
