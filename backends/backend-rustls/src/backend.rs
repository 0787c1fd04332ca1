//! [`RustlsBackend`] (the factory and its capabilities) and [`RustlsContext`] (one rustls
//! `ClientConfig` or `ServerConfig`, built once per configuration and shared by its sessions).

use std::fmt;
use std::sync::Arc;

use rustls::crypto::{aws_lc_rs, CryptoProvider};
use rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
    ServerName,
};
use rustls::time_provider::TimeProvider;
use rustls::{ClientConfig, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion};
use ssl_api::{
    CertificateError, ConfigError, Feature, FeatureSet, KeyFormat, KeyLogHandler, PeerVerifyMode,
    Role, SslBackend, SslCipher, SslConfiguration, SslContext, SslError, SslMode, SslProtocol,
    SslSession, TlsVersion, VerifyRequest,
};

use crate::error::{engine_error, identity_error};
use crate::session::RustlsSession;
use crate::verify::{root_hints, verify_request, ChainVerifier, HandshakeVerifier, Trust};

/// The backend's name, as [`SslBackend::name`] reports it.
pub const NAME: &str = "rustls";

/// The rustls version this crate is linked with, found in `Cargo.lock` by `build.rs`
/// (`"0.23 (declared)"` when the crate was built outside its workspace).
const RUSTLS_VERSION: &str = env!("BACKEND_RUSTLS_VERSION");

/// The rustls backend: rustls 0.23 with its aws-lc-rs crypto provider.
///
/// Stateless: every context gets its own provider instance
/// (`ClientConfig::builder_with_provider`); no process-wide default is installed.
///
/// rustls implements TLS 1.2 and 1.3 only. `AnyProtocol`, `TlsV1_0OrLater` and
/// `TlsV1_1OrLater` are accepted and mean TLS 1.2–1.3; `TlsV1_0`, `TlsV1_1` and
/// `UnknownProtocol` are refused with [`ConfigError::UnsupportedProtocol`].
///
/// rustls has no security level to lower and no weak algorithm to allow:
/// `danger_allow_weak_crypto` is refused with [`ConfigError::Unsupported`]
/// (`Feature::WeakCrypto`), never ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RustlsBackend;

impl RustlsBackend {
    /// The backend's name (`"rustls"`).
    pub const NAME: &'static str = NAME;

    /// The backend.
    #[must_use]
    pub const fn new() -> RustlsBackend {
        RustlsBackend
    }
}

/// A rustls `ClientConfig` or `ServerConfig` built from one [`SslConfiguration`], with the
/// session cache (and, on a server, the ticket key) every session made from it shares.
pub struct RustlsContext {
    engine: Engine,
    /// The trust checks to run on each session's peer chain; `None` under `VerifyNone`.
    chain_verifier: Option<Arc<ChainVerifier>>,
}

enum Engine {
    Client(Arc<ClientConfig>),
    Server(Arc<ServerConfig>),
}

impl SslBackend for RustlsBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn availability(&self) -> Result<(), String> {
        Ok(())
    }

    fn library_version_string(&self) -> String {
        format!("rustls {RUSTLS_VERSION} (aws-lc-rs)")
    }

    /// rustls is compiled into the program: the build version is the run-time version.
    fn library_build_version_string(&self) -> String {
        self.library_version_string()
    }

    /// `major * 10000 + minor * 100 + patch`.
    fn library_version_number(&self) -> u64 {
        version_number(RUSTLS_VERSION)
    }

    fn supported_protocols(&self) -> Vec<SslProtocol> {
        SslProtocol::ALL.into_iter().filter(|p| protocol_versions(*p).is_ok()).collect()
    }

    /// The suites of the aws-lc-rs provider's default list (`CryptoProvider::cipher_suites`),
    /// in its order of preference.
    fn supported_ciphers(&self) -> Vec<SslCipher> {
        aws_lc_rs::default_provider()
            .cipher_suites
            .iter()
            .filter_map(|suite| SslCipher::from_iana_name(&iana_name(*suite)?))
            .collect()
    }

    fn features(&self) -> FeatureSet {
        [
            Feature::CertificateVerification,
            Feature::ClientSideAlpn,
            Feature::ServerSideAlpn,
            Feature::SessionTicket,
            Feature::ClientCertificates,
            Feature::ServerRequestsClientCertificate,
            Feature::PeerCertificateChain,
            Feature::PeerVerifyDepth,
            Feature::SessionCipher,
            Feature::SessionProtocol,
            Feature::CipherSelection,
            Feature::KeyLog,
            Feature::ServerNameIndication,
            Feature::RecoverableVerifyErrors,
            Feature::ChainVerification,
            Feature::ServerCipherPreference,
            // `Error::AlertReceived` names the peer's alert.
            Feature::Alerts,
        ]
        .into_iter()
        .collect()
    }

    /// Builds a [`RustlsContext`] (see [`RustlsContext::new`]).
    fn new_context(
        &self,
        config: &SslConfiguration,
        role: Role,
    ) -> Result<Arc<dyn SslContext>, ConfigError> {
        Ok(Arc::new(RustlsContext::new(config, role)?))
    }

    /// webpki's path validation and name check, the very code a handshake runs on the peer's
    /// chain (`verify::verify_chain_at`). At most one path error plus a name error, each
    /// naming the leaf. A depth limit bounds the path webpki builds, as in a handshake.
    fn verify_chain(&self, request: &VerifyRequest<'_>) -> Result<Vec<SslError>, ConfigError> {
        verify_request(request)
    }
}

