# For modules/circular_partial.mini: imported by circular_first while that one still runs.
from circular_first import EARLY


def _message(e):
    # CPython ends the message with the module's file, which minivm leaves out.
    return str(e).rsplit(' (/', 1)[0]


print('second sees:', EARLY)
try:
    from circular_first import LATE
except ImportError as e:
    print('ImportError:', _message(e))
    print(e.name)
