"""Generate the python3 (3.11) oracle data files used by vm/src/num/tests.rs.

Run from anywhere with `python3 gen_testdata.py`; it rewrites the *.txt files next to
this script.  Deterministic (fixed random seed).  Floats are written as the hex of
their IEEE-754 bits; results as `i:<int>`, `f:<bits>`, `s:<text>`, `b:<bool>`,
`t:<r1>,<r2>` (divmod) or `E:<ExceptionType>:<message>`.
"""
import math
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20240611)
I64_MIN, I64_MAX = -2**63, 2**63 - 1


def bits(x):
    return struct.pack('>d', x).hex()


def enc(v):
    if isinstance(v, bool):
        return 'b:%s' % v
    if isinstance(v, int):
        if not I64_MIN <= v <= I64_MAX:
            return 'E:OverflowError:BIG'
        return 'i:%d' % v
    if isinstance(v, float):
        return 'f:' + bits(v)
    if isinstance(v, tuple):
        parts = [enc(x) for x in v]
        if 'E:OverflowError:BIG' in parts:
            return 'E:OverflowError:BIG'
        return 't:' + ','.join(parts)
    if isinstance(v, complex):
        return 'E:Complex:'
    return 's:' + v


def run(fn):
    try:
        return enc(fn())
    except Exception as e:  # noqa
        return 'E:%s:%s' % (type(e).__name__, e)


def write(name, lines):
    with open(os.path.join(HERE, name), 'w', encoding='utf-8') as f:
        for line in lines:
            assert '\n' not in line
            f.write(line + '\n')


def random_floats(n):
    out = []
    for _ in range(n):
        k = rng.random()
        if k < 0.3:
            x = struct.unpack('>d', rng.getrandbits(64).to_bytes(8, 'big'))[0]
        elif k < 0.6:
            x = round(rng.uniform(-1000, 1000), rng.randint(0, 6))
        elif k < 0.8:
            x = rng.uniform(-1, 1) * 10.0 ** rng.randint(-30, 30)
        else:
            x = float(rng.randint(-10**6, 10**6)) / rng.choice([1, 2, 4, 8, 10, 100, 1000, 3])
        if math.isnan(x):
            x = 1.5
        out.append(x)
    return out


EDGE_FLOATS = [0.0, -0.0, 0.1, 0.2, 0.3, 1.0, -1.0, 1e16, 1e15, 9999999999999998.0,
               1e-5, 1e-4, 0.0001, 123456789012345.67, 1.2345678901234567e19, 5e-324,
               1.7976931348623157e308, 2.2250738585072014e-308, 2.675, 0.125, 0.5, 1.5,
               2.5, -0.5, 1e22, 1e23, 2.0**53, 2.0**53 + 2.0, 2.0**63, 1/3, 2/3, 100.0,
               float('inf'), float('-inf'), float('nan'), 12345.678, 0.001, 1e-7,
               4.35, 0.045, 1.005, 999.9999, 9.5, 0.95, 99.5, 1e300, 123.456]
FLOATS = EDGE_FLOATS + [float(10**k) for k in range(-20, 25)] + random_floats(3000)

# ---- float repr -------------------------------------------------------------------
write('float_repr.txt', ['%s\t%s' % (bits(x), repr(x)) for x in FLOATS])

# ---- format specs -----------------------------------------------------------------
FLOAT_SPECS = ['', 'f', '.2f', '.0f', '.3f', '.10f', '.20f', 'e', '.0e', '.3e', '.12E', 'g',
               '.1g', '.3g', '.10g', '.17g', 'G', '#g', '#.3g', 'n', '%', '.1%', '.3',
               '.1', '.12', '10', '<10', '^12', '=+12', '010', '+', ' ', '-', '#', ',', '_',
               ',.2f', '015,.3f', '_.1f', '*^20.4e', 'z.1f', 'z', '+z.0f', '#.0f', '#.0e',
               '.0%', 'x>+15,.2f', '20.3G', 'F', '.2F', '#e', 'd', 'x', 'c', 's', '.', 'ff',
               ',_', '_,', ',g', '_e', '15', '=10', '0', '0<10', '.30e', '.300f']
