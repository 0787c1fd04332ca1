//! The engine's security level is the application's to lower, never a side effect of the
//! protocol range, on every backend, against `openssl s_server` on loopback:
//!
//! - an RSA-1024 certificate is refused whatever the range (`SecureProtocols`,
//!   `TlsV1_0OrLater`, `AnyProtocol`) unless `danger_allow_weak_crypto` is given, which only a
//!   backend with `Feature::WeakCrypto` accepts;
//! - TLS 1.0 only is refused before any byte at the default level
//!   (`ProtocolBelowSecurityLevel`), and negotiated with the setting;
//! - one engine failure is one kind on the openssl and the native backend (the shared libssl
//!   reason table): a SHA-1-signing TLS 1.0 server and a 1024-bit DH server are both
//!   `WeakPeerKey`.
//!
//! Certificates are made per run with the `openssl` program (rcgen makes no RSA key below
//! 2048 bits).
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use sslsocket::{
    ConfigError, Error, Feature, SslBackend, SslCertificate, SslConfiguration, SslErrorKind,
    SslProtocol, SslSocket, TlsErrorKind,
};
use sslsocket_tests::peers::{self, arg, args, Peer, PemDir};
use sslsocket_tests::{client_config, on_each_backend};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A CA (RSA-2048) and two leaves for `localhost` it issued: RSA-1024 (`weak`) and RSA-2048
/// (`good`), as PEM files in `dir`.
struct Files {
    ca: SslCertificate,
    weak: (PathBuf, PathBuf),
    good: (PathBuf, PathBuf),
    dh1024: PathBuf,
}

fn openssl(dir: &Path, list: &[&str]) {
    let output =
        Command::new(peers::find("openssl").unwrap()).args(list).current_dir(dir).output().unwrap();
    assert!(
        output.status.success(),
        "openssl {list:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn files(dir: &PemDir) -> Files {
    let d = dir.path();
    let ext = dir.write("leaf.ext", "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n");
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=security level CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=keyCertSign,cRLSign",
        ],
    );
    for (name, bits) in [("weak", "rsa:1024"), ("good", "rsa:2048")] {
        let (key, csr, pem) = (format!("{name}.key"), format!("{name}.csr"), format!("{name}.pem"));
        openssl(
            d,
            &[
                "req",
                "-newkey",
                bits,
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                "/CN=localhost",
            ],
        );
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "2",
                "-extfile",
                &arg(&ext),
            ],
        );
    }
    // RFC 5114's 1024-bit group: below what the default level takes.
    openssl(
        d,
        &[
            "genpkey",
            "-genparam",
            "-algorithm",
            "DH",
            "-pkeyopt",
            "dh_rfc5114:1",
            "-out",
            "dh1024.pem",
        ],
    );
    let ca = std::fs::read(d.join("ca.pem")).unwrap();
    Files {
        ca: SslCertificate::from_pem(&ca).unwrap().remove(0),
        weak: (d.join("weak.pem"), d.join("weak.key")),
        good: (d.join("good.pem"), d.join("good.key")),
        dh1024: d.join("dh1024.pem"),
    }
}

/// `openssl s_server` presenting `identity`, with `extra` options.
fn s_server(dir: &PemDir, identity: &(PathBuf, PathBuf), extra: &[&str]) -> (Peer, u16) {
    peers::spawn_server(
        "openssl",
        |port| {
            let mut a = args(&["s_server", "-accept"]);
            a.push(format!("127.0.0.1:{port}"));
            a.extend(["-cert".into(), arg(&identity.0), "-key".into(), arg(&identity.1)]);
            a.extend(args(extra));
            a
        },
        "ACCEPT",
        dir.path(),
    )
    .unwrap()
}

/// Connects a client of `backend` with `config` to `port` as `localhost`.
fn connect(
    backend: &Arc<dyn SslBackend>,
    config: SslConfiguration,
    port: u16,
) -> (SslSocket, Result<(), Error>) {
    let mut socket = SslSocket::with_backend_handle(backend.clone());
    socket.set_ssl_configuration(config);
    socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");
    let result = socket.wait_for_encrypted(TIMEOUT);
    (socket, result)
}

