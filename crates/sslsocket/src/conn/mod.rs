//! The sans-IO connection state machine: everything QSslSocket decides, with no socket and no
//! clock.
//!
//! A [`Connection`] owns every buffer, counter, deadline and state (SocketState × SslMode ×
//! handshake phase). Its methods fall into four groups, as in quinn-proto:
//!
//! - **getters**: `state`, `mode`, `is_encrypted`, `error`, counters, session facts;
//! - **`handle_*`**: input from the network or the clock — `handle_host_found`,
//!   `handle_connected`, `handle_readable` (hand it the transport to read from),
//!   `handle_transport_error`, `handle_timeout`;
//! - **commands** from the application — `connect_to_host`, `start_client_encryption`,
//!   `write`, `read`, `ignore_ssl_errors`, `resume`, `disconnect_from_host`, `abort`, …;
//! - **`poll_*`**: outputs the caller must act on — `poll_transmit` (hand it the transport
//!   to write to), `poll_event`, `poll_timeout`, `poll_close`.
//!
//! A driver loops: `poll_transmit` while `wants_write`, `handle_readable` while `wants_read`,
//! `poll_event` until `None` (delivering each to the application), `poll_close`, then waits
//! for the transport or `poll_timeout`. Verification decisions are taken inside `poll_event`,
//! once the `SslErrors` event has been delivered and the application's handler has returned.

mod app;
mod buffer;
mod drive;
mod event;
pub mod pair;
mod policy;
mod tls;
mod transport;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ssl_api::{
    ConfigError, Error, Feature, PauseMode, PeerVerifyMode, Role, SocketState, SslBackend,
    SslCertificate, SslCipher, SslConfiguration, SslContext, SslError, SslErrorKind, SslMode,
    SslProtocol, SslSession,
};

use self::buffer::ReadBuffer;
pub use self::event::Event;
use self::policy::Ignore;

/// The TLS side of the connection. Variants carry their own data.
#[derive(Debug)]
enum Phase {
    /// No TLS (yet): unencrypted mode, or waiting for TCP before an encrypted connect.
    Plain,
    /// The engine is handshaking; `accepted` once the policy has accepted the peer early
    /// (errors found before the engine finished).
    Handshaking { session: Box<dyn SslSession>, accepted: bool },
    /// Verification found errors; waiting for the application's decision. Nothing is read or
    /// written meanwhile.
    Deciding { session: Box<dyn SslSession>, errors: Vec<SslError>, delivered: bool },
    /// Handshake done, peer accepted: application data flows.
    Encrypted(Box<dyn SslSession>),
    /// The session is over (closed, aborted or failed); the session is kept, when there was
    /// one, so that its facts (peer chain, cipher) can still be read.
    Finished(Option<Box<dyn SslSession>>),
}

/// QSslSocket's state machine over a TLS engine session, with no I/O. See the module docs.
#[derive(Debug)]
pub struct Connection {
    backend: Arc<dyn SslBackend>,
    /// Shared (copy on write): a server's connections all point to its one configuration.
    config: Arc<SslConfiguration>,
    context: Option<(Role, Arc<dyn SslContext>)>,
    peer_verify_name: Option<String>,
    host: Option<String>,
    pause_mode: PauseMode,
    handshake_timeout: Option<Duration>,
    read_buffer_size: usize,
    write_buffer_limit: usize,

    state: SocketState,
    mode: SslMode,
    phase: Phase,
    encrypt_on_connect: bool,
    closing: bool,
    close_notify_sent: bool,
    transport_eof: bool,
    peer_closed: bool,
    transport_done: bool,

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
    error: Option<Error>,
    handshake_errors: Vec<SslError>,
    ignore: Ignore,
    deadline: Option<Instant>,
    paused: bool,
    /// `Encrypted` was reached on this connection (it may have closed since).
    was_encrypted: bool,
}

/// Ciphertext the engine may hold back in `out` before plaintext stops being encrypted.
const OUT_HIGH_WATER: usize = 64 * 1024;

