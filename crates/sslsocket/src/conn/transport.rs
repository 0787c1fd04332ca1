//! The transport side: what to read and write, ciphertext and unencrypted bytes in and out,
//! and the graceful close.

use std::collections::VecDeque;
use std::io;
use std::time::Instant;

use ssl_api::{Error, SocketState, SslMode};

use super::{Close, Connection, Event, Phase, OUT_HIGH_WATER};

impl Connection {
    /// Whether the transport should be read now.
    #[must_use]
    pub fn wants_read(&self) -> bool {
        if self.negotiation.is_some() {
            return !self.transport_eof;
        }
        if self.transport_eof
            || !matches!(self.state, SocketState::ConnectedState | SocketState::ClosingState)
        {
            return false;
        }
        if let Close::Draining { .. } = self.close {
            // Closing: read on to the peer's end (what does not fit is discarded).
            return !self.peer_closed;
        }
        if self.read_buffer_full() {
            return false;
        }
        // On a writer's wait, what the application has not read yet stops the reading: the
        // engine's own buffer and the TCP window push back on the peer.
        if !self.buffer_input && (self.engine_plaintext > 0 || !self.read_buf.is_empty()) {
            return false;
        }
        match &self.phase {
            Phase::Plain { .. } => self.mode == SslMode::UnencryptedMode,
            Phase::Handshaking { session, .. } | Phase::Encrypted(session) => session.wants_read(),
            Phase::Deciding { .. } | Phase::Finished { .. } => false,
        }
    }

    /// Whether there is something to write to the transport now.
    #[must_use]
    pub fn wants_write(&self) -> bool {
        if self.negotiation.is_some() {
            return !self.out.is_empty();
        }
        if self.write_failed.is_some()
            || !matches!(self.state, SocketState::ConnectedState | SocketState::ClosingState)
            || matches!(
                self.close,
                Close::ShutdownWrite { .. } | Close::Draining { .. } | Close::WriteShut
            )
        {
            return false;
        }
        if !self.out.is_empty() {
            return true;
        }
        match &self.phase {
            Phase::Plain { .. } => {
                self.mode == SslMode::UnencryptedMode && !self.write_buf.is_empty()
            }
            Phase::Handshaking { session, .. } => session.wants_write(),
            Phase::Encrypted(session) => session.wants_write() || !self.write_buf.is_empty(),
            Phase::Deciding { .. } | Phase::Finished { .. } => false,
        }
    }

    /// Whether everything the application wrote has reached the transport: nothing queued,
    /// nothing held, and the connection encrypted (or unencrypted by choice). A connection
    /// that closed gracefully meanwhile counts: a graceful close sends queued data first.
    #[must_use]
    pub fn is_flushed(&self) -> bool {
        let nothing_left = self.write_buf.is_empty() && !self.wants_write();
        let closed_cleanly =
            self.state == SocketState::UnconnectedState && self.fatal_error().is_none();
        nothing_left
            && (self.is_encrypted() || self.mode == SslMode::UnencryptedMode || closed_cleanly)
    }

    /// Whether the read buffer limit is reached, counting what the engine holds.
    pub(super) fn read_buffer_full(&self) -> bool {
        self.read_buffer_size != 0
            && self.read_buf.len() + self.engine_plaintext >= self.read_buffer_size
    }

