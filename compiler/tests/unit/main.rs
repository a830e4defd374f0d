//! The compiler crate's tests (stages 2 and 3), one integration-test binary over its public API:
//! the parser (`parser.rs`), code generation from hand-built trees (`compile.rs`), compile errors
//! (`errors.rs`), constant and name tables (`tables.rs`), golden disassemblies (`golden.rs`),
//! the opcode table (`opcodes.rs`) and every program of the repository (`corpus.rs`).
//!
//! One binary, not `#[cfg(test)]` modules in `src/` or one binary per file: `cargo test --release`
//! (README) builds test code with the release profile, so a unit-test module compiles the crate a
//! second time, optimised, and each extra binary is one more optimised compile and link.

mod compile;
mod corpus;
mod errors;
mod golden;
mod opcodes;
mod parser;
mod serialize;
mod tables;
