//! Memory per idle established connection. Each side runs in a child process of its own (this
//! binary re-executed with the hidden `__memory-child` command), so that client and server
//! memory are measured apart: each child opens (or accepts) a warm-up batch, notes its RSS,
//! opens (or accepts) `count` more connections, each with a one-byte exchange so that both
//! handshakes are finished and session tickets consumed, notes its RSS again and reports the
//! difference. The connections stay open until the parent has read both reports.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use crate::engines::{other, Backend, Driver, Env, Kind};
use crate::pki::Pki;
use crate::work::Names;

/// The hidden command that runs one side of the memory benchmark.
pub const CHILD_COMMAND: &str = "__memory-child";

/// The resident set size of this process, in bytes (`VmRSS` of `/proc/self/status`).
///
/// # Errors
/// When `/proc` cannot be read.
pub fn rss_bytes() -> io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or_else(|| other("no VmRSS in /proc/self/status"))
}

/// One memory sample: per-connection RSS growth in KiB, client side and server side.
#[derive(Debug, Clone, Copy)]
pub struct MemorySample {
    /// Client KiB per connection.
    pub client_kib: f64,
    /// Server KiB per connection.
    pub server_kib: f64,
}

/// What the parent needs to start the children.
#[derive(Debug, Clone)]
pub struct MemoryPlan {
    /// This benchmark's executable.
    pub exe: PathBuf,
    /// Where the PKI was saved.
    pub pki_dir: PathBuf,
    /// The suite.
    pub cipher: String,
    /// Connections measured.
    pub count: usize,
    /// Connections opened before the baseline.
    pub warmup: usize,
}

struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // Closing stdin lets a healthy child exit; one that is stuck is stopped.
        drop(self.0.stdin.take());
        if !matches!(self.0.try_wait(), Ok(Some(_))) {
            std::thread::sleep(std::time::Duration::from_millis(50));
            if !matches!(self.0.try_wait(), Ok(Some(_))) {
                let _ = self.0.kill();
            }
        }
        let _ = self.0.wait();
    }
}

fn spawn(plan: &MemoryPlan, args: &[String]) -> io::Result<(ChildGuard, BufReader<ChildStdout>)> {
    let mut child = Command::new(&plan.exe)
        .arg(CHILD_COMMAND)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().ok_or_else(|| other("child without stdout"))?;
    Ok((ChildGuard(child), BufReader::new(stdout)))
}

fn expect_line(reader: &mut BufReader<ChildStdout>, key: &str) -> io::Result<u64> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    line.trim()
        .strip_prefix(key)
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|v| u64::try_from(v.max(0)).unwrap_or(0))
        .ok_or_else(|| other(format!("memory child: expected {key}, got {line:?}")))
}

/// Runs one sample: a server child and a client child of `backend`, `driver`, `kind`.
///
/// # Errors
/// When a child fails.
pub fn memory_sample(
    plan: &MemoryPlan,
    backend: Backend,
    driver: Driver,
    kind: Kind,
) -> io::Result<MemorySample> {
    let common = |role: &str| -> Vec<String> {
        vec![
            role.to_owned(),
            backend.name().to_owned(),
            driver.name().to_owned(),
            match kind {
                Kind::Raw => "raw".to_owned(),
                Kind::Ours => "ours".to_owned(),
            },
            plan.count.to_string(),
            plan.warmup.to_string(),
            plan.pki_dir.display().to_string(),
            plan.cipher.clone(),
        ]
    };
    let (_server, mut server_out) = spawn(plan, &common("server"))?;
    let port = expect_line(&mut server_out, "PORT")?;
    let mut client_args = common("client");
    client_args.push(port.to_string());
    let (_client, mut client_out) = spawn(plan, &client_args)?;
    let client = expect_line(&mut client_out, "RSS")?;
    let server = expect_line(&mut server_out, "RSS")?;
    let per = |bytes: u64| bytes as f64 / plan.count.max(1) as f64 / 1024.0;
    Ok(MemorySample { client_kib: per(client), server_kib: per(server) })
}

struct ChildArgs {
    server: bool,
    backend: Backend,
    driver: Driver,
    kind: Kind,
    count: usize,
    warmup: usize,
    env: Env,
    port: u16,
}

