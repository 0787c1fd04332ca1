//! The verification policy (ARCHITECTURE.md, decision 1: the engine checks, the socket decides).
//!
//! What a handshake is judged by is fixed when it starts ([`Verify`]): the configuration its
//! engine context was built from (mode, depth, CA list) and the name it verifies. The ignore
//! settings ([`Ignore`]) belong to one handshake: those given before it starts or while it
//! runs (the `SslErrors` handler, before `resume()`, the async decider) apply to it, and it
//! spends them when it ends, accepted or not.

use std::sync::Arc;

use ssl_api::{PeerVerifyMode, SslConfiguration, SslError, SslErrorKind};

/// Which certificate errors the application has agreed to ignore: three separate settings,
/// as Qt keeps `ignoreSslErrors()` and `ignoreSslErrors(list)` apart (an empty list clears
/// the list only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ignore {
    /// Every error (`ignoreSslErrors()`).
    all: bool,
    /// Exactly these errors: same kind and same certificate (`ignoreSslErrors(list)`).
    exactly: Vec<SslError>,
    /// Errors of these kinds, whichever certificate they concern.
    kinds: Vec<SslErrorKind>,
}

impl Ignore {
    /// Ignores every error.
    pub(crate) fn all(&mut self) {
        self.all = true;
    }

    /// Replaces the exact list (empty: no exact list).
    pub(crate) fn exactly(&mut self, errors: Vec<SslError>) {
        self.exactly = errors;
    }

    /// Replaces the list of kinds (empty: no list of kinds).
    pub(crate) fn kinds(&mut self, kinds: Vec<SslErrorKind>) {
        self.kinds = kinds;
    }

    /// Whether nothing is ignored.
    pub(crate) fn is_empty(&self) -> bool {
        !self.all && self.exactly.is_empty() && self.kinds.is_empty()
    }

    pub(crate) fn ignores(&self, error: &SslError) -> bool {
        self.all || self.exactly.contains(error) || self.kinds.contains(&error.kind)
    }

    /// The errors of `errors` that are not ignored.
    pub(crate) fn remaining(&self, errors: &[SslError]) -> Vec<SslError> {
        errors.iter().filter(|e| !self.ignores(e)).cloned().collect()
    }
}

/// What one handshake is verified by, fixed when its engine context is handed to the
/// connection (`connect_to_host_encrypted`, `start_*_encryption`): the configuration the
/// context was built from and the name the peer is verified against. Later changes to the
/// socket's configuration or peer verify name are for the next handshake (Qt:
/// "setting this mode after encryption has started has no effect on the current
/// connection").
#[derive(Debug, Clone)]
pub(crate) struct Verify {
    pub(crate) config: Arc<SslConfiguration>,
    pub(crate) name: Option<String>,
}

/// Whether verification errors in `mode` (already resolved for the socket's role) can end the
/// connection. `QueryPeer` records errors without acting on them, as Qt does.
pub(crate) fn errors_are_fatal(mode: PeerVerifyMode) -> bool {
    mode == PeerVerifyMode::VerifyPeer
}

/// The alert that tells the peer why our policy rejected its certificate, for the first of
/// `errors`: the one OpenSSL sends for the same verification result (`ssl_verify_alarm_type`
/// in its `statem_lib.c`), so that a peer sees the same alert whichever engine we run on. A
/// missing certificate is `handshake_failure` (RFC 5246 section 7.4.6; TLS 1.3's
/// `certificate_required` only ever travels encrypted).
pub(crate) fn rejection_alert(errors: &[SslError]) -> u8 {
    use SslErrorKind as K;
    match errors.first().map(|e| e.kind) {
        Some(K::CertificateExpired) => 45,
        Some(K::CertificateRevoked) => 44,
        Some(
            K::SelfSignedCertificate
            | K::SelfSignedCertificateInChain
            | K::UnableToGetIssuerCertificate
            | K::UnableToGetLocalIssuerCertificate
            | K::UnableToVerifyFirstCertificate,
        ) => 48,
        Some(K::InvalidPurpose) => 43,
        Some(K::NoPeerCertificate) => 40,
        Some(
            K::UnableToDecryptCertificateSignature
            | K::UnableToDecodeIssuerPublicKey
            | K::CertificateSignatureFailed
            | K::CertificateNotYetValid
            | K::InvalidNotBeforeField
            | K::InvalidNotAfterField
            | K::CertificateUntrusted
            | K::CertificateRejected
            | K::HostNameMismatch,
        ) => 42,
        _ => 46,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exact_list_matches_kind_and_certificate_only() {
        let expired = SslError::new(SslErrorKind::CertificateExpired, None);
        let mismatch = SslError::new(SslErrorKind::HostNameMismatch, None);
        let mut policy = Ignore::default();
        policy.exactly(vec![expired.clone()]);
        assert!(policy.ignores(&expired));
        assert!(!policy.ignores(&mismatch));
        assert_eq!(policy.remaining(&[expired, mismatch.clone()]), vec![mismatch]);
        let mut all = Ignore::default();
        all.all();
        assert!(all.ignores(&SslError::new(SslErrorKind::UnspecifiedError, None)));
        assert!(!Ignore::default().ignores(&SslError::new(SslErrorKind::NoError, None)));
    }

    #[test]
    fn an_empty_list_clears_the_list_and_not_an_ignore_of_everything() {
        let expired = SslError::new(SslErrorKind::CertificateExpired, None);
        let mut policy = Ignore::default();
        policy.all();
        policy.exactly(Vec::new());
        assert!(policy.ignores(&expired), "ignore_ssl_errors() was cancelled by an empty list");
        let mut listed = Ignore::default();
        listed.exactly(vec![expired.clone()]);
        listed.exactly(Vec::new());
        assert!(listed.is_empty() && !listed.ignores(&expired));
    }
}
