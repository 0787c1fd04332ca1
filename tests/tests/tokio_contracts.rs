//! `AsyncSslSocket` keeps tokio's contracts, as a tokio user relies on them and as
//! tokio-rustls (the reference peer here) keeps them: `split` halves in two tasks, a task
//! that only writes does not buffer what the peer sends, `shutdown` is a half-close, and
//! cancelled connects and certificate decisions go on at the next await. Every test runs on
//! every backend.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::future::{poll_fn, Future};
use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use conformance::driver::{drivers, Outcome};
use conformance::pki::{Authority, Identity, LeafSpec};
use sha2::{Digest, Sha256};
use sslsocket::{
    AsyncSslServer, AsyncSslSocket, Decision, Feature, SocketErrorKind, SocketState,
    SslCertificate, SslError, SslErrorsHandler,
};
use sslsocket_tests::load::rss_kib;
use sslsocket_tests::raw::{rustls_client_config, rustls_server_config};
use sslsocket_tests::{client_config, on_each_backend, recoverable};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio_rustls::{TlsAcceptor, TlsConnector};

const MIB: usize = 1024 * 1024;
/// No step of these tests takes this long unless it is stuck.
const STALL: Duration = Duration::from_secs(60);

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(seed) ^ (i >> 12) as u8).collect()
}

/// A multi-thread runtime with two workers and a current-thread one.
fn runtimes() -> Vec<(&'static str, Runtime)> {
    vec![
        ("multi-thread", sslsocket_tests::load::runtime()),
        (
            "current-thread",
            tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap(),
        ),
    ]
}

/// Runs `body` on `rt`; `Err` if it is stuck for [`STALL`].
fn within<T>(rt: &Runtime, body: impl Future<Output = T>) -> Result<T, ()> {
    rt.block_on(async { tokio::time::timeout(STALL, body).await.map_err(|_| ()) })
}

fn localhost() -> (Authority, Identity) {
    let ca = Authority::root("tokio contracts root");
    let id = ca.issue(&LeafSpec::new(&["localhost"]));
    (ca, id)
}

async fn connected(
    backend: &Arc<dyn sslsocket::SslBackend>,
    ca: &Authority,
    port: u16,
) -> AsyncSslSocket {
    let mut socket = AsyncSslSocket::with_backend_handle(backend.clone());
    socket.set_ssl_configuration(client_config(&ca.certificate));
    socket.connect_to_host_encrypted("localhost", port).await.unwrap();
    socket
}

/// The peer at the other end: tokio-rustls, or our own `AsyncSslServer`.
#[derive(Debug, Clone, Copy)]
enum Peer {
    TokioRustls,
    Ours,
}

/// A server for one connection on a free loopback port: `body` runs on the accepted,
/// encrypted stream.
async fn serve_once<F, Fut, T>(
    peer: Peer,
    backend: &Arc<dyn sslsocket::SslBackend>,
    id: &Identity,
    body: F,
) -> (u16, tokio::task::JoinHandle<T>)
where
    F: FnOnce(Box<dyn Duplex>) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send,
    T: Send + 'static,
{
    match peer {
        Peer::TokioRustls => {
            let acceptor = TlsAcceptor::from(rustls_server_config(id));
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let task = tokio::spawn(async move {
                let (tcp, _) = listener.accept().await.unwrap();
                body(Box::new(acceptor.accept(tcp).await.unwrap())).await
            });
            (port, task)
        }
        Peer::Ours => {
            let mut server = AsyncSslServer::with_backend_handle(backend.clone());
            server.set_ssl_configuration(id.server_config());
            server.bind("127.0.0.1:0").await.unwrap();
            let port = server.local_address().unwrap().port();
            let task = tokio::spawn(async move {
                let socket = server.accept().await.unwrap();
                body(Box::new(socket)).await
            });
            (port, task)
        }
    }
}

/// A TLS stream of either kind.
trait Duplex: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Duplex for T {}

/// Reads to the end, hashing; counts into `progress` on the way.
async fn drain(
    reader: impl AsyncRead + Unpin,
    progress: Arc<AtomicUsize>,
) -> io::Result<(usize, [u8; 32])> {
    drain_up_to(reader, usize::MAX, progress).await
}

