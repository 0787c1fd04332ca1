//! A non-blocking TCP stream with a readiness wait: the blocking driver's transport.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use mio::event::Event;
use mio::net::TcpStream;
#[cfg(not(unix))]
use mio::{Events, Poll};
use mio::{Interest, Registry, Token};

#[cfg(not(unix))]
const STREAM: Token = Token(0);

/// A non-blocking mio TCP stream and its readiness. The socket waits with poll(2) on Unix
/// (one system call per wait, nothing to set up per socket) and with a mio poller of its own,
/// made at the first wait, elsewhere; a server's handshakes are driven by the acceptor's
/// poller instead (see [`Transport::register`]).
///
/// `Transport`'s own `Read`/`Write` skip the system call that would only say `WouldBlock`
/// after a short read or write: a stream socket's read returns less than asked only when it
/// has drained the receive queue (a write: when the send buffer is full). That is safe with
/// level-triggered poll(2), and with the edge-triggered pollers too: whatever arrives (or
/// frees up) after that raises a new edge; the end of stream raises its edge once, so after a
/// poller has reported it reads go on until they return it.
#[derive(Debug)]
pub(crate) struct Transport {
    pub(crate) stream: TcpStream,
    /// The poller made at the first wait (Unix waits with poll(2) instead).
    #[cfg(not(unix))]
    poll: Option<(Poll, Events)>,
    /// The last read did not show the receive queue drained (or readiness was signalled).
    readable: bool,
    /// The last write did not show the send buffer full (or readiness was signalled).
    writable: bool,
    /// The poller reported the peer's end of stream or an error: its edge is spent, so reads
    /// are attempted until they return it, short or not.
    read_closed: bool,
    /// What the waits for a connect in progress saw (see [`Transport::connect_finished`]).
    #[cfg(unix)]
    connect_poll: ConnectPoll,
}

/// What poll(2) said about a socket whose connect is in progress.
#[cfg(unix)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnectPoll {
    /// Not polled yet, or nothing to report.
    NotYet,
    /// Writable, without an error or a hang-up: connected.
    Writable,
    /// An error or a hang-up.
    Failed,
}

impl Transport {
    pub(crate) fn new(stream: TcpStream) -> io::Result<Transport> {
        Ok(Transport {
            stream,
            #[cfg(not(unix))]
            poll: None,
            readable: true,
            writable: true,
            read_closed: false,
            #[cfg(unix)]
            connect_poll: ConnectPoll::NotYet,
        })
    }

    /// Starts a non-blocking connect of `socket` (made by `Net::socket_for`) to `addr`.
    pub(crate) fn connect(socket: socket2::Socket, addr: SocketAddr) -> io::Result<Transport> {
        crate::net::Net::start_connect(&socket, addr)?;
        let mut transport = Transport::new(TcpStream::from_std(socket.into()))?;
        // A new connection has nothing to read before its first wait, which poll(2), level-
        // triggered, answers at once when something came: reading first would only return
        // WouldBlock (the read after the ClientHello, on every TLS client). The edge-triggered
        // pollers elsewhere report readiness that predates a registration too, but that is
        // not promised everywhere: there the first read is still tried.
        #[cfg(unix)]
        {
            transport.readable = false;
        }
        Ok(transport)
    }

