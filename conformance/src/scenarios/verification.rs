//! The certificate verification API (`verify_chain`) over the x509-limbo suite.

use sslsocket::Feature;

use super::{scenario, Scenario};
use crate::harness::{Ctx, Side};
use crate::limbo;
use crate::outcome::{ensure, Check};

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![Scenario { per_driver: false, ..scenario("x509_limbo_chain_verification", limbo_cases) }]
}

/// Every expressible case runs and gets an answer (or the backend's typed "unsupported" for
/// an option it lacks, such as a depth limit). Which answers agree with the suite is an
/// engine property, reported by the runner (`--format json` lists every case), not a
/// failure: engines differ by design (see the suite's README).
fn limbo_cases(ctx: &Ctx) -> Check {
    ctx.require(Side::Client, Feature::ChainVerification)?;
    let verdicts = limbo::run(ctx.client.as_ref());
    let failed: Vec<String> = verdicts
        .iter()
        .filter_map(|v| {
            v.answer
                .as_ref()
                .err()
                .filter(|e| !e.contains("does not support"))
                .map(|e| format!("{}: {e}", v.id))
        })
        .collect();
    ensure(failed.is_empty(), || format!("cases the backend could not run: {failed:?}"))?;
    let (answered, _, _) = limbo::summary(&verdicts);
    ensure(answered > 150, || format!("only {answered} cases answered"))
}
