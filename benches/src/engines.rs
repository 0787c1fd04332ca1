//! The engines under test, behind one small interface per driver kind, so that every metric
//! runs the same client and server code over the raw engine and over sslsocket.
//!
//! Blocking: [`Connector`] / [`Acceptor`] give [`Conn`]s whose handshake is complete.
//! Raw: rustls `StreamOwned`, openssl `SslStream`, native-tls `TlsStream`, plain `TcpStream`.
//! Ours: `SslSocket` (client) and `SslServer` (server).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use sslsocket::{
    KeyFormat, PeerVerifyMode, SslBackend, SslCertificate, SslCipher, SslConfiguration, SslKey,
    SslProtocol, SslServer, SslSocket,
};

use crate::pki::Pki;

/// The TLS 1.3 suite the benchmarks ask for by default.
pub const DEFAULT_CIPHER: &str = "TLS_AES_128_GCM_SHA256";

/// How long a connect or accept may take before the benchmark gives up.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// A backend: an engine, used raw and through sslsocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// rustls 0.23 with aws-lc-rs.
    Rustls,
    /// The system's OpenSSL through the `openssl` crate.
    Openssl,
    /// native-tls (OpenSSL on Linux).
    Native,
}

impl Backend {
    /// Every backend compiled into this binary, in sslsocket's preference order.
    #[must_use]
    // One push per compiled-in backend, each behind its feature.
    #[allow(unused_mut, clippy::vec_init_then_push)]
    pub fn compiled() -> Vec<Backend> {
        let mut list = Vec::new();
        #[cfg(feature = "rustls")]
        list.push(Backend::Rustls);
        #[cfg(feature = "openssl")]
        list.push(Backend::Openssl);
        #[cfg(feature = "native")]
        list.push(Backend::Native);
        list
    }

    /// sslsocket's name for the backend.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Backend::Rustls => "rustls",
            Backend::Openssl => "openssl",
            Backend::Native => "native",
        }
    }

    /// The backend called `name`, if compiled in.
    #[must_use]
    pub fn parse(name: &str) -> Option<Backend> {
        Backend::compiled().into_iter().find(|b| b.name() == name)
    }

    /// Whether the backend can choose the cipher suite and the protocol (native-tls cannot:
    /// it negotiates its defaults, TLS 1.2 on a Linux server).
    #[must_use]
    pub fn chooses_suite(self) -> bool {
        self != Backend::Native
    }

    /// Whether sslsocket's backend resumes sessions on the client (`Feature::SessionTicket`).
    #[must_use]
    pub fn resumes(self) -> bool {
        sslsocket::registry::backend(self.name())
            .is_ok_and(|b| b.features().contains(sslsocket::Feature::SessionTicket))
    }

    /// sslsocket's handle on the backend.
    ///
    /// # Errors
    /// When it is not compiled in or unusable.
    pub fn handle(self) -> io::Result<Arc<dyn SslBackend>> {
        sslsocket::registry::backend(self.name()).map_err(io::Error::from)
    }
}

/// Raw engine or sslsocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The engine's own stream type.
    Raw,
    /// sslsocket over the same engine.
    Ours,
}

/// Blocking std sockets or tokio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Driver {
    /// std::net and blocking streams.
    Blocking,
    /// tokio (a current-thread runtime per side).
    Tokio,
}

impl Driver {
    /// The name used in the report.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Driver::Blocking => "blocking",
            Driver::Tokio => "tokio",
        }
    }

    /// Every driver compiled into this binary.
    #[must_use]
    pub fn compiled() -> Vec<Driver> {
        let mut list = vec![Driver::Blocking];
        if cfg!(feature = "tokio") {
            list.push(Driver::Tokio);
        }
        list
    }
}

/// What every engine is configured from: the PKI and the TLS 1.3 suite.
#[derive(Debug, Clone)]
pub struct Env {
    /// Certificates and key.
    pub pki: Pki,
    /// The TLS 1.3 suite (IANA name) for backends that can choose one.
    pub cipher: String,
}

pub(crate) fn other(err: impl std::fmt::Display) -> io::Error {
    io::Error::other(err.to_string())
}

impl Env {
    /// A fresh PKI and the default suite.
    ///
    /// # Errors
    /// When certificate generation fails.
    pub fn new(cipher: &str) -> io::Result<Env> {
        Ok(Env { pki: Pki::generate()?, cipher: cipher.to_owned() })
    }