/// [`drain`], stopping after `limit` bytes.
async fn drain_up_to(
    mut reader: impl AsyncRead + Unpin,
    limit: usize,
    progress: Arc<AtomicUsize>,
) -> io::Result<(usize, [u8; 32])> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        let room = buf.len().min(limit - total);
        let n = if room == 0 { 0 } else { reader.read(&mut buf[..room]).await? };
        if n == 0 {
            return Ok((total, hasher.finalize().into()));
        }
        hasher.update(&buf[..n]);
        total += n;
        progress.fetch_add(n, Ordering::Relaxed);
    }
}

/// Writes everything, then closes this direction; counts into `progress` on the way.
async fn send(
    mut writer: impl AsyncWrite + Unpin,
    data: Arc<Vec<u8>>,
    progress: Arc<AtomicUsize>,
) -> io::Result<()> {
    for chunk in data.chunks(256 * 1024) {
        writer.write_all(chunk).await?;
        progress.fetch_add(chunk.len(), Ordering::Relaxed);
    }
    writer.flush().await?;
    writer.shutdown().await
}

/// Both directions of `stream` at once, from two tasks: one reads to the end, the other
/// sends `data` then closes its direction. Returns what was read.
async fn both_ways_in_two_tasks(
    stream: impl Duplex + 'static,
    data: Arc<Vec<u8>>,
    read: Arc<AtomicUsize>,
    written: Arc<AtomicUsize>,
) -> io::Result<(usize, [u8; 32])> {
    let (reader, writer) = tokio::io::split(stream);
    let reading = tokio::spawn(drain(reader, read));
    let writing = tokio::spawn(send(writer, data, written));
    writing.await.unwrap()?;
    reading.await.unwrap()
}

#[test]
fn split_halves_in_two_tasks_move_16_mib_each_way_twenty_runs_in_a_row() {
    const SIZE: usize = 16 * MIB;
    const RUNS: usize = 20;
    let (ca, id) = localhost();
    let ours = Arc::new(pattern(SIZE, 7));
    let theirs = Arc::new(pattern(SIZE, 11));
    let (ours_digest, theirs_digest): ([u8; 32], [u8; 32]) =
        (Sha256::digest(&*ours).into(), Sha256::digest(&*theirs).into());
    on_each_backend(|backend| {
        for (flavour, rt) in runtimes() {
            let mut times = Vec::new();
            for run in 0..RUNS {
                // Every other run has our own server at the other end.
                let peer = if run % 2 == 0 { Peer::TokioRustls } else { Peer::Ours };
                let progress: [Arc<AtomicUsize>; 4] = Default::default();
                let started = Instant::now();
                let outcome = within(&rt, async {
                    let [peer_read, peer_written, read, written] = progress.clone();
                    let theirs = theirs.clone();
                    let (port, server) = serve_once(peer, &backend, &id, move |stream| {
                        both_ways_in_two_tasks(stream, theirs, peer_read, peer_written)
                    })
                    .await;
                    let socket = connected(&backend, &ca, port).await;
                    let got = both_ways_in_two_tasks(socket, ours.clone(), read, written).await;
                    (got.unwrap(), server.await.unwrap().unwrap())
                });
                let Ok((client_got, server_got)) = outcome else {
                    let [peer_read, peer_written, read, written] =
                        progress.map(|p| p.load(Ordering::Relaxed) / MIB);
                    panic!(
                        "{} ({flavour}, run {run}, peer {peer:?}): stalled: we wrote {written} \
                         MiB and read {read} MiB, the peer wrote {peer_written} MiB and read \
                         {peer_read} MiB",
                        backend.name()
                    );
                };
                assert_eq!(client_got, (SIZE, theirs_digest), "{}: peer → us", backend.name());
                assert_eq!(server_got, (SIZE, ours_digest), "{}: us → peer", backend.name());
                times.push(started.elapsed().as_millis());
            }
            println!(
                "{}: {flavour}: {RUNS} runs of 16 MiB each way, split halves in two tasks, \
                 times in ms (even runs tokio-rustls peer, odd runs our server): {times:?}",
                backend.name()
            );
        }
    });
}

