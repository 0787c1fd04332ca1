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
//! ```
//! use libssl_common::reasons;
//! use ssl_api::TlsErrorKind;
//!
//! // SSL_R_WRONG_VERSION_NUMBER: the peer does not speak TLS.
//! assert_eq!(reasons::kind(267), Some(TlsErrorKind::InvalidMessage));
//! // SSL_AD_REASON_OFFSET + handshake_failure (40): a received alert.
//! assert_eq!(reasons::kind(1040), Some(TlsErrorKind::AlertReceived));
//! // A code the table does not know is the backend's to call `Internal`.
//! assert_eq!(reasons::kind(1), None);
//! ```
//!
//! No features. Internal to sslsocket: used by `backend-openssl` and `backend-native` only; no stability
//! promise beyond theirs.
#![warn(missing_docs)]

pub mod levels;
pub mod reasons;
