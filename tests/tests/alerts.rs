//! Alerts (issue 15, item 6), seen by peers nobody here wrote and as events.
//!
//! A handshake that fails sends an alert before the connection closes: the engine's own
//! (our server against `openssl s_client` offering only a version it refuses:
//! `protocol_version`; before, the connection just ended, "unexpected eof"), and for a
//! certificate the socket's policy rejects (the engine accepted it and waits for the
//! decision), the one OpenSSL would send, written by the connection where it may travel in
//! the clear (`unknown_ca` for a chain nobody trusts): TLS 1.2, and a TLS 1.3 client (as
//! OpenSSL's own client sends it). A TLS 1.3 server's would have to be encrypted under the
//! engine's keys, which no engine offers a call for: nothing is sent then.
//!
//! The events (`Feature::Alerts`, declared by every backend here: rustls, openssl, and native
//! where it wraps OpenSSL): `AlertSent` for each alert sent in the clear and our
//! close_notify, `AlertReceived` for the peer's close_notify (the peer's fatal alerts:
//! tests/client_certificate.rs).
#![cfg(feature = "tokio")] // both drivers are tested side by side
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use conformance::pki::Authority;
use sslsocket::{
    Alert, AlertLevel, AlertType, Event, Feature, PeerVerifyMode, Role, SslBackend, SslProtocol,
    SslServer, SslSocket,
};
use sslsocket_tests::peers::{self, arg, args, Peer, PemDir};
use sslsocket_tests::{client_config, on_each_backend};

const TIMEOUT: Duration = Duration::from_secs(10);

/// The version our side allows, and the one the peer insists on: TLS 1.3 against a TLS 1.2
/// peer where the backend's role has TLS 1.3, TLS 1.2 against a TLS 1.3 peer elsewhere.
fn versions(backend: &Arc<dyn SslBackend>, role: Role) -> (SslProtocol, &'static str) {
    if backend.supported_protocols_for(role).contains(&SslProtocol::TlsV1_3) {
        (SslProtocol::TlsV1_3, "-tls1_2")
    } else {
        (SslProtocol::TlsV1_2, "-tls1_3")
    }
}

fn says_protocol_version(output: &str) -> bool {
    output.contains("alert protocol version")
}

#[test]
fn our_server_tells_a_client_it_refuses_why() {
    let test = "our_server_tells_a_client_it_refuses_why";
    if !peers::all_installed(test, &["openssl"]) {
        return;
    }
    let ca = Authority::root("alert root");
    let id = ca.leaf(&["localhost"]);
    let dir = PemDir::new();
    on_each_backend(|backend| {
        let (ours, theirs) = versions(&backend, Role::Server);
        let mut server = SslServer::with_backend_handle(backend.clone());
        let mut config = id.server_config();
        config.protocol = ours;
        server.set_ssl_configuration(config);
        let events = Recorder::default();
        let record = events.clone();
        server.set_socket_setup(move |socket| record.attach(socket));
        server.listen("127.0.0.1:0").unwrap();
        let port = server.local_address().unwrap().port();
        let mut a = args(&["s_client", "-connect"]);
        a.push(format!("127.0.0.1:{port}"));
        a.extend(args(&[theirs, "-servername", "localhost"]));
        let mut client = Peer::spawn("openssl", &a, dir.path()).unwrap();
        let failed = server.accept_next(Some(TIMEOUT)).unwrap();
        assert!(matches!(failed, sslsocket::Accepted::Failed(_)), "{}: {failed:?}", backend.name());
        client.close_stdin();
        let _ = client.wait_exit(TIMEOUT);
        let output = client.output();
        println!(
            "{} server ({ours:?}) vs s_client {theirs}: {}",
            backend.name(),
            last_error(&output)
        );
        assert!(says_protocol_version(&output), "{}: {}", backend.name(), client.describe());
        // Before the ServerHello the alert travels in the clear: reported.
        assert_eq!(events.sent(), vec![Alert::fatal(70)], "{}", backend.name());
    });
}

