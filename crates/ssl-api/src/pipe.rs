//! Building blocks for backends whose engine runs over an in-memory `Read` / `Write`: the two
//! ciphertext buffers of a memory pipe. No I/O of their own.
//!
//! An engine that only speaks to an `io::Read + io::Write` stream (OpenSSL's `SslStream`,
//! native-tls) becomes sans-IO when that stream is a pair of buffers: the engine reads
//! ciphertext from an [`IncomingBuffer`], which answers `WouldBlock` when it is empty, and
//! writes ciphertext into an [`OutgoingBuffer`], which takes everything. The session moves
//! bytes between these buffers and the caller's reader and writer
//! ([`SslSession::read_tls`](crate::SslSession::read_tls) /
//! [`SslSession::write_tls`](crate::SslSession::write_tls)). How the buffers are held (owned
//! by the stream, or shared with the session) and what the engine sees at end of file is the
//! backend's part.
//!
//! Memory: both buffers hold nothing while the connection is idle. The incoming buffer is
//! dropped once it is empty and the transport has shown it has nothing more: its read returned
//! `WouldBlock` or end of file, or less than it was offered (a stream socket does that only
//! when its receive queue is drained). The outgoing buffer is dropped when the transport has
//! taken all of it. While data flows, the incoming buffer is one initialized block that the
//! transport reads into in place (zero-filled only when it grows, or is allocated while its
//! thread keeps no released one, never per read).
//!
//! ```
//! use std::io::{Read, Write};
//! use ssl_api::pipe::{IncomingBuffer, OutgoingBuffer};
//!
//! let mut incoming = IncomingBuffer::new(64 * 1024);
//! assert_eq!(incoming.fill_from(&mut &b"ciphertext"[..])?, 10);
//! let mut engine_input = [0u8; 16];
//! assert_eq!(incoming.read(&mut engine_input)?, 10); // what the engine sees
//! assert_eq!(incoming.capacity(), 0, "short read, all of it read: released");
//!
//! let mut outgoing = OutgoingBuffer::new(17 * 1024);
//! outgoing.write_all(b"record")?; // what the engine writes
//! let mut wire = Vec::new();
//! assert_eq!(outgoing.drain_to(&mut wire)?, 6);
//! assert_eq!(outgoing.capacity(), 0, "all taken: released");
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::io::{self, Read, Write};

/// At most this many ciphertext bytes are taken from the transport per
/// [`IncomingBuffer::fill_from`]: four maximal TLS records, so that a bulk transfer costs less
/// than one read call per record.
pub const READ_CHUNK: usize = 64 * 1024;

/// The room offered by the first read into a newly allocated incoming buffer: enough for the
/// messages of an interactive exchange, and cheap to zero-fill for each of them. A read that
/// fills it shows more is coming, and the next one gets [`READ_CHUNK`].
const FIRST_READ: usize = 4 * 1024;

/// The least room a read is offered once the buffer is in use: one maximal TLS record (16 KiB
/// of plaintext with its header and expansion), so that a record never takes two reads for
/// want of room.
const MIN_ROOM: usize = 18 * 1024;

/// The largest released incoming buffer kept for the thread's next one: a buffer that never
/// grew past its first read (what handshakes and interactive exchanges use).
const SPARE_MAX: usize = FIRST_READ;

