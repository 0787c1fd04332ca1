//! Security defaults, audited on every backend: a default client verifies the peer and its
//! name; the default protocol set is TLS 1.2+ (a TLS 1.1 peer nobody here wrote is refused);
//! an ignore list is bound to its certificates; nothing is written in clear before
//! `Encrypted` (checked on the raw bytes); private key bytes never show in `Debug` output.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::io::{Read, Write};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use conformance::pki::{Authority, Identity, LeafSpec};
use sslsocket::{
    Accepted, ConfigError, Error, PeerVerifyMode, SocketErrorKind, SslBackend, SslConfiguration,
    SslErrorKind, SslProtocol, SslServer, SslSocket,
};
use sslsocket_tests::peers::{self, arg, args, Peer, PemDir, PEER_TIMEOUT};
use sslsocket_tests::relay::{Faults, Relay};
use sslsocket_tests::{client_config, expected_kinds, on_each_backend, recoverable};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A server presenting `identity` for `clients` connections; each accepted socket echoes
/// until its peer closes. Returns the port and the number of encrypted connections.
fn echo_server(
    backend: &Arc<dyn SslBackend>,
    identity: &Identity,
    clients: usize,
) -> (u16, thread::JoinHandle<usize>) {
    let mut server = SslServer::with_backend_handle(backend.clone());
    server.set_ssl_configuration(identity.server_config());
    server.set_handshake_timeout(TIMEOUT);
    server.listen("127.0.0.1:0").unwrap();
    let port = server.local_address().unwrap().port();
    let handle = thread::spawn(move || {
        let mut encrypted = 0;
        for _ in 0..clients {
            match server.accept_next(Some(TIMEOUT)) {
                Ok(Accepted::Encrypted(mut socket)) => {
                    encrypted += 1;
                    socket.set_read_timeout(Some(TIMEOUT));
                    let mut buf = [0u8; 4096];
                    while let Ok(n @ 1..) = socket.read(&mut buf) {
                        if socket.write_all(&buf[..n]).and_then(|()| socket.flush()).is_err() {
                            break;
                        }
                    }
                }
                Ok(Accepted::Failed(_)) => {}
                Err(_) => break,
            }
        }
        encrypted
    });
    (port, handle)
}

#[test]
fn a_default_client_verifies_the_peer_and_its_name() {
    let defaults = SslConfiguration::default();
    assert_eq!(defaults.protocol, SslProtocol::SecureProtocols);
    assert_eq!(defaults.peer_verify_mode, PeerVerifyMode::AutoVerifyPeer);
    assert_eq!(
        defaults.peer_verify_mode.effective(sslsocket::SslMode::SslClientMode),
        PeerVerifyMode::VerifyPeer
    );
    on_each_backend(|backend| {
        let name = backend.name();
        let ca = Authority::root("per-run root, trusted by nobody");
        let id = ca.leaf(&["localhost"]);
        let (port, server) = echo_server(&backend, &id, 2);

        // Untouched defaults (system trust store, AutoVerifyPeer): the per-run root is unknown.
        let mut socket = SslSocket::with_backend_handle(backend.clone());
        socket.connect_to_host_encrypted("localhost", port);
        let err = socket.wait_for_encrypted(TIMEOUT).unwrap_err();
        assert!(matches!(err, Error::Rejected { .. }), "{name}: {err:?}");
        let kinds: Vec<_> = err.ssl_errors().iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            expected_kinds(&backend, &[SslErrorKind::UnableToGetLocalIssuerCertificate]),
            "{name}"
        );

        // Trusting the root does not turn off the name check: 127.0.0.1 is not localhost.
        let mut socket = SslSocket::with_backend_handle(backend.clone());
        socket.add_ca_certificate(ca.certificate.clone());
        socket.connect_to_host_encrypted("127.0.0.1", port);
        let err = socket.wait_for_encrypted(TIMEOUT).unwrap_err();
        let kinds: Vec<_> = err.ssl_errors().iter().map(|e| e.kind).collect();
        assert_eq!(kinds, expected_kinds(&backend, &[SslErrorKind::HostNameMismatch]), "{name}");
        assert_eq!(server.join().unwrap(), 0, "{name}: the server encrypted a rejected client");
    });
}

