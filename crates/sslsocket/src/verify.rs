//! Certificate verification outside a handshake (`QSslCertificate::verify`, made testable):
//! a chosen backend's engine, explicit trust anchors, an explicit time.

use std::time::SystemTime;

use ssl_api::{ConfigError, Purpose, SslBackend, SslCertificate, SslError, VerifyRequest};

/// Verifies `chain` (the certificate to verify first, then intermediates) with `backend`'s own
/// engine, against exactly `trust` (never the system store), at time `at`, for `purpose`, and,
/// when `host` is given, for that DNS name or IP address. Returns every error the engine
/// reports (see each backend's [`SslBackend::verify_chain`]); empty means trusted.
///
/// Nothing is decided here: the list is the engine's, and an engine's rejection is never an
/// empty list.
///
/// ```
/// use std::time::SystemTime;
/// use sslsocket::{verify_chain, Purpose, SslCertificate, SslErrorKind};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
/// let leaf = SslCertificate::from_der(cert.cert.der())?;
/// let backend = sslsocket::active_backend()?;
/// // Trusted as its own anchor, valid for localhost now:
/// let errors = verify_chain(backend.as_ref(), &[leaf.clone()], &[leaf.clone()],
///     Some("localhost"), SystemTime::now(), Purpose::ServerAuth)?;
/// assert!(errors.is_empty(), "{errors:?}");
/// // Not for another name:
/// let errors = verify_chain(backend.as_ref(), &[leaf.clone()], &[leaf],
///     Some("example.com"), SystemTime::now(), Purpose::ServerAuth)?;
/// assert!(errors.iter().any(|e| e.kind == SslErrorKind::HostNameMismatch));
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`ConfigError::Unsupported`] with `Feature::ChainVerification` when the backend cannot
/// verify outside a handshake (native-tls), or [`ConfigError::Engine`] when its engine fails.
pub fn verify_chain(
    backend: &dyn SslBackend,
    chain: &[SslCertificate],
    trust: &[SslCertificate],
    host: Option<&str>,
    at: SystemTime,
    purpose: Purpose,
) -> Result<Vec<SslError>, ConfigError> {
    backend.verify_chain(&VerifyRequest::new(chain, trust, at, purpose).with_host(host))
}
