//! `SslCertificate` (QSslCertificate): DER plus a parsed view, the same whichever engine is
//! active (ARCHITECTURE.md, decision 4).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::Digest;
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate, X509Name};

use crate::certificate_text::{self, CertificateExtension};
use crate::error::CertificateError;
use crate::key::SslKey;

/// How certificate or key bytes are encoded (`QSsl::EncodingFormat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EncodingFormat {
    /// Base64 text between `-----BEGIN …-----` lines; may hold several objects.
    #[default]
    Pem,
    /// Binary DER; holds exactly one object.
    Der,
}

/// How `from_path` patterns are read (`QSslCertificate::PatternSyntax`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PatternSyntax {
    /// The pattern is a plain file path.
    #[default]
    FixedString,
    /// Shell wildcards (`*`, `?`, `[…]`), matched with the `glob` crate.
    Wildcard,
    /// A regular expression matched against whole paths below the longest literal directory
    /// prefix of the pattern.
    RegularExpression,
}

/// A digest algorithm for [`SslCertificate::digest`] (`QCryptographicHash::Algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// MD5 (for fingerprints shown to people only; broken for anything else).
    Md5,
    /// SHA-1 (for fingerprints shown to people only).
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

/// A subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AlternativeName {
    /// A DNS name (`dNSName`).
    Dns(String),
    /// An IP address (`iPAddress`).
    Ip(IpAddr),
    /// An e-mail address (`rfc822Name`).
    Email(String),
    /// A URI (`uniformResourceIdentifier`).
    Uri(String),
}

/// An X.509 certificate: its DER bytes and the fields people ask about.
///
/// Cheap to clone. Equality and hashing use the DER bytes only.
#[derive(Clone)]
pub struct SslCertificate(Arc<Parsed>);

struct Parsed {
    der: Vec<u8>,
    subject: Vec<(String, String)>,
    issuer: Vec<(String, String)>,
    subject_raw: Vec<u8>,
    issuer_raw: Vec<u8>,
    serial: Vec<u8>,
    spki: Vec<u8>,
    version: u32,
    not_before: SystemTime,
    not_after: SystemTime,
    alt_names: Vec<AlternativeName>,
    is_ca: bool,
    key_ids_match: bool,
}

