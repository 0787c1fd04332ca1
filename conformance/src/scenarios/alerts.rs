//! Alerts: the close_notify exchange as events, a fatal alert sent by one side and received
//! by the other, the alert for a certificate the policy rejects, and a missing client
//! certificate refused alike in TLS 1.2 and TLS 1.3.

use std::time::Instant;

use sslsocket::conn::pair::Pair;
use sslsocket::{
    Alert, AlertLevel, Connection, Error, Event, Feature, PeerVerifyMode, SocketErrorKind,
    SslConfiguration, SslErrorKind, SslProtocol, TlsErrorKind,
};

use super::{failing, scenario, Scenario};
use crate::harness::{trusting, Ctx, ServerSide, Side};
use crate::outcome::{ensure, Check, Outcome};
use crate::pki::Authority;

pub(super) fn scenarios() -> Vec<Scenario> {
    let in_memory = |name, run| Scenario { per_driver: false, ..scenario(name, run) };
    vec![
        in_memory("alerts_close_notify_is_sent_and_received_both_ways", close_notify),
        in_memory("alerts_a_refused_version_is_sent_and_received", refused_version),
        in_memory("alerts_a_certificate_the_policy_rejects_is_told_tls12", policy_rejection),
        scenario("client_certificate_missing_is_a_handshake_failure_tls12", |c| {
            missing_client_certificate(c, SslProtocol::TlsV1_2)
        }),
        scenario("client_certificate_missing_ends_the_connection_tls13", |c| {
            missing_client_certificate(c, SslProtocol::TlsV1_3)
        }),
    ]
}

const STEPS: usize = 100_000;

fn pair(server: SslConfiguration, client: SslConfiguration, ctx: &Ctx) -> Pair {
    let mut client = Connection::new(ctx.client.clone(), client);
    client.set_peer_verify_name("localhost");
    let server = Connection::new(ctx.server.clone(), server);
    let mut p = Pair::new(client, server, Instant::now());
    let now = p.now;
    sslsocket::testing::start_client_encryption(&mut p.client, now);
    sslsocket::testing::start_server_encryption(&mut p.server, now);
    p
}

fn sent(events: &[Event]) -> Vec<Alert> {
    events
        .iter()
        .filter_map(|e| if let Event::AlertSent(a) = e { Some(a.clone()) } else { None })
        .collect()
}

fn received(events: &[Event]) -> Vec<Alert> {
    events
        .iter()
        .filter_map(|e| if let Event::AlertReceived(a) = e { Some(a.clone()) } else { None })
        .collect()
}

fn stalled(e: sslsocket::conn::pair::Stalled) -> Outcome {
    Outcome::Fail(format!("the pair {e}"))
}

/// The client closes, the server answers: each side sends close_notify and receives the
/// other's, as events on every backend (they are the socket's own, whatever the engine).
fn close_notify(ctx: &Ctx) -> Check {
    let ca = Authority::root("alert root");
    let mut p = pair(ca.leaf(&["localhost"]).server_config(), trusting(&ca.certificate), ctx);
    p.drive_until(STEPS, |p| p.client.is_encrypted() && p.server.is_encrypted())
        .map_err(stalled)?;
    p.client.disconnect_from_host();
    p.drive_bounded(STEPS).map_err(stalled)?;
    let want = vec![Alert::close_notify()];
    for (who, events) in [("client", &p.client_events), ("server", &p.server_events)] {
        ensure(sent(events) == want, || format!("{who} sent {:?}", sent(events)))?;
        ensure(received(events) == want, || format!("{who} received {:?}", received(events)))?;
    }
    Ok(())
}

