//! A non-blocking TCP stream with a readiness wait: the blocking driver's transport.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

const STREAM: Token = Token(0);

/// A mio TCP stream registered (edge-triggered) for reading and writing with its own poller.
///
/// Edge-triggered readiness is safe because the driver only waits after an attempt in the
/// wanted direction returned `WouldBlock`.
#[derive(Debug)]
pub(crate) struct Transport {
    pub(crate) stream: TcpStream,
    poll: Poll,
    events: Events,
}

impl Transport {
    pub(crate) fn new(mut stream: TcpStream) -> io::Result<Transport> {
        let poll = Poll::new()?;
        poll.registry().register(&mut stream, STREAM, Interest::READABLE | Interest::WRITABLE)?;
        Ok(Transport { stream, poll, events: Events::with_capacity(4) })
    }

    /// Starts a non-blocking connect to `addr`.
    pub(crate) fn connect(addr: SocketAddr) -> io::Result<Transport> {
        Transport::new(TcpStream::connect(addr)?)
    }

    /// Adopts a connected std stream.
    pub(crate) fn adopt(stream: std::net::TcpStream) -> io::Result<Transport> {
        stream.set_nonblocking(true)?;
        // Handshake flights and small answers go out at once (Nagle would hold a server's
        // reply behind its unacknowledged session tickets), as on connected client streams.
        stream.set_nodelay(true)?;
        Transport::new(TcpStream::from_std(stream))
    }

    /// Whether a pending connect finished: `Ok(true)` connected, `Ok(false)` still going.
    ///
    /// # Errors
    /// The connect's failure.
    pub(crate) fn connect_finished(&self) -> io::Result<bool> {
        if let Some(err) = self.stream.take_error()? {
            return Err(err);
        }
        match self.stream.peer_addr() {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Waits until the stream may be ready or `timeout` passes. Spurious wake-ups happen; the
    /// caller simply tries again.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        match self.poll.poll(&mut self.events, timeout) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            other => other,
        }
    }

    pub(crate) fn shutdown(&self) {
        // The peer may have gone already; nothing to do about an error here.
        let _ = self.stream.shutdown(Shutdown::Write);
    }
}
