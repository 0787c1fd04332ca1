//! Proxies: SOCKS5 (`microsocks`) and HTTP CONNECT (`tinyproxy`), real proxy servers started
//! here on 127.0.0.1, in front of our own server and `openssl s_server`, on every backend and
//! both drivers; then every proxy failure, produced by a real proxy or one scripted here with a
//! std `TcpListener` (garbage, a truncated reply, a 407 loop, a slow drip, a 1 MiB header),
//! each with the time it took.
//!
//! Two tests, two tables (`-- --nocapture` prints them). A cell whose proxy or peer program is
//! not installed is `n/a: microsocks not installed (apt-get install microsocks)`; with
//! `SSLSOCKET_REQUIRE_PEERS=1` it fails (see `sslsocket_tests::peers`).
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use conformance::pki::{Authority, Identity};
use sslsocket::{
    AsyncSslSocket, Error, NetworkProxy, SocketErrorKind, SslBackend, SslCertificate, SslServer,
    SslSocket,
};
use sslsocket_tests::peers::{self, arg, args, Peer, PemDir, PEER_TIMEOUT};
use sslsocket_tests::table::{Cell, Table};
use sslsocket_tests::{backends, client_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TIMEOUT: Duration = Duration::from_secs(10);
/// The proxy negotiation timeout the failure cases run with.
const PROXY_TIMEOUT: Duration = Duration::from_secs(2);
const USER: &str = "proxyuser";
const PASSWORD: &str = "proxy-secret";

// ---- the proxy table ---------------------------------------------------------------------

#[test]
fn every_backend_and_driver_connects_through_socks5_and_http_proxies() {
    let pki = Pki::new();
    let started = Instant::now();
    let ours = our_server(&pki.server);
    let starttls = starttls_server(&pki.server);
    let s_server = s_server(&pki);
    let socks = Proxy::microsocks(false);
    let socks_auth = Proxy::microsocks(true);
    let http = Proxy::tinyproxy(&pki.dir, false);
    let http_auth = Proxy::tinyproxy(&pki.dir, true);
    let mut table = Table::default();
    for backend in backends() {
        for driver in [Driver::Blocking, Driver::Tokio] {
            let targets: [(&str, Result<u16, peers::Missing>); 2] =
                [("our server", Ok(ours)), ("openssl s_server", s_server.port())];
            for (target, port) in &targets {
                let peer = format!("{} / {target}", driver.label());
                for case in Case::ALL {
                    let proxy = match case.proxy() {
                        Kind::Socks => &socks,
                        Kind::SocksAuth => &socks_auth,
                        Kind::Http => &http,
                        Kind::HttpAuth => &http_auth,
                    };
                    let cell = match (proxy.port(), port.clone()) {
                        (Err(missing), _) | (_, Err(missing)) => Cell::PeerMissing(missing),
                        (Ok(proxy_port), Ok(port)) => {
                            run_case(&backend, driver, &pki, case, proxy_port, port)
                                .unwrap_or_else(Cell::Fail)
                        }
                    };
                    table.push(backend.name(), &peer, case.label(), cell);
                }
            }
            let peer = format!("{} / our STARTTLS server", driver.label());
            for (label, proxy, url) in [
                ("STARTTLS through SOCKS5", &socks, "socks5h"),
                ("STARTTLS through HTTP", &http, "http"),
            ] {
                let cell = match proxy.port() {
                    Err(missing) => Cell::PeerMissing(missing),
                    Ok(proxy_port) => {
                        let proxy = NetworkProxy::parse(&format!("{url}://127.0.0.1:{proxy_port}"))
                            .unwrap();
                        let client = Client::new(&backend, driver, &pki.root.certificate, proxy);
                        client.starttls("localhost", starttls).unwrap_or_else(Cell::Fail)
                    }
                };
                table.push(backend.name(), &peer, label, cell);
            }
        }
    }
    let title = format!(
        "proxy: backend x driver / target x case ({:.1} s) — microsocks, tinyproxy {}",
        started.elapsed().as_secs_f64(),
        tinyproxy_version()
    );
    table.report("proxy", &title);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    Socks5NoAuth,
    Socks5AuthGiven,
    Socks5AuthByHandler,
    Socks5WrongPassword,
    Socks5hRemoteResolution,
    Socks5LocalResolution,
    HttpNoAuth,
    HttpBasicAuth,
    Http407ByHandler,
    Http407Refused,
}

enum Kind {
    Socks,
    SocksAuth,
    Http,
    HttpAuth,
}

impl Case {
    const ALL: [Case; 10] = [
        Case::Socks5NoAuth,
        Case::Socks5AuthGiven,
        Case::Socks5AuthByHandler,
        Case::Socks5WrongPassword,
        Case::Socks5hRemoteResolution,
        Case::Socks5LocalResolution,
        Case::HttpNoAuth,
        Case::HttpBasicAuth,
        Case::Http407ByHandler,
        Case::Http407Refused,
    ];

    fn label(self) -> &'static str {
        match self {
            Case::Socks5NoAuth => "SOCKS5, no auth",
            Case::Socks5AuthGiven => "SOCKS5, auth given",
            Case::Socks5AuthByHandler => "SOCKS5, auth asked through the handler",
            Case::Socks5WrongPassword => "SOCKS5, wrong password",
            Case::Socks5hRemoteResolution => "socks5h, remote resolution",
            Case::Socks5LocalResolution => "socks5, name resolved locally",
            Case::HttpNoAuth => "HTTP CONNECT, no auth",
            Case::HttpBasicAuth => "HTTP CONNECT, Basic auth",
            Case::Http407ByHandler => "HTTP 407 answered by the handler",
            Case::Http407Refused => "HTTP 407 refused",
        }
    }

    fn proxy(self) -> Kind {
        match self {
            Case::Socks5NoAuth | Case::Socks5hRemoteResolution | Case::Socks5LocalResolution => {
                Kind::Socks
            }
            Case::Socks5AuthGiven | Case::Socks5AuthByHandler | Case::Socks5WrongPassword => {
                Kind::SocksAuth
            }
            Case::HttpNoAuth => Kind::Http,
            Case::HttpBasicAuth | Case::Http407ByHandler | Case::Http407Refused => Kind::HttpAuth,
        }
    }
}

