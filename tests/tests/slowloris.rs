//! Slowloris: clients that open a connection and drip (or never finish) a ClientHello. Both
//! servers (the blocking `SslServer` and the tokio `AsyncSslServer`) evict their oldest
//! handshake in progress when their bound is reached (a peer's own oldest when it has
//! `MAX_PENDING_PER_PEER` or more), so a good client still gets in while a thousand of them
//! are open, on every backend, and one address cannot take every slot; `close` ends the
//! handshakes in progress on both.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use conformance::pki::Authority;
use sslsocket::{
    Accepted, Error, SslBackend, SslCertificate, SslServer, SslSocket, MAX_PENDING_PER_PEER,
};
use sslsocket_tests::{client_config, on_each_backend};

/// Slowloris connections open at once (fewer if the descriptor limit cannot hold them).
const SLOWLORIS: usize = 1000;

/// A TLS record header announcing a 512-byte ClientHello, and nothing more.
const DRIP: [u8; 6] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01];

/// The old default bound, so that a thousand clients are far beyond it.
const SMALL_BOUND: usize = 64;

/// Long enough that nothing but eviction frees a slot within a test.
const NO_TIMEOUT: Duration = Duration::from_secs(60);

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

/// Opens up to `count` connections from `from` to `port` that send [`DRIP`] and nothing
/// more. It stops early when a connect times out: the backlog is full, the server stopped
/// taking clients.
fn slowloris(from: IpAddr, port: u16, count: usize) -> Vec<TcpStream> {
    let to = SocketAddr::from(([127, 0, 0, 1], port));
    let mut slow = Vec::with_capacity(count);
    while slow.len() < count {
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.bind(&SocketAddr::new(from, 0).into()).unwrap();
        if socket.connect_timeout(&to.into(), Duration::from_secs(2)).is_err() {
            break;
        }
        let mut s = TcpStream::from(socket);
        let _ = s.write_all(&DRIP);
        slow.push(s);
    }
    slow
}

/// A good client's handshake with the server on `port`, on a thread of its own.
fn good_client(
    backend: Arc<dyn SslBackend>,
    ca: SslCertificate,
    port: u16,
) -> JoinHandle<Result<SslSocket, Error>> {
    std::thread::spawn(move || {
        let mut socket = SslSocket::with_backend_handle(backend);
        socket.set_ssl_configuration(client_config(&ca));
        socket.connect_to_host_encrypted("localhost", port);
        socket.wait_for_encrypted(Duration::from_secs(10)).map(|()| socket)
    })
}

/// Whether the server closed `stream` (end of stream or a reset), waiting up to `wait`.
fn closed_by_server(mut stream: &TcpStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false, // the server answered: not closed (an alert comes only on failure)
        Err(e) => matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted),
    }
}

/// What the per-peer test found: how many of the first peer's first connections the server
/// closed, and of the rest (the other peer's, then the first peer's newest) how many it kept.
fn check_per_peer_eviction(other: &[TcpStream], first: &[TcpStream], extra: usize) {
    for (i, s) in first[..extra].iter().enumerate() {
        assert!(closed_by_server(s, Duration::from_secs(5)), "the peer's connection {i} was kept");
    }
    // Every eviction is made before the next connection is taken, and the last connections
    // were taken (their evictions were seen): the rest are still open now.
    let kept = |streams: &[TcpStream]| {
        streams.iter().filter(|s| !closed_by_server(s, Duration::from_millis(1))).count()
    };
    assert_eq!(kept(other), other.len(), "another peer's (older) handshakes were evicted");
    assert_eq!(kept(&first[extra..]), first.len() - extra, "the peer's newest were evicted");
}

