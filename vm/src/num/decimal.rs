//! Stage 4 (VM), numeric semantics.
//! Exact decimal expansion of finite `f64` values and correct round-half-even on it.
//!
//! An `f64` is `m * 2^e`, so its decimal expansion is finite (at most 767 significant
//! digits).  We compute it with a tiny base-10^9 big integer, then round on the exact
//! digits, which is what CPython's `_Py_dg_dtoa` modes 2/3 do.

/// Digits `d[0] d[1] ...` (values 0..=9, first non-zero unless empty) of `0.d0d1... * 10^point`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Digits {
    pub digits: Vec<u8>,
    pub point: i32,
}

const BASE: u64 = 1_000_000_000;

#[inline]
fn mul_small(limbs: &mut Vec<u32>, k: u32) {
    let mut carry: u64 = 0;
    for l in limbs.iter_mut() {
        let v = u64::from(*l) * u64::from(k) + carry;
        *l = (v % BASE) as u32;
        carry = v / BASE;
    }
    while carry > 0 {
        limbs.push((carry % BASE) as u32);
        carry /= BASE;
    }
}

/// Decompose a finite non-zero `|x|` into `(m, e)` with `|x| = m * 2^e`, `m` odd.
#[inline]
pub(crate) fn decompose(x: f64) -> (u64, i32) {
    let bits = x.to_bits();
    let exp_bits = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    let (mut m, mut e) = if exp_bits == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), exp_bits - 1075)
    };
    if m != 0 {
        let tz = m.trailing_zeros();
        m >>= tz;
        e += tz as i32;
    }
    (m, e)
}

/// Exact decimal digits of `|x|` (finite).  Zero gives empty digits and point 0.
pub(crate) fn exact_digits(x: f64) -> Digits {
    if x == 0.0 || !x.is_finite() {
        return Digits {
            digits: Vec::new(),
            point: 0,
        };
    }
    let (m, e) = decompose(x.abs());
    let mut limbs: Vec<u32> = vec![(m % BASE) as u32];
    let mut rest = m / BASE;
    while rest > 0 {
        limbs.push((rest % BASE) as u32);
        rest /= BASE;
    }
    let pow10 = if e >= 0 {
        let mut k = e;
        while k >= 29 {
            mul_small(&mut limbs, 1 << 29);
            k -= 29;
        }
        if k > 0 {
            mul_small(&mut limbs, 1 << k);
        }
        0
    } else {
        let mut k = -e;
        while k >= 13 {
            mul_small(&mut limbs, 1_220_703_125); // 5^13
            k -= 13;
        }
        if k > 0 {
            mul_small(&mut limbs, 5u32.pow(k as u32));
        }
        e
    };
    let mut digits: Vec<u8> = Vec::with_capacity(limbs.len() * 9);
    let mut first = true;
    for &l in limbs.iter().rev() {
        let mut buf = [0u8; 9];
        let mut v = l;
        for slot in buf.iter_mut().rev() {
            *slot = (v % 10) as u8;
            v /= 10;
        }
        if first {
            let skip = buf.iter().take_while(|&&d| d == 0).count();
            digits.extend_from_slice(&buf[skip..]);
            first = false;
        } else {
            digits.extend_from_slice(&buf);
        }
    }
    while digits.last() == Some(&0) {
        digits.pop();
    }
    // value = D * 10^pow10 where D has (len + stripped zeros) digits; compute point from
    // the unstripped length: point = ndigits_total + pow10.
    let total_len = {
        // number of decimal digits of the big integer
        let top = limbs.last().copied().unwrap_or(0);
        let mut n = 0i32;
        let mut t = top;
        while t > 0 {
            n += 1;
            t /= 10;
        }
        n + 9 * (limbs.len() as i32 - 1)
    };
    Digits {
        digits,
        point: total_len + pow10,
    }
}

impl Digits {
    /// Round half-even, keeping the first `keep` digits (may be <= 0 or beyond the end).
    /// Trailing zeros are stripped; a result of zero has empty digits.
    pub(crate) fn round_keep(&mut self, keep: i64) {
        let len = self.digits.len() as i64;
        if keep >= len {
            return;
        }
        if keep < 0 {
            self.digits.clear();
            return;
        }
        let k = keep as usize;
        let next = self.digits[k];
        let round_up = if next > 5 {
            true
        } else if next < 5 {
            false
        } else if self.digits[k + 1..].iter().any(|&d| d != 0) {
            true
        } else {
            k > 0 && self.digits[k - 1] % 2 == 1
        };
        self.digits.truncate(k);
        if round_up {
            let mut i = k;
            loop {
                if i == 0 {
                    self.digits.insert(0, 1);
                    self.point += 1;
                    break;
                }
                i -= 1;
                if self.digits[i] == 9 {
                    self.digits[i] = 0;
                } else {
                    self.digits[i] += 1;
                    break;
                }
            }
        }
        while self.digits.last() == Some(&0) {
            self.digits.pop();
        }
        if self.digits.is_empty() {
            self.point = 0;
        }
    }
}
