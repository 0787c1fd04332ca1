//! The application's side: writing and reading plaintext.

use std::io;

use ssl_api::{Error, SocketState, UsageError};

use super::tls::{Sink, Stop};
use super::{Close, Connection, Event, Phase, OUT_HIGH_WATER};

impl Connection {
    /// Queues application bytes. Once encrypted they go to the engine; before that they wait
    /// (never sent in clear in client or server mode). Takes at most what fits under the write
    /// buffer limit.
    ///
    /// # Errors
    /// `WouldBlock` when the write buffer is full (transmit first); the connection's error, or
    /// `NotConnected`, when it cannot take data.
    pub fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if let Some(err) = self.fatal_error() {
            return Err(err.clone().into());
        }
        if self.close != Close::Open || self.state == SocketState::UnconnectedState {
            return Err(Error::Usage(UsageError::NotConnected).into());
        }
        self.dry = false;
        if data.is_empty() {
            return Ok(0);
        }
        let mut taken = 0;
        if let Phase::Encrypted(session) = &mut self.phase {
            if self.write_buf.is_empty() && self.out.len() < OUT_HIGH_WATER {
                taken = session.write_plaintext(data)?;
                if taken > 0 {
                    self.emit(Event::BytesWritten(taken as u64));
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
    /// read (a truncation, a rejected peer…); `NotConnected` ([`UsageError::NotConnected`]) on
    /// an unconnected socket that holds nothing to read and whose peer's end was not seen
    /// (never connected, or aborted). `Ok(0)` is a clean end of stream.
    pub fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        let was_full = self.read_buffer_full();
        let n = self.read_some(out)?;
        if was_full && !self.read_buffer_full() {
            self.dry = false; // the transport may be read again
        }
        if self.bytes_available() == 0 {
            self.seen.ready_read = false; // everything announced has been read
        }
        Ok(n)
    }

    fn read_some(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if !self.read_buf.is_empty() {
            return Ok(self.read_buf.read(out));
        }
        let filled = self.read_from_engine(out)?;
        if filled > 0 {
            return Ok(filled);
        }
        self.judge_end();
        if let Some(err) = self.fatal_error() {
            return Err(err.clone().into());
        }
        if self.peer_closed || self.transport_eof {
            return Ok(0);
        }
        if self.state == SocketState::UnconnectedState {
            return Err(Error::Usage(UsageError::NotConnected).into());
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
                self.fail_encrypted(err);
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

    /// Takes every readable byte: as many as [`Connection::bytes_available`] says (with a
    /// read buffer limit, at most that many).
    pub fn read_all(&mut self) -> Vec<u8> {
        let _ = self.spill_plaintext(self.read_room());
        self.seen.ready_read = false;
        self.dry = false;
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