impl Connection {
    /// A new, unconnected connection on `backend`, starting from `config`.
    #[must_use]
    pub fn new(backend: Arc<dyn SslBackend>, config: SslConfiguration) -> Connection {
        Connection {
            backend,
            config: Arc::new(config),
            context: None,
            peer_verify_name: None,
            host: None,
            pause_mode: PauseMode::PauseNever,
            handshake_timeout: None,
            read_buffer_size: 0,
            write_buffer_limit: 256 * 1024,
            state: SocketState::UnconnectedState,
            mode: SslMode::UnencryptedMode,
            phase: Phase::Plain,
            encrypt_on_connect: false,
            closing: false,
            close_notify_sent: false,
            transport_eof: false,
            peer_closed: false,
            transport_done: false,
            read_buf: ReadBuffer::default(),
            engine_plaintext: 0,
            write_buf: VecDeque::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            error: None,
            handshake_errors: Vec::new(),
            ignore: Ignore::Nothing,
            deadline: None,
            paused: false,
            was_encrypted: false,
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
        self.was_encrypted
    }

    /// The last error, sticky once fatal.
    #[must_use]
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// The last error's text, or an empty string.
    #[must_use]
    pub fn error_string(&self) -> String {
        self.error.as_ref().map(|e| error_chain(e)).unwrap_or_default()
    }

    /// Every certificate verification error of the last handshake, ignored ones included
    /// (`sslHandshakeErrors`).
    #[must_use]
    pub fn ssl_handshake_errors(&self) -> &[SslError] {
        &self.handshake_errors
    }

    /// The configuration the next handshake will use.
    #[must_use]
    pub fn ssl_configuration(&self) -> &SslConfiguration {
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
            | Phase::Finished(Some(session)) => Some(session.as_ref()),
            Phase::Plain | Phase::Finished(None) => None,
        }
    }

    fn session_mut(&mut self) -> Option<&mut Box<dyn SslSession>> {
        match &mut self.phase {
            Phase::Handshaking { session, .. }
            | Phase::Deciding { session, .. }
            | Phase::Encrypted(session) => Some(session),
            Phase::Plain | Phase::Finished(_) => None,
        }
    }

    /// The peer's certificate chain as it sent it, leaf first (empty if none or not known).
    #[must_use]
    pub fn peer_certificate_chain(&self) -> Vec<SslCertificate> {
        self.session().map(|s| s.peer_certificate_chain()).unwrap_or_default()
    }

    /// The peer's (leaf) certificate.
    #[must_use]
    pub fn peer_certificate(&self) -> Option<SslCertificate> {
        self.peer_certificate_chain().into_iter().next()
    }

    /// The negotiated protocol (`UnknownProtocol` before the handshake or when the backend
    /// cannot tell; see `Feature::SessionProtocol`).
    #[must_use]
    pub fn session_protocol(&self) -> SslProtocol {
        self.session()
            .and_then(|s| s.protocol_version())
            .map_or(SslProtocol::UnknownProtocol, |v| v.protocol())
    }

    /// The negotiated cipher suite, once known and where the backend can tell.
    #[must_use]
    pub fn session_cipher(&self) -> Option<SslCipher> {
        self.session().and_then(|s| s.cipher())
    }

    /// The negotiated ALPN protocol, if any.
    #[must_use]
    pub fn alpn_protocol(&self) -> Option<Vec<u8>> {
        self.session().and_then(|s| s.alpn_protocol())
    }

    /// The SNI name the client sent (server side).
    #[must_use]
    pub fn server_name(&self) -> Option<String> {
        self.session().and_then(|s| s.server_name())
    }

    // ---- configuration ------------------------------------------------------------------

    /// Replaces the configuration. Takes effect at the next handshake.
    pub fn set_ssl_configuration(&mut self, config: SslConfiguration) {
        self.set_shared_ssl_configuration(Arc::new(config));
    }

