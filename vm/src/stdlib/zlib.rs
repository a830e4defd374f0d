//! `zlib` (stdlib stage): DEFLATE compression as CPython's module of that name, over the zlib C
//! library itself (through `flate2`'s safe streams), so compressed bytes are exactly CPython's:
//! `compress`, `decompress`, `compressobj`/`decompressobj` streams (`compress`, `flush`,
//! `decompress` with `max_length`, `unused_data`, `unconsumed_tail`, `eof`), `crc32`, `adler32`,
//! `error` and the constants. `wbits` selects the framing as in CPython: 9..15 zlib, -9..-15 raw
//! DEFLATE, 25..31 gzip, and for decompression 0 (window from the header) and 40..47 (zlib or
//! gzip, whichever the data starts with).
//! Not provided (`NotImplementedError`): a `memLevel` other than 8, a `strategy` other than the
//! default, `wbits=8`, and `copy()` of a stream.

use std::sync::Arc;

use flate2::{
    Compress, Compression, Decompress, DecompressError, FlushCompress, FlushDecompress, Status,
};
use parking_lot::Mutex;

use crate::builtins::args::{to_index, Sig, Style};
use crate::heap::{Global, Ref};
use crate::interp::{Args, Interp};
use crate::object::{Class, ExcKind, Instance, Module};
use crate::stdlib::binascii::{binary_arg, start_value};
use crate::stdlib::sync::{exception_class, property};
use crate::stdlib::{native_class, this};
use crate::value::Value;
use crate::{err, PyErr, PyResult};

const FUNCS: crate::builtins::Methods = &[
    ("compress", compress),
    ("decompress", decompress),
    ("compressobj", compressobj),
    ("decompressobj", decompressobj),
    ("crc32", crc32),
    ("adler32", adler32),
];

/// zlib's buffer size for a decompression whose output size is unknown (`DEF_BUF_SIZE`).
const DEF_BUF_SIZE: i64 = 16384;
const Z_NO_FLUSH: i64 = 0;
const Z_PARTIAL_FLUSH: i64 = 1;
const Z_SYNC_FLUSH: i64 = 2;
const Z_FULL_FLUSH: i64 = 3;
const Z_FINISH: i64 = 4;

static ERROR: Global<Ref<Class>> = Global::new();
static COMPRESS_CLASS: Global<Ref<Class>> = Global::new();
static DECOMPRESS_CLASS: Global<Ref<Class>> = Global::new();

fn error_class() -> Ref<Class> {
    ERROR
        .get_or_init(|| exception_class("error", "zlib", ExcKind::Exception))
        .clone()
}

pub fn module() -> Ref<Module> {
    let int = Value::Int;
    super::module_from_fns(
        "zlib",
        FUNCS,
        vec![
            ("error", Value::Class(error_class())),
            ("MAX_WBITS", int(15)),
            ("DEFLATED", int(8)),
            ("DEF_MEM_LEVEL", int(8)),
            ("DEF_BUF_SIZE", int(DEF_BUF_SIZE)),
            ("Z_NO_COMPRESSION", int(0)),
            ("Z_BEST_SPEED", int(1)),
            ("Z_BEST_COMPRESSION", int(9)),
            ("Z_DEFAULT_COMPRESSION", int(-1)),
            ("Z_FILTERED", int(1)),
            ("Z_HUFFMAN_ONLY", int(2)),
            ("Z_RLE", int(3)),
            ("Z_FIXED", int(4)),
            ("Z_DEFAULT_STRATEGY", int(0)),
            ("Z_NO_FLUSH", int(Z_NO_FLUSH)),
            ("Z_PARTIAL_FLUSH", int(Z_PARTIAL_FLUSH)),
            ("Z_SYNC_FLUSH", int(Z_SYNC_FLUSH)),
            ("Z_FULL_FLUSH", int(Z_FULL_FLUSH)),
            ("Z_FINISH", int(Z_FINISH)),
            ("Z_BLOCK", int(5)),
            ("Z_TREES", int(6)),
            ("ZLIB_VERSION", Value::str("1.2.13")),
            ("ZLIB_RUNTIME_VERSION", Value::str("1.2.13")),
        ],
    )
}

