//! `SslConfiguration` (QSslConfiguration) and the process-wide default.

use std::sync::{PoisonError, RwLock};

use crate::callbacks::{KeyLogHandler, PskHandler};
use crate::certificate::SslCertificate;
use crate::cipher::SslCipher;
use crate::error::{CertificateError, ConfigError};
use crate::key::{KeyType, SslKey};
use crate::types::{PeerVerifyMode, SslProtocol};

/// The largest [`SslConfiguration::peer_verify_depth`]: 100, the limit OpenSSL applies when
/// none is set. A larger value limits nothing more and is refused by
/// [`SslConfiguration::validate`] (OpenSSL takes the depth as a C `int`: from 2^31 + 1 it
/// would wrap and reject every chain).
pub const MAX_PEER_VERIFY_DEPTH: u32 = 100;

/// The longest ALPN protocol name, in bytes (RFC 7301 §3.1: `opaque ProtocolName<1..2^8-1>`).
pub const MAX_ALPN_PROTOCOL_LEN: usize = 255;

/// The most bytes [`SslConfiguration::alpn_protocols`] may encode to, each name with its length
/// byte: 32 KiB. The extension's own bound is 2^16 − 3 bytes, but every extension of a
/// ClientHello shares one block of 2^16 − 1 bytes (and rustls servers refuse handshake
/// messages over 64 KiB): half of it leaves room for the key shares, the server name and a
/// session ticket.
pub const MAX_ALPN_LIST_LEN: usize = 32 * 1024;

/// Everything a TLS context is built from (`QSslConfiguration`).
///
/// Equal configurations build equal engine contexts, so `sslsocket` shares one context (and
/// its session cache) between every socket using an equal configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SslConfiguration {
    /// Allowed protocol versions. Default: `SecureProtocols` (TLS 1.2 and later).
    pub protocol: SslProtocol,
    /// How the peer is verified. Default: `AutoVerifyPeer`.
    pub peer_verify_mode: PeerVerifyMode,
    /// The maximum number of certificates in the verified path, the leaf included and the
    /// trust anchor not counted; 0 means no limit (the default). At most
    /// [`MAX_PEER_VERIFY_DEPTH`].
    pub peer_verify_depth: u32,
    /// Trust anchors in addition to the system ones (or instead of them, see
    /// `system_ca_certificates`).
    pub ca_certificates: Vec<SslCertificate>,
    /// Whether the platform's trust store is added to `ca_certificates` at the first handshake
    /// that needs it. Default: true.
    pub system_ca_certificates: bool,
    /// The local certificate followed by its chain (leaf first).
    pub local_certificate_chain: Vec<SslCertificate>,
    /// The private key of the local certificate.
    pub private_key: Option<SslKey>,
    /// Allowed cipher suites; empty means the engine's default list.
    pub ciphers: Vec<SslCipher>,
    /// ALPN protocols, most preferred first; empty means no ALPN. Each name is 1 to
    /// [`MAX_ALPN_PROTOCOL_LEN`] bytes, and the list encodes to at most [`MAX_ALPN_LIST_LEN`].
    pub alpn_protocols: Vec<Vec<u8>>,
    /// Qt's `SslOptionDisableServerCipherPreference`: a server lets the client's order of
    /// cipher suites win. Default false: a server picks by its own order (`ciphers`, else
    /// the engine's), as Qt's OpenSSL backend does (`SSL_OP_CIPHER_SERVER_PREFERENCE`),
    /// where the backend can (`Feature::ServerCipherPreference`). No effect on a client.
    pub disable_server_cipher_preference: bool,
    /// Pre-shared key authentication (TLS-PSK): called during the handshake on both sides.
    /// Needs `Feature::Psk`. A server with a PSK handler may have no certificate.
    pub pre_shared_key: Option<PskHandler>,
    /// Receives the session secrets in SSLKEYLOGFILE format. Needs `Feature::KeyLog`.
    pub key_log: Option<KeyLogHandler>,
    /// **Insecure.** Lowers the engine's security level to its minimum (OpenSSL's level 0,
    /// `@SECLEVEL=0`) for every connection made with this configuration, whatever version it
    /// negotiates. Default: false, and the engine's own level is never touched.
    ///
    /// What it allows, on TLS 1.0 and 1.1 connections *and on TLS 1.2 and 1.3 ones alike*:
    /// RSA, DSA and DH keys of any size (1024 bits and below), SHA-1 and MD5 signatures on
    /// certificates and in the handshake, and with them TLS 1.0 and 1.1 (whose handshake
    /// signatures are MD5-SHA1 / SHA-1, which OpenSSL 3 refuses at level 1 and above).
    ///
    /// Choosing a range that includes TLS 1.0 (`TlsV1_0OrLater`, `AnyProtocol`) lowers
    /// nothing by itself: without this setting such a range negotiates TLS 1.2 or 1.3 with a
    /// modern peer and refuses weak certificates exactly as `SecureProtocols` does (a peer
    /// that can only do TLS 1.0 fails the handshake, typically with
    /// `TlsErrorKind::WeakPeerKey`); a range of TLS 1.0 / 1.1 only is refused before any byte
    /// ([`ConfigError::ProtocolBelowSecurityLevel`]) where the engine's level forbids it.
    ///
    /// Needs `Feature::WeakCrypto` (the OpenSSL backend); other backends refuse it with
    /// [`ConfigError::Unsupported`] rather than ignore it.
    pub danger_allow_weak_crypto: bool,
}