fn run_case(
    backend: &Arc<dyn SslBackend>,
    driver: Driver,
    pki: &Pki,
    case: Case,
    proxy_port: u16,
    port: u16,
) -> Result<Cell, String> {
    let url = |scheme: &str, credentials: &str| {
        NetworkProxy::parse(&format!("{scheme}://{credentials}127.0.0.1:{proxy_port}")).unwrap()
    };
    let given = format!("{USER}:{PASSWORD}@");
    let wrong = format!("{USER}:not-the-password@");
    let ca = &pki.root.certificate;
    // (proxy, target host, what the handler fills in, expected error, handler calls)
    let (proxy, host, handler, refused, calls) = match case {
        Case::Socks5NoAuth => (url("socks5", ""), "127.0.0.1", None, None, 0),
        Case::Socks5AuthGiven => (url("socks5", &given), "127.0.0.1", None, None, 0),
        Case::Socks5AuthByHandler => (url("socks5", ""), "127.0.0.1", Some(true), None, 1),
        Case::Socks5WrongPassword => (
            url("socks5", &wrong),
            "127.0.0.1",
            Some(true),
            Some(SocketErrorKind::ProxyAuthenticationRequiredError),
            0,
        ),
        Case::Socks5hRemoteResolution => (url("socks5h", ""), "localhost", None, None, 0),
        Case::Socks5LocalResolution => (url("socks5", ""), "localhost", None, None, 0),
        Case::HttpNoAuth => (url("http", ""), "localhost", None, None, 0),
        Case::HttpBasicAuth => (url("http", &given), "localhost", None, None, 0),
        Case::Http407ByHandler => (url("http", ""), "localhost", Some(true), None, 1),
        Case::Http407Refused => (
            url("http", ""),
            "localhost",
            Some(false),
            Some(SocketErrorKind::ProxyAuthenticationRequiredError),
            1,
        ),
    };
    let mut client = Client::new(backend, driver, ca, proxy.clone());
    client.handler = handler;
    let result = client.connect(host, port);
    let asked = client.calls.load(Ordering::SeqCst);
    if asked != calls {
        return Err(format!("the handler was called {asked} times, expected {calls}"));
    }
    match (result, refused) {
        (Ok(fact), None) if fact.starts_with("no reply") => Err(fact),
        (Ok(fact), None) => Ok(Cell::Pass(fact)),
        (Err(err), Some(kind)) if err.kind() == kind => {
            Ok(Cell::Pass(format!("{kind:?}, handler asked {asked}x")))
        }
        (Ok(fact), Some(kind)) => Err(format!("connected ({fact}), expected {kind:?}")),
        (Err(err), _) => Err(format!(
            "{:?}: {} (through {proxy})",
            err.kind(),
            sslsocket::conn::error_chain(&err)
        )),
    }
}

