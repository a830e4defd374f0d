//! `_hashlib` (stdlib stage): the message digests behind `hashlib` (`vm/lib/hashlib.mini`):
//! MD5, SHA-1 and the SHA-2 family (SHA-224, SHA-256, SHA-384, SHA-512), computed by the
//! RustCrypto crates `md-5`, `sha1` and `sha2`, and the SHA-3 family with the SHAKE
//! extendable-output functions, computed by the Keccak sponge below (FIPS 202), and BLAKE2b/2s
//! (`stdlib/blake2.rs`). A hash object keeps the running state, so
//! `update` costs only the new bytes and `digest` finishes a copy of the state (the object can
//! go on being updated), as CPython's.

use std::sync::Arc;

use md5::Md5;
use parking_lot::Mutex;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

use crate::builtins::args::ArgsExt;
use crate::heap::{Global, Ref};
use crate::interp::{Args, Interp};
use crate::object::{type_name, Class, Instance, Module};
use crate::stdlib::blake2::{Blake2b, Blake2s, Params};
use crate::stdlib::sync::property;
use crate::stdlib::{make_module, native_class, this};
use crate::value::Value;
use crate::{err, PyResult};

/// The running state of one digest.
#[derive(Clone)]
enum State {
    Md5(Md5),
    Sha1(Sha1),
    Sha224(Sha224),
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
    Sha3(Keccak),
    Blake2b(Blake2b),
    Blake2s(Blake2s),
}

impl State {
    /// The state for a name as `hashlib.new` takes it (any case, `sha-256` style too).
    fn new(name: &str) -> Option<State> {
        Some(match name.to_ascii_lowercase().replace('-', "").as_str() {
            "md5" => State::Md5(Md5::new()),
            "sha1" => State::Sha1(Sha1::new()),
            "sha224" => State::Sha224(Sha224::new()),
            "sha256" => State::Sha256(Sha256::new()),
            "sha384" => State::Sha384(Sha384::new()),
            "sha512" => State::Sha512(Sha512::new()),
            "sha3_224" => State::Sha3(Keccak::new("sha3_224", 144, 28)),
            "sha3_256" => State::Sha3(Keccak::new("sha3_256", 136, 32)),
            "sha3_384" => State::Sha3(Keccak::new("sha3_384", 104, 48)),
            "sha3_512" => State::Sha3(Keccak::new("sha3_512", 72, 64)),
            "shake_128" => State::Sha3(Keccak::new("shake_128", 168, 0)),
            "shake_256" => State::Sha3(Keccak::new("shake_256", 136, 0)),
            "blake2b" => State::Blake2b(Blake2b::new(&default_params(Blake2b::MAX_OUT))),
            "blake2s" => State::Blake2s(Blake2s::new(&default_params(Blake2s::MAX_OUT))),
            _ => return None,
        })
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            State::Md5(h) => h.update(data),
            State::Sha1(h) => h.update(data),
            State::Sha224(h) => h.update(data),
            State::Sha256(h) => h.update(data),
            State::Sha384(h) => h.update(data),
            State::Sha512(h) => h.update(data),
            State::Sha3(h) => h.absorb(data),
            State::Blake2b(h) => h.update(data),
            State::Blake2s(h) => h.update(data),
        }
    }

    /// The digest of what was fed so far (the state itself goes on).
    fn digest(&self) -> Vec<u8> {
        match self.clone() {
            State::Md5(h) => h.finalize().to_vec(),
            State::Sha1(h) => h.finalize().to_vec(),
            State::Sha224(h) => h.finalize().to_vec(),
            State::Sha256(h) => h.finalize().to_vec(),
            State::Sha384(h) => h.finalize().to_vec(),
            State::Sha512(h) => h.finalize().to_vec(),
            State::Sha3(h) => h.squeeze(h.out),
            State::Blake2b(h) => h.digest(),
            State::Blake2s(h) => h.digest(),
        }
    }

    /// CPython's `name`, `digest_size` and `block_size`.
    fn info(&self) -> (&'static str, i64, i64) {
        match self {
            State::Md5(_) => ("md5", 16, 64),
            State::Sha1(_) => ("sha1", 20, 64),
            State::Sha224(_) => ("sha224", 28, 64),
            State::Sha256(_) => ("sha256", 32, 64),
            State::Sha384(_) => ("sha384", 48, 128),
            State::Sha512(_) => ("sha512", 64, 128),
            State::Sha3(h) => (h.name, h.out as i64, h.rate as i64),
            State::Blake2b(h) => ("blake2b", h.out as i64, Blake2b::BLOCK as i64),
            State::Blake2s(h) => ("blake2s", h.out as i64, Blake2s::BLOCK as i64),
        }
    }
}

