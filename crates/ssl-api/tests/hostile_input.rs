//! Hostile input to the library gives a typed error within a second, never an abort, a hang or
//! an unbounded allocation: encrypted keys whose key derivation would run for minutes or ask
//! for a terabyte; certificate and key paths that name a FIFO, a device, an endless `/proc`
//! file or a huge file.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::time::{Duration, Instant};

use pkcs8::der::Encode;
use pkcs8::pkcs5::pbes2::{self, Kdf, Pbkdf2Params, Pbkdf2Prf, ScryptParams};
use ssl_api::files::MAX_FILE_SIZE;
use ssl_api::{
    CertificateError, EncodingFormat, KeyAlgorithm, PatternSyntax, SslCertificate, SslKey,
};

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

/// Runs `load` on a thread and waits at most [`QUICK`] for it: a blocked open of a FIFO must
/// fail the test, not hang it.
fn within_quick<T: Send + 'static>(what: &str, load: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let started = Instant::now();
    std::thread::spawn(move || tx.send(load()));
    let result =
        rx.recv_timeout(QUICK).unwrap_or_else(|_| panic!("{what}: no answer in {QUICK:?}"));
    println!("{what}: answered in {:?}", started.elapsed());
    result
}

#[cfg(unix)]
#[test]
fn certificate_and_key_paths_read_regular_files_only_and_within_the_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.pem");
    rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from_raw_mode(0o600)).unwrap();
    let huge = dir.path().join("huge.pem");
    // Sparse: one byte over the limit costs no disk.
    std::fs::File::create(&huge).unwrap().set_len(MAX_FILE_SIZE + 1).unwrap();
    let at_limit = dir.path().join("at-limit.pem");
    std::fs::File::create(&at_limit).unwrap().set_len(MAX_FILE_SIZE).unwrap();
    let cases = [
        (fifo.clone(), "not a regular file"),
        ("/dev/zero".into(), "not a regular file"),
        (dir.path().to_path_buf(), "not a regular file"),
        (huge.clone(), "too large"),
    ];
    for (path, expected) in cases {
        let shown = path.display().to_string();
        let p = path.clone();
        let cert = within_quick(&format!("certificate {shown}"), move || {
            SslCertificate::from_path(&p, EncodingFormat::Pem, PatternSyntax::FixedString)
        });
        let p = path.clone();
        let key = within_quick(&format!("key {shown}"), move || {
            SslKey::private_key_from_file(&p, Some(b"secret"))
        });
        for result in [cert.map(|_| ()), key.map(|_| ())] {
            match (expected, result) {
                ("not a regular file", Err(CertificateError::NotARegularFile { path })) => {
                    assert_eq!(path, shown);
                }
                ("too large", Err(CertificateError::FileTooLarge { path, limit })) => {
                    assert_eq!((path, limit), (shown.clone(), MAX_FILE_SIZE));
                }
                (_, other) => panic!("{shown}: {other:?}"),
            }
        }
    }
    // A file at the limit is read (and is no certificate: a parse error, not a size error).
    let result =
        SslCertificate::from_path(&at_limit, EncodingFormat::Pem, PatternSyntax::FixedString);
    assert!(matches!(result, Err(CertificateError::Pem(_))), "{result:?}");
    // A pattern skips what it cannot use: the FIFO, the huge file, endless /proc files.
    let pattern = dir.path().join("*");
    let found = within_quick("pattern over a FIFO and a huge file", move || {
        SslCertificate::from_path(&pattern, EncodingFormat::Pem, PatternSyntax::Wildcard)
    });
    assert_eq!(found, Ok(Vec::new()));
    let found = within_quick("pattern /proc/self/*", || {
        SslCertificate::from_path("/proc/self/*", EncodingFormat::Pem, PatternSyntax::Wildcard)
    });
    assert_eq!(found, Ok(Vec::new()));
}

#[test]
fn a_key_file_reads_in_every_form_the_pem_and_der_readers_take() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let plain =
        SslKey::private_key_from_der(key.serialized_der(), ssl_api::KeyFormat::Pkcs8).unwrap();
    let encrypted_pem = plain.to_pem(Some(b"secret")).unwrap();
    let encrypted_der = pem::parse(&encrypted_pem).unwrap().into_contents();
    let files = [
        ("key.pem", key.serialize_pem().into_bytes(), None),
        ("key.der", key.serialized_der().to_vec(), None),
        ("key.enc.pem", encrypted_pem.into_bytes(), Some(&b"secret"[..])),
        ("key.enc.der", encrypted_der, Some(&b"secret"[..])),
    ];
    for (name, bytes, passphrase) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let read = SslKey::private_key_from_file(&path, passphrase).unwrap();
        assert_eq!(read.to_der(), plain.to_der(), "{name}");
        if passphrase.is_some() {
            assert!(
                matches!(
                    SslKey::private_key_from_file(&path, None),
                    Err(CertificateError::PassphraseRequired)
                ),
                "{name}"
            );
        }
    }
}
