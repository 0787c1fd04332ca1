//! Moving bytes: transport ↔ engine ↔ application buffers.

use std::collections::VecDeque;
use std::io;
use std::time::Instant;

use ssl_api::{Error, SocketState, SslError, SslErrorKind, SslMode, TlsError, TlsErrorKind};

use super::{certificate_required, verify_is_enforced, Connection, Event, Phase, OUT_HIGH_WATER};

/// Write-then-read rounds one `pump` call makes at most.
const PUMP_ROUNDS: usize = 4;
/// Transport reads one round makes at most.
const READS_PER_ROUND: usize = 16;

impl Connection {
    // ---- what the driver should wait for ------------------------------------------------

    /// Whether the transport should be read now.
    #[must_use]
    pub fn wants_read(&self) -> bool {
        if self.transport_eof
            || !matches!(self.state, SocketState::ConnectedState | SocketState::ClosingState)
            || self.read_buffer_full()
        {
            return false;
        }
        match &self.phase {
            Phase::Plain => self.mode == SslMode::UnencryptedMode,
            Phase::Handshaking { session, .. } | Phase::Encrypted(session) => session.wants_read(),
            Phase::Deciding { .. } | Phase::Finished(_) => false,
        }
    }

    /// Whether there is something to write to the transport now.
    #[must_use]
    pub fn wants_write(&self) -> bool {
        if !matches!(self.state, SocketState::ConnectedState | SocketState::ClosingState) {
            return false;
        }
        if !self.out.is_empty() {
            return true;
        }
        match &self.phase {
            Phase::Plain => self.mode == SslMode::UnencryptedMode && !self.write_buf.is_empty(),
            Phase::Handshaking { session, .. } => session.wants_write(),
            Phase::Encrypted(session) => {
                session.wants_write()
                    || !self.write_buf.is_empty()
                    || (self.closing && !self.close_notify_sent)
            }
            Phase::Deciding { .. } | Phase::Finished(_) => false,
        }
    }

    /// Whether everything the application wrote has reached the transport: nothing queued,
    /// nothing held, and the connection encrypted (or unencrypted by choice). A connection
    /// that closed gracefully meanwhile counts: a graceful close sends queued data first.
    #[must_use]
    pub fn is_flushed(&self) -> bool {
        let nothing_left = self.write_buf.is_empty() && !self.wants_write();
        let closed_cleanly = self.state == SocketState::UnconnectedState && self.error.is_none();
        nothing_left
            && (self.is_encrypted() || self.mode == SslMode::UnencryptedMode || closed_cleanly)
    }

    /// Whether the read buffer limit is reached, counting what the engine holds.
    fn read_buffer_full(&self) -> bool {
        self.read_buffer_size != 0
            && self.read_buf.len() + self.engine_plaintext >= self.read_buffer_size
    }

    fn read_room(&self) -> usize {
        if self.read_buffer_size == 0 {
            usize::MAX
        } else {
            self.read_buffer_size.saturating_sub(self.read_buf.len())
        }
    }

    // ---- input from the transport -------------------------------------------------------

