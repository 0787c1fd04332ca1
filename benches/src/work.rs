//! The workloads: one server loop and the client side of each metric, for blocking sockets
//! and for tokio. The server runs on its own thread (with its own current-thread runtime for
//! tokio); the client runs on the caller's thread.
//!
//! Wire protocol (first byte of each connection, sent by the client):
//! - `H`: the server answers one byte, then waits for the client's close (handshake loop);
//! - `E`: echo until the client closes (latency);
//! - `B` + u64 length: the server reads that many bytes and answers one byte (bulk);
//! - `Q`: the server answers one byte and stops.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::engines::{blocking_acceptor, blocking_connector, other, Acceptor, Backend, Conn};
use crate::engines::{Connector, Env, Kind};

/// Size of the application buffers for bulk transfers (both sides, raw and ours).
pub const BULK_CHUNK: usize = 64 * 1024;

/// Server names for full handshakes: unique per connection, so no client session cache (ours
/// or the raw engine's) ever offers a session. All match the certificate's `*.bench.test`.
static NAMES: AtomicU64 = AtomicU64::new(0);

/// Which server name a handshake uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// A fresh name per connection: full handshakes.
    Unique,
    /// Always `localhost`: clients that cache sessions resume.
    Same,
}

impl Names {
    /// The name for the next connection.
    #[must_use]
    pub fn next(self) -> String {
        match self {
            Names::Unique => format!("h{}.bench.test", NAMES.fetch_add(1, Ordering::Relaxed)),
            Names::Same => "localhost".to_owned(),
        }
    }
}

/// What a handshake loop does: how long, at least how many, which names.
#[derive(Debug, Clone, Copy)]
pub struct HandshakePlan {
    /// Keep going at least this long.
    pub time: Duration,
    /// And at least this many.
    pub min_count: u64,
    /// Full or resumed.
    pub names: Names,
}

/// Percentiles of one latency run, in microseconds.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    /// Median round trip.
    pub p50_us: f64,
    /// 99th percentile round trip.
    pub p99_us: f64,
}

fn percentiles(mut nanos: Vec<u64>) -> Latency {
    nanos.sort_unstable();
    let pick = |pct: usize| {
        let i = (nanos.len() * pct / 100).min(nanos.len().saturating_sub(1));
        nanos.get(i).copied().unwrap_or(0) as f64 / 1000.0
    };
    Latency { p50_us: pick(50), p99_us: pick(99) }
}

fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / elapsed.as_secs_f64().max(1e-9) / 1e6
}

// ---- blocking ------------------------------------------------------------------------------

/// Serves connections until a `Q` arrives. A failing connection (handshake or I/O) is
/// skipped; too many failures in a row end the server.
///
/// # Errors
/// When accepting keeps failing.
pub fn serve_blocking(mut acceptor: Box<dyn Acceptor>) -> io::Result<()> {
    let mut failures = 0;
    loop {
        let mut conn = match acceptor.accept() {
            Ok(conn) => conn,
            Err(err) => {
                failures += 1;
                if failures > 100 {
                    return Err(err);
                }
                continue;
            }
        };
        failures = 0;
        if let Ok(true) = serve_one(&mut *conn) {
            return Ok(());
        }
    }
}

fn serve_one(conn: &mut dyn Conn) -> io::Result<bool> {
    let mut command = [0u8; 1];
    conn.read_exact(&mut command)?;
    let quit = match command[0] {
        b'H' | b'Q' => {
            conn.write_all(b"k")?;
            conn.flush()?;
            command[0] == b'Q'
        }
        b'E' => {
            let mut buf = [0u8; 64];
            loop {
                let n = conn.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                conn.write_all(&buf[..n])?;
                conn.flush()?;
            }
            false
        }
        b'B' => {
            let mut len = [0u8; 8];
            conn.read_exact(&mut len)?;
            let mut left = u64::from_be_bytes(len);
            let mut buf = vec![0u8; BULK_CHUNK];
            while left > 0 {
                let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                let n = conn.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                left -= n as u64;
            }
            conn.write_all(b"k")?;
            conn.flush()?;
            false
        }
        _ => return Err(other("unknown command")),
    };
    // Wait for the client's close (close_notify or end of stream), then close ours.
    let mut sink = [0u8; 64];
    while matches!(conn.read(&mut sink), Ok(n) if n > 0) {}
    conn.close();
    Ok(quit)
}

