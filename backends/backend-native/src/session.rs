//! [`NativeSession`]: one native-tls stream (client or server) over an in-memory [`Pipe`],
//! behind [`SslSession`].

use std::error::Error as StdError;
use std::fmt;
use std::io::{self, Read, Write};

use native_tls::{HandshakeError, MidHandshakeTlsStream, TlsStream};
use ssl_api::{
    IoStatus, Role, SslCertificate, SslCipher, SslError, SslSession, TlsError, TlsErrorKind,
    TlsVersion,
};

use crate::error::{classify, tls_error};
use crate::pipe::{Pipe, PipeEnd, MAX_INCOMING};
use crate::verify::{self, Verification};

/// At most this many plaintext bytes are given to the engine per `write_plaintext` call: one
/// maximal TLS record.
const WRITE_CHUNK: usize = 16 * 1024;

/// `write_plaintext` takes nothing while this much ciphertext waits for `write_tls`.
const MAX_OUTGOING: usize = 64 * 1024;

/// The most plaintext one TLS record holds: what the plaintext buffer takes at most.
const RECORD_PLAINTEXT: usize = 16 * 1024;

/// The first read of [`NativeSession::decrypt_next`] goes to a stack buffer of this size, so
/// that asking with nothing there, or getting a short message, allocates nothing big.
const PROBE: usize = 1024;

/// Where the engine is.
pub(crate) enum State {
    /// `HandshakeError::WouldBlock`: the handshake waits for more ciphertext.
    Handshaking(MidHandshakeTlsStream<Pipe>),
    /// The handshake is complete.
    Established(TlsStream<Pipe>),
    /// The engine failed (the stream is gone); the error is kept.
    Failed,
}

/// One TLS session over a native-tls stream. Made by [`crate::NativeContext`].
///
/// native-tls is a blocking-style API; here it runs over an in-memory pipe that answers
/// `WouldBlock` when it is empty, so each [`SslSession::process_new_packets`] call advances
/// the handshake as far as the buffered ciphertext allows (`MidHandshakeTlsStream::handshake`)
/// and then, if no decrypted plaintext is waiting, decrypts the next record (one
/// `TlsStream::read`, also with no new input) into a plaintext buffer, whose size it reports.
/// native-tls cannot say how much plaintext it holds without handing it out, so that buffer
/// stays; but [`SslSession::read_plaintext`], once the buffer is empty, reads the following
/// records with `TlsStream::read` straight into the caller's buffer. The plaintext buffer is
/// allocated when a record needs it and freed as soon as it is read.
///
/// What it can tell about the session: the peer's leaf certificate
/// (`TlsStream::peer_certificate`) and the ALPN protocol (`TlsStream::negotiated_alpn`). Not
/// the peer's chain, the protocol version, the cipher suite or the SNI name: native-tls does
/// not say.
pub struct NativeSession {
    state: State,
    pipe: PipeEnd,
    verification: Verification,
    role: Role,
    handshake_done: bool,
    /// Decrypted and not yet read: `plaintext[plaintext_pos..]` (empty when nothing waits).
    plaintext: Vec<u8>,
    plaintext_pos: usize,
    /// The peer's close_notify arrived.
    peer_closed: bool,
    /// The transport ended without close_notify.
    truncated: bool,
    close_notify_sent: bool,
    /// The fatal error, returned again by every later `process_new_packets`.
    error: Option<TlsError>,
    verification_errors: Option<Vec<SslError>>,
    /// The peer's leaf, kept when the stream is dropped after a failure; while the session is
    /// established the engine holds it (no copy in memory).
    peer_leaf: Option<SslCertificate>,
    alpn: Option<Vec<u8>>,
}

impl NativeSession {
    pub(crate) fn new(
        state: State,
        pipe: PipeEnd,
        verification: Verification,
        role: Role,
    ) -> NativeSession {
        let mut session = NativeSession {
            state: State::Failed,
            pipe,
            verification,
            role,
            handshake_done: false,
            plaintext: Vec::new(),
            plaintext_pos: 0,
            peer_closed: false,
            truncated: false,
            close_notify_sent: false,
            error: None,
            verification_errors: None,
            peer_leaf: None,
            alpn: None,
        };
        if let State::Established(stream) = &state {
            session.on_established(stream);
        }
        session.state = state;
        session
    }

