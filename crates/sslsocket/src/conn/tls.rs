//! TLS processing: the engine's status after input, the handshake and the verification
//! decision, and decrypted bytes out of the engine.

use std::io;
use std::time::Instant;

use ssl_api::{Alert, Error, SocketState, SslError, SslErrorKind, TlsError, TlsErrorKind};

use super::policy::Ignore;
use super::{certificate_required, verify_is_enforced, Close, Connection, Event, Phase};

impl Connection {
    /// Runs the engine over what was read, then moves the handshake and data along.
    pub(super) fn process_tls(&mut self, _now: Instant) {
        let Some(session) = self.session_mut() else { return };
        let status = session.process_new_packets();
        let handshaking = !matches!(self.phase, Phase::Encrypted(_));
        let status = match status {
            Ok(status) => status,
            Err(err) => return self.fail_in_engine(err, handshaking),
        };
        self.engine_counted = true;
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
    pub(super) fn after_status(&mut self, was_closed: bool) {
        if self.peer_closed && !was_closed {
            // The peer sent close_notify: nothing more will arrive. Answer with ours once our
            // writes are out (as Qt does), unless only its direction ends (half-close); what
            // is buffered stays readable.
            self.emit(Event::AlertReceived(Alert::close_notify()));
            self.emit(Event::ReadChannelFinished);
            if self.state == SocketState::ConnectedState && !self.half_close {
                self.disconnect_from_host();
            }
            self.finish_drain_if_done();
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
            return self.fail_encrypted(err);
        }
        self.note_alert_received(&err);
        let errors = self.session().and_then(|s| s.verification_errors()).map(<[SslError]>::to_vec);
        match errors {
            Some(errors) if !errors.is_empty() && err.kind == TlsErrorKind::PeerCertificate => {
                self.handshake_errors = errors.clone();
                for error in &errors {
                    self.emit(Event::PeerVerifyError(error.clone()));
                }
                self.fail(Error::Rejected { errors });
            }
            _ => self.fail(Error::Handshake(err)),
        }
    }

    pub(super) fn handle_tls_eof(&mut self) {
        match &self.phase {
            Phase::Handshaking { .. } | Phase::Deciding { .. } => {
                self.fail(Error::Handshake(TlsError::new(
                    TlsErrorKind::UnexpectedEof,
                    "peer closed the connection during the handshake",
                )))
            }
            // After the peer's close_notify, our close goes on (the writes still queued go
            // out first) and ends here if it was only waiting for the peer.
            Phase::Encrypted(_) if self.peer_closed => self.finish_drain_if_done(),
            // We sent close_notify and wait for the peer's end: a peer that just closes the
            // transport has ended too.
            Phase::Encrypted(_) if matches!(self.close, Close::Draining { .. }) => {
                self.emit(Event::ReadChannelFinished);
                self.finish_drain_if_done();
            }
            // The engine still holds plaintext, and records behind it it has not decrypted
            // yet (engines that decrypt one record at a time): the peer's close_notify may be
            // among them. Judged again once the application has read what is there.
            Phase::Encrypted(_) if self.engine_plaintext > 0 => {}
            Phase::Encrypted(_) => {
                self.emit(Event::ReadChannelFinished);
                self.fail(Error::Truncated);
            }
            Phase::Plain { .. } | Phase::Finished { .. } => {}
        }
    }

    /// Checks the verification result and the end of the handshake; enters `Deciding` or
    /// `Encrypted` as the policy says.
    fn advance_handshake(&mut self) {
        let Phase::Handshaking { session, accepted } = &self.phase else { return };
        let accepted = *accepted;
        let done = !session.is_handshaking();
        let config = self.verify_config();
        let enforced = verify_is_enforced(config, self.mode);
        let mut errors: Vec<SslError> =
            session.verification_errors().map(<[SslError]>::to_vec).unwrap_or_default();
        if done && certificate_required(config, self.mode) && !session.has_peer_certificate() {
            errors.push(SslError::new(SslErrorKind::NoPeerCertificate, None));
        }
        if !accepted && !errors.is_empty() {
            self.handshake_errors = errors.clone();
            if enforced {
                let Phase::Handshaking { session, .. } =
                    std::mem::replace(&mut self.phase, Phase::Plain { connect_tls: None })
                else {
                    return;
                };
                for error in &errors {
                    self.emit(Event::PeerVerifyError(error.clone()));
                }
                self.emit(Event::SslErrors(errors.clone()));
                self.phase = Phase::Deciding { session, errors, delivered: false, paused: false };
                return;
            }
        }
        if done {
            let Phase::Handshaking { session, .. } =
                std::mem::replace(&mut self.phase, Phase::Plain { connect_tls: None })
            else {
                return;
            };
            self.phase = Phase::Encrypted(session);
            self.on_encrypted();
        }
    }

    pub(super) fn on_encrypted(&mut self) {
        self.deadline = None;
        // The handshake is over, accepted: its ignore settings are spent.
        self.ignore = Ignore::default();
        self.emit(Event::Encrypted);
        // Application data may have arrived with the handshake's last flight (or while the
        // decision was pending): ask the engine.
        self.refresh_plaintext();
    }

    /// Records how much plaintext the engine holds; `ReadyRead` when that grew.
    fn announce_plaintext(&mut self, engine_plaintext: usize) {
        if engine_plaintext > self.engine_plaintext {
            self.emit(Event::ReadyRead);
        }
        self.app_data_seen |= engine_plaintext > 0;
        self.engine_plaintext = engine_plaintext;
    }

    /// Asks an encrypted session, with no new input, how much plaintext it holds (engines that
    /// decrypt one record at a time move on to the next one here).
    pub(super) fn refresh_plaintext(&mut self) {
        let Phase::Encrypted(session) = &mut self.phase else { return };
        match session.process_new_packets() {
            Ok(status) => {
                self.engine_counted = true;
                let was_closed = self.peer_closed;
                self.announce_plaintext(status.plaintext_bytes_to_read);
                self.peer_closed |= status.peer_has_closed;
                self.after_status(was_closed);
            }
            Err(err) => self.fail_encrypted(err),
        }
    }

    /// The engine failed after the handshake. A fatal alert from the peer before any
    /// application data arrived is its verdict on the handshake (a TLS 1.3 server rejects the
    /// client's certificate after the client's Finished; in TLS 1.2 the same rejection comes
    /// inside the handshake): a handshake failure naming the alert, whatever the version.
    pub(super) fn fail_encrypted(&mut self, err: TlsError) {
        // Data the engine decrypted before the alert (in the same batch of records) counts:
        // it stays readable after the failure anyway (`abort` keeps it).
        let _ = self.spill_plaintext(usize::MAX);
        self.note_alert_received(&err);
        if err.kind == TlsErrorKind::AlertReceived && !self.app_data_seen {
            self.fail(Error::Handshake(err));
        } else {
            self.fail(Error::Tls(err));
        }
    }

    /// The `AlertReceived` event for an engine error that is the peer's fatal alert, where the
    /// engine names it.
    fn note_alert_received(&mut self, err: &TlsError) {
        if let (TlsErrorKind::AlertReceived, Some(code)) = (err.kind, err.alert) {
            self.emit(Event::AlertReceived(Alert::fatal(code)));
        }
    }

    /// Whether a write error may only be the peer's close after an alert it sent first (see
    /// `write_failed`).
    pub(super) fn may_explain_write_error(&self, err: &std::io::Error) -> bool {
        matches!(self.phase, Phase::Encrypted(_))
            && !self.app_data_seen
            && matches!(
                err.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            )
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
        self.judge_end();
    }

    /// Once the transport has ended and the engine has handed out all it held: whether the
    /// peer closed with close_notify or cut the connection (see `handle_tls_eof`).
    pub(super) fn judge_end(&mut self) {
        if self.transport_eof && !self.peer_closed && self.engine_plaintext == 0 {
            self.handle_tls_eof();
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
    pub(super) fn drain_engine(&mut self, mut sink: Sink<'_>) -> (usize, Option<Stop>) {
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
                    self.app_data_seen = true;
                    // The engine may have decrypted more than it announced on the way.
                    self.engine_counted = false;
                    self.engine_plaintext = self.engine_plaintext.saturating_sub(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && !refreshed => {
                    refreshed = true;
                    match session.process_new_packets() {
                        Ok(status) => {
                            self.engine_counted = true;
                            self.engine_plaintext = status.plaintext_bytes_to_read;
                            self.app_data_seen |= status.plaintext_bytes_to_read > 0;
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
}

/// Where [`Connection::drain_engine`] puts decrypted bytes.
pub(super) enum Sink<'a> {
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
pub(super) enum Stop {
    /// Reading plaintext failed.
    Read(io::Error),
    /// Processing what was buffered failed.
    Process(TlsError),
}
