//! One test body, every driver: the blocking `SslSocket` / `SslServer` and the tokio
//! `AsyncSslSocket` / `AsyncSslServer` behind one small interface, so the behavioural tests
//! are written once and run through both.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use sslsocket::{Connection, Error, HandshakeFailure, SslBackend, SslConfiguration};

/// How long any single test operation may take before it counts as a hang.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A client or accepted server socket, whichever driver runs it.
pub trait Client: Send {
    /// The sans-IO connection, for getters.
    fn connection(&self) -> &Connection;
    /// The sans-IO connection, for settings (configuration, ignore lists…).
    fn connection_mut(&mut self) -> &mut Connection;
    /// Connects to `host:port` and completes the handshake (bounded by [`TIMEOUT`]).
    ///
    /// # Errors
    /// The socket's error.
    fn connect_encrypted(&mut self, host: &str, port: u16) -> Result<(), Error>;
    /// Writes every byte (queued until encrypted when not yet).
    ///
    /// # Errors
    /// The socket's error.
    fn write_all(&mut self, data: &[u8]) -> io::Result<()>;
    /// Drives until everything written is on the wire.
    ///
    /// # Errors
    /// The socket's error.
    fn flush(&mut self) -> io::Result<()>;
    /// Starts an encrypted connect to `host:port`; once TCP is connected and the handshake
    /// has started (the ClientHello is on its way), calls `change` on the connection; then
    /// waits for the end of the handshake (bounded by [`TIMEOUT`]). Whether the server's
    /// answer was read before `change` is up to the peer: hold it back to be sure.
    ///
    /// # Errors
    /// The socket's error.
    fn connect_changing(
        &mut self,
        host: &str,
        port: u16,
        change: &mut dyn FnMut(&mut Connection),
    ) -> Result<(), Error>;
    /// Continues a handshake (after a pause on `SslErrors`: ignore, `resume()`, then this).
    ///
    /// # Errors
    /// The socket's error.
    fn wait_encrypted(&mut self) -> Result<(), Error>;
    /// Reads some bytes (`Ok(0)` at a clean end).
    ///
    /// # Errors
    /// The socket's error, or a timeout.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// Closes gracefully and waits until unconnected.
    ///
    /// # Errors
    /// The socket's error.
    fn disconnect(&mut self) -> Result<(), Error>;
    /// Drops the connection at once (no close_notify).
    fn abort(&mut self);

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Errors
    /// The socket's error, or `UnexpectedEof` when the stream ends first.
    fn read_exact(&mut self, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read(buf)? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => buf = &mut buf[n..],
            }
        }
        Ok(())
    }

    /// Reads until a clean end, appending to `out`.
    ///
    /// # Errors
    /// The socket's error (a truncation is `UnexpectedEof`).
    fn read_to_end(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match self.read(&mut buf)? {
                0 => return Ok(()),
                n => out.extend_from_slice(&buf[..n]),
            }
        }
    }
}

/// What a server's next finished handshake was.
#[allow(missing_debug_implementations)] // holds a `dyn Client`
pub enum Outcome {
    /// Accepted and encrypted.
    Encrypted(Box<dyn Client>),
    /// Failed.
    Failed(HandshakeFailure),
}

/// A listening server, whichever driver runs it.
pub trait Server: Send {
    /// The port it listens on (127.0.0.1).
    fn port(&self) -> u16;
    /// The next finished handshake, waiting at most `timeout`.
    ///
    /// # Errors
    /// `Timeout`, or the server's error.
    fn accept_next(&mut self, timeout: Duration) -> Result<Outcome, Error>;
}

/// A driver under test.
#[derive(Clone)]
pub enum Driver {
    /// `SslSocket` / `SslServer`.
    Blocking,
    /// `AsyncSslSocket` / `AsyncSslServer`, each call run to completion on this runtime.
    #[cfg(feature = "tokio")]
    Tokio(Arc<tokio::runtime::Runtime>),
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Every compiled-in driver.
#[must_use]
pub fn drivers() -> Vec<Driver> {
    #[allow(unused_mut)]
    let mut list = vec![Driver::Blocking];
    #[cfg(feature = "tokio")]
    list.push(Driver::Tokio(Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime"),
    )));
    list
}