    /// Replaces the configuration with one shared with other connections (a server gives
    /// each accepted connection its own, this way without a copy). Changes made later through
    /// this connection copy it first. Takes effect at the next handshake.
    pub fn set_shared_ssl_configuration(&mut self, config: Arc<SslConfiguration>) {
        self.config = config;
        self.context = None;
    }

    /// Changes the configuration in place. Takes effect at the next handshake.
    pub fn update_configuration(&mut self, change: impl FnOnce(&mut SslConfiguration)) {
        change(Arc::make_mut(&mut self.config));
        self.context = None;
    }

    /// Sets the name to verify the peer's certificate against and to send as SNI, instead of
    /// the host connected to.
    pub fn set_peer_verify_name(&mut self, name: impl Into<String>) {
        self.peer_verify_name = Some(name.into());
    }

    /// Sets the pause mode.
    pub fn set_pause_mode(&mut self, mode: PauseMode) {
        self.pause_mode = mode;
    }

    /// Bounds the plaintext read buffer; 0 is unlimited (the default). While the buffer is
    /// full the transport is not read, so a flood cannot grow memory.
    pub fn set_read_buffer_size(&mut self, size: usize) {
        self.read_buffer_size = size;
    }

    /// Bounds how many application bytes [`Connection::write`] takes before it returns less
    /// than asked (back-pressure). Default 256 KiB; at least 1.
    pub fn set_write_buffer_limit(&mut self, limit: usize) {
        self.write_buffer_limit = limit.max(1);
    }

    /// Sets the time a handshake may take from `start_*_encryption`; `None` (the default) is
    /// no limit.
    pub fn set_handshake_timeout(&mut self, timeout: Option<Duration>) {
        self.handshake_timeout = timeout;
    }

    /// Ignores every certificate error of this connection's handshakes (`ignoreSslErrors()`).
    /// Call before the handshake or from the `SslErrors` handler.
    pub fn ignore_ssl_errors(&mut self) {
        self.ignore = Ignore::All;
    }

    /// Ignores exactly these errors (same kind and certificate); replaces an earlier list, and
    /// an empty list clears it.
    pub fn ignore_ssl_errors_list(&mut self, errors: Vec<SslError>) {
        self.ignore = if errors.is_empty() { Ignore::Nothing } else { Ignore::Exactly(errors) };
    }

    /// Ignores errors of these kinds whichever certificate they concern; replaces an earlier
    /// list, and an empty list clears it.
    pub fn ignore_ssl_error_kinds(&mut self, kinds: Vec<SslErrorKind>) {
        self.ignore = if kinds.is_empty() { Ignore::Nothing } else { Ignore::Kinds(kinds) };
    }

    /// Continues after a pause on `SslErrors`: takes the decision with the ignore settings as
    /// they are now.
    pub fn resume(&mut self) {
        if self.paused {
            self.paused = false;
            self.decide();
        }
    }

    // ---- commands: connection lifecycle -------------------------------------------------

    /// Starts connecting to `host`: HostLookupState. The driver resolves the name and then
    /// calls `handle_host_found` and `handle_connected` (or `handle_transport_error`).
    pub fn connect_to_host(&mut self, host: &str) {
        self.reset_for_connect();
        self.host = Some(host.to_owned());
        self.set_state(SocketState::HostLookupState);
    }

    /// As [`Connection::connect_to_host`], then the client handshake as soon as TCP is
    /// connected. Enters client mode at once, so nothing written meanwhile is sent in clear.
    /// A configuration the backend cannot honour fails here, before any byte is sent.
    pub fn connect_to_host_encrypted(&mut self, host: &str) {
        self.connect_to_host(host);
        self.encrypt_on_connect = true;
        self.set_mode(SslMode::SslClientMode);
        if let Err(err) = self.prepare_context(Role::Client) {
            self.fail(err);
        }
    }

    /// The host name was resolved: ConnectingState.
    pub fn handle_host_found(&mut self) {
        if self.state == SocketState::HostLookupState {
            self.events.push_back(Event::HostFound);
            self.set_state(SocketState::ConnectingState);
        }
    }

