//! Stage 3 (the bytecode format): code objects to bytes and back, as CPython's `marshal` writes
//! `.pyc` files and frozen modules.
//!
//! minivm uses it for one thing: the library written in the mini language (`vm/lib/`) is
//! compiled once, by `vm/build.rs` at build time, and the VM loads the bytes instead of lexing,
//! parsing and compiling every library module at every start (each `multiprocessing` worker,
//! each program importing `asyncio`...). Loading must never change behaviour, so everything
//! here is checked: the blob starts with a format version and a fingerprint of the opcode table
//! ([`opcode_fingerprint`], derived from `OPCODES`), each module's entry carries a hash of the
//! source it was compiled from ([`source_hash`]), and [`decode_code`] rejects anything
//! malformed (a bad tag, an index out of range, nesting past [`MAX_DEPTH`], bytes left over) with
//! `None`, never a panic. A caller that gets `None` compiles the source as before.
//!
//! The encoding of one instruction is derived from the opcode table (`optable.rs`): the opcode's
//! position in the table as one byte, then each operand by its Rust type ([`Operand`]), so a new
//! opcode or operand needs no change here.

use std::sync::Arc;

use crate::bytecode::{
    BinOp, Cell, CmpOp, CodeFlags, CodeObject, ConstIdx, Constant, FormatFlags, Label, LazyBody,
    Local, MakeFunctionFlags, Name, Op, Reg, OPCODES,
};

/// Bumped whenever the layout below changes.
pub const FORMAT_VERSION: u32 = 4;

/// How deeply code objects and constant tuples may nest; deeper input is refused both ways, so
/// decoding recurses a bounded number of levels whatever the bytes say.
pub const MAX_DEPTH: usize = 200;

/// FNV-1a, 64 bits: cheap (a few instructions per byte) and stable across builds and
/// platforms, which `std`'s `DefaultHasher` does not promise. Used to tie a frozen module to the
/// exact source text it was compiled from.
pub fn fnv1a(bytes: &[u8], mut h: u64) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// The hash of a module's source text recorded beside its frozen code: FNV-1a's step over
/// 8-byte words (with a shift to mix high bits down), eight times fewer steps than a byte at a
/// time, since every import of a library module hashes its whole source. It detects a changed
/// source; it is not meant to resist a chosen collision (the blob is built from the same
/// files in the same build).
pub fn source_hash(src: &str) -> u64 {
    let bytes = src.as_bytes();
    let mut h = FNV_OFFSET ^ bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        h = (h ^ u64::from_le_bytes(b)).wrapping_mul(0x0000_0100_0000_01b3);
        h ^= h >> 29;
    }
    fnv1a(words.remainder(), h)
}

/// A fingerprint of the opcode table (every opcode's variant name and operand kinds, in order):
/// bytes written by a build whose table differs are refused.
pub fn opcode_fingerprint() -> u64 {
    let mut h = fnv1a(&FORMAT_VERSION.to_le_bytes(), FNV_OFFSET);
    for info in OPCODES {
        h = fnv1a(info.variant.as_bytes(), h);
        for (name, kind) in info.operands {
            h = fnv1a(name.as_bytes(), h);
            h = fnv1a(kind.as_bytes(), h);
        }
        h = fnv1a(b";", h);
    }
    h
}

/// Appends bytes: unsigned integers as LEB128 varints, strings as a length and UTF-8 bytes.
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn byte(&mut self, b: u8) {
        self.buf.push(b);
    }

    pub fn uint(&mut self, mut v: u64) {
        loop {
            let low = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.buf.push(low);
                return;
            }
            self.buf.push(low | 0x80);
        }
    }

    pub fn bytes(&mut self, b: &[u8]) {
        self.uint(b.len() as u64);
        self.buf.extend_from_slice(b);
    }

    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
}

/// Reads what [`Writer`] wrote; every read returns `None` at the end of the input or on a
/// malformed value.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data, pos: 0 }
    }

    pub fn at_end(&self) -> bool {
        self.pos == self.data.len()
    }

    pub fn byte(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    pub fn uint(&mut self) -> Option<u64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    pub fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.uint()?).ok()
    }

    pub fn count(&mut self) -> Option<usize> {
        let n = usize::try_from(self.uint()?).ok()?;
        // A length can never exceed the bytes left (each item takes at least one byte), so a
        // corrupt length cannot ask for a huge allocation.
        (n <= self.data.len() - self.pos).then_some(n)
    }

    pub fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.count()?;
        let b = self.data.get(self.pos..self.pos + n)?;
        self.pos += n;
        Some(b)
    }

    pub fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }

    pub fn u64_fixed(&mut self) -> Option<u64> {
        let b = self.data.get(self.pos..self.pos + 8)?;
        self.pos += 8;
        Some(u64::from_le_bytes(b.try_into().ok()?))
    }
}

