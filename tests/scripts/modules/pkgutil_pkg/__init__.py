# For modules/pkgutil_basic.mini: a package whose modules pkgutil lists.
