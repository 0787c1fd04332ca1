//! Certificate verification: OpenSSL's own path validation with a per-session callback that
//! records every error and lets the handshake go on (the socket decides).
//!
//! - [`trust_store`] builds the context's `X509Store` from `ca_certificates` only — never the
//!   OpenSSL default paths (the socket layer adds the platform's CAs when it wants them).
//! - [`Recorder`] is installed on each session with `SslRef::set_verify_callback`. OpenSSL
//!   calls it for every certificate of the path (`preverify_ok` true) and for every error it
//!   finds (`preverify_ok` false, `X509StoreContextRef::error`, at the certificate
//!   `current_cert`). The recorder names each error ([`verify_error_kind`]), keeps it once
//!   (leaving out the one error that only restates another, see [`is_consequence`]), and
//!   returns `true`, so OpenSSL continues and reports the next error instead of failing the
//!   handshake. Handshake signatures are checked apart from this callback and still fail hard.
//! - The peer's name is checked by OpenSSL too (`X509VerifyParamRef::set_host` / `set_ip`,
//!   see [`PeerName`]): a mismatch arrives through the same callback as
//!   `X509_V_ERR_HOSTNAME_MISMATCH` / `X509_V_ERR_IP_ADDRESS_MISMATCH`.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use openssl::error::ErrorStack;
use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::verify::{X509CheckFlags, X509VerifyParam};
use openssl::x509::{X509PurposeId, X509StoreContext, X509StoreContextRef, X509};
use ssl_api::{ConfigError, Purpose, SslCertificate, SslError, SslErrorKind, VerifyRequest};

use crate::error::{engine_error, verify_error_kind};

/// The verification result of one session, shared with its verify callback.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recorder {
    /// `None` until the callback has run once; then every error found, in order, without
    /// duplicates.
    errors: Arc<Mutex<Option<Vec<SslError>>>>,
}

impl Recorder {
    /// The callback to give `SslRef::set_verify_callback`.
    pub(crate) fn callback(
        &self,
    ) -> impl Fn(bool, &mut X509StoreContextRef) -> bool + Send + Sync + 'static {
        let errors = Arc::clone(&self.errors);
        move |preverify_ok, ctx| {
            let mut slot = errors.lock().unwrap_or_else(PoisonError::into_inner);
            let list = slot.get_or_insert_with(Vec::new);
            if !preverify_ok {
                let kind = verify_error_kind(ctx.error().as_raw());
                let certificate = ctx
                    .current_cert()
                    .and_then(|cert| cert.to_der().ok())
                    .and_then(|der| SslCertificate::from_der(&der).ok());
                let error = SslError::new(kind, certificate);
                if !list.contains(&error) && !is_consequence(list, &error) {
                    list.push(error);
                }
            }
            // Never fail the handshake for a trust problem: the socket's policy decides.
            true
        }
    }

    /// A copy of what the callback has recorded so far.
    pub(crate) fn snapshot(&self) -> Option<Vec<SslError>> {
        self.errors.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// Whether `error` only restates an error already in `list`.
///
/// X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE ("unable to verify the first certificate")
/// follows X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT(_LOCALLY) for the same certificate only
/// because the recorder let OpenSSL go on: with no issuer found, the signature of the
/// certificate cannot be checked. With OpenSSL's default callback verification stops at the
/// first of the two, and the other engines report the missing issuer alone; keeping only that
/// one makes an exact ignore list mean the same on every backend. (Qt's OpenSSL backend, whose
/// callback also always continues, reports both.)
fn is_consequence(list: &[SslError], error: &SslError) -> bool {
    error.kind == SslErrorKind::UnableToVerifyFirstCertificate
        && list.iter().any(|earlier| {
            matches!(
                earlier.kind,
                SslErrorKind::UnableToGetLocalIssuerCertificate
                    | SslErrorKind::UnableToGetIssuerCertificate
            ) && earlier.certificate == error.certificate
        })
}

/// The name a client checks the server's certificate against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PeerName {
    /// A DNS name: sent as SNI and matched against DNS SANs.
    Dns(String),
    /// An IP address: not sent; matched against IP SANs.
    Ip(IpAddr),
}

impl PeerName {
    /// Parses `name` as an IP address or a DNS name (letters, digits, `-` and `_` in labels of
    /// 1 to 63 characters, at most 253 characters, one trailing dot allowed).
    ///
    /// # Errors
    /// [`ConfigError::InvalidPeerName`] for anything else.
    pub(crate) fn parse(name: &str) -> Result<PeerName, ConfigError> {
        if let Ok(ip) = name.parse::<IpAddr>() {
            return Ok(PeerName::Ip(ip));
        }
        let bare = name.strip_suffix('.').unwrap_or(name);
        let valid_label = |label: &str| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if bare.is_empty() || bare.len() > 253 || !bare.split('.').all(valid_label) {
            return Err(ConfigError::InvalidPeerName(name.to_owned()));
        }
        Ok(PeerName::Dns(name.to_owned()))
    }
}

/// Builds the trust store from `cas` (`X509StoreBuilder::add_cert`). A certificate OpenSSL
/// cannot read is skipped, as the rustls backend does: dropping an anchor only narrows trust
/// (fails closed), and one odd certificate in a system store must not break every context.
///
/// # Errors
/// [`ConfigError::Engine`] when OpenSSL cannot create the store.
pub(crate) fn trust_store(cas: &[SslCertificate]) -> Result<X509Store, ConfigError> {
    Ok(trust_store_builder(cas)?.build())
}

