//! Build step of stage 4 (the VM's standard library): compile the library written in the mini
//! language (`vm/lib/**/*.mini`) once, at build time, with the same compiler the binary uses, and
//! write the code objects (`minivm_compiler::serialize`) to `$OUT_DIR/frozen_lib.bin`, which
//! `stdlib/minilib.rs` embeds. Importing a library module then decodes its code instead of
//! lexing, parsing and compiling it at every start, as CPython freezes the modules it needs to
//! start. A file that does not compile, or whose code does not round-trip exactly, is left out:
//! the VM compiles it at import as before (and reports its `SyntaxError` the same way).

use std::path::Path;

use minivm_compiler::serialize::{
    decode_all_bodies, decode_code, decode_code_lazy, encode_blob, encode_code, source_hash,
};

/// Every `.mini` file under `dir`, as paths relative to `root` with `/` separators.
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(root, &p, out);
        } else if p.extension().is_some_and(|x| x == "mini") {
            if let Ok(rel) = p.strip_prefix(root) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=lib");
    println!("cargo:rerun-if-changed=build.rs");
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("lib");
    let mut files = Vec::new();
    walk(&root, &root, &mut files);
    files.sort();
    let mut entries = Vec::new();
    for rel in files {
        let Ok(src) = std::fs::read_to_string(root.join(&rel)) else {
            continue;
        };
        // The name tracebacks show, exactly as `interp/modules.rs` compiles it at run time.
        let filename = format!("<minivm-lib>/{rel}");
        let Ok(code) =
            minivm_compiler::compile_source(&src, &filename, minivm_compiler::Mode::File)
        else {
            continue;
        };
        // Source ranges are frozen too: tracebacks underline library lines as others.
        let Ok(bytes) = encode_code(&code) else {
            continue;
        };
        if decode_code(&bytes).as_deref() != Some(&code) {
            println!("cargo:warning=vm/lib/{rel}: frozen code does not round-trip; not frozen");
            continue;
        }
        // The VM reads functions' bodies lazily (`decode_code_lazy`): check that this reading,
        // every body decoded, gives the same code too. (The copy lives until the script ends.)
        let stored: &'static [u8] = Box::leak(bytes.clone().into_boxed_slice());
        if decode_code_lazy(stored)
            .and_then(|c| decode_all_bodies(&c))
            .as_deref()
            != Some(&code)
        {
            println!("cargo:warning=vm/lib/{rel}: lazily decoded code differs; not frozen");
            continue;
        }
        entries.push((rel, source_hash(&src), bytes));
    }
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(
        Path::new(&out).join("frozen_lib.bin"),
        encode_blob(&entries),
    )
    .expect("writing frozen_lib.bin");
}