/// Rust data of a `HASH` instance.
struct HashData {
    state: Mutex<State>,
}

static HASH_CLASS: Global<Ref<Class>> = Global::new();

fn hash_class() -> Ref<Class> {
    HASH_CLASS
        .get_or_init(|| {
            let cls = native_class(
                "HASH",
                "_hashlib",
                &[
                    ("update", hash_update),
                    ("digest", hash_digest),
                    ("hexdigest", hash_hexdigest),
                    ("copy", hash_copy),
                    ("__repr__", hash_repr),
                ],
            );
            {
                let mut dict = cls.dict.write();
                dict.insert(Arc::from("name"), property(("name", hash_name)));
                dict.insert(
                    Arc::from("digest_size"),
                    property(("digest_size", hash_digest_size)),
                );
                dict.insert(
                    Arc::from("block_size"),
                    property(("block_size", hash_block_size)),
                );
            }
            cls
        })
        .clone()
}

pub fn module() -> Ref<Module> {
    make_module(
        "_hashlib",
        vec![
            ("new", crate::builtins::native("new", hash_new)),
            ("blake2", crate::builtins::native("blake2", hash_blake2)),
            (
                "scrypt",
                crate::builtins::native("scrypt", crate::stdlib::scrypt::scrypt),
            ),
            ("HASH", Value::Class(hash_class())),
        ],
    )
}

/// The bytes of a value `update` and the constructors accept.
fn data_arg(v: &Value) -> PyResult<Vec<u8>> {
    match v {
        Value::Bytes(b) => Ok(b.as_bytes().to_vec()),
        Value::ByteArray(b) => Ok(b.snapshot()),
        Value::Str(_) => Err(err!(TypeError, "Strings must be encoded before hashing")),
        _ => match crate::object::bytes_like(v) {
            Some(b) => Ok(b.into_owned()),
            None => Err(err!(TypeError, "object supporting the buffer API required")),
        },
    }
}

fn new_object(state: State) -> Value {
    let inst = Instance::new(hash_class());
    inst.set_native(Box::new(HashData {
        state: Mutex::new(state),
    }));
    Value::Instance(Ref::new(inst))
}

/// `_hashlib.new(name, data=b'')`.
fn hash_new(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let name = match super::arg(&args, 0, "name") {
        Some(Value::Str(s)) => s.as_str().to_string(),
        Some(other) => {
            return Err(err!(
                TypeError,
                "new() argument 'name' must be str, not {}",
                type_name(other)
            ))
        }
        None => {
            return Err(err!(
                TypeError,
                "new() missing required argument 'name' (pos 1)"
            ))
        }
    };
    let Some(mut state) = State::new(&name) else {
        return Err(err!(ValueError, "unsupported hash type {name}"));
    };
    if let Some(d) = super::arg(&args, 1, "data") {
        state.update(&data_arg(d)?);
    }
    Ok(new_object(state))
}

/// BLAKE2 parameters with every field at its default and digests of `out` bytes.
fn default_params(out: usize) -> Params<'static> {
    Params {
        digest_size: out,
        key: b"",
        salt: b"",
        person: b"",
        fanout: 1,
        depth: 1,
        leaf_size: 0,
        node_offset: 0,
        node_depth: 0,
        inner_size: 0,
        last_node: false,
    }
}

