//! [`OpensslBackend`] (the factory and its capabilities) and [`OpensslContext`] (one OpenSSL
//! `SSL_CTX`, built once per configuration and shared by its sessions).

use std::fmt;
use std::sync::Arc;

use libssl_common::levels::engine_version;
use openssl::ec::EcKey;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::ssl::{
    AlpnError, Ssl, SslContext as EngineContext, SslContextBuilder, SslMethod, SslMode, SslOptions,
    SslSessionCacheMode, SslStream, SslVerifyMode, SslVersion,
};
use openssl::x509::verify::X509CheckFlags;
use openssl::x509::X509;
use ssl_api::{
    CertificateError, ConfigError, Feature, FeatureSet, KeyFormat, PeerVerifyMode,
    PskAuthenticator, Role, SslBackend, SslCipher, SslConfiguration, SslContext, SslError,
    SslMode as SocketMode, SslProtocol, SslSession, TlsVersion, VerifyRequest,
};

use crate::error::engine_error;
use crate::pipe::Pipe;
use crate::resumption::Resumption;
use crate::session::OpensslSession;
use crate::verify::{trust_store, verify_request, PeerName, Recorder};

/// The backend's name, as [`SslBackend::name`] reports it.
pub const NAME: &str = "openssl";

/// The OpenSSL header version this crate was compiled against, from `build.rs`.
const BUILD_VERSION: &str = env!("BACKEND_OPENSSL_BUILD_VERSION");

/// The session id context of every server context (`SSL_CTX_set_session_id_context`).
/// OpenSSL refuses to resume a session on a server that verifies clients without one.
const SESSION_ID_CONTEXT: &[u8] = b"sslsocket backend-openssl";

/// The OpenSSL backend: the system's libssl through the `openssl` crate, driven sans-IO over
/// an in-memory pipe.
///
/// Every protocol value but `UnknownProtocol` is accepted. The engine's security level is
/// libssl's own (Debian builds OpenSSL at level 2) and is never lowered as a side effect of
/// another setting: only `danger_allow_weak_crypto` sets level 0, for every connection of that
/// configuration. At level 1 and above OpenSSL 3 refuses the handshake signatures of TLS
/// 1.0 and 1.1, so a range that includes them and newer versions (`TlsV1_0OrLater`,
/// `TlsV1_1OrLater`, `AnyProtocol`) negotiates TLS 1.2 or 1.3 with modern peers and refuses
/// weak certificates as `SecureProtocols` does, and a range of TLS 1.0 / 1.1 only is refused
/// before any byte with
/// [`ConfigError::ProtocolBelowSecurityLevel`] (libssl is asked, see
/// [`libssl_common::levels::refusal`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct OpensslBackend;

impl OpensslBackend {
    /// The backend's name (`"openssl"`).
    pub const NAME: &'static str = NAME;

    /// The backend.
    #[must_use]
    pub const fn new() -> OpensslBackend {
        OpensslBackend
    }
}

/// An OpenSSL `SSL_CTX` built from one [`SslConfiguration`] for one role. Every session made
/// from it shares it, and with it the server's session cache and ticket keys, or the client's
/// session cache.
pub struct OpensslContext {
    engine: EngineContext,
    role: Role,
    /// Whether sessions verify the peer (the effective verify mode is not `VerifyNone`).
    verify: bool,
    /// A client's session cache, filled by `engine`'s new-session callback; `None` on a server.
    resumption: Option<Resumption>,
}

