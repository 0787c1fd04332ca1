//! `AsyncSslSocket`: the tokio driver, a short poll loop over `Connection`.

use socket2::SockRef;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ssl_api::{Error, Role, SocketState, SslBackend, SslConfiguration, SslError, UsageError};
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio::time::Sleep;

use super::events::EventStream;
use super::handler::{Decision, SslErrorsHandler};
use super::waiters::{Side, Waiters};
use crate::blocking::EventHandler;
use crate::conn::{Action, Connection, Control, Event, Wait};
use crate::forward::forward_connection_api;
use crate::registry;

/// A TLS socket with QSslSocket's contract on tokio: `AsyncRead` + `AsyncWrite`, so
/// `tokio::io::copy`, `BufReader`, codecs and `tokio::io::split` work.
///
/// The handshake runs inside the async methods that start it (`connect_to_host_encrypted`,
/// `start_client_encryption`, `start_server_encryption`, `wait_for_encrypted`); certificate
/// errors are decided there by the ignore lists, the event handler, or an async
/// [`SslErrorsHandler`]. Needs a tokio runtime with the time driver enabled (handshake
/// timeouts).
///
/// `tokio::io::split` halves may run in two tasks: each direction wakes the task waiting on
/// it. What the application has not asked to read stays bounded (the engine's record buffer,
/// then the TCP window pushes back on the peer) however long it only writes.
///
/// Half-close, as tokio and RFC 8446 §6.1 have it: `shutdown()` closes our direction only
/// (close_notify, then the TCP write side) and reading goes on until the peer's end; the
/// peer's close_notify ends its direction, and we may still write. Both directions over:
/// Unconnected. `disconnect_from_host` is Qt's: it closes both.
///
/// Cancellation: `poll_read` / `poll_write` / `poll_flush` are cancel-safe (bytes are either
/// taken or not). Dropping a `connect_*`, `start_*` or `wait_for_encrypted` future mid-way
/// leaves the host lookup, the TCP connect or the handshake where it was (the state says
/// which), and the handshake timeout keeps running; the next await continues it, and a
/// certificate decision the [`SslErrorsHandler`] had not given yet is asked for again.
/// Dropping `disconnect_from_host` mid-way leaves the close in progress; `poll_shutdown`
/// finishes our direction of it.
///
/// Dropping the socket aborts it (Qt's destructor does the same): what was not sent is
/// discarded, no close_notify. `shutdown().await` (or `disconnect_from_host`) first ends it
/// without losing a byte: a socket dropped after its direction was closed hands its stream
/// to a background task that reads and discards what the peer still sends until the peer's
/// end (bounded by the disconnect timeout), because closing it with unread input would make
/// the kernel reset the connection, and the peer would lose what it had not read of ours.
pub struct AsyncSslSocket {
    conn: Connection,
    stream: Option<TcpStream>,
    handler: Option<EventHandler>,
    decider: Option<Arc<dyn SslErrorsHandler>>,
    events: Option<UnboundedSender<Event>>,
    timer: Option<Pin<Box<Sleep>>>,
    /// Certificate errors the async decider has not answered yet (asked again if its answer
    /// was cancelled).
    pending_decision: Option<Vec<SslError>>,
    shutdown_started: bool,
    /// Where the connect goes (`connect_to_host*`).
    target: Option<(String, u16)>,
    /// The host lookup or TCP connect in progress, kept across cancelled awaits.
    dial: Option<Dial>,
    /// The target's local lookup before a SOCKS5 proxy's (`Connection::target_lookup`),
    /// kept across cancelled awaits.
    target_lookup: Option<Boxed<Vec<SocketAddr>>>,
    waiters: Waiters,
    net: crate::net::Net,
}

type Boxed<T> = Pin<Box<dyn Future<Output = io::Result<T>> + Send>>;

/// A connect to `addr` from a socket [`Net::socket_for`](crate::net::Net::socket_for) made:
/// options applied, bound if asked. A refused option or binding fails the attempt with that
/// error inside an `io::Error` ([`setup_error`] takes it out).
fn connect_attempt(net: &mut crate::net::Net, addr: std::net::SocketAddr) -> Boxed<TcpStream> {
    match net.socket_for(addr) {
        Ok(socket) => {
            let socket = tokio::net::TcpSocket::from_std_stream(socket.into());
            Box::pin(socket.connect(addr))
        }
        Err(err) => Box::pin(std::future::ready(Err(io::Error::other(SetupFailed(err))))),
    }
}

