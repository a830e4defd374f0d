#!/usr/bin/env python3
"""Differential fuzzing of minivm against CPython (bounded; see tests/README.md).

Takes the test programs (tests/scripts/**/*.mini), mutates them (literals, operators, names,
lines), runs each mutant under python3 and minivm with a timeout, and reports:

  CRASH   minivm died on a signal, panicked, or reported an internal error
  HANG    minivm timed out where python3 finished
  WRONG   both succeeded but printed different things, or minivm succeeded where python3 failed
          (a silent wrong answer: the project's promise is a clear error instead)
  UNCLEAR minivm failed silently (exit status != 0, nothing on stderr) where python3 explained

Exceptions of different classes when both fail are counted, not reported (minivm may reject a
program with a different but clear error). Each finding is shrunk by deleting lines while the
finding stays the same, and saved with its python3 and minivm outputs under --out.

    scripts/difffuzz.py --seconds 60                 # one minute, random seed
    scripts/difffuzz.py --seconds 300 --seed 7       # reproducible run
    scripts/difffuzz.py --minivm target/debug/minivm --filter strings/

Exit status: 0 when nothing was found, 1 when there are findings, 2 on a usage error.
"""

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 10.0
PYTHON = os.environ.get("PYTHON", "python3")

INTS = ["0", "1", "-1", "2", "7", "255", "256", "2**31", "2**31 - 1", "2**63 - 1", "-2**63",
        "2**63", "10**18", "10**30", "-0"]
FLOATS = ["0.0", "-0.0", "1.5", "1e308", "1e-308", "5e-324", "float('inf')", "float('-inf')",
          "float('nan')", "9999999999999998.0", "0.1", "1e16", "123456789.125"]
STRINGS = ["''", "'a'", "'ab' * 3", "'\\u200b'", "'\\x00'", "'é'", "'\\U0001f600'",
           "'a\\tb\\nc'", "\"it's\"", "'\\\\'", "'  spaced  '", "'ABC'", "'123'"]
BINOPS = ["+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "^"]
CMPOPS = ["==", "!=", "<", "<=", ">", ">="]
SNIPPETS = [
    "print(repr({x}))", "print(type({x}).__name__)", "print(bool({x}))", "print(str({x}))",
    "print(len(str({x})))", "print(hash(1) == hash(1.0))", "print([{x}] * 2)",
    "print(sorted([3, 1, 2], reverse=True))", "print(f'{{{x}!r:>10}}')",
]

NUM = re.compile(r"(?<![\w.])(\d+\.\d*(?:e[+-]?\d+)?|\d+e[+-]?\d+|\d+)(?![\w.])")
STR = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"")
BIN = re.compile(r"(?<=[\w)\]]) (\+|-|\*\*|\*|//|/|%|<<|>>|&|\||\^) (?=[\w(\[])")
CMP = re.compile(r" (==|!=|<=|>=|<|>) ")
NAME = re.compile(r"\b[a-z_][a-z0-9_]*\b")
KEYWORDS = set("""False None True and as assert async await break class continue def del elif
else except finally for from global if import in is lambda nonlocal not or pass raise return try
while with yield print len range self""".split())


def directives(src):
    found = {}
    for line in src.splitlines():
        if not line.startswith("#") and line.strip():
            break
        m = re.match(r"# minivm-test: (\w[\w-]*)(?:=(.*))?", line)
        if m:
            found[m.group(1)] = m.group(2) or ""
    return found


def corpus(filt):
    progs = []
    for p in sorted((ROOT / "tests" / "scripts").rglob("*.mini")):
        rel = p.relative_to(ROOT).as_posix()
        if filt and not any(f in rel for f in filt):
            continue
        try:
            src = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            # A program about source encodings (a latin-1 declaration): the mutations work on
            # UTF-8 text, so it is left out.
            continue
        d = directives(src)
        # Programs that need arguments or input, that python3 cannot run, or that read the clock
        # or run threads (their output is not deterministic) are left out.
        if {"args", "stdin", "no-python", "pending"} & d.keys() or "/threads/" in rel:
            continue
        if re.search(r"\b(time|random|threading|socket|select|os)\b", src):
            continue
        progs.append((rel, src))
    return progs


