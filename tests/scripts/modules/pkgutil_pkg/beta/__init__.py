# For modules/pkgutil_basic.mini: a subpackage of pkgutil_pkg.
