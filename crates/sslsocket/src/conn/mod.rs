//! The sans-IO connection state machine: everything QSslSocket decides, with no socket and no
//! clock.
//!
//! A [`Connection`] owns every buffer, counter, deadline and state (SocketState × SslMode ×
//! handshake phase × close). Its methods fall into four groups, as in quinn-proto:
//!
//! - **getters**: `state`, `mode`, `is_encrypted`, `error`, counters, session facts;
//! - **`handle_*`**: input from the network, the clock or the driver — `handle_host_found`,
//!   `handle_connected`, `handle_readable`, `handle_error`, `handle_timeout`,
//!   `handle_woken`, `handle_write_shutdown`, `handle_closed`;
//! - **commands** from the application — `connect_to_host`, `start_client_encryption`,
//!   `write`, `read`, `ignore_ssl_errors`, `resume`, `disconnect_from_host`, `abort`, …;
//! - **`poll_*`**: outputs the caller must act on — [`Connection::poll_action`] (what to do
//!   next for a [`Wait`]), `poll_event`, `poll_transmit`, `poll_timeout`.
//!
//! A driver is an executor: for each wait it calls `begin_wait`, then carries out
//! `poll_action`'s [`Action`]s until one ends the wait (see `ARCHITECTURE.md`, "The driving
//! contract"). Verification decisions are taken inside `poll_event`, once the `SslErrors`
//! event has been delivered and the application's handler has returned.

mod app;
mod buffer;
mod control;
mod drive;
mod event;
#[cfg(feature = "testing")]
pub mod pair;
mod policy;
mod proxy;
mod settings;
mod tls;
mod transport;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ssl_api::{
    Alert, ConfigError, Error, Feature, PauseMode, PeerVerifyMode, Role, SocketState, SslBackend,
    SslCertificate, SslCipher, SslConfiguration, SslContext, SslError, SslMode, SslProtocol,
    SslSession, TlsVersion,
};

use self::buffer::ReadBuffer;
pub use self::control::Control;
use self::drive::Seen;
pub use self::drive::{Action, Wait};
pub use self::event::Event;
use self::policy::{Ignore, Verify};
pub use self::proxy::{
    ProxyAuthenticationHandler, DEFAULT_PROXY_TIMEOUT, MAX_REPLY as MAX_PROXY_REPLY,
};

/// The TLS side of the connection. Variants carry their own data.
#[derive(Debug)]
enum Phase {
    /// No TLS (yet): unencrypted mode, or waiting for TCP before an encrypted connect (then
    /// `connect_tls` holds the context the handshake will use).
    Plain { connect_tls: Option<Arc<dyn SslContext>> },
    /// The engine is handshaking; `accepted` once the policy has accepted the peer early
    /// (errors found before the engine finished).
    Handshaking { session: Box<dyn SslSession>, accepted: bool },
    /// Verification found errors; waiting for the application's decision. Nothing is read or
    /// written meanwhile. `delivered`: the `SslErrors` event has been taken; `paused`: the
    /// decision waits for `resume()` (`PauseOnSslErrors`).
    Deciding { session: Box<dyn SslSession>, errors: Vec<SslError>, delivered: bool, paused: bool },
    /// Handshake done, peer accepted: application data flows.
    Encrypted(Box<dyn SslSession>),
    /// The session is over (closed, aborted or failed); the session is kept, when there was
    /// one, so that its facts (peer chain, cipher) can still be read. `was_encrypted`: it
    /// had reached `Encrypted` before it ended.
    Finished { session: Option<Box<dyn SslSession>>, was_encrypted: bool },
}

/// QSslSocket's state machine over a TLS engine session, with no I/O. See the module docs.
#[derive(Debug)]
pub struct Connection {
    backend: Arc<dyn SslBackend>,
    /// Shared (copy on write): a server's connections all point to its one configuration.
    config: Arc<SslConfiguration>,
    peer_verify_name: Option<String>,
    host: Option<String>,
    pause_mode: PauseMode,
    handshake_timeout: Option<Duration>,
    disconnect_timeout: Option<Duration>,
    read_buffer_size: usize,
    write_buffer_limit: usize,

    state: SocketState,
    mode: SslMode,
    phase: Phase,
    /// Where a graceful close stands (see [`Close`]).
    close: Close,
    /// The transport reached end of file.
    transport_eof: bool,
    /// The peer's close_notify arrived (or the engine reported its end of data).
    peer_closed: bool,

