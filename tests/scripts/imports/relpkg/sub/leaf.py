LEAF = 100
print('leaf:', __name__, __package__)