impl RustlsContext {
    /// Builds the rustls config for `config` and `role` once; sessions clone its `Arc`, so
    /// rustls's client session store (`ClientConfig::resumption`), server session cache
    /// (`ServerConfig::session_storage`) and ticket key (`ServerConfig::ticketer`) are shared
    /// by every session of the context.
    ///
    /// # Errors
    /// [`ConfigError::UnsupportedProtocol`] for TLS 1.0 / 1.1 only or `UnknownProtocol`;
    /// [`ConfigError::Unsupported`] (`WeakCrypto`) for `danger_allow_weak_crypto`;
    /// [`ConfigError::UnknownCipher`] for a cipher the provider lacks;
    /// [`ConfigError::MissingIdentity`] for a server without certificate and key, or a
    /// certificate without key; [`ConfigError::KeyMismatch`] when they do not belong together;
    /// [`ConfigError::Certificate`] for a key or CA certificate rustls cannot use;
    /// [`ConfigError::Engine`] when rustls refuses the combination.
    pub fn new(config: &SslConfiguration, role: Role) -> Result<RustlsContext, ConfigError> {
        RustlsContext::build(config, role, None)
    }

    /// [`RustlsContext::new`] with `clock` as the rustls config's `time_provider`, the clock
    /// of rustls's ticket lifetimes and of this crate's trust checks. For tests that move
    /// time; not part of the stable API.
    ///
    /// # Errors
    /// As [`RustlsContext::new`].
    #[doc(hidden)]
    pub fn with_time_provider(
        config: &SslConfiguration,
        role: Role,
        clock: Arc<dyn TimeProvider>,
    ) -> Result<RustlsContext, ConfigError> {
        RustlsContext::build(config, role, Some(clock))
    }

    /// How many path validations (webpki signature checks of a peer's chain) the context's
    /// sessions have run; 0 under `VerifyNone`. Resumed sessions reuse a recent verdict
    /// instead of running one. For tests and benchmarks; not part of the stable API.
    #[doc(hidden)]
    #[must_use]
    pub fn path_validations(&self) -> u64 {
        self.chain_verifier.as_ref().map_or(0, |verifier| verifier.path_validations())
    }

