//! Engine-neutral test support for backends (feature `testing`): sessions pumped against each
//! other over in-memory buffers, and test bodies every backend runs ([`reading`], through
//! [`reading_tests!`](crate::reading_tests); [`sessions`], through
//! [`sessions_tests!`](crate::sessions_tests)).
//!
//! Meant for a backend's `[dev-dependencies]` only (`ssl-api = { features = ["testing"] }`):
//! the functions panic when what they check does not hold, which is how a `#[test]` fails.
//! Certificates are generated per call with rcgen.
// Test support: a panic is the failure report.
#![allow(clippy::unwrap_used)]

pub mod reading;
pub mod sessions;

use std::io::{self, Read};

use rcgen::{CertificateParams, KeyPair};

use crate::{
    KeyFormat, PeerVerifyMode, Role, SslBackend, SslCertificate, SslConfiguration, SslKey,
    SslSession, TlsError,
};

/// A handshake between two well-behaved peers takes a handful of rounds; more means a hang.
pub const MAX_ROUNDS: usize = 20;

/// A reader with nothing to give yet, as a non-blocking socket: every read is `WouldBlock`.
#[derive(Debug, Clone, Copy)]
pub struct Idle;

impl Read for Idle {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }
}

/// Which session of a pair failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The client session.
    Client,
    /// The server session.
    Server,
}

/// Moves ciphertext both ways until neither side has anything to say and neither is still
/// handshaking.
///
/// # Errors
/// The side whose `process_new_packets` failed, and its error.
///
/// # Panics
/// After [`MAX_ROUNDS`] rounds, or when `read_tls` / `write_tls` fails.
pub fn handshake(
    client: &mut dyn SslSession,
    server: &mut dyn SslSession,
) -> Result<(), (Side, TlsError)> {
    for _ in 0..MAX_ROUNDS {
        let to_server = transfer(client, server).map_err(|e| (Side::Server, e))?;
        let to_client = transfer(server, client).map_err(|e| (Side::Client, e))?;
        if to_server == 0 && to_client == 0 && !client.is_handshaking() && !server.is_handshaking()
        {
            return Ok(());
        }
    }
    panic!("handshake did not finish in {MAX_ROUNDS} rounds");
}

/// Moves every pending ciphertext byte of `from` into `to` and lets `to` process it.
/// Returns how many bytes moved.
///
/// # Errors
/// `to`'s error if processing fails.
///
/// # Panics
/// When `read_tls` / `write_tls` fails.
pub fn transfer(from: &mut dyn SslSession, to: &mut dyn SslSession) -> Result<usize, TlsError> {
    let mut wire = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut wire).unwrap();
    }
    let mut input = wire.as_slice();
    while !input.is_empty() {
        to.read_tls(&mut input).unwrap();
        to.process_new_packets()?;
    }
    Ok(wire.len())
}

/// Sends a message each way and checks it arrives intact.
pub fn exchange_data(client: &mut dyn SslSession, server: &mut dyn SslSession) {
    send(client, server, b"hello from the client");
    send(server, client, b"hello from the server");
}

/// Sends `message` from `from` to `to` and checks it arrives intact; then lets any answer
/// the engine queued (TLS 1.3 tickets, key updates) travel back.
pub fn send(from: &mut dyn SslSession, to: &mut dyn SslSession, message: &[u8]) {
    assert_eq!(from.write_plaintext(message).unwrap(), message.len());
    transfer(from, to).unwrap();
    let mut buf = vec![0u8; message.len() + 16];
    let n = to.read_plaintext(&mut buf).unwrap();
    assert_eq!(&buf[..n], message);
    transfer(to, from).unwrap();
}

/// Encrypts all of `data` with `from` and returns the ciphertext.
pub fn seal(from: &mut dyn SslSession, data: &[u8]) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut sent = 0;
    while sent < data.len() {
        sent += from.write_plaintext(&data[sent..]).unwrap();
        while from.wants_write() {
            from.write_tls(&mut wire).unwrap();
        }
    }
    wire
}

