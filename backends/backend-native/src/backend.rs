//! [`NativeBackend`] (the factory and its capabilities) and [`NativeContext`] (one native-tls
//! `TlsConnector` or `TlsAcceptor`, built once per configuration and shared by its sessions).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use native_tls::{Certificate, HandshakeError, Protocol, TlsAcceptor, TlsConnector};
use pkcs8::der::asn1::AnyRef;
use pkcs8::der::Encode;
use pkcs8::spki::AlgorithmIdentifierRef;
use pkcs8::{ObjectIdentifier, PrivateKeyInfo};
use ssl_api::{
    CertificateError, ConfigError, Feature, FeatureSet, KeyFormat, Role, SslBackend,
    SslCertificate, SslCipher, SslConfiguration, SslContext, SslKey, SslProtocol, SslSession,
    TlsVersion,
};
use zeroize::Zeroizing;

use crate::error::{certificate_error, engine_error, identity_error};
use crate::pipe::pipe;
use crate::session::{NativeSession, State};
use crate::verify::Verification;

/// The backend's name, as [`SslBackend::name`] reports it.
pub const NAME: &str = "native";

/// The native-tls version this crate is linked with, found in `Cargo.lock` by `build.rs`
/// (`"0.2 (declared)"` when the crate was built outside its workspace).
const NATIVE_TLS_VERSION: &str = env!("BACKEND_NATIVE_TLS_VERSION");

/// Whether a client can negotiate TLS 1.3: `Protocol::Tlsv13` is "not supported on
/// macOS/iOS" (native-tls docs).
const CLIENT_TLS13: bool = !cfg!(target_vendor = "apple");

/// Whether this backend offers server-side ALPN: where native-tls's `alpn-accept`
/// (`TlsAcceptorBuilder::accept_alpn`) works, on its OpenSSL and SChannel implementations;
/// Security.framework ignores the setting, so a native server on Apple platforms configured
/// with ALPN protocols is refused (`Unsupported(ServerSideAlpn)`).
///
/// One difference remains, declared (README, "Where the engines differ"; the conformance
/// scenario `alpn_no_overlap_fails_per_rfc7301` checks it): when client and server share no
/// protocol, the OpenSSL implementation continues without ALPN (`SSL_TLSEXT_ERR_NOACK`), where
/// RFC 7301 §3.2 and the other backends end the handshake with a `no_application_protocol`
/// alert. native-tls shows neither the client's list nor a way to answer otherwise, and the
/// socket cannot tell "no overlap" from "the client offered none": so it is the engine's
/// answer.
const SERVER_ALPN: bool = !cfg!(target_vendor = "apple");

/// Whether received alerts are named (`Feature::Alerts`): where native-tls wraps OpenSSL, the
/// error stack carries the alert's number (reason 1000 + number, see `error.rs`); SChannel
/// and Security.framework errors carry none this crate can read.
const ALERTS: bool = !cfg!(any(target_os = "windows", target_vendor = "apple"));

/// The native-tls backend: whatever TLS library the platform has, through native-tls 0.2
/// (OpenSSL on Linux and the BSDs, Security.framework on Apple platforms, SChannel on Windows).
///
/// Stateless. What native-tls cannot express is refused with [`ConfigError::Unsupported`] or
/// [`ConfigError::UnsupportedProtocol`] before any byte is sent:
///
/// - cipher selection (`ciphers` must be empty);
/// - a server requesting client certificates (an explicit `QueryPeer` or `VerifyPeer`;
///   `AutoVerifyPeer` is accepted and requests nothing);
/// - `peer_verify_depth` on a client that verifies;
/// - server-side ALPN on Apple platforms;
/// - on a server, TLS 1.3 only (`TlsV1_3`, `TlsV1_3OrLater`): native-tls builds its OpenSSL
///   server from Mozilla's "intermediate" preset, which disables TLS 1.3, so a native server
///   negotiates at most TLS 1.2; ranges reaching TLS 1.3 are clamped to TLS 1.2 there. On
///   Apple platforms clients cannot do TLS 1.3 either.
///
/// - `danger_allow_weak_crypto` (`Unsupported(WeakCrypto)`): native-tls gives no access to
///   the engine's security level (no `SSL_CTX` behind its builders), so it cannot be lowered.
///
/// TLS 1.0 and 1.1 can be configured and run at the platform library's own security level.
/// Where that is OpenSSL 3 at level 1 or above (Debian: 2), which refuses their handshake
/// signatures, a range of TLS 1.0 / 1.1 only is refused before any byte with
/// [`ConfigError::ProtocolBelowSecurityLevel`] (libssl is asked, see
/// `libssl_common::levels::refusal`); a range reaching TLS 1.2 negotiates TLS 1.2 or later.
///
/// Certificate verification: see the crate docs. In short, a client in `VerifyPeer` verifies
/// strictly and a rejected certificate fails the handshake; nothing else is verified.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NativeBackend;

