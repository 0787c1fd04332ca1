//! Test support (feature `testing`): starting handshakes on a [`Connection`] a test drives
//! itself, with the engine context a driver would hand it. The in-memory pair is
//! [`crate::conn::pair`].

use std::time::Instant;

use crate::conn::Connection;

/// Starts the client handshake on `conn` (connected and unencrypted) with the engine context
/// its backend and configuration give: what a driver does, for tests that drive a
/// [`Connection`] themselves. A context the backend refuses ends the connection with that
/// error.
pub fn start_client_encryption(conn: &mut Connection, now: Instant) {
    match crate::registry::context_of(conn, ssl_api::Role::Client) {
        Ok(context) => conn.start_client_encryption(&context, now),
        Err(err) => conn.handle_error(err),
    }
}

/// As [`start_client_encryption`], for the server handshake.
pub fn start_server_encryption(conn: &mut Connection, now: Instant) {
    match crate::registry::context_of(conn, ssl_api::Role::Server) {
        Ok(context) => conn.start_server_encryption(&context, now),
        Err(err) => conn.handle_error(err),
    }
}
