//! The tokio driver: [`AsyncSslSocket`] and [`AsyncSslServer`] over the same
//! [`Connection`](crate::conn::Connection) as the blocking driver, so behaviour is identical by
//! construction.

mod events;
mod handler;
mod server;
mod socket;
mod waiters;

pub use events::EventStream;
pub use handler::{Decision, SslErrorsHandler};
pub use server::{AsyncAccepted, AsyncSslServer};
pub use socket::AsyncSslSocket;

#[cfg(test)]
mod tests {
    fn assert_send<T: Send>() {}

    #[test]
    fn sockets_servers_and_their_futures_are_send() {
        assert_send::<super::AsyncSslSocket>();
        assert_send::<super::AsyncSslServer>();
        assert_send::<super::EventStream>();
        fn future_is_send<F: std::future::Future + Send>(_: F) {}
        let mut socket = super::AsyncSslSocket::new();
        future_is_send(socket.connect_to_host_encrypted("localhost", 1));
        let mut socket = super::AsyncSslSocket::new();
        future_is_send(socket.start_client_encryption());
        let mut socket = super::AsyncSslSocket::new();
        future_is_send(socket.disconnect_from_host());
        let mut server = super::AsyncSslServer::new().expect("a backend");
        future_is_send(server.accept());
    }
}