impl SslCertificate {
    /// Parses one DER certificate.
    ///
    /// # Errors
    /// [`CertificateError::Der`] when the bytes are not one well-formed X.509 certificate.
    pub fn from_der(der: &[u8]) -> Result<SslCertificate, CertificateError> {
        let (rest, cert) =
            X509Certificate::from_der(der).map_err(|e| CertificateError::Der(e.to_string()))?;
        if !rest.is_empty() {
            return Err(CertificateError::Der(format!(
                "{} bytes after the certificate",
                rest.len()
            )));
        }
        let alt_names = match cert.subject_alternative_name() {
            Ok(Some(ext)) => {
                if let Some(GeneralName::Invalid(tag, _)) = ext
                    .value
                    .general_names
                    .iter()
                    .find(|name| matches!(name, GeneralName::Invalid(..)))
                {
                    return Err(CertificateError::Der(format!(
                        "subjectAltName: a name of type {tag} is not valid text"
                    )));
                }
                ext.value.general_names.iter().filter_map(alt_name).collect()
            }
            Ok(None) => Vec::new(),
            Err(e) => return Err(CertificateError::Der(format!("subjectAltName: {e}"))),
        };
        let ski = cert.extensions().iter().find_map(|ext| match ext.parsed_extension() {
            x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0),
            _ => None,
        });
        let aki = cert.extensions().iter().find_map(|ext| match ext.parsed_extension() {
            x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(aki) => {
                aki.key_identifier.as_ref().map(|id| id.0)
            }
            _ => None,
        });
        let key_ids_match = match (ski, aki) {
            (Some(s), Some(a)) => s == a,
            _ => true,
        };
        let is_ca = matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
        Ok(SslCertificate(Arc::new(Parsed {
            der: der.to_vec(),
            subject: name_entries(cert.subject(), "subject")?,
            issuer: name_entries(cert.issuer(), "issuer")?,
            subject_raw: cert.subject().as_raw().to_vec(),
            issuer_raw: cert.issuer().as_raw().to_vec(),
            serial: cert.raw_serial().to_vec(),
            spki: cert.public_key().raw.to_vec(),
            version: cert.version().0 + 1,
            not_before: to_system_time(cert.validity().not_before.timestamp()),
            not_after: to_system_time(cert.validity().not_after.timestamp()),
            alt_names,
            is_ca,
            key_ids_match,
        })))
    }

    /// Parses every `CERTIFICATE` block of a PEM text, in order. Other blocks are skipped.
    ///
    /// # Errors
    /// [`CertificateError::Pem`] when the text has no certificate or a malformed block;
    /// [`CertificateError::Der`] when a block does not hold a certificate.
    pub fn from_pem(pem: &[u8]) -> Result<Vec<SslCertificate>, CertificateError> {
        let blocks = pem::parse_many(pem).map_err(|e| CertificateError::Pem(e.to_string()))?;
        let certs = blocks
            .iter()
            .filter(|b| {
                matches!(b.tag(), "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE")
            })
            .map(|b| SslCertificate::from_der(b.contents()))
            .collect::<Result<Vec<_>, _>>()?;
        if certs.is_empty() {
            return Err(CertificateError::Pem("no CERTIFICATE block found".into()));
        }
        Ok(certs)
    }

    /// Parses `data` in `format`: every certificate of a PEM text, or the one of a DER blob.
    ///
    /// # Errors
    /// As [`SslCertificate::from_pem`] and [`SslCertificate::from_der`].
    pub fn from_data(
        data: &[u8],
        format: EncodingFormat,
    ) -> Result<Vec<SslCertificate>, CertificateError> {
        match format {
            EncodingFormat::Pem => SslCertificate::from_pem(data),
            EncodingFormat::Der => SslCertificate::from_der(data).map(|c| vec![c]),
        }
    }

    /// Loads the certificates of every file `pattern` names (`QSslCertificate::fromPath`).
    ///
    /// With `FixedString` the file must exist and parse. With `Wildcard` and
    /// `RegularExpression`, files that cannot be read or parsed are skipped (as Qt does) and the
    /// result may be empty; files are read in sorted path order. Only regular files up to
    /// [`crate::files::MAX_FILE_SIZE`] are read ([`crate::files::read_regular_file`]): a FIFO,
    /// a device or a `/proc` file that never ends is refused (a `FixedString` path) or skipped.
    ///
    /// # Errors
    /// A read or parse error of a `FixedString` path
    /// ([`CertificateError::NotARegularFile`], [`CertificateError::FileTooLarge`],
    /// [`CertificateError::Io`], a parse error); an invalid pattern.
    pub fn from_path(
        pattern: impl AsRef<Path>,
        format: EncodingFormat,
        syntax: PatternSyntax,
    ) -> Result<Vec<SslCertificate>, CertificateError> {
        let pattern = pattern.as_ref();
        match syntax {
            PatternSyntax::FixedString => {
                let data = crate::files::read_regular_file(pattern)?;
                SslCertificate::from_data(&data, format)
            }
            PatternSyntax::Wildcard | PatternSyntax::RegularExpression => {
                let mut certs = Vec::new();
                for path in matching_files(pattern, syntax)? {
                    if let Ok(data) = crate::files::read_regular_file(&path) {
                        if let Ok(found) = SslCertificate::from_data(&data, format) {
                            certs.extend(found);
                        }
                    }
                }
                Ok(certs)
            }
        }
    }

    /// The DER encoding.
    #[must_use]
    pub fn to_der(&self) -> &[u8] {
        &self.0.der
    }

    /// The PEM encoding (one `CERTIFICATE` block, LF line ends).
    #[must_use]
    pub fn to_pem(&self) -> String {
        let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
        pem::encode_config(&pem::Pem::new("CERTIFICATE", self.0.der.clone()), config)
    }

    /// The values of subject attribute `attr` (short name such as `"CN"`, `"O"`, `"OU"`, `"C"`,
    /// `"ST"`, `"L"`, `"emailAddress"`, `"serialNumber"`, or a dotted OID), in order.
    #[must_use]
    pub fn subject_info(&self, attr: &str) -> Vec<String> {
        lookup(&self.0.subject, attr)
    }

    /// The values of issuer attribute `attr`, as [`SslCertificate::subject_info`].
    #[must_use]
    pub fn issuer_info(&self, attr: &str) -> Vec<String> {
        lookup(&self.0.issuer, attr)
    }

    /// The subject as an RFC 4514 string (`CN=localhost,O=Example`).
    #[must_use]
    pub fn subject_display(&self) -> String {
        rfc4514(&self.0.subject)
    }

    /// The issuer as an RFC 4514 string.
    #[must_use]
    pub fn issuer_display(&self) -> String {
        rfc4514(&self.0.issuer)
    }

    /// The serial number's bytes, big-endian, as encoded.
    #[must_use]
    pub fn serial_number(&self) -> &[u8] {
        &self.0.serial
    }

    /// The serial number as lowercase hex without separators.
    #[must_use]
    pub fn serial_number_hex(&self) -> String {
        hex(&self.0.serial)
    }

    /// The X.509 version (1, 2 or 3).
    #[must_use]
    pub fn version(&self) -> u32 {
        self.0.version
    }

    /// Start of the validity period (notBefore).
    #[must_use]
    pub fn effective_date(&self) -> SystemTime {
        self.0.not_before
    }

    /// End of the validity period (notAfter).
    #[must_use]
    pub fn expiry_date(&self) -> SystemTime {
        self.0.not_after
    }

    /// The subject alternative names, in order.
    #[must_use]
    pub fn subject_alternative_names(&self) -> &[AlternativeName] {
        &self.0.alt_names
    }

    /// Whether the certificate is a CA (basicConstraints CA:TRUE).
    #[must_use]
    pub fn is_ca(&self) -> bool {
        self.0.is_ca
    }

    /// Whether the certificate names itself as its issuer (subject equals issuer and, where
    /// both key identifiers are present, they agree), as OpenSSL's `X509_check_issued` and
    /// Qt's `isSelfSigned` decide. The signature is not checked.
    #[must_use]
    pub fn is_self_signed(&self) -> bool {
        self.0.subject_raw == self.0.issuer_raw && self.0.key_ids_match
    }

    /// SHA-256 of the DER bytes.
    #[must_use]
    pub fn sha256(&self) -> [u8; 32] {
        sha2::Sha256::digest(&self.0.der).into()
    }

    /// SHA-256 of the DER bytes as lowercase hex.
    #[must_use]
    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256())
    }

    /// The digest of the DER bytes with `algorithm` (`QSslCertificate::digest`).
    #[must_use]
    pub fn digest(&self, algorithm: DigestAlgorithm) -> Vec<u8> {
        let der = &self.0.der;
        match algorithm {
            DigestAlgorithm::Md5 => md5::Md5::digest(der).to_vec(),
            DigestAlgorithm::Sha1 => sha1::Sha1::digest(der).to_vec(),
            DigestAlgorithm::Sha224 => sha2::Sha224::digest(der).to_vec(),
            DigestAlgorithm::Sha256 => sha2::Sha256::digest(der).to_vec(),
            DigestAlgorithm::Sha384 => sha2::Sha384::digest(der).to_vec(),
            DigestAlgorithm::Sha512 => sha2::Sha512::digest(der).to_vec(),
        }
    }

    /// The certificate's `SubjectPublicKeyInfo`, DER.
    #[must_use]
    pub fn public_key_der(&self) -> &[u8] {
        &self.0.spki
    }

    /// The certificate's public key (`QSslCertificate::publicKey`).
    ///
    /// # Errors
    /// [`CertificateError::Key`] when the key of a known algorithm (RSA, EC, Ed25519) is
    /// malformed; keys of other algorithms are returned as `KeyAlgorithm::Other`.
    pub fn public_key(&self) -> Result<SslKey, CertificateError> {
        SslKey::public_key_from_der(&self.0.spki)
    }

    /// The X.509v3 extensions, in order (`QSslCertificate::extensions`).
    #[must_use]
    pub fn extensions(&self) -> Vec<CertificateExtension> {
        self.with_parsed(certificate_text::extensions).unwrap_or_default()
    }

    /// A readable multi-line description (`QSslCertificate::toText`), in the words of
    /// `openssl x509 -text` but shorter: version, serial, signature algorithm, issuer,
    /// validity, subject, public key, extensions and SHA-256 fingerprint. Control characters
    /// in names are shown escaped.
    #[must_use]
    pub fn to_text(&self) -> String {
        let key_line = match self.public_key() {
            Ok(key) => format!("Public-Key: ({} bit, {:?})", key.length(), key.algorithm()),
            Err(e) => format!("Public-Key: unreadable ({e})"),
        };
        let sha256 = self.sha256_hex();
        self.with_parsed(|cert| certificate_text::to_text(cert, &key_line, &sha256))
            .unwrap_or_default()
    }

    /// Runs `f` on x509-parser's view of the DER. `from_der` parsed the same bytes, so this
    /// succeeds; `None` would mean the parser changed its mind.
    fn with_parsed<R>(&self, f: impl FnOnce(&X509Certificate<'_>) -> R) -> Option<R> {
        X509Certificate::from_der(&self.0.der).ok().map(|(_, cert)| f(&cert))
    }
}

