//! Deciding on certificate errors asynchronously (e.g. by asking a user).

use ssl_api::{SslCertificate, SslError};

/// What to do with a handshake's certificate errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Accept the peer despite these errors.
    Ignore,
    /// Accept only if every error is in this list (same kind and certificate).
    IgnoreExactly(Vec<SslError>),
    /// Reject the peer: the connection ends with `SslHandshakeFailedError`.
    Reject,
}

/// Decides on certificate errors during an async handshake. The handshake waits (holding every
/// byte) until `decide` returns.
///
/// ```
/// use sslsocket::{Decision, SslCertificate, SslError, SslErrorKind, SslErrorsHandler};
///
/// struct AllowExpired;
///
/// #[async_trait::async_trait]
/// impl SslErrorsHandler for AllowExpired {
///     async fn decide(&self, errors: &[SslError], _chain: &[SslCertificate]) -> Decision {
///         if errors.iter().all(|e| e.kind == SslErrorKind::CertificateExpired) {
///             Decision::Ignore
///         } else {
///             Decision::Reject
///         }
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait SslErrorsHandler: Send + Sync {
    /// Called once per handshake with every error found and the peer's chain.
    async fn decide(&self, errors: &[SslError], peer_chain: &[SslCertificate]) -> Decision;
}
