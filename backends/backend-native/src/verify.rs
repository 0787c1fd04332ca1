//! How a native context checks the peer's certificate, and what a session can say about it.
//!
//! native-tls verifies inside the handshake and fails it on any problem, with one opaque
//! error: it has no hook to record an error and continue, and no list of errors. So this
//! backend cannot follow "the engine records, the socket decides" (ARCHITECTURE.md, decision 1):
//!
//! - A client whose effective mode is `VerifyPeer` verifies strictly, with the engine's own
//!   path validation and host-name check against exactly `ca_certificates`
//!   (`TlsConnectorBuilder::disable_built_in_roots` + `add_root_certificate`). A trusted peer
//!   gives `verification_errors() == Some([])`. An untrusted one fails the handshake:
//!   `process_new_packets` returns `TlsError { kind: PeerCertificate }` (where the platform
//!   library's error codes say it was the certificate; `Internal` otherwise), and from then
//!   on `verification_errors()` is `Some([UnspecifiedError])`, with no certificate (the engine
//!   keeps the rejected chain to itself). Ignoring errors cannot rescue such a handshake.
//! - A client in `VerifyNone` or `QueryPeer` does not verify at all
//!   (`danger_accept_invalid_certs` + `danger_accept_invalid_hostnames`):
//!   `verification_errors()` stays `None`. Under `QueryPeer` this means no error is ever
//!   recorded, since native-tls can check only by failing.
//! - A server never requests a client certificate (native-tls has no such setting), so it
//!   verifies nothing: `verification_errors()` stays `None`. `AutoVerifyPeer` is accepted
//!   (a Qt server in that mode requests a certificate but does not require one: here it is
//!   simply not requested); an explicit `QueryPeer` or `VerifyPeer` is refused with
//!   `Unsupported { feature: ServerRequestsClientCertificate }`.

use ssl_api::{
    ConfigError, Feature, PeerVerifyMode, Role, SslConfiguration, SslError, SslErrorKind, SslMode,
};

use crate::backend::NAME;

/// How a context checks the peer's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verification {
    /// The engine verifies and fails the handshake on any problem (client `VerifyPeer`).
    Strict,
    /// Nothing is verified (client `VerifyNone` / `QueryPeer`, every server).
    Off,
}

impl Verification {
    /// The verification `config` asks of a context in `role`.
    ///
    /// # Errors
    /// `Unsupported { ServerRequestsClientCertificate }` for a server in explicit `QueryPeer`
    /// or `VerifyPeer`; `Unsupported { PeerVerifyDepth }` for a depth limit on a context that
    /// verifies.
    pub(crate) fn for_config(
        config: &SslConfiguration,
        role: Role,
    ) -> Result<Verification, ConfigError> {
        let unsupported = |feature| ConfigError::Unsupported { backend: NAME, feature };
        let verification = match role {
            Role::Client => match config.peer_verify_mode.effective(SslMode::SslClientMode) {
                PeerVerifyMode::VerifyPeer => Verification::Strict,
                _ => Verification::Off,
            },
            Role::Server => match config.peer_verify_mode {
                PeerVerifyMode::VerifyNone | PeerVerifyMode::AutoVerifyPeer => Verification::Off,
                PeerVerifyMode::QueryPeer | PeerVerifyMode::VerifyPeer => {
                    return Err(unsupported(Feature::ServerRequestsClientCertificate))
                }
            },
        };
        // A depth limit restricts a verification; where none happens there is nothing to limit.
        if config.peer_verify_depth != 0 && verification == Verification::Strict {
            return Err(unsupported(Feature::PeerVerifyDepth));
        }
        Ok(verification)
    }
}

/// What a strict session reports after the engine rejected the peer's certificate: one error
/// that says nothing more precise, since the engine does not (see the module docs).
pub(crate) fn rejected() -> Vec<SslError> {
    vec![SslError::new(SslErrorKind::UnspecifiedError, None)]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn with_mode(mode: PeerVerifyMode) -> SslConfiguration {
        SslConfiguration { peer_verify_mode: mode, ..SslConfiguration::default() }
    }

    #[test]
    fn clients_verify_strictly_only_in_verify_peer() {
        let client = |mode| Verification::for_config(&with_mode(mode), Role::Client).unwrap();
        assert_eq!(client(PeerVerifyMode::AutoVerifyPeer), Verification::Strict);
        assert_eq!(client(PeerVerifyMode::VerifyPeer), Verification::Strict);
        assert_eq!(client(PeerVerifyMode::QueryPeer), Verification::Off);
        assert_eq!(client(PeerVerifyMode::VerifyNone), Verification::Off);
    }

    #[test]
    fn servers_never_request_a_certificate() {
        let server = |mode| Verification::for_config(&with_mode(mode), Role::Server);
        assert_eq!(server(PeerVerifyMode::AutoVerifyPeer), Ok(Verification::Off));
        assert_eq!(server(PeerVerifyMode::VerifyNone), Ok(Verification::Off));
        let refused = ConfigError::Unsupported {
            backend: NAME,
            feature: Feature::ServerRequestsClientCertificate,
        };
        assert_eq!(server(PeerVerifyMode::QueryPeer), Err(refused.clone()));
        assert_eq!(server(PeerVerifyMode::VerifyPeer), Err(refused));
    }

    #[test]
    fn a_depth_limit_is_refused_where_the_engine_verifies() {
        let config = SslConfiguration { peer_verify_depth: 2, ..SslConfiguration::default() };
        let err = Verification::for_config(&config, Role::Client).unwrap_err();
        assert_eq!(
            err,
            ConfigError::Unsupported { backend: NAME, feature: Feature::PeerVerifyDepth }
        );
        let config = SslConfiguration { peer_verify_mode: PeerVerifyMode::VerifyNone, ..config };
        assert_eq!(Verification::for_config(&config, Role::Client), Ok(Verification::Off));
    }
}
