//! Certificate problems. For each: dropped by default with the expected kind, accepted with
//! exactly that ignore list, still dropped with a list naming another error, accepted after
//! pause + ignore + resume.

use sslsocket::{
    Feature, PauseMode, PeerVerifyMode, SocketErrorKind, SslCertificate, SslConfiguration,
    SslError, SslErrorKind,
};

use super::names::detail_missing;
use super::{exchange, failing, scenario, Scenario};
use crate::harness::{trusting, Ctx, ServerSide, Side};
use crate::outcome::{ensure, Check, Context, Outcome};
use crate::pki::{self, Authority, LeafSpec};

use rcgen::ExtendedKeyUsagePurpose;
use SslErrorKind::*;

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        scenario("expired_certificate", |c| run(c, Problem::Expired)),
        scenario("not_yet_valid_certificate", |c| run(c, Problem::NotYetValid)),
        scenario("self_signed_leaf", |c| run(c, Problem::SelfSignedLeaf)),
        scenario("self_signed_root_in_chain", |c| run(c, Problem::SelfSignedRootInChain)),
        scenario("untrusted_root", |c| run(c, Problem::UntrustedRoot)),
        scenario("missing_intermediate", |c| run(c, Problem::MissingIntermediate)),
        scenario("host_name_mismatch", |c| run(c, Problem::HostNameMismatch)),
        scenario("ca_false_issuer", |c| run(c, Problem::CaFalseIssuer)),
        scenario("path_length_exceeded", |c| run(c, Problem::PathLength)),
        scenario("wrong_extended_key_usage", |c| run(c, Problem::WrongEku)),
        scenario("verify_depth_exceeded", |c| run(c, Problem::VerifyDepth)),
        scenario("verify_depth_counts_the_leaf_and_not_the_anchor", depth_counts),
    ]
}

