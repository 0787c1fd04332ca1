//! `SslKey` (QSslKey): private and public keys as DER, with the secret bytes zeroed on drop.
//!
//! Keys are read and written here, the same whichever engine is active (ARCHITECTURE.md, decision 4):
//! PKCS#8, PKCS#1 (RSA) and SEC1 (EC) private keys, X.509 `SubjectPublicKeyInfo` public keys,
//! PEM or DER, encrypted PKCS#8 and the legacy OpenSSL encrypted PEM with a passphrase
//! (see `key_encryption`). Engines receive the DER.

use std::fmt;

use pkcs8::der::asn1::{AnyRef, BitStringRef, ObjectIdentifier, OctetStringRef, UintRef};
use pkcs8::der::{Decode, Encode, Tagged};
use pkcs8::spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};
use zeroize::Zeroizing;

use crate::error::CertificateError;
use crate::key_encryption;

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

/// A named elliptic curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EcCurve {
    /// NIST P-256 (secp256r1, prime256v1).
    P256,
    /// NIST P-384 (secp384r1).
    P384,
    /// NIST P-521 (secp521r1).
    P521,
}

impl EcCurve {
    /// The curve's size in bits (256, 384, 521).
    #[must_use]
    pub fn bits(self) -> u32 {
        match self {
            EcCurve::P256 => 256,
            EcCurve::P384 => 384,
            EcCurve::P521 => 521,
        }
    }

    /// The curve's name as in RFC 8422 / OpenSSL (`"prime256v1"`, `"secp384r1"`, `"secp521r1"`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            EcCurve::P256 => "prime256v1",
            EcCurve::P384 => "secp384r1",
            EcCurve::P521 => "secp521r1",
        }
    }

    fn from_oid(oid: &ObjectIdentifier) -> Option<EcCurve> {
        match oid.to_string().as_str() {
            OID_P256 => Some(EcCurve::P256),
            OID_P384 => Some(EcCurve::P384),
            OID_P521 => Some(EcCurve::P521),
            _ => None,
        }
    }
}

/// A private or public key. Equality and hashing use the DER bytes; `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct SslKey {
    der: Zeroizing<Vec<u8>>,
    format: KeyFormat,
    algorithm: KeyAlgorithm,
    bits: u32,
    curve: Option<EcCurve>,
}

/// The most PBKDF2 iterations an encrypted PKCS#8 key may ask for (RFC 8018 §4.2 calls
/// 10,000,000 appropriate for "especially critical keys"; OpenSSL writes 2,048 by default and
/// sslsocket 100,000). A key asking for more is refused with [`CertificateError::KdfLimit`]
/// before any derivation: 2^31 − 1 iterations would run for minutes.
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

/// The largest scrypt cost parameter N an encrypted PKCS#8 key may ask for: 2^20 (the
/// "sensitive storage" figure of the scrypt paper; OpenSSL writes 2^14).
pub const MAX_SCRYPT_COST: u64 = 1 << 20;

/// The most memory an encrypted PKCS#8 key's scrypt parameters may need, `128 · r · (N + p)`
/// bytes: 256 MiB (N = 2^18 with r = 8, or N = 2^20 with r = 2). OpenSSL's own limit is
/// 32 MiB; scrypt allocates this at once and an allocation failure aborts the process.
pub const MAX_SCRYPT_MEMORY: u64 = 256 << 20;

/// The most scrypt work an encrypted PKCS#8 key may ask for, `N · r · p`: 2^23, the work of
/// N = 2^18, r = 8, p = 4 (a few seconds in an optimised build).
pub const MAX_SCRYPT_WORK: u64 = 1 << 23;

pub(crate) const OID_RSA: &str = "1.2.840.113549.1.1.1";
pub(crate) const OID_EC: &str = "1.2.840.10045.2.1";
pub(crate) const OID_ED25519: &str = "1.3.101.112";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_P521: &str = "1.3.132.0.35";

impl SslKey {
    /// Reads the first private key of a PEM text (`PRIVATE KEY`, `RSA PRIVATE KEY` or
    /// `EC PRIVATE KEY`).
    ///
    /// # Errors
    /// [`CertificateError::Pem`] when there is no such block; [`CertificateError::Key`] when
    /// its content is not a key of the labelled kind;
    /// [`CertificateError::PassphraseRequired`] when the key is encrypted (use
    /// [`SslKey::private_key_from_pem_with_passphrase`]).
    pub fn private_key_from_pem(pem_text: &[u8]) -> Result<SslKey, CertificateError> {
        private_from_pem(pem_text, None)
    }

