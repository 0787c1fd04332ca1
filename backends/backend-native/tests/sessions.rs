//! Sessions of the native backend, pumped against each other over in-memory buffers.
//! Certificates are generated per run with rcgen.
//!
//! Not testable here: a client certificate reaching a server. A native server never requests
//! one (native-tls has no such setting), so no native peer can observe it; the client side is
//! covered by `client_with_a_certificate_connects_to_a_server_that_does_not_ask`.
#![allow(clippy::unwrap_used)]

use std::io;

use backend_native::{NativeBackend, NativeContext, NativeSession};
use rcgen::KeyPair;
use ssl_api::testing::sessions::{self_signed, server_config, Pki};
use ssl_api::testing::{exchange_data, handshake, transfer, Side, MAX_ROUNDS};
use ssl_api::{
    ConfigError, Feature, KeyFormat, PeerVerifyMode, Role, SslBackend, SslCipher, SslConfiguration,
    SslError, SslErrorKind, SslKey, SslProtocol, SslSession, TlsError, TlsErrorKind, TlsVersion,
};

/// Whether native-tls wraps OpenSSL here, so that its errors can be classified.
const OPENSSL: bool = !cfg!(any(target_os = "windows", target_vendor = "apple"));

// The cases every backend shares (`ssl_api::testing::sessions`); native-tls's errors have a kind
// only where it wraps OpenSSL.
ssl_api::sessions_tests!(NativeBackend, classifies_errors: OPENSSL);

// ---------------------------------------------------------------------------------------------
// Handshakes and data

#[test]
fn tls12_handshake_carries_data_both_ways() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let (mut client, mut server) =
        pair(&pki.client_config(), &server_config(&cert, &key), "localhost");

    handshake(&mut client, &mut server).unwrap();

    assert_eq!(client.verification_errors(), Some(&[][..]));
    assert_eq!(client.peer_certificate_chain(), vec![cert]);
    assert_eq!(server.verification_errors(), None);
    assert!(server.peer_certificate_chain().is_empty());
    // native-tls does not tell.
    assert_eq!(client.protocol_version(), None);
    assert_eq!(client.cipher(), None);
    assert_eq!(server.server_name(), None);
    exchange_data(&mut client, &mut server);
}

#[test]
fn handshake_completes_with_one_byte_chunks() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let (mut client, mut server) =
        pair(&pki.client_config(), &server_config(&cert, &key), "localhost");

    for _ in 0..MAX_ROUNDS * 1000 {
        let a = trickle(&mut client, &mut server).unwrap();
        let b = trickle(&mut server, &mut client).unwrap();
        if a == 0 && b == 0 && !client.is_handshaking() && !server.is_handshaking() {
            break;
        }
    }
    assert!(!client.is_handshaking() && !server.is_handshaking());
    exchange_data(&mut client, &mut server);
}

#[test]
fn a_mebibyte_crosses_each_way_in_bounded_steps() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let (mut client, mut server) =
        pair(&pki.client_config(), &server_config(&cert, &key), "localhost");
    handshake(&mut client, &mut server).unwrap();

    let data: Vec<u8> = (0..1024 * 1024u32).map(|i| (i * 7 % 251) as u8).collect();
    assert_eq!(stream(&mut client, &mut server, &data), data);
    assert_eq!(stream(&mut server, &mut client, &data), data);
}

#[test]
fn transport_end_without_close_notify_is_unexpected_eof() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let (mut client, mut server) =
        pair(&pki.client_config(), &server_config(&cert, &key), "localhost");
    handshake(&mut client, &mut server).unwrap();

    server.write_plaintext(b"cut").unwrap();
    transfer(&mut server, &mut client).unwrap();
    assert_eq!(client.read_tls(&mut io::empty()).unwrap(), 0); // the transport ends
    let status = client.process_new_packets().unwrap();
    assert!(!status.peer_has_closed);

    let mut buf = [0u8; 16];
    assert_eq!(client.read_plaintext(&mut buf).unwrap(), 3);
    let err = client.read_plaintext(&mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
}

#[test]
fn transport_end_during_the_handshake_is_an_error() {
    let pki = Pki::new();
    let context = NativeContext::new(&pki.client_config(), Role::Client).unwrap();
    let mut client = context.session(Some("localhost")).unwrap();
    assert_eq!(client.read_tls(&mut io::empty()).unwrap(), 0);
    let err = client.process_new_packets().unwrap_err();
    assert_eq!(err.kind, TlsErrorKind::UnexpectedEof, "{err}");
    // Sticky.
    assert_eq!(client.process_new_packets().unwrap_err(), err);
}

