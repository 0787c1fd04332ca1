//! Session resumption on the OpenSSL backend, over real sockets on 127.0.0.1 (issue 18).
//!
//! - Client: sockets (`SslSocket`) on the openssl backend connect four times to the same
//!   server with one configuration, so they share one engine context and its session cache
//!   (the registry's per-configuration cache): the first handshake is full, the next three
//!   resume. The server says so - our openssl server engine (`SSL_session_reused`) and
//!   `openssl s_server` ("Reused session-id") - with TLS 1.2 and TLS 1.3.
//! - Server: our openssl server engine resumes the sockets of every backend that claims
//!   `SessionTicket` (rustls, openssl), and sees only full handshakes from native-tls, whose
//!   OpenSSL connector keeps no client sessions (the native backend does not claim
//!   `SessionTicket`; the test asserts that too, so that a native client that starts resuming
//!   is noticed).
//!
//! The server engine is `backend_openssl::OpensslContext`, the same `SSL_CTX` an `SslServer`
//! on the openssl backend builds, driven here over a `TcpStream` so that each connection can
//! be asked whether it resumed (an `SslServer` does not say).
//!
//! `openssl s_server` is an outside program: missing, its part is `n/a: openssl not installed`
//! (printed), and a failure with `SSLSOCKET_REQUIRE_PEERS=1`.
#![cfg(feature = "openssl")]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use backend_openssl::OpensslContext;
use conformance::pki::{Authority, Identity};
use ssl_api::SslSession;
use sslsocket::{Feature, Role, SslBackend, SslConfiguration, SslProtocol, SslSocket};
use sslsocket_tests::peers::{self, arg, args, PemDir, PEER_TIMEOUT};
use sslsocket_tests::{backends, client_config};

const TIMEOUT: Duration = Duration::from_secs(10);

/// Connections per case: one full handshake, then sessions to resume.
const CONNECTIONS: usize = 4;

const PROTOCOLS: [SslProtocol; 2] = [SslProtocol::TlsV1_2, SslProtocol::TlsV1_3];

#[test]
fn openssl_client_sockets_resume_against_our_openssl_server_with_tls_1_2_and_1_3() {
    let openssl = backend("openssl");
    assert!(openssl.features().contains(Feature::SessionTicket));
    for protocol in PROTOCOLS {
        let (root, server) = pki();
        let config = SslConfiguration { protocol, ..client_config(&root.certificate) };
        let resumed = against_our_server(&openssl, &config, &server.server_config());
        assert_eq!(resumed, expected_all_but_first(), "{protocol:?}");
    }
}

#[test]
fn openssl_client_sockets_resume_against_openssl_s_server_with_tls_1_2_and_1_3() {
    let test = "openssl_client_sockets_resume_against_openssl_s_server";
    if !peers::all_installed(test, &["openssl"]) {
        println!("n/a: openssl not installed");
        return;
    }
    let openssl = backend("openssl");
    for protocol in PROTOCOLS {
        let (root, server) = pki();
        let dir = PemDir::new();
        let files = dir.identity("server", &server);
        let version = if protocol == SslProtocol::TlsV1_2 { "-tls1_2" } else { "-tls1_3" };
        let build = |port: u16| {
            let mut a = args(&["s_server", version, "-accept"]);
            a.push(format!("127.0.0.1:{port}"));
            a.extend(["-cert".into(), arg(&files.cert), "-key".into(), arg(&files.key)]);
            a
        };
        let (mut s_server, port) =
            peers::spawn_server("openssl", build, "ACCEPT", dir.path()).unwrap();
        let config = SslConfiguration { protocol, ..client_config(&root.certificate) };
        let mut resumed = Vec::new();
        for i in 0..CONNECTIONS {
            let before = s_server.output().matches("Reused session-id").count();
            let mut socket = connect(&openssl, &config, port).unwrap();
            socket.write_all(b"hello\n").unwrap();
            socket.flush().unwrap();
            // s_server prints "Reused session-id" when the handshake resumed, then what it
            // reads; it sends what it is given on stdin: the answer comes after its tickets,
            // so the client has them before it closes.
            wait_until(|| s_server.output().matches("hello").count() > i, &s_server.describe());
            resumed.push(s_server.output().matches("Reused session-id").count() > before);
            s_server.send(b"world\n").unwrap();
            let mut answer = [0u8; 6];
            socket.read_exact(&mut answer).unwrap();
            assert_eq!(&answer, b"world\n");
            close(&mut socket);
        }
        assert_eq!(resumed, expected_all_but_first(), "{protocol:?}: {}", s_server.describe());
    }
}

