//! Integration tests of sslsocket live in `tests/`; this library holds what they share.
#![warn(missing_docs)]

pub use conformance::driver;

pub mod hostile;
pub mod leaks;
#[cfg(feature = "tokio")]
pub mod load;
pub mod peers;
pub mod relay;
pub mod table;

use std::sync::Arc;
use std::time::Instant;

use conformance::pki::Identity;
use sslsocket::conn::pair::Pair;
use sslsocket::{Connection, SslBackend, SslCertificate, SslConfiguration};

/// Every compiled-in, usable backend.
///
/// `SSLSOCKET_TEST_BACKENDS=rustls,openssl` restricts the run to those names.
#[must_use]
pub fn backends() -> Vec<Arc<dyn SslBackend>> {
    let only = std::env::var("SSLSOCKET_TEST_BACKENDS").ok();
    sslsocket::registry::compiled_backends()
        .into_iter()
        .filter(|b| b.availability().is_ok())
        .filter(|b| only.as_deref().is_none_or(|list| list.split(',').any(|n| n == b.name())))
        .collect()
}

/// A client configuration trusting exactly `ca`.
#[must_use]
pub fn client_config(ca: &SslCertificate) -> SslConfiguration {
    SslConfiguration {
        ca_certificates: vec![ca.clone()],
        system_ca_certificates: false,
        ..SslConfiguration::default()
    }
}

/// An in-memory pair: a client verifying `peer_name` against `client`, a server presenting
/// `server`, both on `backend`, both unencrypted until started.
#[must_use]
pub fn pair(
    backend: &Arc<dyn SslBackend>,
    client: SslConfiguration,
    server: &Identity,
    peer_name: &str,
) -> Pair {
    let mut c = Connection::new(backend.clone(), client);
    c.set_peer_verify_name(peer_name);
    let s = Connection::new(backend.clone(), server.server_config());
    Pair::new(c, s, Instant::now())
}

/// Starts both handshakes of a pair.
pub fn start(pair: &mut Pair) {
    let now = pair.now;
    sslsocket::testing::start_client_encryption(&mut pair.client, now);
    sslsocket::testing::start_server_encryption(&mut pair.server, now);
}

/// Whether `backend` reports certificate errors for the socket to decide
/// (`Feature::RecoverableVerifyErrors`). A backend without it rejects inside the engine: the
/// socket reports `Rejected([UnspecifiedError])` and nothing can be ignored.
#[must_use]
pub fn recoverable(backend: &Arc<dyn SslBackend>) -> bool {
    backend.features().contains(sslsocket::Feature::RecoverableVerifyErrors)
}

/// The error kinds `backend` can report for a problem whose precise kinds are `kinds`.
#[must_use]
pub fn expected_kinds(
    backend: &Arc<dyn SslBackend>,
    kinds: &[sslsocket::SslErrorKind],
) -> Vec<sslsocket::SslErrorKind> {
    if recoverable(backend) {
        kinds.to_vec()
    } else {
        vec![sslsocket::SslErrorKind::UnspecifiedError]
    }
}