impl SslBackend for OpensslBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn availability(&self) -> Result<(), String> {
        Ok(())
    }

    /// `OpenSSL_version(OPENSSL_VERSION)`: the library loaded at run time.
    fn library_version_string(&self) -> String {
        openssl::version::version().to_owned()
    }

    /// The headers the backend was compiled against (`OPENSSL_VERSION_NUMBER`, via
    /// openssl-sys's `DEP_OPENSSL_VERSION_NUMBER`), as `OpenSSL x.y.z`.
    fn library_build_version_string(&self) -> String {
        BUILD_VERSION.to_owned()
    }

    /// `OpenSSL_version_num()`: `0xMNN00PP0` since OpenSSL 3.0.
    fn library_version_number(&self) -> u64 {
        u64::try_from(openssl::version::number()).unwrap_or(0)
    }

    /// `OPENSSL_VERSION_NUMBER` of the headers built against (0 when the build did not say).
    fn library_build_version_number(&self) -> u64 {
        env!("BACKEND_OPENSSL_BUILD_NUMBER").parse().unwrap_or(0)
    }

    fn supported_protocols(&self) -> Vec<SslProtocol> {
        SslProtocol::ALL.into_iter().filter(|p| p.version_range().is_some()).collect()
    }

    /// The suites libssl knows (`SSL_bytes_to_cipher_list` over every suite number) that it
    /// can negotiate in the contexts this backend builds: TLS 1.3 suites, then TLS 1.2 (and
    /// older) suites with ECDHE or RSA key exchange and RSA or ECDSA authentication. DHE
    /// suites are left out (servers here have no DH parameters), as are PSK, SRP, anonymous
    /// and NULL suites.
    fn supported_ciphers(&self) -> Vec<SslCipher> {
        let Ok(catalogue) = Catalogue::load() else { return Vec::new() };
        let mut ciphers: Vec<SslCipher> = catalogue
            .entries
            .iter()
            .filter_map(|entry| SslCipher::from_iana_name(&entry.iana))
            .filter(|c| {
                matches!(c.key_exchange.as_str(), "ECDH" | "RSA" | "any")
                    && matches!(c.authentication.as_str(), "RSA" | "ECDSA" | "any")
            })
            .collect();
        ciphers.sort_by_key(|c| c.protocol != SslProtocol::TlsV1_3);
        ciphers
    }

    fn features(&self) -> FeatureSet {
        [
            Feature::CertificateVerification,
            Feature::ClientSideAlpn,
            Feature::ServerSideAlpn,
            Feature::ClientCertificates,
            Feature::ServerRequestsClientCertificate,
            Feature::PeerVerifyDepth,
            Feature::DetailedVerifyErrors,
            Feature::PeerCertificateChain,
            Feature::SessionCipher,
            Feature::SessionProtocol,
            Feature::CipherSelection,
            Feature::ServerNameIndication,
            Feature::RecoverableVerifyErrors,
            Feature::ChainVerification,
            Feature::Psk,
            Feature::KeyLog,
            Feature::WeakCrypto,
            Feature::ServerCipherPreference,
            // A received alert is reason code 1000 + its number on the error stack.
            Feature::Alerts,
            Feature::SessionTicket,
        ]
        .into_iter()
        .collect()
    }

    /// Builds an [`OpensslContext`] (see [`OpensslContext::new`]).
    fn new_context(
        &self,
        config: &SslConfiguration,
        role: Role,
    ) -> Result<Arc<dyn SslContext>, ConfigError> {
        ssl_api::check_capabilities(self, config, role)?;
        Ok(Arc::new(OpensslContext::new(config, role)?))
    }

    /// `X509_verify_cert` over exactly the given trust anchors, time, purpose, depth and name
    /// (see `verify::verify_request`); OpenSSL's first error only, since no callback can be
    /// installed on a bare `X509_STORE_CTX` in safe code.
    fn verify_chain(&self, request: &VerifyRequest<'_>) -> Result<Vec<SslError>, ConfigError> {
        verify_request(request)
    }
}

