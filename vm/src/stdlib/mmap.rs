//! `mmap` (stdlib stage): memory-mapped files and anonymous shared memory, as CPython's
//! `mmap` module on Linux. The mapping itself (mmap(2), mremap(2), msync(2) and the `unsafe`
//! they need) is `heap::mapping::Mapping`; this file is the Python object around it.
//!
//! An `mmap.mmap` is a mutable sequence of bytes with a file position: indexing (ints and
//! slices, read and assigned), `read`/`read_byte`/`readline`/`write`/`write_byte` at the
//! position, `seek`/`tell`, `find`/`rfind`, `move`, `flush`, `resize`, `size`, `close`/`closed`,
//! `with`, iteration (bytes of length 1, as CPython's), and CPython's errors and repr. It is a
//! bytes-like object (`bytes(m)`, `f.write(m)`) and exports its memory to `memoryview(m)`
//! (`builtins/memoryview.rs`): while a view is alive, `close` and `resize` are a BufferError.
//!
//! `multiprocessing.shared_memory` maps files of /dev/shm with it; an anonymous map
//! (`mmap(-1, n)`) is shared with the children this process forks.
//!
//! Descriptors: minivm holds only the descriptors it made (`os.rs`); for any other open one (a
//! file object's `fileno()`) the map opens the same file again through `/proc/self/fd`, in the
//! descriptor's own access mode, and keeps that descriptor for `size()` and `resize()`, as
//! CPython keeps a duplicate.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::builtins::args::{to_index, Sig, Style};
use crate::heap::mapping::{Access, Mapping};
use crate::heap::{Global, Ref};
use crate::interp::subscr::slice_bounds;
use crate::interp::{Args, Interp};
use crate::object::{Class, Instance, Module};
use crate::stdlib::os::os_error;
use crate::stdlib::sync::property;
use crate::stdlib::{native_class, this};
use crate::value::Value;
use crate::{err, raise, PyErr, PyResult};

const ACCESS_DEFAULT: i64 = 0;
const ACCESS_READ: i64 = 1;
const ACCESS_WRITE: i64 = 2;
const ACCESS_COPY: i64 = 3;
const MAP_SHARED: i64 = libc::MAP_SHARED as i64;
const MAP_PRIVATE: i64 = libc::MAP_PRIVATE as i64;
const PROT_READ: i64 = libc::PROT_READ as i64;
const PROT_WRITE: i64 = libc::PROT_WRITE as i64;

static CLASS: Global<Ref<Class>> = Global::new();

/// An open map.
struct Open {
    map: Mapping,
    /// The mapped file (None for anonymous memory).
    file: Option<File>,
    pos: usize,
    offset: u64,
    /// `ACCESS_DEFAULT`... as CPython reports it in the repr.
    access: i64,
    /// Live memoryviews of the map (they keep it from being closed or resized).
    exports: usize,
}

impl Open {
    fn readonly(&self) -> bool {
        self.access == ACCESS_READ
    }

