//! # conformance
//!
//! sslsocket's conformance suite. For now it holds the test PKI ([`pki`]) that every test
//! crate uses: certificates and keys generated per run, none committed.
#![warn(missing_docs)]

pub mod driver;
pub mod pki;
