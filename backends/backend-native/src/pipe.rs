//! [`Pipe`]: the in-memory transport native-tls runs over, so that a blocking-style engine
//! becomes sans-IO.
//!
//! native-tls only speaks to an `io::Read + io::Write` stream. The session gives it a `Pipe`
//! whose reads return `WouldBlock` when no ciphertext is buffered (so the engine returns
//! `HandshakeError::WouldBlock` or a `WouldBlock` read instead of waiting) and whose writes
//! always succeed into a buffer the session drains to the real transport.
//!
//! The buffers, their memory policy and the error for a full incoming buffer are
//! [`ssl_api::pipe`]'s. Here they are shared (`Arc<Mutex<_>>`) between the pipe inside the
//! engine and the session holding the engine:
//! `MidHandshakeTlsStream::handshake` consumes the stream, and on `HandshakeError::Failure` the
//! stream and its pipe are dropped; the alert the engine wrote just before failing must still
//! reach the peer. The lock is never contended: the engine only touches the pipe inside the
//! session's own calls. Unlike OpenSSL's, the engine is told the end of the transport (a read
//! returns `Ok(0)`).

use std::fmt;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ssl_api::pipe::{IncomingBuffer, OutgoingBuffer};

/// `read_tls` refuses to buffer more unprocessed ciphertext than this.
pub(crate) const MAX_INCOMING: usize = 64 * 1024;

/// Room reserved when the outgoing buffer is allocated again: one maximal record with its
/// overhead, what one `write_plaintext` produces at most.
const OUTGOING_RESERVE: usize = 17 * 1024;

/// The engine's end of the pipe: handed to `TlsConnector::connect` / `TlsAcceptor::accept`.
pub(crate) struct Pipe {
    shared: Arc<Mutex<Buffers>>,
}

/// The session's end of the pipe.
pub(crate) struct PipeEnd {
    shared: Arc<Mutex<Buffers>>,
}

struct Buffers {
    /// Ciphertext from the transport, for the engine.
    incoming: IncomingBuffer,
    /// Ciphertext from the engine, for the transport.
    outgoing: OutgoingBuffer,
    /// The engine has been told the transport ended (one of its reads returned `Ok(0)`).
    eof_delivered: bool,
}

/// A new pipe: the engine's end and the session's end.
pub(crate) fn pipe() -> (Pipe, PipeEnd) {
    let shared = Arc::new(Mutex::new(Buffers {
        incoming: IncomingBuffer::new(MAX_INCOMING),
        outgoing: OutgoingBuffer::new(OUTGOING_RESERVE),
        eof_delivered: false,
    }));
    (Pipe { shared: Arc::clone(&shared) }, PipeEnd { shared })
}

fn lock(shared: &Mutex<Buffers>) -> MutexGuard<'_, Buffers> {
    // A panic while the lock was held leaves byte queues, which stay consistent.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Read for Pipe {
    /// Buffered ciphertext; `WouldBlock` when there is none, `Ok(0)` once the transport has
    /// ended and everything was read.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut buffers = lock(&self.shared);
        if buffers.incoming.is_empty() && buffers.incoming.is_eof() {
            buffers.eof_delivered = true;
            return Ok(0);
        }
        buffers.incoming.read(buf)
    }
}

impl Write for Pipe {
    /// Takes everything: the session bounds what it asks the engine to encrypt.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        lock(&self.shared).outgoing.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl PipeEnd {
    /// Reads once from the transport `rd` straight into the incoming buffer
    /// ([`IncomingBuffer::fill_from`]). `Ok(0)` marks the end of the transport.
    ///
    /// # Errors
    /// The reader's error; [`ssl_api::pipe::IncomingFull`], without reading, when
    /// [`MAX_INCOMING`] bytes are already waiting.
    pub(crate) fn fill_from(&self, rd: &mut dyn Read) -> io::Result<usize> {
        lock(&self.shared).incoming.fill_from(rd)
    }

    /// Writes buffered ciphertext to `wr` once ([`OutgoingBuffer::write_once_to`]); what `wr`
    /// does not take stays buffered.
    ///
    /// # Errors
    /// The writer's error.
    pub(crate) fn drain_to(&self, wr: &mut dyn Write) -> io::Result<usize> {
        lock(&self.shared).outgoing.write_once_to(wr)
    }

    /// Ciphertext waiting to be written to the transport.
    pub(crate) fn outgoing_len(&self) -> usize {
        lock(&self.shared).outgoing.len()
    }

    /// Ciphertext waiting to be read by the engine.
    pub(crate) fn incoming_len(&self) -> usize {
        lock(&self.shared).incoming.len()
    }

    /// Whether the engine has seen the end of the transport.
    pub(crate) fn eof_delivered(&self) -> bool {
        lock(&self.shared).eof_delivered
    }

    /// Bytes of memory both buffers hold (for tests of the release policy).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        let buffers = lock(&self.shared);
        buffers.incoming.capacity() + buffers.outgoing.capacity()
    }
}

impl fmt::Debug for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipe").finish_non_exhaustive()
    }
}

impl fmt::Debug for PipeEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let buffers = lock(&self.shared);
        f.debug_struct("PipeEnd")
            .field("incoming", &buffers.incoming.len())
            .field("outgoing", &buffers.outgoing.len())
            .field("eof", &buffers.incoming.is_eof())
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn empty_pipe_would_block_until_the_transport_ends() {
        let (mut engine, session) = pipe();
        let mut buf = [0u8; 4];
        assert_eq!(engine.read(&mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        session.fill_from(&mut &b"ab"[..]).unwrap();
        assert_eq!(engine.read(&mut buf).unwrap(), 2);
        assert!(!session.eof_delivered());
        assert_eq!(session.fill_from(&mut &b""[..]).unwrap(), 0);
        assert_eq!(engine.read(&mut buf).unwrap(), 0);
        assert!(session.eof_delivered());
    }

    #[test]
    fn a_full_incoming_buffer_refuses_more() {
        let (_engine, session) = pipe();
        let big = vec![0u8; MAX_INCOMING];
        let mut input = big.as_slice();
        while !input.is_empty() {
            session.fill_from(&mut input).unwrap();
        }
        let err = session.fill_from(&mut &b"x"[..]).unwrap_err();
        assert!(ssl_api::pipe::IncomingFull::is(&err), "{err:?}");
    }

    #[test]
    fn what_the_engine_writes_is_drained_one_write_at_a_time_then_released() {
        let (mut engine, session) = pipe();
        engine.write_all(b"hello").unwrap();
        assert!(session.capacity() >= OUTGOING_RESERVE);
        let mut wire = [0u8; 3];
        assert_eq!(session.drain_to(&mut &mut wire[..]).unwrap(), 3);
        assert_eq!(session.outgoing_len(), 2);
        assert_eq!(session.drain_to(&mut Vec::new()).unwrap(), 2);
        assert_eq!(session.capacity(), 0, "drained");
    }
}
