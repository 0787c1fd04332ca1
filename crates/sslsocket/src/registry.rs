//! Which backends are compiled in, which one is active, and the shared engine contexts
//! (ARCHITECTURE.md, decisions 3 and 6).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

use ssl_api::{
    ConfigError, Error, PeerVerifyMode, Role, SslBackend, SslCertificate, SslConfiguration,
    SslContext, SslMode,
};

use crate::conn::Connection;

/// The environment variable that picks the default backend by name.
pub const BACKEND_ENV: &str = "SSLSOCKET_BACKEND";

/// A compiled-in backend and whether it can be used.
#[derive(Debug, Clone)]
pub struct BackendInfo {
    /// The backend's name.
    pub name: &'static str,
    /// `None` when usable, else why not.
    pub unusable_reason: Option<String>,
}

/// Every compiled-in backend, in preference order (rustls, openssl, native).
#[must_use]
// One push per compiled-in backend, each behind its feature.
#[allow(unused_mut, clippy::vec_init_then_push)]
pub fn compiled_backends() -> Vec<Arc<dyn SslBackend>> {
    let mut list: Vec<Arc<dyn SslBackend>> = Vec::new();
    #[cfg(feature = "rustls")]
    list.push(Arc::new(backend_rustls::RustlsBackend));
    #[cfg(feature = "openssl")]
    list.push(Arc::new(backend_openssl::OpensslBackend));
    #[cfg(feature = "native")]
    list.push(Arc::new(backend_native::NativeBackend));
    list
}

/// The names of the compiled-in backends, each with why it is unusable, if it is.
#[must_use]
pub fn available_backends() -> Vec<BackendInfo> {
    compiled_backends()
        .iter()
        .map(|b| BackendInfo { name: b.name(), unusable_reason: b.availability().err() })
        .collect()
}

/// The compiled-in backend called `name`.
///
/// # Errors
/// `Error::Config(ConfigError::Engine)` naming the backends that exist, when none is called
/// `name` or it is unusable.
pub fn backend(name: &str) -> Result<Arc<dyn SslBackend>, Error> {
    let found = compiled_backends().into_iter().find(|b| b.name() == name);
    match found {
        Some(b) => match b.availability() {
            Ok(()) => Ok(b),
            Err(why) => Err(unknown(name, &format!("backend {name} is unusable: {why}"))),
        },
        None => {
            let names: Vec<&str> = compiled_backends().iter().map(|b| b.name()).collect();
            Err(unknown(
                name,
                &format!("no backend {name:?} is compiled in (have: {})", names.join(", ")),
            ))
        }
    }
}

fn unknown(_name: &str, message: &str) -> Error {
    Error::Config(ConfigError::Engine { backend: "sslsocket", message: message.to_owned() })
}

static ACTIVE: RwLock<Option<Arc<dyn SslBackend>>> = RwLock::new(None);

/// The backend new sockets use: the one set with [`set_active_backend`], else the one named by
/// `SSLSOCKET_BACKEND`, else the first usable compiled-in one of rustls, openssl, native.
///
/// # Errors
/// When `SSLSOCKET_BACKEND` names a backend that is not compiled in or unusable, or no backend
/// is compiled in.
pub fn active_backend() -> Result<Arc<dyn SslBackend>, Error> {
    if let Some(b) = ACTIVE.read().unwrap_or_else(PoisonError::into_inner).as_ref() {
        return Ok(b.clone());
    }
    if let Ok(name) = std::env::var(BACKEND_ENV) {
        if !name.is_empty() {
            return backend(&name);
        }
    }
    compiled_backends().into_iter().find(|b| b.availability().is_ok()).ok_or_else(|| {
        unknown(
            "",
            "no usable backend is compiled in (enable a feature: rustls, openssl or native)",
        )
    })
}

/// Makes `name` the process's active backend.
///
/// # Errors
/// When no usable backend of that name is compiled in.
pub fn set_active_backend(name: &str) -> Result<(), Error> {
    let b = backend(name)?;
    *ACTIVE.write().unwrap_or_else(PoisonError::into_inner) = Some(b);
    Ok(())
}

