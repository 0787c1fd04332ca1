//! What a connection costs each server, on every backend: the memory (RSS growth) and the
//! descriptors of one pending handshake and one idle established connection, and how many
//! idle connections 1 GiB holds. A measurement that prints its figures (`-- --nocapture`); it
//! asserts only that every connection was taken, never a size or a time.
//!
//! Each server runs in a child process of its own (this test binary re-executed with
//! `SSLSOCKET_COSTS_CHILD` set), so that its RSS is its own and no memory freed by an earlier
//! measurement is reused: the child serves one warm-up client of its own, notes its RSS and
//! descriptors, takes the parent's connections and reports the growth per connection.
//! Pending handshakes are raw TCP connections that send the first bytes of a ClientHello,
//! from 127.0.0.2, 127.0.0.3… in turn so that the per-peer limit evicts none. A debug build
//! allocates what a release build does.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use conformance::pki::Authority;
use sslsocket::{AsyncSslServer, SslBackend, SslCertificate, SslServer, SslSocket};
use sslsocket_tests::leaks::live_descriptors;
use sslsocket_tests::load::{ensure_open_files, rss_kib, runtime};
use sslsocket_tests::{backends, client_config};

const CONNECTIONS: usize = 500;
const GIB_KIB: f64 = 1024.0 * 1024.0;
const CHILD: &str = "SSLSOCKET_COSTS_CHILD";
const TEST: &str = "what_a_pending_handshake_and_an_idle_connection_cost_each_server";

/// A TLS record header announcing a 512-byte ClientHello, and nothing more.
const DRIP: [u8; 6] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01];

#[test]
fn what_a_pending_handshake_and_an_idle_connection_cost_each_server() {
    if let Ok(case) = std::env::var(CHILD) {
        child(&case);
        return;
    }
    ensure_open_files(2 * CONNECTIONS as u64 + 512).unwrap();
    // The children write the CA they trust here.
    let dir = tempfile::tempdir().unwrap();
    for backend in backends() {
        for server in ["SslServer", "AsyncSslServer"] {
            for mode in ["pending", "established"] {
                measure(&backend, server, mode, dir.path());
            }
        }
    }
}

/// One measurement: a child serving, this process connecting.
fn measure(backend: &Arc<dyn SslBackend>, server: &str, mode: &str, dir: &std::path::Path) {
    let ca_path = dir.join(format!("{}-{server}-{mode}.der", backend.name()));
    let case = format!("{}:{server}:{mode}:{}", backend.name(), ca_path.display());
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD, &case)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The child's lines through a channel, so that a child that says nothing fails the test
    // instead of hanging it. libtest may print `test NAME ... ` before a line: the figures are
    // found after their tag.
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut tagged = |tag: &str| loop {
        let line = lines.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("the child reported no {tag}")
        });
        if let Some((_, rest)) = line.split_once(tag) {
            return rest.to_owned();
        }
    };
    let port: u16 = tagged("PORT ").parse().unwrap();
    let ca = SslCertificate::from_der(&std::fs::read(&ca_path).unwrap()).unwrap();
    let held: Vec<Box<dyn Send>> = if mode == "pending" {
        pending_handshakes(port, CONNECTIONS).into_iter().map(|s| Box::new(s) as _).collect()
    } else {
        (0..CONNECTIONS).map(|_| Box::new(client(backend, &ca, port)) as _).collect()
    };
    let cost = tagged("COST ");
    let figures: Vec<f64> = cost.split_whitespace().map(|f| f.parse().unwrap()).collect();
    let (kib, fds) = (figures[0], figures[1]);
    let what = if mode == "pending" { "pending handshake" } else { "idle established connection" };
    println!(
        "{server} on {}: one {what}: {kib:.1} KiB, {fds:.2} descriptors ({CONNECTIONS} of them); \
         {:.0} per GiB",
        backend.name(),
        GIB_KIB / kib.max(0.1)
    );
    drop(held);
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success(), "the child failed");
    assert!(fds >= 1.0, "the server did not take every connection: {fds} descriptors each");
}