    /// Whether a pending connect finished: `Ok(true)` connected, `Ok(false)` still going.
    ///
    /// # Errors
    /// The connect's failure.
    pub(crate) fn connect_finished(&self) -> io::Result<bool> {
        // On Unix the waits answer without asking the socket (SO_ERROR, then getpeername: two
        // system calls per connect): a connect is over when poll(2) reports the socket
        // writable, connected unless it also reports an error or a hang-up, as std's
        // `connect_timeout` takes it. Before the first wait the answer is "not yet": that wait
        // is one poll(2), which returns at once when the connect is over already.
        #[cfg(unix)]
        match self.connect_poll {
            ConnectPoll::NotYet => return Ok(false),
            ConnectPoll::Writable => return Ok(true),
            ConnectPoll::Failed => {}
        }
        if let Some(err) = self.stream.take_error()? {
            return Err(err);
        }
        match self.stream.peer_addr() {
            Ok(_) => Ok(true),
            // poll(2) reported the failure: it has no reason left (taken by someone else), but
            // a wait would only report it again.
            #[cfg(unix)]
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                "the connect failed without an error code",
            )),
            #[cfg(not(unix))]
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Waits until the stream may be ready for what is wanted, or `timeout` passes.
    /// Spurious wake-ups happen; the caller simply tries again.
    #[cfg(unix)]
    pub(crate) fn wait(
        &mut self,
        timeout: Option<Duration>,
        want_read: bool,
        want_write: bool,
    ) -> io::Result<()> {
        use rustix::event::{PollFd, PollFlags, Timespec};
        let mut flags = PollFlags::empty();
        if want_read {
            flags |= PollFlags::IN;
        }
        if want_write {
            flags |= PollFlags::OUT;
        }
        // At most a day per wait (some systems refuse longer ones); the caller waits again.
        let timeout = timeout.map(|t| t.min(Duration::from_secs(24 * 3600))).map(|t| Timespec {
            tv_sec: t.as_secs().try_into().unwrap_or(0),
            tv_nsec: t.subsec_nanos().into(),
        });
        let mut fds = [PollFd::new(&self.stream, flags)];
        match rustix::event::poll(&mut fds, timeout.as_ref()) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        let got = fds[0].revents();
        let closed = got.intersects(PollFlags::HUP | PollFlags::ERR);
        if closed {
            self.connect_poll = ConnectPoll::Failed;
        } else if got.contains(PollFlags::OUT) {
            self.connect_poll = ConnectPoll::Writable;
        }
        self.note(got.contains(PollFlags::IN), got.contains(PollFlags::OUT), closed);
        Ok(())
    }

    /// Waits until the stream may be ready or `timeout` passes. Spurious wake-ups happen; the
    /// caller simply tries again.
    #[cfg(not(unix))]
    pub(crate) fn wait(
        &mut self,
        timeout: Option<Duration>,
        _want_read: bool,
        _want_write: bool,
    ) -> io::Result<()> {
        if self.poll.is_none() {
            let poll = Poll::new()?;
            self.register(poll.registry(), STREAM)?;
            self.poll = Some((poll, Events::with_capacity(4)));
        }
        let Some((poll, events)) = self.poll.as_mut() else { return Ok(()) };
        match poll.poll(events, timeout) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(e),
            Ok(()) => {
                let (mut readable, mut writable, mut closed) = (false, false, false);
                for event in events.iter() {
                    let (r, w, c) = readiness(event);
                    (readable, writable, closed) = (readable || r, writable || w, closed || c);
                }
                self.note(readable, writable, closed);
                Ok(())
            }
        }
    }

    /// Registers the stream with another poller (the server's acceptor drives handshakes
    /// this way); [`Transport::note_event`] then takes its events. Only for a transport
    /// that has not waited yet.
    pub(crate) fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(&mut self.stream, token, Interest::READABLE | Interest::WRITABLE)
    }

    /// Undoes [`Transport::register`]; the transport makes its own poller at its next wait.
    pub(crate) fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        registry.deregister(&mut self.stream)
    }

    /// Takes a readiness event from the poller the stream is registered with.
    pub(crate) fn note_event(&mut self, event: &Event) {
        let (readable, writable, closed) = readiness(event);
        self.note(readable, writable, closed);
    }

    fn note(&mut self, readable: bool, writable: bool, closed: bool) {
        // Errors and hang-ups show up on the next read or write attempt.
        self.read_closed |= closed;
        self.readable |= readable || closed;
        self.writable |= writable || closed;
    }

    pub(crate) fn shutdown(&self) {
        // The peer may have gone already; nothing to do about an error here.
        let _ = self.stream.shutdown(Shutdown::Write);
    }
}

/// (readable, writable, read side closed or failed) of one event.
fn readiness(event: &Event) -> (bool, bool, bool) {
    let closed = event.is_read_closed() || event.is_error();
    (event.is_readable(), event.is_writable() || event.is_write_closed(), closed)
}

/// Reads that know when the receive queue is drained (see [`Transport`]).
impl io::Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.readable {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        match io::Read::read(&mut self.stream, buf) {
            Ok(n) => {
                self.readable = n == buf.len() || n == 0 || self.read_closed;
                Ok(n)
            }
            Err(e) => {
                if e.kind() == io::ErrorKind::WouldBlock {
                    self.readable = false;
                }
                Err(e)
            }
        }
    }
}

/// Writes that know when the send buffer is full (see [`Transport`]).
impl io::Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[io::IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        if !self.writable {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let len: usize = bufs.iter().map(|b| b.len()).sum();
        match io::Write::write_vectored(&mut self.stream, bufs) {
            Ok(n) => {
                self.writable = n == len;
                Ok(n)
            }
            Err(e) => {
                if e.kind() == io::ErrorKind::WouldBlock {
                    self.writable = false;
                }
                Err(e)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
