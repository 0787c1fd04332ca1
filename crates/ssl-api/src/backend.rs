//! The contract between `sslsocket` and a TLS engine: [`SslBackend`] (a factory with
//! capabilities), [`SslContext`] (an engine configuration built once and shared) and
//! [`SslSession`] (one sans-IO TLS session).

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::SystemTime;

use crate::certificate::SslCertificate;
use crate::cipher::SslCipher;
use crate::config::SslConfiguration;
use crate::error::{ConfigError, SslError, TlsError};
use crate::types::{PeerVerifyMode, SslMode, SslProtocol, TlsVersion};

macro_rules! features {
    ($($name:ident => $doc:literal,)*) => {
        /// A capability a backend may or may not have. The first seven are Qt's
        /// `QSsl::SupportedFeature`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Feature {
            $(#[doc = $doc] $name,)*
        }

        impl Feature {
            /// Every feature, in declaration order.
            pub const ALL: &'static [Feature] = &[$(Feature::$name,)*];

            /// The feature's name as written in Rust (`"ClientSideAlpn"`).
            #[must_use]
            pub fn name(self) -> &'static str {
                match self { $(Feature::$name => stringify!($name),)* }
            }
        }
    };
}

features! {
    CertificateVerification => "Verifies peer certificates with the engine's own path validation.",
    ClientSideAlpn => "Offers ALPN protocols as a client.",
    ServerSideAlpn => "Selects ALPN protocols as a server.",
    Ocsp => "OCSP stapling.",
    Psk => "Pre-shared key authentication.",
    SessionTicket => "Session tickets / resumption.",
    Alerts => "Reports TLS alerts as `AlertSent` / `AlertReceived` events: close_notify both ways, every fatal alert received (the engine names its number), and every alert sent in the clear (TLS 1.2 before ChangeCipherSpec; TLS 1.3 before the ServerHello, and a client's before its first encrypted record, as OpenSSL sends them). An alert the engine sends encrypted is sent but not reported: no engine API names it. Without this feature close_notify and the alerts in the clear are still reported; fatal alerts received are not.",
    ClientCertificates => "Presents a client certificate.",
    ServerRequestsClientCertificate => "A server can request and verify client certificates.",
    PeerVerifyDepth => "Honours `peer_verify_depth`.",
    DetailedVerifyErrors => "Reports every verification error of a chain, each with its certificate.",
    PeerCertificateChain => "Reports the whole chain the peer sent, not just the leaf.",
    SessionCipher => "Reports the negotiated cipher suite.",
    SessionProtocol => "Reports the negotiated protocol version.",
    CipherSelection => "Restricts the cipher suites to a configured list.",
    KeyLog => "Writes session secrets in SSLKEYLOGFILE format.",
    ServerNameIndication => "A server reports the SNI name the client sent.",
    RecoverableVerifyErrors => "Certificate errors are reported for the socket to decide (ignore lists, handlers, pause) instead of ending the handshake inside the engine.",
    ChainVerification => "Verifies a given chain against explicit trust anchors at an explicit time, outside any handshake (`SslBackend::verify_chain`).",
    WeakCrypto => "Can lower the engine's security level for legacy peers (`SslConfiguration::danger_allow_weak_crypto`): weak keys, SHA-1 and TLS 1.0 / 1.1.",
    Renegotiation => "A client answers a TLS 1.2 server's renegotiation request (HelloRequest) with a new handshake. Without it every request is refused (a `no_renegotiation` alert; the server may then end the connection). Only where the engine gives no way to refuse: a renegotiation brings a new peer certificate after the socket's policy accepted the first.",
    ServerCipherPreference => "A server picks the cipher suite by its own order of preference (Qt's default), and by the client's with `disable_server_cipher_preference` (`SslOptionDisableServerCipherPreference`). Without it a server follows the engine's own rule.",
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of [`Feature`]s.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FeatureSet(u64);

impl FeatureSet {
    /// The empty set.
    #[must_use]
    pub const fn empty() -> FeatureSet {
        FeatureSet(0)
    }

    /// This set plus `feature`.
    #[must_use]
    pub const fn with(self, feature: Feature) -> FeatureSet {
        FeatureSet(self.0 | 1 << feature as u32)
    }

    /// Whether `feature` is in the set.
    #[must_use]
    pub const fn contains(self, feature: Feature) -> bool {
        self.0 & (1 << feature as u32) != 0
    }

    /// The features in the set, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Feature> {
        Feature::ALL.iter().copied().filter(move |f| self.contains(*f))
    }
}

