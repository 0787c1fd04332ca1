//! A stand-in backend for when none is usable: every context request fails with the reason,
//! so `SslSocket::new()` never panics and the failure surfaces at the first connection.

use std::sync::Arc;

use ssl_api::{
    ConfigError, Error, FeatureSet, Role, SslBackend, SslCipher, SslConfiguration, SslContext,
    SslProtocol,
};

#[derive(Debug)]
pub(crate) struct Unavailable {
    pub(crate) reason: String,
}

impl SslBackend for Unavailable {
    fn name(&self) -> &'static str {
        "unavailable"
    }

    fn availability(&self) -> Result<(), String> {
        Err(self.reason.clone())
    }

    fn library_version_string(&self) -> String {
        String::new()
    }

    fn library_build_version_string(&self) -> String {
        String::new()
    }

    fn library_version_number(&self) -> u64 {
        0
    }

    fn supported_protocols(&self) -> Vec<SslProtocol> {
        Vec::new()
    }

    fn supported_ciphers(&self) -> Vec<SslCipher> {
        Vec::new()
    }

    fn features(&self) -> FeatureSet {
        FeatureSet::empty()
    }

    fn new_context(
        &self,
        _: &SslConfiguration,
        _: Role,
    ) -> Result<Arc<dyn SslContext>, ConfigError> {
        Err(ConfigError::Engine { backend: "unavailable", message: self.reason.clone() })
    }
}

/// The stand-in for an unusable active backend.
pub(crate) fn unavailable_backend(err: Error) -> Arc<dyn SslBackend> {
    Arc::new(Unavailable { reason: crate::conn::error_chain(&err) })
}