impl NativeBackend {
    /// The backend's name (`"native"`).
    pub const NAME: &'static str = NAME;

    /// The backend.
    #[must_use]
    pub const fn new() -> NativeBackend {
        NativeBackend
    }
}

/// A native-tls `TlsConnector` or `TlsAcceptor` built from one [`SslConfiguration`]. Both are
/// reference-counted inside native-tls: every session clones the handle.
pub struct NativeContext {
    engine: Engine,
    verification: Verification,
}

enum Engine {
    Client(TlsConnector),
    Server(TlsAcceptor),
}

impl SslBackend for NativeBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn availability(&self) -> Result<(), String> {
        Ok(())
    }

    /// `native-tls 0.2.18 (OpenSSL 3.0.x …)`: the platform library as it reports itself
    /// (`openssl::version::version`, i.e. `OpenSSL_version`), or its name where it has no
    /// version string (`Security.framework`, `SChannel`).
    fn library_version_string(&self) -> String {
        format!("native-tls {NATIVE_TLS_VERSION} ({})", platform::run_time_version())
    }

    /// The platform library's headers this crate was built against, where that means
    /// something (OpenSSL); the platform library's name elsewhere.
    fn library_build_version_string(&self) -> String {
        format!("native-tls {NATIVE_TLS_VERSION} ({})", platform::build_version())
    }

    /// OpenSSL's own version number (`OpenSSL_version_num`) where native-tls wraps OpenSSL;
    /// elsewhere native-tls's `major * 10000 + minor * 100 + patch`.
    fn library_version_number(&self) -> u64 {
        platform::version_number().unwrap_or_else(|| version_number(NATIVE_TLS_VERSION))
    }

    /// `OPENSSL_VERSION_NUMBER` of the headers built against where native-tls wraps
    /// OpenSSL; the run-time number elsewhere (the platform library is not built against).
    fn library_build_version_number(&self) -> u64 {
        platform::build_number().unwrap_or_else(|| self.library_version_number())
    }

    /// Every value some role accepts: TLS 1.0 to 1.2, and TLS 1.3 where clients have it.
    /// A server refuses `TlsV1_3` and `TlsV1_3OrLater` (see [`NativeBackend`]).
    fn supported_protocols(&self) -> Vec<SslProtocol> {
        SslProtocol::ALL.into_iter().filter(|p| protocol_range(*p, Role::Client).is_ok()).collect()
    }

    /// Narrower for servers: native-tls builds them without TLS 1.3.
    fn supported_protocols_for(&self, role: Role) -> Vec<SslProtocol> {
        SslProtocol::ALL.into_iter().filter(|p| protocol_range(*p, role).is_ok()).collect()
    }

    /// Empty: native-tls cannot list or choose cipher suites.
    fn supported_ciphers(&self) -> Vec<SslCipher> {
        Vec::new()
    }

    fn features(&self) -> FeatureSet {
        let features = [
            Feature::CertificateVerification,
            Feature::ClientSideAlpn,
            Feature::ClientCertificates,
            // The platform engine answers every HelloRequest with a new handshake, and
            // native-tls has no setting to refuse it (OpenSSL's SSL_OP_NO_RENEGOTIATION is
            // out of reach): declared, not hidden.
            Feature::Renegotiation,
        ]
        .into_iter()
        .collect::<FeatureSet>();
        let features = if SERVER_ALPN { features.with(Feature::ServerSideAlpn) } else { features };
        if ALERTS {
            features.with(Feature::Alerts)
        } else {
            features
        }
    }

    /// Builds a [`NativeContext`] (see [`NativeContext::new`]).
    fn new_context(
        &self,
        config: &SslConfiguration,
        role: Role,
    ) -> Result<Arc<dyn SslContext>, ConfigError> {
        ssl_api::check_capabilities(self, config, role)?;
        Ok(Arc::new(NativeContext::new(config, role)?))
    }
}

