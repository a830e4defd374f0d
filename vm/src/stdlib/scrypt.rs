//! `hashlib.scrypt` (library stage): the scrypt password-based key derivation of RFC 7914,
//! with CPython's arguments, limits and errors (its `_hashlib.scrypt`, which asks OpenSSL).
//!
//! scrypt makes a key expensive to guess by making it expensive in memory: PBKDF2-HMAC-SHA256
//! spreads the password over `p` blocks of `128 * r` bytes; each block goes through ROMix, which
//! fills a table of `n` successive states (BlockMix, built on the Salsa20/8 core) and then
//! visits them in an order that depends on the data; a last PBKDF2 turns the blocks into the
//! key. The work runs without the GIL, as CPython's does: threads hashing passwords overlap
//! (Fowler's "Python Concurrency with asyncio" shows exactly that in its thread-pool chapter).

use crate::builtins::args::Sig;
use crate::err;
use crate::error::PyResult;
use crate::interp::{Args, Interp};
use crate::value::Value;
use sha2::{Digest, Sha256};

/// What OpenSSL allows when `maxmem` is 0: 32 MiB for the table and the blocks together.
const DEFAULT_MAXMEM: u64 = 32 * 1024 * 1024;
const INT_MAX: i64 = i32::MAX as i64;

/// `scrypt(password, *, salt, n, r, p, maxmem=0, dklen=64)`.
pub fn scrypt(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [password, salt, n, r, p, maxmem, dklen] = Sig::kw("scrypt", &["password"], 1)
        .kwonly(&["salt", "n", "r", "p", "maxmem", "dklen"])
        .bind::<7>(&args)?;
    let password = bytes_like(password)?;
    let Some(salt) = salt else {
        return Err(err!(TypeError, "salt is required"));
    };
    let salt = bytes_like(Some(salt))?;
    let n = unsigned(n, "n")?;
    let r = unsigned(r, "r")?;
    let p = unsigned(p, "p")?;
    if n < 2 || n & (n - 1) != 0 {
        return Err(err!(ValueError, "n must be a power of 2."));
    }
    let maxmem = match maxmem {
        None => 0,
        Some(v) => int_arg(v, "maxmem")?,
    };
    if !(0..=INT_MAX).contains(&maxmem) {
        return Err(err!(
            ValueError,
            "maxmem must be positive and smaller than 2147483647"
        ));
    }
    let dklen = match dklen {
        None => 64,
        Some(v) => int_arg(v, "dklen")?,
    };
    if !(1..=INT_MAX).contains(&dklen) {
        return Err(err!(
            ValueError,
            "dklen must be greater than 0 and smaller than 2147483647"
        ));
    }
    check_cost(n, r, p, maxmem as u64)?;
    let (r, p) = (r as usize, p as usize);
    let key = interp.allow_threads(move || derive(&password, &salt, n, r, p, dklen as usize));
    match key {
        Some(key) => Ok(Value::bytes(key)),
        None => Err(err!(MemoryError, "")),
    }
}

/// The bytes of a bytes-like argument.
fn bytes_like(v: Option<&Value>) -> PyResult<Vec<u8>> {
    let v = v.ok_or_else(|| err!(TypeError, "password is required"))?;
    match v {
        Value::Str(_) => Err(err!(
            TypeError,
            "a bytes-like object is required, not 'str'"
        )),
        other => Ok(crate::builtins::bytes_methods::arg_bytes(other)?.to_vec()),
    }
}

/// An int argument (`maxmem`, `dklen`), with CPython's TypeError for anything else.
fn int_arg(v: &Value, name: &str) -> PyResult<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Bool(b) => Ok(*b as i64),
        // Beyond 64 bits: out of range all the same.
        Value::BigInt(_) => Ok(i64::MAX),
        other => Err(err!(
            TypeError,
            "scrypt() argument '{name}' must be int, not {}",
            crate::object::type_name(other)
        )),
    }
}

/// `n`, `r` or `p`: required, an int, not negative (CPython's "unsigned long").
fn unsigned(v: Option<&Value>, name: &str) -> PyResult<u64> {
    let required = || err!(TypeError, "{name} is required and must be an unsigned int");
    match v {
        None => Err(required()),
        Some(Value::Int(i)) => u64::try_from(*i).map_err(|_| required()),
        Some(Value::Bool(b)) => Ok(*b as u64),
        Some(Value::BigInt(b)) => u64::try_from(&**b).map_err(|_| required()),
        Some(other) => Err(err!(
            TypeError,
            "scrypt() argument '{name}' must be int, not {}",
            crate::object::type_name(other)
        )),
    }
}