/// A tokio-rustls client that floods the server with data from one task while another reads
/// the `expect` bytes the server streams. Returns the reader's result; `flooded` counts what
/// the flood managed to hand to TLS.
fn flooding_client(
    rt: &Runtime,
    ca: &SslCertificate,
    port: u16,
    expect: usize,
    flooded: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<io::Result<(usize, [u8; 32])>> {
    let connector = TlsConnector::from(rustls_client_config(ca));
    rt.spawn(async move {
        let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let stream = connector.connect(name, tcp).await?;
        let (reader, mut writer) = tokio::io::split(stream);
        let flood = tokio::spawn(async move {
            let chunk = vec![0x5au8; 64 * 1024];
            while writer.write_all(&chunk).await.is_ok() {
                flooded.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
        });
        let got = drain_up_to(reader, expect, Arc::default()).await;
        flood.abort();
        got
    })
}

#[test]
fn a_socket_that_only_writes_keeps_what_the_peer_floods_out_of_memory() {
    const SIZE: usize = 32 * MIB;
    /// What the connection may hold that nobody asked to read: the engine's record buffer
    /// and one transport read, with room to spare. Without back-pressure it is most of what
    /// the flood sent.
    const BOUND: usize = MIB;
    let (ca, id) = localhost();
    let payload = Arc::new(pattern(SIZE, 3));
    let digest: [u8; 32] = Sha256::digest(&*payload).into();
    let client_rt = sslsocket_tests::load::runtime();
    on_each_backend(|backend| {
        for driver in drivers() {
            let who = format!("{} / {}", backend.name(), driver.name());
            let mut server = driver.server(&backend, id.server_config(), STALL);
            let flooded = Arc::new(AtomicU64::new(0));
            let client =
                flooding_client(&client_rt, &ca.certificate, server.port(), SIZE, flooded.clone());
            let Outcome::Encrypted(mut socket) = server.accept_next(STALL).unwrap() else {
                panic!("{who}: handshake failed")
            };
            let rss_before = rss_kib().unwrap_or(0);
            socket.write_all(&payload).unwrap();
            socket.flush().unwrap();
            let got = client_rt.block_on(client).unwrap().unwrap();
            let held = socket.connection().bytes_available();
            let rss_after = rss_kib().unwrap_or(0);
            println!(
                "{who}: streamed 32 MiB to a peer that floods: the peer got {} MiB of flood \
                 into TLS meanwhile, the socket holds {held} unread bytes, RSS {rss_before} -> \
                 {rss_after} KiB",
                flooded.load(Ordering::Relaxed) / MIB as u64
            );
            assert_eq!(got, (SIZE, digest), "{who}: what the peer read");
            assert!(held <= BOUND, "{who}: {held} bytes buffered that nobody asked to read");
            socket.abort();
        }
    });
}

#[test]
fn after_our_shutdown_the_peers_64_kib_reply_arrives_whole() {
    let (ca, id) = localhost();
    let reply = Arc::new(pattern(64 * 1024, 5));
    on_each_backend(|backend| {
        let rt = sslsocket_tests::load::runtime();
        for peer in [Peer::TokioRustls, Peer::Ours] {
            let who = format!("{} against {peer:?}", backend.name());
            let reply = reply.clone();
            within(&rt, async {
                let sent = reply.clone();
                let (port, server) =
                    serve_once(peer, &backend, &id, move |mut stream| async move {
                        let mut request = Vec::new();
                        stream.read_to_end(&mut request).await?; // to our close_notify
                        stream.write_all(&sent).await?;
                        stream.shutdown().await?;
                        io::Result::Ok(request)
                    })
                    .await;
                let mut socket = connected(&backend, &ca, port).await;
                socket.write_all(b"request").await.unwrap();
                socket.shutdown().await.unwrap();
                assert_eq!(socket.state(), SocketState::ClosingState, "{who}: half-closed");
                let mut got = Vec::new();
                socket.read_to_end(&mut got).await.unwrap();
                assert_eq!(server.await.unwrap().unwrap(), b"request", "{who}");
                assert_eq!(got.len(), reply.len(), "{who}: the reply after our shutdown");
                assert!(got == *reply, "{who}: the reply differs");
                assert_eq!(socket.state(), SocketState::UnconnectedState, "{who}");
            })
            .unwrap_or_else(|_| panic!("{who}: stalled"));
        }
    });
}

#[test]
fn after_the_peers_close_notify_our_64_kib_reply_arrives_whole() {
    let (ca, id) = localhost();
    let reply = Arc::new(pattern(64 * 1024, 9));
    on_each_backend(|backend| {
        let rt = sslsocket_tests::load::runtime();
        for peer in [Peer::TokioRustls, Peer::Ours] {
            let who = format!("{} against {peer:?}", backend.name());
            within(&rt, async {
                let (port, server) = serve_once(peer, &backend, &id, |mut stream| async move {
                    stream.write_all(b"request").await?;
                    stream.shutdown().await?; // close_notify, then the TCP write side
                    let mut got = Vec::new();
                    stream.read_to_end(&mut got).await?;
                    io::Result::Ok(got)
                })
                .await;
                let mut socket = connected(&backend, &ca, port).await;
                let mut request = Vec::new();
                socket.read_to_end(&mut request).await.unwrap();
                assert_eq!(request, b"request", "{who}");
                assert_eq!(socket.state(), SocketState::ConnectedState, "{who}: ours is open");
                socket.write_all(&reply).await.unwrap();
                socket.shutdown().await.unwrap();
                let got = server.await.unwrap().unwrap();
                assert_eq!(got.len(), reply.len(), "{who}: our reply after the peer's close");
                assert!(got == *reply, "{who}: the reply differs");
                assert_eq!(socket.state(), SocketState::UnconnectedState, "{who}");
            })
            .unwrap_or_else(|_| panic!("{who}: stalled"));
        }
    });
}

#[test]
fn a_split_and_copy_echo_of_1_mib_to_a_half_closing_client_is_byte_exact() {
    const SIZE: usize = MIB;
    let (ca, id) = localhost();
    let payload = Arc::new(pattern(SIZE, 13));
    let digest: [u8; 32] = Sha256::digest(&*payload).into();
    on_each_backend(|backend| {
        let rt = sslsocket_tests::load::runtime();
        within(&rt, async {
            // The server of the example: split, tokio::io::copy, then shutdown.
            let (port, server) = serve_once(Peer::Ours, &backend, &id, |stream| async move {
                let (mut reader, mut writer) = tokio::io::split(stream);
                let copied = tokio::io::copy(&mut reader, &mut writer).await?;
                writer.shutdown().await?;
                io::Result::Ok(copied)
            })
            .await;
            let socket = connected(&backend, &ca, port).await;
            let got =
                both_ways_in_two_tasks(socket, payload.clone(), Arc::default(), Arc::default())
                    .await
                    .unwrap();
            assert_eq!(server.await.unwrap().unwrap(), SIZE as u64, "{}: copied", backend.name());
            assert_eq!(got, (SIZE, digest), "{}: echoed", backend.name());
        })
        .unwrap_or_else(|_| panic!("{}: stalled", backend.name()));
    });
}

/// Ignores every error, after `delay` (a user being asked); counts the questions.
struct SlowYes {
    delay: Duration,
    asked: AtomicUsize,
}

#[async_trait::async_trait]
impl SslErrorsHandler for SlowYes {
    async fn decide(&self, _errors: &[SslError], _chain: &[SslCertificate]) -> Decision {
        self.asked.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        Decision::Ignore
    }
}

/// A tokio-rustls server for one connection whose certificate our client does not trust
/// (another root): it echoes one line, if the client accepts it.
async fn untrusted_server() -> u16 {
    let (_, id) = localhost();
    let acceptor = TlsAcceptor::from(rustls_server_config(&id));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await?;
        let mut stream = acceptor.accept(tcp).await?; // fails when the client rejects us
        let mut line = [0u8; 6];
        stream.read_exact(&mut line).await?;
        stream.write_all(&line).await?;
        stream.flush().await
    });
    port
}

