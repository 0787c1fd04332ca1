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

/// The environment variable that restricts the run to some backends: `rustls,openssl`.
pub const TEST_BACKENDS: &str = "SSLSOCKET_TEST_BACKENDS";

/// Every compiled-in, usable backend, or those [`TEST_BACKENDS`] names.
///
/// # Panics
/// When the list would be empty (no usable backend compiled in, or an empty filter), or when
/// the filter names a backend that is not compiled in and usable: a loop over no backend would
/// pass without testing anything. The message names the filter and the compiled backends.
#[must_use]
pub fn backends() -> Vec<Arc<dyn SslBackend>> {
    select_backends(std::env::var(TEST_BACKENDS).ok().as_deref())
}

/// [`backends`] for the filter `only` (`None`: every usable compiled-in backend).
///
/// # Panics
/// As [`backends`].
#[must_use]
pub fn select_backends(only: Option<&str>) -> Vec<Arc<dyn SslBackend>> {
    let compiled = sslsocket::registry::compiled_backends();
    let describe = || {
        compiled
            .iter()
            .map(|b| match b.availability() {
                Ok(()) => b.name().to_owned(),
                Err(why) => format!("{} (unusable: {why})", b.name()),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let usable: Vec<Arc<dyn SslBackend>> =
        compiled.iter().filter(|b| b.availability().is_ok()).cloned().collect();
    let Some(filter) = only else {
        assert!(!usable.is_empty(), "no usable backend to test (compiled: [{}])", describe());
        return usable;
    };
    let wanted: Vec<&str> = filter.split(',').map(str::trim).filter(|n| !n.is_empty()).collect();
    let unknown: Vec<&str> =
        wanted.iter().copied().filter(|n| !usable.iter().any(|b| b.name() == *n)).collect();
    assert!(
        !wanted.is_empty(),
        "{TEST_BACKENDS}={filter:?} names no backend; compiled: [{}]",
        describe()
    );
    assert!(
        unknown.is_empty(),
        "{TEST_BACKENDS}={filter:?}: {} is not a compiled-in, usable backend, nothing would be \
         tested on it; compiled: [{}]",
        unknown.join(", "),
        describe()
    );
    usable.into_iter().filter(|b| wanted.contains(&b.name())).collect()
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
    pair.client.start_client_encryption(now);
    pair.server.start_server_encryption(now);
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

#[cfg(test)]
mod tests {
    use super::select_backends;

    #[test]
    #[should_panic(
        expected = "SSLSOCKET_TEST_BACKENDS=\"nonesuch\": nonesuch is not a compiled-in"
    )]
    fn a_filter_naming_no_compiled_backend_fails() {
        let _ = select_backends(Some("nonesuch"));
    }

    #[test]
    #[should_panic(expected = "SSLSOCKET_TEST_BACKENDS=\",\" names no backend")]
    fn an_empty_filter_fails() {
        let _ = select_backends(Some(","));
    }

    #[test]
    fn a_filter_selects_exactly_the_backends_it_names() {
        let all = select_backends(None);
        let first = all[0].name();
        let chosen = select_backends(Some(first));
        assert_eq!(chosen.iter().map(|b| b.name()).collect::<Vec<_>>(), [first]);
        let every = all.iter().map(|b| b.name()).collect::<Vec<_>>().join(",");
        assert_eq!(select_backends(Some(&every)).len(), all.len());
    }
}
