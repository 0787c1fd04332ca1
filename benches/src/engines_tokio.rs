//! The tokio side of [`crate::engines`]: the same engines behind async traits.
//! Raw: tokio-rustls, tokio-openssl, tokio-native-tls, plain tokio `TcpStream`.
//! Ours: `AsyncSslSocket` (client) and `AsyncSslServer` (server).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use sslsocket::{AsyncSslServer, AsyncSslSocket, SslBackend, SslConfiguration};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

use crate::engines::{other, Backend, Env, Kind, IO_TIMEOUT};

/// An established async connection (handshake done). `AsyncWriteExt::shutdown` closes it
/// gracefully (close_notify where the engine has one).
pub trait AsyncConn: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> AsyncConn for T {}

/// Makes client connections.
#[async_trait]
pub trait AsyncConnector: Send + Sync {
    /// A new TCP connection to `addr` with a completed handshake, verifying the server as
    /// `name`.
    ///
    /// # Errors
    /// Connect and handshake errors.
    async fn connect(&self, addr: SocketAddr, name: &str) -> io::Result<Box<dyn AsyncConn>>;
}

/// Accepts server connections.
#[async_trait]
pub trait AsyncAcceptor: Send {
    /// Where it listens.
    fn local_addr(&self) -> SocketAddr;
    /// The next connection, its handshake complete.
    ///
    /// # Errors
    /// Accept and handshake errors.
    async fn accept(&mut self) -> io::Result<Box<dyn AsyncConn>>;
}

async fn tcp_connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