/// A client whose certificate errors `decider` decides, or `None` when the backend cannot
/// pause on them (it declares so, and the engine rejects by itself: checked here).
async fn deciding_client(
    backend: &Arc<dyn sslsocket::SslBackend>,
    decider: Arc<dyn SslErrorsHandler>,
) -> Option<AsyncSslSocket> {
    let (other_ca, _) = localhost();
    let mut socket = AsyncSslSocket::with_backend_handle(backend.clone());
    socket.set_ssl_configuration(client_config(&other_ca.certificate));
    socket.set_ssl_errors_handler(decider);
    if recoverable(backend) {
        return Some(socket);
    }
    assert!(!backend.features().contains(Feature::RecoverableVerifyErrors));
    let port = untrusted_server().await;
    let err = socket.connect_to_host_encrypted("localhost", port).await.unwrap_err();
    assert_eq!(err.kind(), SocketErrorKind::SslHandshakeFailedError, "{}", backend.name());
    println!(
        "n/a: {} cannot pause on certificate errors (no RecoverableVerifyErrors): the engine \
         rejected the peer itself, as declared",
        backend.name()
    );
    None
}

/// Rejects every peer.
struct No;

#[async_trait::async_trait]
impl SslErrorsHandler for No {
    async fn decide(&self, _errors: &[SslError], _chain: &[SslCertificate]) -> Decision {
        Decision::Reject
    }
}

