//! Slowloris: clients that open a connection and drip (or never finish) a ClientHello. The
//! blocking `SslServer` evicts its oldest handshake in progress when its bound is reached, and
//! a peer's oldest beyond `MAX_PENDING_PER_PEER`, so a good client still gets in while a
//! thousand of them are open, on every backend.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use conformance::pki::Authority;
use sslsocket::{Accepted, SslServer, SslSocket};
use sslsocket_tests::{client_config, on_each_backend};

/// Slowloris connections open at once (fewer if the descriptor limit cannot hold them).
const SLOWLORIS: usize = 1000;

/// Raises the soft descriptor limit to the hard one; the connections that fit: both ends of
/// each live in this process.
fn connections_that_fit() -> usize {
    #[cfg(unix)]
    {
        use rustix::process::{getrlimit, setrlimit, Resource};
        let mut limit = getrlimit(Resource::Nofile);
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
        let soft = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
        let room = usize::try_from(soft.saturating_sub(200) / 2).unwrap_or(usize::MAX);
        SLOWLORIS.min(room)
    }
    #[cfg(not(unix))]
    SLOWLORIS
}

#[test]
fn a_good_client_connects_while_a_thousand_slowloris_connections_are_open() {
    let count = connections_that_fit();
    on_each_backend(|backend| {
        let ca = Authority::root("slowloris root");
        let identity = ca.leaf(&["localhost"]);
        let mut server = SslServer::with_backend_handle(backend.clone());
        server.set_ssl_configuration(identity.server_config());
        // The old default bound, so that a thousand clients are far beyond it; a long
        // timeout, so that nothing but eviction frees a slot within the test.
        server.set_max_pending_handshakes(64);
        server.set_handshake_timeout(Duration::from_secs(60));
        server.listen("127.0.0.1:0").unwrap();
        let port = server.local_address().unwrap().port();
        // A TLS record header announcing a 512-byte ClientHello, and nothing more. A connect
        // that times out means the backlog is full: the server stopped taking clients.
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let mut slow = Vec::with_capacity(count);
        while slow.len() < count {
            let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
                break;
            };
            let _ = s.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]);
            slow.push(s);
        }
        std::thread::sleep(Duration::from_millis(500));
        let started = Instant::now();
        let client = std::thread::spawn(move || {
            let mut socket = SslSocket::with_backend_handle(backend.clone());
            socket.set_ssl_configuration(client_config(&ca.certificate));
            socket.connect_to_host_encrypted("localhost", port);
            socket.wait_for_encrypted(Duration::from_secs(10)).map(|()| socket)
        });
        // Evicted handshakes give no outcome: the first one is the good client's.
        let served = match server.accept_next(Some(Duration::from_secs(10))).unwrap() {
            Accepted::Encrypted(socket) => socket,
            Accepted::Failed(failure) => panic!("{failure:?}"),
        };
        let took = started.elapsed();
        client.join().unwrap().unwrap();
        println!(
            "{}: {} slowloris connections open, a good client encrypted in {took:?}",
            served.connection().backend().name(),
            slow.len()
        );
        assert_eq!(slow.len(), count, "the server stopped taking connections");
        assert!(took < Duration::from_secs(10), "{took:?}");
        drop(slow);
    });
}
