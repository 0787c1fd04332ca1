//! Sessions of the OpenSSL backend, pumped against each other over in-memory buffers.
//! Certificates are generated per run with rcgen. The handshake, data, verification and
//! configuration cases this backend shares with rustls are `ssl_api::testing::sessions`'s;
//! here follows what only this backend does: several errors per chain, verify depth, TLS 1.0
//! and 1.1, cipher selection by IANA name for both families, and resumption.
#![allow(clippy::unwrap_used)]

use std::io;

use backend_openssl::{OpensslBackend, OpensslContext, OpensslSession};
use rcgen::ExtendedKeyUsagePurpose;
use ssl_api::testing::sessions::{kinds, server_config, Pki};
use ssl_api::testing::{exchange_data, handshake, transfer, Side};
use ssl_api::{
    ConfigError, Feature, KeyFormat, Role, SslBackend, SslCipher, SslConfiguration, SslErrorKind,
    SslKey, SslProtocol, SslSession, TlsErrorKind, TlsVersion,
};

ssl_api::sessions_tests!(OpensslBackend, classifies_errors: true, verification_recorded);

// ---------------------------------------------------------------------------------------------
// Configuration

#[test]
fn unknown_protocol_is_unsupported() {
    let config =
        SslConfiguration { protocol: SslProtocol::UnknownProtocol, ..SslConfiguration::default() };
    let err = OpensslBackend.new_context(&config, Role::Client).unwrap_err();
    let protocol = SslProtocol::UnknownProtocol;
    assert_eq!(err, ConfigError::UnsupportedProtocol { backend: "openssl", protocol });
}

