//! `memoryview` (builtins stage): a view of the bytes of a `bytes`, `bytearray` or `mmap.mmap`
//! without copying them, as CPython's; a view of an `array.array` reads the array's items as
//! machine bytes (in the array's format) and writes through to its items (the array keeps
//! Python values, so each read or write packs them: not zero-copy), and holds its length fixed. A view of a map reads and writes the map's memory
//! (`stdlib/mmap.rs`), and while it is alive the map cannot be closed or resized, as in CPython.
//!
//! A view is the exporting object plus which of its bytes it shows (start, step, count of
//! items along the first dimension) and how it reads them: a native `struct` format of one
//! item (`B` at first; `cast('i')`, `cast('d')`... read and write ints, floats, bools, chars
//! through `stdlib/structmod.rs`) and, after `cast(fmt, shape)`, more dimensions, each row
//! C-contiguous. Slicing a view makes another view of the same object, and writing through a
//! view of a bytearray changes the bytearray. `tobytes`, `tolist` (nested for several
//! dimensions), `hex`, `cast` (1-D to N-D and back, byte formats to others and back),
//! `release` and the context manager, `==`, `hash` of a read-only view and the attributes
//! (`obj nbytes readonly itemsize format ndim shape strides contiguous`) are CPython's. Every consumer of bytes-like objects (`bytes()`, `b''.join`, file and socket
//! writes...) takes a view (`object::bytes_like` asks [`view_bytes`]).
//!
//! While an unreleased view of a bytearray exists, changing the bytearray's length is a
//! `BufferError`, as in CPython (each view, slices included, counts as one export until it is
//! released or freed).
//!
//! Differences: zero-dimensional casts (`shape=[]`) are a `NotImplementedError`; CPython refuses to release a view while a slice of it is alive ("memoryview has 1 exported
//! buffer"), minivm releases it (the slice still holds the bytearray's length fixed).

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;

use crate::builtins::args::{missing_receiver, to_index, wrong_receiver};
use crate::heap::{Global, Ref};
use crate::interp::subscr::slice_bounds;
use crate::interp::{Args, Interp};
use crate::object::{bytes_like, type_name, Class, Instance, NativeFn};
use crate::stdlib::native_class;
use crate::stdlib::sync::property;
use crate::stdlib::{array, mmap, structmod};
use crate::value::Value;
use crate::{err, raise, PyResult};

static CLASS: Global<Ref<Class>> = Global::new();

/// How a view reads each item: a native `struct` code (`B b c ? h H i I l L q Q n N f d e
/// P`), and whether the format was written with CPython's optional `@` (`format` shows it).
#[derive(Clone, Copy, PartialEq)]
struct Format {
    code: u8,
    at: bool,
}

impl Format {
    const UNSIGNED: Format = Format {
        code: b'B',
        at: false,
    };

    /// The format `cast` was given: `@` and one native code, else `None`.
    fn parse(text: &str) -> Option<Format> {
        let (at, rest) = match text.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        match rest.as_bytes() {
            [code] if structmod::native_size(*code).is_some() => Some(Format { code: *code, at }),
            _ => None,
        }
    }

    fn code(self) -> String {
        let code = char::from(self.code);
        if self.at {
            format!("@{code}")
        } else {
            code.to_string()
        }
    }

    /// A single-byte format (`B`, `b`, `c`): the ones casts between other formats go through.
    fn is_byte(self) -> bool {
        matches!(self.code, b'B' | b'b' | b'c')
    }

    fn size(self) -> usize {
        structmod::native_size(self.code).unwrap_or(1)
    }

    /// The value of the item whose bytes are `bytes` (`size()` of them).
    fn value(self, bytes: &[u8]) -> Value {
        match self.code {
            b'B' => Value::Int(i64::from(bytes[0])),
            _ => structmod::unpack_native(self.code, bytes),
        }
    }
}

/// The Rust data of a memoryview.
struct View {
    /// The exporting `bytes`, `bytearray` or `mmap.mmap`.
    obj: Value,
    /// Whether the exporter refuses writes (bytes, a read-only map).
    readonly: bool,
    /// The byte offset of the first item in the exporter.
    start: i64,
    /// The bytes from one item (row, with more dimensions) of the first dimension to the next.
    step: i64,
    /// How many items (rows) the first dimension has.
    len: usize,
    format: Format,
    /// The extents of the dimensions after the first (none for a 1-D view): each row holds
    /// their product of items, C-contiguous.
    inner: Vec<usize>,
    released: AtomicBool,
}

impl View {
    fn check(&self) -> PyResult<()> {
        if self.released.load(Ordering::Relaxed) {
            raise!(
                ValueError,
                "operation forbidden on released memoryview object"
            );
        }
        Ok(())
    }