INT_SPECS = ['', 'd', 'b', 'o', 'x', 'X', '#b', '#o', '#x', '#X', 'c', ',', '_', '_b', '_x',
             '#_x', '010', '010,', '=+10', '^10', '<10', '>10', '*^11,', '+', ' ', '-', 'n',
             'e', '.2e', 'f', '.2f', 'g', '%', '.1%', 'E', 'G', '08.3f', '.2', '.2d', 's',
             'z', 'zd', '+c', '#c', ',x', ',b', ',n', '_n', ',_', ',,', '.', 'dd', 'c,',
             'x<+#8x', '\u00e9>5', '=^5', '0=12_d', '012_b', '#010x', '-#08o', '20,', 'r',
             '99999999999999999999', '.d']
STR_SPECS = ['', 's', '10', '<10', '>10', '^10', '*^9', '.2', '10.2s', '05', '=5', '+', ' ',
             '#', ',', 'z', 'd', '.', '\u00e9^7', '0>4', 'ss']
INTS = [0, 1, -1, 7, -7, 42, 65, 255, -255, 1000, 1234, -1234, 1234567, 10**9, -10**12,
        I64_MAX, I64_MIN, 0x10FFFF, 0x110000, 2**53 + 1, 128512]
STRS = ['', 'a', 'abc', 'hello world', 'h\u00e9llo', '\u4e2d\u6587', 'x' * 12]
lines = []
fmt_floats = EDGE_FLOATS + random_floats(150)
for x in fmt_floats:
    for spec in FLOAT_SPECS:
        lines.append('float\t%s\t%s\t%s' % (bits(x), spec, run(lambda: format(x, spec))))
for v in INTS:
    for spec in INT_SPECS:
        lines.append('int\t%d\t%s\t%s' % (v, spec, run(lambda: format(v, spec))))
for v in (True, False):
    for spec in INT_SPECS:
        lines.append('bool\t%s\t%s\t%s' % (v, spec, run(lambda: format(v, spec))))
for s in STRS:
    for spec in STR_SPECS:
        lines.append('str\t%s\t%s\t%s' % (s, spec, run(lambda: format(s, spec))))
lines.append('hex\t-255\t\t' + enc(hex(-255)))
for v in INTS:
    lines.append('bin\t%d\t\t%s' % (v, enc(bin(v))))
    lines.append('oct\t%d\t\t%s' % (v, enc(oct(v))))
    lines.append('hex\t%d\t\t%s' % (v, enc(hex(v))))
write('format.txt', lines)

# ---- arithmetic ---------------------------------------------------------------------
SMALL = [0, 1, -1, 2, -2, 3, -3, 7, -7, 10, -10, 13, 100, -100, 2**31, 2**32 + 5,
         2**53, 2**53 + 1, -(2**53 + 1), 2**62, I64_MAX, I64_MIN, I64_MIN + 1, 10**18,
         -10**18, 123456789, 3**39]
int_pairs = [(a, b) for a in SMALL for b in SMALL]
for _ in range(600):
    a = rng.randint(I64_MIN, I64_MAX) >> rng.randint(0, 63)
    b = rng.randint(I64_MIN, I64_MAX) >> rng.randint(0, 63)
    int_pairs.append((a, b))