/// [`trust_store`] before `build`, for callers that set more on it.
fn trust_store_builder(cas: &[SslCertificate]) -> Result<X509StoreBuilder, ConfigError> {
    let mut store = X509StoreBuilder::new().map_err(|e| engine_error(&e))?;
    for ca in cas {
        if let Ok(cert) = X509::from_der(ca.to_der()) {
            // Fails only for a duplicate on old OpenSSL versions: nothing is lost then.
            let _ = store.add_cert(cert);
        }
    }
    Ok(store)
}

/// [`SslBackend::verify_chain`](ssl_api::SslBackend::verify_chain) on OpenSSL's
/// `X509_verify_cert`: a store of exactly `request.trust` ([`trust_store`]) whose
/// `X509VerifyParam` carries the time (`set_time`), the purpose (`set_purpose`, which also
/// picks the trust setting as libssl's `ssl_server` / `ssl_client` do), the depth
/// (`set_depth`) and the name (`set_host` with `X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS`, as
/// sessions do, or `set_ip`); the rest of the chain is the untrusted stack of
/// `X509_STORE_CTX_init`.
///
/// The safe `openssl` crate has no way to install a verify callback on an `X509_STORE_CTX`
/// (sessions install theirs on the `SSL`), so OpenSSL stops at the first error here and this
/// reports that one error (`X509StoreContextRef::error`, at `current_cert`). A name OpenSSL
/// refuses to check (`X509_VERIFY_PARAM_set1_host` fails, e.g. for an embedded NUL) is
/// reported as `HostNameMismatch`, and an internal failure of `X509_verify_cert` as
/// `UnspecifiedError`: never as trusted.
///
/// # Errors
/// [`ConfigError::Engine`] when OpenSSL cannot allocate the objects.
pub(crate) fn verify_request(request: &VerifyRequest<'_>) -> Result<Vec<SslError>, ConfigError> {
    let e = |err: ErrorStack| engine_error(&err);
    let Some((leaf, intermediates)) = request.chain.split_first() else {
        return Ok(vec![SslError::new(SslErrorKind::NoPeerCertificate, None)]);
    };
    let unspecified = || vec![SslError::new(SslErrorKind::UnspecifiedError, Some(leaf.clone()))];
    let Ok(leaf_x509) = X509::from_der(leaf.to_der()) else { return Ok(unspecified()) };
    let mut untrusted = Stack::new().map_err(e)?;
    for cert in intermediates {
        if let Ok(x509) = X509::from_der(cert.to_der()) {
            untrusted.push(x509).map_err(e)?;
        }
    }

    let mut param = X509VerifyParam::new().map_err(e)?;
    // `time_t` is 64 bits here but 32 on some platforms: hence the conversion.
    #[allow(clippy::useless_conversion)]
    let at = unix_seconds(request.at).try_into().unwrap_or_default();
    param.set_time(at);
    param
        .set_purpose(match request.purpose {
            Purpose::ServerAuth => X509PurposeId::SSL_SERVER,
            Purpose::ClientAuth => X509PurposeId::SSL_CLIENT,
        })
        .map_err(e)?;
    if let Some(max) = request.max_intermediates {
        param.set_depth(i32::try_from(max).unwrap_or(i32::MAX));
    }
    let mut name_refused = false;
    if let Some(host) = request.host {
        match host.parse::<IpAddr>() {
            Ok(ip) => param.set_ip(ip).map_err(e)?,
            Err(_) => {
                param.set_hostflags(X509CheckFlags::NO_PARTIAL_WILDCARDS);
                name_refused = param.set_host(host).is_err();
            }
        }
    }
    let mut store = trust_store_builder(request.trust)?;
    store.set_param(&param).map_err(e)?;
    let store = store.build();

    let mut context = X509StoreContext::new().map_err(e)?;
    let outcome = context.init(&store, &leaf_x509, &untrusted, |ctx| {
        let trusted = ctx.verify_cert()?;
        let certificate = ctx
            .current_cert()
            .and_then(|cert| cert.to_der().ok())
            .and_then(|der| SslCertificate::from_der(&der).ok());
        Ok((trusted, ctx.error().as_raw(), certificate))
    });
    let mut errors = match outcome {
        Ok((true, _, _)) => Vec::new(),
        Ok((false, code, certificate)) => {
            let kind = verify_error_kind(code);
            // `X509_V_OK` with a failed verification: OpenSSL said no without saying why.
            let kind = if code == 0 { SslErrorKind::UnspecifiedError } else { kind };
            vec![SslError::new(kind, certificate.or_else(|| Some(leaf.clone())))]
        }
        Err(_) => unspecified(),
    };
    if name_refused {
        errors.push(SslError::new(SslErrorKind::HostNameMismatch, Some(leaf.clone())));
    }
    Ok(errors)
}

/// Seconds since 1970 (negative before).
fn unix_seconds(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn peer_names_are_dns_names_or_ip_addresses() {
        assert_eq!(PeerName::parse("127.0.0.1").unwrap(), PeerName::Ip([127, 0, 0, 1].into()));
        assert!(matches!(PeerName::parse("::1").unwrap(), PeerName::Ip(_)));
        assert!(matches!(PeerName::parse("example.com.").unwrap(), PeerName::Dns(_)));
        assert!(matches!(PeerName::parse("_srv.my-host.example").unwrap(), PeerName::Dns(_)));
        for bad in ["", "not a host name", "-x.example", "a..b", "*.example.com", "."] {
            assert!(PeerName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