/// Seed, setPeerVerifyDepth: "the maximum number of certificates in the peer's certificate
/// chain": the leaf and its intermediates, not the trust anchor. A path of leaf + two
/// intermediates passes at depth 3 and fails at depth 2 with `PathLengthExceeded`, on a
/// client verifying a server and on a server verifying a client.
fn depth_counts(ctx: &Ctx) -> Check {
    ctx.require(Side::Client, Feature::PeerVerifyDepth)?;
    let root = Authority::root("depth root");
    let deep = root.intermediate("depth one", None).intermediate("depth two", None);
    let server_id = deep.leaf(&["localhost"]);
    for (depth, passes) in [(3, true), (2, false), (0, true)] {
        let mut client = trusting(&root.certificate);
        client.peer_verify_depth = depth;
        let what = format!("client, peer_verify_depth {depth}, a path of 3");
        if passes {
            exchange(ctx, server_id.server_config(), client, "localhost", b"depth")
                .map_err(|e| Outcome::Fail(format!("{what}: {}", e.detail())))?;
        } else {
            let (err, _, _) = failing(ctx, server_id.server_config(), client, "localhost")?;
            let kinds: Vec<_> = err.ssl_errors().iter().map(|e| e.kind).collect();
            ensure(kinds.contains(&PathLengthExceeded), || format!("{what}: {err:?}"))?;
        }
    }
    ctx.require(Side::Server, Feature::PeerVerifyDepth)?;
    ctx.require(Side::Server, Feature::ServerRequestsClientCertificate)?;
    ctx.require(Side::Client, Feature::ClientCertificates)?;
    let client_id = deep.leaf(&["client.example"]);
    for (depth, passes) in [(3, true), (2, false)] {
        let mut server = root.leaf(&["localhost"]).server_config();
        server.peer_verify_mode = PeerVerifyMode::VerifyPeer;
        server.ca_certificates = vec![root.certificate.clone()];
        server.peer_verify_depth = depth;
        let mut client = trusting(&root.certificate);
        client.local_certificate_chain = client_id.chain.clone();
        client.private_key = Some(client_id.key.clone());
        let what = format!("server, peer_verify_depth {depth}, a client path of 3");
        if passes {
            exchange(ctx, server, client, "localhost", b"depth")
                .map_err(|e| Outcome::Fail(format!("{what}: {}", e.detail())))?;
        } else {
            let (_, _, seen) = failing(ctx, server, client, "localhost")?;
            let ServerSide::Failed(failure) = seen else {
                return Err(Outcome::Fail(format!("{what}: the server accepted")));
            };
            let kinds: Vec<_> = failure.ssl_errors.iter().map(|e| e.kind).collect();
            ensure(kinds.contains(&PathLengthExceeded), || format!("{what}: {kinds:?}"))?;
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum Problem {
    Expired,
    NotYetValid,
    SelfSignedLeaf,
    SelfSignedRootInChain,
    UntrustedRoot,
    MissingIntermediate,
    HostNameMismatch,
    CaFalseIssuer,
    PathLength,
    WrongEku,
    VerifyDepth,
}

struct Setup {
    server: SslConfiguration,
    client: SslConfiguration,
    leaf: SslCertificate,
    /// Kinds an engine may report for this problem (engines name some problems differently:
    /// OpenSSL sees a CA:FALSE issuer as an invalid CA, webpki as an unknown issuer).
    acceptable: &'static [SslErrorKind],
}

fn setup(problem: Problem) -> Setup {
    let root = Authority::root("problem root");
    let stranger = Authority::root("untrusted root");
    let client = trusting(&root.certificate);
    let from = |identity: pki::Identity, client: SslConfiguration, acceptable| Setup {
        server: identity.server_config(),
        leaf: identity.leaf().clone(),
        client,
        acceptable,
    };
    match problem {
        Problem::Expired => from(
            root.issue(&LeafSpec::new(&["localhost"]).expired()),
            client,
            &[CertificateExpired],
        ),
        Problem::NotYetValid => from(
            root.issue(&LeafSpec::new(&["localhost"]).not_yet_valid()),
            client,
            &[CertificateNotYetValid],
        ),
        Problem::SelfSignedLeaf => {
            from(pki::self_signed(&["localhost"]), client, &[SelfSignedCertificate])
        }
        Problem::SelfSignedRootInChain => {
            let mut id = stranger.leaf(&["localhost"]);
            id.chain.push(stranger.certificate.clone());
            from(id, client, &[SelfSignedCertificateInChain])
        }
        Problem::UntrustedRoot => {
            from(stranger.leaf(&["localhost"]), client, &[UnableToGetLocalIssuerCertificate])
        }
        Problem::MissingIntermediate => {
            let mut id = root.intermediate("intermediate", None).leaf(&["localhost"]);
            id.chain.truncate(1);
            from(id, client, &[UnableToGetLocalIssuerCertificate, UnableToVerifyFirstCertificate])
        }
        Problem::HostNameMismatch => {
            from(root.leaf(&["elsewhere.example"]), client, &[HostNameMismatch])
        }
        Problem::CaFalseIssuer => from(
            root.non_ca_issuer("not a CA").leaf(&["localhost"]),
            client,
            // OpenSSL names the issuer both an invalid CA and unfit for the purpose.
            &[InvalidCaCertificate, InvalidPurpose, UnableToGetLocalIssuerCertificate],
        ),
        Problem::PathLength => {
            let constrained = root.intermediate("pathlen 0", Some(0));
            let below = constrained.intermediate("one too deep", None);
            from(
                below.leaf(&["localhost"]),
                client,
                &[PathLengthExceeded, UnableToGetLocalIssuerCertificate],
            )
        }
        Problem::WrongEku => from(
            root.issue(
                &LeafSpec::new(&["localhost"]).purposes(vec![ExtendedKeyUsagePurpose::ClientAuth]),
            ),
            client,
            &[InvalidPurpose],
        ),
        Problem::VerifyDepth => {
            let id = root.intermediate("intermediate", None).leaf(&["localhost"]);
            let mut client = client;
            client.peer_verify_depth = 1; // the leaf alone; this path needs 2
                                          // OpenSSL stops building the chain at the limit, so it also misses the issuer.
            from(id, client, &[PathLengthExceeded, UnableToGetLocalIssuerCertificate])
        }
    }
}

fn run(ctx: &Ctx, problem: Problem) -> Check {
    if matches!(problem, Problem::VerifyDepth) {
        ctx.require(Side::Client, Feature::PeerVerifyDepth)?;
    }
    let s = setup(problem);

    // 1. Dropped by default, with the expected kinds.
    let (err, socket, _) = failing(ctx, s.server.clone(), s.client.clone(), "localhost")?;
    ensure(err.kind() == SocketErrorKind::SslHandshakeFailedError, || format!("default: {err:?}"))?;
    let errors = socket.connection().ssl_handshake_errors().to_vec();
    let kinds: Vec<_> = errors.iter().map(|e| e.kind).collect();
    ensure(!kinds.is_empty(), || "rejected without an SslError".into())?;
    let fitting = kinds.iter().all(|k| s.acceptable.contains(k));
    ensure(fitting || detail_missing(ctx, &kinds), || {
        format!("reported {kinds:?}, expected one of {:?}", s.acceptable)
    })?;
    // An engine that ends the handshake itself leaves nothing to ignore.
    ctx.require(Side::Client, Feature::RecoverableVerifyErrors)?;
    ensure(errors.iter().all(|e| e.certificate.is_some()), || {
        format!("errors without a certificate: {errors:?}")
    })?;

    // 2. Exactly those errors ignored: accepted.
    let client = s.client.clone();
    let served = ctx.serve(s.server.clone(), 1);
    let mut socket = ctx.client(client.clone());
    socket.connection_mut().ignore_ssl_errors_list(errors.clone());
    socket.connect_encrypted("localhost", served.port).context("with the exact ignore list")?;
    socket.disconnect().context("disconnect")?;
    served.finish()?;

    // 3. A list naming another error: still dropped.
    let other = vec![SslError::new(CertificateRevoked, Some(s.leaf.clone()))];
    let served = ctx.serve(s.server.clone(), 1);
    let mut socket = ctx.client(client.clone());
    socket.connection_mut().ignore_ssl_errors_list(other);
    let result = socket.connect_encrypted("localhost", served.port);
    socket.abort();
    served.finish()?;
    ensure(result.is_err(), || "accepted with a list naming another error".into())?;

    // 4. Pause, ignore, resume: accepted.
    let served = ctx.serve(s.server.clone(), 1);
    let mut socket = ctx.client(client);
    socket.connection_mut().set_pause_mode(PauseMode::PauseOnSslErrors);
    let paused = socket.connect_encrypted("localhost", served.port);
    ensure(paused.is_err() && !socket.connection().is_encrypted(), || {
        format!("did not pause: {paused:?}")
    })?;
    ensure(socket.connection().error().is_none(), || {
        format!("failed instead of pausing: {:?}", socket.connection().error())
    })?;
    socket.connection_mut().ignore_ssl_errors();
    socket.connection_mut().resume();
    socket.wait_encrypted().context("after resume")?;
    socket.write_all(b"after resume").context("write")?;
    socket.flush().context("flush")?;
    let mut back = [0u8; 12];
    socket.read_exact(&mut back).context("read")?;
    socket.disconnect().context("disconnect")?;
    served.finish()?;
    Ok(())
}
