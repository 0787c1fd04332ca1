//! `SslServer` (Qt 6's QSslServer): accepts TCP connections and hands back encrypted sockets.
//! One background thread accepts and runs every handshake, interleaved on one poller (as
//! QSslServer runs them in its thread's event loop), so a slow or failing client never holds
//! up the next.

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use ssl_api::{Error, Role, SslBackend, SslError};

use super::socket::SslSocket;
use crate::accept::{AcceptError, Backoff};
use crate::server_settings::{server_settings_api, ServerSettings};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// Handshakes get tokens from here on.
const FIRST_HANDSHAKE: usize = 2;

/// A peer address's share of the handshakes in progress on an [`SslServer`] (and on an
/// `AsyncSslServer`): when the bound is reached and a new client comes from an address with
/// this many in progress or more, that address's oldest is evicted, not someone else's (a
/// slowloris from one address cannot take every slot). Below the bound nothing is evicted,
/// so a burst from one address (a proxy, a load test) is served in full.
pub const MAX_PENDING_PER_PEER: usize = 64;

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
    /// The handshake completed and the client was accepted (boxed: a socket is large).
    Encrypted(Box<SslSocket>),
    /// The handshake failed.
    Failed(HandshakeFailure),
}

/// A TLS server socket: `listen`, then `accept` encrypted [`SslSocket`]s.
///
/// From `listen` on, a background thread accepts TCP connections and runs their handshakes,
/// interleaved on one poller (as Qt's QSslServer runs them in its thread's event loop), so
/// clients are served whether or not `accept` is being called and a stalled client delays
/// no one. At most `max_pending_handshakes` handshakes are in progress: when a new client
/// comes at the bound, the oldest in progress is evicted (slowloris clients that drip a
/// ClientHello cannot keep a good client out), the oldest of the new client's own address
/// when that address has [`MAX_PENDING_PER_PEER`] or more. As many finished handshakes may
/// wait to be taken by `accept`; beyond them the rest wait in the listen backlog. The
/// handshakes' CPU work is done on that one thread (the tokio [`crate::AsyncSslServer`]
/// spreads it over the runtime's workers).
pub struct SslServer {
    settings: ServerSettings<SslSocket>,
    running: Option<Running>,
}

/// The acceptor thread of a listening server and the ends the server keeps.
struct Running {
    local_addr: SocketAddr,
    results: Receiver<Accepted>,
    waker: Arc<Waker>,
    stop: Arc<AtomicBool>,
    pending: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What the acceptor thread needs to start handshakes.
struct Acceptor {
    settings: ServerSettings<SslSocket>,
    listener: TcpListener,
    poll: Poll,
    results: Sender<Accepted>,
    stop: Arc<AtomicBool>,
    pending: Arc<AtomicUsize>,
}

impl SslServer {
    server_settings_api!(
        SslSocket,
        "listen",
        "The most handshakes in progress at once (default 1024, a few tens of KiB and one \
         descriptor each); when it is reached, the oldest handshake in progress is evicted \
         (closed, with no outcome) so that a new client is never kept waiting by slow ones: the \
         oldest of the new client's own address when that address has \
         `MAX_PENDING_PER_PEER` (64) or more in progress. As many finished handshakes may \
         wait for `accept`; beyond them, clients wait in the listen backlog."
    );

    /// A server on `backend`.
    #[must_use]
    pub fn with_backend_handle(backend: Arc<dyn SslBackend>) -> SslServer {
        SslServer { settings: ServerSettings::new(backend, 1024), running: None }
    }

