#!/usr/bin/env bash
# Benchmarks: minivm (release build) vs python3 (and lua5.4 when installed).
#
#   benches/run.sh                 # all programs, best of 5
#   benches/run.sh --runs 10 calls # only programs whose path contains "calls", best of 10
#
# Same as `cargo bench --profile release --bench compare -- ARGS`: cargo builds minivm with the
# release profile first, then benches/compare.rs times each whole process. A plain `cargo bench`
# would use the `bench` profile, which Cargo.toml leaves unoptimised to keep `cargo test --release`
# quick; the harness refuses to run from such a build.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --profile release --bench compare -- "$@"
