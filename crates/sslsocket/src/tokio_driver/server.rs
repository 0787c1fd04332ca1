//! `AsyncSslServer`: accepts on tokio, runs every handshake as its own task with a timeout
//! and a bound on how many are in progress, and hands back encrypted sockets.

use std::net::SocketAddr;
use std::sync::Arc;

use ssl_api::{Error, Role, SslBackend};
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::mpsc::{channel, Receiver, Sender};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use super::socket::AsyncSslSocket;
use crate::accept::{AcceptError, Backoff};
use crate::blocking::HandshakeFailure;
use crate::server_settings::{server_settings_api, ServerSettings};

/// The outcome of one accepted TCP connection.
#[derive(Debug)]
pub enum AsyncAccepted {
    /// The handshake completed and the client was accepted (boxed: a socket is large).
    Encrypted(Box<AsyncSslSocket>),
    /// The handshake failed.
    Failed(HandshakeFailure),
}

/// A TLS server on tokio: `bind`, then `accept` encrypted [`AsyncSslSocket`]s.
///
/// From `bind` on, a task accepts TCP connections and runs each handshake as a task of its
/// own, so a slow or hostile client never holds up the others; a client that does not finish
/// its handshake within the timeout is dropped. At most `max_pending_handshakes` connections
/// are in their handshake or waiting to be taken by `accept`; the rest wait in the backlog.
/// Must be used inside a tokio runtime with the time driver enabled.
pub struct AsyncSslServer {
    settings: ServerSettings<AsyncSslSocket>,
    running: Option<Running>,
}

struct Running {
    local_addr: SocketAddr,
    results: Receiver<(AsyncAccepted, OwnedSemaphorePermit)>,
    acceptor: JoinHandle<()>,
}

impl AsyncSslServer {
    server_settings_api!(
        AsyncSslSocket,
        "bind",
        "The most connections in their handshake or waiting for `accept` at once (default \
         256); further clients wait in the listen backlog."
    );

    /// A server on `backend`.
    #[must_use]
    pub fn with_backend_handle(backend: Arc<dyn SslBackend>) -> AsyncSslServer {
        AsyncSslServer { settings: ServerSettings::new(backend, 256), running: None }
    }

    /// Binds, listens and starts serving. The configuration is checked first.
    ///
    /// # Errors
    /// `Config` for a configuration the backend cannot carry out; `Io` for bind failures.
    pub async fn bind(&mut self, addr: impl ToSocketAddrs) -> Result<(), Error> {
        self.close();
        let settings = self.settings.clone();
        crate::registry::context_for(&settings.backend, &settings.config, Role::Server)?;
        let listener = TcpListener::bind(addr).await.map_err(Error::io)?;
        let local_addr = listener.local_addr().map_err(Error::io)?;
        let (tx, rx) = channel(settings.max_pending);
        let slots = Arc::new(Semaphore::new(settings.max_pending));
        let acceptor = tokio::spawn(accept_loop(listener, tx, slots, settings));
        self.running = Some(Running { local_addr, results: rx, acceptor });
        Ok(())
    }

    /// The address the server listens on (`serverAddress` / `serverPort`; named as the
    /// sockets' `local_address`).
    #[must_use]
    pub fn local_address(&self) -> Option<SocketAddr> {
        self.running.as_ref().map(|r| r.local_addr)
    }

    /// The old name of [`Self::local_address`].
    #[deprecated(since = "0.1.0", note = "use local_address, named as the sockets' is")]
    #[must_use]
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_address()
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
    /// `Usage` when not listening or the listener failed.
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
    /// `Usage` when not listening or the listener failed.
    pub async fn accept_next(&mut self) -> Result<AsyncAccepted, Error> {
        let running =
            self.running.as_mut().ok_or(Error::Usage(ssl_api::UsageError::NotListening))?;
        match running.results.recv().await {
            // The permit is released here: the slot counts until the application takes it.
            Some((accepted, _permit)) => Ok(accepted),
            None => Err(Error::Usage(ssl_api::UsageError::StoppedListening)),
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
            .field("backend", &self.settings.backend.name())
            .field("local_address", &self.local_address())
            .field("handshake_timeout", &self.settings.handshake_timeout)
            .field("max_pending", &self.settings.max_pending)
            .finish_non_exhaustive()
    }
}

async fn accept_loop(
    listener: TcpListener,
    results: Sender<(AsyncAccepted, OwnedSemaphorePermit)>,
    slots: Arc<Semaphore>,
    handshakes: ServerSettings<AsyncSslSocket>,
) {
    let mut backoff = Backoff::new();
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else { return };
        let (stream, peer) = match listener.accept().await {
            Ok(pair) => {
                backoff.reset();
                pair
            }
            // Per-connection failures (a client that reset, no file descriptors for a
            // moment) must not stop the server: the `crate::accept` policy, as the blocking
            // server's.
            Err(e) => match AcceptError::classify(&e) {
                AcceptError::ClientGone => continue,
                AcceptError::ListenerFailed => return,
                _ => {
                    tokio::time::sleep(backoff.next_delay()).await;
                    continue;
                }
            },
        };
        let results = results.clone();
        let handshakes = handshakes.clone();
        tokio::spawn(async move {
            // Boxed from the start: the task stays small and the socket is not moved into a
            // new allocation once encrypted.
            let mut socket =
                Box::new(AsyncSslSocket::with_backend_handle(handshakes.backend.clone()));
            socket.connection_mut().set_shared_ssl_configuration(handshakes.config.clone());
            let adopted = match socket.set_socket_options(&handshakes.options) {
                Ok(()) => socket.set_socket_descriptor(stream),
                Err(error) => Err(error),
            };
            if let Err(error) = adopted {
                let failure = HandshakeFailure { peer, error, ssl_errors: Vec::new() };
                let _ = results.send((AsyncAccepted::Failed(failure), permit)).await;
                return;
            }
            if let Some(setup) = &handshakes.setup {
                setup(&mut socket);
            }
            socket.set_handshake_timeout(Some(handshakes.handshake_timeout));
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
