# A plain `.py` module beside the programs of this folder (as in Effective Python's
# process-pool item).
def gcd(pair):
    a, b = pair
    low = min(a, b)
    for i in range(low, 0, -1):
        if a % i == 0 and b % i == 0:
            return i
    raise AssertionError('Not reached')


public_value = 'public'
_hidden_value = 'hidden'