impl NativeContext {
    /// Builds the `TlsConnector` (`TlsConnector::builder()…build()`) or `TlsAcceptor`
    /// (`TlsAcceptor::builder(identity)…build()`) for `config` and `role` once.
    ///
    /// # Errors
    /// [`ConfigError::Unsupported`] for what native-tls cannot do (see [`NativeBackend`]);
    /// [`ConfigError::UnsupportedProtocol`] for `UnknownProtocol` and TLS 1.3 only where it is
    /// missing; [`ConfigError::ProtocolBelowSecurityLevel`] for TLS 1.0 / 1.1 only where the
    /// platform's OpenSSL refuses them at its security level; [`ConfigError::MissingIdentity`] for a server without certificate and key, or
    /// a certificate without key; [`ConfigError::KeyMismatch`] when they do not belong
    /// together (where the platform library says so); [`ConfigError::Certificate`] for a key
    /// or CA certificate the engine cannot use; [`ConfigError::Engine`] for ALPN protocol
    /// names that are not UTF-8 (native-tls takes `&str`) or any other refusal.
    pub fn new(config: &SslConfiguration, role: Role) -> Result<NativeContext, ConfigError> {
        let unsupported = |feature| ConfigError::Unsupported { backend: NAME, feature };
        if !config.ciphers.is_empty() {
            return Err(unsupported(Feature::CipherSelection));
        }
        if config.danger_allow_weak_crypto {
            return Err(unsupported(Feature::WeakCrypto));
        }
        let verification = Verification::for_config(config, role)?;
        let (min, max) = protocol_range(config.protocol, role)?;
        platform::check_legacy_range(config.protocol)?;
        let alpn = alpn_names(&config.alpn_protocols)?;
        let identity = identity(config)?;

        let engine = match role {
            Role::Client => {
                let mut builder = TlsConnector::builder();
                builder.min_protocol_version(Some(min)).max_protocol_version(Some(max));
                // The socket has already added the system's CAs to `ca_certificates` when the
                // configuration wants them: they are the whole trust store.
                builder.disable_built_in_roots(true);
                match verification {
                    Verification::Strict => {
                        for ca in &config.ca_certificates {
                            let cert = Certificate::from_der(ca.to_der())
                                .map_err(|e| certificate_error(&e))?;
                            builder.add_root_certificate(cert);
                        }
                    }
                    Verification::Off => {
                        builder.danger_accept_invalid_certs(true);
                        builder.danger_accept_invalid_hostnames(true);
                    }
                }
                if let Some(identity) = identity {
                    builder.identity(identity);
                }
                if !alpn.is_empty() {
                    let names: Vec<&str> = alpn.iter().map(String::as_str).collect();
                    builder.request_alpns(&names);
                }
                Engine::Client(builder.build().map_err(|e| engine_error(&e))?)
            }
            Role::Server => {
                let identity = identity.ok_or(ConfigError::MissingIdentity)?;
                let mut builder = TlsAcceptor::builder(identity);
                builder.min_protocol_version(Some(min)).max_protocol_version(Some(max));
                if !alpn.is_empty() {
                    // See SERVER_ALPN.
                    if !SERVER_ALPN {
                        return Err(unsupported(Feature::ServerSideAlpn));
                    }
                    builder.accept_alpn(&alpn);
                }
                Engine::Server(builder.build().map_err(|e| engine_error(&e))?)
            }
        };
        Ok(NativeContext { engine, verification })
    }

    /// Starts a session: [`SslContext::new_session`] with the concrete type. The client's
    /// first flight (`TlsConnector::connect`) is written at once; a server session
    /// (`TlsAcceptor::accept`) waits for the ClientHello.
    ///
    /// # Errors
    /// [`ConfigError::InvalidPeerName`] for a client without a DNS name or IP address;
    /// [`ConfigError::Engine`] when the engine refuses to start the session.
    pub fn session(&self, peer_name: Option<&str>) -> Result<NativeSession, ConfigError> {
        let (engine_end, session_end) = pipe();
        let started = match &self.engine {
            Engine::Client(connector) => {
                let name = peer_name.ok_or_else(|| ConfigError::InvalidPeerName(String::new()))?;
                if !is_valid_peer_name(name) {
                    return Err(ConfigError::InvalidPeerName(name.to_owned()));
                }
                // The name is sent as SNI unless it is an IP address, and checked against
                // the certificate under strict verification.
                connector.connect(name, engine_end)
            }
            Engine::Server(acceptor) => acceptor.accept(engine_end),
        };
        let state = match started {
            Ok(stream) => State::Established(stream),
            Err(HandshakeError::WouldBlock(mid)) => State::Handshaking(mid),
            Err(HandshakeError::Failure(e)) => return Err(engine_error(&e)),
        };
        Ok(NativeSession::new(state, session_end, self.verification, self.role()))
    }

