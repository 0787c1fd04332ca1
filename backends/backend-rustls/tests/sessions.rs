//! Sessions of the rustls backend, pumped against each other over in-memory buffers.
//! Certificates are generated per run with rcgen. The handshake, data, verification and
//! configuration cases this backend shares with OpenSSL are `ssl_api::testing::sessions`'s;
//! here follows what only rustls does: resumption that reuses the verdict of its original
//! handshake, refused protocols and suites, and its capabilities.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use backend_rustls::{RustlsBackend, RustlsContext, RustlsSession};
use rcgen::ExtendedKeyUsagePurpose;
use rustls::pki_types::UnixTime;
use rustls::time_provider::TimeProvider;
use ssl_api::testing::sessions::{kinds, self_signed, server_config, Pki};
use ssl_api::testing::{exchange_data, handshake};
use ssl_api::{
    ConfigError, Feature, Role, SslBackend, SslCipher, SslConfiguration, SslErrorKind, SslProtocol,
    SslSession,
};

ssl_api::sessions_tests!(RustlsBackend, classifies_errors: true, verification_recorded);

// ---------------------------------------------------------------------------------------------
// Resumption

#[test]
fn second_tls13_session_of_a_context_resumes() {
    second_session_of_a_context_resumes(SslProtocol::TlsV1_3);
}

#[test]
fn second_tls12_session_of_a_context_resumes() {
    second_session_of_a_context_resumes(SslProtocol::TlsV1_2);
}

fn second_session_of_a_context_resumes(protocol: SslProtocol) {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let mut client_config = pki.client_config();
    client_config.protocol = protocol;
    let client_context = RustlsContext::new(&client_config, Role::Client).unwrap();
    let server_context = RustlsContext::new(&server_config(&cert, &key), Role::Server).unwrap();

    let mut client = client_context.session(Some("localhost")).unwrap();
    let mut server = server_context.session(None).unwrap();
    handshake(&mut client, &mut server).unwrap();
    assert_eq!(client.is_resumed(), Some(false));
    exchange_data(&mut client, &mut server); // TLS 1.3 tickets travel after the handshake

    let validations = client_context.path_validations();
    assert_eq!(validations, 1);

    let mut client = client_context.session(Some("localhost")).unwrap();
    let mut server = server_context.session(None).unwrap();
    handshake(&mut client, &mut server).unwrap();
    assert_eq!(client.is_resumed(), Some(true));
    assert_eq!(server.is_resumed(), Some(true));
    assert_eq!(client.verification_errors(), Some(&[][..]));
    assert_eq!(client.peer_certificate_chain(), vec![cert]);
    assert_eq!(client_context.path_validations(), validations, "the verdict is reused");
    exchange_data(&mut client, &mut server);
}

#[test]
fn resumed_session_reports_the_errors_of_the_chain_it_resumes() {
    let pki = Pki::new();
    let (cert, key) = self_signed("localhost");
    let client_context = RustlsContext::new(&pki.client_config(), Role::Client).unwrap();
    let server_context = RustlsContext::new(&server_config(&cert, &key), Role::Server).unwrap();

    for resumed in [false, true] {
        let mut client = client_context.session(Some("localhost")).unwrap();
        let mut server = server_context.session(None).unwrap();
        handshake(&mut client, &mut server).unwrap();
        exchange_data(&mut client, &mut server);
        assert_eq!(client.is_resumed(), Some(resumed));
        assert_eq!(kinds(&client), vec![SslErrorKind::SelfSignedCertificate]);
    }
}

#[test]
fn resumed_tls13_session_reports_exactly_the_errors_of_the_session_it_resumes() {
    resumed_session_reports_exactly_the_errors_of_the_session_it_resumes(SslProtocol::TlsV1_3);
}

#[test]
fn resumed_tls12_session_reports_exactly_the_errors_of_the_session_it_resumes() {
    resumed_session_reports_exactly_the_errors_of_the_session_it_resumes(SslProtocol::TlsV1_2);
}

