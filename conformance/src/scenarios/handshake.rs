//! Handshakes, protocol versions, ciphers, ALPN, and every client × server pair.

use sslsocket::{Feature, SocketErrorKind, SslCipher, SslProtocol};

use super::{exchange, failing, scenario, Scenario};
use crate::harness::{trusting, Ctx, ServerSide, Side};
use crate::outcome::{ensure, Check, Outcome};
use crate::pki::Authority;

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            cross: true,
            ..scenario("handshake_tls12", |c| handshake(c, SslProtocol::TlsV1_2))
        },
        Scenario {
            cross: true,
            ..scenario("handshake_tls13", |c| handshake(c, SslProtocol::TlsV1_3))
        },
        Scenario {
            cross: true,
            ..scenario("transfer_1mib_each_way_tls12", |c| transfer(c, SslProtocol::TlsV1_2))
        },
        Scenario {
            cross: true,
            ..scenario("transfer_1mib_each_way_tls13", |c| transfer(c, SslProtocol::TlsV1_3))
        },
        scenario("protocol_restrictions_are_honoured_on_both_sides", restrictions),
        scenario("client_tls13_only_vs_server_tls12_only_fails_typed", mismatch),
        scenario("cipher_selection_tls13", |c| {
            cipher(c, SslProtocol::TlsV1_3, "TLS_AES_128_GCM_SHA256")
        }),
        scenario("cipher_selection_tls12", |c| {
            cipher(c, SslProtocol::TlsV1_2, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256")
        }),
        scenario("server_cipher_order_wins_unless_disabled_tls13", |c| {
            server_order(c, SslProtocol::TlsV1_3, CIPHERS_TLS13)
        }),
        scenario("server_cipher_order_wins_unless_disabled_tls12", |c| {
            server_order(c, SslProtocol::TlsV1_2, CIPHERS_TLS12)
        }),
        scenario("alpn_match_uses_the_servers_choice", alpn_match),
        scenario("alpn_client_only_negotiates_nothing", |c| alpn_one_sided(c, true)),
        scenario("alpn_server_only_negotiates_nothing", |c| alpn_one_sided(c, false)),
        scenario("alpn_no_overlap_fails_per_rfc7301", alpn_no_overlap),
    ]
}

/// Checks the negotiated protocol on each side that can report it.
fn check_protocol(ctx: &Ctx, client: SslProtocol, server: &ServerSide, want: SslProtocol) -> Check {
    let client_knows = ctx.client.features().contains(Feature::SessionProtocol);
    let server_knows = ctx.server.features().contains(Feature::SessionProtocol);
    if !client_knows && !server_knows {
        return Err(Outcome::Unsupported(Feature::SessionProtocol));
    }
    if client_knows {
        ensure(client == want, || format!("client negotiated {client}, wanted {want}"))?;
    }
    if let (true, ServerSide::Encrypted { protocol, .. }) = (server_knows, server) {
        ensure(*protocol == want, || format!("server negotiated {protocol}, wanted {want}"))?;
    }
    Ok(())
}

fn handshake(ctx: &Ctx, protocol: SslProtocol) -> Check {
    ctx.require_protocol(protocol)?;
    let ca = Authority::root("handshake root");
    let mut server = ca.leaf(&["localhost"]).server_config();
    server.protocol = protocol;
    let done = exchange(ctx, server, trusting(&ca.certificate), "localhost", b"hello")?;
    check_protocol(ctx, done.session.protocol, &done.server, protocol)
}

fn transfer(ctx: &Ctx, protocol: SslProtocol) -> Check {
    ctx.require_protocol(protocol)?;
    let ca = Authority::root("transfer root");
    let mut client = trusting(&ca.certificate);
    client.protocol = protocol;
    let payload: Vec<u8> = (0..1024 * 1024u32).map(|i| (i * 7 + i / 256) as u8).collect();
    exchange(ctx, ca.leaf(&["localhost"]).server_config(), client, "localhost", &payload)
        .map(|_| ())
}

fn restrictions(ctx: &Ctx) -> Check {
    let mut tried = 0;
    for want in [SslProtocol::TlsV1_2, SslProtocol::TlsV1_3] {
        if ctx.require_protocol(want).is_err() {
            continue;
        }
        let ca = Authority::root("restriction root");
        // Restricted on the client only, then on the server only.
        let mut client = trusting(&ca.certificate);
        client.protocol = want;
        let done =
            exchange(ctx, ca.leaf(&["localhost"]).server_config(), client, "localhost", b"x")?;
        check_protocol(ctx, done.session.protocol, &done.server, want)?;
        let mut server = ca.leaf(&["localhost"]).server_config();
        server.protocol = want;
        let done = exchange(ctx, server, trusting(&ca.certificate), "localhost", b"x")?;
        check_protocol(ctx, done.session.protocol, &done.server, want)?;
        tried += 1;
    }
    ensure(tried > 0, || "no single protocol version is supported by both sides".into())
}

fn mismatch(ctx: &Ctx) -> Check {
    ctx.require_protocol(SslProtocol::TlsV1_3)?;
    ctx.require_protocol(SslProtocol::TlsV1_2)?;
    let ca = Authority::root("mismatch root");
    let mut server = ca.leaf(&["localhost"]).server_config();
    server.protocol = SslProtocol::TlsV1_2;
    let mut client = trusting(&ca.certificate);
    client.protocol = SslProtocol::TlsV1_3;
    let (err, _, server_side) = failing(ctx, server, client, "localhost")?;
    ensure(err.kind() == SocketErrorKind::SslHandshakeFailedError, || {
        format!("client error {err:?}")
    })?;
    ensure(matches!(server_side, ServerSide::Failed(_)), || format!("server saw {server_side:?}"))
}

