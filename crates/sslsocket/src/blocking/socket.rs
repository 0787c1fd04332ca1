//! `SslSocket`: the blocking driver, a short loop over `Connection` on a std TCP stream.

use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::SockRef;
use ssl_api::{Error, Role, SocketState, SslBackend, SslConfiguration, UsageError};

use super::transport::Transport;
use crate::conn::{Action, Connection, Control, Event, Wait};
use crate::forward::forward_connection_api;
use crate::net::{socket_net_api, Net};
use crate::registry;

/// What the application's event handler receives: the event and a [`Control`] of the
/// connection, on which it may call `ignore_ssl_errors*`, `abort`, `disconnect_from_host`,
/// `close` and every getter.
pub type EventHandler = Box<dyn FnMut(&Event, &mut Control<'_>) + Send>;

/// A TLS socket with QSslSocket's contract, blocking, on std networking.
///
/// `connect_to_host*` only record the intent (as Qt's do); the `wait_for_*` calls, `read`,
/// `write` back-pressure and `flush` drive the connection: host lookup, TCP connect, handshake,
/// verification policy, transfer. Events go to the handler set with
/// [`SslSocket::set_event_handler`] as they happen.
///
/// Dropping a socket aborts it, as Qt's destructor does: bytes not yet sent are discarded and
/// the descriptor is closed without close_notify (the peer sees a truncation). To end a
/// connection without losing a byte, call [`SslSocket::disconnect_from_host`] and
/// [`SslSocket::wait_for_disconnected`] first.
///
/// ```no_run
/// use std::io::{Read, Write};
/// use std::time::Duration;
/// use sslsocket::SslSocket;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut socket = SslSocket::new();
/// socket.connect_to_host_encrypted("example.com", 443);
/// socket.write_all(b"GET / HTTP/1.0\r\nHost: example.com\r\n\r\n")?; // queued until encrypted
/// socket.wait_for_encrypted(Duration::from_secs(5))?;
/// let mut reply = Vec::new();
/// socket.read_to_end(&mut reply)?;
/// # Ok(()) }
/// ```
pub struct SslSocket {
    conn: Connection,
    transport: Option<Transport>,
    target: Option<(String, u16)>,
    addresses: VecDeque<SocketAddr>,
    last_connect_error: Option<io::Error>,
    handler: Option<EventHandler>,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    net: Net,
}

forward_connection_api!(SslSocket);
socket_net_api!(SslSocket);

impl SslSocket {
    /// A socket on the process's active backend (see [`crate::active_backend`]), with the
    /// default configuration. When no backend is usable, the socket fails at its first
    /// connection attempt with that reason.
    #[must_use]
    pub fn new() -> SslSocket {
        let backend = crate::active_backend().unwrap_or_else(crate::unavailable_backend);
        SslSocket::with_backend_handle(backend)
    }

    /// A socket on the compiled-in backend called `name`.
    ///
    /// # Errors
    /// When no usable backend of that name is compiled in.
    pub fn with_backend(name: &str) -> Result<SslSocket, Error> {
        Ok(SslSocket::with_backend_handle(crate::registry::backend(name)?))
    }

    /// A socket on `backend`.
    #[must_use]
    pub fn with_backend_handle(backend: Arc<dyn SslBackend>) -> SslSocket {
        SslSocket::from_connection(Connection::new(
            backend,
            SslConfiguration::default_configuration(),
        ))
    }

    fn from_connection(conn: Connection) -> SslSocket {
        SslSocket {
            conn,
            transport: None,
            target: None,
            addresses: VecDeque::new(),
            last_connect_error: None,
            handler: None,
            read_timeout: None,
            write_timeout: None,
            net: Net::default(),
        }
    }

    /// Sets the handler that receives every event, in order, while the socket is driven.
    pub fn set_event_handler(
        &mut self,
        handler: impl FnMut(&Event, &mut Control<'_>) + Send + 'static,
    ) {
        self.handler = Some(Box::new(handler));
    }

    /// Bounds how long `io::Read::read` waits for data (`None`, the default: forever).
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.read_timeout = timeout;
    }

    /// Bounds how long `io::Write::write` / `flush` wait (`None`, the default: forever).
    pub fn set_write_timeout(&mut self, timeout: Option<Duration>) {
        self.write_timeout = timeout;
    }

    /// Records a plain TCP connection to `host:port`, made when the socket is next driven.
    /// An IP literal is connected to without a lookup: the socket is in ConnectingState when
    /// this returns (HostLookupState and `HostFound` pass at once, as in Qt).
    pub fn connect_to_host(&mut self, host: &str, port: u16) {
        self.reset_transport();
        self.target = Some((host.to_owned(), port));
        self.conn.connect_to_host(host);
        crate::proxy::route(&mut self.conn, port);
        self.skip_lookup_of_literal();
    }

    /// Records a plain TCP connection to `address` (`connectToHost(QHostAddress, port)`):
    /// no lookup, ConnectingState when this returns.
    pub fn connect_to_address(&mut self, address: SocketAddr) {
        self.connect_to_host(&address.ip().to_string(), address.port());
    }

    /// Records a TLS client connection to `address`, verifying the server as the peer verify
    /// name if one is set, else as the IP address (its certificate needs that IP address).
    pub fn connect_to_address_encrypted(&mut self, address: SocketAddr) {
        self.connect_to_host_encrypted(&address.ip().to_string(), address.port());
    }

    /// Records a TLS client connection to `host:port`: the handshake starts as soon as TCP is
    /// connected and `host` is the name verified and sent as SNI (unless a peer verify name is
    /// set). Client mode starts at once, so bytes written meanwhile wait for `Encrypted`.
    pub fn connect_to_host_encrypted(&mut self, host: &str, port: u16) {
        self.reset_transport();
        self.target = Some((host.to_owned(), port));
        match registry::context_sharing(&mut self.conn, Role::Client) {
            Ok(context) => {
                self.conn.connect_to_host_encrypted(host, context);
                crate::proxy::route(&mut self.conn, port);
            }
            Err(err) => {
                self.conn.connect_to_host(host);
                self.conn.handle_error(err);
                return;
            }
        }
        self.skip_lookup_of_literal();
    }

    /// An IP literal to dial (the target, or the proxy's address) needs no lookup: its one
    /// address goes straight to the connect. Not when a SOCKS5 proxy wants the target's name
    /// looked up here first.
    fn skip_lookup_of_literal(&mut self) {
        if self.conn.target_lookup().is_some() || self.conn.state() != SocketState::HostLookupState
        {
            return;
        }
        let Some((host, port)) = self.conn.dial_target() else { return };
        if let Some(ip) = crate::net::literal(&host) {
            self.addresses = self.net.candidates([SocketAddr::new(ip, port)]).into();
            if self.addresses.is_empty() {
                self.conn.handle_error(Error::HostNotFound { host });
            } else {
                self.conn.handle_host_found();
            }
            self.dispatch();
        }
    }

    /// As [`SslSocket::connect_to_host_encrypted`], verifying the server as `peer_name`.
    pub fn connect_to_host_encrypted_with_peer_name(
        &mut self,
        host: &str,
        port: u16,
        peer_name: &str,
    ) {
        self.conn.set_peer_verify_name(peer_name);
        self.connect_to_host_encrypted(host, port);
    }

    /// Adopts a connected TCP stream (`setSocketDescriptor`), e.g. one a server accepted;
    /// the socket options set are applied to it.
    ///
    /// # Errors
    /// When the stream cannot be made non-blocking, or an option cannot be applied.
    pub fn set_socket_descriptor(&mut self, stream: TcpStream) -> Result<(), Error> {
        self.set_socket_descriptor_with_state(stream, SocketState::ConnectedState)
    }

    /// Adopts a TCP socket in `state` (`setSocketDescriptor(descriptor, state)`): a
    /// [`TcpStream`], an `OwnedFd` (`OwnedSocket` on Windows) or a `socket2::Socket`.
    /// `ConnectedState`: a connected socket, unencrypted (then `start_*_encryption`);
    /// `BoundState`: a bound, unconnected socket the next `connect_to_host*` goes out from.
    ///
    /// # Errors
    /// `Socket(NotATcpSocket)` for a descriptor that is not a TCP socket over IPv4 or IPv6,
    /// `Socket(DescriptorState)` when it is not in `state`, `Socket(AdoptedState)` for any
    /// other state; nothing changes then (the descriptor is closed).
    pub fn set_socket_descriptor_with_state(
        &mut self,
        socket: impl Into<socket2::Socket>,
        state: SocketState,
    ) -> Result<(), Error> {
        let socket = socket.into();
        // The checks also make the descriptor non-blocking.
        crate::net::check_adopted(&socket, state)?;
        if state != SocketState::BoundState {
            let stream: std::net::TcpStream = socket.into();
            return self.adopt_connected(mio::net::TcpStream::from_std(stream));
        }
        self.net.apply(SockRef::from(&socket))?;
        self.reset_transport();
        self.net.unbind();
        self.net.adopt_bound(socket)?;
        self.conn.handle_bound();
        self.dispatch();
        Ok(())
    }

    /// Adopts a connected, non-blocking TCP stream: `set_socket_descriptor` once its checks
    /// have passed, and [`super::SslServer`]'s way with a connection it just accepted, which
    /// needs none of them: the listener's `accept` made it (connected, TCP, non-blocking:
    /// mio accepts with `SOCK_NONBLOCK` or sets it), so the five system calls that check a
    /// caller's descriptor (type, local and peer address, non-blocking twice) would only
    /// repeat what is known, on every handshake's path.
    ///
    /// # Errors
    /// When an option cannot be applied.
    pub(crate) fn adopt_connected(&mut self, stream: mio::net::TcpStream) -> Result<(), Error> {
        self.net.apply(SockRef::from(&stream))?;
        self.reset_transport();
        self.net.unbind();
        self.transport = Some(Transport::new(stream).map_err(Error::io)?);
        self.conn.handle_adopted();
        self.dispatch();
        Ok(())
    }

    /// The TCP socket, once it exists (connecting, connected, closing).
    fn live_socket(&self) -> Option<SockRef<'_>> {
        self.transport.as_ref().map(|t| SockRef::from(&t.stream))
    }

    #[cfg(unix)]
    fn stream_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        self.transport.as_ref().map(|t| t.stream.as_fd())
    }

    #[cfg(windows)]
    fn stream_fd(&self) -> Option<std::os::windows::io::BorrowedSocket<'_>> {
        use std::os::windows::io::AsSocket;
        self.transport.as_ref().map(|t| t.stream.as_socket())
    }

    fn after_net_change(&mut self) {
        self.dispatch();
    }

    /// Starts the client handshake on a connected unencrypted socket (STARTTLS); no effect
    /// otherwise. Drive with `wait_for_encrypted`.
    pub fn start_client_encryption(&mut self) {
        self.start_encryption(Role::Client);
    }

    /// Starts the server handshake on a connected unencrypted socket; no effect otherwise.
    pub fn start_server_encryption(&mut self) {
        self.start_encryption(Role::Server);
    }

    fn start_encryption(&mut self, role: Role) {
        if !self.conn.can_start_encryption() {
            return;
        }
        match registry::context_sharing(&mut self.conn, role) {
            Ok(context) if role == Role::Client => {
                self.conn.start_client_encryption(&context, Instant::now());
            }
            Ok(context) => self.conn.start_server_encryption(&context, Instant::now()),
            Err(err) => self.conn.handle_error(err),
        }
    }

    /// Continues after a pause on `SslErrors` (see `PauseMode::PauseOnSslErrors`).
    pub fn resume(&mut self) {
        self.conn.resume();
    }

    /// Starts a graceful close: pending data, then close_notify. Finish it with
    /// `wait_for_disconnected`.
    pub fn disconnect_from_host(&mut self) {
        self.conn.disconnect_from_host();
        // As far as it goes without waiting; wait_for_disconnected finishes the job.
        self.step();
    }

    /// Drops the connection at once, discarding what was not sent yet (dropping the socket
    /// does the same, as Qt's destructor aborts); a binding is released.
    pub fn abort(&mut self) {
        self.conn.abort();
        self.step();
        self.reset_transport();
        self.net.unbind();
    }

    /// `aboutToClose`, then a graceful close, discarding unread data.
    pub fn close(&mut self) {
        self.conn.close();
        self.step();
    }

    /// Waits until TCP is connected (`waitForConnected`). Succeeds once the connection was
    /// established during the wait, even if the handshake failed right after.
    ///
    /// # Errors
    /// The connection's error; `Timeout` (recorded as a `SocketTimeoutError`, the socket
    /// stays as it is); `Usage(NotConnected)` when the socket is not connecting.
    pub fn wait_for_connected(&mut self, timeout: Duration) -> Result<(), Error> {
        self.drive(Wait::Connected, deadline(timeout))
    }

    /// Waits until the handshake is done and the peer accepted (`encrypted`).
    ///
    /// # Errors
    /// The connection's error (`Rejected` carries the certificate errors; `kind()` gives the
    /// socket error code); `Timeout` as for [`SslSocket::wait_for_connected`];
    /// `Usage(PausedOnSslErrors)` when the socket waits for a decision and `resume()`.
    pub fn wait_for_encrypted(&mut self, timeout: Duration) -> Result<(), Error> {
        self.drive(Wait::Encrypted, deadline(timeout))
    }

    /// Waits until new data can be read: data that arrived since the last wait for it,
    /// including data that arrived while the socket was driven by another call and was not
    /// read yet.
    ///
    /// # Errors
    /// The connection's error, `Timeout`, or `Usage` when nothing but the application can
    /// move the socket on (not connected, paused, read buffer full).
    pub fn wait_for_ready_read(&mut self, timeout: Duration) -> Result<(), Error> {
        self.drive(Wait::ReadyRead, deadline(timeout))
    }

    /// Waits until some written bytes were handed on (`waitForBytesWritten`): bytes a `write`
    /// handed on at once count, so `write` then `wait_for_bytes_written` works without an
    /// event loop.
    ///
    /// # Errors
    /// As [`SslSocket::wait_for_ready_read`]; `Usage(NothingToWrite)` when nothing was
    /// written.
    pub fn wait_for_bytes_written(&mut self, timeout: Duration) -> Result<(), Error> {
        self.drive(Wait::BytesWritten, deadline(timeout))
    }

    /// Waits until the socket is unconnected: after `disconnect_from_host`, once the peer's
    /// close_notify or end of stream has been seen (so that nothing the peer sent is left
    /// unread when the descriptor closes), or after the peer's close. A connection that ended
    /// in error counts as disconnected.
    ///
    /// # Errors
    /// `Timeout`; `Usage(NotConnected)` on a socket that was never connected.
    pub fn wait_for_disconnected(&mut self, timeout: Duration) -> Result<(), Error> {
        match self.drive(Wait::Disconnected, deadline(timeout)) {
            Err(err)
                if self.conn.state() == SocketState::UnconnectedState
                    && !matches!(err, Error::Usage(_)) =>
            {
                Ok(())
            }
            other => other,
        }
    }

    // ---- the drive loop: an executor of the connection's actions -------------------------

    fn reset_transport(&mut self) {
        if let Some(t) = self.transport.take() {
            t.shutdown();
        }
        self.target = None;
        self.addresses.clear();
        self.last_connect_error = None;
    }

    /// Drives the connection until `wait` holds, an error, or `until`.
    fn drive(&mut self, wait: Wait, until: Option<Instant>) -> Result<(), Error> {
        self.conn.begin_wait(wait);
        loop {
            match self.execute(wait, until, true) {
                Step::Continue | Step::WouldWait => {}
                Step::Over(result) => return result,
            }
        }
    }

    /// Makes all the progress possible without waiting.
    fn step(&mut self) {
        while let Step::Continue = self.execute(Wait::Nothing, None, false) {}
    }

    /// Carries out the connection's next action for `wait`. With `block` false a wait on the
    /// transport is not made: [`Step::WouldWait`] (the caller's poller waits).
    fn execute(&mut self, wait: Wait, until: Option<Instant>, block: bool) -> Step {
        let now = Instant::now();
        match self.conn.poll_action(wait, until, now) {
            Action::Done => return Step::Over(Ok(())),
            Action::Fail(err) => {
                self.dispatch();
                return Step::Over(Err(err));
            }
            Action::Deliver => self.dispatch(),
            Action::Transfer => {
                match self.transport.as_mut() {
                    Some(t) => {
                        self.conn.pump(t, now);
                    }
                    // A connected state with no transport: the connection was adopted
                    // without one (cannot happen through this API).
                    None => self.conn.handle_error(Error::Usage(UsageError::NotConnected)),
                }
            }
            Action::Resolve => {
                if self.resolve_target() {
                    self.resolve();
                }
            }
            Action::Connect { until } => {
                if !self.advance_connect() {
                    if !block {
                        return Step::WouldWait;
                    }
                    self.wait_transport(false, true, until, now);
                }
            }
            Action::Wait { read, write, until } => {
                if !block {
                    return Step::WouldWait;
                }
                self.wait_transport(read, write, until, now);
            }
            Action::ShutdownWrite => {
                if let Some(t) = &self.transport {
                    t.shutdown();
                }
                self.conn.handle_write_shutdown(now);
            }
            Action::Close => {
                let farewell = self.conn.take_farewell();
                if let Some(t) = self.transport.take() {
                    if !farewell.is_empty() {
                        // Best effort, without waiting: the peer learns why (the engine's
                        // alert), then our end of stream.
                        let _ = io::Write::write(&mut &t.stream, &farewell);
                        t.shutdown();
                    }
                }
                self.conn.handle_closed();
            }
        }
        Step::Continue
    }

    /// Waits for the transport (or only the clock, when there is none or nothing to wait
    /// for on it).
    fn wait_transport(&mut self, read: bool, write: bool, until: Option<Instant>, now: Instant) {
        let timeout = until.map(|u| u.saturating_duration_since(now));
        match self.transport.as_mut() {
            Some(t) if read || write => {
                if let Err(e) = t.wait(timeout, read, write) {
                    self.conn.handle_error(Error::io(e));
                }
            }
            _ => std::thread::sleep(timeout.unwrap_or(Duration::ZERO)),
        }
        self.conn.handle_woken();
    }

    /// Moves a server handshake on as far as it goes without waiting (the acceptor's poller
    /// waits for all of them): `Some` once it has ended, `None` while it waits for the peer
    /// or its timeout. `until` past ends it with `Timeout`.
    pub(crate) fn step_handshake(&mut self, until: Instant) -> Option<Result<(), Error>> {
        // The poller woke this handshake up (or checks its timeout).
        self.conn.handle_woken();
        loop {
            match self.execute(Wait::Encrypted, Some(until), false) {
                Step::Continue => {}
                Step::WouldWait => return None,
                Step::Over(result) => return Some(result),
            }
        }
    }

    /// When the connection's own next timeout is due.
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        self.conn.poll_timeout()
    }

    /// The transport, for a poller that drives this socket from outside.
    pub(crate) fn transport_mut(&mut self) -> Option<&mut Transport> {
        self.transport.as_mut()
    }

    /// Host lookup, then the connect to the first address.
    fn resolve(&mut self) {
        let Some((host, port)) = self.conn.dial_target() else {
            return self.conn.handle_error(Error::Usage(UsageError::NotConnected));
        };
        match (host.as_str(), port).to_socket_addrs() {
            Ok(addrs) => {
                self.addresses = self.net.candidates(addrs).into();
                if self.addresses.is_empty() {
                    self.conn.handle_error(Error::HostNotFound { host });
                } else {
                    self.conn.handle_host_found();
                    self.next_address();
                }
            }
            Err(_) => self.conn.handle_error(Error::HostNotFound { host }),
        }
    }

    /// Through a SOCKS5 proxy that does not resolve names, the target's local lookup, before
    /// the proxy's. Returns whether the connect goes on.
    fn resolve_target(&mut self) -> bool {
        let Some((host, port)) = self.conn.target_lookup() else { return true };
        let addrs: Vec<SocketAddr> =
            (host.as_str(), port).to_socket_addrs().map(Iterator::collect).unwrap_or_default();
        self.conn.handle_target_resolved(&addrs);
        !addrs.is_empty()
    }

    /// Checks the TCP connect. Returns whether anything changed.
    fn advance_connect(&mut self) -> bool {
        let Some(t) = &self.transport else { return self.next_address() };
        match t.connect_finished() {
            Ok(true) => {
                // The options (LowDelay on by default) were set when the socket was made.
                self.net.unbind();
                // The other addresses were for a failed connect; a connected socket does not
                // keep their room for as long as it lives.
                self.addresses = VecDeque::new();
                self.conn.handle_connected(Instant::now());
                true
            }
            Ok(false) => false,
            Err(e) => {
                self.last_connect_error = Some(e);
                self.transport = None;
                self.next_address()
            }
        }
    }

    /// Starts a connect to the next resolved address, or fails with the last error.
    fn next_address(&mut self) -> bool {
        while let Some(addr) = self.addresses.pop_front() {
            let socket = match self.net.socket_for(addr) {
                Ok(socket) => socket,
                Err(err) => {
                    // Options or the binding refused: no other address does better.
                    self.net.unbind();
                    self.conn.handle_error(err);
                    return true;
                }
            };
            match Transport::connect(socket, addr) {
                Ok(t) => {
                    self.transport = Some(t);
                    return true;
                }
                Err(e) => self.last_connect_error = Some(e),
            }
        }
        let err = self.last_connect_error.take().unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::NotConnected, "no address to connect to")
        });
        self.net.unbind();
        self.conn.handle_error(Error::io(err));
        true
    }

    /// Delivers pending events to the handler (which is where verification decisions are
    /// taken).
    fn dispatch(&mut self) {
        while let Some(event) = self.conn.poll_event() {
            if let Some(handler) = self.handler.as_mut() {
                handler(&event, &mut Control::new(&mut self.conn));
            }
        }
    }
}