    /// The transport is connected: ConnectedState, and the client handshake if an encrypted
    /// connect was asked for.
    pub fn handle_connected(&mut self, now: Instant) {
        if self.state != SocketState::ConnectingState {
            return;
        }
        self.set_state(SocketState::ConnectedState);
        self.events.push_back(Event::Connected);
        if self.encrypt_on_connect {
            self.encrypt_on_connect = false;
            self.begin_tls(Role::Client, now, false);
        }
    }

    /// Adopts an already connected transport (`setSocketDescriptor`): ConnectedState in
    /// unencrypted mode.
    pub fn handle_adopted(&mut self) {
        self.reset_for_connect();
        self.set_state(SocketState::ConnectedState);
    }

    /// Starts the client handshake on a connected, unencrypted connection (STARTTLS). Has no
    /// effect in any other state or mode.
    pub fn start_client_encryption(&mut self, now: Instant) {
        if self.state == SocketState::ConnectedState && self.mode == SslMode::UnencryptedMode {
            self.set_mode(SslMode::SslClientMode);
            self.begin_tls(Role::Client, now, true);
        }
    }

    /// Starts the server handshake on a connected, unencrypted connection. Has no effect in any
    /// other state or mode.
    pub fn start_server_encryption(&mut self, now: Instant) {
        if self.state == SocketState::ConnectedState && self.mode == SslMode::UnencryptedMode {
            self.set_mode(SslMode::SslServerMode);
            self.begin_tls(Role::Server, now, true);
        }
    }

    /// Closes gracefully: flushes what was written, sends close_notify, then Unconnected.
    pub fn disconnect_from_host(&mut self) {
        match self.state {
            SocketState::UnconnectedState | SocketState::ClosingState => {}
            SocketState::HostLookupState | SocketState::ConnectingState => self.abort(),
            _ => {
                self.closing = true;
                self.set_state(SocketState::ClosingState);
                self.progress_close();
            }
        }
    }

    /// Drops the connection at once, discarding pending writes.
    pub fn abort(&mut self) {
        self.write_buf.clear();
        self.out.clear();
        // What the engine decrypted stays readable after the session ends (an engine failure
        // here ends nothing more than the session, which is ending).
        let _ = self.spill_plaintext(usize::MAX);
        self.phase = match std::mem::replace(&mut self.phase, Phase::Plain) {
            Phase::Handshaking { session, .. }
            | Phase::Deciding { session, .. }
            | Phase::Encrypted(session) => Phase::Finished(Some(session)),
            Phase::Finished(kept) => Phase::Finished(kept),
            Phase::Plain => Phase::Finished(None),
        };
        self.encrypt_on_connect = false;
        self.paused = false;
        self.finish_disconnect();
    }

    /// `aboutToClose`, then [`Connection::disconnect_from_host`], and the read buffer is
    /// discarded.
    pub fn close(&mut self) {
        if self.state != SocketState::UnconnectedState {
            self.events.push_back(Event::AboutToClose);
        }
        let _ = self.spill_plaintext(usize::MAX); // discarded with the rest
        self.read_buf.clear();
        self.disconnect_from_host();
    }

    /// Whether the driver should close the transport now (after the final flush).
    #[must_use]
    pub fn poll_close(&mut self) -> bool {
        if self.transport_done {
            self.transport_done = false;
            return true;
        }
        false
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
        if matches!(self.phase, Phase::Deciding { delivered: true, .. }) && !self.paused {
            if self.pause_mode == PauseMode::PauseOnSslErrors {
                self.paused = true;
                self.deadline = None;
            } else {
                self.decide();
            }
        }
        self.events.pop_front()
    }

