//! [`Pipe`]: the in-memory transport an OpenSSL `SslStream` runs over, so that the engine can be
//! driven sans-IO. OpenSSL reads ciphertext from `incoming` and writes ciphertext to
//! `outgoing`; the session moves bytes between them and the caller's reader and writer.
//!
//! Memory: both queues hold nothing while the connection is idle. The incoming buffer is
//! dropped once it is empty and the caller's reader has shown it has nothing more: it returned
//! `WouldBlock` or end of file, or it returned less than it was offered (a stream socket does
//! that only when its receive queue is drained). The outgoing buffer is dropped when the
//! caller's writer has taken all of it. While data flows, the incoming buffer is one
//! initialized block read into in place (zero-filled only when it is allocated or grows, never
//! per read).

use std::io::{self, Read, Write};

/// How much ciphertext one [`Pipe::fill_from`] reads at most: four maximal TLS records, so that
/// a bulk transfer costs less than one read call per record.
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// The room offered by the first read into a newly allocated buffer: enough for the
/// messages of an interactive exchange, and cheap to zero-fill for each of them. A read that
/// fills it shows more is coming, and the next one gets [`READ_CHUNK`].
const FIRST_READ: usize = 4 * 1024;

/// The least room [`Pipe::fill_from`] offers a read: one maximal TLS record (16 KiB of
/// plaintext with its header and expansion), so that a record never takes two reads for want
/// of room.
const MIN_ROOM: usize = 18 * 1024;

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
#[derive(Debug, Default)]
pub(crate) struct Pipe {
    /// Initialized storage for ciphertext received; `incoming[start..end]` is what OpenSSL has
    /// not read yet, and `incoming[end..]` is room for the next read.
    incoming: Vec<u8>,
    start: usize,
    end: usize,
    /// The caller's last read returned less than it was offered: once OpenSSL has read
    /// everything, the incoming buffer is released.
    drained: bool,
    /// Ciphertext produced; the caller has taken `outgoing[..write_pos]`.
    outgoing: Vec<u8>,
    write_pos: usize,
    /// The caller's reader reported end of file. OpenSSL is never told (its `Read` keeps
    /// returning `WouldBlock`): a handshake cut short is the socket's to report, and a
    /// session cut short is reported by `read_plaintext` as `UnexpectedEof`, as rustls does.
    pub(crate) eof: bool,
}

impl Pipe {
    /// Reads once from `rd` straight into the incoming queue (one copy, at most
    /// [`READ_CHUNK`] bytes). `Ok(0)` marks end of file. When the queue is empty and `rd` has
    /// nothing (`WouldBlock`, end of file), the queue's memory is released; after a short read,
    /// it is released as soon as OpenSSL has read everything.
    ///
    /// # Errors
    /// The reader's error; an `Other` error, without reading, when more than
    /// `INCOMING_LIMIT` bytes wait unprocessed (the engine's buffer is full).
    pub(crate) fn fill_from(&mut self, rd: &mut dyn Read) -> io::Result<usize> {
        if self.incoming_len() >= INCOMING_LIMIT {
            return Err(io::Error::other("openssl backend: unprocessed ciphertext buffer is full"));
        }
        self.make_room();
        let room = self.incoming.len().min(self.end + READ_CHUNK);
        let result = rd.read(&mut self.incoming[self.end..room]);
        match &result {
            Ok(0) => {
                self.eof = true;
                self.release_incoming_if_empty();
            }
            Ok(n) => {
                self.end += n;
                self.drained = self.end < room;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.release_incoming_if_empty(),
            Err(_) => {}
        }
        result
    }

    /// Writes pending outgoing ciphertext to `wr`, as much as it takes; the rest is kept. Once
    /// everything is written, the queue's memory is released.
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
            self.outgoing = Vec::new();
            self.write_pos = 0;
        }
        Ok(total)
    }

    /// Ciphertext waiting for the caller's writer.
    pub(crate) fn outgoing_len(&self) -> usize {
        self.outgoing.len() - self.write_pos
    }

    /// Ciphertext OpenSSL has not read yet.
    pub(crate) fn incoming_len(&self) -> usize {
        self.end - self.start
    }

    /// Bytes of memory both queues hold (for tests of the release policy).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.incoming.capacity() + self.outgoing.capacity()
    }

    /// Makes room after `end` for the next read: rewinds an empty queue, moves unread bytes to
    /// the front when there is less than a full read of room, and grows the buffer
    /// (zero-filling the new part) only when less than `MIN_ROOM` is left. A full read is
    /// `FIRST_READ` into a new buffer, [`READ_CHUNK`] afterwards.
    fn make_room(&mut self) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        let full = if self.incoming.is_empty() { FIRST_READ } else { READ_CHUNK };
        if self.incoming.len() - self.end < full && self.start > 0 {
            self.incoming.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.incoming.len() - self.end < full.min(MIN_ROOM) {
            let needed = self.end + full;
            // Exactly what is needed: `resize` alone would double the allocation.
            self.incoming.reserve_exact(needed - self.incoming.len());
            self.incoming.resize(needed, 0);
        }
    }

    fn release_incoming_if_empty(&mut self) {
        if self.start == self.end {
            self.incoming = Vec::new();
            self.start = 0;
            self.end = 0;
            self.drained = false;
        }
    }
}

