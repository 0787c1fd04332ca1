//! Whether libssl, at a security level, can carry out a protocol range at all: asked of the
//! engine itself, never assumed from its version.
//!
//! What a level refuses differs between OpenSSL versions and builds. On OpenSSL 3.0 at level
//! 1 and above (Debian builds it at level 2) the versions TLS 1.0 and 1.1 are still allowed,
//! but their only handshake signatures (MD5-SHA1, SHA-1) are not
//! (`SSL_R_LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED`), so every forward-secret suite fails and
//! only RSA key transport (no forward secrecy, no handshake signature) could still complete;
//! at level 3 the versions themselves are refused (`SSL_R_NO_PROTOCOLS_AVAILABLE`); a system
//! configuration (`openssl.cnf`: `MinProtocol`, `@SECLEVEL`) may say more. [`refusal`] asks:
//! it runs one in-memory handshake of the engine with itself.
//!
//! A backend asks for a range of legacy versions only, to refuse it with a typed error before
//! any byte instead of letting every modern peer fail the handshake; a range that also allows
//! TLS 1.2 or 1.3 is never refused: it negotiates those.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::rc::Rc;

use openssl::asn1::Asn1Time;
use openssl::ec::{EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::ssl::{
    Ssl, SslContext, SslContextBuilder, SslMethod, SslStream, SslVerifyMode, SslVersion,
};
use openssl::x509::{X509Builder, X509NameBuilder};
use ssl_api::TlsVersion;

/// Handshake rounds after which the probe gives up (a TLS 1.0 / 1.1 handshake takes two).
const MAX_ROUNDS: usize = 8;

/// The security level libssl gives a new context (`SSL_CTX_new`, system configuration
/// applied; `SSL_CTX_get_security_level`): the level a backend that does not set one runs at.
///
/// # Errors
/// libssl cannot make a context.
pub fn default_security_level() -> Result<u32, ErrorStack> {
    Ok(SslContextBuilder::new(SslMethod::tls_client())?.build().security_level())
}

/// Whether libssl refuses the versions `low..=high` at security level `level` (the library's
/// own when `None`): `Some(level)` when it does, `None` when it can carry them out.
///
/// Asked of libssl itself: a client and a server context for the range at that level
/// (`SSL_CTX_new`, `SSL_CTX_set_min_proto_version` / `set_max_proto_version`,
/// `SSL_CTX_set_security_level`), with the engine's default suites and a fresh P-256
/// certificate, run one handshake against each other in memory (`SSL_do_handshake`). The
/// answer is whether it completes. Nothing leaves the process. Meant for ranges of legacy
/// versions: it costs a key generation and a handshake.
///
/// # Errors
/// libssl cannot make the key, the certificate, the contexts or the sessions.
pub fn refusal(
    low: TlsVersion,
    high: TlsVersion,
    level: Option<u32>,
) -> Result<Option<u32>, ErrorStack> {
    let client = context(SslMethod::tls_client(), low, high, level, false)?;
    let server = context(SslMethod::tls_server(), low, high, level, true)?;
    let (to_server, to_client) = (Queue::default(), Queue::default());
    let mut client_ssl = Ssl::new(&client)?;
    client_ssl.set_connect_state();
    let mut server_ssl = Ssl::new(&server)?;
    server_ssl.set_accept_state();
    let mut client_end = SslStream::new(client_ssl, End::new(&to_client, &to_server))?;
    let mut server_end = SslStream::new(server_ssl, End::new(&to_server, &to_client))?;
    let mut done = (false, false);
    for _ in 0..MAX_ROUNDS {
        done.0 = done.0 || step(&mut client_end);
        done.1 = done.1 || step(&mut server_end);
        if done == (true, true) {
            return Ok(None);
        }
    }
    Ok(Some(client.security_level()))
}

/// One `SSL_do_handshake`: whether the handshake is complete. A failed one never completes:
/// the caller's rounds run out.
fn step(end: &mut SslStream<End>) -> bool {
    end.do_handshake().is_ok()
}

/// A probe context for `low..=high` at `level`; a server one with a fresh P-256 certificate.
fn context(
    method: SslMethod,
    low: TlsVersion,
    high: TlsVersion,
    level: Option<u32>,
    server: bool,
) -> Result<SslContext, ErrorStack> {
    let mut builder = SslContextBuilder::new(method)?;
    builder.set_min_proto_version(Some(engine_version(low)))?;
    builder.set_max_proto_version(Some(engine_version(high)))?;
    if let Some(level) = level {
        builder.set_security_level(level);
    }
    builder.set_verify(SslVerifyMode::NONE);
    if server {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
        let key = PKey::from_ec_key(EcKey::generate(&group)?)?;
        let mut name = X509NameBuilder::new()?;
        name.append_entry_by_nid(Nid::COMMONNAME, "libssl-common level probe")?;
        let name = name.build();
        let mut cert = X509Builder::new()?;
        cert.set_version(2)?;
        cert.set_subject_name(&name)?;
        cert.set_issuer_name(&name)?;
        cert.set_pubkey(&key)?;
        cert.set_not_before(Asn1Time::days_from_now(0)?.as_ref())?;
        cert.set_not_after(Asn1Time::days_from_now(1)?.as_ref())?;
        cert.sign(&key, MessageDigest::sha256())?;
        builder.set_certificate(&cert.build())?;
        builder.set_private_key(&key)?;
    }
    Ok(builder.build())
}

/// libssl's `SslVersion` for a [`TlsVersion`] (the one mapping both libssl backends use).
#[must_use]
pub fn engine_version(version: TlsVersion) -> SslVersion {
    match version {
        TlsVersion::Tls1_0 => SslVersion::TLS1,
        TlsVersion::Tls1_1 => SslVersion::TLS1_1,
        TlsVersion::Tls1_2 => SslVersion::TLS1_2,
        TlsVersion::Tls1_3 => SslVersion::TLS1_3,
    }
}

/// Bytes from one end of the probe to the other.
type Queue = Rc<RefCell<VecDeque<u8>>>;

/// One end of the probe's in-memory connection: reads what the other end wrote
/// (`WouldBlock` when nothing is there), writes for the other end.
#[derive(Debug)]
struct End {
    incoming: Queue,
    outgoing: Queue,
}

impl End {
    fn new(incoming: &Queue, outgoing: &Queue) -> End {
        End { incoming: Rc::clone(incoming), outgoing: Rc::clone(outgoing) }
    }
}

impl Read for End {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut incoming = self.incoming.borrow_mut();
        if incoming.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(incoming.len());
        for (slot, byte) in buf.iter_mut().zip(incoming.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }
}

impl Write for End {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outgoing.borrow_mut().extend(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn modern_versions_are_never_refused_at_the_default_level() {
        assert_eq!(refusal(TlsVersion::Tls1_2, TlsVersion::Tls1_3, None).unwrap(), None);
        assert_eq!(refusal(TlsVersion::Tls1_3, TlsVersion::Tls1_3, None).unwrap(), None);
    }

    #[test]
    fn legacy_versions_are_carried_out_at_level_0() {
        assert_eq!(refusal(TlsVersion::Tls1_0, TlsVersion::Tls1_0, Some(0)).unwrap(), None);
        assert_eq!(refusal(TlsVersion::Tls1_1, TlsVersion::Tls1_1, Some(0)).unwrap(), None);
    }

    /// OpenSSL 3 refuses the SHA-1 / MD5-SHA1 handshake signatures of TLS 1.0 and 1.1 at
    /// level 1 and above (and the versions themselves from level 3): the probe must say so,
    /// with the level it asked at. OpenSSL 1.1.1 allowed them at level 1; the first assertion
    /// states which library this expectation is for.
    #[test]
    fn legacy_versions_are_refused_at_level_1_and_above_on_openssl_3() {
        assert!(openssl::version::number() >= 0x3000_0000, "{}", openssl::version::version());
        for level in 1..=3 {
            for (low, high) in [
                (TlsVersion::Tls1_0, TlsVersion::Tls1_0),
                (TlsVersion::Tls1_1, TlsVersion::Tls1_1),
                (TlsVersion::Tls1_0, TlsVersion::Tls1_1),
            ] {
                assert_eq!(refusal(low, high, Some(level)).unwrap(), Some(level), "{low:?}");
            }
        }
    }

    #[test]
    fn the_level_reported_is_the_one_a_new_context_gets() {
        let level = default_security_level().unwrap();
        let refused = refusal(TlsVersion::Tls1_0, TlsVersion::Tls1_0, None).unwrap();
        assert_eq!(refused.is_some(), level >= 1, "level {level}: {refused:?}");
        if let Some(reported) = refused {
            assert_eq!(reported, level);
        }
    }
}
