//! Sockets and servers over real loopback TCP, through every driver (blocking and tokio) on
//! every backend: one test body each.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use conformance::pki::{self, Authority, Identity, LeafSpec};
use rcgen::ExtendedKeyUsagePurpose;
use sha2::{Digest, Sha256};
use sslsocket::{
    ConfigError, Error, Feature, PeerVerifyMode, SocketErrorKind, SslBackend, SslCertificate,
    SslError, SslErrorKind,
};
use sslsocket_tests::driver::{drivers, Client, Driver, Outcome, TIMEOUT};
use sslsocket_tests::{client_config, expected_kinds, on_each_backend, recoverable};

/// Runs `body` for every driver and backend, naming the combination.
fn each(mut body: impl FnMut(&Driver, &Arc<dyn SslBackend>, &str)) {
    for driver in drivers() {
        on_each_backend(|backend| {
            let who = format!("{}/{}", driver.name(), backend.name());
            body(&driver, &backend, &who);
        });
    }
}

/// A server presenting `identity` that echoes everything back, for `clients` connections.
fn echo_server(
    driver: &Driver,
    backend: &Arc<dyn SslBackend>,
    identity: &Identity,
    clients: usize,
) -> (u16, thread::JoinHandle<()>) {
    let mut server = driver.server(backend, identity.server_config(), TIMEOUT);
    let port = server.port();
    let handle = thread::spawn(move || {
        for _ in 0..clients {
            match server.accept_next(TIMEOUT) {
                Ok(Outcome::Encrypted(mut socket)) => {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        match socket.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if socket
                                    .write_all(&buf[..n])
                                    .and_then(|()| socket.flush())
                                    .is_err()
                                {
                                    break;
                                }
                            }
                        }
                    }
                }
                Ok(Outcome::Failed(_)) => {}
                Err(_) => return,
            }
        }
    });
    (port, handle)
}

fn client(driver: &Driver, backend: &Arc<dyn SslBackend>, ca: &SslCertificate) -> Box<dyn Client> {
    driver.client(backend, client_config(ca))
}

#[test]
fn sixteen_mebibytes_each_way_arrive_intact() {
    const SIZE: usize = 16 * 1024 * 1024;
    each(|driver, backend, who| {
        let ca = Authority::root("loopback root");
        let server_id = ca.issue(&LeafSpec::new(&["localhost"]));
        let mut server = driver.server(backend, server_id.server_config(), TIMEOUT);
        let port = server.port();
        let payload: Arc<Vec<u8>> =
            Arc::new((0..SIZE).map(|i| (i.wrapping_mul(31) >> 3) as u8).collect());
        let expected = Sha256::digest(payload.as_slice());

        let server_payload = payload.clone();
        let server_thread = thread::spawn(move || {
            let Outcome::Encrypted(mut socket) = server.accept_next(TIMEOUT).unwrap() else {
                panic!("handshake failed")
            };
            // The server writes its 16 MiB first, then reads; the client reads first, then
            // writes, so neither side waits on the other with a full buffer.
            socket.write_all(&server_payload).unwrap();
            socket.flush().unwrap();
            let mut got = vec![0u8; SIZE];
            socket.read_exact(&mut got).unwrap();
            socket.disconnect().unwrap();
            Sha256::digest(&got)
        });

        let mut socket = client(driver, backend, &ca.certificate);
        socket.connect_encrypted("localhost", port).unwrap();
        let mut got = vec![0u8; SIZE];
        socket.read_exact(&mut got).unwrap();
        socket.write_all(&payload).unwrap();
        socket.flush().unwrap();
        let mut rest = Vec::new();
        socket.read_to_end(&mut rest).unwrap(); // clean close_notify: Ok, not an error
        assert!(rest.is_empty());
        // Our end of the close: the blocking socket answered the peer's close_notify itself
        // (Qt's behaviour); on the async one it ended only the peer's direction (half-close).
        socket.disconnect().unwrap();
        assert_eq!(Sha256::digest(&got), expected, "{who}: server → client");
        assert_eq!(server_thread.join().unwrap(), expected, "{who}: client → server");
    });
}

