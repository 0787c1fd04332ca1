//! Translations of engine errors: `rustls::Error` → [`TlsError`] / [`ConfigError`], and
//! `webpki::Error` → [`SslErrorKind`]. Every match is on enum variants, never on text.

use ssl_api::{
    CertificateError, ConfigError, SslCertificate, SslErrorKind, TlsError, TlsErrorKind,
};

use crate::backend::NAME;

/// Classifies an error returned by `rustls::Connection::process_new_packets`.
pub(crate) fn tls_error(err: &rustls::Error) -> TlsError {
    use rustls::Error as E;
    let kind = match err {
        E::AlertReceived(_) => TlsErrorKind::AlertReceived,
        E::InvalidMessage(_)
        | E::InappropriateMessage { .. }
        | E::InappropriateHandshakeMessage { .. }
        | E::PeerSentOversizedRecord => TlsErrorKind::InvalidMessage,
        E::DecryptError => TlsErrorKind::BadRecordMac,
        // A server without a common ALPN protocol fails the handshake in rustls.
        E::PeerIncompatible(_) | E::NoApplicationProtocol => TlsErrorKind::NoCommonParameters,
        // Raised by our verifiers (`verify::HandshakeVerifier`) for an undecodable end-entity
        // certificate or a bad handshake signature, and by rustls for an empty chain.
        E::InvalidCertificate(_) | E::NoCertificatesPresented => TlsErrorKind::PeerCertificate,
        E::PeerMisbehaved(_) => TlsErrorKind::PeerMisbehaved,
        _ => TlsErrorKind::Internal,
    };
    let error = TlsError::new(kind, err.to_string());
    match err {
        E::AlertReceived(alert) => error.with_alert(u8::from(*alert)),
        _ => error,
    }
}

/// Classifies an error from building a `CertifiedKey` (`ServerConfig::builder()...
/// with_single_cert`, `ClientConfig::builder()...with_client_auth_cert`).
pub(crate) fn identity_error(err: rustls::Error) -> ConfigError {
    use rustls::Error as E;
    match err {
        // `CertifiedKey::keys_match`: the key's SubjectPublicKeyInfo differs from the leaf's.
        E::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => ConfigError::KeyMismatch,
        // `ParsedCertificate::try_from` on the leaf inside `keys_match`.
        E::InvalidCertificate(_) => CertificateError::Der(err.to_string()).into(),
        // `KeyProvider::load_private_key`: the engine cannot use the key.
        other => CertificateError::Key(other.to_string()).into(),
    }
}

/// Classifies a refusal by a rustls config builder (`with_protocol_versions`) or by
/// `ClientConnection::new` / `ServerConnection::new`.
pub(crate) fn engine_error(err: &rustls::Error) -> ConfigError {
    ConfigError::Engine { backend: NAME, message: err.to_string() }
}

/// Classifies a path-validation or name error from `webpki::EndEntityCert::verify_for_usage`
/// or `verify_is_valid_for_subject_name`, named as OpenSSL (and so Qt) would name it.
///
/// `leaf` is the end-entity certificate and `last_intermediate` the last certificate the peer
/// sent after it; they tell the three "unknown issuer" cases apart as OpenSSL does.
#[allow(deprecated)] // the deprecated variants are still produced by older code paths
pub(crate) fn verify_error_kind(
    err: &webpki::Error,
    leaf: Option<&SslCertificate>,
    last_intermediate: Option<&SslCertificate>,
) -> SslErrorKind {
    use webpki::Error as W;
    match err {
        W::CertExpired { .. } => SslErrorKind::CertificateExpired,
        W::CertNotValidYet { .. } => SslErrorKind::CertificateNotYetValid,
        // OpenSSL: X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
        // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY.
        W::UnknownIssuer => {
            if leaf.is_some_and(SslCertificate::is_self_signed) {
                SslErrorKind::SelfSignedCertificate
            } else if last_intermediate.is_some_and(SslCertificate::is_self_signed) {
                SslErrorKind::SelfSignedCertificateInChain
            } else {
                SslErrorKind::UnableToGetLocalIssuerCertificate
            }
        }
        W::InvalidSignatureForPublicKey
        | W::SignatureAlgorithmMismatch
        | W::UnsupportedSignatureAlgorithm
        | W::UnsupportedSignatureAlgorithmContext(_)
        | W::UnsupportedSignatureAlgorithmForPublicKey
        | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            SslErrorKind::CertificateSignatureFailed
        }
        // A CA certificate presented as the peer's own: OpenSSL's purpose check
        // (X509_V_ERR_INVALID_PURPOSE) is the closest; the certificate is unfit for this use.
        W::CaUsedAsEndEntity => SslErrorKind::InvalidPurpose,
        // X509_V_ERR_INVALID_CA: a certificate without CA:TRUE used to sign another.
        W::EndEntityUsedAsCa => SslErrorKind::InvalidCaCertificate,
        W::PathLenConstraintViolated => SslErrorKind::PathLengthExceeded,
        W::RequiredEkuNotFound | W::RequiredEkuNotFoundContext(_) | W::EmptyEkuExtension => {
            SslErrorKind::InvalidPurpose
        }
        W::CertNotValidForName(_) => SslErrorKind::HostNameMismatch,
        W::CertRevoked => SslErrorKind::CertificateRevoked,
        // webpki's distrust-after date on a trust anchor: the root is not trusted for this.
        W::CertDistrusted => SslErrorKind::CertificateUntrusted,
        // Name constraints (X509_V_ERR_PERMITTED_VIOLATION / EXCLUDED_VIOLATION) have no
        // QSslError code; Qt's OpenSSL backend reports them as UnspecifiedError too.
        _ => SslErrorKind::UnspecifiedError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_are_classified_by_variant() {
        let alert = rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure);
        assert_eq!(tls_error(&alert).kind, TlsErrorKind::AlertReceived);
        assert_eq!(tls_error(&alert).alert, Some(40));
        assert_eq!(tls_error(&rustls::Error::DecryptError).kind, TlsErrorKind::BadRecordMac);
        assert_eq!(tls_error(&rustls::Error::General("x".into())).kind, TlsErrorKind::Internal);
        let mismatch = rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch);
        assert_eq!(identity_error(mismatch), ConfigError::KeyMismatch);
    }

    #[test]
    fn unknown_issuer_without_certificates_is_unable_to_get_local_issuer() {
        let kind = verify_error_kind(&webpki::Error::UnknownIssuer, None, None);
        assert_eq!(kind, SslErrorKind::UnableToGetLocalIssuerCertificate);
        let kind = verify_error_kind(&webpki::Error::NameConstraintViolation, None, None);
        assert_eq!(kind, SslErrorKind::UnspecifiedError);
    }
}