/// Runs `client` against a fresh server of `backend` (`None`: plain TCP) and `kind`, then
/// stops the server.
///
/// # Errors
/// Setup errors, the client's error, or the server's.
pub fn with_blocking_server<T>(
    backend: Option<Backend>,
    kind: Kind,
    env: &Env,
    client: impl FnOnce(&dyn Connector, SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let acceptor = blocking_acceptor(backend, kind, env)?;
    let connector = blocking_connector(backend, kind, env)?;
    let addr = acceptor.local_addr();
    let server = thread::Builder::new()
        .name("bench-server".into())
        .spawn(move || serve_blocking(acceptor))?;
    let result = client(&*connector, addr);
    let quit = command_blocking(&*connector, addr, b'Q');
    let served = server.join().map_err(|_| other("server thread panicked"))?;
    let value = result?;
    quit?;
    served?;
    Ok(value)
}

/// Sends `command` on a new connection and waits for the answer (`Q` stops the server).
///
/// # Errors
/// I/O or handshake errors.
pub fn command_blocking(
    connector: &dyn Connector,
    addr: SocketAddr,
    command: u8,
) -> io::Result<()> {
    let mut conn = connector.connect(addr, "localhost")?;
    conn.write_all(&[command])?;
    conn.flush()?;
    let mut answer = [0u8; 1];
    conn.read_exact(&mut answer)?;
    conn.close();
    Ok(())
}

/// Client → server bulk transfer over one established connection, in MB/s (10^6 bytes/s),
/// timed from the first byte written until the server's acknowledgement arrives.
///
/// # Errors
/// I/O errors.
pub fn bulk_blocking(connector: &dyn Connector, addr: SocketAddr, bytes: u64) -> io::Result<f64> {
    let mut conn = connector.connect(addr, "localhost")?;
    let mut header = [0u8; 9];
    header[0] = b'B';
    header[1..].copy_from_slice(&bytes.to_be_bytes());
    conn.write_all(&header)?;
    conn.flush()?;
    let data = vec![0xa5u8; BULK_CHUNK];
    let start = Instant::now();
    let mut left = bytes;
    while left > 0 {
        let n = data.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        conn.write_all(&data[..n])?;
        left -= n as u64;
    }
    conn.flush()?;
    let mut ack = [0u8; 1];
    conn.read_exact(&mut ack)?;
    let elapsed = start.elapsed();
    conn.close();
    Ok(mb_per_s(bytes, elapsed))
}

/// One connection: TCP connect, handshake, a one-byte request and answer, close.
///
/// # Errors
/// I/O or handshake errors.
pub fn handshake_once(connector: &dyn Connector, addr: SocketAddr, names: Names) -> io::Result<()> {
    let mut conn = connector.connect(addr, &names.next())?;
    conn.write_all(b"H")?;
    conn.flush()?;
    let mut answer = [0u8; 1];
    conn.read_exact(&mut answer)?;
    conn.close();
    Ok(())
}

/// Sequential handshakes (each on a new TCP connection, with a one-byte exchange so that
/// session tickets are received), per second.
///
/// # Errors
/// I/O or handshake errors.
pub fn handshakes_blocking(
    connector: &dyn Connector,
    addr: SocketAddr,
    plan: HandshakePlan,
) -> io::Result<f64> {
    if plan.names == Names::Same {
        handshake_once(connector, addr, plan.names)?; // a session to resume
    }
    let start = Instant::now();
    let mut count = 0u64;
    while count < plan.min_count || start.elapsed() < plan.time {
        handshake_once(connector, addr, plan.names)?;
        count += 1;
    }
    Ok(count as f64 / start.elapsed().as_secs_f64())
}

/// One-byte ping-pong over an established connection: `rtts` timed round trips after a
/// warm-up of a tenth as many.
///
/// # Errors
/// I/O errors.
pub fn latency_blocking(
    connector: &dyn Connector,
    addr: SocketAddr,
    rtts: usize,
) -> io::Result<Latency> {
    let mut conn = connector.connect(addr, "localhost")?;
    conn.write_all(b"E")?;
    conn.flush()?;
    let warmup = (rtts / 10).max(10);
    let mut samples = Vec::with_capacity(rtts);
    let mut byte = [0x42u8; 1];
    for i in 0..warmup + rtts {
        let start = Instant::now();
        conn.write_all(&byte)?;
        conn.flush()?;
        conn.read_exact(&mut byte)?;
        if i >= warmup {
            samples.push(u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX));
        }
    }
    conn.close();
    Ok(percentiles(samples))
}