/// What one executed action left.
enum Step {
    /// Ask the connection again.
    Continue,
    /// The wait is over.
    Over(Result<(), Error>),
    /// The connection waits for the transport, and the caller does the waiting.
    WouldWait,
}

fn deadline(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

impl io::Read for SslSocket {
    /// Reads decrypted bytes, driving the connection (connect, handshake) until some arrive.
    /// `Ok(0)` is a clean end (close_notify); a truncation is an `UnexpectedEof` error; a
    /// socket that is not connected is a `NotConnected` error; a socket paused on its
    /// certificate errors returns that (`Usage(PausedOnSslErrors)`) instead of waiting.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let until = self.read_timeout.and_then(deadline);
        loop {
            match self.conn.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Ok(n) if n > 0 && self.conn.state() == SocketState::ConnectedState => {
                    self.dispatch();
                    return Ok(n);
                }
                other => {
                    // What the read changed (the peer's end: the events, our close_notify in
                    // answer) is carried out before it returns.
                    self.step();
                    return other;
                }
            }
            self.drive(Wait::Readable, until)?;
        }
    }
}

impl io::Write for SslSocket {
    /// Queues bytes (sent once encrypted), driving the connection when the write buffer is
    /// full.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let until = self.write_timeout.and_then(deadline);
        loop {
            match self.conn.write(buf) {
                Ok(n) => {
                    // Sends what it can; what the peer sent meanwhile stays in the engine
                    // and the TCP window until the application reads.
                    while let Step::Continue = self.execute(Wait::Send, None, false) {}
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            self.drive(Wait::Writable, until)?;
        }
    }

    /// Drives the connection until every queued byte is on the transport.
    fn flush(&mut self) -> io::Result<()> {
        let until = self.write_timeout.and_then(deadline);
        if self.conn.state() == SocketState::UnconnectedState && self.conn.fatal_error().is_none() {
            return Ok(());
        }
        self.drive(Wait::Flushed, until).map_err(io::Error::from)
    }
}