#[test]
fn client_limited_to_tls13_fails_against_a_native_server() {
    // A native server negotiates TLS 1.2 at most (native-tls's OpenSSL server preset).
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let mut client_config = pki.client_config();
    client_config.protocol = SslProtocol::TlsV1_3;
    let (mut client, mut server) = pair(&client_config, &server_config(&cert, &key), "localhost");

    let (side, err) = handshake(&mut client, &mut server).unwrap_err();
    assert_eq!(side, Side::Server, "{err}");
    if OPENSSL {
        assert_eq!(err.kind, TlsErrorKind::NoCommonParameters, "{err}");
        // The server's alert reaches the client.
        let err = transfer(&mut server, &mut client).unwrap_err();
        assert_eq!(err.kind, TlsErrorKind::AlertReceived, "{err}");
    }
}

#[test]
fn the_peer_certificate_stays_readable_after_a_failure() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let (mut client, mut server) =
        pair(&pki.client_config(), &server_config(&cert, &key), "localhost");
    handshake(&mut client, &mut server).unwrap();
    assert_eq!(client.peer_certificate_chain(), vec![cert.clone()]);

    let mut garbage: &[u8] = &[0x47; 64];
    client.read_tls(&mut garbage).unwrap();
    client.process_new_packets().unwrap_err();
    assert_eq!(client.peer_certificate_chain(), vec![cert]);
}

#[test]
fn garbage_instead_of_a_server_hello_fails_the_client() {
    let pki = Pki::new();
    let context = NativeContext::new(&pki.client_config(), Role::Client).unwrap();
    let mut client = context.session(Some("localhost")).unwrap();
    client.write_tls(&mut io::sink()).unwrap();

    let mut garbage: &[u8] = &[0x47; 4096];
    client.read_tls(&mut garbage).unwrap();
    let err = client.process_new_packets().unwrap_err();
    if OPENSSL {
        assert_eq!(err.kind, TlsErrorKind::InvalidMessage, "{err}");
    }
    assert_eq!(client.verification_errors(), None, "no certificate was seen");
}

#[test]
fn a_client_offering_alpn_to_a_server_without_it_negotiates_nothing() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let mut client_config = pki.client_config();
    client_config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let server_config = server_config(&cert, &key);
    let (mut client, mut server) = pair(&client_config, &server_config, "localhost");

    handshake(&mut client, &mut server).unwrap();

    assert_eq!(client.alpn_protocol(), None);
    assert_eq!(server.alpn_protocol(), None);
}

#[test]
fn a_server_selects_the_alpn_protocol_and_continues_without_one_when_none_overlaps() {
    // Where accept_alpn works (OpenSSL, SChannel) the server selects the common protocol;
    // with none in common it continues without ALPN (OpenSSL's NOACK) where RFC 7301 wants an
    // alert: the one declared engine difference (see the crate's SERVER_ALPN).
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let mut server_config = server_config(&cert, &key);
    server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    if cfg!(target_vendor = "apple") {
        let err = NativeBackend.new_context(&server_config, Role::Server).unwrap_err();
        assert_eq!(
            err,
            ConfigError::Unsupported { backend: "native", feature: Feature::ServerSideAlpn }
        );
        return;
    }
    for (offered, want) in [
        (vec![b"h2".to_vec(), b"http/1.1".to_vec()], Some(b"http/1.1".to_vec())),
        (vec![b"h2".to_vec()], None),
    ] {
        let mut client_config = pki.client_config();
        client_config.alpn_protocols = offered;
        let (mut client, mut server) = pair(&client_config, &server_config, "localhost");
        handshake(&mut client, &mut server).unwrap();
        assert_eq!(client.alpn_protocol(), want);
        assert_eq!(server.alpn_protocol(), want);
    }
}

// ---------------------------------------------------------------------------------------------
// Verification: strict on a client in VerifyPeer, off otherwise

