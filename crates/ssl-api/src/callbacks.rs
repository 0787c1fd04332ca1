//! Callbacks an engine calls during the handshake: pre-shared key authentication
//! (`QSslPreSharedKeyAuthenticator`) and key logging (SSLKEYLOGFILE).
//!
//! Both are handed to the engine inside the [`SslConfiguration`](crate::SslConfiguration), so
//! they compare and hash by identity (the same `Arc`): two configurations share an engine
//! context only when they share the very same callback.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use zeroize::Zeroizing;

/// What a pre-shared key handshake needs from the application
/// (`QSslPreSharedKeyAuthenticator`). On a client: read the server's identity hint, set an
/// identity and a key. On a server: read the client's identity, set the key for it (or leave
/// it empty to refuse the client).
pub struct PskAuthenticator {
    identity_hint: Vec<u8>,
    identity: Vec<u8>,
    pre_shared_key: Zeroizing<Vec<u8>>,
    maximum_identity_length: usize,
    maximum_pre_shared_key_length: usize,
}

impl PskAuthenticator {
    /// An authenticator as the engine presents it: the hint (client side) or the client's
    /// identity (server side), and the engine's length limits.
    #[must_use]
    pub fn new(
        identity_hint: &[u8],
        identity: &[u8],
        maximum_identity_length: usize,
        maximum_pre_shared_key_length: usize,
    ) -> PskAuthenticator {
        PskAuthenticator {
            identity_hint: identity_hint.to_vec(),
            identity: identity.to_vec(),
            pre_shared_key: Zeroizing::new(Vec::new()),
            maximum_identity_length,
            maximum_pre_shared_key_length,
        }
    }

    /// The server's identity hint (client side; empty when the server sent none).
    #[must_use]
    pub fn identity_hint(&self) -> &[u8] {
        &self.identity_hint
    }

    /// The identity: set by the client, or the one the client sent (server side).
    #[must_use]
    pub fn identity(&self) -> &[u8] {
        &self.identity
    }

    /// Sets the identity (client side). Longer than [`PskAuthenticator::maximum_identity_length`]
    /// is cut to it.
    pub fn set_identity(&mut self, identity: &[u8]) {
        let n = identity.len().min(self.maximum_identity_length);
        self.identity = identity[..n].to_vec();
    }

    /// The key set so far.
    #[must_use]
    pub fn pre_shared_key(&self) -> &[u8] {
        &self.pre_shared_key
    }

    /// Sets the key. Longer than [`PskAuthenticator::maximum_pre_shared_key_length`] is cut
    /// to it.
    pub fn set_pre_shared_key(&mut self, key: &[u8]) {
        let n = key.len().min(self.maximum_pre_shared_key_length);
        self.pre_shared_key = Zeroizing::new(key[..n].to_vec());
    }

    /// The longest identity the engine accepts.
    #[must_use]
    pub fn maximum_identity_length(&self) -> usize {
        self.maximum_identity_length
    }

    /// The longest key the engine accepts.
    #[must_use]
    pub fn maximum_pre_shared_key_length(&self) -> usize {
        self.maximum_pre_shared_key_length
    }
}

impl fmt::Debug for PskAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PskAuthenticator")
            .field("identity_hint", &String::from_utf8_lossy(&self.identity_hint))
            .field("identity", &String::from_utf8_lossy(&self.identity))
            .field("pre_shared_key", &format_args!("<{} bytes>", self.pre_shared_key.len()))
            .finish()
    }
}

macro_rules! shared_callback {
    ($(#[$doc:meta])* $name:ident($($arg:ty),*)) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(Arc<dyn Fn($($arg),*) + Send + Sync>);

        impl $name {
            /// Wraps `f`.
            pub fn new(f: impl Fn($($arg),*) + Send + Sync + 'static) -> $name {
                $name(Arc::new(f))
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &$name) -> bool {
                Arc::ptr_eq(&self.0, &other.0)
            }
        }

        impl Eq for $name {}

        impl Hash for $name {
            fn hash<H: Hasher>(&self, state: &mut H) {
                std::ptr::hash(Arc::as_ptr(&self.0).cast::<()>(), state);
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:p})"), Arc::as_ptr(&self.0).cast::<()>())
            }
        }
    };
}

shared_callback! {
    /// The application's answer to a pre-shared key handshake
    /// (`preSharedKeyAuthenticationRequired`), called by the engine during the handshake.
    PskHandler(&mut PskAuthenticator)
}

impl PskHandler {
    /// Calls the handler.
    pub fn call(&self, authenticator: &mut PskAuthenticator) {
        (self.0)(authenticator);
    }
}

shared_callback! {
    /// Receives one line of NSS key log format (`SSLKEYLOGFILE`, without the newline) for each
    /// secret the engine derives — for Wireshark and the like. Secrets: handle with care.
    KeyLogHandler(&str)
}

impl KeyLogHandler {
    /// Calls the handler with one line.
    pub fn log(&self, line: &str) {
        (self.0)(line);
    }

    /// The NSS key log line for `label`, `client_random` and `secret` (both hex-encoded).
    #[must_use]
    pub fn format_line(label: &str, client_random: &[u8], secret: &[u8]) -> String {
        format!(
            "{label} {} {}",
            crate::certificate::hex(client_random),
            crate::certificate::hex(secret)
        )
    }
}
