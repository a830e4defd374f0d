# For modules/pkgutil_basic.mini: a module of pkgutil_pkg.
