//! Errors, by family: certificate verification (`SslError`, QSslError's codes), configuration
//! (`ConfigError`), parsing (`CertificateError`), the TLS engine (`TlsError`) and the socket
//! (`Error`, QAbstractSocket::SocketError's codes).

use std::fmt;
use std::io;
use std::sync::Arc;

use crate::backend::Feature;
use crate::certificate::SslCertificate;

macro_rules! ssl_error_kinds {
    ($($name:ident => $text:literal,)*) => {
        /// A certificate verification error code (`QSslError::SslError`), with Qt's texts.
        ///
        /// Two codes are not Qt's: `KeyTooSmall` and `SignatureDigestTooWeak` name what the
        /// engine's security level refuses in a chain (OpenSSL's `X509_V_ERR_EE_KEY_TOO_SMALL`
        /// / `X509_V_ERR_CA_KEY_TOO_SMALL` and `X509_V_ERR_CA_MD_TOO_WEAK`), which Qt
        /// reports as `UnspecifiedError`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum SslErrorKind {
            $(#[doc = $text] $name,)*
        }

        impl SslErrorKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [SslErrorKind] = &[$(SslErrorKind::$name,)*];

            /// Qt's description of the error (`QSslError::errorString`).
            #[must_use]
            pub fn description(self) -> &'static str {
                match self { $(SslErrorKind::$name => $text,)* }
            }

            /// The kind's name as written in Rust (`"CertificateExpired"`).
            #[must_use]
            pub fn name(self) -> &'static str {
                match self { $(SslErrorKind::$name => stringify!($name),)* }
            }

            /// Parses a name produced by [`SslErrorKind::name`].
            #[must_use]
            pub fn from_name(name: &str) -> Option<SslErrorKind> {
                match name { $(stringify!($name) => Some(SslErrorKind::$name),)* _ => None }
            }
        }
    };
}

ssl_error_kinds! {
    NoError => "No error",
    UnableToGetIssuerCertificate => "The issuer certificate could not be found",
    UnableToDecryptCertificateSignature => "The certificate signature could not be decrypted",
    UnableToDecodeIssuerPublicKey => "The public key in the certificate could not be read",
    CertificateSignatureFailed => "The signature of the certificate is invalid",
    CertificateNotYetValid => "The certificate is not yet valid",
    CertificateExpired => "The certificate has expired",
    InvalidNotBeforeField => "The certificate's notBefore field contains an invalid time",
    InvalidNotAfterField => "The certificate's notAfter field contains an invalid time",
    SelfSignedCertificate => "The certificate is self-signed, and untrusted",
    SelfSignedCertificateInChain => "The root certificate of the certificate chain is self-signed, and untrusted",
    UnableToGetLocalIssuerCertificate => "The issuer certificate of a locally looked up certificate could not be found",
    UnableToVerifyFirstCertificate => "No certificates could be verified",
    CertificateRevoked => "The certificate has been revoked",
    InvalidCaCertificate => "One of the CA certificates is invalid",
    PathLengthExceeded => "The basicConstraints path length parameter has been exceeded",
    InvalidPurpose => "The supplied certificate is unsuitable for this purpose",
    CertificateUntrusted => "The root CA certificate is not trusted for this purpose",
    CertificateRejected => "The root CA certificate is marked to reject the specified purpose",
    SubjectIssuerMismatch => "The current candidate issuer certificate was rejected because its subject name did not match the issuer name of the current certificate",
    AuthorityIssuerSerialNumberMismatch => "The current candidate issuer certificate was rejected because its issuer name and serial number was present and did not match the authority key identifier of the current certificate",
    NoPeerCertificate => "The peer did not present any certificate",
    HostNameMismatch => "The host name did not match any of the valid hosts for this certificate",
    NoSslSupport => "No SSL support is available",
    CertificateBlacklisted => "The peer certificate is blacklisted",
    CertificateStatusUnknown => "The certificate's status is unknown",
    OcspNoResponseFound => "No OCSP status response found",
    OcspMalformedRequest => "The OCSP status request had invalid syntax",
    OcspMalformedResponse => "OCSP response contains an unexpected number of SingleResponse structures",
    OcspInternalError => "OCSP responder reached an inconsistent internal state",
    OcspTryLater => "OCSP responder was unable to return a status for the requested certificate",
    OcspSigRequred => "The server requires the client to sign the OCSP request in order to construct a response",
    OcspUnauthorized => "The client is not authorized to request OCSP status from this server",
    OcspResponseCannotBeTrusted => "OCSP responder's identity cannot be verified",
    OcspResponseCertIdUnknown => "The identity of a certificate in an OCSP response cannot be established",
    OcspResponseExpired => "The certificate status response has expired",
    OcspStatusUnknown => "The certificate's status is unknown",
    KeyTooSmall => "The public key of a certificate in the chain is too small for the engine's security level",
    SignatureDigestTooWeak => "A certificate in the chain is signed with a digest too weak for the engine's security level",
    UnspecifiedError => "Unspecified error",
}