fn parse_child(args: &[String]) -> io::Result<ChildArgs> {
    let bad = || other(format!("bad {CHILD_COMMAND} arguments: {args:?}"));
    let get = |i: usize| args.get(i).map(String::as_str).ok_or_else(bad);
    let server = match get(0)? {
        "server" => true,
        "client" => false,
        _ => return Err(bad()),
    };
    let backend = Backend::parse(get(1)?).ok_or_else(bad)?;
    let driver = match get(2)? {
        "blocking" => Driver::Blocking,
        "tokio" => Driver::Tokio,
        _ => return Err(bad()),
    };
    let kind = match get(3)? {
        "raw" => Kind::Raw,
        "ours" => Kind::Ours,
        _ => return Err(bad()),
    };
    let count = get(4)?.parse().map_err(|_| bad())?;
    let warmup = get(5)?.parse().map_err(|_| bad())?;
    let env = Env { pki: Pki::load(Path::new(get(6)?))?, cipher: get(7)?.to_owned() };
    let port = if server { 0 } else { get(8)?.parse().map_err(|_| bad())? };
    Ok(ChildArgs { server, backend, driver, kind, count, warmup, env, port })
}

fn report(key: &str, value: u64) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{key} {value}")?;
    out.flush()
}

fn wait_for_parent() {
    let mut sink = Vec::new();
    let _ = io::stdin().read_to_end(&mut sink);
}

/// The child side (`__memory-child …`): see the module docs.
///
/// # Errors
/// Bad arguments, setup or connection errors.
pub fn memory_child(args: &[String]) -> io::Result<()> {
    let child = parse_child(args)?;
    match child.driver {
        Driver::Blocking => blocking_child(&child),
        #[cfg(feature = "tokio")]
        Driver::Tokio => tokio_child(&child),
        #[cfg(not(feature = "tokio"))]
        Driver::Tokio => Err(other("built without tokio")),
    }
}

fn blocking_child(c: &ChildArgs) -> io::Result<()> {
    let mut held = Vec::with_capacity(c.warmup + c.count);
    let mut base = 0;
    if c.server {
        let mut acceptor = crate::engines::blocking_acceptor(Some(c.backend), c.kind, &c.env)?;
        report("PORT", u64::from(acceptor.local_addr().port()))?;
        for i in 0..c.warmup + c.count {
            if i == c.warmup {
                base = rss_bytes()?;
            }
            let mut conn = acceptor.accept()?;
            let mut byte = [0u8; 1];
            conn.read_exact(&mut byte)?;
            conn.write_all(&byte)?;
            conn.flush()?;
            held.push(conn);
        }
    } else {
        let connector = crate::engines::blocking_connector(Some(c.backend), c.kind, &c.env)?;
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], c.port));
        for i in 0..c.warmup + c.count {
            if i == c.warmup {
                base = rss_bytes()?;
            }
            let mut conn = connector.connect(addr, &Names::Unique.next())?;
            conn.write_all(b"P")?;
            conn.flush()?;
            let mut byte = [0u8; 1];
            conn.read_exact(&mut byte)?;
            held.push(conn);
        }
    }
    let after = rss_bytes()?;
    report("RSS", after.saturating_sub(base))?;
    wait_for_parent();
    drop(held);
    Ok(())
}

#[cfg(feature = "tokio")]
fn tokio_child(c: &ChildArgs) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let rt = crate::work::runtime()?;
    let held = rt.block_on(async {
        let mut held = Vec::with_capacity(c.warmup + c.count);
        let mut base = 0;
        if c.server {
            let mut acceptor =
                crate::engines_tokio::async_acceptor(Some(c.backend), c.kind, &c.env).await?;
            report("PORT", u64::from(acceptor.local_addr().port()))?;
            for i in 0..c.warmup + c.count {
                if i == c.warmup {
                    base = rss_bytes()?;
                }
                let mut conn = acceptor.accept().await?;
                let mut byte = [0u8; 1];
                conn.read_exact(&mut byte).await?;
                conn.write_all(&byte).await?;
                conn.flush().await?;
                held.push(conn);
            }
        } else {
            let connector = crate::engines_tokio::async_connector(Some(c.backend), c.kind, &c.env)?;
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], c.port));
            for i in 0..c.warmup + c.count {
                if i == c.warmup {
                    base = rss_bytes()?;
                }
                let mut conn = connector.connect(addr, &Names::Unique.next()).await?;
                conn.write_all(b"P").await?;
                conn.flush().await?;
                let mut byte = [0u8; 1];
                conn.read_exact(&mut byte).await?;
                held.push(conn);
            }
        }
        let after = rss_bytes()?;
        report("RSS", after.saturating_sub(base))?;
        io::Result::Ok(held)
    })?;
    // The runtime stays alive (its sockets registered) while the parent reads the reports.
    wait_for_parent();
    drop(held);
    drop(rt);
    Ok(())
}