/// A socket the connect could not set up (not the connect's own failure).
#[derive(Debug)]
struct SetupFailed(Error);

impl std::fmt::Display for SetupFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SetupFailed {}

fn is_setup(err: &io::Error) -> bool {
    err.get_ref().is_some_and(|e| e.is::<SetupFailed>())
}

fn setup_error(err: io::Error) -> Error {
    match err.get_ref().and_then(|e| e.downcast_ref::<SetupFailed>()) {
        Some(SetupFailed(setup)) => setup.clone(),
        None => Error::io(err),
    }
}

/// The host lookup or TCP connect in progress.
enum Dial {
    Lookup(Boxed<Vec<SocketAddr>>),
    /// Connecting to one address; `rest` are tried next, in order.
    Connect {
        attempt: Boxed<TcpStream>,
        rest: std::vec::IntoIter<SocketAddr>,
    },
}

forward_connection_api!(AsyncSslSocket);
crate::net::socket_net_api!(AsyncSslSocket);

/// Where a drive stopped.
enum Step {
    /// The wait is over.
    Done,
    /// An async certificate decision is due (see [`SslErrorsHandler`]): `pending_decision`.
    Decide,
}

impl AsyncSslSocket {
    /// A socket on the process's active backend with the default configuration. When no
    /// backend is usable, the socket fails at its first connection attempt with that reason.
    #[must_use]
    pub fn new() -> AsyncSslSocket {
        let backend = crate::active_backend().unwrap_or_else(crate::unavailable_backend);
        AsyncSslSocket::with_backend_handle(backend)
    }

    /// A socket on the compiled-in backend called `name`.
    ///
    /// # Errors
    /// When no usable backend of that name is compiled in.
    pub fn with_backend(name: &str) -> Result<AsyncSslSocket, Error> {
        Ok(AsyncSslSocket::with_backend_handle(crate::registry::backend(name)?))
    }

    /// A socket on `backend`.
    #[must_use]
    pub fn with_backend_handle(backend: Arc<dyn SslBackend>) -> AsyncSslSocket {
        let mut conn = Connection::new(backend, SslConfiguration::default_configuration());
        conn.set_half_close(true);
        AsyncSslSocket {
            conn,
            stream: None,
            handler: None,
            decider: None,
            events: None,
            timer: None,
            pending_decision: None,
            shutdown_started: false,
            target: None,
            dial: None,
            target_lookup: None,
            waiters: Waiters::new(),
            net: crate::net::Net::default(),
        }
    }

    /// Adopts a connected tokio stream, unencrypted, on the active backend (e.g. one a
    /// listener accepted; then `start_server_encryption`).
    ///
    /// # Errors
    /// None today; kept for symmetry with the blocking `set_socket_descriptor`.
    pub fn from_tcp_stream(stream: TcpStream) -> Result<AsyncSslSocket, Error> {
        let mut socket = AsyncSslSocket::new();
        socket.set_socket_descriptor(stream)?;
        Ok(socket)
    }

    /// Adopts a connected tokio stream (`setSocketDescriptor`): ConnectedState, unencrypted;
    /// the socket options set are applied to it.
    ///
    /// # Errors
    /// An option the stream refuses (nothing changes then).
    pub fn set_socket_descriptor(&mut self, stream: TcpStream) -> Result<(), Error> {
        self.net.apply(SockRef::from(&stream))?;
        self.reset();
        self.net.unbind();
        self.stream = Some(stream);
        self.conn.handle_adopted();
        self.dispatch();
        Ok(())
    }

