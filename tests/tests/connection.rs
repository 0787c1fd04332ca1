//! In-memory tests of `Connection` pairs: no sockets, no threads, a virtual clock.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::time::Duration;

use conformance::pki::{Authority, LeafSpec};
use sha2::{Digest, Sha256};
use sslsocket::conn::pair::Pair;
use sslsocket::{
    Error, Event, PauseMode, SocketErrorKind, SocketState, SslErrorKind, SslMode, SslProtocol,
};
use sslsocket_tests::{client_config, expected_kinds, on_each_backend, pair, recoverable, start};

const STEPS: usize = 10_000;

fn good_pair(backend: &std::sync::Arc<dyn sslsocket::SslBackend>) -> Pair {
    let ca = Authority::root("test root");
    let server = ca.issue(&LeafSpec::new(&["localhost"]));
    pair(backend, client_config(&ca.certificate), &server, "localhost")
}

fn read_exactly(pair: &mut Pair, server_side: bool, len: usize) -> Vec<u8> {
    let mut got = Vec::with_capacity(len);
    let mut buf = vec![0u8; 4096];
    for _ in 0..STEPS * 10 {
        let conn = if server_side { &mut pair.server } else { &mut pair.client };
        match conn.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if !pair.step() && got.len() < len {
                    panic!("stalled after {} of {len} bytes", got.len());
                }
            }
            Err(e) => panic!("read failed: {e}"),
        }
        if got.len() >= len {
            break;
        }
    }
    got
}

fn write_all(pair: &mut Pair, server_side: bool, mut data: &[u8]) {
    for _ in 0..STEPS * 10 {
        if data.is_empty() {
            return;
        }
        let conn = if server_side { &mut pair.server } else { &mut pair.client };
        match conn.write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                pair.step();
            }
            Err(e) => panic!("write failed: {e}"),
        }
    }
    assert!(data.is_empty(), "write did not finish");
}

#[test]
fn handshake_and_transfer_both_ways_with_one_byte_chunks() {
    on_each_backend(|backend| {
        let mut p = good_pair(&backend);
        p.set_chunk(1);
        start(&mut p);
        p.drive_until(STEPS * 20, |p| p.client.is_encrypted() && p.server.is_encrypted())
            .unwrap_or_else(|e| panic!("{}: {e}", backend.name()));
        let up: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let down: Vec<u8> = up.iter().rev().copied().collect();
        write_all(&mut p, false, &up);
        write_all(&mut p, true, &down);
        assert_eq!(read_exactly(&mut p, true, up.len()), up, "{}", backend.name());
        assert_eq!(read_exactly(&mut p, false, down.len()), down, "{}", backend.name());
    });
}

#[test]
fn write_before_encrypted_is_sent_after_encrypted() {
    on_each_backend(|backend| {
        let mut p = good_pair(&backend);
        start(&mut p);
        let secret = b"PLAINTEXT-THAT-MUST-NEVER-BE-SEEN-IN-CLEAR";
        // Queued while the handshake has not even begun to flow.
        assert_eq!(p.client.write(secret).unwrap(), secret.len());
        assert_eq!(p.client.bytes_to_write(), secret.len());
        p.drive_until(STEPS, |p| p.server.bytes_available() >= secret.len()).unwrap();
        assert_eq!(p.server.read_all(), secret);
        let wire = &p.to_server.wire;
        assert!(
            !wire.windows(secret.len()).any(|w| w == secret),
            "{}: plaintext appeared on the wire",
            backend.name()
        );
        // The data left only after Encrypted.
        let encrypted_at = p.client_events.iter().position(|e| *e == Event::Encrypted).unwrap();
        let written_at =
            p.client_events.iter().position(|e| matches!(e, Event::BytesWritten(_))).unwrap();
        assert!(encrypted_at < written_at);
    });
}

