//! Stage 2 tests: parser output shapes, precedence, error messages and positions, deep nesting.
