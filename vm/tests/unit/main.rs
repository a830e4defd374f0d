//! Unit tests of the VM crate's building blocks (numbers, text helpers, sorting, name
//! suggestions, the random generator, child-process reports, the embedded library's table).
//!
//! They live here, as one integration-test binary over the crate's public API, rather than in
//! `#[cfg(test)]` modules inside `vm/src`: a unit-test module makes `cargo test` compile the whole
//! 40,000-line crate a second time (in test mode, unoptimised), which was about a minute of the
//! README's test command on 2 cores; this binary links the release build that `cargo run
//! --release` already made.
//!
//! The heap's tests are the other binary, `vm/tests/heap.rs` (they change the process-wide memory
//! model); the loom models stay in the crate (`vm/src/heap/loom_tests.rs`, built only with
//! `--cfg loom` by `scripts/loom.sh`). So the crate has no unit tests left, and `vm/Cargo.toml`
//! says `test = false`: `cargo test` builds no test-mode copy of it.

mod children;
mod cpython_names;
mod fork_threads;
mod math;
mod minilib;
mod no_unit_tests;
mod num;
mod random;
mod scrypt;
mod sha512;
mod sizes;
mod sort;
mod suggest;
mod text;
