//! Sessions of the rustls backend, pumped against each other over in-memory buffers.
//! Certificates are generated per run with rcgen.
#![allow(clippy::unwrap_used)]

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use backend_rustls::{RustlsBackend, RustlsContext, RustlsSession};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::UnixTime;
use rustls::time_provider::TimeProvider;
use ssl_api::testing::{exchange_data, handshake, transfer, Side};
use ssl_api::{
    ConfigError, Feature, KeyFormat, PeerVerifyMode, Role, SslBackend, SslCertificate, SslCipher,
    SslConfiguration, SslErrorKind, SslKey, SslProtocol, SslSession, TlsErrorKind, TlsVersion,
};

// ---------------------------------------------------------------------------------------------
// Handshakes and data

#[test]
fn tls12_handshake_carries_data_both_ways() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let mut client_config = pki.client_config();
    client_config.protocol = SslProtocol::TlsV1_2;
    let (mut client, mut server) = pair(&client_config, &server_config(&cert, &key), "localhost");

    handshake(&mut client, &mut server).unwrap();

    assert_eq!(client.protocol_version(), Some(TlsVersion::Tls1_2));
    assert_eq!(server.protocol_version(), Some(TlsVersion::Tls1_2));
    assert_eq!(client.cipher().unwrap().protocol, SslProtocol::TlsV1_2);
    assert_eq!(client.cipher(), server.cipher());
    assert_eq!(client.verification_errors(), Some(&[][..]));
    assert_eq!(client.peer_certificate_chain(), vec![cert]);
    assert_eq!(server.server_name().as_deref(), Some("localhost"));
    exchange_data(&mut client, &mut server);
}

#[test]
fn tls13_handshake_carries_data_both_ways() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let mut server_config = server_config(&cert, &key);
    server_config.protocol = SslProtocol::TlsV1_3;
    let (mut client, mut server) = pair(&pki.client_config(), &server_config, "localhost");

    handshake(&mut client, &mut server).unwrap();

    assert_eq!(client.protocol_version(), Some(TlsVersion::Tls1_3));
    let cipher = client.cipher().unwrap();
    assert_eq!(cipher.protocol, SslProtocol::TlsV1_3);
    assert!(cipher.name.starts_with("TLS_"), "{}", cipher.name);
    assert_eq!(client.verification_errors(), Some(&[][..]));
    exchange_data(&mut client, &mut server);
}

#[test]
fn close_notify_reads_as_end_of_stream() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let (mut client, mut server) =
        pair(&pki.client_config(), &server_config(&cert, &key), "localhost");
    handshake(&mut client, &mut server).unwrap();

    let mut buf = [0u8; 16];
    assert_eq!(server.read_plaintext(&mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
    client.send_close_notify();
    transfer(&mut client, &mut server).unwrap();
    assert_eq!(server.read_plaintext(&mut buf).unwrap(), 0);
}

#[test]
fn protocol_mismatch_fails_instead_of_hanging() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let mut client_config = pki.client_config();
    client_config.protocol = SslProtocol::TlsV1_3;
    let mut server_config = server_config(&cert, &key);
    server_config.protocol = SslProtocol::TlsV1_2;
    let (mut client, mut server) = pair(&client_config, &server_config, "localhost");

    let (side, err) = handshake(&mut client, &mut server).unwrap_err();
    assert_eq!((side, err.kind), (Side::Server, TlsErrorKind::NoCommonParameters), "{err}");

    // The server's alert reaches the client as an error too.
    let err = transfer(&mut server, &mut client).unwrap_err();
    assert_eq!(err.kind, TlsErrorKind::AlertReceived, "{err}");
}

#[test]
fn garbage_from_the_peer_is_an_invalid_message() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let context = RustlsContext::new(&server_config(&cert, &key), Role::Server).unwrap();
    let mut server = context.session(None).unwrap();

    let mut garbage: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    server.read_tls(&mut garbage).unwrap();
    let err = server.process_new_packets().unwrap_err();
    assert_eq!(err.kind, TlsErrorKind::InvalidMessage, "{err}");
}