impl Driver {
    /// `"blocking"` or `"tokio"`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Driver::Blocking => "blocking",
            #[cfg(feature = "tokio")]
            Driver::Tokio(_) => "tokio",
        }
    }

    /// A client socket on `backend` with `config`.
    #[must_use]
    pub fn client(
        &self,
        backend: &Arc<dyn SslBackend>,
        config: SslConfiguration,
    ) -> Box<dyn Client> {
        match self {
            Driver::Blocking => {
                let mut socket = sslsocket::SslSocket::with_backend_handle(backend.clone());
                socket.set_ssl_configuration(config);
                socket.set_read_timeout(Some(TIMEOUT));
                socket.set_write_timeout(Some(TIMEOUT));
                Box::new(socket)
            }
            #[cfg(feature = "tokio")]
            Driver::Tokio(rt) => {
                let mut socket = sslsocket::AsyncSslSocket::with_backend_handle(backend.clone());
                socket.set_ssl_configuration(config);
                Box::new(tokio_impl::Async { socket, rt: rt.clone() })
            }
        }
    }

    /// A server on 127.0.0.1 (a free port) on `backend` with `config`.
    #[must_use]
    pub fn server(
        &self,
        backend: &Arc<dyn SslBackend>,
        config: SslConfiguration,
        handshake_timeout: Duration,
    ) -> Box<dyn Server> {
        match self {
            Driver::Blocking => {
                let mut server = sslsocket::SslServer::with_backend_handle(backend.clone());
                server.set_ssl_configuration(config);
                server.set_handshake_timeout(handshake_timeout);
                server.listen("127.0.0.1:0").expect("listen");
                Box::new(server)
            }
            #[cfg(feature = "tokio")]
            Driver::Tokio(rt) => {
                let mut server = sslsocket::AsyncSslServer::with_backend_handle(backend.clone());
                server.set_ssl_configuration(config);
                server.set_handshake_timeout(handshake_timeout);
                rt.block_on(server.bind("127.0.0.1:0")).expect("bind");
                Box::new(tokio_impl::AsyncServer { server, rt: rt.clone() })
            }
        }
    }
}

impl Client for sslsocket::SslSocket {
    fn connection(&self) -> &Connection {
        sslsocket::SslSocket::connection(self)
    }
    fn connection_mut(&mut self) -> &mut Connection {
        sslsocket::SslSocket::connection_mut(self)
    }
    fn connect_encrypted(&mut self, host: &str, port: u16) -> Result<(), Error> {
        self.connect_to_host_encrypted(host, port);
        self.wait_for_encrypted(TIMEOUT)
    }
    fn connect_changing(
        &mut self,
        host: &str,
        port: u16,
        change: &mut dyn FnMut(&mut Connection),
    ) -> Result<(), Error> {
        self.connect_to_host_encrypted(host, port);
        self.wait_for_connected(TIMEOUT)?;
        change(sslsocket::SslSocket::connection_mut(self));
        self.wait_for_encrypted(TIMEOUT)
    }
    fn wait_encrypted(&mut self) -> Result<(), Error> {
        self.wait_for_encrypted(TIMEOUT)
    }
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        io::Write::write_all(self, data)
    }
    fn flush(&mut self) -> io::Result<()> {
        io::Write::flush(self)
    }
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        io::Read::read(self, buf)
    }
    fn disconnect(&mut self) -> Result<(), Error> {
        self.disconnect_from_host();
        self.wait_for_disconnected(TIMEOUT)
    }
    fn abort(&mut self) {
        sslsocket::SslSocket::abort(self);
    }
}

impl Server for sslsocket::SslServer {
    fn port(&self) -> u16 {
        self.local_address().expect("listening").port()
    }
    fn accept_next(&mut self, timeout: Duration) -> Result<Outcome, Error> {
        Ok(match sslsocket::SslServer::accept_next(self, Some(timeout))? {
            sslsocket::Accepted::Encrypted(socket) => Outcome::Encrypted(socket),
            sslsocket::Accepted::Failed(f) => Outcome::Failed(f),
        })
    }
}

#[cfg(feature = "tokio")]
mod tokio_impl {
    use std::future::{poll_fn, Future};
    use std::io;
    use std::pin::pin;
    use std::sync::Arc;
    use std::task::Poll;
    use std::time::Duration;

    use sslsocket::{AsyncSslServer, AsyncSslSocket, Connection, Error, Event};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::runtime::Runtime;
    use tokio::sync::Notify;

    use super::{Client, Outcome, Server, TIMEOUT};

    pub(super) struct Async {
        pub(super) socket: AsyncSslSocket,
        pub(super) rt: Arc<Runtime>,
    }

