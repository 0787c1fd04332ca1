//! `SslKey` over generated keys of every supported kind: RSA 2048/3072, EC P-256/384/521,
//! Ed25519; PEM and DER; PKCS#8, PKCS#1, SEC1, encrypted PKCS#8 and the legacy OpenSSL
//! encrypted PEM, the encrypted forms written by `openssl(1)` at test time.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::path::Path;
use std::process::Command;

use ssl_api::{
    CertificateError, ConfigError, EcCurve, KeyAlgorithm, KeyFormat, KeyType, SslCertificate,
    SslConfiguration, SslKey,
};

/// One generated key with a self-signed certificate for it.
struct Kind {
    name: &'static str,
    algorithm: KeyAlgorithm,
    bits: u32,
    curve: Option<EcCurve>,
    pkcs8_der: Vec<u8>,
    cert: SslCertificate,
}

fn kinds() -> Vec<Kind> {
    use rcgen::{KeyPair, RsaKeySize};
    let rsa = |size| KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, size).unwrap();
    let keys = [
        ("rsa-2048", KeyAlgorithm::Rsa, 2048, None, rsa(RsaKeySize::_2048)),
        ("rsa-3072", KeyAlgorithm::Rsa, 3072, None, rsa(RsaKeySize::_3072)),
        (
            "p-256",
            KeyAlgorithm::Ec,
            256,
            Some(EcCurve::P256),
            KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap(),
        ),
        (
            "p-384",
            KeyAlgorithm::Ec,
            384,
            Some(EcCurve::P384),
            KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap(),
        ),
        (
            "p-521",
            KeyAlgorithm::Ec,
            521,
            Some(EcCurve::P521),
            KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap(),
        ),
        (
            "ed25519",
            KeyAlgorithm::Ed25519,
            256,
            None,
            KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap(),
        ),
    ];
    keys.into_iter()
        .map(|(name, algorithm, bits, curve, key)| {
            let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
            let cert = params.self_signed(&key).unwrap();
            Kind {
                name,
                algorithm,
                bits,
                curve,
                pkcs8_der: key.serialize_der(),
                cert: SslCertificate::from_der(cert.der()).unwrap(),
            }
        })
        .collect()
}

/// Runs `openssl args…` in `dir`; panics with its error output when it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn pem(label: &str, der: &[u8]) -> String {
    pem::encode(&pem::Pem::new(label, der.to_vec()))
}

/// The key as PKCS#8 v1: OpenSSL 3.0 cannot read the PKCS#8 v2 (RFC 5958) Ed25519 keys
/// aws-lc writes (with their public key), so the tests hand it v1.
fn v1(pkcs8_der: &[u8]) -> Vec<u8> {
    use pkcs8::der::{Decode, Encode};
    let mut info = pkcs8::PrivateKeyInfo::from_der(pkcs8_der).unwrap();
    info.public_key = None;
    info.to_der().unwrap()
}

/// Whether `key` is the key of `kind`: the same public key, or for a v1 Ed25519 key (which
/// carries no public key) the same PKCS#8 bytes.
fn is_key_of(key: &SslKey, kind: &Kind) -> bool {
    match key.public_key() {
        Some(_) => same_key(key, &kind.cert.public_key().unwrap()),
        None => key.to_der() == v1(&kind.pkcs8_der).as_slice(),
    }
}

fn same_key(a: &SslKey, b: &SslKey) -> bool {
    a.same_public_key(b) == Some(true)
}

#[test]
fn every_kind_reads_from_pkcs8_pem_and_der_with_its_algorithm_length_and_curve() {
    for kind in kinds() {
        let from_der = SslKey::private_key_from_der(&kind.pkcs8_der, KeyFormat::Pkcs8).unwrap();
        let from_pem =
            SslKey::private_key_from_pem(pem("PRIVATE KEY", &kind.pkcs8_der).as_bytes()).unwrap();
        assert_eq!(from_der, from_pem, "{}", kind.name);
        assert_eq!(from_der.algorithm(), kind.algorithm, "{}", kind.name);
        assert_eq!(from_der.length(), kind.bits, "{}", kind.name);
        assert_eq!(from_der.ec_curve(), kind.curve, "{}", kind.name);
        assert_eq!(from_der.key_type(), KeyType::PrivateKey);
        assert_eq!(from_der.to_der(), kind.pkcs8_der.as_slice());

        let public = kind.cert.public_key().unwrap();
        assert_eq!(public.key_type(), KeyType::PublicKey);
        assert_eq!(public.algorithm(), kind.algorithm, "{}", kind.name);
        assert_eq!(public.length(), kind.bits, "{}", kind.name);
        assert_eq!(public.ec_curve(), kind.curve, "{}", kind.name);
        // rcgen's keys (aws-lc) carry their public part, Ed25519 included (PKCS#8 v2).
        assert!(same_key(&from_der, &public), "{}", kind.name);
        assert!(format!("{from_der:?}").contains("length"), "{from_der:?}");
    }
}

