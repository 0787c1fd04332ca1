//! How plaintext leaves a session: lazily, a record at a time, with nothing stranded when no
//! more input comes, counts that `read_plaintext` honours, and end of stream and errors only
//! after the data before them. The sessions talk TLS 1.2 (a native server's highest) over
//! in-memory buffers; the server's certificate is self-signed and the client does not verify
//! it (verification is `sessions.rs`'s subject).
#![allow(clippy::unwrap_used)]

use std::io;

use backend_native::{NativeContext, NativeSession};
use rcgen::{CertificateParams, KeyPair};
use ssl_api::{
    IoStatus, KeyFormat, PeerVerifyMode, Role, SslCertificate, SslConfiguration, SslKey, SslSession,
};

// ---------------------------------------------------------------------------------------------
// Reading

#[test]
fn records_left_in_the_pipe_are_delivered_without_more_input() {
    let (mut client, mut server) = established();
    let data = pattern(60 * 1024 + 17);

    // Every record arrives before any is processed; then the transport has nothing more.
    let wire = seal(&mut client, &data);
    let mut input = wire.as_slice();
    while !input.is_empty() {
        server.read_tls(&mut input).unwrap();
    }
    let mut buf = vec![0u8; 64 * 1024];
    assert!(server.process_new_packets().unwrap().plaintext_bytes_to_read > 0);
    // One call reads record after record into a large buffer.
    assert_eq!(server.read_plaintext(&mut buf).unwrap(), data.len());
    assert!(buf[..data.len()] == data[..]);
    assert_eq!(server.process_new_packets().unwrap().plaintext_bytes_to_read, 0);

    // A reader that takes a little at a time and asks again in between gets everything, and
    // a count of 0 means there is nothing to read.
    let wire = seal(&mut client, &data);
    let mut input = wire.as_slice();
    while !input.is_empty() {
        server.read_tls(&mut input).unwrap();
    }
    let mut received = Vec::new();
    let mut small = [0u8; 1000];
    for _ in 0..data.len() {
        let status = server.process_new_packets().unwrap();
        let result = server.read_plaintext(&mut small);
        if status.plaintext_bytes_to_read == 0 {
            assert_eq!(result.unwrap_err().kind(), io::ErrorKind::WouldBlock);
            break;
        }
        let n = result.unwrap();
        assert!(n > 0);
        received.extend_from_slice(&small[..n]);
    }
    assert!(received == data, "{} of {} bytes", received.len(), data.len());
    assert!(server.wants_read());
}

#[test]
fn announced_plaintext_is_exactly_what_read_plaintext_returns() {
    let (mut client, mut server) = established();
    let data = pattern(50 * 1024 + 123);
    let wire = seal(&mut client, &data);
    let mut input = wire.as_slice();
    let mut status = IoStatus::default();
    while !input.is_empty() {
        server.read_tls(&mut input).unwrap();
        status = server.process_new_packets().unwrap();
    }

    // A whole record is counted at once, and decrypted data stops the reading.
    assert_eq!(status.plaintext_bytes_to_read, 16 * 1024);
    let mut received = Vec::new();
    while status.plaintext_bytes_to_read > 0 {
        assert!(!server.wants_read());
        let mut buf = vec![0u8; status.plaintext_bytes_to_read];
        assert_eq!(server.read_plaintext(&mut buf).unwrap(), buf.len());
        received.extend_from_slice(&buf);
        status = server.process_new_packets().unwrap();
    }
    assert!(received == data, "{} of {} bytes", received.len(), data.len());
    let err = server.read_plaintext(&mut [0u8; 8]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
}

#[test]
fn close_notify_after_data_reads_as_end_of_stream_once_the_data_is_read() {
    let (mut client, mut server) = established();
    let data = pattern(40 * 1024);
    let mut wire = seal(&mut client, &data);
    client.send_close_notify();
    while client.wants_write() {
        client.write_tls(&mut wire).unwrap();
    }
    let mut input = wire.as_slice();
    while !input.is_empty() {
        server.read_tls(&mut input).unwrap();
    }
    assert!(server.process_new_packets().unwrap().plaintext_bytes_to_read > 0);

    let mut received = Vec::new();
    let mut buf = vec![0u8; 1000];
    loop {
        match server.read_plaintext(&mut buf) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) => panic!("{e}"),
        }
    }
    assert!(received == data, "{} of {} bytes", received.len(), data.len());
    assert!(server.process_new_packets().unwrap().peer_has_closed);
    assert!(!server.wants_read());
}