struct Case {
    name: &'static str,
    server: Identity,
    ca: SslCertificate,
    peer_name: &'static str,
    expected: Vec<SslErrorKind>,
}

fn certificate_cases() -> Vec<Case> {
    let ca = Authority::root("cases root");
    let other = Authority::root("untrusted root");
    let case = |name, server, expected| Case {
        name,
        server,
        ca: ca.certificate.clone(),
        peer_name: "localhost",
        expected,
    };
    vec![
        case(
            "expired",
            ca.issue(&LeafSpec::new(&["localhost"]).expired()),
            vec![SslErrorKind::CertificateExpired],
        ),
        case(
            "not yet valid",
            ca.issue(&LeafSpec::new(&["localhost"]).not_yet_valid()),
            vec![SslErrorKind::CertificateNotYetValid],
        ),
        case(
            "self-signed",
            pki::self_signed(&["localhost"]),
            vec![SslErrorKind::SelfSignedCertificate],
        ),
        case(
            "unknown issuer",
            other.issue(&LeafSpec::new(&["localhost"])),
            vec![SslErrorKind::UnableToGetLocalIssuerCertificate],
        ),
        case(
            "host name mismatch",
            ca.issue(&LeafSpec::new(&["elsewhere.example"])),
            vec![SslErrorKind::HostNameMismatch],
        ),
        case(
            "wrong purpose",
            ca.issue(
                &LeafSpec::new(&["localhost"]).purposes(vec![ExtendedKeyUsagePurpose::ClientAuth]),
            ),
            vec![SslErrorKind::InvalidPurpose],
        ),
        case(
            "self-signed for another name",
            pki::self_signed(&["elsewhere.example"]),
            vec![SslErrorKind::SelfSignedCertificate, SslErrorKind::HostNameMismatch],
        ),
    ]
}

fn connect(
    driver: &Driver,
    backend: &Arc<dyn SslBackend>,
    case: &Case,
    port: u16,
    ignore: Option<Vec<SslError>>,
) -> (Box<dyn Client>, Result<(), Error>) {
    let mut socket = client(driver, backend, &case.ca);
    if let Some(list) = ignore {
        socket.connection_mut().ignore_ssl_errors_list(list);
    }
    let result = socket.connect_encrypted(case.peer_name, port);
    (socket, result)
}

#[test]
fn each_certificate_problem_is_reported_and_only_its_exact_ignore_lets_it_through() {
    each(|driver, backend, who| {
        for case in certificate_cases() {
            let who = format!("{who} / {}", case.name);
            let (port, server) = echo_server(driver, backend, &case.server, 3);

            // 1. Rejected by default, with the expected kinds, for the leaf.
            let (socket, result) = connect(driver, backend, &case, port, None);
            let err = result.expect_err(&who);
            assert_eq!(err.kind(), SocketErrorKind::SslHandshakeFailedError, "{who}: {err:?}");
            let errors = socket.connection().ssl_handshake_errors().to_vec();
            let kinds: Vec<_> = errors.iter().map(|e| e.kind).collect();
            assert_eq!(kinds, expected_kinds(backend, &case.expected), "{who}");
            if !recoverable(backend) {
                // Nothing can be ignored on this engine: asking to is a typed configuration
                // error before any byte, never a silent no-op.
                let (_, result) = connect(driver, backend, &case, port, Some(errors.clone()));
                let err = result.expect_err(&who);
                assert_eq!(err.kind(), SocketErrorKind::SslInvalidUserDataError, "{who}: {err:?}");
                drop(server); // it waits for a third client until its accept times out
                continue;
            }
            assert!(
                errors.iter().all(|e| e.certificate.as_ref() == Some(case.server.leaf())),
                "{who}"
            );
            assert!(!socket.connection().is_encrypted());

            // 2. Another error named: still rejected.
            let wrong = vec![SslError::new(
                SslErrorKind::CertificateRevoked,
                Some(case.server.leaf().clone()),
            )];
            let (_, result) = connect(driver, backend, &case, port, Some(wrong));
            assert_eq!(result.expect_err(&who).kind(), SocketErrorKind::SslHandshakeFailedError);

            // 3. Exactly those errors named: the same connection succeeds and data flows.
            let (mut socket, result) = connect(driver, backend, &case, port, Some(errors.clone()));
            result.unwrap_or_else(|e| panic!("{who}: {e:?}"));
            assert_eq!(socket.connection().ssl_handshake_errors(), errors.as_slice());
            socket.write_all(b"ping").unwrap();
            socket.flush().unwrap();
            let mut pong = [0u8; 4];
            socket.read_exact(&mut pong).unwrap();
            assert_eq!(&pong, b"ping");
            socket.disconnect().unwrap();
            server.join().unwrap();
        }
    });
}

