//! `AsyncSslServer`: accepts on tokio, runs every handshake as its own task with a timeout
//! and a bound on how many are in progress, and hands back encrypted sockets.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ssl_api::{Error, Role, SslBackend, SslConfiguration};
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::mpsc::{channel, Receiver, Sender};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use super::socket::AsyncSslSocket;
use crate::blocking::HandshakeFailure;

/// The outcome of one accepted TCP connection.
#[derive(Debug)]
pub enum AsyncAccepted {
    /// The handshake completed and the client was accepted (boxed: a socket is large).
    Encrypted(Box<AsyncSslSocket>),
    /// The handshake failed.
    Failed(HandshakeFailure),
}

type Setup = Arc<dyn Fn(&mut AsyncSslSocket) + Send + Sync>;

/// A TLS server on tokio: `bind`, then `accept` encrypted [`AsyncSslSocket`]s.
///
/// From `bind` on, a task accepts TCP connections and runs each handshake as a task of its
/// own, so a slow or hostile client never holds up the others; a client that does not finish
/// its handshake within the timeout is dropped. At most `max_pending_handshakes` connections
/// are in their handshake or waiting to be taken by `accept`; the rest wait in the backlog.
/// Must be used inside a tokio runtime with the time driver enabled.
pub struct AsyncSslServer {
    backend: Arc<dyn SslBackend>,
    config: SslConfiguration,
    handshake_timeout: Duration,
    max_pending: usize,
    setup: Option<Setup>,
    running: Option<Running>,
}

struct Running {
    local_addr: SocketAddr,
    results: Receiver<(AsyncAccepted, OwnedSemaphorePermit)>,
    acceptor: JoinHandle<()>,
}

impl AsyncSslServer {
    /// A server on the process's active backend with the default configuration.
    ///
    /// # Errors
    /// When no backend is usable.
    pub fn new() -> Result<AsyncSslServer, Error> {
        Ok(AsyncSslServer::with_backend_handle(crate::active_backend()?))
    }

    /// A server on the compiled-in backend called `name`.
    ///
    /// # Errors
    /// When no usable backend of that name is compiled in.
    pub fn with_backend(name: &str) -> Result<AsyncSslServer, Error> {
        Ok(AsyncSslServer::with_backend_handle(crate::registry::backend(name)?))
    }

    /// A server on `backend`.
    #[must_use]
    pub fn with_backend_handle(backend: Arc<dyn SslBackend>) -> AsyncSslServer {
        AsyncSslServer {
            backend,
            config: SslConfiguration::default_configuration(),
            handshake_timeout: Duration::from_secs(10),
            max_pending: 256,
            setup: None,
            running: None,
        }
    }

    /// The configuration given to every accepted socket.
    #[must_use]
    pub fn ssl_configuration(&self) -> &SslConfiguration {
        &self.config
    }

    /// Sets the configuration; takes effect at the next `bind`.
    pub fn set_ssl_configuration(&mut self, config: SslConfiguration) {
        self.config = config;
    }

    /// How long a client may take to complete its handshake (default 10 s); takes effect at
    /// the next `bind`.
    pub fn set_handshake_timeout(&mut self, timeout: Duration) {
        self.handshake_timeout = timeout;
    }

    /// The most connections in their handshake or waiting for `accept` (default 256); takes
    /// effect at the next `bind`.
    pub fn set_max_pending_handshakes(&mut self, max: usize) {
        self.max_pending = max.max(1);
    }

    /// A function run on every accepted socket before its handshake (event handler, ignore
    /// lists, an async certificate decider…). Takes effect at the next `bind`.
    pub fn set_socket_setup(
        &mut self,
        setup: impl Fn(&mut AsyncSslSocket) + Send + Sync + 'static,
    ) {
        self.setup = Some(Arc::new(setup));
    }

