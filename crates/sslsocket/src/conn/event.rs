//! The events a connection emits: one for every QSslSocket / QAbstractSocket signal.

use ssl_api::{Alert, SocketErrorKind, SocketState, SslError, SslMode};

/// Something the application may want to react to, in the order it happened.
///
/// Drivers deliver these to the application's handler; `Connection::poll_event` yields them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The host name was resolved (`hostFound`).
    HostFound,
    /// The TCP connection is established (`connected`).
    Connected,
    /// The socket state changed (`stateChanged`).
    StateChanged(SocketState),
    /// The socket entered client or server mode (`modeChanged`).
    ModeChanged(SslMode),
    /// The handshake finished and the peer was accepted (`encrypted`). Application data
    /// flows from here on.
    Encrypted,
    /// One certificate verification error, before the decision (`peerVerifyError`).
    PeerVerifyError(SslError),
    /// Every verification error of the handshake (`sslErrors`). The handler may call
    /// `ignore_ssl_errors` / `ignore_ssl_errors_list`; the decision is taken once the handler
    /// has returned (or at `resume()` in `PauseOnSslErrors` mode).
    SslErrors(Vec<SslError>),
    /// Ciphertext of application data was written to the transport (`encryptedBytesWritten`).
    EncryptedBytesWritten(u64),
    /// Application bytes were handed on: to the engine once encrypted, to the transport when
    /// unencrypted (`bytesWritten`).
    BytesWritten(u64),
    /// New bytes can be read (`readyRead`).
    ReadyRead,
    /// The peer will send no more data (`readChannelFinished`).
    ReadChannelFinished,
    /// `close()` was called and the socket is about to close (`aboutToClose`).
    AboutToClose,
    /// The connection is gone (`disconnected`).
    Disconnected,
    /// An error occurred (`errorOccurred`); the full error is `Connection::error()`.
    Error(SocketErrorKind),
    /// We sent the peer an alert (`alertSent`): our close_notify, and on a failed handshake
    /// the fatal alert that tells the peer why, where it travels in the clear (see
    /// [`Feature::Alerts`](ssl_api::Feature::Alerts) for what is and is not reported).
    AlertSent(Alert),
    /// The peer sent an alert (`alertReceived`): its close_notify, or a fatal alert that
    /// ended the handshake or the session.
    AlertReceived(Alert),
}
