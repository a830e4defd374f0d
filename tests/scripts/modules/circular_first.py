# For modules/circular_partial.mini: imports circular_second halfway through its own code.
EARLY = 'defined before the circular import'
import circular_second
LATE = 'defined after it'
