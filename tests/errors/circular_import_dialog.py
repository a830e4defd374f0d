# For errors/circular_import_attr.mini: reads app.prefs while the app module still runs.
import circular_import_app


class Dialog:
    def __init__(self, save_dir):
        self.save_dir = save_dir


save_dialog = Dialog(circular_import_app.prefs.get('save_dir'))


def show():
    print('Showing the dialog!')