    /// Binds, listens and starts serving. The configuration is checked first (the engine
    /// context is built), so a server that cannot work fails before accepting anyone.
    ///
    /// # Errors
    /// `Config` for a configuration the backend cannot carry out; `Io` for bind failures.
    pub fn listen(&mut self, addr: impl ToSocketAddrs) -> Result<(), Error> {
        self.close();
        let settings = self.settings.clone();
        crate::registry::context_for(&settings.backend, &settings.config, Role::Server)?;
        let addr =
            addr.to_socket_addrs().map_err(Error::io)?.next().ok_or_else(|| {
                Error::io(io::Error::new(io::ErrorKind::InvalidInput, "no address"))
            })?;
        let std_listener = std::net::TcpListener::bind(addr).map_err(Error::io)?;
        std_listener.set_nonblocking(true).map_err(Error::io)?;
        let local_addr = std_listener.local_addr().map_err(Error::io)?;
        let mut listener = TcpListener::from_std(std_listener);
        let poll = Poll::new().map_err(Error::io)?;
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE).map_err(Error::io)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(Error::io)?);
        let (tx, rx) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let pending = Arc::new(AtomicUsize::new(0));
        let acceptor = Acceptor {
            settings,
            listener,
            poll,
            results: tx,
            stop: stop.clone(),
            pending: pending.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("sslsocket-acceptor".into())
            .spawn(move || acceptor.run())
            .map_err(Error::io)?;
        self.running =
            Some(Running { local_addr, results: rx, waker, stop, pending, thread: Some(thread) });
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

    /// Stops listening and ends the acceptor thread (it returns before this does): the
    /// listener is closed, handshakes still in progress on the acceptor's poller are aborted
    /// (their sockets are dropped, so their clients see the connection end), and finished
    /// handshakes not yet taken by [`SslServer::accept`] / [`SslServer::accept_next`] are
    /// dropped with their sockets. Sockets already taken are not affected.
    pub fn close(&mut self) {
        if let Some(mut running) = self.running.take() {
            running.stop.store(true, Ordering::Release);
            let _ = running.waker.wake();
            if let Some(thread) = running.thread.take() {
                let _ = thread.join();
            }
        }
    }

    /// Waits for the next client whose handshake succeeds; failed handshakes are skipped
    /// (use [`SslServer::accept_next`] to see them).
    ///
    /// # Errors
    /// `Usage` when not listening or the acceptor stopped (its listener failed).
    pub fn accept(&mut self) -> Result<SslSocket, Error> {
        loop {
            if let Accepted::Encrypted(socket) = self.accept_next(None)? {
                return Ok(*socket);
            }
        }
    }

    /// Waits up to `timeout` (`None`: forever) for the next finished handshake, successful or
    /// not.
    ///
    /// # Errors
    /// `Timeout`; `Usage` when not listening or the acceptor stopped.
    pub fn accept_next(&mut self, timeout: Option<Duration>) -> Result<Accepted, Error> {
        let running =
            self.running.as_ref().ok_or(Error::Usage(ssl_api::UsageError::NotListening))?;
        let result = match timeout {
            None => running.results.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(t) => running.results.recv_timeout(t),
        };
        match result {
            Ok(accepted) => {
                let before = running.pending.fetch_sub(1, Ordering::AcqRel);
                if before >= self.settings.max_pending {
                    // A slot is free: the acceptor, which stopped at the bound, may take the
                    // next client from the backlog.
                    let _ = running.waker.wake();
                }
                Ok(accepted)
            }
            Err(RecvTimeoutError::Timeout) => Err(Error::Timeout { operation: "accept" }),
            Err(RecvTimeoutError::Disconnected) => {
                Err(Error::Usage(ssl_api::UsageError::StoppedListening))
            }
        }
    }
}

impl Drop for SslServer {
    fn drop(&mut self) {
        self.close();
    }
}

/// A handshake the acceptor is running.
struct Handshake {
    socket: SslSocket,
    peer: SocketAddr,
    deadline: Instant,
}

impl Acceptor {
    fn run(mut self) {
        let mut events = Events::with_capacity(64);
        let mut handshakes: HashMap<usize, Handshake> = HashMap::new();
        let mut next_token = FIRST_HANDSHAKE;
        // Accept at the start, on the listener's events, on the waker (a slot was freed) and
        // when a back-off after resource exhaustion is over (the connection that could not be
        // taken is still in the backlog, and an edge-triggered poller says nothing new).
        let mut may_accept = true;
        let mut backoff = Backoff::new();
        let mut retry_at: Option<Instant> = None;
        while !self.stop.load(Ordering::Acquire) {
            if retry_at.is_some_and(|t| t <= Instant::now()) {
                retry_at = None;
                may_accept = true;
            }
            if may_accept {
                match self.accept_ready(&mut handshakes, &mut next_token, &mut backoff) {
                    Ok(None) => {}
                    Ok(Some(delay)) => retry_at = Some(Instant::now() + delay),
                    Err(()) => return, // the listener failed: accept_next reports the stop
                }
            }
            may_accept = false;
            let now = Instant::now();
            let wake = handshakes
                .values()
                .flat_map(|h| std::iter::once(h.deadline).chain(h.socket.next_timeout()))
                .chain(retry_at)
                .min()
                .map(|t| t.saturating_duration_since(now));
            match self.poll.poll(&mut events, wake) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
            for event in &events {
                if matches!(event.token(), LISTENER | WAKER) {
                    may_accept = true;
                } else if let Some(h) = handshakes.get_mut(&event.token().0) {
                    if let Some(t) = h.socket.transport_mut() {
                        t.note_event(event);
                    }
                }
            }
            // Every handshake steps: those with events move on, the others only check their
            // timeouts (a step that finds nothing to do makes no system call).
            let tokens: Vec<usize> = handshakes.keys().copied().collect();
            for token in tokens {
                self.step(&mut handshakes, token);
            }
        }
    }

