//! Peer verify modes on both sides: Qt's truth table.

use sslsocket::{Feature, PeerVerifyMode, SslConfiguration, SslErrorKind};

use super::{failing, scenario, Scenario};
use crate::harness::{trusting, Ctx, ServerSide, Side};
use crate::outcome::{ensure, Check, Context, Outcome};
use crate::pki::{self, Authority};

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        scenario("server_verify_none", |c| server_mode(c, PeerVerifyMode::VerifyNone)),
        scenario("server_query_peer", |c| server_mode(c, PeerVerifyMode::QueryPeer)),
        scenario("server_verify_peer", |c| server_mode(c, PeerVerifyMode::VerifyPeer)),
        scenario("server_auto_verify_peer_is_query_peer", |c| {
            server_mode(c, PeerVerifyMode::AutoVerifyPeer)
        }),
        scenario("client_verify_none_accepts_an_untrusted_server", client_verify_none),
        scenario("client_query_peer_records_errors_and_connects", client_query_peer),
        scenario("client_auto_verify_peer_is_verify_peer", client_auto),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ClientCert {
    Absent,
    SelfSigned,
    Valid,
}

fn server_mode(ctx: &Ctx, mode: PeerVerifyMode) -> Check {
    if mode != PeerVerifyMode::VerifyNone {
        ctx.require(Side::Server, Feature::ServerRequestsClientCertificate)?;
    }
    ctx.require(Side::Client, Feature::ClientCertificates)?;
    let root = Authority::root("mode root");
    for cert in [ClientCert::Absent, ClientCert::SelfSigned, ClientCert::Valid] {
        let mut server = root.leaf(&["localhost"]).server_config();
        server.peer_verify_mode = mode;
        server.ca_certificates = vec![root.certificate.clone()];
        let mut client = trusting(&root.certificate);
        let identity = match cert {
            ClientCert::Absent => None,
            ClientCert::SelfSigned => Some(pki::self_signed(&["client.example"])),
            ClientCert::Valid => Some(root.leaf(&["client.example"])),
        };
        if let Some(id) = &identity {
            client.local_certificate_chain = id.chain.clone();
            client.private_key = Some(id.key.clone());
        }
        let requests = mode != PeerVerifyMode::VerifyNone;
        let must_fail = mode == PeerVerifyMode::VerifyPeer && cert != ClientCert::Valid;
        let what = format!("{mode:?} with client certificate {cert:?}");
        if must_fail {
            let (_, _, server_side) = failing(ctx, server, client, "localhost")?;
            let ServerSide::Failed(failure) = server_side else {
                return Err(Outcome::Fail(format!("{what}: server accepted")));
            };
            let kinds: Vec<_> = failure.ssl_errors.iter().map(|e| e.kind).collect();
            if cert == ClientCert::Absent {
                ensure(kinds == [SslErrorKind::NoPeerCertificate], || {
                    format!("{what}: server reported {kinds:?}")
                })?;
            } else {
                ensure(!kinds.is_empty(), || format!("{what}: rejected without an SslError"))?;
            }
        } else {
            let served = ctx.serve(server, 1);
            let mut socket = ctx.client(client);
            socket.connect_encrypted("localhost", served.port).context(&what)?;
            socket.write_all(b"x").context("write")?;
            socket.flush().context("flush")?;
            let mut back = [0u8; 1];
            socket.read_exact(&mut back).context(&format!("{what}: read"))?;
            socket.disconnect().context("disconnect")?;
            let seen = served.finish()?;
            let Some(ServerSide::Encrypted { peer_chain, .. }) = seen.first() else {
                return Err(Outcome::Fail(format!("{what}: server saw {seen:?}")));
            };
            let expect_chain = requests && identity.is_some();
            ensure(peer_chain.is_empty() != expect_chain, || {
                format!("{what}: server sees {} client certificates", peer_chain.len())
            })?;
        }
    }
    Ok(())
}

fn untrusted_server(mode: PeerVerifyMode) -> (SslConfiguration, SslConfiguration) {
    let root = Authority::root("trusted root");
    let server = pki::self_signed(&["localhost"]).server_config();
    let mut client = trusting(&root.certificate);
    client.peer_verify_mode = mode;
    (server, client)
}

fn client_verify_none(ctx: &Ctx) -> Check {
    let (server, client) = untrusted_server(PeerVerifyMode::VerifyNone);
    let served = ctx.serve(server, 1);
    let mut socket = ctx.client(client);
    socket.connect_encrypted("localhost", served.port).context("VerifyNone")?;
    ensure(socket.connection().ssl_handshake_errors().is_empty(), || {
        "VerifyNone reported errors".into()
    })?;
    socket.disconnect().context("disconnect")?;
    served.finish().map(|_| ())
}

fn client_query_peer(ctx: &Ctx) -> Check {
    ctx.require(Side::Client, Feature::RecoverableVerifyErrors)?;
    let (server, client) = untrusted_server(PeerVerifyMode::QueryPeer);
    let served = ctx.serve(server, 1);
    let mut socket = ctx.client(client);
    socket.connect_encrypted("localhost", served.port).context("QueryPeer")?;
    let kinds: Vec<_> = socket.connection().ssl_handshake_errors().iter().map(|e| e.kind).collect();
    ensure(kinds.contains(&SslErrorKind::SelfSignedCertificate), || {
        format!("QueryPeer recorded {kinds:?}")
    })?;
    socket.disconnect().context("disconnect")?;
    served.finish().map(|_| ())
}

fn client_auto(ctx: &Ctx) -> Check {
    let (server, client) = untrusted_server(PeerVerifyMode::AutoVerifyPeer);
    let (err, _, _) = failing(ctx, server, client, "localhost")?;
    ensure(err.kind() == sslsocket::SocketErrorKind::SslHandshakeFailedError, || format!("{err:?}"))
}