#[test]
fn unknown_cipher_is_rejected() {
    // A registered suite (0xD001) that libssl does not implement.
    let cipher = SslCipher::from_iana_name("TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256").unwrap();
    let config = SslConfiguration { ciphers: vec![cipher], ..SslConfiguration::default() };
    let err = OpensslBackend.new_context(&config, Role::Client).unwrap_err();
    assert!(matches!(err, ConfigError::UnknownCipher { backend: "openssl", .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// What only OpenSSL does: several errors per chain, each with its certificate

#[test]
fn expired_leaf_from_an_unknown_ca_reports_both_errors_for_the_leaf() {
    let pki = Pki::new();
    let stranger = Pki::named("stranger CA");
    let (cert, key) = stranger.leaf("localhost", |p| {
        p.not_before = rcgen::date_time_ymd(2000, 1, 1);
        p.not_after = rcgen::date_time_ymd(2001, 1, 1);
    });
    let (mut client, mut server) =
        pair(&pki.client_config(), &server_config(&cert, &key), "localhost");

    handshake(&mut client, &mut server).unwrap();

    let errors = client.verification_errors().unwrap();
    let kinds: Vec<SslErrorKind> = errors.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![SslErrorKind::UnableToGetLocalIssuerCertificate, SslErrorKind::CertificateExpired]
    );
    assert!(errors.iter().all(|e| e.certificate.as_ref() == Some(&cert)), "{errors:?}");
}

#[test]
fn expired_intermediate_is_reported_with_the_intermediate() {
    let root = Pki::new();
    let intermediate = root.intermediate("expired intermediate", |p| {
        p.not_before = rcgen::date_time_ymd(2000, 1, 1);
        p.not_after = rcgen::date_time_ymd(2001, 1, 1);
    });
    let (cert, key) = intermediate.leaf("localhost", |_| {});
    let mut server_config = server_config(&cert, &key);
    server_config.local_certificate_chain.push(intermediate.ca.clone());
    let (mut client, mut server) = pair(&root.client_config(), &server_config, "localhost");

    handshake(&mut client, &mut server).unwrap();

    let errors = client.verification_errors().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind, SslErrorKind::CertificateExpired);
    assert_eq!(errors[0].certificate.as_ref(), Some(&intermediate.ca));
    assert_eq!(client.peer_certificate_chain(), vec![cert, intermediate.ca]);
}

#[test]
fn verify_depth_counts_the_leaf_and_not_the_anchor() {
    let root = Pki::new();
    let intermediate = root.intermediate("intermediate CA", |_| {});
    let (cert, key) = intermediate.leaf("localhost", |_| {});
    let mut server_config = server_config(&cert, &key);
    server_config.local_certificate_chain.push(intermediate.ca.clone());

    // The path is leaf + intermediate (2 certificates) under the trusted root. At depth 1
    // OpenSSL stops building the path after the leaf's issuer, so that issuer is both too far
    // and without an issuer of its own.
    let too_long =
        vec![SslErrorKind::PathLengthExceeded, SslErrorKind::UnableToGetLocalIssuerCertificate];
    for (depth, expected) in [(0, vec![]), (1, too_long), (2, vec![]), (3, vec![])] {
        let mut client_config = root.client_config();
        client_config.peer_verify_depth = depth;
        let (mut client, mut server) = pair(&client_config, &server_config, "localhost");
        handshake(&mut client, &mut server).unwrap();
        assert_eq!(kinds(&client), expected, "depth {depth}: {:?}", client.verification_errors());
        let errors = client.verification_errors().unwrap();
        assert!(errors.iter().all(|e| e.certificate.as_ref() == Some(&intermediate.ca)));
    }
}

#[test]
fn server_sees_the_client_chain_leaf_first() {
    let root = Pki::new();
    let intermediate = root.intermediate("client intermediate", |_| {});
    let (cert, key) = root.leaf("localhost", |_| {});
    let (client_cert, client_key) = intermediate.leaf("client", |p| {
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    });
    let mut client_config = root.client_config();
    client_config.local_certificate_chain = vec![client_cert.clone(), intermediate.ca.clone()];
    client_config.private_key = Some(client_key);
    let mut server_config = server_config(&cert, &key);
    server_config.ca_certificates = vec![root.ca.clone()];
    let (mut client, mut server) = pair(&client_config, &server_config, "localhost");

    handshake(&mut client, &mut server).unwrap();

    assert_eq!(server.verification_errors(), Some(&[][..]));
    assert_eq!(server.peer_certificate_chain(), vec![client_cert, intermediate.ca]);
}

// ---------------------------------------------------------------------------------------------
// What only OpenSSL does: TLS 1.0 and 1.1, cipher selection for both families

#[test]
fn tls10_only_is_refused_before_any_byte_at_the_default_security_level() {
    let level = libssl_common::levels::default_security_level().unwrap();
    assert!(level >= 1, "this test needs a library whose default level refuses TLS 1.0");
    for protocol in [SslProtocol::TlsV1_0, SslProtocol::TlsV1_1] {
        let config = SslConfiguration { protocol, ..SslConfiguration::default() };
        for role in [Role::Client, Role::Server] {
            let err = OpensslContext::new(&config, role).unwrap_err();
            let expected = ConfigError::ProtocolBelowSecurityLevel {
                backend: "openssl",
                protocol,
                security_level: level,
            };
            assert_eq!(err, expected, "{protocol} {role:?}");
        }
    }
}

#[test]
fn tls10_or_later_at_the_default_level_negotiates_tls12_or_later() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    for protocol in
        [SslProtocol::TlsV1_0OrLater, SslProtocol::TlsV1_1OrLater, SslProtocol::AnyProtocol]
    {
        let mut client_config = pki.client_config();
        client_config.protocol = protocol;
        let mut server_config = server_config(&cert, &key);
        server_config.protocol = SslProtocol::TlsV1_0OrLater;
        let (mut client, mut server) = pair(&client_config, &server_config, "localhost");

        handshake(&mut client, &mut server).unwrap();

        assert_eq!(client.protocol_version(), Some(TlsVersion::Tls1_3), "{protocol}");
    }
}

#[test]
fn tls10_client_with_weak_crypto_against_a_default_server_fails_with_a_typed_error() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let mut client_config = pki.client_config();
    client_config.protocol = SslProtocol::TlsV1_0;
    client_config.danger_allow_weak_crypto = true;
    let (mut client, mut server) = pair(&client_config, &server_config(&cert, &key), "localhost");

    let (side, err) = handshake(&mut client, &mut server).unwrap_err();
    assert_eq!((side, err.kind), (Side::Server, TlsErrorKind::NoCommonParameters), "{err}");
    let err = transfer(&mut server, &mut client).unwrap_err();
    assert_eq!(err.kind, TlsErrorKind::AlertReceived, "{err}");
    assert_eq!(client.protocol_version(), None, "never silently upgraded");
}

