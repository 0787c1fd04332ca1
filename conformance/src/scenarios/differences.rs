//! Where the engines' verification differs: each scenario records the answer of the client's
//! engine to one case and fails unless it is the one declared in [`crate::differences`] (and
//! so in the README's table). An engine that changes its answer fails here until the
//! declaration and the docs say so.

use std::collections::BTreeMap;

use sslsocket::{Feature, SslConfiguration};

use super::{scenario, Scenario};
use crate::differences::{self, Declared};
use crate::harness::{trusting, Ctx, Side};
use crate::limbo::{self, Answer};
use crate::outcome::{ensure, Check, Outcome};
use crate::pki::{self, Authority, LeafSpec};

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        scenario("engines_differ_on_cn_fallback_without_san", cn_fallback),
        scenario("engines_differ_on_a_trailing_dot_peer_name", trailing_dot),
        scenario("engines_differ_on_a_ca_leaf_issued_by_a_trusted_ca", ca_leaf),
        scenario("engines_differ_on_a_chain_of_100_intermediates", deep_chain),
        Scenario {
            per_driver: false,
            ..scenario("x509_limbo_answers_are_the_declared_ones", limbo_answers)
        },
    ]
}

fn cn_fallback(ctx: &Ctx) -> Check {
    let root = Authority::root("cn root");
    let server = pki::without_san(&root, "localhost").server_config();
    let answer = client_answer(ctx, server, trusting(&root.certificate), "localhost")?;
    declared(ctx, "engines_differ_on_cn_fallback_without_san", &answer)
}

fn trailing_dot(ctx: &Ctx) -> Check {
    let root = Authority::root("dot root");
    let server = root.leaf(&["localhost"]).server_config();
    let answer = client_answer(ctx, server, trusting(&root.certificate), "localhost.")?;
    declared(ctx, "engines_differ_on_a_trailing_dot_peer_name", &answer)
}

fn ca_leaf(ctx: &Ctx) -> Check {
    let root = Authority::root("ca leaf root");
    let mut spec = LeafSpec::new(&["localhost"]);
    spec.is_ca = true;
    let server = root.issue(&spec).server_config();
    let answer = client_answer(ctx, server, trusting(&root.certificate), "localhost")?;
    declared(ctx, "engines_differ_on_a_ca_leaf_issued_by_a_trusted_ca", &answer)
}

fn deep_chain(ctx: &Ctx) -> Check {
    let root = Authority::root("deep root");
    let identity = pki::deep_chain(&root, 100, &["localhost"]);
    ensure(identity.chain.len() == 101, || format!("a chain of {}", identity.chain.len()))?;
    let answer =
        client_answer(ctx, identity.server_config(), trusting(&root.certificate), "localhost")?;
    declared(ctx, "engines_differ_on_a_chain_of_100_intermediates", &answer)
}

/// Every x509-limbo case on which the engine's answer differs from the suite's expected
/// result (or which it cannot run) is declared in `testdata/x509-limbo/engine-answers.txt`
/// with that answer, and no other case differs.
fn limbo_answers(ctx: &Ctx) -> Check {
    ctx.require(Side::Client, Feature::ChainVerification)?;
    let name = ctx.client.name();
    let declared = differences::limbo_answers().remove(name).unwrap_or_default();
    let observed: BTreeMap<String, Option<Answer>> = limbo::run(ctx.client.as_ref())
        .into_iter()
        .filter_map(|v| match v.answer {
            Ok(answer) if answer == v.expected => None,
            Ok(answer) => Some((v.id, Some(answer))),
            Err(_) => Some((v.id, None)),
        })
        .collect();
    let mut changed = Vec::new();
    for (id, answer) in &observed {
        if declared.get(id) != Some(answer) {
            changed.push(format!(
                "{id}: now {}, declared {}",
                shown(*answer),
                shown_declared(declared.get(id))
            ));
        }
    }
    for (id, answer) in &declared {
        if !observed.contains_key(id) {
            changed.push(format!("{id}: now as expected, declared {}", shown(*answer)));
        }
    }
    ensure(changed.is_empty(), || {
        format!(
            "{name}'s x509-limbo answers changed ({}): {}; update {} and the README",
            changed.len(),
            changed.join("; "),
            differences::limbo_answers_path().display()
        )
    })
}

fn shown(answer: Option<Answer>) -> String {
    answer.map_or_else(|| "not run".to_owned(), |a| format!("{a:?}"))
}

fn shown_declared(answer: Option<&Option<Answer>>) -> String {
    answer.map_or_else(|| "as expected".to_owned(), |a| shown(*a))
}

/// Fails unless `answer` is what [`crate::differences`] declares for `scenario` on the
/// client's engine.
fn declared(ctx: &Ctx, scenario: &str, answer: &str) -> Check {
    let difference = differences::find(scenario)
        .ok_or_else(|| Outcome::Fail(format!("{scenario} is not declared in DIFFERENCES")))?;
    let engine = ctx.client.name();
    let Some(expected) = difference.answer_of(engine) else {
        return Err(Outcome::Fail(format!("no declared answer for {engine}; it {answer}")));
    };
    ensure(answer == expected.text(), || {
        format!(
            "{engine} now {answer}, declared {}: update conformance::differences and the README \
             table",
            expected.text()
        )
    })
}

/// What the client's engine answers when a client with `client` connects to a server with
/// `server` on 127.0.0.1, verifying it as `peer_name` (`set_peer_verify_name`: the name is
/// never resolved), and one byte goes each way: accepts, or rejects with its
/// certificate error kinds (the socket error kind when it reports none), in the words of
/// [`Declared::text`].
pub(super) fn client_answer(
    ctx: &Ctx,
    server: SslConfiguration,
    client: SslConfiguration,
    peer_name: &str,
) -> Result<String, Outcome> {
    let served = ctx.serve(server, 1);
    let mut socket = ctx.client(client);
    socket.connection_mut().set_peer_verify_name(peer_name);
    let result = socket.connect_encrypted("127.0.0.1", served.port).map_err(|e| e.kind());
    let result = result.and_then(|()| {
        let mut back = [0u8; 1];
        socket
            .write_all(b"?")
            .and_then(|()| socket.flush())
            .and_then(|()| socket.read(&mut back))
            .map(drop)
            .map_err(|e| {
                sslsocket::Error::from_io_ref(&e)
                    .map_or(sslsocket::SocketErrorKind::UnknownSocketError, sslsocket::Error::kind)
            })
    });
    socket.abort();
    served.finish()?;
    Ok(match result {
        Ok(()) => Declared::Accepts.text(),
        Err(kind) => {
            let mut kinds: Vec<String> = socket
                .connection()
                .ssl_handshake_errors()
                .iter()
                .map(|e| format!("{:?}", e.kind))
                .collect();
            if kinds.is_empty() {
                kinds.push(format!("{kind:?}"));
            }
            format!("rejects ({})", kinds.join(", "))
        }
    })
}
