//! Passes two versions to the crate:
//!
//! - `BACKEND_NATIVE_TLS_VERSION`: the native-tls version this crate is linked with (e.g.
//!   `0.2.18`). The resolved version is only known to Cargo's lock file, so this reads the
//!   workspace's `Cargo.lock` (two directories above this crate). Outside this workspace the
//!   declared requirement is used instead, marked `(declared)`.
//! - `BACKEND_NATIVE_OPENSSL_BUILD`: where native-tls wraps OpenSSL, the `OPENSSL_VERSION_NUMBER`
//!   (hex) of the headers openssl-sys was built against (`DEP_OPENSSL_VERSION_NUMBER`, set by
//!   openssl-sys's build script for its direct dependents); empty elsewhere.

use std::env;
use std::fs;
use std::path::PathBuf;

/// The major.minor series Cargo.toml asks for.
const DECLARED: &str = "0.2";

fn main() {
    let manifest_dir = env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_default();
    let lock = manifest_dir.join("../../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DEP_OPENSSL_VERSION_NUMBER");

    let version = fs::read_to_string(&lock)
        .ok()
        .and_then(|text| locked_version(&text, "native-tls", DECLARED))
        .unwrap_or_else(|| format!("{DECLARED} (declared)"));
    println!("cargo:rustc-env=BACKEND_NATIVE_TLS_VERSION={version}");

    let openssl = env::var("DEP_OPENSSL_VERSION_NUMBER").unwrap_or_default();
    println!("cargo:rustc-env=BACKEND_NATIVE_OPENSSL_BUILD={openssl}");
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