#[test]
fn tls10_and_tls11_with_weak_crypto_on_both_sides_are_negotiated() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    for (protocol, version) in
        [(SslProtocol::TlsV1_0, TlsVersion::Tls1_0), (SslProtocol::TlsV1_1, TlsVersion::Tls1_1)]
    {
        let mut client_config = pki.client_config();
        client_config.protocol = protocol;
        client_config.danger_allow_weak_crypto = true;
        let mut server_config = server_config(&cert, &key);
        server_config.protocol = SslProtocol::TlsV1_0OrLater;
        server_config.danger_allow_weak_crypto = true;
        let (mut client, mut server) = pair(&client_config, &server_config, "localhost");

        handshake(&mut client, &mut server).unwrap();

        assert_eq!(client.protocol_version(), Some(version));
        assert_eq!(server.protocol_version(), Some(version));
        assert_eq!(client.verification_errors(), Some(&[][..]));
        exchange_data(&mut client, &mut server);
    }
}

/// An RSA-1024 server (which needs the setting itself: libssl refuses to load a key below its
/// level) against clients asking for every protocol range: only the client's own
/// `danger_allow_weak_crypto` accepts the key; naming TLS 1.0 does not.
#[test]
fn a_weak_server_key_is_reported_as_key_too_small_unless_weak_crypto_is_allowed() {
    let pki = Pki::new();
    let rsa = openssl::rsa::Rsa::generate(1024).unwrap();
    let cert = pki.leaf_for_rsa_key("localhost", &rsa.public_key_to_der_pkcs1().unwrap());
    let key =
        SslKey::private_key_from_der(&rsa.private_key_to_der().unwrap(), KeyFormat::Pkcs1).unwrap();
    let mut weak_server = server_config(&cert, &key);
    weak_server.protocol = SslProtocol::AnyProtocol;
    let err = OpensslContext::new(&server_config(&cert, &key), Role::Server).unwrap_err();
    assert!(matches!(err, ConfigError::Engine { .. }), "{err:?}");
    weak_server.danger_allow_weak_crypto = true;

    for protocol in [
        SslProtocol::SecureProtocols,
        SslProtocol::TlsV1_0OrLater,
        SslProtocol::TlsV1_1OrLater,
        SslProtocol::AnyProtocol,
    ] {
        for danger in [false, true] {
            let mut client_config = pki.client_config();
            client_config.protocol = protocol;
            client_config.danger_allow_weak_crypto = danger;
            let (mut client, mut server) = pair(&client_config, &weak_server, "localhost");

            handshake(&mut client, &mut server).unwrap();

            let expected: &[SslErrorKind] = if danger { &[] } else { &[SslErrorKind::KeyTooSmall] };
            assert_eq!(kinds(&client), expected, "{protocol} danger={danger}");
            assert_eq!(client.protocol_version(), Some(TlsVersion::Tls1_3), "{protocol}");
        }
    }
}

#[test]
fn tls12_cipher_is_selected_by_its_iana_name() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    for name in
        ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"]
    {
        let mut server_config = server_config(&cert, &key);
        server_config.ciphers = vec![SslCipher::from_iana_name(name).unwrap()];
        let (mut client, mut server) = pair(&pki.client_config(), &server_config, "localhost");

        handshake(&mut client, &mut server).unwrap();

        assert_eq!(client.protocol_version(), Some(TlsVersion::Tls1_2), "{name}");
        assert_eq!(client.cipher().unwrap().name, name);
        assert_eq!(server.cipher(), client.cipher());
    }
}

#[test]
fn tls13_cipher_is_selected_by_its_iana_name() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let mut server_config = server_config(&cert, &key);
    server_config.ciphers = vec![SslCipher::from_iana_name("TLS_AES_256_GCM_SHA384").unwrap()];
    let (mut client, mut server) = pair(&pki.client_config(), &server_config, "localhost");

    handshake(&mut client, &mut server).unwrap();

    assert_eq!(client.protocol_version(), Some(TlsVersion::Tls1_3));
    let cipher = client.cipher().unwrap();
    assert_eq!((cipher.name.as_str(), cipher.used_bits), ("TLS_AES_256_GCM_SHA384", 256));
}

