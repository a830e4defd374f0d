# No __all__: `from starpkg import *` binds the names not starting with an underscore.
alpha = 1
beta = [2, 3]
_gamma = 'private'


def delta():
    return 'delta'