#[test]
fn the_application_proxy_is_the_default_and_no_proxy_goes_direct() {
    let scripts = Scripts::start();
    let direct = TcpListener::bind("127.0.0.1:0").unwrap();
    let direct_port = direct.local_addr().unwrap().port();
    thread::spawn(move || {
        for mut stream in direct.incoming().flatten() {
            let _ = stream.write_all(b"220 direct\r\n");
            thread::sleep(Duration::from_millis(200));
        }
    });
    let proxy = NetworkProxy::parse(&format!("http://127.0.0.1:{}", scripts.banner)).unwrap();
    sslsocket::set_application_proxy(proxy.clone());
    assert_eq!(sslsocket::application_proxy(), proxy);
    let first_line = |set: Option<NetworkProxy>| {
        let mut socket = SslSocket::new();
        if let Some(set) = set {
            socket.set_proxy(set);
        }
        socket.connect_to_host("127.0.0.1", direct_port);
        socket.wait_for_connected(TIMEOUT).unwrap();
        let line = read_line_blocking(&mut socket).unwrap();
        (line, socket.connect_proxy().cloned())
    };
    let through = first_line(None);
    let alone = first_line(Some(NetworkProxy::no_proxy()));
    sslsocket::set_application_proxy(NetworkProxy::no_proxy());
    let after = first_line(None);
    assert_eq!(through, ("220 banner in the proxy's segment\r\n".to_owned(), Some(proxy)));
    assert_eq!(alone, ("220 direct\r\n".to_owned(), None));
    assert_eq!(after, ("220 direct\r\n".to_owned(), None));
}

// ---- the failure table -------------------------------------------------------------------

