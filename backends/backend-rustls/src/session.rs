//! [`RustlsSession`]: one `rustls::Connection` (client or server) behind [`SslSession`].

use std::fmt;
use std::io::{self, Read, Write};
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{Connection, HandshakeKind};
use ssl_api::{IoStatus, SslCertificate, SslCipher, SslError, SslSession, TlsError, TlsVersion};

use crate::backend::iana_name;
use crate::error::tls_error;
use crate::verify::ChainVerifier;

/// One TLS session over a rustls connection. Made by [`crate::RustlsContext`].
///
/// The peer's chain is verified as soon as rustls has recorded it, inside
/// [`SslSession::process_new_packets`], and the result is kept for
/// [`SslSession::verification_errors`]. rustls's own verifier only checks what must fail the
/// handshake (a decodable certificate, valid handshake signatures): a verifier inside rustls
/// cannot tell which session it serves, and one verifier per session would disable resumption.
/// A resumed session reports the errors of the chain it resumes, reusing the verdict its
/// context computed for that chain within the last minute (see [`RustlsSession::is_resumed`]).
pub struct RustlsSession {
    conn: Connection,
    /// The context's trust checks; `None` under `VerifyNone`.
    chain_verifier: Option<Arc<ChainVerifier>>,
    /// The name the client checks the server's certificate against (client sessions only).
    peer_name: Option<ServerName<'static>>,
    /// The verification result, once the peer's chain is known.
    verification: Option<Vec<SslError>>,
}

impl RustlsSession {
    pub(crate) fn new(
        conn: Connection,
        chain_verifier: Option<Arc<ChainVerifier>>,
        peer_name: Option<ServerName<'static>>,
    ) -> RustlsSession {
        RustlsSession { conn, chain_verifier, peer_name, verification: None }
    }

    /// Whether this session resumed an earlier one (`CommonState::handshake_kind`); `None`
    /// while the handshake has not got that far.
    #[must_use]
    pub fn is_resumed(&self) -> Option<bool> {
        self.conn.handshake_kind().map(|kind| kind == HandshakeKind::Resumed)
    }

    /// Verifies the peer's chain once rustls has recorded it (`CommonState::peer_certificates`:
    /// after the peer's Certificate message, or restored from the session being resumed).
    ///
    /// A resumed session (`CommonState::handshake_kind`) takes the verdict its context keeps
    /// for the chain ([`ChainVerifier::verify_resumed`]); a full handshake always validates.
    /// rustls records the kind before a full handshake's Certificate message and in the same
    /// step as a resumed session's chain, so the kind is known whenever the chain is. Were it
    /// not, verification waits for it while the handshake runs, and runs in full once the
    /// handshake is over: no session finishes its handshake without a verdict.
    fn verify_peer_once(&mut self) {
        if self.verification.is_some() {
            return;
        }
        let Some(verifier) = &self.chain_verifier else { return };
        let Some(chain) = self.conn.peer_certificates().filter(|chain| !chain.is_empty()) else {
            return;
        };
        let name = self.peer_name.as_ref();
        let errors = match self.conn.handshake_kind() {
            Some(HandshakeKind::Resumed) => verifier.verify_resumed(chain, name),
            Some(HandshakeKind::Full | HandshakeKind::FullWithHelloRetryRequest) => {
                verifier.verify(chain, name)
            }
            None if self.conn.is_handshaking() => return,
            None => verifier.verify(chain, name),
        };
        self.verification = Some(errors);
    }
}

impl SslSession for RustlsSession {
    /// `Connection::read_tls`. rustls refuses to read, without calling `rd`, when its
    /// received-plaintext or message buffer is full; that refusal is reported as
    /// [`ssl_api::pipe::IncomingFull`], as the other backends report theirs. `rd`'s own errors
    /// pass unchanged.
    fn read_tls(&mut self, rd: &mut dyn Read) -> io::Result<usize> {
        let mut watched = Watched { inner: rd, failed: false };
        match self.conn.read_tls(&mut watched) {
            Err(_) if !watched.failed => Err(ssl_api::pipe::IncomingFull.into()),
            result => result,
        }
    }