    /// Adopts a TCP socket in `state` (`setSocketDescriptor(descriptor, state)`): a std
    /// `TcpStream`, an `OwnedFd` (`OwnedSocket` on Windows) or a `socket2::Socket`.
    /// `ConnectedState`: a connected socket, unencrypted; `BoundState`: a bound, unconnected
    /// socket the next `connect_to_host*` goes out from. Call it inside a tokio runtime.
    ///
    /// # Errors
    /// `Socket(NotATcpSocket)` for a descriptor that is not a TCP socket over IPv4 or IPv6,
    /// `Socket(DescriptorState)` when it is not in `state`, `Socket(AdoptedState)` for any
    /// other state; an `Io` error outside a tokio runtime. Nothing changes then (the
    /// descriptor is closed).
    pub fn set_socket_descriptor_with_state(
        &mut self,
        socket: impl Into<socket2::Socket>,
        state: SocketState,
    ) -> Result<(), Error> {
        let socket = socket.into();
        crate::net::check_adopted(&socket, state)?;
        if state == SocketState::BoundState {
            self.net.apply(SockRef::from(&socket))?;
            self.reset();
            self.net.adopt_bound(socket)?;
            self.conn.handle_bound();
            self.dispatch();
            return Ok(());
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::io(io::Error::other("adopting a socket needs a tokio runtime")));
        }
        let stream = TcpStream::from_std(socket.into()).map_err(Error::io)?;
        self.set_socket_descriptor(stream)
    }

    /// The TCP socket, once it exists (connected, closing).
    fn live_socket(&self) -> Option<SockRef<'_>> {
        self.stream.as_ref().map(SockRef::from)
    }

    #[cfg(unix)]
    fn stream_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        self.stream.as_ref().map(|s| s.as_fd())
    }

    #[cfg(windows)]
    fn stream_fd(&self) -> Option<std::os::windows::io::BorrowedSocket<'_>> {
        use std::os::windows::io::AsSocket;
        self.stream.as_ref().map(|s| s.as_socket())
    }

    fn after_net_change(&mut self) {
        self.dispatch();
    }

    /// Sets the handler that receives every event, in order (the same type as the blocking
    /// socket's). It may call `ignore_ssl_errors*` on `SslErrors`, or `abort`.
    pub fn set_event_handler(
        &mut self,
        handler: impl FnMut(&Event, &mut Control<'_>) + Send + 'static,
    ) {
        self.handler = Some(Box::new(handler));
    }

    /// Sets an async decider for certificate errors. While one is set the connection pauses on
    /// `SslErrors` (`PauseOnSslErrors`) and the decider's answer resumes it.
    pub fn set_ssl_errors_handler(&mut self, handler: Arc<dyn SslErrorsHandler>) {
        self.decider = Some(handler);
        self.conn.set_pause_mode(ssl_api::PauseMode::PauseOnSslErrors);
    }

    /// Starts recording events; the returned stream yields every event from now on.
    pub fn events(&mut self) -> EventStream {
        let (tx, rx) = unbounded_channel();
        self.events = Some(tx);
        EventStream { rx }
    }

    /// Connects TCP to `host:port`, unencrypted (STARTTLS follows with
    /// `start_client_encryption`).
    ///
    /// # Errors
    /// `HostNotFound`, or the connect error of the last address tried.
    pub async fn connect_to_host(&mut self, host: &str, port: u16) -> Result<(), Error> {
        self.reset();
        self.conn.connect_to_host(host);
        crate::proxy::route(&mut self.conn, port);
        self.target = Some((host.to_owned(), port));
        self.skip_lookup_of_literal();
        self.dispatch();
        self.drive(Wait::Connected).await
    }

    /// Connects TCP to `address` (`connectToHost(QHostAddress, port)`), with no lookup.
    ///
    /// # Errors
    /// The connect error.
    pub async fn connect_to_address(&mut self, address: std::net::SocketAddr) -> Result<(), Error> {
        self.connect_to_host(&address.ip().to_string(), address.port()).await
    }

    /// Connects to `address` and completes the client handshake, verifying the server as the
    /// peer verify name if one is set, else as the IP address.
    ///
    /// # Errors
    /// As `connect_to_host_encrypted`.
    pub async fn connect_to_address_encrypted(
        &mut self,
        address: std::net::SocketAddr,
    ) -> Result<(), Error> {
        self.connect_to_host_encrypted(&address.ip().to_string(), address.port()).await
    }

    /// An IP literal to dial (the target, or the proxy's address) needs no lookup: its one
    /// address goes straight to the connect (HostLookupState and `HostFound` pass at once, as
    /// in Qt). Not when a SOCKS5 proxy wants the target's name looked up here first.
    fn skip_lookup_of_literal(&mut self) {
        if self.conn.target_lookup().is_some() || self.conn.state() != SocketState::HostLookupState
        {
            return;
        }
        let Some((host, port)) = self.conn.dial_target() else { return };
        let Some(ip) = crate::net::literal(&host) else { return };
        let mut addrs = self.net.candidates([std::net::SocketAddr::new(ip, port)]).into_iter();
        match addrs.next() {
            Some(first) => {
                self.conn.handle_host_found();
                let attempt = connect_attempt(&mut self.net, first);
                self.dial = Some(Dial::Connect { attempt, rest: addrs });
            }
            None => self.conn.handle_error(Error::HostNotFound { host }),
        }
    }

    /// Connects to `host:port` and completes the client handshake, verifying the server as
    /// `host` (or the peer verify name). Bytes written before this returns wait for
    /// `Encrypted`.
    ///
    /// # Errors
    /// The connection's error: `Config` before any byte for a configuration the backend cannot
    /// honour, `Rejected` with the certificate errors, handshake and transport errors.
    pub async fn connect_to_host_encrypted(&mut self, host: &str, port: u16) -> Result<(), Error> {
        self.reset();
        match registry::context_sharing(&mut self.conn, Role::Client) {
            Ok(context) => {
                self.conn.connect_to_host_encrypted(host, context);
                crate::proxy::route(&mut self.conn, port);
            }
            Err(err) => {
                self.conn.connect_to_host(host);
                return self.fail(err);
            }
        }
        self.target = Some((host.to_owned(), port));
        self.skip_lookup_of_literal();
        self.dispatch();
        self.wait_for_encrypted().await
    }

    /// As [`AsyncSslSocket::connect_to_host_encrypted`], verifying the server as `peer_name`.
    ///
    /// # Errors
    /// As `connect_to_host_encrypted`.
    pub async fn connect_to_host_encrypted_with_peer_name(
        &mut self,
        host: &str,
        port: u16,
        peer_name: &str,
    ) -> Result<(), Error> {
        self.conn.set_peer_verify_name(peer_name);
        self.connect_to_host_encrypted(host, port).await
    }

    /// Starts the client handshake on a connected unencrypted socket (STARTTLS) and completes
    /// it. On a socket in any other state or mode it only waits for `Encrypted`.
    ///
    /// # Errors
    /// As `connect_to_host_encrypted`.
    pub async fn start_client_encryption(&mut self) -> Result<(), Error> {
        self.start_encryption(Role::Client);
        self.wait_for_encrypted().await
    }

    /// Starts and completes the server handshake on a connected unencrypted socket.
    ///
    /// # Errors
    /// As `connect_to_host_encrypted`.
    pub async fn start_server_encryption(&mut self) -> Result<(), Error> {
        self.start_encryption(Role::Server);
        self.wait_for_encrypted().await
    }

    fn start_encryption(&mut self, role: Role) {
        if !self.conn.can_start_encryption() {
            return;
        }
        match registry::context_sharing(&mut self.conn, role) {
            Ok(context) if role == Role::Client => {
                self.conn.start_client_encryption(&context, now());
            }
            Ok(context) => self.conn.start_server_encryption(&context, now()),
            Err(err) => self.conn.handle_error(err),
        }
    }

    /// Drives the handshake until the peer is accepted (after a pause on `SslErrors`, call
    /// `ignore_ssl_errors*` and `resume()`, then this).
    ///
    /// # Errors
    /// The connection's error, or `Usage` when the socket waits for the application.
    pub async fn wait_for_encrypted(&mut self) -> Result<(), Error> {
        self.drive(Wait::Encrypted).await
    }

    /// Continues after a pause on `SslErrors`.
    pub fn resume(&mut self) {
        self.conn.resume();
    }

    /// Closes gracefully: pending data, close_notify, the write side shut down, then the
    /// peer's close_notify or end of stream (bounded by the disconnect timeout), then
    /// Unconnected and the stream closed.
    ///
    /// # Errors
    /// A transport error while flushing.
    pub async fn disconnect_from_host(&mut self) -> Result<(), Error> {
        self.conn.disconnect_from_host();
        self.finish_close().await
    }

    /// `aboutToClose`, then a graceful close as [`AsyncSslSocket::disconnect_from_host`]
    /// does, discarding unread data: what was read into the socket and what arrives until the
    /// peer's end (`close`, as on the blocking socket).
    ///
    /// # Errors
    /// As `disconnect_from_host`.
    pub async fn close(&mut self) -> Result<(), Error> {
        self.conn.close();
        self.finish_close().await
    }

    async fn finish_close(&mut self) -> Result<(), Error> {
        self.shutdown_started = true;
        match self.drive(Wait::Disconnected).await {
            Err(err)
                if self.conn.state() == SocketState::UnconnectedState
                    && !matches!(err, Error::Usage(_)) =>
            {
                Ok(())
            }
            other => other,
        }
    }

    /// Drops the connection at once; a binding is released.
    pub fn abort(&mut self) {
        self.conn.abort();
        self.dispatch();
        self.stream = None;
        self.dial = None;
        self.net.unbind();
    }

    // ---- the drive loop -----------------------------------------------------------------

    fn reset(&mut self) {
        self.stream = None;
        self.timer = None;
        self.pending_decision = None;
        self.shutdown_started = false;
        self.target = None;
        self.dial = None;
        self.target_lookup = None;
    }

    fn fail(&mut self, err: Error) -> Result<(), Error> {
        self.conn.handle_error(err.clone());
        self.dispatch();
        Err(err)
    }

    /// Drives until `wait` holds, taking async certificate decisions on the way.
    async fn drive(&mut self, wait: Wait) -> Result<(), Error> {
        self.conn.begin_wait(wait);
        loop {
            if self.decision_due() {
                self.decide().await;
            }
            match poll_fn(|cx| self.poll_drive(cx, wait, Side::Reader)).await? {
                Step::Done => return Ok(()),
                Step::Decide => {}
            }
        }
    }

    /// Whether the connection waits for the async decider's answer (given or cancelled).
    fn decision_due(&self) -> bool {
        self.pending_decision.is_some() && self.conn.is_paused()
    }

    /// Asks the async decider, within the handshake's deadline. Cancel-safe: until the
    /// answer is applied the errors stay pending, and the next drive asks again.
    async fn decide(&mut self) {
        let Some(errors) = self.pending_decision.clone() else { return };
        let chain = self.conn.peer_certificate_chain();
        let Some(decider) = self.decider.clone() else {
            return self.answer(Decision::Reject);
        };
        let asked = decider.decide(&errors, &chain);
        let answer = match self.conn.poll_timeout() {
            Some(deadline) => {
                tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), asked).await.ok()
            }
            None => Some(asked.await),
        };
        match answer {
            Some(decision) => self.answer(decision),
            // The handshake's time ran out first: it fails with SocketTimeoutError.
            None => self.conn.handle_timeout(now()),
        }
    }

    fn answer(&mut self, decision: Decision) {
        self.pending_decision = None;
        self.apply(decision);
    }

    /// The decider's answer is the whole decision: it replaces the ignore settings given
    /// before.
    fn apply(&mut self, decision: Decision) {
        self.conn.clear_ignores();
        match decision {
            Decision::Ignore => self.conn.ignore_ssl_errors(),
            Decision::IgnoreExactly(list) => self.conn.ignore_ssl_errors_list(list),
            Decision::Reject => {}
        }
        self.conn.resume();
    }

    /// Carries out the connection's actions for `wait`, on `side`'s behalf, until it is over
    /// or only the transport or the clock can move it on (then `Pending`: the socket's own
    /// waker is registered, and `cx`'s task is parked on `side`, see `waiters.rs`).
    fn poll_drive(
        &mut self,
        cx: &mut Context<'_>,
        wait: Wait,
        side: Side,
    ) -> Poll<Result<Step, Error>> {
        let result = self.poll_actions(cx, wait, side);
        match &result {
            Poll::Pending => {}
            Poll::Ready(Ok(_)) => self.waiters.unpark(side),
            // The other side cannot go on either: let it see the error.
            Poll::Ready(Err(_)) => {
                self.waiters.unpark(side);
                self.waiters.wake_other(side);
            }
        }
        result
    }

    fn poll_actions(
        &mut self,
        cx: &mut Context<'_>,
        wait: Wait,
        side: Side,
    ) -> Poll<Result<Step, Error>> {
        let waker = self.waiters.waker();
        let mut own = Context::from_waker(&waker);
        loop {
            let now = now();
            match self.conn.poll_action(wait, None, now) {
                Action::Done => return Poll::Ready(Ok(Step::Done)),
                Action::Fail(err) => {
                    self.dispatch();
                    return Poll::Ready(Err(err));
                }
                Action::Deliver => {
                    self.dispatch();
                    if self.decision_due() {
                        return Poll::Ready(Ok(Step::Decide));
                    }
                }
                Action::Transfer => match &self.stream {
                    Some(stream) => {
                        if self.conn.pump(&mut TryIo(stream), now) {
                            self.waiters.wake_other(side);
                        }
                    }
                    None => self.conn.handle_error(Error::Usage(UsageError::NotConnected)),
                },
                Action::Resolve => {
                    self.waiters.park(side, cx.waker());
                    if self.poll_target_lookup(&mut own).is_pending() {
                        return Poll::Pending;
                    }
                    if self.conn.state() != SocketState::HostLookupState {
                        continue; // the target was not found
                    }
                    if self.poll_lookup(&mut own).is_pending() {
                        return Poll::Pending;
                    }
                }
                Action::Connect { until } => {
                    self.waiters.park(side, cx.waker());
                    if self.poll_connect(&mut own, now).is_pending() {
                        if self.poll_clock(&mut own, until) {
                            self.conn.handle_woken();
                        } else {
                            return Poll::Pending;
                        }
                    }
                }
                Action::Wait { read, write, until } => {
                    self.waiters.park(side, cx.waker());
                    if self.poll_wait(&mut own, read, write, until) {
                        self.conn.handle_woken();
                    } else {
                        return Poll::Pending;
                    }
                }
                Action::ShutdownWrite => {
                    if let Some(stream) = self.stream.as_mut() {
                        // Half-closes TCP; on a socket this completes at once.
                        self.waiters.park(side, cx.waker());
                        if Pin::new(stream).poll_shutdown(&mut own).is_pending() {
                            return Poll::Pending;
                        }
                    }
                    self.conn.handle_write_shutdown(now);
                }
                Action::Close => {
                    let farewell = self.conn.take_farewell();
                    if let Some(stream) = self.stream.take() {
                        if !farewell.is_empty() {
                            // Best effort, without waiting: the engine's alert, then our end
                            // of stream.
                            let _ = stream.try_write(&farewell);
                            if let Ok(std) = stream.into_std() {
                                let _ = std.shutdown(std::net::Shutdown::Write);
                            }
                        }
                    }
                    self.conn.handle_closed();
                    self.waiters.wake_other(side);
                }
            }
        }
    }

    /// HostLookupState: the lookup of the target, started on first call.
    fn poll_lookup(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some((host, port)) = self.conn.dial_target() else {
            self.conn.handle_error(Error::Usage(UsageError::NotConnected));
            return Poll::Ready(());
        };
        if !matches!(self.dial, Some(Dial::Lookup(_))) {
            let name = host.clone();
            self.dial = Some(Dial::Lookup(Box::pin(async move {
                Ok(tokio::net::lookup_host((name.as_str(), port)).await?.collect())
            })));
        }
        let Some(Dial::Lookup(lookup)) = &mut self.dial else { return Poll::Pending };
        let Poll::Ready(result) = lookup.as_mut().poll(cx) else { return Poll::Pending };
        self.dial = None;
        let mut addrs = self.net.candidates(result.unwrap_or_default()).into_iter();
        match addrs.next() {
            Some(first) => {
                self.conn.handle_host_found();
                let attempt = connect_attempt(&mut self.net, first);
                self.dial = Some(Dial::Connect { attempt, rest: addrs });
            }
            None => self.conn.handle_error(Error::HostNotFound { host }),
        }
        Poll::Ready(())
    }

    /// Through a SOCKS5 proxy that does not resolve names, the target's local lookup, before
    /// the proxy's (`Connection::target_lookup`).
    fn poll_target_lookup(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some((host, port)) = self.conn.target_lookup() else { return Poll::Ready(()) };
        let lookup = self.target_lookup.get_or_insert_with(|| {
            Box::pin(
                async move { Ok(tokio::net::lookup_host((host.as_str(), port)).await?.collect()) },
            )
        });
        let Poll::Ready(result) = lookup.as_mut().poll(cx) else { return Poll::Pending };
        self.target_lookup = None;
        self.conn.handle_target_resolved(&result.unwrap_or_default());
        Poll::Ready(())
    }

    /// ConnectingState: the connect to each address in turn; the error of the last one is
    /// the one reported.
    fn poll_connect(&mut self, cx: &mut Context<'_>, now: std::time::Instant) -> Poll<()> {
        let Some(Dial::Connect { attempt, rest }) = &mut self.dial else {
            self.conn.handle_error(Error::Usage(UsageError::NotConnected));
            return Poll::Ready(());
        };
        let Poll::Ready(result) = attempt.as_mut().poll(cx) else { return Poll::Pending };
        match result {
            Ok(stream) => {
                // The options (LowDelay on by default) were set when the socket was made;
                // those set while it connected are applied now.
                self.dial = None;
                self.net.unbind();
                match self.net.catch_up(SockRef::from(&stream)) {
                    Ok(()) => {
                        self.stream = Some(stream);
                        self.conn.handle_connected(now);
                    }
                    Err(err) => self.conn.handle_error(err),
                }
            }
            Err(err) => match rest.next() {
                Some(next) if !is_setup(&err) => *attempt = connect_attempt(&mut self.net, next),
                _ => {
                    self.dial = None;
                    self.net.unbind();
                    self.conn.handle_error(setup_error(err));
                }
            },
        }
        Poll::Ready(())
    }

    /// Registers for the transport's readiness and the clock; whether any is ready now.
    fn poll_wait(
        &mut self,
        cx: &mut Context<'_>,
        read: bool,
        write: bool,
        until: Option<std::time::Instant>,
    ) -> bool {
        let mut ready = false;
        if let Some(stream) = &self.stream {
            if read {
                if let Poll::Ready(r) = stream.poll_read_ready(cx) {
                    if let Err(e) = r {
                        self.conn.handle_error(Error::io(e));
                    }
                    ready = true;
                }
            }
            if write {
                if let Poll::Ready(r) = stream.poll_write_ready(cx) {
                    if let Err(e) = r {
                        self.conn.handle_error(Error::io(e));
                    }
                    ready = true;
                }
            }
        }
        self.poll_clock(cx, until) || ready
    }

    /// Registers for the clock at `until`; whether it has come.
    fn poll_clock(&mut self, cx: &mut Context<'_>, until: Option<std::time::Instant>) -> bool {
        let mut ready = false;
        match until {
            // No deadline any more (the handshake is over): the timer's memory and its place
            // in the runtime's timer wheel go.
            None => self.timer = None,
            Some(deadline) => {
                let deadline = tokio::time::Instant::from_std(deadline);
                let timer =
                    self.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if timer.deadline() != deadline {
                    timer.as_mut().reset(deadline);
                }
                if timer.as_mut().poll(cx).is_ready() {
                    self.timer = None;
                    ready = true;
                }
            }
        }
        ready
    }

    fn dispatch(&mut self) {
        while let Some(event) = self.conn.poll_event() {
            if let Event::SslErrors(errors) = &event {
                if self.decider.is_some() {
                    self.pending_decision = Some(errors.clone());
                }
            }
            if let Some(handler) = self.handler.as_mut() {
                handler(&event, &mut Control::new(&mut self.conn));
            }
            if let Some(tx) = &self.events {
                if tx.send(event).is_err() {
                    self.events = None; // nobody listens any more
                }
            }
        }
    }

    /// `poll_drive` for the `AsyncRead` / `AsyncWrite` methods, which cannot await a
    /// certificate decision: there the safe answer is no.
    fn poll_until(
        &mut self,
        cx: &mut Context<'_>,
        wait: Wait,
        side: Side,
    ) -> Poll<Result<(), Error>> {
        match self.poll_drive(cx, wait, side) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(Step::Done)) => Poll::Ready(Ok(())),
            Poll::Ready(Ok(Step::Decide)) => {
                self.answer(Decision::Reject);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        }
    }
}

