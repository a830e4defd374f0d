//! Unit tests of `vm::interp::suggest` (moved out of the crate: see main.rs).

use minivm_vm::interp::suggest::{best_match, levenshtein};

#[test]
fn distances_follow_cpython_costs() {
    assert_eq!(levenshtein(b"abc", b"abc", 10), 0);
    assert_eq!(levenshtein(b"abc", b"abd", 10), 2);
    assert_eq!(levenshtein(b"abc", b"aBc", 10), 1);
    assert_eq!(levenshtein(b"abc", b"abcd", 10), 2);
    assert_eq!(levenshtein(b"kitten", b"sitting", 100), 6);
    assert!(levenshtein(b"a", b"abcdefgh", 3) > 3);
}

#[test]
fn best_match_picks_the_first_closest() {
    assert_eq!(best_match("apend", &["append", "extend"]), Some("append"));
    assert_eq!(best_match("Print", &["print", "input"]), Some("print"));
    assert_eq!(best_match("x", &["y"]), None);
    assert_eq!(best_match("same", &["same"]), None);
    let many: Vec<String> = (0..750).map(|i| format!("n{i}")).collect();
    let refs: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
    assert_eq!(best_match("n1", &refs), None);
}
