#!/bin/sh
# Regenerate the timelines in docs/img/ that docs/TUTORIAL.md shows, and print the --stats tables
# and program outputs the tutorial quotes. Run from anywhere: scripts/make_tutorial_images.sh
# Timings depend on the machine (and on what else it is doing); the shapes should not.
set -eu
cd "$(dirname "$0")/.."
cargo build --release --quiet
MINIVM="${CARGO_TARGET_DIR:-target}/release/minivm"
OUT=docs/img
mkdir -p "$OUT"

run() { # run NAME ARGS...: timeline to $OUT/NAME.svg, stats table and output to the terminal
    name=$1
    shift
    echo "== minivm $*  ->  $OUT/$name.svg"
    "$MINIVM" --stats --timeline "$OUT/$name.svg" "$@"
}

run factorize examples/factorize.mini
run factorize_threads examples/factorize_threads.mini
run factorize_threads_gil_off --gil off examples/factorize_threads.mini
run factorize_threads_gil_old --gil old examples/factorize_threads.mini
if [ -f examples/blocking_io.mini ]; then
    run blocking_io examples/blocking_io.mini
fi
if [ -f examples/race.mini ]; then
    run race --switch-interval 0.0001 examples/race.mini
fi
run convoy_gil_on examples/convoy.mini
run convoy_gil_old --gil old examples/convoy.mini
run convoy_gil_off --gil off examples/convoy.mini
echo "== python3 examples/convoy.mini"
python3 examples/convoy.mini || true
