//! Link-time settings of the `gameday` binary only (no dependency is rebuilt).
//!
//! On Linux with glibc the binary is linked with packed relative relocations
//! (DT_RELR, glibc 2.36+, binutils 2.38+; an older GNU ld warns and ignores
//! it). A position-independent Rust binary carries one 24-byte relocation per
//! pointer in its read-only data, and the loader reads them all at start-up:
//! 4 MB in the debug build, resident for the whole run. Packed, they take
//! 35 KB (readelf -S on the debug build: .rela.dyn 4.07 MB before, .relr.dyn
//! 35 KB after; the start-up memory it saves is in docs/benchmark.md).

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
