//! [`OpensslSession`]: one OpenSSL `SslStream` over an in-memory [`Pipe`] behind
//! [`SslSession`].

use std::fmt;
use std::io::{self, Read, Write};

use openssl::ssl::{
    Error as EngineError, ErrorCode, NameType, SslCipherRef, SslStream, SslVersion,
};
use ssl_api::{
    IoStatus, Role, SslCertificate, SslCipher, SslError, SslProtocol, SslSession, TlsError,
    TlsVersion,
};

use crate::error::tls_error;
use crate::pipe::Pipe;
use crate::verify::Recorder;

/// The most plaintext one [`SslSession::write_plaintext`] call encrypts, and the ciphertext
/// backlog above which it takes nothing until `write_tls` has drained it.
const WRITE_CHUNK: usize = 64 * 1024;

/// One TLS session over OpenSSL. Made by [`crate::OpensslContext`].
///
/// [`SslSession::process_new_packets`] drives the handshake (`SSL_do_handshake`) until it is
/// done; after that it has OpenSSL decrypt the next complete record inside its own record
/// buffer (`SSL_peek` of one byte) and reports that record's plaintext (`SSL_pending`).
/// [`SslSession::read_plaintext`] copies plaintext with `SSL_read` straight into the caller's
/// buffer and decrypts the next record the same way as soon as one is used up, so no
/// plaintext is ever copied into a buffer of this session. The engine's errors are sticky:
/// once one is returned, every later call returns it again.
pub struct OpensslSession {
    stream: SslStream<Pipe>,
    role: Role,
    /// The verify callback's record; `None` under `VerifyNone`.
    recorder: Option<Recorder>,
    /// What the connection that made the offered session found: the verification result if
    /// the server resumes it (no verify callback runs then).
    inherited: Option<Vec<SslError>>,
    /// The recorder's result as of the last `process_new_packets`.
    verification: Option<Vec<SslError>>,
    /// The peer's close_notify arrived (`SSL_ERROR_ZERO_RETURN`).
    peer_closed: bool,
    /// The fatal error, once there is one.
    error: Option<TlsError>,
}

impl OpensslSession {
    pub(crate) fn new(
        stream: SslStream<Pipe>,
        role: Role,
        recorder: Option<Recorder>,
        inherited: Option<Vec<SslError>>,
    ) -> OpensslSession {
        OpensslSession {
            stream,
            role,
            recorder,
            inherited,
            verification: None,
            peer_closed: false,
            error: None,
        }
    }

    /// Runs the first handshake step, so that a client's ClientHello is ready to write.
    pub(crate) fn start(&mut self) -> Result<(), TlsError> {
        self.handshake()
    }

    /// Whether this session resumed an earlier one (`SSL_session_reused`).
    #[must_use]
    pub fn is_resumed(&self) -> bool {
        self.stream.ssl().session_reused()
    }

    /// One `SSL_do_handshake` step; "want read" is not an error, only a pause.
    fn handshake(&mut self) -> Result<(), TlsError> {
        match self.stream.do_handshake() {
            Ok(()) => Ok(()),
            Err(err) if is_pause(err.code()) => Ok(()),
            Err(err) => Err(tls_error(&err)),
        }
    }

    /// Has OpenSSL decrypt the next record when none is waiting to be read and the pipe holds
    /// one (`SSL_peek` of one byte, which leaves the record in OpenSSL's buffer); afterwards
    /// `SSL_pending` counts its plaintext. Messages that are not application data (TLS 1.3
    /// tickets and key updates) are handled on the way; close_notify sets `peer_closed`.
    fn decrypt_next(&mut self) -> Result<(), TlsError> {
        let mut byte = [0u8; 1];
        while !self.peer_closed && self.error.is_none() && self.plaintext_ready() == 0 {
            let unread = self.stream.get_ref().incoming_len();
            match self.stream.ssl_peek(&mut byte) {
                Ok(_) => break,
                // Without `SSL_MODE_AUTO_RETRY` (on by default since OpenSSL 1.1.1) a
                // handshake message ends the call; the next record may already be there.
                Err(err) if is_pause(err.code()) => {
                    if self.stream.get_ref().incoming_len() == unread {
                        break;
                    }
                }
                Err(err) => self.absorb(&err)?,
            }
        }
        Ok(())
    }

