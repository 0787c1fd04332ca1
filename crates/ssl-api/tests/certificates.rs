//! `SslCertificate` inspection over generated certificates, and hostile input: garbage PEM,
//! truncated DER, 10,000 SANs, a 64 KiB subject, names that are not valid text.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rcgen::{CertificateParams, DnType, DnValue, KeyPair, SanType};
use ssl_api::{
    AlternativeName, CertificateError, DigestAlgorithm, EncodingFormat, KeyAlgorithm,
    PatternSyntax, SslCertificate,
};

fn certificate(params: CertificateParams) -> SslCertificate {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    SslCertificate::from_der(params.self_signed(&key).unwrap().der()).unwrap()
}

fn der_of(params: CertificateParams) -> Vec<u8> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    params.self_signed(&key).unwrap().der().to_vec()
}

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn localhost() -> CertificateParams {
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.subject_alt_names.push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    params.distinguished_name.push(DnType::CommonName, "localhost");
    params.distinguished_name.push(DnType::OrganizationName, "Example, Inc.");
    params
}

#[test]
fn digests_of_every_algorithm_equal_openssl_fingerprints() {
    let cert = certificate(localhost());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.pem"), cert.to_pem()).unwrap();
    for (algorithm, flag) in [
        (DigestAlgorithm::Md5, "-md5"),
        (DigestAlgorithm::Sha1, "-sha1"),
        (DigestAlgorithm::Sha224, "-sha224"),
        (DigestAlgorithm::Sha256, "-sha256"),
        (DigestAlgorithm::Sha384, "-sha384"),
        (DigestAlgorithm::Sha512, "-sha512"),
    ] {
        let printed =
            openssl(dir.path(), &["x509", "-in", "c.pem", "-noout", "-fingerprint", flag]);
        let theirs = printed.trim().split('=').nth(1).unwrap().replace(':', "").to_lowercase();
        assert_eq!(ssl_api::certificate::hex(&cert.digest(algorithm)), theirs, "{algorithm:?}");
    }
    assert_eq!(cert.digest(DigestAlgorithm::Sha256), cert.sha256().to_vec());
}

#[test]
fn the_public_key_is_the_subject_public_key_info() {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let cert = SslCertificate::from_der(localhost().self_signed(&key).unwrap().der()).unwrap();
    let public = cert.public_key().unwrap();
    let pem = ssl_api::SslKey::public_key_from_pem(key.public_key_pem().as_bytes()).unwrap();
    assert_eq!(public, pem);
    assert_eq!(public.to_der(), cert.public_key_der());
    assert_eq!((public.algorithm(), public.length()), (KeyAlgorithm::Ec, 384));
}

#[test]
fn extensions_are_listed_with_names_criticality_and_readable_values() {
    let mut params = localhost();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(2));
    params.key_usages =
        vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params
        .custom_extensions
        .push(rcgen::CustomExtension::from_oid_content(&[1, 2, 3, 4], vec![5, 0]));
    let cert = certificate(params);
    let extensions = cert.extensions();
    let find = |name: &str| extensions.iter().find(|e| e.name.as_deref() == Some(name)).unwrap();
    assert_eq!(find("subjectAltName").value, "DNS:localhost, IP Address:127.0.0.1");
    assert_eq!(find("subjectAltName").oid, "2.5.29.17");
    assert_eq!(find("basicConstraints").value, "CA:TRUE, pathlen:2");
    assert!(find("basicConstraints").critical);
    assert!(find("keyUsage").value.contains("Key Cert Sign"), "{:?}", find("keyUsage"));
    assert_eq!(find("extendedKeyUsage").value, "TLS Web Server Authentication");
    let unknown = extensions.iter().find(|e| e.oid == "1.2.3.4").unwrap();
    assert_eq!((unknown.name.as_deref(), unknown.supported), (None, false));
    assert_eq!(unknown.value, "0500");
}