impl OpensslContext {
    /// Builds the `SSL_CTX` for `config` and `role` once (`SslContextBuilder`):
    ///
    /// - protocol range: `set_min_proto_version` / `set_max_proto_version`; a range of TLS
    ///   1.0 / 1.1 only is first checked against the security level the context will have
    ///   ([`libssl_common::levels::refusal`]);
    /// - security level: libssl's own, or 0 (`set_security_level`, the same as
    ///   `@SECLEVEL=0`) with `danger_allow_weak_crypto`;
    /// - ciphers: TLS 1.2 suites by their OpenSSL names (`set_cipher_list`), TLS 1.3 suites
    ///   (`set_ciphersuites`); a list without suites of one family narrows the version range
    ///   to the other;
    /// - identity: `set_certificate`, `add_extra_chain_cert`, `set_private_key`,
    ///   `check_private_key`; the chain is sent as configured (`SSL_MODE_NO_AUTO_CHAIN`);
    /// - trust: an `X509Store` of `ca_certificates` only, `set_verify_depth`; a server offers
    ///   the CAs' names as client certificate hints (`add_client_ca`);
    /// - ALPN: `set_alpn_protos` (client), `set_alpn_select_callback` (server);
    /// - sessions: a server caches sessions and issues tickets under a fixed session id
    ///   context; a client keeps the sessions its connections are given, by peer name, and
    ///   offers them again (see the crate docs on resumption).
    ///
    /// # Errors
    /// [`ConfigError::UnsupportedProtocol`] for `UnknownProtocol`, and for TLS 1.0 / 1.1 only
    /// where libssl refuses them even at level 0; [`ConfigError::ProtocolBelowSecurityLevel`]
    /// for TLS 1.0 / 1.1 only where the security level refuses them (without
    /// `danger_allow_weak_crypto`); [`ConfigError::UnknownCipher`] for a suite libssl does not know;
    /// [`ConfigError::MissingIdentity`] for a server without certificate and key, or a
    /// certificate without key (or the reverse); [`ConfigError::KeyMismatch`] when they do not
    /// belong together; [`ConfigError::Certificate`] for a certificate or key libssl cannot
    /// read; [`ConfigError::Engine`] when libssl refuses the combination (among others, a
    /// cipher list that leaves no suite for the allowed versions).
    pub fn new(config: &SslConfiguration, role: Role) -> Result<OpensslContext, ConfigError> {
        let unsupported =
            ConfigError::UnsupportedProtocol { backend: NAME, protocol: config.protocol };
        let (low, high) = config.protocol.version_range().ok_or(unsupported)?;
        let mode = match role {
            Role::Client => SocketMode::SslClientMode,
            Role::Server => SocketMode::SslServerMode,
        };
        let verify = config.peer_verify_mode.effective(mode) != PeerVerifyMode::VerifyNone;
        let e = |err: openssl::error::ErrorStack| engine_error(&err);

        let method = match role {
            Role::Client => SslMethod::tls_client(),
            Role::Server => SslMethod::tls_server(),
        };
        // The application's explicit choice, never a side effect of the protocol range.
        let level = config.danger_allow_weak_crypto.then_some(0);
        if high <= TlsVersion::Tls1_1 {
            check_legacy_range(config.protocol, low, high, level)?;
        }
        let mut builder = SslContextBuilder::new(method).map_err(e)?;
        builder.set_min_proto_version(Some(engine_version(low))).map_err(e)?;
        builder.set_max_proto_version(Some(engine_version(high))).map_err(e)?;
        if let Some(level) = level {
            builder.set_security_level(level);
        }
        set_ciphers(&mut builder, &config.ciphers, low, high)?;
        // Qt's default: a server picks suites by its own order (SSL_OP_CIPHER_SERVER_PREFERENCE,
        // TLS 1.2 and 1.3 alike), unless SslOptionDisableServerCipherPreference is set.
        if role == Role::Server && !config.disable_server_cipher_preference {
            builder.set_options(SslOptions::CIPHER_SERVER_PREFERENCE);
        }
        // Send the local chain exactly as configured, never completed from the trust store.
        // Let libssl free its record buffers (about 17 KiB each way) whenever they are empty
        // (`SSL_MODE_RELEASE_BUFFERS`), so that an idle session holds none: with the pipe's own
        // release, an idle connection costs less than a plain `SslStream`'s. Measured at the
        // session level (1 GiB through two sessions in memory, CPU time): under 2 % slower, no
        // more than the run-to-run spread, since the buffers are freed and taken again at most
        // once per record.
        builder.set_mode(SslMode::NO_AUTO_CHAIN | SslMode::RELEASE_BUFFERS);
        // A renegotiation would bring a new peer certificate after the socket has accepted the
        // first one, past its policy: refused, as rustls does (`SSL_OP_NO_RENEGOTIATION`).
        builder.set_options(SslOptions::NO_RENEGOTIATION);
        set_identity(&mut builder, config, role)?;

        if verify {
            builder.set_cert_store(trust_store(&config.ca_certificates)?);
            // SSL_CTX_set_verify_depth(d) allows d certificates between the leaf and the trust
            // anchor; `peer_verify_depth` counts the leaf and not the anchor: d = N - 1. A
            // longer path is reported as X509_V_ERR_CERT_CHAIN_TOO_LONG (PathLengthExceeded).
            if config.peer_verify_depth > 0 {
                builder.set_verify_depth(config.peer_verify_depth - 1);
            }
            if role == Role::Server {
                for ca in &config.ca_certificates {
                    if let Ok(cert) = X509::from_der(ca.to_der()) {
                        builder.add_client_ca(&cert).map_err(e)?;
                    }
                }
            }
        }
        // Verification happens per session (`OpensslContext::session`); nothing is checked
        // with the context's own mode.
        builder.set_verify(SslVerifyMode::NONE);

        set_alpn(&mut builder, &config.alpn_protocols, role)?;
        set_callbacks(&mut builder, config, role);
        let resumption = match role {
            Role::Server => {
                // Server-side resumption: libssl's session cache and tickets. A session the
                // socket rejected is never resumed: its tickets stay in the held ciphertext,
                // and libssl drops a session id from the cache when the connection is freed
                // without close_notify (`SSL_free` → `ssl_clear_bad_session`).
                builder.set_session_id_context(SESSION_ID_CONTEXT).map_err(e)?;
                builder.set_session_cache_mode(SslSessionCacheMode::SERVER);
                None
            }
            // Client-side resumption: this context's own session cache.
            Role::Client => Some(Resumption::install(&mut builder).map_err(e)?),
        };
        Ok(OpensslContext { engine: builder.build(), role, verify, resumption })
    }

