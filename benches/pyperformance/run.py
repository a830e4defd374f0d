#!/usr/bin/env python3
"""Run pyperformance's own benchmark files, unmodified, under CPython and minivm, and compare.

    benches/pyperformance/run.py                     # every benchmark that needs no package
    benches/pyperformance/run.py nbody go logging    # only these (names as in pyperformance)
    benches/pyperformance/run.py --check             # values only: did both compute the same?
    benches/pyperformance/run.py --callgrind nbody   # machine instructions instead of seconds
    benches/pyperformance/run.py --list              # what would run, and why others are skipped

pyperformance (github.com/python/pyperformance) is the suite CPython's developers measure
themselves with. Its benchmarks are real programs nobody here wrote, so they say more about
"faster than CPython on real programs" than our own kernels in benches/kernels do. The
benchmark files are not in this repository: give a checkout with --pyperformance DIR (or
$PYPERFORMANCE_DIR); without one, the script clones the commit it was written against into
target/pyperformance.

Each benchmark runs with `pyperf.py` from this directory standing in for the pyperf package
(the same file under both interpreters; read it for what it does and does not do). Times are
what the benchmark measures itself (start-up and imports excluded), for a loop count chosen so
that CPython takes about --target seconds; each interpreter runs --runs times, interleaved, and
the best is kept. Before timing, one run of each with the stand-in's check mode compares the
values the benchmark's functions returned and everything it printed: a benchmark whose values
differ is reported as such, never as a time.

Skipped, with the reason shown by --list: benchmarks that need a third-party package (a
requirements.txt or a dependency other than pyperf), and start-up benchmarks that time whole
processes (`bench_command`).
"""

import argparse
import math
import os
import platform
import shutil
import subprocess
import sys
import time
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
REPO = "https://github.com/python/pyperformance"
PINNED = "1d3e21798ebf2420b62c1eded4ce94453ba15151"  # the commit this script was written against


class Benchmark:
    def __init__(self, name, directory, extra_opts, skip):
        self.name = name
        self.directory = directory
        self.extra_opts = extra_opts
        self.skip = skip  # None, or why it is not run


def find_suite(args):
    path = args.pyperformance or os.environ.get("PYPERFORMANCE_DIR")
    if not path:
        path = os.path.join(ROOT, "target", "pyperformance")
        if not os.path.isdir(path):
            print("cloning %s into %s (pass --pyperformance DIR to use a checkout)" % (REPO, path))
            subprocess.run(["git", "clone", "--quiet", REPO, path], check=True)
            subprocess.run(["git", "-C", path, "checkout", "--quiet", PINNED], check=True)
    benchmarks = os.path.join(path, "pyperformance", "data-files", "benchmarks")
    if not os.path.isfile(os.path.join(benchmarks, "MANIFEST")):
        sys.exit("error: %s is not a pyperformance checkout (no %s/MANIFEST)" % (path, benchmarks))
    return path, benchmarks


def load_manifest(benchmarks):
    """MANIFEST's [benchmarks] table: `name<TAB>metafile`, where `<local>` means bm_<name>/ and
    `<local:base>` means a variant living in bm_<base>/ with its own bm_<name>.toml."""
    found = []
    section = None
    with open(os.path.join(benchmarks, "MANIFEST")) as manifest:
        for line in manifest:
            line = line.strip()
            if line.startswith("["):
                section = line
                continue
            if section != "[benchmarks]" or not line or line.startswith(("#", "name")):
                continue
            name, _, meta = line.partition("\t")
            meta = meta.strip()
            base = meta[len("<local:") : -1] if meta.startswith("<local:") else name
            directory = os.path.join(benchmarks, "bm_" + base)
            toml = os.path.join(directory, "bm_%s.toml" % name)
            if not os.path.isfile(toml):
                toml = os.path.join(directory, "pyproject.toml")
            found.append(describe(name, directory, toml))
    return found