#[test]
fn alpn_protocol_is_negotiated() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let mut client_config = pki.client_config();
    client_config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let mut server_config = server_config(&cert, &key);
    server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let (mut client, mut server) = pair(&client_config, &server_config, "localhost");

    handshake(&mut client, &mut server).unwrap();

    assert_eq!(client.alpn_protocol().as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(server.alpn_protocol().as_deref(), Some(&b"http/1.1"[..]));
}

#[test]
fn configured_ciphers_restrict_the_negotiated_suite() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let mut client_config = pki.client_config();
    client_config.ciphers =
        vec![SslCipher::from_iana_name("TLS_CHACHA20_POLY1305_SHA256").unwrap()];
    let (mut client, mut server) = pair(&client_config, &server_config(&cert, &key), "localhost");

    handshake(&mut client, &mut server).unwrap();

    assert_eq!(server.cipher().unwrap().name, "TLS_CHACHA20_POLY1305_SHA256");
}

// ---------------------------------------------------------------------------------------------
// Verification: recorded, never fatal

#[test]
fn expired_certificate_is_recorded_and_handshake_completes() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |p| {
        p.not_before = rcgen::date_time_ymd(2000, 1, 1);
        p.not_after = rcgen::date_time_ymd(2001, 1, 1);
    });
    let (mut client, mut server) =
        pair(&pki.client_config(), &server_config(&cert, &key), "localhost");

    handshake(&mut client, &mut server).unwrap();

    assert_eq!(kinds(&client), vec![SslErrorKind::CertificateExpired]);
    assert_eq!(client.verification_errors().unwrap()[0].certificate, Some(cert));
}

#[test]
fn wrong_host_name_is_a_host_name_mismatch() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let (mut client, mut server) =
        pair(&pki.client_config(), &server_config(&cert, &key), "example.com");

    handshake(&mut client, &mut server).unwrap();

    assert_eq!(kinds(&client), vec![SslErrorKind::HostNameMismatch]);
    assert_eq!(server.server_name().as_deref(), Some("example.com"));
}

#[test]
fn self_signed_certificate_for_another_name_reports_both_errors() {
    let pki = Pki::new();
    let (cert, key) = self_signed("localhost");
    let (mut client, mut server) =
        pair(&pki.client_config(), &server_config(&cert, &key), "example.com");

    handshake(&mut client, &mut server).unwrap();

    assert_eq!(
        kinds(&client),
        vec![SslErrorKind::SelfSignedCertificate, SslErrorKind::HostNameMismatch]
    );
}

#[test]
fn unknown_issuer_is_unable_to_get_local_issuer_certificate() {
    let pki = Pki::new();
    let stranger = Pki::named("stranger CA");
    let (cert, key) = stranger.leaf("localhost", |_| {});
    let (mut client, mut server) =
        pair(&pki.client_config(), &server_config(&cert, &key), "localhost");

    handshake(&mut client, &mut server).unwrap();

    assert_eq!(kinds(&client), vec![SslErrorKind::UnableToGetLocalIssuerCertificate]);
}

#[test]
fn certificate_from_an_impostor_of_a_trusted_ca_is_a_signature_failure() {
    let pki = Pki::new();
    let impostor = Pki::new(); // same name, other key
    let (cert, key) = impostor.leaf("localhost", |_| {});
    let (mut client, mut server) =
        pair(&pki.client_config(), &server_config(&cert, &key), "localhost");

    handshake(&mut client, &mut server).unwrap();

    assert_eq!(kinds(&client), vec![SslErrorKind::CertificateSignatureFailed]);
}

#[test]
fn untrusted_self_signed_root_sent_in_chain_is_self_signed_in_chain() {
    let pki = Pki::new();
    let stranger = Pki::named("stranger CA");
    let (cert, key) = stranger.leaf("localhost", |_| {});
    let mut server_config = server_config(&cert, &key);
    server_config.local_certificate_chain.push(stranger.ca.clone());
    let (mut client, mut server) = pair(&pki.client_config(), &server_config, "localhost");

    handshake(&mut client, &mut server).unwrap();

    assert_eq!(kinds(&client), vec![SslErrorKind::SelfSignedCertificateInChain]);
    assert_eq!(client.peer_certificate_chain(), vec![cert, stranger.ca]);
}

