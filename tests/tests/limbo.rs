//! The x509-limbo core suite (`../shared/testdata/x509-limbo/limbo-core.json`, see its
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
//!    wrapper adds no divergence and never turns a rejection into an acceptance;
//! 3. no backend fails to run a case it claims to support (an `Err` other than `Unsupported`).
//!
//! Engine differences from the expected result are printed, not failed: they are the engines'
//! own answers (see the README). Run with `-- --nocapture` for the table.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // test code: panics and the table are the report

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sslsocket::{ConfigError, Feature, Purpose, SslBackend, SslCertificate, VerifyRequest};
use sslsocket_tests::backends;

fn limbo_path() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/testdata/x509-limbo/limbo-core.json")
}

/// One case, ready to run, or why it cannot be expressed through the API.
struct Case {
    id: String,
    expected_success: bool,
    chain: Vec<SslCertificate>,
    trust: Vec<SslCertificate>,
    host: Option<String>,
    at: SystemTime,
    purpose: Purpose,
    max_intermediates: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Answer {
    Accepted,
    Rejected,
}

fn load() -> (Vec<Case>, Vec<(String, String)>) {
    let path = limbo_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the x509-limbo suite is missing at {}: {e} (it ships in shared/testdata)",
            path.display()
        )
    });
    let suite: Value = serde_json::from_str(&text).unwrap();
    let mut cases = Vec::new();
    let mut skipped = Vec::new();
    for case in suite["testcases"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap().to_owned();
        match prepare(case) {
            Ok(prepared) => cases.push(prepared),
            Err(reason) => skipped.push((id, reason)),
        }
    }
    (cases, skipped)
}

/// The case as a `VerifyRequest`'s parts, or why the API cannot express it.
fn prepare(case: &Value) -> Result<Case, String> {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    if !strings(&case["crls"]).is_empty() || !case["crls"].as_array().is_none_or(Vec::is_empty) {
        return Err("CRLs: not expressible (no revocation input)".into());
    }
    let name = &case["expected_peer_name"];
    let names = case["expected_peer_names"].as_array().cloned().unwrap_or_default();
    if name["kind"] == "RFC822" || names.iter().any(|n| n["kind"] == "RFC822") {
        return Err("RFC822 peer name: not expressible (DNS or IP only)".into());
    }
    if !names.is_empty() {
        return Err("several expected peer names: not expressible".into());
    }
    if !case["key_usage"].as_array().is_none_or(Vec::is_empty) {
        return Err("required key usage: not expressible".into());
    }
    if !case["signature_algorithms"].as_array().is_none_or(Vec::is_empty) {
        return Err("signature algorithm restriction: not expressible".into());
    }
    let purpose =
        match (case["validation_kind"].as_str(), strings(&case["extended_key_usage"]).as_slice()) {
            (Some("SERVER"), []) => Purpose::ServerAuth,
            (Some("CLIENT"), []) => Purpose::ClientAuth,
            (_, [one]) if one == "serverAuth" => Purpose::ServerAuth,
            (_, [one]) if one == "clientAuth" => Purpose::ClientAuth,
            (kind, eku) => {
                return Err(format!("purpose {kind:?} with EKU {eku:?}: not expressible"))
            }
        };
    let parse = |pem: &str| -> Result<Vec<SslCertificate>, String> {
        SslCertificate::from_pem(pem.as_bytes())
            .map_err(|e| format!("x509-parser rejects a certificate: {e}"))
    };
    let mut chain = parse(case["peer_certificate"].as_str().unwrap())?;
    for pem in strings(&case["untrusted_intermediates"]) {
        chain.extend(parse(&pem)?);
    }
    let mut trust = Vec::new();
    for pem in strings(&case["trusted_certs"]) {
        trust.extend(parse(&pem)?);
    }
    let at = match case["validation_time"].as_str() {
        Some(text) => rfc3339(text).ok_or_else(|| format!("unreadable validation time {text}"))?,
        None => SystemTime::now(),
    };
    Ok(Case {
        id: case["id"].as_str().unwrap().to_owned(),
        expected_success: case["expected_result"] == "SUCCESS",
        chain,
        trust,
        host: name["value"].as_str().map(str::to_owned),
        at,
        purpose,
        max_intermediates: case["max_chain_depth"].as_u64().map(|d| u32::try_from(d).unwrap()),
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]+00:00` (or `Z`), as the suite writes times.
fn rfc3339(text: &str) -> Option<SystemTime> {
    let (date, time) = text.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let time = time.trim_end_matches('Z').trim_end_matches("+00:00");
    let (hms, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|p| p.parse::<i64>());
    let (h, min, s) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400 + h * 3600 + min * 60 + s).ok()?;
    let millis: u64 = format!("{fraction:0<3}")[..3].parse().ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis))
}

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
    assert!(!verifying.is_empty(), "no compiled-in backend claims ChainVerification");
    for backend in all.iter().filter(|b| !b.features().contains(Feature::ChainVerification)) {
        let err = sslsocket::verify_chain(
            backend.as_ref(),
            &[],
            &[],
            None,
            SystemTime::now(),
            Purpose::ServerAuth,
        )
        .unwrap_err();
        assert!(
            matches!(err, ConfigError::Unsupported { feature: Feature::ChainVerification, .. }),
            "{err}"
        );
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
    assert!(oracle.0 > 100, "too few cases compared with stock rustls: {}", oracle.0);
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