impl Default for SslConfiguration {
    fn default() -> SslConfiguration {
        SslConfiguration {
            protocol: SslProtocol::SecureProtocols,
            peer_verify_mode: PeerVerifyMode::AutoVerifyPeer,
            peer_verify_depth: 0,
            ca_certificates: Vec::new(),
            system_ca_certificates: true,
            local_certificate_chain: Vec::new(),
            private_key: None,
            ciphers: Vec::new(),
            alpn_protocols: Vec::new(),
            disable_server_cipher_preference: false,
            pre_shared_key: None,
            key_log: None,
            danger_allow_weak_crypto: false,
        }
    }
}

static DEFAULT_CONFIGURATION: RwLock<Option<SslConfiguration>> = RwLock::new(None);

impl SslConfiguration {
    /// The process-wide default configuration that new sockets start from
    /// (`QSslConfiguration::defaultConfiguration`).
    #[must_use]
    pub fn default_configuration() -> SslConfiguration {
        DEFAULT_CONFIGURATION
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .unwrap_or_default()
    }

    /// Replaces the process-wide default configuration; sockets created afterwards use it.
    pub fn set_default_configuration(config: SslConfiguration) {
        *DEFAULT_CONFIGURATION.write().unwrap_or_else(PoisonError::into_inner) = Some(config);
    }

    /// Adds `cert` to the trust anchors of the process-wide default configuration
    /// (`QSslConfiguration::addDefaultCaCertificate`); sockets created afterwards trust it.
    /// A certificate already there is not added twice.
    pub fn add_default_ca_certificate(cert: SslCertificate) {
        SslConfiguration::add_default_ca_certificates([cert]);
    }

    /// Adds `certs` to the trust anchors of the process-wide default configuration, under one
    /// lock (`QSslConfiguration::addDefaultCaCertificates`). Certificates already there are not
    /// added twice.
    pub fn add_default_ca_certificates(certs: impl IntoIterator<Item = SslCertificate>) {
        let mut slot = DEFAULT_CONFIGURATION.write().unwrap_or_else(PoisonError::into_inner);
        let config = slot.get_or_insert_with(SslConfiguration::default);
        for cert in certs {
            if !config.ca_certificates.contains(&cert) {
                config.ca_certificates.push(cert);
            }
        }
    }

    /// Checks what can be checked without an engine: the verify depth and the ALPN list are
    /// within their bounds, the private key is a private key, and it belongs to the local
    /// certificate (its public part equals the leaf's
    /// `SubjectPublicKeyInfo`, see [`SslKey::public_key`]). A configuration with only one of
    /// the two, or with none, is valid here (a server needs both: its backend says so).
    ///
    /// A key that does not carry its public part (an Ed25519 PKCS#8 v1 key, an EC key without
    /// its point) cannot be compared without the engine's curve arithmetic: it passes here and
    /// the backend compares it when it builds its context (rustls `keys_match`, OpenSSL
    /// `SSL_CTX_check_private_key`).
    ///
    /// # Errors
    /// [`ConfigError::InvalidVerifyDepth`] beyond [`MAX_PEER_VERIFY_DEPTH`];
    /// [`ConfigError::InvalidAlpnProtocol`] for an empty ALPN name or one over
    /// [`MAX_ALPN_PROTOCOL_LEN`] bytes; [`ConfigError::AlpnListTooLong`] for a list over
    /// [`MAX_ALPN_LIST_LEN`]; [`ConfigError::KeyMismatch`] when the key is not the leaf's;
    /// [`ConfigError::Certificate`] when the "private key" is a public key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.peer_verify_depth > MAX_PEER_VERIFY_DEPTH {
            return Err(ConfigError::InvalidVerifyDepth {
                depth: self.peer_verify_depth,
                max: MAX_PEER_VERIFY_DEPTH,
            });
        }
        validate_alpn(&self.alpn_protocols)?;
        let Some(key) = &self.private_key else { return Ok(()) };
        if key.key_type() != KeyType::PrivateKey {
            return Err(CertificateError::Key("a public key is not a private key".into()).into());
        }
        let Some(leaf) = self.local_certificate() else { return Ok(()) };
        let leaf_key = leaf.public_key()?;
        match key.same_public_key(&leaf_key) {
            Some(false) => Err(ConfigError::KeyMismatch),
            Some(true) | None => Ok(()),
        }
    }

    /// The local (leaf) certificate, if any.
    #[must_use]
    pub fn local_certificate(&self) -> Option<&SslCertificate> {
        self.local_certificate_chain.first()
    }
}

/// Each ALPN name 1..=255 bytes, the encoded list (names with their length bytes) within
/// [`MAX_ALPN_LIST_LEN`].
fn validate_alpn(protocols: &[Vec<u8>]) -> Result<(), ConfigError> {
    let mut encoded = 0usize;
    for (index, name) in protocols.iter().enumerate() {
        if name.is_empty() || name.len() > MAX_ALPN_PROTOCOL_LEN {
            return Err(ConfigError::InvalidAlpnProtocol { index, len: name.len() });
        }
        encoded += 1 + name.len();
    }
    if encoded > MAX_ALPN_LIST_LEN {
        return Err(ConfigError::AlpnListTooLong { len: encoded, max: MAX_ALPN_LIST_LEN });
    }
    Ok(())
}
