WHERE = 'extra_dir'