    /// Application bytes received and taken out of the engine: only what `peek`, lines,
    /// `unget_char` or an application that is not reading need. Plaintext normally stays in
    /// the engine until `read` copies it straight into the caller's buffer.
    read_buf: ReadBuffer,
    /// Plaintext the engine announced (`IoStatus::plaintext_bytes_to_read`) and `read` has
    /// not taken yet.
    engine_plaintext: usize,
    write_buf: VecDeque<u8>,
    /// Bytes for the transport that it has not taken yet, in order: plaintext written before
    /// STARTTLS, then ciphertext the engine produced while the transport was full.
    out: VecDeque<u8>,
    events: VecDeque<Event>,
    /// What the waits look for, latched when the event is emitted (see `drive.rs`).
    seen: Seen,
    /// The last `pump` moved nothing and nothing changed since: the driver waits.
    dry: bool,
    /// `engine_plaintext` is the engine's own count (no plaintext was read out of it since
    /// it last reported one): nothing to ask it before a wait.
    engine_counted: bool,
    /// The session has delivered application data. Until it has, a fatal alert from the peer
    /// is its verdict on the handshake: a TLS 1.3 server judges the client's certificate after
    /// the client has finished.
    app_data_seen: bool,
    /// A write that failed with a reset or broken pipe while [`Connection::app_data_seen`]
    /// was false: the peer closed, and what it sent first (its alert) is read before the
    /// connection ends with this error.
    write_failed: Option<std::io::Error>,
    /// What goes to the transport before it is closed after a failed handshake: the bytes
    /// held for it and the engine's last output (its alert), taken by the driver
    /// ([`Connection::take_farewell`]).
    farewell: Vec<u8>,
    error: Option<LastError>,
    handshake_errors: Vec<SslError>,
    /// The ignore settings of the next handshake, or of the one in progress; spent when it
    /// ends (see `policy`).
    ignore: Ignore,
    /// What the handshake in progress (or the encrypted connect about to start it) is
    /// verified by, fixed when its context was handed over.
    verify: Option<Verify>,
    /// The handshake's deadline.
    deadline: Option<Instant>,
    /// The current wait may copy decrypted input into the read buffer
    /// ([`Wait::buffers_input`]).
    buffer_input: bool,
    /// The peer's close_notify (or, unencrypted, its end of stream) ends only its direction;
    /// ours stays open until `close_write` or `disconnect_from_host`.
    half_close: bool,

    /// The proxy set for the next connect (`DefaultProxy`: the application's).
    proxy: ssl_api::NetworkProxy,
    /// The proxy the current connect goes through (`None`: directly; boxed, as the
    /// negotiation is: most connections go direct and should not carry their room).
    route: Option<Box<ssl_api::NetworkProxy>>,
    /// The target's port.
    peer_port: u16,
    /// The proxy negotiation in progress.
    negotiation: Option<Box<proxy::Negotiation>>,
    proxy_timeout: Option<Duration>,
    proxy_auth: Option<proxy::AuthHandler>,
    /// This connect was retried with the credentials the handler gave.
    proxy_retried: bool,
    /// The target's address, looked up locally for a SOCKS5 proxy that does not resolve
    /// names (`socks5://`).
    target_addr: Option<std::net::SocketAddr>,
}

/// Ciphertext the engine may hold back in `out` before plaintext stops being encrypted.
const OUT_HIGH_WATER: usize = 64 * 1024;

/// At most this much of the engine's last output is kept after a failed handshake (an alert is
/// 7 bytes in clear, a few dozen encrypted).
const FAREWELL_MAX: usize = 16 * 1024;

/// How long a graceful close waits for the peer's end by default.
const DEFAULT_DISCONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The last error, and whether it ended the connection.
#[derive(Debug)]
struct LastError {
    error: Error,
    fatal: bool,
}

/// Where a graceful close stands. `disconnect_from_host` starts it; the driver carries out
/// the two steps that touch the transport ([`Action::ShutdownWrite`], [`Action::Close`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Close {
    /// Not closing.
    Open,
    /// Queued writes go out first, then close_notify. `read_on`: only our direction closes
    /// ([`Connection::close_write`]); the application goes on reading.
    Flushing { close_notify_sent: bool, read_on: bool },
    /// Everything is out: the driver shuts down the transport's write side.
    ShutdownWrite { read_on: bool },
    /// The write side is shut (`disconnect_from_host`); reading on, discarding, until the
    /// peer's close_notify or end of stream, or `until`.
    Draining { until: Option<Instant> },
    /// Our direction is over (`close_write`); the application reads on until the peer's end.
    WriteShut,
    /// Unconnected: the driver closes the transport.
    Release,
}

impl Connection {
    /// A new, unconnected connection on `backend`, starting from `config`.
    #[must_use]
    pub fn new(backend: Arc<dyn SslBackend>, config: SslConfiguration) -> Connection {
        Connection {
            backend,
            config: Arc::new(config),
            peer_verify_name: None,
            host: None,
            pause_mode: PauseMode::PauseNever,
            handshake_timeout: None,
            disconnect_timeout: Some(DEFAULT_DISCONNECT_TIMEOUT),
            read_buffer_size: 0,
            write_buffer_limit: 256 * 1024,
            state: SocketState::UnconnectedState,
            mode: SslMode::UnencryptedMode,
            phase: Phase::Plain { connect_tls: None },
            close: Close::Open,
            transport_eof: false,
            peer_closed: false,
            read_buf: ReadBuffer::default(),
            engine_plaintext: 0,
            write_buf: VecDeque::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            seen: Seen::default(),
            dry: false,
            engine_counted: true,
            app_data_seen: false,
            write_failed: None,
            farewell: Vec::new(),
            error: None,
            handshake_errors: Vec::new(),
            ignore: Ignore::default(),
            verify: None,
            deadline: None,
            buffer_input: true,
            half_close: false,
            proxy: ssl_api::NetworkProxy::default_proxy(),
            route: None,
            peer_port: 0,
            negotiation: None,
            proxy_timeout: Some(DEFAULT_PROXY_TIMEOUT),
            proxy_auth: None,
            proxy_retried: false,
            target_addr: None,
        }
    }

