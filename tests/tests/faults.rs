//! Faults, on every backend: resets, stalls, a peer that stops reading, truncated, forged and
//! oversized records, a peer that delivers one byte per write. Each ends in the expected typed
//! error (or completes) within a bound — no hang, no panic — and the process's sockets and
//! pollers are back to their count before the test (no leak).
//!
//! Real sockets go through the blocking driver (the tokio driver runs the same `Connection`);
//! record-level forgeries use the in-memory `Pair`, where a byte can be changed in flight.
//! Figures are printed with `-- --nocapture`.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use conformance::pki::{Authority, Identity, LeafSpec};
use sha2::{Digest, Sha256};
use socket2::SockRef;
use sslsocket::conn::pair::Pair;
use sslsocket::{
    Accepted, Error, SocketErrorKind, SocketState, SslBackend, SslServer, SslSocket, TlsErrorKind,
};
use sslsocket_tests::leaks::LeakCheck;
use sslsocket_tests::load::rss_kib;
use sslsocket_tests::relay::{Faults, Relay};
use sslsocket_tests::{client_config, on_each_backend, pair, start};

const TIMEOUT: Duration = Duration::from_secs(10);
const STEPS: usize = 10_000;

/// The start of a ClientHello: a handshake record header and a few bytes of the message.
const PARTIAL_CLIENT_HELLO: &[u8] = b"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03sixteen-bytes...";

struct Setup {
    ca: Authority,
    server: Identity,
}

fn setup() -> Setup {
    let ca = Authority::root("faults root");
    let server = ca.issue(&LeafSpec::new(&["localhost"]));
    Setup { ca, server }
}

fn client(backend: &Arc<dyn SslBackend>, s: &Setup) -> SslSocket {
    let mut socket = SslSocket::with_backend_handle(backend.clone());
    socket.set_ssl_configuration(client_config(&s.ca.certificate));
    socket.set_peer_verify_name("localhost");
    socket.set_read_timeout(Some(TIMEOUT));
    socket.set_write_timeout(Some(TIMEOUT));
    socket
}

fn server(backend: &Arc<dyn SslBackend>, s: &Setup, handshake_timeout: Duration) -> SslServer {
    let mut server = SslServer::with_backend_handle(backend.clone());
    server.set_ssl_configuration(s.server.server_config());
    server.set_handshake_timeout(handshake_timeout);
    server.listen("127.0.0.1:0").unwrap();
    server
}

fn reset(stream: TcpStream) {
    SockRef::from(&stream).set_linger(Some(Duration::ZERO)).unwrap();
    drop(stream); // RST, not FIN
}

/// A raw TCP peer on 127.0.0.1 running `script` on the one connection it accepts.
fn raw_peer(script: impl FnOnce(TcpStream) + Send + 'static) -> (u16, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        script(stream);
    });
    (port, handle)
}

#[test]
fn a_reset_during_the_handshake_is_a_typed_error_on_both_sides() {
    let leaks = LeakCheck::start();
    on_each_backend(|backend| {
        let name = backend.name();
        let s = setup();
        // Our client: the peer reads the ClientHello and resets.
        let (port, peer) = raw_peer(|mut stream| {
            let mut hello = [0u8; 64];
            let _ = stream.read(&mut hello);
            reset(stream);
        });
        let mut socket = client(&backend, &s);
        socket.connect_to_host_encrypted("127.0.0.1", port);
        let started = Instant::now();
        let err = socket.wait_for_encrypted(TIMEOUT).unwrap_err();
        peer.join().unwrap();
        println!("{name:<8} client, reset in handshake: {err:?} after {:?}", started.elapsed());
        assert_eq!(err.kind(), SocketErrorKind::RemoteHostClosedError, "{name}: {err:?}");
        assert!(matches!(err, Error::Io { .. }), "{name}: {err:?}");
        assert_eq!(socket.state(), SocketState::UnconnectedState);
        drop(socket);

        // Our server: the client sends half a ClientHello and resets.
        let mut server = server(&backend, &s, TIMEOUT);
        let mut raw = TcpStream::connect(server.local_address().unwrap()).unwrap();
        raw.write_all(PARTIAL_CLIENT_HELLO).unwrap();
        thread::sleep(Duration::from_millis(50));
        reset(raw);
        match server.accept_next(Some(TIMEOUT)).unwrap() {
            Accepted::Failed(f) => {
                println!("{name:<8} server, reset in handshake: {:?}", f.error);
                assert_eq!(f.error.kind(), SocketErrorKind::RemoteHostClosedError, "{name}");
            }
            Accepted::Encrypted(_) => panic!("{name}: encrypted half a ClientHello"),
        }
        drop(server);
    });
    leaks.back_to_baseline().unwrap();
}

