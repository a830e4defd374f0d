#!/usr/bin/env bash
# Run the heap's tests (vm/tests/heap.rs and vm/tests/heap_swap.rs, integration tests over the VM
# crate's public API) under Miri, which checks the `unsafe` code of vm/src/heap/ for undefined behaviour and the
# threaded tests for data races.
#
#   scripts/miri.sh                 # needs: rustup toolchain install nightly --profile minimal
#                                   #        rustup +nightly component add miri rust-src
#
# A separate target directory keeps Miri's build apart from the normal one.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${MIRI_TARGET_DIR:-${CARGO_TARGET_DIR:-target}-miri}"
# Miri cannot call the OS functions some other tests use; the heap tests need none.
export MIRIFLAGS="${MIRIFLAGS:--Zmiri-strict-provenance}"
# With the `mimalloc` feature the tests install the heap's allocator (`heap/alloc.rs`) as their
# global allocator; under Miri it calls Rust stand-ins for mimalloc's C functions.
exec cargo +nightly miri test -p minivm-vm --features mimalloc --test heap --test heap_swap "$@"