#[test]
fn to_text_shows_the_fields_people_ask_about() {
    let cert = certificate(localhost());
    let text = cert.to_text();
    for expected in [
        "Version: 3",
        "Subject: CN=localhost, O=Example, Inc.",
        "Not Before:",
        "Public-Key: (256 bit, Ec)",
        "subjectAltName:",
        "DNS:localhost, IP Address:127.0.0.1",
        &cert.sha256_hex(),
    ] {
        assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
    }
}

#[test]
fn attributes_with_several_values_keep_them_all_in_order() {
    let dir = tempfile::tempdir().unwrap();
    openssl(
        dir.path(),
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "k.pem",
            "-out",
            "c.pem",
            "-days",
            "1",
            "-subj",
            "/CN=multi/OU=first unit/OU=second unit/O=Org/emailAddress=a@example.com",
        ],
    );
    let cert = SslCertificate::from_path(
        dir.path().join("c.pem"),
        EncodingFormat::Pem,
        PatternSyntax::FixedString,
    )
    .unwrap()
    .remove(0);
    assert_eq!(cert.subject_info("OU"), ["first unit", "second unit"]);
    assert_eq!(cert.subject_info("emailAddress"), ["a@example.com"]);
    assert_eq!(cert.issuer_info("OU"), ["first unit", "second unit"]);
    assert!(
        cert.subject_display().contains("OU=second unit,OU=first unit"),
        "{}",
        cert.subject_display()
    );
}

#[test]
fn names_in_teletex_bmp_and_universal_strings_are_decoded() {
    let mut params = localhost();
    params
        .distinguished_name
        .push(DnType::OrganizationalUnitName, DnValue::BmpString("Åbo ünit".try_into().unwrap()));
    params
        .distinguished_name
        .push(DnType::LocalityName, DnValue::UniversalString("Zürich 🦀".try_into().unwrap()));
    params
        .distinguished_name
        .push(DnType::StateOrProvinceName, DnValue::TeletexString("Plain".try_into().unwrap()));
    let cert = certificate(params);
    assert_eq!(cert.subject_info("OU"), ["Åbo ünit"]);
    assert_eq!(cert.subject_info("L"), ["Zürich 🦀"]);
    assert_eq!(cert.subject_info("ST"), ["Plain"]);
}

#[test]
fn a_name_with_an_embedded_nul_is_kept_whole_and_shown_escaped() {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.subject_alt_names.push(SanType::DnsName("localhost\0.evil.com".try_into().unwrap()));
    params.distinguished_name.push(DnType::CommonName, "localhost\0.evil.com");
    let cert = certificate(params);
    assert_eq!(
        cert.subject_alternative_names(),
        [AlternativeName::Dns("localhost\0.evil.com".into())]
    );
    assert_eq!(cert.subject_info("CN"), ["localhost\0.evil.com"]);
    assert_eq!(cert.subject_display(), "CN=localhost\\00.evil.com");
    let text = cert.to_text();
    assert!(text.contains("DNS:localhost\\x00.evil.com"), "{text}");
    assert!(!text.contains('\0'));
}

#[test]
fn garbage_pem_and_truncated_der_are_typed_errors() {
    for garbage in [
        &b""[..],
        b"hello",
        b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        b"-----BEGIN CERTIFICATE-----\nMIIB\n",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        &[0xff; 1000],
    ] {
        let err = SslCertificate::from_pem(garbage).unwrap_err();
        assert!(matches!(err, CertificateError::Pem(_) | CertificateError::Der(_)), "{err:?}");
    }
    let der = der_of(localhost());
    for len in 0..der.len() {
        assert!(
            matches!(SslCertificate::from_der(&der[..len]), Err(CertificateError::Der(_))),
            "{len}"
        );
    }
    let mut longer = der.clone();
    longer.push(0);
    assert!(matches!(SslCertificate::from_der(&longer), Err(CertificateError::Der(_))));
    // Every single-byte corruption parses or fails cleanly.
    for i in 0..der.len() {
        let mut bad = der.clone();
        bad[i] ^= 0xff;
        if let Ok(cert) = SslCertificate::from_der(&bad) {
            let _ = (cert.to_text(), cert.extensions(), cert.public_key());
        }
    }
}

