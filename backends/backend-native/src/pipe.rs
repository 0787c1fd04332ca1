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
//!
//! Memory: both buffers hold nothing while the connection is idle. The incoming buffer is
//! dropped once it is empty and the transport has shown it has nothing more: its read returned
//! `WouldBlock` or end of file, or less than it was offered (a stream socket does that only when
//! its receive queue is drained). The outgoing buffer is dropped when the transport has taken
//! all of it. While data flows, the incoming buffer is one initialized block that the transport
//! reads into in place (zero-filled only when it is allocated or grows, never per read).

use std::fmt;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// At most this many ciphertext bytes are taken from the transport per `read_tls`: four
/// maximal TLS records, so that a bulk transfer costs less than one read call per record.
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// The room offered by the first read into a newly allocated incoming buffer: enough for the
/// messages of an interactive exchange, and cheap to zero-fill for each of them. A read that
/// fills it shows more is coming, and the next one gets [`READ_CHUNK`].
const FIRST_READ: usize = 4 * 1024;

/// The least room a read is offered once the buffer is in use: one maximal TLS record and its
/// header and expansion, so that a record never takes two reads for want of room.
const MIN_ROOM: usize = 18 * 1024;

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

#[derive(Default)]
struct Buffers {
    /// Initialized storage for ciphertext from the transport: `incoming[start..end]` is not
    /// yet read by the engine, `incoming[end..]` is room for the next read.
    incoming: Vec<u8>,
    start: usize,
    end: usize,
    /// The transport's last read returned less than it was offered: once the engine has read
    /// everything, the incoming buffer is released.
    drained: bool,
    /// Ciphertext written by the engine; the transport has taken `outgoing[..written]`.
    outgoing: Vec<u8>,
    written: usize,
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
        let b = &mut *buffers;
        let available = &b.incoming[b.start..b.end];
        if available.is_empty() {
            if b.eof {
                b.eof_delivered = true;
                return Ok(0);
            }
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        b.start += n;
        if b.drained {
            b.release_incoming_if_empty();
        }
        Ok(n)
    }
}

impl Write for Pipe {
    /// Takes everything: the session bounds what it asks the engine to encrypt.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut buffers = lock(&self.shared);
        if buffers.outgoing.capacity() == 0 {
            buffers.outgoing.reserve(buf.len().max(OUTGOING_RESERVE));
        }
        buffers.outgoing.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl PipeEnd {
    /// Reads once from the transport `rd` straight into the incoming buffer (at most
    /// [`READ_CHUNK`] bytes). `Ok(0)` marks the end of the transport. When the buffer is empty
    /// and `rd` has nothing (`WouldBlock`, end of file), its memory is released; after a short
    /// read, it is released as soon as the engine has read everything.
    ///
    /// # Errors
    /// The reader's error; `OutOfMemory` when [`MAX_INCOMING`] bytes are already waiting.
    pub(crate) fn fill_from(&self, rd: &mut dyn Read) -> io::Result<usize> {
        let mut buffers = lock(&self.shared);
        let b = &mut *buffers;
        if b.end - b.start >= MAX_INCOMING {
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                "native session: ciphertext buffer full (process_new_packets first)",
            ));
        }
        b.make_room();
        let room = b.incoming.len().min(b.end + READ_CHUNK);
        let result = rd.read(&mut b.incoming[b.end..room]);
        match &result {
            Ok(0) => {
                b.eof = true;
                b.release_incoming_if_empty();
            }
            Ok(n) => {
                b.end += n;
                b.drained = b.end < room;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => b.release_incoming_if_empty(),
            Err(_) => {}
        }
        result
    }

    /// Writes buffered ciphertext to `wr` once; what `wr` does not take stays buffered. Once
    /// everything is written, the buffer's memory is released.
    ///
    /// # Errors
    /// The writer's error.
    pub(crate) fn drain_to(&self, wr: &mut dyn Write) -> io::Result<usize> {
        let mut buffers = lock(&self.shared);
        let b = &mut *buffers;
        if b.written == b.outgoing.len() {
            return Ok(0);
        }
        let n = wr.write(&b.outgoing[b.written..])?;
        b.written += n;
        if b.written == b.outgoing.len() {
            b.outgoing = Vec::new();
            b.written = 0;
        }
        Ok(n)
    }

    /// Ciphertext waiting to be written to the transport.
    pub(crate) fn outgoing_len(&self) -> usize {
        let buffers = lock(&self.shared);
        buffers.outgoing.len() - buffers.written
    }