#[test]
fn our_client_tells_a_server_whose_certificate_it_rejects_why() {
    let test = "our_client_tells_a_server_whose_certificate_it_rejects_why";
    if !peers::all_installed(test, &["openssl"]) {
        return;
    }
    let trusted = Authority::root("alert root");
    let unknown = Authority::root("a root nobody trusts");
    let dir = PemDir::new();
    let files = dir.identity("server", &unknown.leaf(&["localhost"]));
    on_each_backend(|backend| {
        for (version, driver) in [
            ("-tls1_2", "blocking"),
            ("-tls1_3", "blocking"),
            ("-tls1_2", "tokio"),
            ("-tls1_3", "tokio"),
        ] {
            let (mut server, port) = peers::spawn_server(
                "openssl",
                |port| {
                    let mut a = args(&["s_server", "-naccept", "1", version, "-accept"]);
                    a.push(format!("127.0.0.1:{port}"));
                    a.extend(["-cert".into(), arg(&files.cert), "-key".into(), arg(&files.key)]);
                    a
                },
                "ACCEPT",
                dir.path(),
            )
            .unwrap();
            let config = client_config(&trusted.certificate);
            let (err, sent) = if driver == "blocking" {
                let mut socket = SslSocket::with_backend_handle(backend.clone());
                let events = Recorder::default();
                events.attach(&mut socket);
                socket.set_ssl_configuration(config);
                socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");
                (socket.wait_for_encrypted(TIMEOUT).unwrap_err(), events.sent())
            } else {
                let rt =
                    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async {
                    let mut socket =
                        sslsocket::AsyncSslSocket::with_backend_handle(backend.clone());
                    let mut stream = socket.events();
                    socket.set_ssl_configuration(config);
                    let connect = socket.connect_to_host_encrypted_with_peer_name(
                        "127.0.0.1",
                        port,
                        "localhost",
                    );
                    let err = tokio::time::timeout(TIMEOUT, connect).await.unwrap().unwrap_err();
                    let mut sent = Vec::new();
                    while let Some(event) = stream.try_recv() {
                        if let Event::AlertSent(alert) = event {
                            sent.push(alert);
                        }
                    }
                    (err, sent)
                })
            };
            let _ = server.wait_exit(TIMEOUT);
            let output = server.output();
            let in_engine = !backend.features().contains(Feature::RecoverableVerifyErrors);
            let who = format!(
                "{} {driver} client {version} ({err}), verified {}",
                backend.name(),
                if in_engine { "in the engine" } else { "by the socket's policy" }
            );
            println!("{who}: s_server: {}; sent: {sent:?}", last_error(&output));
            // In the clear, from the engine or from the socket (TLS 1.2, and a TLS 1.3 client
            // before its first encrypted record, as OpenSSL's client sends it): sent and
            // reported.
            assert!(output.contains("alert unknown ca"), "{who}: {}", server.describe());
            assert_eq!(sent, vec![Alert::fatal(48)], "{who}");
        }
    });
}

#[test]
fn our_server_tells_a_client_whose_certificate_it_rejects_why() {
    let test = "our_server_tells_a_client_whose_certificate_it_rejects_why";
    if !peers::all_installed(test, &["openssl"]) {
        return;
    }
    let ca = Authority::root("alert root");
    let unknown = Authority::root("a root nobody trusts");
    let dir = PemDir::new();
    let client_files = dir.identity("client", &unknown.leaf(&["client"]));
    let id = ca.leaf(&["localhost"]);
    on_each_backend(|backend| {
        if !backend.features().contains(Feature::ServerRequestsClientCertificate) {
            println!("{}: n/a: the server cannot request a client certificate", backend.name());
            return;
        }
        let mut server = SslServer::with_backend_handle(backend.clone());
        let mut config = id.server_config();
        config.peer_verify_mode = PeerVerifyMode::VerifyPeer;
        config.ca_certificates = vec![ca.certificate.clone()];
        config.protocol = SslProtocol::TlsV1_2;
        server.set_ssl_configuration(config);
        let events = Recorder::default();
        let record = events.clone();
        server.set_socket_setup(move |socket| record.attach(socket));
        server.listen("127.0.0.1:0").unwrap();
        let port = server.local_address().unwrap().port();
        let mut a = args(&["s_client", "-tls1_2", "-connect"]);
        a.push(format!("127.0.0.1:{port}"));
        a.extend(["-cert".into(), arg(&client_files.cert), "-key".into(), arg(&client_files.key)]);
        let mut client = Peer::spawn("openssl", &a, dir.path()).unwrap();
        let failed = server.accept_next(Some(TIMEOUT)).unwrap();
        assert!(matches!(failed, sslsocket::Accepted::Failed(_)), "{}: {failed:?}", backend.name());
        client.close_stdin();
        let _ = client.wait_exit(TIMEOUT);
        let output = client.output();
        println!(
            "{} server (TLS 1.2, client certificate nobody trusts): s_client: {}; events: {:?}",
            backend.name(),
            last_error(&output),
            events.sent()
        );
        assert!(output.contains("alert unknown ca"), "{}: {}", backend.name(), client.describe());
        assert_eq!(events.sent(), vec![Alert::fatal(48)], "{}", backend.name());
    });
}