    /// [`RustlsContext::new`], with the rustls default clock unless `clock` is given.
    fn build(
        config: &SslConfiguration,
        role: Role,
        clock: Option<Arc<dyn TimeProvider>>,
    ) -> Result<RustlsContext, ConfigError> {
        // What rustls cannot do (PSK, weak crypto) is refused, not dropped.
        ssl_api::check_capabilities(&RustlsBackend, config, role)?;
        let versions = protocol_versions(config.protocol)?;
        let provider = Arc::new(provider_with_ciphers(&config.ciphers)?);
        let algorithms = provider.signature_verification_algorithms;
        let mode = match role {
            Role::Client => SslMode::SslClientMode,
            Role::Server => SslMode::SslServerMode,
        };
        let verify = config.peer_verify_mode.effective(mode) != PeerVerifyMode::VerifyNone;
        let trust = if verify { Trust::new(&config.ca_certificates)? } else { Trust::default() };
        let identity = identity(config)?;

        let (engine, clock) = match role {
            Role::Client => {
                // The same verifier under VerifyNone: it accepts every trust problem anyway
                // and still checks the handshake signatures.
                let verifier = Arc::new(HandshakeVerifier::new(algorithms, Vec::new()));
                let builder = ClientConfig::builder_with_provider(provider)
                    .with_protocol_versions(versions)
                    .map_err(|e| engine_error(&e))?
                    .dangerous()
                    .with_custom_certificate_verifier(verifier);
                let mut client = match identity {
                    // `with_client_auth_cert` checks that the key matches the leaf.
                    Some((chain, key)) => {
                        builder.with_client_auth_cert(chain, key).map_err(identity_error)?
                    }
                    None => builder.with_no_client_auth(),
                };
                client.alpn_protocols.clone_from(&config.alpn_protocols);
                if let Some(log) = &config.key_log {
                    client.key_log = Arc::new(KeyLogAdapter(log.clone()));
                }
                if let Some(clock) = &clock {
                    client.time_provider = Arc::clone(clock);
                }
                let clock = Arc::clone(&client.time_provider);
                (Engine::Client(Arc::new(client)), clock)
            }
            Role::Server => {
                let (chain, key) = identity.ok_or(ConfigError::MissingIdentity)?;
                let builder = ServerConfig::builder_with_provider(provider)
                    .with_protocol_versions(versions)
                    .map_err(|e| engine_error(&e))?;
                let builder = if verify {
                    let hints = root_hints(trust.anchors());
                    builder.with_client_cert_verifier(Arc::new(HandshakeVerifier::new(
                        algorithms, hints,
                    )))
                } else {
                    builder.with_no_client_auth()
                };
                // `with_single_cert` checks that the key matches the leaf.
                let mut server = builder.with_single_cert(chain, key).map_err(identity_error)?;
                server.alpn_protocols.clone_from(&config.alpn_protocols);
                // The server's order of suites wins unless the client's is asked for.
                server.ignore_client_order = !config.disable_server_cipher_preference;
                if let Some(log) = &config.key_log {
                    server.key_log = Arc::new(KeyLogAdapter(log.clone()));
                }
                // Stateless tickets (RFC 5077) as well as rustls's default stateful cache.
                server.ticketer = aws_lc_rs::Ticketer::new().map_err(|e| engine_error(&e))?;
                if let Some(clock) = &clock {
                    server.time_provider = Arc::clone(clock);
                }
                let clock = Arc::clone(&server.time_provider);
                (Engine::Server(Arc::new(server)), clock)
            }
        };
        let depth = config.peer_verify_depth;
        let chain_verifier =
            verify.then(|| Arc::new(ChainVerifier::new(role, trust, algorithms, clock, depth)));
        Ok(RustlsContext { engine, chain_verifier })
    }

    /// Starts a session: [`SslContext::new_session`] with the concrete type.
    ///
    /// # Errors
    /// [`ConfigError::InvalidPeerName`] for a client without a DNS name or IP address;
    /// [`ConfigError::Engine`] when rustls refuses to start the connection.
    pub fn session(&self, peer_name: Option<&str>) -> Result<RustlsSession, ConfigError> {
        Ok(match &self.engine {
            Engine::Client(config) => {
                let name = peer_name.ok_or_else(|| ConfigError::InvalidPeerName(String::new()))?;
                let server_name = ServerName::try_from(name.to_owned())
                    .map_err(|_| ConfigError::InvalidPeerName(name.to_owned()))?;
                // `ClientConnection::new`
                let conn = rustls::ClientConnection::new(Arc::clone(config), server_name.clone())
                    .map_err(|e| engine_error(&e))?;
                RustlsSession::new(conn.into(), self.chain_verifier.clone(), Some(server_name))
            }
            Engine::Server(config) => {
                // `ServerConnection::new`
                let conn = rustls::ServerConnection::new(Arc::clone(config))
                    .map_err(|e| engine_error(&e))?;
                RustlsSession::new(conn.into(), self.chain_verifier.clone(), None)
            }
        })
    }
}

impl SslContext for RustlsContext {
    /// A client session needs `peer_name`: a DNS name (sent as SNI and checked against the
    /// certificate) or an IP address (not sent; checked against the IP SANs).
    fn new_session(&self, peer_name: Option<&str>) -> Result<Box<dyn SslSession>, ConfigError> {
        Ok(Box::new(self.session(peer_name)?))
    }
}

impl fmt::Debug for RustlsContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let role = match self.engine {
            Engine::Client(_) => Role::Client,
            Engine::Server(_) => Role::Server,
        };
        f.debug_struct("RustlsContext")
            .field("role", &role)
            .field("verify", &self.chain_verifier.is_some())
            .finish_non_exhaustive()
    }
}

/// The rustls versions for `protocol`, clamped to what rustls has (TLS 1.2 and 1.3).
fn protocol_versions(
    protocol: SslProtocol,
) -> Result<&'static [&'static SupportedProtocolVersion], ConfigError> {
    static BOTH: [&SupportedProtocolVersion; 2] =
        [&rustls::version::TLS13, &rustls::version::TLS12];
    static TLS12: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS12];
    static TLS13: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
    let unsupported = ConfigError::UnsupportedProtocol { backend: NAME, protocol };
    let (low, high) = protocol.version_range().ok_or(unsupported.clone())?;
    Ok(match (low.max(TlsVersion::Tls1_2), high) {
        (_, TlsVersion::Tls1_0 | TlsVersion::Tls1_1) => return Err(unsupported),
        (TlsVersion::Tls1_2, TlsVersion::Tls1_2) => &TLS12,
        (TlsVersion::Tls1_2, TlsVersion::Tls1_3) => &BOTH,
        _ => &TLS13,
    })
}