#[test]
fn write_before_an_encrypted_connect_completes_is_never_sent_in_clear() {
    on_each_backend(|backend| {
        let ca = Authority::root("test root");
        let server = ca.issue(&LeafSpec::new(&["localhost"]));
        let client = sslsocket::Connection::new(backend.clone(), client_config(&ca.certificate));
        let server = sslsocket::Connection::new(backend.clone(), server.server_config());
        let mut p = Pair::new(client, server, std::time::Instant::now());
        // The client side goes through the whole connect sequence a driver performs.
        p.client.abort();
        let context = sslsocket::registry::context_of(&p.client, sslsocket::Role::Client).unwrap();
        p.client.connect_to_host_encrypted("localhost", context);
        let secret = b"WRITTEN-BEFORE-TCP-WAS-EVEN-CONNECTED";
        assert_eq!(p.client.write(secret).unwrap(), secret.len());
        p.client.handle_host_found();
        assert_eq!(p.client.state(), SocketState::ConnectingState);
        let now = p.now;
        p.client.handle_connected(now);
        sslsocket::testing::start_server_encryption(&mut p.server, now);
        p.drive_until(STEPS, |p| p.server.bytes_available() >= secret.len())
            .unwrap_or_else(|e| panic!("{}: {e}", backend.name()));
        assert_eq!(p.server.read_all(), secret);
        assert!(!p.to_server.wire.windows(secret.len()).any(|w| w == secret), "{}", backend.name());
        assert_eq!(
            p.to_server.wire[0], 0x16,
            "the first byte on the wire is a TLS handshake record"
        );
    });
}

#[test]
fn event_order_on_a_good_handshake() {
    on_each_backend(|backend| {
        let mut p = good_pair(&backend);
        start(&mut p);
        p.client.write(b"ping").unwrap();
        p.drive_until(STEPS, |p| p.server.bytes_available() == 4).unwrap();
        let interesting: Vec<&Event> =
            p.client_events.iter().filter(|e| !matches!(e, Event::StateChanged(_))).collect();
        assert!(
            matches!(
                interesting.as_slice(),
                [
                    Event::ModeChanged(SslMode::SslClientMode),
                    Event::Encrypted,
                    Event::BytesWritten(4),
                    Event::EncryptedBytesWritten(_),
                    ..
                ]
            ),
            "{}: {interesting:?}",
            backend.name()
        );
        assert!(!p
            .client_events
            .iter()
            .any(|e| matches!(e, Event::SslErrors(_) | Event::PeerVerifyError(_))));
        let server: Vec<&Event> =
            p.server_events.iter().filter(|e| !matches!(e, Event::StateChanged(_))).collect();
        assert!(
            matches!(
                server.as_slice(),
                [Event::ModeChanged(SslMode::SslServerMode), Event::Encrypted, ..]
            ) && server.iter().skip(2).any(|e| matches!(e, Event::ReadyRead)),
            "{}: {server:?}",
            backend.name()
        );
    });
}

#[test]
fn starttls_after_a_plaintext_exchange() {
    on_each_backend(|backend| {
        let mut p = good_pair(&backend);
        p.client.write(b"STARTTLS\r\n").unwrap();
        p.drive_until(STEPS, |p| p.server.can_read_line()).unwrap();
        assert_eq!(p.server.read_line().unwrap(), b"STARTTLS\r\n");
        p.server.write(b"220 go ahead\r\n").unwrap();
        // The server switches right after queueing its answer: the answer leaves in clear.
        let now = p.now;
        sslsocket::testing::start_server_encryption(&mut p.server, now);
        p.drive_until(STEPS, |p| p.client.can_read_line()).unwrap();
        assert_eq!(p.client.read_line().unwrap(), b"220 go ahead\r\n");
        sslsocket::testing::start_client_encryption(&mut p.client, now);
        // Starting twice has no effect.
        sslsocket::testing::start_client_encryption(&mut p.client, now);
        p.client.write(b"EHLO secret\r\n").unwrap();
        p.drive_until(STEPS, |p| p.server.can_read_line()).unwrap();
        assert!(p.client.is_encrypted() && p.server.is_encrypted());
        assert_eq!(p.server.read_line().unwrap(), b"EHLO secret\r\n");
        assert!(!p.to_server.wire.windows(6).any(|w| w == b"secret"), "{}", backend.name());
    });
}

