//! Translations of engine errors: `openssl::ssl::Error` → [`TlsError`], `ErrorStack` →
//! [`ConfigError`], and `X509_V_ERR_*` codes → [`SslErrorKind`]. Every match is on codes
//! (`ErrorCode`, the error stack's library and reason codes, `X509VerifyResult::as_raw`),
//! never on text. libssl's reason codes are classified by the table this backend shares with
//! backend-native ([`libssl_common::reasons`]), so one engine error is one kind on both.

use openssl::error::ErrorStack;
use openssl::ssl::ErrorCode;
use openssl_sys as ffi;
use ssl_api::{ConfigError, SslErrorKind, TlsError, TlsErrorKind};

use crate::backend::NAME;

/// Classifies an error returned by `SslStream::do_handshake`, `ssl_read` or `ssl_write`.
pub(crate) fn tls_error(err: &openssl::ssl::Error) -> TlsError {
    let message = err.to_string();
    let known = match err.code() {
        // The pipe never fails and never reports end of file, so a system-call error means
        // the engine saw something it could not handle (no error stack was left).
        ErrorCode::SSL | ErrorCode::SYSCALL => {
            err.ssl_error().and_then(libssl_common::reasons::first_known)
        }
        ErrorCode::ZERO_RETURN => return TlsError::new(TlsErrorKind::UnexpectedEof, message),
        _ => None,
    };
    let Some((reason, kind)) = known else {
        return TlsError::new(TlsErrorKind::Internal, message);
    };
    let error = TlsError::new(kind, message);
    match libssl_common::reasons::received_alert(reason) {
        Some(alert) => error.with_alert(alert),
        None => error,
    }
}

/// Classifies a refusal while building a context or a session (`SslContextBuilder::*`,
/// `Ssl::new`, `SslStream::new`).
pub(crate) fn engine_error(err: &ErrorStack) -> ConfigError {
    ConfigError::Engine { backend: NAME, message: err.to_string() }
}

/// Names an `X509_V_ERR_*` code (`X509StoreContextRef::error`) as QSslError does; the codes
/// are openssl-sys's, which follow the header of the OpenSSL version built against: 24 is
/// `X509_V_ERR_INVALID_CA` before 3.0 and `X509_V_ERR_NO_ISSUER_PUBLIC_KEY` (unnamed by Qt,
/// so `UnspecifiedError`) since, where `X509_V_ERR_INVALID_CA` is 79.
pub(crate) fn verify_error_kind(code: i32) -> SslErrorKind {
    match code {
        ffi::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT => SslErrorKind::UnableToGetIssuerCertificate,
        ffi::X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE => {
            SslErrorKind::UnableToDecryptCertificateSignature
        }
        ffi::X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY => {
            SslErrorKind::UnableToDecodeIssuerPublicKey
        }
        ffi::X509_V_ERR_CERT_SIGNATURE_FAILURE => SslErrorKind::CertificateSignatureFailed,
        ffi::X509_V_ERR_CERT_NOT_YET_VALID => SslErrorKind::CertificateNotYetValid,
        ffi::X509_V_ERR_CERT_HAS_EXPIRED => SslErrorKind::CertificateExpired,
        ffi::X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD => SslErrorKind::InvalidNotBeforeField,
        ffi::X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD => SslErrorKind::InvalidNotAfterField,
        ffi::X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT => SslErrorKind::SelfSignedCertificate,
        ffi::X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN => SslErrorKind::SelfSignedCertificateInChain,
        ffi::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY => {
            SslErrorKind::UnableToGetLocalIssuerCertificate
        }
        ffi::X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE => {
            SslErrorKind::UnableToVerifyFirstCertificate
        }
        ffi::X509_V_ERR_CERT_REVOKED => SslErrorKind::CertificateRevoked,
        ffi::X509_V_ERR_INVALID_CA => SslErrorKind::InvalidCaCertificate,
        // The path is longer than `peer_verify_depth` allows (`SSL_CTX_set_verify_depth`), or
        // than a CA's basicConstraints pathLenConstraint allows.
        ffi::X509_V_ERR_CERT_CHAIN_TOO_LONG | ffi::X509_V_ERR_PATH_LENGTH_EXCEEDED => {
            SslErrorKind::PathLengthExceeded
        }
        ffi::X509_V_ERR_INVALID_PURPOSE => SslErrorKind::InvalidPurpose,
        ffi::X509_V_ERR_CERT_UNTRUSTED => SslErrorKind::CertificateUntrusted,
        ffi::X509_V_ERR_CERT_REJECTED => SslErrorKind::CertificateRejected,
        ffi::X509_V_ERR_SUBJECT_ISSUER_MISMATCH => SslErrorKind::SubjectIssuerMismatch,
        ffi::X509_V_ERR_AKID_ISSUER_SERIAL_MISMATCH => {
            SslErrorKind::AuthorityIssuerSerialNumberMismatch
        }
        // `X509_VERIFY_PARAM_set1_host` / `set1_ip`: the name the client asked for.
        ffi::X509_V_ERR_HOSTNAME_MISMATCH | ffi::X509_V_ERR_IP_ADDRESS_MISMATCH => {
            SslErrorKind::HostNameMismatch
        }
        // The security level (`SSL_CTX_set_security_level`) refuses a certificate's key or
        // the digest its issuer signed it with.
        ffi::X509_V_ERR_EE_KEY_TOO_SMALL | ffi::X509_V_ERR_CA_KEY_TOO_SMALL => {
            SslErrorKind::KeyTooSmall
        }
        ffi::X509_V_ERR_CA_MD_TOO_WEAK => SslErrorKind::SignatureDigestTooWeak,
        _ => SslErrorKind::UnspecifiedError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_codes_follow_the_openssl_3_header() {
        assert_eq!(verify_error_kind(10), SslErrorKind::CertificateExpired);
        assert_eq!(verify_error_kind(18), SslErrorKind::SelfSignedCertificate);
        assert_eq!(verify_error_kind(20), SslErrorKind::UnableToGetLocalIssuerCertificate);
        assert_eq!(verify_error_kind(22), SslErrorKind::PathLengthExceeded);
        assert_eq!(verify_error_kind(62), SslErrorKind::HostNameMismatch);
        assert_eq!(verify_error_kind(64), SslErrorKind::HostNameMismatch);
        assert_eq!(verify_error_kind(79), SslErrorKind::InvalidCaCertificate);
        assert_eq!(verify_error_kind(66), SslErrorKind::KeyTooSmall); // EE_KEY_TOO_SMALL
        assert_eq!(verify_error_kind(67), SslErrorKind::KeyTooSmall); // CA_KEY_TOO_SMALL
        assert_eq!(verify_error_kind(68), SslErrorKind::SignatureDigestTooWeak); // CA_MD_TOO_WEAK
        assert_eq!(verify_error_kind(47), SslErrorKind::UnspecifiedError); // name constraints
    }
}
