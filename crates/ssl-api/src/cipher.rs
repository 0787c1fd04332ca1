//! Cipher suites (`QSslCipher`).

use crate::types::SslProtocol;

/// A TLS cipher suite as negotiated or supported (`QSslCipher`).
///
/// `name` is the IANA name (`TLS_AES_128_GCM_SHA256`,
/// `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`) on every backend.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SslCipher {
    /// IANA name of the suite.
    pub name: String,
    /// The protocol the suite belongs to (`TlsV1_3` for TLS 1.3 suites, `TlsV1_2` for 1.2 ones).
    pub protocol: SslProtocol,
    /// Bits of the symmetric key actually used.
    pub used_bits: u32,
    /// Bits the cipher supports.
    pub supported_bits: u32,
    /// Key exchange (`"ECDH"`, `"DH"`, `"RSA"`, or `"any"` for TLS 1.3 suites).
    pub key_exchange: String,
    /// Authentication (`"RSA"`, `"ECDSA"`, or `"any"` for TLS 1.3 suites).
    pub authentication: String,
    /// Bulk encryption (`"AESGCM(128)"`, `"CHACHA20/POLY1305(256)"` …).
    pub encryption: String,
}

impl SslCipher {
    /// Builds a cipher description from its IANA name, deriving the other fields from it.
    /// Returns `None` for a name that is not a TLS 1.2 or 1.3 AEAD or CBC suite name.
    #[must_use]
    pub fn from_iana_name(name: &str) -> Option<SslCipher> {
        let (protocol, kx, auth, rest) = if let Some(rest) = name.strip_prefix("TLS_") {
            if let Some((prefix, bulk)) = rest.split_once("_WITH_") {
                let (kx, auth) = match prefix {
                    "ECDHE_ECDSA" => ("ECDH", "ECDSA"),
                    "ECDHE_RSA" => ("ECDH", "RSA"),
                    "DHE_RSA" => ("DH", "RSA"),
                    "RSA" => ("RSA", "RSA"),
                    "ECDHE_PSK" => ("ECDHEPSK", "PSK"),
                    "DHE_PSK" => ("DHEPSK", "PSK"),
                    "PSK" => ("PSK", "PSK"),
                    _ => return None,
                };
                (SslProtocol::TlsV1_2, kx, auth, bulk)
            } else {
                (SslProtocol::TlsV1_3, "any", "any", rest)
            }
        } else {
            return None;
        };
        let (encryption, bits) = if rest.starts_with("AES_128_GCM") {
            ("AESGCM(128)", 128)
        } else if rest.starts_with("AES_256_GCM") {
            ("AESGCM(256)", 256)
        } else if rest.starts_with("CHACHA20_POLY1305") {
            ("CHACHA20/POLY1305(256)", 256)
        } else if rest.starts_with("AES_128_CCM") {
            ("AESCCM(128)", 128)
        } else if rest.starts_with("AES_256_CCM") {
            ("AESCCM(256)", 256)
        } else if rest.starts_with("AES_128_CBC") {
            ("AES(128)", 128)
        } else if rest.starts_with("AES_256_CBC") {
            ("AES(256)", 256)
        } else {
            return None;
        };
        Some(SslCipher {
            name: name.to_owned(),
            protocol,
            used_bits: bits,
            supported_bits: bits,
            key_exchange: kx.to_owned(),
            authentication: auth.to_owned(),
            encryption: encryption.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iana_names_are_decomposed() {
        let c = SslCipher::from_iana_name("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384").unwrap();
        assert_eq!(c.protocol, SslProtocol::TlsV1_2);
        assert_eq!((c.key_exchange.as_str(), c.authentication.as_str()), ("ECDH", "ECDSA"));
        assert_eq!(c.used_bits, 256);
        let c = SslCipher::from_iana_name("TLS_CHACHA20_POLY1305_SHA256").unwrap();
        assert_eq!(c.protocol, SslProtocol::TlsV1_3);
        assert_eq!(c.encryption, "CHACHA20/POLY1305(256)");
        assert!(SslCipher::from_iana_name("ECDHE-RSA-AES128-GCM-SHA256").is_none());
    }
}
