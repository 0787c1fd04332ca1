//! Translations of engine errors: `openssl::ssl::Error` → [`TlsError`], `ErrorStack` →
//! [`ConfigError`], and `X509_V_ERR_*` codes → [`SslErrorKind`]. Every match is on codes
//! (`ErrorCode`, the error stack's library and reason codes, `X509VerifyResult::as_raw`),
//! never on text.

use openssl::error::ErrorStack;
use openssl::ssl::ErrorCode;
use openssl_sys as ffi;
use ssl_api::{ConfigError, SslErrorKind, TlsError, TlsErrorKind};

use crate::backend::NAME;

/// `ERR_LIB_SSL` (err.h): the library code of libssl's errors.
const ERR_LIB_SSL: i32 = 20;

/// Reason codes of libssl (OpenSSL 3.0 `sslerr.h`; openssl-sys does not export them).
mod reason {
    pub(super) const BAD_PACKET: i32 = 240; // SSL_R_BAD_PACKET
    pub(super) const BAD_PACKET_LENGTH: i32 = 115; // SSL_R_BAD_PACKET_LENGTH
    pub(super) const BAD_RECORD_TYPE: i32 = 443; // SSL_R_BAD_RECORD_TYPE
    pub(super) const BAD_SIGNATURE: i32 = 123; // SSL_R_BAD_SIGNATURE
    pub(super) const DECRYPTION_FAILED: i32 = 147; // SSL_R_DECRYPTION_FAILED
    pub(super) const DECRYPTION_FAILED_OR_BAD_RECORD_MAC: i32 = 281; // SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC
    pub(super) const HTTPS_PROXY_REQUEST: i32 = 155; // SSL_R_HTTPS_PROXY_REQUEST
    pub(super) const HTTP_REQUEST: i32 = 156; // SSL_R_HTTP_REQUEST
    pub(super) const LENGTH_MISMATCH: i32 = 159; // SSL_R_LENGTH_MISMATCH
    pub(super) const NO_APPLICATION_PROTOCOL: i32 = 235; // SSL_R_NO_APPLICATION_PROTOCOL
    pub(super) const NO_CIPHERS_AVAILABLE: i32 = 181; // SSL_R_NO_CIPHERS_AVAILABLE
    pub(super) const NO_PROTOCOLS_AVAILABLE: i32 = 191; // SSL_R_NO_PROTOCOLS_AVAILABLE
    pub(super) const NO_SHARED_CIPHER: i32 = 193; // SSL_R_NO_SHARED_CIPHER
    pub(super) const NO_SHARED_GROUPS: i32 = 410; // SSL_R_NO_SHARED_GROUPS
    pub(super) const NO_SHARED_SIGNATURE_ALGORITHMS: i32 = 376; // SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS
    pub(super) const NO_SUITABLE_KEY_SHARE: i32 = 101; // SSL_R_NO_SUITABLE_KEY_SHARE
    pub(super) const NO_SUITABLE_SIGNATURE_ALGORITHM: i32 = 118; // SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM
    pub(super) const PACKET_LENGTH_TOO_LONG: i32 = 198; // SSL_R_PACKET_LENGTH_TOO_LONG
    pub(super) const RECORD_LENGTH_MISMATCH: i32 = 213; // SSL_R_RECORD_LENGTH_MISMATCH
    pub(super) const UNEXPECTED_EOF_WHILE_READING: i32 = 294; // SSL_R_UNEXPECTED_EOF_WHILE_READING
    pub(super) const UNEXPECTED_MESSAGE: i32 = 244; // SSL_R_UNEXPECTED_MESSAGE
    pub(super) const UNEXPECTED_RECORD: i32 = 245; // SSL_R_UNEXPECTED_RECORD
    pub(super) const UNKNOWN_PROTOCOL: i32 = 252; // SSL_R_UNKNOWN_PROTOCOL
    pub(super) const UNSUPPORTED_PROTOCOL: i32 = 258; // SSL_R_UNSUPPORTED_PROTOCOL
    pub(super) const VERSION_TOO_LOW: i32 = 396; // SSL_R_VERSION_TOO_LOW
    pub(super) const WRONG_SIGNATURE_LENGTH: i32 = 264; // SSL_R_WRONG_SIGNATURE_LENGTH
    pub(super) const WRONG_SIGNATURE_SIZE: i32 = 265; // SSL_R_WRONG_SIGNATURE_SIZE
    pub(super) const WRONG_SIGNATURE_TYPE: i32 = 370; // SSL_R_WRONG_SIGNATURE_TYPE
    pub(super) const WRONG_VERSION_NUMBER: i32 = 267; // SSL_R_WRONG_VERSION_NUMBER
    /// A received alert is reported as `SSL_AD_REASON_OFFSET` (ssl.h: 1000) plus the alert's
    /// number (`SSL_R_SSLV3_ALERT_*`, `SSL_R_TLSV1_ALERT_*`, `SSL_R_TLSV13_ALERT_*`); alert
    /// numbers are below 256.
    pub(super) const ALERTS: std::ops::Range<i32> = 1000..1256;
}

