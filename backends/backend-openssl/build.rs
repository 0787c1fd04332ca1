//! Passes the OpenSSL header version this crate is built against to the crate as
//! `BACKEND_OPENSSL_BUILD_VERSION` (e.g. `OpenSSL 3.0.19`).
//!
//! openssl-sys (`links = "openssl"`) exports the version of the headers it compiled against
//! as `DEP_OPENSSL_VERSION_NUMBER` (hex `OPENSSL_VERSION_NUMBER`) to the build scripts of the
//! crates that depend on it directly — which is why this crate lists openssl-sys as a
//! dependency, as the openssl crate's own build script reads the same variable. LibreSSL
//! exports `DEP_OPENSSL_LIBRESSL_VERSION_NUMBER` instead.

use std::env;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DEP_OPENSSL_VERSION_NUMBER");
    println!("cargo:rerun-if-env-changed=DEP_OPENSSL_LIBRESSL_VERSION_NUMBER");
    let hex = |name: &str| env::var(name).ok().and_then(|v| u64::from_str_radix(&v, 16).ok());
    let version = if let Some(number) = hex("DEP_OPENSSL_LIBRESSL_VERSION_NUMBER") {
        // LibreSSL: 0xMNNFF00fL, like OpenSSL 1.x without the patch letter.
        format!("LibreSSL {}.{}.{}", number >> 28 & 0xf, number >> 20 & 0xff, number >> 12 & 0xff)
    } else if let Some(number) = hex("DEP_OPENSSL_VERSION_NUMBER") {
        openssl_version(number)
    } else {
        "OpenSSL (unknown build version)".to_owned()
    };
    println!("cargo:rustc-env=BACKEND_OPENSSL_BUILD_VERSION={version}");
    // The number itself (0 when unknown), for `library_build_version_number`.
    let number = hex("DEP_OPENSSL_VERSION_NUMBER")
        .or_else(|| hex("DEP_OPENSSL_LIBRESSL_VERSION_NUMBER"))
        .unwrap_or(0);
    println!("cargo:rustc-env=BACKEND_OPENSSL_BUILD_NUMBER={number}");
}

/// Formats an `OPENSSL_VERSION_NUMBER`: `0xMNN00PP0` since 3.0 (major, minor, patch),
/// `0xMNNFFPPS` before (major, minor, fix, patch letter, status).
fn openssl_version(number: u64) -> String {
    let major = number >> 28 & 0xf;
    let minor = number >> 20 & 0xff;
    if major >= 3 {
        return format!("OpenSSL {major}.{minor}.{}", number >> 4 & 0xff);
    }
    let fix = number >> 12 & 0xff;
    let letter = match number >> 4 & 0xff {
        0 => String::new(),
        n => char::from(b'a' + (n as u8 - 1)).to_string(),
    };
    format!("OpenSSL {major}.{minor}.{fix}{letter}")
}