    fn ours_common(&self, backend: Backend) -> io::Result<SslConfiguration> {
        let mut config =
            SslConfiguration { system_ca_certificates: false, ..SslConfiguration::default() };
        if backend.chooses_suite() {
            config.protocol = SslProtocol::TlsV1_3;
            let cipher = SslCipher::from_iana_name(&self.cipher)
                .ok_or_else(|| other(format!("unknown cipher {}", self.cipher)))?;
            config.ciphers = vec![cipher];
        }
        Ok(config)
    }

    /// sslsocket's client configuration: the CA as the only trust anchor, TLS 1.3 and the
    /// suite where the backend can choose, the backend's defaults otherwise.
    ///
    /// # Errors
    /// When the certificate does not parse or the suite is unknown.
    pub fn ours_client(&self, backend: Backend) -> io::Result<SslConfiguration> {
        let mut config = self.ours_common(backend)?;
        config.ca_certificates = vec![SslCertificate::from_der(&self.pki.ca_der).map_err(other)?];
        config.peer_verify_mode = PeerVerifyMode::VerifyPeer;
        Ok(config)
    }

    /// sslsocket's server configuration: the leaf and its key, no client certificate request
    /// (as the raw servers), TLS 1.3 and the suite where the backend can choose.
    ///
    /// # Errors
    /// When the certificate or key does not parse or the suite is unknown.
    pub fn ours_server(&self, backend: Backend) -> io::Result<SslConfiguration> {
        let mut config = self.ours_common(backend)?;
        config.local_certificate_chain =
            vec![SslCertificate::from_der(&self.pki.leaf_der).map_err(other)?];
        config.private_key =
            Some(SslKey::private_key_from_der(&self.pki.key_der, KeyFormat::Pkcs8).map_err(other)?);
        config.peer_verify_mode = PeerVerifyMode::VerifyNone;
        Ok(config)
    }
}

// ---- blocking interface ------------------------------------------------------------------

/// An established connection (handshake done).
pub trait Conn: Read + Write + Send {
    /// Closes gracefully where the engine can (close_notify), best effort.
    fn close(&mut self);
}

/// Makes client connections.
pub trait Connector: Send + Sync {
    /// A new TCP connection to `addr` with a completed handshake, verifying the server as
    /// `name` (also sent as SNI).
    ///
    /// # Errors
    /// Connect and handshake errors.
    fn connect(&self, addr: SocketAddr, name: &str) -> io::Result<Box<dyn Conn>>;
}

/// Accepts server connections.
pub trait Acceptor: Send {
    /// Where it listens.
    fn local_addr(&self) -> SocketAddr;
    /// The next connection, its handshake complete.
    ///
    /// # Errors
    /// Accept and handshake errors.
    fn accept(&mut self) -> io::Result<Box<dyn Conn>>;
}

fn listen() -> io::Result<TcpListener> {
    TcpListener::bind("127.0.0.1:0")
}

fn tcp_connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let tcp = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