#[test]
fn the_async_deciders_reject_holds_over_an_earlier_ignore_ssl_errors() {
    on_each_backend(|backend| {
        let rt = sslsocket_tests::load::runtime();
        rt.block_on(async {
            let Some(mut socket) = deciding_client(&backend, Arc::new(No)).await else {
                return;
            };
            // Given before the handshake, for it; the decider's answer is the decision.
            socket.ignore_ssl_errors();
            let port = untrusted_server().await;
            let err =
                tokio::time::timeout(STALL, socket.connect_to_host_encrypted("localhost", port))
                    .await
                    .unwrap()
                    .unwrap_err();
            assert_eq!(err.kind(), SocketErrorKind::SslHandshakeFailedError, "{}", backend.name());
        });
    });
}

#[test]
fn a_certificate_decision_cancelled_mid_way_is_asked_again_by_the_next_await() {
    on_each_backend(|backend| {
        let rt = sslsocket_tests::load::runtime();
        rt.block_on(async {
            let decider = Arc::new(SlowYes { delay: Duration::from_millis(500), asked: 0.into() });
            let Some(mut socket) = deciding_client(&backend, decider.clone()).await else {
                return;
            };
            let port = untrusted_server().await;
            let cancelled = tokio::time::timeout(
                Duration::from_millis(200),
                socket.connect_to_host_encrypted("localhost", port),
            )
            .await;
            assert!(cancelled.is_err(), "{}: the decision took 500 ms", backend.name());
            assert_eq!(decider.asked.load(Ordering::SeqCst), 1, "{}", backend.name());
            assert_eq!(socket.state(), SocketState::ConnectedState, "{}", backend.name());
            assert!(!socket.is_encrypted());
            tokio::time::timeout(STALL, socket.wait_for_encrypted())
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("{}: after the cancel: {e}", backend.name()));
            assert_eq!(decider.asked.load(Ordering::SeqCst), 2, "{}: asked again", backend.name());
            socket.write_all(b"hello\n").await.unwrap();
            let mut line = [0u8; 6];
            socket.read_exact(&mut line).await.unwrap();
            assert_eq!(&line, b"hello\n");
        });
    });
}

#[test]
fn the_handshake_timeout_keeps_running_while_a_cancelled_decision_is_pending() {
    on_each_backend(|backend| {
        let rt = sslsocket_tests::load::runtime();
        rt.block_on(async {
            let decider = Arc::new(SlowYes { delay: Duration::from_secs(600), asked: 0.into() });
            let Some(mut socket) = deciding_client(&backend, decider.clone()).await else {
                return;
            };
            socket.set_handshake_timeout(Some(Duration::from_secs(1)));
            let port = untrusted_server().await;
            let started = Instant::now();
            let cancelled = tokio::time::timeout(
                Duration::from_millis(200),
                socket.connect_to_host_encrypted("localhost", port),
            )
            .await;
            assert!(cancelled.is_err(), "{}", backend.name());
            let err = tokio::time::timeout(STALL, socket.wait_for_encrypted())
                .await
                .unwrap()
                .unwrap_err();
            println!(
                "{}: the pending decision ended after {:?}: {err}",
                backend.name(),
                started.elapsed()
            );
            assert_eq!(
                err.kind(),
                SocketErrorKind::SocketTimeoutError,
                "{}: {err}",
                backend.name()
            );
            assert_eq!(socket.state(), SocketState::UnconnectedState, "{}", backend.name());
        });
    });
}