#[test]
fn a_reset_during_transfer_is_a_typed_error_on_both_sides() {
    const SIZE: usize = 4 * 1024 * 1024;
    let leaks = LeakCheck::start();
    on_each_backend(|backend| {
        let name = backend.name();
        let s = setup();
        let mut server = server(&backend, &s, TIMEOUT);
        let upstream = server.local_address().unwrap();
        let serving = thread::spawn(move || {
            let Accepted::Encrypted(mut socket) = server.accept_next(Some(TIMEOUT)).unwrap() else {
                panic!("handshake failed")
            };
            socket.set_write_timeout(Some(TIMEOUT));
            let chunk = vec![0x5au8; 64 * 1024];
            let mut result = Ok(());
            for _ in 0..SIZE / chunk.len() {
                result = socket.write_all(&chunk).and_then(|()| socket.flush());
                if result.is_err() {
                    break;
                }
            }
            // Loopback buffers may take all of it before the reset: then the reset shows on
            // the read that waits for the client's answer.
            if result.is_ok() {
                socket.set_read_timeout(Some(TIMEOUT));
                let mut answer = [0u8; 1];
                result = match socket.read(&mut answer) {
                    Ok(n) => panic!("a reset read as {n} bytes"),
                    Err(e) => Err(e),
                };
            }
            result.map_err(|e| Error::from_io_ref(&e).cloned().unwrap())
        });
        // The relay resets both connections once 256 KiB went server → client.
        let relay = Relay::start(
            upstream,
            Faults { reset_after_to_client: Some(256 * 1024), ..Faults::default() },
        )
        .unwrap();
        let mut socket = client(&backend, &s);
        socket.connect_to_host_encrypted("127.0.0.1", relay.port);
        socket.wait_for_encrypted(TIMEOUT).unwrap();
        let mut got = 0usize;
        let mut buf = vec![0u8; 64 * 1024];
        let err = loop {
            match socket.read(&mut buf) {
                Ok(0) => panic!("{name}: a reset read as a clean end after {got} bytes"),
                Ok(n) => got += n,
                Err(e) => break e,
            }
        };
        let recorded = relay.finish().unwrap();
        assert!(recorded.reset);
        let client_err = Error::from_io_ref(&err).cloned().unwrap();
        let server_err = serving.join().unwrap().unwrap_err();
        println!(
            "{name:<8} reset in transfer after {got} plaintext bytes: client {client_err:?}, \
             server {server_err:?}"
        );
        assert!(got < SIZE, "{name}");
        for err in [&client_err, &server_err] {
            assert_eq!(err.kind(), SocketErrorKind::RemoteHostClosedError, "{name}: {err:?}");
        }
        assert_eq!(socket.state(), SocketState::UnconnectedState);
    });
    leaks.back_to_baseline().unwrap();
}

#[test]
fn a_peer_that_stalls_after_connect_times_the_handshake_out() {
    let leaks = LeakCheck::start();
    on_each_backend(|backend| {
        let name = backend.name();
        let s = setup();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let (port, peer) = raw_peer(move |stream| {
            let _ = stop_rx.recv_timeout(TIMEOUT); // says nothing, closes nothing
            drop(stream);
        });
        let mut socket = client(&backend, &s);
        socket.set_handshake_timeout(Some(Duration::from_secs(1)));
        socket.connect_to_host_encrypted("127.0.0.1", port);
        let started = Instant::now();
        let err = socket.wait_for_encrypted(TIMEOUT).unwrap_err();
        let elapsed = started.elapsed();
        stop_tx.send(()).unwrap();
        peer.join().unwrap();
        println!("{name:<8} stalled peer: {err:?} after {elapsed:?}");
        assert!(matches!(err, Error::Timeout { .. }), "{name}: {err:?}");
        assert_eq!(err.kind(), SocketErrorKind::SocketTimeoutError);
        assert!(
            elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(5),
            "{elapsed:?}"
        );
        assert_eq!(socket.state(), SocketState::UnconnectedState);
    });
    leaks.back_to_baseline().unwrap();
}