/// `openssl s_server` speaking TLS 1.1 only, at security level 0 (Debian's default level
/// refuses TLS 1.1 even there).
fn tls11_server(dir: &PemDir, id: &Identity) -> Result<(Peer, u16), String> {
    let files = dir.identity("tls11", id);
    peers::spawn_server(
        "openssl",
        |port| {
            let mut a = args(&["s_server", "-tls1_1", "-cipher", "ALL:@SECLEVEL=0", "-accept"]);
            a.push(format!("127.0.0.1:{port}"));
            a.extend(["-cert".into(), arg(&files.cert), "-key".into(), arg(&files.key)]);
            a
        },
        "ACCEPT",
        dir.path(),
    )
}

#[test]
fn the_default_protocols_refuse_tls_1_1_on_every_backend() {
    if !peers::all_installed("the_default_protocols_refuse_tls_1_1_on_every_backend", &["openssl"])
    {
        return;
    }
    let dir = PemDir::new();
    let ca = Authority::root("tls 1.1 root");
    let id = ca.leaf(&["localhost"]);
    let ca_file = dir.certificate("ca.pem", &ca.certificate);
    let (_server, port) = tls11_server(&dir, &id).unwrap();

    // The control: the peer does speak TLS 1.1 to a client that asks for it.
    let mut control = Peer::spawn(
        "openssl",
        &[
            args(&["s_client", "-brief", "-tls1_1", "-cipher", "ALL:@SECLEVEL=0", "-connect"]),
            vec![format!("127.0.0.1:{port}"), "-CAfile".into(), arg(&ca_file)],
        ]
        .concat(),
        dir.path(),
    )
    .unwrap();
    control.wait_for_output("TLSv1.1", PEER_TIMEOUT).unwrap();
    drop(control);

    on_each_backend(|backend| {
        let name = backend.name();
        let mut socket = SslSocket::with_backend_handle(backend.clone());
        socket.set_ssl_configuration(client_config(&ca.certificate));
        socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");
        let err = socket.wait_for_encrypted(TIMEOUT).unwrap_err();
        println!("{name:<8} default client vs a TLS 1.1 server: {err:?}");
        assert_eq!(err.kind(), SocketErrorKind::SslHandshakeFailedError, "{name}: {err:?}");
        assert!(!socket.is_encrypted());

        // And a default server refuses a TLS 1.1 client.
        let mut server = SslServer::with_backend_handle(backend.clone());
        server.set_ssl_configuration(id.server_config());
        server.set_handshake_timeout(TIMEOUT);
        server.listen("127.0.0.1:0").unwrap();
        let server_port = server.local_address().unwrap().port();
        let mut client = Peer::spawn(
            "openssl",
            &[
                args(&["s_client", "-brief", "-tls1_1", "-cipher", "ALL:@SECLEVEL=0", "-connect"]),
                vec![format!("127.0.0.1:{server_port}")],
            ]
            .concat(),
            dir.path(),
        )
        .unwrap();
        match server.accept_next(Some(TIMEOUT)).unwrap() {
            Accepted::Failed(f) => {
                assert_eq!(f.error.kind(), SocketErrorKind::SslHandshakeFailedError, "{name}")
            }
            Accepted::Encrypted(s) => {
                panic!("{name}: a default server accepted {:?}", s.session_protocol())
            }
        }
        let status = client.wait_exit(PEER_TIMEOUT).unwrap();
        assert!(!status.success(), "{name}: s_client -tls1_1 succeeded");
    });
}

