# For modules/circular_attr.mini: imported by circular_attr_app while that module still runs.
import os

import circular_attr_app
import circular_attr_getattr

seen = []
try:
    circular_attr_app.prefs
except AttributeError as e:
    seen.append('AttributeError: %s' % e)
try:
    from circular_attr_app import prefs
except ImportError as e:
    seen.append('ImportError: ' + str(e).replace(os.path.dirname(e.path), 'DIR'))
    seen.append(e.name)
    seen.append(os.path.basename(e.path))
# A module's own __getattr__ answers before the circular-import message.
seen.append(circular_attr_getattr.peek)


def show():
    seen.append('show called')