def describe(name, directory, toml):
    script = os.path.join(directory, "run_benchmark.py")
    if not os.path.isfile(script):
        return Benchmark(name, directory, [], "no run_benchmark.py")
    config = {}
    if os.path.isfile(toml):
        with open(toml, "rb") as f:
            config = tomllib.load(f)
    extra = config.get("tool", {}).get("pyperformance", {}).get("extra_opts", [])
    deps = [d for d in config.get("project", {}).get("dependencies", []) if d != "pyperf"]
    if os.path.isfile(os.path.join(directory, "requirements.txt")):
        return Benchmark(name, directory, extra, "needs packages (requirements.txt)")
    if deps:
        return Benchmark(name, directory, extra, "needs packages: " + ", ".join(deps))
    with open(script) as f:
        if "bench_command" in f.read():
            return Benchmark(name, directory, extra, "times whole processes (bench_command)")
    return Benchmark(name, directory, extra, None)


def run_once(interpreter, bench, loops, check, timeout, prefix=()):
    """Run one benchmark process; returns (seconds measured by the benchmark or None, stdout,
    error text or None)."""
    env = dict(os.environ, PYTHONPATH=HERE, MINIVM_PYPERF_LOOPS=str(loops))
    env.pop("MINIVM_PYPERF_CHECK", None)
    if check:
        env["MINIVM_PYPERF_CHECK"] = "1"
    command = list(prefix) + interpreter + ["run_benchmark.py"] + bench.extra_opts
    try:
        proc = subprocess.run(
            command, cwd=bench.directory, env=env, capture_output=True, text=True,
            timeout=timeout, errors="replace",
        )
    except subprocess.TimeoutExpired:
        return None, "", "timed out after %d s" % timeout
    seconds = [float(line.split()[2]) for line in proc.stderr.splitlines()
               if line.startswith("PYPERF ")]
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        return None, proc.stdout, "exit %d: %s" % (proc.returncode, lines[-1] if lines else "")
    return sum(seconds), proc.stdout, proc.stderr


def calibrate(interpreter, bench, target, timeout):
    """The loop count at which CPython's run takes at least `target` seconds, found by growing
    it as pyperf does (a first loop may pay one-time costs, so one run is not enough)."""
    loops = 1
    for _ in range(12):
        seconds, _, _ = run_once(interpreter, bench, loops, False, timeout)
        if seconds is None or seconds >= target:
            break
        loops *= min(10, max(2, math.ceil(target / max(seconds, 1e-6))))
    return loops


def instructions(interpreter, bench, loops, timeout):
    """Machine instructions of `loops` loops: a run with `loops` minus a run with none, so
    start-up and imports cancel out."""
    counts = []
    for n in (loops, 0):
        prefix = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
        _, _, err = run_once(interpreter, bench, n, False, timeout, prefix)
        refs = [line for line in (err or "").splitlines() if "I   refs:" in line]
        if not refs:
            return None
        counts.append(int(refs[-1].split()[-1].replace(",", "")))
    return counts[0] - counts[1]


