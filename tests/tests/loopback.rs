//! `SslSocket` + `SslServer` over real loopback TCP.
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
    Accepted, Error, PeerVerifyMode, SocketErrorKind, SslBackend, SslCertificate, SslError,
    SslErrorKind, SslServer, SslSocket,
};
use sslsocket_tests::{backends, client_config};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A server presenting `identity` that echoes everything back, for `clients` connections.
fn echo_server(
    backend: &Arc<dyn SslBackend>,
    identity: &Identity,
    clients: usize,
) -> (u16, thread::JoinHandle<()>) {
    let mut server = SslServer::with_backend_handle(backend.clone());
    server.set_ssl_configuration(identity.server_config());
    server.listen("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        for _ in 0..clients {
            match server.accept_next(Some(TIMEOUT)) {
                Ok(Accepted::Encrypted(mut socket)) => {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        match socket.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if socket.write_all(&buf[..n]).is_err() {
                                    break;
                                }
                            }
                        }
                    }
                    let _ = socket.flush();
                }
                Ok(Accepted::Failed(_)) => {}
                Err(_) => return,
            }
        }
    });
    (port, handle)
}

fn client(backend: &Arc<dyn SslBackend>, ca: &SslCertificate) -> SslSocket {
    let mut socket = SslSocket::with_backend_handle(backend.clone());
    socket.set_ssl_configuration(client_config(ca));
    socket
}