/// `_hashlib.blake2(variant, data, digest_size, key, salt, person, fanout, depth, leaf_size,
/// node_offset, node_depth, inner_size, last_node)`: a BLAKE2b (`variant` 'b') or BLAKE2s
/// hash object, each parameter checked against the variant's limits with CPython's messages
/// (`hashlib.blake2b`/`blake2s` in vm/lib/hashlib.mini pass them by keyword).
fn hash_blake2(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("_hashlib.blake2", 13, 13)?;
    let p = &args.pos;
    let big = matches!(&p[0], Value::Str(s) if s.as_str() == "b");
    let (max_out, salt_max) = if big {
        (Blake2b::MAX_OUT, Blake2b::SALT)
    } else {
        (Blake2s::MAX_OUT, Blake2s::SALT)
    };
    let int = |v: &Value| crate::builtins::args::to_index(v);
    let ranged = |v: &Value, lo: i64, hi: i64, msg: String| -> PyResult<i64> {
        let n = int(v)?;
        if n < lo || n > hi {
            return Err(err!(ValueError, "{}", msg));
        }
        Ok(n)
    };
    let digest_size = ranged(
        &p[2],
        1,
        max_out as i64,
        format!("digest_size must be between 1 and {max_out} bytes"),
    )? as usize;
    let bytes_of = |v: &Value, what: &str, max: usize| -> PyResult<Vec<u8>> {
        let b = data_arg(v)?;
        if b.len() > max {
            return Err(err!(ValueError, "maximum {} length is {} bytes", what, max));
        }
        Ok(b)
    };
    let key = bytes_of(&p[3], "key", max_out)?;
    let salt = bytes_of(&p[4], "salt", salt_max)?;
    let person = bytes_of(&p[5], "person", salt_max)?;
    let fanout = ranged(&p[6], 0, 255, "fanout must be between 0 and 255".into())? as u8;
    let depth = ranged(&p[7], 1, 255, "depth must be between 1 and 255".into())? as u8;
    let leaf_size = int(&p[8])?;
    if leaf_size < 0 {
        return Err(err!(
            OverflowError,
            "can't convert negative int to unsigned"
        ));
    }
    let Ok(leaf_size) = u32::try_from(leaf_size) else {
        return Err(err!(OverflowError, "leaf_size is too large"));
    };
    let node_offset = int(&p[9])?;
    let limit: i64 = if big { i64::MAX } else { (1 << 48) - 1 };
    if node_offset < 0 {
        return Err(err!(
            OverflowError,
            "can't convert negative int to unsigned"
        ));
    }
    if node_offset > limit {
        return Err(err!(OverflowError, "node_offset is too large"));
    }
    let node_depth = ranged(
        &p[10],
        0,
        255,
        "node_depth must be between 0 and 255".into(),
    )? as u8;
    let inner_size = ranged(
        &p[11],
        0,
        max_out as i64,
        format!("inner_size must be between 0 and is {max_out}"),
    )? as u8;
    let last_node = matches!(&p[12], Value::Bool(true));
    let params = Params {
        digest_size,
        key: &key,
        salt: &salt,
        person: &person,
        fanout,
        depth,
        leaf_size,
        node_offset: node_offset as u64,
        node_depth,
        inner_size,
        last_node,
    };
    let mut state = if big {
        State::Blake2b(Blake2b::new(&params))
    } else {
        State::Blake2s(Blake2s::new(&params))
    };
    state.update(&data_arg(&p[1])?);
    Ok(new_object(state))
}

fn hash_update(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("HASH.update", 2, 2)?;
    let (_, h) = this::<HashData>(&args, "HASH")?;
    let data = data_arg(&args.pos[1])?;
    h.state.lock().update(&data);
    Ok(Value::None)
}

