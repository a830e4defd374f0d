//! Stage 3a: scope analysis, deciding for every name whether it is local, global, cell or free.
