//! The verification policy (ARCHITECTURE.md, decision 1: the engine checks, the socket decides).

use ssl_api::{PeerVerifyMode, SslError, SslErrorKind};

/// Which certificate errors the application has agreed to ignore.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Ignore {
    /// None: every error rejects the peer.
    #[default]
    Nothing,
    /// Every error (`ignoreSslErrors()`).
    All,
    /// Exactly these errors: same kind and same certificate (`ignoreSslErrors(list)`).
    Exactly(Vec<SslError>),
    /// Errors of these kinds, whichever certificate they concern.
    Kinds(Vec<SslErrorKind>),
}

impl Ignore {
    pub(crate) fn ignores(&self, error: &SslError) -> bool {
        match self {
            Ignore::Nothing => false,
            Ignore::All => true,
            Ignore::Exactly(list) => list.contains(error),
            Ignore::Kinds(kinds) => kinds.contains(&error.kind),
        }
    }

    /// The errors of `errors` that are not ignored.
    pub(crate) fn remaining(&self, errors: &[SslError]) -> Vec<SslError> {
        errors.iter().filter(|e| !self.ignores(e)).cloned().collect()
    }
}

/// Whether verification errors in `mode` (already resolved for the socket's role) can end the
/// connection. `QueryPeer` records errors without acting on them, as Qt does.
pub(crate) fn errors_are_fatal(mode: PeerVerifyMode) -> bool {
    mode == PeerVerifyMode::VerifyPeer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exact_list_matches_kind_and_certificate_only() {
        let expired = SslError::new(SslErrorKind::CertificateExpired, None);
        let mismatch = SslError::new(SslErrorKind::HostNameMismatch, None);
        let policy = Ignore::Exactly(vec![expired.clone()]);
        assert!(policy.ignores(&expired));
        assert!(!policy.ignores(&mismatch));
        assert_eq!(policy.remaining(&[expired, mismatch.clone()]), vec![mismatch]);
        assert!(Ignore::All.ignores(&SslError::new(SslErrorKind::UnspecifiedError, None)));
        assert!(!Ignore::Nothing.ignores(&SslError::new(SslErrorKind::NoError, None)));
    }
}