    // ---- getters ------------------------------------------------------------------------

    /// The backend this connection runs on.
    #[must_use]
    pub fn backend(&self) -> &Arc<dyn SslBackend> {
        &self.backend
    }

    /// The socket state.
    #[must_use]
    pub fn state(&self) -> SocketState {
        self.state
    }

    /// The encryption mode.
    #[must_use]
    pub fn mode(&self) -> SslMode {
        self.mode
    }

    /// Whether the handshake finished and the peer was accepted.
    #[must_use]
    pub fn is_encrypted(&self) -> bool {
        matches!(self.phase, Phase::Encrypted(_))
    }

    /// Whether this connection's handshake completed and the peer was accepted, even if it
    /// has closed since (`is_encrypted` turns false when the connection ends).
    #[must_use]
    pub fn was_encrypted(&self) -> bool {
        matches!(self.phase, Phase::Encrypted(_) | Phase::Finished { was_encrypted: true, .. })
    }

    /// The last error, sticky once fatal.
    #[must_use]
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref().map(|e| &e.error)
    }

    /// The error that ended the connection, if one did (a timed-out wait is an error but
    /// not a fatal one).
    #[must_use]
    pub fn fatal_error(&self) -> Option<&Error> {
        self.error.as_ref().filter(|e| e.fatal).map(|e| &e.error)
    }

    /// The last error's text, or an empty string.
    #[must_use]
    pub fn error_string(&self) -> String {
        self.error.as_ref().map(|e| error_chain(&e.error)).unwrap_or_default()
    }

    /// Every certificate verification error of the last handshake, ignored ones included
    /// (`sslHandshakeErrors`).
    #[must_use]
    pub fn ssl_handshake_errors(&self) -> &[SslError] {
        &self.handshake_errors
    }

    /// The configuration the next handshake will use. A handshake already started goes on
    /// with the configuration it started with.
    #[must_use]
    pub fn ssl_configuration(&self) -> &SslConfiguration {
        &self.config
    }

    /// The configuration as held (shared with the context cache once a connect has looked
    /// its context up).
    pub(crate) fn shared_ssl_configuration(&self) -> &Arc<SslConfiguration> {
        &self.config
    }

    /// The name the peer's certificate is checked against and sent as SNI: the peer verify
    /// name if set, else the host connected to.
    #[must_use]
    pub fn peer_verify_name(&self) -> Option<&str> {
        self.peer_verify_name.as_deref().or(self.host.as_deref())
    }

    /// The pause mode.
    #[must_use]
    pub fn pause_mode(&self) -> PauseMode {
        self.pause_mode
    }

    /// The read buffer limit in bytes; 0 is unlimited.
    #[must_use]
    pub fn read_buffer_size(&self) -> usize {
        self.read_buffer_size
    }

    /// The handshake timeout, if any.
    #[must_use]
    pub fn handshake_timeout(&self) -> Option<Duration> {
        self.handshake_timeout
    }

    /// How long a graceful close waits for the peer's end after sending close_notify.
    #[must_use]
    pub fn disconnect_timeout(&self) -> Option<Duration> {
        self.disconnect_timeout
    }

    /// Plaintext bytes ready to read: those buffered by the socket and those the engine has
    /// decrypted. With a read buffer limit set (`set_read_buffer_size`), at most that many
    /// are counted, as QSslSocket counts only its own buffer.
    #[must_use]
    pub fn bytes_available(&self) -> usize {
        let total = self.read_buf.len() + self.engine_plaintext;
        if self.read_buffer_size == 0 {
            total
        } else {
            total.min(self.read_buffer_size.max(self.read_buf.len()))
        }
    }

    /// Application bytes written but not yet handed on (to the engine, or to the transport
    /// when unencrypted).
    #[must_use]
    pub fn bytes_to_write(&self) -> usize {
        self.write_buf.len()
    }

    /// Bytes waiting for the transport that sslsocket holds: ciphertext the engine produced
    /// while the transport was full (and plaintext written before STARTTLS).
    #[must_use]
    pub fn encrypted_bytes_to_write(&self) -> usize {
        self.out.len()
    }

    /// Whether a whole line (ending in `\n`) can be read. Takes `&mut self`: plaintext the
    /// engine holds is moved into the read buffer to look for the line (within the read
    /// buffer limit).
    pub fn can_read_line(&mut self) -> bool {
        if self.read_buf.line_len().is_none() {
            self.pull_plaintext();
        }
        self.read_buf.line_len().is_some()
    }

    /// Whether no more data will ever be readable: the read buffer is empty and the peer has
    /// finished sending (or the connection is gone).
    #[must_use]
    pub fn at_end(&self) -> bool {
        self.read_buf.is_empty()
            && self.engine_plaintext == 0
            && (self.peer_closed
                || self.transport_eof
                || self.state == SocketState::UnconnectedState && self.host.is_some())
    }

    fn session(&self) -> Option<&dyn SslSession> {
        match &self.phase {
            Phase::Handshaking { session, .. }
            | Phase::Deciding { session, .. }
            | Phase::Encrypted(session)
            | Phase::Finished { session: Some(session), .. } => Some(session.as_ref()),
            Phase::Plain { .. } | Phase::Finished { session: None, .. } => None,
        }
    }

    /// The session while it runs (handshaking, deciding or encrypted), not once it ended.
    fn live_session(&self) -> Option<&dyn SslSession> {
        match &self.phase {
            Phase::Handshaking { session, .. }
            | Phase::Deciding { session, .. }
            | Phase::Encrypted(session) => Some(session.as_ref()),
            Phase::Plain { .. } | Phase::Finished { .. } => None,
        }
    }

    fn session_mut(&mut self) -> Option<&mut Box<dyn SslSession>> {
        match &mut self.phase {
            Phase::Handshaking { session, .. }
            | Phase::Deciding { session, .. }
            | Phase::Encrypted(session) => Some(session),
            Phase::Plain { .. } | Phase::Finished { .. } => None,
        }
    }

    /// The peer's certificate chain as it sent it, leaf first (empty if none or not known).
    ///
    /// The peer's identity outlives the session, as in Qt: the chain (and
    /// [`Connection::peer_certificate`], [`Connection::ssl_handshake_errors`],
    /// [`Connection::server_name`]) stay readable after the connection closed, aborted or
    /// failed, until the next connection starts. The negotiated parameters
    /// ([`Connection::session_protocol`], [`Connection::session_cipher`],
    /// [`Connection::alpn_protocol`]) do not.
    #[must_use]
    pub fn peer_certificate_chain(&self) -> Vec<SslCertificate> {
        self.session().map(|s| s.peer_certificate_chain()).unwrap_or_default()
    }

    /// The peer's (leaf) certificate.
    #[must_use]
    pub fn peer_certificate(&self) -> Option<SslCertificate> {
        self.peer_certificate_chain().into_iter().next()
    }

    /// The negotiated protocol while the session runs; `UnknownProtocol` when the connection
    /// is not encrypted (before the handshake has negotiated one, and once the session is
    /// over: closed, aborted or failed) or when the backend cannot tell (see
    /// `Feature::SessionProtocol`).
    #[must_use]
    pub fn session_protocol(&self) -> SslProtocol {
        self.live_session()
            .and_then(|s| s.protocol_version())
            .map_or(SslProtocol::UnknownProtocol, |v| v.protocol())
    }

    /// The negotiated cipher suite while the session runs, once known and where the backend
    /// can tell; `None` (Qt's null cipher) when the connection is not encrypted, the session
    /// being over included.
    #[must_use]
    pub fn session_cipher(&self) -> Option<SslCipher> {
        self.live_session().and_then(|s| s.cipher())
    }

    /// The negotiated ALPN protocol while the session runs, if any; `None` once the session
    /// is over.
    #[must_use]
    pub fn alpn_protocol(&self) -> Option<Vec<u8>> {
        self.live_session().and_then(|s| s.alpn_protocol())
    }

    /// The SNI name the client sent (server side); still readable after the session ended.
    #[must_use]
    pub fn server_name(&self) -> Option<String> {
        self.session().and_then(|s| s.server_name())
    }

    // ---- commands: connection lifecycle -------------------------------------------------

    /// Starts connecting to `host`: HostLookupState. The driver resolves the name and then
    /// calls `handle_host_found` and `handle_connected` (or `handle_error`).
    pub fn connect_to_host(&mut self, host: &str) {
        self.reset_for_connect();
        self.host = Some(host.to_owned());
        self.set_state(SocketState::HostLookupState);
    }

    /// As [`Connection::connect_to_host`], then the client handshake on `context` as soon as
    /// TCP is connected. Enters client mode at once, so nothing written meanwhile is sent in
    /// clear. The driver builds the context (a configuration the backend cannot honour fails
    /// there, before any byte is sent: report it with [`Connection::handle_error`]).
    pub fn connect_to_host_encrypted(&mut self, host: &str, context: Arc<dyn SslContext>) {
        self.connect_to_host(host);
        self.phase = Phase::Plain { connect_tls: Some(context) };
        self.fix_verify(Role::Client);
        self.set_mode(SslMode::SslClientMode);
    }

    /// The driver bound the socket the next connect uses (`bind`): BoundState.
    pub fn handle_bound(&mut self) {
        if matches!(self.state, SocketState::UnconnectedState | SocketState::BoundState) {
            self.set_state(SocketState::BoundState);
        }
    }

    /// The host name was resolved: ConnectingState.
    pub fn handle_host_found(&mut self) {
        self.dry = false;
        if self.state == SocketState::HostLookupState {
            self.emit(Event::HostFound);
            self.set_state(SocketState::ConnectingState);
        }
    }

    /// The transport is connected: ConnectedState, and the client handshake if an encrypted
    /// connect was asked for. Through a proxy, the connection stays in ConnectingState while
    /// the proxy negotiation runs (it moves bytes as in ConnectedState); `Connected` comes
    /// once the tunnel to the target is up.
    pub fn handle_connected(&mut self, now: Instant) {
        if self.state != SocketState::ConnectingState {
            return;
        }
        self.dry = false;
        if self.negotiation.is_none() && !self.start_negotiation(now) {
            self.enter_connected(now);
        }
    }

    /// Connected to the target (directly, or through the proxy's tunnel): ConnectedState,
    /// `Connected`, and the client handshake of an encrypted connect.
    fn enter_connected(&mut self, now: Instant) {
        self.set_state(SocketState::ConnectedState);
        self.emit(Event::Connected);
        if let Phase::Plain { connect_tls } = &mut self.phase {
            if let Some(context) = connect_tls.take() {
                self.begin_tls(&context, now, false);
            }
        }
    }

    /// Adopts an already connected transport (`setSocketDescriptor`): ConnectedState in
    /// unencrypted mode.
    pub fn handle_adopted(&mut self) {
        self.reset_for_connect();
        self.host = None;
        self.seen.was_connected = true;
        self.set_state(SocketState::ConnectedState);
    }

    /// Whether [`Connection::start_client_encryption`] / `start_server_encryption` would
    /// start a handshake now (connected and unencrypted): the driver builds a context only
    /// then.
    #[must_use]
    pub fn can_start_encryption(&self) -> bool {
        self.state == SocketState::ConnectedState && self.mode == SslMode::UnencryptedMode
    }

    /// Starts the client handshake on `context` on a connected, unencrypted connection
    /// (STARTTLS). Has no effect in any other state or mode.
    pub fn start_client_encryption(&mut self, context: &Arc<dyn SslContext>, now: Instant) {
        if self.can_start_encryption() {
            self.fix_verify(Role::Client);
            self.set_mode(SslMode::SslClientMode);
            self.begin_tls(context, now, true);
        }
    }

    /// Starts the server handshake on `context` on a connected, unencrypted connection. Has
    /// no effect in any other state or mode.
    pub fn start_server_encryption(&mut self, context: &Arc<dyn SslContext>, now: Instant) {
        if self.can_start_encryption() {
            self.fix_verify(Role::Server);
            self.set_mode(SslMode::SslServerMode);
            self.begin_tls(context, now, true);
        }
    }

    /// Closes gracefully (ClosingState): what was written goes out first, then close_notify;
    /// the driver shuts down the write side, and the connection keeps reading until the
    /// peer's close_notify or end of stream (bounded by the disconnect timeout) before it is
    /// Unconnected and the transport is closed. Closing a socket with unread input would make
    /// the kernel answer with a reset, and the peer would lose what it had not read yet.
    ///
    /// After [`Connection::close_write`] it turns that close into this one: the peer's data
    /// from then on is discarded, and the disconnect timeout applies.
    pub fn disconnect_from_host(&mut self) {
        self.start_close(false);
    }

    /// Closes our direction only (tokio's `shutdown`, RFC 8446 §6.1): what was written goes
    /// out, then close_notify, and the driver shuts down the transport's write side
    /// ([`Wait::WriteClosed`]). Reading goes on until the peer's close_notify or end of
    /// stream; then the connection is over (Unconnected, `Disconnected`). Nothing can be
    /// written after it.
    pub fn close_write(&mut self) {
        self.start_close(true);
    }

    fn start_close(&mut self, read_on: bool) {
        match self.state {
            SocketState::UnconnectedState => {}
            SocketState::ClosingState => {
                if read_on {
                    return;
                }
                // A half-close in progress becomes a whole one.
                self.dry = false;
                match &mut self.close {
                    Close::Flushing { read_on, .. } | Close::ShutdownWrite { read_on } => {
                        *read_on = false;
                    }
                    // The write side is shut already; shutting it again is harmless and
                    // starts the disconnect timeout.
                    Close::WriteShut => self.close = Close::ShutdownWrite { read_on: false },
                    Close::Open | Close::Draining { .. } | Close::Release => {}
                }
            }
            SocketState::HostLookupState | SocketState::ConnectingState => self.abort(),
            _ => {
                self.dry = false;
                self.close = Close::Flushing { close_notify_sent: false, read_on };
                self.set_state(SocketState::ClosingState);
                self.progress_close();
            }
        }
    }

    /// Whether our direction is closed (close_notify and the transport's write side are
    /// out) while the peer's end has not been seen yet.
    #[must_use]
    pub fn is_write_shut(&self) -> bool {
        matches!(self.close, Close::WriteShut | Close::Draining { .. })
    }

    /// Whether the peer's close_notify (or, unencrypted, its end of stream) ends only its
    /// direction, as tokio's and RFC 8446's half-close has it, and ours stays open for
    /// writing; or (the default, Qt's behaviour) the whole connection, answered with our
    /// close_notify once our writes are out. The async socket turns it on.
    pub fn set_half_close(&mut self, half_close: bool) {
        self.half_close = half_close;
    }

    /// Drops the connection at once, discarding pending writes.
    pub fn abort(&mut self) {
        self.negotiation = None;
        self.write_buf.clear();
        self.out.clear();
        // What the engine decrypted stays readable after the session ends (an engine failure
        // here ends nothing more than the session, which is ending).
        let _ = self.spill_plaintext(usize::MAX);
        self.phase = match std::mem::replace(&mut self.phase, Phase::Plain { connect_tls: None }) {
            Phase::Handshaking { session, .. } | Phase::Deciding { session, .. } => {
                // The handshake is over, unaccepted: its ignore settings are spent.
                self.ignore = Ignore::default();
                Phase::Finished { session: Some(session), was_encrypted: false }
            }
            Phase::Encrypted(session) => {
                Phase::Finished { session: Some(session), was_encrypted: true }
            }
            finished @ Phase::Finished { .. } => finished,
            Phase::Plain { .. } => Phase::Finished { session: None, was_encrypted: false },
        };
        self.finish_disconnect();
    }

    /// `aboutToClose`, then [`Connection::disconnect_from_host`], and the read buffer is
    /// discarded.
    pub fn close(&mut self) {
        if self.state != SocketState::UnconnectedState {
            self.emit(Event::AboutToClose);
        }
        let _ = self.spill_plaintext(usize::MAX); // discarded with the rest
        self.read_buf.clear();
        self.disconnect_from_host();
    }

    /// The next event, if any. Takes the pending verification decision once `SslErrors` has
    /// been delivered and the queue is empty (unless paused, see `PauseOnSslErrors`).
    pub fn poll_event(&mut self) -> Option<Event> {
        if let Some(event) = self.events.pop_front() {
            if matches!(event, Event::SslErrors(_)) {
                if let Phase::Deciding { delivered, .. } = &mut self.phase {
                    *delivered = true;
                }
            }
            return Some(event);
        }
        if self.events.capacity() > 0 {
            // Events come in bursts (the connect, the handshake, a read or a write): an idle
            // connection keeps no room for them; the thread keeps it for the next burst.
            spare_events::put(std::mem::take(&mut self.events));
        }
        let pause = self.pause_mode == PauseMode::PauseOnSslErrors;
        if let Phase::Deciding { delivered: true, paused: paused @ false, .. } = &mut self.phase {
            if pause {
                // The handshake's deadline keeps running: it bounds the decision too.
                *paused = true;
            } else {
                self.decide();
            }
        }
        self.events.pop_front()
    }

    /// When `handle_timeout` must be called next: the handshake's deadline, or how long a
    /// graceful close still waits for the peer.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.close {
            Close::Draining { until } => until,
            _ => self.deadline,
        }
    }

    /// The clock reached `now`: fails a handshake that has overrun its timeout; ends a
    /// graceful close whose peer did not finish in time.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Close::Draining { until: Some(until) } = self.close {
            if now >= until {
                self.dry = false;
                let error = self.error.take();
                self.abort();
                self.error = error;
            }
            return;
        }
        if let Some(deadline) = self.deadline {
            if now >= deadline {
                self.deadline = None;
                self.dry = false;
                if self.negotiation.is_some() {
                    return self.proxy_timed_out();
                }
                self.fail(Error::Timeout { operation: "handshake" });
            }
        }
    }

    /// Something outside the connection failed: the transport (connect refused, reset, name
    /// not found…) or the engine context the driver was building for it. Ends the
    /// connection with `err`.
    /// Through a proxy, a failure to resolve or connect to it is the proxy's
    /// (`ProxyNotFoundError`, `ProxyConnectionRefusedError`), and one during the negotiation
    /// is `ProxyConnectionClosedError`.
    pub fn handle_error(&mut self, err: Error) {
        self.dry = false;
        let err = self.proxy_error_of(err);
        self.fail(err);
    }

    // ---- internals ----------------------------------------------------------------------

    fn reset_for_connect(&mut self) {
        self.phase = Phase::Plain { connect_tls: None };
        self.mode = SslMode::UnencryptedMode;
        self.close = Close::Open;
        self.transport_eof = false;
        self.peer_closed = false;
        self.error = None;
        self.handshake_errors.clear();
        self.deadline = None;
        self.verify = None;
        self.negotiation = None;
        self.route = None;
        self.proxy_retried = false;
        self.target_addr = None;
        self.seen = Seen::default();
        self.dry = false;
        self.read_buf.clear();
        self.engine_plaintext = 0;
        self.out.clear();
        self.app_data_seen = false;
        self.write_failed = None;
        self.farewell.clear();
    }

    fn set_state(&mut self, state: SocketState) {
        if self.state != state {
            self.state = state;
            self.emit(Event::StateChanged(state));
        }
    }

    fn set_mode(&mut self, mode: SslMode) {
        if self.mode != mode {
            self.mode = mode;
            self.emit(Event::ModeChanged(mode));
        }
    }

    /// Starts the engine session, verified as `verify` says (set by the caller, see
    /// [`Connection::fix_verify`]). `starttls`: the connection was in unencrypted mode, so bytes
    /// already written were meant to go in clear; otherwise (an encrypted connect) they were
    /// written in client mode and wait for `Encrypted` like any other.
    fn begin_tls(&mut self, context: &Arc<dyn SslContext>, now: Instant, starttls: bool) {
        self.dry = false;
        let name = self.verify.as_ref().and_then(|v| v.name.clone());
        let session = context.new_session(name.as_deref()).map_err(Error::from);
        let mut session = match session {
            Ok(session) => session,
            Err(err) => return self.fail(err),
        };
        // An ignore list the engine can never apply must not pass for one that works.
        let features = self.backend.features();
        if !self.ignore.is_empty() && !features.contains(Feature::RecoverableVerifyErrors) {
            let feature = Feature::RecoverableVerifyErrors;
            return self
                .fail(ConfigError::Unsupported { backend: self.backend.name(), feature }.into());
        }
        // STARTTLS: bytes written before the switch were meant to go in clear (the command
        // itself): they leave first. Bytes received and not yet read are the peer's first TLS
        // bytes.
        if starttls {
            self.out.extend(self.write_buf.drain(..));
        }
        let unread = self.read_buf.take_all();
        if !unread.is_empty() {
            if let Err(err) = session.read_tls(&mut unread.as_slice()) {
                return self.fail(Error::io(err));
            }
        }
        self.handshake_errors.clear();
        self.deadline = self.handshake_timeout.map(|t| now + t);
        self.app_data_seen = false;
        self.phase = Phase::Handshaking { session, accepted: false };
        if !unread.is_empty() {
            self.process_tls(now);
        }
    }

    /// Fixes what the handshake about to start on a context built from the configuration as
    /// it is now is verified by (see [`Verify`]).
    fn fix_verify(&mut self, role: Role) {
        let name = match role {
            Role::Client => self.peer_verify_name().map(str::to_owned),
            Role::Server => None,
        };
        self.verify = Some(Verify { config: self.config.clone(), name });
    }

    /// The configuration the handshake in progress is judged by: the one it started with.
    fn verify_config(&self) -> &SslConfiguration {
        self.verify.as_ref().map_or(&self.config, |v| &v.config)
    }

    /// Ends the connection with `err`: sticky error, `Error` event, Unconnected.
    fn fail(&mut self, err: Error) {
        if self.fatal_error().is_some() && matches!(self.phase, Phase::Finished { .. }) {
            return;
        }
        // A rejection the engine made itself (it verifies inside the handshake) has its alert
        // queued too; one our policy made has none of the engine's (see `keep_policy_alert`).
        if matches!(err, Error::Handshake(_) | Error::Rejected { .. }) {
            self.keep_engine_farewell();
        }
        if let Error::Rejected { errors } = &err {
            self.keep_policy_alert(policy::rejection_alert(errors));
        }
        let kind = err.kind();
        self.error = Some(LastError { error: err, fatal: true });
        self.emit(Event::Error(kind));
        self.abort();
    }

    /// A handshake the engine failed: what it wrote last (the alert that tells the peer why)
    /// is kept for the transport, behind the bytes already held for it, so that the peer
    /// learns why instead of seeing the connection vanish.
    fn keep_engine_farewell(&mut self) {
        // Only while the engine is handshaking: a connection deciding on the peer's
        // certificate holds the engine's next flight (a TLS 1.3 client's Finished), which
        // must never go out once the peer is rejected; after the handshake the peer's alert
        // ended the session and there is nothing to tell it.
        let Phase::Handshaking { session, .. } = &mut self.phase else { return };
        let mut bytes: Vec<u8> = self.out.drain(..).collect();
        let held = bytes.len();
        // An alert is a few bytes; a bound keeps an engine that always wants to write finite.
        for _ in 0..8 {
            if !session.wants_write() || bytes.len() > FAREWELL_MAX {
                break;
            }
            match session.write_tls(&mut bytes) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        for alert in Alert::in_clear_records(&bytes[held..]) {
            self.emit(Event::AlertSent(alert));
        }
        self.farewell = bytes;
    }

    /// A certificate our policy rejected while the engine waited for the decision (it
    /// accepted, or verified nothing): the engine has no alert to send, and none of the
    /// engines offers a call that sends a chosen one. Where the alert may travel in the
    /// clear, the connection writes it itself: in TLS 1.2 and older, whose records are
    /// unprotected until the sender's ChangeCipherSpec (RFC 5246 section 6.1), which neither
    /// side of a deciding connection has sent yet; and from a TLS 1.3 client, which has sent
    /// nothing encrypted yet and rejects the server's certificate exactly as OpenSSL's client
    /// does (in the clear; OpenSSL's server expects it then). A TLS 1.3 server has sent its
    /// encrypted flight: its alert would need the engine's keys, so nothing is sent and the
    /// client sees the connection end. A record is seven bytes and no crate writes one,
    /// hence by hand.
    fn keep_policy_alert(&mut self, code: u8) {
        let Phase::Deciding { session, .. } = &self.phase else { return };
        let version = match session.protocol_version() {
            Some(TlsVersion::Tls1_3) if self.mode == SslMode::SslClientMode => [3, 3],
            Some(TlsVersion::Tls1_2) => [3, 3],
            Some(TlsVersion::Tls1_1) => [3, 2],
            Some(TlsVersion::Tls1_0) => [3, 1],
            Some(TlsVersion::Tls1_3) | None => return,
        };
        // What is held for the transport (never the engine's next flight: it stays in the
        // engine while deciding) goes first, whole records behind the bytes already sent.
        let alert = Alert::fatal(code);
        let mut bytes: Vec<u8> = self.out.drain(..).collect();
        bytes.extend_from_slice(&alert.clear_record(version));
        self.emit(Event::AlertSent(alert));
        self.farewell = bytes;
    }

    /// The bytes to write to the transport, once and without waiting, before closing it
    /// ([`Action::Close`]): after a failed handshake, the
    /// engine's alert; empty otherwise.
    pub fn take_farewell(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.farewell)
    }

    /// Records an error that ends nothing (a wait that timed out: `SocketTimeoutError`).
    pub(super) fn note_error(&mut self, err: Error) {
        let kind = err.kind();
        self.error = Some(LastError { error: err, fatal: false });
        self.emit(Event::Error(kind));
    }

    /// Queues `event` and latches what the waits look for.
    pub(super) fn emit(&mut self, event: Event) {
        self.seen.note(&event);
        if self.events.capacity() == 0 {
            self.events = spare_events::take();
        }
        self.events.push_back(event);
    }

    fn finish_disconnect(&mut self) {
        self.deadline = None;
        if self.state != SocketState::UnconnectedState {
            let was_connected =
                matches!(self.state, SocketState::ConnectedState | SocketState::ClosingState);
            self.set_state(SocketState::UnconnectedState);
            if was_connected {
                self.emit(Event::Disconnected);
            }
            // A transport exists from the connect on: the driver closes it.
            self.close = Close::Release;
        } else {
            self.close = Close::Open;
        }
    }

    /// Takes the verification decision for a `Deciding` connection.
    fn decide(&mut self) {
        let Phase::Deciding { errors, .. } = &self.phase else { return };
        let remaining = self.ignore.remaining(errors);
        if !remaining.is_empty() {
            return self.fail(Error::Rejected { errors: remaining });
        }
        let Phase::Deciding { session, .. } =
            std::mem::replace(&mut self.phase, Phase::Plain { connect_tls: None })
        else {
            return;
        };
        if session.is_handshaking() {
            self.phase = Phase::Handshaking { session, accepted: true };
        } else {
            self.phase = Phase::Encrypted(session);
            self.on_encrypted();
        }
    }
}