thread_local! {
    /// The storage of the last incoming buffer released on this thread (up to `SPARE_MAX` bytes),
    /// initialized, for the next buffer allocated here. A handshake releases its buffer on
    /// every read that finds the transport empty and allocates it again on the next read:
    /// zero-filling a new 4 KiB block for each cost more than the records read into it.
    static SPARE: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Why a session's `read_tls` refused to read: its buffer already holds as much unprocessed
/// ciphertext as it takes ([`IncomingBuffer::fill_from`] while [`IncomingBuffer::is_full`];
/// the rustls backend reports its engine's own refusal the same way). Process what it holds
/// first.
///
/// It always travels inside an `io::Error` of kind [`io::ErrorKind::OutOfMemory`]: a bounded
/// local resource is exhausted, which a socket reports as `SocketResourceError`, on every
/// backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, thiserror::Error)]
#[error("the incoming ciphertext buffer is full (process what it holds first)")]
pub struct IncomingFull;

impl IncomingFull {
    /// Whether `err` is this refusal.
    #[must_use]
    pub fn is(err: &io::Error) -> bool {
        err.kind() == io::ErrorKind::OutOfMemory
            && err.get_ref().is_some_and(|inner| inner.is::<IncomingFull>())
    }
}

impl From<IncomingFull> for io::Error {
    fn from(full: IncomingFull) -> io::Error {
        io::Error::new(io::ErrorKind::OutOfMemory, full)
    }
}

/// Ciphertext from the transport, waiting for the engine to read it.
///
/// The session fills it with [`IncomingBuffer::fill_from`]; the engine reads it through its
/// [`Read`] impl, which returns `WouldBlock` when it is empty and never end of file (a backend
/// that must show the engine the end of the transport checks [`IncomingBuffer::is_eof`]
/// first).
pub struct IncomingBuffer {
    /// Initialized storage: `buf[start..end]` is not yet read by the engine, `buf[end..]` is
    /// room for the next read.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// The transport's last read returned less than it was offered: once the engine has read
    /// everything, the buffer is released.
    drained: bool,
    /// The transport reported end of file.
    eof: bool,
    /// Unread bytes from which on [`IncomingBuffer::is_full`] holds.
    limit: usize,
}

impl IncomingBuffer {
    /// An empty buffer, holding no memory, that counts as full once `limit` unread bytes wait.
    #[must_use]
    pub const fn new(limit: usize) -> IncomingBuffer {
        IncomingBuffer { buf: Vec::new(), start: 0, end: 0, drained: false, eof: false, limit }
    }

    /// Reads once from the transport `rd` straight into the buffer (one copy, at most
    /// [`READ_CHUNK`] bytes; 4 KiB into a newly allocated buffer). `Ok(0)` marks the end of the
    /// transport ([`IncomingBuffer::is_eof`]). When the buffer is empty and `rd` has nothing
    /// (`WouldBlock`, end of file), its memory is released; after a short read, it is released
    /// as soon as the engine has read everything.
    ///
    /// # Errors
    /// [`IncomingFull`] (inside an `io::Error`, see there), without reading, while
    /// [`IncomingBuffer::is_full`]; otherwise the reader's error, unchanged.
    pub fn fill_from(&mut self, rd: &mut dyn Read) -> io::Result<usize> {
        if self.is_full() {
            return Err(IncomingFull.into());
        }
        self.make_room();
        let room = self.buf.len().min(self.end + READ_CHUNK);
        let result = rd.read(&mut self.buf[self.end..room]);
        match &result {
            Ok(0) => {
                self.eof = true;
                self.release_if_empty();
            }
            Ok(n) => {
                self.end += n;
                self.drained = self.end < room;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.release_if_empty(),
            Err(_) => {}
        }
        result
    }

    /// Ciphertext waiting to be read by the engine.
    #[must_use]
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether no ciphertext waits.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Whether the limit given to [`IncomingBuffer::new`] is reached.
    #[must_use]
    pub fn is_full(&self) -> bool {
        self.len() >= self.limit
    }

    /// Whether the transport reported end of file (a read of [`IncomingBuffer::fill_from`]
    /// returned `Ok(0)`).
    #[must_use]
    pub fn is_eof(&self) -> bool {
        self.eof
    }

    /// Bytes of memory the buffer holds (for tests of the release policy).
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
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
        let fresh = self.buf.is_empty();
        if fresh {
            // Initialized already: its first `FIRST_READ` bytes need no zero-filling.
            let mut spare = SPARE.try_with(std::cell::Cell::take).unwrap_or_default();
            spare.truncate(FIRST_READ);
            self.buf = spare;
        }
        let full = if fresh { FIRST_READ } else { READ_CHUNK };
        if self.buf.len() - self.end < full && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < full.min(MIN_ROOM) {
            let needed = self.end + full;
            // Exactly what is needed: `resize` alone would double the allocation.
            self.buf.reserve_exact(needed - self.buf.len());
            self.buf.resize(needed, 0);
        }
    }

    fn release_if_empty(&mut self) {
        if self.start == self.end {
            let buf = std::mem::take(&mut self.buf);
            if buf.capacity() <= SPARE_MAX {
                let _ = SPARE.try_with(|spare| spare.set(buf));
            }
            self.start = 0;
            self.end = 0;
            self.drained = false;
        }
    }
}

/// The engine's side: buffered ciphertext; `WouldBlock` when there is none, also after end of
/// file.
impl Read for IncomingBuffer {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = &self.buf[self.start..self.end];
        if available.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.start += n;
        if self.drained {
            self.release_if_empty();
        }
        Ok(n)
    }
}