#[test]
fn every_proxy_failure_is_typed_and_bounded_on_every_backend_and_driver() {
    let pki = Pki::new();
    let started = Instant::now();
    let ours = our_server(&pki.server);
    let socks = Proxy::microsocks(false);
    let closed_port = peers::free_port();
    let scripts = Scripts::start();
    let mut table = Table::default();
    for backend in backends() {
        for driver in [Driver::Blocking, Driver::Tokio] {
            let failures: Vec<(&str, Result<String, peers::Missing>, SocketErrorKind, Target)> = vec![
                (
                    "proxy refuses the TCP connection",
                    Ok(format!("socks5h://127.0.0.1:{closed_port}")),
                    SocketErrorKind::ProxyConnectionRefusedError,
                    Target::Ours,
                ),
                (
                    "proxy host does not resolve",
                    Ok("http://proxy.invalid:3128".into()),
                    SocketErrorKind::ProxyNotFoundError,
                    Target::Ours,
                ),
                (
                    "SOCKS5 reply truncated, then close",
                    Ok(format!("socks5://127.0.0.1:{}", scripts.truncated)),
                    SocketErrorKind::ProxyConnectionClosedError,
                    Target::Ours,
                ),
                (
                    "proxy silent",
                    Ok(format!("http://127.0.0.1:{}", scripts.silent)),
                    SocketErrorKind::ProxyConnectionTimeoutError,
                    Target::Ours,
                ),
                (
                    "HTTP reply dripping a byte per 100 ms",
                    Ok(format!("http://127.0.0.1:{}", scripts.drip)),
                    SocketErrorKind::ProxyConnectionTimeoutError,
                    Target::Ours,
                ),
                (
                    "SOCKS5 proxy answering garbage",
                    Ok(format!("socks5h://127.0.0.1:{}", scripts.garbage)),
                    SocketErrorKind::ProxyProtocolError,
                    Target::Ours,
                ),
                (
                    "HTTP proxy answering garbage",
                    Ok(format!("http://127.0.0.1:{}", scripts.garbage)),
                    SocketErrorKind::ProxyProtocolError,
                    Target::Ours,
                ),
                (
                    "HTTP 403",
                    Ok(format!("http://127.0.0.1:{}", scripts.forbidden)),
                    SocketErrorKind::ProxyProtocolError,
                    Target::Ours,
                ),
                (
                    "HTTP 1 MiB header",
                    Ok(format!("http://127.0.0.1:{}", scripts.huge)),
                    SocketErrorKind::ProxyProtocolError,
                    Target::Ours,
                ),
                (
                    "HTTP 407 loop (handler gives credentials)",
                    Ok(format!("http://127.0.0.1:{}", scripts.auth_loop)),
                    SocketErrorKind::ProxyAuthenticationRequiredError,
                    Target::Ours,
                ),
                (
                    "SOCKS5 0x05: target refused (microsocks)",
                    socks.port().map(|p| format!("socks5://127.0.0.1:{p}")),
                    SocketErrorKind::ConnectionRefusedError,
                    Target::Closed(closed_port),
                ),
                (
                    "socks5:// sends the address looked up here",
                    Ok(format!("socks5://127.0.0.1:{}", scripts.atyp)),
                    SocketErrorKind::ConnectionRefusedError,
                    Target::Ours,
                ),
                (
                    "socks5h:// sends the name",
                    Ok(format!("socks5h://127.0.0.1:{}", scripts.atyp)),
                    SocketErrorKind::HostNotFoundError,
                    Target::Ours,
                ),
                (
                    "socks5:// target name not found here",
                    // Nothing listens there: the lookup fails before the proxy is dialled.
                    Ok(format!("socks5://127.0.0.1:{closed_port}")),
                    SocketErrorKind::HostNotFoundError,
                    Target::Unresolvable,
                ),
                (
                    "SOCKS5 0x04: host unreachable",
                    Ok(format!("socks5h://127.0.0.1:{}", scripts.unreachable)),
                    SocketErrorKind::HostNotFoundError,
                    Target::Ours,
                ),
            ];
            for (label, url, expected, target) in failures {
                let cell = match url {
                    Err(missing) => Cell::PeerMissing(missing),
                    Ok(url) => {
                        let (host, port) = match target {
                            Target::Ours => ("localhost", ours),
                            Target::Closed(port) => ("localhost", port),
                            Target::Unresolvable => ("target.invalid", ours),
                        };
                        failure_case(&backend, driver, &pki, &url, host, port, expected)
                            .unwrap_or_else(Cell::Fail)
                    }
                };
                table.push(backend.name(), driver.label(), label, cell);
            }
            let url = format!("http://127.0.0.1:{}", scripts.banner);
            let cell = leftover_case(&backend, driver, &pki, &url).unwrap_or_else(Cell::Fail);
            table.push(
                backend.name(),
                driver.label(),
                "bytes after the reply are the target's",
                cell,
            );
        }
    }
    let loops = scripts.auth_loop_connections.load(Ordering::SeqCst);
    let runs = 2 * backends().len();
    if loops != 2 * runs {
        table.push(
            "-",
            "-",
            "407 loop: two connections per run",
            Cell::Fail(format!("{loops} connections for {runs} runs")),
        );
    }
    let title = format!(
        "proxy failures: backend x driver x failure, with the time each took (proxy timeout \
         {PROXY_TIMEOUT:?}; {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    table.report("proxy failures", &title);
}

#[derive(Clone, Copy)]
enum Target {
    Ours,
    Closed(u16),
    Unresolvable,
}

fn failure_case(
    backend: &Arc<dyn SslBackend>,
    driver: Driver,
    pki: &Pki,
    url: &str,
    host: &str,
    port: u16,
    expected: SocketErrorKind,
) -> Result<Cell, String> {
    let mut client =
        Client::new(backend, driver, &pki.root.certificate, NetworkProxy::parse(url).unwrap());
    client.handler = Some(true);
    let started = Instant::now();
    let result = client.connect(host, port);
    let took = started.elapsed();
    let bound = PROXY_TIMEOUT + Duration::from_secs(1);
    match result {
        Ok(fact) => Err(format!("connected ({fact}), expected {expected:?}")),
        Err(err) if err.kind() == expected && took < bound => {
            Ok(Cell::Pass(format!("{expected:?} in {} ms", took.as_millis())))
        }
        Err(err) => Err(format!(
            "{:?} after {} ms (expected {expected:?} within {bound:?}): {}",
            err.kind(),
            took.as_millis(),
            sslsocket::conn::error_chain(&err)
        )),
    }
}

/// A scripted proxy sends its `200` and the target's banner in one write: the banner is the
/// target's first bytes, read by the client after `Connected`.
fn leftover_case(
    backend: &Arc<dyn SslBackend>,
    driver: Driver,
    pki: &Pki,
    url: &str,
) -> Result<Cell, String> {
    let client =
        Client::new(backend, driver, &pki.root.certificate, NetworkProxy::parse(url).unwrap());
    let line = client.plain_first_line("localhost", 25).map_err(|e| e.to_string())?;
    if line == "220 banner in the proxy's segment\r\n" {
        Ok(Cell::Pass(format!("read {:?}", line.trim_end())))
    } else {
        Err(format!("read {line:?}"))
    }
}

// ---- the client, on either driver -----------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Driver {
    Blocking,
    Tokio,
}

impl Driver {
    fn label(self) -> &'static str {
        match self {
            Driver::Blocking => "SslSocket",
            Driver::Tokio => "AsyncSslSocket",
        }
    }
}

struct Client {
    backend: Arc<dyn SslBackend>,
    driver: Driver,
    ca: SslCertificate,
    proxy: NetworkProxy,
    /// The handler: `Some(true)` fills in the right credentials, `Some(false)` declines.
    handler: Option<bool>,
    calls: Arc<AtomicUsize>,
}