/// An error's message followed by its sources' (`a: b: c`).
#[must_use]
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Whether verification errors for a connection in `mode` with `config` are acted on.
fn verify_is_enforced(config: &SslConfiguration, mode: SslMode) -> bool {
    policy::errors_are_fatal(config.peer_verify_mode.effective(mode))
}

/// Whether a certificate is required from the peer in `mode` (`VerifyPeer`: a server's when
/// set, a client's by default).
fn certificate_required(config: &SslConfiguration, mode: SslMode) -> bool {
    config.peer_verify_mode.effective(mode) == PeerVerifyMode::VerifyPeer
}

/// The room of a drained event queue, kept per thread for the next connection that emits: a
/// connection keeps none while idle, and a read or write (which emits `ReadyRead`,
/// `BytesWritten`) does not allocate it again and free it each time.
mod spare_events {
    use std::cell::Cell;
    use std::collections::VecDeque;

    use super::Event;

    thread_local! {
        static SPARE: Cell<VecDeque<Event>> = const { Cell::new(VecDeque::new()) };
    }

    /// A queue with room when the thread has one (empty either way).
    pub(super) fn take() -> VecDeque<Event> {
        SPARE.try_with(Cell::take).unwrap_or_default()
    }

    /// Keeps `queue`'s room (it is empty) for the thread's next [`take`]: the larger of two,
    /// up to 64 events (a rarer storm's room is freed).
    pub(super) fn put(queue: VecDeque<Event>) {
        debug_assert!(queue.is_empty());
        if queue.capacity() > 64 {
            return;
        }
        let _ = SPARE.try_with(|spare| {
            let kept = spare.take();
            spare.set(if kept.capacity() >= queue.capacity() { kept } else { queue });
        });
    }
}
