//! Many connections on the tokio driver: an echo server on one `AsyncSslServer`, echo clients
//! that check what comes back with SHA-256, and the process's memory figures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use conformance::pki::Identity;
use sha2::{Digest, Sha256};
use sslsocket::{AsyncAccepted, AsyncSslServer, AsyncSslSocket, SslBackend, SslCertificate};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{oneshot, Barrier};
use tokio::task::JoinHandle;

use crate::client_config;

/// A multi-threaded runtime with two workers (the machines running CI have two cores).
///
/// # Panics
/// When the runtime cannot be built.
#[must_use]
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A running echo server: its port, the task that returns every failed handshake once
/// stopped, and the stop switch.
pub type EchoServer = (u16, JoinHandle<Vec<AsyncAccepted>>, oneshot::Sender<()>);

/// An echo server: every accepted socket is split and copied onto itself until its peer
/// closes. Up to 4096 handshakes may be in progress at once.
///
/// # Panics
/// When it cannot bind 127.0.0.1.
pub async fn echo_server(
    backend: &Arc<dyn SslBackend>,
    identity: &Identity,
    timeout: Duration,
) -> EchoServer {
    let mut server = AsyncSslServer::with_backend_handle(backend.clone());
    server.set_ssl_configuration(identity.server_config());
    server.set_handshake_timeout(timeout);
    server.set_max_pending_handshakes(4096);
    server.bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
    let port = server.local_address().expect("bound").port();
    let (stop_tx, mut stop_rx) = oneshot::channel();
    let task = tokio::spawn(async move {
        let mut failures = Vec::new();
        loop {
            tokio::select! {
                _ = &mut stop_rx => return failures,
                next = server.accept_next() => match next {
                    Ok(AsyncAccepted::Encrypted(socket)) => {
                        tokio::spawn(async move {
                            let (mut r, mut w) = tokio::io::split(*socket);
                            let _ = tokio::io::copy(&mut r, &mut w).await;
                            let _ = w.shutdown().await;
                        });
                    }
                    Ok(failed @ AsyncAccepted::Failed(_)) => failures.push(failed),
                    Err(_) => return failures,
                },
            }
        }
    });
    (port, task, stop_tx)
}

/// What one echo client measured.
#[derive(Debug, Clone, Copy)]
pub struct Echoed {
    /// When its handshake completed.
    pub encrypted_at: Instant,
    /// Bytes sent (and received back intact).
    pub bytes: usize,
}

/// Connects, completes the handshake, waits at `barrier` (when given: so that every client is
/// connected at once), sends `size` bytes of a pattern picked by `seed`, reads them back and
/// compares SHA-256 digests, then closes with close_notify.
///
/// # Errors
/// What failed, as text. A client that fails before the barrier still waits there, so the
/// others are not held up forever.
pub async fn echo_client(
    backend: Arc<dyn SslBackend>,
    ca: SslCertificate,
    port: u16,
    seed: u8,
    size: usize,
    barrier: Option<Arc<Barrier>>,
) -> Result<Echoed, String> {
    let payload: Vec<u8> = (0..size).map(|i: usize| (i as u8).wrapping_mul(seed)).collect();
    let mut socket = AsyncSslSocket::with_backend_handle(backend);
    socket.set_ssl_configuration(client_config(&ca));
    let connected = socket.connect_to_host_encrypted("localhost", port).await;
    let encrypted_at = Instant::now();
    if let Some(barrier) = barrier {
        barrier.wait().await;
    }
    connected.map_err(|e| format!("connect: {e:?}"))?;
    socket.write_all(&payload).await.map_err(|e| format!("write: {e}"))?;
    socket.flush().await.map_err(|e| format!("flush: {e}"))?;
    let mut echoed = vec![0u8; payload.len()];
    socket.read_exact(&mut echoed).await.map_err(|e| format!("read: {e}"))?;
    if Sha256::digest(&echoed) != Sha256::digest(&payload) {
        return Err("echo differs".into());
    }
    socket.shutdown().await.map_err(|e| format!("shutdown: {e}"))?;
    Ok(Echoed { encrypted_at, bytes: size })
}

/// [`echo_client`] with 64 KiB and no barrier.
///
/// # Errors
/// As [`echo_client`].
pub async fn echo_once(
    backend: Arc<dyn SslBackend>,
    ca: SslCertificate,
    port: u16,
    seed: u8,
) -> Result<(), String> {
    echo_client(backend, ca, port, seed, 64 * 1024, None).await.map(|_| ())
}

/// The process's peak resident set size (`VmHWM`), in KiB.
#[must_use]
pub fn peak_rss_kib() -> Option<u64> {
    status_kib("VmHWM:")
}

/// The process's current resident set size (`VmRSS`), in KiB.
#[must_use]
pub fn rss_kib() -> Option<u64> {
    status_kib("VmRSS:")
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Makes sure this process may open `needed` file descriptors: raises its soft limit to the
/// hard one with util-linux's `prlimit` when it is lower.
///
/// # Errors
/// When the limit stays too low, saying what to run.
pub fn ensure_open_files(needed: u64) -> Result<(), String> {
    let soft = || open_files_limit().map(|(soft, _)| soft);
    if soft().is_some_and(|s| s >= needed) {
        return Ok(());
    }
    if let Some((_, hard)) = open_files_limit() {
        let _ = std::process::Command::new("prlimit")
            .arg(format!("--pid={}", std::process::id()))
            .arg(format!("--nofile={hard}:{hard}"))
            .status();
    }
    match soft() {
        Some(s) if s >= needed => Ok(()),
        other => Err(format!(
            "{needed} file descriptors needed, the limit is {other:?}: run `ulimit -n {needed}` \
             (or higher) first"
        )),
    }
}

/// The (soft, hard) limit on open files, from `/proc/self/limits`.
fn open_files_limit() -> Option<(u64, u64)> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut numbers = line.split_whitespace().filter_map(|w| w.parse::<u64>().ok());
    Some((numbers.next()?, numbers.next()?))
}
