#!/usr/bin/env bash
# Model-check the heap's reference-counting protocol with loom (vm/src/heap/loom_tests.rs): every
# interleaving of two threads cloning and dropping one object, in both memory models, and the
# lost update that plain counts suffer without the GIL; the seqlock of the cached-answer slots
# (heap/stamped.rs) and what an object cell publishes to readers without its lock (heap::Publish).
# MINIVM_LOOM_BREAK=STEP leaves out one step of those protocols, to see a model fail (the steps:
# heap/mod.rs, `broken`). Builds the VM with `--cfg loom` in its own target directory (12 minutes
# the first time at load 14); the 11 models then ran in 182 s (2026-12-07, load 14).
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTFLAGS="${RUSTFLAGS:-} --cfg loom"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/loom"
# One test at a time: each model picks the memory model with `set_model`, a process-wide
# setting, so tests running in parallel would flip it under each other (loom then reports "Is
# the model fully deterministic?"). Extra arguments go to the test binary.
exec cargo test -p minivm-vm --lib --release heap::loom_tests -- --test-threads=1 "$@"
