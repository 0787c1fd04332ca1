//! `SslServer` (Qt 6's QSslServer): accepts TCP connections and hands back encrypted sockets.
//! Each handshake runs on its own thread, so a slow or failing client never holds up the next.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use ssl_api::{Error, Role, SslBackend, SslConfiguration, SslError};

use super::socket::SslSocket;

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);

/// A handshake that did not complete.
#[derive(Debug, Clone)]
pub struct HandshakeFailure {
    /// The client's address.
    pub peer: SocketAddr,
    /// Why it failed (`kind()` gives the socket error code).
    pub error: Error,
    /// Every certificate error found in the client's certificate, ignored ones included.
    pub ssl_errors: Vec<SslError>,
}

/// The outcome of one accepted TCP connection.
#[derive(Debug)]
pub enum Accepted {
    /// The handshake completed and the client was accepted.
    Encrypted(SslSocket),
    /// The handshake failed.
    Failed(HandshakeFailure),
}

type Setup = Arc<dyn Fn(&mut SslSocket) + Send + Sync>;

/// A TLS server socket: `listen`, then `accept` encrypted [`SslSocket`]s.
pub struct SslServer {
    backend: Arc<dyn SslBackend>,
    config: SslConfiguration,
    handshake_timeout: Duration,
    max_pending: usize,
    setup: Option<Setup>,
    listener: Option<TcpListener>,
    poll: Poll,
    events: Events,
    waker: Arc<Waker>,
    results: (Sender<Accepted>, Receiver<Accepted>),
    pending: Arc<AtomicUsize>,
}

impl SslServer {
    /// A server on the process's active backend with the default configuration.
    ///
    /// # Errors
    /// When no backend is usable, or the poller cannot be created.
    pub fn new() -> Result<SslServer, Error> {
        SslServer::with_backend_handle(crate::active_backend()?)
    }

    /// A server on the compiled-in backend called `name`.
    ///
    /// # Errors
    /// When no usable backend of that name is compiled in.
    pub fn with_backend(name: &str) -> Result<SslServer, Error> {
        SslServer::with_backend_handle(crate::registry::backend(name)?)
    }

