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
//!
//! ## Verdicts of resumed sessions
//!
//! Path validation checks a signature per certificate, which a resumed handshake otherwise
//! never does (rustls skips its verifier on resumption: "resumption is a continuation of the
//! previous session in terms of security policy"). So the [`ChainVerifier`] keeps the verdicts
//! of its last [`VERDICT_CACHE_CAPACITY`] full handshakes, keyed by the exact chain (every
//! certificate's DER) and the name checked, and a resumed session takes the verdict of its
//! chain from there ([`ChainVerifier::verify_resumed`]) instead of validating again. The result
//! is the one a new validation would give: the roots are fixed per context, the chain and name
//! are the key, and only the time differs. A verdict is reused while it is younger than
//! [`VERDICT_MAX_AGE`] by the context's clock; an older one (or none: evicted, or the session
//! was first verified by another context) means a new validation, whose result replaces it.
//! The age limit bounds what the time difference can hide: a certificate that expires (or a
//! `not_before` that passes) after the original handshake is reported by resumed sessions
//! within a minute, where raw rustls would never check a resumed session again.
//!
//! ## Explicit trust
//!
//! A peer whose end-entity certificate is byte-for-byte one of the configured CA certificates,
//! and names itself as its issuer, is trusted as that anchor, as OpenSSL trusts a self-signed
//! certificate found in its store ([`Trust::explicitly_trusts`]). webpki alone would refuse
//! it when it says CA:TRUE (`CaUsedAsEndEntity`), which is what `openssl req -x509` writes: the
//! user named this very certificate as trusted, and every other engine (and curl, and Python's
//! `ssl`) accepts it. Trust comes from the configuration only: a certificate not in the list
//! is validated by webpki as any other, and nothing else is relaxed. What stays checked
//! ([`explicit_trust_errors`]): the validity period, the extended key usage and key usage for
//! the role where present, and (by webpki, as for any peer) the name; the handshake signature
//! still proves that the peer holds the key.

use std::collections::hash_map::RandomState;
use std::collections::VecDeque;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::time_provider::TimeProvider;
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use ssl_api::{ConfigError, Purpose, Role, SslCertificate, SslError, SslErrorKind, VerifyRequest};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

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

/// How many verdicts a [`ChainVerifier`] keeps for resumed sessions; the oldest goes first.
pub(crate) const VERDICT_CACHE_CAPACITY: usize = 256;

/// How long a resumed session may reuse a verdict, by the context's clock (see the module
/// docs).
pub(crate) const VERDICT_MAX_AGE: Duration = Duration::from_secs(60);

/// The trust checks of one context, run per session on the chain the peer sent. Shared by
/// every session of the context, across threads.
pub(crate) struct ChainVerifier {
    trust: Trust,
    algorithms: WebPkiSupportedAlgorithms,
    purpose: Purpose,
    /// The most intermediates a verified path may have (`peer_verify_depth` - 1).
    max_intermediates: Option<u32>,
    clock: Arc<dyn TimeProvider>,
    /// The verdicts resumed sessions may reuse.
    verdicts: Mutex<Verdicts>,
    /// How many path validations ([`verify_chain_at`]) this verifier has run.
    path_validations: AtomicU64,
}

impl ChainVerifier {
    /// Verifies peers of a `role` end (a client verifies server certificates) against `trust`
    /// at the time given by `clock` (the rustls config's own `time_provider`), on paths of at
    /// most `peer_verify_depth` certificates (the leaf included, the anchor not; 0: no
    /// limit).
    pub(crate) fn new(
        role: Role,
        trust: Trust,
        algorithms: WebPkiSupportedAlgorithms,
        clock: Arc<dyn TimeProvider>,
        peer_verify_depth: u32,
    ) -> ChainVerifier {
        let purpose = match role {
            Role::Client => Purpose::ServerAuth,
            Role::Server => Purpose::ClientAuth,
        };
        ChainVerifier {
            trust,
            algorithms,
            purpose,
            max_intermediates: peer_verify_depth.checked_sub(1),
            clock,
            verdicts: Mutex::new(Verdicts::default()),
            path_validations: AtomicU64::new(0),
        }
    }