#[test]
fn server_certificate_for_client_auth_only_is_invalid_purpose() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |p| {
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    });
    let (mut client, mut server) =
        pair(&pki.client_config(), &server_config(&cert, &key), "localhost");

    handshake(&mut client, &mut server).unwrap();

    assert_eq!(kinds(&client), vec![SslErrorKind::InvalidPurpose]);
}

#[test]
fn ip_address_peer_name_is_checked_against_ip_sans() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("127.0.0.1", |_| {});
    let server_config = server_config(&cert, &key);

    let (mut client, mut server) = pair(&pki.client_config(), &server_config, "127.0.0.1");
    handshake(&mut client, &mut server).unwrap();
    assert_eq!(kinds(&client), vec![]);
    assert_eq!(server.server_name(), None, "no SNI is sent for an IP address");

    let (mut client, mut server) = pair(&pki.client_config(), &server_config, "127.0.0.2");
    handshake(&mut client, &mut server).unwrap();
    assert_eq!(kinds(&client), vec![SslErrorKind::HostNameMismatch]);
}

#[test]
fn verify_none_accepts_anything_without_errors() {
    let pki = Pki::new();
    let (cert, key) = self_signed("localhost");
    let mut client_config = pki.client_config();
    client_config.peer_verify_mode = PeerVerifyMode::VerifyNone;
    let (mut client, mut server) =
        pair(&client_config, &server_config(&cert, &key), "wrong.example");

    handshake(&mut client, &mut server).unwrap();

    assert_eq!(client.verification_errors(), None);
    assert_eq!(client.peer_certificate_chain(), vec![cert]);
    exchange_data(&mut client, &mut server);
}

// ---------------------------------------------------------------------------------------------
// Client certificates

#[test]
fn server_records_the_client_certificate_errors() {
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
    let (mut client, mut server) = pair(&client_config, &server_config, "localhost");

    handshake(&mut client, &mut server).unwrap();

    // AutoVerifyPeer is QueryPeer on a server: requested, verified, recorded, not fatal.
    assert_eq!(kinds(&server), vec![SslErrorKind::UnableToGetLocalIssuerCertificate]);
    assert_eq!(server.peer_certificate_chain(), vec![client_cert]);
    assert_eq!(kinds(&client), vec![]);
}

#[test]
fn server_trusts_a_client_certificate_from_its_ca() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let (client_cert, client_key) = pki.leaf("client", |p| {
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    });
    let mut client_config = pki.client_config();
    client_config.local_certificate_chain = vec![client_cert];
    client_config.private_key = Some(client_key);
    let mut server_config = server_config(&cert, &key);
    server_config.ca_certificates = vec![pki.ca.clone()];
    let (mut client, mut server) = pair(&client_config, &server_config, "localhost");

    handshake(&mut client, &mut server).unwrap();

    assert_eq!(server.verification_errors(), Some(&[][..]));
}

#[test]
fn client_without_certificate_leaves_server_verification_empty() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let mut server_config = server_config(&cert, &key);
    server_config.peer_verify_mode = PeerVerifyMode::VerifyPeer;
    server_config.ca_certificates = vec![pki.ca.clone()];
    let (mut client, mut server) = pair(&pki.client_config(), &server_config, "localhost");

    handshake(&mut client, &mut server).unwrap();

    assert_eq!(server.verification_errors(), None);
    assert!(server.peer_certificate_chain().is_empty());
}

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
fn server_without_key_is_missing_identity() {
    let err = RustlsBackend.new_context(&SslConfiguration::default(), Role::Server).unwrap_err();
    assert_eq!(err, ConfigError::MissingIdentity);

    let (cert, _) = self_signed("localhost");
    let config = SslConfiguration { local_certificate_chain: vec![cert], ..Default::default() };
    let err = RustlsBackend.new_context(&config, Role::Server).unwrap_err();
    assert_eq!(err, ConfigError::MissingIdentity);
}

