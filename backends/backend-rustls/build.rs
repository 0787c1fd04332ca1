//! Finds the version of rustls this crate is linked with and passes it to the crate as
//! `BACKEND_RUSTLS_VERSION` (e.g. `0.23.46`).
//!
//! The resolved version is only known to Cargo's lock file, so this reads the workspace's
//! `Cargo.lock` (two directories above this crate). Outside this workspace (the crate used as
//! a dependency elsewhere) there is no such file; the declared requirement is used instead,
//! marked `(declared)` so nobody mistakes it for the linked version.

use std::env;
use std::fs;
use std::path::PathBuf;

/// The major.minor series Cargo.toml asks for; the lock file may hold other rustls versions
/// pulled in by other crates, and only this series is ours.
const DECLARED: &str = "0.23";

fn main() {
    let manifest_dir = env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_default();
    let lock = manifest_dir.join("../../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    println!("cargo:rerun-if-changed=build.rs");

    let version = fs::read_to_string(&lock)
        .ok()
        .and_then(|text| locked_version(&text, "rustls", DECLARED))
        .unwrap_or_else(|| format!("{DECLARED} (declared)"));
    println!("cargo:rustc-env=BACKEND_RUSTLS_VERSION={version}");
}

/// The version of the `[[package]]` named `name` whose version starts with `series.`.
fn locked_version(lock: &str, name: &str, series: &str) -> Option<String> {
    let wanted_name = format!("name = \"{name}\"");
    let prefix = format!("{series}.");
    lock.split("[[package]]").find_map(|block| {
        let mut lines = block.lines().map(str::trim);
        if !lines.any(|l| l == wanted_name) {
            return None;
        }
        let version = block
            .lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix("version = \""))?
            .strip_suffix('"')?;
        version.starts_with(&prefix).then(|| version.to_owned())
    })
}