const REQUEST: &[u8] = b"GET / HTTP/1.0\r\n\r\n";

impl Client {
    fn new(
        backend: &Arc<dyn SslBackend>,
        driver: Driver,
        ca: &SslCertificate,
        proxy: NetworkProxy,
    ) -> Client {
        Client {
            backend: backend.clone(),
            driver,
            ca: ca.clone(),
            proxy,
            handler: None,
            calls: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn blocking(&self) -> SslSocket {
        let mut socket = SslSocket::with_backend_handle(self.backend.clone());
        socket.set_ssl_configuration(client_config(&self.ca));
        socket.set_proxy(self.proxy.clone());
        socket.set_proxy_timeout(Some(PROXY_TIMEOUT));
        if let Some(fill) = self.handler {
            let calls = self.calls.clone();
            socket.set_proxy_authentication_handler(move |_, auth| {
                calls.fetch_add(1, Ordering::SeqCst);
                if fill {
                    auth.set_user(USER);
                    auth.set_password(PASSWORD);
                }
            });
        }
        socket
    }

    fn tokio(&self) -> AsyncSslSocket {
        let mut socket = AsyncSslSocket::with_backend_handle(self.backend.clone());
        socket.set_ssl_configuration(client_config(&self.ca));
        socket.set_proxy(self.proxy.clone());
        socket.set_proxy_timeout(Some(PROXY_TIMEOUT));
        if let Some(fill) = self.handler {
            let calls = self.calls.clone();
            socket.set_proxy_authentication_handler(move |_, auth| {
                calls.fetch_add(1, Ordering::SeqCst);
                if fill {
                    auth.set_user(USER);
                    auth.set_password(PASSWORD);
                }
            });
        }
        socket
    }

    /// An encrypted connect to `host:port` through the proxy, verifying the target as
    /// `localhost`, then one HTTP exchange. Returns what was checked.
    fn connect(&self, host: &str, port: u16) -> Result<String, Error> {
        match self.driver {
            Driver::Blocking => {
                let mut socket = self.blocking();
                socket.connect_to_host_encrypted_with_peer_name(host, port, "localhost");
                socket.wait_for_encrypted(TIMEOUT)?;
                let protocol = socket.session_protocol();
                socket.write_all(REQUEST).map_err(io_error)?;
                let mut reply = Vec::new();
                let _ = socket.read_to_end(&mut reply);
                Ok(describe(
                    socket.connection(),
                    protocol,
                    &reply,
                    host,
                    port,
                    socket.peer_address(),
                ))
            }
            Driver::Tokio => runtime().block_on(async {
                let mut socket = self.tokio();
                let connecting =
                    socket.connect_to_host_encrypted_with_peer_name(host, port, "localhost");
                within(connecting).await?;
                let protocol = socket.session_protocol();
                socket.write_all(REQUEST).await.map_err(io_error)?;
                socket.flush().await.map_err(io_error)?;
                let mut reply = Vec::new();
                let _ = tokio::time::timeout(TIMEOUT, socket.read_to_end(&mut reply)).await;
                Ok(describe(
                    socket.connection(),
                    protocol,
                    &reply,
                    host,
                    port,
                    socket.peer_address(),
                ))
            }),
        }
    }

    /// STARTTLS through the proxy: banner, `STARTTLS`, its answer, the client handshake.
    fn starttls(&self, host: &str, port: u16) -> Result<Cell, String> {
        let text = |e: Error| sslsocket::conn::error_chain(&e);
        let fact = match self.driver {
            Driver::Blocking => {
                let mut socket = self.blocking();
                socket.connect_to_host(host, port);
                socket.wait_for_connected(TIMEOUT).map_err(text)?;
                expect_line(&read_line_blocking(&mut socket).map_err(text)?, "220 ready")?;
                socket.write_all(b"STARTTLS\r\n").map_err(|e| e.to_string())?;
                expect_line(&read_line_blocking(&mut socket).map_err(text)?, "220 go ahead")?;
                socket.set_peer_verify_name("localhost");
                socket.start_client_encryption();
                socket.wait_for_encrypted(TIMEOUT).map_err(text)?;
                let protocol = socket.session_protocol();
                socket.write_all(REQUEST).map_err(|e| e.to_string())?;
                let mut reply = Vec::new();
                let _ = socket.read_to_end(&mut reply);
                describe(socket.connection(), protocol, &reply, host, port, socket.peer_address())
            }
            Driver::Tokio => runtime().block_on(async {
                let mut socket = self.tokio();
                within(socket.connect_to_host(host, port)).await.map_err(text)?;
                expect_line(&read_line_async(&mut socket).await?, "220 ready")?;
                socket.write_all(b"STARTTLS\r\n").await.map_err(|e| e.to_string())?;
                socket.flush().await.map_err(|e| e.to_string())?;
                expect_line(&read_line_async(&mut socket).await?, "220 go ahead")?;
                socket.set_peer_verify_name("localhost");
                within(socket.start_client_encryption()).await.map_err(text)?;
                let protocol = socket.session_protocol();
                socket.write_all(REQUEST).await.map_err(|e| e.to_string())?;
                socket.flush().await.map_err(|e| e.to_string())?;
                let mut reply = Vec::new();
                let _ = tokio::time::timeout(TIMEOUT, socket.read_to_end(&mut reply)).await;
                Ok::<String, String>(describe(
                    socket.connection(),
                    protocol,
                    &reply,
                    host,
                    port,
                    socket.peer_address(),
                ))
            })?,
        };
        if fact.contains("no reply") {
            return Err(fact);
        }
        Ok(Cell::Pass(fact))
    }

    /// A plain connect through the proxy and the first line the target sends.
    fn plain_first_line(&self, host: &str, port: u16) -> Result<String, String> {
        let text = |e: Error| sslsocket::conn::error_chain(&e);
        match self.driver {
            Driver::Blocking => {
                let mut socket = self.blocking();
                socket.connect_to_host(host, port);
                socket.wait_for_connected(TIMEOUT).map_err(text)?;
                read_line_blocking(&mut socket).map_err(text)
            }
            Driver::Tokio => runtime().block_on(async {
                let mut socket = self.tokio();
                within(socket.connect_to_host(host, port)).await.map_err(text)?;
                read_line_async(&mut socket).await
            }),
        }
    }
}

fn describe(
    socket: &sslsocket::Connection,
    protocol: sslsocket::SslProtocol,
    reply: &[u8],
    host: &str,
    port: u16,
    peer: Option<std::net::SocketAddr>,
) -> String {
    let reply = String::from_utf8_lossy(reply);
    let answered = reply.to_ascii_lowercase().contains("200 ok");
    // The target's address, as Qt reports it: known when it was given as one, or looked up
    // here (socks5://); a name the proxy resolved has none.
    let local = socket.connect_proxy().is_some_and(|p| !p.remote_dns());
    let peer_ok = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => peer == Some(std::net::SocketAddr::new(ip, port)),
        Err(_) if local => peer.is_some_and(|a| a.ip().is_loopback() && a.port() == port),
        Err(_) => peer.is_none(),
    };
    let verified = socket.ssl_handshake_errors().is_empty()
        && socket.peer_verify_name() == Some("localhost")
        && socket.peer_certificate().is_some();
    if !answered || !peer_ok || !verified {
        return format!(
            "no reply or wrong facts: answered {answered}, peer_address {peer:?}, verified \
             {verified}"
        );
    }
    if protocol == sslsocket::SslProtocol::UnknownProtocol
        && !socket.backend().features().contains(sslsocket::Feature::SessionProtocol)
    {
        return format!(
            "verified as localhost; {} does not report the protocol",
            socket.backend().name()
        );
    }
    format!("{protocol:?}, verified as localhost")
}

fn expect_line(line: &str, want: &str) -> Result<(), String> {
    if line.trim_end() == want {
        Ok(())
    } else {
        Err(format!("read {line:?}, expected {want:?}"))
    }
}

fn read_line_blocking(socket: &mut SslSocket) -> Result<String, Error> {
    let deadline = Instant::now() + TIMEOUT;
    while !socket.can_read_line() {
        socket.wait_for_ready_read(deadline.saturating_duration_since(Instant::now()))?;
    }
    Ok(String::from_utf8_lossy(&socket.read_line().unwrap_or_default()).into_owned())
}

async fn read_line_async(socket: &mut AsyncSslSocket) -> Result<String, String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\n") && line.len() < 1024 {
        match tokio::time::timeout(TIMEOUT, socket.read(&mut byte)).await {
            Ok(Ok(1)) => line.push(byte[0]),
            Ok(Ok(_)) => return Err(format!("end of stream after {line:?}")),
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err("no line in time".into()),
        }
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

async fn within(future: impl std::future::Future<Output = Result<(), Error>>) -> Result<(), Error> {
    match tokio::time::timeout(TIMEOUT, future).await {
        Ok(result) => result,
        Err(_) => Err(Error::Timeout { operation: "test" }),
    }
}

fn io_error(e: std::io::Error) -> Error {
    Error::from_io_ref(&e).cloned().unwrap_or_else(|| Error::io(e))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

// ---- the targets ------------------------------------------------------------------------------

struct Pki {
    dir: PemDir,
    root: Authority,
    server: Identity,
}

impl Pki {
    fn new() -> Pki {
        let root = Authority::root("proxy test root");
        let server = root.leaf(&["localhost"]);
        Pki { dir: PemDir::new(), root, server }
    }
}

/// Our own server: answers one HTTP request per connection. Runs until the test ends.
fn our_server(identity: &Identity) -> u16 {
    let mut server = SslServer::new().unwrap();
    server.set_ssl_configuration(identity.server_config());
    server.listen("127.0.0.1:0").unwrap();
    let port = server.local_address().unwrap().port();
    thread::spawn(move || {
        while let Ok(socket) = server.accept() {
            thread::spawn(move || answer(socket));
        }
    });
    port
}

fn answer(mut socket: SslSocket) {
    let mut request = Vec::new();
    let mut buf = [0u8; 256];
    while !request.ends_with(b"\r\n\r\n") && request.len() < 4096 {
        match socket.read(&mut buf) {
            Ok(n) if n > 0 => request.extend_from_slice(&buf[..n]),
            _ => return,
        }
    }
    let _ = socket.write_all(b"HTTP/1.0 200 ok\r\n\r\nhello through the proxy\r\n");
    socket.disconnect_from_host();
    let _ = socket.wait_for_disconnected(TIMEOUT);
}

/// A plain-text server with STARTTLS: `220 ready`, then `STARTTLS` → `220 go ahead` and the
/// server handshake, then one HTTP answer.
fn starttls_server(identity: &Identity) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = identity.server_config();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = config.clone();
            thread::spawn(move || {
                let mut socket = SslSocket::new();
                socket.set_ssl_configuration(config);
                if socket.set_socket_descriptor(stream).is_err() {
                    return;
                }
                let _ = socket.write_all(b"220 ready\r\n");
                if !read_line_blocking(&mut socket).is_ok_and(|l| l.trim_end() == "STARTTLS") {
                    return;
                }
                let _ = socket.write_all(b"220 go ahead\r\n");
                let _ = socket.flush();
                socket.start_server_encryption();
                if socket.wait_for_encrypted(TIMEOUT).is_ok() {
                    answer(socket);
                }
            });
        }
    });
    port
}