    /// Which end of the connection this session is.
    #[must_use]
    pub fn role(&self) -> Role {
        self.role
    }

    /// `MidHandshakeTlsStream::handshake` once more.
    fn advance_handshake(&mut self) -> Result<(), TlsError> {
        let State::Handshaking(mid) = std::mem::replace(&mut self.state, State::Failed) else {
            return Ok(());
        };
        match mid.handshake() {
            Ok(stream) => {
                self.on_established(&stream);
                self.state = State::Established(stream);
                Ok(())
            }
            Err(HandshakeError::WouldBlock(mid)) => {
                self.state = State::Handshaking(mid);
                Ok(())
            }
            Err(HandshakeError::Failure(err)) => Err(self.fail(&err)),
        }
    }

    /// Records the facts of a completed handshake (the peer's certificate stays with the
    /// engine: see [`leaf`]).
    fn on_established(&mut self, stream: &TlsStream<Pipe>) {
        self.handshake_done = true;
        self.alpn = stream.negotiated_alpn().ok().flatten();
        if self.verification == Verification::Strict {
            // The engine verified the chain and the name, or the handshake would have failed.
            self.verification_errors = Some(Vec::new());
        }
    }

    /// Decrypts the next record into the plaintext buffer when that is empty: one
    /// `TlsStream::read` into a small stack buffer and, when that fills it, one more for the
    /// rest of the record (at most [`RECORD_PLAINTEXT`] in all). The buffer is allocated to
    /// what arrived.
    ///
    /// # Errors
    /// A fatal error from the second read; what the first one read stays readable.
    fn decrypt_next(&mut self) -> Result<(), TlsError> {
        if self.buffered() > 0 {
            return Ok(());
        }
        let mut probe = [0u8; PROBE];
        let n = self.engine_read(&mut probe)?;
        if n == 0 {
            return Ok(());
        }
        self.plaintext_pos = 0;
        if n < PROBE {
            self.plaintext = probe[..n].to_vec();
            return Ok(());
        }
        let mut record = Vec::with_capacity(RECORD_PLAINTEXT);
        record.extend_from_slice(&probe);
        record.resize(RECORD_PLAINTEXT, 0);
        let more = self.engine_read(&mut record[PROBE..]);
        record.truncate(PROBE + *more.as_ref().unwrap_or(&0));
        self.plaintext = record;
        more.map(|_| ())
    }

    /// One `TlsStream::read` into `buf` (not empty): the bytes read, or 0 when there is nothing
    /// now (`WouldBlock`), after close_notify or once the transport has ended.
    fn engine_read(&mut self, buf: &mut [u8]) -> Result<usize, TlsError> {
        if self.peer_closed || self.truncated || buf.is_empty() {
            return Ok(0);
        }
        let State::Established(stream) = &mut self.state else { return Ok(0) };
        match stream.read(buf) {
            // close_notify; or, once the pipe has reported the end of the transport, the
            // engine's way of saying it ended first (OpenSSL 1.1: SSL_ERROR_SYSCALL).
            Ok(0) => {
                if self.pipe.eof_delivered() {
                    self.truncated = true;
                } else {
                    self.peer_closed = true;
                }
                Ok(0)
            }
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            // OpenSSL 3: SSL_R_UNEXPECTED_EOF_WHILE_READING.
            Err(e)
                if self.pipe.eof_delivered()
                    && matches!(
                        classify(&e).kind,
                        TlsErrorKind::UnexpectedEof | TlsErrorKind::Internal
                    ) =>
            {
                self.truncated = true;
                Ok(0)
            }
            Err(e) => Err(self.fail(&e)),
        }
    }

    /// Decrypted bytes waiting in the plaintext buffer.
    fn buffered(&self) -> usize {
        self.plaintext.len() - self.plaintext_pos
    }

    /// Copies buffered plaintext into `buf`; frees the buffer once it is read.
    fn take_buffered(&mut self, buf: &mut [u8]) -> usize {
        let available = &self.plaintext[self.plaintext_pos..];
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.plaintext_pos += n;
        if self.plaintext_pos == self.plaintext.len() {
            self.plaintext = Vec::new();
            self.plaintext_pos = 0;
        }
        n
    }

