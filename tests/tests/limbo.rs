//! The x509-limbo core suite (`conformance/testdata/x509-limbo/limbo-core.json`, see its
//! README) run through `sslsocket::verify_chain` on every backend that claims
//! `Feature::ChainVerification`.
//!
//! Per case and backend it records accepted (no error) or rejected, against the expected
//! result, and checks:
//!
//! 1. a case that both reference engines (OpenSSL and rustls-webpki) get right is right on
//!    every backend that ran it;
//! 2. the rustls backend gives exactly the answer of rustls's stock verifier
//!    (`WebPkiServerVerifier` / `WebPkiClientVerifier`, the engine as rustls users get it): the
//!    wrapper adds no divergence and never turns a rejection into an acceptance. The one rule
//!    that may (a peer certificate byte-for-byte one of the trusted, self-signed ones is
//!    trusted as that anchor, see backend-rustls's `verify` module) changes no case of the
//!    suite, so the comparison stays exact;
//! 3. no backend fails to run a case it claims to support (an `Err` other than `Unsupported`).
//!
//! Engine differences from the expected result are printed, not failed: they are the engines'
//! own answers (see the README). Run with `-- --nocapture` for the table.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // test code: panics and the table are the report

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use conformance::limbo::{limbo_path, load, rfc3339, Answer, Case};
use sslsocket::{ConfigError, Feature, Purpose, SslBackend, VerifyRequest};
use sslsocket_tests::{assert_refuses_chain_verification, backends};

/// What the rustls backend's own engine says as rustls's users get it: the stock verifiers.
/// `None` where the stock verifier cannot be asked the same question (no name for a server).
fn stock_rustls(case: &Case) -> Option<Answer> {
    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    if case.max_intermediates.is_some() {
        return None;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(
        case.trust.iter().map(|c| CertificateDer::from(c.to_der().to_vec())),
    );
    let roots = Arc::new(roots);
    let ee = CertificateDer::from(case.chain[0].to_der().to_vec());
    let intermediates: Vec<CertificateDer<'_>> =
        case.chain[1..].iter().map(|c| CertificateDer::from(c.to_der().to_vec())).collect();
    let now = UnixTime::since_unix_epoch(case.at.duration_since(UNIX_EPOCH).unwrap_or_default());
    let ok = match case.purpose {
        Purpose::ServerAuth => {
            let host = case.host.as_deref()?;
            let Ok(name) = ServerName::try_from(host) else { return Some(Answer::Rejected) };
            let Ok(verifier) =
                rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider)
                    .build()
            else {
                return Some(Answer::Rejected);
            };
            verifier.verify_server_cert(&ee, &intermediates, &name, &[], now).is_ok()
        }
        Purpose::ClientAuth => {
            if case.host.is_some() {
                return None;
            }
            let Ok(verifier) =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider)
                    .build()
            else {
                return Some(Answer::Rejected);
            };
            verifier.verify_client_cert(&ee, &intermediates, now).is_ok()
        }
    };
    Some(if ok { Answer::Accepted } else { Answer::Rejected })
}

#[derive(Default)]
struct Tally {
    run: usize,
    agree: usize,
    disagreements: Vec<String>,
    skipped: BTreeMap<String, usize>,
}