#[test]
fn a_connect_cancelled_during_the_host_lookup_goes_on_at_the_next_await() {
    let (ca, id) = localhost();
    on_each_backend(|backend| {
        // A current-thread runtime: the server task cannot run during the one poll, so the
        // connect cannot get past its first wait there. The lookup runs on a blocking thread
        // and is almost never answered within that poll, but on a loaded machine it can be
        // (the thread ran before the handle was polled; once in four tries under load): then
        // that try did not cancel during the lookup, and another is made.
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            for attempt in 1..=20 {
                let (port, _server) =
                    serve_once(Peer::TokioRustls, &backend, &id, |mut stream| async move {
                        stream.write_all(b"hello\n").await?;
                        stream.flush().await
                    })
                    .await;
                let mut socket = AsyncSslSocket::with_backend_handle(backend.clone());
                socket.set_ssl_configuration(client_config(&ca.certificate));
                // Polled once: the lookup starts, and the await is dropped.
                let mut connect = Box::pin(socket.connect_to_host_encrypted("localhost", port));
                let first = poll_fn(|cx| Poll::Ready(connect.as_mut().poll(cx))).await;
                // Even the whole connect can finish within that poll on a loaded machine.
                let finished = match first {
                    Poll::Ready(result) => Some(result),
                    Poll::Pending => None,
                };
                drop(connect);
                let after_poll = socket.state();
                let during_lookup =
                    finished.is_none() && after_poll == SocketState::HostLookupState;
                if let Some(Err(e)) = &finished {
                    panic!("{}: first poll: {e}", backend.name());
                }
                tokio::time::timeout(STALL, socket.wait_for_encrypted())
                    .await
                    .unwrap()
                    .unwrap_or_else(|e| panic!("{}: after the cancel: {e}", backend.name()));
                let mut line = [0u8; 6];
                socket.read_exact(&mut line).await.unwrap();
                assert_eq!(&line, b"hello\n", "{}", backend.name());
                if during_lookup {
                    return;
                }
                println!(
                    "{}: try {attempt}: the lookup had answered already ({after_poll:?} after \
                     the first poll, connect finished: {})",
                    backend.name(),
                    finished.is_some()
                );
            }
            panic!("{}: no try was cancelled during the host lookup", backend.name());
        });
    });
}

/// A listener whose accept queue is full: a connect to it waits (its SYN is dropped and sent
/// again a second later) until the queue has room. Returns the listener and what fills it.
fn full_listener() -> (std::net::TcpListener, Vec<std::net::TcpStream>) {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
    socket.listen(0).unwrap();
    let listener: std::net::TcpListener = socket.into();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..16 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(stream) => fillers.push(stream),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => return (listener, fillers),
            Err(e) => panic!("filling the accept queue: {e}"),
        }
    }
    panic!("the accept queue of a listen(0) socket never filled")
}

#[test]
fn a_connect_cancelled_during_the_tcp_connect_goes_on_at_the_next_await() {
    let (ca, id) = localhost();
    on_each_backend(|backend| {
        let rt = sslsocket_tests::load::runtime();
        let (listener, fillers) = full_listener();
        let port = listener.local_addr().unwrap().port();
        rt.block_on(async {
            let mut socket = AsyncSslSocket::with_backend_handle(backend.clone());
            socket.set_ssl_configuration(client_config(&ca.certificate));
            socket.set_peer_verify_name("localhost");
            let cancelled = tokio::time::timeout(
                Duration::from_millis(300),
                socket.connect_to_host_encrypted("127.0.0.1", port),
            )
            .await;
            assert!(cancelled.is_err(), "{}: the accept queue was full", backend.name());
            assert_eq!(socket.state(), SocketState::ConnectingState, "{}", backend.name());
            // Room in the queue: the fillers go, the server accepts.
            drop(fillers);
            listener.set_nonblocking(true).unwrap();
            let listener = TcpListener::from_std(listener).unwrap();
            let acceptor = TlsAcceptor::from(rustls_server_config(&id));
            tokio::spawn(async move {
                while let Ok((tcp, _)) = listener.accept().await {
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        if let Ok(mut stream) = acceptor.accept(tcp).await {
                            let _ = stream.write_all(b"hello\n").await;
                            let _ = stream.flush().await;
                            let mut rest = Vec::new();
                            let _ = stream.read_to_end(&mut rest).await;
                        }
                    });
                }
            });
            tokio::time::timeout(STALL, socket.wait_for_encrypted())
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("{}: after the cancel: {e}", backend.name()));
            let mut line = [0u8; 6];
            socket.read_exact(&mut line).await.unwrap();
            assert_eq!(&line, b"hello\n", "{}", backend.name());
        });
        thread::yield_now();
    });
}