    /// Ciphertext waiting to be read by the engine.
    pub(crate) fn incoming_len(&self) -> usize {
        let buffers = lock(&self.shared);
        buffers.end - buffers.start
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

impl Buffers {
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

impl fmt::Debug for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipe").finish_non_exhaustive()
    }
}

impl fmt::Debug for PipeEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let buffers = lock(&self.shared);
        f.debug_struct("PipeEnd")
            .field("incoming", &(buffers.end - buffers.start))
            .field("outgoing", &(buffers.outgoing.len() - buffers.written))
            .field("eof", &buffers.eof)
            .finish()
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
        assert_eq!(session.capacity(), 0, "drained");
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

    #[test]
    fn unread_bytes_survive_compaction_in_order() {
        let data: Vec<u8> = (0..3 * READ_CHUNK).map(|i| (i % 251) as u8).collect();
        let mut input = Trickle { data: &data, chunk: READ_CHUNK - 7 };
        let (mut engine, session) = pipe();
        let mut out = Vec::new();
        let mut buf = vec![0u8; 1000];
        // Read a little less than arrives each time, so unread bytes must move to the front.
        while out.len() < data.len() {
            let _ = session.fill_from(&mut input);
            while let Ok(n) = engine.read(&mut buf) {
                out.extend_from_slice(&buf[..n]);
                if session.incoming_len() < 5000 {
                    break;
                }
            }
        }
        assert!(out == data, "{} of {} bytes", out.len(), data.len());
        assert!(session.capacity() <= 2 * READ_CHUNK, "{}", session.capacity());
    }

    #[test]
    fn a_new_buffer_starts_small_and_grows_when_a_read_fills_it() {
        let (mut engine, session) = pipe();
        let data = vec![7u8; FIRST_READ + 2 * READ_CHUNK];
        let mut input = Trickle { data: &data, chunk: usize::MAX };
        let mut sink = vec![0u8; READ_CHUNK];
        assert_eq!(session.fill_from(&mut input).unwrap(), FIRST_READ);
        assert_eq!(engine.read(&mut sink).unwrap(), FIRST_READ);
        // Full reads: the transport may have more, so the buffer stays once it is empty.
        assert_eq!(session.capacity(), FIRST_READ);
        assert_eq!(session.fill_from(&mut input).unwrap(), READ_CHUNK);
        assert_eq!(engine.read(&mut sink).unwrap(), READ_CHUNK);
        assert_eq!(session.fill_from(&mut input).unwrap(), READ_CHUNK);
        assert_eq!(session.capacity(), READ_CHUNK, "an empty buffer is reused, not grown");
    }

    #[test]
    fn an_empty_buffer_is_released_when_the_transport_has_nothing_more() {
        let (mut engine, session) = pipe();
        let data = vec![7u8; FIRST_READ + READ_CHUNK];
        let mut input = Trickle { data: &data, chunk: usize::MAX };
        let mut sink = vec![0u8; READ_CHUNK];
        assert_eq!(session.fill_from(&mut input).unwrap(), FIRST_READ);
        assert_eq!(engine.read(&mut sink).unwrap(), FIRST_READ);
        assert_eq!(session.fill_from(&mut input).unwrap(), READ_CHUNK);

        // Unread bytes are kept through a `WouldBlock`; once read, the next one releases.
        assert_eq!(engine.read(&mut sink[..READ_CHUNK / 2]).unwrap(), READ_CHUNK / 2);
        let err = session.fill_from(&mut input).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert!(session.capacity() >= READ_CHUNK);
        assert_eq!(engine.read(&mut sink).unwrap(), READ_CHUNK / 2);
        assert!(session.capacity() >= READ_CHUNK);
        let _ = session.fill_from(&mut input).unwrap_err();
        assert_eq!(session.capacity(), 0);

        // End of file releases an empty buffer too.
        session.fill_from(&mut Trickle { data: &data, chunk: FIRST_READ }).unwrap();
        assert_eq!(engine.read(&mut sink).unwrap(), FIRST_READ);
        assert_eq!(session.capacity(), FIRST_READ);
        assert_eq!(session.fill_from(&mut &b""[..]).unwrap(), 0);
        assert_eq!(session.capacity(), 0);
    }

    #[test]
    fn after_a_short_read_the_buffer_is_released_once_it_is_read() {
        let (mut engine, session) = pipe();
        assert_eq!(session.fill_from(&mut &[1u8; 1000][..]).unwrap(), 1000);
        let mut sink = [0u8; 600];
        assert_eq!(engine.read(&mut sink).unwrap(), 600);
        assert_eq!(session.capacity(), FIRST_READ, "400 bytes are still unread");
        assert_eq!(engine.read(&mut sink).unwrap(), 400);
        assert_eq!(session.capacity(), 0);
    }
}
