//! The driving contract: what a driver waits for ([`Wait`]), what the connection tells it to
//! do next ([`Action`]), and the one pump every driver (and the in-memory pair) moves bytes
//! with. The rules of the lifecycle live here, not in the drivers.

use std::io;
use std::time::Instant;

use ssl_api::{Error, SocketState, UsageError};

use super::{Close, Connection, Event, Phase};

/// Write-then-read rounds one `pump` call makes at most.
const PUMP_ROUNDS: usize = 4;
/// Transport reads one round makes at most.
const READS_PER_ROUND: usize = 16;
/// Plaintext that arrives after our close_notify is kept readable up to this many bytes
/// (or the read buffer limit); the rest is read and discarded, so that the transport is
/// drained and the close is not answered with a reset.
const DRAIN_KEEP: usize = 1024 * 1024;

/// What a driver is waiting for: one per `wait_for_*`, plus the conditions its `Read` /
/// `Write` implementations need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Wait {
    /// No condition: make all the progress possible without waiting, then
    /// [`Action::Done`] (a best-effort step, the in-memory pair, a server's poller).
    Nothing,
    /// TCP connected (`waitForConnected`): done once `Connected` was emitted during the wait,
    /// even if the handshake failed right after.
    Connected,
    /// Handshake done and the peer accepted (`waitForEncrypted`).
    Encrypted,
    /// New data arrived (`waitForReadyRead`): a `ReadyRead` not yet waited for.
    ReadyRead,
    /// Written bytes were handed on (`waitForBytesWritten`): a `BytesWritten` not yet waited
    /// for, including those of a `write` that handed its bytes on at once.
    BytesWritten,
    /// The connection is over (`waitForDisconnected`): after a graceful close, once the
    /// peer's end was seen.
    Disconnected,
    /// Something can be read now, or never will be (data, end of stream, an error): what a
    /// blocking `read` waits for.
    Readable,
    /// The write buffer has room (or the connection cannot take data any more).
    Writable,
    /// Everything written is on the transport (`flush`).
    Flushed,
    /// No condition, on a writer's behalf: send what can go without waiting, then
    /// [`Action::Done`]. The transport is read only as far as the engine needs: nothing it
    /// decrypted is copied into the read buffer, so what the application has not asked to
    /// read stays in the engine and the TCP window (back-pressure on the peer).
    Send,
    /// Our direction is closed ([`Connection::close_write`], tokio's `shutdown`): what was
    /// written, then close_notify, is on the transport and its write side is shut. Reading
    /// goes on.
    WriteClosed,
}

impl Wait {
    /// The operation named in a timeout error.
    #[must_use]
    pub fn operation(self) -> &'static str {
        match self {
            Wait::Nothing => "step",
            Wait::Connected => "wait_for_connected",
            Wait::Encrypted => "wait_for_encrypted",
            Wait::ReadyRead => "wait_for_ready_read",
            Wait::BytesWritten => "wait_for_bytes_written",
            Wait::Disconnected => "wait_for_disconnected",
            Wait::Readable => "read",
            Wait::Writable => "write",
            Wait::Flushed => "flush",
            Wait::Send => "write",
            Wait::WriteClosed => "shutdown",
        }
    }

    /// Whether the wait is for data, for the peer's end, or for all the progress possible
    /// (Qt's event loop, the in-memory pair): then plaintext the engine holds may be copied
    /// into the read buffer (within its limit) so that the transport can be read on, as Qt
    /// reads into its buffer. On a writer's wait it stays in the engine, and the transport is
    /// not read while it is there.
    #[must_use]
    pub fn buffers_input(self) -> bool {
        matches!(self, Wait::Nothing | Wait::ReadyRead | Wait::Readable | Wait::Disconnected)
    }
}

/// What the driver must do next (see [`Connection::poll_action`]).
#[derive(Debug, Clone)]
#[must_use]
pub enum Action {
    /// The wait's condition holds: return success.
    Done,
    /// Deliver the queued events (a timed-out wait's `Error` event) and return this error.
    /// A timed-out wait has recorded a `SocketTimeoutError` (not fatal);
    /// [`UsageError`]s say why nothing can happen (not connected, paused on certificate
    /// errors…); anything else is the connection's own, fatal error.
    Fail(Error),
    /// Deliver the queued events: `poll_event` until `None`, each to the application.
    Deliver,
    /// Move bytes: [`Connection::pump`] over the transport.
    Transfer,
    /// HostLookupState: resolve the host, then `handle_host_found` and start connecting
    /// (or `handle_error`).
    Resolve,
    /// ConnectingState: wait (until `until`, if set) for the TCP connect to finish, then
    /// `handle_connected` (or try the next address, or `handle_error`).
    Connect {
        /// When to come back even if the connect has not finished.
        until: Option<Instant>,
    },
    /// Wait until the transport is readable (`read`) or writable (`write`), or until `until`;
    /// then [`Connection::handle_woken`]. Both false: only the clock can move things on.
    Wait {
        /// Wait for readability.
        read: bool,
        /// Wait for writability.
        write: bool,
        /// When to come back in any case.
        until: Option<Instant>,
    },
    /// Shut down the transport's write side (TCP FIN), then
    /// [`Connection::handle_write_shutdown`].
    ShutdownWrite,
    /// Close the transport, then [`Connection::handle_closed`].
    Close,
}

