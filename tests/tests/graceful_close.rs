//! A graceful close delivers every byte: 4 MiB written, `disconnect_from_host` +
//! `wait_for_disconnected` (tokio: `shutdown().await`), the socket dropped, and a peer nobody
//! here wrote reads all of it up to the close_notify, with no connection reset.
//!
//! The peers talk TLS 1.3 and send something before they read (session tickets, and a short
//! message the socket never reads): data left unread when the socket closes makes the kernel
//! answer with a reset, which throws away what the peer had not read yet.
//!
//! Our client against a raw rustls server, a raw OpenSSL server (`openssl` crate) and
//! `openssl s_server`; our server against a raw rustls client and a raw OpenSSL client. Each
//! cell runs [`TRIES`] times per backend and driver; the table of figures is printed
//! (`-- --nocapture`) and every cell must show no reset and every byte.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use conformance::pki::{Authority, Identity};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use sha2::{Digest, Sha256};
use sslsocket::{SslBackend, SslCertificate, SslServer, SslSocket};
use sslsocket_tests::peers::{self, PemDir};
use sslsocket_tests::{backends, client_config};

const SIZE: usize = 4 * 1024 * 1024;
const TRIES: usize = 50;
const TIMEOUT: Duration = Duration::from_secs(10);
/// What the peer sends before it reads, and the socket never reads.
const GREETING: &[u8] = b"hello from the peer, before it reads\n";

#[test]
fn our_client_closing_gracefully_delivers_every_byte_to_peers_nobody_here_wrote() {
    let pki = Pki::new();
    let started = Instant::now();
    let mut rows = Vec::new();
    for backend in backends() {
        for driver in DRIVERS {
            for peer in ServerPeer::ALL {
                let mut row = Row::new(backend.name(), driver, peer.label());
                if let Some(reason) = peer.unavailable() {
                    row.na = Some(reason);
                    rows.push(row);
                    continue;
                }
                for _ in 0..TRIES {
                    row.add(client_try(&backend, driver, peer, &pki));
                }
                rows.push(row);
            }
        }
    }
    report("our client → peer", started, &rows);
}

#[test]
fn our_server_closing_gracefully_delivers_every_byte_to_clients_nobody_here_wrote() {
    let pki = Pki::new();
    let started = Instant::now();
    let mut rows = Vec::new();
    for backend in backends() {
        for driver in DRIVERS {
            for peer in ClientPeer::ALL {
                // A native server negotiates at most TLS 1.2 (native-tls's OpenSSL server
                // preset disables 1.3): the cell runs at TLS 1.2 and says so.
                let tls13 = backend.name() != "native";
                let label = if tls13 {
                    peer.label().to_owned()
                } else {
                    format!("{} (TLS 1.2: native servers cannot do 1.3)", peer.label())
                };
                let mut row = Row::new(backend.name(), driver, &label);
                if let Some(reason) = peer.unavailable() {
                    row.na = Some(reason);
                    rows.push(row);
                    continue;
                }
                let server = OurServer::start(&backend, driver, &pki.server);
                for _ in 0..TRIES {
                    row.add(server_try(&server, peer, &pki, tls13));
                }
                server.stop();
                rows.push(row);
            }
        }
    }
    report("peer → our server", started, &rows);
}

// ---- one try ---------------------------------------------------------------------------------

/// What one try saw.
#[derive(Default)]
struct Try {
    received: usize,
    intact: bool,
    reset: bool,
    /// What went wrong on our side, or on the peer's other than a reset.
    problem: Option<String>,
}

/// What a peer that read the stream saw.
struct Received {
    bytes: usize,
    hash: [u8; 32],
    reset: bool,
    error: Option<String>,
}