def mutate(src, rng):
    """One random change to `src` (a few tries to find an applicable one)."""
    lines = src.split("\n")
    for _ in range(20):
        kind = rng.choice(["int", "float", "str", "binop", "cmp", "name", "dup", "delete",
                           "swap", "snippet", "wrap"])
        i = rng.randrange(len(lines))
        line = lines[i]
        if line.lstrip().startswith("#"):
            continue
        new = None
        if kind in ("int", "float"):
            ms = list(NUM.finditer(line))
            if ms:
                m = rng.choice(ms)
                pool = INTS if kind == "int" else FLOATS
                new = line[:m.start()] + "(" + rng.choice(pool) + ")" + line[m.end():]
        elif kind == "str":
            ms = [m for m in STR.finditer(line) if not line[:m.start()].rstrip().endswith("f")]
            if ms:
                m = rng.choice(ms)
                new = line[:m.start()] + "(" + rng.choice(STRINGS) + ")" + line[m.end():]
        elif kind == "binop":
            ms = list(BIN.finditer(line))
            if ms:
                m = rng.choice(ms)
                new = line[:m.start(1)] + rng.choice(BINOPS) + line[m.end(1):]
        elif kind == "cmp":
            ms = list(CMP.finditer(line))
            if ms:
                m = rng.choice(ms)
                new = line[:m.start(1)] + rng.choice(CMPOPS) + line[m.end(1):]
        elif kind == "name":
            names = sorted({n for n in NAME.findall(src) if n not in KEYWORDS})
            ms = [m for m in NAME.finditer(line) if m.group() not in KEYWORDS]
            if ms and names:
                m = rng.choice(ms)
                new = line[:m.start()] + rng.choice(names) + line[m.end():]
        elif kind == "dup":
            lines.insert(i, line)
            return "\n".join(lines)
        elif kind == "delete" and line.strip():
            indent = len(line) - len(line.lstrip())
            lines[i] = " " * indent + "pass"
            return "\n".join(lines)
        elif kind == "swap" and i + 1 < len(lines):
            a, b = lines[i], lines[i + 1]
            if a.strip() and b.strip() and len(a) - len(a.lstrip()) == len(b) - len(b.lstrip()):
                lines[i], lines[i + 1] = b, a
                return "\n".join(lines)
        elif kind == "snippet" and line.strip() and not line.rstrip().endswith(":"):
            indent = line[: len(line) - len(line.lstrip())]
            names = sorted({n for n in NAME.findall(line) if n not in KEYWORDS}) or ["0"]
            snippet = rng.choice(SNIPPETS).format(x=rng.choice(names))
            lines.insert(i + 1, indent + snippet)
            return "\n".join(lines)
        elif kind == "wrap":
            ms = list(NUM.finditer(line)) + list(STR.finditer(line))
            if ms:
                m = rng.choice(ms)
                f = rng.choice(["repr", "str", "bool", "hash", "abs", "int", "float", "len",
                                "list", "tuple", "sorted", "min", "max"])
                new = line[:m.start()] + f + "(" + m.group() + ")" + line[m.end():]
        if new is not None and new != line:
            lines[i] = new
            return "\n".join(lines)
    return src


def run(cmd, path, timeout, hashseed="0"):
    """(exit status or None on timeout, stdout, stderr) of `cmd path` run in path's directory."""
    env = dict(os.environ, PYTHONHASHSEED=hashseed, PYTHONIOENCODING="utf-8", NO_COLOR="1")
    try:
        p = subprocess.run(cmd + [path.name], cwd=path.parent, capture_output=True,
                           timeout=timeout, env=env)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        return None, out, "(timed out)"


ERROR_LINE = re.compile(r"^(\w+\.)*\w*(Error|Exception|Interrupt|Exit|Warning)\b")


def last_error(stderr):
    for line in reversed(stderr.strip().splitlines()):
        if ERROR_LINE.match(line):
            return line.split(":")[0]
    return None


# What may differ between the two interpreters' outputs without being a wrong answer: object
# addresses in reprs (`<Foo object at 0x7f3a...>`) and where a library module's source lives
# (`<module 'json' from '/usr/lib/python3.11/json/__init__.py'>`, minivm: `'<minivm-lib>/...'`).
NOISE = [
    (re.compile(r" at 0x[0-9a-f]+"), " at 0x?"),
    (re.compile(r"(<module '[\w.]+') from '[^']*'>"), r"\1>"),
]


def normalized(out):
    for pattern, replacement in NOISE:
        out = pattern.sub(replacement, out)
    return out


def classify(py, vm, py_seconds=0.0):
    """The finding for a pair of (status, stdout, stderr), or None."""
    pcode, pout, perr = py
    vcode, vout, verr = vm
    if pcode is None:
        return None  # python3 hangs too: not minivm's problem
    if vcode is None:
        # Only when python3 was quick: minivm may just be slower on a heavy mutant.
        return "HANG" if py_seconds < TIMEOUT / 5 else None
    if vcode < 0 or vcode in (101, 70, 134) or "panicked at" in verr or "internal error" in verr:
        return "CRASH"
    if vcode == 0 and pcode == 0:
        return "WRONG" if normalized(vout) != normalized(pout) else None
    if vcode == 0 and pcode != 0:
        return "WRONG"
    if vcode != 0 and not verr.strip() and perr.strip():
        return "UNCLEAR"
    return None