    fn readonly(&self) -> bool {
        self.readonly
    }

    /// The position in the exporter's buffer of item (row) `i` (< len).
    fn offset(&self, i: usize) -> i64 {
        self.start + i as i64 * self.step
    }

    /// The bytes of one item of the first dimension (a row of a multi-dimensional view).
    fn row(&self) -> usize {
        self.inner.iter().product::<usize>() * self.format.size()
    }

    /// The bytes the view shows (CPython's `nbytes`).
    fn nbytes(&self) -> usize {
        self.len * self.row()
    }

    fn ndim(&self) -> usize {
        1 + self.inner.len()
    }

    /// Whether the rows follow each other in memory (CPython's C-contiguous).
    fn contiguous(&self) -> bool {
        self.step == self.row() as i64 || self.len <= 1
    }

    /// The items of the view's bytes `bytes`, in C order.
    fn values(&self, bytes: &[u8]) -> Vec<Value> {
        bytes
            .chunks_exact(self.format.size())
            .map(|b| self.format.value(b))
            .collect()
    }

    /// The bytes the view shows, copied.
    fn bytes(&self) -> PyResult<Vec<u8>> {
        self.check()?;
        // Read the exporter in place (a bytearray under its lock) rather than through
        // `bytes_like`, which would copy a whole bytearray to take a slice of it.
        let byte = |b: &u8| *b;
        match &self.obj {
            Value::Bytes(b) => self.gather(b.as_bytes(), <[u8]>::to_vec, byte),
            Value::ByteArray(b) => self.gather(&b.data.read(), <[u8]>::to_vec, byte),
            Value::Instance(a) if array::buffer_code(a).is_some() => match array::buffer_bytes(a) {
                Some(raw) => self.gather(&raw?, <[u8]>::to_vec, byte),
                None => raise!(TypeError, "memoryview: the exporter is not bytes-like"),
            },
            Value::Instance(map) => mmap::with_cells(map, |cells| {
                let load = |c: &AtomicU8| c.load(Ordering::Relaxed);
                self.gather(cells, |run| run.iter().map(load).collect(), load)
            })?,
            _ => raise!(TypeError, "memoryview: the exporter is not bytes-like"),
        }
    }

    /// The viewed items of `buf`: one slice copy (`run`) when the view is contiguous (step 1,
    /// the common case: a 100 MB view sliced and joined as bytes is a memcpy), else item by
    /// item (`byte`).
    fn gather<T>(
        &self,
        buf: &[T],
        run: impl Fn(&[T]) -> Vec<u8>,
        byte: impl Fn(&T) -> u8,
    ) -> PyResult<Vec<u8>> {
        let resized = || {
            err!(
                IndexError,
                "memoryview: the bytearray under the view was resized (CPython refuses that)"
            )
        };
        let row = self.row();
        if self.contiguous() {
            let start = usize::try_from(self.start).map_err(|_| resized())?;
            return start
                .checked_add(self.nbytes())
                .and_then(|end| buf.get(start..end))
                .map(run)
                .ok_or_else(resized);
        }
        let mut out = Vec::with_capacity(self.nbytes());
        for i in 0..self.len {
            let at = usize::try_from(self.offset(i)).ok();
            let cells = at
                .and_then(|k| buf.get(k..k.checked_add(row)?))
                .ok_or_else(resized)?;
            out.extend(cells.iter().map(&byte));
        }
        Ok(out)
    }

    /// Store `src`, in runs of `chunk` bytes, at positions `first`, `first + stride`... of the
    /// exporter's buffer (one copy when `stride` is `chunk`). A read-only exporter is refused by
    /// the callers.
    fn store(&self, first: i64, stride: i64, chunk: usize, src: &[u8]) -> PyResult<()> {
        let resized = || {
            err!(
                IndexError,
                "memoryview: the bytearray under the view was resized (CPython refuses that)"
            )
        };
        // Each arm puts `run` at position `at` of its buffer, false if it does not fit; a buffer
        // of plain bytes (a bytearray's, an array's packed items) takes them all this way.
        let into_bytes = |data: &mut [u8]| {
            scatter(first, stride, chunk, src, |at, run| {
                usize::try_from(at)
                    .ok()
                    .and_then(|k| data.get_mut(k..k.checked_add(run.len())?))
                    .map(|slot| slot.copy_from_slice(run))
                    .is_some()
            })
        };
        let fits = match &self.obj {
            Value::ByteArray(target) => into_bytes(&mut target.data.lock()),
            Value::Instance(a) if array::buffer_code(a).is_some() => {
                array::buffer_store(a, into_bytes)?
            }
            Value::Instance(map) if mmap::is_mmap(map) => mmap::with_cells(map, |cells| {
                scatter(first, stride, chunk, src, |at, run| {
                    usize::try_from(at)
                        .ok()
                        .and_then(|k| cells.get(k..k.checked_add(run.len())?))
                        .map(|slot| {
                            for (c, b) in slot.iter().zip(run) {
                                c.store(*b, Ordering::Relaxed);
                            }
                        })
                        .is_some()
                })
            })?,
            _ => raise!(TypeError, "cannot modify read-only memory"),
        };
        fits.then_some(()).ok_or_else(resized)
    }