struct SServer {
    peer: Result<(Peer, u16), peers::Missing>,
}

impl SServer {
    fn port(&self) -> Result<u16, peers::Missing> {
        match &self.peer {
            Ok((_, port)) => Ok(*port),
            Err(missing) => Err(missing.clone()),
        }
    }
}

fn s_server(pki: &Pki) -> SServer {
    if let Err(missing) = peers::locate("openssl") {
        return SServer { peer: Err(missing) };
    }
    let files = pki.dir.identity("server", &pki.server);
    let (cert, key) = (arg(&files.cert), arg(&files.key));
    let peer = peers::spawn_server(
        "openssl",
        |port| {
            let port = port.to_string();
            args(&[
                "s_server", "-accept", &port, "-cert", &cert, "-key", &key, "-www", "-naccept",
                "1000",
            ])
        },
        "ACCEPT",
        pki.dir.path(),
    )
    .unwrap();
    SServer { peer: Ok(peer) }
}

// ---- the real proxies ---------------------------------------------------------------------

struct Proxy {
    process: Result<(Peer, u16), peers::Missing>,
}

impl Proxy {
    fn port(&self) -> Result<u16, peers::Missing> {
        match &self.process {
            Ok((_, port)) => Ok(*port),
            Err(missing) => Err(missing.clone()),
        }
    }