/// A `zlib.error` with `msg`.
fn error(interp: &mut Interp, msg: String) -> PyErr {
    let cls = error_class();
    match interp.instantiate(&cls, &[Value::string(msg)], &[]) {
        Ok(v) => PyErr::from_instance(&v).unwrap_or_else(|| err!(SystemError, "zlib.error")),
        Err(e) => e,
    }
}

fn int_arg(v: Option<&Value>, default: i64) -> PyResult<i64> {
    v.map_or(Ok(default), to_index)
}

/// The framing `wbits` asks for when compressing.
#[derive(Clone, Copy)]
enum Framing {
    Zlib(u8),
    Raw(u8),
    Gzip(u8),
    /// Decompression only: zlib or gzip, told by the first byte.
    Auto(u8),
}

/// The compression level (`-1` is zlib's default, 6).
fn level_of(interp: &mut Interp, level: i64) -> PyResult<Compression> {
    match level {
        -1 => Ok(Compression::new(6)),
        0..=9 => Ok(Compression::new(level as u32)),
        _ => Err(error(interp, "Bad compression level".into())),
    }
}

fn compress_framing(interp: &mut Interp, wbits: i64) -> PyResult<Framing> {
    match wbits {
        9..=15 => Ok(Framing::Zlib(wbits as u8)),
        -15..=-9 => Ok(Framing::Raw((-wbits) as u8)),
        25..=31 => Ok(Framing::Gzip((wbits - 16) as u8)),
        8 | 24 => Err(err!(
            NotImplementedError,
            "minivm's zlib does not support wbits={wbits} (a 256-byte window)"
        )),
        _ => Err(error(interp, "Bad compression level".into())),
    }
}

fn decompress_framing(interp: &mut Interp, wbits: i64, preparing: bool) -> PyResult<Framing> {
    match wbits {
        0 => Ok(Framing::Zlib(15)),
        8..=15 => Ok(Framing::Zlib((wbits as u8).max(9))),
        -15..=-9 => Ok(Framing::Raw((-wbits) as u8)),
        24..=31 => Ok(Framing::Gzip(((wbits - 16) as u8).max(9))),
        40..=47 => Ok(Framing::Auto(((wbits - 32) as u8).max(9))),
        _ => Err(error(
            interp,
            if preparing {
                "Error -2 while preparing to decompress data: inconsistent stream state".into()
            } else {
                "Invalid initialization option".into()
            },
        )),
    }
}

fn new_compress(level: Compression, framing: Framing) -> Compress {
    match framing {
        Framing::Zlib(b) | Framing::Auto(b) => Compress::new_with_window_bits(level, true, b),
        Framing::Raw(b) => Compress::new_with_window_bits(level, false, b),
        Framing::Gzip(b) => Compress::new_gzip(level, b),
    }
}

fn new_decompress(framing: Framing, first: Option<u8>) -> Decompress {
    match framing {
        Framing::Zlib(b) => Decompress::new_with_window_bits(true, b),
        Framing::Raw(b) => Decompress::new_with_window_bits(false, b),
        Framing::Gzip(b) => Decompress::new_gzip(b),
        Framing::Auto(b) if first == Some(0x1f) => Decompress::new_gzip(b),
        Framing::Auto(b) => Decompress::new_with_window_bits(true, b),
    }
}

/// The sizes of the output blocks CPython's zlib module gives deflate, one after the other, in
/// each call (`BUFFER_BLOCK_SIZE` of its blocks output buffer). The output of deflate depends on
/// them at level 0, where each stored block is cut to the output space it was given.
const OUTPUT_BLOCKS: [usize; 8] = [
    32 << 10,
    64 << 10,
    256 << 10,
    1 << 20,
    4 << 20,
    8 << 20,
    16 << 20,
    16 << 20,
];