fn cipher(ctx: &Ctx, protocol: SslProtocol, name: &str) -> Check {
    ctx.require_protocol(protocol)?;
    ctx.require(Side::Client, Feature::CipherSelection)?;
    ctx.require(Side::Client, Feature::SessionCipher)?;
    let ca = Authority::root("cipher root");
    let mut client = trusting(&ca.certificate);
    client.protocol = protocol;
    client.ciphers =
        vec![SslCipher::from_iana_name(name)
            .ok_or_else(|| Outcome::Fail(format!("bad name {name}")))?];
    let done = exchange(ctx, ca.leaf(&["localhost"]).server_config(), client, "localhost", b"x")?;
    let got = done.session.cipher.as_ref().map(|c| c.name.clone());
    ensure(got.as_deref() == Some(name), || format!("negotiated {got:?}, wanted {name}"))
}

const CIPHERS_TLS13: [&str; 2] = ["TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"];
const CIPHERS_TLS12: [&str; 2] =
    ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"];

/// Qt's default is the server's order of cipher suites (`SSL_OP_CIPHER_SERVER_PREFERENCE`);
/// `SslOptionDisableServerCipherPreference` lets the client's win. The server lists
/// `names` in order, the client in the reverse order.
fn server_order(ctx: &Ctx, protocol: SslProtocol, names: [&str; 2]) -> Check {
    ctx.require_protocol(protocol)?;
    ctx.require(Side::Both, Feature::CipherSelection)?;
    ctx.require(Side::Client, Feature::SessionCipher)?;
    ctx.require(Side::Server, Feature::ServerCipherPreference)?;
    let suite = |name: &str| {
        SslCipher::from_iana_name(name).ok_or_else(|| Outcome::Fail(format!("bad name {name}")))
    };
    let (first, second) = (suite(names[0])?, suite(names[1])?);
    let ca = Authority::root("cipher order root");
    for (disabled, want) in [(false, names[0]), (true, names[1])] {
        let mut server = ca.leaf(&["localhost"]).server_config();
        server.ciphers = vec![first.clone(), second.clone()];
        server.disable_server_cipher_preference = disabled;
        let mut client = trusting(&ca.certificate);
        client.protocol = protocol;
        client.ciphers = vec![second.clone(), first.clone()];
        let done = exchange(ctx, server, client, "localhost", b"x")?;
        let got = done.session.cipher.as_ref().map(|c| c.name.clone());
        ensure(got.as_deref() == Some(want), || {
            let whose = if disabled { "the client's (disabled)" } else { "the server's" };
            format!("negotiated {got:?}; {whose} order wants {want}")
        })?;
    }
    Ok(())
}

fn alpn_configs(
    ctx: &Ctx,
    client: &[&[u8]],
    server: &[&[u8]],
) -> Result<(sslsocket::SslConfiguration, sslsocket::SslConfiguration), Outcome> {
    if !client.is_empty() {
        ctx.require(Side::Client, Feature::ClientSideAlpn)?;
    }
    if !server.is_empty() {
        ctx.require(Side::Server, Feature::ServerSideAlpn)?;
    }
    let ca = Authority::root("alpn root");
    let mut s = ca.leaf(&["localhost"]).server_config();
    s.alpn_protocols = server.iter().map(|p| p.to_vec()).collect();
    let mut c = trusting(&ca.certificate);
    c.alpn_protocols = client.iter().map(|p| p.to_vec()).collect();
    Ok((s, c))
}

fn alpn_match(ctx: &Ctx) -> Check {
    let (server, client) = alpn_configs(ctx, &[b"h2", b"http/1.1"], &[b"http/1.1"])?;
    let done = exchange(ctx, server, client, "localhost", b"x")?;
    let got = done.session.alpn.clone();
    ensure(got.as_deref() == Some(b"http/1.1".as_slice()), || format!("client sees {got:?}"))?;
    match done.server {
        ServerSide::Encrypted { alpn, .. } => {
            ensure(alpn.as_deref() == Some(b"http/1.1".as_slice()), || {
                format!("server sees {alpn:?}")
            })
        }
        other => Err(Outcome::Fail(format!("server: {other:?}"))),
    }
}

fn alpn_one_sided(ctx: &Ctx, client_side: bool) -> Check {
    let (client_list, server_list): (&[&[u8]], &[&[u8]]) =
        if client_side { (&[b"h2"], &[]) } else { (&[], &[b"h2"]) };
    let (server, client) = alpn_configs(ctx, client_list, server_list)?;
    let done = exchange(ctx, server, client, "localhost", b"x")?;
    let got = done.session.alpn.clone();
    ensure(got.is_none(), || format!("negotiated {got:?} with ALPN on one side only"))
}

/// RFC 7301 §3.2: no protocol in common ends the handshake (`no_application_protocol`). The
/// one declared exception is a native server, whose OpenSSL implementation continues without
/// ALPN (see backend-native's `SERVER_ALPN`): there the connection must come up with no
/// protocol negotiated, so that the exception cannot grow unnoticed.
fn alpn_no_overlap(ctx: &Ctx) -> Check {
    let (server, client) = alpn_configs(ctx, &[b"h2"], &[b"http/1.1"])?;
    if ctx.server.name() == "native" {
        let done = exchange(ctx, server, client, "localhost", b"x")?;
        let got = done.session.alpn.clone();
        return ensure(got.is_none(), || format!("a native server negotiated {got:?}"));
    }
    let (err, _, _) = failing(ctx, server, client, "localhost")?;
    ensure(err.kind() == SocketErrorKind::SslHandshakeFailedError, || {
        format!("client error {err:?}")
    })
}
