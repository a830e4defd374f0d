//! Unit tests of `vm::builtins::text` (moved out of the crate: see main.rs).

use minivm_vm::builtins::text::*;

#[test]
fn splits() {
    assert_eq!(split_whitespace("  a  b  c  ", 1), vec!["a", "b  c  "]);
    assert_eq!(rsplit_whitespace("  a  b  c  ", 1), vec!["  a  b", "c"]);
    assert_eq!(split_whitespace("  a b ", 0), vec!["a b "]);
    assert_eq!(rsplit_whitespace("  a b ", 0), vec!["  a b"]);
    assert!(split_whitespace("   ", -1).is_empty());
    assert_eq!(split_sep("a,b,,c", ",", 2), vec!["a", "b", ",c"]);
    assert_eq!(rsplit_sep("a,b,,c", ",", 2), vec!["a,b", "", "c"]);
    assert_eq!(split_sep("", ",", -1), vec![""]);
}

#[test]
fn lines() {
    assert_eq!(
        splitlines("a\r\nb\rc\n\nd", false),
        vec!["a", "b", "c", "", "d"]
    );
    assert_eq!(splitlines("a\r\nb\n", true), vec!["a\r\n", "b\n"]);
}

#[test]
fn misc() {
    assert_eq!(replace("abc", "", "-", -1), "-a-b-c-");
    assert_eq!(replace("abc", "", "-", 2), "-a-bc");
    assert_eq!(center_pad(1, 4), (1, 2));
    assert_eq!(center_pad(2, 5), (2, 1));
    assert_eq!(title("they're bill's"), "They'Re Bill'S");
    assert_eq!(expandtabs("a\tbc\td", 8), "a       bc      d");
    assert_eq!(adjust_indices(Some(-1), None, 3), (2, 3));
}
