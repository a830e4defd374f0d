//! Stage 3b unit tests: compile hand-built ASTs and check the bytecode.