    fn timed_out(operation: &'static str) -> Error {
        Error::Timeout { operation }
    }

    impl Client for Async {
        fn connection(&self) -> &Connection {
            self.socket.connection()
        }
        fn connection_mut(&mut self) -> &mut Connection {
            self.socket.connection_mut()
        }
        fn connect_encrypted(&mut self, host: &str, port: u16) -> Result<(), Error> {
            let socket = &mut self.socket;
            self.rt.block_on(async {
                tokio::time::timeout(TIMEOUT, socket.connect_to_host_encrypted(host, port))
                    .await
                    .unwrap_or_else(|_| Err(timed_out("connect")))
            })
        }
        fn connect_changing(
            &mut self,
            host: &str,
            port: u16,
            change: &mut dyn FnMut(&mut Connection),
        ) -> Result<(), Error> {
            // The connect is awaited until the handler has seen `Connected` (the handshake
            // starts right there), then dropped: a cancelled connect continues on the next
            // drive (ARCHITECTURE.md, "A cancelled await loses nothing").
            let connected = Arc::new(Notify::new());
            let signal = connected.clone();
            self.socket.set_event_handler(move |event, _| {
                if matches!(event, Event::Connected) {
                    signal.notify_one();
                }
            });
            let socket = &mut self.socket;
            let finished = self.rt.block_on(async {
                let mut notified = pin!(connected.notified());
                let mut connect = pin!(tokio::time::timeout(
                    TIMEOUT,
                    socket.connect_to_host_encrypted(host, port)
                ));
                poll_fn(|cx| {
                    if notified.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(None);
                    }
                    connect.as_mut().poll(cx).map(Some)
                })
                .await
            });
            self.socket.set_event_handler(|_, _| {});
            if let Some(result) = finished {
                change(self.socket.connection_mut());
                return result.unwrap_or_else(|_| Err(timed_out("connect")));
            }
            change(self.socket.connection_mut());
            self.wait_encrypted()
        }
        fn wait_encrypted(&mut self) -> Result<(), Error> {
            let socket = &mut self.socket;
            self.rt.block_on(async {
                tokio::time::timeout(TIMEOUT, socket.wait_for_encrypted())
                    .await
                    .unwrap_or_else(|_| Err(timed_out("wait_for_encrypted")))
            })
        }
        fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
            let socket = &mut self.socket;
            self.rt.block_on(async {
                tokio::time::timeout(TIMEOUT, socket.write_all(data))
                    .await
                    .unwrap_or_else(|_| Err(timed_out("write").into()))
            })
        }
        fn flush(&mut self) -> io::Result<()> {
            let socket = &mut self.socket;
            self.rt.block_on(async {
                tokio::time::timeout(TIMEOUT, socket.flush())
                    .await
                    .unwrap_or_else(|_| Err(timed_out("flush").into()))
            })
        }
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let socket = &mut self.socket;
            self.rt.block_on(async {
                tokio::time::timeout(TIMEOUT, socket.read(buf))
                    .await
                    .unwrap_or_else(|_| Err(timed_out("read").into()))
            })
        }
        fn disconnect(&mut self) -> Result<(), Error> {
            let socket = &mut self.socket;
            self.rt.block_on(async {
                tokio::time::timeout(TIMEOUT, socket.disconnect_from_host())
                    .await
                    .unwrap_or_else(|_| Err(timed_out("disconnect")))
            })
        }
        fn abort(&mut self) {
            self.socket.abort();
        }
    }

    pub(super) struct AsyncServer {
        pub(super) server: AsyncSslServer,
        pub(super) rt: Arc<Runtime>,
    }

    impl Server for AsyncServer {
        fn port(&self) -> u16 {
            self.server.local_address().expect("bound").port()
        }
        fn accept_next(&mut self, timeout: Duration) -> Result<Outcome, Error> {
            let server = &mut self.server;
            let rt = self.rt.clone();
            let accepted = rt.block_on(async {
                tokio::time::timeout(timeout, server.accept_next())
                    .await
                    .unwrap_or_else(|_| Err(timed_out("accept")))
            })?;
            Ok(match accepted {
                sslsocket::AsyncAccepted::Encrypted(socket) => {
                    Outcome::Encrypted(Box::new(Async { socket: *socket, rt }))
                }
                sslsocket::AsyncAccepted::Failed(f) => Outcome::Failed(f),
            })
        }
    }
}
