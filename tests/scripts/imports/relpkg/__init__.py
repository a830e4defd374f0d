# A package written with relative imports only.
from .util import scale
from . import consts
from .consts import *

VERSION = '2.1'
print('relpkg:', __name__, __package__, sorted(k for k in globals() if not k.startswith('__')))