class Runner:
    def __init__(self, minivm, tmp, timeout):
        self.minivm = minivm
        self.tmp = tmp
        self.timeout = timeout
        self.runs = 0
        self.py_seconds = 0.0

    def both(self, src, name="prog.py"):
        path = self.tmp / name
        path.write_text(src, encoding="utf-8")
        self.runs += 1
        t0 = time.monotonic()
        py = run([PYTHON], path, self.timeout)
        self.py_seconds = time.monotonic() - t0
        vm = run([str(self.minivm)], path, self.timeout)
        return py, vm


def shrink(runner, src, kind, deadline):
    """Delete lines (and blocks) while the finding stays the same kind."""
    lines = src.split("\n")
    chunk = max(1, len(lines) // 2)
    while chunk >= 1 and time.monotonic() < deadline:
        i = 0
        changed = False
        while i < len(lines) and time.monotonic() < deadline:
            cand = lines[:i] + lines[i + chunk:]
            if cand and classify(*runner.both("\n".join(cand)), runner.py_seconds) == kind:
                lines = cand
                changed = True
            else:
                i += chunk
        if not changed:
            chunk //= 2
    return "\n".join(lines)


def find_minivm(arg):
    if arg:
        # Absolute: the mutants run from their own temporary directory (CI passes a relative
        # target/release/minivm).
        return Path(arg).resolve()
    targets = [Path(os.environ["CARGO_TARGET_DIR"])] if os.environ.get("CARGO_TARGET_DIR") else []
    targets.append(ROOT / "target")
    for t in targets:
        for profile in ("release", "debug"):
            if (t / profile / "minivm").exists():
                return t / profile / "minivm"
    return None


def main():
    global TIMEOUT
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60, help="time budget (default 60)")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    ap.add_argument("--minivm", help="the minivm binary (default: target/{release,debug}/minivm)")
    ap.add_argument("--filter", nargs="*", default=[], help="only programs whose path has these")
    ap.add_argument("--mutations", type=int, default=3, help="most changes per mutant (default 3)")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per run (default 10)")
    ap.add_argument("--out", default=None, help="where findings go (default: a temp directory)")
    ap.add_argument("--max-findings", type=int, default=20)
    args = ap.parse_args()
    TIMEOUT = args.timeout
    minivm = find_minivm(args.minivm)
    if minivm is None or not minivm.exists():
        print("difffuzz: no minivm binary; build it (cargo build --release) or pass --minivm",
              file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    progs = corpus(args.filter)
    if not progs:
        print("difffuzz: no programs match", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix=f"difffuzz-{seed}-"))
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="difffuzz-run-"))
    runner = Runner(minivm, tmp, args.timeout)
    start = time.monotonic()
    deadline = start + args.seconds
    findings = []
    seen = set()
    counts = {"mutants": 0, "both failed, different class": 0}
    print(f"difffuzz: seed {seed}, {len(progs)} programs, {args.seconds:.0f} s, {minivm}")
    try:
        while time.monotonic() < deadline and len(findings) < args.max_findings:
            rel, src = rng.choice(progs)
            mutant = src
            for _ in range(rng.randint(1, args.mutations)):
                mutant = mutate(mutant, rng)
            counts["mutants"] += 1
            py, vm = runner.both(mutant)
            kind = classify(py, vm, runner.py_seconds)
            if kind is None:
                if py[0] not in (0, None) and vm[0] not in (0, None) \
                        and last_error(py[2]) != last_error(vm[2]):
                    counts["both failed, different class"] += 1
                continue
            if kind == "WRONG":
                # python3 must agree with itself under another hash seed (no set-order noise).
                again = run([PYTHON], (tmp / "prog.py"), args.timeout, hashseed="1")
                if again[1] != py[1] or again[0] != py[0]:
                    continue
            small = shrink(runner, mutant, kind, min(deadline + 30, time.monotonic() + 30))
            py, vm = runner.both(small)
            key = (kind, last_error(vm[2]), vm[1][:80], py[1][:80])
            if key in seen:
                continue
            seen.add(key)
            n = len(findings) + 1
            base = out / f"{n:03d}-{kind.lower()}"
            base.with_suffix(".py").write_text(small, encoding="utf-8")
            report = (f"{kind} (from {rel}, seed {seed})\n--- python3: exit {py[0]}\n{py[1]}{py[2]}"
                      f"--- minivm: exit {vm[0]}\n{vm[1]}{vm[2]}")
            base.with_suffix(".txt").write_text(report, encoding="utf-8")
            findings.append(base)
            print(f"\n{kind}: {base}.py (from {rel})\n{small.strip()}\n"
                  f"  python3 (exit {py[0]}): {(py[1] + py[2]).strip()[-300:]!r}\n"
                  f"  minivm  (exit {vm[0]}): {(vm[1] + vm[2]).strip()[-300:]!r}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    took = time.monotonic() - start
    print(f"\ndifffuzz: {counts['mutants']} mutants, {runner.runs} runs in {took:.0f} s; "
          f"{len(findings)} finding(s) in {out}; both failed with different exception classes: "
          f"{counts['both failed, different class']} (not reported)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
