//! What only the tokio driver has: many concurrent connections, `tokio::io::copy` and `split`,
//! async certificate decisions, events as a stream.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::sync::Arc;
use std::time::{Duration, Instant};

use conformance::pki::{Authority, LeafSpec};
use sha2::{Digest, Sha256};
use sslsocket::{
    AsyncAccepted, AsyncSslServer, AsyncSslSocket, Decision, Event, SocketErrorKind,
    SslCertificate, SslError, SslErrorKind, SslErrorsHandler, SslMode,
};
use sslsocket_tests::load::{echo_once, echo_server, peak_rss_kib, runtime};
use sslsocket_tests::{client_config, on_each_backend, recoverable};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[test]
fn a_thousand_concurrent_clients_each_echo_64_kib_intact() {
    const CLIENTS: usize = 1000;
    on_each_backend(|backend| {
        let rt = runtime();
        rt.block_on(async {
            let ca = Authority::root("load root");
            let server_id = ca.issue(&LeafSpec::new(&["localhost"]));
            let (port, server, stop) =
                echo_server(&backend, &server_id, Duration::from_secs(60)).await;
            let started = Instant::now();
            let clients: Vec<_> = (0..CLIENTS)
                .map(|i| {
                    tokio::spawn(echo_once(
                        backend.clone(),
                        ca.certificate.clone(),
                        port,
                        (i % 251) as u8 + 1,
                    ))
                })
                .collect();
            let mut errors = Vec::new();
            for client in clients {
                if let Err(e) =
                    tokio::time::timeout(Duration::from_secs(120), client).await.unwrap().unwrap()
                {
                    errors.push(e);
                }
            }
            let elapsed = started.elapsed();
            stop.send(()).unwrap();
            let failures = server.await.unwrap();
            println!(
                "{}: {CLIENTS} clients x 64 KiB echoed in {:.2} s, {} errors, peak RSS {} KiB",
                backend.name(),
                elapsed.as_secs_f64(),
                errors.len(),
                peak_rss_kib().unwrap_or(0)
            );
            assert!(errors.is_empty(), "{}: {:?}", backend.name(), &errors[..errors.len().min(5)]);
            assert!(failures.is_empty(), "{}: server-side failures {failures:?}", backend.name());
        });
    });
}

#[test]
fn a_silent_client_is_dropped_after_the_timeout_while_a_hundred_others_are_served() {
    on_each_backend(|backend| {
        let rt = runtime();
        rt.block_on(async {
            let ca = Authority::root("stall root");
            let server_id = ca.issue(&LeafSpec::new(&["localhost"]));
            let mut server = AsyncSslServer::with_backend_handle(backend.clone());
            server.set_ssl_configuration(server_id.server_config());
            server.set_handshake_timeout(Duration::from_secs(3));
            server.bind("127.0.0.1:0").await.unwrap();
            let port = server.local_address().unwrap().port();
            let started = Instant::now();
            let _silent = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            let clients: Vec<_> = (0..100)
                .map(|_| {
                    let (backend, ca) = (backend.clone(), ca.certificate.clone());
                    tokio::spawn(async move {
                        let mut socket = AsyncSslSocket::with_backend_handle(backend);
                        socket.set_ssl_configuration(client_config(&ca));
                        socket.connect_to_host_encrypted("localhost", port).await
                    })
                })
                .collect();
            let mut encrypted = 0;
            let mut silent_failure = None;
            while encrypted < 100 || silent_failure.is_none() {
                match tokio::time::timeout(Duration::from_secs(20), server.accept_next())
                    .await
                    .unwrap()
                    .unwrap()
                {
                    AsyncAccepted::Encrypted(_) => {
                        encrypted += 1;
                        assert!(
                            silent_failure.is_none(),
                            "a client was served only after the timeout"
                        );
                    }
                    AsyncAccepted::Failed(f) => silent_failure = Some((f, started.elapsed())),
                }
            }
            for c in clients {
                c.await.unwrap().unwrap();
            }
            let (failure, at) = silent_failure.unwrap();
            assert_eq!(
                failure.error.kind(),
                SocketErrorKind::SocketTimeoutError,
                "{}",
                backend.name()
            );
            assert!(at >= Duration::from_secs(3), "dropped at {at:?}");
        });
    });
}

