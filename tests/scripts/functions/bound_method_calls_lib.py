"""A module whose functions are bound methods of one hidden instance (as `random`'s are), and
one that answers missing names with a module `__getattr__` (PEP 562)."""


class _Counter:
    def __init__(self):
        self.n = 0

    def bump(self, by=1, *, times=1):
        self.n += by * times
        return self.n

    def fail(self, x):
        return x.missing_attribute

    def gen(self, k):
        for i in range(k):
            yield self.n + i


_inst = _Counter()
bump = _inst.bump
fail = _inst.fail
gen = _inst.gen


def plain(a, b=2):
    return a * 10 + b


def __getattr__(name):
    if name.startswith("dyn_"):
        return lambda *args: (name, args)
    raise AttributeError(f"module 'bound_method_calls_lib' has no attribute '{name}'")