    /// A new 1-D view of `obj` (bytes, bytearray or an open mmap), counted as an export of a
    /// bytearray or map.
    fn new(obj: Value, start: i64, step: i64, len: usize, format: Format) -> View {
        let readonly = match &obj {
            Value::ByteArray(b) => {
                b.export();
                false
            }
            Value::Instance(a) if array::buffer_code(a).is_some() => {
                array::set_exported(a, true);
                false
            }
            Value::Instance(map) => mmap::export(map).unwrap_or(true),
            _ => true,
        };
        View {
            obj,
            readonly,
            start,
            step,
            len,
            format,
            inner: Vec::new(),
            released: AtomicBool::new(false),
        }
    }

    /// Another view of the same exporter, with this one's dimensions after the first.
    fn sub(&self, start: i64, step: i64, len: usize, format: Format) -> View {
        let mut v = View::new(self.obj.clone(), start, step, len, format);
        v.inner = self.inner.clone();
        v
    }

    /// `release()`: from now on the view refuses every use and no longer holds the
    /// bytearray's length fixed. Releasing twice is harmless.
    fn release(&self) {
        if !self.released.swap(true, Ordering::Relaxed) {
            match &self.obj {
                Value::ByteArray(b) => b.unexport(),
                Value::Instance(a) if array::buffer_code(a).is_some() => {
                    array::set_exported(a, false)
                }
                Value::Instance(map) => mmap::unexport(map),
                _ => {}
            }
        }
    }
}

/// Store `src` in runs of `chunk` bytes at `first`, `first + stride`... through
/// `put(position, run)`: one call for a contiguous store, one per run otherwise. False if a
/// position does not fit.
fn scatter(
    first: i64,
    stride: i64,
    chunk: usize,
    src: &[u8],
    mut put: impl FnMut(i64, &[u8]) -> bool,
) -> bool {
    if stride == chunk as i64 || src.len() <= chunk {
        return put(first, src);
    }
    src.chunks(chunk.max(1))
        .enumerate()
        .all(|(k, run)| put(first + k as i64 * stride, run))
}

/// A view freed without `release()` (CPython frees a view as soon as nothing refers to it, and
/// so does minivm's reference counting) stops holding its bytearray's length fixed.
impl Drop for View {
    fn drop(&mut self) {
        self.release();
    }
}

fn class() -> Ref<Class> {
    CLASS
        .get_or_init(|| {
            let cls = native_class(
                "memoryview",
                "builtins",
                &[
                    ("__new__", mv_new),
                    ("__len__", mv_len),
                    ("__getitem__", mv_getitem),
                    ("__setitem__", mv_setitem),
                    ("__delitem__", mv_delitem),
                    ("__iter__", mv_iter),
                    ("__eq__", mv_eq),
                    ("__hash__", mv_hash),
                    ("__repr__", mv_repr),
                    ("__enter__", mv_enter),
                    ("__exit__", mv_exit),
                    ("tobytes", mv_tobytes),
                    ("tolist", mv_tolist),
                    ("hex", mv_hex),
                    ("cast", mv_cast),
                    ("release", mv_release),
                    ("toreadonly", mv_toreadonly),
                ],
            );
            {
                let mut dict = cls.dict.write();
                for (name, f) in [
                    ("obj", mv_obj as NativeFn),
                    ("nbytes", mv_nbytes),
                    ("readonly", mv_readonly),
                    ("itemsize", mv_itemsize),
                    ("format", mv_format),
                    ("ndim", mv_ndim),
                    ("shape", mv_shape),
                    ("strides", mv_strides),
                    ("suboffsets", mv_suboffsets),
                    ("c_contiguous", mv_c_contiguous),
                    ("f_contiguous", mv_f_contiguous),
                    ("contiguous", mv_contiguous),
                ] {
                    dict.insert(Arc::from(name), property((name, f)));
                }
            }
            cls
        })
        .clone()
}

/// The `memoryview` class for the builtins namespace.
pub fn memoryview_class() -> Value {
    Value::Class(class())
}

