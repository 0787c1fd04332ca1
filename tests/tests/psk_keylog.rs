//! Pre-shared key handshakes and key logging: on the backends that claim them, real
//! handshakes; on the others, the typed refusal before any byte.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::sync::{Arc, Mutex};
use std::time::Instant;

use conformance::pki::Authority;
use sslsocket::conn::pair::Pair;
use sslsocket::{
    ConfigError, Connection, Error, Feature, KeyLogHandler, PeerVerifyMode, PskHandler, SslBackend,
    SslConfiguration, SslProtocol,
};
use sslsocket_tests::{client_config, on_each_backend};

const STEPS: usize = 10_000;

fn psk_pair(
    backend: &Arc<dyn SslBackend>,
    protocol: SslProtocol,
    client_key: &'static [u8],
) -> (Pair, Arc<Mutex<Vec<Vec<u8>>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let client = SslConfiguration {
        protocol,
        // A PSK session is authenticated by the key; there is no certificate to verify.
        peer_verify_mode: PeerVerifyMode::VerifyNone,
        system_ca_certificates: false,
        pre_shared_key: Some(PskHandler::new(move |auth| {
            auth.set_identity(b"client-7");
            auth.set_pre_shared_key(client_key);
        })),
        ..SslConfiguration::default()
    };
    let identities = seen.clone();
    let server = SslConfiguration {
        protocol,
        peer_verify_mode: PeerVerifyMode::VerifyNone,
        system_ca_certificates: false,
        pre_shared_key: Some(PskHandler::new(move |auth| {
            identities.lock().unwrap().push(auth.identity().to_vec());
            if auth.identity() == b"client-7" {
                auth.set_pre_shared_key(b"0123456789abcdef0123456789abcdef");
            }
        })),
        ..SslConfiguration::default()
    };
    let mut c = Connection::new(backend.clone(), client);
    c.set_peer_verify_name("localhost");
    let s = Connection::new(backend.clone(), server);
    let mut p = Pair::new(c, s, Instant::now());
    let now = p.now;
    sslsocket::testing::start_client_encryption(&mut p.client, now);
    sslsocket::testing::start_server_encryption(&mut p.server, now);
    (p, seen)
}

#[test]
fn a_psk_handshake_works_on_both_roles_where_claimed_and_is_refused_elsewhere() {
    on_each_backend(|backend| {
        if !backend.features().contains(Feature::Psk) {
            let (mut p, _) = psk_pair(&backend, SslProtocol::SecureProtocols, b"x");
            p.drive_bounded(STEPS).unwrap();
            let refused = |c: &Connection| {
                matches!(
                    c.error(),
                    Some(Error::Config(ConfigError::Unsupported { feature: Feature::Psk, .. }))
                )
            };
            assert!(
                refused(&p.client) && refused(&p.server),
                "{}: {:?}",
                backend.name(),
                p.client.error()
            );
            assert!(p.to_server.wire.is_empty(), "{}: bytes were sent", backend.name());
            return;
        }
        for protocol in [SslProtocol::TlsV1_2, SslProtocol::TlsV1_3] {
            let who = format!("{} {protocol}", backend.name());
            let (mut p, seen) = psk_pair(&backend, protocol, b"0123456789abcdef0123456789abcdef");
            p.client.write(b"over psk").unwrap();
            p.drive_until(STEPS, |p| p.server.bytes_available() == 8).unwrap_or_else(|e| {
                panic!("{who}: {e} client {:?} server {:?}", p.client.error(), p.server.error())
            });
            assert_eq!(p.server.read_all(), b"over psk", "{who}");
            assert_eq!(p.client.session_protocol(), protocol, "{who}");
            assert!(
                p.client.peer_certificate_chain().is_empty(),
                "{who}: no certificate is involved"
            );
            assert!(seen.lock().unwrap().iter().any(|id| id == b"client-7"), "{who}");

            // The wrong key: the handshake fails, typed, and nothing crosses.
            let (mut p, _) = psk_pair(&backend, protocol, b"not the key at all, not the key");
            p.client.write(b"secret").unwrap();
            p.drive_bounded(STEPS).unwrap();
            let err = p.client.error().or(p.server.error()).expect("a failure");
            assert_eq!(
                err.kind(),
                sslsocket::SocketErrorKind::SslHandshakeFailedError,
                "{who}: {err:?}"
            );
            assert_eq!(p.server.bytes_available(), 0, "{who}");
        }
    });
}

#[test]
fn the_key_log_receives_nss_lines_where_claimed_and_is_refused_elsewhere() {
    on_each_backend(|backend| {
        let ca = Authority::root("key log root");
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = lines.clone();
        let mut config = client_config(&ca.certificate);
        config.key_log =
            Some(KeyLogHandler::new(move |line| sink.lock().unwrap().push(line.to_owned())));
        let mut c = Connection::new(backend.clone(), config);
        c.set_peer_verify_name("localhost");
        let s = Connection::new(backend.clone(), ca.leaf(&["localhost"]).server_config());
        let mut p = Pair::new(c, s, Instant::now());
        let now = p.now;
        sslsocket::testing::start_client_encryption(&mut p.client, now);
        sslsocket::testing::start_server_encryption(&mut p.server, now);
        p.drive_bounded(STEPS).unwrap();
        if !backend.features().contains(Feature::KeyLog) {
            assert!(
                matches!(
                    p.client.error(),
                    Some(Error::Config(ConfigError::Unsupported { feature: Feature::KeyLog, .. }))
                ),
                "{}: {:?}",
                backend.name(),
                p.client.error()
            );
            return;
        }
        assert!(p.client.is_encrypted(), "{}: {:?}", backend.name(), p.client.error());
        let lines = lines.lock().unwrap();
        // TLS 1.3: five secrets, each `LABEL <64 hex client random> <hex secret>`.
        for label in [
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            "CLIENT_TRAFFIC_SECRET_0",
            "SERVER_TRAFFIC_SECRET_0",
        ] {
            let line = lines
                .iter()
                .find(|l| l.starts_with(label))
                .unwrap_or_else(|| panic!("{}: no {label} in {lines:?}", backend.name()));
            let fields: Vec<&str> = line.split(' ').collect();
            assert_eq!(fields.len(), 3, "{line}");
            assert_eq!(fields[1].len(), 64, "{line}");
            assert!(
                fields[2].len() >= 64 && fields[2].chars().all(|c| c.is_ascii_hexdigit()),
                "{line}"
            );
        }
    });
}
