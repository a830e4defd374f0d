#!/usr/bin/env bash
# Build minivm with ThreadSanitizer and run the threaded programs (tests/scripts/threads, the
# cycle collector's tests, tests/stress and the examples that start threads) in all three GIL modes; any data race TSan reports fails the run.
#
#   scripts/tsan.sh                 # needs: rustup toolchain install nightly --profile minimal
#                                   #        rustup +nightly component add rust-src
#   scripts/tsan.sh stress queue    # only the programs whose path contains one of the words
#   TSAN_NO_BUILD=1 scripts/tsan.sh # run the binary built last time (a change to vm/lib/ would
#                                   # rebuild the vm crate: the library is embedded)
#   TSAN_MODES="off" scripts/tsan.sh  # only these GIL modes (default: on off old)
#
# The build (std rebuilt with -Zbuild-std, dev profile) takes a few minutes on 2 cores and goes
# to its own target directory.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-gnu
export CARGO_TARGET_DIR="${TSAN_TARGET_DIR:-${CARGO_TARGET_DIR:-target}-tsan}"
# Without the `mimalloc` feature: TSan intercepts the system allocator only, and would take
# memory that mimalloc hands out again for a race between its old and new owners.
if [ -z "${TSAN_NO_BUILD:-}" ]; then
    RUSTFLAGS="-Zsanitizer=thread" cargo +nightly build -Zbuild-std --target "$target" --bin minivm \
        --no-default-features
fi
# Absolute, since each program runs from its own directory (the target dir may be relative).
bin="$(realpath "$CARGO_TARGET_DIR/$target/debug/minivm")"
# die_after_fork=0: a multiprocessing child forked from a threaded parent starts threads, which
# TSan refuses by default ("starting new threads after multi-threaded fork is not supported"),
# killing the child; the run then failed with that message counted as a race.
# report_thread_leaks=0: daemon threads are left running at exit by design (as CPython's), and
# one stopped between creating a thread and detaching it leaves a "thread leak" (not a race).
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1 exitcode=66 die_after_fork=0 report_thread_leaks=0}"
programs=$(ls tests/scripts/threads/*.mini tests/scripts/gc/*.mini tests/stress/*.mini 2>/dev/null; grep -l 'import threading\|from threading' examples/*.mini)
if [ $# -gt 0 ]; then
    programs=$(for p in $programs; do for w in "$@"; do
        case "$p" in *"$w"*) echo "$p"; break;; esac; done; done)
fi
fail=0
for p in $programs; do
    for mode in ${TSAN_MODES:-on off old}; do
        out=$(mktemp)
        # Programs read sibling files relative to themselves; the echo server waits on a port.
        if ! (cd "$(dirname "$p")" && timeout 300 "$bin" --gil "$mode" "$(basename "$p")" \
            >/dev/null 2>"$out" </dev/null); then
            if grep -q 'ThreadSanitizer' "$out"; then
                # A crash report ('ERROR: ThreadSanitizer: SEGV') has no WARNING line: the grep
                # finding nothing must not end the run (set -e).
                echo "RACE  --gil $mode $p"
                grep -m5 -A8 'WARNING: ThreadSanitizer\|ERROR: ThreadSanitizer' "$out" || true
                fail=1
            else
                echo "exit  --gil $mode $p (no race reported; its last lines of stderr:)"
                tail -n 8 "$out" | sed 's/^/      /'
            fi
        else
            echo "ok    --gil $mode $p"
        fi
        rm -f "$out"
    done
done
exit $fail
