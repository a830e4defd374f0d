# A module imported by finalizers/exit_modules.mini: its globals hold objects with __del__.
import sys


class Noisy:
    def __init__(self, name):
        self.name = name

    def __del__(self):
        mod = type(self).__module__
        entry = sys.modules.get(mod, "absent")
        if not isinstance(entry, str):
            entry = type(entry).__name__
        print("del", self.name, "| sys.modules entry:", entry, "| argv:", sys.argv,
              "| first still bound:", first is not None)


def numbers(tag):
    try:
        yield 1
        yield 2
    finally:
        print("generator closed", tag)


first = Noisy("a.first")
_private = Noisy("a._private")
gen = numbers("a.gen")
next(gen)