/// `len` bytes that do not repeat with the record size.
#[must_use]
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// A client configuration that verifies nothing and a server configuration with a fresh
/// self-signed certificate for `localhost`, neither using the system's CA certificates:
/// `(client, server)`.
#[must_use]
pub fn unverified_configurations() -> (SslConfiguration, SslConfiguration) {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let cert = cert.self_signed(&key).unwrap();
    let server = SslConfiguration {
        local_certificate_chain: vec![SslCertificate::from_der(cert.der()).unwrap()],
        private_key: Some(
            SslKey::private_key_from_der(key.serialize_der().as_slice(), KeyFormat::Pkcs8).unwrap(),
        ),
        system_ca_certificates: false,
        ..SslConfiguration::default()
    };
    let client = SslConfiguration {
        peer_verify_mode: PeerVerifyMode::VerifyNone,
        system_ca_certificates: false,
        ..SslConfiguration::default()
    };
    (client, server)
}

/// A client and a server of [`unverified_configurations`], made by `session(config, role,
/// peer_name)` (the client's peer name is `localhost`), with their handshake done.
pub fn handshaken<S: SslSession>(
    mut session: impl FnMut(&SslConfiguration, Role, Option<&str>) -> S,
) -> (S, S) {
    let (client_config, server_config) = unverified_configurations();
    let mut client = session(&client_config, Role::Client, Some("localhost"));
    let mut server = session(&server_config, Role::Server, None);
    handshake(&mut client, &mut server).unwrap();
    (client, server)
}

/// A client and a server of [`unverified_configurations`] on `backend`, with their handshake
/// done and a message exchanged each way (so that anything sent after the handshake, such as
/// TLS 1.3 tickets, is out of the way).
#[must_use]
pub fn established(backend: &dyn SslBackend) -> (Box<dyn SslSession>, Box<dyn SslSession>) {
    let (client_config, server_config) = unverified_configurations();
    let client_context = backend.new_context(&client_config, Role::Client).unwrap();
    let server_context = backend.new_context(&server_config, Role::Server).unwrap();
    let mut client = client_context.new_session(Some("localhost")).unwrap();
    let mut server = server_context.new_session(None).unwrap();
    handshake(&mut *client, &mut *server).unwrap();
    exchange_data(&mut *client, &mut *server);
    (client, server)
}

/// Streams 100 KiB from `client` to `server`, which reads it with reads of `read_len` bytes
/// (`after_transfer` looks at `server` after each transfer); then checks that neither session
/// holds memory by the backend's own measure `memory`, also after a `read_tls` that finds
/// nothing ([`Idle`]), and that both still want to read.
///
/// Each side's last read from the transport was short (the transport had no more) and the
/// engine has taken all of it; everything written was taken too; no plaintext waits.
pub fn an_idle_session_holds_no_buffer_memory<S: SslSession>(
    (mut client, mut server): (S, S),
    read_len: usize,
    memory: impl Fn(&S) -> usize,
    after_transfer: impl Fn(&S),
) {
    let data = vec![0x5a; 100 * 1024];
    let mut sent = 0;
    let mut received = 0;
    let mut buf = vec![0u8; read_len];
    while received < data.len() {
        sent += client.write_plaintext(&data[sent..]).unwrap();
        transfer(&mut client, &mut server).unwrap();
        after_transfer(&server);
        while let Ok(n) = server.read_plaintext(&mut buf) {
            received += n;
        }
    }
    assert_eq!(memory(&server), 0);
    assert_eq!(memory(&client), 0);

    for session in [&mut client, &mut server] {
        assert_eq!(session.read_tls(&mut Idle).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        assert_eq!(memory(session), 0, "{session:?}");
        assert!(session.wants_read());
    }
}
