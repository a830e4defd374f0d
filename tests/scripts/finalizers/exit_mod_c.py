# A module imported by finalizers/exit_daemon_thread.mini.
import sys


class Noisy:
    def __init__(self, name):
        self.name = name

    def __del__(self):
        print("del", self.name, "| sys bound:", sys is not None, "| first bound:", first is not None)


first = Noisy("c.first")
_private = Noisy("c._private")
last = Noisy("c.last")
