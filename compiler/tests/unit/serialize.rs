//! Tests of stages 2-3 (parser, compiler).
//! Frozen code (`serialize.rs`): every program of the repository round-trips exactly through
//! the encoding, and damaged or foreign bytes are refused (`None`), never a panic.

use std::path::{Path, PathBuf};

use minivm_compiler::bytecode::{CodeObject, Constant, Op};
use minivm_compiler::serialize::{
    decode_all_bodies, decode_blob, decode_body, decode_code, decode_code_lazy, encode_blob,
    encode_code, source_hash, EncodeError, Reader, Writer, MAX_DEPTH,
};
use minivm_compiler::{compile_source, Mode};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "mini") {
            out.push(p);
        }
    }
}

/// Every opcode kind that the code uses, by name (to show the corpus covers the table).
fn opnames(code: &CodeObject, out: &mut std::collections::BTreeSet<&'static str>) {
    for op in &code.code {
        out.insert(op.name());
    }
    for c in &code.consts {
        if let Constant::Code(inner) = c {
            opnames(inner, out);
        }
    }
}

#[test]
fn library_and_corpus_round_trip() {
    let run = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(round_trip_corpus)
        .expect("spawn");
    run.join().expect("the round trip crashed");
}

fn round_trip_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for sub in ["vm/lib", "tests/scripts", "examples", "benches"] {
        collect(&root.join(sub), &mut files);
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut checked = 0;
    for f in &files {
        let Ok(src) = std::fs::read_to_string(f) else {
            continue;
        };
        let name = f.display().to_string();
        let Ok(code) = compile_source(&src, &name, Mode::File) else {
            continue;
        };
        let bytes = match encode_code(&code) {
            Ok(b) => b,
            Err(EncodeError::TooDeep) => continue,
            Err(e) => panic!("{name}: {e:?}"),
        };
        let back = decode_code(&bytes).unwrap_or_else(|| panic!("{name}: does not decode"));
        // NaN constants compare unequal to themselves: compare the debug text then.
        if *back != *code {
            assert_eq!(format!("{back:?}"), format!("{code:?}"), "{name}");
        }
        // Read lazily (functions' bodies left in the bytes), then every body decoded: the same.
        let stored: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        let lazy = decode_code_lazy(stored).unwrap_or_else(|| panic!("{name}: lazy decode"));
        let full = decode_all_bodies(&lazy).unwrap_or_else(|| panic!("{name}: bodies"));
        if *full != *code {
            assert_eq!(format!("{full:?}"), format!("{code:?}"), "{name}");
        }
        opnames(&code, &mut seen);
        checked += 1;
    }
    assert!(checked > 300, "only {checked} programs compiled");
    // The corpus exercises most of the opcode table, so most operand encodings are covered.
    assert!(seen.len() > 100, "only {} opcodes seen", seen.len());
}

#[test]
fn every_operand_value_round_trips_at_its_limits() {
    // Ops taken from compiled code, re-encoded alone: tag then operands, nothing left over.
    let src = "def f(a, *b, c=1, **d):\n    x = [i for i in b if i < 3]\n    \
               return f'{a!r:>{c}}', x, {**d}, a @ c\n";
    let code = compile_source(src, "t.mini", Mode::File).expect("compiles");
    let mut all = Vec::new();
    fn ops(c: &CodeObject, out: &mut Vec<Op>) {
        out.extend_from_slice(&c.code);
        for k in &c.consts {
            if let Constant::Code(inner) = k {
                ops(inner, out);
            }
        }
    }
    ops(&code, &mut all);
    all.push(Op::LoadConst(minivm_compiler::bytecode::ConstIdx(u32::MAX)));
    all.push(Op::Copy(0));
    for op in all {
        let mut w = Writer::default();
        op.encode(&mut w);
        let mut r = Reader::new(&w.buf);
        assert_eq!(Op::decode(&mut r), Some(op));
        assert!(r.at_end(), "{op:?}");
    }
}