impl Received {
    fn from_read(mut read: impl FnMut(&mut [u8]) -> io::Result<usize>) -> Received {
        let mut hasher = Sha256::new();
        let mut bytes = 0;
        let mut buf = vec![0u8; 64 * 1024];
        let (reset, error) = loop {
            match read(&mut buf) {
                Ok(0) => break (false, None),
                Ok(n) => {
                    hasher.update(&buf[..n]);
                    bytes += n;
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    break (true, Some(format!("reset after {bytes} bytes")))
                }
                Err(e) => break (false, Some(format!("after {bytes} bytes: {e}"))),
            }
        };
        Received { bytes, hash: hasher.finalize().into(), reset, error }
    }

    fn judge(self, ours: Result<(), String>, expected: &[u8; 32]) -> Try {
        let intact = self.bytes == SIZE && &self.hash == expected;
        let problem = match (ours, self.error) {
            (Err(e), _) => Some(format!("ours: {e}")),
            (Ok(()), Some(e)) => Some(format!("peer: {e}")),
            (Ok(()), None) if !intact => {
                Some(format!("peer: clean end after {} of {SIZE} bytes", self.bytes))
            }
            (Ok(()), None) => None,
        };
        Try { received: self.bytes, intact, reset: self.reset, problem }
    }
}

fn client_try(backend: &Arc<dyn SslBackend>, driver: &str, peer: ServerPeer, pki: &Pki) -> Try {
    let (port, reader) = match peer.start(pki) {
        Ok(started) => started,
        Err(e) => {
            return Try { problem: Some(format!("peer did not start: {e}")), ..Try::default() }
        }
    };
    let ours = our_client_sends(backend, driver, port, &pki.root.certificate, &pki.payload);
    match reader.join() {
        Ok(received) => received.judge(ours, &pki.hash),
        Err(_) => Try { problem: Some("the peer's thread panicked".into()), ..Try::default() },
    }
}

fn server_try(server: &OurServer, peer: ClientPeer, pki: &Pki, tls13: bool) -> Try {
    let received = match peer.read_from(server.port, pki, tls13) {
        Ok(received) => received,
        Err(e) => return Try { problem: Some(format!("client: {e}")), ..Try::default() },
    };
    let ours = server
        .results
        .recv_timeout(TIMEOUT)
        .unwrap_or_else(|_| Err("our server reported nothing".into()));
    received.judge(ours, &pki.hash)
}

// ---- our side --------------------------------------------------------------------------------

#[cfg(feature = "tokio")]
const DRIVERS: [&str; 2] = ["blocking", "tokio"];
#[cfg(not(feature = "tokio"))]
const DRIVERS: [&str; 1] = ["blocking"];

/// Our client: connect, write everything, close gracefully, drop.
fn our_client_sends(
    backend: &Arc<dyn SslBackend>,
    driver: &str,
    port: u16,
    ca: &SslCertificate,
    payload: &[u8],
) -> Result<(), String> {
    if driver == "blocking" {
        let mut socket = SslSocket::with_backend_handle(backend.clone());
        socket.set_ssl_configuration(client_config(ca));
        socket.set_read_timeout(Some(TIMEOUT));
        socket.set_write_timeout(Some(TIMEOUT));
        socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");
        socket.wait_for_encrypted(TIMEOUT).map_err(|e| format!("handshake: {e:?}"))?;
        socket.write_all(payload).map_err(|e| format!("write_all: {e}"))?;
        blocking_close(socket)
    } else {
        tokio_client_sends(backend, port, ca, payload)
    }
}

fn blocking_close(mut socket: SslSocket) -> Result<(), String> {
    socket.disconnect_from_host();
    let closed = socket.wait_for_disconnected(Duration::from_secs(5));
    drop(socket);
    closed.map_err(|e| format!("wait_for_disconnected: {e:?}"))
}

