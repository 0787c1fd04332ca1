//! Configuration and the certificate-error policy: the socket API's setters, defined once
//! here (the sockets forward to them). Configuration changes take effect at the next
//! handshake: one in progress keeps what it started with (mode, depth, CA list, peer verify
//! name). The ignore settings are the exception: given during a handshake, they apply to it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ssl_api::{
    ConfigError, EncodingFormat, PatternSyntax, PauseMode, PeerVerifyMode, SslCertificate,
    SslCipher, SslConfiguration, SslError, SslErrorKind, SslKey, SslProtocol,
};

use super::{Connection, Phase};

impl Connection {
    /// Replaces the configuration. Takes effect at the next handshake.
    pub fn set_ssl_configuration(&mut self, config: SslConfiguration) {
        self.set_shared_ssl_configuration(Arc::new(config));
    }

    /// Replaces the configuration with one shared with other connections (a server gives
    /// each accepted connection its own, this way without a copy). Changes made later through
    /// this connection copy it first. Takes effect at the next handshake.
    pub fn set_shared_ssl_configuration(&mut self, config: Arc<SslConfiguration>) {
        self.config = config;
    }

    /// Changes the configuration in place. Takes effect at the next handshake.
    pub fn update_configuration(&mut self, change: impl FnOnce(&mut SslConfiguration)) {
        change(Arc::make_mut(&mut self.config));
    }

    /// Sets the name to verify the peer's certificate against and to send as SNI, instead of
    /// the host connected to. For the next handshake: one already started keeps its name.
    pub fn set_peer_verify_name(&mut self, name: impl Into<String>) {
        self.peer_verify_name = Some(name.into());
    }

    /// Sets the pause mode.
    pub fn set_pause_mode(&mut self, mode: PauseMode) {
        self.pause_mode = mode;
    }

    /// Bounds the plaintext read buffer; 0 is unlimited (the default). While the buffer is
    /// full the transport is not read, so a flood cannot grow memory.
    pub fn set_read_buffer_size(&mut self, size: usize) {
        let was_full = self.read_buffer_full();
        self.read_buffer_size = size;
        if was_full && !self.read_buffer_full() {
            // Records the engine already holds can be decrypted now: ask it (no transport
            // byte may ever come to prompt it).
            self.refresh_plaintext();
        }
        self.dry = false;
    }

    /// Bounds how many application bytes [`Connection::write`] takes before it returns less
    /// than asked (back-pressure). Default 256 KiB; at least 1.
    pub fn set_write_buffer_limit(&mut self, limit: usize) {
        self.write_buffer_limit = limit.max(1);
    }

    /// Sets the time a handshake may take from `start_*_encryption`; `None` (the default) is
    /// no limit.
    pub fn set_handshake_timeout(&mut self, timeout: Option<Duration>) {
        self.handshake_timeout = timeout;
    }

    /// Sets how long a graceful close waits, after close_notify, for the peer's close_notify or
    /// end of stream before the transport is closed anyway; `None` waits as long as the peer
    /// keeps the connection open. Default 30 s.
    pub fn set_disconnect_timeout(&mut self, timeout: Option<Duration>) {
        self.disconnect_timeout = timeout;
    }

    /// Ignores every certificate error of one handshake (`ignoreSslErrors()`): the one in
    /// progress when called during it (from the `SslErrors` handler, before `resume()`),
    /// else the next one. The handshake spends it when it ends, accepted or not: a later
    /// connection needs a new ignore (Qt resets it at each connection attempt).
    pub fn ignore_ssl_errors(&mut self) {
        self.ignore.all();
        self.dry = false;
    }

    /// Ignores exactly these errors (same kind and certificate) in one handshake, as
    /// [`Connection::ignore_ssl_errors`] says which. Replaces an earlier list; an empty list
    /// clears the list, and only the list: an earlier `ignore_ssl_errors()` still holds (two
    /// separate settings, as in Qt).
    pub fn ignore_ssl_errors_list(&mut self, errors: Vec<SslError>) {
        self.ignore.exactly(errors);
        self.dry = false;
    }

    /// Ignores errors of these kinds whichever certificate they concern, in one handshake as
    /// [`Connection::ignore_ssl_errors`] says which. Replaces an earlier list of kinds; an
    /// empty one clears that list only.
    pub fn ignore_ssl_error_kinds(&mut self, kinds: Vec<SslErrorKind>) {
        self.ignore.kinds(kinds);
        self.dry = false;
    }

    /// Forgets every ignore setting: an async decider's answer replaces them all (its
    /// `Reject` must reject even after an earlier `ignore_ssl_errors()`).
    pub(crate) fn clear_ignores(&mut self) {
        self.ignore = super::policy::Ignore::default();
        self.dry = false;
    }

    /// Continues after a pause on `SslErrors`: takes the decision with the ignore settings as
    /// they are now.
    pub fn resume(&mut self) {
        if let Phase::Deciding { paused: paused @ true, .. } = &mut self.phase {
            *paused = false;
            self.dry = false;
            self.decide();
        }
    }

    /// Whether the connection waits for the application's decision on its certificate errors
    /// (`PauseOnSslErrors`; see [`Connection::resume`]).
    #[must_use]
    pub fn is_paused(&self) -> bool {
        matches!(self.phase, Phase::Deciding { paused: true, .. })
    }

