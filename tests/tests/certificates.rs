//! Certificates, keys and CA databases through the sockets and every backend: inspection is
//! backend-independent by construction, names with embedded NULs never match, the CA database
//! loads from paths, and a key of another certificate is refused when it is set.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::time::SystemTime;

use conformance::pki::{Authority, LeafSpec};
use sslsocket::{
    verify_chain, CertificateExtension, ConfigError, EncodingFormat, Error, Feature, PatternSyntax,
    Purpose, SslCertificate, SslErrorKind, SslSocket,
};
use sslsocket_tests::{
    assert_refuses_chain_verification, client_config, on_each_backend, pair, recoverable, start,
};

const STEPS: usize = 10_000;

/// Everything the inspection API says about a certificate, as one comparable value.
fn inspect(cert: &SslCertificate) -> (String, Vec<CertificateExtension>, String, Vec<u8>) {
    (
        cert.to_text(),
        cert.extensions(),
        cert.subject_display(),
        cert.public_key().unwrap().to_der().to_vec(),
    )
}

#[test]
fn inspection_takes_no_backend_so_every_backend_sees_the_same_answers() {
    // By construction: these signatures have no backend parameter and `SslCertificate` holds
    // no engine object; the compiler checks it here.
    let _: fn(&SslCertificate) -> String = SslCertificate::to_text;
    let _: fn(&SslCertificate) -> Vec<CertificateExtension> = SslCertificate::extensions;
    let _: fn(&SslCertificate, &str) -> Vec<String> = SslCertificate::subject_info;
    let _: fn(&SslCertificate, sslsocket::DigestAlgorithm) -> Vec<u8> = SslCertificate::digest;
    let _: fn(&[u8]) -> Result<SslCertificate, sslsocket::CertificateError> =
        SslCertificate::from_der;

    // And what each backend hands back from a handshake is the configured certificate, byte
    // for byte, so its inspection is identical.
    let ca = Authority::root("inspection root");
    let server = ca.issue(&LeafSpec::new(&["localhost", "127.0.0.1"]));
    let configured = inspect(server.leaf());
    on_each_backend(|backend| {
        let mut p = pair(&backend, client_config(&ca.certificate), &server, "localhost");
        start(&mut p);
        p.drive_until(STEPS, |p| p.client.is_encrypted() && p.server.is_encrypted())
            .unwrap_or_else(|e| panic!("{}: {e}", backend.name()));
        let received = p.client.peer_certificate().unwrap();
        assert_eq!(&received, server.leaf(), "{}", backend.name());
        assert_eq!(received.to_der(), server.leaf().to_der(), "{}", backend.name());
        assert_eq!(inspect(&received), configured, "{}", backend.name());
    });
}

#[test]
fn a_name_with_an_embedded_nul_never_matches_on_any_backend() {
    let ca = Authority::root("nul root");
    let evil = ca.issue(&LeafSpec::new(&["localhost\0.evil.com"]));
    let good = ca.issue(&LeafSpec::new(&["localhost"]));
    assert_eq!(evil.leaf().subject_info("CN"), ["localhost\0.evil.com"]);
    let now = SystemTime::now();
    on_each_backend(|backend| {
        let name = backend.name();
        // The verification API, on the backends that offer it.
        if backend.features().contains(Feature::ChainVerification) {
            let verify = |chain: &[SslCertificate]| {
                verify_chain(
                    backend.as_ref(),
                    chain,
                    std::slice::from_ref(&ca.certificate),
                    Some("localhost"),
                    now,
                    Purpose::ServerAuth,
                )
                .unwrap()
            };
            assert_eq!(verify(&good.chain), [], "{name}: the control must pass");
            let errors = verify(&evil.chain);
            assert!(
                errors.iter().any(|e| e.kind == SslErrorKind::HostNameMismatch),
                "{name}: {errors:?}"
            );
        }
        // A handshake, on every backend.
        let mut p = pair(&backend, client_config(&ca.certificate), &evil, "localhost");
        start(&mut p);
        let _ = p.drive_until(STEPS, |p| p.client.is_encrypted() || p.client.error().is_some());
        assert!(!p.client.is_encrypted(), "{name}: a NUL name matched localhost");
        let err = p.client.error().cloned().unwrap();
        if recoverable(&backend) {
            assert!(
                err.ssl_errors().iter().any(|e| e.kind == SslErrorKind::HostNameMismatch),
                "{name}: {err:?}"
            );
        } else {
            assert!(matches!(err, Error::Rejected { .. } | Error::Handshake(_)), "{name}: {err:?}");
        }
    });
}

