#!/usr/bin/env python3
"""Guard for the project's rule that library code is written here, in our own words: for each
`vm/lib/**/*.mini`, the share of its long lines (over 25 characters, comments left out) that
also occur in CPython's same-named `Lib/*.py` of the python3 running this script.

    python3 scripts/copycheck.py            # files above 15%, highest first
    python3 scripts/copycheck.py --all      # every file with a CPython namesake

A high share means the file follows CPython's text and must be rewritten from the documented
behaviour. Some sharing is expected and fine: public signatures, error messages (they are
behaviour: minivm prints what CPython prints), constants, one-line delegations. Lowering the
number by renaming or re-wrapping lines defeats the purpose; only new code counts.
"""
import os
import sys
import sysconfig

STDLIB = sysconfig.get_paths()["stdlib"]
LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vm", "lib")


def long_lines(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        stripped = (line.strip() for line in f)
        return [s for s in stripped if len(s) > 25 and not s.startswith("#")]


def namesake(rel):
    """CPython's file for `rel` (a path under vm/lib ending in .mini), or None."""
    base = rel[:-len(".mini")]
    for cand in (base + ".py", os.path.join(base, "__init__.py"), base.lstrip("_") + ".py"):
        path = os.path.join(STDLIB, cand)
        if os.path.exists(path):
            return path
    return None


def main():
    show_all = "--all" in sys.argv[1:]
    rows = []
    for root, _, files in os.walk(LIB):
        for name in files:
            if not name.endswith(".mini"):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, LIB)
            theirs_path = namesake(rel)
            mine = long_lines(path)
            if theirs_path is None or not mine:
                continue
            theirs = set(long_lines(theirs_path))
            same = sum(1 for line in mine if line in theirs)
            rows.append((same / len(mine), same, len(mine), rel))
    for share, same, total, rel in sorted(rows, reverse=True):
        if show_all or share > 0.15:
            print("%4.0f%%  %4d/%-4d  %s" % (share * 100, same, total, rel))


if __name__ == "__main__":
    main()
