# For errors/circular_import_call.mini: imports itself and calls a function not yet defined.
import circular_import_self

value = circular_import_self.compute()


def compute():
    return 1