impl Drop for AsyncSslSocket {
    fn drop(&mut self) {
        let Some(stream) = self.stream.take() else { return };
        if !self.conn.is_write_shut() {
            return; // an abort: the stream closes here
        }
        // What has arrived goes now (the runtime may be ending with this socket); what
        // arrives later, in the background while the runtime runs.
        let Ok(stream) = stream.into_std() else { return };
        discard_arrived(&stream);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let linger = self.conn.disconnect_timeout();
        runtime.spawn(async move {
            let Ok(stream) = TcpStream::from_std(stream) else { return };
            let drain = drain_to_end(&stream);
            match linger {
                Some(t) => {
                    let _ = tokio::time::timeout(t, drain).await;
                }
                None => drain.await,
            }
        });
    }
}

/// Reads and discards what the (non-blocking) stream holds now, without waiting.
fn discard_arrived(mut stream: &std::net::TcpStream) {
    with_discard_scratch(
        |scratch| {
            while matches!(io::Read::read(&mut stream, scratch), Ok(n) if n > 0) {}
        },
    );
}

/// Reads and discards until the end of stream or an error.
async fn drain_to_end(stream: &TcpStream) {
    // The scratch is not held across the await: the task stays small (a 16 KiB array in the
    // future was zeroed and copied into the task on every close).
    while stream.readable().await.is_ok() {
        match with_discard_scratch(|scratch| stream.try_read(scratch)) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
}

/// Where closing sockets read what they discard: the thread's scratch, zeroed once (a new
/// stack array was zeroed on every close). A nested call, or one while the thread's storage
/// is torn down (a socket dropped by a thread-local destructor), zeroes a scratch of its own.
fn with_discard_scratch<R>(f: impl FnOnce(&mut [u8]) -> R) -> R {
    thread_local! {
        static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    }
    let mut scratch = SCRATCH.try_with(std::cell::Cell::take).unwrap_or_default();
    if scratch.is_empty() {
        scratch.resize(16 * 1024, 0);
    }
    let result = f(&mut scratch);
    let _ = SCRATCH.try_with(|cell| cell.set(scratch));
    result
}

/// The clock the connection is given: tokio's, so that a paused or mocked runtime clock
/// (`tokio::time::pause`) drives its deadlines as it drives the timers.
fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

/// `io::Read` / `io::Write` over a tokio stream's non-blocking `try_*` calls, for the
/// connection. `WouldBlock` clears tokio's readiness, so the next `poll_*_ready` registers.
struct TryIo<'a>(&'a TcpStream);