    fn role(&self) -> Role {
        match self.engine {
            Engine::Client(_) => Role::Client,
            Engine::Server(_) => Role::Server,
        }
    }
}

impl SslContext for NativeContext {
    /// A client session needs `peer_name`: a DNS name (sent as SNI and checked against the
    /// certificate) or an IP address (not sent; checked against the IP SANs).
    fn new_session(&self, peer_name: Option<&str>) -> Result<Box<dyn SslSession>, ConfigError> {
        Ok(Box::new(self.session(peer_name)?))
    }
}

impl fmt::Debug for NativeContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeContext")
            .field("role", &self.role())
            .field("verification", &self.verification)
            .finish_non_exhaustive()
    }
}

/// The native-tls minimum and maximum for `protocol` in `role`, clamped to what the role has.
fn protocol_range(protocol: SslProtocol, role: Role) -> Result<(Protocol, Protocol), ConfigError> {
    let unsupported = ConfigError::UnsupportedProtocol { backend: NAME, protocol };
    let (low, high) = protocol.version_range().ok_or(unsupported.clone())?;
    let newest = match role {
        Role::Client if CLIENT_TLS13 => TlsVersion::Tls1_3,
        _ => TlsVersion::Tls1_2,
    };
    if low > newest {
        return Err(unsupported);
    }
    let native = |version| match version {
        TlsVersion::Tls1_0 => Protocol::Tlsv10,
        TlsVersion::Tls1_1 => Protocol::Tlsv11,
        TlsVersion::Tls1_2 => Protocol::Tlsv12,
        TlsVersion::Tls1_3 => Protocol::Tlsv13,
    };
    Ok((native(low), native(high.min(newest))))
}

/// The ALPN protocol ids as the `&str`s native-tls takes.
fn alpn_names(protocols: &[Vec<u8>]) -> Result<Vec<String>, ConfigError> {
    protocols
        .iter()
        .map(|id| {
            String::from_utf8(id.clone()).map_err(|_| ConfigError::Engine {
                backend: NAME,
                message: format!("native-tls takes ALPN protocol ids as UTF-8 text, not {id:?}"),
            })
        })
        .collect()
}

/// The local certificate chain and private key as a native-tls `Identity`
/// (`Identity::from_pkcs8`: PEM chain, leaf first, and a PKCS#8 PEM key), if the
/// configuration has both.
///
/// # Errors
/// [`ConfigError::MissingIdentity`] when it has only one of them; [`ConfigError::Certificate`]
/// for a key native-tls cannot take.
fn identity(config: &SslConfiguration) -> Result<Option<native_tls::Identity>, ConfigError> {
    let key = match (&config.private_key, config.local_certificate_chain.is_empty()) {
        (None, true) => return Ok(None),
        (Some(key), false) => key,
        _ => return Err(ConfigError::MissingIdentity),
    };
    let pkcs8 = pkcs8_der(key)?;
    // native-tls has no key check, and its OpenSSL acceptor sets the key before the
    // certificate, so OpenSSL drops a mismatched key without an error and the handshake
    // fails later: check here, where the platform library can tell.
    if let Some(leaf) = config.local_certificate_chain.first() {
        if platform::key_matches(leaf, &pkcs8) == Some(false) {
            return Err(ConfigError::KeyMismatch);
        }
    }
    let block = pem::Pem::new("PRIVATE KEY", pkcs8.to_vec());
    let key_pem = Zeroizing::new(pem::encode(&block));
    drop(Zeroizing::new(block.into_contents())); // the key's copy inside the PEM block
    let chain_pem: String =
        config.local_certificate_chain.iter().map(SslCertificate::to_pem).collect();
    native_tls::Identity::from_pkcs8(chain_pem.as_bytes(), key_pem.as_bytes())
        .map(Some)
        .map_err(|e| identity_error(&e))
}

