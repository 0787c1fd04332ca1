//! Hostile input to the library gives a typed error within a second, never an abort, a hang or
//! an unbounded allocation: encrypted keys whose key derivation would run for minutes or ask
//! for a terabyte.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::time::{Duration, Instant};

use pkcs8::der::Encode;
use pkcs8::pkcs5::pbes2::{self, Kdf, Pbkdf2Params, Pbkdf2Prf, ScryptParams};
use ssl_api::{CertificateError, KeyAlgorithm, SslKey};

/// Generous: the checks run before any derivation and take microseconds.
const QUICK: Duration = Duration::from_secs(10);

/// An `ENCRYPTED PRIVATE KEY` PEM block with `kdf` and AES-256-CBC over garbage: the check
/// must refuse it before the derivation, so the ciphertext never matters.
fn encrypted_pem(kdf: Kdf<'_>) -> Vec<u8> {
    let iv = [7u8; 16];
    let info = pkcs8::EncryptedPrivateKeyInfo {
        encryption_algorithm: pkcs8::pkcs5::EncryptionScheme::Pbes2(pbes2::Parameters {
            kdf,
            encryption: pbes2::EncryptionScheme::Aes256Cbc { iv: &iv },
        }),
        encrypted_data: &[0x55; 48],
    };
    pem::encode(&pem::Pem::new("ENCRYPTED PRIVATE KEY", info.to_der().unwrap())).into_bytes()
}

fn scrypt(log_n: u32, r: u16, p: u16) -> Kdf<'static> {
    Kdf::Scrypt(ScryptParams {
        salt: b"saltsalt",
        cost_parameter: 1 << log_n,
        block_size: r,
        parallelization: p,
        key_length: None,
    })
}

fn pbkdf2(iterations: u32) -> Kdf<'static> {
    Kdf::Pbkdf2(Pbkdf2Params {
        salt: b"saltsalt",
        iteration_count: iterations,
        key_length: None,
        prf: Pbkdf2Prf::HmacWithSha256,
    })
}

#[test]
fn key_derivation_beyond_the_limits_is_a_typed_error_within_a_second() {
    let cases = [
        ("scrypt N = 2^30 (a terabyte)", scrypt(30, 8, 1), "scrypt"),
        ("scrypt N = 2^21", scrypt(21, 1, 1), "scrypt"),
        ("scrypt N = 2^20, r = 8 (1 GiB)", scrypt(20, 8, 1), "scrypt"),
        ("scrypt N = 2^16, p = 200 (work)", scrypt(16, 1, 200), "scrypt"),
        ("scrypt N = 2^10, r = p = 65535", scrypt(10, u16::MAX, u16::MAX), "scrypt"),
        ("pbkdf2 2^31 - 1 iterations", pbkdf2(i32::MAX as u32), "pbkdf2"),
        ("pbkdf2 10^7 + 1 iterations", pbkdf2(ssl_api::key::MAX_PBKDF2_ITERATIONS + 1), "pbkdf2"),
    ];
    for (name, kdf, expected) in cases {
        let pem = encrypted_pem(kdf);
        let started = Instant::now();
        let result = SslKey::private_key_from_pem_with_passphrase(&pem, b"secret");
        let took = started.elapsed();
        println!("{name}: {result:?} in {took:?}");
        match result {
            Err(CertificateError::KdfLimit { kdf, .. }) => assert_eq!(kdf, expected, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
        assert!(took < QUICK, "{name}: {took:?}");
        let der = pem::parse(&pem).unwrap().into_contents();
        assert!(
            matches!(
                SslKey::private_key_from_encrypted_der(&der, b"secret"),
                Err(CertificateError::KdfLimit { .. })
            ),
            "{name}: der"
        );
    }
}

#[test]
fn a_key_derivation_within_the_limits_still_opens() {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let info = pkcs8::PrivateKeyInfo::try_from(key.serialized_der()).unwrap();
    let iv = [2u8; 16];
    let params = pbes2::Parameters {
        kdf: scrypt(10, 8, 1),
        encryption: pbes2::EncryptionScheme::Aes256Cbc { iv: &iv },
    };
    let der = info.encrypt_with_params(params, b"secret").unwrap();
    let opened = SslKey::private_key_from_encrypted_der(der.as_bytes(), b"secret").unwrap();
    assert_eq!(opened.algorithm(), KeyAlgorithm::Ec);
    assert!(matches!(
        SslKey::private_key_from_encrypted_der(der.as_bytes(), b"wrong"),
        Err(CertificateError::BadPassphrase)
    ));
}
