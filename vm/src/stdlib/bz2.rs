//! `_bz2` (stdlib stage): the two stream classes under `bz2` (`vm/lib/bz2.mini`), as CPython's C
//! module of that name, over libbzip2 itself (through the `bzip2` crate's safe streams), so that
//! compressed bytes are exactly CPython's:
//! - `BZ2Compressor(compresslevel=9)`: `compress(data)` (what the compressor has finished so
//!   far, often `b''`), `flush()` (the rest; the compressor is then done).
//! - `BZ2Decompressor()`: `decompress(data, max_length=-1)` over one stream, with `eof`,
//!   `unused_data` (what followed the end of the stream) and `needs_input` (a `max_length` that
//!   stopped the output keeps the unread input inside, as CPython does).
//!
//! Errors are CPython's: `ValueError` for a flushed compressor or a level outside 1..9,
//! `EOFError` after the end of the stream, `OSError("Invalid data stream")` for data that is not
//! bzip2.

use bzip2::{Action, Compress, Compression, Decompress, Status};
use parking_lot::Mutex;

use crate::builtins::args::{to_index, Sig, Style};
use crate::heap::{Global, Ref};
use crate::interp::{Args, Interp};
use crate::object::Class;
use crate::stdlib::binascii::binary_arg;
use crate::stdlib::sync::property;
use crate::stdlib::{native_class, this};
use crate::value::Value;
use crate::{err, PyErr, PyResult};

static COMPRESSOR: Global<Ref<Class>> = Global::new();
static DECOMPRESSOR: Global<Ref<Class>> = Global::new();

/// Output space added at a time while a call produces output.
const CHUNK: usize = 64 * 1024;

pub fn module() -> Ref<crate::object::Module> {
    super::module_from_fns(
        "_bz2",
        &[],
        vec![
            ("BZ2Compressor", Value::Class(compressor_class())),
            ("BZ2Decompressor", Value::Class(decompressor_class())),
        ],
    )
}

fn compressor_class() -> Ref<Class> {
    COMPRESSOR
        .get_or_init(|| {
            native_class(
                "BZ2Compressor",
                "_bz2",
                &[
                    ("__init__", comp_init),
                    ("compress", comp_compress),
                    ("flush", comp_flush),
                ],
            )
        })
        .clone()
}

fn decompressor_class() -> Ref<Class> {
    DECOMPRESSOR
        .get_or_init(|| {
            let cls = native_class(
                "BZ2Decompressor",
                "_bz2",
                &[("__init__", decomp_init), ("decompress", decomp_decompress)],
            );
            {
                let mut dict = cls.dict.write();
                dict.insert("eof".into(), property(("eof", decomp_eof)));
                dict.insert(
                    "unused_data".into(),
                    property(("unused_data", decomp_unused_data)),
                );
                dict.insert(
                    "needs_input".into(),
                    property(("needs_input", decomp_needs_input)),
                );
            }
            cls
        })
        .clone()
}

