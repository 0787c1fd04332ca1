//! Socket states, encryption modes, protocols and verify modes: QSsl / QSslSocket /
//! QAbstractSocket enums in Rust case.

use std::fmt;

/// The encryption mode of a socket (`QSslSocket::SslMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SslMode {
    /// Plain, unencrypted socket (the state before STARTTLS).
    #[default]
    UnencryptedMode,
    /// Client side of a TLS session.
    SslClientMode,
    /// Server side of a TLS session.
    SslServerMode,
}

/// How a socket verifies its peer's certificate (`QSslSocket::PeerVerifyMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PeerVerifyMode {
    /// Do not request or verify the peer's certificate. Encryption still happens.
    VerifyNone,
    /// Request a certificate but do not require it to be valid: errors are recorded in
    /// `ssl_handshake_errors` but never end the connection.
    QueryPeer,
    /// Require a valid certificate; a verification error ends the connection unless ignored.
    VerifyPeer,
    /// `VerifyPeer` in client mode, `QueryPeer` in server mode (the default).
    #[default]
    AutoVerifyPeer,
}

impl PeerVerifyMode {
    /// The concrete mode for a socket in `mode`: resolves `AutoVerifyPeer`.
    #[must_use]
    pub fn effective(self, mode: SslMode) -> PeerVerifyMode {
        match (self, mode) {
            (PeerVerifyMode::AutoVerifyPeer, SslMode::SslServerMode) => PeerVerifyMode::QueryPeer,
            (PeerVerifyMode::AutoVerifyPeer, _) => PeerVerifyMode::VerifyPeer,
            (other, _) => other,
        }
    }
}

/// A concrete TLS protocol version, as negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TlsVersion {
    /// TLS 1.0 (RFC 2246).
    Tls1_0,
    /// TLS 1.1 (RFC 4346).
    Tls1_1,
    /// TLS 1.2 (RFC 5246).
    Tls1_2,
    /// TLS 1.3 (RFC 8446).
    Tls1_3,
}

impl TlsVersion {
    /// The single-version [`SslProtocol`] naming this version.
    #[must_use]
    pub fn protocol(self) -> SslProtocol {
        match self {
            TlsVersion::Tls1_0 => SslProtocol::TlsV1_0,
            TlsVersion::Tls1_1 => SslProtocol::TlsV1_1,
            TlsVersion::Tls1_2 => SslProtocol::TlsV1_2,
            TlsVersion::Tls1_3 => SslProtocol::TlsV1_3,
        }
    }
}

/// A protocol or protocol range (`QSsl::SslProtocol`, without the DTLS values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SslProtocol {
    /// TLS 1.0 only.
    TlsV1_0,
    /// TLS 1.1 only.
    TlsV1_1,
    /// TLS 1.2 only.
    TlsV1_2,
    /// TLS 1.3 only.
    TlsV1_3,
    /// TLS 1.0 or any later version.
    TlsV1_0OrLater,
    /// TLS 1.1 or any later version.
    TlsV1_1OrLater,
    /// TLS 1.2 or any later version.
    TlsV1_2OrLater,
    /// TLS 1.3 or any later version.
    TlsV1_3OrLater,
    /// Every version the backend supports (TLS 1.0 to 1.3 where the engine allows).
    AnyProtocol,
    /// The secure versions: TLS 1.2 and later (the default).
    #[default]
    SecureProtocols,
    /// Not a usable configuration value: reported when a session's protocol is unknown.
    UnknownProtocol,
}

impl SslProtocol {
    /// Every value, in declaration order.
    pub const ALL: [SslProtocol; 11] = [
        SslProtocol::TlsV1_0,
        SslProtocol::TlsV1_1,
        SslProtocol::TlsV1_2,
        SslProtocol::TlsV1_3,
        SslProtocol::TlsV1_0OrLater,
        SslProtocol::TlsV1_1OrLater,
        SslProtocol::TlsV1_2OrLater,
        SslProtocol::TlsV1_3OrLater,
        SslProtocol::AnyProtocol,
        SslProtocol::SecureProtocols,
        SslProtocol::UnknownProtocol,
    ];

    /// The inclusive range of versions this value allows, or `None` for `UnknownProtocol`.
    #[must_use]
    pub fn version_range(self) -> Option<(TlsVersion, TlsVersion)> {
        use TlsVersion::*;
        Some(match self {
            SslProtocol::TlsV1_0 => (Tls1_0, Tls1_0),
            SslProtocol::TlsV1_1 => (Tls1_1, Tls1_1),
            SslProtocol::TlsV1_2 => (Tls1_2, Tls1_2),
            SslProtocol::TlsV1_3 => (Tls1_3, Tls1_3),
            SslProtocol::TlsV1_0OrLater | SslProtocol::AnyProtocol => (Tls1_0, Tls1_3),
            SslProtocol::TlsV1_1OrLater => (Tls1_1, Tls1_3),
            SslProtocol::TlsV1_2OrLater | SslProtocol::SecureProtocols => (Tls1_2, Tls1_3),
            SslProtocol::TlsV1_3OrLater => (Tls1_3, Tls1_3),
            SslProtocol::UnknownProtocol => return None,
        })
    }

    /// Whether `version` lies inside this value's range.
    #[must_use]
    pub fn allows(self, version: TlsVersion) -> bool {
        self.version_range().is_some_and(|(lo, hi)| lo <= version && version <= hi)
    }

    /// The value's name as written in Rust (`"TlsV1_2OrLater"`), for command lines and JSON.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            SslProtocol::TlsV1_0 => "TlsV1_0",
            SslProtocol::TlsV1_1 => "TlsV1_1",
            SslProtocol::TlsV1_2 => "TlsV1_2",
            SslProtocol::TlsV1_3 => "TlsV1_3",
            SslProtocol::TlsV1_0OrLater => "TlsV1_0OrLater",
            SslProtocol::TlsV1_1OrLater => "TlsV1_1OrLater",
            SslProtocol::TlsV1_2OrLater => "TlsV1_2OrLater",
            SslProtocol::TlsV1_3OrLater => "TlsV1_3OrLater",
            SslProtocol::AnyProtocol => "AnyProtocol",
            SslProtocol::SecureProtocols => "SecureProtocols",
            SslProtocol::UnknownProtocol => "UnknownProtocol",
        }
    }

    /// Parses a name produced by [`SslProtocol::name`].
    #[must_use]
    pub fn from_name(name: &str) -> Option<SslProtocol> {
        SslProtocol::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl fmt::Display for SslProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The state of a socket (`QAbstractSocket::SocketState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SocketState {
    /// Not connected.
    #[default]
    UnconnectedState,
    /// Looking up the host name.
    HostLookupState,
    /// Establishing the TCP connection.
    ConnectingState,
    /// TCP connection established (encrypted or not).
    ConnectedState,
    /// Bound to an address and port.
    BoundState,
    /// Listening (servers only).
    ListeningState,
    /// About to close: flushing pending data and close_notify.
    ClosingState,
}

/// When a socket pauses instead of deciding at once (`QAbstractSocket::PauseMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PauseMode {
    /// Decide right after the `SslErrors` event has been delivered.
    #[default]
    PauseNever,
    /// Stop after `SslErrors` until the application calls `resume()`.
    PauseOnSslErrors,
}
