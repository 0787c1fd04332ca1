//! A server that requires a client certificate we do not send rejects us the same way in
//! TLS 1.2 and TLS 1.3 (issue 15, item 5): a handshake failure (`SslHandshakeFailedError`)
//! naming the server's alert, on every backend and both drivers, against `openssl s_server
//! -Verify 1`. In TLS 1.3 the client finishes before the server judges its certificate, so
//! `wait_for_encrypted` may succeed and the alert comes with the first read (or after a write
//! the closed peer refused): the error is the same, and no application byte comes back.
//! (The interop table, tests/interop.rs, has the same rows against gnutls-serv.)
//!
//! The alert is also an event (issue 15, item 6): `Event::AlertReceived` with the number the
//! error names (handshake_failure in TLS 1.2, certificate_required in TLS 1.3), on every
//! backend that declares `Feature::Alerts`, and none on the others.
#![cfg(feature = "tokio")] // both drivers are tested side by side
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use conformance::pki::Authority;
use sslsocket::{
    AlertLevel, AsyncSslSocket, Error, Event, Feature, SocketErrorKind, SslBackend, SslSocket,
    TlsErrorKind,
};
use sslsocket_tests::peers::{self, arg, args, Peer, PemDir};
use sslsocket_tests::{client_config, on_each_backend};

const TIMEOUT: Duration = Duration::from_secs(10);

/// `openssl s_server` requiring a client certificate issued by `ca`, TLS 1.2 or 1.3 only.
fn s_server(dir: &PemDir, ca: &Authority, version: &str) -> (Peer, u16) {
    let id = dir.identity("server", &ca.leaf(&["localhost"]));
    let ca_file = dir.certificate("ca.pem", &ca.certificate);
    peers::spawn_server(
        "openssl",
        |port| {
            let mut a = args(&["s_server", "-rev", "-accept"]);
            a.push(format!("127.0.0.1:{port}"));
            a.extend(["-cert".into(), arg(&id.cert), "-key".into(), arg(&id.key)]);
            a.extend(args(&[version, "-Verify", "1", "-verify_return_error", "-CAfile"]));
            a.push(arg(&ca_file));
            a
        },
        "ACCEPT",
        dir.path(),
    )
    .unwrap()
}

/// The error must be a handshake failure naming an alert the server sent; `events` has the
/// `AlertReceived` event for it where the backend declares `Alerts` (and none elsewhere).
fn assert_handshake_failure(
    backend: &Arc<dyn SslBackend>,
    err: Option<&Error>,
    events: &[Event],
    who: &str,
) {
    let tls = match err {
        Some(err @ Error::Handshake(tls)) => {
            assert_eq!(err.kind(), SocketErrorKind::SslHandshakeFailedError, "{who}");
            assert_eq!(tls.kind, TlsErrorKind::AlertReceived, "{who}: {tls:?}");
            tls
        }
        other => panic!("{who}: expected a handshake failure naming the alert, got {other:?}"),
    };
    let received: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::AlertReceived(alert) => Some(alert),
            _ => None,
        })
        .collect();
    if backend.features().contains(Feature::Alerts) {
        let code = tls.alert.unwrap_or_else(|| panic!("{who}: the error names no alert: {tls:?}"));
        assert!(
            matches!(received.as_slice(), [a] if a.level == AlertLevel::Fatal && a.code == code),
            "{who}: events {events:?}"
        );
        println!(
            "{who}: {:?} ({:?}: {}); event: {}",
            err.map(Error::kind),
            tls.kind,
            tls.message,
            received[0]
        );
    } else {
        assert!(received.is_empty(), "{who}: Alerts not declared, yet {received:?}");
        println!(
            "{who}: {:?} ({:?}: {}); no event (Alerts not declared)",
            err.map(Error::kind),
            tls.kind,
            tls.message
        );
    }
}

fn blocking(backend: &Arc<dyn SslBackend>, ca: &Authority, port: u16, who: &str) {
    let mut socket = SslSocket::with_backend_handle(backend.clone());
    let events = Arc::new(Mutex::new(Vec::new()));
    let record = events.clone();
    socket.set_event_handler(move |event, _| record.lock().unwrap().push(event.clone()));
    socket.set_ssl_configuration(client_config(&ca.certificate));
    socket.set_read_timeout(Some(TIMEOUT));
    socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");
    if socket.wait_for_encrypted(TIMEOUT).is_ok() {
        let mut answer = [0u8; 16];
        let exchanged = socket
            .write_all(b"PING\n")
            .and_then(|()| socket.flush())
            .and_then(|()| socket.read(&mut answer));
        assert!(!matches!(exchanged, Ok(1..)), "{who}: the server answered: {exchanged:?}");
    }
    let events = events.lock().unwrap().clone();
    assert_handshake_failure(backend, socket.error(), &events, who);
}

async fn tokio(backend: &Arc<dyn SslBackend>, ca: &Authority, port: u16, who: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = AsyncSslSocket::with_backend_handle(backend.clone());
    let mut stream = socket.events();
    socket.set_ssl_configuration(client_config(&ca.certificate));
    let connect = socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");
    if tokio::time::timeout(TIMEOUT, connect).await.unwrap().is_ok() {
        let mut answer = [0u8; 16];
        let exchange = async {
            socket.write_all(b"PING\n").await?;
            socket.flush().await?;
            socket.read(&mut answer).await
        };
        let exchanged = tokio::time::timeout(TIMEOUT, exchange).await.unwrap();
        assert!(!matches!(exchanged, Ok(1..)), "{who}: the server answered: {exchanged:?}");
    }
    let mut events = Vec::new();
    while let Some(event) = stream.try_recv() {
        events.push(event);
    }
    assert_handshake_failure(backend, socket.error(), &events, who);
}

#[test]
fn a_missing_client_certificate_is_a_handshake_failure_in_tls_1_2_and_1_3() {
    let test = "a_missing_client_certificate_is_a_handshake_failure_in_tls_1_2_and_1_3";
    if !peers::all_installed(test, &["openssl"]) {
        return;
    }
    let ca = Authority::root("client certificate root");
    let dir = PemDir::new();
    on_each_backend(|backend| {
        for version in ["-tls1_2", "-tls1_3"] {
            let who = format!("{} {version} blocking", backend.name());
            let (_server, port) = s_server(&dir, &ca, version);
            blocking(&backend, &ca, port, &who);
            let who = format!("{} {version} tokio", backend.name());
            let (_server, port) = s_server(&dir, &ca, version);
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(tokio(&backend, &ca, port, &who));
        }
    });
}