#[test]
fn data_before_a_cut_transport_is_read_before_unexpected_eof() {
    let (mut client, mut server) = established();
    let data = pattern(40 * 1024);
    let wire = seal(&mut client, &data);
    let mut input = wire.as_slice();
    while !input.is_empty() {
        server.read_tls(&mut input).unwrap();
    }
    assert_eq!(server.read_tls(&mut io::empty()).unwrap(), 0);
    assert!(server.process_new_packets().unwrap().plaintext_bytes_to_read > 0);

    let mut received = Vec::new();
    let mut buf = vec![0u8; 16 * 1024]; // exactly a record: no read ends inside one
    let err = loop {
        match server.read_plaintext(&mut buf) {
            Ok(n) if n > 0 => received.extend_from_slice(&buf[..n]),
            Ok(_) => panic!("no close_notify was sent"),
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    assert!(received == data, "{} of {} bytes", received.len(), data.len());
}

#[test]
fn a_corrupted_record_after_good_ones_fails_once_they_are_read() {
    let (mut client, mut server) = established();
    let data = pattern(40 * 1024);
    let mut wire = seal(&mut client, &data);
    let last = wire.len() - 1;
    wire[last] ^= 1; // the last record's authentication tag
    let mut input = wire.as_slice();
    while !input.is_empty() {
        server.read_tls(&mut input).unwrap();
    }
    assert!(server.process_new_packets().unwrap().plaintext_bytes_to_read > 0);

    let mut received = 0;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match server.read_plaintext(&mut buf) {
            Ok(n) if n > 0 => received += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(received, 32 * 1024, "the two good records");
    let err = server.process_new_packets().unwrap_err();
    assert_eq!(server.process_new_packets().unwrap_err(), err);
    assert!(!server.wants_read());
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// A client and a server with their handshake done and a message exchanged each way (so that
/// anything sent after the handshake, such as TLS 1.3 tickets, is out of the way).
fn established() -> (NativeSession, NativeSession) {
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
    let mut client =
        NativeContext::new(&client, Role::Client).unwrap().session(Some("localhost")).unwrap();
    let mut server = NativeContext::new(&server, Role::Server).unwrap().session(None).unwrap();
    for _ in 0..20 {
        transfer(&mut client, &mut server);
        transfer(&mut server, &mut client);
        if !client.is_handshaking() && !server.is_handshaking() && !client.wants_write() {
            break;
        }
    }
    assert!(!client.is_handshaking() && !server.is_handshaking());
    send(&mut client, &mut server);
    send(&mut server, &mut client);
    (client, server)
}

/// `len` bytes that do not repeat with the record size.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Encrypts all of `data` with `from` and returns the ciphertext.
fn seal(from: &mut dyn SslSession, data: &[u8]) -> Vec<u8> {
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

/// Sends "hello" from `from` to `to`, reads it, and lets whatever the engine answers travel
/// back.
fn send(from: &mut dyn SslSession, to: &mut dyn SslSession) {
    let wire = seal(from, b"hello");
    let mut input = wire.as_slice();
    while !input.is_empty() {
        to.read_tls(&mut input).unwrap();
        to.process_new_packets().unwrap();
    }
    let mut buf = [0u8; 16];
    assert_eq!(to.read_plaintext(&mut buf).unwrap(), 5);
    transfer(to, from);
}

/// Moves every pending ciphertext byte of `from` into `to` and lets `to` process it.
fn transfer(from: &mut dyn SslSession, to: &mut dyn SslSession) {
    let mut wire = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut wire).unwrap();
    }
    let mut input = wire.as_slice();
    while !input.is_empty() {
        to.read_tls(&mut input).unwrap();
        to.process_new_packets().unwrap();
    }
}