#[test]
fn pkcs1_and_sec1_keys_written_by_openssl_read_as_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    for kind in kinds().into_iter().filter(|k| k.algorithm != KeyAlgorithm::Ed25519) {
        std::fs::write(dir.path().join("k.pem"), pem("PRIVATE KEY", &kind.pkcs8_der)).unwrap();
        // `openssl rsa -traditional` writes PKCS#1; `openssl ec` writes SEC1 (the DER copy
        // without its public point, so both shapes are read).
        let (format, label, pem_args, der_args): (_, _, &[&str], &[&str]) = match kind.algorithm {
            KeyAlgorithm::Rsa => (
                KeyFormat::Pkcs1,
                "RSA PRIVATE KEY",
                &["rsa", "-in", "k.pem", "-traditional", "-out", "t.pem"],
                &["rsa", "-in", "k.pem", "-traditional", "-outform", "DER", "-out", "t.der"],
            ),
            _ => (
                KeyFormat::Sec1,
                "EC PRIVATE KEY",
                &["ec", "-in", "k.pem", "-out", "t.pem"],
                &["ec", "-in", "k.pem", "-no_public", "-outform", "DER", "-out", "t.der"],
            ),
        };
        openssl(dir.path(), pem_args);
        openssl(dir.path(), der_args);
        let text = std::fs::read(dir.path().join("t.pem")).unwrap();
        assert!(String::from_utf8_lossy(&text).contains(label), "{}", kind.name);
        let from_pem = SslKey::private_key_from_pem(&text).unwrap();
        let der = std::fs::read(dir.path().join("t.der")).unwrap();
        let from_der = SslKey::private_key_from_der(&der, format).unwrap();
        if format == KeyFormat::Sec1 {
            assert_eq!(from_der.public_key(), None, "{}: no public point", kind.name);
            assert_eq!(from_der.length(), kind.bits);
        } else {
            assert_eq!(from_pem, from_der, "{}", kind.name);
        }
        assert_eq!(from_pem.format(), format);
        assert_eq!(from_pem.length(), kind.bits, "{}", kind.name);
        assert_eq!(from_pem.ec_curve(), kind.curve, "{}", kind.name);
        assert!(same_key(&from_pem, &kind.cert.public_key().unwrap()), "{}", kind.name);

        // Written back as PKCS#8, OpenSSL reads the same key.
        let pkcs8_pem = from_pem.to_pem(None).unwrap();
        assert!(pkcs8_pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pkcs8_pem}");
        std::fs::write(dir.path().join("back.pem"), &pkcs8_pem).unwrap();
        openssl(dir.path(), &["pkey", "-in", "back.pem", "-pubout", "-out", "pub.pem"]);
        let public =
            SslKey::public_key_from_pem(&std::fs::read(dir.path().join("pub.pem")).unwrap())
                .unwrap();
        assert!(same_key(&public, &kind.cert.public_key().unwrap()), "{}", kind.name);
    }
}

#[test]
fn encrypted_pkcs8_from_openssl_opens_with_the_right_passphrase_only() {
    let dir = tempfile::tempdir().unwrap();
    for kind in kinds() {
        std::fs::write(dir.path().join("k.pem"), pem("PRIVATE KEY", &v1(&kind.pkcs8_der))).unwrap();
        for cipher in ["aes-256-cbc", "aes-128-cbc", "des3"] {
            openssl(
                dir.path(),
                &[
                    "pkcs8",
                    "-topk8",
                    "-v2",
                    cipher,
                    "-in",
                    "k.pem",
                    "-passout",
                    "pass:s3cret",
                    "-out",
                    "e.pem",
                ],
            );
            let text = std::fs::read(dir.path().join("e.pem")).unwrap();
            assert!(String::from_utf8_lossy(&text).contains("ENCRYPTED PRIVATE KEY"));
            let key = SslKey::private_key_from_pem_with_passphrase(&text, b"s3cret").unwrap();
            assert!(is_key_of(&key, &kind), "{} {cipher}", kind.name);
            assert_eq!(key.length(), kind.bits);
            assert_eq!(
                SslKey::private_key_from_pem_with_passphrase(&text, b"wrong"),
                Err(CertificateError::BadPassphrase),
                "{} {cipher}",
                kind.name
            );
            assert_eq!(
                SslKey::private_key_from_pem(&text),
                Err(CertificateError::PassphraseRequired)
            );
        }
        openssl(
            dir.path(),
            &[
                "pkcs8",
                "-topk8",
                "-v2",
                "aes-256-cbc",
                "-in",
                "k.pem",
                "-passout",
                "pass:s3cret",
                "-outform",
                "DER",
                "-out",
                "e.der",
            ],
        );
        let der = std::fs::read(dir.path().join("e.der")).unwrap();
        let key = SslKey::private_key_from_encrypted_der(&der, b"s3cret").unwrap();
        assert!(is_key_of(&key, &kind), "{}", kind.name);
        assert_eq!(
            SslKey::private_key_from_encrypted_der(&der, b""),
            Err(CertificateError::BadPassphrase)
        );
    }
}

