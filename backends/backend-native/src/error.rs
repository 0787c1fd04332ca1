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

/// A [`TlsError`] of `kind` carrying `err`'s message and those of its sources.
pub(crate) fn tls_error(kind: TlsErrorKind, err: &(dyn StdError + 'static)) -> TlsError {
    TlsError::new(kind, message(err))
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

/// OpenSSL's error codes, where native-tls wraps OpenSSL.
#[cfg(not(any(target_os = "windows", target_vendor = "apple")))]
mod openssl_codes {
    use std::error::Error as StdError;

    use openssl::error::ErrorStack;
    use ssl_api::TlsErrorKind;

    use super::Classified;

    // <openssl/err.h>
    const ERR_LIB_SSL: i32 = 20;
    // <openssl/ssl.h>: SSL_R_<alert> = SSL_AD_REASON_OFFSET + the alert's number.
    const SSL_AD_REASON_OFFSET: i32 = 1000;
    // <openssl/sslerr.h>
    const SSL_R_CERTIFICATE_VERIFY_FAILED: i32 = 134;
    const SSL_R_BAD_SIGNATURE: i32 = 123;
    const SSL_R_WRONG_SIGNATURE_TYPE: i32 = 370;
    const SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC: i32 = 281;
    const SSL_R_UNEXPECTED_EOF_WHILE_READING: i32 = 294;
    const INVALID_MESSAGE: [i32; 11] = [
        115, // SSL_R_BAD_PACKET_LENGTH
        150, // SSL_R_ENCRYPTED_LENGTH_TOO_LONG
        155, // SSL_R_HTTPS_PROXY_REQUEST
        156, // SSL_R_HTTP_REQUEST
        159, // SSL_R_LENGTH_MISMATCH
        198, // SSL_R_PACKET_LENGTH_TOO_LONG
        213, // SSL_R_RECORD_LENGTH_MISMATCH
        244, // SSL_R_UNEXPECTED_MESSAGE
        245, // SSL_R_UNEXPECTED_RECORD
        267, // SSL_R_WRONG_VERSION_NUMBER
        271, // SSL_R_BAD_LENGTH
    ];
    const NO_COMMON_PARAMETERS: [i32; 9] = [
        118, // SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM
        166, // SSL_R_VERSION_TOO_HIGH
        181, // SSL_R_NO_CIPHERS_AVAILABLE
        191, // SSL_R_NO_PROTOCOLS_AVAILABLE
        193, // SSL_R_NO_SHARED_CIPHER
        258, // SSL_R_UNSUPPORTED_PROTOCOL
        373, // SSL_R_INAPPROPRIATE_FALLBACK
        396, // SSL_R_VERSION_TOO_LOW
        410, // SSL_R_NO_SHARED_GROUPS
    ];

    /// The classification of the first SSL-library error in `err`, if `err` is an OpenSSL
    /// error stack holding one this module knows.
    pub(super) fn classify(err: &(dyn StdError + 'static)) -> Option<Classified> {
        let stack = err.downcast_ref::<ErrorStack>()?;
        stack.errors().iter().filter(|e| e.library_code() == ERR_LIB_SSL).find_map(|e| {
            let reason = e.reason_code();
            let kind = match reason {
                SSL_R_CERTIFICATE_VERIFY_FAILED => {
                    return Some(Classified { kind: TlsErrorKind::PeerCertificate, trust: true })
                }
                r if r >= SSL_AD_REASON_OFFSET => TlsErrorKind::AlertReceived,
                SSL_R_BAD_SIGNATURE | SSL_R_WRONG_SIGNATURE_TYPE => TlsErrorKind::PeerCertificate,
                SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC => TlsErrorKind::BadRecordMac,
                SSL_R_UNEXPECTED_EOF_WHILE_READING => TlsErrorKind::UnexpectedEof,
                r if INVALID_MESSAGE.contains(&r) => TlsErrorKind::InvalidMessage,
                r if NO_COMMON_PARAMETERS.contains(&r) => TlsErrorKind::NoCommonParameters,
                _ => return None,
            };
            Some(Classified { kind, trust: false })
        })
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
