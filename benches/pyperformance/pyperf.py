"""A small stand-in for the `pyperf` package, so pyperformance's benchmark files run unmodified.

pyperformance's benchmarks (github.com/python/pyperformance, `data-files/benchmarks/bm_*/
run_benchmark.py`) import `pyperf`, build a `pyperf.Runner` and hand it a function to time. The
real pyperf spawns worker processes, calibrates loops and writes JSON; minivm does not need that
machinery to be compared with CPython, and the real package uses more of the standard library
than the benchmarks do. This file gives the benchmarks the few names they use (counted over the
whole suite: `Runner`, its `metadata`, `argparser`, `parse_args`, `bench_func`,
`bench_time_func`, `bench_async_func`; `perf_counter`; `python_implementation`) and nothing
else. Both interpreters load this same file, so they run the same benchmark code.

What it measures: each `bench_*` call runs the benchmark's inner loop `MINIVM_PYPERF_LOOPS`
times (default 1) and writes one line to stderr, `PYPERF <name> <seconds>`: the time the
benchmark itself measured, as pyperf does (start-up and imports excluded).
`benches/pyperformance/run.py` reads those lines.

With `MINIVM_PYPERF_CHECK=1` it also records what the benchmark's own functions return (module
level functions and methods of classes defined in the benchmark, results of basic types only)
and prints a summary at exit, so run.py can check that both interpreters computed the same
values, not only that both finished.
"""

import argparse
import os
import sys
import time

perf_counter = time.perf_counter
LOOPS = int(os.environ.get("MINIVM_PYPERF_LOOPS", "1"))


def python_implementation():
    return sys.implementation.name


class Runner:
    """The part of pyperf.Runner the benchmarks use; keyword options (values, processes,
    add_cmdline_args...) steer pyperf's calibration, which this stand-in does not do."""

    def __init__(self, *args, **kwargs):
        self.metadata = {}
        self.argparser = argparse.ArgumentParser()
        self.args = None

    def parse_args(self, args=None):
        self.args = self.argparser.parse_args(sys.argv[1:] if args is None else args)
        return self.args

    def _start(self):
        if self.args is None:
            self.parse_args()
        if CHECK:
            _wrap_benchmark_functions()

    def _report(self, name, seconds):
        sys.stderr.write("PYPERF %s %.6f\n" % (name, seconds))

    def bench_func(self, name, func, *args, **kwargs):
        self._start()
        t0 = perf_counter()
        for _ in range(LOOPS):
            func(*args)
        self._report(name, perf_counter() - t0)

    def bench_time_func(self, name, func, *args, **kwargs):
        # The benchmark times itself: it gets the loop count and returns seconds.
        self._start()
        self._report(name, func(LOOPS, *args))

    def bench_async_func(self, name, func, *args, **kwargs):
        import asyncio

        self._start()
        t0 = perf_counter()
        for _ in range(LOOPS):
            asyncio.run(func(*args))
        self._report(name, perf_counter() - t0)

    def bench_command(self, name, command):
        # Start-up benchmarks time whole processes of the running interpreter; not compared.
        raise SystemExit("pyperf stand-in: bench_command (%s) is not supported" % name)


# ---- check mode: what the benchmark's functions returned ------------------------------------

CHECK = bool(os.environ.get("MINIVM_PYPERF_CHECK"))
_ATOMS = (int, float, str, bytes, bool, type(None))
_seen = {}  # qualified name -> [calls, first five summaries, last summary]


def _summary(value, depth=0):
    """A short text for a result of basic types, or None when it holds anything else (objects
    whose repr carries an address, or whose order may differ)."""
    if isinstance(value, _ATOMS):
        text = repr(value)
        if len(text) > 200:
            text = "%s...%d...%s" % (text[:100], len(text), text[-100:])
        return text
    if depth < 2 and isinstance(value, (list, tuple)):
        parts = [_summary(item, depth + 1) for item in value[:20]]
        if None in parts:
            return None
        return "%s%d[%s]" % (type(value).__name__, len(value), ",".join(parts))
    if depth < 2 and type(value) is dict:
        parts = []
        for key, item in list(value.items())[:20]:
            k, v = _summary(key, 2), _summary(item, depth + 1)
            if k is None or v is None:
                return None
            parts.append(k + ":" + v)
        return "dict%d{%s}" % (len(value), ",".join(parts))
    return None


def _recording(qualname, func):
    def wrapper(*args, **kwargs):
        result = func(*args, **kwargs)
        text = _summary(result)
        if text is not None:
            entry = _seen.setdefault(qualname, [0, [], None])
            entry[0] += 1
            if len(entry[1]) < 5:
                entry[1].append(text)
            entry[2] = text
        return result

    wrapper.__name__ = getattr(func, "__name__", qualname)
    return wrapper


_wrapped = False


def _wrap_benchmark_functions():
    global _wrapped
    if _wrapped:
        return
    _wrapped = True
    function = type(_wrap_benchmark_functions)
    module = sys.modules["__main__"].__dict__
    for name, value in list(module.items()):
        if type(value) is function and value.__module__ == "__main__":
            if not name.startswith("bench"):
                module[name] = _recording(name, value)
        elif isinstance(value, type) and value.__module__ == "__main__":
            for attr, member in list(value.__dict__.items()):
                if type(member) is function and not attr.startswith("__"):
                    setattr(value, attr, _recording(name + "." + attr, member))


def _print_check():
    for qualname in sorted(_seen):
        calls, first, last = _seen[qualname]
        print("CHECK", qualname, calls, "|".join(first), "||", last)


if CHECK:
    import atexit

    atexit.register(_print_check)