#[test]
fn an_ignore_list_never_ignores_the_same_error_for_another_certificate() {
    on_each_backend(|backend| {
        let name = backend.name();
        let ca = Authority::root("ignore root");
        let expired_a = ca.issue(&LeafSpec::new(&["localhost"]).expired());
        let expired_b = ca.issue(&LeafSpec::new(&["localhost"]).expired());
        let (port_a, server_a) = echo_server(&backend, &expired_a, 2);
        let (port_b, server_b) = echo_server(&backend, &expired_b, 1);
        let connect = |port: u16, ignore: Option<Vec<sslsocket::SslError>>| {
            let mut socket = SslSocket::with_backend_handle(backend.clone());
            socket.set_ssl_configuration(client_config(&ca.certificate));
            if let Some(list) = ignore {
                socket.ignore_ssl_errors_list(list);
            }
            socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");
            let result = socket.wait_for_encrypted(TIMEOUT);
            (socket, result)
        };
        let (socket, result) = connect(port_a, None);
        let errors = socket.ssl_handshake_errors().to_vec();
        assert!(result.is_err(), "{name}");
        if !recoverable(&backend) {
            // Nothing can be ignored on this engine: a list is refused, typed.
            let (_, result) = connect(port_b, Some(errors));
            let err = result.unwrap_err();
            assert!(matches!(err, Error::Config(ConfigError::Unsupported { .. })), "{name}");
            drop((server_a, server_b));
            return;
        }
        assert_eq!(errors.len(), 1, "{name}: {errors:?}");
        assert_eq!(errors[0].kind, SslErrorKind::CertificateExpired);
        assert_eq!(errors[0].certificate.as_ref(), Some(expired_a.leaf()));

        // B is expired too, the same kind: A's list must not let B through.
        let (socket, result) = connect(port_b, Some(errors.clone()));
        let err = result.unwrap_err();
        assert_eq!(err.kind(), SocketErrorKind::SslHandshakeFailedError, "{name}: {err:?}");
        assert_eq!(err.ssl_errors()[0].certificate.as_ref(), Some(expired_b.leaf()), "{name}");
        assert!(!socket.is_encrypted());

        // The control: A's list lets A through.
        let (mut socket, result) = connect(port_a, Some(errors));
        result.unwrap_or_else(|e| panic!("{name}: {e:?}"));
        socket.disconnect_from_host();
        let _ = socket.wait_for_disconnected(TIMEOUT);
        assert_eq!(server_a.join().unwrap(), 1, "{name}");
        assert_eq!(server_b.join().unwrap(), 0, "{name}");
    });
}

#[test]
fn no_plaintext_reaches_the_transport_before_encrypted() {
    const REQUEST: &[u8] = b"REQUEST-WRITTEN-BEFORE-THE-HANDSHAKE-MUST-STAY-SECRET";
    on_each_backend(|backend| {
        let name = backend.name();
        let ca = Authority::root("capture root");
        let id = ca.leaf(&["localhost"]);
        let (port, server) = echo_server(&backend, &id, 1);
        let relay =
            Relay::start(format!("127.0.0.1:{port}").parse().unwrap(), Faults::default()).unwrap();
        let mut socket = SslSocket::with_backend_handle(backend.clone());
        socket.set_ssl_configuration(client_config(&ca.certificate));
        socket.set_read_timeout(Some(TIMEOUT));
        socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", relay.port, "localhost");
        // Written before TCP is even connected: queued, sent only once encrypted.
        socket.write_all(REQUEST).unwrap();
        socket.wait_for_encrypted(TIMEOUT).unwrap();
        let mut echo = vec![0u8; REQUEST.len()];
        socket.read_exact(&mut echo).unwrap();
        assert_eq!(echo, REQUEST);
        socket.disconnect_from_host();
        socket.wait_for_disconnected(TIMEOUT).unwrap();
        server.join().unwrap();
        let wire = relay.finish().unwrap();
        let seen = |bytes: &[u8]| bytes.windows(12).any(|w| REQUEST.windows(12).any(|r| r == w));
        println!(
            "{name:<8} captured {} B client → server, {} B back: no 12-byte window of the request",
            wire.to_server.len(),
            wire.to_client.len()
        );
        assert!(!seen(&wire.to_server), "{name}: the request crossed in clear");
        assert!(!seen(&wire.to_client), "{name}: the echo crossed in clear");
        assert_eq!(wire.to_server[0], 0x16, "{name}: the first byte is not a TLS handshake");
    });
}