    fn cells(&self) -> &[AtomicU8] {
        self.map.cells()
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn copy(&self, start: usize, end: usize) -> Vec<u8> {
        let cells = self.cells();
        let end = end.min(cells.len());
        let start = start.min(end);
        cells[start..end]
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }

    fn store(&self, start: usize, data: &[u8]) {
        if let Some(cells) = self.cells().get(start..start + data.len()) {
            for (c, b) in cells.iter().zip(data) {
                c.store(*b, Ordering::Relaxed);
            }
        }
    }

    fn check_writable(&self) -> PyResult<()> {
        if self.readonly() {
            raise!(TypeError, "mmap can't modify a readonly memory map.");
        }
        Ok(())
    }
}

/// The Rust data of an `mmap.mmap`: `None` once closed.
struct MmapData {
    state: Mutex<Option<Open>>,
}

/// A method without parameters (CPython's `METH_NOARGS`).
fn no_args(args: &Args<'_>, name: &str) -> PyResult<()> {
    Sig::pos(name, Style::NoArgs, &[], 0).method().check(args)
}

fn closed_error() -> PyErr {
    err!(ValueError, "mmap closed or invalid")
}

pub fn mmap_class() -> Ref<Class> {
    CLASS
        .get_or_init(|| {
            let cls = native_class(
                "mmap",
                "mmap",
                &[
                    ("__init__", mm_init),
                    ("__len__", mm_len),
                    ("__getitem__", mm_getitem),
                    ("__setitem__", mm_setitem),
                    ("__delitem__", mm_delitem),
                    ("__iter__", mm_iter),
                    ("__enter__", mm_enter),
                    ("__exit__", mm_exit),
                    ("__repr__", mm_repr),
                    ("close", mm_close),
                    ("read", mm_read),
                    ("read_byte", mm_read_byte),
                    ("readline", mm_readline),
                    ("write", mm_write),
                    ("write_byte", mm_write_byte),
                    ("seek", mm_seek),
                    ("tell", mm_tell),
                    ("size", mm_size),
                    ("find", mm_find),
                    ("rfind", mm_rfind),
                    ("move", mm_move),
                    ("flush", mm_flush),
                    ("madvise", mm_madvise),
                    ("resize", mm_resize),
                ],
            );
            cls.dict
                .write()
                .insert(Arc::from("closed"), property(("closed", mm_closed)));
            cls
        })
        .clone()
}

fn page_size() -> i64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE) {
        Ok(Some(n)) => n,
        _ => 4096,
    }
}

pub fn module() -> Ref<Module> {
    let page = page_size();
    let mut consts: Vec<(&str, Value)> = vec![
        ("mmap", Value::Class(mmap_class())),
        (
            "error",
            Value::Class(
                crate::object::types()
                    .exc(crate::object::ExcKind::OSError)
                    .clone(),
            ),
        ),
        ("PAGESIZE", Value::Int(page)),
        ("ALLOCATIONGRANULARITY", Value::Int(page)),
        ("ACCESS_DEFAULT", Value::Int(ACCESS_DEFAULT)),
        ("ACCESS_READ", Value::Int(ACCESS_READ)),
        ("ACCESS_WRITE", Value::Int(ACCESS_WRITE)),
        ("ACCESS_COPY", Value::Int(ACCESS_COPY)),
    ];
    let ints: [(&str, libc::c_int); 28] = [
        ("MAP_SHARED", libc::MAP_SHARED),
        ("MAP_PRIVATE", libc::MAP_PRIVATE),
        ("MAP_ANON", libc::MAP_ANONYMOUS),
        ("MAP_ANONYMOUS", libc::MAP_ANONYMOUS),
        ("MAP_DENYWRITE", libc::MAP_DENYWRITE),
        ("MAP_EXECUTABLE", libc::MAP_EXECUTABLE),
        ("MAP_POPULATE", libc::MAP_POPULATE),
        ("MAP_STACK", libc::MAP_STACK),
        ("PROT_READ", libc::PROT_READ),
        ("PROT_WRITE", libc::PROT_WRITE),
        ("PROT_EXEC", libc::PROT_EXEC),
        ("MADV_NORMAL", libc::MADV_NORMAL),
        ("MADV_RANDOM", libc::MADV_RANDOM),
        ("MADV_SEQUENTIAL", libc::MADV_SEQUENTIAL),
        ("MADV_WILLNEED", libc::MADV_WILLNEED),
        ("MADV_DONTNEED", libc::MADV_DONTNEED),
        ("MADV_FREE", libc::MADV_FREE),
        ("MADV_REMOVE", libc::MADV_REMOVE),
        ("MADV_DONTFORK", libc::MADV_DONTFORK),
        ("MADV_DOFORK", libc::MADV_DOFORK),
        ("MADV_HWPOISON", libc::MADV_HWPOISON),
        ("MADV_MERGEABLE", libc::MADV_MERGEABLE),
        ("MADV_UNMERGEABLE", libc::MADV_UNMERGEABLE),
        ("MADV_HUGEPAGE", libc::MADV_HUGEPAGE),
        ("MADV_NOHUGEPAGE", libc::MADV_NOHUGEPAGE),
        ("MADV_DONTDUMP", libc::MADV_DONTDUMP),
        ("MADV_DODUMP", libc::MADV_DODUMP),
        ("MAP_NORESERVE", libc::MAP_NORESERVE),
    ];
    for (name, v) in ints {
        if name != "MAP_NORESERVE" {
            consts.push((name, Value::Int(i64::from(v))));
        }
    }
    super::module_from_fns("mmap", &[], consts)
}

