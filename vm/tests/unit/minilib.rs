//! Unit tests of `vm::stdlib::minilib` (moved out of the crate: see main.rs).

use minivm_vm::stdlib::minilib::FILES;

/// Every `.mini` file under `dir`, as paths relative to `root` with `/` separators.
fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
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

#[test]
fn table_lists_every_library_file_sorted() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lib");
    let mut on_disk = Vec::new();
    walk(&root, &root, &mut on_disk);
    on_disk.sort();
    let listed: Vec<String> = FILES.iter().map(|(p, _)| p.to_string()).collect();
    assert_eq!(listed, on_disk, "vm/src/stdlib/minilib.rs FILES vs vm/lib/");
}

/// `vm/build.rs` compiled every library file at build time, and the frozen code is exactly what
/// compiling the source now gives, source ranges aside (so importing it loads the same code,
/// only faster), once the functions' bodies, which `frozen` leaves undecoded until they run,
/// are decoded.
#[test]
fn every_library_file_is_frozen_and_matches_its_source() {
    let run = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| {
            for (rel, src) in FILES {
                let frozen = minivm_vm::stdlib::minilib::frozen(rel, src)
                    .unwrap_or_else(|| panic!("{rel} is not frozen"));
                let frozen = minivm_compiler::serialize::decode_all_bodies(&frozen)
                    .unwrap_or_else(|| panic!("{rel}: a function body does not decode"));
                let filename = format!("{}/{rel}", minivm_vm::stdlib::minilib::PREFIX);
                let compiled =
                    minivm_compiler::compile_source(src, &filename, minivm_compiler::Mode::File)
                        .unwrap_or_else(|e| panic!("{rel}: {e:?}"));
                // Source ranges (`CodeObject::spans`) included.
                assert_eq!(*frozen, *compiled, "{rel}");
            }
        })
        .expect("spawn");
    run.join()
        .expect("a library file is not frozen as compiled");
}

/// A frozen entry is used only for the exact source it was compiled from: for any other text
/// (a stale entry) the import system compiles the text instead.
#[test]
fn frozen_code_is_refused_for_other_source() {
    let (rel, src) = FILES[0];
    assert!(minivm_vm::stdlib::minilib::frozen(rel, src).is_some());
    let changed = format!("{src}\nx = 1\n");
    assert!(minivm_vm::stdlib::minilib::frozen(rel, &changed).is_none());
    assert!(minivm_vm::stdlib::minilib::frozen("no_such_module.mini", src).is_none());
}