    /// Starts a session: [`SslContext::new_session`] with the concrete type. A client session
    /// has its ClientHello ready at once, offering the newest session this context keeps for
    /// `peer_name`, if any (`SSL_set_session`).
    ///
    /// # Errors
    /// [`ConfigError::InvalidPeerName`] for a client without a DNS name or IP address;
    /// [`ConfigError::Engine`] when libssl refuses to start the session.
    pub fn session(&self, peer_name: Option<&str>) -> Result<OpensslSession, ConfigError> {
        let e = |err: openssl::error::ErrorStack| engine_error(&err);
        let mut ssl = Ssl::new(&self.engine).map_err(e)?;
        let recorder = self.verify.then(Recorder::default);
        let mut inherited = None;
        match self.role {
            Role::Client => {
                let peer = peer_name.ok_or_else(|| ConfigError::InvalidPeerName(String::new()))?;
                let name = PeerName::parse(peer)?;
                ssl.set_connect_state();
                if let PeerName::Dns(host) = &name {
                    ssl.set_hostname(host).map_err(e)?; // SNI
                }
                if let Some(recorder) = &recorder {
                    let param = ssl.param_mut();
                    param.set_hostflags(X509CheckFlags::NO_PARTIAL_WILDCARDS);
                    match &name {
                        PeerName::Dns(host) => param.set_host(host).map_err(e)?,
                        PeerName::Ip(ip) => param.set_ip(*ip).map_err(e)?,
                    }
                    ssl.set_verify_callback(SslVerifyMode::PEER, recorder.callback());
                }
                if let Some(resumption) = &self.resumption {
                    inherited = resumption.prepare(&mut ssl, peer, recorder.clone()).map_err(e)?;
                }
            }
            Role::Server => {
                ssl.set_accept_state();
                if let Some(recorder) = &recorder {
                    // Request a certificate, but never require one: a missing certificate is
                    // the socket's to judge (NoPeerCertificate), not a handshake failure.
                    ssl.set_verify_callback(SslVerifyMode::PEER, recorder.callback());
                }
            }
        }
        let stream = SslStream::new(ssl, Pipe::default()).map_err(e)?;
        let mut session = OpensslSession::new(stream, self.role, recorder, inherited);
        if self.role == Role::Client {
            session
                .start()
                .map_err(|err| ConfigError::Engine { backend: NAME, message: err.message })?;
        }
        Ok(session)
    }
}

