# Imported by literal_warnings_shown.mini: compile-time warnings of a module's source.
PATTERN = "\d+"
LIMIT = [0x1for _ in "ab"]