    /// Reads once from the transport `rd` and processes what arrived.
    ///
    /// Returns what `rd` returned: `Ok(0)` at end of file (handled here: a clean end, or a
    /// truncation error), `WouldBlock` when nothing was there.
    ///
    /// # Errors
    /// The reader's error. `WouldBlock` and `Interrupted` leave the connection as it was; any
    /// other error has already ended the connection when it is returned.
    pub fn handle_readable(&mut self, rd: &mut dyn io::Read, now: Instant) -> io::Result<usize> {
        if !self.wants_read() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let room = self.read_room();
        let result = match &mut self.phase {
            Phase::Plain => self.read_buf.fill_from(room, &mut |buf| rd.read(buf)),
            Phase::Handshaking { session, .. } | Phase::Encrypted(session) => session.read_tls(rd),
            Phase::Deciding { .. } | Phase::Finished(_) => {
                return Err(io::ErrorKind::WouldBlock.into())
            }
        };
        match result {
            Ok(0) => {
                self.transport_eof = true;
                if matches!(self.phase, Phase::Plain) {
                    self.handle_plain_eof();
                } else {
                    self.process_tls(now);
                }
                Ok(0)
            }
            Ok(n) => {
                if matches!(self.phase, Phase::Plain) {
                    self.events.push_back(Event::ReadyRead);
                } else {
                    self.process_tls(now);
                }
                Ok(n)
            }
            Err(e)
                if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) =>
            {
                Err(e)
            }
            Err(e) => {
                let copy = io::Error::new(e.kind(), e.to_string());
                self.fail(Error::io(e));
                Err(copy)
            }
        }
    }

    fn handle_plain_eof(&mut self) {
        self.events.push_back(Event::ReadChannelFinished);
        if self.mode == SslMode::UnencryptedMode {
            self.finish_disconnect();
        } else {
            self.fail(Error::RemoteClosed);
        }
    }

    /// Runs the engine over what was read, then moves the handshake and data along.
    pub(super) fn process_tls(&mut self, _now: Instant) {
        let Some(session) = self.session_mut() else { return };
        let status = session.process_new_packets();
        let handshaking = !matches!(self.phase, Phase::Encrypted(_));
        let status = match status {
            Ok(status) => status,
            Err(err) => return self.fail_in_engine(err, handshaking),
        };
        if let Phase::Handshaking { .. } = self.phase {
            self.advance_handshake();
        }
        let was_closed = self.peer_closed;
        if let Phase::Encrypted(_) = self.phase {
            self.announce_plaintext(status.plaintext_bytes_to_read);
            self.peer_closed |= status.peer_has_closed;
        }
        self.after_status(was_closed);
    }

    /// Acts on what an engine status changed: the peer's close_notify, the transport's end.
    fn after_status(&mut self, was_closed: bool) {
        if self.peer_closed && !was_closed {
            // The peer sent close_notify: nothing more will arrive. Answer with ours once our
            // writes are out (as Qt does); what is buffered stays readable.
            self.events.push_back(Event::ReadChannelFinished);
            if self.state == SocketState::ConnectedState {
                self.disconnect_from_host();
            }
        }
        if self.transport_eof {
            self.handle_tls_eof();
        }
    }

    /// The engine failed. An engine that verifies inside the handshake (no
    /// `RecoverableVerifyErrors`) may have rejected the peer's certificate itself: its errors
    /// are recorded and the failure is a rejection, as on every other backend.
    fn fail_in_engine(&mut self, err: TlsError, handshaking: bool) {
        if !handshaking {
            return self.fail(Error::Tls(err));
        }
        let errors = self.session().and_then(|s| s.verification_errors()).map(<[SslError]>::to_vec);
        match errors {
            Some(errors) if !errors.is_empty() && err.kind == TlsErrorKind::PeerCertificate => {
                self.handshake_errors = errors.clone();
                for error in &errors {
                    self.events.push_back(Event::PeerVerifyError(error.clone()));
                }
                self.fail(Error::Rejected { errors });
            }
            _ => self.fail(Error::Handshake(err)),
        }
    }

    fn handle_tls_eof(&mut self) {
        match &self.phase {
            Phase::Handshaking { .. } | Phase::Deciding { .. } => {
                self.fail(Error::Handshake(TlsError::new(
                    TlsErrorKind::UnexpectedEof,
                    "peer closed the connection during the handshake",
                )))
            }
            Phase::Encrypted(_) if self.peer_closed => self.finish_disconnect(),
            Phase::Encrypted(_) => {
                self.events.push_back(Event::ReadChannelFinished);
                self.fail(Error::Truncated);
            }
            Phase::Plain | Phase::Finished(_) => {}
        }
    }

    /// Checks the verification result and the end of the handshake; enters `Deciding` or
    /// `Encrypted` as the policy says.
    fn advance_handshake(&mut self) {
        let Phase::Handshaking { session, accepted } = &self.phase else { return };
        let accepted = *accepted;
        let done = !session.is_handshaking();
        let enforced = verify_is_enforced(&self.config, self.mode);
        let mut errors: Vec<SslError> =
            session.verification_errors().map(<[SslError]>::to_vec).unwrap_or_default();
        if done
            && certificate_required(&self.config, self.mode)
            && session.peer_certificate_chain().is_empty()
        {
            errors.push(SslError::new(SslErrorKind::NoPeerCertificate, None));
        }
        if !accepted && !errors.is_empty() {
            self.handshake_errors = errors.clone();
            if enforced {
                let Phase::Handshaking { session, .. } =
                    std::mem::replace(&mut self.phase, Phase::Plain)
                else {
                    return;
                };
                for error in &errors {
                    self.events.push_back(Event::PeerVerifyError(error.clone()));
                }
                self.events.push_back(Event::SslErrors(errors.clone()));
                self.phase = Phase::Deciding { session, errors, delivered: false };
                return;
            }
        }
        if done {
            let Phase::Handshaking { session, .. } =
                std::mem::replace(&mut self.phase, Phase::Plain)
            else {
                return;
            };
            self.phase = Phase::Encrypted(session);
            self.on_encrypted();
        }
    }

    pub(super) fn on_encrypted(&mut self) {
        self.deadline = None;
        self.was_encrypted = true;
        self.events.push_back(Event::Encrypted);
        // Application data may have arrived with the handshake's last flight (or while the
        // decision was pending): ask the engine.
        self.refresh_plaintext();
    }

    /// Records how much plaintext the engine holds; `ReadyRead` when that grew.
    fn announce_plaintext(&mut self, engine_plaintext: usize) {
        if engine_plaintext > self.engine_plaintext {
            self.events.push_back(Event::ReadyRead);
        }
        self.engine_plaintext = engine_plaintext;
    }

    /// Asks an encrypted session, with no new input, how much plaintext it holds (engines that
    /// decrypt one record at a time move on to the next one here).
    fn refresh_plaintext(&mut self) {
        let Phase::Encrypted(session) = &mut self.phase else { return };
        match session.process_new_packets() {
            Ok(status) => {
                let was_closed = self.peer_closed;
                self.announce_plaintext(status.plaintext_bytes_to_read);
                self.peer_closed |= status.peer_has_closed;
                self.after_status(was_closed);
            }
            Err(err) => self.fail(Error::Tls(err)),
        }
    }

    /// Moves decrypted bytes from the engine into the read buffer, as far as the read buffer
    /// limit allows: for `peek`, lines, and an application that is not reading. A driver that
    /// does not use [`Connection::pump`] calls it before reading the transport (`pump` does).
    pub fn buffer_plaintext(&mut self) {
        if self.engine_plaintext > 0 {
            self.pull_plaintext();
        }
    }

    pub(super) fn pull_plaintext(&mut self) {
        let was_closed = self.peer_closed;
        if let Err(e) = self.spill_plaintext(self.read_room()) {
            return self.fail(Error::Tls(TlsError::new(TlsErrorKind::Internal, e.to_string())));
        }
        if self.peer_closed && !was_closed {
            self.after_status(was_closed);
        }
    }

    /// Moves up to `max` decrypted bytes from the engine into the read buffer.
    ///
    /// # Errors
    /// An engine failure while reading plaintext (what was moved before it stays).
    pub(super) fn spill_plaintext(&mut self, max: usize) -> io::Result<()> {
        match self.drain_engine(Sink::ReadBuffer(max)).1 {
            Some(Stop::Read(e)) => Err(e),
            // The engine repeats a processing failure to the next `process_tls`.
            Some(Stop::Process(_)) | None => Ok(()),
        }
    }

    /// Moves decrypted bytes from an encrypted session into `sink` until it is full or the
    /// engine has none ready. When the engine runs dry it is asked once more, with no new
    /// input (engines that decrypt one record at a time move on to the next one then).
    /// Notes the peer's close_notify. Returns the bytes moved and what stopped it early.
    fn drain_engine(&mut self, mut sink: Sink<'_>) -> (usize, Option<Stop>) {
        let mut moved = 0;
        let mut refreshed = false;
        while moved < sink.len() {
            let Phase::Encrypted(session) = &mut self.phase else { break };
            let result = match &mut sink {
                Sink::ReadBuffer(max) => {
                    self.read_buf.fill_from(*max - moved, &mut |buf| session.read_plaintext(buf))
                }
                Sink::Caller(out) => session.read_plaintext(&mut out[moved..]),
            };
            match result {
                Ok(0) => {
                    self.peer_closed = true;
                    break;
                }
                Ok(n) => {
                    moved += n;
                    refreshed = false;
                    self.engine_plaintext = self.engine_plaintext.saturating_sub(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && !refreshed => {
                    refreshed = true;
                    match session.process_new_packets() {
                        Ok(status) => {
                            self.engine_plaintext = status.plaintext_bytes_to_read;
                            self.peer_closed |= status.peer_has_closed;
                            if status.plaintext_bytes_to_read == 0 {
                                break;
                            }
                        }
                        Err(err) => return (moved, Some(Stop::Process(err))),
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::UnexpectedEof
                    ) =>
                {
                    self.engine_plaintext = 0;
                    break;
                }
                Err(e) => {
                    self.engine_plaintext = 0;
                    return (moved, Some(Stop::Read(e)));
                }
            }
        }
        (moved, None)
    }

    // ---- output to the transport --------------------------------------------------------

    /// Moves bytes both ways over `transport` until it would block or the connection wants
    /// nothing, in bounded rounds: the caller checks what it waits for (e.g. `Encrypted`)
    /// between calls instead of draining a fast peer into memory first. The caller loops while
    /// this reports progress and waits for the transport only after a call that moved
    /// nothing (then every wanted direction has seen `WouldBlock`, so edge-triggered
    /// readiness is safe). Transport errors end the connection (see `poll_transmit` and
    /// `handle_readable`).
    ///
    /// Plaintext the engine holds when `pump` is called (the application has not read it)
    /// first moves into the read buffer, within its limit, so that the engine can take more
    /// from the transport: an application that waits for more data before reading (Qt's
    /// `while bytesAvailable() < n: waitForReadyRead()`) gets it. An application that reads
    /// before it waits never pays that copy.
    pub fn pump<T: io::Read + io::Write>(&mut self, transport: &mut T, now: Instant) -> bool {
        self.buffer_plaintext();
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
            if !moved {
                return progressed;
            }
            progressed = true;
        }
        progressed
    }

    /// Writes what is pending to the transport `wr`: held bytes first, then the engine's
    /// ciphertext (encrypting queued application bytes once encrypted), or queued plaintext
    /// in unencrypted mode. Returns the bytes `wr` took.
    ///
    /// # Errors
    /// `WouldBlock` when `wr` took nothing; any other writer error has already ended the
    /// connection when it is returned.
    pub fn poll_transmit(&mut self, wr: &mut dyn io::Write) -> io::Result<usize> {
        match self.transmit(wr) {
            Ok(n) => {
                self.progress_close();
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(e),
            Err(e) => {
                // The connection keeps the original (with its OS error code); the caller gets
                // a copy.
                let copy = io::Error::new(e.kind(), e.to_string());
                self.fail(Error::io(e));
                Err(copy)
            }
        }
    }

    fn transmit(&mut self, wr: &mut dyn io::Write) -> io::Result<usize> {
        if !matches!(self.state, SocketState::ConnectedState | SocketState::ClosingState) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let encrypted = self.is_encrypted();
        let mut total = flush_out(&mut self.out, wr)?;
        if !self.out.is_empty() {
            return self.count_wire(total, encrypted);
        }
        match &mut self.phase {
            Phase::Plain if self.mode == SslMode::UnencryptedMode => {
                let n = flush_out(&mut self.write_buf, wr)?;
                if n > 0 {
                    self.events.push_back(Event::BytesWritten(n as u64));
                }
                total += n;
                return if total == 0 && !self.write_buf.is_empty() {
                    Err(io::ErrorKind::WouldBlock.into())
                } else {
                    Ok(total)
                };
            }
            Phase::Handshaking { .. } | Phase::Encrypted(_) => {}
            _ => return Ok(total),
        }
        let mut plaintext = 0;
        let mut wire = 0;
        loop {
            let mut progressed = false;
            if let Phase::Encrypted(session) = &mut self.phase {
                while !self.write_buf.is_empty() && self.out.len() < OUT_HIGH_WATER {
                    let (front, _) = self.write_buf.as_slices();
                    let n = session.write_plaintext(front)?;
                    if n == 0 {
                        break;
                    }
                    self.write_buf.drain(..n);
                    plaintext += n;
                    progressed = true;
                }
            }
            let session = match &mut self.phase {
                Phase::Handshaking { session, .. } | Phase::Encrypted(session) => session,
                _ => break,
            };
            while session.wants_write() {
                let mut tee = Tee { wire: &mut *wr, spill: &mut self.out, written: 0 };
                let n = session.write_tls(&mut tee)?;
                wire += tee.written;
                if n == 0 {
                    break;
                }
                progressed = true;
            }
            if !self.out.is_empty() || !progressed {
                break;
            }
        }
        if plaintext > 0 {
            self.events.push_back(Event::BytesWritten(plaintext as u64));
        }
        total += wire;
        if total == 0 && !self.out.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.count_wire(total, encrypted)
    }

    fn count_wire(&mut self, n: usize, encrypted: bool) -> io::Result<usize> {
        if n > 0 && encrypted {
            self.events.push_back(Event::EncryptedBytesWritten(n as u64));
        }
        Ok(n)
    }

    /// Moves a graceful close along: close_notify once the writes are out, then done.
    pub(super) fn progress_close(&mut self) {
        if !self.closing || !self.write_buf.is_empty() {
            return;
        }
        match &mut self.phase {
            Phase::Encrypted(session) => {
                if !self.close_notify_sent {
                    session.send_close_notify();
                    self.close_notify_sent = true;
                    return; // poll_transmit runs again: wants_write is true
                }
                if self.out.is_empty() && !session.wants_write() {
                    self.abort_keep_error();
                }
            }
            Phase::Plain => {
                if self.out.is_empty() {
                    self.abort_keep_error();
                }
            }
            _ => self.abort_keep_error(),
        }
    }

    fn abort_keep_error(&mut self) {
        let error = self.error.take();
        self.abort();
        self.error = error;
    }

    // ---- the application's side ---------------------------------------------------------

    /// Queues application bytes. Once encrypted they go to the engine; before that they wait
    /// (never sent in clear in client or server mode). Takes at most what fits under the write
    /// buffer limit.
    ///
    /// # Errors
    /// `WouldBlock` when the write buffer is full (transmit first); the connection's error, or
    /// `NotConnected`, when it cannot take data.
    pub fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if let Some(err) = &self.error {
            return Err(err.clone().into());
        }
        if self.closing || self.state == SocketState::UnconnectedState {
            return Err(Error::Operation("write on a socket that is not connected").into());
        }
        if data.is_empty() {
            return Ok(0);
        }
        let mut taken = 0;
        if let Phase::Encrypted(session) = &mut self.phase {
            if self.write_buf.is_empty() && self.out.len() < OUT_HIGH_WATER {
                taken = session.write_plaintext(data)?;
                if taken > 0 {
                    self.events.push_back(Event::BytesWritten(taken as u64));
                }
            }
        }
        let room = self.write_buffer_limit.saturating_sub(self.write_buf.len());
        let queued = room.min(data.len() - taken);
        self.write_buf.extend(&data[taken..taken + queued]);
        taken += queued;
        if taken == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(taken)
    }

    /// Reads application bytes: first what the read buffer holds, else straight from the
    /// engine into `out` (no intermediate copy).
    ///
    /// # Errors
    /// `WouldBlock` when nothing is there yet; the connection's error once the buffered data is
    /// read (a truncation, a rejected peer…). `Ok(0)` is a clean end of stream.
    pub fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if !self.read_buf.is_empty() {
            return Ok(self.read_buf.read(out));
        }
        let filled = self.read_from_engine(out)?;
        if filled > 0 {
            return Ok(filled);
        }
        if let Some(err) = &self.error {
            return Err(err.clone().into());
        }
        if self.peer_closed || self.transport_eof || self.state == SocketState::UnconnectedState {
            return Ok(0);
        }
        Err(io::ErrorKind::WouldBlock.into())
    }

    /// Decrypted bytes from an encrypted session straight into `out`, until it is full or
    /// the engine has no more ready. Notices the peer's close_notify on the way.
    fn read_from_engine(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let was_closed = self.peer_closed;
        let (filled, stop) = self.drain_engine(Sink::Caller(out));
        if self.peer_closed && !was_closed {
            self.after_status(was_closed);
        }
        match stop {
            Some(Stop::Read(e)) if filled == 0 => Err(e),
            Some(Stop::Process(err)) if filled == 0 => {
                self.fail(Error::Tls(err));
                Ok(0)
            }
            _ => Ok(filled),
        }
    }

    /// Copies up to `out.len()` readable bytes without consuming them (moving them from the
    /// engine into the read buffer as needed, within its limit).
    pub fn peek(&mut self, out: &mut [u8]) -> usize {
        if self.read_buf.len() < out.len() {
            self.pull_plaintext();
        }
        self.read_buf.peek(out)
    }

    /// Reads one whole line, `\n` included, if there is one.
    pub fn read_line(&mut self) -> Option<Vec<u8>> {
        if !self.can_read_line() {
            return None;
        }
        let len = self.read_buf.line_len()?;
        let mut line = vec![0; len];
        self.read_buf.read(&mut line);
        Some(line)
    }

    /// Takes every readable byte.
    pub fn read_all(&mut self) -> Vec<u8> {
        let _ = self.spill_plaintext(usize::MAX);
        let mut all = vec![0; self.read_buf.len()];
        let n = self.read_buf.read(&mut all);
        all.truncate(n);
        all
    }

    /// Takes one readable byte.
    pub fn get_char(&mut self) -> Option<u8> {
        let mut byte = [0u8; 1];
        match self.read(&mut byte) {
            Ok(1) => Some(byte[0]),
            _ => None,
        }
    }

    /// Puts `byte` back at the front of the read buffer.
    pub fn unget_char(&mut self, byte: u8) {
        self.read_buf.unget(byte);
    }

    /// Writes one byte.
    ///
    /// # Errors
    /// As [`Connection::write`].
    pub fn put_char(&mut self, byte: u8) -> io::Result<bool> {
        self.write(&[byte]).map(|n| n == 1)
    }
}

