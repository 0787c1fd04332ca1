//! The plaintext read buffer: a byte queue with peek, unget and line search.

use std::collections::VecDeque;

/// Capacity the read buffer keeps when it empties.
const KEEP_CAPACITY: usize = 256 * 1024;

/// The most bytes one [`ReadBuffer::fill_from`] takes.
const SCRATCH_LEN: usize = 16 * 1024;

thread_local! {
    /// Where [`ReadBuffer::fill_from`] reads before appending, zeroed once per thread.
    static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Bytes received and not yet read by the application.
#[derive(Debug, Default)]
pub(crate) struct ReadBuffer {
    bytes: VecDeque<u8>,
}

impl ReadBuffer {
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Appends bytes (the target's first bytes that came with a proxy's reply).
    pub(crate) fn extend(&mut self, data: &[u8]) {
        self.bytes.extend(data);
    }

    /// Copies up to `out.len()` bytes out, consuming them.
    pub(crate) fn read(&mut self, out: &mut [u8]) -> usize {
        let n = self.peek(out);
        self.bytes.drain(..n);
        if self.bytes.is_empty() && self.bytes.capacity() > KEEP_CAPACITY {
            // Release the memory of a burst once it has been read, but keep a working
            // buffer: freeing and refaulting it on every read costs more than the copy.
            self.bytes.shrink_to(KEEP_CAPACITY);
        }
        n
    }

    /// Copies up to `out.len()` bytes out without consuming them.
    pub(crate) fn peek(&self, out: &mut [u8]) -> usize {
        let (a, b) = self.bytes.as_slices();
        let n = out.len().min(self.bytes.len());
        let from_a = n.min(a.len());
        out[..from_a].copy_from_slice(&a[..from_a]);
        out[from_a..n].copy_from_slice(&b[..n - from_a]);
        n
    }

    pub(crate) fn unget(&mut self, byte: u8) {
        self.bytes.push_front(byte);
    }

    /// The length of the first line including its `\n`, if a whole line is buffered.
    pub(crate) fn line_len(&self) -> Option<usize> {
        self.bytes.iter().position(|&b| b == b'\n').map(|i| i + 1)
    }

    pub(crate) fn clear(&mut self) {
        self.bytes = VecDeque::new();
    }

    /// Removes and returns everything (for STARTTLS: unread bytes are the peer's first TLS
    /// bytes).
    pub(crate) fn take_all(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes).into()
    }

    /// Appends up to `max` bytes produced by `fill`, which writes into a scratch slice and
    /// returns how many it wrote.
    pub(crate) fn fill_from(
        &mut self,
        max: usize,
        fill: &mut dyn FnMut(&mut [u8]) -> std::io::Result<usize>,
    ) -> std::io::Result<usize> {
        // Most calls find nothing to read (the engine is asked before every wait, a dozen
        // times per handshake): a scratch zeroed per call cost 16 KiB of stores each time.
        // The thread's scratch is zeroed once; a nested call, or one while the thread's
        // storage is torn down, zeroes one of its own.
        let mut scratch = SCRATCH.try_with(std::cell::Cell::take).unwrap_or_default();
        if scratch.is_empty() {
            scratch.resize(SCRATCH_LEN, 0);
        }
        let want = max.min(scratch.len());
        let result = fill(&mut scratch[..want]);
        if let Ok(n) = result {
            self.bytes.extend(&scratch[..n]);
        }
        let _ = SCRATCH.try_with(|cell| cell.set(scratch));
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peek_read_unget_and_lines_agree() {
        let mut buf = ReadBuffer::default();
        buf.extend(b"ab\ncd");
        assert_eq!(buf.line_len(), Some(3));
        let mut out = [0u8; 2];
        assert_eq!(buf.peek(&mut out), 2);
        assert_eq!(&out, b"ab");
        assert_eq!(buf.read(&mut out), 2);
        buf.unget(b'b');
        let mut rest = [0u8; 8];
        let n = buf.read(&mut rest);
        assert_eq!(&rest[..n], b"b\ncd");
        assert!(buf.is_empty());
        assert_eq!(buf.line_len(), None);
    }
}
