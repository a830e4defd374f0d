//! Stage 4 of the minivm pipeline: the stack VM.