/// The digest of a hash object: its fixed size, or for SHAKE the `length` bytes asked for
/// (`digest(length)`, required as in CPython).
fn digest_of(h: &HashData, args: &Args<'_>, method: &str) -> PyResult<Vec<u8>> {
    let state = h.state.lock();
    let State::Sha3(k) = &*state else {
        return Ok(state.digest());
    };
    if !k.is_xof() {
        return Ok(k.squeeze(k.out));
    }
    let length = match super::arg(args, 1, "length") {
        Some(v) => crate::builtins::args::to_index(v)?,
        None => {
            return Err(err!(
                TypeError,
                "{method}() missing required argument 'length' (pos 1)"
            ))
        }
    };
    let Ok(length) = usize::try_from(length) else {
        return Err(err!(ValueError, "length must be non-negative"));
    };
    if length >= 1 << 29 {
        return Err(err!(ValueError, "length is too large"));
    }
    Ok(k.squeeze(length))
}

fn hash_digest(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, h) = this::<HashData>(&args, "HASH")?;
    Ok(Value::bytes(digest_of(h, &args, "digest")?))
}

fn hash_hexdigest(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, h) = this::<HashData>(&args, "HASH")?;
    let hex: String = digest_of(h, &args, "hexdigest")?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Value::string(hex))
}

fn hash_copy(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, h) = this::<HashData>(&args, "HASH")?;
    let state = h.state.lock().clone();
    Ok(new_object(state))
}

fn hash_repr(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (inst, h) = this::<HashData>(&args, "HASH")?;
    let (name, xof) = {
        let state = h.state.lock();
        (
            state.info().0,
            matches!(&*state, State::Sha3(k) if k.is_xof()),
        )
    };
    if name.starts_with("blake2") {
        return Ok(Value::string(format!(
            "<_blake2.{name} object at {:#x}>",
            Ref::as_ptr(inst) as usize
        )));
    }
    let kind = if xof { "HASHXOF" } else { "HASH" };
    Ok(Value::string(format!(
        "<{name} _hashlib.{kind} object @ {:#x}>",
        Ref::as_ptr(inst) as usize
    )))
}

fn hash_name(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, h) = this::<HashData>(&args, "HASH")?;
    let name = h.state.lock().info().0;
    Ok(Value::str(name))
}

fn hash_digest_size(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, h) = this::<HashData>(&args, "HASH")?;
    let size = h.state.lock().info().1;
    Ok(Value::Int(size))
}

fn hash_block_size(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, h) = this::<HashData>(&args, "HASH")?;
    let size = h.state.lock().info().2;
    Ok(Value::Int(size))
}

/// The Keccak-f[1600] sponge of FIPS 202: SHA3-224/256/384/512 (`out` bytes of digest) and
/// SHAKE128/256 (`out` 0: the caller says how many bytes to squeeze). `rate` is the block
/// size in bytes; bytes not yet making a whole block wait in `pending`.
#[derive(Clone)]
struct Keccak {
    name: &'static str,
    lanes: [u64; 25],
    pending: Vec<u8>,
    rate: usize,
    out: usize,
}

/// The round constants of the ι step, from the spec's linear feedback shift register rc(t):
/// bit 2^j - 1 of round i's constant is rc(j + 7i).
fn round_constants() -> [u64; 24] {
    let rc = |t: usize| -> u64 {
        let mut r: u16 = 1;
        for _ in 0..t % 255 {
            r <<= 1;
            if r & 0x100 != 0 {
                r ^= 0x171; // x^8 + x^6 + x^5 + x^4 + 1, the top bit dropped
            }
        }
        u64::from(r & 1)
    };
    let mut out = [0u64; 24];
    for (i, c) in out.iter_mut().enumerate() {
        for j in 0..7 {
            *c |= rc(j + 7 * i) << ((1usize << j) - 1);
        }
    }
    out
}