/// Reads and writes without waiting. A short read means the receive queue is drained (a
/// short write: the send buffer is full), so readiness is cleared then too: the next attempt
/// waits for the reactor instead of making a system call that would only say `WouldBlock`
/// (tokio never clears the read-closed or error readiness, so an end of stream is not
/// missed).
impl io::Read for TryIo<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut short = None;
        let result = self.0.try_io(Interest::READABLE, || {
            let n = self.0.try_read(buf)?;
            if n > 0 && n < buf.len() {
                short = Some(n);
                return Err(io::ErrorKind::WouldBlock.into());
            }
            Ok(n)
        });
        short.map_or(result, Ok)
    }
}

impl io::Write for TryIo<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[io::IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let len: usize = bufs.iter().map(|b| b.len()).sum();
        let mut short = None;
        let result = self.0.try_io(Interest::WRITABLE, || {
            let n = self.0.try_write_vectored(bufs)?;
            if n > 0 && n < len {
                short = Some(n);
                return Err(io::ErrorKind::WouldBlock.into());
            }
            Ok(n)
        });
        short.map_or(result, Ok)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsyncRead for AsyncSslSocket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            match this.conn.read(buf.initialize_unfilled()) {
                Ok(n) if n > 0 && this.conn.state() == SocketState::ConnectedState => {
                    buf.advance(n);
                    this.dispatch();
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                other => {
                    // What the read changed (the peer's end: the events, our close_notify in
                    // answer) is carried out before it returns.
                    let _ = this.poll_until(cx, Wait::Nothing, Side::Reader);
                    return Poll::Ready(other.map(|n| buf.advance(n)));
                }
            }
            match this.poll_until(cx, Wait::Readable, Side::Reader) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(())) => {}
                // The connection's own error comes back from `conn.read` after the data.
                Poll::Ready(Err(_)) if this.conn.fatal_error().is_some() => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
            }
        }
    }
}