    /// What an `SSL_read` / `SSL_peek` error means: close_notify (`SSL_ERROR_ZERO_RETURN`)
    /// sets `peer_closed`; "want read" is only a pause; anything else is fatal.
    fn absorb(&mut self, err: &EngineError) -> Result<(), TlsError> {
        match err.code() {
            ErrorCode::ZERO_RETURN => {
                self.peer_closed = true;
                Ok(())
            }
            code if is_pause(code) => Ok(()),
            _ => Err(tls_error(err)),
        }
    }

    fn advance(&mut self) -> Result<(), TlsError> {
        if !self.stream.ssl().is_init_finished() {
            self.handshake()?;
            if !self.stream.ssl().is_init_finished() {
                return Ok(());
            }
        }
        self.decrypt_next()
    }

    /// [`Self::decrypt_next`] from `read_plaintext`, which has no error to return: a fatal
    /// error is kept for the next `process_new_packets`. Only once the handshake is done.
    fn decrypt_next_or_keep_error(&mut self) {
        if self.stream.ssl().is_init_finished() {
            if let Err(err) = self.decrypt_next() {
                self.fail(err);
            }
        }
    }

    fn fail(&mut self, err: TlsError) -> TlsError {
        self.error = Some(err.clone());
        err
    }

    /// Plaintext of the current record that `SSL_read` returns without reading the pipe
    /// (`SSL_pending`).
    fn plaintext_ready(&self) -> usize {
        self.stream.ssl().pending()
    }

    /// Bytes of memory the pipe holds.
    #[cfg(test)]
    pub(crate) fn pipe_capacity(&self) -> usize {
        self.stream.get_ref().capacity()
    }
}

impl SslSession for OpensslSession {
    /// Reads once from `rd` straight into the pipe: up to 4 KiB into a newly allocated pipe
    /// buffer, up to 64 KiB once a read has filled it.
    fn read_tls(&mut self, rd: &mut dyn Read) -> io::Result<usize> {
        self.stream.get_mut().fill_from(rd)
    }

    /// Writes the ciphertext OpenSSL has produced; what `wr` does not take is kept.
    fn write_tls(&mut self, wr: &mut dyn Write) -> io::Result<usize> {
        self.stream.get_mut().drain_to(wr)
    }