    /// `Connection::write_tls`.
    fn write_tls(&mut self, wr: &mut dyn Write) -> io::Result<usize> {
        self.conn.write_tls(wr)
    }

    /// `Connection::process_new_packets`, then the trust checks if the peer's chain has just
    /// become known.
    fn process_new_packets(&mut self) -> Result<IoStatus, TlsError> {
        let state = self.conn.process_new_packets().map_err(|e| tls_error(&e))?;
        self.verify_peer_once();
        Ok(IoStatus {
            tls_bytes_to_write: state.tls_bytes_to_write(),
            plaintext_bytes_to_read: state.plaintext_bytes_to_read(),
            peer_has_closed: state.peer_has_closed(),
        })
    }

    /// `Reader::read`: `WouldBlock` when nothing is buffered, `Ok(0)` after close_notify,
    /// `UnexpectedEof` when the transport ended without one.
    fn read_plaintext(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.conn.reader().read(buf)
    }

    /// `Writer::write`.
    fn write_plaintext(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.conn.writer().write(buf)
    }

    /// `CommonState::send_close_notify`.
    fn send_close_notify(&mut self) {
        self.conn.send_close_notify();
    }

    fn wants_read(&self) -> bool {
        self.conn.wants_read()
    }

    fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// rustls reports at most one path error (webpki stops at the first) plus, on a client,
    /// a name error; each names the leaf certificate.
    fn verification_errors(&self) -> Option<&[SslError]> {
        self.verification.as_deref()
    }

    /// `CommonState::peer_certificates`; certificates that do not parse are left out.
    fn peer_certificate_chain(&self) -> Vec<SslCertificate> {
        self.conn
            .peer_certificates()
            .unwrap_or_default()
            .iter()
            .filter_map(|der| SslCertificate::from_der(der).ok())
            .collect()
    }

    /// `CommonState::peer_certificates`, without parsing them.
    fn has_peer_certificate(&self) -> bool {
        self.conn.peer_certificates().is_some_and(|chain| !chain.is_empty())
    }

    /// `CommonState::protocol_version`.
    fn protocol_version(&self) -> Option<TlsVersion> {
        match self.conn.protocol_version()? {
            rustls::ProtocolVersion::TLSv1_3 => Some(TlsVersion::Tls1_3),
            rustls::ProtocolVersion::TLSv1_2 => Some(TlsVersion::Tls1_2),
            rustls::ProtocolVersion::TLSv1_1 => Some(TlsVersion::Tls1_1),
            rustls::ProtocolVersion::TLSv1_0 => Some(TlsVersion::Tls1_0),
            _ => None,
        }
    }

    /// `CommonState::negotiated_cipher_suite`.
    fn cipher(&self) -> Option<SslCipher> {
        SslCipher::from_iana_name(&iana_name(self.conn.negotiated_cipher_suite()?)?)
    }

    /// `CommonState::alpn_protocol`.
    fn alpn_protocol(&self) -> Option<Vec<u8>> {
        self.conn.alpn_protocol().map(<[u8]>::to_vec)
    }

    /// `ServerConnection::server_name` (`None` on a client).
    fn server_name(&self) -> Option<String> {
        match &self.conn {
            Connection::Server(server) => server.server_name().map(str::to_owned),
            Connection::Client(_) => None,
        }
    }
}

/// Shows the session's public facts only: never keys, secrets or buffered data.
impl fmt::Debug for RustlsSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let role = match self.conn {
            Connection::Client(_) => "client",
            Connection::Server(_) => "server",
        };
        f.debug_struct("RustlsSession")
            .field("role", &role)
            .field("handshaking", &self.conn.is_handshaking())
            .field("protocol", &self.protocol_version())
            .field("verify", &self.chain_verifier.is_some())
            .field("verification_errors", &self.verification.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

/// A reader that remembers whether it returned an error (to tell the transport's errors from
/// rustls's own refusals in `read_tls`).
struct Watched<'a> {
    inner: &'a mut dyn Read,
    failed: bool,
}

impl Read for Watched<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = self.inner.read(buf);
        self.failed |= result.is_err();
        result
    }
}