#[test]
fn ten_thousand_sans_parse_in_bounded_time() {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    for i in 0..10_000 {
        params
            .subject_alt_names
            .push(SanType::DnsName(format!("host{i}.example.com").try_into().unwrap()));
    }
    let der = der_of(params);
    let started = Instant::now();
    let cert = SslCertificate::from_der(&der).unwrap();
    let text = cert.to_text();
    let elapsed = started.elapsed();
    assert_eq!(cert.subject_alternative_names().len(), 10_000);
    assert!(text.contains("DNS:host9999.example.com"));
    // A hang guard, not a performance target (debug build).
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[test]
fn a_64_kib_subject_parses() {
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let long = "x".repeat(64 * 1024);
    params.distinguished_name.push(DnType::CommonName, long.as_str());
    let cert = certificate(params);
    assert_eq!(cert.subject_info("CN"), [long]);
}

#[test]
fn names_that_are_not_valid_text_are_typed_errors() {
    // A UTF8String whose bytes are not UTF-8: the DER is rewritten in place (the signature no
    // longer matches, which parsing does not check). The issuer comes first in the DER.
    let mut params = CertificateParams::new(vec!["zzzz.example".to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, "QQQQ");
    let der = der_of(params);
    let replace = |der: &[u8], from: &[u8], to: &[u8]| {
        let at = der.windows(from.len()).position(|w| w == from).unwrap();
        let mut out = der.to_vec();
        out[at..at + from.len()].copy_from_slice(to);
        out
    };
    let bad_cn = replace(&der, b"QQQQ", &[0xff, 0xfe, 0xc3, 0x28]);
    let err = SslCertificate::from_der(&bad_cn).unwrap_err();
    assert!(
        matches!(&err, CertificateError::Der(m) if m.contains("issuer attribute CN")),
        "{err:?}"
    );

    let bad_san = replace(&der, b"zzzz", &[0xff, 0xfe, 0xc3, 0x28]);
    let err = SslCertificate::from_der(&bad_san).unwrap_err();
    assert!(matches!(&err, CertificateError::Der(m) if m.contains("subjectAltName")), "{err:?}");
}

#[test]
fn from_path_with_a_wildcard_loads_exactly_the_matching_files() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (certificate(localhost()), certificate(localhost()), certificate(localhost()));
    std::fs::write(dir.path().join("a.pem"), a.to_pem()).unwrap();
    std::fs::write(dir.path().join("b.pem"), b.to_pem() + &c.to_pem()).unwrap();
    std::fs::write(dir.path().join("c.der"), c.to_der()).unwrap();
    std::fs::write(dir.path().join("notes.pem"), "not a certificate").unwrap();
    let pattern = dir.path().join("*.pem");
    let loaded =
        SslCertificate::from_path(&pattern, EncodingFormat::Pem, PatternSyntax::Wildcard).unwrap();
    assert_eq!(loaded, [a.clone(), b, c.clone()]);
    let der = SslCertificate::from_path(
        dir.path().join("*.der"),
        EncodingFormat::Der,
        PatternSyntax::Wildcard,
    )
    .unwrap();
    assert_eq!(der, [c]);
    let regex = format!("{}/a\\.pem", dir.path().display());
    let by_regex =
        SslCertificate::from_path(regex, EncodingFormat::Pem, PatternSyntax::RegularExpression)
            .unwrap();
    assert_eq!(by_regex, [a]);
    let none = SslCertificate::from_path(
        dir.path().join("*.crt"),
        EncodingFormat::Pem,
        PatternSyntax::Wildcard,
    )
    .unwrap();
    assert!(none.is_empty());
}