/// The map's data, if `inst` is an `mmap.mmap`.
fn data_of(inst: &Instance) -> Option<&MmapData> {
    inst.native::<MmapData>()
}

/// `f` on the open map of `self`, or CPython's error for a closed one.
fn with_open<T>(args: &Args<'_>, f: impl FnOnce(&mut Open) -> PyResult<T>) -> PyResult<T> {
    let (_, d) = this::<MmapData>(args, "mmap.mmap")?;
    let mut state = d.state.lock();
    match state.as_mut() {
        Some(open) => f(open),
        None => Err(closed_error()),
    }
}

// ---------------------------------------------------------------------------------------------
// What memoryview and the bytes-like consumers use.

/// Whether `inst` is an `mmap.mmap`.
pub fn is_mmap(inst: &Instance) -> bool {
    data_of(inst).is_some()
}

/// The length of the open map `inst` (CPython's error for a closed one).
pub fn open_len(inst: &Instance) -> PyResult<usize> {
    let d = data_of(inst).ok_or_else(|| err!(TypeError, "expected an mmap.mmap"))?;
    let state = d.state.lock();
    state.as_ref().map(Open::len).ok_or_else(closed_error)
}

/// Whether the map refuses writes (opened with ACCESS_READ); true for a closed one.
pub fn readonly(inst: &Instance) -> bool {
    data_of(inst)
        .and_then(|d| d.state.lock().as_ref().map(Open::readonly))
        .unwrap_or(true)
}

/// A new export of the map (a memoryview of it): whether it is read-only, or `None` if `inst`
/// is no open map.
pub fn export(inst: &Instance) -> Option<bool> {
    let mut state = data_of(inst)?.state.lock();
    let open = state.as_mut()?;
    open.exports += 1;
    Some(open.readonly())
}

/// One export fewer (a view released or freed).
pub fn unexport(inst: &Instance) {
    if let Some(d) = data_of(inst) {
        if let Some(open) = d.state.lock().as_mut() {
            open.exports = open.exports.saturating_sub(1);
        }
    }
}

/// `f` on the map's bytes (for reading and, unless read-only, writing through the cells).
pub fn with_cells<T>(inst: &Instance, f: impl FnOnce(&[AtomicU8]) -> T) -> PyResult<T> {
    let d = data_of(inst).ok_or_else(|| err!(TypeError, "expected an mmap.mmap"))?;
    let state = d.state.lock();
    let open = state.as_ref().ok_or_else(closed_error)?;
    Ok(f(open.cells()))
}

/// A copy of the whole map (`bytes(m)`, `f.write(m)`); `None` for another instance or a
/// closed map.
pub fn contents(inst: &Instance) -> Option<Vec<u8>> {
    let d = data_of(inst)?;
    let state = d.state.lock();
    let open = state.as_ref()?;
    Some(open.copy(0, open.len()))
}

// ---------------------------------------------------------------------------------------------
// Construction.