    /// Reads the first private key of a PEM text, decrypting it with `passphrase` when it is
    /// encrypted: an `ENCRYPTED PRIVATE KEY` (encrypted PKCS#8, PBES2) or a legacy OpenSSL
    /// `RSA PRIVATE KEY` / `EC PRIVATE KEY` with `Proc-Type: 4,ENCRYPTED` and a `DEK-Info` of
    /// AES-128/192/256-CBC, DES-EDE3-CBC or DES-CBC. An unencrypted key is read as by
    /// [`SslKey::private_key_from_pem`] and the passphrase is not used.
    ///
    /// # Errors
    /// As [`SslKey::private_key_from_pem`], and [`CertificateError::BadPassphrase`] when the
    /// passphrase does not decrypt the key; [`CertificateError::Key`] for an encryption scheme
    /// that is not supported (PBES1, unknown ciphers); [`CertificateError::KdfLimit`] for key
    /// derivation parameters beyond [`MAX_PBKDF2_ITERATIONS`], [`MAX_SCRYPT_COST`],
    /// [`MAX_SCRYPT_MEMORY`] or [`MAX_SCRYPT_WORK`], refused before any derivation work.
    pub fn private_key_from_pem_with_passphrase(
        pem_text: &[u8],
        passphrase: &[u8],
    ) -> Result<SslKey, CertificateError> {
        private_from_pem(pem_text, Some(passphrase))
    }

    /// Reads the private key of the file at `path` (`QSslKey` over a `QFile`): a PEM text as
    /// [`SslKey::private_key_from_pem_with_passphrase`] (any of its forms, encrypted or not),
    /// or DER: PKCS#8, encrypted PKCS#8 (with `passphrase`), PKCS#1 or SEC1. Only a regular
    /// file up to [`crate::files::MAX_FILE_SIZE`] is read
    /// ([`crate::files::read_regular_file`]).
    ///
    /// # Errors
    /// As [`crate::files::read_regular_file`]; as
    /// [`SslKey::private_key_from_pem_with_passphrase`] for a PEM text, and
    /// [`CertificateError::PassphraseRequired`] for an encrypted key without `passphrase`;
    /// [`CertificateError::Key`] for DER that is no private key.
    pub fn private_key_from_file(
        path: impl AsRef<std::path::Path>,
        passphrase: Option<&[u8]>,
    ) -> Result<SslKey, CertificateError> {
        let data = Zeroizing::new(crate::files::read_regular_file(path.as_ref())?);
        if data.windows(11).any(|w| w == b"-----BEGIN ") {
            return private_from_pem(&data, passphrase);
        }
        let pkcs8 = match SslKey::private_key_from_der(&data, KeyFormat::Pkcs8) {
            Ok(key) => return Ok(key),
            Err(err) => err,
        };
        if pkcs8::EncryptedPrivateKeyInfo::from_der(&data).is_ok() {
            let passphrase = passphrase.ok_or(CertificateError::PassphraseRequired)?;
            return SslKey::private_key_from_encrypted_der(&data, passphrase);
        }
        [KeyFormat::Pkcs1, KeyFormat::Sec1]
            .into_iter()
            .find_map(|format| SslKey::private_key_from_der(&data, format).ok())
            .ok_or(pkcs8)
    }

    /// Reads a DER private key stored as `format`.
    ///
    /// # Errors
    /// [`CertificateError::Key`] when the bytes are not such a key.
    pub fn private_key_from_der(der: &[u8], format: KeyFormat) -> Result<SslKey, CertificateError> {
        let facts = match format {
            KeyFormat::Pkcs8 => inspect_pkcs8(der)?,
            KeyFormat::Pkcs1 => inspect_pkcs1(der)?,
            KeyFormat::Sec1 => inspect_sec1(der, None)?,
            KeyFormat::Spki => {
                return Err(CertificateError::Key("not a private key format".into()))
            }
        };
        Ok(SslKey::with_facts(der.to_vec(), format, facts))
    }

