//! `memoryview` (builtins stage): a view of the bytes of a `bytes`, `bytearray` or `mmap.mmap`
//! without copying them, as CPython's for one-dimensional views of single bytes (formats `B`,
//! `b`, `c`). A view of a map reads and writes the map's memory (`stdlib/mmap.rs`), and while
//! it is alive the map cannot be closed or resized, as in CPython.
//!
//! A view is the exporting object plus which of its bytes it shows (start, step, count):
//! slicing a view makes another view of the same object, and writing through a view of a
//! bytearray changes the bytearray. `tobytes`, `tolist`, `hex`, `cast` between the byte
//! formats, `release` and the context manager, `==`, `hash` of a read-only view and the
//! attributes (`obj nbytes readonly itemsize format ndim shape strides contiguous`) are
//! CPython's. Every consumer of bytes-like objects (`bytes()`, `b''.join`, file and socket
//! writes...) takes a view (`object::bytes_like` asks [`view_bytes`]).
//!
//! While an unreleased view of a bytearray exists, changing the bytearray's length is a
//! `BufferError`, as in CPython (each view, slices included, counts as one export until it is
//! released or freed).
//!
//! Differences: casts to other formats (`'i'`, `'d'`..., shapes) are a `NotImplementedError`;
//! CPython refuses to release a view while a slice of it is alive ("memoryview has 1 exported
//! buffer"), minivm releases it (the slice still holds the bytearray's length fixed).

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;

use crate::builtins::args::to_index;
use crate::heap::{Global, Ref};
use crate::interp::subscr::slice_bounds;
use crate::interp::{Args, Interp};
use crate::object::{bytes_like, type_name, Class, Instance, NativeFn};
use crate::stdlib::mmap;
use crate::stdlib::sync::property;
use crate::stdlib::{native_class, this};
use crate::value::Value;
use crate::{err, raise, PyResult};

static CLASS: Global<Ref<Class>> = Global::new();

/// How a view reads each byte.
#[derive(Clone, Copy, PartialEq)]
enum Format {
    /// `B`: an unsigned int 0..=255.
    Unsigned,
    /// `b`: a signed int -128..=127.
    Signed,
    /// `c`: a bytes object of length 1.
    Char,
}

impl Format {
    fn code(self) -> &'static str {
        match self {
            Format::Unsigned => "B",
            Format::Signed => "b",
            Format::Char => "c",
        }
    }

    fn value(self, byte: u8) -> Value {
        match self {
            Format::Unsigned => Value::Int(i64::from(byte)),
            Format::Signed => Value::Int(i64::from(byte as i8)),
            Format::Char => Value::bytes(vec![byte]),
        }
    }
}

/// The Rust data of a memoryview.
struct View {
    /// The exporting `bytes`, `bytearray` or `mmap.mmap`.
    obj: Value,
    /// Whether the exporter refuses writes (bytes, a read-only map).
    readonly: bool,
    start: i64,
    step: i64,
    len: usize,
    format: Format,
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

    /// The position in the exporter's buffer of item `i` (< len).
    fn offset(&self, i: usize) -> i64 {
        self.start + i as i64 * self.step
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
        if self.step == 1 {
            let start = usize::try_from(self.start).map_err(|_| resized())?;
            return start
                .checked_add(self.len)
                .and_then(|end| buf.get(start..end))
                .map(run)
                .ok_or_else(resized);
        }
        let mut out = Vec::with_capacity(self.len);
        for i in 0..self.len {
            let at = usize::try_from(self.offset(i)).ok();
            out.push(byte(at.and_then(|k| buf.get(k)).ok_or_else(resized)?));
        }
        Ok(out)
    }