/// OpenSSL's side: `WouldBlock` when nothing is buffered, never end of file (see `eof`).
impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = &self.incoming[self.start..self.end];
        if available.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.start += n;
        if self.drained {
            self.release_incoming_if_empty();
        }
        Ok(n)
    }
}

/// OpenSSL's side: takes everything (the session bounds how much plaintext it encrypts per
/// call, so this stays bounded too).
impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.outgoing.capacity() == 0 {
            self.outgoing.reserve(buf.len().max(OUTGOING_RESERVE));
        }
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

    /// A transport that hands out its bytes `chunk` at a time, then `WouldBlock`.
    struct Trickle<'a> {
        data: &'a [u8],
        chunk: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.data.is_empty() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = self.data.len().min(buf.len()).min(self.chunk);
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

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
    fn unread_bytes_survive_compaction_in_order() {
        let data: Vec<u8> = (0..3 * READ_CHUNK).map(|i| (i % 251) as u8).collect();
        let mut input = Trickle { data: &data, chunk: READ_CHUNK - 7 };
        let mut pipe = Pipe::default();
        let mut out = Vec::new();
        let mut buf = vec![0u8; 1000];
        // Read a little less than arrives each time, so unread bytes must move to the front.
        while out.len() < data.len() {
            let _ = pipe.fill_from(&mut input);
            while let Ok(n) = pipe.read(&mut buf) {
                out.extend_from_slice(&buf[..n]);
                if pipe.incoming_len() < 5000 {
                    break;
                }
            }
        }
        assert!(out == data, "{} of {} bytes", out.len(), data.len());
        assert!(pipe.incoming.len() <= 2 * READ_CHUNK, "{}", pipe.incoming.len());
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

    #[test]
    fn a_new_buffer_starts_small_and_grows_when_a_read_fills_it() {
        let mut pipe = Pipe::default();
        let data = vec![7u8; FIRST_READ + 2 * READ_CHUNK];
        let mut input = Trickle { data: &data, chunk: usize::MAX };
        let mut sink = vec![0u8; READ_CHUNK];
        assert_eq!(pipe.fill_from(&mut input).unwrap(), FIRST_READ);
        assert_eq!(pipe.read(&mut sink).unwrap(), FIRST_READ);
        // Full reads: the transport may have more, so the buffer stays once it is empty.
        assert_eq!(pipe.capacity(), FIRST_READ);
        assert_eq!(pipe.fill_from(&mut input).unwrap(), READ_CHUNK);
        assert_eq!(pipe.read(&mut sink).unwrap(), READ_CHUNK);
        assert_eq!(pipe.fill_from(&mut input).unwrap(), READ_CHUNK);
        assert_eq!(pipe.capacity(), READ_CHUNK, "an empty buffer is reused, not grown");
    }

    #[test]
    fn an_empty_queue_is_released_when_the_reader_has_nothing_more() {
        let mut pipe = Pipe::default();
        let data = vec![7u8; FIRST_READ + READ_CHUNK];
        let mut input = Trickle { data: &data, chunk: usize::MAX };
        let mut sink = vec![0u8; READ_CHUNK];
        assert_eq!(pipe.fill_from(&mut input).unwrap(), FIRST_READ);
        assert_eq!(pipe.read(&mut sink).unwrap(), FIRST_READ);
        assert_eq!(pipe.fill_from(&mut input).unwrap(), READ_CHUNK);

        // Unread bytes are kept through a `WouldBlock`; once read, the next one releases.
        let err = pipe.fill_from(&mut input).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert!(pipe.capacity() >= READ_CHUNK);
        assert_eq!(pipe.read(&mut sink).unwrap(), READ_CHUNK);
        assert!(pipe.capacity() >= READ_CHUNK);
        let _ = pipe.fill_from(&mut input).unwrap_err();
        assert_eq!(pipe.capacity(), 0);

        // End of file releases an empty queue too.
        pipe.fill_from(&mut Trickle { data: &data, chunk: FIRST_READ }).unwrap();
        assert_eq!(pipe.read(&mut sink).unwrap(), FIRST_READ);
        assert_eq!(pipe.capacity(), FIRST_READ);
        assert_eq!(pipe.fill_from(&mut &b""[..]).unwrap(), 0);
        assert_eq!(pipe.capacity(), 0);
    }

    #[test]
    fn after_a_short_read_the_queue_is_released_once_it_is_read() {
        let mut pipe = Pipe::default();
        let mut input: &[u8] = &[1u8; 1000];
        assert_eq!(pipe.fill_from(&mut input).unwrap(), 1000);
        let mut sink = [0u8; 600];
        assert_eq!(pipe.read(&mut sink).unwrap(), 600);
        assert_eq!(pipe.capacity(), FIRST_READ, "400 bytes are still unread");
        assert_eq!(pipe.read(&mut sink).unwrap(), 400);
        assert_eq!(pipe.capacity(), 0);
    }

    #[test]
    fn a_written_queue_is_released_once_drained() {
        let mut pipe = Pipe::default();
        pipe.write_all(&[2u8; 1000]).unwrap();
        assert!(pipe.capacity() >= OUTGOING_RESERVE);
        let mut wire = [0u8; 600];
        assert_eq!(pipe.drain_to(&mut &mut wire[..]).unwrap(), 600);
        assert!(pipe.capacity() > 0);
        assert_eq!(pipe.drain_to(&mut Vec::new()).unwrap(), 400);
        assert_eq!(pipe.capacity(), 0);
    }
}
