"""A second module with the names module_attr_sites.mini reads from its first."""

value = "other"


def f(x):
    return ("other", x)