#[test]
fn a_good_client_connects_while_a_thousand_slowloris_connections_are_open() {
    let count = connections_that_fit();
    on_each_backend(|backend| {
        let ca = Authority::root("slowloris root");
        let identity = ca.leaf(&["localhost"]);
        let mut server = SslServer::with_backend_handle(backend.clone());
        server.set_ssl_configuration(identity.server_config());
        server.set_max_pending_handshakes(SMALL_BOUND);
        server.set_handshake_timeout(NO_TIMEOUT);
        server.listen("127.0.0.1:0").unwrap();
        let port = server.local_address().unwrap().port();
        let slow = slowloris([127, 0, 0, 1].into(), port, count);
        std::thread::sleep(Duration::from_millis(500));
        let started = Instant::now();
        let client = good_client(backend.clone(), ca.certificate.clone(), port);
        // Evicted handshakes give no outcome: the first one is the good client's.
        let served = match server.accept_next(Some(Duration::from_secs(10))).unwrap() {
            Accepted::Encrypted(socket) => socket,
            Accepted::Failed(failure) => panic!("{failure:?}"),
        };
        let took = started.elapsed();
        client.join().unwrap().unwrap();
        println!(
            "SslServer on {}: {} slowloris connections open, a good client encrypted in {took:?}",
            served.connection().backend().name(),
            slow.len()
        );
        assert_eq!(slow.len(), count, "the server stopped taking connections");
        assert!(took < Duration::from_secs(10), "{took:?}");
    });
}

#[cfg(feature = "tokio")]
#[test]
fn a_good_client_connects_to_the_async_server_while_a_thousand_slowloris_connections_are_open() {
    use sslsocket::{AsyncAccepted, AsyncSslServer};
    let count = connections_that_fit();
    on_each_backend(|backend| {
        let rt = sslsocket_tests::load::runtime();
        // The sockets are dropped outside `block_on`, in the runtime's context.
        let _context = rt.enter();
        let ca = Authority::root("slowloris root");
        let identity = ca.leaf(&["localhost"]);
        let mut server = AsyncSslServer::with_backend_handle(backend.clone());
        server.set_ssl_configuration(identity.server_config());
        server.set_max_pending_handshakes(SMALL_BOUND);
        server.set_handshake_timeout(NO_TIMEOUT);
        rt.block_on(server.bind("127.0.0.1:0")).unwrap();
        let port = server.local_address().unwrap().port();
        // The server's tasks run on the runtime's workers meanwhile.
        let slow = slowloris([127, 0, 0, 1].into(), port, count);
        std::thread::sleep(Duration::from_millis(500));
        let started = Instant::now();
        let client = good_client(backend.clone(), ca.certificate.clone(), port);
        let next = rt.block_on(tokio::time::timeout(Duration::from_secs(10), server.accept_next()));
        let took = started.elapsed();
        // Evicted handshakes give no outcome: the first one is the good client's.
        let served = match next.expect("no client within 10 s").unwrap() {
            AsyncAccepted::Encrypted(socket) => socket,
            AsyncAccepted::Failed(failure) => panic!("{failure:?}"),
        };
        client.join().unwrap().unwrap();
        println!(
            "AsyncSslServer on {}: {} slowloris connections open, a good client encrypted in \
             {took:?}",
            served.connection().backend().name(),
            slow.len()
        );
        assert_eq!(slow.len(), count, "the server stopped taking connections");
        assert!(took < Duration::from_secs(10), "{took:?}");
    });
}

/// Connections from another address (127.0.0.2, older), then from 127.0.0.1 up to the bound
/// and `EXTRA` beyond it: the server closes the first `EXTRA` of 127.0.0.1's (it has its
/// share and more), not the other peer's older ones. Below the bound nothing is evicted,
/// whatever the address (a burst from one address is served: tests/load.rs).
const EXTRA: usize = 5;
const OTHER_PEER: usize = 10;
const PER_PEER_BOUND: usize = MAX_PENDING_PER_PEER + 36;

