//! # sslsocket
//!
//! Qt's QSslSocket in Rust, on the TLS engine you choose, with one behaviour on all of them.
//!
//! - [`SslSocket`]: a blocking TLS socket with QSslSocket's model — states, modes, STARTTLS,
//!   certificate errors with a decision (`ignore_ssl_errors*`, a handler, pause and resume),
//!   peer chain, cipher, `wait_for_*` with a [`Duration`](std::time::Duration), and
//!   `std::io::Read` + `Write`.
//! - [`SslServer`]: Qt 6's QSslServer — handshakes interleaved on a background thread (a slow
//!   client holds up no one), a handshake timeout, accepted sockets already encrypted.
//! - [`AsyncSslSocket`] / [`AsyncSslServer`] (feature `tokio`): the same on tokio.
//! - [`conn::Connection`]: the sans-IO state machine every driver is a short loop over; no
//!   sockets and no clock inside.
//! - [`SslCertificate`], [`SslKey`] (passphrase-protected keys included) and the CA database
//!   (`add_ca_certificates_from_path`, [`system_ca_certificates`],
//!   `SslConfiguration::add_default_ca_certificates`), read by sslsocket itself so they behave
//!   the same on every engine; [`verify_chain`] runs a chosen backend's own path validation
//!   with explicit trust anchors and time (`QSslCertificate::verify`).
//! - Backends, picked by Cargo feature and at run time: [`available_backends`],
//!   [`active_backend`], [`set_active_backend`], `SslSocket::with_backend`.
//!
//! ## Data flow
//!
//! ```text
//!  application        Connection (conn)                       backend SslSession    transport
//!  write(b) ──► write buffer ──(once Encrypted)──► write_plaintext ──► write_tls ──► TCP
//!  read(b)  ◄── read buffer  ◄──────────────────── read_plaintext  ◄── read_tls  ◄── TCP
//! ```
//!
//! Verification: the engine checks (with its own trust store and rules) and reports every
//! error it can; the socket decides. No application byte crosses before the policy accepts.
//!
//! ## Features
//!
//! - `rustls` (default): the rustls engine with the aws-lc-rs provider.
//! - `openssl`: the system's OpenSSL (libssl), driven sans-IO over an in-memory pipe.
//! - `native`: native-tls, the platform's library (OpenSSL on Linux); the least capable — see
//!   its `features()`.
//! - `tokio` (default): [`AsyncSslSocket`] and [`AsyncSslServer`], `AsyncRead` + `AsyncWrite`,
//!   events as a `Stream`, async certificate decisions ([`SslErrorsHandler`]).
//!
//! ## Example
//!
//! A server and a client on loopback, with a certificate made on the spot:
//!
//! ```
//! use std::io::{Read, Write};
//! use std::time::Duration;
//! use sslsocket::{KeyFormat, SslCertificate, SslConfiguration, SslKey, SslServer, SslSocket};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
//! let certificate = SslCertificate::from_der(cert.cert.der())?;
//! let key = SslKey::private_key_from_der(&cert.signing_key.serialize_der(), KeyFormat::Pkcs8)?;
//!
//! let mut server = SslServer::new()?;
//! server.set_ssl_configuration(SslConfiguration {
//!     local_certificate_chain: vec![certificate.clone()],
//!     private_key: Some(key),
//!     ..SslConfiguration::default()
//! });
//! server.listen("127.0.0.1:0")?;
//! let port = server.local_address().expect("listening").port();
//! let serving = std::thread::spawn(move || -> std::io::Result<()> {
//!     let mut peer = server.accept()?;
//!     let mut line = [0u8; 5];
//!     peer.read_exact(&mut line)?;
//!     peer.write_all(&line)?;
//!     peer.flush()
//! });
//!
//! let mut socket = SslSocket::new();
//! socket.add_ca_certificate(certificate);
//! socket.connect_to_host_encrypted("localhost", port);
//! socket.write_all(b"hello")?; // queued until encrypted, never sent in clear
//! socket.wait_for_encrypted(Duration::from_secs(5))?;
//! println!("{:?} {:?}", socket.session_protocol(), socket.session_cipher().map(|c| c.name));
//! let mut echo = [0u8; 5];
//! socket.read_exact(&mut echo)?;
//! assert_eq!(&echo, b"hello");
//! serving.join().expect("server thread")?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod accept;
pub mod blocking;
pub mod conn;
mod forward;
mod net;
/// Qt coverage: every QSslSocket / QAbstractSocket / QIODevice member and its Rust name.
#[doc = include_str!("qt.md")]
pub mod qt {}
mod proxy;
pub mod registry;
mod server_settings;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "tokio")]
mod tokio_driver;
mod unavailable;
mod verify;

pub use blocking::{Accepted, HandshakeFailure, SslServer, SslSocket, MAX_PENDING_PER_PEER};
pub use conn::{Connection, Control, Event, ProxyAuthenticationHandler};
pub use net::{BindMode, NetworkLayerProtocol, SocketOption, SocketOptions};
pub use proxy::{application_proxy, set_application_proxy};
pub use registry::{
    active_backend, available_backends, set_active_backend, system_ca_certificates, BackendInfo,
};
// The documented bounds of a configuration and of key loading.
pub use ssl_api::config::{MAX_ALPN_LIST_LEN, MAX_ALPN_PROTOCOL_LEN, MAX_PEER_VERIFY_DEPTH};
pub use ssl_api::key::{
    MAX_PBKDF2_ITERATIONS, MAX_SCRYPT_COST, MAX_SCRYPT_MEMORY, MAX_SCRYPT_WORK,
};
pub use ssl_api::{
    Alert, AlertLevel, AlertType, AlternativeName, CertificateError, CertificateExtension,
    ConfigError, DigestAlgorithm, EcCurve, EncodingFormat, Error, Feature, FeatureSet,
    KeyAlgorithm, KeyFormat, KeyLogHandler, KeyType, NetworkProxy, PatternSyntax, PauseMode,
    PeerVerifyMode, ProxyAuthenticator, ProxyError, ProxyType, ProxyUrlError, PskAuthenticator,
    PskHandler, Purpose, Role, SocketErrorKind, SocketSetupError, SocketState, SslBackend,
    SslCertificate, SslCipher, SslConfiguration, SslError, SslErrorKind, SslKey, SslMode,
    SslProtocol, TlsError, TlsErrorKind, TlsVersion, UsageError, VerifyRequest,
};
#[cfg(feature = "tokio")]
pub use tokio_driver::{
    AsyncAccepted, AsyncSslServer, AsyncSslSocket, Decision, EventStream, SslErrorsHandler,
};
pub(crate) use unavailable::unavailable_backend;
pub use verify::verify_chain;
