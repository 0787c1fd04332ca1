//! [`Pipe`]: the in-memory transport native-tls runs over, so that a blocking-style engine
//! becomes sans-IO.
//!
//! native-tls only speaks to an `io::Read + io::Write` stream. The session gives it a `Pipe`
//! whose reads return `WouldBlock` when no ciphertext is buffered (so the engine returns
//! `HandshakeError::WouldBlock` or a `WouldBlock` read instead of waiting) and whose writes
//! always succeed into a buffer the session drains to the real transport.
//!
//! The buffers are shared (`Arc<Mutex<_>>`) between the pipe inside the engine and the session
//! holding the engine: `MidHandshakeTlsStream::handshake` consumes the stream, and on
//! `HandshakeError::Failure` the stream and its pipe are dropped; the alert the engine wrote just
//! before failing must still reach the peer. The lock is never contended: the engine only
//! touches the pipe inside the session's own calls.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// At most this many ciphertext bytes are taken from the transport per `read_tls`: one maximal
/// TLS record (16 KiB of plaintext plus expansion and header) and some.
pub(crate) const READ_CHUNK: usize = 18 * 1024;

/// `read_tls` refuses to buffer more unprocessed ciphertext than this.
pub(crate) const MAX_INCOMING: usize = 64 * 1024;

/// The engine's end of the pipe: handed to `TlsConnector::connect` / `TlsAcceptor::accept`.
pub(crate) struct Pipe {
    shared: Arc<Mutex<Buffers>>,
}

/// The session's end of the pipe.
pub(crate) struct PipeEnd {
    shared: Arc<Mutex<Buffers>>,
}

#[derive(Default)]
struct Buffers {
    /// Ciphertext from the transport, not yet read by the engine.
    incoming: VecDeque<u8>,
    /// Ciphertext written by the engine, not yet written to the transport.
    outgoing: VecDeque<u8>,
    /// The transport reported end of file.
    eof: bool,
    /// The engine has been told (one of its reads returned `Ok(0)`).
    eof_delivered: bool,
}

/// A new pipe: the engine's end and the session's end.
pub(crate) fn pipe() -> (Pipe, PipeEnd) {
    let shared = Arc::new(Mutex::new(Buffers::default()));
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
        if buffers.incoming.is_empty() {
            if buffers.eof {
                buffers.eof_delivered = true;
                return Ok(0);
            }
            return Err(io::ErrorKind::WouldBlock.into());
        }
        buffers.incoming.read(buf)
    }
}

impl Write for Pipe {
    /// Takes everything: the session bounds what it asks the engine to encrypt.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        lock(&self.shared).outgoing.extend(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl PipeEnd {
    /// Reads once from the transport `rd` into the incoming buffer (at most [`READ_CHUNK`]
    /// bytes). `Ok(0)` marks the end of the transport.
    ///
    /// # Errors
    /// The reader's error; `OutOfMemory` when [`MAX_INCOMING`] bytes are already waiting.
    pub(crate) fn fill_from(&self, rd: &mut dyn Read) -> io::Result<usize> {
        if lock(&self.shared).incoming.len() >= MAX_INCOMING {
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                "native session: ciphertext buffer full (process_new_packets first)",
            ));
        }
        let mut chunk = [0u8; READ_CHUNK];
        let n = rd.read(&mut chunk)?;
        let mut buffers = lock(&self.shared);
        if n == 0 {
            buffers.eof = true;
        } else {
            buffers.incoming.extend(&chunk[..n]);
        }
        Ok(n)
    }

    /// Writes buffered ciphertext to `wr` once; what `wr` does not take stays buffered.
    ///
    /// # Errors
    /// The writer's error.
    pub(crate) fn drain_to(&self, wr: &mut dyn Write) -> io::Result<usize> {
        let mut buffers = lock(&self.shared);
        let (front, _) = buffers.outgoing.as_slices();
        if front.is_empty() {
            return Ok(0);
        }
        let n = wr.write(front)?;
        buffers.outgoing.drain(..n);
        Ok(n)
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
            .field("eof", &buffers.eof)
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
    fn what_the_writer_does_not_take_stays_buffered() {
        struct Three(Vec<u8>);
        impl Write for Three {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                let n = buf.len().min(3);
                self.0.extend_from_slice(&buf[..n]);
                Ok(n)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let (mut engine, session) = pipe();
        engine.write_all(b"hello").unwrap();
        let mut wire = Three(Vec::new());
        assert_eq!(session.drain_to(&mut wire).unwrap(), 3);
        assert_eq!(session.outgoing_len(), 2);
        assert_eq!(session.drain_to(&mut wire).unwrap(), 2);
        assert_eq!(wire.0, b"hello");
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
        assert_eq!(err.kind(), io::ErrorKind::OutOfMemory);
    }
}