/// A new writable view of all of `obj` (a bytearray; any bytes-like value), for a library
/// object sharing its bytes, as `io.BytesIO.getbuffer()`.
pub fn view_of(obj: Value) -> Value {
    let len = match &obj {
        Value::ByteArray(b) => b.data.lock().len(),
        other => bytes_like(other).map_or(0, |b| b.len()),
    };
    make(&class(), View::new(obj, 0, 1, len, Format::UNSIGNED))
}

/// The bytes a memoryview shows (for `object::bytes_like`); `None` for any other instance or a
/// released view.
pub fn view_bytes(inst: &Instance) -> Option<Vec<u8>> {
    inst.native::<View>().and_then(|v| v.bytes().ok())
}

/// How many bytes a writable memoryview (one of a bytearray, not released) shows; `None` for a
/// read-only or released view or any other instance (`readinto`'s check of its buffer).
pub fn writable_len(inst: &Instance) -> Option<usize> {
    let v = inst.native::<View>()?;
    (v.check().is_ok() && !v.readonly()).then(|| v.nbytes())
}

/// The length of a writable buffer a function writes into (`struct.pack_into`): a bytearray,
/// a writable contiguous memoryview or a writable mmap; `None` for anything else (CPython
/// refuses a view with a step, as not contiguous).
pub fn writable_buffer_len(target: &Value) -> Option<usize> {
    match target {
        Value::ByteArray(b) => Some(b.data.read().len()),
        Value::Instance(i) if mmap::is_mmap(i) => mmap::with_cells(i, |c| c.len())
            .ok()
            .filter(|_| !mmap::readonly(i)),
        Value::Instance(i) => {
            let contiguous = i.native::<View>()?.contiguous();
            writable_len(i).filter(|_| contiguous)
        }
        _ => None,
    }
}

/// Write `data` at byte `offset` of a writable buffer (a bytearray, mmap or memoryview whose
/// bytes `writable_len` counts): `readinto` into a view, `struct.pack_into`.
pub fn write_buffer(target: &Value, offset: usize, data: &[u8]) -> PyResult<()> {
    let whole;
    let view = match target {
        Value::Instance(i) => match i.native::<View>() {
            Some(v) => v,
            None => {
                whole = View::new(target.clone(), 0, 1, offset + data.len(), Format::UNSIGNED);
                &whole
            }
        },
        _ => {
            whole = View::new(target.clone(), 0, 1, offset + data.len(), Format::UNSIGNED);
            &whole
        }
    };
    view.check()?;
    if view.readonly() {
        raise!(TypeError, "cannot modify read-only memory");
    }
    if view.row() == 1 {
        // A view of single bytes, with a step or not.
        return view.store(view.offset(offset), view.step, 1, data);
    }
    if !view.contiguous() {
        raise!(
            BufferError,
            "memoryview: underlying buffer is not C-contiguous"
        );
    }
    view.store(view.start + offset as i64, 1, data.len(), data)
}

fn make(cls: &Ref<Class>, view: View) -> Value {
    let me = Ref::new(Instance::new(cls.clone()));
    me.set_native(Box::new(view));
    Value::Instance(me)
}

/// The receiver of the method or property `name` of `memoryview`, or the TypeError CPython
/// gives for a missing one or one of another type (`memoryview.tobytes(b'x')`).
fn view<'a>(args: &Args<'a>, name: &str) -> PyResult<(&'a Ref<Instance>, &'a View)> {
    if let Some(Value::Instance(inst)) = args.pos.first() {
        if let Some(v) = inst.native::<View>() {
            return Ok((inst, v));
        }
    }
    match args.pos.first() {
        Some(other) => Err(wrong_receiver("memoryview", name, other)),
        None => Err(missing_receiver("memoryview", name)),
    }
}

