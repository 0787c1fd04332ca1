//! Integration tests of sslsocket live in `tests/`; this library holds what they share.
#![warn(missing_docs)]

pub use conformance::driver;

pub mod hostile;
pub mod leaks;
#[cfg(feature = "tokio")]
pub mod load;
pub mod peers;
pub mod raw;
pub mod relay;
pub mod table;

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
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

/// Runs `test` once on each backend of [`backends`]. A panic on one backend does not stop the
/// others: every backend runs, then the test fails naming each backend that failed and what it
/// panicked with.
///
/// # Panics
/// As [`backends`], and when `test` panicked on any backend.
pub fn on_each_backend(mut test: impl FnMut(Arc<dyn SslBackend>)) {
    let list = backends();
    let mut failed = Vec::new();
    for backend in &list {
        let name = backend.name();
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| test(backend.clone()))) {
            failed.push(format!("on {name}: {}", panic_message(panic.as_ref())));
        }
    }
    let names: Vec<&str> = list.iter().map(|b| b.name()).collect();
    assert!(
        failed.is_empty(),
        "failed on {} of {} backend(s) [{}]:\n{}",
        failed.len(),
        list.len(),
        names.join(", "),
        failed.join("\n")
    );
}

/// The text a panic carried (`panic!`, `assert!`, `unwrap` messages are strings).
#[must_use]
pub fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "(a panic without a message)".to_owned())
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

/// Checks that `backend`, which does not claim `Feature::ChainVerification`, refuses the chain
/// verification API with the typed `Unsupported` error.
///
/// # Panics
/// When it answers anything else; the message names the backend.
pub fn assert_refuses_chain_verification(backend: &Arc<dyn SslBackend>) {
    let err = sslsocket::verify_chain(
        backend.as_ref(),
        &[],
        &[],
        None,
        std::time::SystemTime::now(),
        sslsocket::Purpose::ServerAuth,
    );
    assert!(
        matches!(
            err,
            Err(sslsocket::ConfigError::Unsupported {
                feature: sslsocket::Feature::ChainVerification,
                ..
            })
        ),
        "{}: {err:?}",
        backend.name()
    );
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
    use super::{backends, on_each_backend, select_backends};

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

    #[test]
    fn a_failure_on_one_backend_names_it_and_the_others_still_run() {
        let all = backends();
        let first = all[0].name();
        let mut ran = Vec::new();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            on_each_backend(|backend| {
                ran.push(backend.name());
                assert_ne!(backend.name(), first, "deliberately");
            });
        }));
        let message = super::panic_message(outcome.unwrap_err().as_ref());
        assert!(
            message.starts_with(&format!("failed on 1 of {} backend(s)", all.len())),
            "{message}"
        );
        assert!(
            message
                .contains(&format!("on {first}: assertion `left != right` failed: deliberately")),
            "{message}"
        );
        assert_eq!(ran, all.iter().map(|b| b.name()).collect::<Vec<_>>());
    }
}