/// An instruction operand's encoding, by its Rust type (the opcode table's operand kinds map to
/// these types in `optable.rs`).
pub trait Operand: Sized {
    fn put(&self, w: &mut Writer);
    fn get(r: &mut Reader) -> Option<Self>;
}

impl Operand for u32 {
    fn put(&self, w: &mut Writer) {
        w.uint(u64::from(*self));
    }
    fn get(r: &mut Reader) -> Option<u32> {
        r.u32()
    }
}

impl Operand for u16 {
    fn put(&self, w: &mut Writer) {
        w.uint(u64::from(*self));
    }
    fn get(r: &mut Reader) -> Option<u16> {
        u16::try_from(r.uint()?).ok()
    }
}

impl Operand for u8 {
    fn put(&self, w: &mut Writer) {
        w.byte(*self);
    }
    fn get(r: &mut Reader) -> Option<u8> {
        r.byte()
    }
}

impl Operand for bool {
    fn put(&self, w: &mut Writer) {
        w.byte(u8::from(*self));
    }
    fn get(r: &mut Reader) -> Option<bool> {
        match r.byte()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
}

macro_rules! index_operand {
    ($($t:ident($inner:ty)),*) => {$(
        impl Operand for $t {
            fn put(&self, w: &mut Writer) {
                self.0.put(w);
            }
            fn get(r: &mut Reader) -> Option<$t> {
                <$inner>::get(r).map($t)
            }
        }
    )*};
}

index_operand!(
    ConstIdx(u32),
    Local(u32),
    Name(u32),
    Cell(u32),
    Label(u32),
    Reg(u16)
);

const BINOPS: [BinOp; 13] = [
    BinOp::Add,
    BinOp::Sub,
    BinOp::Mul,
    BinOp::Div,
    BinOp::FloorDiv,
    BinOp::Mod,
    BinOp::Pow,
    BinOp::LShift,
    BinOp::RShift,
    BinOp::BitOr,
    BinOp::BitXor,
    BinOp::BitAnd,
    BinOp::MatMul,
];

const CMPOPS: [CmpOp; 10] = [
    CmpOp::Eq,
    CmpOp::NotEq,
    CmpOp::Lt,
    CmpOp::LtE,
    CmpOp::Gt,
    CmpOp::GtE,
    CmpOp::Is,
    CmpOp::IsNot,
    CmpOp::In,
    CmpOp::NotIn,
];

// An operator is written as its position in the lists above, found by comparison: the `match`
// makes a new operator a build error here, so the lists cannot silently fall behind.
fn binop_index(op: BinOp) -> u8 {
    match op {
        BinOp::Add => 0,
        BinOp::Sub => 1,
        BinOp::Mul => 2,
        BinOp::Div => 3,
        BinOp::FloorDiv => 4,
        BinOp::Mod => 5,
        BinOp::Pow => 6,
        BinOp::LShift => 7,
        BinOp::RShift => 8,
        BinOp::BitOr => 9,
        BinOp::BitXor => 10,
        BinOp::BitAnd => 11,
        BinOp::MatMul => 12,
    }
}

fn cmpop_index(op: CmpOp) -> u8 {
    match op {
        CmpOp::Eq => 0,
        CmpOp::NotEq => 1,
        CmpOp::Lt => 2,
        CmpOp::LtE => 3,
        CmpOp::Gt => 4,
        CmpOp::GtE => 5,
        CmpOp::Is => 6,
        CmpOp::IsNot => 7,
        CmpOp::In => 8,
        CmpOp::NotIn => 9,
    }
}

impl Operand for BinOp {
    fn put(&self, w: &mut Writer) {
        w.byte(binop_index(*self));
    }
    fn get(r: &mut Reader) -> Option<BinOp> {
        BINOPS.get(usize::from(r.byte()?)).copied()
    }
}

impl Operand for CmpOp {
    fn put(&self, w: &mut Writer) {
        w.byte(cmpop_index(*self));
    }
    fn get(r: &mut Reader) -> Option<CmpOp> {
        CMPOPS.get(usize::from(r.byte()?)).copied()
    }
}

impl Operand for MakeFunctionFlags {
    fn put(&self, w: &mut Writer) {
        w.byte(self.defaults as u8 | (self.kwdefaults as u8) << 1 | (self.closure as u8) << 2);
    }
    fn get(r: &mut Reader) -> Option<MakeFunctionFlags> {
        let b = r.byte()?;
        (b < 8).then_some(MakeFunctionFlags {
            defaults: b & 1 != 0,
            kwdefaults: b & 2 != 0,
            closure: b & 4 != 0,
        })
    }
}

impl Operand for FormatFlags {
    fn put(&self, w: &mut Writer) {
        // 0 for no conversion, else the conversion's letter (never 0).
        w.byte(self.conversion.unwrap_or(0));
        self.has_spec.put(w);
    }
    fn get(r: &mut Reader) -> Option<FormatFlags> {
        let c = r.byte()?;
        Some(FormatFlags {
            conversion: (c != 0).then_some(c),
            has_spec: bool::get(r)?,
        })
    }
}

const CONST_NONE: u8 = 0;
const CONST_FALSE: u8 = 1;
const CONST_TRUE: u8 = 2;
const CONST_INT: u8 = 3;
const CONST_BIGINT: u8 = 4;
const CONST_FLOAT: u8 = 5;
const CONST_STR: u8 = 6;
const CONST_BYTES: u8 = 7;
const CONST_ELLIPSIS: u8 = 8;
const CONST_TUPLE: u8 = 9;
const CONST_CODE: u8 = 10;
const CONST_IMAG: u8 = 11;

fn flags_bits(f: &CodeFlags) -> u8 {
    f.varargs as u8
        | (f.varkeywords as u8) << 1
        | (f.generator as u8) << 2
        | (f.coroutine as u8) << 3
        | (f.async_generator as u8) << 4
        | (f.class_body as u8) << 5
        | (f.iterable_coroutine as u8) << 6
}

fn flags_from_bits(b: u8) -> Option<CodeFlags> {
    (b < 0x80).then_some(CodeFlags {
        varargs: b & 1 != 0,
        varkeywords: b & 2 != 0,
        generator: b & 4 != 0,
        coroutine: b & 8 != 0,
        async_generator: b & 16 != 0,
        class_body: b & 32 != 0,
        iterable_coroutine: b & 64 != 0,
    })
}

/// Why a code object could not be written (it is then simply not frozen).
#[derive(Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// Code objects or constant tuples nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// A nested code object names another file than the module it is part of.
    MixedFilenames,
}

