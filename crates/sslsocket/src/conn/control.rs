//! The narrow handle an event handler gets: what it may do while an event is delivered.

use std::ops::Deref;

use ssl_api::{SslError, SslErrorKind};

use super::Connection;

/// What an event handler may do with the connection while an event is being delivered:
/// decide on certificate errors (`ignore_ssl_errors*`, typically on `SslErrors`), end the
/// connection (`abort`, `disconnect_from_host`, `close`), and read every session fact (the
/// getters of [`Connection`], through `Deref`). The driver's own inputs and outputs
/// (`handle_*`, `poll_*`, `pump`) are out of its reach.
#[derive(Debug)]
pub struct Control<'a> {
    conn: &'a mut Connection,
}

impl<'a> Control<'a> {
    /// The handle for `conn`, for a driver about to call an event handler.
    pub fn new(conn: &'a mut Connection) -> Control<'a> {
        Control { conn }
    }

    /// [`Connection::ignore_ssl_errors`].
    pub fn ignore_ssl_errors(&mut self) {
        self.conn.ignore_ssl_errors();
    }

    /// [`Connection::ignore_ssl_errors_list`].
    pub fn ignore_ssl_errors_list(&mut self, errors: Vec<SslError>) {
        self.conn.ignore_ssl_errors_list(errors);
    }

    /// [`Connection::ignore_ssl_error_kinds`].
    pub fn ignore_ssl_error_kinds(&mut self, kinds: Vec<SslErrorKind>) {
        self.conn.ignore_ssl_error_kinds(kinds);
    }

    /// [`Connection::abort`].
    pub fn abort(&mut self) {
        self.conn.abort();
    }

    /// [`Connection::disconnect_from_host`].
    pub fn disconnect_from_host(&mut self) {
        self.conn.disconnect_from_host();
    }

    /// [`Connection::close`].
    pub fn close(&mut self) {
        self.conn.close();
    }
}

impl Deref for Control<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}
