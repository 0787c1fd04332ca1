//! Certificate verification, split in two because rustls gives its verifier no handle on the
//! connection it is verifying.
//!
//! - [`HandshakeVerifier`] is what rustls calls during the handshake. One instance is shared by
//!   every session of a context. It checks what must fail the handshake: the end-entity
//!   certificate decodes (`webpki::EndEntityCert::try_from`) and the handshake signatures prove
//!   possession of its key (`rustls::crypto::verify_tls12_signature` /
//!   `verify_tls13_signature`). It accepts every trust problem.
//! - [`ChainVerifier`] does the trust checks — path validation
//!   (`webpki::EndEntityCert::verify_for_usage`) and, on a client, the name check
//!   (`verify_is_valid_for_subject_name`) — on the chain rustls recorded for one session
//!   (`CommonState::peer_certificates`), and returns every error found. The session runs it
//!   once the chain is known and keeps the result.
//!
//! Why not one verifier per session that writes into the session's slot? rustls resumes a
//! client session only when the new connection's `ClientConfig::verifier` is the very `Arc`
//! that verified the original one (`persist::ClientSessionCommon::compatible_config`,
//! `Arc::ptr_eq`), so a per-session verifier would make resumption impossible. Verifying the
//! recorded chain also covers resumed sessions, where rustls calls no verifier at all but does
//! restore the original chain: they report the same errors as the session they resume, and the
//! socket's policy decides again.

use std::fmt;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::time_provider::TimeProvider;
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use ssl_api::{
    ConfigError, Feature, Purpose, Role, SslCertificate, SslError, SslErrorKind, VerifyRequest,
};

use crate::backend::NAME;
use crate::error::verify_error_kind;

/// The verifier installed in a context's rustls config (client or server side).
pub(crate) struct HandshakeVerifier {
    algorithms: WebPkiSupportedAlgorithms,
    root_hints: Vec<DistinguishedName>,
}

impl HandshakeVerifier {
    /// A verifier checking handshake signatures with `algorithms`; a server offers
    /// `root_hints` as acceptable client certificate authorities.
    pub(crate) fn new(
        algorithms: WebPkiSupportedAlgorithms,
        root_hints: Vec<DistinguishedName>,
    ) -> HandshakeVerifier {
        HandshakeVerifier { algorithms, root_hints }
    }
}

/// The trust checks of one context, run per session on the chain the peer sent.
pub(crate) struct ChainVerifier {
    roots: Vec<TrustAnchor<'static>>,
    algorithms: WebPkiSupportedAlgorithms,
    usage: webpki::KeyUsage,
    clock: Arc<dyn TimeProvider>,
}

impl ChainVerifier {
    /// Verifies peers of a `role` end (a client verifies server certificates) against `roots`
    /// at the time given by `clock` (the rustls config's own `time_provider`).
    pub(crate) fn new(
        role: Role,
        roots: Vec<TrustAnchor<'static>>,
        algorithms: WebPkiSupportedAlgorithms,
        clock: Arc<dyn TimeProvider>,
    ) -> ChainVerifier {
        let usage = match role {
            Role::Client => webpki::KeyUsage::server_auth(),
            Role::Server => webpki::KeyUsage::client_auth(),
        };
        ChainVerifier { roots, algorithms, usage, clock }
    }

