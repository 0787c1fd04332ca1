//! TLS alerts (`QSsl::AlertLevel`, `QSsl::AlertType`): what a peer said when it ended a
//! connection or a handshake, and what we said.

use std::fmt;

/// How grave an alert is (`QSsl::AlertLevel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertLevel {
    /// A warning (close_notify, user_canceled, no_renegotiation).
    Warning,
    /// A fatal alert: the connection ends.
    Fatal,
    /// A level byte that is neither (RFC 8446 knows only 1 and 2).
    Unknown,
}

impl AlertLevel {
    /// The level of the byte `code` of an alert record (1 warning, 2 fatal).
    #[must_use]
    pub fn from_code(code: u8) -> AlertLevel {
        match code {
            1 => AlertLevel::Warning,
            2 => AlertLevel::Fatal,
            _ => AlertLevel::Unknown,
        }
    }
}

macro_rules! alert_types {
    ($($name:ident = $code:literal, $text:literal;)*) => {
        /// What an alert says (`QSsl::AlertType`), with the numbers of the TLS registry
        /// (RFC 8446 section 6, RFC 5246 section 7.2). A number the registry does not list is
        /// `UnknownAlertMessage`; [`Alert::code`] keeps the number itself.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum AlertType {
            $(#[doc = $text] $name,)*
            /// An alert number the registry does not list (Qt's value is 255).
            UnknownAlertMessage,
        }

        impl AlertType {
            /// The type of alert number `code`.
            #[must_use]
            pub fn from_code(code: u8) -> AlertType {
                match code {
                    $($code => AlertType::$name,)*
                    _ => AlertType::UnknownAlertMessage,
                }
            }

            /// The words for the type, as OpenSSL's `SSL_alert_desc_string_long` gives them
            /// (Qt's `description`).
            #[must_use]
            pub fn description(self) -> &'static str {
                match self {
                    $(AlertType::$name => $text,)*
                    AlertType::UnknownAlertMessage => "unknown",
                }
            }
        }
    };
}

alert_types! {
    CloseNotify = 0, "close notify";
    UnexpectedMessage = 10, "unexpected message";
    BadRecordMac = 20, "bad record mac";
    RecordOverflow = 22, "record overflow";
    DecompressionFailure = 30, "decompression failure";
    HandshakeFailure = 40, "handshake failure";
    NoCertificate = 41, "no certificate";
    BadCertificate = 42, "bad certificate";
    UnsupportedCertificate = 43, "unsupported certificate";
    CertificateRevoked = 44, "certificate revoked";
    CertificateExpired = 45, "certificate expired";
    CertificateUnknown = 46, "certificate unknown";
    IllegalParameter = 47, "illegal parameter";
    UnknownCa = 48, "unknown CA";
    AccessDenied = 49, "access denied";
    DecodeError = 50, "decode error";
    DecryptError = 51, "decrypt error";
    ExportRestriction = 60, "export restriction";
    ProtocolVersion = 70, "protocol version";
    InsufficientSecurity = 71, "insufficient security";
    InternalError = 80, "internal error";
    InappropriateFallback = 86, "inappropriate fallback";
    UserCancelled = 90, "user canceled";
    NoRenegotiation = 100, "no renegotiation";
    MissingExtension = 109, "missing extension";
    UnsupportedExtension = 110, "unsupported extension";
    CertificateUnobtainable = 111, "certificate unobtainable";
    UnrecognizedName = 112, "unrecognized name";
    BadCertificateStatusResponse = 113, "bad certificate status response";
    BadCertificateHashValue = 114, "bad certificate hash value";
    UnknownPskIdentity = 115, "unknown PSK identity";
    CertificateRequired = 116, "certificate required";
    NoApplicationProtocol = 120, "no application protocol";
}

/// One alert, sent or received (the arguments of Qt's `alertSent` / `alertReceived`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Alert {
    /// Its level.
    pub level: AlertLevel,
    /// Its type.
    pub kind: AlertType,
    /// Its number on the wire (the type's, or the unlisted number of `UnknownAlertMessage`).
    pub code: u8,
    /// The words for it, for people (Qt's `description`).
    pub description: String,
}