impl PartialEq for SslCertificate {
    fn eq(&self, other: &SslCertificate) -> bool {
        self.0.der == other.0.der
    }
}

impl Eq for SslCertificate {}

impl Hash for SslCertificate {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.der.hash(state);
    }
}

impl fmt::Debug for SslCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SslCertificate")
            .field("subject", &self.subject_display())
            .field("issuer", &self.issuer_display())
            .field("serial", &self.serial_number_hex())
            .finish()
    }
}

/// Lowercase hex of `bytes`.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn to_system_time(secs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    }
}

fn alt_name(name: &GeneralName<'_>) -> Option<AlternativeName> {
    Some(match name {
        GeneralName::DNSName(s) => AlternativeName::Dns((*s).to_owned()),
        GeneralName::RFC822Name(s) => AlternativeName::Email((*s).to_owned()),
        GeneralName::URI(s) => AlternativeName::Uri((*s).to_owned()),
        GeneralName::IPAddress(bytes) => match bytes.len() {
            4 => AlternativeName::Ip(IpAddr::from(<[u8; 4]>::try_from(*bytes).ok()?)),
            16 => AlternativeName::Ip(IpAddr::from(<[u8; 16]>::try_from(*bytes).ok()?)),
            _ => return None,
        },
        _ => return None,
    })
}