/// `rsaEncryption` (RFC 8017).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// `key` as PKCS#8 DER. A PKCS#1 RSA key is wrapped in a PKCS#8 `PrivateKeyInfo`; a SEC1 EC
/// key is refused (its curve would have to be read from its optional parameters).
fn pkcs8_der(key: &SslKey) -> Result<Zeroizing<Vec<u8>>, CertificateError> {
    match key.format() {
        KeyFormat::Pkcs8 => Ok(Zeroizing::new(key.to_der().to_vec())),
        KeyFormat::Pkcs1 => {
            let algorithm =
                AlgorithmIdentifierRef { oid: RSA_ENCRYPTION, parameters: Some(AnyRef::NULL) };
            let info = PrivateKeyInfo::new(algorithm, key.to_der());
            Ok(Zeroizing::new(info.to_der().map_err(|e| CertificateError::Key(e.to_string()))?))
        }
        KeyFormat::Sec1 => Err(CertificateError::Key(
            "native-tls takes PKCS#8 keys: convert this SEC1 key to PKCS#8".into(),
        )),
        KeyFormat::Spki => Err(CertificateError::Key("a public key is not a private key".into())),
    }
}

/// Whether `name` is an IP address or a syntactically valid DNS name (RFC 1123 labels, `_`
/// tolerated, one trailing dot allowed).
fn is_valid_peer_name(name: &str) -> bool {
    if name.parse::<IpAddr>().is_ok() {
        return true;
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// `major * 10000 + minor * 100 + patch` of a `major.minor.patch…` string; missing or
/// unreadable parts count as 0.
fn version_number(version: &str) -> u64 {
    let mut parts =
        version.split(['.', ' ', '-', '+']).map(|part| part.parse::<u64>().unwrap_or(0));
    let mut next = || parts.next().unwrap_or(0);
    next() * 10000 + next() * 100 + next()
}

/// The platform library behind native-tls: OpenSSL.
#[cfg(not(any(target_os = "windows", target_vendor = "apple")))]
mod platform {
    use openssl::pkey::PKey;
    use openssl::x509::X509;
    use ssl_api::{ConfigError, SslCertificate, SslProtocol, TlsVersion};

    /// `OPENSSL_VERSION_NUMBER` of the headers openssl-sys was built against, in hex, from
    /// `build.rs` (`DEP_OPENSSL_VERSION_NUMBER`); empty when unknown.
    const BUILD_NUMBER: &str = env!("BACKEND_NATIVE_OPENSSL_BUILD");

    pub(super) fn run_time_version() -> String {
        openssl::version::version().to_owned()
    }

    pub(super) fn build_number() -> Option<u64> {
        u64::from_str_radix(BUILD_NUMBER, 16).ok()
    }

    pub(super) fn build_version() -> String {
        match u64::from_str_radix(BUILD_NUMBER, 16) {
            Ok(number) => format!("built against OpenSSL {}", openssl_version_text(number)),
            Err(_) => "built against OpenSSL".to_owned(),
        }
    }

    pub(super) fn version_number() -> Option<u64> {
        u64::try_from(openssl::version::number()).ok()
    }

    /// Refuses a range of TLS 1.0 / 1.1 only that OpenSSL refuses at the level native-tls
    /// leaves its contexts at (the library's own: native-tls never sets one), asking libssl
    /// ([`libssl_common::levels::refusal`]). Other ranges pass.
    pub(super) fn check_legacy_range(protocol: SslProtocol) -> Result<(), ConfigError> {
        let Some((low, high)) = protocol.version_range() else { return Ok(()) };
        if high > TlsVersion::Tls1_1 {
            return Ok(());
        }
        let refusal = libssl_common::levels::refusal(low, high, None).map_err(|err| {
            ConfigError::Engine { backend: super::NAME, message: err.to_string() }
        })?;
        match refusal {
            None => Ok(()),
            Some(0) => Err(ConfigError::UnsupportedProtocol { backend: super::NAME, protocol }),
            Some(security_level) => Err(ConfigError::ProtocolBelowSecurityLevel {
                backend: super::NAME,
                protocol,
                security_level,
            }),
        }
    }

    /// Whether the PKCS#8 key `pkcs8` belongs to `leaf` (`X509_get_pubkey` +
    /// `EVP_PKEY_eq`); `None` when either cannot be read (native-tls will say why).
    pub(super) fn key_matches(leaf: &SslCertificate, pkcs8: &[u8]) -> Option<bool> {
        let cert = X509::from_der(leaf.to_der()).ok()?;
        let key = PKey::private_key_from_pkcs8(pkcs8).ok()?;
        Some(cert.public_key().ok()?.public_eq(&key))
    }

    /// `3.0.19` from `0x30000130` (OpenSSL 3: `0xMNN00PP0`), `1.1.1w` from `0x1010117f`
    /// (before 3: `0xMNNFFPPS`, the patch as a letter).
    pub(super) fn openssl_version_text(number: u64) -> String {
        let major = number >> 28;
        let minor = (number >> 20) & 0xff;
        if major >= 3 {
            return format!("{major}.{minor}.{}", (number >> 4) & 0xff);
        }
        let fix = (number >> 12) & 0xff;
        let letter = u8::try_from((number >> 4) & 0xff).ok().filter(|p| (1..=26).contains(p));
        match letter {
            Some(p) => format!("{major}.{minor}.{fix}{}", char::from(b'a' + p - 1)),
            None => format!("{major}.{minor}.{fix}"),
        }
    }
}

/// The platform library behind native-tls: Security.framework.
#[cfg(target_vendor = "apple")]
mod platform {
    pub(super) fn run_time_version() -> String {
        "Security.framework".to_owned()
    }

    pub(super) fn build_number() -> Option<u64> {
        None
    }

    pub(super) fn build_version() -> String {
        run_time_version()
    }

    pub(super) fn version_number() -> Option<u64> {
        None
    }

    /// Not checked here: the platform library checks when it imports the identity.
    pub(super) fn key_matches(_leaf: &ssl_api::SslCertificate, _pkcs8: &[u8]) -> Option<bool> {
        None
    }

    /// The platform library decides at handshake time: nothing to ask it before.
    pub(super) fn check_legacy_range(
        _protocol: ssl_api::SslProtocol,
    ) -> Result<(), ssl_api::ConfigError> {
        Ok(())
    }
}

/// The platform library behind native-tls: SChannel.
#[cfg(target_os = "windows")]
mod platform {
    pub(super) fn run_time_version() -> String {
        "SChannel".to_owned()
    }

    pub(super) fn build_number() -> Option<u64> {
        None
    }

    pub(super) fn build_version() -> String {
        run_time_version()
    }

    pub(super) fn version_number() -> Option<u64> {
        None
    }

    /// Not checked here: the platform library checks when it imports the identity.
    pub(super) fn key_matches(_leaf: &ssl_api::SslCertificate, _pkcs8: &[u8]) -> Option<bool> {
        None
    }

    /// The platform library decides at handshake time: nothing to ask it before.
    pub(super) fn check_legacy_range(
        _protocol: ssl_api::SslProtocol,
    ) -> Result<(), ssl_api::ConfigError> {
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn version_numbers_combine_major_minor_patch() {
        assert_eq!(version_number("0.2.18"), 218);
        assert_eq!(version_number("0.2 (declared)"), 200);
    }

    #[cfg(not(any(target_os = "windows", target_vendor = "apple")))]
    #[test]
    fn openssl_version_numbers_read_as_text() {
        assert_eq!(platform::openssl_version_text(0x3000_0130), "3.0.19");
        assert_eq!(platform::openssl_version_text(0x3050_0010), "3.5.1");
        assert_eq!(platform::openssl_version_text(0x1010_117f), "1.1.1w");
    }

    #[test]
    fn peer_names_are_dns_names_or_ip_addresses() {
        for good in ["localhost", "a.example.com", "xn--bcher-kva.example.", "127.0.0.1", "::1"] {
            assert!(is_valid_peer_name(good), "{good}");
        }
        for bad in ["", ".", "not a host name", "-a.example", "a..b", "a/b"] {
            assert!(!is_valid_peer_name(bad), "{bad}");
        }
    }

    #[test]
    fn server_ranges_stop_at_tls12() {
        let (_, max) = protocol_range(SslProtocol::SecureProtocols, Role::Server).unwrap();
        assert!(matches!(max, Protocol::Tlsv12));
        let err = protocol_range(SslProtocol::TlsV1_3OrLater, Role::Server).unwrap_err();
        let expected = ConfigError::UnsupportedProtocol {
            backend: NAME,
            protocol: SslProtocol::TlsV1_3OrLater,
        };
        assert_eq!(err, expected);
        assert!(protocol_range(SslProtocol::UnknownProtocol, Role::Client).is_err());
    }

    #[test]
    fn non_utf8_alpn_ids_are_refused() {
        assert_eq!(alpn_names(&[b"h2".to_vec()]).unwrap(), vec!["h2".to_owned()]);
        let err = alpn_names(&[vec![0xff]]).unwrap_err();
        assert!(matches!(err, ConfigError::Engine { backend: NAME, .. }), "{err:?}");
    }
}
