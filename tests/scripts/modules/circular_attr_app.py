# For modules/circular_attr.mini: imports circular_attr_dialog before binding `prefs`.
import circular_attr_dialog


class Prefs:
    def get(self, name):
        return 'prefs.get(%r)' % name


prefs = Prefs()
circular_attr_dialog.show()
