//! # ssl-api
//!
//! The vocabulary and contracts of [sslsocket](https://docs.rs/sslsocket): Qt's QSslSocket
//! types in Rust case, and the traits a TLS engine implements to be driven by it. No I/O.
//!
//! - Types: [`SslMode`], [`PeerVerifyMode`], [`SslProtocol`], [`SocketState`], [`PauseMode`].
//! - Errors by family: [`SslError`] / [`SslErrorKind`] (certificate verification),
//!   [`ConfigError`], [`CertificateError`], [`TlsError`], and the socket's [`Error`] with
//!   [`SocketErrorKind`].
//! - Data: [`SslCertificate`], [`SslKey`], [`SslCipher`], [`SslConfiguration`].
//! - Contracts: [`SslBackend`] → [`SslContext`] → [`SslSession`], with capabilities as data
//!   ([`Feature`], [`FeatureSet`]).
//! - Building blocks for backends whose engine runs over an in-memory `Read` / `Write`:
//!   [`pipe`].
//!
//! Cargo features:
//!
//! - `testing` (off): `ssl_api::testing`, engine-neutral test support that every backend's
//!   tests share (session pumping, and test bodies run per backend by `reading_tests!`). For
//!   `[dev-dependencies]` only; it pulls in rcgen and changes nothing else.
//!
//! ```
//! use ssl_api::{PeerVerifyMode, SslConfiguration, SslMode, SslProtocol, TlsVersion};
//!
//! let config = SslConfiguration::default();
//! assert_eq!(config.protocol, SslProtocol::SecureProtocols);
//! assert!(!config.protocol.allows(TlsVersion::Tls1_1));
//! assert_eq!(config.peer_verify_mode.effective(SslMode::SslClientMode), PeerVerifyMode::VerifyPeer);
//! ```
#![warn(missing_docs)]

pub mod alert;
pub mod backend;
pub mod callbacks;
pub mod certificate;
mod certificate_text;
pub mod cipher;
pub mod config;
pub mod error;
pub mod files;
pub mod key;
mod key_encryption;
pub mod pipe;
pub mod proxy;
#[cfg(feature = "testing")]
pub mod testing;
pub mod types;

pub use alert::{Alert, AlertLevel, AlertType};
pub use backend::{
    check_capabilities, Feature, FeatureSet, IoStatus, Purpose, Role, SslBackend, SslContext,
    SslSession, VerifyRequest,
};
pub use callbacks::{KeyLogHandler, PskAuthenticator, PskHandler};
pub use certificate::{
    AlternativeName, DigestAlgorithm, EncodingFormat, PatternSyntax, SslCertificate,
};
pub use certificate_text::CertificateExtension;
pub use cipher::SslCipher;
pub use config::SslConfiguration;
pub use error::{
    CertificateError, ConfigError, Error, ProxyError, SocketErrorKind, SocketSetupError, SslError,
    SslErrorKind, TlsError, TlsErrorKind, UsageError,
};
pub use key::{EcCurve, KeyAlgorithm, KeyFormat, KeyType, SslKey};
pub use proxy::{NetworkProxy, ProxyAuthenticator, ProxyType, ProxyUrlError};
pub use types::{PauseMode, PeerVerifyMode, SocketState, SslMode, SslProtocol, TlsVersion};