#[cfg(feature = "tokio")]
fn tokio_client_sends(
    backend: &Arc<dyn SslBackend>,
    port: u16,
    ca: &SslCertificate,
    payload: &[u8],
) -> Result<(), String> {
    use tokio::io::AsyncWriteExt;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut socket = sslsocket::AsyncSslSocket::with_backend_handle(backend.clone());
        socket.set_ssl_configuration(client_config(ca));
        let work = async {
            socket
                .connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost")
                .await
                .map_err(|e| format!("handshake: {e:?}"))?;
            socket.write_all(payload).await.map_err(|e| format!("write_all: {e}"))?;
            socket.shutdown().await.map_err(|e| format!("shutdown: {e}"))
        };
        let result = tokio::time::timeout(TIMEOUT, work)
            .await
            .unwrap_or_else(|_| Err(format!("not done in {TIMEOUT:?}")));
        drop(socket);
        result
    })
}

#[cfg(not(feature = "tokio"))]
fn tokio_client_sends(
    _: &Arc<dyn SslBackend>,
    _: u16,
    _: &SslCertificate,
    _: &[u8],
) -> Result<(), String> {
    unreachable!("no tokio driver in this build")
}

/// Our server on one backend and driver: every accepted client gets the payload, then a
/// graceful close; each connection's result comes back on `results`.
struct OurServer {
    port: u16,
    results: std::sync::mpsc::Receiver<Result<(), String>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: JoinHandle<()>,
}

impl OurServer {
    fn start(backend: &Arc<dyn SslBackend>, driver: &str, identity: &Identity) -> OurServer {
        use std::sync::atomic::{AtomicBool, Ordering};
        let (tx, results) = std::sync::mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let payload = Arc::new(payload());
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let backend = backend.clone();
        let config = identity.server_config();
        let stopping = stop.clone();
        let thread = if driver == "blocking" {
            thread::spawn(move || {
                let mut server = SslServer::with_backend_handle(backend);
                server.set_ssl_configuration(config);
                server.set_handshake_timeout(TIMEOUT);
                server.listen("127.0.0.1:0").unwrap();
                port_tx.send(server.local_address().unwrap().port()).unwrap();
                while !stopping.load(Ordering::SeqCst) {
                    let result = match server.accept_next(Some(Duration::from_millis(200))) {
                        Ok(sslsocket::Accepted::Encrypted(socket)) => {
                            let mut socket = *socket;
                            socket.set_write_timeout(Some(TIMEOUT));
                            socket
                                .write_all(&payload)
                                .map_err(|e| format!("write_all: {e}"))
                                .and_then(|()| blocking_close(socket))
                        }
                        Ok(sslsocket::Accepted::Failed(f)) => Err(format!("handshake: {f:?}")),
                        Err(_) => continue, // no client yet
                    };
                    let _ = tx.send(result);
                }
            })
        } else {
            #[cfg(feature = "tokio")]
            {
                thread::spawn(move || {
                    use tokio::io::AsyncWriteExt;
                    let rt =
                        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                    rt.block_on(async move {
                        let mut server = sslsocket::AsyncSslServer::with_backend_handle(backend);
                        server.set_ssl_configuration(config);
                        server.set_handshake_timeout(TIMEOUT);
                        server.bind("127.0.0.1:0").await.unwrap();
                        port_tx.send(server.local_address().unwrap().port()).unwrap();
                        while !stopping.load(Ordering::SeqCst) {
                            let next = tokio::time::timeout(
                                Duration::from_millis(200),
                                server.accept_next(),
                            );
                            let result = match next.await {
                                Ok(Ok(sslsocket::AsyncAccepted::Encrypted(socket))) => {
                                    let mut socket = *socket;
                                    let work = async {
                                        socket
                                            .write_all(&payload)
                                            .await
                                            .map_err(|e| format!("write_all: {e}"))?;
                                        socket
                                            .shutdown()
                                            .await
                                            .map_err(|e| format!("shutdown: {e}"))
                                    };
                                    let r = tokio::time::timeout(TIMEOUT, work)
                                        .await
                                        .unwrap_or_else(|_| Err("not done in time".into()));
                                    drop(socket);
                                    r
                                }
                                Ok(Ok(sslsocket::AsyncAccepted::Failed(f))) => {
                                    Err(format!("handshake: {f:?}"))
                                }
                                Ok(Err(e)) => Err(format!("accept: {e:?}")),
                                Err(_) => continue, // no client yet
                            };
                            let _ = tx.send(result);
                        }
                    });
                })
            }
            #[cfg(not(feature = "tokio"))]
            unreachable!("no tokio driver in this build")
        };
        let port = port_rx.recv_timeout(TIMEOUT).expect("our server listens");
        OurServer { port, results, stop, thread }
    }

