//! Unit tests of the VM crate's building blocks (numbers, text helpers, sorting, name
//! suggestions, the random generator, child-process reports, the embedded library's table).
//!
//! They live here, as one integration-test binary over the crate's public API, rather than in
//! `#[cfg(test)]` modules inside `vm/src`: a unit-test module makes `cargo test` compile the whole
//! 40,000-line crate a second time (in test mode, unoptimised), which was about a minute of the
//! README's test command on 2 cores; this binary links the release build that `cargo run
//! --release` already made.
//!
//! Not finished: the heap's tests (`vm/src/heap/tests.rs`, also run under Miri) and the size check
//! in `lib.rs` are still unit tests, so the second compile remains until they move here too. They
//! implement `Trace` for foreign types (which the orphan rule forbids outside the crate) and call
//! a test-only function, so they first need local newtypes and a public test hook.

mod children;
mod cpython_names;
mod math;
mod minilib;
mod num;
mod random;
mod sha512;
mod sort;
mod suggest;
mod text;
