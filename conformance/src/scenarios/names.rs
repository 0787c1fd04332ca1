//! Names: SNI, the peer verify name, IP address and wildcard subject alternative names.

use sslsocket::{Feature, SslErrorKind};

use super::{exchange, failing, scenario, Scenario};
use crate::harness::{trusting, Ctx, ServerSide, Side};
use crate::outcome::{ensure, Check, Context, Outcome};
use crate::pki::Authority;

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        scenario("sni_is_sent", sni),
        scenario("peer_verify_name_overrides_the_connect_host", peer_name),
        scenario("ip_address_san_matches", ip_san),
        scenario("wildcard_san_matches_the_leftmost_label_only", wildcard),
    ]
}

fn sni(ctx: &Ctx) -> Check {
    ctx.require(Side::Server, Feature::ServerNameIndication)?;
    let ca = Authority::root("sni root");
    let done = exchange(
        ctx,
        ca.leaf(&["localhost"]).server_config(),
        trusting(&ca.certificate),
        "localhost",
        b"x",
    )?;
    match done.server {
        ServerSide::Encrypted { server_name, .. } => {
            ensure(server_name.as_deref() == Some("localhost"), || {
                format!("server saw SNI {server_name:?}")
            })
        }
        other => Err(Outcome::Fail(format!("server: {other:?}"))),
    }
}

fn peer_name(ctx: &Ctx) -> Check {
    let ca = Authority::root("name root");
    let served = ctx.serve(ca.leaf(&["service.internal"]).server_config(), 1);
    let mut socket = ctx.client(trusting(&ca.certificate));
    socket.connection_mut().set_peer_verify_name("service.internal");
    socket.connect_encrypted("127.0.0.1", served.port).context("connect with a peer name")?;
    socket.disconnect().context("disconnect")?;
    served.finish()?;
    // And without the override the connect host is what is checked.
    let (err, socket, _) = failing(
        ctx,
        ca.leaf(&["service.internal"]).server_config(),
        trusting(&ca.certificate),
        "127.0.0.1",
    )?;
    let kinds: Vec<_> = socket.connection().ssl_handshake_errors().iter().map(|e| e.kind).collect();
    ensure(kinds.contains(&SslErrorKind::HostNameMismatch) || detail_missing(ctx, &kinds), || {
        format!("without the override: {err:?}, errors {kinds:?}")
    })
}

/// Whether `kinds` is the only answer a backend without detailed errors can give.
pub(super) fn detail_missing(ctx: &Ctx, kinds: &[SslErrorKind]) -> bool {
    !ctx.client.features().contains(Feature::DetailedVerifyErrors)
        && kinds == [SslErrorKind::UnspecifiedError]
}

fn ip_san(ctx: &Ctx) -> Check {
    let ca = Authority::root("ip root");
    exchange(
        ctx,
        ca.leaf(&["127.0.0.1"]).server_config(),
        trusting(&ca.certificate),
        "127.0.0.1",
        b"x",
    )?;
    Ok(())
}

fn wildcard(ctx: &Ctx) -> Check {
    let ca = Authority::root("wildcard root");
    let server = || ca.leaf(&["*.example.test"]).server_config();
    // One label under the wildcard: accepted.
    let served = ctx.serve(server(), 1);
    let mut socket = ctx.client(trusting(&ca.certificate));
    socket.connection_mut().set_peer_verify_name("a.example.test");
    socket.connect_encrypted("127.0.0.1", served.port).context("a.example.test")?;
    socket.disconnect().context("disconnect")?;
    served.finish()?;
    // Two labels, or none: rejected as a host name mismatch.
    for name in ["b.a.example.test", "example.test"] {
        let served = ctx.serve(server(), 1);
        let mut socket = ctx.client(trusting(&ca.certificate));
        socket.connection_mut().set_peer_verify_name(name);
        let result = socket.connect_encrypted("127.0.0.1", served.port);
        socket.abort();
        served.finish()?;
        ensure(result.is_err(), || format!("{name} was accepted by *.example.test"))?;
        let kinds: Vec<_> =
            socket.connection().ssl_handshake_errors().iter().map(|e| e.kind).collect();
        ensure(kinds == [SslErrorKind::HostNameMismatch] || detail_missing(ctx, &kinds), || {
            format!("{name}: {kinds:?}")
        })?;
    }
    Ok(())
}