def header(python, minivm):
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    pyver = subprocess.run(python + ["--version"], capture_output=True, text=True).stdout.strip()
    mvver = subprocess.run(minivm + ["--version"], capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print("# %s UTC; %s, %d CPUs, load %.2f" % (
        time.strftime("%Y-%m-%d %H:%M", time.gmtime()), cpu, os.cpu_count() or 0, load))
    print("# %s (%s); %s (%s)" % (pyver, python[0], mvver, minivm[0]))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Names are pyperformance's (argparse_many_optionals, unpickle, ...).")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all runnable)")
    parser.add_argument("--pyperformance", metavar="DIR", help="a pyperformance checkout")
    parser.add_argument("--minivm", metavar="PATH",
                        default=os.path.join(ROOT, "target", "release", "minivm"))
    parser.add_argument("--python", metavar="PATH", default=sys.executable,
                        help="the CPython to compare with (default: the one running this script)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each, best kept (3)")
    parser.add_argument("--target", type=float, default=None,
                        help="seconds CPython should take per run; sets the loop count "
                        "(0.3; with --callgrind 0.03, as valgrind runs about 50 times slower)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per process (600)")
    parser.add_argument("--check", action="store_true", help="compare values only, no timing")
    parser.add_argument("--callgrind", action="store_true",
                        help="count instructions with valgrind instead of timing")
    parser.add_argument("--list", action="store_true", help="list benchmarks and exit")
    args = parser.parse_args()
    if args.target is None:
        args.target = 0.03 if args.callgrind else 0.3

    _, benchmarks = find_suite(args)
    suite = load_manifest(benchmarks)
    if args.list:
        for bench in suite:
            print("%-36s %s" % (bench.name, bench.skip or "runs"))
        return 0
    if args.names:
        known = {b.name for b in suite}
        # A benchmark directory the MANIFEST does not list (decimal_pi, decimal_factorial at
        # the pinned commit) runs when named.
        for name in args.names:
            directory = os.path.join(benchmarks, "bm_" + name)
            if name not in known and os.path.isdir(directory):
                suite.append(describe(name, directory, os.path.join(directory, "pyproject.toml")))
                known.add(name)
        unknown = [n for n in args.names if n not in known]
        if unknown:
            sys.exit("error: no benchmark named %s (see --list)" % ", ".join(unknown))
        suite = [b for b in suite if b.name in args.names]
    if not os.access(args.minivm, os.X_OK):
        sys.exit("error: %s not found: build it with `cargo build --release`" % args.minivm)
    if args.callgrind and not shutil.which("valgrind"):
        sys.exit("error: --callgrind needs valgrind")

    python, minivm = [args.python, "-S"], [args.minivm]
    header(python, minivm)
    unit = "instructions" if args.callgrind else "seconds"
    print("| benchmark | loops | CPython %s | minivm %s | minivm / CPython | values |" % (unit, unit))
    print("|---|---:|---:|---:|---:|---|")
    ratios = []
    for bench in suite:
        if bench.skip:
            continue
        # Same values first: the benchmark's printed output and its functions' results.
        py_time, py_out, py_err = run_once(python, bench, 1, True, args.timeout)
        mv_time, mv_out, mv_err = run_once(minivm, bench, 1, True, args.timeout)
        if py_time is None:
            print("| %s | | | | | CPython fails: %s |" % (bench.name, py_err))
            continue
        if mv_time is None:
            print("| %s | | | | | minivm fails: %s |" % (bench.name, mv_err))
            continue
        if py_out != mv_out:
            print("| %s | | | | | **differ** |" % bench.name)
            continue
        if args.check:
            print("| %s | 1 | | | | same |" % bench.name)
            continue
        loops = calibrate(python, bench, args.target, args.timeout)
        if args.callgrind:
            best_py = instructions(python, bench, loops, args.timeout)
            best_mv = instructions(minivm, bench, loops, args.timeout)
            fmt = "{:,}"
        else:
            best_py = best_mv = None
            for _ in range(args.runs):  # interleaved: CPython, minivm, CPython, minivm, ...
                t, _, _ = run_once(python, bench, loops, False, args.timeout)
                best_py = t if best_py is None or (t is not None and t < best_py) else best_py
                t, _, _ = run_once(minivm, bench, loops, False, args.timeout)
                best_mv = t if best_mv is None or (t is not None and t < best_mv) else best_mv
            fmt = "{:.4f}"
        if not best_py or not best_mv:
            print("| %s | %d | | | | same; a timed run failed |" % (bench.name, loops))
            continue
        ratio = best_mv / best_py
        ratios.append(ratio)
        print("| %s | %d | %s | %s | %.2f | same |" % (
            bench.name, loops, fmt.format(best_py), fmt.format(best_mv), ratio))
        sys.stdout.flush()
    if ratios:
        geomean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        above = sum(1 for r in ratios if r > 1.0)
        print("\ngeometric mean minivm / CPython: %.2f over %d benchmarks (%d slower than CPython)"
              % (geomean, len(ratios), above))
    return 0


if __name__ == "__main__":
    sys.exit(main())