/// `mmap.mmap(fileno, length, flags=MAP_SHARED, prot=PROT_WRITE|PROT_READ,
/// access=ACCESS_DEFAULT, offset=0)`.
fn mm_init(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let Some(Value::Instance(inst)) = args.pos.first() else {
        raise!(TypeError, "mmap.mmap() needs an mmap instance");
    };
    let [fileno, length, flags, prot, access, offset] = Sig::kw(
        "mmap",
        &["fileno", "length", "flags", "prot", "access", "offset"],
        2,
    )
    .method()
    .bind(&args)?;
    let int = |v: Option<&Value>, default: i64| v.map_or(Ok(default), to_index);
    let fileno = int(fileno, -1)?;
    let length = int(length, 0)?;
    let flags = int(flags, MAP_SHARED)?;
    let prot = int(prot, PROT_READ | PROT_WRITE)?;
    let mut access = int(access, ACCESS_DEFAULT)?;
    let offset = int(offset, 0)?;
    if length < 0 {
        raise!(OverflowError, "memory mapped length must be positive");
    }
    if offset < 0 {
        raise!(OverflowError, "memory mapped offset must be positive");
    }
    if access != ACCESS_DEFAULT && (flags != MAP_SHARED || prot != PROT_READ | PROT_WRITE) {
        raise!(
            ValueError,
            "mmap can't specify both access and flags, prot."
        );
    }
    let how = match access {
        ACCESS_READ => Access::Read,
        ACCESS_WRITE => Access::Shared,
        ACCESS_COPY => Access::Private,
        ACCESS_DEFAULT if prot & PROT_WRITE == 0 => {
            access = ACCESS_READ;
            Access::Read
        }
        ACCESS_DEFAULT if flags & MAP_PRIVATE != 0 => Access::Private,
        ACCESS_DEFAULT => Access::Shared,
        _ => raise!(ValueError, "mmap invalid access parameter."),
    };
    let (map, file) = if fileno == -1 {
        let len = usize::try_from(length).map_err(|_| err!(OverflowError, "length too large"))?;
        let map = Mapping::map(None, len, 0, how).map_err(|e| os_error(&e, None))?;
        (map, None)
    } else {
        let file = crate::stdlib::os_fd::reopen_fd(interp, fileno, true)?;
        let size = file.metadata().map_err(|e| os_error(&e, None))?.len() as i64;
        let len = if length == 0 {
            if size == 0 {
                raise!(ValueError, "cannot mmap an empty file");
            }
            if offset >= size {
                raise!(ValueError, "mmap offset is greater than file size");
            }
            size - offset
        } else {
            if offset > size || size - offset < length {
                raise!(ValueError, "mmap length is greater than file size");
            }
            length
        };
        let map = Mapping::map(Some(file.as_fd()), len as usize, offset as u64, how)
            .map_err(|e| os_error(&e, None))?;
        (map, Some(file))
    };
    let data = MmapData {
        state: Mutex::new(Some(Open {
            map,
            file,
            pos: 0,
            offset: offset as u64,
            access,
            exports: 0,
        })),
    };
    if !inst.set_native(Box::new(data)) {
        raise!(RuntimeError, "mmap.mmap.__init__() called twice");
    }
    Ok(Value::None)
}

// ---------------------------------------------------------------------------------------------
// The sequence.

fn mm_len(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    with_open(&args, |o| Ok(Value::Int(o.len() as i64)))
}

/// Item `key` (an int, negative from the end) as a position, or CPython's errors.
fn index_of(o: &Open, key: &Value) -> PyResult<usize> {
    let i = to_index(key).map_err(|_| err!(TypeError, "mmap indices must be integers"))?;
    let j = if i < 0 { i + o.len() as i64 } else { i };
    if j < 0 || j >= o.len() as i64 {
        raise!(IndexError, "mmap index out of range");
    }
    Ok(j as usize)
}

/// The positions a slice picks: (first, step, count).
fn slice_of(o: &Open, s: &crate::object::Slice) -> PyResult<(i128, i128, usize)> {
    let (start, _, step, n) = slice_bounds(s, o.len() as i128)?;
    Ok((start, step, n.max(0) as usize))
}

fn mm_getitem(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let key = args.pos.get(1).cloned().unwrap_or(Value::None);
    with_open(&args, |o| match &key {
        Value::Slice(s) => {
            let (start, step, n) = slice_of(o, s)?;
            if step == 1 {
                let start = start as usize;
                return Ok(Value::bytes(o.copy(start, start + n)));
            }
            let cells = o.cells();
            let out = (0..n)
                .map(|k| cells[(start + k as i128 * step) as usize].load(Ordering::Relaxed))
                .collect();
            Ok(Value::bytes(out))
        }
        _ => {
            let i = index_of(o, &key)?;
            Ok(Value::Int(i64::from(o.cells()[i].load(Ordering::Relaxed))))
        }
    })
}

