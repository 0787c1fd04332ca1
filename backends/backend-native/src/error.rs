//! Translations of engine errors: `native_tls::Error` and the `io::Error`s of a `TlsStream` →
//! [`TlsError`] / [`ConfigError`].
//!
//! native-tls's errors are opaque: one type, a message, and a `source()` chain. Nothing in its
//! API tells a certificate rejection from a malformed record. Where native-tls wraps OpenSSL
//! (every platform but Windows and Apple's), the chain ends in an `openssl::error::ErrorStack`
//! whose library and reason codes (numbers from OpenSSL's public headers, not text) do tell;
//! the `openssl_codes` module reads them. Elsewhere, and for codes not listed, the kind is
//! `Internal`. Never a match on text.

use std::error::Error as StdError;
use std::io;

use ssl_api::{CertificateError, ConfigError, TlsError, TlsErrorKind};

use crate::backend::NAME;

/// An engine failure, classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Classified {
    pub(crate) kind: TlsErrorKind,
    /// The engine rejected the peer's certificate chain or name (a trust problem, as opposed
    /// to a broken handshake signature).
    pub(crate) trust: bool,
}

/// Classifies a handshake failure (`HandshakeError::Failure`) or a failed `TlsStream` read or
/// write, walking `err`'s `source()` chain.
pub(crate) fn classify(err: &(dyn StdError + 'static)) -> Classified {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = openssl_codes::classify(e) {
            return found;
        }
        if let Some(io_err) = e.downcast_ref::<io::Error>() {
            if io_err.kind() == io::ErrorKind::UnexpectedEof {
                return Classified { kind: TlsErrorKind::UnexpectedEof, trust: false };
            }
            // `io::Error::source` skips the wrapped error itself; look inside explicitly.
            if let Some(inner) = io_err.get_ref() {
                let found = classify(inner);
                if found.kind != TlsErrorKind::Internal {
                    return found;
                }
            }
        }
        current = e.source();
    }
    Classified { kind: TlsErrorKind::Internal, trust: false }
}

/// A [`TlsError`] of `kind` carrying `err`'s message and those of its sources, and the
/// number of the alert the peer sent where the engine names it.
pub(crate) fn tls_error(kind: TlsErrorKind, err: &(dyn StdError + 'static)) -> TlsError {
    let error = TlsError::new(kind, message(err));
    match received_alert(err) {
        Some(alert) if kind == TlsErrorKind::AlertReceived => error.with_alert(alert),
        _ => error,
    }
}

/// The number of the alert the peer sent, if `err`'s `source()` chain names one.
fn received_alert(err: &(dyn StdError + 'static)) -> Option<u8> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(alert) = openssl_codes::received_alert(e) {
            return Some(alert);
        }
        if let Some(inner) = e.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            if let Some(alert) = received_alert(inner) {
                return Some(alert);
            }
        }
        current = e.source();
    }
    None
}

/// Classifies a refusal by `TlsConnectorBuilder::build` / `TlsAcceptorBuilder::build` or by
/// `TlsConnector::connect` / `TlsAcceptor::accept` before any byte was exchanged.
pub(crate) fn engine_error(err: &native_tls::Error) -> ConfigError {
    ConfigError::Engine { backend: NAME, message: message(err) }
}

/// Classifies a refusal by `Certificate::from_der`: the engine cannot read a CA certificate.
pub(crate) fn certificate_error(err: &native_tls::Error) -> ConfigError {
    CertificateError::Der(message(err)).into()
}

/// Classifies a refusal by `Identity::from_pkcs8`: the engine cannot read the key or the
/// certificates.
pub(crate) fn identity_error(err: &native_tls::Error) -> ConfigError {
    CertificateError::Key(message(err)).into()
}

/// `err`'s message followed by its sources' (`a: b`), skipping repeats (native-tls shows its
/// source's text as its own).
fn message(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// OpenSSL's error codes, where native-tls wraps OpenSSL: classified by the table this
/// backend shares with backend-openssl ([`libssl_common::reasons`]), so one engine error is
/// one kind on both.
#[cfg(not(any(target_os = "windows", target_vendor = "apple")))]
mod openssl_codes {
    use std::error::Error as StdError;

    use libssl_common::reasons;
    use openssl::error::ErrorStack;

    use super::Classified;

    /// The classification of the first SSL-library error in `err` that the table knows, if
    /// `err` is an OpenSSL error stack; `trust` when it is the engine's own verification
    /// failure (`SSL_R_CERTIFICATE_VERIFY_FAILED`).
    pub(super) fn classify(err: &(dyn StdError + 'static)) -> Option<Classified> {
        let stack = err.downcast_ref::<ErrorStack>()?;
        let (reason, kind) = reasons::first_known(stack)?;
        Some(Classified { kind, trust: reason == reasons::CERTIFICATE_VERIFY_FAILED })
    }

    /// The alert the peer sent, if `err` is an OpenSSL error stack that names one.
    pub(super) fn received_alert(err: &(dyn StdError + 'static)) -> Option<u8> {
        let stack = err.downcast_ref::<ErrorStack>()?;
        reasons::first_known(stack).and_then(|(reason, _)| reasons::received_alert(reason))
    }
}

/// Where native-tls does not wrap OpenSSL, its errors carry no code this crate can read.
#[cfg(any(target_os = "windows", target_vendor = "apple"))]
mod openssl_codes {
    use std::error::Error as StdError;

    use super::Classified;

    pub(super) fn classify(_err: &(dyn StdError + 'static)) -> Option<Classified> {
        None
    }

    pub(super) fn received_alert(_err: &(dyn StdError + 'static)) -> Option<u8> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unexpected_eof_io_error_is_unexpected_eof() {
        let err = io::Error::from(io::ErrorKind::UnexpectedEof);
        assert_eq!(classify(&err).kind, TlsErrorKind::UnexpectedEof);
        let err = io::Error::other("something");
        assert_eq!(classify(&err), Classified { kind: TlsErrorKind::Internal, trust: false });
    }

    #[test]
    fn messages_include_sources_once() {
        #[derive(Debug)]
        struct Outer(io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "outer")
            }
        }
        impl StdError for Outer {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let err = Outer(io::Error::other("inner"));
        assert_eq!(message(&err), "outer: inner");
    }
}