/// The attributes of a name, in order, each decoded by its string type.
///
/// # Errors
/// [`CertificateError::Der`] naming the attribute whose bytes are not valid for their type
/// (a `UTF8String` that is not UTF-8, a `BMPString` of odd length…).
fn name_entries(
    name: &X509Name<'_>,
    which: &str,
) -> Result<Vec<(String, String)>, CertificateError> {
    let registry = x509_parser::objects::oid_registry();
    name.iter_attributes()
        .map(|attr| {
            let oid = attr.attr_type();
            let key = match x509_parser::objects::oid2abbrev(oid, registry) {
                // OpenSSL's and Qt's short name for pkcs-9 emailAddress.
                Ok("Email") => "emailAddress".to_owned(),
                Ok(abbrev) => abbrev.to_owned(),
                Err(_) => oid.to_id_string(),
            };
            let value = attr.attr_value();
            let text = decode_string(value.tag(), value.data).ok_or_else(|| {
                CertificateError::Der(format!(
                    "{which} attribute {key}: the bytes are not a valid {}",
                    value.tag()
                ))
            })?;
            Ok((key, text))
        })
        .collect()
}

/// Decodes a directory string by its ASN.1 type: UTF-8 for `UTF8String` and the ASCII types,
/// Latin-1 for `TeletexString` (as OpenSSL shows it), UTF-16BE for `BMPString`, UTF-32BE
/// for `UniversalString`; `#` and the hex of the bytes (RFC 4514) for any other type.
/// `None` when the bytes are invalid for their type.
fn decode_string(tag: Tag, data: &[u8]) -> Option<String> {
    match tag {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::NumericString
        | Tag::Ia5String
        | Tag::VisibleString => std::str::from_utf8(data).ok().map(str::to_owned),
        Tag::TeletexString => Some(data.iter().map(|b| char::from(*b)).collect()),
        Tag::BmpString => {
            if data.len() % 2 != 0 {
                return None;
            }
            let units = data.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]));
            char::decode_utf16(units).collect::<Result<String, _>>().ok()
        }
        Tag::UniversalString => {
            if data.len() % 4 != 0 {
                return None;
            }
            data.chunks_exact(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        }
        _ => Some(format!("#{}", hex(data))),
    }
}