/// Run `c` over all of `data` with `flush`, appending what it produces to `out`, with the same
/// output space at each step as CPython (so level-0 stored blocks are cut at the same places).
/// zlib is done once it has left some of the output space unused.
fn deflate_into(
    interp: &mut Interp,
    c: &mut Compress,
    data: &[u8],
    flush: FlushCompress,
    out: &mut Vec<u8>,
) -> PyResult<()> {
    let start = c.total_in();
    for block in 0.. {
        let cap = OUTPUT_BLOCKS[block.min(OUTPUT_BLOCKS.len() - 1)];
        let used = ((c.total_in() - start) as usize).min(data.len());
        let before = c.total_out();
        let mut part = vec![0u8; cap];
        let status = c
            .compress(&data[used..], &mut part, flush)
            .map_err(|e| error(interp, format!("Error -2 while compressing data: {e}")))?;
        let wrote = ((c.total_out() - before) as usize).min(cap);
        out.extend_from_slice(&part[..wrote]);
        if matches!(status, Status::StreamEnd) || wrote < cap {
            return Ok(());
        }
    }
    Ok(())
}

/// The message of a failed inflate, CPython's way.
fn inflate_error(interp: &mut Interp, e: &DecompressError) -> PyErr {
    if e.needs_dictionary().is_some() {
        return error(interp, "Error 2 while decompressing data".into());
    }
    let msg = e.message().unwrap_or("invalid data");
    error(interp, format!("Error -3 while decompressing data: {msg}"))
}

/// What one run of inflate over some input gave.
struct Inflated {
    /// Input bytes consumed.
    used: usize,
    /// The stream's end was reached.
    end: bool,
}

/// Inflate `data` into `out`, at most `limit` bytes of output when `limit > 0`. A dictionary is
/// given to zlib when the stream asks for one.
fn inflate_into(
    interp: &mut Interp,
    d: &mut Decompress,
    data: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
    zdict: Option<&[u8]>,
) -> PyResult<Inflated> {
    let start = d.total_in();
    let mut dict_given = false;
    loop {
        let used = (d.total_in() - start) as usize;
        let cap = if limit > 0 {
            let left = limit.saturating_sub(out.len());
            if left == 0 {
                return Ok(Inflated { used, end: false });
            }
            left.min(1 << 20)
        } else {
            out.len().clamp(DEF_BUF_SIZE as usize, 1 << 20)
        };
        // zlib writes into the spare capacity of `part` only, so never past the limit.
        let mut part = Vec::with_capacity(cap);
        let status = match d.decompress_vec(&data[used..], &mut part, FlushDecompress::None) {
            Ok(s) => s,
            Err(e) => match (e.needs_dictionary(), zdict) {
                (Some(_), Some(dict)) if !dict_given => {
                    dict_given = true;
                    d.set_dictionary(dict)
                        .map_err(|e| inflate_error(interp, &e))?;
                    continue;
                }
                _ => return Err(inflate_error(interp, &e)),
            },
        };
        out.extend_from_slice(&part);
        let now = (d.total_in() - start) as usize;
        match status {
            Status::StreamEnd => {
                return Ok(Inflated {
                    used: now,
                    end: true,
                })
            }
            _ if now >= data.len() && part.len() < cap => {
                return Ok(Inflated {
                    used: now,
                    end: false,
                })
            }
            _ if now == used && part.is_empty() => {
                return Ok(Inflated {
                    used: now,
                    end: false,
                })
            }
            _ => {}
        }
    }
}