impl SslContext for OpensslContext {
    /// A client session needs `peer_name`: a DNS name (sent as SNI and checked against the
    /// certificate) or an IP address (not sent; checked against the IP SANs).
    fn new_session(&self, peer_name: Option<&str>) -> Result<Box<dyn SslSession>, ConfigError> {
        Ok(Box::new(self.session(peer_name)?))
    }
}

impl fmt::Debug for OpensslContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpensslContext")
            .field("role", &self.role)
            .field("verify", &self.verify)
            .field("resumption", &self.resumption)
            .finish_non_exhaustive()
    }
}

/// One suite libssl knows: its IANA name, its OpenSSL name, and whether it is a TLS 1.3 suite.
#[derive(Debug, Clone)]
pub(crate) struct CatalogueEntry {
    pub(crate) iana: String,
    pub(crate) openssl: &'static str,
    pub(crate) tls13: bool,
}

/// Every suite libssl knows, in suite-number order. Built on demand, never cached globally.
#[derive(Debug)]
pub(crate) struct Catalogue {
    pub(crate) entries: Vec<CatalogueEntry>,
}

impl Catalogue {
    /// Asks libssl to decode every possible two-byte suite number
    /// (`SslRef::bytes_to_cipher_list`); it returns the suites it knows, each with its
    /// standard (IANA) name (`SslCipherRef::standard_name`) and its own (`name`).
    pub(crate) fn load() -> Result<Catalogue, ConfigError> {
        let e = |err: openssl::error::ErrorStack| engine_error(&err);
        let context = SslContextBuilder::new(SslMethod::tls()).map_err(e)?.build();
        let ssl = Ssl::new(&context).map_err(e)?;
        let numbers: Vec<u8> = (0..=u16::MAX).flat_map(u16::to_be_bytes).collect();
        let lists = ssl.bytes_to_cipher_list(&numbers, false).map_err(e)?;
        let entries = lists
            .suites
            .iter()
            .filter_map(|cipher| {
                Some(CatalogueEntry {
                    iana: cipher.standard_name()?.to_owned(),
                    openssl: cipher.name(),
                    // `SSL_CIPHER_get_version`: the version that defined the suite.
                    tls13: cipher.version() == "TLSv1.3",
                })
            })
            .collect();
        Ok(Catalogue { entries })
    }
}

/// Refuses a range of TLS 1.0 / 1.1 only (`low..=high`, from `protocol`) that libssl refuses
/// at `level` (the library's own when `None`): [`libssl_common::levels::refusal`].
fn check_legacy_range(
    protocol: SslProtocol,
    low: TlsVersion,
    high: TlsVersion,
    level: Option<u32>,
) -> Result<(), ConfigError> {
    match libssl_common::levels::refusal(low, high, level).map_err(|err| engine_error(&err))? {
        None => Ok(()),
        Some(0) => Err(ConfigError::UnsupportedProtocol { backend: NAME, protocol }),
        Some(security_level) => {
            Err(ConfigError::ProtocolBelowSecurityLevel { backend: NAME, protocol, security_level })
        }
    }
}