/// What the waits look for, latched when the event is emitted, so that a wait returns as soon
/// as its condition held at any point, not only at the end of a round.
#[derive(Debug, Default)]
pub(super) struct Seen {
    pub(super) connected: bool,
    pub(super) encrypted: bool,
    pub(super) ready_read: bool,
    pub(super) bytes_written: bool,
    pub(super) disconnected: bool,
    /// The connection was up at some point since the last connect.
    pub(super) was_connected: bool,
}

impl Seen {
    pub(super) fn note(&mut self, event: &Event) {
        match event {
            Event::Connected => {
                self.connected = true;
                self.was_connected = true;
            }
            Event::Encrypted => self.encrypted = true,
            Event::ReadyRead => self.ready_read = true,
            Event::BytesWritten(_) => self.bytes_written = true,
            Event::Disconnected => self.disconnected = true,
            _ => {}
        }
    }
}

impl Connection {
    /// Starts a wait for `wait`: forgets what earlier waits saw of the conditions that only
    /// count when they happen during this one (`Connected`, `Encrypted`).
    pub fn begin_wait(&mut self, wait: Wait) {
        self.dry = false;
        match wait {
            Wait::Connected => self.seen.connected = false,
            Wait::Encrypted => self.seen.encrypted = false,
            _ => {}
        }
    }

