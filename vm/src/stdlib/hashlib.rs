//! `_hashlib` (stdlib stage): the message digests behind `hashlib` (`vm/lib/hashlib.mini`):
//! MD5, SHA-1 and the SHA-2 family (SHA-224, SHA-256, SHA-384, SHA-512), computed by the
//! RustCrypto crates `md-5`, `sha1` and `sha2`. A hash object keeps the running state, so
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

fn hash_update(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    args.range("HASH.update", 2, 2)?;
    let (_, h) = this::<HashData>(&args, "HASH")?;
    let data = data_arg(&args.pos[1])?;
    h.state.lock().update(&data);
    Ok(Value::None)
}

fn hash_digest(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, h) = this::<HashData>(&args, "HASH")?;
    Ok(Value::bytes(h.state.lock().digest()))
}

fn hash_hexdigest(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, h) = this::<HashData>(&args, "HASH")?;
    let hex: String = h
        .state
        .lock()
        .digest()
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
    let name = h.state.lock().info().0;
    Ok(Value::string(format!(
        "<{name} _hashlib.HASH object @ {:#x}>",
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
