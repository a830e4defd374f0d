from ..util import scale
from .. import consts as c
from . import leaf


def combined(x):
    return scale(x) + c.FACTOR + leaf.LEAF
