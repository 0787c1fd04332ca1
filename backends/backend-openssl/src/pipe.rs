//! [`Pipe`]: the in-memory transport an OpenSSL `SslStream` runs over, so that the engine can be
//! driven sans-IO. OpenSSL reads ciphertext from `incoming` and writes ciphertext to
//! `outgoing`; the session moves bytes between them and the caller's reader and writer.

use std::io::{self, Read, Write};

/// How much ciphertext one [`Pipe::fill_from`] reads at most.
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// Unprocessed ciphertext beyond which [`Pipe::fill_from`] refuses more input. The session
/// processes every complete record after each read, so only a stalled session (or a peer
/// sending faster than it is processed) gets here.
const INCOMING_LIMIT: usize = 4 * READ_CHUNK;

/// Two byte queues: ciphertext from the peer (read by OpenSSL) and ciphertext for the peer
/// (written by OpenSSL).
#[derive(Debug, Default)]
pub(crate) struct Pipe {
    /// Ciphertext received; OpenSSL has consumed `incoming[..read_pos]`.
    incoming: Vec<u8>,
    read_pos: usize,
    /// Ciphertext produced; the caller has taken `outgoing[..write_pos]`.
    outgoing: Vec<u8>,
    write_pos: usize,
    /// The caller's reader reported end of file. OpenSSL is never told (its `Read` keeps
    /// returning `WouldBlock`): a handshake cut short is the socket's to report, and a
    /// session cut short is reported by `read_plaintext` as `UnexpectedEof`, as rustls does.
    pub(crate) eof: bool,
}

impl Pipe {
    /// Reads once from `rd` straight into the incoming queue (one copy). `Ok(0)` marks end of
    /// file.
    ///
    /// # Errors
    /// The reader's error; an `Other` error, without reading, when more than
    /// `INCOMING_LIMIT` bytes wait unprocessed (the engine's buffer is full).
    pub(crate) fn fill_from(&mut self, rd: &mut dyn Read) -> io::Result<usize> {
        self.compact_incoming();
        let pending = self.incoming.len() - self.read_pos;
        if pending >= INCOMING_LIMIT {
            return Err(io::Error::other("openssl backend: unprocessed ciphertext buffer is full"));
        }
        let start = self.incoming.len();
        self.incoming.resize(start + READ_CHUNK, 0);
        let result = rd.read(&mut self.incoming[start..]);
        let n = *result.as_ref().unwrap_or(&0);
        self.incoming.truncate(start + n);
        if matches!(result, Ok(0)) {
            self.eof = true;
        }
        result
    }

    /// Writes pending outgoing ciphertext to `wr`, as much as it takes; the rest is kept.
    ///
    /// # Errors
    /// The writer's error (`WouldBlock` included) when it took nothing.
    pub(crate) fn drain_to(&mut self, wr: &mut dyn Write) -> io::Result<usize> {
        let mut total = 0;
        while self.write_pos < self.outgoing.len() {
            match wr.write(&self.outgoing[self.write_pos..]) {
                Ok(0) => break,
                Ok(n) => {
                    self.write_pos += n;
                    total += n;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if total == 0 => return Err(e),
                Err(_) => break, // what was written counts; the error comes back next call
            }
        }
        if self.write_pos == self.outgoing.len() {
            self.outgoing.clear();
            self.write_pos = 0;
            self.outgoing.shrink_to(READ_CHUNK);
        }
        Ok(total)
    }

    /// Ciphertext waiting for the caller's writer.
    pub(crate) fn outgoing_len(&self) -> usize {
        self.outgoing.len() - self.write_pos
    }

    /// Drops the consumed front of the incoming queue.
    fn compact_incoming(&mut self) {
        if self.read_pos == self.incoming.len() {
            self.incoming.clear();
            self.read_pos = 0;
            self.incoming.shrink_to(2 * READ_CHUNK);
        } else if self.read_pos > 0 {
            self.incoming.drain(..self.read_pos);
            self.read_pos = 0;
        }
    }
}

/// OpenSSL's side: `WouldBlock` when nothing is buffered, never end of file (see `eof`).
impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = &self.incoming[self.read_pos..];
        if available.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.read_pos += n;
        Ok(n)
    }
}

/// OpenSSL's side: takes everything (the session bounds how much plaintext it encrypts per
/// call, so this stays bounded too).
impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outgoing.extend_from_slice(buf);
        Ok(buf.len())
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
        assert!(pipe.eof);
        let err = pipe.read(&mut [0u8; 4]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn bytes_pass_through_in_order_and_partial_writes_keep_the_rest() {
        let mut pipe = Pipe::default();
        let mut input: &[u8] = b"abcdef";
        assert_eq!(pipe.fill_from(&mut input).unwrap(), 6);
        let mut buf = [0u8; 4];
        assert_eq!(pipe.read(&mut buf).unwrap(), 4);
        assert_eq!(&buf, b"abcd");

        pipe.write_all(b"0123456789").unwrap();
        let mut small = [0u8; 3];
        let mut slot: &mut [u8] = &mut small;
        assert_eq!(pipe.drain_to(&mut slot).unwrap(), 3);
        assert_eq!(&small, b"012");
        assert_eq!(pipe.outgoing_len(), 7);
        let mut rest = Vec::new();
        assert_eq!(pipe.drain_to(&mut rest).unwrap(), 7);
        assert_eq!(rest, b"3456789");
        assert_eq!(pipe.outgoing_len(), 0);
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
        assert!(pipe.fill_from(&mut more).is_err());
    }
}