fn mv_new(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let Some(Value::Class(cls)) = args.pos.first() else {
        raise!(TypeError, "memoryview.__new__(X): X is not a type object");
    };
    if !args.kw.is_empty() && args.kw.iter().any(|(k, _)| &**k != "object") {
        raise!(
            TypeError,
            "memoryview() got an unexpected keyword argument '{}'",
            args.kw[0].0
        );
    }
    let obj = match (args.pos.get(1), args.kw.first()) {
        (Some(v), None) if args.pos.len() == 2 => v,
        (None, Some((_, v))) => v,
        _ => raise!(
            TypeError,
            "memoryview() takes exactly one argument ({} given)",
            args.pos.len() - 1 + args.kw.len()
        ),
    };
    let view = match obj {
        Value::Bytes(b) => View::new(obj.clone(), 0, 1, b.as_bytes().len(), Format::UNSIGNED),
        Value::ByteArray(b) => {
            let len = b.data.lock().len();
            View::new(obj.clone(), 0, 1, len, Format::UNSIGNED)
        }
        Value::Instance(i) if mmap::is_mmap(i) => {
            let len = mmap::open_len(i)?;
            View::new(obj.clone(), 0, 1, len, Format::UNSIGNED)
        }
        Value::Instance(i) if array::buffer_code(i).is_some() => {
            let code = array::buffer_code(i).unwrap_or(b'B');
            let Some(format) = Format::parse(&char::from(code).to_string()) else {
                raise!(
                    NotImplementedError,
                    "minivm's memoryview does not take an array of type code '{}'",
                    char::from(code)
                );
            };
            let nbytes = match array::buffer_bytes(i) {
                Some(raw) => raw?.len(),
                None => 0,
            };
            View::new(
                obj.clone(),
                0,
                format.size() as i64,
                nbytes / format.size(),
                format,
            )
        }
        Value::Instance(i) if i.native::<View>().is_some() => {
            let Some(v) = i.native::<View>() else {
                raise!(TypeError, "memoryview: expected a memoryview");
            };
            v.check()?;
            v.sub(v.start, v.step, v.len, v.format)
        }
        other => raise!(
            TypeError,
            "memoryview: a bytes-like object is required, not '{}'",
            type_name(other)
        ),
    };
    Ok(make(cls, view))
}

fn mv_len(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args, "__len__")?;
    v.check()?;
    Ok(Value::Int(v.len as i64))
}

/// The position of index `key` along a dimension of `extent` items, or CPython's error.
fn dim_index(extent: usize, key: &Value, dim: usize) -> PyResult<usize> {
    let i = match key {
        Value::BigInt(_) => raise!(IndexError, "cannot fit 'int' into an index-sized integer"),
        other => to_index(other).map_err(|_| err!(TypeError, "memoryview: invalid slice key"))?,
    };
    let j = if i < 0 { i + extent as i64 } else { i };
    if j < 0 || j >= extent as i64 {
        raise!(IndexError, "index out of bounds on dimension {dim}");
    }
    Ok(j as usize)
}

/// Where the item a key names starts in the exporter: an index of a 1-D view, or a tuple of
/// one index per dimension.
fn item_offset(v: &View, key: &Value) -> PyResult<i64> {
    let keys: &[Value] = match key {
        Value::Tuple(t) => &t.items,
        _ if v.ndim() > 1 => raise!(
            NotImplementedError,
            "multi-dimensional sub-views are not implemented"
        ),
        _ => std::slice::from_ref(key),
    };
    if keys.len() != v.ndim() {
        if keys.len() > v.ndim() {
            raise!(
                TypeError,
                "cannot index {}-dimension view with {}-element tuple",
                v.ndim(),
                keys.len()
            );
        }
        raise!(NotImplementedError, "sub-views are not implemented");
    }
    let mut at = v.offset(dim_index(v.len, &keys[0], 1)?);
    // The inner dimensions are C-contiguous: dimension k steps over the product of the
    // extents after it.
    let mut stride = v.row();
    for (k, (key, &extent)) in keys[1..].iter().zip(&v.inner).enumerate() {
        stride /= extent.max(1);
        at += (dim_index(extent, key, k + 2)? * stride) as i64;
    }
    Ok(at)
}

fn mv_getitem(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (me, v) = view(&args, "__getitem__")?;
    v.check()?;
    let Some(key) = args.pos.get(1) else {
        raise!(TypeError, "expected 1 argument, got 0");
    };
    match key {
        Value::Slice(s) => {
            let (start, _, step, n) = slice_bounds(s, v.len as i128)?;
            let start = v.start + start as i64 * v.step;
            let step = (step.clamp(-(1 << 62), 1 << 62) as i64).saturating_mul(v.step);
            Ok(make(
                &me.class.get(),
                v.sub(start, step, n as usize, v.format),
            ))
        }
        Value::Ellipsis => Ok(Value::Instance(me.clone())),
        _ => {
            let at = item_offset(v, key)?;
            let item = View::new(v.obj.clone(), at, 1, 1, v.format);
            let bytes = item.bytes()?;
            Ok(v.format.value(&bytes))
        }
    }
}

/// The bytes an item assignment stores, checked against the view's format as CPython does
/// (a value of the wrong type, or one the format cannot hold).
fn item_bytes(interp: &mut Interp, v: &View, value: &Value) -> PyResult<Vec<u8>> {
    let code = v.format.code();
    let fits_type = match v.format.code {
        b'c' => bytes_like(value).is_some(),
        b'?' => true,
        b'f' | b'd' | b'e' => matches!(
            value,
            Value::Float(_) | Value::Int(_) | Value::Bool(_) | Value::BigInt(_)
        ),
        _ => matches!(value, Value::Int(_) | Value::Bool(_) | Value::BigInt(_)),
    };
    if !fits_type {
        raise!(TypeError, "memoryview: invalid type for format '{code}'");
    }
    structmod::pack_native(interp, v.format.code, value)
        .map_err(|_| err!(ValueError, "memoryview: invalid value for format '{code}'"))
}

