//! Readable views of a certificate: its extensions ([`CertificateExtension`]) and a
//! multi-line dump ([`SslCertificate::to_text`](crate::SslCertificate::to_text)), in the words
//! `openssl x509 -text` uses, made from x509-parser's view so every backend shows the same.

use std::fmt::Write;
use std::net::IpAddr;

use x509_parser::extensions::{GeneralName, ParsedExtension, X509Extension};
use x509_parser::prelude::X509Certificate;

use crate::certificate::hex;

/// One X.509v3 extension of a certificate (`QSslCertificateExtension`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertificateExtension {
    /// The extension's OID, dotted (`"2.5.29.17"`).
    pub oid: String,
    /// Whether it is marked critical.
    pub critical: bool,
    /// Its short name when known (`"subjectAltName"`, `"basicConstraints"`).
    pub name: Option<String>,
    /// Whether x509-parser understood the value (`value` is then text, else hex).
    pub supported: bool,
    /// The value as text in `openssl x509 -text`'s words where the extension is understood
    /// (`"DNS:localhost, IP Address:127.0.0.1"`, `"CA:TRUE, pathlen:0"`), else the DER of
    /// the value as lowercase hex. Control characters are shown escaped (`\x00`).
    pub value: String,
}

/// The extensions of `cert`, in order.
pub(crate) fn extensions(cert: &X509Certificate<'_>) -> Vec<CertificateExtension> {
    let registry = x509_parser::objects::oid_registry();
    cert.extensions()
        .iter()
        .map(|ext| {
            let text = value_text(ext);
            CertificateExtension {
                oid: ext.oid.to_id_string(),
                critical: ext.critical,
                name: x509_parser::objects::oid2sn(&ext.oid, registry).ok().map(str::to_owned),
                supported: text.is_some(),
                value: text.unwrap_or_else(|| hex(ext.value)),
            }
        })
        .collect()
}

/// The multi-line dump of `SslCertificate::to_text`.
pub(crate) fn to_text(cert: &X509Certificate<'_>, key_line: &str, sha256: &str) -> String {
    let mut out = String::new();
    let registry = x509_parser::objects::oid_registry();
    let oid_name = |oid: &x509_parser::der_parser::oid::Oid<'_>| {
        x509_parser::objects::oid2sn(oid, registry)
            .map(str::to_owned)
            .unwrap_or_else(|_| oid.to_id_string())
    };
    let _ = writeln!(out, "Certificate:");
    let _ = writeln!(out, "    Version: {}", cert.version().0 + 1);
    let _ = writeln!(out, "    Serial Number: {}", colon_hex(cert.raw_serial()));
    let _ =
        writeln!(out, "    Signature Algorithm: {}", oid_name(&cert.signature_algorithm.algorithm));
    let _ = writeln!(out, "    Issuer: {}", escape_controls(&cert.issuer().to_string()));
    let _ = writeln!(out, "    Validity");
    let _ = writeln!(out, "        Not Before: {}", cert.validity().not_before);
    let _ = writeln!(out, "        Not After : {}", cert.validity().not_after);
    let _ = writeln!(out, "    Subject: {}", escape_controls(&cert.subject().to_string()));
    let _ = writeln!(out, "    Subject Public Key Info:");
    let _ = writeln!(
        out,
        "        Public Key Algorithm: {}",
        oid_name(&cert.public_key().algorithm.algorithm)
    );
    let _ = writeln!(out, "        {key_line}");
    let exts = extensions(cert);
    if !exts.is_empty() {
        let _ = writeln!(out, "    X509v3 extensions:");
        for ext in exts {
            let name = ext.name.as_deref().unwrap_or(&ext.oid);
            let critical = if ext.critical { " critical" } else { "" };
            let _ = writeln!(out, "        {name}:{critical}");
            let _ = writeln!(out, "            {}", ext.value);
        }
    }
    let _ = writeln!(out, "    SHA256 Fingerprint: {sha256}");
    out
}