/// The `i`th MiB of the 64 MiB stream: a pattern that changes with `i`, made on the fly so the
/// test itself holds no 64 MiB buffer.
fn mebibyte(i: usize) -> Vec<u8> {
    (0..1024 * 1024).map(|j: usize| (j.wrapping_mul(31) ^ i.wrapping_mul(7)) as u8).collect()
}

#[test]
fn a_peer_that_stops_reading_holds_our_writes_back_and_then_receives_all_64_mib() {
    const MIB: usize = 64;
    let leaks = LeakCheck::start();
    on_each_backend(|backend| {
        let name = backend.name();
        let s = setup();
        let mut server = server(&backend, &s, TIMEOUT);
        let port = server.local_address().unwrap().port();
        let reading = thread::spawn(move || {
            let Accepted::Encrypted(mut socket) = server.accept_next(Some(TIMEOUT)).unwrap() else {
                panic!("handshake failed")
            };
            thread::sleep(Duration::from_secs(2)); // not reading
            socket.set_read_timeout(Some(TIMEOUT));
            let mut hasher = Sha256::new();
            let mut total = 0usize;
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                match socket.read(&mut buf).unwrap() {
                    0 => return (total, hasher.finalize()),
                    n => {
                        hasher.update(&buf[..n]);
                        total += n;
                    }
                }
            }
        });
        let mut socket = client(&backend, &s);
        socket.connect_to_host_encrypted("127.0.0.1", port);
        socket.wait_for_encrypted(TIMEOUT).unwrap();
        // Short write timeouts: each one is a moment where the peer was not reading and our
        // write was held back instead of buffered.
        socket.set_write_timeout(Some(Duration::from_millis(100)));
        let rss_before = rss_kib().unwrap_or(0);
        let (mut held_back, mut max_queued, mut max_encrypted, mut max_rss) = (0, 0, 0, 0);
        let mut expected = Sha256::new();
        let started = Instant::now();
        for i in 0..MIB {
            let chunk = mebibyte(i);
            expected.update(&chunk);
            let mut rest = chunk.as_slice();
            while !rest.is_empty() {
                assert!(started.elapsed() < Duration::from_secs(60), "{name}: no progress");
                match socket.write(rest) {
                    Ok(n) => rest = &rest[n..],
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => held_back += 1,
                    Err(e) => panic!("{name}: {e}"),
                }
                max_queued = max_queued.max(socket.bytes_to_write());
                max_encrypted = max_encrypted.max(socket.encrypted_bytes_to_write());
                max_rss = max_rss.max(rss_kib().unwrap_or(0));
            }
        }
        socket.set_write_timeout(Some(TIMEOUT));
        socket.flush().unwrap();
        socket.disconnect_from_host();
        socket.wait_for_disconnected(TIMEOUT).unwrap();
        let (total, digest) = reading.join().unwrap();
        let growth = max_rss.saturating_sub(rss_before);
        println!(
            "{name:<8} 64 MiB to a peer that paused 2 s: {held_back} held-back writes, at most \
             {max_queued} B queued + {max_encrypted} B ciphertext held, RSS growth {growth} KiB, \
             {total} B arrived intact in {:.2} s",
            started.elapsed().as_secs_f64()
        );
        assert!(held_back > 0, "{name}: writes were never held back");
        assert!(max_queued <= 256 * 1024, "{name}: {max_queued} B queued");
        assert!(max_encrypted <= 1024 * 1024, "{name}: {max_encrypted} B of ciphertext held");
        assert!(growth < 32 * 1024, "{name}: RSS grew by {growth} KiB");
        assert_eq!(total, MIB * 1024 * 1024, "{name}");
        assert_eq!(digest, expected.finalize(), "{name}");
    });
    leaks.back_to_baseline().unwrap();
}