    fn stop(self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = self.thread.join();
    }
}

// ---- the peers -------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum ServerPeer {
    Rustls,
    OpenSslCrate,
    SServer,
}

impl ServerPeer {
    const ALL: [ServerPeer; 3] =
        [ServerPeer::Rustls, ServerPeer::OpenSslCrate, ServerPeer::SServer];

    fn label(self) -> &'static str {
        match self {
            ServerPeer::Rustls => "rustls ServerConnection (StreamOwned)",
            ServerPeer::OpenSslCrate => "openssl crate SslStream (server)",
            ServerPeer::SServer => "openssl s_server",
        }
    }

    fn unavailable(self) -> Option<String> {
        match self {
            ServerPeer::Rustls => None,
            ServerPeer::OpenSslCrate => {
                if cfg!(any(feature = "openssl", feature = "native")) {
                    None
                } else {
                    Some("built without the openssl crate (features openssl / native)".into())
                }
            }
            ServerPeer::SServer => missing_program("openssl"),
        }
    }

    /// Starts the peer for one connection; the thread returns what it read.
    fn start(self, pki: &Pki) -> Result<(u16, JoinHandle<Received>), String> {
        match self {
            ServerPeer::Rustls => {
                let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
                let port = listener.local_addr().map_err(|e| e.to_string())?.port();
                let config = pki.rustls_server.clone();
                Ok((port, thread::spawn(move || rustls_server_reads(&listener, config))))
            }
            ServerPeer::OpenSslCrate => openssl_peer::server(pki),
            ServerPeer::SServer => s_server(pki),
        }
    }
}

fn rustls_server_reads(listener: &TcpListener, config: Arc<rustls::ServerConfig>) -> Received {
    let failed = |e: String| Received { bytes: 0, hash: [0; 32], reset: false, error: Some(e) };
    let Ok((tcp, _)) = listener.accept() else { return failed("accept".into()) };
    let _ = tcp.set_read_timeout(Some(TIMEOUT));
    let conn = rustls::ServerConnection::new(config).unwrap();
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    // The handshake, then the session tickets (rustls sends them at once) and a greeting,
    // before reading anything.
    if let Err(e) = stream.write_all(GREETING).and_then(|()| stream.flush()) {
        return failed(format!("greeting: {e}"));
    }
    let received = Received::from_read(|buf| stream.read(buf));
    stream.conn.send_close_notify();
    let _ = stream.flush();
    received
}

#[derive(Clone, Copy)]
enum ClientPeer {
    Rustls,
    OpenSslCrate,
}

impl ClientPeer {
    const ALL: [ClientPeer; 2] = [ClientPeer::Rustls, ClientPeer::OpenSslCrate];