#[test]
fn sixteen_mebibytes_each_way_arrive_intact() {
    const SIZE: usize = 16 * 1024 * 1024;
    for backend in backends() {
        let ca = Authority::root("loopback root");
        let server_id = ca.issue(&LeafSpec::new(&["localhost"]));
        let mut server = SslServer::with_backend_handle(backend.clone());
        server.set_ssl_configuration(server_id.server_config());
        server.listen("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let payload: Arc<Vec<u8>> =
            Arc::new((0..SIZE).map(|i| (i.wrapping_mul(31) >> 3) as u8).collect());
        let expected = Sha256::digest(payload.as_slice());

        let server_payload = payload.clone();
        let server_thread = thread::spawn(move || {
            let socket = server.accept().unwrap();
            // Read and write at once: one thread each way on one socket is not possible with
            // a blocking socket, so the server writes its 16 MiB first, then reads; the client
            // reads while it writes (below), so neither side stalls.
            let mut socket = socket;
            socket.write_all(&server_payload).unwrap();
            socket.flush().unwrap();
            let mut got = vec![0u8; SIZE];
            socket.read_exact(&mut got).unwrap();
            socket.disconnect_from_host();
            socket.wait_for_disconnected(TIMEOUT).unwrap();
            Sha256::digest(&got)
        });

        let mut socket = client(&backend, &ca.certificate);
        socket.connect_to_host_encrypted("localhost", port);
        socket.wait_for_encrypted(TIMEOUT).unwrap();
        let mut got = vec![0u8; SIZE];
        socket.read_exact(&mut got).unwrap();
        socket.write_all(&payload).unwrap();
        socket.flush().unwrap();
        let mut rest = Vec::new();
        socket.read_to_end(&mut rest).unwrap(); // clean close_notify: Ok, not an error
        assert!(rest.is_empty());
        assert_eq!(Sha256::digest(&got), expected, "{}: server → client", backend.name());
        assert_eq!(server_thread.join().unwrap(), expected, "{}: client → server", backend.name());
    }
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
    vec![
        Case {
            name: "expired",
            server: ca.issue(&LeafSpec::new(&["localhost"]).expired()),
            ca: ca.certificate.clone(),
            peer_name: "localhost",
            expected: vec![SslErrorKind::CertificateExpired],
        },
        Case {
            name: "not yet valid",
            server: ca.issue(&LeafSpec::new(&["localhost"]).not_yet_valid()),
            ca: ca.certificate.clone(),
            peer_name: "localhost",
            expected: vec![SslErrorKind::CertificateNotYetValid],
        },
        Case {
            name: "self-signed",
            server: pki::self_signed(&["localhost"]),
            ca: ca.certificate.clone(),
            peer_name: "localhost",
            expected: vec![SslErrorKind::SelfSignedCertificate],
        },
        Case {
            name: "unknown issuer",
            server: other.issue(&LeafSpec::new(&["localhost"])),
            ca: ca.certificate.clone(),
            peer_name: "localhost",
            expected: vec![SslErrorKind::UnableToGetLocalIssuerCertificate],
        },
        Case {
            name: "host name mismatch",
            server: ca.issue(&LeafSpec::new(&["elsewhere.example"])),
            ca: ca.certificate.clone(),
            peer_name: "localhost",
            expected: vec![SslErrorKind::HostNameMismatch],
        },
        Case {
            name: "wrong purpose",
            server: ca.issue(
                &LeafSpec::new(&["localhost"]).purposes(vec![ExtendedKeyUsagePurpose::ClientAuth]),
            ),
            ca: ca.certificate.clone(),
            peer_name: "localhost",
            expected: vec![SslErrorKind::InvalidPurpose],
        },
        Case {
            name: "self-signed for another name",
            server: pki::self_signed(&["elsewhere.example"]),
            ca: ca.certificate.clone(),
            peer_name: "localhost",
            expected: vec![SslErrorKind::SelfSignedCertificate, SslErrorKind::HostNameMismatch],
        },
    ]
}

fn connect(
    backend: &Arc<dyn SslBackend>,
    case: &Case,
    port: u16,
    ignore: Option<Vec<SslError>>,
) -> (SslSocket, Result<(), Error>) {
    let mut socket = client(backend, &case.ca);
    if let Some(list) = ignore {
        socket.ignore_ssl_errors_list(list);
    }
    socket.connect_to_host_encrypted(case.peer_name, port);
    let result = socket.wait_for_encrypted(TIMEOUT);
    (socket, result)
}

#[test]
fn each_certificate_problem_is_reported_and_only_its_exact_ignore_lets_it_through() {
    for backend in backends() {
        for case in certificate_cases() {
            let who = format!("{} / {}", backend.name(), case.name);
            let (port, server) = echo_server(&backend, &case.server, 3);

            // 1. Rejected by default, with the expected kinds, for the leaf.
            let (socket, result) = connect(&backend, &case, port, None);
            let err = result.expect_err(&who);
            assert_eq!(err.kind(), SocketErrorKind::SslHandshakeFailedError, "{who}: {err:?}");
            let kinds: Vec<_> = socket.ssl_handshake_errors().iter().map(|e| e.kind).collect();
            assert_eq!(kinds, case.expected, "{who}");
            assert!(socket
                .ssl_handshake_errors()
                .iter()
                .all(|e| e.certificate.as_ref() == Some(case.server.leaf())));
            assert!(!socket.is_encrypted());
            let exact = socket.ssl_handshake_errors().to_vec();

            // 2. Another error named: still rejected.
            let wrong = vec![SslError::new(
                SslErrorKind::CertificateRevoked,
                Some(case.server.leaf().clone()),
            )];
            let (_, result) = connect(&backend, &case, port, Some(wrong));
            assert_eq!(result.expect_err(&who).kind(), SocketErrorKind::SslHandshakeFailedError);

            // 3. Exactly those errors named: the same connection succeeds and data flows.
            let (mut socket, result) = connect(&backend, &case, port, Some(exact.clone()));
            result.unwrap_or_else(|e| panic!("{who}: {e:?}"));
            assert_eq!(socket.ssl_handshake_errors(), exact.as_slice());
            socket.write_all(b"ping").unwrap();
            let mut pong = [0u8; 4];
            socket.read_exact(&mut pong).unwrap();
            assert_eq!(&pong, b"ping");
            socket.disconnect_from_host();
            socket.wait_for_disconnected(TIMEOUT).unwrap();
            server.join().unwrap();
        }
    }
}

#[test]
fn the_peer_verify_name_overrides_the_host_connected_to() {
    for backend in backends() {
        let ca = Authority::root("name root");
        let server_id = ca.issue(&LeafSpec::new(&["service.internal"]));
        let (port, server) = echo_server(&backend, &server_id, 2);

        let mut socket = client(&backend, &ca.certificate);
        socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "service.internal");
        socket.wait_for_encrypted(TIMEOUT).unwrap_or_else(|e| panic!("{}: {e:?}", backend.name()));
        socket.disconnect_from_host();
        socket.wait_for_disconnected(TIMEOUT).unwrap();

        // Without the override, 127.0.0.1 is checked against the certificate and fails.
        let mut socket = client(&backend, &ca.certificate);
        socket.connect_to_host_encrypted("127.0.0.1", port);
        assert!(socket.wait_for_encrypted(TIMEOUT).is_err());
        assert_eq!(socket.ssl_handshake_errors()[0].kind, SslErrorKind::HostNameMismatch);
        server.join().unwrap();
    }
}