    /// Every trust error of `chain` (leaf first), plus a name error when `name` is given and
    /// the leaf is not valid for it, at the time of the context's clock. Empty when the peer
    /// is trusted. See [`verify_chain_at`].
    pub(crate) fn verify(
        &self,
        chain: &[CertificateDer<'_>],
        name: Option<&ServerName<'_>>,
    ) -> Vec<SslError> {
        // Without a clock nothing can be said about validity; rustls itself fails then.
        let now = self.clock.current_time().unwrap_or_else(UnixTime::now);
        verify_chain_at(&self.roots, self.algorithms, self.usage, now, chain, name)
    }
}

/// The trust checks shared by handshakes ([`ChainVerifier`]) and
/// [`SslBackend::verify_chain`](ssl_api::SslBackend::verify_chain): path validation of
/// `chain` (leaf first) to `roots` for `usage` at `now`
/// (`webpki::EndEntityCert::verify_for_usage`), then, when `name` is given, the name check
/// (`verify_is_valid_for_subject_name`). Every error found, empty when trusted.
///
/// webpki stops at the first path error and never says which certificate caused it, so
/// each error names the leaf.
pub(crate) fn verify_chain_at(
    roots: &[TrustAnchor<'_>],
    algorithms: WebPkiSupportedAlgorithms,
    usage: webpki::KeyUsage,
    now: UnixTime,
    chain: &[CertificateDer<'_>],
    name: Option<&ServerName<'_>>,
) -> Vec<SslError> {
    let Some((leaf_der, intermediates)) = chain.split_first() else {
        return vec![SslError::new(SslErrorKind::NoPeerCertificate, None)];
    };
    let leaf = SslCertificate::from_der(leaf_der).ok();
    let error = |kind| SslError::new(kind, leaf.clone());
    let Ok(end_entity) = webpki::EndEntityCert::try_from(leaf_der) else {
        // In a handshake `HandshakeVerifier` already failed for such a certificate.
        return vec![error(SslErrorKind::UnspecifiedError)];
    };

    let mut errors = Vec::new();
    if let Err(err) =
        end_entity.verify_for_usage(algorithms.all, roots, intermediates, now, usage, None, None)
    {
        let last = intermediates.last().and_then(|der| SslCertificate::from_der(der).ok());
        errors.push(error(verify_error_kind(&err, leaf.as_ref(), last.as_ref())));
    }
    if let Some(name) = name {
        if let Err(err) = end_entity.verify_is_valid_for_subject_name(name) {
            errors.push(error(verify_error_kind(&err, leaf.as_ref(), None)));
        }
    }
    errors
}

/// [`SslBackend::verify_chain`](ssl_api::SslBackend::verify_chain) on webpki, with the
/// aws-lc-rs provider's signature algorithms (those a handshake context uses) and
/// [`verify_chain_at`].
///
/// A host that rustls cannot parse as a server name (`ServerName::try_from`) is reported as
/// `HostNameMismatch`: no certificate is valid for it. A time before 1970 is checked as 1970.
///
/// # Errors
/// `Unsupported { PeerVerifyDepth }` for a depth limit: webpki has none to set.
pub(crate) fn verify_request(request: &VerifyRequest<'_>) -> Result<Vec<SslError>, ConfigError> {
    if request.max_intermediates.is_some() {
        return Err(ConfigError::Unsupported { backend: NAME, feature: Feature::PeerVerifyDepth });
    }
    let roots = trust_anchors(request.trust)?;
    let algorithms =
        rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
    let usage = match request.purpose {
        Purpose::ServerAuth => webpki::KeyUsage::server_auth(),
        Purpose::ClientAuth => webpki::KeyUsage::client_auth(),
    };
    let since_epoch = request.at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let now = UnixTime::since_unix_epoch(since_epoch);
    let chain: Vec<CertificateDer<'_>> =
        request.chain.iter().map(|cert| CertificateDer::from(cert.to_der())).collect();
    let name = match request.host.map(ServerName::try_from) {
        None => None,
        Some(Ok(name)) => Some(name),
        Some(Err(_)) => {
            let mut errors = verify_chain_at(&roots, algorithms, usage, now, &chain, None);
            let leaf = request.chain.first().cloned();
            errors.push(SslError::new(SslErrorKind::HostNameMismatch, leaf));
            return Ok(errors);
        }
    };
    Ok(verify_chain_at(&roots, algorithms, usage, now, &chain, name.as_ref()))
}

/// Reads `cas` as trust anchors (`webpki::anchor_from_trusted_cert`). A certificate webpki
/// cannot use as an anchor is skipped, as rustls's `RootCertStore::add_parsable_certificates`
/// does: dropping an anchor only narrows trust (fails closed), and one odd certificate in a
/// system store must not break every context.
///
/// # Errors
/// None today; the `Result` keeps room for engines that refuse a store outright.
pub(crate) fn trust_anchors(
    cas: &[SslCertificate],
) -> Result<Vec<TrustAnchor<'static>>, ConfigError> {
    Ok(cas
        .iter()
        .filter_map(|ca| {
            let der = CertificateDer::from(ca.to_der());
            webpki::anchor_from_trusted_cert(&der).map(|anchor| anchor.to_owned()).ok()
        })
        .collect())
}

/// The subjects of `anchors` as a server's certificate-request hints.
pub(crate) fn root_hints(anchors: &[TrustAnchor<'_>]) -> Vec<DistinguishedName> {
    // As `rustls::RootCertStore::subjects` builds them.
    anchors.iter().map(|anchor| DistinguishedName::in_sequence(anchor.subject.as_ref())).collect()
}

impl ServerCertVerifier for HandshakeVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        check_decodable(end_entity)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

impl ClientCertVerifier for HandshakeVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    /// Never mandatory: a client without a certificate is the socket's policy to judge.
    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.root_hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        check_decodable(end_entity)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

impl fmt::Debug for HandshakeVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandshakeVerifier")
            .field("root_hints", &self.root_hints.len())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ChainVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainVerifier")
            .field("roots", &self.roots.len())
            .field("usage", &self.usage)
            .finish_non_exhaustive()
    }
}

/// Fails the handshake for an end-entity certificate webpki cannot decode
/// (`webpki::EndEntityCert::try_from`): nothing about it could be verified or reported.
fn check_decodable(end_entity: &CertificateDer<'_>) -> Result<(), rustls::Error> {
    webpki::EndEntityCert::try_from(end_entity)
        .map(drop)
        .map_err(|_| rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding))
}
