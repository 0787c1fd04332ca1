//! # sslsocket-benches
//!
//! sslsocket side by side with the raw engine it wraps, on loopback, in one run: bulk
//! throughput, full and resumed handshakes per second, memory per idle connection and
//! one-byte round-trip latency, for every compiled backend (rustls, openssl, native) and both
//! drivers (blocking, tokio), alternating raw and ours round by round.
//!
//! ```text
//! cargo run --release -p sslsocket-benches -- [all|bulk|handshake|memory|latency] \
//!     [--backend NAME]... [--driver NAME]... [--quick] [--json PATH] [--markdown PATH]
//! ```
//!
//! With Qt 6 installed, the openssl backend's blocking rows also get a Qt 6 `QSslSocket`
//! baseline (`bulk_vs_qt`, `handshake_full_vs_qt`) from the C++ program in `benches/qt/`: see
//! [`qt`].
//!
//! Benchmarks are not tests: nothing here asserts a timing. `tests/smoke.rs` only checks that
//! a tiny run completes with positive figures.

pub mod engines;
#[cfg(feature = "tokio")]
pub mod engines_tokio;
pub mod memory;
pub mod pki;
pub mod profile;
pub mod qt;
pub mod report;
pub mod run;
pub mod work;