#[test]
fn a_server_requiring_a_client_certificate_reports_no_peer_certificate() {
    for backend in backends() {
        let ca = Authority::root("client cert root");
        let server_id = ca.issue(&LeafSpec::new(&["localhost"]));
        let mut config = server_id.server_config();
        config.peer_verify_mode = PeerVerifyMode::VerifyPeer;
        config.ca_certificates = vec![ca.certificate.clone()];
        let mut server = SslServer::with_backend_handle(backend.clone());
        server.set_ssl_configuration(config);
        server.listen("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();

        // Without a certificate: the server rejects with NoPeerCertificate.
        let mut socket = client(&backend, &ca.certificate);
        socket.connect_to_host_encrypted("localhost", port);
        let r = socket.wait_for_encrypted(TIMEOUT);
        // TLS 1.3: the client finishes before the server has judged its (missing) certificate.
        if r.is_ok() {
            let _ = socket.write_all(b"x");
            let _ = socket.flush();
        }
        match server.accept_next(Some(TIMEOUT)).unwrap() {
            Accepted::Failed(failure) => {
                assert_eq!(failure.error.kind(), SocketErrorKind::SslHandshakeFailedError);
                let kinds: Vec<_> = failure.ssl_errors.iter().map(|e| e.kind).collect();
                assert_eq!(kinds, vec![SslErrorKind::NoPeerCertificate], "{}", backend.name());
            }
            Accepted::Encrypted(_) => {
                panic!("{}: accepted a client without certificate", backend.name())
            }
        }
        // The client learns it was refused: no application data ever comes back.
        let mut buf = [0u8; 1];
        assert!(!matches!(socket.read(&mut buf), Ok(1)));

        // With a certificate from the trusted CA: accepted, and the server sees it.
        let client_id = ca.issue(&LeafSpec::new(&["client.example"]));
        let mut socket = client(&backend, &ca.certificate);
        socket.set_local_certificate_chain(client_id.chain.clone());
        socket.set_private_key(client_id.key.clone());
        socket.connect_to_host_encrypted("localhost", port);
        let accepting = thread::spawn(move || server.accept_next(Some(TIMEOUT)).unwrap());
        socket.wait_for_encrypted(TIMEOUT).unwrap();
        match accepting.join().unwrap() {
            Accepted::Encrypted(peer) => {
                assert_eq!(peer.peer_certificate().as_ref(), Some(client_id.leaf()));
            }
            Accepted::Failed(f) => panic!("{}: {f:?}", backend.name()),
        }
    }
}

#[test]
fn a_peer_that_closes_without_close_notify_is_an_error_not_a_clean_end() {
    for backend in backends() {
        let ca = Authority::root("truncation root");
        let server_id = ca.issue(&LeafSpec::new(&["localhost"]));
        let mut server = SslServer::with_backend_handle(backend.clone());
        server.set_ssl_configuration(server_id.server_config());
        server.listen("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let server_thread = thread::spawn(move || {
            let mut socket = server.accept().unwrap();
            socket.write_all(b"partial").unwrap();
            socket.flush().unwrap();
            socket.abort(); // TCP closes, no close_notify
        });
        let mut socket = client(&backend, &ca.certificate);
        socket.connect_to_host_encrypted("localhost", port);
        socket.wait_for_encrypted(TIMEOUT).unwrap();
        let mut got = Vec::new();
        let err = socket.read_to_end(&mut got).unwrap_err();
        assert_eq!(got, b"partial");
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{}", backend.name());
        assert!(matches!(Error::from_io_ref(&err), Some(Error::Truncated)));
        assert_eq!(socket.error().map(Error::kind), Some(SocketErrorKind::RemoteHostClosedError));
        server_thread.join().unwrap();
    }
}

#[test]
fn garbage_instead_of_a_server_hello_fails_within_the_timeout() {
    for backend in backends() {
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
        let mut socket = client(&backend, &ca.certificate);
        socket.connect_to_host_encrypted("localhost", port);
        let started = Instant::now();
        let err = socket.wait_for_encrypted(Duration::from_secs(5)).unwrap_err();
        assert_eq!(
            err.kind(),
            SocketErrorKind::SslHandshakeFailedError,
            "{}: {err:?}",
            backend.name()
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        server.join().unwrap();
    }
}

#[test]
fn a_stalled_client_does_not_block_the_next_one() {
    for backend in backends() {
        let ca = Authority::root("stall root");
        let server_id = ca.issue(&LeafSpec::new(&["localhost"]));
        let mut server = SslServer::with_backend_handle(backend.clone());
        server.set_ssl_configuration(server_id.server_config());
        server.set_handshake_timeout(Duration::from_secs(3));
        server.listen("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        // Connects over TCP and never says anything.
        let _silent = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut socket = client(&backend, &ca.certificate);
        socket.connect_to_host_encrypted("localhost", port);
        let started = Instant::now();
        let accepting = thread::spawn(move || {
            let first = server.accept_next(Some(TIMEOUT)).unwrap();
            let second = server.accept_next(Some(TIMEOUT)).unwrap();
            (first, second)
        });
        socket.wait_for_encrypted(TIMEOUT).unwrap();
        assert!(started.elapsed() < Duration::from_secs(3), "served while the silent one waits");
        let (first, second) = accepting.join().unwrap();
        assert!(
            matches!(first, Accepted::Encrypted(_)),
            "{}: the good client comes first",
            backend.name()
        );
        match second {
            Accepted::Failed(f) => assert_eq!(f.error.kind(), SocketErrorKind::SocketTimeoutError),
            Accepted::Encrypted(_) => panic!("the silent client cannot have been encrypted"),
        }
    }
}