    /// A server on `backend`.
    ///
    /// # Errors
    /// When the poller cannot be created.
    pub fn with_backend_handle(backend: Arc<dyn SslBackend>) -> Result<SslServer, Error> {
        let poll = Poll::new().map_err(Error::io)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(Error::io)?);
        Ok(SslServer {
            backend,
            config: SslConfiguration::default_configuration(),
            handshake_timeout: Duration::from_secs(10),
            max_pending: 64,
            setup: None,
            listener: None,
            poll,
            events: Events::with_capacity(16),
            waker,
            results: channel(),
            pending: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The configuration given to every accepted socket.
    #[must_use]
    pub fn ssl_configuration(&self) -> &SslConfiguration {
        &self.config
    }

    /// Sets the configuration for sockets accepted from now on.
    pub fn set_ssl_configuration(&mut self, config: SslConfiguration) {
        self.config = config;
    }

    /// How long a client may take to complete its handshake (default 10 s).
    pub fn set_handshake_timeout(&mut self, timeout: Duration) {
        self.handshake_timeout = timeout;
    }

    /// The most handshakes in progress at once (default 64); further clients wait in the
    /// listen backlog.
    pub fn set_max_pending_handshakes(&mut self, max: usize) {
        self.max_pending = max.max(1);
    }

    /// A function run on every accepted socket before its handshake: set an event handler,
    /// ignore lists, a pause mode…
    pub fn set_socket_setup(&mut self, setup: impl Fn(&mut SslSocket) + Send + Sync + 'static) {
        self.setup = Some(Arc::new(setup));
    }

    /// Binds and listens. The configuration is checked here (the engine context is built),
    /// so a server that cannot work fails before accepting anyone.
    ///
    /// # Errors
    /// `Config` for a configuration the backend cannot carry out; `Io` for bind failures.
    pub fn listen(&mut self, addr: impl ToSocketAddrs) -> Result<(), Error> {
        crate::registry::context_for(&self.backend, &self.config, Role::Server)?;
        let addr = addr
            .to_socket_addrs()
            .map_err(Error::io)?
            .next()
            .ok_or_else(|| Error::io(io::Error::new(io::ErrorKind::InvalidInput, "no address")))?;
        let std_listener = std::net::TcpListener::bind(addr).map_err(Error::io)?;
        std_listener.set_nonblocking(true).map_err(Error::io)?;
        let mut listener = TcpListener::from_std(std_listener);
        self.poll.registry().register(&mut listener, LISTENER, Interest::READABLE).map_err(Error::io)?;
        self.listener = Some(listener);
        Ok(())
    }

    /// The address the server listens on.
    #[must_use]
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Waits for the next client whose handshake succeeds; failed handshakes are skipped
    /// (use [`SslServer::accept_next`] to see them).
    ///
    /// # Errors
    /// `Operation` when not listening; `Io` when the listener fails.
    pub fn accept(&mut self) -> Result<SslSocket, Error> {
        loop {
            if let Accepted::Encrypted(socket) = self.accept_next(None)? {
                return Ok(socket);
            }
        }
    }

    /// Waits up to `timeout` (`None`: forever) for the next finished handshake, successful or
    /// not.
    ///
    /// # Errors
    /// `Timeout`; `Operation` when not listening; `Io` when the listener fails.
    pub fn accept_next(&mut self, timeout: Option<Duration>) -> Result<Accepted, Error> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            if let Ok(done) = self.results.1.try_recv() {
                return Ok(done);
            }
            self.accept_pending()?;
            let now = Instant::now();
            if deadline.is_some_and(|d| d <= now) {
                return Err(Error::Timeout { operation: "accept" });
            }
            let wait = deadline.map(|d| d.saturating_duration_since(now));
            match self.poll.poll(&mut self.events, wait) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(e)),
            }
        }
    }

    /// Accepts every waiting TCP connection (up to the pending-handshake bound) and starts
    /// its handshake thread.
    fn accept_pending(&mut self) -> Result<(), Error> {
        let listener = self
            .listener
            .as_ref()
            .ok_or(Error::Operation("the server is not listening"))?;
        while self.pending.load(Ordering::Acquire) < self.max_pending {
            let (stream, peer) = match listener.accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // A client that reset before we accepted it is not the server's failure.
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) => return Err(Error::io(e)),
            };
            let mut socket = SslSocket::with_backend_handle(self.backend.clone());
            socket.set_ssl_configuration(self.config.clone());
            let std_stream = std::net::TcpStream::from(stream);
            if let Err(error) = std_stream.set_nonblocking(false).map_err(Error::io).and_then(|()| socket.set_socket_descriptor(std_stream)) {
                let _ = self.results.0.send(Accepted::Failed(HandshakeFailure { peer, error, ssl_errors: Vec::new() }));
                continue;
            }
            if let Some(setup) = &self.setup {
                setup(&mut socket);
            }
            socket.set_handshake_timeout(Some(self.handshake_timeout));
            let timeout = self.handshake_timeout;
            let results = self.results.0.clone();
            let waker = self.waker.clone();
            let pending = self.pending.clone();
            pending.fetch_add(1, Ordering::AcqRel);
            std::thread::spawn(move || {
                socket.start_server_encryption();
                let outcome = match socket.wait_for_encrypted(timeout) {
                    Ok(()) => Accepted::Encrypted(socket),
                    Err(error) => {
                        let ssl_errors = socket.ssl_handshake_errors().to_vec();
                        socket.abort();
                        Accepted::Failed(HandshakeFailure { peer, error, ssl_errors })
                    }
                };
                pending.fetch_sub(1, Ordering::AcqRel);
                // The server may have been dropped; then nobody wants the result.
                let _ = results.send(outcome);
                let _ = waker.wake();
            });
        }
        Ok(())
    }
}

impl std::fmt::Debug for SslServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SslServer")
            .field("backend", &self.backend.name())
            .field("local_addr", &self.local_addr())
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}