    /// `SSL_do_handshake` while the handshake runs; then, unless a record's plaintext is still
    /// unread, `SSL_peek` decrypts the next complete record (also with no new input), and
    /// `plaintext_bytes_to_read` is that record's plaintext (`SSL_pending`). Picks up what the
    /// verify callback recorded.
    fn process_new_packets(&mut self) -> Result<IoStatus, TlsError> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        let result = self.advance();
        if let Some(recorder) = &self.recorder {
            self.verification = if self.role == Role::Client && self.is_resumed() {
                self.inherited.clone()
            } else {
                recorder.snapshot()
            };
        }
        result.map_err(|err| self.fail(err))?;
        Ok(IoStatus {
            tls_bytes_to_write: self.stream.get_ref().outgoing_len(),
            plaintext_bytes_to_read: self.plaintext_ready(),
            peer_has_closed: self.peer_closed,
        })
    }

    /// `SSL_read` straight into `buf`, record after record while `buf` has room and complete
    /// records are in the pipe (each one decrypted with `SSL_peek` as the previous one is used
    /// up). `WouldBlock` when no plaintext is ready, `Ok(0)` after close_notify,
    /// `UnexpectedEof` when the transport ended without one. A fatal error met while
    /// decrypting a record ends the read (`WouldBlock` if nothing was read) and is returned by
    /// the next `process_new_packets`.
    fn read_plaintext(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.plaintext_ready() == 0 && self.stream.get_ref().incoming_len() > 0 {
            // Ciphertext read since the last `process_new_packets`.
            self.decrypt_next_or_keep_error();
        }
        let mut filled = 0;
        while filled < buf.len() {
            let ready = self.plaintext_ready();
            if ready == 0 {
                break;
            }
            // Within the current record, so `SSL_read` does not touch the pipe.
            let end = buf.len().min(filled + ready);
            match self.stream.ssl_read(&mut buf[filled..end]) {
                Ok(n) => filled += n,
                Err(err) => {
                    if let Err(err) = self.absorb(&err) {
                        self.fail(err);
                    }
                    break;
                }
            }
            if self.plaintext_ready() == 0 {
                self.decrypt_next_or_keep_error();
            }
        }
        if filled > 0 || (buf.is_empty() && self.plaintext_ready() > 0) {
            Ok(filled)
        } else if self.peer_closed {
            Ok(0)
        } else if self.stream.get_ref().is_eof() {
            Err(io::ErrorKind::UnexpectedEof.into())
        } else {
            Err(io::ErrorKind::WouldBlock.into())
        }
    }

    /// `SSL_write` of at most 64 KiB. Takes nothing while the handshake is in progress or
    /// while 64 KiB of ciphertext wait for `write_tls`.
    fn write_plaintext(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(err) = &self.error {
            return Err(io::Error::new(io::ErrorKind::InvalidData, err.clone()));
        }
        if buf.is_empty()
            || !self.stream.ssl().is_init_finished()
            || self.stream.get_ref().outgoing_len() >= WRITE_CHUNK
        {
            return Ok(0);
        }
        let chunk = &buf[..buf.len().min(WRITE_CHUNK)];
        match self.stream.ssl_write(chunk) {
            Ok(n) => Ok(n),
            Err(err) => {
                let err = self.fail(tls_error(&err));
                Err(io::Error::new(io::ErrorKind::InvalidData, err))
            }
        }
    }

    /// `SSL_shutdown`: queues close_notify. Its "want read" (the peer's close_notify has not
    /// arrived) and any refusal (a session that never finished its handshake) are ignored.
    fn send_close_notify(&mut self) {
        let _ = self.stream.shutdown();
    }

    /// Not after close_notify or a fatal error, nor while a decrypted record waits to be read
    /// (so that memory stays bounded when the application reads slowly).
    fn wants_read(&self) -> bool {
        !self.peer_closed && self.error.is_none() && self.plaintext_ready() == 0
    }

    fn wants_write(&self) -> bool {
        self.stream.get_ref().outgoing_len() > 0
    }

    /// `!SSL_is_init_finished`.
    fn is_handshaking(&self) -> bool {
        !self.stream.ssl().is_init_finished()
    }

    /// Every error OpenSSL's path validation and name check reported, each with the
    /// certificate it concerns, in the order found. `None` until the verify callback has run
    /// (it does not run when the peer sends no certificate, under `VerifyNone`, or on a
    /// resumed session). A resumed client session reports what the connection that made its
    /// session found, from the client context's cache.
    fn verification_errors(&self) -> Option<&[SslError]> {
        self.verification.as_deref()
    }

    /// `SSL_get_peer_cert_chain`, which holds the leaf on a client but not on a server, where
    /// the leaf comes from `SSL_get_peer_certificate`. Certificates that do not parse are left
    /// out.
    /// `SSL_get1_peer_certificate` (the leaf, in either role), without converting the chain.
    fn has_peer_certificate(&self) -> bool {
        self.stream.ssl().peer_certificate().is_some()
    }

    fn peer_certificate_chain(&self) -> Vec<SslCertificate> {
        let ssl = self.stream.ssl();
        let mut chain = Vec::new();
        if self.role == Role::Server {
            chain.extend(ssl.peer_certificate());
        }
        if let Some(stack) = ssl.peer_cert_chain() {
            chain.extend(stack.iter().map(|cert| cert.to_owned()));
        }
        chain
            .iter()
            .filter_map(|cert| cert.to_der().ok())
            .filter_map(|der| SslCertificate::from_der(&der).ok())
            .collect()
    }

    /// `SSL_version`, once the handshake has got that far.
    fn protocol_version(&self) -> Option<TlsVersion> {
        let ssl = self.stream.ssl();
        ssl.current_cipher()?;
        match ssl.version2()? {
            v if v == SslVersion::TLS1_3 => Some(TlsVersion::Tls1_3),
            v if v == SslVersion::TLS1_2 => Some(TlsVersion::Tls1_2),
            v if v == SslVersion::TLS1_1 => Some(TlsVersion::Tls1_1),
            v if v == SslVersion::TLS1 => Some(TlsVersion::Tls1_0),
            _ => None,
        }
    }

    /// `SSL_get_current_cipher`, described from its IANA name.
    fn cipher(&self) -> Option<SslCipher> {
        self.stream.ssl().current_cipher().map(cipher_description)
    }

    /// `SSL_get0_alpn_selected`.
    fn alpn_protocol(&self) -> Option<Vec<u8>> {
        self.stream.ssl().selected_alpn_protocol().map(<[u8]>::to_vec)
    }

    /// `SSL_get_servername` on a server (`None` on a client).
    fn server_name(&self) -> Option<String> {
        match self.role {
            Role::Server => self.stream.ssl().servername(NameType::HOST_NAME).map(str::to_owned),
            Role::Client => None,
        }
    }
}