impl Alert {
    /// The alert `code` at `level`.
    #[must_use]
    pub fn new(level: AlertLevel, code: u8) -> Alert {
        let kind = AlertType::from_code(code);
        Alert { level, kind, code, description: kind.description().to_owned() }
    }

    /// The close_notify alert (a warning).
    #[must_use]
    pub fn close_notify() -> Alert {
        Alert::new(AlertLevel::Warning, 0)
    }

    /// A fatal alert `code`.
    #[must_use]
    pub fn fatal(code: u8) -> Alert {
        Alert::new(AlertLevel::Fatal, code)
    }

    /// The alerts of the TLS records in `bytes` that travel in the clear (content type 21,
    /// two bytes), in order; parsing stops at the first record that does not fit. An alert
    /// in an encrypted record (TLS 1.3 after the ServerHello, or after ChangeCipherSpec)
    /// cannot be read here and is not among them.
    #[must_use]
    pub fn in_clear_records(bytes: &[u8]) -> Vec<Alert> {
        let mut alerts = Vec::new();
        let mut rest = bytes;
        let mut encrypted = false;
        while let [kind, _, _, hi, lo, tail @ ..] = rest {
            let len = usize::from(u16::from_be_bytes([*hi, *lo]));
            let Some((body, next)) = tail.split_at_checked(len) else { break };
            match (*kind, body) {
                // ChangeCipherSpec: what follows from this side is encrypted.
                (20, _) => encrypted = true,
                (21, [level, code]) if !encrypted => {
                    alerts.push(Alert::new(AlertLevel::from_code(*level), *code));
                }
                _ => {}
            }
            rest = next;
        }
        alerts
    }

    /// The record that carries this alert in the clear, with `version` (the record layer's
    /// two version bytes, e.g. `[3, 3]` for TLS 1.2).
    #[must_use]
    pub fn clear_record(&self, version: [u8; 2]) -> [u8; 7] {
        let level = match self.level {
            AlertLevel::Warning => 1,
            AlertLevel::Fatal | AlertLevel::Unknown => 2,
        };
        [21, version[0], version[1], 0, 2, level, self.code]
    }
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            AlertLevel::Warning => "warning",
            AlertLevel::Fatal => "fatal",
            AlertLevel::Unknown => "unknown-level",
        };
        write!(f, "{level} alert {} ({})", self.description, self.code)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn numbers_map_to_qts_types_and_back_to_their_record() {
        let alert = Alert::fatal(116);
        assert_eq!(alert.kind, AlertType::CertificateRequired);
        assert_eq!(alert.description, "certificate required");
        assert_eq!(alert.clear_record([3, 3]), [21, 3, 3, 0, 2, 2, 116]);
        assert_eq!(Alert::fatal(200).kind, AlertType::UnknownAlertMessage);
        assert_eq!(Alert::fatal(200).code, 200);
        assert_eq!(Alert::close_notify().level, AlertLevel::Warning);
        assert_eq!(Alert::close_notify().kind, AlertType::CloseNotify);
    }

    #[test]
    fn alerts_in_clear_records_are_found_and_encrypted_ones_are_not() {
        // A handshake record, then a fatal protocol_version alert in the clear.
        let mut bytes = vec![22, 3, 3, 0, 3, 1, 2, 3];
        bytes.extend_from_slice(&[21, 3, 3, 0, 2, 2, 70]);
        assert_eq!(Alert::in_clear_records(&bytes), vec![Alert::fatal(70)]);
        // After ChangeCipherSpec the alert record is encrypted (here its 2 bytes only look
        // like an alert): not reported.
        let after_ccs = [20, 3, 3, 0, 1, 1, 21, 3, 3, 0, 2, 2, 70];
        assert!(Alert::in_clear_records(&after_ccs).is_empty());
        // An application-data record (TLS 1.3's encrypted alerts) and a cut record: nothing.
        assert!(Alert::in_clear_records(&[23, 3, 3, 0, 19]).is_empty());
        assert!(Alert::in_clear_records(&[21, 3, 3, 0, 2, 2]).is_empty());
    }
}