/// Restricts the context to `ciphers` (by IANA name), if the list is not empty.
fn set_ciphers(
    builder: &mut SslContextBuilder,
    ciphers: &[SslCipher],
    low: TlsVersion,
    high: TlsVersion,
) -> Result<(), ConfigError> {
    if ciphers.is_empty() {
        return Ok(());
    }
    let catalogue = Catalogue::load()?;
    let mut tls12: Vec<&str> = Vec::new();
    let mut tls13: Vec<&str> = Vec::new();
    for cipher in ciphers {
        let entry =
            catalogue.entries.iter().find(|entry| entry.iana == cipher.name).ok_or_else(|| {
                ConfigError::UnknownCipher { backend: NAME, name: cipher.name.clone() }
            })?;
        let list = if entry.tls13 { &mut tls13 } else { &mut tls12 };
        if !list.contains(&entry.openssl) {
            list.push(entry.openssl);
        }
    }
    let no_suite = |family: &str| ConfigError::Engine {
        backend: NAME,
        message: format!("no configured cipher suite is usable with {family}"),
    };
    let e = |err: openssl::error::ErrorStack| engine_error(&err);
    // A family without suites is switched off by narrowing the version range: libssl refuses
    // an empty TLS 1.2 list (`SSL_CTX_set_cipher_list`), and a handshake whose highest version
    // has no suite fails ("no ciphers available") instead of falling back.
    if tls13.is_empty() {
        if low == TlsVersion::Tls1_3 {
            return Err(no_suite("TLS 1.3"));
        }
        builder.set_max_proto_version(Some(SslVersion::TLS1_2)).map_err(e)?;
    } else {
        builder.set_ciphersuites(&tls13.join(":")).map_err(e)?;
    }
    if tls12.is_empty() {
        if high < TlsVersion::Tls1_3 {
            return Err(no_suite("TLS 1.2 and older"));
        }
        builder.set_min_proto_version(Some(SslVersion::TLS1_3)).map_err(e)?;
    } else {
        builder.set_cipher_list(&tls12.join(":")).map_err(e)?;
    }
    Ok(())
}

/// Installs the pre-shared key handler (`SSL_CTX_set_psk_client_callback` /
/// `SSL_CTX_set_psk_server_callback`, used by TLS 1.2 PSK suites and TLS 1.3 external PSKs)
/// and the key log (`SSL_CTX_set_keylog_callback`). A PSK the handler leaves empty refuses
/// the handshake (the engine's answer to an unknown identity).
fn set_callbacks(builder: &mut SslContextBuilder, config: &SslConfiguration, role: Role) {
    if let Some(handler) = config.pre_shared_key.clone() {
        match role {
            Role::Client => builder.set_psk_client_callback(move |_, hint, identity, psk| {
                // The identity is written as a C string: one byte is the terminating NUL.
                let max_identity = identity.len().saturating_sub(1);
                let mut auth =
                    PskAuthenticator::new(hint.unwrap_or_default(), &[], max_identity, psk.len());
                handler.call(&mut auth);
                if auth.pre_shared_key().is_empty() || auth.identity().contains(&0) {
                    return Err(openssl::error::ErrorStack::get());
                }
                let id = auth.identity();
                identity[..id.len()].copy_from_slice(id);
                identity[id.len()] = 0;
                psk[..auth.pre_shared_key().len()].copy_from_slice(auth.pre_shared_key());
                Ok(auth.pre_shared_key().len())
            }),
            Role::Server => builder.set_psk_server_callback(move |_, identity, psk| {
                let mut auth =
                    PskAuthenticator::new(&[], identity.unwrap_or_default(), 0, psk.len());
                handler.call(&mut auth);
                psk[..auth.pre_shared_key().len()].copy_from_slice(auth.pre_shared_key());
                Ok(auth.pre_shared_key().len())
            }),
        }
    }
    if let Some(log) = config.key_log.clone() {
        builder.set_keylog_callback(move |_, line| log.log(line));
    }
}