    pub(super) fn read_room(&self) -> usize {
        if self.read_buffer_size == 0 {
            usize::MAX
        } else {
            self.read_buffer_size.saturating_sub(self.read_buf.len())
        }
    }

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
        if self.negotiation.is_some() {
            return self.read_proxy_reply(rd, now);
        }
        let room = self.read_room();
        let result = match &mut self.phase {
            Phase::Plain { .. } => self.read_buf.fill_from(room, &mut |buf| rd.read(buf)),
            Phase::Handshaking { session, .. } | Phase::Encrypted(session) => session.read_tls(rd),
            Phase::Deciding { .. } | Phase::Finished { .. } => {
                return Err(io::ErrorKind::WouldBlock.into())
            }
        };
        if let (Some(_), Ok(0) | Err(_)) = (&self.write_failed, &result) {
            // The peer is gone and said nothing more (an alert would have been read before
            // its end): the write's error is the connection's.
            if result.as_ref().is_err_and(|e| {
                matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted)
            }) {
                return result;
            }
            if let Some(e) = self.write_failed.take() {
                let copy = io::Error::new(e.kind(), e.to_string());
                self.fail(Error::io(e));
                return Err(copy);
            }
        }
        match result {
            Ok(0) => {
                self.transport_eof = true;
                if matches!(self.phase, Phase::Plain { .. }) {
                    self.handle_plain_eof();
                } else {
                    self.process_tls(now);
                }
                Ok(0)
            }
            Ok(n) => {
                if matches!(self.phase, Phase::Plain { .. }) {
                    self.emit(Event::ReadyRead);
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
        self.emit(Event::ReadChannelFinished);
        if matches!(self.close, Close::Draining { .. } | Close::WriteShut) {
            self.finish_drain_if_done();
        } else if self.mode == SslMode::UnencryptedMode {
            // Half-close: only the peer's direction is over; ours stays open.
            if !self.half_close {
                self.finish_disconnect();
            }
        } else {
            self.fail(Error::RemoteClosed);
        }
    }

    /// Writes what is pending to the transport `wr`: held bytes first, then the engine's
    /// ciphertext (encrypting queued application bytes once encrypted), or queued plaintext
    /// in unencrypted mode. Returns the bytes `wr` took.
    ///
    /// # Errors
    /// `WouldBlock` when `wr` took nothing; any other writer error has already ended the
    /// connection when it is returned, but one: a reset or broken pipe in a session that has
    /// delivered no application data yet. The peer closed, and may have said why first (a
    /// TLS 1.3 server's alert rejecting our certificate): the connection stops writing and
    /// reads on, and ends with that alert, or with this error once the transport has no more.
    pub fn poll_transmit(&mut self, wr: &mut dyn io::Write) -> io::Result<usize> {
        match self.transmit(wr) {
            Ok(n) => {
                self.progress_close();
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(e),
            Err(e) if self.may_explain_write_error(&e) => {
                let copy = io::Error::new(e.kind(), e.to_string());
                self.write_failed = Some(e);
                Err(copy)
            }
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
        if self.negotiation.is_some() {
            // The proxy's request: what `out` holds, in clear.
            let n = flush_out(&mut self.out, wr)?;
            return if n == 0 { Err(io::ErrorKind::WouldBlock.into()) } else { Ok(n) };
        }
        if !matches!(self.state, SocketState::ConnectedState | SocketState::ClosingState) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let encrypted = self.is_encrypted();
        let mut total = flush_out(&mut self.out, wr)?;
        if !self.out.is_empty() {
            return self.count_wire(total, encrypted);
        }
        match &mut self.phase {
            Phase::Plain { .. } if self.mode == SslMode::UnencryptedMode => {
                let n = flush_out(&mut self.write_buf, wr)?;
                if n > 0 {
                    self.emit(Event::BytesWritten(n as u64));
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
            self.emit(Event::BytesWritten(plaintext as u64));
        }
        total += wire;
        if total == 0 && !self.out.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.count_wire(total, encrypted)
    }

    fn count_wire(&mut self, n: usize, encrypted: bool) -> io::Result<usize> {
        if n > 0 && encrypted {
            self.emit(Event::EncryptedBytesWritten(n as u64));
        }
        Ok(n)
    }

    /// Moves a graceful close along: once the writes are out, close_notify (encrypted), and
    /// once that is out too, the write side is shut down (by the driver).
    pub(super) fn progress_close(&mut self) {
        let Close::Flushing { close_notify_sent, read_on } = &mut self.close else { return };
        let read_on = *read_on;
        if !self.write_buf.is_empty() {
            return;
        }
        match &mut self.phase {
            Phase::Encrypted(session) => {
                if !*close_notify_sent {
                    session.send_close_notify();
                    *close_notify_sent = true;
                    self.emit(Event::AlertSent(ssl_api::Alert::close_notify()));
                    return; // poll_transmit runs again: the engine wants to write
                }
                if self.out.is_empty() && !session.wants_write() {
                    self.close = Close::ShutdownWrite { read_on };
                }
            }
            Phase::Plain { .. } => {
                if self.out.is_empty() {
                    self.close = Close::ShutdownWrite { read_on };
                }
            }
            // A handshake that has not finished has no data to deliver: nothing to wait for.
            _ => self.abort_keep_error(),
        }
    }

    /// The driver shut down the transport's write side: read on until the peer's end
    /// (discarding it, bounded by the disconnect timeout, after `disconnect_from_host`; for
    /// the application after `close_write`).
    pub fn handle_write_shutdown(&mut self, now: Instant) {
        let Close::ShutdownWrite { read_on } = self.close else { return };
        self.dry = false;
        self.close = if read_on {
            Close::WriteShut
        } else {
            Close::Draining { until: self.disconnect_timeout.and_then(|t| now.checked_add(t)) }
        };
        self.finish_drain_if_done();
    }

    /// Ends a close whose write side is shut once the peer's end has been seen too.
    pub(super) fn finish_drain_if_done(&mut self) {
        if matches!(self.close, Close::Draining { .. } | Close::WriteShut)
            && (self.peer_closed || self.transport_eof)
        {
            self.abort_keep_error();
        }
    }

    /// The driver closed the transport (after [`Action::Close`](super::Action::Close)).
    pub fn handle_closed(&mut self) {
        if self.close == Close::Release {
            self.close = Close::Open;
        }
    }

    fn abort_keep_error(&mut self) {
        let error = self.error.take();
        self.abort();
        self.error = error;
    }
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