/// Write a module's code object (and everything nested in it). The filename is written once:
/// every nested code object must have the module's.
pub fn encode_code(code: &CodeObject) -> Result<Vec<u8>, EncodeError> {
    let mut w = Writer::default();
    w.str(&code.filename);
    put_code(&mut w, code, &code.filename, 0)?;
    Ok(w.buf)
}

fn put_strs(w: &mut Writer, v: &[String]) {
    w.uint(v.len() as u64);
    for s in v {
        w.str(s);
    }
}

/// A code object: its header (what making a function out of it needs), then its body (`code`,
/// `lines`, `spans`, `consts`, `names`) as one length-prefixed run of bytes, so that a reader can leave a
/// function's body undecoded until it runs ([`decode_code_lazy`]).
fn put_code(w: &mut Writer, c: &CodeObject, file: &str, depth: usize) -> Result<(), EncodeError> {
    if depth > MAX_DEPTH {
        return Err(EncodeError::TooDeep);
    }
    if *c.filename != *file {
        return Err(EncodeError::MixedFilenames);
    }
    w.str(&c.name);
    w.str(&c.qualname);
    w.uint(u64::from(c.first_line));
    put_strs(w, &c.varnames);
    put_strs(w, &c.cellvars);
    put_strs(w, &c.freevars);
    w.uint(c.cell2arg.len() as u64);
    for a in &c.cell2arg {
        w.uint(a.map_or(0, |a| u64::from(a) + 1));
    }
    for n in [
        c.argcount,
        c.posonlyargcount,
        c.kwonlyargcount,
        c.max_stack,
        c.hidden_slots,
    ] {
        w.uint(u64::from(n));
    }
    w.byte(flags_bits(&c.flags));
    let mut body = Writer::default();
    body.uint(c.code.len() as u64);
    for op in &c.code {
        op.encode(&mut body);
    }
    body.uint(c.lines.len() as u64);
    for &l in &c.lines {
        body.uint(u64::from(l));
    }
    // Each instruction's source range, so that tracebacks through library code underline it
    // as through code compiled from source: the start, then the length (both small numbers).
    body.uint(c.spans.len() as u64);
    for &(start, end) in &c.spans {
        body.uint(u64::from(start));
        body.uint(u64::from(end.saturating_sub(start)));
    }
    body.uint(c.consts.len() as u64);
    for k in &c.consts {
        put_const(&mut body, k, file, depth + 1)?;
    }
    put_strs(&mut body, &c.names);
    w.bytes(&body.buf);
    Ok(())
}

