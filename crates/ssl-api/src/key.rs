//! `SslKey` (QSslKey): private and public keys as DER, with the secret bytes zeroed on drop.

use std::fmt;

use pkcs8::der::{Decode, Tagged};
use zeroize::Zeroizing;

use crate::error::CertificateError;

/// A key's algorithm (`QSsl::KeyAlgorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// RSA.
    Rsa,
    /// Elliptic curve (ECDSA).
    Ec,
    /// Ed25519.
    Ed25519,
    /// Another algorithm the parser recognises as a key but sslsocket does not name.
    Other,
}

/// Whether a key is private or public (`QSsl::KeyType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// A private key.
    PrivateKey,
    /// A public key.
    PublicKey,
}

/// The DER structure a key is stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyFormat {
    /// PKCS#8 `PrivateKeyInfo` (any algorithm).
    Pkcs8,
    /// PKCS#1 `RSAPrivateKey`.
    Pkcs1,
    /// SEC1 `ECPrivateKey`.
    Sec1,
    /// X.509 `SubjectPublicKeyInfo` (public keys).
    Spki,
}

/// A private or public key. Equality and hashing use the DER bytes; `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct SslKey {
    der: Zeroizing<Vec<u8>>,
    format: KeyFormat,
    algorithm: KeyAlgorithm,
}

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_ED25519: &str = "1.3.101.112";

impl SslKey {
    /// Reads the first private key of a PEM text (`PRIVATE KEY`, `RSA PRIVATE KEY` or
    /// `EC PRIVATE KEY`).
    ///
    /// # Errors
    /// [`CertificateError::Pem`] when there is no such block; [`CertificateError::Key`] when
    /// its content is not a key of the labelled kind.
    pub fn private_key_from_pem(pem_text: &[u8]) -> Result<SslKey, CertificateError> {
        let blocks = pem::parse_many(pem_text).map_err(|e| CertificateError::Pem(e.to_string()))?;
        for block in &blocks {
            let format = match block.tag() {
                "PRIVATE KEY" => KeyFormat::Pkcs8,
                "RSA PRIVATE KEY" => KeyFormat::Pkcs1,
                "EC PRIVATE KEY" => KeyFormat::Sec1,
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(CertificateError::Key("encrypted keys need a passphrase".into()))
                }
                _ => continue,
            };
            return SslKey::private_key_from_der(block.contents(), format);
        }
        Err(CertificateError::Pem("no private key block found".into()))
    }

    /// Reads a DER private key stored as `format`.
    ///
    /// # Errors
    /// [`CertificateError::Key`] when the bytes are not such a key.
    pub fn private_key_from_der(der: &[u8], format: KeyFormat) -> Result<SslKey, CertificateError> {
        let bad = |e: &dyn fmt::Display| CertificateError::Key(e.to_string());
        let algorithm = match format {
            KeyFormat::Pkcs8 => {
                let info = pkcs8::PrivateKeyInfo::from_der(der).map_err(|e| bad(&e))?;
                algorithm_of(&info.algorithm.oid.to_string())
            }
            KeyFormat::Pkcs1 => {
                check_sequence(der).map_err(|e| bad(&e))?;
                KeyAlgorithm::Rsa
            }
            KeyFormat::Sec1 => {
                check_sequence(der).map_err(|e| bad(&e))?;
                KeyAlgorithm::Ec
            }
            KeyFormat::Spki => {
                return Err(CertificateError::Key("not a private key format".into()))
            }
        };
        Ok(SslKey { der: Zeroizing::new(der.to_vec()), format, algorithm })
    }

    /// Reads a DER `SubjectPublicKeyInfo`.
    ///
    /// # Errors
    /// [`CertificateError::Key`] when the bytes are not one.
    pub fn public_key_from_der(der: &[u8]) -> Result<SslKey, CertificateError> {
        let info = pkcs8::spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| CertificateError::Key(e.to_string()))?;
        let algorithm = algorithm_of(&info.algorithm.oid.to_string());
        Ok(SslKey { der: Zeroizing::new(der.to_vec()), format: KeyFormat::Spki, algorithm })
    }

    /// The DER bytes, in [`SslKey::format`].
    #[must_use]
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// The DER structure of [`SslKey::to_der`].
    #[must_use]
    pub fn format(&self) -> KeyFormat {
        self.format
    }

    /// The key's algorithm.
    #[must_use]
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// Private or public.
    #[must_use]
    pub fn key_type(&self) -> KeyType {
        match self.format {
            KeyFormat::Spki => KeyType::PublicKey,
            _ => KeyType::PrivateKey,
        }
    }
}

impl std::hash::Hash for SslKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.der.as_slice().hash(state);
        self.format.hash(state);
    }
}

impl fmt::Debug for SslKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SslKey")
            .field("type", &self.key_type())
            .field("algorithm", &self.algorithm)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

fn algorithm_of(oid: &str) -> KeyAlgorithm {
    match oid {
        OID_RSA => KeyAlgorithm::Rsa,
        OID_EC => KeyAlgorithm::Ec,
        OID_ED25519 => KeyAlgorithm::Ed25519,
        _ => KeyAlgorithm::Other,
    }
}

/// Checks that `der` is exactly one DER SEQUENCE (the outer shape of PKCS#1 and SEC1 keys);
/// the engine parses the inside.
fn check_sequence(der: &[u8]) -> Result<(), pkcs8::der::Error> {
    let any = pkcs8::der::asn1::AnyRef::from_der(der)?;
    if any.tag() != pkcs8::der::Tag::Sequence {
        return Err(pkcs8::der::Tag::Sequence.value_error());
    }
    Ok(())
}