    /// Store `src` at positions `first`, `first + stride`... of the exporter's buffer (one
    /// copy when `stride` is 1). A read-only exporter is refused by the callers.
    fn store(&self, first: i64, stride: i64, src: &[u8]) -> PyResult<()> {
        let resized = || {
            err!(
                IndexError,
                "memoryview: the bytearray under the view was resized (CPython refuses that)"
            )
        };
        // Each arm puts `run` at position `at` of its buffer, false if it does not fit.
        let fits = match &self.obj {
            Value::ByteArray(target) => {
                let mut data = target.data.lock();
                scatter(first, stride, src, |at, run| {
                    usize::try_from(at)
                        .ok()
                        .and_then(|k| data.get_mut(k..k.checked_add(run.len())?))
                        .map(|slot| slot.copy_from_slice(run))
                        .is_some()
                })
            }
            Value::Instance(map) if mmap::is_mmap(map) => mmap::with_cells(map, |cells| {
                scatter(first, stride, src, |at, run| {
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

    /// A new view of `obj` (bytes, bytearray or an open mmap), counted as an export of a
    /// bytearray or map.
    fn new(obj: Value, start: i64, step: i64, len: usize, format: Format) -> View {
        let readonly = match &obj {
            Value::ByteArray(b) => {
                b.export();
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
            released: AtomicBool::new(false),
        }
    }

    fn sub(&self, start: i64, step: i64, len: usize, format: Format) -> View {
        View::new(self.obj.clone(), start, step, len, format)
    }

    /// `release()`: from now on the view refuses every use and no longer holds the
    /// bytearray's length fixed. Releasing twice is harmless.
    fn release(&self) {
        if !self.released.swap(true, Ordering::Relaxed) {
            match &self.obj {
                Value::ByteArray(b) => b.unexport(),
                Value::Instance(map) => mmap::unexport(map),
                _ => {}
            }
        }
    }
}

/// Store `src` at `first`, `first + stride`... through `put(position, run)`: one call for a
/// contiguous store, one per byte otherwise. False if a position does not fit.
fn scatter(first: i64, stride: i64, src: &[u8], mut put: impl FnMut(i64, &[u8]) -> bool) -> bool {
    if stride == 1 {
        return put(first, src);
    }
    src.iter()
        .enumerate()
        .all(|(k, b)| put(first + k as i64 * stride, std::slice::from_ref(b)))
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
                    ("c_contiguous", mv_contiguous),
                    ("f_contiguous", mv_contiguous),
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
    make(&class(), View::new(obj, 0, 1, len, Format::Unsigned))
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
    (v.check().is_ok() && !v.readonly()).then_some(v.len)
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
            let contiguous = i.native::<View>()?.step == 1;
            writable_len(i).filter(|&n| contiguous || n <= 1)
        }
        _ => None,
    }
}

/// Write `data` at byte `offset` of a buffer [`writable_buffer_len`] accepted.
pub fn write_buffer(target: &Value, offset: usize, data: &[u8]) -> PyResult<()> {
    let whole;
    let view = match target {
        Value::Instance(i) => match i.native::<View>() {
            Some(v) => v,
            None => {
                whole = View::new(target.clone(), 0, 1, offset + data.len(), Format::Unsigned);
                &whole
            }
        },
        _ => {
            whole = View::new(target.clone(), 0, 1, offset + data.len(), Format::Unsigned);
            &whole
        }
    };
    view.check()?;
    if view.readonly() {
        raise!(TypeError, "cannot modify read-only memory");
    }
    view.store(view.offset(offset), view.step, data)
}

fn make(cls: &Ref<Class>, view: View) -> Value {
    let me = Ref::new(Instance::new(cls.clone()));
    me.set_native(Box::new(view));
    Value::Instance(me)
}

fn view<'a>(args: &Args<'a>) -> PyResult<(&'a Ref<Instance>, &'a View)> {
    this::<View>(args, "memoryview")
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
        Value::Bytes(b) => View::new(obj.clone(), 0, 1, b.as_bytes().len(), Format::Unsigned),
        Value::ByteArray(b) => {
            let len = b.data.lock().len();
            View::new(obj.clone(), 0, 1, len, Format::Unsigned)
        }
        Value::Instance(i) if mmap::is_mmap(i) => {
            let len = mmap::open_len(i)?;
            View::new(obj.clone(), 0, 1, len, Format::Unsigned)
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
    let (_, v) = view(&args)?;
    v.check()?;
    Ok(Value::Int(v.len as i64))
}

/// The position of index `key` in the view, or CPython's error.
fn item_index(v: &View, key: &Value) -> PyResult<usize> {
    let i = match key {
        Value::BigInt(_) => raise!(IndexError, "cannot fit 'int' into an index-sized integer"),
        other => to_index(other).map_err(|_| err!(TypeError, "memoryview: invalid slice key"))?,
    };
    let j = if i < 0 { i + v.len as i64 } else { i };
    if j < 0 || j >= v.len as i64 {
        raise!(IndexError, "index out of bounds on dimension 1");
    }
    Ok(j as usize)
}

fn mv_getitem(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (me, v) = view(&args)?;
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
            let i = item_index(v, key)?;
            let bytes = v.bytes()?;
            let b = bytes.get(i).copied().unwrap_or(0);
            Ok(v.format.value(b))
        }
    }
}

/// The byte an item assignment stores, checked against the view's format.
fn item_byte(v: &View, value: &Value) -> PyResult<u8> {
    let code = v.format.code();
    match v.format {
        Format::Char => match bytes_like(value) {
            Some(b) if b.len() == 1 => Ok(b[0]),
            Some(_) => raise!(ValueError, "memoryview: invalid value for format '{code}'"),
            None => raise!(TypeError, "memoryview: invalid type for format '{code}'"),
        },
        Format::Unsigned | Format::Signed => {
            let n = match value {
                Value::Int(_) | Value::Bool(_) | Value::BigInt(_) => to_index(value).ok(),
                _ => raise!(TypeError, "memoryview: invalid type for format '{code}'"),
            };
            let byte = match (v.format, n) {
                (Format::Unsigned, Some(n)) => u8::try_from(n).ok(),
                (_, Some(n)) => i8::try_from(n).ok().map(|b| b as u8),
                _ => None,
            };
            byte.ok_or_else(|| err!(ValueError, "memoryview: invalid value for format '{code}'"))
        }
    }
}

fn mv_setitem(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args)?;
    v.check()?;
    let (Some(key), Some(value)) = (args.pos.get(1), args.pos.get(2)) else {
        raise!(TypeError, "expected 2 arguments");
    };
    if v.readonly() {
        raise!(TypeError, "cannot modify read-only memory");
    }
    // Where the first byte goes, the distance between the bytes written, and the bytes.
    let (first, stride, src): (i64, i64, Cow<[u8]>) = match key {
        Value::Slice(s) => {
            let (start, _, step, n) = slice_bounds(s, v.len as i128)?;
            let Some(src) = bytes_like(value) else {
                raise!(
                    TypeError,
                    "a bytes-like object is required, not '{}'",
                    type_name(value)
                );
            };
            if src.len() as i128 != n {
                raise!(
                    ValueError,
                    "memoryview assignment: lvalue and rvalue have different structures"
                );
            }
            if n == 0 {
                return Ok(Value::None);
            }
            (v.offset(start as usize), v.step * step as i64, src)
        }
        _ => {
            let i = item_index(v, key)?;
            (v.offset(i), 1, Cow::Owned(vec![item_byte(v, value)?]))
        }
    };
    // Contiguous: one copy (`view[a:b] = chunk` of a megabyte is a memcpy).
    v.store(first, stride, &src)?;
    Ok(Value::None)
}

fn mv_delitem(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args)?;
    v.check()?;
    raise!(TypeError, "cannot delete memory")
}

fn mv_tolist(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args)?;
    let bytes = v.bytes()?;
    Ok(Value::list(
        bytes.into_iter().map(|b| v.format.value(b)).collect(),
    ))
}