    fn microsocks(auth: bool) -> Proxy {
        if let Err(missing) = peers::locate("microsocks") {
            return Proxy { process: Err(missing) };
        }
        for _ in 0..3 {
            let port = peers::free_port();
            let mut list = vec!["-i".to_owned(), "127.0.0.1".into(), "-p".into(), port.to_string()];
            if auth {
                list.extend(args(&["-u", USER, "-P", PASSWORD]));
            }
            let peer = Peer::spawn("microsocks", &list, std::path::Path::new("/")).unwrap();
            if accepts(port) {
                return Proxy { process: Ok((peer, port)) };
            }
        }
        panic!("microsocks never listened");
    }

    fn tinyproxy(dir: &PemDir, auth: bool) -> Proxy {
        if let Err(missing) = peers::locate("tinyproxy") {
            return Proxy { process: Err(missing) };
        }
        let name = if auth { "tinyproxy-auth.conf" } else { "tinyproxy.conf" };
        let (peer, port) = peers::spawn_server(
            "tinyproxy",
            |port| {
                let mut conf = format!(
                    "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 64\nLogLevel Info\n"
                );
                if auth {
                    conf.push_str(&format!("BasicAuth {USER} {PASSWORD}\n"));
                }
                let path = dir.write(name, &conf);
                args(&["-d", "-c", &arg(&path)])
            },
            "Accepting connections",
            dir.path(),
        )
        .unwrap();
        Proxy { process: Ok((peer, port)) }
    }
}