/// OpenSSL's checks of the cost parameters, with its messages: r and p not 0 (checked by
/// CPython first), r and p within 32 bits, `r * p < 2**30`, `n < 2**(16 r)`, and the blocks
/// (`128 r p` bytes) plus the table (`128 r (n + 2)` bytes) within `maxmem`.
fn check_cost(n: u64, r: u64, p: u64, maxmem: u64) -> PyResult<()> {
    if r == 0 || p == 0 {
        return Err(err!(
            ValueError,
            "Invalid parameter combination for n, r, p, maxmem."
        ));
    }
    if r > u64::from(u32::MAX) || p > u64::from(u32::MAX) {
        return Err(err!(
            ValueError,
            "[digital envelope routines] parameter too large"
        ));
    }
    let too_much = || {
        err!(
            ValueError,
            "[digital envelope routines] memory limit exceeded"
        )
    };
    if p > ((1u64 << 30) - 1) / r {
        return Err(too_much());
    }
    if 16 * r < 64 && n >= 1u64 << (16 * r) {
        return Err(too_much());
    }
    let blocks = 128 * r * p;
    let table = (n + 2).checked_mul(128 * r).ok_or_else(too_much)?;
    let limit = if maxmem == 0 { DEFAULT_MAXMEM } else { maxmem };
    match blocks.checked_add(table) {
        Some(total) if total <= limit && blocks <= INT_MAX as u64 => Ok(()),
        _ => Err(too_much()),
    }
}

/// The derivation itself (no GIL held). `None` if the table cannot be allocated. The
/// parameters are the caller's to check (`check_cost`): `n` a power of 2, `r` and `p` above 0.
pub fn derive(
    password: &[u8],
    salt: &[u8],
    n: u64,
    r: usize,
    p: usize,
    dklen: usize,
) -> Option<Vec<u8>> {
    let block_len = 128 * r;
    let mut blocks = pbkdf2_sha256_once(password, salt, p * block_len);
    let mut table: Vec<u32> = Vec::new();
    table.try_reserve_exact(n as usize * block_len / 4).ok()?;
    for block in blocks.chunks_mut(block_len) {
        romix(block, n as usize, r, &mut table);
    }
    Some(pbkdf2_sha256_once(password, &blocks, dklen))
}

/// HMAC-SHA256 of `parts` (concatenated) under `key` (RFC 2104).
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    for part in parts {
        inner.update(part);
    }
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// PBKDF2-HMAC-SHA256 with one iteration (all scrypt needs): block `i` of the output is
/// HMAC(password, salt || i as 4 big-endian bytes).
fn pbkdf2_sha256_once(password: &[u8], salt: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut i: u32 = 1;
    while out.len() < len {
        out.extend_from_slice(&hmac_sha256(password, &[salt, &i.to_be_bytes()]));
        i = i.wrapping_add(1);
    }
    out.truncate(len);
    out
}

/// ROMix on one block of `128 r` bytes, in place: fill `table` with `n` successive BlockMix
/// states, then mix in the states the data itself picks.
fn romix(block: &mut [u8], n: usize, r: usize, table: &mut Vec<u32>) {
    let words = 32 * r;
    let mut x: Vec<u32> = block
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let mut scratch = vec![0u32; words];
    table.clear();
    for _ in 0..n {
        table.extend_from_slice(&x);
        block_mix(&mut x, &mut scratch, r);
    }
    for _ in 0..n {
        // Integerify: the first 64 bits of the last 64-byte piece, modulo n (a power of 2).
        let last = (2 * r - 1) * 16;
        let j = ((u64::from(x[last + 1]) << 32 | u64::from(x[last])) & (n as u64 - 1)) as usize;
        for (xi, vi) in x.iter_mut().zip(&table[j * words..(j + 1) * words]) {
            *xi ^= vi;
        }
        block_mix(&mut x, &mut scratch, r);
    }
    for (chunk, w) in block.chunks_exact_mut(4).zip(&x) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
}

/// BlockMix: run the 2r pieces of 16 words through Salsa20/8, each chained on the one before,
/// and write the results back even-numbered first, then odd.
fn block_mix(b: &mut [u32], out: &mut [u32], r: usize) {
    let mut x = [0u32; 16];
    x.copy_from_slice(&b[(2 * r - 1) * 16..]);
    for i in 0..2 * r {
        for (xk, bk) in x.iter_mut().zip(&b[i * 16..(i + 1) * 16]) {
            *xk ^= bk;
        }
        salsa20_8(&mut x);
        let to = if i % 2 == 0 { i / 2 } else { r + i / 2 };
        out[to * 16..(to + 1) * 16].copy_from_slice(&x);
    }
    b.copy_from_slice(out);
}

/// The Salsa20 core with 8 rounds (four column-then-row double rounds), added to its input.
fn salsa20_8(b: &mut [u32; 16]) {
    fn quarter(x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
        x[b] ^= x[a].wrapping_add(x[d]).rotate_left(7);
        x[c] ^= x[b].wrapping_add(x[a]).rotate_left(9);
        x[d] ^= x[c].wrapping_add(x[b]).rotate_left(13);
        x[a] ^= x[d].wrapping_add(x[c]).rotate_left(18);
    }
    let mut x = *b;
    for _ in 0..4 {
        quarter(&mut x, 0, 4, 8, 12);
        quarter(&mut x, 5, 9, 13, 1);
        quarter(&mut x, 10, 14, 2, 6);
        quarter(&mut x, 15, 3, 7, 11);
        quarter(&mut x, 0, 1, 2, 3);
        quarter(&mut x, 5, 6, 7, 4);
        quarter(&mut x, 10, 11, 8, 9);
        quarter(&mut x, 15, 12, 13, 14);
    }
    for (bi, xi) in b.iter_mut().zip(x) {
        *bi = bi.wrapping_add(xi);
    }
}