fn mm_setitem(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (Some(key), Some(value)) = (args.pos.get(1), args.pos.get(2)) else {
        raise!(TypeError, "expected 2 arguments");
    };
    let src = match key {
        Value::Slice(_) => Some(crate::builtins::bytes_methods::arg_bytes(value)?.into_owned()),
        _ => None,
    };
    with_open(&args, |o| {
        o.check_writable()?;
        match (key, src) {
            (Value::Slice(s), Some(src)) => {
                let (start, step, n) = slice_of(o, s)?;
                if src.len() != n {
                    raise!(IndexError, "mmap slice assignment is wrong size");
                }
                let cells = o.cells();
                for (k, b) in src.iter().enumerate() {
                    cells[(start + k as i128 * step) as usize].store(*b, Ordering::Relaxed);
                }
                Ok(Value::None)
            }
            _ => {
                let i = index_of(o, key)?;
                let byte = match value {
                    Value::Int(_) | Value::Bool(_) | Value::BigInt(_) => to_index(value)
                        .ok()
                        .and_then(|n| u8::try_from(n).ok())
                        .ok_or_else(|| {
                            err!(ValueError, "mmap item value must be in range(0, 256)")
                        })?,
                    _ => raise!(TypeError, "mmap item value must be an int"),
                };
                o.cells()[i].store(byte, Ordering::Relaxed);
                Ok(Value::None)
            }
        }
    })
}

fn mm_delitem(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    with_open(&args, |_| {
        Err(err!(TypeError, "mmap doesn't support item deletion"))
    })
}

/// Iteration gives bytes of length 1 (CPython's sequence item), where `m[i]` is an int.
fn mm_iter(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let bytes = with_open(&args, |o| Ok(o.copy(0, o.len())))?;
    let items = bytes.into_iter().map(|b| Value::bytes(vec![b])).collect();
    interp.get_iter(&Value::list(items))
}

fn mm_enter(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    with_open(&args, |_| Ok(()))?;
    Ok(args.pos[0].clone())
}

fn mm_exit(interp: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    mm_close(
        interp,
        Args {
            pos: &args.pos[..1],
            kw: &[],
        },
    )?;
    Ok(Value::None)
}

fn mm_repr(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<MmapData>(&args, "mmap.mmap")?;
    let state = d.state.lock();
    let Some(o) = state.as_ref() else {
        return Ok(Value::str("<mmap.mmap closed=True>"));
    };
    let access = match o.access {
        ACCESS_READ => "ACCESS_READ",
        ACCESS_WRITE => "ACCESS_WRITE",
        ACCESS_COPY => "ACCESS_COPY",
        _ => "ACCESS_DEFAULT",
    };
    Ok(Value::string(format!(
        "<mmap.mmap closed=False, access={access}, length={}, pos={}, offset={}>",
        o.len(),
        o.pos,
        o.offset
    )))
}

fn mm_closed(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let (_, d) = this::<MmapData>(&args, "mmap.mmap")?;
    Ok(Value::Bool(d.state.lock().is_none()))
}

/// `close()`: unmap (a BufferError while a memoryview of the map is alive); closing twice is
/// harmless.
fn mm_close(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args(&args, "mmap.close")?;
    let (_, d) = this::<MmapData>(&args, "mmap.mmap")?;
    let mut state = d.state.lock();
    if state.as_ref().is_some_and(|o| o.exports > 0) {
        raise!(BufferError, "cannot close exported pointers exist");
    }
    let old = state.take();
    drop(state);
    drop(old);
    Ok(Value::None)
}

// ---------------------------------------------------------------------------------------------
// The file-like methods.

fn mm_read(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [n] = Sig::pos("read", Style::Positional, &["n"], 0)
        .method()
        .bind(&args)?;
    let n = match n {
        None | Some(Value::None) => None,
        Some(v) => Some(to_index(v)?),
    };
    with_open(&args, |o| {
        let left = o.len().saturating_sub(o.pos);
        let take = match n {
            Some(n) if n >= 0 => (n as usize).min(left),
            _ => left,
        };
        let out = o.copy(o.pos, o.pos + take);
        o.pos += take;
        Ok(Value::bytes(out))
    })
}

fn mm_read_byte(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args(&args, "mmap.read_byte")?;
    with_open(&args, |o| {
        if o.pos >= o.len() {
            raise!(ValueError, "read byte out of range");
        }
        let b = o.cells()[o.pos].load(Ordering::Relaxed);
        o.pos += 1;
        Ok(Value::Int(i64::from(b)))
    })
}

