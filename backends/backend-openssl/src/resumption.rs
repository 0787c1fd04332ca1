//! Client-side resumption: [`Resumption`], the bounded cache of the sessions one client
//! `SSL_CTX` was given, keyed by that context and the peer's name.
//!
//! - Filled by the context's new-session callback (`SSL_CTX_sess_set_new_cb`), which OpenSSL
//!   calls at the end of a TLS 1.2 handshake and for every TLS 1.3 ticket, which arrives after
//!   the handshake. The callback learns which peer the connection was for, and what its
//!   verification found, from the connection's ex data ([`Origin`]).
//! - Read by [`Resumption::prepare`], which offers the newest session stored for the peer in
//!   the next ClientHello (`SSL_set_session`, the one `unsafe` call of this crate). A TLS 1.3
//!   ticket is offered once (RFC 8446, appendix C.4); a TLS 1.2 session is offered until a
//!   newer one replaces it.
//! - A resumed handshake runs no verify callback: the session reports the verification errors
//!   of the connection that made the session it resumes (kept with it), so that the socket
//!   decides about a resumed session as it decided about the original one.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use openssl::error::ErrorStack;
use openssl::ex_data::Index;
use openssl::ssl::{
    Ssl, SslContextBuilder, SslContextRef, SslRef, SslSession, SslSessionCacheMode, SslVersion,
};
use ssl_api::SslError;

use crate::verify::Recorder;

/// Peers whose sessions a client context keeps; storing a session for one more drops the
/// sessions of the peer stored least recently.
const MAX_PEERS: usize = 256;

/// Sessions kept per peer (a TLS 1.3 server sends several tickets); the oldest goes first.
const SESSIONS_PER_PEER: usize = 4;

/// The client session cache of one `SSL_CTX` (see the module docs). Made by
/// [`Resumption::install`] on the builder of that context, and used only with connections of
/// it.
#[derive(Clone)]
pub(crate) struct Resumption {
    cache: Arc<Mutex<Cache>>,
    index: Index<Ssl, Origin>,
}

impl Resumption {
    /// Turns on client session caching on `builder` with sessions stored here only
    /// (`SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE`) and installs the
    /// new-session callback that stores them.
    ///
    /// # Errors
    /// When libssl cannot allocate the ex data index ([`Ssl::new_ex_index`]).
    pub(crate) fn install(builder: &mut SslContextBuilder) -> Result<Resumption, ErrorStack> {
        let resumption = Resumption { cache: Arc::default(), index: origin_index()? };
        builder.set_session_cache_mode(
            SslSessionCacheMode::CLIENT | SslSessionCacheMode::NO_INTERNAL_STORE,
        );
        let Resumption { cache, index } = resumption.clone();
        builder.set_new_session_callback(move |ssl, session| {
            let Some(origin) = ssl.ex_data(index) else { return };
            // A resumed handshake ran no verify callback: its tickets carry the verdict of
            // the session it resumed.
            let errors = if ssl.session_reused() {
                origin.inherited.clone()
            } else {
                origin.recorder.as_ref().and_then(Recorder::snapshot)
            };
            let stored = Stored { context: address(ssl.ssl_context()), session, errors };
            lock(&cache).store(&origin.peer, stored);
        });
        Ok(resumption)
    }

    /// Prepares the client connection `ssl` to `peer`: records what the new-session callback
    /// needs in its ex data, and offers the newest session stored for `peer` that a connection
    /// of `ssl`'s own `SSL_CTX` made (`SSL_set_session`). Returns the verification errors
    /// kept with the offered session: what the connection reports if the server resumes it.
    ///
    /// # Errors
    /// When libssl refuses the session (`SSL_set_session`).
    pub(crate) fn prepare(
        &self,
        ssl: &mut SslRef,
        peer: &str,
        recorder: Option<Recorder>,
    ) -> Result<Option<Vec<SslError>>, ErrorStack> {
        let context = address(ssl.ssl_context());
        let offered = lock(&self.cache).take(peer, context);
        let inherited = offered.as_ref().and_then(|stored| stored.errors.clone());
        ssl.set_ex_data(
            self.index,
            Origin { peer: peer.to_owned(), recorder, inherited: inherited.clone() },
        );
        if let Some(stored) = offered {
            offer(ssl, &stored)?;
        }
        Ok(inherited)
    }
}

