//! `sslsocket-benches profile`: a fixed number of handshakes with the client and the server in
//! separate processes, so that each side can be counted on its own by a tool that does not
//! depend on the machine's load (`valgrind --tool=callgrind`, `strace -c`).
//!
//! ```text
//! # the server (generates the PKI into DIR, writes DIR/addr when it listens, serves until
//! # the client's `Q`):
//! sslsocket-benches profile --role server --side ours --backend rustls --driver blocking --dir DIR
//! # the client (reads the PKI and DIR/addr, makes N handshakes, then sends `Q`):
//! sslsocket-benches profile --role client --side ours --backend rustls --driver blocking \
//!     --dir DIR --handshakes N [--resumed]
//! ```
//!
//! Either process may run under valgrind; the cost of one handshake is the difference of two
//! runs with different N divided by the difference of N (start-up and the PKI cancel out).
//! The client's handshakes are those of the handshake metric ([`work::handshakes_blocking`],
//! [`work::handshakes_async`]): TCP connect, handshake, one byte each way, close.

use std::fs;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use clap::ValueEnum;

use crate::engines::{blocking_acceptor, blocking_connector, other, Backend, Driver, Env, Kind};
use crate::pki::Pki;
use crate::work::{self, HandshakePlan, Names};

/// Which process of a profile run this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Listens and serves until the client's `Q`.
    Server,
    /// Makes the handshakes.
    Client,
}

/// Raw engine or sslsocket, on both sides of a profile run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Side {
    /// The engine's own stream types.
    Raw,
    /// SslSocket / SslServer (AsyncSslSocket / AsyncSslServer with `--driver tokio`).
    Ours,
}

/// What one profile process does.
#[derive(Debug, Clone)]
pub struct ProfilePlan {
    /// Server or client.
    pub role: Role,
    /// Raw or ours.
    pub side: Side,
    /// The engine.
    pub backend: Backend,
    /// Blocking or tokio.
    pub driver: Driver,
    /// Where the PKI and the server's address are exchanged.
    pub dir: std::path::PathBuf,
    /// Handshakes the client makes (after one that primes the session with `resumed`).
    pub handshakes: u64,
    /// The same server name every time, so that clients resume.
    pub resumed: bool,
    /// The TLS 1.3 suite.
    pub cipher: String,
}

/// Runs one side of a profile run.
///
/// # Errors
/// Setup, I/O and handshake errors.
pub fn run(plan: &ProfilePlan) -> io::Result<()> {
    let kind = match plan.side {
        Side::Raw => Kind::Raw,
        Side::Ours => Kind::Ours,
    };
    match plan.role {
        Role::Server => serve(plan, kind),
        Role::Client => connect(plan, kind),
    }
}

fn serve(plan: &ProfilePlan, kind: Kind) -> io::Result<()> {
    let env = Env::new(&plan.cipher)?;
    let _ = fs::remove_file(plan.dir.join("addr"));
    env.pki.save(&plan.dir)?;
    match plan.driver {
        Driver::Blocking => {
            let acceptor = blocking_acceptor(Some(plan.backend), kind, &env)?;
            publish(&plan.dir, acceptor.local_addr())?;
            work::serve_blocking(acceptor)
        }
        Driver::Tokio => serve_tokio(plan, kind, &env),
    }
}

fn connect(plan: &ProfilePlan, kind: Kind) -> io::Result<()> {
    let addr = wait_for_addr(&plan.dir)?;
    let env = Env { pki: Pki::load(&plan.dir)?, cipher: plan.cipher.clone() };
    let handshake = HandshakePlan {
        time: Duration::ZERO,
        min_count: plan.handshakes,
        names: if plan.resumed { Names::Same } else { Names::Unique },
    };
    match plan.driver {
        Driver::Blocking => {
            let connector = blocking_connector(Some(plan.backend), kind, &env)?;
            if plan.handshakes > 0 {
                work::handshakes_blocking(&*connector, addr, handshake)?;
            }
            work::command_blocking(&*connector, addr, b'Q')
        }
        Driver::Tokio => connect_tokio(plan, kind, &env, addr, handshake),
    }
}

#[cfg(feature = "tokio")]
fn serve_tokio(plan: &ProfilePlan, kind: Kind, env: &Env) -> io::Result<()> {
    work::runtime()?.block_on(async {
        let acceptor = crate::engines_tokio::async_acceptor(Some(plan.backend), kind, env).await?;
        publish(&plan.dir, acceptor.local_addr())?;
        work::serve_async(acceptor).await
    })
}

#[cfg(feature = "tokio")]
fn connect_tokio(
    plan: &ProfilePlan,
    kind: Kind,
    env: &Env,
    addr: SocketAddr,
    handshake: HandshakePlan,
) -> io::Result<()> {
    let connector: std::sync::Arc<dyn crate::engines_tokio::AsyncConnector> =
        std::sync::Arc::from(crate::engines_tokio::async_connector(Some(plan.backend), kind, env)?);
    work::runtime()?.block_on(async {
        if plan.handshakes > 0 {
            work::handshakes_async(connector.clone(), addr, handshake).await?;
        }
        work::command_async(&*connector, addr, b'Q').await
    })
}

#[cfg(not(feature = "tokio"))]
fn serve_tokio(_: &ProfilePlan, _: Kind, _: &Env) -> io::Result<()> {
    Err(other("the tokio driver is not compiled in"))
}

#[cfg(not(feature = "tokio"))]
fn connect_tokio(
    _: &ProfilePlan,
    _: Kind,
    _: &Env,
    _: SocketAddr,
    _: HandshakePlan,
) -> io::Result<()> {
    Err(other("the tokio driver is not compiled in"))
}

/// Writes the address the server listens on, atomically (the client polls for the file).
fn publish(dir: &Path, addr: SocketAddr) -> io::Result<()> {
    let tmp = dir.join("addr.tmp");
    fs::write(&tmp, addr.to_string())?;
    fs::rename(tmp, dir.join("addr"))
}

/// The server's address, once it listens (up to a minute: it may run under valgrind).
fn wait_for_addr(dir: &Path) -> io::Result<SocketAddr> {
    let start = Instant::now();
    loop {
        if let Ok(text) = fs::read_to_string(dir.join("addr")) {
            return text.trim().parse().map_err(other);
        }
        if start.elapsed() > Duration::from_secs(60) {
            return Err(other(format!("no server address in {}", dir.display())));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
