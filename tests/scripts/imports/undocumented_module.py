# A helper module without a docstring, for module_docstrings.mini.
VALUE = 1