impl fmt::Display for SslErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// One certificate verification error (`QSslError`): what went wrong and with which
/// certificate. Equal when both kind and certificate (by DER) are equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SslError {
    /// What went wrong.
    pub kind: SslErrorKind,
    /// The certificate it concerns, where the engine says which.
    pub certificate: Option<SslCertificate>,
}

impl SslError {
    /// An error of `kind` about `certificate`.
    #[must_use]
    pub fn new(kind: SslErrorKind, certificate: Option<SslCertificate>) -> SslError {
        SslError { kind, certificate }
    }
}

impl fmt::Display for SslError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.certificate {
            Some(cert) => write!(f, "{} ({})", self.kind, cert.subject_display()),
            None => fmt::Display::fmt(&self.kind, f),
        }
    }
}

/// A socket error code (`QAbstractSocket::SocketError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)] // the names are Qt's and say it all
pub enum SocketErrorKind {
    ConnectionRefusedError,
    RemoteHostClosedError,
    HostNotFoundError,
    SocketAccessError,
    SocketResourceError,
    SocketTimeoutError,
    DatagramTooLargeError,
    NetworkError,
    AddressInUseError,
    SocketAddressNotAvailableError,
    UnsupportedSocketOperationError,
    UnfinishedSocketOperationError,
    ProxyAuthenticationRequiredError,
    SslHandshakeFailedError,
    ProxyConnectionRefusedError,
    ProxyConnectionClosedError,
    ProxyConnectionTimeoutError,
    ProxyNotFoundError,
    ProxyProtocolError,
    OperationError,
    SslInternalError,
    SslInvalidUserDataError,
    TemporaryError,
    UnknownSocketError,
}

impl SocketErrorKind {
    /// Maps an I/O error from the transport to the closest socket error code.
    #[must_use]
    pub fn from_io(kind: io::ErrorKind) -> SocketErrorKind {
        use io::ErrorKind as K;
        match kind {
            K::ConnectionRefused => SocketErrorKind::ConnectionRefusedError,
            K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                SocketErrorKind::RemoteHostClosedError
            }
            K::TimedOut => SocketErrorKind::SocketTimeoutError,
            K::PermissionDenied => SocketErrorKind::SocketAccessError,
            K::AddrInUse => SocketErrorKind::AddressInUseError,
            K::AddrNotAvailable => SocketErrorKind::SocketAddressNotAvailableError,
            K::OutOfMemory => SocketErrorKind::SocketResourceError,
            K::Unsupported => SocketErrorKind::UnsupportedSocketOperationError,
            K::NotConnected | K::NetworkDown | K::NetworkUnreachable | K::HostUnreachable => {
                SocketErrorKind::NetworkError
            }
            _ => SocketErrorKind::UnknownSocketError,
        }
    }
}