impl FromIterator<Feature> for FeatureSet {
    fn from_iter<I: IntoIterator<Item = Feature>>(iter: I) -> FeatureSet {
        iter.into_iter().fold(FeatureSet::empty(), FeatureSet::with)
    }
}

impl fmt::Debug for FeatureSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// Which end of a connection a context or session is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The side that sends the ClientHello.
    Client,
    /// The side that answers it.
    Server,
}

/// What a verified certificate is to be used for: the extended key usage the chain must allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Purpose {
    /// A TLS server's certificate (id-kp-serverAuth): what a client verifies.
    #[default]
    ServerAuth,
    /// A TLS client's certificate (id-kp-clientAuth): what a server verifies.
    ClientAuth,
}

/// A chain to verify with [`SslBackend::verify_chain`]: everything the engine needs, nothing
/// taken from the process (no system trust store, no clock).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifyRequest<'a> {
    /// The certificate to verify first, then any intermediates, in any order.
    pub chain: &'a [SslCertificate],
    /// The only trust anchors.
    pub trust: &'a [SslCertificate],
    /// The name the leaf must be valid for: a DNS name or an IP address; `None` checks no name.
    pub host: Option<&'a str>,
    /// The time at which validity periods are checked.
    pub at: SystemTime,
    /// The extended key usage the chain must allow.
    pub purpose: Purpose,
    /// The most intermediate certificates allowed between the leaf and the trust anchor
    /// (OpenSSL's `X509_VERIFY_PARAM_set_depth`); `None` for the engine's default. A backend
    /// without `Feature::PeerVerifyDepth` refuses a limit.
    pub max_intermediates: Option<u32>,
}

impl<'a> VerifyRequest<'a> {
    /// A request to verify `chain` (leaf first) against exactly `trust` at `at` for `purpose`,
    /// with no name check and no depth limit.
    #[must_use]
    pub fn new(
        chain: &'a [SslCertificate],
        trust: &'a [SslCertificate],
        at: SystemTime,
        purpose: Purpose,
    ) -> VerifyRequest<'a> {
        VerifyRequest { chain, trust, host: None, at, purpose, max_intermediates: None }
    }

    /// The same request, also checking that the leaf is valid for `host` (DNS name or IP).
    #[must_use]
    pub fn with_host(mut self, host: Option<&'a str>) -> VerifyRequest<'a> {
        self.host = host;
        self
    }

    /// The same request with at most `max` intermediates.
    #[must_use]
    pub fn with_max_intermediates(mut self, max: Option<u32>) -> VerifyRequest<'a> {
        self.max_intermediates = max;
        self
    }
}

/// A TLS engine: its identity, its capabilities, and a factory of contexts.
///
/// Implementations are thin translators (ARCHITECTURE.md): they carry out the configuration they are
/// given, own no socket, thread or clock, keep no global state and decide no policy.
pub trait SslBackend: Send + Sync + fmt::Debug {
    /// The backend's name (`"rustls"`, `"openssl"`, `"native"`).
    fn name(&self) -> &'static str;

    /// `Ok` when the backend can be used in this process, else why not.
    ///
    /// # Errors
    /// A sentence saying why the backend is compiled in but unusable.
    fn availability(&self) -> Result<(), String>;

    /// The engine library's version as it reports itself at run time.
    fn library_version_string(&self) -> String;

    /// The engine library's version the backend was built against.
    fn library_build_version_string(&self) -> String;

    /// A number that grows with the engine's version (OpenSSL's own number where it applies).
    fn library_version_number(&self) -> u64;

    /// [`SslBackend::library_version_number`] of the version built against
    /// (`sslLibraryBuildVersionNumber`); by default the run-time one, right for engines
    /// compiled in (rustls).
    fn library_build_version_number(&self) -> u64 {
        self.library_version_number()
    }

    /// The protocol values this backend accepts as configuration for at least one role.
    /// What a role can use is [`SslBackend::supported_protocols_for`]: the answer callers
    /// (the CLI's `backends`, the conformance suite) rely on.
    fn supported_protocols(&self) -> Vec<SslProtocol>;

    /// The protocol values this backend accepts for `role`; by default the same as
    /// [`SslBackend::supported_protocols`]. A backend whose server side cannot do what its
    /// client side can (native-tls servers have no TLS 1.3) narrows it here.
    fn supported_protocols_for(&self, role: Role) -> Vec<SslProtocol> {
        let _ = role;
        self.supported_protocols()
    }