/// Shows sizes only, never buffered data.
impl fmt::Debug for IncomingBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncomingBuffer")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("eof", &self.eof)
            .finish_non_exhaustive()
    }
}

/// Ciphertext written by the engine, waiting for the transport to take it.
///
/// The engine writes through its [`Write`] impl, which takes everything (the session bounds
/// how much plaintext it has the engine encrypt per call, so this stays bounded too); the
/// session hands it to the transport with [`OutgoingBuffer::drain_to`] or
/// [`OutgoingBuffer::write_once_to`].
pub struct OutgoingBuffer {
    /// The transport has taken `buf[..written]`.
    buf: Vec<u8>,
    written: usize,
    /// Room reserved when the buffer is allocated again.
    reserve: usize,
}

impl OutgoingBuffer {
    /// An empty buffer, holding no memory, that reserves `reserve` bytes (or what the first
    /// write needs, if more) whenever it is allocated again: what the engine writes for one
    /// `write_plaintext` at most, so that a write fills one allocation.
    #[must_use]
    pub const fn new(reserve: usize) -> OutgoingBuffer {
        OutgoingBuffer { buf: Vec::new(), written: 0, reserve }
    }

    /// Offers the pending ciphertext to `wr` until it has taken everything, takes nothing
    /// (`Ok(0)`) or fails; `Interrupted` is retried. What `wr` does not take stays buffered.
    /// Once everything is written, the buffer's memory is released.
    ///
    /// # Errors
    /// The writer's error (`WouldBlock` included) when it took nothing; after a partial
    /// write the error is left for the next call.
    pub fn drain_to(&mut self, wr: &mut dyn Write) -> io::Result<usize> {
        let mut total = 0;
        while self.written < self.buf.len() {
            match wr.write(&self.buf[self.written..]) {
                Ok(0) => break,
                Ok(n) => {
                    self.written += n;
                    total += n;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if total == 0 => return Err(e),
                Err(_) => break, // what was written counts; the error comes back next call
            }
        }
        self.release_if_drained();
        Ok(total)
    }

    /// Offers the pending ciphertext to `wr` with one `write` call, unless none is pending
    /// (`Ok(0)` without a call). What `wr` does not take stays buffered. Once everything is
    /// written, the buffer's memory is released.
    ///
    /// # Errors
    /// The writer's error, unchanged.
    pub fn write_once_to(&mut self, wr: &mut dyn Write) -> io::Result<usize> {
        if self.is_empty() {
            return Ok(0);
        }
        let n = wr.write(&self.buf[self.written..])?;
        self.written += n;
        self.release_if_drained();
        Ok(n)
    }

    /// Ciphertext waiting to be written to the transport.
    #[must_use]
    pub fn len(&self) -> usize {
        self.buf.len() - self.written
    }

    /// Whether no ciphertext waits.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.written == self.buf.len()
    }

    /// Bytes of memory the buffer holds (for tests of the release policy).
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    fn release_if_drained(&mut self) {
        if self.is_empty() {
            self.buf = Vec::new();
            self.written = 0;
        }
    }
}

