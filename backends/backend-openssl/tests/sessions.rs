//! Sessions of the OpenSSL backend, pumped against each other over in-memory buffers.
//! Certificates are generated per run with rcgen. The cases mirror backend-rustls's
//! `tests/sessions.rs` one by one (diffing the two files is a review tool), followed by what
//! only this backend does: several errors per chain, verify depth, TLS 1.0 and 1.1, cipher
//! selection by IANA name for both families, and resumption.
#![allow(clippy::unwrap_used)]

use std::io;

use backend_openssl::{OpensslBackend, OpensslContext, OpensslSession};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
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
    let context = OpensslContext::new(&server_config(&cert, &key), Role::Server).unwrap();
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
fn server_without_key_is_missing_identity() {
    let err = OpensslBackend.new_context(&SslConfiguration::default(), Role::Server).unwrap_err();
    assert_eq!(err, ConfigError::MissingIdentity);

    let (cert, _) = self_signed("localhost");
    let config = SslConfiguration { local_certificate_chain: vec![cert], ..Default::default() };
    let err = OpensslBackend.new_context(&config, Role::Server).unwrap_err();
    assert_eq!(err, ConfigError::MissingIdentity);
}

#[test]
fn key_of_another_certificate_is_key_mismatch() {
    let (cert, _) = self_signed("localhost");
    let (_, other_key) = self_signed("localhost");
    let config = server_config(&cert, &other_key);
    for role in [Role::Server, Role::Client] {
        let err = OpensslBackend.new_context(&config, role).unwrap_err();
        assert_eq!(err, ConfigError::KeyMismatch, "{role:?}");
    }
}

#[test]
fn unknown_cipher_is_rejected() {
    // A registered suite (0xD001) that libssl does not implement.
    let cipher = SslCipher::from_iana_name("TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256").unwrap();
    let config = SslConfiguration { ciphers: vec![cipher], ..SslConfiguration::default() };
    let err = OpensslBackend.new_context(&config, Role::Client).unwrap_err();
    assert!(matches!(err, ConfigError::UnknownCipher { backend: "openssl", .. }), "{err:?}");
}

#[test]
fn client_needs_a_valid_peer_name() {
    let context = OpensslBackend.new_context(&SslConfiguration::default(), Role::Client).unwrap();
    for name in [None, Some(""), Some("not a host name")] {
        let err = context.new_session(name).unwrap_err();
        assert!(matches!(err, ConfigError::InvalidPeerName(_)), "{name:?}: {err:?}");
    }
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
fn tls10_client_against_a_default_server_fails_with_a_typed_error() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let mut client_config = pki.client_config();
    client_config.protocol = SslProtocol::TlsV1_0;
    let (mut client, mut server) = pair(&client_config, &server_config(&cert, &key), "localhost");

    let (side, err) = handshake(&mut client, &mut server).unwrap_err();
    assert_eq!((side, err.kind), (Side::Server, TlsErrorKind::NoCommonParameters), "{err}");
    let err = transfer(&mut server, &mut client).unwrap_err();
    assert_eq!(err.kind, TlsErrorKind::AlertReceived, "{err}");
    assert_eq!(client.protocol_version(), None, "never silently upgraded");
}

#[test]
fn tls10_and_tls11_named_on_both_sides_are_negotiated() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    for (protocol, version) in
        [(SslProtocol::TlsV1_0, TlsVersion::Tls1_0), (SslProtocol::TlsV1_1, TlsVersion::Tls1_1)]
    {
        let mut client_config = pki.client_config();
        client_config.protocol = protocol;
        let mut server_config = server_config(&cert, &key);
        server_config.protocol = SslProtocol::TlsV1_0OrLater;
        let (mut client, mut server) = pair(&client_config, &server_config, "localhost");

        handshake(&mut client, &mut server).unwrap();

        assert_eq!(client.protocol_version(), Some(version));
        assert_eq!(server.protocol_version(), Some(version));
        assert_eq!(client.verification_errors(), Some(&[][..]));
        exchange_data(&mut client, &mut server);
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

/// OpenSSL clients resume only with `SslRef::set_session`, which is `unsafe` in the openssl
/// crate; this crate has no unsafe code, so a second session of a client context makes a full
/// handshake, and the backend does not claim `SessionTicket`. (OpenSSL also keeps a session
/// resumable only when its connection ended with close_notify, as both do here.)
#[test]
fn client_sessions_of_a_context_do_not_resume() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let client_context = OpensslContext::new(&pki.client_config(), Role::Client).unwrap();
    let server_context = OpensslContext::new(&server_config(&cert, &key), Role::Server).unwrap();

    for _ in 0..2 {
        let mut client = client_context.session(Some("localhost")).unwrap();
        let mut server = server_context.session(None).unwrap();
        handshake(&mut client, &mut server).unwrap();
        exchange_data(&mut client, &mut server); // TLS 1.3 tickets travel after the handshake
        assert!(!client.is_resumed());
        assert!(!server.is_resumed());
        assert_eq!(client.verification_errors(), Some(&[][..]));
        client.send_close_notify();
        server.send_close_notify();
        transfer(&mut client, &mut server).unwrap();
        transfer(&mut server, &mut client).unwrap();
    }
    assert!(!OpensslBackend.features().contains(Feature::SessionTicket));
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
    assert!(!features.contains(Feature::SessionTicket));
    assert!(features.contains(Feature::KeyLog));
    assert!(features.contains(Feature::Psk));
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
fn every_supported_protocol_builds_a_context() {
    for protocol in OpensslBackend.supported_protocols() {
        let config = SslConfiguration { protocol, ..SslConfiguration::default() };
        OpensslBackend.new_context(&config, Role::Client).unwrap();
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

    /// An intermediate CA under this one, after `tweak` has adjusted its parameters.
    fn intermediate(&self, name: &str, tweak: impl FnOnce(&mut CertificateParams)) -> Pki {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        tweak(&mut params);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Pki { ca: SslCertificate::from_der(cert.der()).unwrap(), issuer: Issuer::new(params, key) }
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

fn kinds(session: &dyn SslSession) -> Vec<SslErrorKind> {
    let errors = session.verification_errors().expect("the peer's certificate was verified");
    errors.iter().map(|e| e.kind).collect()
}