    /// Reads a DER encrypted PKCS#8 private key (`EncryptedPrivateKeyInfo`) with `passphrase`.
    ///
    /// # Errors
    /// [`CertificateError::BadPassphrase`] when the passphrase does not decrypt it;
    /// [`CertificateError::Key`] when the bytes are not such a key or the scheme is not
    /// supported; [`CertificateError::KdfLimit`] for key-derivation parameters beyond the
    /// limits (as [`SslKey::private_key_from_pem_with_passphrase`]).
    pub fn private_key_from_encrypted_der(
        der: &[u8],
        passphrase: &[u8],
    ) -> Result<SslKey, CertificateError> {
        let plain = key_encryption::decrypt_pkcs8(der, passphrase)?;
        SslKey::private_key_from_der(&plain, KeyFormat::Pkcs8)
    }

    /// Reads a DER `SubjectPublicKeyInfo`.
    ///
    /// # Errors
    /// [`CertificateError::Key`] when the bytes are not one.
    pub fn public_key_from_der(der: &[u8]) -> Result<SslKey, CertificateError> {
        let facts = inspect_spki(der)?;
        Ok(SslKey::with_facts(der.to_vec(), KeyFormat::Spki, facts))
    }

    /// Reads the first public key of a PEM text: `PUBLIC KEY` (`SubjectPublicKeyInfo`) or
    /// `RSA PUBLIC KEY` (PKCS#1, converted to `SubjectPublicKeyInfo`).
    ///
    /// # Errors
    /// [`CertificateError::Pem`] when there is no such block; [`CertificateError::Key`] when
    /// its content is not a public key.
    pub fn public_key_from_pem(pem_text: &[u8]) -> Result<SslKey, CertificateError> {
        let blocks = pem::parse_many(pem_text).map_err(|e| CertificateError::Pem(e.to_string()))?;
        for block in &blocks {
            match block.tag() {
                "PUBLIC KEY" => return SslKey::public_key_from_der(block.contents()),
                "RSA PUBLIC KEY" => {
                    pkcs1::RsaPublicKey::from_der(block.contents()).map_err(key_error)?;
                    let spki = spki_der(OID_RSA, Some(AnyRef::NULL), block.contents())?;
                    return SslKey::public_key_from_der(&spki);
                }
                _ => continue,
            }
        }
        Err(CertificateError::Pem("no public key block found".into()))
    }

    /// The DER bytes, in [`SslKey::format`].
    #[must_use]
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// The key as PEM, LF line ends: a public key as `PUBLIC KEY`; a private key as PKCS#8
    /// `PRIVATE KEY` (PKCS#1 and SEC1 keys are wrapped), or, with a passphrase, as
    /// `ENCRYPTED PRIVATE KEY` (PBES2: PBKDF2-HMAC-SHA256 with a random 16-byte salt and
    /// AES-256-CBC, as `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes it). The passphrase is
    /// ignored for a public key.
    ///
    /// # Errors
    /// [`CertificateError::Key`] when the key cannot be re-encoded or the system's random
    /// number generator fails.
    pub fn to_pem(&self, passphrase: Option<&[u8]>) -> Result<String, CertificateError> {
        let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
        let block = match (self.key_type(), passphrase) {
            (KeyType::PublicKey, _) => pem::Pem::new("PUBLIC KEY", self.der.to_vec()),
            (KeyType::PrivateKey, None) => {
                pem::Pem::new("PRIVATE KEY", self.to_pkcs8_der()?.to_vec())
            }
            (KeyType::PrivateKey, Some(passphrase)) => pem::Pem::new(
                "ENCRYPTED PRIVATE KEY",
                key_encryption::encrypt_pkcs8(&self.to_pkcs8_der()?, passphrase)?,
            ),
        };
        Ok(pem::encode_config(&block, config))
    }

    /// A private key as PKCS#8 `PrivateKeyInfo` DER (PKCS#1 and SEC1 keys wrapped with their
    /// algorithm identifier); a public key's `SubjectPublicKeyInfo` DER.
    ///
    /// # Errors
    /// [`CertificateError::Key`] when the key cannot be re-encoded.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, CertificateError> {
        let (oid, params) = match self.format {
            KeyFormat::Pkcs8 | KeyFormat::Spki => return Ok(self.der.clone()),
            KeyFormat::Pkcs1 => (OID_RSA, None),
            KeyFormat::Sec1 => {
                let key = sec1::EcPrivateKey::from_der(&self.der).map_err(key_error)?;
                let curve = key.parameters.and_then(|p| p.named_curve());
                (OID_EC, curve)
            }
        };
        let oid = ObjectIdentifier::new(oid).map_err(key_error)?;
        let curve_der = params.map(|c| c.to_der()).transpose().map_err(key_error)?;
        let parameters = match (&curve_der, self.format) {
            (Some(der), _) => Some(AnyRef::from_der(der).map_err(key_error)?),
            (None, KeyFormat::Pkcs1) => Some(AnyRef::NULL),
            (None, _) => None,
        };
        let info =
            pkcs8::PrivateKeyInfo::new(AlgorithmIdentifierRef { oid, parameters }, &self.der);
        info.to_der().map(Zeroizing::new).map_err(key_error)
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