fn weak_crypto(backend: &Arc<dyn SslBackend>) -> bool {
    backend.features().contains(Feature::WeakCrypto)
}

fn refused_weak_crypto(backend: &Arc<dyn SslBackend>, err: &Error) -> bool {
    let unsupported =
        ConfigError::Unsupported { backend: backend.name(), feature: Feature::WeakCrypto };
    matches!(err, Error::Config(e) if *e == unsupported)
}

#[test]
fn a_weak_certificate_is_refused_whatever_the_protocol_range_unless_weak_crypto_is_allowed() {
    let test =
        "a_weak_certificate_is_refused_whatever_the_protocol_range_unless_weak_crypto_is_allowed";
    if !peers::all_installed(test, &["openssl"]) {
        return;
    }
    let dir = PemDir::new();
    let files = files(&dir);
    let (_server, port) =
        s_server(&dir, &files.weak, &["-tls1_3", "-www", "-cipher", "DEFAULT:@SECLEVEL=0"]);

    on_each_backend(|backend| {
        let name = backend.name();
        for protocol in
            [SslProtocol::SecureProtocols, SslProtocol::TlsV1_0OrLater, SslProtocol::AnyProtocol]
        {
            let config = SslConfiguration { protocol, ..client_config(&files.ca) };
            let (socket, result) = connect(&backend, config.clone(), port);
            let err = result.unwrap_err();
            println!("{name:<8} {protocol:<16} RSA-1024 leaf: {err}");
            assert!(!socket.is_encrypted(), "{name} {protocol}");
            match name {
                // The engine's verification names the reason; the socket rejects.
                "openssl" => assert_eq!(
                    err.ssl_errors().iter().map(|e| e.kind).collect::<Vec<_>>(),
                    [SslErrorKind::KeyTooSmall],
                    "{name} {protocol}: {err:?}"
                ),
                // native-tls rejects inside the engine and does not say why.
                "native" => {
                    assert!(matches!(err, Error::Rejected { .. }), "{name} {protocol}: {err:?}")
                }
                // webpki refuses the 1024-bit key's handshake signature.
                _ => assert!(
                    matches!(&err, Error::Handshake(e) if e.kind == TlsErrorKind::PeerCertificate),
                    "{name} {protocol}: {err:?}"
                ),
            }

            let config = SslConfiguration { danger_allow_weak_crypto: true, ..config };
            let (socket, result) = connect(&backend, config, port);
            match result {
                Ok(()) => {
                    assert!(weak_crypto(&backend), "{name}: encrypted without Feature::WeakCrypto");
                    assert_eq!(socket.session_protocol(), SslProtocol::TlsV1_3, "{name}");
                }
                Err(err) => {
                    assert!(!weak_crypto(&backend), "{name} {protocol} with the setting: {err:?}");
                    assert!(refused_weak_crypto(&backend, &err), "{name}: {err:?}");
                }
            }
        }
    });
}

