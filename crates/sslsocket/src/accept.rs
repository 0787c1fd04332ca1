//! What an `accept(2)` error means for a listening server, and how long it waits before the
//! next try: one policy for [`SslServer`](crate::SslServer),
//! [`AsyncSslServer`](crate::AsyncSslServer) and any listener of the application's own (the
//! `sslsock serve --starttls` loop uses it).
//!
//! A server never stops listening because one connection could not be taken. Out of file
//! descriptors (`EMFILE`, `ENFILE`) or memory (`ENOMEM`, `ENOBUFS`), the connection waits in
//! the listen backlog and the server retries after a back-off that doubles from
//! [`Backoff::FIRST`] up to [`Backoff::MAX`] (resource exhaustion does not end at once; a
//! tight retry loop would spin). A client that went away before it was taken is skipped. Only
//! an error that says the listener itself is unusable stops the server.

use std::io;
use std::time::Duration;

/// What one failed `accept` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AcceptError {
    /// The connection went away before it was taken, or the call was interrupted
    /// (`ECONNABORTED`, `EINTR`, `EPROTO`, `EPERM` from a firewall rule, and the network
    /// errors Linux passes on from the new socket: `ENETDOWN`, `ENETUNREACH`, `EHOSTDOWN`,
    /// `EHOSTUNREACH`, `ENONET`, `ENOPROTOOPT`, `ETIMEDOUT`): take the next one at once.
    ClientGone,
    /// The process or the system is out of a resource (`EMFILE`, `ENFILE`, `ENOBUFS`,
    /// `ENOMEM`), or an error this policy does not know: the listener is fine; back off and
    /// retry.
    ResourceExhausted,
    /// The listener itself is unusable (`EBADF`, `EINVAL`: not listening, `ENOTSOCK`,
    /// `EOPNOTSUPP`, `EFAULT`): stop listening.
    ListenerFailed,
}

impl AcceptError {
    /// Classifies the error of an `accept` call (a `WouldBlock` is no error and is not passed
    /// here; it reads as [`AcceptError::ClientGone`]).
    #[must_use]
    pub fn classify(err: &io::Error) -> AcceptError {
        #[cfg(unix)]
        if let Some(errno) = rustix::io::Errno::from_io_error(err) {
            use rustix::io::Errno;
            return match errno {
                Errno::MFILE | Errno::NFILE | Errno::NOBUFS | Errno::NOMEM => {
                    AcceptError::ResourceExhausted
                }
                Errno::BADF | Errno::INVAL | Errno::NOTSOCK | Errno::OPNOTSUPP | Errno::FAULT => {
                    AcceptError::ListenerFailed
                }
                Errno::CONNABORTED
                | Errno::INTR
                | Errno::AGAIN
                | Errno::PROTO
                | Errno::PERM
                | Errno::NETDOWN
                | Errno::NETUNREACH
                | Errno::HOSTDOWN
                | Errno::HOSTUNREACH
                | Errno::NOPROTOOPT
                | Errno::TIMEDOUT => AcceptError::ClientGone,
                #[cfg(any(target_os = "linux", target_os = "android"))]
                Errno::NONET => AcceptError::ClientGone,
                _ => AcceptError::ResourceExhausted,
            };
        }
        match err.kind() {
            io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
            | io::ErrorKind::TimedOut => AcceptError::ClientGone,
            io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported => AcceptError::ListenerFailed,
            _ => AcceptError::ResourceExhausted,
        }
    }
}

/// The wait before the next `accept` after [`AcceptError::ResourceExhausted`]: doubles from
/// [`Backoff::FIRST`] to [`Backoff::MAX`], back to the start once a connection is taken.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Backoff {
    /// The first wait: 5 ms.
    pub const FIRST: Duration = Duration::from_millis(5);
    /// The longest wait: 1 s.
    pub const MAX: Duration = Duration::from_secs(1);

    /// A back-off at its start.
    #[must_use]
    pub fn new() -> Backoff {
        Backoff { next: Backoff::FIRST }
    }

    /// The wait before the next try, doubling the one after.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(Backoff::MAX);
        delay
    }

    /// Back to [`Backoff::FIRST`] (a connection was taken).
    pub fn reset(&mut self) {
        self.next = Backoff::FIRST;
    }
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn descriptor_and_memory_exhaustion_back_off_and_a_broken_listener_stops() {
        let of = |errno: rustix::io::Errno| AcceptError::classify(&io::Error::from(errno));
        use rustix::io::Errno;
        for errno in [Errno::MFILE, Errno::NFILE, Errno::NOMEM, Errno::NOBUFS] {
            assert_eq!(of(errno), AcceptError::ResourceExhausted, "{errno:?}");
        }
        for errno in [Errno::CONNABORTED, Errno::INTR, Errno::PROTO, Errno::HOSTUNREACH] {
            assert_eq!(of(errno), AcceptError::ClientGone, "{errno:?}");
        }
        for errno in [Errno::BADF, Errno::INVAL, Errno::NOTSOCK] {
            assert_eq!(of(errno), AcceptError::ListenerFailed, "{errno:?}");
        }
    }

    #[test]
    fn the_backoff_doubles_to_its_maximum_and_resets() {
        let mut backoff = Backoff::new();
        let delays: Vec<Duration> = (0..10).map(|_| backoff.next_delay()).collect();
        assert_eq!(delays[0], Backoff::FIRST);
        assert_eq!(delays[1], Backoff::FIRST * 2);
        assert_eq!(*delays.last().unwrap_or(&Duration::ZERO), Backoff::MAX);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Backoff::FIRST);
    }
}
