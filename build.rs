//! Link-time settings of the `gameday` binary only (no dependency is rebuilt):
//! packed relocations and the order of its hot functions, both to keep the
//! runner's resident memory small (docs/benchmark.md, "Where the memory goes").
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
    order_functions();
    println!("cargo:rerun-if-changed=build.rs");
}

/// Lays out the functions lab game days run side by side, in the order
/// they first run (link/<profile>.order, written by scripts/order-functions).
/// The kernel maps a binary's code 64 KB at a time around each page a
/// process touches, so hot code scattered over 26 MB cost 10 MB of resident
/// pages; packed, about 3 MB. The order only moves functions: a
/// name the build no longer has is skipped, a function missing from the
/// file stays where it was.
///
/// Only for the target whose default linker is lld (x86_64 Linux with
/// glibc, Rust 1.90+), and not when a linker is chosen in the flags: GNU ld
/// does not know the option.
fn order_functions() {
    let profile = std::env::var("PROFILE").unwrap_or_default();
    let dir = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let file = dir.join("link").join(format!("{profile}.order"));
    println!("cargo:rerun-if-changed={}", file.display());
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let default_linker = std::env::var_os("RUSTC_LINKER").is_none()
        && !std::env::var("CARGO_ENCODED_RUSTFLAGS")
            .unwrap_or_default()
            .contains("linker");
    let lld_target = std::env::var("TARGET").as_deref() == Ok("x86_64-unknown-linux-gnu");
    if default_linker && lld_target && file.is_file() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            file.display()
        );
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}