/// `count` stalled handshakes against `port`, from 127.0.0.2, 127.0.0.3… (50 each).
fn pending_handshakes(port: u16, count: usize) -> Vec<TcpStream> {
    let to = SocketAddr::from(([127, 0, 0, 1], port));
    (0..count)
        .map(|i| {
            let from = SocketAddr::from(([127, 0, 0, 2 + u8::try_from(i / 50).unwrap()], 0));
            let socket =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            socket.bind(&from.into()).unwrap();
            socket.connect_timeout(&to.into(), Duration::from_secs(5)).unwrap();
            let mut s = TcpStream::from(socket);
            s.write_all(&DRIP).unwrap();
            s
        })
        .collect()
}

fn client(backend: &Arc<dyn SslBackend>, ca: &SslCertificate, port: u16) -> SslSocket {
    let mut socket = SslSocket::with_backend_handle(backend.clone());
    socket.set_ssl_configuration(client_config(ca));
    socket.connect_to_host_encrypted("localhost", port);
    socket.wait_for_encrypted(Duration::from_secs(10)).unwrap();
    socket
}

/// The child's side: `backend:server:mode:ca_path`.
fn child(case: &str) {
    let mut parts = case.splitn(4, ':');
    let (name, server, mode, ca_path) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let backend = sslsocket::registry::backend(name).unwrap();
    let ca = Authority::root("costs root");
    std::fs::write(ca_path, ca.certificate.to_der()).unwrap();
    let config = ca.leaf(&["localhost"]).server_config();
    let pending = mode == "pending";
    let report = |before: (u64, usize)| {
        // Every connection is one descriptor at least: wait for them all (bounded).
        let started = Instant::now();
        while live_descriptors().unwrap() < before.1 + CONNECTIONS
            && started.elapsed() < Duration::from_secs(20)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        let (rss, fds) = (rss_kib().unwrap(), live_descriptors().unwrap());
        let kib = rss.saturating_sub(before.0) as f64 / CONNECTIONS as f64;
        let per = fds.saturating_sub(before.1) as f64 / CONNECTIONS as f64;
        println!("COST {kib} {per}");
    };
    let sample = || (rss_kib().unwrap(), live_descriptors().unwrap());
    let wait_for_parent = || {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    };
    if server == "SslServer" {
        let mut server = SslServer::with_backend_handle(backend.clone());
        server.set_ssl_configuration(config);
        server.set_handshake_timeout(Duration::from_secs(60));
        server.listen("127.0.0.1:0").unwrap();
        let port = server.local_address().unwrap().port();
        let warm = client(&backend, &ca.certificate, port);
        let warm_served = server.accept().unwrap();
        let before = sample();
        println!("PORT {port}");
        let served: Vec<_> = if pending {
            Vec::new()
        } else {
            (0..CONNECTIONS).map(|_| server.accept().unwrap()).collect()
        };
        report(before);
        wait_for_parent();
        drop((served, warm, warm_served));
    } else {
        let rt = runtime();
        let _context = rt.enter();
        let mut server = AsyncSslServer::with_backend_handle(backend.clone());
        server.set_ssl_configuration(config);
        server.set_handshake_timeout(Duration::from_secs(60));
        rt.block_on(server.bind("127.0.0.1:0")).unwrap();
        let port = server.local_address().unwrap().port();
        let warm = client(&backend, &ca.certificate, port);
        let warm_served = rt.block_on(server.accept()).unwrap();
        let before = sample();
        println!("PORT {port}");
        let served: Vec<_> = if pending {
            Vec::new()
        } else {
            (0..CONNECTIONS).map(|_| rt.block_on(server.accept()).unwrap()).collect()
        };
        report(before);
        wait_for_parent();
        drop((served, warm, warm_served));
    }
}
