//! Where the engines' certificate verification differs, declared: for each case, what every
//! engine answers, and why. The scenarios of `scenarios::differences` check each engine against
//! this table (an engine whose answer changes fails its scenario), and the table in the
//! repository's README ("Where the engines differ, and why") is [`markdown`] of it, checked by
//! `tests/docs.rs`. The x509-limbo cases on which an engine's answer differs from the suite's
//! are declared in `testdata/x509-limbo/engine-answers.txt` ([`limbo_answers`]).
//!
//! sslsocket never turns an engine's rejection into an acceptance, except by the explicit-trust
//! rule (a peer certificate that is byte-for-byte one of the configured self-signed CA
//! certificates is trusted as that anchor on every engine); every other difference below is
//! the engine's own answer.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use crate::limbo::Answer;

/// What one engine answers to one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Declared {
    /// The connection is encrypted without a certificate error.
    Accepts,
    /// The handshake fails with these certificate error kinds (their names, in the order the
    /// engine reports them), or, where the engine reports none, the socket error kind.
    Rejects(&'static [&'static str]),
}

impl Declared {
    /// `accepts`, or `rejects (Kind, …)`.
    #[must_use]
    pub fn text(&self) -> String {
        match self {
            Declared::Accepts => "accepts".to_owned(),
            Declared::Rejects(kinds) => format!("rejects ({})", kinds.join(", ")),
        }
    }
}

/// One declared difference.
#[derive(Debug, Clone, Copy)]
pub struct Difference {
    /// The scenario that checks it.
    pub scenario: &'static str,
    /// The case, in words.
    pub case: &'static str,
    /// Every engine's answer, by backend name.
    pub answers: &'static [(&'static str, Declared)],
    /// Why the engines differ.
    pub why: &'static str,
}

impl Difference {
    /// The declared answer of `backend`, if it has one.
    #[must_use]
    pub fn answer_of(&self, backend: &str) -> Option<Declared> {
        self.answers.iter().find(|(name, _)| *name == backend).map(|(_, answer)| *answer)
    }
}

use Declared::{Accepts, Rejects};

/// Every declared difference of a handshake, in report order.
pub const DIFFERENCES: &[Difference] = &[
    Difference {
        scenario: "engines_differ_on_cn_fallback_without_san",
        case: "leaf without subjectAltName, CN=localhost, issued by a trusted CA; peer name \
               `localhost`",
        answers: &[
            ("rustls", Rejects(&["HostNameMismatch"])),
            ("openssl", Accepts),
            ("native", Accepts),
        ],
        why: "OpenSSL's `X509_check_host` falls back to the subject CN when there is no DNS \
              SAN; webpki checks SANs only (RFC 6125 §6.4.4, CA/B Forum since 2017)",
    },
    Difference {
        scenario: "engines_differ_on_a_trailing_dot_peer_name",
        case: "leaf for DNS:localhost; peer name `localhost.`",
        answers: &[
            ("rustls", Accepts),
            ("openssl", Rejects(&["HostNameMismatch"])),
            // native-tls reports no error kinds (no `DetailedVerifyErrors`).
            ("native", Rejects(&["UnspecifiedError"])),
        ],
        why: "webpki treats `localhost.` as the absolute form of `localhost`; \
              `X509_check_host` compares the name as given, dot included",
    },
    Difference {
        scenario: "engines_differ_on_a_ca_leaf_issued_by_a_trusted_ca",
        case: "leaf with CA:TRUE for localhost, issued by a trusted CA (not itself trusted)",
        answers: &[
            ("rustls", Rejects(&["InvalidPurpose"])),
            ("openssl", Accepts),
            ("native", Accepts),
        ],
        why: "webpki refuses a CA certificate as an end entity (`CaUsedAsEndEntity`); OpenSSL's \
              server purpose check does not look at basicConstraints of the leaf. The \
              explicit-trust rule does not apply: the leaf is not one of the configured \
              certificates",
    },
    Difference {
        scenario: "engines_differ_on_a_chain_of_100_intermediates",
        case: "leaf for localhost under 100 intermediates below a trusted root, all sent by the \
               server",
        answers: &[
            ("rustls", Rejects(&["UnspecifiedError"])),
            ("openssl", Accepts),
            ("native", Accepts),
        ],
        why: "webpki bounds path building (at most 6 intermediates, 100 signature checks: \
              `MaximumPathDepthExceeded`); OpenSSL's default depth limit is 100 intermediates",
    },
];