/// The aws-lc-rs provider, its cipher suites restricted to `ciphers` (in that order) when
/// the list is not empty.
fn provider_with_ciphers(ciphers: &[SslCipher]) -> Result<CryptoProvider, ConfigError> {
    let mut provider = aws_lc_rs::default_provider();
    if ciphers.is_empty() {
        return Ok(provider);
    }
    let mut chosen: Vec<SupportedCipherSuite> = Vec::with_capacity(ciphers.len());
    for cipher in ciphers {
        let suite = provider
            .cipher_suites
            .iter()
            .find(|suite| iana_name(**suite).as_deref() == Some(cipher.name.as_str()))
            .ok_or_else(|| ConfigError::UnknownCipher {
                backend: NAME,
                name: cipher.name.clone(),
            })?;
        if !chosen.contains(suite) {
            chosen.push(*suite);
        }
    }
    provider.cipher_suites = chosen;
    Ok(provider)
}

/// The IANA name of a rustls suite: `CipherSuite::as_str` gives the IANA name except that
/// TLS 1.3 suites are spelled `TLS13_…` where IANA writes `TLS_…`.
pub(crate) fn iana_name(suite: SupportedCipherSuite) -> Option<String> {
    let name = suite.suite().as_str()?;
    Some(match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name.to_owned(),
    })
}

/// The local certificate chain and private key, if the configuration has both.
///
/// # Errors
/// [`ConfigError::MissingIdentity`] when it has only one of them; a public key as private key.
fn identity(
    config: &SslConfiguration,
) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, ConfigError> {
    let key = match (&config.private_key, config.local_certificate_chain.is_empty()) {
        (None, true) => return Ok(None),
        (Some(key), false) => key,
        _ => return Err(ConfigError::MissingIdentity),
    };
    let der = key.to_der().to_vec();
    let key = match key.format() {
        KeyFormat::Pkcs8 => PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der)),
        KeyFormat::Pkcs1 => PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der)),
        KeyFormat::Sec1 => PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(der)),
        KeyFormat::Spki => {
            return Err(CertificateError::Key("a public key is not a private key".into()).into())
        }
    };
    let chain = config
        .local_certificate_chain
        .iter()
        .map(|cert| CertificateDer::from(cert.to_der().to_vec()))
        .collect();
    Ok(Some((chain, key)))
}

/// `major * 10000 + minor * 100 + patch` of a `major.minor.patch…` string; missing or
/// unreadable parts count as 0.
fn version_number(version: &str) -> u64 {
    let mut parts =
        version.split(['.', ' ', '-', '+']).map(|part| part.parse::<u64>().unwrap_or(0));
    let mut next = || parts.next().unwrap_or(0);
    next() * 10000 + next() * 100 + next()
}

/// The configuration's key log handler as rustls's `KeyLog` (`ClientConfig::key_log` /
/// `ServerConfig::key_log`), formatting NSS key log lines.
struct KeyLogAdapter(KeyLogHandler);

impl std::fmt::Debug for KeyLogAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("KeyLogAdapter").field(&self.0).finish()
    }
}

impl rustls::KeyLog for KeyLogAdapter {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        self.0.log(&KeyLogHandler::format_line(label, client_random, secret));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn version_numbers_combine_major_minor_patch() {
        assert_eq!(version_number("0.23.46"), 2346);
        assert_eq!(version_number("1.2.3"), 10203);
        assert_eq!(version_number("0.23 (declared)"), 2300);
    }

    #[test]
    fn rustls_suite_names_become_iana_names() {
        let names: Vec<String> = aws_lc_rs::default_provider()
            .cipher_suites
            .iter()
            .filter_map(|s| iana_name(*s))
            .collect();
        assert!(names.contains(&"TLS_AES_256_GCM_SHA384".to_owned()), "{names:?}");
        assert!(names.iter().all(|n| !n.starts_with("TLS13_")), "{names:?}");
    }

    #[test]
    fn any_protocol_means_tls12_to_tls13() {
        let versions = protocol_versions(SslProtocol::AnyProtocol).unwrap();
        assert_eq!(versions.len(), 2);
        let versions = protocol_versions(SslProtocol::TlsV1_1OrLater).unwrap();
        assert_eq!(versions.len(), 2);
        assert_eq!(
            protocol_versions(SslProtocol::TlsV1_3).unwrap()[0].version,
            rustls::ProtocolVersion::TLSv1_3
        );
    }
}