lines = []
for a, b in int_pairs:
    lines.append('floordiv\t%d\t%d\t%s' % (a, b, run(lambda: a // b)))
    lines.append('mod\t%d\t%d\t%s' % (a, b, run(lambda: a % b)))
    lines.append('divmod\t%d\t%d\t%s' % (a, b, run(lambda: divmod(a, b))))
    lines.append('truediv\t%d\t%d\t%s' % (a, b, run(lambda: a / b)))
    lines.append('add\t%d\t%d\t%s' % (a, b, run(lambda: a + b)))
    lines.append('sub\t%d\t%d\t%s' % (a, b, run(lambda: a - b)))
    lines.append('mul\t%d\t%d\t%s' % (a, b, run(lambda: a * b)))
    lines.append('cmpif\t%d\t%s\t%s' % (a, bits(float(b)), run(lambda: (a < float(b)) - (a > float(b)))))
    lines.append('cmpif\t%d\t%s\t%s' % (a, bits(float(b) + 0.5), run(lambda: (a < float(b) + 0.5) - (a > float(b) + 0.5))))
    if -70 <= b <= 70:
        lines.append('lshift\t%d\t%d\t%s' % (a, b, run(lambda: a << b)))
        lines.append('rshift\t%d\t%d\t%s' % (a, b, run(lambda: a >> b)))
        if abs(a) < 10**6 or b <= 3:
            lines.append('pow\t%d\t%d\t%s' % (a, b, run(lambda: a ** b)))
    if -40 <= b <= 5:
        lines.append('roundi\t%d\t%d\t%s' % (a, b, run(lambda: round(a, b))))
    lines.append('gcd\t%d\t%d\t%s' % (a, b, run(lambda: math.gcd(a, b))))
    lines.append('lcm\t%d\t%d\t%s' % (a, b, run(lambda: math.lcm(a, b))))
for a in range(-3, 25):
    lines.append('factorial\t%d\t0\t%s' % (a, run(lambda: math.factorial(a))))
for a in SMALL + [rng.randint(0, I64_MAX) >> rng.randint(0, 63) for _ in range(300)]:
    lines.append('isqrt\t%d\t0\t%s' % (a, run(lambda: math.isqrt(a))))
    lines.append('abs\t%d\t0\t%s' % (a, run(lambda: abs(a))))
    lines.append('neg\t%d\t0\t%s' % (a, run(lambda: -a)))
for a, b, m in [(2, 10, 1000), (3, -1, 7), (2, -1, 4), (5, 3, 0), (-7, 3, 5), (7, 3, -5),
                (10**18, 10**18, 10**18 + 9), (I64_MIN, 3, I64_MAX), (4, -3, -11), (0, 0, 1),
                (2, I64_MAX, 1000000007), (0, -1, 5), (12, 34, 1), (3, 4, -1)]:
    lines.append('powmod\t%d\t%d,%d\t%s' % (a, b, m, run(lambda: pow(a, b, m))))
FSMALL = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, 7.5, -7.5, 2.5, 1e-300, 1e300,
          float('inf'), float('-inf'), float('nan'), 0.1, 1e16, -8.0, 1/3, 10.0, 1e-5]
float_pairs = [(a, b) for a in FSMALL for b in FSMALL]
fl = random_floats(300)
float_pairs += list(zip(fl, fl[1:]))
for a, b in float_pairs:
    A, B = bits(a), bits(b)
    lines.append('ffloordiv\t%s\t%s\t%s' % (A, B, run(lambda: a // b)))
    lines.append('fmod\t%s\t%s\t%s' % (A, B, run(lambda: a % b)))
    lines.append('fdivmod\t%s\t%s\t%s' % (A, B, run(lambda: divmod(a, b))))
    lines.append('ftruediv\t%s\t%s\t%s' % (A, B, run(lambda: a / b)))
    lines.append('fpow\t%s\t%s\t%s' % (A, B, run(lambda: a ** b)))
for x in FLOATS[:800] + [0.5, 1.5, 2.5, -0.5, -1.5, 9.223372036854775e18, -9.223372036854776e18, 9.223372036854776e18]:
    X = bits(x)
    lines.append('round0\t%s\t0\t%s' % (X, run(lambda: round(x))))
    lines.append('trunc\t%s\t0\t%s' % (X, run(lambda: int(x))))
    lines.append('floor\t%s\t0\t%s' % (X, run(lambda: math.floor(x))))
    lines.append('ceil\t%s\t0\t%s' % (X, run(lambda: math.ceil(x))))
    for n in (0, 1, 2, 3, -1, -2, 5, 10, 300, 400, -308, -400):
        lines.append('roundf\t%s\t%d\t%s' % (X, n, run(lambda: round(x, n))))
for x, n in [(2.675, 2), (0.5, 0), (1.5, 0), (-0.5, 0), (-0.4, 0), (1.7976931348623157e308, -308),
             (1e308, -308), (5e-324, 323), (0.125, 2), (0.375, 2), (2.5, 0)]:
    lines.append('roundf\t%s\t%d\t%s' % (bits(x), n, run(lambda: round(x, n))))
write('arith.txt', lines)

# ---- parsing ------------------------------------------------------------------------
INT_STRS = ['0', '1', '-1', '  42  ', '+7', '1_000', '1__0', '_1', '1_', 'abc', '', ' ',
            '0x10', '0X1f', '0o17', '0b101', '0b', '0x', '0x_ff', '0_0', '00', '010', '09',
            '9223372036854775807', '9223372036854775808', '-9223372036854775808',
            '-9223372036854775809', '99999999999999999999999', '1' * 5000, '\u0661\u0662',
            ' \u00a012\u2003', '1.5', '1e3', '--1', '+-1', '- 1', 'x' * 300, "it's",
            '\t\n12\x0c', '\u0ae6\u0967', '12\x00', '\u00e9', '1 2', '0b1', 'z', 'Z', '35']
lines = []
for s in INT_STRS:
    for base in (10, 0, 2, 8, 16, 36, 1, 37, 3):
        lines.append('int\t%s\t%d\t%s' % (s.encode('utf-8').hex(), base, run(lambda: int(s, base))))
FLOAT_STRS = ['1.5', '  1.5 ', '1e5', 'inf', '-Infinity', 'nan', '-nan', '+inf', 'INF',
              'iNfInItY', 'infinit', '1_000.5', '1__0', '1_', '_1', '1._5', '1_.5', '1e1_0',
              'x', '', ' ', '.', '.5', '5.', '-.5e-3', '1e', '1e+', 'e5', '1.2.3', '0x10',
              '1e400', '-1e400', '1e-400', '123456789012345678901234567890',
              '0.1000000000000000055511151231257827021181583404541015625', '\u0661.5',
              '\u00a01.5\u3000', '1,5', 'nan(1)', '++1', '1d5', '4.9e-324', '2.4703282292062328e-324',
              '00012', '1E5', '1.e5', "'"]
for s in FLOAT_STRS:
    lines.append('float\t%s\t0\t%s' % (s.encode('utf-8').hex(), run(lambda: float(s))))
REPR_STRS = ['', 'a', "it's", 'say "hi"', 'both \' and "', 'tab\there', 'nl\n', '\\', '\x00\x7f',
             '\u00e9\u00a0\u200b', '\U0001f600', '\ud7ff\ue000', '\x85', '\u2028']
for s in REPR_STRS:
    lines.append('repr\t%s\t0\t%s' % (s.encode('utf-8').hex(), enc(repr(s))))
write('parse.txt', lines)

# ---- hashing ------------------------------------------------------------------------
lines = []
for v in SMALL + [rng.randint(I64_MIN, I64_MAX) for _ in range(300)] + [2**61 - 1, 2**61, -(2**61), 2**61 - 2]:
    lines.append('int\t%d\t%d' % (v, hash(v)))
for x in FLOATS:
    if not math.isnan(x):
        lines.append('float\t%s\t%d' % (bits(x), hash(x)))
lines.append('bool\tTrue\t%d' % hash(True))
lines.append('bool\tFalse\t%d' % hash(False))
TUPLES = [(), (1,), (1, 2), (1, 2, 3), (-1,), (0.5, 2), ((1, 2), 3), (((),),), tuple(range(20)),
          (1.5, -2.25, 1e300), (True, False), (I64_MIN, I64_MAX)]
for _ in range(100):
    TUPLES.append(tuple(rng.randint(-10**12, 10**12) for _ in range(rng.randint(0, 6))))


def tup_enc(t):
    parts = []
    for e in t:
        if isinstance(e, tuple):
            parts.append('(' + tup_enc(e) + ')')
        elif isinstance(e, bool):
            parts.append('b' + str(int(e)))
        elif isinstance(e, float):
            parts.append('f' + bits(e))
        else:
            parts.append('i' + str(e))
    return ' '.join(parts)


for t in TUPLES:
    lines.append('tuple\t%s\t%d' % (tup_enc(t), hash(t)))
write('hash.txt', lines)

# ---- set iteration order ------------------------------------------------------------
# Each line: ops (a<int> add, r<int> discard, p pop, c clear) separated by spaces, then
# a tab and the resulting iteration order.  'L' lines: a constant set literal (merge of
# a frozenset), 'M' lines: set(a) | set(b) / a.update(b) via set_merge.
lines = []


def seq(ops):
    s = set()
    for op in ops:
        if op[0] == 'a':
            s.add(int(op[1:]))
        elif op[0] == 'r':
            s.discard(int(op[1:]))
        elif op[0] == 'p':
            if s:
                s.pop()
        elif op[0] == 'c':
            s.clear()
    lines.append('S\t%s\t%s' % (' '.join(ops), ' '.join(map(str, s))))


seq(['a%d' % x for x in [5, 3, 17, 1, 100, -1, 33]])
seq(['a%d' % x for x in range(50)])
seq(['a%d' % x for x in range(50)] + ['r%d' % x for x in range(0, 50, 3)])
seq(['a%d' % x for x in range(50)] + ['r%d' % x for x in range(0, 50, 3)] + ['a%d' % x for x in range(100, 130)])
seq(['a%d' % (x * 7 % 100) for x in range(40)])
seq(['a%d' % x for x in [8, 16, 24, 0, 32]] + ['r16', 'a40', 'a16', 'r8', 'a48'])
seq(['a%d' % (x * 8) for x in range(30)] + ['r%d' % (x * 8) for x in range(10)] + ['a%d' % (x * 8 + 1) for x in range(10)])
seq(['a%d' % x for x in [2**61 - 1, 2**61, -5, -(2**62), 2**63 - 1, -(2**63), 12345678901234]])
for _ in range(40):
    ops = []
    pool = [rng.randint(-10**6, 10**6) for _ in range(rng.randint(5, 200))]
    for _ in range(rng.randint(5, 400)):
        k = rng.random()
        if k < 0.6:
            ops.append('a%d' % rng.choice(pool))
        elif k < 0.9:
            ops.append('r%d' % rng.choice(pool))
        elif k < 0.98:
            ops.append('p')
        else:
            ops.append('c')
    seq(ops)
for elems in [[5, 3, 17, 1, 100, -1, 33], [1, 2, 3], list(range(10)), [x * 7 % 100 for x in range(40)],
              [8, 16, 24, 0, 32, 40], [1, 9, 17, 25, 33, 41, 49]]:
    lit = eval('{' + ', '.join(map(str, elems)) + '}')
    lines.append('L\t%s\t%s' % (' '.join(map(str, elems)), ' '.join(map(str, lit))))
    lst = set(elems)
    lines.append('C\t%s\t%s' % (' '.join(map(str, elems)), ' '.join(map(str, set(lst)))))
    u = set(elems)
    u.update(set([x * 3 for x in elems]))
    lines.append('U\t%s\t%s' % (' '.join(map(str, elems)), ' '.join(map(str, u))))
write('set_order.txt', lines)
print('ok')
