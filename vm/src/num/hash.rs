//! Stage 4 (VM), numeric semantics.
//! CPython-compatible `hash()` for int, float and bool, and CPython 3.11's tuple hash.
//!
//! Numeric hashes reduce modulo the Mersenne prime `2**61 - 1`, so equal numbers of
//! different types (`1`, `1.0`, `True`) hash equally.  `-1` is never a hash value
//! (CPython reserves it for errors) and maps to `-2`.

/// `2**61 - 1`, CPython's `_PyHASH_MODULUS` on 64-bit builds.
pub const HASH_MODULUS: u64 = (1 << 61) - 1;
const HASH_BITS: i32 = 61;
/// `hash(float('inf'))`.
pub const HASH_INF: i64 = 314_159;

/// `hash(n)` for an int.
#[inline]
pub fn hash_int(n: i64) -> i64 {
    let a = n.unsigned_abs();
    // Most ints are below the modulus, where the remainder is the number itself: skip the
    // division (tens of cycles).
    let m = if a < HASH_MODULUS {
        a
    } else {
        a % HASH_MODULUS
    } as i64;
    let h = if n < 0 { -m } else { m };
    if h == -1 {
        -2
    } else {
        h
    }
}

/// `hash(b)` for a bool.
#[inline]
pub fn hash_bool(b: bool) -> i64 {
    i64::from(b)
}

/// `frexp` for finite non-zero x: `x = m * 2^e` with `0.5 <= |m| < 1`.
fn frexp(x: f64) -> (f64, i32) {
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 {
        // subnormal: scale up by 2^64 first
        let (m, e) = frexp(x * 18_446_744_073_709_551_616.0);
        return (m, e - 64);
    }
    let e = exp - 1022;
    let m = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (m, e)
}

/// `hash(x)` for a float: equal to `hash_int` for integral values, `±314159` for
/// infinities.  NaN: CPython 3.10+ hashes NaN by object identity; minivm returns 0
/// (NaN never compares equal, so any value is consistent).
pub fn hash_float(v: f64) -> i64 {
    if !v.is_finite() {
        if v.is_infinite() {
            return if v > 0.0 { HASH_INF } else { -HASH_INF };
        }
        return 0;
    }
    if v == 0.0 {
        return 0;
    }
    let (mut m, mut e) = frexp(v);
    let mut sign: u64 = 1;
    if m < 0.0 {
        sign = u64::MAX; // -1 as unsigned
        m = -m;
    }
    let mut x: u64 = 0;
    while m != 0.0 {
        x = ((x << 28) & HASH_MODULUS) | (x >> (HASH_BITS - 28));
        m *= 268_435_456.0;
        e -= 28;
        let y = m as u64;
        m -= y as f64;
        x += y;
        if x >= HASH_MODULUS {
            x -= HASH_MODULUS;
        }
    }
    let e = if e >= 0 {
        e % HASH_BITS
    } else {
        HASH_BITS - 1 - ((-1 - e) % HASH_BITS)
    };
    x = ((x << e) & HASH_MODULUS) | (x >> (HASH_BITS - e));
    x = x.wrapping_mul(sign);
    let h = x as i64;
    if h == -1 {
        -2
    } else {
        h
    }
}

const XXPRIME_1: u64 = 11_400_714_785_074_694_791;
const XXPRIME_2: u64 = 14_029_467_366_897_019_727;
const XXPRIME_5: u64 = 2_870_177_450_012_600_261;

/// CPython 3.11 `tuplehash` (xxHash-based) given the element hashes, in order.
pub fn hash_tuple<I: IntoIterator<Item = i64>>(item_hashes: I) -> i64 {
    let mut t = TupleHash::new();
    for h in item_hashes {
        t.add(h);
    }
    t.finish()
}

/// [`hash_tuple`] one item hash at a time, for callers that compute the items' hashes as they
/// go (no array of them).
pub struct TupleHash {
    acc: u64,
    len: u64,
}

impl TupleHash {
    #[inline(always)]
    pub fn new() -> TupleHash {
        TupleHash {
            acc: XXPRIME_5,
            len: 0,
        }
    }

    #[inline(always)]
    pub fn add(&mut self, h: i64) {
        let lane = h as u64;
        self.acc = self.acc.wrapping_add(lane.wrapping_mul(XXPRIME_2));
        self.acc = self.acc.rotate_left(31);
        self.acc = self.acc.wrapping_mul(XXPRIME_1);
        self.len = self.len.wrapping_add(1);
    }

    #[inline(always)]
    pub fn finish(&self) -> i64 {
        let acc = self.acc.wrapping_add(self.len ^ (XXPRIME_5 ^ 3_527_539));
        if acc == u64::MAX {
            return 1_546_275_796;
        }
        acc as i64
    }
}

impl Default for TupleHash {
    fn default() -> TupleHash {
        TupleHash::new()
    }
}

/// CPython's `frozenset` hash from its members' hashes: order-independent (each hash's bits
/// spread, then combined with xor), then the size mixed in and the result dispersed, so
/// frozensets of numbers hash to CPython's values (sets of sets spread well too).
pub fn hash_frozenset(member_hashes: impl Iterator<Item = u64>, len: usize) -> u64 {
    let spread = |h: u64| ((h ^ 89_869_747) ^ (h << 16)).wrapping_mul(3_644_798_167);
    let mut h = member_hashes.fold(0u64, |acc, m| acc ^ spread(m));
    h ^= (len as u64 + 1).wrapping_mul(1_927_868_237);
    h ^= (h >> 11) ^ (h >> 25);
    h = h.wrapping_mul(69_069).wrapping_add(907_133_923);
    if h == u64::MAX {
        590_923_713
    } else {
        h
    }
}
