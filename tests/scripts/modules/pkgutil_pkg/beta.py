# For modules/pkgutil_basic.mini: a module file beside the package beta (left out).
