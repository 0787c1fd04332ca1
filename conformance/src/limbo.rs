//! The x509-limbo suite (C2SP/x509-limbo, the hand-written namespaces, vendored in
//! `conformance/testdata/x509-limbo/limbo-core.json`, see the README there): loading its cases as
//! [`sslsocket::VerifyRequest`] parts, and running them on a backend's chain verification.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sslsocket::{Purpose, SslCertificate};

/// Where the suite is: `testdata/x509-limbo/limbo-core.json` in this crate, inside the checkout.
#[must_use]
pub fn limbo_path() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/x509-limbo/limbo-core.json")
}

/// One case, ready to run.
#[derive(Debug)]
pub struct Case {
    #[allow(missing_docs)]
    pub id: String,
    #[allow(missing_docs)]
    pub expected_success: bool,
    #[allow(missing_docs)]
    pub chain: Vec<SslCertificate>,
    #[allow(missing_docs)]
    pub trust: Vec<SslCertificate>,
    #[allow(missing_docs)]
    pub host: Option<String>,
    #[allow(missing_docs)]
    pub at: SystemTime,
    #[allow(missing_docs)]
    pub purpose: Purpose,
    #[allow(missing_docs)]
    pub max_intermediates: Option<u32>,
}

/// A verifier's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Answer {
    /// No error.
    Accepted,
    /// At least one error.
    Rejected,
}

/// Every case: those the API can express, and `(id, reason)` for the others.
///
/// # Panics
/// When the suite file is missing or malformed: it ships with the checkout.
#[must_use]
pub fn load() -> (Vec<Case>, Vec<(String, String)>) {
    let path = limbo_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the x509-limbo suite is missing at {}: {e} (it ships in the repository)",
            path.display()
        )
    });
    let suite: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let mut cases = Vec::new();
    let mut skipped = Vec::new();
    for case in suite["testcases"].as_array().map_or(&[][..], Vec::as_slice) {
        let id = case["id"].as_str().unwrap_or("(no id)").to_owned();
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
    let mut chain = parse(case["peer_certificate"].as_str().ok_or("no peer certificate")?)?;
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
        id: case["id"].as_str().unwrap_or("(no id)").to_owned(),
        expected_success: case["expected_result"] == "SUCCESS",
        chain,
        trust,
        host: name["value"].as_str().map(str::to_owned),
        at,
        purpose,
        max_intermediates: case["max_chain_depth"]
            .as_u64()
            .map(|d| u32::try_from(d).unwrap_or(u32::MAX)),
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]+00:00` (or `Z`), as the suite writes times.
#[must_use]
pub fn rfc3339(text: &str) -> Option<SystemTime> {
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

/// One case's answer on one backend.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The case's id.
    pub id: String,
    /// The suite's expected answer.
    pub expected: Answer,
    /// The backend's answer, or why it could not run the case.
    pub answer: Result<Answer, String>,
}

/// Runs every expressible case on `backend`'s chain verification. A case the backend reports
/// as unsupported (e.g. a depth limit) carries that reason.
#[must_use]
pub fn run(backend: &dyn sslsocket::SslBackend) -> Vec<Verdict> {
    let (cases, _) = load();
    cases
        .iter()
        .map(|case| {
            let request =
                sslsocket::VerifyRequest::new(&case.chain, &case.trust, case.at, case.purpose)
                    .with_host(case.host.as_deref())
                    .with_max_intermediates(case.max_intermediates);
            let answer = match backend.verify_chain(&request) {
                Ok(errors) if errors.is_empty() => Ok(Answer::Accepted),
                Ok(_) => Ok(Answer::Rejected),
                Err(e) => Err(e.to_string()),
            };
            let expected = if case.expected_success { Answer::Accepted } else { Answer::Rejected };
            Verdict { id: case.id.clone(), expected, answer }
        })
        .collect()
}

/// `run` counted: (cases answered, answers equal to the expected one, cases not run).
#[must_use]
pub fn summary(verdicts: &[Verdict]) -> (usize, usize, usize) {
    let answered = verdicts.iter().filter(|v| v.answer.is_ok()).count();
    let agree =
        verdicts.iter().filter(|v| v.answer.as_ref().is_ok_and(|a| *a == v.expected)).count();
    (answered, agree, verdicts.len() - answered)
}