#[test]
fn a_truncated_record_then_eof_is_a_typed_error() {
    let leaks = LeakCheck::start();
    on_each_backend(|backend| {
        let name = backend.name();
        let s = setup();
        // In the handshake, over TCP: a record header, a few of its bytes, then FIN.
        let (port, peer) = raw_peer(|mut stream| {
            let mut hello = [0u8; 512];
            let _ = stream.read(&mut hello);
            let _ = stream.write_all(b"\x16\x03\x03\x00\x40only-16-of-64-by");
            let _ = stream.shutdown(Shutdown::Write);
            let _ = stream.read(&mut hello);
        });
        let mut socket = client(&backend, &s);
        socket.connect_to_host_encrypted("127.0.0.1", port);
        let err = socket.wait_for_encrypted(TIMEOUT).unwrap_err();
        peer.join().unwrap();
        println!("{name:<8} truncated handshake record: {err:?}");
        assert!(
            matches!(&err, Error::Handshake(e) if e.kind == TlsErrorKind::UnexpectedEof),
            "{name}: {err:?}"
        );
        drop(socket);

        // After Encrypted, in memory: half of an application data record, then EOF.
        let mut p = encrypted_pair(&backend, &s);
        p.server.write(b"this record will be cut in half").unwrap();
        let record = transmit(&mut p);
        p.to_client.inject(&record[..record.len() / 2]);
        p.to_client.closed = true;
        p.drive_bounded(STEPS).unwrap();
        let mut buf = [0u8; 64];
        let err = p.client.read(&mut buf).unwrap_err();
        println!("{name:<8} truncated data record: {:?}", p.client.error());
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{name}");
        assert!(
            matches!(p.client.error(), Some(Error::Truncated)),
            "{name}: {:?}",
            p.client.error()
        );
    });
    leaks.back_to_baseline().unwrap();
}

#[test]
fn a_record_with_a_bad_mac_is_rejected_and_nothing_of_it_is_delivered() {
    on_each_backend(|backend| {
        let name = backend.name();
        let s = setup();
        let mut p = encrypted_pair(&backend, &s);
        p.server.write(b"forged in flight").unwrap();
        let mut record = transmit(&mut p);
        let last = record.len() - 1;
        record[last] ^= 0x01; // the AEAD tag's last byte
        p.to_client.inject(&record);
        p.drive_bounded(STEPS).unwrap();
        let err = p.client.error().cloned().expect("rejected");
        println!("{name:<8} bad MAC: {err:?}");
        assert_eq!(p.client.bytes_available(), 0, "{name}: forged bytes delivered");
        assert!(
            matches!(&err, Error::Tls(e) if e.kind == TlsErrorKind::BadRecordMac),
            "{name}: {err:?}"
        );
        assert_eq!(err.kind(), SocketErrorKind::SslInternalError);
        assert_eq!(p.client.state(), SocketState::UnconnectedState);

        // The same with Link::corrupt on a byte in the middle of the ciphertext.
        let mut p = encrypted_pair(&backend, &s);
        p.server.write(b"corrupted in flight").unwrap();
        p.server.poll_transmit(&mut p.to_client).unwrap();
        let middle = p.to_client.in_flight() / 2;
        p.to_client.corrupt(middle, |b| b ^ 0x80);
        p.drive_bounded(STEPS).unwrap();
        assert!(matches!(p.client.error(), Some(Error::Tls(_))), "{name}: {:?}", p.client.error());
        assert_eq!(p.client.bytes_available(), 0);
    });
}

/// A record header claiming 2^14 + 2048 + 1 bytes, more than any TLS record may hold, and
/// that many bytes.
fn oversized(content_type: u8) -> Vec<u8> {
    let len: u16 = (1 << 14) + 2048 + 1;
    let mut record = vec![content_type, 3, 3];
    record.extend_from_slice(&len.to_be_bytes());
    record.resize(5 + usize::from(len), 0x41);
    record
}

