# For modules/pkgutil_basic.mini: a directory with no __init__, so no package.