#[test]
fn limbo_cases_get_each_engines_own_answer_on_every_backend() {
    let (cases, unexpressible) = load();
    assert!(cases.len() + unexpressible.len() >= 200, "the suite has 207 cases");
    let all = backends();
    let verifying: Vec<Arc<dyn SslBackend>> =
        all.iter().filter(|b| b.features().contains(Feature::ChainVerification)).cloned().collect();
    for backend in all.iter().filter(|b| !b.features().contains(Feature::ChainVerification)) {
        assert_refuses_chain_verification(backend);
    }

    if verifying.is_empty() {
        // Only backends without the API are compiled in (e.g. native alone): each refused it,
        // typed, above; there is nothing to run the suite on.
        println!(
            "no compiled-in backend claims ChainVerification; each refuses it with Unsupported"
        );
        return;
    }
    let mut tallies: BTreeMap<&'static str, Tally> = BTreeMap::new();
    let mut answers: BTreeMap<String, BTreeMap<&'static str, Answer>> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut oracle = (0usize, Vec::new());
    for case in &cases {
        let expected = if case.expected_success { Answer::Accepted } else { Answer::Rejected };
        for backend in &verifying {
            let tally = tallies.entry(backend.name()).or_default();
            let request = VerifyRequest::new(&case.chain, &case.trust, case.at, case.purpose)
                .with_host(case.host.as_deref())
                .with_max_intermediates(case.max_intermediates);
            let answer = match backend.verify_chain(&request) {
                Ok(errors) if errors.is_empty() => Answer::Accepted,
                Ok(_) => Answer::Rejected,
                Err(ConfigError::Unsupported { feature, .. }) => {
                    *tally.skipped.entry(format!("backend lacks {feature}")).or_default() += 1;
                    continue;
                }
                Err(other) => {
                    failures.push(format!("{} on {}: {other}", case.id, backend.name()));
                    continue;
                }
            };
            tally.run += 1;
            if answer == expected {
                tally.agree += 1;
            } else {
                tally
                    .disagreements
                    .push(format!("{} (expected {expected:?}, got {answer:?})", case.id));
            }
            answers.entry(case.id.clone()).or_default().insert(backend.name(), answer);
            if backend.name() == "rustls" {
                if let Some(stock) = stock_rustls(case) {
                    oracle.0 += 1;
                    if stock != answer {
                        oracle.1.push(format!(
                            "{}: stock rustls {stock:?}, backend {answer:?}",
                            case.id
                        ));
                    }
                }
            }
        }
    }

    println!(
        "\nx509-limbo core: {} cases, {} not expressible through the API",
        cases.len() + unexpressible.len(),
        unexpressible.len()
    );
    let mut reasons: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, reason) in &unexpressible {
        reasons.entry(reason.as_str()).or_default().push(id.as_str());
    }
    for (reason, ids) in &reasons {
        println!("  skipped ({}) {reason}: {}", ids.len(), ids.join(", "));
    }
    println!("\n| backend | cases run | agree with expected | disagree | skipped by the backend |");
    println!("|---|---|---|---|---|");
    for (name, tally) in &tallies {
        let skipped: Vec<String> =
            tally.skipped.iter().map(|(r, n)| format!("{n} ({r})")).collect();
        println!(
            "| {name} | {} | {} | {} | {} |",
            tally.run,
            tally.agree,
            tally.disagreements.len(),
            if skipped.is_empty() { "0".to_owned() } else { skipped.join(", ") }
        );
    }
    for (name, tally) in &tallies {
        println!(
            "\n{name}: engine answers that differ from the expected result ({}):",
            tally.disagreements.len()
        );
        for line in &tally.disagreements {
            println!("  {line}");
        }
    }
    println!(
        "\nrustls backend vs rustls's stock verifier: {} cases compared, {} differ",
        oracle.0,
        oracle.1.len()
    );

    assert!(failures.is_empty(), "backends failed to run cases: {failures:#?}");
    assert!(oracle.1.is_empty(), "the rustls backend diverges from its engine: {:#?}", oracle.1);
    if verifying.iter().any(|b| b.name() == "rustls") {
        assert!(oracle.0 > 100, "too few cases compared with stock rustls: {}", oracle.0);
    }
    // Rule 1: where both reference engines are right, every backend is.
    let mut both_right = 0;
    for case in &cases {
        let expected = if case.expected_success { Answer::Accepted } else { Answer::Rejected };
        let Some(got) = answers.get(&case.id) else { continue };
        let reference_right = ["openssl", "rustls"].iter().all(|r| got.get(r) == Some(&expected));
        if reference_right {
            both_right += 1;
            for (backend, answer) in got {
                assert_eq!(
                    *answer, expected,
                    "{} on {backend}: both reference engines are right",
                    case.id
                );
            }
        }
    }
    println!("cases both OpenSSL and rustls-webpki get right: {both_right}");
}

#[test]
fn the_limbo_file_is_found_from_the_manifest_dir() {
    assert!(limbo_path().is_file(), "missing {}", limbo_path().display());
    assert_eq!(rfc3339("1970-01-01T00:00:03+00:00"), Some(UNIX_EPOCH + Duration::from_secs(3)));
    assert_eq!(
        rfc3339("2024-03-01T00:00:00.999+00:00"),
        Some(UNIX_EPOCH + Duration::from_secs(1_709_251_200) + Duration::from_millis(999))
    );
}