/// Installs the local certificate chain and private key, if the configuration has them.
fn set_identity(
    builder: &mut SslContextBuilder,
    config: &SslConfiguration,
    role: Role,
) -> Result<(), ConfigError> {
    let key = match (&config.private_key, config.local_certificate_chain.split_first()) {
        // A PSK server authenticates with the key alone.
        (None, None) if role == Role::Client || config.pre_shared_key.is_some() => return Ok(()),
        (Some(key), Some(chain)) => (key, chain),
        _ => return Err(ConfigError::MissingIdentity),
    };
    let (key, (leaf, intermediates)) = key;
    let der = |cert: &ssl_api::SslCertificate| {
        X509::from_der(cert.to_der()).map_err(|err| CertificateError::Der(err.to_string()))
    };
    let key_error = |err: openssl::error::ErrorStack| CertificateError::Key(err.to_string());
    let pkey: PKey<Private> = match key.format() {
        KeyFormat::Pkcs8 => PKey::private_key_from_pkcs8(key.to_der()).map_err(key_error)?,
        KeyFormat::Pkcs1 => {
            Rsa::private_key_from_der(key.to_der()).and_then(PKey::from_rsa).map_err(key_error)?
        }
        KeyFormat::Sec1 => EcKey::private_key_from_der(key.to_der())
            .and_then(PKey::from_ec_key)
            .map_err(key_error)?,
        KeyFormat::Spki => {
            return Err(CertificateError::Key("a public key is not a private key".into()).into())
        }
    };
    let e = |err: openssl::error::ErrorStack| engine_error(&err);
    let leaf = der(leaf)?;
    builder.set_certificate(&leaf).map_err(e)?;
    for cert in intermediates {
        builder.add_extra_chain_cert(der(cert)?).map_err(e)?;
    }
    // `SSL_CTX_use_PrivateKey` itself refuses a key of another type than the certificate's;
    // both that and `SSL_CTX_check_private_key` mean the pair does not belong together.
    builder.set_private_key(&pkey).map_err(|_| ConfigError::KeyMismatch)?;
    builder.check_private_key().map_err(|_| ConfigError::KeyMismatch)?;
    Ok(())
}

/// Configures ALPN: a client offers `protocols` (`set_alpn_protos`, wire format); a server
/// picks the first of its own `protocols` that the client offers (RFC 7301 §3.2, server
/// preference) and, when there is none, fails the handshake with a `no_application_protocol`
/// alert (`AlpnError::ALERT_FATAL`), as RFC 7301 requires and as the rustls backend does. A
/// client that offers no ALPN gets none.
fn set_alpn(
    builder: &mut SslContextBuilder,
    protocols: &[Vec<u8>],
    role: Role,
) -> Result<(), ConfigError> {
    if protocols.is_empty() {
        return Ok(());
    }
    match role {
        Role::Client => {
            let mut wire = Vec::new();
            for protocol in protocols {
                let len =
                    u8::try_from(protocol.len()).ok().filter(|len| *len > 0).ok_or_else(|| {
                        ConfigError::Engine {
                            backend: NAME,
                            message: format!("invalid alpn protocol of {} bytes", protocol.len()),
                        }
                    })?;
                wire.push(len);
                wire.extend_from_slice(protocol);
            }
            builder.set_alpn_protos(&wire).map_err(|err| engine_error(&err))?;
        }
        Role::Server => {
            let ours: Vec<Vec<u8>> = protocols.to_vec();
            builder.set_alpn_select_callback(move |_, offered| {
                let offered: Vec<&[u8]> = wire_entries(offered);
                ours.iter()
                    .find_map(|want| offered.iter().find(|p| **p == want.as_slice()).copied())
                    .ok_or(AlpnError::ALERT_FATAL)
            });
        }
    }
    Ok(())
}

/// The protocols of an ALPN wire-format list; a truncated tail is ignored.
fn wire_entries(mut wire: &[u8]) -> Vec<&[u8]> {
    let mut entries = Vec::new();
    while let Some((&len, rest)) = wire.split_first() {
        let len = usize::from(len);
        if len == 0 || rest.len() < len {
            break;
        }
        entries.push(&rest[..len]);
        wire = &rest[len..];
    }
    entries
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn alpn_wire_lists_are_split() {
        assert_eq!(wire_entries(b"\x02h2\x08http/1.1"), vec![&b"h2"[..], b"http/1.1"]);
        assert_eq!(wire_entries(b"\x02h2\x09http"), vec![&b"h2"[..]]);
        assert!(wire_entries(b"").is_empty());
    }

    #[test]
    fn the_catalogue_maps_iana_names_to_openssl_names() {
        let catalogue = Catalogue::load().unwrap();
        let find = |iana: &str| catalogue.entries.iter().find(|e| e.iana == iana).unwrap();
        let entry = find("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assert_eq!((entry.openssl, entry.tls13), ("ECDHE-RSA-AES128-GCM-SHA256", false));
        let entry = find("TLS_AES_256_GCM_SHA384");
        assert_eq!((entry.openssl, entry.tls13), ("TLS_AES_256_GCM_SHA384", true));
    }
}
