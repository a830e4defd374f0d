#!/usr/bin/env bash
# Regenerate every tests/scripts/**/*.out with CPython (the oracle).
#
#   tests/regen.sh              # all programs
#   tests/regen.sh strings/     # only programs whose path contains "strings/"
#
# Programs marked `# minivm-test: no-python` are skipped (their .out comes from
# `UPDATE_GOLDEN=1 cargo test --test scripts`, reviewed by hand). Each program runs
# from its own directory with its `args=` / `stdin=` directives, like the harness does.
# Error goldens (tests/errors/*.stderr, *.code) are NOT touched: see tests/README.md.
set -euo pipefail

PYTHON="${PYTHON:-python3}"
cd "$(dirname "$0")/scripts"
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), "need python >= 3.11"'

filter="${1:-}"
count=0
fail=0
while IFS= read -r -d '' prog; do
    rel="${prog#./}"
    [[ -n "$filter" && "$rel" != *"$filter"* ]] && continue
    header="$(awk '/^[ \t]*(#|$)/ {print; next} {exit}' "$prog")"
    if grep -q '^# minivm-test: no-python$' <<<"$header"; then
        echo "skip (no-python): $rel"
        continue
    fi
    args="$(sed -n 's/^# minivm-test: args=//p' <<<"$header" | head -n1)"
    stdin="$(sed -n 's/^# minivm-test: stdin=//p' <<<"$header" | head -n1)"
    want_exit="$(sed -n 's/^# minivm-test: exit=//p' <<<"$header" | head -n1)"
    # As the harness runs it: `python3 -S` (no site import) unless the program asks for site.
    site_flag=-S
    grep -q '^# minivm-test: python-site$' <<<"$header" && site_flag=
    dir="$(dirname "$rel")"
    base="$(basename "$rel" .mini)"
    set +e
    # shellcheck disable=SC2086 # args are whitespace-separated on purpose
    (cd "$dir" && printf '%b' "$stdin" | PYTHONHASHSEED=0 PYTHONIOENCODING=utf-8 \
        timeout 60 "$PYTHON" $site_flag "$base.mini" $args >"$base.out.tmp")
    code=$?
    set -e
    if [[ "$code" != "${want_exit:-0}" ]]; then
        echo "FAIL: $rel exited with $code (expected ${want_exit:-0}); .out not updated" >&2
        rm -f "$dir/$base.out.tmp"
        fail=$((fail + 1))
        continue
    fi
    mv "$dir/$base.out.tmp" "$dir/$base.out"
    count=$((count + 1))
done < <(find . -name '*.mini' -print0 | sort -z)

echo "regenerated $count .out files; $fail failed"
[[ "$fail" == 0 ]]