    /// When `handle_timeout` must be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// The clock reached `now`: fails a handshake that has overrun its timeout.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(deadline) = self.deadline {
            if now >= deadline {
                self.deadline = None;
                self.fail(Error::Timeout { operation: "handshake" });
            }
        }
    }

    /// The transport failed (connect refused, reset, name not found…).
    pub fn handle_transport_error(&mut self, err: Error) {
        self.fail(err);
    }

    // ---- internals ----------------------------------------------------------------------

    fn reset_for_connect(&mut self) {
        self.phase = Phase::Plain;
        self.mode = SslMode::UnencryptedMode;
        self.encrypt_on_connect = false;
        self.closing = false;
        self.close_notify_sent = false;
        self.transport_eof = false;
        self.peer_closed = false;
        self.transport_done = false;
        self.error = None;
        self.handshake_errors.clear();
        self.deadline = None;
        self.paused = false;
        self.was_encrypted = false;
        self.read_buf.clear();
        self.engine_plaintext = 0;
        self.out.clear();
    }

    fn set_state(&mut self, state: SocketState) {
        if self.state != state {
            self.state = state;
            self.events.push_back(Event::StateChanged(state));
        }
    }

    fn set_mode(&mut self, mode: SslMode) {
        if self.mode != mode {
            self.mode = mode;
            self.events.push_back(Event::ModeChanged(mode));
        }
    }

    fn prepare_context(&mut self, role: Role) -> Result<Arc<dyn SslContext>, Error> {
        if let Some((r, ctx)) = &self.context {
            if *r == role {
                return Ok(ctx.clone());
            }
        }
        let ctx = crate::registry::context_for(&self.backend, &self.config, role)?;
        self.context = Some((role, ctx.clone()));
        Ok(ctx)
    }

    /// Starts the engine session. `starttls`: the connection was in unencrypted mode, so bytes
    /// already written were meant to go in clear; otherwise (an encrypted connect) they were
    /// written in client mode and wait for `Encrypted` like any other.
    fn begin_tls(&mut self, role: Role, now: Instant, starttls: bool) {
        let session = self.prepare_context(role).and_then(|ctx| {
            let name = match role {
                Role::Client => self.peer_verify_name().map(str::to_owned),
                Role::Server => None,
            };
            ctx.new_session(name.as_deref()).map_err(Error::from)
        });
        let mut session = match session {
            Ok(session) => session,
            Err(err) => return self.fail(err),
        };
        // An ignore list the engine can never apply must not pass for one that works.
        let features = self.backend.features();
        if self.ignore != Ignore::Nothing && !features.contains(Feature::RecoverableVerifyErrors) {
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
        self.phase = Phase::Handshaking { session, accepted: false };
        if !unread.is_empty() {
            self.process_tls(now);
        }
    }

    /// Ends the connection with `err`: sticky error, `Error` event, Unconnected.
    fn fail(&mut self, err: Error) {
        if self.error.is_some() && matches!(self.phase, Phase::Finished(_)) {
            return;
        }
        let kind = err.kind();
        self.error = Some(err);
        self.events.push_back(Event::Error(kind));
        self.abort();
    }

    fn finish_disconnect(&mut self) {
        self.deadline = None;
        self.closing = false;
        if self.state != SocketState::UnconnectedState {
            let was_connected =
                matches!(self.state, SocketState::ConnectedState | SocketState::ClosingState);
            self.set_state(SocketState::UnconnectedState);
            if was_connected {
                self.events.push_back(Event::Disconnected);
            }
            self.transport_done = true;
        }
    }

    /// Takes the verification decision for a `Deciding` connection.
    fn decide(&mut self) {
        let Phase::Deciding { errors, .. } = &self.phase else { return };
        let remaining = self.ignore.remaining(errors);
        if !remaining.is_empty() {
            return self.fail(Error::Rejected { errors: remaining });
        }
        let Phase::Deciding { session, .. } = std::mem::replace(&mut self.phase, Phase::Plain)
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

/// Whether a certificate is required from the peer in `mode` (server `VerifyPeer`).
fn certificate_required(config: &SslConfiguration, mode: SslMode) -> bool {
    config.peer_verify_mode.effective(mode) == PeerVerifyMode::VerifyPeer
}