fn put_const(w: &mut Writer, k: &Constant, file: &str, depth: usize) -> Result<(), EncodeError> {
    if depth > MAX_DEPTH {
        return Err(EncodeError::TooDeep);
    }
    match k {
        Constant::None => w.byte(CONST_NONE),
        Constant::Bool(false) => w.byte(CONST_FALSE),
        Constant::Bool(true) => w.byte(CONST_TRUE),
        Constant::Int(i) => {
            w.byte(CONST_INT);
            // Zigzag: small negative numbers stay short.
            w.uint(((*i << 1) ^ (*i >> 63)) as u64);
        }
        Constant::BigInt(s) => {
            w.byte(CONST_BIGINT);
            w.str(s);
        }
        Constant::Float(f) => {
            w.byte(CONST_FLOAT);
            w.buf.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Constant::Imag(f) => {
            w.byte(CONST_IMAG);
            w.buf.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Constant::Str(s) => {
            w.byte(CONST_STR);
            w.str(s);
        }
        Constant::Bytes(b) => {
            w.byte(CONST_BYTES);
            w.bytes(b);
        }
        Constant::Ellipsis => w.byte(CONST_ELLIPSIS),
        Constant::Tuple(items) => {
            w.byte(CONST_TUPLE);
            w.uint(items.len() as u64);
            for item in items {
                put_const(w, item, file, depth + 1)?;
            }
        }
        Constant::Code(c) => {
            w.byte(CONST_CODE);
            put_code(w, c, file, depth + 1)?;
        }
    }
    Ok(())
}

/// Read a module's code object written by [`encode_code`]; `None` if the bytes are not exactly
/// one well-formed code object.
pub fn decode_code(data: &[u8]) -> Option<Arc<CodeObject>> {
    let mut r = Reader::new(data);
    let file: Arc<str> = Arc::from(r.str()?);
    let code = get_code(&mut r, &file, 0, None)?;
    r.at_end().then_some(code)
}

/// Keeps a function body's bytes for later ([`decode_code_lazy`]); `None` decodes it at once.
type Keep<'a> = Option<fn(&'a [u8]) -> &'static [u8]>;

/// Like [`decode_code`], but the functions nested in the module keep their bodies undecoded
/// (`lazy_body`) until [`decode_body`] is asked for them: importing a library module then
/// decodes its module-level code and its functions' headers only. The bytes must live as long
/// as the program (the frozen library is a `static`). The headers are checked as
/// [`decode_code`] checks them; a body is checked when it is decoded.
pub fn decode_code_lazy(data: &'static [u8]) -> Option<Arc<CodeObject>> {
    let mut r = Reader::new(data);
    let file: Arc<str> = Arc::from(r.str()?);
    let code = get_code(&mut r, &file, 0, Some(|b| b))?;
    r.at_end().then_some(code)
}

/// The whole code object of a function left undecoded by [`decode_code_lazy`] (its own nested
/// functions still undecoded); `None` if `stub` has no such body or the body is malformed.
pub fn decode_body(stub: &CodeObject) -> Option<Arc<CodeObject>> {
    let lazy = stub.lazy_body.as_ref()?;
    let mut c = stub.clone();
    c.lazy_body = None;
    let file = stub.filename.clone();
    get_body(&mut c, lazy.bytes, &file, lazy.depth, Some(|b| b))?;
    valid(&c).then(|| Arc::new(c))
}

/// `code` with every body left undecoded by [`decode_code_lazy`] decoded, at every depth (for
/// `vm/build.rs` and the tests, which check that lazy decoding gives exactly the compiled code).
pub fn decode_all_bodies(code: &Arc<CodeObject>) -> Option<Arc<CodeObject>> {
    let mut c = match code.lazy_body {
        Some(_) => (*decode_body(code)?).clone(),
        None => (**code).clone(),
    };
    for k in &mut c.consts {
        if let Constant::Code(inner) = k {
            *inner = decode_all_bodies(inner)?;
        }
    }
    Some(Arc::new(c))
}

fn get_strs(r: &mut Reader) -> Option<Vec<String>> {
    let n = r.count()?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(r.str()?.to_string());
    }
    Some(v)
}

