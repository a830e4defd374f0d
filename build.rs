//! Build script of the CLI package: records the optimisation level the package is compiled at,
//! so the benchmark harness (benches/compare.rs) can refuse to time an unoptimised minivm.
fn main() {
    let opt_level = std::env::var("OPT_LEVEL").unwrap_or_default();
    println!("cargo:rustc-env=MINIVM_OPT_LEVEL={opt_level}");
    println!("cargo:rerun-if-changed=build.rs");
}
