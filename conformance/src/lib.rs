//! # conformance
//!
//! sslsocket's conformance suite: one set of [`scenarios`], each written once as a function
//! over a client backend, a server backend and a driver ([`harness::Ctx`]), returning pass,
//! fail or unsupported ([`outcome::Outcome`]). `Unsupported` is only ever returned where the
//! backend's capabilities say the feature is missing; a backend that claims a feature and
//! cannot do it fails.
//!
//! - `cargo test -p conformance` runs one `#[test]` per scenario per compiled backend (see
//!   `tests/matrix.rs`), plus the client × server pairs.
//! - `cargo run -p conformance -- [--backend NAME]... [--format table|markdown|json]` prints the
//!   matrix and exits non-zero on any failure.
//!
//! Certificates and keys are generated per run ([`pki`]); nothing secret is committed.
//! Network traffic stays on 127.0.0.1.
#![warn(missing_docs)]

pub mod differences;
pub mod driver;
pub mod harness;
pub mod limbo;
pub mod matrix;
pub mod outcome;
pub mod pki;
pub mod scenarios;