#[test]
fn legacy_encrypted_pem_from_openssl_opens_with_the_right_passphrase_only() {
    let dir = tempfile::tempdir().unwrap();
    for kind in kinds().into_iter().filter(|k| k.algorithm != KeyAlgorithm::Ed25519) {
        std::fs::write(dir.path().join("k.pem"), pem("PRIVATE KEY", &kind.pkcs8_der)).unwrap();
        // `openssl ec` writes SEC1 unasked (`-check` is only filler keeping one argument list).
        let (tool, legacy) = if kind.algorithm == KeyAlgorithm::Rsa {
            ("rsa", "-traditional")
        } else {
            ("ec", "-check")
        };
        openssl(dir.path(), &[tool, "-in", "k.pem", legacy, "-out", "plain.pem"]);
        let plain =
            SslKey::private_key_from_pem(&std::fs::read(dir.path().join("plain.pem")).unwrap())
                .unwrap();
        // Single DES is in OpenSSL 3's legacy provider only: not offered by the tool here.
        for cipher in ["-aes128", "-aes192", "-aes256", "-des3"] {
            openssl(
                dir.path(),
                &[
                    tool,
                    "-in",
                    "k.pem",
                    legacy,
                    cipher,
                    "-passout",
                    "pass:pa55 word",
                    "-out",
                    "e.pem",
                ],
            );
            let text = std::fs::read(dir.path().join("e.pem")).unwrap();
            assert!(String::from_utf8_lossy(&text).contains("Proc-Type: 4,ENCRYPTED"));
            let key = SslKey::private_key_from_pem_with_passphrase(&text, b"pa55 word").unwrap();
            assert_eq!(key, plain, "{} {cipher}", kind.name);
            assert_eq!(
                SslKey::private_key_from_pem_with_passphrase(&text, b"pa55 wore"),
                Err(CertificateError::BadPassphrase),
                "{} {cipher}",
                kind.name
            );
            assert_eq!(
                SslKey::private_key_from_pem(&text),
                Err(CertificateError::PassphraseRequired)
            );
        }
    }
}