    /// Every trust error of `chain` (leaf first), plus a name error when `name` is given and
    /// the leaf is not valid for it, at the time of the context's clock. Empty when the peer
    /// is trusted. See [`verify_chain_at`]. For a full handshake: always validates, and keeps
    /// the verdict for sessions that resume this one.
    pub(crate) fn verify(
        &self,
        chain: &[CertificateDer<'_>],
        name: Option<&ServerName<'_>>,
    ) -> Vec<SslError> {
        let now = self.now();
        let errors = self.validate(now, chain, name);
        self.verdicts().store(chain, name, &errors, now);
        errors
    }

    /// [`verify`](Self::verify) for a resumed session, whose chain rustls restored from the
    /// session it resumes: the kept verdict of `chain` and `name` when it is younger than
    /// [`VERDICT_MAX_AGE`], else a new validation (which refreshes the kept verdict).
    pub(crate) fn verify_resumed(
        &self,
        chain: &[CertificateDer<'_>],
        name: Option<&ServerName<'_>>,
    ) -> Vec<SslError> {
        let now = self.now();
        if let Some(errors) = self.verdicts().fresh(chain, name, now) {
            return errors;
        }
        self.verify(chain, name)
    }

    /// How many path validations this verifier has run: what resumed sessions save.
    pub(crate) fn path_validations(&self) -> u64 {
        self.path_validations.load(Ordering::Relaxed)
    }

    /// The context's time. Without one nothing can be said about validity (rustls itself
    /// fails then), so the system's.
    fn now(&self) -> UnixTime {
        self.clock.current_time().unwrap_or_else(UnixTime::now)
    }

    /// [`verify_chain_at`] with this context's trust, counted.
    fn validate(
        &self,
        now: UnixTime,
        chain: &[CertificateDer<'_>],
        name: Option<&ServerName<'_>>,
    ) -> Vec<SslError> {
        self.path_validations.fetch_add(1, Ordering::Relaxed);
        let limit = self.max_intermediates;
        verify_chain_at(&self.trust, self.algorithms, self.purpose, now, chain, name, limit)
    }

    /// The kept verdicts. Nothing but an allocation can fail while they are locked, and even
    /// then every entry still holds a verdict computed for its own chain and name (at worst
    /// with the time of the one before), so a poisoned lock is still usable.
    fn verdicts(&self) -> std::sync::MutexGuard<'_, Verdicts> {
        self.verdicts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The verdicts of a [`ChainVerifier`]'s last full handshakes, oldest first: at most
/// [`VERDICT_CACHE_CAPACITY`], one per chain and name. A linear scan over the stored hashes
/// finds an entry; the chain and name are then compared exactly.
#[derive(Default)]
struct Verdicts {
    entries: VecDeque<Verdict>,
    hasher: RandomState,
}

/// The result of validating one chain for one name.
struct Verdict {
    /// The hash of `chain` and `name`, compared first.
    hash: u64,
    chain: Vec<CertificateDer<'static>>,
    name: Option<ServerName<'static>>,
    errors: Vec<SslError>,
    /// When it was computed, by the context's clock.
    at: UnixTime,
}

impl Verdicts {
    /// The errors kept for `chain` and `name` if they were computed less than
    /// [`VERDICT_MAX_AGE`] before `now` (and not after it: a clock that went back is not
    /// trusted to say how old they are).
    fn fresh(
        &self,
        chain: &[CertificateDer<'_>],
        name: Option<&ServerName<'_>>,
        now: UnixTime,
    ) -> Option<Vec<SslError>> {
        let verdict = self.find(self.hash(chain, name), chain, name)?;
        let age = now.as_secs().checked_sub(verdict.at.as_secs())?;
        (age < VERDICT_MAX_AGE.as_secs()).then(|| verdict.errors.clone())
    }

    /// Keeps `errors` as the verdict on `chain` and `name` computed at `at`, replacing an
    /// older one for the same chain and name, else evicting the oldest when full.
    fn store(
        &mut self,
        chain: &[CertificateDer<'_>],
        name: Option<&ServerName<'_>>,
        errors: &[SslError],
        at: UnixTime,
    ) {
        let hash = self.hash(chain, name);
        if let Some(index) = self.position(hash, chain, name) {
            let verdict = &mut self.entries[index];
            verdict.errors = errors.to_vec();
            verdict.at = at;
            return;
        }
        if self.entries.len() >= VERDICT_CACHE_CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(Verdict {
            hash,
            chain: chain.iter().map(|der| der.clone().into_owned()).collect(),
            name: name.map(ServerName::to_owned),
            errors: errors.to_vec(),
            at,
        });
    }

    fn find(
        &self,
        hash: u64,
        chain: &[CertificateDer<'_>],
        name: Option<&ServerName<'_>>,
    ) -> Option<&Verdict> {
        self.position(hash, chain, name).map(|index| &self.entries[index])
    }

    fn position(
        &self,
        hash: u64,
        chain: &[CertificateDer<'_>],
        name: Option<&ServerName<'_>>,
    ) -> Option<usize> {
        self.entries.iter().position(|verdict| {
            verdict.hash == hash
                && verdict.chain.as_slice() == chain
                && verdict.name.as_ref() == name
        })
    }

    fn hash(&self, chain: &[CertificateDer<'_>], name: Option<&ServerName<'_>>) -> u64 {
        self.hasher.hash_one((chain, name))
    }
}

/// The trust checks shared by handshakes ([`ChainVerifier`]) and
/// [`SslBackend::verify_chain`](ssl_api::SslBackend::verify_chain): path validation of
/// `chain` (leaf first) to `trust` for `purpose` at `now`
/// (`webpki::EndEntityCert::verify_for_usage`) — or, for a leaf the configuration trusts
/// explicitly ([`Trust::explicitly_trusts`]), the checks that rule keeps
/// ([`explicit_trust_errors`]) — then, when `name` is given, the name check
/// (`verify_is_valid_for_subject_name`). Every error found, empty when trusted.
///
/// `max_intermediates` bounds the path webpki builds (its `verify_path` callback sees each
/// candidate path, `VerifiedPath::intermediate_certificates`): a longer path is refused and
/// webpki tries the others; when none fits, the error is `PathLengthExceeded`, as OpenSSL
/// reports `X509_V_ERR_CERT_CHAIN_TOO_LONG`.
///
/// webpki stops at the first path error and never says which certificate caused it, so
/// each error names the leaf.
pub(crate) fn verify_chain_at(
    trust: &Trust,
    algorithms: WebPkiSupportedAlgorithms,
    purpose: Purpose,
    now: UnixTime,
    chain: &[CertificateDer<'_>],
    name: Option<&ServerName<'_>>,
    max_intermediates: Option<u32>,
) -> Vec<SslError> {
    let Some((leaf_der, intermediates)) = chain.split_first() else {
        return vec![SslError::new(SslErrorKind::NoPeerCertificate, None)];
    };
    // The leaf's view is only needed for an error or an explicitly trusted leaf: parsed on
    // first use, not on every trusted handshake.
    let leaf_view = std::cell::OnceCell::new();
    let leaf = || leaf_view.get_or_init(|| SslCertificate::from_der(leaf_der).ok()).as_ref();
    let error = |kind| SslError::new(kind, leaf().cloned());
    let Ok(end_entity) = webpki::EndEntityCert::try_from(leaf_der) else {
        // In a handshake `HandshakeVerifier` already failed for such a certificate.
        return vec![error(SslErrorKind::UnspecifiedError)];
    };

    let within_depth = |path: &webpki::VerifiedPath<'_>| {
        let length = path.intermediate_certificates().count();
        match max_intermediates {
            Some(max) if length > usize::try_from(max).unwrap_or(usize::MAX) => {
                Err(webpki::Error::PathLenConstraintViolated)
            }
            _ => Ok(()),
        }
    };
    let verify_path: Option<&PathCheck<'_>> = max_intermediates.map(|_| &within_depth as _);
    let mut errors = Vec::new();
    let explicitly_trusted = if trust.explicitly_trusts(leaf_der) { leaf() } else { None };
    match explicitly_trusted {
        Some(trusted) => {
            errors.extend(explicit_trust_errors(trusted, purpose, now).into_iter().map(error));
        }
        _ => {
            let usage = key_usage(purpose);
            if let Err(err) = end_entity.verify_for_usage(
                algorithms.all,
                &trust.anchors,
                intermediates,
                now,
                usage,
                None,
                verify_path,
            ) {
                let last = intermediates.last().and_then(|der| SslCertificate::from_der(der).ok());
                errors.push(error(verify_error_kind(&err, leaf(), last.as_ref())));
            }
        }
    }
    if let Some(name) = name {
        if let Err(err) = end_entity.verify_is_valid_for_subject_name(name) {
            errors.push(error(verify_error_kind(&err, leaf(), None)));
        }
    }
    errors
}

/// What the explicit-trust rule still checks on `leaf`, a configured CA certificate the peer
/// presented as its own, for `purpose` at `now`; the kinds of what fails, empty when nothing
/// does. The name is checked by the caller, as for every peer.
///
/// - The validity period, as webpki's path validation checks it on every certificate:
///   `CertificateNotYetValid` before notBefore, `CertificateExpired` after notAfter.
/// - Where present, the extended key usage must name the purpose (id-kp-serverAuth for a
///   server, id-kp-clientAuth for a client; `anyExtendedKeyUsage` is not enough), as webpki's
///   `KeyUsage::server_auth` / `client_auth` require of every certificate, and the key usage
///   must allow a TLS key (digitalSignature, keyEncipherment or keyAgreement for a server;
///   digitalSignature or keyAgreement for a client), as OpenSSL's purpose check
///   (`X509_check_purpose` with `X509_PURPOSE_SSL_SERVER` / `_SSL_CLIENT`) requires.
///   Otherwise `InvalidPurpose`, which is also the answer for extensions that cannot be read.
///
/// webpki has no public call that checks one certificate's validity or usages outside path
/// building (its `check_issuer_independent_properties` refuses CA:TRUE first), so the fields
/// are read with x509-parser, the parser `SslCertificate` itself is built on.
fn explicit_trust_errors(
    leaf: &SslCertificate,
    purpose: Purpose,
    now: UnixTime,
) -> Vec<SslErrorKind> {
    let mut kinds = Vec::new();
    let now = UNIX_EPOCH + Duration::from_secs(now.as_secs());
    if now < leaf.effective_date() {
        kinds.push(SslErrorKind::CertificateNotYetValid);
    } else if now > leaf.expiry_date() {
        kinds.push(SslErrorKind::CertificateExpired);
    }
    if !usages_allow(leaf.to_der(), purpose) {
        kinds.push(SslErrorKind::InvalidPurpose);
    }
    kinds
}

/// Whether the extended key usage and key usage of the certificate `der`, where present,
/// allow `purpose` (see [`explicit_trust_errors`]). False when they cannot be read.
fn usages_allow(der: &[u8], purpose: Purpose) -> bool {
    let Ok((_, cert)) = X509Certificate::from_der(der) else { return false };
    let (Ok(eku), Ok(ku)) = (cert.extended_key_usage(), cert.key_usage()) else { return false };
    let eku_allows = eku.is_none_or(|eku| match purpose {
        Purpose::ServerAuth => eku.value.server_auth,
        Purpose::ClientAuth => eku.value.client_auth,
    });
    let ku_allows = ku.is_none_or(|ku| {
        let ku = ku.value;
        match purpose {
            Purpose::ServerAuth => {
                ku.digital_signature() || ku.key_encipherment() || ku.key_agreement()
            }
            Purpose::ClientAuth => ku.digital_signature() || ku.key_agreement(),
        }
    });
    eku_allows && ku_allows
}

/// webpki's extended key usage requirement for `purpose`: the purpose's OID when the
/// certificate has the extension.
fn key_usage(purpose: Purpose) -> webpki::KeyUsage {
    match purpose {
        Purpose::ServerAuth => webpki::KeyUsage::server_auth(),
        Purpose::ClientAuth => webpki::KeyUsage::client_auth(),
    }
}

/// webpki's `verify_path` callback: a check of one candidate path.
type PathCheck<'a> = dyn Fn(&webpki::VerifiedPath<'_>) -> Result<(), webpki::Error> + 'a;

/// [`SslBackend::verify_chain`](ssl_api::SslBackend::verify_chain) on webpki, with the
/// aws-lc-rs provider's signature algorithms (those a handshake context uses) and
/// [`verify_chain_at`].
///
/// A host that rustls cannot parse as a server name (`ServerName::try_from`) is reported as
/// `HostNameMismatch`: no certificate is valid for it. A time before 1970 is checked as 1970.
///
/// `request.max_intermediates` bounds the path as in a handshake.
///
/// # Errors
/// As [`trust_anchors`] (none today).
pub(crate) fn verify_request(request: &VerifyRequest<'_>) -> Result<Vec<SslError>, ConfigError> {
    let limit = request.max_intermediates;
    let trust = Trust::new(request.trust)?;
    let algorithms =
        rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
    let purpose = request.purpose;
    let since_epoch = request.at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let now = UnixTime::since_unix_epoch(since_epoch);
    let chain: Vec<CertificateDer<'_>> =
        request.chain.iter().map(|cert| CertificateDer::from(cert.to_der())).collect();
    let name = match request.host.map(ServerName::try_from) {
        None => None,
        Some(Ok(name)) => Some(name),
        Some(Err(_)) => {
            let mut errors = verify_chain_at(&trust, algorithms, purpose, now, &chain, None, limit);
            let leaf = request.chain.first().cloned();
            errors.push(SslError::new(SslErrorKind::HostNameMismatch, leaf));
            return Ok(errors);
        }
    };
    Ok(verify_chain_at(&trust, algorithms, purpose, now, &chain, name.as_ref(), limit))
}

/// What a context (or a `verify_chain` request) trusts: the anchors webpki builds paths to,
/// and the configured CA certificates that may be trusted explicitly as a peer's own.
#[derive(Default)]
pub(crate) struct Trust {
    anchors: Vec<TrustAnchor<'static>>,
    /// The DER of every configured CA certificate that names itself as its issuer.
    self_issued: Vec<CertificateDer<'static>>,
}

impl Trust {
    /// Reads `cas` as trust anchors (`webpki::anchor_from_trusted_cert`). A certificate webpki
    /// cannot use as an anchor is skipped, as rustls's `RootCertStore::add_parsable_certificates`
    /// does: dropping an anchor only narrows trust (fails closed), and one odd certificate in a
    /// system store must not break every context. The self-issued ones
    /// ([`SslCertificate::is_self_signed`]) are also kept whole, for
    /// [`explicitly_trusts`](Self::explicitly_trusts).
    ///
    /// # Errors
    /// None today; the `Result` keeps room for engines that refuse a store outright.
    pub(crate) fn new(cas: &[SslCertificate]) -> Result<Trust, ConfigError> {
        let mut trust = Trust::default();
        for ca in cas {
            let der = CertificateDer::from(ca.to_der().to_vec());
            let Ok(anchor) = webpki::anchor_from_trusted_cert(&der).map(|a| a.to_owned()) else {
                continue;
            };
            trust.anchors.push(anchor);
            if ca.is_self_signed() {
                trust.self_issued.push(der);
            }
        }
        Ok(trust)
    }

    /// The anchors, in configuration order.
    pub(crate) fn anchors(&self) -> &[TrustAnchor<'static>] {
        &self.anchors
    }

    /// Whether `leaf` is trusted as an anchor itself: byte-for-byte one of the configured CA
    /// certificates, and one that names itself as its issuer (subject equals issuer, key
    /// identifiers agree), as OpenSSL decides a certificate is self-signed. A configured
    /// certificate issued by someone else is not a root for OpenSSL either (it would need
    /// `X509_V_FLAG_PARTIAL_CHAIN`), so it stays an ordinary anchor for webpki.
    pub(crate) fn explicitly_trusts(&self, leaf: &CertificateDer<'_>) -> bool {
        self.self_issued.iter().any(|ca| ca.as_ref() == leaf.as_ref())
    }
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
            .field("anchors", &self.trust.anchors.len())
            .field("purpose", &self.purpose)
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use rustls::time_provider::DefaultTimeProvider;

    use super::*;

    /// A client-side verifier trusting nothing: every chain has an error, and every
    /// validation shows in the counter.
    fn verifier() -> ChainVerifier {
        let algorithms =
            rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms;
        ChainVerifier::new(
            Role::Client,
            Trust::default(),
            algorithms,
            Arc::new(DefaultTimeProvider),
            0,
        )
    }

    fn self_signed(name: &str) -> CertificateDer<'static> {
        rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap().cert.der().clone()
    }

    fn name(name: &str) -> ServerName<'static> {
        ServerName::try_from(name.to_owned()).unwrap()
    }

    #[test]
    fn a_verdict_is_reused_only_for_the_very_same_chain() {
        let verifier = verifier();
        let leaf = self_signed("localhost");
        let alone = [leaf.clone()];
        let localhost = name("localhost");
        let errors = verifier.verify(&alone, Some(&localhost));
        assert_eq!(verifier.path_validations(), 1);

        assert_eq!(verifier.verify_resumed(&alone, Some(&localhost)), errors);
        assert_eq!(verifier.path_validations(), 1, "same chain, same name: reused");

        let longer = [leaf.clone(), self_signed("intermediate")];
        verifier.verify_resumed(&longer, Some(&localhost));
        assert_eq!(verifier.path_validations(), 2, "same leaf, other chain: validated");

        verifier.verify_resumed(&[self_signed("localhost")], Some(&localhost));
        assert_eq!(verifier.path_validations(), 3, "other leaf: validated");

        verifier.verify_resumed(&alone, None);
        assert_eq!(verifier.path_validations(), 4, "no name checked: validated");
    }

    #[test]
    fn the_oldest_verdict_is_evicted_when_the_cache_is_full() {
        let verifier = verifier();
        let chain = [self_signed("localhost")];
        let names: Vec<_> =
            (0..=VERDICT_CACHE_CAPACITY).map(|i| name(&format!("host{i}.example"))).collect();
        for name in &names {
            verifier.verify(&chain, Some(name));
        }
        let validations = verifier.path_validations();

        verifier.verify_resumed(&chain, names.last());
        assert_eq!(verifier.path_validations(), validations, "the newest is kept");
        verifier.verify_resumed(&chain, names.first());
        assert_eq!(verifier.path_validations(), validations + 1, "the oldest was evicted");
    }

    /// A self-signed certificate for `localhost` as `openssl req -x509` makes it (CA:TRUE),
    /// valid from `from` to `until` days after 2026-01-01 (the time [`kinds`] verifies at),
    /// adjusted by `tweak`.
    fn ca_leaf(
        from: i64,
        until: i64,
        tweak: impl FnOnce(&mut rcgen::CertificateParams),
    ) -> SslCertificate {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.not_before = shifted(rcgen::date_time_ymd(2026, 1, 1), from);
        params.not_after = shifted(rcgen::date_time_ymd(2026, 1, 1), until);
        tweak(&mut params);
        let cert = params.self_signed(&key).unwrap();
        SslCertificate::from_der(cert.der()).unwrap()
    }

    /// `time` plus `days` (negative: before).
    fn shifted<T>(time: T, days: i64) -> T
    where
        T: std::ops::Add<Duration, Output = T> + std::ops::Sub<Duration, Output = T>,
    {
        let shift = Duration::from_secs(86_400 * days.unsigned_abs());
        if days < 0 {
            time - shift
        } else {
            time + shift
        }
    }

    /// The kinds `verify_chain` reports for `leaf` alone, trusting `trust`, as `purpose`, at
    /// the reference time of [`ca_leaf`], checking `host`.
    fn kinds(
        leaf: &SslCertificate,
        trust: &[SslCertificate],
        purpose: Purpose,
        host: Option<&str>,
    ) -> Vec<SslErrorKind> {
        let at = UNIX_EPOCH + Duration::from_secs(1_767_225_600); // 2026-01-01
        let chain = [leaf.clone()];
        let request = VerifyRequest::new(&chain, trust, at, purpose).with_host(host);
        verify_request(&request).unwrap().into_iter().map(|e| e.kind).collect()
    }

    #[test]
    fn a_ca_certificate_the_configuration_lists_is_trusted_as_the_peers_own() {
        let cert = ca_leaf(-1, 2, |_| {});
        let trusted = [cert.clone()];
        assert_eq!(kinds(&cert, &trusted, Purpose::ServerAuth, Some("localhost")), []);
        assert_eq!(kinds(&cert, &trusted, Purpose::ClientAuth, None), []);
    }

    #[test]
    fn a_ca_certificate_the_configuration_does_not_list_is_rejected_as_before() {
        let cert = ca_leaf(-1, 2, |_| {});
        let other = ca_leaf(-1, 2, |_| {});
        assert_eq!(
            kinds(&cert, &[other], Purpose::ServerAuth, Some("localhost")),
            [SslErrorKind::InvalidPurpose],
            "webpki's CaUsedAsEndEntity"
        );
        assert_eq!(kinds(&cert, &[], Purpose::ServerAuth, None), [SslErrorKind::InvalidPurpose]);
    }

    #[test]
    fn an_explicitly_trusted_certificate_is_still_checked_for_name_time_and_purpose() {
        let cert = ca_leaf(-1, 2, |_| {});
        let trusted = [cert.clone()];
        assert_eq!(
            kinds(&cert, &trusted, Purpose::ServerAuth, Some("elsewhere.example")),
            [SslErrorKind::HostNameMismatch]
        );
        let expired = ca_leaf(-3, -1, |_| {});
        assert_eq!(
            kinds(&expired, std::slice::from_ref(&expired), Purpose::ServerAuth, Some("localhost")),
            [SslErrorKind::CertificateExpired]
        );
        let early = ca_leaf(1, 3, |_| {});
        assert_eq!(
            kinds(&early, std::slice::from_ref(&early), Purpose::ServerAuth, Some("localhost")),
            [SslErrorKind::CertificateNotYetValid]
        );
        let client_only = ca_leaf(-1, 2, |p| {
            p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        });
        let trusted = [client_only.clone()];
        assert_eq!(
            kinds(&client_only, &trusted, Purpose::ServerAuth, Some("localhost")),
            [SslErrorKind::InvalidPurpose]
        );
        assert_eq!(kinds(&client_only, &trusted, Purpose::ClientAuth, None), []);
        let signing_only = ca_leaf(-1, 2, |p| {
            p.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
        });
        assert_eq!(
            kinds(
                &signing_only,
                std::slice::from_ref(&signing_only),
                Purpose::ServerAuth,
                Some("localhost")
            ),
            [SslErrorKind::InvalidPurpose]
        );
    }

    #[test]
    fn a_listed_certificate_issued_by_an_unlisted_ca_is_not_trusted_explicitly() {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name.push(rcgen::DnType::CommonName, "unlisted CA");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        let leaf =
            SslCertificate::from_der(params.signed_by(&key, &issuer).unwrap().der()).unwrap();
        assert_eq!(
            kinds(&leaf, std::slice::from_ref(&leaf), Purpose::ServerAuth, Some("localhost")),
            [SslErrorKind::UnableToGetLocalIssuerCertificate],
            "pinning a leaf is not a root: OpenSSL needs X509_V_FLAG_PARTIAL_CHAIN for that"
        );
    }
}