#[test]
fn strict_client_rejects_an_expired_certificate_with_a_typed_error() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |p| {
        p.not_before = rcgen::date_time_ymd(2000, 1, 1);
        p.not_after = rcgen::date_time_ymd(2001, 1, 1);
    });
    let (mut client, mut server) =
        pair(&pki.client_config(), &server_config(&cert, &key), "localhost");

    let (side, err) = handshake(&mut client, &mut server).unwrap_err();

    assert_eq!(side, Side::Client, "{err}");
    assert_rejected(&client, &err);
    // The engine's alert still leaves, and the server learns why.
    assert!(client.wants_write());
    let err = transfer(&mut client, &mut server).unwrap_err();
    if OPENSSL {
        assert_eq!(err.kind, TlsErrorKind::AlertReceived, "{err}");
    }
}

#[test]
fn strict_client_rejects_an_unknown_issuer_a_self_signed_leaf_and_a_wrong_name() {
    let pki = Pki::new();
    let stranger = Pki::named("stranger CA");
    let (cert, key) = pki.leaf("localhost", |_| {});
    let (stranger_cert, stranger_key) = stranger.leaf("localhost", |_| {});
    let (self_cert, self_key) = self_signed("localhost");
    let cases = [
        ("unknown issuer", server_config(&stranger_cert, &stranger_key), "localhost"),
        ("self-signed", server_config(&self_cert, &self_key), "localhost"),
        ("wrong name", server_config(&cert, &key), "example.com"),
    ];
    for (name, server_config, peer_name) in cases {
        let (mut client, mut server) = pair(&pki.client_config(), &server_config, peer_name);
        let (side, err) = handshake(&mut client, &mut server).unwrap_err();
        assert_eq!(side, Side::Client, "{name}: {err}");
        assert_rejected(&client, &err);
        assert!(client.peer_certificate_chain().is_empty(), "{name}");
    }
}

#[test]
fn ip_address_peer_name_is_checked_against_ip_sans() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("127.0.0.1", |_| {});
    let server_config = server_config(&cert, &key);

    let (mut client, mut server) = pair(&pki.client_config(), &server_config, "127.0.0.1");
    handshake(&mut client, &mut server).unwrap();
    assert_eq!(client.verification_errors(), Some(&[][..]));

    let (mut client, mut server) = pair(&pki.client_config(), &server_config, "127.0.0.2");
    let (_, err) = handshake(&mut client, &mut server).unwrap_err();
    assert_rejected(&client, &err);
}

#[test]
fn query_peer_client_accepts_anything_and_records_nothing() {
    let pki = Pki::new();
    let (cert, key) = self_signed("localhost");
    let mut client_config = pki.client_config();
    client_config.peer_verify_mode = PeerVerifyMode::QueryPeer;
    let (mut client, mut server) =
        pair(&client_config, &server_config(&cert, &key), "wrong.example");

    handshake(&mut client, &mut server).unwrap();

    // native-tls can only verify by failing: under QueryPeer it does not verify at all.
    assert_eq!(client.verification_errors(), None);
    exchange_data(&mut client, &mut server);
}

#[test]
fn client_with_a_certificate_connects_to_a_server_that_does_not_ask() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let (client_cert, client_key) = pki.leaf("client", |_| {});
    let mut client_config = pki.client_config();
    client_config.local_certificate_chain = vec![client_cert];
    client_config.private_key = Some(client_key);
    let mut server_config = server_config(&cert, &key);
    server_config.ca_certificates = vec![pki.ca.clone()]; // AutoVerifyPeer: accepted, unused
    let (mut client, mut server) = pair(&client_config, &server_config, "localhost");

    handshake(&mut client, &mut server).unwrap();

    assert!(server.peer_certificate_chain().is_empty());
    assert_eq!(server.verification_errors(), None);
}

#[test]
fn pkcs1_rsa_keys_are_accepted() {
    let pki = Pki::new();
    let rsa = KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let (cert, _) = pki.leaf_with_key("localhost", &rsa);
    let pkcs8 = rsa.serialize_der();
    let info = pkcs8::PrivateKeyInfo::try_from(pkcs8.as_slice()).unwrap();
    let key = SslKey::private_key_from_der(info.private_key, KeyFormat::Pkcs1).unwrap();
    let (mut client, mut server) =
        pair(&pki.client_config(), &server_config(&cert, &key), "localhost");

    handshake(&mut client, &mut server).unwrap();
    exchange_data(&mut client, &mut server);
}

// ---------------------------------------------------------------------------------------------
// Configuration: what native-tls cannot do is refused before any byte