/// The value of an extension x509-parser understood, as text.
fn value_text(ext: &X509Extension<'_>) -> Option<String> {
    let registry = x509_parser::objects::oid_registry();
    let oid_name = |oid: &x509_parser::der_parser::oid::Oid<'_>| {
        x509_parser::objects::oid2sn(oid, registry)
            .map(str::to_owned)
            .unwrap_or_else(|_| oid.to_id_string())
    };
    let text = match ext.parsed_extension() {
        ParsedExtension::BasicConstraints(bc) => {
            let ca = if bc.ca { "CA:TRUE" } else { "CA:FALSE" };
            match bc.path_len_constraint {
                Some(len) => format!("{ca}, pathlen:{len}"),
                None => ca.to_owned(),
            }
        }
        ParsedExtension::KeyUsage(ku) => ku.to_string(),
        ParsedExtension::ExtendedKeyUsage(eku) => {
            let mut uses = Vec::new();
            let known = [
                (eku.any, "Any Extended Key Usage"),
                (eku.server_auth, "TLS Web Server Authentication"),
                (eku.client_auth, "TLS Web Client Authentication"),
                (eku.code_signing, "Code Signing"),
                (eku.email_protection, "E-mail Protection"),
                (eku.time_stamping, "Time Stamping"),
                (eku.ocsp_signing, "OCSP Signing"),
            ];
            uses.extend(known.iter().filter(|(on, _)| *on).map(|(_, name)| (*name).to_owned()));
            uses.extend(eku.other.iter().map(|oid| oid.to_id_string()));
            uses.join(", ")
        }
        ParsedExtension::SubjectAlternativeName(san) => names(&san.general_names),
        ParsedExtension::IssuerAlternativeName(ian) => names(&ian.general_names),
        ParsedExtension::SubjectKeyIdentifier(id) => colon_hex(id.0),
        ParsedExtension::AuthorityKeyIdentifier(aki) => {
            let mut parts = Vec::new();
            if let Some(id) = &aki.key_identifier {
                parts.push(format!("keyid:{}", colon_hex(id.0)));
            }
            if let Some(issuer) = &aki.authority_cert_issuer {
                parts.push(names(issuer));
            }
            if let Some(serial) = aki.authority_cert_serial {
                parts.push(format!("serial:{}", colon_hex(serial)));
            }
            parts.join(", ")
        }
        ParsedExtension::CertificatePolicies(policies) => policies
            .iter()
            .map(|p| format!("Policy: {}", oid_name(&p.policy_id)))
            .collect::<Vec<_>>()
            .join(", "),
        ParsedExtension::NameConstraints(nc) => {
            let subtrees = |label: &str, list: &Option<Vec<_>>| {
                list.as_ref().map(|list: &Vec<x509_parser::extensions::GeneralSubtree<'_>>| {
                    let bases: Vec<GeneralName<'_>> = list.iter().map(|s| s.base.clone()).collect();
                    format!("{label}: {}", names(&bases))
                })
            };
            [
                subtrees("Permitted", &nc.permitted_subtrees),
                subtrees("Excluded", &nc.excluded_subtrees),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ")
        }
        ParsedExtension::PolicyConstraints(pc) => {
            let mut parts = Vec::new();
            if let Some(n) = pc.require_explicit_policy {
                parts.push(format!("Require Explicit Policy:{n}"));
            }
            if let Some(n) = pc.inhibit_policy_mapping {
                parts.push(format!("Inhibit Policy Mapping:{n}"));
            }
            parts.join(", ")
        }
        ParsedExtension::InhibitAnyPolicy(iap) => iap.skip_certs.to_string(),
        ParsedExtension::CRLDistributionPoints(points) => points
            .iter()
            .filter_map(|p| match &p.distribution_point {
                Some(x509_parser::extensions::DistributionPointName::FullName(list)) => {
                    Some(format!("Full Name: {}", names(list)))
                }
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(", "),
        ParsedExtension::AuthorityInfoAccess(aia) => aia
            .iter()
            .map(|desc| {
                let method = match desc.access_method.to_id_string().as_str() {
                    "1.3.6.1.5.5.7.48.1" => "OCSP".to_owned(),
                    "1.3.6.1.5.5.7.48.2" => "CA Issuers".to_owned(),
                    _ => oid_name(&desc.access_method),
                };
                format!("{method} - {}", name(&desc.access_location))
            })
            .collect::<Vec<_>>()
            .join(", "),
        ParsedExtension::NsCertComment(comment) => (*comment).to_owned(),
        _ => return None,
    };
    Some(escape_controls(&text))
}

fn names(list: &[GeneralName<'_>]) -> String {
    list.iter().map(name).collect::<Vec<_>>().join(", ")
}

/// A general name in `openssl x509 -text`'s words.
fn name(general: &GeneralName<'_>) -> String {
    match general {
        GeneralName::DNSName(s) => format!("DNS:{s}"),
        GeneralName::RFC822Name(s) => format!("email:{s}"),
        GeneralName::URI(s) => format!("URI:{s}"),
        GeneralName::IPAddress(bytes) => match bytes.len() {
            4 | 16 => {
                let ip = if bytes.len() == 4 {
                    <[u8; 4]>::try_from(*bytes).map(IpAddr::from).ok()
                } else {
                    <[u8; 16]>::try_from(*bytes).map(IpAddr::from).ok()
                };
                ip.map_or_else(
                    || format!("IP Address:{}", hex(bytes)),
                    |ip| format!("IP Address:{ip}"),
                )
            }
            // A name constraint: address and mask.
            _ => format!("IP Address:{}", hex(bytes)),
        },
        GeneralName::DirectoryName(dn) => format!("DirName:{dn}"),
        GeneralName::RegisteredID(oid) => format!("Registered ID:{}", oid.to_id_string()),
        GeneralName::OtherName(oid, _) => format!("othername:{}", oid.to_id_string()),
        GeneralName::X400Address(_) => "X400Name:<unsupported>".to_owned(),
        GeneralName::EDIPartyName(_) => "EdiPartyName:<unsupported>".to_owned(),
        GeneralName::Invalid(_, bytes) => format!("<invalid:{}>", hex(bytes)),
    }
}

/// `01:ab:…`
fn colon_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// `text` with control characters (NUL included) shown as `\xNN`, so a name with an embedded
/// NUL can never read as a shorter one.
pub(crate) fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}