fn tcp_accept(listener: &TcpListener) -> io::Result<TcpStream> {
    let (tcp, _) = listener.accept()?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

/// The client and server of one engine for blocking sockets.
///
/// # Errors
/// Configuration errors, or a backend that is not compiled in.
pub fn blocking_connector(
    backend: Option<Backend>,
    kind: Kind,
    env: &Env,
) -> io::Result<Box<dyn Connector>> {
    let Some(backend) = backend else { return Ok(Box::new(PlainConnector)) };
    match kind {
        Kind::Ours => Ok(Box::new(OursConnector {
            backend: backend.handle()?,
            config: env.ours_client(backend)?,
        })),
        Kind::Raw => raw_blocking_connector(backend, env),
    }
}

/// The server side matching [`blocking_connector`], listening on a fresh loopback port.
///
/// # Errors
/// Configuration and bind errors.
pub fn blocking_acceptor(
    backend: Option<Backend>,
    kind: Kind,
    env: &Env,
) -> io::Result<Box<dyn Acceptor>> {
    let Some(backend) = backend else { return Ok(Box::new(PlainAcceptor(listen()?))) };
    match kind {
        Kind::Ours if ours_server_is_socket() => Ok(Box::new(OursSocketAcceptor {
            listener: listen()?,
            backend: backend.handle()?,
            config: env.ours_server(backend)?,
        })),
        Kind::Ours => {
            let mut server = SslServer::with_backend_handle(backend.handle()?);
            server.set_ssl_configuration(env.ours_server(backend)?);
            server.listen("127.0.0.1:0").map_err(io::Error::from)?;
            let addr = server.local_address().ok_or_else(|| other("server has no address"))?;
            Ok(Box::new(OursAcceptor { server, addr }))
        }
        Kind::Raw => raw_blocking_acceptor(backend, env),
    }
}

#[allow(unreachable_patterns)]
fn raw_blocking_connector(backend: Backend, env: &Env) -> io::Result<Box<dyn Connector>> {
    match backend {
        #[cfg(feature = "rustls")]
        Backend::Rustls => Ok(Box::new(raw_rustls::Client(raw_rustls::client_config(env)?))),
        #[cfg(feature = "openssl")]
        Backend::Openssl => Ok(Box::new(raw_openssl::Client(raw_openssl::client_context(env)?))),
        #[cfg(feature = "native")]
        Backend::Native => Ok(Box::new(raw_native::Client(raw_native::connector(env)?))),
        _ => Err(other(format!("{} is not compiled in", backend.name()))),
    }
}

#[allow(unreachable_patterns)]
fn raw_blocking_acceptor(backend: Backend, env: &Env) -> io::Result<Box<dyn Acceptor>> {
    let listener = listen()?;
    match backend {
        #[cfg(feature = "rustls")]
        Backend::Rustls => {
            Ok(Box::new(raw_rustls::Server { listener, config: raw_rustls::server_config(env)? }))
        }
        #[cfg(feature = "openssl")]
        Backend::Openssl => Ok(Box::new(raw_openssl::Server {
            listener,
            context: raw_openssl::server_context(env)?,
        })),
        #[cfg(feature = "native")]
        Backend::Native => {
            Ok(Box::new(raw_native::Server { listener, acceptor: raw_native::acceptor(env)? }))
        }
        _ => Err(other(format!("{} is not compiled in", backend.name()))),
    }
}

// ---- plain TCP (the loopback ceiling) ------------------------------------------------------

impl Conn for TcpStream {
    fn close(&mut self) {
        let _ = self.shutdown(Shutdown::Write);
    }
}

struct PlainConnector;

impl Connector for PlainConnector {
    fn connect(&self, addr: SocketAddr, _name: &str) -> io::Result<Box<dyn Conn>> {
        Ok(Box::new(tcp_connect(addr)?))
    }
}

struct PlainAcceptor(TcpListener);

impl Acceptor for PlainAcceptor {
    fn local_addr(&self) -> SocketAddr {
        self.0.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    fn accept(&mut self) -> io::Result<Box<dyn Conn>> {
        Ok(Box::new(tcp_accept(&self.0)?))
    }
}

// ---- sslsocket, blocking -------------------------------------------------------------------

impl Conn for SslSocket {
    fn close(&mut self) {
        self.disconnect_from_host();
        let _ = self.wait_for_disconnected(CLOSE_WAIT);
    }
}

/// How long a close waits for the peer's.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// The rest of a raw blocking side's close once its close_notify is written, done as
/// sslsocket's blocking socket closes (ARCHITECTURE.md, "A graceful close loses nothing"):
/// our end of stream, then reads through `tls` until the peer's close_notify or end of stream
/// (at most [`CLOSE_WAIT`]), so that the descriptor is closed only when the peer has finished
/// and no reset can reach it. Both sides of a comparison then do the same work on the wire;
/// a raw close that does not wait saves that round trip (benches/README.md says how much).
fn finish_close<T: Read>(tls: &mut T, tcp: impl Fn(&T) -> &TcpStream) {
    let _ = tcp(tls).shutdown(Shutdown::Write);
    let _ = tcp(tls).set_read_timeout(Some(CLOSE_WAIT));
    let mut sink = [0u8; 256];
    while matches!(tls.read(&mut sink), Ok(n) if n > 0) {}
}

struct OursConnector {
    backend: Arc<dyn SslBackend>,
    config: SslConfiguration,
}

impl Connector for OursConnector {
    fn connect(&self, addr: SocketAddr, name: &str) -> io::Result<Box<dyn Conn>> {
        let mut socket = SslSocket::with_backend_handle(self.backend.clone());
        socket.set_ssl_configuration(self.config.clone());
        socket.connect_to_host_encrypted_with_peer_name(&addr.ip().to_string(), addr.port(), name);
        socket.wait_for_encrypted(IO_TIMEOUT).map_err(io::Error::from)?;
        Ok(Box::new(socket))
    }
}

struct OursAcceptor {
    server: SslServer,
    addr: SocketAddr,
}

impl Acceptor for OursAcceptor {
    fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    fn accept(&mut self) -> io::Result<Box<dyn Conn>> {
        match self.server.accept_next(Some(IO_TIMEOUT)).map_err(io::Error::from)? {
            sslsocket::Accepted::Encrypted(socket) => Ok(socket),
            sslsocket::Accepted::Failed(failure) => Err(io::Error::from(failure.error)),
        }
    }
}

/// The environment variable that makes the blocking "ours" server a diagnostic variant:
/// `socket` accepts TCP itself (with TCP_NODELAY, as the raw servers), then hands the stream
/// to `SslSocket::set_socket_descriptor` and runs `start_server_encryption` on the accepting
/// thread, instead of `SslServer` (no TCP_NODELAY, one thread per handshake).
pub const OURS_SERVER_ENV: &str = "SSLSOCKET_BENCH_OURS_SERVER";

fn ours_server_is_socket() -> bool {
    std::env::var(OURS_SERVER_ENV).is_ok_and(|v| v == "socket")
}

struct OursSocketAcceptor {
    listener: TcpListener,
    backend: Arc<dyn SslBackend>,
    config: SslConfiguration,
}

impl Acceptor for OursSocketAcceptor {
    fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    fn accept(&mut self) -> io::Result<Box<dyn Conn>> {
        let tcp = tcp_accept(&self.listener)?;
        let mut socket = SslSocket::with_backend_handle(self.backend.clone());
        socket.set_ssl_configuration(self.config.clone());
        socket.set_socket_descriptor(tcp).map_err(io::Error::from)?;
        socket.start_server_encryption();
        socket.wait_for_encrypted(IO_TIMEOUT).map_err(io::Error::from)?;
        Ok(Box::new(socket))
    }
}

// ---- raw rustls ----------------------------------------------------------------------------

/// rustls configured as backend-rustls configures it: the aws-lc-rs provider's defaults (key
/// exchange groups included: X25519MLKEM768 first) with its suites narrowed to the one asked
/// for, TLS 1.3 only, the CA as the only root, default client session cache, and on the
/// server a stateless ticketer plus rustls's default stateful cache.
#[cfg(feature = "rustls")]
pub mod raw_rustls {
    use std::io;
    use std::net::{SocketAddr, TcpListener};
    use std::sync::Arc;

    use rustls::crypto::{aws_lc_rs, CryptoProvider};
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
    use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
    use rustls::{StreamOwned, SupportedCipherSuite};

    use super::{other, tcp_accept, tcp_connect, Acceptor, Conn, Connector, Env};

    /// Resumed handshakes seen by raw rustls clients (`[client, server]`), for the resumption
    /// probe.
    pub static RESUMED: [std::sync::atomic::AtomicU64; 2] =
        [std::sync::atomic::AtomicU64::new(0), std::sync::atomic::AtomicU64::new(0)];

    fn note(side: usize, kind: Option<rustls::HandshakeKind>) {
        if kind == Some(rustls::HandshakeKind::Resumed) {
            RESUMED[side].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// The aws-lc-rs provider with only `env.cipher`.
    ///
    /// # Errors
    /// When the provider lacks the suite.
    pub fn provider(env: &Env) -> io::Result<Arc<CryptoProvider>> {
        let mut provider = aws_lc_rs::default_provider();
        let wanted = env.cipher.strip_prefix("TLS_").unwrap_or(&env.cipher);
        let suites: Vec<SupportedCipherSuite> = provider
            .cipher_suites
            .iter()
            .copied()
            .filter(|s| {
                s.suite().as_str().is_some_and(|n| n.strip_prefix("TLS13_") == Some(wanted))
            })
            .collect();
        if suites.is_empty() {
            return Err(other(format!("rustls has no TLS 1.3 suite {}", env.cipher)));
        }
        provider.cipher_suites = suites;
        Ok(Arc::new(provider))
    }

    /// The client configuration.
    ///
    /// # Errors
    /// Configuration errors.
    pub fn client_config(env: &Env) -> io::Result<Arc<ClientConfig>> {
        let mut roots = RootCertStore::empty();
        roots.add(CertificateDer::from(env.pki.ca_der.clone())).map_err(other)?;
        let config = ClientConfig::builder_with_provider(provider(env)?)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(other)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }

    /// The server configuration.
    ///
    /// # Errors
    /// Configuration errors.
    pub fn server_config(env: &Env) -> io::Result<Arc<ServerConfig>> {
        let chain = vec![CertificateDer::from(env.pki.leaf_der.clone())];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(env.pki.key_der.clone()));
        let mut config = ServerConfig::builder_with_provider(provider(env)?)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(other)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(other)?;
        config.ticketer = aws_lc_rs::Ticketer::new().map_err(other)?;
        Ok(Arc::new(config))
    }

    impl Conn for StreamOwned<ClientConnection, std::net::TcpStream> {
        fn close(&mut self) {
            self.conn.send_close_notify();
            while self.conn.wants_write() {
                if self.conn.write_tls(&mut self.sock).is_err() {
                    break;
                }
            }
            super::finish_close(self, |s| &s.sock);
        }
    }

    impl Conn for StreamOwned<ServerConnection, std::net::TcpStream> {
        fn close(&mut self) {
            self.conn.send_close_notify();
            while self.conn.wants_write() {
                if self.conn.write_tls(&mut self.sock).is_err() {
                    break;
                }
            }
            super::finish_close(self, |s| &s.sock);
        }
    }

    /// `ClientConnection` + `StreamOwned`, handshake driven with `complete_io`.
    #[derive(Debug)]
    pub struct Client(pub Arc<ClientConfig>);

    impl Connector for Client {
        fn connect(&self, addr: SocketAddr, name: &str) -> io::Result<Box<dyn Conn>> {
            let mut tcp = tcp_connect(addr)?;
            let name = ServerName::try_from(name.to_owned()).map_err(other)?;
            let mut conn = ClientConnection::new(self.0.clone(), name).map_err(other)?;
            while conn.is_handshaking() {
                conn.complete_io(&mut tcp)?;
            }
            note(0, conn.handshake_kind());
            Ok(Box::new(StreamOwned::new(conn, tcp)))
        }
    }

    /// `ServerConnection` + `StreamOwned` on a std listener.
    #[derive(Debug)]
    pub struct Server {
        /// The listener.
        pub listener: TcpListener,
        /// The shared configuration.
        pub config: Arc<ServerConfig>,
    }

    impl Acceptor for Server {
        fn local_addr(&self) -> SocketAddr {
            self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
        }

        fn accept(&mut self) -> io::Result<Box<dyn Conn>> {
            let mut tcp = tcp_accept(&self.listener)?;
            let mut conn = ServerConnection::new(self.config.clone()).map_err(other)?;
            while conn.is_handshaking() {
                conn.complete_io(&mut tcp)?;
            }
            note(1, conn.handshake_kind());
            Ok(Box::new(StreamOwned::new(conn, tcp)))
        }
    }
}

// ---- raw OpenSSL ---------------------------------------------------------------------------

/// OpenSSL configured as backend-openssl configures it: `SSL_CTX` per role, TLS 1.3 only with
/// the one suite, library-default groups, the CA as the only trust anchor with host name
/// checks, a server session cache with tickets, and a client that offers the last session
/// its context was given for the server name (`SSL_set_session`), as OpenSSL users resume.
#[cfg(feature = "openssl")]
pub mod raw_openssl {
    use std::collections::HashMap;
    use std::io;
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::sync::{Arc, Mutex, PoisonError};

    use openssl::pkey::PKey;
    use openssl::ssl::{
        NameType, Ssl, SslContext, SslContextBuilder, SslMethod, SslRef, SslSession,
        SslSessionCacheMode, SslStream, SslVerifyMode, SslVersion,
    };
    use openssl::x509::store::X509StoreBuilder;
    use openssl::x509::verify::X509CheckFlags;
    use openssl::x509::X509;

    use super::{other, tcp_accept, tcp_connect, Acceptor, Conn, Connector, Env};

    fn common(method: SslMethod, env: &Env) -> io::Result<SslContextBuilder> {
        let mut builder = SslContextBuilder::new(method).map_err(other)?;
        builder.set_min_proto_version(Some(SslVersion::TLS1_3)).map_err(other)?;
        builder.set_max_proto_version(Some(SslVersion::TLS1_3)).map_err(other)?;
        builder.set_ciphersuites(&env.cipher).map_err(other)?;
        Ok(builder)
    }

    /// Resumed handshakes seen by raw OpenSSL servers (blocking), for the resumption probe.
    pub static RESUMED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

    /// Server names whose last session a [`ClientContext`] keeps; one more empties it.
    const MAX_NAMES: usize = 256;

    /// The client `SSL_CTX` and the last session its connections were given per server name,
    /// from its new-session callback (TLS 1.3 tickets arrive after the handshake).
    #[derive(Clone)]
    pub struct ClientContext {
        context: SslContext,
        sessions: Arc<Mutex<HashMap<String, SslSession>>>,
    }

    impl std::fmt::Debug for ClientContext {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("ClientContext").finish_non_exhaustive()
        }
    }

    /// The client context.
    ///
    /// # Errors
    /// Configuration errors.
    pub fn client_context(env: &Env) -> io::Result<ClientContext> {
        let mut builder = common(SslMethod::tls_client(), env)?;
        let mut store = X509StoreBuilder::new().map_err(other)?;
        store.add_cert(X509::from_der(&env.pki.ca_der).map_err(other)?).map_err(other)?;
        builder.set_cert_store(store.build());
        builder.set_verify(SslVerifyMode::PEER);
        builder.set_session_cache_mode(
            SslSessionCacheMode::CLIENT | SslSessionCacheMode::NO_INTERNAL_STORE,
        );
        let sessions: Arc<Mutex<HashMap<String, SslSession>>> = Arc::default();
        let store = Arc::clone(&sessions);
        builder.set_new_session_callback(move |ssl, session| {
            let Some(name) = ssl.servername(NameType::HOST_NAME) else { return };
            let mut map = store.lock().unwrap_or_else(PoisonError::into_inner);
            if map.len() >= MAX_NAMES && !map.contains_key(name) {
                map.clear();
            }
            map.insert(name.to_owned(), session);
        });
        Ok(ClientContext { context: builder.build(), sessions })
    }

    /// The server context.
    ///
    /// # Errors
    /// Configuration errors.
    pub fn server_context(env: &Env) -> io::Result<SslContext> {
        let mut builder = common(SslMethod::tls_server(), env)?;
        let leaf = X509::from_der(&env.pki.leaf_der).map_err(other)?;
        let key = PKey::private_key_from_pkcs8(&env.pki.key_der).map_err(other)?;
        builder.set_certificate(&leaf).map_err(other)?;
        builder.set_private_key(&key).map_err(other)?;
        builder.check_private_key().map_err(other)?;
        builder.set_session_id_context(b"sslsocket bench raw").map_err(other)?;
        builder.set_session_cache_mode(SslSessionCacheMode::SERVER);
        Ok(builder.build())
    }

    /// A client `Ssl` for `name` (SNI and host name check), offering the last session the
    /// context was given for `name`.
    ///
    /// # Errors
    /// Engine errors.
    pub fn client_ssl(context: &ClientContext, name: &str) -> io::Result<Ssl> {
        let mut ssl = Ssl::new(&context.context).map_err(other)?;
        ssl.set_hostname(name).map_err(other)?;
        let param = ssl.param_mut();
        param.set_hostflags(X509CheckFlags::NO_PARTIAL_WILDCARDS);
        param.set_host(name).map_err(other)?;
        let session =
            context.sessions.lock().unwrap_or_else(PoisonError::into_inner).get(name).cloned();
        if let Some(session) = session {
            offer(&mut ssl, &session).map_err(other)?;
        }
        Ok(ssl)
    }

    /// `SSL_set_session`: offers `session` in `ssl`'s ClientHello.
    #[expect(
        unsafe_code,
        reason = "issue 18: raw OpenSSL resumes through `SslRef::set_session`, which is unsafe \
                  in the openssl crate; the benchmark's raw client must resume as OpenSSL \
                  users do"
    )]
    fn offer(ssl: &mut SslRef, session: &SslSession) -> Result<(), openssl::error::ErrorStack> {
        // SAFETY: `set_session` requires that `session` was produced by a connection of the
        // same `SslContext` as `ssl`. `client_ssl` makes `ssl` from `ClientContext::context`
        // and takes `session` from `ClientContext::sessions`, which only the new-session
        // callback installed on that same context's builder (`client_context`) fills; the two
        // fields are private and set together, so no other context's session gets there.
        unsafe { ssl.set_session(session) }
    }

    impl Conn for SslStream<TcpStream> {
        fn close(&mut self) {
            let _ = self.shutdown();
            super::finish_close(self, SslStream::get_ref);
        }
    }

    /// `Ssl::connect` → `SslStream`.
    #[derive(Debug)]
    pub struct Client(pub ClientContext);

    impl Connector for Client {
        fn connect(&self, addr: SocketAddr, name: &str) -> io::Result<Box<dyn Conn>> {
            let tcp = tcp_connect(addr)?;
            let stream = client_ssl(&self.0, name)?.connect(tcp).map_err(other)?;
            Ok(Box::new(stream))
        }
    }

    /// `Ssl::accept` → `SslStream`.
    #[derive(Debug)]
    pub struct Server {
        /// The listener.
        pub listener: TcpListener,
        /// The shared context.
        pub context: SslContext,
    }

    impl Acceptor for Server {
        fn local_addr(&self) -> SocketAddr {
            self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
        }

        fn accept(&mut self) -> io::Result<Box<dyn Conn>> {
            let tcp = tcp_accept(&self.listener)?;
            let stream = Ssl::new(&self.context).map_err(other)?.accept(tcp).map_err(other)?;
            if stream.ssl().session_reused() {
                RESUMED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Ok(Box::new(stream))
        }
    }
}

// ---- raw native-tls ------------------------------------------------------------------------

/// native-tls configured as backend-native configures it: the CA as the only root (built-in
/// roots off), client TLS 1.2–1.3, server TLS 1.2 (native-tls's OpenSSL server preset has no
/// TLS 1.3 anyway), default suites.
#[cfg(feature = "native")]
pub mod raw_native {
    use std::io;
    use std::net::{SocketAddr, TcpListener, TcpStream};

    use native_tls::{Certificate, Identity, Protocol, TlsAcceptor, TlsConnector, TlsStream};

    use super::{other, tcp_accept, tcp_connect, Acceptor, Conn, Connector, Env};

    /// The client.
    ///
    /// # Errors
    /// Configuration errors.
    pub fn connector(env: &Env) -> io::Result<TlsConnector> {
        TlsConnector::builder()
            .min_protocol_version(Some(Protocol::Tlsv12))
            .max_protocol_version(Some(Protocol::Tlsv13))
            .disable_built_in_roots(true)
            .add_root_certificate(Certificate::from_der(&env.pki.ca_der).map_err(other)?)
            .build()
            .map_err(other)
    }

    /// The server.
    ///
    /// # Errors
    /// Configuration errors.
    pub fn acceptor(env: &Env) -> io::Result<TlsAcceptor> {
        let identity =
            Identity::from_pkcs8(env.pki.leaf_pem.as_bytes(), env.pki.key_pem.as_bytes())
                .map_err(other)?;
        TlsAcceptor::builder(identity)
            .min_protocol_version(Some(Protocol::Tlsv12))
            .max_protocol_version(Some(Protocol::Tlsv12))
            .build()
            .map_err(other)
    }

    impl Conn for TlsStream<TcpStream> {
        fn close(&mut self) {
            let _ = self.shutdown();
            super::finish_close(self, TlsStream::get_ref);
        }
    }

    /// `TlsConnector::connect` → `TlsStream`.
    #[derive(Debug)]
    pub struct Client(pub TlsConnector);

    impl Connector for Client {
        fn connect(&self, addr: SocketAddr, name: &str) -> io::Result<Box<dyn Conn>> {
            let tcp = tcp_connect(addr)?;
            Ok(Box::new(self.0.connect(name, tcp).map_err(other)?))
        }
    }

    /// `TlsAcceptor::accept` → `TlsStream`.
    pub struct Server {
        /// The listener.
        pub listener: TcpListener,
        /// The acceptor.
        pub acceptor: TlsAcceptor,
    }

    impl std::fmt::Debug for Server {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Server").field("listener", &self.listener).finish_non_exhaustive()
        }
    }

    impl Acceptor for Server {
        fn local_addr(&self) -> SocketAddr {
            self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
        }

        fn accept(&mut self) -> io::Result<Box<dyn Conn>> {
            let tcp = tcp_accept(&self.listener)?;
            Ok(Box::new(self.acceptor.accept(tcp).map_err(other)?))
        }
    }
}
