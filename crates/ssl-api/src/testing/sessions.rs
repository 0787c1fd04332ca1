//! Handshakes, data, verification and configuration checks that do not depend on the engine.
//! Each test function is one test, run on a backend by [`sessions_tests!`](crate::sessions_tests);
//! the sessions come from [`pair`], each side from a fresh context, with certificates made by
//! [`Pki`] and [`self_signed`]. The helpers below the tests serve the backends' own
//! `tests/sessions.rs` too.
//!
//! Two groups:
//! - every backend: what holds whether verification is recorded or fatal; `classifies_errors`
//!   says whether the backend gives handshake and configuration errors a precise kind
//!   (native-tls over SChannel or Security Framework does not);
//! - `verification_recorded`: backends whose client records verification errors and completes
//!   the handshake, negotiate TLS 1.2 and 1.3, ALPN and cipher suites on both sides, and whose
//!   server requests client certificates (rustls, OpenSSL).

use std::io;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use super::{exchange_data, handshake, transfer, Side};
use crate::{
    ConfigError, KeyFormat, PeerVerifyMode, Role, SslBackend, SslCertificate, SslCipher,
    SslConfiguration, SslErrorKind, SslKey, SslProtocol, SslSession, TlsErrorKind, TlsVersion,
};

/// Two sessions of a backend, client first.
pub type Sessions = (Box<dyn SslSession>, Box<dyn SslSession>);

// ---------------------------------------------------------------------------------------------
// Every backend

/// A client that does not verify accepts a self-signed certificate for another name, records
/// nothing, and still sees the peer's chain.
pub fn verify_none_accepts_anything_without_errors(backend: &dyn SslBackend) {
    let pki = Pki::new();
    let (cert, key) = self_signed("localhost");
    let mut client_config = pki.client_config();
    client_config.peer_verify_mode = PeerVerifyMode::VerifyNone;
    let (mut client, mut server) =
        pair(backend, &client_config, &server_config(&cert, &key), "wrong.example");

    handshake(&mut *client, &mut *server).unwrap();

    assert_eq!(client.verification_errors(), None);
    assert_eq!(client.peer_certificate_chain(), vec![cert]);
    exchange_data(&mut *client, &mut *server);
}

/// A client session needs a peer name that can be a host name or an IP address.
pub fn client_needs_a_valid_peer_name(backend: &dyn SslBackend) {
    let context = backend.new_context(&SslConfiguration::default(), Role::Client).unwrap();
    for name in [None, Some(""), Some("not a host name")] {
        let err = context.new_session(name).unwrap_err();
        assert!(matches!(err, ConfigError::InvalidPeerName(_)), "{name:?}: {err:?}");
    }
}

/// A server context needs a private key, with or without a certificate; a certificate without
/// its key is refused on a client too.
pub fn server_without_key_is_missing_identity(backend: &dyn SslBackend) {
    let err = backend.new_context(&SslConfiguration::default(), Role::Server).unwrap_err();
    assert_eq!(err, ConfigError::MissingIdentity);

    let (cert, _) = self_signed("localhost");
    let config = SslConfiguration { local_certificate_chain: vec![cert], ..Default::default() };
    for role in [Role::Server, Role::Client] {
        let err = backend.new_context(&config, role).unwrap_err();
        assert_eq!(err, ConfigError::MissingIdentity, "{role:?}");
    }
}

