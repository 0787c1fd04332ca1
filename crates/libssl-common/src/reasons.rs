//! libssl's reason codes and what each one means, as one table.
//!
//! An engine error is classified by the first error of libssl's error stack whose library is
//! libssl (`ERR_LIB_SSL`) and whose reason code is in [`TABLE`] or is a received alert; every
//! match is on numbers from OpenSSL's public headers, never on text. The numbers are those of
//! OpenSSL 3.0's `<openssl/sslerr.h>` (stable since 1.1.1: OpenSSL never renumbers a reason
//! code); openssl-sys does not export them.

use openssl::error::ErrorStack;
use ssl_api::TlsErrorKind;

/// `ERR_LIB_SSL` (`<openssl/err.h>`): the library code of libssl's errors.
pub const ERR_LIB_SSL: i32 = 20;

/// `SSL_R_CERTIFICATE_VERIFY_FAILED`: the engine's own verification rejected the peer's chain
/// (a trust failure, where the backend lets the engine decide).
pub const CERTIFICATE_VERIFY_FAILED: i32 = 134;

/// A received alert is reported as `SSL_AD_REASON_OFFSET` (`<openssl/ssl.h>`: 1000) plus the
/// alert's number (`SSL_R_SSLV3_ALERT_*`, `SSL_R_TLSV1_ALERT_*`, `SSL_R_TLSV13_ALERT_*`);
/// alert numbers are below 256.
pub const ALERTS: std::ops::Range<i32> = 1000..1256;

/// Every reason code classified, with its header name and its kind. A code not listed (and
/// not an alert) is left to the backend (`Internal`).
pub const TABLE: &[(i32, &str, TlsErrorKind)] = {
    use TlsErrorKind::{
        BadRecordMac, InvalidMessage, NoCommonParameters, PeerCertificate, UnexpectedEof,
        WeakPeerKey,
    };
    &[
        // Bytes that are not TLS, or a malformed record or message.
        (115, "SSL_R_BAD_PACKET_LENGTH", InvalidMessage),
        (150, "SSL_R_ENCRYPTED_LENGTH_TOO_LONG", InvalidMessage),
        (155, "SSL_R_HTTPS_PROXY_REQUEST", InvalidMessage),
        (156, "SSL_R_HTTP_REQUEST", InvalidMessage),
        (159, "SSL_R_LENGTH_MISMATCH", InvalidMessage),
        (198, "SSL_R_PACKET_LENGTH_TOO_LONG", InvalidMessage),
        (213, "SSL_R_RECORD_LENGTH_MISMATCH", InvalidMessage),
        (240, "SSL_R_BAD_PACKET", InvalidMessage),
        (244, "SSL_R_UNEXPECTED_MESSAGE", InvalidMessage),
        (245, "SSL_R_UNEXPECTED_RECORD", InvalidMessage),
        (252, "SSL_R_UNKNOWN_PROTOCOL", InvalidMessage),
        (267, "SSL_R_WRONG_VERSION_NUMBER", InvalidMessage),
        (271, "SSL_R_BAD_LENGTH", InvalidMessage),
        (443, "SSL_R_BAD_RECORD_TYPE", InvalidMessage),
        // A record that fails authentication.
        (147, "SSL_R_DECRYPTION_FAILED", BadRecordMac),
        (281, "SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC", BadRecordMac),
        // No version, suite, group, signature algorithm or ALPN protocol in common; a
        // downgrade the client's fallback signal forbids.
        (101, "SSL_R_NO_SUITABLE_KEY_SHARE", NoCommonParameters),
        (118, "SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM", NoCommonParameters),
        (166, "SSL_R_VERSION_TOO_HIGH", NoCommonParameters),
        (181, "SSL_R_NO_CIPHERS_AVAILABLE", NoCommonParameters),
        (191, "SSL_R_NO_PROTOCOLS_AVAILABLE", NoCommonParameters),
        (193, "SSL_R_NO_SHARED_CIPHER", NoCommonParameters),
        (235, "SSL_R_NO_APPLICATION_PROTOCOL", NoCommonParameters),
        (258, "SSL_R_UNSUPPORTED_PROTOCOL", NoCommonParameters),
        (373, "SSL_R_INAPPROPRIATE_FALLBACK", NoCommonParameters),
        (376, "SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS", NoCommonParameters),
        (396, "SSL_R_VERSION_TOO_LOW", NoCommonParameters),
        (410, "SSL_R_NO_SHARED_GROUPS", NoCommonParameters),
        // The peer's certificate cannot be used: a handshake signature that does not verify
        // with its key, or the engine's own verification rejected it.
        (123, "SSL_R_BAD_SIGNATURE", PeerCertificate),
        (CERTIFICATE_VERIFY_FAILED, "SSL_R_CERTIFICATE_VERIFY_FAILED", PeerCertificate),
        (264, "SSL_R_WRONG_SIGNATURE_LENGTH", PeerCertificate),
        (265, "SSL_R_WRONG_SIGNATURE_SIZE", PeerCertificate),
        (370, "SSL_R_WRONG_SIGNATURE_TYPE", PeerCertificate),
        // A key, digest or handshake signature the security level refuses.
        (333, "SSL_R_LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED", WeakPeerKey),
        (394, "SSL_R_DH_KEY_TOO_SMALL", WeakPeerKey),
        (397, "SSL_R_CA_KEY_TOO_SMALL", WeakPeerKey),
        (398, "SSL_R_CA_MD_TOO_WEAK", WeakPeerKey),
        (399, "SSL_R_EE_KEY_TOO_SMALL", WeakPeerKey),
        // The transport ended inside a record or before close_notify.
        (294, "SSL_R_UNEXPECTED_EOF_WHILE_READING", UnexpectedEof),
    ]
};