#[test]
fn key_of_another_certificate_is_key_mismatch() {
    let (cert, _) = self_signed("localhost");
    let (_, other_key) = self_signed("localhost");
    let config = server_config(&cert, &other_key);
    for role in [Role::Server, Role::Client] {
        let err = RustlsBackend.new_context(&config, role).unwrap_err();
        assert_eq!(err, ConfigError::KeyMismatch, "{role:?}");
    }
}

#[test]
fn unknown_cipher_is_rejected() {
    let cipher = SslCipher::from_iana_name("TLS_RSA_WITH_AES_128_CBC_SHA").unwrap();
    let config = SslConfiguration { ciphers: vec![cipher], ..SslConfiguration::default() };
    let err = RustlsBackend.new_context(&config, Role::Client).unwrap_err();
    assert!(matches!(err, ConfigError::UnknownCipher { backend: "rustls", .. }), "{err:?}");
}

#[test]
fn client_needs_a_valid_peer_name() {
    let context = RustlsBackend.new_context(&SslConfiguration::default(), Role::Client).unwrap();
    for name in [None, Some(""), Some("not a host name")] {
        let err = context.new_session(name).unwrap_err();
        assert!(matches!(err, ConfigError::InvalidPeerName(_)), "{name:?}: {err:?}");
    }
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
fn every_supported_protocol_builds_a_context() {
    for protocol in RustlsBackend.supported_protocols() {
        let config = SslConfiguration { protocol, ..SslConfiguration::default() };
        RustlsBackend.new_context(&config, Role::Client).unwrap();
    }
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

/// A test certificate authority.
struct Pki {
    ca: SslCertificate,
    issuer: Issuer<'static, KeyPair>,
}

impl Pki {
    fn new() -> Pki {
        Pki::named("sslsocket test CA")
    }

    /// A CA whose name is `name`. webpki picks issuers by name, so a CA meant to be unknown
    /// needs a name of its own: under a trusted CA's name it would be a bad signature instead.
    fn named(name: &str) -> Pki {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).unwrap();
        Pki { ca: SslCertificate::from_der(cert.der()).unwrap(), issuer: Issuer::new(params, key) }
    }

    /// A certificate for `name` signed by this CA, after `tweak` has adjusted its parameters.
    fn leaf(
        &self,
        name: &str,
        tweak: impl FnOnce(&mut CertificateParams),
    ) -> (SslCertificate, SslKey) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        tweak(&mut params);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (SslCertificate::from_der(cert.der()).unwrap(), ssl_key(&key))
    }

    /// A client configuration trusting this CA only.
    fn client_config(&self) -> SslConfiguration {
        SslConfiguration {
            ca_certificates: vec![self.ca.clone()],
            system_ca_certificates: false,
            ..SslConfiguration::default()
        }
    }
}

fn self_signed(name: &str) -> (SslCertificate, SslKey) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    (SslCertificate::from_der(cert.der()).unwrap(), ssl_key(&key))
}

fn ssl_key(key: &KeyPair) -> SslKey {
    SslKey::private_key_from_der(key.serialize_der().as_slice(), KeyFormat::Pkcs8).unwrap()
}

fn server_config(cert: &SslCertificate, key: &SslKey) -> SslConfiguration {
    SslConfiguration {
        local_certificate_chain: vec![cert.clone()],
        private_key: Some(key.clone()),
        system_ca_certificates: false,
        ..SslConfiguration::default()
    }
}

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

/// A client and a server session, each from its own fresh context.
fn pair(
    client: &SslConfiguration,
    server: &SslConfiguration,
    peer_name: &str,
) -> (RustlsSession, RustlsSession) {
    let client = RustlsContext::new(client, Role::Client).unwrap().session(Some(peer_name));
    let server = RustlsContext::new(server, Role::Server).unwrap().session(None);
    (client.unwrap(), server.unwrap())
}

fn kinds(session: &dyn SslSession) -> Vec<SslErrorKind> {
    let errors = session.verification_errors().expect("the peer's certificate was verified");
    errors.iter().map(|e| e.kind).collect()
}