/// close_notify reads as end of stream (`Ok(0)`), after nothing to read (`WouldBlock`) before
/// it; once read, the peer has closed and the session wants no more input.
pub fn close_notify_reads_as_end_of_stream(backend: &dyn SslBackend) {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let (mut client, mut server) =
        pair(backend, &pki.client_config(), &server_config(&cert, &key), "localhost");
    handshake(&mut *client, &mut *server).unwrap();

    let mut buf = [0u8; 16];
    assert_eq!(server.read_plaintext(&mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
    client.send_close_notify();
    assert!(client.wants_write());
    transfer(&mut *client, &mut *server).unwrap();
    assert_eq!(server.read_plaintext(&mut buf).unwrap(), 0);
    assert!(server.process_new_packets().unwrap().peer_has_closed);
    assert!(!server.wants_read());
}

/// Bytes that are not TLS fail a server's `process_new_packets` (an invalid message where the
/// backend classifies errors), and the session wants no more input.
pub fn garbage_from_the_peer_is_an_invalid_message(
    backend: &dyn SslBackend,
    classifies_errors: bool,
) {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let context = backend.new_context(&server_config(&cert, &key), Role::Server).unwrap();
    let mut server = context.new_session(None).unwrap();

    let mut garbage: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    server.read_tls(&mut garbage).unwrap();
    let err = server.process_new_packets().unwrap_err();
    if classifies_errors {
        assert_eq!(err.kind, TlsErrorKind::InvalidMessage, "{err}");
    }
    assert!(!server.wants_read());
}

/// A private key that does not belong to the certificate is refused (as a key mismatch where
/// the backend classifies errors) on either side.
pub fn key_of_another_certificate_is_key_mismatch(
    backend: &dyn SslBackend,
    classifies_errors: bool,
) {
    let (cert, _) = self_signed("localhost");
    let (_, other_key) = self_signed("localhost");
    let config = server_config(&cert, &other_key);
    for role in [Role::Server, Role::Client] {
        let err = backend.new_context(&config, role).unwrap_err();
        if classifies_errors {
            assert_eq!(err, ConfigError::KeyMismatch, "{role:?}");
        }
    }
}

/// A session fed ciphertext it is never asked to process refuses more with
/// [`IncomingFull`](crate::pipe::IncomingFull) (`OutOfMemory`, a socket's
/// `SocketResourceError`), whatever the backend, and never panics.
pub fn a_full_incoming_buffer_is_a_resource_error(backend: &dyn SslBackend) {
    let (cert, key) = self_signed("localhost");
    let context = backend.new_context(&server_config(&cert, &key), Role::Server).unwrap();
    let mut session = context.new_session(None).unwrap();
    let chunk = vec![0x16u8; 16 * 1024];
    let mut fed = 0usize;
    let err = loop {
        assert!(fed < 16 * 1024 * 1024, "16 MiB taken without processing");
        match session.read_tls(&mut chunk.as_slice()) {
            Ok(n) => fed += n,
            Err(err) => break err,
        }
    };
    assert!(crate::pipe::IncomingFull::is(&err), "{err:?} after {fed} bytes");
    let kind = crate::SocketErrorKind::from_io(err.kind());
    assert_eq!(kind, crate::SocketErrorKind::SocketResourceError);
}

/// `danger_allow_weak_crypto` is carried out by a backend that has `Feature::WeakCrypto`, and
/// refused with `Unsupported(WeakCrypto)` by one that has not: never silently ignored.
pub fn weak_crypto_is_carried_out_or_refused(backend: &dyn SslBackend) {
    let (cert, key) = self_signed("localhost");
    let has = backend.features().contains(crate::Feature::WeakCrypto);
    let client = SslConfiguration { danger_allow_weak_crypto: true, ..SslConfiguration::default() };
    let server = SslConfiguration { danger_allow_weak_crypto: true, ..server_config(&cert, &key) };
    for (config, role) in [(client, Role::Client), (server, Role::Server)] {
        match backend.new_context(&config, role) {
            Ok(_) => assert!(has, "{role:?}: accepted without Feature::WeakCrypto"),
            Err(err) => {
                assert!(!has, "{role:?}: refused with Feature::WeakCrypto: {err}");
                let expected = ConfigError::Unsupported {
                    backend: backend.name(),
                    feature: crate::Feature::WeakCrypto,
                };
                assert_eq!(err, expected, "{role:?}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Verification recorded: handshakes and data

/// TLS 1.2 is negotiated when the client asks for it, and both sides report the version, the
/// suite, the peer's chain and the server name.
pub fn tls12_handshake_carries_data_both_ways(backend: &dyn SslBackend) {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let mut client_config = pki.client_config();
    client_config.protocol = SslProtocol::TlsV1_2;
    let (mut client, mut server) =
        pair(backend, &client_config, &server_config(&cert, &key), "localhost");

    handshake(&mut *client, &mut *server).unwrap();

    assert_eq!(client.protocol_version(), Some(TlsVersion::Tls1_2));
    assert_eq!(server.protocol_version(), Some(TlsVersion::Tls1_2));
    assert_eq!(client.cipher().unwrap().protocol, SslProtocol::TlsV1_2);
    assert_eq!(client.cipher(), server.cipher());
    assert_eq!(client.verification_errors(), Some(&[][..]));
    assert_eq!(client.peer_certificate_chain(), vec![cert]);
    assert_eq!(server.server_name().as_deref(), Some("localhost"));
    exchange_data(&mut *client, &mut *server);
}

/// TLS 1.3 is negotiated when the server asks for it, with a TLS 1.3 suite.
pub fn tls13_handshake_carries_data_both_ways(backend: &dyn SslBackend) {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let mut server_config = server_config(&cert, &key);
    server_config.protocol = SslProtocol::TlsV1_3;
    let (mut client, mut server) = pair(backend, &pki.client_config(), &server_config, "localhost");

    handshake(&mut *client, &mut *server).unwrap();

    assert_eq!(client.protocol_version(), Some(TlsVersion::Tls1_3));
    let cipher = client.cipher().unwrap();
    assert_eq!(cipher.protocol, SslProtocol::TlsV1_3);
    assert!(cipher.name.starts_with("TLS_"), "{}", cipher.name);
    assert_eq!(client.verification_errors(), Some(&[][..]));
    exchange_data(&mut *client, &mut *server);
}

/// A client that wants TLS 1.3 only and a server that wants TLS 1.2 only fail on the server,
/// whose alert fails the client.
pub fn protocol_mismatch_fails_instead_of_hanging(backend: &dyn SslBackend) {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let mut client_config = pki.client_config();
    client_config.protocol = SslProtocol::TlsV1_3;
    let mut server_config = server_config(&cert, &key);
    server_config.protocol = SslProtocol::TlsV1_2;
    let (mut client, mut server) = pair(backend, &client_config, &server_config, "localhost");

    let (side, err) = handshake(&mut *client, &mut *server).unwrap_err();
    assert_eq!((side, err.kind), (Side::Server, TlsErrorKind::NoCommonParameters), "{err}");

    // The server's alert reaches the client as an error too.
    let err = transfer(&mut *server, &mut *client).unwrap_err();
    assert_eq!(err.kind, TlsErrorKind::AlertReceived, "{err}");
}

/// The server picks the first of its ALPN protocols that the client offers; both report it.
pub fn alpn_protocol_is_negotiated(backend: &dyn SslBackend) {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let mut client_config = pki.client_config();
    client_config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let mut server_config = server_config(&cert, &key);
    server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let (mut client, mut server) = pair(backend, &client_config, &server_config, "localhost");

    handshake(&mut *client, &mut *server).unwrap();

    assert_eq!(client.alpn_protocol().as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(server.alpn_protocol().as_deref(), Some(&b"http/1.1"[..]));
}

/// A client restricted to one suite gets that suite.
pub fn configured_ciphers_restrict_the_negotiated_suite(backend: &dyn SslBackend) {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let mut client_config = pki.client_config();
    client_config.ciphers =
        vec![SslCipher::from_iana_name("TLS_CHACHA20_POLY1305_SHA256").unwrap()];
    let (mut client, mut server) =
        pair(backend, &client_config, &server_config(&cert, &key), "localhost");

    handshake(&mut *client, &mut *server).unwrap();

    assert_eq!(server.cipher().unwrap().name, "TLS_CHACHA20_POLY1305_SHA256");
}

// ---------------------------------------------------------------------------------------------
// Verification recorded: one error per case, never fatal

/// An expired leaf is recorded, with the leaf, and the handshake completes.
pub fn expired_certificate_is_recorded_and_handshake_completes(backend: &dyn SslBackend) {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |p| {
        p.not_before = rcgen::date_time_ymd(2000, 1, 1);
        p.not_after = rcgen::date_time_ymd(2001, 1, 1);
    });
    let (mut client, mut server) =
        pair(backend, &pki.client_config(), &server_config(&cert, &key), "localhost");

    handshake(&mut *client, &mut *server).unwrap();

    assert_eq!(kinds(&*client), vec![SslErrorKind::CertificateExpired]);
    assert_eq!(client.verification_errors().unwrap()[0].certificate, Some(cert));
}

/// A trusted certificate for another name is a host name mismatch; SNI carries the name asked.
pub fn wrong_host_name_is_a_host_name_mismatch(backend: &dyn SslBackend) {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let (mut client, mut server) =
        pair(backend, &pki.client_config(), &server_config(&cert, &key), "example.com");

    handshake(&mut *client, &mut *server).unwrap();

    assert_eq!(kinds(&*client), vec![SslErrorKind::HostNameMismatch]);
    assert_eq!(server.server_name().as_deref(), Some("example.com"));
}

/// A self-signed certificate for another name is both errors, in that order.
pub fn self_signed_certificate_for_another_name_reports_both_errors(backend: &dyn SslBackend) {
    let pki = Pki::new();
    let (cert, key) = self_signed("localhost");
    let (mut client, mut server) =
        pair(backend, &pki.client_config(), &server_config(&cert, &key), "example.com");

    handshake(&mut *client, &mut *server).unwrap();

    assert_eq!(
        kinds(&*client),
        vec![SslErrorKind::SelfSignedCertificate, SslErrorKind::HostNameMismatch]
    );
}

/// A leaf from a CA the client does not know has no local issuer.
pub fn unknown_issuer_is_unable_to_get_local_issuer_certificate(backend: &dyn SslBackend) {
    let pki = Pki::new();
    let stranger = Pki::named("stranger CA");
    let (cert, key) = stranger.leaf("localhost", |_| {});
    let (mut client, mut server) =
        pair(backend, &pki.client_config(), &server_config(&cert, &key), "localhost");

    handshake(&mut *client, &mut *server).unwrap();

    assert_eq!(kinds(&*client), vec![SslErrorKind::UnableToGetLocalIssuerCertificate]);
}

/// A leaf signed by another key under a trusted CA's name fails its signature check.
pub fn certificate_from_an_impostor_of_a_trusted_ca_is_a_signature_failure(
    backend: &dyn SslBackend,
) {
    let pki = Pki::new();
    let impostor = Pki::new(); // same name, other key
    let (cert, key) = impostor.leaf("localhost", |_| {});
    let (mut client, mut server) =
        pair(backend, &pki.client_config(), &server_config(&cert, &key), "localhost");

    handshake(&mut *client, &mut *server).unwrap();

    assert_eq!(kinds(&*client), vec![SslErrorKind::CertificateSignatureFailed]);
}

/// An untrusted root sent after the leaf is a self-signed certificate in the chain, and the
/// client sees the chain as sent.
pub fn untrusted_self_signed_root_sent_in_chain_is_self_signed_in_chain(backend: &dyn SslBackend) {
    let pki = Pki::new();
    let stranger = Pki::named("stranger CA");
    let (cert, key) = stranger.leaf("localhost", |_| {});
    let mut server_config = server_config(&cert, &key);
    server_config.local_certificate_chain.push(stranger.ca.clone());
    let (mut client, mut server) = pair(backend, &pki.client_config(), &server_config, "localhost");

    handshake(&mut *client, &mut *server).unwrap();

    assert_eq!(kinds(&*client), vec![SslErrorKind::SelfSignedCertificateInChain]);
    assert_eq!(client.peer_certificate_chain(), vec![cert, stranger.ca]);
}

/// A server certificate whose extended key usage is client authentication only is an invalid
/// purpose.
pub fn server_certificate_for_client_auth_only_is_invalid_purpose(backend: &dyn SslBackend) {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |p| {
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    });
    let (mut client, mut server) =
        pair(backend, &pki.client_config(), &server_config(&cert, &key), "localhost");

    handshake(&mut *client, &mut *server).unwrap();

    assert_eq!(kinds(&*client), vec![SslErrorKind::InvalidPurpose]);
}

/// An IP address as peer name matches an IP SAN, is not sent as SNI, and another address is a
/// host name mismatch.
pub fn ip_address_peer_name_is_checked_against_ip_sans(backend: &dyn SslBackend) {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("127.0.0.1", |_| {});
    let server_config = server_config(&cert, &key);

    let (mut client, mut server) = pair(backend, &pki.client_config(), &server_config, "127.0.0.1");
    handshake(&mut *client, &mut *server).unwrap();
    assert_eq!(kinds(&*client), vec![]);
    assert_eq!(server.server_name(), None, "no SNI is sent for an IP address");

    let (mut client, mut server) = pair(backend, &pki.client_config(), &server_config, "127.0.0.2");
    handshake(&mut *client, &mut *server).unwrap();
    assert_eq!(kinds(&*client), vec![SslErrorKind::HostNameMismatch]);
}

// ---------------------------------------------------------------------------------------------
// Verification recorded: client certificates

/// A server that requests a client certificate records what is wrong with it, not fatally.
pub fn server_records_the_client_certificate_errors(backend: &dyn SslBackend) {
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
    let (mut client, mut server) = pair(backend, &client_config, &server_config, "localhost");

    handshake(&mut *client, &mut *server).unwrap();

    // AutoVerifyPeer is QueryPeer on a server: requested, verified, recorded, not fatal.
    assert_eq!(kinds(&*server), vec![SslErrorKind::UnableToGetLocalIssuerCertificate]);
    assert_eq!(server.peer_certificate_chain(), vec![client_cert]);
    assert_eq!(kinds(&*client), vec![]);
}

/// A client certificate from the server's CA is verified without errors.
pub fn server_trusts_a_client_certificate_from_its_ca(backend: &dyn SslBackend) {
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
    let (mut client, mut server) = pair(backend, &client_config, &server_config, "localhost");

    handshake(&mut *client, &mut *server).unwrap();

    assert_eq!(server.verification_errors(), Some(&[][..]));
}

/// A client without a certificate leaves nothing verified on the server, which sees no chain.
pub fn client_without_certificate_leaves_server_verification_empty(backend: &dyn SslBackend) {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", |_| {});
    let mut server_config = server_config(&cert, &key);
    server_config.peer_verify_mode = PeerVerifyMode::VerifyPeer;
    server_config.ca_certificates = vec![pki.ca.clone()];
    let (mut client, mut server) = pair(backend, &pki.client_config(), &server_config, "localhost");

    handshake(&mut *client, &mut *server).unwrap();

    assert_eq!(server.verification_errors(), None);
    assert!(server.peer_certificate_chain().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Verification recorded: configuration

/// Every protocol the backend lists for a client makes a client context; one the engine
/// refuses at its security level (`ProtocolBelowSecurityLevel`) is TLS 1.0 / 1.1 only, and
/// makes one with `danger_allow_weak_crypto` where the backend has `Feature::WeakCrypto`.
pub fn every_supported_protocol_builds_a_context(backend: &dyn SslBackend) {
    for protocol in backend.supported_protocols_for(Role::Client) {
        let config = SslConfiguration { protocol, ..SslConfiguration::default() };
        match backend.new_context(&config, Role::Client) {
            Ok(_) => {}
            Err(ConfigError::ProtocolBelowSecurityLevel { security_level, .. }) => {
                let (_, high) = protocol.version_range().unwrap();
                assert!(high <= TlsVersion::Tls1_1, "{protocol} refused at {security_level}");
                assert!(security_level > 0, "{protocol}");
                if backend.features().contains(crate::Feature::WeakCrypto) {
                    let config = SslConfiguration { danger_allow_weak_crypto: true, ..config };
                    backend.new_context(&config, Role::Client).unwrap();
                }
            }
            Err(err) => panic!("{protocol}: {err}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// A test certificate authority.
pub struct Pki {
    /// The CA's certificate.
    pub ca: SslCertificate,
    issuer: Issuer<'static, KeyPair>,
}

impl Pki {
    /// A CA named "sslsocket test CA", with a fresh key.
    #[must_use]
    pub fn new() -> Pki {
        Pki::named("sslsocket test CA")
    }

    /// A CA whose name is `name`. webpki picks issuers by name, so a CA meant to be unknown
    /// needs a name of its own: under a trusted CA's name it would be a bad signature instead.
    #[must_use]
    pub fn named(name: &str) -> Pki {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).unwrap();
        Pki { ca: SslCertificate::from_der(cert.der()).unwrap(), issuer: Issuer::new(params, key) }
    }

    /// A certificate for `name` signed by this CA, after `tweak` has adjusted its parameters.
    pub fn leaf(
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

    /// A certificate for `name` and `key`, signed by this CA.
    #[must_use]
    pub fn leaf_with_key(&self, name: &str, key: &KeyPair) -> (SslCertificate, SslKey) {
        let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.signed_by(key, &self.issuer).unwrap();
        (SslCertificate::from_der(cert.der()).unwrap(), ssl_key(key))
    }

    /// A certificate for `name` carrying the RSA public key `rsa_public_key` (PKCS#1
    /// `RSAPublicKey` DER, of any size: rcgen makes no RSA keys below 2048 bits, an engine
    /// can), signed by this CA. For weak-key cases.
    #[must_use]
    pub fn leaf_for_rsa_key(&self, name: &str, rsa_public_key: &[u8]) -> SslCertificate {
        let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.signed_by(&RsaPublicKey(rsa_public_key), &self.issuer).unwrap();
        SslCertificate::from_der(cert.der()).unwrap()
    }

    /// An intermediate CA under this one, after `tweak` has adjusted its parameters.
    pub fn intermediate(&self, name: &str, tweak: impl FnOnce(&mut CertificateParams)) -> Pki {
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
    #[must_use]
    pub fn client_config(&self) -> SslConfiguration {
        SslConfiguration {
            ca_certificates: vec![self.ca.clone()],
            system_ca_certificates: false,
            ..SslConfiguration::default()
        }
    }
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki").field("ca", &self.ca).finish_non_exhaustive()
    }
}

impl Default for Pki {
    fn default() -> Pki {
        Pki::new()
    }
}

/// A self-signed certificate for `name`, and its key.
#[must_use]
pub fn self_signed(name: &str) -> (SslCertificate, SslKey) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    (SslCertificate::from_der(cert.der()).unwrap(), ssl_key(&key))
}

/// A server configuration with `cert` and `key`, not using the system's CA certificates.
#[must_use]
pub fn server_config(cert: &SslCertificate, key: &SslKey) -> SslConfiguration {
    SslConfiguration {
        local_certificate_chain: vec![cert.clone()],
        private_key: Some(key.clone()),
        system_ca_certificates: false,
        ..SslConfiguration::default()
    }
}

/// A client and a server session of `backend`, each from its own fresh context.
pub fn pair(
    backend: &dyn SslBackend,
    client: &SslConfiguration,
    server: &SslConfiguration,
    peer_name: &str,
) -> Sessions {
    let client = backend.new_context(client, Role::Client).unwrap().new_session(Some(peer_name));
    let server = backend.new_context(server, Role::Server).unwrap().new_session(None);
    (client.unwrap(), server.unwrap())
}

/// The kinds of the verification errors `session` recorded.
///
/// # Panics
/// When the session verified nothing (`verification_errors` is `None`).
pub fn kinds(session: &dyn SslSession) -> Vec<SslErrorKind> {
    let errors = session.verification_errors().expect("the peer's certificate was verified");
    errors.iter().map(|e| e.kind).collect()
}

/// An RSA public key as rcgen's `PublicKeyData`: the `RSAPublicKey` DER of the SPKI's bit
/// string, under `rsaEncryption`.
struct RsaPublicKey<'a>(&'a [u8]);

impl rcgen::PublicKeyData for RsaPublicKey<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.0
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_RSA_SHA256
    }
}

fn ssl_key(key: &KeyPair) -> SslKey {
    SslKey::private_key_from_der(key.serialize_der().as_slice(), KeyFormat::Pkcs8).unwrap()
}

/// Defines, in the calling test crate, one `#[test]` per function of
/// [`testing::sessions`](crate::testing::sessions) that applies to `$backend` (an expression
/// whose type implements [`SslBackend`](crate::SslBackend)): those of every backend, given
/// `classifies_errors` (whether handshake and configuration errors have a precise kind), and
/// those of each group named after it (`verification_recorded`). Tests added to a group later
/// run on every backend that names it. For example
/// `ssl_api::sessions_tests!(backend_rustls::RustlsBackend, classifies_errors: true, verification_recorded);`.
#[macro_export]
macro_rules! sessions_tests {
    (@verification_recorded $backend:expr) => {
        $crate::sessions_tests!(@each $backend;
            tls12_handshake_carries_data_both_ways,
            tls13_handshake_carries_data_both_ways,
            protocol_mismatch_fails_instead_of_hanging,
            alpn_protocol_is_negotiated,
            configured_ciphers_restrict_the_negotiated_suite,
            expired_certificate_is_recorded_and_handshake_completes,
            wrong_host_name_is_a_host_name_mismatch,
            self_signed_certificate_for_another_name_reports_both_errors,
            unknown_issuer_is_unable_to_get_local_issuer_certificate,
            certificate_from_an_impostor_of_a_trusted_ca_is_a_signature_failure,
            untrusted_self_signed_root_sent_in_chain_is_self_signed_in_chain,
            server_certificate_for_client_auth_only_is_invalid_purpose,
            ip_address_peer_name_is_checked_against_ip_sans,
            server_records_the_client_certificate_errors,
            server_trusts_a_client_certificate_from_its_ca,
            client_without_certificate_leaves_server_verification_empty,
            every_supported_protocol_builds_a_context,
        );
    };
    (@each $backend:expr; $($name:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::testing::sessions::$name(&$backend);
            }
        )+
    };
    (@each_given $backend:expr, $classifies_errors:expr; $($name:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::testing::sessions::$name(&$backend, $classifies_errors);
            }
        )+
    };
    ($backend:expr, classifies_errors: $classifies_errors:expr $(, $group:ident)* $(,)?) => {
        $crate::sessions_tests!(@each $backend;
            verify_none_accepts_anything_without_errors,
            client_needs_a_valid_peer_name,
            server_without_key_is_missing_identity,
            close_notify_reads_as_end_of_stream,
            a_full_incoming_buffer_is_a_resource_error,
            weak_crypto_is_carried_out_or_refused,
        );
        $crate::sessions_tests!(@each_given $backend, $classifies_errors;
            garbage_from_the_peer_is_an_invalid_message,
            key_of_another_certificate_is_key_mismatch,
        );
        $($crate::sessions_tests!(@$group $backend);)*
    };
}