/// Classifies an error returned by `SslStream::do_handshake`, `ssl_read` or `ssl_write`.
pub(crate) fn tls_error(err: &openssl::ssl::Error) -> TlsError {
    let message = err.to_string();
    let kind = match err.code() {
        ErrorCode::SSL => err.ssl_error().map_or(TlsErrorKind::Internal, stack_kind),
        // The pipe never fails and never reports end of file, so a system-call error means
        // the engine saw something it could not handle (no error stack was left).
        ErrorCode::SYSCALL => err.ssl_error().map_or(TlsErrorKind::Internal, stack_kind),
        ErrorCode::ZERO_RETURN => TlsErrorKind::UnexpectedEof,
        _ => TlsErrorKind::Internal,
    };
    TlsError::new(kind, message)
}

/// The kind of the first libssl error on `stack` that this translation knows.
fn stack_kind(stack: &ErrorStack) -> TlsErrorKind {
    stack
        .errors()
        .iter()
        .filter(|e| e.library_code() == ERR_LIB_SSL)
        .find_map(|e| reason_kind(e.reason_code()))
        .unwrap_or(TlsErrorKind::Internal)
}

/// The kind of a libssl reason code, if this translation knows it.
fn reason_kind(reason: i32) -> Option<TlsErrorKind> {
    use reason::*;
    Some(match reason {
        r if ALERTS.contains(&r) => TlsErrorKind::AlertReceived,
        WRONG_VERSION_NUMBER
        | PACKET_LENGTH_TOO_LONG
        | UNEXPECTED_RECORD
        | UNEXPECTED_MESSAGE
        | BAD_PACKET
        | BAD_PACKET_LENGTH
        | BAD_RECORD_TYPE
        | LENGTH_MISMATCH
        | RECORD_LENGTH_MISMATCH
        | HTTP_REQUEST
        | HTTPS_PROXY_REQUEST
        | UNKNOWN_PROTOCOL => TlsErrorKind::InvalidMessage,
        DECRYPTION_FAILED_OR_BAD_RECORD_MAC | DECRYPTION_FAILED => TlsErrorKind::BadRecordMac,
        NO_SHARED_CIPHER
        | NO_CIPHERS_AVAILABLE
        | UNSUPPORTED_PROTOCOL
        | NO_PROTOCOLS_AVAILABLE
        | VERSION_TOO_LOW
        | NO_SHARED_GROUPS
        | NO_SUITABLE_KEY_SHARE
        | NO_SHARED_SIGNATURE_ALGORITHMS
        | NO_SUITABLE_SIGNATURE_ALGORITHM
        | NO_APPLICATION_PROTOCOL => TlsErrorKind::NoCommonParameters,
        // A handshake signature that does not verify with the peer's certificate key.
        BAD_SIGNATURE | WRONG_SIGNATURE_LENGTH | WRONG_SIGNATURE_SIZE | WRONG_SIGNATURE_TYPE => {
            TlsErrorKind::PeerCertificate
        }
        UNEXPECTED_EOF_WHILE_READING => TlsErrorKind::UnexpectedEof,
        _ => return None,
    })
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
        _ => SslErrorKind::UnspecifiedError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_are_classified_by_number() {
        assert_eq!(reason_kind(1070), Some(TlsErrorKind::AlertReceived)); // protocol_version
        assert_eq!(reason_kind(1042), Some(TlsErrorKind::AlertReceived)); // bad_certificate
        assert_eq!(reason_kind(267), Some(TlsErrorKind::InvalidMessage));
        assert_eq!(reason_kind(281), Some(TlsErrorKind::BadRecordMac));
        assert_eq!(reason_kind(193), Some(TlsErrorKind::NoCommonParameters));
        assert_eq!(reason_kind(1), None);
    }

    #[test]
    fn verify_codes_follow_the_openssl_3_header() {
        assert_eq!(verify_error_kind(10), SslErrorKind::CertificateExpired);
        assert_eq!(verify_error_kind(18), SslErrorKind::SelfSignedCertificate);
        assert_eq!(verify_error_kind(20), SslErrorKind::UnableToGetLocalIssuerCertificate);
        assert_eq!(verify_error_kind(22), SslErrorKind::PathLengthExceeded);
        assert_eq!(verify_error_kind(62), SslErrorKind::HostNameMismatch);
        assert_eq!(verify_error_kind(64), SslErrorKind::HostNameMismatch);
        assert_eq!(verify_error_kind(79), SslErrorKind::InvalidCaCertificate);
        assert_eq!(verify_error_kind(47), SslErrorKind::UnspecifiedError); // name constraints
    }
}