fn mm_readline(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args(&args, "mmap.readline")?;
    with_open(&args, |o| {
        let cells = o.cells();
        let start = o.pos.min(cells.len());
        let end = cells[start..]
            .iter()
            .position(|c| c.load(Ordering::Relaxed) == b'\n')
            .map_or(cells.len(), |k| start + k + 1);
        let out = o.copy(start, end);
        o.pos = end;
        Ok(Value::bytes(out))
    })
}

fn mm_write(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [data] = Sig::pos("write", Style::Positional, &["data"], 1)
        .method()
        .bind(&args)?;
    let data =
        crate::builtins::bytes_methods::arg_bytes(data.unwrap_or(&Value::None))?.into_owned();
    with_open(&args, |o| {
        o.check_writable()?;
        if o.pos > o.len() || o.len() - o.pos < data.len() {
            raise!(ValueError, "data out of range");
        }
        o.store(o.pos, &data);
        o.pos += data.len();
        Ok(Value::Int(data.len() as i64))
    })
}

fn mm_write_byte(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [byte] = Sig::pos("write_byte", Style::Positional, &["byte"], 1)
        .method()
        .bind(&args)?;
    let n = to_index(byte.unwrap_or(&Value::None))?;
    let byte = match u8::try_from(n) {
        Ok(b) => b,
        Err(_) if n < 0 => raise!(OverflowError, "unsigned byte integer is less than minimum"),
        Err(_) => raise!(
            OverflowError,
            "unsigned byte integer is greater than maximum"
        ),
    };
    with_open(&args, |o| {
        o.check_writable()?;
        if o.pos >= o.len() {
            raise!(ValueError, "write byte out of range");
        }
        o.cells()[o.pos].store(byte, Ordering::Relaxed);
        o.pos += 1;
        Ok(Value::None)
    })
}

fn mm_seek(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [pos, whence] = Sig::pos("seek", Style::Positional, &["pos", "whence"], 1)
        .method()
        .bind(&args)?;
    let pos = to_index(pos.unwrap_or(&Value::None))?;
    let whence = whence.map_or(Ok(0), to_index)?;
    with_open(&args, |o| {
        let base = match whence {
            0 => 0,
            1 => o.pos as i64,
            2 => o.len() as i64,
            _ => raise!(ValueError, "unknown seek type"),
        };
        let at = base.checked_add(pos).unwrap_or(-1);
        if at < 0 || at > o.len() as i64 {
            raise!(ValueError, "seek out of range");
        }
        o.pos = at as usize;
        Ok(Value::None)
    })
}

fn mm_tell(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args(&args, "mmap.tell")?;
    with_open(&args, |o| Ok(Value::Int(o.pos as i64)))
}

/// `size()`: the size of the mapped file (for anonymous memory CPython 3.11 asks fstat(2) of
/// descriptor -1: EBADF).
fn mm_size(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    no_args(&args, "mmap.size")?;
    with_open(&args, |o| match &o.file {
        Some(f) => {
            let len = f.metadata().map_err(|e| os_error(&e, None))?.len();
            Ok(Value::Int(len as i64))
        }
        None => Err(os_error(&io::Error::from_raw_os_error(libc::EBADF), None)),
    })
}

/// The `[start, end)` of `find`/`rfind`: slice-style bounds, clamped to the map; the start is
/// the file position unless given (as CPython's).
fn search_bounds(o: &Open, start: Option<&Value>, end: Option<&Value>) -> PyResult<(usize, usize)> {
    let len = o.len();
    let bound = |v: Option<&Value>, default: i64| -> PyResult<usize> {
        let n = match v {
            None | Some(Value::None) => default,
            Some(v) => to_index(v)?,
        };
        let n = if n < 0 { n + len as i64 } else { n };
        Ok(n.clamp(0, len as i64) as usize)
    };
    Ok((bound(start, o.pos as i64)?, bound(end, len as i64)?))
}