    /// Moves one handshake on; sends its outcome once it has one.
    fn step(&mut self, handshakes: &mut HashMap<usize, Handshake>, token: usize) {
        let Some(h) = handshakes.get_mut(&token) else { return };
        let Some(result) = h.socket.step_handshake(h.deadline) else { return };
        let Some(mut h) = handshakes.remove(&token) else { return };
        if let Some(t) = h.socket.transport_mut() {
            // The socket waits by itself from now on.
            let _ = t.deregister(self.poll.registry());
        }
        let outcome = match result {
            Ok(()) => Accepted::Encrypted(Box::new(h.socket)),
            Err(error) => {
                let ssl_errors = h.socket.ssl_handshake_errors().to_vec();
                h.socket.abort();
                Accepted::Failed(HandshakeFailure { peer: h.peer, error, ssl_errors })
            }
        };
        // The server may have been closed; then nobody wants the result.
        let _ = self.results.send(outcome);
    }

    /// Ends the oldest handshake in progress among those `which` selects: the socket is
    /// aborted and gives no outcome (an outcome would wait for `accept` and take the place of
    /// a good client's: the slots would fill with evictions).
    fn evict_oldest(
        &mut self,
        handshakes: &mut HashMap<usize, Handshake>,
        which: impl Fn(&Handshake) -> bool,
    ) {
        // Every handshake has the same timeout: the earliest deadline is the oldest.
        let oldest = handshakes.iter().filter(|(_, h)| which(h)).min_by_key(|(_, h)| h.deadline);
        let Some(token) = oldest.map(|(token, _)| *token) else { return };
        let Some(mut h) = handshakes.remove(&token) else { return };
        if let Some(t) = h.socket.transport_mut() {
            let _ = t.deregister(self.poll.registry());
        }
        h.socket.abort();
        self.pending.fetch_sub(1, Ordering::AcqRel);
    }

    /// Accepts every waiting TCP connection, up to the pending bound, and starts its
    /// handshake. `Ok(Some(delay))`: out of descriptors or memory, try again after `delay`
    /// (the [`crate::accept`] policy); `Err`: the listener is unusable.
    fn accept_ready(
        &mut self,
        handshakes: &mut HashMap<usize, Handshake>,
        next_token: &mut usize,
        backoff: &mut Backoff,
    ) -> Result<Option<Duration>, ()> {
        // `pending` counts the handshakes in progress and the outcomes not yet taken.
        while self.pending.load(Ordering::Acquire).saturating_sub(handshakes.len())
            < self.settings.max_pending
        {
            let (stream, peer) = match self.listener.accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => match AcceptError::classify(&e) {
                    // A client that went away before we took it is not the server's failure.
                    AcceptError::ClientGone => continue,
                    AcceptError::ListenerFailed => return Err(()),
                    _ => return Ok(Some(backoff.next_delay())),
                },
            };
            backoff.reset();
            // At the bound, the oldest handshake in progress makes room: this peer's own when
            // it has its share or more, so that one address cannot take every slot.
            if handshakes.len() >= self.settings.max_pending {
                let ip = peer.ip();
                if handshakes.values().filter(|h| h.peer.ip() == ip).count() >= MAX_PENDING_PER_PEER
                {
                    self.evict_oldest(handshakes, |h| h.peer.ip() == ip);
                } else {
                    self.evict_oldest(handshakes, |_| true);
                }
            }
            self.pending.fetch_add(1, Ordering::AcqRel);
            let settings = &self.settings;
            let mut socket = SslSocket::with_backend_handle(settings.backend.clone());
            socket.connection_mut().set_shared_ssl_configuration(settings.config.clone());
            let token = *next_token;
            *next_token = next_token.wrapping_add(1).max(FIRST_HANDSHAKE);
            let registry = self.poll.registry();
            let adopted = socket
                .set_socket_options(&settings.options)
                .and_then(|()| socket.adopt_connected(stream))
                .and_then(|()| match socket.transport_mut() {
                    Some(t) => t.register(registry, Token(token)).map_err(Error::io),
                    None => Ok(()),
                });
            if let Err(error) = adopted {
                let _ = self.results.send(Accepted::Failed(HandshakeFailure {
                    peer,
                    error,
                    ssl_errors: Vec::new(),
                }));
                continue;
            }
            if let Some(setup) = &settings.setup {
                setup(&mut socket);
            }
            socket.set_handshake_timeout(Some(settings.handshake_timeout));
            socket.start_server_encryption();
            let now = Instant::now();
            let deadline = now
                .checked_add(settings.handshake_timeout)
                .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600));
            handshakes.insert(token, Handshake { socket, peer, deadline });
            // The ClientHello may be there already.
            self.step(handshakes, token);
        }
        Ok(None)
    }
}

impl std::fmt::Debug for SslServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SslServer")
            .field("backend", &self.settings.backend.name())
            .field("local_address", &self.local_address())
            .field("max_pending", &self.settings.max_pending)
            .field("handshake_timeout", &self.settings.handshake_timeout)
            .finish_non_exhaustive()
    }
}