    /// Ends the session with `err`: classified, kept, and under strict verification a
    /// certificate rejection recorded as a verification error.
    fn fail(&mut self, err: &(dyn StdError + 'static)) -> TlsError {
        let classified = classify(err);
        let kind = match classified.kind {
            TlsErrorKind::Internal if self.pipe.eof_delivered() => TlsErrorKind::UnexpectedEof,
            kind => kind,
        };
        if classified.trust && self.verification == Verification::Strict {
            self.verification_errors = Some(verify::rejected());
        }
        let error = tls_error(kind, err);
        if let State::Established(stream) = &self.state {
            // The stream goes; its facts stay readable.
            self.peer_leaf = leaf(stream);
        }
        self.state = State::Failed;
        self.error = Some(error.clone());
        error
    }

    /// Bytes of memory the pipe and the plaintext buffer hold.
    #[cfg(test)]
    pub(crate) fn buffer_capacity(&self) -> usize {
        self.pipe.capacity() + self.plaintext.capacity()
    }

    fn status(&self) -> IoStatus {
        IoStatus {
            tls_bytes_to_write: self.pipe.outgoing_len(),
            plaintext_bytes_to_read: self.buffered(),
            peer_has_closed: self.peer_closed,
        }
    }
}

impl SslSession for NativeSession {
    /// Reads once from `rd` straight into the pipe: up to 4 KiB into a newly allocated pipe
    /// buffer, up to 64 KiB once a read has filled it.
    fn read_tls(&mut self, rd: &mut dyn Read) -> io::Result<usize> {
        self.pipe.fill_from(rd)
    }

    /// Writes the engine's ciphertext from the pipe to `wr` (also after a fatal error: the
    /// engine's alert).
    fn write_tls(&mut self, wr: &mut dyn Write) -> io::Result<usize> {
        self.pipe.drain_to(wr)
    }

    /// `MidHandshakeTlsStream::handshake` while handshaking; then, unless decrypted plaintext
    /// is waiting, one `TlsStream::read` decrypts the next record into the plaintext buffer
    /// (also with no new input), and `plaintext_bytes_to_read` is what that buffer holds.
    ///
    /// Under strict verification a rejected certificate fails here with
    /// `TlsErrorKind::PeerCertificate` (where the platform library's error codes say so;
    /// `Internal` otherwise), and [`SslSession::verification_errors`] then reports it.
    fn process_new_packets(&mut self) -> Result<IoStatus, TlsError> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        if matches!(self.state, State::Handshaking(_)) {
            self.advance_handshake()?;
        }
        if matches!(self.state, State::Established(_)) {
            self.decrypt_next()?;
        }
        Ok(self.status())
    }