fn mv_setitem(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args, "__setitem__")?;
    v.check()?;
    let (Some(key), Some(value)) = (args.pos.get(1), args.pos.get(2)) else {
        raise!(TypeError, "expected 2 arguments");
    };
    if v.readonly() {
        raise!(TypeError, "cannot modify read-only memory");
    }
    let Value::Slice(s) = key else {
        let at = item_offset(v, key)?;
        let bytes = item_bytes(interp, v, value)?;
        v.store(at, 1, bytes.len(), &bytes)?;
        return Ok(Value::None);
    };
    if v.ndim() > 1 {
        raise!(
            NotImplementedError,
            "memoryview slice assignments are currently restricted to ndim = 1"
        );
    }
    let (start, _, step, n) = slice_bounds(s, v.len as i128)?;
    // The source must hold as many items of the same format (a bytes-like object is items of
    // format 'B').
    let src: Cow<[u8]> = match value {
        Value::Instance(i) if i.native::<View>().is_some() => {
            let Some(w) = i.native::<View>() else {
                raise!(TypeError, "memoryview: expected a memoryview");
            };
            if w.format.code != v.format.code || w.ndim() != 1 || w.len as i128 != n {
                raise!(
                    ValueError,
                    "memoryview assignment: lvalue and rvalue have different structures"
                );
            }
            Cow::Owned(w.bytes()?)
        }
        // An array is items of its type code's format.
        Value::Instance(i) if array::buffer_code(i).is_some() => {
            let code = array::buffer_code(i).unwrap_or(b'B');
            let raw = array::buffer_bytes(i).transpose()?.unwrap_or_default();
            if code != v.format.code || (raw.len() / v.format.size()) as i128 != n {
                raise!(
                    ValueError,
                    "memoryview assignment: lvalue and rvalue have different structures"
                );
            }
            Cow::Owned(raw)
        }
        other => {
            let Some(src) = bytes_like(other) else {
                raise!(
                    TypeError,
                    "a bytes-like object is required, not '{}'",
                    type_name(other)
                );
            };
            if v.format.code != b'B' || src.len() as i128 != n {
                raise!(
                    ValueError,
                    "memoryview assignment: lvalue and rvalue have different structures"
                );
            }
            src
        }
    };
    if n == 0 {
        return Ok(Value::None);
    }
    // Contiguous: one copy (`view[a:b] = chunk` of a megabyte is a memcpy).
    let first = v.offset(start as usize);
    v.store(first, v.step * step as i64, v.row(), &src)?;
    Ok(Value::None)
}

fn mv_delitem(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args, "__delitem__")?;
    v.check()?;
    raise!(TypeError, "cannot delete memory")
}

/// `tolist()`: the items, as nested lists for more than one dimension.
fn mv_tolist(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args, "tolist")?;
    let items = v.values(&v.bytes()?);
    let mut dims = vec![v.len];
    dims.extend(&v.inner);
    Ok(nest(&items, &dims))
}

/// `items` (C order) as lists nested along `dims`.
fn nest(items: &[Value], dims: &[usize]) -> Value {
    match dims {
        [] | [_] => Value::list(items.to_vec()),
        [first, rest @ ..] => {
            let per = items.len() / (*first).max(1);
            Value::list(
                items
                    .chunks(per.max(1))
                    .take(*first)
                    .map(|c| nest(c, rest))
                    .collect(),
            )
        }
    }
}

fn mv_iter(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args, "__iter__")?;
    v.check()?;
    if v.ndim() > 1 {
        raise!(
            NotImplementedError,
            "multi-dimensional sub-views are not implemented"
        );
    }
    let list = mv_tolist(interp, args)?;
    interp.get_iter(&list)
}

fn mv_tobytes(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args, "tobytes")?;
    match args.pos.get(1).or(args.kw.first().map(|(_, x)| x)) {
        None | Some(Value::None) => {}
        Some(Value::Str(s)) if matches!(s.as_str(), "C" | "F" | "A") => {}
        Some(_) => raise!(ValueError, "order must be 'C', 'F' or 'A'"),
    }
    Ok(Value::bytes(v.bytes()?))
}

fn mv_hex(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args, "hex")?;
    let mut pos = vec![Value::bytes(v.bytes()?)];
    pos.extend(args.pos.iter().skip(1).cloned());
    crate::builtins::bytes_methods::hex(
        interp,
        Args {
            pos: &pos,
            kw: args.kw,
        },
    )
}

