# For modules/circular_attr.mini: a module reading itself through sys.modules while its code
# runs. Its own __getattr__ answers before the partially-initialized message.
import sys


def __getattr__(name):
    return 'module __getattr__ gave %r' % name


peek = sys.modules[__name__].late