fn get_code<'a>(
    r: &mut Reader<'a>,
    file: &Arc<str>,
    depth: usize,
    keep: Keep<'a>,
) -> Option<Arc<CodeObject>> {
    if depth > MAX_DEPTH {
        return None;
    }
    let name = r.str()?.to_string();
    let qualname = r.str()?.to_string();
    let first_line = r.u32()?;
    let varnames = get_strs(r)?;
    let cellvars = get_strs(r)?;
    let freevars = get_strs(r)?;
    let n = r.count()?;
    let mut cell2arg = Vec::with_capacity(n);
    for _ in 0..n {
        let a = r.u32()?;
        cell2arg.push(a.checked_sub(1));
    }
    let argcount = r.u32()?;
    let posonlyargcount = r.u32()?;
    let kwonlyargcount = r.u32()?;
    let max_stack = r.u32()?;
    let hidden_slots = r.u32()?;
    let flags = flags_from_bits(r.byte()?)?;
    let body = r.bytes()?;
    let mut c = CodeObject {
        name,
        qualname,
        filename: file.clone(),
        first_line,
        code: Vec::new(),
        lines: Vec::new(),
        spans: Vec::new(),
        consts: Vec::new(),
        names: Vec::new(),
        varnames,
        cellvars,
        freevars,
        cell2arg,
        argcount,
        posonlyargcount,
        kwonlyargcount,
        flags,
        max_stack,
        hidden_slots,
        lazy_body: None,
    };
    match keep {
        // A function (not the module's own code, which runs at once): its body waits.
        Some(keep) if depth > 0 => {
            c.lazy_body = Some(LazyBody {
                bytes: keep(body),
                depth,
            })
        }
        _ => get_body(&mut c, body, file, depth, keep)?,
    }
    valid(&c).then(|| Arc::new(c))
}

/// Decode the body bytes of `c` (written by [`put_code`]) into it.
fn get_body<'a>(
    c: &mut CodeObject,
    body: &'a [u8],
    file: &Arc<str>,
    depth: usize,
    keep: Keep<'a>,
) -> Option<()> {
    let r = &mut Reader::new(body);
    let n = r.count()?;
    c.code = Vec::with_capacity(n);
    for _ in 0..n {
        c.code.push(Op::decode(r)?);
    }
    let n = r.count()?;
    c.lines = Vec::with_capacity(n);
    for _ in 0..n {
        c.lines.push(r.u32()?);
    }
    let n = r.count()?;
    c.spans = Vec::with_capacity(n);
    for _ in 0..n {
        let start = r.u32()?;
        let end = start.checked_add(r.u32()?)?;
        c.spans.push((start, end));
    }
    let n = r.count()?;
    c.consts = Vec::with_capacity(n);
    for _ in 0..n {
        c.consts.push(get_const(r, file, depth + 1, keep)?);
    }
    c.names = get_strs(r)?;
    r.at_end().then_some(())
}

/// The checks the VM relies on for code the compiler made: one line per instruction, every
/// operand index inside its table, every jump inside the code, and cell2arg naming real
/// parameters. (Stack depths are the compiler's `max_stack`, recorded as computed.)
fn valid(c: &CodeObject) -> bool {
    if c.lines.len() != c.code.len()
        || !(c.spans.is_empty() || c.spans.len() == c.code.len())
        || c.cell2arg.len() != c.cellvars.len()
    {
        return false;
    }
    let nlocals = c.varnames.len() + c.hidden_slots as usize;
    let ok = |i: u32, n: usize| (i as usize) < n;
    let params = c.total_params();
    if params > c.varnames.len() || c.cell2arg.iter().flatten().any(|&a| !ok(a, params)) {
        return false;
    }
    let names = OperandCounts {
        consts: c.consts.len(),
        locals: nlocals,
        names: c.names.len(),
        cells: c.ncells(),
    };
    c.code
        .iter()
        .all(|op| op.jump().is_none_or(|t| ok(t, c.code.len())) && op.operands_within(&names))
}