#[test]
fn cipher_list_without_suites_for_the_allowed_versions_is_refused() {
    let tls13 = SslCipher::from_iana_name("TLS_AES_128_GCM_SHA256").unwrap();
    let config = SslConfiguration {
        protocol: SslProtocol::TlsV1_2,
        ciphers: vec![tls13],
        ..SslConfiguration::default()
    };
    let err = OpensslBackend.new_context(&config, Role::Client).unwrap_err();
    assert!(matches!(err, ConfigError::Engine { backend: "openssl", .. }), "{err:?}");
}

#[test]
fn alpn_without_a_common_protocol_fails_the_handshake() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let mut client_config = pki.client_config();
    client_config.alpn_protocols = vec![b"h2".to_vec()];
    let mut server_config = server_config(&cert, &key);
    server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let (mut client, mut server) = pair(&client_config, &server_config, "localhost");

    let (side, err) = handshake(&mut client, &mut server).unwrap_err();
    assert_eq!((side, err.kind), (Side::Server, TlsErrorKind::NoCommonParameters), "{err}");
    let err = transfer(&mut server, &mut client).unwrap_err();
    assert_eq!(err.kind, TlsErrorKind::AlertReceived, "{err}");
}

// ---------------------------------------------------------------------------------------------
// Data, end of stream, resumption

#[test]
fn a_mebibyte_crosses_and_decrypted_data_pauses_reading() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let (mut client, mut server) =
        pair(&pki.client_config(), &server_config(&cert, &key), "localhost");
    handshake(&mut client, &mut server).unwrap();

    let data: Vec<u8> = (0..1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    let mut sent = 0;
    let mut received = Vec::new();
    let mut buf = vec![0u8; 10_000];
    for _ in 0..10_000 {
        if sent < data.len() {
            sent += client.write_plaintext(&data[sent..]).unwrap();
        }
        let mut wire = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut wire).unwrap();
        }
        let mut input = wire.as_slice();
        while !input.is_empty() {
            if server.wants_read() {
                server.read_tls(&mut input).unwrap();
                server.process_new_packets().unwrap();
                continue;
            }
            // Decrypted bytes wait: the session takes no more ciphertext until they are read.
            let n = server.read_plaintext(&mut buf).unwrap();
            received.extend_from_slice(&buf[..n]);
        }
        while let Ok(n) = server.read_plaintext(&mut buf) {
            received.extend_from_slice(&buf[..n]);
        }
        if received.len() == data.len() {
            break;
        }
    }
    assert!(received == data, "{} of {} bytes", received.len(), data.len());
}

#[test]
fn transport_end_without_close_notify_is_unexpected_eof() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let (mut client, mut server) =
        pair(&pki.client_config(), &server_config(&cert, &key), "localhost");
    handshake(&mut client, &mut server).unwrap();

    let mut end: &[u8] = b"";
    assert_eq!(server.read_tls(&mut end).unwrap(), 0);
    let status = server.process_new_packets().unwrap();
    assert!(!status.peer_has_closed);
    let err = server.read_plaintext(&mut [0u8; 8]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
}

#[test]
fn errors_are_sticky() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let context = OpensslContext::new(&server_config(&cert, &key), Role::Server).unwrap();
    let mut server = context.session(None).unwrap();
    let mut garbage: &[u8] = &[0x47; 64];
    server.read_tls(&mut garbage).unwrap();
    let first = server.process_new_packets().unwrap_err();
    assert_eq!(server.process_new_packets().unwrap_err(), first);
    assert!(!server.wants_read());
}

/// One connection of `client_context` to `server_context` for `name`, with data both ways
/// (TLS 1.3 tickets travel after the handshake) and close_notify both ways (OpenSSL keeps a
/// session resumable only when its connection ended with one). Returns whether the client and
/// the server resumed, and the client's verification errors.
fn connect_and_close(
    client_context: &OpensslContext,
    server_context: &OpensslContext,
    name: &str,
) -> (bool, bool, Option<Vec<SslErrorKind>>) {
    let mut client = client_context.session(Some(name)).unwrap();
    let mut server = server_context.session(None).unwrap();
    handshake(&mut client, &mut server).unwrap();
    exchange_data(&mut client, &mut server);
    assert!(!client.peer_certificate_chain().is_empty());
    let errors = client.verification_errors().map(|e| e.iter().map(|e| e.kind).collect());
    client.send_close_notify();
    server.send_close_notify();
    transfer(&mut client, &mut server).unwrap();
    transfer(&mut server, &mut client).unwrap();
    (client.is_resumed(), server.is_resumed(), errors)
}