/// `zlib.compress(data, /, level=-1, wbits=15)`.
fn compress(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [data, level, wbits] =
        Sig::kw("compress", &["data", "level", "wbits"], 1).bind::<3>(&args)?;
    let data = binary_arg(data.unwrap_or(&Value::None))?;
    let level = level_of(interp, int_arg(level, -1)?)?;
    let framing = compress_framing(interp, int_arg(wbits, 15)?)?;
    let mut c = new_compress(level, framing);
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    deflate_into(interp, &mut c, &data, FlushCompress::Finish, &mut out)?;
    Ok(Value::bytes(out))
}

/// `zlib.decompress(data, /, wbits=15, bufsize=16384)`.
fn decompress(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [data, wbits, bufsize] =
        Sig::kw("decompress", &["data", "wbits", "bufsize"], 1).bind::<3>(&args)?;
    let data = binary_arg(data.unwrap_or(&Value::None))?;
    let framing = decompress_framing(interp, int_arg(wbits, 15)?, true)?;
    if int_arg(bufsize, DEF_BUF_SIZE)? < 0 {
        return Err(err!(ValueError, "bufsize must be non-negative"));
    }
    let mut d = new_decompress(framing, data.first().copied());
    let mut out = Vec::with_capacity(data.len().saturating_mul(3).max(64));
    let r = inflate_into(interp, &mut d, &data, &mut out, 0, None)?;
    if !r.end {
        return Err(error(
            interp,
            "Error -5 while decompressing data: incomplete or truncated stream".into(),
        ));
    }
    Ok(Value::bytes(out))
}

/// `zlib.crc32(data, value=0)`.
fn crc32(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [data, value] =
        Sig::pos("crc32", Style::Positional, &["data", "value"], 1).bind::<2>(&args)?;
    let data = binary_arg(data.unwrap_or(&Value::None))?;
    let crc = crate::stdlib::binascii::crc32_update(start_value(value)?, &data);
    Ok(Value::Int(i64::from(crc)))
}

/// `zlib.adler32(data, value=1)`: two running sums modulo 65521, as RFC 1950 defines.
fn adler32(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [data, value] =
        Sig::pos("adler32", Style::Positional, &["data", "value"], 1).bind::<2>(&args)?;
    let data = binary_arg(data.unwrap_or(&Value::None))?;
    let start = if value.is_some() {
        start_value(value)?
    } else {
        1
    };
    const MOD: u32 = 65521;
    let (mut a, mut b) = (start & 0xffff, start >> 16);
    // 5552 bytes is the longest run whose sums cannot overflow 32 bits before reducing.
    for chunk in data.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    Ok(Value::Int(i64::from((b << 16) | a)))
}

// ---------------------------------------------------------------------------------------------
// Streams.

/// Rust data of a `zlib.Compress` object.
struct CompressData {
    /// `None` once `flush(Z_FINISH)` ended the stream.
    stream: Mutex<Option<Compress>>,
}

/// Rust data of a `zlib.Decompress` object.
struct DecompressData {
    state: Mutex<DecompState>,
}

struct DecompState {
    /// Made on the first input, when the framing is told by the data (`wbits` 40..47).
    stream: Option<Decompress>,
    framing: Framing,
    zdict: Option<Vec<u8>>,
    unused_data: Vec<u8>,
    unconsumed_tail: Vec<u8>,
    eof: bool,
}

fn compress_class() -> Ref<Class> {
    COMPRESS_CLASS
        .get_or_init(|| {
            native_class(
                "Compress",
                "zlib",
                &[
                    ("compress", comp_compress),
                    ("flush", comp_flush),
                    ("copy", stream_copy),
                ],
            )
        })
        .clone()
}

fn decompress_class() -> Ref<Class> {
    DECOMPRESS_CLASS
        .get_or_init(|| {
            let cls = native_class(
                "Decompress",
                "zlib",
                &[
                    ("decompress", decomp_decompress),
                    ("flush", decomp_flush),
                    ("copy", stream_copy),
                ],
            );
            {
                let mut dict = cls.dict.write();
                dict.insert(
                    Arc::from("unused_data"),
                    property(("unused_data", decomp_unused_data)),
                );
                dict.insert(
                    Arc::from("unconsumed_tail"),
                    property(("unconsumed_tail", decomp_unconsumed_tail)),
                );
                dict.insert(Arc::from("eof"), property(("eof", decomp_eof)));
            }
            cls
        })
        .clone()
}

