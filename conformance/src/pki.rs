//! Test certificates, generated per run with rcgen: a root CA, intermediates, and leaves with
//! every defect the scenarios need (expired, not yet valid, wrong name, wrong purpose…).
//! No private key is ever committed.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use sslsocket::{KeyFormat, SslCertificate, SslConfiguration, SslKey};
use time::{Duration, OffsetDateTime};

/// A certificate with its private key, in every form the tests use.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The leaf followed by the intermediates a peer should send.
    pub chain: Vec<SslCertificate>,
    /// The leaf's private key.
    pub key: SslKey,
    /// The chain as PEM (leaf first).
    pub chain_pem: String,
    /// The key as PKCS#8 PEM.
    pub key_pem: String,
}

impl Identity {
    /// The leaf certificate.
    #[must_use]
    pub fn leaf(&self) -> &SslCertificate {
        &self.chain[0]
    }

    /// A server configuration presenting this identity.
    #[must_use]
    pub fn server_config(&self) -> SslConfiguration {
        SslConfiguration {
            local_certificate_chain: self.chain.clone(),
            private_key: Some(self.key.clone()),
            system_ca_certificates: false,
            ..SslConfiguration::default()
        }
    }
}

/// What to put in a leaf certificate.
#[derive(Debug, Clone)]
pub struct LeafSpec {
    /// Subject alternative names: DNS names, or IP addresses when they parse as one.
    pub names: Vec<String>,
    /// The subject common name.
    pub common_name: String,
    /// Valid from now plus this offset (negative: in the past).
    pub valid_from: Duration,
    /// Valid until now plus this offset.
    pub valid_until: Duration,
    /// Extended key usages; empty means serverAuth + clientAuth.
    pub purposes: Vec<ExtendedKeyUsagePurpose>,
    /// Make the leaf a CA (for CA-used-as-leaf cases).
    pub is_ca: bool,
}

impl LeafSpec {
    /// A valid leaf for `names`.
    #[must_use]
    pub fn new(names: &[&str]) -> LeafSpec {
        LeafSpec {
            names: names.iter().map(|s| (*s).to_owned()).collect(),
            common_name: names.first().copied().unwrap_or("sslsocket test").to_owned(),
            valid_from: Duration::days(-1),
            valid_until: Duration::days(30),
            purposes: Vec::new(),
            is_ca: false,
        }
    }

    /// Expired yesterday.
    #[must_use]
    pub fn expired(mut self) -> LeafSpec {
        self.valid_from = Duration::days(-30);
        self.valid_until = Duration::days(-1);
        self
    }

    /// Valid only from tomorrow.
    #[must_use]
    pub fn not_yet_valid(mut self) -> LeafSpec {
        self.valid_from = Duration::days(1);
        self.valid_until = Duration::days(30);
        self
    }

    /// Only these extended key usages.
    #[must_use]
    pub fn purposes(mut self, purposes: Vec<ExtendedKeyUsagePurpose>) -> LeafSpec {
        self.purposes = purposes;
        self
    }
}

/// A certificate authority that can issue leaves and sub-CAs.
pub struct Authority {
    issuer: Issuer<'static, KeyPair>,
    /// The CA's certificate.
    pub certificate: SslCertificate,
    /// The chain above this CA that a peer should send after a leaf it issued (empty for a
    /// root).
    pub chain_above: Vec<SslCertificate>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").field("certificate", &self.certificate).finish_non_exhaustive()
    }
}

fn key() -> KeyPair {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("P-256 key generation")
}

fn ca_params(name: &str, path_len: Option<u8>) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("empty SAN list");
    params.distinguished_name.push(DnType::CommonName, name);
    params.distinguished_name.push(DnType::OrganizationName, "sslsocket tests");
    params.is_ca = IsCa::Ca(match path_len {
        Some(n) => BasicConstraints::Constrained(n),
        None => BasicConstraints::Unconstrained,
    });
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(2);
    params.not_after = now + Duration::days(365);
    params
}

fn to_ssl(der: &[u8]) -> SslCertificate {
    SslCertificate::from_der(der).expect("rcgen produces parseable certificates")
}

impl Authority {
    /// A new self-signed root CA called `name`.
    #[must_use]
    pub fn root(name: &str) -> Authority {
        let key = key();
        let params = ca_params(name, None);
        let cert = params.self_signed(&key).expect("self-signed root");
        Authority {
            issuer: Issuer::new(params, key),
            certificate: to_ssl(cert.der()),
            chain_above: Vec::new(),
        }
    }

    /// A sub-CA issued by this one, with an optional path length constraint.
    #[must_use]
    pub fn intermediate(&self, name: &str, path_len: Option<u8>) -> Authority {
        self.issuer_below(name, path_len, true)
    }

    /// An issuer below this one whose certificate says CA:FALSE (not allowed to issue).
    #[must_use]
    pub fn non_ca_issuer(&self, name: &str) -> Authority {
        self.issuer_below(name, None, false)
    }

