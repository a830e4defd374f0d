"""Generate ucd.bin, the tables of minivm's unicodedata module, from python3.11's unicodedata
(Unicode 14.0.0, the version CPython 3.11 answers with). Run: python3 gen.py (writes ucd.bin
beside this file). The file is zlib-compressed; mod.rs describes its layout."""
import os
import struct
import sys
import unicodedata as ud
import zlib

assert ud.unidata_version == '14.0.0', ud.unidata_version

CATEGORIES = ['Cn', 'Lu', 'Ll', 'Lt', 'Mn', 'Mc', 'Me', 'Nd', 'Nl', 'No', 'Zs', 'Zl', 'Zp', 'Cc',
              'Cf', 'Cs', 'Co', 'Lm', 'Lo', 'Pc', 'Pd', 'Ps', 'Pe', 'Pi', 'Pf', 'Po', 'Sm',
              'Sc', 'Sk', 'So']
BIDI = ['', 'L', 'LRE', 'LRO', 'R', 'AL', 'RLE', 'RLO', 'PDF', 'EN', 'ES', 'ET', 'AN', 'CS',
        'NSM', 'BN', 'B', 'S', 'WS', 'ON', 'LRI', 'RLI', 'FSI', 'PDI']
EAW = ['F', 'H', 'W', 'Na', 'A', 'N']
# Names made from the code point (CPython computes them too), stored as ranges.
ALGORITHMIC = ['CJK UNIFIED IDEOGRAPH-', 'CJK COMPATIBILITY IDEOGRAPH-', 'TANGUT IDEOGRAPH-',
               'KHITAN SMALL SCRIPT CHARACTER-', 'NUSHU CHARACTER-']

out = bytearray()


def u24(n):
    out.extend(n.to_bytes(3, 'little'))


def text(s):
    b = s.encode('ascii')
    assert len(b) < 256
    out.append(len(b))
    out.extend(b)


records, runs = {}, []
numerics, decomps, names, ranges, composites = [], [], [], [], []
for cp in range(0x110000):
    c = chr(cp)
    rec = (CATEGORIES.index(ud.category(c)), BIDI.index(ud.bidirectional(c)), ud.combining(c),
           EAW.index(ud.east_asian_width(c)), ud.mirrored(c))
    r = records.setdefault(rec, len(records))
    if not runs or runs[-1][1] != r:
        runs.append((cp, r))
    num = ud.numeric(c, None)
    if num is not None:
        numerics.append((cp, ud.decimal(c, -1), ud.digit(c, -1), num))
    d = ud.decomposition(c)
    if d:
        decomps.append((cp, d))
        parts = d.split()
        if len(parts) == 2 and not d.startswith('<') and ud.normalize('NFC', c) == c:
            composites.append(cp)
    name = ud.name(c, None)
    if name is None:
        continue
    for prefix in ALGORITHMIC:
        if name == prefix + '%04X' % cp:
            if ranges and ranges[-1][2] == prefix and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp, prefix])
            break
    else:
        names.append((cp, name))

out.extend(struct.pack('<H', len(records)))
for rec, _ in sorted(records.items(), key=lambda kv: kv[1]):
    out.extend(bytes(rec))
out.extend(struct.pack('<I', len(runs)))
for cp, r in runs:
    u24(cp)
    out.extend(struct.pack('<H', r))
out.extend(struct.pack('<I', len(numerics)))
for cp, dec, dig, num in numerics:
    u24(cp)
    out.extend(struct.pack('<bbd', dec, dig, num))
out.extend(struct.pack('<I', len(decomps)))
for cp, d in decomps:
    u24(cp)
    text(d)
out.extend(struct.pack('<I', len(composites)))
for cp in composites:
    u24(cp)
out.extend(struct.pack('<I', len(ranges)))
for start, end, prefix in ranges:
    u24(start)
    u24(end)
    text(prefix)
out.extend(struct.pack('<I', len(names)))
for cp, name in names:
    u24(cp)
    text(name)

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'ucd.bin')
with open(path, 'wb') as f:
    f.write(zlib.compress(bytes(out), 9))
print(len(records), 'records,', len(runs), 'runs,', len(numerics), 'numerics,', len(decomps),
      'decompositions,', len(composites), 'composites,', len(ranges), 'name ranges,', len(names),
      'names;', len(out), 'bytes,', os.path.getsize(path), 'compressed', file=sys.stderr)