#[test]
fn cipher_selection_is_unsupported() {
    let cipher = SslCipher::from_iana_name("TLS_AES_128_GCM_SHA256").unwrap();
    let config = SslConfiguration { ciphers: vec![cipher], ..SslConfiguration::default() };
    let err = NativeBackend.new_context(&config, Role::Client).unwrap_err();
    assert_eq!(err, unsupported(Feature::CipherSelection));
}

#[test]
fn a_server_requesting_client_certificates_is_unsupported() {
    let (cert, key) = self_signed("localhost");
    for mode in [PeerVerifyMode::QueryPeer, PeerVerifyMode::VerifyPeer] {
        let config = SslConfiguration { peer_verify_mode: mode, ..server_config(&cert, &key) };
        let err = NativeBackend.new_context(&config, Role::Server).unwrap_err();
        assert_eq!(err, unsupported(Feature::ServerRequestsClientCertificate), "{mode:?}");
    }
    // AutoVerifyPeer requests nothing here, as documented; VerifyNone is what it says.
    for mode in [PeerVerifyMode::AutoVerifyPeer, PeerVerifyMode::VerifyNone] {
        let config = SslConfiguration { peer_verify_mode: mode, ..server_config(&cert, &key) };
        NativeBackend.new_context(&config, Role::Server).unwrap();
    }
}

#[test]
fn peer_verify_depth_is_unsupported_on_a_verifying_client() {
    let config = SslConfiguration { peer_verify_depth: 3, ..SslConfiguration::default() };
    let err = NativeBackend.new_context(&config, Role::Client).unwrap_err();
    assert_eq!(err, unsupported(Feature::PeerVerifyDepth));
}

#[test]
fn tls13_only_is_unsupported_on_a_server() {
    let (cert, key) = self_signed("localhost");
    for protocol in [SslProtocol::TlsV1_3, SslProtocol::TlsV1_3OrLater] {
        let config = SslConfiguration { protocol, ..server_config(&cert, &key) };
        let err = NativeBackend.new_context(&config, Role::Server).unwrap_err();
        assert_eq!(err, ConfigError::UnsupportedProtocol { backend: "native", protocol });
    }
}

#[test]
fn unknown_protocol_is_unsupported() {
    let protocol = SslProtocol::UnknownProtocol;
    let config = SslConfiguration { protocol, ..SslConfiguration::default() };
    let err = NativeBackend.new_context(&config, Role::Client).unwrap_err();
    assert_eq!(err, ConfigError::UnsupportedProtocol { backend: "native", protocol });
}