    fn label(self) -> &'static str {
        match self {
            ClientPeer::Rustls => "rustls ClientConnection (StreamOwned)",
            ClientPeer::OpenSslCrate => "openssl crate SslStream (client)",
        }
    }

    fn unavailable(self) -> Option<String> {
        match self {
            ClientPeer::Rustls => None,
            ClientPeer::OpenSslCrate => ServerPeer::OpenSslCrate.unavailable(),
        }
    }

    /// Connects, sends the greeting, reads everything.
    fn read_from(self, port: u16, pki: &Pki, tls13: bool) -> Result<Received, String> {
        match self {
            ClientPeer::Rustls => {
                let config = if tls13 { &pki.rustls_client13 } else { &pki.rustls_client12 };
                let tcp = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
                tcp.set_read_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
                let name = ServerName::try_from("localhost").unwrap();
                let conn = rustls::ClientConnection::new(config.clone(), name).unwrap();
                let mut stream = rustls::StreamOwned::new(conn, tcp);
                stream.write_all(GREETING).map_err(|e| format!("greeting: {e}"))?;
                stream.flush().map_err(|e| format!("greeting: {e}"))?;
                let received = Received::from_read(|buf| stream.read(buf));
                stream.conn.send_close_notify();
                let _ = stream.flush();
                Ok(received)
            }
            ClientPeer::OpenSslCrate => openssl_peer::client(port, pki, tls13),
        }
    }
}

#[cfg(any(feature = "openssl", feature = "native"))]
mod openssl_peer {
    use std::io::{self, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::thread::{self, JoinHandle};

    use openssl::pkey::PKey;
    use openssl::ssl::{SslAcceptor, SslConnector, SslMethod, SslVersion};
    use openssl::x509::X509;

    use super::{Pki, Received, GREETING, TIMEOUT};

    pub(super) fn server(pki: &Pki) -> Result<(u16, JoinHandle<Received>), String> {
        let mut builder =
            SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).map_err(s)?;
        builder.set_min_proto_version(Some(SslVersion::TLS1_3)).map_err(s)?;
        let key = PKey::private_key_from_pem(pki.server.key_pem.as_bytes()).map_err(s)?;
        builder.set_private_key(&key).map_err(s)?;
        let mut chain = pki.server.chain.iter();
        let leaf = X509::from_der(chain.next().unwrap().to_der()).map_err(s)?;
        builder.set_certificate(&leaf).map_err(s)?;
        for cert in chain {
            builder.add_extra_chain_cert(X509::from_der(cert.to_der()).map_err(s)?).map_err(s)?;
        }
        let acceptor = builder.build();
        let listener = TcpListener::bind("127.0.0.1:0").map_err(s)?;
        let port = listener.local_addr().map_err(s)?.port();
        Ok((
            port,
            thread::spawn(move || {
                let failed =
                    |e: String| Received { bytes: 0, hash: [0; 32], reset: false, error: Some(e) };
                let Ok((tcp, _)) = listener.accept() else { return failed("accept".into()) };
                let _ = tcp.set_read_timeout(Some(TIMEOUT));
                let mut stream = match acceptor.accept(tcp) {
                    Ok(stream) => stream,
                    Err(e) => return failed(format!("handshake: {e}")),
                };
                // OpenSSL sent its two session tickets with the handshake; then a greeting.
                if let Err(e) = stream.write_all(GREETING) {
                    return failed(format!("greeting: {e}"));
                }
                let received = Received::from_read(|buf| stream.read(buf));
                let _ = stream.shutdown();
                received
            }),
        ))
    }

    pub(super) fn client(port: u16, pki: &Pki, tls13: bool) -> Result<Received, String> {
        let mut builder = SslConnector::builder(SslMethod::tls_client()).map_err(s)?;
        let version = if tls13 { SslVersion::TLS1_3 } else { SslVersion::TLS1_2 };
        builder.set_min_proto_version(Some(version)).map_err(s)?;
        builder.set_max_proto_version(Some(version)).map_err(s)?;
        let ca = X509::from_der(pki.root.certificate.to_der()).map_err(s)?;
        builder.cert_store_mut().add_cert(ca).map_err(s)?;
        let connector = builder.build();
        let tcp = TcpStream::connect(("127.0.0.1", port)).map_err(s)?;
        tcp.set_read_timeout(Some(TIMEOUT)).map_err(s)?;
        let mut stream = connector.connect("localhost", tcp).map_err(s)?;
        stream.write_all(GREETING).map_err(|e| format!("greeting: {e}"))?;
        let received = Received::from_read(|buf| stream.read(buf));
        let _ = stream.shutdown();
        Ok(received)
    }