fn mv_iter(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let list = mv_tolist(interp, args)?;
    interp.get_iter(&list)
}

fn mv_tobytes(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args)?;
    match args.pos.get(1).or(args.kw.first().map(|(_, x)| x)) {
        None | Some(Value::None) => {}
        Some(Value::Str(s)) if matches!(s.as_str(), "C" | "F" | "A") => {}
        Some(_) => raise!(ValueError, "order must be 'C', 'F' or 'A'"),
    }
    Ok(Value::bytes(v.bytes()?))
}

fn mv_hex(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args)?;
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

fn mv_cast(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (me, v) = view(&args)?;
    v.check()?;
    let format = match args.pos.get(1).or(args.kw.first().map(|(_, x)| x)) {
        Some(Value::Str(s)) => match s.as_str() {
            "B" => Format::Unsigned,
            "b" => Format::Signed,
            "c" => Format::Char,
            other => raise!(
                NotImplementedError,
                "minivm's memoryview casts only to the byte formats 'B', 'b' and 'c', not '{other}'"
            ),
        },
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
    if args.pos.len() > 2 || args.kw.len() > 1 {
        raise!(
            NotImplementedError,
            "minivm's memoryview cast() takes no shape"
        );
    }
    if v.step != 1 && v.len > 1 {
        raise!(
            TypeError,
            "memoryview: casts are restricted to C-contiguous views"
        );
    }
    Ok(make(&me.class.get(), v.sub(v.start, 1, v.len, format)))
}

fn mv_release(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args)?;
    v.release();
    Ok(Value::None)
}

