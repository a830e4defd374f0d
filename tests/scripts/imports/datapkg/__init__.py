"""A package with data files beside its source (for importlib.resources)."""
GREETING = "hello from datapkg"
