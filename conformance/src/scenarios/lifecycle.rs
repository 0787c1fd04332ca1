//! What belongs to one handshake and what outlives it: an ignore is spent by the handshake it
//! was given for; the verification policy is fixed when the handshake starts; the negotiated
//! parameters end with the session and the peer's identity does not.

use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;

use sslsocket::{Error, Feature, PeerVerifyMode, SslConfiguration, SslProtocol};

use super::{scenario, Scenario};
use crate::driver::{Client, TIMEOUT};
use crate::harness::{trusting, Ctx, ServerSide, Side};
use crate::outcome::{ensure, Check, Context, Outcome};
use crate::pki::{self, Authority};

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        scenario("an_ignore_is_spent_by_the_handshake_it_was_given_for", ignore_is_spent),
        scenario(
            "settings_changed_during_a_handshake_apply_to_the_next_one",
            settings_during_handshake,
        ),
        scenario("session_parameters_end_with_the_session_the_peer_chain_does_not", facts),
    ]
}

/// A client that trusts nobody the server knows, and a server whose certificate nobody
/// trusts: every handshake has certificate errors.
fn untrusted_pair() -> (SslConfiguration, SslConfiguration) {
    let server = pki::self_signed(&["localhost"]).server_config();
    let client = trusting(&Authority::root("a root nobody used").certificate);
    (server, client)
}

/// One connection on `socket`: a round trip, then a graceful close. `Ok(Err(_))` when the
/// handshake failed.
fn connect_once(socket: &mut dyn Client, port: u16) -> Result<Result<(), Error>, Outcome> {
    match socket.connect_encrypted("localhost", port) {
        Ok(()) => {
            socket.write_all(b"x").context("write")?;
            socket.flush().context("flush")?;
            let mut back = [0u8; 1];
            socket.read_exact(&mut back).context("read the echo")?;
            socket.disconnect().context("disconnect")?;
            Ok(Ok(()))
        }
        Err(e) => {
            socket.abort();
            Ok(Err(e))
        }
    }
}

/// A relay on loopback to the server at `port` for one connection: what the client sends
/// goes through at once, what the server answers only once the returned sender has been
/// used (or dropped). Returns the relay's port.
fn gate(port: u16) -> Result<(u16, mpsc::Sender<()>), Outcome> {
    let listener = TcpListener::bind("127.0.0.1:0").context("bind the gate")?;
    let gate_port = listener.local_addr().context("the gate's address")?.port();
    let (open, opened) = mpsc::channel::<()>();
    thread::spawn(move || -> io::Result<()> {
        let (client, _) = listener.accept()?;
        let server = TcpStream::connect(("127.0.0.1", port))?;
        let (mut client_in, mut server_out) = (client.try_clone()?, server.try_clone()?);
        let upstream = thread::spawn(move || {
            let _ = io::copy(&mut client_in, &mut server_out);
            let _ = server_out.shutdown(Shutdown::Write);
        });
        let _ = opened.recv_timeout(TIMEOUT);
        let (mut server_in, mut client_out) = (server, client);
        let _ = io::copy(&mut server_in, &mut client_out);
        let _ = client_out.shutdown(Shutdown::Write);
        let _ = upstream.join();
        Ok(())
    });
    Ok((gate_port, open))
}

fn rejected(result: &Result<(), Error>) -> bool {
    matches!(result, Err(Error::Rejected { errors }) if !errors.is_empty())
}