fn mv_toreadonly(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (me, v) = view(&args)?;
    let bytes = v.bytes()?;
    let len = bytes.len();
    let copy = View::new(Value::bytes(bytes), 0, 1, len, v.format);
    Ok(make(&me.class.get(), copy))
}

fn mv_enter(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (me, v) = view(&args)?;
    v.check()?;
    Ok(Value::Instance(me.clone()))
}

fn mv_exit(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args)?;
    v.release();
    Ok(Value::Bool(false))
}

/// One item as compared by `==`: views of different formats compare by value.
#[derive(PartialEq)]
enum Item {
    Int(i64),
    Char(u8),
}

fn items(format: Format, bytes: &[u8]) -> Vec<Item> {
    bytes
        .iter()
        .map(|&b| match format {
            Format::Unsigned => Item::Int(i64::from(b)),
            Format::Signed => Item::Int(i64::from(b as i8)),
            Format::Char => Item::Char(b),
        })
        .collect()
}

fn mv_eq(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (me, v) = view(&args)?;
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
            Some(w) => items(w.format, &w.bytes()?),
            None => return Ok(Value::NotImplemented),
        },
        _ => match bytes_like(other) {
            Some(b) => items(Format::Unsigned, &b),
            None => return Ok(Value::NotImplemented),
        },
    };
    Ok(Value::Bool(items(v.format, &v.bytes()?) == theirs))
}

fn mv_hash(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args)?;
    v.check()?;
    if !v.readonly() {
        raise!(ValueError, "cannot hash writable memoryview object");
    }
    let h = crate::builtins::functions::py_hash(interp, &Value::bytes(v.bytes()?))?;
    Ok(Value::Int(h))
}

fn mv_repr(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (me, v) = view(&args)?;
    let at = Ref::as_ptr(me) as usize;
    Ok(Value::string(if v.released.load(Ordering::Relaxed) {
        format!("<released memory at {at:#x}>")
    } else {
        format!("<memory at {at:#x}>")
    }))
}

fn mv_obj(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args)?;
    v.check()?;
    Ok(v.obj.clone())
}

fn mv_nbytes(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args)?;
    v.check()?;
    Ok(Value::Int(v.len as i64))
}

fn mv_readonly(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args)?;
    v.check()?;
    Ok(Value::Bool(v.readonly()))
}

fn mv_itemsize(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args)?;
    v.check()?;
    Ok(Value::Int(1))
}

fn mv_format(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args)?;
    v.check()?;
    Ok(Value::str(v.format.code()))
}

fn mv_ndim(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args)?;
    v.check()?;
    Ok(Value::Int(1))
}

fn mv_shape(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args)?;
    v.check()?;
    Ok(Value::tuple(vec![Value::Int(v.len as i64)]))
}

fn mv_strides(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args)?;
    v.check()?;
    Ok(Value::tuple(vec![Value::Int(v.step)]))
}

fn mv_suboffsets(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args)?;
    v.check()?;
    Ok(Value::tuple(vec![]))
}

fn mv_contiguous(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, v) = view(&args)?;
    v.check()?;
    Ok(Value::Bool(v.step == 1 || v.len <= 1))
}
