//! A TCP relay on loopback between a client and a server, for what only a man in the middle
//! can do: record the raw bytes each way, deliver them one byte per write, or reset both
//! connections (SO_LINGER 0) after a number of bytes.
//!
//! One thread, non-blocking sockets, bounded: it gives up after [`RELAY_LIMIT`].

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use socket2::SockRef;

/// The longest a relay runs.
pub const RELAY_LIMIT: Duration = Duration::from_secs(60);

/// What the relay does to the traffic.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// At most this many bytes per write (1: byte by byte); 0 is no limit.
    pub chunk: usize,
    /// Reset both connections (RST, not FIN) once this many bytes went server → client.
    pub reset_after_to_client: Option<usize>,
}

/// What went through the relay.
#[derive(Debug, Default, Clone)]
pub struct Recorded {
    /// Every byte client → server.
    pub to_server: Vec<u8>,
    /// Every byte server → client.
    pub to_client: Vec<u8>,
    /// Whether the relay reset the connections.
    pub reset: bool,
    /// Writes made (both ways).
    pub writes: usize,
}

/// A relay listening on 127.0.0.1 for one client, forwarding to `upstream`.
#[derive(Debug)]
pub struct Relay {
    /// The port clients connect to.
    pub port: u16,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<io::Result<Recorded>>>,
}

impl Relay {
    /// Starts a relay to `upstream` with `faults`.
    ///
    /// # Errors
    /// When it cannot listen.
    pub fn start(upstream: SocketAddr, faults: Faults) -> io::Result<Relay> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let handle = thread::spawn(move || run(&listener, upstream, faults, &stopping));
        Ok(Relay { port, stop, handle: Some(handle) })
    }

    /// Waits for the relay to finish (both directions closed, a reset, or the limit) and
    /// returns what went through.
    ///
    /// # Errors
    /// The relay's I/O error.
    pub fn finish(mut self) -> io::Result<Recorded> {
        let handle = self.handle.take().ok_or(io::ErrorKind::NotFound)?;
        handle.join().map_err(|_| io::Error::other("relay thread panicked"))?
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// One direction: bytes read and not yet written, and whether the reader reached its end.
#[derive(Default)]
struct Half {
    pending: Vec<u8>,
    eof: bool,
    shut: bool,
}

fn run(
    listener: &TcpListener,
    upstream: SocketAddr,
    faults: Faults,
    stop: &AtomicBool,
) -> io::Result<Recorded> {
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + RELAY_LIMIT;
    let client = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if stop.load(Ordering::Acquire) || Instant::now() > deadline {
                    return Ok(Recorded::default());
                }
                thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(e),
        }
    };
    let server = TcpStream::connect(upstream)?;
    for s in [&client, &server] {
        s.set_nonblocking(true)?;
        s.set_nodelay(true)?;
    }
    let mut recorded = Recorded::default();
    let (mut up, mut down) = (Half::default(), Half::default());
    let mut buf = vec![0u8; 64 * 1024];
    while !(up.shut && down.shut) {
        if stop.load(Ordering::Acquire) || Instant::now() > deadline {
            break;
        }
        let mut moved =
            pump(&client, &server, &mut up, &mut buf, faults.chunk, &mut recorded, true)?;
        moved |= pump(&server, &client, &mut down, &mut buf, faults.chunk, &mut recorded, false)?;
        if let Some(limit) = faults.reset_after_to_client {
            if recorded.to_client.len() >= limit {
                for s in [&client, &server] {
                    SockRef::from(s).set_linger(Some(Duration::ZERO))?;
                }
                recorded.reset = true;
                return Ok(recorded); // dropping both streams now sends RST on each
            }
        }
        if !moved {
            thread::sleep(Duration::from_millis(1));
        }
    }
    Ok(recorded)
}

/// Moves what `from` has to `to`. Returns whether anything moved.
fn pump(
    from: &TcpStream,
    to: &TcpStream,
    half: &mut Half,
    buf: &mut [u8],
    chunk: usize,
    recorded: &mut Recorded,
    to_server: bool,
) -> io::Result<bool> {
    let mut moved = false;
    if !half.eof && half.pending.len() < 1024 * 1024 {
        match (&*from).read(buf) {
            Ok(0) => {
                half.eof = true;
                moved = true;
            }
            Ok(n) => {
                half.pending.extend_from_slice(&buf[..n]);
                moved = true;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => half.eof = true,
            Err(e) => return Err(e),
        }
    }
    while !half.pending.is_empty() {
        let limit = if chunk == 0 { half.pending.len() } else { chunk.min(half.pending.len()) };
        match (&*to).write(&half.pending[..limit]) {
            Ok(n) => {
                let sent: Vec<u8> = half.pending.drain(..n).collect();
                if to_server {
                    recorded.to_server.extend_from_slice(&sent);
                } else {
                    recorded.to_client.extend_from_slice(&sent);
                }
                recorded.writes += 1;
                moved = true;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                ) =>
            {
                half.pending.clear();
                half.eof = true;
            }
            Err(e) => return Err(e),
        }
    }
    if half.eof && half.pending.is_empty() && !half.shut {
        let _ = to.shutdown(Shutdown::Write);
        half.shut = true;
        moved = true;
    }
    Ok(moved)
}