#[test]
fn our_openssl_server_resumes_rustls_and_openssl_sockets_and_native_tls_offers_no_session() {
    for client in backends() {
        let claims = client.features().contains(Feature::SessionTicket);
        if client.name() == "native" {
            // native-tls's OpenSSL connector keeps no client sessions, and the backend says so.
            assert!(!claims, "the native backend claims SessionTicket: update this test");
        }
        for protocol in PROTOCOLS {
            if !client.supported_protocols_for(Role::Client).contains(&protocol) {
                println!("{} client, {protocol:?}: n/a (not supported)", client.name());
                continue;
            }
            let (root, server) = pki();
            let config = SslConfiguration { protocol, ..client_config(&root.certificate) };
            let resumed = against_our_server(&client, &config, &server.server_config());
            let expected = if claims { expected_all_but_first() } else { vec![false; CONNECTIONS] };
            println!(
                "{} client, {protocol:?}: resumed by our openssl server: {resumed:?}{}",
                client.name(),
                if claims { "" } else { " (the client offers no session)" }
            );
            assert_eq!(resumed, expected, "{} client, {protocol:?}", client.name());
        }
    }
}

// ---- helpers --------------------------------------------------------------------------------

fn backend(name: &str) -> Arc<dyn SslBackend> {
    sslsocket::registry::backend(name).unwrap()
}

fn pki() -> (Authority, Identity) {
    let root = Authority::root("resumption root");
    let server = root.leaf(&["localhost"]);
    (root, server)
}

fn expected_all_but_first() -> Vec<bool> {
    (0..CONNECTIONS).map(|i| i > 0).collect()
}

fn connect(
    backend: &Arc<dyn SslBackend>,
    config: &SslConfiguration,
    port: u16,
) -> Result<SslSocket, sslsocket::Error> {
    let mut socket = SslSocket::with_backend_handle(backend.clone());
    socket.set_ssl_configuration(config.clone());
    socket.set_read_timeout(Some(TIMEOUT));
    socket.set_write_timeout(Some(TIMEOUT));
    socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");
    socket.wait_for_encrypted(TIMEOUT)?;
    Ok(socket)
}

/// A graceful close: close_notify, then the peer's end.
fn close(socket: &mut SslSocket) {
    socket.disconnect_from_host();
    socket.wait_for_disconnected(TIMEOUT).unwrap();
}

fn wait_until(mut done: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + PEER_TIMEOUT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

/// [`CONNECTIONS`] sockets on `client` with `config`, one after the other, each exchanging a
/// line with our openssl server engine and closing gracefully. Returns, per connection,
/// whether the server resumed its session.
fn against_our_server(
    client: &Arc<dyn SslBackend>,
    config: &SslConfiguration,
    server_config: &SslConfiguration,
) -> Vec<bool> {
    let server_config = SslConfiguration { protocol: config.protocol, ..server_config.clone() };
    let context = OpensslContext::new(&server_config, Role::Server).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let serving = thread::spawn(move || {
        (0..CONNECTIONS)
            .map(|_| {
                let (tcp, _) = listener.accept()?;
                serve_one(&context, &tcp)
            })
            .collect::<io::Result<Vec<bool>>>()
    });
    for _ in 0..CONNECTIONS {
        let mut socket = connect(client, config, port).unwrap();
        socket.write_all(b"hello\n").unwrap();
        socket.flush().unwrap();
        let mut answer = [0u8; 6];
        socket.read_exact(&mut answer).unwrap();
        assert_eq!(&answer, b"world\n");
        close(&mut socket);
    }
    serving.join().unwrap().unwrap()
}

/// Serves one connection with a session of `context`: answers the line `hello` with `world`,
/// and the client's close_notify with its own (OpenSSL keeps a session resumable only when
/// its connection ended with close_notify). Returns whether the session was resumed.
fn serve_one(context: &OpensslContext, tcp: &TcpStream) -> io::Result<bool> {
    let engine = |e: sslsocket::TlsError| io::Error::other(e.to_string());
    tcp.set_read_timeout(Some(TIMEOUT))?;
    let mut session = context.session(None).map_err(|e| io::Error::other(e.to_string()))?;
    let mut line = Vec::new();
    loop {
        while session.wants_write() {
            session.write_tls(&mut &*tcp)?;
        }
        if session.read_tls(&mut &*tcp)? == 0 {
            break; // the client closed without close_notify
        }
        let status = session.process_new_packets().map_err(engine)?;
        let mut buf = [0u8; 64];
        loop {
            match session.read_plaintext(&mut buf) {
                Ok(0) => break,
                Ok(n) => line.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        if line.ends_with(b"\n") {
            assert_eq!(line, b"hello\n");
            line.clear();
            assert_eq!(session.write_plaintext(b"world\n")?, 6);
        }
        if status.peer_has_closed {
            break;
        }
    }
    session.send_close_notify();
    while session.wants_write() {
        if session.write_tls(&mut &*tcp).is_err() {
            break;
        }
    }
    Ok(session.is_resumed())
}