    /// The key's size in bits (`QSslKey::length`): the RSA modulus size, the EC curve size
    /// (256, 384, 521), 256 for Ed25519; 0 for an algorithm sslsocket does not name.
    #[must_use]
    pub fn length(&self) -> u32 {
        self.bits
    }

    /// The named curve of an EC key; `None` for other algorithms and unnamed curves.
    #[must_use]
    pub fn ec_curve(&self) -> Option<EcCurve> {
        self.curve
    }

    /// Private or public.
    #[must_use]
    pub fn key_type(&self) -> KeyType {
        match self.format {
            KeyFormat::Spki => KeyType::PublicKey,
            _ => KeyType::PrivateKey,
        }
    }

    /// The public key of this key, as `SubjectPublicKeyInfo`: the key itself for a public key;
    /// for a private key, the public part it carries — an RSA key's modulus and exponent, an
    /// EC key's public point (SEC1 `publicKey`, present in the keys OpenSSL, aws-lc and ring
    /// write), a PKCS#8 v2 key's `publicKey`. `None` when the private key does not carry it
    /// (an Ed25519 PKCS#8 v1 key, an EC key without its point): deriving it would take the
    /// curve arithmetic of an engine.
    #[must_use]
    pub fn public_key(&self) -> Option<SslKey> {
        let spki = match self.format {
            KeyFormat::Spki => return Some(self.clone()),
            KeyFormat::Pkcs1 => rsa_public_spki(&self.der).ok()?,
            KeyFormat::Sec1 => {
                let key = sec1::EcPrivateKey::from_der(&self.der).ok()?;
                let curve = key.parameters.and_then(|p| p.named_curve())?;
                ec_public_spki(&curve, key.public_key?).ok()?
            }
            KeyFormat::Pkcs8 => {
                let info = pkcs8::PrivateKeyInfo::from_der(&self.der).ok()?;
                match info.algorithm.oid.to_string().as_str() {
                    OID_RSA => rsa_public_spki(info.private_key).ok()?,
                    OID_EC => {
                        let key = sec1::EcPrivateKey::from_der(info.private_key).ok()?;
                        let curve = info
                            .algorithm
                            .parameters_oid()
                            .ok()
                            .or_else(|| key.parameters.and_then(|p| p.named_curve()))?;
                        let point = key.public_key.or(info.public_key)?;
                        ec_public_spki(&curve, point).ok()?
                    }
                    _ => {
                        let public = info.public_key?;
                        let bits = BitStringRef::from_bytes(public).ok()?;
                        SubjectPublicKeyInfoRef {
                            algorithm: info.algorithm,
                            subject_public_key: bits,
                        }
                        .to_der()
                        .ok()?
                    }
                }
            }
        };
        SslKey::public_key_from_der(&spki).ok()
    }

    /// Whether this key and `other` have the same public key. `None` when either does not
    /// carry its public part (see [`SslKey::public_key`]).
    #[must_use]
    pub fn same_public_key(&self, other: &SslKey) -> Option<bool> {
        let ours = self.public_key()?;
        let theirs = other.public_key()?;
        Some(spki_equal(&ours.der, &theirs.der))
    }

