# For modules/pkgutil_basic.mini: a module whose name has a dot (left out).
