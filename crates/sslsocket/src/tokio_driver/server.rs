//! `AsyncSslServer`: accepts on tokio, runs every handshake as its own task with a timeout
//! and a bound on how many are in progress (the oldest evicted at the bound, as the blocking
//! server does), and hands back encrypted sockets.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use ssl_api::{Error, Role, SslBackend};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::{AbortHandle, JoinHandle};

use super::socket::AsyncSslSocket;
use crate::accept::{AcceptError, Backoff};
use crate::blocking::{HandshakeFailure, MAX_PENDING_PER_PEER};
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
/// its handshake within the timeout is dropped. The bounds are the blocking
/// [`crate::SslServer`]'s: at most `max_pending_handshakes` handshakes are in progress, and
/// when a new client comes at the bound the oldest in progress is evicted (slowloris clients
/// that drip a ClientHello cannot keep a good client out), the oldest of the new client's own
/// address when that address has [`MAX_PENDING_PER_PEER`] or more. As many finished handshakes
/// may wait to be taken by `accept`; beyond them the rest wait in the listen backlog.
/// Must be used inside a tokio runtime with the time driver enabled.
pub struct AsyncSslServer {
    settings: ServerSettings<AsyncSslSocket>,
    running: Option<Running>,
}

struct Running {
    local_addr: SocketAddr,
    results: UnboundedReceiver<(AsyncAccepted, OwnedSemaphorePermit)>,
    acceptor: JoinHandle<()>,
    shared: Arc<Shared>,
}

impl AsyncSslServer {
    server_settings_api!(
        AsyncSslSocket,
        "bind",
        "The most handshakes in progress at once (default 1024, a few tens of KiB and one \
         descriptor each); when it is reached, the oldest handshake in progress is evicted \
         (closed, with no outcome) so that a new client is never kept waiting by slow ones: the \
         oldest of the new client's own address when that address has \
         `MAX_PENDING_PER_PEER` (64) or more in progress. As many finished handshakes may \
         wait for `accept`; beyond them, clients wait in the listen backlog."
    );