/// The ρ rotation of each lane (x + 5y) and where π moves it, walked as the spec defines.
fn rho_pi() -> [(u32, usize); 25] {
    let mut table = [(0u32, 0usize); 25];
    let (mut x, mut y) = (1usize, 0usize);
    for t in 0..24 {
        let rotation = (((t + 1) * (t + 2) / 2) % 64) as u32;
        table[x + 5 * y].0 = rotation;
        (x, y) = (y, (2 * x + 3 * y) % 5);
    }
    for x in 0..5 {
        for y in 0..5 {
            // π: the lane at (x, y) goes to (y, 2x + 3y).
            table[x + 5 * y].1 = y + 5 * ((2 * x + 3 * y) % 5);
        }
    }
    table
}

/// The round constants and each lane's (rotation, destination), computed once.
type KeccakTables = ([u64; 24], [(u32, usize); 25]);

fn keccak_f(a: &mut [u64; 25]) {
    static TABLES: std::sync::OnceLock<KeccakTables> = std::sync::OnceLock::new();
    let (rc, moves) = TABLES.get_or_init(|| (round_constants(), rho_pi()));
    for round_constant in rc {
        // θ: each lane takes the parity of the two columns beside it.
        let mut c = [0u64; 5];
        for (x, col) in c.iter_mut().enumerate() {
            *col = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        }
        for x in 0..5 {
            let d = c[(x + 4) % 5] ^ c[(x + 1) % 5].rotate_left(1);
            for y in 0..5 {
                a[x + 5 * y] ^= d;
            }
        }
        // ρ and π: rotate each lane and move it.
        let mut b = [0u64; 25];
        for (i, &(rotation, to)) in moves.iter().enumerate() {
            b[to] = a[i].rotate_left(rotation);
        }
        // χ: each bit mixes with the two lanes after it in its row.
        for y in 0..5 {
            for x in 0..5 {
                a[x + 5 * y] = b[x + 5 * y] ^ (!b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
            }
        }
        // ι
        a[0] ^= round_constant;
    }
}

impl Keccak {
    fn new(name: &'static str, rate: usize, out: usize) -> Keccak {
        Keccak {
            name,
            lanes: [0; 25],
            pending: Vec::with_capacity(rate),
            rate,
            out,
        }
    }

    fn is_xof(&self) -> bool {
        self.out == 0
    }

    fn absorb_block(lanes: &mut [u64; 25], block: &[u8]) {
        for (lane, word) in lanes.iter_mut().zip(block.chunks_exact(8)) {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(word);
            *lane ^= u64::from_le_bytes(bytes);
        }
        keccak_f(lanes);
    }

    fn absorb(&mut self, mut data: &[u8]) {
        if !self.pending.is_empty() {
            let take = (self.rate - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() < self.rate {
                return;
            }
            let block = std::mem::take(&mut self.pending);
            Self::absorb_block(&mut self.lanes, &block);
            self.pending = block;
            self.pending.clear();
        }
        let mut blocks = data.chunks_exact(self.rate);
        for block in &mut blocks {
            Self::absorb_block(&mut self.lanes, block);
        }
        self.pending.extend_from_slice(blocks.remainder());
    }

    /// `length` bytes of output, from a copy of the state (the object stays usable).
    fn squeeze(&self, length: usize) -> Vec<u8> {
        let mut lanes = self.lanes;
        let mut last = self.pending.clone();
        // The domain bits (01 for SHA-3, 1111 for SHAKE) and the first bit of pad10*1...
        last.push(if self.is_xof() { 0x1f } else { 0x06 });
        last.resize(self.rate, 0);
        // ...and its last bit.
        last[self.rate - 1] |= 0x80;
        Self::absorb_block(&mut lanes, &last);
        let mut out = Vec::with_capacity(length);
        loop {
            for lane in &lanes[..self.rate / 8] {
                for byte in lane.to_le_bytes() {
                    if out.len() == length {
                        return out;
                    }
                    out.push(byte);
                }
            }
            if out.len() == length {
                return out;
            }
            keccak_f(&mut lanes);
        }
    }
}
