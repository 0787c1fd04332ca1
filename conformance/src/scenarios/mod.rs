//! The scenarios: each written once as a function over a [`Ctx`] (client backend, server
//! backend, driver).

mod alerts;
mod certificates;
mod differences;
mod explicit_trust;
mod handshake;
mod io;
mod lifecycle;
mod names;
mod verification;
mod verify_modes;

use std::panic::{catch_unwind, AssertUnwindSafe};

use sslsocket::{Error, SslCipher, SslConfiguration, SslProtocol};

use crate::driver::Client;
use crate::harness::{Ctx, ServerSide};
use crate::outcome::{ensure, Check, Context, Outcome};

/// One scenario.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Its name (a Rust identifier: it names the generated `#[test]`).
    pub name: &'static str,
    /// The body.
    pub run: fn(&Ctx) -> Check,
    /// Whether it also runs for every client backend × server backend pair.
    pub cross: bool,
    /// Whether it runs through both drivers (loopback) or once (in memory: driver-neutral).
    pub per_driver: bool,
}

/// Every scenario, in report order.
#[must_use]
pub fn all() -> Vec<Scenario> {
    let mut list = Vec::new();
    list.extend(handshake::scenarios());
    list.extend(names::scenarios());
    list.extend(certificates::scenarios());
    list.extend(explicit_trust::scenarios());
    list.extend(differences::scenarios());
    list.extend(verify_modes::scenarios());
    list.extend(io::scenarios());
    list.extend(verification::scenarios());
    list.extend(lifecycle::scenarios());
    list.extend(alerts::scenarios());
    list
}

/// The scenario called `name`.
#[must_use]
pub fn find(name: &str) -> Option<Scenario> {
    all().into_iter().find(|s| s.name == name)
}

/// Runs `scenario` in `ctx`; a panic is a failure, not a crash of the suite.
#[must_use]
pub fn run(scenario: &Scenario, ctx: &Ctx) -> Outcome {
    match catch_unwind(AssertUnwindSafe(|| (scenario.run)(ctx))) {
        Ok(Ok(())) => Outcome::Pass,
        Ok(Err(outcome)) => outcome,
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            Outcome::Fail(format!("panicked: {why}"))
        }
    }
}

const fn scenario(name: &'static str, run: fn(&Ctx) -> Check) -> Scenario {
    Scenario { name, run, cross: false, per_driver: true }
}

/// What a successful exchange left behind.
pub(crate) struct Exchanged {
    pub(crate) server: ServerSide,
    /// The client's session parameters, read while it was encrypted (they end with the
    /// session).
    pub(crate) session: Negotiated,
}

/// A session's negotiated parameters, read while it ran.
pub(crate) struct Negotiated {
    pub(crate) protocol: SslProtocol,
    pub(crate) cipher: Option<SslCipher>,
    pub(crate) alpn: Option<Vec<u8>>,
    /// Every certificate error of its handshake, ignored ones included.
    pub(crate) handshake_errors: Vec<sslsocket::SslError>,
}

/// Starts a server with `server`, connects a client with `client` to `peer_name` (as host),
/// sends `payload`, checks the echo, and closes.
pub(crate) fn exchange(
    ctx: &Ctx,
    server: SslConfiguration,
    client: SslConfiguration,
    peer_name: &str,
    payload: &[u8],
) -> Result<Exchanged, Outcome> {
    let served = ctx.serve(server, 1);
    let mut socket = ctx.client(client);
    socket.connect_encrypted(peer_name, served.port).context("connect")?;
    socket.write_all(payload).context("write")?;
    socket.flush().context("flush")?;
    let mut echoed = vec![0u8; payload.len()];
    socket.read_exact(&mut echoed).context("read the echo")?;
    ensure(echoed == payload, || "the echo differs from what was sent".into())?;
    let conn = socket.connection();
    let session = Negotiated {
        protocol: conn.session_protocol(),
        cipher: conn.session_cipher(),
        alpn: conn.alpn_protocol(),
        handshake_errors: conn.ssl_handshake_errors().to_vec(),
    };
    socket.disconnect().context("disconnect")?;
    let mut seen = served.finish()?;
    let server = seen.pop().ok_or_else(|| Outcome::Fail("the server saw nobody".into()))?;
    Ok(Exchanged { server, session })
}

/// Connects once to a fresh server and expects the handshake to fail; returns the client's
/// error, the client socket and the server's view.
pub(crate) fn failing(
    ctx: &Ctx,
    server: SslConfiguration,
    client: SslConfiguration,
    peer_name: &str,
) -> Result<(Error, Box<dyn Client>, ServerSide), Outcome> {
    let served = ctx.serve(server, 1);
    let mut socket = ctx.client(client);
    let result = socket.connect_encrypted(peer_name, served.port);
    // TLS 1.3: a client can finish before the server rejects it; make the server's verdict
    // reach the client.
    let result = match result {
        Ok(()) => {
            let _ = socket.write_all(b"?");
            let _ = socket.flush();
            let mut buf = [0u8; 1];
            match socket.read(&mut buf) {
                Ok(1) => Ok(()),
                Ok(_) => Err(Error::RemoteClosed),
                Err(e) => Err(Error::from_io_ref(&e).cloned().unwrap_or(Error::io(e))),
            }
        }
        Err(e) => Err(e),
    };
    socket.abort();
    let mut seen = served.finish()?;
    let server_side = seen.pop().ok_or_else(|| Outcome::Fail("the server saw nobody".into()))?;
    match result {
        Ok(()) => Err(Outcome::Fail("the handshake succeeded; it should have failed".into())),
        Err(e) => Ok((e, socket, server_side)),
    }
}
