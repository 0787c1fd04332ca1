//! # backend-openssl
//!
//! The OpenSSL backend of sslsocket: a thin translator between [`ssl_api`]'s contracts and the
//! system's libssl, through the safe API of the `openssl` crate.
//!
//! ## Overview
//!
//! - [`OpensslBackend`] implements [`ssl_api::SslBackend`]: name `"openssl"`, the run-time and
//!   build-time library versions, TLS 1.0 to 1.3, the suites libssl knows, and the features
//!   below.
//! - [`OpensslBackend::new_context`](ssl_api::SslBackend::new_context) turns an
//!   [`ssl_api::SslConfiguration`] into one OpenSSL `SSL_CTX`, held by an [`OpensslContext`]
//!   and shared by every session made from it.
//! - [`OpensslSession`] implements [`ssl_api::SslSession`] over an `SslStream` whose transport
//!   is an in-memory pipe: OpenSSL reads ciphertext the caller put in and writes ciphertext the
//!   caller takes out, and answers "want read" (`WouldBlock`) when it needs more.
//! - [`OpensslContext::new`] and [`OpensslContext::session`] give the same objects with their
//!   concrete types, for code (tests, benchmarks) that wants OpenSSL-specific facts such as
//!   [`OpensslSession::is_resumed`].
//!
//! ## Data flow
//!
//! ```text
//! transport ─► read_tls ─► pipe ─► process_new_packets (SSL_do_handshake / SSL_peek)
//!                                   └─► libssl's record buffer ─► read_plaintext (SSL_read)
//!                                                                  ─► application
//! application ─► write_plaintext (SSL_write) ─► pipe ─► write_tls ─► transport
//! ```
//!
//! Plaintext is decrypted lazily, one record at a time, inside libssl: `process_new_packets`
//! has it decrypt the next record (`SSL_peek`) and reports its size (`SSL_pending`);
//! `read_plaintext` copies it straight into the caller's buffer (`SSL_read`) and moves on to
//! the next record. Ciphertext is copied once on the way in (the caller's reader fills the
//! pipe) and once on the way out (the pipe drains into the caller's writer); libssl copies
//! into and out of the pipe as with any BIO. An idle session holds no buffer: the pipe frees
//! its queues when they are empty and the transport has nothing more, and libssl frees its
//! record buffers (`SSL_MODE_RELEASE_BUFFERS`).
//!
//! ## Verification
//!
//! libssl checks handshake signatures and fails the handshake when they are wrong. Trust (path
//! validation against `ca_certificates` only, the name on a client, the purpose, the depth)
//! never fails the handshake: a per-session verify callback records every error OpenSSL
//! reports, each with the certificate it concerns, and lets the handshake continue; the
//! session reports them through
//! [`verification_errors`](ssl_api::SslSession::verification_errors) and the socket decides.
//! OpenSSL reports more than one error per chain where there is more than one (an expired
//! leaf from an unknown CA is both), and names them as Qt does.
//!
//! ## Resumption
//!
//! Servers cache sessions and issue tickets, so clients that offer a session (any engine's)
//! resume. A client context keeps the sessions its connections are given - at the end of a
//! TLS 1.2 handshake, and each TLS 1.3 ticket after one - from the context's new-session
//! callback, in a cache of its own keyed by peer name (at most 256 peers, 4 sessions each),
//! and offers the newest to its next session for the same name (`SslRef::set_session`: the
//! one `unsafe` call of this crate, sound because a context only ever offers sessions its own
//! connections made). A TLS 1.3 ticket is offered once; a TLS 1.2 session until a newer one
//! replaces it. A resumed handshake checks no certificate: the session reports the
//! verification errors of the connection that made its session, so that the socket decides
//! as it did then. OpenSSL keeps a session resumable only if the connection that made it
//! ended with close_notify: a connection dropped without one loses its session.
//!
//! ## Features
//!
//! Certificate verification with detailed, recoverable errors, `peer_verify_depth`, ALPN
//! (client and server), client certificates (presented, and requested by servers), the peer's
//! chain, the negotiated cipher and protocol, the client's SNI name on a server, cipher
//! selection, the server's order of suites winning (`SSL_OP_CIPHER_SERVER_PREFERENCE`, off
//! with `disable_server_cipher_preference`), and chain verification outside a handshake
//! (`SslBackend::verify_chain`, with explicit anchors, time, purpose, depth and name; OpenSSL's first error only there),
//! pre-shared keys (`Psk`: `SSL_CTX_set_psk_client_callback` / `_server_callback`), key
//! logging (`KeyLog`: `SSL_CTX_set_keylog_callback`) and session resumption on both ends
//! (`SessionTicket`). Not supported: OCSP and alert reporting.
//!
//! ## Example
//!
//! ```
//! use ssl_api::{Role, SslBackend, SslConfiguration, SslProtocol};
//! use backend_openssl::OpensslBackend;
//!
//! let backend = OpensslBackend::new();
//! assert_eq!(backend.name(), "openssl");
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
mod pipe;
mod resumption;
mod session;
mod verify;

pub use backend::{OpensslBackend, OpensslContext, NAME};
pub use session::OpensslSession;
