//! `SslSocket`: the blocking driver, a short loop over `Connection` on a std TCP stream.

use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ssl_api::{Error, SocketState, SslBackend, SslConfiguration};

use super::transport::Transport;
use crate::conn::{Connection, Event};
use crate::forward::forward_connection_api;

/// What the application's event handler receives: the event and the connection, on which it
/// may call `ignore_ssl_errors`, `abort`, `close` and every getter.
pub type EventHandler = Box<dyn FnMut(&Event, &mut Connection) + Send>;

/// A TLS socket with QSslSocket's contract, blocking, on std networking.
///
/// `connect_to_host*` only record the intent (as Qt's do); the `wait_for_*` calls, `read`,
/// `write` back-pressure and `flush` drive the connection: host lookup, TCP connect, handshake,
/// verification policy, transfer. Events go to the handler set with
/// [`SslSocket::set_event_handler`] as they happen.
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
}

/// What a drive round saw, for the `wait_for_*` conditions.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    ready_read: bool,
    bytes_written: bool,
    /// `Encrypted` was emitted (the connection may have failed later in the same round, e.g.
    /// data and a truncation arriving with the handshake's last flight: the handshake still
    /// succeeded and the error comes with the next read).
    encrypted: bool,
}

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
        }
    }

    forward_connection_api!();

    /// Sets the handler that receives every event, in order, while the socket is driven.
    pub fn set_event_handler(
        &mut self,
        handler: impl FnMut(&Event, &mut Connection) + Send + 'static,
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
    pub fn connect_to_host(&mut self, host: &str, port: u16) {
        self.reset_transport();
        self.target = Some((host.to_owned(), port));
        self.conn.connect_to_host(host);
    }

    /// Records a TLS client connection to `host:port`: the handshake starts as soon as TCP is
    /// connected and `host` is the name verified and sent as SNI (unless a peer verify name is
    /// set). Client mode starts at once, so bytes written meanwhile wait for `Encrypted`.
    pub fn connect_to_host_encrypted(&mut self, host: &str, port: u16) {
        self.reset_transport();
        self.target = Some((host.to_owned(), port));
        self.conn.connect_to_host_encrypted(host);
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

    /// Adopts a connected TCP stream (`setSocketDescriptor`), e.g. one a server accepted.
    ///
    /// # Errors
    /// When the stream cannot be made non-blocking or registered.
    pub fn set_socket_descriptor(&mut self, stream: TcpStream) -> Result<(), Error> {
        self.reset_transport();
        self.transport = Some(Transport::adopt(stream).map_err(Error::io)?);
        self.conn.handle_adopted();
        Ok(())
    }

    /// Starts the client handshake on a connected unencrypted socket (STARTTLS); no effect
    /// otherwise. Drive with `wait_for_encrypted`.
    pub fn start_client_encryption(&mut self) {
        self.conn.start_client_encryption(Instant::now());
    }

    /// Starts the server handshake on a connected unencrypted socket; no effect otherwise.
    pub fn start_server_encryption(&mut self) {
        self.conn.start_server_encryption(Instant::now());
    }

    /// Continues after a pause on `SslErrors` (see `PauseMode::PauseOnSslErrors`).
    pub fn resume(&mut self) {
        self.conn.resume();
    }

    /// Starts a graceful close: pending data, then close_notify. Finish it with
    /// `wait_for_disconnected`.
    pub fn disconnect_from_host(&mut self) {
        self.conn.disconnect_from_host();
        // Best effort without waiting; wait_for_disconnected finishes the job.
        let _ = self.drive(Some(Instant::now()), "disconnect", |c, _| {
            c.state() == SocketState::UnconnectedState
        });
    }

    /// Drops the connection at once.
    pub fn abort(&mut self) {
        self.conn.abort();
        self.dispatch(&mut Seen::default());
        self.reset_transport();
    }

    /// `aboutToClose`, then a graceful close, discarding unread data.
    pub fn close(&mut self) {
        self.conn.close();
        let _ = self.drive(Some(Instant::now()), "close", |c, _| {
            c.state() == SocketState::UnconnectedState
        });
    }

    /// The local address of the TCP connection.
    #[must_use]
    pub fn local_address(&self) -> Option<SocketAddr> {
        self.transport.as_ref().and_then(|t| t.stream.local_addr().ok())
    }

    /// The peer's address.
    #[must_use]
    pub fn peer_address(&self) -> Option<SocketAddr> {
        self.transport.as_ref().and_then(|t| t.stream.peer_addr().ok())
    }

    /// Waits until TCP is connected.
    ///
    /// # Errors
    /// The connection's error, or `Timeout` (the connection stays as it is).
    pub fn wait_for_connected(&mut self, timeout: Duration) -> Result<(), Error> {
        self.drive(deadline(timeout), "wait_for_connected", |c, _| {
            matches!(c.state(), SocketState::ConnectedState | SocketState::ClosingState)
        })
    }

    /// Waits until the handshake is done and the peer accepted (`encrypted`).
    ///
    /// # Errors
    /// The connection's error (`Rejected` carries the certificate errors; `kind()` gives the
    /// socket error code), or `Timeout`.
    pub fn wait_for_encrypted(&mut self, timeout: Duration) -> Result<(), Error> {
        self.drive(deadline(timeout), "wait_for_encrypted", |c, seen| {
            c.is_encrypted() || seen.encrypted
        })
    }

    /// Waits until new data can be read.
    ///
    /// # Errors
    /// The connection's error, `Timeout`, or `Operation` when the socket is not connected.
    pub fn wait_for_ready_read(&mut self, timeout: Duration) -> Result<(), Error> {
        self.drive(deadline(timeout), "wait_for_ready_read", |_, seen| seen.ready_read)
    }

    /// Waits until some written bytes were handed on.
    ///
    /// # Errors
    /// As [`SslSocket::wait_for_ready_read`].
    pub fn wait_for_bytes_written(&mut self, timeout: Duration) -> Result<(), Error> {
        self.drive(deadline(timeout), "wait_for_bytes_written", |_, seen| seen.bytes_written)
    }

    /// Waits until the socket is unconnected (after `disconnect_from_host`, or the peer's
    /// close).
    ///
    /// # Errors
    /// `Timeout`. A connection that ended in error still counts as disconnected.
    pub fn wait_for_disconnected(&mut self, timeout: Duration) -> Result<(), Error> {
        let result = self.drive(deadline(timeout), "wait_for_disconnected", |c, _| {
            c.state() == SocketState::UnconnectedState
        });
        match result {
            Err(Error::Timeout { .. }) => result,
            _ if self.conn.state() == SocketState::UnconnectedState => Ok(()),
            other => other,
        }
    }

    // ---- the drive loop -----------------------------------------------------------------

    fn reset_transport(&mut self) {
        if let Some(t) = self.transport.take() {
            t.shutdown();
        }
        self.target = None;
        self.addresses.clear();
        self.last_connect_error = None;
    }

    /// Drives the connection until `done`, an error, or `deadline`.
    fn drive(
        &mut self,
        deadline: Option<Instant>,
        operation: &'static str,
        mut done: impl FnMut(&Connection, &Seen) -> bool,
    ) -> Result<(), Error> {
        let mut seen = Seen::default();
        loop {
            let progressed = self.round(&mut seen);
            if done(&self.conn, &seen) {
                return Ok(());
            }
            if let Some(err) = self.conn.error() {
                return Err(err.clone());
            }
            if self.conn.state() == SocketState::UnconnectedState {
                return Err(Error::Operation("the socket is not connected"));
            }
            if progressed {
                continue;
            }
            let now = Instant::now();
            if let Some(t) = self.conn.poll_timeout() {
                if t <= now {
                    self.conn.handle_timeout(now);
                    continue;
                }
            }
            if deadline.is_some_and(|d| d <= now) {
                return Err(Error::Timeout { operation });
            }
            let wake = match (deadline, self.conn.poll_timeout()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let waiting_on_transport = self.waits_on_transport();
            if !waiting_on_transport && self.conn.poll_timeout().is_none() {
                return Err(STUCK);
            }
            match self.transport.as_mut() {
                Some(t) if waiting_on_transport => {
                    let want_read = self.conn.wants_read();
                    let want_write = self.conn.wants_write()
                        || self.conn.state() == SocketState::ConnectingState;
                    let timeout = wake.map(|w| w.saturating_duration_since(now));
                    if let Err(e) = t.wait(timeout, want_read, want_write) {
                        self.conn.handle_transport_error(Error::io(e));
                    }
                }
                _ => std::thread::sleep(
                    wake.map_or(Duration::ZERO, |w| w.saturating_duration_since(now)),
                ),
            }
        }
    }

    /// One round without waiting: connect, move bytes, deliver events, close the transport
    /// when the connection says so. Returns whether anything happened.
    fn round(&mut self, seen: &mut Seen) -> bool {
        let mut progressed = self.advance_connect();
        progressed |= self.pump();
        progressed |= self.dispatch(seen);
        if self.conn.poll_close() {
            if let Some(t) = &self.transport {
                t.shutdown();
            }
        }
        progressed
    }

    fn waits_on_transport(&self) -> bool {
        self.conn.wants_read()
            || self.conn.wants_write()
            || self.conn.state() == SocketState::ConnectingState
    }

    /// Moves a server handshake on as far as it goes without waiting (the acceptor's poller
    /// waits for all of them): `Some` once it has ended, `None` while it waits for the peer
    /// or its timeout. `now` past `deadline` ends it with `Timeout`.
    pub(crate) fn step_handshake(
        &mut self,
        seen: &mut Seen,
        deadline: Instant,
    ) -> Option<Result<(), Error>> {
        loop {
            let progressed = self.round(seen);
            if self.conn.is_encrypted() || seen.encrypted {
                return Some(Ok(()));
            }
            if let Some(err) = self.conn.error() {
                return Some(Err(err.clone()));
            }
            if self.conn.state() == SocketState::UnconnectedState {
                return Some(Err(Error::Operation("the socket is not connected")));
            }
            if progressed {
                continue;
            }
            let now = Instant::now();
            if self.conn.poll_timeout().is_some_and(|t| t <= now) {
                self.conn.handle_timeout(now);
                continue;
            }
            if deadline <= now {
                return Some(Err(Error::Timeout { operation: "wait_for_encrypted" }));
            }
            if !self.waits_on_transport() && self.conn.poll_timeout().is_none() {
                return Some(Err(STUCK));
            }
            return None;
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

    /// Host lookup and TCP connect. Returns whether anything changed.
    fn advance_connect(&mut self) -> bool {
        match self.conn.state() {
            SocketState::HostLookupState => {
                let Some((host, port)) = self.target.clone() else { return false };
                match (host.as_str(), port).to_socket_addrs() {
                    Ok(addrs) => {
                        self.addresses = addrs.collect();
                        if self.addresses.is_empty() {
                            self.conn.handle_transport_error(Error::HostNotFound { host });
                        } else {
                            self.conn.handle_host_found();
                            self.next_address();
                        }
                    }
                    Err(_) => self.conn.handle_transport_error(Error::HostNotFound { host }),
                }
                true
            }
            SocketState::ConnectingState => {
                let Some(t) = &self.transport else { return self.next_address() };
                match t.connect_finished() {
                    Ok(true) => {
                        // Small writes (handshake flights, interactive protocols) go out at once.
                        let _ = t.stream.set_nodelay(true);
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
            _ => false,
        }
    }

    /// Starts a connect to the next resolved address, or fails with the last error.
    fn next_address(&mut self) -> bool {
        while let Some(addr) = self.addresses.pop_front() {
            match Transport::connect(addr) {
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
        self.conn.handle_transport_error(Error::io(err));
        true
    }

    /// Moves bytes both ways until the transport would block or the connection wants
    /// nothing. Returns whether anything moved.
    fn pump(&mut self) -> bool {
        let Some(t) = self.transport.as_mut() else { return false };
        self.conn.pump(t, Instant::now())
    }

    /// Delivers pending events to the handler (which is where verification decisions are
    /// taken). Returns whether there were any.
    fn dispatch(&mut self, seen: &mut Seen) -> bool {
        let mut any = false;
        while let Some(event) = self.conn.poll_event() {
            any = true;
            match event {
                Event::ReadyRead => seen.ready_read = true,
                Event::BytesWritten(_) => seen.bytes_written = true,
                Event::Encrypted => seen.encrypted = true,
                _ => {}
            }
            if let Some(handler) = self.handler.as_mut() {
                handler(&event, &mut self.conn);
            }
        }
        any
    }
}

/// Only the application can move things on (e.g. `resume()` after a pause): waiting out the
/// deadline would change nothing.
const STUCK: Error =
    Error::Operation("nothing can happen: the socket waits for the application (resume?)");

fn deadline(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

impl Default for SslSocket {
    fn default() -> SslSocket {
        SslSocket::new()
    }
}

impl std::fmt::Debug for SslSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SslSocket")
            .field("backend", &self.conn.backend().name())
            .field("state", &self.conn.state())
            .field("mode", &self.conn.mode())
            .field("encrypted", &self.conn.is_encrypted())
            .finish_non_exhaustive()
    }
}

impl io::Read for SslSocket {
    /// Reads decrypted bytes, driving the connection (connect, handshake) until some arrive.
    /// `Ok(0)` is a clean end (close_notify); a truncation is an `UnexpectedEof` error.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let deadline = self.read_timeout.and_then(deadline);
        loop {
            match self.conn.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                other => return other,
            }
            match self.drive(deadline, "read", |c, seen| {
                seen.ready_read || c.bytes_available() > 0 || c.at_end()
            }) {
                Ok(()) | Err(Error::Operation(_)) => {}
                Err(err) if self.conn.error().is_none() => return Err(err.into()),
                Err(_) => {} // the connection's own error: conn.read returns it after the data
            }
        }
    }
}

impl io::Write for SslSocket {
    /// Queues bytes (sent once encrypted), driving the connection when the write buffer is
    /// full.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let deadline = self.write_timeout.and_then(deadline);
        loop {
            match self.conn.write(buf) {
                Ok(n) => {
                    self.pump();
                    self.dispatch(&mut Seen::default());
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            self.drive(deadline, "write", |_, seen| seen.bytes_written)?;
        }
    }

    /// Drives the connection until every queued byte is on the transport.
    fn flush(&mut self) -> io::Result<()> {
        let deadline = self.write_timeout.and_then(deadline);
        if self.conn.state() == SocketState::UnconnectedState && self.conn.error().is_none() {
            return Ok(());
        }
        self.drive(deadline, "flush", |c, _| c.is_flushed()).map_err(io::Error::from)
    }
}
