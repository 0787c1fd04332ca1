//! Capabilities are data, and the same data for every caller: a backend honours what its
//! `features()` claim, and refuses what they do not with the typed `Unsupported` error, also
//! when it is called directly (`SslBackend::new_context`, no socket, no registry).
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use conformance::pki::Authority;
use sslsocket::conn::pair::Pair;
use sslsocket::{
    ConfigError, Connection, Feature, PskHandler, Role, SslConfiguration, SslErrorKind,
};
use sslsocket_tests::{backends, client_config};

const STEPS: usize = 100_000;

/// Every feature `check_capabilities` guards, one configuration asking for it.
fn asking_for(feature: Feature, role: Role) -> SslConfiguration {
    let mut config = SslConfiguration { system_ca_certificates: false, ..Default::default() };
    match feature {
        Feature::PeerVerifyDepth => config.peer_verify_depth = 2,
        Feature::Psk => config.pre_shared_key = Some(PskHandler::new(|_| {})),
        other => panic!("no configuration asks for {other} here"),
    }
    if role == Role::Server {
        let id = Authority::root("capabilities root").leaf(&["localhost"]);
        config.local_certificate_chain = id.chain.clone();
        config.private_key = Some(id.key.clone());
    }
    config
}

#[test]
fn a_direct_caller_of_a_backend_gets_unsupported_for_what_it_cannot_do() {
    for backend in backends() {
        for feature in [Feature::PeerVerifyDepth, Feature::Psk] {
            for role in [Role::Client, Role::Server] {
                let result = backend.new_context(&asking_for(feature, role), role);
                let who = format!("{} {role:?} asking for {feature}", backend.name());
                if backend.features().contains(feature) {
                    assert!(result.is_ok(), "{who}: claimed, yet refused: {result:?}");
                } else {
                    match result {
                        Err(ConfigError::Unsupported { backend: name, feature: f }) => {
                            assert_eq!((name, f), (backend.name(), feature), "{who}");
                        }
                        other => panic!("{who}: not claimed, yet {other:?} (want Unsupported)"),
                    }
                }
            }
        }
    }
}

/// rustls and OpenSSL honour `peer_verify_depth` with the seed's meaning (leaf included,
/// anchor not) and the same error kind; native-tls declares it unsupported.
#[test]
fn peer_verify_depth_is_honoured_with_the_same_error_where_the_engine_can() {
    let root = Authority::root("depth root");
    let id = root.intermediate("depth intermediate", None).leaf(&["localhost"]);
    for backend in backends() {
        let honours = match backend.name() {
            "rustls" | "openssl" => true,
            "native" => false,
            other => panic!("{other}: a backend this test does not know"),
        };
        assert_eq!(
            backend.features().contains(Feature::PeerVerifyDepth),
            honours,
            "{}: PeerVerifyDepth",
            backend.name()
        );
        if !honours {
            continue;
        }
        for (depth, accepted) in [(2, true), (1, false)] {
            let who = format!("{} depth {depth}, leaf + 1 intermediate", backend.name());
            let mut config = client_config(&root.certificate);
            config.peer_verify_depth = depth;
            let mut client = Connection::new(backend.clone(), config);
            client.set_peer_verify_name("localhost");
            let server = Connection::new(backend.clone(), id.server_config());
            let mut p = Pair::new(client, server, std::time::Instant::now());
            sslsocket::testing::start_client_encryption(&mut p.client, p.now);
            sslsocket::testing::start_server_encryption(&mut p.server, p.now);
            let _ = p.drive_until(STEPS, |p| p.client.is_encrypted() || p.client.error().is_some());
            if accepted {
                assert!(p.client.is_encrypted(), "{who}: {:?}", p.client.error());
            } else {
                let kinds: Vec<_> =
                    p.client.ssl_handshake_errors().iter().map(|e| e.kind).collect();
                assert!(kinds.contains(&SslErrorKind::PathLengthExceeded), "{who}: {kinds:?}");
                assert!(!p.client.is_encrypted(), "{who}: accepted");
            }
        }
    }
}
