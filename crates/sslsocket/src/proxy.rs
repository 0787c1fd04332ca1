//! The application proxy (`QNetworkProxy::setApplicationProxy`): what a socket whose proxy is
//! `DefaultProxy` (every socket's, unless set) connects through. NoProxy unless set; the
//! library never reads the environment on its own (see [`NetworkProxy::from_env`]).

use std::sync::{PoisonError, RwLock};

use ssl_api::{NetworkProxy, ProxyType};

use crate::conn::Connection;

static APPLICATION_PROXY: RwLock<Option<NetworkProxy>> = RwLock::new(None);

/// Sets the proxy of every socket whose proxy is `DefaultProxy`, for its next connect.
/// `DefaultProxy` itself (or NoProxy) means direct connections.
pub fn set_application_proxy(proxy: NetworkProxy) {
    *APPLICATION_PROXY.write().unwrap_or_else(PoisonError::into_inner) = Some(proxy);
}

/// The application proxy (NoProxy unless set).
#[must_use]
pub fn application_proxy() -> NetworkProxy {
    APPLICATION_PROXY
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .unwrap_or_else(NetworkProxy::no_proxy)
}

/// The drivers' part of a connect: the target's port, and the proxy the connect goes
/// through, `DefaultProxy` resolved to the application proxy.
pub(crate) fn route(conn: &mut Connection, port: u16) {
    conn.set_peer_port(port);
    let proxy = match conn.proxy().kind() {
        ProxyType::DefaultProxy => application_proxy(),
        _ => conn.proxy().clone(),
    };
    conn.set_connect_proxy(Some(proxy));
}