    /// Sets the allowed protocol versions.
    pub fn set_protocol(&mut self, protocol: SslProtocol) {
        self.update_configuration(|c| c.protocol = protocol);
    }

    /// Sets how the peer is verified. Has no effect on a handshake already started.
    pub fn set_peer_verify_mode(&mut self, mode: PeerVerifyMode) {
        self.update_configuration(|c| c.peer_verify_mode = mode);
    }

    /// Sets the maximum verified path length (leaf included, anchor not); 0 = no limit.
    pub fn set_peer_verify_depth(&mut self, depth: u32) {
        self.update_configuration(|c| c.peer_verify_depth = depth);
    }

    /// Adds one trusted CA certificate.
    pub fn add_ca_certificate(&mut self, cert: SslCertificate) {
        self.update_configuration(|c| c.ca_certificates.push(cert));
    }

    /// Adds trusted CA certificates.
    pub fn add_ca_certificates(&mut self, certs: impl IntoIterator<Item = SslCertificate>) {
        self.update_configuration(|c| c.ca_certificates.extend(certs));
    }

    /// Adds the certificates of every file `pattern` names as trusted CAs
    /// (`QSslSocket::addCaCertificates(path, format, syntax)`; see `SslCertificate::from_path`).
    /// Returns false, and adds nothing, when no certificate was loaded (no file matched, none
    /// parsed, or the pattern is invalid).
    pub fn add_ca_certificates_from_path(
        &mut self,
        pattern: impl AsRef<Path>,
        format: EncodingFormat,
        syntax: PatternSyntax,
    ) -> bool {
        match SslCertificate::from_path(pattern, format, syntax) {
            Ok(certs) if !certs.is_empty() => {
                self.update_configuration(|c| c.ca_certificates.extend(certs));
                true
            }
            _ => false,
        }
    }

    /// Whether the platform's trust store is used besides the given CAs (default true).
    pub fn set_system_ca_certificates(&mut self, enabled: bool) {
        self.update_configuration(|c| c.system_ca_certificates = enabled);
    }

    /// Sets the local certificate followed by its chain.
    ///
    /// # Errors
    /// `ConfigError::KeyMismatch` when a private key is already set and does not belong to the
    /// new leaf (`SslConfiguration::validate`); the configuration is unchanged then. To
    /// replace both, set the key first on a configuration without a chain, or use
    /// `set_ssl_configuration`.
    pub fn set_local_certificate_chain(
        &mut self,
        chain: Vec<SslCertificate>,
    ) -> Result<(), ConfigError> {
        let mut config = self.ssl_configuration().clone();
        config.local_certificate_chain = chain;
        config.validate()?;
        self.set_ssl_configuration(config);
        Ok(())
    }

    /// Sets the local certificate alone, with no chain (`setLocalCertificate`); as
    /// [`Connection::set_local_certificate_chain`] with one certificate.
    ///
    /// # Errors
    /// As [`Connection::set_local_certificate_chain`].
    pub fn set_local_certificate(
        &mut self,
        certificate: SslCertificate,
    ) -> Result<(), ConfigError> {
        self.set_local_certificate_chain(vec![certificate])
    }

    /// The protocol range the next handshake offers (`protocol()`).
    #[must_use]
    pub fn protocol(&self) -> SslProtocol {
        self.ssl_configuration().protocol
    }

    /// How the peer is verified at the next handshake (`peerVerifyMode()`).
    #[must_use]
    pub fn peer_verify_mode(&self) -> PeerVerifyMode {
        self.ssl_configuration().peer_verify_mode
    }

    /// The maximum verified path length (`peerVerifyDepth()`; 0 = no limit).
    #[must_use]
    pub fn peer_verify_depth(&self) -> u32 {
        self.ssl_configuration().peer_verify_depth
    }

    /// The local certificate (`localCertificate()`): the first of the chain.
    #[must_use]
    pub fn local_certificate(&self) -> Option<&SslCertificate> {
        self.ssl_configuration().local_certificate()
    }

    /// The local certificate and its chain (`localCertificateChain()`).
    #[must_use]
    pub fn local_certificate_chain(&self) -> &[SslCertificate] {
        &self.ssl_configuration().local_certificate_chain
    }

    /// The private key of the local certificate (`privateKey()`).
    #[must_use]
    pub fn private_key(&self) -> Option<&SslKey> {
        self.ssl_configuration().private_key.as_ref()
    }

    /// Sets the private key of the local certificate.
    ///
    /// # Errors
    /// `ConfigError::KeyMismatch` when a local certificate is set and the key does not belong
    /// to it, `ConfigError::Certificate` for a public key (`SslConfiguration::validate`); the
    /// configuration is unchanged then.
    pub fn set_private_key(&mut self, key: SslKey) -> Result<(), ConfigError> {
        let mut config = self.ssl_configuration().clone();
        config.private_key = Some(key);
        config.validate()?;
        self.set_ssl_configuration(config);
        Ok(())
    }

    /// Restricts the cipher suites (empty = the engine's default).
    pub fn set_ciphers(&mut self, ciphers: Vec<SslCipher>) {
        self.update_configuration(|c| c.ciphers = ciphers);
    }

    /// Sets the ALPN protocols to offer or accept, most preferred first.
    pub fn set_alpn_protocols(&mut self, protocols: Vec<Vec<u8>>) {
        self.update_configuration(|c| c.alpn_protocols = protocols);
    }
}
