//! `system_ca_certificates()` honours `SSL_CERT_FILE` / `SSL_CERT_DIR`. One test in its own
//! binary: environment variables are process-wide, and the store is loaded once per process.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use conformance::pki::Authority;

#[test]
fn ssl_cert_file_and_dir_replace_the_platform_store() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (Authority::root("env root a"), Authority::root("env root b"));
    let file = dir.path().join("roots.pem");
    std::fs::write(&file, a.certificate.to_pem() + &b.certificate.to_pem()).unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    // Edition 2021: `set_var` is safe; nothing else runs in this process yet.
    std::env::set_var("SSL_CERT_FILE", &file);
    std::env::set_var("SSL_CERT_DIR", &empty);

    // Exactly those two, in whatever order the loader yields them.
    let mut loaded: Vec<Vec<u8>> =
        sslsocket::system_ca_certificates().iter().map(|c| c.to_der().to_vec()).collect();
    loaded.sort();
    let mut expected = vec![a.certificate.to_der().to_vec(), b.certificate.to_der().to_vec()];
    expected.sort();
    assert_eq!(loaded, expected);
}
