//! One `#[test]` per scenario per compiled backend (through every driver), and one per
//! scenario per client × server backend pair for the cross scenarios.

use std::sync::Arc;

use conformance::outcome::Outcome;
use conformance::{driver, matrix, scenarios};
use sslsocket::SslBackend;

/// Runs `scenario` on the backend named `label` (or, for `client/server`, that pair), through
/// every driver, and fails the test on any failing cell.
fn check(scenario: &str, label: &str) {
    let failures = run_label(scenario, label);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs a cross scenario on every client × server pair of distinct compiled backends, or, in a
/// one-backend build, on that backend against itself; fails naming each pair that failed.
fn check_cross(scenario: &str) {
    let failures: Vec<String> =
        cross_labels(&compiled()).iter().flat_map(|label| run_label(scenario, label)).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The labels a cross scenario runs on: `client/server` for every pair of distinct backends,
/// or the one backend's name when it is alone.
fn cross_labels(backends: &[Arc<dyn SslBackend>]) -> Vec<String> {
    let names: Vec<&str> = backends.iter().map(|b| b.name()).collect();
    if let [alone] = names.as_slice() {
        return vec![(*alone).to_owned()];
    }
    let mut labels = Vec::new();
    for c in &names {
        for s in names.iter().filter(|s| *s != c) {
            labels.push(format!("{c}/{s}"));
        }
    }
    labels
}

fn compiled() -> Vec<Arc<dyn SslBackend>> {
    let all = sslsocket::registry::compiled_backends();
    assert!(!all.is_empty(), "no backend is compiled in");
    all
}

/// The cells of `scenario` labelled `label`, each run through its driver: the failures, each
/// naming the label and the driver.
///
/// # Panics
/// When the scenario or a backend of the label does not exist, or no cell carries the label:
/// a check that runs nothing must not pass.
fn run_label(scenario: &str, label: &str) -> Vec<String> {
    let Some(found) = scenarios::find(scenario) else { panic!("no scenario {scenario}") };
    let all = compiled();
    let names = all.iter().map(|b| b.name()).collect::<Vec<_>>().join(", ");
    let (client, server) = label.split_once('/').unwrap_or((label, label));
    let find = |name: &str| {
        all.iter().find(|b| b.name() == name).cloned().unwrap_or_else(|| {
            panic!(
                "{scenario} on {label}: no backend {name:?} is compiled in (compiled: [{names}])"
            )
        })
    };
    let (c, s) = (find(client), find(server));
    let pair = if client == server { vec![c] } else { vec![c, s] };
    let contexts = matrix::contexts(&found, &pair, &driver::drivers());
    let mut failures = Vec::new();
    let mut ran = 0;
    for (cell, driver, ctx) in &contexts {
        if cell != label {
            continue;
        }
        ran += 1;
        match scenarios::run(&found, ctx) {
            Outcome::Fail(why) => failures.push(format!("{scenario} on {cell} ({driver}): {why}")),
            // Only honest where a capability or the protocol list says so.
            Outcome::Unsupported(feature) => {
                if ctx.client.features().contains(feature)
                    && ctx.server.features().contains(feature)
                {
                    failures.push(format!(
                        "{scenario} on {cell} ({driver}): unsupported({feature}) although both \
                         backends claim it"
                    ));
                }
            }
            Outcome::UnsupportedProtocol(protocol) => {
                let client_has =
                    ctx.client.supported_protocols_for(sslsocket::Role::Client).contains(&protocol);
                let server_has =
                    ctx.server.supported_protocols_for(sslsocket::Role::Server).contains(&protocol);
                if client_has && server_has {
                    failures.push(format!(
                        "{scenario} on {cell} ({driver}): unsupported({protocol}) although both \
                         backends accept it"
                    ));
                }
            }
            Outcome::Pass => {}
        }
    }
    let labels: Vec<&str> = contexts.iter().map(|(cell, _, _)| cell.as_str()).collect();
    assert!(ran > 0, "{scenario}: no cell is labelled {label:?} (the cells are {labels:?})");
    failures
}

macro_rules! matrix {
    ($($scenario:ident),* $(,)?) => {
        /// The scenarios with a `#[test]` per backend below, as written.
        const MATRIX: &[&str] = &[$(stringify!($scenario)),*];
        mod rustls { $( #[cfg(feature = "rustls")] #[test] fn $scenario() { super::check(stringify!($scenario), "rustls") } )* }
        mod openssl { $( #[cfg(feature = "openssl")] #[test] fn $scenario() { super::check(stringify!($scenario), "openssl") } )* }
        mod native { $( #[cfg(feature = "native")] #[test] fn $scenario() { super::check(stringify!($scenario), "native") } )* }
    };
}

macro_rules! cross {
    ($($scenario:ident),* $(,)?) => {
        /// The scenarios with a cross-backend `#[test]` below, as written.
        const CROSS: &[&str] = &[$(stringify!($scenario)),*];
        mod cross { $( #[test] fn $scenario() { super::check_cross(stringify!($scenario)) } )* }
    };
}

matrix! {
    handshake_tls12, handshake_tls13, transfer_1mib_each_way_tls12, transfer_1mib_each_way_tls13,
    protocol_restrictions_are_honoured_on_both_sides, client_tls13_only_vs_server_tls12_only_fails_typed,
    cipher_selection_tls13, cipher_selection_tls12, server_cipher_order_wins_unless_disabled_tls13,
    server_cipher_order_wins_unless_disabled_tls12, alpn_match_uses_the_servers_choice,
    alpn_client_only_negotiates_nothing, alpn_server_only_negotiates_nothing, alpn_no_overlap_fails_per_rfc7301,
    sni_is_sent, peer_verify_name_overrides_the_connect_host, ip_address_san_matches,
    wildcard_san_matches_the_leftmost_label_only,
    expired_certificate, not_yet_valid_certificate, self_signed_leaf, self_signed_root_in_chain, untrusted_root,
    missing_intermediate, host_name_mismatch, ca_false_issuer, path_length_exceeded, wrong_extended_key_usage,
    verify_depth_exceeded, verify_depth_counts_the_leaf_and_not_the_anchor,
    explicitly_trusted_self_signed_ca_certificate_is_accepted, explicitly_trusted_certificate_still_expires,
    explicitly_trusted_certificate_still_needs_the_right_name,
    explicitly_trusted_certificate_still_needs_the_server_purpose, self_signed_ca_certificate_not_listed_is_rejected,
    explicitly_trusted_client_certificate_is_accepted, listed_leaf_issued_by_an_unlisted_ca_is_rejected,
    engines_differ_on_cn_fallback_without_san, engines_differ_on_a_trailing_dot_peer_name,
    engines_differ_on_a_ca_leaf_issued_by_a_trusted_ca, engines_differ_on_a_chain_of_100_intermediates,
    x509_limbo_answers_are_the_declared_ones,
    server_verify_none, server_query_peer, server_verify_peer, server_auto_verify_peer_is_query_peer,
    client_verify_none_accepts_an_untrusted_server, client_query_peer_records_errors_and_connects,
    client_auto_verify_peer_is_verify_peer,
    write_before_encrypted_is_sent_after_encrypted, starttls_after_a_plaintext_exchange_with_peeked_data,
    one_byte_chunks, read_buffer_limit_under_a_flood_loses_nothing, abort_from_inside_an_event_handler,
    close_from_inside_an_event_handler, transfer_64mib_sha256, close_notify_is_a_clean_end, truncation_is_an_error,
    peer_dies_mid_handshake, garbage_instead_of_tls, handshake_timeout, x509_limbo_chain_verification,
    an_ignore_is_spent_by_the_handshake_it_was_given_for, settings_changed_during_a_handshake_apply_to_the_next_one,
    session_parameters_end_with_the_session_the_peer_chain_does_not,
    alerts_close_notify_is_sent_and_received_both_ways, alerts_a_refused_version_is_sent_and_received,
    alerts_a_certificate_the_policy_rejects_is_told_tls12,
    client_certificate_missing_is_a_handshake_failure_tls12,
    client_certificate_missing_ends_the_connection_tls13,
}

cross! {
    handshake_tls12, handshake_tls13, transfer_1mib_each_way_tls12, transfer_1mib_each_way_tls13,
}

#[test]
fn every_scenario_has_a_test() {
    let all = scenarios::all();
    for s in &all {
        assert!(MATRIX.contains(&s.name), "scenario {} has no #[test] in matrix! above", s.name);
        assert_eq!(
            CROSS.contains(&s.name),
            s.cross,
            "scenario {}: cross is {}, and cross! above must list exactly the cross scenarios",
            s.name,
            s.cross
        );
    }
    for (list, name) in [(MATRIX, "matrix!"), (CROSS, "cross!")] {
        for (i, listed) in list.iter().enumerate() {
            assert!(
                all.iter().any(|s| s.name == *listed),
                "{name} lists {listed}: no such scenario"
            );
            assert!(!list[..i].contains(listed), "{name} lists {listed} twice");
        }
    }
}

#[test]
#[should_panic(expected = "no backend \"nonesuch\" is compiled in")]
fn a_misspelt_backend_label_fails() {
    check("handshake_tls12", "nonesuch");
}

#[test]
#[should_panic(expected = "no cell is labelled")]
fn a_label_that_matches_no_cell_fails() {
    // `X/X` names a compiled backend twice, but a same-backend cell is labelled `X`.
    let name = compiled()[0].name();
    check("handshake_tls12", &format!("{name}/{name}"));
}

#[test]
#[should_panic(expected = "no scenario handshake_tls99")]
fn a_misspelt_scenario_fails() {
    check("handshake_tls99", "rustls");
}

#[test]
fn a_one_backend_build_runs_the_cross_scenarios_on_that_backend_against_itself() {
    let all = compiled();
    assert_eq!(cross_labels(&all[..1]), [all[0].name()]);
    if all.len() > 1 {
        let labels = cross_labels(&all);
        assert_eq!(labels.len(), all.len() * (all.len() - 1), "{labels:?}");
        assert!(labels.iter().all(|l| l.split_once('/').is_some_and(|(c, s)| c != s)));
    }
}