fn resumption_contexts(protocol: SslProtocol) -> (OpensslContext, OpensslContext) {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let client = SslConfiguration { protocol, ..pki.client_config() };
    let server = SslConfiguration { protocol, ..server_config(&cert, &key) };
    (
        OpensslContext::new(&client, Role::Client).unwrap(),
        OpensslContext::new(&server, Role::Server).unwrap(),
    )
}

/// A client context keeps the sessions its connections are given (TLS 1.2: at the end of the
/// handshake; TLS 1.3: the tickets after it) and offers them to its next session for the same
/// peer (`SSL_set_session`): both ends resume, and the resumed client reports the original
/// verification result (none, here) without running the verify callback.
#[test]
fn client_sessions_of_a_context_resume_with_tls_1_2_and_1_3() {
    for protocol in [SslProtocol::TlsV1_2, SslProtocol::TlsV1_3] {
        let (client_context, server_context) = resumption_contexts(protocol);
        let first = connect_and_close(&client_context, &server_context, "localhost");
        assert_eq!(first, (false, false, Some(vec![])), "{protocol:?}");
        for round in 0..3 {
            let next = connect_and_close(&client_context, &server_context, "localhost");
            assert_eq!(next, (true, true, Some(vec![])), "{protocol:?}, round {round}");
        }
    }
    assert!(OpensslBackend.features().contains(Feature::SessionTicket));
}

/// Sessions are kept per peer name: a session for one name is never offered to another.
#[test]
fn a_session_is_offered_only_to_the_peer_name_it_was_made_for() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |p| {
        p.subject_alt_names.push(rcgen::SanType::DnsName("other.test".try_into().unwrap()));
    });
    let client_context = OpensslContext::new(&pki.client_config(), Role::Client).unwrap();
    let server_context = OpensslContext::new(&server_config(&cert, &key), Role::Server).unwrap();
    connect_and_close(&client_context, &server_context, "localhost");
    let other = connect_and_close(&client_context, &server_context, "other.test");
    assert_eq!(other, (false, false, Some(vec![])));
    let again = connect_and_close(&client_context, &server_context, "localhost");
    assert_eq!(again, (true, true, Some(vec![])));
}

/// A resumed session reports the errors of the connection that made its session, so that the
/// socket decides about it as it did about the original (a rejected certificate is not
/// accepted through resumption).
#[test]
fn a_resumed_session_reports_the_verification_errors_of_the_session_it_resumes() {
    for protocol in [SslProtocol::TlsV1_2, SslProtocol::TlsV1_3] {
        let pki = Pki::new();
        let stranger = Pki::named("stranger CA");
        let (cert, key) = stranger.leaf("localhost", |_| {});
        let client = SslConfiguration { protocol, ..pki.client_config() };
        let client_context = OpensslContext::new(&client, Role::Client).unwrap();
        let server_context =
            OpensslContext::new(&server_config(&cert, &key), Role::Server).unwrap();
        let unknown_issuer = Some(vec![SslErrorKind::UnableToGetLocalIssuerCertificate]);
        let first = connect_and_close(&client_context, &server_context, "localhost");
        assert_eq!(first, (false, false, unknown_issuer.clone()), "{protocol:?}");
        for round in 0..2 {
            let next = connect_and_close(&client_context, &server_context, "localhost");
            assert_eq!(next, (true, true, unknown_issuer.clone()), "{protocol:?}, round {round}");
        }
    }
}

/// The client cache is bounded: it keeps the sessions of the 256 peers stored last, so the
/// first of 257 peers makes a full handshake again and the last resumes.
#[test]
fn the_client_cache_keeps_the_sessions_of_the_last_256_peers() {
    let (client_context, server_context) = {
        let pki = Pki::new();
        let (cert, key) = pki.leaf("localhost", |_| {});
        let client = SslConfiguration {
            peer_verify_mode: ssl_api::PeerVerifyMode::VerifyNone,
            ..pki.client_config()
        };
        (
            OpensslContext::new(&client, Role::Client).unwrap(),
            OpensslContext::new(&server_config(&cert, &key), Role::Server).unwrap(),
        )
    };
    let names: Vec<String> = (0..257).map(|i| format!("peer{i}.test")).collect();
    for name in &names {
        assert_eq!(connect_and_close(&client_context, &server_context, name), (false, false, None));
    }
    let last = connect_and_close(&client_context, &server_context, &names[256]);
    assert_eq!(last, (true, true, None));
    let first = connect_and_close(&client_context, &server_context, &names[0]);
    assert_eq!(first, (false, false, None));
}