impl fmt::Debug for Resumption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cache = lock(&self.cache);
        f.debug_struct("Resumption").field("peers", &cache.by_peer.len()).finish_non_exhaustive()
    }
}

/// `SSL_set_session`: offers `stored`'s session in `ssl`'s ClientHello.
#[expect(
    unsafe_code,
    reason = "issue 18: `SslRef::set_session` is unsafe in the openssl crate, and client-side \
              resumption needs it; the one unsafe block of backend-openssl"
)]
fn offer(ssl: &mut SslRef, stored: &Stored) -> Result<(), ErrorStack> {
    debug_assert_eq!(stored.context, address(ssl.ssl_context()));
    // SAFETY: `SslRef::set_session` requires that the session was produced by a connection of
    // the same `SslContext` (`SSL_CTX`) as `ssl`. It was: sessions enter a cache only through
    // the new-session callback installed on that one context's builder
    // (`Resumption::install`), so every session in it comes from a connection of that context
    // - the registry builds one context per configuration and role, and each context has its
    // own cache. `Cache::take` also hands out only sessions whose connection's `SSL_CTX` (the
    // address recorded by the callback) is `ssl`'s; the cache lives no longer than the
    // context (the context's callback and the `OpensslContext` own it), so that address
    // cannot be another context's.
    unsafe { ssl.set_session(&stored.session) }
}

/// The ex data index of [`Origin`] on client connections: a process-wide slot number that
/// OpenSSL never frees, so it is allocated once (as the openssl crate does for its own
/// callbacks); it holds no state.
fn origin_index() -> Result<Index<Ssl, Origin>, ErrorStack> {
    static INDEX: OnceLock<Index<Ssl, Origin>> = OnceLock::new();
    if let Some(index) = INDEX.get() {
        return Ok(*index);
    }
    let index = Ssl::new_ex_index()?;
    Ok(*INDEX.get_or_init(|| index))
}

/// Identifies an `SSL_CTX` by its address (only compared, never dereferenced).
fn address(context: &SslContextRef) -> usize {
    std::ptr::from_ref(context).addr()
}

fn lock(cache: &Mutex<Cache>) -> std::sync::MutexGuard<'_, Cache> {
    cache.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the new-session callback needs to know about a client connection (its ex data).
struct Origin {
    /// The name the session was started for: the cache key.
    peer: String,
    /// The connection's verify record (`None` under `VerifyNone`).
    recorder: Option<Recorder>,
    /// The errors kept with the session it offered.
    inherited: Option<Vec<SslError>>,
}

/// A session the context may offer again.
struct Stored {
    /// The `SSL_CTX` of the connection that made it ([`address`]).
    context: usize,
    session: SslSession,
    /// What that connection's verification found (its own, or the session it resumed).
    errors: Option<Vec<SslError>>,
}

/// The sessions of one context, by peer name, newest last; peers in the order of their last
/// store.
#[derive(Default)]
struct Cache {
    by_peer: HashMap<String, VecDeque<Stored>>,
    order: VecDeque<String>,
}

impl Cache {
    fn store(&mut self, peer: &str, stored: Stored) {
        if let Some(position) = self.order.iter().position(|p| p == peer) {
            self.order.remove(position);
        } else if self.order.len() >= MAX_PEERS {
            if let Some(oldest) = self.order.pop_front() {
                self.by_peer.remove(&oldest);
            }
        }
        self.order.push_back(peer.to_owned());
        let sessions = self.by_peer.entry(peer.to_owned()).or_default();
        if sessions.len() >= SESSIONS_PER_PEER {
            sessions.pop_front();
        }
        sessions.push_back(stored);
    }

    /// The newest session for `peer` made by a connection of the context at `context`: a TLS
    /// 1.3 ticket is removed (used once), a TLS 1.2 session is copied (kept).
    fn take(&mut self, peer: &str, context: usize) -> Option<Stored> {
        let sessions = self.by_peer.get_mut(peer)?;
        let position = sessions.iter().rposition(|s| s.context == context)?;
        let is_ticket = sessions[position].session.protocol_version() == SslVersion::TLS1_3;
        if is_ticket {
            return sessions.remove(position);
        }
        let stored = &sessions[position];
        Some(Stored {
            context: stored.context,
            session: stored.session.clone(),
            errors: stored.errors.clone(),
        })
    }
}
