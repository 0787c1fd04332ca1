//! Two connections over an in-memory network with a virtual clock and fault knobs, for tests
//! (after quinn-proto's `Pair`). Deterministic: no sockets, no threads, no wall clock.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::time::{Duration, Instant};

use super::{Connection, Event};

/// One direction of the in-memory network.
#[derive(Debug, Default)]
pub struct Link {
    in_flight: VecDeque<u8>,
    /// Every byte ever written into this direction, for inspection.
    pub wire: Vec<u8>,
    /// The writer has closed this direction: the reader sees end of file once it is drained.
    pub closed: bool,
    /// At most this many bytes per read (1 delivers byte by byte); 0 is no limit.
    pub chunk: usize,
    /// At most this many bytes in flight before writes block; 0 is no limit.
    pub capacity: usize,
}

impl Link {
    /// Bytes written and not yet read.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Replaces the byte at `offset` among those in flight with `f(byte)` (corruption).
    pub fn corrupt(&mut self, offset: usize, f: impl FnOnce(u8) -> u8) {
        if let Some(b) = self.in_flight.get_mut(offset) {
            *b = f(*b);
        }
    }

    /// Discards everything in flight (a dropped segment).
    pub fn drop_in_flight(&mut self) {
        self.in_flight.clear();
    }

    /// Puts raw bytes on the link as if the other side had sent them.
    pub fn inject(&mut self, bytes: &[u8]) {
        self.in_flight.extend(bytes);
        self.wire.extend_from_slice(bytes);
    }
}

impl io::Write for Link {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let room = if self.capacity == 0 {
            buf.len()
        } else {
            self.capacity.saturating_sub(self.in_flight.len())
        };
        let n = room.min(buf.len());
        if n == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.in_flight.extend(&buf[..n]);
        self.wire.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl io::Read for Link {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.in_flight.is_empty() {
            return if self.closed { Ok(0) } else { Err(io::ErrorKind::WouldBlock.into()) };
        }
        let limit = if self.chunk == 0 { buf.len() } else { self.chunk.min(buf.len()) };
        let n = limit.min(self.in_flight.len());
        for (slot, byte) in buf[..n].iter_mut().zip(self.in_flight.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }
}

/// An event handler for one side of a pair.
pub type PairHandler = Box<dyn FnMut(&Event, &mut Connection)>;

/// A client and a server connection joined by two [`Link`]s.
pub struct Pair {
    /// The client side.
    pub client: Connection,
    /// The server side.
    pub server: Connection,
    /// Client → server.
    pub to_server: Link,
    /// Server → client.
    pub to_client: Link,
    /// The virtual clock.
    pub now: Instant,
    /// Every event the client emitted, in order.
    pub client_events: Vec<Event>,
    /// Every event the server emitted, in order.
    pub server_events: Vec<Event>,
    /// Called on each client event (e.g. to ignore errors or abort from a handler).
    pub client_handler: Option<PairHandler>,
    /// Called on each server event.
    pub server_handler: Option<PairHandler>,
}

/// The pair stopped making progress, or ran out of steps, before the condition held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stalled {
    /// Steps taken.
    pub steps: usize,
    /// Whether it ran out of steps (rather than going quiet).
    pub out_of_steps: bool,
}

impl fmt::Display for Stalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.out_of_steps {
            write!(f, "still busy after {} steps", self.steps)
        } else {
            write!(f, "stalled after {} steps", self.steps)
        }
    }
}

impl std::error::Error for Stalled {}

impl Pair {
    /// Joins two connections that are both in ConnectedState (adopted transports).
    #[must_use]
    pub fn new(mut client: Connection, mut server: Connection, now: Instant) -> Pair {
        client.handle_adopted();
        server.handle_adopted();
        Pair {
            client,
            server,
            to_server: Link::default(),
            to_client: Link::default(),
            now,
            client_events: Vec::new(),
            server_events: Vec::new(),
            client_handler: None,
            server_handler: None,
        }
    }

    /// Sets the per-read chunk size in both directions.
    pub fn set_chunk(&mut self, chunk: usize) {
        self.to_server.chunk = chunk;
        self.to_client.chunk = chunk;
    }

    /// Moves the virtual clock and lets both sides see it.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
    }

    /// One round: each side writes, reads and delivers its events. Returns whether anything
    /// happened.
    pub fn step(&mut self) -> bool {
        let now = self.now;
        let mut progressed = false;
        progressed |= side(&mut self.client, &mut self.to_server, &mut self.to_client, now);
        progressed |= side(&mut self.server, &mut self.to_client, &mut self.to_server, now);
        progressed |= deliver(&mut self.client, &mut self.client_events, &mut self.client_handler);
        progressed |= deliver(&mut self.server, &mut self.server_events, &mut self.server_handler);
        if self.client.poll_close() {
            self.to_server.closed = true;
            progressed = true;
        }
        if self.server.poll_close() {
            self.to_client.closed = true;
            progressed = true;
        }
        progressed
    }

    /// Steps until `done` holds.
    ///
    /// # Errors
    /// [`Stalled`] when nothing happens any more, or after `max_steps`, without `done` — so a
    /// broken test fails instead of hanging.
    pub fn drive_until(
        &mut self,
        max_steps: usize,
        mut done: impl FnMut(&mut Pair) -> bool,
    ) -> Result<(), Stalled> {
        for steps in 0..max_steps {
            if done(self) {
                return Ok(());
            }
            if !self.step() && !done(self) {
                return Err(Stalled { steps, out_of_steps: false });
            }
        }
        if done(self) {
            Ok(())
        } else {
            Err(Stalled { steps: max_steps, out_of_steps: true })
        }
    }

    /// Steps until nothing happens any more.
    ///
    /// # Errors
    /// [`Stalled`] with `out_of_steps` when still busy after `max_steps`.
    pub fn drive_bounded(&mut self, max_steps: usize) -> Result<(), Stalled> {
        for _ in 0..max_steps {
            if !self.step() {
                return Ok(());
            }
        }
        Err(Stalled { steps: max_steps, out_of_steps: true })
    }
}

fn side(conn: &mut Connection, out: &mut Link, inbound: &mut Link, now: Instant) -> bool {
    let mut progressed = false;
    conn.buffer_plaintext(); // as `Connection::pump` does
    while conn.wants_write() {
        match conn.poll_transmit(out) {
            Ok(n) if n > 0 => progressed = true,
            _ => break,
        }
    }
    while conn.wants_read() {
        match conn.handle_readable(inbound, now) {
            Ok(0) => {
                progressed = true;
                break;
            }
            Ok(_) => progressed = true,
            Err(_) => break,
        }
    }
    progressed
}

fn deliver(conn: &mut Connection, log: &mut Vec<Event>, handler: &mut Option<PairHandler>) -> bool {
    let mut any = false;
    while let Some(event) = conn.poll_event() {
        any = true;
        if let Some(h) = handler.as_mut() {
            h(&event, conn);
        }
        log.push(event);
    }
    any
}

impl fmt::Debug for Pair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pair")
            .field("client", &self.client.state())
            .field("server", &self.server.state())
            .field("to_server_in_flight", &self.to_server.in_flight())
            .field("to_client_in_flight", &self.to_client.in_flight())
            .finish_non_exhaustive()
    }
}