impl AsyncWrite for AsyncSslSocket {
    /// Takes bytes into the connection (encrypting them once encrypted); never returns
    /// `Pending` after taking bytes. Call `poll_flush` to get them onto the wire.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            match this.conn.write(buf) {
                Ok(n) => {
                    // As far as it goes without waiting (a decision cannot be due here: the
                    // connection is encrypted or not started).
                    let _ = this.poll_until(cx, Wait::Send, Side::Writer);
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
            match this.poll_until(cx, Wait::Writable, Side::Writer) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.conn.state() == SocketState::UnconnectedState && this.conn.fatal_error().is_none() {
            return Poll::Ready(Ok(()));
        }
        this.poll_until(cx, Wait::Flushed, Side::Writer).map_err(io::Error::from)
    }

    /// Closes our direction (half-close): the pending data, then close_notify, then the TCP
    /// write side; completes once they are on the transport. Reading goes on until the
    /// peer's close_notify or end of stream (read to the end before dropping the socket, or
    /// what the peer still sends meets a reset).
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.shutdown_started {
            this.shutdown_started = true;
            this.conn.close_write();
        }
        match this.poll_until(cx, Wait::WriteClosed, Side::Writer) {
            Poll::Ready(Err(_)) if this.conn.state() == SocketState::UnconnectedState => {
                Poll::Ready(Ok(()))
            }
            other => other.map_err(io::Error::from),
        }
    }
}
