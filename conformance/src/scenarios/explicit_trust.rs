//! Explicit trust: a self-signed certificate the configuration lists as a CA certificate is
//! trusted as the peer's own on every engine, as `openssl s_client -CAfile` and curl
//! `--cacert` trust it, with its name, validity and purpose still checked; a self-signed
//! certificate that is not listed is rejected. The certificate is made as
//! `openssl req -x509` makes it: CA:TRUE.

use sslsocket::{Feature, PeerVerifyMode, SslErrorKind};

use super::names::detail_missing;
use super::{exchange, failing, scenario, Scenario};
use crate::harness::{trusting, Ctx, ServerSide, Side};
use crate::outcome::{ensure, Check, Outcome};
use crate::pki::{self, Authority, LeafSpec};

use rcgen::ExtendedKeyUsagePurpose;
use SslErrorKind::*;

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        scenario("explicitly_trusted_self_signed_ca_certificate_is_accepted", accepted),
        scenario("explicitly_trusted_certificate_still_expires", |c| {
            rejected(
                c,
                &LeafSpec::new(&["localhost"]).expired(),
                "localhost",
                &[CertificateExpired],
            )
        }),
        scenario("explicitly_trusted_certificate_still_needs_the_right_name", |c| {
            rejected(c, &LeafSpec::new(&["localhost"]), "elsewhere.example", &[HostNameMismatch])
        }),
        scenario("explicitly_trusted_certificate_still_needs_the_server_purpose", |c| {
            let spec =
                LeafSpec::new(&["localhost"]).purposes(vec![ExtendedKeyUsagePurpose::ClientAuth]);
            rejected(c, &spec, "localhost", &[InvalidPurpose])
        }),
        scenario("self_signed_ca_certificate_not_listed_is_rejected", not_listed),
        scenario("listed_leaf_issued_by_an_unlisted_ca_is_rejected", pinned_leaf),
        scenario("explicitly_trusted_client_certificate_is_accepted", client_certificate),
    ]
}

fn accepted(ctx: &Ctx) -> Check {
    let id = pki::self_signed_ca(&LeafSpec::new(&["localhost"]));
    let done = exchange(ctx, id.server_config(), trusting(id.leaf()), "localhost", b"x")?;
    let errors = done.session.handshake_errors;
    ensure(errors.is_empty(), || format!("accepted, yet reported {errors:?}"))
}

/// A server presenting the self-signed CA certificate made from `spec`, which the client lists,
/// verified as `peer_name`: dropped with exactly `kinds` (or the one kind a backend without
/// detailed errors reports).
fn rejected(ctx: &Ctx, spec: &LeafSpec, peer_name: &str, kinds: &[SslErrorKind]) -> Check {
    let id = pki::self_signed_ca(spec);
    let served = ctx.serve(id.server_config(), 1);
    let mut socket = ctx.client(trusting(id.leaf()));
    socket.connection_mut().set_peer_verify_name(peer_name);
    let result = socket.connect_encrypted("127.0.0.1", served.port);
    socket.abort();
    served.finish()?;
    let got: Vec<_> = socket.connection().ssl_handshake_errors().iter().map(|e| e.kind).collect();
    ensure(result.is_err(), || "accepted".into())?;
    ensure(got == kinds || detail_missing(ctx, &got), || {
        format!("reported {got:?} ({result:?}), expected {kinds:?}")
    })
}

fn not_listed(ctx: &Ctx) -> Check {
    let id = pki::self_signed_ca(&LeafSpec::new(&["localhost"]));
    let other = pki::self_signed_ca(&LeafSpec::new(&["localhost"]));
    let (err, socket, _) = failing(ctx, id.server_config(), trusting(other.leaf()), "localhost")?;
    let got: Vec<_> = socket.connection().ssl_handshake_errors().iter().map(|e| e.kind).collect();
    // OpenSSL: X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT; webpki refuses the CA:TRUE leaf before
    // it looks for an issuer (CaUsedAsEndEntity), as it did before the explicit-trust rule.
    let fitting =
        !got.is_empty() && got.iter().all(|k| [SelfSignedCertificate, InvalidPurpose].contains(k));
    ensure(fitting || detail_missing(ctx, &got), || format!("reported {got:?} ({err:?})"))
}

/// Listing a leaf that someone else issued does not make it a root: OpenSSL would need
/// `X509_V_FLAG_PARTIAL_CHAIN`, and the explicit-trust rule is for self-signed certificates.
fn pinned_leaf(ctx: &Ctx) -> Check {
    let stranger = Authority::root("unlisted root");
    let id = stranger.leaf(&["localhost"]);
    let (err, socket, _) = failing(ctx, id.server_config(), trusting(id.leaf()), "localhost")?;
    let got: Vec<_> = socket.connection().ssl_handshake_errors().iter().map(|e| e.kind).collect();
    let acceptable = [UnableToGetLocalIssuerCertificate, UnableToVerifyFirstCertificate];
    let fitting = !got.is_empty() && got.iter().all(|k| acceptable.contains(k));
    ensure(fitting || detail_missing(ctx, &got), || format!("reported {got:?} ({err:?})"))
}

/// Our server, verifying clients, trusts a client's self-signed CA:TRUE certificate it lists.
fn client_certificate(ctx: &Ctx) -> Check {
    ctx.require(Side::Server, Feature::ServerRequestsClientCertificate)?;
    ctx.require(Side::Client, Feature::ClientCertificates)?;
    let server_id = pki::self_signed_ca(&LeafSpec::new(&["localhost"]));
    let client_id = pki::self_signed_ca(&LeafSpec::new(&["client.example"]));
    let mut server = server_id.server_config();
    server.peer_verify_mode = PeerVerifyMode::VerifyPeer;
    server.ca_certificates = vec![client_id.leaf().clone()];
    let mut client = trusting(server_id.leaf());
    client.local_certificate_chain = client_id.chain.clone();
    client.private_key = Some(client_id.key.clone());
    let done = exchange(ctx, server.clone(), client.clone(), "localhost", b"x")?;
    let ServerSide::Encrypted { peer_chain, handshake_errors, .. } = done.server else {
        return Err(Outcome::Fail(format!("server: {:?}", done.server)));
    };
    ensure(handshake_errors.is_empty(), || format!("server reported {handshake_errors:?}"))?;
    ensure(peer_chain.first() == Some(client_id.leaf()), || "server saw another chain".into())?;
    // And a client certificate the server does not list is still refused.
    let stranger = pki::self_signed_ca(&LeafSpec::new(&["client.example"]));
    client.local_certificate_chain = stranger.chain.clone();
    client.private_key = Some(stranger.key.clone());
    let (_, _, server_side) = failing(ctx, server, client, "localhost")?;
    ensure(matches!(server_side, ServerSide::Failed(_)), || {
        format!("an unlisted client certificate: server saw {server_side:?}")
    })
}