/// Where [`Connection::drain_engine`] puts decrypted bytes.
enum Sink<'a> {
    /// The read buffer, at most this many bytes.
    ReadBuffer(usize),
    /// The caller's buffer.
    Caller(&'a mut [u8]),
}

impl Sink<'_> {
    fn len(&self) -> usize {
        match self {
            Sink::ReadBuffer(max) => *max,
            Sink::Caller(out) => out.len(),
        }
    }
}

/// Why [`Connection::drain_engine`] stopped early.
enum Stop {
    /// Reading plaintext failed.
    Read(io::Error),
    /// Processing what was buffered failed.
    Process(TlsError),
}

/// Writes as much of `buf` as `wr` takes, front first. Returns the count; `WouldBlock` is
/// not an error here (the count says how far it got).
fn flush_out(buf: &mut VecDeque<u8>, wr: &mut dyn io::Write) -> io::Result<usize> {
    let mut total = 0;
    while !buf.is_empty() {
        let (front, _) = buf.as_slices();
        match wr.write(front) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                buf.drain(..n);
                total += n;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if buf.is_empty() {
        buf.shrink_to(OUT_HIGH_WATER);
    }
    Ok(total)
}

/// The writer handed to the engine: straight to the transport while it takes bytes; what it
/// refuses (`WouldBlock`) is kept in `spill`, in order, so the engine never holds ciphertext
/// and the count of bytes waiting is exact. Ciphertext is copied only under back-pressure.
struct Tee<'a> {
    wire: &'a mut dyn io::Write,
    spill: &'a mut VecDeque<u8>,
    written: usize,
}

impl io::Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[io::IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let len: usize = bufs.iter().map(|b| b.len()).sum();
        if self.spill.is_empty() {
            match self.wire.write_vectored(bufs) {
                Ok(n) => {
                    self.written += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        for b in bufs {
            self.spill.extend(b.iter());
        }
        Ok(len)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
