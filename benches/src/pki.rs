//! One test PKI per run (rcgen, ECDSA P-256): a CA and a server certificate signed by it, valid
//! for `localhost` and `*.bench.test` (unique names per connection defeat client session caches
//! where a full handshake is wanted). Every engine, raw or wrapped, uses the same files.

use std::fs;
use std::io;
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256,
};

/// The CA, the server's leaf certificate and its PKCS#8 key, in DER and PEM.
#[derive(Debug, Clone)]
pub struct Pki {
    /// The CA certificate (DER): the client's only trust anchor.
    pub ca_der: Vec<u8>,
    /// The server certificate (DER), signed by the CA.
    pub leaf_der: Vec<u8>,
    /// The server certificate (PEM).
    pub leaf_pem: String,
    /// The server's private key (PKCS#8 DER).
    pub key_der: Vec<u8>,
    /// The server's private key (PKCS#8 PEM).
    pub key_pem: String,
}

fn other(err: impl std::fmt::Display) -> io::Error {
    io::Error::other(err.to_string())
}

impl Pki {
    /// A fresh CA and server certificate, both ECDSA P-256 with SHA-256 signatures.
    ///
    /// # Errors
    /// When rcgen fails.
    pub fn generate() -> io::Result<Pki> {
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(other)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(other)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "sslsocket bench CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = ca_params.self_signed(&ca_key).map_err(other)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(other)?;
        let mut leaf_params =
            CertificateParams::new(vec!["localhost".to_owned(), "*.bench.test".to_owned()])
                .map_err(other)?;
        leaf_params.distinguished_name.push(DnType::CommonName, "localhost");
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).map_err(other)?;
        Ok(Pki {
            ca_der: ca.der().to_vec(),
            leaf_der: leaf.der().to_vec(),
            leaf_pem: leaf.pem(),
            key_der: leaf_key.serialize_der(),
            key_pem: leaf_key.serialize_pem(),
        })
    }

    /// Writes the PKI to `dir` (for the memory benchmark's child processes).
    ///
    /// # Errors
    /// File system errors.
    pub fn save(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)?;
        fs::write(dir.join("ca.der"), &self.ca_der)?;
        fs::write(dir.join("leaf.der"), &self.leaf_der)?;
        fs::write(dir.join("leaf.pem"), &self.leaf_pem)?;
        fs::write(dir.join("key.der"), &self.key_der)?;
        fs::write(dir.join("key.pem"), &self.key_pem)
    }

    /// Reads a PKI written by [`Pki::save`].
    ///
    /// # Errors
    /// File system errors.
    pub fn load(dir: &Path) -> io::Result<Pki> {
        Ok(Pki {
            ca_der: fs::read(dir.join("ca.der"))?,
            leaf_der: fs::read(dir.join("leaf.der"))?,
            leaf_pem: fs::read_to_string(dir.join("leaf.pem"))?,
            key_der: fs::read(dir.join("key.der"))?,
            key_pem: fs::read_to_string(dir.join("key.pem"))?,
        })
    }
}