#[test]
fn tls_1_0_only_is_refused_before_any_byte_and_negotiated_with_weak_crypto() {
    let test = "tls_1_0_only_is_refused_before_any_byte_and_negotiated_with_weak_crypto";
    if !peers::all_installed(test, &["openssl"]) {
        return;
    }
    let dir = PemDir::new();
    let files = files(&dir);
    let (_server, port) = s_server(&dir, &files.good, &["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"]);

    on_each_backend(|backend| {
        let name = backend.name();
        let config =
            SslConfiguration { protocol: SslProtocol::TlsV1_0, ..client_config(&files.ca) };
        // Refused before any byte: pointed at a listener of ours, it does not even connect.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let (_, result) = connect(&backend, config.clone(), listener.local_addr().unwrap().port());
        let err = result.unwrap_err();
        let accepted = listener.accept().map(|(_, peer)| peer);
        assert!(accepted.is_err(), "{name}: connected before refusing: {accepted:?}");
        println!("{name:<8} TlsV1_0: {err}");
        match &err {
            Error::Config(ConfigError::ProtocolBelowSecurityLevel {
                protocol,
                security_level,
                ..
            }) => {
                assert_eq!(*protocol, SslProtocol::TlsV1_0);
                assert!(*security_level >= 1, "{name}");
            }
            // rustls has no TLS 1.0 at all.
            Error::Config(ConfigError::UnsupportedProtocol { .. }) => assert_eq!(name, "rustls"),
            other => panic!("{name}: {other:?}"),
        }

        let config = SslConfiguration { danger_allow_weak_crypto: true, ..config };
        let (socket, result) = connect(&backend, config, port);
        match result {
            Ok(()) => {
                assert!(weak_crypto(&backend), "{name}");
                assert_eq!(socket.session_protocol(), SslProtocol::TlsV1_0, "{name}");
            }
            Err(err) => assert!(refused_weak_crypto(&backend, &err), "{name}: {err:?}"),
        }
    });
}

/// A TLS 1.0 server that signs with SHA-1 against `TlsV1_0OrLater` at the default level, and
/// a TLS 1.2 server with a 1024-bit DH group: libssl fails both handshakes (legacy sigalg
/// disallowed, DH key too small), and the openssl and native backends name it the same.
#[cfg(any(feature = "openssl", feature = "native"))]
#[test]
fn a_weak_peer_key_or_signature_is_the_same_kind_on_openssl_and_native() {
    let test = "a_weak_peer_key_or_signature_is_the_same_kind_on_openssl_and_native";
    if !peers::all_installed(test, &["openssl"]) {
        return;
    }
    let dir = PemDir::new();
    let files = files(&dir);
    let tls10 = s_server(&dir, &files.good, &["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"]);
    let dh = arg(&files.dh1024);
    let dhe = s_server(
        &dir,
        &files.good,
        &["-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0", "-dhparam", &dh],
    );

    on_each_backend(|backend| {
        let name = backend.name();
        if name == "rustls" {
            return; // no libssl underneath: neither TLS 1.0 nor DHE
        }
        for (what, port) in [("SHA-1 TLS 1.0 server", tls10.1), ("DH-1024 server", dhe.1)] {
            let protocol = SslProtocol::TlsV1_0OrLater;
            let config = SslConfiguration { protocol, ..client_config(&files.ca) };
            let (_, result) = connect(&backend, config, port);
            let err = result.unwrap_err();
            println!("{name:<8} {what}: {err:?}");
            let Error::Handshake(tls) = &err else { panic!("{name} {what}: {err:?}") };
            assert_eq!(tls.kind, TlsErrorKind::WeakPeerKey, "{name} {what}: {tls}");
        }
    });
}

/// The setting is part of the configuration the engine contexts are shared by: a socket
/// without it never gets the context of one with it (nor the reverse), while equal
/// configurations share one (on the backends that accept the setting: openssl).
#[cfg(feature = "openssl")]
#[test]
fn weak_crypto_is_part_of_the_context_cache_key() {
    let ca = conformance::pki::Authority::root("cache key root");
    let backend = sslsocket::registry::backend("openssl").unwrap();
    assert!(weak_crypto(&backend));
    let strict = client_config(&ca.certificate);
    let weak = SslConfiguration { danger_allow_weak_crypto: true, ..strict.clone() };
    let context = |config: &SslConfiguration| {
        sslsocket::registry::context_for(&backend, config, sslsocket::Role::Client).unwrap()
    };
    assert!(Arc::ptr_eq(&context(&strict), &context(&strict.clone())), "{}", backend.name());
    assert!(!Arc::ptr_eq(&context(&strict), &context(&weak)), "{}", backend.name());
    assert!(Arc::ptr_eq(&context(&weak), &context(&weak.clone())), "{}", backend.name());
}