/// The number of the alert the peer sent, if `reason` is a received alert's reason code.
#[must_use]
pub fn received_alert(reason: i32) -> Option<u8> {
    if ALERTS.contains(&reason) {
        u8::try_from(reason - ALERTS.start).ok()
    } else {
        None
    }
}

/// The kind of libssl reason code `reason`, if the table knows it.
#[must_use]
pub fn kind(reason: i32) -> Option<TlsErrorKind> {
    if ALERTS.contains(&reason) {
        return Some(TlsErrorKind::AlertReceived);
    }
    TABLE.iter().find(|(code, _, _)| *code == reason).map(|(_, _, kind)| *kind)
}

/// The first libssl error on `stack` (`ErrorStack::errors`, oldest first) whose reason code
/// this table knows: its code and its kind.
#[must_use]
pub fn first_known(stack: &ErrorStack) -> Option<(i32, TlsErrorKind)> {
    stack
        .errors()
        .iter()
        .filter(|e| e.library_code() == ERR_LIB_SSL)
        .find_map(|e| kind(e.reason_code()).map(|kind| (e.reason_code(), kind)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// One test per code: the expected kinds are written here, apart from the table, so that
    /// a changed row fails its test; and [`every_row_has_its_test`] keeps the two lists equal.
    macro_rules! codes {
        ($($test:ident: $code:literal => $kind:ident,)*) => {
            $(
                #[test]
                fn $test() {
                    assert_eq!(kind($code), Some(TlsErrorKind::$kind));
                }
            )*
            const TESTED: &[i32] = &[$($code,)*];
        };
    }

    codes! {
        bad_packet_length_115_is_an_invalid_message: 115 => InvalidMessage,
        encrypted_length_too_long_150_is_an_invalid_message: 150 => InvalidMessage,
        https_proxy_request_155_is_an_invalid_message: 155 => InvalidMessage,
        http_request_156_is_an_invalid_message: 156 => InvalidMessage,
        length_mismatch_159_is_an_invalid_message: 159 => InvalidMessage,
        packet_length_too_long_198_is_an_invalid_message: 198 => InvalidMessage,
        record_length_mismatch_213_is_an_invalid_message: 213 => InvalidMessage,
        bad_packet_240_is_an_invalid_message: 240 => InvalidMessage,
        unexpected_message_244_is_an_invalid_message: 244 => InvalidMessage,
        unexpected_record_245_is_an_invalid_message: 245 => InvalidMessage,
        unknown_protocol_252_is_an_invalid_message: 252 => InvalidMessage,
        wrong_version_number_267_is_an_invalid_message: 267 => InvalidMessage,
        bad_length_271_is_an_invalid_message: 271 => InvalidMessage,
        bad_record_type_443_is_an_invalid_message: 443 => InvalidMessage,
        decryption_failed_147_is_a_bad_record_mac: 147 => BadRecordMac,
        decryption_failed_or_bad_record_mac_281_is_a_bad_record_mac: 281 => BadRecordMac,
        no_suitable_key_share_101_is_no_common_parameters: 101 => NoCommonParameters,
        no_suitable_signature_algorithm_118_is_no_common_parameters: 118 => NoCommonParameters,
        version_too_high_166_is_no_common_parameters: 166 => NoCommonParameters,
        no_ciphers_available_181_is_no_common_parameters: 181 => NoCommonParameters,
        no_protocols_available_191_is_no_common_parameters: 191 => NoCommonParameters,
        no_shared_cipher_193_is_no_common_parameters: 193 => NoCommonParameters,
        no_application_protocol_235_is_no_common_parameters: 235 => NoCommonParameters,
        unsupported_protocol_258_is_no_common_parameters: 258 => NoCommonParameters,
        inappropriate_fallback_373_is_no_common_parameters: 373 => NoCommonParameters,
        no_shared_signature_algorithms_376_is_no_common_parameters: 376 => NoCommonParameters,
        version_too_low_396_is_no_common_parameters: 396 => NoCommonParameters,
        no_shared_groups_410_is_no_common_parameters: 410 => NoCommonParameters,
        bad_signature_123_is_a_peer_certificate_error: 123 => PeerCertificate,
        certificate_verify_failed_134_is_a_peer_certificate_error: 134 => PeerCertificate,
        wrong_signature_length_264_is_a_peer_certificate_error: 264 => PeerCertificate,
        wrong_signature_size_265_is_a_peer_certificate_error: 265 => PeerCertificate,
        wrong_signature_type_370_is_a_peer_certificate_error: 370 => PeerCertificate,
        legacy_sigalg_disallowed_333_is_a_weak_peer_key: 333 => WeakPeerKey,
        dh_key_too_small_394_is_a_weak_peer_key: 394 => WeakPeerKey,
        ca_key_too_small_397_is_a_weak_peer_key: 397 => WeakPeerKey,
        ca_md_too_weak_398_is_a_weak_peer_key: 398 => WeakPeerKey,
        ee_key_too_small_399_is_a_weak_peer_key: 399 => WeakPeerKey,
        unexpected_eof_while_reading_294_is_an_unexpected_eof: 294 => UnexpectedEof,
    }

    #[test]
    fn every_row_has_its_test() {
        let mut rows: Vec<i32> = TABLE.iter().map(|(code, _, _)| *code).collect();
        rows.sort_unstable();
        let before = rows.len();
        rows.dedup();
        assert_eq!(rows.len(), before, "a code appears twice in the table");
        let mut tested = TESTED.to_vec();
        tested.sort_unstable();
        assert_eq!(rows, tested);
    }

    #[test]
    fn received_alerts_are_alerts_and_nothing_else_is() {
        assert_eq!(kind(1000), Some(TlsErrorKind::AlertReceived)); // close_notify
        assert_eq!(kind(1042), Some(TlsErrorKind::AlertReceived)); // bad_certificate
        assert_eq!(kind(1070), Some(TlsErrorKind::AlertReceived)); // protocol_version
        assert_eq!(kind(1255), Some(TlsErrorKind::AlertReceived));
        assert_eq!(received_alert(1116), Some(116)); // certificate_required
        assert_eq!(received_alert(1000), Some(0));
        assert_eq!(received_alert(134), None);
        assert_eq!(received_alert(1256), None);
        assert_eq!(kind(1256), None);
        assert_eq!(kind(1), None);
        assert_eq!(kind(0), None);
    }

    #[test]
    fn an_engine_error_stack_is_classified_by_its_first_known_libssl_reason() {
        // A refusal libssl makes itself: a cipher list without a single known suite
        // (`SSL_CTX_set_cipher_list`: SSL_R_NO_CIPHER_MATCH, 185, not in the table).
        let mut builder =
            openssl::ssl::SslContextBuilder::new(openssl::ssl::SslMethod::tls()).unwrap();
        let stack = builder.set_cipher_list("NO-SUCH-CIPHER").unwrap_err();
        assert!(stack.errors().iter().any(|e| e.library_code() == ERR_LIB_SSL));
        assert_eq!(first_known(&stack), None);
    }
}
