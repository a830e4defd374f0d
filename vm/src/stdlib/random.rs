//! Stage 4 (VM), standard library.
//! `_random`: the Mersenne Twister generator (MT19937) behind the `random` library module
//! (`vm/lib/random.mini`), seeded exactly as CPython seeds it, so a program gets CPython's
//! sequences for the same seed. As in CPython, the generator core is native code and the
//! distributions (`randrange`, `choice`, `gauss`...) are written in the language itself.

use parking_lot::Mutex;

use crate::heap::Ref;
use crate::interp::{Args, Interp};
use crate::object::{type_name, Class, Module};
use crate::stdlib::{make_module, native_class};
use crate::value::Value;
use crate::{err, PyResult};

/// Words of state of MT19937.
const N: usize = 624;
/// The middle word used by the twist.
const M: usize = 397;

/// MT19937 state: 624 words and the index of the next word to temper and return.
pub struct Mt {
    state: [u32; N],
    index: usize,
}

impl Mt {
    /// `init_genrand`: fill the state from one 32-bit seed (a linear recurrence).
    fn from_u32(seed: u32) -> Mt {
        let mut state = [0u32; N];
        state[0] = seed;
        for i in 1..N {
            let prev = state[i - 1];
            state[i] = 1812433253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Mt { state, index: N }
    }

    /// `init_by_array`: the seeding CPython uses for every seed, mixing the key's words
    /// (least significant first) into a state first made from 19650218.
    pub fn from_key(key: &[u32]) -> Mt {
        let mut mt = Mt::from_u32(19650218);
        let s = &mut mt.state;
        let key: &[u32] = if key.is_empty() { &[0] } else { key };
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let prev = s[i - 1];
            s[i] = (s[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1664525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                s[0] = s[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = s[i - 1];
            s[i] = (s[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1566083941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                s[0] = s[N - 1];
                i = 1;
            }
        }
        // The most significant bit is 1: the state is never all zeros.
        s[0] = 0x8000_0000;
        mt
    }

    /// The next 32 random bits (`genrand_uint32`): regenerate the 624 words when used up
    /// ("twist"), then temper the next word.
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            for k in 0..N {
                let y = (self.state[k] & 0x8000_0000) | (self.state[(k + 1) % N] & 0x7fff_ffff);
                let mag = if y & 1 == 1 { 0x9908_b0df } else { 0 };
                self.state[k] = self.state[(k + M) % N] ^ (y >> 1) ^ mag;
            }
            self.index = 0;
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// A float in [0, 1) with 53 random bits, built from 27 + 26 bits as CPython does.
    pub fn next_f64(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67108864.0 + b) * (1.0 / 9007199254740992.0)
    }
}

/// The key words of a non-negative integer seed: its 32-bit digits, least significant first
/// (at least one word, so 0 gives `[0]`).
pub fn key_of_u64(n: u64) -> Vec<u32> {
    if n >> 32 == 0 {
        vec![n as u32]
    } else {
        vec![n as u32, (n >> 32) as u32]
    }
}

/// The key words of a big-endian byte string read as one unsigned integer (CPython's
/// `int.from_bytes(b)`): 32-bit digits from the least significant end, high zero words dropped.
pub fn key_of_be_bytes(bytes: &[u8]) -> Vec<u32> {
    let mut words: Vec<u32> = bytes
        .rchunks(4)
        .map(|c| c.iter().fold(0u32, |acc, &b| (acc << 8) | b as u32))
        .collect();
    while words.len() > 1 && words.last() == Some(&0) {
        words.pop();
    }
    words
}

/// A seed from the operating system's randomness (CPython reads `os.urandom`): the standard
/// library's randomly keyed hasher, fed the time, mixed for a few words.
fn os_key() -> Vec<u32> {
    use std::hash::{BuildHasher, Hasher};
    let rs = std::collections::hash_map::RandomState::new();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    (0..4u32)
        .flat_map(|i| {
            let mut h = rs.build_hasher();
            h.write_u128(nanos);
            h.write_u32(i);
            let v = h.finish();
            [v as u32, (v >> 32) as u32]
        })
        .collect()
}

/// The Rust data of a `Random` instance.
struct RandomData(Mutex<Mt>);

static RANDOM_CLASS: crate::heap::Global<Ref<Class>> = crate::heap::Global::new();

fn random_class() -> Ref<Class> {
    RANDOM_CLASS
        .get_or_init(|| {
            native_class(
                "Random",
                "_random",
                &[
                    ("__init__", random_init),
                    ("seed", random_seed),
                    ("random", random_random),
                    ("getrandbits", random_getrandbits),
                    ("getstate", random_getstate),
                    ("setstate", random_setstate),
                ],
            )
        })
        .clone()
}

/// The `_random` module: the `Random` base class.
pub fn module() -> Ref<Module> {
    make_module("_random", vec![("Random", Value::Class(random_class()))])
}

/// The generator of `self`. A subclass whose `__init__` does not call the base `__init__`
/// still works (CPython allocates the state in `__new__`): the state is created, seeded from
/// the OS, on first use.
fn generator<'a>(args: &Args<'a>, method: &str) -> PyResult<&'a Mutex<Mt>> {
    let Some(Value::Instance(inst)) = args.pos.first() else {
        return Err(err!(
            TypeError,
            "descriptor '{method}' requires a '_random.Random' object"
        ));
    };
    if inst.native::<RandomData>().is_none() {
        inst.set_native(Box::new(RandomData(Mutex::new(Mt::from_key(&os_key())))));
    }
    match inst.native::<RandomData>() {
        Some(d) => Ok(&d.0),
        None => Err(err!(
            TypeError,
            "descriptor '{method}' requires a '_random.Random' object but received '{}'",
            inst.class.name()
        )),
    }
}

/// The key CPython's `random_seed` derives from a seed value: `None` -> OS randomness; an int
/// (of any size) -> its absolute value; a str -> version 2 seeding (the UTF-8 bytes followed by their SHA-512
/// digest, read as one big-endian integer); a float -> its hash as an unsigned word.
fn key_of(seed: Option<&Value>) -> PyResult<Vec<u32>> {
    Ok(match seed {
        None | Some(Value::None) => os_key(),
        Some(Value::Bool(b)) => key_of_u64(*b as u64),
        Some(Value::Int(i)) => key_of_u64(i.unsigned_abs()),
        Some(Value::BigInt(b)) => key_of_be_bytes(&b.magnitude().to_bytes_be()),
        Some(Value::Str(s)) => {
            let mut bytes = s.as_str().as_bytes().to_vec();
            let digest = crate::stdlib::sha512::sha512(&bytes);
            bytes.extend_from_slice(&digest);
            key_of_be_bytes(&bytes)
        }
        // CPython hashes other seeds; `random.seed` lets only floats through to here.
        Some(Value::Float(f)) => key_of_u64(crate::num::hash::hash_float(*f) as u64),
        Some(other) => {
            return Err(err!(
                TypeError,
                "The only supported seed types are: None,\nint, float, str, bytes, and bytearray. (got '{}')",
                type_name(other)
            ))
        }
    })
}

fn random_init(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    if args.pos.len() > 2 {
        return Err(err!(
            TypeError,
            "Random() takes at most 1 argument ({} given)",
            args.pos.len() - 1
        ));
    }
    random_seed(interp, args)
}

fn random_seed(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let mt = generator(&args, "seed")?;
    let key = key_of(args.pos.get(1))?;
    *mt.lock() = Mt::from_key(&key);
    Ok(Value::None)
}

fn random_random(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let mt = generator(&args, "random")?;
    let r = mt.lock().next_f64();
    Ok(Value::Float(r))
}

/// `getrandbits(k)`: an int with `k` random bits, built from 32-bit words, least significant
/// first, the last word keeping only its top bits (as CPython); a big int beyond 64 bits.
fn random_getrandbits(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let mt = generator(&args, "getrandbits")?;
    let k = match args.pos.get(1) {
        Some(Value::Int(k)) => *k,
        Some(Value::Bool(b)) => *b as i64,
        Some(other) => {
            return Err(err!(
                TypeError,
                "'{}' object cannot be interpreted as an integer",
                type_name(other)
            ))
        }
        None => {
            return Err(err!(
                TypeError,
                "Random.getrandbits() takes exactly one argument (0 given)"
            ))
        }
    };
    if k < 0 {
        return Err(err!(ValueError, "number of bits must be non-negative"));
    }
    let mut g = mt.lock();
    if k <= 32 {
        // k == 0 gives 0 without drawing, as CPython.
        return Ok(Value::Int(if k == 0 {
            0
        } else {
            (g.next_u32() >> (32 - k)) as i64
        }));
    }
    // Bounded by memory like any int: CPython's own limit is the C int range of `k`.
    let k =
        usize::try_from(k).map_err(|_| err!(OverflowError, "getrandbits() bit count too large"))?;
    crate::builtins::args::check_items(k / 32 + 1)?;
    let mut words = Vec::with_capacity(k / 32 + 1);
    let mut left = k;
    while left > 0 {
        let r = g.next_u32();
        words.push(if left < 32 { r >> (32 - left) } else { r });
        left = left.saturating_sub(32);
    }
    let n = num_bigint::BigUint::new(words);
    Ok(Value::from(crate::num::bigint::BigInt::from(n)))
}

/// `getstate()`: the 624 state words and the index, as a 625-tuple (the `random` module wraps
/// it in `(3, words, gauss_next)`, as CPython).
fn random_getstate(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let mt = generator(&args, "getstate")?;
    let g = mt.lock();
    let mut items: Vec<Value> = g.state.iter().map(|&w| Value::Int(w as i64)).collect();
    items.push(Value::Int(g.index as i64));
    Ok(Value::tuple(items))
}

fn random_setstate(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let mt = generator(&args, "setstate")?;
    let Some(Value::Tuple(t)) = args.pos.get(1) else {
        return Err(err!(TypeError, "state vector must be a tuple"));
    };
    if t.items.len() != N + 1 {
        return Err(err!(ValueError, "state vector is the wrong size"));
    }
    let mut state = [0u32; N];
    for (slot, v) in state.iter_mut().zip(t.items.iter()) {
        match v {
            Value::Int(w) if (0..=u32::MAX as i64).contains(w) => *slot = *w as u32,
            Value::Int(_) => {
                return Err(err!(
                    OverflowError,
                    "Python int too large to convert to C unsigned long"
                ))
            }
            other => {
                return Err(err!(
                    TypeError,
                    "'{}' object cannot be interpreted as an integer",
                    type_name(other)
                ))
            }
        }
    }
    let index = match t.items.get(N) {
        Some(Value::Int(i)) if (0..=N as i64).contains(i) => *i as usize,
        _ => return Err(err!(ValueError, "invalid state")),
    };
    *mt.lock() = Mt { state, index };
    Ok(Value::None)
}