    /// The cipher suites the engine can negotiate.
    fn supported_ciphers(&self) -> Vec<SslCipher>;

    /// What the backend can do.
    fn features(&self) -> FeatureSet;

    /// Builds the engine's context for `config` and `role`, to be shared by every session with
    /// that configuration. `config.ca_certificates` is the complete trust store to use.
    /// Implementations run [`check_capabilities`] first: a request the backend cannot honour
    /// is refused, never silently dropped.
    ///
    /// Certificate verification contract: when `config.peer_verify_mode.effective(role)` is
    /// not `VerifyNone`, the context verifies the peer's chain and name with the engine's own
    /// rules but never fails the handshake for a trust problem: it records every error it can
    /// as an [`SslError`] (see [`SslSession::verification_errors`]) and lets the socket decide.
    /// Proofs of key possession (handshake signatures) are always checked and fail hard.
    ///
    /// # Errors
    /// [`ConfigError`] when the configuration asks for something the engine cannot do.
    fn new_context(
        &self,
        config: &SslConfiguration,
        role: Role,
    ) -> Result<Arc<dyn SslContext>, ConfigError>;

    /// Verifies `request.chain` with the engine's own path validation and name check, against
    /// exactly `request.trust`, at `request.at` (`QSslCertificate::verify`, made testable).
    /// Returns every error the engine reports, empty when the chain is trusted; a backend
    /// never returns an empty list for a chain its engine rejected. Backends that implement
    /// it claim `Feature::ChainVerification`.
    ///
    /// # Errors
    /// [`ConfigError::Unsupported`] (the default) when the engine cannot verify outside a
    /// handshake or cannot honour a part of the request; [`ConfigError::Engine`] when the
    /// engine fails to run at all.
    fn verify_chain(&self, request: &VerifyRequest<'_>) -> Result<Vec<SslError>, ConfigError> {
        let _ = request;
        Err(ConfigError::Unsupported { backend: self.name(), feature: Feature::ChainVerification })
    }
}

/// Rejects, before any byte is sent, a configuration that asks for something `backend`'s
/// capabilities say it lacks (ARCHITECTURE.md, decision 2): a depth limit, cipher selection,
/// ALPN, a client certificate, `QueryPeer` on a client, PSK, key logging, or a server's
/// certificate request without the matching [`Feature`]. Every backend runs it first in its
/// [`SslBackend::new_context`], so a direct caller of a backend gets the same typed answer as
/// a socket; one check keeps every backend's answer the same.
///
/// # Errors
/// [`ConfigError::Unsupported`] naming the backend and the first missing feature.
pub fn check_capabilities(
    backend: &dyn SslBackend,
    config: &SslConfiguration,
    role: Role,
) -> Result<(), ConfigError> {
    let features = backend.features();
    let client = role == Role::Client;
    let mode = if client { SslMode::SslClientMode } else { SslMode::SslServerMode };
    let verify = config.peer_verify_mode.effective(mode);
    let alpn = !config.alpn_protocols.is_empty();
    let wanted = [
        (
            config.peer_verify_depth != 0 && verify != PeerVerifyMode::VerifyNone,
            Feature::PeerVerifyDepth,
        ),
        (!config.ciphers.is_empty(), Feature::CipherSelection),
        (alpn && client, Feature::ClientSideAlpn),
        (alpn && !client, Feature::ServerSideAlpn),
        (client && !config.local_certificate_chain.is_empty(), Feature::ClientCertificates),
        (client && verify == PeerVerifyMode::QueryPeer, Feature::RecoverableVerifyErrors),
        (config.pre_shared_key.is_some(), Feature::Psk),
        (config.key_log.is_some(), Feature::KeyLog),
        (config.danger_allow_weak_crypto, Feature::WeakCrypto),
        (
            !client
                && matches!(
                    config.peer_verify_mode,
                    PeerVerifyMode::QueryPeer | PeerVerifyMode::VerifyPeer
                ),
            Feature::ServerRequestsClientCertificate,
        ),
    ];
    match wanted.into_iter().find(|(asked, feature)| *asked && !features.contains(*feature)) {
        Some((_, feature)) => Err(ConfigError::Unsupported { backend: backend.name(), feature }),
        None => Ok(()),
    }
}

