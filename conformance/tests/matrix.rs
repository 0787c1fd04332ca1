//! One `#[test]` per scenario per compiled backend (through every driver), and one per
//! scenario per client × server backend pair for the cross scenarios.

use conformance::outcome::Outcome;
use conformance::{driver, matrix, scenarios};

/// Runs `scenario` on the backend named `backend` (or, for `client/server`, that pair),
/// through every driver, and fails the test on any failing cell.
fn check(scenario: &str, backend: &str) {
    let Some(found) = scenarios::find(scenario) else { panic!("no scenario {scenario}") };
    let all: Vec<_> = sslsocket::registry::compiled_backends();
    let (client, server) = backend.split_once('/').unwrap_or((backend, backend));
    let Some(c) = all.iter().find(|b| b.name() == client) else { return };
    let Some(s) = all.iter().find(|b| b.name() == server) else { return };
    let pair = if client == server { vec![c.clone()] } else { vec![c.clone(), s.clone()] };
    let mut failures = Vec::new();
    for (label, driver, ctx) in matrix::contexts(&found, &pair, &driver::drivers()) {
        if label != backend {
            continue;
        }
        match scenarios::run(&found, &ctx) {
            Outcome::Fail(why) => failures.push(format!("{label} ({driver}): {why}")),
            // Only honest where a capability or the protocol list says so.
            Outcome::Unsupported(feature) => assert!(
                !ctx.client.features().contains(feature)
                    || !ctx.server.features().contains(feature),
                "{label} ({driver}): unsupported({feature}) although both backends claim it"
            ),
            Outcome::UnsupportedProtocol(protocol) => assert!(
                !ctx.client.supported_protocols_for(sslsocket::Role::Client).contains(&protocol)
                    || !ctx
                        .server
                        .supported_protocols_for(sslsocket::Role::Server)
                        .contains(&protocol),
                "{label} ({driver}): unsupported({protocol}) although both backends accept it"
            ),
            Outcome::Pass => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

macro_rules! matrix {
    ($($scenario:ident),* $(,)?) => {
        mod rustls { $( #[cfg(feature = "rustls")] #[test] fn $scenario() { super::check(stringify!($scenario), "rustls") } )* }
        mod openssl { $( #[cfg(feature = "openssl")] #[test] fn $scenario() { super::check(stringify!($scenario), "openssl") } )* }
        mod native { $( #[cfg(feature = "native")] #[test] fn $scenario() { super::check(stringify!($scenario), "native") } )* }
    };
}

macro_rules! cross {
    ($($scenario:ident),* $(,)?) => {
        mod cross {
            $(
                #[test]
                fn $scenario() {
                    let names: Vec<&str> = sslsocket::registry::compiled_backends().iter().map(|b| b.name()).collect();
                    for c in &names {
                        for s in &names {
                            if c != s {
                                super::check(stringify!($scenario), &format!("{c}/{s}"));
                            }
                        }
                    }
                }
            )*
        }
    };
}

matrix! {
    handshake_tls12, handshake_tls13, transfer_1mib_each_way_tls12, transfer_1mib_each_way_tls13,
    protocol_restrictions_are_honoured_on_both_sides, client_tls13_only_vs_server_tls12_only_fails_typed,
    cipher_selection_tls13, cipher_selection_tls12, alpn_match_uses_the_servers_choice,
    alpn_client_only_negotiates_nothing, alpn_server_only_negotiates_nothing, alpn_no_overlap_fails_per_rfc7301,
    sni_is_sent, peer_verify_name_overrides_the_connect_host, ip_address_san_matches,
    wildcard_san_matches_the_leftmost_label_only,
    expired_certificate, not_yet_valid_certificate, self_signed_leaf, self_signed_root_in_chain, untrusted_root,
    missing_intermediate, host_name_mismatch, ca_false_issuer, path_length_exceeded, wrong_extended_key_usage,
    verify_depth_exceeded,
    server_verify_none, server_query_peer, server_verify_peer, server_auto_verify_peer_is_query_peer,
    client_verify_none_accepts_an_untrusted_server, client_query_peer_records_errors_and_connects,
    client_auto_verify_peer_is_verify_peer,
    write_before_encrypted_is_sent_after_encrypted, starttls_after_a_plaintext_exchange_with_peeked_data,
    one_byte_chunks, read_buffer_limit_under_a_flood_loses_nothing, abort_from_inside_an_event_handler,
    close_from_inside_an_event_handler, transfer_64mib_sha256, close_notify_is_a_clean_end, truncation_is_an_error,
    peer_dies_mid_handshake, garbage_instead_of_tls, handshake_timeout, x509_limbo_chain_verification,
}

cross! {
    handshake_tls12, handshake_tls13, transfer_1mib_each_way_tls12, transfer_1mib_each_way_tls13,
}

#[test]
fn every_scenario_has_a_test() {
    let source = include_str!("matrix.rs");
    for s in scenarios::all() {
        assert!(
            source.contains(&format!("{},", s.name)),
            "scenario {} has no #[test] above",
            s.name
        );
    }
}