/// `zlib.compressobj(level=-1, method=8, wbits=15, memLevel=8, strategy=0, zdict=None)`.
fn compressobj(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [level, method, wbits, mem_level, strategy, zdict] = Sig::kw(
        "compressobj",
        &["level", "method", "wbits", "memLevel", "strategy", "zdict"],
        0,
    )
    .bind::<6>(&args)?;
    let level = level_of(interp, int_arg(level, -1)?)?;
    if int_arg(method, 8)? != 8 {
        return Err(error(interp, "Invalid initialization option".into()));
    }
    let framing = compress_framing(interp, int_arg(wbits, 15)?)?;
    if int_arg(mem_level, 8)? != 8 || int_arg(strategy, 0)? != 0 {
        return Err(err!(
            NotImplementedError,
            "minivm's zlib supports only memLevel=8 and the default strategy"
        ));
    }
    let mut c = new_compress(level, framing);
    if let Some(z) = zdict.filter(|z| !z.is_none()) {
        let dict = binary_arg(z)?;
        c.set_dictionary(&dict)
            .map_err(|_| error(interp, "Invalid dictionary".into()))?;
    }
    let inst = Instance::new(compress_class());
    inst.set_native(Box::new(CompressData {
        stream: Mutex::new(Some(c)),
    }));
    Ok(Value::Instance(Ref::new(inst)))
}

fn comp_compress(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [data] = Sig::pos("compress", Style::Positional, &["data"], 1)
        .method()
        .bind::<1>(&args)?;
    let (_, c) = this::<CompressData>(&args, "Compress")?;
    let data = binary_arg(data.unwrap_or(&Value::None))?;
    let mut guard = c.stream.lock();
    let Some(stream) = guard.as_mut() else {
        return Err(error(
            interp,
            "Error -2 while compressing data: inconsistent stream state".into(),
        ));
    };
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    deflate_into(interp, stream, &data, FlushCompress::None, &mut out)?;
    Ok(Value::bytes(out))
}

fn comp_flush(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [mode] = Sig::pos("flush", Style::Positional, &["mode"], 0)
        .method()
        .bind::<1>(&args)?;
    let (_, c) = this::<CompressData>(&args, "Compress")?;
    let mode = int_arg(mode, Z_FINISH)?;
    let flush = match mode {
        Z_NO_FLUSH => return Ok(Value::bytes(Vec::new())),
        Z_PARTIAL_FLUSH => FlushCompress::Partial,
        Z_SYNC_FLUSH => FlushCompress::Sync,
        Z_FULL_FLUSH => FlushCompress::Full,
        Z_FINISH => FlushCompress::Finish,
        _ => {
            return Err(err!(
                NotImplementedError,
                "minivm's zlib does not support flush mode {mode}"
            ))
        }
    };
    let mut guard = c.stream.lock();
    let Some(stream) = guard.as_mut() else {
        return Err(error(
            interp,
            "Error -2 while flushing: inconsistent stream state".into(),
        ));
    };
    let mut out = Vec::with_capacity(64);
    deflate_into(interp, stream, &[], flush, &mut out)?;
    if mode == Z_FINISH {
        *guard = None;
    }
    Ok(Value::bytes(out))
}

fn stream_copy(_: &mut Interp, _: Args<'_>) -> PyResult<Value> {
    Err(err!(
        NotImplementedError,
        "minivm's zlib cannot copy a compression or decompression stream"
    ))
}

