//! The getters and setters every driver exposes, forwarded to its `Connection`: written once
//! here so the blocking and async sockets cannot drift apart.

/// Generates forwarding methods on a driver type whose field `conn` is a `Connection`.
macro_rules! forward_connection_api {
    () => {
        /// The socket state.
        #[must_use]
        pub fn state(&self) -> ssl_api::SocketState {
            self.conn.state()
        }

        /// The encryption mode.
        #[must_use]
        pub fn mode(&self) -> ssl_api::SslMode {
            self.conn.mode()
        }

        /// Whether the handshake finished and the peer was accepted.
        #[must_use]
        pub fn is_encrypted(&self) -> bool {
            self.conn.is_encrypted()
        }

        /// The last error, if any (sticky once fatal).
        #[must_use]
        pub fn error(&self) -> Option<&ssl_api::Error> {
            self.conn.error()
        }

        /// The last error's text with its causes, or an empty string.
        #[must_use]
        pub fn error_string(&self) -> String {
            self.conn.error_string()
        }

        /// Every certificate error of the last handshake, ignored ones included.
        #[must_use]
        pub fn ssl_handshake_errors(&self) -> &[ssl_api::SslError] {
            self.conn.ssl_handshake_errors()
        }

        /// The peer's certificate.
        #[must_use]
        pub fn peer_certificate(&self) -> Option<ssl_api::SslCertificate> {
            self.conn.peer_certificate()
        }

        /// The peer's chain as sent, leaf first.
        #[must_use]
        pub fn peer_certificate_chain(&self) -> Vec<ssl_api::SslCertificate> {
            self.conn.peer_certificate_chain()
        }

        /// The negotiated protocol, or `UnknownProtocol`.
        #[must_use]
        pub fn session_protocol(&self) -> ssl_api::SslProtocol {
            self.conn.session_protocol()
        }

        /// The negotiated cipher suite.
        #[must_use]
        pub fn session_cipher(&self) -> Option<ssl_api::SslCipher> {
            self.conn.session_cipher()
        }

        /// The negotiated ALPN protocol.
        #[must_use]
        pub fn alpn_protocol(&self) -> Option<Vec<u8>> {
            self.conn.alpn_protocol()
        }

        /// Plaintext bytes ready to read.
        #[must_use]
        pub fn bytes_available(&self) -> usize {
            self.conn.bytes_available()
        }

        /// Application bytes not yet handed to the engine (or the transport, unencrypted).
        #[must_use]
        pub fn bytes_to_write(&self) -> usize {
            self.conn.bytes_to_write()
        }

        /// Ciphertext held for the transport.
        #[must_use]
        pub fn encrypted_bytes_to_write(&self) -> usize {
            self.conn.encrypted_bytes_to_write()
        }

        /// Whether a whole line can be read (`&mut`: it may move decrypted bytes from the
        /// engine into the read buffer to find one).
        #[must_use]
        pub fn can_read_line(&mut self) -> bool {
            self.conn.can_read_line()
        }

        /// Whether nothing more can ever be read.
        #[must_use]
        pub fn at_end(&self) -> bool {
            self.conn.at_end()
        }

        /// Copies readable bytes without consuming them (`&mut`: it may move decrypted bytes
        /// from the engine into the read buffer).
        #[must_use]
        pub fn peek(&mut self, out: &mut [u8]) -> usize {
            self.conn.peek(out)
        }

        /// Takes every buffered byte.
        pub fn read_all(&mut self) -> Vec<u8> {
            self.conn.read_all()
        }

        /// Takes one buffered line, `\n` included, if a whole one is there.
        pub fn read_line(&mut self) -> Option<Vec<u8>> {
            self.conn.read_line()
        }

        /// Takes one buffered byte.
        pub fn get_char(&mut self) -> Option<u8> {
            self.conn.get_char()
        }

        /// Puts a byte back in front of the read buffer.
        pub fn unget_char(&mut self, byte: u8) {
            self.conn.unget_char(byte)
        }

        /// The configuration the next handshake uses.
        #[must_use]
        pub fn ssl_configuration(&self) -> &ssl_api::SslConfiguration {
            self.conn.ssl_configuration()
        }

        /// Replaces the configuration (takes effect at the next handshake).
        pub fn set_ssl_configuration(&mut self, config: ssl_api::SslConfiguration) {
            self.conn.set_ssl_configuration(config)
        }

        /// Sets the allowed protocol versions.
        pub fn set_protocol(&mut self, protocol: ssl_api::SslProtocol) {
            self.conn.update_configuration(|c| c.protocol = protocol)
        }

        /// Sets how the peer is verified.
        pub fn set_peer_verify_mode(&mut self, mode: ssl_api::PeerVerifyMode) {
            self.conn.update_configuration(|c| c.peer_verify_mode = mode)
        }

        /// Sets the maximum verified path length (leaf included, anchor not); 0 = no limit.
        pub fn set_peer_verify_depth(&mut self, depth: u32) {
            self.conn.update_configuration(|c| c.peer_verify_depth = depth)
        }

        /// Sets the name to verify the peer against and to send as SNI.
        pub fn set_peer_verify_name(&mut self, name: impl Into<String>) {
            self.conn.set_peer_verify_name(name)
        }

        /// Adds one trusted CA certificate.
        pub fn add_ca_certificate(&mut self, cert: ssl_api::SslCertificate) {
            self.conn.update_configuration(|c| c.ca_certificates.push(cert))
        }

        /// Adds trusted CA certificates.
        pub fn add_ca_certificates(
            &mut self,
            certs: impl IntoIterator<Item = ssl_api::SslCertificate>,
        ) {
            self.conn.update_configuration(|c| c.ca_certificates.extend(certs))
        }

        /// Adds the certificates of every file `pattern` names as trusted CAs
        /// (`QSslSocket::addCaCertificates(path, format, syntax)`; see
        /// `SslCertificate::from_path`). Returns false, and adds nothing, when no certificate
        /// was loaded (no file matched, none parsed, or the pattern is invalid).
        pub fn add_ca_certificates_from_path(
            &mut self,
            pattern: impl AsRef<std::path::Path>,
            format: ssl_api::EncodingFormat,
            syntax: ssl_api::PatternSyntax,
        ) -> bool {
            match ssl_api::SslCertificate::from_path(pattern, format, syntax) {
                Ok(certs) if !certs.is_empty() => {
                    self.conn.update_configuration(|c| c.ca_certificates.extend(certs));
                    true
                }
                _ => false,
            }
        }

        /// Whether the platform's trust store is used besides the given CAs (default true).
        pub fn set_system_ca_certificates(&mut self, enabled: bool) {
            self.conn.update_configuration(|c| c.system_ca_certificates = enabled)
        }

        /// Sets the local certificate followed by its chain.
        ///
        /// # Errors
        /// `ConfigError::KeyMismatch` when a private key is already set and does not belong
        /// to the new leaf (`SslConfiguration::validate`); the configuration is unchanged then.
        /// To replace both, set the key first on a configuration without a chain, or use
        /// `set_ssl_configuration`.
        pub fn set_local_certificate_chain(
            &mut self,
            chain: Vec<ssl_api::SslCertificate>,
        ) -> Result<(), ssl_api::ConfigError> {
            let mut config = self.conn.ssl_configuration().clone();
            config.local_certificate_chain = chain;
            config.validate()?;
            self.conn.set_ssl_configuration(config);
            Ok(())
        }

        /// Sets the private key of the local certificate.
        ///
        /// # Errors
        /// `ConfigError::KeyMismatch` when a local certificate is set and the key does not
        /// belong to it, `ConfigError::Certificate` for a public key
        /// (`SslConfiguration::validate`); the configuration is unchanged then.
        pub fn set_private_key(
            &mut self,
            key: ssl_api::SslKey,
        ) -> Result<(), ssl_api::ConfigError> {
            let mut config = self.conn.ssl_configuration().clone();
            config.private_key = Some(key);
            config.validate()?;
            self.conn.set_ssl_configuration(config);
            Ok(())
        }

        /// Restricts the cipher suites (empty = the engine's default).
        pub fn set_ciphers(&mut self, ciphers: Vec<ssl_api::SslCipher>) {
            self.conn.update_configuration(|c| c.ciphers = ciphers)
        }

        /// Sets the ALPN protocols to offer or accept, most preferred first.
        pub fn set_alpn_protocols(&mut self, protocols: Vec<Vec<u8>>) {
            self.conn.update_configuration(|c| c.alpn_protocols = protocols)
        }

        /// Ignores every certificate error.
        pub fn ignore_ssl_errors(&mut self) {
            self.conn.ignore_ssl_errors()
        }

        /// Ignores exactly these errors (kind and certificate); empty clears.
        pub fn ignore_ssl_errors_list(&mut self, errors: Vec<ssl_api::SslError>) {
            self.conn.ignore_ssl_errors_list(errors)
        }

        /// Ignores errors of these kinds for any certificate; empty clears.
        pub fn ignore_ssl_error_kinds(&mut self, kinds: Vec<ssl_api::SslErrorKind>) {
            self.conn.ignore_ssl_error_kinds(kinds)
        }

        /// Sets the pause mode.
        pub fn set_pause_mode(&mut self, mode: ssl_api::PauseMode) {
            self.conn.set_pause_mode(mode)
        }

        /// Bounds the read buffer (0 = unlimited).
        pub fn set_read_buffer_size(&mut self, size: usize) {
            self.conn.set_read_buffer_size(size)
        }

        /// Bounds the time a handshake may take (`None` = no limit).
        pub fn set_handshake_timeout(&mut self, timeout: Option<std::time::Duration>) {
            self.conn.set_handshake_timeout(timeout)
        }

        /// The sans-IO connection behind this socket.
        #[must_use]
        pub fn connection(&self) -> &$crate::conn::Connection {
            &self.conn
        }

        /// The sans-IO connection behind this socket, for anything not forwarded here.
        pub fn connection_mut(&mut self) -> &mut $crate::conn::Connection {
            &mut self.conn
        }
    };
}

pub(crate) use forward_connection_api;
