__all__ = ['FACTOR', 'NAMES']
FACTOR = 3
NAMES = ('a', 'b')
UNLISTED = 'not in __all__'