    fn s(e: impl std::fmt::Display) -> String {
        e.to_string()
    }

    // Keeps `io` in use when only one of the functions above is.
    #[allow(dead_code)]
    fn _io(_: io::ErrorKind) {}
}

#[cfg(not(any(feature = "openssl", feature = "native")))]
mod openssl_peer {
    use std::thread::JoinHandle;

    use super::{Pki, Received};

    pub(super) fn server(_: &Pki) -> Result<(u16, JoinHandle<Received>), String> {
        unreachable!("reported n/a before")
    }

    pub(super) fn client(_: u16, _: &Pki, _: bool) -> Result<Received, String> {
        unreachable!("reported n/a before")
    }
}

/// `openssl s_server` for one connection (`-naccept 1`), TLS 1.3, printing only what it
/// receives (`-quiet`). Its stdin stays open and holds the greeting it sends first.
fn s_server(pki: &Pki) -> Result<(u16, JoinHandle<Received>), String> {
    let program = peers::find("openssl")?;
    let port = peers::free_port();
    let mut child = Command::new(program)
        .args(["s_server", "-quiet", "-naccept", "1", "-tls1_3", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(&pki.files.cert)
        .arg("-key")
        .arg(&pki.files.key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start openssl s_server: {e}"))?;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(GREETING).map_err(|e| e.to_string())?;
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let errors = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    // -quiet prints nothing when it listens: wait until the port is in LISTEN.
    let deadline = Instant::now() + peers::PEER_TIMEOUT;
    while !listening(port) {
        if Instant::now() > deadline || child.try_wait().ok().flatten().is_some() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("s_server did not listen: {}", errors.join().unwrap_or_default()));
        }
        thread::sleep(Duration::from_millis(5));
    }
    Ok((
        port,
        thread::spawn(move || {
            let mut received = Received::from_read(|buf| stdout.read(buf));
            drop(stdin);
            let status = child.wait();
            let text = errors.join().unwrap_or_default();
            let lower = text.to_lowercase();
            if lower.contains("reset") || lower.contains("errno=104") {
                received.reset = true;
            }
            if received.reset || lower.contains("error") || !status.is_ok_and(|s| s.success()) {
                received.error = Some(format!("s_server: {}", text.trim()));
            }
            received
        }),
    ))
}

/// Whether something listens on 127.0.0.1:`port` (Linux: /proc/net/tcp, state 0A).
fn listening(port: u16) -> bool {
    let wanted = format!("0100007F:{port:04X}");
    std::fs::read_to_string("/proc/net/tcp").is_ok_and(|table| {
        table.lines().skip(1).any(|line| {
            let mut fields = line.split_whitespace().skip(1);
            fields.next() == Some(wanted.as_str()) && fields.nth(1) == Some("0A")
        })
    })
}

/// `n/a` for a program that is not installed, unless SSLSOCKET_REQUIRE_PEERS=1 (then a
/// missing program fails the test).
fn missing_program(program: &str) -> Option<String> {
    match peers::find(program) {
        Ok(_) => None,
        Err(e) if std::env::var("SSLSOCKET_REQUIRE_PEERS").as_deref() == Ok("1") => {
            panic!("{e} (SSLSOCKET_REQUIRE_PEERS=1)")
        }
        Err(_) => Some(format!("n/a: {program} not installed")),
    }
}

// ---- certificates and figures ----------------------------------------------------------------

struct Pki {
    root: Authority,
    server: Identity,
    _dir: PemDir,
    files: peers::IdentityFiles,
    rustls_server: Arc<rustls::ServerConfig>,
    rustls_client13: Arc<rustls::ClientConfig>,
    rustls_client12: Arc<rustls::ClientConfig>,
    payload: Vec<u8>,
    hash: [u8; 32],
}

impl Pki {
    fn new() -> Pki {
        let root = Authority::root("graceful close root");
        let server = root.leaf(&["localhost"]);
        let dir = PemDir::new();
        let files = dir.identity("server", &server);
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let chain: Vec<CertificateDer<'static>> =
            server.chain.iter().map(|c| CertificateDer::from(c.to_der().to_vec())).collect();
        let key = PrivateKeyDer::from_pem_slice(server.key_pem.as_bytes()).unwrap();
        let rustls_server = Arc::new(
            rustls::ServerConfig::builder_with_provider(provider.clone())
                .with_protocol_versions(&[&rustls::version::TLS13])
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .unwrap(),
        );
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from(root.certificate.to_der().to_vec())).unwrap();
        let client = |version: &'static rustls::SupportedProtocolVersion| {
            Arc::new(
                rustls::ClientConfig::builder_with_provider(provider.clone())
                    .with_protocol_versions(&[version])
                    .unwrap()
                    .with_root_certificates(roots.clone())
                    .with_no_client_auth(),
            )
        };
        let payload = payload();
        let hash = Sha256::digest(&payload).into();
        Pki {
            rustls_client13: client(&rustls::version::TLS13),
            rustls_client12: client(&rustls::version::TLS12),
            root,
            server,
            _dir: dir,
            files,
            rustls_server,
            payload,
            hash,
        }
    }
}

