from .consts import FACTOR


def scale(x):
    return x * FACTOR