// ---- tokio ---------------------------------------------------------------------------------

#[cfg(feature = "tokio")]
pub use self::tokio_work::*;

#[cfg(feature = "tokio")]
mod tokio_work {
    use std::future::Future;
    use std::io;
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::thread;
    use std::time::Instant;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::{mb_per_s, percentiles, HandshakePlan, Latency, Names, BULK_CHUNK};
    use crate::engines::{other, Backend, Env, Kind};
    use crate::engines_tokio::{
        async_acceptor, async_connector, AsyncAcceptor, AsyncConn, AsyncConnector,
    };

    /// A current-thread runtime with I/O and timers: one per side.
    ///
    /// # Errors
    /// When the runtime cannot be built.
    pub fn runtime() -> io::Result<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    }

    /// [`super::serve_blocking`] on tokio.
    ///
    /// # Errors
    /// When accepting keeps failing.
    pub async fn serve_async(mut acceptor: Box<dyn AsyncAcceptor>) -> io::Result<()> {
        let mut failures = 0;
        loop {
            let mut conn = match acceptor.accept().await {
                Ok(conn) => conn,
                Err(err) => {
                    failures += 1;
                    if failures > 100 {
                        return Err(err);
                    }
                    continue;
                }
            };
            failures = 0;
            if let Ok(true) = serve_one(&mut conn).await {
                return Ok(());
            }
        }
    }

    async fn serve_one(conn: &mut Box<dyn AsyncConn>) -> io::Result<bool> {
        let mut command = [0u8; 1];
        conn.read_exact(&mut command).await?;
        let quit = match command[0] {
            b'H' | b'Q' => {
                conn.write_all(b"k").await?;
                conn.flush().await?;
                command[0] == b'Q'
            }
            b'E' => {
                let mut buf = [0u8; 64];
                loop {
                    let n = conn.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    conn.write_all(&buf[..n]).await?;
                    conn.flush().await?;
                }
                false
            }
            b'B' => {
                let mut len = [0u8; 8];
                conn.read_exact(&mut len).await?;
                let mut left = u64::from_be_bytes(len);
                let mut buf = vec![0u8; BULK_CHUNK];
                while left > 0 {
                    let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    let n = conn.read(&mut buf[..want]).await?;
                    if n == 0 {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                    left -= n as u64;
                }
                conn.write_all(b"k").await?;
                conn.flush().await?;
                false
            }
            _ => return Err(other("unknown command")),
        };
        let mut sink = [0u8; 64];
        while matches!(conn.read(&mut sink).await, Ok(n) if n > 0) {}
        let _ = conn.shutdown().await;
        Ok(quit)
    }

    /// [`super::with_blocking_server`] on tokio: the server on its own thread and runtime, the
    /// client on a runtime of its own on this thread.
    ///
    /// # Errors
    /// Setup errors, the client's error, or the server's.
    pub fn with_tokio_server<T, F>(
        backend: Option<Backend>,
        kind: Kind,
        env: &Env,
        client: impl FnOnce(Arc<dyn AsyncConnector>, SocketAddr) -> F,
    ) -> io::Result<T>
    where
        F: Future<Output = io::Result<T>>,
    {
        let (tx, rx) = std::sync::mpsc::channel();
        let server_env = env.clone();
        let server = thread::Builder::new().name("bench-server".into()).spawn(
            move || -> io::Result<()> {
                runtime()?.block_on(async move {
                    match async_acceptor(backend, kind, &server_env).await {
                        Ok(acceptor) => {
                            let _ = tx.send(Ok(acceptor.local_addr()));
                            serve_async(acceptor).await
                        }
                        Err(err) => {
                            let _ = tx.send(Err(err));
                            Ok(())
                        }
                    }
                })
            },
        )?;
        let addr = rx.recv().map_err(|_| other("server thread ended"))??;
        let connector: Arc<dyn AsyncConnector> = Arc::from(async_connector(backend, kind, env)?);
        let rt = runtime()?;
        let result = rt.block_on(client(connector.clone(), addr));
        let quit = rt.block_on(command_async(&*connector, addr, b'Q'));
        let served = server.join().map_err(|_| other("server thread panicked"))?;
        let value = result?;
        quit?;
        served?;
        Ok(value)
    }

    /// [`super::command_blocking`] on tokio.
    ///
    /// # Errors
    /// I/O or handshake errors.
    pub async fn command_async(
        connector: &dyn AsyncConnector,
        addr: SocketAddr,
        command: u8,
    ) -> io::Result<()> {
        let mut conn = connector.connect(addr, "localhost").await?;
        conn.write_all(&[command]).await?;
        conn.flush().await?;
        let mut answer = [0u8; 1];
        conn.read_exact(&mut answer).await?;
        let _ = conn.shutdown().await;
        Ok(())
    }

    /// [`super::bulk_blocking`] on tokio.
    ///
    /// # Errors
    /// I/O errors.
    pub async fn bulk_async(
        connector: Arc<dyn AsyncConnector>,
        addr: SocketAddr,
        bytes: u64,
    ) -> io::Result<f64> {
        let mut conn = connector.connect(addr, "localhost").await?;
        let mut header = [0u8; 9];
        header[0] = b'B';
        header[1..].copy_from_slice(&bytes.to_be_bytes());
        conn.write_all(&header).await?;
        conn.flush().await?;
        let data = vec![0xa5u8; BULK_CHUNK];
        let start = Instant::now();
        let mut left = bytes;
        while left > 0 {
            let n = data.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            conn.write_all(&data[..n]).await?;
            left -= n as u64;
        }
        conn.flush().await?;
        let mut ack = [0u8; 1];
        conn.read_exact(&mut ack).await?;
        let elapsed = start.elapsed();
        let _ = conn.shutdown().await;
        Ok(mb_per_s(bytes, elapsed))
    }

    async fn handshake_once(
        connector: &dyn AsyncConnector,
        addr: SocketAddr,
        names: Names,
    ) -> io::Result<()> {
        let mut conn = connector.connect(addr, &names.next()).await?;
        conn.write_all(b"H").await?;
        conn.flush().await?;
        let mut answer = [0u8; 1];
        conn.read_exact(&mut answer).await?;
        let _ = conn.shutdown().await;
        Ok(())
    }

    /// [`super::handshakes_blocking`] on tokio.
    ///
    /// # Errors
    /// I/O or handshake errors.
    pub async fn handshakes_async(
        connector: Arc<dyn AsyncConnector>,
        addr: SocketAddr,
        plan: HandshakePlan,
    ) -> io::Result<f64> {
        if plan.names == Names::Same {
            handshake_once(&*connector, addr, plan.names).await?;
        }
        let start = Instant::now();
        let mut count = 0u64;
        while count < plan.min_count || start.elapsed() < plan.time {
            handshake_once(&*connector, addr, plan.names).await?;
            count += 1;
        }
        Ok(count as f64 / start.elapsed().as_secs_f64())
    }

    /// [`super::latency_blocking`] on tokio.
    ///
    /// # Errors
    /// I/O errors.
    pub async fn latency_async(
        connector: Arc<dyn AsyncConnector>,
        addr: SocketAddr,
        rtts: usize,
    ) -> io::Result<Latency> {
        let mut conn = connector.connect(addr, "localhost").await?;
        conn.write_all(b"E").await?;
        conn.flush().await?;
        let warmup = (rtts / 10).max(10);
        let mut samples = Vec::with_capacity(rtts);
        let mut byte = [0x42u8; 1];
        for i in 0..warmup + rtts {
            let start = Instant::now();
            conn.write_all(&byte).await?;
            conn.flush().await?;
            conn.read_exact(&mut byte).await?;
            if i >= warmup {
                samples.push(u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX));
            }
        }
        let _ = conn.shutdown().await;
        Ok(percentiles(samples))
    }
}
