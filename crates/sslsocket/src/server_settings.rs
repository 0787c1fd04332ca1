//! What `SslServer` and `AsyncSslServer` both carry: the settings given to every accepted
//! socket, and the setters over them (one macro, as `forward.rs` does for sockets).

use std::sync::Arc;
use std::time::Duration;

use ssl_api::{SslBackend, SslConfiguration};

/// A function run on every accepted socket before its handshake.
pub(crate) type Setup<S> = Arc<dyn Fn(&mut S) + Send + Sync>;

/// A server's settings. Cloned cheaply (everything is shared) into the acceptor when the
/// server starts listening; the configuration is shared with every accepted connection.
pub(crate) struct ServerSettings<S> {
    pub(crate) backend: Arc<dyn SslBackend>,
    pub(crate) config: Arc<SslConfiguration>,
    pub(crate) handshake_timeout: Duration,
    pub(crate) max_pending: usize,
    pub(crate) setup: Option<Setup<S>>,
    pub(crate) options: crate::SocketOptions,
}

impl<S> ServerSettings<S> {
    /// The defaults: the default configuration, a 10 s handshake timeout, `max_pending`.
    pub(crate) fn new(backend: Arc<dyn SslBackend>, max_pending: usize) -> ServerSettings<S> {
        ServerSettings {
            backend,
            config: Arc::new(SslConfiguration::default_configuration()),
            handshake_timeout: Duration::from_secs(10),
            max_pending,
            setup: None,
            options: crate::SocketOptions::default(),
        }
    }
}

impl<S> Clone for ServerSettings<S> {
    fn clone(&self) -> ServerSettings<S> {
        ServerSettings {
            backend: self.backend.clone(),
            config: self.config.clone(),
            handshake_timeout: self.handshake_timeout,
            max_pending: self.max_pending,
            setup: self.setup.clone(),
            options: self.options.clone(),
        }
    }
}

/// The constructors and setters of a server type with a `settings: ServerSettings<$socket>`
/// field and a `with_backend_handle` constructor; `$start` names the call that applies them
/// (`listen`, `bind`), `$pending` the documentation of the pending bound (its default and
/// what happens when it is reached).
macro_rules! server_settings_api {
    ($socket:ty, $start:literal, $pending:literal) => {
        /// A server on the process's active backend with the default configuration.
        ///
        /// # Errors
        /// When no backend is usable.
        pub fn new() -> Result<Self, ssl_api::Error> {
            Ok(Self::with_backend_handle(crate::active_backend()?))
        }

        /// A server on the compiled-in backend called `name`.
        ///
        /// # Errors
        /// When no usable backend of that name is compiled in.
        pub fn with_backend(name: &str) -> Result<Self, ssl_api::Error> {
            Ok(Self::with_backend_handle(crate::registry::backend(name)?))
        }

        /// The configuration given to every accepted socket.
        #[must_use]
        pub fn ssl_configuration(&self) -> &ssl_api::SslConfiguration {
            &self.settings.config
        }

        #[doc = concat!("Sets the configuration; takes effect at the next `", $start, "`.")]
        pub fn set_ssl_configuration(&mut self, config: ssl_api::SslConfiguration) {
            self.settings.config = std::sync::Arc::new(config);
        }

        #[doc = concat!(
            "How long a client may take to complete its handshake (default 10 s); takes effect ",
            "at the next `", $start, "`."
        )]
        pub fn set_handshake_timeout(&mut self, timeout: std::time::Duration) {
            self.settings.handshake_timeout = timeout;
        }

        #[doc = concat!($pending, " Takes effect at the next `", $start, "`.")]
        pub fn set_max_pending_handshakes(&mut self, max: usize) {
            self.settings.max_pending = max.max(1);
        }

        #[doc = concat!(
            "A function run on every accepted socket before its handshake: an event handler, ",
            "ignore lists, a pause mode or certificate decider… Takes effect at the next `",
            $start, "`."
        )]
        pub fn set_socket_setup(&mut self, setup: impl Fn(&mut $socket) + Send + Sync + 'static) {
            self.settings.setup = Some(std::sync::Arc::new(setup));
        }

        #[doc = concat!(
            "The socket options applied to every accepted socket before its handshake ",
            "(LowDelay on unless set to 0, as on every socket). Takes effect at the next `",
            $start, "`."
        )]
        pub fn set_socket_options(&mut self, options: $crate::SocketOptions) {
            self.settings.options = options;
        }

        /// The socket options applied to every accepted socket.
        #[must_use]
        pub fn socket_options(&self) -> &$crate::SocketOptions {
            &self.settings.options
        }
    };
}

pub(crate) use server_settings_api;
