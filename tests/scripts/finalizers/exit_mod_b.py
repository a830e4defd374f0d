# A module imported by finalizers/exit_modules.mini, which imports exit_mod_a in turn.
import exit_mod_a

holder = exit_mod_a.Noisy("b.holder")
holder.child = exit_mod_a.Noisy("b.holder.child")


def helper():
    return holder