/// A client that offers only TLS 1.3 to a server that allows only TLS 1.2: the server's
/// fatal alert goes out before the ServerHello (in the clear, so it is reported as sent on
/// every backend), and the client receives it, named where the client's backend declares
/// `Alerts`.
fn refused_version(ctx: &Ctx) -> Check {
    let client_has = ctx.client.supported_protocols_for(sslsocket::Role::Client);
    let server_has = ctx.server.supported_protocols_for(sslsocket::Role::Server);
    if !client_has.contains(&SslProtocol::TlsV1_3) {
        return Err(Outcome::UnsupportedProtocol(SslProtocol::TlsV1_3));
    }
    if !server_has.contains(&SslProtocol::TlsV1_2) {
        return Err(Outcome::UnsupportedProtocol(SslProtocol::TlsV1_2));
    }
    ctx.require(Side::Client, Feature::Alerts)?;
    let ca = Authority::root("alert root");
    let mut server = ca.leaf(&["localhost"]).server_config();
    server.protocol = SslProtocol::TlsV1_2;
    let mut client = trusting(&ca.certificate);
    client.protocol = SslProtocol::TlsV1_3;
    let mut p = pair(server, client, ctx);
    p.drive_bounded(STEPS).map_err(stalled)?;
    let told = sent(&p.server_events);
    let heard = received(&p.client_events);
    ensure(told.len() == 1 && told[0].level == AlertLevel::Fatal, || {
        format!("server sent {told:?}")
    })?;
    ensure(heard == told, || format!("server sent {told:?}, client received {heard:?}"))?;
    match p.client.error() {
        Some(Error::Handshake(tls)) if tls.alert == Some(told[0].code) => Ok(()),
        other => Err(Outcome::Fail(format!("client error {other:?}"))),
    }
}

/// A TLS 1.2 client rejects the server's certificate by policy (a root it does not trust):
/// it tells the server why with the alert OpenSSL sends for that (`unknown_ca`), which the
/// server receives, named where its backend declares `Alerts`.
fn policy_rejection(ctx: &Ctx) -> Check {
    ctx.require_protocol(SslProtocol::TlsV1_2)?;
    ctx.require(Side::Server, Feature::Alerts)?;
    let trusted = Authority::root("alert root");
    let unknown = Authority::root("a root nobody trusts");
    let mut server = unknown.leaf(&["localhost"]).server_config();
    server.protocol = SslProtocol::TlsV1_2;
    let mut p = pair(server, trusting(&trusted.certificate), ctx);
    p.drive_bounded(STEPS).map_err(stalled)?;
    let want = vec![Alert::fatal(48)];
    ensure(sent(&p.client_events) == want, || format!("client sent {:?}", sent(&p.client_events)))?;
    ensure(received(&p.server_events) == want, || {
        format!("server received {:?}", received(&p.server_events))
    })?;
    ensure(matches!(p.client.error(), Some(Error::Rejected { .. })), || {
        format!("client error {:?}", p.client.error())
    })
}

/// A server that requires a client certificate (`VerifyPeer`), and a client that has none:
/// the server rejects it (`NoPeerCertificate`, its policy's verdict, ignorable as in Qt) in
/// both versions. In TLS 1.2 the client learns why from the alert the server writes in the
/// clear (`handshake_failure`): a handshake failure naming it, as against `openssl s_server
/// -Verify 1` (tests/client_certificate.rs). A TLS 1.3 server has sent its encrypted flight
/// when it judges, and no engine offers a call that sends a chosen alert encrypted: the client
/// sees the connection end before any data (`RemoteHostClosedError`). (An engine that
/// required the certificate itself would send `certificate_required`; ours leave the verdict
/// to the socket, so that the application can ignore it.)
fn missing_client_certificate(ctx: &Ctx, protocol: SslProtocol) -> Check {
    ctx.require_protocol(protocol)?;
    ctx.require(Side::Server, Feature::ServerRequestsClientCertificate)?;
    let ca = Authority::root("client certificate root");
    let mut server = ca.leaf(&["localhost"]).server_config();
    server.peer_verify_mode = PeerVerifyMode::VerifyPeer;
    server.ca_certificates = vec![ca.certificate.clone()];
    server.protocol = protocol;
    let (err, _, server_side) = failing(ctx, server, trusting(&ca.certificate), "localhost")?;
    match &server_side {
        ServerSide::Failed(failure)
            if failure.ssl_errors.iter().any(|e| e.kind == SslErrorKind::NoPeerCertificate) => {}
        other => return Err(Outcome::Fail(format!("server saw {other:?}"))),
    }
    match (protocol, &err) {
        (SslProtocol::TlsV1_2, Error::Handshake(tls))
            if tls.kind == TlsErrorKind::AlertReceived
                && (tls.alert == Some(40) || !ctx.client.features().contains(Feature::Alerts)) =>
        {
            Ok(())
        }
        (SslProtocol::TlsV1_3, _) if err.kind() == SocketErrorKind::RemoteHostClosedError => Ok(()),
        _ => Err(Outcome::Fail(format!("client error {err:?} ({:?})", err.kind()))),
    }
}
