//! Two connections over an in-memory network with a virtual clock and fault knobs, for tests
//! (after quinn-proto's `Pair`). Deterministic: no sockets, no threads, no wall clock.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::time::{Duration, Instant};

use super::{Action, Connection, Control, Event, Wait};

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
pub type PairHandler = Box<dyn FnMut(&Event, &mut Control<'_>)>;

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

    /// One round: each side carries out what its connection asks (moving bytes, delivering
    /// its events, shutting down its direction of the network) until it would wait, as a
    /// driver does. Returns whether anything happened.
    pub fn step(&mut self) -> bool {
        let now = self.now;
        let client = side(
            &mut self.client,
            &mut Duplex { rd: &mut self.to_client, wr: &mut self.to_server },
            &mut self.client_events,
            &mut self.client_handler,
            now,
        );
        let server = side(
            &mut self.server,
            &mut Duplex { rd: &mut self.to_server, wr: &mut self.to_client },
            &mut self.server_events,
            &mut self.server_handler,
            now,
        );
        client || server
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

/// One side's round: the connection's actions until it would wait (`Wait::Nothing`).
fn side(
    conn: &mut Connection,
    link: &mut Duplex<'_>,
    log: &mut Vec<Event>,
    handler: &mut Option<PairHandler>,
    now: Instant,
) -> bool {
    // The network may have changed since the last round (what a poller's wake-up says).
    conn.handle_woken();
    let mut progressed = false;
    // Bounded: a connection that keeps asking for work without moving anything is a bug the
    // test should see as `Stalled`, not a hang.
    for _ in 0..1000 {
        match conn.poll_action(Wait::Nothing, None, now) {
            Action::Done | Action::Fail(_) => break,
            Action::Deliver => {
                while let Some(event) = conn.poll_event() {
                    if let Some(h) = handler.as_mut() {
                        h(&event, &mut Control::new(conn));
                    }
                    log.push(event);
                }
                progressed = true;
            }
            Action::Transfer => progressed |= conn.pump(link, now),
            Action::ShutdownWrite => {
                link.wr.closed = true;
                conn.handle_write_shutdown(now);
                progressed = true;
            }
            Action::Close => {
                let farewell = conn.take_farewell();
                let _ = io::Write::write(&mut *link.wr, &farewell);
                link.wr.closed = true;
                conn.handle_closed();
                progressed = true;
            }
            // The pair's connections are adopted: nothing to resolve or connect; a wait is
            // the end of the round.
            Action::Resolve | Action::Connect { .. } | Action::Wait { .. } => break,
        }
    }
    progressed
}

/// One side's view of the network: reads from one link, writes to the other.
struct Duplex<'a> {
    rd: &'a mut Link,
    wr: &'a mut Link,
}

impl io::Read for Duplex<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.rd.read(buf)
    }
}

impl io::Write for Duplex<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.wr.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
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