#[test]
fn verify_chain_reports_expiry_at_the_given_time_and_purpose() {
    let ca = Authority::root("time root");
    let server = ca.issue(&LeafSpec::new(&["localhost"]));
    let later = SystemTime::now() + std::time::Duration::from_secs(20 * 365 * 86_400);
    on_each_backend(|backend| {
        if !backend.features().contains(Feature::ChainVerification) {
            // Without the API the backend refuses it, typed (in a native-only build this is
            // all the test can check).
            assert_refuses_chain_verification(&backend);
            return;
        }
        let trust = [ca.certificate.clone()];
        let errors = verify_chain(
            backend.as_ref(),
            &server.chain,
            &trust,
            Some("localhost"),
            later,
            Purpose::ServerAuth,
        )
        .unwrap();
        assert!(
            errors.iter().any(|e| e.kind == SslErrorKind::CertificateExpired),
            "{}: {errors:?}",
            backend.name()
        );
        let untrusted = verify_chain(
            backend.as_ref(),
            &server.chain,
            &[],
            None,
            SystemTime::now(),
            Purpose::ServerAuth,
        )
        .unwrap();
        assert!(!untrusted.is_empty(), "{}: trusted without anchors", backend.name());
        let client_use = verify_chain(
            backend.as_ref(),
            &server.chain,
            &trust,
            None,
            SystemTime::now(),
            Purpose::ClientAuth,
        )
        .unwrap();
        assert_eq!(client_use, [], "{}: the leaf allows clientAuth too", backend.name());
    });
}

#[test]
fn add_ca_certificates_from_path_loads_exactly_the_matching_files() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (Authority::root("a"), Authority::root("b"), Authority::root("c"));
    std::fs::write(dir.path().join("a.pem"), a.certificate.to_pem()).unwrap();
    std::fs::write(dir.path().join("b.pem"), b.certificate.to_pem()).unwrap();
    std::fs::write(dir.path().join("c.crt"), c.certificate.to_pem()).unwrap();
    std::fs::write(dir.path().join("junk.pem"), "no certificate here").unwrap();

    let mut socket = SslSocket::new();
    let before = socket.ssl_configuration().ca_certificates.clone();
    assert!(socket.add_ca_certificates_from_path(
        dir.path().join("*.pem"),
        EncodingFormat::Pem,
        PatternSyntax::Wildcard
    ));
    let added = &socket.ssl_configuration().ca_certificates[before.len()..];
    assert_eq!(added, [a.certificate.clone(), b.certificate.clone()]);

    let unchanged = socket.ssl_configuration().clone();
    assert!(!socket.add_ca_certificates_from_path(
        dir.path().join("*.der"),
        EncodingFormat::Pem,
        PatternSyntax::Wildcard
    ));
    assert!(!socket.add_ca_certificates_from_path(
        dir.path().join("junk.pem"),
        EncodingFormat::Pem,
        PatternSyntax::FixedString
    ));
    assert!(!socket.add_ca_certificates_from_path(
        "[",
        EncodingFormat::Pem,
        PatternSyntax::Wildcard
    ));
    assert_eq!(socket.ssl_configuration(), &unchanged);
}

#[test]
fn a_private_key_of_another_certificate_is_refused_when_it_is_set() {
    let ca = Authority::root("identity root");
    let (one, two) = (ca.leaf(&["one.example"]), ca.leaf(&["two.example"]));
    let mut socket = SslSocket::new();
    socket.set_local_certificate_chain(one.chain.clone()).unwrap();
    assert_eq!(socket.set_private_key(two.key.clone()), Err(ConfigError::KeyMismatch));
    assert_eq!(socket.ssl_configuration().private_key, None, "refused: nothing changed");
    socket.set_private_key(one.key.clone()).unwrap();
    assert_eq!(
        socket.set_local_certificate_chain(two.chain.clone()),
        Err(ConfigError::KeyMismatch)
    );
    assert_eq!(socket.ssl_configuration().local_certificate_chain, one.chain);
}

#[test]
fn a_mismatched_identity_set_whole_is_refused_before_any_byte_on_every_backend() {
    let ca = Authority::root("whole root");
    let (one, two) = (ca.leaf(&["localhost"]), ca.leaf(&["other.example"]));
    let mismatched = conformance::pki::Identity { key: two.key.clone(), ..one.clone() };
    on_each_backend(|backend| {
        let mut p = pair(&backend, client_config(&ca.certificate), &mismatched, "localhost");
        start(&mut p);
        let _ = p.drive_until(STEPS, |p| p.server.error().is_some());
        let err = p.server.error().cloned();
        assert!(
            matches!(err, Some(Error::Config(ConfigError::KeyMismatch))),
            "{}: {err:?}",
            backend.name()
        );
        assert!(!p.client.is_encrypted() && !p.server.is_encrypted());
    });
}