/// A certificate or key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// The PEM text holds no block of the expected type, or a block is malformed.
    #[error("invalid pem: {0}")]
    Pem(String),
    /// The DER bytes are not a well-formed X.509 certificate.
    #[error("invalid der certificate: {0}")]
    Der(String),
    /// The key bytes are not a supported private or public key.
    #[error("invalid key: {0}")]
    Key(String),
    /// An encrypted key could not be decrypted with the given passphrase.
    #[error("wrong passphrase or corrupt encrypted key")]
    BadPassphrase,
    /// The key is encrypted and no passphrase was given.
    #[error("the key is encrypted and needs a passphrase")]
    PassphraseRequired,
    /// An encrypted key's key-derivation parameters ask for more work or memory than the
    /// limits allow (`ssl_api::key::MAX_PBKDF2_ITERATIONS`, `MAX_SCRYPT_COST`,
    /// `MAX_SCRYPT_MEMORY`, `MAX_SCRYPT_WORK`); refused before any derivation.
    #[error("the key's {kdf} parameters exceed the limits: {message}")]
    KdfLimit {
        /// The key-derivation function (`"pbkdf2"`, `"scrypt"`).
        kdf: &'static str,
        /// Which parameter is beyond which limit.
        message: String,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What the operating system said.
        message: String,
    },
    /// A certificate or key path names a directory, FIFO, socket or device, not a regular
    /// file (`ssl_api::files::read_regular_file`).
    #[error("{path} is not a regular file")]
    NotARegularFile {
        /// The path.
        path: String,
    },
    /// A certificate or key file is larger than `ssl_api::files::MAX_FILE_SIZE`.
    #[error("{path} is larger than {limit} bytes")]
    FileTooLarge {
        /// The path.
        path: String,
        /// The limit, in bytes.
        limit: u64,
    },
    /// A path pattern is not a valid glob or regular expression.
    #[error("invalid path pattern {pattern:?}: {message}")]
    Pattern {
        /// The pattern.
        pattern: String,
        /// What is wrong with it.
        message: String,
    },
}

/// A configuration cannot be carried out. Raised before any byte is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The backend lacks a feature the configuration asks for.
    #[error("backend {backend} does not support {feature}")]
    Unsupported {
        /// The backend's name.
        backend: &'static str,
        /// What it lacks.
        feature: Feature,
    },
    /// The backend cannot run this protocol value (`UnknownProtocol`, or a version it lacks).
    #[error("backend {backend} cannot use protocol {protocol}")]
    UnsupportedProtocol {
        /// The backend's name.
        backend: &'static str,
        /// The refused value.
        protocol: crate::types::SslProtocol,
    },
    /// A server configuration has no local certificate or no private key.
    #[error("a server needs a local certificate and a private key")]
    MissingIdentity,
    /// The private key does not belong to the local certificate.
    #[error("the private key does not match the local certificate")]
    KeyMismatch,
    /// A cipher name the backend does not know.
    #[error("backend {backend} does not know cipher {name}")]
    UnknownCipher {
        /// The backend's name.
        backend: &'static str,
        /// The cipher's name.
        name: String,
    },
    /// The engine cannot carry out the versions `protocol` allows (TLS 1.0 / 1.1 only) at its
    /// security level: OpenSSL 3 refuses their SHA-1 and MD5-SHA1 handshake signatures at
    /// level 1 and above (Debian builds it at level 2) and the versions themselves from level
    /// 3, so at most a suite without forward secrecy or handshake signature (RSA key
    /// transport) could still complete. The backend asks the engine (one in-memory handshake
    /// with itself at that level) rather than assume. A range that also allows TLS 1.2 or 1.3
    /// is never refused this way: it negotiates those.
    /// `SslConfiguration::danger_allow_weak_crypto` lowers the level, on a backend with
    /// `Feature::WeakCrypto`.
    #[error(
        "backend {backend} refuses {protocol} at the engine's security level {security_level}; \
         these versions need danger_allow_weak_crypto (security level 0)"
    )]
    ProtocolBelowSecurityLevel {
        /// The backend's name.
        backend: &'static str,
        /// The refused value.
        protocol: crate::types::SslProtocol,
        /// The engine's security level (`SSL_CTX_get_security_level`).
        security_level: u32,
    },
    /// `peer_verify_depth` is beyond `ssl_api::config::MAX_PEER_VERIFY_DEPTH`.
    #[error("peer verify depth {depth} is beyond the limit of {max}")]
    InvalidVerifyDepth {
        /// The refused depth.
        depth: u32,
        /// The largest depth allowed.
        max: u32,
    },
    /// An ALPN protocol name is empty or longer than 255 bytes (RFC 7301 §3.1).
    #[error("alpn protocol {index} is {len} bytes long (1 to 255 allowed)")]
    InvalidAlpnProtocol {
        /// Its position in the list, from 0.
        index: usize,
        /// Its length in bytes.
        len: usize,
    },
    /// The ALPN list encodes to more bytes than `ssl_api::config::MAX_ALPN_LIST_LEN`.
    #[error("the alpn list encodes to {len} bytes, more than {max}")]
    AlpnListTooLong {
        /// The encoded length: every name with its length byte.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The peer name is not a valid DNS name or IP address.
    #[error("invalid peer name {0:?}")]
    InvalidPeerName(String),
    /// A certificate or key in the configuration is invalid.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// The engine refused the configuration (its words, for people; never parsed).
    #[error("backend {backend} refused the configuration: {message}")]
    Engine {
        /// The backend's name.
        backend: &'static str,
        /// The engine's message.
        message: String,
    },
}

