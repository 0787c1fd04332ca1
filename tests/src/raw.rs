//! Configurations for raw rustls peers (the reference the sockets are compared with), built
//! from the test PKI.

use std::sync::Arc;

use conformance::pki::Identity;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sslsocket::SslCertificate;

/// A rustls server presenting `id`, with the safe default protocol versions.
///
/// # Panics
/// When rustls refuses the identity (the test PKI always produces usable ones).
#[must_use]
pub fn rustls_server_config(id: &Identity) -> Arc<rustls::ServerConfig> {
    let chain: Vec<CertificateDer<'static>> =
        id.chain.iter().map(|c| CertificateDer::from(c.to_der().to_vec())).collect();
    let key = PrivateKeyDer::from_pem_slice(id.key_pem.as_bytes()).expect("a PEM key");
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("default versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("a usable identity");
    Arc::new(config)
}

/// A rustls client that trusts `ca` only, with the safe default protocol versions.
///
/// # Panics
/// When rustls refuses the certificate.
#[must_use]
pub fn rustls_client_config(ca: &SslCertificate) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(ca.to_der().to_vec())).expect("a CA certificate");
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("default versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}