    /// The plaintext buffer first, then `TlsStream::read` straight into the rest of `buf`
    /// while complete records are in the pipe. `WouldBlock` when no plaintext is ready,
    /// `Ok(0)` after close_notify, `UnexpectedEof` when the transport ended without one. A
    /// fatal error met while decrypting ends the read (`WouldBlock` if nothing was read) and
    /// is returned by the next `process_new_packets`.
    fn read_plaintext(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let had_plaintext = self.buffered() > 0;
        let mut filled = self.take_buffered(buf);
        while filled < buf.len() && self.error.is_none() {
            match self.engine_read(&mut buf[filled..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => filled += n,
            }
        }
        if filled > 0 || (buf.is_empty() && had_plaintext) {
            Ok(filled)
        } else if self.peer_closed {
            Ok(0)
        } else if self.truncated {
            Err(io::ErrorKind::UnexpectedEof.into())
        } else {
            Err(io::ErrorKind::WouldBlock.into())
        }
    }

    /// `TlsStream::write`, at most one record per call. Takes nothing (`Ok(0)`) before the
    /// handshake is complete or while 64 KiB of ciphertext wait for `write_tls`.
    fn write_plaintext(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(err) = &self.error {
            return Err(io::Error::other(err.clone()));
        }
        let State::Established(stream) = &mut self.state else { return Ok(0) };
        if buf.is_empty() || self.pipe.outgoing_len() >= MAX_OUTGOING {
            return Ok(0);
        }
        let n = buf.len().min(WRITE_CHUNK);
        match stream.write(&buf[..n]) {
            Ok(n) => Ok(n),
            // The engine needs to read first (a renegotiation or key update in progress).
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            Err(e) => Err(io::Error::other(self.fail(&e))),
        }
    }

    /// `TlsStream::shutdown`, once; before the handshake is complete, nothing.
    fn send_close_notify(&mut self) {
        if let State::Established(stream) = &mut self.state {
            if !self.close_notify_sent {
                // The alert goes into the pipe; a `WouldBlock` only means the peer's
                // close_notify has not arrived yet, which is not waited for.
                let _ = stream.shutdown();
                self.close_notify_sent = true;
            }
        }
    }

    /// More ciphertext is welcome while the handshake runs, and afterwards while no plaintext
    /// waits to be read and the peer has not closed.
    fn wants_read(&self) -> bool {
        let room = self.pipe.incoming_len() < MAX_INCOMING;
        match self.state {
            State::Handshaking(_) => room,
            State::Established(_) => {
                room && self.buffered() == 0 && !self.peer_closed && !self.truncated
            }
            State::Failed => false,
        }
    }

    fn wants_write(&self) -> bool {
        self.pipe.outgoing_len() > 0
    }

    fn is_handshaking(&self) -> bool {
        !self.handshake_done
    }

    /// Client under strict verification only: `Some([])` once the handshake is complete,
    /// `Some([UnspecifiedError])` after the engine rejected the certificate; `None` otherwise
    /// (see the crate docs: native-tls reports no error list).
    fn verification_errors(&self) -> Option<&[SslError]> {
        self.verification_errors.as_deref()
    }

    /// The peer's leaf certificate only (`TlsStream::peer_certificate`): native-tls does not
    /// give the chain. Empty on a server (it never requests a client certificate).
    fn peer_certificate_chain(&self) -> Vec<SslCertificate> {
        match &self.state {
            State::Established(stream) => leaf(stream).into_iter().collect(),
            _ => self.peer_leaf.iter().cloned().collect(),
        }
    }

    /// `None`: native-tls does not say.
    fn protocol_version(&self) -> Option<TlsVersion> {
        None
    }

    /// `None`: native-tls does not say.
    fn cipher(&self) -> Option<SslCipher> {
        None
    }

    /// `TlsStream::negotiated_alpn`.
    fn alpn_protocol(&self) -> Option<Vec<u8>> {
        self.alpn.clone()
    }

    /// `None`: native-tls does not give the SNI name to a server.
    fn server_name(&self) -> Option<String> {
        None
    }
}

/// Shows the session's public facts only: never keys, secrets or buffered data.
impl fmt::Debug for NativeSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Handshaking(_) => "handshaking",
            State::Established(_) => "established",
            State::Failed => "failed",
        };
        f.debug_struct("NativeSession")
            .field("role", &self.role)
            .field("state", &state)
            .field("verification", &self.verification)
            .field("verification_errors", &self.verification_errors.as_ref().map(Vec::len))
            .field("peer_closed", &self.peer_closed)
            .finish_non_exhaustive()
    }
}

/// The peer's leaf certificate (`TlsStream::peer_certificate` gives the leaf only), if it
/// sent one that parses.
fn leaf(stream: &TlsStream<Pipe>) -> Option<SslCertificate> {
    let cert = stream.peer_certificate().ok().flatten()?;
    SslCertificate::from_der(&cert.to_der().ok()?).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use ssl_api::testing;

    use super::*;
    use crate::NativeContext;

    #[test]
    fn an_idle_session_holds_no_buffer_memory() {
        testing::an_idle_session_holds_no_buffer_memory(
            pair(),
            10_000,
            NativeSession::buffer_capacity,
            |server| assert!(server.buffer_capacity() > 0, "a decrypted record waits"),
        );
    }

    /// A client (verifying nothing) and a server with a self-signed certificate, handshake
    /// done.
    fn pair() -> (NativeSession, NativeSession) {
        testing::handshaken(|config, role, peer| {
            NativeContext::new(config, role).unwrap().session(peer).unwrap()
        })
    }
}