/// What kind of TLS failure an engine reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsErrorKind {
    /// The peer sent a fatal alert.
    AlertReceived,
    /// The peer sent bytes that are not TLS, or a malformed message.
    InvalidMessage,
    /// A record failed authentication (bad MAC / AEAD tag).
    BadRecordMac,
    /// The peers share no protocol version, cipher suite or other parameter.
    NoCommonParameters,
    /// The peer's certificate could not be used at all (undecodable, bad signature on the
    /// handshake). Trust errors are not reported this way: they are `SslError`s.
    PeerCertificate,
    /// The peer violated the protocol in another way.
    PeerMisbehaved,
    /// The peer's key or signature is too weak for the engine's security level (a small
    /// Diffie-Hellman key, a certificate key or digest the level refuses).
    WeakPeerKey,
    /// The transport ended before the handshake finished or without close_notify.
    UnexpectedEof,
    /// Anything else inside the engine.
    Internal,
}

/// A failure inside the TLS engine, with the engine's own message for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TlsError {
    /// The classification.
    pub kind: TlsErrorKind,
    /// The engine's message (for people; never parsed).
    pub message: String,
    /// For `AlertReceived`: the alert's number, where the engine names it.
    pub alert: Option<u8>,
}

impl TlsError {
    /// A new engine error.
    #[must_use]
    pub fn new(kind: TlsErrorKind, message: impl Into<String>) -> TlsError {
        TlsError { kind, message: message.into(), alert: None }
    }

    /// The same error, naming the alert number `code` the peer sent.
    #[must_use]
    pub fn with_alert(mut self, code: u8) -> TlsError {
        self.alert = Some(code);
        self
    }
}