fn payload() -> Vec<u8> {
    (0..SIZE).map(|i| (i.wrapping_mul(31) >> 3) as u8).collect()
}

/// The figures of one (backend, driver, peer) cell.
struct Row {
    backend: String,
    driver: &'static str,
    peer: String,
    na: Option<String>,
    tries: usize,
    bytes: u64,
    resets: usize,
    damaged: usize,
    problems: Vec<String>,
}

impl Row {
    fn new(backend: &str, driver: &'static str, peer: &str) -> Row {
        Row {
            backend: backend.to_owned(),
            driver,
            peer: peer.to_owned(),
            na: None,
            tries: 0,
            bytes: 0,
            resets: 0,
            damaged: 0,
            problems: Vec::new(),
        }
    }

    fn add(&mut self, t: Try) {
        self.tries += 1;
        self.bytes += t.received as u64;
        self.resets += usize::from(t.reset);
        self.damaged += usize::from(!t.intact);
        if let Some(problem) = t.problem {
            self.problems.push(problem);
        }
    }

    fn failed(&self) -> bool {
        self.resets > 0 || self.damaged > 0 || !self.problems.is_empty()
    }
}

fn report(title: &str, started: Instant, rows: &[Row]) {
    println!("\n{title}: {SIZE} bytes per try, {:.1} s", started.elapsed().as_secs_f64());
    println!(
        "{:<8} {:<9} {:<58} {:>5} {:>12} {:>6} {:>7} {:>8}",
        "backend", "driver", "peer", "tries", "bytes", "resets", "damaged", "problems"
    );
    for r in rows {
        match &r.na {
            Some(reason) => println!("{:<8} {:<9} {:<58} {reason}", r.backend, r.driver, r.peer),
            None => println!(
                "{:<8} {:<9} {:<58} {:>5} {:>12} {:>6} {:>7} {:>8}",
                r.backend,
                r.driver,
                r.peer,
                r.tries,
                r.bytes,
                r.resets,
                r.damaged,
                r.problems.len()
            ),
        }
    }
    let failed: Vec<String> = rows
        .iter()
        .filter(|r| r.failed())
        .map(|r| {
            format!(
                "{}/{} vs {}: {} resets, {} of {} tries damaged; first problems: {:?}",
                r.driver,
                r.backend,
                r.peer,
                r.resets,
                r.damaged,
                r.tries,
                &r.problems[..r.problems.len().min(3)]
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{title}: {} cell(s) lost data:\n{}",
        failed.len(),
        failed.join("\n")
    );
}
