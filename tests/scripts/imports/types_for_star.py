__all__ = ['shown', '_listed_private']
shown = 'shown'
not_listed = 'no'
_listed_private = 'private but listed'