/// A socket error: what the application sees from `SslSocket` and friends.
///
/// Cheap to clone (it is sticky: once a connection has failed, every later call returns the
/// same error). Converts into `io::Error` with a fitting `ErrorKind` and itself inside.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration cannot be carried out (`SslInvalidUserDataError`).
    #[error("invalid configuration")]
    Config(#[from] ConfigError),
    /// The transport failed.
    #[error("transport error")]
    Io {
        /// The socket error code.
        kind: SocketErrorKind,
        /// The operating system's error.
        #[source]
        source: Arc<io::Error>,
    },
    /// The host name could not be resolved (`HostNotFoundError`).
    #[error("host {host} not found")]
    HostNotFound {
        /// The name that was looked up.
        host: String,
    },
    /// An operation did not finish in time (`SocketTimeoutError`).
    #[error("{operation} timed out")]
    Timeout {
        /// What was being waited for.
        operation: &'static str,
    },
    /// The peer closed the connection before the TLS session was set up, or while it was
    /// unencrypted (`RemoteHostClosedError`).
    #[error("remote host closed the connection")]
    RemoteClosed,
    /// The peer closed the transport without a TLS close_notify: the data may have been cut
    /// short (`RemoteHostClosedError`).
    #[error("peer closed the connection without close_notify (truncated)")]
    Truncated,
    /// The TLS handshake failed in the engine (`SslHandshakeFailedError`).
    #[error("tls handshake failed")]
    Handshake(#[source] TlsError),
    /// The peer's certificate was rejected by the verification policy
    /// (`SslHandshakeFailedError`); the errors are those that were not ignored.
    #[error("peer certificate rejected: {}", list(.errors))]
    Rejected {
        /// The errors that caused the rejection.
        errors: Vec<SslError>,
    },
    /// The engine failed after the handshake (`SslInternalError`).
    #[error("tls session failed")]
    Tls(#[source] TlsError),
    /// The call is not valid in the socket's current state (`OperationError`), or nothing
    /// but the application can move the socket on.
    #[error("operation not permitted")]
    Usage(#[from] UsageError),
    /// A socket option, a descriptor to adopt or a bind the socket cannot take
    /// ([`SocketSetupError::kind`] gives the socket error code).
    #[error("socket setup refused")]
    Socket(#[from] SocketSetupError),
    /// The proxy failed, or refused the tunnel (the `Proxy*` codes; a SOCKS5 reply that
    /// names the target's failure gives the target's code, see [`ProxyError`]).
    #[error("proxy failed")]
    Proxy(#[from] ProxyError),
}

/// Why a socket option, a descriptor or a bind was refused ([`Error::Socket`]): the value, not
/// the operating system (whose refusals are [`Error::Io`], e.g. `AddressInUseError`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SocketSetupError {
    /// The value is outside what the option takes (`OperationError`).
    #[error("{option} does not take the value {value} (it takes {allowed})")]
    InvalidOptionValue {
        /// The option (its Qt name).
        option: &'static str,
        /// The value given.
        value: u64,
        /// What the option takes.
        allowed: &'static str,
    },
    /// This platform, or this kind of socket, has no such option
    /// (`UnsupportedSocketOperationError`).
    #[error("{option} is not supported {why}")]
    UnsupportedOption {
        /// The option (its Qt name).
        option: &'static str,
        /// Where it is not supported.
        why: &'static str,
    },
    /// The descriptor to adopt is not a TCP socket over IPv4 or IPv6
    /// (`UnsupportedSocketOperationError`).
    #[error("the descriptor is not a TCP socket ({0})")]
    NotATcpSocket(String),
    /// The descriptor is not in the state it was adopted in: not connected for
    /// `ConnectedState`, not bound (or already connected) for `BoundState` (`OperationError`).
    #[error("the descriptor is not {0}")]
    DescriptorState(&'static str),
    /// A descriptor can be adopted only in `ConnectedState` or `BoundState`
    /// (`OperationError`).
    #[error("a descriptor cannot be adopted in {0:?}")]
    AdoptedState(crate::SocketState),
    /// `bind` on a socket that is not unconnected (`OperationError`).
    #[error("bind needs an unconnected socket")]
    BindNotUnconnected,
}

impl SocketSetupError {
    /// The socket error code.
    #[must_use]
    pub fn kind(&self) -> SocketErrorKind {
        match self {
            SocketSetupError::UnsupportedOption { .. } | SocketSetupError::NotATcpSocket(_) => {
                SocketErrorKind::UnsupportedSocketOperationError
            }
            SocketSetupError::InvalidOptionValue { .. }
            | SocketSetupError::DescriptorState(_)
            | SocketSetupError::AdoptedState(_)
            | SocketSetupError::BindNotUnconnected => SocketErrorKind::OperationError,
        }
    }
}

/// Why a connection through a proxy failed ([`Error::Proxy`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The proxy asked for credentials it was not given, or refused those it was given
    /// (`ProxyAuthenticationRequiredError`).
    #[error("proxy {proxy} requires authentication")]
    AuthenticationRequired {
        /// The proxy's URL, without the password.
        proxy: String,
    },
    /// The proxy refused the TCP connection (`ProxyConnectionRefusedError`).
    #[error("proxy {proxy} refused the connection")]
    ConnectionRefused {
        /// The proxy's URL, without the password.
        proxy: String,
    },
    /// The proxy's host name could not be resolved (`ProxyNotFoundError`).
    #[error("proxy host {host} not found")]
    NotFound {
        /// The proxy's host name.
        host: String,
    },
    /// The proxy closed the connection during the negotiation
    /// (`ProxyConnectionClosedError`).
    #[error("proxy closed the connection during the negotiation")]
    ConnectionClosed,
    /// The proxy did not answer in time (`ProxyConnectionTimeoutError`).
    #[error("proxy did not answer within {millis} ms")]
    Timeout {
        /// The negotiation's timeout, in milliseconds.
        millis: u64,
    },
    /// The proxy's reply is not the protocol's, refused the tunnel with a status or code that
    /// names no target failure, or is too large (`ProxyProtocolError`).
    #[error("proxy protocol error: {message}")]
    Protocol {
        /// What was wrong (for people; match on the kind).
        message: String,
    },
    /// The SOCKS5 proxy reported that the target refused the connection (reply 0x05): the
    /// target's `ConnectionRefusedError`.
    #[error("the target refused the connection (socks5 reply 0x05)")]
    TargetRefused,
    /// The SOCKS5 proxy could not reach the target's host (reply 0x04, host unreachable):
    /// the target's `HostNotFoundError`.
    #[error("the proxy could not reach the target host (socks5 reply 0x04)")]
    TargetNotFound,
}

impl ProxyError {
    /// The socket error code.
    #[must_use]
    pub fn kind(&self) -> SocketErrorKind {
        match self {
            ProxyError::AuthenticationRequired { .. } => {
                SocketErrorKind::ProxyAuthenticationRequiredError
            }
            ProxyError::ConnectionRefused { .. } => SocketErrorKind::ProxyConnectionRefusedError,
            ProxyError::NotFound { .. } => SocketErrorKind::ProxyNotFoundError,
            ProxyError::ConnectionClosed => SocketErrorKind::ProxyConnectionClosedError,
            ProxyError::Timeout { .. } => SocketErrorKind::ProxyConnectionTimeoutError,
            ProxyError::Protocol { .. } => SocketErrorKind::ProxyProtocolError,
            ProxyError::TargetRefused => SocketErrorKind::ConnectionRefusedError,
            ProxyError::TargetNotFound => SocketErrorKind::HostNotFoundError,
        }
    }
}

/// Why a call is not valid now ([`Error::Usage`], `OperationError`): match on it, never on
/// the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// The socket is not connected (never connected, aborted, or already closed).
    #[error("the socket is not connected")]
    NotConnected,
    /// The socket is paused on its certificate errors (`PauseOnSslErrors`): decide with
    /// `ignore_ssl_errors*` and call `resume()`.
    #[error("the socket is paused on its certificate errors (decide, then resume)")]
    PausedOnSslErrors,
    /// The read buffer is full: read from it, or raise the read buffer limit.
    #[error("the read buffer is full (read, or raise its limit)")]
    ReadBufferFull,
    /// `wait_for_bytes_written` with nothing written and nothing waiting to be written.
    #[error("there is nothing to write")]
    NothingToWrite,
    /// A server call before `listen`/`bind`.
    #[error("the server is not listening")]
    NotListening,
    /// The server's listener failed or was closed.
    #[error("the server stopped listening")]
    StoppedListening,
}

impl UsageError {
    /// The `io::ErrorKind` this error becomes inside an `io::Error`.
    #[must_use]
    pub fn io_kind(self) -> io::ErrorKind {
        match self {
            UsageError::NotConnected | UsageError::NotListening | UsageError::StoppedListening => {
                io::ErrorKind::NotConnected
            }
            UsageError::NothingToWrite => io::ErrorKind::InvalidInput,
            UsageError::PausedOnSslErrors | UsageError::ReadBufferFull => io::ErrorKind::Other,
        }
    }
}

fn list(errors: &[SslError]) -> String {
    let names: Vec<&str> = errors.iter().map(|e| e.kind.name()).collect();
    names.join(", ")
}

impl Error {
    /// The socket error code (`QAbstractSocket::error()`).
    #[must_use]
    pub fn kind(&self) -> SocketErrorKind {
        match self {
            Error::Config(_) => SocketErrorKind::SslInvalidUserDataError,
            Error::Io { kind, .. } => *kind,
            Error::HostNotFound { .. } => SocketErrorKind::HostNotFoundError,
            Error::Timeout { .. } => SocketErrorKind::SocketTimeoutError,
            Error::RemoteClosed | Error::Truncated => SocketErrorKind::RemoteHostClosedError,
            Error::Handshake(_) | Error::Rejected { .. } => {
                SocketErrorKind::SslHandshakeFailedError
            }
            Error::Tls(_) => SocketErrorKind::SslInternalError,
            Error::Usage(_) => SocketErrorKind::OperationError,
            Error::Socket(setup) => setup.kind(),
            Error::Proxy(proxy) => proxy.kind(),
        }
    }

    /// The certificate errors behind a rejection (empty for other errors).
    #[must_use]
    pub fn ssl_errors(&self) -> &[SslError] {
        match self {
            Error::Rejected { errors } => errors,
            _ => &[],
        }
    }

    /// Wraps a transport error.
    #[must_use]
    pub fn io(err: io::Error) -> Error {
        Error::Io { kind: SocketErrorKind::from_io(err.kind()), source: Arc::new(err) }
    }

    /// The `io::ErrorKind` this error becomes inside an `io::Error`.
    #[must_use]
    pub fn io_kind(&self) -> io::ErrorKind {
        match self {
            Error::Config(_) => io::ErrorKind::InvalidInput,
            Error::Io { source, .. } => source.kind(),
            Error::HostNotFound { .. } => io::ErrorKind::NotFound,
            Error::Timeout { .. } => io::ErrorKind::TimedOut,
            Error::RemoteClosed => io::ErrorKind::ConnectionReset,
            Error::Truncated => io::ErrorKind::UnexpectedEof,
            Error::Handshake(_) | Error::Rejected { .. } | Error::Tls(_) => {
                io::ErrorKind::InvalidData
            }
            Error::Usage(usage) => usage.io_kind(),
            Error::Socket(SocketSetupError::UnsupportedOption { .. }) => io::ErrorKind::Unsupported,
            Error::Socket(_) => io::ErrorKind::InvalidInput,
            Error::Proxy(ProxyError::Timeout { .. }) => io::ErrorKind::TimedOut,
            Error::Proxy(ProxyError::ConnectionRefused { .. } | ProxyError::TargetRefused) => {
                io::ErrorKind::ConnectionRefused
            }
            Error::Proxy(ProxyError::NotFound { .. } | ProxyError::TargetNotFound) => {
                io::ErrorKind::NotFound
            }
            Error::Proxy(ProxyError::ConnectionClosed) => io::ErrorKind::ConnectionReset,
            Error::Proxy(ProxyError::AuthenticationRequired { .. }) => {
                io::ErrorKind::PermissionDenied
            }
            Error::Proxy(ProxyError::Protocol { .. }) => io::ErrorKind::InvalidData,
        }
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        io::Error::new(err.io_kind(), err)
    }
}

impl Error {
    /// Finds an `Error` inside an `io::Error` produced by this crate's `io::Read` / `io::Write`
    /// implementations.
    #[must_use]
    pub fn from_io_ref(err: &io::Error) -> Option<&Error> {
        err.get_ref().and_then(|inner| inner.downcast_ref::<Error>())
    }
}