#[test]
fn an_oversized_record_is_rejected_in_and_after_the_handshake() {
    on_each_backend(|backend| {
        let name = backend.name();
        let s = setup();
        // To a client waiting for its ServerHello.
        let mut p = pair(&backend, client_config(&s.ca.certificate), &s.server, "localhost");
        let now = p.now;
        sslsocket::testing::start_client_encryption(&mut p.client, now);
        p.to_client.inject(&oversized(0x16));
        p.drive_bounded(STEPS).unwrap();
        let err = p.client.error().cloned().expect("client failed");
        println!("{name:<8} oversized record, client handshake: {err:?}");
        assert_eq!(err.kind(), SocketErrorKind::SslHandshakeFailedError, "{name}: {err:?}");

        // To a server waiting for its ClientHello.
        let mut p = pair(&backend, client_config(&s.ca.certificate), &s.server, "localhost");
        let now = p.now;
        sslsocket::testing::start_server_encryption(&mut p.server, now);
        p.to_server.inject(&oversized(0x16));
        p.drive_bounded(STEPS).unwrap();
        let err = p.server.error().cloned().expect("server failed");
        println!("{name:<8} oversized record, server handshake: {err:?}");
        assert_eq!(err.kind(), SocketErrorKind::SslHandshakeFailedError, "{name}: {err:?}");

        // As application data after the handshake.
        let mut p = encrypted_pair(&backend, &s);
        p.to_client.inject(&oversized(0x17));
        p.drive_bounded(STEPS).unwrap();
        let err = p.client.error().cloned().expect("client failed");
        println!("{name:<8} oversized record, encrypted: {err:?}");
        assert!(matches!(err, Error::Tls(_)), "{name}: {err:?}");
        assert_eq!(p.client.bytes_available(), 0);
    });
}

#[test]
fn a_peer_writing_one_byte_at_a_time_over_tcp_completes() {
    const SIZE: usize = 8 * 1024;
    let leaks = LeakCheck::start();
    on_each_backend(|backend| {
        let name = backend.name();
        let s = setup();
        let mut server = server(&backend, &s, TIMEOUT);
        let upstream = server.local_address().unwrap();
        let echoing = thread::spawn(move || {
            let Accepted::Encrypted(mut socket) = server.accept_next(Some(TIMEOUT)).unwrap() else {
                panic!("handshake failed")
            };
            socket.set_read_timeout(Some(TIMEOUT));
            let mut data = vec![0u8; SIZE];
            socket.read_exact(&mut data).unwrap();
            socket.write_all(&data).unwrap();
            socket.flush().unwrap();
            socket.disconnect_from_host();
            let _ = socket.wait_for_disconnected(TIMEOUT);
        });
        let relay = Relay::start(upstream, Faults { chunk: 1, ..Faults::default() }).unwrap();
        let started = Instant::now();
        let mut socket = client(&backend, &s);
        socket.connect_to_host_encrypted("127.0.0.1", relay.port);
        socket.wait_for_encrypted(TIMEOUT).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let payload: Vec<u8> = (0..SIZE).map(|i| (i % 253) as u8).collect();
        socket.write_all(&payload).unwrap();
        socket.flush().unwrap();
        let mut back = vec![0u8; SIZE];
        socket.read_exact(&mut back).unwrap();
        let mut rest = Vec::new();
        socket.read_to_end(&mut rest).unwrap(); // the server's close_notify: a clean end
        socket.disconnect_from_host();
        let _ = socket.wait_for_disconnected(TIMEOUT);
        echoing.join().unwrap();
        let recorded = relay.finish().unwrap();
        println!(
            "{name:<8} one byte per write: {} writes for {} + {} wire bytes, {:.2} s",
            recorded.writes,
            recorded.to_server.len(),
            recorded.to_client.len(),
            started.elapsed().as_secs_f64()
        );
        assert_eq!(back, payload, "{name}");
        assert!(rest.is_empty());
        assert_eq!(recorded.writes, recorded.to_server.len() + recorded.to_client.len());
    });
    leaks.back_to_baseline().unwrap();
}

// ---- in-memory helpers ----------------------------------------------------------------------

/// A pair through its handshake and quiet (session tickets delivered).
fn encrypted_pair(backend: &Arc<dyn SslBackend>, s: &Setup) -> Pair {
    let mut p = pair(backend, client_config(&s.ca.certificate), &s.server, "localhost");
    start(&mut p);
    p.drive_until(STEPS, |p| p.client.is_encrypted() && p.server.is_encrypted()).unwrap();
    p.drive_bounded(STEPS).unwrap();
    p
}

/// Has the server put its pending bytes on the wire and takes them off again, so the test
/// can deliver them as it likes.
fn transmit(p: &mut Pair) -> Vec<u8> {
    while p.server.wants_write() {
        if p.server.poll_transmit(&mut p.to_client).is_err() {
            break;
        }
    }
    let mut bytes = Vec::new();
    let _ = p.to_client.read_to_end(&mut bytes);
    bytes
}