/// An engine configuration, built once per [`SslConfiguration`] and role and shared by every
/// session made from it (session caches live here).
pub trait SslContext: Send + Sync + fmt::Debug {
    /// Starts a new session. For a client, `peer_name` is the name sent as SNI (unless it is an
    /// IP address) and checked against the server's certificate; servers ignore it.
    ///
    /// # Errors
    /// [`ConfigError::InvalidPeerName`] for a client without a usable peer name, or an engine
    /// refusal.
    fn new_session(&self, peer_name: Option<&str>) -> Result<Box<dyn SslSession>, ConfigError>;
}

/// What a session has buffered after processing input (rustls's `IoState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IoStatus {
    /// Ciphertext waiting to be written to the transport.
    pub tls_bytes_to_write: usize,
    /// Decrypted plaintext waiting to be read.
    pub plaintext_bytes_to_read: usize,
    /// The peer sent close_notify.
    pub peer_has_closed: bool,
}

/// One TLS session, sans-IO, in the shape of rustls's connection API.
///
/// The caller moves ciphertext with [`read_tls`](SslSession::read_tls) /
/// [`write_tls`](SslSession::write_tls), calls
/// [`process_new_packets`](SslSession::process_new_packets) after each read, and moves
/// plaintext with [`read_plaintext`](SslSession::read_plaintext) /
/// [`write_plaintext`](SslSession::write_plaintext).
pub trait SslSession: Send + fmt::Debug {
    /// Reads ciphertext from `rd` into the engine. `Ok(0)` means `rd` is at end of file.
    ///
    /// # Errors
    /// The reader's error (`WouldBlock` included), or an engine error when its buffer is full.
    fn read_tls(&mut self, rd: &mut dyn io::Read) -> io::Result<usize>;

    /// Writes pending ciphertext to `wr`.
    ///
    /// # Errors
    /// The writer's error (`WouldBlock` included).
    fn write_tls(&mut self, wr: &mut dyn io::Write) -> io::Result<usize>;

    /// Processes the ciphertext read so far: advances the handshake, decrypts records.
    ///
    /// # Errors
    /// A fatal TLS error; the session is unusable afterwards, but pending ciphertext (an alert)
    /// may still be written.
    fn process_new_packets(&mut self) -> Result<IoStatus, TlsError>;

    /// Reads decrypted plaintext. `Ok(0)` after the peer's close_notify.
    ///
    /// # Errors
    /// `WouldBlock` when no plaintext is buffered.
    fn read_plaintext(&mut self, buf: &mut [u8]) -> io::Result<usize>;

    /// Gives plaintext to the engine for encryption; may take less than `buf.len()` when its
    /// buffers are full (then `write_tls` first).
    ///
    /// # Errors
    /// An engine failure.
    fn write_plaintext(&mut self, buf: &[u8]) -> io::Result<usize>;

    /// Queues a close_notify alert.
    fn send_close_notify(&mut self);

    /// Whether the engine wants more ciphertext.
    fn wants_read(&self) -> bool;

    /// Whether the engine has ciphertext to write.
    fn wants_write(&self) -> bool;

    /// Whether the handshake is still in progress.
    fn is_handshaking(&self) -> bool;

    /// The result of verifying the peer's certificate: `None` until the engine has checked a
    /// certificate (or when no certificate was presented or verification is off), then every
    /// error found (empty when the peer is trusted).
    fn verification_errors(&self) -> Option<&[SslError]>;

    /// The chain the peer sent, leaf first (empty when it sent none or the engine cannot tell;
    /// see `Feature::PeerCertificateChain`).
    fn peer_certificate_chain(&self) -> Vec<SslCertificate>;

    /// Whether the peer sent a certificate: [`SslSession::peer_certificate_chain`] is not
    /// empty, without building the chain's views (an engine overrides it with a cheaper
    /// question; the socket asks on every handshake that requires one).
    fn has_peer_certificate(&self) -> bool {
        !self.peer_certificate_chain().is_empty()
    }

    /// The negotiated protocol version, once known.
    fn protocol_version(&self) -> Option<TlsVersion>;

    /// The negotiated cipher suite, once known.
    fn cipher(&self) -> Option<SslCipher>;

    /// The negotiated ALPN protocol, if any.
    fn alpn_protocol(&self) -> Option<Vec<u8>>;

    /// The SNI name the client sent (server side).
    fn server_name(&self) -> Option<String>;
}
