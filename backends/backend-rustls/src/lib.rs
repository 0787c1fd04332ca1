//! # backend-rustls
//!
//! The rustls backend of sslsocket: a thin translator between [`ssl_api`]'s contracts and
//! rustls 0.23 with its aws-lc-rs crypto provider.
//!
//! ## Overview
//!
//! - [`RustlsBackend`] implements [`ssl_api::SslBackend`]: name `"rustls"`, the linked rustls
//!   version, TLS 1.2 and 1.3, the provider's cipher suites, and the features below.
//! - [`RustlsBackend::new_context`](ssl_api::SslBackend::new_context) turns an
//!   [`ssl_api::SslConfiguration`] into one rustls `ClientConfig` or `ServerConfig`, held by a
//!   [`RustlsContext`] and shared (with its session cache) by every session made from it.
//! - [`RustlsSession`] implements [`ssl_api::SslSession`] over a `rustls::Connection`; rustls
//!   is sans-IO already, so each method is one engine call.
//! - [`RustlsContext::new`] and [`RustlsContext::session`] give the same objects with their
//!   concrete types, for code (tests, benchmarks) that wants rustls-specific facts such as
//!   [`RustlsSession::is_resumed`].
//!
//! ## Data flow
//!
//! ```text
//! transport ─► read_tls ─► process_new_packets ─► read_plaintext ─► application
//! application ─► write_plaintext ─► write_tls ─► transport
//! ```
//!
//! ## Verification
//!
//! rustls checks handshake signatures and fails the handshake when they are wrong, or when the
//! peer's certificate cannot be decoded. Trust (path validation with webpki against
//! `ca_certificates`, and on a client the peer name) never fails the handshake: the session
//! reports every error it finds through
//! [`verification_errors`](ssl_api::SslSession::verification_errors) and the socket decides.
//! webpki stops at the first path error, so a session reports at most one chain error plus a
//! name error, each naming the leaf certificate. Resumed sessions report the errors of the
//! chain they resume: the context keeps the verdicts of its recent full handshakes and a
//! resumed session reuses its chain's verdict while it is less than a minute old, so that
//! resuming costs no path validation (raw rustls checks nothing on resumption) yet a
//! certificate that expires meanwhile is reported within a minute.
//!
//! **Explicit trust.** A peer whose certificate is byte-for-byte one of the configured
//! `ca_certificates`, and self-signed, is trusted as that anchor, as OpenSSL trusts it: the
//! certificate `openssl req -x509` makes says CA:TRUE, which webpki alone refuses in a peer
//! (`CaUsedAsEndEntity`). Its validity period, its extended key usage and key usage for the
//! role (where present) and the peer name are still checked and reported with their kinds; a
//! self-signed certificate that is not in the list is rejected as before.
//!
//! ## Features
//!
//! Certificate verification, ALPN (client and server), session tickets and resumption, client
//! certificates (presented, and requested by servers), the peer's chain, the negotiated
//! cipher and protocol, cipher selection, the server's order of suites winning
//! (`ServerConfig::ignore_client_order`, off with `disable_server_cipher_preference`), key
//! logging (`ClientConfig::key_log` / `ServerConfig::key_log`), `peer_verify_depth` (the path webpki verified, seen through its
//! `verify_path` callback: at most that many certificates, the leaf included and the anchor
//! not; a longer path is `PathLengthExceeded`, as on OpenSSL), and chain verification outside
//! a handshake (`SslBackend::verify_chain`: webpki with explicit anchors, time, purpose, depth
//! and name). Not supported, and refused with `ConfigError::Unsupported` by `new_context`:
//! PSK. Not supported either: OCSP, alert reporting and per-certificate chain errors.
//!
//! ## Example
//!
//! ```
//! use ssl_api::{Role, SslBackend, SslConfiguration, SslProtocol};
//! use backend_rustls::RustlsBackend;
//!
//! let backend = RustlsBackend::new();
//! assert_eq!(backend.name(), "rustls");
//! assert!(backend.supported_protocols().contains(&SslProtocol::TlsV1_3));
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
mod session;
mod verify;

pub use backend::{RustlsBackend, RustlsContext, NAME};
pub use session::RustlsSession;