/// The engine's side: takes everything.
impl Write for OutgoingBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.buf.capacity() == 0 {
            self.buf.reserve(buf.len().max(self.reserve));
        }
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Shows sizes only, never buffered data.
impl fmt::Debug for OutgoingBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingBuffer")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// OpenSSL's outgoing reserve: 64 KiB of plaintext in four records and their overhead.
    const RESERVE: usize = 66 * 1024;

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

    /// Takes at most three bytes per write.
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

    fn incoming() -> IncomingBuffer {
        IncomingBuffer::new(4 * READ_CHUNK)
    }

    #[test]
    fn the_engine_reads_what_arrived_then_would_block_even_after_end_of_file() {
        let mut incoming = incoming();
        let mut buf = [0u8; 4];
        assert_eq!(incoming.read(&mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        incoming.fill_from(&mut &b"ab"[..]).unwrap();
        assert_eq!(incoming.read(&mut buf).unwrap(), 2);
        assert_eq!(incoming.fill_from(&mut &b""[..]).unwrap(), 0);
        assert!(incoming.is_eof());
        assert_eq!(incoming.read(&mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn bytes_pass_through_in_order_and_partial_writes_keep_the_rest() {
        let mut incoming = incoming();
        let mut input: &[u8] = b"abcdef";
        assert_eq!(incoming.fill_from(&mut input).unwrap(), 6);
        let mut buf = [0u8; 4];
        assert_eq!(incoming.read(&mut buf).unwrap(), 4);
        assert_eq!(&buf, b"abcd");

        let mut outgoing = OutgoingBuffer::new(RESERVE);
        outgoing.write_all(b"0123456789").unwrap();
        let mut small = [0u8; 3];
        let mut slot: &mut [u8] = &mut small;
        assert_eq!(outgoing.drain_to(&mut slot).unwrap(), 3);
        assert_eq!(&small, b"012");
        assert_eq!(outgoing.len(), 7);
        let mut rest = Vec::new();
        assert_eq!(outgoing.drain_to(&mut rest).unwrap(), 7);
        assert_eq!(rest, b"3456789");
        assert_eq!(outgoing.len(), 0);
    }

    #[test]
    fn one_write_call_leaves_what_the_writer_does_not_take_buffered() {
        let mut outgoing = OutgoingBuffer::new(17 * 1024);
        outgoing.write_all(b"hello").unwrap();
        let mut wire = Three(Vec::new());
        assert_eq!(outgoing.write_once_to(&mut wire).unwrap(), 3);
        assert_eq!(outgoing.len(), 2);
        assert_eq!(outgoing.write_once_to(&mut wire).unwrap(), 2);
        assert_eq!(wire.0, b"hello");
        assert_eq!(outgoing.capacity(), 0, "drained");
        assert_eq!(outgoing.write_once_to(&mut wire).unwrap(), 0);
    }

    #[test]
    fn a_written_buffer_is_released_once_drained() {
        let mut outgoing = OutgoingBuffer::new(RESERVE);
        outgoing.write_all(&[2u8; 1000]).unwrap();
        assert!(outgoing.capacity() >= RESERVE);
        let mut wire = [0u8; 600];
        assert_eq!(outgoing.drain_to(&mut &mut wire[..]).unwrap(), 600);
        assert!(outgoing.capacity() > 0);
        assert_eq!(outgoing.drain_to(&mut Vec::new()).unwrap(), 400);
        assert_eq!(outgoing.capacity(), 0);
    }

    #[test]
    fn a_buffer_is_full_at_its_limit() {
        let mut incoming = IncomingBuffer::new(64 * 1024);
        let big = vec![0u8; 64 * 1024];
        let mut input = big.as_slice();
        while !input.is_empty() {
            assert!(!incoming.is_full());
            incoming.fill_from(&mut input).unwrap();
        }
        assert!(incoming.is_full());
        let err = incoming.fill_from(&mut &b"x"[..]).unwrap_err();
        assert!(IncomingFull::is(&err), "{err:?}");
        assert_eq!(
            crate::SocketErrorKind::from_io(err.kind()),
            crate::SocketErrorKind::SocketResourceError
        );
        assert_eq!(incoming.len(), 64 * 1024, "nothing more was read");
    }

    #[test]
    fn unread_bytes_survive_compaction_in_order() {
        let data: Vec<u8> = (0..3 * READ_CHUNK).map(|i| (i % 251) as u8).collect();
        let mut input = Trickle { data: &data, chunk: READ_CHUNK - 7 };
        let mut incoming = incoming();
        let mut out = Vec::new();
        let mut buf = vec![0u8; 1000];
        // Read a little less than arrives each time, so unread bytes must move to the front.
        while out.len() < data.len() {
            let _ = incoming.fill_from(&mut input);
            while let Ok(n) = incoming.read(&mut buf) {
                out.extend_from_slice(&buf[..n]);
                if incoming.len() < 5000 {
                    break;
                }
            }
        }
        assert!(out == data, "{} of {} bytes", out.len(), data.len());
        assert!(incoming.capacity() <= 2 * READ_CHUNK, "{}", incoming.capacity());
    }

    #[test]
    fn a_new_buffer_starts_small_and_grows_when_a_read_fills_it() {
        let mut incoming = incoming();
        let data = vec![7u8; FIRST_READ + 2 * READ_CHUNK];
        let mut input = Trickle { data: &data, chunk: usize::MAX };
        let mut sink = vec![0u8; READ_CHUNK];
        assert_eq!(incoming.fill_from(&mut input).unwrap(), FIRST_READ);
        assert_eq!(incoming.read(&mut sink).unwrap(), FIRST_READ);
        // Full reads: the transport may have more, so the buffer stays once it is empty.
        assert_eq!(incoming.capacity(), FIRST_READ);
        assert_eq!(incoming.fill_from(&mut input).unwrap(), READ_CHUNK);
        assert_eq!(incoming.read(&mut sink).unwrap(), READ_CHUNK);
        assert_eq!(incoming.fill_from(&mut input).unwrap(), READ_CHUNK);
        assert_eq!(incoming.capacity(), READ_CHUNK, "an empty buffer is reused, not grown");
    }

    #[test]
    fn an_empty_buffer_is_released_when_the_transport_has_nothing_more() {
        let mut incoming = incoming();
        let data = vec![7u8; FIRST_READ + READ_CHUNK];
        let mut input = Trickle { data: &data, chunk: usize::MAX };
        let mut sink = vec![0u8; READ_CHUNK];
        assert_eq!(incoming.fill_from(&mut input).unwrap(), FIRST_READ);
        assert_eq!(incoming.read(&mut sink).unwrap(), FIRST_READ);
        assert_eq!(incoming.fill_from(&mut input).unwrap(), READ_CHUNK);

        // Unread bytes are kept through a `WouldBlock`; once read, the next one releases.
        assert_eq!(incoming.read(&mut sink[..READ_CHUNK / 2]).unwrap(), READ_CHUNK / 2);
        let err = incoming.fill_from(&mut input).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert!(incoming.capacity() >= READ_CHUNK);
        assert_eq!(incoming.read(&mut sink).unwrap(), READ_CHUNK / 2);
        assert!(incoming.capacity() >= READ_CHUNK);
        let _ = incoming.fill_from(&mut input).unwrap_err();
        assert_eq!(incoming.capacity(), 0);

        // End of file releases an empty buffer too.
        incoming.fill_from(&mut Trickle { data: &data, chunk: FIRST_READ }).unwrap();
        assert_eq!(incoming.read(&mut sink).unwrap(), FIRST_READ);
        assert_eq!(incoming.capacity(), FIRST_READ);
        assert_eq!(incoming.fill_from(&mut &b""[..]).unwrap(), 0);
        assert_eq!(incoming.capacity(), 0);
    }

    #[test]
    fn after_a_short_read_the_buffer_is_released_once_it_is_read() {
        let mut incoming = incoming();
        assert_eq!(incoming.fill_from(&mut &[1u8; 1000][..]).unwrap(), 1000);
        let mut sink = [0u8; 600];
        assert_eq!(incoming.read(&mut sink).unwrap(), 600);
        assert_eq!(incoming.capacity(), FIRST_READ, "400 bytes are still unread");
        assert_eq!(incoming.read(&mut sink).unwrap(), 400);
        assert_eq!(incoming.capacity(), 0);
    }
}
