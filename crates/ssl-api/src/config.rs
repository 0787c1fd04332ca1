//! `SslConfiguration` (QSslConfiguration) and the process-wide default.

use std::sync::{PoisonError, RwLock};

use crate::certificate::SslCertificate;
use crate::cipher::SslCipher;
use crate::key::SslKey;
use crate::types::{PeerVerifyMode, SslProtocol};

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
    /// trust anchor not counted; 0 means no limit (the default).
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
    /// ALPN protocols, most preferred first; empty means no ALPN.
    pub alpn_protocols: Vec<Vec<u8>>,
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

    /// The local (leaf) certificate, if any.
    #[must_use]
    pub fn local_certificate(&self) -> Option<&SslCertificate> {
        self.local_certificate_chain.first()
    }
}
