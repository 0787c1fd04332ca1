//! How plaintext leaves a session: lazily, a record at a time, with nothing stranded when no
//! more input comes, counts that `read_plaintext` honours, and end of stream and errors only
//! after the data before them. Each function is one test, run on every backend whose engine
//! decrypts a record at a time by [`reading_tests!`](crate::reading_tests); the sessions come
//! from [`established`] (the server's certificate is self-signed and the client does not verify
//! it).

use std::io;

use super::{established, pattern, seal};
use crate::{IoStatus, SslBackend, SslSession};

/// Records that arrived together are all delivered, also when no more input comes: in one
/// call into a large buffer, or a little at a time, a count of 0 meaning nothing to read.
pub fn records_left_in_the_pipe_are_delivered_without_more_input(backend: &dyn SslBackend) {
    let (mut client, mut server) = established(backend);
    let (client, server) = (&mut *client, &mut *server);
    let data = pattern(60 * 1024 + 17);

    // Every record arrives before any is processed; then the transport has nothing more.
    let wire = seal(client, &data);
    receive(server, &wire);
    let mut buf = vec![0u8; 64 * 1024];
    assert!(server.process_new_packets().unwrap().plaintext_bytes_to_read > 0);
    // One call reads record after record into a large buffer.
    assert_eq!(server.read_plaintext(&mut buf).unwrap(), data.len());
    assert!(buf[..data.len()] == data[..]);
    assert_eq!(server.process_new_packets().unwrap().plaintext_bytes_to_read, 0);

    // A reader that takes a little at a time and asks again in between gets everything, and
    // a count of 0 means there is nothing to read.
    let wire = seal(client, &data);
    receive(server, &wire);
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

/// `plaintext_bytes_to_read` is one whole record, exactly what `read_plaintext` then returns,
/// and decrypted plaintext stops the reading (`wants_read`).
pub fn announced_plaintext_is_exactly_what_read_plaintext_returns(backend: &dyn SslBackend) {
    let (mut client, mut server) = established(backend);
    let (client, server) = (&mut *client, &mut *server);
    let data = pattern(50 * 1024 + 123);
    let wire = seal(client, &data);
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

/// close_notify after data reads as end of stream (`Ok(0)`) once the data is read.
pub fn close_notify_after_data_reads_as_end_of_stream_once_the_data_is_read(
    backend: &dyn SslBackend,
) {
    let (mut client, mut server) = established(backend);
    let (client, server) = (&mut *client, &mut *server);
    let data = pattern(40 * 1024);
    let mut wire = seal(client, &data);
    client.send_close_notify();
    while client.wants_write() {
        client.write_tls(&mut wire).unwrap();
    }
    receive(server, &wire);
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

/// Data before a transport that ends without close_notify is read before `UnexpectedEof`.
pub fn data_before_a_cut_transport_is_read_before_unexpected_eof(backend: &dyn SslBackend) {
    let (mut client, mut server) = established(backend);
    let (client, server) = (&mut *client, &mut *server);
    let data = pattern(40 * 1024);
    let wire = seal(client, &data);
    receive(server, &wire);
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

/// A corrupted record after good ones fails `process_new_packets`, again and again, once the
/// good ones are read.
pub fn a_corrupted_record_after_good_ones_fails_once_they_are_read(backend: &dyn SslBackend) {
    let (mut client, mut server) = established(backend);
    let (client, server) = (&mut *client, &mut *server);
    let data = pattern(40 * 1024);
    let mut wire = seal(client, &data);
    let last = wire.len() - 1;
    wire[last] ^= 1; // the last record's authentication tag
    receive(server, &wire);
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

/// Hands all of `wire` to `to` without processing it, as when every record arrives before
/// any is processed.
fn receive(to: &mut dyn SslSession, wire: &[u8]) {
    let mut input = wire;
    while !input.is_empty() {
        to.read_tls(&mut input).unwrap();
    }
}

/// Defines, in the calling test crate, one `#[test]` per function of
/// [`testing::reading`](crate::testing::reading), each run on `$backend` (an expression whose
/// type implements [`SslBackend`](crate::SslBackend)). Every backend that uses it runs every
/// reading test, including ones added later. A backend's `tests/reading.rs` is one line:
/// `ssl_api::reading_tests!(backend_openssl::OpensslBackend);`.
#[macro_export]
macro_rules! reading_tests {
    ($backend:expr) => {
        $crate::reading_tests!(@each $backend;
            records_left_in_the_pipe_are_delivered_without_more_input,
            announced_plaintext_is_exactly_what_read_plaintext_returns,
            close_notify_after_data_reads_as_end_of_stream_once_the_data_is_read,
            data_before_a_cut_transport_is_read_before_unexpected_eof,
            a_corrupted_record_after_good_ones_fails_once_they_are_read,
        );
    };
    (@each $backend:expr; $($name:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::testing::reading::$name(&$backend);
            }
        )+
    };
}