#[test]
fn starttls_hands_unread_bytes_to_the_engine() {
    on_each_backend(|backend| {
        let mut p = good_pair(&backend);
        // The client pipelines its ClientHello right behind the command (no wait for "go").
        p.client.write(b"STARTTLS\r\n").unwrap();
        p.step();
        let now = p.now;
        sslsocket::testing::start_client_encryption(&mut p.client, now);
        p.step();
        p.step();
        // The server read the command and the first TLS bytes together.
        assert!(p.server.bytes_available() > 10);
        let mut peeked = [0u8; 10];
        assert_eq!(p.server.peek(&mut peeked), 10);
        assert_eq!(&peeked, b"STARTTLS\r\n");
        assert_eq!(p.server.read_line().unwrap(), b"STARTTLS\r\n");
        sslsocket::testing::start_server_encryption(&mut p.server, now);
        p.drive_until(STEPS, |p| p.client.is_encrypted() && p.server.is_encrypted())
            .unwrap_or_else(|e| panic!("{}: {e}", backend.name()));
    });
}

#[test]
fn a_bounded_drive_fails_instead_of_hanging() {
    on_each_backend(|backend| {
        let mut p = good_pair(&backend);
        // Only the client starts: the server never answers, so the pair goes quiet.
        let now = p.now;
        sslsocket::testing::start_client_encryption(&mut p.client, now);
        let err = p.drive_until(1_000, |p| p.client.is_encrypted()).unwrap_err();
        assert!(!err.out_of_steps, "{err}");
    });
}

#[test]
fn handshake_timeout_fires_on_the_virtual_clock() {
    on_each_backend(|backend| {
        let mut p = good_pair(&backend);
        p.client.set_handshake_timeout(Some(Duration::from_secs(5)));
        let now = p.now;
        sslsocket::testing::start_client_encryption(&mut p.client, now);
        p.drive_bounded(STEPS).unwrap();
        assert_eq!(p.client.poll_timeout(), Some(now + Duration::from_secs(5)));
        p.advance(Duration::from_secs(4));
        assert!(p.client.error().is_none());
        p.advance(Duration::from_secs(1));
        p.drive_bounded(STEPS).unwrap();
        let err = p.client.error().expect("timed out");
        assert_eq!(err.kind(), SocketErrorKind::SocketTimeoutError);
        assert_eq!(p.client.state(), SocketState::UnconnectedState);
    });
}

fn expired_pair(backend: &std::sync::Arc<dyn sslsocket::SslBackend>) -> Pair {
    let ca = Authority::root("test root");
    let server = ca.issue(&LeafSpec::new(&["localhost"]).expired());
    pair(backend, client_config(&ca.certificate), &server, "localhost")
}

#[test]
fn a_certificate_error_drops_the_connection_and_nothing_crosses() {
    on_each_backend(|backend| {
        let mut p = expired_pair(&backend);
        start(&mut p);
        p.client.write(b"secret").unwrap();
        p.drive_bounded(STEPS).unwrap();
        let err = p.client.error().expect("rejected");
        assert_eq!(err.kind(), SocketErrorKind::SslHandshakeFailedError);
        let expected = expected_kinds(&backend, &[SslErrorKind::CertificateExpired]);
        assert!(
            matches!(err, Error::Rejected { errors } if errors[0].kind == expected[0]),
            "{err:?}"
        );
        let kinds: Vec<_> = p
            .client_events
            .iter()
            .filter_map(|e| match e {
                Event::PeerVerifyError(e) => Some(e.kind),
                _ => None,
            })
            .collect();
        assert_eq!(kinds, expected, "{}", backend.name());
        // SslErrors asks for a decision: only where one is possible.
        let asked = p.client_events.iter().any(|e| matches!(e, Event::SslErrors(_)));
        assert_eq!(asked, recoverable(&backend));
        assert!(!p.server.is_encrypted() || p.server.bytes_available() == 0);
        assert!(!p.client_events.contains(&Event::Encrypted));
        assert_eq!(p.client.state(), SocketState::UnconnectedState);
        assert_eq!(p.client.ssl_handshake_errors()[0].kind, expected[0]);
    });
}

