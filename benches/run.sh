#!/usr/bin/env bash
# Benchmarks: minivm (release build) vs python3 (and lua5.4 when installed).
#
#   benches/run.sh                 # all programs, best of 5
#   benches/run.sh --runs 10 calls # only programs whose path contains "calls", best of 10
#   benches/run.sh threads         # only the threads table (factorize and blocking I/O in threads)
#   benches/run.sh processes       # only the processes table (factorize in a Pool(2))
#   benches/run.sh --gil-off       # adds a column: minivm --gil off, and its time over the default's
#   benches/run.sh --rt threads    # timed processes at real-time priority (root): on a machine busy
#                                  # with other work, times close to an idle machine's
#
# Same as `cargo bench --profile release --bench compare -- ARGS`: cargo builds minivm with the
# release profile first (the build `cargo run --release` makes; the `bench` profile inherits it
# unchanged), then benches/compare.rs times each whole process. The harness refuses to run from
# an unoptimised build.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --profile release --bench compare -- "$@"