fn accepts(port: u16) -> bool {
    let deadline = Instant::now() + PEER_TIMEOUT;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    false
}

fn tinyproxy_version() -> String {
    std::process::Command::new("tinyproxy")
        .arg("-v")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|_| "not installed".into())
}

// ---- scripted hostile proxies -----------------------------------------------------------------

struct Scripts {
    truncated: u16,
    silent: u16,
    drip: u16,
    garbage: u16,
    forbidden: u16,
    huge: u16,
    auth_loop: u16,
    auth_loop_connections: Arc<AtomicUsize>,
    unreachable: u16,
    banner: u16,
    /// Answers a request naming an IPv4 address with 0x05, anything else with 0x04.
    atyp: u16,
}

impl Scripts {
    fn start() -> Scripts {
        let auth_loop_connections = Arc::new(AtomicUsize::new(0));
        let counter = auth_loop_connections.clone();
        Scripts {
            truncated: scripted(|mut s| {
                let _ = read_some(&mut s);
                let _ = s.write_all(&[5, 0]);
                let _ = read_some(&mut s);
                let _ = s.write_all(&[5, 0, 0]);
            }),
            silent: scripted(|mut s| {
                let _ = read_some(&mut s);
                thread::sleep(PROXY_TIMEOUT * 3);
            }),
            drip: scripted(|mut s| {
                let _ = read_some(&mut s);
                let drip = b"HTTP/1.1 200 OK\r\nX-Drip: ".iter().chain(std::iter::repeat(&b'a'));
                for byte in drip.take(100) {
                    if s.write_all(&[*byte]).is_err() {
                        return;
                    }
                    thread::sleep(Duration::from_millis(100));
                }
            }),
            garbage: scripted(|mut s| {
                let _ = read_some(&mut s);
                let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2\r\n\r\n");
                thread::sleep(Duration::from_millis(500));
            }),
            forbidden: scripted(|mut s| {
                let _ = read_some(&mut s);
                let _ = s.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
                thread::sleep(Duration::from_millis(500));
            }),
            huge: scripted(|mut s| {
                let _ = read_some(&mut s);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nX-Huge: ");
                let chunk = vec![b'a'; 64 * 1024];
                for _ in 0..16 {
                    if s.write_all(&chunk).is_err() {
                        return;
                    }
                }
                let _ = s.write_all(b"\r\n\r\n");
            }),
            auth_loop: scripted(move |mut s| {
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = read_some(&mut s);
                let _ = s.write_all(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                      Proxy-Authenticate: Basic realm=\"loop\"\r\nContent-Length: 0\r\n\r\n",
                );
                thread::sleep(Duration::from_millis(500));
            }),
            auth_loop_connections,
            unreachable: scripted(|mut s| {
                let _ = read_some(&mut s);
                let _ = s.write_all(&[5, 0]);
                let _ = read_some(&mut s);
                let _ = s.write_all(&[5, 4, 0, 1, 0, 0, 0, 0, 0, 0]);
                thread::sleep(Duration::from_millis(500));
            }),
            atyp: scripted(|mut s| {
                let _ = read_some(&mut s);
                let _ = s.write_all(&[5, 0]);
                let mut request = [0u8; 4];
                let _ = s.read_exact(&mut request);
                let code = if request[3] == 1 { 5 } else { 4 };
                let _ = s.write_all(&[5, code, 0, 1, 0, 0, 0, 0, 0, 0]);
                thread::sleep(Duration::from_millis(500));
            }),
            banner: scripted(|mut s| {
                let _ = read_some(&mut s);
                let _ = s.write_all(
                    b"HTTP/1.1 200 Connection established\r\n\r\n220 banner in the proxy's segment\r\n",
                );
                thread::sleep(Duration::from_millis(500));
            }),
        }
    }
}

/// A proxy that runs `script` on each connection, in a thread of its own.
fn scripted(script: impl Fn(TcpStream) + Send + Sync + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = Arc::new(script);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let script = script.clone();
            thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(TIMEOUT));
                script(stream);
            });
        }
    });
    port
}

fn read_some(stream: &mut TcpStream) -> std::io::Result<usize> {
    let mut buf = [0u8; 4096];
    stream.read(&mut buf)
}