fn resumed_session_reports_exactly_the_errors_of_the_session_it_resumes(protocol: SslProtocol) {
    let pki = Pki::new();
    let (cert, key) = self_signed("localhost");
    let mut client_config = pki.client_config();
    client_config.protocol = protocol;
    let client_context = RustlsContext::new(&client_config, Role::Client).unwrap();
    let server_context = RustlsContext::new(&server_config(&cert, &key), Role::Server).unwrap();

    let (original, _) = connect(&client_context, &server_context, "example.com");
    assert_eq!(original.is_resumed(), Some(false));
    assert_eq!(
        kinds(&original),
        vec![SslErrorKind::SelfSignedCertificate, SslErrorKind::HostNameMismatch]
    );
    let validations = client_context.path_validations();

    let (resumed, _) = connect(&client_context, &server_context, "example.com");
    assert_eq!(resumed.is_resumed(), Some(true));
    assert_eq!(resumed.verification_errors(), original.verification_errors());
    assert_eq!(client_context.path_validations(), validations, "the verdict is reused");
}

#[test]
fn resumed_server_session_reports_the_errors_of_the_client_certificate_it_resumes() {
    let pki = Pki::new();
    let stranger = Pki::named("stranger CA");
    let (cert, key) = pki.leaf("localhost", |_| {});
    let (client_cert, client_key) = stranger.leaf("client", |p| {
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    });
    let mut client_config = pki.client_config();
    client_config.local_certificate_chain = vec![client_cert.clone()];
    client_config.private_key = Some(client_key);
    let mut server_config = server_config(&cert, &key);
    server_config.ca_certificates = vec![pki.ca.clone()];
    let client_context = RustlsContext::new(&client_config, Role::Client).unwrap();
    let server_context = RustlsContext::new(&server_config, Role::Server).unwrap();

    let (_, original) = connect(&client_context, &server_context, "localhost");
    assert_eq!(kinds(&original), vec![SslErrorKind::UnableToGetLocalIssuerCertificate]);
    let validations = server_context.path_validations();

    let (_, resumed) = connect(&client_context, &server_context, "localhost");
    assert_eq!(resumed.is_resumed(), Some(true));
    assert_eq!(resumed.peer_certificate_chain(), vec![client_cert]);
    assert_eq!(resumed.verification_errors(), original.verification_errors());
    assert_eq!(server_context.path_validations(), validations, "the verdict is reused");
}

#[test]
fn resumed_sessions_take_the_verdict_of_their_own_peer_name() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let client_context = RustlsContext::new(&pki.client_config(), Role::Client).unwrap();
    let server_context = RustlsContext::new(&server_config(&cert, &key), Role::Server).unwrap();
    // One chain, verified for two names: two verdicts.
    for name in ["localhost", "example.com"] {
        connect(&client_context, &server_context, name);
    }
    assert_eq!(client_context.path_validations(), 2);

    let (trusted, _) = connect(&client_context, &server_context, "localhost");
    let (mismatched, _) = connect(&client_context, &server_context, "example.com");

    assert_eq!((trusted.is_resumed(), mismatched.is_resumed()), (Some(true), Some(true)));
    assert_eq!(kinds(&trusted), vec![]);
    assert_eq!(kinds(&mismatched), vec![SslErrorKind::HostNameMismatch]);
    assert_eq!(client_context.path_validations(), 2);
}

#[test]
fn resumed_session_validates_again_once_the_verdict_is_a_minute_old() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let clock = TestClock::starting_at(1_893_456_000); // 2030-01-01T00:00:00Z
    let client_context = clock.context(&pki.client_config(), Role::Client);
    let server_context = clock.context(&server_config(&cert, &key), Role::Server);

    connect(&client_context, &server_context, "localhost");
    assert_eq!(client_context.path_validations(), 1);

    clock.advance(59);
    let (resumed, _) = connect(&client_context, &server_context, "localhost");
    assert_eq!(resumed.is_resumed(), Some(true));
    assert_eq!(client_context.path_validations(), 1, "59 s old: reused");

    clock.advance(1);
    let (resumed, _) = connect(&client_context, &server_context, "localhost");
    assert_eq!(resumed.is_resumed(), Some(true));
    assert_eq!(kinds(&resumed), vec![]);
    assert_eq!(client_context.path_validations(), 2, "60 s old: validated again");

    clock.advance(30);
    connect(&client_context, &server_context, "localhost");
    assert_eq!(client_context.path_validations(), 2, "the new verdict is reused in turn");
}