#[test]
fn one_peer_address_cannot_hold_more_than_its_share_of_pending_handshakes() {
    on_each_backend(|backend| {
        let identity = Authority::root("slowloris root").leaf(&["localhost"]);
        let mut server = SslServer::with_backend_handle(backend);
        server.set_ssl_configuration(identity.server_config());
        server.set_handshake_timeout(NO_TIMEOUT);
        server.set_max_pending_handshakes(PER_PEER_BOUND);
        server.listen("127.0.0.1:0").unwrap();
        let port = server.local_address().unwrap().port();
        let other = slowloris([127, 0, 0, 2].into(), port, OTHER_PEER);
        let first = slowloris([127, 0, 0, 1].into(), port, PER_PEER_BOUND - OTHER_PEER + EXTRA);
        check_per_peer_eviction(&other, &first, EXTRA);
    });
}

#[cfg(feature = "tokio")]
#[test]
fn one_peer_address_cannot_hold_more_than_its_share_of_the_async_servers_pending_handshakes() {
    use sslsocket::AsyncSslServer;
    on_each_backend(|backend| {
        let rt = sslsocket_tests::load::runtime();
        let identity = Authority::root("slowloris root").leaf(&["localhost"]);
        let mut server = AsyncSslServer::with_backend_handle(backend);
        server.set_ssl_configuration(identity.server_config());
        server.set_handshake_timeout(NO_TIMEOUT);
        server.set_max_pending_handshakes(PER_PEER_BOUND);
        rt.block_on(server.bind("127.0.0.1:0")).unwrap();
        let port = server.local_address().unwrap().port();
        let other = slowloris([127, 0, 0, 2].into(), port, OTHER_PEER);
        let first = slowloris([127, 0, 0, 1].into(), port, PER_PEER_BOUND - OTHER_PEER + EXTRA);
        check_per_peer_eviction(&other, &first, EXTRA);
        server.close();
    });
}

/// Handshakes in progress when a server is closed, and how long each client waits for its end.
const AT_CLOSE: usize = 5;

/// `close` aborts the handshakes in progress: their clients see the connection end at once,
/// not when the handshake timeout (here a minute) would have ended them.
fn check_closed_at_close(pending: &[TcpStream]) {
    for (i, s) in pending.iter().enumerate() {
        assert!(
            closed_by_server(s, Duration::from_secs(2)),
            "handshake {i} in progress still open 2 s after close"
        );
    }
}

#[test]
fn closing_the_server_ends_its_handshakes_in_progress() {
    on_each_backend(|backend| {
        let identity = Authority::root("slowloris root").leaf(&["localhost"]);
        let mut server = SslServer::with_backend_handle(backend);
        server.set_ssl_configuration(identity.server_config());
        server.set_handshake_timeout(NO_TIMEOUT);
        server.listen("127.0.0.1:0").unwrap();
        let port = server.local_address().unwrap().port();
        let pending = slowloris([127, 0, 0, 1].into(), port, AT_CLOSE);
        // Taken from the backlog and started before the close.
        std::thread::sleep(Duration::from_millis(300));
        assert!(!closed_by_server(&pending[0], Duration::from_millis(1)), "closed before close");
        server.close();
        check_closed_at_close(&pending);
    });
}

#[cfg(feature = "tokio")]
#[test]
fn closing_the_async_server_ends_its_handshakes_in_progress() {
    use sslsocket::AsyncSslServer;
    on_each_backend(|backend| {
        let rt = sslsocket_tests::load::runtime();
        let identity = Authority::root("slowloris root").leaf(&["localhost"]);
        let mut server = AsyncSslServer::with_backend_handle(backend);
        server.set_ssl_configuration(identity.server_config());
        server.set_handshake_timeout(NO_TIMEOUT);
        rt.block_on(server.bind("127.0.0.1:0")).unwrap();
        let port = server.local_address().unwrap().port();
        let pending = slowloris([127, 0, 0, 1].into(), port, AT_CLOSE);
        std::thread::sleep(Duration::from_millis(300));
        assert!(!closed_by_server(&pending[0], Duration::from_millis(1)), "closed before close");
        server.close();
        check_closed_at_close(&pending);
    });
}