    fn issuer_below(&self, name: &str, path_len: Option<u8>, is_ca: bool) -> Authority {
        let key = key();
        let mut params = ca_params(name, path_len);
        if !is_ca {
            params.is_ca = IsCa::ExplicitNoCa;
        }
        let cert = params.signed_by(&key, &self.issuer).expect("intermediate");
        let mut above = Vec::new();
        if !self.chain_above.is_empty() || self.is_intermediate() {
            above.push(self.certificate.clone());
            above.extend(self.chain_above.iter().cloned());
        }
        Authority {
            issuer: Issuer::new(params, key),
            certificate: to_ssl(cert.der()),
            chain_above: above,
        }
    }

    fn is_intermediate(&self) -> bool {
        !self.certificate.is_self_signed()
    }

    /// A leaf for `names` with every default (valid, serverAuth + clientAuth).
    #[must_use]
    pub fn leaf(&self, names: &[&str]) -> Identity {
        self.issue(&LeafSpec::new(names))
    }

    /// A leaf issued by this CA. Its chain holds the leaf and every intermediate up to (not
    /// including) the root.
    #[must_use]
    pub fn issue(&self, spec: &LeafSpec) -> Identity {
        let key = key();
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("empty SAN list");
        params.subject_alt_names = spec
            .names
            .iter()
            .map(|n| match n.parse() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(n.clone().try_into().expect("ASCII DNS name")),
            })
            .collect();
        params.distinguished_name.push(DnType::CommonName, spec.common_name.as_str());
        let now = OffsetDateTime::now_utc();
        params.not_before = now + spec.valid_from;
        params.not_after = now + spec.valid_until;
        params.use_authority_key_identifier_extension = true;
        params.extended_key_usages = if spec.purposes.is_empty() {
            vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth]
        } else {
            spec.purposes.clone()
        };
        if spec.is_ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        let cert = params.signed_by(&key, &self.issuer).expect("leaf");
        let mut chain = vec![to_ssl(cert.der())];
        if self.is_intermediate() {
            chain.push(self.certificate.clone());
            chain.extend(self.chain_above.iter().cloned());
        }
        identity(chain, &key)
    }
}

fn identity(chain: Vec<SslCertificate>, key: &KeyPair) -> Identity {
    let der = key.serialize_der();
    Identity {
        chain_pem: chain.iter().map(SslCertificate::to_pem).collect(),
        key: SslKey::private_key_from_der(&der, KeyFormat::Pkcs8).expect("rcgen PKCS#8 key"),
        key_pem: key.serialize_pem(),
        chain,
    }
}

/// A self-signed leaf (not a CA) for `names`.
#[must_use]
pub fn self_signed(names: &[&str]) -> Identity {
    let key = key();
    let mut params =
        CertificateParams::new(names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
            .expect("valid names");
    params.distinguished_name.push(DnType::CommonName, names.first().copied().unwrap_or("self"));
    let cert = params.self_signed(&key).expect("self-signed leaf");
    identity(vec![to_ssl(cert.der())], &key)
}

/// A self-signed CA certificate presented as a leaf, as `openssl req -x509 -subj /CN=NAME
/// -addext subjectAltName=DNS:NAME` makes it: CA:TRUE, subject and issuer the common name, the
/// SAN names of `spec`, key identifiers, no key usage, and an extended key usage only when
/// `spec.purposes` names one. Validity as `spec` says.
#[must_use]
pub fn self_signed_ca(spec: &LeafSpec) -> Identity {
    let key = key();
    let mut params = CertificateParams::new(spec.names.clone()).expect("valid names");
    params.distinguished_name.push(DnType::CommonName, spec.common_name.as_str());
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.use_authority_key_identifier_extension = true;
    params.extended_key_usages.clone_from(&spec.purposes);
    let now = OffsetDateTime::now_utc();
    params.not_before = now + spec.valid_from;
    params.not_after = now + spec.valid_until;
    let cert = params.self_signed(&key).expect("self-signed CA certificate");
    identity(vec![to_ssl(cert.der())], &key)
}

/// A leaf for `common_name` with no subject alternative name at all, issued by `ca`.
#[must_use]
pub fn without_san(ca: &Authority, common_name: &str) -> Identity {
    let mut spec = LeafSpec::new(&[]);
    spec.common_name = common_name.to_owned();
    ca.issue(&spec)
}

/// A leaf for `names` below a chain of `depth` intermediates under `root`; the chain holds
/// the leaf and every intermediate.
#[must_use]
pub fn deep_chain(root: &Authority, depth: usize, names: &[&str]) -> Identity {
    let mut issuer = root.intermediate("intermediate 1", None);
    for level in 2..=depth {
        issuer = issuer.intermediate(&format!("intermediate {level}"), None);
    }
    issuer.leaf(names)
}