#[test]
fn certificate_expiring_after_the_original_handshake_is_reported_within_a_minute() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |p| {
        p.not_after = rcgen::date_time_ymd(2030, 1, 1);
    });
    // 30 s before the certificate expires.
    let clock = TestClock::starting_at(1_893_456_000 - 30);
    let client_context = clock.context(&pki.client_config(), Role::Client);
    let server_context = clock.context(&server_config(&cert, &key), Role::Server);

    let (original, _) = connect(&client_context, &server_context, "localhost");
    assert_eq!(kinds(&original), vec![]);

    clock.advance(61);
    let (resumed, _) = connect(&client_context, &server_context, "localhost");
    assert_eq!(resumed.is_resumed(), Some(true));
    assert_eq!(kinds(&resumed), vec![SslErrorKind::CertificateExpired]);
}

// ---------------------------------------------------------------------------------------------
// Configuration

#[test]
fn tls10_configuration_is_unsupported() {
    for protocol in [SslProtocol::TlsV1_0, SslProtocol::TlsV1_1, SslProtocol::UnknownProtocol] {
        let config = SslConfiguration { protocol, ..SslConfiguration::default() };
        let err = RustlsBackend.new_context(&config, Role::Client).unwrap_err();
        assert_eq!(err, ConfigError::UnsupportedProtocol { backend: "rustls", protocol });
    }
}

#[test]
fn unknown_cipher_is_rejected() {
    let cipher = SslCipher::from_iana_name("TLS_RSA_WITH_AES_128_CBC_SHA").unwrap();
    let config = SslConfiguration { ciphers: vec![cipher], ..SslConfiguration::default() };
    let err = RustlsBackend.new_context(&config, Role::Client).unwrap_err();
    assert!(matches!(err, ConfigError::UnknownCipher { backend: "rustls", .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// Capabilities

#[test]
fn capabilities_describe_rustls() {
    let backend = RustlsBackend::new();
    assert_eq!(backend.name(), "rustls");
    assert_eq!(backend.availability(), Ok(()));
    let version = backend.library_version_string();
    assert!(version.starts_with("rustls 0.23.") && version.ends_with(" (aws-lc-rs)"), "{version}");
    assert_eq!(backend.library_build_version_string(), version);
    let number = backend.library_version_number();
    assert!((2300..2400).contains(&number), "{number}");

    let protocols = backend.supported_protocols();
    assert!(protocols.contains(&SslProtocol::AnyProtocol));
    assert!(protocols.contains(&SslProtocol::SecureProtocols));
    assert!(!protocols.contains(&SslProtocol::TlsV1_0));
    assert!(!protocols.contains(&SslProtocol::UnknownProtocol));

    let names: Vec<String> = backend.supported_ciphers().into_iter().map(|c| c.name).collect();
    assert!(names.contains(&"TLS_AES_128_GCM_SHA256".to_owned()), "{names:?}");
    assert!(names.contains(&"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384".to_owned()), "{names:?}");

    let features = backend.features();
    assert!(features.contains(Feature::CertificateVerification));
    assert!(!features.contains(Feature::DetailedVerifyErrors));
    assert!(features.contains(Feature::KeyLog));
    assert!(!features.contains(Feature::Psk));
}

#[test]
fn types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<RustlsBackend>();
    send_sync::<RustlsContext>();
    send::<RustlsSession>();
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// A client and a server session of these contexts after their handshake and a message each
/// way (which carries TLS 1.3 tickets to the client).
fn connect(
    client_context: &RustlsContext,
    server_context: &RustlsContext,
    peer_name: &str,
) -> (RustlsSession, RustlsSession) {
    let mut client = client_context.session(Some(peer_name)).unwrap();
    let mut server = server_context.session(None).unwrap();
    handshake(&mut client, &mut server).unwrap();
    exchange_data(&mut client, &mut server);
    (client, server)
}

/// A clock that moves only when told to, shared by the contexts made with it.
#[derive(Debug, Clone)]
struct TestClock(Arc<AtomicU64>);

impl TestClock {
    /// A clock showing `secs` seconds after the Unix epoch.
    fn starting_at(secs: u64) -> TestClock {
        TestClock(Arc::new(AtomicU64::new(secs)))
    }

    fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }

    /// A context for `config` and `role` whose rustls config and trust checks read this clock.
    fn context(&self, config: &SslConfiguration, role: Role) -> RustlsContext {
        RustlsContext::with_time_provider(config, role, Arc::new(self.clone())).unwrap()
    }
}

impl TimeProvider for TestClock {
    fn current_time(&self) -> Option<UnixTime> {
        let secs = self.0.load(Ordering::SeqCst);
        Some(UnixTime::since_unix_epoch(Duration::from_secs(secs)))
    }
}
