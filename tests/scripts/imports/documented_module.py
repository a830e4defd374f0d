"""A helper module with a docstring, for module_docstrings.mini."""

def helper():
    """helper's docstring"""
    return 1