#[test]
fn ignoring_from_the_ssl_errors_handler_accepts_the_peer() {
    on_each_backend(|backend| {
        let mut p = expired_pair(&backend);
        p.client_handler = Some(Box::new(|event, conn| {
            if let Event::SslErrors(errors) = event {
                conn.ignore_ssl_errors_list(errors.clone());
            }
        }));
        start(&mut p);
        p.client.write(b"hello").unwrap();
        if !recoverable(&backend) {
            // The engine rejects by itself: no SslErrors event, no decision, a typed rejection.
            p.drive_bounded(STEPS).unwrap();
            assert!(matches!(p.client.error(), Some(Error::Rejected { .. })), "{}", backend.name());
            return;
        }
        p.drive_until(STEPS, |p| p.server.bytes_available() == 5).unwrap();
        assert!(p.client.is_encrypted());
        assert_eq!(p.client.ssl_handshake_errors().len(), 1);
    });
}

#[test]
fn pause_on_ssl_errors_waits_for_resume() {
    on_each_backend(|backend| {
        let mut p = expired_pair(&backend);
        p.client.set_pause_mode(PauseMode::PauseOnSslErrors);
        start(&mut p);
        p.drive_bounded(STEPS).unwrap();
        if !recoverable(&backend) {
            // Nothing to pause on: the engine ended the handshake.
            assert!(matches!(p.client.error(), Some(Error::Rejected { .. })), "{}", backend.name());
            return;
        }
        assert!(!p.client.is_encrypted());
        assert!(p.client.error().is_none());
        assert!(p.client_events.iter().any(|e| matches!(e, Event::SslErrors(_))));
        p.client.ignore_ssl_errors();
        p.client.resume();
        p.drive_until(STEPS, |p| p.client.is_encrypted() && p.server.is_encrypted()).unwrap();
    });
}

#[test]
fn abort_from_inside_the_ssl_errors_handler_ends_the_connection() {
    on_each_backend(|backend| {
        let mut p = expired_pair(&backend);
        p.client.ignore_ssl_errors(); // would accept, but the handler aborts first
        p.client_handler = Some(Box::new(|event, conn| {
            if let Event::SslErrors(_) = event {
                conn.abort();
            }
        }));
        start(&mut p);
        p.drive_bounded(STEPS).unwrap();
        assert_eq!(p.client.state(), SocketState::UnconnectedState);
        assert!(!p.client.is_encrypted());
        assert!(p.client_events.contains(&Event::Disconnected));
    });
}

#[test]
fn close_notify_is_a_clean_end_and_truncation_is_an_error() {
    on_each_backend(|backend| {
        let mut p = good_pair(&backend);
        start(&mut p);
        p.drive_until(STEPS, |p| p.client.is_encrypted() && p.server.is_encrypted()).unwrap();
        p.server.write(b"bye").unwrap();
        p.server.disconnect_from_host();
        p.drive_bounded(STEPS).unwrap();
        assert_eq!(p.client.read_all(), b"bye");
        let mut buf = [0u8; 8];
        assert_eq!(p.client.read(&mut buf).unwrap(), 0, "{}", backend.name());
        assert!(p.client.error().is_none());
        assert!(p.client_events.contains(&Event::ReadChannelFinished));
        assert_eq!(p.client.state(), SocketState::UnconnectedState);

        let mut p = good_pair(&backend);
        start(&mut p);
        p.drive_until(STEPS, |p| p.client.is_encrypted() && p.server.is_encrypted()).unwrap();
        p.server.write(b"cut").unwrap();
        p.drive_until(STEPS, |p| p.client.bytes_available() == 3).unwrap();
        p.to_client.closed = true; // transport EOF, no close_notify
        p.drive_bounded(STEPS).unwrap();
        assert_eq!(p.client.read_all(), b"cut");
        let err = p.client.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{}", backend.name());
        assert!(matches!(p.client.error(), Some(Error::Truncated)));
    });
}