/// Qt resets the ignore state at each connection attempt (tst_qsslsocket
/// `oldErrorsOnSocketReuse`): the same socket connecting again to an untrusted server is
/// rejected unless it is told to ignore again. `ignore_ssl_errors_list(vec![])` clears the
/// list only, not an earlier `ignore_ssl_errors()`.
fn ignore_is_spent(ctx: &Ctx) -> Check {
    ctx.require(Side::Client, Feature::RecoverableVerifyErrors)?;
    let (server, client) = untrusted_pair();
    let served = ctx.serve(server, 6);
    let mut socket = ctx.client(client);

    // 1. Ignore everything: accepted.
    socket.connection_mut().ignore_ssl_errors();
    let first = connect_once(socket.as_mut(), served.port)?;
    ensure(first.is_ok(), || format!("with ignore_ssl_errors(): {first:?}, want accepted"))?;
    // 2. The same socket again, no new ignore: rejected.
    let second = connect_once(socket.as_mut(), served.port)?;
    ensure(rejected(&second), || {
        format!("a second connection without a new ignore: {second:?}, want Rejected")
    })?;
    let errors = socket.connection().ssl_handshake_errors().to_vec();
    ensure(!errors.is_empty(), || "the rejected handshake recorded no errors".into())?;
    // 3. Exactly the errors seen: accepted once ...
    socket.connection_mut().ignore_ssl_errors_list(errors.clone());
    let third = connect_once(socket.as_mut(), served.port)?;
    ensure(third.is_ok(), || format!("with the exact list of its errors: {third:?}"))?;
    // 4. ... and not again.
    let fourth = connect_once(socket.as_mut(), served.port)?;
    ensure(rejected(&fourth), || {
        format!("after a connection that used an ignore list: {fourth:?}, want Rejected")
    })?;
    // 5. Clearing the list (never set this time) leaves an ignore of everything in place.
    socket.connection_mut().ignore_ssl_errors();
    socket.connection_mut().ignore_ssl_errors_list(Vec::new());
    let fifth = connect_once(socket.as_mut(), served.port)?;
    ensure(fifth.is_ok(), || {
        format!("ignore_ssl_errors() then ignore_ssl_errors_list([]): {fifth:?}, want accepted")
    })?;
    // 6. An ignore given while the handshake runs (before the server's answer is read)
    // applies to it.
    let (port, open) = gate(served.port)?;
    let sixth = socket.connect_changing("localhost", port, &mut |c| {
        c.ignore_ssl_errors();
        let _ = open.send(());
    });
    ensure(sixth.is_ok(), || format!("ignore_ssl_errors() during the handshake: {sixth:?}"))?;
    socket.disconnect().context("disconnect")?;
    let seen = served.finish()?;
    ensure(seen.len() == 6 && !seen.iter().any(|s| matches!(s, ServerSide::NotAccepted(_))), || {
        format!("the server saw {seen:?}")
    })
}

/// Seed, setPeerVerifyMode: "Setting this mode after encryption has started has no effect on
/// the current connection." Mode, CA list and peer verify name are fixed when the handshake
/// starts; the next connection uses the new ones.
fn settings_during_handshake(ctx: &Ctx) -> Check {
    let root = Authority::root("the server's root");
    let server = root.leaf(&["localhost"]).server_config();
    let stranger = trusting(&Authority::root("a root nobody used").certificate);
    let served = ctx.serve(server, 4);

    // VerifyPeer against an untrusted server; VerifyNone and the server's root arrive after
    // the ClientHello, before the server's answer is let through: rejected all the same.
    let mut socket = ctx.client(stranger);
    let (port, open) = gate(served.port)?;
    let result = socket.connect_changing("localhost", port, &mut |c| {
        c.set_peer_verify_mode(PeerVerifyMode::VerifyNone);
        c.add_ca_certificate(root.certificate.clone());
        let _ = open.send(());
    });
    socket.abort();
    ensure(rejected(&result), || {
        format!("VerifyNone and the right CA set during the handshake: {result:?}, want Rejected")
    })?;
    // The next connection uses them.
    let next = connect_once(socket.as_mut(), served.port)?;
    ensure(next.is_ok(), || format!("the next connection, with the new settings: {next:?}"))?;

    // VerifyNone at the start; VerifyPeer and a wrong name during the handshake: accepted,
    // with no errors (nothing was verified).
    let mut lenient = trusting(&Authority::root("a root nobody used").certificate);
    lenient.peer_verify_mode = PeerVerifyMode::VerifyNone;
    let mut socket = ctx.client(lenient);
    let (port, open) = gate(served.port)?;
    let result = socket.connect_changing("localhost", port, &mut |c| {
        c.set_peer_verify_mode(PeerVerifyMode::VerifyPeer);
        c.set_peer_verify_name("somebody.else");
        let _ = open.send(());
    });
    ensure(result.is_ok(), || {
        format!("VerifyPeer set during a VerifyNone handshake: {result:?}, want accepted")
    })?;
    let errors = socket.connection().ssl_handshake_errors().to_vec();
    ensure(errors.is_empty(), || format!("a VerifyNone handshake recorded {errors:?}"))?;
    socket.abort();
    // The next connection verifies, against the new name: rejected.
    let next = connect_once(socket.as_mut(), served.port)?;
    ensure(rejected(&next), || {
        format!("the next connection, VerifyPeer for another name: {next:?}, want Rejected")
    })?;
    let seen = served.finish()?;
    ensure(seen.len() == 4, || format!("the server saw {seen:?}"))
}

