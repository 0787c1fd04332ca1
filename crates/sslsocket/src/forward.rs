//! The socket API the blocking and async sockets share, defined once on
//! [`Connection`](crate::conn::Connection): its getters are reached through `Deref`, and the
//! setters and buffer readers that take `&mut` are forwarded here, one line each, so that the
//! two sockets cannot drift apart and each method's contract is documented in one place.

/// Forwards `&mut self` methods to the `Connection` in the socket's field `conn`, each
/// documented as a link to the method it forwards to.
macro_rules! forward_to_connection {
    ($( fn $name:ident(&mut self $(, $arg:ident: $ty:ty)*) $(-> $ret:ty)?; )*) => {
        $(
            #[doc = concat!("[`Connection::", stringify!($name), "`](crate::conn::Connection::",
                stringify!($name), "), on this socket's connection.")]
            pub fn $name(&mut self $(, $arg: $ty)*) $(-> $ret)? {
                self.conn.$name($($arg),*)
            }
        )*
    };
}

/// Generates the shared `&mut` surface, `connection()` / `connection_mut()`, `Default`,
/// `Debug` and `Deref` to the connection on a driver type `$socket` whose field `conn` is a `Connection`.
macro_rules! forward_connection_api {
    ($socket:ty) => {
        impl $socket {
            $crate::forward::forward_to_connection! {
                fn can_read_line(&mut self) -> bool;
                fn peek(&mut self, out: &mut [u8]) -> usize;
                fn read_all(&mut self) -> Vec<u8>;
                fn read_line(&mut self) -> Option<Vec<u8>>;
                fn get_char(&mut self) -> Option<u8>;
                fn unget_char(&mut self, byte: u8);
                fn set_ssl_configuration(&mut self, config: ssl_api::SslConfiguration);
                fn set_protocol(&mut self, protocol: ssl_api::SslProtocol);
                fn set_peer_verify_mode(&mut self, mode: ssl_api::PeerVerifyMode);
                fn set_peer_verify_depth(&mut self, depth: u32);
                fn set_peer_verify_name(&mut self, name: impl Into<String>);
                fn add_ca_certificate(&mut self, cert: ssl_api::SslCertificate);
                fn add_ca_certificates(
                    &mut self,
                    certs: impl IntoIterator<Item = ssl_api::SslCertificate>
                );
                fn add_ca_certificates_from_path(
                    &mut self,
                    pattern: impl AsRef<std::path::Path>,
                    format: ssl_api::EncodingFormat,
                    syntax: ssl_api::PatternSyntax
                ) -> bool;
                fn set_system_ca_certificates(&mut self, enabled: bool);
                fn set_local_certificate_chain(
                    &mut self,
                    chain: Vec<ssl_api::SslCertificate>
                ) -> Result<(), ssl_api::ConfigError>;
                fn set_local_certificate(
                    &mut self,
                    certificate: ssl_api::SslCertificate
                ) -> Result<(), ssl_api::ConfigError>;
                fn set_private_key(
                    &mut self,
                    key: ssl_api::SslKey
                ) -> Result<(), ssl_api::ConfigError>;
                fn set_ciphers(&mut self, ciphers: Vec<ssl_api::SslCipher>);
                fn set_alpn_protocols(&mut self, protocols: Vec<Vec<u8>>);
                fn ignore_ssl_errors(&mut self);
                fn ignore_ssl_errors_list(&mut self, errors: Vec<ssl_api::SslError>);
                fn ignore_ssl_error_kinds(&mut self, kinds: Vec<ssl_api::SslErrorKind>);
                fn set_pause_mode(&mut self, mode: ssl_api::PauseMode);
                fn set_read_buffer_size(&mut self, size: usize);
                fn set_handshake_timeout(&mut self, timeout: Option<std::time::Duration>);
                fn set_disconnect_timeout(&mut self, timeout: Option<std::time::Duration>);
                fn set_proxy(&mut self, proxy: ssl_api::NetworkProxy);
                fn set_proxy_timeout(&mut self, timeout: Option<std::time::Duration>);
                fn set_proxy_authentication_handler(
                    &mut self,
                    handler: impl Fn(&ssl_api::NetworkProxy, &mut ssl_api::ProxyAuthenticator)
                        + Send
                        + Sync
                        + 'static
                );
            }

            /// Whether TLS is usable in this process: some compiled-in backend is usable, and
            /// the active one is (`supportsSsl`).
            #[must_use]
            pub fn supports_ssl() -> bool {
                $crate::active_backend().is_ok()
            }

            /// The active backend's engine version as it reports itself at run time
            /// (`sslLibraryVersionString`); empty when no backend is usable. Per backend:
            /// [`SslBackend::library_version_string`](ssl_api::SslBackend::library_version_string).
            #[must_use]
            pub fn ssl_library_version_string() -> String {
                $crate::active_backend().map(|b| b.library_version_string()).unwrap_or_default()
            }

            /// The active backend's run-time version number (`sslLibraryVersionNumber`); 0
            /// when no backend is usable.
            #[must_use]
            pub fn ssl_library_version_number() -> u64 {
                $crate::active_backend().map(|b| b.library_version_number()).unwrap_or(0)
            }

            /// The engine version the active backend was built against
            /// (`sslLibraryBuildVersionString`); empty when no backend is usable.
            #[must_use]
            pub fn ssl_library_build_version_string() -> String {
                $crate::active_backend()
                    .map(|b| b.library_build_version_string())
                    .unwrap_or_default()
            }

            /// The version number the active backend was built against
            /// (`sslLibraryBuildVersionNumber`); 0 when no backend is usable.
            #[must_use]
            pub fn ssl_library_build_version_number() -> u64 {
                $crate::active_backend().map(|b| b.library_build_version_number()).unwrap_or(0)
            }

            /// The sans-IO connection behind this socket (its getters are also reachable on
            /// the socket itself, through `Deref`).
            #[must_use]
            pub fn connection(&self) -> &$crate::conn::Connection {
                &self.conn
            }

            /// The sans-IO connection behind this socket, for anything not forwarded here.
            /// Driving it yourself (`handle_*`, `poll_*`, `pump`) takes it out of the socket's
            /// hands: the socket's own calls then see what you changed.
            pub fn connection_mut(&mut self) -> &mut $crate::conn::Connection {
                &mut self.conn
            }
        }

        /// A socket on the active backend (`new()`).
        impl Default for $socket {
            fn default() -> $socket {
                <$socket>::new()
            }
        }

        impl std::fmt::Debug for $socket {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($socket))
                    .field("backend", &self.conn.backend().name())
                    .field("state", &self.conn.state())
                    .field("mode", &self.conn.mode())
                    .field("encrypted", &self.conn.is_encrypted())
                    .finish_non_exhaustive()
            }
        }

        /// The connection's getters (state, mode, errors, counters, session facts, the
        /// configuration) on the socket: `socket.state()` is `socket.connection().state()`.
        impl std::ops::Deref for $socket {
            type Target = $crate::conn::Connection;

            fn deref(&self) -> &$crate::conn::Connection {
                &self.conn
            }
        }
    };
}

pub(crate) use {forward_connection_api, forward_to_connection};