#[test]
fn the_peer_verify_name_overrides_the_host_connected_to() {
    each(|driver, backend, who| {
        let ca = Authority::root("name root");
        let server_id = ca.issue(&LeafSpec::new(&["service.internal"]));
        let (port, server) = echo_server(driver, backend, &server_id, 2);

        let mut socket = client(driver, backend, &ca.certificate);
        socket.connection_mut().set_peer_verify_name("service.internal");
        socket.connect_encrypted("127.0.0.1", port).unwrap_or_else(|e| panic!("{who}: {e:?}"));
        socket.disconnect().unwrap();

        // Without the override, 127.0.0.1 is checked against the certificate and fails.
        let mut socket = client(driver, backend, &ca.certificate);
        assert!(socket.connect_encrypted("127.0.0.1", port).is_err());
        assert_eq!(
            socket.connection().ssl_handshake_errors()[0].kind,
            expected_kinds(backend, &[SslErrorKind::HostNameMismatch])[0],
            "{who}"
        );
        server.join().unwrap();
    });
}

#[test]
fn a_server_requiring_a_client_certificate_reports_no_peer_certificate() {
    each(|driver, backend, who| {
        let ca = Authority::root("client cert root");
        let server_id = ca.issue(&LeafSpec::new(&["localhost"]));
        let mut config = server_id.server_config();
        config.peer_verify_mode = PeerVerifyMode::VerifyPeer;
        config.ca_certificates = vec![ca.certificate.clone()];
        if !backend.features().contains(Feature::ServerRequestsClientCertificate) {
            // The capability says no: the server refuses the configuration, typed.
            let mut server = sslsocket::SslServer::with_backend_handle(backend.clone());
            server.set_ssl_configuration(config);
            let err = server.listen("127.0.0.1:0").unwrap_err();
            let unsupported = matches!(
                err,
                Error::Config(ConfigError::Unsupported {
                    feature: Feature::ServerRequestsClientCertificate,
                    ..
                })
            );
            assert!(unsupported, "{who}: {err:?}");
            return;
        }
        let mut server = driver.server(backend, config, TIMEOUT);
        let port = server.port();

        // Without a certificate: the server rejects with NoPeerCertificate.
        let mut socket = client(driver, backend, &ca.certificate);
        // TLS 1.3: the client may finish before the server has judged its (missing) certificate.
        if socket.connect_encrypted("localhost", port).is_ok() {
            let _ = socket.write_all(b"x");
            let _ = socket.flush();
        }
        match server.accept_next(TIMEOUT).unwrap() {
            Outcome::Failed(failure) => {
                assert_eq!(failure.error.kind(), SocketErrorKind::SslHandshakeFailedError);
                let kinds: Vec<_> = failure.ssl_errors.iter().map(|e| e.kind).collect();
                assert_eq!(kinds, vec![SslErrorKind::NoPeerCertificate], "{who}");
            }
            Outcome::Encrypted(_) => panic!("{who}: accepted a client without certificate"),
        }
        // The client learns it was refused: no application data ever comes back.
        let mut buf = [0u8; 1];
        assert!(!matches!(socket.read(&mut buf), Ok(1)));

        // With a certificate from the trusted CA: accepted, and the server sees it.
        let client_id = ca.issue(&LeafSpec::new(&["client.example"]));
        let mut socket = client(driver, backend, &ca.certificate);
        socket.connection_mut().update_configuration(|c| {
            c.local_certificate_chain = client_id.chain.clone();
            c.private_key = Some(client_id.key.clone());
        });
        let accepting = thread::spawn(move || server.accept_next(TIMEOUT).unwrap());
        socket.connect_encrypted("localhost", port).unwrap();
        match accepting.join().unwrap() {
            Outcome::Encrypted(peer) => {
                assert_eq!(
                    peer.connection().peer_certificate().as_ref(),
                    Some(client_id.leaf()),
                    "{who}"
                );
            }
            Outcome::Failed(f) => panic!("{who}: {f:?}"),
        }
    });
}

