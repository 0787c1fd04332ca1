//! # backend-native
//!
//! The native-tls backend of sslsocket: a thin translator between [`ssl_api`]'s contracts and
//! native-tls 0.2, which wraps the platform's TLS library (OpenSSL on Linux and the BSDs,
//! Security.framework on Apple platforms, SChannel on Windows). Its point is "whatever the
//! platform gives": platform trust, platform policy, platform updates. Its capabilities say
//! what that leaves out.
//!
//! ## Overview
//!
//! - [`NativeBackend`] implements [`ssl_api::SslBackend`]: name `"native"`, the native-tls
//!   version and the platform library's own version string, the protocols native-tls can
//!   express, no cipher list (native-tls cannot tell), and the features below.
//! - [`NativeBackend::new_context`](ssl_api::SslBackend::new_context) turns an
//!   [`ssl_api::SslConfiguration`] into one native-tls `TlsConnector` or `TlsAcceptor`, held
//!   by a [`NativeContext`] and shared by every session made from it.
//! - [`NativeSession`] implements [`ssl_api::SslSession`]. native-tls only drives a blocking-
//!   style `Read + Write` stream, so each session runs it over an in-memory pipe that answers
//!   `WouldBlock` when empty: the handshake pauses as `HandshakeError::WouldBlock` and resumes
//!   with `MidHandshakeTlsStream::handshake` when more ciphertext has arrived.
//!
//! ## Data flow
//!
//! ```text
//! transport ─► read_tls ─► pipe ─► process_new_packets (handshake / one TlsStream::read)
//!                                   ─► one record's plaintext ─► read_plaintext ─► application
//!                                  read_plaintext (TlsStream::read) ───────────► application
//! application ─► write_plaintext (TlsStream::write) ─► pipe ─► write_tls ─► transport
//! ```
//!
//! Plaintext is decrypted lazily. `process_new_packets` decrypts one record into a buffer so
//! that it can say how much is ready (native-tls cannot tell without handing the bytes out);
//! `read_plaintext` empties that buffer and then reads the following records straight into the
//! caller's buffer. Ciphertext is copied once on the way in (the transport reads into the pipe)
//! and once on the way out. The pipe and the plaintext buffer hold no memory while the
//! connection is idle.
//!
//! ## Verification
//!
//! native-tls verifies inside the handshake and fails it on any problem, with an opaque error;
//! it cannot record errors and continue, list them, or name a certificate. So this backend is
//! less precise than the socket's contract asks, never more permissive:
//!
//! - a client in `VerifyPeer` (or `AutoVerifyPeer`) verifies with the engine's own rules
//!   against exactly `ca_certificates`; a trusted server gives `verification_errors() ==
//!   Some([])`; an untrusted one fails the handshake (`TlsErrorKind::PeerCertificate` where the
//!   platform library's error codes say it was the certificate) and then reports
//!   `Some([UnspecifiedError])`. No ignore list can rescue that handshake;
//! - a client in `VerifyNone` or `QueryPeer` verifies nothing (`danger_accept_invalid_certs`)
//!   and reports `None`: under `QueryPeer` no error is ever recorded;
//! - a server never requests a client certificate: `AutoVerifyPeer` is accepted and requests
//!   nothing; an explicit `QueryPeer` / `VerifyPeer` is refused as unsupported.
//!
//! ## Features
//!
//! Certificate verification (strict only), client-side ALPN, server-side ALPN (not on Apple
//! platforms), client certificates (presented; PKCS#8 or PKCS#1 keys). Not supported: servers
//! requesting client certificates, `peer_verify_depth`, per-certificate verification errors,
//! the peer's chain (the leaf only), the negotiated protocol and cipher, cipher selection, PSK,
//! key logging, session tickets, OCSP, alert reporting, the SNI name on a server
//! (`ServerNameIndication`), and certificate errors the socket can decide on
//! (`RecoverableVerifyErrors`: native-tls can only fail the handshake), and the server's
//! choice of cipher suite by its own order (`ServerCipherPreference`: native-tls has no
//! setting for it, the platform library's own rule applies; `disable_server_cipher_preference`
//! changes nothing). A native server
//! negotiates TLS 1.2 at most (native-tls's OpenSSL server preset disables TLS 1.3).
//!
//! ## Example
//!
//! ```
//! use ssl_api::{Feature, Role, SslBackend, SslConfiguration};
//! use backend_native::NativeBackend;
//!
//! let backend = NativeBackend::new();
//! assert_eq!(backend.name(), "native");
//! assert!(backend.supported_ciphers().is_empty());
//! assert!(!backend.features().contains(Feature::DetailedVerifyErrors));
//!
//! let context = backend.new_context(&SslConfiguration::default(), Role::Client)?;
//! let session = context.new_session(Some("example.com"))?;
//! assert!(session.is_handshaking());
//! assert!(session.wants_write()); // the ClientHello
//! # Ok::<(), ssl_api::ConfigError>(())
//! ```
#![warn(missing_docs)]

mod backend;
mod error;
mod pipe;
mod session;
mod verify;

pub use backend::{NativeBackend, NativeContext, NAME};
pub use session::NativeSession;