/// How many entries each table of a code object has, for [`Op::operands_within`].
pub struct OperandCounts {
    pub consts: usize,
    pub locals: usize,
    pub names: usize,
    pub cells: usize,
}

fn get_const<'a>(
    r: &mut Reader<'a>,
    file: &Arc<str>,
    depth: usize,
    keep: Keep<'a>,
) -> Option<Constant> {
    if depth > MAX_DEPTH {
        return None;
    }
    Some(match r.byte()? {
        CONST_NONE => Constant::None,
        CONST_FALSE => Constant::Bool(false),
        CONST_TRUE => Constant::Bool(true),
        CONST_INT => {
            let z = r.uint()?;
            Constant::Int(((z >> 1) as i64) ^ -((z & 1) as i64))
        }
        // The literal as written (`0x...`, `1_000...`), parsed when the code is loaded.
        CONST_BIGINT => Constant::BigInt(Arc::from(r.str()?)),
        CONST_FLOAT => Constant::Float(f64::from_bits(r.u64_fixed()?)),
        CONST_IMAG => Constant::Imag(f64::from_bits(r.u64_fixed()?)),
        CONST_STR => Constant::Str(Arc::from(r.str()?)),
        CONST_BYTES => Constant::Bytes(Arc::from(r.bytes()?)),
        CONST_ELLIPSIS => Constant::Ellipsis,
        CONST_TUPLE => {
            let n = r.count()?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(get_const(r, file, depth + 1, keep)?);
            }
            Constant::Tuple(items)
        }
        CONST_CODE => Constant::Code(get_code(r, file, depth + 1, keep)?),
        _ => return None,
    })
}

/// A blob of frozen modules: a header (format version, opcode fingerprint), an index of the
/// entries (library path, source hash, length of the encoded code), then the entries' encoded
/// code, one after another in the index's order. Written by `vm/build.rs`, read by the VM.
///
/// The index comes first, apart from the code, so that reading it touches only the blob's first
/// pages: the blob is about 4 MB of the binary, and with each path and hash in front of its
/// own code (format 3) the first library import of a program read a few bytes from every 64 KiB
/// of it, 56 page faults (`perf record -e page-faults`: `Reader::uint` under `decode_blob`),
/// about 0.25 ms, before a program's first thread could start (`_threadinfo`).
pub fn encode_blob(entries: &[(String, u64, Vec<u8>)]) -> Vec<u8> {
    let mut w = Writer::default();
    w.buf.extend_from_slice(b"MVMF");
    w.uint(u64::from(FORMAT_VERSION));
    w.buf.extend_from_slice(&opcode_fingerprint().to_le_bytes());
    w.uint(entries.len() as u64);
    for (path, hash, code) in entries {
        w.str(path);
        w.buf.extend_from_slice(&hash.to_le_bytes());
        w.uint(code.len() as u64);
    }
    for (_, _, code) in entries {
        w.buf.extend_from_slice(code);
    }
    w.buf
}

/// The entries of a blob (path, source hash, encoded code), or `None` if its header is not this
/// build's (another format version or opcode table) or it is malformed (the index's lengths
/// must add up to exactly the bytes after it).
pub fn decode_blob(data: &[u8]) -> Option<Vec<(&str, u64, &[u8])>> {
    let mut r = Reader::new(data);
    if data.get(..4)? != b"MVMF" {
        return None;
    }
    r.pos = 4;
    if r.uint()? != u64::from(FORMAT_VERSION) || r.u64_fixed()? != opcode_fingerprint() {
        return None;
    }
    let n = r.count()?;
    let mut index = Vec::with_capacity(n);
    for _ in 0..n {
        let path = r.str()?;
        let hash = r.u64_fixed()?;
        let len = usize::try_from(r.uint()?).ok()?;
        index.push((path, hash, len));
    }
    let mut rest = data.get(r.pos..)?;
    let mut out = Vec::with_capacity(n);
    for (path, hash, len) in index {
        let (code, after) = rest.split_at_checked(len)?;
        out.push((path, hash, code));
        rest = after;
    }
    rest.is_empty().then_some(out)
}
