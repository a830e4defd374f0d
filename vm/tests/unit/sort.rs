//! Unit tests of `vm::builtins::sort` (moved out of the crate: see main.rs).

use minivm_vm::builtins::sort::merge_sort_by;

#[test]
fn stable_and_sorted() {
    let mut v: Vec<(i32, usize)> = (0..200).map(|i| ((i * 37 % 11) as i32, i)).collect();
    merge_sort_by(&mut v, &mut |a: &(i32, usize), b: &(i32, usize)| {
        Ok::<_, ()>(a.0 < b.0)
    })
    .unwrap();
    for w in v.windows(2) {
        assert!(w[0].0 < w[1].0 || (w[0].0 == w[1].0 && w[0].1 < w[1].1));
    }
}

#[test]
fn error_stops() {
    let mut v = vec![3, 1, 2];
    let r = merge_sort_by(&mut v, &mut |_: &i32, _: &i32| Err::<bool, &str>("boom"));
    assert_eq!(r, Err("boom"));
}