    /// What the driver must do next for `wait`, which gives up at `until` (`None`: never).
    /// Fires the connection's own deadlines (handshake, disconnect) that `now` has reached.
    /// The driver carries the action out and asks again; it holds no rule of its own.
    pub fn poll_action(&mut self, wait: Wait, until: Option<Instant>, now: Instant) -> Action {
        self.buffer_input = wait.buffers_input();
        if self.poll_timeout().is_some_and(|t| t <= now) {
            self.handle_timeout(now);
        }
        // What the transport must go through comes first, whatever the wait.
        match self.close {
            Close::ShutdownWrite { .. } => return Action::ShutdownWrite,
            Close::Release => return Action::Close,
            _ => {}
        }
        if !self.events.is_empty() {
            return Action::Deliver;
        }
        if let Some(result) = self.condition(wait) {
            return result;
        }
        let transferring =
            matches!(self.state, SocketState::ConnectedState | SocketState::ClosingState)
                || self.negotiation.is_some();
        if transferring && !self.dry {
            return Action::Transfer;
        }
        if matches!(wait, Wait::Nothing | Wait::Send) {
            return Action::Done;
        }
        if until.is_some_and(|t| t <= now) {
            let err = Error::Timeout { operation: wait.operation() };
            self.note_error(err.clone());
            return Action::Fail(err);
        }
        let until = match (until, self.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match self.state {
            SocketState::HostLookupState => return Action::Resolve,
            SocketState::ConnectingState if self.negotiation.is_none() => {
                return Action::Connect { until }
            }
            _ => {}
        }
        // The engine may hold plaintext it has not announced (it decrypted the next record
        // while the last one was read, or holds records it has not decrypted yet): ask it
        // before waiting.
        if self.engine_holds_unannounced_plaintext() {
            self.refresh_plaintext();
            if !self.events.is_empty() {
                return Action::Deliver;
            }
        }
        // A pause waits for the application (`resume`), not for the transport; the
        // handshake's deadline still runs meanwhile.
        if self.is_paused() {
            return Action::Fail(Error::Usage(UsageError::PausedOnSslErrors));
        }
        // Only the transport or the connection's own deadline can move it on: the wait's
        // deadline alone would change nothing.
        let (read, write) = (self.wants_read(), self.wants_write());
        if read || write || self.poll_timeout().is_some() {
            return Action::Wait { read, write, until };
        }
        Action::Fail(Error::Usage(self.stuck_reason()))
    }

    /// The transport (or the clock) woke the driver up: pump again.
    pub fn handle_woken(&mut self) {
        self.dry = false;
    }

    /// Whether `wait` is over: `Some(Done)`, `Some(Fail)`, or `None` to go on.
    fn condition(&mut self, wait: Wait) -> Option<Action> {
        let met = match wait {
            Wait::Nothing | Wait::Send => return None,
            Wait::Connected => {
                self.seen.connected
                    || matches!(self.state, SocketState::ConnectedState | SocketState::ClosingState)
            }
            Wait::Encrypted => self.seen.encrypted || self.is_encrypted(),
            Wait::ReadyRead => std::mem::take(&mut self.seen.ready_read),
            Wait::BytesWritten => std::mem::take(&mut self.seen.bytes_written),
            Wait::Disconnected => {
                self.state == SocketState::UnconnectedState && self.seen.disconnected
            }
            Wait::Readable => {
                self.bytes_available() > 0
                    || self.at_end()
                    || self.fatal_error().is_some()
                    || self.state == SocketState::UnconnectedState
            }
            Wait::Writable => {
                self.write_buf.len() < self.write_buffer_limit
                    || self.fatal_error().is_some()
                    || self.close != Close::Open
                    || self.state == SocketState::UnconnectedState
            }
            Wait::Flushed => self.is_flushed(),
            Wait::WriteClosed => {
                matches!(self.close, Close::WriteShut | Close::Draining { .. })
                    || self.state == SocketState::UnconnectedState && self.fatal_error().is_none()
            }
        };
        if met {
            return Some(Action::Done);
        }
        if let Some(err) = self.fatal_error() {
            return Some(Action::Fail(err.clone()));
        }
        if self.state == SocketState::UnconnectedState {
            return Some(Action::Fail(Error::Usage(UsageError::NotConnected)));
        }
        if wait == Wait::BytesWritten
            && self.write_buf.is_empty()
            && self.out.is_empty()
            && !self.wants_write()
            && matches!(self.phase, Phase::Encrypted(_) | Phase::Plain { connect_tls: None })
        {
            return Some(Action::Fail(Error::Usage(UsageError::NothingToWrite)));
        }
        None
    }

    fn engine_holds_unannounced_plaintext(&self) -> bool {
        match &self.phase {
            // Engines that decrypt one record at a time may hold whole records of input
            // whatever they say of wanting more.
            Phase::Encrypted(_) => {
                !self.engine_counted
                    && self.engine_plaintext == 0
                    && !self.peer_closed
                    && !self.read_buffer_full()
            }
            _ => false,
        }
    }

    /// Why nothing but the application can move the connection on.
    fn stuck_reason(&self) -> UsageError {
        if self.is_paused() {
            UsageError::PausedOnSslErrors
        } else if self.read_buffer_full() {
            UsageError::ReadBufferFull
        } else {
            UsageError::NotConnected
        }
    }

    /// Moves bytes both ways over `transport` until it would block or the connection wants
    /// nothing, in bounded rounds: the caller asks [`Connection::poll_action`] between calls
    /// instead of draining a fast peer into memory first. A call that moved nothing marks the
    /// connection dry (then every wanted direction has seen `WouldBlock`, so edge-triggered
    /// readiness is safe) and `poll_action` says what to wait for. Transport errors end the
    /// connection (see `poll_transmit` and `handle_readable`).
    ///
    /// On a wait for data ([`Wait::buffers_input`]), plaintext the engine holds when `pump` is
    /// called (the application has not read it) first moves into the read buffer, within its
    /// limit, so that the engine can take more from the transport: an application that waits
    /// for more data before reading (Qt's `while bytesAvailable() < n: waitForReadyRead()`)
    /// gets it. An application that reads before it waits never pays that copy, and a writer
    /// never buffers what nobody asked to read.
    pub fn pump<T: io::Read + io::Write>(&mut self, transport: &mut T, now: Instant) -> bool {
        if self.buffer_input {
            self.buffer_plaintext();
        }
        if let Close::Draining { .. } = self.close {
            self.discard_late_plaintext();
        }
        let mut progressed = false;
        for _ in 0..PUMP_ROUNDS {
            let mut moved = false;
            while self.wants_write() {
                match self.poll_transmit(transport) {
                    Ok(n) if n > 0 => moved = true,
                    _ => break,
                }
            }
            for _ in 0..READS_PER_ROUND {
                if !self.wants_read() {
                    break;
                }
                match self.handle_readable(transport, now) {
                    Ok(0) => {
                        moved = true;
                        break;
                    }
                    Ok(_) => moved = true,
                    Err(_) => break,
                }
            }
            if let Close::Draining { .. } = self.close {
                self.discard_late_plaintext();
            }
            if !moved {
                break;
            }
            progressed = true;
        }
        self.dry = !progressed;
        progressed
    }

    /// While draining after our close_notify: what the engine decrypted beyond what is kept
    /// readable is read and dropped, so the engine keeps taking the transport's bytes.
    fn discard_late_plaintext(&mut self) {
        let keep = DRAIN_KEEP.min(self.read_room());
        if self.read_buf.len() < keep {
            let _ = self.spill_plaintext(keep - self.read_buf.len());
        }
        if self.engine_plaintext == 0 {
            return; // the usual case: no 4 KiB scratch to zero
        }
        let mut scratch = [0u8; 4096];
        while self.engine_plaintext > 0 {
            match self.drain_engine(super::tls::Sink::Caller(&mut scratch)) {
                (0, _) | (_, Some(_)) => break,
                _ => {}
            }
        }
    }
}