async fn tcp_accept(listener: &TcpListener) -> io::Result<TcpStream> {
    let (tcp, _) = listener.accept().await?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

fn addr_of(listener: &TcpListener) -> SocketAddr {
    listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
}

/// The client of one engine on tokio (`None`: plain TCP).
///
/// # Errors
/// Configuration errors, or a backend that is not compiled in.
#[allow(unreachable_patterns)]
pub fn async_connector(
    backend: Option<Backend>,
    kind: Kind,
    env: &Env,
) -> io::Result<Box<dyn AsyncConnector>> {
    let Some(backend) = backend else { return Ok(Box::new(PlainConnector)) };
    if kind == Kind::Ours {
        return Ok(Box::new(OursConnector {
            backend: backend.handle()?,
            config: env.ours_client(backend)?,
        }));
    }
    match backend {
        #[cfg(feature = "rustls")]
        Backend::Rustls => Ok(Box::new(RustlsConnector(tokio_rustls::TlsConnector::from(
            crate::engines::raw_rustls::client_config(env)?,
        )))),
        #[cfg(feature = "openssl")]
        Backend::Openssl => {
            Ok(Box::new(OpensslConnector(crate::engines::raw_openssl::client_context(env)?)))
        }
        #[cfg(feature = "native")]
        Backend::Native => Ok(Box::new(NativeConnector(tokio_native_tls::TlsConnector::from(
            crate::engines::raw_native::connector(env)?,
        )))),
        _ => Err(other(format!("{} is not compiled in", backend.name()))),
    }
}

/// The server side matching [`async_connector`], listening on a fresh loopback port. Must run
/// inside the runtime that will serve it.
///
/// # Errors
/// Configuration and bind errors.
#[allow(unreachable_patterns)]
pub async fn async_acceptor(
    backend: Option<Backend>,
    kind: Kind,
    env: &Env,
) -> io::Result<Box<dyn AsyncAcceptor>> {
    let Some(backend) = backend else {
        return Ok(Box::new(PlainAcceptor(TcpListener::bind("127.0.0.1:0").await?)));
    };
    if kind == Kind::Ours {
        let mut server = AsyncSslServer::with_backend_handle(backend.handle()?);
        server.set_ssl_configuration(env.ours_server(backend)?);
        server.bind("127.0.0.1:0").await.map_err(io::Error::from)?;
        let addr = server.local_address().ok_or_else(|| other("server has no address"))?;
        return Ok(Box::new(OursAcceptor { server, addr }));
    }
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    match backend {
        #[cfg(feature = "rustls")]
        Backend::Rustls => Ok(Box::new(RustlsAcceptor {
            listener,
            acceptor: tokio_rustls::TlsAcceptor::from(crate::engines::raw_rustls::server_config(
                env,
            )?),
        })),
        #[cfg(feature = "openssl")]
        Backend::Openssl => Ok(Box::new(OpensslAcceptor {
            listener,
            context: crate::engines::raw_openssl::server_context(env)?,
        })),
        #[cfg(feature = "native")]
        Backend::Native => Ok(Box::new(NativeAcceptor {
            listener,
            acceptor: tokio_native_tls::TlsAcceptor::from(crate::engines::raw_native::acceptor(
                env,
            )?),
        })),
        _ => Err(other(format!("{} is not compiled in", backend.name()))),
    }
}

// ---- plain ---------------------------------------------------------------------------------

struct PlainConnector;

#[async_trait]
impl AsyncConnector for PlainConnector {
    async fn connect(&self, addr: SocketAddr, _name: &str) -> io::Result<Box<dyn AsyncConn>> {
        Ok(Box::new(tcp_connect(addr).await?))
    }
}

struct PlainAcceptor(TcpListener);

#[async_trait]
impl AsyncAcceptor for PlainAcceptor {
    fn local_addr(&self) -> SocketAddr {
        addr_of(&self.0)
    }

    async fn accept(&mut self) -> io::Result<Box<dyn AsyncConn>> {
        Ok(Box::new(tcp_accept(&self.0).await?))
    }
}

// ---- sslsocket -----------------------------------------------------------------------------

struct OursConnector {
    backend: Arc<dyn SslBackend>,
    config: SslConfiguration,
}

#[async_trait]
impl AsyncConnector for OursConnector {
    async fn connect(&self, addr: SocketAddr, name: &str) -> io::Result<Box<dyn AsyncConn>> {
        let mut socket = AsyncSslSocket::with_backend_handle(self.backend.clone());
        socket.set_ssl_configuration(self.config.clone());
        let host = addr.ip().to_string();
        let connect = socket.connect_to_host_encrypted_with_peer_name(&host, addr.port(), name);
        tokio::time::timeout(IO_TIMEOUT, connect).await.map_err(other)?.map_err(io::Error::from)?;
        Ok(Box::new(socket))
    }
}

struct OursAcceptor {
    server: AsyncSslServer,
    addr: SocketAddr,
}

#[async_trait]
impl AsyncAcceptor for OursAcceptor {
    fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    async fn accept(&mut self) -> io::Result<Box<dyn AsyncConn>> {
        match self.server.accept_next().await.map_err(io::Error::from)? {
            sslsocket::AsyncAccepted::Encrypted(socket) => Ok(socket),
            sslsocket::AsyncAccepted::Failed(failure) => Err(io::Error::from(failure.error)),
        }
    }
}

// ---- tokio-rustls --------------------------------------------------------------------------

#[cfg(feature = "rustls")]
struct RustlsConnector(tokio_rustls::TlsConnector);

#[cfg(feature = "rustls")]
#[async_trait]
impl AsyncConnector for RustlsConnector {
    async fn connect(&self, addr: SocketAddr, name: &str) -> io::Result<Box<dyn AsyncConn>> {
        let tcp = tcp_connect(addr).await?;
        let name = rustls::pki_types::ServerName::try_from(name.to_owned()).map_err(other)?;
        Ok(Box::new(self.0.connect(name, tcp).await?))
    }
}

#[cfg(feature = "rustls")]
struct RustlsAcceptor {
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

#[cfg(feature = "rustls")]
#[async_trait]
impl AsyncAcceptor for RustlsAcceptor {
    fn local_addr(&self) -> SocketAddr {
        addr_of(&self.listener)
    }

    async fn accept(&mut self) -> io::Result<Box<dyn AsyncConn>> {
        let tcp = tcp_accept(&self.listener).await?;
        Ok(Box::new(self.acceptor.accept(tcp).await?))
    }
}

// ---- tokio-openssl -------------------------------------------------------------------------

#[cfg(feature = "openssl")]
struct OpensslConnector(crate::engines::raw_openssl::ClientContext);

#[cfg(feature = "openssl")]
#[async_trait]
impl AsyncConnector for OpensslConnector {
    async fn connect(&self, addr: SocketAddr, name: &str) -> io::Result<Box<dyn AsyncConn>> {
        let tcp = tcp_connect(addr).await?;
        let ssl = crate::engines::raw_openssl::client_ssl(&self.0, name)?;
        let mut stream = tokio_openssl::SslStream::new(ssl, tcp).map_err(other)?;
        std::pin::Pin::new(&mut stream).connect().await.map_err(other)?;
        Ok(Box::new(stream))
    }
}

#[cfg(feature = "openssl")]
struct OpensslAcceptor {
    listener: TcpListener,
    context: openssl::ssl::SslContext,
}

#[cfg(feature = "openssl")]
#[async_trait]
impl AsyncAcceptor for OpensslAcceptor {
    fn local_addr(&self) -> SocketAddr {
        addr_of(&self.listener)
    }

    async fn accept(&mut self) -> io::Result<Box<dyn AsyncConn>> {
        let tcp = tcp_accept(&self.listener).await?;
        let ssl = openssl::ssl::Ssl::new(&self.context).map_err(other)?;
        let mut stream = tokio_openssl::SslStream::new(ssl, tcp).map_err(other)?;
        std::pin::Pin::new(&mut stream).accept().await.map_err(other)?;
        Ok(Box::new(stream))
    }
}

// ---- tokio-native-tls ----------------------------------------------------------------------

#[cfg(feature = "native")]
struct NativeConnector(tokio_native_tls::TlsConnector);

#[cfg(feature = "native")]
#[async_trait]
impl AsyncConnector for NativeConnector {
    async fn connect(&self, addr: SocketAddr, name: &str) -> io::Result<Box<dyn AsyncConn>> {
        let tcp = tcp_connect(addr).await?;
        Ok(Box::new(self.0.connect(name, tcp).await.map_err(other)?))
    }
}

#[cfg(feature = "native")]
struct NativeAcceptor {
    listener: TcpListener,
    acceptor: tokio_native_tls::TlsAcceptor,
}

#[cfg(feature = "native")]
#[async_trait]
impl AsyncAcceptor for NativeAcceptor {
    fn local_addr(&self) -> SocketAddr {
        addr_of(&self.listener)
    }

    async fn accept(&mut self) -> io::Result<Box<dyn AsyncConn>> {
        let tcp = tcp_accept(&self.listener).await?;
        Ok(Box::new(self.acceptor.accept(tcp).await.map_err(other)?))
    }
}