/// The difference checked by `scenario`.
#[must_use]
pub fn find(scenario: &str) -> Option<&'static Difference> {
    DIFFERENCES.iter().find(|d| d.scenario == scenario)
}

/// The engines of the table, in column order.
pub const ENGINES: &[&str] = &["rustls", "openssl", "native"];

/// Where the declared x509-limbo answers are: `testdata/x509-limbo/engine-answers.txt`.
#[must_use]
pub fn limbo_answers_path() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/x509-limbo/engine-answers.txt")
}

/// The declared x509-limbo answers: per engine, every case whose answer differs from the
/// suite's expected result, with that answer (`None`: the engine cannot run the case, an
/// option it lacks). Lines are `ENGINE CASE-ID Accepted|Rejected|NotRun`; `#` starts a
/// comment.
///
/// # Panics
/// When the file is missing or a line is malformed: it ships with the checkout.
#[must_use]
pub fn limbo_answers() -> BTreeMap<String, BTreeMap<String, Option<Answer>>> {
    let path = limbo_answers_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{} is missing: {e} (it ships in the repository)", path.display())
    });
    let mut declared: BTreeMap<String, BTreeMap<String, Option<Answer>>> = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let answer = match fields.as_slice() {
            [_, _, "Accepted"] => Some(Answer::Accepted),
            [_, _, "Rejected"] => Some(Answer::Rejected),
            [_, _, "NotRun"] => None,
            _ => panic!("{}:{}: malformed line {line:?}", path.display(), number + 1),
        };
        declared.entry(fields[0].to_owned()).or_default().insert(fields[1].to_owned(), answer);
    }
    declared
}

/// The README's table: one row per declared difference, one column per engine, then the
/// x509-limbo summary row.
#[must_use]
pub fn markdown() -> String {
    let mut out = String::from("| case | scenario |");
    for engine in ENGINES {
        let _ = write!(out, " {engine} |");
    }
    out.push_str(" why |\n|---|---|");
    out.push_str(&"---|".repeat(ENGINES.len()));
    out.push_str("---|\n");
    for d in DIFFERENCES {
        let _ = write!(out, "| {} | `{}` |", d.case, d.scenario);
        for engine in ENGINES {
            let answer = d.answer_of(engine).map_or_else(|| "—".to_owned(), |a| a.text());
            let _ = write!(out, " {answer} |");
        }
        let _ = writeln!(out, " {} |", d.why);
    }
    let limbo = limbo_answers();
    let count = |engine: &str| {
        limbo.get(engine).map_or(0, |answers| answers.values().filter(|a| a.is_some()).count())
    };
    let _ = writeln!(
        out,
        "| x509-limbo core (`verify_chain`): cases where the engine's answer differs from the \
         suite's expected result | `x509_limbo_answers_are_the_declared_ones` | {} cases | {} \
         cases | — (no chain verification API) | the engines' own path building and policy; \
         every case by id in `conformance/testdata/x509-limbo/engine-answers.txt`, those where \
         OpenSSL and rustls answer differently from each other below |",
        count("rustls"),
        count("openssl"),
    );
    out
}

/// The README's list of the x509-limbo cases on which OpenSSL and rustls answer differently
/// from each other: those on which exactly one of them differs from the expected result, among
/// the cases both run.
#[must_use]
pub fn limbo_disagreements_markdown() -> String {
    let limbo = limbo_answers();
    let empty = BTreeMap::new();
    let openssl = limbo.get("openssl").unwrap_or(&empty);
    let rustls = limbo.get("rustls").unwrap_or(&empty);
    let mut out = String::from("| x509-limbo case | openssl | rustls |\n|---|---|---|\n");
    let mut ids: Vec<&String> = openssl.keys().chain(rustls.keys()).collect();
    ids.sort();
    ids.dedup();
    for id in ids {
        // The declared one differs from the expected answer; the other gives the expected one.
        let (o, r) = match (openssl.get(id), rustls.get(id)) {
            (Some(Some(a)), None) => (*a, flip(*a)),
            (None, Some(Some(a))) => (flip(*a), *a),
            _ => continue,
        };
        let _ = writeln!(out, "| `{id}` | {o:?} | {r:?} |");
    }
    out
}

fn flip(answer: Answer) -> Answer {
    match answer {
        Answer::Accepted => Answer::Rejected,
        Answer::Rejected => Answer::Accepted,
    }
}
