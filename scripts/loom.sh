#!/usr/bin/env bash
# Model-check the heap's reference-counting protocol with loom (vm/src/heap/loom_tests.rs): every
# interleaving of two threads cloning and dropping one object, in both memory models, and the
# lost update that plain counts suffer without the GIL. Builds the VM with `--cfg loom` in its
# own target directory (a few minutes the first time).
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTFLAGS="${RUSTFLAGS:-} --cfg loom"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/loom"
# One test at a time: each model picks the memory model with `set_model`, a process-wide
# setting, so tests running in parallel would flip it under each other (loom then reports "Is
# the model fully deterministic?"). Extra arguments go to the test binary.
exec cargo test -p minivm-vm --lib --release heap::loom_tests -- --test-threads=1 "$@"