/// The contexts made for one configuration: per backend name and role.
type Contexts = Vec<(&'static str, Role, Arc<dyn SslContext>)>;

/// Contexts kept alive by the cache alone (none of whose sockets exist any more) beyond this
/// many are all dropped together.
const CACHE_SOFT_LIMIT: usize = 32;

/// Keyed by the configuration alone, so that a lookup borrows it (no copy per connection).
/// Hashed with FxHash (rustc-hash): every connection hashes its whole configuration (the DER
/// of every certificate and of the key) to find its context, and SipHash took 2.5k
/// instructions of each handshake for that. The keys are the application's configurations,
/// not a peer's input, so no flooding resistance is needed; equality still compares every
/// field.
/// The keys are shared with the sockets that use them ([`context_sharing`]).
type Cache = HashMap<Arc<SslConfiguration>, Contexts, rustc_hash::FxBuildHasher>;

fn cache() -> &'static Mutex<Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// The engine context for `conn`'s backend and configuration in `role` (see
/// [`context_for`]): what a driver hands to `Connection` to start a handshake.
///
/// # Errors
/// As [`context_for`].
pub fn context_of(conn: &Connection, role: Role) -> Result<Arc<dyn SslContext>, Error> {
    context_for(conn.backend(), conn.ssl_configuration(), role)
}

/// The engine context for `config` on `backend` in `role`: built once and shared, so equal
/// configurations share one engine configuration and session cache (resumption works from one
/// socket to the next). The cache holds contexts strongly; when it grows past a soft limit,
/// the contexts no socket uses any more are dropped.
/// The platform's trust store is added here when the configuration asks for it and verifies.
///
/// # Errors
/// The backend's [`ConfigError`] when it cannot carry out the configuration.
pub fn context_for(
    backend: &Arc<dyn SslBackend>,
    config: &SslConfiguration,
    role: Role,
) -> Result<Arc<dyn SslContext>, Error> {
    lookup(backend, config, None, role).map(|(ctx, _)| ctx)
}

/// [`context_of`] for the drivers: the connection also gives up its own copy of the
/// configuration for the cache's equal one, so that sockets configured alike (each with
/// `set_ssl_configuration`, as a client usually is) hold one configuration between them, not
/// one each (certificates and key included) for as long as they live.
pub(crate) fn context_sharing(
    conn: &mut Connection,
    role: Role,
) -> Result<Arc<dyn SslContext>, Error> {
    let own = conn.shared_ssl_configuration();
    let (ctx, shared) = lookup(conn.backend(), own, Some(own), role)?;
    if !Arc::ptr_eq(&shared, conn.shared_ssl_configuration()) {
        conn.set_shared_ssl_configuration(shared);
    }
    Ok(ctx)
}

/// The context of [`context_for`] and the cache's key for `config` (`owned` becomes the key
/// when `config` is new to the cache, else a copy of `config` does).
fn lookup(
    backend: &Arc<dyn SslBackend>,
    config: &SslConfiguration,
    owned: Option<&Arc<SslConfiguration>>,
    role: Role,
) -> Result<(Arc<dyn SslContext>, Arc<SslConfiguration>), Error> {
    let name = backend.name();
    let mut cache = cache().lock().unwrap_or_else(PoisonError::into_inner);
    let known = cache.get_key_value(config);
    let cached = known.and_then(|(key, contexts)| {
        contexts
            .iter()
            .find(|(n, r, _)| *n == name && *r == role)
            .map(|(_, _, ctx)| (ctx.clone(), key.clone()))
    });
    if let Some(found) = cached {
        return Ok(found);
    }
    let key = known.map(|(key, _)| key.clone());
    let mode = match role {
        Role::Client => SslMode::SslClientMode,
        Role::Server => SslMode::SslServerMode,
    };
    // The same bounds and key/certificate check on every backend, for configurations that
    // were not set through the validating setters (`set_ssl_configuration`, servers); before
    // the capabilities, so that an out-of-range value is reported as such on every backend.
    config.validate()?;
    check_capabilities(backend.as_ref(), config, mode)?;
    let ctx = if config.system_ca_certificates
        && config.peer_verify_mode.effective(mode) != PeerVerifyMode::VerifyNone
    {
        let mut resolved = config.clone();
        resolved.ca_certificates.extend(system_ca_certificates().iter().cloned());
        backend.new_context(&resolved, role)?
    } else {
        backend.new_context(config, role)?
    };
    if cache.values().map(Vec::len).sum::<usize>() >= CACHE_SOFT_LIMIT {
        cache.retain(|_, contexts| {
            contexts.retain(|(_, _, ctx)| Arc::strong_count(ctx) > 1);
            !contexts.is_empty()
        });
    }
    // The key may have gone with the contexts dropped just now.
    let key = key
        .filter(|key| cache.contains_key(&**key))
        .or_else(|| owned.cloned())
        .unwrap_or_else(|| Arc::new(config.clone()));
    cache.entry(key.clone()).or_default().push((name, role, ctx.clone()));
    Ok((ctx, key))
}

/// [`ssl_api::check_capabilities`] for a connection in `mode` (ARCHITECTURE.md, decision 2):
/// what every backend's `new_context` also runs first.
///
/// # Errors
/// [`ConfigError::Unsupported`] naming the backend and the missing feature.
pub fn check_capabilities(
    backend: &dyn SslBackend,
    config: &SslConfiguration,
    mode: SslMode,
) -> Result<(), ConfigError> {
    let role = if mode == SslMode::SslServerMode { Role::Server } else { Role::Client };
    ssl_api::check_capabilities(backend, config, role)
}

/// The platform's trust store (`QSslConfiguration::systemCaCertificates`), loaded once, on the
/// first call, honouring `SSL_CERT_FILE` and `SSL_CERT_DIR`. Certificates that do not parse
/// are skipped.
pub fn system_ca_certificates() -> &'static [SslCertificate] {
    static SYSTEM: OnceLock<Vec<SslCertificate>> = OnceLock::new();
    SYSTEM.get_or_init(|| {
        let loaded = rustls_native_certs::load_native_certs();
        loaded.certs.iter().filter_map(|der| SslCertificate::from_der(der.as_ref()).ok()).collect()
    })
}

#[cfg(all(test, feature = "rustls"))]
mod tests {
    use super::*;

    #[test]
    fn connections_configured_alike_share_the_cached_configuration() {
        let backend = backend("rustls").expect("rustls is compiled in");
        // A configuration of this test's own, so that no other test shares its cache entry.
        let config = SslConfiguration {
            alpn_protocols: vec![b"sslsocket-registry-sharing".to_vec()],
            ..SslConfiguration::default()
        };
        let mut a = Connection::new(backend.clone(), config.clone());
        let mut b = Connection::new(backend.clone(), config.clone());
        assert!(!Arc::ptr_eq(a.shared_ssl_configuration(), b.shared_ssl_configuration()));
        // The contexts are held, so that no lookup elsewhere drops the cache entry meanwhile.
        let ctx_a = context_sharing(&mut a, Role::Client).expect("a context");
        let ctx_b = context_sharing(&mut b, Role::Client).expect("a context");
        assert!(Arc::ptr_eq(&ctx_a, &ctx_b), "equal configurations share one context");
        assert!(
            Arc::ptr_eq(a.shared_ssl_configuration(), b.shared_ssl_configuration()),
            "equal configurations are held once"
        );
        // A change through one connection copies first: the other, and the cache, keep theirs.
        a.update_configuration(|c| c.peer_verify_depth = 3);
        assert_eq!(a.ssl_configuration().peer_verify_depth, 3);
        assert_eq!(b.ssl_configuration(), &config);
        let ctx_c = context_of(&b, Role::Client).expect("a context");
        assert!(Arc::ptr_eq(&ctx_b, &ctx_c), "the cached configuration was not changed");
    }
}