#[test]
fn a_peer_that_closes_without_close_notify_is_an_error_not_a_clean_end() {
    each(|driver, backend, who| {
        let ca = Authority::root("truncation root");
        let server_id = ca.issue(&LeafSpec::new(&["localhost"]));
        let mut server = driver.server(backend, server_id.server_config(), TIMEOUT);
        let port = server.port();
        let server_thread = thread::spawn(move || {
            let Outcome::Encrypted(mut socket) = server.accept_next(TIMEOUT).unwrap() else {
                panic!("handshake")
            };
            socket.write_all(b"partial").unwrap();
            socket.flush().unwrap();
            socket.abort(); // TCP closes, no close_notify
        });
        let mut socket = client(driver, backend, &ca.certificate);
        socket.connect_encrypted("localhost", port).unwrap();
        let mut got = Vec::new();
        let err = socket.read_to_end(&mut got).unwrap_err();
        assert_eq!(got, b"partial");
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{who}");
        assert!(matches!(Error::from_io_ref(&err), Some(Error::Truncated)), "{who}: {err:?}");
        assert_eq!(
            socket.connection().error().map(Error::kind),
            Some(SocketErrorKind::RemoteHostClosedError)
        );
        server_thread.join().unwrap();
    });
}

#[test]
fn garbage_instead_of_a_server_hello_fails_within_the_timeout() {
    each(|driver, backend, who| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut hello = [0u8; 512];
            let _ = stream.read(&mut hello);
            let _ = stream.write_all(&[0x47u8; 4096]); // "GGGG…": not TLS
            thread::sleep(Duration::from_millis(500));
        });
        let ca = Authority::root("garbage root");
        let mut socket = client(driver, backend, &ca.certificate);
        let started = Instant::now();
        let err = socket.connect_encrypted("localhost", port).unwrap_err();
        assert_eq!(err.kind(), SocketErrorKind::SslHandshakeFailedError, "{who}: {err:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        server.join().unwrap();
    });
}

#[test]
fn a_stalled_client_does_not_block_the_next_one() {
    each(|driver, backend, who| {
        let ca = Authority::root("stall root");
        let server_id = ca.issue(&LeafSpec::new(&["localhost"]));
        let mut server = driver.server(backend, server_id.server_config(), Duration::from_secs(3));
        let port = server.port();
        // Connects over TCP and never says anything.
        let _silent = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut socket = client(driver, backend, &ca.certificate);
        let started = Instant::now();
        let accepting = thread::spawn(move || {
            let first = server.accept_next(TIMEOUT).unwrap();
            let second = server.accept_next(TIMEOUT).unwrap();
            (first, second)
        });
        socket.connect_encrypted("localhost", port).unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{who}: served while the silent one waits"
        );
        let (first, second) = accepting.join().unwrap();
        assert!(matches!(first, Outcome::Encrypted(_)), "{who}: the good client comes first");
        match second {
            Outcome::Failed(f) => {
                assert_eq!(f.error.kind(), SocketErrorKind::SocketTimeoutError, "{who}")
            }
            Outcome::Encrypted(_) => panic!("{who}: the silent client cannot have been encrypted"),
        }
    });
}