#[test]
fn private_key_bytes_never_show_in_debug_output() {
    let ca = Authority::root("debug root");
    let id = ca.leaf(&["localhost"]);
    let der = id.key.to_pkcs8_der().unwrap().to_vec();
    let pem_body: String = id.key_pem.lines().filter(|l| !l.starts_with("-----")).collect();
    // The detector detects: the key's own Debug list, hex and PEM are caught.
    let hex: String = der.iter().map(|b| format!("{b:02X}")).collect();
    for shown in [format!("{der:?}"), hex, id.key_pem.clone()] {
        assert!(key_leak(&shown, &der, &pem_body).is_some(), "undetected: {shown}");
    }
    on_each_backend(|backend| {
        let name = backend.name();
        // The key, a configuration holding it, and sockets whose engine contexts hold it.
        let mut texts = vec![format!("{:?}", id.key), format!("{:#?}", id.key)];
        let config = id.server_config();
        texts.push(format!("{config:?}"));
        texts.push(format!("{config:#?}"));
        let (port, server) = echo_server(&backend, &id, 1);
        let mut client = SslSocket::with_backend_handle(backend.clone());
        client.set_ssl_configuration(client_config(&ca.certificate));
        client.connect_to_host_encrypted("localhost", port);
        client.wait_for_encrypted(TIMEOUT).unwrap();
        let mut conn_server = SslServer::with_backend_handle(backend.clone());
        conn_server.set_ssl_configuration(config.clone());
        conn_server.listen("127.0.0.1:0").unwrap();
        texts.push(format!("{conn_server:#?}"));
        let mut conn = sslsocket::Connection::new(backend.clone(), config.clone());
        conn.handle_adopted();
        sslsocket::testing::start_server_encryption(&mut conn, std::time::Instant::now()); // builds the engine context
        texts.push(format!("{conn:?}"));
        texts.push(format!("{conn:#?}"));
        client.disconnect_from_host();
        let _ = client.wait_for_disconnected(TIMEOUT);
        server.join().unwrap();
        for text in &texts {
            if let Some(leak) = key_leak(text, &der, &pem_body) {
                panic!("{name}: private key bytes in Debug output ({leak}):\n{text}");
            }
        }
        println!(
            "{name:<8} {} Debug texts, {} bytes: no 8-byte window of the key",
            texts.len(),
            texts.iter().map(String::len).sum::<usize>()
        );
    });
}

/// Whether `text` shows any 8-byte window of `der` — raw, as hex, or as a Debug list of
/// numbers — or 16 characters of the key's base64.
fn key_leak(text: &str, der: &[u8], pem_body: &str) -> Option<&'static str> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    for w in der.windows(8) {
        let hex: String = w.iter().map(|b| format!("{b:02x}")).collect();
        if compact.to_lowercase().contains(&hex) {
            return Some("hex");
        }
        let list = w.iter().map(u8::to_string).collect::<Vec<_>>().join(",");
        if compact.contains(&list) {
            return Some("a list of numbers");
        }
        if text.as_bytes().windows(8).any(|t| t == w) {
            return Some("raw bytes");
        }
    }
    let base64: Vec<char> = pem_body.chars().collect();
    for start in (0..base64.len().saturating_sub(16)).step_by(4) {
        let piece: String = base64[start..start + 16].iter().collect();
        if compact.contains(&piece) {
            return Some("base64");
        }
    }
    None
}
