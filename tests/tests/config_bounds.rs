//! Out-of-range configuration values are typed errors before any byte, the same on every
//! backend: the verify depth (OpenSSL takes it as a C `int`) and the ALPN list (its encoded
//! length shares the ClientHello's 16-bit extension block).
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::sync::Arc;
use std::time::Instant;

use conformance::pki::{Authority, LeafSpec};
use sslsocket::conn::pair::Pair;
use sslsocket::{
    ConfigError, Connection, Error, Feature, Role, SslBackend, SslConfiguration, MAX_ALPN_LIST_LEN,
    MAX_ALPN_PROTOCOL_LEN, MAX_PEER_VERIFY_DEPTH,
};
use sslsocket_tests::{client_config, on_each_backend, pair, start};

const STEPS: usize = 20_000;

fn refusal(backend: &Arc<dyn SslBackend>, config: &SslConfiguration, role: Role) -> ConfigError {
    match sslsocket::registry::context_for(backend, config, role) {
        Err(Error::Config(err)) => err,
        Err(other) => panic!("{}: not a configuration error: {other:?}", backend.name()),
        Ok(_) => panic!("{}: {role:?} context built", backend.name()),
    }
}

#[test]
fn a_verify_depth_beyond_the_limit_is_a_typed_error_on_every_backend() {
    on_each_backend(|backend| {
        let ca = Authority::root("depth root");
        for depth in [MAX_PEER_VERIFY_DEPTH + 1, (1 << 31) + 1, u32::MAX] {
            let mut config = client_config(&ca.certificate);
            config.peer_verify_depth = depth;
            let err = refusal(&backend, &config, Role::Client);
            println!("{}: depth {depth}: {err}", backend.name());
            assert_eq!(
                err,
                ConfigError::InvalidVerifyDepth { depth, max: MAX_PEER_VERIFY_DEPTH },
                "{}",
                backend.name()
            );
        }
    });
}

#[test]
fn the_largest_verify_depth_verifies_a_short_chain_where_depth_is_supported() {
    on_each_backend(|backend| {
        let ca = Authority::root("depth root");
        let server = ca.issue(&LeafSpec::new(&["localhost"]));
        let mut config = client_config(&ca.certificate);
        config.peer_verify_depth = MAX_PEER_VERIFY_DEPTH;
        if !backend.features().contains(Feature::PeerVerifyDepth) {
            let err = refusal(&backend, &config, Role::Client);
            assert!(matches!(err, ConfigError::Unsupported { .. }), "{err:?}");
            println!("{}: depth {MAX_PEER_VERIFY_DEPTH}: {err}", backend.name());
            return;
        }
        let mut p = pair(&backend, config, &server, "localhost");
        start(&mut p);
        p.drive_until(STEPS, |p| p.client.is_encrypted() && p.server.is_encrypted()).unwrap();
        println!("{}: depth {MAX_PEER_VERIFY_DEPTH}: encrypted", backend.name());
    });
}

/// `count` names of `len` bytes, all different, each ending in its number.
fn names(count: usize, len: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            let tail = format!("-{i}");
            let mut name = vec![b'p'; len - tail.len()];
            name.extend_from_slice(tail.as_bytes());
            name
        })
        .collect()
}

#[test]
fn an_alpn_list_beyond_its_bounds_is_a_typed_error_before_any_byte_on_every_backend() {
    on_each_backend(|backend| {
        let ca = Authority::root("alpn root");
        let server = ca.issue(&LeafSpec::new(&["localhost"]));
        let per_name = MAX_ALPN_PROTOCOL_LEN + 1;
        let fits = MAX_ALPN_LIST_LEN / per_name;
        let cases: Vec<(&str, Vec<Vec<u8>>, ConfigError)> = vec![
            (
                "one name too many",
                names(fits + 1, MAX_ALPN_PROTOCOL_LEN),
                ConfigError::AlpnListTooLong { len: (fits + 1) * per_name, max: MAX_ALPN_LIST_LEN },
            ),
            (
                "over 64 KiB",
                names(300, MAX_ALPN_PROTOCOL_LEN),
                ConfigError::AlpnListTooLong { len: 300 * per_name, max: MAX_ALPN_LIST_LEN },
            ),
            ("an empty name", vec![b"h2".to_vec(), Vec::new()], {
                ConfigError::InvalidAlpnProtocol { index: 1, len: 0 }
            }),
            ("a 256-byte name", vec![vec![b'x'; 256]], {
                ConfigError::InvalidAlpnProtocol { index: 0, len: 256 }
            }),
        ];
        for (what, list, expected) in cases {
            for role in [Role::Client, Role::Server] {
                let mut config = match role {
                    Role::Client => client_config(&ca.certificate),
                    Role::Server => server.server_config(),
                };
                config.alpn_protocols.clone_from(&list);
                let err = refusal(&backend, &config, role);
                assert_eq!(err, expected, "{} {role:?} {what}", backend.name());
            }
            // Through a connection: it fails before its first byte.
            let mut config = client_config(&ca.certificate);
            config.alpn_protocols = list;
            let mut p = pair(&backend, config, &server, "localhost");
            start(&mut p);
            assert_eq!(p.to_server.in_flight(), 0, "{} {what}: bytes sent", backend.name());
            match p.client.fatal_error() {
                Some(Error::Config(err)) => assert_eq!(*err, expected),
                other => panic!("{} {what}: {other:?}", backend.name()),
            }
            println!("{}: {what}: {expected}", backend.name());
        }
    });
}

#[test]
fn an_alpn_list_at_its_bound_is_negotiated_on_every_backend() {
    on_each_backend(|backend| {
        let ca = Authority::root("alpn root");
        let server = ca.issue(&LeafSpec::new(&["localhost"]));
        let list = names(MAX_ALPN_LIST_LEN / (MAX_ALPN_PROTOCOL_LEN + 1), MAX_ALPN_PROTOCOL_LEN);
        assert_eq!(list.len() * (MAX_ALPN_PROTOCOL_LEN + 1), MAX_ALPN_LIST_LEN);
        let chosen = list.last().unwrap().clone();
        let mut config = client_config(&ca.certificate);
        config.alpn_protocols = list;
        let mut client = Connection::new(backend.clone(), config);
        client.set_peer_verify_name("localhost");
        // A backend that cannot choose a protocol as a server is a client here only, against
        // a compiled one that can.
        let answering = |b: &Arc<dyn SslBackend>| {
            b.availability().is_ok() && b.features().contains(Feature::ServerSideAlpn)
        };
        let server_backend = if answering(&backend) {
            backend.clone()
        } else if let Some(b) = sslsocket::registry::compiled_backends().into_iter().find(answering)
        {
            b
        } else {
            // A build with this backend alone (`.ci/run`'s per-backend runs): the
            // all-backends run checks this client against another backend's server.
            println!(
                "n/a: {} client: no backend compiled in here answers ALPN as a server",
                backend.name()
            );
            return;
        };
        let mut server_config = server.server_config();
        server_config.alpn_protocols = vec![chosen.clone()];
        let server_conn = Connection::new(server_backend.clone(), server_config);
        let mut p = Pair::new(client, server_conn, Instant::now());
        start(&mut p);
        p.drive_until(STEPS, |p| p.client.is_encrypted() && p.server.is_encrypted()).unwrap();
        assert_eq!(p.client.alpn_protocol(), Some(chosen));
        println!(
            "{} client, {} server: a {MAX_ALPN_LIST_LEN}-byte ALPN list negotiated",
            backend.name(),
            server_backend.name()
        );
    });
}