    /// A server on `backend`.
    #[must_use]
    pub fn with_backend_handle(backend: Arc<dyn SslBackend>) -> AsyncSslServer {
        AsyncSslServer { settings: ServerSettings::new(backend, 1024), running: None }
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
        let (tx, rx) = unbounded_channel();
        let max_pending = settings.max_pending;
        let shared = Shared {
            settings,
            in_progress: Mutex::default(),
            results: tx,
            waiting_room: Arc::new(Semaphore::new(max_pending)),
        };
        let shared = Arc::new(shared);
        let acceptor = tokio::spawn(accept_loop(listener, shared.clone()));
        self.running = Some(Running { local_addr, results: rx, acceptor, shared });
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

    /// Stops listening, as [`crate::SslServer::close`] does: the listener is closed,
    /// handshakes still in progress are aborted (their tasks end and their sockets are
    /// dropped, so their clients see the connection end), and finished handshakes not yet
    /// taken by `accept` / `accept_next` are dropped with their sockets. Sockets already taken
    /// are not affected. The tasks end at their next await, on the runtime's workers.
    pub fn close(&mut self) {
        if let Some(running) = self.running.take() {
            running.acceptor.abort();
            // A handshake that has its outcome waits for a permit: closing the waiting room
            // ends that wait too.
            running.shared.waiting_room.close();
            let tasks = std::mem::take(&mut running.shared.in_progress().tasks);
            for (_, task) in tasks.into_values() {
                task.abort();
            }
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
            // The permit is released here: an outcome counts against the bound until the
            // application takes it.
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

/// The handshakes in progress, oldest first (ids are given in accept order), each with the
/// handle that ends its task. A handshake task takes itself out when it has its outcome; one
/// no longer here was evicted and gives none.
#[derive(Default)]
struct InProgress {
    next_id: u64,
    tasks: BTreeMap<u64, (IpAddr, AbortHandle)>,
}

/// What the accept loop shares with every handshake task.
struct Shared {
    settings: ServerSettings<AsyncSslSocket>,
    in_progress: Mutex<InProgress>,
    results: UnboundedSender<(AsyncAccepted, OwnedSemaphorePermit)>,
    /// One permit per outcome that may wait for `accept`.
    waiting_room: Arc<Semaphore>,
}

impl Shared {
    fn in_progress(&self) -> std::sync::MutexGuard<'_, InProgress> {
        // Nothing panics while the lock is held; a poisoned registry is still consistent.
        self.in_progress.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl InProgress {
    /// Ends the oldest handshake in progress among those `which` selects (its socket is
    /// dropped with its task: the client sees the connection close). It gives no outcome: an
    /// outcome would wait for `accept` and take the place of a good client's.
    fn evict_oldest(&mut self, which: impl Fn(IpAddr) -> bool) {
        let oldest = self.tasks.iter().find(|(_, (ip, _))| which(*ip)).map(|(id, _)| *id);
        if let Some((_, task)) = oldest.and_then(|id| self.tasks.remove(&id)) {
            task.abort();
        }
    }

    /// Makes room for a handshake from `ip` at the bound `max`, evicting the oldest (of
    /// `ip`'s own when it has its share or more); then starts `handshake(id)` and records it.
    /// Both under the registry's lock, so the task cannot finish before it is recorded.
    fn start<F>(&mut self, ip: IpAddr, max: usize, handshake: impl FnOnce(u64) -> F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        if self.tasks.len() >= max {
            if self.tasks.values().filter(|(peer, _)| *peer == ip).count() >= MAX_PENDING_PER_PEER {
                self.evict_oldest(|peer| peer == ip);
            } else {
                self.evict_oldest(|_| true);
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        let task = tokio::spawn(handshake(id));
        self.tasks.insert(id, (ip, task.abort_handle()));
    }
}

/// Accepts while fewer than `max_pending` outcomes wait for `accept` (each holds a permit of
/// `waiting_room` until the application takes it) and starts a handshake task per client.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut backoff = Backoff::new();
    loop {
        // At the bound of outcomes not yet taken, the next clients wait in the backlog (the
        // permit is only a look: the handshake takes one when it has its outcome).
        let Ok(room) = shared.waiting_room.acquire().await else { return };
        drop(room);
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
        let max = shared.settings.max_pending;
        shared
            .in_progress()
            .start(peer.ip(), max, |id| handshake(stream, peer, id, shared.clone()));
    }
}

/// One client's handshake task: its outcome goes to `accept` unless it was evicted first.
async fn handshake(stream: TcpStream, peer: SocketAddr, id: u64, shared: Arc<Shared>) {
    let settings = &shared.settings;
    // Boxed from the start: the task stays small and the socket is not moved into a new
    // allocation once encrypted.
    let mut socket = Box::new(AsyncSslSocket::with_backend_handle(settings.backend.clone()));
    socket.connection_mut().set_shared_ssl_configuration(settings.config.clone());
    let adopted = match socket.set_socket_options(&settings.options) {
        Ok(()) => socket.set_socket_descriptor(stream),
        Err(error) => Err(error),
    };
    let outcome = match adopted {
        Err(error) => {
            AsyncAccepted::Failed(HandshakeFailure { peer, error, ssl_errors: Vec::new() })
        }
        Ok(()) => {
            if let Some(setup) = &settings.setup {
                setup(&mut socket);
            }
            socket.set_handshake_timeout(Some(settings.handshake_timeout));
            match socket.start_server_encryption().await {
                Ok(()) => AsyncAccepted::Encrypted(socket),
                Err(error) => {
                    let ssl_errors = socket.ssl_handshake_errors().to_vec();
                    socket.abort();
                    AsyncAccepted::Failed(HandshakeFailure { peer, error, ssl_errors })
                }
            }
        }
    };
    // Evicted while the outcome was being made (an abort takes effect at the next await):
    // no outcome.
    if shared.in_progress().tasks.remove(&id).is_none() {
        return;
    }
    // No longer in progress; the outcome waits for `accept` with a permit. The server may be
    // gone; then nobody wants it.
    let Ok(permit) = shared.waiting_room.clone().acquire_owned().await else { return };
    let _ = shared.results.send((outcome, permit));
}