#[test]
fn close_notify_is_an_event_on_both_sides() {
    on_each_backend(|backend| {
        if !backend.features().contains(Feature::Alerts) {
            println!("{}: n/a: Alerts not declared", backend.name());
            return;
        }
        let ca = Authority::root("alert root");
        let mut server = SslServer::with_backend_handle(backend.clone());
        server.set_ssl_configuration(ca.leaf(&["localhost"]).server_config());
        let server_events = Recorder::default();
        let record = server_events.clone();
        server.set_socket_setup(move |socket| record.attach(socket));
        server.listen("127.0.0.1:0").unwrap();
        let port = server.local_address().unwrap().port();
        let mut client = SslSocket::with_backend_handle(backend.clone());
        let client_events = Recorder::default();
        client_events.attach(&mut client);
        client.set_ssl_configuration(client_config(&ca.certificate));
        client.connect_to_host_encrypted("localhost", port);
        client.wait_for_encrypted(TIMEOUT).unwrap();
        let mut served = server.accept().unwrap();
        served.set_read_timeout(Some(TIMEOUT));
        client.disconnect_from_host();
        // The server reads to the client's close_notify and answers with its own.
        let mut rest = Vec::new();
        served.read_to_end(&mut rest).unwrap();
        served.flush().unwrap();
        served.wait_for_disconnected(TIMEOUT).unwrap();
        client.wait_for_disconnected(TIMEOUT).unwrap();
        let close_notify = vec![Alert::close_notify()];
        let who = backend.name();
        println!(
            "{who}: client sent {:?} received {:?}; server sent {:?} received {:?}",
            client_events.sent(),
            client_events.received(),
            server_events.sent(),
            server_events.received()
        );
        assert_eq!(client_events.sent(), close_notify, "{who}");
        assert_eq!(server_events.received(), close_notify, "{who}");
        assert_eq!(server_events.sent(), close_notify, "{who}");
        assert_eq!(client_events.received(), close_notify, "{who}");
        let alert = &client_events.sent()[0];
        assert_eq!((alert.level, alert.kind), (AlertLevel::Warning, AlertType::CloseNotify));
        assert_eq!(alert.description, "close notify");
    });
}

/// The events of one socket (or of every socket a server's setup attaches it to).
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Event>>>);

impl Recorder {
    fn attach(&self, socket: &mut SslSocket) {
        let events = self.0.clone();
        socket.set_event_handler(move |event, _| events.lock().unwrap().push(event.clone()));
    }

    fn sent(&self) -> Vec<Alert> {
        self.alerts(|e| if let Event::AlertSent(a) = e { Some(a.clone()) } else { None })
    }

    fn received(&self) -> Vec<Alert> {
        self.alerts(|e| if let Event::AlertReceived(a) = e { Some(a.clone()) } else { None })
    }

    fn alerts(&self, pick: impl Fn(&Event) -> Option<Alert>) -> Vec<Alert> {
        self.0.lock().unwrap().iter().filter_map(pick).collect()
    }
}

fn last_error(output: &str) -> &str {
    output.lines().rfind(|l| l.contains("error:")).unwrap_or("(no error line)")
}
