//! The lexer crate's tests (stage 1), one integration-test binary over its public API: tokens,
//! layout and errors (`tokens.rs`), reading a file (`source.rs`). Not `#[cfg(test)]` modules in
//! `src/`, which would compile the crate a second time for `cargo test` (see
//! `compiler/tests/unit/main.rs`).

mod source;
mod tokens;