/// Seed, sessionCipher: "a null cipher if the connection is not encrypted"; sessionProtocol:
/// "UnknownProtocol if the connection isn't encrypted". The peer's chain stays readable.
fn facts(ctx: &Ctx) -> Check {
    ctx.require(Side::Client, Feature::SessionProtocol)?;
    let cipher = ctx.client.features().contains(Feature::SessionCipher);
    let alpn = ctx.client.features().contains(Feature::ClientSideAlpn)
        && ctx.server.features().contains(Feature::ServerSideAlpn);
    let root = Authority::root("facts root");
    let mut server = root.leaf(&["localhost"]).server_config();
    let mut client = trusting(&root.certificate);
    if alpn {
        server.alpn_protocols = vec![b"facts/1".to_vec()];
        client.alpn_protocols = vec![b"facts/1".to_vec()];
    }
    let served = ctx.serve(server, 2);
    for (how, graceful) in [("abort()", false), ("disconnect_from_host()", true)] {
        let mut socket = ctx.client(client.clone());
        socket.connect_encrypted("localhost", served.port).context("connect")?;
        socket.write_all(b"x").context("write")?;
        socket.flush().context("flush")?;
        let mut back = [0u8; 1];
        socket.read_exact(&mut back).context("read the echo")?;
        let conn = socket.connection();
        ensure(conn.session_protocol() != SslProtocol::UnknownProtocol, || {
            "no session protocol while encrypted".into()
        })?;
        ensure(!cipher || conn.session_cipher().is_some(), || {
            "no session cipher while encrypted".into()
        })?;
        ensure(!alpn || conn.alpn_protocol().is_some(), || "no ALPN while encrypted".into())?;
        let chain = conn.peer_certificate_chain();
        ensure(!chain.is_empty(), || "no peer chain while encrypted".into())?;
        if graceful {
            socket.disconnect().context("disconnect")?;
        } else {
            socket.abort();
        }
        let conn = socket.connection();
        let protocol = conn.session_protocol();
        ensure(protocol == SslProtocol::UnknownProtocol, || {
            format!("after {how}: session_protocol() is {protocol:?}, want UnknownProtocol")
        })?;
        let left = conn.session_cipher();
        ensure(left.is_none(), || {
            format!("after {how}: session_cipher() is {left:?}, want the null cipher")
        })?;
        let negotiated = conn.alpn_protocol();
        ensure(negotiated.is_none(), || {
            format!("after {how}: alpn_protocol() is {negotiated:?}, want none")
        })?;
        ensure(conn.peer_certificate_chain() == chain, || {
            format!("after {how}: the peer chain is no longer readable")
        })?;
    }
    served.finish().map(drop)
}
