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