#[test]
fn sec1_keys_are_refused_with_a_key_error() {
    let (cert, key) = self_signed("localhost");
    let info = pkcs8::PrivateKeyInfo::try_from(key.to_der()).unwrap();
    let sec1 = SslKey::private_key_from_der(info.private_key, KeyFormat::Sec1).unwrap();
    let err = NativeBackend.new_context(&server_config(&cert, &sec1), Role::Server).unwrap_err();
    assert!(matches!(err, ConfigError::Certificate(_)), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// Capabilities

#[test]
fn capabilities_describe_native_tls() {
    let backend = NativeBackend::new();
    assert_eq!(backend.name(), "native");
    assert_eq!(NativeBackend::NAME, "native");
    assert_eq!(backend.availability(), Ok(()));
    let version = backend.library_version_string();
    assert!(version.starts_with("native-tls 0.2."), "{version}");
    let build = backend.library_build_version_string();
    assert!(build.starts_with("native-tls 0.2."), "{build}");
    if OPENSSL {
        assert!(version.contains("(OpenSSL "), "{version}");
        assert!(build.contains("built against OpenSSL "), "{build}");
        assert!(backend.library_version_number() >= 0x1000_0000);
    }

    let protocols = backend.supported_protocols();
    for p in [SslProtocol::TlsV1_2, SslProtocol::SecureProtocols, SslProtocol::AnyProtocol] {
        assert!(protocols.contains(&p), "{p}");
    }
    assert!(!protocols.contains(&SslProtocol::UnknownProtocol));
    if OPENSSL {
        assert!(protocols.contains(&SslProtocol::TlsV1_3), "clients can");
    }
    assert!(backend.supported_ciphers().is_empty());

    let features: Vec<Feature> = backend.features().iter().collect();
    let mut expected = vec![Feature::CertificateVerification, Feature::ClientSideAlpn];
    if !cfg!(target_vendor = "apple") {
        expected.push(Feature::ServerSideAlpn);
    }
    if OPENSSL {
        // Received alerts are named by OpenSSL's error stack.
        expected.push(Feature::Alerts);
    }
    expected.extend([Feature::ClientCertificates, Feature::Renegotiation]);
    assert_eq!(features, expected);
}

/// Every protocol builds a client context and, up to TLS 1.2, a server one; except that a
/// range of TLS 1.0 / 1.1 only is refused before any byte where OpenSSL's default level
/// refuses those versions (native-tls cannot lower it).
#[test]
fn every_supported_protocol_builds_a_client_context_and_a_server_one_up_to_tls12() {
    let (cert, key) = self_signed("localhost");
    // Elsewhere the platform library decides at handshake time: nothing is refused before.
    #[cfg(any(target_os = "windows", target_vendor = "apple"))]
    let level = 0;
    #[cfg(not(any(target_os = "windows", target_vendor = "apple")))]
    let level = libssl_common::levels::default_security_level().unwrap();
    for protocol in NativeBackend.supported_protocols() {
        let config = SslConfiguration { protocol, ..server_config(&cert, &key) };
        let (_, high) = protocol.version_range().unwrap();
        if high <= TlsVersion::Tls1_1 && level >= 1 {
            let expected = ConfigError::ProtocolBelowSecurityLevel {
                backend: "native",
                protocol,
                security_level: level,
            };
            for role in [Role::Client, Role::Server] {
                let err = NativeBackend.new_context(&config, role).unwrap_err();
                assert_eq!(err, expected, "{role:?}");
            }
            continue;
        }
        NativeBackend.new_context(&config, Role::Client).unwrap();
        let server = NativeBackend.new_context(&config, Role::Server);
        let tls13_only = matches!(protocol, SslProtocol::TlsV1_3 | SslProtocol::TlsV1_3OrLater);
        assert_eq!(server.is_ok(), !tls13_only, "{protocol}");
    }
}

#[test]
fn types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<NativeBackend>();
    send_sync::<NativeContext>();
    send::<NativeSession>();
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// A strict client's rejection: a typed handshake error, and one unspecified verification
/// error (where the platform library's codes let the backend tell).
fn assert_rejected(client: &NativeSession, err: &TlsError) {
    if OPENSSL {
        assert_eq!(err.kind, TlsErrorKind::PeerCertificate, "{err}");
        assert_eq!(
            client.verification_errors(),
            Some(&[SslError::new(SslErrorKind::UnspecifiedError, None)][..])
        );
    }
    assert!(!client.wants_read());
}

fn unsupported(feature: Feature) -> ConfigError {
    ConfigError::Unsupported { backend: "native", feature }
}

/// A client and a server session, each from its own fresh context.
fn pair(
    client: &SslConfiguration,
    server: &SslConfiguration,
    peer_name: &str,
) -> (NativeSession, NativeSession) {
    let client = NativeContext::new(client, Role::Client).unwrap().session(Some(peer_name));
    let server = NativeContext::new(server, Role::Server).unwrap().session(None);
    (client.unwrap(), server.unwrap())
}

/// As [`transfer`], one byte per `read_tls`.
fn trickle(from: &mut dyn SslSession, to: &mut dyn SslSession) -> Result<usize, TlsError> {
    let mut wire = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut wire).unwrap();
    }
    for byte in &wire {
        to.read_tls(&mut std::slice::from_ref(byte)).unwrap();
        to.process_new_packets()?;
    }
    Ok(wire.len())
}

/// Sends `data` from `from` to `to` through bounded buffers, reading as it goes; returns
/// what arrived.
fn stream(from: &mut dyn SslSession, to: &mut dyn SslSession, data: &[u8]) -> Vec<u8> {
    let mut sent = 0;
    let mut got = Vec::with_capacity(data.len());
    let mut buf = vec![0u8; 8192];
    for _ in 0..data.len() {
        if sent < data.len() {
            sent += from.write_plaintext(&data[sent..]).unwrap();
        }
        transfer(from, to).unwrap();
        loop {
            match to.read_plaintext(&mut buf) {
                Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
                Ok(_) => panic!("unexpected end of stream"),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        if got.len() == data.len() {
            return got;
        }
    }
    panic!("stalled after {} of {} bytes", got.len(), data.len());
}