#[test]
fn garbage_instead_of_a_server_hello_fails_the_handshake() {
    on_each_backend(|backend| {
        let mut p = good_pair(&backend);
        let now = p.now;
        sslsocket::testing::start_client_encryption(&mut p.client, now);
        p.to_client.inject(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        p.drive_bounded(STEPS).unwrap();
        let err = p.client.error().expect("failed");
        assert_eq!(
            err.kind(),
            SocketErrorKind::SslHandshakeFailedError,
            "{}: {err:?}",
            backend.name()
        );
    });
}

#[test]
fn the_read_buffer_limit_bounds_memory_under_a_flood_and_loses_nothing() {
    on_each_backend(|backend| {
        let mut p = good_pair(&backend);
        p.client.set_read_buffer_size(4096);
        p.to_client.capacity = 64 * 1024; // a socket buffer
        start(&mut p);
        p.drive_until(STEPS, |p| p.client.is_encrypted() && p.server.is_encrypted()).unwrap();
        let flood: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7 % 256) as u8).collect();
        let mut sent = 0;
        let mut received = Vec::new();
        let mut buf = [0u8; 1000];
        for _ in 0..STEPS * 100 {
            if sent < flood.len() {
                if let Ok(n) = p.server.write(&flood[sent..]) {
                    sent += n;
                }
            }
            p.step();
            assert!(p.client.bytes_available() <= 4096, "{}", backend.name());
            // The sender is held back too: its queues stay bounded while the reader is slow.
            assert!(p.server.encrypted_bytes_to_write() <= 256 * 1024, "{}", backend.name());
            assert!(p.server.bytes_to_write() <= 256 * 1024);
            // A slow reader: 1000 bytes per round.
            if let Ok(n) = p.client.read(&mut buf) {
                received.extend_from_slice(&buf[..n]);
            }
            if received.len() == flood.len() {
                break;
            }
        }
        assert_eq!(Sha256::digest(&received), Sha256::digest(&flood), "{}", backend.name());
    });
}

#[test]
fn protocol_mismatch_fails_with_a_typed_error_not_a_hang() {
    on_each_backend(|backend| {
        if !backend.supported_protocols().contains(&SslProtocol::TlsV1_2) {
            return;
        }
        let mut p = good_pair(&backend);
        p.client.update_configuration(|c| c.protocol = SslProtocol::TlsV1_3);
        p.server.update_configuration(|c| c.protocol = SslProtocol::TlsV1_2);
        start(&mut p);
        p.drive_bounded(STEPS).unwrap();
        let err = p.client.error().or(p.server.error()).expect("failed");
        assert_eq!(err.kind(), SocketErrorKind::SslHandshakeFailedError);
    });
}

#[test]
fn a_graceful_close_by_the_peer_counts_as_flushed() {
    on_each_backend(|backend| {
        let mut p = good_pair(&backend);
        start(&mut p);
        p.drive_until(STEPS, |p| p.client.is_encrypted() && p.server.is_encrypted()).unwrap();
        p.client.write(b"last words").unwrap();
        assert!(!p.client.is_flushed());
        p.server.disconnect_from_host();
        p.drive_bounded(STEPS).unwrap();
        // The client answered the close_notify after handing on what it had queued (the
        // server, closed already, no longer reads it: a close ends both directions).
        assert_eq!(p.client.state(), SocketState::UnconnectedState, "{}", backend.name());
        assert!(p.client.error().is_none());
        assert!(p.client.is_flushed(), "{}", backend.name());
        assert!(p.client_events.contains(&Event::BytesWritten(10)), "{}", backend.name());
    });
}

#[test]
fn a_connection_that_closed_after_its_handshake_still_reports_it_was_encrypted() {
    on_each_backend(|backend| {
        let mut p = good_pair(&backend);
        start(&mut p);
        p.drive_until(STEPS, |p| p.client.is_encrypted() && p.server.is_encrypted()).unwrap();
        p.server.disconnect_from_host();
        p.drive_bounded(STEPS).unwrap();
        assert!(!p.client.is_encrypted(), "{}: closed", backend.name());
        assert!(p.client.was_encrypted() && p.server.was_encrypted(), "{}", backend.name());
        let mut failed = expired_pair(&backend);
        start(&mut failed);
        failed.drive_bounded(STEPS).unwrap();
        assert!(!failed.client.was_encrypted(), "{}: rejected before Encrypted", backend.name());
    });
}

