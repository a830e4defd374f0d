#!/usr/bin/env bash
# Benchmarks: minivm (release build) vs python3 (and lua5.4 when installed).
#
#   benches/run.sh                 # all programs, best of 5
#   benches/run.sh --runs 10 calls # only programs whose path contains "calls", best of 10
#
# Same as `cargo bench --bench compare -- ARGS`: cargo builds minivm with the release
# profile first, then benches/compare.rs times each whole process.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench compare -- "$@"
