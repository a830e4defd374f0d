//! Unit tests of `vm::builtins::sort` (moved out of the crate: see main.rs).

use minivm_vm::builtins::sort::timsort;

/// Sort `keys` through `timsort` and give the resulting order of indices and the number of
/// comparisons made.
fn sort_keys(keys: &[i64]) -> (Vec<usize>, usize) {
    let mut perm: Vec<usize> = (0..keys.len()).collect();
    let mut compares = 0;
    timsort(&mut perm, &mut |i, j| {
        compares += 1;
        Ok::<_, ()>(keys[i] < keys[j])
    })
    .unwrap();
    (perm, compares)
}

fn assert_stably_sorted(keys: &[i64], perm: &[usize]) {
    let mut seen = perm.to_vec();
    seen.sort_unstable();
    assert!(seen.iter().copied().eq(0..keys.len()), "not a permutation");
    for w in perm.windows(2) {
        let (a, b) = (w[0], w[1]);
        assert!(keys[a] < keys[b] || (keys[a] == keys[b] && a < b));
    }
}

#[test]
fn stable_and_sorted() {
    // Random-ish data, few distinct values, long runs either way, and interleaved runs that
    // make the merges gallop.
    let mut x: u64 = 12345;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for n in [0usize, 1, 2, 31, 64, 65, 200, 1000, 5000] {
        let shapes: Vec<Vec<i64>> = vec![
            (0..n).map(|_| (next() % 1000) as i64).collect(),
            (0..n).map(|_| (next() % 3) as i64).collect(),
            (0..n as i64).collect(),
            (0..n as i64).rev().collect(),
            (0..n as i64)
                .map(|i| {
                    if i < n as i64 / 2 {
                        2 * i
                    } else {
                        2 * (i - n as i64 / 2) + 1
                    }
                })
                .collect(),
            (0..n as i64)
                .map(|i| (i / 100) * if (i / 100) % 2 == 0 { 1 } else { -1 })
                .collect(),
        ];
        for keys in shapes {
            let (perm, _) = sort_keys(&keys);
            assert_stably_sorted(&keys, &perm);
        }
    }
}

#[test]
fn sorted_input_takes_n_minus_one_compares() {
    let keys: Vec<i64> = (0..10_000).collect();
    let (perm, compares) = sort_keys(&keys);
    assert_stably_sorted(&keys, &perm);
    assert_eq!(compares, keys.len() - 1);
}

#[test]
fn error_stops_with_a_permutation() {
    for limit in [1, 5, 50, 500] {
        let keys: Vec<i64> = (0..300).map(|i| (i * 7919 % 301) as i64).collect();
        let mut perm: Vec<usize> = (0..keys.len()).collect();
        let mut calls = 0;
        let r = timsort(&mut perm, &mut |i, j| {
            calls += 1;
            if calls == limit {
                return Err("boom");
            }
            Ok(keys[i] < keys[j])
        });
        assert_eq!(r, Err("boom"));
        let mut seen = perm.clone();
        seen.sort_unstable();
        assert!(seen.iter().copied().eq(0..keys.len()));
    }
}