/// Shows the session's public facts only: never keys, secrets or buffered data.
impl fmt::Debug for OpensslSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpensslSession")
            .field("role", &self.role)
            .field("handshaking", &self.is_handshaking())
            .field("protocol", &self.protocol_version())
            .field("verify", &self.recorder.is_some())
            .field("verification_errors", &self.verification.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

/// Whether an `SslStream` error only means "call again with more input" (or output room,
/// which the pipe always has).
fn is_pause(code: ErrorCode) -> bool {
    code == ErrorCode::WANT_READ || code == ErrorCode::WANT_WRITE
}

/// Describes a libssl suite: from its IANA name (`SSL_CIPHER_standard_name`) where
/// [`SslCipher::from_iana_name`] knows it, else from libssl's own name, version and bits.
pub(crate) fn cipher_description(cipher: &SslCipherRef) -> SslCipher {
    if let Some(described) = cipher.standard_name().and_then(SslCipher::from_iana_name) {
        return described;
    }
    let bits = cipher.bits();
    let protocol = match cipher.version() {
        "TLSv1.3" => SslProtocol::TlsV1_3,
        "TLSv1.2" => SslProtocol::TlsV1_2,
        "TLSv1.1" => SslProtocol::TlsV1_1,
        "TLSv1.0" | "TLSv1" => SslProtocol::TlsV1_0,
        _ => SslProtocol::UnknownProtocol,
    };
    SslCipher {
        name: cipher.standard_name().unwrap_or(cipher.name()).to_owned(),
        protocol,
        used_bits: u32::try_from(bits.secret).unwrap_or(0),
        supported_bits: u32::try_from(bits.algorithm).unwrap_or(0),
        key_exchange: "unknown".to_owned(),
        authentication: "unknown".to_owned(),
        encryption: cipher.name().to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use ssl_api::testing;

    use super::*;
    use crate::OpensslContext;

    #[test]
    fn an_idle_session_holds_no_pipe_memory() {
        testing::an_idle_session_holds_no_buffer_memory(
            pair(),
            64 * 1024,
            OpensslSession::pipe_capacity,
            |_| {},
        );
    }

    /// A client (verifying nothing) and a server with a self-signed certificate, handshake
    /// done.
    fn pair() -> (OpensslSession, OpensslSession) {
        testing::handshaken(|config, role, peer| {
            OpensslContext::new(config, role).unwrap().session(peer).unwrap()
        })
    }
}