/// A session whose connection did not end with close_notify is not resumable (OpenSSL marks
/// it so when the connection is freed): the next session makes a full handshake.
#[test]
fn a_session_dropped_without_close_notify_is_not_resumed() {
    let (client_context, server_context) = resumption_contexts(SslProtocol::TlsV1_3);
    {
        let mut client = client_context.session(Some("localhost")).unwrap();
        let mut server = server_context.session(None).unwrap();
        handshake(&mut client, &mut server).unwrap();
        exchange_data(&mut client, &mut server);
    }
    let next = connect_and_close(&client_context, &server_context, "localhost");
    assert_eq!(next, (false, false, Some(vec![])));
}

// ---------------------------------------------------------------------------------------------
// Capabilities

#[test]
fn capabilities_describe_openssl() {
    let backend = OpensslBackend::new();
    assert_eq!(backend.name(), "openssl");
    assert_eq!(backend.availability(), Ok(()));
    let version = backend.library_version_string();
    assert!(version.starts_with("OpenSSL "), "{version}");
    let build = backend.library_build_version_string();
    assert!(build.starts_with("OpenSSL ") && !build.contains("unknown"), "{build}");
    // The library loaded at run time is of the series the crate was built against.
    let series: String = build.split('.').take(2).collect::<Vec<_>>().join(".");
    assert!(version.starts_with(&format!("{series}.")), "{version} vs {build}");
    let number = backend.library_version_number();
    assert!(number >= 0x1010_1000, "{number:x}");

    let protocols = backend.supported_protocols();
    assert!(protocols.contains(&SslProtocol::AnyProtocol));
    assert!(protocols.contains(&SslProtocol::TlsV1_0));
    assert!(!protocols.contains(&SslProtocol::UnknownProtocol));

    let names: Vec<String> = backend.supported_ciphers().into_iter().map(|c| c.name).collect();
    assert!(names.contains(&"TLS_AES_128_GCM_SHA256".to_owned()), "{names:?}");
    assert!(names.contains(&"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384".to_owned()), "{names:?}");
    assert!(names.iter().all(|n| !n.contains("PSK") && !n.starts_with("TLS_DHE_")), "{names:?}");

    let features = backend.features();
    assert!(features.contains(Feature::CertificateVerification));
    assert!(features.contains(Feature::DetailedVerifyErrors));
    assert!(features.contains(Feature::PeerVerifyDepth));
    assert!(features.contains(Feature::ServerNameIndication));
    assert!(features.contains(Feature::RecoverableVerifyErrors));
    assert!(features.contains(Feature::SessionTicket));
    assert!(features.contains(Feature::KeyLog));
    assert!(features.contains(Feature::Psk));
    assert!(features.contains(Feature::WeakCrypto));
}

#[test]
fn every_supported_cipher_can_be_configured() {
    for cipher in OpensslBackend.supported_ciphers() {
        let protocol = match cipher.protocol {
            SslProtocol::TlsV1_3 => SslProtocol::TlsV1_3,
            _ => SslProtocol::TlsV1_2,
        };
        let name = cipher.name.clone();
        let config = SslConfiguration { protocol, ciphers: vec![cipher], ..Default::default() };
        OpensslBackend.new_context(&config, Role::Client).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<OpensslBackend>();
    send_sync::<OpensslContext>();
    send::<OpensslSession>();
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// A client and a server session, each from its own fresh context.
fn pair(
    client: &SslConfiguration,
    server: &SslConfiguration,
    peer_name: &str,
) -> (OpensslSession, OpensslSession) {
    let client = OpensslContext::new(client, Role::Client).unwrap().session(Some(peer_name));
    let server = OpensslContext::new(server, Role::Server).unwrap().session(None);
    (client.unwrap(), server.unwrap())
}
