# For errors/circular_import_attr.mini: imports the dialog before binding `prefs`.
import circular_import_dialog


class Prefs:
    def get(self, name):
        pass


prefs = Prefs()
circular_import_dialog.show()
