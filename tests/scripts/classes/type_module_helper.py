# Helper module of type_module.mini: classes made by type(), TypedDict and namedtuple here.
import typing
import collections
def make(name, ns=None):
    return type(name, (), ns or {})
def via_map(names):
    return [c.__module__ for c in map(lambda n: type(n, (), {}), names)]
Made = type("Made", (object,), {})
TD = typing.TypedDict("TD2", {"b": str})
NT = collections.namedtuple("NT2", "p q")
