//! [`Pipe`]: the in-memory transport an OpenSSL `SslStream` runs over, so that the engine can be
//! driven sans-IO. OpenSSL reads ciphertext from `incoming` and writes ciphertext to
//! `outgoing`; the session moves bytes between them and the caller's reader and writer.
//!
//! The buffers, their memory policy and the error for a full incoming buffer are
//! [`ssl_api::pipe`]'s; the pipe owns them (the stream owns the pipe) and sets this backend's
//! limits.

use std::io::{self, Read, Write};

use ssl_api::pipe::{IncomingBuffer, OutgoingBuffer, READ_CHUNK};

/// Unprocessed ciphertext beyond which [`Pipe::fill_from`] refuses more input. The session
/// asks for input only when no complete record waits, so only a caller that reads while it is
/// not asked to (or a stalled session) gets here.
const INCOMING_LIMIT: usize = 4 * READ_CHUNK;

/// Room reserved for outgoing ciphertext when the queue is allocated again: what one
/// `write_plaintext` produces at most (64 KiB of plaintext in four records and their
/// overhead), so that a bulk write fills one allocation instead of growing it record by record.
const OUTGOING_RESERVE: usize = 66 * 1024;

/// Two byte queues: ciphertext from the peer (read by OpenSSL) and ciphertext for the peer
/// (written by OpenSSL).
#[derive(Debug)]
pub(crate) struct Pipe {
    incoming: IncomingBuffer,
    outgoing: OutgoingBuffer,
}

impl Default for Pipe {
    fn default() -> Pipe {
        Pipe {
            incoming: IncomingBuffer::new(INCOMING_LIMIT),
            outgoing: OutgoingBuffer::new(OUTGOING_RESERVE),
        }
    }
}

impl Pipe {
    /// Reads once from `rd` straight into the incoming queue ([`IncomingBuffer::fill_from`]).
    ///
    /// # Errors
    /// The reader's error; [`ssl_api::pipe::IncomingFull`], without reading, when
    /// `INCOMING_LIMIT` bytes wait unprocessed.
    pub(crate) fn fill_from(&mut self, rd: &mut dyn Read) -> io::Result<usize> {
        self.incoming.fill_from(rd)
    }

    /// Writes pending outgoing ciphertext to `wr`, as much as it takes
    /// ([`OutgoingBuffer::drain_to`]).
    ///
    /// # Errors
    /// The writer's error (`WouldBlock` included) when it took nothing.
    pub(crate) fn drain_to(&mut self, wr: &mut dyn Write) -> io::Result<usize> {
        self.outgoing.drain_to(wr)
    }

    /// Ciphertext waiting for the caller's writer.
    pub(crate) fn outgoing_len(&self) -> usize {
        self.outgoing.len()
    }

    /// Ciphertext OpenSSL has not read yet.
    pub(crate) fn incoming_len(&self) -> usize {
        self.incoming.len()
    }

    /// The caller's reader reported end of file. OpenSSL is never told (its `Read` keeps
    /// returning `WouldBlock`): a handshake cut short is the socket's to report, and a
    /// session cut short is reported by `read_plaintext` as `UnexpectedEof`, as rustls does.
    pub(crate) fn is_eof(&self) -> bool {
        self.incoming.is_eof()
    }

    /// Bytes of memory both queues hold (for tests of the release policy).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.incoming.capacity() + self.outgoing.capacity()
    }
}

/// OpenSSL's side: `WouldBlock` when nothing is buffered, never end of file (see
/// [`Pipe::is_eof`]).
impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.incoming.read(buf)
    }
}

/// OpenSSL's side: takes everything (the session bounds how much plaintext it encrypts per
/// call, so this stays bounded too).
impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outgoing.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn empty_pipe_would_block_even_after_end_of_file() {
        let mut pipe = Pipe::default();
        let mut empty: &[u8] = b"";
        assert_eq!(pipe.fill_from(&mut empty).unwrap(), 0);
        assert!(pipe.is_eof());
        let err = pipe.read(&mut [0u8; 4]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn a_full_incoming_queue_refuses_more() {
        let mut pipe = Pipe::default();
        let big = vec![0u8; INCOMING_LIMIT];
        let mut input: &[u8] = &big;
        while !input.is_empty() {
            pipe.fill_from(&mut input).unwrap();
        }
        let mut more: &[u8] = b"x";
        let err = pipe.fill_from(&mut more).unwrap_err();
        assert!(ssl_api::pipe::IncomingFull::is(&err), "{err:?}");
    }

    #[test]
    fn a_written_queue_reserves_a_bulk_write_and_is_released_once_drained() {
        let mut pipe = Pipe::default();
        pipe.write_all(&[2u8; 1000]).unwrap();
        assert!(pipe.capacity() >= OUTGOING_RESERVE);
        assert_eq!(pipe.drain_to(&mut Vec::new()).unwrap(), 1000);
        assert_eq!(pipe.capacity(), 0);
    }
}
