//! What the sslsocket backends that wrap libssl share, so that one engine error or setting
//! means the same on each of them, while no backend knows another (ARCHITECTURE.md):
//!
//! - [`reasons`]: libssl's reason codes (`SSL_R_*`, `<openssl/sslerr.h>`) and the
//!   [`TlsErrorKind`](ssl_api::TlsErrorKind) each one means: the one table the OpenSSL
//!   backend and the native-tls backend (over OpenSSL) classify engine errors with;
//! - [`levels`]: whether the engine, at a given security level, refuses every version of a
//!   protocol range (asked of libssl itself, never assumed), for the typed refusal of TLS 1.0
//!   and 1.1 before any byte.
//!
//! Internal to sslsocket: used by `backend-openssl` and `backend-native` only; no stability
//! promise beyond theirs.
#![warn(missing_docs)]

pub mod levels;
pub mod reasons;