/// `zlib.decompressobj(wbits=15, zdict=b'')`.
fn decompressobj(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [wbits, zdict] = Sig::kw("decompressobj", &["wbits", "zdict"], 0).bind::<2>(&args)?;
    let framing = decompress_framing(interp, int_arg(wbits, 15)?, false)?;
    let zdict = match zdict {
        Some(z) => Some(
            binary_arg(z)
                .map_err(|_| err!(TypeError, "zdict argument must support the buffer protocol"))?,
        ),
        None => None,
    };
    let mut state = DecompState {
        stream: None,
        framing,
        zdict,
        unused_data: Vec::new(),
        unconsumed_tail: Vec::new(),
        eof: false,
    };
    if !matches!(framing, Framing::Auto(_)) {
        let mut d = new_decompress(framing, None);
        if let (Framing::Raw(_), Some(dict)) = (framing, &state.zdict) {
            d.set_dictionary(dict)
                .map_err(|e| inflate_error(interp, &e))?;
        }
        state.stream = Some(d);
    }
    let inst = Instance::new(decompress_class());
    inst.set_native(Box::new(DecompressData {
        state: Mutex::new(state),
    }));
    Ok(Value::Instance(Ref::new(inst)))
}

/// Feed `data` to the stream; `limit` > 0 bounds the output (the rest of the input is kept as
/// `unconsumed_tail`).
fn decomp_feed(
    interp: &mut Interp,
    st: &mut DecompState,
    data: &[u8],
    limit: usize,
) -> PyResult<Vec<u8>> {
    let mut out = Vec::new();
    if st.eof {
        st.unused_data.extend_from_slice(data);
        return Ok(out);
    }
    if data.is_empty() {
        st.unconsumed_tail.clear();
        return Ok(out);
    }
    if st.stream.is_none() {
        st.stream = Some(new_decompress(st.framing, data.first().copied()));
    }
    let zdict = st.zdict.clone();
    let Some(stream) = st.stream.as_mut() else {
        return Ok(out);
    };
    let r = inflate_into(interp, stream, data, &mut out, limit, zdict.as_deref())?;
    let rest = &data[r.used.min(data.len())..];
    if r.end {
        st.eof = true;
        st.unused_data.extend_from_slice(rest);
        st.unconsumed_tail.clear();
    } else {
        st.unconsumed_tail = rest.to_vec();
    }
    Ok(out)
}

fn decomp_decompress(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [data, max_length] = Sig::kw("decompress", &["data", "max_length"], 1)
        .method()
        .bind::<2>(&args)?;
    let (_, d) = this::<DecompressData>(&args, "Decompress")?;
    let data = binary_arg(data.unwrap_or(&Value::None))?;
    let limit = int_arg(max_length, 0)?;
    if limit < 0 {
        return Err(err!(ValueError, "max_length must be non-negative"));
    }
    let mut st = d.state.lock();
    let out = decomp_feed(interp, &mut st, &data, limit as usize)?;
    Ok(Value::bytes(out))
}

fn decomp_flush(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [length] = Sig::pos("flush", Style::Positional, &["length"], 0)
        .method()
        .bind::<1>(&args)?;
    let (_, d) = this::<DecompressData>(&args, "Decompress")?;
    if int_arg(length, DEF_BUF_SIZE)? <= 0 {
        return Err(err!(ValueError, "length must be greater than zero"));
    }
    let mut st = d.state.lock();
    let tail = std::mem::take(&mut st.unconsumed_tail);
    let out = decomp_feed(interp, &mut st, &tail, 0)?;
    Ok(Value::bytes(out))
}

fn decomp_unused_data(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<DecompressData>(&args, "Decompress")?;
    Ok(Value::bytes(d.state.lock().unused_data.clone()))
}

fn decomp_unconsumed_tail(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<DecompressData>(&args, "Decompress")?;
    Ok(Value::bytes(d.state.lock().unconsumed_tail.clone()))
}

fn decomp_eof(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<DecompressData>(&args, "Decompress")?;
    Ok(Value::Bool(d.state.lock().eof))
}