/// Plaintext stays in the engine until the application reads it, but an application that
/// waits for a large amount before reading (Qt's `while bytesAvailable() < n`) still gets it
/// all: the socket moves it into its read buffer when it goes back to the transport.
#[test]
fn waiting_for_a_megabyte_before_reading_gets_it_all_buffered() {
    on_each_backend(|backend| {
        let mut p = good_pair(&backend);
        start(&mut p);
        p.drive_until(STEPS, |p| p.client.is_encrypted() && p.server.is_encrypted()).unwrap();
        let data: Vec<u8> = (0..1_048_576u32).map(|i| (i * 13 % 251) as u8).collect();
        write_all(&mut p, true, &data);
        p.drive_until(STEPS * 10, |p| p.client.bytes_available() >= data.len())
            .unwrap_or_else(|e| panic!("{}: {e}", backend.name()));
        assert_eq!(p.client.bytes_available(), data.len(), "{}", backend.name());
        let all = p.client.read_all();
        assert_eq!(Sha256::digest(&all), Sha256::digest(&data), "{}", backend.name());
        assert_eq!(p.client.bytes_available(), 0);
    });
}

/// Lines, peeks and single bytes see the same stream as `read`, across record boundaries,
/// whether the bytes are still in the engine or already in the read buffer.
#[test]
fn lines_peeks_and_bytes_agree_with_reads_across_records() {
    on_each_backend(|backend| {
        let mut p = good_pair(&backend);
        start(&mut p);
        p.drive_until(STEPS, |p| p.client.is_encrypted() && p.server.is_encrypted()).unwrap();
        // A 40 KB line spans several records; small lines follow.
        let mut long = vec![b'x'; 40_000];
        long.push(b'\n');
        write_all(&mut p, true, &long);
        write_all(&mut p, true, b"one\ntwo\nrest");
        p.drive_until(STEPS, |p| p.client.can_read_line())
            .unwrap_or_else(|e| panic!("{}: {e}", backend.name()));
        assert_eq!(p.client.read_line().unwrap(), long, "{}", backend.name());
        p.drive_until(STEPS, |p| p.client.bytes_available() >= 12).unwrap();
        let mut peeked = [0u8; 5];
        assert_eq!(p.client.peek(&mut peeked), 5);
        assert_eq!(&peeked, b"one\nt");
        assert_eq!(p.client.get_char(), Some(b'o'));
        p.client.unget_char(b'O');
        assert_eq!(p.client.read_line().unwrap(), b"One\n");
        let mut buf = [0u8; 4];
        assert_eq!(p.client.read(&mut buf).unwrap(), 4);
        assert_eq!(&buf, b"two\n");
        assert!(!p.client.can_read_line());
        assert_eq!(p.client.read_all(), b"rest", "{}", backend.name());
    });
}

/// A peer that sends data and close_notify in one flight: every byte is read, then a clean
/// end, though the application reads only after the connection has closed.
#[test]
fn data_followed_by_close_notify_is_all_readable_after_the_close() {
    on_each_backend(|backend| {
        let mut p = good_pair(&backend);
        start(&mut p);
        p.drive_until(STEPS, |p| p.client.is_encrypted() && p.server.is_encrypted()).unwrap();
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
        write_all(&mut p, true, &data);
        p.server.disconnect_from_host();
        p.drive_until(STEPS * 10, |p| p.client.state() == SocketState::UnconnectedState)
            .unwrap_or_else(|e| panic!("{}: {e}", backend.name()));
        let got = read_exactly(&mut p, false, data.len());
        assert_eq!(got.len(), data.len(), "{}", backend.name());
        assert_eq!(Sha256::digest(&got), Sha256::digest(&data));
        let mut buf = [0u8; 16];
        assert_eq!(p.client.read(&mut buf).unwrap(), 0, "{}: a clean end", backend.name());
        assert!(p.client.at_end());
    });
}
