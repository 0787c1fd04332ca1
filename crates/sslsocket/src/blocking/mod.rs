//! The blocking driver: [`SslSocket`] and [`SslServer`] over std networking (mio for the
//! readiness waits).

mod server;
mod socket;
mod transport;

pub use server::{Accepted, HandshakeFailure, SslServer, MAX_PENDING_PER_PEER};
pub use socket::{EventHandler, SslSocket};
