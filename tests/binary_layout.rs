//! The binary's hot code is laid out side by side: build.rs hands
//! link/<profile>.order to the linker, and the functions it names sit
//! together at the start of the code instead of across all of it (the
//! kernel maps code 64 KB around every page touched, so the spread is what
//! a game day pays in resident memory; docs/benchmark.md, "Where the memory
//! goes"). Read with nm(1) from the built binary, not from build.rs.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// One defined function of the binary: where it starts and its size.
struct Function {
    address: u64,
    size: u64,
}

/// The binary's functions by name (`nm -S --defined-only`).
fn functions(binary: &Path) -> Option<HashMap<String, Function>> {
    let out = Command::new("nm")
        .args(["-S", "--defined-only"])
        .arg(binary)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut functions = HashMap::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let [address, size, "t" | "T", name] = words[..] {
            let (Ok(address), Ok(size)) = (
                u64::from_str_radix(address, 16),
                u64::from_str_radix(size, 16),
            ) else {
                continue;
            };
            functions.insert(name.to_string(), Function { address, size });
        }
    }
    Some(functions)
}

#[test]
#[cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]
fn the_functions_of_the_order_file_sit_together() {
    let order = common::root().join("link/debug.order");
    let listed = std::fs::read_to_string(&order).expect("link/debug.order");
    let Some(all) = functions(Path::new(env!("CARGO_BIN_EXE_gameday"))) else {
        common::skip(&common::test_name(), "nm (binutils)");
        return;
    };
    let names: Vec<&str> = listed.lines().filter(|l| !l.is_empty()).collect();
    let found: Vec<&Function> = names.iter().filter_map(|n| all.get(*n)).collect();
    // The tests' build has the crash points compiled in, so gameday's own
    // functions (and the generic code it instantiates) have other names than
    // in the build the file was made from: about 40% of the names are found
    // here on 2026-12-01, all of them in `cargo build`'s binary. A Rust
    // upgrade renames nearly all.
    assert!(
        found.len() * 4 >= names.len(),
        "only {} of the {} functions in {} are in the binary: the file is stale \
         (a Rust upgrade or a dependency update renames them); run \
         `scripts/order-functions debug` and `scripts/order-functions release`",
        found.len(),
        names.len(),
        order.display()
    );
    let start = found.iter().map(|f| f.address).min().unwrap_or(0);
    let end = found.iter().map(|f| f.address + f.size).max().unwrap_or(0);
    let size: u64 = found.iter().map(|f| f.size).sum();
    let code: u64 = all.values().map(|f| f.size).sum();
    // Packed, they span their own size plus alignment padding; left where
    // the crates put them, they span nearly all of the code.
    assert!(
        (end - start) as f64 <= size as f64 * 1.5,
        "the {} ordered functions ({} KB) span {} KB of the binary's {} KB of code: \
         the linker did not apply {} (see build.rs)",
        found.len(),
        size / 1024,
        (end - start) / 1024,
        code / 1024,
        order.display()
    );
}
