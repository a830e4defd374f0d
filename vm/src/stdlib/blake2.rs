//! BLAKE2b and BLAKE2s (RFC 7693), for `hashlib.blake2b`/`blake2s` (stdlib stage; the hash
//! objects are `_hashlib`'s, `stdlib/hashlib.rs`). One compression function written once for
//! both word sizes (a macro: 64-bit words, 12 rounds, 128-byte blocks for BLAKE2b; 32-bit
//! words, 10 rounds, 64-byte blocks for BLAKE2s), with the whole parameter block of the
//! specification: digest size, key, salt, personalization and the tree-hashing fields CPython
//! accepts (fanout, depth, leaf size, node offset, node depth, inner size, last node).

/// The message word order of each round (round `r` uses row `r % 10`).
const SIGMA: [[usize; 16]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

/// The parameters of a BLAKE2 hash, as `hashlib.blake2b(...)` takes them (already checked
/// against the variant's limits by the caller).
pub struct Params<'a> {
    pub digest_size: usize,
    pub key: &'a [u8],
    pub salt: &'a [u8],
    pub person: &'a [u8],
    pub fanout: u8,
    pub depth: u8,
    pub leaf_size: u32,
    pub node_offset: u64,
    pub node_depth: u8,
    pub inner_size: u8,
    pub last_node: bool,
}

macro_rules! blake2 {
    ($name:ident, $word:ty, $bytes:expr, $rounds:expr, $rot:expr, $iv:expr, $salt:expr) => {
        /// The running state: chain value, bytes counted so far, and the bytes of the block
        /// not compressed yet (the last block is compressed only by `digest`, flagged final).
        #[derive(Clone)]
        pub struct $name {
            h: [$word; 8],
            count: u128,
            buf: Vec<u8>,
            pub out: usize,
            last_node: bool,
        }

        impl $name {
            /// Block size in bytes.
            pub const BLOCK: usize = 16 * $bytes;
            /// Longest digest, key, salt and personalization.
            pub const MAX_OUT: usize = 8 * $bytes;
            pub const SALT: usize = $salt;

            pub fn new(p: &Params<'_>) -> $name {
                // The parameter block: 8 words, little-endian.
                let mut block = [0u8; 8 * $bytes];
                block[0] = p.digest_size as u8;
                block[1] = p.key.len() as u8;
                block[2] = p.fanout;
                block[3] = p.depth;
                block[4..8].copy_from_slice(&p.leaf_size.to_le_bytes());
                let off = p.node_offset.to_le_bytes();
                // BLAKE2b: 8 bytes of node offset, then node depth and inner length; BLAKE2s:
                // 6 bytes of it. Salt and personalization fill the last two quarters.
                let off_len = if $bytes == 8 { 8 } else { 6 };
                block[8..8 + off_len].copy_from_slice(&off[..off_len]);
                block[8 + off_len] = p.node_depth;
                block[9 + off_len] = p.inner_size;
                let half = 4 * $bytes;
                block[half..half + p.salt.len()].copy_from_slice(p.salt);
                let q3 = half + $salt;
                block[q3..q3 + p.person.len()].copy_from_slice(p.person);
                let mut h = $iv;
                for (i, w) in h.iter_mut().enumerate() {
                    let mut b = [0u8; $bytes];
                    b.copy_from_slice(&block[i * $bytes..(i + 1) * $bytes]);
                    *w ^= <$word>::from_le_bytes(b);
                }
                let mut s = $name {
                    h,
                    count: 0,
                    buf: Vec::with_capacity(Self::BLOCK),
                    out: p.digest_size,
                    last_node: p.last_node,
                };
                if !p.key.is_empty() {
                    let mut k = p.key.to_vec();
                    k.resize(Self::BLOCK, 0);
                    s.update(&k);
                }
                s
            }

            fn compress(h: &mut [$word; 8], block: &[u8], count: u128, last: bool, node: bool) {
                let mut m = [0 as $word; 16];
                for (i, w) in m.iter_mut().enumerate() {
                    let mut b = [0u8; $bytes];
                    b.copy_from_slice(&block[i * $bytes..(i + 1) * $bytes]);
                    *w = <$word>::from_le_bytes(b);
                }
                let iv: [$word; 8] = $iv;
                let mut v = [0 as $word; 16];
                v[..8].copy_from_slice(h);
                v[8..].copy_from_slice(&iv);
                v[12] ^= count as $word;
                v[13] ^= (count >> (8 * $bytes)) as $word;
                if last {
                    v[14] = !v[14];
                    if node {
                        v[15] = !v[15];
                    }
                }
                let (r1, r2, r3, r4): (u32, u32, u32, u32) = $rot;
                let mut g = |a: usize, b: usize, c: usize, d: usize, x: $word, y: $word| {
                    v[a] = v[a].wrapping_add(v[b]).wrapping_add(x);
                    v[d] = (v[d] ^ v[a]).rotate_right(r1);
                    v[c] = v[c].wrapping_add(v[d]);
                    v[b] = (v[b] ^ v[c]).rotate_right(r2);
                    v[a] = v[a].wrapping_add(v[b]).wrapping_add(y);
                    v[d] = (v[d] ^ v[a]).rotate_right(r3);
                    v[c] = v[c].wrapping_add(v[d]);
                    v[b] = (v[b] ^ v[c]).rotate_right(r4);
                };
                for r in 0..$rounds {
                    let s = &SIGMA[r % 10];
                    g(0, 4, 8, 12, m[s[0]], m[s[1]]);
                    g(1, 5, 9, 13, m[s[2]], m[s[3]]);
                    g(2, 6, 10, 14, m[s[4]], m[s[5]]);
                    g(3, 7, 11, 15, m[s[6]], m[s[7]]);
                    g(0, 5, 10, 15, m[s[8]], m[s[9]]);
                    g(1, 6, 11, 12, m[s[10]], m[s[11]]);
                    g(2, 7, 8, 13, m[s[12]], m[s[13]]);
                    g(3, 4, 9, 14, m[s[14]], m[s[15]]);
                }
                for i in 0..8 {
                    h[i] ^= v[i] ^ v[i + 8];
                }
            }

            pub fn update(&mut self, mut data: &[u8]) {
                while !data.is_empty() {
                    // A full buffer is compressed only once more data follows it.
                    if self.buf.len() == Self::BLOCK {
                        self.count = self.count.wrapping_add(Self::BLOCK as u128);
                        Self::compress(&mut self.h, &self.buf, self.count, false, false);
                        self.buf.clear();
                    }
                    let take = (Self::BLOCK - self.buf.len()).min(data.len());
                    self.buf.extend_from_slice(&data[..take]);
                    data = &data[take..];
                }
            }

            pub fn digest(&self) -> Vec<u8> {
                let mut h = self.h;
                let count = self.count.wrapping_add(self.buf.len() as u128);
                let mut last = self.buf.clone();
                last.resize(Self::BLOCK, 0);
                Self::compress(&mut h, &last, count, true, self.last_node);
                let mut out: Vec<u8> = h.iter().flat_map(|w| w.to_le_bytes()).collect();
                out.truncate(self.out);
                out
            }
        }
    };
}

blake2!(
    Blake2b,
    u64,
    8,
    12,
    (32, 24, 16, 63),
    // BLAKE2b starts from SHA-512's initial hash value (RFC 7693, section 2.6).
    super::sha512::H0,
    16
);

blake2!(
    Blake2s,
    u32,
    4,
    10,
    (16, 12, 8, 7),
    [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19
    ],
    8
);