#[test]
fn tokio_io_copy_relays_64_mib_exactly() {
    const SIZE: u64 = 64 * 1024 * 1024;
    on_each_backend(|backend| {
        let rt = runtime();
        rt.block_on(async {
            let ca = Authority::root("relay root");
            let id = ca.issue(&LeafSpec::new(&["localhost"]));
            // The sink: counts and hashes what arrives.
            let mut sink = AsyncSslServer::with_backend_handle(backend.clone());
            sink.set_ssl_configuration(id.server_config());
            sink.bind("127.0.0.1:0").await.unwrap();
            let sink_port = sink.local_address().unwrap().port();
            let sink_task = tokio::spawn(async move {
                let mut socket = sink.accept().await.unwrap();
                let mut hasher = Sha256::new();
                let mut total = 0u64;
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = socket.read(&mut buf).await.unwrap();
                    if n == 0 {
                        return (total, hasher.finalize());
                    }
                    total += n as u64;
                    hasher.update(&buf[..n]);
                }
            });
            // The relay: TLS in from the source, TLS out to the sink, tokio::io::copy between.
            let mut relay = AsyncSslServer::with_backend_handle(backend.clone());
            relay.set_ssl_configuration(id.server_config());
            relay.bind("127.0.0.1:0").await.unwrap();
            let relay_port = relay.local_address().unwrap().port();
            let (backend2, ca2) = (backend.clone(), ca.certificate.clone());
            let relay_task = tokio::spawn(async move {
                let mut inbound = relay.accept().await.unwrap();
                let mut outbound = AsyncSslSocket::with_backend_handle(backend2);
                outbound.set_ssl_configuration(client_config(&ca2));
                outbound.connect_to_host_encrypted("localhost", sink_port).await.unwrap();
                let copied = tokio::io::copy(&mut inbound, &mut outbound).await.unwrap();
                outbound.shutdown().await.unwrap();
                copied
            });
            // The source: 64 MiB of a known pattern.
            let mut source = AsyncSslSocket::with_backend_handle(backend.clone());
            source.set_ssl_configuration(client_config(&ca.certificate));
            source.connect_to_host_encrypted("localhost", relay_port).await.unwrap();
            let chunk: Vec<u8> = (0..1024 * 1024).map(|i: u32| (i * 13 % 256) as u8).collect();
            let mut expected = Sha256::new();
            for _ in 0..SIZE / chunk.len() as u64 {
                source.write_all(&chunk).await.unwrap();
                expected.update(&chunk);
            }
            source.shutdown().await.unwrap();
            let copied = relay_task.await.unwrap();
            let (received, hash) = sink_task.await.unwrap();
            assert_eq!(copied, SIZE, "{}", backend.name());
            assert_eq!(received, SIZE);
            assert_eq!(hash, expected.finalize());
        });
    });
}

struct AllowOnly(SslErrorKind);

#[async_trait::async_trait]
impl SslErrorsHandler for AllowOnly {
    async fn decide(&self, errors: &[SslError], chain: &[SslCertificate]) -> Decision {
        tokio::time::sleep(Duration::from_millis(20)).await; // e.g. asking a user
        assert!(!chain.is_empty());
        if errors.iter().all(|e| e.kind == self.0) {
            Decision::Ignore
        } else {
            Decision::Reject
        }
    }
}

#[test]
fn an_async_handler_decides_on_certificate_errors() {
    on_each_backend(|backend| {
        let rt = runtime();
        rt.block_on(async {
            let ca = Authority::root("decider root");
            let expired = ca.issue(&LeafSpec::new(&["localhost"]).expired());
            let (port, _server, _stop) =
                echo_server(&backend, &expired, Duration::from_secs(5)).await;

            let mut socket = AsyncSslSocket::with_backend_handle(backend.clone());
            socket.set_ssl_configuration(client_config(&ca.certificate));
            socket.set_ssl_errors_handler(Arc::new(AllowOnly(SslErrorKind::CertificateExpired)));
            if !recoverable(&backend) {
                // The engine rejects by itself; the handler is never asked.
                let err = socket.connect_to_host_encrypted("localhost", port).await.unwrap_err();
                assert_eq!(
                    err.ssl_errors()[0].kind,
                    SslErrorKind::UnspecifiedError,
                    "{}",
                    backend.name()
                );
                return;
            }
            socket.connect_to_host_encrypted("localhost", port).await.unwrap();
            socket.write_all(b"hi").await.unwrap();
            socket.flush().await.unwrap();
            let mut back = [0u8; 2];
            socket.read_exact(&mut back).await.unwrap();
            assert_eq!(&back, b"hi");

            let mut socket = AsyncSslSocket::with_backend_handle(backend.clone());
            socket.set_ssl_configuration(client_config(&ca.certificate));
            socket.set_ssl_errors_handler(Arc::new(AllowOnly(SslErrorKind::HostNameMismatch)));
            let err = socket.connect_to_host_encrypted("localhost", port).await.unwrap_err();
            assert_eq!(err.kind(), SocketErrorKind::SslHandshakeFailedError, "{}", backend.name());
            assert_eq!(err.ssl_errors()[0].kind, SslErrorKind::CertificateExpired);
        });
    });
}

#[test]
fn events_arrive_as_a_stream_in_order() {
    on_each_backend(|backend| {
        let rt = runtime();
        rt.block_on(async {
            let ca = Authority::root("events root");
            let id = ca.issue(&LeafSpec::new(&["localhost"]));
            let (port, _server, _stop) = echo_server(&backend, &id, Duration::from_secs(5)).await;
            let mut socket = AsyncSslSocket::with_backend_handle(backend.clone());
            socket.set_ssl_configuration(client_config(&ca.certificate));
            let mut events = socket.events();
            socket.connect_to_host_encrypted("localhost", port).await.unwrap();
            socket.write_all(b"x").await.unwrap();
            socket.flush().await.unwrap();
            let mut seen = Vec::new();
            while let Some(e) = events.try_recv() {
                if !matches!(e, Event::StateChanged(_)) {
                    seen.push(e);
                }
            }
            assert!(
                matches!(
                    seen.as_slice(),
                    [
                        Event::ModeChanged(SslMode::SslClientMode),
                        Event::HostFound,
                        Event::Connected,
                        Event::Encrypted,
                        ..
                    ]
                ),
                "{}: {seen:?}",
                backend.name()
            );
        });
    });
}