#[test]
fn damaged_bytes_are_refused_never_a_panic() {
    let src = "import sys\nclass A:\n    def m(self, x=(1, 2.5, 'a', b'b', None, ...)):\n        \
               return [y * -7 for y in x if y]\nprint(A().m(), 10**30)\n";
    let code = compile_source(src, "t.mini", Mode::File).expect("compiles");
    let bytes = encode_code(&code).expect("encodes");
    assert_eq!(decode_code(&bytes).as_deref(), Some(&*code));
    // Every truncation is refused; so are trailing bytes.
    for n in 0..bytes.len() {
        assert!(
            decode_code(&bytes[..n]).is_none(),
            "prefix of {n} bytes accepted"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(decode_code(&longer).is_none());
    // Every single-byte change either is refused or decodes to some code object: no panic.
    for i in 0..bytes.len() {
        for v in [0u8, 1, 0x7f, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[i] = v;
            let _ = decode_code(&b);
        }
    }
}

#[test]
fn lazy_bodies_wait_until_asked_and_damage_is_refused_then() {
    let src = "class A:\n    def m(self, x=(1, 2.5)):\n        def inner(y):\n            \
               return y * 2\n        return [inner(y) for y in x]\nprint(A().m())\n";
    let code = compile_source(src, "t.mini", Mode::File).expect("compiles");
    let bytes = encode_code(&code).expect("encodes");
    let stored: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    let module = decode_code_lazy(stored).expect("decodes");
    // The module's own code is decoded; the class body waits, with its header.
    assert!(module.lazy_body.is_none() && !module.code.is_empty());
    let Some(Constant::Code(class_body)) = module
        .consts
        .iter()
        .find(|c| matches!(c, Constant::Code(_)))
    else {
        panic!("no class body");
    };
    assert!(class_body.lazy_body.is_some() && class_body.code.is_empty());
    assert_eq!(class_body.qualname, "A");
    let body = decode_body(class_body).expect("the body decodes");
    assert!(body.lazy_body.is_none() && !body.code.is_empty());
    // Its own function (the method) waits in turn.
    assert!(body
        .consts
        .iter()
        .any(|c| matches!(c, Constant::Code(m) if m.lazy_body.is_some())));
    assert_eq!(
        decode_body(&body),
        None,
        "a decoded body has nothing left to decode"
    );
    // A damaged body is refused when it is asked for: truncated, or one byte changed.
    let lazy = class_body.lazy_body.clone().expect("lazy");
    for n in 0..lazy.bytes.len() {
        let mut stub = (**class_body).clone();
        stub.lazy_body = Some(minivm_compiler::bytecode::LazyBody {
            bytes: Box::leak(lazy.bytes[..n].to_vec().into_boxed_slice()),
            depth: lazy.depth,
        });
        assert_eq!(decode_body(&stub), None, "prefix of {n} bytes accepted");
    }
    for i in 0..lazy.bytes.len() {
        let mut b = lazy.bytes.to_vec();
        b[i] ^= 0xff;
        let mut stub = (**class_body).clone();
        stub.lazy_body = Some(minivm_compiler::bytecode::LazyBody {
            bytes: Box::leak(b.into_boxed_slice()),
            depth: lazy.depth,
        });
        let _ = decode_body(&stub);
    }
}

#[test]
fn index_out_of_range_is_refused() {
    let mut code = (*compile_source("x = 1\n", "t.mini", Mode::File).expect("compiles")).clone();
    let n = code.consts.len() as u32;
    code.code[0] = Op::LoadConst(minivm_compiler::bytecode::ConstIdx(n));
    let bytes = encode_code(&code).expect("encodes");
    assert!(
        decode_code(&bytes).is_none(),
        "a constant index past the table was accepted"
    );
}

#[test]
fn nesting_past_the_limit_is_refused_both_ways() {
    let mut k = Constant::None;
    for _ in 0..MAX_DEPTH + 5 {
        k = Constant::Tuple(vec![k]);
    }
    let mut code = (*compile_source("x = 1\n", "t.mini", Mode::File).expect("compiles")).clone();
    code.consts.push(k);
    assert_eq!(encode_code(&code), Err(EncodeError::TooDeep));
}

#[test]
fn blob_header_and_entries() {
    let code = compile_source("x = 1\n", "<minivm-lib>/x.mini", Mode::File).expect("compiles");
    let bytes = encode_code(&code).expect("encodes");
    let blob = encode_blob(&[("x.mini".into(), source_hash("x = 1\n"), bytes.clone())]);
    let entries = decode_blob(&blob).expect("decodes");
    assert_eq!(
        entries,
        vec![("x.mini", source_hash("x = 1\n"), &bytes[..])]
    );
    assert_ne!(source_hash("x = 1\n"), source_hash("x = 2\n"));
    // Another format (a changed version byte or opcode table fingerprint) is refused whole.
    for i in 4..13 {
        let mut b = blob.clone();
        b[i] ^= 1;
        assert!(
            decode_blob(&b).is_none(),
            "header byte {i} changed and accepted"
        );
    }
    assert!(decode_blob(&blob[..blob.len() - 1]).is_none());
    assert!(decode_blob(b"").is_none());
}

#[test]
fn blob_index_before_code() {
    // The index (paths, hashes, lengths) comes first and the code after it, so that finding a
    // module reads only the blob's first pages; the code of the entries follows in order.
    let a = encode_code(
        &compile_source("x = 1\n", "<minivm-lib>/a.mini", Mode::File).expect("compiles"),
    )
    .expect("encodes");
    let b = encode_code(
        &compile_source("y = [2]\n", "<minivm-lib>/b.mini", Mode::File).expect("compiles"),
    )
    .expect("encodes");
    let blob = encode_blob(&[
        ("a.mini".into(), source_hash("x = 1\n"), a.clone()),
        ("b.mini".into(), source_hash("y = [2]\n"), b.clone()),
    ]);
    assert!(blob.ends_with(&[a.as_slice(), b.as_slice()].concat()));
    let entries = decode_blob(&blob).expect("decodes");
    assert_eq!(entries[0], ("a.mini", source_hash("x = 1\n"), &a[..]));
    assert_eq!(entries[1], ("b.mini", source_hash("y = [2]\n"), &b[..]));
    // A byte more after the code than the index accounts for is refused.
    let mut longer = blob.clone();
    longer.push(0);
    assert!(decode_blob(&longer).is_none());
}

#[test]
fn source_hash_sees_every_byte() {
    let src = "def f(x):\n    return x + 1  # a comment of some length\n";
    let h = source_hash(src);
    for i in 0..src.len() {
        let mut b = src.as_bytes().to_vec();
        b[i] ^= 1;
        let changed = String::from_utf8_lossy(&b).into_owned();
        assert_ne!(
            source_hash(&changed),
            h,
            "a change at byte {i} was not seen"
        );
    }
    assert_ne!(source_hash(&src[..src.len() - 1]), h);
    assert_ne!(source_hash(&format!("{src} ")), h);
}