    fn with_facts(der: Vec<u8>, format: KeyFormat, facts: Facts) -> SslKey {
        SslKey {
            der: Zeroizing::new(der),
            format,
            algorithm: facts.algorithm,
            bits: facts.bits,
            curve: facts.curve,
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
            .field("length", &self.bits)
            .finish_non_exhaustive()
    }
}

/// What parsing a key tells.
struct Facts {
    algorithm: KeyAlgorithm,
    bits: u32,
    curve: Option<EcCurve>,
}

fn key_error(e: impl fmt::Display) -> CertificateError {
    CertificateError::Key(e.to_string())
}

fn private_from_pem(
    pem_text: &[u8],
    passphrase: Option<&[u8]>,
) -> Result<SslKey, CertificateError> {
    let blocks = pem::parse_many(pem_text).map_err(|e| CertificateError::Pem(e.to_string()))?;
    for block in &blocks {
        let format = match block.tag() {
            "PRIVATE KEY" => KeyFormat::Pkcs8,
            "RSA PRIVATE KEY" => KeyFormat::Pkcs1,
            "EC PRIVATE KEY" => KeyFormat::Sec1,
            "ENCRYPTED PRIVATE KEY" => {
                let passphrase = passphrase.ok_or(CertificateError::PassphraseRequired)?;
                return SslKey::private_key_from_encrypted_der(block.contents(), passphrase);
            }
            _ => continue,
        };
        let encrypted = block.headers().get("Proc-Type").is_some_and(|v| v.contains("ENCRYPTED"));
        if !encrypted {
            return SslKey::private_key_from_der(block.contents(), format);
        }
        let passphrase = passphrase.ok_or(CertificateError::PassphraseRequired)?;
        let dek_info = block
            .headers()
            .get("DEK-Info")
            .ok_or_else(|| CertificateError::Pem("encrypted block without DEK-Info".into()))?;
        let plain = key_encryption::decrypt_legacy_pem(dek_info, block.contents(), passphrase)?;
        // A wrong passphrase that happens to leave valid padding yields garbage: that is a
        // wrong passphrase too, not a malformed key.
        return SslKey::private_key_from_der(&plain, format)
            .map_err(|_| CertificateError::BadPassphrase);
    }
    Err(CertificateError::Pem("no private key block found".into()))
}

fn inspect_pkcs8(der: &[u8]) -> Result<Facts, CertificateError> {
    let info = pkcs8::PrivateKeyInfo::from_der(der).map_err(key_error)?;
    match info.algorithm.oid.to_string().as_str() {
        OID_RSA => inspect_pkcs1(info.private_key),
        OID_EC => inspect_sec1(info.private_key, info.algorithm.parameters_oid().ok()),
        OID_ED25519 => {
            let secret = OctetStringRef::from_der(info.private_key).map_err(key_error)?;
            if secret.as_bytes().len() != 32 {
                return Err(key_error("an Ed25519 private key has 32 bytes"));
            }
            Ok(Facts { algorithm: KeyAlgorithm::Ed25519, bits: 256, curve: None })
        }
        _ => Ok(Facts { algorithm: KeyAlgorithm::Other, bits: 0, curve: None }),
    }
}

fn inspect_pkcs1(der: &[u8]) -> Result<Facts, CertificateError> {
    check_sequence(der).map_err(key_error)?;
    let key = pkcs1::RsaPrivateKey::from_der(der).map_err(key_error)?;
    Ok(Facts { algorithm: KeyAlgorithm::Rsa, bits: uint_bits(&key.modulus), curve: None })
}

/// A SEC1 key; `outer_curve` is the curve named by a PKCS#8 wrapper's algorithm parameters.
fn inspect_sec1(
    der: &[u8],
    outer_curve: Option<ObjectIdentifier>,
) -> Result<Facts, CertificateError> {
    check_sequence(der).map_err(key_error)?;
    let key = sec1::EcPrivateKey::from_der(der).map_err(key_error)?;
    let oid = outer_curve.or_else(|| key.parameters.and_then(|p| p.named_curve()));
    let curve = oid.as_ref().and_then(EcCurve::from_oid);
    let bits = curve.map_or_else(|| bytes_bits(key.private_key), EcCurve::bits);
    Ok(Facts { algorithm: KeyAlgorithm::Ec, bits, curve })
}

fn inspect_spki(der: &[u8]) -> Result<Facts, CertificateError> {
    let info = SubjectPublicKeyInfoRef::from_der(der).map_err(key_error)?;
    let key_bytes = info.subject_public_key.as_bytes().unwrap_or_default();
    Ok(match info.algorithm.oid.to_string().as_str() {
        OID_RSA => {
            let key = pkcs1::RsaPublicKey::from_der(key_bytes).map_err(key_error)?;
            Facts { algorithm: KeyAlgorithm::Rsa, bits: uint_bits(&key.modulus), curve: None }
        }
        OID_EC => {
            let curve = info.algorithm.parameters_oid().ok().as_ref().and_then(EcCurve::from_oid);
            // An uncompressed point is 04 || x || y: x has the curve's size.
            let bits = curve.map_or_else(
                || bytes_bits(&key_bytes[1.min(key_bytes.len())..]) / 2,
                EcCurve::bits,
            );
            Facts { algorithm: KeyAlgorithm::Ec, bits, curve }
        }
        OID_ED25519 => Facts { algorithm: KeyAlgorithm::Ed25519, bits: 256, curve: None },
        _ => Facts { algorithm: KeyAlgorithm::Other, bits: 0, curve: None },
    })
}

/// The number of significant bits of a big-endian unsigned integer.
fn uint_bits(value: &UintRef<'_>) -> u32 {
    bytes_bits(value.as_bytes())
}

fn bytes_bits(bytes: &[u8]) -> u32 {
    let bytes = match bytes.iter().position(|b| *b != 0) {
        Some(first) => &bytes[first..],
        None => return 0,
    };
    let whole = u32::try_from(bytes.len() - 1).unwrap_or(u32::MAX / 16).saturating_mul(8);
    whole + (8 - bytes[0].leading_zeros())
}

/// A `SubjectPublicKeyInfo` DER of algorithm `oid` with `parameters` around `key`.
fn spki_der(
    oid: &str,
    parameters: Option<AnyRef<'_>>,
    key: &[u8],
) -> Result<Vec<u8>, CertificateError> {
    let oid = ObjectIdentifier::new(oid).map_err(key_error)?;
    let subject_public_key = BitStringRef::from_bytes(key).map_err(key_error)?;
    SubjectPublicKeyInfoRef {
        algorithm: AlgorithmIdentifierRef { oid, parameters },
        subject_public_key,
    }
    .to_der()
    .map_err(key_error)
}

/// The public key of a PKCS#1 `RSAPrivateKey`, as `SubjectPublicKeyInfo` DER.
fn rsa_public_spki(pkcs1_der: &[u8]) -> Result<Vec<u8>, CertificateError> {
    let key = pkcs1::RsaPrivateKey::from_der(pkcs1_der).map_err(key_error)?;
    let public = key.public_key().to_der().map_err(key_error)?;
    spki_der(OID_RSA, Some(AnyRef::NULL), &public)
}

/// An EC public point on `curve`, as `SubjectPublicKeyInfo` DER.
fn ec_public_spki(curve: &ObjectIdentifier, point: &[u8]) -> Result<Vec<u8>, CertificateError> {
    let curve_der = curve.to_der().map_err(key_error)?;
    let parameters = AnyRef::from_der(&curve_der).map_err(key_error)?;
    spki_der(OID_EC, Some(parameters), point)
}

/// Whether two `SubjectPublicKeyInfo`s hold the same key: the same algorithm, the same
/// parameters (an RSA key's absent parameters equal NULL), and the same key bits, where an EC
/// point may be compressed in one and uncompressed in the other.
pub(crate) fn spki_equal(a: &[u8], b: &[u8]) -> bool {
    let (Ok(a), Ok(b)) =
        (SubjectPublicKeyInfoRef::from_der(a), SubjectPublicKeyInfoRef::from_der(b))
    else {
        return false;
    };
    if a.algorithm.oid != b.algorithm.oid {
        return false;
    }
    fn params(p: Option<AnyRef<'_>>) -> Option<AnyRef<'_>> {
        p.filter(|p| p.tag() != pkcs8::der::Tag::Null)
    }
    if params(a.algorithm.parameters) != params(b.algorithm.parameters) {
        return false;
    }
    let (Some(ka), Some(kb)) = (a.subject_public_key.as_bytes(), b.subject_public_key.as_bytes())
    else {
        return false;
    };
    if ka == kb {
        return true;
    }
    a.algorithm.oid.to_string() == OID_EC && ec_points_equal(ka, kb)
}

/// Compares an uncompressed point (04 || x || y) with a compressed one (02/03 || x).
fn ec_points_equal(a: &[u8], b: &[u8]) -> bool {
    let (full, short) = if a.len() > b.len() { (a, b) } else { (b, a) };
    let (Some((&4, xy)), Some((&prefix, x))) = (full.split_first(), short.split_first()) else {
        return false;
    };
    if xy.len() != 2 * x.len() || !matches!(prefix, 2 | 3) {
        return false;
    }
    let odd = xy.last().is_some_and(|last| last & 1 == 1);
    xy[..x.len()] == *x && (prefix == 3) == odd
}

/// Checks that `der` is exactly one DER SEQUENCE (the outer shape of PKCS#1 and SEC1 keys).
fn check_sequence(der: &[u8]) -> Result<(), pkcs8::der::Error> {
    let any = AnyRef::from_der(der)?;
    if any.tag() != pkcs8::der::Tag::Sequence {
        return Err(pkcs8::der::Tag::Sequence.value_error());
    }
    Ok(())
}