fn find(args: &Args<'_>, name: &str, reverse: bool) -> PyResult<Value> {
    let [sub, start, end] = Sig::pos(name, Style::Positional, &["sub", "start", "end"], 1)
        .method()
        .bind(args)?;
    let sub = crate::builtins::bytes_methods::arg_bytes(sub.unwrap_or(&Value::None))?.into_owned();
    let hay = with_open(args, |o| {
        let (s, e) = search_bounds(o, start, end)?;
        Ok((s, o.copy(s, e.max(s))))
    })?;
    let (base, hay) = hay;
    let found = if reverse {
        memchr::memmem::rfind(&hay, &sub)
    } else {
        memchr::memmem::find(&hay, &sub)
    };
    Ok(Value::Int(found.map_or(-1, |k| (base + k) as i64)))
}

fn mm_find(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    find(&args, "find", false)
}

fn mm_rfind(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    find(&args, "rfind", true)
}

/// `move(dest, src, count)`: copy `count` bytes inside the map (the ranges may overlap).
fn mm_move(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [dest, src, count] = Sig::pos("move", Style::Positional, &["dest", "src", "count"], 3)
        .method()
        .bind(&args)?;
    let [dest, src, count] = [dest, src, count].map(|v| to_index(v.unwrap_or(&Value::None)));
    let (dest, src, count) = (dest?, src?, count?);
    with_open(&args, |o| {
        o.check_writable()?;
        let len = o.len() as i64;
        if dest < 0 || src < 0 || count < 0 || len - dest < count || len - src < count {
            raise!(ValueError, "source, destination, or count out of range");
        }
        let chunk = o.copy(src as usize, (src + count) as usize);
        o.store(dest as usize, &chunk);
        Ok(Value::None)
    })
}

fn mm_flush(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [offset, size] = Sig::pos("flush", Style::Positional, &["offset", "size"], 0)
        .method()
        .bind(&args)?;
    let offset = offset.map_or(Ok(0), to_index)?;
    let size = size.map(to_index).transpose()?;
    with_open(&args, |o| {
        let len = o.len() as i64;
        let size = size.unwrap_or(len - offset.min(len));
        if offset < 0 || size < 0 || offset.checked_add(size).is_none_or(|e| e > len) {
            raise!(ValueError, "flush values out of range");
        }
        if o.access == ACCESS_READ || o.access == ACCESS_COPY {
            return Ok(Value::None);
        }
        o.map
            .flush(offset as usize, size as usize)
            .map_err(|e| os_error(&e, None))?;
        Ok(Value::None)
    })
}

/// `madvise(option, start=0, length=...)`: advice only, so minivm checks the range and
/// otherwise ignores it.
fn mm_madvise(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [option, start, length] = Sig::pos(
        "madvise",
        Style::Positional,
        &["option", "start", "length"],
        1,
    )
    .method()
    .bind(&args)?;
    to_index(option.unwrap_or(&Value::None))?;
    let start = start.map_or(Ok(0), to_index)?;
    let length = length.map(to_index).transpose()?;
    with_open(&args, |o| {
        if start < 0 || start >= o.len() as i64 {
            raise!(ValueError, "madvise start out of bounds");
        }
        if length.is_some_and(|l| l < 0) {
            raise!(ValueError, "madvise length invalid");
        }
        Ok(Value::None)
    })
}

/// `resize(newsize)`: the file grows or shrinks to match (ftruncate(2)), then the map
/// (mremap(2)); anonymous memory just remaps.
fn mm_resize(_: &mut Interp, args: Args<'_>) -> PyResult<Value> {
    let [n] = Sig::pos("resize", Style::Positional, &["newsize"], 1)
        .method()
        .bind(&args)?;
    let n = to_index(n.unwrap_or(&Value::None))?;
    with_open(&args, |o| {
        if o.exports > 0 {
            raise!(
                BufferError,
                "mmap can't resize with extant buffers exported."
            );
        }
        if o.access == ACCESS_READ || o.access == ACCESS_COPY {
            raise!(
                TypeError,
                "mmap can't resize a readonly or copy-on-write memory map."
            );
        }
        if n < 0 {
            raise!(ValueError, "new size out of range");
        }
        if let Some(f) = &o.file {
            rustix::fs::ftruncate(f, o.offset + n as u64)
                .map_err(|e| os_error(&io::Error::from(e), None))?;
        }
        o.map.resize(n as usize).map_err(|e| os_error(&e, None))?;
        o.pos = o.pos.min(n as usize);
        Ok(Value::None)
    })
}
