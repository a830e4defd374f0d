"""A module whose attributes module_attr_sites.mini changes between reads."""

value = 1


def f(x):
    return x + 1


def __getattr__(name):
    if name.startswith("dyn_"):
        return "dynamic " + name
    raise AttributeError("module has no attribute " + repr(name))