/// The `shape` argument of `cast`: positive extents.
fn shape_arg(shape: &Value) -> PyResult<Vec<usize>> {
    let items = match shape {
        Value::List(l) => l.items.read().clone(),
        Value::Tuple(t) => t.items.to_vec(),
        _ => raise!(TypeError, "shape must be a list or a tuple"),
    };
    if items.len() > 64 {
        raise!(
            ValueError,
            "memoryview: number of dimensions must not exceed 64"
        );
    }
    items
        .iter()
        .map(|x| match x {
            Value::Int(n) if *n > 0 => Ok(*n as usize),
            _ => Err(err!(
                ValueError,
                "memoryview.cast(): elements of shape must be integers > 0"
            )),
        })
        .collect()
}

/// `cast(format[, shape])`: the same bytes read as items of another native format, 1-D or
/// with `shape`, with CPython's rules (C-contiguous views only; one side a byte format; 1-D to
/// N-D or N-D to 1-D; the sizes must agree).
fn mv_cast(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (me, v) = view(&args, "cast")?;
    v.check()?;
    let [format, shape] = crate::builtins::args::Sig::py("cast", &["format", "shape"], 1)
        .method()
        .bind::<2>(&args)?;
    let format = match format {
        Some(Value::Str(s)) => Format::parse(s.as_str()).ok_or_else(|| {
            err!(
                ValueError,
                "memoryview: destination format must be a native single character format prefixed with an optional '@'"
            )
        })?,
        Some(other) => raise!(
            TypeError,
            "cast() argument 'format' must be str, not {}",
            type_name(other)
        ),
        None => raise!(
            TypeError,
            "cast() missing required argument 'format' (pos 1)"
        ),
    };
    if !v.contiguous() {
        raise!(
            TypeError,
            "memoryview: casts are restricted to C-contiguous views"
        );
    }
    let shape = match shape {
        Some(s) => Some(shape_arg(s)?),
        None => None,
    };
    if shape.as_ref().is_some_and(|s| s.len() != 1) && v.ndim() != 1 {
        raise!(TypeError, "memoryview: cast must be 1D -> ND or ND -> 1D");
    }
    if !v.format.is_byte() && !format.is_byte() {
        raise!(
            TypeError,
            "memoryview: cannot cast between two non-byte formats"
        );
    }
    let nbytes = v.nbytes();
    let size = format.size();
    let dims = match shape {
        None => {
            if nbytes % size != 0 {
                raise!(
                    TypeError,
                    "memoryview: length is not a multiple of itemsize"
                );
            }
            vec![nbytes / size]
        }
        Some(s) if s.is_empty() => raise!(
            NotImplementedError,
            "minivm's memoryview has no zero-dimensional views (cast with shape=[])"
        ),
        Some(s) => {
            let total = s
                .iter()
                .try_fold(size, |acc, &n| acc.checked_mul(n))
                .unwrap_or(usize::MAX);
            if total != nbytes {
                raise!(
                    TypeError,
                    "memoryview: product(shape) * itemsize != buffer size"
                );
            }
            s
        }
    };
    let mut cast = View::new(v.obj.clone(), v.start, 0, dims[0], format);
    cast.inner = dims[1..].to_vec();
    cast.step = cast.row() as i64;
    Ok(make(&me.class.get(), cast))
}

fn mv_release(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args, "release")?;
    v.release();
    Ok(Value::None)
}

fn mv_toreadonly(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (me, v) = view(&args, "toreadonly")?;
    let bytes = v.bytes()?;
    let mut copy = View::new(Value::bytes(bytes), 0, v.row() as i64, v.len, v.format);
    copy.inner = v.inner.clone();
    Ok(make(&me.class.get(), copy))
}

fn mv_enter(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (me, v) = view(&args, "__enter__")?;
    v.check()?;
    Ok(Value::Instance(me.clone()))
}

fn mv_exit(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args, "__exit__")?;
    v.release();
    Ok(Value::Bool(false))
}

/// One item as compared by `==`: views of different formats compare by value.
#[derive(PartialEq)]
enum Item {
    Int(i128),
    Float(f64),
    Char(Vec<u8>),
}

impl Item {
    fn of(v: &Value) -> Item {
        match v {
            Value::Int(n) => Item::Int(i128::from(*n)),
            Value::Bool(b) => Item::Int(i128::from(*b)),
            Value::Float(f) => Item::Float(*f),
            Value::BigInt(b) => b
                .to_string()
                .parse::<i128>()
                .map_or(Item::Float(f64::NAN), Item::Int),
            other => Item::Char(bytes_like(other).map(|b| b.to_vec()).unwrap_or_default()),
        }
    }

