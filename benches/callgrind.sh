#!/usr/bin/env bash
# Machine instructions per iteration of the seed's factorize loop, counted by callgrind (exact and
# repeatable, unlike wall time on a shared machine): minivm (release build), CPython (the real
# executable, not a pyenv shim) and lua5.4 when installed.
#
#   benches/callgrind.sh            # sizes 200000 and 400000
#
# Each runtime runs benches/callgrind/factor_loop.{mini,lua} at two sizes; (Ir(big) - Ir(small)) /
# (big - small) is the cost of one iteration with start-up and compilation cancelled out.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)"; exit 1; }
small=${SMALL:-200000}
big=${BIG:-400000}

cargo build --release --quiet
minivm="${CARGO_TARGET_DIR:-target}/release/minivm"
python=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true)

instructions() { # program args... -> total instructions executed
    local out
    out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >/dev/null 2>&1
    awk '/^summary:/ {print $2}' "$out"
    rm -f "$out"
}

per_iteration() { # name program source
    local a b
    a=$(instructions "$2" "$3" "$small")
    b=$(instructions "$2" "$3" "$big")
    awk -v n="$1" -v a="$a" -v b="$b" -v s="$small" -v g="$big" 'BEGIN { printf "%-8s %12d %12d %10.1f\n", n, a, b, (b - a) / (g - s) }'
}

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
printf '%-8s %12s %12s %10s\n' runtime "Ir n=$small" "Ir n=$big" "Ir/iter"
per_iteration minivm "$minivm" benches/callgrind/factor_loop.mini
[ -n "$python" ] && per_iteration python3 "$python" benches/callgrind/factor_loop.mini
command -v lua5.4 >/dev/null && per_iteration lua5.4 lua5.4 benches/callgrind/factor_loop.lua
true
