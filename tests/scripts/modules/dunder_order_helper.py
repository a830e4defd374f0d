# A plain module for modules/module_dunder_order.mini: what its namespace holds, in order.
LIMIT = 3


def names():
    return list(globals())
