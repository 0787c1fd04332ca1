//! What scenarios run on: a client and a server backend, a driver, and helpers to start a
//! server and a client with the test PKI.

use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use sslsocket::{
    Error, Feature, HandshakeFailure, Role, SslBackend, SslCertificate, SslConfiguration,
};

use crate::driver::{Client, Driver, Outcome as Accepted, TIMEOUT};
use crate::outcome::{Check, Outcome};

/// The backends and driver a scenario runs with.
#[derive(Clone)]
pub struct Ctx {
    /// The client's backend.
    pub client: Arc<dyn SslBackend>,
    /// The server's backend.
    pub server: Arc<dyn SslBackend>,
    /// The driver (blocking or tokio) for loopback scenarios.
    pub driver: Driver,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} ({})", self.client.name(), self.server.name(), self.driver.name())
    }
}

/// Which end of the connection needs a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The client's backend.
    Client,
    /// The server's backend.
    Server,
    /// Both.
    Both,
}

impl Ctx {
    /// `Unsupported(feature)` unless the backend(s) on `side` have `feature`.
    ///
    /// # Errors
    /// The unsupported outcome.
    pub fn require(&self, side: Side, feature: Feature) -> Check {
        let has = |b: &Arc<dyn SslBackend>| b.features().contains(feature);
        let ok = match side {
            Side::Client => has(&self.client),
            Side::Server => has(&self.server),
            Side::Both => has(&self.client) && has(&self.server),
        };
        if ok {
            Ok(())
        } else {
            Err(Outcome::Unsupported(feature))
        }
    }

    /// `UnsupportedProtocol` unless both backends accept `protocol` as configuration.
    ///
    /// # Errors
    /// The unsupported outcome.
    pub fn require_protocol(&self, protocol: sslsocket::SslProtocol) -> Check {
        let ok = self.client.supported_protocols_for(Role::Client).contains(&protocol)
            && self.server.supported_protocols_for(Role::Server).contains(&protocol);
        if ok {
            Ok(())
        } else {
            Err(Outcome::UnsupportedProtocol(protocol))
        }
    }

    /// A client socket with `config`.
    #[must_use]
    pub fn client(&self, config: SslConfiguration) -> Box<dyn Client> {
        self.driver.client(&self.client, config)
    }

    /// Starts a server with `config` for `clients` connections; each accepted socket echoes
    /// until its peer closes. The handle yields what happened to each connection.
    #[must_use]
    pub fn serve(&self, config: SslConfiguration, clients: usize) -> Served {
        self.serve_with(config, clients, TIMEOUT)
    }

    /// As [`Ctx::serve`] with a handshake timeout.
    #[must_use]
    pub fn serve_with(
        &self,
        config: SslConfiguration,
        clients: usize,
        timeout: Duration,
    ) -> Served {
        let mut server = self.driver.server(&self.server, config, timeout);
        let port = server.port();
        let handle = thread::spawn(move || {
            let mut seen = Vec::new();
            for _ in 0..clients {
                match server.accept_next(TIMEOUT) {
                    Ok(Accepted::Encrypted(mut socket)) => {
                        let conn = socket.connection();
                        let facts = ServerSide::Encrypted {
                            peer_chain: conn.peer_certificate_chain(),
                            server_name: conn.server_name(),
                            alpn: conn.alpn_protocol(),
                            protocol: conn.session_protocol(),
                            handshake_errors: conn.ssl_handshake_errors().to_vec(),
                        };
                        echo(socket.as_mut());
                        seen.push(facts);
                    }
                    Ok(Accepted::Failed(failure)) => seen.push(ServerSide::Failed(failure)),
                    Err(error) => {
                        seen.push(ServerSide::NotAccepted(error));
                        break;
                    }
                }
            }
            seen
        });
        Served { port, handle }
    }
}

fn echo(socket: &mut dyn Client) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match socket.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if socket.write_all(&buf[..n]).and_then(|()| socket.flush()).is_err() {
                    return;
                }
            }
        }
    }
}

/// A running scenario server.
#[derive(Debug)]
pub struct Served {
    /// Its port on 127.0.0.1.
    pub port: u16,
    handle: JoinHandle<Vec<ServerSide>>,
}

impl Served {
    /// Waits for the server to finish and returns what it saw.
    ///
    /// # Errors
    /// A failure when the server thread panicked.
    pub fn finish(self) -> Result<Vec<ServerSide>, Outcome> {
        self.handle.join().map_err(|_| Outcome::Fail("server thread panicked".into()))
    }
}

/// What the server saw of one connection.
#[derive(Debug)]
pub enum ServerSide {
    /// Encrypted, with these facts.
    Encrypted {
        /// The client's chain.
        peer_chain: Vec<SslCertificate>,
        /// The SNI name.
        server_name: Option<String>,
        /// ALPN.
        alpn: Option<Vec<u8>>,
        /// Protocol.
        protocol: sslsocket::SslProtocol,
        /// Verification errors (tolerated ones: QueryPeer, or ignored).
        handshake_errors: Vec<sslsocket::SslError>,
    },
    /// The handshake failed.
    Failed(HandshakeFailure),
    /// Accepting failed (e.g. nobody came before the timeout).
    NotAccepted(Error),
}

/// A client configuration trusting exactly `ca`.
#[must_use]
pub fn trusting(ca: &SslCertificate) -> SslConfiguration {
    SslConfiguration {
        ca_certificates: vec![ca.clone()],
        system_ca_certificates: false,
        ..SslConfiguration::default()
    }
}