    fn same(&self, other: &Item) -> bool {
        match (self, other) {
            (Item::Float(a), Item::Int(b)) | (Item::Int(b), Item::Float(a)) => *a == *b as f64,
            _ => self == other,
        }
    }
}

/// The shape and items of a view for `==` (`None` once released).
fn shape_items(w: &View) -> PyResult<(Vec<usize>, Vec<Item>)> {
    let mut shape = vec![w.len];
    shape.extend(&w.inner);
    let items = w.values(&w.bytes()?).iter().map(Item::of).collect();
    Ok((shape, items))
}

fn mv_eq(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (me, v) = view(&args, "__eq__")?;
    let Some(other) = args.pos.get(1) else {
        raise!(TypeError, "expected 1 argument, got 0");
    };
    if let Value::Instance(o) = other {
        if Ref::ptr_eq(o, me) {
            return Ok(Value::Bool(true));
        }
    }
    if v.released.load(Ordering::Relaxed) {
        return Ok(Value::Bool(false));
    }
    let theirs = match other {
        Value::Instance(o) => match o.native::<View>() {
            Some(w) if w.released.load(Ordering::Relaxed) => return Ok(Value::Bool(false)),
            Some(w) => shape_items(w)?,
            None => return Ok(Value::NotImplemented),
        },
        _ => match bytes_like(other) {
            Some(b) => (
                vec![b.len()],
                b.iter().map(|&x| Item::Int(i128::from(x))).collect(),
            ),
            None => return Ok(Value::NotImplemented),
        },
    };
    let mine = shape_items(v)?;
    let same = mine.0 == theirs.0
        && mine.1.len() == theirs.1.len()
        && mine.1.iter().zip(&theirs.1).all(|(a, b)| a.same(b));
    Ok(Value::Bool(same))
}

fn mv_hash(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args, "__hash__")?;
    v.check()?;
    if !v.readonly() {
        raise!(ValueError, "cannot hash writable memoryview object");
    }
    if !v.format.is_byte() || v.format.at {
        raise!(
            ValueError,
            "memoryview: hashing is restricted to formats 'B', 'b' or 'c'"
        );
    }
    let h = crate::builtins::functions::py_hash(interp, &Value::bytes(v.bytes()?))?;
    Ok(Value::Int(h))
}

fn mv_repr(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (me, v) = view(&args, "__repr__")?;
    let at = Ref::as_ptr(me) as usize;
    Ok(Value::string(if v.released.load(Ordering::Relaxed) {
        format!("<released memory at {at:#x}>")
    } else {
        format!("<memory at {at:#x}>")
    }))
}

fn mv_obj(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args, "obj")?;
    v.check()?;
    Ok(v.obj.clone())
}

fn mv_nbytes(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args, "nbytes")?;
    v.check()?;
    Ok(Value::Int(v.nbytes() as i64))
}

fn mv_readonly(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args, "readonly")?;
    v.check()?;
    Ok(Value::Bool(v.readonly()))
}

fn mv_itemsize(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args, "itemsize")?;
    v.check()?;
    Ok(Value::Int(v.format.size() as i64))
}

fn mv_format(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args, "format")?;
    v.check()?;
    Ok(Value::string(v.format.code()))
}

fn mv_ndim(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args, "ndim")?;
    v.check()?;
    Ok(Value::Int(v.ndim() as i64))
}

fn mv_shape(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args, "shape")?;
    v.check()?;
    let mut dims = vec![Value::Int(v.len as i64)];
    dims.extend(v.inner.iter().map(|&n| Value::Int(n as i64)));
    Ok(Value::tuple(dims))
}

/// `strides`: the bytes between items of each dimension (the inner ones C-contiguous).
fn mv_strides(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args, "strides")?;
    v.check()?;
    let mut strides = vec![Value::Int(v.step)];
    let mut stride = v.row();
    for &extent in &v.inner {
        stride /= extent.max(1);
        strides.push(Value::Int(stride as i64));
    }
    Ok(Value::tuple(strides))
}

fn mv_suboffsets(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args, "suboffsets")?;
    v.check()?;
    Ok(Value::tuple(vec![]))
}

/// `contiguous`, `c_contiguous` and `f_contiguous` (one answer for the three, as before), each
/// its own property so that a wrong receiver's message names the one called.
fn contiguous(args: &Args<'_>, name: &str) -> PyResult<Value> {
    let (_, v) = view(args, name)?;
    v.check()?;
    Ok(Value::Bool(v.contiguous()))
}

fn mv_contiguous(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    contiguous(&args, "contiguous")
}

fn mv_c_contiguous(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    contiguous(&args, "c_contiguous")
}

fn mv_f_contiguous(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    contiguous(&args, "f_contiguous")
}