#[test]
fn to_pem_with_a_passphrase_writes_encrypted_pkcs8_that_openssl_opens() {
    let dir = tempfile::tempdir().unwrap();
    for kind in kinds() {
        let key = SslKey::private_key_from_der(&v1(&kind.pkcs8_der), KeyFormat::Pkcs8).unwrap();
        let plain = key.to_pem(None).unwrap();
        assert_eq!(SslKey::private_key_from_pem(plain.as_bytes()).unwrap(), key);

        let encrypted = key.to_pem(Some(b"top secret")).unwrap();
        assert!(encrypted.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"), "{encrypted}");
        let back =
            SslKey::private_key_from_pem_with_passphrase(encrypted.as_bytes(), b"top secret")
                .unwrap();
        assert_eq!(back, key, "{}", kind.name);
        assert_eq!(
            SslKey::private_key_from_pem_with_passphrase(encrypted.as_bytes(), b"top secreT"),
            Err(CertificateError::BadPassphrase)
        );
        std::fs::write(dir.path().join("e.pem"), &encrypted).unwrap();
        openssl(
            dir.path(),
            &["pkey", "-in", "e.pem", "-passin", "pass:top secret", "-out", "d.pem"],
        );
        let opened =
            SslKey::private_key_from_pem(&std::fs::read(dir.path().join("d.pem")).unwrap());
        assert!(opened.unwrap() == key, "{}: openssl opened another key", kind.name);
    }
}

#[test]
fn public_keys_read_and_write_as_pem() {
    let dir = tempfile::tempdir().unwrap();
    for kind in kinds() {
        let public = kind.cert.public_key().unwrap();
        let text = public.to_pem(Some(b"ignored")).unwrap();
        assert!(text.starts_with("-----BEGIN PUBLIC KEY-----"), "{text}");
        assert_eq!(SslKey::public_key_from_pem(text.as_bytes()).unwrap(), public);
        assert_eq!(public.public_key(), Some(public.clone()));
        std::fs::write(dir.path().join("pub.pem"), &text).unwrap();
        openssl(dir.path(), &["pkey", "-pubin", "-in", "pub.pem", "-noout"]);
        if kind.algorithm == KeyAlgorithm::Rsa {
            openssl(
                dir.path(),
                &["rsa", "-pubin", "-in", "pub.pem", "-RSAPublicKey_out", "-out", "rsa.pem"],
            );
            let rsa =
                SslKey::public_key_from_pem(&std::fs::read(dir.path().join("rsa.pem")).unwrap())
                    .unwrap();
            assert_eq!(rsa, public);
        }
    }
    // A private key is not a public key, and the reverse.
    assert!(SslKey::public_key_from_pem(
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    )
    .is_err());
}

#[test]
fn a_key_of_another_certificate_is_rejected_when_the_configuration_is_validated() {
    let kinds = kinds();
    for (i, kind) in kinds.iter().enumerate() {
        let own = SslKey::private_key_from_der(&kind.pkcs8_der, KeyFormat::Pkcs8).unwrap();
        let other = &kinds[(i + 1) % kinds.len()];
        let foreign = SslKey::private_key_from_der(&other.pkcs8_der, KeyFormat::Pkcs8).unwrap();
        let config = |key: Option<SslKey>, chain: Vec<SslCertificate>| SslConfiguration {
            private_key: key,
            local_certificate_chain: chain,
            ..SslConfiguration::default()
        };
        assert_eq!(config(Some(own.clone()), vec![kind.cert.clone()]).validate(), Ok(()));
        assert_eq!(
            config(Some(foreign.clone()), vec![kind.cert.clone()]).validate(),
            Err(ConfigError::KeyMismatch),
            "{} with the key of {}",
            kind.name,
            other.name
        );
        // Half a configuration is not yet wrong.
        assert_eq!(config(Some(foreign), vec![]).validate(), Ok(()));
        assert_eq!(config(None, vec![kind.cert.clone()]).validate(), Ok(()));
        // A public key is no private key.
        let public = kind.cert.public_key().unwrap();
        assert!(matches!(
            config(Some(public), vec![kind.cert.clone()]).validate(),
            Err(ConfigError::Certificate(_))
        ));
    }
}

#[test]
fn an_ed25519_key_without_its_public_part_cannot_be_compared_and_passes_to_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    openssl(dir.path(), &["genpkey", "-algorithm", "ed25519", "-out", "k.pem"]);
    let key =
        SslKey::private_key_from_pem(&std::fs::read(dir.path().join("k.pem")).unwrap()).unwrap();
    assert_eq!(key.algorithm(), KeyAlgorithm::Ed25519);
    assert_eq!(key.length(), 256);
    assert_eq!(key.public_key(), None, "OpenSSL writes PKCS#8 v1 without the public key");
    let other = kinds().pop().unwrap();
    let config = SslConfiguration {
        private_key: Some(key),
        local_certificate_chain: vec![other.cert],
        ..SslConfiguration::default()
    };
    assert_eq!(config.validate(), Ok(()), "left to the backend's own check");
}

#[test]
fn debug_output_never_shows_key_bytes() {
    let kind = kinds().remove(2);
    let key = SslKey::private_key_from_der(&kind.pkcs8_der, KeyFormat::Pkcs8).unwrap();
    let shown = format!("{key:?}");
    assert!(!shown.contains(&format!("{:?}", &kind.pkcs8_der[..8])), "{shown}");
    assert!(shown.contains("Ec") && shown.contains("256"), "{shown}");
}

#[test]
fn hostile_key_input_gives_typed_errors_without_panicking() {
    let kind = kinds().remove(0);
    for len in 0..kind.pkcs8_der.len() {
        let cut = &kind.pkcs8_der[..len];
        for format in [KeyFormat::Pkcs8, KeyFormat::Pkcs1, KeyFormat::Sec1] {
            assert!(SslKey::private_key_from_der(cut, format).is_err(), "{len} {format:?}");
        }
        assert!(SslKey::public_key_from_der(cut).is_err());
        assert!(SslKey::private_key_from_encrypted_der(cut, b"x").is_err());
    }
    for garbage in [
        &b""[..],
        b"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n",
        b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n",
        b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\nAAAA\n-----END RSA PRIVATE KEY-----\n",
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        &[0xff; 300],
    ] {
        assert!(SslKey::private_key_from_pem(garbage).is_err());
        assert!(SslKey::private_key_from_pem_with_passphrase(garbage, b"pw").is_err());
        assert!(SslKey::public_key_from_pem(garbage).is_err());
    }
}