fn lookup(entries: &[(String, String)], attr: &str) -> Vec<String> {
    entries.iter().filter(|(k, _)| k == attr).map(|(_, v)| v.clone()).collect()
}

fn rfc4514(entries: &[(String, String)]) -> String {
    entries
        .iter()
        .rev()
        .map(|(k, v)| format!("{k}={}", escape_rfc4514(v)))
        .collect::<Vec<_>>()
        .join(",")
}

fn escape_rfc4514(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\')
            || (i == 0 && matches!(c, '#' | ' '))
            || (i == last && c == ' ');
        if c == '\0' {
            out.push_str("\\00");
        } else {
            if special {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// The files a `Wildcard` or `RegularExpression` pattern names, sorted.
fn matching_files(pattern: &Path, syntax: PatternSyntax) -> Result<Vec<PathBuf>, CertificateError> {
    let text = pattern.to_string_lossy().into_owned();
    let bad = |message: String| CertificateError::Pattern { pattern: text.clone(), message };
    let mut files = match syntax {
        PatternSyntax::Wildcard => glob::glob(&text)
            .map_err(|e| bad(e.to_string()))?
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect(),
        _ => {
            let re = regex::Regex::new(&format!("^(?:{text})$")).map_err(|e| bad(e.to_string()))?;
            // The longest prefix of whole path components free of regex metacharacters is the
            // directory to search, as Qt does.
            let meta = |c: char| "\\.^$|?*+()[]{}".contains(c);
            let literal_end = text.find(meta).unwrap_or(text.len());
            let dir_end = text[..literal_end].rfind('/').map_or(0, |i| i + 1);
            let root =
                if dir_end == 0 { PathBuf::from(".") } else { PathBuf::from(&text[..dir_end]) };
            let mut found = Vec::new();
            walk(&root, 0, &mut |p| {
                let shown = p.to_string_lossy();
                let shown = if dir_end == 0 { shown.trim_start_matches("./") } else { &shown };
                if re.is_match(shown) {
                    found.push(p.to_path_buf());
                }
            });
            found
        }
    };
    files.sort();
    Ok(files)
}

/// Visits regular files below `dir` without following symbolic links, at most 16 levels deep.
fn walk(dir: &Path, depth: usize, visit: &mut dyn FnMut(&Path)) {
    if depth > 16 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else { continue };
        let path = entry.path();
        if kind.is_dir() {
            walk(&path, depth + 1, visit);
        } else if kind.is_file() {
            visit(&path);
        }
    }
}