/// CPython's exception for a libbzip2 error code.
fn bz_error(e: bzip2::Error) -> PyErr {
    match e {
        bzip2::Error::Data | bzip2::Error::DataMagic => err!(OSError, "Invalid data stream"),
        bzip2::Error::Sequence => err!(
            RuntimeError,
            "Internal error - Invalid sequence of commands sent to libbzip2"
        ),
        bzip2::Error::Param => err!(
            ValueError,
            "Internal error - invalid parameters passed to libbzip2"
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// BZ2Compressor

struct CompressorData {
    /// `None` once `flush()` ended the stream.
    stream: Mutex<Option<Compress>>,
}

fn comp_init(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let Some(Value::Instance(inst)) = args.pos.first() else {
        return Err(err!(
            TypeError,
            "BZ2Compressor.__init__() needs a BZ2Compressor"
        ));
    };
    let [level] = Sig::pos("BZ2Compressor", Style::Positional, &["compresslevel"], 0)
        .method()
        .bind::<1>(&args)?;
    let level = match level {
        Some(v) => to_index(v)?,
        None => 9,
    };
    let Some(level) = u32::try_from(level).ok().and_then(Compression::try_new) else {
        return Err(err!(ValueError, "compresslevel must be between 1 and 9"));
    };
    let data = CompressorData {
        stream: Mutex::new(Some(Compress::new(level, 0))),
    };
    if !inst.set_native(Box::new(data)) {
        return Err(err!(RuntimeError, "BZ2Compressor.__init__() called twice"));
    }
    Ok(Value::None)
}

/// Run the compressor over all of `data` with `action` and return what it wrote.
fn deflate(c: &mut Compress, data: &[u8], action: Action) -> PyResult<Vec<u8>> {
    let mut out: Vec<u8> = Vec::new();
    let start = c.total_in();
    loop {
        let used = usize::try_from(c.total_in() - start).unwrap_or(data.len());
        let rest = &data[used.min(data.len())..];
        if out.capacity() - out.len() < 1024 {
            out.reserve(CHUNK);
        }
        let before = out.len();
        let status = c.compress_vec(rest, &mut out, action).map_err(bz_error)?;
        let now = usize::try_from(c.total_in() - start).unwrap_or(data.len());
        let done = match action {
            Action::Run => now >= data.len(),
            _ => status == Status::StreamEnd,
        };
        // No progress at all would loop for ever: the library has nothing more to give.
        if done || (now == used && out.len() == before) {
            return Ok(out);
        }
    }
}

fn comp_compress(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [data] = Sig::pos("compress", Style::Positional, &["data"], 1)
        .method()
        .bind::<1>(&args)?;
    let (_, c) = this::<CompressorData>(&args, "BZ2Compressor")?;
    let data = binary_arg(data.unwrap_or(&Value::None))?;
    let mut guard = c.stream.lock();
    let Some(stream) = guard.as_mut() else {
        return Err(err!(ValueError, "Compressor has been flushed"));
    };
    if data.is_empty() {
        return Ok(Value::bytes(Vec::new()));
    }
    Ok(Value::bytes(deflate(stream, &data, Action::Run)?))
}

fn comp_flush(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    Sig::pos("flush", Style::Positional, &[], 0)
        .method()
        .bind::<0>(&args)?;
    let (_, c) = this::<CompressorData>(&args, "BZ2Compressor")?;
    let mut guard = c.stream.lock();
    let Some(stream) = guard.as_mut() else {
        return Err(err!(ValueError, "Repeated call to flush()"));
    };
    let out = deflate(stream, &[], Action::Finish)?;
    *guard = None;
    Ok(Value::bytes(out))
}

// ---------------------------------------------------------------------------------------------
// BZ2Decompressor

struct DecompressorData {
    state: Mutex<DecompState>,
}

struct DecompState {
    stream: Decompress,
    /// Input taken but not yet consumed (a `max_length` stopped the output).
    pending: Vec<u8>,
    unused_data: Vec<u8>,
    eof: bool,
    needs_input: bool,
}

fn decomp_init(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let Some(Value::Instance(inst)) = args.pos.first() else {
        return Err(err!(
            TypeError,
            "BZ2Decompressor.__init__() needs a BZ2Decompressor"
        ));
    };
    Sig::pos("BZ2Decompressor", Style::Positional, &[], 0)
        .method()
        .bind::<0>(&args)?;
    let data = DecompressorData {
        state: Mutex::new(DecompState {
            stream: Decompress::new(false),
            pending: Vec::new(),
            unused_data: Vec::new(),
            eof: false,
            needs_input: true,
        }),
    };
    if !inst.set_native(Box::new(data)) {
        return Err(err!(
            RuntimeError,
            "BZ2Decompressor.__init__() called twice"
        ));
    }
    Ok(Value::None)
}

fn decomp_decompress(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [data, max_length] = Sig::kw("decompress", &["data", "max_length"], 1)
        .method()
        .bind::<2>(&args)?;
    let (_, d) = this::<DecompressorData>(&args, "BZ2Decompressor")?;
    let data = binary_arg(data.unwrap_or(&Value::None))?;
    let limit = match max_length {
        Some(v) => to_index(v)?,
        None => -1,
    };
    let limit = usize::try_from(limit).ok();
    let mut st = d.state.lock();
    if st.eof {
        return Err(err!(EOFError, "End of stream already reached"));
    }
    let mut input = std::mem::take(&mut st.pending);
    input.extend_from_slice(&data);
    let mut out: Vec<u8> = Vec::new();
    let start = st.stream.total_in();
    let mut ended = false;
    loop {
        let used = usize::try_from(st.stream.total_in() - start).unwrap_or(input.len());
        let used = used.min(input.len());
        let room = match limit {
            Some(n) => n.saturating_sub(out.len()).min(CHUNK),
            None => CHUNK,
        };
        if room == 0 {
            break;
        }
        let before = out.len();
        // Never past the limit: the library writes into the spare capacity only.
        let mut part = Vec::with_capacity(room);
        let status = st
            .stream
            .decompress_vec(&input[used..], &mut part)
            .map_err(bz_error)?;
        out.extend_from_slice(&part);
        let now = usize::try_from(st.stream.total_in() - start).unwrap_or(input.len());
        if status == Status::StreamEnd {
            ended = true;
            break;
        }
        if now == used && out.len() == before {
            break;
        }
    }
    let used = usize::try_from(st.stream.total_in() - start)
        .unwrap_or(input.len())
        .min(input.len());
    let rest = input[used..].to_vec();
    if ended {
        st.eof = true;
        st.needs_input = false;
        st.unused_data = rest;
    } else if rest.is_empty() {
        // All input taken; when the output stopped at the limit the library may still hold
        // some, so a reader calls again with no new input.
        st.needs_input = !matches!(limit, Some(n) if out.len() >= n);
    } else {
        st.needs_input = false;
        st.pending = rest;
    }
    Ok(Value::bytes(out))
}

fn decomp_eof(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<DecompressorData>(&args, "BZ2Decompressor")?;
    Ok(Value::Bool(d.state.lock().eof))
}

fn decomp_unused_data(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<DecompressorData>(&args, "BZ2Decompressor")?;
    Ok(Value::bytes(d.state.lock().unused_data.clone()))
}

fn decomp_needs_input(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<DecompressorData>(&args, "BZ2Decompressor")?;
    Ok(Value::Bool(d.state.lock().needs_input))
}