    /// Binds, listens and starts serving. The configuration is checked first.
    ///
    /// # Errors
    /// `Config` for a configuration the backend cannot carry out; `Io` for bind failures.
    pub async fn bind(&mut self, addr: impl ToSocketAddrs) -> Result<(), Error> {
        self.close();
        crate::registry::context_for(&self.backend, &self.config, Role::Server)?;
        let listener = TcpListener::bind(addr).await.map_err(Error::io)?;
        let local_addr = listener.local_addr().map_err(Error::io)?;
        let (tx, rx) = channel(self.max_pending);
        let acceptor = tokio::spawn(accept_loop(
            listener,
            tx,
            Arc::new(Semaphore::new(self.max_pending)),
            Handshakes {
                backend: self.backend.clone(),
                config: Arc::new(self.config.clone()),
                timeout: self.handshake_timeout,
                setup: self.setup.clone(),
            },
        ));
        self.running = Some(Running { local_addr, results: rx, acceptor });
        Ok(())
    }

    /// The address the server listens on.
    #[must_use]
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.running.as_ref().map(|r| r.local_addr)
    }

    /// Stops listening; handshakes in progress finish and their results are dropped.
    pub fn close(&mut self) {
        if let Some(running) = self.running.take() {
            running.acceptor.abort();
        }
    }

    /// The next client whose handshake succeeds; failed handshakes are skipped (see
    /// [`AsyncSslServer::accept_next`]). Cancel-safe.
    ///
    /// # Errors
    /// `Operation` when not listening or the listener failed.
    pub async fn accept(&mut self) -> Result<AsyncSslSocket, Error> {
        loop {
            if let AsyncAccepted::Encrypted(socket) = self.accept_next().await? {
                return Ok(*socket);
            }
        }
    }

    /// The next finished handshake, successful or not. Cancel-safe.
    ///
    /// # Errors
    /// `Operation` when not listening or the listener failed.
    pub async fn accept_next(&mut self) -> Result<AsyncAccepted, Error> {
        let running =
            self.running.as_mut().ok_or(Error::Operation("the server is not listening"))?;
        match running.results.recv().await {
            // The permit is released here: the slot counts until the application takes it.
            Some((accepted, _permit)) => Ok(accepted),
            None => Err(Error::Operation("the server stopped listening")),
        }
    }
}

impl Drop for AsyncSslServer {
    fn drop(&mut self) {
        self.close();
    }
}

impl std::fmt::Debug for AsyncSslServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncSslServer")
            .field("backend", &self.backend.name())
            .field("local_addr", &self.local_addr())
            .field("handshake_timeout", &self.handshake_timeout)
            .field("max_pending", &self.max_pending)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct Handshakes {
    backend: Arc<dyn SslBackend>,
    config: Arc<SslConfiguration>,
    timeout: Duration,
    setup: Option<Setup>,
}

async fn accept_loop(
    listener: TcpListener,
    results: Sender<(AsyncAccepted, OwnedSemaphorePermit)>,
    slots: Arc<Semaphore>,
    handshakes: Handshakes,
) {
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else { return };
        let (stream, peer) = match listener.accept().await {
            Ok(pair) => pair,
            // Per-connection failures (a client that reset, no file descriptors for a
            // moment) must not stop the server; back off briefly on resource exhaustion.
            Err(e) => {
                if e.raw_os_error().is_some_and(|code| code == 24 || code == 23) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                continue;
            }
        };
        let results = results.clone();
        let handshakes = handshakes.clone();
        tokio::spawn(async move {
            // Boxed from the start: the task stays small and the socket is not moved into a
            // new allocation once encrypted.
            let mut socket =
                Box::new(AsyncSslSocket::with_backend_handle(handshakes.backend.clone()));
            socket.connection_mut().set_shared_ssl_configuration(handshakes.config.clone());
            socket.set_socket_descriptor(stream);
            if let Some(setup) = &handshakes.setup {
                setup(&mut socket);
            }
            socket.set_handshake_timeout(Some(handshakes.timeout));
            let outcome = match socket.start_server_encryption().await {
                Ok(()) => AsyncAccepted::Encrypted(socket),
                Err(error) => {
                    let ssl_errors = socket.ssl_handshake_errors().to_vec();
                    socket.abort();
                    AsyncAccepted::Failed(HandshakeFailure { peer, error, ssl_errors })
                }
            };
            // The server may be gone; then nobody wants the result.
            let _ = results.send((outcome, permit)).await;
        });
    }
}
